//! The Guildhall portal: Discord login, the guild overview, and the JSON API.
//!
//! `main.rs` only parses the command line; everything else is here so that the
//! integration tests start the very same application on port 0.

pub mod adopt;
pub mod app;
pub mod client_addr;
pub mod config;
pub mod demo;
pub mod error;
pub mod guild_admin;
pub mod language;
pub mod login_flow;
pub mod login_limit;
pub mod metrics;
pub mod middleware;
pub mod next_path;
pub mod oauth_error;
pub mod oauth_state;
pub mod page_cache;
pub mod pages;
pub mod routes;
pub mod session;
pub mod shutdown;
pub mod signing_keys;
pub mod signing_secrets;
pub mod state;
pub mod tokens_at_rest;

pub use app::{RunningPortal, start};
pub use config::PortalConfig;
pub use state::AppState;
