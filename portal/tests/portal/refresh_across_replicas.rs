//! Two real portal processes on one PostgreSQL database and on one MariaDB
//! database: a user whose Discord token is inside the refresh margin, 16
//! concurrent requests split across both, and Discord's single-use refresh
//! token must be spent exactly once per round, with every request answered.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use discord_standin::{Fault, StandIn};
use portal::session::token::SessionTokens;
use settings::Secret;
use store::testing::TestDatabase;
use store::{Backend, OAuthCallback, Store, TokenUpdate, UserId};

use crate::common::*;

const ROUNDS: usize = 20;
const REQUESTS_PER_ROUND: usize = 16;

/// A `portal` process; killed when dropped, so a failed assertion leaves none
/// behind.
struct Replica {
    child: Child,
    url: String,
    /// Its log so far, for the failure message.
    log: mpsc::Receiver<String>,
    dir: std::path::PathBuf,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Replica {
    /// Starts the binary on 127.0.0.1:0 and waits (with a deadline) for the
    /// line that names its address.
    fn start(name: &str, db_url: &str, standin: &StandIn, extra: &[(&str, &str)]) -> Replica {
        // Its own working directory: no stray `.env` is read.
        let dir = std::env::temp_dir().join(format!(
            "gh-replica-{name}-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_portal"));
        cmd.current_dir(&dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("RUST_LOG", "info")
            .env("DATABASE_URL", db_url)
            .env("PORTAL_BIND", "127.0.0.1:0")
            .env("PORTAL_PUBLIC_URL", "http://127.0.0.1:8000")
            .env("DISCORD_CLIENT_ID", CLIENT_ID)
            .env("DISCORD_CLIENT_SECRET", CLIENT_SECRET)
            .env("AUTH_SECRET", AUTH_SECRET)
            .env("DISCORD_API_URL", standin.api_url())
            .env("DISCORD_AUTHORIZE_URL", standin.authorize_url())
            .env("DISCORD_CDN_URL", standin.cdn_url())
            .env("COOKIE_SECURE", "false")
            // Every request needs the token: no guild list is reused.
            .env("GUILD_CACHE_TTL_SECONDS", "0")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the portal binary starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        // Drained for the process's whole life: a full pipe would block it.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = Vec::new();
        let addr = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = rx
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("replica {name} never listened: {seen:#?}"));
            if let Some(rest) = line.split("addr=").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
            seen.push(line);
        };
        Replica {
            child,
            url: format!("http://{addr}"),
            log: rx,
            dir,
        }
    }

    fn log_so_far(&self) -> String {
        self.log.try_iter().collect::<Vec<_>>().join("\n")
    }
}

/// A user whose stored Discord token expires inside the refresh margin, and
/// a session token for them.
async fn expiring_user(store: &Store, standin: &StandIn) -> (UserId, String) {
    let fixture = standin.fixture();
    let discord_user = &fixture.users[0];
    let (access, refresh) =
        standin.issue_tokens_for(&discord_user.id, &["identify", "email", "guilds"]);
    let (user, _) = store
        .oauth_callback(OAuthCallback {
            oauth_name: "discord",
            access_token: &Secret::new(access),
            account_id: &discord_user.id,
            account_email: discord_user.email.as_deref().unwrap(),
            expires_at: Some(chrono::Utc::now().timestamp() + 30),
            refresh_token: Some(&Secret::new(refresh)),
            associate_by_email: store::AssociateByEmail::IfVerified,
            is_verified_by_default: false,
        })
        .await
        .unwrap();
    let session = SessionTokens::new(&Secret::new(AUTH_SECRET), Duration::from_secs(3600))
        .issue(user.id)
        .unwrap();
    (user.id, session.expose().to_owned())
}

/// Moves the stored token's expiry inside the 60 s refresh margin, keeping
/// the pair itself (the refresh token is the one Discord knows).
async fn make_expiring(store: &Store, user: UserId) {
    let account = store
        .oauth_account_for_user(user, "discord")
        .await
        .unwrap()
        .unwrap();
    store
        .update_tokens(
            account.id,
            &TokenUpdate {
                access_token: account.access_token,
                expires_at: Some(chrono::Utc::now().timestamp() + 30),
                refresh_token: account.refresh_token,
            },
        )
        .await
        .unwrap();
}

fn refreshes(standin: &StandIn) -> usize {
    standin
        .requests()
        .iter()
        .filter(|r| {
            r.path.ends_with("/oauth2/token") && r.body.contains("grant_type=refresh_token")
        })
        .count()
}

async fn one_refresh_per_round(backend: Backend) {
    let Some(db) = TestDatabase::create(backend).await.unwrap() else {
        return;
    };
    // Migrated once, before either replica starts.
    let store = db.store().await;
    let standin = StandIn::start(base_fixture()).await.unwrap();
    let (user, session) = expiring_user(&store, &standin).await;
    let a = Replica::start("a", &db.url, &standin, &[]);
    let b = Replica::start("b", &db.url, &standin, &[]);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();

    for round in 0..ROUNDS {
        make_expiring(&store, user).await;
        // A slow refresh, so that every round the other replica's requests
        // arrive while it is under way.
        standin.fault(
            "/oauth2/token",
            vec![Fault::Delay(Duration::from_millis(50))],
        );
        let before = refreshes(&standin);
        let calls = (0..REQUESTS_PER_ROUND).map(|i| {
            let base = if i % 2 == 0 { &a.url } else { &b.url };
            client
                .get(format!("{base}/api/v1/discord/guilds"))
                .bearer_auth(&session)
                .send()
        });
        let statuses: Vec<u16> = futures::future::join_all(calls)
            .await
            .into_iter()
            .map(|r| r.map(|r| r.status().as_u16()).unwrap_or(0))
            .collect();
        let spent = refreshes(&standin) - before;
        assert!(
            statuses.iter().all(|s| *s == 200) && spent == 1,
            "{}: round {round}: statuses {statuses:?}, {spent} refreshes at Discord (want all 200 and exactly 1)\n--- replica a ---\n{}\n--- replica b ---\n{}",
            backend.name(),
            a.log_so_far(),
            b.log_so_far()
        );
    }
    drop(a);
    drop(b);
    store.close().await;
    db.drop_database().await;
}

#[tokio::test]
async fn two_replicas_on_postgres_refresh_once_per_round() {
    one_refresh_per_round(Backend::Postgres).await;
}

#[tokio::test]
async fn two_replicas_on_mariadb_refresh_once_per_round() {
    one_refresh_per_round(Backend::MySql).await;
}
