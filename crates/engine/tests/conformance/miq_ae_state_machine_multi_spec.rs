//! Follows `spec/engine/miq_ae_state_machine_multi_spec.rb`: three nested machines
//! (`tests/domains/state_machines/SM/Nested`). Every example is ported.

use miq_automate_core::{AeError, Value};
use miq_automate_engine::{
    DeliverOptions, Delivery, Engine, MethodInvocation, Runtime, ScriptedRunner, TraceEvent,
    VirtualClock,
};

use crate::support::sm::{self, names, push, sorted, start, strings};

/// The nested machines' hook: as [`state_hook`], and an error unless the root's
/// `ae_state_max_retries` is this state's own (its name's suffix), which holds only when
/// the enclosing machine's keys were saved and restored.
fn nested_hook(rt: &mut Runtime<'_>, m: &MethodInvocation) -> Result<i32, AeError> {
    let ws = rt.workspace();
    let step = format!("step_{}", ws.root_get("ae_state_step").to_ruby_s());
    let state = ws.root_get("ae_state").to_ruby_s();
    push(rt, &step, Value::from(state.as_str()));
    let ws = rt.workspace();
    let max: i64 = state.rsplit('_').next().unwrap().parse().unwrap();
    if ws.root_get("ae_state_max_retries") != Value::Integer(max) {
        ws.root_set("ae_result", Value::from("error"));
    }
    let input = m.inputs["ae_result"].to_ruby_s();
    let current = ws.root_get("ae_result").to_ruby_s();
    if !["retry", "error"].contains(&current.as_str()) || input == "continue" {
        ws.root_set("ae_result", Value::from(input.as_str()));
    }
    if !m.inputs["ae_next_state"].is_blank() {
        ws.root_set("ae_next_state", m.inputs["ae_next_state"].clone());
    }
    if !m.inputs["raise"].is_blank() {
        return Err(AeError::RuntimeError(m.inputs["raise"].to_ruby_s()));
    }
    Ok(0)
}

fn nested(sm3: &str, options: DeliverOptions) -> Delivery {
    let runner = ScriptedRunner::new()
        .on("state_hook", nested_hook)
        .on("work", |rt, _| {
            let state = rt.workspace().root_get("ae_state");
            push(rt, "states_executed", state);
            rt.workspace().root_set("ae_result", Value::from("ok"));
            Ok(0)
        });
    Engine::new(sm::datastore())
        .with_runner(runner)
        .with_clock(VirtualClock::new(start()))
        .deliver("/SM/Nested/SM1/main", [("sm3", Value::from(sm3))], options)
}

fn root_list(d: &Delivery, key: &str) -> Vec<String> {
    sorted(strings(d.root_get(key)).unwrap_or_default())
}

fn sorted_names(items: &[&str]) -> Vec<String> {
    sorted(names(items).unwrap())
}

#[test]
fn nested_machines_all_ok() {
    let d = nested("main", DeliverOptions::default());
    assert_eq!((d.deliveries, d.ae_result.as_str()), (1, "ok"));
    let work = [
        "SM1_1", "SM1_3", "SM1_4", "SM2_1", "SM2_3", "SM2_4", "SM3_1", "SM3_3", "SM3_4",
    ];
    let guards: Vec<&str> = work
        .iter()
        .copied()
        .chain(["SM1_2", "SM2_2", "SM3_2"])
        .collect();
    assert_eq!(root_list(&d, "states_executed"), sorted_names(&work));
    assert_eq!(root_list(&d, "step_on_entry"), sorted_names(&guards));
    assert_eq!(root_list(&d, "step_on_exit"), sorted_names(&guards));
    assert_eq!(d.root_get("step_on_error"), Value::Nil);
    // Order: SM2 runs inside SM1_2, SM3 inside SM2_2.
    assert_eq!(
        strings(d.root_get("states_executed")).unwrap(),
        ["SM1_1", "SM2_1", "SM3_1", "SM3_3", "SM3_4", "SM2_3", "SM2_4", "SM1_3", "SM1_4"]
    );
    // Everything ended ok: no saved state info is left.
    assert!(d.run.as_ref().unwrap().state_info.is_empty());
    let machines: Vec<&str> = d
        .events()
        .filter_map(|e| match e {
            TraceEvent::Enter { machine, state, .. } if state.ends_with("_1") => {
                Some(machine.as_str())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        machines,
        [
            "/SM/Nested/SM1/main",
            "/SM/Nested/SM2/main",
            "/SM/Nested/SM3/main"
        ]
    );
}

#[test]
fn a_childs_error_reaches_every_connecting_state() {
    let d = nested("raise_error", DeliverOptions::default());
    assert_eq!(d.ae_result, "error");
    assert_eq!(
        root_list(&d, "states_executed"),
        sorted_names(&["SM1_1", "SM2_1"])
    );
    assert_eq!(
        root_list(&d, "step_on_exit"),
        sorted_names(&["SM1_1", "SM2_1"])
    );
    assert_eq!(
        strings(d.root_get("step_on_error")).unwrap(),
        ["SM3_1", "SM2_2", "SM1_2"]
    );
    assert_eq!(
        root_list(&d, "step_on_entry"),
        sorted_names(&["SM1_1", "SM1_2", "SM2_1", "SM2_2", "SM3_1"])
    );
    assert_eq!(
        d.ae_reason.as_deref(),
        Some("State=<SM3_1> running on_entry raised exception: <Method exited with rc=Unknown RC: [1]>")
    );
}

#[test]
fn a_childs_on_error_continue_lets_everything_run() {
    let d = nested("raise_continue", DeliverOptions::default());
    assert_eq!(d.ae_result, "ok");
    let work = [
        "SM1_1", "SM1_3", "SM1_4", "SM2_1", "SM2_3", "SM2_4", "SM3_3", "SM3_4",
    ];
    let guards: Vec<&str> = work
        .iter()
        .copied()
        .chain(["SM1_2", "SM2_2", "SM3_1", "SM3_2"])
        .collect();
    assert_eq!(root_list(&d, "states_executed"), sorted_names(&work));
    assert_eq!(root_list(&d, "step_on_entry"), sorted_names(&guards));
    let exits: Vec<&str> = guards.iter().copied().filter(|s| *s != "SM3_1").collect();
    assert_eq!(root_list(&d, "step_on_exit"), sorted_names(&exits));
    assert_eq!(strings(d.root_get("step_on_error")).unwrap(), ["SM3_1"]);
}

#[test]
fn a_childs_retry_redelivers_the_whole_tree() {
    let d = nested("retry", DeliverOptions::default());
    assert_eq!(d.deliveries, 4);
    assert_eq!(d.ae_result, "error");
    let on_entry = |n: usize| -> Vec<String> {
        let mut v: Vec<String> = d.trace[n]
            .events
            .iter()
            .filter_map(|e| match e {
                TraceEvent::Step { state, step, .. } if step == "on_entry" => Some(state.clone()),
                _ => None,
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        on_entry(0),
        sorted_names(&["SM1_1", "SM1_2", "SM2_1", "SM2_2", "SM3_1"])
    );
    for n in [1, 2] {
        assert_eq!(
            on_entry(n),
            sorted_names(&["SM1_2", "SM2_2", "SM3_1"]),
            "delivery {}",
            n + 1
        );
    }
    assert_eq!(on_entry(3), ["SM1_2"]);
    assert_eq!(strings(d.root_get("step_on_entry")).unwrap(), ["SM1_2"]);
    assert_eq!(
        d.ae_reason.as_deref(),
        Some("State=<SM1_2> running  raised exception: <number of retries <3> exceeded maximum of <2>>")
    );
    // The first requeue carried every machine's keys (ae_state_previous).
    let previous = d.trace[0]
        .requeue
        .as_ref()
        .unwrap()
        .ae_state_previous
        .clone()
        .unwrap();
    let Value::Hash(pairs) = previous else {
        panic!()
    };
    let keys: Vec<String> = pairs.iter().map(|(k, _)| k.to_ruby_s()).collect();
    assert_eq!(
        keys,
        [
            "/SM/Nested/SM1/main",
            "/SM/Nested/SM2/main",
            "/SM/Nested/SM3/retry"
        ]
    );
    let sm2 = &pairs[1].1;
    assert_eq!(sm2.hash_fetch("ae_state"), Some(&Value::from("SM2_2")));
    assert_eq!(sm2.hash_fetch("ae_state_retries"), Some(&Value::Integer(1)));
    assert_eq!(
        sm2.hash_fetch("ae_state_max_retries"),
        Some(&Value::Integer(2))
    );
}
