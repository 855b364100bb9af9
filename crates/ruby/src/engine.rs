//! `MiqAutomate::Engine`: the offline automate engine (`miq-automate-engine`) over domain
//! exports, with inline Ruby methods run **in this Ruby VM** by [`RubyRunner`].
//!
//! One engine run (`Engine#instantiate`, or `Engine#deliver`: `Engine::deliver` with this
//! runner, all its deliveries one run) has one `MiqAutomate::Workspace` and one `$evm`
//! (an `Engine::Service`). The engine builds its own core workspace; while a method (or a
//! stub's block) runs, that workspace is *lent* to the Ruby workspace (swapped in, and back
//! out when the method ends, also on a panic), so every `$evm` call works on the engine's
//! objects, inputs and state vars. `$evm.instantiate` goes back through the engine: the
//! workspace is handed back to the engine's `Runtime` for the child's instantiation.
//!
//! Ruby runs the method body (`Engine._run_method` in `lib/miq_automate/engine.rb`: the
//! fresh binding, `$evm`, `MIQ_ARGS`, output capture, `exit`, the postscript and the
//! timeout's watchdog); every call into Ruby is protected (an exception comes back as an
//! `Err`, never unwinding through Rust frames), and every entry point runs in
//! `errors::guard`, so no panic reaches Ruby. The engine's workspaces get a broker that
//! calls the run's Ruby objects, so the engine's own substitutions
//! (`${/#miq_provision.source.vendor}`) reach service models. The engine's clock is a
//! [`VirtualClock`] kept here too, for `Engine#clock`.

use std::cell::RefCell;

use magnus::{
    function, gc::Marker, method, prelude::*, rb_sys::AsRawValue, typed_data::Obj, value::Opaque,
    DataTypeFunctions, Error, Exception, RArray, RClass, RHash, RModule, Ruby, TypedData, Value,
};
// MIQ_ABORT is the exit status a timed-out method is reported with: the run is aborted,
// as ManageIQ's queue timeout aborts the delivery.
use miq_automate_core::{AeError, LogLevel, Value as Core, MIQ_ABORT};
use miq_automate_engine::assertion::AssertionError;
use miq_automate_engine::{
    Clock, Datastore, DeliverOptions, Engine, EngineError, MethodCall, MethodInvocation,
    MethodRunner, Runtime, Stub, VirtualClock,
};

use crate::errors::{self, guard};
use crate::object::RbObject;
use crate::service::RbService;
use crate::workspace::{RbWorkspace, WsSide};

/// The workspace's instance variable holding an outer method's timeout signal on its way
/// out of a child's method (see [`run_in_ruby`]).
const PENDING_SIGNAL: &str = "@_miq_pending_signal";

/// The native part of `MiqAutomate::Engine`: a loaded datastore, its stubs and its clock.
#[derive(TypedData)]
#[magnus(class = "MiqAutomate::Engine", free_immediately, mark)]
pub struct RbEngine {
    engine: RefCell<Engine>,
    // The engine's clock (a handle: the engine holds a clone), for `Engine#clock`.
    clock: VirtualClock,
    // The stubs' blocks, kept alive (the engine's closures hold them as opaque values).
    blocks: RefCell<Vec<Opaque<Value>>>,
    // `Engine#on_log`'s block: sees every log line of a run as it is written.
    log_sink: RefCell<Option<Opaque<Value>>>,
}

impl DataTypeFunctions for RbEngine {
    fn mark(&self, marker: &Marker) {
        if let Ok(blocks) = self.blocks.try_borrow() {
            for block in blocks.iter() {
                marker.mark(*block);
            }
        }
        if let Ok(Some(sink)) = self.log_sink.try_borrow().as_deref() {
            marker.mark(*sink);
        }
    }
}

/// One engine run in progress. Its Ruby values are kept alive by the Ruby caller
/// (`Engine#instantiate` holds the workspace, the workspace holds its `$evm`).
struct RunCtx {
    ws: Obj<RbWorkspace>,
    evm: Value,
    timeout: Option<f64>,
    /// The engine's `Runtime` while one of this run's methods is running (innermost last):
    /// `$evm.instantiate` reaches the engine through it. Only valid while the runner that
    /// pushed it is on the stack.
    runtimes: Vec<*mut ()>,
    /// The first method of the run that timed out (its message).
    timed_out: Option<String>,
}

// SAFETY: a RunCtx holds Ruby values and pointers into a runner's stack; it is only
// touched by Ruby threads holding the GVL (one at a time), never by other threads.
unsafe impl Send for RunCtx {}

/// The runs in progress, by the thread that started them (innermost last). A method with
/// a timeout runs on a thread of its own (`Engine._run_method`), which adopts the key of
/// the thread that started its run, so `$evm.instantiate` and nested methods find the
/// run from there.
static RUNS: std::sync::Mutex<Vec<(u64, Vec<RunCtx>)>> = std::sync::Mutex::new(Vec::new());

thread_local! {
    /// The run key this thread works for: its own, or the one it adopted.
    static OWNER: std::cell::Cell<Option<u64>> = const { std::cell::Cell::new(None) };
    /// A non-local exit (a `Thread#kill` of a method's thread) caught under the engine:
    /// resumed when control is back in Ruby, after the engine has unwound.
    static PENDING_JUMP: RefCell<Option<Error>> = const { RefCell::new(None) };
}

/// This thread's run key (see [`RUNS`]).
fn run_key() -> u64 {
    OWNER.with(|o| match o.get() {
        Some(key) => key,
        None => {
            use std::sync::atomic::{AtomicU64, Ordering};
            static NEXT: AtomicU64 = AtomicU64::new(1);
            let key = NEXT.fetch_add(1, Ordering::Relaxed);
            o.set(Some(key));
            key
        }
    })
}

/// Runs `f` on this thread's runs (innermost last). `f` must not call Ruby.
fn with_runs<T>(f: impl FnOnce(&mut Vec<RunCtx>) -> T) -> T {
    let key = run_key();
    let mut all = RUNS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let at = match all.iter().position(|(k, _)| *k == key) {
        Some(at) => at,
        None => {
            all.push((key, Vec::new()));
            all.len() - 1
        }
    };
    let out = f(&mut all[at].1);
    if all[at].1.is_empty() {
        all.swap_remove(at);
    }
    out
}

/// Pops the run pushed by [`RunGuard::start`] when dropped (also on a panic).
struct RunGuard {
    depth: usize,
}

impl RunGuard {
    /// Starts a run of `ws` (nothing recorded yet) as the innermost run.
    fn start(ws: Obj<RbWorkspace>, evm: Value, timeout: Option<f64>) -> Self {
        let ctx = RunCtx {
            ws,
            evm,
            timeout,
            runtimes: Vec::new(),
            timed_out: None,
        };
        let depth = with_runs(|runs| {
            runs.push(ctx);
            runs.len()
        });
        RunGuard { depth }
    }

    /// Ends the run, giving back what it recorded.
    fn finish(self) -> Option<RunCtx> {
        let ctx = with_runs(|runs| (runs.len() == self.depth).then(|| runs.pop()).flatten());
        std::mem::forget(self);
        ctx
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        with_runs(|runs| runs.truncate(self.depth.saturating_sub(1)));
    }
}

/// The innermost run: its workspace, `$evm` and timeout.
fn current_run() -> Option<(Obj<RbWorkspace>, Value, Option<f64>)> {
    with_runs(|runs| runs.last().map(|c| (c.ws, c.evm, c.timeout)))
}

fn same(a: Obj<RbWorkspace>, b: Obj<RbWorkspace>) -> bool {
    a.as_value().as_raw() == b.as_value().as_raw()
}

/// A non-local exit caught under the engine, if any (taken).
fn take_pending_jump() -> Option<Error> {
    PENDING_JUMP.with(|p| p.borrow_mut().take())
}

/// Marks `rt` as the runtime of the innermost run for as long as it lives.
struct Active;

impl Active {
    fn push(rt: *mut ()) -> Self {
        with_runs(|runs| {
            if let Some(ctx) = runs.last_mut() {
                ctx.runtimes.push(rt);
            }
        });
        Active
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        with_runs(|runs| {
            if let Some(ctx) = runs.last_mut() {
                ctx.runtimes.pop();
            }
        });
    }
}

/// Swaps the engine's workspace and the Ruby workspace's for as long as it lives, and back
/// on drop (also on a panic). A swap is its own inverse, so the same guard lends the
/// engine's workspace to Ruby (around a method) and hands it back to the engine (around
/// `$evm.instantiate`).
struct Lent {
    ws: Obj<RbWorkspace>,
    rt: *mut Runtime<'static>,
}

impl Lent {
    fn new(ws: Obj<RbWorkspace>, rt: *mut Runtime<'static>) -> Result<Self, AeError> {
        let mut core = ws
            .core_mut()
            .map_err(|_| AeError::Internal("the workspace is busy (re-entrant call)".into()))?;
        // SAFETY: `rt` is the runtime of a runner call that is on the stack below us; no
        // other reference to it is used while this one lives.
        let engine_ws = unsafe { (*rt).workspace() };
        std::mem::swap(&mut *core, engine_ws);
        Ok(Lent { ws, rt })
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Ok(mut core) = self.ws.core_mut() {
            // SAFETY: as in `Lent::new`; the runner call is still on the stack.
            let engine_ws = unsafe { (*self.rt).workspace() };
            std::mem::swap(&mut *core, engine_ws);
        }
    }
}

fn engine_class(ruby: &Ruby) -> Result<RClass, Error> {
    let module: RModule = ruby.class_object().const_get("MiqAutomate")?;
    module.const_get("Engine")
}

/// Runs Ruby for a method or a stub of the innermost run with the engine's workspace lent
/// to the Ruby workspace, and maps what Ruby answered to an exit status: an Integer is the
/// status; a String is a timeout (recorded; the run aborts); an exception that escaped is
/// an outer method's timeout passing through (it aborts this method's instantiation and is
/// raised again in the outer method by `$evm.instantiate`), else an error of the runner.
fn run_in_ruby(
    rt: &mut Runtime<'_>,
    call: impl FnOnce(&Ruby, RClass, Obj<RbWorkspace>, Value, Option<f64>) -> Result<Value, Error>,
) -> Result<i32, AeError> {
    let ruby = Ruby::get().map_err(|_| AeError::Internal("not on a Ruby thread".into()))?;
    let (ws, evm, timeout) = current_run()
        .ok_or_else(|| AeError::Internal("a Ruby method ran outside an engine run".into()))?;
    let class = engine_class(&ruby).map_err(|e| errors::from_ruby(&e))?;
    // Every access to the runtime from here on goes through this pointer (here, in
    // `Lent`, and in `$evm.instantiate`), one at a time.
    let rt = (rt as *mut Runtime<'_>).cast::<Runtime<'static>>();
    let outcome = {
        let _lent = Lent::new(ws, rt)?;
        let _active = Active::push(rt.cast());
        call(&ruby, class, ws, evm, timeout)
    };
    match outcome {
        Ok(v) => {
            if let Ok(rc) = i32::try_convert(v) {
                return Ok(rc);
            }
            let message = String::try_convert(v).map_err(|e| errors::from_ruby(&e))?;
            with_runs(|runs| {
                if let Some(ctx) = runs.last_mut() {
                    ctx.timed_out.get_or_insert(message);
                }
            });
            Ok(MIQ_ABORT)
        }
        Err(e) if e.value().is_none() || e.is_kind_of(ruby.exception_signal()) => {
            // A non-local exit (the method's thread is being killed), or Ctrl-C / SIGTERM
            // (a SignalException): for the engine's caller, not the method. The engine
            // unwinds this run as an abort, and the exit resumes once Ruby is reached again.
            PENDING_JUMP.with(|p| *p.borrow_mut() = Some(e));
            Err(AeError::AbortInstantiation(
                "the method's thread was stopped".into(),
            ))
        }
        Err(e) => {
            let signal: Result<RClass, Error> = class.const_get("TimeoutSignal");
            match (e.value(), signal) {
                (Some(exception), Ok(signal)) if e.is_kind_of(signal) => {
                    // Kept alive on the workspace until `$evm.instantiate` raises it again.
                    ws.funcall::<_, _, Value>("instance_variable_set", (PENDING_SIGNAL, exception))
                        .map_err(|e| errors::from_ruby(&e))?;
                    // SAFETY: as in `Lent`; the runner's call is still on the stack.
                    unsafe { (*rt).workspace() }.log(
                        LogLevel::Error,
                        "Stopped: the timeout of the method that instantiated this one expired",
                    );
                    Ok(MIQ_ABORT)
                }
                _ => Err(match errors::from_ruby(&e) {
                    AeError::Remote { class, message } => {
                        AeError::Internal(format!("the method runner failed: {class}: {message}"))
                    }
                    other => other,
                }),
            }
        }
    }
}

/// Runs inline Ruby methods in this Ruby VM for the engine (see the module docs).
pub struct RubyRunner;

impl MethodRunner for RubyRunner {
    fn run(&self, rt: &mut Runtime<'_>, method: &MethodInvocation) -> Result<i32, AeError> {
        if !method.location.eq_ignore_ascii_case("inline") {
            return Err(AeError::InvalidMethod(format!(
                "[{}] method [{}] cannot run offline: stub it (Engine#stub)",
                method.location, method.fqname
            )));
        }
        if let Some(language) = method.language.as_deref() {
            if !language.trim().is_empty() && !language.eq_ignore_ascii_case("ruby") {
                return Err(AeError::InvalidMethod(format!(
                    "method [{}] is in [{language}]: only Ruby runs inline",
                    method.fqname
                )));
            }
        }
        run_in_ruby(rt, |ruby, class, ws, evm, timeout| {
            let scripts = ruby.ary_new_capa(method.embedded.len() + 1);
            for (fqname, body) in &method.embedded {
                scripts.push((fqname.as_str(), body.as_str()))?;
            }
            scripts.push((method.fqname.as_str(), method.body.as_str()))?;
            class.funcall(
                "_run_method",
                (evm, ws, method.fqname.as_str(), scripts, timeout),
            )
        })
    }

    fn evaluate_assertion(&self, assertion: &str) -> Option<Result<bool, AssertionError>> {
        Some(RubyRunner::assert_in_ruby(assertion))
    }
}

impl RubyRunner {
    /// `Engine._assert(text)`: the assertion evaluated as Ruby, as ManageIQ `eval`s it.
    fn assert_in_ruby(assertion: &str) -> Result<bool, AssertionError> {
        let ruby =
            Ruby::get().map_err(|_| AssertionError::Evaluation("not on a Ruby thread".into()))?;
        let class = engine_class(&ruby).map_err(|e| AssertionError::Evaluation(e.to_string()))?;
        let answer: Result<RArray, Error> = class.funcall("_assert", (assertion,));
        let answer =
            answer.map_err(|e| AssertionError::Evaluation(errors::from_ruby(&e).to_string()))?;
        let kind: String = answer
            .entry(0)
            .map_err(|e| AssertionError::Evaluation(e.to_string()))?;
        let value: Value = answer
            .entry(1)
            .map_err(|e| AssertionError::Evaluation(e.to_string()))?;
        match kind.as_str() {
            "value" => Ok(value.to_bool()),
            "syntax" => Err(AssertionError::Syntax(value.to_string())),
            _ => Err(AssertionError::Evaluation(value.to_string())),
        }
    }
}

fn load(ruby: &Ruby, dirs: Vec<String>) -> Result<Obj<RbEngine>, Error> {
    guard(|| {
        // Parsing runs on every core without the GVL: other Ruby threads go on meanwhile,
        // and Timeout/Thread#kill/Ctrl-C stop a load of a huge tree between two files.
        let loaded = crate::nogvl::without_gvl_cancellable(ruby, |cancel| {
            Datastore::load_interruptible(&dirs, cancel)
        })?;
        let datastore =
            loaded.map_err(|e| Error::new(errors::class("DatastoreError"), e.to_string()))?;
        let clock = VirtualClock::starting_now();
        let engine = Engine::new(datastore)
            .with_runner(RubyRunner)
            .with_clock(clock.clone());
        Ok(ruby.obj_wrap(RbEngine {
            engine: RefCell::new(engine),
            clock,
            blocks: RefCell::new(Vec::new()),
            log_sink: RefCell::new(None),
        }))
    })
}

fn stats(ruby: &Ruby, rb_self: &RbEngine) -> Result<RHash, Error> {
    guard(|| {
        let s = rb_self.engine.borrow().datastore().stats();
        let out = ruby.hash_new();
        for (key, value) in [
            ("domains", s.domains),
            ("namespaces", s.namespaces),
            ("classes", s.classes),
            ("instances", s.instances),
            ("methods", s.methods),
        ] {
            out.aset(ruby.to_symbol(key), value)?;
        }
        Ok(out)
    })
}

impl RbEngine {
    /// Stubs `path`; refused while a run holds the engine.
    fn add_stub(&self, path: &str, stub: Stub) -> Result<(), Error> {
        self.engine
            .try_borrow_mut()
            .map_err(|_| errors::error("stub: the engine is running"))?
            .stub(path, stub);
        Ok(())
    }
}

/// `Engine#unused_stubs`: the stubs no run of this engine has used (a typo in a path, or a
/// state never reached).
fn unused_stubs(rb_self: &RbEngine) -> Result<Vec<String>, Error> {
    guard(|| {
        Ok(rb_self
            .engine
            .try_borrow()
            .map_err(|_| errors::error("the engine is busy"))?
            .unused_stubs())
    })
}

fn stub_exit(rb_self: &RbEngine, path: String, rc: i32) -> Result<(), Error> {
    guard(|| rb_self.add_stub(&path, Stub::Exit(rc)))
}

fn stub_block(rb_self: &RbEngine, path: String, block: Value) -> Result<(), Error> {
    guard(|| {
        let opaque: Opaque<Value> = block.into();
        let name = path.clone();
        // An instance stub runs under the instance's name (as `on_instantiate` blocks do),
        // so its `$evm.log` lines read `<AEMethod name>`; a method stub has its method's.
        let short = path
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_lowercase();
        let stub = Stub::call(move |rt| {
            let unnamed = rt
                .workspace()
                .current_frame()
                .is_some_and(|f| f.method.is_none());
            if unnamed {
                rt.workspace().set_current_method(Some(&short));
            }
            let rc = run_in_ruby(rt, |ruby, class, ws, evm, timeout| {
                class.funcall(
                    "_run_block",
                    (evm, ws, name.as_str(), ruby.get_inner(opaque), timeout),
                )
            });
            if unnamed {
                rt.workspace().set_current_method(None);
            }
            rc
        });
        rb_self.add_stub(&path, stub)?;
        rb_self.blocks.borrow_mut().push(opaque);
        Ok(())
    })
}

/// A Ruby error as the exception object it stands for (so Ruby can attach the workspace).
fn exception_of(error: Error) -> Result<Value, Error> {
    match error.error_type() {
        magnus::error::ErrorType::Error(class, message) => {
            let exception: Exception = class.new_instance((message.to_string(),))?;
            Ok(exception.as_value())
        }
        magnus::error::ErrorType::Exception(exception) => Ok(exception.as_value()),
        magnus::error::ErrorType::Jump(_) => Err(error),
    }
}

/// Calls the Ruby objects of a run's workspace (service models, doubles) for the engine's
/// own substitutions (`${/#miq_provision.source.vendor}`), with `public_send` as Ruby
/// would. The workspace outlives the run (the caller holds it).
struct RubyBroker {
    ws: Opaque<Value>,
}

impl miq_automate_core::workspace::ObjectBroker for RubyBroker {
    fn call(&mut self, receiver: &Core, method: &str, args: &[Core]) -> Result<Core, AeError> {
        let ruby = Ruby::get().map_err(|_| AeError::Internal("not on a Ruby thread".into()))?;
        let ws = Obj::<RbWorkspace>::try_convert(ruby.get_inner(self.ws))
            .map_err(|e| errors::from_ruby(&e))?;
        let side = WsSide(ws);
        let call = || -> Result<Core, Error> {
            let target = side.ruby(receiver)?;
            let argv = ruby.ary_new_capa(args.len());
            for a in args {
                argv.push(side.ruby(a)?)?;
            }
            // Through Ruby, so a trailing Hash of Symbol keys reaches a method that takes
            // keywords as keywords (`manager_refresh(sync: true)`).
            let result: Value =
                engine_class(&ruby)?.funcall("_broker_call", (target, method, argv))?;
            side.core_at(result, &|| format!("the result of {method}"))
        };
        call().map_err(|e| errors::from_ruby(&e))
    }
}

/// Hands a log line to `Engine#on_log`'s block. The block's errors are its own: a log
/// line is never lost for them, and they never reach the engine.
fn log_to_ruby(sink: Opaque<Value>, record: &miq_automate_core::log::LogRecord) {
    let Ok(ruby) = Ruby::get() else { return };
    let level = record.level.as_str();
    let _: Result<Value, Error> = ruby
        .get_inner(sink)
        .funcall("call", (level, record.message.as_str()));
}

/// `Engine#_on_log(block)`: the block that sees every log line of later runs.
fn on_log(rb_self: &RbEngine, block: Value) -> Result<(), Error> {
    guard(|| {
        let mut sink = rb_self
            .log_sink
            .try_borrow_mut()
            .map_err(|_| errors::error("on_log: the engine is running"))?;
        *sink = (!block.is_nil()).then(|| block.into());
        Ok(())
    })
}

/// `Engine._thread_key`: the run key of this thread, for a method's own thread to adopt.
fn thread_key() -> Result<u64, Error> {
    guard(|| Ok(run_key()))
}

/// `Engine._adopt(key)`: this thread (a method's own thread) works for the runs of the
/// thread whose key this is.
fn adopt(key: u64) -> Result<(), Error> {
    guard(|| {
        OWNER.with(|o| o.set(Some(key)));
        Ok(())
    })
}

/// The caller's root attributes.
type RootAttrs = Vec<(String, Core)>;

/// What an engine run starts from: the workspace's `$evm`, its root attributes (the
/// caller's) and a clone of the engine (it shares the datastore, the stubs and the clock;
/// no borrow is held while methods run, so a method may stub or instantiate again).
fn prepare(rb_self: &RbEngine, ws: Obj<RbWorkspace>) -> Result<(Value, RootAttrs, Engine), Error> {
    let evm: Value = ws.funcall("evm", ())?;
    let root_attrs: RootAttrs = {
        let core = ws.core()?;
        let root = core.root();
        core.obj(root)
            .attributes()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let mut engine = rb_self
        .engine
        .try_borrow()
        .map_err(|_| errors::error("the engine is busy"))?
        .clone();
    let handle: Opaque<Value> = ws.as_value().into();
    if let Some(sink) = *rb_self.log_sink.borrow() {
        engine.set_log_sink(std::sync::Arc::new(move |record| log_to_ruby(sink, record)));
    }
    engine.set_workspace_setup(std::sync::Arc::new(move |w| {
        w.set_broker(Box::new(RubyBroker { ws: handle }));
    }));
    Ok((evm, root_attrs, engine))
}

/// `Engine#_instantiate(workspace, uri, timeout)`: runs the engine into `workspace` (whose
/// root attributes are the caller's); see [`run_into`].
fn instantiate(
    ruby: &Ruby,
    rb_self: &RbEngine,
    ws: Obj<RbWorkspace>,
    uri: String,
    timeout: Option<f64>,
) -> Result<Value, Error> {
    guard(|| {
        let (evm, root_attrs, engine) = prepare(rb_self, ws)?;
        run_into(ruby, ws, evm, timeout, || {
            engine.instantiate(&uri, root_attrs)
        })
    })
}

/// Runs `body` (an instantiation or a method call) as a run of `ws`; its workspace goes
/// into `ws`. Nil when it got through, else the exception to raise (the engine's abort,
/// or `MethodTimeout` when a method timed out).
fn run_into(
    ruby: &Ruby,
    ws: Obj<RbWorkspace>,
    evm: Value,
    timeout: Option<f64>,
    body: impl FnOnce() -> Result<miq_automate_engine::Run, Box<miq_automate_engine::Aborted>>,
) -> Result<Value, Error> {
    let run = RunGuard::start(ws, evm, timeout);
    let result = body();
    let timed_out = run.finish().and_then(|ctx| ctx.timed_out);
    if let Some(jump) = take_pending_jump() {
        return Err(jump);
    }
    // What the state machines did, for `Workspace#state_machine_events` (coverage reads it).
    let trace = match &result {
        Ok(done) => &done.trace,
        Err(aborted) => &aborted.run.trace,
    };
    let trace = serde_json::to_string(trace).unwrap_or_else(|_| "[]".to_string());
    ws.funcall::<_, _, Value>("instance_variable_set", ("@_state_machine_events", trace))?;
    let failure = match result {
        Ok(done) => {
            *ws.core_mut()? = done.workspace;
            None
        }
        Err(aborted) => {
            let error = match &aborted.error {
                EngineError::Ae(e) => errors::to_ruby(e.clone()),
                other => errors::error(format!("{}: {other}", other.engine_class())),
            };
            *ws.core_mut()? = aborted.run.workspace;
            Some(error)
        }
    };
    match (timed_out, failure) {
        (Some(message), _) => exception_of(Error::new(errors::class("MethodTimeout"), message)),
        (None, Some(error)) => exception_of(error),
        (None, None) => Ok(ruby.qnil().as_value()),
    }
}

/// A Ruby Hash of attributes (String or Symbol keys) as the engine takes them.
fn attributes(ws: Obj<RbWorkspace>, hash: RHash, what: &str) -> Result<Vec<(String, Core)>, Error> {
    let side = WsSide(ws);
    let mut out = Vec::with_capacity(hash.len());
    hash.foreach(|k: Value, v: Value| {
        let key = crate::convert::text(k)?;
        let value = side.core_at(v, &|| format!("{what}[{key:?}]"))?;
        out.push((key, value));
        Ok(magnus::r_hash::ForEach::Continue)
    })?;
    Ok(out)
}

/// `Engine#_call_method(workspace, path, inputs, object, parent, timeout)`: one method of
/// the datastore run on a given object (its parent given, or the root), into `workspace`
/// (whose root attributes are the caller's). Nil when it got through, else the exception.
fn call_method(ruby: &Ruby, rb_self: &RbEngine, args: &[Value]) -> Result<Value, Error> {
    guard(|| {
        let [ws, path, inputs, object, parent, timeout] = args else {
            return Err(errors::error("_call_method takes 6 arguments"));
        };
        let ws = Obj::<RbWorkspace>::try_convert(*ws)?;
        let path = String::try_convert(*path)?;
        let timeout = Option::<f64>::try_convert(*timeout)?;
        let (evm, root_attrs, engine) = prepare(rb_self, ws)?;
        let call = MethodCall {
            path,
            inputs: attributes(ws, RHash::try_convert(*inputs)?, "inputs")?,
            object: attributes(ws, RHash::try_convert(*object)?, "object")?,
            parent: match Option::<RHash>::try_convert(*parent)? {
                Some(hash) => Some(attributes(ws, hash, "parent")?),
                None => None,
            },
            root: root_attrs,
        };
        run_into(ruby, ws, evm, timeout, || engine.call_method(&call))
    })
}

/// `Engine#_deliver(workspace, uri, max_deliveries, max_time, timeout, object_type,
/// object_id, state, state_data)`: `Engine::deliver` with this VM's runner; the last
/// delivery's workspace goes into `workspace`. Returns `[delivery JSON, the clock at the
/// start (epoch seconds), the message of the first method that timed out or nil, the
/// workspaces of the earlier deliveries]`.
#[allow(clippy::too_many_arguments)]
fn deliver(
    ruby: &Ruby,
    rb_self: &RbEngine,
    ws: Obj<RbWorkspace>,
    uri: String,
    max_deliveries: usize,
    max_time: Option<i64>,
    timeout: Option<f64>,
    object_type: Option<String>,
    object_id: Option<i64>,
    state: Option<String>,
    state_data: Option<RHash>,
) -> Result<RArray, Error> {
    guard(|| {
        let (evm, root_attrs, engine) = prepare(rb_self, ws)?;
        let started = engine.clock().now().timestamp();
        let state_data = match state_data {
            Some(hash) => Some(WsSide(ws).core_at(hash.as_value(), &|| "state_data".to_string())?),
            None => None,
        };
        let options = DeliverOptions {
            max_deliveries: max_deliveries.max(1),
            max_virtual_time: max_time,
            object_type,
            object_id,
            state,
            state_data,
        };
        let run = RunGuard::start(ws, evm, timeout);
        let mut delivery = engine.deliver(&uri, root_attrs, options);
        let timed_out = run.finish().and_then(|ctx| ctx.timed_out);
        if let Some(jump) = take_pending_jump() {
            return Err(jump);
        }
        if let Some(last) = delivery.run.take() {
            *ws.core_mut()? = last.workspace;
        }
        let earlier = ruby.ary_new_capa(delivery.earlier_runs.len());
        for run in std::mem::take(&mut delivery.earlier_runs) {
            earlier.push(RbWorkspace::sibling(ruby, ws, run.workspace))?;
        }
        let json = serde_json::to_string(&delivery)
            .map_err(|e| errors::internal(&format!("the delivery does not serialise: {e}")))?;
        let out = ruby.ary_new_capa(4);
        out.push(json)?;
        out.push(started)?;
        out.push(timed_out)?;
        out.push(earlier)?;
        Ok(out)
    })
}

/// The engine's virtual clock as the mock VMDB's clock.
#[derive(Debug)]
struct EngineTime(VirtualClock);

impl miq_automate_mock::vmdb::Clock for EngineTime {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        miq_automate_engine::Clock::now(&self.0)
    }
}

/// `Engine#_follow_clock(mock)`: the mock ManageIQ's VMDB reads the engine's virtual clock,
/// so its retire requests and tasks progress as the engine's time passes (a retry interval,
/// a stub's `evm.clock.advance`).
fn follow_clock(rb_self: &RbEngine, mock: Value) -> Result<(), Error> {
    guard(|| {
        let vmdb = crate::mock::vmdb_of(mock).ok_or_else(|| {
            errors::error("vmdb: must be a MiqAutomate::MockManageIQ to share the engine's clock")
        })?;
        // The virtual clock starts at the VMDB's time, so nothing it did goes back in time.
        let vmdb_now = vmdb.clock().now();
        if miq_automate_engine::Clock::now(&rb_self.clock) < vmdb_now {
            rb_self.clock.set(vmdb_now);
        }
        vmdb.set_clock(std::sync::Arc::new(EngineTime(rb_self.clock.clone())));
        Ok(())
    })
}

/// `Engine#_clock_now`: the engine's clock, epoch seconds.
fn clock_now(rb_self: &RbEngine) -> Result<i64, Error> {
    guard(|| Ok(rb_self.clock.now().timestamp()))
}

/// `Engine#_clock_advance(seconds)`: moves the engine's clock (back when negative).
fn clock_advance(rb_self: &RbEngine, seconds: i64) -> Result<i64, Error> {
    guard(|| {
        rb_self.clock.advance(seconds);
        Ok(rb_self.clock.now().timestamp())
    })
}

/// `Engine#_clock_set(epoch_seconds)`: sets the engine's clock.
fn clock_set(rb_self: &RbEngine, epoch: i64) -> Result<i64, Error> {
    guard(|| {
        let to = chrono::DateTime::<chrono::Utc>::from_timestamp(epoch, 0)
            .ok_or_else(|| errors::error(format!("the clock cannot be set to {epoch} seconds")))?;
        rb_self.clock.set(to);
        Ok(epoch)
    })
}

/// `Engine._evm_instantiate(workspace, uri)`: `$evm.instantiate` of a method of an engine
/// run, through the engine (a child of the current object; errors logged, nil).
fn evm_instantiate(ruby: &Ruby, ws: Obj<RbWorkspace>, uri: String) -> Result<Value, Error> {
    guard(|| {
        let rt = with_runs(|runs| {
            runs.iter()
                .rev()
                .find(|c| same(c.ws, ws))
                .and_then(|c| c.runtimes.last().copied())
        });
        let Some(rt) = rt else {
            return Err(errors::error(
                "$evm.instantiate: this workspace's engine run is over, or the call comes from another thread (a $evm instantiates only from its method's thread, while the method runs)",
            ));
        };
        let rt = rt.cast::<Runtime<'static>>();
        let id = {
            let _back = Lent::new(ws, rt).map_err(errors::to_ruby)?;
            // SAFETY: the runner that pushed `rt` is on the stack below this call and does
            // not touch the runtime until we return.
            unsafe { (*rt).instantiate(&uri) }
        };
        if let Some(jump) = take_pending_jump() {
            return Err(jump);
        }
        // A timeout of this method expired in the child's method: raise it here.
        let pending: Value = ws.funcall("instance_variable_get", (PENDING_SIGNAL,))?;
        if let Some(exception) = Exception::from_value(pending) {
            let _: Value = ws.funcall("instance_variable_set", (PENDING_SIGNAL, ruby.qnil()))?;
            return Err(exception.into());
        }
        Ok(match id {
            Some(id) => ruby.obj_wrap(RbObject::new(ws, id)).as_value(),
            None => ruby.qnil().as_value(),
        })
    })
}

/// `Engine._service_for(workspace)`: the `$evm` of an engine run (an `Engine::Service`).
fn service_for(ruby: &Ruby, ws: Obj<RbWorkspace>) -> Result<Value, Error> {
    guard(|| {
        let class: RClass = engine_class(ruby)?.const_get("Service")?;
        Ok(ruby.obj_wrap_as(RbService::new(ws), class).as_value())
    })
}

/// Defines `MiqAutomate::Engine` and `MiqAutomate::Engine::Service` (after `Service`).
pub fn define(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("Engine", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.define_singleton_method("_load", function!(load, 1))?;
    class.define_singleton_method("_service_for", function!(service_for, 1))?;
    class.define_singleton_method("_evm_instantiate", function!(evm_instantiate, 2))?;
    class.define_singleton_method("_thread_key", function!(thread_key, 0))?;
    class.define_singleton_method("_adopt", function!(adopt, 1))?;
    class.define_private_method("_on_log", method!(on_log, 1))?;
    class.define_private_method("_stats", method!(stats, 0))?;
    class.define_private_method("_instantiate", method!(instantiate, 3))?;
    class.define_private_method("_deliver", method!(deliver, 9))?;
    class.define_private_method("_call_method", method!(call_method, -1))?;
    class.define_private_method("_clock_now", method!(clock_now, 0))?;
    class.define_private_method("_follow_clock", method!(follow_clock, 1))?;
    class.define_private_method("_clock_advance", method!(clock_advance, 1))?;
    class.define_private_method("_clock_set", method!(clock_set, 1))?;
    class.define_private_method("_stub_exit", method!(stub_exit, 2))?;
    class.define_method("unused_stubs", method!(unused_stubs, 0))?;
    class.define_private_method("_stub_block", method!(stub_block, 2))?;
    let service: RClass = module.const_get("Service")?;
    class.define_class("Service", service)?;
    Ok(())
}
