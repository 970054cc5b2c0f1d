//! The `error` Discord (or whoever crafted the link) puts on the callback.
//! OAuth error codes are lower-case words joined by `_` (RFC 6749, 4.1.2.1);
//! anything else is replaced before it is shown, answered or logged, so a
//! crafted value cannot forge log lines or put markup in a page.

/// What a malformed `error` is shown and logged as.
pub const INVALID_ERROR: &str = "invalid_error";
const MAX_LEN: usize = 64;

/// `raw` when it matches `[a-z_]{1,64}`, else [`INVALID_ERROR`].
pub fn checked(raw: &str) -> &str {
    let well_formed = (1..=MAX_LEN).contains(&raw.len())
        && raw.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    if well_formed { raw } else { INVALID_ERROR }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn oauth_codes_pass_and_anything_else_is_replaced() {
        for ok in ["access_denied", "invalid_scope", "_", &"a".repeat(64)] {
            assert_eq!(checked(ok), ok);
        }
        for bad in [
            "",
            "Access_Denied",
            "access denied",
            "a\r\nb",
            "é",
            &"a".repeat(65),
        ] {
            assert_eq!(checked(bad), INVALID_ERROR, "{bad:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn the_result_is_always_a_plain_code(raw in any::<String>()) {
            let out = checked(&raw);
            prop_assert!(!out.is_empty() && out.len() <= MAX_LEN);
            prop_assert!(out.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            prop_assert!(out == raw || out == INVALID_ERROR);
        }

        #[test]
        fn well_formed_codes_are_kept(raw in "[a-z_]{1,64}") {
            prop_assert_eq!(checked(&raw), raw.as_str());
        }
    }
}
