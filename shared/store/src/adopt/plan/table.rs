//! The changes one of the tables Guildhall shares with fastapi-users needs:
//! column by column, index by index, its foreign key, and on SQLite whether
//! it must be rebuilt; with the row checks that make each change safe.

use crate::Backend;
use crate::adopt::ddl::Dialect;
use crate::adopt::schema::{Column, ColumnType, ForeignKey, Index, Schema, Table};
use crate::adopt::target::{TargetColumn, TargetIndex, TargetTable, USERS};

use super::{Blocker, Check, Work};

/// How a column's type changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TypeChange {
    /// Every value fits the new type as it is.
    Widen,
    /// A VARCHAR of this many characters, shorter than the column (or
    /// replacing a TEXT): only when every value fits (checked).
    Narrow(u32),
    /// PostgreSQL `timestamp` to `timestamptz`: the naive values are UTC, as
    /// fastapi-users applications write them (`datetime.utcnow()`).
    FromUtc,
    /// SQLite: the declared type only; values are copied as stored (their
    /// storage classes are checked where the affinity changes).
    Declared,
}

#[derive(Debug, Clone)]
pub(crate) enum ColumnChange<'a> {
    Add(&'a TargetColumn),
    Alter {
        column: &'a TargetColumn,
        ty: Option<TypeChange>,
        /// MySQL: character set and collation change.
        collation: bool,
        /// `Some(nullable)` when nullability changes.
        nullable: Option<bool>,
        default: bool,
    },
}

impl ColumnChange<'_> {
    pub(crate) fn column(&self) -> &TargetColumn {
        match self {
            ColumnChange::Add(c) | ColumnChange::Alter { column: c, .. } => c,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ForeignKeyChange<'a> {
    Keep,
    Add,
    Rename(&'a ForeignKey),
    Replace(&'a ForeignKey),
}

/// Everything that changes on one of the tables Guildhall shares with
/// fastapi-users.
#[derive(Debug, Clone)]
pub(crate) struct TableChanges<'a> {
    pub target: &'a TargetTable,
    pub source: &'a Table,
    pub columns: Vec<ColumnChange<'a>>,
    /// MySQL: the table's default character set and collation.
    pub collation: bool,
    pub drop_indexes: Vec<&'a Index>,
    pub rename_indexes: Vec<(&'a Index, &'a TargetIndex)>,
    pub create_indexes: Vec<&'a TargetIndex>,
    pub foreign_key: ForeignKeyChange<'a>,
    /// PostgreSQL: the primary key's and the id sequence's old names.
    pub rename_primary_key: Option<&'a str>,
    pub rename_sequence: Option<&'a str>,
    /// SQLite: rebuild the table (its ALTER TABLE changes no column).
    pub rebuild: bool,
    /// SQLite: table constraints a rebuild keeps, and indexes it recreates.
    pub kept_constraints: Vec<&'a str>,
    pub kept_indexes: Vec<&'a Index>,
}

impl TableChanges<'_> {
    pub(crate) fn renamed(&self) -> bool {
        self.source.name != self.target.name
    }
}

pub(super) fn table_changes<'a>(
    work: &mut Work<'a>,
    target: &'a TargetTable,
    source: &'a Table,
    schema: &'a Schema,
) -> TableChanges<'a> {
    let backend = work.backend;
    let d = Dialect(backend);
    let table = d.ident(&source.name);
    let mut changes = TableChanges {
        target,
        source,
        columns: Vec::new(),
        collation: false,
        drop_indexes: Vec::new(),
        rename_indexes: Vec::new(),
        create_indexes: Vec::new(),
        foreign_key: ForeignKeyChange::Keep,
        rename_primary_key: None,
        rename_sequence: None,
        rebuild: false,
        kept_constraints: Vec::new(),
        kept_indexes: Vec::new(),
    };

    if source.primary_key != ["id"] {
        work.blockers.push(Blocker {
            problem: format!(
                "`{}`'s primary key is ({}), not (id)",
                source.name,
                source.primary_key.join(", ")
            ),
            query: None,
        });
    }

    for tc in &target.columns {
        let Some(c) = source.column(tc.name) else {
            changes.columns.push(ColumnChange::Add(tc));
            continue;
        };
        if let Some(change) = column_change(work, &table, source, tc, c) {
            changes.columns.push(change);
        }
    }
    for c in &source.columns {
        if target.column(&c.name).is_some() {
            continue;
        }
        if !c.nullable && c.default.is_none() && !c.generated && !c.auto_increment {
            work.blockers.push(Blocker {
                problem: format!(
                    "`{}.{}` is NOT NULL without a default: Guildhall does not know the column, so its \
                     inserts would be refused. Give it a default (or allow NULL) first",
                    source.name, c.name
                ),
                query: None,
            });
        } else {
            work.notes.push(format!(
                "kept `{}.{}` ({}): not Guildhall's, left as it is",
                target.name,
                c.name,
                c.ty.describe()
            ));
        }
    }
    if let Some(collation) = target.collation {
        changes.collation = source.collation.as_deref() != Some(collation);
    }

    index_changes(work, &mut changes);
    foreign_key_changes(work, &mut changes, schema);

    if backend == Backend::Postgres {
        let pkey = format!("{}_pkey", target.name);
        changes.rename_primary_key = source.primary_key_name.as_deref().filter(|n| *n != pkey);
        let sequence = format!("{}_id_seq", target.name);
        changes.rename_sequence = source.id_sequence.as_deref().filter(|n| *n != sequence);
    }

    if backend == Backend::Sqlite {
        sqlite_rebuild(work, &mut changes);
    }
    changes
}

fn column_change<'a>(
    work: &mut Work<'a>,
    table: &str,
    source: &Table,
    tc: &'a TargetColumn,
    c: &Column,
) -> Option<ColumnChange<'a>> {
    let backend = work.backend;
    let d = Dialect(backend);
    let name = format!("{}.{}", source.name, c.name);
    if tc.generated || c.generated {
        if tc.generated != c.generated || tc.ty != c.ty {
            work.blockers.push(Blocker {
                problem: format!(
                    "`{name}` is {} where Guildhall's is {}{}",
                    describe_column(c),
                    if tc.generated { "generated " } else { "" },
                    tc.ty.describe()
                ),
                query: None,
            });
        }
        return None;
    }
    if tc.auto_increment && !c.auto_increment {
        work.blockers.push(Blocker {
            problem: format!("`{name}` is not filled in by the database (no auto-increment)"),
            query: None,
        });
        return None;
    }
    if tc.auto_increment {
        // Serial, identity or AUTO_INCREMENT alike; only its type matters.
        if tc.ty != c.ty {
            work.blockers.push(Blocker {
                problem: format!(
                    "`{name}` is {}; Guildhall's ids are 32-bit INTEGERs",
                    c.ty.describe()
                ),
                query: None,
            });
        }
        return None;
    }

    let ty = match type_change(backend, &c.ty, &tc.ty) {
        Ok(ty) => ty,
        Err(()) => {
            work.blockers.push(Blocker {
                problem: format!(
                    "`{name}` is {}; adopt cannot make it Guildhall's {} without risking its values",
                    c.ty.describe(),
                    tc.ty.describe()
                ),
                query: None,
            });
            return None;
        }
    };
    let column = d.ident(&c.name);
    match ty {
        Some(TypeChange::Narrow(max)) => {
            work.checks.push(Check {
                problem: format!("`{name}` has values longer than Guildhall's {max} characters"),
                query: format!(
                    "SELECT id, {column} FROM {table} WHERE {}({column}) > {max} ORDER BY id",
                    d.char_length()
                ),
            });
        }
        Some(TypeChange::FromUtc) => work.notes.push(format!(
            "`{name}` becomes a timestamp with time zone; its values are read as UTC, as \
             fastapi-users applications write them (datetime.utcnow())"
        )),
        Some(TypeChange::Declared) => {
            let (from, to) = (affinity(&c.ty.describe()), affinity(&tc.ty.describe()));
            // Only a change of affinity can change a stored value.
            if let (true, Some(kept)) = (from != to, to.keeps()) {
                work.checks.push(Check {
                    problem: format!(
                        "`{name}` holds values SQLite would convert when it becomes {}",
                        tc.ty.describe()
                    ),
                    query: format!(
                        "SELECT id, {column}, typeof({column}) FROM {table} WHERE typeof({column}) NOT IN ({kept}) ORDER BY id"
                    ),
                });
            }
        }
        _ => {}
    }
    let collation = tc.collation.is_some() && c.collation.as_deref() != tc.collation;
    let nullable = (c.nullable != tc.nullable).then_some(tc.nullable);
    if nullable == Some(false) {
        work.checks.push(Check {
            problem: format!("`{name}` has NULLs, and Guildhall's column is NOT NULL"),
            query: format!("SELECT id FROM {table} WHERE {column} IS NULL ORDER BY id"),
        });
    }
    let default = match tc.default {
        Some(wanted) => !c
            .default
            .as_deref()
            .is_some_and(|have| same_default(have, wanted)),
        None => {
            if let Some(have) = &c.default {
                work.notes.push(format!(
                    "kept `{name}`'s default {have} (Guildhall's column has none)"
                ));
            }
            false
        }
    };
    (ty.is_some() || collation || nullable.is_some() || default).then_some(ColumnChange::Alter {
        column: tc,
        ty,
        collation,
        nullable,
        default,
    })
}

pub(super) fn describe_column(c: &Column) -> String {
    if c.generated {
        format!("generated {}", c.ty.describe())
    } else {
        c.ty.describe()
    }
}

/// Catalogs write defaults with more or fewer parentheses and in either case.
fn same_default(have: &str, wanted: &str) -> bool {
    let strip = |s: &str| {
        let mut s = s.trim().to_ascii_lowercase();
        while s.starts_with('(') && s.ends_with(')') {
            s = s[1..s.len() - 1].trim().to_owned();
        }
        s
    };
    strip(have) == strip(wanted)
}

pub(crate) fn type_change(
    backend: Backend,
    from: &ColumnType,
    to: &ColumnType,
) -> Result<Option<TypeChange>, ()> {
    use ColumnType::*;
    if from == to {
        return Ok(None);
    }
    if backend == Backend::Sqlite {
        return Ok(Some(TypeChange::Declared));
    }
    match (from, to) {
        (Int, BigInt) => Ok(Some(TypeChange::Widen)),
        (Varchar(n), Varchar(m)) if m >= n => Ok(Some(TypeChange::Widen)),
        (Varchar(_) | Text, Varchar(m)) => Ok(Some(TypeChange::Narrow(*m))),
        (Timestamp, TimestampTz) => Ok(Some(TypeChange::FromUtc)),
        (DateTime(p), DateTime(q)) if q >= p => Ok(Some(TypeChange::Widen)),
        _ => Err(()),
    }
}

/// SQLite's type affinity of a declared type (its documented rules, in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Affinity {
    Integer,
    Text,
    Blob,
    Real,
    Numeric,
}

impl Affinity {
    /// The storage classes a column of this affinity stores unchanged, as
    /// an SQL list; `None` when it keeps every value.
    fn keeps(self) -> Option<&'static str> {
        match self {
            Affinity::Text => Some("'text', 'blob', 'null'"),
            Affinity::Integer | Affinity::Numeric => Some("'integer', 'null'"),
            Affinity::Real => Some("'real', 'null'"),
            Affinity::Blob => None,
        }
    }
}

pub(crate) fn affinity(declared: &str) -> Affinity {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        Affinity::Integer
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        Affinity::Text
    } else if t.contains("BLOB") || t.is_empty() {
        Affinity::Blob
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Affinity::Real
    } else {
        Affinity::Numeric
    }
}

fn index_changes<'a>(work: &mut Work<'a>, changes: &mut TableChanges<'a>) {
    let source = changes.source;
    let target = changes.target;
    let same = |i: &Index, t: &TargetIndex| {
        i.unique == t.unique && i.extra.is_empty() && i.parts.iter().eq(t.parts.iter())
    };
    let mut claimed: Vec<&str> = Vec::new();
    for t in &target.indexes {
        match source.index(t.name) {
            Some(i) if same(i, t) => claimed.push(&i.name),
            Some(i) => {
                // Guildhall's name on another definition: replaced.
                claimed.push(&i.name);
                changes.drop_indexes.push(i);
                changes.create_indexes.push(t);
            }
            None => match source
                .indexes
                .iter()
                .find(|i| same(i, t) && !claimed.contains(&i.name.as_str()))
            {
                Some(i) => {
                    claimed.push(&i.name);
                    changes.rename_indexes.push((i, t));
                }
                None => changes.create_indexes.push(t),
            },
        }
    }
    for i in &source.indexes {
        if claimed.contains(&i.name.as_str()) {
            continue;
        }
        if target.superseded.iter().any(|c| i.is_on_column(c)) {
            changes.drop_indexes.push(i);
        } else {
            changes.kept_indexes.push(i);
            work.notes.push(format!(
                "kept index `{}` on `{}` ({}): not Guildhall's, left as it is",
                i.name,
                target.name,
                i.parts.join(", ")
            ));
        }
    }
    let d = Dialect(work.backend);
    for t in &changes.create_indexes {
        if let (true, Some(dup)) = (t.unique, d.duplicates(t.name)) {
            let table = d.ident(&source.name);
            let key = dup.key;
            work.checks.push(Check {
                problem: dup.problem.to_owned(),
                query: format!(
                    "SELECT {show} FROM {table} WHERE ({key}) IN (SELECT {key} FROM {table} GROUP BY {key} HAVING COUNT(*) > 1) ORDER BY {order}, id",
                    show = dup.show,
                    order = dup.order,
                ),
            });
        }
    }
}

fn foreign_key_changes<'a>(
    work: &mut Work<'a>,
    changes: &mut TableChanges<'a>,
    schema: &'a Schema,
) {
    let Some(fk) = &changes.target.foreign_key else {
        return;
    };
    // The referenced table may still carry its fastapi-users name.
    let users_names: Vec<&str> = std::iter::once(fk.ref_table)
        .chain(
            schema
                .tables
                .keys()
                .map(String::as_str)
                .filter(|n| *n == "user"),
        )
        .collect();
    let existing = changes
        .source
        .foreign_keys
        .iter()
        .find(|f| f.columns == [fk.column]);
    changes.foreign_key = match existing {
        None => ForeignKeyChange::Add,
        Some(f)
            if users_names.contains(&f.ref_table.as_str())
                && f.ref_columns == [fk.ref_column]
                && f.on_delete == "CASCADE" =>
        {
            if f.name.as_deref() == fk.name {
                ForeignKeyChange::Keep
            } else {
                ForeignKeyChange::Rename(f)
            }
        }
        Some(f) => ForeignKeyChange::Replace(f),
    };
    let validates = match (&changes.foreign_key, work.backend) {
        (ForeignKeyChange::Keep | ForeignKeyChange::Rename(_), Backend::Postgres) => false,
        (ForeignKeyChange::Keep, Backend::MySql) => false,
        // SQLite checks every key after its rebuild; MySQL re-adds the key.
        _ => true,
    };
    if validates {
        let d = Dialect(work.backend);
        let table = d.ident(&changes.source.name);
        let users = schema
            .tables
            .get(USERS)
            .or_else(|| schema.tables.get("user"))
            .map(|t| d.ident(&t.name))
            .unwrap_or_else(|| USERS.to_owned());
        work.checks.push(Check {
            problem: format!(
                "`{}` has accounts whose user does not exist",
                changes.source.name
            ),
            query: format!(
                "SELECT id, user_id FROM {table} WHERE user_id NOT IN (SELECT id FROM {users}) ORDER BY id"
            ),
        });
    }
    for other in changes
        .source
        .foreign_keys
        .iter()
        .filter(|f| f.columns != [fk.column])
    {
        work.notes.push(format!(
            "kept foreign key ({}) → {} on `{}`: not Guildhall's, left as it is",
            other.columns.join(", "),
            other.ref_table,
            changes.target.name
        ));
    }
}

/// SQLite changes no column in place: any column, key or AUTOINCREMENT
/// difference is a rebuild, following SQLite's documented procedure.
fn sqlite_rebuild<'a>(work: &mut Work<'a>, changes: &mut TableChanges<'a>) {
    let source = changes.source;
    let target = changes.target;
    // A UNIQUE constraint's index goes only with the constraint.
    let drops_constraint_index = changes.drop_indexes.iter().any(|i| i.sql.is_none());
    changes.rebuild = !changes.columns.is_empty()
        || changes.foreign_key != ForeignKeyChange::Keep
        || !source.autoincrement
        || drops_constraint_index;
    if !changes.rebuild {
        return;
    }
    let fk_column = target.foreign_key.as_ref().map(|f| f.column);
    for constraint in &source.other_constraints {
        let (kind, columns) = crate::adopt::inspect::sqlite_constraint_kind(constraint);
        let replaced = match kind.as_str() {
            "PRIMARY" => true,
            "FOREIGN" => fk_column.is_some_and(|c| columns == [c]),
            "UNIQUE" => columns.len() == 1 && target.superseded.contains(&columns[0].as_str()),
            _ => false,
        };
        if !replaced {
            changes.kept_constraints.push(constraint);
            work.notes.push(format!(
                "kept table constraint `{constraint}` on `{}`",
                target.name
            ));
        }
    }
    // The kept indexes that a kept constraint does not recreate by itself.
    changes.kept_indexes.retain(|i| i.sql.is_some());
    if changes.renamed() && !source.dependents.is_empty() {
        let names: Vec<&str> = source
            .dependents
            .iter()
            .map(|(_, n, _)| n.as_str())
            .collect();
        work.blockers.push(Blocker {
            problem: format!(
                "views or triggers ({}) use `{}` by name; rename the table by hand (ALTER TABLE … RENAME TO {}) and run adopt again",
                names.join(", "),
                source.name,
                target.name
            ),
            query: None,
        });
    }
    for c in &source.columns {
        if target.column(&c.name).is_none() && c.definition.is_none() {
            work.blockers.push(Blocker {
                problem: format!(
                    "cannot read the definition of `{}.{}` from its CREATE TABLE statement",
                    source.name, c.name
                ),
                query: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widens_and_converts_only_without_loss() {
        use ColumnType::*;
        let pg = Backend::Postgres;
        assert_eq!(type_change(pg, &Int, &BigInt), Ok(Some(TypeChange::Widen)));
        assert_eq!(type_change(pg, &BigInt, &Int), Err(()));
        assert_eq!(
            type_change(pg, &Varchar(300), &Varchar(1024)),
            Ok(Some(TypeChange::Widen))
        );
        assert_eq!(
            type_change(pg, &Varchar(2000), &Varchar(1024)),
            Ok(Some(TypeChange::Narrow(1024)))
        );
        assert_eq!(
            type_change(pg, &Timestamp, &TimestampTz),
            Ok(Some(TypeChange::FromUtc))
        );
        assert_eq!(type_change(pg, &TimestampTz, &Timestamp), Err(()));
        assert_eq!(
            type_change(Backend::MySql, &DateTime(0), &DateTime(6)),
            Ok(Some(TypeChange::Widen))
        );
        assert_eq!(type_change(pg, &Bool, &Int), Err(()));
        assert_eq!(type_change(pg, &Int, &Int), Ok(None));
        assert_eq!(
            type_change(Backend::Sqlite, &Other("DATETIME".into()), &Text),
            Ok(Some(TypeChange::Declared))
        );
    }

    #[test]
    fn sqlite_affinities() {
        assert_eq!(affinity("DATETIME"), Affinity::Numeric);
        assert_eq!(affinity("TEXT"), Affinity::Text);
        assert_eq!(affinity("VARCHAR(300)"), Affinity::Text);
        assert_eq!(affinity("BIGINT"), Affinity::Integer);
        assert_eq!(affinity("BOOLEAN"), Affinity::Numeric);
        assert_eq!(affinity(""), Affinity::Blob);
    }

    #[test]
    fn defaults_compare_without_parentheses_or_case() {
        assert!(same_default("CURRENT_TIMESTAMP(6)", "current_timestamp(6)"));
        assert!(same_default(
            "(strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
            "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
        ));
        assert!(!same_default("CURRENT_TIMESTAMP", "now()"));
    }
}
