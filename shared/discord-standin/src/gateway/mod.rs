//! The bot's side of the stand-in Discord: a gateway websocket (HELLO,
//! IDENTIFY, READY, heartbeats, RESUME, dispatches a test triggers) and the
//! REST calls a poise/serenity bot makes (gateway URL, application,
//! command registration, interaction callbacks, webhooks, DMs). A separate
//! server from [`crate::StandIn`]: point serenity's proxy at [`BotStandIn::base_url`].

mod payloads;
mod rest;
mod socket;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;

/// Discord's JSON shapes, exported so the bot's tests can check that
/// serenity deserializes every one of them.
pub mod shapes {
    pub use super::payloads::{
        application, channel, dm_channel, guild, guild_of, interaction, member_add, message,
        registered_command, user,
    };
}

use crate::RecordedRequest;

/// The GUILD_MEMBERS gateway intent (privileged).
pub const INTENT_GUILD_MEMBERS: u64 = 1 << 1;
/// Application flag: the Server Members Intent is enabled for a verified app.
pub const GATEWAY_GUILD_MEMBERS: u64 = 1 << 14;
/// Application flag: the same for an unverified app (under 100 servers).
pub const GATEWAY_GUILD_MEMBERS_LIMITED: u64 = 1 << 15;
/// Gateway close code for a privileged intent the application lacks.
pub const CLOSE_DISALLOWED_INTENTS: u16 = 4014;

/// Who the bot is and what each shard reports.
#[derive(Debug, Clone)]
pub struct BotFixture {
    pub application_id: u64,
    pub bot_user_id: u64,
    /// Guild ids each shard's READY lists (as unavailable guilds, like Discord).
    pub ready_guilds: HashMap<u32, Vec<u64>>,
    /// What `GET /gateway/bot` recommends.
    pub recommended_shards: u32,
    /// Text channels in each GUILD_CREATE (Discord sends them all).
    pub guild_channels: usize,
    /// Roles in each GUILD_CREATE besides `@everyone`.
    pub guild_roles: usize,
    /// The application's `flags` (`GET /applications/@me`, READY): with
    /// neither [`GATEWAY_GUILD_MEMBERS`] nor [`GATEWAY_GUILD_MEMBERS_LIMITED`],
    /// an IDENTIFY asking for GUILD_MEMBERS is closed with 4014.
    pub application_flags: u64,
    /// `GET /gateway/bot`'s `session_start_limit` at start; every IDENTIFY
    /// then uses one session start, as at Discord.
    pub session_start_limit: SessionStartLimit,
    /// Refuse IDENTIFYs beyond Discord's limits, as Discord does: more than
    /// one per rate-limit bucket (`shard_id % max_concurrency`) within
    /// [`IDENTIFY_WINDOW`], or with no session start `remaining`. Discord
    /// answers the first with an Invalid Session (op 9); for the second it
    /// may also reset the token — the stand-in answers op 9 too, and records
    /// both ([`BotStandIn::refused_identifies`]). Off by default: most
    /// tests start processes without pacing them.
    pub enforce_identify_limits: bool,
}

/// Discord's `session_start_limit` object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionStartLimit {
    pub total: u64,
    pub remaining: u64,
    /// Milliseconds until `remaining` is back at `total`.
    pub reset_after_ms: u64,
    pub max_concurrency: u64,
}

impl Default for SessionStartLimit {
    fn default() -> Self {
        // A bot's usual limits: 1,000 starts a day, one IDENTIFY per 5 s.
        SessionStartLimit {
            total: 1000,
            remaining: 999,
            reset_after_ms: 14_400_000,
            max_concurrency: 1,
        }
    }
}

/// Discord's identify rate limit window, per bucket.
pub const IDENTIFY_WINDOW: Duration = Duration::from_secs(5);

impl Default for BotFixture {
    fn default() -> Self {
        BotFixture {
            application_id: 1_200_000_000_000_000_001,
            bot_user_id: 1_200_000_000_000_000_001,
            ready_guilds: HashMap::new(),
            recommended_shards: 1,
            guild_channels: 0,
            guild_roles: 0,
            application_flags: 0,
            session_start_limit: SessionStartLimit::default(),
            enforce_identify_limits: false,
        }
    }
}

/// A slash command a test "types".
#[derive(Debug, Clone, Default)]
pub struct SlashCommand {
    pub name: String,
    pub user_id: u64,
    /// `None`: from a DM with the bot.
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    /// String options as typed: (name, value).
    pub options: Vec<(String, String)>,
    /// The user's client language (`locale`); `None`: `en-US`.
    pub locale: Option<String>,
    /// The guild's language (`guild_locale`); `None`: `en-US`.
    pub guild_locale: Option<String>,
}

/// A guild channel, as GUILD_CREATE and CHANNEL_* events carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotChannel {
    pub id: u64,
    pub name: String,
    /// Discord's channel type: 0 text, 2 voice, 4 category, 5 announcement.
    pub kind: u8,
    pub position: i32,
}

impl BotChannel {
    pub fn text(id: u64, name: &str, position: i32) -> Self {
        BotChannel {
            id,
            name: name.into(),
            kind: 0,
            position,
        }
    }
}

/// A guild as a GUILD_CREATE reports it.
#[derive(Debug, Clone)]
pub struct BotGuild {
    pub id: u64,
    pub name: String,
    pub member_count: u64,
    pub channels: Vec<BotChannel>,
}

/// What `POST /channels/{id}/messages` answers for a channel, as Discord does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageFailure {
    /// 403 `{"message": "Missing Permissions", "code": 50013}`.
    MissingPermissions,
    /// 404 `{"message": "Unknown Channel", "code": 10003}`.
    UnknownChannel,
}

impl MessageFailure {
    fn answer(self) -> (u16, Value) {
        match self {
            MessageFailure::MissingPermissions => (
                403,
                serde_json::json!({"message": "Missing Permissions", "code": 50013}),
            ),
            MessageFailure::UnknownChannel => (
                404,
                serde_json::json!({"message": "Unknown Channel", "code": 10003}),
            ),
        }
    }
}

/// A frame for one gateway connection's writer.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Text(String),
    /// A close frame with its code and reason; the connection ends.
    Close(u16, &'static str),
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
    pub shards: HashMap<u32, UnboundedSender<Outgoing>>,
    /// The intents each shard's last IDENTIFY asked for.
    pub intents: HashMap<u32, u64>,
    /// Shards whose IDENTIFY was closed with 4014, once per refusal.
    pub disallowed: Vec<u32>,
    /// Channels whose messages Discord refuses, and how.
    pub channel_failures: HashMap<u64, MessageFailure>,
    pub seq: HashMap<u32, u64>,
    pub ready_sent: Vec<u32>,
    pub resumed: Vec<u32>,
    /// Session ids handed out in READY: a RESUME naming another is refused.
    pub sessions: HashMap<String, u32>,
    /// The last bulk overwrite per scope (`None`: global).
    pub commands: HashMap<Option<u64>, Vec<Value>>,
    /// What `POST /channels/{id}/messages` answers instead of a message.
    pub dm_failure: Option<(u16, Value)>,
    pub next_id: u64,
    /// Joins and removals since start, over the READY lists: what Discord
    /// would answer about membership now (`GET /guilds/{id}`).
    pub membership: HashMap<u64, bool>,
    /// Dispatched interactions: (id, token) → when, and whether answered.
    pub interactions: HashMap<(u64, String), (std::time::Instant, bool)>,
    /// Every IDENTIFY: the shard, and when.
    pub identifies: Vec<(u32, std::time::Instant)>,
    /// IDENTIFYs refused for exceeding the limits (see `BotFixture`).
    pub refused_identifies: Vec<u32>,
    /// When the current session-start period began (its first IDENTIFY),
    /// and how many starts it has used.
    pub start_period: Option<(std::time::Instant, u64)>,
    /// Whether a period has ended since start: `remaining` is then `total`.
    pub limit_was_reset: bool,
}

/// Discord's deadline for an interaction's first answer.
pub const INTERACTION_DEADLINE: Duration = Duration::from_secs(3);

#[derive(Clone, Default)]
pub(crate) struct GwShared(Arc<Mutex<GwInner>>);

impl GwShared {
    pub fn lock(&self) -> MutexGuard<'_, GwInner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl GwInner {
    /// Whether the bot is in the guild now, as Discord knows it.
    pub fn is_member(&self, guild: u64) -> bool {
        self.membership.get(&guild).copied().unwrap_or_else(|| {
            self.fixture
                .ready_guilds
                .values()
                .any(|ids| ids.contains(&guild))
        })
    }

    /// Whether a connected shard identified with GUILD_MEMBERS.
    pub fn has_members_intent(&self, shard: u32) -> bool {
        self.shards.contains_key(&shard)
            && self
                .intents
                .get(&shard)
                .is_some_and(|i| i & INTENT_GUILD_MEMBERS != 0)
    }

    /// `remaining` and `reset_after` (ms) now, as `GET /gateway/bot` says.
    pub fn session_budget(&mut self, now: std::time::Instant) -> (u64, u64) {
        let limit = self.fixture.session_start_limit;
        let period = Duration::from_millis(limit.reset_after_ms);
        if let Some((began, _)) = self.start_period
            && now.duration_since(began) >= period
        {
            self.start_period = None;
            self.limit_was_reset = true;
        }
        let full = if self.limit_was_reset {
            limit.total
        } else {
            limit.remaining
        };
        match self.start_period {
            Some((began, used)) => (
                full.saturating_sub(used),
                (period.saturating_sub(now.duration_since(began))).as_millis() as u64,
            ),
            None => (full, limit.reset_after_ms),
        }
    }

    /// Counts an IDENTIFY of `shard` against the limits; false when Discord
    /// would refuse it (only when the fixture enforces them).
    pub fn identify_allowed(&mut self, shard: u32, now: std::time::Instant) -> bool {
        let (remaining, _) = self.session_budget(now);
        let buckets = self.fixture.session_start_limit.max_concurrency.max(1);
        let bucket_busy = self.identifies.iter().any(|(s, at)| {
            u64::from(*s) % buckets == u64::from(shard) % buckets
                && now.duration_since(*at) < IDENTIFY_WINDOW
        });
        self.identifies.push((shard, now));
        let allowed = !self.fixture.enforce_identify_limits || (remaining > 0 && !bucket_busy);
        if allowed {
            let period = self.start_period.get_or_insert((now, 0));
            period.1 += 1;
        } else {
            self.refused_identifies.push(shard);
        }
        allowed
    }

    pub fn next_snowflake(&mut self) -> u64 {
        self.next_id += 1;
        1_300_000_000_000_000_000 + self.next_id
    }

    /// Sends a dispatch to a connected shard; false when it is not connected.
    /// The sequence only advances for frames actually sent, so a resuming
    /// client never sees a gap.
    pub fn dispatch(&mut self, shard: u32, event: &str, data: Value) -> bool {
        let Some(tx) = self.shards.get(&shard) else {
            return false;
        };
        let seq = self.seq.entry(shard).or_insert(0);
        let frame = serde_json::json!({"op": 0, "s": *seq + 1, "t": event, "d": data});
        let sent = tx.send(Outgoing::Text(frame.to_string())).is_ok();
        if sent {
            *seq += 1;
        }
        sent
    }
}

/// How long [`BotStandIn::shutdown`] lets open connections finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A running bot-side stand-in. Dropping it stops the server.
pub struct BotStandIn {
    addr: SocketAddr,
    shared: GwShared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl BotStandIn {
    /// Starts on `127.0.0.1` on a free port; it accepts connections as soon
    /// as this returns.
    pub async fn start(fixture: BotFixture) -> std::io::Result<BotStandIn> {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let shared = GwShared::default();
        shared.lock().fixture = fixture;
        let app = rest::router(shared.clone(), addr);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
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
            task: Some(task),
        })
    }

    /// Stops accepting connections and waits (briefly) for open ones: the
    /// bot's gateway sockets stay open until the bot closes them.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                abort.abort();
            }
        }
    }

    /// What replaces `https://discord.com` for serenity's HTTP proxy.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn fixture(&self) -> BotFixture {
        self.shared.lock().fixture.clone()
    }

    /// Changes what later READYs and `GET /gateway/bot` report.
    pub fn update_fixture(&self, change: impl FnOnce(&mut BotFixture)) {
        change(&mut self.shared.lock().fixture);
    }

    /// Every REST request so far (bodies included), in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().log.clone()
    }

    /// Requests whose path is exactly `path` (e.g. `/api/v10/users/@me/channels`).
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Every gateway frame received from the bot (IDENTIFY, heartbeats, RESUME…).
    pub fn frames(&self) -> Vec<GatewayFrame> {
        self.shared.lock().frames.clone()
    }

    /// The commands of the last bulk overwrite, global (`None`) or in a guild,
    /// with the ids the stand-in assigned.
    pub fn commands(&self, guild: Option<u64>) -> Vec<Value> {
        self.shared
            .lock()
            .commands
            .get(&guild)
            .cloned()
            .unwrap_or_default()
    }

    /// Refuse DMs with Discord's 403 `50007` "Cannot send messages to this
    /// user" from now on (`true`), or accept them again (`false`).
    pub fn set_dm_fails(&self, fails: bool) {
        self.shared.lock().dm_failure = fails.then(|| {
            (
                403,
                serde_json::json!({"message": "Cannot send messages to this user", "code": 50007}),
            )
        });
    }

    /// Answer every later `POST /channels/{id}/messages` with `status` and
    /// Discord's error body `{"message", "code"}`.
    pub fn fail_messages_with(&self, status: u16, code: u32, message: &str) {
        self.shared.lock().dm_failure = Some((
            status,
            serde_json::json!({"message": message, "code": code}),
        ));
    }

    /// Sends op 7 RECONNECT to a connected shard, as Discord does before
    /// moving a session: the client reconnects and RESUMEs. False when that
    /// shard is not connected.
    pub fn request_reconnect(&self, shard: u32) -> bool {
        let inner = self.shared.lock();
        match inner.shards.get(&shard) {
            Some(tx) => tx
                .send(Outgoing::Text(
                    serde_json::json!({"op": 7, "d": null}).to_string(),
                ))
                .is_ok(),
            None => false,
        }
    }

    /// Shards that identified and got their READY.
    pub fn ready_shards(&self) -> Vec<u32> {
        self.shared.lock().ready_sent.clone()
    }

    /// IDENTIFYs refused for exceeding Discord's limits (only recorded when
    /// the fixture enforces them), by shard, in order.
    pub fn refused_identifies(&self) -> Vec<u32> {
        self.shared.lock().refused_identifies.clone()
    }

    /// Every IDENTIFY's shard and time, in order (for the bench's pacing
    /// figures; tests assert on refusals, not on times).
    pub fn identify_times(&self) -> Vec<(u32, std::time::Instant)> {
        self.shared.lock().identifies.clone()
    }

    /// Shards whose RESUME was accepted (RESUMED sent), once per resume.
    pub fn resumed_shards(&self) -> Vec<u32> {
        self.shared.lock().resumed.clone()
    }

    /// Polls `check` until it holds or the deadline passes; false on timeout.
    /// Tests wait this way, never by sleeping for readiness.
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

    /// The first recorded request matching `pred`, polling until the deadline.
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

    /// Dispatches GUILD_CREATE (a full guild) to `shard`; false when that
    /// shard is not connected.
    pub fn guild_create(&self, shard: u32, guild_id: u64) -> bool {
        let mut inner = self.shared.lock();
        inner.membership.insert(guild_id, true);
        let owner = inner.fixture.bot_user_id + 7;
        let (channels, roles) = (inner.fixture.guild_channels, inner.fixture.guild_roles);
        inner.dispatch(
            shard,
            "GUILD_CREATE",
            payloads::guild(guild_id, owner, channels, roles),
        )
    }

    /// Dispatches GUILD_DELETE: the bot left or was removed (`unavailable`
    /// absent), or an outage (`unavailable: true`).
    pub fn guild_delete(&self, shard: u32, guild_id: u64, unavailable: bool) -> bool {
        let data = if unavailable {
            serde_json::json!({"id": guild_id.to_string(), "unavailable": true})
        } else {
            serde_json::json!({"id": guild_id.to_string()})
        };
        let mut inner = self.shared.lock();
        if !unavailable {
            inner.membership.insert(guild_id, false);
        }
        inner.dispatch(shard, "GUILD_DELETE", data)
    }

    /// Dispatches INTERACTION_CREATE for a slash command; returns the
    /// interaction id and token, or `None` when that shard is not connected.
    pub fn slash_command(&self, shard: u32, call: &SlashCommand) -> Option<(u64, String)> {
        let mut inner = self.shared.lock();
        let id = inner.next_snowflake();
        let token = format!("interaction-token-{id}");
        let app = inner.fixture.application_id;
        let user = payloads::user(call.user_id, "member", false);
        let data = payloads::interaction(id, app, &token, call, user, None);
        inner
            .interactions
            .insert((id, token.clone()), (std::time::Instant::now(), false));
        inner
            .dispatch(shard, "INTERACTION_CREATE", data)
            .then_some((id, token))
    }

    /// Dispatches the autocomplete interaction (type 4) Discord sends while
    /// the user types `focused`, one of `call`'s options (its value is what
    /// was typed so far); returns its id and token like [`Self::slash_command`].
    pub fn autocomplete(
        &self,
        shard: u32,
        call: &SlashCommand,
        focused: &str,
    ) -> Option<(u64, String)> {
        let mut inner = self.shared.lock();
        let id = inner.next_snowflake();
        let token = format!("interaction-token-{id}");
        let app = inner.fixture.application_id;
        let user = payloads::user(call.user_id, "member", false);
        let data = payloads::interaction(id, app, &token, call, user, Some(focused));
        inner
            .interactions
            .insert((id, token.clone()), (std::time::Instant::now(), false));
        inner
            .dispatch(shard, "INTERACTION_CREATE", data)
            .then_some((id, token))
    }

    /// Dispatches GUILD_CREATE for the guild `spec` describes (its name,
    /// member count and channels); false when that shard is not connected.
    pub fn guild_create_with(&self, shard: u32, spec: &BotGuild) -> bool {
        let mut inner = self.shared.lock();
        inner.membership.insert(spec.id, true);
        let owner = inner.fixture.bot_user_id + 7;
        inner.dispatch(shard, "GUILD_CREATE", payloads::guild_of(owner, spec))
    }

    /// Dispatches CHANNEL_CREATE for a channel of `guild`.
    pub fn channel_create(&self, shard: u32, guild: u64, channel: &BotChannel) -> bool {
        self.channel_event(shard, "CHANNEL_CREATE", guild, channel)
    }

    /// Dispatches CHANNEL_UPDATE (renamed, moved...).
    pub fn channel_update(&self, shard: u32, guild: u64, channel: &BotChannel) -> bool {
        self.channel_event(shard, "CHANNEL_UPDATE", guild, channel)
    }

    /// Dispatches CHANNEL_DELETE.
    pub fn channel_delete(&self, shard: u32, guild: u64, channel: &BotChannel) -> bool {
        self.channel_event(shard, "CHANNEL_DELETE", guild, channel)
    }

    fn channel_event(&self, shard: u32, event: &str, guild: u64, channel: &BotChannel) -> bool {
        self.shared
            .lock()
            .dispatch(shard, event, payloads::channel(guild, channel))
    }

    /// Dispatches GUILD_MEMBER_ADD for a new member of `guild`. Like
    /// Discord, only to a shard that identified with GUILD_MEMBERS: false
    /// when it did not (or is not connected).
    pub fn member_add(&self, shard: u32, guild: u64, user_id: u64, username: &str) -> bool {
        let mut inner = self.shared.lock();
        if !inner.has_members_intent(shard) {
            return false;
        }
        let user = payloads::user(user_id, username, false);
        inner.dispatch(shard, "GUILD_MEMBER_ADD", payloads::member_add(guild, user))
    }

    /// Dispatches GUILD_MEMBER_REMOVE (left, kicked or banned), under the
    /// same condition as [`Self::member_add`].
    pub fn member_remove(&self, shard: u32, guild: u64, user_id: u64) -> bool {
        let mut inner = self.shared.lock();
        if !inner.has_members_intent(shard) {
            return false;
        }
        let data = serde_json::json!({
            "guild_id": guild.to_string(),
            "user": payloads::user(user_id, "member", false),
        });
        inner.dispatch(shard, "GUILD_MEMBER_REMOVE", data)
    }

    /// The intents a shard's last IDENTIFY asked for.
    pub fn identified_intents(&self, shard: u32) -> Option<u64> {
        self.shared.lock().intents.get(&shard).copied()
    }

    /// Shards whose IDENTIFY was closed with 4014 "Disallowed intent(s)",
    /// once per refusal.
    pub fn disallowed_identifies(&self) -> Vec<u32> {
        self.shared.lock().disallowed.clone()
    }

    /// From now on, `POST /channels/{channel}/messages` fails as `failure`
    /// says (`None`: posts succeed again).
    pub fn set_channel_failure(&self, channel: u64, failure: Option<MessageFailure>) {
        let mut inner = self.shared.lock();
        match failure {
            Some(f) => inner.channel_failures.insert(channel, f),
            None => inner.channel_failures.remove(&channel),
        };
    }

    /// The bodies of every `POST /channels/{channel}/messages` so far
    /// (content, allowed_mentions...), with the status each was answered.
    pub fn messages_to(&self, channel: u64) -> Vec<(u16, Value)> {
        let path = format!("/api/v10/channels/{channel}/messages");
        self.requests_to(&path)
            .into_iter()
            .filter(|r| r.method == "POST")
            .map(|r| {
                (
                    r.status,
                    serde_json::from_str(&r.body).unwrap_or(Value::Null),
                )
            })
            .collect()
    }
}

impl Drop for BotStandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
