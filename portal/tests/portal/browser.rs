//! A real browser (Debian's headless chromium, driven through chromedriver)
//! walks the whole flow: sign-in page → Login with Discord → the stand-in's
//! consent page → Authorize → the guild overview → one guild → log out, then
//! in again and "log out everywhere".
//! Screenshots of the overview at desktop and phone widths are saved under
//! `target/tmp/screenshots/` for people to look at. A second browser set to
//! Korean signs in and lands on the Korean pages (`ko-*.png`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::common::*;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
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
    // themselves and their servers, the product, and the switch to English.
    let mut names: Vec<String> = vec!["Guildhall".into(), "English".into()];
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

    // One guild's page.
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
    shoot(b.clone(), "guild").await;

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
