use axum::Json;
use axum::extract::State;
use guilds::GuildView;
use serde::Serialize;

use crate::AppState;
use crate::error::PortalError;
use crate::session::current_user::CurrentUser;

#[derive(Serialize)]
pub struct GuildList {
    pub guilds: Vec<GuildView>,
    /// True when Discord could not be reached and this is the last known list.
    pub stale: bool,
}

pub async fn list(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
) -> Result<Json<GuildList>, PortalError> {
    let listing = state.listing.for_user(user.id).await?;
    Ok(Json(GuildList {
        guilds: listing.guilds,
        stale: listing.stale,
    }))
}
