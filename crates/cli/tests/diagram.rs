//! `miq-automate diagram`: the example domain's state machine drawn as SVG and checked in a
//! real headless browser (every state present, no two texts overlapping, every text inside
//! the picture); Mermaid and DOT forms; a trace colouring the states. Screenshots land in
//! target/diagram/ for people to look at.

use std::process::{Command, Output};

use serde_json::Value;

#[path = "support/browser.rs"]
mod browser;

use browser::root;

const DOMAIN: &str = "examples/domains/RollbackDemo";
const MACHINE: &str = "/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template";

fn out_dir() -> std::path::PathBuf {
    browser::out_dir("diagram")
}

fn miq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miq-automate"))
        .current_dir(root())
        .args(args)
        .output()
        .unwrap()
}

fn states() -> Vec<String> {
    let schema = std::fs::read_to_string(root().join(format!(
        "{DOMAIN}/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM.class/__class__.yaml"
    )))
    .unwrap();
    let mut names = Vec::new();
    let mut aetype = String::new();
    for line in schema.lines() {
        let line = line.trim();
        if let Some(t) = line.strip_prefix("aetype:") {
            aetype = t.trim().to_string();
        }
        if let Some(n) = line.strip_prefix("name:") {
            if aetype == "state" {
                names.push(n.trim().to_string());
            }
        }
    }
    names
}

/// The SVG in an HTML page with a script measuring every text's box.
const CHECK: &str = r#"<script>
(function () {
  const svg = document.querySelector('svg');
  const texts = Array.from(svg.querySelectorAll('text'));
  const boxes = texts.map((t) => { const b = t.getBBox(); return { t: t.textContent, x: b.x, y: b.y, w: b.width, h: b.height }; });
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i], b = boxes[j];
    const w = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
    const h = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
    if (w > 0.5 && h > 0.5) overlaps.push([a.t, b.t]);
  }
  const W = svg.viewBox.baseVal.width, H = svg.viewBox.baseVal.height;
  const outside = boxes.filter((b) => b.x < 0 || b.y < 0 || b.x + b.w > W || b.y + b.h > H).map((b) => b.t);
  // Each text must stay inside the box (rect) of its group.
  const spills = [];
  svg.querySelectorAll('g.state-group, g.rollback-group').forEach((g) => {
    const rect = Array.from(g.querySelectorAll('rect')).find((r) => !r.classList.contains('nested'));
    const r = rect.getBBox();
    g.querySelectorAll('text').forEach((t) => {
      if (t.classList.contains('loop-label')) return;
      const b = t.getBBox();
      if (b.x < r.x || b.x + b.width > r.x + r.width + 0.5 || b.y < r.y || b.y + b.height > r.y + r.height + 0.5) spills.push(t.textContent);
    });
  });
  const states = Array.from(svg.querySelectorAll('g.state-group')).map((g) => [g.dataset.state, g.querySelector('rect').getAttribute('class')]);
  const rollback = Array.from(svg.querySelectorAll('g.rollback-group')).map((g) => g.dataset.state);
  const out = document.createElement('pre');
  out.id = 'layout-check';
  out.textContent = JSON.stringify({ overlaps, outside, spills, states, rollback, texts: boxes.length });
  document.body.appendChild(out);
})();
</script>"#;

fn render(name: &str, svg: &str) -> Value {
    let dir = out_dir();
    let svg_path = dir.join(format!("{name}.svg"));
    std::fs::write(&svg_path, svg).unwrap();
    let page = dir.join(format!("{name}.check.html"));
    std::fs::write(
        &page,
        format!("<!DOCTYPE html><html><body style=\"margin:0\">{svg}{CHECK}</body></html>"),
    )
    .unwrap();
    let (w, h) = size(svg);
    // The picture at 100% of its own size.
    let window = format!("{},{}", w.ceil(), h.ceil());
    let layout = browser::measure(&page, &window);
    browser::screenshot(&svg_path, &dir.join(format!("{name}.png")), &window);
    layout
}

fn size(svg: &str) -> (f64, f64) {
    let attr = |name: &str| -> f64 {
        let at = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        svg[at..at + svg[at..].find('"').unwrap()].parse().unwrap()
    };
    (attr("width"), attr("height"))
}

fn assert_clean(layout: &Value) {
    assert_eq!(layout["overlaps"], serde_json::json!([]), "{layout}");
    assert_eq!(layout["outside"], serde_json::json!([]), "{layout}");
    assert_eq!(layout["spills"], serde_json::json!([]), "{layout}");
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
    let drawn: Vec<String> = layout["states"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s[0].as_str().unwrap().to_string())
        .collect();
    assert_eq!(drawn, states(), "every state, in order");
    assert!(!layout["rollback"].as_array().unwrap().is_empty());
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
    assert!(svg.contains("(journal)"));
    let layout = render("vmprovision_vm_traced", &svg);
    assert_clean(&layout);
    let class_of = |name: &str| -> String {
        layout["states"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s[0] == name)
            .unwrap()[1]
            .as_str()
            .unwrap()
            .to_string()
    };
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
    let dir = std::env::temp_dir().join(format!("miq-diagram-21-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let copy = Command::new("cp")
        .arg("-r")
        .arg(root().join(DOMAIN))
        .arg(&dir)
        .status()
        .unwrap();
    assert!(copy.success());
    let class = dir
        .join("Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM.class/__class__.yaml");
    let mut schema = std::fs::read_to_string(&class).unwrap();
    for (old, new) in states().iter().zip(names) {
        schema = schema.replacen(&format!("name: {old}\n"), &format!("name: \"{new}\"\n"), 1);
    }
    std::fs::write(&class, schema).unwrap();
    dir
}

fn draw(domain: &std::path::Path, format: &str) -> String {
    let out = miq(&[
        "diagram",
        MACHINE,
        "--datastore",
        domain.to_str().unwrap(),
        "--format",
        format,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
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
