//! Decides, from what `inspect` read, what adoption must change: for each of
//! Guildhall's tables, the differences from the target and whether they can
//! be made without losing anything. Pure: no database access. The SQL
//! spelling of each change is `ddl`'s job; the row checks it asks for
//! (duplicates, NULLs, values too long) are run by the executor before any
//! change.

use sqlx::migrate::Migration;

use crate::Backend;
use crate::adopt::AdoptOptions;
use crate::adopt::ddl::{self, Dialect};
use crate::adopt::schema::{Schema, Table};
use crate::adopt::target::{Target, TargetTable, USERS};
use crate::migrations::Embedded;

mod table;

pub(crate) use table::{ColumnChange, ForeignKeyChange, TableChanges, TypeChange};
use table::{describe_column, table_changes};

/// What adoption will do to a database, or why it will not.
#[derive(Debug, Clone)]
pub struct Plan {
    pub backend: Backend,
    pub outcome: Outcome,
    /// What stays as it is (tables, columns and indexes Guildhall does not
    /// know), and assumptions the operator should know about.
    pub notes: Vec<String>,
    /// Migrations the migrator applies afterwards, as `(version, description)`.
    pub later_migrations: Vec<(i64, String)>,
}

#[derive(Debug, Clone)]
pub enum Outcome {
    /// `_sqlx_migrations` already records Guildhall's migrations: the schema
    /// is Guildhall's, and later migrations are the migrator's business.
    AlreadyAdopted,
    /// Nothing is changed, for these reasons.
    Refused(Vec<Blocker>),
    /// These steps, in this order.
    Steps(Vec<Step>),
}

/// Why adoption refuses to start.
#[derive(Debug, Clone, PartialEq)]
pub struct Blocker {
    pub problem: String,
    /// A query listing the rows at fault, for the operator to run.
    pub query: Option<String>,
}

/// One step of the plan: a few statements with one purpose. On MySQL and
/// MariaDB each statement commits by itself; a rerun plans again from what
/// the database then holds, so an interrupted step is finished, not redone.
#[derive(Debug, Clone)]
pub struct Step {
    pub summary: String,
    /// The statements, exactly as they run.
    pub sql: Vec<String>,
    pub(crate) action: Action,
}

#[derive(Debug, Clone)]
pub(crate) enum Action {
    Sql,
    /// Create sqlx's table if needed and insert these rows.
    Record(Vec<Migration>),
}

impl Plan {
    /// The steps, when adoption would change anything.
    pub fn steps(&self) -> &[Step] {
        match &self.outcome {
            Outcome::Steps(steps) => steps,
            _ => &[],
        }
    }
}

/// A row check the executor runs before any change: `query` lists rows
/// that would make a step fail or lose data; any row turns `problem` into a
/// [`Blocker`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Check {
    pub problem: String,
    pub query: String,
}

/// The plan before its checks have run.
#[derive(Debug, Clone)]
pub(crate) struct Draft {
    pub plan: Plan,
    pub checks: Vec<Check>,
}

/// What one planning pass produced, before it is spelled out.
struct Work<'a> {
    backend: Backend,
    blockers: Vec<Blocker>,
    checks: Vec<Check>,
    notes: Vec<String>,
    tables: Vec<TableChanges<'a>>,
    create: Vec<&'a TargetTable>,
}

pub(crate) fn plan(
    backend: Backend,
    target: &Target,
    schema: &Schema,
    options: AdoptOptions,
) -> Draft {
    let mut work = Work {
        backend,
        blockers: Vec::new(),
        checks: Vec::new(),
        notes: Vec::new(),
        tables: Vec::new(),
        create: Vec::new(),
    };
    let embedded = Embedded::of(backend).migrations();
    if let Some(applied) = schema.migrations.as_ref().filter(|m| !m.is_empty()) {
        let ours = |v: i64| embedded.iter().find(|m| m.version == v);
        let first_is_ours = applied
            .iter()
            .find(|m| m.version == 1)
            .zip(ours(1))
            .is_some_and(|(a, e)| a.checksum == *e.checksum);
        let outcome = if first_is_ours {
            Outcome::AlreadyAdopted
        } else {
            let versions: Vec<String> = applied.iter().map(|m| m.version.to_string()).collect();
            Outcome::Refused(vec![Blocker {
                problem: format!(
                    "_sqlx_migrations records migrations that are not Guildhall's (versions {}): \
                     another sqlx application uses this database",
                    versions.join(", ")
                ),
                query: Some("SELECT version, description, installed_on FROM _sqlx_migrations ORDER BY version".into()),
            }])
        };
        let later_migrations = match outcome {
            Outcome::AlreadyAdopted => embedded
                .iter()
                .filter(|m| !applied.iter().any(|a| a.version == m.version))
                .map(|m| (m.version, m.description.to_string()))
                .collect(),
            _ => Vec::new(),
        };
        return Draft {
            plan: Plan {
                backend,
                outcome,
                notes: Vec::new(),
                later_migrations,
            },
            checks: Vec::new(),
        };
    }

    let mut default_names = Vec::new();
    for t in target.tables.iter().filter(|t| t.is_shared()) {
        let ours = schema.tables.get(t.name);
        let theirs = t.default_name.and_then(|n| schema.tables.get(n));
        let source = match (ours, theirs) {
            (Some(_), Some(d)) => {
                work.blockers.push(Blocker {
                    problem: format!(
                        "both `{}` and `{}` exist; adopt cannot tell which one the application uses",
                        t.name, d.name
                    ),
                    query: None,
                });
                continue;
            }
            (Some(s), None) => s,
            (None, Some(d)) => {
                default_names.push((d.name.as_str(), t.name));
                if !options.rename_tables {
                    continue;
                }
                d
            }
            (None, None) if t.name == USERS => {
                work.blockers.push(Blocker {
                    problem: "there is no `users` (or `user`) table: nothing to adopt. A new \
                              database needs no adoption: `portal migrate` creates Guildhall's schema"
                        .into(),
                    query: None,
                });
                continue;
            }
            (None, None) => {
                work.notes.push(format!(
                    "there is no `{}` table; adopt creates Guildhall's",
                    t.name
                ));
                work.create.push(t);
                continue;
            }
        };
        let missing: Vec<&str> = t
            .required
            .iter()
            .copied()
            .filter(|c| source.column(c).is_none())
            .collect();
        if !missing.is_empty() {
            work.blockers.push(Blocker {
                problem: format!(
                    "`{}` lacks fastapi-users' column(s) {}: it is not a fastapi-users table, and adopt leaves it alone",
                    source.name,
                    missing.join(", ")
                ),
                query: None,
            });
            continue;
        }
        let changes = table_changes(&mut work, t, source, schema);
        work.tables.push(changes);
    }
    if !default_names.is_empty() && !options.rename_tables {
        work.blockers.push(default_names_blocker(&default_names));
    } else if !default_names.is_empty() {
        work.notes.push(rename_note(&default_names));
    }

    for t in target.tables.iter().filter(|t| !t.is_shared()) {
        match schema.tables.get(t.name) {
            None => work.create.push(t),
            Some(existing) => {
                if let Err(why) = matches_exactly(t, existing) {
                    work.blockers.push(Blocker {
                        problem: format!(
                            "a table named `{}` exists but is not Guildhall's ({why}); rename or drop it first",
                            t.name
                        ),
                        query: None,
                    });
                }
            }
        }
    }

    let outcome = if !work.blockers.is_empty() {
        Outcome::Refused(std::mem::take(&mut work.blockers))
    } else {
        let mut steps = ddl::steps(backend, &work.tables, &work.create);
        steps.push(record_step(backend, target, &embedded));
        Outcome::Steps(steps)
    };
    let later_migrations = embedded
        .iter()
        .filter(|m| !target.versions.contains(&m.version))
        .map(|m| (m.version, m.description.to_string()))
        .collect();
    Draft {
        plan: Plan {
            backend,
            outcome,
            notes: work.notes,
            later_migrations,
        },
        checks: work.checks,
    }
}

fn default_names_blocker(found: &[(&str, &str)]) -> Blocker {
    let (theirs, ours): (Vec<String>, Vec<String>) = found
        .iter()
        .map(|(t, o)| (format!("`{t}`"), format!("`{o}`")))
        .unzip();
    Blocker {
        problem: format!(
            "the tables carry fastapi-users' default names {}; Guildhall's are {}. \
             `portal adopt --rename-tables` renames them (with their sequences, keys and indexes) \
             and then adopts them. The Python application finds its tables by name: stop it first, \
             and before it runs again give its models Guildhall's names \
             (`__tablename__ = \"users\"` on the user model, `\"oauth_accounts\"` on the OAuth \
             account model, whose foreign key then points at `users.id`).",
            theirs.join(" and "),
            ours.join(" and ")
        ),
        query: None,
    }
}

fn rename_note(found: &[(&str, &str)]) -> String {
    let renames: Vec<String> = found
        .iter()
        .map(|(t, o)| format!("`{t}` → `{o}`"))
        .collect();
    format!(
        "renaming {}: the Python application must use the new names (`__tablename__`) before it runs again",
        renames.join(", ")
    )
}

/// A Guildhall-only table found already present: either adoption made it
/// (a rerun), or it is somebody else's.
fn matches_exactly(target: &TargetTable, existing: &Table) -> Result<(), String> {
    for tc in &target.columns {
        let Some(c) = existing.column(tc.name) else {
            return Err(format!("no column {}", tc.name));
        };
        if c.ty != tc.ty || c.nullable != tc.nullable {
            return Err(format!("column {} is {}", c.name, describe_column(c)));
        }
    }
    if existing.columns.len() != target.columns.len() {
        return Err("it has other columns".into());
    }
    for ti in &target.indexes {
        if existing.index(ti.name).is_none() {
            return Err(format!("no index {}", ti.name));
        }
    }
    Ok(())
}

fn record_step(backend: Backend, target: &Target, embedded: &[Migration]) -> Step {
    let migrations: Vec<Migration> = embedded
        .iter()
        .filter(|m| target.versions.contains(&m.version))
        .cloned()
        .collect();
    let d = Dialect(backend);
    let mut sql = vec![
        "-- sqlx's own CREATE TABLE IF NOT EXISTS _sqlx_migrations (…), as its migrator runs it"
            .to_owned(),
    ];
    for m in &migrations {
        sql.push(format!(
            "-- {}, '{}', SHA-384 of migrations/{}/{:04}_{}.sql = {}, the adoption's duration in ns:",
            m.version,
            m.description,
            backend.name(),
            m.version,
            m.description.replace(' ', "_"),
            hex(&m.checksum)
        ));
        sql.push(d.record_migration().to_owned());
    }
    let versions: Vec<String> = migrations
        .iter()
        .map(|m| format!("{} ({})", m.version, m.description))
        .collect();
    Step {
        summary: format!(
            "record migration{} {} as applied in _sqlx_migrations, as sqlx's migrator would",
            if migrations.len() == 1 { "" } else { "s" },
            versions.join(" and ")
        ),
        sql,
        action: Action::Record(migrations),
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adopt::schema::{AppliedMigration, Column, ColumnType, ForeignKey, Index};

    /// A database exactly like the target, as `inspect` would read it, with
    /// no `_sqlx_migrations`.
    fn like_target(backend: Backend) -> Schema {
        let mut schema = Schema::default();
        for t in Target::of(backend).tables {
            let key = t.columns[0].name.to_owned();
            let table = Table {
                name: t.name.into(),
                columns: t
                    .columns
                    .iter()
                    .map(|c| Column {
                        name: c.name.into(),
                        ty: c.ty.clone(),
                        nullable: c.nullable,
                        default: c.default.map(Into::into),
                        charset: c.collation.map(|_| "utf8mb4".into()),
                        collation: c.collation.map(Into::into),
                        auto_increment: c.auto_increment,
                        generated: c.generated,
                        definition: Some(c.definition.into()),
                    })
                    .collect(),
                indexes: t
                    .indexes
                    .iter()
                    .map(|i| Index {
                        name: i.name.into(),
                        unique: i.unique,
                        parts: i.parts.iter().map(|p| (*p).to_owned()).collect(),
                        extra: String::new(),
                        sql: Some(format!(
                            "CREATE INDEX {} ON {} {}",
                            i.name, t.name, i.columns_sql
                        )),
                    })
                    .collect(),
                primary_key: vec![key],
                primary_key_name: (backend == Backend::Postgres)
                    .then(|| format!("{}_pkey", t.name)),
                id_sequence: (backend == Backend::Postgres && t.is_shared())
                    .then(|| format!("{}_id_seq", t.name)),
                foreign_keys: t
                    .foreign_key
                    .iter()
                    .map(|f| ForeignKey {
                        name: f.name.map(Into::into),
                        columns: vec![f.column.into()],
                        ref_table: f.ref_table.into(),
                        ref_columns: vec![f.ref_column.into()],
                        on_delete: "CASCADE".into(),
                    })
                    .collect(),
                collation: t.collation.map(Into::into),
                autoincrement: backend == Backend::Sqlite,
                ..Table::default()
            };
            schema.tables.insert(t.name.into(), table);
        }
        schema
    }

    fn draft(backend: Backend, schema: &Schema) -> Draft {
        plan(
            backend,
            &Target::of(backend),
            schema,
            AdoptOptions::default(),
        )
    }

    fn summaries(plan: &Plan) -> Vec<&str> {
        plan.steps().iter().map(|s| s.summary.as_str()).collect()
    }

    fn problems(plan: &Plan) -> Vec<&str> {
        match &plan.outcome {
            Outcome::Refused(blockers) => blockers.iter().map(|b| b.problem.as_str()).collect(),
            _ => Vec::new(),
        }
    }

    fn users(schema: &mut Schema) -> &mut Table {
        schema.tables.get_mut(USERS).unwrap()
    }

    #[test]
    fn a_database_like_the_target_needs_only_the_bookkeeping() {
        for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
            let d = draft(backend, &like_target(backend));
            assert_eq!(d.plan.steps().len(), 1, "{backend:?}: {}", d.plan);
            assert!(d.plan.notes.is_empty(), "{}", d.plan);
            // SQLite checks every foreign key before committing, so it looks
            // for orphans first; elsewhere the existing key vouches for them.
            let checks: Vec<&str> = d.checks.iter().map(|c| c.problem.as_str()).collect();
            match backend {
                Backend::Sqlite => assert_eq!(
                    checks,
                    vec!["`oauth_accounts` has accounts whose user does not exist"]
                ),
                _ => assert!(checks.is_empty(), "{checks:?}"),
            }
        }
    }

    #[test]
    fn unknown_columns_are_kept_unless_guildhall_could_not_insert() {
        let mut schema = like_target(Backend::Postgres);
        users(&mut schema).columns.push(Column {
            name: "phone_number".into(),
            ty: ColumnType::Varchar(30),
            nullable: true,
            default: None,
            charset: None,
            collation: None,
            auto_increment: false,
            generated: false,
            definition: None,
        });
        let d = draft(Backend::Postgres, &schema);
        assert_eq!(d.plan.steps().len(), 1, "{}", d.plan);
        assert!(
            d.plan.notes[0].contains("kept `users.phone_number`"),
            "{:?}",
            d.plan.notes
        );

        users(&mut schema).columns.last_mut().unwrap().nullable = false;
        let d = draft(Backend::Postgres, &schema);
        assert!(
            problems(&d.plan)[0].contains("NOT NULL without a default"),
            "{}",
            d.plan
        );
    }

    #[test]
    fn a_wider_column_narrows_only_after_its_values_are_checked() {
        let mut schema = like_target(Backend::Postgres);
        let nickname = users(&mut schema)
            .columns
            .iter_mut()
            .find(|c| c.name == "nickname")
            .unwrap();
        nickname.ty = ColumnType::Varchar(200);
        let d = draft(Backend::Postgres, &schema);
        let sql = d.plan.steps()[0].sql.join("\n");
        assert!(
            sql.contains("ALTER COLUMN nickname TYPE VARCHAR(100)"),
            "{sql}"
        );
        assert_eq!(
            d.checks,
            vec![Check {
                problem: "`users.nickname` has values longer than Guildhall's 100 characters"
                    .into(),
                query:
                    "SELECT id, nickname FROM users WHERE char_length(nickname) > 100 ORDER BY id"
                        .into(),
            }]
        );
    }

    #[test]
    fn what_cannot_be_made_guildhalls_without_loss_refuses() {
        let mut schema = like_target(Backend::MySql);
        users(&mut schema).columns[0].ty = ColumnType::BigInt;
        let d = draft(Backend::MySql, &schema);
        assert!(problems(&d.plan)[0].contains("32-bit"), "{}", d.plan);

        let mut schema = like_target(Backend::Postgres);
        let mut user = schema.tables[USERS].clone();
        user.name = "user".into();
        schema.tables.insert("user".into(), user);
        let d = draft(Backend::Postgres, &schema);
        assert!(
            problems(&d.plan)[0].contains("both `users` and `user` exist"),
            "{}",
            d.plan
        );
    }

    #[test]
    fn another_applications_bookkeeping_refuses() {
        let mut schema = like_target(Backend::Sqlite);
        schema.migrations = Some(vec![AppliedMigration {
            version: 20240101,
            checksum: vec![1, 2, 3],
        }]);
        let d = draft(Backend::Sqlite, &schema);
        assert!(
            problems(&d.plan)[0].contains("versions 20240101"),
            "{}",
            d.plan
        );
    }

    #[test]
    fn recorded_migrations_mean_already_adopted_with_the_later_ones_listed() {
        let embedded = Embedded::of(Backend::Sqlite).migrations();
        let mut schema = like_target(Backend::Sqlite);
        schema.migrations = Some(vec![AppliedMigration {
            version: 1,
            checksum: embedded[0].checksum.to_vec(),
        }]);
        let d = draft(Backend::Sqlite, &schema);
        assert!(
            matches!(d.plan.outcome, Outcome::AlreadyAdopted),
            "{}",
            d.plan
        );
        let later: Vec<i64> = d.plan.later_migrations.iter().map(|(v, _)| *v).collect();
        let expected: Vec<i64> = embedded
            .iter()
            .map(|m| m.version)
            .filter(|v| *v != 1)
            .collect();
        assert_eq!(later, expected);
    }

    #[test]
    fn a_missing_oauth_accounts_table_is_created_as_the_migration_does() {
        for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
            let mut schema = like_target(backend);
            schema.tables.remove(crate::adopt::target::OAUTH_ACCOUNTS);
            let d = draft(backend, &schema);
            assert_eq!(
                summaries(&d.plan),
                vec![
                    "create Guildhall's table oauth_accounts",
                    d.plan.steps()[1].summary.as_str()
                ],
                "{backend:?}"
            );
            assert!(d.plan.steps()[0].sql[0].starts_with("CREATE TABLE oauth_accounts ("));
        }
    }
}
