//! Cross-site request forgery on the routes that end sessions: a request
//! authenticated by the session cookie, which the browser attaches on its
//! own, must come from the portal's own pages. Browsers say where a request
//! comes from in `Origin` and `Sec-Fetch-Site`; `SameSite=lax` alone lets a
//! sibling subdomain through, and lets any site's form clear the cookie.
//!
//! A Bearer token is never attached by the browser on its own (a foreign
//! page would need CORS, which the portal does not grant), and when a
//! request carries one the cookie is not read at all: such requests are not
//! checked.

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::ORIGIN;
use axum::http::request::Parts;

use crate::AppState;
use crate::error::PortalError;
use crate::session::current_user::bearer_token;

/// Refuses (403 `CSRF_ORIGIN_MISMATCH`) a cookie-authenticated request from
/// another origin. Put it before the extractors that read the session.
pub struct SameOrigin;

/// The metric and log reason for a refusal here.
pub const REFUSAL: &str = "csrf_origin_mismatch";

impl FromRequestParts<AppState> for SameOrigin {
    type Rejection = PortalError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, PortalError> {
        if bearer_token(parts).is_some() {
            return Ok(SameOrigin);
        }
        let ours = public_origin(&app.config.server.public_url);
        match check(&parts.headers, &ours) {
            Ok(()) => Ok(SameOrigin),
            Err(seen) => {
                app.metrics.refusal(REFUSAL);
                Err(PortalError::CrossOrigin { seen })
            }
        }
    }
}

/// `scheme://host[:port]` of `PORTAL_PUBLIC_URL`, as browsers write `Origin`.
fn public_origin(public_url: &str) -> String {
    url::Url::parse(public_url)
        .map(|u| u.origin().ascii_serialization())
        // The configuration checked the URL at start-up; an unparsable one
        // matches no browser's origin, so every browser request is refused.
        .unwrap_or_default()
}

/// `Err` describes what the request said about where it came from (for the
/// log; attacker-chosen, so cut short and stripped to printable ASCII).
///
/// - `Sec-Fetch-Site: cross-site` or `same-site` (another origin of the same
///   site) is foreign, whatever `Origin` says;
/// - an `Origin` other than ours is foreign;
/// - `Origin: null` is what a browser sends from our own pages too, since
///   they are served with `Referrer-Policy: no-referrer`: accepted only when
///   `Sec-Fetch-Site: same-origin` vouches for it;
/// - neither header: not a browser acting for a page (a script, curl), or a
///   browser too old to send them; accepted, as the browser's own
///   `SameSite=lax` already keeps the cookie off cross-site POSTs there.
fn check(headers: &HeaderMap, ours: &str) -> Result<(), String> {
    let site = headers
        .get("sec-fetch-site")
        .map(|v| v.to_str().unwrap_or("(unreadable)"));
    let origin = headers
        .get(ORIGIN)
        .map(|v| v.to_str().unwrap_or("(unreadable)"));
    let foreign_site = matches!(site, Some("cross-site" | "same-site"));
    let foreign_origin = match origin {
        None => false,
        Some("null") => site != Some("same-origin"),
        Some(o) => !o.eq_ignore_ascii_case(ours) || ours.is_empty(),
    };
    if foreign_site || foreign_origin {
        return Err(format!(
            "Origin: {}, Sec-Fetch-Site: {}",
            printable(origin.unwrap_or("(none)")),
            printable(site.unwrap_or("(none)"))
        ));
    }
    Ok(())
}

fn printable(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(80)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const OURS: &str = "https://guildhall.example";

    fn headers(origin: Option<&str>, site: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(o) = origin {
            h.insert(ORIGIN, HeaderValue::from_str(o).unwrap());
        }
        if let Some(s) = site {
            h.insert("sec-fetch-site", HeaderValue::from_str(s).unwrap());
        }
        h
    }

    #[test]
    fn our_pages_pass() {
        for (origin, site) in [
            (Some(OURS), Some("same-origin")),
            (Some(OURS), None),
            (Some("HTTPS://GUILDHALL.EXAMPLE"), None),
            (Some("null"), Some("same-origin")),
            (None, Some("same-origin")),
            // Typed into the address bar or a bookmark: no page involved.
            (None, Some("none")),
            (None, None),
        ] {
            assert_eq!(
                check(&headers(origin, site), OURS),
                Ok(()),
                "{origin:?} {site:?}"
            );
        }
    }

    #[test]
    fn other_sites_are_refused_and_described() {
        for (origin, site) in [
            (Some("https://evil.example"), None),
            (Some("https://evil.example"), Some("cross-site")),
            (Some("https://sub.guildhall.example"), Some("same-site")),
            (None, Some("cross-site")),
            (None, Some("same-site")),
            (Some(OURS), Some("cross-site")),
            (Some("null"), None),
            (Some("null"), Some("cross-site")),
            (Some("http://guildhall.example"), None),
            (Some("https://guildhall.example:8443"), None),
        ] {
            assert!(
                check(&headers(origin, site), OURS).is_err(),
                "{origin:?} {site:?}"
            );
        }
        let seen = check(&headers(Some("https://evil.example"), None), OURS).unwrap_err();
        assert_eq!(seen, "Origin: https://evil.example, Sec-Fetch-Site: (none)");
        let long = format!("https://{}.example\t", "x".repeat(200));
        let seen = check(&headers(Some(&long), None), OURS).unwrap_err();
        assert!(seen.len() < 130 && !seen.contains('\t'), "{seen}");
    }

    #[test]
    fn the_origin_is_the_public_url_s() {
        assert_eq!(public_origin("https://guildhall.example"), OURS);
        assert_eq!(public_origin("https://guildhall.example:443/portal"), OURS);
        assert_eq!(
            public_origin("http://127.0.0.1:8000"),
            "http://127.0.0.1:8000"
        );
        assert_eq!(public_origin("not a url"), "");
        assert!(check(&headers(Some("null"), None), "").is_err());
    }
}
