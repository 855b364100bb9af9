//! Follows `spec/miq_ae_state_machine_spec.rb`: a state machine's hooks and main as method
//! calls (`METHOD::`, qualified names), errors in its methods.

use miq_automate_core::{AeError, Value};
use miq_automate_engine::{Engine, EngineError, ScriptedRunner};

use crate::support::sm::{all_ok, list, names, steps};
use crate::support::{datastore, has_log, no_attrs, recorded};

// miq_ae_state_machine_spec.rb (method part): `/ns/Class.m` and `Dom/ns/Class.m` resolve
// through the overlay; `ns/Class.m` without a domain does not. (`METHOD::m` is a state's
// main step: `method_main_no_main_and_a_missing_instance_in_a_state`.)
#[test]
fn qualified_method_names_resolve_through_the_overlay() {
    let runner = ScriptedRunner::new();
    let e = Engine::new(datastore()).with_runner(runner.clone());
    e.instantiate("/Base/Test/Methods/qualified", no_attrs())
        .unwrap();
    e.instantiate("/Base/Test/Methods/with_domain", no_attrs())
        .unwrap();
    assert_eq!(recorded(&runner), ["/Base/Test/Methods/only_base"; 2]);
    let err = e
        .instantiate("/Base/Test/Methods/no_domain", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::MethodNotFound(
            "Method [only_base] not found in class [test/methods]".into()
        ))
    );
}

// miq_ae_state_machine_spec.rb's non-state half: an uncaught error in a method is an
// abort (UnknownMethodRc); a successful one carries on. ae_state/ae_status_state
// bookkeeping is in miq_ae_state_machine_steps_spec.rs.
#[test]
fn an_uncaught_error_in_a_method_is_an_unknown_return_code() {
    let runner = ScriptedRunner::new().on("exiter", |_, _| {
        Err(AeError::NoMethod {
            receiver: "nil".into(),
            method: "name".into(),
        })
    });
    let e = Engine::new(datastore()).with_runner(runner);
    let err = e
        .instantiate("/Base/Test/Methods/exit", no_attrs())
        .unwrap_err();
    assert!(matches!(
        err.error,
        EngineError::Ae(AeError::UnknownMethodRc(_))
    ));
    assert!(has_log(
        &err.run,
        "<AEMethod exiter>   NoMethodError: undefined method `name' for nil"
    ));
}

#[test]
fn method_main_no_main_and_a_missing_instance_in_a_state() {
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
