//! The engine: a loaded datastore, the embedder's method runner, service lookup and stubs;
//! `instantiate` builds a workspace from a URI as `MiqAeEngine.instantiate` does.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use miq_automate_core::workspace::LogSink;
use miq_automate_core::{AeError, LogLevel, ObjectId, Value, Workspace};

use crate::clock::{Clock, SharedClock, VirtualClock};
use crate::datastore::{ClassId, Datastore};
use crate::error::EngineError;
use crate::method::MethodRunner;
use crate::object::MergedField;
use crate::state_machine::{InstantiateWatch, StateInfo, StepProbe, TraceEvent};

/// Finds service-model objects for fields and inputs whose datatype names a model
/// (`vm`, `host`, `provision`, `MiqRequest`…). Without one, the core's offline rule applies
/// (any positive id makes a `ServiceModelRef`).
pub trait ServiceLookup: Send + Sync {
    /// The object of `model` (snake case) with id `id`, or `ServiceNotFound`.
    fn find(&self, model: &str, id: &Value) -> Result<Value, AeError>;
}

/// A stub's closure: runs with the stubbed object current, returns an exit status.
pub type StubFn = Arc<dyn Fn(&mut Runtime<'_>) -> Result<i32, AeError> + Send + Sync>;

/// What a stubbed instance or method does instead of what the datastore says.
#[derive(Clone)]
pub enum Stub {
    /// Behaves as a method exiting with this status (0, 4, 8 = stop, 16 = abort, …).
    Exit(i32),
    /// Sets these attributes on the current object, then exits 0.
    Attributes(Vec<(String, Value)>),
    /// Runs a closure with the stubbed object current; its result is the exit status.
    Call(StubFn),
}

impl fmt::Debug for Stub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Stub::Exit(rc) => write!(f, "Stub::Exit({rc})"),
            Stub::Attributes(a) => write!(f, "Stub::Attributes({a:?})"),
            Stub::Call(_) => write!(f, "Stub::Call(..)"),
        }
    }
}

impl Stub {
    /// A closure stub.
    pub fn call(
        f: impl Fn(&mut Runtime<'_>) -> Result<i32, AeError> + Send + Sync + 'static,
    ) -> Self {
        Stub::Call(Arc::new(f))
    }
}

/// Prepares each workspace the engine builds (e.g. sets an `ObjectBroker`, so that
/// substitutions like `${/#miq_provision.source.vendor}` can call the embedder's objects).
pub type WorkspaceSetup = Arc<dyn Fn(&mut Workspace) + Send + Sync>;

/// The offline automate engine over one datastore.
#[derive(Clone)]
pub struct Engine {
    datastore: Arc<Datastore>,
    runner: Option<Arc<dyn MethodRunner>>,
    services: Option<Arc<dyn ServiceLookup>>,
    /// Each stub with whether any run has used it (shared by the engine's clones).
    stubs: Vec<(String, Stub, Arc<std::sync::atomic::AtomicBool>)>,
    clock: SharedClock,
    workspace_setup: Option<WorkspaceSetup>,
    log_sink: Option<LogSink>,
}

impl fmt::Debug for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Engine")
            .field("datastore", &self.datastore.stats())
            .field("runner", &self.runner.is_some())
            .field("stubs", &self.stubs)
            .field("clock", &self.clock)
            .finish()
    }
}

/// The outcome of an instantiation that got through: the workspace and its root.
#[derive(Debug)]
pub struct Run {
    /// The workspace (objects, logs, state vars, executions).
    pub workspace: Workspace,
    /// The root object; `None` when the root was not found or was dropped (an assertion,
    /// MIQ_STOP), as the engine's empty workspace.
    pub root: Option<ObjectId>,
    /// What the state machines did, in order (empty when no state ran).
    pub trace: Vec<TraceEvent>,
    /// The state machines' saved state info (`current_state_info`: each machine's
    /// `ae_state`, `ae_state_retries`, `ae_state_started`, `ae_state_max_retries` by object
    /// name), what a requeue carries as `ae_state_previous`.
    pub state_info: StateInfo,
}

impl Run {
    /// A root attribute (nil without a root).
    pub fn root_get(&self, key: &str) -> Value {
        match self.root {
            Some(r) => self.workspace.obj(r).read(key),
            None => Value::Nil,
        }
    }

    /// The log messages, in order.
    pub fn log_messages(&self) -> Vec<&str> {
        self.workspace
            .logs()
            .iter()
            .map(|l| l.message.as_str())
            .collect()
    }
}

/// An instantiation the engine aborted (`AbortInstantiation`, `UnknownMethodRc`,
/// `CyclicalRelationship`, …), with the workspace as it was (logs included).
#[derive(Debug)]
pub struct Aborted {
    /// Why.
    pub error: EngineError,
    /// The workspace up to the error.
    pub run: Run,
}

impl fmt::Display for Aborted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error.engine_class(), self.error)
    }
}

impl std::error::Error for Aborted {}

impl Engine {
    /// An engine over `datastore`, with no runner (inline methods abort until one is set).
    pub fn new(datastore: Datastore) -> Self {
        Engine {
            datastore: Arc::new(datastore),
            runner: None,
            services: None,
            stubs: Vec::new(),
            clock: Arc::new(VirtualClock::starting_now()),
            workspace_setup: None,
            log_sink: None,
        }
    }

    /// Sees every log line of later runs as it is written: the workspaces' lines and
    /// deliver's own (`Delivering …`, `Requeuing …`). For a caller that streams the log.
    pub fn set_log_sink(&mut self, sink: LogSink) {
        self.log_sink = Some(sink);
    }

    /// The sink set by [`Engine::set_log_sink`].
    pub(crate) fn log_sink(&self) -> Option<&LogSink> {
        self.log_sink.as_ref()
    }

    /// Runs `setup` on every workspace the engine builds (each instantiation, each
    /// delivery), before the root's fields run.
    pub fn set_workspace_setup(&mut self, setup: WorkspaceSetup) {
        self.workspace_setup = Some(setup);
    }

    /// Sets the clock (a [`VirtualClock`] by default, starting at the wall time).
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Sets the clock (shared form).
    pub fn set_clock(&mut self, clock: SharedClock) {
        self.clock = clock;
    }

    /// The engine's clock: `ae_state_started`, `max_time` and `deliver` read it.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// Sets the runner for inline (and expression/playbook) method bodies.
    pub fn with_runner(mut self, runner: impl MethodRunner + 'static) -> Self {
        self.runner = Some(Arc::new(runner));
        self
    }

    /// Sets the runner (shared form).
    pub fn set_runner(&mut self, runner: Arc<dyn MethodRunner>) {
        self.runner = Some(runner);
    }

    /// Sets the service-model lookup for model datatypes.
    pub fn set_service_lookup(&mut self, lookup: Arc<dyn ServiceLookup>) {
        self.services = Some(lookup);
    }

    /// Replaces the instance or method at `path` (`/ns/Class/Inst`, `/ns/Class/method`,
    /// with or without the domain; case-insensitive) by `stub`.
    pub fn stub(&mut self, path: &str, stub: Stub) {
        let key = path.trim_matches('/').to_lowercase();
        self.stubs.retain(|(k, _, _)| *k != key);
        self.stubs.push((key, stub, Arc::default()));
    }

    /// The stubs no run has used yet (their paths as given, lower-cased): a typo in a
    /// stub's path, or a state the machine never reached.
    pub fn unused_stubs(&self) -> Vec<String> {
        self.stubs
            .iter()
            .filter(|(_, _, used)| !used.load(std::sync::atomic::Ordering::Relaxed))
            .map(|(k, _, _)| format!("/{k}"))
            .collect()
    }

    /// The datastore.
    pub fn datastore(&self) -> &Datastore {
        &self.datastore
    }

    pub(crate) fn runner(&self) -> Option<Arc<dyn MethodRunner>> {
        self.runner.clone()
    }

    pub(crate) fn services(&self) -> Option<&Arc<dyn ServiceLookup>> {
        self.services.as_ref()
    }

    /// The stub for `fq` (`/Dom/ns/Class/x`), matched with or without its domain.
    fn find_stub(&self, fq: &str) -> Option<Stub> {
        if self.stubs.is_empty() {
            return None;
        }
        let full = fq.trim_matches('/').to_lowercase();
        let sans_domain = full.split_once('/').map(|(_, r)| r.to_string());
        self.stubs
            .iter()
            .find(|(k, _, _)| *k == full || sans_domain.as_deref() == Some(k.as_str()))
            .map(|(_, s, used)| {
                used.store(true, std::sync::atomic::Ordering::Relaxed);
                s.clone()
            })
    }

    pub(crate) fn method_stub(&self, fq: &str) -> Option<Stub> {
        self.find_stub(fq)
    }

    /// The stub for an instance; `find_stub`'s exact match already covers a path given
    /// without a domain.
    pub(crate) fn instance_stub(&self, ns: &str, class: &str, instance: &str) -> Option<Stub> {
        let ns = ns.trim_matches('/');
        self.find_stub(&format!("/{ns}/{class}/{instance}"))
    }

    /// `MiqAeEngine.instantiate(uri)`: builds the workspace. `root_attrs` are set on the
    /// root before its assertions and fields run (as the caller's request attributes).
    /// Datastore errors (class or instance not found) give a run without a root; aborts,
    /// unknown exit codes and other engine exceptions are returned with the workspace.
    pub fn instantiate<K: AsRef<str>>(
        &self,
        uri: &str,
        root_attrs: impl IntoIterator<Item = (K, Value)>,
    ) -> Result<Run, Box<Aborted>> {
        let root_attrs = root_attrs
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_string(), v))
            .collect();
        self.instantiate_resumed(uri, root_attrs, None, StateInfo::new())
    }

    /// An instantiation that resumes a state machine: `state_data` is loaded into the
    /// state vars and `state_info` is the saved state info (`ae_state_data` and
    /// `ae_state_previous` of a requeue).
    pub(crate) fn instantiate_resumed(
        &self,
        uri: &str,
        root_attrs: Vec<(String, Value)>,
        state_data: Option<&Value>,
        state_info: StateInfo,
    ) -> Result<Run, Box<Aborted>> {
        let mut rt = Runtime::new(self);
        rt.root_attrs = root_attrs;
        rt.state_info = state_info;
        let mut result = Ok(None);
        if let Some(data) = state_data {
            if let Err(e) = rt.merge_state_data(data) {
                result = Err(e);
            }
        }
        if result.is_ok() {
            result = rt.instantiate_uri(uri, None);
        }
        let root = rt.root.filter(|r| !rt.removed.contains(r));
        let run = Run {
            workspace: rt.ws,
            root,
            trace: rt.trace,
            state_info: rt.state_info,
        };
        match result {
            Ok(_) => Ok(run),
            Err(error) => Err(Box::new(Aborted { error, run })),
        }
    }
}

/// How deep instantiations may nest: relationships followed, `$evm.instantiate` from
/// methods and nested state machines each add a level. ManageIQ has no limit (it recurses
/// until Ruby's stack overflows); its own content nests fewer than 10 levels. Measured on
/// x86_64, a level takes about 5 KB of machine stack in a release build (15–20 KB in a
/// debug one), and up to about 12 KB under Ruby when a method's `$evm.instantiate` is in
/// between (its Ruby frames): 64 levels take about 0.75 MB, within the 1 MiB machine stack
/// of a Ruby `Thread` (100 would not fit).
pub const MAX_NESTING: usize = 64;

/// One entry of the engine's instantiation stack (for cycle detection).
#[derive(Clone, Debug)]
pub(crate) struct Frame {
    pub ns: Option<String>,
    pub class: Option<String>,
    pub instance: Option<String>,
    pub message: String,
}

/// A workspace being built: what `$evm` stands on while methods run
/// (`MiqAeWorkspaceRuntime`). Runners get it to reach the workspace and `instantiate`.
pub struct Runtime<'e> {
    pub(crate) engine: &'e Engine,
    pub(crate) ws: Workspace,
    pub(crate) stack: Vec<Frame>,
    pub(crate) fields: std::collections::HashMap<ObjectId, (Option<ClassId>, Vec<MergedField>)>,
    pub(crate) current_field: Vec<Option<String>>,
    pub(crate) removed: HashSet<ObjectId>,
    pub(crate) root: Option<ObjectId>,
    pub(crate) root_attrs: Vec<(String, Value)>,
    /// The state machines being instantiated, innermost last (their object names).
    pub(crate) state_machines: Vec<String>,
    /// `current_state_info`.
    pub(crate) state_info: StateInfo,
    /// What the state machines did.
    pub(crate) trace: Vec<TraceEvent>,
    /// The states' steps running, innermost last (what served each; where a method's
    /// `$evm.instantiate` is traced).
    pub(crate) steps: Vec<StepProbe>,
    /// The steps' methods' `$evm.instantiate` calls running, innermost last.
    pub(crate) watches: Vec<InstantiateWatch>,
    /// The URIs being instantiated, outermost first (bounded by [`MAX_NESTING`]).
    pub(crate) nesting: Vec<String>,
}

impl fmt::Debug for Runtime<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("workspace", &self.ws)
            .field("root", &self.root)
            .finish_non_exhaustive()
    }
}

impl<'e> Runtime<'e> {
    pub(crate) fn new(engine: &'e Engine) -> Self {
        let mut ws = Workspace::new();
        ws.set_datastore(Box::new(crate::object::Reader {
            datastore: Arc::clone(&engine.datastore),
        }));
        if let Some(sink) = &engine.log_sink {
            ws.set_log_sink(Arc::clone(sink));
        }
        if let Some(setup) = &engine.workspace_setup {
            setup(&mut ws);
        }
        Runtime {
            engine,
            ws,
            stack: Vec::new(),
            fields: std::collections::HashMap::new(),
            current_field: Vec::new(),
            removed: HashSet::new(),
            root: None,
            root_attrs: Vec::new(),
            state_machines: Vec::new(),
            state_info: StateInfo::new(),
            trace: Vec::new(),
            steps: Vec::new(),
            watches: Vec::new(),
            nesting: Vec::new(),
        }
    }

    /// Every instantiation goes through here: one more nesting level, refused past
    /// [`MAX_NESTING`] so that no chain of distinct instances overflows the stack.
    pub(crate) fn instantiate_uri(
        &mut self,
        uri: &str,
        parent: Option<ObjectId>,
    ) -> Result<Option<ObjectId>, EngineError> {
        if self.nesting.len() >= MAX_NESTING {
            return Err(EngineError::NestingTooDeep {
                limit: MAX_NESTING,
                path: abbreviated_path(&self.nesting, uri),
            });
        }
        self.nesting.push(uri.to_string());
        let result = self.instantiate_level(uri, parent);
        self.nesting.pop();
        result
    }

    /// The engine's clock (what `Time.now` is for the run; stubs may read or move it).
    pub fn clock(&self) -> &SharedClock {
        self.engine.clock()
    }

    /// What the state machines did so far in this run.
    pub fn trace(&self) -> &[TraceEvent] {
        &self.trace
    }

    /// The workspace (`$evm`'s world: objects, current object, inputs, state vars, logs).
    pub fn workspace(&mut self) -> &mut Workspace {
        &mut self.ws
    }

    /// The engine.
    pub fn engine(&self) -> &'e Engine {
        self.engine
    }

    /// `$evm.instantiate(uri)`: a child of the current object through the engine; any
    /// error is logged as `instantiate failed : …` and gives `None`.
    pub fn instantiate(&mut self, uri: &str) -> Option<ObjectId> {
        match self.instantiate_strict(uri) {
            Ok(o) => o,
            Err(e) => {
                self.ws
                    .log_line(LogLevel::Error, format!("instantiate failed : {e}"));
                None
            }
        }
    }

    /// Like [`Runtime::instantiate`] with the error returned instead of logged.
    /// While a state's step runs, the call is traced (an `instantiate` event).
    pub fn instantiate_strict(&mut self, uri: &str) -> Result<Option<ObjectId>, EngineError> {
        let parent = self.ws.current();
        let watched = self.watch_instantiate();
        let result = self.instantiate_uri(uri, Some(parent));
        if watched {
            self.trace_instantiate(uri, result.as_ref().err());
        }
        result
    }

    /// `true` once an object was dropped (assertion failure, MIQ_STOP).
    pub fn is_removed(&self, id: ObjectId) -> bool {
        self.removed.contains(&id)
    }
}

/// The chain of URIs for the nesting error: the first 3 and the last 3 (with `uri`, the
/// one refused), since the whole chain is [`MAX_NESTING`] long; `password::` arguments
/// masked, as in every error message.
fn abbreviated_path(nesting: &[String], uri: &str) -> String {
    let all: Vec<String> = nesting
        .iter()
        .map(String::as_str)
        .chain(std::iter::once(uri))
        .map(miq_automate_core::password::sanitize_uri)
        .collect();
    if all.len() <= 6 {
        return all.join(" → ");
    }
    let (head, tail) = (&all[..3], &all[all.len() - 3..]);
    format!("{} → … → {}", head.join(" → "), tail.join(" → "))
}
