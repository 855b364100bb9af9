//! Follows `spec/miq_ae_state_machine_new_spec.rb`: the limits of a state (`max_retries`,
//! `max_time`) and a state's main (`METHOD::` or a relationship). The peer calls
//! `enforce_max_retries`, `enforce_max_time` and `process_state_relationship` on a test
//! object; here a one-state machine is instantiated with the root keys the examples set
//! (`ae_state_retries`, `ae_state_started`), on a virtual clock. Every example is ported.

use chrono::{DateTime, Duration, Utc};
use miq_automate_core::Value;
use miq_automate_engine::{Run, ScriptedRunner, VirtualClock};

use crate::support::build::{attribute, method, state, Field, TempDomains};
use crate::support::recorded;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// `/NS/Machine/m`: one state, `state1` = `main`, entered with `root` keys, run `later`
/// seconds after `start`; the runner's calls come back with the run.
fn run_state(state1: Field, main: &str, root: &[(&str, Value)], later: i64) -> (Run, Vec<String>) {
    let t = TempDomains::new();
    let d = t.domain("Dom", 10);
    d.class("NS/Machine", &[state1])
        .method("my_method", &[])
        .instance("m", &[("state1", main)]);
    d.class(
        "NS/Work",
        &[attribute("done").default("yes"), method("execute")],
    )
    .method("work", &[])
    .instance("w", &[("execute", "work")]);
    let runner = ScriptedRunner::new();
    let mut attrs = vec![("ae_state", Value::from("state1"))];
    attrs.extend(root.iter().map(|(k, v)| (*k, v.clone())));
    let run = t
        .engine(runner.clone())
        .with_clock(VirtualClock::new(start() + Duration::seconds(later)))
        .instantiate("/NS/Machine/m", attrs)
        .unwrap();
    (run, recorded(&runner))
}

fn reason(run: &Run) -> String {
    run.root_get("ae_reason").to_ruby_s()
}

#[test]
fn retries_over_max_retries_are_an_error() {
    let (run, _) = run_state(
        state("state1").set("max_retries", "2"),
        "/NS/Work/w",
        &[("ae_state_retries", Value::Integer(3))],
        0,
    );
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
    assert!(
        reason(&run).contains("number of retries <3> exceeded maximum of <2>"),
        "{}",
        reason(&run)
    );
}

#[test]
fn no_max_retries_or_retries_within_it_are_fine() {
    for (max, retries) in [(None, 0), (Some("4"), 2)] {
        let field = match max {
            Some(m) => state("state1").set("max_retries", m),
            None => state("state1"),
        };
        let (run, _) = run_state(
            field,
            "/NS/Work/w",
            &[("ae_state_retries", Value::Integer(retries))],
            0,
        );
        assert_eq!(run.root_get("ae_result"), Value::from("ok"), "{max:?}");
    }
}

#[test]
fn time_in_the_state_over_max_time_is_an_error() {
    let (run, _) = run_state(
        state("state1").set("max_time", "2"),
        "/NS/Work/w",
        &[("ae_state_started", Value::from("2024-05-01 10:00:00 UTC"))],
        5,
    );
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
    assert!(
        reason(&run).contains("time in state <5.0 seconds> exceeded maximum of <2>"),
        "{}",
        reason(&run)
    );
}

#[test]
fn no_max_time_or_time_within_it_is_fine() {
    for max in [None, Some("6.seconds")] {
        let field = match max {
            Some(m) => state("state1").set("max_time", m),
            None => state("state1"),
        };
        let (run, _) = run_state(
            field,
            "/NS/Work/w",
            &[("ae_state_started", Value::from("2024-05-01 10:00:00 UTC"))],
            5,
        );
        assert_eq!(run.root_get("ae_result"), Value::from("ok"), "{max:?}");
    }
}

/// `Method::my_method` (any case) calls the method on the machine, after the limits.
#[test]
fn a_method_main_calls_the_method_after_the_limits() {
    let (run, calls) = run_state(state("state1"), "Method::my_method", &[], 0);
    assert_eq!(calls, ["/Dom/NS/Machine/my_method"]);
    assert!(run.workspace.obj(run.root.unwrap()).children().is_empty());
    let (run, calls) = run_state(
        state("state1").set("max_retries", "2"),
        "Method::my_method",
        &[("ae_state_retries", Value::Integer(3))],
        0,
    );
    assert!(calls.is_empty(), "the limit is checked first");
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
}

/// Anything else is a relationship, followed with the state's collect.
#[test]
fn a_relationship_main_follows_the_relationship() {
    let (run, calls) = run_state(state("state1").collect("done"), "/NS/Work/w", &[], 0);
    assert_eq!(calls, ["/Dom/NS/Work/work"]);
    assert_eq!(run.workspace.obj(run.root.unwrap()).children().len(), 1);
    assert_eq!(run.root_get("done"), Value::from("yes"));
}
