//! Managing a server through the pages and the JSON API: every route, each
//! refusal (401, 403 GUILD_FORBIDDEN, 409 BOT_NOT_PRESENT, 409
//! SETTINGS_CHANGED, 409 TAG_LIMIT_REACHED, 422), the form token and the
//! Origin check, a permission lost in Discord, concurrent saves.

use reqwest::StatusCode;
use serde_json::{Value, json};
use store::{AuditAction, AuditActor, GuildChannel, GuildLanguage, TAGS_PER_GUILD_MAX};

use crate::common::*;

/// Owner of "Guildhall HQ"; the bot is put there.
const HQ: &str = "1100000000000000101";
/// Manage Server in "Pixel Art Club"; the bot is put there.
const PIXEL: &str = "1100000000000000103";
/// Administrator in "Rustaceans Café"; the bot is not there.
const NO_BOT: &str = "1100000000000000102";
/// A plain member of "Book Circle"; the bot is there.
const MEMBER_ONLY: &str = "1100000000000000105";
/// Nobody's guild.
const STRANGER: &str = "1100000000000000999";

const GENERAL: u64 = 4_100_000_000_000_000_001;
const WELCOME: u64 = 4_100_000_000_000_000_002;
const VOICE: u64 = 4_100_000_000_000_000_003;

fn id(s: &str) -> u64 {
    s.parse().unwrap()
}

/// The app with the bot in HQ, Pixel Art Club and Book Circle, and Pixel
/// Art Club's channels recorded.
async fn app_with_bot(env: impl FnOnce(&mut settings::Env)) -> TestApp {
    let app = spawn_app_with(base_fixture(), env, |_| {}).await;
    let store = app.store();
    store
        .bot_guilds_replace_shard(0, &[id(HQ), id(PIXEL), id(MEMBER_ONLY)])
        .await
        .unwrap();
    let channel = |id, name: &str, position, kind| GuildChannel {
        id,
        name: name.into(),
        position,
        kind,
    };
    store
        .bot_guild_channels_replace(
            id(PIXEL),
            &[
                channel(GENERAL, "general", 0, 0),
                channel(WELCOME, "welcome", 1, 0),
                channel(VOICE, "Lounge", 2, 2),
            ],
        )
        .await
        .unwrap();
    app
}

/// The form token in a page.
fn form_token(html: &str) -> String {
    let start = html
        .find("name=\"csrf_token\" value=\"")
        .expect("a form token in the page")
        + "name=\"csrf_token\" value=\"".len();
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

impl TestApp {
    async fn page(&self, path: &str) -> (StatusCode, String) {
        let r = self.get(path).await;
        (r.status(), r.text().await.unwrap())
    }

    /// A form POST from the portal's own page.
    async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("Origin", self.portal.url())
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = reqwest::Client::new()
            .request(method, self.url(path))
            .bearer_auth(bearer);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }
}

fn settings_body(language: &str, channel: Option<u64>, message: &str, version: i64) -> Value {
    json!({
        "language": language,
        "welcome": {"enabled": channel.is_some(), "channel_id": channel.map(|c| c.to_string()), "message": message},
        "version": version,
    })
}

#[tokio::test]
async fn the_settings_form_saves_and_refuses_like_the_issue_says() {
    let app = app_with_bot(|_| {}).await;
    app.login().await;
    let path = format!("/discord/guilds/{PIXEL}");
    let (status, html) = app.page(&path).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"settings-form\""), "{html}");
    assert!(
        html.contains(">#general<") && html.contains(">#welcome<"),
        "text channels listed"
    );
    assert!(!html.contains("Lounge"), "voice channels are not offered");
    assert!(
        html.contains("id=\"intent-note\""),
        "the bot has not reported its intent yet"
    );
    assert!(html.contains("href=\"/discord/guilds/1100000000000000103/tags\""));
    let token = form_token(&html);
    let settings = format!("{path}/settings");
    let good = [
        ("csrf_token", token.as_str()),
        ("version", "0"),
        ("language", "ko"),
        ("enabled", "on"),
        ("channel_id", "4100000000000000002"),
        ("message", "어서 오세요 {user}, welcome to {server}!"),
    ];

    // No token, a wrong token, another site: refused, nothing saved.
    let no_token = app.post_form(&settings, &good[1..]).await;
    assert_eq!(no_token.status(), 403);
    assert!(
        no_token
            .text()
            .await
            .unwrap()
            .contains("CSRF_TOKEN_MISMATCH")
    );
    let mut wrong = good;
    wrong[0].1 = "not-the-token";
    assert_eq!(app.post_form(&settings, &wrong).await.status(), 403);
    let foreign = app
        .client
        .post(app.url(&settings))
        .header("Origin", "https://evil.example")
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(foreign.status(), 403);
    assert!(
        foreign
            .text()
            .await
            .unwrap()
            .contains("CSRF_ORIGIN_MISMATCH")
    );
    assert_eq!(
        app.store()
            .guild_preferences(id(PIXEL))
            .await
            .unwrap()
            .version,
        0
    );

    // Invalid fields: 422, the form again with what was typed.
    let mut bad = good;
    bad[5].1 = "Hi {username} <b>";
    bad[4].1 = "4100000000000000003";
    let r = app.post_form(&settings, &bad).await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("Hi {username} &lt;b&gt;"),
        "typed text kept, escaped: {html}"
    );
    assert!(html.contains("id=\"message-error\""));
    assert!(html.contains("Unknown placeholder {username}"));
    assert!(
        html.contains("<option value=\"ko\" selected>"),
        "typed language kept"
    );
    assert_eq!(
        app.store()
            .guild_preferences(id(PIXEL))
            .await
            .unwrap()
            .version,
        0
    );
    // A voice channel is no welcome channel (checked against the guild's channels).
    let mut voice = good;
    voice[4].1 = "4100000000000000003";
    let r = app.post_form(&settings, &voice).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("id=\"channel_id-error\""));

    // Saved: back to the page, which says so and shows the values.
    let r = app.post_form(&settings, &good).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{path}?saved=1"));
    let stored = app.store().guild_preferences(id(PIXEL)).await.unwrap();
    assert_eq!(
        (
            stored.language,
            stored.welcome_enabled,
            stored.welcome_channel_id,
            stored.version
        ),
        (GuildLanguage::Ko, true, Some(WELCOME), 1)
    );
    let (_, html) = app.page(&format!("{path}?saved=1")).await;
    assert!(html.contains("id=\"saved\""));
    assert!(html.contains("어서 오세요 {user}, welcome to {server}!"));

    // The same form again (version 0): someone saved since — 409, typed text kept.
    let mut stale = good;
    stale[5].1 = "my late edit";
    let r = app.post_form(&settings, &stale).await;
    assert_eq!(r.status(), 409);
    let html = r.text().await.unwrap();
    assert!(html.contains("Someone else saved these settings"), "{html}");
    assert!(html.contains("my late edit"));
    assert!(
        html.contains("name=\"version\" value=\"1\""),
        "saving again is a choice"
    );
    assert_eq!(
        app.store()
            .guild_preferences(id(PIXEL))
            .await
            .unwrap()
            .version,
        1
    );

    // What the bot reports shows: a failed post, the missing intent, a deleted channel.
    let store = app.store();
    store
        .guild_welcome_failure_record(id(PIXEL), WELCOME, 50013, "Missing Permissions")
        .await
        .unwrap();
    store.bot_members_intent_set(false).await.unwrap();
    store
        .bot_guild_channel_remove(id(PIXEL), WELCOME)
        .await
        .unwrap();
    let (_, html) = app.page(&path).await;
    assert!(html.contains("id=\"welcome-failure\""), "{html}");
    assert!(html.contains("Missing Permissions (Discord error 50013)"));
    assert!(html.contains("enable the Server Members Intent in the Developer Portal"));
    assert!(html.contains("id=\"deleted-channel\""));
    assert!(html.contains("Deleted channel (4100000000000000002)"));
    app.stop().await;
}

#[tokio::test]
async fn tags_pages_create_edit_delete_and_the_audit_page_lists_it_all() {
    let app = app_with_bot(|_| {}).await;
    app.login().await;
    let tags = format!("/discord/guilds/{PIXEL}/tags");
    let (status, html) = app.page(&tags).await;
    assert_eq!(status, 200);
    assert!(html.contains("No tags yet"));
    let token = form_token(&html);

    let r = app
        .post_form(
            &tags,
            &[
                ("csrf_token", &token),
                ("name", "규칙"),
                ("content", "@everyone be kind"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), format!("{tags}?saved=%EA%B7%9C%EC%B9%99"));
    let (_, html) = app.page(&location(&r)).await;
    assert!(
        html.contains("data-tag=\"규칙\"") && html.contains("@everyone be kind"),
        "{html}"
    );
    assert!(html.contains("1 of 200 tags"));

    // Invalid name: 422, both fields as typed.
    let r = app
        .post_form(
            &tags,
            &[
                ("csrf_token", &token),
                ("name", "Bad Name"),
                ("content", "kept text"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    assert!(html.contains("value=\"Bad Name\"") && html.contains("kept text"));
    assert!(html.contains("id=\"name-error\""));
    // No token: refused.
    let r = app
        .post_form(&tags, &[("name", "x"), ("content", "y")])
        .await;
    assert_eq!(r.status(), 403);

    // Edit: the form comes prefilled; saving replaces the text.
    let (_, html) = app.page(&format!("{tags}?edit=%EA%B7%9C%EC%B9%99")).await;
    assert!(html.contains("value=\"규칙\""));
    let r = app
        .post_form(
            &tags,
            &[
                ("csrf_token", &token),
                ("name", "규칙"),
                ("content", "Be kind."),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.store()
            .guild_tag(id(PIXEL), "규칙")
            .await
            .unwrap()
            .unwrap()
            .content,
        "Be kind."
    );

    // Delete: with the token only.
    let delete = format!("{tags}/%EA%B7%9C%EC%B9%99/delete");
    assert_eq!(app.post_form(&delete, &[]).await.status(), 403);
    let r = app.post_form(&delete, &[("csrf_token", &token)]).await;
    assert_eq!(r.status(), 303);
    assert!(app.store().guild_tags(id(PIXEL)).await.unwrap().is_empty());
    assert_eq!(
        app.post_form(&delete, &[("csrf_token", &token)])
            .await
            .status(),
        404
    );

    let (status, html) = app.page(&format!("/discord/guilds/{PIXEL}/audit")).await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = html
        .match_indices("data-action=\"")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect();
    assert_eq!(actions, ["tag.delete", "tag.update", "tag.create"]);
    let nickname = app.store().guild_audit(id(PIXEL), 1, None).await.unwrap()[0]
        .discord_username
        .clone();
    assert!(html.contains(&format!("by {nickname}")), "{html}");
    assert!(html.contains("@everyone be kind") && html.contains("Be kind."));
    app.stop().await;
}

#[tokio::test]
async fn refusals_as_pages_and_as_json() {
    let app = app_with_bot(|_| {}).await;
    let bearer = app.login_token().await;
    use reqwest::Method;

    // Not signed in: 401 for the API, the sign-in page for browsers.
    let anonymous = client();
    let r = anonymous
        .get(app.url(&format!("/api/v1/discord/guilds/{PIXEL}/settings")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "Unauthorized"})
    );
    let r = anonymous
        .get(app.url(&format!("/discord/guilds/{PIXEL}/tags")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);

    for (guild, status, detail) in [
        (MEMBER_ONLY, 403, "GUILD_FORBIDDEN"),
        (STRANGER, 403, "GUILD_FORBIDDEN"),
        (NO_BOT, 409, "BOT_NOT_PRESENT"),
    ] {
        for path in ["settings", "channels", "tags", "audit"] {
            let (s, body) = app
                .api(
                    Method::GET,
                    &format!("/api/v1/discord/guilds/{guild}/{path}"),
                    &bearer,
                    None,
                )
                .await;
            assert_eq!(
                (s.as_u16(), body),
                (status, json!({"detail": detail})),
                "{guild} {path}"
            );
        }
        let (s, body) = app
            .api(
                Method::PUT,
                &format!("/api/v1/discord/guilds/{guild}/settings"),
                &bearer,
                Some(settings_body("en", None, "", 0)),
            )
            .await;
        assert_eq!(
            (s.as_u16(), body),
            (status, json!({"detail": detail})),
            "{guild} PUT"
        );
        let (s, _) = app
            .api(
                Method::PUT,
                &format!("/api/v1/discord/guilds/{guild}/tags/rules"),
                &bearer,
                Some(json!({"content": "x"})),
            )
            .await;
        assert_eq!(s.as_u16(), status);
        let (s, _) = app
            .api(
                Method::DELETE,
                &format!("/api/v1/discord/guilds/{guild}/tags/rules"),
                &bearer,
                None,
            )
            .await;
        assert_eq!(s.as_u16(), status);
    }
    // The same refusals as pages (signed in through the browser client).
    app.login().await;
    for (guild, status, code) in [
        (MEMBER_ONLY, 403, "GUILD_FORBIDDEN"),
        (NO_BOT, 409, "BOT_NOT_PRESENT"),
    ] {
        for page in ["tags", "audit"] {
            let r = app.get(&format!("/discord/guilds/{guild}/{page}")).await;
            assert_eq!(r.status().as_u16(), status);
            assert!(
                r.headers()["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
            assert!(r.text().await.unwrap().contains(code));
        }
    }
    // A member's overview has no settings form.
    let (_, html) = app.page(&format!("/discord/guilds/{MEMBER_ONLY}")).await;
    assert!(!html.contains("settings-form"));
    // Nothing was written anywhere.
    for guild in [MEMBER_ONLY, NO_BOT] {
        assert!(
            app.store()
                .guild_audit(id(guild), 10, None)
                .await
                .unwrap()
                .is_empty()
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_json_api_reads_and_writes_settings_tags_and_the_audit_log() {
    let app = app_with_bot(|_| {}).await;
    let bearer = app.login_token().await;
    use reqwest::Method;
    let base = format!("/api/v1/discord/guilds/{PIXEL}");

    let (s, body) = app
        .api(Method::GET, &format!("{base}/settings"), &bearer, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        body,
        json!({"language": "auto", "welcome": {"enabled": false, "channel_id": null, "message": "Welcome to {server}, {user}!"}, "version": 0})
    );
    let (s, body) = app
        .api(Method::GET, &format!("{base}/channels"), &bearer, None)
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        body,
        json!([{"id": "4100000000000000001", "name": "general", "position": 0}, {"id": "4100000000000000002", "name": "welcome", "position": 1}])
    );

    // 422 as FastAPI: every invalid field at once.
    let (s, body) = app
        .api(Method::PUT, &format!("{base}/settings"), &bearer, Some(json!({"language": "fr", "welcome": {"enabled": true, "channel_id": "4100000000000000003", "message": "x".repeat(2001)}})))
        .await;
    assert_eq!(s, 422);
    let locs: Vec<String> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            assert!(e["msg"].is_string() && e["type"].is_string(), "{e}");
            e["loc"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap())
                .collect::<Vec<_>>()
                .join(".")
        })
        .collect();
    assert_eq!(
        locs,
        ["body.language", "body.version", "body.welcome.message"]
    );
    // A channel that is not a text channel of the guild.
    let (s, body) = app
        .api(
            Method::PUT,
            &format!("{base}/settings"),
            &bearer,
            Some(settings_body("en", Some(VOICE), "hi", 0)),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(
        body["detail"][0]["loc"],
        json!(["body", "welcome", "channel_id"])
    );

    let (s, body) = app
        .api(
            Method::PUT,
            &format!("{base}/settings"),
            &bearer,
            Some(settings_body("en", Some(GENERAL), "Hi {user}", 0)),
        )
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["version"], 1);
    assert_eq!(body["welcome"]["channel_id"], "4100000000000000001");
    let (s, body) = app
        .api(
            Method::PUT,
            &format!("{base}/settings"),
            &bearer,
            Some(settings_body("ko", Some(GENERAL), "stale", 0)),
        )
        .await;
    assert_eq!(
        (s.as_u16(), body),
        (409, json!({"detail": "SETTINGS_CHANGED"}))
    );

    // Two concurrent saves of version 1: one wins, the other is told.
    let put = |message: &'static str| {
        let client = reqwest::Client::new();
        let url = app.url(&format!("{base}/settings"));
        let bearer = bearer.clone();
        async move {
            client
                .put(url)
                .bearer_auth(bearer)
                .json(&settings_body("en", Some(GENERAL), message, 1))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    let (a, b) = tokio::join!(put("first"), put("second"));
    let mut statuses = [a, b];
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 409]);
    let stored = app.store().guild_preferences(id(PIXEL)).await.unwrap();
    assert_eq!(stored.version, 2);
    assert!(["first", "second"].contains(&stored.welcome_message.as_str()));

    // Tags.
    let (s, body) = app
        .api(
            Method::PUT,
            &format!("{base}/tags/rules"),
            &bearer,
            Some(json!({"content": "Be kind."})),
        )
        .await;
    assert_eq!(s, 201);
    assert_eq!(
        (body["name"].clone(), body["content"].clone()),
        (json!("rules"), json!("Be kind."))
    );
    assert!(body["updated_at"].as_str().unwrap().ends_with('Z'));
    let (s, _) = app
        .api(
            Method::PUT,
            &format!("{base}/tags/rules"),
            &bearer,
            Some(json!({"content": "Be very kind."})),
        )
        .await;
    assert_eq!(s, 200);
    let (s, _) = app
        .api(
            Method::PUT,
            &format!("{base}/tags/%EC%95%88%EB%85%95"),
            &bearer,
            Some(json!({"content": "안녕하세요"})),
        )
        .await;
    assert_eq!(s, 201, "Hangul names");
    let (s, body) = app
        .api(
            Method::PUT,
            &format!("{base}/tags/Bad%20Name"),
            &bearer,
            Some(json!({"content": ""})),
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["path", "name"]));
    assert_eq!(body["detail"][1]["loc"], json!(["body", "content"]));
    let (s, body) = app
        .api(Method::GET, &format!("{base}/tags"), &bearer, None)
        .await;
    assert_eq!(s, 200);
    let names: Vec<&str> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rules", "안녕"]);
    let (s, _) = app
        .api(Method::DELETE, &format!("{base}/tags/rules"), &bearer, None)
        .await;
    assert_eq!(s, 204);
    let (s, body) = app
        .api(Method::DELETE, &format!("{base}/tags/rules"), &bearer, None)
        .await;
    assert_eq!((s.as_u16(), body), (404, json!({"detail": "Not Found"})));

    // The audit log, newest first, in pages.
    let (s, all) = app
        .api(Method::GET, &format!("{base}/audit"), &bearer, None)
        .await;
    assert_eq!(s, 200);
    let actions: Vec<(&str, &str)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["subject"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        &actions[..4],
        [
            ("tag.delete", "rules"),
            ("tag.create", "안녕"),
            ("tag.update", "rules"),
            ("tag.create", "rules")
        ]
    );
    assert_eq!(all[0]["before"], json!("Be very kind."));
    assert_eq!(all[0]["after"], Value::Null);
    let fixture_user = app.standin.fixture().signed_in_user().unwrap().id.clone();
    assert_eq!(all[0]["user"]["discord_id"], json!(fixture_user));
    let welcome = all
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["subject"] == "welcome")
        .unwrap();
    assert_eq!(
        welcome["after"]["channel_id"], "4100000000000000001",
        "JSON values, not strings"
    );
    let (_, page) = app
        .api(Method::GET, &format!("{base}/audit?limit=2"), &bearer, None)
        .await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    let before = page[1]["id"].as_i64().unwrap();
    let (_, next) = app
        .api(
            Method::GET,
            &format!("{base}/audit?limit=2&before={before}"),
            &bearer,
            None,
        )
        .await;
    assert_eq!(next[0]["id"], all[2]["id"]);
    let (s, body) = app
        .api(
            Method::GET,
            &format!("{base}/audit?limit=500"),
            &bearer,
            None,
        )
        .await;
    assert_eq!(s, 422);
    assert_eq!(body["detail"][0]["loc"], json!(["query", "limit"]));

    // 200 tags: the 201st is refused.
    let actor = AuditActor {
        user_id: None,
        discord_user_id: 1,
        discord_username: "seed".into(),
    };
    for i in 0..TAGS_PER_GUILD_MAX - 1 {
        app.store()
            .guild_tag_save(id(PIXEL), &format!("t{i}"), "x", &actor, 1)
            .await
            .unwrap();
    }
    let (s, body) = app
        .api(
            Method::PUT,
            &format!("{base}/tags/one-more"),
            &bearer,
            Some(json!({"content": "x"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), body),
        (409, json!({"detail": "TAG_LIMIT_REACHED"}))
    );
    app.stop().await;
}

#[tokio::test]
async fn cookie_authenticated_api_writes_check_the_origin() {
    let app = app_with_bot(|_| {}).await;
    app.login().await;
    let url = app.url(&format!("/api/v1/discord/guilds/{PIXEL}/tags/rules"));
    let r = app
        .client
        .put(&url)
        .header("Origin", "https://evil.example")
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"detail": "CSRF_ORIGIN_MISMATCH"})
    );
    let r = app
        .client
        .delete(&url)
        .header("Sec-Fetch-Site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(app.store().guild_tags(id(PIXEL)).await.unwrap().is_empty());
    let r = app
        .client
        .put(&url)
        .header("Origin", app.portal.url())
        .json(&json!({"content": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    app.stop().await;
}

/// The user lost Manage Server in Discord after the portal last asked:
/// with the guild list older than GUILD_PERMISSION_MAX_AGE_SECONDS (here
/// 0 s, as if the 30 s had passed), every write asks Discord again and is
/// refused, while pages may still show the cached list.
#[tokio::test]
async fn a_permission_lost_in_discord_refuses_the_next_write() {
    let app = app_with_bot(|env| env.set("GUILD_PERMISSION_MAX_AGE_SECONDS", "0")).await;
    app.login().await;
    let bearer = app.login_token().await;
    let path = format!("/discord/guilds/{PIXEL}");
    let (_, html) = app.page(&path).await;
    let token = form_token(&html);
    // Still a manager: the write asks Discord and goes through.
    let before = app.standin.requests_to("/api/v10/users/@me/guilds").len();
    let tags = format!("{path}/tags");
    let r = app
        .post_form(
            &tags,
            &[("csrf_token", &token), ("name", "kept"), ("content", "x")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        app.standin.requests_to("/api/v10/users/@me/guilds").len() > before,
        "the write asked Discord"
    );

    let user = app.standin.fixture().signed_in_user().unwrap().id.clone();
    let mut demoted = app
        .standin
        .fixture()
        .user(&user)
        .unwrap()
        .guilds
        .iter()
        .find(|g| g.id == PIXEL)
        .unwrap()
        .clone();
    demoted.permissions = 1 << 10; // View Channel only
    assert!(app.standin.add_guild(&user, demoted));

    let r = app
        .post_form(
            &tags,
            &[
                ("csrf_token", &token),
                ("name", "refused"),
                ("content", "x"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("GUILD_FORBIDDEN"));
    let r = app
        .post_form(
            &format!("{path}/settings"),
            &[
                ("csrf_token", &token),
                ("version", "0"),
                ("language", "en"),
                ("message", "x"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    let (s, body) = app
        .api(
            reqwest::Method::PUT,
            &format!("/api/v1/discord/guilds/{PIXEL}/tags/refused"),
            &bearer,
            Some(json!({"content": "x"})),
        )
        .await;
    assert_eq!(
        (s.as_u16(), body),
        (403, json!({"detail": "GUILD_FORBIDDEN"}))
    );
    let r = app
        .post_form(&format!("{tags}/kept/delete"), &[("csrf_token", &token)])
        .await;
    assert_eq!(r.status(), 403);

    let names: Vec<String> = app
        .store()
        .guild_tags(id(PIXEL))
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["kept"]);
    let log = app.store().guild_audit(id(PIXEL), 10, None).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0].action, AuditAction::TagCreate);
    assert_eq!(
        app.store()
            .guild_preferences(id(PIXEL))
            .await
            .unwrap()
            .version,
        0
    );
    app.stop().await;
}

/// The owner manages HQ; the overview's Manage button leads to its page.
#[tokio::test]
async fn the_overview_s_manage_button_leads_to_the_settings() {
    let app = app_with_bot(|_| {}).await;
    app.login().await;
    let (_, html) = app.page("/discord/guilds").await;
    assert!(
        html.contains(&format!("href=\"/discord/guilds/{HQ}\">Manage</a>")),
        "{html}"
    );
    let (status, html) = app.page(&format!("/discord/guilds/{HQ}")).await;
    assert_eq!(status, 200);
    assert!(html.contains("id=\"settings-form\""));
    assert!(html.contains("The bot has not reported this server's channels yet"));
    app.stop().await;
}
