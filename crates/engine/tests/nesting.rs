//! The nesting limit (issue 18): relationships, `$evm.instantiate` from methods and nested
//! state machines nested deeper than [`MAX_NESTING`] are an engine error naming the limit
//! and the chain, never a stack overflow. The domains are written by the tests into a
//! temp dir (a 10,000-link chain is too big to keep in the repository).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use miq_automate_core::{AeError, Value};
use miq_automate_engine::engine::MAX_NESTING;
use miq_automate_engine::{
    Datastore, Engine, EngineError, FnRunner, MethodInvocation, Run, Runtime,
};

/// A fresh directory for one test (removed when the test ends).
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("miq-nesting-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn no_attrs() -> [(&'static str, Value); 0] {
    []
}

/// A schema field (`aetype` attribute, method, relationship, state).
fn field(name: &str, aetype: &str, priority: usize, default: &str) -> String {
    format!(
        "  - field:\n      aetype: {aetype}\n      name: {name}\n      datatype: string\n      priority: {priority}\n      default_value: \"{default}\"\n      message: create\n"
    )
}

/// An instance: its name and field values.
type Instance = (String, Vec<(&'static str, String)>);

/// Writes domain `Nest` (namespace `Chain`) under `dir` with one class: `schema`, its
/// `instances` and its inline `methods` (bodies the runner never reads). Loads it.
fn domain(
    dir: &Path,
    class: &str,
    schema: &[String],
    instances: &[Instance],
    methods: &[&str],
) -> Datastore {
    let root = dir.join("Nest");
    let cdir = root.join("Chain").join(format!("{class}.class"));
    fs::create_dir_all(cdir.join("__methods__")).unwrap();
    let write = |path: PathBuf, text: String| fs::write(path, text).unwrap();
    write(
        root.join("__domain__.yaml"),
        "---\nobject_type: domain\nversion: 1.0\nobject:\n  attributes:\n    name: Nest\n    priority: 10\n    enabled: true\n".into(),
    );
    write(
        root.join("Chain/__namespace__.yaml"),
        "---\nobject_type: namespace\nversion: 1.0\nobject:\n  attributes:\n    name: Chain\n"
            .into(),
    );
    write(
        cdir.join("__class__.yaml"),
        format!("---\nobject_type: class\nversion: 1.0\nobject:\n  attributes:\n    name: {class}\n  schema:\n{}", schema.concat()),
    );
    for (name, fields) in instances {
        let fields: String = fields
            .iter()
            .map(|(f, v)| format!("  - {f}:\n      value: \"{v}\"\n"))
            .collect();
        let file = if name == ".missing" { "_missing" } else { name };
        write(
            cdir.join(format!("{file}.yaml")),
            format!("---\nobject_type: instance\nversion: 1.0\nobject:\n  attributes:\n    name: {name}\n  fields:\n{fields}"),
        );
    }
    for m in methods {
        write(
            cdir.join("__methods__").join(format!("{m}.yaml")),
            format!("---\nobject_type: method\nversion: 1.0\nobject:\n  attributes:\n    name: {m}\n    scope: instance\n    language: ruby\n    location: inline\n  inputs: []\n"),
        );
        write(
            cdir.join("__methods__").join(format!("{m}.rb")),
            "exit MIQ_OK\n".into(),
        );
    }
    Datastore::load(&[root]).expect("the domain loads")
}

/// `links` instances of `Link`, each with a relationship `next` to the following one (the
/// last to nothing); with `probe`, a method field runs before the relationship.
fn link_chain(dir: &Path, links: usize, probe: bool) -> Datastore {
    let instances: Vec<Instance> = (0..links)
        .map(|i| {
            let next = if i + 1 < links {
                format!("/Chain/Link/link{}", i + 1)
            } else {
                String::new()
            };
            (format!("link{i}"), vec![("next", next)])
        })
        .collect();
    let mut schema = vec![field("next", "relationship", 2, "")];
    if probe {
        schema.push(field("probe", "method", 1, "probe"));
    }
    domain(
        dir,
        "Link",
        &schema,
        &instances,
        if probe { &["probe"] } else { &[] },
    )
}

fn logged(run: &Run, needle: &str) -> Vec<String> {
    run.log_messages()
        .into_iter()
        .filter(|m| m.contains(needle))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_relationship_chain_of_10000_stops_at_the_limit_naming_it_and_the_chain() {
    let dir = TempDir::new("chain");
    let engine = Engine::new(link_chain(&dir.0, 10_000, false));
    let aborted = engine
        .instantiate("/Chain/Link/link0", no_attrs())
        .expect_err("refused past the limit");
    assert_eq!(
        aborted.error,
        EngineError::NestingTooDeep {
            limit: MAX_NESTING,
            path: "/Chain/Link/link0 → miqaedb:/Chain/Link/link1#create → miqaedb:/Chain/Link/link2#create → … → miqaedb:/Chain/Link/link62#create → miqaedb:/Chain/Link/link63#create → miqaedb:/Chain/Link/link64#create".into(),
        }
    );
    let text = aborted.to_string();
    assert!(
        text.starts_with("MiqAutomate::NestingTooDeep: instantiation nested deeper than 64 levels: /Chain/Link/link0 → "),
        "{text}"
    );
    assert!(
        text.ends_with("(a relationship or $evm.instantiate cycle through distinct instances?)"),
        "{text}"
    );
    // link0 … link63 were instantiated, link64 was not.
    assert_eq!(
        logged(&aborted.run, "Following Relationship").len(),
        MAX_NESTING
    );
}

#[test]
fn a_chain_exactly_as_deep_as_the_limit_runs() {
    let dir = TempDir::new("exact");
    let engine = Engine::new(link_chain(&dir.0, MAX_NESTING, false));
    let run = engine
        .instantiate("/Chain/Link/link0", no_attrs())
        .expect("64 levels are allowed");
    assert_eq!(
        logged(&run, "Followed  Relationship").len(),
        MAX_NESTING - 1
    );
    let engine = Engine::new(link_chain(&TempDir::new("over").0, MAX_NESTING + 1, false));
    let aborted = engine
        .instantiate("/Chain/Link/link0", no_attrs())
        .unwrap_err();
    assert!(matches!(
        aborted.error,
        EngineError::NestingTooDeep { limit: 64, .. }
    ));
}

#[test]
fn the_chain_in_the_error_masks_passwords() {
    let dir = TempDir::new("password");
    let links: Vec<Instance> = (0..=MAX_NESTING)
        .map(|i| {
            let next = format!("/Chain/Link/link{}?password::pw=TopSecret1", i + 1);
            (format!("link{i}"), vec![("next", next)])
        })
        .collect();
    let ds = domain(
        &dir.0,
        "Link",
        &[field("next", "relationship", 1, "")],
        &links,
        &[],
    );
    let aborted = Engine::new(ds)
        .instantiate("/Chain/Link/link0", no_attrs())
        .unwrap_err();
    let text = aborted.to_string();
    assert!(!text.contains("TopSecret1"), "{text}");
    assert!(
        text.contains("miqaedb:/Chain/Link/link64?password::pw=******** (a relationship"),
        "{text}"
    );
}

#[test]
fn nested_state_machines_deeper_than_the_limit_fail_their_state() {
    // m0's state `nested` instantiates m1, a state machine too, … up to m99.
    let dir = TempDir::new("machines");
    let machines: Vec<Instance> = (0..100)
        .map(|i| {
            (
                format!("m{i}"),
                vec![("nested", format!("/Chain/Machine/m{}", i + 1))],
            )
        })
        .collect();
    let engine = Engine::new(domain(
        &dir.0,
        "Machine",
        &[field("nested", "state", 1, "")],
        &machines,
        &[],
    ));
    let run = engine
        .instantiate("/Chain/Machine/m0", no_attrs())
        .expect("a state's error is the state machine's, as for any exception in a state");
    // The innermost allowed machine's state raised; every machine around it ends in error.
    let raised = logged(&run, "raised exception");
    assert_eq!(raised.len(), 1, "{raised:#?}");
    assert!(
        raised[0].starts_with("State=<nested> running  raised exception: <instantiation nested deeper than 64 levels: /Chain/Machine/m0 → miqaedb:/Chain/Machine/m1#create → "),
        "{}",
        raised[0]
    );
    assert!(raised[0].contains("→ … → "), "{}", raised[0]);
    assert!(
        raised[0].contains("miqaedb:/Chain/Machine/m64#create (a relationship"),
        "{}",
        raised[0]
    );
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
    assert_eq!(logged(&run, "Error in State=[nested]").len(), MAX_NESTING);
}

/// `$evm.instantiate("/Chain/Rec/r<n+1>")` from each level's method: a distinct instance
/// each time, through `.missing`.
fn recursive_engine(dir: &Path) -> Engine {
    let missing: Vec<Instance> = vec![(".missing".into(), vec![])];
    let ds = domain(
        dir,
        "Rec",
        &[field("run", "method", 1, "recurse")],
        &missing,
        &["recurse"],
    );
    Engine::new(ds).with_runner(FnRunner(|rt: &mut Runtime<'_>, _: &MethodInvocation| {
        let ws = rt.workspace();
        let depth = ws.root_get("depth").to_ruby_s().parse::<i64>().unwrap_or(0) + 1;
        ws.root_set("depth", Value::Integer(depth));
        let child = rt.instantiate(&format!("/Chain/Rec/r{depth}"));
        // As a method would, it goes on when `$evm.instantiate` gives nil.
        let ws = rt.workspace();
        ws.root_set(&format!("got{depth}"), Value::Bool(child.is_some()));
        Ok::<i32, AeError>(0)
    }))
}

#[test]
fn a_method_instantiating_distinct_instances_recursively_stops_at_the_limit() {
    let dir = TempDir::new("recurse");
    let run = recursive_engine(&dir.0)
        .instantiate("/Chain/Rec/r0", no_attrs())
        .expect("$evm.instantiate logs its error and gives nil");
    assert_eq!(run.root_get("depth"), Value::Integer(MAX_NESTING as i64));
    assert_eq!(run.root_get("got64"), Value::Bool(false));
    assert_eq!(run.root_get("got63"), Value::Bool(true));
    let failed = logged(&run, "instantiate failed");
    assert_eq!(failed.len(), 1, "{failed:#?}");
    assert!(
        failed[0].starts_with("instantiate failed : instantiation nested deeper than 64 levels: /Chain/Rec/r0 → /Chain/Rec/r1 → /Chain/Rec/r2 → … → /Chain/Rec/r62 → /Chain/Rec/r63 → /Chain/Rec/r64 "),
        "{}",
        failed[0]
    );
}

#[test]
fn a_method_instantiating_its_own_instance_is_still_a_cycle() {
    let dir = TempDir::new("cycle");
    let ds = domain(
        &dir.0,
        "Rec",
        &[field("run", "method", 1, "recurse")],
        &[("self".into(), vec![])],
        &["recurse"],
    );
    let engine =
        Engine::new(ds).with_runner(FnRunner(|rt: &mut Runtime<'_>, _: &MethodInvocation| {
            rt.instantiate("/Chain/Rec/self?n=1");
            Ok::<i32, AeError>(0)
        }));
    let run = engine.instantiate("/Chain/Rec/self", no_attrs()).unwrap();
    assert_eq!(
        logged(&run, "instantiate failed"),
        ["instantiate failed : cyclical reference: [/Nest/Chain/Rec/self with message=create]"]
    );
}

/// The machine stack one level takes, measured between the same point of two nested levels
/// (a method field, then a relationship): what makes [`MAX_NESTING`] safe. Measured: about
/// 5 KB in a release build, 15 KB in a debug one (the tests' threads have 2 MiB).
#[test]
fn a_level_takes_little_stack() {
    let dir = TempDir::new("stack");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let engine = Engine::new(link_chain(&dir.0, 8, true)).with_runner(FnRunner(
        move |_: &mut Runtime<'_>, _: &MethodInvocation| {
            let here = 0u8;
            record
                .lock()
                .unwrap()
                .push(std::hint::black_box(&here) as *const u8 as usize);
            Ok::<i32, AeError>(0)
        },
    ));
    engine.instantiate("/Chain/Link/link0", no_attrs()).unwrap();
    let seen = seen.lock().unwrap();
    let level = seen[0] - seen[1];
    assert!(seen.windows(2).all(|w| w[0] - w[1] == level));
    let budget = if cfg!(debug_assertions) { 24 } else { 8 } * 1024;
    assert!(level <= budget, "a level takes {level} bytes of stack");
}
