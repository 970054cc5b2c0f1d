//! Under the store's API, for tests that must look at a database as it is:
//! run a statement, read a table's rows as comparable values, and write the
//! schema out as sorted lines. Adoption's tests compare databases with
//! these; the schema lines come from the catalogs directly, independently of
//! adoption's own inspection, so a detail adoption overlooks still shows.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::ConnectOptions as _;
use sqlx::mysql::MySqlConnection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Column, Connection, Executor, Row, TypeInfo, ValueRef};
use std::str::FromStr;

use crate::Backend;

/// One stored value, normalised so that a value reads the same before and
/// after a lossless type change: every integer width is `Int`, `timestamp`
/// and `timestamptz` (or `DATETIME` and `DATETIME(6)`) are microseconds
/// since the epoch, naive ones taken as UTC.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Bool(bool),
    Real(f64),
    Text(String),
    Bytes(Vec<u8>),
    Micros(i64),
}

/// A table's rows in `id` order, column by column.
pub type Rows = BTreeMap<String, Vec<Value>>;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn backend(url: &str) -> Result<Backend, Error> {
    Backend::from_url(url).map_err(Into::into)
}

fn quote(backend: Backend, name: &str) -> String {
    match backend {
        Backend::MySql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

/// A SQLite test database may not exist yet: it is a file made on first use.
async fn sqlite(url: &str) -> Result<SqliteConnection, Error> {
    let options = SqliteConnectOptions::from_str(url)?.create_if_missing(true);
    Ok(options.connect().await?)
}

/// Runs one statement.
pub async fn execute(url: &str, sql: &str) -> Result<(), Error> {
    match backend(url)? {
        Backend::Sqlite => {
            let mut c = sqlite(url).await?;
            c.execute(sql).await?;
            c.close().await?;
        }
        Backend::Postgres => {
            let mut c = PgConnection::connect(url).await?;
            c.execute(sql).await?;
            c.close().await?;
        }
        Backend::MySql => {
            let mut c = MySqlConnection::connect(url).await?;
            c.execute(sql).await?;
            c.close().await?;
        }
    }
    Ok(())
}

/// Every row of `table`, ordered by `id`.
pub async fn rows(url: &str, table: &str) -> Result<Rows, Error> {
    let b = backend(url)?;
    let sql = format!("SELECT * FROM {} ORDER BY id", quote(b, table));
    query(url, &sql).await
}

/// The rows a query returns, column by column.
pub async fn query(url: &str, sql: &str) -> Result<Rows, Error> {
    let mut out = Rows::new();
    match backend(url)? {
        Backend::Sqlite => {
            let mut c = sqlite(url).await?;
            for row in sqlx::query(sql).fetch_all(&mut c).await? {
                for (i, col) in row.columns().iter().enumerate() {
                    out.entry(col.name().to_owned())
                        .or_default()
                        .push(sqlite_value(&row, i)?);
                }
            }
            c.close().await?;
        }
        Backend::Postgres => {
            let mut c = PgConnection::connect(url).await?;
            for row in sqlx::query(sql).fetch_all(&mut c).await? {
                for (i, col) in row.columns().iter().enumerate() {
                    out.entry(col.name().to_owned())
                        .or_default()
                        .push(pg_value(&row, i)?);
                }
            }
            c.close().await?;
        }
        Backend::MySql => {
            let mut c = MySqlConnection::connect(url).await?;
            for row in sqlx::query(sql).fetch_all(&mut c).await? {
                for (i, col) in row.columns().iter().enumerate() {
                    out.entry(col.name().to_owned())
                        .or_default()
                        .push(mysql_value(&row, i)?);
                }
            }
            c.close().await?;
        }
    }
    Ok(out)
}

fn micros(naive: NaiveDateTime) -> Value {
    Value::Micros(naive.and_utc().timestamp_micros())
}

fn sqlite_value(row: &sqlx::sqlite::SqliteRow, i: usize) -> Result<Value, Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    // The value's own storage class, whatever the column declares.
    let class = raw.type_info().name().to_owned();
    Ok(match class.as_str() {
        "INTEGER" => Value::Int(row.try_get(i)?),
        "REAL" => Value::Real(row.try_get(i)?),
        "BLOB" => Value::Bytes(row.try_get(i)?),
        _ => Value::Text(row.try_get(i)?),
    })
}

fn pg_value(row: &sqlx::postgres::PgRow, i: usize) -> Result<Value, Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let ty = raw.type_info().name().to_owned();
    Ok(match ty.as_str() {
        "INT2" => Value::Int(row.try_get::<i16, _>(i)?.into()),
        "INT4" => Value::Int(row.try_get::<i32, _>(i)?.into()),
        "INT8" => Value::Int(row.try_get(i)?),
        "BOOL" => Value::Bool(row.try_get(i)?),
        "FLOAT4" => Value::Real(row.try_get::<f32, _>(i)?.into()),
        "FLOAT8" => Value::Real(row.try_get(i)?),
        "BYTEA" => Value::Bytes(row.try_get(i)?),
        "TIMESTAMP" => micros(row.try_get(i)?),
        "TIMESTAMPTZ" => Value::Micros(row.try_get::<DateTime<Utc>, _>(i)?.timestamp_micros()),
        "VARCHAR" | "TEXT" | "BPCHAR" | "NAME" => Value::Text(row.try_get(i)?),
        other => return Err(format!("column {i}: no test reading for {other}").into()),
    })
}

fn mysql_value(row: &sqlx::mysql::MySqlRow, i: usize) -> Result<Value, Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let ty = raw.type_info().name().to_owned();
    Ok(match ty.as_str() {
        // TINYINT(1), as MySQL spells BOOLEAN.
        "BOOLEAN" => Value::Bool(row.try_get(i)?),
        "TINYINT" | "SMALLINT" | "INT" | "MEDIUMINT" | "BIGINT" => Value::Int(row.try_get(i)?),
        "DOUBLE" | "FLOAT" => Value::Real(row.try_get(i)?),
        "DATETIME" | "TIMESTAMP" => micros(row.try_get(i)?),
        "VARBINARY" | "BINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
            Value::Bytes(row.try_get(i)?)
        }
        _ => Value::Text(row.try_get(i)?),
    })
}

/// The schema of `tables` as sorted lines: columns (type, nullability,
/// default, collation, generation), indexes, keys, MySQL table collations,
/// and `_sqlx_migrations`' versions, descriptions and checksums. Columns in
/// `ignore` (`(table, column)`) are left out; column order is not compared.
pub async fn schema(
    url: &str,
    tables: &[&str],
    ignore: &[(&str, &str)],
) -> Result<Vec<String>, Error> {
    let skip = |t: &str, c: &str| ignore.iter().any(|(it, ic)| *it == t && *ic == c);
    let mut lines = Vec::new();
    match backend(url)? {
        Backend::Sqlite => {
            let mut c = sqlite(url).await?;
            for &t in tables {
                let sql: Option<String> = sqlx::query_scalar(
                    "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = $1",
                )
                .bind(t)
                .fetch_optional(&mut c)
                .await?;
                let Some(sql) = sql else {
                    lines.push(format!("{t}: absent"));
                    continue;
                };
                lines.push(format!(
                    "{t}: autoincrement={}",
                    sql.to_ascii_uppercase().contains("AUTOINCREMENT")
                ));
                for r in sqlx::query("SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo($1)")
                    .bind(t)
                    .fetch_all(&mut c)
                    .await?
                {
                    let name: String = r.try_get("name")?;
                    if skip(t, &name) {
                        continue;
                    }
                    lines.push(format!(
                        "{t}.{name}: {} notnull={} default={:?} pk={} hidden={}",
                        r.try_get::<String, _>("type")?,
                        r.try_get::<i64, _>("notnull")?,
                        r.try_get::<Option<String>, _>("dflt_value")?,
                        r.try_get::<i64, _>("pk")?,
                        r.try_get::<i64, _>("hidden")?,
                    ));
                }
                for r in sqlx::query(
                    "SELECT l.name AS name, l.\"unique\" AS uniq, l.origin AS origin, l.partial AS partial, m.sql AS sql \
                     FROM pragma_index_list($1) l LEFT JOIN sqlite_master m ON m.type = 'index' AND m.name = l.name",
                )
                .bind(t)
                .fetch_all(&mut c)
                .await?
                {
                    let name: String = r.try_get("name")?;
                    let columns: Vec<Option<String>> =
                        sqlx::query_scalar("SELECT name FROM pragma_index_xinfo($1) WHERE key = 1 ORDER BY seqno")
                            .bind(&name)
                            .fetch_all(&mut c)
                            .await?;
                    lines.push(format!(
                        "{t} index {name}: unique={} origin={} partial={} columns={columns:?} sql={:?}",
                        r.try_get::<i64, _>("uniq")?,
                        r.try_get::<String, _>("origin")?,
                        r.try_get::<i64, _>("partial")?,
                        r.try_get::<Option<String>, _>("sql")?,
                    ));
                }
                for r in sqlx::query("SELECT \"table\", \"from\", \"to\", on_update, on_delete, \"match\" FROM pragma_foreign_key_list($1)")
                    .bind(t)
                    .fetch_all(&mut c)
                    .await?
                {
                    lines.push(format!(
                        "{t} foreign key {} -> {}.{:?} on update {} on delete {} match {}",
                        r.try_get::<String, _>("from")?,
                        r.try_get::<String, _>("table")?,
                        r.try_get::<Option<String>, _>("to")?,
                        r.try_get::<String, _>("on_update")?,
                        r.try_get::<String, _>("on_delete")?,
                        r.try_get::<String, _>("match")?,
                    ));
                }
            }
            let exists: bool = sqlx::query_scalar(
                "SELECT COUNT(*) > 0 FROM sqlite_master WHERE name = '_sqlx_migrations'",
            )
            .fetch_one(&mut c)
            .await?;
            if exists {
                let rows = sqlx::query(MIGRATIONS).fetch_all(&mut c).await?;
                migrations_lines(&mut lines, &rows)?;
            } else {
                lines.push("_sqlx_migrations: absent".into());
            }
            c.close().await?;
        }
        Backend::Postgres => {
            let mut c = PgConnection::connect(url).await?;
            for &t in tables {
                let exists: Option<String> =
                    sqlx::query_scalar("SELECT to_regclass(quote_ident($1))::text")
                        .bind(t)
                        .fetch_one(&mut c)
                        .await?;
                if exists.is_none() {
                    lines.push(format!("{t}: absent"));
                    continue;
                }
                for r in sqlx::query(
                    "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull, \
                     pg_get_expr(d.adbin, d.adrelid) AS dflt, a.attidentity::text AS ident, a.attgenerated::text AS gen, \
                     coalesce(co.collname::text, '') AS coll \
                     FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
                     LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100 \
                     WHERE a.attrelid = quote_ident($1)::regclass AND a.attnum > 0 AND NOT a.attisdropped",
                )
                .bind(t)
                .fetch_all(&mut c)
                .await?
                {
                    let name: String = r.try_get("name")?;
                    if skip(t, &name) {
                        continue;
                    }
                    lines.push(format!(
                        "{t}.{name}: {} notnull={} default={:?} identity={:?} generated={:?} collation={:?}",
                        r.try_get::<String, _>("type")?,
                        r.try_get::<bool, _>("notnull")?,
                        r.try_get::<Option<String>, _>("dflt")?,
                        r.try_get::<String, _>("ident")?,
                        r.try_get::<String, _>("gen")?,
                        r.try_get::<String, _>("coll")?,
                    ));
                }
                for r in sqlx::query(
                    "SELECT pg_get_indexdef(x.indexrelid) AS def FROM pg_index x WHERE x.indrelid = quote_ident($1)::regclass",
                )
                .bind(t)
                .fetch_all(&mut c)
                .await?
                {
                    lines.push(format!("{t} index: {}", r.try_get::<String, _>("def")?));
                }
                for r in sqlx::query(
                    "SELECT conname::text AS name, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = quote_ident($1)::regclass",
                )
                .bind(t)
                .fetch_all(&mut c)
                .await?
                {
                    lines.push(format!(
                        "{t} constraint {}: {}",
                        r.try_get::<String, _>("name")?,
                        r.try_get::<String, _>("def")?
                    ));
                }
            }
            let exists: bool =
                sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                    .fetch_one(&mut c)
                    .await?;
            if exists {
                let rows = sqlx::query(MIGRATIONS).fetch_all(&mut c).await?;
                migrations_lines(&mut lines, &rows)?;
            } else {
                lines.push("_sqlx_migrations: absent".into());
            }
            c.close().await?;
        }
        Backend::MySql => {
            let mut c = MySqlConnection::connect(url).await?;
            for &t in tables {
                let table: Option<(String, String)> = sqlx::query_as(
                    "SELECT CAST(ENGINE AS CHAR), CAST(TABLE_COLLATION AS CHAR) FROM information_schema.TABLES \
                     WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                )
                .bind(t)
                .fetch_optional(&mut c)
                .await?;
                let Some((engine, collation)) = table else {
                    lines.push(format!("{t}: absent"));
                    continue;
                };
                lines.push(format!("{t}: engine={engine} collation={collation}"));
                for r in sqlx::query(
                    "SELECT CAST(COLUMN_NAME AS CHAR) AS name, CAST(COLUMN_TYPE AS CHAR) AS type, CAST(IS_NULLABLE AS CHAR) AS nullable, \
                     CAST(COLUMN_DEFAULT AS CHAR) AS dflt, CAST(CHARACTER_SET_NAME AS CHAR) AS charset, CAST(COLLATION_NAME AS CHAR) AS coll, \
                     CAST(EXTRA AS CHAR) AS extra, CAST(GENERATION_EXPRESSION AS CHAR) AS gen \
                     FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ?",
                )
                .bind(t)
                .fetch_all(&mut c)
                .await?
                {
                    let name: String = r.try_get("name")?;
                    if skip(t, &name) {
                        continue;
                    }
                    lines.push(format!(
                        "{t}.{name}: {} nullable={} default={:?} charset={:?} collation={:?} extra={:?} generated={:?}",
                        r.try_get::<String, _>("type")?,
                        r.try_get::<String, _>("nullable")?,
                        r.try_get::<Option<String>, _>("dflt")?,
                        r.try_get::<Option<String>, _>("charset")?,
                        r.try_get::<Option<String>, _>("coll")?,
                        r.try_get::<Option<String>, _>("extra")?,
                        r.try_get::<Option<String>, _>("gen")?,
                    ));
                }
                let mut indexes: BTreeMap<String, String> = BTreeMap::new();
                for r in sqlx::query(
                    "SELECT CAST(INDEX_NAME AS CHAR) AS name, CAST(NON_UNIQUE AS SIGNED) AS nu, CAST(COLUMN_NAME AS CHAR) AS col, \
                     CAST(SUB_PART AS SIGNED) AS sub, CAST(INDEX_TYPE AS CHAR) AS ty \
                     FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? ORDER BY INDEX_NAME, SEQ_IN_INDEX",
                )
                .bind(t)
                .fetch_all(&mut c)
                .await?
                {
                    let name: String = r.try_get("name")?;
                    let entry = indexes.entry(name).or_insert_with(|| {
                        format!(
                            "non_unique={} type={}",
                            r.try_get::<i64, _>("nu").unwrap_or(-1),
                            r.try_get::<String, _>("ty").unwrap_or_default()
                        )
                    });
                    let _ = write!(
                        entry,
                        " {:?}({:?})",
                        r.try_get::<Option<String>, _>("col")?,
                        r.try_get::<Option<i64>, _>("sub")?
                    );
                }
                for (name, def) in indexes {
                    lines.push(format!("{t} index {name}: {def}"));
                }
                for r in sqlx::query(
                    "SELECT CAST(k.CONSTRAINT_NAME AS CHAR) AS name, CAST(k.COLUMN_NAME AS CHAR) AS col, \
                     CAST(k.REFERENCED_TABLE_NAME AS CHAR) AS rt, CAST(k.REFERENCED_COLUMN_NAME AS CHAR) AS rc, \
                     CAST(r.DELETE_RULE AS CHAR) AS del, CAST(r.UPDATE_RULE AS CHAR) AS upd \
                     FROM information_schema.KEY_COLUMN_USAGE k JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
                       ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME \
                     WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = ?",
                )
                .bind(t)
                .fetch_all(&mut c)
                .await?
                {
                    lines.push(format!(
                        "{t} foreign key {}: {} -> {}.{} on delete {} on update {}",
                        r.try_get::<String, _>("name")?,
                        r.try_get::<String, _>("col")?,
                        r.try_get::<String, _>("rt")?,
                        r.try_get::<String, _>("rc")?,
                        r.try_get::<String, _>("del")?,
                        r.try_get::<String, _>("upd")?,
                    ));
                }
            }
            let exists: bool = sqlx::query_scalar("SELECT COUNT(*) > 0 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '_sqlx_migrations'").fetch_one(&mut c).await?;
            if exists {
                let rows = sqlx::query(MIGRATIONS).fetch_all(&mut c).await?;
                migrations_lines(&mut lines, &rows)?;
            } else {
                lines.push("_sqlx_migrations: absent".into());
            }
            c.close().await?;
        }
    }
    lines.sort();
    Ok(lines)
}

const MIGRATIONS: &str =
    "SELECT version, description, success, checksum FROM _sqlx_migrations ORDER BY version";

fn migrations_lines<R: Row>(lines: &mut Vec<String>, rows: &[R]) -> Result<(), sqlx::Error>
where
    for<'r> &'r str: sqlx::ColumnIndex<R>,
    for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    for r in rows {
        let version: i64 = r.try_get("version")?;
        let description: String = r.try_get("description")?;
        let success: bool = r.try_get("success")?;
        let checksum: Vec<u8> = r.try_get("checksum")?;
        let hex: String = checksum.iter().map(|b| format!("{b:02x}")).collect();
        lines.push(format!(
            "_sqlx_migrations {version} {description:?} success={success} checksum={hex}"
        ));
    }
    Ok(())
}
