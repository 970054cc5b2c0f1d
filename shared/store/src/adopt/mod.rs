//! Adoption: takes over a database that a fastapi-users application created
//! (its `users` and `oauth_accounts` tables, whatever made them), bringing
//! it in place to the schema Guildhall's first migrations create, and
//! recording those migrations as applied so the migrator runs only the
//! later ones. Nothing is lost: types only widen (or narrow where every
//! value fits, checked), rows a new unique index would refuse stop it
//! before any change, and columns, indexes and tables Guildhall does not
//! know stay as they are, so the Python application keeps working on the
//! same database.
//!
//! `inspect` reads the catalog, `plan` decides against `target`, `ddl`
//! spells it for the backend, `execute` runs it, `report` prints it.

mod ddl;
mod error;
mod execute;
mod inspect;
mod plan;
mod report;
mod schema;
mod target;

pub use error::AdoptError;
pub use plan::{Blocker, Outcome, Plan, Step};

use crate::Store;
use crate::migrations::Embedded;
use execute::Limit;

/// What the operator allowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdoptOptions {
    /// Rename fastapi-users' default tables (`user`, `oauth_account`) to
    /// Guildhall's names. Off by default: the Python application must be
    /// changed to follow, so it is the operator's decision.
    pub rename_tables: bool,
}

/// A finished adoption.
#[derive(Debug, Clone)]
pub struct Adopted {
    /// What was done ([`Outcome::Steps`]), or [`Outcome::AlreadyAdopted`].
    pub plan: Plan,
    /// The later migrations the migrator then applied: `(version, description)`.
    pub migrated: Vec<(i64, String)>,
}

impl Store {
    /// What [`Store::adopt`] would do, with its row checks run; changes
    /// nothing. A plan that would be refused is returned, not an error.
    pub async fn adoption_plan(&self, options: AdoptOptions) -> Result<Plan, AdoptError> {
        match execute::dry_run(self, options).await {
            Err(AdoptError::Refused(plan)) => Ok(*plan),
            other => other,
        }
    }

    /// Adopts the database, then applies the later migrations as start-up
    /// would. A database already adopted (or created by Guildhall) only gets
    /// its pending migrations.
    pub async fn adopt(&self, options: AdoptOptions) -> Result<Adopted, AdoptError> {
        let plan = execute::apply(self, options, Limit::All).await?;
        let migrated = self.pending_migrations().await?;
        self.migrate().await.map_err(AdoptError::Migrate)?;
        Ok(Adopted { plan, migrated })
    }

    /// Runs only the plan's first `steps` steps and commits them, as if the
    /// process had died there; for tests of resuming.
    #[cfg(feature = "testing")]
    pub async fn adopt_interrupted_after(
        &self,
        options: AdoptOptions,
        steps: usize,
    ) -> Result<Plan, AdoptError> {
        execute::apply(self, options, Limit::FirstSteps(steps)).await
    }

    /// Embedded migrations not yet in `_sqlx_migrations`.
    async fn pending_migrations(&self) -> Result<Vec<(i64, String)>, AdoptError> {
        use sqlx::migrate::Migrate;
        let applied = crate::dialect::on_pool!(self, |pool, _q| {
            let mut conn = pool.acquire().await?;
            conn.list_applied_migrations()
                .await
                .map_err(AdoptError::Bookkeeping)?
        });
        Ok(Embedded::of(self.backend())
            .migrations()
            .into_iter()
            .filter(|m| !applied.iter().any(|a| a.version == m.version))
            .map(|m| (m.version, m.description.into_owned()))
            .collect())
    }
}
