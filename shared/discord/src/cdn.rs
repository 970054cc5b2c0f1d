//! URLs of pictures on Discord's CDN (or the configured stand-in).

use crate::GuildId;

/// A user's avatar; Discord's default avatar when they have none.
/// Animated hashes (`a_…`) get `.gif`.
pub fn avatar_url(
    cdn_url: &str,
    user_id: &str,
    avatar: Option<&str>,
    discriminator: &str,
) -> String {
    match avatar.filter(|h| !h.is_empty()) {
        Some(hash) => format!("{cdn_url}/avatars/{user_id}/{hash}.{}", extension(hash)),
        None => {
            let index = match discriminator.parse::<u64>() {
                // Users still on the legacy #1234 system.
                Ok(d) if d != 0 => d % 5,
                // Migrated users ("0"): derived from the id's timestamp bits.
                _ => (user_id.parse::<u64>().unwrap_or(0) >> 22) % 6,
            };
            format!("{cdn_url}/embed/avatars/{index}.png")
        }
    }
}

/// A guild's icon, or `None` when it has none.
pub fn guild_icon_url(cdn_url: &str, guild_id: GuildId, icon: Option<&str>) -> Option<String> {
    icon.filter(|h| !h.is_empty())
        .map(|hash| format!("{cdn_url}/icons/{guild_id}/{hash}.{}", extension(hash)))
}

fn extension(hash: &str) -> &'static str {
    if hash.starts_with("a_") { "gif" } else { "png" }
}

#[cfg(test)]
mod tests {
    use super::*;
    const CDN: &str = "https://cdn.discordapp.com";

    #[test]
    fn avatars() {
        assert_eq!(
            avatar_url(
                CDN,
                "80351110224678912",
                Some("8342729096ea3675442027381ff50dfe"),
                "0"
            ),
            "https://cdn.discordapp.com/avatars/80351110224678912/8342729096ea3675442027381ff50dfe.png"
        );
        assert_eq!(
            avatar_url(
                CDN,
                "80351110224678912",
                Some("a_d5efa99b3eeaa7dd43acca82f5692432"),
                "0"
            ),
            "https://cdn.discordapp.com/avatars/80351110224678912/a_d5efa99b3eeaa7dd43acca82f5692432.gif"
        );
        // (80351110224678912 >> 22) % 6 == 19157197529 % 6 == 5
        assert_eq!(
            avatar_url(CDN, "80351110224678912", None, "0"),
            "https://cdn.discordapp.com/embed/avatars/5.png"
        );
        assert_eq!(
            avatar_url(CDN, "1", None, "1337"),
            "https://cdn.discordapp.com/embed/avatars/2.png"
        );
    }

    #[test]
    fn icons() {
        assert_eq!(guild_icon_url(CDN, GuildId::new(1), None), None);
        assert_eq!(
            guild_icon_url(CDN, GuildId::new(1), Some("abc")).unwrap(),
            "https://cdn.discordapp.com/icons/1/abc.png"
        );
        assert_eq!(
            guild_icon_url(CDN, GuildId::new(1), Some("a_abc")).unwrap(),
            "https://cdn.discordapp.com/icons/1/a_abc.gif"
        );
    }
}
