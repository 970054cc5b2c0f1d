//! A stand-in for Discord on 127.0.0.1, for tests and the offline demo: the
//! OAuth2 authorize page and token endpoints, the user REST API, the CDN —
//! answering with Discord's documented status codes, JSON shapes, error bodies
//! and rate-limit headers. It records every request and can be scripted to
//! misbehave (rate limits, server errors, delays, malformed JSON, 401s).

mod api;
mod cdn;
mod consent_page;
mod faults;
mod fixture;
mod oauth;
mod ratelimit_headers;
mod state;

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use faults::Fault;
pub use fixture::{Fixture, FixtureGuild, FixtureUser};
pub use state::RecordedRequest;
use state::Shared;

/// A running stand-in. Dropping it stops the server.
pub struct StandIn {
    addr: SocketAddr,
    shared: Shared,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route(
            "/oauth2/authorize",
            get(oauth::authorize).post(oauth::decide),
        )
        .route("/api/v10/oauth2/token", axum::routing::post(oauth::token))
        .route(
            "/api/v10/oauth2/token/revoke",
            axum::routing::post(oauth::revoke),
        )
        .route("/api/v10/users/@me", get(api::me))
        .route("/api/v10/users/@me/guilds", get(api::my_guilds))
        .route("/icons/{id}/{file}", get(cdn::icon))
        .route("/avatars/{id}/{file}", get(cdn::avatar))
        .route("/embed/avatars/{file}", get(cdn::default_avatar))
        .fallback(api_not_found)
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            record_and_fault,
        ))
        .with_state(shared)
}

async fn api_not_found() -> Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::NOT_FOUND,
        axum::Json(serde_json::json!({"message": "404: Not Found", "code": 0})),
    )
        .into_response()
}

/// Records the request, plays a scripted fault if one is queued for its
/// route, and stamps rate-limit headers on API answers.
async fn record_and_fault(State(shared): State<Shared>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let path = parts.uri.path().to_owned();
    let index = {
        let mut inner = shared.lock();
        inner.log.push(RecordedRequest {
            method: parts.method.to_string(),
            path: path.clone(),
            query: parts.uri.query().unwrap_or_default().to_owned(),
            headers: parts
                .headers
                .iter()
                .map(|(k, v)| {
                    (
                        k.as_str().to_owned(),
                        String::from_utf8_lossy(v.as_bytes()).into_owned(),
                    )
                })
                .collect(),
            body: String::from_utf8_lossy(&bytes).into_owned(),
            at: std::time::Instant::now(),
            status: 0,
        });
        inner.log.len() - 1
    };
    let api_route = path.strip_prefix("/api/v10").map(str::to_owned);
    let fault = api_route
        .as_ref()
        .and_then(|r| shared.lock().faults.get_mut(r).and_then(|q| q.pop_front()));

    let mut response = match fault {
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Some(other) => ratelimit_headers::fault_response(&other),
        None => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
    };
    if let Some(route) = &api_route {
        ratelimit_headers::stamp(&mut response, route);
    }
    if let Some(entry) = shared.lock().log.get_mut(index) {
        entry.status = response.status().as_u16();
    }
    response
}

impl StandIn {
    pub async fn start(fixture: Fixture) -> std::io::Result<StandIn> {
        StandIn::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), fixture).await
    }

    pub async fn start_on(addr: SocketAddr, fixture: Fixture) -> std::io::Result<StandIn> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Shared::new(fixture);
        let app = router(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = rx.await;
            });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "stand-in Discord stopped");
            }
        });
        Ok(StandIn {
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT` — what replaces `https://discord.com`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn api_url(&self) -> String {
        format!("{}/api/v10", self.base_url())
    }

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

    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// Queues `faults` as the next answers on `route`, a path below `/api/v10`
    /// such as `/users/@me/guilds` or `/oauth2/token`.
    pub fn fault(&self, route: &str, faults: Vec<Fault>) {
        self.shared
            .lock()
            .faults
            .entry(route.to_owned())
            .or_default()
            .extend(faults);
    }

    /// Revokes every authorization, as if each user removed the app.
    pub fn revoke_all_tokens(&self) {
        let mut inner = self.shared.lock();
        inner.access.clear();
        inner.refresh.clear();
    }

    /// Makes every current access token expired (refresh tokens stay valid).
    pub fn expire_access_tokens(&self) {
        let past = chrono::Utc::now().timestamp() - 1;
        for grant in self.shared.lock().access.values_mut() {
            grant.expires_at = past;
        }
    }

    /// Changes the world while running (add a guild, unverify an email…).
    pub fn update_fixture(&self, change: impl FnOnce(&mut Fixture)) {
        if let Some(f) = self.shared.lock().fixture.as_mut() {
            change(f);
        }
    }

    /// Polls the request log until `pred` holds for some request, or the
    /// deadline passes.
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
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
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
