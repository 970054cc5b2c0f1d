//! Discord's OAuth2 endpoints: the authorize URL, the code exchange (with
//! PKCE), refresh and revocation. The `oauth2` crate builds the authorize URL
//! and the token requests and reads their answers; the requests travel over
//! the client's own call path ([`Transport`]), so rate limits, timeouts,
//! metrics and the User-Agent are those of every other call.

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;

use oauth2::basic::{
    BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse,
};
use oauth2::{
    AccessToken, AsyncHttpClient, AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret,
    CsrfToken, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, PkceCodeVerifier,
    RedirectUrl, RefreshToken, RequestTokenError, Scope, StandardRevocableToken, TokenUrl, helpers,
};
use reqwest::header::{self, HeaderMap, HeaderValue};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use settings::Secret;

use crate::client::{Answer, Credentials, Outgoing};
use crate::{DiscordClient, DiscordConfig, DiscordError, OAuthToken};

const TOKEN_ROUTE: &str = "POST /oauth2/token";
const REVOKE_ROUTE: &str = "POST /oauth2/token/revoke";

/// oauth2's client for Discord: the authorize page and the token endpoint.
/// Revocation is not set: oauth2 refuses a revocation URL that is not
/// https (RFC 7009 §2), and the stand-in every test and the demo talk to is
/// plain http on 127.0.0.1 — [`DiscordClient::revoke_token`] sends it itself.
pub(crate) type OAuthClient = oauth2::Client<
    BasicErrorResponse,
    TokenAnswer,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointSet,
>;

type TokenResult = Result<TokenAnswer, RequestTokenError<DiscordError, BasicErrorResponse>>;

pub(crate) fn client(config: &DiscordConfig) -> Result<OAuthClient, DiscordError> {
    let bad_url = |setting: &'static str| {
        move |e: url::ParseError| DiscordError::Config {
            reason: format!("{setting} is not a URL"),
            source: Some(Box::new(e)),
        }
    };
    let auth_url = AuthUrl::new(config.authorize_url.clone()).map_err(bad_url("authorize_url"))?;
    let token_url =
        TokenUrl::new(format!("{}/oauth2/token", config.api_url)).map_err(bad_url("api_url"))?;
    Ok(oauth2::Client::new(ClientId::new(config.client_id.clone()))
        .set_client_secret(ClientSecret::new(config.client_secret.expose().to_owned()))
        .set_auth_type(AuthType::BasicAuth)
        .set_auth_uri(auth_url)
        .set_token_uri(token_url))
}

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

impl DiscordClient {
    /// Where to send the browser to log in: `response_type=code`, the client
    /// id, redirect URI, scopes, state, and PKCE and `prompt` when given.
    pub fn authorize_url(&self, p: &AuthorizeRequest<'_>) -> String {
        let mut request = self
            .inner
            .oauth
            .authorize_url(|| CsrfToken::new(p.state.to_owned()))
            .add_scopes(p.scopes.iter().map(|s| Scope::new((*s).to_owned())));
        request = match RedirectUrl::new(p.redirect_uri.to_owned()) {
            Ok(url) => request.set_redirect_uri(Cow::Owned(url)),
            // Not an absolute URL, so none Discord has registered: it goes
            // as given, and Discord's page refuses it, as it always did.
            Err(_) => request.add_extra_param("redirect_uri", p.redirect_uri),
        };
        if let Some(challenge) = p.code_challenge {
            // oauth2 derives a PkceCodeChallenge only from the verifier, which
            // the caller keeps to itself: the challenge goes as RFC 7636's two
            // parameters.
            request = request
                .add_extra_param("code_challenge", challenge)
                .add_extra_param("code_challenge_method", "S256");
        }
        if let Some(prompt) = p.prompt {
            request = request.add_extra_param("prompt", prompt);
        }
        request.url().0.into()
    }

    /// "Add the bot to this guild", pre-selected and locked to it.
    pub fn bot_invite_url(&self, guild_id: crate::GuildId, permissions: u64) -> String {
        let c = &self.inner.config;
        let q = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &c.client_id)
            .append_pair("scope", "bot applications.commands")
            .append_pair("permissions", &permissions.to_string())
            .append_pair("guild_id", &guild_id.to_string())
            .append_pair("disable_guild_select", "true")
            .append_pair("integration_type", "0")
            .finish();
        format!("{}?{q}", c.authorize_url)
    }

    /// Exchanges an authorization code (with its PKCE verifier when the
    /// authorize URL carried a challenge) for tokens.
    #[tracing::instrument(skip_all, fields(pkce = code_verifier.is_some()))]
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
        code_verifier: Option<&str>,
    ) -> Result<OAuthToken, DiscordError> {
        let mut request = self
            .inner
            .oauth
            .exchange_code(AuthorizationCode::new(code.to_owned()));
        request = match RedirectUrl::new(redirect_uri.to_owned()) {
            Ok(url) => request.set_redirect_uri(Cow::Owned(url)),
            // As in `authorize_url`: Discord refuses it with `invalid_grant`.
            Err(_) => request.add_extra_param("redirect_uri", redirect_uri),
        };
        if let Some(verifier) = code_verifier {
            request = request.set_pkce_verifier(PkceCodeVerifier::new(verifier.to_owned()));
        }
        let transport = Transport::new(self, TOKEN_ROUTE);
        let answer = request.request_async(&transport).await;
        transport.token(answer)
    }

    /// Trades a refresh token for a new pair. Discord's refresh tokens are
    /// single-use: store the new pair before anything else.
    #[tracing::instrument(skip_all)]
    pub async fn refresh_token(&self, refresh_token: &Secret) -> Result<OAuthToken, DiscordError> {
        let refresh_token = RefreshToken::new(refresh_token.expose().to_owned());
        let transport = Transport::new(self, TOKEN_ROUTE);
        let answer = self
            .inner
            .oauth
            .exchange_refresh_token(&refresh_token)
            .request_async(&transport)
            .await;
        transport.token(answer)
    }

    /// Revokes the whole authorization (access and refresh token alike).
    pub async fn revoke_token(&self, token: &Secret) -> Result<(), DiscordError> {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token.expose())
            .finish();
        let answer = self
            .call(&Outgoing {
                method: Method::POST,
                url: format!("{}/oauth2/token/revoke", self.inner.config.api_url),
                route: REVOKE_ROUTE,
                credentials: Credentials::AppBasic,
                headers: HeaderMap::from_iter([(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/x-www-form-urlencoded"),
                )]),
                body: Some(body.into_bytes()),
            })
            .await?;
        if answer.status.is_success() {
            return Ok(());
        }
        Err(
            match serde_json::from_slice::<BasicErrorResponse>(&answer.bytes) {
                Ok(refusal) => refused(refusal),
                Err(_) => not_oauth(answer.status, &answer.bytes),
            },
        )
    }
}

/// oauth2's HTTP client for one OAuth2 call: it sends what oauth2 built
/// through [`DiscordClient::call`], and keeps the answer's status, which
/// oauth2's errors leave out (a 401 without an OAuth body means the token was
/// refused, a 400 something else).
struct Transport {
    client: DiscordClient,
    route: &'static str,
    status: Mutex<Option<StatusCode>>,
}

impl<'c> AsyncHttpClient<'c> for Transport {
    type Error = DiscordError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, DiscordError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let mut headers = parts.headers;
            // The client's Basic credentials: kept out of any Debug print.
            if let Some(credentials) = headers.get_mut(header::AUTHORIZATION) {
                credentials.set_sensitive(true);
            }
            let answer = self
                .client
                .call(&Outgoing {
                    method: parts.method,
                    url: parts.uri.to_string(),
                    route: self.route,
                    credentials: Credentials::AppInRequest,
                    headers,
                    body: Some(body),
                })
                .await?;
            *self.status.lock().unwrap_or_else(|p| p.into_inner()) = Some(answer.status);
            Ok(http_response(answer))
        })
    }
}

impl Transport {
    fn new(client: &DiscordClient, route: &'static str) -> Self {
        Transport {
            // Never sent twice: an authorization code and a refresh token are
            // single-use, and a 5xx does not prove Discord did not spend
            // one. A second try could turn a login into `invalid_grant`, or
            // a refresh into a lost grant; the caller's own retry (the user
            // signing in again, the next page's refresh) is the safe one.
            client: client.without_server_retry(),
            route,
            status: Mutex::new(None),
        }
    }

    /// The tokens, or the error the answer means.
    fn token(&self, answer: TokenResult) -> Result<OAuthToken, DiscordError> {
        answer.map(TokenAnswer::received).map_err(|e| self.error(e))
    }

    /// oauth2's verdict on an answer as the [`DiscordError`] it means.
    fn error(&self, e: RequestTokenError<DiscordError, BasicErrorResponse>) -> DiscordError {
        let status = *self.status.lock().unwrap_or_else(|p| p.into_inner());
        match (e, status) {
            (RequestTokenError::Request(e), _) => e,
            (RequestTokenError::ServerResponse(refusal), _) => refused(refusal),
            (RequestTokenError::Parse(_, body), Some(status)) if !status.is_success() => {
                not_oauth(status, &body)
            }
            (RequestTokenError::Parse(e, _), _) => DiscordError::Decode(e.into_inner()),
            // An error status with an empty body.
            (RequestTokenError::Other(_), Some(status)) if !status.is_success() => {
                not_oauth(status, &[])
            }
            // A success that is not JSON (an empty body, another type).
            (RequestTokenError::Other(message), Some(_)) => {
                DiscordError::Decode(serde::de::Error::custom(message))
            }
            // oauth2 could not build the request from the configured URLs.
            (RequestTokenError::Other(message), None) => DiscordError::Config {
                reason: message,
                source: None,
            },
        }
    }
}

fn http_response(answer: Answer) -> HttpResponse {
    let mut response = HttpResponse::new(answer.bytes);
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    response
}

/// The token endpoint's `{"error", "error_description"}`.
fn refused(refusal: BasicErrorResponse) -> DiscordError {
    let description = refusal.error_description().cloned().unwrap_or_default();
    match refusal.error() {
        BasicErrorResponseType::InvalidGrant => DiscordError::InvalidGrant { description },
        other => DiscordError::OAuth {
            error: other.as_ref().to_owned(),
            description,
        },
    }
}

/// An error status without an OAuth error body.
fn not_oauth(status: StatusCode, body: &[u8]) -> DiscordError {
    if status == StatusCode::UNAUTHORIZED {
        return DiscordError::Unauthorized;
    }
    DiscordError::Api {
        status: status.as_u16(),
        code: 0,
        message: String::from_utf8_lossy(body).chars().take(200).collect(),
    }
}

/// Discord's token answer as sent: oauth2's `StandardTokenResponse` would
/// lowercase `token_type` ("Bearer") and refuse an answer without one.
#[derive(Debug, Deserialize, Serialize)]
pub(crate) struct TokenAnswer {
    access_token: AccessToken,
    #[serde(default)]
    token_type: TokenTypeName,
    #[serde(default)]
    expires_in: Option<u64>,
    #[serde(default)]
    refresh_token: Option<RefreshToken>,
    #[serde(
        rename = "scope",
        default,
        deserialize_with = "helpers::deserialize_space_delimited_vec",
        serialize_with = "helpers::serialize_space_delimited_vec"
    )]
    scopes: Option<Vec<Scope>>,
}

/// `token_type`, in Discord's own spelling.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(transparent)]
pub(crate) struct TokenTypeName(String);

impl oauth2::TokenType for TokenTypeName {}

impl oauth2::TokenResponse for TokenAnswer {
    type TokenType = TokenTypeName;

    fn access_token(&self) -> &AccessToken {
        &self.access_token
    }
    fn token_type(&self) -> &TokenTypeName {
        &self.token_type
    }
    fn expires_in(&self) -> Option<std::time::Duration> {
        self.expires_in.map(std::time::Duration::from_secs)
    }
    fn refresh_token(&self) -> Option<&RefreshToken> {
        self.refresh_token.as_ref()
    }
    fn scopes(&self) -> Option<&Vec<Scope>> {
        self.scopes.as_ref()
    }
}

impl TokenAnswer {
    /// The tokens, with `expires_in` turned into a time now, on receipt.
    fn received(self) -> OAuthToken {
        let now = chrono::Utc::now().timestamp();
        let scope = self
            .scopes
            .unwrap_or_default()
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        OAuthToken {
            access_token: Secret::new(self.access_token.into_secret()),
            refresh_token: self.refresh_token.map(|t| Secret::new(t.into_secret())),
            expires_at: self.expires_in.map(|s| now.saturating_add_unsigned(s)),
            scope,
            token_type: self.token_type.0,
        }
    }
}
