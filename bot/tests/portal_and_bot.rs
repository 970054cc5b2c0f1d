//! The path a server's manager really takes, end to end: signed in to the
//! real portal through Discord's login, they save tags and settings with the
//! portal's JSON API and read the server's page, while the real bot —
//! connected to the gateway and sharing the portal's database — answers
//! `/tag`, speaks the chosen language and welcomes newcomers. Discord is
//! played by the two stand-ins (OAuth2/REST for the portal, the gateway and
//! its REST API for the bot), both knowing the same guild. On SQLite,
//! PostgreSQL and MariaDB.

use std::time::Duration;

use bot::RunningBot;
use bot::config::BotConfig;
use discord_standin::gateway::{
    BotChannel, BotFixture, BotGuild, BotStandIn, GATEWAY_GUILD_MEMBERS, MessageFailure,
    SlashCommand,
};
use discord_standin::{Fixture, FixtureGuild, FixtureUser, RecordedRequest, StandIn};
use portal::RunningPortal;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use settings::Env;
use store::Backend;
use store::testing::TestDatabase;

/// The guild the manager owns (the portal's stand-in) and the bot is in
/// (the gateway stand-in).
const GUILD: u64 = 1_100_000_000_000_000_701;
const GUILD_NAME: &str = "Tea House";
/// Members before anyone joins in the test.
const MEMBERS: u64 = 41;
/// Where the bot may post.
const WELCOME: u64 = 1_100_000_000_000_000_711;
/// Where Discord refuses the bot's posts with 50013.
const LOCKED: u64 = 1_100_000_000_000_000_712;
/// Newcomer number n has the id `NEWCOMER + n`.
const NEWCOMER: u64 = 1_100_000_000_000_000_800;

const MANAGER: &str = "900000000000000071";
const CLIENT_ID: &str = "1100000000000000001";
const CLIENT_SECRET: &str = "test-client-secret-value";
const AUTH_SECRET: &str = "test-auth-secret-0123456789abcdef0123456789";
// Shaped like a real token (id.timestamp.hmac); the stand-in accepts any.
const BOT_TOKEN: &str = "MTIwMDAwMDAwMDAwMDAwMDAwMQ.GhXyZa.standin-token-not-a-secret-0123456789";

/// For things with no deadline of their own (start-up, a single answer).
const WAIT: Duration = Duration::from_secs(30);
/// What the issue allows between a save on the portal and the bot using it.
const REACHES_THE_BOT: Duration = Duration::from_secs(2);

const RULES: &str = "Read the rules, @everyone and <@&1100000000000000999>!";
const WELCOME_TEXT: &str = "Welcome {user} to {server}, member #{member_count}! @everyone";

#[tokio::test]
async fn a_manager_s_changes_on_the_portal_reach_the_bot() {
    let mut ran = Vec::new();
    for backend in store::testing::ALL_BACKENDS {
        let Some(db) = TestDatabase::create(backend).await.unwrap() else {
            store::testing::announce_skip(&format!(
                "portal and bot on {}: server absent",
                backend.name()
            ));
            continue;
        };
        let started = std::time::Instant::now();
        let world = World::start(&db).await;
        world.manager_path(backend).await;
        world.stop().await;
        db.drop_database().await;
        eprintln!("TIMING {backend:?} {:?}", started.elapsed());
        ran.push(backend);
    }
    assert!(ran.contains(&Backend::Sqlite), "{ran:?}");
    eprintln!("portal and bot checked together on {ran:?}");
}

/// Both halves on one database, each with its own Discord stand-in.
struct World {
    gateway: BotStandIn,
    discord: StandIn,
    bot: RunningBot,
    portal: RunningPortal,
    manager: Manager,
}

impl World {
    async fn start(db: &TestDatabase) -> World {
        let discord = StandIn::start(
            Fixture::new(CLIENT_ID, CLIENT_SECRET)
                .auto_approved()
                .with_user(
                    FixtureUser::new(MANAGER, "ann")
                        .email("ann@example.com", true)
                        .guild(FixtureGuild::new(GUILD.to_string(), GUILD_NAME).owned()),
                ),
        )
        .await
        .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let portal_url = format!("http://{}", listener.local_addr().unwrap());
        let portal_env = Env::from_pairs([
            ("DATABASE_URL", db.url.clone()),
            ("DISCORD_CLIENT_ID", CLIENT_ID.to_owned()),
            ("DISCORD_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
            ("AUTH_SECRET", AUTH_SECRET.to_owned()),
            ("DISCORD_API_URL", discord.api_url()),
            ("DISCORD_AUTHORIZE_URL", discord.authorize_url()),
            ("DISCORD_CDN_URL", discord.cdn_url()),
            ("PORTAL_PUBLIC_URL", portal_url.clone()),
            ("COOKIE_SECURE", "false".to_owned()),
        ]);
        // The portal first: it migrates the fresh database.
        let portal = portal::start(
            portal::PortalConfig::from_env(&portal_env, false).unwrap(),
            listener,
        )
        .await
        .unwrap();

        // The application has the Server Members Intent, so the bot asks
        // for GUILD_MEMBERS and sees members join.
        let gateway = BotStandIn::start(BotFixture {
            application_flags: GATEWAY_GUILD_MEMBERS,
            ..BotFixture::default()
        })
        .await
        .unwrap();
        let bot_env = Env::from_pairs([
            ("DISCORD_BOT_TOKEN", BOT_TOKEN.to_owned()),
            ("DATABASE_URL", db.url.clone()),
            ("PORTAL_PUBLIC_URL", portal_url.clone()),
            ("DISCORD_PROXY_URL", gateway.base_url()),
        ]);
        let bot = bot::start(BotConfig::from_env(&bot_env).unwrap())
            .await
            .unwrap();
        // Commands are answered once poise has registered them.
        gateway
            .wait_for_request(WAIT, |r| r.method == "PUT" && r.path.ends_with("/commands"))
            .await
            .expect("commands registered");
        assert!(
            gateway
                .wait_until(WAIT, |s| s.ready_shards().contains(&0))
                .await
        );
        let manager = Manager::sign_in(&portal_url).await;
        World {
            gateway,
            discord,
            bot,
            portal,
            manager,
        }
    }

    async fn stop(self) {
        let bot_store = self.bot.store.clone();
        let portal_store = self.portal.app.store.clone();
        self.bot.shutdown().await.unwrap();
        self.portal.shutdown().await;
        bot_store.close().await;
        portal_store.close().await;
        self.gateway.shutdown().await;
        self.discord.shutdown().await;
    }

    async fn manager_path(&self, backend: Backend) {
        let (gateway, manager) = (&self.gateway, &self.manager);
        let api = format!("/api/v1/discord/guilds/{GUILD}");
        let page = format!("/discord/guilds/{GUILD}");

        // The bot joins the guild: the portal learns it is there, and its
        // channels, from what the bot recorded.
        assert!(gateway.guild_create_with(
            0,
            &BotGuild {
                id: GUILD,
                name: GUILD_NAME.into(),
                member_count: MEMBERS,
                channels: vec![
                    BotChannel::text(WELCOME, "welcome", 0),
                    BotChannel::text(LOCKED, "announcements", 1),
                ],
            },
        ));
        let channels = json!([
            {"id": WELCOME.to_string(), "name": "welcome", "position": 0},
            {"id": LOCKED.to_string(), "name": "announcements", "position": 1},
        ]);
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            // 409 BOT_NOT_PRESENT until the bot's GUILD_CREATE is recorded.
            let (status, body) = manager.get_json(&format!("{api}/channels")).await;
            if status == 200 && body == channels {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{backend:?}: the bot's channels never reached the portal: {status} {body}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let html = manager.page(&page).await;
        assert!(html.contains("id=\"settings-form\""), "{backend:?}: {html}");
        assert!(!html.contains("id=\"welcome-failure\""), "{html}");
        assert!(
            !html.contains("id=\"intent-note\""),
            "the bot reported its intent: {html}"
        );

        // 1. Tags saved through the API are answered, autocompleted, and
        //    never ping. Asked before they exist, so that the bot already
        //    holds the guild's settings and must notice the change.
        let (id, token) = gateway.slash_command(0, &tag_call("rules")).unwrap();
        let answer = answer_to(gateway, id, &token).await;
        assert_eq!(
            answer["data"]["content"], "This server has no tag named `rules`.",
            "{backend:?}: {answer}"
        );
        // "faq" first: once the bot knows "rules", it knows both.
        for (name, content) in [("faq", "Ask away."), ("rules", RULES)] {
            let (status, body) = manager
                .put(&format!("{api}/tags/{name}"), json!({ "content": content }))
                .await;
            assert_eq!(status, 201, "{backend:?}: {body}");
        }
        let answer = tag_until(gateway, &tag_call("rules"), "the saved tag", |a| {
            a["data"]["content"] == RULES
        })
        .await;
        assert_eq!(answer["type"], 4, "{answer}");
        assert_eq!(
            answer["data"]["flags"].as_u64().unwrap_or(0) & 64,
            0,
            "public: {answer}"
        );
        let mentions = &answer["data"]["allowed_mentions"];
        assert_eq!(mentions["parse"], json!([]), "{backend:?}: {answer}");
        for list in ["users", "roles"] {
            assert!(
                mentions[list].as_array().is_none_or(|l| l.is_empty()),
                "{answer}"
            );
        }
        let choices = autocomplete(gateway, "").await;
        assert_eq!(
            choices,
            json!([{"name": "faq", "value": "faq"}, {"name": "rules", "value": "rules"}]),
            "{backend:?}"
        );
        assert_eq!(
            autocomplete(gateway, "ru").await,
            json!([{"name": "rules", "value": "rules"}])
        );

        // 2. The server's language overrides the member's (English) client.
        let (status, settings) = manager.get_json(&format!("{api}/settings")).await;
        assert_eq!(status, 200, "{settings}");
        let mut version = settings["version"].as_i64().unwrap();
        for (language, reply) in [
            ("ko", "이 서버에는 `nope` 태그가 없습니다."),
            ("en", "This server has no tag named `nope`."),
        ] {
            version = manager
                .save_settings(
                    &api,
                    json!({
                        "language": language,
                        "welcome": {"enabled": false, "channel_id": null, "message": WELCOME_TEXT},
                        "version": version,
                    }),
                )
                .await;
            let answer = tag_until(gateway, &tag_call("nope"), language, |a| {
                a["data"]["content"] == reply
            })
            .await;
            assert_eq!(answer["data"]["flags"], 64, "a private note: {answer}");
        }

        // 3. Welcome in a channel where Discord refuses the bot (50013): the
        //    refusal, and when it happened, show on the server's page.
        gateway.set_channel_failure(LOCKED, Some(MessageFailure::MissingPermissions));
        let welcome = |channel: u64, version: i64| {
            json!({
                "language": "en",
                "welcome": {"enabled": true, "channel_id": channel.to_string(), "message": WELCOME_TEXT},
                "version": version,
            })
        };
        let before = now();
        version = manager.save_settings(&api, welcome(LOCKED, version)).await;
        let mut joined = 0;
        let (refused, _) = join_until_welcomed_in(gateway, &mut joined, LOCKED).await;
        assert_eq!(refused.status, 403, "{backend:?}: {}", refused.body);
        let html = manager
            .page_until(&page, "the refusal", |html| {
                html.contains("id=\"welcome-failure\"")
            })
            .await;
        let after = now();
        assert!(
            html.contains("could not be posted in #announcements on "),
            "{backend:?}: {html}"
        );
        assert!(
            html.contains("Missing Permissions (Discord error 50013)"),
            "{html}"
        );
        let at = (before / 60..=after / 60)
            .map(|minute| page_time(minute * 60))
            .find(|at| html.contains(&format!(" on {at}: ")));
        assert!(at.is_some(), "no time between {before} and {after}: {html}");

        //    Then a channel where the bot may post: the newcomer is welcomed
        //    there, placeholders filled, only they pinged; the page is clear.
        version = manager.save_settings(&api, welcome(WELCOME, version)).await;
        let (posted, newcomer) = join_until_welcomed_in(gateway, &mut joined, WELCOME).await;
        assert_eq!(posted.status, 200, "{backend:?}: {}", posted.body);
        let sent = body(&posted);
        assert_eq!(
            sent["content"],
            format!(
                "Welcome <@{newcomer}> to {GUILD_NAME}, member #{}! @everyone",
                MEMBERS + (newcomer - NEWCOMER)
            ),
            "{backend:?}"
        );
        assert_eq!(sent["allowed_mentions"]["parse"], json!([]), "{sent}");
        assert_eq!(
            sent["allowed_mentions"]["users"],
            json!([newcomer.to_string()]),
            "{sent}"
        );
        let html = manager
            .page_until(&page, "the refusal cleared", |html| {
                !html.contains("id=\"welcome-failure\"")
            })
            .await;
        assert!(html.contains("id=\"settings-form\""), "{html}");
        assert_eq!(version, 4, "four saves, none lost or doubled");
    }
}

/// The manager's browser: it keeps the session cookie the login set, and
/// sends the portal's own Origin with writes, as the portal's pages do.
struct Manager {
    client: reqwest::Client,
    portal: String,
}

impl Manager {
    /// The real login: portal → Discord's authorize page (approving at
    /// once) → the portal's callback, which sets the session cookie.
    async fn sign_in(portal: &str) -> Manager {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .timeout(WAIT)
            .build()
            .unwrap();
        let login = client
            .get(format!("{portal}/discord/login"))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 302, "login redirects to Discord");
        let approved = client.get(location(&login)).send().await.unwrap();
        assert_eq!(approved.status(), 302, "Discord redirects back");
        let done = client.get(location(&approved)).send().await.unwrap();
        assert_eq!(done.status(), 302, "signed in");
        assert!(
            done.headers()
                .get_all(SET_COOKIE)
                .iter()
                .any(|c| c.to_str().unwrap_or("").starts_with("fastapiusersauth=")),
            "a session cookie"
        );
        Manager {
            client,
            portal: portal.to_owned(),
        }
    }

    async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self
            .client
            .get(format!("{}{path}", self.portal))
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .client
            .put(format!("{}{path}", self.portal))
            .header("Origin", &self.portal)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Saves the settings; returns their new version.
    async fn save_settings(&self, api: &str, settings: Value) -> i64 {
        let (status, body) = self.put(&format!("{api}/settings"), settings).await;
        assert_eq!(status, 200, "{body}");
        body["version"].as_i64().unwrap()
    }

    async fn page(&self, path: &str) -> String {
        let r = self
            .client
            .get(format!("{}{path}", self.portal))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.unwrap()
    }

    /// The page, once `check` accepts it.
    async fn page_until(&self, path: &str, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let html = self.page(path).await;
            if check(&html) {
                return html;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what} never shown: {html}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .expect("a Location header")
        .to_owned()
}

fn body(r: &RecordedRequest) -> Value {
    serde_json::from_str(&r.body).unwrap_or(Value::Null)
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A time as the server's page shows it.
fn page_time(epoch: i64) -> String {
    chrono::DateTime::from_timestamp(epoch, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default()
}

/// `/tag name:<name>` in the guild, from a member whose client is English.
fn tag_call(name: &str) -> SlashCommand {
    SlashCommand {
        name: "tag".into(),
        user_id: 5_555_555_555_555_555,
        guild_id: Some(GUILD),
        channel_id: WELCOME,
        options: vec![("name".into(), name.into())],
        locale: Some("en-US".into()),
        guild_locale: None,
    }
}

/// The body of the bot's first answer to an interaction.
async fn answer_to(gateway: &BotStandIn, id: u64, token: &str) -> Value {
    let path = format!("/api/v10/interactions/{id}/{token}/callback");
    // Answered once the stand-in has set the status it gave.
    let answer = gateway
        .wait_for_request(WAIT, |r| r.path == path && r.status != 0)
        .await
        .expect("an answer");
    body(&answer)
}

/// Types `/tag` again and again until `check` accepts the answer, failing
/// once a save on the portal should have reached the bot.
async fn tag_until(
    gateway: &BotStandIn,
    call: &SlashCommand,
    what: &str,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + REACHES_THE_BOT;
    loop {
        let (id, token) = gateway.slash_command(0, call).expect("dispatched");
        let answer = answer_to(gateway, id, &token).await;
        if check(&answer) {
            return answer;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what} not seen within {REACHES_THE_BOT:?}; last answer {answer}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The choices autocomplete offers for `typed` in `/tag name:`.
async fn autocomplete(gateway: &BotStandIn, typed: &str) -> Value {
    let (id, token) = gateway
        .autocomplete(0, &tag_call(typed), "name")
        .expect("dispatched");
    let answer = answer_to(gateway, id, &token).await;
    assert_eq!(answer["type"], 8, "{answer}");
    answer["data"]["choices"].clone()
}

/// Newcomers join one after another until the bot's welcome for one of
/// them has been answered in `channel`: that post and that newcomer.
/// `joined` counts the joins across calls (the member count goes up with
/// each). Fails once a save on the portal should have reached the bot.
async fn join_until_welcomed_in(
    gateway: &BotStandIn,
    joined: &mut u64,
    channel: u64,
) -> (RecordedRequest, u64) {
    let first = NEWCOMER + *joined + 1;
    let to = format!("/api/v10/channels/{channel}/messages");
    let deadline = tokio::time::Instant::now() + REACHES_THE_BOT;
    loop {
        *joined += 1;
        let newcomer = NEWCOMER + *joined;
        let next = tokio::time::Instant::now() + Duration::from_millis(100);
        assert!(gateway.member_add(0, GUILD, newcomer, &format!("newcomer{joined}")));
        // This join's post (wherever it goes), and one join every 100 ms.
        let own = format!("<@{newcomer}>");
        gateway
            .wait_for_request(Duration::from_millis(100), |r| {
                r.method == "POST" && r.status != 0 && r.body.contains(&own)
            })
            .await;
        tokio::time::sleep_until(next).await;
        // Answered in `channel`, for one of this call's newcomers.
        let welcomed = gateway.requests().into_iter().find_map(|r| {
            let to_channel = r.method == "POST" && r.path == to && r.status != 0;
            let whom = (first..=newcomer).find(|n| r.body.contains(&format!("<@{n}>")));
            whom.filter(|_| to_channel).map(|n| (r, n))
        });
        if let Some(found) = welcomed {
            return found;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no welcome in {channel} within {REACHES_THE_BOT:?} of the save ({joined} joined)"
        );
    }
}
