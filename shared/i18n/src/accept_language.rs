//! `Accept-Language` (RFC 9110 §12.5.4) with its q-values. By hand: the
//! parser fluent-langneg offers drops the weights (its docs say so), so
//! `en;q=0.1, ko` would pick English; the grammar is a comma list of
//! `tag[;q=weight]`, small enough to parse here and test below.

use crate::Lang;

/// The language Guildhall speaks that the header ranks highest; ties keep
/// the header's order, `q=0` means "not this one", `*` and languages without
/// a catalogue are skipped.
pub fn preferred(header: &str) -> Option<Lang> {
    let mut best: Option<(Lang, u16)> = None;
    for item in header.split(',') {
        let mut parts = item.split(';');
        let tag = parts.next().unwrap_or_default().trim();
        let mut weight = 1000u16;
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                // A garbled weight (None) ignores the whole entry, as q=0.
                weight = parse_weight(value.trim()).unwrap_or_default();
            }
        }
        if weight == 0 {
            continue;
        }
        let Some(lang) = Lang::from_tag(tag) else {
            continue;
        };
        if best.is_none_or(|(_, w)| weight > w) {
            best = Some((lang, weight));
        }
    }
    best.map(|(lang, _)| lang)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in
/// thousandths.
fn parse_weight(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths: u16 = format!("{fraction:0<3}").parse().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_weight_then_order() {
        assert_eq!(preferred("ko-KR,ko;q=0.9,en;q=0.8"), Some(Lang::Ko));
        assert_eq!(preferred("en-US,en;q=0.9,ko;q=0.8"), Some(Lang::En));
        assert_eq!(
            preferred("en;q=0.1, ko"),
            Some(Lang::Ko),
            "weights, not order"
        );
        assert_eq!(
            preferred("ko;q=0.5, en;q=0.5"),
            Some(Lang::Ko),
            "a tie keeps order"
        );
        assert_eq!(
            preferred("ja, ko;q=0.3"),
            Some(Lang::Ko),
            "skips what we lack"
        );
        assert_eq!(preferred("KO-kr;Q=1.0"), Some(Lang::Ko));
    }

    #[test]
    fn refusals_and_garbage() {
        assert_eq!(preferred("ko;q=0, en;q=0.2"), Some(Lang::En), "q=0 refuses");
        assert_eq!(preferred("ko;q=0.000"), None);
        assert_eq!(preferred("*"), None);
        assert_eq!(preferred("ja, fr;q=0.9"), None);
        assert_eq!(preferred(""), None);
        assert_eq!(preferred(",,;;=,"), None);
        assert_eq!(
            preferred("ko;q=2, en"),
            Some(Lang::En),
            "a bad weight drops the entry"
        );
        assert_eq!(preferred("ko;q=0.1234, en;q=0.1"), Some(Lang::En));
        assert_eq!(preferred("ko;q=abc"), None);
    }

    #[test]
    fn weights() {
        assert_eq!(parse_weight("1"), Some(1000));
        assert_eq!(parse_weight("1.000"), Some(1000));
        assert_eq!(parse_weight("1.5"), None);
        assert_eq!(parse_weight("0.8"), Some(800));
        assert_eq!(parse_weight("0.05"), Some(50));
        assert_eq!(parse_weight("0."), Some(0));
        assert_eq!(parse_weight(".5"), None);
    }
}
