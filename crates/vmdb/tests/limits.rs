//! Scenario limits: value ranges, the document's shape and size, unreadable files, and date
//! and id arithmetic that cannot panic whatever the values.

use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, TimeZone, Utc};
use miq_automate_vmdb::scenario::{FaultRule, RateLimit, MAX_SCENARIO_BYTES};
use miq_automate_vmdb::{Id, ManualClock, Scenario, Vmdb};

fn parse_err(text: &str) -> String {
    Scenario::parse(text, "bad.json").unwrap_err().to_string()
}

/// The error names the file, the field and the limit.
fn rejects(text: &str, field: &str, limit: &str) {
    let e = parse_err(text);
    assert!(e.contains("bad.json"), "{text}: {e}");
    assert!(e.contains(field), "{text}: want {field}: {e}");
    assert!(e.contains(limit), "{text}: want {limit}: {e}");
}

#[test]
fn settings_out_of_range_are_rejected_naming_field_and_limit() {
    rejects(
        r#"{"settings": {"token_ttl_seconds": 10000000000000}}"#,
        "settings.token_ttl_seconds",
        "315360000 (10 years)",
    );
    rejects(
        r#"{"settings": {"token_ttl_seconds": 0}}"#,
        "settings.token_ttl_seconds",
        "at least 1",
    );
    rejects(
        r#"{"settings": {"retirement_step_seconds": 9223372036854775807}}"#,
        "settings.retirement_step_seconds",
        "315360000 (10 years)",
    );
    rejects(
        r#"{"settings": {"retirement_step_seconds": -1}}"#,
        "settings.retirement_step_seconds",
        "at least 1",
    );
    // The largest accepted values load, and a login with them cannot overflow a date.
    let s = Scenario::parse(
        r#"{"settings": {"token_ttl_seconds": 315360000, "retirement_step_seconds": 315360000}}"#,
        "ok.json",
    )
    .unwrap();
    assert_eq!(s.settings.token_ttl_seconds, 315_360_000);
}

#[test]
fn faults_out_of_range_are_rejected_naming_field_and_limit() {
    rejects(
        r#"{"faults": {"latency_ms": 9223372036854775808}}"#,
        "faults.latency_ms",
        "600000 (10 minutes)",
    );
    rejects(
        r#"{"faults": {"rules": [{"path": "/api/**"}, {"path": "/api/**", "latency_ms": 600001}]}}"#,
        "faults.rules[1].latency_ms",
        "600000 (10 minutes)",
    );
    rejects(
        r#"{"faults": {"rules": [{"path": "/api", "status": 503, "retry_after": 86401}]}}"#,
        "faults.rules[0].retry_after",
        "86400 (1 day)",
    );
    rejects(
        r#"{"faults": {"rate_limit": {"requests": 1, "window_seconds": 315360001}}}"#,
        "faults.rate_limit.window_seconds",
        "315360000 (10 years)",
    );
    rejects(
        r#"{"faults": {"rate_limit": {"requests": 1, "window_seconds": 0}}}"#,
        "faults.rate_limit.window_seconds",
        "at least 1",
    );
    rejects(
        r#"{"faults": {"rate_limit": {"requests": 0, "window_seconds": 5}}}"#,
        "faults.rate_limit.requests",
        "at least 1",
    );
    rejects(
        r#"{"faults": {"rate_limit": {"requests": 5, "window_seconds": 5, "retry_after": 86401}}}"#,
        "faults.rate_limit.retry_after",
        "86400 (1 day)",
    );
    Scenario::parse(
        r#"{"faults": {"latency_ms": 600000, "rules": [{"path": "/api", "latency_ms": 600000, "status": 503, "retry_after": 86400}],
            "rate_limit": {"requests": 4294967295, "window_seconds": 315360000, "retry_after": 0}}}"#,
        "ok.json",
    )
    .unwrap();
}

#[test]
fn a_scenario_must_be_a_json_object_and_so_must_its_records() {
    for text in ["[]", "[600, 5]", "\"x\"", "1", "null", "  \n[{}]"] {
        let e = parse_err(text);
        assert!(
            e.contains("bad.json") && e.contains("must be a JSON object"),
            "{text}: {e}"
        );
    }
    // serde would otherwise take a struct's fields positionally from an array.
    rejects(
        r#"{"settings": [1, 5]}"#,
        "settings",
        "must be a JSON object",
    );
    rejects(
        r#"{"faults": {"rules": [["/api"]]}}"#,
        "faults.rules[0]",
        "must be a JSON object",
    );
    rejects(
        r#"{"faults": {"rate_limit": [1, 5]}}"#,
        "faults.rate_limit",
        "must be a JSON object",
    );
    rejects(
        r#"{"services": [["1", "a"]]}"#,
        "services[0]",
        "must be a JSON object",
    );
    rejects(
        r#"{"server": ["1", "EVM"]}"#,
        "server",
        "must be a JSON object",
    );
    // `null` where a section is optional stays accepted (large_bundle.json writes it).
    Scenario::parse(r#"{"faults": {"rate_limit": null}}"#, "ok.json").unwrap();
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("miq-vmdb-limits-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Runs `f` on a thread and fails (instead of hanging) if it takes over 10 s.
fn within_10s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(StdDuration::from_secs(10))
        .expect("loading the scenario hung")
}

#[test]
fn files_over_64_mb_are_rejected_without_reading_them() {
    assert_eq!(MAX_SCENARIO_BYTES, 64 * 1024 * 1024);
    let path = temp("huge.json");
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(MAX_SCENARIO_BYTES + 1).unwrap(); // sparse: nothing is written
    drop(f);
    let p = path.clone();
    let e = within_10s(move || Scenario::load(&p).unwrap_err().to_string());
    assert!(e.contains("huge.json") && e.contains("64 MB"), "{e}");
    std::fs::remove_file(&path).unwrap();
}

#[cfg(unix)]
#[test]
fn devices_and_fifos_are_rejected_without_hanging() {
    let e = within_10s(|| Scenario::load("/dev/zero").unwrap_err().to_string());
    assert!(
        e.contains("/dev/zero") && e.contains("not a regular file"),
        "{e}"
    );
    let fifo = temp("scenario.fifo");
    let _ = std::fs::remove_file(&fifo);
    let made = std::process::Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let p = fifo.clone();
        // No writer: opening it for reading would block forever.
        let e = within_10s(move || Scenario::load(&p).unwrap_err().to_string());
        assert!(
            e.contains("scenario.fifo") && e.contains("not a regular file"),
            "{e}"
        );
        std::fs::remove_file(&fifo).unwrap();
    }
    let dir = temp("dir").parent().unwrap().to_owned();
    let e = Scenario::load(&dir).unwrap_err().to_string();
    assert!(e.contains("not a regular file"), "{e}");
}

#[test]
fn parse_from_memory_has_the_same_size_cap() {
    let text = format!(
        "{{\"description\": \"{}\"}}",
        "x".repeat(MAX_SCENARIO_BYTES as usize)
    );
    let e = parse_err(&text);
    assert!(e.contains("bad.json") && e.contains("64 MB"), "{e}");
}

fn far_future() -> DateTime<Utc> {
    DateTime::<Utc>::MAX_UTC - Duration::seconds(1)
}

#[test]
fn the_manual_clock_saturates_instead_of_overflowing() {
    let c = ManualClock::new(far_future());
    c.advance(Duration::days(365 * 1000));
    assert_eq!(miq_automate_vmdb::Clock::now(&c), DateTime::<Utc>::MAX_UTC);
    let c = ManualClock::new(DateTime::<Utc>::MIN_UTC + Duration::seconds(1));
    c.advance(-Duration::days(365));
    assert_eq!(miq_automate_vmdb::Clock::now(&c), DateTime::<Utc>::MIN_UTC);
    assert_eq!(
        miq_automate_vmdb::clock::add_seconds(far_future(), i64::MAX),
        DateTime::<Utc>::MAX_UTC
    );
    assert_eq!(
        miq_automate_vmdb::clock::add_seconds(DateTime::<Utc>::MIN_UTC, i64::MIN),
        DateTime::<Utc>::MIN_UTC
    );
}

/// A scenario built in code skips validation: the VMDB must still not panic on it.
#[test]
fn unvalidated_extremes_never_panic_the_vmdb() {
    let mut s = Scenario::default();
    s.settings.retirement_step_seconds = 0;
    s.settings.token_ttl_seconds = i64::MAX;
    s.faults.latency_ms = u64::MAX;
    s.faults.rules.push(FaultRule {
        method: None,
        path: "/api/**".into(),
        times: None,
        status: None,
        action_failure: None,
        latency_ms: Some(u64::MAX),
        after_action: false,
        retry_after: Some(u64::MAX),
    });
    s.faults.rate_limit = Some(RateLimit {
        requests: 1,
        window_seconds: u64::MAX,
        retry_after: None,
    });
    s.services = serde_json::from_str(
        r#"[{"id": "18446744073709551615", "name": "max", "lifecycle_state": "provisioned"}]"#,
    )
    .unwrap();
    s.vms = serde_json::from_str(
        r#"[{"id": "18446744073709551614", "name": "vm", "service_id": "18446744073709551615"}]"#,
    )
    .unwrap();
    for start in [
        far_future(),
        DateTime::<Utc>::MIN_UTC,
        Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap(),
    ] {
        let c = ManualClock::new(start);
        let db = Vmdb::with_clock(s.clone(), std::sync::Arc::new(c.clone()));
        let r = db.request_retire_service(Id(u64::MAX), "admin").unwrap();
        let t = db.request_retire_vm(Id(u64::MAX - 1), "admin").unwrap();
        assert_ne!(r.id, t.id, "new ids stay unique near the top of the range");
        c.advance(Duration::MAX);
        db.tick();
        db.poll_request(r.id).unwrap();
        db.poll_task(t.id).unwrap();
    }
}
