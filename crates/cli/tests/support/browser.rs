//! A real headless browser for the picture tests: Debian's chromium (installed by
//! scripts/install-deps.sh). A page is rendered with a measuring script appended; the script
//! writes its findings as JSON into `<pre id="layout-check">`, read back from the DOM.
//! Included with `#[path = "support/browser.rs"] mod browser;` beside `mod cli;`
//! (support/cli.rs, for the repository root); each test file uses some of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::cli::root;

/// `target/<name>/`, where pages and screenshots are kept for people to look at.
pub fn out_dir(name: &str) -> PathBuf {
    let dir = root().join("target").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The browser.
pub fn chromium() -> &'static str {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).exists() {
            return candidate;
        }
    }
    panic!("chromium is missing: run scripts/install-deps.sh (apt-get install chromium)");
}

const HEADLESS: [&str; 4] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
];

/// Loads `page` (a file holding the measuring script) and returns what the script found.
pub fn measure(page: &Path, window: &str) -> Value {
    measure_within(page, window, 2000)
}

/// As `measure`, with `budget_ms` of virtual time for the page's scripts (a page that
/// renders asynchronously, as mermaid does, needs more).
pub fn measure_within(page: &Path, window: &str, budget_ms: u32) -> Value {
    let dom = Command::new(chromium())
        .args(HEADLESS)
        .arg(format!("--window-size={window}"))
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout).to_string();
    // The element may carry attributes (`style="display: none;"`).
    let start = dom
        .find("<pre id=\"layout-check\"")
        .map(|at| at + dom[at..].find('>').unwrap() + 1)
        .unwrap_or_else(|| {
            panic!(
                "the page's script did not finish: {}",
                &dom[..dom.len().min(2000)]
            )
        });
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
}

/// `html` with the measuring `script` at the end of its body, written beside `file` as
/// `<file>.check.html`, measured at `window`.
pub fn measure_with(file: &Path, html: &str, script: &str, window: &str) -> Value {
    let checked = file.with_extension("check.html");
    std::fs::write(
        &checked,
        html.replace("</body>", &format!("{script}</body>")),
    )
    .unwrap();
    measure(&checked, window)
}

/// `file`'s page (`html`) measured as `measure_with` does, and its screenshot beside it
/// (`<file>.png`) at the same `window`.
pub fn render(file: &Path, html: &str, script: &str, window: &str) -> Value {
    let layout = measure_with(file, html, script, window);
    screenshot(file, &file.with_extension("png"), window);
    layout
}

/// An SVG picture alone on a page, at its top left.
pub fn svg_page(svg: &str) -> String {
    format!("<!DOCTYPE html><html><body style=\"margin:0\">{svg}</body></html>")
}

/// A PNG of `file` at `window` size.
pub fn screenshot(file: &Path, shot: &Path, window: &str) {
    let out = Command::new(chromium())
        .args(HEADLESS)
        .arg(format!("--window-size={window}"))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", file.display()))
        .output()
        .unwrap();
    assert!(shot.exists(), "{}", String::from_utf8_lossy(&out.stderr));
}
