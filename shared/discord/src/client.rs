//! The client and its one way to Discord: every request, the OAuth2 ones
//! included, waits out known rate limits, retries a 429 while the total wait
//! stays within `max_rate_limit_wait`, retries a 5xx once (unless the route
//! is already failing), goes through its route's circuit breaker, and is
//! reported to the observer.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use settings::Secret;

use crate::breaker::{Breakers, RouteHealth};
use crate::oauth::{self, OAuthClient};
use crate::ratelimit::{LimitKey, RateLimiter, parse_seconds, seconds};
use crate::{DiscordConfig, DiscordError};

/// Discord asks every API client to identify itself this way.
const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/guildhall/guildhall, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);
const SERVER_ERROR_BACKOFF: Duration = Duration::from_millis(200);
/// Discord's fallback when a 429 says nowhere how long to wait.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// The Discord REST client. Cheap to clone: clones share one connection
/// pool and one view of Discord's rate limits.
#[derive(Clone)]
pub struct DiscordClient {
    pub(crate) inner: Arc<Inner>,
    /// Whether a 5xx is tried again within the call. Off for callers that
    /// retry on their own schedule (the guild listing's back-off).
    retry_server_errors: bool,
}

pub(crate) struct Inner {
    pub(crate) config: DiscordConfig,
    http: reqwest::Client,
    limiter: RateLimiter,
    breakers: Breakers,
    observer: Option<CallObserver>,
    pub(crate) oauth: OAuthClient,
}

/// Told about every HTTP exchange with Discord: the route (no ids, queries or
/// tokens) and the status. The portal counts them for `/metrics`.
pub type CallObserver = Arc<dyn Fn(&'static str, u16) + Send + Sync>;

impl std::fmt::Debug for DiscordClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DiscordClient")
            .field("api_url", &self.inner.config.api_url)
            .finish_non_exhaustive()
    }
}

/// Who is calling, which decides the rate limit a request counts against.
pub(crate) enum Credentials<'a> {
    /// The application, with HTTP Basic credentials already in the request's
    /// headers (oauth2 puts them there).
    AppInRequest,
    /// The application, with HTTP Basic credentials added here.
    AppBasic,
    /// A user, with their OAuth access token as a Bearer token.
    User(&'a Secret),
}

/// One request, sent again unchanged when a limit or a 5xx is waited out.
pub(crate) struct Outgoing<'a> {
    pub method: Method,
    pub url: String,
    /// The endpoint without ids, queries or tokens: it names the call in logs
    /// and metrics, and keys its rate limit.
    pub route: &'static str,
    pub credentials: Credentials<'a>,
    pub headers: HeaderMap,
    pub body: Option<Vec<u8>>,
}

/// Discord's answer, read whole.
pub(crate) struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub bytes: Vec<u8>,
}

#[derive(Deserialize)]
struct RateLimitBody {
    #[serde(default)]
    retry_after: Option<f64>,
    #[serde(default)]
    global: bool,
}

impl DiscordClient {
    /// Builds the HTTP client; fails only on an unusable configuration.
    pub fn new(config: DiscordConfig) -> Result<Self, DiscordError> {
        Self::with_observer(config, None)
    }

    /// Like [`DiscordClient::new`], reporting every exchange to `observer`.
    pub fn with_observer(
        config: DiscordConfig,
        observer: Option<CallObserver>,
    ) -> Result<Self, DiscordError> {
        if !(config.api_url.starts_with("http://") || config.api_url.starts_with("https://")) {
            return Err(DiscordError::Config {
                reason: format!("api_url must be an http(s) URL, got {:?}", config.api_url),
                source: None,
            });
        }
        let oauth = oauth::client(&config)?;
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // Discord never redirects API calls; a redirect would be a misconfiguration.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| DiscordError::Config {
                reason: "the HTTP client could not be built".into(),
                source: Some(Box::new(e)),
            })?;
        Ok(DiscordClient {
            inner: Arc::new(Inner {
                breakers: Breakers::new(config.breaker),
                config,
                http,
                limiter: RateLimiter::new(),
                observer,
                oauth,
            }),
            retry_server_errors: true,
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &DiscordConfig {
        &self.inner.config
    }

    /// This client (same connections, limits and circuits) without the
    /// retry of a 5xx within a call: for callers that back off on their own,
    /// so each of their attempts costs Discord one request.
    pub fn without_server_retry(&self) -> DiscordClient {
        DiscordClient {
            inner: self.inner.clone(),
            retry_server_errors: false,
        }
    }

    /// Every route's circuit, for `/metrics`, sorted by route.
    pub fn route_health(&self) -> Vec<RouteHealth> {
        self.inner.breakers.health()
    }

    /// How long every call of this client still waits because Discord
    /// answered a global 429, if it did recently.
    pub fn global_pause(&self) -> Option<Duration> {
        self.inner.limiter.global_remaining()
    }

    /// One logical call: waits out known limits, retries a 429 while the total
    /// wait stays within `max_rate_limit_wait`, retries a 5xx once after a
    /// short pause — not when the route was already failing before this call
    /// or its circuit is open: then a retry would only add to the load on an
    /// API in trouble. While the route's circuit is open nothing is sent.
    pub(crate) async fn call(&self, request: &Outgoing<'_>) -> Result<Answer, DiscordError> {
        let key = self.limit_key(request);
        if matches!(request.credentials, Credentials::User(_)) && self.inner.limiter.is_dead(&key) {
            tracing::debug!(
                route = request.route,
                "token already refused by Discord; not calling"
            );
            return Err(DiscordError::Unauthorized);
        }
        let breakers = &self.inner.breakers;
        let mut may_retry_server_error =
            self.retry_server_errors && !breakers.failing(request.route);
        let mut waited = Duration::ZERO;
        loop {
            waited += self.wait_for_limits(&key, waited).await?;
            let admission = breakers.admit(request.route)?;
            let answer = match self.send(request, &key).await {
                Ok(answer) => answer,
                Err(e) => {
                    admission.failed();
                    return Err(e);
                }
            };
            if answer.status.is_server_error() {
                let open = admission.failed();
                if open || !may_retry_server_error {
                    return Err(DiscordError::Server {
                        status: answer.status.as_u16(),
                    });
                }
                may_retry_server_error = false;
                tokio::time::sleep(SERVER_ERROR_BACKOFF).await;
                continue;
            }
            // Discord answered: a 429 is a limit, not an outage.
            admission.succeeded();
            if answer.status == StatusCode::TOO_MANY_REQUESTS {
                self.rate_limited(request.route, &key, &answer, waited)?;
            } else {
                return Ok(answer);
            }
        }
    }

    fn limit_key(&self, request: &Outgoing<'_>) -> LimitKey {
        let limiter = &self.inner.limiter;
        match request.credentials {
            Credentials::AppInRequest | Credentials::AppBasic => {
                limiter.key(&self.inner.config.client_id, request.route)
            }
            Credentials::User(token) => limiter.key(token.expose(), request.route),
        }
    }

    /// Sleeps until `key` may be used again, unless that would take the call
    /// past its wait budget. Returns the time slept.
    async fn wait_for_limits(
        &self,
        key: &LimitKey,
        waited: Duration,
    ) -> Result<Duration, DiscordError> {
        let delay = self.inner.limiter.delay(key);
        if delay.is_zero() {
            return Ok(delay);
        }
        if waited + delay > self.inner.config.max_rate_limit_wait {
            return Err(DiscordError::RateLimited { retry_after: delay });
        }
        tokio::time::sleep(delay).await;
        Ok(delay)
    }

    /// One HTTP exchange: sends, reads the whole answer, and tells the rate
    /// limiter and the observer about it.
    async fn send(&self, request: &Outgoing<'_>, key: &LimitKey) -> Result<Answer, DiscordError> {
        let inner = &self.inner;
        let started = Instant::now();
        let response = self.build(request).send().await.map_err(transport_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        inner.limiter.observe(key, &headers);
        let bytes = response.bytes().await.map_err(transport_error)?.to_vec();
        tracing::debug!(
            method = %request.method,
            route = request.route,
            status = status.as_u16(),
            ms = started.elapsed().as_millis() as u64,
            "discord call"
        );
        if let Some(observe) = &inner.observer {
            observe(request.route, status.as_u16());
        }
        if status == StatusCode::UNAUTHORIZED && matches!(request.credentials, Credentials::User(_))
        {
            inner.limiter.mark_dead(key);
        }
        Ok(Answer {
            status,
            headers,
            bytes,
        })
    }

    /// The request as reqwest sends it; the client adds the User-Agent.
    fn build(&self, request: &Outgoing<'_>) -> reqwest::RequestBuilder {
        let config = &self.inner.config;
        let mut headers = request.headers.clone();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json"));
        let mut builder = self
            .inner
            .http
            .request(request.method.clone(), &request.url)
            .headers(headers);
        builder = match request.credentials {
            Credentials::AppInRequest => builder,
            Credentials::AppBasic => {
                builder.basic_auth(&config.client_id, Some(config.client_secret.expose()))
            }
            Credentials::User(token) => builder.bearer_auth(token.expose()),
        };
        match &request.body {
            Some(body) => builder.body(body.clone()),
            None => builder,
        }
    }

    /// Records a 429 with the limiter (for every call when it is global),
    /// and says whether waiting it out stays within the call's budget.
    fn rate_limited(
        &self,
        route: &'static str,
        key: &LimitKey,
        answer: &Answer,
        waited: Duration,
    ) -> Result<(), DiscordError> {
        let (retry_after, global) = rate_limit_of(answer);
        if global {
            self.inner.limiter.pause_all(retry_after);
        } else {
            self.inner.limiter.exhaust(key, retry_after);
        }
        tracing::warn!(
            route,
            global,
            retry_after_ms = retry_after.as_millis() as u64,
            "rate limited by Discord"
        );
        if waited + retry_after > self.inner.config.max_rate_limit_wait {
            return Err(DiscordError::RateLimited { retry_after });
        }
        Ok(())
    }
}

/// What a 429 says: how long to wait, and whether every call must. Discord
/// says it in its JSON body; Cloudflare, in front of it, only in headers.
fn rate_limit_of(answer: &Answer) -> (Duration, bool) {
    let body: Option<RateLimitBody> = serde_json::from_slice(&answer.bytes).ok();
    let header = |name| answer.headers.get(name).and_then(|v| v.to_str().ok());
    let retry_after = body
        .as_ref()
        .and_then(|b| b.retry_after)
        .and_then(seconds)
        .or_else(|| header(header::RETRY_AFTER.as_str()).and_then(parse_seconds))
        .unwrap_or(DEFAULT_RETRY_AFTER);
    let header_is = |name, value: &str| header(name).is_some_and(|v| v.eq_ignore_ascii_case(value));
    let global = body.is_some_and(|b| b.global)
        || header_is("x-ratelimit-global", "true")
        || header_is("x-ratelimit-scope", "global");
    (retry_after, global)
}

fn transport_error(e: reqwest::Error) -> DiscordError {
    if e.is_timeout() {
        DiscordError::Timeout
    } else {
        // Without the URL: it is harmless today, but errors get logged.
        DiscordError::Connect(e.without_url())
    }
}
