//! Virtual attributes and associations a resource read may ask for with `attributes=`
//! (ManageIQ's `virtual_column`s and `has_many`s: `all_service_children`, `vms`,
//! `service_resources`, `miq_request_tasks`, …), computed from the VMDB.

use miq_automate_vmdb::model::{Service, Vm};
use miq_automate_vmdb::{Id, Vmdb};
use serde_json::{json, Value};

use crate::collection::Collection;
use crate::records::{self, Record};
use crate::reply::ApiError;

/// The value of `attr` on record `id` of `coll`; `href(collection, id)` renders the hrefs
/// of the records it embeds. Null for an attribute the collection does not derive.
pub(crate) fn value(
    db: &Vmdb,
    coll: Collection,
    id: Id,
    attr: &str,
    href: &dyn Fn(&str, &str) -> String,
) -> Result<Value, ApiError> {
    let with_href = |mut m: Record, reftype: &str, id: Id| {
        m.insert("href".into(), json!(href(reftype, &id.to_string())));
        Value::Object(m)
    };
    let service_value = |s: &Service| with_href(records::service(db, s), "services", s.id);
    let vm_value = |v: &Vm| with_href(v.columns(), "vms", v.id);
    Ok(match (coll, attr) {
        (Collection::Services, "direct_service_children" | "services") => Value::Array(
            db.service_children(id)?
                .iter()
                .map(&service_value)
                .collect(),
        ),
        (Collection::Services, "all_service_children") => Value::Array(
            db.service_descendants(id)?
                .iter()
                .map(&service_value)
                .collect(),
        ),
        (Collection::Services, "parent_service") => db
            .service_parent(id)?
            .map_or(Value::Null, |p| service_value(&p)),
        (Collection::Services, "root_service") => {
            let mut cur = db.service(id)?;
            while let Some(p) = db.service_parent(cur.id)? {
                cur = p;
            }
            service_value(&cur)
        }
        (Collection::Services, "vms" | "all_vms") => {
            Value::Array(db.service_vms(id, true)?.iter().map(&vm_value).collect())
        }
        (Collection::Services, "direct_vms") => {
            Value::Array(db.service_vms(id, false)?.iter().map(&vm_value).collect())
        }
        (Collection::Services, "service_resources") => {
            // Derived: one resource per child service, then per direct VM; no hrefs.
            let mut out = Vec::new();
            for (i, c) in db.service_children(id)?.iter().enumerate() {
                out.push(json!({
                    "id": resource_row_id(id, i + 1),
                    "service_id": id.to_string(),
                    "resource_type": "Service",
                    "resource_id": c.id.to_string(),
                    "group_idx": 0,
                    "provision_index": i,
                }));
            }
            let offset = out.len();
            for (i, v) in db.service_vms(id, false)?.iter().enumerate() {
                out.push(json!({
                    "id": resource_row_id(id, offset + i + 1),
                    "service_id": id.to_string(),
                    "resource_type": "VmOrTemplate",
                    "resource_id": v.id.to_string(),
                    "group_idx": 0,
                    "provision_index": offset + i,
                }));
            }
            Value::Array(out)
        }
        (Collection::Vms, "service") => {
            let vm = db.vm(id)?;
            match vm.service_id {
                Some(s) => service_value(&db.service(s)?),
                None => Value::Null,
            }
        }
        (Collection::Requests | Collection::ServiceRequests, "miq_request_tasks") => Value::Array(
            db.request_tasks(id)?
                .iter()
                .map(|t| with_href(t.columns(), "request_tasks", t.id))
                .collect(),
        ),
        (Collection::RequestTasks, "miq_request") => {
            let t = db.request_task(id)?;
            with_href(
                db.request(t.request_id)?.columns(),
                "requests",
                t.request_id,
            )
        }
        _ => Value::Null,
    })
}
/// The id of a derived `service_resources` row: the service id followed by the row's
/// 1-based position in six digits (`1000` row 1: `1000000001`), without overflowing.
fn resource_row_id(service: Id, position: usize) -> String {
    let n = position as u64;
    service
        .0
        .checked_mul(1_000_000)
        .and_then(|base| base.checked_add(n))
        .map_or_else(|| format!("{}{n:06}", service.0), |id| id.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_row_ids_never_overflow() {
        assert_eq!(resource_row_id(Id(1000), 1), "1000000001");
        assert_eq!(resource_row_id(Id(0), 3), "3");
        assert_eq!(
            resource_row_id(Id(u64::MAX), 2),
            format!("{}000002", u64::MAX)
        );
    }
}
