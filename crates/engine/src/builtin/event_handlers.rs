//! The `/System/event_handlers` built-ins. Each takes the root's `event_stream` and makes one
//! call on it, as `MiqAeBuiltinMethod` does: refresh the provider, raise a policy event, scan,
//! change the target's state… The call is recorded with the workspace's executions and made
//! through the object broker when the embedder set one ([`Workspace::execute_on`]): offline,
//! nothing is refreshed or enforced, and a test asserts the recorded call.
//!
//! `check_policy_prevent` only reads the event: a prevented policy stops the instantiation.
//!
//! [`Workspace::execute_on`]: miq_automate_core::Workspace::execute_on

use indexmap::IndexMap;
use miq_automate_core::{AeError, Value};

use crate::engine::Runtime;

/// The root's `event_stream`; the engine raises MethodParmMissing when it is nil.
fn event_stream(rt: &mut Runtime<'_>) -> Result<Value, AeError> {
    match rt.workspace().root_get("event_stream") {
        Value::Nil => Err(AeError::MethodParmMissing("Event not specified".into())),
        event => Ok(event),
    }
}

/// An input by name (nil when the method declares no such input, as a Ruby Hash gives).
fn input(inputs: &IndexMap<String, Value>, name: &str) -> Value {
    inputs.get(name).cloned().unwrap_or_default()
}

/// `event.<method>(*args)`, recorded (and made through the broker when there is one).
fn call_event(rt: &mut Runtime<'_>, method: &str, args: Vec<Value>) -> Result<Value, AeError> {
    let event = event_stream(rt)?;
    rt.workspace().execute_on(&event, method, args)
}

/// `refresh` / `refresh_sync`: `event.manager_refresh(:sync => sync)`, the event's provider
/// refreshed as a whole (the keyword argument is recorded as the Hash `{sync: …}`).
pub(super) fn refresh(rt: &mut Runtime<'_>, sync: bool) -> Result<Value, AeError> {
    let options = Value::Hash(vec![(Value::Symbol("sync".into()), Value::Bool(sync))]);
    call_event(rt, "manager_refresh", vec![options])
}

/// `event_action_refresh` / `_sync`: `event.refresh(target, sync)`; the target names what to
/// refresh (`ems`, `src_vm`, `dest_host`…), resolved by ManageIQ, not here.
pub(super) fn event_action_refresh(
    rt: &mut Runtime<'_>,
    inputs: &IndexMap<String, Value>,
    sync: bool,
) -> Result<Value, AeError> {
    call_event(
        rt,
        "refresh",
        vec![input(inputs, "target"), Value::Bool(sync)],
    )
}

/// `event_action_policy`: `event.policy(target, policy_event, param)`, which raises the policy
/// event on the target.
pub(super) fn event_action_policy(
    rt: &mut Runtime<'_>,
    inputs: &IndexMap<String, Value>,
) -> Result<Value, AeError> {
    let args = ["target", "policy_event", "param"]
        .iter()
        .map(|k| input(inputs, k))
        .collect();
    call_event(rt, "policy", args)
}

/// `event_action_scan`: `event.scan(target)`.
pub(super) fn event_action_scan(
    rt: &mut Runtime<'_>,
    inputs: &IndexMap<String, Value>,
) -> Result<Value, AeError> {
    call_event(rt, "scan", vec![input(inputs, "target")])
}

/// `src_vm_as_template`: `event.src_vm_as_template(flag)`, the source VM marked (or not) as
/// a template.
pub(super) fn src_vm_as_template(
    rt: &mut Runtime<'_>,
    inputs: &IndexMap<String, Value>,
) -> Result<Value, AeError> {
    call_event(rt, "src_vm_as_template", vec![input(inputs, "flag")])
}

/// `change_event_target_state`: `event.change_event_target_state(target, param)`, the target
/// given the state `param`.
pub(super) fn change_event_target_state(
    rt: &mut Runtime<'_>,
    inputs: &IndexMap<String, Value>,
) -> Result<Value, AeError> {
    let args = vec![input(inputs, "target"), input(inputs, "param")];
    call_event(rt, "change_event_target_state", args)
}

/// `src_vm_destroy_all_snapshots`: `event.src_vm_destroy_all_snapshots`.
pub(super) fn src_vm_destroy_all_snapshots(rt: &mut Runtime<'_>) -> Result<Value, AeError> {
    call_event(rt, "src_vm_destroy_all_snapshots", Vec::new())
}

/// `src_vm_disconnect_storage`: nothing. ManageIQ keeps it for compatibility only (the work
/// moved to the VM's inventory disconnect); it does not even look for the event.
pub(super) fn src_vm_disconnect_storage() -> Result<Value, AeError> {
    Ok(Value::Nil)
}

/// `event_enforce_policy`: `event.process_evm_event`, the policies of a MiqEvent enforced.
pub(super) fn event_enforce_policy(rt: &mut Runtime<'_>) -> Result<Value, AeError> {
    call_event(rt, "process_evm_event", Vec::new())
}

/// `check_policy_prevent`: when the event's `full_data[:policy][:prevented]` is set (a policy
/// prevented the request), stops with `Event <type> for <target> was terminated: <message>`.
/// A `full_data` without `:policy` fails as Ruby does (`[]` on nil).
pub(super) fn check_policy_prevent(rt: &mut Runtime<'_>) -> Result<Value, AeError> {
    let event = event_stream(rt)?;
    let ws = rt.workspace();
    let full_data = ws.call_method(&event, "full_data", &[])?;
    if !full_data.is_truthy() {
        return Ok(Value::Nil);
    }
    // Symbol keys, as ManageIQ stores them: a String key is another key.
    let policy = ws.call_method(&full_data, "[]", &[Value::Symbol("policy".into())])?;
    let prevented = ws.call_method(&policy, "[]", &[Value::Symbol("prevented".into())])?;
    if !prevented.is_truthy() {
        return Ok(Value::Nil);
    }
    let event_type = ws.call_method(&event, "event_type", &[])?.to_ruby_s();
    let target = ws.call_method(&event, "target", &[])?.to_ruby_s();
    let message = ws.call_method(&event, "message", &[])?.to_ruby_s();
    Err(AeError::StopInstantiation(format!(
        "Event {event_type} for {target} was terminated: {message}"
    )))
}
