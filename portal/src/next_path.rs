//! Where to send someone after login. Only a path on this site is followed;
//! anything that could leave it (`//host`, `/\host`, a scheme, control
//! characters) falls back to the guild overview.

pub const DEFAULT_NEXT: &str = "/discord/guilds";

pub fn sanitize(next: Option<&str>) -> String {
    match next {
        Some(p) if is_local_path(p) => p.to_owned(),
        _ => DEFAULT_NEXT.to_owned(),
    }
}

fn is_local_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && !p.chars().any(|c| c.is_control() || c.is_whitespace())
        && p.len() <= 512
        // Never bounce back into the login machinery.
        && !p.starts_with("/discord/callback")
        && !p.starts_with("/discord/login")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths() {
        for ok in ["/discord/guilds/123", "/", "/x?y=1#z"] {
            assert_eq!(sanitize(Some(ok)), ok);
        }
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example",
            "javascript:alert(1)",
            "evil.example",
            "/\tevil",
            "/ok\r\nSet-Cookie: x=1",
            "",
            "/discord/callback?code=x",
        ] {
            assert_eq!(sanitize(Some(bad)), DEFAULT_NEXT, "{bad:?}");
        }
        assert_eq!(sanitize(None), DEFAULT_NEXT);
    }
}
