use axum::Json;
use serde::Serialize;

use crate::session::current_user::CurrentUser;

/// fastapi-users' `UserRead` plus Guildhall's profile fields.
#[derive(Debug, Serialize)]
pub struct UserRead {
    pub id: i32,
    pub email: String,
    pub is_active: bool,
    pub is_superuser: bool,
    pub is_verified: bool,
    pub nickname: Option<String>,
    pub profile_img: Option<String>,
}

pub async fn me(CurrentUser(user): CurrentUser) -> Json<UserRead> {
    Json(UserRead {
        id: user.id,
        email: user.email,
        is_active: user.is_active,
        is_superuser: user.is_superuser,
        is_verified: user.is_verified,
        nickname: user.nickname,
        profile_img: user.profile_img,
    })
}
