//! Ruby's string conversions that automate semantics depend on (`strip`, `inspect`, `to_i`,
//! `to_f`, `Time.parse`, `Float#to_s`, `Time#to_s`, ManageIQ's `to_i_with_method`), written out
//! so results match.

use chrono::{DateTime, FixedOffset, Local, NaiveDate, NaiveDateTime, TimeZone};

use crate::error::AeError;

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
/// them), stopping at the first other character; `0` when there are none. A number beyond
/// 64 bits (a Bignum in Ruby) is [`AeError::RangeError`], never a clamped value.
pub fn ruby_to_i(text: &str) -> Result<i64, AeError> {
    let s = text.trim_start();
    let (sign, digits) = match s.as_bytes().first() {
        Some(b'-') => ("-", &s[1..]),
        Some(b'+') => ("", &s[1..]),
        _ => ("", s),
    };
    let mut number = String::from(sign);
    let mut previous_digit = false;
    for b in digits.bytes() {
        match b {
            b'0'..=b'9' => {
                number.push(char::from(b));
                previous_digit = true;
            }
            b'_' if previous_digit => previous_digit = false,
            _ => break,
        }
    }
    if number.len() == sign.len() {
        return Ok(0);
    }
    number.parse().map_err(|_| integer_out_of_range(&number))
}

/// The error for an integer that needs more than 64 bits.
pub fn integer_out_of_range(number: &str) -> AeError {
    AeError::RangeError(format!("integer {number} does not fit in 64 bits"))
}

/// `Float#to_i` (truncation toward zero), checked: NaN, ±Infinity and values beyond 64 bits
/// are [`AeError::RangeError`] (Ruby raises FloatDomainError, or makes a Bignum we cannot keep).
pub fn float_to_i64(f: f64) -> Result<i64, AeError> {
    // 2**63 is exactly representable; every finite f64 in [-2**63, 2**63) truncates into i64.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    let t = f.trunc();
    if t.is_finite() && (-LIMIT..LIMIT).contains(&t) {
        // In range, so the cast is exact (a float's integer part has no rounding to do).
        Ok(t as i64)
    } else {
        Err(AeError::RangeError(format!(
            "float {} out of range of integer",
            ruby_float_to_s(f)
        )))
    }
}

/// Ruby's `Float#to_s`: `1.0`, `0.5`, `1.0e+20`, `NaN`, `Infinity`.
pub fn ruby_float_to_s(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_string()
        } else {
            format!("{mantissa}.0")
        };
        let exp: i32 = exp.parse().unwrap_or(0);
        return format!(
            "{mantissa}e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        );
    }
    let s = format!("{f}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// Ruby's `Time#to_s`: `2024-05-01 10:00:00 UTC` or `2024-05-01 10:00:00 +0200`.
pub fn ruby_time_to_s(t: &DateTime<FixedOffset>) -> String {
    if t.offset().local_minus_utc() == 0 {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S %z").to_string()
    }
}

/// `a * b` for integers, or [`AeError::RangeError`] when the product needs more than 64 bits.
pub fn checked_mul(a: i64, b: i64) -> Result<i64, AeError> {
    a.checked_mul(b)
        .ok_or_else(|| AeError::RangeError(format!("integer {a} * {b} does not fit in 64 bits")))
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
/// `"1.5.minutes"` → 90, `"2.hours"` → 7200. `Ok(None)` for an unknown unit (the engine
/// raises); [`AeError::RangeError`] when the result does not fit in 64 bits.
pub fn to_i_with_method(text: &str) -> Result<Option<i64>, AeError> {
    let s = text.replace(',', "");
    let Some((number, unit)) = s.rsplit_once('.') else {
        return ruby_to_i(&s).map(Some);
    };
    let numeric = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let alpha = !unit.is_empty() && unit.bytes().all(|b| b.is_ascii_lowercase());
    if !(numeric && alpha) || unit == "percent" {
        return ruby_to_i(&s).map(Some);
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
        _ => return Ok(None),
    };
    float_to_i64(ruby_to_f(number) * factor).map(Some)
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
        assert_eq!(ruby_to_i("45"), Ok(45));
        assert_eq!(ruby_to_i("  -12abc"), Ok(-12));
        assert_eq!(ruby_to_i("1_000"), Ok(1000));
        assert_eq!(ruby_to_i("abc"), Ok(0));
        assert_eq!(ruby_to_i("-"), Ok(0));
        assert_eq!(ruby_to_i("1__0"), Ok(1));
        assert_eq!(ruby_to_i("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(ruby_to_i("9_223_372_036_854_775_807"), Ok(i64::MAX));
    }

    // Issue 10: a number beyond 64 bits was clamped to i64::MAX.
    #[test]
    fn to_i_refuses_bignums_instead_of_clamping() {
        assert_eq!(
            ruby_to_i("99999999999999999999999"),
            Err(AeError::RangeError(
                "integer 99999999999999999999999 does not fit in 64 bits".into()
            ))
        );
        assert!(ruby_to_i("9223372036854775808").is_err());
        assert!(ruby_to_i("-9223372036854775809").is_err());
    }

    #[test]
    fn float_to_i_is_checked() {
        assert_eq!(float_to_i64(2.9), Ok(2));
        assert_eq!(float_to_i64(-2.9), Ok(-2));
        assert_eq!(float_to_i64(-9.223372036854776e18), Ok(i64::MIN));
        for bad in [f64::INFINITY, f64::NEG_INFINITY, f64::NAN, 9.3e18, 1e300] {
            assert!(
                matches!(float_to_i64(bad), Err(AeError::RangeError(_))),
                "{bad}"
            );
        }
        assert_eq!(
            float_to_i64(f64::INFINITY).unwrap_err().to_string(),
            "float Infinity out of range of integer"
        );
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
        assert_eq!(to_i_with_method("30"), Ok(Some(30)));
        assert_eq!(to_i_with_method("1.minute"), Ok(Some(60)));
        assert_eq!(to_i_with_method("1.5.minutes"), Ok(Some(90)));
        assert_eq!(to_i_with_method("20.percent"), Ok(Some(20)));
        assert_eq!(to_i_with_method("abc"), Ok(Some(0)));
        assert_eq!(to_i_with_method("5.foo"), Ok(None));
        assert!(to_i_with_method("99999999999999999999.years").is_err());
        assert!(to_i_with_method("99999999999999999999").is_err());
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
