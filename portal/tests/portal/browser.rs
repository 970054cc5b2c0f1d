//! A real browser (Debian's headless chromium, driven through chromedriver)
//! walks the whole flow: sign-in page → Login with Discord → the stand-in's
//! consent page → Authorize → the guild overview → one guild → log out, then
//! in again and "log out everywhere".
//! Screenshots of the overview at desktop and phone widths are saved under
//! `target/tmp/screenshots/` for people to look at. A second walk manages a
//! server: a tag, the welcome message, the audit log. A third browser, set
//! to Korean, signs in, lands on the Korean pages and manages a server in
//! Korean (`ko-*.png`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::common::*;
use crate::process::free_port;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_until<F, Fut>(what: &str, deadline: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + deadline;
    while !check().await {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A headless chromium; `korean` sets its interface language and the
/// `Accept-Language` it sends to Korean.
async fn browser(korean: bool) -> Option<(Driver, Client, std::path::PathBuf)> {
    if !std::path::Path::new(CHROMIUM).exists() || !std::path::Path::new(CHROMEDRIVER).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must install chromium and chromium-driver"
        );
        // Straight to stderr: libtest swallows a passing test's eprintln!.
        store::testing::announce_skip(&format!(
            "the browser test: {CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
        ));
        return None;
    }
    let port = free_port();
    let driver = Driver(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let url = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    wait_until("chromedriver", Duration::from_secs(30), || {
        let req = http.get(format!("{url}/status")).send();
        async move { req.await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;

    let profile = std::env::temp_dir().join(format!("gh-chromium-{}-{port}", std::process::id()));
    let mut caps = serde_json::Map::new();
    let mut args = vec![
        "--headless=new".to_owned(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-quic".into(),
        "--no-first-run".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--window-size=1280,900".into(),
        format!("--user-data-dir={}", profile.display()),
    ];
    let mut prefs = serde_json::json!({});
    if korean {
        args.push("--lang=ko-KR".into());
        // What chromium puts in Accept-Language.
        prefs = serde_json::json!({"intl": {"accept_languages": "ko-KR,ko,en-US,en"}});
    }
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({ "binary": CHROMIUM, "args": args, "prefs": prefs }),
    );
    // chromedriver speaks plain http on loopback: no TLS needed.
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&url)
        .await
        .expect("a chromium session");
    Some((driver, client, profile))
}

#[tokio::test]
async fn a_person_logs_in_sees_their_servers_and_logs_out() {
    let Some((_driver, b, profile)) = browser(false).await else {
        return;
    };
    let mut fixture = base_fixture();
    fixture.auto_approve = false;
    let app = spawn_app_with(fixture.clone(), |_| {}, |c| c.demo = true).await;
    portal::demo::seed_bot_presence(app.store(), &fixture)
        .await
        .unwrap();

    b.goto(&app.url("/")).await.unwrap();
    let banner = b
        .find(Locator::Css(".demo-banner"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(banner.contains("stand-in"), "{banner}");
    b.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Discord's (stand-in) consent page.
    let authorize = b
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("authorize"))
        .await
        .unwrap();
    assert!(
        b.current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&app.standin.base_url())
    );
    authorize.click().await.unwrap();

    // Back on the portal, signed in.
    let grid = b
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("guilds"))
        .await
        .unwrap();
    assert!(
        b.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/discord/guilds")
    );
    let cards = grid.find_all(Locator::Css(".guild-card")).await.unwrap();
    let expected = fixture.users[0].guilds.len();
    assert_eq!(cards.len(), expected);
    let text = grid.text().await.unwrap();
    for g in &fixture.users[0].guilds {
        assert!(text.contains(g.name.trim()), "{} is listed", g.name);
    }
    let manage = b.find_all(Locator::LinkText("Manage")).await.unwrap();
    let invite = b.find_all(Locator::LinkText("Invite bot")).await.unwrap();
    assert!(
        !manage.is_empty(),
        "the bot is present somewhere manageable"
    );
    assert!(!invite.is_empty(), "and absent somewhere manageable");
    let nick = b
        .find(Locator::Css(".nick"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!nick.is_empty());

    // Screenshots for people: desktop, then phone width.
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("guilds-desktop.png"),
        b.screenshot().await.unwrap(),
    )
    .unwrap();
    b.set_window_size(390, 844).await.unwrap();
    std::fs::write(dir.join("guilds-phone.png"), b.screenshot().await.unwrap()).unwrap();
    b.set_window_size(1280, 900).await.unwrap();

    // One guild.
    manage[0].click().await.unwrap();
    let status = b
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("bot-status"))
        .await
        .unwrap();
    assert_eq!(status.text().await.unwrap(), "Present in this server");
    assert!(
        !b.find(Locator::Id("guild-name"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .is_empty()
    );
    std::fs::write(dir.join("guild-desktop.png"), b.screenshot().await.unwrap()).unwrap();

    // Log out: back to the sign-in page, and the overview needs a login again.
    // The session the browser held is over on the server too (the form's
    // POST carries the browser's own Origin / Sec-Fetch-Site headers).
    let session = session_cookie(&b).await;
    b.find(Locator::Id("logout"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("login"))
        .await
        .unwrap();
    b.goto(&app.url("/discord/guilds")).await.unwrap();
    std::fs::write(dir.join("after-logout.png"), b.screenshot().await.unwrap()).unwrap();
    b.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("login"))
        .await
        .unwrap();
    assert!(
        b.current_url()
            .await
            .unwrap()
            .as_str()
            .contains("next=%2Fdiscord%2Fguilds")
    );
    assert_eq!(
        me_status(&app, &session).await,
        401,
        "logged out on the server"
    );

    // Sign in again, then "Log out everywhere".
    b.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("authorize"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("logout-everywhere"))
        .await
        .unwrap();
    let session = session_cookie(&b).await;
    assert_eq!(me_status(&app, &session).await, 200);
    b.find(Locator::Id("logout-everywhere"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("login"))
        .await
        .unwrap();
    assert_eq!(me_status(&app, &session).await, 401, "every session ended");

    b.close().await.unwrap();
    app.stop().await;
    let _ = std::fs::remove_dir_all(profile);
}

#[tokio::test]
async fn a_korean_browser_signs_in_and_lands_on_the_korean_guild_page() {
    let Some((_driver, b, profile)) = browser(true).await else {
        return;
    };
    let mut fixture = base_fixture();
    fixture.auto_approve = false;
    let app = spawn_app_with(fixture.clone(), |_| {}, |c| c.demo = true).await;
    portal::demo::seed_bot_presence(app.store(), &fixture)
        .await
        .unwrap();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let user = &fixture.users[0];
    // What the pages may show in Latin letters: what people named
    // themselves and their servers, the product, the switch to English
    // (and UTC, the time zone's name in either language).
    let mut names: Vec<String> = vec!["Guildhall".into(), "English".into(), "UTC".into()];
    names.extend(user.global_name.clone());
    for g in &user.guilds {
        names.push(g.name.clone());
        names.push(portal::pages::initials(&g.name));
    }
    names.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let english_left = |text: &str| -> Vec<String> {
        let mut text = text.to_owned();
        for n in &names {
            text = text.replace(n.as_str(), " ");
        }
        text.split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| w.len() >= 2)
            .map(str::to_owned)
            .collect()
    };
    let lang_of = |b: Client| async move {
        b.find(Locator::Css("html"))
            .await
            .unwrap()
            .attr("lang")
            .await
            .unwrap()
            .unwrap_or_default()
    };
    let shoot = |b: Client, name: &'static str| {
        let dir = dir.clone();
        async move {
            for (width, height, size) in [(1280, 900, "desktop"), (390, 844, "phone")] {
                b.set_window_size(width, height).await.unwrap();
                let png = b.screenshot().await.unwrap();
                std::fs::write(dir.join(format!("ko-{name}-{size}.png")), png).unwrap();
            }
            b.set_window_size(1280, 900).await.unwrap();
        }
    };

    b.goto(&app.url("/")).await.unwrap();
    assert_eq!(lang_of(b.clone()).await, "ko", "Accept-Language: ko-KR");
    let body = b
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        english_left(&body).is_empty(),
        "{:?} in {body}",
        english_left(&body)
    );
    shoot(b.clone(), "sign-in").await;
    b.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("authorize"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    // Landed on the overview, in Korean.
    b.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("guilds"))
        .await
        .unwrap();
    assert_eq!(lang_of(b.clone()).await, "ko");
    let heading = b
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "내 서버");
    let body = b
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        english_left(&body).is_empty(),
        "{:?} in {body}",
        english_left(&body)
    );
    shoot(b.clone(), "guilds").await;

    // One guild's page: a manager's, with the settings form.
    let manage = b.find_all(Locator::LinkText("관리하기")).await.unwrap();
    assert!(!manage.is_empty(), "{body}");
    manage[0].click().await.unwrap();
    let status = b
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("bot-status"))
        .await
        .unwrap();
    assert_eq!(status.text().await.unwrap(), "이 서버에 있어요");
    let message = b.find(Locator::Id("message")).await.unwrap();
    assert_eq!(
        message.prop("value").await.unwrap().as_deref(),
        Some("{user} 님, {server}에 오신 것을 환영해요!"),
        "a server that never saved is offered the Korean default"
    );
    let prose = page_prose(&b).await;
    assert!(
        english_left(&prose).is_empty(),
        "{:?} in {prose}",
        english_left(&prose)
    );
    shoot(b.clone(), "guild").await;

    // A tag made in Korean, a refusal in Korean, then the audit log.
    b.find(Locator::Id("tags-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let name = b
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("name"))
        .await
        .unwrap();
    name.send_keys("Rules").await.unwrap();
    b.find(Locator::Id("content"))
        .await
        .unwrap()
        .send_keys("서로 존중해 주세요.")
        .await
        .unwrap();
    b.find(Locator::Id("save-tag"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let error = b
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("name-error"))
        .await
        .unwrap();
    assert_eq!(
        error.text().await.unwrap(),
        "소문자만 쓸 수 있어요 (대문자: 'R')"
    );
    let name = b.find(Locator::Id("name")).await.unwrap();
    name.clear().await.unwrap();
    name.send_keys("규칙").await.unwrap();
    b.find(Locator::Id("save-tag"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let saved = b
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Id("saved"))
        .await
        .unwrap();
    assert_eq!(saved.text().await.unwrap(), "태그를 저장했어요: 규칙");
    let prose = page_prose(&b).await;
    assert!(
        english_left(&prose).is_empty(),
        "{:?} in {prose}",
        english_left(&prose)
    );
    shoot(b.clone(), "tags").await;
    b.find(Locator::Id("audit-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let entry = b
        .wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css(".audit-entry"))
        .await
        .unwrap();
    let text = entry.text().await.unwrap();
    assert!(text.starts_with("태그 생성: 규칙"), "{text}");
    assert!(
        text.contains("년") && text.contains("(UTC)"),
        "a Korean date: {text}"
    );
    let prose = page_prose(&b).await;
    assert!(
        english_left(&prose).is_empty(),
        "{:?} in {prose}",
        english_left(&prose)
    );
    shoot(b.clone(), "audit").await;

    // An error page, and the switch to English by keyboard alone.
    b.goto(&app.url("/discord/guilds/1")).await.unwrap();
    let body = b
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("페이지를 찾을 수 없어요"), "{body}");
    // (The error code is the API's, and stays.)
    assert_eq!(
        english_left(&body.replace("Not Found", "")),
        Vec::<String>::new()
    );
    shoot(b.clone(), "not-found").await;
    let switch = b.find(Locator::Id("lang-en")).await.unwrap();
    switch.send_keys("\u{E007}").await.unwrap(); // Enter
    b.wait()
        .at_most(Duration::from_secs(20))
        .for_element(Locator::Css("html[lang='en']"))
        .await
        .unwrap();
    assert!(
        b.current_url()
            .await
            .unwrap()
            .as_str()
            .ends_with("/discord/guilds/1"),
        "back on the same page, without ?lang="
    );
    let heading = b
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(heading, "Not found");

    b.close().await.unwrap();
    app.stop().await;
    let _ = std::fs::remove_dir_all(profile);
}

/// The page's text without what people typed or chose (form fields,
/// `code`, `pre`, a tag's text): what Guildhall itself says.
async fn page_prose(b: &Client) -> String {
    let mut text = b
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let typed = b
        .find_all(Locator::Css("select, textarea, code, pre, .tag-content"))
        .await
        .unwrap();
    for element in typed {
        let shown = element.text().await.unwrap_or_default();
        for line in shown.lines().filter(|l| !l.trim().is_empty()) {
            text = text.replace(line.trim(), " ");
        }
    }
    text
}

/// The session cookie the browser holds (HttpOnly, so read through WebDriver).
async fn session_cookie(b: &Client) -> String {
    b.get_named_cookie("fastapiusersauth")
        .await
        .expect("the browser holds a session cookie")
        .value()
        .to_owned()
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    reqwest::Client::new()
        .get(app.url("/api/v1/users/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// A server's manager, in a real browser: sign in, open the server, create
/// a tag, change the welcome message, and find both in the audit log.
/// Screenshots of each page at desktop and phone widths go to
/// `target/tmp/screenshots/manage-*.png`.
#[tokio::test]
async fn a_manager_creates_a_tag_changes_the_welcome_message_and_sees_both_in_the_audit_log() {
    let Some((_driver, b, profile)) = browser(false).await else {
        return;
    };
    let fixture = base_fixture();
    let app = spawn_app_with(fixture.clone(), |_| {}, |c| c.demo = true).await;
    portal::demo::seed_bot_presence(app.store(), &fixture)
        .await
        .unwrap();
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let shoot = |name: &'static str| {
        let b = b.clone();
        let dir = dir.clone();
        async move {
            std::fs::write(
                dir.join(format!("manage-{name}-desktop.png")),
                b.screenshot().await.unwrap(),
            )
            .unwrap();
            b.set_window_size(390, 844).await.unwrap();
            std::fs::write(
                dir.join(format!("manage-{name}-phone.png")),
                b.screenshot().await.unwrap(),
            )
            .unwrap();
            b.set_window_size(1280, 900).await.unwrap();
        }
    };
    let wait_for = |locator: Locator<'static>| {
        let b = b.clone();
        async move {
            b.wait()
                .at_most(Duration::from_secs(20))
                .for_element(locator)
                .await
                .unwrap()
        }
    };

    // Sign in (the stand-in approves at once) and open the first server to manage.
    b.goto(&app.url("/")).await.unwrap();
    b.find(Locator::Id("login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(Locator::Id("guilds")).await;
    b.find(Locator::LinkText("Manage"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(Locator::Id("settings-form")).await;
    let guild_url = b.current_url().await.unwrap();
    let guild_id: u64 = guild_url
        .path_segments()
        .unwrap()
        .next_back()
        .unwrap()
        .parse()
        .unwrap();

    // A tag.
    b.find(Locator::Id("tags-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(Locator::Id("tag-form")).await;
    b.find(Locator::Id("name"))
        .await
        .unwrap()
        .send_keys("규칙")
        .await
        .unwrap();
    b.find(Locator::Id("content"))
        .await
        .unwrap()
        .send_keys("Be kind. @everyone is not pinged.")
        .await
        .unwrap();
    b.find(Locator::Id("save-tag"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let saved = wait_for(Locator::Id("saved")).await;
    assert!(saved.text().await.unwrap().contains("규칙"));
    let listed = b.find(Locator::Css("[data-tag=\"규칙\"]")).await.unwrap();
    assert!(listed.text().await.unwrap().contains("Be kind."));
    shoot("tags").await;

    // The welcome message: on, in #welcome, with placeholders.
    b.goto(guild_url.as_str()).await.unwrap();
    wait_for(Locator::Id("settings-form")).await;
    b.find(Locator::Id("enabled"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.find(Locator::Css("#channel_id option:nth-child(3)"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let message = b.find(Locator::Id("message")).await.unwrap();
    message.clear().await.unwrap();
    message
        .send_keys("Welcome {user} to {server}! You are member {member_count}.")
        .await
        .unwrap();
    b.find(Locator::Id("save-settings"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(Locator::Id("saved")).await;
    // The form at the top of the screenshot.
    b.execute(
        "document.getElementById('settings-title').scrollIntoView()",
        vec![],
    )
    .await
    .unwrap();
    let stored = app.store().guild_preferences(guild_id).await.unwrap();
    assert!(stored.welcome_enabled);
    assert!(stored.welcome_channel_id.is_some());
    assert_eq!(
        stored.welcome_message,
        "Welcome {user} to {server}! You are member {member_count}."
    );
    shoot("settings").await;

    // Both in the audit log, newest first.
    b.find(Locator::Id("audit-link"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let log = wait_for(Locator::Id("audit")).await;
    let entries = log.find_all(Locator::Css(".audit-entry")).await.unwrap();
    let mut actions = Vec::new();
    for e in &entries {
        actions.push(e.attr("data-action").await.unwrap().unwrap_or_default());
    }
    assert_eq!(actions, ["settings.update", "tag.create"]);
    let text = log.text().await.unwrap();
    assert!(
        text.contains("welcome") && text.contains("{member_count}"),
        "{text}"
    );
    assert!(text.contains("규칙") && text.contains("Be kind."), "{text}");
    shoot("audit").await;

    b.close().await.unwrap();
    app.stop().await;
    let _ = std::fs::remove_dir_all(profile);
}
