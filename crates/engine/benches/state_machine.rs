//! A 10-state machine, three hooks a state (`tests/domains/state_machines/SM/Bench/Ten`),
//! delivered in-process with a scripted (Rust) runner: the time of one `Engine::deliver`.
//! The second case retries one state three times (four deliveries on the virtual clock).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use miq_automate_core::Value;
use miq_automate_engine::{Datastore, DeliverOptions, Engine, ScriptedRunner};

fn engine(retries: i64) -> Engine {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/domains/state_machines");
    let runner = ScriptedRunner::new()
        .on("hook", |rt, m| {
            let status = m.inputs["status"].clone();
            rt.workspace().root_set("status", status);
            Ok(0)
        })
        .on("work", move |rt, _| {
            let ws = rt.workspace();
            let state = ws.root_get("ae_state").to_ruby_s();
            let tries = match ws.root_get("ae_state_retries") {
                Value::Integer(i) => i,
                Value::String(s) => s.parse().unwrap_or(0),
                _ => 0,
            };
            if state == "S5" && tries < retries {
                ws.root_set("ae_result", Value::from("retry"));
                ws.root_set("ae_retry_interval", Value::from("1.minute"));
            } else {
                ws.root_set("ae_result", Value::from("ok"));
            }
            Ok(0)
        });
    Engine::new(Datastore::load(&[dir]).expect("the SM domain loads")).with_runner(runner)
}

fn deliver(c: &mut Criterion) {
    let mut group = c.benchmark_group("state machine");
    for (name, retries, deliveries) in [
        ("deliver 10 states x 3 hooks", 0, 1),
        ("deliver 10 states x 3 hooks, 3 retries", 3, 4),
    ] {
        let e = engine(retries);
        let d = e.deliver(
            "/SM/Bench/Ten/run",
            [("vm_name", Value::from("web01"))],
            DeliverOptions::default(),
        );
        assert_eq!((d.ae_result.as_str(), d.deliveries), ("ok", deliveries));
        assert_eq!(d.root_get("status"), Value::from("left S10"));
        group.bench_function(name, |b| {
            b.iter(|| {
                e.deliver(
                    "/SM/Bench/Ten/run",
                    [("vm_name", Value::from("web01"))],
                    DeliverOptions::default(),
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, deliver);
criterion_main!(benches);
