//! Cost as work grows: the guild page over many distinct users, the store on
//! PostgreSQL and MariaDB, two replicas on one database, and what the
//! portal asks of Discord.

use std::path::Path;
use std::sync::Arc;

use discord_standin::StandIn;
use store::Backend;
use store::testing::TestDatabase;

use crate::scale::{self, Seeded, Targets};
use crate::{
    CONNECTIONS, Portal, Res, Stats, USER_GUILDS, client, get_ok, login, login_as, memory,
    run_load, spawn_portal_with, with_cpu,
};

/// One row of the "cost as work grows" table.
pub struct Growth {
    pub what: String,
    pub users: usize,
    pub replicas: usize,
    pub database: &'static str,
    /// Index into the run's scenarios.
    pub scenario: usize,
    /// Portal VmRSS after the scenario, kB (per replica).
    pub rss_kb: Vec<u64>,
    /// The cache budgets the portal ran with, bytes.
    pub budgets: u64,
}

/// Facts measured beside the load: Discord calls, refreshes, shards.
#[derive(Default)]
pub struct Facts {
    pub lines: Vec<String>,
}

pub struct Sizes {
    pub users: Vec<usize>,
    pub requests: usize,
    pub db_logins: usize,
    pub db_pages: usize,
    pub db_users: usize,
    pub replica_users: usize,
    pub calls_users: usize,
}

impl Sizes {
    pub fn new(quick: bool) -> Sizes {
        if quick {
            Sizes {
                users: vec![100, 1_000],
                requests: 300,
                db_logins: 100,
                db_pages: 300,
                db_users: 50,
                replica_users: 50,
                calls_users: 200,
            }
        } else {
            Sizes {
                users: vec![1_000, 10_000, 100_000],
                requests: 50_000,
                db_logins: 5_000,
                db_pages: 50_000,
                db_users: 2_000,
                replica_users: 1_000,
                calls_users: 2_000,
            }
        }
    }
}

/// The guild-list budget that holds every seeded user's list (28 kB a user
/// in 50 guilds, see shared/guilds/src/cache.rs), at least the default.
fn guild_budget(users: usize) -> u64 {
    (users as u64 * 32 * 1024).max(guilds::DEFAULT_CACHE_MAX_BYTES)
}
const PAGE_BUDGET: u64 = 16 << 20;
const USER_BUDGET: u64 = 16 << 20;

fn budget_env(users: usize) -> Vec<(&'static str, String)> {
    vec![
        ("GUILD_CACHE_MAX_BYTES", guild_budget(users).to_string()),
        ("PAGE_CACHE_MAX_BYTES", PAGE_BUDGET.to_string()),
        ("USER_CACHE_MAX_BYTES", USER_BUDGET.to_string()),
    ]
}

/// Every seeded user's guild JSON once, so their lists are cached.
async fn prefill(base: &str, users: &[Seeded]) -> Res<()> {
    let targets: Arc<Vec<(String, String)>> = Arc::new(
        users
            .iter()
            .map(|u| (format!("{base}/api/v1/discord/guilds"), u.session.clone()))
            .collect(),
    );
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stats = run_load("prefill", "req", users.len(), CONNECTIONS, move |c| {
        let targets = targets.clone();
        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        async move {
            let (url, session) = &targets[i % targets.len()];
            get_ok(&c, url, Some(session)).await
        }
    })
    .await?;
    if stats.failed > 0 {
        return Err(format!(
            "prefill: {} failed, first: {}",
            stats.failed,
            stats.first_error.unwrap_or_default()
        )
        .into());
    }
    Ok(())
}

/// Requests for `/discord/guilds` spread over `targets` by popularity.
async fn zipf_pages(name: String, n: usize, targets: Arc<Targets>) -> Res<Stats> {
    run_load(&name, "req", n, CONNECTIONS, move |c| {
        let (url, session) = targets.pick();
        async move { get_ok(&c, &url, Some(&session)).await }
    })
    .await
}

pub(crate) async fn kill(mut portal: Portal) {
    let _ = portal.child.kill().await;
}

/// The guild page over 1,000 / 10,000 / 100,000 distinct signed-in users,
/// each in 50 guilds, their lists cached, requests Zipf-distributed over
/// them; a fresh portal per size, its RSS after.
pub async fn users_at_scale(
    bins: &Path,
    dir: &Path,
    standin: &StandIn,
    sizes: &Sizes,
    scenarios: &mut Vec<Stats>,
    growth: &mut Vec<Growth>,
) -> Res<()> {
    let db = TestDatabase::create(Backend::Sqlite)
        .await?
        .ok_or("no SQLite")?;
    let store = db.store().await;
    let most = sizes.users.iter().copied().max().unwrap_or(0);
    let users = scale::seed(&store, standin, 0, most, false).await?;
    store.close().await;
    let result = async {
        for &n in &sizes.users {
            let population = &users[..n];
            let (portal, _) =
                spawn_portal_with(bins, dir, standin, &db.url, &budget_env(n), "scale").await?;
            prefill(&portal.url, population).await?;
            standin.clear_requests();
            let base = portal.url.clone();
            let targets = Arc::new(Targets::new(population, |_| {
                format!("{base}/discord/guilds")
            }));
            let name = format!(
                "6. GET /discord/guilds, {n} users × {USER_GUILDS} guilds, Zipf (lists cached)"
            );
            let stats =
                with_cpu(Some(&portal.pid), zipf_pages(name, sizes.requests, targets)).await?;
            let (rss, _) = memory(&portal.pid)?;
            growth.push(Growth {
                what: "Guild page, Zipf over users".into(),
                users: n,
                replicas: 1,
                database: "SQLite",
                scenario: scenarios.len(),
                rss_kb: vec![rss],
                budgets: guild_budget(n) + PAGE_BUDGET + USER_BUDGET,
            });
            scenarios.push(stats);
            kill(portal).await;
        }
        Res::Ok(())
    }
    .await;
    // The seeded users stay in the stand-in's fixture for the later
    // scenarios; their requests' log is not needed.
    standin.clear_requests();
    db.drop_database().await;
    result
}

/// Returning-user logins and the guild page (one user, cached) with the
/// store on PostgreSQL and on MariaDB; SQLite's are scenarios 1 and 4.
pub async fn databases(
    bins: &Path,
    dir: &Path,
    standin: &StandIn,
    sizes: &Sizes,
    scenarios: &mut Vec<Stats>,
    growth: &mut Vec<Growth>,
) -> Res<()> {
    for (backend, label) in [
        (Backend::Postgres, "PostgreSQL"),
        (Backend::MySql, "MariaDB"),
    ] {
        let Some(db) = TestDatabase::create(backend).await? else {
            continue;
        };
        let result = async {
            // Returning users: each has signed in before (seeded), and
            // each login is a different user's, as at a busy portal.
            let store = db.store().await;
            let first = if backend == Backend::Postgres {
                400_000
            } else {
                500_000
            };
            let users = scale::seed(&store, standin, first, sizes.db_users, false).await?;
            store.close().await;
            let ids: Arc<Vec<String>> = Arc::new(users.into_iter().map(|u| u.discord_id).collect());
            let (portal, _) =
                spawn_portal_with(bins, dir, standin, &db.url, &budget_env(1), label).await?;
            let base = Arc::new(portal.url.clone());
            let pid = Some(portal.pid.as_str());
            let login_base = base.clone();
            let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
            let logins = with_cpu(
                pid,
                run_load(
                    &format!("7. Returning-user login (3 hops, distinct users), {label}"),
                    "login",
                    sizes.db_logins,
                    CONNECTIONS,
                    move |c| {
                        let base = login_base.clone();
                        let ids = ids.clone();
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        async move {
                            login_as(&c, &base, Some(&ids[i % ids.len()]))
                                .await
                                .map(drop)
                        }
                    },
                ),
            )
            .await?;
            let setup = client()?;
            let token = Arc::new(login(&setup, &base).await?);
            let url = Arc::new(format!("{base}/discord/guilds"));
            get_ok(&setup, &url, Some(&token)).await?;
            let pages = with_cpu(
                pid,
                run_load(
                    &format!("8. GET /discord/guilds (50 guilds, cached), {label}"),
                    "req",
                    sizes.db_pages,
                    CONNECTIONS,
                    move |c| {
                        let url = url.clone();
                        let token = token.clone();
                        async move { get_ok(&c, &url, Some(&token)).await }
                    },
                ),
            )
            .await?;
            let (rss, _) = memory(&portal.pid)?;
            for (what, stats) in [
                ("Returning-user login", logins),
                ("Guild page, one user", pages),
            ] {
                growth.push(Growth {
                    what: what.into(),
                    users: 1,
                    replicas: 1,
                    database: label,
                    scenario: scenarios.len(),
                    rss_kb: vec![rss],
                    budgets: guild_budget(1) + PAGE_BUDGET + USER_BUDGET,
                });
                scenarios.push(stats);
            }
            kill(portal).await;
            Res::Ok(())
        }
        .await;
        db.drop_database().await;
        result?;
    }
    Ok(())
}

/// Two replicas on one PostgreSQL: every user's stored token has expired,
/// and each user's first requests reach both replicas at once. Every
/// request must be answered, with exactly one refresh per user at Discord.
pub async fn replicas(
    bins: &Path,
    dir: &Path,
    standin: &StandIn,
    sizes: &Sizes,
    scenarios: &mut Vec<Stats>,
    growth: &mut Vec<Growth>,
    facts: &mut Facts,
) -> Res<()> {
    let Some(db) = TestDatabase::create(Backend::Postgres).await? else {
        facts
            .lines
            .push("Two replicas: skipped, PostgreSQL not reachable.".into());
        return Ok(());
    };
    let result = async {
        let store = db.store().await;
        let users = scale::seed(&store, standin, 200_000, sizes.replica_users, true).await?;
        store.close().await;
        let env = budget_env(users.len());
        let (a, _) = spawn_portal_with(bins, dir, standin, &db.url, &env, "replica-a").await?;
        let (b, _) = spawn_portal_with(bins, dir, standin, &db.url, &env, "replica-b").await?;
        standin.clear_requests();
        // Four requests per user, two to each replica, consecutive so that
        // one user's requests are in flight together.
        let plan: Arc<Vec<(String, String)>> = Arc::new(
            users
                .iter()
                .flat_map(|u| {
                    [&a.url, &b.url, &a.url, &b.url]
                        .map(|base| (format!("{base}/api/v1/discord/guilds"), u.session.clone()))
                })
                .collect(),
        );
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let total = plan.len();
        let stats = run_load(
            "9. Two replicas, one PostgreSQL: guild JSON, every token expired",
            "req",
            total,
            CONNECTIONS,
            move |c| {
                let plan = plan.clone();
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                async move {
                    let (url, session) = &plan[i % plan.len()];
                    get_ok(&c, url, Some(session)).await
                }
            },
        )
        .await?;
        let refreshes = scale::refreshes(standin);
        let once = users
            .iter()
            .filter(|u| refreshes.get(&u.refresh) == Some(&1))
            .count();
        let twice = users
            .iter()
            .filter(|u| refreshes.get(&u.refresh).is_some_and(|&n| n > 1))
            .count();
        facts.lines.push(format!(
            "Two replicas on one PostgreSQL, {} users with expired tokens, {} requests: \
             {} answered 200, {} failed; token refreshes at Discord: exactly one for {} users, \
             more than one for {twice}, none for {}.",
            users.len(),
            total,
            stats.ok,
            stats.failed,
            once,
            users.len() - once - twice
        ));
        let mut stats = stats;
        if once != users.len() {
            stats.failed += users.len() - once;
            stats
                .first_error
                .get_or_insert_with(|| "a user's token was not refreshed exactly once".into());
        }
        let rss = vec![memory(&a.pid)?.0, memory(&b.pid)?.0];
        growth.push(Growth {
            what: "Guild JSON, token refresh on first use".into(),
            users: users.len(),
            replicas: 2,
            database: "PostgreSQL",
            scenario: scenarios.len(),
            rss_kb: rss,
            budgets: guild_budget(users.len()) + PAGE_BUDGET + USER_BUDGET,
        });
        scenarios.push(stats);
        kill(a).await;
        kill(b).await;
        Res::Ok(())
    }
    .await;
    db.drop_database().await;
    result
}

/// What the portal asks of Discord at the default TTLs: each user views the
/// guild page several times within a TTL; 10 % of them have revoked the
/// app. Counted at the stand-in.
pub async fn discord_calls(
    bins: &Path,
    dir: &Path,
    standin: &StandIn,
    sizes: &Sizes,
    scenarios: &mut Vec<Stats>,
    facts: &mut Facts,
) -> Res<()> {
    let db = TestDatabase::create(Backend::Sqlite)
        .await?
        .ok_or("no SQLite")?;
    let result = async {
        let store = db.store().await;
        let users = scale::seed(&store, standin, 300_000, sizes.calls_users, false).await?;
        store.close().await;
        let revoked: Vec<&Seeded> = users.iter().step_by(10).collect();
        for u in &revoked {
            standin.revoke_all_tokens_for(&u.discord_id);
        }
        // Default TTLs: the portal's own defaults, nothing set.
        let (portal, _) = spawn_portal_with(
            bins,
            dir,
            standin,
            &db.url,
            &[("GUILD_CACHE_TTL_SECONDS", "60".into())],
            "calls",
        ).await?;
        standin.clear_requests();
        let views_per_user = 5;
        let plan: Arc<Vec<(String, String, bool)>> = Arc::new(
            (0..views_per_user)
                .flat_map(|_| {
                    users.iter().enumerate().map(|(i, u)| {
                        (
                            format!("{}/discord/guilds", portal.url),
                            u.session.clone(),
                            i % 10 == 0,
                        )
                    })
                })
                .collect(),
        );
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let total = plan.len();
        let stats = run_load(
            "10. GET /discord/guilds, 5 views per user within the TTL, 10 % revoked",
            "req",
            total,
            CONNECTIONS,
            move |c| {
                let plan = plan.clone();
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                async move {
                    let (url, session, revoked) = &plan[i % plan.len()];
                    if *revoked {
                        expect_reauth(&c, url, session).await
                    } else {
                        get_ok(&c, url, Some(session)).await
                    }
                }
            },
        )
        .await?;
        let log = standin.requests_to("/api/v10/users/@me/guilds");
        let ok = log.iter().filter(|r| r.status == 200).count();
        let invalid = log
            .iter()
            .filter(|r| matches!(r.status, 401 | 403))
            .count();
        let active = users.len() - revoked.len();
        let per_user = ok as f64 / active as f64;
        let revoked_views = revoked.len() * views_per_user;
        facts.lines.push(format!(
            "Discord calls, {} users × {views_per_user} guild-page views within the default \
             60 s guild-list TTL: {ok} guild-list calls for {active} authorised users ({per_user:.2} \
             per user; at most one per user per TTL, so ≤ 60 per user per hour of continuous \
             use, and one per visit more than a minute apart), {} token refreshes.",
            users.len(),
            scale::refreshes(standin).values().sum::<usize>()
        ));
        facts.lines.push(format!(
            "Revoked authorisations ({} of {} users, each viewing {views_per_user} times with \
             the same cookie): {invalid} invalid (401) requests to Discord for {revoked_views} \
             page views, {:.2} per revoked user. The Discord client remembers a token \
             refused with 401 and never sends it again, and the page sends the user to \
             sign in again: one invalid request per revocation per replica, not per view.",
            revoked.len(),
            users.len(),
            invalid as f64 / revoked.len().max(1) as f64
        ));
        scenarios.push(with_cpu(None, async { Ok(stats) }).await?);
        kill(portal).await;
        Res::Ok(())
    }
    .await;
    db.drop_database().await;
    result
}

/// A revoked user's page: back to sign-in, the session cookie cleared.
async fn expect_reauth(c: &reqwest::Client, url: &str, session: &str) -> Result<(), String> {
    let response = c
        .get(url)
        .header(
            reqwest::header::COOKIE,
            format!("{}={session}", crate::SESSION_COOKIE),
        )
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    let status = response.status();
    let _ = response.bytes().await;
    // The page sends a browser to sign in again (303) with the session
    // cookie cleared; the JSON API answers 401.
    if !matches!(status.as_u16(), 303 | 401) {
        return Err(format!(
            "GET {url} (revoked): status {status}, 303 expected"
        ));
    }
    Ok(())
}
