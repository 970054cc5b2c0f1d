//! Korean and English: `Accept-Language`, `?lang=` and its cookie, the
//! user's Discord locale, error pages in both languages.

use discord_standin::Fault;
use reqwest::header::ACCEPT_LANGUAGE;

use crate::common::*;

const KOREAN_BROWSER: &str = "ko-KR,ko;q=0.9,en;q=0.8";

async fn page(app: &TestApp, path: &str, accept: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(accept) = accept {
        request = request.header(ACCEPT_LANGUAGE, accept);
    }
    let r = request.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

fn is_korean(html: &str) -> bool {
    html.contains("<html lang=\"ko\">")
}

fn is_english(html: &str) -> bool {
    html.contains("<html lang=\"en\">")
}

#[tokio::test]
async fn a_korean_browser_gets_the_korean_sign_in_page() {
    let app = spawn_app(base_fixture()).await;
    let (status, html) = page(&app, "/", Some(KOREAN_BROWSER)).await;
    assert_eq!(status, 200);
    assert!(is_korean(&html), "{html}");
    assert!(html.contains("디스코드로 로그인"), "{html}");
    assert!(!html.contains("Login with Discord"), "{html}");
    // The switch offers both, marks the current one, keeps the page.
    // (minijinja writes `/` as `&#x2f;` in attributes.)
    assert!(
        html.contains(r#"href="&#x2f;?lang=en" lang="en""#),
        "{html}"
    );
    assert!(
        html.contains(r#"id="lang-ko" aria-current="true""#),
        "{html}"
    );

    let (_, html) = page(&app, "/", None).await;
    assert!(
        is_english(&html) && html.contains("Login with Discord"),
        "{html}"
    );
    let (_, html) = page(&app, "/", Some("ja, fr;q=0.9")).await;
    assert!(is_english(&html), "English when nothing else fits");
    app.stop().await;
}

#[tokio::test]
async fn lang_parameter_overrides_and_sticks() {
    let app = spawn_app(base_fixture()).await;
    let r = app
        .client
        .get(app.url("/?next=%2Fdiscord%2Fguilds&lang=en"))
        .header(ACCEPT_LANGUAGE, KOREAN_BROWSER)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        "/?next=%2Fdiscord%2Fguilds",
        "other parameters kept"
    );
    let cookie = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("guildhall_lang="))
        .expect("the language cookie");
    assert!(
        cookie.starts_with("guildhall_lang=en;")
            && cookie.contains("Path=/")
            && cookie.contains("SameSite=lax")
            && !cookie.contains("Secure"),
        "COOKIE_SECURE=false here: {cookie}"
    );
    // The cookie beats the browser's languages, on every page after.
    let (_, html) = page(&app, "/?next=%2Fdiscord%2Fguilds", Some(KOREAN_BROWSER)).await;
    assert!(is_english(&html), "{html}");
    app.login().await;
    let (_, html) = page(&app, "/discord/guilds", Some(KOREAN_BROWSER)).await;
    assert!(is_english(&html) && html.contains("Your servers"), "{html}");

    // And back: the guild page cache holds one page per language.
    let r = app.get("/discord/guilds?lang=ko").await;
    assert_eq!(
        (r.status().as_u16(), location(&r).as_str()),
        (303, "/discord/guilds")
    );
    let (_, html) = page(&app, "/discord/guilds", None).await;
    assert!(is_korean(&html) && html.contains("내 서버"), "{html}");
    assert!(!html.contains("Your servers"));

    // A language Guildhall lacks changes nothing; the API never redirects.
    let r = app.get("/discord/guilds?lang=fr").await;
    assert_eq!(r.status(), 303);
    assert!(
        set_cookies(&r)
            .iter()
            .all(|c| !c.starts_with("guildhall_lang"))
    );
    let (_, html) = page(&app, "/discord/guilds", None).await;
    assert!(is_korean(&html));
    assert_eq!(app.get("/api/v1/users/me?lang=ko").await.status(), 200);
    app.stop().await;

    let secure = spawn_app_with(base_fixture(), |e| e.set("COOKIE_SECURE", "true"), |_| {}).await;
    let r = secure.get("/?lang=ko").await;
    assert!(
        set_cookies(&r)
            .iter()
            .any(|c| c.starts_with("guildhall_lang=ko;") && c.contains("; Secure")),
        "Secure per COOKIE_SECURE"
    );
    secure.stop().await;
}

#[tokio::test]
async fn a_user_whose_discord_speaks_korean_gets_korean_pages() {
    let mut fixture = base_fixture();
    fixture.users[0].locale = "ko".into();
    let app = spawn_app(fixture).await;
    app.login().await;
    let (_, html) = page(&app, "/discord/guilds", Some("en-US,en;q=0.9")).await;
    assert!(
        is_korean(&html),
        "Discord's locale beats the browser: {html}"
    );
    assert!(
        html.contains("로그아웃") && html.contains("소유자"),
        "{html}"
    );
    let guild = &app.standin.fixture().users[0].guilds[0];
    let (_, html) = page(&app, &format!("/discord/guilds/{}", guild.id), Some("en")).await;
    assert!(
        html.contains("관리자") && html.contains("내 권한"),
        "permissions in Korean: {html}"
    );
    assert!(!html.contains("Administrator"), "{html}");
    // The user's own choice beats Discord's.
    app.get("/?lang=en").await;
    let (_, html) = page(&app, "/discord/guilds", None).await;
    assert!(is_english(&html));
    app.stop().await;
}

/// A login link that expired: the callback's state signed like the portal's,
/// with an `exp` in the past.
fn expired_state() -> String {
    #[derive(serde::Serialize)]
    struct C<'a> {
        csrftoken: &'a str,
        aud: &'a str,
        exp: i64,
    }
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &C {
            csrftoken: "x",
            aud: "fastapi-users:oauth-state",
            exp: chrono::Utc::now().timestamp() - 10,
        },
        &jsonwebtoken::EncodingKey::from_secret(AUTH_SECRET.as_bytes()),
    )
    .unwrap()
}

#[tokio::test]
async fn error_pages_in_both_languages() {
    let app = spawn_app_with(
        base_fixture(),
        |e| e.set("GUILD_CACHE_TTL_SECONDS", "0"),
        |_| {},
    )
    .await;
    let expired = format!("/discord/callback?code=c&state={}", expired_state());
    let (status, html) = page(&app, &expired, Some(KOREAN_BROWSER)).await;
    assert_eq!(status, 400);
    assert!(is_korean(&html), "{html}");
    assert!(html.contains("로그인 링크가 만료되었어요"), "{html}");
    assert!(
        html.contains("로그인 화면으로 돌아가기") && html.contains("ACCESS_TOKEN_ALREADY_EXPIRED")
    );
    let (status, html) = page(&app, &expired, Some("en")).await;
    assert_eq!(status, 400);
    assert!(
        is_english(&html) && html.contains("Login link expired"),
        "{html}"
    );

    app.login().await;
    app.standin
        .fault("/users/@me/guilds", vec![Fault::Status(502); 8]);
    let (status, html) = page(&app, "/discord/guilds", Some(KOREAN_BROWSER)).await;
    assert_eq!(status, 502);
    assert!(is_korean(&html), "{html}");
    assert!(html.contains("디스코드에 연결할 수 없어요"), "{html}");
    assert!(html.contains("내 서버로 돌아가기"), "{html}");
    let (status, html) = page(&app, "/discord/guilds", Some("en")).await;
    assert_eq!(status, 502);
    assert!(html.contains("Discord is unavailable"), "{html}");
    // The API's answer is the same machine code in any language.
    let r = app
        .client
        .get(app.url("/api/v1/discord/guilds"))
        .header(ACCEPT_LANGUAGE, KOREAN_BROWSER)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 502);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["detail"], "DISCORD_UNAVAILABLE");
    app.stop().await;
}
