//! Follows `spec/miq_ae_state_missing_relation_spec.rb`: a relationship to an instance that
//! does not exist.

use miq_automate_core::Value;

use crate::support::{engine, has_log, no_attrs};

// miq_ae_state_missing_relation_spec.rb, the instantiation half: a relationship to a class
// that does not exist gives nil (logged) and the object carries on with its earlier collects.
// (The state half — ae_result error — is below and in miq_ae_state_machine_spec.rs.)
#[test]
fn a_relationship_to_a_missing_class_gives_nil_and_keeps_earlier_collects() {
    let run = engine().instantiate("/Test/Rel/main", no_attrs()).unwrap();
    assert_eq!(run.root_get("got"), Value::from("over"));
    assert_eq!(run.root_get("root_got"), Value::from("over"));
    assert_eq!(run.root_get("never"), Value::Nil);
    assert_eq!(run.root_get("after"), Value::from("after over"));
    assert!(has_log(
        &run,
        "Class [Test/NoSuchClass] not found in MiqAeDatastore"
    ));
    assert!(has_log(
        &run,
        "Following Relationship [miqaedb:/Test/Attrs/one#create]"
    ));
}
