//! The records of the mock VMDB, their scenario form and their REST columns.
//!
//! Each record is both what a scenario file holds (unknown fields rejected) and what the
//! VMDB stores. `columns()` renders the record's physical columns as ManageIQ's REST API
//! shows them: ids as strings, times in ISO 8601 UTC.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::Id;

/// Formats a time the way the ManageIQ API does (`2024-01-02T03:04:05Z`).
pub fn iso8601(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn opt_time(t: &Option<DateTime<Utc>>) -> Value {
    t.as_ref()
        .map_or(Value::Null, |t| Value::String(iso8601(t)))
}

fn opt_id(id: &Option<Id>) -> Value {
    id.map_or(Value::Null, |i| Value::String(i.to_string()))
}

/// A group (`MiqGroup`): what `X-MIQ-Group` names by description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// Id.
    pub id: Id,
    /// The description, e.g. `EvmGroup-super_administrator`.
    pub description: String,
    /// The role name, e.g. `EvmRole-super_administrator`.
    #[serde(default = "default_role")]
    pub role: String,
    /// A read-only group may read everything but every action is 403 forbidden.
    #[serde(default)]
    pub read_only: bool,
}

fn default_role() -> String {
    "EvmRole-super_administrator".to_owned()
}

/// A user with credentials.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Id.
    pub id: Id,
    /// Login name (`admin`).
    pub userid: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// Password for Basic authentication; a user without one (a world may leave it out)
    /// cannot log in.
    #[serde(default)]
    pub password: String,
    /// Ids of the groups the user belongs to; the first is the current group by default.
    pub groups: Vec<Id>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("userid", &self.userid)
            .field("name", &self.name)
            .field("password", &"[REDACTED]")
            .field("groups", &self.groups)
            .finish()
    }
}

/// A service; bundles are trees of services linked by `parent_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// STI type (`Service`, `ServiceAnsiblePlaybook`, …).
    #[serde(default = "default_service_type", rename = "type")]
    pub kind: String,
    /// The parent service (bundle) or none for a top-level service.
    #[serde(default)]
    pub parent_id: Option<Id>,
    /// unprovisioned, provisioning, provisioned or error_in_provisioning.
    #[serde(default)]
    pub lifecycle_state: Option<String>,
    /// Whether the service is retired.
    #[serde(default)]
    pub retired: bool,
    /// nil, initializing, retiring, retired or error.
    #[serde(default)]
    pub retirement_state: Option<String>,
    /// Scheduled or actual retirement time.
    #[serde(default)]
    pub retires_on: Option<DateTime<Utc>>,
    /// Days of warning before retirement.
    #[serde(default)]
    pub retirement_warn: Option<i64>,
    /// The catalog item it was ordered from.
    #[serde(default)]
    pub service_template_id: Option<Id>,
    /// Whether the service is visible in the UI.
    #[serde(default = "default_true")]
    pub visible: bool,
    /// Creation time.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
}

fn default_service_type() -> String {
    "Service".to_owned()
}

fn default_true() -> bool {
    true
}

/// A VM, optionally belonging to a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vm {
    /// Id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// The service the VM is a resource of.
    #[serde(default)]
    pub service_id: Option<Id>,
    /// STI type, e.g. `ManageIQ::Providers::Vmware::InfraManager::Vm`.
    #[serde(default = "default_vm_type", rename = "type")]
    pub kind: String,
    /// Vendor (`vmware`, `redhat`, `amazon`, …).
    #[serde(default = "default_vendor")]
    pub vendor: String,
    /// on, off, suspended, unknown.
    #[serde(default = "default_power_state")]
    pub power_state: String,
    /// Whether the VM is retired.
    #[serde(default)]
    pub retired: bool,
    /// nil, initializing, retiring, retired or error.
    #[serde(default)]
    pub retirement_state: Option<String>,
    /// Scheduled or actual retirement time.
    #[serde(default)]
    pub retires_on: Option<DateTime<Utc>>,
    /// Whether this is a template rather than a VM.
    #[serde(default)]
    pub template: bool,
    /// A world's other columns (`host_id`, `ems_id`, `guid`, a `columns` object's entries):
    /// not a scenario key (a world's loader fills it), shown by the REST API after the mock's own
    /// and serialized with the record (the Ruby mock's `vm(id)[...]`).
    #[serde(skip_deserializing, flatten)]
    pub extra_columns: Map<String, Value>,
}

fn default_vm_type() -> String {
    "ManageIQ::Providers::Vmware::InfraManager::Vm".to_owned()
}
fn default_vendor() -> String {
    "vmware".to_owned()
}
fn default_power_state() -> String {
    "on".to_owned()
}

/// A request (`MiqRequest`): a service provision, a VM provision, a service retirement…
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// Id.
    pub id: Id,
    /// STI type, e.g. `ServiceTemplateProvisionRequest`, `MiqProvisionRequest`, `ServiceRetireRequest`.
    #[serde(rename = "type", default = "default_request_type")]
    pub kind: String,
    /// clone_to_service, template, service_retire, …
    #[serde(default)]
    pub request_type: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// pending_approval, approved, denied.
    #[serde(default = "default_approval")]
    pub approval_state: String,
    /// pending, active, queued, finished.
    #[serde(default = "default_pending")]
    pub request_state: String,
    /// Ok, Warn, Error, Timeout, Denied.
    #[serde(default = "default_ok")]
    pub status: String,
    /// The last message.
    #[serde(default)]
    pub message: Option<String>,
    /// Who asked.
    #[serde(default = "default_admin")]
    pub userid: String,
    /// Free-form options (`src_ids`, `user_message`, …).
    #[serde(default = "empty_object")]
    pub options: Value,
    /// The source (catalog item, template).
    #[serde(default)]
    pub source_id: Option<Id>,
    /// The source's type.
    #[serde(default)]
    pub source_type: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_on: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_on: Option<DateTime<Utc>>,
    /// When it finished.
    #[serde(default)]
    pub fulfilled_on: Option<DateTime<Utc>>,
}

// A world's rows may leave out what the mock's scenarios require: the base classes.
fn default_request_type() -> String {
    "MiqRequest".to_owned()
}
fn default_request_task_type() -> String {
    "MiqRequestTask".to_owned()
}
fn default_approval() -> String {
    "approved".to_owned()
}
fn default_pending() -> String {
    "pending".to_owned()
}
fn default_ok() -> String {
    "Ok".to_owned()
}
fn default_admin() -> String {
    "admin".to_owned()
}
fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// A request task (`MiqRequestTask`): the per-item work of a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTask {
    /// Id.
    pub id: Id,
    /// The request it belongs to (`miq_request_id`, as a world may spell it).
    #[serde(alias = "miq_request_id")]
    pub request_id: Id,
    /// The parent task (`miq_request_task_id`, as a world may spell it); none for a
    /// bundle's top task.
    #[serde(default, alias = "miq_request_task_id")]
    pub parent_task_id: Option<Id>,
    /// STI type, e.g. `ServiceTemplateProvisionTask`, `ManageIQ::Providers::Vmware::InfraManager::Provision`.
    #[serde(rename = "type", default = "default_request_task_type")]
    pub kind: String,
    /// clone_to_service, template, …
    #[serde(default)]
    pub request_type: String,
    /// Description.
    #[serde(default)]
    pub description: String,
    /// pending, queued, active, provisioned, finished.
    #[serde(default = "default_pending")]
    pub state: String,
    /// Ok, Warn, Error.
    #[serde(default = "default_ok")]
    pub status: String,
    /// The last message.
    #[serde(default)]
    pub message: Option<String>,
    /// What the task made: `Service` or `VmOrTemplate`.
    #[serde(default)]
    pub destination_type: Option<String>,
    /// The id of what the task made.
    #[serde(default)]
    pub destination_id: Option<Id>,
    /// The source (catalog item, template).
    #[serde(default)]
    pub source_id: Option<Id>,
    /// The source's type.
    #[serde(default)]
    pub source_type: Option<String>,
    /// Free-form options (`vm_target_name`, `src_vm_id`, …).
    #[serde(default = "empty_object")]
    pub options: Value,
    /// Who asked.
    #[serde(default = "default_admin")]
    pub userid: String,
    /// The automate phase.
    #[serde(default)]
    pub phase: Option<String>,
}

/// A task (`MiqTask`): what a queued action such as a VM `request_retire` reports on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Id.
    pub id: Id,
    /// Name, e.g. `Retiring immediately Vm id: 5 name: 'web'`.
    #[serde(default)]
    pub name: String,
    /// Initialized, Queued, Active, Finished.
    #[serde(default = "default_queued")]
    pub state: String,
    /// Ok, Warn, Error, Timeout.
    #[serde(default = "default_ok")]
    pub status: String,
    /// The last message.
    #[serde(default)]
    pub message: Option<String>,
    /// Who asked.
    #[serde(default = "default_admin")]
    pub userid: String,
    /// Percent complete.
    #[serde(default)]
    pub pct_complete: Option<i64>,
    /// Creation time.
    #[serde(default)]
    pub created_on: Option<DateTime<Utc>>,
    /// Last update.
    #[serde(default)]
    pub updated_on: Option<DateTime<Utc>>,
}

fn default_queued() -> String {
    "Queued".to_owned()
}

/// The appliance (`MiqServer`), as `$evm.root['miq_server']` and `/api` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Server {
    /// Id.
    #[serde(default = "one")]
    pub id: Id,
    /// The server name (`EVM`).
    #[serde(default = "default_server_name")]
    pub name: String,
    /// Appliance version, e.g. `18.0.0`.
    #[serde(default = "default_version")]
    pub version: String,
    /// The server guid.
    #[serde(default = "default_guid")]
    pub guid: String,
    /// `current` (Hammer and later) or `legacy` (pre-Hammer: no `request_retire`).
    #[serde(default)]
    pub profile: ServerProfile,
}

impl Default for Server {
    fn default() -> Self {
        Self {
            id: one(),
            name: default_server_name(),
            version: default_version(),
            guid: default_guid(),
            profile: ServerProfile::default(),
        }
    }
}

fn one() -> Id {
    Id(1)
}
fn default_server_name() -> String {
    "EVM".to_owned()
}
fn default_version() -> String {
    "18.0.0".to_owned()
}
fn default_guid() -> String {
    "00000000-0000-0000-0000-000000000001".to_owned()
}

/// Which generation of ManageIQ the mock behaves like.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerProfile {
    /// Hammer and later: services and VMs support `request_retire`.
    #[default]
    Current,
    /// Before Hammer: `request_retire` is an unsupported custom action; only `retire` exists.
    Legacy,
}

/// A VM template (`MiqTemplate`), the source of a VM provision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Template {
    /// Id.
    pub id: Id,
    /// Name.
    #[serde(default)]
    pub name: String,
    /// Vendor.
    #[serde(default = "default_vendor")]
    pub vendor: String,
    /// Guid.
    #[serde(default)]
    pub guid: Option<String>,
}

impl Service {
    /// The physical columns as the REST API renders them (without `href` and `ancestry`,
    /// which depend on the tree: see `Vmdb::service_json`).
    pub fn columns(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id.to_string()));
        m.insert("name".into(), json!(self.name));
        m.insert("description".into(), json!(self.description));
        m.insert("type".into(), json!(self.kind));
        m.insert("visible".into(), json!(self.visible));
        m.insert("retired".into(), json!(self.retired));
        m.insert("retires_on".into(), opt_time(&self.retires_on));
        m.insert("retirement_warn".into(), json!(self.retirement_warn));
        m.insert("retirement_state".into(), json!(self.retirement_state));
        m.insert("lifecycle_state".into(), json!(self.lifecycle_state));
        m.insert(
            "service_template_id".into(),
            opt_id(&self.service_template_id),
        );
        m.insert("created_at".into(), opt_time(&self.created_at));
        m
    }
}

impl Vm {
    /// The physical columns as the REST API renders them.
    pub fn columns(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id.to_string()));
        m.insert("name".into(), json!(self.name));
        m.insert("type".into(), json!(self.kind));
        m.insert("vendor".into(), json!(self.vendor));
        m.insert("power_state".into(), json!(self.power_state));
        m.insert("retired".into(), json!(self.retired));
        m.insert("retirement_state".into(), json!(self.retirement_state));
        m.insert("retires_on".into(), opt_time(&self.retires_on));
        m.insert("template".into(), json!(self.template));
        // ManageIQ renders ids as strings, the extra `*_id` columns too.
        for (key, value) in &self.extra_columns {
            let value = match value {
                Value::Number(n) if key.ends_with("_id") => Value::String(n.to_string()),
                other => other.clone(),
            };
            m.entry(key.clone()).or_insert(value);
        }
        m
    }
}

impl Request {
    /// The physical columns as the REST API renders them.
    pub fn columns(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id.to_string()));
        m.insert("type".into(), json!(self.kind));
        m.insert("request_type".into(), json!(self.request_type));
        m.insert("description".into(), json!(self.description));
        m.insert("approval_state".into(), json!(self.approval_state));
        m.insert("request_state".into(), json!(self.request_state));
        m.insert("status".into(), json!(self.status));
        m.insert("message".into(), json!(self.message));
        m.insert("userid".into(), json!(self.userid));
        m.insert("options".into(), self.options.clone());
        m.insert("source_id".into(), opt_id(&self.source_id));
        m.insert("source_type".into(), json!(self.source_type));
        m.insert("created_on".into(), opt_time(&self.created_on));
        m.insert("updated_on".into(), opt_time(&self.updated_on));
        m.insert("fulfilled_on".into(), opt_time(&self.fulfilled_on));
        m
    }
}

impl RequestTask {
    /// The physical columns as the REST API renders them.
    pub fn columns(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id.to_string()));
        m.insert("miq_request_id".into(), json!(self.request_id.to_string()));
        m.insert("miq_request_task_id".into(), opt_id(&self.parent_task_id));
        m.insert("type".into(), json!(self.kind));
        m.insert("request_type".into(), json!(self.request_type));
        m.insert("description".into(), json!(self.description));
        m.insert("state".into(), json!(self.state));
        m.insert("status".into(), json!(self.status));
        m.insert("message".into(), json!(self.message));
        m.insert("destination_type".into(), json!(self.destination_type));
        m.insert("destination_id".into(), opt_id(&self.destination_id));
        m.insert("source_type".into(), json!(self.source_type));
        m.insert("source_id".into(), opt_id(&self.source_id));
        m.insert("options".into(), self.options.clone());
        m.insert("userid".into(), json!(self.userid));
        m.insert("phase".into(), json!(self.phase));
        m
    }
}

impl Task {
    /// The physical columns as the REST API renders them.
    pub fn columns(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("id".into(), json!(self.id.to_string()));
        m.insert("name".into(), json!(self.name));
        m.insert("state".into(), json!(self.state));
        m.insert("status".into(), json!(self.status));
        m.insert("message".into(), json!(self.message));
        m.insert("userid".into(), json!(self.userid));
        m.insert("pct_complete".into(), json!(self.pct_complete));
        m.insert("created_on".into(), opt_time(&self.created_on));
        m.insert("updated_on".into(), opt_time(&self.updated_on));
        m
    }
}
