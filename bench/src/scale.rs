//! Many users at once: a population of signed-in users seeded straight into
//! the store and the stand-in (a browser login per user would take longer
//! than the measurement), requests spread over them by Zipf popularity.

use std::collections::HashMap;
use std::sync::Arc;

use discord_standin::{FixtureGuild, FixtureUser, StandIn};
use futures::StreamExt;
use rand::Rng;
use settings::Secret;
use store::{OAuthCallback, Store, UserId};

use crate::{AUTH_SECRET, Res, USER_GUILDS};

/// Distinct guilds the seeded users' guilds are drawn from, by popularity:
/// a few huge communities most users are in, a long tail of small ones.
const GUILD_POOL: usize = 20_000;
/// Discord's access token lifetime (a week).
const TOKEN_LIFETIME: i64 = 604_800;
const SCOPES: [&str; 3] = ["identify", "email", "guilds"];

/// One seeded user.
pub struct Seeded {
    pub discord_id: String,
    /// The portal's session cookie value.
    pub session: String,
    /// Their Discord refresh token, to count refreshes at the stand-in.
    pub refresh: String,
}

/// The cumulative distribution of Zipf(s = 1) over `n` ranks.
pub struct Zipf(Vec<f64>);

impl Zipf {
    pub fn new(n: usize) -> Zipf {
        let mut sum = 0.0;
        let mut cdf: Vec<f64> = (1..=n.max(1))
            .map(|k| {
                sum += 1.0 / k as f64;
                sum
            })
            .collect();
        for c in &mut cdf {
            *c /= sum;
        }
        Zipf(cdf)
    }

    /// A rank in `0..n`, rank 0 the most popular.
    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let u: f64 = rng.r#gen();
        self.0.partition_point(|&c| c < u).min(self.0.len() - 1)
    }
}

/// A session token as the portal (and fastapi-users) signs it.
pub fn session_token(user: UserId, lifetime_s: i64) -> Res<String> {
    let claims = serde_json::json!({
        "sub": user.to_string(),
        "aud": ["fastapi-users:auth"],
        "exp": chrono::Utc::now().timestamp() + lifetime_s,
    });
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(AUTH_SECRET.as_bytes()),
    )?)
}

fn pool_guild(rank: usize) -> FixtureGuild {
    let mut g = FixtureGuild::new(
        (1_700_000_000_000_000_000u64 + rank as u64).to_string(),
        format!("Community {rank}"),
    );
    if rank.is_multiple_of(2) {
        g = g.icon(format!("{rank:032x}"));
    }
    g
}

/// Users `first..first + n` (Discord ids from a base no other scenario uses):
/// each in `USER_GUILDS` distinct guilds drawn by Zipf popularity, with a
/// Discord authorization at the stand-in, an account in the store and a
/// session token. `expired` stores their access tokens as already expired,
/// so the portal's first use of each refreshes it.
pub async fn seed(
    store: &Store,
    standin: &StandIn,
    first: u64,
    n: usize,
    expired: bool,
) -> Res<Vec<Seeded>> {
    let popularity = Zipf::new(GUILD_POOL);
    let mut rng = rand::thread_rng();
    let mut fixture_users = Vec::with_capacity(n);
    let mut grants = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let discord_id = (1_800_000_000_000_000_000u64 + first + i).to_string();
        let mut user = FixtureUser::new(&discord_id, format!("user{}", first + i))
            .email(format!("user{}@example.org", first + i), true);
        let mut ranks = Vec::with_capacity(USER_GUILDS as usize);
        while ranks.len() < USER_GUILDS as usize {
            let r = popularity.sample(&mut rng);
            if !ranks.contains(&r) {
                ranks.push(r);
            }
        }
        for (j, r) in ranks.into_iter().enumerate() {
            let g = pool_guild(r);
            user = user.guild(match j % 5 {
                0 => g.owned().permissions(1 << 3),
                1 => g.permissions(1 << 5),
                _ => g.permissions(36_953_089),
            });
        }
        fixture_users.push(user);
        let (access, refresh) = standin.issue_tokens_for(&discord_id, &SCOPES);
        grants.push((discord_id, access, refresh));
    }
    standin.update_fixture(|f| f.users.extend(fixture_users));
    let now = chrono::Utc::now().timestamp();
    let expires_at = if expired {
        now - 10
    } else {
        now + TOKEN_LIFETIME
    };
    let seeded: Vec<Res<Seeded>> = futures::stream::iter(grants)
        .map(|(discord_id, access, refresh)| async move {
            let email = format!("{discord_id}@example.org");
            let (user, _) = store
                .oauth_callback(OAuthCallback {
                    oauth_name: "discord",
                    access_token: &Secret::new(access),
                    account_id: &discord_id,
                    account_email: &email,
                    expires_at: Some(expires_at),
                    refresh_token: Some(&Secret::new(refresh.clone())),
                    associate_by_email: store::AssociateByEmail::Never,
                    is_verified_by_default: false,
                })
                .await?;
            Ok(Seeded {
                session: session_token(user.id, 24 * 3600)?,
                discord_id,
                refresh,
            })
        })
        .buffer_unordered(16)
        .collect()
        .await;
    seeded.into_iter().collect()
}

/// Refresh-token grants the stand-in received, per refresh token presented.
pub fn refreshes(standin: &StandIn) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in standin.requests_to("/api/v10/oauth2/token") {
        let form = r.form();
        if form.get("grant_type").map(String::as_str) == Some("refresh_token")
            && let Some(token) = form.get("refresh_token")
        {
            *counts.entry(token.clone()).or_default() += 1;
        }
    }
    counts
}

/// Per-user request targets for a load run: `(url, session)` by Zipf rank.
pub struct Targets {
    pub urls: Vec<Arc<str>>,
    pub sessions: Vec<Arc<str>>,
    pub zipf: Zipf,
}

impl Targets {
    pub fn new(users: &[Seeded], url: impl Fn(usize) -> String) -> Targets {
        Targets {
            urls: (0..users.len()).map(|i| Arc::from(url(i))).collect(),
            sessions: users
                .iter()
                .map(|u| Arc::from(u.session.as_str()))
                .collect(),
            zipf: Zipf::new(users.len()),
        }
    }

    /// A user by popularity: `(url, session)`.
    pub fn pick(&self) -> (Arc<str>, Arc<str>) {
        let i = self.zipf.sample(&mut rand::thread_rng());
        (self.urls[i].clone(), self.sessions[i].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zipf_favours_the_first_ranks() {
        let z = Zipf::new(1_000);
        let mut rng = rand::thread_rng();
        let mut low = 0;
        for _ in 0..10_000 {
            let r = z.sample(&mut rng);
            assert!(r < 1_000);
            if r < 10 {
                low += 1;
            }
        }
        // H(10)/H(1000) ≈ 39 %.
        assert!((3_000..5_000).contains(&low), "{low}");
    }
}
