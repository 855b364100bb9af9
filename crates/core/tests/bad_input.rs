//! Issue 10, "Bad input never hangs a worker or leaks a secret": property tests for the
//! guards — the depth limit, checked numbers, and masked URIs in every error text.

use miq_automate_core::ruby::{float_to_i64, ruby_to_i};
use miq_automate_core::uri::{query_to_hash, Uri};
use miq_automate_core::value::{ValueError, MAX_DEPTH};
use miq_automate_core::{AeError, Value, Workspace};
use proptest::prelude::*;
use serde_json::Value as Json;

#[path = "support/secrets.rs"]
mod secrets;
use secrets::{secret_forms, uri_with_password};

// ----- the depth limit ------------------------------------------------------------------

/// A JSON document `levels` deep, each level an array, an object or a `$hash`.
fn nested_json(shape: &[u8]) -> Json {
    let mut j = serde_json::json!({ "$symbol": "leaf" });
    for kind in shape {
        j = match kind % 3 {
            0 => Json::Array(vec![j]),
            1 => serde_json::json!({ "k": j }),
            _ => serde_json::json!({ "$hash": [[1, j]] }),
        };
    }
    j
}

proptest! {
    #[test]
    fn from_json_accepts_exactly_max_depth(shape in prop::collection::vec(any::<u8>(), 0..(MAX_DEPTH + 40))) {
        let json = nested_json(&shape);
        match Value::from_json(&json) {
            Ok(v) => {
                prop_assert!(shape.len() <= MAX_DEPTH);
                prop_assert_eq!(v.depth(), shape.len());
                prop_assert_eq!(Value::from_json(&v.try_to_json().unwrap()).unwrap(), v);
            }
            Err(e) => {
                prop_assert!(shape.len() > MAX_DEPTH);
                prop_assert_eq!(e, ValueError::TooDeep);
            }
        }
    }

    #[test]
    fn deep_values_serialise_without_recursing_past_the_limit(levels in 0usize..400) {
        let mut v = Value::from("x");
        for _ in 0..levels {
            v = Value::Array(vec![v]);
        }
        prop_assert_eq!(v.check_depth().is_ok(), levels <= MAX_DEPTH);
        prop_assert_eq!(v.try_to_json().is_ok(), levels <= MAX_DEPTH);
        let _ = (v.inspect(), v.to_masked_json(), v.masked());
    }
}

// Issue 10: a 10,000-deep document is refused within a Ruby thread's stack (1 MiB).
#[test]
fn a_10000_deep_document_is_refused_on_a_ruby_threads_stack() {
    let outcome = std::thread::Builder::new()
        .stack_size(1024 * 1024) // a Ruby thread's machine stack
        .spawn(|| {
            let mut json = Json::Null;
            for _ in 0..10_000 {
                json = Json::Array(vec![json]);
            }
            let refused = Value::from_json(&json);
            std::mem::forget(json); // serde_json's own drop recurses
            let text = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
            let parsed = serde_json::from_str::<Value>(&text).map(|_| ());
            (refused, parsed.is_err())
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(outcome, (Err(ValueError::TooDeep), true));
}

// ----- checked numbers --------------------------------------------------------------------

proptest! {
    #[test]
    fn to_i_is_exact_or_a_range_error(negative in any::<bool>(), digits in "[0-9]{1,30}", tail in "[a-z. ]{0,4}") {
        let text = format!("{}{digits}{tail}", if negative { "-" } else { "" });
        let exact: i128 = format!("{}{digits}", if negative { "-" } else { "" }).parse().unwrap();
        match ruby_to_i(&text) {
            Ok(n) => prop_assert_eq!(i128::from(n), exact),
            Err(e) => {
                prop_assert!(i64::try_from(exact).is_err());
                prop_assert!(matches!(e, AeError::RangeError(_)));
            }
        }
    }

    #[test]
    fn float_to_i_truncates_exactly_or_refuses(f in any::<f64>()) {
        match float_to_i64(f) {
            Ok(n) => {
                prop_assert!(f.is_finite());
                prop_assert_eq!(n as f64, f.trunc());
            }
            Err(e) => {
                let limit = 2f64.powi(63);
                prop_assert!(!f.is_finite() || f.trunc() >= limit || f.trunc() < -limit);
                prop_assert!(matches!(e, AeError::RangeError(_)));
            }
        }
    }

    #[test]
    fn field_timeout_is_the_exact_product_or_a_range_error(interval in any::<i64>(), max in any::<i64>()) {
        let ws = Workspace::with_root([
            ("ae_retry_interval", Value::Integer(interval)),
            ("ae_state_max_retries", Value::Integer(max)),
        ]);
        match ws.field_timeout() {
            Ok(n) => prop_assert_eq!(i128::from(n), i128::from(interval) * i128::from(max)),
            Err(e) => {
                prop_assert!(interval.checked_mul(max).is_none());
                prop_assert!(matches!(e, AeError::RangeError(_)));
            }
        }
    }

    #[test]
    fn field_timeout_with_units_and_floats_never_wraps(
        count in 0u64..100_000_000_000_000_000,
        unit in prop::sample::select(vec!["second", "minutes", "hour", "days", "weeks", "years"]),
        max in any::<f64>(),
    ) {
        let ws = Workspace::with_root([
            ("ae_retry_interval", Value::String(format!("{count}.{unit}"))),
            ("ae_state_max_retries", Value::Float(max)),
        ]);
        let factor: f64 = match unit.trim_end_matches('s') {
            "second" => 1.0,
            "minute" => 60.0,
            "hour" => 3600.0,
            "day" => 86400.0,
            "week" => 604800.0,
            _ => 31_556_952.0,
        };
        let interval = float_to_i64(count as f64 * factor);
        let expected = match (interval, float_to_i64(max)) {
            (Ok(i), Ok(m)) => i.checked_mul(m),
            _ => None,
        };
        match ws.field_timeout() {
            Ok(n) => prop_assert_eq!(Some(n), expected),
            Err(e) => {
                prop_assert_eq!(expected, None);
                prop_assert!(matches!(e, AeError::RangeError(_)), "{:?}", e);
            }
        }
    }

    #[test]
    fn an_integer_argument_is_stored_exactly_or_refused(negative in any::<bool>(), digits in "[0-9]{1,25}") {
        let number = format!("{}{digits}", if negative { "-" } else { "" });
        let exact: i128 = number.parse().unwrap();
        let mut ws = Workspace::new();
        match ws.instantiate(&format!("/A/B/C?integer::x={number}&Integer::y={number}")) {
            Some(id) => {
                let n = i64::try_from(exact).unwrap();
                prop_assert_eq!(ws.obj(id).read("x"), Value::Integer(n));
                prop_assert_eq!(ws.obj(id).read("y"), Value::Integer(n));
            }
            None => {
                prop_assert!(i64::try_from(exact).is_err());
                let line = &ws.logs().last().unwrap().message;
                prop_assert!(line.ends_with("does not fit in 64 bits"), "{}", line);
            }
        }
    }
}

// ----- secrets ----------------------------------------------------------------------------

proptest! {
    // For arbitrary URIs with a password:: argument, no error text contains the secret.
    #[test]
    fn no_error_text_contains_a_password_argument((uri, secret) in uri_with_password()) {
        let mut texts: Vec<String> = Vec::new();
        for result in [Uri::split(&uri, "miqaedb"), Uri::parse_for_instantiate(&uri)] {
            if let Err(e) = result {
                texts.push(e.to_string());
                texts.push(format!("{e:?}"));
            }
        }
        if let Some((_, q)) = uri.split_once('?') {
            if let Err(e) = query_to_hash(q) {
                texts.push(e.to_string());
                texts.push(format!("{e:?}"));
            }
        }
        let mut ws = Workspace::new();
        let _ = ws.instantiate(&uri);
        if let Err(e) = ws.instantiate_strict(&uri) {
            texts.push(e.to_string());
        }
        texts.extend(ws.logs().iter().map(|l| l.message.clone()));

        for text in &texts {
            for form in secret_forms(&secret) {
                prop_assert!(!text.contains(&form), "{:?} shows {:?}", text, form);
            }
        }
    }
}
