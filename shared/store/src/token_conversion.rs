//! Rewriting the OAuth tokens already stored into the encrypted form or back
//! to plain text (`portal encrypt-tokens` / `decrypt-tokens`): in batches,
//! one transaction each, in id order. Rows already in the target form are
//! skipped, so a run can be interrupted and started again; a row a portal
//! rewrote meanwhile (a token refresh) is left as that portal wrote it.

use settings::Secret;

use crate::dialect::on_pool;
use crate::error::check_len;
use crate::oauth_accounts::{ACCESS_TOKEN, REFRESH_TOKEN};
use crate::token_cipher::{TokenCipher, TokenCipherError, is_sealed};
use crate::{Store, StoreError, limits};

/// The form to bring every stored token into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenForm {
    Encrypted,
    Plain,
}

/// Rows handled so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConversionProgress {
    /// Rewritten into the target form.
    pub converted: u64,
    /// Already in the target form.
    pub already: u64,
    /// Rewritten by someone else between our read and our write: left as
    /// they wrote it (a portal writes in its own form).
    pub changed_meanwhile: u64,
}

type TokenRow = (i32, String, Option<String>);

impl Store {
    /// Brings every OAuth account's tokens into `target` form, `batch` rows
    /// per transaction, calling `progress` with the running totals after
    /// each batch. Needs the store's key both ways (the key that encrypted
    /// the rows, to decrypt them).
    pub async fn convert_tokens(
        &self,
        target: TokenForm,
        batch: usize,
        mut progress: impl FnMut(ConversionProgress),
    ) -> Result<ConversionProgress, StoreError> {
        let cipher = self
            .cipher
            .as_ref()
            .ok_or(TokenCipherError::NoKeyToConvertWith {
                column: ACCESS_TOKEN,
            })?;
        let batch = i64::try_from(batch.max(1)).unwrap_or(i64::MAX);
        let mut totals = ConversionProgress::default();
        let mut after = i32::MIN;
        loop {
            const PAGE: &str = "SELECT id, access_token, refresh_token FROM oauth_accounts WHERE id > $1 ORDER BY id LIMIT $2";
            let rows: Vec<TokenRow> = on_pool!(self, |pool, q| {
                sqlx::query_as(q(PAGE))
                    .bind(after)
                    .bind(batch)
                    .fetch_all(pool)
                    .await?
            });
            let Some(last) = rows.last() else {
                return Ok(totals);
            };
            after = last.0;
            let mut rewrites = Vec::new();
            for row in rows {
                match convert_row(cipher, target, &row)? {
                    Some(rewrite) => rewrites.push(rewrite),
                    None => totals.already += 1,
                }
            }
            let (converted, changed) = self.write_batch(&rewrites).await?;
            totals.converted += converted;
            totals.changed_meanwhile += changed;
            progress(totals);
        }
    }

    /// One transaction: each row is written only if its access token is
    /// still the one read (every token write changes it). Returns
    /// (written, changed meanwhile).
    async fn write_batch(&self, rewrites: &[Rewrite]) -> Result<(u64, u64), StoreError> {
        if rewrites.is_empty() {
            return Ok((0, 0));
        }
        const SQL: &str = "UPDATE oauth_accounts SET access_token = $1, refresh_token = $2 WHERE id = $3 AND access_token = $4";
        let mut written = 0;
        on_pool!(self, |pool, q| {
            let mut tx = pool.begin().await?;
            for r in rewrites {
                written += sqlx::query(q(SQL))
                    .bind(r.access.expose())
                    .bind(r.refresh.as_ref().map(Secret::expose))
                    .bind(r.id)
                    .bind(r.was.expose())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            tx.commit().await?;
        });
        Ok((written, rewrites.len() as u64 - written))
    }
}

/// A row's tokens in the target form, and the access token it had.
struct Rewrite {
    id: i32,
    was: Secret,
    access: Secret,
    refresh: Option<Secret>,
}

/// `None` when both columns are already in the target form.
fn convert_row(
    cipher: &TokenCipher,
    target: TokenForm,
    (id, access, refresh): &TokenRow,
) -> Result<Option<Rewrite>, StoreError> {
    let done = |v: &str| is_sealed(v) == (target == TokenForm::Encrypted);
    if done(access) && refresh.as_deref().is_none_or(done) {
        return Ok(None);
    }
    let convert = |column: &'static str, v: &str| -> Result<Secret, StoreError> {
        let out = match (target, is_sealed(v)) {
            (TokenForm::Encrypted, false) => cipher.seal(column, v)?,
            (TokenForm::Plain, true) => cipher.open(column, v)?,
            _ => v.to_owned(),
        };
        check_len(column, &out, limits::TOKEN)?;
        Ok(Secret::new(out))
    };
    Ok(Some(Rewrite {
        id: *id,
        was: Secret::new(access.clone()),
        access: convert(ACCESS_TOKEN, access)?,
        refresh: refresh
            .as_deref()
            .map(|r| convert(REFRESH_TOKEN, r))
            .transpose()?,
    }))
}
