//! Finished bodies of the pages people reload most: the guild overview and its
//! JSON. The guild listing hands out the same `Arc<Listing>` until something
//! in it changes, so a body made from that `Arc` (and, for the page, the same
//! header user) is still right, and rendering 50 cards again is wasted work.
//! Bounded by bytes (`PAGE_CACHE_MAX_BYTES`), not entries: pages of big guild
//! lists are large. Eviction is moka's TinyLFU (the users seen most keep
//! their pages), without a lock over the whole cache. A page is kept per
//! language: the same listing reads differently in each.

use std::sync::{Arc, Weak};

use axum::body::Bytes;
use guilds::Listing;
use i18n::Lang;
use moka::sync::Cache;
use store::UserId;

use crate::error::PortalError;
use crate::pages::HeaderUser;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    GuildsPage(Lang),
    GuildsJson,
}

impl Kind {
    const ALL: [Kind; 3] = [
        Kind::GuildsPage(Lang::En),
        Kind::GuildsPage(Lang::Ko),
        Kind::GuildsJson,
    ];
}

struct Entry {
    /// Which listing the body was made from. Weak: a page must not keep a
    /// listing's guilds in memory after the guild cache let them go; and
    /// while the weak reference lives, no new listing can take its address.
    listing: Weak<Listing>,
    header: Option<HeaderUser>,
    body: Bytes,
}

impl Entry {
    /// The body and what the cache keeps around it.
    fn weight(&self) -> u32 {
        const PER_ENTRY: usize = 200;
        let header = self
            .header
            .as_ref()
            .map_or(0, |h| h.nickname.len() + h.avatar_url.len());
        u32::try_from(PER_ENTRY + header + self.body.len()).unwrap_or(u32::MAX)
    }
}

pub struct PageCache {
    budget: u64,
    entries: Cache<(UserId, Kind), Arc<Entry>>,
}

impl PageCache {
    /// At most `budget` bytes of bodies; zero keeps none.
    pub fn new(budget: u64) -> Self {
        PageCache {
            budget,
            entries: Cache::builder()
                .max_capacity(budget)
                .weigher(|_, e: &Arc<Entry>| e.weight())
                .build(),
        }
    }

    /// The body `render` makes from `listing` (and `header`), made at most once
    /// per listing.
    pub fn get_or_render(
        &self,
        user: UserId,
        kind: Kind,
        listing: &Arc<Listing>,
        header: Option<&HeaderUser>,
        render: impl FnOnce() -> Result<String, PortalError>,
    ) -> Result<Bytes, PortalError> {
        if let Some(e) = self.entries.get(&(user, kind))
            && std::ptr::eq(e.listing.as_ptr(), Arc::as_ptr(listing))
            && e.header.as_ref() == header
        {
            return Ok(e.body.clone());
        }
        let body = Bytes::from(render()?);
        let entry = Entry {
            listing: Arc::downgrade(listing),
            header: header.cloned(),
            body: body.clone(),
        };
        if u64::from(entry.weight()) <= self.budget {
            self.entries.insert((user, kind), Arc::new(entry));
        }
        Ok(body)
    }

    /// Drops the user's bodies (logout, a new login).
    pub fn forget(&self, user: UserId) {
        for kind in Kind::ALL {
            self.entries.invalidate(&(user, kind));
        }
    }

    /// Entries and their bytes, once pending evictions are done.
    #[cfg(test)]
    fn size(&self) -> (u64, u64) {
        self.entries.run_pending_tasks();
        (self.entries.entry_count(), self.entries.weighted_size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing() -> Arc<Listing> {
        Arc::new(Listing {
            guilds: vec![],
            stale: false,
        })
    }

    fn header(nick: &str) -> HeaderUser {
        HeaderUser {
            nickname: nick.into(),
            avatar_url: "a.png".into(),
        }
    }

    #[test]
    fn renders_once_per_listing_and_header() {
        let cache = PageCache::new(1 << 20);
        let l = listing();
        let mut renders = 0;
        let mut get = |l: &Arc<Listing>, h: &HeaderUser| {
            cache
                .get_or_render(1, Kind::GuildsPage(Lang::En), l, Some(h), || {
                    renders += 1;
                    Ok(format!("{}:{renders}", h.nickname))
                })
                .unwrap()
        };
        assert_eq!(get(&l, &header("a")), "a:1");
        assert_eq!(get(&l, &header("a")), "a:1");
        assert_eq!(get(&l, &header("b")), "b:2", "a new nickname re-renders");
        let equal_but_new = listing();
        assert_eq!(
            get(&equal_but_new, &header("b")),
            "b:3",
            "a new listing re-renders"
        );
    }

    #[test]
    fn stays_within_its_budget() {
        let body = "x".repeat(1_000);
        let one = 200 + 1_000;
        let cache = PageCache::new(one * 10);
        let held: Vec<Arc<Listing>> = (0..500).map(|_| listing()).collect();
        for (user, l) in held.iter().enumerate() {
            cache
                .get_or_render(user as UserId, Kind::GuildsJson, l, None, || {
                    Ok(body.clone())
                })
                .unwrap();
            // A regular, seen on every round.
            cache
                .get_or_render(0, Kind::GuildsJson, &held[0], None, || Ok(body.clone()))
                .unwrap();
        }
        let (entries, bytes) = cache.size();
        assert!(bytes <= one * 10, "{bytes} bytes");
        assert!((1..=10).contains(&entries), "{entries} entries");
        let mut rendered = false;
        cache
            .get_or_render(0, Kind::GuildsJson, &held[0], None, || {
                rendered = true;
                Ok(body.clone())
            })
            .unwrap();
        assert!(!rendered, "the frequently seen user's page stays");

        let big = cache
            .get_or_render(9, Kind::GuildsJson, &held[0], None, || {
                Ok("x".repeat(20_000))
            })
            .unwrap();
        assert_eq!(big.len(), 20_000, "served, just not kept");
        assert!(cache.size().1 <= one * 10);
        cache.forget(0);
        let mut rendered = false;
        cache
            .get_or_render(0, Kind::GuildsJson, &held[0], None, || {
                rendered = true;
                Ok(body.clone())
            })
            .unwrap();
        assert!(rendered, "forgotten");
    }

    #[test]
    fn a_page_does_not_keep_its_listing_alive() {
        let cache = PageCache::new(1 << 20);
        let l = listing();
        cache
            .get_or_render(1, Kind::GuildsJson, &l, None, || Ok("a".into()))
            .unwrap();
        assert_eq!(Arc::strong_count(&l), 1);
    }

    #[test]
    fn a_page_per_language_and_forget_drops_every_one() {
        let cache = PageCache::new(1 << 20);
        let l = listing();
        let h = header("a");
        for lang in Lang::ALL {
            let page = cache
                .get_or_render(1, Kind::GuildsPage(lang), &l, Some(&h), || {
                    Ok(lang.as_str().to_owned())
                })
                .unwrap();
            assert_eq!(page, lang.as_str(), "not the other language's page");
        }
        cache.forget(1);
        assert_eq!(cache.size(), (0, 0), "every language's page forgotten");
    }
}
