//! `parse_event_stream`: where `/System/Process/Event` sends an event. An EmsEvent goes to
//! its provider's domain (`/<provider_name>/EMSEvent/<manager type>/Event`), any other event
//! to `/System/Event/<event class>/<source>`; the path is set as the root's `event_path`.
//! Everything is read from the event through the object broker.

use miq_automate_core::{AeError, Value};

use crate::engine::Runtime;

/// `receiver.method` with no arguments.
fn call(rt: &mut Runtime<'_>, receiver: &Value, method: &str) -> Result<Value, AeError> {
    rt.workspace().call_method(receiver, method, &[])
}

/// ActiveSupport's `receiver.try(method)`: nil when the receiver does not answer it.
fn try_call(rt: &mut Runtime<'_>, receiver: &Value, method: &str) -> Result<Value, AeError> {
    match call(rt, receiver, method) {
        Err(AeError::NoMethod { .. }) => Ok(Value::Nil),
        other => other,
    }
}

/// `event.object_class.name.casecmp("emsevent").zero?`: exactly EmsEvent, in any case.
fn is_ems_event(rt: &mut Runtime<'_>, event: &Value) -> Result<bool, AeError> {
    let class = call(rt, event, "object_class")?;
    match call(rt, &class, "name")? {
        Value::String(name) => Ok(name.eq_ignore_ascii_case("emsevent")),
        other => Err(AeError::NoMethod {
            receiver: other.masked().inspect(),
            method: "casecmp".into(),
        }),
    }
}

/// The event's provider name (nil without a provider, or one that has no name).
fn provider_name(rt: &mut Runtime<'_>, ems: &Value) -> Result<Value, AeError> {
    if matches!(ems, Value::Nil) {
        return Ok(Value::Nil);
    }
    try_call(rt, ems, "provider_name")
}

/// The provider's manager type, downcased, `infra` spelled `infrastructure` (nil without a
/// provider; a provider without a manager type fails on `downcase`, as in Ruby).
fn manager_type(rt: &mut Runtime<'_>, ems: &Value) -> Result<Value, AeError> {
    if matches!(ems, Value::Nil) {
        return Ok(Value::Nil);
    }
    let raw = try_call(rt, ems, "manager_type")?;
    let downcased = rt.workspace().call_method(&raw, "downcase", &[])?;
    Ok(match downcased.as_str() {
        Some("infra") => Value::from("infrastructure"),
        _ => downcased,
    })
}

pub(super) fn parse_event_stream(rt: &mut Runtime<'_>) -> Result<Value, AeError> {
    let event = rt.workspace().root_get("event_stream");
    if matches!(event, Value::Nil) {
        return Err(AeError::RuntimeError(
            "Event Stream object not found".into(),
        ));
    }
    let path = if is_ems_event(rt, &event)? {
        let ems = call(rt, &event, "ext_management_system")?;
        let provider = provider_name(rt, &ems)?;
        if provider.is_blank() {
            return Err(AeError::RuntimeError("EMS event - Invalid provider".into()));
        }
        let manager = manager_type(rt, &ems)?;
        if manager.is_blank() {
            return Err(AeError::RuntimeError(
                "EMS event - Invalid manager type".into(),
            ));
        }
        format!(
            "/{}/EMSEvent/{}/Event",
            provider.to_ruby_s(),
            manager.to_ruby_s()
        )
    } else {
        let namespace = call(rt, &event, "event_namespace")?.to_ruby_s();
        let source = call(rt, &event, "source")?.to_ruby_s();
        format!("/System/Event/{namespace}/{source}")
    };
    let path = Value::String(path);
    rt.workspace().root_set("event_path", path.clone());
    Ok(path)
}
