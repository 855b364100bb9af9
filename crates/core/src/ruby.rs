//! Ruby's string conversions that automate semantics depend on (`strip`, `inspect`, `to_i`,
//! `to_f`, `Time.parse`, ManageIQ's `to_i_with_method`), written out so results match.

use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, TimeZone};

/// `String#strip`: removes leading and trailing whitespace and NULs.
pub fn ruby_strip(text: &str) -> &str {
    text.trim_matches(|c: char| matches!(c, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | '\0'))
}

/// `String#inspect` for a UTF-8 string.
pub fn ruby_inspect_str(text: &str) -> String {
    escape(text, false)
}

/// `String#dump`: like inspect, with non-ASCII as `\uXXXX`.
pub fn ruby_dump(text: &str) -> String {
    escape(text, true)
}

fn escape(text: &str, ascii_only: bool) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '#' if matches!(chars.peek(), Some('{' | '$' | '@')) => out.push_str("\\#"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c if ascii_only && !c.is_ascii() => {
                if (c as u32) <= 0xFFFF {
                    out.push_str(&format!("\\u{:04X}", c as u32));
                } else {
                    out.push_str(&format!("\\u{{{:X}}}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `String#to_i`: optional leading whitespace and sign, digits (with single `_` between
/// them), stopping at the first other character; `0` when there are none. Saturates.
pub fn ruby_to_i(text: &str) -> i64 {
    let s = text.trim_start();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut value: i64 = 0;
    let mut previous_digit = false;
    for b in digits.bytes() {
        match b {
            b'0'..=b'9' => {
                value = value.saturating_mul(10).saturating_add((b - b'0') as i64);
                previous_digit = true;
            }
            b'_' if previous_digit => previous_digit = false,
            _ => break,
        }
    }
    if negative {
        -value
    } else {
        value
    }
}

/// `String#to_f`: the longest leading float literal, `0.0` when there is none.
pub fn ruby_to_f(text: &str) -> f64 {
    let s = text.trim_start();
    let bytes = s.as_bytes();
    let mut end = 0;
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    let digits_start = end;
    while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'_') {
        end += 1;
    }
    if end == digits_start {
        return 0.0;
    }
    if end + 1 < bytes.len() && bytes[end] == b'.' && bytes[end + 1].is_ascii_digit() {
        end += 1;
        while end < bytes.len() && (bytes[end].is_ascii_digit() || bytes[end] == b'_') {
            end += 1;
        }
    }
    if end < bytes.len() && matches!(bytes[end], b'e' | b'E') {
        let mut exp_end = end + 1;
        if exp_end < bytes.len() && matches!(bytes[exp_end], b'+' | b'-') {
            exp_end += 1;
        }
        if exp_end < bytes.len() && bytes[exp_end].is_ascii_digit() {
            while exp_end < bytes.len() && bytes[exp_end].is_ascii_digit() {
                exp_end += 1;
            }
            end = exp_end;
        }
    }
    s[..end].replace('_', "").parse().unwrap_or(0.0)
}

/// ManageIQ's `String#to_i_with_method`: `"30"` → 30, `"1.minute"` → 60,
/// `"1.5.minutes"` → 90, `"2.hours"` → 7200. `None` for an unknown unit (the engine raises).
pub fn to_i_with_method(text: &str) -> Option<i64> {
    let s = text.replace(',', "");
    let Some((number, unit)) = s.rsplit_once('.') else {
        return Some(ruby_to_i(&s));
    };
    let numeric = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let alpha = !unit.is_empty() && unit.bytes().all(|b| b.is_ascii_lowercase());
    if !(numeric && alpha) || unit == "percent" {
        return Some(ruby_to_i(&s));
    }
    let factor: f64 = match unit.trim_end_matches('s') {
        "second" => 1.0,
        "minute" => 60.0,
        "hour" => 3600.0,
        "day" => 86400.0,
        "week" => 604800.0,
        "fortnight" => 1_209_600.0,
        "month" => 2_629_746.0,
        "year" => 31_556_952.0,
        "byte" => 1.0,
        "kilobyte" => 1024.0,
        "megabyte" => 1024.0 * 1024.0,
        "gigabyte" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((ruby_to_f(number) * factor) as i64)
}

/// A practical `Time.parse`: RFC 3339, `YYYY-MM-DD HH:MM:SS[.frac] [UTC|Z|±HHMM|±HH:MM]`,
/// and a bare date (midnight, local time). `Err` with Ruby's message otherwise.
pub fn ruby_time_parse(text: &str) -> Result<DateTime<FixedOffset>, String> {
    let s = ruby_strip(text);
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t);
    }
    let normalized = s.replace(" UTC", " +0000").replace('T', " ");
    let normalized = normalized
        .strip_suffix('Z')
        .map_or(normalized.clone(), |n| format!("{n} +0000"));
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f %z",
        "%Y-%m-%d %H:%M:%S%.f %:z",
        "%Y-%m-%d %H:%M %z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(&normalized, fmt) {
            return Ok(t);
        }
    }
    let local = |naive: NaiveDateTime| {
        Local
            .from_local_datetime(&naive)
            .earliest()
            .map(|t| t.fixed_offset())
    };
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
        if let Some(t) = NaiveDateTime::parse_from_str(&normalized, fmt)
            .ok()
            .and_then(local)
        {
            return Ok(t);
        }
    }
    if let Some(t) = NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .and_then(local)
    {
        return Ok(t);
    }
    Err(format!("no time information in {}", ruby_inspect_str(text)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_i_follows_ruby() {
        assert_eq!(ruby_to_i("45"), 45);
        assert_eq!(ruby_to_i("  -12abc"), -12);
        assert_eq!(ruby_to_i("1_000"), 1000);
        assert_eq!(ruby_to_i("abc"), 0);
        assert_eq!(ruby_to_i("1__0"), 1);
    }

    #[test]
    fn to_f_follows_ruby() {
        assert_eq!(ruby_to_f("2.5"), 2.5);
        assert_eq!(ruby_to_f("1e3"), 1000.0);
        assert_eq!(ruby_to_f("abc"), 0.0);
        assert_eq!(ruby_to_f("3.x"), 3.0);
    }

    #[test]
    fn to_i_with_method_units() {
        assert_eq!(to_i_with_method("30"), Some(30));
        assert_eq!(to_i_with_method("1.minute"), Some(60));
        assert_eq!(to_i_with_method("1.5.minutes"), Some(90));
        assert_eq!(to_i_with_method("20.percent"), Some(20));
        assert_eq!(to_i_with_method("abc"), Some(0));
        assert_eq!(to_i_with_method("5.foo"), None);
    }

    #[test]
    fn inspect_and_dump() {
        assert_eq!(
            ruby_inspect_str("a \"b\"\n#{x}"),
            "\"a \\\"b\\\"\\n\\#{x}\""
        );
        assert_eq!(ruby_dump("/a/\u{e9}"), "\"/a/\\u00E9\"");
    }

    #[test]
    fn time_parse_forms() {
        let t = ruby_time_parse("2013-01-01 00:00:00 UTC").unwrap();
        assert_eq!(t.to_rfc3339(), "2013-01-01T00:00:00+00:00");
        assert!(ruby_time_parse("2013-01-01T10:00:00+02:00").is_ok());
        assert!(ruby_time_parse("2013-01-01").is_ok());
        assert_eq!(
            ruby_time_parse("soon").unwrap_err(),
            "no time information in \"soon\""
        );
    }
}
