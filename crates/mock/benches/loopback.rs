//! Requests per second against the mock on loopback (large_bundle.json, 500 children).
//!
//! `CARGO_TARGET_DIR=/work/target-mock cargo bench -p miq-automate-mock --bench loopback`
//! Each iteration sends a batch of 64 concurrent requests; criterion reports the batch
//! throughput as elements (requests) per second.

use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use miq_automate_mock::MockServer;
use miq_automate_vmdb::Scenario;

const BATCH: u64 = 64;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let path = format!(
        "{}/../../mocks/large_bundle.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let server = rt.block_on(async {
        MockServer::start(Scenario::load(&path).unwrap())
            .await
            .unwrap()
    });
    let client = reqwest::Client::new();
    let (_token, auth) = rt.block_on(async {
        let v: serde_json::Value = client
            .get(format!("{}/api/auth", server.url()))
            .basic_auth("admin", Some("smartvm"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let t = v["auth_token"].as_str().unwrap().to_owned();
        (t.clone(), Arc::new(t))
    });
    let mut group = c.benchmark_group("loopback");
    group.throughput(Throughput::Elements(BATCH));
    for (name, path) in [
        ("get_service", "/api/services/100001".to_owned()),
        ("get_entrypoint", "/api".to_owned()),
        (
            "filter_top_level",
            "/api/services?filter[]=ancestry=null&expand=resources".to_owned(),
        ),
    ] {
        let url = format!("{}{path}", server.url());
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| {
                let client = client.clone();
                let url = url.clone();
                let auth = auth.clone();
                async move {
                    let mut set = tokio::task::JoinSet::new();
                    for _ in 0..BATCH {
                        let req = client.get(&url).header("X-Auth-Token", auth.as_str());
                        set.spawn(async move { req.send().await.unwrap().status() });
                    }
                    while let Some(s) = set.join_next().await {
                        assert!(s.unwrap().is_success());
                    }
                }
            })
        });
    }
    group.finish();
    drop(server);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
