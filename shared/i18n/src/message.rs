//! A message decided now and worded later: a catalogue key and its
//! arguments, for text made where the reader's language is not known yet
//! (a form field's refusal is decided by the parser, shown by the page).

use fluent_bundle::FluentValue;

use crate::{Args, Lang, text_with};

/// One argument of a [`Message`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Text(String),
    /// Numbers stay numbers: Fluent picks plural forms by them.
    Number(i64),
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(s.to_owned())
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(s)
    }
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Number(n)
    }
}

impl From<usize> for Arg {
    fn from(n: usize) -> Self {
        Arg::Number(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub key: &'static str,
    pub args: Vec<(&'static str, Arg)>,
}

impl Message {
    pub fn new(key: &'static str) -> Self {
        Message {
            key,
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl Into<Arg>) -> Self {
        self.args.push((name, value.into()));
        self
    }

    /// The message in `lang`.
    pub fn text(&self, lang: Lang) -> String {
        let mut args = Args::new();
        for (name, value) in &self.args {
            match value {
                Arg::Text(s) => args.set(*name, FluentValue::from(s.as_str())),
                Arg::Number(n) => args.set(*name, FluentValue::from(*n)),
            }
        }
        text_with(lang, self.key, &args)
    }
}
