//! The stand-in's memory: issued codes and tokens, pending consents, scripted
//! faults and the log of every request received.
//!
//! One `std::sync::Mutex` guards it all. Handlers lock, read or change, and
//! unlock without awaiting in between, so a plain mutex is both enough and
//! simpler to reason about than an async one. A module that needs more state
//! (the gateway, later) adds a field to [`Inner`].

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::RngCore;

use crate::Fixture;
use crate::faults::FaultQueue;

/// Discord's authorization codes live about ten minutes.
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(600);

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path without the query, e.g. `/api/v10/users/@me`.
    pub path: String,
    /// The raw query string, without `?` (empty when there was none).
    pub query: String,
    /// Headers in arrival order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body as text (lossy UTF-8), e.g. the form of a token request.
    pub body: String,
    /// When the request arrived, before any scripted delay.
    pub at: Instant,
    /// The status answered (0 while the request is in flight).
    pub status: u16,
}

impl RecordedRequest {
    /// The first header of that (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body decoded as `application/x-www-form-urlencoded`.
    pub fn form(&self) -> HashMap<String, String> {
        url::form_urlencoded::parse(self.body.as_bytes())
            .into_owned()
            .collect()
    }

    /// One decoded query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// A user's answer-to-be: what the authorize URL asked for.
#[derive(Debug, Clone)]
pub(crate) struct AuthorizeRequest {
    pub user_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
}

/// A consent page shown and not answered yet.
#[derive(Debug, Clone)]
pub(crate) enum PendingConsent {
    Login(AuthorizeRequest),
    BotInvite {
        guild_id: Option<String>,
        permissions: u64,
        redirect_uri: Option<String>,
        state: Option<String>,
    },
}

/// An authorization code waiting to be exchanged.
#[derive(Debug, Clone)]
pub(crate) struct IssuedCode {
    pub request: AuthorizeRequest,
    pub issued: Instant,
}

/// What a token grants.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub user_id: String,
    pub scopes: Vec<String>,
    /// Epoch seconds.
    pub expires_at: i64,
    /// Which authorization it belongs to: revoking one token revokes it all.
    pub authorization: u64,
}

/// Everything the stand-in knows; see the module comment about locking.
pub(crate) struct Inner {
    pub fixture: Fixture,
    /// Consent pages shown and not yet answered, by their hidden id.
    pub pending: HashMap<String, PendingConsent>,
    pub codes: HashMap<String, IssuedCode>,
    pub access: HashMap<String, Grant>,
    pub refresh: HashMap<String, Grant>,
    /// (user, sorted scopes) already approved, so `prompt=none` can skip the page.
    pub approved: HashSet<(String, Vec<String>)>,
    /// Guilds the bot was invited to through the invite page.
    pub bot_guilds: BTreeSet<String>,
    pub faults: FaultQueue,
    pub log: Vec<RecordedRequest>,
    pub next_authorization: u64,
}

/// Cheaply cloneable handle on the stand-in's state; the axum state type of
/// every route.
#[derive(Clone)]
pub(crate) struct Shared(Arc<Mutex<Inner>>);

impl Shared {
    pub fn new(fixture: Fixture) -> Self {
        Shared(Arc::new(Mutex::new(Inner {
            fixture,
            pending: HashMap::new(),
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            approved: HashSet::new(),
            bot_guilds: BTreeSet::new(),
            faults: FaultQueue::default(),
            log: Vec::new(),
            next_authorization: 0,
        })))
    }

    /// Never hold the guard across an `.await`. A panic in another handler
    /// must not take the whole stand-in down, hence the poison recovery.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends to the request log; returns the entry's index for
    /// [`Shared::set_status`].
    pub fn record(&self, request: RecordedRequest) -> usize {
        let mut inner = self.lock();
        inner.log.push(request);
        inner.log.len() - 1
    }

    pub fn set_status(&self, index: usize, status: u16) {
        if let Some(entry) = self.lock().log.get_mut(index) {
            entry.status = status;
        }
    }
}

impl Inner {
    pub fn fixture(&self) -> &Fixture {
        &self.fixture
    }

    /// Issues an access/refresh pair, for a new authorization or (on refresh)
    /// an existing one.
    pub fn issue_tokens(
        &mut self,
        user_id: &str,
        scopes: &[String],
        authorization: Option<u64>,
    ) -> (String, String, i64) {
        let authorization = authorization.unwrap_or_else(|| {
            self.next_authorization += 1;
            self.next_authorization
        });
        let lifetime = self.fixture.access_token_lifetime;
        let grant = Grant {
            user_id: user_id.to_owned(),
            scopes: scopes.to_vec(),
            expires_at: chrono::Utc::now().timestamp() + lifetime,
            authorization,
        };
        let access = random_token(30);
        let refresh = random_token(30);
        self.access.insert(access.clone(), grant.clone());
        self.refresh.insert(refresh.clone(), grant);
        (access, refresh, lifetime)
    }

    pub fn issue_code(&mut self, request: AuthorizeRequest) -> String {
        let mut scopes = request.scopes.clone();
        scopes.sort();
        self.approved.insert((request.user_id.clone(), scopes));
        let code = random_token(30);
        self.codes.insert(
            code.clone(),
            IssuedCode {
                request,
                issued: Instant::now(),
            },
        );
        code
    }

    /// Takes a code out (codes are single-use) if it exists and is fresh.
    pub fn take_code(&mut self, code: &str) -> Option<AuthorizeRequest> {
        let issued = self.codes.remove(code)?;
        (issued.issued.elapsed() < CODE_LIFETIME).then_some(issued.request)
    }

    pub fn revoke_authorization(&mut self, authorization: u64) {
        self.access.retain(|_, g| g.authorization != authorization);
        self.refresh.retain(|_, g| g.authorization != authorization);
    }
}

/// Random lower-case hex, `len` characters — the shape of Discord's tokens
/// matters less than their unpredictability.
pub(crate) fn random_token(len: usize) -> String {
    let mut raw = vec![0u8; len.div_ceil(2)];
    rand::thread_rng().fill_bytes(&mut raw);
    let mut hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    hex.truncate(len);
    hex
}

#[cfg(test)]
mod tests {
    #[test]
    fn random_tokens_have_the_asked_length() {
        assert_eq!(super::random_token(30).len(), 30);
        assert_eq!(super::random_token(7).len(), 7);
        assert_ne!(super::random_token(30), super::random_token(30));
    }
}
