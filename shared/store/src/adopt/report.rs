//! A plan as the operator reads it: what was found, each step with its exact
//! SQL (and the transaction around it), what refuses adoption with the query
//! that shows the rows at fault, and what is left alone.

use std::fmt;

use crate::Backend;
use crate::adopt::ddl::CHECKED_TABLES;
use crate::adopt::plan::{Outcome, Plan};

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::AlreadyAdopted => writeln!(
                f,
                "Nothing to do: _sqlx_migrations already records Guildhall's migrations, so this \
                 {} database has Guildhall's schema.",
                self.backend.name()
            )?,
            Outcome::Refused(blockers) => {
                writeln!(f, "Adoption refused; nothing was changed:")?;
                for (n, b) in blockers.iter().enumerate() {
                    writeln!(f, "  {}. {}", n + 1, b.problem)?;
                    if let Some(query) = &b.query {
                        writeln!(f, "     See them with:\n       {query};")?;
                    }
                }
            }
            Outcome::Steps(steps) => {
                let (before, after, how): (Vec<String>, Vec<String>, &str) = match self.backend {
                    Backend::Sqlite => (
                        vec!["PRAGMA foreign_keys = OFF".into(), "BEGIN IMMEDIATE".into()],
                        CHECKED_TABLES
                            .iter()
                            .map(|t| format!("PRAGMA foreign_key_check({t})"))
                            .chain(["COMMIT".into(), "PRAGMA foreign_keys = ON".into()])
                            .collect(),
                        "in one transaction: all of it or nothing",
                    ),
                    Backend::Postgres => (
                        vec!["BEGIN".into()],
                        vec!["COMMIT".into()],
                        "in one transaction: all of it or nothing",
                    ),
                    Backend::MySql => (
                        Vec::new(),
                        Vec::new(),
                        "MySQL commits each statement by itself: if interrupted, run adopt again \
                         and it does what is left",
                    ),
                };
                writeln!(
                    f,
                    "Adopting this {} database takes {} step{}, {how}.",
                    self.backend.name(),
                    steps.len(),
                    if steps.len() == 1 { "" } else { "s" }
                )?;
                for statement in &before {
                    writeln!(f, "  {statement};")?;
                }
                for (n, step) in steps.iter().enumerate() {
                    writeln!(f, "  {}. {}", n + 1, step.summary)?;
                    for statement in &step.sql {
                        let statement = statement.replace('\n', "\n       ");
                        if statement.starts_with("--") {
                            writeln!(f, "       {statement}")?;
                        } else {
                            writeln!(f, "       {statement};")?;
                        }
                    }
                }
                for statement in &after {
                    writeln!(f, "  {statement};")?;
                }
            }
        }
        if !self.later_migrations.is_empty() {
            let later: Vec<String> = self
                .later_migrations
                .iter()
                .map(|(v, d)| format!("{v} ({d})"))
                .collect();
            writeln!(
                f,
                "Then the migrator applies the later migration{} {}, as start-up would.",
                if later.len() == 1 { "" } else { "s" },
                later.join(", ")
            )?;
        }
        if !self.notes.is_empty() {
            writeln!(f, "Notes:")?;
            for note in &self.notes {
                writeln!(f, "  - {note}")?;
            }
        }
        Ok(())
    }
}
