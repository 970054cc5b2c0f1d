//! Typed configuration support shared by the portal and the bot.
//!
//! Each binary owns one config struct; this crate gives it the pieces every
//! such struct needs: reading variables (from the environment, after `.env`),
//! parsing them with an error that names the variable, and [`Secret`], which
//! keeps signing keys and tokens out of logs and `Debug` output.

mod env;
mod secret;

pub use env::{Env, EnvError};
pub use secret::Secret;
