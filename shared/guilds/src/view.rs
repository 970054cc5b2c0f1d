use discord::{GuildId, PartialGuild, Permissions};
use serde::Serialize;

/// One guild as the portal shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuildView {
    /// Serialised as a decimal string, as Discord sends it.
    pub id: GuildId,
    pub name: String,
    pub icon_url: Option<String>,
    pub owner: bool,
    /// Discord's permission integer, as a decimal string like Discord sends it
    /// (JavaScript numbers cannot hold all 64 bits).
    pub permissions: String,
    /// Owner, Administrator or Manage Server.
    pub can_manage: bool,
    pub bot_present: bool,
    /// Only when the user can manage the guild and the bot is absent.
    pub invite_url: Option<String>,
}

impl GuildView {
    pub fn permissions(&self) -> Permissions {
        Permissions::from_bits_retain(self.permissions.parse().unwrap_or(0))
    }

    /// Human names of the permissions, "Owner" first when the user owns it.
    pub fn permission_names(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        if self.owner {
            names.push("Owner");
        }
        names.extend(self.permissions().names());
        names
    }

    pub(crate) fn build(
        guild: &PartialGuild,
        bot_present: bool,
        cdn_url: &str,
        invite_url: impl FnOnce(GuildId) -> String,
    ) -> Self {
        let can_manage = discord::can_manage(guild.owner, guild.permissions);
        GuildView {
            id: guild.id,
            name: guild.name.clone(),
            icon_url: guild.icon_url(cdn_url),
            owner: guild.owner,
            permissions: guild.permissions.bits().to_string(),
            can_manage,
            bot_present,
            invite_url: (can_manage && !bot_present).then(|| invite_url(guild.id)),
        }
    }
}

/// Manageable with the bot, manageable without, the rest; by name within each
/// (case-insensitively, ties broken by id so the order is stable).
pub(crate) fn sort(guilds: &mut [GuildView]) {
    fn rank(g: &GuildView) -> u8 {
        match (g.can_manage, g.bot_present) {
            (true, true) => 0,
            (true, false) => 1,
            _ => 2,
        }
    }
    // Ids compare as text, the order ties have always had.
    guilds.sort_by_cached_key(|g| (rank(g), g.name.to_lowercase(), g.id.to_string()));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guild(id: u64, name: &str, owner: bool, perms: u64) -> PartialGuild {
        PartialGuild {
            id: GuildId::new(id),
            name: name.into(),
            icon: None,
            owner,
            permissions: Permissions::from_bits_retain(perms),
            features: vec![],
        }
    }

    #[test]
    fn manage_rules_and_invite_links() {
        let invite = |id: GuildId| format!("invite:{id}");
        let admin = GuildView::build(&guild(1, "a", false, 1 << 3), false, "cdn", invite);
        assert!(admin.can_manage);
        assert_eq!(admin.invite_url.as_deref(), Some("invite:1"));
        let manage = GuildView::build(&guild(2, "b", false, 1 << 5), true, "cdn", invite);
        assert!(
            manage.can_manage && manage.invite_url.is_none(),
            "bot present: no invite"
        );
        let owner = GuildView::build(&guild(3, "c", true, 0), false, "cdn", invite);
        assert!(owner.can_manage);
        assert_eq!(owner.permission_names()[0], "Owner");
        // Kick+Ban only: not enough, and `contains(ADMIN|MANAGE)` would also say no
        // for an admin without Manage Server — intersects is the rule.
        let member = GuildView::build(
            &guild(4, "d", false, (1 << 1) | (1 << 2)),
            false,
            "cdn",
            invite,
        );
        assert!(!member.can_manage && member.invite_url.is_none());
    }

    #[test]
    fn ordering() {
        let invite = |id: GuildId| format!("invite:{id}");
        let mut gs = vec![
            GuildView::build(&guild(1, "zeta", false, 0), true, "c", invite),
            GuildView::build(&guild(2, "beta", false, 1 << 5), false, "c", invite),
            GuildView::build(&guild(3, "Alpha", false, 1 << 5), false, "c", invite),
            GuildView::build(&guild(4, "omega", true, 0), true, "c", invite),
            GuildView::build(&guild(5, "alpha", false, 0), false, "c", invite),
        ];
        sort(&mut gs);
        let ids: Vec<u64> = gs.iter().map(|g| g.id.get()).collect();
        assert_eq!(ids, [4, 3, 2, 5, 1]);
    }
}
