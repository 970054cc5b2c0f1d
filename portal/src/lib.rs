//! The Guildhall portal: Discord login, the guild overview, and the JSON API.
//!
//! `main.rs` only parses the command line; everything else is here so that the
//! integration tests start the very same application on port 0.

pub mod app;
pub mod config;
pub mod demo;
pub mod error;
pub mod logging;
pub mod login;
pub mod metrics;
pub mod next_path;
pub mod oauth_state;
pub mod pages;
pub mod render_cache;
pub mod routes;
pub mod security_headers;
pub mod session;

pub use app::{AppState, RunningPortal, start};
pub use config::PortalConfig;
