//! State machines and deliver: engine-internals.md §6 cases 1–22 (and the state halves of
//! 23–25), the virtual clock, delivery limits, nested machines and the trace, over the
//! small domain `tests/domains/state_machines/SM` (written for these tests). Methods are
//! scripted in Rust; they steer the machines through the root as `$evm.root` would.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use miq_automate_core::{AeError, Value};
use miq_automate_engine::{
    Clock, Datastore, DeliverOptions, Delivery, DeliveryLimit, Engine, EngineError,
    MethodInvocation, Run, Runtime, ScriptedRunner, Stub, TraceEvent, VirtualClock,
};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn datastore() -> Datastore {
    Datastore::load(&[repo().join("tests/domains/state_machines")]).expect("the SM domain loads")
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn no_attrs() -> [(&'static str, Value); 0] {
    []
}

/// Appends `value` to the root's array attribute `key` (`$evm.root[key] = … << value`).
fn push(rt: &mut Runtime<'_>, key: &str, value: Value) {
    let ws = rt.workspace();
    let mut items = match ws.root_get(key) {
        Value::Array(a) => a,
        _ => Vec::new(),
    };
    items.push(value);
    ws.root_set(key, Value::Array(items));
}

fn strings(v: Value) -> Option<Vec<String>> {
    match v {
        Value::Array(a) => Some(a.iter().map(Value::to_ruby_s).collect()),
        Value::Nil => None,
        other => panic!("not an array: {other:?}"),
    }
}

fn list(run: &Run, key: &str) -> Option<Vec<String>> {
    strings(run.root_get(key))
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn names(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

fn has_log(lines: &[&str], line: &str) -> bool {
    lines.contains(&line)
}

/// The hook of every state (ManageIQ's `common_state_method`): records the state under
/// `step_<ae_state_step>`, sets `ae_result` from its input, `ae_next_state` when given,
/// raises or exits when told to.
fn state_hook(rt: &mut Runtime<'_>, m: &MethodInvocation) -> Result<i32, AeError> {
    let step = format!(
        "step_{}",
        rt.workspace().root_get("ae_state_step").to_ruby_s()
    );
    let state = rt.workspace().root_get("ae_state");
    push(rt, &step, state);
    let ws = rt.workspace();
    ws.root_set("ae_result", m.inputs["ae_result"].clone());
    if !m.inputs["ae_next_state"].is_blank() {
        ws.root_set("ae_next_state", m.inputs["ae_next_state"].clone());
    }
    if !m.inputs["raise"].is_blank() {
        return Err(AeError::RuntimeError(m.inputs["raise"].to_ruby_s()));
    }
    match &m.inputs["exit_code"] {
        Value::Integer(rc) if *rc != 0 => Ok(*rc as i32),
        _ => Ok(0),
    }
}

/// What a state's main work does (by the Work instance's name).
#[derive(Clone, Copy, Debug)]
enum Main {
    Ok,
    Result(&'static str),
    Next(&'static str),
    Raise,
    Exit(i32),
}

/// The 3-state machine `/SM/Steps/Machine/<instance>` with `main` deciding each state's work.
fn steps(
    instance: &str,
    main: impl Fn(&str) -> Main + Send + Sync + 'static,
) -> Result<Run, Box<miq_automate_engine::Aborted>> {
    let runner = ScriptedRunner::new()
        .on("state_hook", state_hook)
        .on("work", move |rt, _| {
            let ws = rt.workspace();
            let me = ws
                .obj(ws.current())
                .instance_name
                .clone()
                .unwrap_or_default();
            push(rt, "states_executed", Value::from(me.as_str()));
            match main(&me) {
                Main::Ok => rt.workspace().root_set("ae_result", Value::from("ok")),
                Main::Result(r) => rt.workspace().root_set("ae_result", Value::from(r)),
                Main::Next(n) => {
                    rt.workspace().root_set("ae_result", Value::from("ok"));
                    rt.workspace().root_set("ae_next_state", Value::from(n));
                }
                Main::Raise => {
                    return Err(AeError::RuntimeError("Intentionally raise an error".into()))
                }
                Main::Exit(rc) => return Ok(rc),
            }
            Ok(0)
        });
    Engine::new(datastore())
        .with_runner(runner)
        .with_clock(VirtualClock::new(start()))
        .instantiate(&format!("/SM/Steps/Machine/{instance}"), no_attrs())
}

fn all_ok(_: &str) -> Main {
    Main::Ok
}

struct Expect<'a> {
    executed: &'a [&'a str],
    on_entry: &'a [&'a str],
    on_exit: &'a [&'a str],
    on_error: &'a [&'a str],
}

fn check(run: &Run, e: Expect<'_>) {
    let opt = |v: &[&str]| if v.is_empty() { None } else { names(v) };
    assert_eq!(
        list(run, "states_executed"),
        opt(e.executed),
        "states_executed"
    );
    assert_eq!(list(run, "step_on_entry"), opt(e.on_entry), "step_on_entry");
    assert_eq!(list(run, "step_on_exit"), opt(e.on_exit), "step_on_exit");
    assert_eq!(list(run, "step_on_error"), opt(e.on_error), "step_on_error");
}

// ----- steps (miq_ae_state_machine_steps_spec.rb) -------------------------------------

#[test]
fn case_01_all_states_run_every_hook_in_order() {
    let run = steps("all", all_ok).unwrap();
    check(
        &run,
        Expect {
            executed: &["instance1", "instance2", "instance3"],
            on_entry: &["state1", "state2", "state3"],
            on_exit: &["state1", "state2", "state3"],
            on_error: &[],
        },
    );
    // Case 24's success half: the machine ends with no state, after an on_exit.
    assert_eq!(run.root_get("ae_state"), Value::from(""));
    assert_eq!(run.root_get("ae_status_state"), Value::from("on_exit"));
    assert_eq!(run.root_get("ae_result"), Value::from("ok"));
    assert_eq!(run.root_get("ae_state_retries"), Value::Integer(0));
    let logs = run.log_messages();
    for line in [
        "In State=[state1], invoking [on_entry] method=[state_hook]",
        "Processing State=[state1]",
        "Processed State=[state1] with Result=[ok]",
        "In State=[state1], invoking [on_exit] method=[state_hook]",
        "Processed State=[state1]",
        "Next State=[state2]",
        "Next State=[state3]",
        "Next State=[]",
    ] {
        assert!(has_log(&logs, line), "{line}\n{logs:#?}");
    }
    let order: Vec<usize> = [
        "In State=[state1], invoking [on_entry] method=[state_hook]",
        "Processing State=[state1]",
        "Processed State=[state1] with Result=[ok]",
        "Processed State=[state1]",
        "In State=[state1], invoking [on_exit] method=[state_hook]",
        "Next State=[state2]",
    ]
    .iter()
    .map(|l| logs.iter().position(|x| x == l).unwrap())
    .collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}");
}

#[test]
fn case_02_main_raises_or_sets_error_then_on_error_and_stop() {
    let expect = Expect {
        executed: &["instance1", "instance2"],
        on_entry: &["state1", "state2"],
        on_exit: &["state1"],
        on_error: &["state2"],
    };
    let run = steps("all", |i| {
        if i == "instance2" {
            Main::Raise
        } else {
            Main::Ok
        }
    })
    .unwrap();
    check(&run, expect);
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
    // Case 24: the reason names the state; ae_state stays on it.
    assert_eq!(
        run.root_get("ae_reason"),
        Value::from(
            "State=<state2> running  raised exception: <Method exited with rc=Unknown RC: [1]>"
        )
    );
    assert_eq!(run.root_get("ae_state"), Value::from("state2"));
    let logs = run.log_messages();
    assert!(has_log(&logs, "Error in State=[state2]"));
    assert!(has_log(
        &logs,
        "Aborting instantiation (unknown method return code) because [Method exited with rc=Unknown RC: [1]]"
    ));
    let expect = Expect {
        executed: &["instance1", "instance2"],
        on_entry: &["state1", "state2"],
        on_exit: &["state1"],
        on_error: &["state2"],
    };
    let run = steps("all", |i| {
        if i == "instance2" {
            Main::Result("error")
        } else {
            Main::Ok
        }
    })
    .unwrap();
    check(&run, expect);
    assert!(has_log(
        &run.log_messages(),
        "Processed State=[state2] with Result=[error]"
    ));
}

#[test]
fn case_03_on_entry_next_state_skips_the_rest_of_the_state() {
    let run = steps("entry_next", all_ok).unwrap();
    check(
        &run,
        Expect {
            executed: &["instance3"],
            on_entry: &["state1", "state3"],
            on_exit: &["state3"],
            on_error: &[],
        },
    );
    let logs = run.log_messages();
    assert!(has_log(&logs, "Skipping to state state3"));
    assert!(has_log(&logs, "Skipping State=[state1]"));
    assert!(has_log(&logs, "Next State=[state3]"));
    assert!(!logs.iter().any(|l| l.contains("State=[state2]")));
}

#[test]
fn case_04_on_exit_or_main_next_state_runs_on_exit_then_jumps() {
    let expect = || Expect {
        executed: &["instance1", "instance3"],
        on_entry: &["state1", "state3"],
        on_exit: &["state1", "state3"],
        on_error: &[],
    };
    let run = steps("exit_next", all_ok).unwrap();
    check(&run, expect());
    let run = steps("all", |i| {
        if i == "instance1" {
            Main::Next("state3")
        } else {
            Main::Ok
        }
    })
    .unwrap();
    check(&run, expect());
    assert!(has_log(&run.log_messages(), "Skipping to state state3"));
}

#[test]
fn case_05_on_error_continue_with_next_state_jumps() {
    let run = steps("error_next", |i| {
        if i == "instance1" {
            Main::Result("error")
        } else {
            Main::Ok
        }
    })
    .unwrap();
    check(
        &run,
        Expect {
            executed: &["instance1", "instance3"],
            on_entry: &["state1", "state3"],
            on_exit: &["state3"],
            on_error: &["state1"],
        },
    );
    let logs = run.log_messages();
    assert!(has_log(&logs, "Resetting Error in State=[state1]"));
    assert!(has_log(&logs, "Next State=[state3]"));
    assert_eq!(run.root_get("ae_result"), Value::from("ok"));
}

#[test]
fn case_06_on_entry_error_skips_main_runs_on_error() {
    let run = steps("entry_error", all_ok).unwrap();
    check(
        &run,
        Expect {
            executed: &["instance1"],
            on_entry: &["state1", "state2"],
            on_exit: &["state1"],
            on_error: &["state2"],
        },
    );
    assert!(!has_log(&run.log_messages(), "Processing State=[state2]"));
}

#[test]
fn case_07_on_exit_error_stops_without_on_error() {
    let run = steps("exit_error", all_ok).unwrap();
    check(
        &run,
        Expect {
            executed: &["instance1", "instance2"],
            on_entry: &["state1", "state2"],
            on_exit: &["state1", "state2"],
            on_error: &[],
        },
    );
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
}

#[test]
fn case_08_on_error_continue_runs_the_following_states() {
    let run = steps("error_continue", |i| {
        if i == "instance2" {
            Main::Result("error")
        } else {
            Main::Ok
        }
    })
    .unwrap();
    check(
        &run,
        Expect {
            executed: &["instance1", "instance2", "instance3"],
            on_entry: &["state1", "state2", "state3"],
            on_exit: &["state1", "state3"],
            on_error: &["state2"],
        },
    );
    assert!(has_log(
        &run.log_messages(),
        "Resetting Error in State=[state2]"
    ));
}

#[test]
fn case_09_on_entry_skip_skips_main_and_on_exit() {
    let run = steps("entry_skip", all_ok).unwrap();
    check(
        &run,
        Expect {
            executed: &["instance2", "instance3"],
            on_entry: &["state1", "state2", "state3"],
            on_exit: &["state2", "state3"],
            on_error: &[],
        },
    );
    assert!(has_log(&run.log_messages(), "Skipping State=[state1]"));
}

#[test]
fn case_10_missing_hook_methods() {
    // A missing on_entry method is the state's error: on_error runs.
    let run = steps("entry_missing", all_ok).unwrap();
    check(
        &run,
        Expect {
            executed: &["instance1"],
            on_entry: &["state1"],
            on_exit: &["state1"],
            on_error: &["state2"],
        },
    );
    assert_eq!(
        run.root_get("ae_reason"),
        Value::from(
            "State=<state2> running on_entry raised exception: <In State=[state2], on_entry Method [does_not_exist] not found in class [SM/Steps/Machine]>"
        )
    );
    // A missing on_exit method stops the machine; no on_error.
    let run = steps("exit_missing", all_ok).unwrap();
    check(
        &run,
        Expect {
            executed: &["instance1", "instance2"],
            on_entry: &["state1", "state2"],
            on_exit: &["state1"],
            on_error: &[],
        },
    );
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
    // A missing on_error method: stop, nothing more.
    let run = steps("error_missing", |i| {
        if i == "instance2" {
            Main::Result("error")
        } else {
            Main::Ok
        }
    })
    .unwrap();
    check(
        &run,
        Expect {
            executed: &["instance1", "instance2"],
            on_entry: &["state1", "state2"],
            on_exit: &["state1"],
            on_error: &[],
        },
    );
}

#[test]
fn case_11_retry_in_main_and_on_exit_and_async_launch() {
    let two = |r: &'static str| {
        move |i: &str| {
            if i == "instance2" {
                Main::Result(r)
            } else {
                Main::Ok
            }
        }
    };
    // Main retry, then on_exit retry: counted once.
    let run = steps("exit_retry", two("retry")).unwrap();
    check(
        &run,
        Expect {
            executed: &["instance1", "instance2"],
            on_entry: &["state1", "state2"],
            on_exit: &["state1", "state2"],
            on_error: &[],
        },
    );
    assert_eq!(run.root_get("ae_state_retries"), Value::Integer(1));
    assert_eq!(run.root_get("ae_state_max_retries"), Value::Integer(100));
    assert_eq!(run.root_get("ae_result"), Value::from("retry"));
    assert_eq!(run.root_get("ae_state"), Value::from("state2"));
    // async_launch: on_exit is not run; the result becomes retry.
    let run = steps("exit_retry", two("async_launch")).unwrap();
    check(
        &run,
        Expect {
            executed: &["instance1", "instance2"],
            on_entry: &["state1", "state2"],
            on_exit: &["state1"],
            on_error: &[],
        },
    );
    assert_eq!(run.root_get("ae_state_retries"), Value::Integer(1));
    assert_eq!(run.root_get("ae_result"), Value::from("retry"));
    // Main ok, on_exit retry: counted by on_exit.
    let run = steps("exit_retry", all_ok).unwrap();
    assert_eq!(list(&run, "step_on_exit"), names(&["state1", "state2"]));
    assert_eq!(run.root_get("ae_state_retries"), Value::Integer(1));
    assert_eq!(run.root_get("ae_state_max_retries"), Value::Integer(100));
}

#[test]
fn case_12_invalid_next_state_aborts() {
    let err = steps("entry_bad_next", all_ok).unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::AbortInstantiation(
            "Invalid state specified <state_missing>".into()
        ))
    );
    let logs = err.run.log_messages();
    assert!(has_log(
        &logs,
        "Next State=state_missing is invalid aborting state machine"
    ));
    assert!(has_log(
        &logs,
        "Aborting instantiation because [Invalid state specified <state_missing>]"
    ));
    assert!(matches!(
        err.run.trace.last(),
        Some(TraceEvent::Raised { state, .. }) if state == "state1"
    ));
}

#[test]
fn case_13_miq_stop_in_a_hook_stops_the_machine() {
    let run = steps("entry_stop", all_ok).unwrap();
    let logs = run.log_messages();
    assert!(has_log(
        &logs,
        "State=<state1> running on_entry raised exception: <Method exited with rc=MIQ_STOP>"
    ));
    assert!(has_log(
        &logs,
        "Stopping instantiation because [Method exited with rc=MIQ_STOP]"
    ));
    assert!(run.root.is_none(), "the machine object is dropped");
    assert!(!logs.iter().any(|l| l.starts_with("Processing State")));
}

#[test]
fn miq_stop_in_a_main_drops_only_its_child_and_miq_abort_is_a_state_error() {
    let run = steps("all", |i| {
        if i == "instance2" {
            Main::Exit(8)
        } else {
            Main::Ok
        }
    })
    .unwrap();
    assert_eq!(run.root_get("ae_result"), Value::from("ok"));
    assert_eq!(
        list(&run, "step_on_exit"),
        names(&["state1", "state2", "state3"])
    );
    assert!(has_log(
        &run.log_messages(),
        "Processed State=[state2] with Result=[ok]"
    ));
    let run = steps("all", |i| {
        if i == "instance2" {
            Main::Exit(16)
        } else {
            Main::Ok
        }
    })
    .unwrap();
    assert_eq!(
        run.root_get("ae_reason"),
        Value::from("State=<state2> running  raised exception: <Method exited with rc=MIQ_ABORT>")
    );
    assert_eq!(list(&run, "step_on_error"), names(&["state2"]));
}

// ----- more steps: hooks, METHOD::, missing relationship (cases 23-25, state halves) ---

#[test]
fn hooks_split_on_semicolons_and_skip_comments() {
    let run = steps("two_hooks", all_ok).unwrap();
    let logs = run.log_messages();
    assert!(has_log(
        &logs,
        "In State=[state1], invoking [on_entry] method=[state_hook]"
    ));
    assert!(has_log(
        &logs,
        "In State=[state1], invoking [on_entry] method=[state_hook(ae_result => 'ok')]"
    ));
    assert_eq!(
        list(&run, "step_on_entry"),
        names(&["state1", "state1", "state2", "state3"])
    );
}

#[test]
fn case_23_25_method_main_no_main_and_a_missing_instance() {
    let run = steps("method_main", all_ok).unwrap();
    // state1: METHOD:: runs on the machine object; state2: `#` has no main.
    assert_eq!(list(&run, "step_main"), names(&["state1"]));
    let logs = run.log_messages();
    assert!(has_log(&logs, "Processed State=[state1] with Result=[ok]"));
    assert!(!has_log(&logs, "Processing State=[state2]"));
    // state3 names a class nobody has: the relationship is empty, a state error.
    assert!(has_log(
        &logs,
        "Class [SM/Steps/Nowhere] not found in MiqAeDatastore"
    ));
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
    assert_eq!(
        run.root_get("ae_reason"),
        Value::from("State=<state3> running  raised exception: <empty relationship>")
    );
    assert_eq!(run.root_get("ae_state"), Value::from("state3"));
    assert_eq!(list(&run, "step_on_error"), names(&["state3"]));
}

#[test]
fn the_trace_names_each_state_hook_main_result_and_next_state() {
    let run = steps("all", all_ok).unwrap();
    let machine = "/SM/Steps/Machine/all".to_string();
    let first: Vec<TraceEvent> = run.trace.iter().take(5).cloned().collect();
    let step = |step: &str, method: &str| TraceEvent::Step {
        machine: machine.clone(),
        state: "state1".into(),
        step: step.into(),
        method: method.into(),
        result: "ok".into(),
        error: None,
    };
    assert_eq!(
        first,
        vec![
            TraceEvent::Enter {
                machine: machine.clone(),
                state: "state1".into(),
                retries: 0
            },
            step("on_entry", "state_hook"),
            step("main", "/SM/Steps/Work/instance1"),
            step("on_exit", "state_hook"),
            TraceEvent::Done {
                machine: machine.clone(),
                state: "state1".into(),
                result: "ok".into(),
                next_state: Some("state2".into())
            },
        ]
    );
    assert_eq!(run.trace.len(), 15);
    let run = steps("entry_missing", all_ok).unwrap();
    let failed = run
        .trace
        .iter()
        .find(|e| matches!(e, TraceEvent::Step { error: Some(_), .. }))
        .unwrap();
    assert!(
        matches!(failed, TraceEvent::Step { state, step, result, error: Some(e), .. }
        if state == "state2" && step == "on_entry" && result == "error"
            && e.starts_with("MiqAeException::MethodNotFound: In State=[state2]"))
    );
    assert!(run.trace.iter().any(|e| matches!(e,
        TraceEvent::Done { state, result, next_state: None, .. } if state == "state2" && result == "error")));
}

// ----- deliver (miq_ae_state_machine_retry_spec.rb) -----------------------------------

type Work = dyn Fn(&mut Runtime<'_>) -> Result<i32, AeError> + Send + Sync;

fn retry_engine(work: Arc<Work>) -> (Engine, VirtualClock) {
    let clock = VirtualClock::new(start());
    let runner = ScriptedRunner::new().on("work", move |rt, _| work(rt));
    let engine = Engine::new(datastore())
        .with_runner(runner)
        .with_clock(clock.clone());
    (engine, clock)
}

fn deliver_top(engine: &Engine, machine: &str, options: DeliverOptions) -> Delivery {
    engine.deliver(
        "/SM/Retry/Top/everest",
        [("machine", Value::from(machine))],
        options,
    )
}

fn set(rt: &mut Runtime<'_>, key: &str, v: impl Into<Value>) {
    rt.workspace().root_set(key, v.into());
}

#[test]
fn case_14_state_vars_survive_a_retry() {
    let (engine, _) = retry_engine(Arc::new(|rt| {
        let ws = rt.workspace();
        let vars = ws.state_vars_mut();
        if vars.get(&Value::from("gravy")) == Value::from("train") {
            let one = vars.get(&Value::from("one"));
            vars.set(&Value::Symbol("three".into()), Value::Integer(3))?;
            vars.set(
                &Value::from("one"),
                Value::Integer(if let Value::Integer(i) = one {
                    i + 1
                } else {
                    -1
                }),
            )?;
            ws.root_set("finished", Value::Bool(true));
            ws.root_set("ae_result", Value::from("ok"));
        } else {
            vars.set(&Value::Symbol("one".into()), Value::Integer(0))?;
            vars.set(&Value::Symbol("two".into()), Value::Integer(2))?;
            vars.set(&Value::from("gravy"), Value::from("train"))?;
            ws.root_set("ae_result", Value::from("retry"));
            ws.root_set("ae_retry_interval", Value::from("1.minute"));
        }
        Ok(0)
    }));
    let d = deliver_top(&engine, "Machine/many", DeliverOptions::default());
    assert_eq!((d.deliveries, d.ae_result.as_str()), (2, "ok"));
    assert_eq!(d.virtual_seconds, 60);
    assert_eq!(d.root_get("finished"), Value::Bool(true));
    let vars = d.run.as_ref().unwrap().workspace.state_vars();
    assert_eq!(vars.len(), 4);
    for (k, v) in [
        ("one", Value::Integer(1)),
        ("two", Value::Integer(2)),
        ("three", Value::Integer(3)),
        ("gravy", Value::from("train")),
    ] {
        assert_eq!(vars.get(&Value::from(k)), v, "{k}");
    }
    let requeue = d.trace[0].requeue.as_ref().unwrap();
    assert_eq!(requeue.retry_interval, 60);
    assert!(requeue.ae_state_data.is_some());
}

fn endless_retry(interval: &'static str) -> Arc<Work> {
    Arc::new(move |rt| {
        set(rt, "ae_result", "retry");
        set(rt, "ae_retry_interval", interval);
        Ok(0)
    })
}

#[test]
fn case_15_max_retries_ends_the_retries() {
    let (engine, _) = retry_engine(endless_retry(""));
    let d = deliver_top(&engine, "Machine/one", DeliverOptions::default());
    assert_eq!(d.deliveries, 3);
    assert_eq!(d.ae_result, "error");
    assert_eq!(
        d.ae_reason.as_deref(),
        Some("State=<state1> running  raised exception: <number of retries <2> exceeded maximum of <1>>")
    );
    assert_eq!(
        d.trace.iter().filter(|t| t.requeue.is_some()).count(),
        2,
        "two requeues, then none"
    );
    assert_eq!(d.limit, None);
    let logs = d.log_messages();
    assert!(has_log(
        &logs,
        "Error delivering {\"machine\"=>\"Machine/one\"} for object [.] with state [state1] to Automate: "
    ));
}

#[test]
fn case_16_max_time_is_judged_on_the_virtual_clock() {
    let (engine, _) = retry_engine(endless_retry("3"));
    let d = deliver_top(&engine, "Machine/timed", DeliverOptions::default());
    assert_eq!((d.deliveries, d.ae_result.as_str()), (2, "error"));
    assert_eq!(d.virtual_seconds, 3);
    assert_eq!(
        d.ae_reason.as_deref(),
        Some("State=<state1> running  raised exception: <time in state <3.0 seconds> exceeded maximum of <2>>")
    );
    assert!(d.trace[1].requeue.is_none());
    // "1.hour": deliveries every 10 minutes until an hour has passed in the state.
    let (engine, _) = retry_engine(endless_retry("10.minutes"));
    let d = deliver_top(&engine, "Machine/hourly", DeliverOptions::default());
    assert_eq!((d.deliveries, d.ae_result.as_str()), (7, "error"));
    assert_eq!(d.virtual_seconds, 3600);
    assert_eq!(
        d.ae_reason.as_deref(),
        Some("State=<state1> running  raised exception: <time in state <3600.0 seconds> exceeded maximum of <1.hour>>")
    );
    // The state's start is kept from the first delivery.
    assert_eq!(
        d.trace[6].state.as_deref(),
        Some("state1"),
        "every delivery resumes state1"
    );
    assert_eq!(
        d.root_get("ae_state_started"),
        Value::from("2024-05-01 10:00:00 UTC")
    );
}

fn restart_work(next: Option<&'static str>) -> Arc<Work> {
    Arc::new(move |rt| {
        let ws = rt.workspace();
        let me = ws
            .obj(ws.current())
            .instance_name
            .clone()
            .unwrap_or_default();
        push(rt, "states_executed", Value::from(me.as_str()));
        if me == "meth3" {
            set(rt, "ae_result", "restart");
            if let Some(n) = next {
                set(rt, "ae_next_state", n);
            }
        } else {
            set(rt, "ae_result", "ok");
        }
        Ok(0)
    })
}

#[test]
fn case_17_restart_requeues_at_the_first_or_the_next_state() {
    let options = || DeliverOptions {
        max_deliveries: 2,
        ..DeliverOptions::default()
    };
    let (engine, _) = retry_engine(restart_work(None));
    let d = deliver_top(&engine, "Multi/three", options());
    let requeue = d.trace[0].requeue.as_ref().unwrap();
    assert_eq!(requeue.state.as_deref(), Some("state1"));
    let logs = d.log_messages();
    assert!(has_log(&logs, "State=[state3] has requested a restart"));
    assert!(has_log(&logs, "Will restart at State=[state1]"));
    // The second delivery starts again at state1.
    assert_eq!(
        d.root_get("states_executed"),
        Value::Array(vec!["meth1".into(), "meth2".into(), "meth3".into()])
    );
    assert_eq!(
        (d.deliveries, d.limit),
        (2, Some(DeliveryLimit::MaxDeliveries))
    );
    assert_eq!(d.ae_result, "retry");
    // A restart counts as a retry and does not reset the count: the restarted state
    // is entered with it (an ok state then resets it, as any state change does).
    assert_eq!(
        d.trace[0].requeue.as_ref().unwrap().ae_state_retries,
        Value::Integer(1)
    );
    assert!(matches!(&d.trace[1].events[0],
        TraceEvent::Enter { state, retries: 1, .. } if state == "state1"));

    let (engine, _) = retry_engine(restart_work(Some("state2")));
    let d = deliver_top(&engine, "Multi/three", options());
    assert_eq!(
        d.trace[0].requeue.as_ref().unwrap().state.as_deref(),
        Some("state2")
    );
    assert!(has_log(&d.log_messages(), "Will restart at State=[state2]"));
    assert_eq!(
        d.root_get("states_executed"),
        Value::Array(vec!["meth2".into(), "meth3".into()])
    );
}

#[test]
fn case_18_server_affinity_and_initial_state_data() {
    let (engine, _) = retry_engine(Arc::new(|rt| {
        set(rt, "ae_result", "retry");
        set(rt, "ae_retry_server_affinity", true);
        Ok(0)
    }));
    let one = || DeliverOptions {
        max_deliveries: 1,
        ..DeliverOptions::default()
    };
    let d = deliver_top(&engine, "Machine/many", one());
    assert!(d.trace[0].requeue.as_ref().unwrap().server_affinity);
    let (engine, _) = retry_engine(endless_retry(""));
    let data = Value::Hash(vec![(Value::from("old"), Value::Integer(1))]);
    let d = deliver_top(
        &engine,
        "Machine/many",
        DeliverOptions {
            state_data: Some(data.clone()),
            ..one()
        },
    );
    let requeue = d.trace[0].requeue.as_ref().unwrap();
    assert!(!requeue.server_affinity);
    assert_eq!(requeue.ae_state_data, Some(data));
}

// ----- deliver: the clock and the limits -------------------------------------------------

#[test]
fn retries_advance_the_virtual_clock_by_their_interval() {
    let (engine, clock) = retry_engine(Arc::new(|rt| {
        let vars = rt.workspace().state_vars_mut();
        let n = match vars.get(&Value::from("n")) {
            Value::Integer(n) => n,
            _ => 0,
        };
        vars.set(&Value::from("n"), Value::Integer(n + 1))?;
        if n < 3 {
            set(rt, "ae_result", "retry");
            set(rt, "ae_retry_interval", "1.minute");
        }
        // The shared clock is what stubs and models see.
        let now = rt.clock().now().to_rfc3339();
        push(rt, "seen", Value::from(now.as_str()));
        Ok(0)
    }));
    let wall = std::time::Instant::now();
    let d = deliver_top(&engine, "Machine/many", DeliverOptions::default());
    assert!(
        wall.elapsed() < std::time::Duration::from_secs(5),
        "no sleeping"
    );
    assert_eq!((d.deliveries, d.ae_result.as_str()), (4, "ok"));
    assert_eq!(d.virtual_seconds, 180);
    let at: Vec<i64> = d.trace.iter().map(|t| t.at).collect();
    assert_eq!(at, [0, 60, 120, 180]);
    assert_eq!(clock.now(), start() + chrono::Duration::seconds(180));
    assert_eq!(
        d.root_get("seen"),
        Value::Array(vec!["2024-05-01T10:03:00+00:00".into()])
    );
    let logs = d.log_messages();
    assert!(has_log(
        &logs,
        "Delivering {\"machine\"=>\"Machine/many\"} for object [.] with state [] to Automate"
    ));
    assert!(has_log(
        &logs,
        "Delivering {\"machine\"=>\"Machine/many\"} for object [.] with state [state1] to Automate"
    ));
    let requeue = logs.iter().find(|l| l.starts_with("Requeuing ")).unwrap();
    assert!(requeue.starts_with(
        "Requeuing {:uri=>\"/SM/Retry/Top/everest\", :attrs=>{\"machine\"=>\"Machine/many\"}, :state=>\"state1\", :ae_fsm_started=>nil, :ae_state_started=>\"2024-05-01 10:00:00 UTC\", :ae_state_retries=>1, :ae_state_data=>{\"n\"=>1}, :ae_state_previous=>{\"/SM/Retry/Machine/many\"=>{\"ae_state\"=>\"state1\", "
    ), "{requeue}");
    assert!(requeue.ends_with(
        "} for object [.] with state [state1] to Automate for delivery in [60] seconds"
    ));
}

#[test]
fn max_deliveries_and_max_virtual_time_stop_a_retrying_request() {
    let (engine, _) = retry_engine(endless_retry("1.hour"));
    let d = deliver_top(
        &engine,
        "Machine/many",
        DeliverOptions {
            max_deliveries: 5,
            ..DeliverOptions::default()
        },
    );
    assert_eq!(d.deliveries, 5);
    assert_eq!(d.limit, Some(DeliveryLimit::MaxDeliveries));
    assert_eq!(d.ae_result, "retry");
    assert_eq!(d.virtual_seconds, 4 * 3600);
    assert!(has_log(
        &d.log_messages(),
        "Not delivering again: max_deliveries [5] reached"
    ));
    let (engine, _) = retry_engine(endless_retry("1.hour"));
    let d = deliver_top(
        &engine,
        "Machine/many",
        DeliverOptions {
            max_virtual_time: Some(7200),
            ..DeliverOptions::default()
        },
    );
    assert_eq!(d.deliveries, 3);
    assert_eq!(d.limit, Some(DeliveryLimit::MaxVirtualTime));
    assert_eq!(d.virtual_seconds, 7200);
}

#[test]
fn a_stub_and_a_model_share_the_engines_clock() {
    let clock = VirtualClock::new(start());
    // What a mock VMDB would hold: the same handle.
    let vmdb_clock = clock.clone();
    let mut engine = Engine::new(datastore())
        .with_runner(ScriptedRunner::new())
        .with_clock(clock.clone());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    engine.stub(
        "/SM/Retry/Work/w",
        Stub::call(move |rt| {
            // A stub that takes 90 seconds of virtual time.
            seen2.lock().unwrap().push(rt.clock().now());
            rt.clock().wait(90);
            rt.workspace().root_set("ae_result", Value::from("ok"));
            Ok(0)
        }),
    );
    let d = deliver_top(&engine, "Machine/many", DeliverOptions::default());
    assert_eq!(d.ae_result, "ok");
    assert_eq!(seen.lock().unwrap().as_slice(), [start()]);
    assert_eq!(vmdb_clock.now(), start() + chrono::Duration::seconds(90));
    assert_eq!(d.virtual_seconds, 90);
}

#[test]
fn aborts_and_empty_workspaces_end_a_delivery_with_error() {
    let (engine, _) = retry_engine(endless_retry(""));
    let d = engine.deliver("/SM/Nope/Top/x", no_attrs(), DeliverOptions::default());
    assert_eq!((d.deliveries, d.ae_result.as_str()), (1, "error"));
    assert!(d
        .log_messages()
        .iter()
        .any(|l| l.ends_with("to Automate: Empty Workspace")));
    // The root itself is a machine whose on_entry names a bad state: an abort.
    let runner = ScriptedRunner::new().on("state_hook", state_hook);
    let engine = Engine::new(datastore()).with_runner(runner);
    let d = engine.deliver(
        "/SM/Steps/Machine/entry_bad_next",
        no_attrs(),
        DeliverOptions::default(),
    );
    assert_eq!(d.ae_result, "error");
    assert_eq!(
        d.error.as_deref(),
        Some("MiqAeException::AbortInstantiation: Invalid state specified <state_missing>")
    );
    assert!(d.log_messages().iter().any(|l| l
        == &"Error delivering {} for object [.] with state [] to Automate: Invalid state specified <state_missing>"));
}

#[test]
fn a_delivery_serializes_to_json() {
    let (engine, _) = retry_engine(Arc::new(|rt| {
        let first = rt.workspace().state_vars().is_empty();
        rt.workspace()
            .state_vars_mut()
            .set(&Value::from("seen"), Value::Bool(true))?;
        set(rt, "ae_result", if first { "retry" } else { "ok" });
        Ok(0)
    }));
    let d = deliver_top(&engine, "Machine/many", DeliverOptions::default());
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["ae_result"], "ok");
    assert_eq!(json["deliveries"], 2);
    assert_eq!(json["virtual_seconds"], 0);
    assert_eq!(json["limit"], serde_json::Value::Null);
    assert_eq!(json["trace"][0]["events"][0]["event"], "enter");
    assert_eq!(json["trace"][0]["events"][0]["state"], "state1");
    assert_eq!(json["trace"][0]["requeue"]["state"], "state1");
    assert_eq!(json["trace"][1]["events"][1]["event"], "step");
    assert_eq!(json["trace"][1]["events"][1]["step"], "main");
    assert_eq!(json["objects"][0]["name"], "/SM/Retry/Top/everest");
    assert_eq!(json["objects"][1]["parent"], 0);
    assert_eq!(json["state_vars"]["seen"], true);
    assert!(json["logs"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Delivering "));
    assert_eq!(json["logs"][0]["delivery"], 1);
}

// ----- nested machines (miq_ae_state_machine_multi_spec.rb) ----------------------------

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
    Engine::new(datastore())
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
fn case_19_nested_machines_all_ok() {
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
fn case_20_a_childs_error_reaches_every_connecting_state() {
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
fn case_21_a_childs_on_error_continue_lets_everything_run() {
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
fn case_22_a_childs_retry_redelivers_the_whole_tree() {
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

#[test]
fn requeue_yaml_in_the_uri_resumes_a_machine() {
    // A URI carrying ae_state_data / ae_state_previous as ManageIQ's queue writes them.
    let runner = ScriptedRunner::new().on("work", |rt, _| {
        let v = rt.workspace().state_vars().get(&Value::from("old"));
        rt.workspace().root_set("old", v);
        let r = rt.workspace().root_get("ae_state_retries");
        rt.workspace().root_set("retries_seen", r);
        Ok(0)
    });
    let engine = Engine::new(datastore()).with_runner(runner);
    let run = engine
        .instantiate(
            "/SM/Retry/Machine/many?ae_state_data=old%3A%201%0A&ae_state_previous=%2FSM%2FRetry%2FMachine%2Fmany%3A%0A%20%20ae_state%3A%20state1%0A%20%20ae_state_retries%3A%205%0A",
            no_attrs(),
        )
        .unwrap();
    assert_eq!(run.root_get("old"), Value::Integer(1));
    assert_eq!(run.root_get("retries_seen"), Value::Integer(5));
}
