//! `miq-automate diagram --output timeline` measured in headless chromium: every state the
//! run reached has a row (in the machine's order), the failure's reason is drawn, no text
//! leaves the picture or overlaps another, each row's bars go forward in time. A hand-written
//! trace (retries, then an error and a rollback) and a real run's. Screenshots in
//! target/diagram/ (timeline.png, timeline_run.png).

use serde_json::Value;

#[path = "support/browser.rs"]
mod browser;
#[path = "support/cli.rs"]
mod cli;
#[path = "support/domain.rs"]
mod domain;

use cli::{miq, ok_stdout, root};
use domain::{DOMAIN, MACHINE};

const TRACE: &str = "crates/cli/tests/traces/vmprovision.retries_then_error.json";

const CHECK: &str = r#"<script>
(function () {
  const svg = document.querySelector('svg');
  const W = svg.viewBox.baseVal.width, H = svg.viewBox.baseVal.height;
  const texts = Array.from(svg.querySelectorAll('text')).map((t) => { const b = t.getBBox(); return { t: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height }; });
  const overlaps = [];
  for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) {
    const a = texts[i], b = texts[j];
    const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
    const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
    if (w > 0.5 && h > 0.5) overlaps.push([a.t, b.t]);
  }
  const shapes = Array.from(svg.querySelectorAll('rect, line, text')).map((e) => { const b = e.getBBox(); return { t: e.textContent || e.tagName, x: b.x, y: b.y, w: b.width, h: b.height }; });
  const outside = shapes.filter((b) => b.x < -0.5 || b.y < -0.5 || b.x + b.w > W + 0.5 || b.y + b.h > H + 0.5).map((b) => b.t);
  const rows = Array.from(svg.querySelectorAll('g.row')).map((g) => ({
    state: g.dataset.state,
    outcome: g.dataset.outcome,
    bars: Array.from(g.querySelectorAll('rect.bar')).map((r) => ({ x: r.getBBox().x, w: r.getBBox().width, at: +r.dataset.at, delivery: +r.dataset.delivery, cls: r.getAttribute('class') })),
    waits: g.querySelectorAll('line.wait').length,
  }));
  const reasons = Array.from(svg.querySelectorAll('g.failure')).map((g) => ({ title: g.querySelector('title').textContent, text: Array.from(g.querySelectorAll('text')).map((t) => t.textContent).join(' ') }));
  const rollback = Array.from(svg.querySelectorAll('g.rollback')).map((g) => [g.dataset.result, g.querySelector('title').textContent]);
  const notReached = Array.from(svg.querySelectorAll('text.not-reached')).map((t) => t.textContent).join(' ');
  const end = Array.from(svg.querySelectorAll('g.end-result text')).map((t) => t.textContent).join(' ');
  const legend = Array.from(svg.querySelectorAll('g.legend text')).map((t) => t.textContent);
  const out = document.createElement('pre');
  out.id = 'layout-check';
  out.textContent = JSON.stringify({ W, H, overlaps, outside, rows, reasons, rollback, notReached, end, legend });
  document.body.appendChild(out);
})();
</script>"#;

fn render(name: &str, svg: &str) -> Value {
    let dir = browser::out_dir("diagram");
    let file = dir.join(format!("{name}.svg"));
    std::fs::write(&file, svg).unwrap();
    let layout = browser::measure_with(&file, &browser::svg_page(svg), CHECK, "1600,1200");
    let (w, h) = (
        layout["W"].as_f64().unwrap().ceil(),
        layout["H"].as_f64().unwrap().ceil(),
    );
    browser::screenshot(&file, &dir.join(format!("{name}.png")), &format!("{w},{h}"));
    layout
}

fn timeline(trace: &str) -> String {
    ok_stdout(miq(&[
        "diagram",
        MACHINE,
        "--datastore",
        DOMAIN,
        "--trace",
        trace,
        "--output",
        "timeline",
    ]))
}

/// The checks every timeline passes: in the picture, nothing overlapping, bars forward in
/// time in each row, states in the machine's order.
fn assert_clean(layout: &Value, states: &[&str]) {
    assert!(layout["W"].as_f64().unwrap() <= 1600.0);
    assert_eq!(layout["outside"], serde_json::json!([]), "{layout}");
    assert_eq!(layout["overlaps"], serde_json::json!([]), "{layout}");
    let rows = layout["rows"].as_array().unwrap();
    let drawn: Vec<&str> = rows.iter().map(|r| r["state"].as_str().unwrap()).collect();
    assert_eq!(drawn, states, "a row per reached state, in order");
    for row in rows {
        let bars = row["bars"].as_array().unwrap();
        assert!(!bars.is_empty(), "{row}");
        for pair in bars.windows(2) {
            let (a, b) = (&pair[0], &pair[1]);
            assert!(a["at"].as_f64() <= b["at"].as_f64(), "{row}");
            assert!(
                a["x"].as_f64().unwrap() + a["w"].as_f64().unwrap() <= b["x"].as_f64().unwrap(),
                "bars do not overlap and go forward: {row}"
            );
        }
        for bar in bars {
            assert!(bar["w"].as_f64().unwrap() >= 6.0, "visible: {bar}");
        }
    }
}

#[test]
fn a_run_with_retries_an_error_and_its_rollback() {
    let svg = timeline(TRACE);
    let layout = render("timeline", &svg);
    assert_clean(
        &layout,
        &[
            "CustomizeRequest",
            "AcquireIPAddress",
            "RegisterDHCP",
            "RegisterDNS",
            "Provision",
            "CheckProvisioned",
            "PostProvision",
        ],
    );
    let rows = layout["rows"].as_array().unwrap();
    let check = &rows[5];
    assert_eq!(check["bars"].as_array().unwrap().len(), 4, "{check}");
    assert_eq!(check["waits"], 3, "a wait after each retry");
    assert_eq!(
        layout["legend"],
        serde_json::json!(["ok", "retry", "error", "the wait a retry asked for"]),
        "{layout}"
    );
    assert!(check["bars"][0]["cls"].as_str().unwrap().contains("retry"));
    assert!(check["bars"][3]["cls"].as_str().unwrap().contains("ok"));
    let post = &rows[6];
    assert_eq!(post["outcome"], "failed");
    assert!(post["bars"][0]["cls"].as_str().unwrap().contains("error"));
    let reason = &layout["reasons"][0];
    let full = "RuntimeError: post-provision hook failed | vm <web01> has no `ipaddress` — the DNS record points at 192.0.2.10 but the VM reports none after 3 minutes";
    assert_eq!(reason["title"], full, "the full reason in <title>");
    let drawn: String = reason["text"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .collect();
    assert!(
        drawn.contains(&full.split_whitespace().collect::<String>()),
        "the reason drawn whole, wrapped: {drawn}"
    );
    let rollback: Vec<&str> = layout["rollback"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[0].as_str().unwrap())
        .collect();
    assert_eq!(rollback, ["ok", "error", "ok"]);
    assert!(layout["notReached"]
        .as_str()
        .unwrap()
        .contains("1 state not reached: Finished"));
    assert!(
        layout["end"].as_str().unwrap().contains("ae_result error"),
        "{layout}"
    );
    assert!(
        svg.contains(">3m<") && svg.contains(">1m<"),
        "ticks in minutes"
    );
    assert!(svg.contains("retry in 1m"));
}

#[test]
fn a_real_run_that_retries_then_fails() {
    let dir = browser::out_dir("diagram");
    let b = "/Infrastructure/VM/Provisioning";
    let run = miq(&[
        "run",
        MACHINE,
        "--datastore",
        DOMAIN,
        "--model",
        "examples/run/vmware_provision.json",
        "--stub",
        &format!("{b}/StateMachines/Methods/CustomizeRequest=ok"),
        "--stub",
        &format!("{b}/Network/Methods/RegisterDHCP=retry:2@90"),
        "--stub",
        &format!("{b}/Network/Methods/RegisterDNS=error"),
        "--output",
        "json",
    ]);
    assert_eq!(
        run.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let trace = dir.join("timeline_run.trace.json");
    std::fs::write(&trace, &run.stdout).unwrap();
    let svg = timeline(trace.to_str().unwrap());
    let layout = render("timeline_run", &svg);
    assert_clean(
        &layout,
        &[
            "CustomizeRequest",
            "AcquireIPAddress",
            "RegisterDHCP",
            "RegisterDNS",
        ],
    );
    let dhcp = &layout["rows"][2];
    assert_eq!(dhcp["bars"].as_array().unwrap().len(), 3, "{dhcp}");
    assert_eq!(dhcp["waits"], 2);
    assert!(svg.contains("retry in 1m30s"), "the interval asked for");
    let dns = &layout["rows"][3];
    assert_eq!(dns["outcome"], "failed");
    assert!(
        layout["reasons"][0]["title"]
            .as_str()
            .unwrap()
            .contains("RegisterDNS=error"),
        "{layout}"
    );
    assert!(layout["notReached"]
        .as_str()
        .unwrap()
        .starts_with("4 states not reached"));
}

#[test]
fn hostile_text_in_a_trace_stays_text() {
    let dir = browser::out_dir("diagram");
    let mut trace: Value =
        serde_json::from_str(&std::fs::read_to_string(root().join(TRACE)).unwrap()).unwrap();
    let evil = "</text><script>alert(1)</script>\u{1b}[2J & \"q\" ".repeat(8);
    for d in trace["trace"].as_array_mut().unwrap() {
        for e in d["events"].as_array_mut().unwrap() {
            if e.get("error").is_some() {
                e["error"] = evil.clone().into();
            }
        }
    }
    trace["error"] = evil.clone().into();
    let path = dir.join("timeline_hostile.trace.json");
    std::fs::write(&path, trace.to_string()).unwrap();
    let svg = timeline(path.to_str().unwrap());
    assert!(!svg.contains("<script"), "escaped");
    assert!(!svg.contains('\u{1b}'), "control characters shown escaped");
    let layout = render("timeline_hostile", &svg);
    assert_eq!(layout["outside"], serde_json::json!([]), "{layout}");
    assert_eq!(layout["overlaps"], serde_json::json!([]), "{layout}");
    assert!(layout["reasons"][0]["title"]
        .as_str()
        .unwrap()
        .starts_with("</text><script>"));
}

#[test]
fn a_timeline_needs_a_trace() {
    let out = miq(&[
        "diagram",
        MACHINE,
        "--datastore",
        DOMAIN,
        "--output",
        "timeline",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--trace"));
}

#[test]
fn a_run_without_retries_has_no_retry_in_its_legend() {
    let dir = browser::out_dir("diagram");
    let run = miq(&[
        "run",
        MACHINE,
        "--datastore",
        DOMAIN,
        "--model",
        "examples/run/vmware_provision.json",
        "--stub",
        "/Infrastructure/VM/Provisioning/StateMachines/Methods/CustomizeRequest=ok",
        "--stub",
        "/Infrastructure/VM/Provisioning/Network/Methods/RegisterDNS=error",
        "--output",
        "json",
    ]);
    assert_eq!(run.status.code(), Some(2));
    let trace = dir.join("timeline_no_retry.trace.json");
    std::fs::write(&trace, &run.stdout).unwrap();
    let layout = render("timeline_no_retry", &timeline(trace.to_str().unwrap()));
    assert_eq!(
        layout["legend"],
        serde_json::json!(["ok", "error"]),
        "only the bars drawn: {layout}"
    );
}
