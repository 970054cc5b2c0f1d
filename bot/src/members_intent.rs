//! Whether the bot asks for the privileged GUILD_MEMBERS intent (needed for
//! welcome messages). Identifying with it while the application has not
//! enabled it closes the gateway with 4014, so by default the bot asks
//! Discord for the application's flags at start-up; `BOT_MEMBERS_INTENT`
//! can force the choice.

use serenity::all::Http;

/// Application flag: the Server Members Intent, verified application.
pub const GATEWAY_GUILD_MEMBERS: u64 = 1 << 14;
/// Application flag: the same for an unverified one (under 100 servers).
pub const GATEWAY_GUILD_MEMBERS_LIMITED: u64 = 1 << 15;

/// `BOT_MEMBERS_INTENT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MembersIntent {
    /// From the application's flags.
    #[default]
    Auto,
    On,
    Off,
}

impl std::str::FromStr for MembersIntent {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(MembersIntent::Auto),
            "on" | "true" | "1" => Ok(MembersIntent::On),
            "off" | "false" | "0" => Ok(MembersIntent::Off),
            _ => Err(()),
        }
    }
}

/// Whether the application's flags enable the Server Members Intent.
pub fn granted_by(flags: u64) -> bool {
    flags & (GATEWAY_GUILD_MEMBERS | GATEWAY_GUILD_MEMBERS_LIMITED) != 0
}

/// Decides at start-up. When Discord cannot tell (the call failed), the
/// bot goes without: welcome messages pause, nothing else does.
pub async fn decide(setting: MembersIntent, http: &Http) -> bool {
    match setting {
        MembersIntent::On => true,
        MembersIntent::Off => false,
        MembersIntent::Auto => match http.get_current_application_info().await {
            Ok(app) => granted_by(app.flags.map_or(0, |f| f.bits())),
            Err(e) => {
                tracing::warn!(error = %e, "could not read the application's flags; running without the GUILD_MEMBERS intent");
                false
            }
        },
    }
}

/// The gateway closed with 4014: a privileged intent the application has
/// not enabled.
pub fn is_disallowed(e: &serenity::Error) -> bool {
    matches!(
        e,
        serenity::Error::Gateway(serenity::gateway::GatewayError::DisallowedGatewayIntents)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_and_setting() {
        assert!(granted_by(1 << 14));
        assert!(granted_by(1 << 15 | 1 << 23));
        assert!(!granted_by(1 << 13 | 1 << 12));
        assert_eq!("AUTO".parse(), Ok(MembersIntent::Auto));
        assert_eq!("on".parse(), Ok(MembersIntent::On));
        assert_eq!("off".parse(), Ok(MembersIntent::Off));
        assert!("maybe".parse::<MembersIntent>().is_err());
    }
}
