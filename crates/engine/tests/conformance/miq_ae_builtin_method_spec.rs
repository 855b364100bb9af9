//! Follows `spec/engine/miq_ae_builtin_method_spec.rb`: the built-in methods.

use miq_automate_core::Value;

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
