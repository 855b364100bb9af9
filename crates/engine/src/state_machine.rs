//! State machines (`MiqAeStateMachine`, `MiqAeStateInfo`): a class with any `state` field
//! is a state machine; its states are its state fields matching the message, in priority
//! order. Every `ae_*` key lives on the workspace root.
//!
//! Per state field (`Runtime::process_state`): `ae_state`/`ae_result` are initialised
//! when blank, `ae_next_state` and `ae_retry_server_affinity` reset; the state runs only
//! when `ae_state` names it and `ae_result` is `ok`. Then on_entry, main (if still
//! runnable; the limits `max_retries`/`max_time` are checked here), and by `ae_result`:
//! ok → on_exit; skip → next state without on_exit; retry/restart/async_launch → one more
//! retry, then on_exit (not for async_launch, which becomes retry); error → on_error (which
//! may `continue`), no on_exit. Each step is wrapped: an exception other than
//! StopInstantiation becomes `ae_result = 'error'` with the engine's `ae_reason`.
//!
//! Nested machines: starting a machine saves the enclosing one's four keys (`ae_state`,
//! `ae_state_retries`, `ae_state_started`, `ae_state_max_retries`) under its object name,
//! clears them on the root and restores the new machine's saved keys if a requeue carried
//! them (`ae_state_previous`); ending it drops (ok) or saves (retry) its own and restores
//! the enclosing machine's.

use std::sync::LazyLock;

use indexmap::IndexMap;
use miq_automate_core::ruby::{ruby_time_parse, ruby_to_i, to_i_with_method};
use miq_automate_core::substitution::substitute;
use miq_automate_core::value::{ruby_float_to_s, ruby_time_to_s};
use miq_automate_core::{AeError, LogLevel, ObjectId, Value};
use regex::Regex;
use serde::Serialize;

use crate::engine::Runtime;
use crate::error::EngineError;
use crate::object::{message_matches, MergedField};

static RE_STATE_METHOD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)^METHOD::(.*)$").expect("valid regex"));

/// The root keys a machine's progress is kept in (`STATE_SALIENT_ATTRIBUTES`).
pub const STATE_SALIENT_ATTRIBUTES: [&str; 4] = [
    "ae_state",
    "ae_state_retries",
    "ae_state_started",
    "ae_state_max_retries",
];

/// `current_state_info`: each machine's four keys by object name (`/Dom/ns/Class/inst`).
pub type StateInfo = IndexMap<String, IndexMap<String, Value>>;

/// One thing a state machine did, for [`crate::Delivery`]'s trace.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum TraceEvent {
    /// A runnable state began (after `ae_state_started`/`ae_state_retries` were set).
    Enter {
        /// The machine's object name.
        machine: String,
        /// The state.
        state: String,
        /// `ae_state_retries` on entry.
        retries: i64,
    },
    /// One hook method (`on_entry`, `on_exit`, `on_error`) or the main step ran.
    Step {
        /// The machine's object name.
        machine: String,
        /// The state.
        state: String,
        /// `on_entry`, `main`, `on_exit` or `on_error`.
        step: String,
        /// The call (hooks, `METHOD::`) or the relationship (main), substituted.
        method: String,
        /// Root `ae_result` after it (`error` when it raised).
        result: String,
        /// What it raised (the engine's `ae_reason` text is set from it).
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Root `ae_reason` after it, when not blank (secrets masked).
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// What served it, with its domain: the relationship's instance for a main
        /// (`/Dom/ns/Class/Instance`), the method for a hook or `METHOD::`
        /// (`/Dom/ns/Class/method`). None for a `$/object` built-in, or when nothing of the
        /// datastore served it (a stub of an instance no domain has).
        #[serde(skip_serializing_if = "Option::is_none")]
        fqname: Option<String>,
        /// The first segment of `fqname`.
        #[serde(skip_serializing_if = "Option::is_none")]
        domain: Option<String>,
        /// For a main: the first method the relationship's instance ran (`/Dom/ns/Class/method`).
        #[serde(skip_serializing_if = "Option::is_none")]
        method_fqname: Option<String>,
    },
    /// The state ended.
    Done {
        /// The machine's object name.
        machine: String,
        /// The state.
        state: String,
        /// How: `ok`, `skip`, `retry`, `restart`, `async_launch`, `error`, `continue`
        /// (on_error reset the error), or what else main left in `ae_result`.
        result: String,
        /// The state the machine moved to (`""` after the last), when it moved.
        #[serde(skip_serializing_if = "Option::is_none")]
        next_state: Option<String>,
        /// `ae_state_retries` when the state ended (before a move to the next state resets
        /// it; after a retry's increment).
        retries: i64,
        /// When the state ended in a retry (`retry`, `restart`, `async_launch`): root
        /// `ae_retry_interval` in seconds, when set.
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_interval: Option<i64>,
        /// Root `ae_reason` when the result is not `ok` and the reason not blank (secrets
        /// masked).
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// A method running as a state's step (on_entry, main, on_exit, on_error) called
    /// `$evm.instantiate(uri)` (a rollback's undo steps). Pushed when the instantiation
    /// ended, so before the step's own event.
    Instantiate {
        /// The machine's object name.
        machine: String,
        /// The state.
        state: String,
        /// The step running: `on_entry`, `main`, `on_exit` or `on_error`.
        step: String,
        /// The URI as the method gave it (secrets masked).
        uri: String,
        /// What it resolved to, with its domain (`/Dom/ns/Class/Instance`, or the method of a
        /// `method:` URI); None when nothing of the datastore did.
        #[serde(skip_serializing_if = "Option::is_none")]
        fqname: Option<String>,
        /// The first segment of `fqname`.
        #[serde(skip_serializing_if = "Option::is_none")]
        domain: Option<String>,
        /// `error` when it raised or was not found (`error`), or set root `ae_result` to
        /// `error` (`reason`); else `ok`.
        result: String,
        /// The exception class and message (also a not-found class or instance, which
        /// `$evm.instantiate` only logs).
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// Root `ae_reason` when the instantiated thing set `ae_result` to `error`.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The state raised out of the machine (MIQ_STOP, an invalid next state).
    Raised {
        /// The machine's object name.
        machine: String,
        /// The state.
        state: String,
        /// The exception class and message.
        error: String,
    },
}

/// What a step, or a method's `$evm.instantiate`, resolved first (see
/// [`Runtime::note_instance`], [`Runtime::note_method`]).
#[derive(Clone, Debug, Default)]
pub(crate) struct Resolution {
    /// Set once anything resolved (a built-in too, which has no path).
    done: bool,
    /// Its path with its domain, when the datastore served it.
    fqname: Option<String>,
    /// The object, when an instance was resolved.
    object: Option<ObjectId>,
    /// Set once that object ran a method.
    method_done: bool,
    /// The first method that object ran, when the datastore served it.
    method_fqname: Option<String>,
}

impl Resolution {
    fn instance(&mut self, fqname: Option<String>, object: ObjectId) {
        if !self.done {
            self.done = true;
            self.fqname = fqname;
            self.object = Some(object);
        }
    }

    fn method(&mut self, fqname: Option<String>, object: ObjectId) {
        if !self.done {
            self.done = true;
            self.fqname = fqname;
        } else if self.object == Some(object) && !self.method_done {
            self.method_done = true;
            self.method_fqname = fqname;
        }
    }
}

/// A state's step while it runs: where its `$evm.instantiate` calls are traced, and what
/// served it.
#[derive(Clone, Debug)]
pub(crate) struct StepProbe {
    machine: String,
    state: String,
    step: String,
    resolution: Resolution,
}

/// An `$evm.instantiate` of a step's method while it runs: what the level it instantiates
/// (`depth`, the nesting then) resolved, and a not-found error the engine only logs.
#[derive(Clone, Debug)]
pub(crate) struct InstantiateWatch {
    depth: usize,
    resolution: Resolution,
    error: Option<String>,
    ae_result: Value,
    ae_reason: Value,
}

/// The first segment of `/Dom/ns/Class/name`.
fn domain_of(fqname: &str) -> String {
    fqname
        .trim_start_matches('/')
        .split('/')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Text of a trace with its secrets masked (the core's one sanitizer).
fn masked_text(v: &Value) -> Option<String> {
    (!v.is_blank()).then(|| miq_automate_core::password::sanitize(&v.masked().to_ruby_s()))
}

fn s(text: &str) -> Value {
    Value::String(text.to_string())
}

/// Ruby's `to_i` on an attribute value (nil and others → 0).
pub(crate) fn value_to_i(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        Value::Float(f) if f.is_finite() => f.trunc() as i64,
        Value::String(t) => ruby_to_i(t).unwrap_or(0),
        _ => 0,
    }
}

/// Reads a requeue's YAML (`ae_state_data`, `ae_state_previous`) into a value: mappings
/// become Hashes, `:name` strings Symbols, Ruby's tags (`!ruby/hash:…StateVarHash`) are
/// looked through.
pub fn yaml_to_value(text: &str) -> Result<Value, AeError> {
    let yaml: serde_norway::Value = serde_norway::from_str(text)
        .map_err(|e| AeError::ArgumentError(format!("(<unknown>): {e}")))?;
    Ok(convert_yaml(&yaml))
}

fn convert_yaml(y: &serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match y {
        Y::Null => Value::Nil,
        Y::Bool(b) => Value::Bool(*b),
        Y::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Y::String(t) => match t.strip_prefix(':') {
            Some(sym)
                if !sym.is_empty()
                    && sym.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
            {
                Value::Symbol(sym.to_string())
            }
            _ => Value::String(t.clone()),
        },
        Y::Sequence(items) => Value::Array(items.iter().map(convert_yaml).collect()),
        Y::Mapping(m) => Value::Hash(
            m.iter()
                .map(|(k, v)| (convert_yaml(k), convert_yaml(v)))
                .collect(),
        ),
        Y::Tagged(t) => convert_yaml(&t.value),
    }
}

/// The saved state info of a Hash value (`{"/Dom/ns/C/i" => {"ae_state" => …}}`).
pub fn state_info_from_value(v: &Value) -> StateInfo {
    let mut info = StateInfo::new();
    if let Value::Hash(pairs) = v {
        for (k, keys) in pairs {
            let mut saved = IndexMap::new();
            if let Value::Hash(kv) = keys {
                for (name, value) in kv {
                    saved.insert(name.to_ruby_s(), value.clone());
                }
            }
            info.insert(k.to_ruby_s(), saved);
        }
    }
    info
}

/// The saved state info as a Hash value (what a requeue carries as `ae_state_previous`).
pub fn state_info_to_value(info: &StateInfo) -> Value {
    Value::Hash(
        info.iter()
            .map(|(k, keys)| {
                (
                    s(k),
                    Value::Hash(keys.iter().map(|(n, v)| (s(n), v.clone())).collect()),
                )
            })
            .collect(),
    )
}

impl Runtime<'_> {
    fn root_id(&self) -> ObjectId {
        self.root.unwrap_or_else(|| self.ws.root())
    }

    fn root_value(&self, key: &str) -> Value {
        self.ws.obj(self.root_id()).read(key)
    }

    fn set_root_value(&mut self, key: &str, value: Value) {
        let root = self.root_id();
        self.ws.obj_mut(root).set(key, value);
    }

    /// `root[key] == text` (a String, compared exactly, as Ruby's `==`).
    fn root_is(&self, key: &str, text: &str) -> bool {
        matches!(self.root_value(key), Value::String(v) if v == text)
    }

    fn root_text(&self, key: &str) -> String {
        self.root_value(key).to_ruby_s()
    }

    fn now_to_s(&self) -> String {
        ruby_time_to_s(&self.engine.clock().now().fixed_offset())
    }

    fn machine_name(&self) -> String {
        self.state_machines.last().cloned().unwrap_or_default()
    }

    // ----- what served a step, and its `$evm.instantiate` calls -----------------------

    /// An instance was resolved (its datastore path with its domain, when known) into
    /// `object`: the running step's first resolution, or a watched instantiation's.
    pub(crate) fn note_instance(&mut self, fqname: Option<String>, object: ObjectId) {
        let depth = self.nesting.len();
        if let Some(p) = self.steps.last_mut() {
            p.resolution.instance(fqname.clone(), object);
        }
        if let Some(w) = self.watches.last_mut().filter(|w| w.depth == depth) {
            w.resolution.instance(fqname, object);
        }
    }

    /// A method was resolved to run in `object` (its datastore path, None for a built-in).
    pub(crate) fn note_method(&mut self, fqname: Option<String>, object: ObjectId) {
        let depth = self.nesting.len();
        if let Some(p) = self.steps.last_mut() {
            p.resolution.method(fqname.clone(), object);
        }
        if let Some(w) = self.watches.last_mut().filter(|w| w.depth == depth) {
            w.resolution.method(fqname, object);
        }
    }

    /// A datastore error the engine logs and turns into a nil object (a class or instance
    /// not found): a watched instantiation's error.
    pub(crate) fn note_swallowed(&mut self, error: &EngineError) {
        let depth = self.nesting.len();
        if let Some(w) = self.watches.last_mut().filter(|w| w.depth == depth) {
            w.error.get_or_insert_with(|| {
                miq_automate_core::password::sanitize(&format!("{}: {error}", error.engine_class()))
            });
        }
    }

    /// `$evm.instantiate` begins: watched when a state's step is running.
    pub(crate) fn watch_instantiate(&mut self) -> bool {
        if self.steps.is_empty() {
            return false;
        }
        let watch = InstantiateWatch {
            depth: self.nesting.len() + 1,
            resolution: Resolution::default(),
            error: None,
            ae_result: self.root_value("ae_result"),
            ae_reason: self.root_value("ae_reason"),
        };
        self.watches.push(watch);
        true
    }

    /// `$evm.instantiate` ended (watched by [`Runtime::watch_instantiate`]): its event.
    pub(crate) fn trace_instantiate(&mut self, uri: &str, error: Option<&EngineError>) {
        let (Some(w), Some(p)) = (self.watches.pop(), self.steps.last()) else {
            return;
        };
        let (machine, state, step) = (p.machine.clone(), p.state.clone(), p.step.clone());
        let ae_result = self.root_value("ae_result");
        let ae_reason = self.root_value("ae_reason");
        let set_error = matches!(&ae_result, Value::String(r) if r == "error")
            && (ae_result != w.ae_result || ae_reason != w.ae_reason);
        let error = error
            .map(|e| miq_automate_core::password::sanitize(&format!("{}: {e}", e.engine_class())))
            .or(w.error);
        let fqname = w.resolution.fqname;
        self.trace.push(TraceEvent::Instantiate {
            machine,
            state,
            step,
            uri: miq_automate_core::password::sanitize_uri(uri),
            domain: fqname.as_deref().map(domain_of),
            fqname,
            result: if error.is_some() || set_error {
                "error"
            } else {
                "ok"
            }
            .to_string(),
            error,
            reason: set_error.then(|| masked_text(&ae_reason)).flatten(),
        });
    }

    fn begin_step(&mut self, state: &str, step: &str) {
        self.steps.push(StepProbe {
            machine: self.machine_name(),
            state: state.to_string(),
            step: step.to_string(),
            resolution: Resolution::default(),
        });
    }

    /// `persist_state_hash.merge!(data)`: a requeue's state vars.
    pub(crate) fn merge_state_data(&mut self, data: &Value) -> Result<(), EngineError> {
        match data {
            Value::Hash(pairs) => {
                for (k, v) in pairs {
                    self.ws.state_vars_mut().set(k, v.clone())?;
                }
                Ok(())
            }
            Value::Nil => Ok(()),
            other => Err(AeError::ArgumentError(format!(
                "ae_state_data must be a Hash, not {}",
                other.ruby_class()
            ))
            .into()),
        }
    }

    // ----- MiqAeStateInfo -------------------------------------------------------------

    fn save_current_state_info(&mut self, key: &str) {
        if !self.root_value("ae_state").is_truthy() {
            return;
        }
        let saved = STATE_SALIENT_ATTRIBUTES
            .iter()
            .map(|k| (k.to_string(), self.root_value(k)))
            .collect();
        self.state_info.insert(key.to_string(), saved);
    }

    fn reset_state_info(&mut self, key: &str) {
        for k in STATE_SALIENT_ATTRIBUTES {
            self.set_root_value(k, Value::Nil);
        }
        if let Some(saved) = self.state_info.get(key).cloned() {
            for (k, v) in saved {
                self.set_root_value(&k, v);
            }
        }
    }

    fn root_alive(&self) -> bool {
        self.root.is_some_and(|r| !self.removed.contains(&r))
    }

    /// A state machine object was created: save the enclosing machine's keys, clear
    /// them, restore this one's (WS#instantiate).
    pub(crate) fn begin_state_machine(&mut self, object_name: String) {
        if let Some(parent) = self.state_machines.last().cloned() {
            self.save_current_state_info(&parent);
        }
        self.state_machines.push(object_name.clone());
        self.reset_state_info(&object_name);
    }

    /// `pop_state_machine_info`: ok drops the machine's saved keys, retry saves them; the
    /// enclosing machine's keys come back.
    pub(crate) fn end_state_machine(&mut self) {
        if !self.root_alive() {
            return;
        }
        let Some(last) = self.state_machines.pop() else {
            return;
        };
        if self.root_is("ae_result", "ok") {
            self.state_info.shift_remove(&last);
        } else if self.root_is("ae_result", "retry") {
            self.save_current_state_info(&last);
        }
        if let Some(parent) = self.state_machines.last().cloned() {
            self.reset_state_info(&parent);
        }
    }

    // ----- MiqAeStateMachine ----------------------------------------------------------

    fn state_runnable(&self, name: &str) -> bool {
        self.root_is("ae_state", name) && self.root_is("ae_result", "ok")
    }

    fn increment_state_retries(&mut self) {
        let retries = value_to_i(&self.root_value("ae_state_retries"));
        self.set_root_value(
            "ae_state_retries",
            Value::Integer(retries.saturating_add(1)),
        );
    }

    /// `process_state`: one state field of the current state machine.
    pub(crate) fn process_state(
        &mut self,
        id: ObjectId,
        f: &MergedField,
        message: &str,
    ) -> Result<(), EngineError> {
        let result = self.process_state_inner(id, f, message);
        if let Err(e) = &result {
            self.trace.push(TraceEvent::Raised {
                machine: self.machine_name(),
                state: f.name.clone(),
                error: format!("{}: {e}", e.engine_class()),
            });
        }
        result
    }

    fn process_state_inner(
        &mut self,
        id: ObjectId,
        f: &MergedField,
        message: &str,
    ) -> Result<(), EngineError> {
        let name = f.name.as_str();
        if self.root_value("ae_state").is_blank() {
            self.set_root_value("ae_state", s(name));
        }
        if self.root_value("ae_result").is_blank() {
            self.set_root_value("ae_result", s("ok"));
        }
        self.set_root_value("ae_next_state", s(""));
        self.set_root_value("ae_retry_server_affinity", Value::Bool(false));
        if !self.state_runnable(name) {
            return Ok(());
        }
        // initialize_state_maxima_metadata
        if self.root_value("ae_state_started").is_blank() {
            let now = self.now_to_s();
            self.set_root_value("ae_state_started", s(&now));
        }
        if self.root_value("ae_state_retries").is_blank() {
            self.set_root_value("ae_state_retries", Value::Integer(0));
        }
        let max = ruby_to_i(f.max_retries.as_deref().unwrap_or("")).unwrap_or(i64::MAX);
        self.set_root_value("ae_state_max_retries", Value::Integer(max));
        self.trace.push(TraceEvent::Enter {
            machine: self.machine_name(),
            state: name.to_string(),
            retries: value_to_i(&self.root_value("ae_state_retries")),
        });

        self.state_step(f, Some("on_entry"), |rt| {
            rt.process_state_method(f, "on_entry")
        })?;
        if self.state_runnable(name) {
            self.state_step(f, None, |rt| rt.process_state_relationship(id, f, message))?;
        }

        let result = self.root_text("ae_result");
        match self.root_value("ae_result") {
            Value::String(r) if r == "ok" => {
                self.ws
                    .log_line(LogLevel::Info, format!("Processed State=[{name}]"));
            }
            Value::String(r) if r == "skip" => {
                self.ws
                    .log_line(LogLevel::Warn, format!("Skipping State=[{name}]"));
                let retries = value_to_i(&self.root_value("ae_state_retries"));
                let next = self.set_next_state(id, f, message)?;
                self.done(name, "skip", next, retries);
                return Ok(());
            }
            Value::String(r) if ["retry", "restart", "async_launch"].contains(&r.as_str()) => {
                self.increment_state_retries();
            }
            Value::String(r) if r == "error" => {
                self.ws
                    .log_line(LogLevel::Warn, format!("Error in State=[{name}]"));
                let retries = value_to_i(&self.root_value("ae_state_retries"));
                let mut next = None;
                let mut continued = false;
                self.state_step(f, Some("on_error"), |rt| {
                    rt.process_state_method(f, "on_error")?;
                    if rt.root_is("ae_result", "continue") {
                        rt.ws
                            .log_line(LogLevel::Warn, format!("Resetting Error in State=[{name}]"));
                        rt.set_root_value("ae_result", s("ok"));
                        continued = true;
                        next = rt.set_next_state(id, f, message)?;
                    }
                    Ok(())
                })?;
                let outcome = if continued && self.root_is("ae_result", "ok") {
                    "continue"
                } else {
                    "error"
                };
                self.done(name, outcome, next, retries);
                return Ok(());
            }
            _ => {}
        }

        let state_in_retry = self.root_is("ae_result", "retry");
        if self.root_is("ae_result", "async_launch") {
            self.set_root_value("ae_result", s("retry"));
        } else {
            self.state_step(f, Some("on_exit"), |rt| {
                rt.process_state_method(f, "on_exit")?;
                if rt.root_is("ae_result", "retry") && !state_in_retry {
                    rt.increment_state_retries();
                }
                Ok(())
            })?;
        }
        let outcome = if result == "ok" {
            self.root_text("ae_result")
        } else {
            result
        };
        let retries = value_to_i(&self.root_value("ae_state_retries"));
        let next = self.set_next_state(id, f, message)?;
        self.done(name, &outcome, next, retries);
        Ok(())
    }

    fn done(&mut self, state: &str, result: &str, next_state: Option<String>, retries: i64) {
        let interval = self.root_value("ae_retry_interval");
        let retry_interval = if self.root_is("ae_result", "retry") && !interval.is_blank() {
            to_i_with_method(&interval.to_ruby_s()).ok().flatten()
        } else {
            None
        };
        let reason = if result == "ok" {
            None
        } else {
            masked_text(&self.root_value("ae_reason"))
        };
        self.trace.push(TraceEvent::Done {
            machine: self.machine_name(),
            state: state.to_string(),
            result: result.to_string(),
            next_state,
            retries,
            retry_interval,
            reason,
        });
    }

    /// `process_state_step_with_error_handling`: a step whose `ae_next_state` points
    /// elsewhere logs `Skipping to state` (and skips the state when it is on_entry);
    /// StopInstantiation goes on up; any other exception is the state's error.
    fn state_step(
        &mut self,
        f: &MergedField,
        step: Option<&str>,
        body: impl FnOnce(&mut Self) -> Result<(), EngineError>,
    ) -> Result<(), EngineError> {
        let current_state = self.root_value("ae_state");
        match body(self) {
            Ok(()) => {
                let next = self.root_value("ae_next_state");
                if !next.is_blank() && current_state != next {
                    self.ws.log_line(
                        LogLevel::Warn,
                        format!("Skipping to state {}", next.to_ruby_s()),
                    );
                    if step == Some("on_entry") {
                        self.set_root_value("ae_result", s("skip"));
                    }
                }
                Ok(())
            }
            Err(e) => {
                let text = format!(
                    "State=<{}> running {} raised exception: <{e}>",
                    f.name,
                    step.unwrap_or("")
                );
                self.ws.log_line(LogLevel::Error, text.clone());
                if matches!(e, EngineError::Ae(AeError::StopInstantiation(_))) {
                    return Err(e);
                }
                self.set_root_value("ae_reason", s(&text));
                self.set_root_value("ae_result", s("error"));
                Ok(())
            }
        }
    }

    /// `process_state_relationship`: the state's main step (a relationship, or
    /// `METHOD::call` run on the state machine object), after the limits.
    fn process_state_relationship(
        &mut self,
        id: ObjectId,
        f: &MergedField,
        message: &str,
    ) -> Result<(), EngineError> {
        let Some(rel) = self
            .field_value(f, false)?
            .filter(|r| !r.trim().is_empty() && !r.trim_start().starts_with('#'))
        else {
            return Ok(());
        };
        let name = f.name.as_str();
        self.ws
            .log_line(LogLevel::Info, format!("Processing State=[{name}]"));
        self.set_root_value("ae_state_step", s("main"));
        self.begin_step(name, "main");
        let work = (|| {
            self.enforce_state_maxima(f)?;
            if let Some(m) = RE_STATE_METHOD.captures(&rel) {
                self.process_method_raw(Some(&m[1]), None)
            } else {
                let got =
                    self.process_relationship(id, Some(&rel), message, f.collect.as_deref())?;
                if got {
                    Ok(())
                } else {
                    Err(EngineError::DatastoreError("empty relationship".into()))
                }
            }
        })();
        self.trace_step(name, "main", &rel, work.as_ref().err());
        work?;
        let result = self.root_text("ae_result");
        self.ws.log_line(
            LogLevel::Info,
            format!("Processed State=[{name}] with Result=[{result}]"),
        );
        Ok(())
    }

    /// The step's event (ending the step [`Runtime::begin_step`] began).
    fn trace_step(&mut self, state: &str, step: &str, method: &str, error: Option<&EngineError>) {
        let resolution = self.steps.pop().map(|p| p.resolution).unwrap_or_default();
        let fqname = resolution.fqname;
        self.trace.push(TraceEvent::Step {
            machine: self.machine_name(),
            state: state.to_string(),
            step: step.to_string(),
            // A relationship's query may carry `password::` arguments or URL userinfo.
            method: miq_automate_core::password::sanitize_uri(method),
            result: match error {
                Some(_) => "error".to_string(),
                None => self.root_text("ae_result"),
            },
            error: error.map(|e| format!("{}: {e}", e.engine_class())),
            reason: masked_text(&self.root_value("ae_reason")),
            domain: fqname.as_deref().map(domain_of),
            fqname,
            method_fqname: resolution.method_fqname,
        });
    }

    /// `enforce_max_retries` and `enforce_max_time` (RuntimeErrors, so state errors).
    fn enforce_state_maxima(&mut self, f: &MergedField) -> Result<(), EngineError> {
        let retries = self.root_value("ae_state_retries");
        if let Some(max) = f.max_retries.as_deref().filter(|m| !m.trim().is_empty()) {
            let limit = ruby_to_i(max).unwrap_or(i64::MAX);
            if limit < value_to_i(&retries) {
                return Err(AeError::RuntimeError(format!(
                    "number of retries <{}> exceeded maximum of <{max}>",
                    retries.to_ruby_s()
                ))
                .into());
            }
        }
        if let Some(max_time) = f.max_time.as_deref().filter(|m| !m.trim().is_empty()) {
            let started = self.root_text("ae_state_started");
            let started = ruby_time_parse(&started).map_err(|_| {
                AeError::RuntimeError("can't convert nil into an exact number".into())
            })?;
            let now = self.engine.clock().now();
            let lapsed = (now - started.to_utc())
                .num_microseconds()
                .map_or(f64::MAX, |us| us as f64 / 1e6);
            let limit = to_i_with_method(max_time)?.ok_or_else(|| AeError::NoMethod {
                receiver: max_time.to_string(),
                method: max_time.rsplit('.').next().unwrap_or("").to_string(),
            })?;
            if (limit as f64) <= lapsed {
                return Err(AeError::RuntimeError(format!(
                    "time in state <{} seconds> exceeded maximum of <{max_time}>",
                    ruby_float_to_s(lapsed)
                ))
                .into());
            }
        }
        Ok(())
    }

    /// `process_state_method`: a hook's `;`-separated calls, each substituted, with the
    /// root's `ae_status_state`/`ae_state`/`ae_state_step` set; MethodNotFound names the
    /// state and hook.
    fn process_state_method(&mut self, f: &MergedField, hook: &str) -> Result<(), EngineError> {
        let calls = match hook {
            "on_entry" => f.on_entry.clone(),
            "on_exit" => f.on_exit.clone(),
            _ => f.on_error.clone(),
        };
        let Some(calls) = calls.filter(|c| !c.trim().is_empty()) else {
            return Ok(());
        };
        let name = f.name.as_str();
        let rewrap = |e: EngineError| match e {
            EngineError::Ae(AeError::MethodNotFound(m)) => EngineError::Ae(
                AeError::MethodNotFound(format!("In State=[{name}], {hook} {m}")),
            ),
            other => other,
        };
        for part in calls.split(';') {
            let call = substitute(&mut self.ws, part.trim()).map_err(|e| rewrap(e.into()))?;
            if call.trim().is_empty() || call.trim_start().starts_with('#') {
                continue;
            }
            self.ws.log_line(
                LogLevel::Info,
                format!("In State=[{name}], invoking [{hook}] method=[{call}]"),
            );
            self.set_root_value("ae_status_state", s(hook));
            self.set_root_value("ae_state", s(name));
            self.set_root_value("ae_state_step", s(hook));
            self.begin_step(name, hook);
            let r = self.process_method_raw(Some(&call), None).map_err(rewrap);
            self.trace_step(name, hook, &call, r.as_ref().err());
            r?;
        }
        Ok(())
    }

    /// The state fields of the machine for `message`, in priority order.
    fn states(&self, id: ObjectId, message: &str) -> Vec<String> {
        self.fields_of(id)
            .iter()
            .filter(|f| {
                f.aetype.as_deref() == Some("state")
                    && message_matches(f.message.as_deref(), message)
            })
            .map(|f| f.name.clone())
            .collect()
    }

    /// `validate_state`: an `ae_next_state` that names no state aborts the machine.
    fn validate_state(&mut self, states: &[String]) -> Result<(), EngineError> {
        let next = self.root_value("ae_next_state");
        if !next.is_blank() {
            let next = next.to_ruby_s();
            if !states.contains(&next) {
                self.ws.log_line(
                    LogLevel::Error,
                    format!("Next State={next} is invalid aborting state machine"),
                );
                return Err(AeError::AbortInstantiation(format!(
                    "Invalid state specified <{next}>"
                ))
                .into());
            }
        }
        Ok(())
    }

    /// `next_state`: `ae_next_state` if given, else the state after `current` (`""`
    /// after the last, or when `current` is not a state).
    fn next_state(
        &mut self,
        id: ObjectId,
        current: &str,
        message: &str,
    ) -> Result<String, EngineError> {
        let next = self.root_value("ae_next_state");
        let state_name = if next.is_blank() {
            current.to_string()
        } else {
            next.to_ruby_s()
        };
        let states = self.states(id, message);
        self.validate_state(&states)?;
        let Some(index) = states.iter().position(|s| *s == state_name) else {
            return Ok(String::new());
        };
        let pick = if next.is_blank() { index + 1 } else { index };
        Ok(states.get(pick).cloned().unwrap_or_default())
    }

    /// `set_next_state`: ok/skip move on (limits reset); restart goes back to
    /// `ae_next_state` or the first state as a retry. The new `ae_state` when it moved.
    fn set_next_state(
        &mut self,
        id: ObjectId,
        f: &MergedField,
        message: &str,
    ) -> Result<Option<String>, EngineError> {
        if self.root_is("ae_result", "skip") || self.root_is("ae_result", "ok") {
            let next = self.next_state(id, &f.name, message)?;
            self.set_root_value("ae_state", s(&next));
            self.set_root_value("ae_state_started", s(""));
            self.set_root_value("ae_state_retries", Value::Integer(0));
            self.set_root_value("ae_state_max_retries", Value::Integer(0));
            self.ws
                .log_line(LogLevel::Info, format!("Next State=[{next}]"));
            self.set_root_value("ae_result", s("ok"));
            Ok(Some(next))
        } else if self.root_is("ae_result", "restart") {
            self.ws.log_line(
                LogLevel::Info,
                format!("State=[{}] has requested a restart", f.name),
            );
            self.set_root_value("ae_result", s("retry"));
            let states = self.states(id, message);
            self.validate_state(&states)?;
            let next = self.root_value("ae_next_state");
            let at = if next.is_blank() {
                states.first().cloned().unwrap_or_default()
            } else {
                next.to_ruby_s()
            };
            self.set_root_value("ae_state", s(&at));
            self.ws
                .log_line(LogLevel::Info, format!("Will restart at State=[{at}]"));
            Ok(Some(at))
        } else {
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requeue_yaml_reads_ruby_dumps() {
        let v = yaml_to_value(
            "--- !ruby/hash-with-ivars:MiqAeEngine::StateVarHash\none: 1\n:two: 2\ngravy: train\n",
        )
        .unwrap();
        assert_eq!(
            v,
            Value::Hash(vec![
                (s("one"), Value::Integer(1)),
                (Value::Symbol("two".into()), Value::Integer(2)),
                (s("gravy"), s("train")),
            ])
        );
        let info = state_info_from_value(
            &yaml_to_value("---\n/D/ns/C/i:\n  ae_state: s2\n  ae_state_retries: 1\n").unwrap(),
        );
        assert_eq!(info["/D/ns/C/i"]["ae_state"], s("s2"));
        assert_eq!(state_info_from_value(&state_info_to_value(&info)), info);
        assert!(yaml_to_value("a: [").is_err());
    }

    #[test]
    fn to_i_as_ruby() {
        assert_eq!(value_to_i(&s("3")), 3);
        assert_eq!(value_to_i(&Value::Nil), 0);
        assert_eq!(value_to_i(&Value::Float(2.9)), 2);
    }
}
