//! Who exists in the stand-in Discord: the application, users and their guilds.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixtureGuild {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub icon: Option<String>,
    #[serde(default)]
    pub owner: bool,
    /// Permission bits, answered as a decimal string like Discord does.
    #[serde(default)]
    pub permissions: u64,
    #[serde(default)]
    pub features: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FixtureUser {
    pub id: String,
    pub username: String,
    #[serde(default)]
    pub global_name: Option<String>,
    #[serde(default)]
    pub avatar: Option<String>,
    #[serde(default = "zero")]
    pub discriminator: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub verified: bool,
    #[serde(default)]
    pub guilds: Vec<FixtureGuild>,
}

fn zero() -> String {
    "0".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fixture {
    pub client_id: String,
    pub client_secret: String,
    #[serde(default = "app_name")]
    pub application_name: String,
    /// Registered redirect URIs; empty accepts any.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Tests: the authorize page approves at once for `default_user`.
    #[serde(default)]
    pub auto_approve: bool,
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

    pub fn with_user(mut self, user: FixtureUser) -> Self {
        self.users.push(user);
        self
    }

    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// A user "signed in" on the consent page.
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
            guilds,
        });
        f
    }
}
