//! Runs a plan on each backend: inspection, checks and steps on one
//! connection, holding the migrator's lock so neither a starting portal nor
//! a second adopt runs migrations meanwhile. PostgreSQL and SQLite do it
//! all in one transaction; MySQL/MariaDB commit each DDL statement
//! themselves, so there each step is planned from what the database holds
//! and a rerun after an interruption plans only what is left.

use std::time::Instant;

use sqlx::migrate::{Migrate, Migration};
use sqlx::{
    Connection, Database, Decode, Encode, Executor, IntoArguments, MySql, Postgres, Sqlite, Type,
};

use crate::Backend;
use crate::adopt::ddl::{CHECKED_TABLES, Dialect};
use crate::adopt::plan::{Action, Blocker, Check, Draft, Outcome, Plan};
use crate::adopt::{AdoptError, AdoptOptions, inspect, plan, target::Target};
use crate::database::{Db, Store};

/// How far to go: everything, or only the first steps (as if the process
/// had died after them), for tests of resuming.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Limit {
    All,
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    FirstSteps(usize),
}

impl Limit {
    fn allows(self, step: usize) -> bool {
        match self {
            Limit::All => true,
            Limit::FirstSteps(n) => step < n,
        }
    }
}

/// The plan as it stands, checks run, nothing changed.
pub(crate) async fn dry_run(store: &Store, options: AdoptOptions) -> Result<Plan, AdoptError> {
    let backend = store.backend();
    let target = Target::of(backend);
    match &store.db {
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            let schema = inspect::sqlite(&mut conn, &target)
                .await
                .map_err(AdoptError::Inspect)?;
            checked::<Sqlite>(plan::plan(backend, &target, &schema, options), &mut conn).await
        }
        Db::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            let schema = inspect::postgres(&mut conn, &target)
                .await
                .map_err(AdoptError::Inspect)?;
            checked::<Postgres>(plan::plan(backend, &target, &schema, options), &mut conn).await
        }
        Db::MySql(pool) => {
            let mut conn = pool.acquire().await?;
            let schema = inspect::mysql(&mut conn, &target)
                .await
                .map_err(AdoptError::Inspect)?;
            checked::<MySql>(plan::plan(backend, &target, &schema, options), &mut conn).await
        }
    }
}

/// Plans and applies. Returns the plan that ran (or found nothing to do);
/// a refused plan is [`AdoptError::Refused`].
pub(crate) async fn apply(
    store: &Store,
    options: AdoptOptions,
    limit: Limit,
) -> Result<Plan, AdoptError> {
    let backend = store.backend();
    let target = Target::of(backend);
    let plan = match &store.db {
        Db::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            // SQLite's procedure: foreign keys off outside the transaction,
            // checked before committing, on again after.
            sqlx::query("PRAGMA foreign_keys = OFF")
                .execute(&mut *conn)
                .await?;
            let result = sqlite(&mut conn, &target, options, limit).await;
            if sqlx::query("PRAGMA foreign_keys = ON")
                .execute(&mut *conn)
                .await
                .is_err()
            {
                // Never hand the pool a connection that ignores foreign keys.
                let _ = conn.close().await;
            }
            result?
        }
        Db::Postgres(pool) => {
            let mut conn = pool.acquire().await?;
            conn.lock().await.map_err(AdoptError::Bookkeeping)?;
            let result: Result<Plan, AdoptError> = async {
                let mut tx = conn.begin().await?;
                let schema = inspect::postgres(&mut tx, &target)
                    .await
                    .map_err(AdoptError::Inspect)?;
                let plan =
                    checked::<Postgres>(plan::plan(backend, &target, &schema, options), &mut tx)
                        .await?;
                run::<Postgres>(&mut tx, backend, &plan, limit).await?;
                tx.commit().await?;
                Ok(plan)
            }
            .await;
            let _ = conn.unlock().await;
            // Closing releases the session's lock even if unlocking failed.
            let _ = conn.close().await;
            result?
        }
        Db::MySql(pool) => {
            let mut conn = pool.acquire().await?;
            conn.lock().await.map_err(AdoptError::Bookkeeping)?;
            let result: Result<Plan, AdoptError> = async {
                let schema = inspect::mysql(&mut conn, &target)
                    .await
                    .map_err(AdoptError::Inspect)?;
                let plan =
                    checked::<MySql>(plan::plan(backend, &target, &schema, options), &mut conn)
                        .await?;
                run::<MySql>(&mut conn, backend, &plan, limit).await?;
                Ok(plan)
            }
            .await;
            let _ = conn.unlock().await;
            let _ = conn.close().await;
            result?
        }
    };
    Ok(plan)
}

async fn sqlite(
    conn: &mut sqlx::SqliteConnection,
    target: &Target,
    options: AdoptOptions,
    limit: Limit,
) -> Result<Plan, AdoptError> {
    // IMMEDIATE: the write lock from the first read, so nothing changes
    // between the inspection and the steps.
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let schema = inspect::sqlite(&mut tx, target)
        .await
        .map_err(AdoptError::Inspect)?;
    let plan = checked::<Sqlite>(
        plan::plan(Backend::Sqlite, target, &schema, options),
        &mut tx,
    )
    .await?;
    run::<Sqlite>(&mut tx, Backend::Sqlite, &plan, limit).await?;
    if matches!(plan.outcome, Outcome::Steps(_)) {
        let mut broken = 0i64;
        for table in CHECKED_TABLES {
            broken +=
                sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM pragma_foreign_key_check($1)")
                    .bind(table)
                    .fetch_one(&mut *tx)
                    .await?;
        }
        if broken > 0 {
            tx.rollback().await?;
            return Err(AdoptError::ForeignKeys(broken as usize));
        }
    }
    tx.commit().await?;
    Ok(plan)
}

/// Runs the draft's row checks; any row found refuses the plan.
async fn checked<DB>(draft: Draft, conn: &mut DB::Connection) -> Result<Plan, AdoptError>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Type<DB> + for<'r> Decode<'r, DB>,
    usize: sqlx::ColumnIndex<DB::Row>,
{
    let Draft { mut plan, checks } = draft;
    if matches!(plan.outcome, Outcome::AlreadyAdopted) {
        return Ok(plan);
    }
    let mut found = Vec::new();
    for Check { problem, query } in checks {
        let sql = format!("SELECT COUNT(*) FROM ({query}) AS offending");
        let rows: i64 = sqlx::query_scalar(&sql)
            .fetch_one(&mut *conn)
            .await
            .map_err(AdoptError::Check)?;
        if rows > 0 {
            found.push(Blocker {
                problem: format!("{problem} ({rows} rows)"),
                query: Some(query),
            });
        }
    }
    if !found.is_empty() {
        // Row problems first: they are what the operator must fix.
        if let Outcome::Refused(schema_problems) = plan.outcome {
            found.extend(schema_problems);
        }
        plan.outcome = Outcome::Refused(found);
    }
    match plan.outcome {
        Outcome::Refused(_) => Err(AdoptError::Refused(Box::new(plan))),
        _ => Ok(plan),
    }
}

/// Runs the plan's steps, up to `limit`.
async fn run<DB>(
    conn: &mut DB::Connection,
    backend: Backend,
    plan: &Plan,
    limit: Limit,
) -> Result<(), AdoptError>
where
    DB: Database,
    DB::Connection: Migrate,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Type<DB> + for<'q> Encode<'q, DB>,
    String: Type<DB> + for<'q> Encode<'q, DB>,
    Vec<u8>: Type<DB> + for<'q> Encode<'q, DB>,
{
    let started = Instant::now();
    for (number, step) in plan.steps().iter().enumerate() {
        if !limit.allows(number) {
            break;
        }
        let failed = |source| AdoptError::Step {
            number: number + 1,
            summary: step.summary.clone(),
            source,
        };
        match &step.action {
            Action::Sql => {
                for statement in &step.sql {
                    conn.execute(statement.as_str()).await.map_err(failed)?;
                }
            }
            Action::Record(migrations) => {
                record::<DB>(conn, backend, migrations, started)
                    .await
                    .map_err(|e| match e {
                        sqlx::migrate::MigrateError::Execute(source) => failed(source),
                        other => AdoptError::Bookkeeping(other),
                    })?;
            }
        }
        tracing::info!(step = number + 1, summary = %step.summary, "adoption step done");
    }
    Ok(())
}

/// sqlx's rows for the migrations adoption stands for: its table created by
/// sqlx itself, the rows as its migrator writes them (the checksum is the
/// SHA-384 of the file, `success` true, the time taken in nanoseconds), all
/// in one transaction so a rerun never finds half of them.
async fn record<DB>(
    conn: &mut DB::Connection,
    backend: Backend,
    migrations: &[Migration],
    started: Instant,
) -> Result<(), sqlx::migrate::MigrateError>
where
    DB: Database,
    DB::Connection: Migrate,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    i64: Type<DB> + for<'q> Encode<'q, DB>,
    String: Type<DB> + for<'q> Encode<'q, DB>,
    Vec<u8>: Type<DB> + for<'q> Encode<'q, DB>,
{
    conn.ensure_migrations_table().await?;
    let elapsed = i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX);
    let mut tx = conn.begin().await?;
    for m in migrations {
        sqlx::query(Dialect(backend).record_migration())
            .bind(m.version)
            .bind(m.description.to_string())
            .bind(m.checksum.to_vec())
            .bind(elapsed)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
