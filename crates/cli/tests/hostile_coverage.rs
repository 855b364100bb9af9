//! Hostile coverage files (issue #24): from other machines or CI artifacts, truncated,
//! hand-edited or malicious. `coverage report` and `diagram --coverage` refuse each bad one
//! with an error naming the file and what is wrong (exit 1), write nothing to `-o` and keep
//! what was there; a file naming a `file` to read (a device, a secret) never hangs nor
//! shows it; hostile names stay text.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/coverage.rs"]
#[allow(dead_code)]
mod coverage;

use cli::{miq, stderr, stdout};
use coverage::{domain, fixture};

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn report(args: &[&str]) -> std::process::Output {
    let mut all = vec!["coverage", "report"];
    all.extend_from_slice(args);
    miq(&all)
}

#[test]
fn bad_files_are_refused_naming_the_file_and_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let happy = std::fs::read_to_string(fixture("happy.json")).unwrap();
    let fifo = d.join("fifo.json");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let big = d.join("big.json");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
    let cases: Vec<(PathBuf, &str)> = vec![
        (write(d, "text.json", "coverage!"), "not JSON"),
        (write(d, "cut.json", &happy[..happy.len() / 2]), "not JSON"),
        (write(d, "array.json", "[1, 2]"), "a JSON array, not an object"),
        (write(d, "other.json", r#"{"format": "miq-automate-trace/1"}"#), "format \"miq-automate-trace/1\""),
        (write(d, "none.json", r#"{"methods": {}}"#), "no \"format\""),
        (write(d, "v2.json", r#"{"format": "miq-automate-coverage/2"}"#), "is not known to this version"),
        (
            write(d, "lines.json", &json!({"format": "miq-automate-coverage/1", "methods": {"/D/ns/C/x": {"lines": [1, null, 0, "3"]}}}).to_string()),
            "$.methods[\"/D/ns/C/x\"].lines[3]: expected a count or null, found the string \"3\"",
        ),
        (
            write(d, "neg.json", &json!({"format": "miq-automate-coverage/1", "machines": {"/D/C": {"states": {"S": {"entered": -1}}}}}).to_string()),
            "$.machines[\"/D/C\"].states[\"S\"].entered: expected a count",
        ),
        (write(d, "nolines.json", r#"{"format": "miq-automate-coverage/1", "methods": {"/D/x": {"runs": 1}}}"#), "no \"lines\" array"),
        (d.to_path_buf(), "a directory"),
        (fifo.clone(), "not a regular file"),
        (big.clone(), "over the limit of 64 MiB"),
        (d.join("missing.json"), "cannot read the coverage file"),
    ];
    for (file, why) in cases {
        let out = d.join("report.html");
        let started = Instant::now();
        let run = report(&[
            file.to_str().unwrap(),
            "--output",
            "html",
            "-o",
            out.to_str().unwrap(),
        ]);
        let err = stderr(&run);
        assert_eq!(run.status.code(), Some(1), "{}: {err}", file.display());
        assert!(
            err.contains(&file.display().to_string()) && err.contains(why),
            "{}: {err}",
            file.display()
        );
        assert!(!out.exists(), "{}: a report was written", file.display());
        assert!(started.elapsed().as_secs() < 30, "no wait on a FIFO");
        // The same file colours no diagram either.
        let run = miq(&[
            "diagram",
            "/Shop/Order",
            "--datastore",
            &domain(),
            "--coverage",
            file.to_str().unwrap(),
        ]);
        assert_eq!(
            run.status.code(),
            Some(1),
            "diagram {}: {}",
            file.display(),
            stderr(&run)
        );
        assert!(
            stderr(&run).contains(why),
            "diagram {}: {}",
            file.display(),
            stderr(&run)
        );
    }
}

#[test]
fn a_failed_report_keeps_the_report_that_was_there() {
    let dir = tempfile::tempdir().unwrap();
    let out = write(dir.path(), "report.json", "yesterday's report");
    let bad = write(dir.path(), "bad.json", "{");
    let run = report(&[
        bad.to_str().unwrap(),
        "--output",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "yesterday's report");
    let run = report(&[
        &fixture("happy.json"),
        "--output",
        "json",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(doc["format"], "miq-automate-coverage-report/1");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temp file left"
    );
}

#[test]
fn outputs_and_gates_are_checked_before_any_file_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    for (args, why) in [
        (vec!["-o", d], "it is a directory"),
        (vec!["-o", "/nonexistent-dir/r.txt"], "is not a directory"),
        (vec!["-o", "/dev/full"], "No space left"),
        (vec!["--min", "NaN"], "not a percentage"),
        (vec!["--min", "101"], "not a percentage"),
        (vec!["--min=-1"], "not a percentage"),
    ] {
        let mut all = vec!["/no/such/coverage.json"];
        all.extend(args.iter().copied());
        let run = report(&all);
        assert_eq!(run.status.code(), Some(1), "{args:?}: {}", stderr(&run));
        assert!(stderr(&run).contains(why), "{args:?}: {}", stderr(&run));
        assert!(
            !stderr(&run).contains("/no/such"),
            "{args:?}: checked before the files"
        );
    }
}

#[test]
fn a_file_it_names_is_read_only_as_a_methods_source() {
    let dir = tempfile::tempdir().unwrap();
    let secret = write(dir.path(), "secret.txt", "TOPSECRET-1234\n");
    let fifo = dir.path().join("m.rb");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let file = |f: &str| json!({"file": f, "runs": 1, "lines": [1, 0]});
    let doc = json!({"format": "miq-automate-coverage/1", "methods": {
        "/D/ns/C/secret": file(secret.to_str().unwrap()),
        "/D/ns/C/zero": file("/dev/zero"),
        "/D/ns/C/fifo": file(fifo.to_str().unwrap()),
        "/D/ns/C/dir": file("/"),
    }});
    let cov = write(dir.path(), "c.json", &doc.to_string());
    let started = Instant::now();
    let run = report(&[cov.to_str().unwrap(), "--output", "html"]);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    assert!(
        started.elapsed().as_secs() < 30,
        "no read without end, no wait on a FIFO"
    );
    assert!(
        !stdout(&run).contains("TOPSECRET"),
        "a file that is not a method's .rb is not shown"
    );
}

#[test]
fn hostile_names_and_counts_stay_text() {
    let dir = tempfile::tempdir().unwrap();
    let nasty = "</pre><script>alert(1)</script>\u{1b}[2J\u{202e}x ]]> password::v2:{abc}";
    let m = format!("/D/ns/C/{nasty}");
    let doc = json!({"format": "miq-automate-coverage/1",
        "methods": {&m: {"file": nasty, "runs": u64::MAX, "lines": [u64::MAX, null, 0]}},
        "machines": {"/D/ns/C": {"instances": {nasty: u64::MAX}, "states": {nasty: {"entered": u64::MAX,
            "results": {nasty: u64::MAX}, "steps": {"on_error": {"ran": u64::MAX, "served_by": {nasty: 1}}}}}}},
        "relationships": {nasty: {"followed": u64::MAX, "served_by": {nasty: u64::MAX}}}});
    let cov = write(dir.path(), "c.json", &doc.to_string());
    let c = cov.to_str().unwrap();
    // Twice: every count saturates instead of overflowing.
    let empty = stdout(&report(&[&fixture("happy.json"), "--output", "html"]));
    for output in ["text", "json", "html"] {
        let run = report(&[c, c, "--output", output]);
        assert_eq!(run.status.code(), Some(0), "{output}: {}", stderr(&run));
        let shown = stdout(&run);
        // JSON is data: serde_json escapes control characters, a bidi override stays as it is.
        assert!(
            !shown.contains('\u{1b}'),
            "{output}: a raw control character"
        );
        if output != "json" {
            assert!(!shown.contains('\u{202e}'), "{output}: a raw bidi override");
        }
        assert!(!shown.contains("v2:{abc}"), "{output}: a secret shown");
        if output == "html" {
            assert_eq!(
                shown.matches("<script").count(),
                empty.matches("<script").count(),
                "a script of the file's"
            );
        }
        if output == "json" {
            let doc: serde_json::Value = serde_json::from_str(&shown).unwrap();
            assert_eq!(doc["methods"][0]["runs"], u64::MAX);
        }
    }
}
