//! Domains a test writes into a temp dir (removed when the test ends), laid out as
//! ManageIQ's exporter lays them out. Documents are written as JSON, which YAML reads; a
//! test that needs YAML's own syntax writes the file text itself ([`TempDomains::write`]).
//!
//! ```ignore
//! let t = TempDomains::new();
//! t.domain("SPEC_DOMAIN", 100)
//!     .class("EVM/AUTOMATE", &[attribute("attr1").default("frank"), relationship("rel1")])
//!     .instance("test1", &[])
//!     .instance("test2", &[("rel1", "/EVM/AUTOMATE/test1")]);
//! let engine = t.engine(ScriptedRunner::new());
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use miq_automate_engine::{Datastore, Engine, MethodRunner};
use serde_json::{json, Map, Value as Json};

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A temp directory holding domains.
pub struct TempDomains {
    root: PathBuf,
}

impl Drop for TempDomains {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

impl TempDomains {
    /// A fresh, empty directory.
    pub fn new() -> Self {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root =
            std::env::temp_dir().join(format!("miq-ae-conformance-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        fs::create_dir_all(&root).expect("a temp dir");
        TempDomains { root }
    }

    /// The directory (holding the domains).
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// An enabled domain with `priority` (as ManageIQ's spec helpers enable the domains
    /// they import).
    pub fn domain(&self, name: &str, priority: i64) -> DomainDir {
        self.domain_with(
            name,
            json!({"name": name, "priority": priority, "enabled": true, "source": "user"}),
        )
    }

    /// A domain with these `object.attributes`.
    pub fn domain_with(&self, name: &str, attributes: Json) -> DomainDir {
        let dir = self.root.join(name);
        write_doc(&dir.join("__domain__.yaml"), "domain", attributes, None);
        DomainDir { dir }
    }

    /// Writes `text` at `relative` (a YAML file written by hand).
    pub fn write(&self, relative: &str, text: &str) {
        let file = self.root.join(relative);
        fs::create_dir_all(file.parent().expect("a parent")).expect("directories");
        fs::write(file, text).expect("the file is written");
    }

    /// Loads every domain written so far.
    pub fn load(&self) -> Datastore {
        Datastore::load(&[&self.root]).unwrap_or_else(|e| panic!("the domains load: {e}"))
    }

    /// An engine over the domains, running methods with `runner`.
    pub fn engine(&self, runner: impl MethodRunner + 'static) -> Engine {
        Engine::new(self.load()).with_runner(runner)
    }
}

/// A domain directory.
pub struct DomainDir {
    dir: PathBuf,
}

impl DomainDir {
    /// The class at `path` (`ns/.../Class`), its namespaces created as needed; fields in
    /// priority order.
    pub fn class(&self, path: &str, fields: &[Field]) -> ClassDir {
        let (ns, name) = path.rsplit_once('/').unwrap_or(("", path));
        let mut dir = self.dir.clone();
        for segment in ns.split('/').filter(|s| !s.is_empty()) {
            dir = dir.join(segment);
            let file = dir.join("__namespace__.yaml");
            if !file.exists() {
                write_doc(&file, "namespace", json!({"name": segment}), None);
            }
        }
        let dir = dir.join(format!("{name}.class"));
        let schema: Vec<Json> = fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut f = f.0.clone();
                f.entry("priority").or_insert(json!(i + 1));
                json!({ "field": f })
            })
            .collect();
        write_doc(
            &dir.join("__class__.yaml"),
            "class",
            json!({"name": name}),
            Some(("schema", Json::Array(schema))),
        );
        ClassDir { dir }
    }
}

/// A class directory.
pub struct ClassDir {
    dir: PathBuf,
}

impl ClassDir {
    /// Sets an attribute of the class (`inherits`, `description`, …).
    pub fn attribute(&self, key: &str, value: &str) -> &Self {
        let file = self.dir.join("__class__.yaml");
        let mut doc: Json =
            serde_json::from_str(&fs::read_to_string(&file).expect("the class")).expect("JSON");
        doc["object"]["attributes"][key] = json!(value);
        fs::write(file, serde_json::to_string_pretty(&doc).expect("JSON")).expect("written");
        self
    }

    /// An instance setting these field values.
    pub fn instance(&self, name: &str, values: &[(&str, &str)]) -> &Self {
        let fields: Vec<(&str, Vec<(&str, &str)>)> = values
            .iter()
            .map(|(f, v)| (*f, vec![("value", *v)]))
            .collect();
        self.instance_keys(name, &fields)
    }

    /// An instance setting any keys of its fields (`value`, `collect`, `on_entry`, …).
    pub fn instance_keys(&self, name: &str, fields: &[(&str, Vec<(&str, &str)>)]) -> &Self {
        let fields: Vec<Json> = fields
            .iter()
            .map(|(field, keys)| {
                let keys: Map<String, Json> = keys
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!(v)))
                    .collect();
                json!({ *field: keys })
            })
            .collect();
        let file = if name == ".missing" {
            "_missing".to_string()
        } else {
            name.to_string()
        };
        write_doc(
            &self.dir.join(format!("{file}.yaml")),
            "instance",
            json!({"name": name}),
            Some(("fields", Json::Array(fields))),
        );
        self
    }

    /// An inline method (its body a comment: a `ScriptedRunner` gives what it does).
    pub fn method(&self, name: &str, inputs: &[Field]) -> &Self {
        self.method_with(
            name,
            json!({"name": name, "location": "inline", "language": "ruby", "scope": "instance"}),
            inputs,
        )
    }

    /// A method with these attributes (`location`, `data`, `embedded_methods`, …).
    pub fn method_with(&self, name: &str, attributes: Json, inputs: &[Field]) -> &Self {
        let dir = self.dir.join("__methods__");
        let inputs: Vec<Json> = inputs
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let mut f = f.0.clone();
                f.entry("priority").or_insert(json!(i + 1));
                json!({ "field": f })
            })
            .collect();
        let inline = attributes["location"].as_str().unwrap_or("inline") == "inline";
        write_doc(
            &dir.join(format!("{name}.yaml")),
            "method",
            attributes,
            Some(("inputs", Json::Array(inputs))),
        );
        if inline {
            fs::write(
                dir.join(format!("{name}.rb")),
                "# scripted by the test\nexit MIQ_OK\n",
            )
            .expect("the body is written");
        }
        self
    }
}

/// A class field or a method input.
#[derive(Clone, Debug)]
pub struct Field(Map<String, Json>);

fn field(name: &str, aetype: Option<&str>) -> Field {
    let mut m = Map::new();
    m.insert("name".into(), json!(name));
    if let Some(t) = aetype {
        m.insert("aetype".into(), json!(t));
    }
    m.insert("substitute".into(), json!(true));
    Field(m)
}

/// An attribute field.
pub fn attribute(name: &str) -> Field {
    field(name, Some("attribute"))
}

/// A relationship field.
pub fn relationship(name: &str) -> Field {
    field(name, Some("relationship"))
}

/// A method field.
pub fn method(name: &str) -> Field {
    field(name, Some("method"))
}

/// A state field.
pub fn state(name: &str) -> Field {
    field(name, Some("state"))
}

/// An assertion field.
pub fn assertion(name: &str) -> Field {
    field(name, Some("assertion"))
}

/// A method input.
pub fn input(name: &str) -> Field {
    field(name, None)
}

impl Field {
    /// Sets any key of the field.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.0.insert(key.into(), json!(value));
        self
    }

    /// `default_value`.
    pub fn default(self, value: &str) -> Self {
        self.set("default_value", value)
    }

    /// `datatype`.
    pub fn datatype(self, value: &str) -> Self {
        self.set("datatype", value)
    }

    /// `message`.
    pub fn message(self, value: &str) -> Self {
        self.set("message", value)
    }

    /// `collect`.
    pub fn collect(self, value: &str) -> Self {
        self.set("collect", value)
    }
}

fn write_doc(file: &Path, object_type: &str, attributes: Json, extra: Option<(&str, Json)>) {
    let mut object = Map::new();
    object.insert("attributes".into(), attributes);
    if let Some((k, v)) = extra {
        object.insert(k.into(), v);
    }
    let doc = json!({"object_type": object_type, "version": 1.0, "object": object});
    fs::create_dir_all(file.parent().expect("a parent")).expect("directories");
    fs::write(file, serde_json::to_string_pretty(&doc).expect("JSON")).expect("written");
}
