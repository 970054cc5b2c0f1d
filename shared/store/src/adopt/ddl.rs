//! Spells the planned changes as each backend's SQL, grouped into steps in
//! the order they must run: renames, then per table the indexes fastapi-users
//! made that go, the columns, Guildhall's indexes and the foreign key; then
//! Guildhall's own tables.

use crate::Backend;
use crate::adopt::inspect::parenthesised;
use crate::adopt::plan::{Action, ColumnChange, ForeignKeyChange, Step, TableChanges, TypeChange};
use crate::adopt::target::{OAUTH_ACCOUNTS, TargetTable, USERS};

/// Backend-specific spellings the planner needs for its row checks too.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect(pub Backend);

/// How to find the rows a unique index would refuse.
pub(crate) struct Duplicates {
    pub problem: &'static str,
    /// The index's key, computed from the columns as they are now.
    pub key: &'static str,
    pub show: &'static str,
    pub order: &'static str,
}

/// Words that cannot be a bare table name somewhere among the three.
const RESERVED: &[&str] = &[
    "user",
    "order",
    "group",
    "table",
    "select",
    "index",
    "key",
    "primary",
    "references",
    "check",
    "default",
    "column",
    "constraint",
    "foreign",
    "unique",
    "from",
    "where",
];

impl Dialect {
    /// `name` as SQL: bare when it is a plain lower-case identifier, quoted
    /// otherwise (`"user"` is reserved on PostgreSQL, `` `user` `` on MySQL).
    pub(crate) fn ident(self, name: &str) -> String {
        let plain = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && !RESERVED.contains(&name);
        if plain {
            return name.to_owned();
        }
        match self.0 {
            Backend::MySql => format!("`{}`", name.replace('`', "``")),
            _ => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    pub(crate) fn char_length(self) -> &'static str {
        match self.0 {
            Backend::Sqlite => "length",
            Backend::Postgres => "char_length",
            Backend::MySql => "CHAR_LENGTH",
        }
    }

    /// For each of Guildhall's unique indexes on shared tables.
    pub(crate) fn duplicates(self, index: &str) -> Option<Duplicates> {
        const EMAILS: &str = "two or more users have emails equal but for case; Guildhall's \
                              unique index on the lower-cased email would refuse them";
        const ACCOUNTS: &str = "two or more OAuth accounts share an (oauth_name, account_id) \
                                pair; Guildhall's unique index on the pair would refuse them";
        let mysql = self.0 == Backend::MySql;
        match index {
            "ux_users_email" | "ux_users_email_folded" => Some(Duplicates {
                problem: EMAILS,
                // As the generated column will hold it, under Guildhall's collation.
                key: if mysql {
                    "CAST(LOWER(CONVERT(email USING utf8mb4) COLLATE utf8mb4_unicode_ci) AS BINARY)"
                } else {
                    "lower(email)"
                },
                show: "id, email",
                order: if mysql {
                    "LOWER(email)"
                } else {
                    "lower(email)"
                },
            }),
            "ux_oauth_accounts_name_account" => Some(Duplicates {
                problem: ACCOUNTS,
                key: if mysql {
                    "CONVERT(oauth_name USING utf8mb4) COLLATE utf8mb4_unicode_ci, \
                     CONVERT(account_id USING utf8mb4) COLLATE utf8mb4_unicode_ci"
                } else {
                    "oauth_name, account_id"
                },
                show: "id, user_id, oauth_name, account_id",
                order: "oauth_name, account_id",
            }),
            _ => None,
        }
    }

    /// sqlx's own INSERT into `_sqlx_migrations`, with its parameters.
    pub(crate) fn record_migration(self) -> &'static str {
        match self.0 {
            Backend::MySql => {
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES (?, ?, TRUE, ?, ?)"
            }
            _ => {
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) VALUES ($1, $2, TRUE, $3, $4)"
            }
        }
    }
}

fn sql_step(summary: String, sql: Vec<String>) -> Step {
    Step {
        summary,
        sql,
        action: Action::Sql,
    }
}

pub(crate) fn steps(
    backend: Backend,
    tables: &[TableChanges<'_>],
    create: &[&TargetTable],
) -> Vec<Step> {
    let d = Dialect(backend);
    let mut steps = Vec::new();

    let renamed: Vec<&TableChanges<'_>> = tables
        .iter()
        .filter(|t| t.renamed() && !(backend == Backend::Sqlite && t.rebuild))
        .collect();
    if !renamed.is_empty() {
        let names: Vec<String> = renamed
            .iter()
            .map(|t| format!("{} → {}", t.source.name, t.target.name))
            .collect();
        let sql = match backend {
            // One statement: both tables or neither, even without transactions.
            Backend::MySql => vec![format!(
                "RENAME TABLE {}",
                renamed
                    .iter()
                    .map(|t| format!("{} TO {}", d.ident(&t.source.name), t.target.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            )],
            _ => renamed
                .iter()
                .map(|t| {
                    format!(
                        "ALTER TABLE {} RENAME TO {}",
                        d.ident(&t.source.name),
                        t.target.name
                    )
                })
                .collect(),
        };
        steps.push(sql_step(
            format!("rename fastapi-users' default tables: {}", names.join(", ")),
            sql,
        ));
    }

    for t in tables {
        let name = t.target.name;
        if backend == Backend::Sqlite && t.rebuild {
            steps.push(sqlite_rebuild(d, t));
            continue;
        }
        let mut renames = Vec::new();
        if let Some(old) = t.rename_primary_key {
            renames.push(format!(
                "ALTER TABLE {name} RENAME CONSTRAINT {} TO {name}_pkey",
                d.ident(old)
            ));
        }
        if let Some(old) = t.rename_sequence {
            renames.push(format!(
                "ALTER SEQUENCE {} RENAME TO {name}_id_seq",
                d.ident(old)
            ));
        }
        if !renames.is_empty() {
            steps.push(sql_step(
                format!("{name}: primary key and id sequence named after the table"),
                renames,
            ));
        }
        if !t.drop_indexes.is_empty() {
            let names: Vec<&str> = t.drop_indexes.iter().map(|i| i.name.as_str()).collect();
            let sql = match backend {
                Backend::MySql => vec![format!(
                    "ALTER TABLE {name} {}",
                    names
                        .iter()
                        .map(|n| format!("DROP INDEX {}", d.ident(n)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )],
                _ => names
                    .iter()
                    .map(|n| format!("DROP INDEX {}", d.ident(n)))
                    .collect(),
            };
            steps.push(sql_step(
                format!(
                    "{name}: drop index{} {} (Guildhall's indexes replace {})",
                    if names.len() == 1 { "" } else { "es" },
                    names.join(", "),
                    if names.len() == 1 { "it" } else { "them" }
                ),
                sql,
            ));
        }
        if !t.columns.is_empty() || t.collation {
            steps.push(column_step(d, t));
        }
        if !t.rename_indexes.is_empty() || !t.create_indexes.is_empty() {
            steps.push(index_step(d, t));
        }
        if let Some(step) = foreign_key_step(d, t) {
            steps.push(step);
        }
    }

    for t in create {
        steps.push(sql_step(
            format!("create Guildhall's table {}", t.name),
            t.create.iter().map(|s| (*s).to_owned()).collect(),
        ));
    }
    steps
}

fn describe_change(t: &TableChanges<'_>, change: &ColumnChange<'_>) -> String {
    let target = change.column();
    match change {
        ColumnChange::Add(_) => format!("add {}", target.name),
        ColumnChange::Alter {
            ty,
            collation,
            nullable,
            default,
            ..
        } => {
            let from = t.source.column(target.name);
            let mut what = Vec::new();
            if let (Some(ty), Some(from)) = (ty, from) {
                let note = match ty {
                    TypeChange::Narrow(_) => " (every value fits)",
                    TypeChange::FromUtc => " (values read as UTC)",
                    _ => "",
                };
                what.push(format!(
                    "{} → {}{note}",
                    from.ty.describe(),
                    target.ty.describe()
                ));
            }
            if *collation {
                what.push(format!(
                    "{} → {}",
                    from.and_then(|f| f.collation.as_deref()).unwrap_or("?"),
                    target.collation.unwrap_or_default()
                ));
            }
            match nullable {
                Some(true) => what.push("NULL allowed".into()),
                Some(false) => what.push("NOT NULL".into()),
                None => {}
            }
            if *default {
                what.push(format!("default {}", target.default.unwrap_or_default()));
            }
            format!("{} {}", target.name, what.join(", "))
        }
    }
}

fn column_step(d: Dialect, t: &TableChanges<'_>) -> Step {
    let name = t.target.name;
    let mut clauses = Vec::new();
    if t.collation && d.0 == Backend::MySql {
        clauses.push(format!(
            "DEFAULT CHARACTER SET utf8mb4 COLLATE {}",
            t.target.collation.unwrap_or("utf8mb4_unicode_ci")
        ));
    }
    // Generated columns last: they read the columns changed before them.
    let mut ordered: Vec<&ColumnChange<'_>> = t.columns.iter().collect();
    ordered.sort_by_key(|c| c.column().generated);
    for change in &ordered {
        let c = change.column();
        match (change, d.0) {
            (ColumnChange::Add(_), _) => clauses.push(format!("ADD COLUMN {}", c.definition)),
            (ColumnChange::Alter { .. }, Backend::MySql) => {
                clauses.push(format!("MODIFY COLUMN {}", c.definition))
            }
            (
                ColumnChange::Alter {
                    ty,
                    nullable,
                    default,
                    ..
                },
                _,
            ) => {
                match ty {
                    Some(TypeChange::FromUtc) => clauses.push(format!(
                        "ALTER COLUMN {0} TYPE {1} USING {0} AT TIME ZONE 'UTC'",
                        c.name, c.sql_type
                    )),
                    Some(_) => clauses.push(format!("ALTER COLUMN {} TYPE {}", c.name, c.sql_type)),
                    None => {}
                }
                match nullable {
                    Some(true) => clauses.push(format!("ALTER COLUMN {} DROP NOT NULL", c.name)),
                    Some(false) => clauses.push(format!("ALTER COLUMN {} SET NOT NULL", c.name)),
                    None => {}
                }
                if *default {
                    clauses.push(format!(
                        "ALTER COLUMN {} SET DEFAULT {}",
                        c.name,
                        c.default.unwrap_or("NULL")
                    ));
                }
            }
        }
    }
    let mut what: Vec<String> = t.columns.iter().map(|c| describe_change(t, c)).collect();
    if t.collation {
        what.insert(
            0,
            format!(
                "default collation {}",
                t.target.collation.unwrap_or_default()
            ),
        );
    }
    sql_step(
        format!("{name}: columns to Guildhall's: {}", what.join("; ")),
        vec![format!(
            "ALTER TABLE {name}\n    {}",
            clauses.join(",\n    ")
        )],
    )
}

fn index_step(d: Dialect, t: &TableChanges<'_>) -> Step {
    let name = t.target.name;
    let mut sql = Vec::new();
    let mut mysql_clauses = Vec::new();
    let mut what = Vec::new();
    for (old, new) in &t.rename_indexes {
        what.push(format!("rename {} to {}", old.name, new.name));
        match d.0 {
            Backend::Postgres => sql.push(format!(
                "ALTER INDEX {} RENAME TO {}",
                d.ident(&old.name),
                new.name
            )),
            Backend::MySql => mysql_clauses.push(format!(
                "RENAME INDEX {} TO {}",
                d.ident(&old.name),
                new.name
            )),
            Backend::Sqlite => {
                sql.push(format!("DROP INDEX {}", d.ident(&old.name)));
                sql.push(create_index(name, new.unique, new.name, new.columns_sql));
            }
        }
    }
    for i in &t.create_indexes {
        what.push(format!(
            "{}{} {}",
            if i.unique { "unique " } else { "" },
            i.name,
            i.columns_sql
        ));
        match d.0 {
            Backend::MySql => mysql_clauses.push(format!(
                "ADD {}KEY {} {}",
                if i.unique { "UNIQUE " } else { "" },
                i.name,
                i.columns_sql
            )),
            _ => sql.push(create_index(name, i.unique, i.name, i.columns_sql)),
        }
    }
    if !mysql_clauses.is_empty() {
        sql.push(format!(
            "ALTER TABLE {name}\n    {}",
            mysql_clauses.join(",\n    ")
        ));
    }
    sql_step(format!("{name}: indexes: {}", what.join("; ")), sql)
}

fn create_index(table: &str, unique: bool, name: &str, columns: &str) -> String {
    format!(
        "CREATE {}INDEX {name} ON {table} {columns}",
        if unique { "UNIQUE " } else { "" }
    )
}

fn foreign_key_step(d: Dialect, t: &TableChanges<'_>) -> Option<Step> {
    let fk = t.target.foreign_key.as_ref()?;
    let name = t.target.name;
    let (summary, sql) = match (&t.foreign_key, d.0) {
        (ForeignKeyChange::Keep, _) => return None,
        (ForeignKeyChange::Add, Backend::Postgres) => (
            format!("add the foreign key {} → {}", fk.column, fk.ref_table),
            format!(
                "ALTER TABLE {name} ADD CONSTRAINT {} {}",
                fk.name.unwrap_or_default(),
                fk.definition
            ),
        ),
        (ForeignKeyChange::Add, _) => (
            format!("add the foreign key {} → {}", fk.column, fk.ref_table),
            format!("ALTER TABLE {name} ADD {}", fk.definition),
        ),
        (ForeignKeyChange::Rename(old), Backend::Postgres) => (
            format!(
                "rename the foreign key {} to {}",
                old.name.as_deref().unwrap_or_default(),
                fk.name.unwrap_or_default()
            ),
            format!(
                "ALTER TABLE {name} RENAME CONSTRAINT {} TO {}",
                d.ident(old.name.as_deref().unwrap_or_default()),
                fk.name.unwrap_or_default()
            ),
        ),
        (ForeignKeyChange::Replace(old), Backend::Postgres) => (
            format!(
                "replace the foreign key {} (ON DELETE {}) with Guildhall's",
                old.name.as_deref().unwrap_or_default(),
                old.on_delete
            ),
            format!(
                "ALTER TABLE {name}\n    DROP CONSTRAINT {},\n    ADD CONSTRAINT {} {}",
                d.ident(old.name.as_deref().unwrap_or_default()),
                fk.name.unwrap_or_default(),
                fk.definition
            ),
        ),
        // MySQL renames a foreign key by replacing it, in one statement so
        // the key is never missing.
        (ForeignKeyChange::Rename(old) | ForeignKeyChange::Replace(old), _) => {
            let old = mysql_name_after_rename(t, old.name.as_deref().unwrap_or_default());
            (
                format!(
                    "replace the foreign key {old} with Guildhall's {}",
                    fk.name.unwrap_or_default()
                ),
                format!(
                    "ALTER TABLE {name}\n    DROP FOREIGN KEY {},\n    ADD {}",
                    d.ident(&old),
                    fk.definition
                ),
            )
        }
    };
    Some(sql_step(format!("{name}: {summary}"), vec![sql]))
}

/// InnoDB names a foreign key it names itself `<table>_ibfk_<n>`, and
/// renames it with its table: after the rename step it has the new name.
fn mysql_name_after_rename(t: &TableChanges<'_>, name: &str) -> String {
    match name.strip_prefix(&format!("{}_ibfk_", t.source.name)) {
        Some(n) if t.renamed() => format!("{}_ibfk_{n}", t.target.name),
        _ => name.to_owned(),
    }
}

/// SQLite's documented procedure for changes ALTER TABLE cannot make
/// (<https://www.sqlite.org/lang_altertable.html#otheralter>): create the
/// new table, copy the rows, drop the old one, rename the new one, then
/// recreate indexes, triggers and views. The executor wraps it in the
/// transaction with foreign keys off and checks them before committing.
fn sqlite_rebuild(d: Dialect, t: &TableChanges<'_>) -> Step {
    let name = t.target.name;
    let new = format!("new_{name}");
    let source = d.ident(&t.source.name);
    let mut sql = Vec::new();
    for (kind, dependent, _) in &t.source.dependents {
        sql.push(format!(
            "DROP {} {}",
            kind.to_ascii_uppercase(),
            d.ident(dependent)
        ));
    }
    let mut definitions: Vec<String> = t
        .target
        .columns
        .iter()
        .map(|c| c.definition.to_owned())
        .collect();
    let mut copied: Vec<String> = Vec::new();
    for c in &t.source.columns {
        if t.target.column(&c.name).is_some() {
            copied.push(c.name.clone());
        } else if let Some(definition) = &c.definition {
            definitions.push(definition.clone());
            copied.push(format!("\"{}\"", c.name.replace('"', "\"\"")));
        }
    }
    definitions.extend(t.kept_constraints.iter().map(|c| (*c).to_owned()));
    sql.push(format!(
        "CREATE TABLE {new} (\n    {}\n)",
        definitions.join(",\n    ")
    ));
    let copied = copied.join(", ");
    sql.push(format!(
        "INSERT INTO {new} ({copied})\n    SELECT {copied} FROM {source}"
    ));
    sql.push(format!("DROP TABLE {source}"));
    sql.push(format!("ALTER TABLE {new} RENAME TO {name}"));
    for i in &t.target.indexes {
        sql.push(create_index(name, i.unique, i.name, i.columns_sql));
    }
    for i in &t.kept_indexes {
        let Some(statement) = &i.sql else { continue };
        if t.renamed() {
            // Written for the old name: said again for the new one.
            if let Some((list, rest)) = parenthesised(statement) {
                sql.push(format!(
                    "CREATE {}INDEX {} ON {name} ({list}){rest}",
                    if i.unique { "UNIQUE " } else { "" },
                    d.ident(&i.name)
                ));
            }
        } else {
            sql.push(statement.clone());
        }
    }
    for (_, _, statement) in &t.source.dependents {
        sql.push(statement.clone());
    }
    let changed: Vec<String> = t.columns.iter().map(|c| describe_change(t, c)).collect();
    let mut why = changed;
    if !t.source.autoincrement {
        why.push("id AUTOINCREMENT (ids of deleted rows are never reused)".into());
    }
    if t.foreign_key != ForeignKeyChange::Keep {
        why.push("Guildhall's foreign key".into());
    }
    let rename = if t.renamed() {
        format!(" (from {})", t.source.name)
    } else {
        String::new()
    };
    sql_step(
        format!(
            "{name}{rename}: rebuild as Guildhall's table, rows copied as stored (SQLite's ALTER TABLE procedure): {}",
            why.join("; ")
        ),
        sql,
    )
}

/// The two shared tables' names, for the foreign key check after a rebuild.
pub(crate) const CHECKED_TABLES: [&str; 2] = [USERS, OAUTH_ACCOUNTS];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        let pg = Dialect(Backend::Postgres);
        assert_eq!(pg.ident("users"), "users");
        assert_eq!(pg.ident("user"), "\"user\"");
        assert_eq!(pg.ident("Weird\"Name"), "\"Weird\"\"Name\"");
        assert_eq!(Dialect(Backend::MySql).ident("user"), "`user`");
        assert_eq!(Dialect(Backend::Sqlite).ident("1st"), "\"1st\"");
    }
}
