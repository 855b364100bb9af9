//! The in-memory workspace: the object tree, the current-object stack, inputs, state vars,
//! service vars, and what a method did (logs, notifications, instantiations, executions).
//! It is what `$evm` stands on in an offline run.
//!
//! The struct and its core API are here; each part of `$evm` it serves has its module
//! (`objects`, `instantiate`, `logging`, `state_vars`, `service_vars`, `notifications`,
//! `execute`, `methods`), all adding to the one `impl Workspace`.

mod execute;
mod instantiate;
mod logging;
mod methods;
mod notifications;
mod objects;
mod service_vars;
mod state_vars;

use indexmap::IndexMap;

use crate::datastore::DatastoreReader;
use crate::error::AeError;
use crate::log::LogRecord;
use crate::object::AeObject;
use crate::path::AePath;
use crate::state_vars::StateVars;
use crate::value::{ObjectId, Value};

// Where they were before `notification` had its own module.
use crate::notification::NotificationTypes;
pub use crate::notification::{is_seeded_notification_type, Notification};

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

/// The in-memory automate workspace.
pub struct Workspace {
    objects: Vec<AeObject>,
    stack: Vec<Frame>,
    state_vars: StateVars,
    inputs: IndexMap<String, Value>,
    service_vars: Vec<(Value, IndexMap<String, Value>)>,
    notifications: Vec<Notification>,
    notification_types: NotificationTypes,
    instantiations: Vec<String>,
    executions: Vec<(String, Vec<Value>)>,
    logs: Vec<LogRecord>,
    handlers: Vec<(String, Option<InstantiateHandler>)>,
    broker: Option<Box<dyn ObjectBroker>>,
    datastore: Option<Box<dyn DatastoreReader>>,
    log_sink: Option<LogSink>,
}

/// Sees every log line of a workspace as it is recorded (after masking): a caller that
/// streams the log while a run goes on (the CLI's `run`, `-v`).
pub type LogSink = std::sync::Arc<dyn Fn(&crate::log::LogRecord) + Send + Sync>;

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
            notification_types: NotificationTypes::default(),
            instantiations: Vec::new(),
            executions: Vec::new(),
            logs: Vec::new(),
            handlers: Vec::new(),
            broker: None,
            datastore: None,
            log_sink: None,
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

    // ----- the datastore --------------------------------------------------------------

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
}
