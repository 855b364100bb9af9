//! Retiring a 500-child bundle against the mock ManageIQ with 50 ms latency per request:
//! this client versus a sequential one-request-at-a-time loop (what manageiq-api-client
//! users write), in the same run, each on a fresh mock. Prints both times, the ratio, and
//! how close the client comes to the floor (fetch round trips + ⌈N / concurrency⌉ × latency).
//! Then the same retirement with `--wait` (`--poll-interval 1`): every POST first, then
//! batched polls, against the run without it, in the same process.
//!
//! `cargo bench -p miq-automate-api --bench retire_bundle` (add `-- --latency-ms 50
//! --concurrency 50 --poll-ms 1000` to change them).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use miq_automate_api::retire::{self, RetireOptions, Target};
use miq_automate_api::{Client, ClientConfig, Credentials, Secret};
use miq_automate_mock::vmdb::Scenario;
use miq_automate_mock::MockServer;
use serde_json::Value;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn scenario(latency_ms: u64) -> Scenario {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mocks/large_bundle.json");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("mocks/large_bundle.json"))
            .expect("JSON");
    v["faults"]["latency_ms"] = Value::from(latency_ms);
    Scenario::parse(&v.to_string(), "large_bundle.json").expect("scenario")
}

/// Our client: discover, plan, execute with bounded concurrency.
async fn ours(
    server: &MockServer,
    concurrency: usize,
    options: &RetireOptions,
) -> (Duration, usize, u64) {
    let creds = Credentials::Basic {
        user: "admin".into(),
        password: Secret::new("smartvm"),
    };
    let mut config = ClientConfig::new(&server.url(), creds).expect("config");
    config.concurrency = concurrency;
    let client = Client::new(config).expect("client");
    let started = Instant::now();
    let bundles = retire::discover(&client, &Target::Service("1000".into()), false)
        .await
        .expect("discover");
    let plan = retire::plan(&bundles[0], options);
    let report = retire::execute(&client, &plan, options, &retire::NoProgress).await;
    let elapsed = started.elapsed();
    assert!(!report.has_failures(), "{:?}", report.summary);
    let acted = report.summary.requested + report.summary.retired;
    (elapsed, acted, client.requests_sent())
}

/// The baseline: log in, read the bundle's children, then one POST after the other.
async fn sequential(server: &MockServer) -> (Duration, usize) {
    let http = reqwest::Client::new();
    let base = server.url();
    let started = Instant::now();
    let auth: Value = http
        .get(format!("{base}/api/auth"))
        .basic_auth("admin", Some("smartvm"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = auth["auth_token"].as_str().unwrap().to_string();
    let bundle: Value = http
        .get(format!(
            "{base}/api/services/1000?attributes=direct_service_children"
        ))
        .header("X-Auth-Token", &token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut retired = 0;
    for child in bundle["direct_service_children"].as_array().unwrap() {
        let skip = child["retired"] == true || child["lifecycle_state"] == "error_in_provisioning";
        if skip {
            continue;
        }
        let r = http
            .post(format!(
                "{base}/api/services/{}",
                child["id"].as_str().unwrap()
            ))
            .header("X-Auth-Token", &token)
            .json(&serde_json::json!({"action": "request_retire"}))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
        retired += 1;
    }
    (started.elapsed(), retired)
}

#[tokio::main]
async fn main() {
    let latency_ms = arg("--latency-ms", 50);
    let concurrency = arg("--concurrency", 50) as usize;
    let latency = Duration::from_millis(latency_ms);

    let poll_ms = arg("--poll-ms", 1000);
    let server = MockServer::start(scenario(latency_ms)).await.expect("mock");
    let (ours_time, n, requests) = ours(&server, concurrency, &RetireOptions::default()).await;
    drop(server);

    let waiting = RetireOptions {
        wait: true,
        poll_interval: Duration::from_millis(poll_ms),
        ..RetireOptions::default()
    };
    let server = MockServer::start(scenario(latency_ms)).await.expect("mock");
    let (wait_time, wait_n, wait_requests) = ours(&server, concurrency, &waiting).await;
    drop(server);
    assert_eq!(n, wait_n, "both retire the same members");

    let server = MockServer::start(scenario(latency_ms)).await.expect("mock");
    let (seq_time, seq_n) = sequential(&server).await;
    drop(server);
    assert_eq!(n, seq_n, "both retire the same members");

    // Floor: log in, the two bundle reads in parallel, the open-request read, then the POSTs
    // in waves.
    let fetch_round_trips = 3;
    let floor = latency * (fetch_round_trips + n.div_ceil(concurrency) as u32);
    println!("retire {n} siblings, {latency_ms} ms latency per request, concurrency {concurrency}");
    println!("  sequential loop : {:>8.2?}", seq_time);
    println!(
        "  miq-automate    : {:>8.2?}  ({requests} requests)",
        ours_time
    );
    println!(
        "  floor           : {:>8.2?}  ({fetch_round_trips} fetch round trips + {} waves)",
        floor,
        n.div_ceil(concurrency)
    );
    println!(
        "  speed-up        : {:.1}x faster than sequential",
        seq_time.as_secs_f64() / ours_time.as_secs_f64()
    );
    println!(
        "  vs floor        : {:.2}x the floor",
        ours_time.as_secs_f64() / floor.as_secs_f64()
    );
    println!(
        "  with --wait     : {:>8.2?}  ({wait_requests} requests, poll interval {poll_ms} ms)",
        wait_time
    );
    println!(
        "  wait / no wait  : {:.2}x",
        wait_time.as_secs_f64() / ours_time.as_secs_f64()
    );
}
