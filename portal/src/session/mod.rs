//! Sessions: the fastapi-users-compatible JWT, its cookie, the extractors
//! that turn a request into the signed-in user, ending sessions early, and
//! the same-origin check on the routes that do, and the form token every
//! form posts back.

pub mod cookies;
pub mod current_user;
pub mod form_token;
pub mod revocation;
pub mod same_origin;
pub mod token;
pub mod user_cache;
