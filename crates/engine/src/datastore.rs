//! The datastore: domains exported as ManageIQ writes them (`__domain__.yaml`,
//! `__namespace__.yaml`, `<Class>.class/__class__.yaml`, instance YAML files,
//! `__methods__/<m>.yaml` + `<m>.rb`), loaded into memory with case-insensitive lookups.
//!
//! Loading reads and parses every file in parallel, then assembles the model in a fixed
//! order, so the result does not depend on thread timing. Every bad file is reported
//! (file + YAML path + what was expected), not just the first one.
//!
//! An export is input we do not trust, so loading always ends and reads only the export:
//! - a symbolic link is followed only when it resolves inside the domain directory (inside
//!   the directory given, for a directory of domains) and, for a folder, when that folder
//!   was not walked already (a cycle, or a second copy); every other link is skipped with a
//!   [`LoadWarning`] naming it. A file the loader reads by name (`__domain__.yaml`,
//!   `__namespace__.yaml`, `__class__.yaml`, a method's `.rb`) that resolves outside the
//!   domain is a load error, and its content is never read;
//! - only regular files are read: a FIFO, socket or device is a load error naming it (it
//!   would block, or never end);
//! - a method file is at most [`MAX_METHOD_FILE_BYTES`], a YAML file at most
//!   [`MAX_YAML_FILE_BYTES`], read through a bounded reader;
//! - files must be UTF-8 (a bad byte is an error with its offset), and an inline method
//!   must have its `.rb`: a method never silently loads without its body;
//! - names that differ only in case (classes of a namespace, instances or methods of a
//!   class, domains) are reported as warnings: only the first is reachable.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// The largest method body (`<m>.rb`) the loader reads: 4 MiB (ManageIQ's largest is
/// under 100 KiB).
pub const MAX_METHOD_FILE_BYTES: u64 = 4 << 20;
/// The largest YAML file the loader reads: 16 MiB.
pub const MAX_YAML_FILE_BYTES: u64 = 16 << 20;

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

/// Something the loader skipped or could not make reachable, without failing the load: a
/// symbolic link it did not follow, a name that collides with another ignoring case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadWarning {
    /// The link, or the file whose name collides.
    pub path: PathBuf,
    /// What was skipped and why.
    pub message: String,
}

impl fmt::Display for LoadWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
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
    /// Links skipped and names colliding.
    warnings: Vec<LoadWarning>,
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
        Self::load_lenient_interruptible(paths, &AtomicBool::new(false))
    }

    /// [`Datastore::load`] that stops soon after `cancel` is set (checked between files):
    /// then the error says the load was interrupted. For embedders that must interrupt a
    /// load of a huge tree (Ruby's `Timeout`, Ctrl-C).
    pub fn load_interruptible<P: AsRef<Path>>(
        paths: &[P],
        cancel: &AtomicBool,
    ) -> Result<Datastore, LoadErrors> {
        let (ds, errors) = Self::load_lenient_interruptible(paths, cancel);
        if errors.is_empty() {
            Ok(ds)
        } else {
            Err(LoadErrors(errors))
        }
    }

    /// [`Datastore::load_lenient`] that stops soon after `cancel` is set.
    pub fn load_lenient_interruptible<P: AsRef<Path>>(
        paths: &[P],
        cancel: &AtomicBool,
    ) -> (Datastore, Vec<LoadError>) {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut domain_dirs = Vec::new();
        for p in paths {
            find_domain_dirs(p.as_ref(), &mut domain_dirs, &mut errors, &mut warnings);
        }
        let mut tasks = Vec::new();
        let mut roots = Vec::new();
        for (d, dir) in domain_dirs.iter().enumerate() {
            // The domain's real path bounds every file of it (see the module doc).
            let root = fs::canonicalize(dir).unwrap_or_else(|_| dir.clone());
            let mut walker = Walker {
                domain: d,
                root: &root,
                visited: HashMap::new(),
                links: Vec::new(),
                tasks: &mut tasks,
                errors: &mut errors,
                warnings: &mut warnings,
                cancel,
            };
            walker.walk_domain(dir);
            roots.push(root);
        }
        let parsed = if cancel.load(Ordering::Relaxed) {
            None
        } else {
            parse_all(&tasks, &roots, cancel)
        };
        let Some(parsed) = parsed else {
            let file = paths
                .first()
                .map(|p| p.as_ref().to_path_buf())
                .unwrap_or_default();
            let interrupted = LoadError {
                file,
                yaml_path: String::new(),
                message: "loading was interrupted".into(),
            };
            return (Datastore::default(), vec![interrupted]);
        };
        let mut ds = Datastore {
            warnings,
            ..Datastore::default()
        };
        ds.assemble(&domain_dirs, &tasks, parsed, &mut errors);
        (ds, errors)
    }

    /// What the loader skipped (symbolic links it did not follow) or could not make
    /// reachable (names colliding ignoring case), in load order.
    pub fn warnings(&self) -> &[LoadWarning] {
        &self.warnings
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
        // Names are looked up ignoring case, so two that differ only in case cannot both be
        // reached: the first (in load order) is, and the others are reported.
        for (i, d) in self.domains.iter().enumerate() {
            if let Some(first) = self.domains[..i]
                .iter()
                .find(|f| f.name.eq_ignore_ascii_case(&d.name))
            {
                self.warnings.push(LoadWarning {
                    path: d.dir.clone(),
                    message: format!(
                        "domain [{}] has the name of domain [{}] at {}: /{}/... paths reach only that one",
                        d.name,
                        first.name,
                        first.dir.display(),
                        first.name
                    ),
                });
            }
        }
        let class_domain: Vec<usize> = self.classes.iter().map(|c| c.domain).collect();
        let class_names: Vec<(String, PathBuf)> = self
            .classes
            .iter()
            .map(|c| (c.name.clone(), c.file.clone()))
            .collect();
        for (id, c) in self.classes.iter_mut().enumerate() {
            c.fields.sort_by_key(|f| f.priority);
            for (i, inst) in c.instances.iter().enumerate() {
                let first = *c
                    .instance_index
                    .entry(inst.name.to_lowercase())
                    .or_insert(i);
                if first != i {
                    self.warnings.push(collision(
                        "instance",
                        &inst.name,
                        &inst.file,
                        &c.instances[first].name,
                        &c.instances[first].file,
                    ));
                }
            }
            for (i, m) in c.methods.iter().enumerate() {
                if m.location == "inline" && m.data.is_none() {
                    self.warnings.push(LoadWarning {
                        path: m.file.clone(),
                        message: format!(
                            "inline method [{}] without its body: {} is missing (ManageIQ's importer loads it empty, and running it does nothing)",
                            m.name,
                            m.file.with_extension("rb").display()
                        ),
                    });
                }
                let first = *c.method_index.entry(m.name.to_lowercase()).or_insert(i);
                if first != i {
                    self.warnings.push(collision(
                        "method",
                        &m.name,
                        &m.file,
                        &c.methods[first].name,
                        &c.methods[first].file,
                    ));
                }
            }
            let domain = &self.domains[c.domain].name;
            let relative = if c.namespace.is_empty() {
                c.name.to_lowercase()
            } else {
                format!("{}/{}", c.namespace, c.name).to_lowercase()
            };
            let fq = format!("{}/{relative}", domain.to_lowercase());
            let same_domain = self.by_relative.get(&relative).and_then(|ids| {
                ids.iter()
                    .find(|other| class_domain[**other] == c.domain)
                    .copied()
            });
            if let Some(first) = same_domain {
                let (name, file) = &class_names[first];
                self.warnings
                    .push(collision("class", &c.name, &c.file, name, file));
                continue;
            }
            self.by_fqname.entry(fq).or_insert(id);
            self.by_relative.entry(relative).or_default().push(id);
        }
        let priorities: Vec<i64> = self.domains.iter().map(|d| d.priority).collect();
        for ids in self.by_relative.values_mut() {
            let classes = &self.classes;
            ids.sort_by_key(|id| std::cmp::Reverse(priorities[classes[*id].domain]));
        }
    }
}

fn collision(kind: &str, name: &str, file: &Path, first: &str, first_file: &Path) -> LoadWarning {
    LoadWarning {
        path: file.to_path_buf(),
        message: format!(
            "{kind} [{name}] has the name of {kind} [{first}] at {} ignoring case: only that one is reachable",
            first_file.display()
        ),
    }
}

fn path_key(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

fn find_domain_dirs(
    path: &Path,
    out: &mut Vec<PathBuf>,
    errors: &mut Vec<LoadError>,
    warnings: &mut Vec<LoadWarning>,
) {
    if exists(&path.join("__domain__.yaml")) {
        out.push(path.to_path_buf());
        return;
    }
    let unreadable = errors.len();
    let container = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut found = Vec::new();
    for entry in sorted_entries(path, errors) {
        if !exists(&entry.join("__domain__.yaml")) {
            continue;
        }
        // A linked domain is loaded only from inside the directory given.
        if is_symlink(&entry) && !resolves_inside(&entry, &container) {
            warnings.push(LoadWarning {
                path: entry,
                message: "a symbolic link leaving the directory given: not followed".into(),
            });
            continue;
        }
        found.push(entry);
    }
    // An unreadable directory is reported once, by sorted_entries.
    if found.is_empty() && errors.len() == unreadable {
        errors.push(LoadError {
            file: path.to_path_buf(),
            yaml_path: String::new(),
            message: match domain_above(path) {
                Some(domain) => format!(
                    "no __domain__.yaml here or in any sub-folder: this folder is inside the domain {}; give that folder instead",
                    domain.display()
                ),
                None => "no __domain__.yaml here or in any sub-folder: not a domain export".into(),
            },
        });
    }
    out.extend(found);
}

/// `true` when `dir` holds a class folder (`<Class>.class`), as only a namespace does. (A
/// folder holding namespaces only may be a library reached by links: no warning.)
fn holds_automate(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let path = e.path();
        path.is_dir() && path.extension().is_some_and(|x| x == "class")
    })
}

/// The nearest folder above `path` that is a domain (has `__domain__.yaml`), if any.
fn domain_above(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    absolute
        .ancestors()
        .skip(1)
        .find(|a| a.join("__domain__.yaml").is_file())
        .map(Path::to_path_buf)
}

/// `true` when something (a file, a folder, a link, a FIFO…) is at `path`.
fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

fn is_symlink(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn resolves_inside(path: &Path, root: &Path) -> bool {
    fs::canonicalize(path).is_ok_and(|real| real.starts_with(root))
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

/// Collects the files of one domain: sub-namespaces (folders with `__namespace__.yaml`)
/// and classes (folders with `__class__.yaml`), under the symlink policy (module doc).
struct Walker<'a> {
    domain: usize,
    /// The domain's real path: nothing outside it is read.
    root: &'a Path,
    /// Real folders walked → the path they were walked as: each is walked once, so links
    /// can neither loop nor multiply the tree.
    visited: HashMap<PathBuf, PathBuf>,
    /// Links to folders (with the namespace holding them), followed after the real
    /// folders, so a real folder always loads under its own name.
    links: Vec<(PathBuf, String)>,
    tasks: &'a mut Vec<Task>,
    errors: &'a mut Vec<LoadError>,
    warnings: &'a mut Vec<LoadWarning>,
    cancel: &'a AtomicBool,
}

impl Walker<'_> {
    fn walk_domain(&mut self, dir: &Path) {
        self.tasks
            .push(self.task(TaskKind::Domain, dir.join("__domain__.yaml"), ""));
        self.visited
            .insert(self.root.to_path_buf(), dir.to_path_buf());
        self.walk_namespace(dir, "");
        // Links found while following links join the queue; each folder is walked once,
        // so this ends.
        let mut next = 0;
        while next < self.links.len() && !self.cancelled() {
            let (link, ns) = self.links[next].clone();
            next += 1;
            if let Some(real) = self.follow_folder_link(&link) {
                self.walk_folder(&link, real, &ns);
            }
        }
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    fn task(&self, kind: TaskKind, file: PathBuf, ns: &str) -> Task {
        Task {
            kind,
            file,
            domain: self.domain,
            namespace: ns.to_string(),
        }
    }

    fn skip(&mut self, path: &Path, message: impl Into<String>) {
        self.warnings.push(LoadWarning {
            path: path.to_path_buf(),
            message: message.into(),
        });
    }

    /// The real folder behind a link, when the policy follows it; else a warning.
    fn follow_folder_link(&mut self, link: &Path) -> Option<PathBuf> {
        let real = match fs::canonicalize(link) {
            Ok(real) => real,
            Err(e) => {
                self.skip(
                    link,
                    format!("a symbolic link that does not resolve ({e}): skipped"),
                );
                return None;
            }
        };
        if !real.starts_with(self.root) {
            self.skip(
                link,
                "a symbolic link leaving the domain directory: not followed",
            );
            return None;
        }
        if let Some(first) = self.visited.get(&real) {
            let message = format!(
                "a symbolic link to a folder already loaded as {}: not followed (a cycle, or a second copy)",
                first.display()
            );
            self.skip(link, message);
            return None;
        }
        Some(real)
    }

    /// A folder of a namespace: a class, a sub-namespace, or nothing the loader reads.
    fn walk_folder(&mut self, dir: &Path, real: PathBuf, ns: &str) {
        self.visited.insert(real, dir.to_path_buf());
        if exists(&dir.join("__class__.yaml")) {
            self.walk_class(dir, ns);
        } else if exists(&dir.join("__namespace__.yaml")) {
            let name = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let child = if ns.is_empty() {
                name
            } else {
                format!("{ns}/{name}")
            };
            let file = dir.join("__namespace__.yaml");
            self.tasks
                .push(self.task(TaskKind::Namespace, file, &child));
            self.walk_namespace(dir, &child);
        } else if holds_automate(dir) {
            // ManageIQ's importer skips such a folder too; a user who forgot the file
            // would otherwise see its classes vanish without a word.
            self.skip(
                dir,
                "a folder with classes but no __namespace__.yaml: not loaded (add a __namespace__.yaml naming it)",
            );
        }
    }

    fn walk_namespace(&mut self, dir: &Path, ns: &str) {
        if self.cancelled() {
            return;
        }
        for entry in sorted_entries(dir, self.errors) {
            let Ok(meta) = fs::symlink_metadata(&entry) else {
                continue;
            };
            if meta.file_type().is_symlink() {
                // Links to files are nothing to a namespace folder; links to folders wait
                // until the real folders are walked.
                if entry.is_dir() || fs::metadata(&entry).is_err() {
                    self.links.push((entry, ns.to_string()));
                }
            } else if meta.is_dir() {
                let real = fs::canonicalize(&entry).unwrap_or_else(|_| entry.clone());
                // Inside a folder reached through a link, a real folder may have been
                // walked already, through another link.
                if let Some(first) = self.visited.get(&real) {
                    let message = format!(
                        "a folder already loaded as {} (through a symbolic link): not loaded again",
                        first.display()
                    );
                    self.skip(&entry, message);
                    continue;
                }
                self.walk_folder(&entry, real, ns);
            }
        }
    }

    fn walk_class(&mut self, dir: &Path, ns: &str) {
        self.tasks
            .push(self.task(TaskKind::Class, dir.join("__class__.yaml"), ns));
        for entry in sorted_entries(dir, self.errors) {
            let file_name = entry.file_name().unwrap_or_default();
            if file_name == "__class__.yaml" {
                continue;
            }
            if file_name == "__methods__" {
                let methods = if is_symlink(&entry) {
                    self.follow_folder_link(&entry)
                } else {
                    Some(entry.clone())
                };
                if !methods.is_some_and(|m| m.is_dir()) {
                    continue;
                }
                for m in sorted_entries(&entry, self.errors) {
                    if is_yaml(&m) && self.loadable_file(&m) {
                        self.tasks.push(self.task(TaskKind::Method, m, ns));
                    }
                }
            } else if is_yaml(&entry) && self.loadable_file(&entry) {
                self.tasks.push(self.task(TaskKind::Instance, entry, ns));
            }
        }
    }

    /// `true` for a file of a class folder to read: anything but a folder (a FIFO or a
    /// device is refused when read, naming it), and a link only into the domain.
    fn loadable_file(&mut self, path: &Path) -> bool {
        let Ok(meta) = fs::symlink_metadata(path) else {
            return false;
        };
        if !meta.file_type().is_symlink() {
            return !meta.is_dir();
        }
        match fs::canonicalize(path) {
            Err(e) => {
                self.skip(
                    path,
                    format!("a symbolic link that does not resolve ({e}): skipped"),
                );
                false
            }
            Ok(real) if !real.starts_with(self.root) => {
                self.skip(
                    path,
                    "a symbolic link leaving the domain directory: not followed",
                );
                false
            }
            Ok(real) => !real.is_dir(),
        }
    }
}

fn is_yaml(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "yaml")
}

/// Reads and parses every task, on all cores; results come back in task order. `None`
/// when `cancel` was set before every task was read.
type TaskResult = Result<Parsed, Vec<LoadError>>;

fn parse_all(tasks: &[Task], roots: &[PathBuf], cancel: &AtomicBool) -> Option<Vec<TaskResult>> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(tasks.len().max(1));
    let next = AtomicUsize::new(0);
    // Each worker takes the next task until none is left or the load is cancelled.
    let work = || {
        let mut out = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            if i >= tasks.len() || cancel.load(Ordering::Relaxed) {
                break;
            }
            out.push((i, parse_task(&tasks[i], &roots[tasks[i].domain])));
        }
        out
    };
    let chunks: Vec<Vec<(usize, TaskResult)>> = if workers <= 1 {
        vec![work()]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers).map(|_| s.spawn(work)).collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a parser thread panicked"))
                .collect()
        })
    };
    let mut results: Vec<Option<TaskResult>> = (0..tasks.len()).map(|_| None).collect();
    for chunk in chunks {
        for (i, r) in chunk {
            results[i] = Some(r);
        }
    }
    results.into_iter().collect()
}

/// Reads a file of the export: only a regular file, resolving inside the domain's `root`,
/// of at most `limit` bytes, in UTF-8. The message says why not (never what the file holds).
fn read_checked(path: &Path, root: &Path, limit: u64) -> Result<String, String> {
    let cannot = |e: std::io::Error| format!("cannot read: {e}");
    let real = fs::canonicalize(path).map_err(cannot)?;
    if !real.starts_with(root) {
        return Err("a symbolic link resolving outside the domain directory: refused".into());
    }
    // Checked before opening: opening a FIFO for reading blocks until a writer comes.
    regular_file(&fs::metadata(&real).map_err(cannot)?, limit)?;
    let file = fs::File::open(&real).map_err(cannot)?;
    // What was opened, in case the file was replaced since.
    let size = regular_file(&file.metadata().map_err(cannot)?, limit)?;
    // Bounded: a file may grow while we read, or report a size smaller than it reads.
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > limit {
        return Err(over_limit(bytes.len() as u64, limit));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        format!(
            "not UTF-8: byte 0x{:02X} at byte offset {offset}",
            e.as_bytes()[offset]
        )
    })
}

/// The size of a regular file within `limit`; else why it is not read.
fn regular_file(meta: &fs::Metadata, limit: u64) -> Result<u64, String> {
    if !meta.is_file() {
        return Err(format!(
            "{}, not a regular file: refused",
            file_kind(&meta.file_type())
        ));
    }
    if meta.len() > limit {
        return Err(over_limit(meta.len(), limit));
    }
    Ok(meta.len())
}

fn over_limit(size: u64, limit: u64) -> String {
    format!(
        "{size} bytes or more, over the limit of {} MiB for this file",
        limit >> 20
    )
}

#[cfg(unix)]
fn file_kind(t: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else if t.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn file_kind(t: &fs::FileType) -> &'static str {
    if t.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

fn parse_task(task: &Task, root: &Path) -> Result<Parsed, Vec<LoadError>> {
    let text = read_checked(&task.file, root, MAX_YAML_FILE_BYTES).map_err(|message| {
        vec![LoadError {
            file: task.file.clone(),
            yaml_path: String::new(),
            message,
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
        root,
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
    /// The domain's real path (for the method bodies read beside the YAML).
    root: &'a Path,
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
        // The body of an inline method is its .rb, as ManageIQ's importer reads it. Without
        // one the importer keeps the YAML's `data` (none in its exports): that method is
        // reported by `assemble`, never dropped silently.
        if location == "inline" {
            let rb = task.file.with_extension("rb");
            if exists(&rb) {
                match read_checked(&rb, self.root, MAX_METHOD_FILE_BYTES) {
                    Ok(body) => data = Some(body),
                    Err(message) => self.errors.push(LoadError {
                        file: rb,
                        yaml_path: String::new(),
                        message,
                    }),
                }
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
