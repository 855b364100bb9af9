//! Follows `spec/miq_ae_method_spec.rb` (inputs, built-ins, datatypes) and
//! `spec/engine/miq_ae_method_spec.rb` (running a method: exit codes, output, embedded methods).

use std::sync::{Arc, Mutex};

use miq_automate_core::{AeError, Value};
use miq_automate_engine::{Engine, EngineError, ScriptedRunner};

use crate::support::{datastore, has_log, no_attrs};

// miq_ae_method_spec.rb: inputs from call arguments, attributes, defaults, typed; a
// missing one is MethodParmMissing; builtins: non_existent is MethodNotFound, Log_Object runs.
#[test]
fn inputs_come_from_arguments_attributes_and_defaults() {
    let runner = ScriptedRunner::new();
    let e = Engine::new(datastore()).with_runner(runner.clone());
    let run = e
        .instantiate("/Base/Test/Methods/call", no_attrs())
        .unwrap();
    let (fq, inputs) = &runner.calls()[0];
    assert_eq!(fq, "/Over/Test/Methods/set_attr");
    assert_eq!(inputs["value"], Value::from("x"));
    assert_eq!(inputs["n"], Value::Integer(5));
    assert_eq!(
        inputs["from"],
        Value::from("attribute one"),
        "default, substituted"
    );
    assert!(has_log(
        &run,
        r#"Invoking [inline] method [/Over/Test/Methods/set_attr] with inputs [{"value"=>"x", "n"=>5, "from"=>"attribute one"}]"#
    ));
    assert_eq!(
        run.root_get("rc"),
        Value::Integer(0),
        "the exit status is collected"
    );
    e.instantiate("/Base/Test/Methods/call_attr", no_attrs())
        .unwrap();
    let (_, inputs) = &runner.calls()[1];
    assert_eq!(
        inputs["value"],
        Value::from("attribute one"),
        "bare word = attribute"
    );
    assert_eq!(inputs["from"], Value::from("quoted"));
    let err = e
        .instantiate("/Base/Test/Methods/missing_input", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::MethodParmMissing(
            "Method [/Base/Test/Methods/needs_input] requires parameter [required]".into()
        ))
    );
    let run = e
        .instantiate("/Base/Test/Methods/missing_input?required=here", no_attrs())
        .unwrap();
    assert!(run.root.is_some());
    let err = e
        .instantiate("/Base/Test/Methods/bad_builtin", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::MethodNotFound(
            "Built-In Method [miq_non_existent] does not exist".into()
        ))
    );
    for uri in [
        "/Base/Test/Methods/log_object",
        "/Base/Test/Methods/builtin_alias",
    ] {
        let run = e.instantiate(uri, no_attrs()).unwrap();
        assert!(has_log(&run, "Dumping Object"), "{uri}");
        assert!(has_log(&run, "\tattr1: attribute one"), "{uri}");
    }
    let err = e
        .instantiate("/Base/Test/Methods/no_method", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::MethodNotFound(
            "Method [nope] not found in class [Base/Test/Methods]".into()
        ))
    );
    let err = e
        .instantiate("/Base/Test/Methods/bad_syntax", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::InvalidMethod(
            "invalid method name: [a.b.c]".into()
        ))
    );
    e.instantiate("/Base/Test/Methods/typed?b=false", no_attrs())
        .unwrap();
    let (_, inputs) = runner.calls().last().cloned().unwrap();
    assert_eq!(inputs["b"], Value::Bool(false));
    assert_eq!(inputs["t"], Value::Bool(true));
    assert_eq!(inputs["i"], Value::Integer(5));
    assert_eq!(inputs["f"], Value::Float(5.87));
    assert_eq!(inputs["s"], Value::Symbol("test".into()));
    assert_eq!(
        inputs["a"],
        Value::Array(vec!["\"1\"".into(), "\"2\"".into(), "\"3\"".into()])
    );
    let run = e
        .instantiate("/Base/Test/Methods/comment", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("rc"), Value::Nil);
}

// engine/miq_ae_method_spec.rb: exit 0 → ok; 4 → warn; 8 → stop; 16 → abort; other or a
// raise → UnknownMethodRc.
#[test]
fn exit_codes_map_to_ok_warn_stop_abort_and_unknown() {
    let rc = Arc::new(Mutex::new(0));
    let rc2 = Arc::clone(&rc);
    let runner = ScriptedRunner::new().on("exiter", move |rt, m| {
        rt.workspace()
            .log(miq_automate_core::LogLevel::Info, "running");
        match *rc2.lock().unwrap() {
            -1 => Err(AeError::RuntimeError(format!("boom in {}", m.name))),
            n => Ok(n),
        }
    });
    let e = Engine::new(datastore()).with_runner(runner);
    let set = |n| *rc.lock().unwrap() = n;
    set(0);
    let run = e
        .instantiate("/Base/Test/Methods/exit", no_attrs())
        .unwrap();
    let logs = run.log_messages();
    let start = logs
        .iter()
        .position(|l| *l == "<AEMethod [/Base/Test/Methods/exiter]> Starting ")
        .expect("Starting");
    assert_eq!(logs[start + 1], "<AEMethod exiter> running");
    assert_eq!(
        logs[start + 2],
        "<AEMethod [/Base/Test/Methods/exiter]> Ending"
    );
    assert_eq!(logs[start + 3], "Method exited with rc=MIQ_OK");
    set(4);
    let run = e
        .instantiate("/Base/Test/Methods/exit", no_attrs())
        .unwrap();
    let warn = run
        .workspace
        .logs()
        .iter()
        .find(|l| l.message == "Method exited with rc=MIQ_WARN");
    assert_eq!(warn.unwrap().level, miq_automate_core::LogLevel::Warn);
    assert!(run.root.is_some());
    set(8);
    let run = e
        .instantiate("/Base/Test/Methods/exit", no_attrs())
        .unwrap();
    assert_eq!(run.root, None, "MIQ_STOP drops the object");
    assert!(has_log(
        &run,
        "Stopping instantiation because [Method exited with rc=MIQ_STOP]"
    ));
    set(16);
    let err = e
        .instantiate("/Base/Test/Methods/exit", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::AbortInstantiation(
            "Method exited with rc=MIQ_ABORT".into()
        ))
    );
    assert!(has_log(
        &err.run,
        "Aborting instantiation because [Method exited with rc=MIQ_ABORT]"
    ));
    set(1234);
    let err = e
        .instantiate("/Base/Test/Methods/exit", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::UnknownMethodRc(
            "Method exited with rc=Unknown RC: [210]".into()
        ))
    );
    set(-1);
    let err = e
        .instantiate("/Base/Test/Methods/exit", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::UnknownMethodRc(
            "Method exited with rc=Unknown RC: [1]".into()
        ))
    );
    assert!(has_log(
        &err.run,
        "Aborting instantiation (unknown method return code) because [Method exited with rc=Unknown RC: [1]]"
    ));
    assert!(has_log(
        &err.run,
        "<AEMethod exiter>   RuntimeError: boom in exiter"
    ));
}
