//! `miq-automate diagram`: the example domain's state machine drawn as SVG and checked in a
//! real headless browser (every state present, no two texts overlapping, every text inside
//! the picture); Mermaid and DOT forms; a trace colouring the states. Screenshots land in
//! target/diagram/ for people to look at.

use std::process::Command;

use serde_json::Value;

#[path = "support/browser.rs"]
mod browser;
#[path = "support/cli.rs"]
mod cli;
#[path = "support/domain.rs"]
mod domain;

use cli::{miq, ok_stdout, root};
use domain::{schema_states, DOMAIN, MACHINE};

fn out_dir() -> std::path::PathBuf {
    browser::out_dir("diagram")
}

/// The example machine's states, in order.
fn states() -> Vec<String> {
    domain::states(&root().join(DOMAIN))
}

/// The SVG in an HTML page with a script measuring every text's box: overlaps, anything
/// outside the picture, text spilling out of the shape (rect) of its group (`g.framed`), each
/// state's box class, retry loop, error edge and texts, the rollback panels and end nodes,
/// texts shortened or wrapped without a tooltip, and the drawing's bounding box.
const CHECK: &str = r#"<script>
(function () {
  const svg = document.querySelector('svg');
  // A text's own text (its <title> tooltip apart).
  const own = (t) => Array.from(t.childNodes).filter((n) => n.nodeType === 3).map((n) => n.textContent).join('');
  const tip = (t) => { const c = Array.from(t.children).find((n) => n.tagName === 'title'); return c ? c.textContent : null; };
  const texts = Array.from(svg.querySelectorAll('text'));
  const boxes = texts.map((t) => { const b = t.getBBox(); return { t: own(t), x: b.x, y: b.y, w: b.width, h: b.height }; });
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
    const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
    if (w > 0.5 && h > 0.5) overlaps.push([a.t, b.t]);
  }
  const W = svg.viewBox.baseVal.width, H = svg.viewBox.baseVal.height;
  const outside = [];
  svg.querySelectorAll('text, rect, path, circle').forEach((e) => {
    if (e.closest('defs') || e.getAttribute('width') === '100%') return;
    const b = e.getBBox();
    if (b.x < -0.5 || b.y < -0.5 || b.x + b.width > W + 0.5 || b.y + b.height > H + 0.5) outside.push(e.tagName + ' ' + (e.tagName === 'text' ? own(e) : e.getAttribute('class')));
  });
  // Each text must stay inside the rect of its group.
  const spills = [];
  svg.querySelectorAll('g.framed').forEach((g) => {
    const rect = g.querySelector(':scope > rect');
    const r = rect.getBBox();
    g.querySelectorAll(':scope > text').forEach((t) => {
      if (t.classList.contains('loop-label')) return;
      const b = t.getBBox();
      if (b.x < r.x || b.x + b.width > r.x + r.width + 0.5 || b.y < r.y || b.y + b.height > r.y + r.height + 0.5) spills.push(own(t));
    });
  });
  const textsOf = (g) => Array.from(g.querySelectorAll('text')).map((t) => [own(t), tip(t) || '']);
  const states = Array.from(svg.querySelectorAll('g.state-group')).map((g) => ({
    name: g.dataset.state, class: g.querySelector('rect').getAttribute('class'),
    loop: !!g.querySelector('path.loop'), error: Array.from(g.querySelectorAll('path.error-edge')).map((p) => [p.getAttribute('class'), p.dataset.to || '']),
    texts: textsOf(g) }));
  const rollback = Array.from(svg.querySelectorAll('g.rollback-group')).map((g) => ({ state: g.dataset.state, class: g.getAttribute('class'), texts: textsOf(g) }));
  const ends = Array.from(svg.querySelectorAll('g.end-group')).map((g) => ({ end: g.dataset.end, class: g.getAttribute('class'), texts: textsOf(g) }));
  // A shortened text (…) needs its full text in a tooltip; a tooltip holds its whole line.
  const untitled = texts.filter((t) => { const s = own(t), f = tip(t); return (s.endsWith('…') && !f) || (f !== null && !f.includes(s.replace(/…$/, ''))); }).map(own);
  // Every line drawn (edges, rails, loops, connectors) with its computed fill: a line filled
  // by a text colour rule would draw a wedge.
  const paths = Array.from(svg.querySelectorAll('path')).filter((p) => !p.closest('defs')).map((p) => [p.getAttribute('class') || '', getComputedStyle(p).fill]);
  const legend = Array.from(svg.querySelectorAll('g.legend text')).map(own);
  const all = svg.getBBox();
  const out = document.createElement('pre');
  out.id = 'layout-check';
  out.textContent = JSON.stringify({ overlaps, outside, spills, states, rollback, ends, untitled, texts: boxes.length,
    paths, legend, title: Array.from(svg.querySelectorAll('text.title')).map(own), bbox: [all.x, all.y, all.width, all.height], size: [W, H] });
  document.body.appendChild(out);
})();
</script>"#;

fn render(name: &str, svg: &str) -> Value {
    let svg_path = out_dir().join(format!("{name}.svg"));
    std::fs::write(&svg_path, svg).unwrap();
    let (w, h) = size(svg);
    // The picture at 100% of its own size.
    let window = format!("{},{}", w.ceil(), h.ceil());
    browser::render(&svg_path, &browser::svg_page(svg), CHECK, &window)
}

fn size(svg: &str) -> (f64, f64) {
    let attr = |name: &str| -> f64 {
        let at = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[at..at + svg[at..].find('"').unwrap()].parse().unwrap()
    };
    (attr("width"), attr("height"))
}

fn assert_clean(layout: &Value) {
    // No line is filled (a text colour rule matching a path's class drew a wedge).
    for path in layout["paths"].as_array().unwrap() {
        assert_eq!(path[1], "none", "a filled line: {path}");
    }
    assert_eq!(layout["overlaps"], serde_json::json!([]), "{layout}");
    assert_eq!(layout["outside"], serde_json::json!([]), "{layout}");
    assert_eq!(layout["spills"], serde_json::json!([]), "{layout}");
    assert_eq!(layout["untitled"], serde_json::json!([]), "{layout}");
}

/// The states drawn, in order.
fn drawn(layout: &Value) -> Vec<String> {
    layout["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect()
}

/// One drawn state.
fn state<'a>(layout: &'a Value, name: &str) -> &'a Value {
    layout["states"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("{name} not drawn: {layout}"))
}

/// A group's texts as shown, and their tooltips (full texts).
fn shown(group: &Value) -> (Vec<String>, Vec<String>) {
    let texts = group["texts"].as_array().unwrap();
    (
        texts
            .iter()
            .map(|t| t[0].as_str().unwrap().to_string())
            .collect(),
        texts
            .iter()
            .map(|t| t[1].as_str().unwrap().to_string())
            .collect(),
    )
}

/// The picture fits a 1600×1200 screen at scale 1: its size and what is drawn in it.
fn assert_fits_the_screen(layout: &Value) {
    let size = &layout["size"];
    let bbox = &layout["bbox"];
    assert!(
        size[0].as_f64().unwrap() <= 1600.0 && size[1].as_f64().unwrap() <= 1200.0,
        "picture {size}"
    );
    assert!(
        bbox[0].as_f64().unwrap() + bbox[2].as_f64().unwrap() <= 1600.0
            && bbox[1].as_f64().unwrap() + bbox[3].as_f64().unwrap() <= 1200.0,
        "drawing {bbox}"
    );
}

#[test]
fn the_example_state_machine_as_svg_with_its_rollback_matrix() {
    let out = miq(&[
        "diagram",
        MACHINE,
        "--datastore",
        DOMAIN,
        "--matrix",
        &format!("{DOMAIN}/rollback_matrix_per_state.yaml"),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = String::from_utf8(out.stdout).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    let layout = render("vmprovision_vm", &svg);
    assert_clean(&layout);
    assert_eq!(drawn(&layout), states(), "every state, in order");
    let rollback = layout["rollback"].as_array().unwrap();
    assert!(!rollback.is_empty());
    assert!(
        rollback
            .iter()
            .all(|r| r["class"].as_str().unwrap().contains("planned")),
        "{rollback:?}"
    );
    // Untraced: the end is just the end; errors go to the error end.
    let ends: Vec<_> = layout["ends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| shown(e).0.join(" "))
        .collect();
    assert_eq!(ends[0], "end", "{ends:?}");
    assert!(ends[1].contains("ae_result error"), "{ends:?}");
}

#[test]
fn journal_mode_and_a_trace_colour_the_run() {
    let names = states();
    let failed = &names[4];
    let trace = serde_json::json!({
        "ae_result": "error",
        "trace": [
            {"states": names[..4].iter().map(|n| serde_json::json!({"state": n, "result": "ok"})).collect::<Vec<_>>()},
            {"states": [{"state": failed, "result": "retry"}]},
            {"states": [{"state": failed, "result": "error"}]}
        ]
    });
    let dir = out_dir();
    let trace_path = dir.join("trace.json");
    std::fs::write(&trace_path, trace.to_string()).unwrap();
    let svg_path = dir.join("traced.svg");
    let out = miq(&[
        "diagram",
        MACHINE,
        "--datastore",
        DOMAIN,
        "--matrix",
        &format!("{DOMAIN}/rollback_matrix.yaml"),
        "--mode",
        "journal",
        "--trace",
        trace_path.to_str().unwrap(),
        "-o",
        svg_path.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.contains("failed here after 1 retry"), "{svg}");
    let layout = render("vmprovision_vm_traced", &svg);
    assert_clean(&layout);
    let class_of =
        |name: &str| -> String { state(&layout, name)["class"].as_str().unwrap().to_string() };
    // A traced picture tells the run: the failed state's planned rollback (none ran: the
    // trace names no instantiation), labelled so; no other state's.
    let rollback = layout["rollback"].as_array().unwrap();
    assert_eq!(rollback.len(), 1, "{rollback:?}");
    assert_eq!(rollback[0]["state"], failed.as_str());
    let (texts, _) = shown(&rollback[0]);
    assert!(
        texts[0].contains("planned rollback (journal; none ran"),
        "{texts:?}"
    );
    // The end node: the run's result.
    let error_end = layout["ends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["end"] == "error")
        .unwrap();
    assert!(
        shown(error_end).0.join(" ").starts_with("end: error"),
        "{error_end}"
    );
    assert_eq!(class_of(&names[0]), "box passed");
    assert_eq!(class_of(failed), "box failed");
    assert_eq!(class_of(names.last().unwrap()), "box untouched");
}

#[test]
fn mermaid_and_dot_for_docs() {
    for (format, start) in [("mermaid", "---\ntitle:"), ("dot", "digraph")] {
        let out = miq(&[
            "diagram",
            MACHINE,
            "--datastore",
            DOMAIN,
            "--output",
            format,
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with(start), "{text}");
        for name in states() {
            assert!(text.contains(&name), "{format}: {name} missing");
        }
    }
}

#[test]
fn bad_paths_and_classes_are_named() {
    let out = miq(&["diagram", "/No/Such/Class", "--datastore", DOMAIN]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no class or instance \"/No/Such/Class\"")
    );
    let out = miq(&[
        "diagram",
        "/Infrastructure/VM/Provisioning/Rollback/Methods",
        "--datastore",
        DOMAIN,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a state machine"));
}

// ---- issue 21: hostile state names, widths, nested traces, closed pipes ----

/// A copy of the example domain whose first states are renamed to `names` (YAML escapes).
fn hostile_domain(tag: &str, names: &[&str]) -> std::path::PathBuf {
    domain::renamed_copy(&format!("diagram-21-{tag}"), names)
}

fn draw(domain: &std::path::Path, format: &str) -> String {
    diagram_ok(&[
        MACHINE,
        "--datastore",
        domain.to_str().unwrap(),
        "--format",
        format,
    ])
}

#[test]
fn control_characters_in_a_state_name_keep_the_svg_valid_xml() {
    let domain = hostile_domain("xml", &["Bad\\x01Name\\x1b[2K"]);
    let svg = draw(&domain, "svg");
    assert!(
        !svg.chars().any(|c| c.is_control() && c != '\n'),
        "a control character in the SVG"
    );
    assert!(
        svg.contains("Bad\\u{1}Name\\e[2K"),
        "the name shown escaped"
    );
}

#[test]
fn a_newline_in_a_state_name_injects_nothing_in_mermaid_or_dot() {
    let domain = hostile_domain("inject", &["A\\nstate Injected as s99\\n\\\"q"]);
    let mermaid = draw(&domain, "mermaid");
    assert!(
        !mermaid
            .lines()
            .any(|l| l.trim_start().starts_with("state Injected")),
        "{mermaid}"
    );
    assert_eq!(
        mermaid
            .lines()
            .filter(|l| l.trim_start().starts_with("state "))
            .count(),
        states().len()
    );
    let dot = draw(&domain, "dot");
    assert!(
        !dot.lines()
            .any(|l| l.trim_start().starts_with("state Injected")),
        "{dot}"
    );
    assert!(!dot.contains("s99\n"), "{dot}");
    for text in [&mermaid, &dot] {
        assert!(!text.contains('\u{1b}'));
    }
}

#[test]
fn wide_characters_are_measured_by_display_width() {
    let rockets = "🚀".repeat(80);
    let cjk = "名".repeat(80);
    let domain = hostile_domain("wide", &[&rockets, &cjk]);
    let svg = draw(&domain, "svg");
    let layout = render("wide_names", &svg);
    assert_clean(&layout);
}

#[test]
fn a_nested_machines_failed_finished_is_not_the_parents() {
    let trace =
        std::env::temp_dir().join(format!("miq-diagram-21-{}-nested.json", std::process::id()));
    let top = "/RollbackDemo/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template";
    let names = states();
    let ev = |machine: &str, kind: &str, state: &str, result: &str| serde_json::json!({"event": kind, "machine": machine, "state": state, "result": result});
    let delivery = serde_json::json!({"ae_result": "error", "trace": [{"delivery": 1, "events": [
        ev(top, "enter", &names[0], ""),
        ev("/RollbackDemo/Other/Nested/Machine/child", "enter", names.last().unwrap(), ""),
        ev("/RollbackDemo/Other/Nested/Machine/child", "done", names.last().unwrap(), "error"),
        ev(top, "done", &names[0], "error"),
    ]}]});
    std::fs::write(&trace, delivery.to_string()).unwrap();
    let out = miq(&[
        "diagram",
        MACHINE,
        "--datastore",
        DOMAIN,
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let svg = String::from_utf8(out.stdout).unwrap();
    let class_of = |name: &str| {
        let at = svg.find(&format!("data-state=\"{name}\"")).unwrap();
        let rest = &svg[at..];
        let c = rest.find("class=\"").unwrap() + 7;
        rest[c..c + rest[c..].find('"').unwrap()].to_string()
    };
    assert_eq!(class_of(&names[0]), "box failed");
    assert_eq!(class_of(names.last().unwrap()), "box untouched");
}

#[test]
fn a_closed_pipe_ends_the_diagram_quietly() {
    use std::io::Read;
    let mut child = Command::new(env!("CARGO_BIN_EXE_miq-automate"))
        .current_dir(root())
        .args(["diagram", MACHINE, "--datastore", DOMAIN])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 8];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--output` is the format and `-o/--out` the file, as in every subcommand; the old
/// spellings (`--format F`, `--output FILE`) still work for one release, with a warning.
#[test]
fn output_is_the_format_and_out_the_file_the_old_spellings_warn() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.mmd");
    let out = miq(&[
        "diagram",
        MACHINE,
        "--datastore",
        DOMAIN,
        "-O",
        "mermaid",
        "--out",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .starts_with("---\ntitle:"));

    let old = dir.path().join("old.svg");
    let out = miq(&[
        "diagram",
        MACHINE,
        "--datastore",
        DOMAIN,
        "--output",
        old.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(std::fs::read_to_string(&old).unwrap().contains("<svg"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is the old spelling of the file: write -o/--out"),
        "{stderr}"
    );

    let out = miq(&["diagram", MACHINE, "--datastore", DOMAIN, "--format", "dot"]);
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("digraph"));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("--format is the old spelling: write --output dot"));
}

// ---- issue 23: a traced picture tells the run; retry loops and error paths; the layout ----

const LONG15: &str = "tests/domains/Long15";
const LONG15_MACHINE: &str =
    "/Infrastructure/VM/Provisioning/StateMachines/VMProvision_Long/template";

fn long15_states() -> Vec<(String, Option<String>, Option<String>)> {
    schema_states(&root().join(format!(
        "{LONG15}/Infrastructure/VM/Provisioning/StateMachines/VMProvision_Long.class/__class__.yaml"
    )))
}

fn diagram_ok(args: &[&str]) -> String {
    let mut all = vec!["diagram"];
    all.extend_from_slice(args);
    ok_stdout(miq(&all))
}

fn write_trace(name: &str, trace: &Value) -> std::path::PathBuf {
    let path = out_dir().join(format!("{name}.json"));
    std::fs::write(&path, trace.to_string()).unwrap();
    path
}

/// Events of one machine (the `machine` field filled in).
fn events(machine: &str, list: Vec<Value>) -> Vec<Value> {
    list.into_iter()
        .map(|mut e| {
            e["machine"] = machine.into();
            e
        })
        .collect()
}

fn passing(state: &str) -> Vec<Value> {
    vec![
        serde_json::json!({"event": "enter", "state": state, "retries": 0}),
        serde_json::json!({"event": "step", "state": state, "step": "on_entry", "method": "update_provision_status(status => 'x')", "result": "ok"}),
        serde_json::json!({"event": "step", "state": state, "step": "main", "method": "/x", "result": "ok", "domain": "RollbackDemo", "fqname": "/RollbackDemo/x"}),
        serde_json::json!({"event": "step", "state": state, "step": "on_exit", "method": "update_provision_status(status => 'y')", "result": "ok"}),
        serde_json::json!({"event": "done", "state": state, "result": "ok"}),
    ]
}

fn retrying(state: &str, retries: i64, domain: &str) -> Vec<Value> {
    vec![
        serde_json::json!({"event": "enter", "state": state, "retries": retries}),
        serde_json::json!({"event": "step", "state": state, "step": "main", "method": "/Infrastructure/VM/Provisioning/StateMachines/Methods/CheckProvisioned", "result": "retry", "reason": "the clone is still running", "domain": domain, "fqname": format!("/{domain}/Infrastructure/VM/Provisioning/StateMachines/Methods/CheckProvisioned")}),
        serde_json::json!({"event": "done", "state": state, "result": "retry", "retries": retries + 1, "retry_interval": 60, "reason": "the clone is still running"}),
    ]
}

const EXCEEDED: &str = "RuntimeError: number of retries <6> exceeded maximum of <5>";

/// A run that passes the first states, retries `state` six times a minute apart, then fails
/// there (max_retries exceeded) and its on_error rolls back two steps, one of them failing.
fn failed_run(machine: &str, names: &[String], state: &str, domain: &str) -> Value {
    let at = names.iter().position(|n| n == state).unwrap();
    let mut first: Vec<Value> = names[..at].iter().flat_map(|n| passing(n)).collect();
    first.extend(retrying(state, 0, domain));
    let mut deliveries =
        vec![serde_json::json!({"delivery": 1, "at": 0, "events": events(machine, first)})];
    for d in 1..6 {
        deliveries.push(serde_json::json!({"delivery": d + 1, "at": d * 60, "events": events(machine, retrying(state, d, domain))}));
    }
    let last = vec![
        serde_json::json!({"event": "enter", "state": state, "retries": 6}),
        serde_json::json!({"event": "step", "state": state, "step": "main", "method": "/CheckProvisioned", "result": "error", "error": EXCEEDED}),
        serde_json::json!({"event": "instantiate", "state": state, "step": "on_error", "uri": "/Infrastructure/VM/Provisioning/Rollback/Methods/UnregisterDNS", "result": "ok"}),
        serde_json::json!({"event": "instantiate", "state": state, "step": "on_error", "uri": "/Infrastructure/VM/Provisioning/Rollback/Methods/ReleaseIPAddress", "result": "error", "error": "RuntimeError: IPAM unreachable"}),
        serde_json::json!({"event": "step", "state": state, "step": "on_error", "method": "update_provision_status(status => 'Error Creating VM')", "result": "error"}),
        serde_json::json!({"event": "done", "state": state, "result": "error", "reason": EXCEEDED}),
    ];
    deliveries.push(serde_json::json!({"delivery": 7, "at": 360, "events": events(machine, last)}));
    serde_json::json!({"ae_result": "error", "ae_reason": "Error Creating VM", "error": EXCEEDED,
                       "virtual_seconds": 360, "started_at": "2026-12-04T10:00:00Z", "trace": deliveries})
}

#[test]
fn a_failed_run_tells_why_where_and_what_rolled_back() {
    let names = states();
    let top = "/RollbackDemo/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template";
    let trace = write_trace(
        "failed_run",
        &failed_run(top, &names, "CheckProvisioned", "RollbackDemo"),
    );
    let svg = diagram_ok(&[
        MACHINE,
        "--datastore",
        DOMAIN,
        "--matrix",
        &format!("{DOMAIN}/rollback_matrix_per_state.yaml"),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let layout = render("failed_run", &svg);
    assert_clean(&layout);
    assert_eq!(drawn(&layout), names, "every state, in order");

    let failed = state(&layout, "CheckProvisioned");
    assert_eq!(failed["class"], "box failed");
    let (texts, tips) = shown(failed);
    let all = texts.join("\n");
    assert!(all.contains("failed here after 6 retries over 6m"), "{all}");
    assert!(all.contains("served by RollbackDemo"), "{all}");
    assert!(
        tips.iter().any(|t| t == &format!("why: {EXCEEDED}")),
        "the reason, whole: {tips:?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with("why: RuntimeError")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.starts_with("✓ on_error")),
        "the on_error that ran: {texts:?}"
    );
    assert!(
        failed["error"][0][0].as_str().unwrap().contains("taken"),
        "{failed}"
    );
    assert!(failed["loop"].as_bool().unwrap());
    // A passed state: its on_error did not run.
    let (passed, _) = shown(state(&layout, "RegisterDNS"));
    assert!(
        passed.iter().any(|t| t.starts_with("  on_error")),
        "{passed:?}"
    );
    assert!(passed[0].starts_with("4. RegisterDNS"), "{passed:?}");
    assert_eq!(state(&layout, "Finished")["class"], "box untouched");

    // The rollback that ran, in order with its outcome: not the planned one.
    let rollback = layout["rollback"].as_array().unwrap();
    assert_eq!(rollback.len(), 1, "only where a rollback ran: {rollback:?}");
    assert_eq!(rollback[0]["state"], "CheckProvisioned");
    assert!(rollback[0]["class"].as_str().unwrap().contains(" ran"));
    let (steps, step_tips) = shown(&rollback[0]);
    assert!(steps[0].starts_with("rollback that ran"), "{steps:?}");
    let unregister = step_tips
        .iter()
        .position(|t| t.contains("UnregisterDNS ✓ ok"))
        .expect("UnregisterDNS ran ok");
    let release = step_tips
        .iter()
        .position(|t| t.contains("ReleaseIPAddress ✗ error: RuntimeError: IPAM unreachable"))
        .expect("ReleaseIPAddress failed");
    assert!(unregister < release, "in order: {step_tips:?}");
    assert!(
        !steps
            .iter()
            .chain(&step_tips)
            .any(|t| t.contains("${/#rollback_class}") || t.contains("vm.retire_now")),
        "no planned step: {steps:?}"
    );

    // The end node: the final ae_result and why.
    let ends = layout["ends"].as_array().unwrap();
    let error_end = ends.iter().find(|e| e["end"] == "error").unwrap();
    assert!(error_end["class"].as_str().unwrap().contains("reached"));
    let (_, end_tips) = shown(error_end);
    assert_eq!(end_tips[0], format!("end: error — {EXCEEDED}"));
    let normal = ends.iter().find(|e| e["end"] == "end").unwrap();
    assert!(shown(normal).0[0].contains("not reached"), "{normal}");
}

#[test]
fn retry_loops_only_where_a_retry_can_happen_and_every_on_error_has_its_edge() {
    let svg = diagram_ok(&[LONG15_MACHINE, "--datastore", LONG15]);
    let layout = render("long15", &svg);
    assert_clean(&layout);
    let schema = long15_states();
    assert_eq!(schema.len(), 15);
    assert_eq!(
        drawn(&layout),
        schema.iter().map(|s| s.0.clone()).collect::<Vec<_>>()
    );
    for (name, max_retries, on_error) in &schema {
        let drawn = state(&layout, name);
        let can_retry = max_retries.as_deref().is_some_and(|m| m != "0");
        assert_eq!(
            drawn["loop"].as_bool(),
            Some(can_retry),
            "{name}: max_retries {max_retries:?}"
        );
        assert_eq!(
            !drawn["error"].as_array().unwrap().is_empty(),
            on_error.is_some(),
            "{name}: on_error {on_error:?}"
        );
    }
    assert!(
        schema.iter().any(|s| s.1.as_deref() == Some("0")) && schema.iter().any(|s| s.1.is_none())
    );
    // Errors go to the error end.
    let ends = layout["ends"].as_array().unwrap();
    assert!(ends.iter().any(|e| e["end"] == "error"));
    assert_eq!(
        shown(ends.iter().find(|e| e["end"] == "end").unwrap()).0,
        ["end"]
    );
}

#[test]
fn fifteen_states_with_long_texts_fit_one_screen_and_keep_their_full_text() {
    let svg = diagram_ok(&[LONG15_MACHINE, "--datastore", LONG15]);
    let layout = render("long15_fit", &svg);
    assert_clean(&layout);
    assert_fits_the_screen(&layout);
    // The title: the whole path, with its domain (wrapped if need be, never cut).
    assert_eq!(
        layout["title"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect::<String>(),
        "/Long15/Infrastructure/VM/Provisioning/StateMachines/VMProvision_Long/template"
    );
    // Each main: shown in pieces (wrapped, maybe shortened), whole in every piece's tooltip.
    let first = state(&layout, "CustomizeTheProvisionRequest");
    let (texts, tips) = shown(first);
    let main = "main   → /Infrastructure/VM/Provisioning/StateMachines/Methods/CustomizeTheProvisionRequestWithAVeryLongMethodName#${/#miq_provision.source.vendor}";
    let pieces: Vec<usize> = (0..texts.len()).filter(|&i| tips[i] == main).collect();
    assert!(pieces.len() > 1, "the main wrapped: {texts:?}");
    let joined: String = pieces
        .iter()
        .map(|&i| texts[i].trim_end_matches('…'))
        .collect();
    assert!(
        main.replace(' ', "").starts_with(&joined.replace(' ', "")),
        "{joined}"
    );
}

#[test]
fn a_traced_run_of_fifteen_states_fits_one_screen() {
    let names: Vec<String> = long15_states().into_iter().map(|s| s.0).collect();
    let top = "/Long15/Infrastructure/VM/Provisioning/StateMachines/VMProvision_Long/template";
    let failing = names[10].clone();
    let mut run = failed_run(top, &names, &failing, "Long15");
    // A state with no max_retries that retried: a loop all the same.
    let dhcp = &names[3];
    let first = run["trace"][0]["events"].as_array_mut().unwrap();
    let at = first
        .iter()
        .position(|e| e["state"] == dhcp.as_str() && e["event"] == "done")
        .unwrap();
    first.insert(at, serde_json::json!({"event": "done", "machine": top, "state": dhcp, "result": "retry", "reason": "DHCP busy"}));
    first.insert(
        at + 1,
        serde_json::json!({"event": "enter", "machine": top, "state": dhcp, "retries": 1}),
    );
    let trace = write_trace("long15_trace", &run);
    let svg = diagram_ok(&[
        LONG15_MACHINE,
        "--datastore",
        LONG15,
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let layout = render("long15_traced", &svg);
    assert_clean(&layout);
    assert_fits_the_screen(&layout);
    assert_eq!(drawn(&layout), names);
    let failed = state(&layout, &failing);
    assert_eq!(failed["class"], "box failed");
    assert!(
        shown(failed).1.iter().any(|t| t.contains(EXCEEDED)),
        "{failed}"
    );
    assert!(
        state(&layout, dhcp)["loop"].as_bool().unwrap(),
        "retried: a loop"
    );
    assert_eq!(state(&layout, &names[14])["class"], "box untouched");
    let error_end = layout["ends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["end"] == "error")
        .unwrap()
        .clone();
    assert!(shown(&error_end).1[0].contains(EXCEEDED));
}

#[test]
fn an_on_error_that_jumps_goes_to_its_state() {
    let svg = diagram_ok(&[
        "/Steps/Machine/error_next",
        "--datastore",
        "tests/domains/state_machines/SM",
    ]);
    let layout = render("error_next", &svg);
    assert_clean(&layout);
    let edges = state(&layout, "state1")["error"].clone();
    assert_eq!(edges[0][1], "state3", "{edges}");
    assert!(edges[0][0].as_str().unwrap().contains("jump"));
    assert!(
        state(&layout, "state2")["error"][0][1] == "",
        "state2's errors go to the error end"
    );
}

/// ManageIQ's own VMProvision_VM/template (15 states) from a manageiq-content checkout
/// (MIQ_CONTENT_REPO, else the mirror this project is developed with): it fits one 1600×1200
/// screen, untraced and traced with a run failing in PostProvision after CheckProvisioned's
/// retries. Skipped, saying so, without a checkout.
#[test]
fn manageiq_vmprovision_vm_fits_one_screen() {
    let repo = std::env::var("MIQ_CONTENT_REPO")
        .unwrap_or_else(|_| "/work/.mirror/ManageIQ+manageiq-content/repo".into());
    let ok = Command::new("git")
        .args(["-C", &repo, "rev-parse", "HEAD"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("skipped: no manageiq-content git checkout at {repo} (set MIQ_CONTENT_REPO)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let archive = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "git -C '{repo}' archive HEAD content/automate/ManageIQ | tar -x -C '{}'",
            dir.path().display()
        ))
        .status()
        .unwrap();
    assert!(archive.success());
    let ds = dir.path().join("content/automate/ManageIQ");
    let ds = ds.to_str().unwrap();
    let svg = diagram_ok(&[MACHINE, "--datastore", ds]);
    let layout = render("manageiq_vmprovision_vm", &svg);
    assert_clean(&layout);
    assert_fits_the_screen(&layout);
    assert_eq!(drawn(&layout).len(), 15);
    assert!(layout["title"][0]
        .as_str()
        .unwrap()
        .starts_with("/ManageIQ/Infrastructure/"));

    // A run of it, in a world, failing in PostProvision.
    let sm = "/Infrastructure/VM/Provisioning/StateMachines";
    let run = miq(&[
        "run",
        &format!("{sm}/VMProvision_VM/template?MiqProvision::miq_provision=800&MiqServer::miq_server=1&vmdb_object_type=miq_provision"),
        "--datastore",
        ds,
        "--world",
        "examples/worlds/vm_provision.json",
        "--stub",
        &format!("{sm}/Methods/PostProvision=error"),
        "--output",
        "json",
    ]);
    assert_eq!(
        run.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let trace = out_dir().join("manageiq_run.json");
    std::fs::write(&trace, &run.stdout).unwrap();
    let svg = diagram_ok(&[
        MACHINE,
        "--datastore",
        ds,
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let layout = render("manageiq_vmprovision_vm_traced", &svg);
    assert_clean(&layout);
    assert_fits_the_screen(&layout);
    let failed = state(&layout, "PostProvision");
    assert_eq!(failed["class"], "box failed");
    assert!(
        shown(failed)
            .0
            .iter()
            .any(|t| t.starts_with("why: stubbed to fail")),
        "{failed}"
    );
    let check = shown(state(&layout, "CheckProvisioned")).0.join("\n");
    assert!(check.contains("after 2 retries over 2m"), "{check}");
    let error_end = layout["ends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["end"] == "error")
        .unwrap()
        .clone();
    assert!(
        shown(&error_end).1[0].starts_with("end: error — stubbed to fail"),
        "{error_end}"
    );
}

/// A run of the example domain (`miq-automate run … --output json`) with stubs, as a trace.
fn example_run(name: &str, stubs: &[&str]) -> std::path::PathBuf {
    let sm = "/Infrastructure/VM/Provisioning/StateMachines";
    let mut args = vec![
        "run".to_string(),
        MACHINE.to_string(),
        "--datastore".into(),
        DOMAIN.into(),
        "--model".into(),
        "examples/run/vmware_provision.json".into(),
        "--stub".into(),
        format!("{sm}/Methods/CustomizeRequest=ok"),
        "--output".into(),
        "json".into(),
    ];
    for stub in stubs {
        args.extend(["--stub".to_string(), stub.replace("$SM", sm)]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = cli::miq_ruby(&args);
    assert!(
        !run.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let path = out_dir().join(format!("{name}.json"));
    std::fs::write(&path, &run.stdout).unwrap();
    path
}

fn traced(name: &str, trace: &std::path::Path) -> Value {
    let svg = diagram_ok(&[
        MACHINE,
        "--datastore",
        DOMAIN,
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let layout = render(name, &svg);
    assert_clean(&layout);
    assert_fits_the_screen(&layout);
    layout
}

fn legend(layout: &Value) -> Vec<String> {
    layout["legend"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_failed_run_draws_no_filled_wedge_and_its_outcomes_in_one_place() {
    let trace = example_run(
        "trial_failed",
        &["/Infrastructure/VM/Provisioning/Network/Methods/RegisterDNS=error"],
    );
    // assert_clean: every path (edges, the error rail the run took, loops) is unfilled.
    let layout = traced("trial_failed", &trace);
    let rails: Vec<&Value> = layout["paths"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p[0] == "error-rail reached")
        .collect();
    assert_eq!(rails.len(), 1, "the error rail the run took: {layout}");
    // The outcome sits under the name in every box, reached or not.
    for s in layout["states"].as_array().unwrap() {
        let (texts, _) = shown(s);
        let second = texts[1..]
            .iter()
            .find(|t| !t.starts_with("max_retries"))
            .unwrap();
        assert!(
            ["✓ ok", "✗ failed here", "not reached in this run"]
                .iter()
                .any(|o| second.starts_with(o)),
            "{}: {texts:?}",
            s["name"]
        );
    }
    let legend = legend(&layout);
    assert!(
        legend.contains(&"failed in this run".to_string()),
        "{legend:?}"
    );
    assert!(
        !legend
            .iter()
            .any(|l| l.contains("retried in this run") || l.contains("still retrying")),
        "nothing retried: {legend:?}"
    );
}

#[test]
fn a_run_stopped_while_retrying_is_amber_and_says_its_limit() {
    let trace = example_run(
        "trial_retrying",
        &[
            "$SM/Methods/Provision=ok",
            "$SM/Methods/CheckProvisioned=retry",
        ],
    );
    let layout = traced("trial_retrying", &trace);
    let check = state(&layout, "CheckProvisioned");
    assert_eq!(check["class"], "box retried", "{check}");
    let (texts, tips) = shown(check);
    assert!(texts[2].starts_with("↻ still retrying after"), "{texts:?}");
    assert!(
        tips.iter()
            .any(|t| t.contains("when the run stopped (limit max_deliveries)")),
        "{tips:?}"
    );
    // The virtual time as the timeline and `run` say it.
    let all = texts.join(" ");
    assert!(all.contains(" over 1h39m "), "{all}");
    assert_eq!(state(&layout, "Provision")["class"], "box passed");
    let legend = legend(&layout);
    assert!(
        legend.contains(&"retried (or still retrying) in this run".to_string()),
        "{legend:?}"
    );
    assert!(
        !legend
            .iter()
            .any(|l| l.contains("failed in this run") || l.contains("✗")),
        "nothing failed: {legend:?}"
    );
}

#[test]
fn a_passed_runs_legend_lists_only_what_it_draws() {
    let names = states();
    let top = "/RollbackDemo/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template";
    let all: Vec<Value> = names.iter().flat_map(|n| passing(n)).collect();
    let doc = serde_json::json!({"ae_result": "ok", "virtual_seconds": 90,
        "trace": [{"delivery": 1, "at": 0, "events": events(top, all)}]});
    let trace = write_trace("passed_run", &doc);
    let layout = traced("passed_run", &trace);
    for s in layout["states"].as_array().unwrap() {
        assert_eq!(s["class"], "box passed", "{s}");
    }
    let legend = legend(&layout);
    for absent in [
        "failed",
        "not reached",
        "✗",
        "retried in this run",
        "still retrying",
        "rollback",
    ] {
        assert!(
            !legend.iter().any(|l| l.contains(absent)),
            "{absent}: {legend:?}"
        );
    }
    assert!(
        legend.contains(&"passed in this run".to_string()),
        "{legend:?}"
    );
    // 90 s of virtual time read as the timeline and `run` say it.
    let svg = diagram_ok(&[
        MACHINE,
        "--datastore",
        DOMAIN,
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(svg.contains("· 1m30s on the virtual clock"), "{svg}");
}
