//! The text forms of `miq-automate diagram` through real renderers: Mermaid by the `mermaid`
//! npm package (tests/js, installed by scripts/install-deps.sh) in headless chromium, DOT by
//! Graphviz's `dot -Tsvg`, the table as Markdown whose rows all have the columns. Hostile
//! state names (Mermaid and Markdown syntax, HTML, control characters) must render as text.
//! Screenshots land in target/diagram/ (mermaid.png, dot.png).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

#[path = "support/browser.rs"]
mod browser;
#[path = "support/cli.rs"]
mod cli;
#[path = "support/domain.rs"]
mod domain;

use cli::{miq, ok_stdout, root};
use domain::{states, DOMAIN, MACHINE};

const TRACE: &str = "crates/cli/tests/traces/vmprovision.retries_then_error.json";

fn diagram(domain: &str, extra: &[&str]) -> String {
    let mut args = vec!["diagram", MACHINE, "--datastore", domain];
    args.extend(extra);
    ok_stdout(miq(&args))
}

/// Names that are syntax in Mermaid, DOT, Markdown or HTML, one a state.
const HOSTILE: [&str; 5] = [
    "a: b; c # d {e} %% f",
    "<script>alert(1)</script> & <b>x</b>",
    "pipe | back\\\\slash `tick` *star* [link](x)",
    "quote \\\"dq\\\" 'sq' --> s1 #58;",
    "new\\nline state Injected as s99",
];

/// What each hostile name is once read (YAML's escapes undone) and shown (a newline as `\n`).
fn hostile_shown() -> Vec<String> {
    vec![
        "a: b; c # d {e} %% f".into(),
        "<script>alert(1)</script> & <b>x</b>".into(),
        "pipe | back\\slash `tick` *star* [link](x)".into(),
        "quote \"dq\" 'sq' --> s1 #58;".into(),
        "new\\nline state Injected as s99".into(),
    ]
}

/// A copy of the example domain whose first states carry the hostile names.
fn hostile_domain(tag: &str) -> PathBuf {
    domain::renamed_copy(&format!("diagram-text-{tag}"), &HOSTILE)
}

fn mermaid_js() -> PathBuf {
    let js = root().join("tests/js/node_modules/mermaid/dist/mermaid.min.js");
    assert!(
        js.exists(),
        "mermaid is missing ({}): run scripts/install-deps.sh (npm ci --prefix tests/js)",
        js.display()
    );
    js
}

/// Loads a page in headless chromium and reads what its script wrote into
/// `<pre id="layout-check">`: as `browser::measure`, with time for mermaid's asynchronous
/// rendering.
fn dump(page: &Path) -> Value {
    browser::measure_within(page, "1600,1200", 30000)
}

/// Renders Mermaid text with the mermaid package in chromium: whether it parsed, the error,
/// every node's classes and text, and all the SVG's text.
fn render_mermaid(name: &str, text: &str) -> Value {
    let dir = browser::out_dir("diagram");
    let page = dir.join(format!("{name}.mermaid.html"));
    let html = format!(
        r#"<!DOCTYPE html><html><head><meta charset="utf-8"><script src="file://{js}"></script></head>
<body style="margin:0;background:#fff"><div id="out"></div>
<script>
(async function () {{
  const result = {{}};
  try {{
    mermaid.initialize({{ startOnLoad: false, securityLevel: 'strict' }});
    const text = {src};
    await mermaid.parse(text);
    const {{ svg }} = await mermaid.render('diagram', text);
    document.getElementById('out').innerHTML = svg;
    const el = document.querySelector('#out svg');
    result.ok = true;
    result.nodes = Array.from(el.querySelectorAll('g.node')).map((g) => ({{ id: g.id, class: g.getAttribute('class'), text: g.textContent }}));
    result.edges = Array.from(el.querySelectorAll('.edgeLabel')).map((e) => e.textContent);
    result.scripts = el.querySelectorAll('script').length;
    result.width = el.getBoundingClientRect().width;
    result.height = el.getBoundingClientRect().height;
  }} catch (e) {{ result.ok = false; result.error = String((e && e.message) || e); }}
  const pre = document.createElement('pre'); pre.id = 'layout-check'; pre.style.display = 'none';
  pre.textContent = JSON.stringify(result); document.body.appendChild(pre);
}})();
</script></body></html>"#,
        js = mermaid_js().display(),
        src = serde_json::to_string(text).unwrap()
    );
    std::fs::write(&page, html).unwrap();
    let result = dump(&page);
    if result["ok"] == true {
        let h = result["height"]
            .as_f64()
            .unwrap_or(1200.0)
            .ceil()
            .max(200.0);
        browser::screenshot(
            &page,
            &dir.join(format!("{name}.png")),
            &format!("1600,{}", h as u64 + 20),
        );
    }
    result
}

/// Text without whitespace (wrapped lines are joined without a space in the DOM's text).
fn squeeze(text: &str) -> String {
    text.split_whitespace().collect()
}

fn node_text(result: &Value) -> String {
    result["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["text"].as_str().unwrap().to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

fn node_class(result: &Value, id: &str) -> String {
    result["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| {
            n["id"]
                .as_str()
                .is_some_and(|i| i.starts_with(&format!("diagram-state-{id}-")))
        })
        .unwrap_or_else(|| panic!("no node {id}: {result}"))["class"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn mermaid_renders_the_traced_example_with_details_inside_the_states() {
    let text = diagram(DOMAIN, &["--trace", TRACE, "--output", "mermaid"]);
    assert!(
        !text.contains("note right of"),
        "details are inside the states"
    );
    assert!(!text.contains('∶'), "a real colon, written #58;");
    let result = render_mermaid("mermaid", &text);
    assert_eq!(result["ok"], true, "{result}");
    let shown = node_text(&result);
    for name in states(&root().join(DOMAIN)) {
        assert!(
            squeeze(&shown).contains(&squeeze(&name)),
            "{name} missing: {shown}"
        );
    }
    assert!(shown.contains("main: /Infrastructure/VM/Provisioning/StateMachines/Methods/"));
    assert!(
        squeeze(&shown).contains(&squeeze(
            "RuntimeError: post-provision hook failed | vm <web01> has no `ipaddress`"
        )),
        "the failed state's reason: {shown}"
    );
    assert!(shown.contains("after 3 retries"), "{shown}");
    // Classes by outcome: 6 CheckProvisioned retried, 7 PostProvision failed, 8 not reached.
    assert!(node_class(&result, "s1").contains("passed"));
    assert!(node_class(&result, "s6").contains("retried"));
    assert!(node_class(&result, "s7").contains("failed"));
    assert!(node_class(&result, "s8").contains("notreached"));
    let edges = result["edges"].to_string();
    assert!(
        edges.contains("on_error") && edges.contains("retry"),
        "{edges}"
    );
}

#[test]
fn mermaid_renders_hostile_names_as_text() {
    let domain = hostile_domain("mermaid");
    let text = diagram(domain.to_str().unwrap(), &["--output", "mermaid"]);
    let result = render_mermaid("mermaid_hostile", &text);
    assert_eq!(result["ok"], true, "{result}\n{text}");
    assert_eq!(result["scripts"], 0, "no script element");
    let shown = node_text(&result);
    for name in hostile_shown() {
        assert!(
            squeeze(&shown).contains(&squeeze(&name)),
            "{name:?} not shown as text: {shown}"
        );
    }
    // Only the machine's states and the start and end: nothing injected.
    let states = states(&domain).len();
    assert_eq!(
        result["nodes"].as_array().unwrap().len(),
        states + 2,
        "{result}"
    );
}

/// `dot -Tsvg` of a DOT text: the SVG, after checking it exits 0 without a syntax warning.
fn graphviz(name: &str, text: &str) -> String {
    let dir = browser::out_dir("diagram");
    let src = dir.join(format!("{name}.dot"));
    std::fs::write(&src, text).unwrap();
    let out = Command::new("dot")
        .arg("-Tsvg")
        .arg(&src)
        .output()
        .unwrap_or_else(|e| {
            panic!("Graphviz's dot is missing ({e}): run scripts/install-deps.sh (apt-get install graphviz)")
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "dot failed: {stderr}\n{text}");
    assert!(
        !stderr.contains("syntax error") && !stderr.contains("Error"),
        "{stderr}"
    );
    let svg = String::from_utf8(out.stdout).unwrap();
    let file = dir.join(format!("{name}.svg"));
    std::fs::write(&file, &svg).unwrap();
    browser::screenshot(&file, &dir.join(format!("{name}.png")), "1600,2400");
    svg
}

/// The text of an SVG's `<text>` elements, entities undone.
fn svg_texts(svg: &str) -> String {
    let mut all = String::new();
    for part in svg.split("<text").skip(1) {
        let start = part.find('>').unwrap() + 1;
        let end = part.find("</text>").unwrap();
        all.push_str(&part[start..end]);
        all.push('\n');
    }
    all.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#45;", "-")
        .replace("&#160;", " ")
        .replace("&amp;", "&")
}

#[test]
fn dot_renders_through_graphviz_with_every_state_and_the_reason() {
    let text = diagram(DOMAIN, &["--trace", TRACE, "--output", "dot"]);
    let svg = graphviz("dot", &text);
    let shown = svg_texts(&svg);
    for name in states(&root().join(DOMAIN)) {
        assert!(shown.contains(&name), "{name} missing");
    }
    assert!(!shown.contains('…'), "nothing shortened");
    assert!(
        shown.contains("/Infrastructure/VM/Provisioning/StateMachines/Methods/"),
        "{shown}"
    );
    assert!(shown.contains("RuntimeError: post-provision hook failed | vm <web01>"));
    assert!(shown.contains("on_error") && shown.contains("retry"));
    assert!(text.contains("class=\"failed\"") && text.contains("class=\"notreached\""));
}

#[test]
fn dot_renders_hostile_names_as_text() {
    let domain = hostile_domain("dot");
    let text = diagram(domain.to_str().unwrap(), &["--output", "dot"]);
    let svg = graphviz("dot_hostile", &text);
    assert!(!svg.contains("<script"), "no script element");
    let shown = svg_texts(&svg);
    for name in hostile_shown() {
        // Graphviz draws a wrapped name's lines as separate texts.
        let flat = shown.replace('\n', "");
        assert!(flat.contains(&name), "{name:?} not shown: {shown}");
    }
}

/// A Markdown table row's cells, `\` escapes kept (as GFM splits a row: `\|` is no border).
fn md_cells(line: &str) -> Vec<String> {
    let inner = line
        .trim()
        .strip_prefix('|')
        .unwrap()
        .strip_suffix('|')
        .unwrap();
    let mut cells = vec![String::new()];
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let next = chars.next().unwrap();
                cells.last_mut().unwrap().push(next);
            }
            '|' => cells.push(String::new()),
            c => cells.last_mut().unwrap().push(c),
        }
    }
    cells.iter().map(|c| c.trim().to_string()).collect()
}

#[test]
fn the_table_has_every_column_in_every_row_and_escapes_cells() {
    let domain = hostile_domain("table");
    let text = diagram(
        domain.to_str().unwrap(),
        &[
            "--trace",
            &root().join(TRACE).display().to_string(),
            "--output",
            "table",
        ],
    );
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
    let header = md_cells(rows[0]);
    assert_eq!(
        header,
        [
            "Name",
            "Value",
            "On Entry",
            "On Exit",
            "On Error",
            "Max Retries",
            "Max Time",
            "Result",
            "Domain",
            "Rollback"
        ]
    );
    let names = states(&domain);
    assert_eq!(rows.len(), names.len() + 2, "{text}");
    for row in &rows {
        assert_eq!(md_cells(row).len(), header.len(), "{row}");
    }
    let body: Vec<Vec<String>> = rows[2..].iter().map(|r| md_cells(r)).collect();
    for (cells, name) in body.iter().zip(hostile_shown()) {
        assert_eq!(cells[0], name, "the name, unescaped, is the state's");
    }
    assert!(
        !text.replace("\\<", "").contains('<'),
        "every < escaped (no HTML): {text}"
    );
    let post = &body[6];
    assert!(
        post[7].starts_with("✖ error: RuntimeError: post-provision hook failed | vm <web01>"),
        "{post:?}"
    );
    assert!(post[9].contains(
        "✖ /Infrastructure/VM/Provisioning/Rollback/Methods/UnregisterDHCP?reason=rollback error"
    ));
    assert_eq!(body[5][7], "↻ ok after 3 retries");
    assert_eq!(body[7][7], "not reached");
    assert_eq!(body[5][8], "ManageIQ", "the served domain");
    assert!(
        body[0][1].ends_with("#${/#miq_provision.source.vendor}"),
        "{:?}",
        body[0]
    );
}
