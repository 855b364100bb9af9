//! Follows `spec/miq_ae_domain_spec.rb`: the overlay of domains by priority.

use miq_automate_core::Value;

use crate::support::{engine, has_log, no_attrs};

// miq_ae_domain_spec.rb: a partial path goes to the highest enabled domain; disabled ones
// are ignored; lookups are case-insensitive; .missing by priority; an exact instance in a
// lower domain beats .missing in a higher one.
#[test]
fn a_partial_path_goes_to_the_highest_enabled_domain_that_has_it() {
    let e = engine();
    let run = e.instantiate("/TEST/attrs/ONE", no_attrs()).unwrap();
    assert_eq!(run.root_get("attr1"), Value::from("over"));
    let root = run.workspace.obj(run.root.unwrap());
    assert_eq!(root.namespace.as_deref(), Some("Over/Test"));
    assert!(has_log(
        &run,
        "Updated namespace [/TEST/attrs/ONE  Over/Test]"
    ));
    // `two` exists only in the disabled domain: Base's .missing answers.
    let run = e.instantiate("/Test/Attrs/two", no_attrs()).unwrap();
    assert_eq!(run.root_get("_missing_instance"), Value::from("two"));
    assert_eq!(run.root_get("attr1"), Value::from("from .missing"));
    // Exact instance in Base beats Over's .missing.
    let run = e.instantiate("/Test/Wild/test51", no_attrs()).unwrap();
    assert_eq!(run.root_get("number"), Value::Integer(51));
    let run = e.instantiate("/Test/Wild/nothing", no_attrs()).unwrap();
    assert_eq!(run.root_get("attr1"), Value::from("over .missing"));
    // A path with its domain is taken as given.
    let run = e.instantiate("/Base/Test/Attrs/one", no_attrs()).unwrap();
    assert_eq!(run.root_get("attr1"), Value::from("instance1"));
}
