//! Browser routes: an error becomes an HTML page with the same status, and
//! "not signed in" becomes a redirect to the login page that comes back
//! here. The API (`/api/…`) keeps its JSON.

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::error::{ErrorPage, RequestError};
use crate::language::RequestLanguage;
use crate::pages::render;
use crate::session::cookies;

pub async fn error_pages(State(app): State<AppState>, request: Request, next: Next) -> Response {
    if request.uri().path().starts_with("/api/") {
        return next.run(request).await;
    }
    let here = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    // Set by the `language` middleware just outside this one; the session
    // check fills in the user as the request runs.
    let language = request
        .extensions()
        .get::<RequestLanguage>()
        .cloned()
        .unwrap_or_else(|| {
            RequestLanguage::from_request(request.method(), request.uri(), request.headers())
        });
    // A page can offer to make the same request again only if following a
    // link makes it.
    let repeatable = matches!(*request.method(), Method::GET | Method::HEAD);
    let response = next.run(request).await;
    let Some(RequestError(error)) = response.extensions().get::<RequestError>() else {
        return response;
    };
    let page = error.page();
    if page.to_login {
        return to_login(&app, &page, &here);
    }
    let mut rendered = render_page(&app, &language, page, repeatable);
    // Keep headers the handler set (Retry-After, cleared cookies, the
    // scheme a 401 wants).
    for (name, value) in response.headers() {
        if [
            header::RETRY_AFTER,
            header::SET_COOKIE,
            header::WWW_AUTHENTICATE,
        ]
        .contains(name)
        {
            rendered.headers_mut().append(name.clone(), value.clone());
        }
    }
    rendered
}

/// 303 to the sign-in page, which sends the person back to `here` after
/// login; with the session cookie cleared when its Discord authorization is
/// gone.
fn to_login(app: &AppState, page: &ErrorPage, here: &str) -> Response {
    let mut location = String::from("/?");
    if page.clear_session {
        location.push_str("reauth=1&");
    }
    location.push_str("next=");
    location.extend(url::form_urlencoded::byte_serialize(here.as_bytes()));
    let mut redirect = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    if page.clear_session
        && let Ok(cleared) = cookies::cleared_session_cookie(&app.config.session)
    {
        redirect.headers_mut().append(header::SET_COOKIE, cleared);
    }
    redirect
}

fn render_page(
    app: &AppState,
    language: &RequestLanguage,
    page: ErrorPage,
    repeatable: bool,
) -> Response {
    let language = &language.for_error_page();
    let lang = language.resolve();
    let (action_url, action_label) = match page.status {
        // An empty link is the address the browser is at: the page need not
        // repeat it (a login callback's carries its one-time code).
        _ if page.retry_here && repeatable => ("", "error-try-again"),
        StatusCode::BAD_REQUEST => ("/", "error-back-to-sign-in"),
        _ => ("/discord/guilds", "error-back-to-servers"),
    };
    let ctx = minijinja::context! {
        title => page.title(lang),
        message => page.message(lang),
        code => page.code,
        action_url,
        action_label,
    };
    match render(app, "error.html", language, ctx) {
        Ok(html) => (page.status, html).into_response(),
        // The page about an error must not fail in turn: its title will do.
        Err(_) => (page.status, page.title(lang)).into_response(),
    }
}
