//! HTTP handlers, one module per page or API area. Handlers stay thin: parse,
//! call a service (`login_flow`, the guild listing, the store), render.

pub mod api;
pub mod callback;
pub mod guild_admin_pages;
pub mod guild_pages;
pub mod login;
pub mod logout;
pub mod ops;
pub mod static_files;
