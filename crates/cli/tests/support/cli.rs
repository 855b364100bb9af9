//! The `miq-automate` binary run as a user runs it, from the repository root, and what it
//! printed. Included by the CLI's test files with `#[path = "support/cli.rs"] mod cli;`;
//! each uses some of it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `miq-automate args…`, run in the repository root.
pub fn miq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miq-automate"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("the binary runs")
}

/// `miq-automate args…` for a command that runs Ruby (`run`): the Ruby extension must be
/// built first.
pub fn miq_ruby(args: &[&str]) -> Output {
    let extension = root().join("ruby/lib/miq_automate/miq_automate.so");
    assert!(
        extension.is_file(),
        "the Ruby extension is not built: run `make ruby-ext` first ({})",
        extension.display()
    );
    miq(args)
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// What a command that must succeed (exit 0) printed; its stderr if it did not.
pub fn ok_stdout(out: Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}
