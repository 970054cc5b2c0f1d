//! Slash commands: thin poise adapters over plain functions.

pub mod dashboard;
pub mod tag;
