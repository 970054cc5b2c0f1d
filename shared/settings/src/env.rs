use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;
use std::time::Duration;

use crate::Secret;

/// Why a configuration variable could not be used. The message always names
/// the variable, so an operator knows what to fix from one log line.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvError {
    #[error("{name} is not set: {hint}")]
    Missing { name: String, hint: String },
    #[error("{name} is invalid: {reason} (expected {expected})")]
    Invalid {
        name: String,
        reason: String,
        expected: String,
    },
}

/// A snapshot of the variables a binary reads. Built from the process
/// environment (after loading `.env`, which never overrides a real variable),
/// or from a map in tests so tests never touch the global environment.
#[derive(Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
}

impl Env {
    /// The process environment, with `.env` from the working directory loaded
    /// first if it exists. A malformed `.env` is reported, not ignored.
    pub fn from_process() -> Result<Self, EnvError> {
        match dotenvy::dotenv() {
            Ok(_) => {}
            Err(e) if e.not_found() => {}
            Err(e) => {
                return Err(EnvError::Invalid {
                    name: ".env".into(),
                    reason: e.to_string(),
                    expected: "KEY=value lines".into(),
                });
            }
        }
        Ok(Self {
            vars: std::env::vars().collect(),
        })
    }

    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.vars.insert(name.to_owned(), value.into());
    }

    /// The raw value; an empty string counts as unset, as in most deployments
    /// `FOO=` in a compose file means "not configured".
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn string(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or(default).to_owned()
    }

    pub fn required(&self, name: &str, hint: &str) -> Result<String, EnvError> {
        self.get(name)
            .map(str::to_owned)
            .ok_or_else(|| EnvError::Missing {
                name: name.into(),
                hint: hint.into(),
            })
    }

    pub fn secret(&self, name: &str) -> Option<Secret> {
        self.get(name).map(Secret::new)
    }

    /// Parses with `FromStr`, falling back to `default` when unset.
    pub fn parse<T>(&self, name: &str, default: T, expected: &str) -> Result<T, EnvError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw.parse().map_err(|e: T::Err| EnvError::Invalid {
                name: name.into(),
                reason: format!("{raw:?}: {e}"),
                expected: expected.into(),
            }),
        }
    }

    pub fn parse_opt<T>(&self, name: &str, expected: &str) -> Result<Option<T>, EnvError>
    where
        T: FromStr,
        T::Err: Display,
    {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => raw
                .parse()
                .map(Some)
                .map_err(|e: T::Err| EnvError::Invalid {
                    name: name.into(),
                    reason: format!("{raw:?}: {e}"),
                    expected: expected.into(),
                }),
        }
    }

    /// A whole number of seconds, `default` when unset.
    pub fn seconds(&self, name: &str, default: Duration) -> Result<Duration, EnvError> {
        self.parse::<u64>(name, default.as_secs(), "a whole number of seconds")
            .map(Duration::from_secs)
    }

    /// Like [`Env::seconds`], refusing zero: a lifetime or timeout of zero
    /// would be a session born expired or a call that fails before it starts.
    pub fn positive_seconds(&self, name: &str, default: Duration) -> Result<Duration, EnvError> {
        let d = self.seconds(name, default)?;
        if d.is_zero() {
            return Err(EnvError::Invalid {
                name: name.into(),
                reason: "0".into(),
                expected: "a positive number of seconds".into(),
            });
        }
        Ok(d)
    }

    /// Booleans as operators write them: true/false, 1/0, yes/no, on/off.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool, EnvError> {
        match self.get(name).map(str::to_ascii_lowercase).as_deref() {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(other) => Err(EnvError::Invalid {
                name: name.into(),
                reason: format!("{other:?} is not a boolean"),
                expected: "true or false".into(),
            }),
        }
    }

    /// An absolute http(s) URL, returned without a trailing slash so callers
    /// can append paths.
    pub fn url(&self, name: &str, default: &str) -> Result<String, EnvError> {
        let raw = self.string(name, default);
        let ok = (raw.starts_with("http://") || raw.starts_with("https://"))
            && raw.len() > "https://".len()
            && !raw.contains(char::is_whitespace);
        if !ok {
            return Err(EnvError::Invalid {
                name: name.into(),
                reason: format!("{raw:?} is not an absolute http(s) URL"),
                expected: "a URL such as https://example.org".into(),
            });
        }
        Ok(raw.trim_end_matches('/').to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_invalid_name_the_variable() {
        let env = Env::from_pairs([("PORT", "eighty"), ("EMPTY", "  ")]);
        let e = env.required("EMPTY", "set it").unwrap_err();
        assert_eq!(e.to_string(), "EMPTY is not set: set it");
        let e = env.parse::<u16>("PORT", 1, "a port number").unwrap_err();
        assert!(
            e.to_string().starts_with("PORT is invalid: \"eighty\""),
            "{e}"
        );
        assert!(e.to_string().ends_with("(expected a port number)"));
    }

    #[test]
    fn flags_and_urls() {
        let env = Env::from_pairs([
            ("A", "No"),
            ("B", "maybe"),
            ("U", "http://x:1/"),
            ("V", "ftp://x"),
        ]);
        assert!(!env.flag("A", true).unwrap());
        assert!(env.flag("B", true).is_err());
        assert!(env.flag("C", true).unwrap());
        assert_eq!(env.url("U", "").unwrap(), "http://x:1");
        assert!(
            env.url("V", "")
                .unwrap_err()
                .to_string()
                .contains("V is invalid")
        );
        assert_eq!(
            env.url("W", "https://d.example/").unwrap(),
            "https://d.example"
        );
    }
}
