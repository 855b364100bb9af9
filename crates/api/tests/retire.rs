//! End-to-end: the client and the bundle retirement against the mock ManageIQ, over HTTP.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use miq_automate_api::retire::{self, Action, ItemKind, Outcome, Report, RetireOptions, Target};
use miq_automate_api::{Client, ClientConfig, Credentials, ErrorKind, Query, RetryPolicy, Secret};
use miq_automate_mock::vmdb::{ManualClock, Scenario, Vmdb};
use miq_automate_mock::MockServer;
use serde_json::{json, Value};

fn mocks() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mocks")
}

fn scenario_json(faults: Option<Value>) -> Value {
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(mocks().join("failed_bundle.json")).unwrap())
            .unwrap();
    if let Some(f) = faults {
        v["faults"] = f;
    }
    v
}

fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap())
}

async fn start(v: Value, c: &ManualClock) -> MockServer {
    let scenario = Scenario::parse(&v.to_string(), "test.json").unwrap();
    MockServer::start_with(Vmdb::with_clock(scenario, Arc::new(c.clone())), 0)
        .await
        .unwrap()
}

fn fast(mut config: ClientConfig) -> ClientConfig {
    config.retry = RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        max_elapsed: Duration::from_secs(10),
    };
    config
}

fn client(server: &MockServer) -> Client {
    let creds = Credentials::Basic {
        user: "admin".into(),
        password: Secret::new("smartvm"),
    };
    Client::new(fast(ClientConfig::new(&server.url(), creds).unwrap())).unwrap()
}

fn waiting() -> RetireOptions {
    RetireOptions {
        wait: true,
        poll_interval: Duration::from_millis(1),
        timeout: Duration::from_secs(20),
        ..RetireOptions::default()
    }
}

async fn run(client: &Client, target: Target, options: &RetireOptions) -> Report {
    let bundles = retire::discover(client, &target, false).await.unwrap();
    assert_eq!(bundles.len(), 1);
    let plan = retire::plan(&bundles[0], options);
    retire::execute(client, &plan, options, &retire::NoProgress).await
}

/// Starts the mock for a scenario and retires bundle 1000's siblings with the defaults.
async fn retire_1000(scenario: Value, c: &ManualClock) -> (MockServer, Client, Report) {
    let server = start(scenario, c).await;
    let client = client(&server);
    let report = run(
        &client,
        Target::Service("1000".into()),
        &RetireOptions::default(),
    )
    .await;
    (server, client, report)
}

fn posts(server: &MockServer) -> Vec<(String, Option<Value>)> {
    server
        .journal()
        .into_iter()
        .filter(|e| e.method == "POST")
        .map(|e| (e.path, e.body))
        .collect()
}

/// `GET /api/auth` requests the server saw.
fn logins(server: &MockServer) -> usize {
    server
        .journal()
        .iter()
        .filter(|e| e.path == "/api/auth")
        .count()
}

fn outcome(report: &Report, id: &str) -> Outcome {
    report.items.iter().find(|i| i.id == id).unwrap().outcome
}

#[tokio::test]
async fn retires_provisioned_siblings_skips_the_rest() {
    let c = clock();
    let (server, _client, report) = retire_1000(scenario_json(None), &c).await;
    let lines: Vec<(&str, Action, Outcome)> = report
        .items
        .iter()
        .map(|i| (i.id.as_str(), i.action, i.outcome))
        .collect();
    assert_eq!(
        lines,
        vec![
            ("1001", Action::Retire, Outcome::Requested),
            ("1002", Action::Skip, Outcome::Skipped),
            ("1003", Action::Skip, Outcome::Skipped),
            ("1004", Action::Leave, Outcome::Left),
            ("1005", Action::Retire, Outcome::Requested),
        ]
    );
    assert!(report.items[0].request_id.is_some());
    assert_eq!(report.items[0].method.as_deref(), Some("request_retire"));
    let mut sent: Vec<String> = posts(&server).into_iter().map(|(p, _)| p).collect();
    sent.sort();
    assert_eq!(
        sent,
        vec!["/api/services/1001", "/api/services/1005"],
        "each sibling exactly once"
    );
    assert!(!report.has_failures());
    assert_eq!(report.summary.requested, 2);
}

#[tokio::test]
async fn waits_for_requests_and_reads_the_final_state() {
    let c = clock();
    let server = start(scenario_json(None), &c).await;
    let client = client(&server);
    let report = run(&client, Target::Service("1000".into()), &waiting()).await;
    for id in ["1001", "1005"] {
        let item = report.items.iter().find(|i| i.id == id).unwrap();
        assert_eq!(item.outcome, Outcome::Retired, "{item:?}");
        assert_eq!(item.retired, Some(true));
        assert_eq!(item.retirement_state.as_deref(), Some("retired"));
    }
    let vmdb = server.vmdb();
    assert!(vmdb
        .services()
        .iter()
        .filter(|s| s.id.0 == 1001 || s.id.0 == 1005)
        .all(|s| s.retired));
    assert!(
        !vmdb
            .services()
            .iter()
            .find(|s| s.id.0 == 1004)
            .unwrap()
            .retired,
        "the failed item is left alone"
    );
}

#[tokio::test]
async fn include_failed_and_retire_parent_with_the_bundle_last() {
    let c = clock();
    let server = start(scenario_json(None), &c).await;
    let client = client(&server);
    let options = RetireOptions {
        include_failed: true,
        retire_parent: true,
        ..RetireOptions::default()
    };
    let report = run(&client, Target::Service("1000".into()), &options).await;
    assert_eq!(outcome(&report, "1004"), Outcome::Requested);
    let sent: Vec<String> = posts(&server).into_iter().map(|(p, _)| p).collect();
    assert_eq!(sent.len(), 4);
    assert_eq!(
        sent.last().unwrap(),
        "/api/services/1000",
        "the bundle after its children"
    );
}

#[tokio::test]
async fn dry_run_sends_no_post() {
    let c = clock();
    let server = start(scenario_json(None), &c).await;
    let client = client(&server);
    let options = RetireOptions {
        dry_run: true,
        ..RetireOptions::default()
    };
    let report = run(&client, Target::Service("1000".into()), &options).await;
    assert!(posts(&server).is_empty());
    assert_eq!(outcome(&report, "1001"), Outcome::Planned);
    assert!(report.dry_run);
}

#[tokio::test]
async fn discovers_from_a_failed_request_and_by_scan() {
    let c = clock();
    let server = start(scenario_json(None), &c).await;
    let client = client(&server);
    let bundles = retire::discover(&client, &Target::Request("3000".into()), false)
        .await
        .unwrap();
    assert_eq!(bundles[0].id, "1000");
    assert_eq!(bundles[0].failed_id.as_deref(), Some("1004"));
    let scanned = retire::discover(&client, &Target::Scan, true)
        .await
        .unwrap();
    assert_eq!(
        scanned.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        vec!["1000"]
    );
    let web = scanned[0].members.iter().find(|m| m.id == "1001").unwrap();
    assert_eq!(
        web.vms.iter().map(|v| v.name.as_str()).collect::<Vec<_>>(),
        vec!["web-01", "web-02"]
    );
    let err = retire::discover(&client, &Target::Request("999999".into()), false)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

#[tokio::test]
async fn a_500_is_retried_once_without_a_duplicate_request() {
    let c = clock();
    let faults = json!({"rules": [{"method": "POST", "path": "/api/services/1001", "times": 1, "status": 500}]});
    let (server, _client, report) = retire_1000(scenario_json(Some(faults)), &c).await;
    assert_eq!(outcome(&report, "1001"), Outcome::Requested);
    let to_1001 = posts(&server)
        .into_iter()
        .filter(|(p, _)| p == "/api/services/1001")
        .count();
    assert_eq!(to_1001, 2, "sent again once, after reading the state");
    let retire_requests: Vec<_> = server
        .vmdb()
        .requests()
        .into_iter()
        .filter(|r| {
            r.request_type == "service_retire" && r.options.get("src_ids") == Some(&json!([1001]))
        })
        .collect();
    assert_eq!(retire_requests.len(), 1, "no duplicate retire request");
    let reads = server
        .journal()
        .into_iter()
        .filter(|e| e.method == "GET" && e.path == "/api/services/1001")
        .count();
    assert_eq!(reads, 1, "the state was read before the retry");
}

#[tokio::test]
async fn rate_limited_posts_back_off_and_succeed() {
    let c = clock();
    let faults = json!({"rules": [{"method": "POST", "path": "/api/services/1005", "times": 2, "status": 429}]});
    let (server, _client, report) = retire_1000(scenario_json(Some(faults)), &c).await;
    assert_eq!(outcome(&report, "1005"), Outcome::Requested);
    let statuses: Vec<u16> = server
        .journal()
        .into_iter()
        .filter(|e| e.path == "/api/services/1005" && e.method == "POST")
        .map(|e| e.status)
        .collect();
    assert_eq!(statuses, vec![429, 429, 200]);
}

#[tokio::test]
async fn a_missing_sibling_is_reported_and_the_rest_go_on() {
    let c = clock();
    let faults = json!({"rules": [{"method": "POST", "path": "/api/services/1005", "times": 1, "status": 404}]});
    let (_server, _client, report) = retire_1000(scenario_json(Some(faults)), &c).await;
    let item = report.items.iter().find(|i| i.id == "1005").unwrap();
    assert_eq!(item.outcome, Outcome::Failed);
    assert!(
        item.error
            .as_deref()
            .unwrap()
            .contains("not found (HTTP 404)"),
        "{:?}",
        item.error
    );
    assert_eq!(outcome(&report, "1001"), Outcome::Requested);
    assert!(report.has_failures());
    assert_eq!(report.summary.failed, 1);
}

#[tokio::test]
async fn legacy_servers_get_the_retire_action() {
    let c = clock();
    let mut v = scenario_json(None);
    v["server"]["profile"] = json!("legacy");
    let server = start(v, &c).await;
    let client = client(&server);
    let report = run(&client, Target::Service("1000".into()), &waiting()).await;
    let item = report.items.iter().find(|i| i.id == "1001").unwrap();
    assert_eq!(item.method.as_deref(), Some("retire"));
    assert_eq!(item.outcome, Outcome::Retired, "{item:?}");
    assert!(
        posts(&server)
            .iter()
            .all(|(_, b)| b.as_ref().unwrap()["action"] == "retire"),
        "actions list tells us up front"
    );
}

#[tokio::test]
async fn falls_back_when_request_retire_is_refused() {
    let c = clock();
    let mut v = scenario_json(None);
    v["server"]["profile"] = json!("legacy");
    let server = start(v, &c).await;
    let client = client(&server);
    let bundles = retire::discover(&client, &Target::Service("1000".into()), false)
        .await
        .unwrap();
    let mut plan = retire::plan(&bundles[0], &RetireOptions::default());
    plan.supports_request_retire = None; // as when the server lists no actions
    let report = retire::execute(
        &client,
        &plan,
        &RetireOptions::default(),
        &retire::NoProgress,
    )
    .await;
    assert_eq!(report.items[0].method.as_deref(), Some("retire"));
    let bodies: Vec<String> = posts(&server)
        .into_iter()
        .filter(|(p, _)| p == "/api/services/1001")
        .map(|(_, b)| b.unwrap()["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(bodies, vec!["request_retire", "retire"]);
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_with_basic_credentials() {
    let c = clock();
    let server = start(scenario_json(None), &c).await;
    let client = client(&server);
    client.get("services/1000", &Query::new()).await.unwrap();
    c.advance(chrono::Duration::hours(2)); // past the token's TTL
    client.get("services/1000", &Query::new()).await.unwrap();
    assert_eq!(logins(&server), 2, "logged in again once");
}

#[tokio::test]
async fn a_bad_token_is_an_auth_error_with_the_token_redacted() {
    let c = clock();
    let server = start(scenario_json(None), &c).await;
    let token = "deadbeefdeadbeefdeadbeef";
    let config = ClientConfig::new(&server.url(), Credentials::Token(Secret::new(token))).unwrap();
    let client = Client::new(fast(config)).unwrap();
    let err = client
        .get("services/1000", &Query::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth);
    assert_eq!(err.status, Some(401));
    assert!(!err.to_string().contains(token), "{err}");
    assert!(!format!("{err:?}").contains(token));
}

#[tokio::test]
async fn wrong_password_is_an_auth_error_without_the_password() {
    let c = clock();
    let server = start(scenario_json(None), &c).await;
    let creds = Credentials::Basic {
        user: "admin".into(),
        password: Secret::new("not-the-password"),
    };
    let client = Client::new(fast(ClientConfig::new(&server.url(), creds).unwrap())).unwrap();
    let err = client.get("services", &Query::new()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Auth);
    assert!(!err.to_string().contains("not-the-password"));
}

#[tokio::test]
async fn server_errors_are_retried_for_reads_and_html_pages_summarised() {
    let c = clock();
    let faults = json!({"rules": [{"method": "GET", "path": "/api/services/:id", "times": 2, "status": 503}]});
    let server = start(scenario_json(Some(faults)), &c).await;
    let client = client(&server);
    let v = client.get("services/1000", &Query::new()).await.unwrap();
    assert_eq!(v["name"], "Three-tier bundle");

    let faults = json!({"rules": [{"method": "GET", "path": "/api/services/:id", "times": 10, "status": 503}]});
    let server = start(scenario_json(Some(faults)), &c).await;
    let err = client_for(&server)
        .get("services/1000", &Query::new())
        .await
        .unwrap_err();
    assert_eq!((err.kind, err.status), (ErrorKind::Server, Some(503)));
    assert!(
        err.message.starts_with("HTML error page"),
        "{}",
        err.message
    );
}

fn client_for(server: &MockServer) -> Client {
    client(server)
}

#[tokio::test]
async fn paging_follows_subcount_and_errors_carry_the_envelope() {
    let c = clock();
    let server = start(scenario_json(None), &c).await;
    let client = client(&server);
    let all = client
        .get_all("services", &Query::new().expand_resources().page(0, 2))
        .await
        .unwrap();
    assert_eq!(all.len(), 7);
    let err = client.get("services/999", &Query::new()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.klass.as_deref(), Some("ActiveRecord::RecordNotFound"));
    assert_eq!(err.api_kind.as_deref(), Some("not_found"));
}

#[tokio::test]
async fn a_request_budget_stops_the_client() {
    let c = clock();
    let server = start(scenario_json(None), &c).await;
    let creds = Credentials::Basic {
        user: "admin".into(),
        password: Secret::new("smartvm"),
    };
    let mut config = fast(ClientConfig::new(&server.url(), creds).unwrap());
    config.max_requests = Some(2);
    let client = Client::new(config).unwrap();
    client.get("services/1000", &Query::new()).await.unwrap(); // auth + get
    let err = client
        .get("services/1000", &Query::new())
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Budget);
    assert_eq!(client.requests_sent(), 3);
}

#[tokio::test]
async fn the_json_report_lists_every_item() {
    let c = clock();
    let (_server, _client, report) = retire_1000(scenario_json(None), &c).await;
    let v = serde_json::to_value(&report).unwrap();
    assert_eq!(v["bundle_id"], "1000");
    assert_eq!(v["failed_items"], json!(["1004"]));
    assert_eq!(v["items"].as_array().unwrap().len(), 5);
    let first = &v["items"][0];
    assert_eq!(first["kind"], "service");
    assert_eq!(first["action"], "retire");
    assert_eq!(first["outcome"], "requested");
    assert!(first["request_id"].is_string());
    assert_eq!(v["items"][1]["outcome"], "skipped");
    assert_eq!(v["summary"]["skipped"], 2);
    assert_eq!(
        v["items"][0]["kind"],
        serde_json::to_value(ItemKind::Service).unwrap()
    );
}

#[tokio::test]
async fn typed_resources_and_collections() {
    let c = clock();
    let server = start(scenario_json(None), &c).await;
    let client = client(&server);
    let bundle = client.service("1000").await.unwrap();
    assert_eq!(bundle.name.as_deref(), Some("Three-tier bundle"));
    assert_eq!(
        bundle.lifecycle_state.as_deref(),
        Some("error_in_provisioning")
    );
    assert!(bundle.actions.iter().any(|a| a.name == "request_retire"));
    let children = client
        .services(&Query::new().filter("ancestry='1000'"))
        .await
        .unwrap();
    assert_eq!(
        children
            .resources
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        vec!["1001", "1002", "1003", "1004", "1005"]
    );
    assert_eq!(children.count, Some(7));
    let vm = client.vm("2001").await.unwrap();
    assert_eq!(vm.name.as_deref(), Some("web-01"));
    let tasks: miq_automate_api::Collection<miq_automate_api::RequestTask> = client
        .collection("service_requests/3000/request_tasks", &Query::new())
        .await
        .unwrap();
    let failed = tasks
        .resources
        .iter()
        .find(|t| t.status.as_deref() == Some("Error") && t.miq_request_task_id.is_some())
        .unwrap();
    assert_eq!(failed.destination_id.as_deref(), Some("1004"));
    let err = client.service("999").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
}

// ---- Reruns, lost replies, outages and --wait at scale (each sibling asked exactly once) ----

fn large_json(faults: Option<Value>) -> Value {
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(mocks().join("large_bundle.json")).unwrap())
            .unwrap();
    if let Some(f) = faults {
        v["faults"] = f;
    }
    v
}

/// Retire requests per service, read back from the server.
async fn requests_per_service(client: &Client) -> std::collections::HashMap<String, usize> {
    let all = client
        .get_all("requests", &Query::new().expand_resources())
        .await
        .unwrap();
    let mut per = std::collections::HashMap::new();
    for r in all.iter().filter(|r| r["request_type"] == "service_retire") {
        for id in r["options"]["src_ids"].as_array().unwrap() {
            *per.entry(id.to_string().trim_matches('"').to_string())
                .or_insert(0) += 1;
        }
    }
    per
}

fn retire_posts(server: &MockServer) -> usize {
    posts(server)
        .iter()
        .filter(|(_, body)| {
            body.as_ref()
                .is_some_and(|b| b["action"] == "request_retire" || b["action"] == "retire")
        })
        .count()
}

#[tokio::test]
async fn a_rerun_without_wait_sends_no_second_request() {
    for (scenario, bundle, expected) in [
        (scenario_json(None), "1000", 2),
        (large_json(None), "1000", 450),
    ] {
        let c = clock();
        let server = start(scenario, &c).await;
        let client = client(&server);
        let first = run(
            &client,
            Target::Service(bundle.into()),
            &RetireOptions::default(),
        )
        .await;
        assert_eq!(first.summary.requested, expected);
        assert_eq!(retire_posts(&server), expected);
        for _ in 0..2 {
            let again = run(
                &client,
                Target::Service(bundle.into()),
                &RetireOptions::default(),
            )
            .await;
            assert_eq!(again.summary.requested, 0, "{:?}", again.summary);
            assert_eq!(again.summary.skipped, first.summary.skipped + expected);
            let open = again
                .items
                .iter()
                .find(|i| i.reason.starts_with("retire request "))
                .expect("skipped for its open request");
            assert!(open.reason.ends_with(" already open"), "{}", open.reason);
            assert!(open.request_id.is_some());
        }
        assert_eq!(retire_posts(&server), expected, "no POST on a rerun");
        let per = requests_per_service(&client).await;
        assert_eq!(per.len(), expected);
        assert!(per.values().all(|n| *n == 1), "{per:?}");
    }
}

#[tokio::test]
async fn reruns_after_wait_and_over_a_scan_send_nothing_twice() {
    let c = clock();
    let server = start(scenario_json(None), &c).await;
    let client = client(&server);
    let first = run(&client, Target::Service("1000".into()), &waiting()).await;
    assert_eq!(first.summary.retired, 2, "{:?}", first.summary);
    let again = run(&client, Target::Service("1000".into()), &waiting()).await;
    assert_eq!(again.summary.retired + again.summary.requested, 0);
    let scan = retire::discover(&client, &Target::Scan, false)
        .await
        .unwrap();
    let plans: Vec<_> = scan
        .iter()
        .map(|b| retire::plan(b, &RetireOptions::default()))
        .collect();
    let reports = retire::execute_all(
        &client,
        &plans,
        &RetireOptions::default(),
        &retire::NoProgress,
    )
    .await;
    assert!(reports.iter().all(|r| r.summary.requested == 0));
    assert_eq!(retire_posts(&server), 2);
}

#[tokio::test]
async fn a_scan_over_several_bundles_reads_open_requests_once() {
    let c = clock();
    let server = start(large_json(None), &c).await;
    let client = client(&server);
    server.clear_journal();
    let bundles = retire::discover(&client, &Target::Scan, false)
        .await
        .unwrap();
    assert!(!bundles.is_empty());
    let reads: Vec<String> = server
        .journal()
        .into_iter()
        .filter(|e| e.method == "GET" && e.path == "/api/requests")
        .map(|e| e.path)
        .collect();
    assert_eq!(
        reads.len(),
        1,
        "one collection read for every member of every bundle"
    );
}

#[tokio::test]
async fn two_runs_at_once_each_report_truly_and_a_third_sends_nothing() {
    let c = clock();
    let faults = json!({"latency_ms": 5});
    let server = start(scenario_json(Some(faults)), &c).await;
    let (a, b) = (client(&server), client(&server));
    let options = RetireOptions::default();
    let (ra, rb) = tokio::join!(
        run(&a, Target::Service("1000".into()), &options),
        run(&b, Target::Service("1000".into()), &options)
    );
    for r in [&ra, &rb] {
        assert!(!r.has_failures(), "{:?}", r.items);
    }
    // Each sibling was asked by one run or (in the window before the other's POST) by both.
    let per = requests_per_service(&a).await;
    assert_eq!(per.len(), 2);
    assert!(per.values().all(|n| (1..=2).contains(n)));
    let before = retire_posts(&server);
    let third = run(&a, Target::Service("1000".into()), &options).await;
    assert_eq!(third.summary.requested, 0);
    assert_eq!(retire_posts(&server), before);
}

#[tokio::test]
async fn lost_replies_are_reported_requested_and_never_resent() {
    let c = clock();
    let faults = json!({"rules": [
        {"method": "POST", "path": "/api/services/:id", "times": 25, "status": 504, "after_action": true}
    ]});
    let (server, client, report) = retire_1000(large_json(Some(faults)), &c).await;
    assert!(!report.has_failures(), "{:?}", report.summary);
    assert_eq!(report.summary.requested, 450);
    let lost: Vec<_> = report.items.iter().filter(|i| i.reply_lost).collect();
    assert_eq!(lost.len(), 25);
    assert!(lost
        .iter()
        .all(|i| i.outcome == Outcome::Requested && i.request_id.is_some()));
    assert_eq!(retire_posts(&server), 450, "no duplicate POST");
    let per = requests_per_service(&client).await;
    assert!(per.values().all(|n| *n == 1));
}

#[tokio::test]
async fn an_outage_of_503s_and_429s_is_ridden_out() {
    let c = clock();
    let faults = json!({"rules": [
        {"method": "POST", "path": "/api/services/:id", "times": 12, "status": 503},
        {"method": "POST", "path": "/api/services/:id", "times": 6, "status": 429}
    ]});
    let (_server, client, report) = retire_1000(large_json(Some(faults)), &c).await;
    assert!(
        !report.has_failures(),
        "{:?}",
        report
            .items
            .iter()
            .filter(|i| i.error.is_some())
            .collect::<Vec<_>>()
    );
    assert_eq!(report.summary.requested, 450);
    let per = requests_per_service(&client).await;
    assert_eq!(per.len(), 450);
    assert!(per.values().all(|n| *n == 1));
}

#[tokio::test]
async fn retry_after_is_honoured_on_503_and_429() {
    let c = clock();
    for status in [503, 429] {
        let faults = json!({"rules": [
            {"method": "POST", "path": "/api/services/1001", "times": 1, "status": status, "retry_after": 1}
        ]});
        let server = start(scenario_json(Some(faults)), &c).await;
        let client = client(&server);
        let started = std::time::Instant::now();
        let report = run(
            &client,
            Target::Service("1000".into()),
            &RetireOptions::default(),
        )
        .await;
        assert_eq!(outcome(&report, "1001"), Outcome::Requested, "{status}");
        // The fast test policy backs off for milliseconds: only Retry-After explains a second.
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "{status}: {:?}",
            started.elapsed()
        );
        assert_eq!(retire_posts(&server), 3);
    }
}

#[tokio::test]
async fn when_the_budget_is_spent_the_report_tells_lost_from_failed() {
    let c = clock();
    let faults = json!({"rules": [
        {"method": "POST", "path": "/api/services/1001", "status": 503},
        {"method": "POST", "path": "/api/services/1005", "status": 504, "after_action": true}
    ]});
    let server = start(scenario_json(Some(faults)), &c).await;
    let client = client(&server);
    let options = RetireOptions {
        post_budget: Duration::from_millis(300),
        ..RetireOptions::default()
    };
    let report = run(&client, Target::Service("1000".into()), &options).await;
    let failed = report.items.iter().find(|i| i.id == "1001").unwrap();
    assert_eq!(failed.outcome, Outcome::Failed);
    let error = failed.error.as_deref().unwrap();
    assert!(error.contains("not acted on after"), "{error}");
    let lost = report.items.iter().find(|i| i.id == "1005").unwrap();
    assert_eq!((lost.outcome, lost.reply_lost), (Outcome::Requested, true));
    assert!(lost.request_id.is_some());
    assert!(
        posts(&server)
            .iter()
            .filter(|(p, _)| p == "/api/services/1001")
            .count()
            > 1
    );
    assert_eq!(
        posts(&server)
            .iter()
            .filter(|(p, _)| p == "/api/services/1005")
            .count(),
        1
    );
}

#[tokio::test]
async fn wait_sends_every_post_first_then_polls_in_batches() {
    let c = clock();
    // 450 siblings behind 20 ms of latency a request, as over a real network.
    let server = start(large_json(Some(json!({"latency_ms": 20}))), &c).await;
    let client = client(&server);
    server.clear_journal();
    let report = run(&client, Target::Service("1000".into()), &waiting()).await;
    assert_eq!(report.summary.retired, 450, "{:?}", report.summary);
    let journal = server.journal();
    let last_post = journal.iter().rposition(|e| e.method == "POST").unwrap();
    let first_poll = journal
        .iter()
        .position(|e| {
            e.method == "GET"
                && e.query
                    .as_deref()
                    .is_some_and(|q| q.contains("id%3D%5B") || q.contains("id=["))
        })
        .unwrap();
    assert!(last_post < first_poll, "every POST before the first poll");
    let per_id_polls = journal
        .iter()
        .filter(|e| e.method == "GET" && e.path.starts_with("/api/requests/"))
        .count();
    assert_eq!(per_id_polls, 0, "no GET per request");
    let polls = journal
        .iter()
        .filter(|e| e.method == "GET" && e.path == "/api/requests")
        .count();
    // 450 requests in batches of 100: 5 reads a round, 2 rounds, plus the open-request read.
    assert!(polls <= 12, "{polls} collection reads");
}

#[tokio::test]
async fn the_timeout_is_one_deadline_for_the_whole_run() {
    let c = clock();
    // Requests never finish: polls fail with 503 after the POSTs.
    let faults = json!({"rules": [{"method": "GET", "path": "/api/requests", "status": 503}]});
    let server = start(large_json(Some(faults)), &c).await;
    let client = client(&server);
    let options = RetireOptions {
        wait: true,
        poll_interval: Duration::from_millis(20),
        timeout: Duration::from_millis(1500),
        ..RetireOptions::default()
    };
    let started = std::time::Instant::now();
    let bundles = retire::discover(&client, &Target::Service("1000".into()), false).await;
    // The discovery's read of open requests fails too: plan without it.
    assert!(bundles.is_err());
    let b = retire::bundle(&client, "1000", None, false).await.unwrap();
    let plan = retire::plan(&b, &options);
    let report = retire::execute(&client, &plan, &options, &retire::NoProgress).await;
    assert_eq!(report.summary.timed_out, 450, "{:?}", report.summary);
    let e = report.items.iter().find_map(|i| i.error.clone()).unwrap();
    assert!(e.contains("last polling error"), "{e}");
    // Per member, 450 deadlines of 1.5 s would take minutes; one deadline takes seconds.
    assert!(started.elapsed() < Duration::from_secs(30));
}

// ---- Bad input: ids, healthy services, the login ----

#[tokio::test]
async fn a_healthy_bundle_is_refused_unless_all_members_is_asked() {
    let c = clock();
    let server = start(scenario_json(None), &c).await;
    let client = client(&server);
    for id in ["1100", "1001"] {
        let err = retire::retire_bundles(
            &client,
            &Target::Service(id.into()),
            None,
            false,
            &RetireOptions::default(),
            &retire::NoProgress,
        )
        .await
        .unwrap_err();
        assert!(
            err.message
                .contains(&format!("nothing in bundle {id} failed; use --all-members")),
            "{err}"
        );
    }
    assert_eq!(retire_posts(&server), 0);
    let options = RetireOptions {
        all_members: true,
        ..RetireOptions::default()
    };
    let reports = retire::retire_bundles(
        &client,
        &Target::Service("1100".into()),
        None,
        false,
        &options,
        &retire::NoProgress,
    )
    .await
    .unwrap();
    assert!(reports[0]
        .items
        .iter()
        .all(|i| i.reason.contains("--all-members")));
}

#[tokio::test]
async fn the_login_is_retried_like_any_read() {
    let c = clock();
    for status in [503, 429] {
        let faults = json!({"rules": [{"method": "GET", "path": "/api/auth", "times": 1, "status": status}]});
        let (server, _client, report) = retire_1000(scenario_json(Some(faults)), &c).await;
        assert_eq!(report.summary.requested, 2, "{status}");
        assert_eq!(logins(&server), 2, "{status}: one refused, one that worked");
    }
}

#[tokio::test]
async fn a_refused_connection_at_login_is_retried() {
    // A port that nobody listens on yet; the mock starts on it while the client backs off.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let creds = Credentials::Basic {
        user: "admin".into(),
        password: Secret::new("smartvm"),
    };
    let mut config = ClientConfig::new(&format!("http://127.0.0.1:{port}"), creds).unwrap();
    config.retry = RetryPolicy {
        max_attempts: 20,
        base_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(100),
        max_elapsed: Duration::from_secs(20),
    };
    let client = Client::new(config).unwrap();
    let login = tokio::spawn(async move { client.authenticate().await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let scenario = Scenario::parse(&scenario_json(None).to_string(), "t.json").unwrap();
    let _server = MockServer::start_with(Vmdb::with_clock(scenario, Arc::new(clock())), port)
        .await
        .unwrap();
    login
        .await
        .unwrap()
        .expect("logged in once the server came up");
}

#[test]
fn ids_from_users_are_checked_before_any_request() {
    for bad in ["1000/../1100", "", "abc", "0"] {
        assert!(retire::check_id(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn a_server_that_refuses_id_lists_is_polled_one_by_one() {
    let c = clock();
    // The first batched poll is refused as a bad request (an older filter parser).
    let faults =
        json!({"rules": [{"method": "GET", "path": "/api/requests", "times": 1, "status": 400}]});
    let server = start(scenario_json(Some(faults)), &c).await;
    let client = client(&server);
    // Planned without the discovery's own read of /api/requests, which the fault would refuse.
    let bundle = retire::bundle(&client, "1000", None, false).await.unwrap();
    let plan = retire::plan(&bundle, &waiting());
    let report = retire::execute(&client, &plan, &waiting(), &retire::NoProgress).await;
    assert_eq!(report.summary.retired, 2, "{:?}", report.items);
    let per_id = server
        .journal()
        .iter()
        .filter(|e| e.method == "GET" && e.path.starts_with("/api/requests/"))
        .count();
    assert!(
        per_id >= 2,
        "one GET per request after the refusal: {per_id}"
    );
}
