//! Stopping the real bot binary while its shards are still starting (a
//! deploy or `docker compose restart` in the first seconds): SIGTERM at
//! several moments of start-up must end in exit 0 within the bound, which
//! leaves room under Docker Compose's stop grace period.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use discord_standin::gateway::{BotFixture, BotStandIn};
use store::Backend;
use store::testing::TestDatabase;

const TOKEN: &str = "MTIwMDAwMDAwMDAwMDAwMDAwMQ.GhXyZa.standin-token-not-a-secret-0123456789";
/// For the moment to arrive (start-up itself has no deadline of its own).
const WAIT: Duration = Duration::from_secs(30);
/// SIGTERM to exit, at any moment of start-up (issue: within 8 s).
const EXIT_WITHIN: Duration = Duration::from_secs(8);

/// Kills the child even when an assertion fails.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn identifies(standin: &BotStandIn) -> usize {
    standin
        .frames()
        .iter()
        .filter(|f| f.payload["op"] == 2)
        .count()
}

/// When, during start-up, the signal is sent.
#[derive(Debug, Clone, Copy)]
enum Moment {
    /// The bot has asked Discord its first question (database migrated,
    /// shards not started).
    FirstRequest,
    /// This many shards have identified (the rest are still to start).
    Identified(usize),
}

async fn stop_at(moment: Moment) {
    // Ten shards: at one start per 5 s, start-up would last 45 s.
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let mut child = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_bot"))
            .env_clear()
            .current_dir(std::env::temp_dir())
            .env("DISCORD_BOT_TOKEN", TOKEN)
            .env("DATABASE_URL", &db.url)
            .env("DISCORD_PROXY_URL", standin.base_url())
            .env("SHARD_COUNT", "10")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let arrived = match moment {
        Moment::FirstRequest => standin.wait_until(WAIT, |s| !s.requests().is_empty()).await,
        Moment::Identified(n) => standin.wait_until(WAIT, |s| identifies(s) >= n).await,
    };
    assert!(arrived, "{moment:?} never came");
    assert!(
        identifies(&standin) < 10,
        "{moment:?}: start-up was over before the signal"
    );
    let term = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < EXIT_WITHIN,
            "{moment:?}: still running {EXIT_WITHIN:?} after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "{moment:?}: {status:?}");
    // Stopped means stopped: no shard started after the signal.
    let at_exit = identifies(&standin);
    assert!(at_exit < 10, "{moment:?}: {at_exit} shards identified");
    standin.shutdown().await;
    db.drop_database().await;
}

#[tokio::test]
async fn sigterm_during_start_up_exits_cleanly_within_the_bound() {
    for moment in [
        Moment::FirstRequest,
        Moment::Identified(1),
        Moment::Identified(2),
    ] {
        stop_at(moment).await;
    }
}
