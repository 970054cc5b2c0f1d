//! SQLite's catalog: `sqlite_master` and the table-valued pragma functions.
//! The CREATE TABLE text is read too, because a rebuild must write the
//! columns and constraints it does not know exactly as they were.

use sqlx::{Row, SqliteConnection};

use crate::adopt::inspect::{MIGRATIONS_TABLE, wanted};
use crate::adopt::schema::{
    AppliedMigration, Column, ColumnType, ForeignKey, Index, Schema, Table, normalise_part,
    split_top_level,
};
use crate::adopt::target::Target;

pub(crate) async fn inspect(
    conn: &mut SqliteConnection,
    target: &Target,
) -> Result<Schema, sqlx::Error> {
    let wanted = wanted(target);
    let rows = sqlx::query("SELECT name, sql FROM sqlite_master WHERE type = 'table'")
        .fetch_all(&mut *conn)
        .await?;
    let mut schema = Schema::default();
    for row in rows {
        let name: String = row.try_get("name")?;
        if !wanted.contains(&name) {
            continue;
        }
        if name == MIGRATIONS_TABLE {
            schema.migrations = Some(applied(conn).await?);
            continue;
        }
        let sql: Option<String> = row.try_get("sql")?;
        let table = table(conn, &name, sql.as_deref().unwrap_or_default()).await?;
        schema.tables.insert(name, table);
    }
    Ok(schema)
}

async fn applied(conn: &mut SqliteConnection) -> Result<Vec<AppliedMigration>, sqlx::Error> {
    let rows = sqlx::query("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(AppliedMigration {
                version: r.try_get("version")?,
                checksum: r.try_get("checksum")?,
            })
        })
        .collect()
}

async fn table(conn: &mut SqliteConnection, name: &str, sql: &str) -> Result<Table, sqlx::Error> {
    let parsed = parse_create_table(sql);
    let rows = sqlx::query(
        "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo($1) ORDER BY cid",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    let mut columns = Vec::new();
    let mut primary: Vec<(i64, String)> = Vec::new();
    for r in &rows {
        let column: String = r.try_get("name")?;
        let declared: String = r.try_get("type")?;
        let pk: i64 = r.try_get("pk")?;
        let hidden: i64 = r.try_get("hidden")?;
        if pk > 0 {
            primary.push((pk, column.clone()));
        }
        columns.push(Column {
            definition: parsed
                .columns
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&column))
                .map(|(_, d)| d.clone()),
            name: column,
            ty: column_type(&declared),
            nullable: r.try_get::<i64, _>("notnull")? == 0,
            default: r.try_get("dflt_value")?,
            charset: None,
            collation: None,
            auto_increment: false,
            // 2 and 3: virtual and stored generated columns.
            generated: hidden >= 2,
        });
    }
    primary.sort();
    let primary_key: Vec<String> = primary.into_iter().map(|(_, c)| c).collect();
    // A single INTEGER primary key is the rowid: SQLite numbers new rows.
    if let [only] = primary_key.as_slice() {
        for c in columns.iter_mut() {
            c.auto_increment = &c.name == only && c.ty == ColumnType::Int;
        }
    }

    let mut indexes = Vec::new();
    let list = sqlx::query("SELECT name, \"unique\", origin FROM pragma_index_list($1)")
        .bind(name)
        .fetch_all(&mut *conn)
        .await?;
    for r in &list {
        let index: String = r.try_get("name")?;
        let origin: String = r.try_get("origin")?;
        if origin == "pk" {
            continue;
        }
        let sql: Option<String> =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = $1")
                .bind(&index)
                .fetch_optional(&mut *conn)
                .await?
                .flatten();
        let (parts, extra) = match &sql {
            Some(sql) => index_parts(sql),
            // Made by a UNIQUE constraint: no statement, only its columns.
            None => {
                let names: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_index_info($1) ORDER BY seqno")
                        .bind(&index)
                        .fetch_all(&mut *conn)
                        .await?;
                (
                    names.iter().map(|n| normalise_part(n)).collect(),
                    String::new(),
                )
            }
        };
        indexes.push(Index {
            name: index,
            unique: r.try_get::<i64, _>("unique")? == 1,
            parts,
            extra,
            sql,
        });
    }
    indexes.sort_by(|a, b| a.name.cmp(&b.name));

    let fk_rows = sqlx::query(
        "SELECT id, \"table\", \"from\", \"to\", on_delete FROM pragma_foreign_key_list($1) ORDER BY id, seq",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    let mut foreign_keys: Vec<(i64, ForeignKey)> = Vec::new();
    for r in &fk_rows {
        let id: i64 = r.try_get("id")?;
        let from: String = r.try_get("from")?;
        // None when the key names no column: the referenced primary key.
        let to: Option<String> = r.try_get("to")?;
        match foreign_keys.iter_mut().find(|(i, _)| *i == id) {
            Some((_, fk)) => {
                fk.columns.push(from);
                fk.ref_columns.extend(to);
            }
            None => foreign_keys.push((
                id,
                ForeignKey {
                    name: None,
                    columns: vec![from],
                    ref_table: r.try_get("table")?,
                    ref_columns: to.into_iter().collect(),
                    on_delete: r.try_get::<String, _>("on_delete")?.to_uppercase(),
                },
            )),
        }
    }

    let dependents = sqlx::query(
        "SELECT type, name, sql FROM sqlite_master WHERE type IN ('trigger', 'view') AND sql IS NOT NULL ORDER BY type, name",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| Ok((r.try_get("type")?, r.try_get("name")?, r.try_get("sql")?)))
    .collect::<Result<Vec<(String, String, String)>, sqlx::Error>>()?
    .into_iter()
    .filter(|(_, _, sql)| mentions(sql, name))
    .collect();

    Ok(Table {
        name: name.to_owned(),
        columns,
        indexes,
        primary_key,
        primary_key_name: None,
        id_sequence: None,
        foreign_keys: foreign_keys.into_iter().map(|(_, fk)| fk).collect(),
        collation: None,
        autoincrement: parsed.autoincrement,
        other_constraints: parsed.constraints,
        dependents,
    })
}

/// Only the spellings Guildhall's migrations use map to a known type: a
/// table declaring `INT` or `DATETIME` differs from a fresh one, and the
/// rebuild that makes them equal is what adoption is for.
fn column_type(declared: &str) -> ColumnType {
    let upper = declared.trim().to_ascii_uppercase();
    match upper.as_str() {
        "INTEGER" => ColumnType::Int,
        "BIGINT" => ColumnType::BigInt,
        "BOOLEAN" => ColumnType::Bool,
        "TEXT" => ColumnType::Text,
        _ => upper
            .strip_prefix("VARCHAR(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|n| n.trim().parse().ok())
            .map(ColumnType::Varchar)
            .unwrap_or(ColumnType::Other(upper)),
    }
}

/// Whether `sql` names `table` as a whole word, quoted or not.
fn mentions(sql: &str, table: &str) -> bool {
    let lower = sql.to_ascii_lowercase();
    let table = table.to_ascii_lowercase();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    lower.match_indices(&table).any(|(at, _)| {
        let before = lower[..at].chars().next_back();
        let after = lower[at + table.len()..].chars().next();
        !before.is_some_and(word) && !after.is_some_and(word)
    })
}

/// The parts of `CREATE [UNIQUE] INDEX name ON table (parts) [WHERE …]`,
/// normalised, and whatever follows them.
fn index_parts(sql: &str) -> (Vec<String>, String) {
    let Some((list, rest)) = parenthesised(sql) else {
        return (Vec::new(), normalise_part(sql));
    };
    (
        split_top_level(list)
            .iter()
            .map(|p| normalise_part(p))
            .collect(),
        normalise_part(rest),
    )
}

/// The text inside the first balanced pair of parentheses (quotes
/// respected), and the text after it.
pub(crate) fn parenthesised(sql: &str) -> Option<(&str, &str)> {
    let open = sql.find('(')?;
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in sql[open..].char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '[' => quote = Some(']'),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        let close = open + i;
                        return Some((&sql[open + 1..close], &sql[close + 1..]));
                    }
                }
                _ => {}
            },
        }
    }
    None
}

#[derive(Debug, Default, PartialEq)]
struct CreateTable {
    /// Each column's name and its whole definition.
    columns: Vec<(String, String)>,
    /// Table constraints, as written.
    constraints: Vec<String>,
    autoincrement: bool,
}

fn parse_create_table(sql: &str) -> CreateTable {
    let Some((body, _)) = parenthesised(sql) else {
        return CreateTable::default();
    };
    let mut parsed = CreateTable {
        autoincrement: sql.to_ascii_uppercase().contains("AUTOINCREMENT"),
        ..CreateTable::default()
    };
    for item in split_top_level(body) {
        let first = first_word(&item);
        let keyword = first.to_ascii_uppercase();
        if !item.starts_with(['"', '`', '['])
            && matches!(
                keyword.as_str(),
                "CONSTRAINT" | "PRIMARY" | "UNIQUE" | "CHECK" | "FOREIGN"
            )
        {
            parsed.constraints.push(item);
        } else {
            parsed.columns.push((unquote(&first), item));
        }
    }
    parsed
}

/// The first token of a definition: a quoted identifier whole, or up to
/// the first space or parenthesis.
fn first_word(item: &str) -> String {
    let mut chars = item.chars();
    match chars.next() {
        Some(q @ ('"' | '`' | '[')) => {
            let close = if q == '[' { ']' } else { q };
            let inner: String = chars.take_while(|c| *c != close).collect();
            format!("{q}{inner}{close}")
        }
        _ => item
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or_default()
            .to_owned(),
    }
}

pub(crate) fn unquote(name: &str) -> String {
    name.trim_matches(|c| matches!(c, '"' | '`' | '[' | ']'))
        .to_owned()
}

/// Whether a table constraint is a `PRIMARY KEY` or a `FOREIGN KEY` on
/// exactly `columns`, possibly behind `CONSTRAINT name`.
pub(crate) fn constraint_kind(constraint: &str) -> (String, Vec<String>) {
    let mut rest = constraint.trim();
    if first_word(rest).eq_ignore_ascii_case("CONSTRAINT") {
        rest = rest["CONSTRAINT".len()..].trim_start();
        let name = first_word(rest);
        rest = rest[name.len()..].trim_start();
    }
    let kind = first_word(rest).to_ascii_uppercase();
    let columns = parenthesised(rest)
        .map(|(list, _)| {
            split_top_level(list)
                .iter()
                .map(|p| normalise_part(p))
                .collect()
        })
        .unwrap_or_default();
    (kind, columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SQLALCHEMY: &str = "CREATE TABLE oauth_accounts (\n\tid INTEGER NOT NULL, \n\tuser_id INTEGER NOT NULL, \n\toauth_name VARCHAR(100) NOT NULL, \n\tPRIMARY KEY (id), \n\tFOREIGN KEY(user_id) REFERENCES users (id) ON DELETE cascade\n)";

    #[test]
    fn reads_columns_and_constraints_as_written() {
        let parsed = parse_create_table(SQLALCHEMY);
        assert_eq!(
            parsed.columns,
            vec![
                ("id".to_owned(), "id INTEGER NOT NULL".to_owned()),
                ("user_id".to_owned(), "user_id INTEGER NOT NULL".to_owned()),
                (
                    "oauth_name".to_owned(),
                    "oauth_name VARCHAR(100) NOT NULL".to_owned()
                ),
            ]
        );
        assert_eq!(
            parsed.constraints,
            vec![
                "PRIMARY KEY (id)",
                "FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE cascade"
            ]
        );
        assert!(!parsed.autoincrement);
        assert_eq!(
            constraint_kind(&parsed.constraints[1]),
            ("FOREIGN".to_owned(), vec!["user_id".to_owned()])
        );
        assert_eq!(
            constraint_kind("CONSTRAINT \"u x\" UNIQUE (\"Email\")"),
            ("UNIQUE".to_owned(), vec!["email".to_owned()])
        );
    }

    #[test]
    fn quoted_columns_named_like_keywords_are_columns() {
        let parsed = parse_create_table("CREATE TABLE t (\"check\" TEXT, [unique] INT, CHECK (1))");
        assert_eq!(parsed.columns[0].0, "check");
        assert_eq!(
            parsed.columns[1],
            ("unique".to_owned(), "[unique] INT".to_owned())
        );
        assert_eq!(parsed.constraints, vec!["CHECK (1)"]);
    }

    #[test]
    fn index_parts_are_normalised() {
        assert_eq!(
            index_parts("CREATE UNIQUE INDEX ux_users_email ON users (lower(email))"),
            (vec!["lower(email)".to_owned()], String::new())
        );
        assert_eq!(
            index_parts("CREATE INDEX i ON \"user\" (\"oauth_name\", account_id) WHERE x > 0"),
            (
                vec!["oauth_name".to_owned(), "account_id".to_owned()],
                "where x > 0".to_owned()
            )
        );
    }

    #[test]
    fn only_the_migrations_spellings_are_known_types() {
        assert_eq!(column_type("integer"), ColumnType::Int);
        assert_eq!(column_type("VARCHAR(320)"), ColumnType::Varchar(320));
        assert_eq!(
            column_type("DATETIME"),
            ColumnType::Other("DATETIME".into())
        );
        assert_eq!(column_type("INT"), ColumnType::Other("INT".into()));
    }

    #[test]
    fn mentions_whole_words_only() {
        assert!(mentions(
            "CREATE VIEW v AS SELECT * FROM \"users\"",
            "users"
        ));
        assert!(!mentions(
            "CREATE VIEW v AS SELECT * FROM users_archive",
            "users"
        ));
    }
}
