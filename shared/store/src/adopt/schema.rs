//! What adoption knows about a database's tables, in one shape for all three
//! backends: filled in from the catalog by `inspect`, and written out for
//! Guildhall's own schema by `target`.

use std::collections::BTreeMap;

/// A column type, normalised from the backend's spelling so that the same
/// type compares equal however the catalog writes it (`int(11)` / `int`,
/// `character varying(320)` / `VARCHAR(320)`). Anything adoption has no
/// rule for stays [`ColumnType::Other`], in the catalog's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ColumnType {
    /// 32-bit integer.
    Int,
    BigInt,
    Bool,
    Varchar(u32),
    Text,
    /// PostgreSQL `timestamp without time zone`.
    Timestamp,
    /// PostgreSQL `timestamp with time zone`.
    TimestampTz,
    /// MySQL `DATETIME(fsp)`.
    DateTime(u8),
    VarBinary(u32),
    Other(String),
}

impl ColumnType {
    /// How the type is written in messages and in the plan.
    pub(crate) fn describe(&self) -> String {
        match self {
            ColumnType::Int => "INTEGER".into(),
            ColumnType::BigInt => "BIGINT".into(),
            ColumnType::Bool => "BOOLEAN".into(),
            ColumnType::Varchar(n) => format!("VARCHAR({n})"),
            ColumnType::Text => "TEXT".into(),
            ColumnType::Timestamp => "TIMESTAMP".into(),
            ColumnType::TimestampTz => "TIMESTAMPTZ".into(),
            ColumnType::DateTime(0) => "DATETIME".into(),
            ColumnType::DateTime(p) => format!("DATETIME({p})"),
            ColumnType::VarBinary(n) => format!("VARBINARY({n})"),
            ColumnType::Other(s) => s.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Column {
    pub name: String,
    pub ty: ColumnType,
    pub nullable: bool,
    /// The default as the catalog reports it; `None` when there is none.
    pub default: Option<String>,
    /// MySQL: the character set and collation of a text column.
    pub charset: Option<String>,
    pub collation: Option<String>,
    /// Filled by the database: `AUTO_INCREMENT`, a `nextval(…)` or identity
    /// default, or SQLite's rowid alias.
    pub auto_increment: bool,
    /// A generated (computed) column.
    pub generated: bool,
    /// SQLite: the column's definition exactly as written in its CREATE
    /// TABLE, so a rebuild keeps columns it does not know as they were.
    pub definition: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Index {
    pub name: String,
    pub unique: bool,
    /// The indexed columns or expressions, normalised (lower case, no
    /// quotes): `["lower(email)"]`, `["oauth_name", "account_id"]`.
    pub parts: Vec<String>,
    /// Anything beyond the parts that makes two indexes differ: PostgreSQL's
    /// access method and `WHERE`/`INCLUDE` clauses; empty for a plain index.
    pub extra: String,
    /// SQLite: the `CREATE INDEX` statement (none for the indexes a UNIQUE
    /// constraint creates), replayed when a rebuild recreates the index.
    pub sql: Option<String>,
}

impl Index {
    /// A plain index on exactly this one column.
    pub(crate) fn is_on_column(&self, column: &str) -> bool {
        self.parts.len() == 1 && self.parts[0] == column && self.extra.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ForeignKey {
    /// None on SQLite, where foreign keys are part of the table and unnamed.
    pub name: Option<String>,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// `CASCADE`, `NO ACTION`, …, upper case.
    pub on_delete: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    /// Secondary indexes; the primary key is [`Table::primary_key`].
    pub indexes: Vec<Index>,
    pub primary_key: Vec<String>,
    /// PostgreSQL: the primary key constraint's name.
    pub primary_key_name: Option<String>,
    /// PostgreSQL: the sequence behind a serial `id`.
    pub id_sequence: Option<String>,
    pub foreign_keys: Vec<ForeignKey>,
    /// MySQL: the table's default collation.
    pub collation: Option<String>,
    /// SQLite: declared `AUTOINCREMENT` (ids of deleted rows are never reused).
    pub autoincrement: bool,
    /// SQLite: table constraints other than the primary and foreign keys,
    /// as written (`UNIQUE (…)`, `CHECK (…)`), kept by a rebuild.
    pub other_constraints: Vec<String>,
    /// SQLite: triggers and views whose SQL mentions this table, as
    /// `(kind, name, sql)`; a rebuild drops and recreates them.
    pub dependents: Vec<(String, String, String)>,
}

impl Table {
    pub(crate) fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub(crate) fn index(&self, name: &str) -> Option<&Index> {
        self.indexes.iter().find(|i| i.name == name)
    }
}

/// One row of sqlx's `_sqlx_migrations`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AppliedMigration {
    pub version: i64,
    pub checksum: Vec<u8>,
}

/// Everything adoption reads before deciding anything.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Schema {
    /// By name.
    pub tables: BTreeMap<String, Table>,
    /// `None` when `_sqlx_migrations` does not exist.
    pub migrations: Option<Vec<AppliedMigration>>,
}

/// Splits `a, f(b, c), d` at the commas outside parentheses and quotes.
pub(crate) fn split_top_level(list: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    let mut current = String::new();
    for c in list.chars() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => quote = Some(c),
                '[' => quote = Some(']'),
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    parts.push(current.trim().to_owned());
                    current.clear();
                    continue;
                }
                _ => {}
            },
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current.trim().to_owned());
    }
    parts
}

/// One index part as adoption compares it: lower case, identifiers
/// unquoted, spaces collapsed. String literals are lower-cased too, which
/// only matters for indexes adoption leaves alone anyway.
pub(crate) fn normalise_part(part: &str) -> String {
    let mut out = String::with_capacity(part.len());
    let mut space = false;
    for c in part.chars() {
        if matches!(c, '"' | '`' | '[' | ']') {
            continue;
        }
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && !out.is_empty() && !out.ends_with('(') && c != ')' {
            out.push(' ');
        }
        space = false;
        out.extend(c.to_lowercase());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_only_at_top_level_commas() {
        assert_eq!(
            split_top_level("a, substr(b, 1, 2), 'x,y', \"c,d\""),
            vec!["a", "substr(b, 1, 2)", "'x,y'", "\"c,d\""]
        );
        assert!(split_top_level("  ").is_empty());
    }

    #[test]
    fn normalises_quotes_case_and_spaces() {
        assert_eq!(normalise_part(" \"Email\" "), "email");
        assert_eq!(normalise_part("lower( `email` )"), "lower(email)");
        assert_eq!(normalise_part("a  COLLATE   nocase"), "a collate nocase");
    }
}
