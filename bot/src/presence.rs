//! Which guilds the bot is in, kept in the shared store for the portal.
//!
//! serenity runs each event's handler in its own task, so two events for
//! one guild that arrive together (left and re-invited, joined and removed)
//! may be handled in either order. Knowing the gateway's order would need
//! serenity's guild cache, which keeps every channel and role of every
//! guild (about 20 kB a guild); instead the handler remembers when it last
//! handled an event for each guild, and when a second one comes within
//! [`UNCERTAIN_FOR`] it asks Discord which is true now.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use discord::GuildId;
use store::{Store, StoreError};

/// Events for one guild handled this close together may have been handled
/// out of gateway order. Handlers of one gateway batch run within
/// milliseconds; a person cannot remove and re-invite a bot this fast.
pub const UNCERTAIN_FOR: Duration = Duration::from_secs(2);

/// What a gateway event means for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PresenceChange {
    /// READY: this shard's whole set.
    ReplaceShard { shard: u32, guilds: Vec<GuildId> },
    /// GUILD_CREATE (several, once coalesced).
    Joined { shard: u32, guilds: Vec<GuildId> },
    /// GUILD_DELETE without `unavailable`: the bot left or was removed.
    Left { guild: GuildId },
}

/// The membership change an event (or Discord's answer) says, for a shard.
pub fn change(shard: u32, guild: GuildId, member: bool) -> PresenceChange {
    if member {
        PresenceChange::Joined {
            shard,
            guilds: vec![guild],
        }
    } else {
        PresenceChange::Left { guild }
    }
}

/// GUILD_DELETE: `unavailable: true` is an outage, and must not erase the
/// row; otherwise the bot left or was removed.
pub fn delete_means_left(unavailable: bool) -> bool {
    !unavailable
}

/// When each guild's last join or removal was handled, and which it was.
#[derive(Debug, Default)]
pub struct RecentEvents {
    handled: HashMap<GuildId, (Instant, bool)>,
    /// When entries older than the window were last dropped.
    pruned: Option<Instant>,
}

impl RecentEvents {
    /// Records that a join (`member`) or removal of `guild` is being handled
    /// at `now`. True when another was handled within [`UNCERTAIN_FOR`]:
    /// which of the two came last is then unknown.
    pub fn record(&mut self, guild: GuildId, member: bool, now: Instant) -> bool {
        // Nothing older than the window matters: forget it, at most once per
        // window (right after READY thousands of guilds arrive within one,
        // and rescanning the map for each would find nothing to drop).
        if self
            .pruned
            .is_none_or(|at| now.saturating_duration_since(at) >= UNCERTAIN_FOR)
        {
            self.handled
                .retain(|_, (at, _)| now.saturating_duration_since(*at) < UNCERTAIN_FOR);
            self.pruned = Some(now);
        }
        let previous = self.handled.insert(guild, (now, member));
        previous.is_some_and(|(at, _)| now.saturating_duration_since(at) < UNCERTAIN_FOR)
    }

    /// READY's set for a shard, given the guilds it lists, adjusted by events
    /// handled in the window (READY's own handler may run after them). Also
    /// returns the guilds where such an event contradicts READY's list: which
    /// is newer is unknown, so the caller should ask Discord.
    pub fn ready_set(&self, listed: &[GuildId], now: Instant) -> (Vec<GuildId>, Vec<GuildId>) {
        let mut set: HashSet<GuildId> = listed.iter().copied().collect();
        let listed: HashSet<GuildId> = set.clone();
        let mut disputed = Vec::new();
        for (&guild, &(at, member)) in &self.handled {
            if now.saturating_duration_since(at) >= UNCERTAIN_FOR {
                continue;
            }
            if member != listed.contains(&guild) {
                disputed.push(guild);
            }
            if member {
                set.insert(guild);
            } else {
                set.remove(&guild);
            }
        }
        let mut set: Vec<GuildId> = set.into_iter().collect();
        set.sort_unstable();
        disputed.sort_unstable();
        (set, disputed)
    }
}

/// Folds each run of joins on one shard into one change, keeping the order
/// of everything else: a join and a removal of one guild must not swap.
pub fn coalesce(changes: Vec<PresenceChange>) -> Vec<PresenceChange> {
    let mut out: Vec<PresenceChange> = Vec::with_capacity(changes.len());
    for change in changes {
        if let (
            Some(PresenceChange::Joined { shard, guilds }),
            PresenceChange::Joined {
                shard: next_shard,
                guilds: next,
            },
        ) = (out.last_mut(), &change)
            && *shard == *next_shard
        {
            for guild in next {
                // One statement may not upsert a row twice.
                if !guilds.contains(guild) {
                    guilds.push(*guild);
                }
            }
            continue;
        }
        out.push(change);
    }
    out
}

/// Writes one change; the store keeps guild ids as plain numbers.
pub async fn apply(store: &Store, change: &PresenceChange) -> Result<(), StoreError> {
    let numbers = |guilds: &[GuildId]| guilds.iter().map(|g| g.get()).collect::<Vec<u64>>();
    match change {
        PresenceChange::ReplaceShard { shard, guilds } => {
            store
                .bot_guilds_replace_shard(*shard, &numbers(guilds))
                .await
        }
        PresenceChange::Joined { shard, guilds } => {
            store.bot_guilds_add(*shard, &numbers(guilds)).await
        }
        PresenceChange::Left { guild } => store.bot_guild_remove(guild.get()).await.map(|_| ()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(id: u64) -> GuildId {
        GuildId::new(id)
    }

    #[test]
    fn outages_do_not_remove() {
        assert!(!delete_means_left(true));
        assert!(delete_means_left(false));
        assert_eq!(
            change(3, g(1), true),
            PresenceChange::Joined {
                shard: 3,
                guilds: vec![g(1)]
            }
        );
        assert_eq!(change(3, g(1), false), PresenceChange::Left { guild: g(1) });
    }

    #[test]
    fn coalescing_folds_joins_but_never_reorders() {
        let joined = |shard, guild| change(shard, g(guild), true);
        let left = |guild| change(0, g(guild), false);
        let folded = coalesce(vec![
            joined(0, 1),
            joined(0, 2),
            joined(0, 1),
            joined(1, 3),
            left(2),
            joined(0, 2),
            joined(0, 4),
        ]);
        assert_eq!(
            folded,
            vec![
                PresenceChange::Joined {
                    shard: 0,
                    guilds: vec![g(1), g(2)]
                },
                PresenceChange::Joined {
                    shard: 1,
                    guilds: vec![g(3)]
                },
                PresenceChange::Left { guild: g(2) },
                PresenceChange::Joined {
                    shard: 0,
                    guilds: vec![g(2), g(4)]
                },
            ]
        );
    }

    #[test]
    fn a_second_event_within_the_window_is_uncertain() {
        let t = Instant::now();
        let mut recent = RecentEvents::default();
        assert!(
            !recent.record(g(1), true, t),
            "first event: its meaning stands"
        );
        assert!(recent.record(g(1), false, t + Duration::from_millis(5)));
        assert!(!recent.record(g(2), true, t), "other guilds are unaffected");
        assert!(
            !recent.record(g(1), true, t + UNCERTAIN_FOR * 2),
            "long after: in order"
        );
    }

    #[test]
    fn forgets_what_left_the_window() {
        let t = Instant::now();
        let mut recent = RecentEvents::default();
        for id in 0..200 {
            recent.record(g(id), true, t);
        }
        assert_eq!(recent.handled.len(), 200, "all within the window");
        recent.record(g(999), true, t + UNCERTAIN_FOR * 2);
        assert_eq!(recent.handled.len(), 1, "only the new one is left");
    }

    #[test]
    fn ready_keeps_events_its_handler_was_overtaken_by() {
        let t = Instant::now();
        let mut recent = RecentEvents::default();
        // GUILD_CREATEs of the guilds READY lists agree with it: nothing to ask.
        recent.record(g(1), true, t);
        // Joined just after READY: READY cannot list it.
        recent.record(g(5), true, t);
        // Removed just after READY: READY still lists it.
        recent.record(g(2), false, t);
        // Long ago: READY's word wins.
        recent.record(g(3), false, t - UNCERTAIN_FOR * 2);
        let (set, disputed) = recent.ready_set(&[g(1), g(2), g(3)], t + Duration::from_millis(10));
        assert_eq!(set, [g(1), g(3), g(5)]);
        assert_eq!(disputed, [g(2), g(5)]);
    }
}
