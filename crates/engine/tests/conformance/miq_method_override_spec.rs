//! Follows `spec/miq_method_override_spec.rb`: a method of a higher domain overrides.

use miq_automate_engine::{Engine, ScriptedRunner};

use crate::support::{datastore, no_attrs, recorded};

// miq_method_override_spec.rb: the higher domain's method wins even over the local one;
// a method only a lower domain has is found there.
#[test]
fn the_higher_domains_method_wins_and_a_missing_one_falls_back() {
    let runner = ScriptedRunner::new();
    let e = Engine::new(datastore()).with_runner(runner.clone());
    e.instantiate("/Base/Test/Methods/override", no_attrs())
        .unwrap();
    e.instantiate("/Base/Test/Methods/only_base", no_attrs())
        .unwrap();
    assert_eq!(
        recorded(&runner),
        [
            "/Over/Test/Methods/set_attr",
            "/Base/Test/Methods/only_base"
        ]
    );
}
