//! What a process manager does at boot: the real portal binary and two real
//! bot binaries started at the same instant on a fresh database, which each
//! of them migrates at start-up. Twenty rounds per backend; every process
//! must come up every time ("table already exists" or "database is locked"
//! from a lost race is a crash).
//!
//! "Up" is what follows the migrations: the portal's `/readyz` answering 200,
//! and each bot's "gateway intents decided" line (written after its store is
//! migrated). The shards themselves are not waited for: they are not what
//! races here, and waiting for them would multiply the test's time.
//!
//! The portal binary is the one built beside the bot's (`cargo test
//! --workspace` builds both); when it is absent the test says SKIPPED.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use discord_standin::gateway::{BotFixture, BotStandIn};
use store::Backend;
use store::testing::TestDatabase;

const ROUNDS: usize = 20;
/// Per round, for all three to come up (a slow CI machine, MariaDB's DDL).
const UP_WITHIN: Duration = Duration::from_secs(60);
const TOKEN: &str = "MTIwMDAwMDAwMDAwMDAwMDAwMQ.GhXyZa.standin-token-not-a-secret-0123456789";

fn portal_binary() -> Option<PathBuf> {
    let bot = PathBuf::from(env!("CARGO_BIN_EXE_bot"));
    let portal = bot.with_file_name(format!("portal{}", std::env::consts::EXE_SUFFIX));
    portal.exists().then_some(portal)
}

/// A started process, its stderr lines arriving on a channel, killed on drop
/// so that no process outlives a failed assertion.
struct Proc {
    name: &'static str,
    child: Child,
    lines: mpsc::Receiver<String>,
    log: Vec<String>,
}

impl Proc {
    fn spawn(name: &'static str, mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Proc {
            name,
            child,
            lines,
            log: Vec::new(),
        }
    }

    /// Collects the lines logged so far; true when one contains `needle`.
    fn logged(&mut self, needle: &str) -> bool {
        self.log.extend(self.lines.try_iter());
        self.log.iter().any(|l| l.contains(needle))
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    fn failure(&mut self, why: &str) -> String {
        // The reader thread may still hold the dying process's last lines.
        let until = Instant::now() + Duration::from_secs(2);
        while let Ok(line) = self
            .lines
            .recv_timeout(until.saturating_duration_since(Instant::now()))
        {
            self.log.push(line);
        }
        format!("{} {why}:\n{}", self.name, self.log.join("\n"))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(binary: &std::path::Path, dir: &std::path::Path, db_url: &str) -> Command {
    let mut cmd = Command::new(binary);
    cmd.current_dir(dir)
        .env_clear()
        .env("RUST_LOG", "info")
        .env("DATABASE_URL", db_url);
    cmd
}

/// The portal's address, from its "listening" line.
fn portal_addr(proc: &mut Proc) -> Option<String> {
    proc.log.extend(proc.lines.try_iter());
    proc.log.iter().find_map(|line| {
        line.split("addr=")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
    })
}

async fn one_round(
    portal: &std::path::Path,
    standin: &BotStandIn,
    db: &TestDatabase,
    dir: &std::path::Path,
) {
    let bot = PathBuf::from(env!("CARGO_BIN_EXE_bot"));
    let mut portal_cmd = command(portal, dir, &db.url);
    portal_cmd
        .env("PORTAL_BIND", "127.0.0.1:0")
        .env("DISCORD_CLIENT_ID", "1234")
        .env("DISCORD_CLIENT_SECRET", "s3cret-client")
        .env("AUTH_SECRET", "an-auth-secret-of-at-least-32-chars!");
    let bot_cmd = || {
        let mut cmd = command(&bot, dir, &db.url);
        cmd.env("DISCORD_BOT_TOKEN", TOKEN)
            .env("DISCORD_PROXY_URL", standin.base_url());
        cmd
    };
    // Back to back: the three are migrating within the same few milliseconds.
    let (a, b) = (bot_cmd(), bot_cmd());
    let mut procs = [
        Proc::spawn("portal", portal_cmd),
        Proc::spawn("bot 1", a),
        Proc::spawn("bot 2", b),
    ];

    let client = reqwest::Client::new();
    let deadline = Instant::now() + UP_WITHIN;
    let mut up = [false; 3];
    while !up.iter().all(|u| *u) {
        for (i, proc) in procs.iter_mut().enumerate() {
            if up[i] {
                continue;
            }
            if let Some(status) = proc.exited() {
                panic!(
                    "{}",
                    proc.failure(&format!("exited ({status}) on {:?}", db.backend))
                );
            }
            up[i] = if i == 0 {
                match portal_addr(proc) {
                    Some(addr) => client
                        .get(format!("http://{addr}/readyz"))
                        .send()
                        .await
                        .is_ok_and(|r| r.status() == 200),
                    None => false,
                }
            } else {
                proc.logged("gateway intents decided")
            };
        }
        if Instant::now() > deadline {
            let slow = up.iter().position(|u| !u).unwrap_or(0);
            panic!("{}", procs[slow].failure("not up within the deadline"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Still running once all are up: none fell over after its signal.
    for proc in &mut procs {
        if let Some(status) = proc.exited() {
            panic!(
                "{}",
                proc.failure(&format!("exited ({status}) after coming up"))
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portal_and_two_bots_started_together_all_come_up() {
    let Some(portal) = portal_binary() else {
        store::testing::announce_skip(
            "concurrent start: no portal binary beside the bot's (cargo test --workspace builds it)",
        );
        return;
    };
    let standin = BotStandIn::start(BotFixture::default()).await.unwrap();
    let dir = std::env::temp_dir().join(format!("gh-concurrent-start-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut ran = Vec::new();
    for backend in store::testing::ALL_BACKENDS {
        for round in 0..ROUNDS {
            let Some(db) = TestDatabase::create(backend).await.unwrap() else {
                store::testing::announce_skip(&format!(
                    "concurrent start on {}: server absent",
                    backend.name()
                ));
                break;
            };
            let started = Instant::now();
            one_round(&portal, &standin, &db, &dir).await;
            if round == 0 {
                eprintln!("{backend:?}: first round up in {:?}", started.elapsed());
            }
            db.drop_database().await;
            if round + 1 == ROUNDS {
                ran.push(backend);
            }
        }
    }
    standin.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ran.contains(&Backend::Sqlite), "{ran:?}");
    eprintln!("concurrent start checked {ROUNDS} times on {ran:?}");
}
