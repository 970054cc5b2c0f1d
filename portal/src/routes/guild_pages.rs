//! `GET /discord/guilds`: the servers overview (one server's page is in
//! `guild_admin_pages`).

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use guilds::GuildView;
use serde::Serialize;

use crate::AppState;
use crate::error::PortalError;
use crate::page_cache::Kind;
use crate::pages::{HeaderUser, initials, render};
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
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, PortalError> {
    let listing = app.listing.for_user(user.id).await?;
    let header = HeaderUser::from_user(&user, &app.config.discord.cdn_url);
    let body =
        app.page_cache
            .get_or_render(user.id, Kind::GuildsPage, &listing, Some(&header), || {
                let cards: Vec<GuildCard> = listing.guilds.iter().map(GuildCard::new).collect();
                render(
                    &app,
                    "guilds.html",
                    minijinja::context! {
                        user => &header,
                        guilds => cards,
                        stale => listing.stale,
                        demo => app.config.demo,
                    },
                )
                .map(|html| html.0)
            })?;
    Ok(Html(body).into_response())
}
