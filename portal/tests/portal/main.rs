//! The portal's integration tests, one binary (linking one per file cost
//! more than running them): the real application on 127.0.0.1:0 against the
//! stand-in Discord and real databases, and the real binary for start-up.

mod common;
mod process;

mod adopt;
mod browser;
mod database_outage;
mod deployment;
mod discord_faults;
mod guild_admin;
mod hardening;
mod language;
mod linking_by_email;
mod login_flow;
mod login_rate_limit;
mod properties;
mod refresh_across_replicas;
mod secret_rotation;
mod sessions_and_pages;
mod sessions_revocation;
mod shutdown;
mod startup;
mod tokens_at_rest;
