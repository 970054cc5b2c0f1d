use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use settings::Secret;

use crate::ratelimit::{RateLimiter, parse_seconds, seconds};
use crate::{DiscordConfig, DiscordError, DiscordUser, OAuthToken, PartialGuild};

/// Discord asks every API client to identify itself this way.
const USER_AGENT: &str = concat!(
    "DiscordBot (https://github.com/guildhall/guildhall, ",
    env!("CARGO_PKG_VERSION"),
    ")"
);
/// Page size for the guild list: Discord's maximum.
const GUILD_PAGE: usize = 200;
/// A user is in at most 200 guilds (bots in more); stop long before a loop could spin.
const MAX_GUILD_PAGES: usize = 50;
const SERVER_ERROR_BACKOFF: Duration = Duration::from_millis(200);

/// What to put in Discord's authorize URL.
#[derive(Debug, Clone, Copy)]
pub struct AuthorizeRequest<'a> {
    /// Must be registered with the application, byte for byte.
    pub redirect_uri: &'a str,
    /// E.g. `["identify", "email", "guilds"]`; sent space-separated.
    pub scopes: &'a [&'a str],
    /// Comes back on the redirect; binds the callback to this browser.
    pub state: &'a str,
    /// PKCE S256 challenge ([`crate::pkce::challenge`]); the method is added.
    pub code_challenge: Option<&'a str>,
    /// `consent` or `none`.
    pub prompt: Option<&'a str>,
}

/// The Discord REST client. Cheap to clone: clones share one connection
/// pool and one view of Discord's rate limits.
#[derive(Clone)]
pub struct DiscordClient {
    inner: Arc<Inner>,
}

struct Inner {
    config: DiscordConfig,
    http: reqwest::Client,
    limiter: RateLimiter,
    observer: Option<CallObserver>,
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

/// How to authenticate one call.
enum Auth<'a> {
    /// The application itself (token endpoint): HTTP Basic with id and secret.
    Client,
    /// A user's OAuth access token.
    Bearer(&'a Secret),
}

enum Body<'a> {
    None,
    Form(&'a [(&'a str, &'a str)]),
}

struct Answer {
    status: StatusCode,
    bytes: Vec<u8>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: String,
    #[serde(default)]
    expires_in: Option<i64>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: String,
}

#[derive(Deserialize)]
struct OAuthErrorBody {
    error: String,
    #[serde(default)]
    error_description: String,
}

#[derive(Deserialize)]
struct ApiErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: u64,
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
            return Err(DiscordError::Config(format!(
                "api_url must be an http(s) URL, got {:?}",
                config.api_url
            )));
        }
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // Discord never redirects API calls; a redirect would be a misconfiguration.
            .redirect(reqwest::redirect::Policy::none())
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| DiscordError::Config(e.to_string()))?;
        Ok(DiscordClient {
            inner: Arc::new(Inner {
                config,
                http,
                limiter: RateLimiter::new(),
                observer,
            }),
        })
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &DiscordConfig {
        &self.inner.config
    }

    /// How long every call of this client still waits because Discord
    /// answered a global 429, if it did recently.
    pub fn global_pause(&self) -> Option<Duration> {
        self.inner.limiter.global_remaining()
    }

    /// Where to send the browser to log in: `response_type=code`, the client
    /// id, redirect URI, scopes, state, and PKCE and `prompt` when given.
    pub fn authorize_url(&self, p: &AuthorizeRequest<'_>) -> String {
        let c = &self.inner.config;
        let scope = p.scopes.join(" ");
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("response_type", "code")
            .append_pair("client_id", &c.client_id)
            .append_pair("redirect_uri", p.redirect_uri)
            .append_pair("scope", &scope)
            .append_pair("state", p.state);
        if let Some(challenge) = p.code_challenge {
            q.append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256");
        }
        if let Some(prompt) = p.prompt {
            q.append_pair("prompt", prompt);
        }
        format!("{}?{}", c.authorize_url, q.finish())
    }

    /// "Add the bot to this guild", pre-selected and locked to it.
    pub fn bot_invite_url(&self, guild_id: &str, permissions: u64) -> String {
        let c = &self.inner.config;
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &c.client_id)
            .append_pair("scope", "bot applications.commands")
            .append_pair("permissions", &permissions.to_string())
            .append_pair("guild_id", guild_id)
            .append_pair("disable_guild_select", "true")
            .append_pair("integration_type", "0")
            .finish();
        format!("{}?{q}", c.authorize_url)
    }

    /// Exchanges an authorization code (with its PKCE verifier when the
    /// authorize URL carried a challenge) for tokens.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<OAuthToken, DiscordError> {
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        if let Some(v) = code_verifier {
            form.push(("code_verifier", v));
        }
        self.token_request(&form).await
    }

    /// Trades a refresh token for a new pair. Discord's refresh tokens are
    /// single-use: store the new pair before anything else.
    pub async fn refresh_token(&self, refresh_token: &Secret) -> Result<OAuthToken, DiscordError> {
        self.token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ])
        .await
    }

    /// Revokes the whole authorization (access and refresh token alike).
    pub async fn revoke_token(&self, token: &Secret) -> Result<(), DiscordError> {
        let answer = self
            .call(
                Method::POST,
                "/oauth2/token/revoke",
                "POST /oauth2/token/revoke",
                Auth::Client,
                Body::Form(&[("token", token.expose())]),
            )
            .await?;
        if answer.status.is_success() {
            Ok(())
        } else {
            Err(oauth_error(&answer))
        }
    }

    /// `GET /users/@me` with the user's access token.
    pub async fn current_user(&self, access_token: &Secret) -> Result<DiscordUser, DiscordError> {
        let answer = self
            .call(
                Method::GET,
                "/users/@me",
                "GET /users/@me",
                Auth::Bearer(access_token),
                Body::None,
            )
            .await?;
        api_json(&answer)
    }

    /// httpx-oauth's `get_id_email`: the id, and the email only when Discord
    /// says it is verified.
    pub async fn get_id_email(
        &self,
        access_token: &Secret,
    ) -> Result<(String, Option<String>), DiscordError> {
        let user = self.current_user(access_token).await?;
        let email = match user.verified {
            Some(true) => user.email,
            _ => None,
        };
        Ok((user.id, email))
    }

    /// Every guild the user is in, following `after` while pages are full.
    pub async fn current_user_guilds(
        &self,
        access_token: &Secret,
    ) -> Result<Vec<PartialGuild>, DiscordError> {
        let mut all: Vec<PartialGuild> = Vec::new();
        for _ in 0..MAX_GUILD_PAGES {
            let path = match all.last() {
                None => format!("/users/@me/guilds?limit={GUILD_PAGE}"),
                Some(last) => format!("/users/@me/guilds?limit={GUILD_PAGE}&after={}", last.id),
            };
            let answer = self
                .call(
                    Method::GET,
                    &path,
                    "GET /users/@me/guilds",
                    Auth::Bearer(access_token),
                    Body::None,
                )
                .await?;
            let page: Vec<PartialGuild> = api_json(&answer)?;
            let full = page.len() >= GUILD_PAGE;
            all.extend(page);
            if !full {
                return Ok(all);
            }
        }
        Ok(all)
    }

    async fn token_request(&self, form: &[(&str, &str)]) -> Result<OAuthToken, DiscordError> {
        let answer = self
            .call(
                Method::POST,
                "/oauth2/token",
                "POST /oauth2/token",
                Auth::Client,
                Body::Form(form),
            )
            .await?;
        if !answer.status.is_success() {
            return Err(oauth_error(&answer));
        }
        let t: TokenResponse = decode(&answer.bytes)?;
        let now = chrono::Utc::now().timestamp();
        Ok(OAuthToken {
            access_token: Secret::new(t.access_token),
            refresh_token: t.refresh_token.map(Secret::new),
            expires_at: t.expires_in.map(|s| now + s),
            scope: t.scope,
            token_type: t.token_type,
        })
    }

    /// One logical call: waits out known limits, retries a 429 while the total
    /// wait stays within `max_rate_limit_wait`, retries a 5xx once.
    async fn call(
        &self,
        method: Method,
        path: &str,
        route: &'static str,
        auth: Auth<'_>,
        body: Body<'_>,
    ) -> Result<Answer, DiscordError> {
        let inner = &self.inner;
        let c = &inner.config;
        let key = match &auth {
            Auth::Client => inner.limiter.key(&c.client_id, route),
            Auth::Bearer(t) => inner.limiter.key(t.expose(), route),
        };
        if matches!(auth, Auth::Bearer(_)) && inner.limiter.is_dead(&key) {
            tracing::debug!(route, "token already refused by Discord; not calling");
            return Err(DiscordError::Unauthorized);
        }
        let url = format!("{}{path}", c.api_url);
        let mut waited = Duration::ZERO;
        let mut retried_server_error = false;
        loop {
            let delay = inner.limiter.delay(&key);
            if !delay.is_zero() {
                if waited + delay > c.max_rate_limit_wait {
                    return Err(DiscordError::RateLimited { retry_after: delay });
                }
                tokio::time::sleep(delay).await;
                waited += delay;
            }

            let mut request = inner
                .http
                .request(method.clone(), &url)
                .header(reqwest::header::ACCEPT, "application/json");
            request = match &auth {
                Auth::Client => request.basic_auth(&c.client_id, Some(c.client_secret.expose())),
                Auth::Bearer(t) => request.bearer_auth(t.expose()),
            };
            if let Body::Form(form) = &body {
                request = request.form(form);
            }
            let started = std::time::Instant::now();
            let response = request.send().await.map_err(transport_error)?;
            let status = response.status();
            let headers = response.headers().clone();
            inner.limiter.observe(&key, &headers);
            let bytes = response.bytes().await.map_err(transport_error)?.to_vec();
            // The route names the endpoint without ids, queries or tokens.
            tracing::debug!(
                method = %method,
                route,
                status = status.as_u16(),
                ms = started.elapsed().as_millis() as u64,
                "discord call"
            );
            if let Some(observe) = &inner.observer {
                observe(route, status.as_u16());
            }
            if status == StatusCode::UNAUTHORIZED && matches!(auth, Auth::Bearer(_)) {
                inner.limiter.mark_dead(&key);
            }

            if status == StatusCode::TOO_MANY_REQUESTS {
                let parsed: Option<RateLimitBody> = serde_json::from_slice(&bytes).ok();
                let retry_after = parsed
                    .as_ref()
                    .and_then(|b| b.retry_after)
                    .and_then(seconds)
                    .or_else(|| {
                        headers
                            .get(reqwest::header::RETRY_AFTER)
                            .and_then(|v| v.to_str().ok())
                            .and_then(parse_seconds)
                    })
                    .unwrap_or(Duration::from_secs(1));
                let header_is = |name: &str, value: &[u8]| {
                    headers
                        .get(name)
                        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(value))
                };
                let global = parsed.is_some_and(|b| b.global)
                    || header_is("x-ratelimit-global", b"true")
                    || header_is("x-ratelimit-scope", b"global");
                if global {
                    inner.limiter.pause_all(retry_after);
                } else {
                    inner.limiter.exhaust(&key, retry_after);
                }
                tracing::warn!(
                    route,
                    global,
                    retry_after_ms = retry_after.as_millis() as u64,
                    "rate limited by Discord"
                );
                if waited + retry_after > c.max_rate_limit_wait {
                    return Err(DiscordError::RateLimited { retry_after });
                }
                continue;
            }
            if status.is_server_error() {
                if !retried_server_error {
                    retried_server_error = true;
                    tokio::time::sleep(SERVER_ERROR_BACKOFF).await;
                    continue;
                }
                return Err(DiscordError::Server {
                    status: status.as_u16(),
                });
            }
            return Ok(Answer { status, bytes });
        }
    }
}

fn transport_error(e: reqwest::Error) -> DiscordError {
    if e.is_timeout() {
        DiscordError::Timeout
    } else {
        // Without the URL: it is harmless today, but errors get logged.
        DiscordError::Connect(e.without_url().to_string())
    }
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DiscordError> {
    serde_json::from_slice(bytes).map_err(|e| DiscordError::Decode(e.to_string()))
}

fn api_json<T: DeserializeOwned>(answer: &Answer) -> Result<T, DiscordError> {
    if answer.status == StatusCode::UNAUTHORIZED {
        return Err(DiscordError::Unauthorized);
    }
    if !answer.status.is_success() {
        let body: ApiErrorBody = serde_json::from_slice(&answer.bytes).unwrap_or(ApiErrorBody {
            message: String::from_utf8_lossy(&answer.bytes)
                .chars()
                .take(200)
                .collect(),
            code: 0,
        });
        return Err(DiscordError::Api {
            status: answer.status.as_u16(),
            code: body.code,
            message: body.message,
        });
    }
    decode(&answer.bytes)
}

fn oauth_error(answer: &Answer) -> DiscordError {
    match serde_json::from_slice::<OAuthErrorBody>(&answer.bytes) {
        Ok(b) if b.error == "invalid_grant" => DiscordError::InvalidGrant {
            description: b.error_description,
        },
        Ok(b) => DiscordError::OAuth {
            error: b.error,
            description: b.error_description,
        },
        Err(_) if answer.status == StatusCode::UNAUTHORIZED => DiscordError::Unauthorized,
        Err(_) => DiscordError::Api {
            status: answer.status.as_u16(),
            code: 0,
            message: String::from_utf8_lossy(&answer.bytes)
                .chars()
                .take(200)
                .collect(),
        },
    }
}
