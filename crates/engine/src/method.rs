//! Methods: the call syntax of method fields and state hooks (`name(arg => 'x', n => 5)`),
//! name resolution (current class, `$/object` builtins, overlay across domains), inputs,
//! and running them (inline bodies through the embedder's [`MethodRunner`]).

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};

use indexmap::IndexMap;
use miq_automate_core::substitution::{null_coalesce, substitute};
use miq_automate_core::{AeError, LogLevel, MethodOutcome, ObjectId, Value};
use regex::Regex;

use crate::datastore::{ClassId, Field};
use crate::domain_search::{find_first, Target};
use crate::engine::{Runtime, Stub};
use crate::error::EngineError;
use crate::object::NULL_COALESCING;

static RE_METHOD_CALL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*([./\w]+)\s*(?:\((.*)\))?\s*$").expect("valid regex"));
static RE_HASH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(\w+)\s*=>\s*(\d+|"[^"]+"|'[^']+'|\w+)"#).expect("valid regex"));
static RE_INTEGER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[+-]?[0-9]+\s*$").expect("valid regex"));
static RE_FLOAT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[-+]?[0-9]+\.[0-9]+\s*$").expect("valid regex"));

/// Methods every class inherits from `$/object` (seeded as built-ins).
pub const OBJECT_METHODS: [&str; 3] = ["log_object", "log_workspace", "send_email"];

/// A literal or attribute argument of a method call.
#[derive(Clone, Debug, PartialEq)]
pub enum CallArg {
    /// `'text'` or `"text"`.
    Str(String),
    /// `5`.
    Int(i64),
    /// A bare word: the current object's attribute of that name (nil when absent).
    Attribute(String),
}

/// A parsed method call: `[ns/]Class.method(args)` or a bare `method(args)`.
#[derive(Clone, Debug, PartialEq)]
pub struct MethodCall {
    /// The namespace (downcased), when given (`/ns` keeps its leading slash).
    pub namespace: Option<String>,
    /// The class (downcased), when given.
    pub class: Option<String>,
    /// The method name (downcased).
    pub name: String,
    /// Arguments in call order.
    pub args: Vec<(String, CallArg)>,
}

/// Parses one call as the engine does: `InvalidMethod` for bad syntax or more than one `.`.
pub fn parse_call(text: &str) -> Result<MethodCall, AeError> {
    let caps = RE_METHOD_CALL.captures(text).ok_or_else(|| {
        AeError::InvalidMethod(format!("invalid method calling syntax: [{text}]"))
    })?;
    let fq = &caps[1];
    let mut parts: Vec<&str> = fq.split('.').collect();
    if parts.len() > 2 {
        return Err(AeError::InvalidMethod(format!(
            "invalid method name: [{fq}]"
        )));
    }
    let name = parts.pop().unwrap_or("").to_lowercase();
    let (mut namespace, mut class) = (None, None);
    if let Some(prefix) = parts.pop() {
        let mut segs: Vec<&str> = prefix.split('/').collect();
        class = segs.pop().map(str::to_lowercase);
        if !segs.is_empty() {
            namespace = Some(segs.join("/").to_lowercase());
        }
    }
    let args = caps
        .get(2)
        .map(|a| parse_args(a.as_str()))
        .unwrap_or_default();
    Ok(MethodCall {
        namespace,
        class,
        name,
        args,
    })
}

/// `key => value` pairs (`'x'`, `"x"`, digits, or a bare attribute name).
pub fn parse_args(text: &str) -> Vec<(String, CallArg)> {
    RE_HASH
        .captures_iter(text)
        .map(|c| (c[1].to_string(), classify(&c[2])))
        .collect()
}

fn classify(raw: &str) -> CallArg {
    if raw.len() >= 2
        && ((raw.starts_with('\'') && raw.ends_with('\''))
            || (raw.starts_with('"') && raw.ends_with('"')))
    {
        CallArg::Str(raw[1..raw.len() - 1].to_string())
    } else if RE_INTEGER.is_match(raw) {
        raw.trim()
            .parse()
            .map(CallArg::Int)
            .unwrap_or_else(|_| CallArg::Attribute(raw.to_string()))
    } else {
        CallArg::Attribute(raw.to_string())
    }
}

/// Classifies a collect element as the engine's `classify_value` does: quoted text, an
/// Integer, a Float, or the object's attribute.
pub(crate) fn classify_value(raw: &str, attribute: impl Fn(&str) -> Value) -> Value {
    if raw.starts_with('\'') || raw.starts_with('"') {
        let inner = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
        Value::String(inner.to_string())
    } else if RE_INTEGER.is_match(raw) {
        raw.trim().parse().map(Value::Integer).unwrap_or_default()
    } else if RE_FLOAT.is_match(raw) {
        raw.trim().parse().map(Value::Float).unwrap_or_default()
    } else {
        attribute(raw)
    }
}

/// What the runner is asked to run.
#[derive(Clone, Debug)]
pub struct MethodInvocation {
    /// `/Domain/ns/Class/method`.
    pub fqname: String,
    /// The method name as called (downcased), what `<AEMethod NAME>` shows.
    pub name: String,
    /// `inline`, `expression`, `playbook`, …
    pub location: String,
    /// The language (`ruby`).
    pub language: Option<String>,
    /// The method's own body (or `data`).
    pub body: String,
    /// Embedded methods, depth-first, deduplicated: `(fqname, body)`, loaded before the body.
    pub embedded: Vec<(String, String)>,
    /// The inputs, converted by datatype (also in the workspace's `inputs`).
    pub inputs: IndexMap<String, Value>,
    /// The object the method runs in (the current object).
    pub object: ObjectId,
}

/// Runs method bodies for the engine: the Ruby extension implements it with a Ruby child
/// process; tests script it. Return the exit status (0 = MIQ_OK, 4, 8, 16, other); an
/// `Err` stands for an uncaught exception (logged, then exit status 1, as Ruby exits).
///
/// The runtime gives the method its `$evm`: the workspace (current object, inputs, state
/// vars) and `instantiate`, which goes back through the engine.
pub trait MethodRunner: Send + Sync {
    /// Runs one method.
    fn run(&self, rt: &mut Runtime<'_>, method: &MethodInvocation) -> Result<i32, AeError>;

    /// Evaluates a substituted assertion as ManageIQ does (Ruby's `eval`), when this runner
    /// can; `None` leaves it to the engine's small evaluator.
    fn evaluate_assertion(
        &self,
        _assertion: &str,
    ) -> Option<Result<bool, crate::assertion::AssertionError>> {
        None
    }
}

/// A closure as a runner.
pub struct FnRunner<F>(pub F);

impl<F> MethodRunner for FnRunner<F>
where
    F: Fn(&mut Runtime<'_>, &MethodInvocation) -> Result<i32, AeError> + Send + Sync,
{
    fn run(&self, rt: &mut Runtime<'_>, method: &MethodInvocation) -> Result<i32, AeError> {
        (self.0)(rt, method)
    }
}

/// A scripted method body: what a method "does" in a test.
pub type Script =
    Arc<dyn Fn(&mut Runtime<'_>, &MethodInvocation) -> Result<i32, AeError> + Send + Sync>;

/// The calls a [`ScriptedRunner`] saw: `(fqname, inputs)`.
pub type CallLog = Arc<Mutex<Vec<(String, IndexMap<String, Value>)>>>;

/// A runner for tests: scripts by method name or fqname suffix (case-insensitive); any
/// other method exits 0. Every call is recorded with its inputs.
#[derive(Clone, Default)]
pub struct ScriptedRunner {
    scripts: Vec<(String, Script)>,
    calls: CallLog,
}

impl ScriptedRunner {
    /// A runner where every method exits 0.
    pub fn new() -> Self {
        ScriptedRunner::default()
    }

    /// Scripts the method whose name, or fqname suffix (`Class/method`), is `name`.
    pub fn on(
        mut self,
        name: &str,
        script: impl Fn(&mut Runtime<'_>, &MethodInvocation) -> Result<i32, AeError>
            + Send
            + Sync
            + 'static,
    ) -> Self {
        self.scripts.push((name.to_lowercase(), Arc::new(script)));
        self
    }

    /// Scripts a method that just exits with `rc`.
    pub fn exit(self, name: &str, rc: i32) -> Self {
        self.on(name, move |_, _| Ok(rc))
    }

    /// The calls so far: `(fqname, inputs)`.
    pub fn calls(&self) -> Vec<(String, IndexMap<String, Value>)> {
        self.calls.lock().map(|c| c.clone()).unwrap_or_default()
    }

    /// A shared handle on the call record (it stays valid after the runner moves).
    pub fn call_log(&self) -> CallLog {
        Arc::clone(&self.calls)
    }
}

impl MethodRunner for ScriptedRunner {
    fn run(&self, rt: &mut Runtime<'_>, method: &MethodInvocation) -> Result<i32, AeError> {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push((method.fqname.clone(), method.inputs.clone()));
        }
        let fq = method.fqname.to_lowercase();
        let script = self.scripts.iter().find(|(k, _)| {
            *k == method.name
                || fq == *k
                || fq.ends_with(&format!("/{}", k.trim_start_matches('/')))
        });
        match script {
            Some((_, s)) => s(rt, method),
            None => Ok(0),
        }
    }
}

/// A method found by name resolution.
#[derive(Clone, Debug)]
pub(crate) enum Resolved {
    /// A datastore method.
    Datastore(ClassId, usize),
    /// A `$/object` built-in (`log_object`, …).
    ObjectBuiltin(&'static str),
}

impl Runtime<'_> {
    /// Runs a method field's or hook's call string in the current object (`process_method_raw`):
    /// blank or `#…` does nothing; the result goes to `collect` when given.
    pub(crate) fn process_method_raw(
        &mut self,
        call: Option<&str>,
        collect: Option<&str>,
    ) -> Result<(), EngineError> {
        let Some(call) = call.filter(|c| !c.trim().is_empty() && !c.trim_start().starts_with('#'))
        else {
            return Ok(());
        };
        let parsed = parse_call(call)?;
        let object = self.ws.current();
        let args: IndexMap<String, Value> = parsed
            .args
            .iter()
            .map(|(k, a)| {
                let v = match a {
                    CallArg::Str(s) => Value::String(s.clone()),
                    CallArg::Int(i) => Value::Integer(*i),
                    CallArg::Attribute(n) => {
                        self.ws.obj(object).get(n).cloned().unwrap_or_default()
                    }
                };
                (k.clone(), v)
            })
            .collect();
        let result = self.invoke_method(
            parsed.namespace.as_deref(),
            parsed.class.as_deref(),
            &parsed.name,
            args,
        )?;
        if let Some(c) = collect.filter(|c| !c.trim().is_empty()) {
            self.ws.obj_mut(object).set(c, result);
        }
        Ok(())
    }

    /// Runs several `;`-separated calls (state hooks), each substituted first.
    pub fn call_methods(&mut self, calls: &str) -> Result<(), EngineError> {
        for call in calls.split(';') {
            let call = call.trim();
            if call.is_empty() || call.starts_with('#') {
                continue;
            }
            let call = substitute(&mut self.ws, call)?;
            self.process_method_raw(Some(&call), None)?;
        }
        Ok(())
    }

    /// `method:`/`miqaemethod:` URIs: `/ns/Class/method?args` in the current object.
    pub(crate) fn process_method_via_uri(
        &mut self,
        path: &str,
        args: IndexMap<String, String>,
    ) -> Result<Value, EngineError> {
        let mut parts: Vec<String> = path.split('/').skip(1).map(str::to_lowercase).collect();
        let name = parts.pop().unwrap_or_default();
        let class = parts.pop();
        let ns = parts.join("/");
        let args = args
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        self.invoke_method(
            Some(ns.as_str()).filter(|n| !n.is_empty()),
            class.as_deref(),
            &name,
            args,
        )
    }

    /// Resolves and runs `[ns/]class.name` from the current object (`invoke_method`).
    pub fn invoke_method(
        &mut self,
        namespace: Option<&str>,
        class: Option<&str>,
        name: &str,
        args: IndexMap<String, Value>,
    ) -> Result<Value, EngineError> {
        let object = self.ws.current();
        let (obj_ns, obj_class) = {
            let o = self.ws.obj(object);
            (
                o.namespace.clone().unwrap_or_default(),
                o.class_name.clone().unwrap_or_default(),
            )
        };
        let ds = self.engine.datastore();
        let mut found: Option<Resolved> = None;
        if class.is_none() {
            // The object's class (as overlaid), then what every class inherits from $/object.
            if let Some(id) = self.class_of(object) {
                let c = ds.class(id);
                if let Some(i) = c.methods.iter().position(|m| {
                    m.name.eq_ignore_ascii_case(name)
                        && m.scope.as_deref().is_none_or(|s| s != "class")
                }) {
                    found = Some(Resolved::Datastore(id, i));
                }
            }
            if found.is_none() {
                found = OBJECT_METHODS
                    .iter()
                    .find(|m| **m == name)
                    .map(|m| Resolved::ObjectBuiltin(m));
            }
        }
        let namespace = namespace.map(str::to_string).unwrap_or(obj_ns);
        let class = class.map(str::to_string).unwrap_or(obj_class);
        let fq = format!("{namespace}/{class}");
        // method_override: the first namespace segment is taken as a domain and dropped.
        let relative: Vec<&str> = namespace.split('/').skip(1).collect();
        let relative = relative.join("/");
        if let Some(updated) = find_first(ds, &relative, &class, Target::Method(name)) {
            self.ws.log_line(
                LogLevel::Info,
                format!("Updated namespace [{relative}/{class}/{name}  {updated}]"),
            );
            if !updated.eq_ignore_ascii_case(&namespace) || found.is_none() {
                if let Some(id) = ds.class_by_fqname(&updated, &class) {
                    found = ds
                        .class(id)
                        .methods
                        .iter()
                        .position(|m| m.name.eq_ignore_ascii_case(name))
                        .map(|i| Resolved::Datastore(id, i));
                }
            }
        }
        if found.is_none() {
            if let Some(id) = ds.class_by_fqname(&namespace, &class) {
                found = ds
                    .class(id)
                    .methods
                    .iter()
                    .position(|m| m.name == name)
                    .map(|i| Resolved::Datastore(id, i));
            }
        }
        let Some(resolved) = found else {
            return Err(AeError::MethodNotFound(format!(
                "Method [{name}] not found in class [{fq}]"
            ))
            .into());
        };
        self.ws.push_current(object, Some(name));
        let result = self.invoke(object, &resolved, name, &args);
        self.ws.pop_current();
        result
    }

    /// `MiqAeMethod.invoke`: inputs, then the location's runner.
    fn invoke(
        &mut self,
        object: ObjectId,
        resolved: &Resolved,
        name: &str,
        args: &IndexMap<String, Value>,
    ) -> Result<Value, EngineError> {
        let engine = self.engine;
        let ds = engine.datastore();
        let (fqname, location, inputs_decl, method) = match resolved {
            Resolved::Datastore(c, i) => {
                let m = &ds.class(*c).methods[*i];
                (
                    format!(
                        "/{}/{}/{}",
                        ds.class_namespace_fq(*c),
                        ds.class(*c).name,
                        m.name
                    ),
                    m.location.as_str(),
                    m.inputs.as_slice(),
                    Some(m),
                )
            }
            Resolved::ObjectBuiltin(b) => (
                format!("/$/object/{b}"),
                "builtin",
                crate::builtin::object_method_inputs(b),
                None,
            ),
        };
        let served = matches!(resolved, Resolved::Datastore(..)).then(|| fqname.clone());
        self.note_method(served, object);
        let inputs = self.method_inputs(object, &fqname, inputs_decl, args)?;
        let saved_inputs = self.ws.inputs().clone();
        self.ws.clear_inputs();
        for (k, v) in &inputs {
            self.ws.set_input(k, v.clone());
        }
        let result = self.run_located(object, &fqname, name, location, method, inputs);
        self.ws.clear_inputs();
        for (k, v) in saved_inputs {
            self.ws.set_input(&k, v);
        }
        result
    }

    /// Inputs by declared order: call argument (exact key) → the object's attribute →
    /// the substituted default, converted by datatype; nil is `MethodParmMissing`.
    fn method_inputs(
        &mut self,
        object: ObjectId,
        fqname: &str,
        declared: &[Field],
        args: &IndexMap<String, Value>,
    ) -> Result<IndexMap<String, Value>, EngineError> {
        let mut inputs = IndexMap::new();
        for f in declared {
            let key = &f.name;
            let mut value = args.get(key).cloned().unwrap_or_default();
            if matches!(value, Value::Nil) {
                let attr = self.ws.obj(object).attributes().get(key).cloned();
                value = match attr {
                    Some(v) if v.is_truthy() => v,
                    // `get_value`: a null-coalescing input takes the first non-blank part
                    // of its default, as an attribute field does.
                    _ if f.datatype.as_deref() == Some(NULL_COALESCING) => {
                        null_coalesce(&mut self.ws, None, f.default_value.as_deref())
                            .map_or(Value::Nil, Value::String)
                    }
                    // `get_field_value`: `${}` only when the field substitutes.
                    _ => match &f.default_value {
                        Some(d) if f.substitute => Value::String(substitute(&mut self.ws, d)?),
                        Some(d) => Value::String(d.clone()),
                        None => Value::Nil,
                    },
                };
            }
            let datatype = f.datatype.as_deref();
            let converted = self.convert(value, datatype)?;
            // The engine also converts the object's attribute in place.
            if let Some(attr) = self.ws.obj(object).attributes().get(key).cloned() {
                if attr.is_truthy() && datatype != Some("string") {
                    let c = self.convert(attr, datatype)?;
                    self.ws.obj_mut(object).set(key, c);
                }
            }
            if matches!(converted, Value::Nil) {
                return Err(AeError::MethodParmMissing(format!(
                    "Method [{fqname}] requires parameter [{key}]"
                ))
                .into());
            }
            inputs.insert(key.clone(), converted);
        }
        Ok(inputs)
    }

    fn run_located(
        &mut self,
        object: ObjectId,
        fqname: &str,
        name: &str,
        location: &str,
        method: Option<&crate::datastore::Method>,
        inputs: IndexMap<String, Value>,
    ) -> Result<Value, EngineError> {
        let inputs_text = crate::deliver::string_keyed_hash(&inputs)
            .masked()
            .inspect();
        if let Some(stub) = self.engine.method_stub(fqname) {
            self.ws.log_line(
                LogLevel::Info,
                format!("Invoking [stub] method [{fqname}] with inputs [{inputs_text}]"),
            );
            return self.run_stub(&stub).map(Value::Integer);
        }
        if !["inline", "builtin", "uri", "expression", "playbook"].contains(&location) {
            return Ok(Value::Nil);
        }
        self.ws.log_line(
            LogLevel::Info,
            format!("Invoking [{location}] method [{fqname}] with inputs [{inputs_text}]"),
        );
        match location {
            "builtin" => {
                let data = method
                    .and_then(|m| m.data.as_deref())
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or_else(|| method.map_or(name, |m| m.name.as_str()))
                    .to_lowercase();
                crate::builtin::invoke(self, object, &format!("miq_{data}"), &inputs)
            }
            "uri" => Ok(Value::Nil),
            _ => {
                let body = method.and_then(|m| m.data.clone()).unwrap_or_default();
                if location == "inline" && body.trim().is_empty() {
                    // The engine does not run an empty body; one whose .rb was missing from
                    // the export is said (lint reports it too), never passed over silently.
                    if method.is_some_and(|m| m.data.is_none()) {
                        self.ws.log_line(
                            LogLevel::Warn,
                            format!("Method [{fqname}] has no body (its .rb is missing from the export): nothing runs, as in ManageIQ"),
                        );
                    }
                    return Ok(Value::Nil);
                }
                let embedded = match method {
                    Some(m) => self.embedded_methods(m, fqname)?,
                    None => Vec::new(),
                };
                let invocation = MethodInvocation {
                    fqname: fqname.to_string(),
                    name: name.to_string(),
                    location: location.to_string(),
                    language: method.and_then(|m| m.language.clone()),
                    body,
                    embedded,
                    inputs,
                    object,
                };
                self.run_body(&invocation).map(Value::Integer)
            }
        }
    }

    /// Runs a body through the runner with the engine's log lines and exit-code mapping.
    fn run_body(&mut self, invocation: &MethodInvocation) -> Result<i64, EngineError> {
        let Some(runner) = self.engine.runner() else {
            return Err(AeError::AbortInstantiation(format!(
                "no MethodRunner is set: cannot run [{}] method [{}]",
                invocation.location, invocation.fqname
            ))
            .into());
        };
        let fq = &invocation.fqname;
        self.ws
            .log_line(LogLevel::Info, format!("<AEMethod [{fq}]> Starting "));
        let rc = match runner.run(self, invocation) {
            Ok(rc) => rc,
            Err(e) => {
                // An uncaught exception: the preamble logs it, Ruby exits 1.
                self.ws.log(
                    LogLevel::Error,
                    "The following error occurred during method evaluation:",
                );
                self.ws
                    .log(LogLevel::Error, &format!("  {}: {e}", e.engine_class()));
                1
            }
        };
        self.ws
            .log_line(LogLevel::Info, format!("<AEMethod [{fq}]> Ending"));
        self.exit_status(rc)
    }

    /// `process_ruby_method_results`: 0 → info, 4 → warn, 8 → Stop, 16 → Abort, else
    /// UnknownMethodRc.
    pub(crate) fn exit_status(&mut self, rc: i32) -> Result<i64, EngineError> {
        let (level, message) = MethodOutcome::from_exit_status(Some(rc)).into_result()?;
        self.ws.log_line(level, message);
        Ok(i64::from(rc))
    }

    pub(crate) fn run_stub(&mut self, stub: &Stub) -> Result<i64, EngineError> {
        match stub {
            Stub::Exit(rc) => self.exit_status(*rc),
            Stub::Attributes(attrs) => {
                let current = self.ws.current();
                for (k, v) in attrs {
                    self.ws.obj_mut(current).set(k, v.clone());
                }
                Ok(0)
            }
            Stub::Call(f) => {
                let rc = f(self)?;
                self.exit_status(rc)
            }
        }
    }

    /// Embedded method bodies, depth-first, each once, never the top method.
    fn embedded_methods(
        &mut self,
        method: &crate::datastore::Method,
        top: &str,
    ) -> Result<Vec<(String, String)>, EngineError> {
        let mut out = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        self.embed(method, top, &mut out, &mut seen)?;
        Ok(out)
    }

    fn embed(
        &mut self,
        method: &crate::datastore::Method,
        top: &str,
        out: &mut Vec<(String, String)>,
        seen: &mut HashSet<String>,
    ) -> Result<(), EngineError> {
        let ds = self.engine.datastore();
        for path in &method.embedded_methods {
            let mut parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let name = parts.pop().unwrap_or("");
            let class = parts.pop().unwrap_or("");
            let ns = parts.join("/");
            // `overlay_method`: found in a domain, it is logged as the engine's domain
            // search logs it (`ns/Class/method`, then the namespace with its domain).
            let matched = match find_first(ds, &ns, class, Target::Method(name)) {
                Some(updated) => {
                    self.ws.log_line(
                        LogLevel::Info,
                        format!("Updated namespace [{ns}/{class}/{name}  {updated}]"),
                    );
                    updated
                }
                None => ns,
            };
            let found = ds.class_by_fqname(&matched, class).and_then(|id| {
                ds.class(id)
                    .method(name)
                    .map(|m| (format!("/{matched}/{class}/{name}"), m))
            });
            let Some((fq, m)) = found else {
                return Err(
                    AeError::MethodNotFound(format!("Embedded method {path} not found")).into(),
                );
            };
            if fq.eq_ignore_ascii_case(top) {
                self.ws.log_line(
                    LogLevel::Info,
                    format!("Skipping {fq}, cannot reference the top method"),
                );
            } else if !seen.insert(fq.to_lowercase()) {
                self.ws.log_line(
                    LogLevel::Info,
                    format!("Already loaded embedded method {fq}"),
                );
            } else {
                out.push((fq.clone(), m.data.clone().unwrap_or_default()));
                self.ws
                    .log_line(LogLevel::Info, format!("Loading embedded method {fq}"));
                self.embed(m, top, out, seen)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_syntax() {
        let c = parse_call("update_provision_status(status => 'Creating VM', n => 5, x => attr)")
            .unwrap();
        assert_eq!(c.name, "update_provision_status");
        assert_eq!(c.class, None);
        assert_eq!(
            c.args,
            vec![
                ("status".into(), CallArg::Str("Creating VM".into())),
                ("n".into(), CallArg::Int(5)),
                ("x".into(), CallArg::Attribute("attr".into())),
            ]
        );
        let c = parse_call("/Factory/Method.Test").unwrap();
        assert_eq!(
            (c.namespace.as_deref(), c.class.as_deref(), c.name.as_str()),
            (Some("/factory"), Some("method"), "test")
        );
        let c = parse_call("SPEC_DOMAIN/factory/method.m").unwrap();
        assert_eq!(c.namespace.as_deref(), Some("spec_domain/factory"));
        assert_eq!(
            parse_call("a.b.c").unwrap_err(),
            AeError::InvalidMethod("invalid method name: [a.b.c]".into())
        );
        assert!(matches!(
            parse_call("bad call!"),
            Err(AeError::InvalidMethod(_))
        ));
    }
}
