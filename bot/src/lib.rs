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
pub mod links;
pub mod members_intent;
pub mod presence;
pub mod presence_writer;
pub mod strings;
pub mod welcome;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serenity::all::{ClientBuilder, GatewayIntents, Http, HttpBuilder, ShardManager};
use store::{ConnectOptions, Store};
use tokio::task::JoinHandle;

use crate::channel_writer::ChannelWriter;
use crate::config::{BotConfig, Sharding};
use crate::error::BotError;
use crate::guild_events::GuildEvents;
use crate::guild_facts::Guilds;
use crate::guild_settings::SettingsCache;
use crate::handler::PresenceHandler;
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
    /// Each guild's preferences and tags, kept current by a poll.
    pub settings: Arc<SettingsCache>,
}

pub type Context<'a> = poise::Context<'a, Data, BotError>;

async fn on_error(error: poise::FrameworkError<'_, Data, BotError>) {
    match error {
        poise::FrameworkError::Command { error, ctx, .. } => {
            tracing::error!(command = %ctx.command().name, error = %error, "command failed");
            let reply = poise::CreateReply::default()
                .content("Sorry, something went wrong. Please try again in a moment.")
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
            commands: vec![commands::dashboard::dashboard(), commands::tag::tag()],
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

pub async fn client(
    config: &BotConfig,
    shared: &Shared,
    members: bool,
) -> Result<serenity::Client, BotError> {
    // serenity is built without its cache: the bot needs no guild, channel,
    // user or message kept in memory (presence is decided from events, see
    // `presence`; welcome messages need two fields, see `guild_facts`), and
    // a cached guild cost ~20 kB: 2,500 guilds were 50 MB.
    ClientBuilder::new_with_http(http(config), intents(members))
        .framework(framework(config, shared.settings.clone()))
        .event_handler_arc(shared.presence.clone())
        .event_handler_arc(shared.guild_events.clone())
        .await
        .map_err(BotError::Discord)
}

/// The running client's shard manager, swapped when the client is
/// replaced; shutdown takes it out.
#[derive(Default)]
struct Gateway {
    manager: Mutex<Option<Arc<ShardManager>>>,
    /// Runners of the current manager, for the health file (which must not
    /// hold the manager: it owns the handlers, whose drop ends the writers).
    runners: Arc<Mutex<Option<health::Runners>>>,
    stopping: AtomicBool,
}

impl Gateway {
    fn set(&self, manager: Option<Arc<ShardManager>>) {
        *self.runners.lock().unwrap_or_else(|p| p.into_inner()) =
            manager.as_ref().map(|m| m.runners.clone());
        *self.manager.lock().unwrap_or_else(|p| p.into_inner()) = manager;
    }

    fn take(&self) -> Option<Arc<ShardManager>> {
        self.runners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        self.manager
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
    }
}

/// A bot whose shards are running.
pub struct RunningBot {
    pub store: Store,
    gateway: Arc<Gateway>,
    task: JoinHandle<Result<(), BotError>>,
    writes: JoinHandle<()>,
    channel_writes: JoinHandle<()>,
    poller: JoinHandle<()>,
    heartbeat: Option<JoinHandle<()>>,
}

impl RunningBot {
    /// Closes every shard's connection, then waits for the client to stop.
    pub async fn shutdown(self) -> Result<(), BotError> {
        let RunningBot {
            gateway,
            task,
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
        if let Some(manager) = gateway.take() {
            manager.shutdown_all().await;
        }
        let stopped = task.await?;
        // The clients and their handlers are gone: what was queued is
        // written, then the writers end.
        let drained = async {
            let _ = writes.await;
            let _ = channel_writes.await;
        };
        if tokio::time::timeout(DRAIN_WRITES_FOR, drained)
            .await
            .is_err()
        {
            tracing::warn!("store writes still pending at shutdown");
        }
        stopped
    }

    /// Runs until the client stops by itself (fatal gateway error).
    pub async fn wait(&mut self) -> Result<(), BotError> {
        (&mut self.task).await?
    }
}

async fn run_client(
    mut client: serenity::Client,
    sharding: &Sharding,
) -> Result<(), serenity::Error> {
    match sharding {
        Sharding::Auto => client.start_autosharded().await,
        // serenity 0.12 treats the end of this `Range` as inclusive
        // (`init = end - start + 1`), so pass the last shard, not one past it.
        Sharding::Range { range, total } => {
            client
                .start_shard_range(*range.start()..*range.end(), *total)
                .await
        }
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
        let client = client(&config, &shared, members).await?;
        gateway.set(Some(client.shard_manager.clone()));
        // Shutdown may have looked for a manager just before this one was
        // set: it would not have stopped this client.
        if gateway.stopping.load(Ordering::SeqCst) {
            gateway.take();
            return Ok(());
        }
        let result = run_client(client, &config.sharding).await;
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
