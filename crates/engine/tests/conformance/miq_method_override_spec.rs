//! Follows `spec/miq_method_override_spec.rb`: a method of a higher domain overrides. The
//! peer's `method_override.yaml` rewritten: RHT (2) and MIQ (1), each with `EVM/SAMPLE`.
//! Every example is ported.

use miq_automate_core::Value;
use miq_automate_engine::{Engine, ScriptedRunner};
use serde_json::json;

use crate::support::build::{attribute, input, method, TempDomains};
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

fn rht_and_miq(rht_enabled: bool) -> Engine {
    let t = TempDomains::new();
    let sample = |name: &str, priority: i64, enabled: bool, defaults: [&str; 2]| {
        t.domain_with(
            name,
            json!({"name": name, "priority": priority, "enabled": enabled, "source": "user"}),
        )
        .class(
            "EVM/SAMPLE",
            &[
                attribute("attr1").default(defaults[0]),
                attribute("attr2").default(defaults[1]),
                method("method1"),
            ],
        )
    };
    sample("RHT", 2, rht_enabled, ["Flintstone", "Rubble"])
        .method("EvM1", &[input("nickname").default("TwinkleToes")])
        .instance("test2", &[("method1", "evm2")]);
    sample("MIQ", 1, true, ["Barney", "Fred"])
        .method("EvM1", &[input("offspring").default("Bamm-Bamm")])
        .method("EvM2", &[input("CatchPhrase").default("Yabba Dabba Doo")])
        .instance("test1", &[("method1", "evm1")]);
    let runner = ScriptedRunner::new()
        .on("evm1", |rt, m| {
            // RHT's sets its nickname, MIQ's says `miq`.
            let v = match m.inputs.get("nickname") {
                Some(n) => n.clone(),
                None => Value::from("miq"),
            };
            rt.workspace().root_set("method_executed", v);
            Ok(0)
        })
        .on("evm2", |rt, _| {
            let ws = rt.workspace();
            let attr1 = ws.obj(ws.current()).read("attr1");
            ws.root_set("method_executed", attr1);
            Ok(0)
        });
    t.engine(runner)
}

#[test]
fn with_only_one_domain_enabled_its_method_runs() {
    let run = rht_and_miq(false)
        .instantiate("evm/SAMPLE/test1", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("method_executed"), Value::from("miq"));
}

#[test]
fn the_higher_priority_domains_method_runs_for_a_lower_domains_instance() {
    let run = rht_and_miq(true)
        .instantiate("evm/SAMPLE/test1", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("method_executed"), Value::from("TwinkleToes"));
}

/// RHT's instance calls EvM2, which only MIQ has; it runs with RHT's object current.
#[test]
fn a_method_missing_in_the_higher_domain_comes_from_a_lower_one() {
    let run = rht_and_miq(true)
        .instantiate("evm/SAMPLE/test2", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("method_executed"), Value::from("Flintstone"));
}
