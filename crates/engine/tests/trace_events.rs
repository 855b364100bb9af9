//! The trace's facts for pictures of a run (issue #23): what served each step (`fqname`,
//! `domain`, `method_fqname`), the reasons, a state's retries and retry interval, the
//! `instantiate` events of a step's `$evm.instantiate` calls, and per delivery its reason,
//! notifications and executions (secrets masked).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use miq_automate_core::{ForeignRef, Password, Value};
use miq_automate_engine::{
    Datastore, DeliverOptions, Engine, Runtime, ScriptedRunner, Stub, TraceEvent,
};

const NO_ATTRS: [(&str, Value); 0] = [];

fn write(root: &Path, path: &str, text: &str) {
    let file = root.join(path);
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(file, text).unwrap();
}

fn field(
    name: &str,
    aetype: &str,
    value: &str,
    on_entry: &str,
    on_exit: &str,
    on_error: &str,
) -> String {
    format!(
        "  - field:\n      aetype: \"{aetype}\"\n      name: \"{name}\"\n      datatype: \"string\"\n      priority: 1\n      default_value: \"{value}\"\n      substitute: true\n      message: \"create\"\n      on_entry: \"{on_entry}\"\n      on_exit: \"{on_exit}\"\n      on_error: \"{on_error}\"\n"
    )
}

fn class(name: &str, fields: &[String]) -> String {
    format!(
        "---\nobject_type: class\nversion: 1.0\nobject:\n  attributes:\n    name: {name}\n  schema:\n{}",
        fields.concat()
    )
}

fn instance(name: &str, fields: &[(&str, &str)]) -> String {
    let fields = if fields.is_empty() {
        " []\n".to_string()
    } else {
        let list: String = fields
            .iter()
            .map(|(f, v)| format!("  - {f}:\n      value: \"{v}\"\n"))
            .collect();
        format!("\n{list}")
    };
    format!("---\nobject_type: instance\nversion: 1.0\nobject:\n  attributes:\n    name: {name}\n  fields:{fields}")
}

fn method(root: &Path, class_dir: &str, name: &str) {
    write(
        root,
        &format!("{class_dir}/__methods__/{name}.yaml"),
        &format!("---\nobject_type: method\nversion: 1.0\nobject:\n  attributes:\n    name: {name}\n    scope: instance\n    language: ruby\n    location: inline\n  inputs: []\n"),
    );
    write(
        root,
        &format!("{class_dir}/__methods__/{name}.rb"),
        "# scripted by the test\n",
    );
}

/// The `Pic` domain: `/Demo/Machine` (states Start and Fail), `/Demo/Work` (the mains),
/// `/Demo/Undo` (what a rollback instantiates).
fn domain() -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let root = std::env::temp_dir().join(format!(
        "miq-trace-events-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&root);
    write(
        &root,
        "Pic/__domain__.yaml",
        "---\nobject_type: domain\nversion: 1.0\nobject:\n  attributes:\n    name: Pic\n    priority: 10\n    enabled: true\n",
    );
    write(
        &root,
        "Pic/Demo/__namespace__.yaml",
        "---\nobject_type: namespace\nversion: 1.0\nobject:\n  attributes:\n    name: Demo\n",
    );
    let machine = "Pic/Demo/Machine.class";
    write(
        &root,
        &format!("{machine}/__class__.yaml"),
        &class(
            "Machine",
            &[
                field(
                    "Start",
                    "state",
                    "/Demo/Work/good",
                    "hook",
                    "log_object",
                    "",
                ),
                field("Fail", "state", "/Demo/Work/bad", "", "", "undo"),
            ],
        ),
    );
    write(&root, &format!("{machine}/run.yaml"), &instance("run", &[]));
    write(
        &root,
        &format!("{machine}/waiting.yaml"),
        &instance("waiting", &[("Start", "METHOD::wait"), ("Fail", "#")]),
    );
    write(
        &root,
        &format!("{machine}/stubbed.yaml"),
        &instance(
            "stubbed",
            &[
                ("Start", "/Demo/Work/stubbed"),
                ("Fail", "/Demo/Work/ghost"),
            ],
        ),
    );
    for m in ["hook", "undo", "wait"] {
        method(&root, machine, m);
    }
    let work = "Pic/Demo/Work.class";
    write(
        &root,
        &format!("{work}/__class__.yaml"),
        &class("Work", &[field("execute", "method", "work", "", "", "")]),
    );
    for i in ["good", "bad", "stubbed"] {
        write(&root, &format!("{work}/{i}.yaml"), &instance(i, &[]));
    }
    method(&root, work, "work");
    let undo = "Pic/Demo/Undo.class";
    write(
        &root,
        &format!("{undo}/__class__.yaml"),
        &class(
            "Undo",
            &[field("execute", "method", "undo_step", "", "", "")],
        ),
    );
    for i in ["one", "failing"] {
        write(&root, &format!("{undo}/{i}.yaml"), &instance(i, &[]));
    }
    method(&root, undo, "undo_step");
    root
}

fn current_instance(rt: &mut Runtime<'_>) -> String {
    let ws = rt.workspace();
    ws.obj(ws.current())
        .instance_name
        .clone()
        .unwrap_or_default()
}

fn engine() -> Engine {
    let root = domain();
    let ds = Datastore::load(&[root.join("Pic")]).expect("the Pic domain loads");
    let _ = std::fs::remove_dir_all(&root);
    let waited = Arc::new(AtomicUsize::new(0));
    let runner = ScriptedRunner::new()
        .on("work", |rt, _| {
            if current_instance(rt) == "bad" {
                let ws = rt.workspace();
                ws.root_set("ae_result", Value::from("error"));
                ws.root_set("ae_reason", Value::from("bad went wrong"));
            }
            Ok(0)
        })
        .on("undo", |rt, _| {
            rt.instantiate("/Demo/Undo/one?password::pw=hunter2");
            rt.instantiate("/Demo/Undo/missing");
            rt.instantiate("/Demo/Undo/failing");
            Ok(0)
        })
        .on("undo_step", |rt, _| {
            if current_instance(rt) == "failing" {
                let ws = rt.workspace();
                ws.root_set("ae_result", Value::from("error"));
                ws.root_set("ae_reason", Value::from("could not undo"));
            }
            Ok(0)
        })
        .on("wait", move |rt, _| {
            let ws = rt.workspace();
            if waited.fetch_add(1, Ordering::Relaxed) == 0 {
                ws.root_set("ae_result", Value::from("retry"));
                ws.root_set("ae_retry_interval", Value::from("1.minute"));
                let sym = |k: &str| Value::Symbol(k.into());
                ws.create_notification(Value::Hash(vec![
                    (sym("level"), Value::from("info")),
                    (sym("message"), Value::from("waiting, token v2:{abcdef}")),
                ]));
                ws.execute(
                    "send_email",
                    vec![
                        Value::from("ops@example.com"),
                        Value::from("password::hunter2"),
                        Value::Password(Password::new("sekrit")),
                        Value::from("v2:{abcdef}"),
                        Value::Foreign(ForeignRef {
                            id: 1,
                            label: "MiqAutomate::ServiceModel".into(),
                            text: Some("#<user password=\"hunter2\">".into()),
                        }),
                    ],
                )
                .unwrap();
            } else {
                ws.root_set("ae_result", Value::from("ok"));
            }
            Ok(0)
        });
    Engine::new(ds).with_runner(runner)
}

fn steps(trace: &[TraceEvent]) -> Vec<&TraceEvent> {
    trace
        .iter()
        .filter(|e| matches!(e, TraceEvent::Step { .. }))
        .collect()
}

/// A step's `(step, fqname, domain, method_fqname, reason)`.
type Served = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

#[test]
fn a_step_names_what_served_it_and_the_reason_after_it() {
    let run = engine().instantiate("/Demo/Machine/run", NO_ATTRS).unwrap();
    let served: Vec<Served> = steps(&run.trace)
        .into_iter()
        .map(|e| match e {
            TraceEvent::Step {
                step,
                fqname,
                domain,
                method_fqname,
                reason,
                ..
            } => (
                step.clone(),
                fqname.clone(),
                domain.clone(),
                method_fqname.clone(),
                reason.clone(),
            ),
            _ => unreachable!(),
        })
        .collect();
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        served,
        vec![
            // A hook: the method, with its domain.
            (
                "on_entry".into(),
                s("/Pic/Demo/Machine/hook"),
                s("Pic"),
                None,
                None
            ),
            // A relationship main: its instance, and the method the instance ran.
            (
                "main".into(),
                s("/Pic/Demo/Work/good"),
                s("Pic"),
                s("/Pic/Demo/Work/work"),
                None
            ),
            // A $/object built-in: nothing of the datastore served it.
            ("on_exit".into(), None, None, None, None),
            (
                "main".into(),
                s("/Pic/Demo/Work/bad"),
                s("Pic"),
                s("/Pic/Demo/Work/work"),
                s("bad went wrong")
            ),
            (
                "on_error".into(),
                s("/Pic/Demo/Machine/undo"),
                s("Pic"),
                None,
                s("could not undo")
            ),
        ]
    );
    let json = serde_json::to_value(&run.trace).unwrap();
    // Absent facts are left out, not null.
    assert_eq!(
        json[3],
        serde_json::json!({"event": "step", "machine": "/Pic/Demo/Machine/run", "state": "Start",
            "step": "on_exit", "method": "log_object", "result": "ok"})
    );
}

#[test]
fn done_gives_the_retries_the_interval_and_the_reason() {
    let run = engine().instantiate("/Demo/Machine/run", NO_ATTRS).unwrap();
    let done: Vec<&TraceEvent> = run
        .trace
        .iter()
        .filter(|e| matches!(e, TraceEvent::Done { .. }))
        .collect();
    assert!(
        matches!(done[0], TraceEvent::Done { state, result, retries: 0, retry_interval: None, reason: None, .. }
        if state == "Start" && result == "ok")
    );
    assert!(
        matches!(done[1], TraceEvent::Done { state, result, retries: 0, reason: Some(r), .. }
        if state == "Fail" && result == "error" && r == "could not undo")
    );

    let delivery = engine().deliver("/Demo/Machine/waiting", NO_ATTRS, DeliverOptions::default());
    assert_eq!(delivery.deliveries, 2);
    let first_done = delivery.trace[0]
        .events
        .iter()
        .find(|e| matches!(e, TraceEvent::Done { .. }))
        .unwrap();
    assert!(
        matches!(first_done, TraceEvent::Done { result, retries: 1, retry_interval: Some(60), reason: None, .. }
        if result == "retry"),
        "{first_done:?}"
    );
    let again = delivery.trace[1]
        .events
        .iter()
        .find(|e| matches!(e, TraceEvent::Done { state, .. } if state == "Start"))
        .unwrap();
    // Ended ok on its second try: the retries it ended with, before the next state's reset.
    assert!(
        matches!(again, TraceEvent::Done { result, retries: 1, retry_interval: None, .. } if result == "ok"),
        "{again:?}"
    );
}

#[test]
fn a_steps_instantiations_are_traced_in_order() {
    let run = engine().instantiate("/Demo/Machine/run", NO_ATTRS).unwrap();
    let tail: Vec<serde_json::Value> = run
        .trace
        .iter()
        .skip_while(|e| !matches!(e, TraceEvent::Instantiate { .. }))
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    let machine = "/Pic/Demo/Machine/run";
    assert_eq!(tail.len(), 5, "{tail:#?}");
    assert_eq!(
        tail[0],
        serde_json::json!({"event": "instantiate", "machine": machine, "state": "Fail",
            "step": "on_error", "uri": "/Demo/Undo/one?password::pw=********",
            "fqname": "/Pic/Demo/Undo/one", "domain": "Pic", "result": "ok"})
    );
    assert_eq!(tail[1]["uri"], "/Demo/Undo/missing");
    assert_eq!(tail[1]["result"], "error");
    assert!(tail[1].get("fqname").is_none());
    assert!(
        tail[1]["error"]
            .as_str()
            .unwrap()
            .starts_with("MiqAeException::ClassNotFound: "),
        "{}",
        tail[1]
    );
    assert_eq!(
        tail[2],
        serde_json::json!({"event": "instantiate", "machine": machine, "state": "Fail",
            "step": "on_error", "uri": "/Demo/Undo/failing",
            "fqname": "/Pic/Demo/Undo/failing", "domain": "Pic", "result": "error",
            "reason": "could not undo"})
    );
    // Pushed as each ended: the step's own event after its instantiations, then done.
    assert_eq!(tail[3]["event"], "step");
    assert_eq!(tail[3]["step"], "on_error");
    assert_eq!(tail[4]["event"], "done");
    assert!(!serde_json::to_string(&run.trace)
        .unwrap()
        .contains("hunter2"));
}

#[test]
fn instantiations_outside_a_step_are_not_traced() {
    let e = engine();
    let run = e.instantiate("/Demo/Machine/run", NO_ATTRS).unwrap();
    assert!(run
        .trace
        .iter()
        .any(|t| matches!(t, TraceEvent::Instantiate { .. })));
    // A method run outside any state machine instantiates: nothing traced.
    let mut e = e;
    e.stub(
        "/Demo/Work/good",
        Stub::call(|rt| {
            rt.instantiate("/Demo/Undo/one");
            Ok(0)
        }),
    );
    let run = e.instantiate("/Demo/Work/good", NO_ATTRS).unwrap();
    assert!(run.trace.is_empty(), "{:?}", run.trace);
}

#[test]
fn a_stubbed_main_is_served_by_its_instance_when_a_domain_has_it() {
    let mut e = engine();
    e.stub("/Demo/Work/stubbed", Stub::Exit(0));
    e.stub("/Demo/Work/ghost", Stub::Exit(0));
    let run = e.instantiate("/Demo/Machine/stubbed", NO_ATTRS).unwrap();
    let mains: Vec<(Option<String>, Option<String>)> = steps(&run.trace)
        .into_iter()
        .filter_map(|e| match e {
            TraceEvent::Step {
                step,
                fqname,
                method_fqname,
                ..
            } if step == "main" => Some((fqname.clone(), method_fqname.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        mains,
        vec![
            (Some("/Pic/Demo/Work/stubbed".to_string()), None),
            (None, None)
        ]
    );
}

#[test]
fn each_delivery_has_its_reason_notifications_and_executions_masked() {
    let delivery = engine().deliver("/Demo/Machine/waiting", NO_ATTRS, DeliverOptions::default());
    let json = serde_json::to_value(&delivery).unwrap();
    let first = &json["trace"][0];
    assert_eq!(first["notifications"].as_array().unwrap().len(), 1);
    assert_eq!(first["notifications"][0]["type"], "automate_user_info");
    assert_eq!(
        first["notifications"][0]["message"],
        "waiting, token ********"
    );
    assert_eq!(
        first["executions"],
        serde_json::json!([{"name": "send_email", "args": [
            "ops@example.com", "password::********", "********", "********",
            {"$foreign": {"id": 1, "label": "MiqAutomate::ServiceModel",
                "text": "#<user password=\"********\">"}}]}])
    );
    assert!(first.get("reason").is_none());
    assert_eq!(json["trace"][1]["notifications"], serde_json::json!([]));
    assert_eq!(json["trace"][1]["executions"], serde_json::json!([]));
    let text = json.to_string();
    for secret in ["hunter2", "sekrit", "abcdef"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }

    // The reason at a delivery's end.
    let delivery = engine().deliver("/Demo/Machine/run", NO_ATTRS, DeliverOptions::default());
    assert_eq!(delivery.trace[0].reason.as_deref(), Some("could not undo"));
}
