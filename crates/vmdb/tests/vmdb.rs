//! The mock VMDB: shipped scenarios, validation errors, relations and retirement transitions.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use miq_automate_vmdb::{generate, Id, ManualClock, Scenario, Vmdb, VmdbError};

fn mocks() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mocks")
}

fn failed_bundle(clock: &ManualClock) -> Arc<Vmdb> {
    let s = Scenario::load(mocks().join("failed_bundle.json")).unwrap();
    Vmdb::with_clock(s, Arc::new(clock.clone()))
}

fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap())
}

#[test]
fn every_shipped_scenario_loads_and_has_the_default_admin() {
    let mut n = 0;
    for entry in std::fs::read_dir(mocks()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let s = Scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
            let db = Vmdb::new(s);
            assert!(
                db.authenticate("admin", "smartvm").is_some(),
                "{} lacks admin/smartvm",
                path.display()
            );
            n += 1;
        }
    }
    assert!(
        n >= 3,
        "expected at least three shipped scenarios, found {n}"
    );
}

#[test]
fn generator_output_equals_the_committed_large_bundle() {
    let committed = std::fs::read_to_string(mocks().join("large_bundle.json")).unwrap();
    assert_eq!(
        generate::to_json(&generate::large_bundle(500)),
        committed,
        "mocks/large_bundle.json is stale: run `miq-automate mock-server generate --children 500 > mocks/large_bundle.json`"
    );
    let db = Vmdb::new(Scenario::parse(&committed, "large_bundle.json").unwrap());
    assert_eq!(db.service_children(Id(1000)).unwrap().len(), 500);
}

fn parse_err(text: &str) -> String {
    Scenario::parse(text, "bad.json").unwrap_err().to_string()
}

#[test]
fn unknown_fields_are_rejected_with_file_and_json_path() {
    let e = parse_err(
        r#"{"services": [{"id": "1", "name": "a"}, {"id": "2", "name": "b", "colour": "red"}]}"#,
    );
    assert!(e.contains("bad.json"), "{e}");
    assert!(e.contains("services[1]"), "{e}");
    assert!(e.contains("colour"), "{e}");
    let e = parse_err(r#"{"servces": []}"#);
    assert!(e.contains("servces"), "{e}");
}

#[test]
fn wrong_types_and_bad_json_name_the_place() {
    let e = parse_err(r#"{"vms": [{"id": "x1", "name": "a"}]}"#);
    assert!(e.contains("vms[0].id") && e.contains("x1"), "{e}");
    let e = parse_err(r#"{"services": [{"id": "1", "name": "a", "retired": "yes"}]}"#);
    assert!(e.contains("services[0].retired"), "{e}");
    let e = parse_err(r#"{"services": [ "#);
    assert!(e.contains("bad.json"), "{e}");
}

#[test]
fn dangling_references_and_duplicates_are_rejected() {
    let e = parse_err(r#"{"services": [{"id": "1", "name": "a", "parent_id": "9"}]}"#);
    assert!(
        e.contains("services[0].parent_id") && e.contains("no service with id 9"),
        "{e}"
    );
    let e = parse_err(r#"{"vms": [{"id": "1", "name": "a", "service_id": "3"}]}"#);
    assert!(e.contains("vms[0].service_id"), "{e}");
    let e = parse_err(r#"{"services": [{"id": "1", "name": "a"}, {"id": "1", "name": "b"}]}"#);
    assert!(
        e.contains("services[1].id") && e.contains("duplicate"),
        "{e}"
    );
    let e = parse_err(
        r#"{"services": [{"id": "1", "name": "a", "parent_id": "2"}, {"id": "2", "name": "b", "parent_id": "1"}]}"#,
    );
    assert!(e.contains("own ancestor"), "{e}");
    let e = parse_err(r#"{"request_tasks": [{"id": "1", "request_id": "5", "type": "T"}]}"#);
    assert!(e.contains("request_tasks[0].request_id"), "{e}");
    let e = parse_err(r#"{"faults": {"rules": [{"path": "api/x", "status": 500}]}}"#);
    assert!(e.contains("faults.rules[0].path"), "{e}");
    let e = parse_err(r#"{"faults": {"rules": [{"path": "/api", "status": 200}]}}"#);
    assert!(e.contains("faults.rules[0].status"), "{e}");
}

#[test]
fn errors_never_echo_passwords() {
    let e = parse_err(
        r#"{"users": [{"id": "1", "userid": "admin", "password": "s3cret-pw", "groups": ["7"]}]}"#,
    );
    assert!(e.contains("users[0].groups[0]"), "{e}");
    assert!(!e.contains("s3cret-pw"), "{e}");
    let s = Scenario::load(mocks().join("failed_bundle.json")).unwrap();
    assert!(!format!("{:?}", s.users).contains("smartvm"));
}

#[test]
fn missing_file_error_names_the_file() {
    let e = Scenario::load("/nonexistent/scenario.json").unwrap_err();
    assert!(matches!(e, VmdbError::Read { .. }));
    assert!(e.to_string().contains("/nonexistent/scenario.json"));
}

#[test]
fn relations_follow_the_tree() {
    let db = failed_bundle(&clock());
    let kids: Vec<u64> = db
        .service_children(Id(1000))
        .unwrap()
        .iter()
        .map(|s| s.id.0)
        .collect();
    assert_eq!(kids, vec![1001, 1002, 1003, 1004, 1005]);
    assert_eq!(
        db.service_ancestry(Id(1001)).unwrap().as_deref(),
        Some("1000")
    );
    assert_eq!(db.service_ancestry(Id(1000)).unwrap(), None);
    assert_eq!(db.service_vms(Id(1000), false).unwrap().len(), 0);
    assert_eq!(db.service_vms(Id(1000), true).unwrap().len(), 5);
    assert_eq!(db.service_parent(Id(1004)).unwrap().unwrap().id, Id(1000));
    assert_eq!(db.request_tasks(Id(3000)).unwrap().len(), 6);
    assert!(matches!(
        db.service(Id(9)),
        Err(VmdbError::NotFound {
            model: "Service",
            ..
        })
    ));
}

#[test]
fn request_retire_advances_by_polling_and_retires_the_service_and_its_vms() {
    let db = failed_bundle(&clock());
    let r = db.request_retire_service(Id(1001), "admin").unwrap();
    assert_eq!(r.kind, "ServiceRetireRequest");
    assert_eq!(r.request_type, "service_retire");
    assert_eq!(
        (r.request_state.as_str(), r.approval_state.as_str()),
        ("pending", "pending_approval")
    );
    assert_eq!(r.options["src_ids"], serde_json::json!([1001]));
    assert_eq!(
        db.request(r.id).unwrap().request_state,
        "pending",
        "a plain read does not advance"
    );
    let active = db.poll_request(r.id).unwrap();
    assert_eq!(active.request_state, "active");
    assert_eq!(
        db.service(Id(1001)).unwrap().retirement_state.as_deref(),
        Some("retiring")
    );
    let done = db.poll_request(r.id).unwrap();
    assert_eq!(
        (done.request_state.as_str(), done.status.as_str()),
        ("finished", "Ok")
    );
    let s = db.service(Id(1001)).unwrap();
    assert!(s.retired);
    assert_eq!(s.retirement_state.as_deref(), Some("retired"));
    assert!(db
        .service_vms(Id(1001), false)
        .unwrap()
        .iter()
        .all(|v| v.retired));
    assert_eq!(
        db.poll_request(r.id).unwrap().request_state,
        "finished",
        "finished stays finished"
    );
}

#[test]
fn request_retire_on_a_retired_service_fails_later_not_now() {
    let db = failed_bundle(&clock());
    let r = db.request_retire_service(Id(1002), "admin").unwrap();
    assert_eq!(r.status, "Ok");
    db.poll_request(r.id).unwrap();
    let done = db.poll_request(r.id).unwrap();
    assert_eq!(done.request_state, "finished");
    assert_eq!(done.status, "Error");
    assert_eq!(done.message.as_deref(), Some("Service already retired"));
}

#[test]
fn retirement_also_advances_as_time_passes() {
    let c = clock();
    let db = failed_bundle(&c);
    let r = db.request_retire_service(Id(1005), "admin").unwrap();
    c.advance(Duration::seconds(5));
    assert_eq!(db.request(r.id).unwrap().request_state, "active");
    c.advance(Duration::seconds(5));
    assert_eq!(db.request(r.id).unwrap().request_state, "finished");
    assert!(db.service(Id(1005)).unwrap().retired);
}

#[test]
fn retiring_the_failed_bundle_skips_children_in_error_in_provisioning() {
    let db = failed_bundle(&clock());
    let r = db.request_retire_service(Id(1000), "admin").unwrap();
    db.poll_request(r.id).unwrap();
    db.poll_request(r.id).unwrap();
    assert!(db.service(Id(1000)).unwrap().retired);
    assert!(
        db.service(Id(1001)).unwrap().retired,
        "provisioned child retired"
    );
    assert!(
        !db.service(Id(1004)).unwrap().retired,
        "error_in_provisioning child skipped"
    );
}

#[test]
fn retire_now_is_a_noop_on_retired_or_retiring_services() {
    let db = failed_bundle(&clock());
    let before = db.requests().len();
    assert!(db.retire_service_now(Id(1002), "admin").unwrap().retired);
    assert_eq!(
        db.retire_service_now(Id(1003), "admin")
            .unwrap()
            .retirement_state
            .as_deref(),
        Some("retiring")
    );
    assert_eq!(db.requests().len(), before);
    let s = db.retire_service_now(Id(1001), "admin").unwrap();
    assert_eq!(s.retirement_state.as_deref(), Some("initializing"));
    assert_eq!(db.requests().len(), before + 1);
    assert!(
        db.finish_service_retirement(Id(1002)).is_err(),
        "finish_retirement raises when retired"
    );
}

#[test]
fn vm_request_retire_creates_a_task_queued_active_finished() {
    let db = failed_bundle(&clock());
    let t = db.request_retire_vm(Id(2001), "admin").unwrap();
    assert_eq!(t.state, "Queued");
    assert_eq!(t.name, "Retiring immediately Vm id: 2001 name: 'web-01'");
    assert_eq!(db.poll_task(t.id).unwrap().state, "Active");
    let done = db.poll_task(t.id).unwrap();
    assert_eq!(
        (done.state.as_str(), done.status.as_str()),
        ("Finished", "Ok")
    );
    let vm = db.vm(Id(2001)).unwrap();
    assert!(vm.retired);
    assert_eq!(vm.power_state, "off");
}

#[test]
fn concurrent_retirements_from_many_threads_are_consistent() {
    let db = Vmdb::new(generate::large_bundle(100));
    let handles: Vec<_> = (1..=100u64)
        .map(|i| {
            let db = db.clone();
            std::thread::spawn(move || {
                let r = db.request_retire_service(Id(100_000 + i), "admin").unwrap();
                db.poll_request(r.id).unwrap();
                db.poll_request(r.id).unwrap()
            })
        })
        .collect();
    let mut ids = std::collections::HashSet::new();
    for h in handles {
        let r = h.join().unwrap();
        assert_eq!(r.request_state, "finished");
        assert!(ids.insert(r.id), "request ids are unique");
    }
    assert_eq!(ids.len(), 100);
}
