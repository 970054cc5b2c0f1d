//! The bot's side of the stand-in Discord: a gateway websocket (HELLO,
//! IDENTIFY, READY, heartbeats, RESUME, dispatches a test triggers) and the
//! REST calls a poise/serenity bot makes (gateway URL, application,
//! command registration, interaction callbacks, webhooks, DMs). A separate
//! server from [`crate::StandIn`]: point serenity's proxy at [`BotStandIn::base_url`].

mod payloads;
mod rest;
mod socket;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

/// Discord's JSON shapes, exported so the bot's tests can check that
/// serenity deserializes every one of them.
pub mod shapes {
    pub use super::payloads::{application, dm_channel, guild, interaction, message, user};
}

use crate::RecordedRequest;

/// Who the bot is and what each shard reports.
#[derive(Debug, Clone)]
pub struct BotFixture {
    pub application_id: u64,
    pub bot_user_id: u64,
    /// Guild ids each shard's READY lists (as unavailable guilds, like Discord).
    pub ready_guilds: HashMap<u32, Vec<u64>>,
    /// What `GET /gateway/bot` recommends.
    pub recommended_shards: u32,
}

impl Default for BotFixture {
    fn default() -> Self {
        BotFixture {
            application_id: 1_200_000_000_000_000_001,
            bot_user_id: 1_200_000_000_000_000_001,
            ready_guilds: HashMap::new(),
            recommended_shards: 1,
        }
    }
}

/// A slash command a test "types".
#[derive(Debug, Clone)]
pub struct SlashCommand {
    pub name: String,
    pub user_id: u64,
    /// `None`: from a DM with the bot.
    pub guild_id: Option<u64>,
    pub channel_id: u64,
}

/// A frame received on the gateway, for assertions.
#[derive(Debug, Clone)]
pub struct GatewayFrame {
    pub shard: Option<u32>,
    pub payload: Value,
}

#[derive(Default)]
pub(crate) struct GwInner {
    pub fixture: BotFixture,
    pub log: Vec<RecordedRequest>,
    pub frames: Vec<GatewayFrame>,
    /// Connected, identified shards: where dispatches go.
    pub shards: HashMap<u32, UnboundedSender<String>>,
    pub seq: HashMap<u32, u64>,
    pub ready_sent: Vec<u32>,
    pub dm_fails: bool,
    pub next_id: u64,
}

#[derive(Clone, Default)]
pub(crate) struct GwShared(Arc<Mutex<GwInner>>);

impl GwShared {
    pub fn lock(&self) -> MutexGuard<'_, GwInner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl GwInner {
    pub fn next_snowflake(&mut self) -> u64 {
        self.next_id += 1;
        1_300_000_000_000_000_000 + self.next_id
    }

    /// Sends a dispatch to a connected shard; false when it is not connected.
    pub fn dispatch(&mut self, shard: u32, event: &str, data: Value) -> bool {
        let seq = self.seq.entry(shard).or_insert(0);
        *seq += 1;
        let frame = serde_json::json!({"op": 0, "s": *seq, "t": event, "d": data});
        match self.shards.get(&shard) {
            Some(tx) => tx.send(frame.to_string()).is_ok(),
            None => false,
        }
    }
}

pub struct BotStandIn {
    addr: SocketAddr,
    shared: GwShared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl BotStandIn {
    pub async fn start(fixture: BotFixture) -> std::io::Result<BotStandIn> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let shared = GwShared::default();
        shared.lock().fixture = fixture;
        let app = rest::router(shared.clone(), addr);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "bot stand-in stopped");
            }
        });
        Ok(BotStandIn {
            addr,
            shared,
            shutdown: Some(tx),
        })
    }

    /// What replaces `https://discord.com` for serenity's HTTP proxy.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn fixture(&self) -> BotFixture {
        self.shared.lock().fixture.clone()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().log.clone()
    }

    pub fn frames(&self) -> Vec<GatewayFrame> {
        self.shared.lock().frames.clone()
    }

    /// Refuse DMs with Discord's 50007 from now on (or accept them again).
    pub fn set_dm_fails(&self, fails: bool) {
        self.shared.lock().dm_fails = fails;
    }

    /// Shards that identified and got their READY.
    pub fn ready_shards(&self) -> Vec<u32> {
        self.shared.lock().ready_sent.clone()
    }

    pub async fn wait_until(
        &self,
        deadline: Duration,
        mut check: impl FnMut(&BotStandIn) -> bool,
    ) -> bool {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            if check(self) {
                return true;
            }
            if tokio::time::Instant::now() >= end {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn wait_for_request(
        &self,
        deadline: Duration,
        pred: impl Fn(&RecordedRequest) -> bool,
    ) -> Option<RecordedRequest> {
        let mut found = None;
        self.wait_until(deadline, |s| {
            found = s.requests().into_iter().find(|r| pred(r));
            found.is_some()
        })
        .await;
        found
    }

    pub fn guild_create(&self, shard: u32, guild_id: u64) -> bool {
        let mut inner = self.shared.lock();
        let owner = inner.fixture.bot_user_id + 7;
        inner.dispatch(shard, "GUILD_CREATE", payloads::guild(guild_id, owner))
    }

    /// The bot left or was removed (`unavailable: false`), or an outage
    /// (`unavailable: true`).
    pub fn guild_delete(&self, shard: u32, guild_id: u64, unavailable: bool) -> bool {
        let data = if unavailable {
            serde_json::json!({"id": guild_id.to_string(), "unavailable": true})
        } else {
            serde_json::json!({"id": guild_id.to_string()})
        };
        self.shared.lock().dispatch(shard, "GUILD_DELETE", data)
    }

    /// Dispatches INTERACTION_CREATE for a slash command; returns the
    /// interaction id and token.
    pub fn slash_command(&self, shard: u32, call: &SlashCommand) -> Option<(u64, String)> {
        let mut inner = self.shared.lock();
        let id = inner.next_snowflake();
        let token = format!("interaction-token-{id}");
        let app = inner.fixture.application_id;
        let user = payloads::user(call.user_id, "member", false);
        let data = payloads::interaction(id, app, &token, call, user);
        inner
            .dispatch(shard, "INTERACTION_CREATE", data)
            .then_some((id, token))
    }
}

impl Drop for BotStandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
