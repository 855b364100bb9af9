//! What this engine adds, with no peer spec file: stubs, the virtual clock and delivery
//! limits, the state-machine trace, a delivery as JSON, and the example domain.

use std::sync::{Arc, Mutex};

use miq_automate_core::Value;
use miq_automate_engine::{
    Clock, Datastore, DeliverOptions, DeliveryLimit, Engine, ScriptedRunner, Stub, TraceEvent,
    VirtualClock,
};

use crate::support::sm::{
    self, all_ok, deliver_top, endless_retry, push, retry_engine, set, start, steps,
};
use crate::support::{datastore, has_log, no_attrs, repo};

#[test]
fn methods_instantiate_through_the_engine_and_stubs_replace_anything() {
    let runner = ScriptedRunner::new().on("nester", |rt, _| {
        let child = rt.instantiate("/Test/Attrs/one");
        let v = child
            .map(|c| rt.workspace().obj(c).read("attr1"))
            .unwrap_or_default();
        rt.workspace().root_set("nested", v);
        assert_eq!(rt.instantiate("/Test/Nope/x"), None);
        Ok(0)
    });
    let mut e = Engine::new(datastore()).with_runner(runner);
    let run = e
        .instantiate("/Base/Test/Methods/nested", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("nested"), Value::from("over"));
    // A stubbed instance never reaches the datastore; a stubbed method never the runner.
    e.stub(
        "/Test/Attrs/one",
        Stub::Attributes(vec![("attr1".into(), Value::from("stubbed"))]),
    );
    e.stub("/Base/Test/Methods/only_base", Stub::Exit(8));
    let run = e
        .instantiate("/Base/Test/Methods/nested", no_attrs())
        .unwrap();
    assert_eq!(run.root_get("nested"), Value::from("stubbed"));
    let run = e
        .instantiate("/Base/Test/Methods/qualified", no_attrs())
        .unwrap();
    assert_eq!(run.root, None);
    assert!(has_log(
        &run,
        "Invoking [stub] method [/Base/Test/Methods/only_base] with inputs [{}]"
    ));
    e.stub(
        "/Virtual/Thing/x",
        Stub::call(|rt| {
            rt.workspace().root_set("called", Value::Bool(true));
            Ok(0)
        }),
    );
    let run = e.instantiate("/Virtual/Thing/x", no_attrs()).unwrap();
    assert_eq!(run.root_get("called"), Value::Bool(true));
}

#[test]
fn rollback_demo_loads_and_instantiates() {
    let ds = Datastore::load(&[repo().join("examples/domains/RollbackDemo")]).expect("loads");
    let s = ds.stats();
    assert_eq!((s.domains, s.classes, s.instances, s.methods), (1, 3, 7, 8));
    let runner = ScriptedRunner::new().on("acquire_ip_address", |rt, _| {
        rt.workspace().root_set("ip", Value::from("10.0.0.7"));
        Ok(0)
    });
    let e = Engine::new(ds).with_runner(runner.clone());
    let run = e
        .instantiate(
            "/Infrastructure/VM/Provisioning/Network/Methods/AcquireIPAddress",
            no_attrs(),
        )
        .unwrap();
    assert_eq!(run.root_get("ip"), Value::from("10.0.0.7"));
    assert!(has_log(
        &run,
        "Invoking [inline] method [/RollbackDemo/Infrastructure/VM/Provisioning/Network/Methods/acquire_ip_address] with inputs [{}]"
    ));
    // The state machine instance: its attribute runs.
    let run = e
        .instantiate(
            "/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template",
            no_attrs(),
        )
        .unwrap();
    assert_eq!(
        run.root_get("rollback_class"),
        Value::from("/Infrastructure/VM/Provisioning/Rollback/Methods")
    );
    // Its states run (the state-machine modules have the cases): the first state's main names a
    // class this example domain lacks, so on_entry, then the error and on_error.
    assert_eq!(runner.calls().len(), 3);
    assert_eq!(run.root_get("ae_result"), Value::from("error"));
    assert_eq!(
        run.root_get("ae_reason"),
        Value::from("State=<CustomizeRequest> running  raised exception: <empty relationship>")
    );
}

#[test]
fn the_trace_names_each_state_hook_main_result_and_next_state() {
    let run = steps("all", all_ok).unwrap();
    let machine = "/SM/Steps/Machine/all".to_string();
    let first: Vec<TraceEvent> = run.trace.iter().take(5).cloned().collect();
    let step =
        |step: &str, method: &str, fqname: &str, method_fqname: Option<&str>| TraceEvent::Step {
            machine: machine.clone(),
            state: "state1".into(),
            step: step.into(),
            method: method.into(),
            result: "ok".into(),
            error: None,
            reason: None,
            fqname: Some(fqname.into()),
            domain: Some("SM".into()),
            method_fqname: method_fqname.map(Into::into),
        };
    assert_eq!(
        first,
        vec![
            TraceEvent::Enter {
                machine: machine.clone(),
                state: "state1".into(),
                retries: 0
            },
            step(
                "on_entry",
                "state_hook",
                "/SM/Steps/Machine/state_hook",
                None
            ),
            step(
                "main",
                "/SM/Steps/Work/instance1",
                "/SM/Steps/Work/instance1",
                Some("/SM/Steps/Work/work")
            ),
            step(
                "on_exit",
                "state_hook",
                "/SM/Steps/Machine/state_hook",
                None
            ),
            TraceEvent::Done {
                machine: machine.clone(),
                state: "state1".into(),
                result: "ok".into(),
                next_state: Some("state2".into()),
                retries: 0,
                retry_interval: None,
                reason: None,
            },
        ]
    );
    assert_eq!(run.trace.len(), 15);
    let run = steps("entry_missing", all_ok).unwrap();
    let failed = run
        .trace
        .iter()
        .find(|e| matches!(e, TraceEvent::Step { error: Some(_), .. }))
        .unwrap();
    assert!(
        matches!(failed, TraceEvent::Step { state, step, result, error: Some(e), .. }
        if state == "state2" && step == "on_entry" && result == "error"
            && e.starts_with("MiqAeException::MethodNotFound: In State=[state2]"))
    );
    assert!(run.trace.iter().any(|e| matches!(e,
        TraceEvent::Done { state, result, next_state: None, .. } if state == "state2" && result == "error")));
}

#[test]
fn retries_advance_the_virtual_clock_by_their_interval() {
    let (engine, clock) = retry_engine(Arc::new(|rt| {
        let vars = rt.workspace().state_vars_mut();
        let n = match vars.get(&Value::from("n")) {
            Value::Integer(n) => n,
            _ => 0,
        };
        vars.set(&Value::from("n"), Value::Integer(n + 1))?;
        if n < 3 {
            set(rt, "ae_result", "retry");
            set(rt, "ae_retry_interval", "1.minute");
        }
        // The shared clock is what stubs and models see.
        let now = rt.clock().now().to_rfc3339();
        push(rt, "seen", Value::from(now.as_str()));
        Ok(0)
    }));
    let wall = std::time::Instant::now();
    let d = deliver_top(&engine, "Machine/many", DeliverOptions::default());
    assert!(
        wall.elapsed() < std::time::Duration::from_secs(5),
        "no sleeping"
    );
    assert_eq!((d.deliveries, d.ae_result.as_str()), (4, "ok"));
    assert_eq!(d.virtual_seconds, 180);
    let at: Vec<i64> = d.trace.iter().map(|t| t.at).collect();
    assert_eq!(at, [0, 60, 120, 180]);
    assert_eq!(clock.now(), start() + chrono::Duration::seconds(180));
    assert_eq!(
        d.root_get("seen"),
        Value::Array(vec!["2024-05-01T10:03:00+00:00".into()])
    );
    let logs = d.log_messages();
    assert!(has_log(
        &logs,
        "Delivering {\"machine\"=>\"Machine/many\"} for object [.] with state [] to Automate"
    ));
    assert!(has_log(
        &logs,
        "Delivering {\"machine\"=>\"Machine/many\"} for object [.] with state [state1] to Automate"
    ));
    let requeue = logs.iter().find(|l| l.starts_with("Requeuing ")).unwrap();
    assert!(requeue.starts_with(
        "Requeuing {:uri=>\"/SM/Retry/Top/everest\", :attrs=>{\"machine\"=>\"Machine/many\"}, :state=>\"state1\", :ae_fsm_started=>nil, :ae_state_started=>\"2024-05-01 10:00:00 UTC\", :ae_state_retries=>1, :ae_state_data=>{\"n\"=>1}, :ae_state_previous=>{\"/SM/Retry/Machine/many\"=>{\"ae_state\"=>\"state1\", "
    ), "{requeue}");
    assert!(requeue.ends_with(
        "} for object [.] with state [state1] to Automate for delivery in [60] seconds"
    ));
}

#[test]
fn max_deliveries_and_max_virtual_time_stop_a_retrying_request() {
    let (engine, _) = retry_engine(endless_retry("1.hour"));
    let d = deliver_top(
        &engine,
        "Machine/many",
        DeliverOptions {
            max_deliveries: 5,
            ..DeliverOptions::default()
        },
    );
    assert_eq!(d.deliveries, 5);
    assert_eq!(d.limit, Some(DeliveryLimit::MaxDeliveries));
    assert_eq!(d.ae_result, "retry");
    assert_eq!(d.virtual_seconds, 4 * 3600);
    assert!(has_log(
        &d.log_messages(),
        "Not delivering again: max_deliveries [5] reached"
    ));
    let (engine, _) = retry_engine(endless_retry("1.hour"));
    let d = deliver_top(
        &engine,
        "Machine/many",
        DeliverOptions {
            max_virtual_time: Some(7200),
            ..DeliverOptions::default()
        },
    );
    assert_eq!(d.deliveries, 3);
    assert_eq!(d.limit, Some(DeliveryLimit::MaxVirtualTime));
    assert_eq!(d.virtual_seconds, 7200);
}

#[test]
fn a_stub_and_a_model_share_the_engines_clock() {
    let clock = VirtualClock::new(start());
    // What a mock VMDB would hold: the same handle.
    let vmdb_clock = clock.clone();
    let mut engine = Engine::new(sm::datastore())
        .with_runner(ScriptedRunner::new())
        .with_clock(clock.clone());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let seen2 = Arc::clone(&seen);
    engine.stub(
        "/SM/Retry/Work/w",
        Stub::call(move |rt| {
            // A stub that takes 90 seconds of virtual time.
            seen2.lock().unwrap().push(rt.clock().now());
            rt.clock().wait(90);
            rt.workspace().root_set("ae_result", Value::from("ok"));
            Ok(0)
        }),
    );
    let d = deliver_top(&engine, "Machine/many", DeliverOptions::default());
    assert_eq!(d.ae_result, "ok");
    assert_eq!(seen.lock().unwrap().as_slice(), [start()]);
    assert_eq!(vmdb_clock.now(), start() + chrono::Duration::seconds(90));
    assert_eq!(d.virtual_seconds, 90);
}

#[test]
fn a_delivery_serializes_to_json() {
    let (engine, _) = retry_engine(Arc::new(|rt| {
        let first = rt.workspace().state_vars().is_empty();
        rt.workspace()
            .state_vars_mut()
            .set(&Value::from("seen"), Value::Bool(true))?;
        set(rt, "ae_result", if first { "retry" } else { "ok" });
        Ok(0)
    }));
    let d = deliver_top(&engine, "Machine/many", DeliverOptions::default());
    let json = serde_json::to_value(&d).unwrap();
    assert_eq!(json["ae_result"], "ok");
    assert_eq!(json["deliveries"], 2);
    assert_eq!(json["virtual_seconds"], 0);
    assert_eq!(json["limit"], serde_json::Value::Null);
    assert_eq!(json["trace"][0]["events"][0]["event"], "enter");
    assert_eq!(json["trace"][0]["events"][0]["state"], "state1");
    assert_eq!(json["trace"][0]["requeue"]["state"], "state1");
    assert_eq!(json["trace"][1]["events"][1]["event"], "step");
    assert_eq!(json["trace"][1]["events"][1]["step"], "main");
    assert_eq!(json["objects"][0]["name"], "/SM/Retry/Top/everest");
    assert_eq!(json["objects"][1]["parent"], 0);
    assert_eq!(json["state_vars"]["seen"], true);
    assert!(json["logs"][0]["message"]
        .as_str()
        .unwrap()
        .starts_with("Delivering "));
    assert_eq!(json["logs"][0]["delivery"], 1);
}
