use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use discord::{DiscordClient, DiscordError, GuildId, PartialGuild};
use settings::Secret;
use store::{OAuthAccount, Store, StoreError, TokenUpdate, UserId};
use tracing::Instrument;

use crate::cache::{BuiltView, GuildCache, Lookup};
use crate::revalidation::{Backoff, Revalidations, Start};
use crate::view::{self, GuildView};

/// The `oauth_name` Guildhall's Discord accounts are stored under.
pub const OAUTH_NAME: &str = "discord";

/// The route a guild list comes from: with the user, it keys the list's
/// background refresh and its back-off.
const GUILDS_ROUTE: &str = "GET /users/@me/guilds";

type RefreshKey = (UserId, &'static str);

/// The guild cache's default budget: about 2,400 users in 50 guilds each.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 64 << 20;

#[derive(Debug, Clone)]
pub struct ListingConfig {
    /// `GUILD_CACHE_TTL_SECONDS`; zero turns the cache off.
    pub cache_ttl: Duration,
    /// `GUILD_CACHE_MAX_BYTES`: the most the cached lists (and the views
    /// built from them) may take in memory, estimated.
    pub cache_max_bytes: u64,
    /// `BOT_INVITE_PERMISSIONS`, put in invite links.
    pub invite_permissions: u64,
    /// A token expiring within this margin is refreshed before use.
    pub refresh_margin: Duration,
    /// How long a built view's bot presence is trusted before the store is
    /// asked again. Short, so an invited bot shows on a reload a moment
    /// later; non-zero, so a busy page does not query the store per view.
    /// Zero asks on every view.
    pub presence_ttl: Duration,
    /// Longest one replica holds the shared lease on refreshing an
    /// account's token; past it, another replica may take over. Must exceed
    /// one refresh call (Discord's request timeout and rate-limit wait) plus
    /// storing the new pair, or two replicas could spend one refresh token.
    pub refresh_lease: Duration,
    /// How often a replica waiting for another's refresh looks for the pair
    /// it stores.
    pub refresh_poll: Duration,
    /// How long after a failed refresh of a user's list (Discord 5xx,
    /// timeout, unreachable, rate limited) the next one may be tried.
    pub refresh_backoff: Backoff,
}

impl Default for ListingConfig {
    fn default() -> Self {
        ListingConfig {
            cache_ttl: Duration::from_secs(60),
            cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
            invite_permissions: 0,
            refresh_margin: Duration::from_secs(60),
            presence_ttl: Duration::from_secs(2),
            refresh_lease: Duration::from_secs(30),
            refresh_poll: Duration::from_millis(50),
            refresh_backoff: Backoff::default(),
        }
    }
}

/// A user's guilds, in display order. Shared: while nothing changes, every
/// request for the user gets the same `Arc`, so callers may key their own
/// caches (rendered pages) on its identity.
#[derive(Debug, Clone, PartialEq)]
pub struct Listing {
    pub guilds: Vec<GuildView>,
    /// The list is past its TTL and the last try to get a newer one from
    /// Discord failed: this is the last list it gave.
    pub stale: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    /// The Discord authorization is gone (revoked, refresh refused, or never
    /// linked): the user must sign in with Discord again.
    #[error("the Discord authorization is no longer valid; sign in again")]
    ReauthRequired,
    #[error("Discord is rate limiting these requests; retry in {:.1} s", retry_after.as_secs_f64())]
    RateLimited { retry_after: Duration },
    #[error("Discord is unavailable")]
    Discord(#[source] DiscordError),
    /// Another replica held the refresh lease for longer than a refresh can
    /// take, and it had not expired yet (clocks apart by more than a second).
    #[error("another replica was still refreshing the Discord token after {:.1} s", waited.as_secs_f64())]
    RefreshPending { waited: Duration },
    /// The task refreshing the token panicked or was cancelled.
    #[error("the Discord token refresh did not finish")]
    RefreshTask(#[source] tokio::task::JoinError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ListingError {
    /// The least a back-off after this failure must wait: a rate limit's
    /// own wait, or what is left of an open circuit's.
    fn retry_after(&self) -> Duration {
        match self {
            ListingError::RateLimited { retry_after } => *retry_after,
            ListingError::Discord(DiscordError::Suspended { retry_in, .. }) => *retry_in,
            _ => Duration::ZERO,
        }
    }

    /// Failures for which showing the last known list beats an error page.
    fn allows_stale(&self) -> bool {
        matches!(
            self,
            ListingError::RateLimited { .. }
                | ListingError::Discord(_)
                | ListingError::RefreshPending { .. }
        )
    }
}

impl From<DiscordError> for ListingError {
    fn from(e: DiscordError) -> Self {
        match e {
            DiscordError::Unauthorized | DiscordError::InvalidGrant { .. } => {
                ListingError::ReauthRequired
            }
            DiscordError::RateLimited { retry_after } => ListingError::RateLimited { retry_after },
            other => ListingError::Discord(other),
        }
    }
}

/// The guild listing service; cheap to clone.
#[derive(Clone)]
pub struct GuildListing {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    discord: DiscordClient,
    config: ListingConfig,
    cache: GuildCache,
    /// The same client without its own 5xx retry: background refreshes back
    /// off between attempts instead.
    background: DiscordClient,
    revalidations: Revalidations<RefreshKey>,
    /// One lock per user with a request in flight: concurrent page loads for
    /// one user make one token refresh and one guild fetch between them.
    user_locks: Mutex<HashMap<UserId, Arc<tokio::sync::Mutex<()>>>>,
    hits: AtomicU64,
    misses: AtomicU64,
    stale_served: AtomicU64,
    refreshes: AtomicU64,
    refresh_failures: AtomicU64,
}

/// Cache counters since start-up, for `/metrics`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub hits: u64,
    pub misses: u64,
    /// Lists served past their TTL (while a refresh runs or backs off).
    pub stale_served: u64,
    /// Background refreshes started.
    pub refreshes: u64,
    /// Background refreshes that failed (and made their user back off).
    pub refresh_failures: u64,
}

impl GuildListing {
    pub fn new(store: Store, discord: DiscordClient, config: ListingConfig) -> Self {
        GuildListing {
            inner: Arc::new(Inner {
                cache: GuildCache::new(config.cache_ttl, config.cache_max_bytes),
                store,
                background: discord.without_server_retry(),
                revalidations: Revalidations::new(config.refresh_backoff),
                discord,
                config,
                user_locks: Mutex::new(HashMap::new()),
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
                stale_served: AtomicU64::new(0),
                refreshes: AtomicU64::new(0),
                refresh_failures: AtomicU64::new(0),
            }),
        }
    }

    /// The user's guilds: from the cache within its TTL; past it, the
    /// cached list at once while one background refresh per user gets a new
    /// one (stale-while-revalidate: no request waits on Discord while a list
    /// exists); with no list, from Discord now (refreshing the token first
    /// if it is about to expire). A failed refresh backs off, and while it
    /// does the cached list is served marked stale — or, with none, the
    /// request fails at once with [`DiscordError::Suspended`].
    #[tracing::instrument(skip_all, fields(user = user))]
    pub async fn for_user(&self, user: UserId) -> Result<Arc<Listing>, ListingError> {
        match self.inner.cache.get(user) {
            Lookup::Fresh(guilds) => {
                self.inner.hits.fetch_add(1, Ordering::Relaxed);
                self.current_view(user, &guilds, false).await
            }
            Lookup::Expired(guilds) => {
                self.inner.stale_served.fetch_add(1, Ordering::Relaxed);
                self.revalidate(user);
                let failing = self.inner.revalidations.failing(&(user, GUILDS_ROUTE));
                self.current_view(user, &guilds, failing).await
            }
            Lookup::Missing => {
                self.inner.misses.fetch_add(1, Ordering::Relaxed);
                self.fetch_now(user).await
            }
        }
    }

    /// No cached list: the request waits for Discord, unless this user's
    /// refreshes are backing off.
    async fn fetch_now(&self, user: UserId) -> Result<Arc<Listing>, ListingError> {
        let key = (user, GUILDS_ROUTE);
        let suspended = |retry_in| {
            ListingError::Discord(DiscordError::Suspended {
                route: GUILDS_ROUTE,
                retry_in,
            })
        };
        if let Some(retry_in) = self.inner.revalidations.backing_off(&key) {
            return Err(suspended(retry_in));
        }
        let fetched = self
            .with_user_lock(user, async {
                // Someone holding the lock before us may have filled the
                // cache, or failed to just now.
                if let Lookup::Fresh(guilds) = self.inner.cache.get(user) {
                    return Ok(guilds);
                }
                if let Some(retry_in) = self.inner.revalidations.backing_off(&key) {
                    return Err(suspended(retry_in));
                }
                let token = self.fresh_token_locked(user).await?;
                let guilds = Arc::new(self.inner.discord.current_user_guilds(&token).await?);
                self.inner.cache.put(user, guilds.clone());
                Ok(guilds)
            })
            .await;
        match fetched {
            Ok(guilds) => {
                self.inner.revalidations.succeeded(&key);
                self.current_view(user, &guilds, false).await
            }
            Err(ListingError::ReauthRequired) => {
                self.inner.cache.forget(user);
                Err(ListingError::ReauthRequired)
            }
            Err(e) if e.allows_stale() => {
                // Discord down: back off. A rate limit is the limiter's to
                // wait out (it answers "rate limited" without a call).
                if let ListingError::Discord(d) = &e
                    && !matches!(d, DiscordError::Suspended { .. })
                {
                    self.inner.revalidations.failed(&key, e.retry_after());
                }
                // A list may have arrived meanwhile (a background refresh).
                match self.inner.cache.get(user) {
                    Lookup::Fresh(guilds) | Lookup::Expired(guilds) => {
                        self.inner.stale_served.fetch_add(1, Ordering::Relaxed);
                        self.current_view(user, &guilds, true).await
                    }
                    Lookup::Missing => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Starts the background refresh of the user's list, unless one is
    /// running or the last one failed too recently.
    fn revalidate(&self, user: UserId) {
        let key = (user, GUILDS_ROUTE);
        if self.inner.revalidations.start(&key) != Start::Run {
            return;
        }
        self.inner.refreshes.fetch_add(1, Ordering::Relaxed);
        let listing = self.clone();
        let span = tracing::info_span!("guild list refresh", user);
        tokio::spawn(listing.refresh_in_background(user).instrument(span));
    }

    async fn refresh_in_background(self, user: UserId) {
        let key = (user, GUILDS_ROUTE);
        // Frees the refresh slot should this task be cancelled (runtime
        // shutting down) before it has an outcome.
        let slot = Slot {
            listing: &self,
            key,
            done: false,
        };
        let result = self
            .with_user_lock(user, async {
                // A request without a list may have fetched one meanwhile.
                if let Lookup::Fresh(_) = self.inner.cache.get(user) {
                    return Ok(());
                }
                let token = self.fresh_token_locked(user).await?;
                let guilds = self.inner.background.current_user_guilds(&token).await?;
                self.inner.cache.put(user, Arc::new(guilds));
                Ok(())
            })
            .await;
        slot.finish();
        let revalidations = &self.inner.revalidations;
        match result {
            Ok(()) => revalidations.succeeded(&key),
            Err(ListingError::ReauthRequired) => {
                // The next request finds no list and answers "sign in again".
                self.inner.cache.forget(user);
                revalidations.succeeded(&key);
            }
            Err(e) => {
                self.inner.refresh_failures.fetch_add(1, Ordering::Relaxed);
                let first = !revalidations.failing(&key);
                let wait = revalidations.failed(&key, e.retry_after());
                let retry_in_ms = wait.as_millis() as u64;
                let error = &e as &dyn std::error::Error;
                // Once per user and outage, not per back-off step; an open
                // circuit says so in its own log line.
                let suspended = matches!(e, ListingError::Discord(DiscordError::Suspended { .. }));
                if first && !suspended {
                    tracing::warn!(
                        user,
                        error,
                        retry_in_ms,
                        "could not refresh the guild list; serving the cached one while retrying"
                    );
                } else {
                    tracing::debug!(user, error, retry_in_ms, "guild list refresh failed again");
                }
            }
        }
    }

    /// One guild of the user's, or `None` when they are not in it.
    pub async fn guild(
        &self,
        user: UserId,
        guild_id: GuildId,
    ) -> Result<Option<(GuildView, bool)>, ListingError> {
        let listing = self.for_user(user).await?;
        Ok(listing
            .guilds
            .iter()
            .find(|g| g.id == guild_id)
            .map(|g| (g.clone(), listing.stale)))
    }

    /// One guild of the user's as Discord described it less than `max_age`
    /// ago — fetched again otherwise, never the stale fallback — with the
    /// bot's presence read from the store now. For permission checks on
    /// writes: a user who lost Manage Server in Discord is refused within
    /// `max_age`, whatever the page cache's TTL. `None` when the user is not
    /// in the guild.
    #[tracing::instrument(skip_all, fields(user = user, guild = %guild_id))]
    pub async fn guild_checked(
        &self,
        user: UserId,
        guild_id: GuildId,
        max_age: Duration,
    ) -> Result<Option<GuildView>, ListingError> {
        let guilds = match self.inner.cache.get_within(user, max_age) {
            Some(guilds) => guilds,
            None => {
                let fetched = self
                    .with_user_lock(user, async {
                        // A request holding the lock before us may have fetched.
                        if let Some(guilds) = self.inner.cache.get_within(user, max_age) {
                            return Ok(guilds);
                        }
                        let token = self.fresh_token_locked(user).await?;
                        let guilds =
                            Arc::new(self.inner.discord.current_user_guilds(&token).await?);
                        self.inner.cache.put(user, guilds.clone());
                        Ok(guilds)
                    })
                    .await;
                if let Err(ListingError::ReauthRequired) = &fetched {
                    self.inner.cache.forget(user);
                }
                fetched?
            }
        };
        let Some(guild) = guilds.iter().find(|g| g.id == guild_id) else {
            return Ok(None);
        };
        let present = self
            .inner
            .store
            .bot_guilds_present(&[guild_id.get()])
            .await?
            .contains(&guild_id.get());
        let discord = &self.inner.discord;
        let perms = self.inner.config.invite_permissions;
        Ok(Some(GuildView::build(
            guild,
            present,
            discord.config().cdn_url.as_str(),
            |id| discord.bot_invite_url(id, perms),
        )))
    }

    /// A usable access token for the user, refreshed if it is about to expire.
    pub async fn access_token(&self, user: UserId) -> Result<Secret, ListingError> {
        self.with_user_lock(user, self.fresh_token_locked(user))
            .await
    }

    pub fn cache_stats(&self) -> CacheStats {
        CacheStats {
            hits: self.inner.hits.load(Ordering::Relaxed),
            misses: self.inner.misses.load(Ordering::Relaxed),
            stale_served: self.inner.stale_served.load(Ordering::Relaxed),
            refreshes: self.inner.refreshes.load(Ordering::Relaxed),
            refresh_failures: self.inner.refresh_failures.load(Ordering::Relaxed),
        }
    }

    /// Drops the user's cached list and any back-off of its refreshes
    /// (after a new login, or logout).
    pub fn invalidate(&self, user: UserId) {
        self.inner.cache.forget(user);
        self.inner.revalidations.succeeded(&(user, GUILDS_ROUTE));
    }

    async fn with_user_lock<T>(
        &self,
        user: UserId,
        work: impl Future<Output = Result<T, ListingError>>,
    ) -> Result<T, ListingError> {
        let lock = {
            let mut locks = self.locks();
            locks.entry(user).or_default().clone()
        };
        let result = {
            let _guard = lock.lock().await;
            work.await
        };
        // Forget the lock once nobody else waits on it, so the map stays as
        // small as the number of users with requests in flight.
        let mut locks = self.locks();
        if Arc::strong_count(&lock) == 2 {
            locks.remove(&user);
        }
        result
    }

    fn locks(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, Arc<tokio::sync::Mutex<()>>>> {
        self.inner
            .user_locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// Must run under the user's lock: Discord refresh tokens are single-use,
    /// so two concurrent refreshes would log the user out. The lock keeps
    /// this replica's requests to one refresher, which alone asks the
    /// database; the refresh lease there keeps the other replicas out.
    #[tracing::instrument(skip_all, fields(user = user))]
    async fn fresh_token_locked(&self, user: UserId) -> Result<Secret, ListingError> {
        let config = &self.inner.config;
        let waiting_since = Instant::now();
        // A lease lasts `refresh_lease`: by then its holder has stored the
        // new pair, or its lease has expired and is ours to take. The second
        // allows for the replicas' clocks differing a little.
        let deadline = waiting_since + config.refresh_lease + Duration::from_secs(1);
        let mut announced = false;
        loop {
            let account = self.account(user).await?;
            if !self.expiring(&account) {
                return Ok(account.access_token);
            }
            if account.refresh_token.is_none() {
                return Err(ListingError::ReauthRequired);
            }
            let holder = lease_holder();
            let now_ms = Utc::now().timestamp_millis();
            let leased = self
                .inner
                .store
                .take_refresh_lease(account.id, &holder, now_ms, config.refresh_lease)
                .await?;
            if leased {
                // Its own task: once the refresh token is spent, the new pair
                // must be stored even if the request that asked goes away.
                let listing = self.clone();
                let refresh = listing
                    .refresh_under_lease(user, account.id, holder)
                    .instrument(tracing::Span::current());
                match tokio::spawn(refresh).await {
                    Ok(Ok(Some(token))) => return Ok(token),
                    // The user's account changed meanwhile: start over.
                    Ok(Ok(None)) => continue,
                    Ok(Err(e)) => return Err(e),
                    Err(e) => return Err(ListingError::RefreshTask(e)),
                }
            }
            if Instant::now() >= deadline {
                return Err(ListingError::RefreshPending {
                    waited: waiting_since.elapsed(),
                });
            }
            if !announced {
                tracing::debug!(
                    user,
                    "another replica is refreshing the Discord token; waiting for it"
                );
                announced = true;
            }
            tokio::time::sleep(config.refresh_poll).await;
        }
    }

    /// Refreshes account row `account_row` while `holder` holds its lease,
    /// then lets the lease go. `None` when the user's account is no longer
    /// that row.
    async fn refresh_under_lease(
        self,
        user: UserId,
        account_row: i32,
        holder: String,
    ) -> Result<Option<Secret>, ListingError> {
        let result = self.refresh_leased(user, account_row).await;
        if let Err(e) = self
            .inner
            .store
            .release_refresh_lease(account_row, &holder)
            .await
        {
            // Harmless but slow: other replicas wait for the lease to expire.
            tracing::warn!(
                user,
                error = &e as &dyn std::error::Error,
                "could not release the token refresh lease; it expires by itself"
            );
        }
        result
    }

    async fn refresh_leased(
        &self,
        user: UserId,
        account_row: i32,
    ) -> Result<Option<Secret>, ListingError> {
        // Read again under the lease: the previous holder may have stored a
        // new pair between our first read and our taking the lease, and the
        // refresh token we read then is spent.
        let account = self.account(user).await?;
        if account.id != account_row {
            return Ok(None);
        }
        if !self.expiring(&account) {
            return Ok(Some(account.access_token));
        }
        let Some(refresh) = account.refresh_token.clone() else {
            return Err(ListingError::ReauthRequired);
        };
        match self.inner.discord.refresh_token(&refresh).await {
            Ok(token) => {
                let update = TokenUpdate {
                    access_token: token.access_token.clone(),
                    expires_at: token.expires_at,
                    // Discord always rotates; keep the old one if a provider does not.
                    refresh_token: token.refresh_token.or(Some(refresh)),
                };
                self.inner.store.update_tokens(account.id, &update).await?;
                tracing::info!(user, "refreshed the Discord access token");
                Ok(Some(token.access_token))
            }
            Err(DiscordError::InvalidGrant { .. }) => {
                // Nobody else spends the token while we hold the lease —
                // except a replica of an older version, which takes none: if
                // it stored a new pair meanwhile, that pair is good.
                let reread = self.account(user).await?;
                if reread.access_token != account.access_token && !self.expiring(&reread) {
                    Ok(Some(reread.access_token))
                } else {
                    Err(ListingError::ReauthRequired)
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn account(&self, user: UserId) -> Result<OAuthAccount, ListingError> {
        self.inner
            .store
            .oauth_account_for_user(user, OAUTH_NAME)
            .await?
            .ok_or(ListingError::ReauthRequired)
    }

    fn expiring(&self, account: &OAuthAccount) -> bool {
        let margin = self.inner.config.refresh_margin.as_secs() as i64;
        account
            .expires_at
            .is_some_and(|at| at - Utc::now().timestamp() <= margin)
    }

    /// The view of `guilds` (the cached list) for `user`, marked `stale` or
    /// not: the one built last while its presence is younger than the
    /// presence TTL; after that, the same `Arc` again if the bot's presence
    /// did not change. A stale list is served as cheaply as a fresh one.
    async fn current_view(
        &self,
        user: UserId,
        guilds: &Arc<Vec<PartialGuild>>,
        stale: bool,
    ) -> Result<Arc<Listing>, ListingError> {
        let previous = self
            .inner
            .cache
            .view(user, guilds)
            .filter(|built| built.listing.stale == stale);
        if let Some(built) = &previous
            && built.checked.elapsed() < self.inner.config.presence_ttl
        {
            return Ok(built.listing.clone());
        }
        let present = self.presence(guilds).await?;
        let listing = match previous {
            Some(built) if *built.present == *present => built.listing,
            _ => Arc::new(self.build(guilds, &present, stale)),
        };
        self.inner.cache.put_view(
            user,
            guilds,
            BuiltView {
                listing: listing.clone(),
                present: present.into(),
                checked: Instant::now(),
            },
        );
        Ok(listing)
    }

    /// Which of `guilds` the bot is in, sorted. Read from the store, which
    /// the bot keeps: the portal never learns of joins any other way.
    async fn presence(&self, guilds: &[PartialGuild]) -> Result<Vec<u64>, ListingError> {
        let ids: Vec<u64> = guilds.iter().map(|g| g.id.get()).collect();
        let mut present: Vec<u64> = self
            .inner
            .store
            .bot_guilds_present(&ids)
            .await?
            .into_iter()
            .collect();
        present.sort_unstable();
        Ok(present)
    }

    fn build(&self, guilds: &[PartialGuild], present: &[u64], stale: bool) -> Listing {
        let discord = &self.inner.discord;
        let cdn = discord.config().cdn_url.as_str();
        let perms = self.inner.config.invite_permissions;
        let mut views: Vec<GuildView> = guilds
            .iter()
            .map(|g| {
                let in_guild = present.binary_search(&g.id.get()).is_ok();
                GuildView::build(g, in_guild, cdn, |id| discord.bot_invite_url(id, perms))
            })
            .collect();
        view::sort(&mut views);
        Listing {
            guilds: views,
            stale,
        }
    }
}

/// A fresh name for one attempt at the refresh lease: the lease is released
/// only by the attempt that took it.
fn lease_holder() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The claim on a user's refresh, given back if its task ends without an
/// outcome.
struct Slot<'a> {
    listing: &'a GuildListing,
    key: RefreshKey,
    done: bool,
}

impl Slot<'_> {
    fn finish(mut self) {
        self.done = true;
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.listing.inner.revalidations.abandoned(&self.key);
        }
    }
}
