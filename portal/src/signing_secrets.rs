//! Which values may sign sessions and OAuth states. Anyone who knows the
//! secret can sign a session for any user id, so start-up refuses values
//! that are public (the placeholders shipped in `.env.example` and the docs,
//! which an operator may forget to replace), too short to resist guessing,
//! or one character repeated (a value typed to get past a length check).

use settings::{EnvError, Secret};

/// The fewest bytes a signing secret may have: HS256's key is a 256-bit
/// HMAC key.
pub const MIN_BYTES: usize = 32;

/// The one place that lists every placeholder a copy of the configuration
/// may still carry. A test checks that each `replace-with-…`/`change-me-…`
/// value in `.env.example`, README.md and docs/ is here; values that were
/// shipped before stay, since old `.env` files keep them.
pub const KNOWN_PLACEHOLDERS: &[&str] = &[
    // .env.example's AUTH_SECRET until the variable was left empty.
    "replace-with-output-of-openssl-rand-hex-32",
    "replace-with-your-client-secret",
    "replace-with-your-bot-token",
    "change-me-db-password",
];

const EXPECTED: &str = "at least 32 random bytes, e.g. the output of `openssl rand -hex 32`";

/// Why a value cannot sign; never the value itself.
fn weakness(value: &str) -> Option<String> {
    if KNOWN_PLACEHOLDERS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(value))
    {
        return Some("it is a placeholder published in .env.example or the docs".into());
    }
    if value.len() < MIN_BYTES {
        return Some(format!("only {} bytes", value.len()));
    }
    let mut chars = value.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return Some("one character repeated".into());
    }
    None
}

/// Refuses a weak `secret` read from variable `name`.
pub fn check(name: &str, secret: &Secret) -> Result<(), EnvError> {
    match weakness(secret.expose()) {
        None => Ok(()),
        Some(reason) => Err(invalid(name, reason)),
    }
}

/// A comma-separated list of secrets read from `name` (empty entries are
/// skipped), each checked like one on its own.
pub fn check_list(name: &str, list: &Secret) -> Result<Vec<Secret>, EnvError> {
    let mut secrets = Vec::new();
    for (i, entry) in list.expose().split(',').map(str::trim).enumerate() {
        if entry.is_empty() {
            continue;
        }
        if let Some(reason) = weakness(entry) {
            return Err(invalid(name, format!("entry {}: {reason}", i + 1)));
        }
        secrets.push(Secret::new(entry));
    }
    Ok(secrets)
}

fn invalid(name: &str, reason: String) -> EnvError {
    EnvError::Invalid {
        name: name.into(),
        reason,
        expected: EXPECTED.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    const GOOD: &str = "4f1c9a2e7b3d5f8061a2c4e6b8d0f1a3c5e7092b4d6f8a1c3e5b7d9f0a2c4e6b";

    #[test]
    fn weak_values_are_refused_without_being_echoed() {
        assert!(check("AUTH_SECRET", &Secret::new(GOOD)).is_ok());
        for bad in [
            "replace-with-output-of-openssl-rand-hex-32".to_owned(),
            "REPLACE-WITH-OUTPUT-OF-OPENSSL-RAND-HEX-32".to_owned(),
            "short".to_owned(),
            "é".repeat(20),
            "a".repeat(64),
        ] {
            let e = check("OAUTH_STATE_SECRET", &Secret::new(bad.clone()))
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("OAUTH_STATE_SECRET is invalid"), "{e}");
            assert!(e.contains("openssl rand -hex 32"), "{e}");
            assert!(!e.contains(&bad), "{e}");
        }
    }

    #[test]
    fn a_list_skips_empty_entries_and_names_the_weak_one() {
        let list =
            check_list("AUTH_SECRET_PREVIOUS", &Secret::new(format!(" {GOOD} ,, "))).unwrap();
        assert_eq!(list, [Secret::new(GOOD)]);
        let e = check_list(
            "AUTH_SECRET_PREVIOUS",
            &Secret::new(format!("{GOOD},change-me-db-password")),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("AUTH_SECRET_PREVIOUS is invalid: entry 2"),
            "{e}"
        );
    }

    fn project_file(path: &str) -> String {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::read_to_string(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Every `replace-with-…` / `change-me-…` value in `text`.
    fn placeholders_in(text: &str) -> Vec<String> {
        let mut found = Vec::new();
        for prefix in ["replace-with", "change-me"] {
            for (at, _) in text.match_indices(prefix) {
                let value: String = text[at..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                found.push(value);
            }
        }
        found
    }

    #[test]
    fn every_placeholder_in_the_configuration_docs_is_known() {
        let mut files = vec![
            ".env.example".to_owned(),
            "README.md".to_owned(),
            "docker-compose.yml".to_owned(),
        ];
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs");
        for entry in std::fs::read_dir(&docs).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".md") {
                files.push(format!("docs/{name}"));
            }
        }
        let mut seen = 0;
        for file in &files {
            for value in placeholders_in(&project_file(file)) {
                seen += 1;
                assert!(
                    KNOWN_PLACEHOLDERS.contains(&value.as_str()),
                    "{file}: placeholder {value:?} is missing from KNOWN_PLACEHOLDERS"
                );
            }
        }
        assert!(seen > 0, "the scan found the placeholders .env.example has");
    }

    #[test]
    fn env_example_leaves_the_signing_secrets_empty() {
        let example = project_file(".env.example");
        for name in ["AUTH_SECRET", "AUTH_SECRET_PREVIOUS", "OAUTH_STATE_SECRET"] {
            let line = example
                .lines()
                .find(|l| l.starts_with(&format!("{name}=")))
                .unwrap_or_else(|| panic!("{name} is not in .env.example"));
            assert_eq!(line, format!("{name}="), "a shipped value is a public key");
        }
    }
}
