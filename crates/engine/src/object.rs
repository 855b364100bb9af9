//! Instantiation and field processing (`MiqAeObject`, `MiqAeWorkspaceRuntime#instantiate`):
//! overlay, `.missing`/`.default`, assertions, arguments, then one forward pass over the
//! class fields in priority order (attribute, method, relationship, state),
//! with message filters, defaults, substitution, datatypes and collects.

use std::cmp::Ordering;
use std::sync::{Arc, LazyLock};

use indexmap::IndexMap;
use miq_automate_core::args::{convert_value, process_args, service_model_name};
use miq_automate_core::path::{AePath, SplitOptions};
use miq_automate_core::substitution::{
    null_coalesce, substitute, substitute_required, DatastoreReader,
};
use miq_automate_core::uri::{self, Uri};
use miq_automate_core::{AeError, AeObject, LogLevel, ObjectId, Value};
use regex::Regex;

use crate::datastore::{ClassId, Datastore};
use crate::domain_search::{
    find_first, wildcard_instances, Target, DEFAULT_INSTANCE, MISSING_INSTANCE,
};
use crate::engine::{Frame, Runtime};
use crate::error::EngineError;
use crate::method::classify_value;

static RE_COLLECT_ARRAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:([./\w]+)\s*=\s*)?\[(.*)\](?:\.([^.]+))?").expect("valid regex")
});
static RE_COLLECT_HASH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:([./\w]+)\s*=\s*)?\{(.*)\}(?:\.([^.]*))*").expect("valid regex")
});
static RE_COLLECT_STRING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:([./\w]+)\s*=\s*)?(\w+)(?:\.([^.]*))*").expect("valid regex")
});

/// The datatype of null-coalescing fields.
pub const NULL_COALESCING: &str = "null coalescing";

/// A class field with the instance's value and overrides merged in (`@fields[name]`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MergedField {
    /// The field name (case kept).
    pub name: String,
    /// aetype.
    pub aetype: Option<String>,
    /// datatype.
    pub datatype: Option<String>,
    /// The instance's value.
    pub value: Option<String>,
    /// The class default.
    pub default_value: Option<String>,
    /// Substitute `${}`.
    pub substitute: bool,
    /// The message filter.
    pub message: Option<String>,
    /// Instance collect if non-blank, else the class's.
    pub collect: Option<String>,
    /// State hook (instance overrides the class).
    pub on_entry: Option<String>,
    /// State hook.
    pub on_exit: Option<String>,
    /// State hook.
    pub on_error: Option<String>,
    /// State limit.
    pub max_retries: Option<String>,
    /// State limit.
    pub max_time: Option<String>,
}

impl MergedField {
    /// The instance's value when it is not blank, else the class default (unsubstituted).
    fn value_or_default(&self) -> Option<String> {
        present(&self.value).or_else(|| self.default_value.clone())
    }
}

fn present(v: &Option<String>) -> Option<String> {
    v.clone().filter(|s| !s.trim().is_empty())
}

/// `message_parse` + `message_matches?`: blank means `create`; `*` matches any message.
pub fn message_matches(filter: Option<&str>, message: &str) -> bool {
    match filter.filter(|f| !f.trim().is_empty()) {
        None => message == "create",
        Some(f) => f
            .split(',')
            .map(|m| m.trim().to_lowercase())
            .any(|m| m == message || m == "*"),
    }
}

/// The class fields merged with an instance (or the class defaults for `.default`).
fn merge_fields(ds: &Datastore, class: ClassId, instance: Option<&str>) -> Vec<MergedField> {
    let c = ds.class(class);
    let inst = instance.and_then(|i| c.instance(i));
    c.fields
        .iter()
        .map(|f| {
            let v = inst.and_then(|i| i.value_of(&f.name));
            let pick = |iv: Option<&Option<String>>, cv: &Option<String>| {
                iv.and_then(present).or_else(|| cv.clone())
            };
            MergedField {
                name: f.name.clone(),
                aetype: f.aetype.clone(),
                datatype: f.datatype.clone(),
                value: v.and_then(|v| v.value.clone()),
                default_value: f.default_value.clone(),
                substitute: f.substitute,
                message: f.message.clone(),
                collect: pick(v.map(|v| &v.collect), &f.collect),
                on_entry: pick(v.map(|v| &v.on_entry), &f.on_entry),
                on_exit: pick(v.map(|v| &v.on_exit), &f.on_exit),
                on_error: pick(v.map(|v| &v.on_error), &f.on_error),
                max_retries: pick(v.map(|v| &v.max_retries), &f.max_retries),
                max_time: pick(v.map(|v| &v.max_time), &f.max_time),
            }
        })
        .collect()
}

/// What `MiqAeObject.new` found in the datastore.
struct Found {
    class: ClassId,
    instance: String,
    missing: Option<String>,
    fields: Vec<MergedField>,
}

impl Runtime<'_> {
    /// The class an object was instantiated from, if any.
    pub fn class_of(&self, object: ObjectId) -> Option<ClassId> {
        self.fields.get(&object).and_then(|(c, _)| *c)
    }

    /// The merged fields of an object.
    pub fn fields_of(&self, object: ObjectId) -> &[MergedField] {
        self.fields.get(&object).map_or(&[], |(_, f)| f.as_slice())
    }

    /// `MiqAeWorkspaceRuntime#instantiate(uri, user, parent)`, one level (reached through
    /// `Runtime::instantiate_uri`, which bounds the nesting).
    pub(crate) fn instantiate_level(
        &mut self,
        uri_text: &str,
        parent: Option<ObjectId>,
    ) -> Result<Option<ObjectId>, EngineError> {
        if parent.is_none() {
            self.ws
                .log_line(LogLevel::Info, format!("Instantiating [{uri_text}]"));
        }
        let parsed = Uri::parse_for_instantiate(uri_text)?;
        let message = parsed.message();
        let mut args = parsed.args()?;
        // A requeue's state vars and saved state info; they are never attributes.
        if let Some(data) = args.shift_remove("ae_state_data") {
            let data = crate::state_machine::yaml_to_value(&data)?;
            self.merge_state_data(&data)?;
        }
        if let Some(previous) = args.shift_remove("ae_state_previous") {
            let previous = crate::state_machine::yaml_to_value(&previous)?;
            self.state_info = crate::state_machine::state_info_from_value(&previous);
        }
        let path_text = parsed.path.clone().unwrap_or_default();
        let path = AePath::split(&path_text, SplitOptions::default());
        let mut ns = path.namespace.clone().filter(|n| !n.is_empty());
        let mut class = path.class.clone();
        let instance = path.instance.clone();
        if parsed.scheme == "miqaedb" {
            if let (Some(n), Some(c)) = (&ns, &class) {
                if let Some(updated) = find_first(
                    self.engine.datastore(),
                    n,
                    c,
                    Target::Instance(instance.as_deref()),
                ) {
                    self.ws.log_line(
                        LogLevel::Info,
                        format!("Updated namespace [{uri_text}  {updated}]"),
                    );
                    ns = Some(updated);
                }
            }
        }
        if let Some(top) = self.stack.last() {
            ns = ns.or_else(|| top.ns.clone());
            class = class.or_else(|| top.class.clone());
        }
        let same = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => false,
        };
        if self.stack.iter().any(|f| {
            same(&f.ns, &ns)
                && same(&f.class, &class)
                && same(&f.instance, &instance)
                && f.message.eq_ignore_ascii_case(&message)
        }) {
            let fq = AePath::new(ns.as_deref(), class.as_deref(), instance.as_deref(), None);
            return Err(AeError::CyclicalRelationship(format!(
                "cyclical reference: [{fq} with message={message}]"
            ))
            .into());
        }
        match parsed.scheme.as_str() {
            "miqaedb" => {}
            "miqaews" => {
                let Some(obj) = self.ws.object(Some(&path_text))? else {
                    return Err(
                        AeError::ObjectNotFound(format!("Object [{path_text}] not found")).into(),
                    );
                };
                self.ws.push_current(obj, None);
                let r = self.process_fields(obj, &message);
                self.ws.pop_current();
                return self.rescue(Some(obj), r);
            }
            _ => {
                // method: / miqaemethod: run a method of the current object.
                if self.stack.is_empty() {
                    return Err(AeError::MethodNotFound("No Current Object".into()).into());
                }
                self.process_method_via_uri(&path_text, args)?;
                return Ok(None);
            }
        }
        let ns_text = ns.clone().unwrap_or_default();
        let class_text = class.clone().unwrap_or_default();
        let instance_text = instance.clone().unwrap_or_else(|| DEFAULT_INSTANCE.into());
        let stub = self
            .engine
            .instance_stub(&ns_text, &class_text, &instance_text);
        let found = match &stub {
            Some(_) => None,
            None => match self.find_in_datastore(&ns_text, &class_text, instance.as_deref()) {
                Ok(f) => Some(f),
                Err(e) => return self.rescue(None, Err(e)),
            },
        };
        let instance_name = found
            .as_ref()
            .map_or(instance_text.clone(), |f| f.instance.clone());
        // A trailing `/` names no instance: ManageIQ names the object `/ns/Class/` (its
        // `object_name`) and gives it the class defaults (`.default`). The core object has
        // one name, taken from its instance, so the instance stays unset here.
        let object = AeObject::new(
            Some(&ns_text),
            Some(&class_text),
            instance.is_some().then_some(instance_name.as_str()),
            &message,
        );
        let object_name =
            AePath::new(Some(&ns_text), Some(&class_text), instance.as_deref(), None).to_string();
        let id = match parent {
            None => {
                let root = self.ws.root();
                *self.ws.obj_mut(root) = object;
                self.root = Some(root);
                root
            }
            Some(p) => self.ws.add_object(Some(p), object),
        };
        let resolved = self.resolved_instance(
            found.as_ref().map(|f| (f.class, f.instance.as_str())),
            &ns_text,
            &class_text,
            instance.as_deref(),
        );
        let (class_id, fields) = match found {
            Some(f) => {
                if let Some(m) = f.missing {
                    self.ws
                        .obj_mut(id)
                        .set("_missing_instance", Value::String(m));
                }
                (Some(f.class), f.fields)
            }
            None => (None, Vec::new()),
        };
        self.fields.insert(id, (class_id, fields));
        self.note_instance(resolved, id);
        let state_machine =
            class_id.is_some_and(|c| self.engine.datastore().class(c).is_state_machine());
        if state_machine {
            self.begin_state_machine(object_name);
        }
        // The caller's attributes arrive as the root's arguments would: after the state
        // machine bookkeeping (so a requeue's ae_state wins), before the assertions.
        if parent.is_none() {
            for (k, v) in std::mem::take(&mut self.root_attrs) {
                self.ws.obj_mut(id).set(&k, v);
            }
        }
        self.stack.push(Frame {
            ns,
            class,
            instance,
            message: message.clone(),
        });
        self.ws.push_current(id, None);
        let result = self.process_new_object(id, &message, args, stub);
        self.ws.pop_current();
        self.stack.pop();
        let result = self.rescue(Some(id), result);
        if state_machine {
            self.end_state_machine();
        }
        result
    }

    fn process_new_object(
        &mut self,
        id: ObjectId,
        message: &str,
        args: IndexMap<String, String>,
        stub: Option<crate::engine::Stub>,
    ) -> Result<(), EngineError> {
        self.process_assertions(id, message)?;
        let existing: Vec<String> = self.ws.obj(id).attributes().keys().cloned().collect();
        let args: Vec<(String, Value)> = args
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let attrs = process_args(args, |name| existing.iter().any(|k| k == name))?;
        for (k, v) in attrs {
            self.ws.obj_mut(id).set(&k, v);
        }
        if let Some(stub) = stub {
            self.run_stub(&stub)?;
            return Ok(());
        }
        self.process_fields(id, message)
    }

    /// The engine's `rescue` clauses around an instantiation.
    fn rescue(
        &mut self,
        id: Option<ObjectId>,
        result: Result<(), EngineError>,
    ) -> Result<Option<ObjectId>, EngineError> {
        match result {
            Ok(()) => Ok(id),
            Err(e) if e.is_datastore_error() => {
                self.ws.log_line(LogLevel::Error, e.to_string());
                if id.is_none() {
                    self.note_swallowed(&e);
                }
                Ok(id)
            }
            Err(EngineError::AssertionFailure(m)) => {
                self.ws.log_line(LogLevel::Info, m);
                if let Some(id) = id {
                    self.delete(id);
                }
                Ok(id)
            }
            Err(EngineError::Ae(AeError::StopInstantiation(m))) => {
                self.ws.log_line(
                    LogLevel::Info,
                    format!("Stopping instantiation because [{m}]"),
                );
                if let Some(id) = id {
                    self.delete(id);
                }
                Ok(id)
            }
            Err(EngineError::Ae(AeError::UnknownMethodRc(m))) => {
                self.ws.log_line(
                    LogLevel::Error,
                    format!("Aborting instantiation (unknown method return code) because [{m}]"),
                );
                Err(AeError::UnknownMethodRc(m).into())
            }
            Err(EngineError::Ae(AeError::AbortInstantiation(m))) => {
                self.ws.log_line(
                    LogLevel::Info,
                    format!("Aborting instantiation because [{m}]"),
                );
                Err(AeError::AbortInstantiation(m).into())
            }
            Err(other) => Err(other),
        }
    }

    /// The datastore path, with its domain, of the instance an instantiation resolved: what
    /// the datastore found (`.missing` when that served it), or for a stub the class it
    /// names when the (domain-searched) namespace has one; else None.
    fn resolved_instance(
        &self,
        found: Option<(ClassId, &str)>,
        ns: &str,
        class: &str,
        instance: Option<&str>,
    ) -> Option<String> {
        let ds = self.engine.datastore();
        let (class_id, name) = match found {
            Some((c, name)) => (c, name.to_string()),
            None => {
                let c = ds.class_by_fqname(ns, class)?;
                let name = instance.map_or(String::new(), |i| {
                    ds.class(c)
                        .instance(i)
                        .map_or(i.to_string(), |i| i.name.clone())
                });
                (c, name)
            }
        };
        let name = if instance.is_none() { "" } else { &name };
        Some(format!(
            "/{}/{}/{name}",
            ds.class_namespace_fq(class_id),
            ds.class(class_id).name
        ))
    }

    /// Drops an object from the tree; its children become roots, as the engine does.
    fn delete(&mut self, id: ObjectId) {
        self.removed.insert(id);
        self.ws.detach(id);
        for child in self.ws.obj(id).children().to_vec() {
            self.ws.detach(child);
        }
    }

    /// `MiqAeObject.new`: the class, then the instance, `.missing`, or `.default`.
    fn find_in_datastore(
        &mut self,
        ns: &str,
        class: &str,
        instance: Option<&str>,
    ) -> Result<Found, EngineError> {
        let ds = self.engine.datastore();
        let Some(class_id) = ds.class_by_fqname(ns, class) else {
            return Err(EngineError::ClassNotFound(format!(
                "Class [{ns}/{class}] not found in MiqAeDatastore"
            )));
        };
        let c = ds.class(class_id);
        let (name, missing) = match instance {
            None => (DEFAULT_INSTANCE.to_string(), None),
            Some(i) => match c.instance(i) {
                Some(found) => (found.name.clone(), None),
                None => {
                    let object_name = AePath::new(Some(ns), Some(class), Some(i), None);
                    self.ws.log_line(
                        LogLevel::Info,
                        format!(
                            "Instance [{object_name}] not found in MiqAeDatastore - trying [{MISSING_INSTANCE}]"
                        ),
                    );
                    if c.instance(MISSING_INSTANCE).is_none() {
                        return Err(EngineError::InstanceNotFound(format!(
                            "Instance [{object_name}] not found in MiqAeDatastore"
                        )));
                    }
                    (MISSING_INSTANCE.to_string(), Some(i.to_string()))
                }
            },
        };
        let lookup = (name != DEFAULT_INSTANCE).then_some(name.as_str());
        let fields = merge_fields(ds, class_id, lookup);
        Ok(Found {
            class: class_id,
            instance: name,
            missing,
            fields,
        })
    }

    fn field_list(&self, id: ObjectId, message: &str, aetypes: &[&str]) -> Vec<MergedField> {
        self.fields_of(id)
            .iter()
            .filter(|f| {
                message_matches(f.message.as_deref(), message)
                    && f.aetype.as_deref().is_some_and(|t| aetypes.contains(&t))
            })
            .cloned()
            .collect()
    }

    fn process_assertions(&mut self, id: ObjectId, message: &str) -> Result<(), EngineError> {
        for f in self.field_list(id, message, &["assertion"]) {
            self.current_field.push(Some(f.name.clone()));
            let r = self.process_assertion(&f);
            self.current_field.pop();
            r?;
        }
        Ok(())
    }

    /// `process_fields(message)`: one forward pass in priority order.
    pub(crate) fn process_fields(
        &mut self,
        id: ObjectId,
        message: &str,
    ) -> Result<(), EngineError> {
        for f in self.field_list(
            id,
            message,
            &["attribute", "method", "relationship", "state"],
        ) {
            self.current_field.push(Some(f.name.clone()));
            let r = match f.aetype.as_deref() {
                Some("attribute") => self.process_attribute(id, &f),
                Some("method") => {
                    let call = self.field_value(&f, false)?;
                    self.process_method_raw(call.as_deref(), f.collect.as_deref())
                }
                Some("relationship") => {
                    let rel = self.field_value(&f, false)?;
                    self.process_relationship(id, rel.as_deref(), message, f.collect.as_deref())
                        .map(|_| ())
                }
                // MiqAeStateMachine#process_state (state_machine.rs).
                _ => self.process_state(id, &f, message),
            };
            self.current_field.pop();
            r?;
        }
        Ok(())
    }

    /// `get_value`: null coalescing, or value / default_value then `${}` when substituted.
    pub(crate) fn field_value(
        &mut self,
        f: &MergedField,
        required: bool,
    ) -> Result<Option<String>, EngineError> {
        if f.datatype.as_deref() == Some(NULL_COALESCING) {
            return Ok(null_coalesce(
                &mut self.ws,
                f.value.as_deref(),
                f.default_value.as_deref(),
            ));
        }
        match f.value_or_default() {
            Some(v) if f.substitute => Ok(Some(if required {
                substitute_required(&mut self.ws, &v)?
            } else {
                substitute(&mut self.ws, &v)?
            })),
            other => Ok(other),
        }
    }

    /// Converts by datatype; model datatypes go to the embedder's lookup when there is one.
    pub fn convert(&self, value: Value, datatype: Option<&str>) -> Result<Value, AeError> {
        let datatype = datatype.filter(|d| !d.trim().is_empty());
        if let (Some(d), Some(lookup)) = (datatype, self.engine.services()) {
            if !value.is_blank() {
                if let Some(model) = service_model_name(d) {
                    return lookup.find(&model, &value);
                }
            }
        }
        convert_value(value, datatype)
    }

    fn process_attribute(&mut self, id: ObjectId, f: &MergedField) -> Result<(), EngineError> {
        let value = self.field_value(f, false)?;
        let value = self.convert(
            value.map(Value::String).unwrap_or_default(),
            f.datatype.as_deref(),
        )?;
        if !matches!(value, Value::Nil) {
            self.ws.obj_mut(id).set(&f.name, value);
        }
        if let Some(c) = f.collect.as_deref().filter(|c| !c.trim().is_empty()) {
            self.process_collect(id, c, &Rels::None)?;
        }
        Ok(())
    }

    fn process_assertion(&mut self, f: &MergedField) -> Result<(), EngineError> {
        let Some(assertion) = self.field_value(f, true)?.filter(|a| !a.trim().is_empty()) else {
            return Ok(());
        };
        self.ws.log_line(
            LogLevel::Info,
            format!("Evaluating substituted assertion [{assertion}]"),
        );
        use crate::assertion::AssertionError;
        let outcome = self
            .engine
            .runner()
            .and_then(|r| r.evaluate_assertion(&assertion))
            .unwrap_or_else(|| {
                crate::assertion::evaluate(&assertion).map_err(AssertionError::Evaluation)
            });
        match outcome {
            Ok(true) => Ok(()),
            Ok(false) => Err(EngineError::AssertionFailure(format!(
                "Assertion Failed: <{assertion}>"
            ))),
            Err(AssertionError::Syntax(e)) => {
                self.ws.log_line(
                    LogLevel::Error,
                    format!("Assertion had the following Syntax Error: '{e}'"),
                );
                Err(EngineError::AssertionFailure(format!(
                    "Syntax Error in Assertion: <{assertion}>"
                )))
            }
            Err(AssertionError::Evaluation(e)) => {
                self.ws
                    .log_line(LogLevel::Error, format!("'{e}', evaluating assertion"));
                Err(EngineError::AssertionFailure(format!(
                    "Assertion Evaluation Failed: <{assertion}>"
                )))
            }
        }
    }

    /// `process_relationship_raw`: skip blank/`#`; the message and the (empty) arguments
    /// are inherited; `*` expands; then the collects. `true` when the relationship gave
    /// something (`@rels[name]` is not nil: a wildcard always does).
    pub(crate) fn process_relationship(
        &mut self,
        id: ObjectId,
        rel: Option<&str>,
        message: &str,
        collect: Option<&str>,
    ) -> Result<bool, EngineError> {
        let Some(rel) = rel.filter(|r| !r.trim().is_empty() && !r.trim_start().starts_with('#'))
        else {
            return Ok(false);
        };
        let parts = Uri::split(rel, "miqaedb")?;
        let fragment = parts
            .fragment
            .clone()
            .unwrap_or_else(|| message.to_string());
        let joined = uri::join(
            Some(&parts.scheme),
            parts.path.as_deref(),
            parts.opaque.as_deref(),
            parts.query.as_deref(),
            Some(&fragment),
        );
        self.ws
            .log_line(LogLevel::Info, format!("Following Relationship [{joined}]"));
        let rels = if joined.contains('*') {
            let mut children = Vec::new();
            for r in self.wildcard_expand(&joined)? {
                children.push(self.instantiate_uri(&r, Some(id))?);
            }
            Rels::Many(children)
        } else {
            match self.instantiate_uri(&joined, Some(id))? {
                Some(c) => Rels::One(c),
                None => Rels::Nil,
            }
        };
        if let Some(collect) = collect {
            if !matches!(rels, Rels::Nil) {
                for expr in collect.split(';') {
                    self.process_collect(id, expr, &rels)?;
                }
            }
        }
        self.ws
            .log_line(LogLevel::Info, format!("Followed  Relationship [{joined}]"));
        Ok(!matches!(rels, Rels::Nil))
    }

    fn wildcard_expand(&mut self, rel: &str) -> Result<Vec<String>, EngineError> {
        let parts = Uri::split(rel, "miqaedb")?;
        let Some(path) = parts.path.as_deref().filter(|p| p.ends_with('*')) else {
            return Ok(vec![rel.to_string()]);
        };
        Ok(wildcard_instances(self.engine.datastore(), path)
            .into_iter()
            .map(|fq| {
                uri::join(
                    Some(&parts.scheme),
                    Some(&fq),
                    None,
                    parts.query.as_deref(),
                    parts.fragment.as_deref(),
                )
            })
            .collect())
    }

    /// One collect expression: `[a, b].method`, `{k => v}`, or `name` / `lhs = name`.
    fn process_collect(
        &mut self,
        id: ObjectId,
        expr: &str,
        rels: &Rels,
    ) -> Result<(), EngineError> {
        if let Some(c) = RE_COLLECT_ARRAY.captures(expr) {
            let lhs = c.get(1).map(|m| m.as_str().trim().to_string());
            let method = c.get(3).map(|m| m.as_str().trim().to_lowercase());
            let elems: Vec<String> = c[2]
                .split(',')
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect();
            let mut array = Vec::new();
            match rels {
                Rels::Many(children) => {
                    for r in children {
                        for e in &elems {
                            array.push(self.read_rel(*r, e));
                        }
                    }
                }
                Rels::None => {
                    let obj = self.ws.obj(id);
                    for e in &elems {
                        array.push(classify_value(e, |n| {
                            obj.get(n).cloned().unwrap_or_default()
                        }));
                    }
                }
                Rels::One(r) => {
                    for e in &elems {
                        array.push(self.read_rel(Some(*r), e));
                    }
                }
                Rels::Nil => return Ok(()),
            }
            if array.is_empty() {
                return Ok(());
            }
            let value = array_value(array, method.as_deref())?;
            return self.collect_set(id, lhs.as_deref(), value);
        }
        if let Some(c) = RE_COLLECT_HASH.captures(expr) {
            let lhs = c.get(1).map(|m| m.as_str().trim().to_string());
            let mut hash: Vec<(Value, Value)> = Vec::new();
            for pair in c[2].trim().split(',') {
                let sides: Vec<&str> = pair.split("=>").collect();
                if sides.len() != 2 {
                    return Err(EngineError::InvalidCollection(format!(
                        "invalid hash in collect item <{expr}>"
                    )));
                }
                let left = sides[0].trim();
                let right = sides[1].trim();
                let literal = if let Some(sym) = left.strip_prefix(':') {
                    Some(Value::Symbol(sym.to_string()))
                } else if left.starts_with('"') || left.starts_with('\'') {
                    Some(Value::String(
                        left.get(1..left.len().saturating_sub(1))
                            .unwrap_or("")
                            .to_string(),
                    ))
                } else {
                    None
                };
                let sources: Vec<Option<ObjectId>> = match rels {
                    Rels::Many(children) => children.clone(),
                    Rels::One(r) => vec![Some(*r)],
                    Rels::None => vec![Some(id)],
                    Rels::Nil => return Ok(()),
                };
                for r in sources {
                    let key = literal.clone().unwrap_or_else(|| self.read_rel(r, left));
                    let value = self.read_rel(r, right);
                    hash_set(&mut hash, key, value);
                }
            }
            if !hash.is_empty() {
                self.collect_set(id, lhs.as_deref(), Value::Hash(hash))?;
            }
            return Ok(());
        }
        if let Some(c) = RE_COLLECT_STRING.captures(expr) {
            let name = c[2].trim().to_string();
            let mut lhs = c.get(1).map(|m| m.as_str().trim().to_string());
            if !matches!(rels, Rels::None) && lhs.is_none() {
                lhs = Some(name.clone());
            }
            let value = match rels {
                Rels::Many(children) => {
                    Value::Array(children.iter().map(|r| self.read_rel(*r, &name)).collect())
                }
                Rels::One(r) => self.read_rel(Some(*r), &name),
                Rels::None => self.read_rel(Some(id), &name),
                Rels::Nil => return Ok(()),
            };
            return self.collect_set(id, lhs.as_deref(), value);
        }
        Err(EngineError::InvalidCollection(format!(
            "invalid collect item: <{expr}>"
        )))
    }

    fn read_rel(&self, object: Option<ObjectId>, name: &str) -> Value {
        object
            .and_then(|o| self.ws.obj(o).get(name).cloned())
            .unwrap_or_default()
    }

    /// `process_collect_set_attribute`: no lhs → the current field's name; `a/b/attr` →
    /// the object at `a/b` (`/attr` → root).
    fn collect_set(
        &mut self,
        id: ObjectId,
        key: Option<&str>,
        value: Value,
    ) -> Result<(), EngineError> {
        let key = match key {
            Some(k) => k.to_string(),
            None => match self.current_field.last().cloned().flatten() {
                Some(k) => k,
                None => return Ok(()),
            },
        };
        let mut parts: Vec<&str> = key.split('/').collect();
        let left = parts.pop().unwrap_or("").to_string();
        let target = if parts.is_empty() {
            Some(id)
        } else {
            // As the engine: any lhs starting with `/` names the root.
            let path = if parts[0].is_empty() {
                "/".to_string()
            } else {
                parts.join("/")
            };
            self.ws.object(Some(&path))?
        };
        if let Some(t) = target {
            self.ws.obj_mut(t).set(&left, value);
        }
        Ok(())
    }
}

/// What a relationship gave to its collects.
#[derive(Clone, Debug)]
enum Rels {
    /// An attribute's collect (no relationship).
    None,
    /// The relationship gave nil.
    Nil,
    /// One child.
    One(ObjectId),
    /// A wildcard's children (nil where one failed).
    Many(Vec<Option<ObjectId>>),
}

fn hash_set(hash: &mut Vec<(Value, Value)>, key: Value, value: Value) {
    match hash.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => hash.push((key, value)),
    }
}

fn compare(a: &Value, b: &Value) -> Result<Ordering, AeError> {
    let num = |v: &Value| match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    };
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => Ok(x.cmp(y)),
        (Value::String(x), Value::String(y)) => Ok(x.cmp(y)),
        _ => match (num(a), num(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).ok_or_else(|| fail(a, b)),
            _ => Err(fail(a, b)),
        },
    }
}

fn fail(a: &Value, b: &Value) -> AeError {
    AeError::ArgumentError(format!(
        "comparison of {} with {} failed",
        a.ruby_class(),
        b.masked().inspect()
    ))
}

fn sum(array: &[Value]) -> Result<Value, AeError> {
    let mut int: i64 = 0;
    let mut float: Option<f64> = None;
    for v in array {
        match (v, float) {
            (Value::Integer(i), None) => {
                int = int
                    .checked_add(*i)
                    .ok_or_else(|| AeError::RangeError("sum does not fit in 64 bits".into()))?;
            }
            (Value::Integer(i), Some(f)) => float = Some(f + *i as f64),
            (Value::Float(x), None) => float = Some(int as f64 + x),
            (Value::Float(x), Some(f)) => float = Some(f + x),
            (other, _) => {
                return Err(AeError::NoMethod {
                    receiver: other.ruby_class(),
                    method: "+ (can't be coerced into Integer)".into(),
                })
            }
        }
    }
    Ok(float.map_or(Value::Integer(int), Value::Float))
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 0.0,
    }
}

/// `array_value`: the collect's method over the gathered values.
fn array_value(array: Vec<Value>, method: Option<&str>) -> Result<Value, AeError> {
    if array.iter().all(|v| matches!(v, Value::Nil)) {
        return Ok(Value::Array(array));
    }
    let sorted = |mut a: Vec<Value>| -> Result<Vec<Value>, AeError> {
        let mut err = None;
        a.sort_by(|x, y| {
            compare(x, y).unwrap_or_else(|e| {
                err.get_or_insert(e);
                Ordering::Equal
            })
        });
        err.map_or(Ok(a), Err)
    };
    let mean = |a: &[Value]| -> Result<f64, AeError> { Ok(as_f64(&sum(a)?) / a.len() as f64) };
    let variance = |a: &[Value]| -> Result<f64, AeError> {
        let m = mean(a)?;
        let total: f64 = a.iter().map(|v| (as_f64(v) - m).powi(2)).sum();
        Ok(total / (a.len() as f64 - 1.0))
    };
    Ok(match method {
        Some("rsort") => {
            let mut s = sorted(array)?;
            s.reverse();
            Value::Array(s)
        }
        Some("sort") => Value::Array(sorted(array)?),
        Some("reverse") => Value::Array(array.into_iter().rev().collect()),
        Some("count") => Value::Integer(array.len() as i64),
        Some("min" | "minimum") => sorted(array)?.into_iter().next().unwrap_or_default(),
        Some("max" | "maximum") => sorted(array)?.into_iter().last().unwrap_or_default(),
        Some("sum") => sum(&array)?,
        Some("mean" | "average" | "avg") => Value::Float(mean(&array)?),
        Some("variance") => Value::Float(variance(&array)?),
        Some("stddev" | "stdev") => Value::Float(variance(&array)?.sqrt()),
        _ => Value::Array(array),
    })
}

/// Reads `${miqaedb:///ns/Class/Inst/attr}`: the instance's attribute fields for the
/// message (value or default; `${}` in them is not substituted, as there is no workspace
/// of the instance's own).
pub(crate) struct Reader {
    pub(crate) datastore: Arc<Datastore>,
}

impl DatastoreReader for Reader {
    fn read_attribute(&mut self, path: &AePath, message: &str) -> Result<Value, AeError> {
        let ds = &self.datastore;
        let ns = path.namespace.clone().unwrap_or_default();
        let class = path.class.clone().unwrap_or_default();
        let instance = path.instance.as_deref();
        let ns = find_first(ds, &ns, &class, Target::Instance(instance)).unwrap_or(ns);
        let id = ds.class_by_fqname(&ns, &class).ok_or_else(|| {
            AeError::ObjectNotFound(format!("Class [{ns}/{class}] not found in MiqAeDatastore"))
        })?;
        let c = ds.class(id);
        let inst = match instance {
            None => None,
            Some(i) => Some(
                c.instance(i)
                    .or_else(|| c.instance(MISSING_INSTANCE))
                    .map(|i| i.name.clone())
                    .ok_or_else(|| {
                        AeError::ObjectNotFound(format!(
                            "Instance [{}] not found in MiqAeDatastore",
                            AePath::new(Some(&ns), Some(&class), Some(i), None)
                        ))
                    })?,
            ),
        };
        let attribute = path.attribute.clone().unwrap_or_default();
        let mut out = Value::Nil;
        for f in merge_fields(ds, id, inst.as_deref()) {
            if f.aetype.as_deref() != Some("attribute")
                || !message_matches(f.message.as_deref(), message)
            {
                continue;
            }
            let v = convert_value(
                f.value_or_default().map(Value::String).unwrap_or_default(),
                f.datatype.as_deref(),
            )?;
            if f.name.eq_ignore_ascii_case(&attribute) {
                out = v;
            }
        }
        Ok(out)
    }
}
