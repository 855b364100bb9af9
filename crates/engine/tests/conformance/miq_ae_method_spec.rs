//! Follows `spec/miq_ae_method_spec.rb` (inputs, built-ins, datatypes) and
//! `spec/engine/miq_ae_method_spec.rb` (running a method: exit codes, output, embedded
//! methods). Methods are scripted: a test says what the body does.
//!
//! Not ported, from `spec/miq_ae_method_spec.rb`:
//! - "integrates with base methods of MiqAeServiceModelBase": the Ruby body calls
//!   `vm['id']`, `vm.id`, `vm.name`, `vm.normalized_name` on a service model backed by a
//!   database row.
//!
//! From `spec/engine/miq_ae_method_spec.rb`, "ends normally", "exits", "exits with an
//! unknown return code", "exits MIQ_OK", "MIQ_WARN", "MIQ_STOP" and "MIQ_ABORT" are
//! `exit_codes_map_to_ok_warn_stop_abort_and_unknown` (a scripted body exits with the
//! code); the embedded-method examples are the `embedded_…`/`…embed…` cases. Not ported
//! (they run a Ruby body in a child Ruby, which only the Ruby runner does):
//! - "with a script that tries to YAML.load with aliases", "… YAML.safe_load with aliases":
//!   Ruby's YAML inside a method.
//! - "with a script that raises", "with a script that raises in a nested method": the
//!   `Method STDERR: /my/automate/method:2:in ...` lines come from Ruby's backtrace (the
//!   UnknownMethodRc itself is covered).
//! - "with a script that does I/O": `puts`, `STDOUT`, `$stderr` of a Ruby process.
//! - "can log stack trace in embedded methods": a Ruby backtrace through an embedded body.
//!
//! `setup_methods` of the first file adds `foo` to `$/Object`; this engine's `$/object` has
//! only its built-ins (log_object, log_workspace, send_email), so our fixture puts `foo` in
//! the class that calls it.

use std::sync::{Arc, Mutex};

use miq_automate_core::{AeError, CurrentName, Evm, Value};
use miq_automate_engine::{Engine, EngineError, MethodInvocation, Runtime, ScriptedRunner};
use serde_json::json;

use crate::support::build::{attribute, input, method, relationship, Field, TempDomains};
use crate::support::{datastore, decrypted, has_log, no_attrs, v2_key};

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

/// The root's attribute `result` = the method's inputs (`$evm.root['result'] = $evm.inputs`).
fn inputs_to_root(rt: &mut Runtime<'_>, m: &MethodInvocation) -> Result<i32, AeError> {
    let hash = m
        .inputs
        .iter()
        .map(|(k, v)| (Value::from(k.as_str()), v.clone()))
        .collect();
    rt.workspace().root_set("result", Value::Hash(hash));
    Ok(0)
}

/// A null-coalescing input takes the first non-blank part of its default, as an attribute
/// field does: `location`, or `department` once `field1` is set.
#[test]
fn a_null_coalescing_input_takes_the_first_non_blank_part_of_its_default() {
    let t = TempDomains::new();
    t.domain("TEST_DOMAIN", 10)
        .class("EVM/AUTOMATE", &[method("execute")])
        .method(
            "test",
            &[input("arg1")
                .datatype("null coalescing")
                .default("${#field1} || location")],
        )
        .instance("test1", &[("execute", "test")]);
    let e = t.engine(ScriptedRunner::new().on("test", inputs_to_root));
    for (uri, arg1) in [
        ("/EVM/AUTOMATE/test1", "location"),
        ("/EVM/AUTOMATE/test1?field1=department", "department"),
    ] {
        let run = e.instantiate(uri, no_attrs()).unwrap();
        assert_eq!(
            run.root_get("result").hash_fetch("arg1"),
            Some(&Value::from(arg1)),
            "{uri}"
        );
    }
}

/// `get_field_value`: an input's default is substituted only when its `substitute` is set;
/// with `substitute: false` the method gets the text as written.
#[test]
fn an_input_default_is_substituted_only_when_the_field_substitutes() {
    let t = TempDomains::new();
    t.domain("TEST_DOMAIN", 10)
        .class(
            "EVM/AUTOMATE",
            &[attribute("where").default("lab"), method("execute")],
        )
        .method(
            "test",
            &[
                input("subst").default("in ${#where}"),
                input("raw")
                    .default("in ${#where}")
                    .set("substitute", "false"),
            ],
        )
        .instance("test1", &[("execute", "test")]);
    let e = t.engine(ScriptedRunner::new().on("test", inputs_to_root));
    let run = e.instantiate("/EVM/AUTOMATE/test1", no_attrs()).unwrap();
    let result = run.root_get("result");
    assert_eq!(result.hash_fetch("subst"), Some(&Value::from("in lab")));
    assert_eq!(result.hash_fetch("raw"), Some(&Value::from("in ${#where}")));
}

/// The peer's `method2` data, rewritten: method fields and method URIs of one class.
fn method2() -> TempDomains {
    let t = TempDomains::new();
    t.domain("SPEC_DOMAIN", 100)
        .class(
            "EVM/SYSTEM/TEST/FOO",
            &[
                attribute("tester").default("Oleg"),
                method("testmeth"),
                relationship("rel1"),
            ],
        )
        .method(
            "foo",
            &[
                input("num1").datatype("integer"),
                input("num2").datatype("integer").default("0"),
            ],
        )
        .instance(
            "test_builtin_with_different_case",
            &[("testmeth", "Log_Object")],
        )
        .instance("test_default", &[])
        .instance("test_internal", &[("testmeth", "log_object")])
        .instance(
            "test_missing",
            &[("rel1", "miqaemethod:///missing?num1=2&num2=3")],
        )
        .instance(
            "test_missing_parameter",
            &[("rel1", "method:///foo?num2=3")],
        )
        .instance(
            "test_non_existent_internal",
            &[("testmeth", "non_existent(num1=>2,num2=>3)")],
        );
    t
}

#[test]
fn instance_methods_and_method_uris_run_or_raise() {
    let t = method2();
    let e = t.engine(ScriptedRunner::new());
    let run = e
        .instantiate("/EVM/SYSTEM/TEST/FOO/test_default", no_attrs())
        .unwrap();
    assert!(run.root.is_some());
    let run = e
        .instantiate("/EVM/SYSTEM/TEST/FOO/test_internal", no_attrs())
        .unwrap();
    assert!(has_log(&run, "Dumping Object"));
    // No such instance: a workspace without objects, not an error.
    let run = e
        .instantiate("/EVM/SYSTEM/TEST/FOO/test_inline", no_attrs())
        .unwrap();
    assert_eq!(run.root, None);
    for (instance, expected) in [
        ("test_missing_parameter", "MethodParmMissing"),
        ("test_non_existent_internal", "MethodNotFound"),
        ("test_missing", "MethodNotFound"),
    ] {
        let err = e
            .instantiate(&format!("/EVM/SYSTEM/TEST/FOO/{instance}"), no_attrs())
            .unwrap_err();
        assert_eq!(
            err.error.engine_class(),
            format!("MiqAeException::{expected}"),
            "{instance}: {err}"
        );
    }
}

#[test]
fn a_builtin_is_found_whatever_the_case() {
    let t = method2();
    let run = t
        .engine(ScriptedRunner::new())
        .instantiate(
            "/EVM/SYSTEM/TEST/FOO/test_builtin_with_different_case",
            no_attrs(),
        )
        .unwrap();
    assert!(has_log(&run, "Dumping Object"));
}

/// One method field calling `test`, in `/SPEC_DOMAIN/EVM/AUTOMATE`.
fn one_method(inputs: &[Field], fields: &[Field]) -> TempDomains {
    let t = TempDomains::new();
    let mut all = fields.to_vec();
    all.push(method("method1"));
    t.domain("SPEC_DOMAIN", 100)
        .class("EVM/AUTOMATE", &all)
        .method("test", inputs)
        .instance("test1", &[("method1", "test")]);
    t
}

#[test]
fn a_password_reads_masked_and_decrypts_on_request() {
    let t = TempDomains::new();
    t.domain("SPEC_DOMAIN", 100)
        .class(
            "EVM/AUTOMATE",
            &[
                attribute("password").datatype("password"),
                method("method1"),
            ],
        )
        .method("test", &[])
        .instance(
            "test1",
            &[
                ("password", &v2_key().encrypt("secret")),
                ("method1", "test"),
            ],
        );
    let runner = ScriptedRunner::new().on("test", |rt, _| {
        let ws = rt.workspace();
        let current = ws.current();
        let masked = ws.obj(current).read("password");
        // `$evm.current.decrypt('password')`, with the appliance's key.
        let plain = decrypted(ws.obj(current).get("password").unwrap());
        ws.root_set("encrypted", masked);
        ws.root_set("decrypted", Value::from(plain.as_str()));
        Ok(0)
    });
    let run = t
        .engine(runner)
        .instantiate("/EVM/AUTOMATE/test1", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("decrypted"), Value::from("secret"));
    assert_eq!(run.root_get("encrypted"), Value::from("********"));
}

#[test]
fn a_method_sees_the_current_namespace_class_instance_message_and_method() {
    let t = one_method(&[], &[]);
    let runner = ScriptedRunner::new().on("test", |rt, _| {
        let ws = rt.workspace();
        for (key, which) in [
            ("current_namespace", CurrentName::Namespace),
            ("current_class", CurrentName::Class),
            ("current_instance", CurrentName::Instance),
            ("current_message", CurrentName::Message),
            ("current_method", CurrentName::Method),
        ] {
            let name = ws.current_name(which)?.unwrap_or_default();
            ws.root_set(key, Value::from(name.as_str()));
        }
        Ok(0)
    });
    let run = t
        .engine(runner)
        .instantiate("/EVM/AUTOMATE/test1", no_attrs())
        .unwrap();
    for (key, value) in [
        ("current_namespace", "SPEC_DOMAIN/EVM"),
        ("current_class", "AUTOMATE"),
        ("current_instance", "test1"),
        ("current_message", "create"),
        ("current_method", "test"),
    ] {
        assert_eq!(run.root_get(key), Value::from(value), "{key}");
    }
}

/// Declared inputs convert the object's own attributes in place (`obj.attributes[key] =
/// convert_value_based_on_datatype(...)`), so the method reads them typed.
#[test]
fn declared_inputs_convert_the_objects_attributes_by_datatype() {
    let t = one_method(
        &[
            input("flag").datatype("boolean"),
            input("flag2").datatype("boolean"),
            input("int").datatype("integer"),
            input("float").datatype("float"),
            input("symbol").datatype("symbol"),
            input("array").datatype("array"),
        ],
        &[],
    );
    let runner = ScriptedRunner::new().on("test", |rt, _| {
        let ws = rt.workspace();
        let current = ws.current();
        for key in ["flag", "flag2", "int", "float", "symbol", "array"] {
            let v = ws.obj(current).read(key);
            ws.root_set(key, v);
        }
        Ok(0)
    });
    let run = t
        .engine(runner)
        .instantiate(
            "/EVM/AUTOMATE/test1?flag=false&flag2=true&int=5&float=5.87&symbol=test&array=1,2,3",
            no_attrs(),
        )
        .unwrap();
    assert_eq!(run.root_get("flag"), Value::Bool(false));
    assert_eq!(run.root_get("flag2"), Value::Bool(true));
    assert_eq!(run.root_get("int"), Value::Integer(5));
    assert_eq!(run.root_get("float"), Value::Float(5.87));
    assert_eq!(run.root_get("symbol"), Value::Symbol("test".into()));
    assert_eq!(
        run.root_get("array"),
        Value::Array(vec!["1".into(), "2".into(), "3".into()])
    );
}

/// The `Shared/Methods` class of `Dom` holds the methods other methods embed.
fn embedding(levels: &[(&str, &[&str])]) -> TempDomains {
    let t = TempDomains::new();
    let d = t.domain("Dom", 10);
    let shared = d.class("Shared/Methods", &[method("execute")]);
    for (name, embeds) in levels {
        shared.method_with(
            name,
            json!({"name": name, "location": "inline", "language": "ruby",
                   "embedded_methods": embeds}),
            &[],
        );
    }
    shared.instance("run", &[("execute", levels[0].0)]);
    t
}

/// What the runner was given to load before the body: the embedded methods' fqnames.
fn embedded_of(t: &TempDomains) -> (Vec<String>, Vec<String>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let runner = ScriptedRunner::new().on("level1", move |_, m| {
        *seen2.lock().unwrap() = m.embedded.iter().map(|(fq, _)| fq.clone()).collect();
        Ok(0)
    });
    let run = t
        .engine(runner)
        .instantiate("/Shared/Methods/run", no_attrs())
        .unwrap();
    assert!(run.root.is_some());
    let logs = run.log_messages().iter().map(|l| l.to_string()).collect();
    let seen = seen.lock().unwrap().clone();
    (seen, logs)
}

const LEVEL2: &str = "/Shared/Methods/Level2";
const LEVEL3: &str = "/Shared/Methods/Level3";

#[test]
fn embedded_methods_are_found_through_the_overlay_and_logged_as_the_engine_logs_them() {
    let t = embedding(&[
        ("Level1", &["/Shared/Methods/TopMethod"]),
        ("TopMethod", &[]),
    ]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    let runner = ScriptedRunner::new().on("level1", move |_, m| {
        *seen2.lock().unwrap() = m.embedded.clone();
        Ok(0)
    });
    let run = t
        .engine(runner)
        .instantiate("/Shared/Methods/run", no_attrs())
        .unwrap();
    let embedded = seen.lock().unwrap().clone();
    assert_eq!(embedded.len(), 1);
    assert_eq!(embedded[0].0, "/Dom/Shared/Methods/TopMethod");
    assert!(embedded[0].1.contains("scripted by the test"));
    let logs = run.log_messages();
    let loading = logs
        .iter()
        .position(|l| *l == "Loading embedded method /Dom/Shared/Methods/TopMethod")
        .expect("the embedded method is loaded");
    assert_eq!(
        logs[loading - 1],
        "Updated namespace [Shared/Methods/TopMethod  Dom/Shared]"
    );
}

#[test]
fn a_missing_embedded_method_raises_method_not_found() {
    let t = embedding(&[("Level1", &["/Shared/Methods/Nope"])]);
    let err = t
        .engine(ScriptedRunner::new())
        .instantiate("/Shared/Methods/run", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::MethodNotFound(
            "Embedded method /Shared/Methods/Nope not found".into()
        ))
    );
}

#[test]
fn nested_embedded_methods_load_depth_first() {
    let t = embedding(&[
        ("Level1", &[LEVEL2]),
        ("Level2", &[LEVEL3]),
        ("Level3", &[]),
    ]);
    let (seen, _) = embedded_of(&t);
    assert_eq!(
        seen,
        ["/Dom/Shared/Methods/Level2", "/Dom/Shared/Methods/Level3"]
    );
}

#[test]
fn a_method_may_embed_every_level_itself() {
    let t = embedding(&[
        ("Level1", &[LEVEL2, LEVEL3]),
        ("Level2", &[]),
        ("Level3", &[]),
    ]);
    let (seen, _) = embedded_of(&t);
    assert_eq!(
        seen,
        ["/Dom/Shared/Methods/Level2", "/Dom/Shared/Methods/Level3"]
    );
}

#[test]
fn an_embedded_method_is_loaded_once() {
    let t = embedding(&[
        ("Level1", &[LEVEL2, LEVEL2]),
        ("Level2", &[LEVEL3]),
        ("Level3", &[]),
    ]);
    let (seen, logs) = embedded_of(&t);
    assert_eq!(
        seen,
        ["/Dom/Shared/Methods/Level2", "/Dom/Shared/Methods/Level3"]
    );
    assert!(logs.contains(&"Already loaded embedded method /Dom/Shared/Methods/Level2".to_string()));
}

#[test]
fn a_circular_embed_skips_the_top_method() {
    let t = embedding(&[
        ("Level1", &[LEVEL2]),
        ("Level2", &[LEVEL3]),
        ("Level3", &["/Shared/Methods/Level1"]),
    ]);
    let (seen, logs) = embedded_of(&t);
    assert_eq!(
        seen,
        ["/Dom/Shared/Methods/Level2", "/Dom/Shared/Methods/Level3"]
    );
    assert!(logs.contains(
        &"Skipping /Dom/Shared/Methods/Level1, cannot reference the top method".to_string()
    ));
}
