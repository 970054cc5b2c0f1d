//! A stand-in for Discord on 127.0.0.1, for tests and the offline demo: the
//! OAuth2 authorize page and token endpoints, the user REST API, the CDN —
//! answering with Discord's documented status codes, JSON shapes, error bodies
//! and rate-limit headers. It records every request and can be scripted to
//! misbehave (rate limits, server errors, delays, malformed JSON, 401s).
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use discord_standin::{Fault, Fixture, StandIn};
//! let standin = StandIn::start(Fixture::demo().auto_approved()).await?;
//! standin.fault("/users/@me", vec![Fault::Status(502)]);
//! // point the client at standin.api_url(), standin.authorize_url(), standin.cdn_url()
//! # Ok(()) }
//! ```

// The gateway's GUILD_CREATE shape is one large json! literal.
#![recursion_limit = "256"]

mod api;
mod authorize;
mod cdn;
mod consent_page;
mod faults;
mod fixture;
pub mod gateway;
mod images;
mod oauth;
mod ratelimit_headers;
mod record;
mod state;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use authorize::SESSION_COOKIE as BROWSER_SESSION_COOKIE;
pub use faults::Fault;
pub use fixture::{Fixture, FixtureGuild, FixtureUser};
pub use state::RecordedRequest;
use state::{AuthorizeRequest, Shared};

/// How long [`StandIn::shutdown`] lets open requests finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// Every route of the stand-in. A new area (e.g. the gateway and the bot's
/// REST endpoints) adds its module above and one `.merge(module::routes())`
/// here; the recording and fault middleware then covers it too.
fn router(shared: Shared) -> Router {
    Router::new()
        .merge(authorize::routes())
        .merge(oauth::routes())
        .merge(api::routes())
        .merge(cdn::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            record::record_and_fault,
        ))
        .with_state(shared)
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(serde_json::json!({"message": "404: Not Found", "code": 0})),
    )
        .into_response()
}

/// A running stand-in. Dropping it stops the server.
pub struct StandIn {
    addr: SocketAddr,
    shared: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl StandIn {
    /// Starts on `127.0.0.1` on a free port. The server accepts connections
    /// as soon as this returns: no need to wait for readiness.
    pub async fn start(fixture: Fixture) -> std::io::Result<StandIn> {
        StandIn::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), fixture).await
    }

    /// Starts on `addr` (port 0 picks a free one).
    pub async fn start_on(addr: SocketAddr, fixture: Fixture) -> std::io::Result<StandIn> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Shared::new(fixture);
        let (tx, task) = serve(listener, shared.clone());
        Ok(StandIn {
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    /// Closes the port, as a Discord that cannot be reached: connections
    /// are refused until [`StandIn::listen_again`]. Its state (tokens,
    /// fixture, request log, faults) is kept.
    pub async fn stop_listening(&mut self) {
        self.stop_server().await;
    }

    /// Opens the same port again after [`StandIn::stop_listening`]; does
    /// nothing while it listens.
    pub async fn listen_again(&mut self) -> std::io::Result<()> {
        if self.task.is_some() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr).await?;
        let (tx, task) = serve(listener, self.shared.clone());
        self.shutdown = Some(tx);
        self.task = Some(task);
        Ok(())
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` — what replaces `https://discord.com`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `{base}/api/v10`, the REST base.
    pub fn api_url(&self) -> String {
        format!("{}/api/v10", self.base_url())
    }

    /// `{base}/oauth2/authorize`.
    pub fn authorize_url(&self) -> String {
        format!("{}/oauth2/authorize", self.base_url())
    }

    /// CDN paths (`/icons/…`, `/avatars/…`, `/embed/avatars/…`) are served at the root.
    pub fn cdn_url(&self) -> String {
        self.base_url()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().log.clone()
    }

    /// Requests whose path is exactly `path` (e.g. `/api/v10/users/@me`).
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.shared
            .lock()
            .log
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }

    /// Forgets the request log.
    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// Queues `faults` as the next answers on `route`: a path below
    /// `/api/v10` such as `/users/@me/guilds` or `/oauth2/token` (with or
    /// without the prefix); a `*` segment matches any one segment.
    pub fn fault(&self, route: &str, faults: Vec<Fault>) {
        self.shared.lock().faults.push(route, faults);
    }

    /// Answers every request on `route` (a pattern as for
    /// [`StandIn::fault`]) with `fault` until [`StandIn::clear_faults`] or
    /// [`StandIn::stop_fault`], after any faults queued for it — an outage
    /// rather than a hiccup.
    pub fn fault_always(&self, route: &str, fault: Fault) {
        self.shared.lock().faults.set_lasting(route, fault);
    }

    /// Ends the lasting fault on `route`.
    pub fn stop_fault(&self, route: &str) {
        self.shared.lock().faults.clear_lasting(route);
    }

    /// Drops every fault not yet played, and every lasting one.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// A snapshot of the current fixture.
    pub fn fixture(&self) -> Fixture {
        self.shared.lock().fixture.clone()
    }

    /// Changes the world while running (add a guild, unverify an email…).
    pub fn update_fixture(&self, change: impl FnOnce(&mut Fixture)) {
        change(&mut self.shared.lock().fixture);
    }

    /// Adds a user, or replaces the one with the same id.
    pub fn add_user(&self, user: FixtureUser) {
        self.update_fixture(|f| {
            f.users.retain(|u| u.id != user.id);
            f.users.push(user);
        });
    }

    /// Adds a guild to a user's list (replacing one with the same id);
    /// `false` if there is no such user.
    pub fn add_guild(&self, user_id: &str, guild: FixtureGuild) -> bool {
        let mut inner = self.shared.lock();
        let Some(user) = inner.fixture.users.iter_mut().find(|u| u.id == user_id) else {
            return false;
        };
        user.guilds.retain(|g| g.id != guild.id);
        user.guilds.push(guild);
        true
    }

    /// Removes a guild from a user's list (they left it).
    pub fn remove_guild(&self, user_id: &str, guild_id: &str) {
        self.update_fixture(|f| {
            if let Some(u) = f.users.iter_mut().find(|u| u.id == user_id) {
                u.guilds.retain(|g| g.id != guild_id);
            }
        });
    }

    /// Issues an authorization code for `user_id` as if they had approved
    /// `scopes` on the consent page, bound to `redirect_uri` and, when given,
    /// a PKCE S256 `code_challenge`.
    pub fn issue_code_for(
        &self,
        user_id: &str,
        redirect_uri: &str,
        scopes: &[&str],
        code_challenge: Option<&str>,
    ) -> String {
        self.shared.lock().issue_code(AuthorizeRequest {
            user_id: user_id.to_owned(),
            redirect_uri: redirect_uri.to_owned(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            state: None,
            code_challenge: code_challenge.map(str::to_owned),
        })
    }

    /// Issues an access and refresh token for `user_id` directly, skipping
    /// the OAuth dance: `(access_token, refresh_token)`.
    pub fn issue_tokens_for(&self, user_id: &str, scopes: &[&str]) -> (String, String) {
        let scopes: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let (access, refresh, _) = self.shared.lock().issue_tokens(user_id, &scopes, None);
        (access, refresh)
    }

    /// Revokes every authorization, as if each user removed the app.
    pub fn revoke_all_tokens(&self) {
        let mut inner = self.shared.lock();
        inner.access.clear();
        inner.refresh.clear();
    }

    /// Revokes every authorization of one user.
    pub fn revoke_all_tokens_for(&self, user_id: &str) {
        let mut inner = self.shared.lock();
        inner.access.retain(|_, g| g.user_id != user_id);
        inner.refresh.retain(|_, g| g.user_id != user_id);
    }

    /// Makes every current access token expired (refresh tokens stay valid).
    pub fn expire_access_tokens(&self) {
        let past = chrono::Utc::now().timestamp() - 1;
        for grant in self.shared.lock().access.values_mut() {
            grant.expires_at = past;
        }
    }

    /// Makes one access token expired; `false` if it is unknown.
    pub fn expire_access_token(&self, access_token: &str) -> bool {
        let past = chrono::Utc::now().timestamp() - 1;
        match self.shared.lock().access.get_mut(access_token) {
            Some(grant) => {
                grant.expires_at = past;
                true
            }
            None => false,
        }
    }

    /// Whether an access token would be accepted by the API right now.
    pub fn access_token_valid(&self, access_token: &str) -> bool {
        let now = chrono::Utc::now().timestamp();
        self.shared
            .lock()
            .access
            .get(access_token)
            .is_some_and(|g| g.expires_at > now)
    }

    /// Guilds the bot was added to through the bot invite page.
    pub fn bot_guilds(&self) -> Vec<String> {
        self.shared.lock().bot_guilds.iter().cloned().collect()
    }

    /// Polls the request log until `pred` holds for some request, or the
    /// deadline passes. This is how tests wait: never by sleeping blindly.
    pub async fn wait_for_request(
        &self,
        deadline: Duration,
        pred: impl Fn(&RecordedRequest) -> bool,
    ) -> Option<RecordedRequest> {
        let end = tokio::time::Instant::now() + deadline;
        loop {
            if let Some(r) = self.shared.lock().log.iter().find(|r| pred(r)) {
                return Some(r.clone());
            }
            if tokio::time::Instant::now() >= end {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Stops accepting connections and waits (briefly) for open requests.
    pub async fn shutdown(mut self) {
        self.stop_server().await;
    }

    async fn stop_server(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(SHUTDOWN_GRACE, task).await.is_err() {
                // Kept-alive or stuck connections: stop them outright.
                abort.abort();
            }
        }
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves the stand-in on `listener` until the sender is used or dropped.
fn serve(
    listener: TcpListener,
    shared: Shared,
) -> (tokio::sync::oneshot::Sender<()>, JoinHandle<()>) {
    let app = router(shared);
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        if let Err(e) = serve.await {
            tracing::error!(error = %e, "stand-in Discord stopped");
        }
    });
    (tx, task)
}
