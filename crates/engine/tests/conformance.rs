//! Conformance with the ManageIQ automate engine: the instantiate/method cases of
//! engine-internals.md §6 (23–36), the overlay and the loader's errors, over small domains
//! in the repository's `tests/domains/` (written for these tests) and the example domain.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use miq_automate_core::{AeError, ServiceModelRef, Value};
use miq_automate_engine::{Datastore, Engine, EngineError, ScriptedRunner, Stub};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn datastore() -> Datastore {
    Datastore::load(&[repo().join("tests/domains/engine")]).expect("the test domains load")
}

fn engine() -> Engine {
    Engine::new(datastore()).with_runner(ScriptedRunner::new())
}

fn no_attrs() -> [(&'static str, Value); 0] {
    []
}

fn has_log(run: &miq_automate_engine::Run, line: &str) -> bool {
    run.log_messages().contains(&line)
}

// ----- loader -------------------------------------------------------------------------

#[test]
fn loader_reads_domains_classes_instances_and_methods() {
    let ds = datastore();
    let s = ds.stats();
    assert_eq!(s.domains, 3);
    assert!(
        s.classes >= 14 && s.instances >= 40 && s.methods >= 10,
        "{s}"
    );
    let (_, base) = ds.domain("base").unwrap();
    assert_eq!((base.priority, base.enabled), (10, true));
    assert!(!ds.domain("Off").unwrap().1.enabled);
    let id = ds
        .class_by_fqname("BASE/test", "attrs")
        .expect("case-insensitive");
    let class = ds.class(id);
    assert!(
        class.instance(".MISSING").is_some(),
        "_missing.yaml is .missing"
    );
    assert_eq!(class.instance("ONE").unwrap().name, "one");
    let m = ds.class(ds.class_by_fqname("Base/Test", "Methods").unwrap());
    assert_eq!(m.method("LOG_IT").unwrap().location, "builtin");
    assert!(m
        .method("set_attr")
        .unwrap()
        .data
        .as_deref()
        .unwrap()
        .contains("exit MIQ_OK"));
    assert_eq!(m.method("set_attr").unwrap().inputs.len(), 3);
}

#[test]
fn loader_reports_every_bad_file_with_its_yaml_path() {
    let errors = Datastore::load(&[repo().join("tests/domains/bad")])
        .unwrap_err()
        .0;
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 3, "{text:#?}");
    assert!(text.iter().any(|e| e.ends_with(
        "BadPriority.class/__class__.yaml: object.schema[3].field.priority: expected integer, found a string"
    )), "{text:#?}");
    assert!(
        text.iter()
            .any(|e| e.contains("BadYaml.class/broken.yaml: not valid YAML")),
        "{text:#?}"
    );
    assert!(text.iter().any(|e| e.ends_with(
        "NoName.class/__methods__/m.yaml: object.attributes.name: missing: every export names its object"
    )), "{text:#?}");
    // The lenient form keeps what loaded, including an instance whose object_type is not
    // `instance` (the engine's importer does not check it).
    let (ds, errs) = Datastore::load_lenient(&[repo().join("tests/domains/bad")]);
    assert_eq!(errs.len(), 3);
    let good = ds.class(ds.class_by_fqname("Broken/NS", "Good").unwrap());
    assert!(good.instance("network.delete").is_some());
}

#[test]
fn loader_refuses_a_directory_without_domains() {
    let errors = Datastore::load(&[repo().join("tests/domains/engine/Base/Test")]).unwrap_err();
    assert!(errors.0[0].message.contains("no __domain__.yaml"));
}

// ----- overlay (case 34) --------------------------------------------------------------

// miq_ae_domain_spec.rb: a partial path goes to the highest enabled domain; disabled ones
// are ignored; lookups are case-insensitive; .missing by priority; an exact instance in a
// lower domain beats .missing in a higher one.
#[test]
fn case_34_overlay_by_priority() {
    let e = engine();
    let run = e.instantiate("/TEST/attrs/ONE", no_attrs()).unwrap();
    assert_eq!(run.root_get("attr1"), Value::from("over"));
    let root = run.workspace.obj(run.root.unwrap());
    assert_eq!(root.namespace.as_deref(), Some("Over/Test"));
    assert!(has_log(
        &run,
        "Updated namespace [/TEST/attrs/ONE  Over/Test]"
    ));
    // `two` exists only in the disabled domain: Base's .missing answers.
    let run = e.instantiate("/Test/Attrs/two", no_attrs()).unwrap();
    assert_eq!(run.root_get("_missing_instance"), Value::from("two"));
    assert_eq!(run.root_get("attr1"), Value::from("from .missing"));
    // Exact instance in Base beats Over's .missing.
    let run = e.instantiate("/Test/Wild/test51", no_attrs()).unwrap();
    assert_eq!(run.root_get("number"), Value::Integer(51));
    let run = e.instantiate("/Test/Wild/nothing", no_attrs()).unwrap();
    assert_eq!(run.root_get("attr1"), Value::from("over .missing"));
    // A path with its domain is taken as given.
    let run = e.instantiate("/Base/Test/Attrs/one", no_attrs()).unwrap();
    assert_eq!(run.root_get("attr1"), Value::from("instance1"));
}

// ----- instantiation ------------------------------------------------------------------

#[test]
fn fields_defaults_datatypes_and_message_filters() {
    let e = engine();
    let run = e
        .instantiate("/Base/Test/Attrs/one?vm_id=12", no_attrs())
        .unwrap();
    let get = |k: &str| run.root_get(k);
    assert_eq!(get("greeting"), Value::from("hello instance1"));
    assert_eq!(get("count"), Value::Integer(5));
    assert_eq!(get("ratio"), Value::Float(2.5));
    assert_eq!(get("flag"), Value::Bool(true));
    assert_eq!(
        get("list"),
        Value::Array(vec!["a".into(), "b".into(), "c".into()])
    );
    assert_eq!(get("sym"), Value::Symbol("sym1".into()));
    assert_eq!(get("secret"), Value::from("********"));
    let root = run.workspace.obj(run.root.unwrap());
    assert_eq!(root.decrypt("secret").as_deref(), Some("s3cret"));
    assert_eq!(
        get("vm"),
        Value::ServiceModel(ServiceModelRef::new("vm", 12))
    );
    assert_eq!(get("nosub"), Value::from("${#attr1}"));
    assert_eq!(get("blank_default"), Value::Nil);
    assert_eq!(get("only_discover"), Value::Nil, "message filter");
    assert_eq!(get("any_message"), Value::from("any"));
    assert_eq!(get("listed"), Value::from("listed"));
    // #other runs only `*` and listed fields.
    let run = e
        .instantiate("/Base/Test/Attrs/one#Other", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("listed"), Value::from("listed"));
    assert_eq!(run.root_get("any_message"), Value::from("any"));
    assert_eq!(run.root_get("attr1"), Value::Nil);
    // A blank instance value falls back to the default.
    let run = e.instantiate("/Base/Test/Attrs/Empty", no_attrs()).unwrap();
    assert_eq!(run.root_get("attr1"), Value::from("defaultA"));
}

#[test]
fn service_model_datatypes_go_through_the_embedders_lookup() {
    struct Lookup;
    impl miq_automate_engine::ServiceLookup for Lookup {
        fn find(&self, model: &str, id: &Value) -> Result<Value, AeError> {
            match id.to_ruby_s().as_str() {
                "12" => Ok(Value::ServiceModel(ServiceModelRef::new(model, 1200))),
                _ => Err(AeError::ServiceNotFound(format!(
                    "{model} {} not found",
                    id.to_ruby_s()
                ))),
            }
        }
    }
    let mut e = engine();
    e.set_service_lookup(Arc::new(Lookup));
    let run = e
        .instantiate("/Base/Test/Attrs/one?vm_id=12", no_attrs())
        .unwrap();
    assert_eq!(
        run.root_get("vm"),
        Value::ServiceModel(ServiceModelRef::new("vm", 1200))
    );
    let err = e
        .instantiate("/Base/Test/Attrs/one?vm_id=13", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::ServiceNotFound("vm 13 not found".into()))
    );
}

// miq_ae_engine_spec.rb: .missing gives _missing_instance; nothing found → no root, no raise.
#[test]
fn case_26_missing_instance() {
    let e = engine();
    let run = e.instantiate("/Test/Attrs/FRED", no_attrs()).unwrap();
    assert_eq!(run.root_get("_missing_instance"), Value::from("FRED"));
    assert_eq!(
        run.root_get("missing_name"),
        Value::from("FRED"),
        "${{#_missing_instance}}"
    );
    assert!(has_log(
        &run,
        "Instance [/Base/Test/Attrs/FRED] not found in MiqAeDatastore - trying [.missing]"
    ));
    let run = e
        .instantiate("/Base/Test/Loop/nothing", no_attrs())
        .unwrap();
    assert_eq!(run.root, None);
    assert!(has_log(
        &run,
        "Instance [/Base/Test/Loop/nothing] not found in MiqAeDatastore"
    ));
    // Without the domain and with no instance or .missing anywhere, the namespace stays
    // as given, and its first segment is taken as the domain.
    let run = e.instantiate("/Test/Loop/nothing", no_attrs()).unwrap();
    assert!(has_log(
        &run,
        "Class [Test/Loop] not found in MiqAeDatastore"
    ));
    let run = e.instantiate("/Test/NoClass/x", no_attrs()).unwrap();
    assert_eq!(run.root, None);
    assert!(has_log(
        &run,
        "Class [Test/NoClass] not found in MiqAeDatastore"
    ));
}

// miq_ae_engine_spec.rb: a cyclical relationship raises.
#[test]
fn case_27_cyclical_relationship() {
    let err = engine()
        .instantiate("/Test/Loop/a", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::CyclicalRelationship(
            "cyclical reference: [/Base/Test/Loop/a with message=create]".into()
        ))
    );
    assert_eq!(
        err.error.engine_class(),
        "MiqAeException::CyclicalRelationship"
    );
}

// miq_ae_engine_spec.rb: ${A#attr1} reads an ancestor; ${} stays; an instance value beats
// a query argument; an unknown path is ObjectNotFound.
#[test]
fn case_28_substitution_and_arguments() {
    let e = engine();
    let run = e
        .instantiate(
            "/Base/Test/Attrs/one?from_query=query&attr9=x&Integer::n=3",
            no_attrs(),
        )
        .unwrap();
    assert_eq!(run.root_get("from_query"), Value::from("instance wins"));
    assert_eq!(run.root_get("attr9"), Value::from("x"));
    assert_eq!(run.root_get("n"), Value::Integer(3));
    // Children read their ancestors by class name, ns/Class and `..`.
    let run = e
        .instantiate("/Test/Rel/main#discover", no_attrs())
        .unwrap();
    let root = run.root.unwrap();
    let child = run.workspace.obj(root).children()[0];
    assert_eq!(
        run.workspace.obj(child).class_name.as_deref(),
        Some("Child")
    );
    for attr in ["ancestor", "attr1", "by_ns"] {
        assert_eq!(
            run.workspace.obj(child).read(attr),
            Value::from("from parent"),
            "{attr}"
        );
    }
    let mut ws = run.workspace;
    ws.push_current(child, None);
    assert_eq!(
        miq_automate_core::substitution::substitute(&mut ws, "${}").unwrap(),
        "${}"
    );
    assert_eq!(
        miq_automate_core::substitution::substitute(&mut ws, "${EVMX/A#attr1}").unwrap_err(),
        AeError::ObjectNotFound("Object Not Found for path=[EVMX/A]".into())
    );
}

// miq_ae_engine_spec.rb: null coalescing → Pebbles / Bamm Bamm Rubble / wilma / "45".
#[test]
fn case_29_null_coalescing() {
    let e = engine();
    let run = e
        .instantiate("/Base/Test/Attrs/Coalesce", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("coalesced"), Value::from("Pebbles"));
    let run = e.instantiate("/Base/Test/Attrs/one", no_attrs()).unwrap();
    assert_eq!(run.root_get("coalesced"), Value::from("Bamm Bamm Rubble"));
    let run = e
        .instantiate(
            "/Base/Test/Attrs/Coalesce",
            [("nothing", Value::from("wilma"))],
        )
        .unwrap();
    assert_eq!(run.root_get("coalesced"), Value::from("wilma"));
}

// miq_ae_engine_spec.rb: #discover follows only discover fields; test5* gives 2 children.
#[test]
fn case_30_message_and_wildcard_relationships() {
    let e = engine();
    let run = e
        .instantiate("/Test/Rel/main#discover", no_attrs())
        .unwrap();
    let root = run.root.unwrap();
    assert_eq!(
        run.workspace.obj(root).children().len(),
        3,
        "Child, then test51 and test52"
    );
    assert_eq!(
        run.root_get("numbers"),
        Value::Array(vec![Value::Integer(51), Value::Integer(52)])
    );
    assert_eq!(run.root_get("count"), Value::Integer(2));
    assert_eq!(run.root_get("sum"), Value::Integer(103));
    assert_eq!(
        run.root_get("got"),
        Value::Nil,
        "create-only fields did not run"
    );
    assert!(has_log(
        &run,
        "Following Relationship [miqaedb:/Test/Wild/test5*#discover]"
    ));
    assert!(has_log(
        &run,
        "Followed  Relationship [miqaedb:/Test/Wild/test5*#discover]"
    ));
}

// miq_ae_state_missing_relation_spec.rb, the instantiation half: a relationship to a class
// that does not exist gives nil (logged) and the object carries on with its earlier collects.
// (The state half — ae_result error — is in state_machines.rs.)
#[test]
fn case_23_relationship_to_a_missing_instance() {
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

// miq_ae_assertion_spec.rb: a false assertion drops the object; an unset attribute in it
// is AttributeNotFound.
#[test]
fn case_31_assertions() {
    let e = engine();
    let run = e
        .instantiate("/Test/Guard/g", [("role", Value::from("admin"))])
        .unwrap();
    assert_eq!(run.root_get("passed"), Value::from("yes"));
    let run = e
        .instantiate("/Test/Guard/g", [("role", Value::from("user"))])
        .unwrap();
    assert_eq!(run.root, None, "dropped");
    assert!(has_log(&run, "Assertion Failed: <'user' == 'admin'>"));
    let run = e
        .instantiate("/Test/GuardParent/p", [("role", Value::from("user"))])
        .unwrap();
    assert_eq!(run.root_get("after"), Value::from("parent continued"));
    assert!(run.workspace.obj(run.root.unwrap()).children().is_empty());
    let err = e.instantiate("/Test/Guard/g", no_attrs()).unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::AttributeNotFound(
            "Attribute role not found for object [/]".into()
        ))
    );
}

// miq_ae_collect_spec.rb: hash/sort/rsort/count/min/max/mean/sum; the instance's collect
// overrides the class's; NUMBERS/${#environment} → 3, 1 (.missing), 0 (.default).
#[test]
fn case_32_collects() {
    let e = engine();
    let run = e
        .instantiate("/Test/Collect/info#get_months", no_attrs())
        .unwrap();
    let Value::Hash(months) = run.root_get("months") else {
        panic!("months is a hash");
    };
    assert_eq!(months.len(), 12);
    // Wildcard URIs are sorted, so April comes first.
    assert_eq!(months[0], (Value::from("April"), Value::Integer(4)));
    let ints = |r: std::ops::RangeInclusive<i64>| Value::Array(r.map(Value::Integer).collect());
    assert_eq!(run.root_get("sort"), ints(1..=12));
    assert_eq!(
        run.root_get("rsort"),
        Value::Array((1..=12).rev().map(Value::Integer).collect())
    );
    assert_eq!(run.root_get("count"), Value::Integer(12));
    assert_eq!(run.root_get("min"), Value::Integer(1));
    assert_eq!(run.root_get("max"), Value::Integer(12));
    assert_eq!(run.root_get("mean"), Value::Float(6.5));
    assert_eq!(run.root_get("sum"), Value::Integer(78));
    let run = e
        .instantiate("/Test/Collect/override#get_months", no_attrs())
        .unwrap();
    let Value::Array(names) = run.root_get("names") else {
        panic!("names is an array");
    };
    assert_eq!(names.len(), 12);
    assert_eq!(run.root_get("months"), Value::Nil);
    for (env, n) in [("dev", 3), ("test", 5), ("foo", 1), ("", 0)] {
        let run = e
            .instantiate(
                &format!("/Test/Collect/info?environment={env}#get_number"),
                no_attrs(),
            )
            .unwrap();
        assert_eq!(
            run.root_get("number"),
            Value::Integer(n),
            "environment={env}"
        );
    }
    let run = e.instantiate("/Test/Collect/info", no_attrs()).unwrap();
    assert_eq!(
        run.root_get("lits"),
        Value::Array(vec![Value::Integer(1), Value::Float(2.5), Value::from("x")])
    );
}

// ----- methods ------------------------------------------------------------------------

fn recorded(runner: &ScriptedRunner) -> Vec<String> {
    runner.calls().into_iter().map(|(fq, _)| fq).collect()
}

// miq_method_override_spec.rb: the higher domain's method wins even over the local one;
// a method only a lower domain has is found there.
#[test]
fn case_33_method_override() {
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

// miq_ae_state_machine_spec.rb (method part): `/ns/Class.m` and `Dom/ns/Class.m` resolve
// through the overlay; `ns/Class.m` without a domain does not. (`METHOD::m` is a state's
// main step: state_machines.rs.)
#[test]
fn case_25_qualified_method_names() {
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

// miq_ae_method_spec.rb: inputs from call arguments, attributes, defaults, typed; a
// missing one is MethodParmMissing; builtins: non_existent is MethodNotFound, Log_Object runs.
#[test]
fn case_35_inputs_and_builtins() {
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
fn case_36_exit_codes() {
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

// miq_ae_state_machine_spec.rb's non-state half: an uncaught error in a method is an
// abort (UnknownMethodRc); a successful one carries on. ae_state/ae_status_state
// bookkeeping is in state_machines.rs.
#[test]
fn case_24_uncaught_error_in_a_method() {
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
fn methods_instantiate_through_the_engine_and_stubs_replace_anything() {
    let runner = ScriptedRunner::new().on("nester", |rt, _| {
        let child = rt.instantiate("/Test/Attrs/one");
        let v = child
            .map(|c| rt.workspace().obj(c).read("attr1"))
            .unwrap_or_default();
        rt.workspace().root_set("nested", v);
        assert_eq!(rt.instantiate("/Test/Nope/x"), None);
        Ok(0)
    });
    let mut e = Engine::new(datastore()).with_runner(runner);
    let run = e
        .instantiate("/Base/Test/Methods/nested", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("nested"), Value::from("over"));
    // A stubbed instance never reaches the datastore; a stubbed method never the runner.
    e.stub(
        "/Test/Attrs/one",
        Stub::Attributes(vec![("attr1".into(), Value::from("stubbed"))]),
    );
    e.stub("/Base/Test/Methods/only_base", Stub::Exit(8));
    let run = e
        .instantiate("/Base/Test/Methods/nested", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("nested"), Value::from("stubbed"));
    let run = e
        .instantiate("/Base/Test/Methods/qualified", no_attrs())
        .unwrap();
    assert_eq!(run.root, None);
    assert!(has_log(
        &run,
        "Invoking [stub] method [/Base/Test/Methods/only_base] with inputs [{}]"
    ));
    e.stub(
        "/Virtual/Thing/x",
        Stub::call(|rt| {
            rt.workspace().root_set("called", Value::Bool(true));
            Ok(0)
        }),
    );
    let run = e.instantiate("/Virtual/Thing/x", no_attrs()).unwrap();
    assert_eq!(run.root_get("called"), Value::Bool(true));
}

#[test]
fn provisioning_builtins() {
    let e = engine();
    let run = e
        .instantiate(
            "/Base/Test/Process/automation?request=vm_provision",
            [("platform_category", Value::from("infra"))],
        )
        .unwrap();
    assert_eq!(run.root_get("target_component"), Value::from("VM"));
    assert_eq!(run.root_get("target_class"), Value::from("Lifecycle"));
    assert_eq!(run.root_get("target_instance"), Value::from("Provisioning"));
    assert_eq!(
        run.root_get("ae_provider_category"),
        Value::from("infrastructure")
    );
    assert!(has_log(
        &run,
        "Request:<vm_provision> Target Component:<VM> "
    ));
    let (name, args) = &run.workspace.executions()[0];
    assert_eq!(name, "send_email");
    assert_eq!(args[0], Value::from("owner@example.com"));
}

#[test]
fn schemes_and_uri_errors() {
    let e = engine();
    let err = e
        .instantiate("abc:/Test/Attrs/one", no_attrs())
        .unwrap_err();
    assert_eq!(
        err.error,
        EngineError::Ae(AeError::InvalidPathFormat(
            "Unsupported Scheme [abc]".into()
        ))
    );
    let run = e
        .instantiate("miqaedb:/Test/Attrs/one#create", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("attr1"), Value::from("over"));
    assert!(has_log(
        &run,
        "Instantiating [miqaedb:/Test/Attrs/one#create]"
    ));
}

// ----- the example domain -------------------------------------------------------------

#[test]
fn rollback_demo_loads_and_instantiates() {
    let ds = Datastore::load(&[repo().join("examples/domains/RollbackDemo")]).expect("loads");
    let s = ds.stats();
    assert_eq!((s.domains, s.classes, s.instances, s.methods), (1, 3, 7, 7));
    let runner = ScriptedRunner::new().on("acquire_ip_address", |rt, _| {
        rt.workspace().root_set("ip", Value::from("10.0.0.7"));
        Ok(0)
    });
    let e = Engine::new(ds).with_runner(runner.clone());
    let run = e
        .instantiate(
            "/Infrastructure/VM/Provisioning/Network/Methods/AcquireIPAddress",
            no_attrs(),
        )
        .unwrap();
    assert_eq!(run.root_get("ip"), Value::from("10.0.0.7"));
    assert!(has_log(
        &run,
        "Invoking [inline] method [/RollbackDemo/Infrastructure/VM/Provisioning/Network/Methods/acquire_ip_address] with inputs [{}]"
    ));
    // The state machine instance: its attribute runs.
    let run = e
        .instantiate(
            "/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template",
            no_attrs(),
        )
        .unwrap();
    assert_eq!(
        run.root_get("rollback_class"),
        Value::from("/Infrastructure/VM/Provisioning/Rollback/Methods")
    );
    // Its states run (state_machines.rs has the cases): the first state's main names a
    // class this example domain lacks, so on_entry, then the error and on_error.
    assert_eq!(runner.calls().len(), 3);
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
    assert_eq!(
        run.root_get("ae_reason"),
        Value::from("State=<CustomizeRequest> running  raised exception: <empty relationship>")
    );
}
