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
