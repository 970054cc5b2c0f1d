//! Who exists in the stand-in Discord: the application, users and their guilds.
//! Built in code (`Fixture::new(..).with_user(..)`), taken from
//! [`Fixture::demo`], or loaded from JSON with the same field names.

use serde::{Deserialize, Serialize};

/// A guild as one user sees it in `GET /users/@me/guilds`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixtureGuild {
    /// Snowflake; pages are ordered by its numeric value.
    pub id: String,
    /// Shown as is; may be any Unicode.
    pub name: String,
    /// Icon hash; `a_…` is animated.
    #[serde(default)]
    pub icon: Option<String>,
    /// Whether this user owns the guild.
    #[serde(default)]
    pub owner: bool,
    /// This user's permission bits, answered as a decimal string as Discord does.
    #[serde(default)]
    pub permissions: u64,
    /// Guild feature flags such as `COMMUNITY`.
    #[serde(default)]
    pub features: Vec<String>,
}

impl FixtureGuild {
    /// A guild without icon where the user is a plain member with no permissions.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        FixtureGuild {
            id: id.into(),
            name: name.into(),
            icon: None,
            owner: false,
            permissions: 0,
            features: Vec::new(),
        }
    }

    /// With these permission bits.
    pub fn permissions(mut self, bits: u64) -> Self {
        self.permissions = bits;
        self
    }

    /// Owned by the user.
    pub fn owned(mut self) -> Self {
        self.owner = true;
        self
    }

    /// With this icon hash.
    pub fn icon(mut self, hash: impl Into<String>) -> Self {
        self.icon = Some(hash.into());
        self
    }
}

/// A Discord account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixtureUser {
    /// Snowflake.
    pub id: String,
    /// The unique handle.
    pub username: String,
    /// The display name, if set.
    #[serde(default)]
    pub global_name: Option<String>,
    /// Avatar hash; `a_…` is animated; none means a default avatar.
    #[serde(default)]
    pub avatar: Option<String>,
    /// `"0"` for users on the new username system.
    #[serde(default = "zero")]
    pub discriminator: String,
    /// Sent only with the `email` scope.
    #[serde(default)]
    pub email: Option<String>,
    /// Whether the email is verified (sent only with the `email` scope).
    #[serde(default)]
    pub verified: bool,
    /// The user's Discord client language (`locale`, identify scope).
    #[serde(default = "en_us")]
    pub locale: String,
    /// The guilds this user is in, any order (answered by id).
    #[serde(default)]
    pub guilds: Vec<FixtureGuild>,
}

impl FixtureUser {
    /// A migrated user (discriminator `"0"`) with no avatar, email or guilds.
    pub fn new(id: impl Into<String>, username: impl Into<String>) -> Self {
        FixtureUser {
            id: id.into(),
            username: username.into(),
            global_name: None,
            avatar: None,
            discriminator: zero(),
            email: None,
            verified: false,
            locale: en_us(),
            guilds: Vec::new(),
        }
    }

    /// With a client language, e.g. `ko`.
    pub fn locale(mut self, locale: impl Into<String>) -> Self {
        self.locale = locale.into();
        self
    }

    /// With an email address, verified or not.
    pub fn email(mut self, email: impl Into<String>, verified: bool) -> Self {
        self.email = Some(email.into());
        self.verified = verified;
        self
    }

    /// With a display name.
    pub fn global_name(mut self, name: impl Into<String>) -> Self {
        self.global_name = Some(name.into());
        self
    }

    /// With an avatar hash.
    pub fn avatar(mut self, hash: impl Into<String>) -> Self {
        self.avatar = Some(hash.into());
        self
    }

    /// Member of one more guild.
    pub fn guild(mut self, guild: FixtureGuild) -> Self {
        self.guilds.push(guild);
        self
    }
}

fn zero() -> String {
    "0".into()
}

/// Discord's default client language.
fn en_us() -> String {
    "en-US".into()
}

/// The application registered with the stand-in, and the world it sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fixture {
    /// The application's id; the authorize page refuses any other.
    pub client_id: String,
    /// Checked on the token and revoke endpoints.
    pub client_secret: String,
    /// Shown on the consent page (`<name> wants to access your account`).
    #[serde(default = "app_name")]
    pub application_name: String,
    /// Registered redirect URIs; empty accepts any.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Tests: the authorize page approves at once for `default_user`.
    #[serde(default)]
    pub auto_approve: bool,
    /// Everyone who can sign in.
    #[serde(default)]
    pub users: Vec<FixtureUser>,
    /// The user "signed in to Discord" in the browser; the first user if unset.
    #[serde(default)]
    pub default_user: Option<String>,
    /// Seconds an access token lives (Discord: 604800).
    #[serde(default = "week")]
    pub access_token_lifetime: i64,
}

fn app_name() -> String {
    "Guildhall".into()
}
fn week() -> i64 {
    604_800
}

const ADMINISTRATOR: u64 = 1 << 3;
const MANAGE_GUILD: u64 = 1 << 5;
/// A typical member: view, send, read history, reactions, connect, speak…
const MEMBER: u64 = 36_953_089;

impl Fixture {
    /// An application with no users, not auto-approving, accepting any
    /// redirect URI.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Fixture {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            application_name: app_name(),
            redirect_uris: Vec::new(),
            auto_approve: false,
            users: Vec::new(),
            default_user: None,
            access_token_lifetime: week(),
        }
    }

    /// With one more user (the first one is "signed in" unless
    /// `default_user` says otherwise).
    pub fn with_user(mut self, user: FixtureUser) -> Self {
        self.users.push(user);
        self
    }

    /// With one more registered redirect URI (once any is registered, only
    /// registered ones are accepted).
    pub fn with_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uris.push(uri.into());
        self
    }

    /// The authorize page approves at once, without showing the consent page.
    pub fn auto_approved(mut self) -> Self {
        self.auto_approve = true;
        self
    }

    /// Signed in as this user on the consent page.
    pub fn signed_in_as(mut self, user_id: impl Into<String>) -> Self {
        self.default_user = Some(user_id.into());
        self
    }

    /// Parses a fixture written as JSON (the field names above; most are optional).
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// Reads and parses a JSON fixture file.
    pub fn from_json_file(path: impl AsRef<std::path::Path>) -> std::io::Result<Self> {
        let text = std::fs::read_to_string(path)?;
        Fixture::from_json(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }

    /// The fixture as pretty JSON, e.g. to start a custom one from the demo.
    pub fn to_json(&self) -> String {
        // Plain strings, numbers and vectors: serialising cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Everything but the users.
    pub(crate) fn without_users(&self) -> Fixture {
        Fixture {
            client_id: self.client_id.clone(),
            client_secret: self.client_secret.clone(),
            application_name: self.application_name.clone(),
            redirect_uris: self.redirect_uris.clone(),
            auto_approve: self.auto_approve,
            users: Vec::new(),
            default_user: self.default_user.clone(),
            access_token_lifetime: self.access_token_lifetime,
        }
    }

    /// A user by id.
    pub fn user(&self, id: &str) -> Option<&FixtureUser> {
        self.users.iter().find(|u| u.id == id)
    }

    /// The user "signed in" on the consent page.
    pub fn signed_in_user(&self) -> Option<&FixtureUser> {
        match &self.default_user {
            Some(id) => self.users.iter().find(|u| &u.id == id),
            None => self.users.first(),
        }
    }

    /// The offline demo's world: one admin in a dozen guilds with every kind
    /// of permission, with and without icons (one animated), names in
    /// several scripts.
    pub fn demo() -> Self {
        let guild = |id: &str, name: &str, icon: Option<&str>, owner: bool, permissions: u64| {
            FixtureGuild {
                id: id.into(),
                name: name.into(),
                icon: icon.map(Into::into),
                owner,
                permissions,
                features: if icon.is_some() {
                    vec!["COMMUNITY".into()]
                } else {
                    vec![]
                },
            }
        };
        let guilds = vec![
            guild(
                "1100000000000000101",
                "Guildhall HQ",
                Some("5f4dcc3b5aa765d61d8327deb882cf99"),
                true,
                u64::MAX >> 13,
            ),
            guild(
                "1100000000000000102",
                "Rustaceans Café",
                Some("a_0cc175b9c0f1b6a831c399e269772661"),
                false,
                ADMINISTRATOR | MEMBER,
            ),
            guild(
                "1100000000000000103",
                "Pixel Art Club",
                Some("92eb5ffee6ae2fec3ad71c777531578f"),
                false,
                MANAGE_GUILD | MEMBER,
            ),
            guild(
                "1100000000000000104",
                "Night Owls Raid Team",
                None,
                false,
                MANAGE_GUILD | MEMBER,
            ),
            guild(
                "1100000000000000105",
                "Book Circle",
                Some("4a8a08f09d37b73795649038408b5f33"),
                false,
                MEMBER,
            ),
            guild(
                "1100000000000000106",
                "日本語 Study Group",
                None,
                false,
                MEMBER,
            ),
            guild(
                "1100000000000000107",
                "Open Source Maintainers",
                Some("8277e0910d750195b448797616e091ad"),
                false,
                ADMINISTRATOR,
            ),
            guild("1100000000000000108", "Speedrunning Lounge", None, true, 0),
            guild(
                "1100000000000000109",
                "Музыка и ноты",
                Some("e1671797c52e15f763380b45e841ec32"),
                false,
                MEMBER | (1 << 1),
            ),
            guild(
                "1100000000000000110",
                "Local Hiking Crew",
                None,
                false,
                MEMBER,
            ),
            guild(
                "1100000000000000111",
                "Indie Game Jam",
                Some("a_b026324c6904b2a9cb4b88d6d61c81d1"),
                false,
                MANAGE_GUILD,
            ),
            guild(
                "1100000000000000112",
                "Café des Développeurs",
                Some("26ab0db90d72e28ad0ba1e22ee510510"),
                false,
                MEMBER,
            ),
        ];
        let mut f = Fixture::new("1100000000000000001", "demo-client-secret");
        f.application_name = "Guildhall (demo)".into();
        f.users.push(FixtureUser {
            id: "80351110224678912".into(),
            username: "nelly".into(),
            global_name: Some("Nelly the Admin".into()),
            avatar: Some("8342729096ea3675442027381ff50dfe".into()),
            discriminator: "0".into(),
            email: Some("demo@guildhall.example".into()),
            verified: true,
            locale: en_us(),
            guilds,
        });
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_defaults() {
        let demo = Fixture::demo();
        assert_eq!(Fixture::from_json(&demo.to_json()).unwrap(), demo);
        let small = Fixture::from_json(
            r#"{"client_id":"1","client_secret":"s","users":[{"id":"2","username":"u","guilds":[{"id":"3","name":"g","permissions":8}]}]}"#,
        )
        .unwrap();
        assert_eq!(small.access_token_lifetime, 604_800);
        assert_eq!(small.users[0].discriminator, "0");
        assert_eq!(small.signed_in_user().unwrap().id, "2");
        assert_eq!(small.users[0].guilds[0].permissions, 8);
    }

    #[test]
    fn demo_has_every_kind_of_guild() {
        let guilds = &Fixture::demo().users[0].guilds;
        assert!(guilds.len() >= 12);
        assert!(guilds.iter().any(|g| g.owner));
        assert!(
            guilds
                .iter()
                .any(|g| g.permissions & ADMINISTRATOR != 0 && !g.owner)
        );
        assert!(
            guilds
                .iter()
                .any(|g| g.permissions & (ADMINISTRATOR | MANAGE_GUILD) == MANAGE_GUILD)
        );
        assert!(
            guilds
                .iter()
                .any(|g| g.permissions & (ADMINISTRATOR | MANAGE_GUILD) == 0 && !g.owner)
        );
        assert!(
            guilds
                .iter()
                .any(|g| g.icon.as_deref().is_some_and(|i| i.starts_with("a_")))
        );
        assert!(guilds.iter().any(|g| g.icon.is_none()));
        assert!(guilds.iter().any(|g| !g.name.is_ascii()));
    }
}
