//! Guildhall's words in English and Korean: one Project Fluent catalogue per
//! language (`locales/<lang>/*.ftl`, embedded at build time), the language a
//! request or an interaction asks for, and dates and numbers written the way
//! each language writes them. The portal's pages, its error pages and the
//! bot's replies all take their text from here.

mod accept_language;
mod catalogue;
mod format;
mod lang;
mod message;

pub use accept_language::preferred as from_accept_language;
pub use catalogue::{Args, FILES, text, text_with};
pub use fluent_bundle::FluentValue;
pub use format::{datetime, number};
pub use lang::Lang;
pub use message::{Arg, Message};

/// The catalogue key of a permission's name as Discord shows it
/// (`"Manage Server"` → `permission-manage-server`); `"Owner"` included.
pub fn permission_key(name: &str) -> String {
    let mut key = String::from("permission-");
    for word in name.split_whitespace() {
        if !key.ends_with('-') {
            key.push('-');
        }
        key.extend(word.chars().map(|c| c.to_ascii_lowercase()));
    }
    key
}

#[cfg(test)]
mod tests {
    #[test]
    fn permission_keys() {
        assert_eq!(
            super::permission_key("Manage Server"),
            "permission-manage-server"
        );
        assert_eq!(super::permission_key("Owner"), "permission-owner");
    }
}
