use bitflags::bitflags;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

bitflags! {
    /// Discord permission bits. Discord sends them as a decimal *string*
    /// (a u64 does not fit a JSON number safely); unknown bits are kept.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Permissions: u64 {
        const CREATE_INSTANT_INVITE = 1 << 0;
        const KICK_MEMBERS = 1 << 1;
        const BAN_MEMBERS = 1 << 2;
        const ADMINISTRATOR = 1 << 3;
        const MANAGE_CHANNELS = 1 << 4;
        const MANAGE_GUILD = 1 << 5;
        const ADD_REACTIONS = 1 << 6;
        const VIEW_AUDIT_LOG = 1 << 7;
        const PRIORITY_SPEAKER = 1 << 8;
        const STREAM = 1 << 9;
        const VIEW_CHANNEL = 1 << 10;
        const SEND_MESSAGES = 1 << 11;
        const SEND_TTS_MESSAGES = 1 << 12;
        const MANAGE_MESSAGES = 1 << 13;
        const EMBED_LINKS = 1 << 14;
        const ATTACH_FILES = 1 << 15;
        const READ_MESSAGE_HISTORY = 1 << 16;
        const MENTION_EVERYONE = 1 << 17;
        const USE_EXTERNAL_EMOJIS = 1 << 18;
        const VIEW_GUILD_INSIGHTS = 1 << 19;
        const CONNECT = 1 << 20;
        const SPEAK = 1 << 21;
        const MUTE_MEMBERS = 1 << 22;
        const DEAFEN_MEMBERS = 1 << 23;
        const MOVE_MEMBERS = 1 << 24;
        const USE_VAD = 1 << 25;
        const CHANGE_NICKNAME = 1 << 26;
        const MANAGE_NICKNAMES = 1 << 27;
        const MANAGE_ROLES = 1 << 28;
        const MANAGE_WEBHOOKS = 1 << 29;
        const MANAGE_GUILD_EXPRESSIONS = 1 << 30;
        const USE_APPLICATION_COMMANDS = 1 << 31;
        const REQUEST_TO_SPEAK = 1 << 32;
        const MANAGE_EVENTS = 1 << 33;
        const MANAGE_THREADS = 1 << 34;
        const CREATE_PUBLIC_THREADS = 1 << 35;
        const CREATE_PRIVATE_THREADS = 1 << 36;
        const USE_EXTERNAL_STICKERS = 1 << 37;
        const SEND_MESSAGES_IN_THREADS = 1 << 38;
        const USE_EMBEDDED_ACTIVITIES = 1 << 39;
        const MODERATE_MEMBERS = 1 << 40;
        const VIEW_CREATOR_MONETIZATION_ANALYTICS = 1 << 41;
        const USE_SOUNDBOARD = 1 << 42;
        const CREATE_GUILD_EXPRESSIONS = 1 << 43;
        const CREATE_EVENTS = 1 << 44;
        const USE_EXTERNAL_SOUNDS = 1 << 45;
        const SEND_VOICE_MESSAGES = 1 << 46;
        const SEND_POLLS = 1 << 49;
        const USE_EXTERNAL_APPS = 1 << 50;
    }
}

const NAMES: &[(Permissions, &str)] = &[
    (Permissions::ADMINISTRATOR, "Administrator"),
    (Permissions::MANAGE_GUILD, "Manage Server"),
    (Permissions::MANAGE_ROLES, "Manage Roles"),
    (Permissions::MANAGE_CHANNELS, "Manage Channels"),
    (Permissions::KICK_MEMBERS, "Kick Members"),
    (Permissions::BAN_MEMBERS, "Ban Members"),
    (Permissions::MODERATE_MEMBERS, "Timeout Members"),
    (Permissions::MANAGE_MESSAGES, "Manage Messages"),
    (Permissions::MANAGE_WEBHOOKS, "Manage Webhooks"),
    (Permissions::MANAGE_NICKNAMES, "Manage Nicknames"),
    (Permissions::MANAGE_GUILD_EXPRESSIONS, "Manage Expressions"),
    (Permissions::MANAGE_EVENTS, "Manage Events"),
    (Permissions::MANAGE_THREADS, "Manage Threads"),
    (Permissions::VIEW_AUDIT_LOG, "View Audit Log"),
    (Permissions::VIEW_GUILD_INSIGHTS, "View Server Insights"),
    (Permissions::MENTION_EVERYONE, "Mention Everyone"),
    (Permissions::CREATE_INSTANT_INVITE, "Create Invite"),
    (Permissions::VIEW_CHANNEL, "View Channels"),
    (Permissions::SEND_MESSAGES, "Send Messages"),
    (Permissions::EMBED_LINKS, "Embed Links"),
    (Permissions::ATTACH_FILES, "Attach Files"),
    (Permissions::ADD_REACTIONS, "Add Reactions"),
    (Permissions::READ_MESSAGE_HISTORY, "Read Message History"),
    (
        Permissions::USE_APPLICATION_COMMANDS,
        "Use Application Commands",
    ),
    (Permissions::CONNECT, "Connect"),
    (Permissions::SPEAK, "Speak"),
    (Permissions::CHANGE_NICKNAME, "Change Nickname"),
];

impl Permissions {
    /// Human names of the most relevant permissions held, most powerful first.
    pub fn names(&self) -> Vec<&'static str> {
        NAMES
            .iter()
            .filter(|(p, _)| self.contains(*p))
            .map(|(_, n)| *n)
            .collect()
    }
}

/// Whether a member may manage a guild: the owner, or anyone with
/// Administrator *or* Manage Server (`intersects`, not `contains`).
pub fn can_manage(owner: bool, permissions: Permissions) -> bool {
    owner || permissions.intersects(Permissions::ADMINISTRATOR | Permissions::MANAGE_GUILD)
}

impl Serialize for Permissions {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.bits().to_string())
    }
}

impl<'de> Deserialize<'de> for Permissions {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Str(String),
            Num(u64),
        }
        let bits = match Raw::deserialize(d)? {
            Raw::Str(s) => s.trim().parse::<u64>().map_err(serde::de::Error::custom)?,
            Raw::Num(n) => n,
        };
        Ok(Permissions::from_bits_retain(bits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_discords_decimal_string() {
        let p: Permissions = serde_json::from_str("\"2251799813685247\"").unwrap();
        assert_eq!(p.bits(), 2251799813685247);
        assert!(p.contains(Permissions::ADMINISTRATOR | Permissions::MANAGE_GUILD));
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"2251799813685247\"");
        let odd: Permissions = serde_json::from_str("\"36953089\"").unwrap();
        assert!(!can_manage(false, odd));
        assert!(serde_json::from_str::<Permissions>("\"lots\"").is_err());
    }

    #[test]
    fn can_manage_uses_intersects() {
        assert!(can_manage(false, Permissions::ADMINISTRATOR));
        assert!(can_manage(false, Permissions::MANAGE_GUILD));
        assert!(can_manage(true, Permissions::empty()));
        assert!(!can_manage(
            false,
            Permissions::KICK_MEMBERS | Permissions::BAN_MEMBERS
        ));
        assert_eq!(Permissions::MANAGE_GUILD.names(), ["Manage Server"]);
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig {
                cases: 256,
                failure_persistence: None,
                ..ProptestConfig::default()
            })]

            /// Discord's decimal string, a JSON number and our own output
            /// all read back as the same bits, unknown bits kept.
            #[test]
            fn any_bits_round_trip(bits in any::<u64>()) {
                let p = Permissions::from_bits_retain(bits);
                let json = serde_json::to_string(&p).unwrap();
                prop_assert_eq!(&json, &format!("\"{bits}\""));
                let back: Permissions = serde_json::from_str(&json).unwrap();
                prop_assert_eq!(back.bits(), bits);
                let number: Permissions = serde_json::from_str(&bits.to_string()).unwrap();
                prop_assert_eq!(number.bits(), bits);
                prop_assert_eq!(
                    can_manage(false, p),
                    bits & (Permissions::ADMINISTRATOR | Permissions::MANAGE_GUILD).bits() != 0
                );
                prop_assert!(can_manage(true, p));
            }

            /// Anything else is an error, never a panic or a guess.
            #[test]
            fn garbage_is_refused(raw in any::<String>()) {
                let quoted = serde_json::to_string(&raw).unwrap();
                match serde_json::from_str::<Permissions>(&quoted) {
                    Ok(p) => prop_assert_eq!(Some(p.bits()), raw.trim().parse::<u64>().ok()),
                    Err(_) => prop_assert!(raw.trim().parse::<u64>().is_err()),
                }
            }
        }
    }
}
