//! Property tests of what parses untrusted input at the edge: the `next`
//! sanitiser, the OAuth state and session token parsers and the callback's
//! `error` check. Whatever arrives, they never panic, never send anyone off
//! the site, and what they issue they read back unchanged. Case counts stay
//! modest: these run on every CI build.

use std::time::Duration;

use portal::next_path::{self, DEFAULT_NEXT};
use portal::oauth_error;
use portal::oauth_state::LoginStateSigner;
use portal::session::token::SessionTokens;
use proptest::prelude::*;

use crate::common::{AUTH_SECRET, secret};

const OTHER_SECRET: &str = "another-secret-0123456789abcdef0123456789";

/// Strings that look like what an attacker puts in `next`: slashes,
/// backslashes, schemes, hosts, encodings, whitespace and control bytes.
fn next_like() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[/\\\\]{0,3}[a-zA-Z0-9:@.%?#&=_\\-\\t\\r\\n ]{0,40}",
        "(https?:|javascript:|//|/\\\\|/%2F|/\\.\\./)[a-z./]{0,20}",
    ]
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // No regression files written into the source tree from CI.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn next_is_this_site_or_the_default(raw in next_like()) {
        let out = next_path::sanitize(Some(&raw));
        prop_assert!(out == raw || out == DEFAULT_NEXT);
        // Resolved the way a browser resolves a Location header, it stays here.
        let base = url::Url::parse("https://portal.example/discord/guilds").unwrap();
        let target = base.join(&out);
        prop_assert!(target.is_ok(), "{out:?}");
        let target = target.unwrap();
        prop_assert_eq!(target.scheme(), "https");
        prop_assert_eq!(target.host_str(), Some("portal.example"));
        prop_assert!(!out.starts_with("/discord/login") && !out.starts_with("/discord/callback"));
    }

    #[test]
    fn the_oauth_error_check_keeps_codes_and_nothing_else(raw in next_like()) {
        let out = oauth_error::checked(&raw);
        prop_assert!(out == raw || out == oauth_error::INVALID_ERROR);
        prop_assert!(!out.is_empty() && out.len() <= 64);
        prop_assert!(out.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
    }
}

proptest! {
    #![proptest_config(config(64))]

    #[test]
    fn a_login_state_round_trips_and_tampering_never_yields_another(
        next in proptest::option::of(next_like()),
        flip in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9_.=-]",
    ) {
        let signer = LoginStateSigner::new(&secret(AUTH_SECRET));
        let new = signer.create(next.clone()).unwrap();
        let verified = signer.verify(&new.state).unwrap();
        prop_assert_eq!(&verified.csrftoken, &new.csrftoken);
        prop_assert_eq!(&verified.next, &next);

        // Another key's state is refused.
        let other = LoginStateSigner::new(&secret(OTHER_SECRET));
        prop_assert!(other.verify(&new.state).is_err());

        // One character changed: refused, or (a change the encoding cannot
        // see) the very same state.
        let mut chars: Vec<char> = new.state.chars().collect();
        let i = flip.index(chars.len());
        chars[i] = replacement.chars().next().unwrap();
        let tampered: String = chars.into_iter().collect();
        if let Ok(v) = signer.verify(&tampered) {
            prop_assert_eq!(v.csrftoken, new.csrftoken);
            prop_assert_eq!(v.next, next);
        }
    }

    #[test]
    fn a_session_token_round_trips_and_garbage_is_refused(
        user in 1..i32::MAX,
        ahead in 60i64..(10 * 365 * 86_400),
        garbage in any::<String>(),
        flip in any::<prop::sample::Index>(),
        replacement in "[A-Za-z0-9_.=-]",
    ) {
        let tokens = SessionTokens::new(&secret(AUTH_SECRET), Duration::from_secs(3600));
        let exp = chrono::Utc::now().timestamp() + ahead;
        let token = tokens.issue_with_exp(user, exp).unwrap();
        let session = tokens.verify_session(token.expose()).unwrap();
        prop_assert_eq!(session.user, user);
        prop_assert_eq!(session.exp, exp);

        let other = SessionTokens::new(&secret(OTHER_SECRET), Duration::from_secs(3600));
        prop_assert!(other.verify(token.expose()).is_err());
        prop_assert!(tokens.verify(&garbage).is_err());

        let mut chars: Vec<char> = token.expose().chars().collect();
        let i = flip.index(chars.len());
        chars[i] = replacement.chars().next().unwrap();
        let tampered: String = chars.into_iter().collect();
        if let Ok(s) = tokens.verify_session(&tampered) {
            prop_assert_eq!((s.user, s.exp), (user, exp));
        }
    }

    #[test]
    fn state_parsing_never_panics_on_jwt_shaped_garbage(
        parts in prop::collection::vec("[A-Za-z0-9_-]{0,60}", 1..5),
    ) {
        let signer = LoginStateSigner::new(&secret(AUTH_SECRET));
        let tokens = SessionTokens::new(&secret(AUTH_SECRET), Duration::from_secs(3600));
        let raw = parts.join(".");
        prop_assert!(signer.verify(&raw).is_err());
        prop_assert!(tokens.verify(&raw).is_err());
    }
}
