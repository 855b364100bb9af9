//! Follows `spec/miq_ae_assertion_spec.rb`: assertion fields. The peer's model rewritten:
//! `/Flintstones/A/C/Kids/Pebbles` guarded by an assertion, the child of
//! `/Fred/X/Y/Family/Wilma`; the VM and the provision request are a fake VMDB's.
//!
//! Not ported: "%w(${/#vm.name} Hoppy).include? 'Fred'": the engine `eval`s an assertion as
//! Ruby; offline the engine evaluates only literals, comparisons, `=~`, `!`, `&&`, `||`
//! (a Ruby runner can evaluate the rest).

use miq_automate_core::{AeError, Value};
use miq_automate_engine::{Engine, EngineError, Run, ScriptedRunner};

use crate::support::build::{assertion, attribute, relationship, TempDomains};
use crate::support::vmdb::Vmdb;
use crate::support::{engine, has_log, no_attrs};

// miq_ae_assertion_spec.rb: a false assertion drops the object; an unset attribute in it
// is AttributeNotFound.
#[test]
fn a_false_assertion_drops_the_object_and_an_unset_attribute_raises() {
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

const VM_NAME: &str = "BammBammRubble";
const CHILD_URL: &str = "/Flintstones/A/C/Kids/Pebbles";
const AUTOMATE_URL: &str =
    "/X/Y/Family/Wilma?Vm::vm=1&MiqProvisionRequest::miq_provision_request=2";

/// The Kids class guarded by `guard` = `assert_value`, and the Family that relates to it.
fn flintstones(assert_value: &str) -> (TempDomains, Engine) {
    let t = TempDomains::new();
    t.domain("Flintstones", 10)
        .class(
            "A/C/Kids",
            &[
                attribute("var1").datatype("string"),
                assertion("guard").datatype("string"),
            ],
        )
        .instance("Pebbles", &[("var1", "ok"), ("guard", assert_value)]);
    t.domain("Fred", 10)
        .class("X/Y/Family", &[relationship("rel1").datatype("string")])
        .instance("Wilma", &[("rel1", "/A/C/Kids/Pebbles")]);
    let mut e = t.engine(ScriptedRunner::new());
    Vmdb::new()
        .row("vm", 1, &[("name", Value::from(VM_NAME))])
        .option(
            "miq_provision_request",
            2,
            "number_of_vms",
            Value::Integer(999),
        )
        .install(&mut e);
    (t, e)
}

/// The family's run: the kid is its one child when the assertion holds.
fn family(assert_value: &str) -> Run {
    let (_t, e) = flintstones(assert_value);
    e.instantiate(AUTOMATE_URL, no_attrs()).unwrap()
}

fn assertion_passes(assert_value: &str) {
    let run = family(assert_value);
    let kids = run.workspace.obj(run.root.unwrap()).children().to_vec();
    assert_eq!(kids.len(), 1, "{assert_value}: two objects");
    let kid = run.workspace.obj(kids[0]);
    assert_eq!(kid.read("var1"), Value::from("ok"));
    assert_eq!(kid.name(), CHILD_URL);
}

fn assertion_fails(assert_value: &str) {
    let run = family(assert_value);
    assert!(
        run.workspace.obj(run.root.unwrap()).children().is_empty(),
        "{assert_value}: one object"
    );
}

#[test]
fn an_assertion_naming_a_missing_object_raises_object_not_found() {
    let (_t, e) = flintstones("${/missing_object#var1}");
    let err = e.instantiate(CHILD_URL, no_attrs()).unwrap_err();
    assert!(
        matches!(err.error, EngineError::Ae(AeError::ObjectNotFound(_))),
        "{err}"
    );
}

/// Assertions run before the fields: `var1` is not set yet.
#[test]
fn an_assertion_naming_a_missing_attribute_raises_attribute_not_found() {
    let (_t, e) = flintstones("${/#var1}");
    let err = e.instantiate(CHILD_URL, no_attrs()).unwrap_err();
    assert!(
        matches!(err.error, EngineError::Ae(AeError::AttributeNotFound(_))),
        "{err}"
    );
}

#[test]
fn true_and_false_assertions() {
    assertion_passes("true");
    assertion_fails("false");
}

#[test]
fn assertions_on_a_vm_name_through_substitution() {
    assertion_passes(&format!("${{/#vm.name.length}} >= {}", VM_NAME.len()));
    // Unquoted, the name is no Ruby literal: the evaluation fails, the object is dropped.
    assertion_fails(&format!("${{/#vm.name}} != '{VM_NAME}'"));
    assertion_passes(&format!("'${{/#vm.name}}' == '{VM_NAME}'"));
}

#[test]
fn assertions_on_a_request_option_with_and_and_or() {
    let option = "${/#miq_provision_request.get_option(:number_of_vms)}";
    assertion_passes(&format!("{option} == 999"));
    assertion_passes(&format!(
        "{option} == 999 && '${{/#vm.name}}' == '{VM_NAME}'"
    ));
    assertion_passes(&format!(
        "{option} != 999 || '${{/#vm.name}}' == '{VM_NAME}'"
    ));
}
