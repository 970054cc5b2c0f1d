//! Slash commands: thin poise adapters over plain functions.

pub mod dashboard;
pub mod tag;

use crate::Data;
use crate::error::BotError;

/// Every command the bot registers, named and described from the catalogue.
pub fn all() -> Vec<poise::Command<Data, BotError>> {
    vec![dashboard::dashboard(), tag::tag()]
        .into_iter()
        .map(crate::language::localise)
        .collect()
}
