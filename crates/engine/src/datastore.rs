//! The datastore: domains exported as ManageIQ writes them (`__domain__.yaml`,
//! `__namespace__.yaml`, `<Class>.class/__class__.yaml`, instance YAML files,
//! `__methods__/<m>.yaml` + `<m>.rb`), loaded into memory with case-insensitive lookups.
//!
//! Loading reads and parses every file in parallel, then assembles the model in a fixed
//! order, so the result does not depend on thread timing. Every bad file is reported
//! (file + YAML path + what was expected), not just the first one.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_norway::Value as Yaml;

/// A bad file (or directory) found while loading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    /// The file or directory.
    pub file: PathBuf,
    /// Where in the YAML document (`object.schema[3].field.priority`); empty for the file.
    pub yaml_path: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.yaml_path.is_empty() {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}: {}: {}",
                self.file.display(),
                self.yaml_path,
                self.message
            )
        }
    }
}

/// Every problem found while loading, in file order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LoadErrors(pub Vec<LoadError>);

impl fmt::Display for LoadErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} bad file(s) in the datastore", self.0.len())?;
        for e in &self.0 {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

/// A domain (`__domain__.yaml`).
#[derive(Clone, Debug, PartialEq)]
pub struct Domain {
    /// `object.attributes.name`.
    pub name: String,
    /// Higher priority wins in the overlay.
    pub priority: i64,
    /// Disabled domains are skipped by domain-less lookups. A blank `enabled:` is disabled
    /// (as ManageIQ's importer creates it), unless the domain is a system one.
    pub enabled: bool,
    /// `system`, `user`, …
    pub source: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The directory it was loaded from.
    pub dir: PathBuf,
}

/// A namespace folder (`__namespace__.yaml`).
#[derive(Clone, Debug, PartialEq)]
pub struct Namespace {
    /// Index into [`Datastore::domains`].
    pub domain: usize,
    /// The path below the domain (`Infrastructure/VM`), as the folders are named.
    pub path: String,
    /// The description.
    pub description: Option<String>,
}

/// A class field or a method input (`{field: {...}}`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Field {
    /// Field name, case kept.
    pub name: String,
    /// `attribute`, `assertion`, `method`, `relationship`, `state` (nil: never processed).
    pub aetype: Option<String>,
    /// The datatype (`string` when blank in practice).
    pub datatype: Option<String>,
    /// Processing order.
    pub priority: i64,
    /// The class default.
    pub default_value: Option<String>,
    /// `${}` substitution applies (default true).
    pub substitute: bool,
    /// The messages it runs for (`create` when blank).
    pub message: Option<String>,
    /// The collect expression.
    pub collect: Option<String>,
    /// State hook.
    pub on_entry: Option<String>,
    /// State hook.
    pub on_exit: Option<String>,
    /// State hook.
    pub on_error: Option<String>,
    /// State retries.
    pub max_retries: Option<String>,
    /// State time limit.
    pub max_time: Option<String>,
    /// The description.
    pub description: Option<String>,
}

/// What an instance sets for one field (only non-blank keys are exported).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FieldValue {
    /// The value.
    pub value: Option<String>,
    /// Overrides the class collect.
    pub collect: Option<String>,
    /// Overrides the class hook.
    pub on_entry: Option<String>,
    /// Overrides the class hook.
    pub on_exit: Option<String>,
    /// Overrides the class hook.
    pub on_error: Option<String>,
    /// Overrides the class limit.
    pub max_retries: Option<String>,
    /// Overrides the class limit.
    pub max_time: Option<String>,
}

/// An instance (any YAML file of a class folder other than `__class__.yaml`).
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// `object.attributes.name` (`.missing` for `_missing.yaml`).
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The file.
    pub file: PathBuf,
    /// Field values by field name as written (matched to the schema case-insensitively).
    pub values: Vec<(String, FieldValue)>,
}

impl Instance {
    /// The values set for `field` (case-insensitive).
    pub fn value_of(&self, field: &str) -> Option<&FieldValue> {
        self.values
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(field))
            .map(|(_, v)| v)
    }
}

/// A method (`__methods__/<m>.yaml`, body in `<m>.rb` for inline ones).
#[derive(Clone, Debug, PartialEq)]
pub struct Method {
    /// `object.attributes.name`.
    pub name: String,
    /// `inline`, `builtin`, `expression`, `playbook`, `ansible_job_template`, … (lowercase).
    pub location: String,
    /// `ruby` for inline methods.
    pub language: Option<String>,
    /// `instance` or `class`.
    pub scope: Option<String>,
    /// The body: the `.rb` file for inline methods, else the `data` attribute.
    pub data: Option<String>,
    /// Declared inputs, by priority.
    pub inputs: Vec<Field>,
    /// Paths of methods whose bodies are loaded before this one.
    pub embedded_methods: Vec<String>,
    /// The YAML file.
    pub file: PathBuf,
}

/// A class (`<Name>.class/__class__.yaml`) with its schema, instances and methods.
#[derive(Clone, Debug, PartialEq)]
pub struct Class {
    /// Index into [`Datastore::domains`].
    pub domain: usize,
    /// The namespace below the domain (`Infrastructure/VM/Provisioning/StateMachines`).
    pub namespace: String,
    /// `object.attributes.name`.
    pub name: String,
    /// The description.
    pub description: Option<String>,
    /// The `__class__.yaml` file.
    pub file: PathBuf,
    /// The schema, in priority order (stable for equal priorities).
    pub fields: Vec<Field>,
    /// The instances.
    pub instances: Vec<Instance>,
    /// The methods.
    pub methods: Vec<Method>,
    instance_index: HashMap<String, usize>,
    method_index: HashMap<String, usize>,
}

impl Class {
    /// The instance named `name` (case-insensitive).
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        self.instance_index
            .get(&name.to_lowercase())
            .map(|i| &self.instances[*i])
    }

    /// The method named `name` (case-insensitive).
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.method_index
            .get(&name.to_lowercase())
            .map(|i| &self.methods[*i])
    }

    /// The schema field named `name` (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// `true` when any field is a state (a state machine).
    pub fn is_state_machine(&self) -> bool {
        self.fields
            .iter()
            .any(|f| f.aetype.as_deref() == Some("state"))
    }
}

/// Counts of what was loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Domains.
    pub domains: usize,
    /// Namespaces (folders with `__namespace__.yaml`).
    pub namespaces: usize,
    /// Classes.
    pub classes: usize,
    /// Instances (`.missing` included).
    pub instances: usize,
    /// Methods.
    pub methods: usize,
}

impl fmt::Display for Stats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} domain(s), {} namespaces, {} classes, {} instances, {} methods",
            self.domains, self.namespaces, self.classes, self.instances, self.methods
        )
    }
}

/// Identifies a class in a [`Datastore`].
pub type ClassId = usize;

/// The loaded domains.
#[derive(Clone, Debug, Default)]
pub struct Datastore {
    domains: Vec<Domain>,
    namespaces: Vec<Namespace>,
    classes: Vec<Class>,
    /// `dom/ns/class` (lowercase) → class.
    by_fqname: HashMap<String, ClassId>,
    /// `ns/class` (lowercase) → classes, highest domain priority first.
    by_relative: HashMap<String, Vec<ClassId>>,
}

impl Datastore {
    /// Loads domain directories (each with `__domain__.yaml`, or a directory holding several
    /// domains). All bad files are returned together.
    pub fn load<P: AsRef<Path>>(paths: &[P]) -> Result<Datastore, LoadErrors> {
        let (ds, errors) = Self::load_lenient(paths);
        if errors.is_empty() {
            Ok(ds)
        } else {
            Err(LoadErrors(errors))
        }
    }

    /// Loads what can be loaded and returns the problems beside it (for lint).
    pub fn load_lenient<P: AsRef<Path>>(paths: &[P]) -> (Datastore, Vec<LoadError>) {
        let mut errors = Vec::new();
        let mut domain_dirs = Vec::new();
        for p in paths {
            find_domain_dirs(p.as_ref(), &mut domain_dirs, &mut errors);
        }
        let mut tasks = Vec::new();
        for (d, dir) in domain_dirs.iter().enumerate() {
            tasks.push(Task {
                kind: TaskKind::Domain,
                file: dir.join("__domain__.yaml"),
                domain: d,
                namespace: String::new(),
            });
            walk_namespace(dir, d, "", &mut tasks, &mut errors);
        }
        let parsed = parse_all(&tasks);
        let mut ds = Datastore::default();
        ds.assemble(&domain_dirs, &tasks, parsed, &mut errors);
        (ds, errors)
    }

    /// The domains, in load order.
    pub fn domains(&self) -> &[Domain] {
        &self.domains
    }

    /// The namespaces.
    pub fn namespaces(&self) -> &[Namespace] {
        &self.namespaces
    }

    /// Every class.
    pub fn classes(&self) -> &[Class] {
        &self.classes
    }

    /// The class behind an id.
    pub fn class(&self, id: ClassId) -> &Class {
        &self.classes[id]
    }

    /// The domain named `name` (case-insensitive).
    pub fn domain(&self, name: &str) -> Option<(usize, &Domain)> {
        self.domains
            .iter()
            .enumerate()
            .find(|(_, d)| d.name.eq_ignore_ascii_case(name))
    }

    /// Counts of domains, namespaces, classes, instances and methods.
    pub fn stats(&self) -> Stats {
        Stats {
            domains: self.domains.len(),
            namespaces: self.namespaces.len(),
            classes: self.classes.len(),
            instances: self.classes.iter().map(|c| c.instances.len()).sum(),
            methods: self.classes.iter().map(|c| c.methods.len()).sum(),
        }
    }

    /// The class at `Dom/ns/Class` (namespace with its domain first; case-insensitive).
    pub fn class_by_fqname(&self, namespace: &str, class: &str) -> Option<ClassId> {
        let ns = namespace.trim_matches('/');
        self.by_fqname
            .get(&format!("{ns}/{class}").to_lowercase())
            .copied()
    }

    /// Classes at `ns/Class` (no domain) in every domain, highest priority first.
    pub fn classes_by_relative(&self, namespace: &str, class: &str) -> &[ClassId] {
        let ns = namespace.trim_matches('/');
        let key = if ns.is_empty() {
            class.to_lowercase()
        } else {
            format!("{ns}/{class}").to_lowercase()
        };
        self.by_relative.get(&key).map_or(&[], Vec::as_slice)
    }

    /// The namespace of a class with its domain first (`ManageIQ/System/Process`).
    pub fn class_namespace_fq(&self, id: ClassId) -> String {
        let c = &self.classes[id];
        let domain = &self.domains[c.domain].name;
        if c.namespace.is_empty() {
            domain.clone()
        } else {
            format!("{domain}/{}", c.namespace)
        }
    }

    /// Domain indexes by priority, highest first (ties keep load order).
    pub fn domains_by_priority(&self) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.domains.len()).collect();
        order.sort_by_key(|d| std::cmp::Reverse(self.domains[*d].priority));
        order
    }

    fn assemble(
        &mut self,
        domain_dirs: &[PathBuf],
        tasks: &[Task],
        parsed: Vec<TaskResult>,
        errors: &mut Vec<LoadError>,
    ) {
        // Domains first, so class ids can point at them: each directory's index in
        // `self.domains`, `None` when its __domain__.yaml did not load.
        let mut class_slots: HashMap<(usize, String), ClassId> = HashMap::new();
        let mut pending_children: Vec<(usize, Parsed)> = Vec::new();
        let mut domain_map: Vec<Option<usize>> = vec![None; domain_dirs.len()];
        for (task, result) in tasks.iter().zip(parsed) {
            match result {
                Err(mut e) => errors.append(&mut e),
                Ok(Parsed::Domain(mut d)) => {
                    d.dir = domain_dirs[task.domain].clone();
                    domain_map[task.domain] = Some(self.domains.len());
                    self.domains.push(d);
                }
                Ok(p) => pending_children.push((task.domain, p)),
            }
        }
        for (dom, p) in pending_children {
            let Some(domain) = domain_map[dom] else {
                continue; // its __domain__.yaml is already reported
            };
            match p {
                Parsed::Domain(_) => {}
                Parsed::Namespace(mut ns) => {
                    ns.domain = domain;
                    self.namespaces.push(ns);
                }
                Parsed::Class(mut c) => {
                    c.domain = domain;
                    let slot = (domain, c.file.parent().map(path_key).unwrap_or_default());
                    class_slots.insert(slot, self.classes.len());
                    self.classes.push(c);
                }
                Parsed::Instance(i) => {
                    let slot = (domain, i.file.parent().map(path_key).unwrap_or_default());
                    if let Some(c) = class_slots.get(&slot) {
                        self.classes[*c].instances.push(i);
                    }
                }
                Parsed::Method(m) => {
                    let slot = (
                        domain,
                        m.file
                            .parent()
                            .and_then(Path::parent)
                            .map(path_key)
                            .unwrap_or_default(),
                    );
                    if let Some(c) = class_slots.get(&slot) {
                        self.classes[*c].methods.push(m);
                    }
                }
            }
        }
        for (id, c) in self.classes.iter_mut().enumerate() {
            c.fields.sort_by_key(|f| f.priority);
            for (i, inst) in c.instances.iter().enumerate() {
                c.instance_index
                    .entry(inst.name.to_lowercase())
                    .or_insert(i);
            }
            for (i, m) in c.methods.iter().enumerate() {
                c.method_index.entry(m.name.to_lowercase()).or_insert(i);
            }
            let domain = &self.domains[c.domain].name;
            let relative = if c.namespace.is_empty() {
                c.name.to_lowercase()
            } else {
                format!("{}/{}", c.namespace, c.name).to_lowercase()
            };
            self.by_fqname
                .insert(format!("{}/{relative}", domain.to_lowercase()), id);
            self.by_relative.entry(relative).or_default().push(id);
        }
        let priorities: Vec<i64> = self.domains.iter().map(|d| d.priority).collect();
        for ids in self.by_relative.values_mut() {
            let classes = &self.classes;
            ids.sort_by_key(|id| std::cmp::Reverse(priorities[classes[*id].domain]));
        }
    }
}

fn path_key(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn find_domain_dirs(path: &Path, out: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>) {
    if path.join("__domain__.yaml").is_file() {
        out.push(path.to_path_buf());
        return;
    }
    let unreadable = errors.len();
    let found: Vec<PathBuf> = sorted_entries(path, errors)
        .into_iter()
        .filter(|p| p.join("__domain__.yaml").is_file())
        .collect();
    // An unreadable directory is reported once, by sorted_entries.
    if found.is_empty() && errors.len() == unreadable {
        errors.push(LoadError {
            file: path.to_path_buf(),
            yaml_path: String::new(),
            message: "no __domain__.yaml here or in any sub-folder: not a domain export".into(),
        });
    }
    out.extend(found);
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TaskKind {
    Domain,
    Namespace,
    Class,
    Instance,
    Method,
}

#[derive(Debug)]
struct Task {
    kind: TaskKind,
    file: PathBuf,
    domain: usize,
    namespace: String,
}

enum Parsed {
    Domain(Domain),
    Namespace(Namespace),
    Class(Class),
    Instance(Instance),
    Method(Method),
}

fn sorted_entries(dir: &Path, errors: &mut Vec<LoadError>) -> Vec<PathBuf> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            let mut v: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
            v.sort();
            v
        }
        Err(e) => {
            errors.push(LoadError {
                file: dir.to_path_buf(),
                yaml_path: String::new(),
                message: format!("cannot read the directory: {e}"),
            });
            Vec::new()
        }
    }
}

/// Collects the files of a domain or namespace folder: sub-namespaces (folders with
/// `__namespace__.yaml`, recursed into) and classes (folders with `__class__.yaml`).
fn walk_namespace(
    dir: &Path,
    domain: usize,
    ns: &str,
    tasks: &mut Vec<Task>,
    errors: &mut Vec<LoadError>,
) {
    for entry in sorted_entries(dir, errors) {
        if !entry.is_dir() {
            continue;
        }
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if entry.join("__class__.yaml").is_file() {
            walk_class(&entry, domain, ns, tasks, errors);
        } else if entry.join("__namespace__.yaml").is_file() {
            let child = if ns.is_empty() {
                name
            } else {
                format!("{ns}/{name}")
            };
            tasks.push(Task {
                kind: TaskKind::Namespace,
                file: entry.join("__namespace__.yaml"),
                domain,
                namespace: child.clone(),
            });
            walk_namespace(&entry, domain, &child, tasks, errors);
        }
    }
}

fn walk_class(
    dir: &Path,
    domain: usize,
    ns: &str,
    tasks: &mut Vec<Task>,
    errors: &mut Vec<LoadError>,
) {
    let task = |kind, file| Task {
        kind,
        file,
        domain,
        namespace: ns.to_string(),
    };
    tasks.push(task(TaskKind::Class, dir.join("__class__.yaml")));
    for entry in sorted_entries(dir, errors) {
        let is_yaml = entry.extension().is_some_and(|e| e == "yaml");
        let file_name = entry.file_name().unwrap_or_default();
        if entry.is_file() && is_yaml && file_name != "__class__.yaml" {
            tasks.push(task(TaskKind::Instance, entry));
        } else if entry.is_dir() && file_name == "__methods__" {
            for m in sorted_entries(&entry, errors) {
                if m.is_file() && m.extension().is_some_and(|e| e == "yaml") {
                    tasks.push(task(TaskKind::Method, m));
                }
            }
        }
    }
}

/// Reads and parses every task, on all cores; results come back in task order.
type TaskResult = Result<Parsed, Vec<LoadError>>;

fn parse_all(tasks: &[Task]) -> Vec<TaskResult> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(tasks.len().max(1));
    if workers <= 1 {
        return tasks.iter().map(parse_task).collect();
    }
    let next = AtomicUsize::new(0);
    let mut results: Vec<Option<TaskResult>> = (0..tasks.len()).map(|_| None).collect();
    let chunks: Vec<Vec<(usize, TaskResult)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut out = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= tasks.len() {
                            break;
                        }
                        out.push((i, parse_task(&tasks[i])));
                    }
                    out
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a parser thread panicked"))
            .collect()
    });
    for chunk in chunks {
        for (i, r) in chunk {
            results[i] = Some(r);
        }
    }
    results
        .into_iter()
        .map(|r| r.expect("every task parsed"))
        .collect()
}

fn parse_task(task: &Task) -> Result<Parsed, Vec<LoadError>> {
    let text = fs::read_to_string(&task.file).map_err(|e| {
        vec![LoadError {
            file: task.file.clone(),
            yaml_path: String::new(),
            message: format!("cannot read: {e}"),
        }]
    })?;
    let doc: Yaml = serde_norway::from_str(&text).map_err(|e| {
        vec![LoadError {
            file: task.file.clone(),
            yaml_path: String::new(),
            message: format!("not valid YAML: {e}"),
        }]
    })?;
    let doc = untag_non_specific(doc);
    let mut r = Reader {
        file: &task.file,
        errors: Vec::new(),
    };
    let parsed = match task.kind {
        TaskKind::Domain => r.domain(&doc).map(Parsed::Domain),
        TaskKind::Namespace => Some(Parsed::Namespace(Namespace {
            domain: task.domain,
            path: task.namespace.clone(),
            description: r
                .attributes(&doc)
                .and_then(|a| r.opt_string(a, "description", "object.attributes")),
        })),
        TaskKind::Class => r.class(&doc, task).map(Parsed::Class),
        TaskKind::Instance => r.instance(&doc, task).map(Parsed::Instance),
        TaskKind::Method => r.method(&doc, task).map(Parsed::Method),
    };
    match parsed {
        Some(p) if r.errors.is_empty() => Ok(p),
        _ if !r.errors.is_empty() => Err(r.errors),
        _ => Err(vec![LoadError {
            file: task.file.clone(),
            yaml_path: String::new(),
            message: "unreadable export".into(),
        }]),
    }
}

/// Older exports write scalars under YAML's non-specific tag (`description: ! 'Event '`,
/// `value: ! "..."`); Psych reads them as the plain scalar, and so do we. Any other tag
/// (or `!` on a list or mapping) stays, and is refused with its YAML path where the value
/// is read.
fn untag_non_specific(v: Yaml) -> Yaml {
    match v {
        Yaml::Tagged(t) if t.tag == "!" && is_scalar(&t.value) => t.value,
        Yaml::Tagged(mut t) => {
            t.value = untag_non_specific(t.value);
            Yaml::Tagged(t)
        }
        Yaml::Sequence(items) => {
            Yaml::Sequence(items.into_iter().map(untag_non_specific).collect())
        }
        Yaml::Mapping(m) => Yaml::Mapping(
            m.into_iter()
                .map(|(k, v)| (untag_non_specific(k), untag_non_specific(v)))
                .collect(),
        ),
        scalar => scalar,
    }
}

fn is_scalar(v: &Yaml) -> bool {
    matches!(
        v,
        Yaml::Null | Yaml::Bool(_) | Yaml::Number(_) | Yaml::String(_)
    )
}

/// Reads export documents, recording each problem with its YAML path.
struct Reader<'a> {
    file: &'a Path,
    errors: Vec<LoadError>,
}

fn kind_of(v: &Yaml) -> Cow<'static, str> {
    match v {
        Yaml::Null => "nothing".into(),
        Yaml::Bool(_) => "a boolean".into(),
        Yaml::Number(_) => "a number".into(),
        Yaml::String(_) => "a string".into(),
        Yaml::Sequence(_) => "a list".into(),
        Yaml::Mapping(_) => "a mapping".into(),
        // Tag's Display doubles the bang of the non-specific tag (`!!`).
        Yaml::Tagged(t) if t.tag == "!" => "a value tagged !".into(),
        Yaml::Tagged(t) => format!("a value tagged {}", t.tag).into(),
    }
}

impl<'a> Reader<'a> {
    fn error(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.errors.push(LoadError {
            file: self.file.to_path_buf(),
            yaml_path: path.into(),
            message: message.into(),
        });
    }

    fn mapping<'v>(&mut self, v: &'v Yaml, path: &str) -> Option<&'v serde_norway::Mapping> {
        match v {
            Yaml::Mapping(m) => Some(m),
            other => {
                self.error(
                    path,
                    format!("expected a mapping, found {}", kind_of(other)),
                );
                None
            }
        }
    }

    fn attributes<'v>(&mut self, doc: &'v Yaml) -> Option<&'v serde_norway::Mapping> {
        let root = self.mapping(doc, "")?;
        let object = root.get("object").unwrap_or(&Yaml::Null);
        let object = self.mapping(object, "object")?;
        let attrs = object.get("attributes").unwrap_or(&Yaml::Null);
        self.mapping(attrs, "object.attributes")
    }

    /// A scalar as the database keeps it (a string); lists and mappings are errors.
    fn opt_string(&mut self, m: &serde_norway::Mapping, key: &str, at: &str) -> Option<String> {
        match m.get(key) {
            None | Some(Yaml::Null) => None,
            Some(Yaml::String(s)) => Some(s.clone()),
            Some(Yaml::Number(n)) => Some(n.to_string()),
            Some(Yaml::Bool(b)) => Some(b.to_string()),
            Some(other) => {
                self.error(
                    format!("{at}.{key}"),
                    format!("expected a string, found {}", kind_of(other)),
                );
                None
            }
        }
    }

    fn required_name(&mut self, m: &serde_norway::Mapping, at: &str) -> Option<String> {
        match self.opt_string(m, "name", at) {
            Some(n) if !n.trim().is_empty() => Some(n),
            _ => {
                if !self
                    .errors
                    .iter()
                    .any(|e| e.yaml_path == format!("{at}.name"))
                {
                    self.error(
                        format!("{at}.name"),
                        "missing: every export names its object",
                    );
                }
                None
            }
        }
    }

    fn integer(&mut self, m: &serde_norway::Mapping, key: &str, at: &str) -> Option<i64> {
        match m.get(key) {
            None | Some(Yaml::Null) => None,
            Some(Yaml::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(Yaml::String(s)) if s.trim().parse::<i64>().is_ok() => s.trim().parse().ok(),
            Some(Yaml::String(s)) if s.trim().is_empty() => None,
            Some(other) => {
                self.error(
                    format!("{at}.{key}"),
                    format!("expected integer, found {}", kind_of(other)),
                );
                None
            }
        }
    }

    fn boolean(&mut self, m: &serde_norway::Mapping, key: &str, at: &str) -> Option<bool> {
        match m.get(key) {
            None | Some(Yaml::Null) => None,
            Some(Yaml::Bool(b)) => Some(*b),
            Some(Yaml::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
            Some(Yaml::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
            Some(Yaml::String(s)) if s.trim().is_empty() => None,
            Some(other) => {
                self.error(
                    format!("{at}.{key}"),
                    format!("expected boolean, found {}", kind_of(other)),
                );
                None
            }
        }
    }

    fn domain(&mut self, doc: &Yaml) -> Option<Domain> {
        let a = self.attributes(doc)?;
        let at = "object.attributes";
        let name = self.required_name(a, at);
        let priority = self.integer(a, "priority", at).unwrap_or(0);
        let source = self.opt_string(a, "source", at);
        // A blank `enabled` is what ManageIQ's importer leaves unset: the domain is created
        // disabled (MiqAeDomain's default), except the system domains the importer always
        // enables (ManageIQ's own, and any whose source is `system`).
        let enabled = self.boolean(a, "enabled", at).unwrap_or_else(|| {
            source.as_deref() == Some("system")
                || name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case("ManageIQ"))
        });
        let description = self.opt_string(a, "description", at);
        Some(Domain {
            name: name?,
            priority,
            enabled,
            source,
            description,
            dir: PathBuf::new(),
        })
    }

    fn field(&mut self, v: &Yaml, at: &str) -> Option<Field> {
        let wrapper = self.mapping(v, at)?;
        let at = format!("{at}.field");
        let f = self.mapping(wrapper.get("field").unwrap_or(&Yaml::Null), &at)?;
        let name = self.required_name(f, &at);
        let field = Field {
            name: String::new(),
            aetype: self
                .opt_string(f, "aetype", &at)
                .filter(|s| !s.trim().is_empty()),
            datatype: self
                .opt_string(f, "datatype", &at)
                .filter(|s| !s.trim().is_empty()),
            priority: self.integer(f, "priority", &at).unwrap_or(0),
            default_value: self.opt_string(f, "default_value", &at),
            substitute: self.boolean(f, "substitute", &at).unwrap_or(true),
            message: self.opt_string(f, "message", &at),
            collect: self.opt_string(f, "collect", &at),
            on_entry: self.opt_string(f, "on_entry", &at),
            on_exit: self.opt_string(f, "on_exit", &at),
            on_error: self.opt_string(f, "on_error", &at),
            max_retries: self.opt_string(f, "max_retries", &at),
            max_time: self.opt_string(f, "max_time", &at),
            description: self.opt_string(f, "description", &at),
        };
        Some(Field {
            name: name?,
            ..field
        })
    }

    fn fields(&mut self, m: &serde_norway::Mapping, key: &str, at: &str) -> Vec<Field> {
        match m.get(key) {
            None | Some(Yaml::Null) => Vec::new(),
            Some(Yaml::Sequence(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| self.field(v, &format!("{at}.{key}[{i}]")))
                .collect(),
            Some(other) => {
                self.error(
                    format!("{at}.{key}"),
                    format!("expected a list, found {}", kind_of(other)),
                );
                Vec::new()
            }
        }
    }

    fn class(&mut self, doc: &Yaml, task: &Task) -> Option<Class> {
        let a = self.attributes(doc)?;
        let name = self.required_name(a, "object.attributes");
        let description = self.opt_string(a, "description", "object.attributes");
        let object = doc.get("object").and_then(Yaml::as_mapping)?;
        let fields = self.fields(object, "schema", "object");
        Some(Class {
            domain: task.domain,
            namespace: task.namespace.clone(),
            name: name?,
            description,
            file: task.file.clone(),
            fields,
            instances: Vec::new(),
            methods: Vec::new(),
            instance_index: HashMap::new(),
            method_index: HashMap::new(),
        })
    }

    fn instance(&mut self, doc: &Yaml, task: &Task) -> Option<Instance> {
        // object_type is not checked, as the engine's importer does not check it.
        let a = self.attributes(doc)?;
        let name = self.required_name(a, "object.attributes");
        let description = self.opt_string(a, "description", "object.attributes");
        let object = doc.get("object").and_then(Yaml::as_mapping)?;
        let mut values = Vec::new();
        match object.get("fields") {
            None | Some(Yaml::Null) => {}
            Some(Yaml::Sequence(items)) => {
                for (i, item) in items.iter().enumerate() {
                    let at = format!("object.fields[{i}]");
                    let Some(m) = self.mapping(item, &at) else {
                        continue;
                    };
                    for (k, v) in m {
                        let Some(fname) = k.as_str() else {
                            self.error(&at, "expected field names as keys");
                            continue;
                        };
                        let at = format!("{at}.{fname}");
                        let fv = match v {
                            Yaml::Null => FieldValue::default(),
                            other => {
                                let Some(vm) = self.mapping(other, &at) else {
                                    continue;
                                };
                                FieldValue {
                                    value: self.opt_string(vm, "value", &at),
                                    collect: self.opt_string(vm, "collect", &at),
                                    on_entry: self.opt_string(vm, "on_entry", &at),
                                    on_exit: self.opt_string(vm, "on_exit", &at),
                                    on_error: self.opt_string(vm, "on_error", &at),
                                    max_retries: self.opt_string(vm, "max_retries", &at),
                                    max_time: self.opt_string(vm, "max_time", &at),
                                }
                            }
                        };
                        values.push((fname.to_string(), fv));
                    }
                }
            }
            Some(other) => self.error(
                "object.fields",
                format!("expected a list, found {}", kind_of(other)),
            ),
        }
        Some(Instance {
            name: name?,
            description,
            file: task.file.clone(),
            values,
        })
    }

    fn method(&mut self, doc: &Yaml, task: &Task) -> Option<Method> {
        let a = self.attributes(doc)?;
        let at = "object.attributes";
        let name = self.required_name(a, at);
        let location = self
            .opt_string(a, "location", at)
            .unwrap_or_else(|| "inline".into())
            .trim()
            .to_lowercase();
        let language = self.opt_string(a, "language", at);
        let scope = self.opt_string(a, "scope", at);
        let mut data = self.opt_string(a, "data", at);
        let embedded_methods = match a.get("embedded_methods") {
            None | Some(Yaml::Null) => Vec::new(),
            Some(Yaml::Sequence(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(i, v)| match v.as_str() {
                    Some(s) => Some(s.to_string()),
                    None => {
                        self.error(
                            format!("{at}.embedded_methods[{i}]"),
                            format!("expected a string, found {}", kind_of(v)),
                        );
                        None
                    }
                })
                .collect(),
            Some(other) => {
                self.error(
                    format!("{at}.embedded_methods"),
                    format!("expected a list, found {}", kind_of(other)),
                );
                Vec::new()
            }
        };
        let object = doc.get("object").and_then(Yaml::as_mapping)?;
        let mut inputs = self.fields(object, "inputs", "object");
        inputs.sort_by_key(|f| f.priority);
        if location == "inline" {
            let rb = task.file.with_extension("rb");
            if let Ok(body) = fs::read_to_string(&rb) {
                data = Some(body);
            }
        }
        Some(Method {
            name: name?,
            location,
            language,
            scope,
            data,
            inputs,
            embedded_methods,
            file: task.file.clone(),
        })
    }
}
