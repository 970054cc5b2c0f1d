//! `GET /discord/guilds`: the servers overview (one server's page is in
//! `guild_admin_pages`).

use axum::extract::State;
use axum::response::{Html, IntoResponse, Response};
use guilds::GuildView;
use i18n::Lang;
use serde::Serialize;

use crate::AppState;
use crate::error::PortalError;
use crate::language::RequestLanguage;
use crate::page_cache::Kind;
use crate::pages::{HeaderUser, initials, render};
use crate::session::current_user::CurrentUser;

#[derive(Serialize)]
struct GuildCard<'a> {
    #[serde(flatten)]
    guild: &'a GuildView,
    initials: String,
    /// In the page's language.
    permission_names: Vec<String>,
}

impl<'a> GuildCard<'a> {
    fn new(guild: &'a GuildView, lang: Lang) -> Self {
        GuildCard {
            initials: initials(&guild.name),
            permission_names: guild
                .permission_names()
                .into_iter()
                .map(|name| i18n::text(lang, &i18n::permission_key(name)))
                .collect(),
            guild,
        }
    }
}

pub async fn overview(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
    language: RequestLanguage,
) -> Result<Response, PortalError> {
    let listing = app.listing.for_user(user.id).await?;
    let header = HeaderUser::from_user(&user, &app.config.discord.cdn_url);
    let lang = language.resolve();
    let body = app.page_cache.get_or_render(
        user.id,
        Kind::GuildsPage(lang),
        &listing,
        Some(&header),
        || {
            let cards: Vec<GuildCard> = listing
                .guilds
                .iter()
                .map(|g| GuildCard::new(g, lang))
                .collect();
            render(
                &app,
                "guilds.html",
                &language,
                minijinja::context! {
                    user => &header,
                    guilds => cards,
                    stale => listing.stale,
                },
            )
            .map(|html| html.0)
        },
    )?;
    Ok(Html(body).into_response())
}
