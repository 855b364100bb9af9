//! Issue 10, "Bad input never hangs a worker or leaks a secret", for the rollback matrix: the
//! depth limit whichever way a matrix comes, and masked URIs in every error text.

use miq_automate_core::value::MAX_DEPTH;
use miq_automate_core::Value;
use miq_automate_rollback::RollbackMatrix;
use proptest::prelude::*;

#[path = "../../core/tests/support/secrets.rs"]
mod secrets;
use secrets::{secret_forms, uri_with_password};

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

proptest! {
    // For arbitrary step URIs with a password:: argument, no matrix error contains the secret.
    #[test]
    fn no_matrix_error_contains_a_password_argument((uri, secret) in uri_with_password()) {
        let matrix = format!("states:\n  A:\n    - {}", serde_json::to_string(&uri).unwrap());
        if let Err(e) = RollbackMatrix::from_yaml(&matrix) {
            let text = e.to_string();
            for form in secret_forms(&secret) {
                prop_assert!(!text.contains(&form), "{:?} shows {:?}", text, form);
            }
        }
    }
}
