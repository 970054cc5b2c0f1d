//! The Guildhall bot: `/dashboard` DMs a login link to the portal, `/tag`
//! answers with a server's tags, new members get the server's welcome
//! message, and the bot's guild presence and channels are kept in the shared
//! store. The builders here are used by `main` and by the end-to-end tests
//! alike.

pub mod channel_writer;
pub mod commands;
pub mod config;
pub mod error;
pub mod guild_events;
pub mod guild_facts;
pub mod guild_settings;
pub mod handler;
pub mod health;
pub mod language;
pub mod links;
pub mod members_intent;
pub mod presence;
pub mod presence_writer;
pub mod shard_starter;
pub mod store_writes;
pub mod welcome;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serenity::all::{EventHandler, GatewayIntents, Http, HttpBuilder};
use store::{ConnectOptions, Store};
use tokio::task::JoinHandle;

use crate::channel_writer::ChannelWriter;
use crate::config::BotConfig;
use crate::error::BotError;
use crate::guild_events::GuildEvents;
use crate::guild_facts::Guilds;
use crate::guild_settings::SettingsCache;
use crate::handler::PresenceHandler;
use crate::presence_writer::{PresenceWriter, WriterTask};
use crate::shard_starter::Fleet;

/// From the stop signal to the end of [`RunningBot::shutdown`]: shards are
/// closed (at most `shard_starter::CLOSE_WITHIN`), then queued store writes
/// flushed until this deadline. Below Docker Compose's default 10 s stop
/// grace period, so a deploy never ends in SIGKILL.
pub const SHUTDOWN_WITHIN: Duration = Duration::from_millis(6500);

/// `RUST_LOG` when unset: serenity and poise are chatty at info, and their
/// debug output is not ours to vouch for (payloads); the bot's own lines never
/// carry the bot token or interaction tokens.
pub const DEFAULT_LOG_FILTER: &str = "info,serenity=warn,poise=warn";

/// What every command can reach.
pub struct Data {
    pub portal_public_url: String,
    /// Each guild's preferences and tags, kept current by a poll.
    pub settings: Arc<SettingsCache>,
}

pub type Context<'a> = poise::Context<'a, Data, BotError>;

async fn on_error(error: poise::FrameworkError<'_, Data, BotError>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            tracing::error!(command = %ctx.command().name, error = %error, "command failed");
            let lang = language::of_context(ctx).await;
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

pub fn framework(
    config: &BotConfig,
    settings: Arc<SettingsCache>,
) -> poise::Framework<Data, BotError> {
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
                Ok(Data {
                    portal_public_url,
                    settings,
                })
            })
        })
        .build()
}

/// The REST client: through the stand-in when `DISCORD_PROXY_URL` is set.
pub fn http(config: &BotConfig) -> Http {
    let mut http = HttpBuilder::new(config.token.expose());
    if let Some(proxy) = &config.proxy_url {
        // serenity ignores the proxy unless its rate limiter is off; only the
        // stand-in is ever reached this way, production keeps the limiter.
        http = http.proxy(proxy.as_str()).ratelimiter_disabled(true);
    }
    http.build()
}

/// What outlives one gateway client: a client closed with 4014 is replaced
/// by one without GUILD_MEMBERS, with the same handlers and caches.
#[derive(Clone)]
pub struct Shared {
    pub presence: Arc<PresenceHandler>,
    pub guild_events: Arc<GuildEvents>,
    pub settings: Arc<SettingsCache>,
}

/// The gateway intents: GUILDS (guilds and their channels), and the
/// privileged GUILD_MEMBERS only when welcome messages can use it.
pub fn intents(members: bool) -> GatewayIntents {
    if members {
        GatewayIntents::GUILDS | GatewayIntents::GUILD_MEMBERS
    } else {
        GatewayIntents::GUILDS
    }
}

/// The event handlers every shard gets.
fn handlers(shared: &Shared) -> Vec<Arc<dyn EventHandler>> {
    vec![shared.presence.clone(), shared.guild_events.clone()]
}

/// The running client's shards, swapped when the client is replaced;
/// shutdown takes them out.
#[derive(Default)]
struct Gateway {
    fleet: Mutex<Option<Arc<Fleet>>>,
    /// Runners of the started shards, for the health file (which must not
    /// hold the managers: they own the handlers).
    runners: health::CurrentRunners,
    stopping: AtomicBool,
}

impl Gateway {
    fn set(&self, fleet: Option<Arc<Fleet>>) {
        *self.fleet.lock().unwrap_or_else(|p| p.into_inner()) = fleet;
    }

    fn take(&self) -> Option<Arc<Fleet>> {
        self.fleet.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// A bot whose shards are running.
pub struct RunningBot {
    pub store: Store,
    gateway: Arc<Gateway>,
    task: JoinHandle<Result<(), BotError>>,
    writes: WriterTask,
    channel_writes: JoinHandle<()>,
    poller: JoinHandle<()>,
    heartbeat: Option<JoinHandle<()>>,
}

impl RunningBot {
    /// Stops starting shards, closes the started ones, then writes what
    /// is queued — all within [`SHUTDOWN_WITHIN`] of the call.
    pub async fn shutdown(self) -> Result<(), BotError> {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_WITHIN;
        let RunningBot {
            gateway,
            mut task,
            writes,
            channel_writes,
            poller,
            heartbeat,
            ..
        } = self;
        if let Some(heartbeat) = heartbeat {
            heartbeat.abort();
        }
        poller.abort();
        gateway.stopping.store(true, Ordering::SeqCst);
        if let Some(fleet) = gateway.take() {
            fleet.close().await;
        }
        // The supervisor sees the stop at its next await; one building a
        // client (a REST call) is not waited for.
        let stopped = match tokio::time::timeout(Duration::from_secs(1), &mut task).await {
            Ok(joined) => joined?,
            Err(_) => {
                task.abort();
                Ok(())
            }
        };
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        writes.finish(left).await;
        // Channels are rebuilt from every GUILD_CREATE: not worth waiting
        // past the deadline for.
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let mut channel_writes = channel_writes;
        if tokio::time::timeout(left, &mut channel_writes)
            .await
            .is_err()
        {
            channel_writes.abort();
            tracing::warn!(
                "guild channel writes still queued at shutdown were dropped; the next GUILD_CREATE rebuilds them"
            );
        }
        stopped
    }

    /// Runs until the client stops by itself (fatal gateway error).
    pub async fn wait(&mut self) -> Result<(), BotError> {
        (&mut self.task).await?
    }
}

/// Runs gateway clients until one stops for good. A close with 4014 (the
/// application lost or never had the Server Members Intent) is not fatal:
/// the bot records it and reconnects without GUILD_MEMBERS.
async fn supervise(
    config: BotConfig,
    shared: Shared,
    store: Store,
    gateway: Arc<Gateway>,
    mut members: bool,
) -> Result<(), BotError> {
    loop {
        let fleet = Arc::new(
            Fleet::new(
                &config,
                handlers(&shared),
                framework(&config, shared.settings.clone()),
                intents(members),
                gateway.runners.clone(),
            )
            .await?,
        );
        gateway.set(Some(fleet.clone()));
        // Shutdown may have looked for a fleet just before this one was
        // set: it would not have stopped it.
        if gateway.stopping.load(Ordering::SeqCst) {
            gateway.take();
            return Ok(());
        }
        let result = fleet.run(&config.sharding).await;
        if result.is_err() {
            fleet.close().await;
        }
        gateway.take();
        match result {
            Err(e) if members && members_intent::is_disallowed(&e) => {
                tracing::error!(
                    "Discord refused the GUILD_MEMBERS intent (close code 4014): enable the Server Members Intent \
                     in the Developer Portal (Bot > Privileged Gateway Intents) for welcome messages; \
                     continuing without it"
                );
                members = false;
                if let Err(e) = store.bot_members_intent_set(false).await {
                    tracing::warn!(error = %e, "could not record the members intent");
                }
                if gateway.stopping.load(Ordering::SeqCst) {
                    return Ok(());
                }
            }
            other => return other.map_err(BotError::Discord),
        }
    }
}

pub async fn start(config: BotConfig) -> Result<RunningBot, BotError> {
    let store = Store::connect(config.database_url.expose(), &ConnectOptions::default()).await?;
    store.migrate().await?;
    let members = members_intent::decide(config.members_intent, &http(&config)).await;
    tracing::info!(members_intent = members, "gateway intents decided");
    store.bot_members_intent_set(members).await?;

    let (presence, writes) = PresenceWriter::start(store.clone());
    let (channels, channel_writes) = ChannelWriter::start(store.clone());
    let settings = Arc::new(SettingsCache::new(store.clone(), guild_settings::CAPACITY));
    let poller = settings.clone().spawn_poller();
    let shared = Shared {
        presence: Arc::new(PresenceHandler::new(presence)),
        guild_events: Arc::new(GuildEvents {
            store: store.clone(),
            channels,
            guilds: Arc::new(Guilds::default()),
            settings: settings.clone(),
        }),
        settings,
    };
    let gateway = Arc::new(Gateway::default());
    let heartbeat = config
        .health_file
        .clone()
        .map(|path| health::spawn(path, gateway.runners.clone()));
    let task = tokio::spawn(supervise(
        config,
        shared,
        store.clone(),
        gateway.clone(),
        members,
    ));
    Ok(RunningBot {
        store,
        gateway,
        task,
        writes,
        channel_writes,
        poller,
        heartbeat,
    })
}
