//! The coverage files Ruby wrote for tests/domains/Coverage (tests/coverage), and that
//! domain, as the CLI's arguments.

use std::path::PathBuf;

use super::cli::root;

/// `tests/coverage/<name>` of this crate.
pub fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/coverage")
        .join(name);
    p.to_str().expect("utf-8 path").to_string()
}

/// tests/domains/Coverage.
pub fn domain() -> String {
    let p = root().join("tests/domains/Coverage");
    p.to_str().expect("utf-8 path").to_string()
}

/// A coverage file (`doc`'s `methods`, `machines`, `relationships` in the format
/// `miq-automate-coverage/1`) written to a temp directory of this test process as `name`;
/// its path.
pub fn write_doc(name: &str, doc: serde_json::Value) -> String {
    let dir = std::env::temp_dir().join(format!("miq-coverage-doc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut doc = doc;
    doc["format"] = serde_json::json!("miq-automate-coverage/1");
    for part in ["methods", "machines", "relationships"] {
        if doc.get(part).is_none() {
            doc[part] = serde_json::json!({});
        }
    }
    let file = dir.join(name);
    std::fs::write(&file, doc.to_string()).expect("a coverage file");
    file.to_str().expect("utf-8 path").to_string()
}
