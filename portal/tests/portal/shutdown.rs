//! Stopping the real binary (issues 17 and 18): SIGTERM stops new
//! connections, lets the requests under way finish within
//! `SHUTDOWN_GRACE_SECONDS`, never leaves a login half done, and the process
//! exits 0 within 8 s whatever it was doing — serving, waiting on a slow
//! Discord, or still waiting for its database at start-up.

use std::time::{Duration, Instant};

use discord_standin::{Fault, StandIn};

use crate::common::*;
use crate::process::{PortalProcess, portal_command, temp_dir};

/// What issue 18 allows from SIGTERM to exit.
const EXIT_BOUND: Duration = Duration::from_secs(8);

/// The portal's login as far as Discord's redirect back; the callback URL.
async fn authorize(portal: &PortalProcess, browser: &reqwest::Client) -> String {
    let login = browser
        .get(portal.url("/discord/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 302);
    let approved = browser.get(location(&login)).send().await.unwrap();
    assert_eq!(approved.status(), 302);
    location(&approved)
}

async fn wait_for_token_request(standin: &StandIn, before: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while standin.requests_to("/api/v10/oauth2/token").len() == before {
        assert!(
            Instant::now() < deadline,
            "the callback never reached Discord"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_lets_an_inflight_login_finish_then_exits_zero() {
    let standin = StandIn::start(base_fixture()).await.unwrap();
    let dir = temp_dir("inflight");
    let db = format!("sqlite://{}", dir.join("p.db").display());
    let mut portal = PortalProcess::spawn(portal_command(&dir, &standin, &db), dir);
    portal.wait_listening();
    let browser = client();
    let callback = authorize(&portal, &browser).await;

    // Discord takes its time over the code: the login is under way when
    // SIGTERM comes.
    standin.fault("/oauth2/token", vec![Fault::Delay(Duration::from_secs(2))]);
    let exchanges = standin.requests_to("/api/v10/oauth2/token").len();
    let login = tokio::spawn({
        let browser = browser.clone();
        async move { browser.get(&callback).send().await.unwrap() }
    });
    wait_for_token_request(&standin, exchanges).await;
    let signalled = Instant::now();
    portal.sigterm();

    // No new connection is taken once shutdown has begun.
    let addr = portal.addr.clone();
    let deadline = Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(&addr).await.is_ok() {
        assert!(Instant::now() < deadline, "still accepting connections");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The login under way completes, with its session.
    let done = login.await.unwrap();
    assert_eq!(done.status(), 302);
    assert!(cookie_value(&done, "fastapiusersauth").is_some());

    let status = tokio::task::block_in_place(|| portal.exit_status(signalled, EXIT_BOUND));
    let log = portal.log_so_far();
    let status = status.unwrap_or_else(|| panic!("still running 8 s after SIGTERM:\n{log}"));
    eprintln!("exited {:?} after SIGTERM", signalled.elapsed());
    assert_eq!(status.code(), Some(0), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_will_not_finish_does_not_hold_the_exit() {
    let standin = StandIn::start(base_fixture()).await.unwrap();
    let dir = temp_dir("stuck");
    let db = format!("sqlite://{}", dir.join("p.db").display());
    let mut cmd = portal_command(&dir, &standin, &db);
    // Discord answers the code exchange after 20 s, within the client's
    // timeout: only the grace period can end the wait.
    cmd.env("DISCORD_REQUEST_TIMEOUT_SECONDS", "30")
        .env("SHUTDOWN_GRACE_SECONDS", "2");
    let mut portal = PortalProcess::spawn(cmd, dir);
    portal.wait_listening();
    let browser = client();
    let callback = authorize(&portal, &browser).await;
    standin.fault("/oauth2/token", vec![Fault::Delay(Duration::from_secs(20))]);
    let exchanges = standin.requests_to("/api/v10/oauth2/token").len();
    let login = tokio::spawn({
        let browser = browser.clone();
        async move { browser.get(&callback).send().await }
    });
    wait_for_token_request(&standin, exchanges).await;
    let signalled = Instant::now();
    portal.sigterm();
    let status = tokio::task::block_in_place(|| portal.exit_status(signalled, EXIT_BOUND));
    let log = portal.log_so_far();
    let status = status.unwrap_or_else(|| panic!("still running 8 s after SIGTERM:\n{log}"));
    eprintln!("exited {:?} after SIGTERM", signalled.elapsed());
    assert_eq!(status.code(), Some(0), "{log}");
    assert!(log.contains("shutdown grace"), "the cut is logged:\n{log}");
    // The connection was dropped, not answered.
    assert!(login.await.unwrap().is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_while_waiting_for_the_database_at_start_up_exits_zero() {
    let standin = StandIn::start(base_fixture()).await.unwrap();
    let dir = temp_dir("startup");
    // Nothing listens on the discard port: start-up keeps retrying for 30 s.
    let mut cmd = portal_command(&dir, &standin, "postgres://postgres@127.0.0.1:9/none");
    cmd.env("DATABASE_CONNECT_RETRY_SECONDS", "30");
    let mut portal = PortalProcess::spawn(cmd, dir);
    // Retrying: it says so.
    portal.wait_for_line("retrying", Duration::from_secs(30));
    let signalled = Instant::now();
    portal.sigterm();
    let status = tokio::task::block_in_place(|| portal.exit_status(signalled, EXIT_BOUND));
    let log = portal.log_so_far();
    let status = status.unwrap_or_else(|| panic!("still running 8 s after SIGTERM:\n{log}"));
    eprintln!("exited {:?} after SIGTERM", signalled.elapsed());
    assert_eq!(status.code(), Some(0), "{log}");
}

/// A browser that gives up on the callback while Discord is still
/// answering: the login still completes on the server (the user is
/// registered and counted), rather than stopping with the code spent and
/// nothing written.
#[tokio::test]
async fn a_login_whose_browser_gives_up_still_completes() {
    let app = spawn_app(base_fixture()).await;
    let callback = app.authorize("/discord/login").await;
    app.standin.fault(
        "/oauth2/token",
        vec![Fault::Delay(Duration::from_millis(1500))],
    );
    let impatient = app
        .client
        .get(&callback)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(impatient.is_err(), "the browser gave up");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        if metrics.contains("guildhall_logins_total{outcome=\"register\"} 1") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the login was dropped half-way:\n{metrics}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(app.token_requests(), 1);
    app.stop().await;
}
