//! The stack Guildhall replaces, FastAPI + fastapi-users
//! (`tests/fixtures/fastapi-seed`, run by uvicorn), on the same stand-in,
//! machine and connection count, on the routes both serve.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use discord_standin::StandIn;
use tokio::process::{Child, Command};

use crate::{
    AUTH_SECRET, CLIENT_ID, CLIENT_SECRET, CONNECTIONS, Res, Stats, WAIT, client, free_port,
    get_ok, login, run_load, with_cpu,
};

/// uvicorn worker processes: one per core, as the original deployment ran
/// it (one Python process uses one core).
const WORKERS: usize = 2;

/// The interpreter of a virtual environment with the fixture's
/// requirements: `GUILDHALL_FASTAPI_PYTHON`, else `target/fastapi-venv`
/// (what `.ci/run` prepares). `None` when neither exists.
pub fn interpreter(root: &Path) -> Option<PathBuf> {
    if let Ok(path) = std::env::var("GUILDHALL_FASTAPI_PYTHON")
        && !path.trim().is_empty()
    {
        return Some(PathBuf::from(path));
    }
    let venv = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("fastapi-venv/bin/python");
    venv.exists().then_some(venv)
}

pub struct PeerRun {
    /// `/api/v1/users/me`, `/discord/guilds`, returning-user login.
    pub scenarios: Vec<Stats>,
    pub workers: usize,
}

struct App {
    child: Child,
    pid: String,
    url: String,
}

async fn start(python: &Path, root: &Path, dir: &Path, standin: &StandIn) -> Res<App> {
    let port = free_port()?;
    let url = format!("http://127.0.0.1:{port}");
    let log = std::fs::File::create(dir.join("fastapi.log"))?;
    let db = dir.join("fastapi.db");
    let app = |args: &[&str]| {
        let mut cmd = Command::new(python);
        cmd.args(args)
            .current_dir(root.join("tests/fixtures/fastapi-seed"))
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env(
                "DATABASE_URL",
                format!("sqlite+aiosqlite:///{}", db.display()),
            )
            .env("AUTH_SECRET", AUTH_SECRET)
            .env("DISCORD_CLIENT_ID", CLIENT_ID)
            .env("DISCORD_CLIENT_SECRET", CLIENT_SECRET)
            .env("PORTAL_PUBLIC_URL", &url)
            .env("DISCORD_API_URL", standin.api_url())
            .env("DISCORD_AUTHORIZE_URL", standin.authorize_url())
            .env("TZ", "UTC")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        cmd
    };
    // The app creates its tables at start-up, in every worker at once: on a
    // fresh SQLite file two workers race ("table … already exists") and
    // uvicorn gives up. One process creates them first; the workers then
    // find them.
    let schema = app(&["-c", "import asyncio, app; asyncio.run(app.startup())"])
        .stderr(log.try_clone()?)
        .status()
        .await?;
    if !schema.success() {
        return Err(format!("the FastAPI app could not create its tables: {schema}").into());
    }
    let mut child = app(&["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port"])
        .arg(port.to_string())
        .args(["--workers", &WORKERS.to_string(), "--log-level", "warning"])
        .stderr(log)
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().ok_or("uvicorn exited at once")?.to_string();
    let poll = client()?;
    let started = Instant::now();
    loop {
        if let Ok(r) = poll.get(format!("{url}/healthz")).send().await
            && r.status() == 200
        {
            break;
        }
        if let Some(status) = child.try_wait()? {
            return Err(format!(
                "the FastAPI app exited with {status}; see {}/fastapi.log",
                dir.display()
            )
            .into());
        }
        if started.elapsed() > WAIT {
            return Err("the FastAPI app did not answer within 60 s".into());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(App { child, pid, url })
}

/// The uvicorn supervisor's worker processes (and any other child), by pid:
/// they are stopped one by one after it.
fn children(app: &App) -> Vec<String> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", app.pid)) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|c| c.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .collect()
}

pub async fn run(
    python: &Path,
    root: &Path,
    dir: &Path,
    standin: &StandIn,
    quick: bool,
) -> Res<PeerRun> {
    let (pages, logins) = if quick { (100, 20) } else { (5_000, 1_000) };
    let mut app = start(python, root, dir, standin).await?;
    let result = async {
        let setup = client()?;
        let token = Arc::new(login(&setup, &app.url).await?);
        let base = Arc::new(app.url.clone());
        let mut scenarios = Vec::new();
        for (name, path) in [
            ("FastAPI: GET /api/v1/users/me", "/api/v1/users/me"),
            (
                "FastAPI: GET /discord/guilds (50 guilds)",
                "/discord/guilds",
            ),
        ] {
            let url = Arc::new(format!("{base}{path}"));
            let token = token.clone();
            get_ok(&setup, &url, Some(&token)).await?;
            scenarios.push(
                with_cpu(
                    None,
                    run_load(name, "req", pages, CONNECTIONS, move |c| {
                        let url = url.clone();
                        let token = token.clone();
                        async move { get_ok(&c, &url, Some(&token)).await }
                    }),
                )
                .await?,
            );
        }
        let login_base = base.clone();
        scenarios.push(
            with_cpu(
                None,
                run_load(
                    "FastAPI: returning-user login (3 hops)",
                    "login",
                    logins,
                    CONNECTIONS,
                    move |c| {
                        let base = login_base.clone();
                        async move { login(&c, &base).await.map(drop) }
                    },
                ),
            )
            .await?,
        );
        Res::Ok(PeerRun {
            scenarios,
            workers: WORKERS,
        })
    }
    .await;
    let workers = children(&app);
    let _ = app.child.kill().await;
    // A killed supervisor cannot stop its workers: stop each by its pid.
    for pid in workers {
        let _ = Command::new("kill").args(["-9", &pid]).status().await;
    }
    result
}
