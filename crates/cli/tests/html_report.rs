//! `retire-bundle --output html` rendered in a real headless browser (Debian's chromium,
//! installed by scripts/install-deps.sh): every member is on the page, no two boxes overlap,
//! nothing is fetched, no secret appears. A screenshot of each page is written under
//! target/html-report/ for people to look at.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

#[path = "support/browser.rs"]
mod browser;

use browser::root;

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
  const out = document.createElement('pre');
  out.id = 'layout-check';
  out.textContent = JSON.stringify({ overlaps, spills, members, fonts: document.fonts.status });
  document.body.appendChild(out);
})();
</script>"#;

/// Renders the page in chromium: the layout facts, and a screenshot next to it.
fn render(name: &str, page: &str) -> Value {
    let dir = browser::out_dir("html-report");
    let html = dir.join(format!("{name}.html"));
    std::fs::write(&html, page).unwrap();
    let checked = dir.join(format!("{name}.check.html"));
    std::fs::write(
        &checked,
        page.replace("</body>", &format!("{CHECK}</body>")),
    )
    .unwrap();
    let layout = browser::measure(&checked, "1200,1600");
    browser::screenshot(&html, &dir.join(format!("{name}.png")), "1200,1600");
    layout
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
    assert!(page.contains("/miq_request/show/"), "request links");
    let layout = render("failed_bundle", &page);
    assert_eq!(layout["overlaps"], serde_json::json!([]), "{layout}");
    assert_eq!(layout["spills"], serde_json::json!([]), "{layout}");
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
    assert!(page.contains("miq_request/show/"), "{page}");
    assert!(!page.contains("smartvm"), "a password on the page");
    assert!(!page.contains("admin:"), "userinfo on the page");
}
