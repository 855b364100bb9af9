//! Follows `spec/engine/miq_ae_state_machine_retry_spec.rb`: retries re-delivered by
//! [`miq_automate_engine::Engine::deliver`] on the engine's virtual clock, where the peer
//! puts MiqQueue rows and travels in time. Every example is ported: "check restart without
//! next state" and "… with next state" are one case, as are "retry with server affinity
//! set", "… without …" and "it can preserve old state data".

use std::sync::Arc;

use miq_automate_core::Value;
use miq_automate_engine::{DeliverOptions, DeliveryLimit, Engine, ScriptedRunner, TraceEvent};

use crate::support::sm::{self, deliver_top, endless_retry, push, retry_engine, set, Work};
use crate::support::{has_log, no_attrs};

#[test]
fn state_vars_survive_a_retry() {
    let (engine, _) = retry_engine(Arc::new(|rt| {
        let ws = rt.workspace();
        let vars = ws.state_vars_mut();
        if vars.get(&Value::from("gravy")) == Value::from("train") {
            let one = vars.get(&Value::from("one"));
            vars.set(&Value::Symbol("three".into()), Value::Integer(3))?;
            vars.set(
                &Value::from("one"),
                Value::Integer(if let Value::Integer(i) = one {
                    i + 1
                } else {
                    -1
                }),
            )?;
            ws.root_set("finished", Value::Bool(true));
            ws.root_set("ae_result", Value::from("ok"));
        } else {
            vars.set(&Value::Symbol("one".into()), Value::Integer(0))?;
            vars.set(&Value::Symbol("two".into()), Value::Integer(2))?;
            vars.set(&Value::from("gravy"), Value::from("train"))?;
            ws.root_set("ae_result", Value::from("retry"));
            ws.root_set("ae_retry_interval", Value::from("1.minute"));
        }
        Ok(0)
    }));
    let d = deliver_top(&engine, "Machine/many", DeliverOptions::default());
    assert_eq!((d.deliveries, d.ae_result.as_str()), (2, "ok"));
    assert_eq!(d.virtual_seconds, 60);
    assert_eq!(d.root_get("finished"), Value::Bool(true));
    let vars = d.run.as_ref().unwrap().workspace.state_vars();
    assert_eq!(vars.len(), 4);
    for (k, v) in [
        ("one", Value::Integer(1)),
        ("two", Value::Integer(2)),
        ("three", Value::Integer(3)),
        ("gravy", Value::from("train")),
    ] {
        assert_eq!(vars.get(&Value::from(k)), v, "{k}");
    }
    let requeue = d.trace[0].requeue.as_ref().unwrap();
    assert_eq!(requeue.retry_interval, 60);
    assert!(requeue.ae_state_data.is_some());
}

#[test]
fn max_retries_ends_the_retries() {
    let (engine, _) = retry_engine(endless_retry(""));
    let d = deliver_top(&engine, "Machine/one", DeliverOptions::default());
    assert_eq!(d.deliveries, 3);
    assert_eq!(d.ae_result, "error");
    assert_eq!(
        d.ae_reason.as_deref(),
        Some("State=<state1> running  raised exception: <number of retries <2> exceeded maximum of <1>>")
    );
    assert_eq!(
        d.trace.iter().filter(|t| t.requeue.is_some()).count(),
        2,
        "two requeues, then none"
    );
    assert_eq!(d.limit, None);
    let logs = d.log_messages();
    assert!(has_log(
        &logs,
        "Error delivering {\"machine\"=>\"Machine/one\"} for object [.] with state [state1] to Automate: "
    ));
}

#[test]
fn max_time_is_judged_on_the_virtual_clock() {
    let (engine, _) = retry_engine(endless_retry("3"));
    let d = deliver_top(&engine, "Machine/timed", DeliverOptions::default());
    assert_eq!((d.deliveries, d.ae_result.as_str()), (2, "error"));
    assert_eq!(d.virtual_seconds, 3);
    assert_eq!(
        d.ae_reason.as_deref(),
        Some("State=<state1> running  raised exception: <time in state <3.0 seconds> exceeded maximum of <2>>")
    );
    assert!(d.trace[1].requeue.is_none());
    // "1.hour": deliveries every 10 minutes until an hour has passed in the state.
    let (engine, _) = retry_engine(endless_retry("10.minutes"));
    let d = deliver_top(&engine, "Machine/hourly", DeliverOptions::default());
    assert_eq!((d.deliveries, d.ae_result.as_str()), (7, "error"));
    assert_eq!(d.virtual_seconds, 3600);
    assert_eq!(
        d.ae_reason.as_deref(),
        Some("State=<state1> running  raised exception: <time in state <3600.0 seconds> exceeded maximum of <1.hour>>")
    );
    // The state's start is kept from the first delivery.
    assert_eq!(
        d.trace[6].state.as_deref(),
        Some("state1"),
        "every delivery resumes state1"
    );
    assert_eq!(
        d.root_get("ae_state_started"),
        Value::from("2024-05-01 10:00:00 UTC")
    );
}

fn restart_work(next: Option<&'static str>) -> Arc<Work> {
    Arc::new(move |rt| {
        let ws = rt.workspace();
        let me = ws
            .obj(ws.current())
            .instance_name
            .clone()
            .unwrap_or_default();
        push(rt, "states_executed", Value::from(me.as_str()));
        if me == "meth3" {
            set(rt, "ae_result", "restart");
            if let Some(n) = next {
                set(rt, "ae_next_state", n);
            }
        } else {
            set(rt, "ae_result", "ok");
        }
        Ok(0)
    })
}

#[test]
fn restart_requeues_at_the_first_or_the_next_state() {
    let options = || DeliverOptions {
        max_deliveries: 2,
        ..DeliverOptions::default()
    };
    let (engine, _) = retry_engine(restart_work(None));
    let d = deliver_top(&engine, "Multi/three", options());
    let requeue = d.trace[0].requeue.as_ref().unwrap();
    assert_eq!(requeue.state.as_deref(), Some("state1"));
    let logs = d.log_messages();
    assert!(has_log(&logs, "State=[state3] has requested a restart"));
    assert!(has_log(&logs, "Will restart at State=[state1]"));
    // The second delivery starts again at state1.
    assert_eq!(
        d.root_get("states_executed"),
        Value::Array(vec!["meth1".into(), "meth2".into(), "meth3".into()])
    );
    assert_eq!(
        (d.deliveries, d.limit),
        (2, Some(DeliveryLimit::MaxDeliveries))
    );
    assert_eq!(d.ae_result, "retry");
    // A restart counts as a retry and does not reset the count: the restarted state
    // is entered with it (an ok state then resets it, as any state change does).
    assert_eq!(
        d.trace[0].requeue.as_ref().unwrap().ae_state_retries,
        Value::Integer(1)
    );
    assert!(matches!(&d.trace[1].events[0],
        TraceEvent::Enter { state, retries: 1, .. } if state == "state1"));

    let (engine, _) = retry_engine(restart_work(Some("state2")));
    let d = deliver_top(&engine, "Multi/three", options());
    assert_eq!(
        d.trace[0].requeue.as_ref().unwrap().state.as_deref(),
        Some("state2")
    );
    assert!(has_log(&d.log_messages(), "Will restart at State=[state2]"));
    assert_eq!(
        d.root_get("states_executed"),
        Value::Array(vec!["meth2".into(), "meth3".into()])
    );
}

#[test]
fn server_affinity_and_initial_state_data() {
    let (engine, _) = retry_engine(Arc::new(|rt| {
        set(rt, "ae_result", "retry");
        set(rt, "ae_retry_server_affinity", true);
        Ok(0)
    }));
    let one = || DeliverOptions {
        max_deliveries: 1,
        ..DeliverOptions::default()
    };
    let d = deliver_top(&engine, "Machine/many", one());
    assert!(d.trace[0].requeue.as_ref().unwrap().server_affinity);
    let (engine, _) = retry_engine(endless_retry(""));
    let data = Value::Hash(vec![(Value::from("old"), Value::Integer(1))]);
    let d = deliver_top(
        &engine,
        "Machine/many",
        DeliverOptions {
            state_data: Some(data.clone()),
            ..one()
        },
    );
    let requeue = d.trace[0].requeue.as_ref().unwrap();
    assert!(!requeue.server_affinity);
    assert_eq!(requeue.ae_state_data, Some(data));
}

#[test]
fn requeue_yaml_in_the_uri_resumes_a_machine() {
    // A URI carrying ae_state_data / ae_state_previous as ManageIQ's queue writes them.
    let runner = ScriptedRunner::new().on("work", |rt, _| {
        let v = rt.workspace().state_vars().get(&Value::from("old"));
        rt.workspace().root_set("old", v);
        let r = rt.workspace().root_get("ae_state_retries");
        rt.workspace().root_set("retries_seen", r);
        Ok(0)
    });
    let engine = Engine::new(sm::datastore()).with_runner(runner);
    let run = engine
        .instantiate(
            "/SM/Retry/Machine/many?ae_state_data=old%3A%201%0A&ae_state_previous=%2FSM%2FRetry%2FMachine%2Fmany%3A%0A%20%20ae_state%3A%20state1%0A%20%20ae_state_retries%3A%205%0A",
            no_attrs(),
        )
        .unwrap();
    assert_eq!(run.root_get("old"), Value::Integer(1));
    assert_eq!(run.root_get("retries_seen"), Value::Integer(5));
}
