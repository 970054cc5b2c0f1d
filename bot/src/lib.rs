//! The Guildhall bot: `/dashboard` DMs a login link to the portal, and the
//! bot's guild presence is kept in the shared store. The builders here are
//! used by `main` and by the end-to-end tests alike.

pub mod commands;
pub mod config;
pub mod error;
pub mod handler;
pub mod health;
pub mod language;
pub mod links;
pub mod presence;
pub mod presence_writer;

use std::sync::Arc;

use serenity::all::{ClientBuilder, GatewayIntents, HttpBuilder, ShardManager};
use store::{ConnectOptions, Store};
use tokio::task::JoinHandle;

use crate::config::{BotConfig, Sharding};
use crate::error::BotError;
use crate::presence_writer::PresenceWriter;

/// How long shutdown waits for queued presence writes to reach the store.
const DRAIN_WRITES_FOR: std::time::Duration = std::time::Duration::from_secs(10);

/// `RUST_LOG` when unset: serenity and poise are chatty at info, and their
/// debug output is not ours to vouch for (payloads); the bot's own lines never
/// carry the bot token or interaction tokens.
pub const DEFAULT_LOG_FILTER: &str = "info,serenity=warn,poise=warn";

/// What every command can reach.
pub struct Data {
    pub portal_public_url: String,
}

pub type Context<'a> = poise::Context<'a, Data, BotError>;

async fn on_error(error: poise::FrameworkError<'_, Data, BotError>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            tracing::error!(command = %ctx.command().name, error = %error, "command failed");
            let lang = language::for_interaction(None, ctx.locale());
            let reply = poise::CreateReply::default()
                .content(i18n::text(lang, "bot-error-generic"))
                .ephemeral(true);
            if let Err(e) = ctx.send(reply).await {
                tracing::warn!(error = %e, "could not send the apology");
            }
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::error!(error = %e, "error while handling an error");
            }
        }
    }
}

pub fn framework(config: &BotConfig) -> poise::Framework<Data, BotError> {
    let portal_public_url = config.portal_public_url.clone();
    let dev_guild = config.dev_guild_id;
    poise::Framework::builder()
        .options(poise::FrameworkOptions {
            commands: commands::all(),
            on_error: |e| Box::pin(on_error(e)),
            ..Default::default()
        })
        // Owners are not used; skipping the lookup saves a call at start-up.
        // Only the builder's flag counts: `build()` overwrites the options' one.
        .initialize_owners(false)
        .setup(move |ctx, _ready, framework| {
            Box::pin(async move {
                let commands = &framework.options().commands;
                let registered = match dev_guild {
                    Some(g) => {
                        let guild = serenity::all::GuildId::new(g.get());
                        poise::builtins::register_in_guild(ctx, commands, guild).await
                    }
                    None => poise::builtins::register_globally(ctx, commands).await,
                };
                // A failed registration must not stop the bot: poise would wait
                // forever, and the previous registration still works.
                match registered {
                    Ok(()) => tracing::info!(
                        guild = dev_guild.map(discord::GuildId::get),
                        "slash commands registered"
                    ),
                    Err(e) => tracing::error!(error = %e, "could not register slash commands"),
                }
                Ok(Data { portal_public_url })
            })
        })
        .build()
}

pub async fn client(
    config: &BotConfig,
    presence: PresenceWriter,
) -> Result<serenity::Client, BotError> {
    let mut http = HttpBuilder::new(config.token.expose());
    if let Some(proxy) = &config.proxy_url {
        // serenity ignores the proxy unless its rate limiter is off; only the
        // stand-in is ever reached this way, production keeps the limiter.
        http = http.proxy(proxy.as_str()).ratelimiter_disabled(true);
    }
    // serenity is built without its cache: the bot needs no guild, channel,
    // user or message kept in memory (presence is decided from events, see
    // `presence`), and a cached guild cost ~20 kB: 2,500 guilds were 50 MB.
    ClientBuilder::new_with_http(http.build(), GatewayIntents::GUILDS)
        .framework(framework(config))
        .event_handler(handler::PresenceHandler::new(presence))
        .await
        .map_err(BotError::Discord)
}

/// A bot whose shards are running.
pub struct RunningBot {
    pub shard_manager: Arc<ShardManager>,
    pub store: Store,
    task: JoinHandle<Result<(), BotError>>,
    writes: JoinHandle<()>,
    heartbeat: Option<JoinHandle<()>>,
}

impl RunningBot {
    /// Closes every shard's connection, then waits for the client to stop.
    pub async fn shutdown(self) -> Result<(), BotError> {
        let RunningBot {
            shard_manager,
            task,
            writes,
            heartbeat,
            ..
        } = self;
        if let Some(heartbeat) = heartbeat {
            heartbeat.abort();
        }
        shard_manager.shutdown_all().await;
        // The manager holds the event handlers, and they the writer's queue.
        drop(shard_manager);
        let stopped = task.await?;
        // The client is gone too: what was queued is written, then the
        // writer ends.
        if tokio::time::timeout(DRAIN_WRITES_FOR, writes)
            .await
            .is_err()
        {
            tracing::warn!("presence writes still pending at shutdown");
        }
        stopped
    }

    /// Runs until the client stops by itself (fatal gateway error).
    pub async fn wait(&mut self) -> Result<(), BotError> {
        (&mut self.task).await?
    }
}

pub async fn start(config: BotConfig) -> Result<RunningBot, BotError> {
    let store = Store::connect(config.database_url.expose(), &ConnectOptions::default()).await?;
    store.migrate().await?;
    let (presence, writes) = PresenceWriter::start(store.clone());
    let mut client = client(&config, presence).await?;
    let shard_manager = client.shard_manager.clone();
    let sharding = config.sharding.clone();
    let task = tokio::spawn(async move {
        let result = match sharding {
            Sharding::Auto => client.start_autosharded().await,
            // serenity 0.12 treats the end of this `Range` as inclusive
            // (`init = end - start + 1`), so pass the last shard, not one past it.
            Sharding::Range { range, total } => {
                client
                    .start_shard_range(*range.start()..*range.end(), total)
                    .await
            }
        };
        result.map_err(BotError::Discord)
    });
    let heartbeat = config
        .health_file
        .clone()
        .map(|path| health::spawn(path, shard_manager.runners.clone()));
    Ok(RunningBot {
        shard_manager,
        store,
        task,
        writes,
        heartbeat,
    })
}
