//! The stand-in's HTML pages, styled after Discord's: the login consent page,
//! the bot invite page, and plain message pages (errors, "authorized").
//! Self-contained (inline CSS, no scripts) so they render anywhere offline.

/// What the login consent page shows.
pub(crate) struct Consent<'a> {
    pub app: &'a str,
    pub user: &'a str,
    /// Path of the user's avatar on the stand-in's CDN.
    pub avatar_path: &'a str,
    pub scopes: &'a [String],
    pub redirect_uri: &'a str,
    /// The request as Discord's page posts it back; `pending` is the
    /// stand-in's authority, the rest is for people and browser tests.
    pub hidden: &'a [(&'a str, &'a str)],
}

/// What the bot invite page shows.
pub(crate) struct BotInvite<'a> {
    pub app: &'a str,
    pub guild: Option<&'a str>,
    pub permissions: &'a [&'static str],
    pub hidden: &'a [(&'a str, &'a str)],
}

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn scope_text(scope: &str) -> String {
    match scope {
        "identify" => "Access your username, avatar, and banner".into(),
        "email" => "Access your email address".into(),
        "guilds" => "Know what servers you're in".into(),
        "guilds.join" => "Join servers for you".into(),
        "guilds.members.read" => {
            "Read your member info (nickname, avatar, roles) for servers you belong to".into()
        }
        "connections" => "Access your third-party connections".into(),
        "bot" => "Add a bot to a server".into(),
        "applications.commands" => "Create commands".into(),
        other => format!("Use the “{other}” scope"),
    }
}

const STYLE: &str = "body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
background:#5865f2;font-family:system-ui,-apple-system,'Segoe UI',sans-serif;color:#dbdee1}\
main{background:#313338;border-radius:8px;padding:32px;max-width:440px;width:calc(100% - 32px);box-shadow:0 8px 24px rgba(0,0,0,.3)}\
h1{color:#f2f3f5;font-size:1.3rem;margin:0 0 8px;line-height:1.3}p{margin:0 0 16px}\
ul{list-style:none;padding:0;margin:0 0 24px}li{padding:10px 0;border-bottom:1px solid #3f4147}\
li::before{content:'\\2713';color:#23a559;margin-right:10px}\
.who{display:flex;align-items:center;gap:12px;margin-bottom:16px}.who img{width:48px;height:48px;border-radius:50%}\
.note{font-size:.8rem;color:#949ba4}.banner{font-size:.75rem;color:#949ba4;text-align:center;margin:0 0 16px}\
.row{display:flex;gap:12px;justify-content:flex-end}\
button{font:inherit;border:0;border-radius:4px;padding:10px 20px;cursor:pointer}\
#authorize{background:#5865f2;color:#fff}#authorize:hover{background:#4752c4}\
#cancel{background:transparent;color:#dbdee1}#cancel:hover{text-decoration:underline}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head>\n<body><main>\
<p class=\"banner\">Stand-in for Discord — nothing here talks to the real Discord.</p>\n{body}\n</main></body></html>",
        title = escape(title),
    )
}

fn hidden_fields(hidden: &[(&str, &str)]) -> String {
    hidden
        .iter()
        .map(|(k, v)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(k),
                escape(v)
            )
        })
        .collect()
}

/// Authorize and Cancel are real submit buttons of one form (a browser test
/// clicks them by id).
fn buttons(hidden: &[(&str, &str)]) -> String {
    format!(
        "<form method=\"post\" action=\"/oauth2/authorize\">{}<div class=\"row\">\
<button type=\"submit\" name=\"decision\" value=\"cancel\" id=\"cancel\">Cancel</button>\
<button type=\"submit\" name=\"decision\" value=\"authorize\" id=\"authorize\">Authorize</button>\
</div></form>",
        hidden_fields(hidden)
    )
}

pub(crate) fn consent(c: &Consent<'_>) -> String {
    let items: String = c
        .scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(&scope_text(s))))
        .collect();
    let body = format!(
        "<div class=\"who\"><img src=\"{avatar}\" alt=\"\"><div>Signed in as <strong>{user}</strong></div></div>\
<h1>{app} wants to access your account</h1>\
<p>This will allow the developer of {app} to:</p><ul>{items}</ul>\
<p class=\"note\">Once you authorize, you will be redirected outside of Discord to: {redirect}</p>{buttons}",
        avatar = escape(c.avatar_path),
        user = escape(c.user),
        app = escape(c.app),
        redirect = escape(c.redirect_uri),
        buttons = buttons(c.hidden),
    );
    page("Discord | Authorize access to your account", &body)
}

pub(crate) fn bot_invite(b: &BotInvite<'_>) -> String {
    let target = match b.guild {
        Some(name) => format!("<p>Add to server: <strong>{}</strong></p>", escape(name)),
        None => "<p>Add to a server of your choice.</p>".into(),
    };
    let perms = if b.permissions.is_empty() {
        "<li>No special permissions</li>".to_owned()
    } else {
        b.permissions
            .iter()
            .map(|p| format!("<li>{}</li>", escape(p)))
            .collect()
    };
    let body = format!(
        "<h1>{app} wants to join your server</h1>{target}\
<p>This will grant the bot these permissions:</p><ul>{perms}</ul>{buttons}",
        app = escape(b.app),
        buttons = buttons(b.hidden),
    );
    page("Discord | Add a bot to a server", &body)
}

/// A page with a heading and one line: errors and confirmations.
pub(crate) fn message(heading: &str, text: &str) -> String {
    page(
        "Discord",
        &format!("<h1>{}</h1><p>{}</p>", escape(heading), escape(text)),
    )
}

pub(crate) fn error(text: &str) -> String {
    message("Invalid OAuth2 request", text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consent_page_escapes_and_has_buttons() {
        let scopes = vec!["identify".to_owned(), "email".to_owned()];
        let html = consent(&Consent {
            app: "<App>",
            user: "O'Neil & co",
            avatar_path: "/embed/avatars/0.png",
            scopes: &scopes,
            redirect_uri: "http://x/cb",
            hidden: &[("pending", "p\"1")],
        });
        assert!(html.contains("&lt;App&gt; wants to access your account"));
        assert!(html.contains("O&#39;Neil &amp; co"));
        assert!(html.contains("id=\"authorize\"") && html.contains("id=\"cancel\""));
        assert!(html.contains("name=\"pending\" value=\"p&quot;1\""));
        assert!(html.contains("Access your email address"));
    }
}
