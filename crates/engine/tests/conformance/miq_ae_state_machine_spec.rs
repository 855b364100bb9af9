//! Follows `spec/miq_ae_state_machine_spec.rb`: a state machine's hooks and main as method
//! calls (`METHOD::`, qualified names), errors in its methods. The first cases run over
//! `tests/domains/engine` and `tests/domains/state_machines`; the others over the peer's
//! `state_machine` data rewritten ([`factory`]: an event relates to the 10-state
//! `Factory/StateMachine/Provisioning`).
//!
//! Not ported: "resolves a provision request (old-style)": its result (`ae_state` =
//! `final`) is computed by the Ruby body `provision_state_machine.rb`, a state machine
//! written by hand in Ruby, which only the Ruby runner runs.

use miq_automate_core::{AeError, Value};
use miq_automate_engine::{Engine, EngineError, Run, ScriptedRunner};

use crate::support::build::{
    assertion, attribute, input, method, relationship, state, TempDomains,
};
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

const STATES: [(&str, &str); 10] = [
    ("AcquireIPAddress", "/Integration/IPAM/AcquireIPAddress"),
    ("AcquireMACAddress", "/Integration/IPAM/AcquireMACAddress"),
    ("RegisterDNS", "/Integration/IPAM/RegisterDNS"),
    ("RegisterCMDB", "/Integration/CMDB/Register"),
    ("RegisterAD", "/Integration/IPAM/RegisterAD"),
    ("Provision", "/Factory/VM/Provision"),
    ("ProvisionCheck", "/Factory/VM/ProvisionCheck"),
    ("RegisterDHCP", "/Integration/IPAM/RegisterDHCP"),
    ("ActivateCMDB", "/Integration/CMDB/Activate"),
    (
        "EmailOwner",
        "/Factory/Method/vm_email_owner?event=vm_provisioned",
    ),
];

/// The peer's `state_machine` data, rewritten; `tweak` sets one key of one state of the
/// `Provisioning` instance (`i1.set_field_attribute(f1, value, key)`), `check` is what
/// `ProvisionCheck` calls.
fn factory(tweak: Option<(&str, &str, &str)>, check: &str) -> Engine {
    let t = TempDomains::new();
    let d = t.domain("SPEC_DOMAIN", 100);
    d.class(
        "System/Event",
        &[
            assertion("guard"),
            attribute("logical_event"),
            relationship("rel5"),
        ],
    )
    .instance(".missing", &[("logical_event", "other")])
    .instance(
        "vm_provision_requested_new",
        &[
            ("logical_event", "vm_provision_requested"),
            ("rel5", "/Automation/VMLifecycle/Provisioning2"),
        ],
    );
    d.class("Automation/VMLifecycle", &[relationship("Relationship5")])
        .instance(
            "Provisioning2",
            &[("Relationship5", "/Factory/StateMachine/Provisioning")],
        );
    let statuses = [input("status"), input("status_state")];
    let mut fields: Vec<_> = STATES.iter().map(|(name, _)| state(name)).collect();
    fields[9] = state("EmailOwner").set("on_exit", "log_workspace");
    let mut values: Vec<(&str, Vec<(&str, &str)>)> = STATES
        .iter()
        .map(|(name, value)| (*name, vec![("value", *value)]))
        .collect();
    if let Some((field, key, value)) = tweak {
        let slot = values
            .iter_mut()
            .find(|(f, _)| *f == field)
            .expect("a state");
        slot.1.retain(|(k, _)| *k != key);
        slot.1.push((key, value));
    }
    d.class("Factory/StateMachine", &fields)
        .method("update_provision_status", &statuses)
        .instance_keys("Provisioning", &values);
    d.class("Factory/VM", &[method("execute").datatype("string")])
        .method("provision_check", &[input("result").default("ok")])
        .instance("Provision", &[])
        .instance("ProvisionCheck", &[("execute", check)]);
    d.class("Factory/Method", &[assertion("guard"), method("on_entry")])
        .method("test_class_method", &statuses)
        .instance("Vm_Email_Owner", &[]);
    d.class("Integration/IPAM", &[method("Method").datatype("string")])
        .method("acquire_ip_address", &[])
        .method("acquire_mac_address", &[])
        .method("register_dns", &[])
        .method("register_dhcp", &[])
        .instance("AcquireIPAddress", &[("Method", "acquire_ip_address")])
        .instance("AcquireMacAddress", &[("Method", "acquire_mac_address")])
        .instance("RegisterAD", &[])
        .instance("RegisterDHCP", &[("Method", "register_dhcp")])
        .instance("RegisterDNS", &[("Method", "register_dns")]);
    d.class("Integration/CMDB", &[method("execute").collect("result")])
        .instance("Activate", &[])
        .instance("Register", &[]);
    let ok = |rt: &mut miq_automate_engine::Runtime<'_>,
              _: &miq_automate_engine::MethodInvocation| {
        rt.workspace().root_set("ae_result", Value::from("ok"));
        Ok(0)
    };
    let mark = |name: &'static str| {
        move |rt: &mut miq_automate_engine::Runtime<'_>,
              _: &miq_automate_engine::MethodInvocation| {
            rt.workspace()
                .root_set("test_root_object_attribute", Value::from(name));
            Ok(0)
        }
    };
    let runner = ScriptedRunner::new()
        .on("acquire_ip_address", ok)
        .on("acquire_mac_address", ok)
        .on("register_dns", ok)
        .on("update_provision_status", mark("update_provision_status"))
        .on("test_class_method", mark("test_class_method"))
        .on("provision_check", |rt, m| {
            match m.inputs["result"].to_ruby_s().as_str() {
                // `null['ae_result'] = ...`: a NameError.
                "exception" => {
                    return Err(AeError::NoMethod {
                        receiver: "main".into(),
                        method: "null".into(),
                    })
                }
                "error" => rt.workspace().root_set("ae_result", Value::from("error")),
                _ => rt.workspace().root_set("ae_result", Value::from("ok")),
            }
            Ok(0)
        });
    t.engine(runner)
}

fn provision(e: &Engine) -> Run {
    e.instantiate("/SYSTEM/EVENT/VM_PROVISION_REQUESTED_NEW", no_attrs())
        .unwrap()
}

#[test]
fn a_provision_request_runs_every_state_to_the_end() {
    let run = provision(&factory(None, "provision_check"));
    assert_eq!(run.root_get("ae_result"), Value::from("ok"));
    assert_eq!(run.root_get("ae_state"), Value::from(""));
}

#[test]
fn a_state_method_setting_error_stops_the_machine_in_that_state() {
    let run = provision(&factory(None, "provision_check(result => 'error')"));
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
    assert_eq!(run.root_get("ae_state"), Value::from("ProvisionCheck"));
}

#[test]
fn a_state_method_raising_stops_the_machine_in_that_state() {
    let run = provision(&factory(None, "provision_check(result => 'exception')"));
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
    assert_eq!(run.root_get("ae_state"), Value::from("ProvisionCheck"));
}

/// The class's `EmailOwner` on_exit is log_workspace; the instance's log_object wins.
#[test]
fn an_instance_hook_overrides_the_class_hook() {
    let run = provision(&factory(
        Some(("EmailOwner", "on_exit", "log_object")),
        "provision_check",
    ));
    assert!(has_log(&run, "Dumping Object"));
    assert!(!has_log(&run, "Dumping Workspace"));
    let run = provision(&factory(None, "provision_check"));
    assert!(has_log(&run, "Dumping Workspace"));
}

/// The machine instantiated by its domain-qualified path (no leading `/`).
fn machine(e: &Engine) -> Run {
    e.instantiate("SPEC_DOMAIN/Factory/statemachine/Provisioning", no_attrs())
        .unwrap()
}

#[test]
fn an_on_entry_hook_runs_an_instance_method() {
    let e = factory(
        Some((
            "AcquireIPAddress",
            "on_entry",
            "update_provision_status(status => 'Testing on entry method',status_state => 'on_entry')",
        )),
        "provision_check",
    );
    let run = machine(&e);
    assert_eq!(
        run.root_get("test_root_object_attribute"),
        Value::from("update_provision_status")
    );
}

#[test]
fn ae_status_state_is_the_last_step_run() {
    let run = machine(&factory(None, "provision_check"));
    assert_eq!(run.root_get("ae_status_state"), Value::from("on_exit"));
}

#[test]
fn an_on_entry_hook_runs_a_fully_or_partially_qualified_class_method() {
    for call in [
        "SPEC_DOMAIN/factory/method.test_class_method(status => 'Testing class on entry method',status_state => 'on_entry')",
        "/factory/method.test_class_method(status => 'Test',status_state => 'on_entry')",
    ] {
        let e = factory(Some(("AcquireIPAddress", "on_entry", call)), "provision_check");
        let run = machine(&e);
        assert_eq!(
            run.root_get("test_root_object_attribute"),
            Value::from("test_class_method"),
            "{call}"
        );
    }
}

#[test]
fn a_state_value_method_runs_an_instance_or_class_method() {
    for (call, ran) in [
        (
            "METHOD::update_provision_status(status => 'Test',status_state => 'value')",
            "update_provision_status",
        ),
        (
            "METHOD::/factory/method.test_class_method(status => 'Test',status_state => 'on_entry')",
            "test_class_method",
        ),
    ] {
        let e = factory(Some(("AcquireIPAddress", "value", call)), "provision_check");
        let run = machine(&e);
        assert_eq!(
            run.root_get("test_root_object_attribute"),
            Value::from(ran),
            "{call}"
        );
    }
}
