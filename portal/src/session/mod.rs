//! Sessions: the fastapi-users-compatible JWT, its cookie, and the extractors
//! that turn a request into the signed-in user.

pub mod cookies;
pub mod current_user;
pub mod token;
pub mod user_cache;
