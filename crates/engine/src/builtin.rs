//! Built-in methods (`MiqAeBuiltinMethod`): `location: builtin` methods run here, as
//! `miq_` + (data or name); any other name is `MethodNotFound`. An error inside one aborts
//! the instantiation with its message, as the engine does (even a StopInstantiation).
//!
//! Here: log_object, log_workspace, send_email (recorded like `$evm.execute`),
//! parse_provider_category and parse_automation_request. In the submodules: the
//! `/System/event_handlers` calls on the root's event stream and check_policy_prevent
//! (`event_handlers`), parse_event_stream (`event_stream`), host_and_storage_least_utilized
//! (`placement`) and snmp_trap_v1/v2 (`snmp`).

mod event_handlers;
mod event_stream;
mod placement;
mod snmp;

use std::sync::LazyLock;

use indexmap::IndexMap;
use miq_automate_core::{AeError, LogLevel, ObjectId, Value};

use crate::datastore::Field;
use crate::engine::Runtime;
use crate::error::EngineError;

/// The built-ins this runtime has.
pub const BUILTINS: [&str; 21] = [
    "log_object",
    "log_workspace",
    "send_email",
    "snmp_trap_v1",
    "snmp_trap_v2",
    "parse_provider_category",
    "parse_automation_request",
    "host_and_storage_least_utilized",
    "refresh",
    "refresh_sync",
    "event_action_refresh",
    "event_action_refresh_sync",
    "event_action_policy",
    "event_action_scan",
    "src_vm_as_template",
    "change_event_target_state",
    "src_vm_destroy_all_snapshots",
    "src_vm_disconnect_storage",
    "event_enforce_policy",
    "check_policy_prevent",
    "parse_event_stream",
];

/// send_email's mail fields, built once.
static SEND_EMAIL_INPUTS: LazyLock<Vec<Field>> = LazyLock::new(|| {
    ["to", "from", "subject", "body"]
        .iter()
        .enumerate()
        .map(|(i, n)| Field {
            name: (*n).to_string(),
            datatype: Some("string".into()),
            priority: i as i64 + 1,
            substitute: true,
            ..Field::default()
        })
        .collect()
});

/// The inputs `$/object`'s seeded methods declare (send_email's mail fields).
pub(crate) fn object_method_inputs(name: &str) -> &'static [Field] {
    if name == "send_email" {
        &SEND_EMAIL_INPUTS
    } else {
        &[]
    }
}

/// Runs `miq_<name>` on `object`.
pub(crate) fn invoke(
    rt: &mut Runtime<'_>,
    object: ObjectId,
    miq_name: &str,
    inputs: &IndexMap<String, Value>,
) -> Result<Value, EngineError> {
    let name = miq_name.strip_prefix("miq_").unwrap_or(miq_name);
    if !BUILTINS.contains(&name) {
        return Err(AeError::MethodNotFound(format!(
            "Built-In Method [{miq_name}] does not exist"
        ))
        .into());
    }
    let result = match name {
        "log_object" => log_object(rt, object),
        "log_workspace" => log_workspace(rt),
        "send_email" => send_email(rt, inputs),
        "snmp_trap_v1" => snmp::snmp_trap(rt, "v1", inputs),
        "snmp_trap_v2" => snmp::snmp_trap(rt, "v2", inputs),
        "parse_provider_category" => parse_provider_category(rt),
        "parse_automation_request" => parse_automation_request(rt, object),
        "host_and_storage_least_utilized" => placement::host_and_storage_least_utilized(rt, object),
        "refresh" => event_handlers::refresh(rt, false),
        "refresh_sync" => event_handlers::refresh(rt, true),
        "event_action_refresh" => event_handlers::event_action_refresh(rt, inputs, false),
        "event_action_refresh_sync" => event_handlers::event_action_refresh(rt, inputs, true),
        "event_action_policy" => event_handlers::event_action_policy(rt, inputs),
        "event_action_scan" => event_handlers::event_action_scan(rt, inputs),
        "src_vm_as_template" => event_handlers::src_vm_as_template(rt, inputs),
        "change_event_target_state" => event_handlers::change_event_target_state(rt, inputs),
        "src_vm_destroy_all_snapshots" => event_handlers::src_vm_destroy_all_snapshots(rt),
        "src_vm_disconnect_storage" => event_handlers::src_vm_disconnect_storage(),
        "event_enforce_policy" => event_handlers::event_enforce_policy(rt),
        "check_policy_prevent" => event_handlers::check_policy_prevent(rt),
        _ => event_stream::parse_event_stream(rt),
    };
    // The engine rescues every StandardError of a built-in, MiqAeException's own included,
    // and raises AbortInstantiation with its message.
    result.map_err(|e| match e {
        AeError::AbortInstantiation(_) => e.into(),
        other => AeError::AbortInstantiation(other.to_string()).into(),
    })
}

const RULE: &str = "===========================================";

fn log_object(rt: &mut Runtime<'_>, object: ObjectId) -> Result<Value, AeError> {
    let ws = rt.workspace();
    let mut attrs: Vec<(String, Value)> = ws.obj(object).masked_attributes().into_iter().collect();
    attrs.sort_by(|a, b| a.0.cmp(&b.0));
    ws.log_line(LogLevel::Info, RULE.into());
    ws.log_line(LogLevel::Info, "Dumping Object".into());
    ws.log_line(LogLevel::Info, "Listing Object Attributes:".into());
    for (k, v) in attrs {
        ws.log_line(LogLevel::Info, format!("\t{k}: {}", v.to_ruby_s()));
    }
    ws.log_line(LogLevel::Info, RULE.into());
    Ok(Value::Nil)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn object_xml(rt: &mut Runtime<'_>, id: ObjectId, depth: usize, out: &mut String) {
    let ws = rt.workspace();
    let o = ws.obj(id);
    let pad = "  ".repeat(depth);
    out.push_str(&format!(
        "{pad}<MiqAeObject namespace=\"{}\" class=\"{}\" instance=\"{}\">\n",
        xml_escape(o.namespace.as_deref().unwrap_or("")),
        xml_escape(o.class_name.as_deref().unwrap_or("")),
        xml_escape(o.instance_name.as_deref().unwrap_or(""))
    ));
    let mut attrs: Vec<(String, Value)> = o.masked_attributes().into_iter().collect();
    attrs.sort_by(|a, b| a.0.cmp(&b.0));
    for (k, v) in attrs {
        out.push_str(&format!(
            "{pad}  <MiqAeAttribute name=\"{}\">{}</MiqAeAttribute>\n",
            xml_escape(&k),
            xml_escape(&v.to_ruby_s())
        ));
    }
    let children = o.children().to_vec();
    for c in children {
        object_xml(rt, c, depth + 1, out);
    }
    out.push_str(&format!("{pad}</MiqAeObject>\n"));
}

fn log_workspace(rt: &mut Runtime<'_>) -> Result<Value, AeError> {
    let root = rt.workspace().root();
    let mut xml = String::from("<MiqAeWorkspace>\n");
    object_xml(rt, root, 1, &mut xml);
    xml.push_str("</MiqAeWorkspace>");
    let ws = rt.workspace();
    ws.log_line(LogLevel::Info, RULE.into());
    ws.log_line(LogLevel::Info, "Dumping Workspace".into());
    ws.log_line(LogLevel::Info, xml);
    ws.log_line(LogLevel::Info, RULE.into());
    Ok(Value::Nil)
}

fn send_email(rt: &mut Runtime<'_>, inputs: &IndexMap<String, Value>) -> Result<Value, AeError> {
    let get = |k: &str| inputs.get(k).cloned().unwrap_or_default();
    let options = Value::Hash(
        ["cc", "bcc", "content_type"]
            .iter()
            .map(|k| (Value::Symbol((*k).into()), get(k)))
            .collect(),
    );
    rt.workspace().execute(
        "send_email",
        vec![get("to"), get("from"), get("subject"), get("body"), options],
    )
}

/// Keys whose root object decides the provider category, in the engine's order.
const CATEGORY_KEYS: [&str; 10] = [
    "vm",
    "orchestration_stack",
    "miq_request",
    "miq_provision",
    "vm_migrate_task",
    "vm_retire_task",
    "service_retire_task",
    "orchestration_stack_retire_task",
    "physical_server_provision_task",
    "platform_category",
];

/// `cloud`/`infrastructure` from a VM-like object's `cloud` flag (through the broker).
fn vm_category(rt: &mut Runtime<'_>, vm: &Value) -> Option<String> {
    match rt.workspace().call_method(vm, "cloud", &[]) {
        Ok(v) if v.is_truthy() => Some("cloud".into()),
        Ok(_) => Some("infrastructure".into()),
        Err(_) => None, // no broker answer: the object does not respond to `cloud`
    }
}

fn source_category(rt: &mut Runtime<'_>, object: &Value) -> Option<String> {
    let source = rt.workspace().call_method(object, "source", &[]).ok()?;
    if source.is_truthy() {
        vm_category(rt, &source)
    } else {
        None
    }
}

fn category_for(rt: &mut Runtime<'_>, key: &str) -> Option<String> {
    let value = rt.workspace().root_get(key);
    if key == "platform_category" {
        return value.is_truthy().then(|| match value.to_ruby_s().as_str() {
            "infra" => "infrastructure".to_string(),
            other => other.to_string(),
        });
    }
    if !value.is_truthy() {
        return None;
    }
    match key {
        "orchestration_stack" | "orchestration_stack_retire_task" => Some("cloud".into()),
        "miq_request" | "miq_provision" | "vm_migrate_task" | "vm_retire_task" => {
            source_category(rt, &value)
        }
        "service_retire_task" => Some(String::new()),
        "vm" => vm_category(rt, &value),
        "physical_server_provision_task" => Some("physicalinfrastructure".into()),
        _ => Some("unknown".into()),
    }
}

fn parse_provider_category(rt: &mut Runtime<'_>) -> Result<Value, AeError> {
    let mut category = None;
    for key in CATEGORY_KEYS {
        // `detect_category` asks whether the root's miq_request is a
        // PhysicalServerProvisionRequest before it asks for the request's source; the class
        // is the service model's (`physical_server_provision_request`) or the embedder's.
        let physical = key == "miq_request"
            && rt
                .workspace()
                .root_get(key)
                .ruby_class()
                .ends_with("PhysicalServerProvisionRequest");
        category = if physical {
            Some("physicalinfrastructure".into())
        } else {
            category_for(rt, key)
        };
        if category.is_some() {
            break;
        }
    }
    let ws = rt.workspace();
    ws.log_line(
        LogLevel::Info,
        format!(
            "Setting provider_category to: {}",
            category.clone().unwrap_or_default()
        ),
    );
    let value = Value::String(category.unwrap_or_else(|| "unknown".into()));
    ws.root_set("ae_provider_category", value.clone());
    Ok(value)
}

fn parse_automation_request(rt: &mut Runtime<'_>, object: ObjectId) -> Result<Value, AeError> {
    let ws = rt.workspace();
    let request = ws.obj(object).read("request").to_ruby_s();
    let target: Option<[&str; 3]> = match request.as_str() {
        "vm_provision" => Some(["VM", "Lifecycle", "Provisioning"]),
        "vm_retired" | "vm_retire" => Some(["VM", "Lifecycle", "Retirement"]),
        "vm_migrate" => Some(["VM", "Lifecycle", "Migrate"]),
        "service_retire" => Some(["Service", "Lifecycle", "Retirement"]),
        "orchestration_stack_retire" => Some(["Orchestration", "Lifecycle", "Retirement"]),
        "configured_system_provision" => {
            ws.root_set("ae_provider_category", Value::from("infrastructure"));
            Some(["Configured_System", "Lifecycle", "Provisioning"])
        }
        "physical_server_provision" => Some(["PhysicalServer", "Lifecycle", "Provisioning"]),
        "provision_via_automation_manager" => {
            ws.root_set("ae_provider_category", Value::from("AutomationManagement"));
            Some(["AutomationManager", "Lifecycle", "Provisioning"])
        }
        _ => None,
    };
    for (i, key) in ["target_component", "target_class", "target_instance"]
        .iter()
        .enumerate()
    {
        let v = target.map_or(Value::Nil, |t| Value::from(t[i]));
        ws.obj_mut(object).set(key, v);
    }
    let o = ws.obj(object);
    let (component, class, instance) = (
        o.read("target_component").to_ruby_s(),
        o.read("target_class").to_ruby_s(),
        o.read("target_instance").to_ruby_s(),
    );
    ws.log_line(
        LogLevel::Info,
        format!("Request:<{request}> Target Component:<{component}> "),
    );
    ws.log_line(
        LogLevel::Info,
        format!("Target Class:<{class}> Target Instance:<{instance}>"),
    );
    Ok(Value::Nil)
}
