//! The portal link `/dashboard` hands out.

use discord::GuildId;

/// `{portal}/discord/login?next=/discord/guilds/{guild}`, or the overview when
/// the command came from a DM. After login the portal lands the person on
/// exactly that page.
pub fn dashboard_link(portal_public_url: &str, guild_id: Option<GuildId>) -> String {
    let next = match guild_id {
        Some(g) => format!("/discord/guilds/{g}"),
        None => "/discord/guilds".to_owned(),
    };
    format!(
        "{}/discord/login?next={}",
        portal_public_url.trim_end_matches('/'),
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guild_and_dm_links() {
        assert_eq!(
            dashboard_link("https://portal.example/", Some(GuildId::new(42))),
            "https://portal.example/discord/login?next=%2Fdiscord%2Fguilds%2F42"
        );
        assert_eq!(
            dashboard_link("http://127.0.0.1:8000", None),
            "http://127.0.0.1:8000/discord/login?next=%2Fdiscord%2Fguilds"
        );
    }
}
