//! `miq-automate diagram`: a state machine of a domain export as a picture — SVG drawn by
//! the project, or Mermaid and DOT text for docs. This module builds the model (states in
//! order with their hooks, main target, limits, nested machines, rollback steps and a run's
//! trace); `svg` and `text` draw it.

mod svg;
mod text;

use std::path::PathBuf;

use anyhow::{bail, Context};
use miq_automate_engine::datastore::{Class, Datastore, Instance};
use miq_automate_rollback::{self as rollback, Mode, RollbackMatrix};
use serde_json::Value;

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
    /// The format: svg (a picture, the default), mermaid or dot (text to paste into docs).
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
                Err(_) if file.is_none() => {
                    eprintln!(
                        "miq-automate diagram: warning: --output {value} is the old spelling of the file: write -o/--out {value} (--output is the format: svg, mermaid or dot)"
                    );
                    file = Some(PathBuf::from(value));
                }
                Err(_) => anyhow::bail!(
                    "--output {value}: not a format (svg, mermaid or dot); the file is -o/--out"
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
}

/// A traced run's account of one state.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Traced {
    /// Entered at least once.
    pub passed: bool,
    /// Ended in error.
    pub failed: bool,
    /// Retries it took.
    pub retries: u32,
}

/// Runs the command.
pub fn run(args: Args) -> anyhow::Result<u8> {
    let (format, file) = args.format_and_file()?;
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
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the trace {}", path.display()))?;
        let trace: Value = serde_json::from_str(&text)
            .with_context(|| format!("the trace {} is not JSON", path.display()))?;
        add_trace(&mut machine, &trace)
            .map_err(|e| anyhow::anyhow!("the trace {}: {e}", path.display()))?;
    }
    let picture = match format {
        Format::Svg => svg::draw(&machine),
        Format::Mermaid => text::mermaid(&machine),
        Format::Dot => text::dot(&machine),
    };
    match &file {
        Some(path) => std::fs::write(path, picture)
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
    let title = format!(
        "{}/{}{}",
        ds.class_namespace_fq(class_id(ds, class)),
        class.name,
        instance.map(|i| format!("/{}", i.name)).unwrap_or_default()
    );
    let states = state_fields(class)
        .map(|f| {
            let own = instance.and_then(|i| i.value_of(&f.name));
            let pick = |inst: Option<&Option<String>>, class: &Option<String>| {
                inst.and_then(|v| v.clone())
                    .filter(|v| !v.trim().is_empty())
                    .or_else(|| class.clone())
                    .filter(|v| !v.trim().is_empty())
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
            }
        })
        .collect();
    Ok(Machine {
        title,
        description: class.description.clone(),
        states,
        rollback_mode: None,
        traced: false,
    })
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
                if s.state == state.name {
                    s.step
                } else {
                    format!("{} (undoes {})", s.step, s.state)
                }
            })
            .collect();
    }
    machine.rollback_mode = Some(mode);
}

/// Colours the states a delivery's trace shows: `trace` is the JSON of `miq-automate run
/// --output json` (each delivery's `events`: the states it entered and how each ended); a
/// plain list of deliveries, and deliveries listing their `states` with results, are read
/// too.
pub fn add_trace(machine: &mut Machine, trace: &Value) -> Result<(), String> {
    let deliveries = trace
        .get("trace")
        .or_else(|| trace.get("deliveries"))
        .unwrap_or(trace);
    // (machine, state, result): a nested machine's `Finished` is not the parent's.
    let mut seen: Vec<(String, String, String)> = Vec::new();
    let mut collect = |v: &Value| {
        let entries = v
            .get("states")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_else(|| states_of_events(v));
        for e in entries {
            let name = ["state", "name"]
                .iter()
                .find_map(|k| e.get(*k).and_then(Value::as_str))
                .unwrap_or_default()
                .to_string();
            let result = ["result", "ae_result"]
                .iter()
                .find_map(|k| e.get(*k).and_then(Value::as_str))
                .unwrap_or("ok")
                .to_string();
            let owner = e
                .get("machine")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if !name.is_empty() {
                seen.push((owner, name, result));
            }
        }
    };
    match deliveries {
        Value::Array(list) => list.iter().for_each(&mut collect),
        other => collect(other),
    }
    // A trace of another machine would draw every state "not reached": refused instead.
    let paths: Vec<&str> = seen
        .iter()
        .map(|(m, _, _)| m.as_str())
        .filter(|m| !m.is_empty())
        .collect();
    let shares_a_state = seen.iter().any(|(_, n, _)| {
        machine
            .states
            .iter()
            .any(|s| s.name.eq_ignore_ascii_case(n))
    });
    if !seen.is_empty()
        && (!shares_a_state
            || (!paths.is_empty()
                && !machine.title.is_empty()
                && !paths.iter().any(|m| same_machine(m, &machine.title))))
    {
        let mut traced: Vec<&str> = if paths.is_empty() {
            seen.iter().map(|(_, n, _)| n.as_str()).collect()
        } else {
            paths
        };
        traced.dedup();
        return Err(format!(
            "it is a trace of another machine ({}), not of {}: give the trace of a run of this machine",
            traced.join(", "),
            machine.title
        ));
    }
    let own = own_machine(&machine.title, &seen);
    for state in &mut machine.states {
        let mine: Vec<&String> = seen
            .iter()
            .filter(|(m, n, _)| {
                (m.is_empty() || Some(m.as_str()) == own) && n.eq_ignore_ascii_case(&state.name)
            })
            .map(|(_, _, r)| r)
            .collect();
        if mine.is_empty() {
            continue;
        }
        state.trace = Some(Traced {
            passed: true,
            failed: mine.iter().any(|r| r.as_str() == "error"),
            retries: mine.iter().filter(|r| r.as_str() == "retry").count() as u32,
        });
    }
    machine.traced = true;
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
fn own_machine<'a>(title: &str, seen: &'a [(String, String, String)]) -> Option<&'a str> {
    let norm = |p: &str| p.trim_matches('/').to_lowercase();
    let title = norm(title);
    let machines = seen
        .iter()
        .map(|(m, _, _)| m.as_str())
        .filter(|m| !m.is_empty());
    machines
        .clone()
        .find(|m| {
            let m = norm(m);
            m == title || m.rsplit_once('/').is_some_and(|(class, _)| class == title)
        })
        .or_else(|| machines.clone().next())
}

/// A delivery's state-machine events (`enter`, `step`, `done`, `raised`, as `miq-automate
/// run --output json` writes them) as the states they ended: each `done` with its result,
/// each `raised` as an error.
fn states_of_events(delivery: &Value) -> Vec<Value> {
    delivery
        .get("events")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let result = match e.get("event").and_then(Value::as_str)? {
                "done" => e.get("result").and_then(Value::as_str)?,
                "raised" => "error",
                _ => return None,
            };
            Some(serde_json::json!({
                "machine": e.get("machine").cloned().unwrap_or(Value::Null),
                "state": e.get("state")?,
                "result": result,
            }))
        })
        .collect()
}

/// Shortens text to `max` columns with an ellipsis (for labels in a fixed-width box): one
/// line, control characters escaped (`\u{1}`: no XML-invalid character, no terminal escape),
/// measured in display columns (a CJK character or an emoji takes two).
pub fn shorten(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let one_line = crate::output::terminal_text(&one_line);
    if width(&one_line) <= max {
        return one_line;
    }
    let mut s = String::new();
    let mut used = 0;
    for c in one_line.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max.saturating_sub(1) {
            break;
        }
        used += w;
        s.push(c);
    }
    s.push('…');
    s
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
    fn shortening_measures_display_width_and_escapes_controls() {
        assert_eq!(shorten("名前名前", 5), "名前…");
        assert_eq!(width(&shorten(&"🚀".repeat(80), 20)), 19);
        assert_eq!(shorten("a\u{1}b", 10), "a\\u{1}b");
    }

    #[test]
    fn shortening_keeps_short_text() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("abcdefgh", 5), "abcd…");
        assert_eq!(shorten("a\n  b", 5), "a b");
    }
}
