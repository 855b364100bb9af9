//! Retirement transitions, as ManageIQ runs them.
//!
//! - `request_retire` on a service creates a `ServiceRetireRequest` (pending /
//!   pending_approval, `options.src_ids`) that moves pending → active → finished. It finishes
//!   Ok and retires the service (its VMs, and its provisioned, unretired child services), or
//!   finishes with status Error "Service already retired" when the service was already
//!   retired when asked: the call itself never fails for that.
//! - `retire_now` (the legacy `retire` action) is a no-op on a retired or retiring service;
//!   otherwise it sets `retirement_state` initializing and raises the same request.
//! - `request_retire` on a VM creates a task (`MiqTask`) that goes Queued → Active →
//!   Finished and retires the VM.
//!
//! A request or task moves one step each time it is polled by id, and one step each time
//! `settings.retirement_step_seconds` pass on the VMDB's clock, whichever is further.
//!
//! The transitions here work on the VMDB's locked tables; [`crate::Vmdb`]'s methods
//! (`request_retire_service`, `poll_request`, `tick`, …) take the lock and call them.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::model::{Request, RequestTask, Service, Task, Vm};
use crate::state::{Progress, State, Target};
use crate::{Id, Result, VmdbError};

const FINISHED: u8 = 2;

/// Moves every retirement in flight forward by the time that has passed: one step per
/// `step_secs` since it was created.
pub(crate) fn tick(st: &mut State, now: DateTime<Utc>, step_secs: i64) {
    let ids: Vec<Id> = st.progress.keys().copied().collect();
    for id in ids {
        let p = &st.progress[&id];
        let by_time = (now - p.created).num_seconds() / step_secs;
        let want = by_time.clamp(0, FINISHED as i64) as u8;
        advance_to(st, id, want, now);
    }
}

/// `retire_now` (the legacy `retire` action): a no-op when the service is retired or
/// retiring; otherwise marks it initializing and raises a retire request.
pub(crate) fn retire_service_now(
    st: &mut State,
    service: &Service,
    userid: &str,
    now: DateTime<Utc>,
) -> Service {
    let id = service.id;
    let busy = matches!(
        service.retirement_state.as_deref(),
        Some("initializing" | "retiring")
    );
    if !service.retired && !busy {
        request_service(st, service, userid, now);
        if let Some(s) = st.services.get_mut(&id) {
            s.retirement_state = Some("initializing".into());
        }
    }
    st.services[&id].clone()
}

/// `finish_retirement` on a service, as a retirement method calls it: marks it retired.
/// Errors (as ManageIQ raises) when it is already retired.
pub(crate) fn finish_service(st: &mut State, id: Id, now: DateTime<Utc>) -> Result<Service> {
    let s = st.services.get_mut(&id).ok_or(VmdbError::NotFound {
        model: "Service",
        id,
    })?;
    if s.retired {
        return Err(VmdbError::AlreadyRetired {
            model: "Service",
            name: s.name.clone(),
        });
    }
    mark_service_retired(s, now);
    Ok(s.clone())
}

/// `request_retire` (or `retire`) on a VM: creates and returns the queued task.
pub(crate) fn request_vm(st: &mut State, vm: &Vm, userid: &str, now: DateTime<Utc>) -> Task {
    let task_id = st.new_id();
    let task = Task {
        id: task_id,
        name: format!("Retiring immediately Vm id: {} name: '{}'", vm.id, vm.name),
        state: "Queued".into(),
        status: "Ok".into(),
        message: Some("Task has been queued".into()),
        userid: userid.to_owned(),
        pct_complete: Some(0),
        created_on: Some(now),
        updated_on: Some(now),
    };
    st.tasks.insert(task_id, task.clone());
    st.progress.insert(
        task_id,
        Progress {
            created: now,
            polls: 0,
            step: 0,
            target: Target::Vm { vm: vm.id },
        },
    );
    task
}

/// `request_retire` on a service: creates and returns a `ServiceRetireRequest`.
pub(crate) fn request_service(
    st: &mut State,
    service: &Service,
    userid: &str,
    now: DateTime<Utc>,
) -> Request {
    let rid = st.new_id();
    let request = Request {
        id: rid,
        kind: "ServiceRetireRequest".into(),
        request_type: "service_retire".into(),
        description: format!("Service Retire for: {}", service.name),
        approval_state: "pending_approval".into(),
        request_state: "pending".into(),
        status: "Ok".into(),
        message: Some("Service Retire - Request Created".into()),
        userid: userid.to_owned(),
        options: json!({ "src_ids": [service.id.0], "src_id": service.id.0 }),
        source_id: Some(service.id),
        source_type: Some("Service".into()),
        created_on: Some(now),
        updated_on: Some(now),
        fulfilled_on: None,
    };
    st.requests.insert(rid, request.clone());
    st.progress.insert(
        rid,
        Progress {
            created: now,
            polls: 0,
            step: 0,
            target: Target::Service {
                service: service.id,
                already_retired: service.retired,
                task: None,
            },
        },
    );
    request
}

/// A read by id, as a poller does: a retirement in flight with this id moves one step.
pub(crate) fn poll(st: &mut State, id: Id, now: DateTime<Utc>) {
    let Some(p) = st.progress.get_mut(&id) else {
        return;
    };
    p.polls += 1;
    let want = p.polls.min(FINISHED as u32) as u8;
    advance_to(st, id, want, now);
}

fn mark_service_retired(s: &mut Service, now: DateTime<Utc>) {
    s.retired = true;
    s.retirement_state = Some("retired".into());
    s.retires_on = Some(now);
}

/// Applies the steps between the progress's current step and `want`.
fn advance_to(st: &mut State, id: Id, want: u8, now: DateTime<Utc>) {
    loop {
        let Some(p) = st.progress.get(&id).cloned() else {
            return;
        };
        if p.step >= want {
            return;
        }
        let next = p.step + 1;
        match p.target {
            Target::Service {
                service,
                already_retired,
                task,
            } => {
                let task = service_request_step(st, id, service, already_retired, task, next, now);
                if let Some(pm) = st.progress.get_mut(&id) {
                    pm.step = next;
                    if let Target::Service { task: t, .. } = &mut pm.target {
                        *t = task;
                    }
                }
            }
            Target::Vm { vm } => {
                vm_task_step(st, id, vm, next, now);
                if let Some(pm) = st.progress.get_mut(&id) {
                    pm.step = next;
                }
            }
        }
        if next >= FINISHED {
            st.progress.remove(&id);
            return;
        }
    }
}

fn service_request_step(
    st: &mut State,
    rid: Id,
    service_id: Id,
    already_retired: bool,
    task: Option<Id>,
    step: u8,
    now: DateTime<Utc>,
) -> Option<Id> {
    if step == 1 {
        let tid = st.new_id();
        let name = st
            .services
            .get(&service_id)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        st.request_tasks.insert(
            tid,
            RequestTask {
                id: tid,
                request_id: rid,
                parent_task_id: None,
                kind: "ServiceRetireTask".into(),
                request_type: "service_retire".into(),
                description: format!("Service Retire for: {name}"),
                state: "active".into(),
                status: "Ok".into(),
                message: Some("Service Retire - Task Active".into()),
                destination_type: None,
                destination_id: None,
                source_id: Some(service_id),
                source_type: Some("Service".into()),
                options: json!({ "src_ids": [service_id.0] }),
                userid: st.requests[&rid].userid.clone(),
                phase: None,
            },
        );
        if let Some(r) = st.requests.get_mut(&rid) {
            r.approval_state = "approved".into();
            r.request_state = "active".into();
            r.message = Some("Service Retire - Request Active".into());
            r.updated_on = Some(now);
        }
        if !already_retired {
            if let Some(s) = st.services.get_mut(&service_id) {
                if !s.retired {
                    s.retirement_state = Some("retiring".into());
                }
            }
        }
        return Some(tid);
    }
    // Finished.
    let (status, message) = if already_retired {
        ("Error", "Service already retired".to_owned())
    } else {
        retire_service_tree(st, service_id, now);
        ("Ok", "Service Retire - Request Complete".to_owned())
    };
    if let Some(t) = task.and_then(|t| st.request_tasks.get_mut(&t)) {
        t.state = "finished".into();
        t.status = status.into();
        t.message = Some(message.clone());
    }
    if let Some(r) = st.requests.get_mut(&rid) {
        r.request_state = "finished".into();
        r.status = status.into();
        r.message = Some(message);
        r.updated_on = Some(now);
        r.fulfilled_on = Some(now);
    }
    task
}

/// Retires a service, its direct VMs, and (recursively) its children that are retireable:
/// provisioned and not retired. Children in error_in_provisioning are skipped, as ManageIQ's
/// ServiceRetireTask skips them.
fn retire_service_tree(st: &mut State, service_id: Id, now: DateTime<Utc>) {
    if let Some(s) = st.services.get_mut(&service_id) {
        mark_service_retired(s, now);
    }
    for vm in st
        .vms
        .values_mut()
        .filter(|v| v.service_id == Some(service_id))
    {
        retire_vm(vm, now);
    }
    let children: Vec<Id> = st
        .services
        .values()
        .filter(|c| {
            c.parent_id == Some(service_id)
                && !c.retired
                && c.lifecycle_state.as_deref() == Some("provisioned")
        })
        .map(|c| c.id)
        .collect();
    for c in children {
        retire_service_tree(st, c, now);
    }
}

fn retire_vm(vm: &mut Vm, now: DateTime<Utc>) {
    vm.retired = true;
    vm.retirement_state = Some("retired".into());
    vm.retires_on = Some(now);
    vm.power_state = "off".into();
}

fn vm_task_step(st: &mut State, tid: Id, vm_id: Id, step: u8, now: DateTime<Utc>) {
    if step == 1 {
        if let Some(t) = st.tasks.get_mut(&tid) {
            t.state = "Active".into();
            t.message = Some("Retiring VM".into());
            t.pct_complete = Some(50);
            t.updated_on = Some(now);
        }
        if let Some(v) = st.vms.get_mut(&vm_id) {
            if !v.retired {
                v.retirement_state = Some("retiring".into());
            }
        }
        return;
    }
    if let Some(v) = st.vms.get_mut(&vm_id) {
        retire_vm(v, now);
    }
    if let Some(t) = st.tasks.get_mut(&tid) {
        t.state = "Finished".into();
        t.status = "Ok".into();
        t.message = Some("Task completed successfully".into());
        t.pct_complete = Some(100);
        t.updated_on = Some(now);
    }
}
