//! The in-memory workspace: the object tree, the current-object stack, inputs, state vars,
//! service vars, and what a method did (logs, notifications, instantiations, executions).
//! It is what `$evm` stands on in an offline run.

use chrono::Utc;
use indexmap::IndexMap;

use crate::args::process_args;
use crate::datastore::DatastoreReader;
use crate::error::AeError;
use crate::glob::fnmatch_casefold;
use crate::log::{emit, method_line, LogLevel, LogRecord};
use crate::object::AeObject;
use crate::path::{ruby_split, AePath, SplitOptions};
use crate::ruby::to_i_with_method;
use crate::state_vars::StateVars;
use crate::uri::Uri;
use crate::value::{ObjectId, Value};

/// Calls methods on values the core cannot answer itself: service models and foreign
/// objects (`prov.get_option(:vm_target_name)`, `vm.retire_now`).
pub trait ObjectBroker: Send {
    /// Calls `method` on `receiver` with `args`.
    fn call(&mut self, receiver: &Value, method: &str, args: &[Value]) -> Result<Value, AeError>;
}

/// Simulates what an instantiated instance does (its methods), for offline runs. It runs with
/// the new object as the current object; returning `StopInstantiation`/`AbortInstantiation`
/// behaves as a method exiting with MIQ_STOP/MIQ_ABORT.
pub type InstantiateHandler =
    Box<dyn FnMut(&mut Workspace, ObjectId) -> Result<(), AeError> + Send>;

/// What [`Workspace::create_instance`] made of a URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// A new child object, with the path its handlers are matched on.
    New(ObjectId, String),
    /// An existing object named by a `miqaews:` URI (nothing to run).
    Existing(ObjectId),
}

/// One entry of the current-object stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// The current object.
    pub object: ObjectId,
    /// The method running in it, if any.
    pub method: Option<String>,
}

/// A notification a method created.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification {
    /// The notification type (`automate_user_error`).
    pub kind: String,
    /// The subject (a service model), if given.
    pub subject: Value,
    /// The message, if given.
    pub message: Option<String>,
    /// The options hash as the method passed it.
    pub options: Value,
}

/// Notification types ManageIQ seeds for automate.
pub fn is_seeded_notification_type(kind: &str) -> bool {
    let Some(rest) = kind.strip_prefix("automate_") else {
        return false;
    };
    let Some((audience, level)) = rest.split_once('_') else {
        return false;
    };
    ["user", "tenant", "global"].contains(&audience)
        && ["success", "error", "info", "warning"].contains(&level)
}

/// The in-memory automate workspace.
pub struct Workspace {
    objects: Vec<AeObject>,
    stack: Vec<Frame>,
    state_vars: StateVars,
    inputs: IndexMap<String, Value>,
    service_vars: Vec<(Value, IndexMap<String, Value>)>,
    notifications: Vec<Notification>,
    instantiations: Vec<String>,
    executions: Vec<(String, Vec<Value>)>,
    logs: Vec<LogRecord>,
    handlers: Vec<(String, Option<InstantiateHandler>)>,
    broker: Option<Box<dyn ObjectBroker>>,
    datastore: Option<Box<dyn DatastoreReader>>,
}

impl std::fmt::Debug for Workspace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workspace")
            .field("objects", &self.objects.len())
            .field("stack", &self.stack)
            .field("logs", &self.logs.len())
            .finish_non_exhaustive()
    }
}

impl Default for Workspace {
    fn default() -> Self {
        Workspace::new()
    }
}

impl Workspace {
    /// A workspace with one empty root object, which is the current object.
    pub fn new() -> Self {
        Workspace {
            objects: vec![AeObject::new(None, None, None, "create")],
            stack: vec![Frame {
                object: ObjectId(0),
                method: None,
            }],
            state_vars: StateVars::new(),
            inputs: IndexMap::new(),
            service_vars: Vec::new(),
            notifications: Vec::new(),
            instantiations: Vec::new(),
            executions: Vec::new(),
            logs: Vec::new(),
            handlers: Vec::new(),
            broker: None,
            datastore: None,
        }
    }

    /// A workspace whose root has `attributes` (keys downcased).
    pub fn with_root<K: AsRef<str>>(attributes: impl IntoIterator<Item = (K, Value)>) -> Self {
        let mut ws = Workspace::new();
        for (k, v) in attributes {
            ws.objects[0].set(k.as_ref(), v);
        }
        ws
    }

    // ----- the tree -------------------------------------------------------------------

    /// The object behind `id`.
    ///
    /// # Panics
    /// When `id` did not come from this workspace.
    pub fn obj(&self, id: ObjectId) -> &AeObject {
        &self.objects[id.0]
    }

    /// The object behind `id`, mutably.
    ///
    /// # Panics
    /// When `id` did not come from this workspace.
    pub fn obj_mut(&mut self, id: ObjectId) -> &mut AeObject {
        &mut self.objects[id.0]
    }

    /// The object behind `id`, or `ObjectNotFound` for a foreign id.
    pub fn try_obj(&self, id: ObjectId) -> Result<&AeObject, AeError> {
        self.objects
            .get(id.0)
            .ok_or_else(|| AeError::ObjectNotFound(format!("no workspace object #{}", id.0)))
    }

    /// Adds an object as a child of `parent` (or as a new root).
    pub fn add_object(&mut self, parent: Option<ObjectId>, object: AeObject) -> ObjectId {
        let id = ObjectId(self.objects.len());
        let mut object = object;
        object.parent = parent;
        self.objects.push(object);
        if let Some(p) = parent {
            self.objects[p.0].children.push(id);
        }
        id
    }

    /// Unlinks an object from its parent (as the engine does after MIQ_STOP). It stays
    /// findable by path, like the engine's lookup table.
    pub fn detach(&mut self, id: ObjectId) {
        if let Some(p) = self.objects[id.0].parent.take() {
            self.objects[p.0].children.retain(|c| *c != id);
        }
    }

    /// The current object.
    pub fn current(&self) -> ObjectId {
        self.stack.last().map_or(ObjectId(0), |f| f.object)
    }

    /// The current stack frame.
    pub fn current_frame(&self) -> Option<&Frame> {
        self.stack.last()
    }

    /// Makes `object` current (running `method`, if any) until [`Workspace::pop_current`].
    pub fn push_current(&mut self, object: ObjectId, method: Option<&str>) {
        self.stack.push(Frame {
            object,
            method: method.map(str::to_string),
        });
    }

    /// Returns to the previous current object (the first frame is never popped).
    pub fn pop_current(&mut self) -> Option<Frame> {
        if self.stack.len() > 1 {
            self.stack.pop()
        } else {
            None
        }
    }

    /// Names the method running in the current object (what `<AEMethod NAME>` shows).
    pub fn set_current_method(&mut self, method: Option<&str>) {
        if let Some(frame) = self.stack.last_mut() {
            frame.method = method.map(str::to_string);
        }
    }

    /// `$evm.root`: the top ancestor of the current object.
    pub fn root(&self) -> ObjectId {
        self.top_of(self.current())
    }

    fn top_of(&self, mut id: ObjectId) -> ObjectId {
        while let Some(p) = self.objects[id.0].parent {
            id = p;
        }
        id
    }

    /// `$evm.parent`: the current object's parent.
    pub fn parent(&self) -> Option<ObjectId> {
        self.objects[self.current().0].parent
    }

    /// `$evm.object(path)` with every path form the engine knows: blank → current; `/` →
    /// top ancestor; `.`/`..` segments; a named ancestor by `Class` or `ns/Class`; then any
    /// object by `[/Domain]/ns/Class/Instance` (instance globs allowed). `Ok(None)` when
    /// nothing matches.
    pub fn object(&mut self, path: Option<&str>) -> Result<Option<ObjectId>, AeError> {
        let current = self.current();
        let Some(path) = path.filter(|p| !p.trim().is_empty()) else {
            return Ok(Some(current));
        };
        let path = if path.starts_with("/.") {
            &path[1..]
        } else {
            path
        };
        if path == "/" {
            return Ok(Some(self.top_of(current)));
        }
        if path.starts_with('.') {
            let mut obj = Some(current);
            for part in path.split('/') {
                match part {
                    "" | "." => {}
                    ".." => obj = obj.and_then(|o| self.objects[o.0].parent),
                    other => {
                        return Err(AeError::InvalidPathFormat(format!(
                            "bad part [{other}] in path [{path}]"
                        )))
                    }
                }
            }
            return Ok(obj);
        }
        if let Some(found) = self.find_named_ancestor(path)? {
            return Ok(Some(found));
        }
        Ok(self.find_obj_entry(path))
    }

    fn find_named_ancestor(&self, path: &str) -> Result<Option<ObjectId>, AeError> {
        let stripped = path.strip_prefix('/').unwrap_or(path);
        let parts = ruby_split(stripped, '/');
        if parts.first().is_none_or(|p| p.is_empty()) {
            return Err(AeError::InvalidPathFormat(format!(
                "Unsupported Path [{stripped}]"
            )));
        }
        let (klass, ns_parts) = parts.split_last().expect("non-empty");
        let ns = if ns_parts.is_empty() {
            None
        } else {
            Some(ns_parts.join("/"))
        };
        let mut cursor = self.objects[self.current().0].parent;
        while let Some(id) = cursor {
            let o = &self.objects[id.0];
            let class_match = o
                .class_name
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(klass));
            let ns_match = ns
                .as_deref()
                .is_none_or(|n| o.namespace_sans_domain().eq_ignore_ascii_case(n));
            if class_match && ns_match {
                return Ok(Some(id));
            }
            cursor = o.parent;
        }
        Ok(None)
    }

    fn find_obj_entry(&mut self, path: &str) -> Option<ObjectId> {
        let stripped = path.strip_prefix('/').unwrap_or(path).to_lowercase();
        let parts = ruby_split(&stripped, '/');
        if parts.len() < 3 {
            self.log_line(
                LogLevel::Error,
                format!("{path} is invalid. Need at least Namespace/Class/Instance"),
            );
            return None;
        }
        let instance = parts[parts.len() - 1];
        let klass = parts[parts.len() - 2];
        let ns_parts = &parts[..parts.len() - 2];
        let fqns = ns_parts.join("/");
        let domain = ns_parts[0];
        let partial_ns = ns_parts[1..].join("/");
        let candidates: Vec<(ObjectId, &AeObject)> = self
            .objects
            .iter()
            .enumerate()
            .map(|(i, o)| (ObjectId(i), o))
            .filter(|(_, o)| {
                o.class_name
                    .as_deref()
                    .is_some_and(|c| c.to_lowercase() == klass)
                    && o.instance_name
                        .as_deref()
                        .is_some_and(|i| fnmatch_casefold(instance, i))
            })
            .collect();
        let full_ns = |o: &AeObject| o.namespace.as_deref().unwrap_or("").to_lowercase();
        let in_domain = candidates.iter().find(|(_, o)| {
            let ns = full_ns(o);
            let (d, rest) = ns.split_once('/').unwrap_or((&ns, ""));
            d == domain && rest == partial_ns
        });
        let any_domain = || {
            candidates
                .iter()
                .find(|(_, o)| o.namespace_sans_domain().to_lowercase() == fqns)
        };
        // Offline objects may have been created without a domain: match them in full.
        let no_domain = || candidates.iter().find(|(_, o)| full_ns(o) == fqns);
        in_domain
            .or_else(any_domain)
            .or_else(no_domain)
            .map(|(id, _)| *id)
    }

    // ----- attributes -----------------------------------------------------------------

    /// `$evm.root[key]` (password masked).
    pub fn root_get(&self, key: &str) -> Value {
        self.objects[self.root().0].read(key)
    }

    /// `$evm.root[key] = value`.
    pub fn root_set(&mut self, key: &str, value: Value) {
        let root = self.root();
        self.objects[root.0].set(key, value);
    }

    // ----- inputs ---------------------------------------------------------------------

    /// `$evm.inputs`.
    pub fn inputs(&self) -> &IndexMap<String, Value> {
        &self.inputs
    }

    /// Forgets every input (before the next method's are set).
    pub fn clear_inputs(&mut self) {
        self.inputs.clear();
    }

    /// Sets a method input (as the engine does before a method runs).
    pub fn set_input(&mut self, name: &str, value: Value) {
        self.inputs.insert(name.to_string(), value);
    }

    // ----- logging --------------------------------------------------------------------

    /// `$evm.log(level, message)`: records `<AEMethod NAME> message` (secrets masked) and
    /// emits it through `tracing`.
    pub fn log(&mut self, level: LogLevel, message: &str) {
        let method = self.stack.last().and_then(|f| f.method.clone());
        self.log_line(level, method_line(method.as_deref(), message));
    }

    /// Records an engine log line (no `<AEMethod>` prefix; secrets masked).
    pub fn log_line(&mut self, level: LogLevel, message: String) {
        let record = LogRecord {
            level,
            message: crate::log::sanitize(&message),
            time: Utc::now(),
        };
        emit(&record);
        self.logs.push(record);
    }

    /// Every log line so far.
    pub fn logs(&self) -> &[LogRecord] {
        &self.logs
    }

    // ----- state vars -----------------------------------------------------------------

    /// The state-var hash.
    pub fn state_vars(&self) -> &StateVars {
        &self.state_vars
    }

    /// The state-var hash, mutably.
    pub fn state_vars_mut(&mut self) -> &mut StateVars {
        &mut self.state_vars
    }

    /// `$evm.field_timeout`: `ae_retry_interval` (seconds, `"1.minute"` forms; 1 when blank)
    /// times `ae_state_max_retries`. A result (or a part) beyond 64 bits, and a non-finite
    /// Float, is a `RangeError`, never a wrapped or clamped number.
    pub fn field_timeout(&self) -> Result<i64, AeError> {
        let max = self.root_get("ae_state_max_retries");
        if max.is_blank() {
            return Err(AeError::RuntimeError(
                "ae_state_max_retries is not set in automate field".into(),
            ));
        }
        let to_i = |name: &str, v: &Value| -> Result<Option<i64>, AeError> {
            match v {
                Value::Integer(i) => Ok(Some(*i)),
                Value::Float(f) => crate::ruby::float_to_i64(*f).map(Some),
                other => to_i_with_method(&other.to_ruby_s()),
            }
            .map_err(|e| match e {
                AeError::RangeError(m) => AeError::RangeError(format!("{name}: {m}")),
                other => other,
            })
        };
        let interval = self.root_get("ae_retry_interval");
        let interval = if interval.is_blank() {
            1
        } else {
            to_i("ae_retry_interval", &interval)?.ok_or_else(|| {
                AeError::ArgumentError(format!(
                    "ae_retry_interval {} has an unknown unit",
                    interval.inspect()
                ))
            })?
        };
        let max = to_i("ae_state_max_retries", &max)?.unwrap_or(0);
        crate::ruby::checked_mul(interval, max)
            .map_err(|e| AeError::RangeError(format!("field_timeout: {e}")))
    }

    // ----- service vars ---------------------------------------------------------------

    fn service_object(&self) -> Option<Value> {
        let current = self.objects[self.current().0].read("service");
        let service = if current.is_truthy() {
            current
        } else {
            self.root_get("service")
        };
        service.is_truthy().then_some(service)
    }

    fn root_service(&mut self) -> Result<Option<Value>, AeError> {
        let Some(service) = self.service_object() else {
            return Ok(None);
        };
        // Service vars live on the top-level service; ask the broker when there is one.
        Ok(Some(match self.broker.as_mut() {
            Some(b) => match b.call(&service, "root_service", &[])? {
                Value::Nil => service,
                root => root,
            },
            None => service,
        }))
    }

    /// `$evm.set_service_var(name, value)`: on the root service of `current['service'] ||
    /// root['service']`; without one, logged and skipped as ManageIQ does.
    pub fn set_service_var(&mut self, name: &str, value: Value) -> Result<(), AeError> {
        let Some(service) = self.root_service()? else {
            self.log_line(
                LogLevel::Error,
                format!(
                    "Service object not found in root object, set_service_var skipped for {name} = {}",
                    value.to_ruby_s()
                ),
            );
            return Ok(());
        };
        match self.service_vars.iter_mut().find(|(s, _)| *s == service) {
            Some((_, vars)) => {
                vars.insert(name.to_string(), value);
            }
            None => {
                let mut vars = IndexMap::new();
                vars.insert(name.to_string(), value);
                self.service_vars.push((service, vars));
            }
        }
        Ok(())
    }

    fn service_vars_of(&mut self) -> Result<Option<&mut IndexMap<String, Value>>, AeError> {
        let Some(service) = self.root_service()? else {
            return Ok(None);
        };
        Ok(self
            .service_vars
            .iter_mut()
            .find(|(s, _)| *s == service)
            .map(|(_, v)| v))
    }

    /// `$evm.get_service_var(name)`.
    pub fn get_service_var(&mut self, name: &str) -> Result<Value, AeError> {
        Ok(self
            .service_vars_of()?
            .and_then(|v| v.get(name).cloned())
            .unwrap_or_default())
    }

    /// `$evm.service_var_exists?(name)`.
    pub fn service_var_exists(&mut self, name: &str) -> Result<bool, AeError> {
        Ok(self
            .service_vars_of()?
            .is_some_and(|v| v.contains_key(name)))
    }

    /// `$evm.delete_service_var(name)`: the deleted value, or nil.
    pub fn delete_service_var(&mut self, name: &str) -> Result<Value, AeError> {
        Ok(self
            .service_vars_of()?
            .and_then(|v| v.shift_remove(name))
            .unwrap_or_default())
    }

    // ----- notifications --------------------------------------------------------------

    /// `$evm.create_notification!(options)`: options are read by Symbol keys (`:type`,
    /// `:level`, `:audience`, `:subject`, `:message`), as ManageIQ does. The type defaults
    /// to `automate_<audience||user>_<level||info>` and must be one ManageIQ seeds.
    pub fn create_notification_strict(&mut self, options: Value) -> Result<Value, AeError> {
        let sym = |key: &str| -> Value {
            match &options {
                Value::Hash(pairs) => pairs
                    .iter()
                    .find(|(k, _)| matches!(k, Value::Symbol(s) if s == key))
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default(),
                _ => Value::Nil,
            }
        };
        let kind = match sym("type") {
            t if !t.is_blank() => t.to_ruby_s(),
            _ => {
                let audience = sym("audience");
                let level = sym("level");
                format!(
                    "automate_{}_{}",
                    if audience.is_truthy() {
                        audience.to_ruby_s()
                    } else {
                        "user".into()
                    },
                    if level.is_truthy() {
                        level.to_ruby_s()
                    } else {
                        "info".into()
                    }
                )
                .to_lowercase()
            }
        };
        self.log_line(
            LogLevel::Info,
            format!("Validating Notification type: {kind}"),
        );
        if !is_seeded_notification_type(&kind) {
            return Err(AeError::ArgumentError(
                "Invalid notification type specified".into(),
            ));
        }
        let subject = match sym("subject") {
            Value::Nil => self.root_get("user"),
            s => s,
        };
        if !matches!(
            subject,
            Value::Nil | Value::ServiceModel(_) | Value::Foreign(_)
        ) {
            return Err(AeError::ArgumentError(
                "Subject must be a valid Active Record object".into(),
            ));
        }
        let message = sym("message");
        let notification = Notification {
            kind: kind.clone(),
            subject: subject.clone(),
            message: message.is_truthy().then(|| message.to_ruby_s()),
            options: options.clone(),
        };
        self.notifications.push(notification);
        Ok(Value::Hash(vec![
            (Value::Symbol("type".into()), Value::Symbol(kind)),
            (Value::Symbol("subject".into()), subject),
            (Value::Symbol("message".into()), message),
        ]))
    }

    /// `$evm.create_notification(options)`: like the strict form, but nil on any error.
    pub fn create_notification(&mut self, options: Value) -> Value {
        self.create_notification_strict(options).unwrap_or_default()
    }

    /// Notifications created so far.
    pub fn notifications(&self) -> &[Notification] {
        &self.notifications
    }

    // ----- instantiate ----------------------------------------------------------------

    /// Registers a handler run when an instantiated URI's path ends with `path_suffix`
    /// (case-insensitive): it simulates what the instance's methods would do.
    pub fn on_instantiate(&mut self, path_suffix: &str, handler: InstantiateHandler) {
        self.handlers
            .push((path_suffix.to_lowercase(), Some(handler)));
    }

    /// URIs instantiated so far, in order (as given).
    pub fn instantiations(&self) -> &[String] {
        &self.instantiations
    }

    /// `$evm.instantiate(uri)`: `Some(object)`, or `None` with the error logged as
    /// `instantiate failed : <message>`, as the engine's service does.
    pub fn instantiate(&mut self, uri: &str) -> Option<ObjectId> {
        match self.instantiate_strict(uri) {
            Ok(id) => Some(id),
            Err(e) => {
                self.log_line(LogLevel::Error, format!("instantiate failed : {e}"));
                None
            }
        }
    }

    /// The workspace's `instantiate`, errors returned: the object is created as a child of
    /// the current object, its arguments become attributes, and registered handlers run
    /// with it as the current object. MIQ_STOP from a handler is logged and the object
    /// detached; MIQ_ABORT and unknown codes are returned as errors.
    pub fn instantiate_strict(&mut self, uri: &str) -> Result<ObjectId, AeError> {
        match self.create_instance(uri)? {
            Created::Existing(id) => Ok(id),
            Created::New(id, path) => {
                let result = self.run_handlers(id, &path);
                self.finish_instance(id, result)
            }
        }
    }

    /// The first half of `instantiate`, for embedders that run the instance's methods
    /// themselves (outside any borrow of the workspace): parses `uri`, refuses cycles, and
    /// creates the child object with its arguments. A `miqaews:` URI names an existing object.
    pub fn create_instance(&mut self, uri: &str) -> Result<Created, AeError> {
        self.instantiations.push(uri.to_string());
        let parsed = Uri::parse_for_instantiate(uri)?;
        let path_text = parsed.path.clone().unwrap_or_default();
        if parsed.scheme == "miqaews" {
            return self
                .object(Some(&path_text))?
                .map(Created::Existing)
                .ok_or_else(|| AeError::ObjectNotFound(format!("Object [{path_text}] not found")));
        }
        let path = AePath::split(&path_text, SplitOptions::default());
        let message = parsed.message();
        let namespace = path.namespace.as_deref().filter(|n| !n.is_empty());
        let same = |o: &AeObject| {
            o.namespace.as_deref() == namespace
                && o.class_name == path.class
                && o.instance_name == path.instance
                && o.message == message
        };
        if self.stack.iter().any(|f| same(&self.objects[f.object.0])) {
            return Err(AeError::CyclicalRelationship(format!(
                "cyclical reference: [{path} with message={message}]"
            )));
        }
        let object = AeObject::new(
            namespace,
            path.class.as_deref(),
            path.instance.as_deref(),
            &message,
        );
        let args: Vec<(String, Value)> = parsed
            .args()?
            .into_iter()
            .map(|(k, v)| (k, Value::String(v)))
            .collect();
        let parent = self.current();
        let id = self.add_object(Some(parent), object);
        match process_args(args, |_| false) {
            Ok(attrs) => {
                for (k, v) in attrs {
                    self.objects[id.0].set(&k, v);
                }
            }
            // A datastore error (InvalidClass) is logged and the object kept, as the engine does.
            Err(e @ AeError::InvalidClass(_)) => self.log_line(LogLevel::Error, e.to_string()),
            Err(e) => return Err(e),
        }
        Ok(Created::New(id, path_text))
    }

    /// The second half of `instantiate`: what the engine does with the outcome of the
    /// instance's methods. MIQ_STOP is logged and the object detached (and still returned);
    /// MIQ_ABORT and unknown exit codes are logged and returned as errors.
    pub fn finish_instance(
        &mut self,
        id: ObjectId,
        outcome: Result<(), AeError>,
    ) -> Result<ObjectId, AeError> {
        match outcome {
            Ok(()) => Ok(id),
            Err(AeError::StopInstantiation(msg)) => {
                self.log_line(
                    LogLevel::Info,
                    format!("Stopping instantiation because [{msg}]"),
                );
                self.detach(id);
                Ok(id)
            }
            Err(AeError::UnknownMethodRc(msg)) => {
                self.log_line(
                    LogLevel::Error,
                    format!("Aborting instantiation (unknown method return code) because [{msg}]"),
                );
                Err(AeError::UnknownMethodRc(msg))
            }
            Err(AeError::AbortInstantiation(msg)) => {
                self.log_line(
                    LogLevel::Info,
                    format!("Aborting instantiation because [{msg}]"),
                );
                Err(AeError::AbortInstantiation(msg))
            }
            Err(other) => Err(other),
        }
    }

    fn run_handlers(&mut self, id: ObjectId, path: &str) -> Result<(), AeError> {
        let lower = path.to_lowercase();
        for index in 0..self.handlers.len() {
            if !lower.ends_with(&self.handlers[index].0) {
                continue;
            }
            let Some(mut handler) = self.handlers[index].1.take() else {
                continue; // already running: a handler instantiating its own path
            };
            // The instance's method runs under the instance's name, lowercased as the engine does.
            let method = self.objects[id.0]
                .instance_name
                .as_deref()
                .map(str::to_lowercase);
            self.push_current(id, method.as_deref());
            let result = handler(self, id);
            self.pop_current();
            self.handlers[index].1 = Some(handler);
            result?;
        }
        Ok(())
    }

    // ----- execute, vmdb, broker --------------------------------------------------------

    /// Methods `$evm.execute` knows (ManageIQ's MiqAeServiceMethods).
    pub const EXECUTE_METHODS: [&'static str; 16] = [
        "send_email",
        "snmp_trap_v1",
        "snmp_trap_v2",
        "vm_templates",
        "category_exists?",
        "category_create",
        "category_delete!",
        "category_delete",
        "tag_exists?",
        "tag_create",
        "tag_delete!",
        "tag_delete",
        "create_provision_request",
        "create_automation_request",
        "create_service_provision_request",
        "create_retire_request",
    ];

    /// `$evm.execute(name, *args)`: recorded; an unknown name is `MethodNotFound`. Offline
    /// nothing is sent or created: the call returns nil.
    pub fn execute(&mut self, name: &str, args: Vec<Value>) -> Result<Value, AeError> {
        if !Self::EXECUTE_METHODS.contains(&name) {
            return Err(AeError::MethodNotFound(format!(
                "undefined method `{name}' for MiqAeMethodService::MiqAeServiceMethods:Class"
            )));
        }
        self.executions.push((name.to_string(), args));
        Ok(Value::Nil)
    }

    /// `$evm.execute` calls so far.
    pub fn executions(&self) -> &[(String, Vec<Value>)] {
        &self.executions
    }

    /// Sets the broker that answers method calls on service models and foreign objects.
    pub fn set_broker(&mut self, broker: Box<dyn ObjectBroker>) {
        self.broker = Some(broker);
    }

    /// Sets the reader `${miqaedb:///…}` substitutions go through.
    pub fn set_datastore(&mut self, datastore: Box<dyn DatastoreReader>) {
        self.datastore = Some(datastore);
    }

    /// Reads a datastore instance's attribute (`${miqaedb:///ns/Class/Inst/attr}`).
    pub fn read_datastore_attribute(
        &mut self,
        path: &AePath,
        message: &str,
    ) -> Result<Value, AeError> {
        match self.datastore.as_mut() {
            Some(d) => d.read_attribute(path, message),
            None => Err(AeError::ObjectNotFound(format!(
                "Class [{}/{}] not found in MiqAeDatastore (no datastore is loaded)",
                path.namespace.as_deref().unwrap_or(""),
                path.class.as_deref().unwrap_or("")
            ))),
        }
    }

    /// Calls `method` on a value: workspace objects answer `[]`, `name`, `parent` …
    /// themselves; common String/Array methods are built in; service models and foreign
    /// objects go to the broker.
    pub fn call_method(
        &mut self,
        receiver: &Value,
        method: &str,
        args: &[Value],
    ) -> Result<Value, AeError> {
        if let Some(v) = builtin_method(receiver, method, args)? {
            return Ok(v);
        }
        if let Value::Object(id) = receiver {
            let o = self.try_obj(*id)?;
            let first = args.first().map(Value::to_ruby_s).unwrap_or_default();
            return match method {
                "[]" => Ok(o.read(&first)),
                "decrypt" => Ok(o.decrypt(&first).map(Value::String).unwrap_or_default()),
                "name" => Ok(Value::String(o.name())),
                "namespace" => Ok(o.namespace.clone().into()),
                "class_name" => Ok(o.class_name.clone().into()),
                "instance_name" => Ok(o.instance_name.clone().into()),
                "current_message" => Ok(Value::String(o.message.clone())),
                "parent" => Ok(o.parent.map(Value::Object).unwrap_or_default()),
                _ => Err(AeError::NoMethod {
                    receiver: receiver.ruby_class(),
                    method: method.to_string(),
                }),
            };
        }
        match (&mut self.broker, receiver) {
            (Some(broker), Value::ServiceModel(_) | Value::Foreign(_)) => {
                broker.call(receiver, method, args)
            }
            _ => Err(AeError::NoMethod {
                receiver: receiver.masked().inspect(),
                method: method.to_string(),
            }),
        }
    }
}

/// Methods on plain values that substitution and rollback use (`Ok(None)`: not built in).
fn builtin_method(
    receiver: &Value,
    method: &str,
    args: &[Value],
) -> Result<Option<Value>, AeError> {
    let text = receiver.as_str().unwrap_or_default();
    let count =
        |n: usize| i64::try_from(n).map_err(|_| crate::ruby::integer_out_of_range(&n.to_string()));
    Ok(Some(match (method, receiver) {
        ("to_s", _) => Value::String(receiver.to_ruby_s()),
        ("inspect", _) => Value::String(receiver.masked().inspect()),
        ("nil?", _) => Value::Bool(matches!(receiver, Value::Nil)),
        ("blank?", _) => Value::Bool(receiver.is_blank()),
        ("present?", _) => Value::Bool(!receiver.is_blank()),
        ("upcase", Value::String(_)) => Value::String(text.to_uppercase()),
        ("downcase", Value::String(_)) => Value::String(text.to_lowercase()),
        ("strip", Value::String(_)) => Value::String(text.trim().to_string()),
        ("to_sym", Value::String(_)) => Value::Symbol(text.to_string()),
        ("to_i", Value::String(_)) => Value::Integer(crate::ruby::ruby_to_i(text)?),
        ("to_i", Value::Integer(_)) => receiver.clone(),
        ("to_i", Value::Float(f)) => Value::Integer(crate::ruby::float_to_i64(*f)?),
        ("length" | "size", Value::String(_)) => Value::Integer(count(text.chars().count())?),
        ("length" | "size", Value::Array(a)) => Value::Integer(count(a.len())?),
        ("length" | "size", Value::Hash(h)) => Value::Integer(count(h.len())?),
        ("first", Value::Array(a)) => a.first().cloned().unwrap_or_default(),
        ("last", Value::Array(a)) => a.last().cloned().unwrap_or_default(),
        ("[]" | "fetch", Value::Hash(h)) => {
            let Some(key) = args.first() else {
                return Ok(None);
            };
            h.iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        }
        _ => return Ok(None),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (Workspace, ObjectId, ObjectId, ObjectId) {
        let mut ws = Workspace::with_root([("attr", Value::from("root"))]);
        let root = ObjectId(0);
        ws.obj_mut(root).namespace = Some("ManageIQ/System".into());
        ws.obj_mut(root).class_name = Some("Process".into());
        ws.obj_mut(root).instance_name = Some("Request".into());
        let a = ws.add_object(
            Some(root),
            AeObject::new(
                Some("Dom1/A/B"),
                Some("CLASS1"),
                Some("INSTANCE1"),
                "create",
            ),
        );
        let b = ws.add_object(
            Some(a),
            AeObject::new(
                Some("Dom1/C/D"),
                Some("CLASS1"),
                Some("INSTANCE1"),
                "create",
            ),
        );
        let c = ws.add_object(
            Some(b),
            AeObject::new(
                Some("Dom1/E/F"),
                Some("CLASS2"),
                Some("INSTANCE2"),
                "create",
            ),
        );
        ws.push_current(c, Some("m"));
        (ws, a, b, c)
    }

    #[test]
    fn relative_paths() {
        let (mut ws, a, b, c) = tree();
        assert_eq!(ws.object(None).unwrap(), Some(c));
        assert_eq!(ws.object(Some("")).unwrap(), Some(c));
        assert_eq!(ws.object(Some(".")).unwrap(), Some(c));
        assert_eq!(ws.object(Some("/.")).unwrap(), Some(c));
        assert_eq!(ws.object(Some("..")).unwrap(), Some(b));
        assert_eq!(ws.object(Some("/..")).unwrap(), Some(b));
        assert_eq!(ws.object(Some("../..")).unwrap(), Some(a));
        assert_eq!(ws.object(Some("..//..")).unwrap(), Some(a));
        assert_eq!(ws.object(Some("/")).unwrap(), Some(ObjectId(0)));
        assert_eq!(ws.root(), ObjectId(0));
        assert_eq!(ws.parent(), Some(b));
        assert_eq!(
            ws.object(Some(".foo")).unwrap_err(),
            AeError::InvalidPathFormat("bad part [.foo] in path [.foo]".into())
        );
    }

    #[test]
    fn named_ancestors_skip_the_current_object() {
        let (mut ws, _a, b, _c) = tree();
        assert_eq!(ws.object(Some("class1")).unwrap(), Some(b));
        assert_eq!(ws.object(Some("A/B/Class1")).unwrap(), Some(ObjectId(1)));
        // the current object (CLASS2) itself is never a named ancestor; the lookup
        // then falls through to the workspace-wide table, which needs ns/class/instance
        assert_eq!(ws.object(Some("CLASS2")).unwrap(), None);
        assert!(ws
            .logs()
            .last()
            .unwrap()
            .message
            .contains("Need at least Namespace/Class/Instance"));
    }

    // miq_ae_object_lookup_spec.rb
    #[test]
    fn workspace_wide_lookup_with_globs() {
        let (mut ws, a, b, _c) = tree();
        ws.push_current(ObjectId(0), None);
        let find = |ws: &mut Workspace, p: &str| ws.object(Some(p)).unwrap();
        assert_eq!(find(&mut ws, "/Dom1/A/B/class1/instance1"), Some(a));
        assert_eq!(find(&mut ws, "Dom1/A/B/class1/instance1"), Some(a));
        assert_eq!(find(&mut ws, "/C/d/ClASs1/instance1"), Some(b));
        assert_eq!(find(&mut ws, "C/d/class1/instance1"), Some(b));
        assert_eq!(find(&mut ws, "/C/d/ClASs1/i?stance1"), Some(b));
        assert_eq!(find(&mut ws, "/C/d/ClASs1/*"), Some(b));
        assert_eq!(find(&mut ws, "/Dom5/A/B/class1/instance1"), None);
        assert_eq!(find(&mut ws, "A/B"), None);
    }

    #[test]
    fn field_timeout_rules() {
        let mut ws = Workspace::with_root([("ae_state_max_retries", Value::from("100"))]);
        ws.root_set("ae_retry_interval", Value::from("2.seconds"));
        assert_eq!(ws.field_timeout().unwrap(), 200);
        ws.root_set("ae_retry_interval", Value::Nil);
        assert_eq!(ws.field_timeout().unwrap(), 100);
        ws.root_set("ae_retry_interval", Value::from("1.minute"));
        assert_eq!(ws.field_timeout().unwrap(), 6000);
        ws.root_set("ae_state_max_retries", Value::Nil);
        assert_eq!(
            ws.field_timeout().unwrap_err(),
            AeError::RuntimeError("ae_state_max_retries is not set in automate field".into())
        );
    }

    // Issue 10: 2**62 * 100 wrapped to 0; "1.minute" * Infinity gave -60.
    #[test]
    fn field_timeout_overflow_is_a_range_error() {
        let mut ws = Workspace::with_root([("ae_state_max_retries", Value::Integer(100))]);
        ws.root_set("ae_retry_interval", Value::Integer(1 << 62));
        assert_eq!(
            ws.field_timeout().unwrap_err(),
            AeError::RangeError(
                "field_timeout: integer 4611686018427387904 * 100 does not fit in 64 bits".into()
            )
        );
        ws.root_set("ae_retry_interval", Value::from("1.minute"));
        ws.root_set("ae_state_max_retries", Value::Float(f64::INFINITY));
        assert_eq!(
            ws.field_timeout().unwrap_err(),
            AeError::RangeError(
                "ae_state_max_retries: float Infinity out of range of integer".into()
            )
        );
        ws.root_set("ae_state_max_retries", Value::Float(f64::NAN));
        assert!(matches!(ws.field_timeout(), Err(AeError::RangeError(_))));
        ws.root_set(
            "ae_state_max_retries",
            Value::from("99999999999999999999999"),
        );
        assert!(matches!(ws.field_timeout(), Err(AeError::RangeError(_))));
        ws.root_set("ae_state_max_retries", Value::Integer(3));
        ws.root_set(
            "ae_retry_interval",
            Value::from("9999999999999999999.years"),
        );
        assert!(matches!(ws.field_timeout(), Err(AeError::RangeError(_))));
        ws.root_set("ae_retry_interval", Value::Float(2.9));
        assert_eq!(ws.field_timeout(), Ok(6));
    }

    #[test]
    fn builtin_to_i_is_checked() {
        let mut ws = Workspace::new();
        let big = Value::from("99999999999999999999999");
        assert!(matches!(
            ws.call_method(&big, "to_i", &[]),
            Err(AeError::RangeError(_))
        ));
        assert!(matches!(
            ws.call_method(&Value::Float(f64::INFINITY), "to_i", &[]),
            Err(AeError::RangeError(_))
        ));
        assert_eq!(
            ws.call_method(&Value::from("42"), "to_i", &[]),
            Ok(Value::Integer(42))
        );
    }

    // Issue 10: `integer::x=99999999999999999999999` was stored as i64::MAX.
    #[test]
    fn an_integer_argument_beyond_64_bits_is_refused() {
        let mut ws = Workspace::new();
        assert_eq!(
            ws.instantiate("/A/B/C?integer::x=99999999999999999999999"),
            None
        );
        assert_eq!(
            ws.logs().last().unwrap().message,
            "instantiate failed : integer 99999999999999999999999 does not fit in 64 bits"
        );
        let id = ws
            .instantiate("/A/B/C?integer::x=-9223372036854775808")
            .unwrap();
        assert_eq!(ws.obj(id).read("x"), Value::Integer(i64::MIN));
    }

    // Issue 10: the ascii-only and empty-argument errors logged a password argument.
    #[test]
    fn instantiate_failures_never_log_a_password_argument() {
        let mut ws = Workspace::new();
        for uri in [
            "/A/B/C?password::pw=TopSecret1&x=\u{20ac}",
            "/A/B/C?password::pw=TopSecret1&&x=1",
            "/A/B/C?password::pw=Top#Secret1#x",
            "miqaedb:A/B?password::pw=TopSecret1",
        ] {
            assert_eq!(ws.instantiate(uri), None);
            let line = &ws.logs().last().unwrap().message;
            assert!(!line.contains("Secret1"), "{line}");
            assert!(line.contains("password::pw=********"), "{line}");
        }
    }

    #[test]
    fn instantiate_creates_a_child_with_typed_args_and_runs_handlers() {
        let mut ws = Workspace::new();
        ws.on_instantiate(
            "/ReleaseIPAddress",
            Box::new(|ws, id| {
                let ip = ws.obj(id).read("ip");
                ws.root_set("released", ip);
                ws.log(LogLevel::Info, "released");
                Ok(())
            }),
        );
        let id = ws
            .instantiate("/Infra/VM/Methods/ReleaseIPAddress?ip=10.0.0.1&Integer::n=3#Release")
            .unwrap();
        let o = ws.obj(id);
        assert_eq!(o.class_name.as_deref(), Some("Methods"));
        assert_eq!(o.instance_name.as_deref(), Some("ReleaseIPAddress"));
        assert_eq!(o.message, "release");
        assert_eq!(o.read("n"), Value::Integer(3));
        assert_eq!(ws.root_get("released"), Value::from("10.0.0.1"));
        assert_eq!(ws.obj(ObjectId(0)).children(), &[id]);
        assert_eq!(ws.current(), ObjectId(0), "the stack is restored");
        assert_eq!(ws.instantiations().len(), 1);
    }

    #[test]
    fn instantiate_errors_are_logged_and_give_none() {
        let mut ws = Workspace::new();
        assert_eq!(ws.instantiate("abc:A/EVM"), None);
        assert_eq!(
            ws.logs().last().unwrap().message,
            "instantiate failed : Unsupported Scheme [abc]"
        );
        ws.on_instantiate(
            "/Stop",
            Box::new(|_, _| {
                Err(AeError::StopInstantiation(
                    "Method exited with rc=MIQ_STOP".into(),
                ))
            }),
        );
        let id = ws.instantiate("/A/B/Stop").unwrap();
        assert!(
            ws.obj(ObjectId(0)).children().is_empty(),
            "stopped object is detached"
        );
        assert_eq!(ws.obj(id).parent(), None);
        ws.on_instantiate(
            "/Abort",
            Box::new(|_, _| {
                Err(AeError::AbortInstantiation(
                    "Method exited with rc=MIQ_ABORT".into(),
                ))
            }),
        );
        assert_eq!(ws.instantiate("/A/B/Abort"), None);
        let messages: Vec<&str> = ws.logs().iter().map(|l| l.message.as_str()).collect();
        assert!(
            messages.contains(&"Stopping instantiation because [Method exited with rc=MIQ_STOP]")
        );
        assert!(
            messages.contains(&"Aborting instantiation because [Method exited with rc=MIQ_ABORT]")
        );
        assert!(messages.contains(&"instantiate failed : Method exited with rc=MIQ_ABORT"));
    }

    #[test]
    fn cyclical_instantiation_is_refused() {
        let mut ws = Workspace::new();
        let id = ws.add_object(
            Some(ObjectId(0)),
            AeObject::new(Some("A"), Some("B"), Some("Loop"), "create"),
        );
        ws.push_current(id, None);
        assert_eq!(
            ws.instantiate_strict("/A/B/Loop").unwrap_err(),
            AeError::CyclicalRelationship(
                "cyclical reference: [/A/B/Loop with message=create]".into()
            )
        );
    }

    #[test]
    fn notifications_follow_manageiq_types() {
        let mut ws = Workspace::new();
        let sym = |k: &str| Value::Symbol(k.into());
        let opts = Value::Hash(vec![
            (sym("level"), Value::from("error")),
            (sym("message"), Value::from("boom")),
        ]);
        let n = ws.create_notification(opts);
        assert!(n.is_truthy());
        assert_eq!(ws.notifications()[0].kind, "automate_user_error");
        assert_eq!(ws.notifications()[0].message.as_deref(), Some("boom"));
        let bad = Value::Hash(vec![(sym("level"), Value::from("warn"))]);
        assert_eq!(ws.create_notification(bad.clone()), Value::Nil);
        assert_eq!(
            ws.create_notification_strict(bad).unwrap_err(),
            AeError::ArgumentError("Invalid notification type specified".into())
        );
        let bad_subject = Value::Hash(vec![(sym("subject"), Value::from("x"))]);
        assert_eq!(
            ws.create_notification_strict(bad_subject).unwrap_err(),
            AeError::ArgumentError("Subject must be a valid Active Record object".into())
        );
    }

    #[test]
    fn service_vars_need_a_service() {
        let mut ws = Workspace::new();
        ws.set_service_var("a", Value::Integer(1)).unwrap();
        assert!(ws.logs()[0]
            .message
            .starts_with("Service object not found in root object"));
        assert!(!ws.service_var_exists("a").unwrap());
        ws.root_set(
            "service",
            Value::ServiceModel(crate::value::ServiceModelRef::new("service", 7)),
        );
        ws.set_service_var("a", Value::Integer(1)).unwrap();
        assert!(ws.service_var_exists("a").unwrap());
        assert_eq!(ws.get_service_var("a").unwrap(), Value::Integer(1));
        assert_eq!(ws.delete_service_var("a").unwrap(), Value::Integer(1));
        assert_eq!(ws.get_service_var("a").unwrap(), Value::Nil);
    }

    #[test]
    fn execute_records_known_methods() {
        let mut ws = Workspace::new();
        ws.execute("send_email", vec![Value::from("a@b")]).unwrap();
        assert_eq!(ws.executions().len(), 1);
        assert!(matches!(
            ws.execute("nope", vec![]),
            Err(AeError::MethodNotFound(_))
        ));
    }

    #[test]
    fn log_lines_carry_the_method_and_mask_secrets() {
        let mut ws = Workspace::new();
        ws.set_current_method(Some("update_provision_status"));
        ws.log(LogLevel::Info, "token v2:{abc}");
        assert_eq!(
            ws.logs()[0].message,
            "<AEMethod update_provision_status> token ********"
        );
    }
}
