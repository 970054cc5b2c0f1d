//! `portal adopt` against databases the real fastapi-users created: the
//! fixture application (tests/fixtures/fastapi-seed, run by uvicorn) makes
//! its tables and signs people in through the stand-in Discord on SQLite,
//! PostgreSQL and MariaDB; then the database is adopted, compared row by row
//! and with a fresh Guildhall database, and both applications are used on
//! it side by side.

mod python_app;

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use discord_standin::{Fixture, FixtureGuild, FixtureUser, StandIn};
use futures::FutureExt;
use portal::RunningPortal;
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use store::adopt::{AdoptError, AdoptOptions, Outcome};
use store::testing::raw::{self, Rows};
use store::testing::{ALL_BACKENDS, TestDatabase};
use store::{Backend, ConnectOptions, Store, TokenUpdate};

use crate::common::{CLIENT_ID, CLIENT_SECRET, client, config_for, cookie_value, location};
use python_app::{COOKIE_NAME, PythonApp, Tables};

/// Discord accounts in the stand-in.
const ALICE: &str = "80351110224678912";
const BOB: &str = "80351110224678913";
/// Signs in through the Python app only after adoption.
const CAROL: &str = "80351110224678914";
/// Signs in through Guildhall only, after adoption.
const DAVE: &str = "80351110224678915";

const PAT_EMAIL: &str = "pat@example.org";
const PAT_PASSWORD: &str = "correct horse battery staple";

const TABLES: &[&str] = &["users", "oauth_accounts", "bot_guilds", "used_oauth_states"];
/// The fixture's own columns, which adoption leaves alone and a fresh
/// Guildhall database does not have.
const PYTHON_ONLY: &[(&str, &str)] = &[("users", "name"), ("users", "phone_number")];

fn fixture() -> Fixture {
    let guild = |id: &str, name: &str| FixtureGuild::new(id, name);
    Fixture::new(CLIENT_ID, CLIENT_SECRET)
        .auto_approved()
        .with_user(
            FixtureUser::new(ALICE, "alice")
                .email("alice@example.org", true)
                .global_name("Alice")
                .guild(guild("1100000000000000201", "Alice's Guild").owned())
                .guild(guild("1100000000000000202", "Book Circle")),
        )
        .with_user(
            FixtureUser::new(BOB, "bob")
                .email("Bob@Example.org", true)
                .guild(guild("1100000000000000202", "Book Circle")),
        )
        .with_user(FixtureUser::new(CAROL, "carol").email("carol@example.org", true))
        .with_user(FixtureUser::new(DAVE, "dave").email("dave@example.org", true))
}

/// One backend's setting: the database the Python app gets, a second one
/// for a fresh Guildhall to compare with, the stand-in and the interpreter.
struct Case {
    backend: Backend,
    url: String,
    fresh_url: String,
    standin: StandIn,
    python: PathBuf,
}

/// Runs `test` once per backend (skipping what is absent, with a notice);
/// its databases are dropped afterwards, even when it panics.
async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Case) -> Fut,
    Fut: Future<Output = ()>,
{
    let Some(python) = python_app::interpreter() else {
        return;
    };
    for backend in ALL_BACKENDS {
        let Some(db) = TestDatabase::create(backend).await.unwrap() else {
            continue;
        };
        let Some(fresh) = TestDatabase::create(backend).await.unwrap() else {
            db.drop_database().await;
            continue;
        };
        if backend == Backend::MySql {
            // The server's default, as a Python deployment's database has it
            // (the test helper creates Guildhall's utf8mb4_unicode_ci); the
            // fresh database too, so its Guildhall-only tables match.
            for url in [&db.url, &fresh.url] {
                raw::execute(
                    url,
                    "ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
                )
                .await
                .unwrap();
            }
        }
        let case = Case {
            backend,
            url: db.url.clone(),
            fresh_url: fresh.url.clone(),
            standin: StandIn::start(fixture()).await.unwrap(),
            python: python.clone(),
        };
        let outcome = AssertUnwindSafe(test(case)).catch_unwind().await;
        db.drop_database().await;
        fresh.drop_database().await;
        if let Err(panic) = outcome {
            eprintln!("failed on backend {}", backend.name());
            std::panic::resume_unwind(panic);
        }
    }
}

impl Case {
    async fn python(&self, tables: Tables) -> PythonApp {
        PythonApp::start(&self.python, self.backend, &self.url, &self.standin, tables).await
    }

    async fn store(&self) -> Store {
        Store::connect(&self.url, &ConnectOptions::default())
            .await
            .unwrap()
    }

    async fn rows(&self, table: &str) -> Rows {
        raw::rows(&self.url, table).await.unwrap()
    }

    async fn schema(&self, tables: &[&str]) -> Vec<String> {
        raw::schema(&self.url, tables, PYTHON_ONLY).await.unwrap()
    }

    /// A database Guildhall created: what adoption must end in.
    async fn fresh_schema(&self) -> Vec<String> {
        let store = Store::connect(&self.fresh_url, &ConnectOptions::default())
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store.close().await;
        raw::schema(&self.fresh_url, TABLES, &[]).await.unwrap()
    }

    /// The real portal on 127.0.0.1:0, on this database.
    async fn portal(&self) -> RunningPortal {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        self.standin.update_fixture(|f| {
            f.redirect_uris
                .push(format!("http://{addr}/discord/callback"))
        });
        let config = config_for(&self.standin, &self.url, |e| {
            e.set("PORTAL_PUBLIC_URL", format!("http://{addr}"))
        });
        portal::start(config, listener)
            .await
            .expect("portal starts")
    }

    /// A browser login through Guildhall as `discord_id`; the session cookie.
    async fn guildhall_login(&self, portal: &RunningPortal, discord_id: &str) -> String {
        self.standin
            .update_fixture(|f| f.default_user = Some(discord_id.to_owned()));
        let browser = client();
        let login = browser
            .get(format!("{}/discord/login", portal.url()))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), StatusCode::FOUND);
        let approved = browser.get(location(&login)).send().await.unwrap();
        assert_eq!(approved.status(), StatusCode::FOUND);
        let done = browser.get(location(&approved)).send().await.unwrap();
        assert_eq!(done.status(), StatusCode::FOUND, "{:?}", done.text().await);
        cookie_value(&done, COOKIE_NAME).expect("a session cookie")
    }
}

/// `GET path` on the portal with a session cookie: `(status, body)`.
async fn guildhall_get(
    portal: &RunningPortal,
    path: &str,
    cookie: &str,
) -> (StatusCode, serde_json::Value) {
    let r = reqwest::Client::new()
        .get(format!("{}{path}", portal.url()))
        .header(COOKIE, format!("{COOKIE_NAME}={cookie}"))
        .send()
        .await
        .unwrap();
    let status = r.status();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// The real binary: `portal adopt ARGS` with only `DATABASE_URL` set.
/// Returns the exit code and stdout (stderr goes into failure messages).
async fn portal_adopt(url: &str, args: &[&str]) -> (i32, String) {
    let (code, stdout, stderr) = portal_command(url, "adopt", args).await;
    if !stderr.trim().is_empty() {
        eprintln!("portal adopt {args:?} said on stderr: {stderr}");
    }
    (code, stdout)
}

/// Runs `portal <command> <args>` on the database: its exit code (0 or 1),
/// stdout and stderr.
async fn portal_command(url: &str, command: &str, args: &[&str]) -> (i32, String, String) {
    // An empty working directory: no `.env` of anybody's is read.
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let cwd = std::env::temp_dir().join(format!(
        "gh-adopt-cwd-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&cwd).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_portal"))
        .arg(command)
        .args(args)
        .current_dir(&cwd)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("DATABASE_URL", url)
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let _ = std::fs::remove_dir(&cwd);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "portal {command} {args:?}: exit {code}\n{stdout}\n{stderr}"
    );
    (code, stdout, stderr)
}

/// Every value of every column `before` had, equal after (a column added
/// by adoption is not compared; a column lost would be).
fn assert_same_rows(table: &str, before: &Rows, after: &Rows) {
    assert!(!before.is_empty(), "{table} had no rows to compare");
    for (column, values) in before {
        assert_eq!(after.get(column), Some(values), "{table}.{column}");
    }
}

fn id_of(me: &serde_json::Value) -> i64 {
    me["id"].as_i64().unwrap_or_else(|| panic!("no id in {me}"))
}

#[tokio::test]
async fn a_live_fastapi_users_database_is_adopted_with_nothing_lost() {
    each_backend(|case| async move {
        // The Python deployment as it runs today.
        let python = case.python(Tables::Guildhall).await;
        let alice_py = python.discord_login(&case.standin, ALICE).await;
        python.discord_login(&case.standin, BOB).await;
        let pat_id = python.register(PAT_EMAIL, PAT_PASSWORD).await;
        let pat_py = python.password_login(PAT_EMAIL, PAT_PASSWORD).await;
        let (status, me) = python.me(&alice_py).await;
        assert_eq!(status, StatusCode::OK);
        let alice_id = id_of(&me);
        // The operator stops it for the adoption (seconds) and starts it again after.
        python.stop().await;

        let users = case.rows("users").await;
        let accounts = case.rows("oauth_accounts").await;
        assert_eq!(users["id"].len(), 3);
        assert_eq!(accounts["id"].len(), 2);
        let schema_before = case.schema(TABLES).await;

        // Started on it as it is, the portal stops and says what to run, and
        // the failed attempt leaves nothing in the way of the adoption.
        let (code, _, err) = portal_command(&case.url, "migrate", &[]).await;
        assert_eq!(code, 1, "{err}");
        assert!(err.contains("`portal adopt --dry-run`"), "{err}");
        assert_eq!(case.schema(TABLES).await, schema_before);

        // A dry run prints the plan and its SQL and changes nothing.
        let (code, out) = portal_adopt(&case.url, &["--dry-run"]).await;
        assert_eq!(code, 0, "{out}");
        assert!(out.starts_with("Dry run: nothing is changed."), "{out}");
        assert!(out.contains("record migration"), "{out}");
        assert!(out.contains("kept `users.phone_number`"), "{out}");
        let sql = match case.backend {
            Backend::Sqlite => "CREATE TABLE new_users (",
            Backend::Postgres => "ALTER COLUMN expires_at TYPE BIGINT",
            Backend::MySql => "MODIFY COLUMN expires_at BIGINT",
        };
        assert!(out.contains(sql), "{out}");
        assert_eq!(case.schema(TABLES).await, schema_before);
        assert_eq!(case.rows("users").await, users);
        assert_eq!(case.rows("oauth_accounts").await, accounts);

        let (code, out) = portal_adopt(&case.url, &[]).await;
        assert_eq!(code, 0, "{out}");
        assert!(out.starts_with("Adopted."), "{out}");
        assert_same_rows("users", &users, &case.rows("users").await);
        assert_same_rows(
            "oauth_accounts",
            &accounts,
            &case.rows("oauth_accounts").await,
        );

        let (code, out) = portal_adopt(&case.url, &[]).await;
        assert_eq!(code, 0, "{out}");
        assert!(out.starts_with("Nothing to do"), "{out}");
        assert_eq!(case.schema(TABLES).await, case.fresh_schema().await);

        // Guildhall on the adopted database.
        let portal = case.portal().await;
        let (status, me) = guildhall_get(&portal, "/api/v1/users/me", &alice_py).await;
        assert_eq!(status, StatusCode::OK, "Python's cookie in Guildhall: {me}");
        assert_eq!(id_of(&me), alice_id);
        assert_eq!(me["email"], "alice@example.org");
        let (status, me) = guildhall_get(&portal, "/api/v1/users/me", &pat_py).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(id_of(&me), pat_id);

        // The guild list is asked with the token the Python side stored.
        case.standin.clear_requests();
        let (status, guilds) = guildhall_get(&portal, "/api/v1/discord/guilds", &alice_py).await;
        assert_eq!(status, StatusCode::OK, "{guilds}");
        assert!(guilds.to_string().contains("Alice's Guild"), "{guilds}");
        let position = accounts["account_id"]
            .iter()
            .position(|v| *v == raw::Value::Text(ALICE.into()))
            .unwrap();
        let raw::Value::Text(stored) = &accounts["access_token"][position] else {
            panic!("{accounts:?}")
        };
        let asked = case
            .standin
            .requests_to("/api/v10/users/@me/guilds")
            .into_iter()
            .filter_map(|r| {
                r.headers
                    .into_iter()
                    .find(|(k, _)| k == "authorization")
                    .map(|(_, v)| v)
            })
            .collect::<Vec<_>>();
        assert_eq!(asked, vec![format!("Bearer {stored}")]);

        // Signing in through Guildhall finds the same user.
        let alice_gh = case.guildhall_login(&portal, ALICE).await;
        let (_, me) = guildhall_get(&portal, "/api/v1/users/me", &alice_gh).await;
        assert_eq!(id_of(&me), alice_id);
        let dave_gh = case.guildhall_login(&portal, DAVE).await;
        assert_eq!(portal.app.store.count_oauth_accounts().await.unwrap(), 3);
        // A token expiring after 2038, which fastapi-users' column could not hold.
        let account = portal
            .app
            .store
            .oauth_account_for_user(alice_id as i32, "discord")
            .await
            .unwrap()
            .unwrap();
        let update = TokenUpdate {
            access_token: account.access_token.clone(),
            expires_at: Some(4_102_444_800),
            refresh_token: account.refresh_token.clone(),
        };
        assert!(
            portal
                .app
                .store
                .update_tokens(account.id, &update)
                .await
                .unwrap()
        );

        // The Python app, started again, on the adopted database.
        let python = case.python(Tables::Guildhall).await;
        for (cookie, who) in [
            (&alice_py, "its own cookie"),
            (&alice_gh, "Guildhall's cookie"),
        ] {
            let (status, me) = python.me(cookie).await;
            assert_eq!(status, StatusCode::OK, "{who}: {me}\n{}", python.log());
            assert_eq!(id_of(&me), alice_id, "{who}");
        }
        let (status, me) = python.me(&dave_gh).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "a user Guildhall made: {me}\n{}",
            python.log()
        );
        assert_eq!(me["email"], "dave@example.org");
        let carol_py = python.discord_login(&case.standin, CAROL).await;
        python.discord_login(&case.standin, ALICE).await;
        python.password_login(PAT_EMAIL, PAT_PASSWORD).await;
        let (status, me) = guildhall_get(&portal, "/api/v1/users/me", &carol_py).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(me["email"], "carol@example.org");
        assert_eq!(portal.app.store.count_users().await.unwrap(), 5);

        python.stop().await;
        portal.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn duplicates_are_refused_with_nothing_changed() {
    each_backend(|case| async move {
        let python = case.python(Tables::Guildhall).await;
        python.discord_login(&case.standin, ALICE).await;
        python.discord_login(&case.standin, BOB).await;
        python.stop().await;

        // What fastapi-users' check-then-insert lets through under
        // concurrency: a second account for the same Discord id; and an
        // email equal to another but for case.
        raw::execute(
            &case.url,
            &format!(
                "INSERT INTO oauth_accounts (user_id, oauth_name, access_token, expires_at, refresh_token, account_id, account_email) \
                 SELECT user_id, oauth_name, 'another-token', expires_at, refresh_token, account_id, account_email \
                 FROM oauth_accounts WHERE account_id = '{ALICE}'"
            ),
        )
        .await
        .unwrap();
        if case.backend == Backend::MySql {
            // Under MariaDB's case-insensitive collation the Python app's
            // unique index itself forbids the pair; a deployment whose
            // tables came from plain SQL may not have that index.
            raw::execute(&case.url, "ALTER TABLE users DROP INDEX ix_users_email")
                .await
                .unwrap();
        }
        raw::execute(
            &case.url,
            "INSERT INTO users (email, hashed_password, is_active, is_superuser, is_verified) \
             VALUES ('ALICE@example.org', 'not-a-hash', TRUE, FALSE, FALSE)",
        )
        .await
        .unwrap();
        let schema = case.schema(TABLES).await;
        let users = case.rows("users").await;
        let accounts = case.rows("oauth_accounts").await;

        let (code, out) = portal_adopt(&case.url, &[]).await;
        assert_eq!(code, 1, "{out}");
        assert!(out.starts_with("Adoption refused; nothing was changed"), "{out}");
        assert!(out.contains("emails equal but for case"), "{out}");
        assert!(out.contains("(oauth_name, account_id)"), "{out}");
        assert_eq!(case.schema(TABLES).await, schema);
        assert_eq!(case.rows("users").await, users);
        assert_eq!(case.rows("oauth_accounts").await, accounts);

        // The queries given to the operator show exactly the rows at fault.
        let store = case.store().await;
        let plan = store.adoption_plan(AdoptOptions::default()).await.unwrap();
        let Outcome::Refused(blockers) = &plan.outcome else {
            panic!("{plan}")
        };
        assert_eq!(blockers.len(), 2, "{plan}");
        for blocker in blockers {
            let query = blocker.query.as_deref().expect("a query");
            assert!(out.contains(query), "{query} not printed:\n{out}");
            let rows = raw::query(&case.url, query).await.unwrap();
            if blocker.problem.contains("emails") {
                let emails: Vec<String> = rows["email"]
                    .iter()
                    .map(|v| format!("{v:?}").to_lowercase())
                    .collect();
                assert_eq!(emails.len(), 2, "{rows:?}");
                assert_eq!(emails[0], emails[1], "{rows:?}");
            } else {
                assert_eq!(
                    rows["account_id"],
                    vec![raw::Value::Text(ALICE.into()); 2],
                    "{rows:?}"
                );
            }
        }
        let err = store.adopt(AdoptOptions::default()).await.unwrap_err();
        assert!(matches!(err, AdoptError::Refused(_)), "{err}");
        store.close().await;
        assert_eq!(case.schema(TABLES).await, schema);
    })
    .await;
}

#[tokio::test]
async fn an_interrupted_adoption_resumes_and_ends_like_a_fresh_database() {
    each_backend(|case| async move {
        let python = case.python(Tables::Guildhall).await;
        let alice_py = python.discord_login(&case.standin, ALICE).await;
        python.register(PAT_EMAIL, PAT_PASSWORD).await;
        python.stop().await;
        let users = case.rows("users").await;
        let accounts = case.rows("oauth_accounts").await;

        let store = case.store().await;
        let whole = store.adoption_plan(AdoptOptions::default()).await.unwrap();
        let first = whole.steps()[0].summary.clone();
        let done = store
            .adopt_interrupted_after(AdoptOptions::default(), 1)
            .await
            .unwrap();
        assert_eq!(done.steps()[0].summary, first);
        // The rest is planned from what the database now holds: the first
        // step is not redone.
        let rest = store.adoption_plan(AdoptOptions::default()).await.unwrap();
        assert!(!rest.steps().is_empty(), "{rest}");
        assert!(rest.steps().len() < whole.steps().len(), "{whole}\n{rest}");
        assert!(rest.steps().iter().all(|s| s.summary != first), "{rest}");

        let adopted = store.adopt(AdoptOptions::default()).await.unwrap();
        assert!(matches!(adopted.plan.outcome, Outcome::Steps(_)));
        let again = store.adopt(AdoptOptions::default()).await.unwrap();
        assert!(
            matches!(again.plan.outcome, Outcome::AlreadyAdopted),
            "{}",
            again.plan
        );
        store.close().await;

        assert_same_rows("users", &users, &case.rows("users").await);
        assert_same_rows(
            "oauth_accounts",
            &accounts,
            &case.rows("oauth_accounts").await,
        );
        assert_eq!(case.schema(TABLES).await, case.fresh_schema().await);

        let python = case.python(Tables::Guildhall).await;
        let (status, me) = python.me(&alice_py).await;
        assert_eq!(status, StatusCode::OK, "{me}\n{}", python.log());
        python.stop().await;
    })
    .await;
}

#[tokio::test]
async fn fastapi_users_default_table_names_are_renamed_only_when_asked() {
    each_backend(|case| async move {
        let python = case.python(Tables::FastapiUsers).await;
        let alice_py = python.discord_login(&case.standin, ALICE).await;
        python.register(PAT_EMAIL, PAT_PASSWORD).await;
        let (_, me) = python.me(&alice_py).await;
        let alice_id = id_of(&me);
        python.stop().await;
        let all: Vec<&str> = TABLES
            .iter()
            .copied()
            .chain(["user", "oauth_account"])
            .collect();
        let schema = case.schema(&all).await;
        let users = case.rows("user").await;
        let accounts = case.rows("oauth_account").await;

        let (code, out) = portal_adopt(&case.url, &[]).await;
        assert_eq!(code, 1, "{out}");
        for expected in ["`user` and `oauth_account`", "--rename-tables", "__tablename__"] {
            assert!(out.contains(expected), "{expected} in:\n{out}");
        }
        assert_eq!(case.schema(&all).await, schema, "nothing changed");

        let (code, out) = portal_adopt(&case.url, &["--rename-tables", "--dry-run"]).await;
        assert_eq!(code, 0, "{out}");
        let rename = match case.backend {
            // SQLite's rebuild reads the old table and writes the new name.
            Backend::Sqlite => "SELECT id, \"name\", \"phone_number\", nickname, profile_img, sns_type, last_seen, email, hashed_password, is_active, is_superuser, is_verified FROM \"user\"",
            Backend::Postgres => "ALTER TABLE \"user\" RENAME TO users",
            Backend::MySql => "RENAME TABLE `user` TO users, oauth_account TO oauth_accounts",
        };
        assert!(out.contains(rename), "{rename} in:\n{out}");
        assert_eq!(case.schema(&all).await, schema, "nothing changed");

        let (code, out) = portal_adopt(&case.url, &["--rename-tables"]).await;
        assert_eq!(code, 0, "{out}");
        assert_same_rows("users", &users, &case.rows("users").await);
        assert_same_rows("oauth_accounts", &accounts, &case.rows("oauth_accounts").await);
        assert_eq!(case.schema(TABLES).await, case.fresh_schema().await);

        // The Python app, its models renamed, and Guildhall on the result.
        let python = case.python(Tables::Guildhall).await;
        let (status, me) = python.me(&alice_py).await;
        assert_eq!(status, StatusCode::OK, "{me}\n{}", python.log());
        assert_eq!(id_of(&me), alice_id);
        // New rows get ids from the renamed sequences.
        let bob_py = python.discord_login(&case.standin, BOB).await;
        let (_, bob) = python.me(&bob_py).await;
        assert!(id_of(&bob) > alice_id, "{bob}");
        python.stop().await;

        let portal = case.portal().await;
        let (status, me) = guildhall_get(&portal, "/api/v1/users/me", &alice_py).await;
        assert_eq!(status, StatusCode::OK, "{me}");
        assert_eq!(id_of(&me), alice_id);
        portal.shutdown().await;
    })
    .await;
}
