//! A guild's id, parsed once where it enters the program (a URL path, a JSON
//! field, a gateway event) so nothing further in needs to check it again.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Discord guild id (a snowflake). Discord sends snowflakes as decimal
/// strings — a u64 does not fit a JavaScript number — and so does this type
/// when serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GuildId(u64);

/// Why a string is not a guild id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a guild id: expected 1 to 20 decimal digits that fit 64 bits")]
pub struct InvalidGuildId;

impl GuildId {
    /// Longest decimal form of a u64.
    pub const MAX_DIGITS: usize = 20;

    /// An id already known to be a snowflake (from Discord or the store).
    pub const fn new(id: u64) -> Self {
        GuildId(id)
    }

    /// The numeric value, as the store and serenity keep it.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl FromStr for GuildId {
    type Err = InvalidGuildId;

    /// Digits only: no sign, no spaces, no `+`, no leading zero, at most 20
    /// of them. `u64`'s own parser accepts `+7` and `007`; each guild has
    /// one spelling, so `/discord/guilds/007` names none.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty()
            || s.len() > Self::MAX_DIGITS
            || !s.bytes().all(|b| b.is_ascii_digit())
            || (s.len() > 1 && s.starts_with('0'))
        {
            return Err(InvalidGuildId);
        }
        s.parse().map(GuildId).map_err(|_| InvalidGuildId)
    }
}

impl fmt::Display for GuildId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<u64> for GuildId {
    fn from(id: u64) -> Self {
        GuildId(id)
    }
}

impl From<GuildId> for u64 {
    fn from(id: GuildId) -> Self {
        id.0
    }
}

impl Serialize for GuildId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for GuildId {
    /// Discord's string form; a bare number is accepted too (some payloads
    /// and older fixtures carry one).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            String(String),
            Num(u64),
        }
        match Raw::deserialize(d)? {
            Raw::String(s) => s.parse().map_err(serde::de::Error::custom),
            Raw::Num(n) => Ok(GuildId(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_snowflakes() {
        assert_eq!(
            "81384788765712384".parse(),
            Ok(GuildId::new(81384788765712384))
        );
        assert_eq!(
            "18446744073709551615".parse::<GuildId>().map(GuildId::get),
            Ok(u64::MAX)
        );
        for bad in [
            "",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1a",
            "18446744073709551616",
            "000000000000000000001",
        ] {
            assert_eq!(bad.parse::<GuildId>(), Err(InvalidGuildId), "{bad:?}");
        }
    }

    #[test]
    fn json_is_a_string() {
        let id = GuildId::new(42);
        assert_eq!(serde_json::to_string(&id).unwrap(), r#""42""#);
        assert_eq!(serde_json::from_str::<GuildId>(r#""42""#).unwrap(), id);
        assert_eq!(serde_json::from_str::<GuildId>("42").unwrap(), id);
        assert!(serde_json::from_str::<GuildId>(r#""4x""#).is_err());
    }
}
