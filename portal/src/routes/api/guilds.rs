use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use guilds::GuildView;
use serde::Serialize;

use crate::AppState;
use crate::error::{IntoInternal, PortalError};
use crate::page_cache::Kind;
use crate::session::current_user::CurrentUser;

#[derive(Serialize)]
pub struct GuildList<'a> {
    pub guilds: &'a [GuildView],
    /// True when Discord could not be reached and this is the last known list.
    pub stale: bool,
}

pub async fn list(
    State(app): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Response, PortalError> {
    let listing = app.listing.for_user(user.id).await?;
    let body = app
        .page_cache
        .get_or_render(user.id, Kind::GuildsJson, &listing, None, || {
            serde_json::to_string(&GuildList {
                guilds: &listing.guilds,
                stale: listing.stale,
            })
            .internal("serializing the guild list")
        })?;
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}
