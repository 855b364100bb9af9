//! `host_and_storage_least_utilized`: VM placement for a provision. Among the template's
//! provider's powered-on hosts, the one running the fewest powered-on VMs that has a writable
//! storage with more free space than the template needs; of its storages, the one with the
//! most free space. Both are set on the current object as `host` and `storage` (nothing is
//! set when no host fits). The objects are read through the object broker.

use miq_automate_core::{AeError, ObjectId, Value};

use crate::engine::Runtime;

/// `receiver.method` with no arguments.
fn call(rt: &mut Runtime<'_>, receiver: &Value, method: &str) -> Result<Value, AeError> {
    rt.workspace().call_method(receiver, method, &[])
}

/// The elements of a collection (`ems.hosts`, `host.vms`); anything else fails on `each`.
fn each(value: Value) -> Result<Vec<Value>, AeError> {
    match value {
        Value::Array(items) => Ok(items),
        other => Err(AeError::NoMethod {
            receiver: other.masked().inspect(),
            method: "each".into(),
        }),
    }
}

/// Ruby's `a > b` on sizes. Numbers compare; a number against anything else fails as Ruby's
/// Comparable does; any other receiver is asked (the broker may answer, e.g. a BigDecimal).
fn greater(rt: &mut Runtime<'_>, a: &Value, b: &Value) -> Result<bool, AeError> {
    let number = |v: &Value| match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => Ok(x > y),
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => Ok(x > y),
            (Some(_), None) => {
                let other = match b {
                    Value::Nil | Value::Bool(_) => b.inspect(),
                    _ => b.ruby_class(),
                };
                Err(AeError::ArgumentError(format!(
                    "comparison of {} with {other} failed",
                    a.ruby_class()
                )))
            }
            (None, _) => Ok(rt
                .workspace()
                .call_method(a, ">", std::slice::from_ref(b))?
                .is_truthy()),
        },
    }
}

/// The host's writable storage with the most free space among those with more than `vm`
/// needs (the first of equals).
fn roomiest_storage(
    rt: &mut Runtime<'_>,
    host: &Value,
    vm: &Value,
) -> Result<Option<Value>, AeError> {
    let mut best: Option<(Value, Value)> = None;
    for storage in each(call(rt, host, "writable_storages")?)? {
        let free = call(rt, &storage, "free_space")?;
        let needed = call(rt, vm, "provisioned_storage")?;
        if !greater(rt, &free, &needed)? {
            continue;
        }
        let roomier = match &best {
            Some((_, best_free)) => greater(rt, &free, best_free)?,
            None => true,
        };
        if roomier {
            best = Some((storage, free));
        }
    }
    Ok(best.map(|(storage, _)| storage))
}

pub(super) fn host_and_storage_least_utilized(
    rt: &mut Runtime<'_>,
    object: ObjectId,
) -> Result<Value, AeError> {
    let prov = rt.workspace().root_get("miq_provision");
    if matches!(prov, Value::Nil) {
        return Err(AeError::MethodParmMissing("Provision not specified".into()));
    }
    let vm = call(rt, &prov, "vm_template")?;
    let ems = call(rt, &vm, "ext_management_system")?;
    if matches!(ems, Value::Nil) {
        let name = call(rt, &vm, "name")?.to_ruby_s();
        // ManageIQ's message has no closing bracket.
        return Err(AeError::RuntimeError(format!(
            "EMS not found for VM [{name}"
        )));
    }
    let on = Value::from("on");
    let mut fewest_running: Option<i64> = None;
    let mut chosen: Option<(Value, Value)> = None;
    for host in each(call(rt, &ems, "hosts")?)? {
        if call(rt, &host, "power_state")? != on {
            continue;
        }
        let mut running = 0;
        for vm_on_host in each(call(rt, &host, "vms")?)? {
            if call(rt, &vm_on_host, "power_state")? == on {
                running += 1;
            }
        }
        if fewest_running.is_some_and(|fewest| running >= fewest) {
            continue;
        }
        let Some(storage) = roomiest_storage(rt, &host, &vm)? else {
            continue;
        };
        chosen = Some((host, storage));
        fewest_running = Some(running);
    }
    if let Some((host, storage)) = chosen {
        let ws = rt.workspace();
        ws.obj_mut(object).set("host", host);
        ws.obj_mut(object).set("storage", storage);
    }
    Ok(Value::Nil)
}
