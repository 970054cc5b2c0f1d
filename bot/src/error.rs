//! The bot's one error type.

use serenity::http::HttpError;

/// Discord's "Cannot send messages to this user": DMs closed.
pub const DM_CLOSED: isize = 50007;

#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("the member does not accept direct messages")]
    DmClosed,
    #[error("Discord error: {0}")]
    Discord(#[from] serenity::Error),
    #[error("store error: {0}")]
    Store(#[from] store::StoreError),
    /// The task running the serenity client panicked or was cancelled.
    #[error("the Discord client task failed: {0}")]
    ClientTask(#[from] tokio::task::JoinError),
}

impl BotError {
    /// Sorts a failed DM: closed DMs are expected and handled; anything else
    /// is a real error.
    pub fn from_dm_failure(e: serenity::Error) -> BotError {
        if let serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) = &e
            && response.error.code == DM_CLOSED
        {
            return BotError::DmClosed;
        }
        BotError::Discord(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serenity::http::ErrorResponse;

    async fn http_error(status: u16, body: &str) -> serenity::Error {
        let response = reqwest::Response::from(
            http::Response::builder()
                .status(status)
                .body(body.to_owned())
                .unwrap(),
        );
        serenity::Error::Http(HttpError::UnsuccessfulRequest(
            ErrorResponse::from_response(response, reqwest::Method::POST).await,
        ))
    }

    #[tokio::test]
    async fn closed_dms_are_recognised_by_code() {
        let closed = http_error(
            403,
            r#"{"message":"Cannot send messages to this user","code":50007}"#,
        )
        .await;
        assert!(matches!(
            BotError::from_dm_failure(closed),
            BotError::DmClosed
        ));
        // Same status, other reason: a real error, not "DMs closed".
        let missing_access = http_error(403, r#"{"message":"Missing Access","code":50001}"#).await;
        assert!(matches!(
            BotError::from_dm_failure(missing_access),
            BotError::Discord(_)
        ));
        let server = http_error(500, "oops").await;
        assert!(matches!(
            BotError::from_dm_failure(server),
            BotError::Discord(_)
        ));
    }

    #[tokio::test]
    async fn a_failed_client_task_keeps_its_cause() {
        let task = tokio::spawn(std::future::pending::<()>());
        task.abort();
        let e = BotError::from(task.await.unwrap_err());
        let cause = std::error::Error::source(&e).expect("a source");
        assert!(
            cause
                .downcast_ref::<tokio::task::JoinError>()
                .is_some_and(|j| j.is_cancelled()),
            "{cause:?}"
        );
    }
}
