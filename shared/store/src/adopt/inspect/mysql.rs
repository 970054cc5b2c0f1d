//! MySQL's and MariaDB's `information_schema`, in the connection's current
//! database. Only columns both servers have are read.

use sqlx::{MySqlConnection, Row};

use crate::adopt::inspect::{MIGRATIONS_TABLE, wanted};
use crate::adopt::schema::{
    AppliedMigration, Column, ColumnType, ForeignKey, Index, Schema, Table, normalise_part,
};
use crate::adopt::target::Target;

pub(crate) async fn inspect(
    conn: &mut MySqlConnection,
    target: &Target,
) -> Result<Schema, sqlx::Error> {
    let wanted = wanted(target);
    let rows = sqlx::query(
        "SELECT CAST(TABLE_NAME AS CHAR) AS name, CAST(TABLE_COLLATION AS CHAR) AS collation \
         FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' \
         ORDER BY TABLE_NAME",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut schema = Schema::default();
    for row in rows {
        let name: String = row.try_get("name")?;
        if !wanted.contains(&name) {
            continue;
        }
        if name == MIGRATIONS_TABLE {
            let rows =
                sqlx::query("SELECT version, checksum FROM _sqlx_migrations ORDER BY version")
                    .fetch_all(&mut *conn)
                    .await?;
            schema.migrations = Some(
                rows.iter()
                    .map(|r| {
                        Ok(AppliedMigration {
                            version: r.try_get("version")?,
                            checksum: r.try_get("checksum")?,
                        })
                    })
                    .collect::<Result<_, sqlx::Error>>()?,
            );
            continue;
        }
        let mut table = table(conn, &name).await?;
        table.collation = row.try_get("collation")?;
        schema.tables.insert(name, table);
    }
    Ok(schema)
}

async fn table(conn: &mut MySqlConnection, name: &str) -> Result<Table, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT CAST(COLUMN_NAME AS CHAR) AS name, CAST(COLUMN_TYPE AS CHAR) AS type, \
         CAST(IS_NULLABLE AS CHAR) AS nullable, CAST(COLUMN_DEFAULT AS CHAR) AS dflt, \
         CAST(CHARACTER_SET_NAME AS CHAR) AS charset, CAST(COLLATION_NAME AS CHAR) AS collation, \
         CAST(EXTRA AS CHAR) AS extra \
         FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
         ORDER BY ORDINAL_POSITION",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    let mut columns = Vec::new();
    for r in &rows {
        let extra = r
            .try_get::<Option<String>, _>("extra")?
            .unwrap_or_default()
            .to_ascii_lowercase();
        let default: Option<String> = r.try_get("dflt")?;
        columns.push(Column {
            name: r.try_get("name")?,
            ty: column_type(&r.try_get::<String, _>("type")?),
            nullable: r.try_get::<String, _>("nullable")? == "YES",
            // MariaDB reports a nullable column without default as 'NULL'.
            default: default.filter(|d| d != "NULL"),
            charset: r.try_get("charset")?,
            collation: r.try_get("collation")?,
            auto_increment: extra.contains("auto_increment"),
            generated: extra.contains("generated"),
            definition: None,
        });
    }

    let rows = sqlx::query(
        "SELECT CAST(INDEX_NAME AS CHAR) AS name, CAST(NON_UNIQUE AS SIGNED) AS non_unique, \
         CAST(COLUMN_NAME AS CHAR) AS col, CAST(SUB_PART AS SIGNED) AS sub_part \
         FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? \
         ORDER BY INDEX_NAME, SEQ_IN_INDEX",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    let mut indexes: Vec<Index> = Vec::new();
    let mut primary_key = Vec::new();
    for r in &rows {
        let index: String = r.try_get("name")?;
        // MySQL 8's functional key parts have no column.
        let column: Option<String> = r.try_get("col")?;
        let sub_part: Option<i64> = r.try_get("sub_part")?;
        let part = match (column, sub_part) {
            (Some(c), Some(n)) => format!("{}({n})", normalise_part(&c)),
            (Some(c), None) => normalise_part(&c),
            (None, _) => "(expression)".to_owned(),
        };
        if index == "PRIMARY" {
            primary_key.push(part);
            continue;
        }
        match indexes.iter_mut().find(|i| i.name == index) {
            Some(i) => i.parts.push(part),
            None => indexes.push(Index {
                name: index,
                unique: r.try_get::<i64, _>("non_unique")? == 0,
                parts: vec![part],
                extra: String::new(),
                sql: None,
            }),
        }
    }

    let rows = sqlx::query(
        "SELECT CAST(k.CONSTRAINT_NAME AS CHAR) AS name, CAST(k.COLUMN_NAME AS CHAR) AS col, \
         CAST(k.REFERENCED_TABLE_NAME AS CHAR) AS ref_table, \
         CAST(k.REFERENCED_COLUMN_NAME AS CHAR) AS ref_col, CAST(r.DELETE_RULE AS CHAR) AS del \
         FROM information_schema.KEY_COLUMN_USAGE k \
         JOIN information_schema.REFERENTIAL_CONSTRAINTS r \
           ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME \
          AND r.TABLE_NAME = k.TABLE_NAME \
         WHERE k.TABLE_SCHEMA = DATABASE() AND k.TABLE_NAME = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL \
         ORDER BY k.CONSTRAINT_NAME, k.ORDINAL_POSITION",
    )
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    let mut foreign_keys: Vec<ForeignKey> = Vec::new();
    for r in &rows {
        let fk: String = r.try_get("name")?;
        let column: String = r.try_get("col")?;
        let ref_column: String = r.try_get("ref_col")?;
        match foreign_keys
            .iter_mut()
            .find(|f| f.name.as_deref() == Some(fk.as_str()))
        {
            Some(f) => {
                f.columns.push(column);
                f.ref_columns.push(ref_column);
            }
            None => foreign_keys.push(ForeignKey {
                name: Some(fk),
                columns: vec![column],
                ref_table: r.try_get("ref_table")?,
                ref_columns: vec![ref_column],
                on_delete: r.try_get::<String, _>("del")?.to_ascii_uppercase(),
            }),
        }
    }

    Ok(Table {
        name: name.to_owned(),
        columns,
        indexes,
        primary_key,
        primary_key_name: None,
        id_sequence: None,
        foreign_keys,
        collation: None,
        autoincrement: false,
        other_constraints: Vec::new(),
        dependents: Vec::new(),
    })
}

/// MySQL 8 writes `int`, MariaDB `int(11)`; both are the same 32-bit type.
fn column_type(column_type: &str) -> ColumnType {
    let lower = column_type.trim().to_ascii_lowercase();
    let (base, size) = match lower.split_once('(') {
        Some((base, rest)) => match rest.strip_suffix(')').and_then(|n| n.parse::<u32>().ok()) {
            Some(n) => (base, Some(n)),
            // `int(10) unsigned`, `decimal(10,2)`: nothing adoption knows.
            None => return ColumnType::Other(lower),
        },
        None => (lower.as_str(), None),
    };
    match (base, size) {
        ("int", _) => ColumnType::Int,
        ("bigint", _) => ColumnType::BigInt,
        ("tinyint", Some(1)) => ColumnType::Bool,
        ("text", None) => ColumnType::Text,
        ("varchar", Some(n)) => ColumnType::Varchar(n),
        ("varbinary", Some(n)) => ColumnType::VarBinary(n),
        ("datetime", None) => ColumnType::DateTime(0),
        ("datetime", Some(p)) if p <= 6 => ColumnType::DateTime(p as u8),
        _ => ColumnType::Other(lower),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_servers_spellings() {
        assert_eq!(column_type("int(11)"), ColumnType::Int);
        assert_eq!(column_type("int"), ColumnType::Int);
        assert_eq!(column_type("bigint(20)"), ColumnType::BigInt);
        assert_eq!(column_type("tinyint(1)"), ColumnType::Bool);
        assert_eq!(column_type("datetime"), ColumnType::DateTime(0));
        assert_eq!(column_type("datetime(6)"), ColumnType::DateTime(6));
        assert_eq!(column_type("varchar(320)"), ColumnType::Varchar(320));
        assert_eq!(
            column_type("int(10) unsigned"),
            ColumnType::Other("int(10) unsigned".into())
        );
    }
}
