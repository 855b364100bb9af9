//! `MiqAeEngine.deliver`: instantiate a URI and, while the root's `ae_result` is `retry`,
//! deliver it again as the engine's requeue would, on the engine's clock.
//!
//! Each re-delivery instantiates the **whole** URI again with the persisted keys as root
//! attributes (`ae_state`, `ae_state_retries`, `ae_state_started`, `ae_fsm_started`, as
//! the strings a queued URI carries), the state vars (`ae_state_data`) and the machines'
//! saved state info (`ae_state_previous`); states before `ae_state` are not runnable and
//! are passed over. `ae_retry_interval` (`30`, `"1.minute"`, `"2.hours"`) is waited on the
//! clock: a [`crate::VirtualClock`] (the default) moves on at once.

use indexmap::IndexMap;
use miq_automate_core::log::{emit, sanitize};
use miq_automate_core::ruby::to_i_with_method;
use miq_automate_core::{LogLevel, LogRecord, ObjectId, Value, Workspace};
use serde::Serialize;

use crate::engine::{Aborted, Engine, Run};
use crate::state_machine::{state_info_to_value, StateInfo, TraceEvent};

/// Limits and the queue message's options for [`Engine::deliver`].
#[derive(Clone, Debug)]
pub struct DeliverOptions {
    /// Deliveries at most (the first included); a retry beyond it is not delivered.
    pub max_deliveries: usize,
    /// Virtual seconds at most from the first delivery; a retry whose interval would
    /// end beyond it is not delivered. `None`: no limit.
    pub max_virtual_time: Option<i64>,
    /// The queue message's `state` for the first delivery (`ae_state` on the root).
    pub state: Option<String>,
    /// The queue message's `ae_state_data` for the first delivery (a Hash of state vars).
    pub state_data: Option<Value>,
    /// The object the request is about (`MiqProvision`), for the log lines' `[type.id]`.
    pub object_type: Option<String>,
    /// Its id.
    pub object_id: Option<i64>,
}

impl Default for DeliverOptions {
    fn default() -> Self {
        DeliverOptions {
            max_deliveries: 1000,
            max_virtual_time: None,
            state: None,
            state_data: None,
            object_type: None,
            object_id: None,
        }
    }
}

/// Why delivering stopped while the result was still `retry`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryLimit {
    /// [`DeliverOptions::max_deliveries`] deliveries were made.
    MaxDeliveries,
    /// The next delivery would be after [`DeliverOptions::max_virtual_time`].
    MaxVirtualTime,
}

/// What a requeue carried to the next delivery (`change_options_by_ws`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Requeue {
    /// `state`: the root's `ae_state` (or the previous state when the root has none).
    pub state: Option<String>,
    /// `ae_state_retries`.
    pub ae_state_retries: Value,
    /// `ae_state_started`.
    pub ae_state_started: Value,
    /// `ae_fsm_started`.
    pub ae_fsm_started: Value,
    /// The state vars (`ae_state_data`), when there are any.
    pub ae_state_data: Option<Value>,
    /// The machines' saved state info (`ae_state_previous`), when there is any.
    pub ae_state_previous: Option<Value>,
    /// `ae_retry_interval` in seconds (`deliver_on` = now + this).
    pub retry_interval: i64,
    /// `ae_retry_server_affinity`: the requeue names this server.
    pub server_affinity: bool,
}

/// One delivery of a [`Delivery`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DeliveryTrace {
    /// 1 for the first delivery.
    pub delivery: usize,
    /// Virtual seconds since the first delivery began.
    pub at: i64,
    /// The state the delivery was asked to resume (`state` of the queue message).
    pub state: Option<String>,
    /// What the state machines did.
    pub events: Vec<TraceEvent>,
    /// The root's `ae_result` (`ok` when unset; `error` when the delivery failed).
    pub ae_result: String,
    /// The requeue, when the result was retry.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requeue: Option<Requeue>,
    /// The root's `ae_reason` at the end of the delivery, when not blank (secrets masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The notifications the delivery's methods created, in order.
    pub notifications: Vec<NotificationEntry>,
    /// The delivery's `$evm.execute` calls (`send_email` …), in order.
    pub executions: Vec<ExecutionEntry>,
}

/// A notification of a delivery, as `Workspace#notifications` gives it; secrets masked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NotificationEntry {
    /// The notification type (`automate_user_error`).
    #[serde(rename = "type")]
    pub kind: String,
    /// The subject (a service model), if given.
    pub subject: Value,
    /// The message, if given.
    pub message: Option<String>,
    /// The type's level.
    pub level: String,
    /// The type's audience.
    pub audience: String,
    /// The message as ManageIQ renders it.
    pub text: String,
    /// The options as the method passed them.
    pub options: Value,
}

/// An `$evm.execute(name, *args)` call of a delivery; secrets masked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExecutionEntry {
    /// The method executed (`send_email`, …).
    pub name: String,
    /// Its arguments.
    pub args: Vec<Value>,
}

/// A value with its secrets masked: passwords as `********`, every text through the core's
/// one sanitizer (a `password::` argument, a `v2:{…}` token).
fn sanitized(v: &Value) -> Value {
    fn walk(v: Value) -> Value {
        match v {
            Value::String(t) => Value::String(sanitize(&t)),
            Value::Symbol(t) => Value::Symbol(sanitize(&t)),
            Value::Array(items) => Value::Array(items.into_iter().map(walk).collect()),
            Value::Hash(pairs) => {
                Value::Hash(pairs.into_iter().map(|(k, v)| (walk(k), walk(v))).collect())
            }
            // An embedder's object shows its `to_s` (a model's inspect may quote a secret).
            Value::Foreign(mut f) => {
                f.text = f.text.map(|t| sanitize(&t).into());
                Value::Foreign(f)
            }
            other => other,
        }
    }
    walk(v.masked())
}

impl DeliveryTrace {
    /// What the delivery's workspace says at its end: the reason, notifications, executions.
    fn finish(&mut self, run: &Run) {
        let reason = run.root_get("ae_reason");
        self.reason = (!reason.is_blank()).then(|| sanitize(&reason.masked().to_ruby_s()));
        self.notifications = run
            .workspace
            .notifications()
            .iter()
            .map(|n| NotificationEntry {
                kind: n.kind.clone(),
                subject: sanitized(&n.subject),
                message: n.message.as_deref().map(sanitize),
                level: n.level.clone(),
                audience: n.audience.clone(),
                text: sanitize(&n.text),
                options: sanitized(&n.options),
            })
            .collect();
        self.executions = run
            .workspace
            .executions()
            .iter()
            .map(|(name, args)| ExecutionEntry {
                name: sanitize(name),
                args: args.iter().map(sanitized).collect(),
            })
            .collect();
    }
}

/// One log line of a [`Delivery`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DeliveryLog {
    /// The delivery it belongs to (1 for the first).
    pub delivery: usize,
    /// `info`, `warn`, `error`, …
    pub level: String,
    /// The text (secrets masked).
    pub message: String,
}

/// One object of the last workspace.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ObjectSnapshot {
    /// `/Domain/ns/Class/Instance`.
    pub name: String,
    /// The parent's index in [`Delivery::objects`].
    pub parent: Option<usize>,
    /// The attributes, passwords masked.
    pub attributes: IndexMap<String, Value>,
}

/// The outcome of [`Engine::deliver`].
#[derive(Debug, Serialize)]
pub struct Delivery {
    /// The final `ae_result` (`ok` when unset; `error` for an aborted or empty delivery;
    /// `retry` when a limit stopped it).
    pub ae_result: String,
    /// The final root's `ae_reason`, or the abort's message.
    pub ae_reason: Option<String>,
    /// How many deliveries were made.
    pub deliveries: usize,
    /// Virtual seconds from the first delivery to the end.
    pub virtual_seconds: i64,
    /// Set when a limit stopped a retrying request.
    pub limit: Option<DeliveryLimit>,
    /// The exception that ended the last delivery (class: message), if any.
    pub error: Option<String>,
    /// Per delivery: states, hooks, mains, results, the requeue.
    pub trace: Vec<DeliveryTrace>,
    /// The last workspace's objects, root first.
    pub objects: Vec<ObjectSnapshot>,
    /// The last workspace's state vars.
    pub state_vars: Value,
    /// Every log line of every delivery, in order.
    pub logs: Vec<DeliveryLog>,
    /// The last workspace itself.
    #[serde(skip)]
    pub run: Option<Run>,
    /// The workspaces of the deliveries before the last, in order (a spec looks at the
    /// k-th delivery's notifications, executions or objects).
    #[serde(skip)]
    pub earlier_runs: Vec<Run>,
}

impl Delivery {
    /// The log messages, in order.
    pub fn log_messages(&self) -> Vec<&str> {
        self.logs.iter().map(|l| l.message.as_str()).collect()
    }

    /// An attribute of the last root (nil without one).
    pub fn root_get(&self, key: &str) -> Value {
        self.run.as_ref().map_or(Value::Nil, |r| r.root_get(key))
    }

    /// The trace events of every delivery, in order.
    pub fn events(&self) -> impl Iterator<Item = &TraceEvent> {
        self.trace.iter().flat_map(|t| t.events.iter())
    }
}

/// The queue message's persisted keys between deliveries.
#[derive(Clone, Debug, Default)]
struct Persisted {
    state: Option<String>,
    fsm_started: Value,
    state_started: Value,
    retries: Value,
    data: Option<Value>,
    previous: StateInfo,
}

impl Persisted {
    /// `automate_attrs_from_options`: the keys as the strings a URI carries; nil ones left out.
    fn attrs(&self) -> Vec<(String, Value)> {
        let mut out = Vec::new();
        if let Some(s) = &self.state {
            out.push(("ae_state".to_string(), Value::String(s.clone())));
        }
        for (k, v) in [
            ("ae_fsm_started", &self.fsm_started),
            ("ae_state_started", &self.state_started),
            ("ae_state_retries", &self.retries),
        ] {
            if !matches!(v, Value::Nil) {
                out.push((k.to_string(), Value::String(v.to_ruby_s())));
            }
        }
        out
    }
}

/// A Hash with String keys, as Ruby shows a queue message's attributes or a method's inputs.
pub(crate) fn string_keyed_hash<'a>(
    pairs: impl IntoIterator<Item = (&'a String, &'a Value)>,
) -> Value {
    Value::Hash(
        pairs
            .into_iter()
            .map(|(k, v)| (Value::String(k.clone()), v.clone()))
            .collect(),
    )
}

fn sym(k: &str) -> Value {
    Value::Symbol(k.to_string())
}

fn objects(ws: &Workspace, root: ObjectId) -> Vec<ObjectSnapshot> {
    let mut out = Vec::new();
    let mut todo = vec![(root, None)];
    while let Some((id, parent)) = todo.pop() {
        let o = ws.obj(id);
        let index = out.len();
        out.push(ObjectSnapshot {
            name: o.name(),
            parent,
            // A report of the run: every text through the one sanitizer, as the log's.
            attributes: o
                .attributes()
                .iter()
                .map(|(k, v)| (k.clone(), sanitized(v)))
                .collect(),
        });
        for c in o.children().iter().rev() {
            todo.push((*c, Some(index)));
        }
    }
    out
}

struct Log<'a> {
    engine: &'a Engine,
    lines: Vec<DeliveryLog>,
}

impl Log<'_> {
    fn line(&mut self, delivery: usize, level: LogLevel, message: String) {
        let record = LogRecord {
            level,
            message: sanitize(&message),
            time: self.engine.clock().now(),
        };
        emit(&record);
        if let Some(sink) = self.engine.log_sink() {
            sink(&record);
        }
        self.push(delivery, &record);
    }

    fn push(&mut self, delivery: usize, record: &LogRecord) {
        self.lines.push(DeliveryLog {
            delivery,
            level: record.level.as_str().to_string(),
            message: record.message.clone(),
        });
    }
}

impl Engine {
    /// `MiqAeEngine.deliver`: instantiates `uri` with `root_attrs`; while the root's
    /// `ae_result` is `retry` (any case), waits `ae_retry_interval` on the engine's clock
    /// and delivers the same URI again with the persisted keys, as the engine's requeue
    /// does, until the result is something else or a limit of `options` is reached.
    pub fn deliver<K: AsRef<str>>(
        &self,
        uri: &str,
        root_attrs: impl IntoIterator<Item = (K, Value)>,
        options: DeliverOptions,
    ) -> Delivery {
        let attrs: Vec<(String, Value)> = root_attrs
            .into_iter()
            .map(|(k, v)| (k.as_ref().to_string(), v))
            .collect();
        // The caller's attributes never change between deliveries: shown once, reused.
        let attrs_hash = string_keyed_hash(attrs.iter().map(|(k, v)| (k, v)));
        let attrs_text = attrs_hash.masked().inspect();
        let object_name = format!(
            "{}.{}",
            options.object_type.as_deref().unwrap_or(""),
            options.object_id.map(|i| i.to_string()).unwrap_or_default()
        );
        let start = self.clock().now();
        let elapsed = |engine: &Engine| (engine.clock().now() - start).num_seconds();
        let mut log = Log {
            engine: self,
            lines: Vec::new(),
        };
        let mut persisted = Persisted {
            state: options.state.clone(),
            data: options.state_data.clone(),
            ..Persisted::default()
        };
        let mut trace = Vec::new();
        let mut n = 0;
        let mut outcome = Delivery {
            ae_result: "error".into(),
            ae_reason: None,
            deliveries: 0,
            virtual_seconds: 0,
            limit: None,
            error: None,
            trace: Vec::new(),
            objects: Vec::new(),
            state_vars: Value::Hash(Vec::new()),
            logs: Vec::new(),
            run: None,
            earlier_runs: Vec::new(),
        };
        loop {
            n += 1;
            let state = persisted.state.clone();
            let state_text = state.clone().unwrap_or_default();
            let at = elapsed(self);
            log.line(
                n,
                LogLevel::Info,
                format!(
                    "Delivering {attrs_text} for object [{object_name}] with state [{state_text}] to Automate"
                ),
            );
            let mut automate_attrs = attrs.clone();
            automate_attrs.extend(persisted.attrs());
            let result = self.instantiate_resumed(
                uri,
                automate_attrs.clone(),
                persisted.data.as_ref(),
                persisted.previous.clone(),
            );
            let mut entry = DeliveryTrace {
                delivery: n,
                at,
                state: state.clone(),
                events: Vec::new(),
                ae_result: "error".into(),
                requeue: None,
                reason: None,
                notifications: Vec::new(),
                executions: Vec::new(),
            };
            let run = match result {
                Err(aborted) => {
                    for r in aborted.run.workspace.logs() {
                        log.push(n, r);
                    }
                    let automate_text =
                        string_keyed_hash(automate_attrs.iter().map(|(k, v)| (k, v)))
                            .masked()
                            .inspect();
                    log.line(
                        n,
                        LogLevel::Error,
                        format!(
                            "Error delivering {automate_text} for object [{object_name}] with state [{state_text}] to Automate: {}",
                            aborted.error
                        ),
                    );
                    outcome.error = Some(format!(
                        "{}: {}",
                        aborted.error.engine_class(),
                        aborted.error
                    ));
                    outcome.ae_reason = Some(aborted.error.to_string());
                    let Aborted { run, .. } = *aborted;
                    entry.events = run.trace.clone();
                    entry.finish(&run);
                    trace.push(entry);
                    if let Some(earlier) = outcome.run.replace(run) {
                        outcome.earlier_runs.push(earlier);
                    }
                    break;
                }
                Ok(run) => run,
            };
            for r in run.workspace.logs() {
                log.push(n, r);
            }
            entry.events = run.trace.clone();
            entry.finish(&run);
            if run.root.is_none() {
                log.line(
                    n,
                    LogLevel::Error,
                    format!(
                        "Error delivering {attrs_text} for object [{object_name}] with state [{state_text}] to Automate: Empty Workspace"
                    ),
                );
                trace.push(entry);
                if let Some(earlier) = outcome.run.replace(run) {
                    outcome.earlier_runs.push(earlier);
                }
                break;
            }
            let ae_result = match run.root_get("ae_result") {
                Value::Nil | Value::Bool(false) => "ok".to_string(),
                other => other.to_ruby_s(),
            };
            entry.ae_result = ae_result.clone();
            outcome.ae_result = ae_result.clone();
            let reason = run.root_get("ae_reason");
            outcome.ae_reason = (!reason.is_blank()).then(|| reason.to_ruby_s());
            if !ae_result.eq_ignore_ascii_case("retry") {
                if ae_result.eq_ignore_ascii_case("error") {
                    log.line(
                        n,
                        LogLevel::Error,
                        format!(
                            "Error delivering {attrs_text} for object [{object_name}] with state [{state_text}] to Automate: {}",
                            run.root_get("ae_message").to_ruby_s()
                        ),
                    );
                }
                trace.push(entry);
                if let Some(earlier) = outcome.run.replace(run) {
                    outcome.earlier_runs.push(earlier);
                }
                break;
            }
            let interval_text = run.root_get("ae_retry_interval").to_ruby_s();
            let interval = match to_i_with_method(&interval_text) {
                Ok(Some(i)) => i,
                Ok(None) | Err(_) => {
                    let unit = interval_text.rsplit('.').next().unwrap_or("");
                    let message = format!(
                        "undefined method `{unit}' for ae_retry_interval {interval_text:?}"
                    );
                    log.line(n, LogLevel::Error, message.clone());
                    outcome.ae_result = "error".into();
                    outcome.error = Some(format!("NoMethodError: {message}"));
                    trace.push(entry);
                    if let Some(earlier) = outcome.run.replace(run) {
                        outcome.earlier_runs.push(earlier);
                    }
                    break;
                }
            };
            // change_options_by_ws
            let root_state = run.root_get("ae_state");
            if !matches!(root_state, Value::Nil) {
                persisted.state = Some(root_state.to_ruby_s());
            }
            persisted.fsm_started = run.root_get("ae_fsm_started");
            persisted.state_started = run.root_get("ae_state_started");
            persisted.retries = run.root_get("ae_state_retries");
            let vars = run.workspace.state_vars();
            persisted.data = (!vars.is_empty()).then(|| vars.to_hash());
            persisted.previous = run.state_info.clone();
            let requeue = Requeue {
                state: persisted.state.clone(),
                ae_state_retries: persisted.retries.clone(),
                ae_state_started: persisted.state_started.clone(),
                ae_fsm_started: persisted.fsm_started.clone(),
                ae_state_data: persisted.data.clone(),
                ae_state_previous: (!persisted.previous.is_empty())
                    .then(|| state_info_to_value(&persisted.previous)),
                retry_interval: interval,
                server_affinity: run.root_get("ae_retry_server_affinity").is_truthy(),
            };
            let mut shown = vec![
                (sym("uri"), Value::String(uri.to_string())),
                (sym("attrs"), attrs_hash.clone()),
                (
                    sym("state"),
                    persisted.state.clone().map_or(Value::Nil, Value::String),
                ),
                (sym("ae_fsm_started"), persisted.fsm_started.clone()),
                (sym("ae_state_started"), persisted.state_started.clone()),
                (sym("ae_state_retries"), persisted.retries.clone()),
            ];
            if let Some(d) = &requeue.ae_state_data {
                shown.push((sym("ae_state_data"), d.clone()));
            }
            if let Some(p) = &requeue.ae_state_previous {
                shown.push((sym("ae_state_previous"), p.clone()));
            }
            log.line(
                n,
                LogLevel::Info,
                format!(
                    "Requeuing {} for object [{object_name}] with state [{}] to Automate for delivery in [{interval}] seconds",
                    Value::Hash(shown).masked().inspect(),
                    persisted.state.clone().unwrap_or_default()
                ),
            );
            entry.requeue = Some(requeue);
            trace.push(entry);
            if let Some(earlier) = outcome.run.replace(run) {
                outcome.earlier_runs.push(earlier);
            }
            if n >= options.max_deliveries {
                outcome.limit = Some(DeliveryLimit::MaxDeliveries);
                log.line(
                    n,
                    LogLevel::Warn,
                    format!(
                        "Not delivering again: max_deliveries [{}] reached",
                        options.max_deliveries
                    ),
                );
                break;
            }
            if let Some(max) = options.max_virtual_time {
                if elapsed(self).saturating_add(interval.max(0)) > max {
                    outcome.limit = Some(DeliveryLimit::MaxVirtualTime);
                    log.line(
                        n,
                        LogLevel::Warn,
                        format!(
                            "Not delivering again: the next delivery would be after max_virtual_time [{max}] seconds"
                        ),
                    );
                    break;
                }
            }
            self.clock().wait(interval);
        }
        outcome.deliveries = n;
        outcome.virtual_seconds = elapsed(self);
        outcome.trace = trace;
        if let Some(run) = &outcome.run {
            if let Some(root) = run.root {
                outcome.objects = objects(&run.workspace, root);
            }
            outcome.state_vars = run.workspace.state_vars().to_hash().masked();
        }
        outcome.logs = log.lines;
        outcome
    }
}
