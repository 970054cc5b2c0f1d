//! Welcome messages: the guild's text with its placeholders filled, posted
//! where its managers chose, pinging only the newcomer. A refused post is
//! recorded for the settings page; the next one that succeeds clears it.

use serenity::all::{ChannelId, CreateAllowedMentions, CreateMessage, Http, UserId};
use serenity::http::HttpError;
use store::{GuildPreferences, Store};

use crate::guild_facts::GuildFacts;

/// `{user}` → a mention of the newcomer, `{server}` → the guild's name,
/// `{member_count}` → the count including them. Filled in one pass, so a
/// server name containing `{user}` stays text.
pub fn render(template: &str, user_id: u64, facts: &GuildFacts) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let tail = &rest[open..];
        let (value, used) = if tail.starts_with("{user}") {
            (format!("<@{user_id}>"), "{user}".len())
        } else if tail.starts_with("{server}") {
            (facts.name.clone(), "{server}".len())
        } else if tail.starts_with("{member_count}") {
            (facts.member_count.to_string(), "{member_count}".len())
        } else {
            ("{".to_owned(), 1)
        };
        out.push_str(&value);
        rest = &tail[used..];
    }
    out.push_str(rest);
    out
}

/// Where and what to post for a newcomer, if the guild wants a welcome.
pub fn message_for(
    preferences: &GuildPreferences,
    user_id: u64,
    facts: &GuildFacts,
) -> Option<(u64, String)> {
    if !preferences.welcome_enabled {
        return None;
    }
    let channel = preferences.welcome_channel_id?;
    Some((
        channel,
        render(&preferences.welcome_message, user_id, facts),
    ))
}

/// Posts the welcome and records how it went.
pub async fn post(http: &Http, store: &Store, guild: u64, channel: u64, user: u64, text: String) {
    let message = CreateMessage::new()
        .content(text)
        // The newcomer, and nobody else: a welcome text holding @everyone
        // or a role mention stays text.
        .allowed_mentions(CreateAllowedMentions::new().users([UserId::new(user)]));
    let outcome = ChannelId::new(channel).send_message(http, message).await;
    let recorded = match outcome {
        Ok(_) => store.guild_welcome_failure_clear(guild).await,
        Err(e) => {
            let (code, reason) = refusal(&e);
            tracing::warn!(guild, channel, code, error = %e, "welcome message refused");
            store
                .guild_welcome_failure_record(guild, channel, code, &reason)
                .await
        }
    };
    if let Err(e) = recorded {
        tracing::warn!(guild, error = %e, "could not record the welcome message's outcome");
    }
}

/// Discord's JSON error code and message, or 0 and a description when the
/// request failed before Discord answered.
fn refusal(e: &serenity::Error) -> (i64, String) {
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(response)) => {
            (response.error.code as i64, response.error.message.clone())
        }
        other => (0, other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts() -> GuildFacts {
        GuildFacts {
            name: "Tea {user} House".into(),
            member_count: 42,
        }
    }

    #[test]
    fn placeholders_are_filled_once() {
        assert_eq!(
            render(
                "Hi {user}, welcome to {server}! You are #{member_count}.",
                7,
                &facts()
            ),
            "Hi <@7>, welcome to Tea {user} House! You are #42."
        );
        assert_eq!(render("{ {nope} {", 7, &facts()), "{ {nope} {");
        assert_eq!(render("환영해요 {user}", 7, &facts()), "환영해요 <@7>");
    }

    #[test]
    fn only_an_enabled_welcome_with_a_channel_is_posted() {
        let mut p = GuildPreferences::defaults(1);
        assert_eq!(message_for(&p, 7, &facts()), None);
        p.welcome_enabled = true;
        assert_eq!(message_for(&p, 7, &facts()), None, "no channel chosen");
        p.welcome_channel_id = Some(9);
        p.welcome_message = "{user}".into();
        assert_eq!(message_for(&p, 7, &facts()), Some((9, "<@7>".into())));
    }
}
