//! Follows `spec/miq_ae_domain_search_spec.rb`: `MiqAeDomainSearch`, here
//! [`miq_automate_engine::domain_search`]. Every example is ported (the vendor models its
//! file defines are used by no example).

use miq_automate_engine::domain_search::{find_first, Target};
use miq_automate_engine::{Datastore, ScriptedRunner};

use crate::support::build::{method, relationship, TempDomains};
use crate::support::{has_log, no_attrs};

/// FRED (1) and BARNEY (2), created in that order as the spec creates them, so BARNEY has
/// the higher priority; each has `FRED/WILMA/DOGMATIX` and the method `OBELIX`.
fn fred_and_barney() -> TempDomains {
    let t = TempDomains::new();
    for (name, priority) in [("FRED", 1), ("BARNEY", 2)] {
        t.domain(name, priority)
            .class("FRED/WILMA", &[relationship("field1"), method("execute")])
            .method("OBELIX", &[])
            .instance("DOGMATIX", &[("execute", "OBELIX")]);
    }
    t
}

fn load(t: &TempDomains) -> Datastore {
    t.load()
}

#[test]
fn an_instance_is_found_in_the_highest_domain() {
    let t = fred_and_barney();
    let ds = load(&t);
    assert_eq!(
        find_first(&ds, "FRED", "WILMA", Target::Instance(Some("DOGMATIX"))).as_deref(),
        Some("BARNEY/FRED")
    );
    let run = t
        .engine(ScriptedRunner::new())
        .instantiate("/FRED/WILMA/DOGMATIX", no_attrs())
        .unwrap();
    assert!(has_log(
        &run,
        "Updated namespace [/FRED/WILMA/DOGMATIX  BARNEY/FRED]"
    ));
}

#[test]
fn a_method_is_found_in_the_highest_domain() {
    let t = fred_and_barney();
    let ds = load(&t);
    assert_eq!(
        find_first(&ds, "FRED", "WILMA", Target::Method("OBELIX")).as_deref(),
        Some("BARNEY/FRED")
    );
}
