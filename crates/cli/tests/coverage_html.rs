//! `coverage report --output html` and `diagram --coverage`, rendered in a real headless
//! browser (Debian's chromium, scripts/install-deps.sh), on the coverage files Ruby wrote
//! for tests/domains/Coverage (tests/coverage: the happy path, a short stock).
//!
//! The page lists every method of the domain with its source, marks the lines the happy
//! path missed (reserve's error branch) and the hooks never run (every on_error), says the
//! --min gate failed, is no wider than the window, and shows a hostile source as text. The
//! diagram colours the state no test entered and marks each hook never run. The page, the
//! picture and their screenshots are kept in target/coverage-html/ for people to look at.

use std::path::Path;

use serde_json::{json, Value};

#[path = "support/browser.rs"]
mod browser;
#[path = "support/cli.rs"]
mod cli;
#[path = "support/coverage.rs"]
mod coverage;

use cli::{miq, stderr};
use coverage::{domain, fixture, write_doc};

const METHODS: [&str; 6] = [
    "/Coverage/Shop/Lib/stock",
    "/Coverage/Shop/Order/status",
    "/Coverage/Shop/Steps/cleanup",
    "/Coverage/Shop/Steps/finish",
    "/Coverage/Shop/Steps/reserve",
    "/Coverage/Shop/Steps/validate",
];

/// What the browser finds on the page: the methods of the summary and of the sources, each
/// source's lines by class, the hooks never run, the gate, every element wider than the
/// window, the scripts that run.
const PAGE_CHECK: &str = r#"<script>
(function () {
  const text = (sel) => { const e = document.querySelector(sel); return e ? e.textContent : null; };
  const width = document.documentElement.clientWidth;
  const wide = Array.from(document.querySelectorAll('body *'))
    .filter((e) => !e.closest('.wide') || e.matches('.wide'))
    .filter((e) => { const r = e.getBoundingClientRect(); return r.width > 0 && r.right > width + 1; })
    .map((e) => e.tagName + '.' + e.className + ': ' + (e.textContent || '').slice(0, 40));
  const lines = {};
  document.querySelectorAll('details.cov-method').forEach((d) => {
    const of = (cls) => Array.from(d.querySelectorAll('tr.' + cls)).map((tr) => Number(tr.dataset.line));
    const shown = (cls) => Array.from(d.querySelectorAll('tr.' + cls)).filter((tr) => tr.getBoundingClientRect().height > 0).length;
    const missedColour = Array.from(d.querySelectorAll('tr.missed td.code')).map((td) => getComputedStyle(td).backgroundColor);
    lines[d.dataset.method] = {
      open: d.open, hit: of('hit'), missed: of('missed'), plain: of('plain'), shownMissed: shown('missed'),
      missedColour, noSource: !!d.querySelector('.cov-no-source'),
      code: Array.from(d.querySelectorAll('td.code')).map((td) => td.textContent),
      hits: Array.from(d.querySelectorAll('tr.hit td.hits')).map((td) => td.textContent),
    };
  });
  const hooks = Array.from(document.querySelectorAll('.cov-states tr[data-state]')).map((tr) => ({
    state: tr.dataset.state, entered: Number(tr.dataset.entered),
    never: Array.from(tr.querySelectorAll('[data-reached="never"]')).map((h) => h.dataset.hook),
    run: Array.from(tr.querySelectorAll('[data-reached="run"]')).map((h) => h.dataset.hook),
  }));
  const page = {
    title: document.title,
    h1: text('h1'),
    facts: text('.run'),
    gate: text('.gate'),
    summary: Array.from(document.querySelectorAll('.cov-methods tr[data-method]')).map((tr) => tr.dataset.method),
    sources: Array.from(document.querySelectorAll('details.cov-method')).map((d) => d.dataset.method),
    relationships: text('#relationships'),
    scripts: document.scripts.length - 1,
    scrollWidth: document.documentElement.scrollWidth,
    width,
  };
  const out = document.createElement('pre');
  out.id = 'layout-check';
  out.textContent = JSON.stringify({ page, wide, lines, hooks });
  document.body.appendChild(out);
})();
</script>"#;

/// The page measured in chromium at `window`, and a screenshot beside it.
fn render(file: &Path, html: &str, window: &str) -> Value {
    browser::render(file, html, PAGE_CHECK, window)
}

fn assert_self_contained(html: &str) {
    for fetch in [
        "<script", "<link", "@import", "url(", "src=", "<img", "<iframe",
    ] {
        assert!(!html.contains(fetch), "the page fetches something: {fetch}");
    }
}

fn assert_no_wider_than_the_window(layout: &Value) {
    let page = &layout["page"];
    assert_eq!(
        layout["wide"],
        json!([]),
        "wider than the window: {layout:#}"
    );
    assert!(
        page["scrollWidth"].as_f64() <= page["width"].as_f64(),
        "the page scrolls sideways: {page:#}"
    );
}

#[test]
fn the_page_lists_every_method_with_its_missed_lines_and_the_hooks_never_run() {
    let dir = browser::out_dir("coverage-html");
    let file = dir.join("coverage.html");
    let _ = std::fs::remove_file(&file);
    let out = miq(&[
        "coverage",
        "report",
        &fixture("happy.json"),
        "--datastore",
        &domain(),
        "--min",
        "80",
        "--output",
        "html",
        "-o",
        file.to_str().unwrap(),
    ]);
    // Under --min: the page is written all the same, and the exit status is 2.
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "-o: nothing on stdout");
    assert!(
        stderr(&out).contains("is under --min 80%"),
        "{}",
        stderr(&out)
    );
    let html = std::fs::read_to_string(&file).expect("the page is written");
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert_self_contained(&html);
    let layout = render(&file, &html, "1200,1600");
    let page = &layout["page"];
    assert_eq!(page["scripts"], 0, "{page:#}");
    assert_no_wider_than_the_window(&layout);

    // The header: files merged, totals, the failed gate.
    assert!(
        page["h1"].as_str().unwrap().contains("Automate coverage"),
        "{page:#}"
    );
    let facts = page["facts"].as_str().unwrap();
    assert!(facts.contains("1 coverage file merged"), "{facts}");
    for figure in [
        "lines 17/27",
        "methods run 5/6",
        "states entered 3/3",
        "hooks run 6/9",
    ] {
        assert!(facts.contains(figure), "{figure} not in {facts}");
    }
    let gate = page["gate"].as_str().unwrap();
    assert!(
        gate.contains("FAILED") && gate.contains("--min 80%") && gate.contains("63.0%"),
        "{gate}"
    );

    // Every method of the domain, in the summary and with its source.
    let listed: Vec<&str> = page["summary"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(listed, METHODS, "{page:#}");
    assert_eq!(page["sources"], page["summary"], "{page:#}");

    // reserve: the happy path ran, the error branch (7-9) is marked missed, in red, open.
    let reserve = &layout["lines"]["/Coverage/Shop/Steps/reserve"];
    assert_eq!(reserve["hit"], json!([2, 3, 4, 5]), "{reserve:#}");
    assert_eq!(reserve["missed"], json!([7, 8, 9]), "{reserve:#}");
    assert_eq!(reserve["plain"], json!([1, 6, 10]), "{reserve:#}");
    assert_eq!(reserve["open"], true, "under 100%: open");
    assert_eq!(reserve["shownMissed"], 3, "the missed lines are visible");
    for colour in reserve["missedColour"].as_array().unwrap() {
        assert_eq!(colour, "rgb(253, 236, 234)", "a missed line is red");
    }
    assert_eq!(reserve["hits"], json!(["1×", "1×", "1×", "1×"]));
    assert!(
        reserve["code"][6]
            .as_str()
            .unwrap()
            .contains("$evm.root[\"ae_result\"] = \"error\""),
        "{reserve:#}"
    );
    // status ran 6 times, never on an error.
    let status = &layout["lines"]["/Coverage/Shop/Order/status"];
    assert_eq!(status["missed"], json!([6, 7]), "{status:#}");
    assert_eq!(status["hits"][0], "6×");
    // cleanup never ran: every executable line missed (approximated from its source).
    let cleanup = &layout["lines"]["/Coverage/Shop/Steps/cleanup"];
    assert_eq!(cleanup["missed"], json!([2, 3]), "{cleanup:#}");
    assert_eq!(cleanup["hit"], json!([]), "{cleanup:#}");
    // finish is fully covered: closed.
    assert_eq!(
        layout["lines"]["/Coverage/Shop/Steps/finish"]["open"],
        false
    );

    // Every state entered; every on_error hook never run, the others run.
    let hooks = layout["hooks"].as_array().unwrap();
    assert_eq!(hooks.len(), 3, "{hooks:#?}");
    for h in hooks {
        assert_eq!(h["entered"], 1, "{h:#}");
        assert_eq!(h["never"], json!(["on_error"]), "{h:#}");
        assert_eq!(h["run"], json!(["on_entry", "on_exit"]), "{h:#}");
    }
    // Relationships with the domain that served them.
    let rels = page["relationships"].as_str().unwrap();
    assert!(
        rels.contains("/Shop/Steps/reserve#create")
            && rels.contains("Coverage /Shop/Steps/reserve"),
        "{rels}"
    );
}

#[test]
fn a_hostile_source_shows_as_text_and_a_method_without_source_says_so() {
    let dir = browser::out_dir("coverage-html");
    let tmp = tempfile::tempdir().unwrap();
    let evil = tmp.path().join("evil.rb");
    let source = "# </pre><script>alert(1)</script>\nx = \"</td></tr></table><b>bold</b>\"\n\
                  $evm.log(:info, \"password=hunter2 #{x}\")\nif x.empty?\n  raise \"<img src=x onerror=alert(2)>\"\nend\n\
                  long = \"" ;
    let long_line = "a".repeat(400);
    let source = format!("{source}{long_line}\"\n");
    std::fs::write(&evil, &source).unwrap();
    let doc = json!({
        "format": "miq-automate-coverage/1",
        "methods": {
            "/Evil/<b>ns</b>/C/m\u{1}": {
                "file": evil.to_str().unwrap(),
                "runs": 2,
                "lines": [null, 2, 2, 2, 0, null, 2],
                "embeds": [], "embedded_in": []
            },
            "/Evil/ns/C/gone": {
                "file": null, "runs": 1, "lines": [null, 1, 0], "embeds": [], "embedded_in": []
            }
        },
        "machines": {}, "relationships": {}
    });
    let cov = tmp.path().join("evil.json");
    std::fs::write(&cov, doc.to_string()).unwrap();
    let file = dir.join("hostile.html");
    let out = miq(&[
        "coverage",
        "report",
        cov.to_str().unwrap(),
        "--output",
        "html",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&file).unwrap();
    assert!(!html.contains("<script"), "a script on the page");
    assert!(
        !html.contains("<b>bold</b>") && !html.contains("<b>ns</b>"),
        "hostile markup on the page"
    );
    assert!(!html.contains("hunter2"), "a secret on the page");
    let layout = render(&file, &html, "1000,1400");
    assert_eq!(layout["page"]["scripts"], 0);
    assert_no_wider_than_the_window(&layout);
    let methods: Vec<&str> = layout["page"]["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    // Control characters shown as escapes, as every text of the page.
    assert_eq!(methods, ["/Evil/<b>ns</b>/C/m\\u{1}", "/Evil/ns/C/gone"]);
    let m = &layout["lines"]["/Evil/<b>ns</b>/C/m\\u{1}"];
    assert_eq!(
        m["code"][0], "# </pre><script>alert(1)</script>",
        "shown as text: {m:#}"
    );
    assert!(
        m["code"][1].as_str().unwrap().contains("<b>bold</b>"),
        "{m:#}"
    );
    assert!(
        m["code"][2].as_str().unwrap().contains("password=********"),
        "{m:#}"
    );
    assert_eq!(m["missed"], json!([5]), "{m:#}");
    assert_eq!(m["hit"], json!([2, 3, 4, 7]), "{m:#}");
    // A method whose file the coverage file does not name, and no --datastore.
    let gone = &layout["lines"]["/Evil/ns/C/gone"];
    assert_eq!(gone["noSource"], true, "{gone:#}");
    assert!(html.contains("Source not available"), "{html}");
}

/// What the browser finds in the picture: each state's box class and coverage, the texts
/// marked never run, the header, texts outside the picture or overlapping.
const SVG_CHECK: &str = r#"<script>
(function () {
  const svg = document.querySelector('svg');
  const W = svg.viewBox.baseVal.width, H = svg.viewBox.baseVal.height;
  const texts = Array.from(svg.querySelectorAll('text'));
  const outside = texts.filter((t) => { const b = t.getBBox(); return b.x < 0 || b.y < 0 || b.x + b.width > W + 0.5 || b.y + b.height > H + 0.5; })
    .map((t) => t.textContent.slice(0, 40));
  const overlaps = [];
  const own = (t) => Array.from(t.childNodes).filter((n) => n.nodeType === 3).map((n) => n.textContent).join('');
  for (let i = 0; i < texts.length; i++) {
    for (let j = i + 1; j < texts.length; j++) {
      const a = texts[i].getBBox(), b = texts[j].getBBox();
      const w = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
      const h = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
      if (w > 1 && h > 3) overlaps.push([own(texts[i]).slice(0, 30), own(texts[j]).slice(0, 30)]);
    }
  }
  const states = Array.from(svg.querySelectorAll('g.state-group')).map((g) => ({
    state: g.dataset.state, coverage: g.dataset.coverage, box: g.querySelector('rect').getAttribute('class'),
    never: Array.from(g.querySelectorAll('text.never')).map(own),
    reached: Array.from(g.querySelectorAll('text.reached')).map(own),
    fill: getComputedStyle(g.querySelector('rect')).fill,
  }));
  const out = document.createElement('pre');
  out.id = 'layout-check';
  out.textContent = JSON.stringify({ outside, overlaps, states,
    summary: Array.from(svg.querySelectorAll('text.summary')).map(own),
    legend: Array.from(svg.querySelectorAll('.legend text')).map(own) });
  document.body.appendChild(out);
})();
</script>"#;

#[test]
fn diagram_coverage_colours_the_states_never_entered_and_marks_the_hooks_never_run() {
    let dir = browser::out_dir("coverage-html");
    let svg_path = dir.join("diagram.svg");
    let out = miq(&[
        "diagram",
        "/Shop/Order",
        "--datastore",
        &domain(),
        "--coverage",
        &fixture("short_stock.json"),
        "-o",
        svg_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let svg = std::fs::read_to_string(&svg_path).unwrap();
    assert!(svg.starts_with("<svg"), "{svg}");
    let layout = browser::render(&svg_path, &browser::svg_page(&svg), SVG_CHECK, "1000,900");
    assert_eq!(layout["outside"], json!([]), "{layout:#}");
    assert_eq!(layout["overlaps"], json!([]), "{layout:#}");
    let summary = layout["summary"].to_string();
    assert!(
        summary.contains("coverage: 2 of 3 states entered, 5 hooks never run"),
        "{summary}"
    );
    let legend = layout["legend"].to_string();
    assert!(legend.contains("never entered by any test"), "{legend}");
    let states = layout["states"].as_array().unwrap();
    let by = |name: &str| {
        states
            .iter()
            .find(|s| s["state"] == name)
            .unwrap_or_else(|| panic!("no {name} in {states:#?}"))
    };
    // The short stock failed in Reserve: Finish was never entered.
    let finish = by("Finish");
    assert_eq!(finish["coverage"], "never");
    assert_eq!(finish["box"], "box uncovered");
    assert_eq!(finish["fill"], "rgb(253, 236, 234)", "drawn red");
    assert_eq!(finish["reached"], json!([]), "{finish:#}");
    for hook in ["on_entry", "on_exit", "on_error"] {
        assert!(
            finish["never"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t.as_str().unwrap().starts_with(&format!("✗ {hook}"))),
            "{hook} not marked never run: {finish:#}"
        );
    }
    let validate = by("Validate");
    assert_eq!(validate["box"], "box covered");
    let never: Vec<&str> = validate["never"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(never.len(), 1, "{validate:#}");
    assert!(never[0].starts_with("✗ on_error"), "{validate:#}");
    // Reserve failed: its on_error ran, its on_exit did not.
    let reserve = by("Reserve");
    assert_eq!(reserve["box"], "box covered");
    let never = reserve["never"].to_string();
    assert!(
        never.contains("✗ on_exit") && !never.contains("on_error"),
        "{reserve:#}"
    );
    assert!(
        reserve["reached"].to_string().contains("✓ on_error"),
        "{reserve:#}"
    );
}

#[test]
fn diagram_coverage_in_mermaid_classes_the_states() {
    let out = miq(&[
        "diagram",
        "/Shop/Order",
        "--datastore",
        &domain(),
        "--coverage",
        &fixture("short_stock.json"),
        "-O",
        "mermaid",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    for line in [
        "classDef uncovered",
        "class s1 covered",
        "class s2 covered",
        "class s3 uncovered",
    ] {
        assert!(text.contains(line), "{line} not in {text}");
    }
}

#[test]
fn diagram_coverage_in_dot_and_the_table() {
    let draw = |format: &str| {
        let out = miq(&[
            "diagram",
            "/Shop/Order",
            "--datastore",
            &domain(),
            "--coverage",
            &fixture("happy.json"),
            "-O",
            format,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The happy path entered every state and ran no on_error.
    let dot = draw("dot");
    assert_eq!(dot.matches("class=\"covered\"").count(), 3, "{dot}");
    assert!(dot.contains("never run by a test: on_error"), "{dot}");
    let table = draw("table");
    let header = table.lines().find(|l| l.starts_with("| Name")).unwrap();
    assert!(header.ends_with("| Tested | Never Run |"), "{header}");
    let validate = table.lines().find(|l| l.starts_with("| Validate")).unwrap();
    assert!(
        validate.contains("| ✔ entered 1× (ok 1) | on_error |"),
        "{validate}"
    );
}

#[test]
fn diagram_coverage_and_trace_are_refused_together() {
    let out = miq(&[
        "diagram",
        "/Shop/Order",
        "--datastore",
        &domain(),
        "--coverage",
        &fixture("happy.json"),
        "--trace",
        &fixture("happy.json"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("--coverage and --trace"),
        "{}",
        stderr(&out)
    );
    // A coverage file that is not one is named.
    let out = miq(&[
        "diagram",
        "/Shop/Order",
        "--datastore",
        &domain(),
        "--coverage",
        &fixture("not_coverage.json"),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not_coverage.json: not a miq-automate coverage file"),
        "{}",
        stderr(&out)
    );
}

/// The page as `coverage report FILES… --output html` prints it (exit status, page).
fn page(args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["coverage", "report"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--output", "html"]);
    let out = miq(&all);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn the_page_counts_deliveries_and_runs_exactly() {
    let instance = "/Coverage/Shop/Order/default";
    let machine = |runs: Option<u64>| {
        let mut m = json!({"instances": {instance: 8}, "states": {"Validate": {"entered": 8}}});
        if let Some(r) = runs {
            m["runs"] = json!({ instance: r });
        }
        json!({"machines": {"/Coverage/Shop/Order": m}})
    };
    // Two runs of four deliveries each (retries): 8 deliveries, never "8×" read as 8 runs.
    let (code, html) = page(&[&write_doc("runs.json", machine(Some(2)))]);
    assert_eq!(code, Some(0));
    assert!(html.contains("(2 runs, 8 deliveries)"), "{html}");
    assert!(!html.contains("(8×)"), "{html}");
    // A file written before runs were counted: deliveries only.
    let (_, html) = page(&[&write_doc("deliveries.json", machine(None))]);
    assert!(html.contains("(8 deliveries)"), "{html}");
    // Ruby's own files: one delivery each.
    let (_, html) = page(&[&fixture("happy.json")]);
    assert!(html.contains("(1 delivery)"), "{html}");
}

#[test]
fn the_page_says_the_totals_count_what_the_runs_saw_without_a_datastore() {
    let (_, html) = page(&[&fixture("happy.json")]);
    assert!(html.contains("of those the runs saw"), "{html}");
    assert!(html.contains("give --datastore DIR"), "{html}");
    let (_, html) = page(&[&fixture("happy.json"), "--datastore", &domain()]);
    assert!(!html.contains("of those the runs saw"), "{html}");
}

#[test]
fn the_page_fails_the_gate_when_nothing_was_measured_and_groups_loose_method_files() {
    let (code, html) = page(&[&write_doc("nothing.json", json!({})), "--min", "80"]);
    assert_eq!(code, Some(2));
    assert!(html.contains("FAILED"), "{html}");
    assert!(html.contains("nothing was measured"), "{html}");
    let loose = write_doc(
        "loose.json",
        json!({"methods": {"examples/methods/check.rb": {
            "file": "/nowhere/examples/methods/check.rb", "outside_domain": true, "runs": 1, "lines": [1, 0]}}}),
    );
    let (_, html) = page(&[&loose]);
    assert!(
        html.contains("Method files outside a domain export"),
        "{html}"
    );
    assert!(!html.contains("Domain examples"), "{html}");
}
