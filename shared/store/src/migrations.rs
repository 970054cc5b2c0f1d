//! The SQL migrations of each backend, embedded at build time (see
//! `build.rs`), handed to sqlx's migrator as a [`MigrationSource`].

use std::borrow::Cow;
use std::future::Future;
use std::pin::Pin;

use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};

use crate::Backend;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

/// One backend's migrations, in version order.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Embedded(&'static [(i64, &'static str, &'static str)]);

impl Embedded {
    pub(crate) fn of(backend: Backend) -> Self {
        Embedded(match backend {
            Backend::Sqlite => embedded::SQLITE,
            Backend::Postgres => embedded::POSTGRES,
            Backend::MySql => embedded::MYSQL,
        })
    }

    /// Only the migrations numbered `last` or lower: the schema an older
    /// Guildhall left behind.
    #[cfg(feature = "testing")]
    pub(crate) fn up_to(self, last: i64) -> Self {
        let n = self.0.iter().take_while(|(v, _, _)| *v <= last).count();
        Embedded(&self.0[..n])
    }

    pub(crate) fn migrations(self) -> Vec<Migration> {
        self.0
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    Cow::Borrowed(sql),
                    // sqlx's marker for a migration that must run outside a transaction.
                    sql.starts_with("-- no-transaction"),
                )
            })
            .collect()
    }

    pub(crate) async fn migrator(self) -> Result<Migrator, sqlx::migrate::MigrateError> {
        Migrator::new(self).await
    }
}

impl MigrationSource<'static> for Embedded {
    #[allow(clippy::type_complexity)] // the trait's own signature, spelled out
    fn resolve(
        self,
    ) -> Pin<Box<dyn Future<Output = Result<Vec<Migration>, BoxDynError>> + Send + 'static>> {
        Box::pin(async move { Ok(self.migrations()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_embedded_in_order() {
        for (backend, dir) in [
            (Backend::Sqlite, "sqlite"),
            (Backend::Postgres, "postgres"),
            (Backend::MySql, "mysql"),
        ] {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../migrations/").to_owned() + dir;
            let files = std::fs::read_dir(path)
                .unwrap()
                .filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .path()
                        .extension()
                        .is_some_and(|x| x == "sql")
                })
                .count();
            let embedded = Embedded::of(backend).migrations();
            assert_eq!(embedded.len(), files, "{dir}");
            assert!(embedded.windows(2).all(|w| w[0].version < w[1].version));
            assert_eq!(embedded[0].version, 1);
            assert_eq!(embedded[0].description, "init");
        }
    }
}
