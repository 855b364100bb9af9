//! Scenario files: a JSON description of a mock VMDB and the faults to inject.
//!
//! Loading validates the document: unknown fields are rejected, every error names the file,
//! the JSON path and what is wrong, and references (parent services, a VM's service, a task's
//! request, a user's groups) must point at records that exist.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::model::{Group, Request, RequestTask, Server, Service, Task, Template, User, Vm};
use crate::{Id, Result, VmdbError};

/// A whole scenario file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows; free text.
    #[serde(default)]
    pub description: Option<String>,
    /// The appliance.
    #[serde(default)]
    pub server: Server,
    /// Tunables for tokens and transitions.
    #[serde(default)]
    pub settings: Settings,
    /// Groups.
    #[serde(default)]
    pub groups: Vec<Group>,
    /// Users with credentials.
    #[serde(default)]
    pub users: Vec<User>,
    /// Services (bundle trees through `parent_id`).
    #[serde(default)]
    pub services: Vec<Service>,
    /// VMs.
    #[serde(default)]
    pub vms: Vec<Vm>,
    /// VM templates.
    #[serde(default)]
    pub templates: Vec<Template>,
    /// Requests.
    #[serde(default)]
    pub requests: Vec<Request>,
    /// Request tasks.
    #[serde(default)]
    pub request_tasks: Vec<RequestTask>,
    /// Tasks.
    #[serde(default)]
    pub tasks: Vec<Task>,
    /// Faults the REST mock injects.
    #[serde(default)]
    pub faults: Faults,
}

/// Tunables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Token lifetime in seconds (sliding with each request); ManageIQ's default is 600.
    #[serde(default = "default_token_ttl")]
    pub token_ttl_seconds: i64,
    /// A retirement request or task moves one step (pending → active → finished) each time
    /// it is read by id, and also each time this many seconds pass.
    #[serde(default = "default_step_seconds")]
    pub retirement_step_seconds: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            token_ttl_seconds: default_token_ttl(),
            retirement_step_seconds: default_step_seconds(),
        }
    }
}

fn default_token_ttl() -> i64 {
    600
}
fn default_step_seconds() -> i64 {
    5
}

/// Faults the REST mock injects.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Faults {
    /// Latency added to every response, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
    /// Per-route rules, checked in order; the first rule that matches and still applies wins.
    #[serde(default)]
    pub rules: Vec<FaultRule>,
    /// A rate limit over all authenticated API requests.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
}

/// One fault rule: a route pattern and what to do to matching requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultRule {
    /// HTTP method to match (`GET`, `POST`, …); absent or `*` matches any.
    #[serde(default)]
    pub method: Option<String>,
    /// Path pattern: `/api/services/:id` — a `:name` or `*` segment matches any one segment,
    /// a final `**` matches the rest.
    pub path: String,
    /// Fail the next this-many matching calls (absent: every matching call).
    #[serde(default)]
    pub times: Option<u32>,
    /// The status to answer with. 429 answers text/plain "Retry later", 502/503/504 an HTML
    /// page, any other status ManageIQ's JSON error envelope. Absent: no failure (latency only).
    #[serde(default)]
    pub status: Option<u16>,
    /// Instead of a status, answer 400 with a failed action result carrying this message.
    #[serde(default)]
    pub action_failure: Option<String>,
    /// Latency added to matching calls, in milliseconds.
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// Carry the call out first, then answer with the failure: the reply is lost after the
    /// server acted (as a proxy's 504 after a slow POST).
    #[serde(default)]
    pub after_action: bool,
    /// A `Retry-After` header (seconds) on the failure's reply.
    #[serde(default)]
    pub retry_after: Option<u64>,
}

/// N requests per window; the next ones get 429 "Retry later" until the window rolls over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length in seconds.
    pub window_seconds: u64,
    /// A `Retry-After` header (seconds) on the 429s.
    #[serde(default)]
    pub retry_after: Option<u64>,
}

impl Scenario {
    /// Loads and validates a scenario file.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| VmdbError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates a scenario from text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scenario> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let scenario: Scenario =
            serde_path_to_error::deserialize(de).map_err(|e| VmdbError::Parse {
                file: file.to_owned(),
                json_path: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        scenario.validate(file)?;
        Ok(scenario)
    }

    /// Checks references and uniqueness; errors name `file` and the JSON path.
    pub fn validate(&self, file: &str) -> Result<()> {
        let invalid = |json_path: String, message: String| VmdbError::Invalid {
            file: file.to_owned(),
            json_path,
            message,
        };
        fn unique<'a>(
            what: &str,
            ids: impl Iterator<Item = &'a Id>,
        ) -> std::result::Result<HashSet<Id>, (String, String)> {
            let mut seen = HashSet::new();
            for (i, id) in ids.enumerate() {
                if !seen.insert(*id) {
                    return Err((format!("{what}[{i}].id"), format!("duplicate id {id}")));
                }
            }
            Ok(seen)
        }
        let wrap = |r: std::result::Result<HashSet<Id>, (String, String)>| {
            r.map_err(|(p, m)| invalid(p, m))
        };
        let groups = wrap(unique("groups", self.groups.iter().map(|g| &g.id)))?;
        wrap(unique("users", self.users.iter().map(|u| &u.id)))?;
        let services = wrap(unique("services", self.services.iter().map(|s| &s.id)))?;
        wrap(unique("vms", self.vms.iter().map(|v| &v.id)))?;
        wrap(unique("templates", self.templates.iter().map(|t| &t.id)))?;
        let requests = wrap(unique("requests", self.requests.iter().map(|r| &r.id)))?;
        let rtasks = wrap(unique(
            "request_tasks",
            self.request_tasks.iter().map(|t| &t.id),
        ))?;
        wrap(unique("tasks", self.tasks.iter().map(|t| &t.id)))?;

        let mut userids = HashSet::new();
        for (i, u) in self.users.iter().enumerate() {
            if !userids.insert(u.userid.to_lowercase()) {
                return Err(invalid(
                    format!("users[{i}].userid"),
                    format!("duplicate userid {:?}", u.userid),
                ));
            }
            if u.groups.is_empty() {
                return Err(invalid(
                    format!("users[{i}].groups"),
                    "a user needs at least one group".into(),
                ));
            }
            for (j, g) in u.groups.iter().enumerate() {
                if !groups.contains(g) {
                    return Err(invalid(
                        format!("users[{i}].groups[{j}]"),
                        format!("no group with id {g}"),
                    ));
                }
            }
        }
        for (i, s) in self.services.iter().enumerate() {
            if let Some(p) = s.parent_id {
                if !services.contains(&p) {
                    return Err(invalid(
                        format!("services[{i}].parent_id"),
                        format!("no service with id {p}"),
                    ));
                }
            }
        }
        // A parent chain must end: no cycles.
        let parent_of: std::collections::HashMap<Id, Option<Id>> =
            self.services.iter().map(|s| (s.id, s.parent_id)).collect();
        for (i, s) in self.services.iter().enumerate() {
            let mut cur = s.parent_id;
            let mut steps = 0;
            while let Some(p) = cur {
                steps += 1;
                if p == s.id || steps > self.services.len() {
                    return Err(invalid(
                        format!("services[{i}].parent_id"),
                        format!("service {} is its own ancestor", s.id),
                    ));
                }
                cur = parent_of.get(&p).copied().flatten();
            }
        }
        for (i, v) in self.vms.iter().enumerate() {
            if let Some(s) = v.service_id {
                if !services.contains(&s) {
                    return Err(invalid(
                        format!("vms[{i}].service_id"),
                        format!("no service with id {s}"),
                    ));
                }
            }
        }
        for (i, t) in self.request_tasks.iter().enumerate() {
            if !requests.contains(&t.request_id) {
                return Err(invalid(
                    format!("request_tasks[{i}].request_id"),
                    format!("no request with id {}", t.request_id),
                ));
            }
            if let Some(p) = t.parent_task_id {
                if !rtasks.contains(&p) {
                    return Err(invalid(
                        format!("request_tasks[{i}].parent_task_id"),
                        format!("no request task with id {p}"),
                    ));
                }
            }
            if let (Some(kind), Some(id)) = (&t.destination_type, t.destination_id) {
                let ok = match kind.as_str() {
                    "Service" => services.contains(&id),
                    "VmOrTemplate" | "Vm" => self.vms.iter().any(|v| v.id == id),
                    _ => true,
                };
                if !ok {
                    return Err(invalid(
                        format!("request_tasks[{i}].destination_id"),
                        format!("no {kind} with id {id}"),
                    ));
                }
            }
        }
        for (i, r) in self.faults.rules.iter().enumerate() {
            if !r.path.starts_with('/') {
                return Err(invalid(
                    format!("faults.rules[{i}].path"),
                    format!("path {:?} must start with '/'", r.path),
                ));
            }
            if let Some(s) = r.status {
                if !(400..=599).contains(&s) {
                    return Err(invalid(
                        format!("faults.rules[{i}].status"),
                        format!("status {s} is not an error status (400-599)"),
                    ));
                }
            }
            if r.status.is_some() && r.action_failure.is_some() {
                return Err(invalid(
                    format!("faults.rules[{i}]"),
                    "give either status or action_failure, not both".into(),
                ));
            }
        }
        if let Some(rl) = &self.faults.rate_limit {
            if rl.requests == 0 || rl.window_seconds == 0 {
                return Err(invalid(
                    "faults.rate_limit".into(),
                    "requests and window_seconds must be greater than zero".into(),
                ));
            }
        }
        if self.settings.retirement_step_seconds <= 0 || self.settings.token_ttl_seconds <= 0 {
            return Err(invalid(
                "settings".into(),
                "token_ttl_seconds and retirement_step_seconds must be greater than zero".into(),
            ));
        }
        Ok(())
    }
}
