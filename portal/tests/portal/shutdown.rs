//! Stopping the real binary (issues 17 and 18): SIGTERM stops new
//! connections, lets the requests under way finish within
//! `SHUTDOWN_GRACE_SECONDS`, never leaves a login half done, and the process
//! exits 0 within 8 s whatever it was doing — serving, waiting on a slow
//! Discord, or still waiting for its database at start-up.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use discord_standin::{Fault, StandIn};

use crate::common::*;

/// What issue 18 allows from SIGTERM to exit.
const EXIT_BOUND: Duration = Duration::from_secs(8);

struct Portal {
    child: Child,
    addr: String,
    /// Every line the portal logged, as it comes.
    log: mpsc::Receiver<String>,
    dir: std::path::PathBuf,
}

impl Drop for Portal {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let n: u64 = rand::random();
    let dir = std::env::temp_dir().join(format!("gh-shutdown-{tag}-{n:016x}"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A port nobody listens on right now, so that `PORTAL_PUBLIC_URL` (the
/// OAuth redirect) can name it before the portal binds it.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn command(dir: &std::path::Path, standin: &StandIn, database_url: &str) -> Command {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portal"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info")
        .env("PORTAL_BIND", format!("127.0.0.1:{port}"))
        .env("PORTAL_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("DATABASE_URL", database_url)
        .env("DISCORD_CLIENT_ID", CLIENT_ID)
        .env("DISCORD_CLIENT_SECRET", CLIENT_SECRET)
        .env("AUTH_SECRET", AUTH_SECRET)
        .env("DISCORD_API_URL", standin.api_url())
        .env("DISCORD_AUTHORIZE_URL", standin.authorize_url())
        .env("DISCORD_CDN_URL", standin.cdn_url())
        .env("COOKIE_SECURE", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

fn spawn(mut cmd: Command, dir: std::path::PathBuf) -> Portal {
    let mut child = cmd.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, log) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    Portal {
        child,
        addr: String::new(),
        log,
        dir,
    }
}

impl Portal {
    /// Waits for the "listening" line; returns every line up to it.
    fn wait_listening(&mut self) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .log
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no listening line: {lines:#?}"));
            if let Some(rest) = line.split("addr=").nth(1) {
                self.addr = rest.split_whitespace().next().unwrap().to_owned();
                return lines;
            }
            lines.push(line);
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The exit status, polled until `bound` has passed since `from`;
    /// `None` if it was still running then.
    fn exit_status(&mut self, from: Instant, bound: Duration) -> Option<std::process::ExitStatus> {
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if from.elapsed() > bound {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn rest_of_log(&self) -> String {
        self.log.try_iter().collect::<Vec<_>>().join("\n")
    }
}

/// The portal's login as far as Discord's redirect back; the callback URL.
async fn authorize(portal: &Portal, browser: &reqwest::Client) -> String {
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
    let mut portal = spawn(command(&dir, &standin, &db), dir);
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
    let log = portal.rest_of_log();
    let status = status.unwrap_or_else(|| panic!("still running 8 s after SIGTERM:\n{log}"));
    eprintln!("exited {:?} after SIGTERM", signalled.elapsed());
    assert_eq!(status.code(), Some(0), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_will_not_finish_does_not_hold_the_exit() {
    let standin = StandIn::start(base_fixture()).await.unwrap();
    let dir = temp_dir("stuck");
    let db = format!("sqlite://{}", dir.join("p.db").display());
    let mut cmd = command(&dir, &standin, &db);
    // Discord answers the code exchange after 20 s, within the client's
    // timeout: only the grace period can end the wait.
    cmd.env("DISCORD_REQUEST_TIMEOUT_SECONDS", "30")
        .env("SHUTDOWN_GRACE_SECONDS", "2");
    let mut portal = spawn(cmd, dir);
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
    let log = portal.rest_of_log();
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
    let mut cmd = command(&dir, &standin, "postgres://postgres@127.0.0.1:9/none");
    cmd.env("DATABASE_CONNECT_RETRY_SECONDS", "30");
    let mut portal = spawn(cmd, dir);
    // Retrying: it says so.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = portal
            .log
            .recv_timeout(left)
            .expect("no 'retrying' line at start-up");
        if line.contains("retrying") {
            break;
        }
    }
    let signalled = Instant::now();
    portal.sigterm();
    let status = tokio::task::block_in_place(|| portal.exit_status(signalled, EXIT_BOUND));
    let log = portal.rest_of_log();
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
