//! Static checks of a loaded datastore: method fields and state hooks that name no method,
//! relationships (and state targets) to instances no domain has. Values with `${…}` are
//! skipped: they are only known at run time. What the loader skipped or could not make
//! reachable ([`Datastore::warnings`]: symbolic links not followed, names colliding
//! ignoring case, inline methods without their `.rb`) is a finding too.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::datastore::{Class, Datastore};
use crate::domain_search::{find_first, Target, MISSING_INSTANCE};
use crate::method::{parse_call, OBJECT_METHODS};

/// One problem: where and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file that holds the value (the class schema or the instance).
    pub file: PathBuf,
    /// The field (and hook): `execute`, `CustomizeRequest.on_entry`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.file.display(),
            self.field,
            self.message
        )
    }
}

fn dynamic(v: &str) -> bool {
    v.contains("${") || v.trim().is_empty() || v.trim_start().starts_with('#')
}

/// Every finding: the loader's warnings first, then the classes' in class order.
pub fn lint(ds: &Datastore) -> Vec<Finding> {
    let mut out: Vec<Finding> = ds
        .warnings()
        .iter()
        .map(|w| Finding {
            file: w.path.clone(),
            field: "load".into(),
            message: w.message.clone(),
        })
        .collect();
    for (id, class) in ds.classes().iter().enumerate() {
        let ns = ds.class_namespace_fq(id);
        // (file, values per field) for the class defaults and each instance.
        let mut sources: Vec<(PathBuf, Vec<Value>)> = Vec::new();
        sources.push((
            class.file.clone(),
            class
                .fields
                .iter()
                .map(|f| Value {
                    field: f.name.clone(),
                    aetype: f.aetype.clone(),
                    value: f.default_value.clone(),
                    hooks: [f.on_entry.clone(), f.on_exit.clone(), f.on_error.clone()],
                })
                .collect(),
        ));
        for inst in &class.instances {
            let values = inst
                .values
                .iter()
                .filter_map(|(name, v)| {
                    let f = class.field(name)?;
                    Some(Value {
                        field: f.name.clone(),
                        aetype: f.aetype.clone(),
                        value: v.value.clone(),
                        hooks: [v.on_entry.clone(), v.on_exit.clone(), v.on_error.clone()],
                    })
                })
                .collect();
            sources.push((inst.file.clone(), values));
        }
        for (file, values) in sources {
            for v in values {
                check_value(ds, class, &ns, &file, &v, &mut out);
            }
        }
        check_limits(class, &mut out);
        for method in &class.methods {
            for embedded in &method.embedded_methods {
                if let Some(message) = missing_embedded(ds, embedded) {
                    out.push(Finding {
                        file: method.file.clone(),
                        field: format!("{}.embedded_methods", method.name),
                        message,
                    });
                }
            }
        }
    }
    out
}

/// A state's `max_retries` and `max_time`, and an `ae_retry_interval` attribute, are whole
/// numbers of retries and seconds (`1.hour` for seconds): text the engine would read as 0
/// or refuse (`"five"`, `"1.hour"` in max_retries, `"2.eons"`) is a finding.
fn check_limits(class: &Class, out: &mut Vec<Finding>) {
    let whole = |v: &str| v.trim().parse::<u64>().is_ok();
    let seconds = |v: &str| {
        whole(v)
            || miq_automate_core::ruby::to_i_with_method(v.trim())
                .ok()
                .flatten()
                .is_some_and(|s| s >= 0)
    };
    let mut check = |file: &Path, field: &str, kind: &str, value: Option<&String>| {
        let Some(v) = value.filter(|v| !dynamic(v)) else {
            return;
        };
        let ok = if kind == "max_retries" {
            whole(v)
        } else {
            seconds(v)
        };
        if !ok {
            let want = if kind == "max_retries" {
                "a whole number of retries"
            } else {
                "seconds: a whole number, or 1.hour"
            };
            out.push(Finding {
                file: file.to_path_buf(),
                field: format!("{field}.{kind}"),
                message: format!("{v:?} is not {want}"),
            });
        }
    };
    for f in &class.fields {
        check(&class.file, &f.name, "max_retries", f.max_retries.as_ref());
        check(&class.file, &f.name, "max_time", f.max_time.as_ref());
        if f.name.eq_ignore_ascii_case("ae_retry_interval") {
            check(&class.file, &f.name, "value", f.default_value.as_ref());
        }
    }
    for inst in &class.instances {
        for (name, v) in &inst.values {
            check(&inst.file, name, "max_retries", v.max_retries.as_ref());
            check(&inst.file, name, "max_time", v.max_time.as_ref());
            if name.eq_ignore_ascii_case("ae_retry_interval") {
                check(&inst.file, name, "value", v.value.as_ref());
            }
        }
    }
}

/// An embedded method reference (`/Domain/ns/Class/method` or without its domain) that no
/// domain has: the method would fail with "Embedded method … not found" when it runs.
fn missing_embedded(ds: &Datastore, reference: &str) -> Option<String> {
    let mut parts: Vec<&str> = reference.trim().trim_matches('/').split('/').collect();
    if parts.len() < 3 {
        return Some(format!(
            "embedded method {reference:?} is not /namespace/Class/method"
        ));
    }
    let method = parts.pop().unwrap_or_default();
    let class = parts.pop().unwrap_or_default();
    let ns = parts.join("/");
    let found = find_first(ds, &ns, class, Target::Method(method)).is_some()
        || ds
            .class_by_fqname(&ns, class)
            .is_some_and(|id| ds.class(id).method(method).is_some());
    (!found).then(|| format!("embedded method {reference} not found in any domain"))
}

struct Value {
    field: String,
    aetype: Option<String>,
    value: Option<String>,
    hooks: [Option<String>; 3],
}

fn check_value(
    ds: &Datastore,
    class: &Class,
    ns: &str,
    file: &Path,
    v: &Value,
    out: &mut Vec<Finding>,
) {
    let mut push = |field: String, message: String| {
        out.push(Finding {
            file: file.to_path_buf(),
            field,
            message,
        })
    };
    match (v.aetype.as_deref(), v.value.as_deref()) {
        (Some("method"), Some(call)) if !dynamic(call) => {
            if let Some(m) = missing_method(ds, class, ns, call) {
                push(v.field.clone(), m);
            }
        }
        (Some("relationship" | "state"), Some(rel)) if !dynamic(rel) => {
            if let Some(call) = rel.trim().strip_prefix("METHOD::") {
                if let Some(m) = missing_method(ds, class, ns, call) {
                    push(v.field.clone(), m);
                }
            } else if let Some(m) = missing_instance(ds, rel) {
                push(v.field.clone(), m);
            }
        }
        _ => {}
    }
    if v.aetype.as_deref() == Some("state") {
        for (hook, text) in ["on_entry", "on_exit", "on_error"].iter().zip(&v.hooks) {
            let Some(text) = text else { continue };
            for call in text.split(';') {
                if dynamic(call) {
                    continue;
                }
                if let Some(m) = missing_method(ds, class, ns, call) {
                    push(format!("{}.{hook}", v.field), m);
                }
            }
        }
    }
}

/// `Some(message)` when the call names no method the engine would find.
fn missing_method(ds: &Datastore, class: &Class, ns: &str, call: &str) -> Option<String> {
    let parsed = match parse_call(call) {
        Ok(p) => p,
        Err(e) => return Some(e.to_string()),
    };
    let name = &parsed.name;
    let found = match (&parsed.namespace, &parsed.class) {
        (None, None) => {
            class.method(name).is_some()
                || OBJECT_METHODS.contains(&name.as_str())
                || find_first(ds, &class.namespace, &class.name, Target::Method(name)).is_some()
        }
        (ns_given, Some(klass)) => {
            let namespace = ns_given.clone().unwrap_or_else(|| ns.to_string());
            let relative: Vec<&str> = namespace.split('/').skip(1).collect();
            ds.classes_by_relative(&relative.join("/"), klass)
                .iter()
                .any(|id| ds.class(*id).method(name).is_some())
                || ds
                    .class_by_fqname(&namespace, klass)
                    .is_some_and(|id| ds.class(id).method(name).is_some())
        }
        (Some(_), None) => false,
    };
    (!found).then(|| format!("method [{call}] does not exist", call = call.trim()))
}

/// `Some(message)` when no domain has the instance (nor the class's `.missing`).
fn missing_instance(ds: &Datastore, rel: &str) -> Option<String> {
    let path = rel.split(['?', '#']).next().unwrap_or("").trim();
    if path.contains('*') || path.contains("://") || !path.starts_with('/') {
        return None;
    }
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if parts.len() < 3 {
        return None;
    }
    let instance = parts[parts.len() - 1];
    let class = parts[parts.len() - 2];
    let ns = parts[..parts.len() - 2].join("/");
    let has = |id: usize| {
        let c = ds.class(id);
        instance.is_empty()
            || c.instance(instance).is_some()
            || c.instance(MISSING_INSTANCE).is_some()
    };
    let relative = ds.classes_by_relative(&ns, class).iter().any(|id| has(*id));
    let qualified = ds.class_by_fqname(&ns, class).is_some_and(has);
    (!relative && !qualified)
        .then(|| format!("relationship to [{path}]: no domain has this instance"))
}
