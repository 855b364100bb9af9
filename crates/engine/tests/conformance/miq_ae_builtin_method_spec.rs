//! Follows `spec/engine/miq_ae_builtin_method_spec.rb`: the built-in methods, here through
//! `/Base/Test/Process/automation` of `tests/domains/engine` (its fields call
//! parse_automation_request, parse_provider_category and send_email).
//!
//! Not ported here: `.miq_check_policy_prevent` ("with policy not prevented", "with policy
//! prevented"): the event built-ins have their own cases, with the event stream a fake
//! VMDB's (`tests/builtins.rs`).

use miq_automate_core::{ServiceModelRef, Value};

use crate::support::{engine, has_log};

#[test]
fn parse_automation_request_and_provider_category_route_a_vm_provision() {
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

/// The root of `/Base/Test/Process/automation?request=physical_server_provision` with `key`
/// holding a `model` object.
fn physical(key: &str, model: &str) -> miq_automate_engine::Run {
    engine()
        .instantiate(
            "/Base/Test/Process/automation?request=physical_server_provision",
            [(key, Value::ServiceModel(ServiceModelRef::new(model, 1)))],
        )
        .unwrap()
}

fn assert_physical_server_provisioning(run: &miq_automate_engine::Run) {
    assert_eq!(
        run.root_get("ae_provider_category"),
        Value::from("physicalinfrastructure")
    );
    assert_eq!(
        run.root_get("target_component"),
        Value::from("PhysicalServer")
    );
    assert_eq!(run.root_get("target_class"), Value::from("Lifecycle"));
    assert_eq!(run.root_get("target_instance"), Value::from("Provisioning"));
}

/// The request is asked for its class before its source (here it has none).
#[test]
fn a_physical_server_provision_request_routes_to_physical_infrastructure() {
    let run = physical("miq_request", "physical_server_provision_request");
    assert_physical_server_provisioning(&run);
    assert!(has_log(
        &run,
        "Setting provider_category to: physicalinfrastructure"
    ));
}

#[test]
fn a_physical_server_provision_task_routes_to_physical_infrastructure() {
    let run = physical(
        "physical_server_provision_task",
        "physical_server_provision_task",
    );
    assert_physical_server_provisioning(&run);
}
