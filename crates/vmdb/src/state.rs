//! The VMDB's tables behind its lock: records by id, the id sequence for new rows, and the
//! retirements in flight. Plain data and lookups over the model (it imports nothing else): the
//! retirement transitions move it and `Vmdb` locks it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use crate::model::{Request, RequestTask, Service, Task, Template, Vm};
use crate::Id;

#[derive(Debug, Default)]
pub(crate) struct State {
    pub(crate) services: BTreeMap<Id, Service>,
    pub(crate) vms: BTreeMap<Id, Vm>,
    pub(crate) templates: BTreeMap<Id, Template>,
    pub(crate) requests: BTreeMap<Id, Request>,
    pub(crate) request_tasks: BTreeMap<Id, RequestTask>,
    pub(crate) tasks: BTreeMap<Id, Task>,
    /// Retirement requests (by request id) and VM retirement tasks (by task id) in flight.
    pub(crate) progress: HashMap<Id, Progress>,
    pub(crate) next_id: u64,
}

/// What a retirement in flight is about.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A service retire request for this service; `already_retired` when it was retired
    /// at request time; `task` is its request task once approved.
    Service {
        service: Id,
        already_retired: bool,
        task: Option<Id>,
    },
    /// A VM retirement task.
    Vm { vm: Id },
}

/// A retirement in flight: created at `created`, polled `polls` times, `step` applied
/// (0 = created, 1 = active, 2 = finished).
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    pub(crate) created: DateTime<Utc>,
    pub(crate) polls: u32,
    pub(crate) step: u8,
    pub(crate) target: Target,
}

impl State {
    /// The tables holding a scenario's records, with no retirement in flight.
    pub(crate) fn new(
        services: Vec<Service>,
        vms: Vec<Vm>,
        templates: Vec<Template>,
        requests: Vec<Request>,
        request_tasks: Vec<RequestTask>,
        tasks: Vec<Task>,
    ) -> State {
        let max_id = [
            services.iter().map(|r| r.id.0).max(),
            vms.iter().map(|r| r.id.0).max(),
            requests.iter().map(|r| r.id.0).max(),
            request_tasks.iter().map(|r| r.id.0).max(),
            tasks.iter().map(|r| r.id.0).max(),
            templates.iter().map(|r| r.id.0).max(),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
        State {
            services: services.into_iter().map(|r| (r.id, r)).collect(),
            vms: vms.into_iter().map(|r| (r.id, r)).collect(),
            templates: templates.into_iter().map(|r| (r.id, r)).collect(),
            requests: requests.into_iter().map(|r| (r.id, r)).collect(),
            request_tasks: request_tasks.into_iter().map(|r| (r.id, r)).collect(),
            tasks: tasks.into_iter().map(|r| (r.id, r)).collect(),
            progress: HashMap::new(),
            // New records get ids above every scenario id, in a range of their own.
            next_id: (max_id / 1000 + 1).saturating_mul(1000),
        }
    }

    /// A fresh id for a request, request task or task (they share one sequence). Near the
    /// top of the `u64` range the sequence wraps to the lowest unused id instead of
    /// overflowing.
    pub(crate) fn new_id(&mut self) -> Id {
        loop {
            self.next_id = self.next_id.checked_add(1).unwrap_or(1);
            let id = Id(self.next_id);
            if !self.requests.contains_key(&id)
                && !self.request_tasks.contains_key(&id)
                && !self.tasks.contains_key(&id)
            {
                return id;
            }
        }
    }

    /// Every descendant of a service, depth first, appended to `out`.
    pub(crate) fn collect_descendants(&self, id: Id, out: &mut Vec<Service>) {
        for s in self.services.values().filter(|s| s.parent_id == Some(id)) {
            out.push(s.clone());
            self.collect_descendants(s.id, out);
        }
    }
}
