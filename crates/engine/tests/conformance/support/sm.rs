//! State-machine helpers: the small domain `tests/domains/state_machines/SM` (written for
//! these tests), the scripted hooks and works that steer its machines through the root as
//! `$evm.root` would, and the deliver helpers.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use miq_automate_core::{AeError, Value};
use miq_automate_engine::{
    Datastore, DeliverOptions, Delivery, Engine, MethodInvocation, Run, Runtime, ScriptedRunner,
    VirtualClock,
};

use super::{no_attrs, repo};

/// `tests/domains/state_machines`: the SM domain.
pub fn datastore() -> Datastore {
    Datastore::load(&[repo().join("tests/domains/state_machines")]).expect("the SM domain loads")
}

pub fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// Appends `value` to the root's array attribute `key` (`$evm.root[key] = … << value`).
pub fn push(rt: &mut Runtime<'_>, key: &str, value: Value) {
    let ws = rt.workspace();
    let mut items = match ws.root_get(key) {
        Value::Array(a) => a,
        _ => Vec::new(),
    };
    items.push(value);
    ws.root_set(key, Value::Array(items));
}

pub fn strings(v: Value) -> Option<Vec<String>> {
    match v {
        Value::Array(a) => Some(a.iter().map(Value::to_ruby_s).collect()),
        Value::Nil => None,
        other => panic!("not an array: {other:?}"),
    }
}

pub fn list(run: &Run, key: &str) -> Option<Vec<String>> {
    strings(run.root_get(key))
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

pub fn names(items: &[&str]) -> Option<Vec<String>> {
    Some(items.iter().map(|s| s.to_string()).collect())
}

/// The hook of every state (ManageIQ's `common_state_method`): records the state under
/// `step_<ae_state_step>`, sets `ae_result` from its input, `ae_next_state` when given,
/// raises or exits when told to.
pub fn state_hook(rt: &mut Runtime<'_>, m: &MethodInvocation) -> Result<i32, AeError> {
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
pub enum Main {
    Ok,
    Result(&'static str),
    Next(&'static str),
    Raise,
    Exit(i32),
}

/// The 3-state machine `/SM/Steps/Machine/<instance>` with `main` deciding each state's work.
pub fn steps(
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

pub fn all_ok(_: &str) -> Main {
    Main::Ok
}

pub struct Expect<'a> {
    pub executed: &'a [&'a str],
    pub on_entry: &'a [&'a str],
    pub on_exit: &'a [&'a str],
    pub on_error: &'a [&'a str],
}

pub fn check(run: &Run, e: Expect<'_>) {
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

pub type Work = dyn Fn(&mut Runtime<'_>) -> Result<i32, AeError> + Send + Sync;

pub fn retry_engine(work: Arc<Work>) -> (Engine, VirtualClock) {
    let clock = VirtualClock::new(start());
    let runner = ScriptedRunner::new().on("work", move |rt, _| work(rt));
    let engine = Engine::new(datastore())
        .with_runner(runner)
        .with_clock(clock.clone());
    (engine, clock)
}

pub fn deliver_top(engine: &Engine, machine: &str, options: DeliverOptions) -> Delivery {
    engine.deliver(
        "/SM/Retry/Top/everest",
        [("machine", Value::from(machine))],
        options,
    )
}

pub fn set(rt: &mut Runtime<'_>, key: &str, v: impl Into<Value>) {
    rt.workspace().root_set(key, v.into());
}

pub fn endless_retry(interval: &'static str) -> Arc<Work> {
    Arc::new(move |rt| {
        set(rt, "ae_result", "retry");
        set(rt, "ae_retry_interval", interval);
        Ok(0)
    })
}
