use axum::Json;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::session::current_user::CurrentUser;

/// fastapi-users' `UserRead` plus Guildhall's profile fields.
#[derive(Debug, Serialize)]
pub struct UserRead<'a> {
    pub id: i32,
    pub email: &'a str,
    pub is_active: bool,
    pub is_superuser: bool,
    pub is_verified: bool,
    pub nickname: Option<&'a str>,
    pub profile_img: Option<&'a str>,
}

pub async fn me(CurrentUser(user): CurrentUser) -> Response {
    Json(UserRead {
        id: user.id,
        email: &user.email,
        is_active: user.is_active,
        is_superuser: user.is_superuser,
        is_verified: user.is_verified,
        nickname: user.nickname.as_deref(),
        profile_img: user.profile_img.as_deref(),
    })
    .into_response()
}
