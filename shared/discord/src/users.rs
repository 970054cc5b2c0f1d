//! The endpoints a user's access token opens: who they are and which guilds
//! they are in.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use settings::Secret;

use crate::client::{Answer, Credentials, Outgoing};
use crate::{DiscordClient, DiscordError, DiscordUser, PartialGuild};

/// Page size for the guild list: Discord's maximum.
const GUILD_PAGE: usize = 200;
/// A user is in at most 200 guilds (bots in more); stop long before a loop could spin.
const MAX_GUILD_PAGES: usize = 50;

#[derive(Deserialize)]
struct ApiErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    code: u64,
}

impl DiscordClient {
    /// `GET /users/@me` with the user's access token.
    pub async fn current_user(&self, access_token: &Secret) -> Result<DiscordUser, DiscordError> {
        let answer = self
            .call(&self.user_get("/users/@me", "GET /users/@me", access_token))
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
                .call(&self.user_get(&path, "GET /users/@me/guilds", access_token))
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

    fn user_get<'a>(
        &self,
        path: &str,
        route: &'static str,
        access_token: &'a Secret,
    ) -> Outgoing<'a> {
        Outgoing {
            method: Method::GET,
            url: format!("{}{path}", self.inner.config.api_url),
            route,
            credentials: Credentials::User(access_token),
            headers: HeaderMap::new(),
            body: None,
        }
    }
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
    serde_json::from_slice(&answer.bytes).map_err(DiscordError::Decode)
}
