//! Dates and numbers as each language writes them. Both group thousands with
//! commas; dates differ in order and words. Times are shown in UTC (the
//! portal does not know the reader's zone) and say so.

use chrono::{DateTime, Utc};

use crate::Lang;

/// `1234567` → `1,234,567` (Korean groups by thousands with commas too).
pub fn number(_lang: Lang, n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    // A comma before each digit that has a multiple of three after it.
    let offset = digits.len() % 3;
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && i % 3 == offset {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `30 Nov 2025, 14:05 UTC` / `2025년 11월 30일 14:05 (UTC)`.
pub fn datetime(lang: Lang, at: DateTime<Utc>) -> String {
    match lang {
        Lang::En => at.format("%-d %b %Y, %H:%M UTC").to_string(),
        Lang::Ko => at.format("%Y년 %-m월 %-d일 %H:%M (UTC)").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn numbers() {
        assert_eq!(number(Lang::En, 0), "0");
        assert_eq!(number(Lang::En, 999), "999");
        assert_eq!(number(Lang::En, 1000), "1,000");
        assert_eq!(number(Lang::Ko, 1_234_567), "1,234,567");
        assert_eq!(number(Lang::En, -12_345), "-12,345");
        assert_eq!(number(Lang::En, i64::MIN), "-9,223,372,036,854,775,808");
    }

    #[test]
    fn dates() {
        let at = Utc.with_ymd_and_hms(2025, 3, 7, 9, 5, 0).unwrap();
        assert_eq!(datetime(Lang::En, at), "7 Mar 2025, 09:05 UTC");
        assert_eq!(datetime(Lang::Ko, at), "2025년 3월 7일 09:05 (UTC)");
    }
}
