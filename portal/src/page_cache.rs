//! Finished bodies of the pages people reload most: the guild overview and its
//! JSON. The guild listing hands out the same `Arc<Listing>` until something
//! in it changes, so a body made from that `Arc` (and, for the page, the same
//! header user) is still right, and rendering 50 cards again is wasted work.
//! Bounded by bytes, not entries: pages of big guild lists are large. A page
//! is kept per language: the same listing reads differently in each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use guilds::Listing;
use i18n::Lang;
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
    listing: Arc<Listing>,
    header: Option<HeaderUser>,
    body: Bytes,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<(UserId, Kind), Entry>,
    bytes: usize,
}

pub struct PageCache {
    budget: usize,
    inner: Mutex<Inner>,
}

impl PageCache {
    /// At most `budget` bytes of bodies; zero keeps none.
    pub fn new(budget: usize) -> Self {
        PageCache {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Mutations keep `bytes` in step within one critical section; a
        // panic cannot interrupt them half-way.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
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
        if let Some(e) = self.lock().entries.get(&(user, kind))
            && Arc::ptr_eq(&e.listing, listing)
            && e.header.as_ref() == header
        {
            return Ok(e.body.clone());
        }
        let body = Bytes::from(render()?);
        if body.len() > self.budget {
            return Ok(body);
        }
        let mut inner = self.lock();
        if let Some(old) = inner.entries.remove(&(user, kind)) {
            inner.bytes -= old.body.len();
        }
        if inner.bytes + body.len() > self.budget {
            // First the bodies of listings nobody else holds any more (the
            // guild listing replaced or dropped them), then everything.
            inner
                .entries
                .retain(|_, e| Arc::strong_count(&e.listing) > 1);
            inner.bytes = inner.entries.values().map(|e| e.body.len()).sum();
            if inner.bytes + body.len() > self.budget {
                inner.entries.clear();
                inner.bytes = 0;
            }
        }
        inner.bytes += body.len();
        inner.entries.insert(
            (user, kind),
            Entry {
                listing: listing.clone(),
                header: header.cloned(),
                body: body.clone(),
            },
        );
        Ok(body)
    }

    /// Drops the user's bodies (logout, a new login).
    pub fn forget(&self, user: UserId) {
        let mut inner = self.lock();
        for kind in Kind::ALL {
            if let Some(old) = inner.entries.remove(&(user, kind)) {
                inner.bytes -= old.body.len();
            }
        }
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
        let inner = cache.lock();
        assert!(inner.entries.is_empty(), "every language's page forgotten");
        assert_eq!(inner.bytes, 0);
    }

    #[test]
    fn stays_within_its_budget() {
        let cache = PageCache::new(10);
        let held: Vec<Arc<Listing>> = (0..5).map(|_| listing()).collect();
        for (user, l) in held.iter().enumerate() {
            cache
                .get_or_render(user as UserId, Kind::GuildsJson, l, None, || {
                    Ok("1234".into())
                })
                .unwrap();
            assert!(cache.lock().bytes <= 10);
        }
        let big = cache
            .get_or_render(9, Kind::GuildsJson, &held[0], None, || Ok("x".repeat(11)))
            .unwrap();
        assert_eq!(big.len(), 11, "served, just not kept");
        assert!(cache.lock().bytes <= 10);
        cache.forget(4);
        let inner = cache.lock();
        assert_eq!(
            inner.bytes,
            inner.entries.values().map(|e| e.body.len()).sum::<usize>()
        );
    }
}
