//! Cookies the portal sets, with fastapi-users' attributes: HttpOnly, Path=/,
//! SameSite=Lax, Max-Age, and Secure unless `COOKIE_SECURE=false` — the
//! session cookie, the OAuth CSRF cookie and the PKCE verifier cookie, for
//! the browser routes and the JSON API alike.

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use settings::Secret;

use crate::config::SessionConfig;
use crate::error::{IntoInternal, PortalError};
use crate::oauth_state::STATE_LIFETIME_SECONDS;

/// fastapi-users' OAuth CSRF cookie (double-submit with the state's csrftoken).
pub const CSRF_COOKIE: &str = "fastapiusersoauthcsrf";
/// The login's PKCE verifier: only the browser that started the login can
/// finish it, whoever else sees the callback URL.
pub const PKCE_COOKIE: &str = "guildhalloauthpkce";

/// A `Set-Cookie` value. An empty `value` with `max_age` 0 deletes the cookie;
/// browsers ignore a deletion whose attributes differ from the original's, so
/// both go through here.
pub fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> String {
    let mut s = format!("{name}={value}; HttpOnly; Max-Age={max_age}; Path=/; SameSite=lax");
    if secure {
        s.push_str("; Secure");
    }
    s
}

pub fn clear_cookie(name: &str, secure: bool) -> String {
    set_cookie(name, "", 0, secure)
}

fn header(cookie: String) -> Result<HeaderValue, PortalError> {
    // Only a SESSION_COOKIE_NAME with characters unfit for a header fails here.
    HeaderValue::from_str(&cookie).internal("building a Set-Cookie header")
}

/// The session cookie carrying a freshly issued token.
pub fn session_cookie(session: &SessionConfig, token: &Secret) -> Result<HeaderValue, PortalError> {
    header(set_cookie(
        &session.cookie_name,
        token.expose(),
        session.lifetime.as_secs(),
        session.cookie_secure,
    ))
}

/// Deletes the session cookie (logout, a revoked Discord authorization).
pub fn cleared_session_cookie(session: &SessionConfig) -> Result<HeaderValue, PortalError> {
    header(clear_cookie(&session.cookie_name, session.cookie_secure))
}

/// The cookies a login starts with, the CSRF token's and the PKCE
/// verifier's; they live as long as the state.
pub fn login_start_cookies(
    session: &SessionConfig,
    csrftoken: &str,
    code_verifier: &Secret,
) -> Result<HeaderMap, PortalError> {
    let mut headers = HeaderMap::new();
    for (name, value) in [
        (CSRF_COOKIE, csrftoken),
        (PKCE_COOKIE, code_verifier.expose()),
    ] {
        headers.append(
            SET_COOKIE,
            header(set_cookie(
                name,
                value,
                STATE_LIFETIME_SECONDS as u64,
                session.cookie_secure,
            ))?,
        );
    }
    Ok(headers)
}

/// What the callback reads back from the browser that started the login.
#[derive(Clone, Copy, Default)]
pub struct LoginCookies<'a> {
    pub csrftoken: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
}

impl<'a> LoginCookies<'a> {
    pub fn read(headers: &'a HeaderMap) -> Self {
        LoginCookies {
            csrftoken: read_cookie(headers, CSRF_COOKIE),
            code_verifier: read_cookie(headers, PKCE_COOKIE),
        }
    }
}

/// After a login: the session cookie, and the spent CSRF and verifier
/// cookies cleared (fastapi-users leaves its CSRF cookie behind).
pub fn login_cookies(session: &SessionConfig, token: &Secret) -> Result<HeaderMap, PortalError> {
    let mut headers = HeaderMap::new();
    headers.append(SET_COOKIE, session_cookie(session, token)?);
    for spent in [CSRF_COOKIE, PKCE_COOKIE] {
        headers.append(
            SET_COOKIE,
            header(clear_cookie(spent, session.cookie_secure))?,
        );
    }
    Ok(headers)
}

/// The value of cookie `name` in the request, if present and non-empty.
pub fn read_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn attributes_match_fastapi_users() {
        assert_eq!(
            set_cookie("fastapiusersauth", "jwt", 3600, true),
            "fastapiusersauth=jwt; HttpOnly; Max-Age=3600; Path=/; SameSite=lax; Secure"
        );
        assert_eq!(
            clear_cookie("fastapiusersauth", false),
            "fastapiusersauth=; HttpOnly; Max-Age=0; Path=/; SameSite=lax"
        );
    }

    #[test]
    fn reads_among_several() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_static("a=1; fastapiusersauth=tok; b="),
        );
        h.append(COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(read_cookie(&h, "fastapiusersauth"), Some("tok"));
        assert_eq!(read_cookie(&h, "c"), Some("3"));
        assert_eq!(read_cookie(&h, "b"), None);
        assert_eq!(read_cookie(&h, "z"), None);
    }
}
