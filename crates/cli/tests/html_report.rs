//! `retire-bundle --output html` rendered in a real headless browser (Debian's chromium,
//! installed by scripts/install-deps.sh): every member is on the page, no two boxes overlap,
//! nothing is fetched, no secret appears, the run's date and the failed item's error are
//! shown, a mock run says so and links nowhere, hostile names show as text. A screenshot of
//! each page is written under target/html-report/ for people to look at.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

#[path = "support/browser.rs"]
mod browser;
#[path = "support/cli.rs"]
mod cli;

use cli::root;

/// The page for a scenario (with faults), as the CLI prints it.
fn report(scenario: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_miq-automate"));
    cmd.current_dir(root())
        .args(["retire-bundle", "--mock"])
        .arg(scenario)
        .args(args)
        .args(["--output", "html", "--quiet"]);
    for var in ["MIQ_URL", "MIQ_USER", "MIQ_PASSWORD", "MIQ_TOKEN"] {
        cmd.env_remove(var);
    }
    let out = cmd.output().unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 2)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Layout facts measured by the browser: the members it shows and any overlapping boxes.
const CHECK: &str = r#"<script>
(function () {
  const boxes = Array.from(document.querySelectorAll('.member, .vm, .chip, .legend li, h1, h2, .meta, .run'));
  const rect = (e) => e.getBoundingClientRect();
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const a = boxes[i], b = boxes[j];
      if (a.contains(b) || b.contains(a)) continue;
      const r = rect(a), s = rect(b);
      const w = Math.min(r.right, s.right) - Math.max(r.left, s.left);
      const h = Math.min(r.bottom, s.bottom) - Math.max(r.top, s.top);
      if (w > 0.5 && h > 0.5) overlaps.push([a.textContent.slice(0, 40), b.textContent.slice(0, 40)]);
    }
  }
  // Text that spills out of its box (a name too long for the line) counts as overlap too.
  const spills = Array.from(document.querySelectorAll('.member, .vm, .chip'))
    .filter((e) => e.scrollWidth > e.clientWidth + 1).map((e) => e.textContent.slice(0, 40));
  const members = Array.from(document.querySelectorAll('[data-id]')).map((e) => [e.dataset.id, e.dataset.outcome || 'vm']);
  const names = Array.from(document.querySelectorAll('[data-id]')).map((e) => [e.dataset.id, e.querySelector('.name').textContent]);
  const text = (sel) => { const e = document.querySelector(sel); return e ? e.textContent : null; };
  const page = {
    title: document.title,
    time: (document.querySelector('.run time') || { dateTime: null }).dateTime,
    run: text('.run'),
    banner: text('.banner.mock'),
    failed: text('.failed-item'),
    counters: text('.summary'),
    links: Array.from(document.querySelectorAll('a[href]')).map((a) => a.getAttribute('href')),
    scripts: document.scripts.length - 1,
  };
  const out = document.createElement('pre');
  out.id = 'layout-check';
  out.textContent = JSON.stringify({ overlaps, spills, members, names, page, fonts: document.fonts.status });
  document.body.appendChild(out);
})();
</script>"#;

/// Renders the page in chromium: the layout facts, and a screenshot next to it.
fn render(name: &str, page: &str) -> Value {
    let html = browser::out_dir("html-report").join(format!("{name}.html"));
    std::fs::write(&html, page).unwrap();
    browser::render(&html, page, CHECK, "1200,1600")
}

fn scenario_with_faults(faults: Value) -> tempfile::NamedTempFile {
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("mocks/failed_bundle.json")).unwrap(),
    )
    .unwrap();
    v["faults"] = faults;
    let mut file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::io::Write::write_all(&mut file, v.to_string().as_bytes()).unwrap();
    file
}

/// A run against `--mock`: the page says so, and links nowhere (the mock's address is dead
/// once the run is over).
fn assert_mock_run(page: &str, layout: &Value) {
    assert!(!page.contains("<a "), "a link on a mock run's page");
    assert!(
        !page.contains("href=\"http://127.0.0.1"),
        "a link to the mock"
    );
    assert_eq!(layout["page"]["links"], serde_json::json!([]), "{layout}");
    let banner = layout["page"]["banner"].as_str().expect("the mock banner");
    assert!(banner.contains("mock ManageIQ at 127.0.0.1:"), "{banner}");
    assert!(banner.contains("nothing real was retired"), "{banner}");
}

fn assert_self_contained(page: &str) {
    for fetch in [
        "<script", "<link", "@import", "url(", "src=", "<img", "<iframe",
    ] {
        assert!(!page.contains(fetch), "the page fetches something: {fetch}");
    }
    assert!(!page.contains("smartvm"), "a secret on the page");
}

#[test]
fn the_bundle_tree_renders_with_every_member_and_nothing_overlapping() {
    let page = report(
        &root().join("mocks/failed_bundle.json"),
        &["--request", "3000", "--with-vms", "--wait"],
    );
    assert_self_contained(&page);
    let layout = render("failed_bundle", &page);
    assert_eq!(layout["overlaps"], serde_json::json!([]), "{layout}");
    assert_eq!(layout["spills"], serde_json::json!([]), "{layout}");
    assert_mock_run(&page, &layout);
    let shown = &layout["page"];
    // The run's date and time, in UTC.
    let time = shown["time"].as_str().unwrap();
    assert!(
        time.len() == 20 && time.ends_with('Z') && time.as_bytes()[10] == b'T',
        "{shown}"
    );
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert!(time.starts_with(&today[..4]), "{time} is not now");
    assert!(shown["run"].as_str().unwrap().contains(" UTC"), "{shown}");
    // The failed item, by name, with the error its provision task ended with.
    let failed = shown["failed"].as_str().unwrap();
    assert!(
        failed.contains("1004") && failed.contains("db tier"),
        "{failed}"
    );
    assert!(failed.contains("Error creating VM"), "{failed}");
    // Counters name what they count, and add up.
    let counters = shown["counters"].as_str().unwrap();
    assert!(counters.starts_with("5 members:"), "{counters}");
    assert!(counters.contains("2 retired"), "{counters}");
    assert!(counters.contains("2 skipped"), "{counters}");
    assert!(
        counters.contains("1 left alone (the failed item)"),
        "{counters}"
    );
    assert!(counters.contains("0 failed"), "{counters}");
    assert!(!counters.contains("in the plan"), "{counters}");
    let members: Vec<(String, String)> = serde_json::from_value(layout["members"].clone()).unwrap();
    let ids: Vec<&str> = members.iter().map(|(id, _)| id.as_str()).collect();
    for id in [
        "1001", "1002", "1003", "1004", "1005", "2001", "2002", "2005",
    ] {
        assert!(ids.contains(&id), "{id} missing: {ids:?}");
    }
    let outcome = |id: &str| members.iter().find(|(i, _)| i == id).unwrap().1.clone();
    assert_eq!(outcome("1001"), "retired");
    assert_eq!(outcome("1002"), "skipped");
    assert_eq!(outcome("1004"), "left");
}

#[test]
fn failures_show_their_errors_in_full_and_secrets_never_appear() {
    let scenario = scenario_with_faults(serde_json::json!({"rules": [
        {"method": "POST", "path": "/api/services/1005", "action_failure":
            "Service retirement blocked by policy <b>Prod</b> for user admin with password=v2:{c2VjcmV0} and a long explanation that has to wrap onto a second line"}
    ]}));
    let page = report(
        scenario.path(),
        &["--service", "1000", "--retire-parent", "--post-budget", "0"],
    );
    assert_self_contained(&page);
    assert!(
        !page.contains("c2VjcmV0"),
        "an encrypted secret on the page"
    );
    assert!(page.contains("&lt;b&gt;Prod&lt;/b&gt;"), "text is escaped");
    assert!(page.contains("a long explanation that has to wrap onto a second line"));
    let layout = render("failed_member", &page);
    assert_eq!(layout["overlaps"], serde_json::json!([]), "{layout}");
    assert_eq!(layout["spills"], serde_json::json!([]), "{layout}");
    assert_mock_run(&page, &layout);
    // From the service alone the failed item's error is not known: the page says where it is.
    let failed = layout["page"]["failed"].as_str().unwrap();
    assert!(failed.contains("give --request"), "{failed}");
    let counters = layout["page"]["counters"].as_str().unwrap();
    assert!(
        counters.starts_with("the bundle and 5 members:"),
        "{counters}"
    );
    assert!(counters.contains("1 failed"), "{counters}");
    let members: Vec<(String, String)> = serde_json::from_value(layout["members"].clone()).unwrap();
    assert!(
        members.contains(&("1005".into(), "failed".into())),
        "{members:?}"
    );
    assert!(
        members.contains(&("1000".into(), "requested".into())),
        "{members:?}"
    );
}

#[test]
fn a_large_bundle_renders_every_member() {
    let page = report(
        &root().join("mocks/large_bundle.json"),
        &["--service", "1000", "--dry-run"],
    );
    let layout = render("large_bundle", &page);
    assert_eq!(layout["overlaps"], serde_json::json!([]));
    let members = layout["members"].as_array().unwrap();
    assert!(members.len() >= 500, "{}", members.len());
}

/// Kills the mock server when the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// Issue 21: MIQ_URL's `user:password@` is in no URL the page shows or links to.
#[test]
fn userinfo_in_the_appliance_url_never_reaches_the_page() {
    use std::io::BufRead;
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_miq-automate"))
            .current_dir(root())
            .args([
                "mock-server",
                "--scenario",
                "mocks/failed_bundle.json",
                "--port",
                "0",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().replacen("http://", "http://admin:smartvm@", 1);
    let out = Command::new(env!("CARGO_BIN_EXE_miq-automate"))
        .args([
            "retire-bundle",
            "--service",
            "1000",
            "--retire-parent",
            "--post-budget",
            "0",
        ])
        .args(["--output", "html", "--quiet"])
        .env("MIQ_URL", &url)
        .env("MIQ_USER", "admin")
        .env("MIQ_PASSWORD", "smartvm")
        .env_remove("MIQ_TOKEN")
        .output()
        .unwrap();
    let page = String::from_utf8_lossy(&out.stdout);
    // A real appliance (not `--mock`): request ids link to it, without the credentials.
    assert!(page.contains("miq_request/show/"), "{page}");
    assert!(!page.contains("Mock run"), "{page}");
    assert!(!page.contains("smartvm"), "a password on the page");
    assert!(!page.contains("admin:"), "userinfo on the page");
}

/// Names as ManageIQ may hold them, and as the page must show them: markup, quotes and
/// ampersands as text; control characters and bidirectional overrides as visible escapes.
const HOSTILE: [(&str, &str); 6] = [
    ("<script>alert('x')</script>", "<script>alert('x')</script>"),
    ("\"'& <b>bold</b> &amp;", "\"'& <b>bold</b> &amp;"),
    ("tab\there\nnew line", "tab\\there\\nnew line"),
    ("bell\u{7}\u{1b}[31mred", "bell\\u{7}\\e[31mred"),
    ("rtl \u{202e}gnp.exe", "rtl \\u{202e}gnp.exe"),
    (
        "</span></div><img src=x onerror=alert(1)>",
        "</span></div><img src=x onerror=alert(1)>",
    ),
];

#[test]
fn hostile_names_show_as_text() {
    let mut v: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("mocks/failed_bundle.json")).unwrap(),
    )
    .unwrap();
    // The bundle and its five children, then the VMs, get the hostile names in turn.
    let mut expected = Vec::new();
    for (i, service) in v["services"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .take(6)
        .enumerate()
    {
        let (name, shown) = HOSTILE[i % HOSTILE.len()];
        service["name"] = name.into();
        expected.push((service["id"].as_str().unwrap().to_string(), shown));
    }
    for (i, vm) in v["vms"].as_array_mut().unwrap().iter_mut().enumerate() {
        let (name, shown) = HOSTILE[(i + 3) % HOSTILE.len()];
        vm["name"] = name.into();
        if vm["service_id"] == "1100" {
            continue; // not in the bundle
        }
        expected.push((vm["id"].as_str().unwrap().to_string(), shown));
    }
    let mut file = tempfile::Builder::new().suffix(".json").tempfile().unwrap();
    std::io::Write::write_all(&mut file, v.to_string().as_bytes()).unwrap();
    let page = report(
        file.path(),
        &[
            "--service",
            "1000",
            "--with-vms",
            "--retire-parent",
            "--dry-run",
        ],
    );
    let layout = render("hostile_names", &page);
    // No name became markup: no script, image or element of its own.
    assert!(
        !page.contains("<script") && !page.contains("<img"),
        "{page}"
    );
    assert_eq!(layout["page"]["scripts"], 0, "{layout}");
    assert_eq!(layout["overlaps"], serde_json::json!([]), "{layout}");
    assert_eq!(layout["spills"], serde_json::json!([]), "{layout}");
    let names: Vec<(String, String)> = serde_json::from_value(layout["names"].clone()).unwrap();
    for (id, shown) in &expected {
        assert!(
            names.iter().any(|(i, n)| i == id && n == shown),
            "{id} should show {shown:?}: {names:?}"
        );
    }
    let title = layout["page"]["title"].as_str().unwrap();
    assert_eq!(title, "Bundle retirement — bundle 1000");
}
