//! The in-memory VMDB: records from a scenario, their relations, and thread-safe access.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;

use crate::clock::{Clock, SystemClock};
use crate::model::{Group, Request, RequestTask, Server, Service, Task, Template, User, Vm};
use crate::retirement::Progress;
use crate::scenario::{Faults, Scenario, Settings};
use crate::{Id, Result, VmdbError};

/// The mock VMDB. Share it as `Arc<Vmdb>` between the REST mock and an offline `$evm`:
/// every method takes `&self` and locks internally, so a retirement requested over REST is
/// visible from inside a method and vice versa.
#[derive(Debug)]
pub struct Vmdb {
    pub(crate) state: Mutex<State>,
    pub(crate) clock: Arc<dyn Clock>,
    settings: Settings,
    server: Server,
    faults: Faults,
    users: Vec<User>,
    groups: Vec<Group>,
}

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

impl State {
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
}

fn not_found(model: &'static str, id: Id) -> VmdbError {
    VmdbError::NotFound { model, id }
}

impl Vmdb {
    /// A VMDB holding `scenario`'s records, on the system clock.
    pub fn new(scenario: Scenario) -> Arc<Vmdb> {
        Self::with_clock(scenario, Arc::new(SystemClock))
    }

    /// A VMDB on the given clock (a [`crate::ManualClock`] in tests).
    pub fn with_clock(scenario: Scenario, clock: Arc<dyn Clock>) -> Arc<Vmdb> {
        let max_id = [
            scenario.services.iter().map(|r| r.id.0).max(),
            scenario.vms.iter().map(|r| r.id.0).max(),
            scenario.requests.iter().map(|r| r.id.0).max(),
            scenario.request_tasks.iter().map(|r| r.id.0).max(),
            scenario.tasks.iter().map(|r| r.id.0).max(),
            scenario.templates.iter().map(|r| r.id.0).max(),
        ]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(0);
        let state = State {
            services: scenario.services.into_iter().map(|r| (r.id, r)).collect(),
            vms: scenario.vms.into_iter().map(|r| (r.id, r)).collect(),
            templates: scenario.templates.into_iter().map(|r| (r.id, r)).collect(),
            requests: scenario.requests.into_iter().map(|r| (r.id, r)).collect(),
            request_tasks: scenario
                .request_tasks
                .into_iter()
                .map(|r| (r.id, r))
                .collect(),
            tasks: scenario.tasks.into_iter().map(|r| (r.id, r)).collect(),
            progress: HashMap::new(),
            // New records get ids above every scenario id, in a range of their own.
            next_id: (max_id / 1000 + 1).saturating_mul(1000),
        };
        Arc::new(Vmdb {
            state: Mutex::new(state),
            clock,
            settings: scenario.settings,
            server: scenario.server,
            faults: scenario.faults,
            users: scenario.users,
            groups: scenario.groups,
        })
    }

    /// The clock this VMDB reads.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The scenario's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The appliance.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The faults the scenario asks the REST mock to inject.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Checks Basic credentials; the user on success.
    pub fn authenticate(&self, userid: &str, password: &str) -> Option<User> {
        self.users
            .iter()
            .find(|u| u.userid.eq_ignore_ascii_case(userid) && u.password == password)
            .cloned()
    }

    /// A user by login name.
    pub fn user(&self, userid: &str) -> Option<User> {
        self.users
            .iter()
            .find(|u| u.userid.eq_ignore_ascii_case(userid))
            .cloned()
    }

    /// A group by id.
    pub fn group(&self, id: Id) -> Option<Group> {
        self.groups.iter().find(|g| g.id == id).cloned()
    }

    /// The groups a user belongs to, current (first) group first.
    pub fn groups_of(&self, user: &User) -> Vec<Group> {
        user.groups.iter().filter_map(|g| self.group(*g)).collect()
    }

    // ---- services ----

    /// All services, by id.
    pub fn services(&self) -> Vec<Service> {
        self.tick();
        self.state.lock().services.values().cloned().collect()
    }

    /// One service.
    pub fn service(&self, id: Id) -> Result<Service> {
        self.tick();
        let st = self.state.lock();
        st.services
            .get(&id)
            .cloned()
            .ok_or(not_found("Service", id))
    }

    /// The direct children of a service (`direct_service_children`).
    pub fn service_children(&self, id: Id) -> Result<Vec<Service>> {
        self.service(id)?;
        let st = self.state.lock();
        Ok(st
            .services
            .values()
            .filter(|s| s.parent_id == Some(id))
            .cloned()
            .collect())
    }

    /// Every descendant of a service, depth first (`all_service_children`).
    pub fn service_descendants(&self, id: Id) -> Result<Vec<Service>> {
        self.service(id)?;
        let st = self.state.lock();
        let mut out = Vec::new();
        collect_descendants(&st, id, &mut out);
        Ok(out)
    }

    /// The parent of a service, if any.
    pub fn service_parent(&self, id: Id) -> Result<Option<Service>> {
        let s = self.service(id)?;
        Ok(s.parent_id
            .and_then(|p| self.state.lock().services.get(&p).cloned()))
    }

    /// ManageIQ's `ancestry` column: the ancestors' ids from the root, joined by `/`;
    /// none for a top-level service.
    pub fn service_ancestry(&self, id: Id) -> Result<Option<String>> {
        let st = self.state.lock();
        let mut cur = st
            .services
            .get(&id)
            .ok_or(not_found("Service", id))?
            .parent_id;
        let mut chain = Vec::new();
        while let Some(p) = cur {
            chain.push(p.to_string());
            cur = st.services.get(&p).and_then(|s| s.parent_id);
        }
        if chain.is_empty() {
            return Ok(None);
        }
        chain.reverse();
        Ok(Some(chain.join("/")))
    }

    /// The VMs of a service: its direct VMs, or with `all` those of its whole subtree.
    pub fn service_vms(&self, id: Id, all: bool) -> Result<Vec<Vm>> {
        let mut ids = vec![id];
        if all {
            ids.extend(self.service_descendants(id)?.into_iter().map(|s| s.id));
        } else {
            self.service(id)?;
        }
        let st = self.state.lock();
        Ok(st
            .vms
            .values()
            .filter(|v| v.service_id.is_some_and(|s| ids.contains(&s)))
            .cloned()
            .collect())
    }

    /// Applies `f` to a service and returns the updated record.
    pub fn update_service(&self, id: Id, f: impl FnOnce(&mut Service)) -> Result<Service> {
        let mut st = self.state.lock();
        let s = st.services.get_mut(&id).ok_or(not_found("Service", id))?;
        f(s);
        Ok(s.clone())
    }

    // ---- vms and templates ----

    /// All VMs.
    pub fn vms(&self) -> Vec<Vm> {
        self.tick();
        self.state.lock().vms.values().cloned().collect()
    }

    /// One VM.
    pub fn vm(&self, id: Id) -> Result<Vm> {
        self.tick();
        self.state
            .lock()
            .vms
            .get(&id)
            .cloned()
            .ok_or(not_found("Vm", id))
    }

    /// Applies `f` to a VM and returns the updated record.
    pub fn update_vm(&self, id: Id, f: impl FnOnce(&mut Vm)) -> Result<Vm> {
        let mut st = self.state.lock();
        let v = st.vms.get_mut(&id).ok_or(not_found("Vm", id))?;
        f(v);
        Ok(v.clone())
    }

    /// All templates.
    pub fn templates(&self) -> Vec<Template> {
        self.state.lock().templates.values().cloned().collect()
    }

    /// One template.
    pub fn template(&self, id: Id) -> Result<Template> {
        self.state
            .lock()
            .templates
            .get(&id)
            .cloned()
            .ok_or(not_found("MiqTemplate", id))
    }

    // ---- requests, request tasks, tasks ----

    /// All requests.
    pub fn requests(&self) -> Vec<Request> {
        self.tick();
        self.state.lock().requests.values().cloned().collect()
    }

    /// One request, without advancing it (see [`Vmdb::poll_request`]).
    pub fn request(&self, id: Id) -> Result<Request> {
        self.tick();
        self.state
            .lock()
            .requests
            .get(&id)
            .cloned()
            .ok_or(not_found("MiqRequest", id))
    }

    /// Applies `f` to a request and returns the updated record.
    pub fn update_request(&self, id: Id, f: impl FnOnce(&mut Request)) -> Result<Request> {
        let mut st = self.state.lock();
        let r = st
            .requests
            .get_mut(&id)
            .ok_or(not_found("MiqRequest", id))?;
        f(r);
        Ok(r.clone())
    }

    /// All request tasks.
    pub fn all_request_tasks(&self) -> Vec<RequestTask> {
        self.tick();
        self.state.lock().request_tasks.values().cloned().collect()
    }

    /// The tasks of one request.
    pub fn request_tasks(&self, request_id: Id) -> Result<Vec<RequestTask>> {
        self.request(request_id)?;
        Ok(self
            .state
            .lock()
            .request_tasks
            .values()
            .filter(|t| t.request_id == request_id)
            .cloned()
            .collect())
    }

    /// One request task.
    pub fn request_task(&self, id: Id) -> Result<RequestTask> {
        self.tick();
        self.state
            .lock()
            .request_tasks
            .get(&id)
            .cloned()
            .ok_or(not_found("MiqRequestTask", id))
    }

    /// Applies `f` to a request task and returns the updated record.
    pub fn update_request_task(
        &self,
        id: Id,
        f: impl FnOnce(&mut RequestTask),
    ) -> Result<RequestTask> {
        let mut st = self.state.lock();
        let t = st
            .request_tasks
            .get_mut(&id)
            .ok_or(not_found("MiqRequestTask", id))?;
        f(t);
        Ok(t.clone())
    }

    /// All tasks.
    pub fn tasks(&self) -> Vec<Task> {
        self.tick();
        self.state.lock().tasks.values().cloned().collect()
    }

    /// One task, without advancing it (see [`Vmdb::poll_task`]).
    pub fn task(&self, id: Id) -> Result<Task> {
        self.tick();
        self.state
            .lock()
            .tasks
            .get(&id)
            .cloned()
            .ok_or(not_found("MiqTask", id))
    }
}

fn collect_descendants(st: &State, id: Id, out: &mut Vec<Service>) {
    for s in st.services.values().filter(|s| s.parent_id == Some(id)) {
        out.push(s.clone());
        collect_descendants(st, s.id, out);
    }
}
