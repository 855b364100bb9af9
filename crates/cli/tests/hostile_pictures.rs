//! Hostile input on `miq-automate diagram` (issue #23's pictures): traces that are not JSON,
//! not a trace, a directory or a FIFO; traces holding markup, Mermaid and DOT syntax,
//! control characters and bidi overrides in every string; numbers past every range; 10,000
//! deliveries. Each is drawn well-formed and bounded, or refused with an error naming the
//! file (exit 1) and nothing written to `-o`; an `-o` that cannot be written is refused
//! before any work, and a file there is never half-written or lost.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};

#[path = "support/cli.rs"]
mod cli;
#[path = "support/domain.rs"]
mod domain;

use cli::{miq, stderr};
use domain::{DOMAIN, MACHINE};

const TRACE: &str = "crates/cli/tests/traces/vmprovision.retries_then_error.json";
const FORMATS: [&str; 5] = ["svg", "mermaid", "dot", "table", "timeline"];
/// The machine's path with its domain, as a trace names it.
const FULL: &str =
    "/RollbackDemo/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template";

#[path = "support/xml.rs"]
mod xml;
use xml::xml_well_formed;

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// `diagram` of the example machine with this trace, in this format, to `out`.
fn diagram(trace: &Path, format: &str, out: &Path) -> std::process::Output {
    miq(&[
        "diagram",
        MACHINE,
        "--datastore",
        DOMAIN,
        "--trace",
        trace.to_str().unwrap(),
        "--output",
        format,
        "-o",
        out.to_str().unwrap(),
    ])
}

const NASTY: &str = "</svg><script>alert(1)</script> ]]> %%{init}%% \"]; x [label=\"y\"]; } # % ; \u{202e}evil\u{2066} \u{1b}[31m\u{0}\u{7f}\u{fffe}\u{ffff} &amp; &#0; ${/#x} password::v2:{abc}";

/// A trace of the example machine with a hostile string in every string field.
fn nasty_trace(states: &[String]) -> Value {
    let ev = |kind: &str, state: &str, step: &str, result: &str| {
        json!({"event": kind, "machine": FULL, "state": state, "step": step, "method": NASTY,
               "uri": NASTY, "result": result, "reason": NASTY, "error": NASTY, "domain": NASTY,
               "fqname": NASTY, "retries": i64::MAX, "retry_interval": 1e308})
    };
    let mut events = Vec::new();
    for s in states {
        events.push(ev("enter", s, "", ""));
        events.push(ev("step", s, "main", "ok"));
        events.push(ev("instantiate", s, "on_error", "error"));
        events.push(ev(
            "done",
            s,
            "",
            if s == states.last().unwrap() {
                "error"
            } else {
                "retry"
            },
        ));
    }
    json!({"ae_result": "error", "ae_reason": NASTY, "error": NASTY, "limit": NASTY,
           "started_at": NASTY, "virtual_seconds": -1,
           "trace": [{"delivery": 4_294_967_297_u64, "at": 1e308, "events": events.clone()},
                     {"delivery": 1, "at": -5, "events": events}]})
}

#[test]
fn hostile_strings_in_every_field_draw_well_formed_pictures() {
    let dir = tmp();
    let states = domain::states(&cli::root().join(DOMAIN));
    let trace = write(dir.path(), "t.json", &nasty_trace(&states).to_string());
    for format in FORMATS {
        let out = dir.path().join(format!("p.{format}"));
        let run = diagram(&trace, format, &out);
        assert_eq!(run.status.code(), Some(0), "{format}: {}", stderr(&run));
        let picture = std::fs::read_to_string(&out).unwrap();
        assert!(
            !picture.contains('\u{1b}')
                && !picture.contains('\u{202e}')
                && !picture.contains('\u{0}'),
            "{format}: a raw control or bidi character"
        );
        assert!(!picture.contains("v2:{abc}"), "{format}: a secret shown");
        match format {
            "svg" | "timeline" => {
                xml_well_formed(&picture).unwrap_or_else(|e| panic!("{format}: {e}"))
            }
            "table" => assert!(!picture.replace("\\<", "").contains("<script"), "{picture}"),
            _ => assert!(!picture.contains("<script"), "{format}: {picture}"),
        }
    }
}

#[test]
fn ten_thousand_deliveries_draw_bounded_and_in_time() {
    let dir = tmp();
    let states = domain::states(&cli::root().join(DOMAIN));
    let check = &states[1];
    let deliveries: Vec<Value> = (0..10_000u64)
        .map(|n| {
            json!({"delivery": n + 1, "at": n * 60, "events": [
                {"event": "enter", "machine": FULL, "state": check, "retries": n},
                {"event": "step", "machine": FULL, "state": check, "step": "main", "method": "/x/Check", "result": "retry", "reason": "not yet"},
                {"event": "instantiate", "machine": FULL, "state": check, "step": "on_error", "uri": "/r/Undo", "result": "ok"},
                {"event": "done", "machine": FULL, "state": check, "result": "retry", "retry_interval": 60}]})
        })
        .collect();
    let trace = json!({"ae_result": "retry", "limit": "max_deliveries", "virtual_seconds": 600_000, "trace": deliveries});
    let trace = write(dir.path(), "t.json", &trace.to_string());
    for format in FORMATS {
        let out = dir.path().join(format!("p.{format}"));
        let started = Instant::now();
        let run = diagram(&trace, format, &out);
        let took = started.elapsed();
        assert_eq!(run.status.code(), Some(0), "{format}: {}", stderr(&run));
        let size = std::fs::metadata(&out).unwrap().len();
        eprintln!("10,000 deliveries, {format}: {size} bytes in {took:?}");
        assert!(size < 2 << 20, "{format}: {size} bytes");
        if format == "timeline" {
            let picture = std::fs::read_to_string(&out).unwrap();
            assert!(picture.contains("9800 more visits"), "the cap is said");
            xml_well_formed(&picture).unwrap();
        }
    }
}

#[test]
fn bad_trace_files_are_refused_naming_the_file_and_nothing_is_written() {
    let dir = tmp();
    let fifo = dir.path().join("fifo.json");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let cases: Vec<(PathBuf, &str)> = vec![
        (write(dir.path(), "text.json", "not json {"), "is not JSON"),
        (
            write(
                dir.path(),
                "half.json",
                &std::fs::read_to_string(cli::root().join(TRACE)).unwrap()[..300],
            ),
            "is not JSON",
        ),
        (write(dir.path(), "empty.json", ""), "is not JSON"),
        (write(dir.path(), "obj.json", "{}"), "not a trace"),
        (write(dir.path(), "num.json", "42"), "not a trace"),
        (
            write(
                dir.path(),
                "cov.json",
                "{\"format\": \"miq-automate-coverage/1\", \"methods\": {}}",
            ),
            "not a trace",
        ),
        (dir.path().to_path_buf(), "a directory"),
        (fifo.clone(), "not a regular file"),
        (dir.path().join("missing.json"), "cannot read the trace"),
    ];
    for (trace, why) in cases {
        let out = dir.path().join("out.svg");
        let started = Instant::now();
        let run = diagram(&trace, "svg", &out);
        let err = stderr(&run);
        assert_eq!(run.status.code(), Some(1), "{}: {err}", trace.display());
        assert!(
            err.contains(&trace.display().to_string()) && err.contains(why),
            "{}: {err}",
            trace.display()
        );
        assert!(!out.exists(), "{}: an output was written", trace.display());
        assert!(started.elapsed().as_secs() < 30, "no wait on a FIFO");
    }
}

#[test]
fn an_output_that_cannot_be_written_is_refused_before_any_work() {
    let dir = tmp();
    let trace = cli::root().join(TRACE);
    for (out, why) in [
        (dir.path().to_path_buf(), "it is a directory"),
        (dir.path().join("no/such/dir/p.svg"), "is not a directory"),
        (PathBuf::from("/dev/full"), "No space left"),
    ] {
        let run = diagram(&trace, "svg", &out);
        let err = stderr(&run);
        assert_eq!(run.status.code(), Some(1), "{}: {err}", out.display());
        assert!(
            err.contains("cannot write") && err.contains(why),
            "{}: {err}",
            out.display()
        );
    }
}

#[test]
fn a_refused_trace_leaves_the_picture_there_whole() {
    let dir = tmp();
    let out = write(dir.path(), "p.svg", "the picture of yesterday");
    let bad = write(dir.path(), "bad.json", "{\"trace\": [");
    let run = diagram(&bad, "svg", &out);
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "the picture of yesterday"
    );
    // A good trace replaces it whole, through a temp file: none is left beside it.
    let run = diagram(&cli::root().join(TRACE), "svg", &out);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    xml_well_formed(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}
