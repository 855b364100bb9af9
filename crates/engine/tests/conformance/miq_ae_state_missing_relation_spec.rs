//! Follows `spec/miq_ae_state_missing_relation_spec.rb`: a relationship to an instance that
//! does not exist. The peer's model rewritten: `/FLINTSTONE/WILMA/FRED` has three states
//! whose mains relate to `BARNEY/HOPPY` (var1 = 1), `BARNEY/BETTY` (var1 = 3) or the missing
//! `BARNEY/GAZOO`, each collecting `var1`. Every example is ported.

use miq_automate_core::Value;
use miq_automate_engine::{Run, ScriptedRunner};

use crate::support::build::{attribute, state, TempDomains};
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

fn flintstone(instance: &str) -> Run {
    let t = TempDomains::new();
    let d = t.domain("FLINTSTONE", 10);
    d.class("WILMA/BARNEY", &[attribute("var1").datatype("string")])
        .instance("HOPPY", &[("var1", "1")])
        .instance("BETTY", &[("var1", "3")]);
    let hoppy = "/FLINTSTONE/WILMA/BARNEY/HOPPY";
    let gazoo = "/FLINTSTONE/WILMA/BARNEY/GAZOO";
    let betty = "/FLINTSTONE/WILMA/BARNEY/BETTY";
    let field = |name: &str| {
        state(name)
            .datatype("string")
            .set("max_retries", "10")
            .collect("var1")
    };
    d.class(
        "WILMA/FRED",
        &[field("state1"), field("state2"), field("state3")],
    )
    .instance(
        "PEBBLES",
        &[("state1", gazoo), ("state2", ""), ("state3", "")],
    )
    .instance(
        "BAMM_BAMM",
        &[("state1", hoppy), ("state2", gazoo), ("state3", betty)],
    )
    .instance(
        "DINO",
        &[("state1", hoppy), ("state2", betty), ("state3", gazoo)],
    );
    t.engine(ScriptedRunner::new())
        .instantiate(&format!("FLINTSTONE/WILMA/FRED/{instance}"), no_attrs())
        .unwrap()
}

#[test]
fn a_missing_instance_in_the_first_state_is_an_error() {
    let run = flintstone("PEBBLES");
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
}

#[test]
fn a_missing_instance_in_the_middle_state_keeps_the_first_collect() {
    let run = flintstone("BAMM_BAMM");
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
    assert_eq!(run.root_get("var1"), Value::from("1"));
}

#[test]
fn a_missing_instance_in_the_last_state_keeps_the_earlier_collects() {
    let run = flintstone("DINO");
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
    assert_eq!(run.root_get("var1"), Value::from("3"));
}
