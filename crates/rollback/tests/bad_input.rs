//! Issue 10, "Bad input never hangs a worker or leaks a secret", for the rollback matrix: the
//! depth limit whichever way a matrix comes, and masked URIs in every error text.

use miq_automate_core::ruby::{ruby_dump, ruby_inspect_str};
use miq_automate_core::value::MAX_DEPTH;
use miq_automate_core::Value;
use miq_automate_rollback::RollbackMatrix;
use proptest::prelude::*;

proptest! {
    #[test]
    fn a_matrix_deeper_than_the_limit_is_refused(levels in 0usize..400) {
        let mut v = Value::from("x");
        for _ in 0..levels {
            v = Value::Array(vec![v]);
        }
        let matrix = Value::Hash(vec![(Value::from("states"), v)]);
        if levels + 1 > MAX_DEPTH {
            let err = RollbackMatrix::from_value(&matrix).unwrap_err().to_string();
            prop_assert!(err.contains("value nested deeper than 100"), "{}", err);
        }
    }
}

// Issue 10: a 10,000-deep matrix is refused within a Ruby thread's stack (1 MiB).
#[test]
fn a_10000_deep_matrix_is_refused_on_a_ruby_threads_stack() {
    let refused = std::thread::Builder::new()
        .stack_size(1024 * 1024) // a Ruby thread's machine stack
        .spawn(|| {
            let yaml = format!(
                "states: {{A: {}{}}}",
                "[".repeat(10_000),
                "]".repeat(10_000)
            );
            RollbackMatrix::from_yaml(&yaml).is_err()
        })
        .unwrap()
        .join()
        .unwrap();
    assert!(refused);
}

/// The forms a secret could take in a message: as given, as `inspect` and `dump` show it.
fn secret_forms(secret: &str) -> Vec<String> {
    let unquote = |s: String| s[1..s.len() - 1].to_string();
    vec![
        secret.to_string(),
        unquote(ruby_inspect_str(secret)),
        unquote(ruby_dump(secret)),
    ]
}

fn password_key() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec![
            "password::",
            "Password::",
            "PASSWORD%3A%3A",
            "password%3a%3a",
        ]),
        "[a-z_]{1,8}",
    )
        .prop_map(|(prefix, name)| format!("{prefix}{name}"))
}

proptest! {
    // For arbitrary step URIs with a password:: argument, no matrix error contains the secret.
    #[test]
    fn no_matrix_error_contains_a_password_argument(
        scheme in prop::sample::select(vec!["", "miqaedb:", "miqaedb://", "abc:", "miqaedb:A"]),
        path in "(/[A-Za-z0-9 €#]{1,6}){1,4}",
        key in password_key(),
        // A marker no message has on its own, then anything but `&` (which ends the value).
        secret in "Zq9[^&]{1,20}",
        before in prop::collection::vec("[a-z]{1,4}=[a-z0-9]{0,4}", 0..3),
        after in prop::collection::vec("[a-z]{0,4}=?[a-z0-9€ #]{0,4}", 0..3),
        array_element in any::<bool>(),
        trailer in prop::sample::select(vec!["", "&", "&&x=1", "#frag", "#a#b", "€", " "]),
    ) {
        let argument = if array_element {
            format!("Array::list=a%1F{key}={secret}")
        } else {
            format!("{key}={secret}")
        };
        let mut query: Vec<String> = before;
        query.push(argument);
        query.extend(after);
        let uri = format!("{scheme}{path}?{}{trailer}", query.join("&"));
        let matrix = format!("states:\n  A:\n    - {}", serde_json::to_string(&uri).unwrap());
        if let Err(e) = RollbackMatrix::from_yaml(&matrix) {
            let text = e.to_string();
            for form in secret_forms(&secret) {
                prop_assert!(!text.contains(&form), "{:?} shows {:?}", text, form);
            }
        }
    }
}
