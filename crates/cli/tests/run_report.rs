//! `run --output html -o FILE` rendered in a real headless browser (Debian's chromium,
//! installed by scripts/install-deps.sh): the example domain's run failing in RegisterDNS
//! shows every state of the machine, the failure's reason, the rollback that ran, the
//! diagram and the timeline, and a log whose level filter works (a click on "errors only"
//! leaves the error lines only); nothing is wider than the window; hostile text shows as
//! text and a `password::` value never appears. The page and a 1600×1200 screenshot are
//! kept in target/run-report/ for people to look at.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

#[path = "support/browser.rs"]
mod browser;
#[path = "support/cli.rs"]
mod cli;

use cli::{miq_ruby, stderr};

const MACHINE: &str = "/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template";
const DOMAIN: &str = "examples/domains/RollbackDemo";
const MODEL: &str = "examples/run/vmware_provision.json";
const STATES: [&str; 8] = [
    "CustomizeRequest",
    "AcquireIPAddress",
    "RegisterDHCP",
    "RegisterDNS",
    "Provision",
    "CheckProvisioned",
    "PostProvision",
    "Finished",
];
const ROLLBACK: [&str; 3] = ["UnregisterDNS", "UnregisterDHCP", "ReleaseIPAddress"];

/// `run` of the example domain failing in RegisterDNS (ManageIQ's CustomizeRequest stubbed),
/// `uri` in place of the machine's, with `extra` arguments.
fn run(uri: &str, extra: &[&str]) -> Output {
    let mut args = vec!["run", uri, "--datastore", DOMAIN, "--model", MODEL];
    args.extend([
        "--stub",
        "/Infrastructure/VM/Provisioning/StateMachines/Methods/CustomizeRequest=ok",
        "--stub",
        "/Infrastructure/VM/Provisioning/Network/Methods/RegisterDNS=error",
    ]);
    args.extend_from_slice(extra);
    miq_ruby(&args)
}

/// The page of a failing run written with `-o` into target/run-report/NAME.html.
fn page(name: &str, uri: &str, extra: &[&str]) -> (PathBuf, String) {
    let file = browser::out_dir("run-report").join(format!("{name}.html"));
    let _ = std::fs::remove_file(&file);
    let mut args = vec!["--output", "html", "-o", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run(uri, &args);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a failed run exits 2 with --output html too: {}",
        stderr(&out)
    );
    assert!(out.stdout.is_empty(), "-o: nothing on stdout");
    let html = std::fs::read_to_string(&file).expect("the page is written");
    (file, html)
}

/// What the browser finds on the page: the states of the table, the result box, the
/// figures, every element wider than the window, and the log before and after a click on
/// "errors only".
const CHECK: &str = r#"<script>
(function () {
  const text = (sel) => { const e = document.querySelector(sel); return e ? e.textContent : null; };
  const box = (sel) => { const e = document.querySelector(sel); if (!e) return null; const r = e.getBoundingClientRect(); return [r.width, r.height]; };
  const width = document.documentElement.clientWidth;
  const wide = Array.from(document.querySelectorAll('body *'))
    .filter((e) => !e.closest('.wide, .figure, .log-lines') || e.matches('.wide, .figure, .log-lines'))
    .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > width + 1; })
    .map((e) => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 40));
  const visible = () => Array.from(document.querySelectorAll('#log .ln'))
    .filter((l) => getComputedStyle(l).display !== 'none')
    .map((l) => l.className.replace('ln ', ''));
  // Lines of the states table broken inside a word (between two letters or digits).
  const midWord = [];
  document.querySelectorAll('#states td').forEach((td) => {
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    let prev = null;
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      // A new block (a list item, a hook's line) starts a new line of its own.
      const block = n.parentElement.closest('li, div, p, td');
      if (prev && prev.block !== block) prev = null;
      for (let i = 0; i < n.length; i++) {
        const r = document.createRange(); r.setStart(n, i); r.setEnd(n, i + 1);
        const rect = r.getClientRects()[0];
        if (!rect) continue;
        const c = n.data[i];
        if (prev && rect.top > prev.top + 2 && /\w/.test(prev.c) && /\w/.test(c)) midWord.push(td.textContent.slice(0, 60) + ' @ ' + prev.c + c);
        prev = { top: rect.top, c, block };
      }
    }
  });
  const events = Array.from(document.querySelectorAll('#deliveries .events tbody tr')).map((tr) => Array.from(tr.children).map((td) => td.textContent));
  const subjects = Array.from(document.querySelectorAll('#deliveries td span[title]')).filter((s) => s.title.startsWith('#<')).map((s) => [s.textContent, s.title]);
  const before = visible();
  const errorsOnly = document.querySelector('label[for="log-run-error"]');
  if (errorsOnly) errorsOnly.click();
  const after = visible();
  const page = {
    title: document.title,
    h1: text('h1'),
    result: text('.run-result'),
    states: Array.from(document.querySelectorAll('#states tbody tr td:first-child')).map((td) => td.textContent),
    notReached: document.querySelectorAll('#states .result.st-not-reached').length,
    failed: document.querySelectorAll('#states .result.st-failed').length,
    rollbackColumn: Array.from(document.querySelectorAll('#states tbody tr td:last-child')).map((td) => td.textContent).join(' | '),
    deliveries: text('#deliveries'),
    machine: box('#fig-machine'),
    timeline: box('#fig-timeline'),
    machineText: text('#fig-machine'),
    final: text('#final'),
    midWord,
    events,
    subjects,
    scripts: document.scripts.length - 1,
    images: document.images.length,
    scrollWidth: document.documentElement.scrollWidth,
    width,
  };
  const out = document.createElement('pre');
  out.id = 'layout-check';
  out.textContent = JSON.stringify({ page, wide, before, after });
  document.body.appendChild(out);
})();
</script>"#;

/// The page measured in chromium at 1600×1200, and a screenshot of it beside it.
fn render(file: &Path, html: &str) -> Value {
    browser::render(file, html, CHECK, "1600,1200")
}

/// Nothing is fetched and no script runs; `url(…)` only points into the page (the SVG's
/// markers). `src=` may be text of a hostile page (`&lt;img src=…`), never an attribute.
fn assert_self_contained(html: &str) {
    let attributes = html.replace("&lt;img src=", "");
    assert!(
        !attributes.contains("src="),
        "the page fetches something: src="
    );
    for fetch in ["<script", "<link", "@import", "<img", "<iframe"] {
        assert!(!html.contains(fetch), "the page fetches something: {fetch}");
    }
    for (at, _) in html.match_indices("url(") {
        assert!(
            html[at + 4..].starts_with('#'),
            "url( fetches: {}",
            &html[at..at + 40]
        );
    }
}

#[test]
fn the_failing_run_page_has_the_machine_the_reason_the_rollback_and_a_working_log_filter() {
    let (file, html) = page("run", MACHINE, &[]);
    assert_self_contained(&html);
    let layout = render(&file, &html);
    let shown = &layout["page"];
    // The header: the machine, the result and its reason.
    assert!(
        shown["h1"]
            .as_str()
            .unwrap()
            .contains("VMProvision_VM/template"),
        "{shown}"
    );
    let result = shown["result"].as_str().unwrap();
    assert!(result.contains("ae_result: error"), "{result}");
    assert!(
        result.contains(
            "stubbed to fail (--stub /Infrastructure/VM/Provisioning/Network/Methods/RegisterDNS=error)"
        ),
        "{result}"
    );
    // Every state of the machine, RegisterDNS failed, the four after it not reached.
    let states: Vec<String> = serde_json::from_value(shown["states"].clone()).unwrap();
    assert_eq!(states, STATES.map(String::from).to_vec(), "{shown}");
    assert_eq!(shown["failed"], 1, "{shown}");
    assert_eq!(shown["notReached"], 4, "{shown}");
    // The rollback that ran: in the table, in the diagram and in the delivery's events.
    let deliveries = shown["deliveries"].as_str().unwrap();
    for step in ROLLBACK {
        for (what, text) in [
            ("the table", shown["rollbackColumn"].as_str().unwrap()),
            ("the delivery", deliveries),
            ("the diagram", shown["machineText"].as_str().unwrap()),
        ] {
            assert!(text.contains(step), "{step} not in {what}: {text}");
        }
    }
    assert!(
        deliveries.contains("on_error → instantiate"),
        "{deliveries}"
    );
    assert!(
        deliveries.contains("automate_user_error"),
        "the notification: {deliveries}"
    );
    // The on_error that ran says so (root ae_result stays error: that is the state's); the
    // main that failed keeps its ae_result.
    let events: Vec<Vec<String>> = serde_json::from_value(shown["events"].clone()).unwrap();
    let row = |step: &str| {
        events
            .iter()
            .find(|r| r[0] == "RegisterDNS" && r[1] == step)
            .unwrap_or_else(|| panic!("RegisterDNS {step}: {events:?}"))
    };
    assert_eq!(row("on_error")[3], "ran", "{events:?}");
    assert_eq!(row("main")[3], "error", "{events:?}");
    // The notification's subject is its model's label, the inspect text its tooltip.
    let subjects: Vec<(String, String)> =
        serde_json::from_value(shown["subjects"].clone()).unwrap();
    assert!(
        subjects
            .iter()
            .any(|(label, raw)| label == "MiqRequest 7 \"Provision web01\""
                && raw.starts_with("#<MiqAutomate::ServiceModel miq_request id: 7")),
        "{subjects:?}"
    );
    // No line of the states table breaks inside a word.
    assert_eq!(shown["midWord"], serde_json::json!([]), "{shown}");
    // Both pictures are drawn, at a size one can read.
    for fig in ["machine", "timeline"] {
        let [w, h]: [f64; 2] = serde_json::from_value(shown[fig].clone()).unwrap();
        assert!(w > 600.0 && h > 100.0, "{fig}: {w}×{h}");
    }
    // The log: every line at first, then the error lines only after "errors only".
    let before: Vec<String> = serde_json::from_value(layout["before"].clone()).unwrap();
    let after: Vec<String> = serde_json::from_value(layout["after"].clone()).unwrap();
    assert!(before.len() > 50, "{before:?}");
    assert!(before.iter().any(|c| c == "ln-info"), "{before:?}");
    assert!(!after.is_empty(), "no error line left");
    assert!(after.iter().all(|c| c == "ln-error"), "{after:?}");
    assert_eq!(
        after.len(),
        before.iter().filter(|c| *c == "ln-error").count(),
        "every error line stays"
    );
    // Nothing wider than the window (wide tables and pictures scroll inside their box).
    assert_eq!(layout["wide"], serde_json::json!([]), "{layout}");
    assert!(
        shown["scrollWidth"].as_f64() <= shown["width"].as_f64(),
        "{shown}"
    );
    assert_eq!(shown["scripts"], 0, "{shown}");
    assert_eq!(shown["images"], 0, "{shown}");
}

#[test]
fn hostile_text_shows_as_text_and_a_password_never_appears() {
    let uri = format!("{MACHINE}?x=<script>alert(1)</script>&password::q=S3cretQuery");
    let (file, html) = page(
        "hostile",
        &uri,
        &[
            "--attr",
            "password::pw=S3cret",
            "--attr",
            "evil=<script>alert(2)</script><img src=x onerror=alert(3)>\u{1b}[2J\u{7}",
        ],
    );
    assert_self_contained(&html);
    for secret in ["S3cret", "S3cretQuery"] {
        assert!(!html.contains(secret), "{secret} on the page");
    }
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the query, as text"
    );
    assert!(
        html.contains("&lt;script&gt;alert(2)&lt;/script&gt;"),
        "the attribute, as text"
    );
    assert!(html.contains("\\u{1b}[2J"), "an escape shown escaped");
    assert!(
        !html
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "a control character on the page"
    );
    let layout = render(&file, &html);
    let shown = &layout["page"];
    assert_eq!(shown["scripts"], 0, "{shown}");
    assert_eq!(shown["images"], 0, "{shown}");
    let final_state = shown["final"].as_str().unwrap();
    assert!(
        final_state.contains("<img src=x onerror=alert(3)>"),
        "{final_state}"
    );
    assert!(final_state.contains("********"), "{final_state}");
    assert_eq!(layout["wide"], serde_json::json!([]), "{layout}");
}

#[test]
fn an_output_that_cannot_be_written_is_refused_before_the_run() {
    let out = run(
        MACHINE,
        &["--output", "html", "-o", "/nonexistent-dir/run.html"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot write the output /nonexistent-dir/run.html"),
        "{stderr}"
    );
    assert!(!stderr.contains("RegisterDNS"), "the run started: {stderr}");
}
