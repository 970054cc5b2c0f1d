//! The language a page speaks, in this order: `?lang=ko|en` (which sets the
//! `guildhall_lang` cookie and redirects to the same address without it),
//! that cookie, the signed-in user's Discord locale when it is Korean, the
//! browser's `Accept-Language`, else English.
//!
//! The middleware reads what the request says before any handler runs; the
//! signed-in user is only known once the session extractor has run, so it
//! drops the user's locale into the same [`RequestLanguage`], and the page
//! (or the error page) asks for the answer when it renders.

use std::convert::Infallible;
use std::sync::{Arc, OnceLock};

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use i18n::Lang;
use serde::Serialize;

use crate::AppState;
use crate::session::cookies::{read_cookie, set_cookie};

/// The cookie `?lang=` sets.
pub const LANG_COOKIE: &str = "guildhall_lang";
/// A year: a choice of language is not something people make often.
const LANG_COOKIE_MAX_AGE: u64 = 365 * 24 * 60 * 60;
/// The query parameter that switches language.
const LANG_PARAM: &str = "lang";

/// What the request says about its language; cheap to clone (one `Arc`).
#[derive(Debug, Clone)]
pub struct RequestLanguage(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    cookie: Option<Lang>,
    accepted: Option<Lang>,
    /// Set by the session check once it knows who is signed in.
    user: OnceLock<Option<Lang>>,
    /// Where the language switch links point, before their `lang=`.
    here: String,
}

/// One entry of the language switch.
#[derive(Debug, Serialize)]
pub struct SwitchLink {
    pub code: &'static str,
    pub href: String,
    pub current: bool,
}

impl RequestLanguage {
    pub fn from_request(method: &Method, uri: &Uri, headers: &HeaderMap) -> Self {
        let cookie = read_cookie(headers, LANG_COOKIE).and_then(|v| v.parse().ok());
        let accepted = headers
            .get_all(header::ACCEPT_LANGUAGE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(i18n::from_accept_language);
        // A switch link on the answer to a form post would GET a POST-only
        // route: it goes to the start page instead.
        let here = if matches!(*method, Method::GET | Method::HEAD) {
            without_lang(uri)
        } else {
            "/".to_owned()
        };
        RequestLanguage(Arc::new(Inner {
            cookie,
            accepted,
            user: OnceLock::new(),
            here,
        }))
    }

    /// The session check found the signed-in user, whose Discord client is
    /// set to `discord_locale`. Only Korean decides: `en-US` is Discord's
    /// default, which says little about what the person reads, so it leaves
    /// the choice to the browser's languages.
    pub fn signed_in(&self, discord_locale: Option<&str>) {
        let lang = discord_locale
            .and_then(Lang::from_tag)
            .filter(|l| *l == Lang::Ko);
        let _ = self.0.user.set(lang);
    }

    /// The page's language.
    pub fn resolve(&self) -> Lang {
        self.0
            .cookie
            .or_else(|| self.0.user.get().copied().flatten())
            .or(self.0.accepted)
            .unwrap_or_default()
    }

    /// The same language for an error page, whose switch links leave out
    /// the query that failed (it may hold a one-time login code, or what
    /// an attacker put in it); the login callbacks' go to the start page.
    pub fn for_error_page(&self) -> RequestLanguage {
        let path = self.0.here.split('?').next().unwrap_or("/");
        let here = if path.starts_with("/discord/callback") {
            "/"
        } else {
            path
        };
        let user = OnceLock::new();
        if let Some(lang) = self.0.user.get() {
            let _ = user.set(*lang);
        }
        RequestLanguage(Arc::new(Inner {
            cookie: self.0.cookie,
            accepted: self.0.accepted,
            user,
            here: here.to_owned(),
        }))
    }

    /// The language switch: every language, linking to this page.
    pub fn switch_links(&self) -> Vec<SwitchLink> {
        let current = self.resolve();
        let sep = if self.0.here.contains('?') { '&' } else { '?' };
        Lang::ALL
            .iter()
            .map(|&l| SwitchLink {
                code: l.as_str(),
                href: format!("{}{sep}{LANG_PARAM}={}", self.0.here, l.as_str()),
                current: l == current,
            })
            .collect()
    }
}

/// Handlers take it like any extractor; it never refuses a request.
impl<S: Send + Sync> FromRequestParts<S> for RequestLanguage {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        Ok(match parts.extensions.get::<RequestLanguage>() {
            Some(lang) => lang.clone(),
            None => RequestLanguage::from_request(&parts.method, &parts.uri, &parts.headers),
        })
    }
}

/// The path and query of `uri` without any `lang=` parameter.
fn without_lang(uri: &Uri) -> String {
    let path = uri.path();
    let Some(query) = uri.query() else {
        return path.to_owned();
    };
    let mut kept = url::form_urlencoded::Serializer::new(String::new());
    let mut any = false;
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if name != LANG_PARAM {
            kept.append_pair(&name, &value);
            any = true;
        }
    }
    if any {
        format!("{path}?{}", kept.finish())
    } else {
        path.to_owned()
    }
}

/// The `lang=` of a query, if it has one (the last one counts).
fn lang_param(uri: &Uri) -> Option<String> {
    url::form_urlencoded::parse(uri.query()?.as_bytes())
        .filter(|(name, _)| name == LANG_PARAM)
        .map(|(_, value)| value.into_owned())
        .last()
}

/// Browser routes: `?lang=` switches (303 to the same address without it);
/// every request gets its [`RequestLanguage`]. The API is left alone.
pub async fn language(State(app): State<AppState>, mut request: Request, next: Next) -> Response {
    let page = !request.uri().path().starts_with("/api/")
        && matches!(*request.method(), Method::GET | Method::HEAD);
    if page && let Some(value) = lang_param(request.uri()) {
        return switch(&app, request.uri(), &value);
    }
    let lang = RequestLanguage::from_request(request.method(), request.uri(), request.headers());
    request.extensions_mut().insert(lang);
    next.run(request).await
}

/// The redirect that takes `?lang=` off the address; with the cookie when
/// the value names a language Guildhall speaks (any other value changes
/// nothing: the page simply stays in its language).
fn switch(app: &AppState, uri: &Uri, value: &str) -> Response {
    let location = without_lang(uri);
    let mut response = StatusCode::SEE_OTHER.into_response();
    // `without_lang` re-encodes what it keeps: always a valid header.
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    if let Ok(lang) = value.parse::<Lang>() {
        let cookie = set_cookie(
            LANG_COOKIE,
            lang.as_str(),
            LANG_COOKIE_MAX_AGE,
            app.config.session.cookie_secure,
        );
        if let Ok(cookie) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, cookie);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(uri: &str, headers: &[(&str, &str)]) -> RequestLanguage {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                axum::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        RequestLanguage::from_request(&Method::GET, &uri.parse().unwrap(), &map)
    }

    #[test]
    fn order_cookie_user_browser_english() {
        let ko_browser = [("accept-language", "ko-KR,ko;q=0.9,en;q=0.8")];
        assert_eq!(request("/", &[]).resolve(), Lang::En);
        assert_eq!(request("/", &ko_browser).resolve(), Lang::Ko);

        let english_cookie = [
            ("accept-language", "ko-KR,ko;q=0.9,en;q=0.8"),
            ("cookie", "a=1; guildhall_lang=en"),
        ];
        let r = request("/", &english_cookie);
        r.signed_in(Some("ko"));
        assert_eq!(r.resolve(), Lang::En, "the cookie beats everything");

        let r = request("/", &[("accept-language", "en")]);
        r.signed_in(Some("ko"));
        assert_eq!(r.resolve(), Lang::Ko, "Discord's ko beats the browser");

        let r = request("/", &ko_browser);
        r.signed_in(Some("en-US"));
        assert_eq!(
            r.resolve(),
            Lang::Ko,
            "Discord's default leaves it to the browser"
        );

        let garbled = [("cookie", "guildhall_lang=fr"), ("accept-language", "ko")];
        assert_eq!(request("/", &garbled).resolve(), Lang::Ko);
    }

    #[test]
    fn switch_links_keep_the_query() {
        let links = request("/?next=%2Fdiscord%2Fguilds&lang=ko", &[]).switch_links();
        assert_eq!(links[0].code, "en");
        assert_eq!(links[0].href, "/?next=%2Fdiscord%2Fguilds&lang=en");
        assert!(links[0].current);
        assert_eq!(links[1].href, "/?next=%2Fdiscord%2Fguilds&lang=ko");
        assert_eq!(
            request("/discord/guilds", &[]).switch_links()[1].href,
            "/discord/guilds?lang=ko"
        );
    }

    #[test]
    fn error_pages_never_repeat_the_query() {
        let r = request("/discord/guilds/1?x=%3Cb%3E", &[("accept-language", "ko")]);
        r.signed_in(Some("ko"));
        let e = r.for_error_page();
        assert_eq!(e.resolve(), Lang::Ko);
        assert_eq!(e.switch_links()[0].href, "/discord/guilds/1?lang=en");
        let callback = request("/discord/callback?code=one-time&state=s", &[]).for_error_page();
        assert_eq!(callback.switch_links()[1].href, "/?lang=ko");
    }

    #[test]
    fn the_parameter_comes_off() {
        let uri: Uri = "/x?a=1&lang=ko&b=%C3%A9+2".parse().unwrap();
        assert_eq!(without_lang(&uri), "/x?a=1&b=%C3%A9+2");
        assert_eq!(lang_param(&uri).as_deref(), Some("ko"));
        let uri: Uri = "/x?lang=en".parse().unwrap();
        assert_eq!(without_lang(&uri), "/x");
        assert_eq!(lang_param(&"/x?a=1".parse().unwrap()), None);
    }
}
