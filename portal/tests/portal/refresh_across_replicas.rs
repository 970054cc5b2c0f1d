//! Two real portal processes on one PostgreSQL database and on one MariaDB
//! database: a user whose Discord token is inside the refresh margin, 16
//! concurrent requests split across both, and Discord's single-use refresh
//! token must be spent exactly once per round, with every request answered.

use std::time::Duration;

use discord_standin::{Fault, StandIn};
use portal::session::token::SessionTokens;
use settings::Secret;
use store::testing::TestDatabase;
use store::{Backend, OAuthCallback, Store, TokenUpdate, UserId};

use crate::common::*;
use crate::process::{PortalProcess, portal_command, temp_dir};

const ROUNDS: usize = 20;
const REQUESTS_PER_ROUND: usize = 16;

/// A replica: the real binary on its own port, every guild list asked of
/// Discord again (no cache), so every request needs the token.
fn replica(name: &str, db_url: &str, standin: &StandIn) -> PortalProcess {
    let dir = temp_dir(&format!("replica-{name}"));
    let mut cmd = portal_command(&dir, standin, db_url);
    cmd.env("GUILD_CACHE_TTL_SECONDS", "0");
    let mut replica = PortalProcess::spawn(cmd, dir);
    replica.wait_listening();
    replica
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
    let a = replica("a", &db.url, &standin);
    let b = replica("b", &db.url, &standin);
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
            let base = if i % 2 == 0 { a.url("") } else { b.url("") };
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
