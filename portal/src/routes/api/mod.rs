//! The JSON API under `/api`, shaped like fastapi-users' routers.

pub mod auth;
pub mod guild_admin;
pub mod guilds;
pub mod openapi;
pub mod users;
