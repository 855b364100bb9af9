//! Scenario files: a JSON description of a mock VMDB and the faults to inject.
//!
//! Loading validates the document: unknown fields are rejected, every error names the file,
//! the JSON path and what is wrong, and references (parent services, a VM's service, a task's
//! request, a user's groups) must point at records that exist.

use std::collections::HashSet;
use std::io::Read;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::model::{Group, Request, RequestTask, Server, Service, Task, Template, User, Vm};
use crate::world::{self, WorldParts};
use crate::{Id, Result, VmdbError};

/// The largest scenario accepted: 64 MB. A bigger file (or `/dev/zero`) is refused before
/// it is read into memory.
pub const MAX_SCENARIO_BYTES: u64 = 64 * 1024 * 1024;

/// The longest span in seconds a setting or window may have: 10 years (`token_ttl_seconds`,
/// `retirement_step_seconds`, `rate_limit.window_seconds`). Date arithmetic on the VMDB's
/// clock stays far from chrono's limits.
pub const MAX_SPAN_SECONDS: u64 = 10 * 365 * 24 * 60 * 60;

/// The most latency in milliseconds one `latency_ms` may add: 10 minutes.
pub const MAX_LATENCY_MS: u64 = 10 * 60 * 1000;

/// The largest `Retry-After` in seconds: 1 day.
pub const MAX_RETRY_AFTER_SECONDS: u64 = 24 * 60 * 60;

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
    /// What a world file adds (its own sections, its records' other keys), kept as written:
    /// filled by [`Scenario::parse`], not a scenario key.
    #[serde(skip)]
    pub world: WorldParts,
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
    /// Loads and validates a scenario file. Only a regular file of at most
    /// [`MAX_SCENARIO_BYTES`] is read: a device (`/dev/zero`), a FIFO or a directory is
    /// refused before it is opened, so loading can neither block nor fill memory.
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario> {
        let path = path.as_ref();
        let text = read_bounded(path).map_err(|source| VmdbError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Parses and validates a scenario from text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<Scenario> {
        let invalid = |json_path: &str, message: String| VmdbError::Invalid {
            file: file.to_owned(),
            json_path: json_path.to_owned(),
            message,
        };
        if text.len() as u64 > MAX_SCENARIO_BYTES {
            return Err(invalid(".", too_large(text.len() as u64)));
        }
        // serde would fill a struct positionally from an array; a scenario is an object.
        if let Some(found) = non_object(text) {
            return Err(invalid(
                ".",
                format!("the scenario must be a JSON object, found {found}"),
            ));
        }
        // The same holds for every section and record inside it. (Malformed JSON is left to
        // the typed parse below, whose errors give the path, line and column.)
        if let Ok(Value::Object(mut doc)) = serde_json::from_str::<Value>(text) {
            if let Some(path) = array_for_object(&doc) {
                return Err(invalid(
                    &path,
                    "must be a JSON object, found an array".into(),
                ));
            }
            let parts = world::split(&mut doc).map_err(|e| invalid(&e.json_path, e.message))?;
            let aliased = world::SECTION_ALIASES
                .iter()
                .any(|(alias, _)| doc.contains_key(*alias));
            // A world: parsed from the document with its own keys moved out. A plain
            // scenario keeps the text parse below, whose errors also give line and column.
            if aliased || parts != WorldParts::default() {
                // How many rows each mock spelling has: the ManageIQ spelling's rows follow
                // them, and the validation's errors are given back their own paths.
                let counts: Vec<(&str, &str, usize)> = world::SECTION_ALIASES
                    .iter()
                    .map(|(alias, name)| {
                        let n = doc.get(*name).and_then(Value::as_array).map_or(0, Vec::len);
                        (*name, *alias, n)
                    })
                    .collect();
                let scenario = Self::from_world(doc, parts, file)?;
                scenario.validate(file).map_err(|e| match e {
                    VmdbError::Invalid {
                        file,
                        json_path,
                        message,
                    } => VmdbError::Invalid {
                        file,
                        json_path: respell(&json_path, &counts),
                        message,
                    },
                    other => other,
                })?;
                return Ok(scenario);
            }
        }
        let de = &mut serde_json::Deserializer::from_str(text);
        let scenario: Scenario =
            serde_path_to_error::deserialize(de).map_err(|e| parse_error(file, "", &e))?;
        scenario.validate(file)?;
        Ok(scenario)
    }

    /// The scenario of a world document whose own keys [`world::split`] moved to `parts`:
    /// ManageIQ's spellings of sections (`miq_requests`…) join the mock's (`requests`…),
    /// VMs get their other columns.
    fn from_world(mut doc: Map<String, Value>, parts: WorldParts, file: &str) -> Result<Scenario> {
        fn rows<T: serde::de::DeserializeOwned>(
            doc: &mut Map<String, Value>,
            section: &str,
            file: &str,
        ) -> Result<Vec<T>> {
            let Some(value) = doc.remove(section) else {
                return Ok(Vec::new());
            };
            serde_path_to_error::deserialize(value).map_err(|e| parse_error(file, section, &e))
        }
        let miq_groups: Vec<Group> = rows(&mut doc, "miq_groups", file)?;
        let miq_requests: Vec<Request> = rows(&mut doc, "miq_requests", file)?;
        let miq_request_tasks: Vec<RequestTask> = rows(&mut doc, "miq_request_tasks", file)?;
        let miq_tasks: Vec<Task> = rows(&mut doc, "miq_tasks", file)?;
        let mut scenario: Scenario = serde_path_to_error::deserialize(Value::Object(doc))
            .map_err(|e| parse_error(file, "", &e))?;
        scenario.groups.extend(miq_groups);
        scenario.requests.extend(miq_requests);
        scenario.request_tasks.extend(miq_request_tasks);
        scenario.tasks.extend(miq_tasks);
        for (i, vm) in scenario.vms.iter_mut().enumerate() {
            if let Some(kept) = parts.record_keys.get(&format!("vms[{i}]")) {
                vm.extra_columns = world::extra_columns("vms", kept);
            }
        }
        scenario.world = parts;
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
        // Ranges: `within` is 1..=max, `at_most` 0..=max; `unit` says the max in words.
        let within = |json_path: &str, v: i128, max: u64, unit: &str| {
            if v < 1 || v > i128::from(max) {
                return Err(invalid(
                    json_path.to_owned(),
                    format!("{v} is out of range: must be at least 1 and at most {max}{unit}"),
                ));
            }
            Ok(())
        };
        let at_most = |json_path: &str, v: u64, max: u64, unit: &str| {
            if v > max {
                return Err(invalid(
                    json_path.to_owned(),
                    format!("{v} is too large: must be at most {max}{unit}"),
                ));
            }
            Ok(())
        };
        for (i, r) in self.faults.rules.iter().enumerate() {
            if let Some(ms) = r.latency_ms {
                at_most(
                    &format!("faults.rules[{i}].latency_ms"),
                    ms,
                    MAX_LATENCY_MS,
                    " (10 minutes)",
                )?;
            }
            if let Some(s) = r.retry_after {
                at_most(
                    &format!("faults.rules[{i}].retry_after"),
                    s,
                    MAX_RETRY_AFTER_SECONDS,
                    " (1 day)",
                )?;
            }
        }
        at_most(
            "faults.latency_ms",
            self.faults.latency_ms,
            MAX_LATENCY_MS,
            " (10 minutes)",
        )?;
        if let Some(rl) = &self.faults.rate_limit {
            within(
                "faults.rate_limit.requests",
                i128::from(rl.requests),
                u64::from(u32::MAX),
                "",
            )?;
            within(
                "faults.rate_limit.window_seconds",
                i128::from(rl.window_seconds),
                MAX_SPAN_SECONDS,
                " (10 years)",
            )?;
            if let Some(s) = rl.retry_after {
                at_most(
                    "faults.rate_limit.retry_after",
                    s,
                    MAX_RETRY_AFTER_SECONDS,
                    " (1 day)",
                )?;
            }
        }
        within(
            "settings.token_ttl_seconds",
            i128::from(self.settings.token_ttl_seconds),
            MAX_SPAN_SECONDS,
            " (10 years)",
        )?;
        within(
            "settings.retirement_step_seconds",
            i128::from(self.settings.retirement_step_seconds),
            MAX_SPAN_SECONDS,
            " (10 years)",
        )?;
        Ok(())
    }
}

/// `requests[3].id` as the file spells it: `miq_requests[1].id` when the file's `requests`
/// has 2 rows (the `miq_requests` rows were appended to them).
fn respell(json_path: &str, counts: &[(&str, &str, usize)]) -> String {
    for (name, alias, n) in counts {
        let Some(rest) = json_path
            .strip_prefix(name)
            .and_then(|r| r.strip_prefix('['))
        else {
            continue;
        };
        let Some((index, tail)) = rest.split_once(']') else {
            continue;
        };
        if let Ok(k) = index.parse::<usize>() {
            if k >= *n {
                return format!("{alias}[{}]{tail}", k - n);
            }
        }
    }
    json_path.to_owned()
}

/// A typed parse's error at `prefix` (a section parsed on its own) and the error's path.
fn parse_error<E: std::fmt::Display>(
    file: &str,
    prefix: &str,
    e: &serde_path_to_error::Error<E>,
) -> VmdbError {
    let path = e.path().to_string();
    let json_path = match (prefix, path.as_str()) {
        ("", _) => path.clone(),
        (p, ".") => p.to_owned(),
        (p, rest) if rest.starts_with('[') => format!("{p}{rest}"),
        (p, rest) => format!("{p}.{rest}"),
    };
    VmdbError::Parse {
        file: file.to_owned(),
        json_path,
        message: e.inner().to_string(),
    }
}

/// Reads a regular file of at most [`MAX_SCENARIO_BYTES`], through a bounded reader (the file
/// may grow between the check and the read).
fn read_bounded(path: &Path) -> std::io::Result<String> {
    use std::io::{Error, ErrorKind};
    // `metadata` follows symlinks and, unlike `open`, does not block on a FIFO.
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "not a regular file (a directory, device or FIFO)",
        ));
    }
    if meta.len() > MAX_SCENARIO_BYTES {
        return Err(Error::new(ErrorKind::InvalidData, too_large(meta.len())));
    }
    let file = std::fs::File::open(path)?;
    let mut text = String::new();
    file.take(MAX_SCENARIO_BYTES + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > MAX_SCENARIO_BYTES {
        return Err(Error::new(
            ErrorKind::InvalidData,
            too_large(text.len() as u64),
        ));
    }
    Ok(text)
}

fn too_large(bytes: u64) -> String {
    format!(
        "the scenario is larger than the {} MB limit ({bytes} bytes or more)",
        MAX_SCENARIO_BYTES / (1024 * 1024)
    )
}

/// What the document is when it is a JSON value other than an object (judged by its first
/// character; anything else is left to the parser's syntax error).
fn non_object(text: &str) -> Option<&'static str> {
    let first = text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .chars()
        .next()?;
    Some(match first {
        '{' => return None,
        '[' => "an array",
        '"' => "a string",
        'n' => "null",
        't' | 'f' => "a boolean",
        '-' | '0'..='9' => "a number",
        _ => return None,
    })
}

/// The JSON path of the first section or record written as an array where an object belongs.
fn array_for_object(doc: &Map<String, Value>) -> Option<String> {
    let is_array = |v: Option<&Value>| v.is_some_and(Value::is_array);
    for key in ["server", "settings", "faults"] {
        if is_array(doc.get(key)) {
            return Some(key.to_owned());
        }
    }
    let faults = doc.get("faults");
    if is_array(faults.and_then(|f| f.get("rate_limit"))) {
        return Some("faults.rate_limit".into());
    }
    let lists = [
        ("faults.rules", faults.and_then(|f| f.get("rules"))),
        ("miq_groups", doc.get("miq_groups")),
        ("miq_requests", doc.get("miq_requests")),
        ("miq_request_tasks", doc.get("miq_request_tasks")),
        ("miq_tasks", doc.get("miq_tasks")),
        ("groups", doc.get("groups")),
        ("users", doc.get("users")),
        ("services", doc.get("services")),
        ("vms", doc.get("vms")),
        ("templates", doc.get("templates")),
        ("requests", doc.get("requests")),
        ("request_tasks", doc.get("request_tasks")),
        ("tasks", doc.get("tasks")),
    ];
    for (name, list) in lists {
        let Some(items) = list.and_then(Value::as_array) else {
            continue;
        };
        if let Some(i) = items.iter().position(Value::is_array) {
            return Some(format!("{name}[{i}]"));
        }
    }
    None
}
