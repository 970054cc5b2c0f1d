//! The bot's one error type, and what each failure tells the person who ran
//! the command.

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
    #[error("start-up: {0}")]
    Startup(String),
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

/// The ephemeral answer to `/dashboard`.
pub fn reply_for(outcome: &Result<(), BotError>, link: &str) -> String {
    match outcome {
        Ok(()) => "Check your DMs: I sent you a link to the dashboard.".to_owned(),
        Err(BotError::DmClosed) => format!(
            "I couldn't DM you (your DMs are closed), so here is your link — it's only visible to you:\n{link}"
        ),
        Err(_) => "Sorry, something went wrong sending your link. Please try again in a moment."
            .to_owned(),
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

    #[test]
    fn replies() {
        let link = "https://portal/discord/login?next=%2Fdiscord%2Fguilds%2F1";
        assert!(reply_for(&Ok(()), link).contains("Check your DMs"));
        assert!(reply_for(&Err(BotError::DmClosed), link).contains(link));
        let other = reply_for(&Err(BotError::Startup("x".into())), link);
        assert!(other.starts_with("Sorry") && !other.contains(link));
    }
}
