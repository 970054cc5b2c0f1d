//! The fastapi-users application Guildhall replaces (`tests/fixtures/fastapi-seed`),
//! run with uvicorn from the virtual environment `.ci/run` prepares, against a
//! test database and the stand-in Discord; and the requests a browser or a
//! front end would make to it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use discord_standin::StandIn;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION};
use store::Backend;
use tokio::process::{Child, Command};

use crate::common::{AUTH_SECRET, CLIENT_ID, CLIENT_SECRET, cookie_value};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../tests/fixtures/fastapi-seed"
);
pub const COOKIE_NAME: &str = "fastapiusersauth";

/// The fixture's interpreter, from `GUILDHALL_FASTAPI_PYTHON`. `None` (with a
/// SKIPPED line) when it is not set, unless `GUILDHALL_FASTAPI_REQUIRED=1`
/// says this run must not skip, as in CI.
pub fn interpreter() -> Option<PathBuf> {
    match std::env::var("GUILDHALL_FASTAPI_PYTHON") {
        Ok(path) if !path.trim().is_empty() => Some(PathBuf::from(path)),
        _ if std::env::var("GUILDHALL_FASTAPI_REQUIRED").as_deref() == Ok("1") => {
            panic!(
                "GUILDHALL_FASTAPI_REQUIRED=1 but GUILDHALL_FASTAPI_PYTHON is not set \
                 (.ci/run sets it to its fastapi-users virtual environment)"
            )
        }
        _ => {
            store::testing::announce_skip(
                "adoption of a real fastapi-users database: GUILDHALL_FASTAPI_PYTHON is not set \
                 (python3 -m venv target/fastapi-venv && target/fastapi-venv/bin/pip install -r \
                 tests/fixtures/fastapi-seed/requirements.txt, then point it at target/fastapi-venv/bin/python)",
            );
            None
        }
    }
}

/// SQLAlchemy's spelling of a test database URL, with the async driver the
/// fixture installs for each backend.
pub fn sqlalchemy_url(backend: Backend, url: &str) -> String {
    match backend {
        // sqlite:///tmp/x.db is sqlite:// + an absolute path; SQLAlchemy
        // wants three slashes before it.
        Backend::Sqlite => url.replacen("sqlite://", "sqlite+aiosqlite:///", 1),
        Backend::Postgres => url
            .replacen("postgres://", "postgresql+asyncpg://", 1)
            .replacen("postgresql://", "postgresql+asyncpg://", 1),
        Backend::MySql => format!(
            "{}?charset=utf8mb4",
            url.replacen("mysql://", "mysql+aiomysql://", 1)
        ),
    }
}

/// Which table names the fixture's models use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tables {
    /// `users`, `oauth_accounts`, as the deployment Guildhall replaces had them.
    Guildhall,
    /// fastapi-users' defaults, `user` and `oauth_account`.
    FastapiUsers,
}

pub struct PythonApp {
    child: Child,
    pub url: String,
    log: PathBuf,
    http: reqwest::Client,
}

impl PythonApp {
    /// Starts uvicorn on a free port of 127.0.0.1 and waits until it answers
    /// `/healthz` (it creates its tables first), with a deadline.
    pub async fn start(
        python: &Path,
        backend: Backend,
        db_url: &str,
        standin: &StandIn,
        tables: Tables,
    ) -> PythonApp {
        // uvicorn binds by itself; the port is free now and nobody else here
        // picks ports, so it is still free a moment later.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        standin.update_fixture(|f| {
            let callback = format!("{url}/discord/callback");
            if !f.redirect_uris.contains(&callback) {
                f.redirect_uris.push(callback);
            }
        });
        let log = std::env::temp_dir().join(format!("gh-fastapi-seed-{port}.log"));
        let log_file = std::fs::File::create(&log).unwrap();
        let mut command = Command::new(python);
        command
            .args(["-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port"])
            .arg(port.to_string())
            .args(["--log-level", "warning"])
            .current_dir(FIXTURE)
            .env("DATABASE_URL", sqlalchemy_url(backend, db_url))
            .env("AUTH_SECRET", AUTH_SECRET)
            .env("DISCORD_CLIENT_ID", CLIENT_ID)
            .env("DISCORD_CLIENT_SECRET", CLIENT_SECRET)
            .env("PORTAL_PUBLIC_URL", &url)
            .env("DISCORD_API_URL", standin.api_url())
            .env("DISCORD_AUTHORIZE_URL", standin.authorize_url())
            // asyncpg reads the app's naive UTC datetimes as local time.
            .env("TZ", "UTC")
            // No __pycache__ in the repository's fixture folder.
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .kill_on_drop(true);
        if tables == Tables::FastapiUsers {
            command.env("FASTAPI_SEED_TABLES", "fastapi-users");
        }
        let child = command.spawn().unwrap_or_else(|e| {
            panic!("cannot run {}: {e}", python.display());
        });
        let mut app = PythonApp {
            child,
            url,
            log,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        };
        app.wait_until_ready().await;
        app
    }

    async fn wait_until_ready(&mut self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the fastapi-users app exited ({status}) before answering:\n{}",
                    self.log()
                );
            }
            let ready = self
                .http
                .get(format!("{}/healthz", self.url))
                .timeout(Duration::from_secs(2))
                .send()
                .await
                .is_ok_and(|r| r.status() == StatusCode::OK);
            if ready {
                return;
            }
            if tokio::time::Instant::now() > deadline {
                panic!(
                    "the fastapi-users app did not answer within 60 s:\n{}",
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What uvicorn and the app wrote to stderr.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Stops the app and waits until it has exited.
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }

    /// A whole Discord login through the app (`/discord/login` → the
    /// stand-in's consent, auto-approved → `/discord/callback`) as the
    /// stand-in user `discord_id`; returns the session cookie's value.
    pub async fn discord_login(&self, standin: &StandIn, discord_id: &str) -> String {
        standin.update_fixture(|f| f.default_user = Some(discord_id.to_owned()));
        let login = self.get("/discord/login", None).await;
        assert!(login.status().is_redirection(), "{}", login.status());
        let authorize = location(&login);
        assert!(
            authorize.starts_with(&standin.authorize_url()),
            "{authorize}"
        );
        let approved = self.http.get(&authorize).send().await.unwrap();
        assert_eq!(approved.status(), StatusCode::FOUND);
        let callback = location(&approved);
        assert!(callback.starts_with(&self.url), "{callback}");
        let done = self.http.get(&callback).send().await.unwrap();
        let status = done.status();
        let cookie = cookie_value(&done, COOKIE_NAME);
        assert_eq!(
            status,
            StatusCode::FOUND,
            "callback: {:?}\n{}",
            done.text().await,
            self.log()
        );
        cookie.expect("a session cookie")
    }

    /// `POST /api/v1/auth/register`, as fastapi-users serves it; the new id.
    pub async fn register(&self, email: &str, password: &str) -> i64 {
        let r = self
            .http
            .post(format!("{}/api/v1/auth/register", self.url))
            .json(&serde_json::json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED, "{}", self.log());
        let body: serde_json::Value = r.json().await.unwrap();
        body["id"].as_i64().expect("an integer id")
    }

    /// `POST /api/v1/auth/cookie/login` with a password; the session cookie.
    pub async fn password_login(&self, email: &str, password: &str) -> String {
        let r = self
            .http
            .post(format!("{}/api/v1/auth/cookie/login", self.url))
            .form(&[("username", email), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{}", self.log());
        cookie_value(&r, COOKIE_NAME).expect("a session cookie")
    }

    /// `GET /api/v1/users/me` with a session cookie: `(status, body)`.
    pub async fn me(&self, cookie: &str) -> (StatusCode, serde_json::Value) {
        let r = self.get("/api/v1/users/me", Some(cookie)).await;
        let status = r.status();
        let body = r.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{path}", self.url));
        if let Some(c) = cookie {
            request = request.header(COOKIE, format!("{COOKIE_NAME}={c}"));
        }
        request.send().await.unwrap()
    }
}

impl Drop for PythonApp {
    // The process itself dies with its handle (kill_on_drop).
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.log);
    }
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .expect("a Location header")
        .to_str()
        .unwrap()
        .to_owned()
}
