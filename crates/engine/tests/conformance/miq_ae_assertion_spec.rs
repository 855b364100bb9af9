//! Follows `spec/miq_ae_assertion_spec.rb`: assertion fields.

use miq_automate_core::{AeError, Value};
use miq_automate_engine::EngineError;

use crate::support::{engine, has_log, no_attrs};

// miq_ae_assertion_spec.rb: a false assertion drops the object; an unset attribute in it
// is AttributeNotFound.
#[test]
fn a_false_assertion_drops_the_object_and_an_unset_attribute_raises() {
    let e = engine();
    let run = e
        .instantiate("/Test/Guard/g", [("role", Value::from("admin"))])
        .unwrap();
    assert_eq!(run.root_get("passed"), Value::from("yes"));
    let run = e
        .instantiate("/Test/Guard/g", [("role", Value::from("user"))])
        .unwrap();
    assert_eq!(run.root, None, "dropped");
    assert!(has_log(&run, "Assertion Failed: <'user' == 'admin'>"));
    let run = e
        .instantiate("/Test/GuardParent/p", [("role", Value::from("user"))])
        .unwrap();
    assert_eq!(run.root_get("after"), Value::from("parent continued"));
    assert!(run.workspace.obj(run.root.unwrap()).children().is_empty());
    let err = e.instantiate("/Test/Guard/g", no_attrs()).unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::AttributeNotFound(
            "Attribute role not found for object [/]".into()
        ))
    );
}
