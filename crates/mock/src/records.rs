//! A collection's records as JSON columns, read from the VMDB. Reading a request or task
//! by id counts as a poll (as a ManageIQ client's poll does) and may advance its retirement.

use miq_automate_vmdb::model::Service;
use miq_automate_vmdb::{Id, Vmdb};
use serde_json::{json, Map, Value};

use crate::collection::Collection;
use crate::filter::Filter;
use crate::query::Query;
use crate::reply::ApiError;

/// A record: its columns by name.
pub(crate) type Record = Map<String, Value>;

/// Every record's columns.
pub(crate) fn all(vmdb: &Vmdb, coll: Collection) -> Vec<Record> {
    match coll {
        Collection::Services => vmdb
            .services()
            .into_iter()
            .map(|s| service(vmdb, &s))
            .collect(),
        Collection::Vms => vmdb.vms().iter().map(|v| v.columns()).collect(),
        Collection::Requests => vmdb.requests().iter().map(|r| r.columns()).collect(),
        Collection::ServiceRequests => vmdb
            .requests()
            .iter()
            .filter(|r| r.kind.starts_with("Service"))
            .map(|r| r.columns())
            .collect(),
        Collection::RequestTasks => vmdb
            .all_request_tasks()
            .iter()
            .map(|t| t.columns())
            .collect(),
        Collection::Tasks => vmdb.tasks().iter().map(|t| t.columns()).collect(),
    }
}

/// Every record's columns, for a collection read. A read of requests or tasks that
/// filters on `id` is a batched poll: each request or task it lists moves as a read by
/// id does.
pub(crate) fn polled(
    vmdb: &Vmdb,
    coll: Collection,
    query: &Query,
) -> Result<Vec<Record>, ApiError> {
    let records = all(vmdb, coll);
    if !matches!(
        coll,
        Collection::Requests | Collection::ServiceRequests | Collection::Tasks
    ) {
        return Ok(records);
    }
    let filter = Filter::parse(&query.filters, coll.physical())?;
    if !filter.names("id") {
        return Ok(records);
    }
    let mut polled = false;
    for r in records.iter().filter(|r| filter.matches(r)) {
        let Some(id) = r
            .get("id")
            .and_then(Value::as_str)
            .and_then(|i| i.parse().ok())
        else {
            continue;
        };
        // Gone between the listing and the poll: nothing to move.
        let _ = one(vmdb, coll, Id(id));
        polled = true;
    }
    Ok(if polled { all(vmdb, coll) } else { records })
}

/// One record's columns. Reading a request or task by id counts as a poll and may
/// advance its retirement.
pub(crate) fn one(vmdb: &Vmdb, coll: Collection, id: Id) -> Result<Record, ApiError> {
    let not_found =
        || ApiError::record_not_found(format!("Couldn't find {} with 'id'={id}", coll.klass()));
    Ok(match coll {
        Collection::Services => service(vmdb, &vmdb.service(id)?),
        Collection::Vms => vmdb.vm(id)?.columns(),
        Collection::Requests => vmdb.poll_request(id).map_err(|_| not_found())?.columns(),
        Collection::ServiceRequests => {
            let r = vmdb.poll_request(id).map_err(|_| not_found())?;
            if !r.kind.starts_with("Service") {
                return Err(not_found());
            }
            r.columns()
        }
        Collection::RequestTasks => vmdb.request_task(id).map_err(|_| not_found())?.columns(),
        Collection::Tasks => vmdb.poll_task(id).map_err(|_| not_found())?.columns(),
    })
}

/// A service's columns with its `ancestry`, which the VMDB derives from the tree.
pub(crate) fn service(vmdb: &Vmdb, s: &Service) -> Record {
    let mut m = s.columns();
    m.insert(
        "ancestry".into(),
        json!(vmdb.service_ancestry(s.id).ok().flatten()),
    );
    m
}
