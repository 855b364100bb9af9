//! Follows `spec/miq_ae_engine_spec.rb`: instantiation, relationships, substitution,
//! `.missing`, cycles, schemes, null coalescing, and `MiqAeEngine.deliver`.
//!
//! Covered by the cases below: "instantiates attributes properly", "follows relationships
//! properly", "does not allow cyclical relationships", both "raises exception if invalid
//! path", "properly processes assertions", "properly processes .missing_instance",
//! "properly processes substitution", "properly processes substitution with methods",
//! "processes arrays arguments properly", "processes an empty array properly", "check
//! _missing_instance", the four "null coalescing" examples and "raises error while
//! delivering".
//!
//! Not ported:
//! - `.deliver`: "via MiqQueue", "with defaults and non-STI object", "with defaults and STI
//!   object", the three "with defaults" (ae_result error, ok, retry), "with defaults and
//!   open_url_task_id", "with a starting point instead of /SYSTEM/PROCESS", "with defaults,
//!   automate role, valid zone", "with defaults, no automate role, nil zone": they deliver a
//!   VMDB object's request through MiqQueue rows, users, groups, tenants and MiqTasks
//!   (this engine's own deliver is in the state-machine modules).
//! - `.create_automation_object` (8 examples), `.create_automation_attribute_key` (6),
//!   `.create_automation_attribute_class_name` (4), `.create_automation_attributes` (11),
//!   `.set_automation_attributes_from_objects` (3), `.automation_attribute_is_array?` (4),
//!   "a namespace containing a slash is parsed correctly", "a namespace not containing a
//!   slash is parsed correctly": how ManageIQ builds the request URI from VMDB rows
//!   (MiqServer, Vm, Host, MiqRequest ids, the current user); this engine starts from the
//!   URI.
//! - `.ae_user_object` (2): users and groups in the database.
//! - `.return_result` (2): a `MiqAeEngine.deliver` option this engine has no API for.
//! - "#before_ae_starts", "raises RecordNotFound for missing vmdb_object": the VMDB
//!   object a delivery is for.
//! - The password of "instantiates attributes properly" is encrypted with a key of ours
//!   (ManageIQ's spec data uses the appliance's test key).

use miq_automate_core::{AeError, ServiceModelRef, Value};
use miq_automate_engine::{DeliverOptions, Engine, EngineError, Run, ScriptedRunner};

use crate::support::build::{assertion, attribute, method, relationship, TempDomains};
use crate::support::sm::{self, endless_retry, retry_engine, state_hook};
use crate::support::vmdb::Vmdb;
use crate::support::{decrypted, engine, has_log, no_attrs, v2_key};

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

/// The children of the run's root.
fn children(run: &Run) -> Vec<miq_automate_core::ObjectId> {
    run.workspace
        .obj(run.root.expect("a root"))
        .children()
        .to_vec()
}

#[test]
fn attributes_read_other_instances_through_miqaedb_and_fall_back_to_defaults() {
    let t = TempDomains::new();
    t.domain("SPEC_DOMAIN", 100)
        .class(
            "EVM/AUTOMATE",
            &[
                attribute("aTTr1").default("frank"),
                attribute("password").datatype("password"),
            ],
        )
        .instance("test1", &[])
        .instance("test2", &[("aTTr1", "TEST2")])
        .instance(
            "test3",
            &[("aTTr1", "Gregg ${miqaedb:///EVM/AUTOMATE/test2/attr1} Oleg")],
        )
        .instance(
            "test4",
            &[("aTTr1", "${miqaedb:///EVM/AUTOMATE/test1/attr1}")],
        )
        .instance(
            "test_password",
            &[("password", &v2_key().encrypt("secret"))],
        );
    let e = t.engine(ScriptedRunner::new());
    for (uri, attr1) in [
        ("/EVM/AUTOMATE/test3", "Gregg TEST2 Oleg"),
        ("/EVM/AUTOMATE/test2", "TEST2"),
        ("/EVM/AUTOMATE/test1", "frank"),
        ("/EVM/AUTOMATE/test4", "frank"),
    ] {
        let run = e.instantiate(uri, no_attrs()).unwrap();
        assert_eq!(run.root_get("attr1"), Value::from(attr1), "{uri}");
    }
    let run = e
        .instantiate("/EVM/AUTOMATE/test_password", no_attrs())
        .unwrap();
    let root = run.workspace.obj(run.root.unwrap());
    assert_eq!(decrypted(root.get("password").unwrap()), "secret");
    assert_eq!(root.read("password"), Value::from("********"));
}

/// The peer's `relation` data, rewritten: relationships, a wildcard, and a message that
/// selects which relationships run.
fn relation() -> TempDomains {
    let t = TempDomains::new();
    let d = t.domain("SPEC_DOMAIN", 100);
    d.class(
        "EVM/AUTOMATE",
        &[
            attribute("attr1").default("frank"),
            relationship("rel1"),
            relationship("rel2").message("discover"),
            method("method1"),
        ],
    )
    .instance("test1", &[])
    .instance("test2", &[("attr1", "miqaedb:/EVM/AUTOMATE/test1")])
    .instance(
        "test3",
        &[
            ("attr1", "Gregg ${miqaedb:/EVM/AUTOMATE/test2/attr1} Oleg"),
            ("rel1", "miqaedb:/EVM/AUTOMATE/test2"),
        ],
    )
    .instance(
        "test5a",
        &[
            ("attr1", "Discover Flavor1"),
            ("rel2", "miqaews:/..#DISCOVER_FLAVOR1"),
        ],
    )
    .instance("test5b", &[("attr1", "Discover Flavor2")])
    .instance(
        "test_message1",
        &[
            ("rel1", "miqaedb:/EVM/AUTOMATE/test3"),
            ("rel2", "miqaedb:/EVM/AUTOMATE/test5*"),
        ],
    )
    .instance("test_wildcard", &[("rel1", "miqaedb:/EVM/AUTOMATE/test5*")]);
    d.class("EVM/MY_AUTOMATE", &[attribute("foo").default("bar")])
        .instance("test1", &[])
        .instance("test2", &[]);
    t
}

#[test]
fn relationships_wildcards_and_messages_make_the_children() {
    let t = relation();
    let e = t.engine(ScriptedRunner::new());
    let run = e.instantiate("/EVM/AUTOMATE/test3", no_attrs()).unwrap();
    let root = run.workspace.obj(run.root.unwrap());
    assert_eq!(root.namespace.as_deref(), Some("SPEC_DOMAIN/EVM"));
    assert_eq!(root.class_name.as_deref(), Some("AUTOMATE"));
    assert_eq!(root.instance_name.as_deref(), Some("test3"));
    let kids = children(&run);
    assert_eq!(kids.len(), 1);
    let child = run.workspace.obj(kids[0]);
    assert_eq!(child.namespace.as_deref(), Some("SPEC_DOMAIN/EVM"));
    assert_eq!(child.class_name.as_deref(), Some("AUTOMATE"));
    assert_eq!(child.instance_name.as_deref(), Some("test2"));
    for (uri, n) in [
        ("/EVM/AUTOMATE/test_wildcard", 2),
        ("/EVM/AUTOMATE/test_message1", 1),
        ("/EVM/AUTOMATE/test_message1#discover", 2),
    ] {
        let run = e.instantiate(uri, no_attrs()).unwrap();
        assert_eq!(children(&run).len(), n, "{uri}");
    }
}

#[test]
fn a_class_without_the_instance_or_dot_missing_gives_no_root() {
    let t = relation();
    let run = t
        .engine(ScriptedRunner::new())
        .instantiate("/EVM/MY_AUTOMATE/test_boo", no_attrs())
        .unwrap();
    assert_eq!(run.root, None);
}

#[test]
fn a_cycle_through_three_instances_raises() {
    let t = TempDomains::new();
    t.domain("SPEC_DOMAIN", 100)
        .class(
            "CYCLICAL/AUTOMATE",
            &[attribute("attr1").default("frank"), relationship("rel1")],
        )
        .instance("test1", &[("rel1", "miqaedb:///CYCLICAL/AUTOMATE/test4")])
        .instance("test2", &[("rel1", "miqaedb:///CYCLICAL/AUTOMATE/test1")])
        .instance("test4", &[("rel1", "miqaedb:///CYCLICAL/AUTOMATE/test2")]);
    let err = t
        .engine(ScriptedRunner::new())
        .instantiate("/CYCLICAL/AUTOMATE/test4", no_attrs())
        .unwrap_err();
    assert!(
        matches!(err.error, EngineError::Ae(AeError::CyclicalRelationship(_))),
        "{err}"
    );
}

#[test]
fn a_uri_without_a_path_or_with_an_unknown_scheme_is_invalid_path_format() {
    for uri in ["miqaedb:A/EVM", "abc:A/EVM"] {
        let err = engine().instantiate(uri, no_attrs()).unwrap_err();
        assert!(
            matches!(err.error, EngineError::Ae(AeError::InvalidPathFormat(_))),
            "{uri}: {err}"
        );
    }
}

#[test]
fn assertions_keep_or_drop_the_object() {
    let t = TempDomains::new();
    t.domain("SPEC_DOMAIN", 100)
        .class(
            "SYSTEM/EVM/AUTOMATE",
            &[assertion("assert1"), relationship("rel1")],
        )
        .instance("test1", &[])
        .instance("test2", &[("assert1", "false")])
        .instance("test3", &[("assert1", "true")])
        .instance("test4", &[("rel1", "miqaedb:///SYSTEM/EVM/AUTOMATE/test2")]);
    let e = t.engine(ScriptedRunner::new());
    for (instance, roots) in [("test1", 1), ("test2", 0), ("test3", 1), ("test4", 1)] {
        let run = e
            .instantiate(&format!("/SYSTEM/EVM/AUTOMATE/{instance}"), no_attrs())
            .unwrap();
        assert_eq!(usize::from(run.root.is_some()), roots, "{instance}");
    }
}

#[test]
fn substitution_reads_ancestors_arguments_and_paths() {
    let t = TempDomains::new();
    let d = t.domain("SPEC_DOMAIN", 2);
    let a = d.class(
        "EVM/A",
        &[
            attribute("attr2").datatype("string"),
            attribute("attr1").datatype("string").default("defaultA"),
            relationship("rel1").datatype("string"),
        ],
    );
    a.instance("a1", &[("rel1", "miqaedb:///EVM/B/b1")])
        .instance(
            "a10",
            &[
                ("attr2", "/SPEC_DOMAIN/EVM/B/b10"),
                ("attr1", "Pearl/Slaghoople"),
                ("rel1", "miqaedb:///${#attr2}?attr3=${#attr1}"),
            ],
        );
    for n in [2, 4, 5, 6, 7, 8] {
        a.instance(
            &format!("a{n}"),
            &[
                ("attr1", &format!("a{n}")),
                ("rel1", &format!("miqaedb:///EVM/B/b{n}")),
            ],
        );
    }
    a.instance(
        "a9",
        &[
            ("attr1", "a9"),
            ("rel1", "miqaedb:///EVM/B/b9?attr1=${#attr1}"),
        ],
    );
    d.class(
        "EVM/B",
        &[
            attribute("attr1").default("defaultB"),
            attribute("attr2").default("defaultB"),
            relationship("rel1"),
        ],
    )
    .instance("b1", &[("attr1", "${A#attr1}")])
    .instance("b10", &[("attr1", "Bamm Bamm Rubble")])
    .instance("b2", &[("attr1", "${A#attr1}")])
    .instance("b3", &[("attr1", "b3"), ("attr2", "${#attr1}")])
    .instance("b4", &[("attr1", "${EVM/A#attr1}")])
    .instance("b5", &[("attr1", "${/EVM/A#attr1}")])
    .instance("b6", &[("attr1", "${EVMX/A#attr1}")])
    .instance("b7", &[("attr1", "${BOGUS/EVM/A#attr1}")])
    .instance("b8", &[("attr1", "${}")])
    .instance("b9", &[("attr1", "foo")]);
    let e = t.engine(ScriptedRunner::new());
    let child_attr = |uri: &str, attr: &str| {
        let run = e.instantiate(uri, no_attrs()).unwrap();
        let kids = children(&run);
        run.workspace.obj(kids[0]).read(attr)
    };
    assert_eq!(child_attr("/EVM/A/a1", "attr1"), Value::from("defaultA"));
    assert_eq!(child_attr("/EVM/A/a2", "attr1"), Value::from("a2"));
    let run = e.instantiate("/EVM/B/b3", no_attrs()).unwrap();
    assert_eq!(run.root_get("attr2"), Value::from("b3"));
    assert_eq!(child_attr("/EVM/A/a4", "attr1"), Value::from("a4"));
    for uri in ["/EVM/A/a6", "/EVM/A/a7"] {
        let err = e.instantiate(uri, no_attrs()).unwrap_err();
        assert!(
            matches!(err.error, EngineError::Ae(AeError::ObjectNotFound(_))),
            "{uri}: {err}"
        );
    }
    assert_eq!(child_attr("/EVM/A/a8", "attr1"), Value::from("${}"));
    assert_eq!(child_attr("/EVM/A/a9", "attr1"), Value::from("foo"));
    assert_eq!(
        child_attr("/EVM/A/a10", "attr1"),
        Value::from("Bamm Bamm Rubble")
    );
    assert_eq!(
        child_attr("/EVM/A/a10", "attr3"),
        Value::from("Pearl/Slaghoople")
    );
}

#[test]
fn substitution_calls_methods_of_a_service_model_argument() {
    let t = TempDomains::new();
    let d = t.domain("SPEC_DOMAIN", 100);
    d.class("System/Process", &[relationship("rel")])
        .instance("Request", &[("rel", "/System/Request/${#request}")]);
    d.class(
        "System/Request",
        &[attribute("test_attr"), relationship("test_rel")],
    )
    .instance(
        "test_subst",
        &[("test_attr", "target_type=${/#miq_provision.target_type}")],
    );
    let mut e = t.engine(ScriptedRunner::new());
    Vmdb::new()
        .row(
            "miq_provision",
            1,
            &[("target_type", Value::from("template"))],
        )
        .install(&mut e);
    let run = e
        .instantiate(
            "/System/Process/REQUEST?MiqProvision::miq_provision=1&request=test_subst",
            no_attrs(),
        )
        .unwrap();
    assert_eq!(run.root_get("request"), Value::from("test_subst"));
    let kids = children(&run);
    assert_eq!(
        run.workspace.obj(kids[0]).read("test_attr"),
        Value::from("target_type=template")
    );
}

#[test]
fn an_array_argument_holds_service_models_or_nothing() {
    let t = TempDomains::new();
    t.domain("SPEC_DOMAIN", 100)
        .class("EVM/AUTOMATE", &[method("method1")])
        .method("test", &[])
        .instance("test1", &[("method1", "test")]);
    let e = t.engine(ScriptedRunner::new());
    let run = e
        .instantiate(
            "/EVM/AUTOMATE/test1?Array::my_objects=Vm::1\x1FExtManagementSystem::2\x1FVm::3",
            no_attrs(),
        )
        .unwrap();
    let Value::Array(objects) = run.root_get("my_objects") else {
        panic!("an array");
    };
    assert_eq!(
        objects,
        [
            Value::ServiceModel(ServiceModelRef::new("vm", 1)),
            Value::ServiceModel(ServiceModelRef::new("ext_management_system", 2)),
            Value::ServiceModel(ServiceModelRef::new("vm", 3)),
        ]
    );
    let run = e
        .instantiate("/EVM/AUTOMATE/test1?Array::my_objects=", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("my_objects"), Value::Array(vec![]));
}

/// The peer's null-coalescing model: `/LUIGI/A/C/BARNEY/FRED`.
fn barney() -> TempDomains {
    let t = TempDomains::new();
    let default = "${/#var2} || ${XY/ABC#var2} || Bamm Bamm Rubble";
    t.domain("LUIGI", 10)
        .class(
            "A/C/BARNEY",
            &[
                attribute("field1")
                    .default(default)
                    .datatype("null coalescing"),
                attribute("field2")
                    .default(default)
                    .datatype("null coalescing"),
                attribute("field3").datatype("null coalescing"),
            ],
        )
        .instance(
            "FRED",
            &[(
                "field1",
                "${/#var1} || ${XY/ABC#var2} || ${State_Var#my_id} || Pebbles",
            )],
        );
    t
}

#[test]
fn null_coalescing_uses_the_default_when_the_variables_are_missing() {
    let t = barney();
    let run = t
        .engine(ScriptedRunner::new())
        .instantiate("/A/C/BARNEY/FRED", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("field1"), Value::from("Pebbles"));
    assert_eq!(run.root_get("field2"), Value::from("Bamm Bamm Rubble"));
}

#[test]
fn null_coalescing_takes_the_first_non_nil_value() {
    let t = barney();
    let run = t
        .engine(ScriptedRunner::new())
        .instantiate("/A/C/BARNEY/FRED?var1=wilma", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("field1"), Value::from("wilma"));
    assert_eq!(run.root_get("field2"), Value::from("Bamm Bamm Rubble"));
}

#[test]
fn null_coalescing_without_value_or_default_sets_nothing() {
    let t = barney();
    let run = t
        .engine(ScriptedRunner::new())
        .instantiate("/A/C/BARNEY/FRED", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("field2"), Value::from("Bamm Bamm Rubble"));
    let root = run.workspace.obj(run.root.unwrap());
    assert!(!root.attributes().contains_key("field3"));
}

#[test]
fn null_coalescing_reads_a_state_var() {
    let t = barney();
    // ae_state_data: the state vars a requeue carries (`:my_id: 45`).
    let run = t
        .engine(ScriptedRunner::new())
        .instantiate(
            "/A/C/BARNEY/FRED?ae_state_data=---%0A%3Amy_id%3A%2045%0A",
            no_attrs(),
        )
        .unwrap();
    assert_eq!(run.root_get("field1"), Value::from("45"));
    assert_eq!(run.root_get("field2"), Value::from("Bamm Bamm Rubble"));
    let root = run.workspace.obj(run.root.unwrap());
    assert!(!root.attributes().contains_key("field3"));
}
