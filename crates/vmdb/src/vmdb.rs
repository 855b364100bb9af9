//! The in-memory VMDB: records from a scenario, their relations, and thread-safe access.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use parking_lot::{Mutex, RwLock};

use crate::clock::{Clock, SystemClock};
use crate::model::{Group, Request, RequestTask, Server, Service, Task, Template, User, Vm};
use crate::retirement;
use crate::scenario::{Faults, Scenario, Settings};
use crate::state::State;
use crate::{Id, Result, VmdbError};

/// The mock VMDB. Share it as `Arc<Vmdb>` between the REST mock and an offline `$evm`:
/// every method takes `&self` and locks internally, so a retirement requested over REST is
/// visible from inside a method and vice versa.
#[derive(Debug)]
pub struct Vmdb {
    state: Mutex<State>,
    // Replaceable: an offline engine drives the VMDB with its virtual clock.
    clock: RwLock<Arc<dyn Clock>>,
    settings: Settings,
    server: Server,
    faults: Faults,
    users: Vec<User>,
    groups: Vec<Group>,
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
        let Scenario {
            server,
            settings,
            groups,
            users,
            services,
            vms,
            templates,
            requests,
            request_tasks,
            tasks,
            faults,
            ..
        } = scenario;
        let state = State::new(services, vms, templates, requests, request_tasks, tasks);
        Arc::new(Vmdb {
            state: Mutex::new(state),
            clock: RwLock::new(clock),
            settings,
            server,
            faults,
            users,
            groups,
        })
    }

    /// The clock this VMDB reads.
    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.read().clone()
    }

    /// Reads time from `clock` from now on (an offline engine's virtual clock, so that a
    /// retire request or a provision task progresses as the engine's time passes). Time
    /// should not go back: what already happened stays as it was.
    pub fn set_clock(&self, clock: Arc<dyn Clock>) {
        *self.clock.write() = clock;
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

    /// Checks Basic credentials; the user on success. A user without a password (a world's
    /// may have none) never logs in, not even with an empty one.
    pub fn authenticate(&self, userid: &str, password: &str) -> Option<User> {
        self.users
            .iter()
            .find(|u| {
                !u.password.is_empty()
                    && u.userid.eq_ignore_ascii_case(userid)
                    && u.password == password
            })
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
        st.collect_descendants(id, &mut out);
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

    // ---- retirement (the transitions are in crate::retirement) ----

    /// Moves every retirement in flight forward by the time that has passed.
    pub fn tick(&self) {
        let now = self.clock().now();
        // Validated at load as 1..=10 years; a scenario built in code may hold anything.
        let step_secs = self.settings().retirement_step_seconds.max(1);
        retirement::tick(&mut self.state.lock(), now, step_secs);
    }

    /// Reads a request by id as a poller does: a retirement request moves one step.
    pub fn poll_request(&self, id: Id) -> Result<Request> {
        self.poll(id, "MiqRequest", |st| st.requests.contains_key(&id))?;
        self.request(id)
    }

    /// Reads a task by id as a poller does: a VM retirement task moves one step.
    pub fn poll_task(&self, id: Id) -> Result<Task> {
        self.poll(id, "MiqTask", |st| st.tasks.contains_key(&id))?;
        self.task(id)
    }

    /// A poller's read of `model` `id` (`exists` says whether the table holds it): the
    /// retirements in flight tick, then the one with this id moves one step.
    fn poll(&self, id: Id, model: &'static str, exists: impl FnOnce(&State) -> bool) -> Result<()> {
        self.tick();
        let now = self.clock().now();
        let mut st = self.state.lock();
        if !exists(&st) {
            return Err(not_found(model, id));
        }
        retirement::poll(&mut st, id, now);
        Ok(())
    }

    /// `request_retire` on a service: creates and returns a `ServiceRetireRequest`.
    pub fn request_retire_service(&self, id: Id, userid: &str) -> Result<Request> {
        self.tick();
        let now = self.clock().now();
        let mut st = self.state.lock();
        let service = st
            .services
            .get(&id)
            .cloned()
            .ok_or(not_found("Service", id))?;
        Ok(retirement::request_service(&mut st, &service, userid, now))
    }

    /// `retire_now` (the legacy `retire` action): a no-op when the service is retired or
    /// retiring; otherwise marks it initializing and raises a retire request.
    pub fn retire_service_now(&self, id: Id, userid: &str) -> Result<Service> {
        self.tick();
        let now = self.clock().now();
        let mut st = self.state.lock();
        let service = st
            .services
            .get(&id)
            .cloned()
            .ok_or(not_found("Service", id))?;
        Ok(retirement::retire_service_now(
            &mut st, &service, userid, now,
        ))
    }

    /// Schedules a service's retirement (`retire` / `request_retire` with a `date`).
    pub fn schedule_service_retirement(
        &self,
        id: Id,
        date: DateTime<Utc>,
        warn: Option<i64>,
    ) -> Result<Service> {
        self.update_service(id, |s| {
            s.retires_on = Some(date);
            if warn.is_some() {
                s.retirement_warn = warn;
            }
        })
    }

    /// `finish_retirement` on a service, as a retirement method calls it: marks it retired.
    /// Errors (as ManageIQ raises) when it is already retired.
    pub fn finish_service_retirement(&self, id: Id) -> Result<Service> {
        let now = self.clock().now();
        retirement::finish_service(&mut self.state.lock(), id, now)
    }

    /// `request_retire` (or `retire`) on a VM: creates and returns the queued task.
    pub fn request_retire_vm(&self, id: Id, userid: &str) -> Result<Task> {
        self.tick();
        let now = self.clock().now();
        let mut st = self.state.lock();
        let vm = st.vms.get(&id).cloned().ok_or(not_found("Vm", id))?;
        Ok(retirement::request_vm(&mut st, &vm, userid, now))
    }
}
