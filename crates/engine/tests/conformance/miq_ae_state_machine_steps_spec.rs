//! Follows `spec/engine/miq_ae_state_machine_steps_spec.rb`: a 3-state machine whose hooks
//! and works are steered by their inputs (`tests/domains/state_machines/SM/Steps`; the
//! peer tweaks one instance per example, we keep one instance per tweak). Every example is
//! ported; some cases hold several: "one of the state raises an exception" and "… has an
//! error" (main_raising_or_setting_error…), "goto a specific state from on_exit" and "…
//! from main state" (on_exit_or_main_setting_next_state…), the three "non existent …
//! method" (missing_hook_methods), the three retry/async_launch ones
//! (retry_in_main_and_on_exit_and_async_launch).

use miq_automate_core::{AeError, Value};
use miq_automate_engine::{EngineError, TraceEvent};

use crate::support::has_log;
use crate::support::sm::{all_ok, check, list, names, steps, Expect, Main};

#[test]
fn all_states_run_every_hook_in_order() {
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
    // miq_ae_state_machine_spec.rb's success half: the machine ends with no state, after an on_exit.
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
fn main_raising_or_setting_error_runs_on_error_and_stops() {
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
    // As miq_ae_state_machine_spec.rb's error half: the reason names the state; ae_state stays on it.
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
fn on_entry_setting_next_state_skips_the_rest_of_the_state() {
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
fn on_exit_or_main_setting_next_state_runs_on_exit_then_jumps() {
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
fn on_error_continue_with_a_next_state_jumps() {
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
fn an_on_entry_error_skips_main_and_runs_on_error() {
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
fn an_on_exit_error_stops_without_on_error() {
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
fn on_error_continue_runs_the_following_states() {
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
fn on_entry_skip_skips_main_and_on_exit() {
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
fn missing_hook_methods() {
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
fn retry_in_main_and_on_exit_and_async_launch() {
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
fn an_invalid_next_state_aborts() {
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
fn miq_stop_in_a_hook_stops_the_machine() {
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
