//! The Fluent bundles, built once on first use from the embedded `.ftl`
//! files. A key missing in Korean falls back to English, and one missing in
//! both shows the key itself, so a slip is visible but never an error page;
//! `tests/catalogue.rs` keeps both catalogues complete.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};
use unic_langid::LanguageIdentifier;

use crate::Lang;

/// Arguments of a message: `Args::new()` then `.set("name", value)`.
pub type Args<'a> = FluentArgs<'a>;

macro_rules! ftl {
    ($lang:literal, $file:literal) => {
        (
            $lang,
            $file,
            include_str!(concat!("../locales/", $lang, "/", $file)),
        )
    };
}

/// Every catalogue file: language, file name, source.
pub const FILES: &[(&str, &str, &str)] = &[
    ftl!("en", "site.ftl"),
    ftl!("en", "pages.ftl"),
    ftl!("en", "errors.ftl"),
    ftl!("en", "permissions.ftl"),
    ftl!("en", "manage.ftl"),
    ftl!("en", "bot.ftl"),
    ftl!("ko", "site.ftl"),
    ftl!("ko", "pages.ftl"),
    ftl!("ko", "errors.ftl"),
    ftl!("ko", "permissions.ftl"),
    ftl!("ko", "manage.ftl"),
    ftl!("ko", "bot.ftl"),
];

struct Catalogue {
    en: FluentBundle<FluentResource>,
    ko: FluentBundle<FluentResource>,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| Catalogue {
    en: bundle(Lang::En),
    ko: bundle(Lang::Ko),
});

fn bundle(lang: Lang) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = lang.as_str().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: the pages are
    // left-to-right only, and the marks would end up inside attributes and
    // Discord messages.
    bundle.set_use_isolating(false);
    for (file_lang, _, source) in FILES {
        if *file_lang == lang.as_str() {
            // A syntax error keeps the entries that did parse (the tests
            // refuse any).
            let resource = FluentResource::try_new((*source).to_owned())
                .unwrap_or_else(|(partial, _)| partial);
            // Duplicate keys keep the first (the tests refuse any).
            let _ = bundle.add_resource(resource);
        }
    }
    bundle
}

/// The message `key` in `lang`.
pub fn text(lang: Lang, key: &str) -> String {
    format(lang, key, None)
}

/// The message `key` in `lang`, its `{ $name }`s filled from `args`.
pub fn text_with(lang: Lang, key: &str, args: &Args) -> String {
    format(lang, key, Some(args))
}

fn format(lang: Lang, key: &str, args: Option<&Args>) -> String {
    let catalogue = &*CATALOGUE;
    let own = match lang {
        Lang::En => &catalogue.en,
        Lang::Ko => &catalogue.ko,
    };
    for bundle in [own, &catalogue.en] {
        if let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) {
            let mut errors = Vec::new();
            return bundle
                .format_pattern(pattern, args, &mut errors)
                .into_owned();
        }
    }
    key.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn falls_back_and_fills_arguments() {
        assert_eq!(text(Lang::En, "no-such-key"), "no-such-key");
        let mut args = Args::new();
        args.set("name", "<b>x</b>");
        assert_eq!(
            text_with(Lang::Ko, "avatar-alt", &args),
            "<b>x</b> 님의 프로필 사진"
        );
    }

    #[test]
    fn english_plurals() {
        let mut args = Args::new();
        args.set("seconds", 1);
        assert!(text_with(Lang::En, "error-rate-limited-message", &args).contains("1 second."));
        args.set("seconds", 5);
        assert!(text_with(Lang::En, "error-rate-limited-message", &args).contains("5 seconds."));
        assert!(text_with(Lang::Ko, "error-rate-limited-message", &args).contains("5초"));
    }
}
