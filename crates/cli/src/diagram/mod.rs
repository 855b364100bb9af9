//! `miq-automate diagram`: a state machine of a domain export as a picture — SVG drawn by
//! the project, or Mermaid and DOT text for docs. This module builds the model (states in
//! order with their hooks, main target, limits, nested machines, rollback steps and a run's
//! trace); `svg` and `text` draw it.

pub(crate) mod svg;
pub(crate) mod table;
mod text;
pub(crate) mod timeline;

use std::path::PathBuf;

use anyhow::{bail, Context};
use miq_automate_core::password::sanitize_uri;
use miq_automate_engine::datastore::{Class, Datastore, Instance};
use miq_automate_rollback::{self as rollback, Mode, RollbackMatrix};
use serde_json::Value;

pub use crate::coverage::Reached;

/// Arguments of `diagram`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The state machine: a class (`/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM`)
    /// or an instance of it (`…/VMProvision_VM/template`), with or without its domain.
    path: String,
    /// Domain directories (each with __domain__.yaml, or holding several); repeat for more
    /// (a domain over ManageIQ's: give both).
    #[arg(long = "datastore", value_name = "DIR", required = true)]
    datastores: Vec<PathBuf>,
    /// A rollback matrix (.yml, .yaml or .json): each state's rollback steps are drawn.
    #[arg(long, value_name = "FILE")]
    matrix: Option<PathBuf>,
    /// per-state or journal: what a failure runs (journal adds the earlier states' steps).
    #[arg(long, default_value = "per-state")]
    mode: String,
    /// A delivery's JSON trace (`miq-automate run --output json`): colours the states the
    /// run passed, the one that failed and the retries it took.
    #[arg(long, value_name = "FILE")]
    trace: Option<PathBuf>,
    /// Coverage files (`coverage report`'s): colours each state by whether any test entered
    /// it, and marks each hook run or never run. Not with --trace (one run, not every test).
    #[arg(long, value_name = "FILE", num_args = 1.., action = clap::ArgAction::Append)]
    coverage: Vec<PathBuf>,
    /// The format: svg (a picture, the default), mermaid or dot (text to paste into docs),
    /// table (ManageIQ UI's schema table, Markdown) or timeline (an SVG of a run on the
    /// virtual clock; needs --trace).
    /// As in every subcommand, --output is the format and -o/--out the file.
    #[arg(short = 'O', long = "output", value_name = "FORMAT")]
    output: Option<String>,
    /// Write here instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
    /// The old spelling of --output FORMAT (kept for one release, with a warning).
    #[arg(long, value_enum, hide = true)]
    format: Option<Format>,
}

impl Args {
    /// The format and the file, from today's flags or the old spellings (`--format F`,
    /// `--output FILE`), each old one with a warning saying what to write instead.
    fn format_and_file(&self) -> anyhow::Result<(Format, Option<PathBuf>)> {
        let mut format = Format::Svg;
        let mut file = self.out.clone();
        if let Some(old) = self.format {
            eprintln!(
                "miq-automate diagram: warning: --format is the old spelling: write --output {}",
                old.name()
            );
            format = old;
        }
        if let Some(value) = &self.output {
            match <Format as clap::ValueEnum>::from_str(value, true) {
                Ok(f) => format = f,
                // The old `--output FILE`: only what reads as a file name (`x.svg`, `out/x`),
                // so a format guessed wrong (`-O png`) is refused, not written to `./png`.
                Err(_) if file.is_none() && (value.contains('.') || value.contains('/')) => {
                    eprintln!(
                        "miq-automate diagram: warning: --output {value} is the old spelling of the file: write -o/--out {value} (--output is the format: svg, mermaid, dot, table or timeline)"
                    );
                    file = Some(PathBuf::from(value));
                }
                Err(_) => anyhow::bail!(
                    "--output {value}: not a format (svg, mermaid, dot, table or timeline); the file is -o/--out"
                ),
            }
        }
        Ok((format, file))
    }
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Svg => "svg",
            Format::Mermaid => "mermaid",
            Format::Dot => "dot",
            Format::Table => "table",
            Format::Timeline => "timeline",
        }
    }
}

/// The picture's format.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An SVG picture.
    Svg,
    /// Mermaid `stateDiagram-v2`.
    Mermaid,
    /// Graphviz DOT.
    Dot,
    /// ManageIQ UI's schema table as Markdown (Name, Value, On Entry, On Exit, On Error, Max
    /// Retries, Max Time), with a Result column from a trace.
    Table,
    /// An SVG with virtual time across and a row per state: a bar per visit of each delivery
    /// (needs --trace).
    Timeline,
}

/// A state machine ready to draw.
#[derive(Clone, Debug, Default)]
pub struct Machine {
    /// Its path (`Domain/Ns/Class[/instance]`).
    pub title: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// The states, in order.
    pub states: Vec<State>,
    /// How rollback steps are chosen, when a matrix is drawn.
    pub rollback_mode: Option<Mode>,
    /// Whether a trace colours the states.
    pub traced: bool,
    /// How the traced run ended.
    pub run: Option<RunSummary>,
}

/// One state.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// Its name.
    pub name: String,
    /// The main: a relationship target or `METHOD::name` (message fragment split off).
    pub main: Option<String>,
    /// The message the main dispatches on (`#${/#miq_provision.source.vendor}`).
    pub message: Option<String>,
    /// Hooks.
    pub on_entry: Option<String>,
    /// Hooks.
    pub on_exit: Option<String>,
    /// Hooks.
    pub on_error: Option<String>,
    /// `max_retries`.
    pub max_retries: Option<String>,
    /// `max_time`.
    pub max_time: Option<String>,
    /// A jump the hooks ask for (`ae_next_state => 'X'` in a hook's arguments).
    pub next_state: Option<String>,
    /// A nested state machine the main instantiates, and its states.
    pub nested: Option<(String, Vec<String>)>,
    /// Rollback steps a failure here runs, in order.
    pub rollback: Vec<String>,
    /// What the traced run did here.
    pub trace: Option<Traced>,
    /// What the tests reached here (`--coverage`; entered 0: never).
    pub coverage: Option<Reached>,
}

/// A traced run's account of one state: every visit (a delivery that entered it), the
/// steps that ran with their outcome, and what its on_error instantiated (a rollback).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Traced {
    /// Entered at least once.
    pub passed: bool,
    /// Ended in error (or raised out of the machine).
    pub failed: bool,
    /// Retries it took (visits that ended in `retry`).
    pub retries: u32,
    /// How its last visit ended: `ok`, `error`, `retry`, `skip`, `continue`…
    pub result: String,
    /// Why it failed or retried last: the exception (`RuntimeError: number of retries <6>
    /// exceeded maximum of <5>`) or the `ae_reason` it left.
    pub reason: Option<String>,
    /// Each visit, in order.
    pub visits: Vec<Visit>,
    /// The domain that served its main (the last visit's), e.g. `ManageIQ`.
    pub domain: Option<String>,
    /// What served its main, with its domain (`/ManageIQ/Infrastructure/…/CheckProvisioned`).
    pub fqname: Option<String>,
}

impl Traced {
    /// Every step that ran, over all visits, in order.
    pub fn steps(&self) -> impl Iterator<Item = &StepRun> {
        self.visits.iter().flat_map(|v| v.steps.iter())
    }

    /// What its on_error hooks instantiated (the rollback that ran), in order.
    pub fn rollback(&self) -> impl Iterator<Item = &StepRun> {
        self.steps()
            .filter(|s| s.step == "on_error")
            .flat_map(|s| s.instantiated.iter())
    }

    /// Whether a hook (`on_entry`, `on_exit`, `on_error`) ran in any visit.
    pub fn ran(&self, step: &str) -> bool {
        self.steps().any(|s| s.step == step)
    }

    /// Virtual seconds from its first entry to its last visit's end.
    pub fn span(&self) -> Option<(f64, f64)> {
        Some((self.visits.first()?.at, self.visits.last()?.at))
    }
}

/// One visit of a state: a delivery entered it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Visit {
    /// The delivery (1, 2, …).
    pub delivery: u64,
    /// Virtual seconds since the first delivery when it was made.
    pub at: f64,
    /// `ae_state_retries` on entry.
    pub retries: i64,
    /// How it ended (`ok`, `retry`, `error`, …; empty if the trace does not say).
    pub result: String,
    /// Why, when it did not end ok.
    pub reason: Option<String>,
    /// The retry interval it asked for (seconds), when it retried.
    pub retry_interval: Option<f64>,
    /// The steps that ran, in order.
    pub steps: Vec<StepRun>,
}

/// A step that ran (on_entry, main, on_exit, on_error), or something a step instantiated.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepRun {
    /// `on_entry`, `main`, `on_exit`, `on_error` (an instantiation: its step's).
    pub step: String,
    /// The call or relationship as the machine gave it (an instantiation: its URI).
    pub method: String,
    /// `ae_result` after it (`error` when it raised).
    pub result: String,
    /// The exception or `ae_reason`, when it did not end ok.
    pub reason: Option<String>,
    /// The domain that served it.
    pub domain: Option<String>,
    /// What served it, with its domain.
    pub fqname: Option<String>,
    /// What it instantiated (`$evm.instantiate`), in order.
    pub instantiated: Vec<StepRun>,
}

/// How the traced run ended, for the end node and the page header.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunSummary {
    /// The final `ae_result`.
    pub ae_result: String,
    /// The final `ae_reason`.
    pub ae_reason: Option<String>,
    /// The exception that ended the last delivery.
    pub error: Option<String>,
    /// A limit that stopped a retrying request (`max_deliveries`, `max_virtual_time`).
    pub limit: Option<String>,
    /// How many deliveries were made.
    pub deliveries: usize,
    /// Virtual seconds from the first delivery to the end.
    pub virtual_seconds: f64,
    /// When the run began (ISO 8601), when the trace says.
    pub started_at: Option<String>,
    /// The exception a method raised, from the log, when the run did not end ok (the
    /// engine's own reason is then only the method's exit code).
    pub cause: Option<String>,
}

impl RunSummary {
    /// The reason the run ended as it did: the engine's exception, the exception a method
    /// raised when the reason is only its exit code, then ae_reason.
    pub fn reason(&self) -> Option<&str> {
        let reason = self.error.as_deref().or(self.ae_reason.as_deref());
        match (reason, &self.cause) {
            (Some(r), Some(cause)) if is_exit_code(r) => Some(cause),
            (None, Some(cause)) => Some(cause),
            _ => reason,
        }
    }
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<u8> {
    let (format, file) = args.format_and_file()?;
    if !args.coverage.is_empty() && args.trace.is_some() {
        bail!("--coverage and --trace draw different things (what every test reached, one run): give one of them");
    }
    // A file that cannot be written is said before the datastore is loaded and drawn.
    if let Some(path) = &file {
        crate::report::check_output(path)
            .map_err(|why| anyhow::anyhow!("cannot write {}: {why}", path.display()))?;
    }
    let ds = Datastore::load(&args.datastores).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut machine = build(&ds, &args.path)?;
    if let Some(path) = &args.matrix {
        let matrix = RollbackMatrix::from_path(path)?;
        let mode: Mode = args
            .mode
            .parse()
            .with_context(|| format!("--mode {}", args.mode))?;
        add_rollback(&mut machine, &matrix, mode);
    }
    if let Some(path) = &args.trace {
        // A regular file of at most TRACE_MAX: a FIFO waited forever, /dev/zero read on.
        let text = crate::coverage::read_regular(path, TRACE_MAX)
            .with_context(|| format!("cannot read the trace {}", path.display()))?;
        let trace: Value = serde_json::from_str(&text)
            .with_context(|| format!("the trace {} is not JSON", path.display()))?;
        if !trace.is_object() && !trace.is_array() {
            bail!(
                "the trace {}: not a trace (a JSON object of `run --output json`, or a list of deliveries)",
                path.display()
            );
        }
        add_trace(&mut machine, &trace)
            .map_err(|e| anyhow::anyhow!("the trace {}: {e}", path.display()))?;
    }
    if !args.coverage.is_empty() {
        add_coverage(&mut machine, &args.coverage)?;
        if format == Format::Timeline {
            bail!(
                "--output timeline draws one run: with --coverage, give svg, mermaid, dot or table"
            );
        }
    }
    let picture = match format {
        Format::Svg => svg::draw(&machine),
        Format::Mermaid => text::mermaid(&machine),
        Format::Dot => text::dot(&machine),
        Format::Table => table::markdown(&machine),
        Format::Timeline => {
            if !machine.traced {
                bail!("--output timeline draws a run: give its trace with --trace FILE (miq-automate run --output json)");
            }
            timeline::draw(&machine)
        }
    };
    match &file {
        // Whole or not at all (a temp file renamed): never half a picture.
        Some(path) => crate::report::write_output(path, &picture)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => crate::output::print_stdout(&picture)?,
    }
    Ok(0)
}

/// Finds the class (and instance) a path names and reads its states.
pub fn build(ds: &Datastore, path: &str) -> anyhow::Result<Machine> {
    let (class, instance) = resolve(ds, path)?;
    if !class.is_state_machine() {
        bail!(
            "{} is not a state machine (its class has no state field)",
            path
        );
    }
    // The path as ManageIQ writes a fqname: `/Domain/ns/Class/instance`.
    let title = format!(
        "/{}/{}{}",
        ds.class_namespace_fq(class_id(ds, class)),
        class.name,
        instance.map(|i| format!("/{}", i.name)).unwrap_or_default()
    );
    let states = state_fields(class)
        .map(|f| {
            let own = instance.and_then(|i| i.value_of(&f.name));
            // Every value a picture shows is masked here, once, for every format: a main's
            // query or a hook's arguments may carry `password::` values or URL userinfo.
            let pick = |inst: Option<&Option<String>>, class: &Option<String>| {
                inst.and_then(|v| v.clone())
                    .filter(|v| !v.trim().is_empty())
                    .or_else(|| class.clone())
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| shorten(&sanitize_uri(&v)))
            };
            let value = pick(own.map(|v| &v.value), &f.default_value);
            let (main, message) = match value {
                Some(v) => match v.split_once('#') {
                    Some((target, msg)) => (Some(target.to_string()), Some(msg.to_string())),
                    None => (Some(v), None),
                },
                None => (None, None),
            };
            let on_entry = pick(own.map(|v| &v.on_entry), &f.on_entry);
            let on_exit = pick(own.map(|v| &v.on_exit), &f.on_exit);
            let on_error = pick(own.map(|v| &v.on_error), &f.on_error);
            let next_state = [&on_entry, &on_exit, &on_error]
                .into_iter()
                .flatten()
                .find_map(|hook| next_state_in(hook));
            let nested = main.as_deref().and_then(|m| nested_machine(ds, m));
            State {
                name: f.name.clone(),
                main,
                message,
                on_entry,
                on_exit,
                on_error,
                max_retries: pick(own.map(|v| &v.max_retries), &f.max_retries),
                max_time: pick(own.map(|v| &v.max_time), &f.max_time),
                next_state,
                nested,
                rollback: Vec::new(),
                trace: None,
                coverage: None,
            }
        })
        .collect();
    Ok(Machine {
        title,
        description: class.description.clone(),
        states,
        rollback_mode: None,
        traced: false,
        run: None,
    })
}

/// Colours the states and hooks by whether any test reached them: each state gets what the
/// coverage files merged say reached it (entered 0: never).
fn add_coverage(machine: &mut Machine, files: &[PathBuf]) -> anyhow::Result<()> {
    let reached = crate::coverage::reached(files, &machine.title)?;
    if reached.is_none() {
        eprintln!(
            "miq-automate diagram: warning: no test in the coverage files delivered {}: every state is drawn never entered",
            machine.title
        );
    }
    let reached = reached.unwrap_or_default();
    for s in &mut machine.states {
        s.coverage = Some(
            reached
                .get(&s.name.to_lowercase())
                .cloned()
                .unwrap_or_default(),
        );
    }
    Ok(())
}

fn class_id(ds: &Datastore, class: &Class) -> usize {
    ds.classes()
        .iter()
        .position(|c| std::ptr::eq(c, class))
        .expect("a class of this datastore")
}

/// `Ns/Class`, `Ns/Class/instance`, with or without a domain: the class (highest-priority
/// enabled domain that has it) and the instance.
fn resolve<'d>(ds: &'d Datastore, path: &str) -> anyhow::Result<(&'d Class, Option<&'d Instance>)> {
    let trimmed = path.trim_matches('/');
    let parts: Vec<&str> = trimmed.split('/').filter(|s| !s.is_empty()).collect();
    if parts.len() < 2 {
        bail!("{path:?} is not a class or instance path (Namespace/Class[/instance])");
    }
    // A class path, then an instance path; each domain-less, then with the first segment
    // taken as the domain.
    let tries = [
        (&parts[..], None),
        (&parts[..parts.len() - 1], Some(parts[parts.len() - 1])),
    ];
    for (class_path, instance) in tries {
        let Some((class_name, ns)) = class_path.split_last() else {
            continue;
        };
        let ns = ns.join("/");
        // With its domain first (`Dom/Ns/Class`), then domain-less by priority.
        let mut candidates: Vec<usize> = ds.class_by_fqname(&ns, class_name).into_iter().collect();
        candidates.extend(ds.classes_by_relative(&ns, class_name).iter().copied());
        for id in candidates {
            let class = ds.class(id);
            match instance {
                None => return Ok((class, None)),
                Some(name) => {
                    if let Some(i) = class.instance(name) {
                        return Ok((class, Some(i)));
                    }
                }
            }
        }
    }
    bail!("no class or instance {path:?} in the datastore")
}

/// A class's state fields in order (the loader keeps a schema in priority order).
fn state_fields(class: &Class) -> impl Iterator<Item = &miq_automate_engine::datastore::Field> {
    class
        .fields
        .iter()
        .filter(|f| f.aetype.as_deref() == Some("state"))
}

/// `ae_next_state => 'X'` in a hook's arguments.
fn next_state_in(hook: &str) -> Option<String> {
    let at = hook.find("ae_next_state")?;
    let rest = hook[at + "ae_next_state".len()..].trim_start();
    let rest = rest.strip_prefix("=>")?.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = &rest[1..];
    inner.find(quote).map(|end| inner[..end].to_string())
}

/// The states of a state machine a main instantiates (`/Ns/Class/instance`), if it is one.
fn nested_machine(ds: &Datastore, main: &str) -> Option<(String, Vec<String>)> {
    if main.starts_with("METHOD::") || main.contains("${") {
        return None;
    }
    let (class, _) = resolve(ds, main).ok()?;
    if !class.is_state_machine() {
        return None;
    }
    Some((
        main.to_string(),
        state_fields(class).map(|f| f.name.clone()).collect(),
    ))
}

/// Each state's rollback steps, as a failure there would run them.
pub fn add_rollback(machine: &mut Machine, matrix: &RollbackMatrix, mode: Mode) {
    let names: Vec<String> = machine.states.iter().map(|s| s.name.clone()).collect();
    for (i, state) in machine.states.iter_mut().enumerate() {
        let journal: Vec<String> = names[..i].to_vec();
        state.rollback = rollback::plan(matrix, mode, &state.name, &journal, &[])
            .into_iter()
            .map(|s| {
                let step = sanitize_uri(&s.step);
                if s.state == state.name {
                    step
                } else {
                    format!("{step} (undoes {})", s.state)
                }
            })
            .collect();
    }
    machine.rollback_mode = Some(mode);
}

/// Reads a delivery's trace into the states: `trace` is the JSON of `miq-automate run
/// --output json` (each delivery's `events`: the states it entered, the steps that ran and
/// what they instantiated, how each state ended and why); a plain list of deliveries, and
/// deliveries listing their `states` with results, are read too.
pub fn add_trace(machine: &mut Machine, trace: &Value) -> Result<(), String> {
    let deliveries = trace
        .get("trace")
        .or_else(|| trace.get("deliveries"))
        .filter(|d| d.is_array())
        .unwrap_or(trace);
    let list: Vec<&Value> = match deliveries {
        Value::Array(list) => list.iter().collect(),
        // One delivery: it has its events (or an old trace's states). Anything else (`{}`,
        // a number, a coverage file) drew every state "not reached" as if it were a run.
        other if other.get("events").is_some() || other.get("states").is_some() => vec![other],
        _ => {
            return Err(
                "not a trace: no \"trace\" list of deliveries (the JSON of miq-automate run --output json)"
                    .into(),
            )
        }
    };
    // A run made at least one delivery, and each delivery is an object with its events (or
    // an old trace's states): `{"trace": []}` or `[1, 2]` is not a run to draw.
    let delivery_like = |d: &&Value| {
        d.get("events").is_some_and(Value::is_array) || d.get("states").is_some_and(Value::is_array)
    };
    if list.is_empty() || !list.iter().all(delivery_like) {
        return Err(
            "not a trace: its deliveries are missing, or are not objects with their \"events\" (the JSON of miq-automate run --output json)"
                .into(),
        );
    }
    // Every state event of every delivery, with the delivery it belongs to.
    let mut seen: Vec<Seen> = Vec::new();
    for (i, d) in list.iter().enumerate() {
        // Kept whole (a u32 cast made delivery 2^32 + 1 delivery 1, merging their visits).
        let delivery = d
            .get("delivery")
            .and_then(Value::as_u64)
            .unwrap_or(i as u64 + 1);
        let at = seconds(d.get("at")).unwrap_or(0.0);
        let events = match d.get("states").and_then(Value::as_array) {
            Some(states) => states.iter().flat_map(legacy_state_events).collect(),
            None => d
                .get("events")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default(),
        };
        for e in events {
            let state = ["state", "name"]
                .iter()
                .find_map(|k| e.get(*k).and_then(Value::as_str))
                .unwrap_or_default()
                .to_string();
            if state.is_empty() {
                continue;
            }
            seen.push(Seen {
                delivery,
                at,
                machine: text(&e, "machine").unwrap_or_default(),
                state,
                event: e,
            });
        }
    }
    check_same_machine(machine, &seen)?;
    let own = own_machine(&machine.title, &seen).map(str::to_string);
    for state in &mut machine.states {
        let mut traced = Traced::default();
        for s in seen.iter().filter(|s| {
            (s.machine.is_empty() || Some(&s.machine) == own.as_ref())
                && s.state.eq_ignore_ascii_case(&state.name)
        }) {
            traced.take(s);
        }
        if traced.visits.is_empty() {
            continue;
        }
        traced.passed = true;
        traced.failed = traced.visits.iter().any(|v| v.result == "error");
        // A retry is a visit that asked for one and got it: the last visit of a state still
        // retrying when a limit stopped the run asked, but was not delivered again.
        let asked = traced.visits.iter().filter(|v| v.result == "retry").count();
        let still = traced.visits.last().is_some_and(|v| v.result == "retry");
        traced.retries = (asked - usize::from(still)) as u32;
        // The engine knows only a raising method's exit code (`Unknown RC: [1]`); the
        // exception itself is in that delivery's log: every picture says it instead.
        for v in &mut traced.visits {
            if v.reason.as_deref().is_some_and(is_exit_code) {
                if let Some(raised) = raised_in(trace, Some(v.delivery)) {
                    v.reason = Some(raised);
                }
            }
        }
        if let Some(last) = traced.visits.last() {
            traced.result = last.result.clone();
            traced.reason = traced
                .visits
                .iter()
                .rev()
                .find(|v| v.result != "ok" && v.reason.is_some())
                .and_then(|v| v.reason.clone());
            if let Some(main) = last.steps.iter().rev().find(|s| s.step == "main") {
                traced.domain = main.domain.clone();
                traced.fqname = main.fqname.clone();
            }
        }
        state.trace = Some(traced);
    }
    machine.traced = true;
    if trace.get("ae_result").is_some() {
        machine.run = Some(RunSummary {
            ae_result: text(trace, "ae_result").unwrap_or_default(),
            ae_reason: text(trace, "ae_reason"),
            error: text(trace, "error"),
            limit: text(trace, "limit"),
            deliveries: list.len(),
            virtual_seconds: seconds(trace.get("virtual_seconds")).unwrap_or(0.0),
            started_at: text(trace, "started_at"),
            cause: (text(trace, "ae_result").as_deref() != Some("ok"))
                .then(|| raised_in(trace, None))
                .flatten(),
        });
    }
    Ok(())
}

/// A reason that is only a method's exit code (`Method exited with rc=Unknown RC: [1]`).
fn is_exit_code(reason: &str) -> bool {
    reason.contains("Unknown RC") || reason.contains("exited with rc=")
}

/// The exception a method raised, from the run's log (of one delivery, or of all).
fn raised_in(trace: &Value, delivery: Option<u64>) -> Option<String> {
    let messages: Vec<&str> = trace
        .get("logs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|l| delivery.is_none() || l.get("delivery").and_then(Value::as_u64) == delivery)
        .filter_map(|l| l.get("message").and_then(Value::as_str))
        .collect();
    crate::run::method_raised(&messages).map(|r| sanitize_uri(&r))
}

/// One event of the trace about a state, with its delivery.
struct Seen {
    delivery: u64,
    at: f64,
    machine: String,
    state: String,
    event: Value,
}

/// A non-blank string field, its secrets masked (a trace written by another tool, or by
/// hand, may hold them), at most [`TEXT_MAX`] characters.
fn text(v: &Value, key: &str) -> Option<String> {
    v.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| shorten(&sanitize_uri(t)))
}

/// The largest trace file `diagram --trace` reads (a run of 100 deliveries is about 1 MB).
pub const TRACE_MAX: u64 = 64 << 20;

/// The longest text a picture takes from a trace or a datastore value, in characters: a
/// 100 KB reason drawn whole made a 15 MB SVG in 10 s (every layout tried wraps it, every
/// line's tooltip holds it); no reader reads more in a picture.
pub const TEXT_MAX: usize = 2000;

/// The most virtual seconds a picture takes (about 31,700 years): a trace's `at` of 1.7e308
/// made the timeline's axis end infinite and its tick loop endless.
pub const SECONDS_MAX: f64 = 1e12;

/// A text cut to [`TEXT_MAX`] characters, saying how much was left out. Masked before it is
/// cut, so a cut never splits a secret from its marker.
pub fn shorten(text: &str) -> String {
    match text.char_indices().nth(TEXT_MAX) {
        None => text.to_string(),
        Some((at, _)) => format!(
            "{}… ({} more characters)",
            &text[..at],
            text[at..].chars().count()
        ),
    }
}

/// A number of virtual seconds in a trace: a number, negative taken as 0 (time since the
/// first delivery), at most [`SECONDS_MAX`].
fn seconds(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
        .filter(|s| s.is_finite())
        .map(|s| s.clamp(0.0, SECONDS_MAX))
}

impl Traced {
    /// Takes one event of this state into its visits.
    fn take(&mut self, s: &Seen) {
        let e = &s.event;
        let kind = text(e, "event").unwrap_or_else(|| "done".into());
        // A new visit on `enter`, and for an event with no visit open in its delivery.
        let open = self
            .visits
            .last()
            .is_some_and(|v| v.delivery == s.delivery && v.result.is_empty());
        if kind == "enter" || !open {
            self.visits.push(Visit {
                delivery: s.delivery,
                at: s.at,
                retries: e.get("retries").and_then(Value::as_i64).unwrap_or(0),
                ..Visit::default()
            });
        }
        let visit = self.visits.last_mut().expect("a visit is open");
        match kind.as_str() {
            // A step's instantiations come before its own event (it ends after them): they
            // wait in a placeholder the step's event then fills in.
            "step" => {
                let run = step_run(e, "method");
                match visit.steps.last_mut() {
                    Some(p) if p.method.is_empty() && p.step == run.step => {
                        let instantiated = std::mem::take(&mut p.instantiated);
                        *p = StepRun {
                            instantiated,
                            ..run
                        };
                    }
                    _ => visit.steps.push(run),
                }
            }
            "instantiate" => {
                let run = step_run(e, "uri");
                let step = text(e, "step").unwrap_or_default();
                match visit.steps.last_mut() {
                    Some(p) if p.method.is_empty() && p.step == step => p.instantiated.push(run),
                    _ => visit.steps.push(StepRun {
                        step,
                        instantiated: vec![run],
                        ..StepRun::default()
                    }),
                }
            }
            "done" | "raised" => {
                visit.result = if kind == "raised" {
                    "error".into()
                } else {
                    text(e, "result").unwrap_or_else(|| "ok".into())
                };
                visit.retry_interval = seconds(e.get("retry_interval"));
                // The exception a step raised says most; then what the state left.
                let raised = text(e, "error").or_else(|| {
                    visit
                        .steps
                        .iter()
                        .rev()
                        .filter(|s| s.result != "ok")
                        .find_map(|s| s.reason.clone())
                });
                visit.reason = raised.or_else(|| text(e, "reason"));
            }
            _ => {}
        }
    }
}

/// A step or an instantiation from its event (`method` or `uri` names it).
fn step_run(e: &Value, what: &str) -> StepRun {
    let result = text(e, "result").unwrap_or_else(|| "ok".into());
    StepRun {
        step: text(e, "step").unwrap_or_default(),
        method: text(e, what).unwrap_or_default(),
        reason: text(e, "error").or_else(|| {
            if result == "ok" {
                None
            } else {
                text(e, "reason")
            }
        }),
        result,
        domain: text(e, "domain"),
        fqname: text(e, "fqname"),
        instantiated: Vec::new(),
    }
}

/// An old trace's `{"state", "result"}` entry as an `enter` and a `done`.
fn legacy_state_events(e: &Value) -> Vec<Value> {
    let name = ["state", "name"]
        .iter()
        .find_map(|k| e.get(*k).and_then(Value::as_str))
        .unwrap_or_default();
    let result = ["result", "ae_result"]
        .iter()
        .find_map(|k| e.get(*k).and_then(Value::as_str))
        .unwrap_or("ok");
    let machine = e.get("machine").cloned().unwrap_or(Value::Null);
    vec![
        serde_json::json!({"event": "enter", "machine": machine, "state": name}),
        serde_json::json!({"event": "done", "machine": machine, "state": name, "result": result,
                           "reason": e.get("reason").cloned().unwrap_or(Value::Null)}),
    ]
}

/// A trace of another machine would draw every state "not reached": refused instead.
fn check_same_machine(machine: &Machine, seen: &[Seen]) -> Result<(), String> {
    let paths: Vec<&str> = seen
        .iter()
        .map(|s| s.machine.as_str())
        .filter(|m| !m.is_empty())
        .collect();
    let shares_a_state = seen.iter().any(|s| {
        machine
            .states
            .iter()
            .any(|st| st.name.eq_ignore_ascii_case(&s.state))
    });
    if !seen.is_empty()
        && (!shares_a_state
            || (!paths.is_empty()
                && !machine.title.is_empty()
                && !paths.iter().any(|m| same_machine(m, &machine.title))))
    {
        let mut traced: Vec<&str> = if paths.is_empty() {
            seen.iter().map(|s| s.state.as_str()).collect()
        } else {
            paths
        };
        // Each named once, at most five, each at most 100 characters and its control
        // characters escaped: a trace of 10,000 events, or a 100 KB state name, made an
        // error message of megabytes.
        let mut unique = std::collections::HashSet::new();
        let mut first: Vec<&str> = Vec::new();
        for t in traced.drain(..) {
            if unique.insert(t) && first.len() < 5 {
                first.push(t);
            }
        }
        let mut named: Vec<String> = first
            .iter()
            .map(|t| {
                let t = crate::output::terminal_text(t);
                match t.char_indices().nth(100) {
                    Some((at, _)) => format!("{}…", &t[..at]),
                    None => t,
                }
            })
            .collect();
        if unique.len() > 5 {
            named.push(format!("… {} more", unique.len() - 5));
        }
        return Err(format!(
            "it is a trace of another machine ({}), not of {}: give the trace of a run of this machine",
            named.join(", "),
            machine.title
        ));
    }
    Ok(())
}

/// `true` when a traced machine's path (`/Dom/ns/Class/instance`) is the drawn one's title
/// (a path with or without its domain, an instance or its class).
fn same_machine(traced: &str, title: &str) -> bool {
    let norm = |p: &str| p.trim_matches('/').to_lowercase();
    let (traced, title) = (norm(traced), norm(title));
    let class = traced.rsplit_once('/').map_or("", |(c, _)| c);
    [traced.as_str(), class]
        .iter()
        .any(|m| !m.is_empty() && (*m == title || m.ends_with(&format!("/{title}"))))
}

/// Which of the trace's machines is the one drawn: the one whose path is the title (or, the
/// title a class, an instance of it), else the first the trace entered (the top machine).
fn own_machine<'a>(title: &str, seen: &'a [Seen]) -> Option<&'a str> {
    let norm = |p: &str| p.trim_matches('/').to_lowercase();
    let title = norm(title);
    let machines = seen
        .iter()
        .map(|s| s.machine.as_str())
        .filter(|m| !m.is_empty());
    machines
        .clone()
        .find(|m| {
            let m = norm(m);
            m == title
                || m.ends_with(&format!("/{title}"))
                || m.rsplit_once('/').is_some_and(|(class, _)| {
                    class == title || class.ends_with(&format!("/{title}"))
                })
        })
        .or_else(|| machines.clone().next())
}

/// Display columns of a text (monospace: a CJK character or an emoji is two).
pub fn width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_state_from_hook_arguments() {
        assert_eq!(
            next_state_in("update(status => 'x', ae_next_state => 'Finish')").as_deref(),
            Some("Finish")
        );
        assert_eq!(next_state_in("update(status => 'x')"), None);
    }

    #[test]
    fn a_trace_of_another_machine_is_refused() {
        let state = |name: &str| State {
            name: name.into(),
            ..State::default()
        };
        let mut machine = Machine {
            title: "/ns/Provision/default".into(),
            states: vec![state("A"), state("Finished")],
            ..Machine::default()
        };
        let trace = |m: &str, s: &str| {
            serde_json::json!({"trace": [{"events": [
            {"event": "done", "machine": m, "state": s, "result": "ok"}]}]})
        };
        let other =
            add_trace(&mut machine, &trace("/D/ns/Retire/default", "Finished")).unwrap_err();
        assert!(
            other.contains("another machine (/D/ns/Retire/default), not of /ns/Provision/default"),
            "{other}"
        );
        assert!(
            add_trace(&mut machine, &trace("/D/ns/Other/x", "Z")).is_err(),
            "no state shared"
        );
        assert!(
            add_trace(&mut machine, &trace("/D/ns/Provision/default", "Finished")).is_ok(),
            "the same machine, with its domain"
        );
    }

    #[test]
    fn a_delivery_trace_of_events_colours_the_states() {
        let state = |name: &str| State {
            name: name.into(),
            ..State::default()
        };
        let mut machine = Machine {
            states: vec![state("A"), state("B"), state("C")],
            ..Machine::default()
        };
        let event = |kind: &str, state: &str, result: &str| serde_json::json!({"event": kind, "machine": "/D/ns/C/i", "state": state, "result": result});
        let delivery = serde_json::json!({"ae_result": "error", "trace": [
            {"delivery": 1, "events": [event("enter", "A", ""), event("done", "A", "ok"),
                                       event("enter", "B", ""), event("done", "B", "retry")]},
            {"delivery": 2, "events": [event("enter", "B", ""), event("done", "B", "error")]}
        ]});
        add_trace(&mut machine, &delivery).unwrap();
        let traced: Vec<_> = machine.states.iter().map(|s| s.trace.clone()).collect();
        assert_eq!(
            traced[0].as_ref().map(|t| (t.passed, t.failed, t.retries)),
            Some((true, false, 0))
        );
        assert_eq!(
            traced[1].as_ref().map(|t| (t.passed, t.failed, t.retries)),
            Some((true, true, 1))
        );
        assert!(traced[2].is_none());
    }

    #[test]
    fn a_nested_machines_failed_state_is_not_the_parents() {
        let state = |name: &str| State {
            name: name.into(),
            ..State::default()
        };
        let mut machine = Machine {
            title: "D/ns/Parent/i".into(),
            states: vec![state("Start"), state("Finished")],
            ..Machine::default()
        };
        let event = |machine: &str, kind: &str, state: &str, result: &str| serde_json::json!({"event": kind, "machine": machine, "state": state, "result": result});
        let delivery = serde_json::json!({"trace": [{"delivery": 1, "events": [
            event("/D/ns/Parent/i", "enter", "Start", ""),
            event("/D/ns/Child/c", "enter", "Finished", ""),
            event("/D/ns/Child/c", "done", "Finished", "error"),
            event("/D/ns/Parent/i", "done", "Start", "error"),
        ]}]});
        add_trace(&mut machine, &delivery).unwrap();
        assert!(machine.states[0].trace.as_ref().is_some_and(|t| t.failed));
        assert_eq!(machine.states[1].trace, None);
    }

    #[test]
    fn a_trace_without_deliveries_is_refused() {
        for bad in [
            serde_json::json!({"trace": []}),
            serde_json::json!({"trace": [{}]}),
            serde_json::json!({"trace": [1, 2]}),
            serde_json::json!([]),
        ] {
            let mut machine = Machine::default();
            let err = add_trace(&mut machine, &bad).unwrap_err();
            assert!(err.starts_with("not a trace"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_state_still_retrying_at_a_limit_counts_the_retries_made() {
        let mut machine = Machine {
            title: "/D/ns/P/t".into(),
            states: vec![State {
                name: "Check".into(),
                ..State::default()
            }],
            ..Machine::default()
        };
        let visit = |n: u32| {
            serde_json::json!({"delivery": n, "at": (n - 1) * 60, "events": [
            {"event": "enter", "machine": "/D/ns/P/t", "state": "Check"},
            {"event": "done", "machine": "/D/ns/P/t", "state": "Check", "result": "retry"}]})
        };
        let trace = serde_json::json!({"ae_result": "retry", "limit": "max_deliveries",
                                       "trace": [visit(1), visit(2), visit(3)]});
        add_trace(&mut machine, &trace).unwrap();
        let t = machine.states[0].trace.as_ref().unwrap();
        assert_eq!(
            (t.retries, t.result.as_str()),
            (2, "retry"),
            "3 visits: 2 retries made, a 3rd asked for"
        );
    }

    #[test]
    fn a_raising_methods_exception_is_the_reason_not_its_exit_code() {
        let mut machine = Machine {
            title: "/D/ns/P/t".into(),
            states: vec![State {
                name: "Finish".into(),
                ..State::default()
            }],
            ..Machine::default()
        };
        let rc = "Method exited with rc=Unknown RC: [1]";
        let trace = serde_json::json!({
            "ae_result": "error", "ae_reason": rc,
            "logs": [
                {"delivery": 1, "level": "error", "message": "<AEMethod finish> The following error occurred during method evaluation:"},
                {"delivery": 1, "level": "error", "message": "<AEMethod finish>   ArgumentError: disk is not attached"},
                {"delivery": 1, "level": "error", "message": "Method STDERR: /D/ns/P/finish:23:in `<main>': disk is not attached (ArgumentError)"}],
            "trace": [{"delivery": 1, "at": 0, "events": [
                {"event": "enter", "machine": "/D/ns/P/t", "state": "Finish"},
                {"event": "step", "machine": "/D/ns/P/t", "state": "Finish", "step": "main", "method": "METHOD::finish", "result": "error", "error": format!("MiqAeException::UnknownMethodRc: {rc}")},
                {"event": "done", "machine": "/D/ns/P/t", "state": "Finish", "result": "error", "reason": rc}]}]});
        add_trace(&mut machine, &trace).unwrap();
        let expected = "method finish raised ArgumentError: disk is not attached at /D/ns/P/finish:23:in `<main>'";
        assert_eq!(
            machine.states[0].trace.as_ref().unwrap().reason.as_deref(),
            Some(expected)
        );
        assert_eq!(machine.run.as_ref().unwrap().reason(), Some(expected));
        assert_eq!(
            machine.states[0].trace.as_ref().unwrap().visits[0]
                .reason
                .as_deref(),
            Some(expected),
            "the visit's too (the timeline's label)"
        );
    }

    #[test]
    fn visits_reasons_and_the_rollback_that_ran() {
        let state = |name: &str| State {
            name: name.into(),
            ..State::default()
        };
        let mut machine = Machine {
            title: "/D/ns/P/t".into(),
            states: vec![state("Check"), state("Post"), state("Never")],
            ..Machine::default()
        };
        let m = "/D/ns/P/t";
        let ev = |v: serde_json::Value| {
            let mut v = v;
            v["machine"] = m.into();
            v
        };
        let trace = serde_json::json!({
        "ae_result": "error", "ae_reason": "boom", "virtual_seconds": 120,
        "started_at": "2026-12-04T10:00:00Z",
        "trace": [
            {"delivery": 1, "at": 0, "events": [
                ev(serde_json::json!({"event": "enter", "state": "Check", "retries": 0})),
                ev(serde_json::json!({"event": "step", "state": "Check", "step": "main", "method": "/x/Check", "result": "retry", "reason": "not yet", "domain": "ManageIQ", "fqname": "/ManageIQ/x/Check"})),
                ev(serde_json::json!({"event": "done", "state": "Check", "result": "retry", "retries": 1, "retry_interval": 60, "reason": "not yet"}))]},
            {"delivery": 2, "at": 60, "events": [
                ev(serde_json::json!({"event": "enter", "state": "Check", "retries": 1})),
                ev(serde_json::json!({"event": "step", "state": "Check", "step": "main", "method": "/x/Check", "result": "ok", "domain": "Mine", "fqname": "/Mine/x/Check"})),
                ev(serde_json::json!({"event": "done", "state": "Check", "result": "ok", "next_state": "Post"})),
                ev(serde_json::json!({"event": "enter", "state": "Post", "retries": 0})),
                ev(serde_json::json!({"event": "step", "state": "Post", "step": "main", "method": "/x/Post", "result": "error", "error": "RuntimeError: boom"})),
                ev(serde_json::json!({"event": "instantiate", "state": "Post", "step": "on_error", "uri": "/r/Undo1", "result": "ok"})),
                ev(serde_json::json!({"event": "instantiate", "state": "Post", "step": "on_error", "uri": "/r/Undo2", "result": "error", "error": "RuntimeError: gone"})),
                ev(serde_json::json!({"event": "step", "state": "Post", "step": "on_error", "method": "status(x)", "result": "error"})),
                ev(serde_json::json!({"event": "done", "state": "Post", "result": "error", "reason": "boom"}))]}
        ]});
        add_trace(&mut machine, &trace).unwrap();
        let check = machine.states[0].trace.as_ref().unwrap();
        assert_eq!(
            (check.retries, check.failed, check.result.as_str()),
            (1, false, "ok")
        );
        assert_eq!(check.visits.len(), 2);
        assert_eq!(check.visits[0].reason.as_deref(), Some("not yet"));
        assert_eq!(check.visits[0].retry_interval, Some(60.0));
        assert_eq!(check.span(), Some((0.0, 60.0)));
        assert_eq!(check.domain.as_deref(), Some("Mine"), "the last visit's");
        let post = machine.states[1].trace.as_ref().unwrap();
        assert!(post.failed);
        assert_eq!(post.reason.as_deref(), Some("RuntimeError: boom"));
        let undo: Vec<_> = post
            .rollback()
            .map(|r| (r.method.as_str(), r.result.as_str()))
            .collect();
        assert_eq!(undo, [("/r/Undo1", "ok"), ("/r/Undo2", "error")]);
        assert_eq!(
            post.rollback().nth(1).unwrap().reason.as_deref(),
            Some("RuntimeError: gone")
        );
        assert!(post.ran("on_error") && !post.ran("on_exit"));
        assert_eq!(
            post.visits[0].steps.len(),
            2,
            "main, then on_error holding its instantiations"
        );
        assert!(machine.states[2].trace.is_none());
        let run = machine.run.as_ref().unwrap();
        assert_eq!(
            (run.ae_result.as_str(), run.reason(), run.deliveries),
            ("error", Some("boom"), 2)
        );
        assert_eq!(run.virtual_seconds, 120.0);
    }
}

// The tests' XML parser check, shared with crates/cli/tests (from this file's directory).
#[cfg(test)]
#[path = "../../tests/support/xml.rs"]
mod xml;

/// Hostile traces: arbitrary JSON, and JSON shaped like a trace with every field of a random
/// type, huge or negative numbers and strings holding markup, Mermaid and DOT syntax, control
/// characters and bidi overrides. Each is read or refused, never a panic; every picture it
/// draws is well-formed and bounded.
#[cfg(test)]
pub(crate) mod hostile_tests {
    use super::xml::xml_well_formed;
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// Strings a hostile trace puts in every text field.
    pub(crate) fn nasty_string() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("</svg><script>alert(1)</script>".to_string()),
            Just("]]><![CDATA[".to_string()),
            Just("%%{init: {'theme':'dark'}}%%\n  s1 --> s2".to_string()),
            Just("\"]; evil [label=\"x\"]; }\ndigraph {".to_string()),
            Just("a\u{202e}b\u{2066}c\u{0}\u{1}\u{7f}\u{1b}[31m\u{85}\r\n".to_string()),
            Just("\u{fffe}\u{ffff}#;&amp;&#0;&#x1;".to_string()),
            Just("x".repeat(100_000)),
            Just("${/#miq_provision.x} password::v2:{abc} http://u:p@h/".to_string()),
            Just("名".repeat(60)),
            Just("A".to_string()),
            Just("Check".to_string()),
            Just("ok".to_string()),
            Just("retry".to_string()),
            Just("error".to_string()),
            "[ -~\\PC]{0,16}",
        ]
    }

    fn nasty_number() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(json!(1e308)),
            Just(json!(-1e308)),
            Just(json!(-1)),
            Just(json!(0)),
            Just(json!(0.5)),
            Just(json!(i64::MAX)),
            Just(json!(i64::MIN)),
            Just(json!(u64::MAX)),
            Just(json!(4_294_967_297_u64)),
            Just(json!(u32::MAX)),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("JSON has no NaN", |f| f.is_finite())
                .prop_map(Value::from),
        ]
    }

    /// Any JSON value, its strings and numbers hostile.
    pub(crate) fn any_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            nasty_number(),
            nasty_string().prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::vec(("[a-z_]{1,8}", inner), 0..4)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    /// A field's value: mostly of the right type, sometimes anything.
    fn field(right: BoxedStrategy<Value>) -> BoxedStrategy<Value> {
        prop_oneof![4 => right, 1 => any_value()].boxed()
    }

    fn text_of(words: &'static [&'static str]) -> BoxedStrategy<Value> {
        field(
            prop_oneof![
                proptest::sample::select(words).prop_map(Value::from),
                nasty_string().prop_map(Value::from),
            ]
            .boxed(),
        )
    }

    fn event() -> impl Strategy<Value = Value> {
        (
            text_of(&["enter", "step", "instantiate", "done", "raised", "state"]),
            text_of(&["/D/ns/C/i", "/D/ns/Other/x", ""]),
            text_of(&["A", "B", "Check", "<b>&"]),
            text_of(&["on_entry", "main", "on_exit", "on_error"]),
            text_of(&["ok", "retry", "error", "skip"]),
            (
                nasty_string(),
                nasty_string(),
                field(nasty_number().boxed()),
                field(nasty_number().boxed()),
            ),
        )
            .prop_map(
                |(kind, machine, state, step, result, (reason, method, retries, interval))| {
                    json!({"event": kind, "machine": machine, "state": state, "step": step,
                       "result": result, "reason": reason, "error": reason, "method": method,
                       "uri": method, "domain": reason, "fqname": method, "retries": retries,
                       "retry_interval": interval})
                },
            )
    }

    fn delivery() -> impl Strategy<Value = Value> {
        (
            field(nasty_number().boxed()),
            field(nasty_number().boxed()),
            proptest::collection::vec(event(), 0..8),
        )
            .prop_map(|(n, at, events)| json!({"delivery": n, "at": at, "events": events}))
    }

    pub(crate) fn trace() -> impl Strategy<Value = Value> {
        (
            proptest::collection::vec(delivery(), 0..6),
            text_of(&["ok", "error", "retry"]),
            nasty_string(),
            field(nasty_number().boxed()),
            field(nasty_string().prop_map(Value::from).boxed()),
        )
            .prop_map(|(trace, result, reason, secs, limit)| {
                json!({"ae_result": result, "ae_reason": reason, "error": reason,
                       "limit": limit, "virtual_seconds": secs, "started_at": reason,
                       "trace": trace})
            })
    }

    /// A machine whose own texts are hostile too (a datastore can hold anything), cut as
    /// `build` cuts a datastore's values.
    pub(crate) fn machine(name: &str) -> Machine {
        let name = &shorten(name);
        let state = |n: &str| State {
            name: n.into(),
            main: Some(format!("/ns/M/{name}")),
            message: Some(name.into()),
            on_entry: Some(name.into()),
            on_exit: Some("update(ae_next_state => 'B')".into()),
            on_error: Some(name.into()),
            max_retries: Some(name.into()),
            max_time: Some("-1".into()),
            rollback: vec![name.into()],
            ..State::default()
        };
        Machine {
            title: "/D/ns/C/i".into(),
            description: Some(name.into()),
            states: vec![state("A"), state("B"), state("Check"), state(name)],
            ..Machine::default()
        }
    }

    /// Draws every format; checks each SVG is well-formed and nothing is huge.
    pub(crate) fn draw_all(m: &Machine) {
        let svg = svg::draw(m);
        xml_well_formed(&svg).unwrap_or_else(|e| panic!("svg: {e}"));
        if m.traced {
            let tl = timeline::draw(m);
            xml_well_formed(&tl).unwrap_or_else(|e| panic!("timeline: {e}"));
            assert!(tl.len() < 64 << 20, "timeline of {} bytes", tl.len());
        }
        let mermaid = text::mermaid(m);
        // A label cannot end its statement: no raw newline or `;` comes from a text.
        assert!(!mermaid.contains("<script"), "{mermaid}");
        let dot = text::dot(m);
        assert!(!dot.contains("<script"), "{dot}");
        let table = table::markdown(m);
        // Markdown shows `\<` as a `<`: only an unescaped one would be a tag.
        assert!(!table.replace("\\<", "").contains("<script"), "{table}");
        for (what, out) in [
            ("svg", &svg),
            ("mermaid", &mermaid),
            ("dot", &dot),
            ("table", &table),
        ] {
            assert!(out.len() < 64 << 20, "{what} of {} bytes", out.len());
        }
    }

    /// Every drawer on `m`: (format, bytes, time taken).
    fn draw_timed(m: &Machine) -> Vec<(&'static str, usize, std::time::Duration)> {
        type Drawer = fn(&Machine) -> String;
        let drawers: [(&str, Drawer); 5] = [
            ("svg", svg::draw),
            ("timeline", timeline::draw),
            ("mermaid", text::mermaid),
            ("dot", text::dot),
            ("table", table::markdown),
        ];
        drawers
            .into_iter()
            .map(|(what, f)| {
                let t = std::time::Instant::now();
                let out = f(m);
                if what == "svg" || what == "timeline" {
                    xml_well_formed(&out).unwrap_or_else(|e| panic!("{what}: {e}"));
                }
                (what, out.len(), t.elapsed())
            })
            .collect()
    }

    #[test]
    fn a_100_kb_text_in_every_field_is_drawn_shortened() {
        let long = "x y/".repeat(25_000);
        let mut m = machine(&long);
        let ev = |k: &str| json!({"event": k, "machine": "/D/ns/C/i", "state": "Check", "step": "on_error", "method": long, "uri": long, "result": "error", "reason": long, "error": long, "domain": long, "fqname": long});
        let trace = json!({"ae_result": "error", "ae_reason": long, "limit": long, "started_at": long,
            "trace": [{"delivery": 1, "events": [ev("enter"), ev("instantiate"), ev("step"), ev("done")]}]});
        add_trace(&mut m, &trace).unwrap();
        let t = m.states[2].trace.as_ref().unwrap();
        assert!(t
            .reason
            .as_ref()
            .unwrap()
            .ends_with("… (98000 more characters)"));
        for (what, bytes, took) in draw_timed(&m) {
            eprintln!("100 KB texts: {what}: {bytes} bytes in {took:?}");
            assert!(bytes < 4 << 20, "{what}: {bytes} bytes");
        }
    }

    #[test]
    fn ten_thousand_deliveries_draw_in_bounded_size() {
        let m_path = "/D/ns/C/i";
        let deliveries: Vec<Value> = (0..10_000u64)
            .map(|n| {
                let ev = |v: Value| {
                    let mut v = v;
                    v["machine"] = m_path.into();
                    v["state"] = "Check".into();
                    v
                };
                json!({"delivery": n + 1, "at": n * 60, "events": [
                    ev(json!({"event": "enter", "retries": n})),
                    ev(json!({"event": "step", "step": "main", "method": "/x/Check", "result": "retry", "reason": "not yet ".repeat(12)})),
                    ev(json!({"event": "instantiate", "step": "on_error", "uri": "/r/Undo", "result": "ok"})),
                    ev(json!({"event": "step", "step": "on_error", "method": "undo", "result": "ok"})),
                    ev(json!({"event": "done", "result": "retry", "retry_interval": 60, "reason": "not yet"})),
                ]})
            })
            .collect();
        let trace = json!({"ae_result": "retry", "limit": "max_deliveries", "virtual_seconds": 600_000, "trace": deliveries});
        let mut m = machine("Start");
        let t = std::time::Instant::now();
        add_trace(&mut m, &trace).unwrap();
        eprintln!("10,000 deliveries: read in {:?}", t.elapsed());
        assert_eq!(m.states[2].trace.as_ref().unwrap().visits.len(), 10_000);
        for (what, bytes, took) in draw_timed(&m) {
            eprintln!("10,000 deliveries: {what}: {bytes} bytes in {took:?}");
            assert!(bytes < 2 << 20, "{what}: {bytes} bytes");
        }
        let tl = timeline::draw(&m);
        assert!(
            tl.contains("9800 more visits"),
            "the row says what it left out"
        );
        assert_eq!(
            tl.matches("<rect class=\"bar ").count(),
            timeline::VISITS_DRAWN + 1,
            "the drawn bars and the legend's"
        );
    }

    #[test]
    fn numbers_past_every_range() {
        let mut m = machine("x");
        let ev = json!({"event": "done", "machine": "/D/ns/C/i", "state": "Check", "result": "retry", "retries": i64::MAX, "retry_interval": 1.7e308});
        let trace = json!({"ae_result": "retry", "virtual_seconds": 1.7e308, "trace": [
            {"delivery": 4_294_967_297_u64, "at": 1.7e308, "events": [ev.clone()]},
            {"delivery": 1, "at": -1e308, "events": [ev]}]});
        add_trace(&mut m, &trace).unwrap();
        let t = m.states[2].trace.as_ref().unwrap();
        assert_eq!(t.visits[0].delivery, 4_294_967_297, "not wrapped to 1");
        assert_eq!(t.visits.len(), 2, "two deliveries, two visits");
        assert_eq!((t.visits[0].at, t.visits[1].at), (SECONDS_MAX, 0.0));
        draw_all(&m);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(192))]

        #[test]
        fn any_json_as_a_trace_is_read_or_refused(doc in any_value(), name in nasty_string()) {
            let mut m = machine(&name);
            if add_trace(&mut m, &doc).is_ok() {
                draw_all(&m);
            }
        }

        #[test]
        fn a_trace_shaped_hostile_json_draws_well_formed(doc in trace(), name in nasty_string()) {
            let mut m = machine(&name);
            draw_all(&m);
            if add_trace(&mut m, &doc).is_ok() {
                draw_all(&m);
            }
        }
    }
}
