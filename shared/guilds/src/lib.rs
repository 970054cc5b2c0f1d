//! The guild listing: for a signed-in user, the guilds they are in, what they
//! may do there and whether the bot is present — with their Discord token kept
//! fresh and Discord's answers cached so page reloads don't cost API calls.

mod cache;
mod listing;
mod revalidation;
mod view;

pub use listing::{
    CacheStats, DEFAULT_CACHE_MAX_BYTES, GuildListing, Listing, ListingConfig, ListingError,
    OAUTH_NAME,
};
pub use revalidation::Backoff;
pub use view::GuildView;
