//! The stand-in's authorize page, styled after Discord's: who is asking, for
//! what, and two buttons.

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn scope_text(scope: &str) -> &'static str {
    match scope {
        "identify" => "Access your username, avatar, and banner",
        "email" => "Access your email address",
        "guilds" => "Know what servers you're in",
        "bot" => "Add a bot to a server",
        "applications.commands" => "Create commands in a server",
        _ => "Other access",
    }
}

pub(crate) fn consent(app: &str, user: &str, scopes: &[String], pending_id: &str) -> String {
    let items: String = scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(scope_text(s))))
        .collect();
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Discord | Authorize access to your account</title>
<style>
body{{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:#5865f2;font-family:system-ui,sans-serif;color:#dbdee1}}
main{{background:#313338;border-radius:8px;padding:32px;max-width:420px;width:calc(100% - 32px);box-shadow:0 8px 24px rgba(0,0,0,.3)}}
h1{{color:#fff;font-size:1.3rem;margin:0 0 8px}} p{{margin:0 0 16px}} ul{{padding-left:20px;margin:0 0 24px}}
.note{{font-size:.8rem;color:#949ba4}} .row{{display:flex;gap:12px;justify-content:flex-end}}
button{{font:inherit;border:0;border-radius:4px;padding:10px 20px;cursor:pointer}}
#authorize{{background:#5865f2;color:#fff}} #cancel{{background:transparent;color:#dbdee1}}
</style></head>
<body><main>
<p class="note">Stand-in for Discord — nothing here talks to the real Discord.</p>
<h1>{app} wants to access your account</h1>
<p>Signed in as <strong>{user}</strong></p>
<p>This will allow the developer of {app} to:</p>
<ul>{items}</ul>
<form method="post" action="/oauth2/authorize">
<input type="hidden" name="pending" value="{pending}">
<div class="row">
<button type="submit" name="decision" value="cancel" id="cancel">Cancel</button>
<button type="submit" name="decision" value="authorize" id="authorize">Authorize</button>
</div></form>
</main></body></html>"#,
        app = escape(app),
        user = escape(user),
        pending = escape(pending_id),
    )
}

pub(crate) fn error(message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Discord</title></head><body><h1>Invalid OAuth2 request</h1><p>{}</p></body></html>",
        escape(message)
    )
}
