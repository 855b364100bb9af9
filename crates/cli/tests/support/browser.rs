//! A real headless browser for the picture tests: Debian's chromium (installed by
//! scripts/install-deps.sh). A page is rendered with a measuring script appended; the script
//! writes its findings as JSON into `<pre id="layout-check">`, read back from the DOM.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

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
    let dom = Command::new(chromium())
        .args(HEADLESS)
        .arg(format!("--window-size={window}"))
        .args(["--virtual-time-budget=2000", "--dump-dom"])
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout).to_string();
    let start = dom
        .find("<pre id=\"layout-check\">")
        .expect("the check ran")
        + 23;
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap()
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
