//! The real binary on a fresh machine: no DATABASE_URL → the embedded SQLite
//! file is created, migrated, and the portal answers its health checks.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("gh-portal-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Kills the child even when an assertion fails, so no portal outlives its test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn base_command(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portal"));
    cmd.current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("RUST_LOG", "info");
    cmd
}

#[tokio::test]
async fn fresh_start_creates_sqlite_and_answers_health_checks() {
    let dir = temp_dir("fresh");
    let mut child = KillOnDrop(
        base_command(&dir)
            .env("PORTAL_BIND", "127.0.0.1:0")
            .env("DISCORD_CLIENT_ID", "1234")
            .env("DISCORD_CLIENT_SECRET", "s3cret-client")
            .env("AUTH_SECRET", "an-auth-secret-of-at-least-32-chars!")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );

    // The bound port is only known from the log line.
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut log = Vec::new();
    let addr = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = rx
            .recv_timeout(left)
            .unwrap_or_else(|_| panic!("no listening line: {log:#?}"));
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
        log.push(line);
    };

    let client = reqwest::Client::new();
    let health = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = client
        .get(format!("http://{addr}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert!(
        dir.join("guildhall.db").exists(),
        "SQLite file created in the working directory"
    );

    // Nothing secret was logged on the way.
    drop(child);
    let rest: Vec<String> = rx.try_iter().collect();
    let all = format!("{log:?}{rest:?}");
    assert!(
        !all.contains("s3cret-client") && !all.contains("an-auth-secret"),
        "{all}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn missing_configuration_is_one_clear_line_and_exit_2() {
    let dir = temp_dir("missing");
    let out = base_command(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("DISCORD_CLIENT_ID is not set"), "{stderr}");
    assert!(stderr.contains("--demo"), "{stderr}");

    let out = base_command(&dir)
        .env("PORTAL_BIND", "localhost")
        .arg("--demo")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("PORTAL_BIND is invalid"));

    let out = base_command(&dir)
        .env("DATABASE_URL", "oracle://nope")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DATABASE_URL is invalid"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn migrate_subcommand_applies_migrations_and_exits_zero() {
    let dir = temp_dir("migrate");
    let db = dir.join("m.db");
    let out = base_command(&dir)
        .env("DATABASE_URL", format!("sqlite://{}", db.display()))
        // No Discord application configured: migrations need only the database.
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn unreachable_database_fails_after_bounded_retries() {
    let dir = temp_dir("unreachable");
    let started = Instant::now();
    let out = base_command(&dir)
        .env("DATABASE_URL", "postgres://postgres:pw@127.0.0.1:9/none")
        .env("DATABASE_CONNECT_RETRY_SECONDS", "1")
        .arg("migrate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("database unreachable"), "{stderr}");
    assert!(started.elapsed() < Duration::from_secs(30));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn demo_runs_offline_against_its_own_stand_in() {
    let dir = temp_dir("demo");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.join("portal.log");
    let child = KillOnDrop(
        base_command(&dir)
            .env("PORTAL_BIND", format!("127.0.0.1:{port}"))
            // A deployment's database must never receive the demo's data.
            .env("DATABASE_URL", "sqlite://deployment.db")
            // Refusals are logged at debug.
            .env("RUST_LOG", "info,portal=debug")
            .arg("--demo")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if client
            .get(format!("{base}/readyz"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            break;
        }
        assert!(Instant::now() < deadline, "demo never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let login = client
        .get(format!("{base}/discord/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 302);
    // Plain-http cookies in the demo.
    let csrf = login.headers()["set-cookie"].to_str().unwrap();
    assert!(
        csrf.starts_with("fastapiusersoauthcsrf=") && !csrf.contains("Secure"),
        "{csrf}"
    );
    let to = login.headers()["location"].to_str().unwrap();
    assert!(
        to.starts_with("http://127.0.0.1:"),
        "the demo never sends anyone to discord.com: {to}"
    );
    let consent = client.get(to).send().await.unwrap().text().await.unwrap();
    assert!(consent.contains("id=\"authorize\""));
    let home = client.get(&base).send().await.unwrap();
    let page = home.text().await.unwrap();
    assert!(page.contains("Demo — signed in against a local stand-in for Discord"));
    assert!(dir.join("guildhall-demo.db").exists());
    assert!(!dir.join("deployment.db").exists());

    // The callback's query carries a one-time code: the access log keeps
    // the path only.
    let r = client
        .get(format!(
            "{base}/discord/callback?code=one-time-code-4711&state=x"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let request_id = r.headers()["x-request-id"].to_str().unwrap().to_owned();

    // SIGTERM (what `docker stop` sends) ends it cleanly.
    let mut child = child;
    let term = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGTERM");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{status:?}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("shutting down"), "{log}");
    let line = log
        .lines()
        .find(|l| l.contains(&request_id) && l.contains("/discord/callback"))
        .unwrap_or_else(|| panic!("no access log line for {request_id} in\n{log}"));
    assert!(line.contains("400"), "{line}");
    assert!(!log.contains("one-time-code-4711"), "{log}");
    // The refusal is told once by the login flow and once by the error log,
    // each in the request's span.
    for what in ["login refused", "request refused"] {
        let told = log
            .lines()
            .filter(|l| l.contains(what) && l.contains(&request_id))
            .count();
        assert_eq!(told, 1, "{what} for {request_id} in\n{log}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A callback's `error` is Discord's to write, or anyone's who crafts the
/// link: CR/LF in it must not start a forged line in the portal's log.
#[tokio::test]
async fn a_crafted_oauth_error_cannot_forge_log_lines() {
    let dir = temp_dir("forged-log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.join("portal.log");
    let mut child = KillOnDrop(
        base_command(&dir)
            .env("PORTAL_BIND", format!("127.0.0.1:{port}"))
            .env("RUST_LOG", "info,portal=debug")
            .arg("--demo")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log_path).unwrap())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("{base}/readyz"))
        .send()
        .await
        .is_ok_and(|r| r.status() == 200)
    {
        assert!(Instant::now() < deadline, "demo never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let forged = "access_denied%0D%0A2099-01-01T00:00:00Z%20INFO%20portal:%20FORGED-admin-login";
    for path in ["/discord/callback", "/api/v1/auth/discord/cookie/callback"] {
        let r = client
            .get(format!("{base}{path}?error={forged}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
    }
    let _ = child.0.kill();
    let _ = child.0.wait();
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(!log.contains("FORGED"), "{log}");
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("login refused"))
        .collect();
    assert_eq!(refused.len(), 2, "{log}");
    assert!(refused.iter().all(|l| l.contains("invalid_error")), "{log}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the binary until it exits on its own; `None` when it was still
/// running at the deadline (it started serving) and had to be killed.
fn exit_within(mut cmd: Command, limit: Duration) -> Option<(Option<i32>, String)> {
    let log = tempfile_path("exit-within");
    let mut child = KillOnDrop(
        cmd.stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() >= deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(child);
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    status.map(|s| (s.code(), stderr))
}

fn tempfile_path(tag: &str) -> std::path::PathBuf {
    let n: u64 = rand::random();
    std::env::temp_dir().join(format!("gh-portal-{tag}-{n:016x}.log"))
}

const GOOD_SECRET: &str = "9f2c41d0b7a35e68c1f04a9b2d7e3c5a8b6f1e0d4c2a7b9e3f5d1c8a6b4e2f07";

/// A portal that would start but for its secrets: a Discord application, a
/// database in `dir`, any port.
fn configured(dir: &std::path::Path) -> Command {
    let mut cmd = base_command(dir);
    cmd.env("PORTAL_BIND", "127.0.0.1:0")
        .env(
            "DATABASE_URL",
            format!("sqlite://{}", dir.join("s.db").display()),
        )
        .env("DISCORD_CLIENT_ID", "1234")
        .env("DISCORD_CLIENT_SECRET", "s3cret-client");
    cmd
}

#[test]
fn known_short_or_repetitive_signing_secrets_stop_start_up() {
    let dir = temp_dir("secrets");
    let placeholder = "replace-with-output-of-openssl-rand-hex-32";
    let repeated = "x".repeat(64);
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        // The value .env.example shipped with: public, so anyone could sign.
        ("AUTH_SECRET", vec![("AUTH_SECRET", placeholder.to_owned())]),
        ("AUTH_SECRET", vec![("AUTH_SECRET", repeated.clone())]),
        (
            "OAUTH_STATE_SECRET",
            vec![
                ("AUTH_SECRET", GOOD_SECRET.to_owned()),
                ("OAUTH_STATE_SECRET", "short-state-secret".to_owned()),
            ],
        ),
        (
            "OAUTH_STATE_SECRET",
            vec![
                ("AUTH_SECRET", GOOD_SECRET.to_owned()),
                ("OAUTH_STATE_SECRET", placeholder.to_owned()),
            ],
        ),
        (
            "AUTH_SECRET_PREVIOUS",
            vec![
                ("AUTH_SECRET", GOOD_SECRET.to_owned()),
                (
                    "AUTH_SECRET_PREVIOUS",
                    format!("{}, {repeated}", GOOD_SECRET.replace('9', "8")),
                ),
            ],
        ),
    ];
    for (variable, vars) in cases {
        let mut cmd = configured(&dir);
        for (k, v) in &vars {
            cmd.env(k, v);
        }
        let Some((code, stderr)) = exit_within(cmd, Duration::from_secs(30)) else {
            panic!("the portal started with {vars:?}");
        };
        assert_eq!(code, Some(2), "{vars:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!("{variable} is invalid")),
            "{vars:?}: {stderr}"
        );
        assert!(stderr.contains("openssl rand -hex 32"), "{stderr}");
        assert!(
            !stderr.contains(&repeated) && !stderr.contains(GOOD_SECRET),
            "a secret is never echoed: {stderr}"
        );
    }

    // .env.example copied as it is, with only the Discord values filled in.
    let example = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.env.example"),
    )
    .unwrap();
    std::fs::write(dir.join(".env"), example).unwrap();
    let Some((code, stderr)) = exit_within(configured(&dir), Duration::from_secs(30)) else {
        panic!("the portal started with .env.example's AUTH_SECRET");
    };
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("AUTH_SECRET is not set"), "{stderr}");
    assert!(stderr.contains("openssl rand -hex 32"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
