//! `portal encrypt-tokens` and `portal decrypt-tokens`: bring the Discord
//! tokens already stored into the form `TOKEN_ENCRYPTION_KEY` implies, in
//! batches, printing progress. Safe to interrupt and run again, and to run
//! while portals serve (a row one of them rewrites meanwhile is left as it
//! wrote it).

use store::{ConversionProgress, TokenForm, TokenKey};

use crate::app::connect_store;
use crate::config::DatabaseConfig;
use crate::error::PortalError;

/// Rows per transaction: short transactions, few round trips.
pub const BATCH: usize = 500;

/// Converts every stored token into `target` form with `key`.
pub async fn convert(
    database: &DatabaseConfig,
    key: &TokenKey,
    target: TokenForm,
) -> Result<(), PortalError> {
    let (command, form) = match target {
        TokenForm::Encrypted => ("encrypt-tokens", "encrypted"),
        TokenForm::Plain => ("decrypt-tokens", "in plain text"),
    };
    let store = connect_store(database).await?.with_token_key(Some(key));
    let say = |p: ConversionProgress, stage: &str| {
        let mut line = format!(
            "{command}: {stage}{} converted, {} already {form}",
            p.converted, p.already
        );
        if p.changed_meanwhile > 0 {
            line.push_str(&format!(
                ", {} rewritten by a running portal meanwhile (left as it wrote them)",
                p.changed_meanwhile
            ));
        }
        println!("{line}");
    };
    let result = store
        .convert_tokens(target, BATCH, |so_far| say(so_far, "so far "))
        .await;
    store.close().await;
    say(result?, "done: ");
    Ok(())
}
