//! The real `portal` binary in a test: started in a directory of its own
//! (no stray `.env` is read) against the stand-in, its log drained for its
//! whole life (a full pipe would block it), killed and cleaned up when
//! dropped, so a failed assertion leaves nothing behind.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use discord_standin::StandIn;

use crate::common::{AUTH_SECRET, CLIENT_ID, CLIENT_SECRET};

pub struct PortalProcess {
    pub child: Child,
    /// `host:port` from its "listening" line, once [`wait_listening`](Self::wait_listening) saw it.
    pub addr: String,
    /// Every line it logged, as they come.
    log: mpsc::Receiver<String>,
    dir: PathBuf,
}

impl Drop for PortalProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh directory for one process.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "gh-portal-{tag}-{}-{:016x}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A port nobody listens on right now, so that `PORTAL_PUBLIC_URL` (the
/// OAuth redirect) can name it before the portal binds it.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The portal binary set up to run in `dir` against `standin` and
/// `database_url`, on a free port that its public URL names; add or
/// override variables before [`PortalProcess::spawn`].
pub fn portal_command(dir: &Path, standin: &StandIn, database_url: &str) -> Command {
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

impl PortalProcess {
    /// Starts `cmd`, which runs in `dir` (removed when the process is dropped).
    pub fn spawn(mut cmd: Command, dir: PathBuf) -> PortalProcess {
        let mut child = cmd.spawn().expect("the portal binary starts");
        let stderr = child.stderr.take().unwrap();
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        PortalProcess {
            child,
            addr: String::new(),
            log,
            dir,
        }
    }

    /// Waits (up to a minute) for the line naming its address; returns every
    /// line before it.
    pub fn wait_listening(&mut self) -> Vec<String> {
        let (mut lines, line) = self.wait_for_line("addr=", Duration::from_secs(60));
        let rest = line.split("addr=").nth(1).unwrap_or_default();
        self.addr = rest
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        lines.truncate(lines.len().saturating_sub(1));
        lines
    }

    /// Waits up to `within` for a line containing `needle`: the lines read,
    /// that one last, and that one.
    pub fn wait_for_line(&self, needle: &str, within: Duration) -> (Vec<String>, String) {
        let deadline = Instant::now() + within;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .log
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no line with {needle:?} in {within:?}: {lines:#?}"));
            lines.push(line.clone());
            if line.contains(needle) {
                return (lines, line);
            }
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The exit status, polled until `bound` has passed since `from`;
    /// `None` if it was still running then.
    pub fn exit_status(&mut self, from: Instant, bound: Duration) -> Option<ExitStatus> {
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

    /// What it logged since the last look.
    pub fn log_so_far(&self) -> String {
        self.log.try_iter().collect::<Vec<_>>().join("\n")
    }
}
