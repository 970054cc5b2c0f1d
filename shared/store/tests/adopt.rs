//! Adoption on every backend, on databases made here: a Guildhall database
//! needs none; one whose bookkeeping is gone needs only that (which pins
//! adoption's idea of the schema to what the migrations really create); an
//! empty one is refused; and SQLite's table rebuild keeps what it does not
//! know. The tests against a database the real fastapi-users created are
//! the portal's (`portal/tests/portal/adopt/`).

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use store::adopt::{AdoptError, AdoptOptions, Outcome};
use store::testing::{ALL_BACKENDS, TestDatabase, raw};
use store::{Backend, ConnectOptions, Store};

const TABLES: &[&str] = &["users", "oauth_accounts", "bot_guilds", "used_oauth_states"];

async fn connect(db: &TestDatabase) -> Store {
    Store::connect(
        &db.url,
        &ConnectOptions {
            max_connections: 4,
            retry_for: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(30),
        },
    )
    .await
    .unwrap()
}

/// Runs `test` on a fresh, empty database of each backend (its URL and a
/// store on it, unmigrated), dropped afterwards even when the test panics.
async fn each_empty_database<F, Fut>(test: F)
where
    F: Fn(String, Store) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in ALL_BACKENDS {
        let Some(db) = TestDatabase::create(backend).await.unwrap() else {
            continue;
        };
        let store = connect(&db).await;
        let outcome = AssertUnwindSafe(test(db.url.clone(), store.clone()))
            .catch_unwind()
            .await;
        store.close().await;
        db.drop_database().await;
        if let Err(panic) = outcome {
            eprintln!("failed on backend {}", backend.name());
            std::panic::resume_unwind(panic);
        }
    }
}

#[tokio::test]
async fn a_database_guildhall_created_has_nothing_to_adopt() {
    each_empty_database(|_url, store| async move {
        store.migrate().await.unwrap();
        let plan = store.adoption_plan(AdoptOptions::default()).await.unwrap();
        assert!(matches!(plan.outcome, Outcome::AlreadyAdopted), "{plan}");
        assert!(plan.to_string().starts_with("Nothing to do"), "{plan}");
        let adopted = store.adopt(AdoptOptions::default()).await.unwrap();
        assert!(matches!(adopted.plan.outcome, Outcome::AlreadyAdopted));
        assert!(adopted.migrated.is_empty(), "{:?}", adopted.migrated);
    })
    .await;
}

/// Take a freshly migrated database and forget that it was migrated: if
/// adoption's target differed from what the migrations create in any way it
/// compares, it would plan more than the bookkeeping. Afterwards the later
/// migrations have run, and the schema is what the migrator leaves in a
/// new database.
#[tokio::test]
async fn the_target_is_exactly_what_the_migrations_create() {
    each_empty_database(|url, store| async move {
        // The schema adoption aims at: migrations 0001 and (MySQL) 0002; the
        // later ones run after adoption, through the migrator.
        store.migrate_up_to(2).await.unwrap();
        raw::execute(&url, "DROP TABLE _sqlx_migrations")
            .await
            .unwrap();

        let plan = store.adoption_plan(AdoptOptions::default()).await.unwrap();
        let steps = plan.steps();
        assert_eq!(steps.len(), 1, "{plan}");
        assert!(steps[0].summary.starts_with("record migration"), "{plan}");
        assert!(plan.notes.is_empty(), "{plan}");

        let adopted = store.adopt(AdoptOptions::default()).await.unwrap();
        assert_eq!(adopted.plan.steps().len(), 1);
        assert!(!adopted.migrated.is_empty());
        assert!(adopted.migrated.iter().all(|(v, _)| *v > 2), "{adopted:?}");

        // Then the later migrations ran: the schema is a fresh Guildhall's.
        let fresh = TestDatabase::create(store.backend())
            .await
            .unwrap()
            .expect("the backend under test is there");
        let fresh_store = connect(&fresh).await;
        fresh_store.migrate().await.unwrap();
        fresh_store.close().await;
        let expected = raw::schema(&fresh.url, TABLES, &[]).await;
        fresh.drop_database().await;
        assert_eq!(
            raw::schema(&url, TABLES, &[]).await.unwrap(),
            expected.unwrap()
        );
    })
    .await;
}

#[tokio::test]
async fn an_empty_database_is_refused() {
    each_empty_database(|url, store| async move {
        let err = store.adopt(AdoptOptions::default()).await.unwrap_err();
        let AdoptError::Refused(plan) = err else {
            panic!("{err:?}")
        };
        let Outcome::Refused(blockers) = &plan.outcome else {
            unreachable!()
        };
        assert!(blockers[0].problem.contains("no `users`"), "{plan}");
        assert!(blockers[0].problem.contains("portal migrate"), "{plan}");
        let mut absent: Vec<String> = TABLES
            .iter()
            .chain(&["_sqlx_migrations"])
            .map(|t| format!("{t}: absent"))
            .collect();
        absent.sort();
        assert_eq!(raw::schema(&url, TABLES, &[]).await.unwrap(), absent);
    })
    .await;
}

/// fastapi-users' tables as SQLAlchemy writes them on SQLite, plus what an
/// application may have added: a column, an index, a CHECK, a view and a
/// trigger. The rebuild must keep all of them and every row as stored.
#[tokio::test]
async fn sqlite_rebuild_keeps_what_it_does_not_know() {
    let db = TestDatabase::create(Backend::Sqlite)
        .await
        .unwrap()
        .unwrap();
    let url = db.url.clone();
    let outcome = AssertUnwindSafe(async {
        for sql in [
            "CREATE TABLE users (\n\tid INTEGER NOT NULL, \n\tname VARCHAR(100) COLLATE NOCASE, \n\tlast_seen DATETIME, \n\temail VARCHAR(320) NOT NULL, \n\thashed_password VARCHAR(1024) NOT NULL, \n\tis_active BOOLEAN NOT NULL, \n\tis_superuser BOOLEAN NOT NULL, \n\tis_verified BOOLEAN NOT NULL, \n\tPRIMARY KEY (id), \n\tCHECK (length(name) < 50)\n)",
            "CREATE UNIQUE INDEX ix_users_email ON users (email)",
            "CREATE INDEX ix_users_name ON users (name)",
            "CREATE TABLE oauth_accounts (\n\tid INTEGER NOT NULL, \n\tuser_id INTEGER NOT NULL, \n\toauth_name VARCHAR(100) NOT NULL, \n\taccess_token VARCHAR(1024) NOT NULL, \n\texpires_at INTEGER, \n\trefresh_token VARCHAR(1024), \n\taccount_id VARCHAR(320) NOT NULL, \n\taccount_email VARCHAR(320) NOT NULL, \n\tPRIMARY KEY (id), \n\tFOREIGN KEY(user_id) REFERENCES users (id) ON DELETE cascade\n)",
            "CREATE INDEX ix_oauth_accounts_oauth_name ON oauth_accounts (oauth_name)",
            "CREATE TABLE audit (what TEXT)",
            "CREATE VIEW active_users AS SELECT id, email FROM users WHERE is_active",
            "CREATE TRIGGER oauth_audit AFTER INSERT ON oauth_accounts BEGIN INSERT INTO audit VALUES ('account ' || new.account_id); END",
            "INSERT INTO users VALUES (3, 'Ann', '2025-01-02 03:04:05.123456', 'ann@example.org', 'h1', 1, 0, 1)",
            "INSERT INTO users VALUES (7, NULL, NULL, 'Bob@Example.org', 'h2', 0, 0, 0)",
            "INSERT INTO oauth_accounts VALUES (1, 3, 'discord', 'tok', 1800000000, 'ref', '80351110224678912', 'ann@example.org')",
        ] {
            raw::execute(&url, sql).await.unwrap();
        }
        let users = raw::rows(&url, "users").await.unwrap();
        let accounts = raw::rows(&url, "oauth_accounts").await.unwrap();

        let store = connect(&db).await;
        let adopted = store.adopt(AdoptOptions::default()).await.unwrap();
        let text = adopted.plan.to_string();
        assert!(text.contains("PRAGMA foreign_keys = OFF;"), "{text}");
        assert!(text.contains("kept `users.name` (VARCHAR(100))"), "{text}");
        assert!(text.contains("kept index `ix_users_name`"), "{text}");
        store.close().await;

        let after = raw::rows(&url, "users").await.unwrap();
        for (column, values) in &users {
            assert_eq!(after.get(column), Some(values), "users.{column}");
        }
        let after = raw::rows(&url, "oauth_accounts").await.unwrap();
        for (column, values) in &accounts {
            assert_eq!(after.get(column), Some(values), "oauth_accounts.{column}");
        }
        let schema = raw::schema(&url, &["users"], &[]).await.unwrap().join("\n");
        assert!(schema.contains("users: autoincrement=true"), "{schema}");
        assert!(schema.contains("users.name: VARCHAR(100)"), "{schema}");
        assert!(schema.contains("ix_users_name"), "{schema}");
        assert!(!schema.contains("ix_users_email:"), "{schema}");
        let table_sql = raw::query(&url, "SELECT sql FROM sqlite_master WHERE name = 'users'")
            .await
            .unwrap();
        let table_sql = format!("{table_sql:?}");
        assert!(table_sql.contains("name VARCHAR(100) COLLATE NOCASE"), "{table_sql}");
        assert!(table_sql.contains("CHECK (length(name) < 50)"), "{table_sql}");

        // The view and the trigger are back and work.
        let active = raw::query(&url, "SELECT email FROM active_users").await.unwrap();
        assert_eq!(
            active["email"],
            vec![raw::Value::Text("ann@example.org".into())]
        );
        raw::execute(
            &url,
            "INSERT INTO oauth_accounts (user_id, oauth_name, access_token, account_id) VALUES (7, 'discord', 't', '42')",
        )
        .await
        .unwrap();
        // Once for the account made before adopting, once now: the copy
        // into the rebuilt table fired nothing.
        let audit = raw::query(&url, "SELECT what FROM audit").await.unwrap();
        assert_eq!(
            audit["what"],
            vec![
                raw::Value::Text("account 80351110224678912".into()),
                raw::Value::Text("account 42".into())
            ]
        );

        // The foreign key holds: deleting a user deletes their accounts.
        let store = connect(&db).await;
        assert_eq!(store.count_oauth_accounts().await.unwrap(), 2);
        store.close().await;
        raw::execute(&url, "DELETE FROM users WHERE id = 7")
            .await
            .unwrap();
        let left = raw::query(&url, "SELECT COUNT(*) AS n FROM oauth_accounts")
            .await
            .unwrap();
        assert_eq!(left["n"], vec![raw::Value::Int(1)]);
    })
    .catch_unwind()
    .await;
    db.drop_database().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
