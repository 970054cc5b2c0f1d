//! The stand-in answers as Discord documents: OAuth2 pages and endpoints, the
//! user API, rate-limit headers, scripted faults and the CDN — over real HTTP.

use std::collections::HashMap;

use discord_standin::{Fault, Fixture, FixtureGuild, FixtureUser, StandIn};
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:1/callback";
const USER: &str = "80351110224678912";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn authorize_url(standin: &StandIn, extra: &[(&str, &str)]) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    q.append_pair("client_id", "1100000000000000001")
        .append_pair("redirect_uri", REDIRECT)
        .append_pair("response_type", "code")
        .append_pair("scope", "identify email guilds")
        .append_pair("state", "xyz");
    for (k, v) in extra {
        q.append_pair(k, v);
    }
    format!("{}?{}", standin.authorize_url(), q.finish())
}

/// The query of a redirect's `Location`.
fn location_query(r: &reqwest::Response) -> HashMap<String, String> {
    let location = r.headers()["location"].to_str().unwrap();
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or_default();
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

async fn post_form(url: String, form: &[(&str, &str)]) -> reqwest::Response {
    http().post(url).form(form).send().await.unwrap()
}

#[tokio::test]
async fn authorize_validates_like_discord() {
    let standin = StandIn::start(Fixture::demo().with_redirect_uri(REDIRECT))
        .await
        .unwrap();
    let url = |q: &str| format!("{}?{q}", standin.authorize_url());

    let r = http()
        .get(url(
            "client_id=999&redirect_uri=x&response_type=code&scope=identify",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );

    let r = http()
        .get(authorize_url(&standin, &[]).replace("127.0.0.1%3A1", "evil.example"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "unregistered redirect_uri");

    let r = http()
        .get(authorize_url(&standin, &[]).replace("response_type=code", "response_type=token"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let q = location_query(&r);
    assert_eq!(q["error"], "unsupported_response_type");
    assert_eq!(q["state"], "xyz");

    let r = http()
        .get(authorize_url(&standin, &[]).replace("guilds", "telepathy"))
        .send()
        .await
        .unwrap();
    assert_eq!(location_query(&r)["error"], "invalid_scope");

    let r = http()
        .get(authorize_url(
            &standin,
            &[
                ("code_challenge", "abc"),
                ("code_challenge_method", "plain"),
            ],
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(location_query(&r)["error"], "invalid_request");
}

#[tokio::test]
async fn consent_page_cancel_authorize_exchange_and_prompt_none() {
    let standin = StandIn::start(Fixture::demo()).await.unwrap();
    let page = http()
        .get(authorize_url(&standin, &[]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Guildhall (demo) wants to access your account"));
    assert!(html.contains("Nelly the Admin"));
    assert!(html.contains("Know what servers you&#39;re in"));
    assert!(
        html.contains("<button")
            && html.contains("id=\"authorize\"")
            && html.contains("id=\"cancel\"")
    );
    assert_eq!(hidden(&html, "state"), "xyz");

    let cancel = post_form(
        standin.authorize_url(),
        &[
            ("pending", &hidden(&html, "pending")),
            ("decision", "cancel"),
        ],
    )
    .await;
    assert_eq!(cancel.status(), 302);
    let location = cancel.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!(
            "{REDIRECT}?error=access_denied&error_description=The+resource+owner+or+authorization+server+denied+the+request&state=xyz"
        )
    );

    let html = http()
        .get(authorize_url(&standin, &[]))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let ok = post_form(
        standin.authorize_url(),
        &[
            ("pending", &hidden(&html, "pending")),
            ("decision", "authorize"),
        ],
    )
    .await;
    assert_eq!(ok.status(), 302);
    let q = location_query(&ok);
    assert_eq!(q["state"], "xyz");

    // Client credentials in the form body work as well as HTTP Basic.
    let token_url = format!("{}/oauth2/token", standin.api_url());
    let form = [
        ("grant_type", "authorization_code"),
        ("code", q["code"].as_str()),
        ("redirect_uri", REDIRECT),
        ("client_id", "1100000000000000001"),
        ("client_secret", "demo-client-secret"),
    ];
    let r = post_form(token_url.clone(), &form).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 604_800);
    assert_eq!(body["scope"], "identify email guilds");
    assert!(body["access_token"].is_string() && body["refresh_token"].is_string());
    let again: Value = post_form(token_url, &form).await.json().await.unwrap();
    assert_eq!(again["error"], "invalid_grant");
    assert_eq!(again["error_description"], "Invalid \"code\" in request.");

    // Already approved: prompt=none skips the page.
    let r = http()
        .get(authorize_url(&standin, &[("prompt", "none")]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert!(location_query(&r).contains_key("code"));
    // The page itself stays for a new set of scopes.
    let r = http()
        .get(authorize_url(&standin, &[("prompt", "none")]).replace("email+", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn token_endpoint_refuses_json_bad_clients_and_foreign_redirects() {
    let standin = StandIn::start(Fixture::demo()).await.unwrap();
    let token_url = format!("{}/oauth2/token", standin.api_url());
    let code = standin.issue_code_for(USER, REDIRECT, &["identify"], None);

    let r = http()
        .post(&token_url)
        .basic_auth("1100000000000000001", Some("demo-client-secret"))
        .json(&serde_json::json!({"grant_type": "authorization_code", "code": code}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_request");

    let r = http()
        .post(&token_url)
        .basic_auth("1100000000000000001", Some("wrong"))
        .form(&[("grant_type", "authorization_code"), ("code", &code)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");

    let r = http()
        .post(&token_url)
        .basic_auth("1100000000000000001", Some("demo-client-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://elsewhere/cb"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_grant");
}

#[tokio::test]
async fn users_and_guilds_answer_discords_shapes() {
    let user = FixtureUser::new("4194304", "pager")
        .email("p@example.com", false)
        .guild(FixtureGuild::new("30", "Thirty").permissions(8).icon("a_x"))
        .guild(FixtureGuild::new("10", "Ten").owned())
        .guild(FixtureGuild::new("20", "Twenty"))
        .guild(FixtureGuild::new("40", "Forty"));
    let standin = StandIn::start(Fixture::new("1", "s").with_user(user))
        .await
        .unwrap();
    let (access, _) = standin.issue_tokens_for("4194304", &["identify", "email", "guilds"]);
    let get = |path: &str| {
        http()
            .get(format!("{}{path}", standin.api_url()))
            .bearer_auth(&access)
            .send()
    };

    let me = get("/users/@me").await.unwrap();
    assert_eq!(me.status(), 200);
    for h in [
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "x-ratelimit-reset-after",
        "x-ratelimit-bucket",
    ] {
        assert!(me.headers().contains_key(h), "{h}");
    }
    let me: Value = me.json().await.unwrap();
    assert_eq!(me["id"], "4194304");
    assert_eq!(me["discriminator"], "0");
    assert_eq!(me["verified"], false);
    assert_eq!(me["email"], "p@example.com");

    let ids = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|g| g["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all: Value = get("/users/@me/guilds")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&all), ["10", "20", "30", "40"]);
    assert_eq!(all[2]["permissions"], "8");
    assert_eq!(all[0]["owner"], true);
    assert!(all[0].get("approximate_member_count").is_none());
    let page: Value = get("/users/@me/guilds?limit=2&after=10")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), ["20", "30"]);
    let page: Value = get("/users/@me/guilds?limit=2&before=40")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), ["20", "30"]);
    let counted: Value = get("/users/@me/guilds?with_counts=true")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(counted[0]["approximate_member_count"].is_u64());
    assert!(counted[0]["approximate_presence_count"].is_u64());
    let bad = get("/users/@me/guilds?limit=201").await.unwrap();
    assert_eq!(bad.status(), 400);
    assert_eq!(bad.json::<Value>().await.unwrap()["code"], 50035);

    // Scope missing: 403 Missing Access.
    let (narrow, _) = standin.issue_tokens_for("4194304", &["identify"]);
    let r = http()
        .get(format!("{}/users/@me/guilds", standin.api_url()))
        .bearer_auth(&narrow)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], 50001);
    // Without `email` there is no email or verified field.
    let me: Value = http()
        .get(format!("{}/users/@me", standin.api_url()))
        .bearer_auth(&narrow)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(me.get("email").is_none() && me.get("verified").is_none());

    // Expired, revoked: 401 with Discord's body, rate-limit headers included.
    assert!(standin.expire_access_token(&access));
    let r = get("/users/@me").await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("x-ratelimit-bucket"));
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        serde_json::json!({"message": "401: Unauthorized", "code": 0})
    );
    assert!(standin.access_token_valid(&narrow));
    standin.revoke_all_tokens_for("4194304");
    assert!(!standin.access_token_valid(&narrow));
}

#[tokio::test]
async fn scripted_faults_look_like_discord() {
    let standin = StandIn::start(Fixture::demo()).await.unwrap();
    let (access, _) = standin.issue_tokens_for(USER, &["identify"]);
    let me = || {
        http()
            .get(format!("{}/users/@me", standin.api_url()))
            .bearer_auth(&access)
            .send()
    };
    standin.fault(
        "/api/v10/users/@me",
        vec![
            Fault::RateLimited {
                retry_after: 0.3,
                global: false,
            },
            Fault::RateLimited {
                retry_after: 1.5,
                global: true,
            },
            Fault::Status(502),
            Fault::MalformedJson,
        ],
    );
    let r = me().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(r.headers()["x-ratelimit-scope"], "user");
    assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
    assert!(!r.headers().contains_key("x-ratelimit-global"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"], "You are being rate limited.");
    assert_eq!(body["retry_after"], 0.3);
    assert_eq!(body["global"], false);

    let r = me().await.unwrap();
    assert_eq!(r.headers()["x-ratelimit-global"], "true");
    assert_eq!(r.headers()["x-ratelimit-scope"], "global");
    assert_eq!(r.json::<Value>().await.unwrap()["global"], true);

    let r = me().await.unwrap();
    assert_eq!(r.status(), 502);
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        "502: Bad Gateway"
    );

    let r = me().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<Value>().await.is_err());

    assert_eq!(me().await.unwrap().status(), 200, "the queue is played out");
    let statuses: Vec<u16> = standin
        .requests_to("/api/v10/users/@me")
        .iter()
        .map(|r| r.status)
        .collect();
    assert_eq!(statuses, [429, 429, 502, 200, 200]);

    let r = http()
        .get(format!("{}/nope", standin.api_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["message"],
        "404: Not Found"
    );
}

#[tokio::test]
async fn cdn_serves_real_pictures() {
    let standin = StandIn::start(Fixture::demo()).await.unwrap();
    let get = |path: &str| http().get(format!("{}{path}", standin.cdn_url())).send();

    let png = get("/avatars/1/abc.png").await.unwrap();
    assert_eq!(png.status(), 200);
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(
        png.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(png.bytes().await.unwrap().starts_with(b"\x89PNG\r\n\x1a\n"));

    let gif = get("/icons/2/a_def.gif?size=64").await.unwrap();
    assert_eq!(gif.headers()["content-type"], "image/gif");
    let bytes = gif.bytes().await.unwrap();
    assert!(bytes.starts_with(b"GIF89a"));
    assert_eq!(&bytes[6..8], &64u16.to_le_bytes());

    let webp = get("/icons/2/def.webp").await.unwrap();
    assert_eq!(webp.headers()["content-type"], "image/png");
    assert_eq!(get("/embed/avatars/5.png").await.unwrap().status(), 200);
    assert_eq!(get("/embed/avatars/6.png").await.unwrap().status(), 404);
    assert_eq!(
        get("/avatars/1/abc.png?size=100").await.unwrap().status(),
        400
    );
}

#[tokio::test]
async fn bot_invite_page_adds_the_bot() {
    let standin = StandIn::start(Fixture::demo()).await.unwrap();
    let url = format!(
        "{}?client_id=1100000000000000001&scope=bot+applications.commands&permissions=40\
         &guild_id=1100000000000000101&disable_guild_select=true&integration_type=0",
        standin.authorize_url()
    );
    let page = http().get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Guildhall HQ"));
    assert!(html.contains("Manage Server") && html.contains("Administrator"));
    let done = post_form(
        standin.authorize_url(),
        &[
            ("pending", &hidden(&html, "pending")),
            ("decision", "authorize"),
        ],
    )
    .await;
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("Authorized"));
    assert_eq!(standin.bot_guilds(), ["1100000000000000101"]);
}
