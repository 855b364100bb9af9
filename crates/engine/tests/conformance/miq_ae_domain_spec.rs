//! Follows `spec/miq_ae_domain_spec.rb`: the overlay of domains by priority. The peer's
//! `domain_test.yaml` rewritten: root (10), user (20), inert (10, disabled), evm1 and evm2
//! (100); each domain's method sets the root's `method_executed`.
//!
//! Not ported:
//! - ".with_tenant" "lists ancestor of automate domains": tenants own domains in the
//!   database; this engine has no tenants.
//! - "cannot set parent_id in a domain object", "can set other attributes in a domain
//!   object": validations of the MiqAeDomain model.

use miq_automate_core::Value;
use miq_automate_engine::{Engine, FnRunner, MethodInvocation, Run, Runtime};
use serde_json::json;

use crate::support::build::{attribute, method, relationship, TempDomains};
use crate::support::{engine, has_log, no_attrs};

// miq_ae_domain_spec.rb: a partial path goes to the highest enabled domain; disabled ones
// are ignored; lookups are case-insensitive; .missing by priority; an exact instance in a
// lower domain beats .missing in a higher one.
#[test]
fn a_partial_path_goes_to_the_highest_enabled_domain_that_has_it() {
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

/// Each method records what it is: `method_executed` on the root.
fn executed(rt: &mut Runtime<'_>, m: &MethodInvocation) -> Result<i32, miq_automate_core::AeError> {
    let value = m
        .name
        .strip_suffix("_method")
        .filter(|n| !n.contains('_'))
        .unwrap_or(&m.name);
    rt.workspace()
        .root_set("method_executed", Value::from(value));
    Ok(0)
}

/// The domains of `domain_test.yaml`; `inert` enabled or not, evm1's and evm2's priorities.
fn domains(inert_enabled: bool, evm1: i64, evm2: i64) -> Engine {
    let t = TempDomains::new();
    let fields = [
        method("overlay_method"),
        attribute("attr1"),
        relationship("connect_to"),
    ];
    let domain = |name: &str, priority: i64, enabled: bool| {
        t.domain_with(
            name,
            json!({"name": name, "priority": priority, "enabled": enabled, "source": "user"}),
        )
    };
    domain("root", 10, true)
        .class("evm/AUTOMATE", &fields)
        .method("root_method", &[])
        .instance("test1", &[("overlay_method", "root_method")])
        .instance("test2", &[("connect_to", "/root/evm/AUTOMATE/test1")]);
    domain("user", 20, true)
        .class("evm/AUTOMATE", &fields)
        .method("user_method", &[])
        .instance("test1", &[("overlay_method", "user_method")])
        .instance("test2", &[("connect_to", "/root/evm/AUTOMATE/test3*")])
        .instance("test31", &[("attr1", "test31")])
        .instance(
            "test32",
            &[("overlay_method", "user_method"), ("attr1", "test32")],
        )
        .instance("test_wildcard", &[("connect_to", "/evm/AUTOMATE/test3*")]);
    domain("inert", 10, inert_enabled)
        .class("evm/AUTOMATE", &fields)
        .method("inert_method", &[])
        .instance(
            "should_get_used",
            &[("overlay_method", "inert_method"), ("attr1", "test32")],
        )
        .instance("should_not_get_used", &[("attr1", "test31")])
        .instance("test1", &[("overlay_method", "inert_method")])
        .instance("test2", &[("connect_to", "/root/evm/AUTOMATE/test3*")])
        .instance("test_wildcard", &[("connect_to", "/evm/AUTOMATE/test3*")]);
    for (name, priority) in [("evm1", evm1), ("evm2", evm2)] {
        let m = format!("{name}_missing_method");
        domain(name, priority, true)
            .class(
                "test/AUTOMATE",
                &[method("overlay_method"), relationship("connect_to")],
            )
            .method(&m, &[])
            .instance(".missing", &[("overlay_method", &m)]);
    }
    t.engine(FnRunner(executed))
}

/// `assert_method_executed`: one root, whose `method_executed` is `value`.
fn assert_method_executed(e: &Engine, uri: &str, value: &str) {
    let run = e.instantiate(uri, no_attrs()).unwrap();
    assert!(run.root.is_some(), "{uri}: one root");
    assert_eq!(run.root_get("method_executed"), Value::from(value), "{uri}");
}

fn no_roots(run: &Run) -> bool {
    run.root.is_none()
}

#[test]
fn a_partial_namespace_uses_the_higher_priority_instance_case_insensitively() {
    let e = domains(false, 100, 100);
    assert!(e.datastore().domain("evm").is_none(), "evm is no domain");
    assert_method_executed(&e, "evm/AUTOMATE/test1", "user");
    assert_method_executed(&e, "evm/AUTOMATE/TeSt1", "user");
}

#[test]
fn a_fully_qualified_namespace_runs_that_domains_method() {
    let e = domains(false, 100, 100);
    assert_method_executed(&e, "root/evm/AUTOMATE/test2", "root");
}

#[test]
fn a_partial_namespace_with_a_wildcard_relationship() {
    let e = domains(false, 100, 100);
    assert_method_executed(&e, "evm/AUTOMATE/test_wildcard", "user");
}

#[test]
fn a_partial_path_no_enabled_domain_has_gives_no_root() {
    let e = domains(false, 100, 100);
    let run = e
        .instantiate("evm/AUTOMATE/non_existent", no_attrs())
        .unwrap();
    assert!(no_roots(&run));
    // Only the disabled domain has it.
    let run = e
        .instantiate("evm/AUTOMATE/should_not_get_used", no_attrs())
        .unwrap();
    assert!(no_roots(&run));
}

#[test]
fn an_enabled_domain_is_picked_up() {
    let e = domains(true, 100, 100);
    assert_method_executed(&e, "evm/AUTOMATE/should_get_used", "inert");
}

#[test]
fn dot_missing_is_taken_from_the_highest_enabled_domain() {
    let e = domains(false, 40, 10);
    assert_method_executed(&e, "test/AUTOMATE/does_not_exist", "evm1_missing_method");
}

#[test]
fn the_enabled_domains_and_all_domains() {
    let e = domains(false, 100, 100);
    let names = |enabled_only: bool| {
        let mut v: Vec<String> = e
            .datastore()
            .domains()
            .iter()
            .filter(|d| d.enabled || !enabled_only)
            .map(|d| d.name.clone())
            .collect();
        v.sort();
        v
    };
    assert_eq!(names(true), ["evm1", "evm2", "root", "user"]);
    assert_eq!(names(false), ["evm1", "evm2", "inert", "root", "user"]);
}
