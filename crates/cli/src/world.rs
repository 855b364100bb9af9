//! `miq-automate world convert MODEL.json`: a `run --model` file as a world file.
//!
//! Each `{"$model": …}` object becomes a row of the world section its model names (the
//! Ruby catalogue's mapping, ruby/lib/miq_automate/world/catalogue.rb): `miq_provision` a
//! `miq_request_tasks` row of type `MiqProvision`, `vm_or_template` a `vms` row, an unknown
//! model a row under `models`. Nested models become their own rows, linked by id columns
//! (`host_id`, `miq_request_id`, `source_id`/`source_type`…); `options` are kept as given;
//! `$calls` answers become the row's `on` hooks. What the world format cannot hold (the
//! root's attributes, answers of rows without hooks, links it has no column for) is listed
//! on stderr as not converted. Which keys a row's section takes as columns comes from
//! docs/world.schema.json itself, so the two cannot drift apart.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args as ClapArgs, Subcommand};
use serde_json::{json, Map, Value};

/// `world` subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Convert a `run --model` file into a world file (printed on stdout); what has no
    /// world equivalent is listed on stderr.
    Convert(ConvertArgs),
}

/// Arguments of `world convert`.
#[derive(ClapArgs, Debug)]
pub struct ConvertArgs {
    /// The model file: {"root": {...}, "models": [...]} with {"$model": ...} objects.
    model: PathBuf,
}

/// Runs a `world` subcommand.
pub fn run(command: Command) -> Result<u8> {
    match command {
        Command::Convert(args) => {
            let conversion = convert_file(&args.model)?;
            for note in &conversion.notes {
                eprintln!("not converted: {note}");
            }
            println!("{}", serde_json::to_string_pretty(&conversion.world)?);
            Ok(crate::EXIT_OK)
        }
    }
}

/// A converted world and what could not be converted.
pub struct Conversion {
    /// The world document.
    pub world: Value,
    /// One line for each thing left out, with its JSON path.
    pub notes: Vec<String>,
}

/// Reads and converts a model file; errors name the file and the JSON path.
pub fn convert_file(path: &Path) -> Result<Conversion> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read model file {}", path.display()))?;
    let doc: Value =
        serde_json::from_str(&text).with_context(|| format!("{}: $: not JSON", path.display()))?;
    convert(&doc, &path.display().to_string())
}

/// Converts a model document; `file` names it in errors.
pub fn convert(doc: &Value, file: &str) -> Result<Conversion> {
    let Some(doc) = doc.as_object() else {
        bail!(
            "{file}: $: a model file is a JSON object, not {}",
            kind(doc)
        );
    };
    let mut c = Converter::new(file);
    // As `run --model` reads it: {"root": …, "models": […]}, or just the root's attributes.
    let (root, root_path) = if doc.contains_key("root") || doc.contains_key("models") {
        for key in doc.keys() {
            if key != "root" && key != "models" {
                bail!("{file}: $.{key}: unknown key (a model file has `root` and `models`)");
            }
        }
        (doc.get("root").cloned().unwrap_or(json!({})), "$.root")
    } else {
        (Value::Object(doc.clone()), "$")
    };
    let Some(root) = root.as_object() else {
        bail!(
            "{file}: {root_path}: the root is a JSON object, not {}",
            kind(&root)
        );
    };
    for (key, value) in root {
        let path = format!("{root_path}.{key}");
        if is_model(value) {
            let target = c.row(value, &path)?;
            // The delivery's user, when the root names one with a userid.
            if key == "user" {
                if let Some(userid) = value.get("userid").and_then(Value::as_str) {
                    c.run_user = Some(userid.to_owned());
                    continue;
                }
            }
            let row = match target {
                Some((section, id)) => format!("row {section}/{id}"),
                None if value["$model"] == "miq_server" => "the world's `server`".to_owned(),
                None => "no row".to_owned(),
            };
            c.note(&path, format!("root attribute `{key}` ({row}): the world format has no place for root attributes (`run` holds only `user`)"));
        } else {
            c.models_inside(value, &path)?;
            c.note(&path, format!("root attribute `{key}` = {value}: the world format has no place for root attributes (`run` holds only `user`); give it to `run --attr`"));
        }
    }
    match doc.get("models") {
        None | Some(Value::Null) => {}
        Some(Value::Array(models)) => {
            for (i, model) in models.iter().enumerate() {
                let path = format!("$.models[{i}]");
                if !is_model(model) {
                    bail!("{file}: {path}: not a model (an object with \"$model\")");
                }
                c.row(model, &path)?;
            }
        }
        Some(other) => bail!("{file}: $.models: an array of models, not {}", kind(other)),
    }
    let notes = std::mem::take(&mut c.notes);
    Ok(Conversion {
        world: c.world(),
        notes,
    })
}

/// Where a model's rows go.
enum Target {
    /// A world section, with the STI type its rows get when they give none.
    Table {
        section: &'static str,
        class: Option<&'static str>,
    },
    /// The world's `server`.
    Server,
    /// A row of another model, under `models`.
    Generic(String),
    /// Written inside another row (hardware, disks…), or with no place in a world.
    Unsupported,
}

/// The catalogue's model → section mapping (Catalogue::MODELS).
fn target(model: &str) -> Target {
    let table = |section, class| Target::Table { section, class };
    match model {
        "vm_or_template" | "vm" => table("vms", None),
        "miq_template" => table("vms", None),
        "ext_management_system" | "ems" => table("ext_management_systems", None),
        "ems_infra" => table("ext_management_systems", None),
        "ems_cloud" => table("ext_management_systems", None),
        "host" => table("hosts", None),
        "ems_cluster" => table("ems_clusters", None),
        "storage" => table("storages", None),
        "service" => table("services", None),
        "service_orchestration" => table("services", Some("ServiceOrchestration")),
        "service_template" => table("service_templates", None),
        "miq_request" => table("miq_requests", None),
        "miq_provision_request" => table("miq_requests", Some("MiqProvisionRequest")),
        "service_template_provision_request" => {
            table("miq_requests", Some("ServiceTemplateProvisionRequest"))
        }
        "vm_retire_request" => table("miq_requests", Some("VmRetireRequest")),
        "service_retire_request" => table("miq_requests", Some("ServiceRetireRequest")),
        "orchestration_stack_retire_request" => {
            table("miq_requests", Some("OrchestrationStackRetireRequest"))
        }
        "automation_request" => table("miq_requests", Some("AutomationRequest")),
        "vm_migrate_request" => table("miq_requests", Some("VmMigrateRequest")),
        "vm_reconfigure_request" => table("miq_requests", Some("VmReconfigureRequest")),
        "service_reconfigure_request" => table("miq_requests", Some("ServiceReconfigureRequest")),
        "miq_request_task" => table("miq_request_tasks", None),
        "miq_provision" => table("miq_request_tasks", Some("MiqProvision")),
        "miq_provision_task" => table("miq_request_tasks", Some("MiqProvisionTask")),
        "service_template_provision_task" => {
            table("miq_request_tasks", Some("ServiceTemplateProvisionTask"))
        }
        "vm_retire_task" => table("miq_request_tasks", Some("VmRetireTask")),
        "service_retire_task" => table("miq_request_tasks", Some("ServiceRetireTask")),
        "orchestration_stack_retire_task" => {
            table("miq_request_tasks", Some("OrchestrationStackRetireTask"))
        }
        "automation_task" => table("miq_request_tasks", Some("AutomationTask")),
        "vm_migrate_task" => table("miq_request_tasks", Some("VmMigrateTask")),
        "vm_reconfigure_task" => table("miq_request_tasks", Some("VmReconfigureTask")),
        "service_reconfigure_task" => table("miq_request_tasks", Some("ServiceReconfigureTask")),
        "miq_task" => table("miq_tasks", None),
        "user" => table("users", None),
        "miq_group" => table("miq_groups", None),
        "tenant" => table("tenants", None),
        "classification" => table("classifications", None),
        "orchestration_stack" => table("orchestration_stacks", None),
        "miq_server" => Target::Server,
        "hardware" | "disk" | "custom_attribute" | "service_resource" => Target::Unsupported,
        other => Target::Generic(other.to_owned()),
    }
}

/// The schema definition of a section's rows.
fn definition(section: &str) -> &'static str {
    match section {
        "ext_management_systems" => "ext_management_system",
        "hosts" => "host",
        "ems_clusters" => "ems_cluster",
        "storages" => "storage",
        "vms" => "vm",
        "services" => "service",
        "service_templates" => "service_template",
        "miq_requests" => "miq_request",
        "miq_request_tasks" => "miq_request_task",
        "miq_tasks" => "miq_task",
        "users" => "user",
        "miq_groups" => "miq_group",
        "tenants" => "tenant",
        "classifications" => "classification",
        _ => "orchestration_stack",
    }
}

/// A row's base class, for a polymorphic `*_type` column (Catalogue::TYPE_TABLES).
fn base_class(section: &str) -> Option<&'static str> {
    Some(match section {
        "vms" => "VmOrTemplate",
        "services" => "Service",
        "service_templates" => "ServiceTemplate",
        "ext_management_systems" => "ExtManagementSystem",
        "hosts" => "Host",
        "ems_clusters" => "EmsCluster",
        "storages" => "Storage",
        "orchestration_stacks" => "OrchestrationStack",
        "miq_requests" => "MiqRequest",
        "miq_request_tasks" => "MiqRequestTask",
        "users" => "User",
        "miq_groups" => "MiqGroup",
        "tenants" => "Tenant",
        "classifications" => "Classification",
        "miq_tasks" => "MiqTask",
        _ => return None,
    })
}

/// The id column another row's `has_many` sets on its children (`host.vms` → `host_id`).
fn owner_column(section: &str) -> Option<&'static str> {
    Some(match section {
        "ext_management_systems" => "ems_id",
        "hosts" => "host_id",
        "ems_clusters" => "ems_cluster_id",
        "storages" => "storage_id",
        "services" => "service_id",
        "service_templates" => "service_template_id",
        "miq_requests" => "miq_request_id",
        "miq_request_tasks" => "miq_request_task_id",
        "tenants" => "tenant_id",
        "miq_groups" => "miq_group_id",
        "orchestration_stacks" => "orchestration_stack_id",
        _ => return None,
    })
}

/// A has_one of a row to another model's row (`vm.operating_system`): the column on the
/// child that names its owner (the world's VMs find their operating system by it).
fn has_one(section: &str, key: &str) -> Option<&'static str> {
    match (section, key) {
        ("vms", "operating_system") => Some("vm_or_template_id"),
        _ => None,
    }
}

/// How an association of a row is written.
enum Link {
    /// One id column (`host_id`).
    Id(String),
    /// A polymorphic pair (`source_id`, `source_type`).
    Polymorphic(&'static str, &'static str),
}

/// Keys a section's rows take that are not plain columns: never copied from a model's
/// attributes (their formats differ), kept under `columns` instead.
const NOT_PLAIN: &[&str] = &[
    "on",
    "timeline",
    "columns",
    "tags",
    "custom_attributes",
    "ems_custom_attributes",
    "hardware",
    "groups",
    "storage_ids",
    "entries",
    "disks",
    "options",
];

struct Converter {
    file: String,
    /// Section → id → row (`models/<name>` for other models).
    rows: BTreeMap<String, BTreeMap<u64, Map<String, Value>>>,
    server: Map<String, Value>,
    run_user: Option<String>,
    notes: Vec<String>,
    /// Each section's keys, from the schema.
    keys: HashMap<&'static str, HashSet<String>>,
}

impl Converter {
    fn new(file: &str) -> Converter {
        let schema: Value = serde_json::from_str(include_str!("../../../docs/world.schema.json"))
            .expect("docs/world.schema.json is JSON");
        let mut keys = HashMap::new();
        for section in [
            "ext_management_systems",
            "hosts",
            "ems_clusters",
            "storages",
            "vms",
            "services",
            "service_templates",
            "miq_requests",
            "miq_request_tasks",
            "miq_tasks",
            "users",
            "miq_groups",
            "tenants",
            "classifications",
            "orchestration_stacks",
        ] {
            let props = schema["$defs"][definition(section)]["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default();
            keys.insert(section, props);
        }
        Converter {
            file: file.to_owned(),
            rows: BTreeMap::new(),
            server: Map::new(),
            run_user: None,
            notes: Vec::new(),
            keys,
        }
    }

    fn note(&mut self, path: &str, what: String) {
        self.notes.push(format!("{path}: {what}"));
    }

    fn takes(&self, section: &str, key: &str) -> bool {
        self.keys.get(section).is_some_and(|k| k.contains(key))
    }

    /// The association `key` of a `section` row, as the world writes it.
    fn link(&self, section: &str, key: &str) -> Option<Link> {
        let tasks = section == "miq_request_tasks";
        let polymorphic = match (key, tasks, section) {
            ("source" | "vm_template", true, _) | ("source", _, "miq_requests") => {
                Some(Link::Polymorphic("source_id", "source_type"))
            }
            ("destination" | "vm", true, _) => {
                Some(Link::Polymorphic("destination_id", "destination_type"))
            }
            _ => None,
        };
        if polymorphic.is_some() {
            return polymorphic;
        }
        let column = match key {
            "ext_management_system" | "ems" => "ems_id".to_owned(),
            "parent_service" | "parent" => "parent_id".to_owned(),
            "parent_manager" => "parent_ems_id".to_owned(),
            "orchestration_manager" => "orchestration_manager_id".to_owned(),
            // A task's request under its typed name (miq_provision.miq_provision_request).
            k if tasks && k.ends_with("_request") => "miq_request_id".to_owned(),
            k => format!("{k}_id"),
        };
        self.takes(section, &column).then_some(Link::Id(column))
    }

    /// Converts one `$model` object (and the models inside it) into rows; its row, if any.
    fn row(&mut self, model: &Value, path: &str) -> Result<Option<(String, u64)>> {
        let object = model.as_object().expect("a model is an object");
        let name = match object.get("$model") {
            Some(Value::String(name)) => underscore(name),
            _ => bail!("{}: {path}.$model: a model name (a string)", self.file),
        };
        let (section, class) = match target(&name) {
            Target::Table { section, class } => (section.to_owned(), class),
            Target::Generic(model) => {
                if !model.starts_with(|c: char| c.is_ascii_lowercase())
                    || !model
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    bail!(
                        "{}: {path}.$model: {name:?} is not a model name (snake_case: \"flavor\")",
                        self.file
                    );
                }
                (format!("models/{model}"), None)
            }
            Target::Server => {
                self.server(object, path);
                return Ok(None);
            }
            Target::Unsupported => {
                self.note(path, format!("a {name} model: a world writes it inside its VM or host, not as its own row"));
                return Ok(None);
            }
        };
        let generic = section.starts_with("models/");
        let id = match object.get("id") {
            Some(value) => parse_id(value)
                .with_context(|| format!("{}: {path}.id: an id is a positive whole number (or a string of digits), not {value}", self.file))?,
            None => bail!("{}: {path}: a {name} model needs an `id` to be a world row", self.file),
        };
        let mut row = Map::new();
        let mut columns = Map::new();
        if let Some(class) = class {
            row.insert("type".into(), json!(class));
        }
        if name == "miq_template" {
            row.insert("template".into(), json!(true));
        }
        for (key, value) in object {
            let at = format!("{path}.{key}");
            if key == "$model" || key == "id" || key == "$calls" {
                continue;
            }
            if key.starts_with('$') {
                self.note(&at, format!("`{key}` has no world equivalent"));
                continue;
            }
            if is_model(value) {
                let inline_hardware = key == "hardware"
                    && value["$model"] == "hardware"
                    && (section == "vms" || section == "hosts");
                if inline_hardware {
                    row.insert("hardware".into(), self.hardware(value, &at));
                    continue;
                }
                let Some((child, child_id)) = self.row(value, &at)? else {
                    continue;
                };
                self.set_link(
                    (&section, id),
                    key,
                    &mut row,
                    &mut columns,
                    (&child, child_id),
                    &at,
                );
                continue;
            }
            if let Value::Array(items) = value {
                if items.iter().any(is_model) {
                    self.children(&section, id, key, items, &at)?;
                    continue;
                }
            }
            self.models_inside(value, &at)?;
            if value.is_null() {
                if let Some(Link::Id(column)) =
                    (!generic).then(|| self.link(&section, key)).flatten()
                {
                    row.entry(column).or_insert(Value::Null);
                    continue;
                }
                if let Some(Link::Polymorphic(..)) =
                    (!generic).then(|| self.link(&section, key)).flatten()
                {
                    continue;
                }
            }
            let plain = generic
                || (self.takes(&section, key) && !NOT_PLAIN.contains(&key.as_str()))
                || (key == "options" && value.is_object() && self.takes(&section, "options"));
            if plain {
                row.insert(key.clone(), value.clone());
            } else {
                columns.insert(key.clone(), value.clone());
            }
        }
        if !columns.is_empty() {
            row.insert("columns".into(), Value::Object(columns));
        }
        if let Some(Value::Object(calls)) = object.get("$calls") {
            let hooks = self.hooks(&section, calls, &format!("{path}.$calls"))?;
            if !hooks.is_empty() {
                row.insert("on".into(), Value::Object(hooks));
            }
        } else if let Some(calls) = object.get("$calls") {
            bail!(
                "{}: {path}.$calls: an object of answers by method name, not {}",
                self.file,
                kind(calls)
            );
        }
        self.merge(&section, id, row, path);
        Ok(Some((section, id)))
    }

    /// Writes the link `key` of a row to `child`: its id column(s), else under `columns`
    /// (an other model's `<model>_id` finds its row), else a note.
    fn set_link(
        &mut self,
        (section, row_id): (&str, u64),
        key: &str,
        row: &mut Map<String, Value>,
        columns: &mut Map<String, Value>,
        (child, child_id): (&str, u64),
        path: &str,
    ) {
        let set =
            |map: &mut Map<String, Value>, column: &str, value: Value, notes: &mut Vec<String>| {
                match map.get(column) {
                    Some(old) if *old != value => notes.push(format!(
                        "{path}: `{column}` is already {old}: kept it, not {value}"
                    )),
                    _ => {
                        map.insert(column.to_owned(), value);
                    }
                }
            };
        if section.starts_with("models/") {
            set(row, &format!("{key}_id"), json!(child_id), &mut self.notes);
            return;
        }
        match self.link(section, key) {
            Some(Link::Id(column)) => set(row, &column, json!(child_id), &mut self.notes),
            Some(Link::Polymorphic(id_column, type_column)) => match base_class(child) {
                Some(class) => {
                    set(row, id_column, json!(child_id), &mut self.notes);
                    set(row, type_column, json!(class), &mut self.notes);
                }
                None => self.note(path, format!("`{key}` (row {child}/{child_id}): a {section} row's {key} is not a {child} row")),
            },
            None => {
                let model = child.strip_prefix("models/");
                if let Some(column) = has_one(section, key).filter(|_| model == Some(key)) {
                    // The child row points at its owner, as ManageIQ's has_one does.
                    if let Some(child_row) =
                        self.rows.get_mut(child).and_then(|r| r.get_mut(&child_id))
                    {
                        child_row.insert(column.to_owned(), json!(row_id));
                    }
                } else if model == Some(key) {
                    // Found by the loader as vm.flavor is: a `<model>_id` column.
                    set(columns, &format!("{key}_id"), json!(child_id), &mut self.notes);
                } else {
                    self.note(path, format!("link `{key}` (row {child}/{child_id} converted): a {section} row has no column for it"));
                }
            }
        }
    }

    /// Rows in an array (`service.vms`): each converted, and pointed back at its owner.
    fn children(
        &mut self,
        section: &str,
        id: u64,
        key: &str,
        items: &[Value],
        path: &str,
    ) -> Result<()> {
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            if !is_model(item) {
                self.models_inside(item, &at)?;
                self.note(
                    &at,
                    format!("a value among the models of `{key}`: kept nowhere"),
                );
                continue;
            }
            let Some((child, child_id)) = self.row(item, &at)? else {
                continue;
            };
            let column = owner_column(section).filter(|c| self.takes(&child, c));
            match column {
                Some(column) => {
                    let row = self.rows.get_mut(&child).and_then(|r| r.get_mut(&child_id));
                    if let Some(row) = row {
                        match row.get(column) {
                            Some(old) if *old != json!(id) && !old.is_null() => {
                                let note = format!("`{column}` of row {child}/{child_id} is already {old}: kept it, not {id}");
                                self.note(&at, note);
                            }
                            _ => {
                                row.insert(column.to_owned(), json!(id));
                            }
                        }
                    }
                }
                None => self.note(&at, format!("link `{key}` (row {child}/{child_id} converted): a {child} row has no column pointing at its {section} row")),
            }
        }
        Ok(())
    }

    /// `$calls` answers as `on` hooks: `returns`, or `returns_record` for a model.
    fn hooks(
        &mut self,
        section: &str,
        calls: &Map<String, Value>,
        path: &str,
    ) -> Result<Map<String, Value>> {
        let mut hooks = Map::new();
        for (name, answer) in calls {
            let at = format!("{path}.{name}");
            if section.starts_with("models/") {
                self.models_inside(answer, &at)?;
                self.note(
                    &at,
                    format!(
                        "answer of `{name}`: a row of another model (under `models`) has no hooks"
                    ),
                );
                continue;
            }
            if is_model(answer) {
                match self.row(answer, &at)? {
                    // "vms/42"; another model's row by its model name ("flavor/40").
                    Some((child, id)) => {
                        let section = child.strip_prefix("models/").unwrap_or(&child);
                        hooks.insert(
                            name.clone(),
                            json!({"returns_record": format!("{section}/{id}")}),
                        );
                    }
                    None => self.note(
                        &at,
                        format!("answer of `{name}`: its model is no world row"),
                    ),
                }
                continue;
            }
            if contains_model(answer) {
                self.models_inside(answer, &at)?;
                self.note(&at, format!("answer of `{name}`: models inside a value have no world equivalent (only one row: returns_record)"));
                continue;
            }
            hooks.insert(name.clone(), json!({"returns": answer}));
        }
        Ok(hooks)
    }

    /// `miq_server` → the world's `server` (id, name, version, guid, profile).
    fn server(&mut self, object: &Map<String, Value>, path: &str) {
        for (key, value) in object {
            match key.as_str() {
                "$model" => {}
                "id" => match parse_id(value) {
                    Ok(id) => {
                        self.server.insert("id".into(), json!(id));
                    }
                    Err(_) => self.note(&format!("{path}.id"), format!("server id {value}: not an id")),
                },
                "name" | "version" | "guid" if value.is_string() => {
                    self.server.insert(key.clone(), value.clone());
                }
                _ => self.note(&format!("{path}.{key}"), format!("the world's server has no `{key}` (it takes id, name, version, guid, profile)")),
            }
        }
    }

    /// A `hardware` model written inline in its VM or host.
    fn hardware(&mut self, model: &Value, path: &str) -> Value {
        let mut hardware = Map::new();
        let mut columns = Map::new();
        for (key, value) in model.as_object().into_iter().flatten() {
            match key.as_str() {
                "$model" => {}
                "id" => {
                    if let Ok(id) = parse_id(value) {
                        hardware.insert("id".into(), json!(id));
                    }
                }
                _ if contains_model(value) => self.note(
                    &format!("{path}.{key}"),
                    "models inside a hardware: not converted".into(),
                ),
                "cpu_sockets"
                | "cpu_cores_per_socket"
                | "cpu_total_cores"
                | "cpu_speed"
                | "cpu_type"
                | "memory_mb"
                | "guest_os"
                | "guest_os_full_name"
                | "bios"
                | "annotation"
                | "manufacturer"
                | "model"
                | "virtual_hw_version" => {
                    hardware.insert(key.clone(), value.clone());
                }
                _ => {
                    columns.insert(key.clone(), value.clone());
                }
            }
        }
        if !columns.is_empty() {
            hardware.insert("columns".into(), Value::Object(columns));
        }
        Value::Object(hardware)
    }

    /// Models inside a plain value (an option's hash…): converted as rows, the value kept.
    fn models_inside(&mut self, value: &Value, path: &str) -> Result<()> {
        match value {
            Value::Object(_) if is_model(value) => {
                self.row(value, path)?;
            }
            Value::Object(map) => {
                for (k, v) in map {
                    self.models_inside(v, &format!("{path}.{k}"))?;
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.models_inside(v, &format!("{path}[{i}]"))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Adds a row, or merges it into the row with its id: a key given twice with another
    /// value keeps the first (noted).
    fn merge(&mut self, section: &str, id: u64, row: Map<String, Value>, path: &str) {
        let rows = self.rows.entry(section.to_owned()).or_default();
        let Some(existing) = rows.get_mut(&id) else {
            rows.insert(id, row);
            return;
        };
        let mut notes = Vec::new();
        for (key, value) in row {
            match (existing.get_mut(&key), value) {
                (None, value) => {
                    existing.insert(key, value);
                }
                (Some(Value::Object(old)), Value::Object(new))
                    if key == "columns" || key == "on" =>
                {
                    for (k, v) in new {
                        match old.get(&k) {
                            Some(o) if *o != v => notes.push(format!(
                                "{path}.{k}: {section}/{id} has {o} already: kept it, not {v}"
                            )),
                            _ => {
                                old.insert(k, v);
                            }
                        }
                    }
                }
                (Some(old), value) if *old != value => {
                    if old.is_null() {
                        *old = value;
                    } else {
                        notes.push(format!(
                            "{path}.{key}: {section}/{id} has {old} already: kept it, not {value}"
                        ));
                    }
                }
                _ => {}
            }
        }
        self.notes.extend(notes);
    }

    /// The world document: sections in the order the loader reads them.
    fn world(self) -> Value {
        let mut world = Map::new();
        world.insert(
            "description".into(),
            json!(format!("Converted from the model file {}", self.file)),
        );
        if !self.server.is_empty() {
            world.insert("server".into(), Value::Object(self.server));
        }
        if let Some(user) = self.run_user {
            world.insert("run".into(), json!({"user": user}));
        }
        let mut models = Map::new();
        for (section, rows) in self.rows {
            let rows: Vec<Value> = rows
                .into_iter()
                .map(|(id, row)| {
                    let mut out = Map::new();
                    out.insert("id".into(), json!(id));
                    out.extend(row);
                    Value::Object(out)
                })
                .collect();
            match section.strip_prefix("models/") {
                Some(model) => {
                    models.insert(model.to_owned(), Value::Array(rows));
                }
                None => {
                    world.insert(section, Value::Array(rows));
                }
            }
        }
        if !models.is_empty() {
            world.insert("models".into(), Value::Object(models));
        }
        Value::Object(world)
    }
}

fn is_model(value: &Value) -> bool {
    value.get("$model").is_some() && value.is_object()
}

fn contains_model(value: &Value) -> bool {
    match value {
        Value::Object(map) => is_model(value) || map.values().any(contains_model),
        Value::Array(items) => items.iter().any(contains_model),
        _ => false,
    }
}

/// A positive id from a number or a string of digits.
fn parse_id(value: &Value) -> Result<u64> {
    let id = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse().ok()
        }
        _ => None,
    };
    match id {
        Some(id) if id > 0 => Ok(id),
        _ => bail!("not an id"),
    }
}

/// "MiqProvision" → "miq_provision" (a model named as its class); snake_case stays.
fn underscore(name: &str) -> String {
    miq_automate_core::args::underscore(&name.replace("::", "/"))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Object(_) => "an object",
        Value::Array(_) => "an array",
        Value::String(_) => "a string",
        Value::Number(_) => "a number",
        Value::Bool(_) => "a boolean",
        Value::Null => "null",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_become_model_names() {
        assert_eq!(underscore("MiqProvision"), "miq_provision");
        assert_eq!(underscore("VmOrTemplate"), "vm_or_template");
        assert_eq!(underscore("miq_provision"), "miq_provision");
    }

    #[test]
    fn errors_name_the_json_path() {
        let doc = json!({"root": {"miq_provision": {"$model": "miq_provision", "id": "x"}}});
        let e = convert(&doc, "m.json").err().unwrap().to_string();
        assert!(e.contains("m.json: $.root.miq_provision.id"), "{e}");
        let doc = json!({"root": {"t": {"$model": "miq_provision", "options": {}}}});
        let e = convert(&doc, "m.json").err().unwrap().to_string();
        assert!(
            e.contains("$.root.t: a miq_provision model needs an `id`"),
            "{e}"
        );
    }
}
