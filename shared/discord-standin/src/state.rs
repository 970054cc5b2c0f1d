//! The stand-in's memory: issued codes and tokens, pending consents, scripted
//! faults and the log of every request received.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use rand::RngCore;

use crate::{Fault, Fixture};

/// One request as the stand-in received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    /// Lower-cased header names.
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub at: Instant,
    /// The status answered (0 while the request is in flight).
    pub status: u16,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
pub(crate) struct AuthorizeRequest {
    pub user_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub user_id: String,
    pub scopes: Vec<String>,
    /// Epoch seconds.
    pub expires_at: i64,
    /// Which authorization it belongs to: revoking one token revokes it all.
    pub authorization: u64,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub fixture: Option<Fixture>,
    /// Consent pages shown and not yet answered.
    pub pending: HashMap<String, AuthorizeRequest>,
    pub codes: HashMap<String, AuthorizeRequest>,
    pub access: HashMap<String, Grant>,
    pub refresh: HashMap<String, Grant>,
    pub faults: HashMap<String, VecDeque<Fault>>,
    pub log: Vec<RecordedRequest>,
    pub next_authorization: u64,
}

#[derive(Clone, Default)]
pub(crate) struct Shared(Arc<Mutex<Inner>>);

impl Shared {
    pub fn new(fixture: Fixture) -> Self {
        let inner = Inner {
            fixture: Some(fixture),
            ..Inner::default()
        };
        Shared(Arc::new(Mutex::new(inner)))
    }

    /// Never held across an await.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Inner {
    pub fn fixture(&self) -> &Fixture {
        // Always set by Shared::new.
        static EMPTY: std::sync::OnceLock<Fixture> = std::sync::OnceLock::new();
        self.fixture
            .as_ref()
            .unwrap_or_else(|| EMPTY.get_or_init(|| Fixture::new("", "")))
    }

    /// Issues an access/refresh pair for one authorization.
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
        let lifetime = self.fixture().access_token_lifetime;
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

    pub fn revoke_authorization(&mut self, authorization: u64) {
        self.access.retain(|_, g| g.authorization != authorization);
        self.refresh.retain(|_, g| g.authorization != authorization);
    }
}

pub(crate) fn random_token(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut raw);
    raw.iter().map(|b| format!("{b:02x}")).collect::<String>()[..bytes].to_owned()
}
