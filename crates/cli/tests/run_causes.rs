//! `miq-automate run` says why a run failed without `--log`: the method's exception (class,
//! message, where) and every "not found" line. Needs the Ruby extension built.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn miq(args: &[&str]) -> Output {
    assert!(
        root()
            .join("ruby/lib/miq_automate/miq_automate.so")
            .is_file(),
        "the Ruby extension is not built: run `make ruby-ext` first"
    );
    Command::new(env!("CARGO_BIN_EXE_miq-automate"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("the binary runs")
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// Domain `Acme`, class `/Deploy/Methods` with one method field and an instance
/// `validate` whose method raises.
fn domain(dir: &Path) -> PathBuf {
    let d = dir.join("Acme");
    write(
        &d.join("__domain__.yaml"),
        "object_type: domain\nversion: 1.0\nobject:\n  attributes:\n    name: Acme\n    priority: 10\n    enabled: true\n",
    );
    write(
        &d.join("Deploy/__namespace__.yaml"),
        "object_type: namespace\nversion: 1.0\nobject:\n  attributes:\n    name: Deploy\n",
    );
    let class = d.join("Deploy/Methods.class");
    write(
        &class.join("__class__.yaml"),
        "object_type: class\nversion: 1.0\nobject:\n  attributes:\n    name: Methods\n  schema:\n  - field:\n      aetype: method\n      name: execute\n      datatype: string\n      priority: 1\n",
    );
    write(
        &class.join("validate.yaml"),
        "object_type: instance\nversion: 1.0\nobject:\n  attributes:\n    name: validate\n  fields:\n  - execute:\n      value: validate\n",
    );
    write(
        &class.join("__methods__/validate.yaml"),
        "object_type: method\nversion: 1.0\nobject:\n  attributes:\n    name: validate\n    language: ruby\n    location: inline\n",
    );
    write(
        &class.join("__methods__/validate.rb"),
        "def check(value)\n  raise ArgumentError, \"validation blew up on #{value}\"\nend\ncheck('demand')\n",
    );
    d
}

#[test]
fn a_failing_method_is_named_with_its_exception_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = domain(dir.path());
    let out = miq(&[
        "run",
        "/Deploy/Methods/validate",
        "--datastore",
        d.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "cause: method validate raised ArgumentError: validation blew up on demand at /Acme/Deploy/Methods/validate:2:in `check'"
        ),
        "{stdout}"
    );
}

#[test]
fn a_uri_that_reaches_nothing_says_what_was_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let d = domain(dir.path());
    // A class no domain has; and an instance no domain has of a class that exists, which
    // ManageIQ names by its class too (the class path keeps no domain, its lookup fails).
    for (uri, said) in [
        (
            "/Deploy/Methds/validate",
            "not found: Class [Deploy/Methds] not found in MiqAeDatastore",
        ),
        (
            "/Deploy/Methods/nosuch",
            "not found: Class [Deploy/Methods] not found in MiqAeDatastore (also said when the class exists but no enabled domain has the instance",
        ),
    ] {
        let out = miq(&["run", uri, "--datastore", d.to_str().unwrap()]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(said), "{uri}: {stdout}");
    }
}

#[test]
fn verbose_streams_the_automation_log_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let d = domain(dir.path());
    let out = miq(&[
        "-v",
        "run",
        "/Deploy/Methods/validate",
        "--datastore",
        d.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "automation: ERROR <AEMethod validate>   ArgumentError: validation blew up on demand"
        ),
        "{stderr}"
    );
    let quiet = miq(&[
        "run",
        "/Deploy/Methods/validate",
        "--datastore",
        d.to_str().unwrap(),
    ]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("automation:"));
}

#[test]
fn a_stub_that_matched_nothing_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let d = domain(dir.path());
    let out = miq(&[
        "run",
        "/Deploy/Methods/validate",
        "--datastore",
        d.to_str().unwrap(),
        "--stub",
        "/Deploy/Methods/validate=ok",
        "--stub",
        "/Deploy/Methods/WaitForRedy=ok",
    ]);
    assert_eq!(out.status.code(), Some(0), "the used stub stood in");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--stub /deploy/methods/waitforredy matched nothing in this run"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("--stub /deploy/methods/validate "),
        "{stderr}"
    );
}

/// Runs the domain's method with `--model FILE` holding `json`; the CLI's stderr and exit.
fn with_model(json: &str, extra: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = domain(dir.path());
    let model = dir.path().join("m.json");
    std::fs::write(&model, json).unwrap();
    let mut args = vec![
        "run",
        "/Deploy/Methods/validate",
        "--datastore",
        d.to_str().unwrap(),
        "--model",
        model.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let out = miq(&args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_model_file_that_cannot_be_meant_is_refused_with_its_json_path() {
    for (json, error) in [
        (
            r#"{"root": {"task": {"$model": "miq_provision", "options": "str"}}}"#,
            "$.root.task.options: expected an object (option => value), not a string",
        ),
        (
            r#"{"root": {"task": {"$model": "miq_provision", "$calls": [1]}}}"#,
            "$.root.task.$calls: expected an object (method => answer), not a list",
        ),
        (
            r#"{"root": [1, 2]}"#,
            "$.root: expected an object of root attributes, not a list",
        ),
        (
            r#"{"root": {"task": {"$modle": "miq_provision"}}, "models": [{"$model": "vm", "$modle": 1}]}"#,
            "$.models[0].$modle: unknown key",
        ),
        (r#"{"root": {}, "modles": []}"#, "$.modles: unknown key"),
    ] {
        let (code, stderr) = with_model(json, &[]);
        assert_eq!(code, Some(1), "{json}: {stderr}");
        assert!(stderr.contains(error), "{json}: {stderr}");
        assert!(!stderr.contains(".rb:"), "no Ruby backtrace: {stderr}");
    }
}

#[test]
fn a_stub_exit_code_out_of_range_is_refused() {
    let (code, stderr) = with_model("{}", &["--stub", "/Deploy/Methods/validate=99999999999"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("an exit code is 0 to 255"), "{stderr}");
}

#[test]
fn a_log_that_cannot_be_written_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let d = domain(dir.path());
    let out = miq(&[
        "run",
        "/Deploy/Methods/validate",
        "--datastore",
        d.to_str().unwrap(),
        "--log",
        "/dev/full",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("cannot write the log /dev/full"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing ran");
}
