//! `GET /discord/guilds` and `GET /discord/guilds/{guild_id}`.

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use guilds::GuildView;
use serde::Serialize;

use crate::AppState;
use crate::error::PortalError;
use crate::pages::{HeaderUser, initials, render};
use crate::render_cache::Kind;
use crate::session::current_user::CurrentUser;

#[derive(Serialize)]
struct GuildCard<'a> {
    #[serde(flatten)]
    guild: &'a GuildView,
    initials: String,
    permission_names: Vec<&'static str>,
}

impl<'a> GuildCard<'a> {
    fn new(guild: &'a GuildView) -> Self {
        GuildCard {
            initials: initials(&guild.name),
            permission_names: guild.permission_names(),
            guild,
        }
    }
}

pub async fn overview(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, PortalError> {
    let listing = state.listing.for_user(user.id).await?;
    let header = HeaderUser::from_user(&user, &state.config.discord_cdn_url);
    let body =
        state
            .renders
            .get_or_render(user.id, Kind::GuildsPage, &listing, Some(&header), || {
                let cards: Vec<GuildCard> = listing.guilds.iter().map(GuildCard::new).collect();
                render(
                    &state,
                    "guilds.html",
                    minijinja::context! {
                        user => &header,
                        guilds => cards,
                        stale => listing.stale,
                        demo => state.config.demo,
                    },
                )
                .map(|html| html.0)
            })?;
    Ok(Html(body).into_response())
}

pub async fn one_guild(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(guild_id): Path<String>,
) -> Result<Response, PortalError> {
    if guild_id.is_empty() || guild_id.len() > 20 || !guild_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PortalError::NotFound);
    }
    let (guild, stale) = state
        .listing
        .guild(
            user.id,
            guild_id.parse().map_err(|_| PortalError::NotFound)?,
        )
        .await?
        .ok_or(PortalError::NotFound)?;
    let html = render(
        &state,
        "guild.html",
        minijinja::context! {
            user => HeaderUser::from_user(&user, &state.config.discord_cdn_url),
            guild => GuildCard::new(&guild),
            stale,
            demo => state.config.demo,
        },
    )?;
    Ok(html.into_response())
}
