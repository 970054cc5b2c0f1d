//! PostgreSQL's catalog (`pg_class`, `pg_attribute`, `pg_index`,
//! `pg_constraint`), in the connection's current schema.

use sqlx::{PgConnection, Row};

use crate::adopt::inspect::{MIGRATIONS_TABLE, wanted};
use crate::adopt::schema::{
    AppliedMigration, Column, ColumnType, ForeignKey, Index, Schema, Table, normalise_part,
    split_top_level,
};
use crate::adopt::target::Target;

/// The table named `$1` in the current schema.
macro_rules! table_oid {
    () => {
        "(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
          WHERE n.nspname = current_schema() AND c.relname = $1)"
    };
}

pub(crate) async fn inspect(
    conn: &mut PgConnection,
    target: &Target,
) -> Result<Schema, sqlx::Error> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND c.relname = ANY($1) \
         ORDER BY c.relname",
    )
    .bind(wanted(target))
    .fetch_all(&mut *conn)
    .await?;
    let mut schema = Schema::default();
    for name in names {
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
        let table = table(conn, &name).await?;
        schema.tables.insert(name, table);
    }
    Ok(schema)
}

async fn table(conn: &mut PgConnection, name: &str) -> Result<Table, sqlx::Error> {
    let rows = sqlx::query(concat!(
        "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, \
         NOT a.attnotnull AS nullable, pg_get_expr(d.adbin, d.adrelid) AS dflt, \
         a.attidentity IN ('a', 'd') AS identity, a.attgenerated = 's' AS generated \
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
         WHERE a.attrelid = ",
        table_oid!(),
        " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
    ))
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    let mut columns = Vec::new();
    for r in &rows {
        let default: Option<String> = r.try_get("dflt")?;
        let identity: bool = r.try_get("identity")?;
        columns.push(Column {
            name: r.try_get("name")?,
            ty: column_type(&r.try_get::<String, _>("type")?),
            nullable: r.try_get("nullable")?,
            auto_increment: identity
                || default
                    .as_deref()
                    .is_some_and(|d| d.starts_with("nextval(")),
            default,
            charset: None,
            collation: None,
            generated: r.try_get("generated")?,
            definition: None,
        });
    }

    let mut indexes = Vec::new();
    let mut primary_key = Vec::new();
    let mut primary_key_name = None;
    let rows = sqlx::query(concat!(
        "SELECT i.relname::text AS name, x.indisunique AS uniq, x.indisprimary AS prim, \
         pg_get_indexdef(x.indexrelid) AS def \
         FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = ",
        table_oid!(),
        " ORDER BY i.relname"
    ))
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        let index: String = r.try_get("name")?;
        let (parts, extra) = index_parts(&r.try_get::<String, _>("def")?);
        if r.try_get("prim")? {
            primary_key = parts;
            primary_key_name = Some(index);
            continue;
        }
        indexes.push(Index {
            name: index,
            unique: r.try_get("uniq")?,
            parts,
            extra,
            sql: None,
        });
    }

    let rows = sqlx::query(concat!(
        "SELECT con.conname::text AS name, con.confrelid::regclass::text AS ref_table, \
         con.confdeltype::text AS del, \
         ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i) \
               JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS cols, \
         ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i) \
               JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i) AS ref_cols \
         FROM pg_constraint con WHERE con.contype = 'f' AND con.conrelid = ",
        table_oid!(),
        " ORDER BY con.conname"
    ))
    .bind(name)
    .fetch_all(&mut *conn)
    .await?;
    let mut foreign_keys = Vec::new();
    for r in &rows {
        let ref_table: String = r.try_get("ref_table")?;
        foreign_keys.push(ForeignKey {
            name: Some(r.try_get("name")?),
            columns: r.try_get("cols")?,
            // `"user"` or `other_schema.users` when not on the search path.
            ref_table: ref_table
                .rsplit('.')
                .next()
                .unwrap_or_default()
                .trim_matches('"')
                .to_owned(),
            ref_columns: r.try_get("ref_cols")?,
            on_delete: match r.try_get::<String, _>("del")?.as_str() {
                "c" => "CASCADE",
                "r" => "RESTRICT",
                "n" => "SET NULL",
                "d" => "SET DEFAULT",
                _ => "NO ACTION",
            }
            .to_owned(),
        });
    }

    // The sequence behind a serial id, so a renamed table's can follow it.
    let id_sequence: Option<String> = if columns.iter().any(|c| c.name == "id" && c.auto_increment)
    {
        sqlx::query_scalar("SELECT pg_get_serial_sequence(quote_ident($1), 'id')")
            .bind(name)
            .fetch_one(&mut *conn)
            .await?
    } else {
        None
    };

    Ok(Table {
        name: name.to_owned(),
        columns,
        indexes,
        primary_key,
        primary_key_name,
        id_sequence: id_sequence.map(|s| {
            s.rsplit('.')
                .next()
                .unwrap_or_default()
                .trim_matches('"')
                .to_owned()
        }),
        foreign_keys,
        collation: None,
        autoincrement: false,
        other_constraints: Vec::new(),
        dependents: Vec::new(),
    })
}

fn column_type(formatted: &str) -> ColumnType {
    match formatted {
        "integer" => ColumnType::Int,
        "bigint" => ColumnType::BigInt,
        "boolean" => ColumnType::Bool,
        "text" => ColumnType::Text,
        "timestamp without time zone" => ColumnType::Timestamp,
        "timestamp with time zone" => ColumnType::TimestampTz,
        other => other
            .strip_prefix("character varying(")
            .and_then(|rest| rest.strip_suffix(')'))
            .and_then(|n| n.parse().ok())
            .map(ColumnType::Varchar)
            .unwrap_or_else(|| ColumnType::Other(other.to_owned())),
    }
}

/// From `CREATE [UNIQUE] INDEX n ON t USING btree (a, lower((b)::text)) WHERE …`:
/// the normalised parts, and anything that is not a plain b-tree on them.
fn index_parts(def: &str) -> (Vec<String>, String) {
    let Some((_, using)) = def.split_once(" USING ") else {
        return (Vec::new(), normalise_part(def));
    };
    let (method, rest) = using.split_once(' ').unwrap_or((using, ""));
    let Some(list) = rest.strip_prefix('(') else {
        return (Vec::new(), normalise_part(using));
    };
    // The list's closing parenthesis: the first one at depth zero.
    let mut depth = 1;
    let mut close = list.len();
    for (i, c) in list.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    close = i;
                    break;
                }
            }
            _ => {}
        }
    }
    let parts = split_top_level(&list[..close])
        .iter()
        .map(|p| normalise_part(p))
        .collect();
    let suffix = list.get(close + 1..).unwrap_or_default().trim();
    let extra = if method == "btree" && suffix.is_empty() {
        String::new()
    } else {
        normalise_part(&format!("using {method} {suffix}"))
    };
    (parts, extra)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pg_get_indexdef() {
        assert_eq!(
            index_parts(
                "CREATE UNIQUE INDEX ux_users_email ON public.users USING btree (lower((email)::text))"
            ),
            (vec!["lower((email)::text)".to_owned()], String::new())
        );
        assert_eq!(
            index_parts("CREATE INDEX i ON public.t USING btree (a, b) WHERE (a > 0)"),
            (
                vec!["a".to_owned(), "b".to_owned()],
                "using btree where (a > 0)".to_owned()
            )
        );
        assert_eq!(
            index_parts("CREATE INDEX i ON public.t USING hash (a)").1,
            "using hash"
        );
    }

    #[test]
    fn format_type_spellings() {
        assert_eq!(
            column_type("character varying(320)"),
            ColumnType::Varchar(320)
        );
        assert_eq!(
            column_type("timestamp without time zone"),
            ColumnType::Timestamp
        );
        assert_eq!(
            column_type("numeric(10,2)"),
            ColumnType::Other("numeric(10,2)".into())
        );
    }
}
