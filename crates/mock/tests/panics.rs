//! A panic inside the responder never reaches the client: it answers 500 in ManageIQ's
//! envelope, is logged once (through `tracing`, not the panic hook's stderr backtrace), and
//! the server keeps serving. Its own test binary: it installs a global subscriber and hook.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use miq_automate_mock::MockServer;
use miq_automate_vmdb::{Clock, ManualClock, Scenario, Vmdb};
use serde_json::Value;

/// A clock that panics while armed: a way to make any handler panic from outside.
#[derive(Debug)]
struct TrapClock {
    inner: ManualClock,
    armed: AtomicBool,
}

impl Clock for TrapClock {
    fn now(&self) -> DateTime<Utc> {
        if self.armed.load(Ordering::SeqCst) {
            panic!("the trap clock went off");
        }
        self.inner.now()
    }
}

#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_responder_is_a_500_envelope_logged_once_and_the_server_survives() {
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .init();
    // The hook in place before the mock starts: it stands for the default one that prints
    // the message and backtrace on stderr.
    static HOOK_CALLS: AtomicUsize = AtomicUsize::new(0);
    std::panic::set_hook(Box::new(|_| {
        HOOK_CALLS.fetch_add(1, Ordering::SeqCst);
    }));

    let scenario = Scenario::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../mocks/failed_bundle.json"
    ))
    .unwrap();
    let clock = Arc::new(TrapClock {
        inner: ManualClock::new(Utc.with_ymd_and_hms(2024, 6, 1, 12, 0, 0).unwrap()),
        armed: AtomicBool::new(false),
    });
    let server = MockServer::start_with(Vmdb::with_clock(scenario, clock.clone()), 0)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("{}/api/services/1000", server.url());

    clock.armed.store(true, Ordering::SeqCst);
    let r = http
        .get(&url)
        .basic_auth("admin", Some("smartvm"))
        .send()
        .await
        .expect("the connection survives the panic");
    clock.armed.store(false, Ordering::SeqCst);
    assert_eq!(r.status(), 500);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/json"
    );
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["kind"], "internal_server_error", "{body}");
    assert_eq!(body["error"]["klass"], "RuntimeError", "{body}");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("the trap clock went off"), "{message}");

    // The server still answers, and journaled the failed request.
    let r = http
        .get(&url)
        .basic_auth("admin", Some("smartvm"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let journal = server.journal();
    assert_eq!(journal.len(), 2, "{journal:?}");
    assert_eq!(
        (journal[0].path.as_str(), journal[0].status),
        ("/api/services/1000", 500)
    );
    assert_eq!(journal[1].status, 200);

    // Logged once, through tracing, with where it happened; the panic hook printed nothing.
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        text.matches("the trap clock went off").count(),
        1,
        "logged once: {text}"
    );
    assert!(text.contains("ERROR") && text.contains(".rs:"), "{text}");
    assert_eq!(HOOK_CALLS.load(Ordering::SeqCst), 0);

    // Panics elsewhere in the process still reach the previous hook.
    let _ = std::panic::catch_unwind(|| panic!("not the mock's"));
    assert_eq!(HOOK_CALLS.load(Ordering::SeqCst), 1);
}
