//! `miq-automate datastore stats|lint`, run as a user runs them.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn miq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miq-automate"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn stats_counts_what_a_domain_holds() {
    let out = miq(&["datastore", "stats", "examples/domains/RollbackDemo"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(
        text.contains("domain RollbackDemo (priority 10, enabled)"),
        "{text}"
    );
    assert!(
        text.contains("1 domain(s), 6 namespaces, 3 classes, 7 instances, 7 methods"),
        "{text}"
    );
    let out = miq(&["datastore", "stats", "tests/domains/engine"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("domain Off (priority 30, disabled)"));
}

#[test]
fn stats_of_a_bad_domain_names_every_bad_file() {
    let out = miq(&["datastore", "stats", "tests/domains/bad"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 3, "{err}");
    assert!(err.contains(
        "BadPriority.class/__class__.yaml: object.schema[3].field.priority: expected integer"
    ));
}

#[test]
fn lint_finds_the_test_domains_deliberate_dangling_relationship() {
    let out = miq(&["datastore", "lint", "tests/domains/engine"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    // The test domains name a missing class and methods on purpose (cases 23, 25, 35).
    assert!(
        text.contains(
            "rel_missing: relationship to [/Test/NoSuchClass/x]: no domain has this instance"
        ),
        "{text}"
    );
    assert!(
        text.contains("no_method.yaml: execute: method [nope] does not exist"),
        "{text}"
    );
    assert!(text.contains("0 bad file(s), 4 finding(s)"), "{text}");
}

#[test]
fn lint_reports_bad_files_missing_methods_and_instances() {
    let out = miq(&["datastore", "lint", "tests/domains/bad"]);
    assert_eq!(out.status.code(), Some(2));
    let text = stdout(&out);
    for expected in [
        "BadPriority.class/__class__.yaml: object.schema[3].field.priority: expected integer, found a string",
        "BadYaml.class/broken.yaml: not valid YAML",
        "NoName.class/__methods__/m.yaml: object.attributes.name: missing",
        "Lint.class/__class__.yaml: s1.on_entry: method [no_such_method(x => 1)] does not exist",
        "Lint.class/__class__.yaml: r: relationship to [/NS/Good/nowhere]: no domain has this instance",
        "Lint.class/__class__.yaml: m: method [missing_method] does not exist",
        "3 bad file(s), 3 finding(s)",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
}

#[test]
fn lint_of_an_unreadable_path_exits_1() {
    let out = miq(&["datastore", "lint", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the directory"));
    let out = miq(&["datastore", "lint", "examples"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no __domain__.yaml"));
}
