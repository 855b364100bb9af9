//! Follows `spec/miq_ae_engine_spec.rb`: instantiation, relationships, substitution,
//! `.missing`, cycles, schemes, null coalescing, and `MiqAeEngine.deliver`.

use miq_automate_core::{AeError, Value};
use miq_automate_engine::{DeliverOptions, Engine, EngineError, ScriptedRunner};

use crate::support::sm::{self, endless_retry, retry_engine, state_hook};
use crate::support::{engine, has_log, no_attrs};

// miq_ae_engine_spec.rb: .missing gives _missing_instance; nothing found → no root, no raise.
#[test]
fn a_missing_instance_falls_back_to_dot_missing_or_gives_no_root() {
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
fn a_cyclical_relationship_raises() {
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
fn substitution_reads_ancestors_and_instance_values_beat_arguments() {
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
fn null_coalescing_takes_the_first_non_blank_part() {
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
fn a_message_follows_only_its_relationships_and_wildcards_expand() {
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

#[test]
fn an_unsupported_scheme_is_invalid_path_format() {
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

#[test]
fn a_delivery_that_aborts_or_finds_nothing_ends_with_error() {
    let (engine, _) = retry_engine(endless_retry(""));
    let d = engine.deliver("/SM/Nope/Top/x", no_attrs(), DeliverOptions::default());
    assert_eq!((d.deliveries, d.ae_result.as_str()), (1, "error"));
    assert!(d
        .log_messages()
        .iter()
        .any(|l| l.ends_with("to Automate: Empty Workspace")));
    // The root itself is a machine whose on_entry names a bad state: an abort.
    let runner = ScriptedRunner::new().on("state_hook", state_hook);
    let engine = Engine::new(sm::datastore()).with_runner(runner);
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
