//! `miq-automate trace show|diff|redact`, run as a user runs them, on traces the Ruby
//! recorder wrote (tests/traces, recorded from ruby/spec/fixtures/methods/check_vm_provision.rb
//! against a pure-Ruby $evm over DRb, error and retry paths) and on hand-written ones.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn traces() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/traces")
}

fn miq(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_miq-automate"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn show_prints_a_table_of_calls_with_receivers_answers_and_exceptions() {
    let file = traces().join("check_vm_provision.error.json");
    let out = miq(&["trace", "show", path(&file)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    let first = text.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("trace of check_vm_provision recorded ")
            && first.contains("42 call(s), 11 write(s), 12 object(s); outcome: exit 0"),
        "{first}"
    );
    for row in [
        " 1  $evm.root()",
        r#" 2  root["miq_provision"]"#,
        "$evm.vmdb(:vm, 12)",
        "vm#12",
        r#"root.decrypt("admin_password")"#,
        r#"root["ae_result"] = "error""#,
        "raised NoMethodError: undefined method `register_automate_callback'",
        "(yielded 2 time(s))",
        "/System/Notify/Cleanup?vm=web01&password::admin=********",
        "42  $evm.disconnect_sql()",
    ] {
        assert!(text.contains(row), "missing {row:?} in\n{text}");
    }
    assert!(!text.contains("sup3rSecret!") && !text.contains("v2:{"));
}

#[test]
fn diff_of_a_trace_with_itself_is_the_same() {
    let file = traces().join("check_vm_provision.retry.json");
    let out = miq(&["trace", "diff", path(&file), path(&file)]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        "same: 32 call(s), 6 write(s), outcome exit 0\n"
    );
}

#[test]
fn diff_names_the_first_divergence_and_sums_up_both() {
    let a = traces().join("check_vm_provision.error.json");
    let b = traces().join("check_vm_provision.retry.json");
    let out = miq(&["trace", "diff", path(&a), path(&b)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    // the object addresses in the two NoMethodError messages are no divergence
    assert!(text.starts_with("first divergence at call 27:\n"), "{text}");
    assert!(
        text.contains(r#"A: #27 miq_provision(handle 3).statemachine_task_status() -> "error""#),
        "{text}"
    );
    assert!(
        text.contains(r#"B: #27 miq_provision(handle 3).statemachine_task_status() -> "retry""#),
        "{text}"
    );
    assert!(text.contains("identical before it: 26 call(s)"), "{text}");
    assert!(
        text.contains("A: 42 call(s), 11 write(s), outcome exit 0"),
        "{text}"
    );
    assert!(
        text.contains("B: 32 call(s), 6 write(s), outcome exit 0"),
        "{text}"
    );
}

#[test]
fn diff_and_show_refuse_what_is_not_a_trace() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = traces().join("check_vm_provision.retry.json");
    let not_json = dir.path().join("x.json");
    fs::write(&not_json, "{").expect("write");
    let other_version = dir.path().join("v2.json");
    fs::write(
        &other_version,
        r#"{"format":"miq-automate-trace","version":2,"calls":[]}"#,
    )
    .expect("write");
    let missing = dir.path().join("missing.json");
    for bad in [&not_json, &other_version, &missing] {
        let out = miq(&["trace", "diff", path(&good), path(bad)]);
        assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
        assert!(stderr(&out).contains(path(bad)), "{}", stderr(&out));
        let out = miq(&["trace", "show", path(bad)]);
        assert_eq!(out.status.code(), Some(1));
    }
    let out = miq(&["trace", "show", path(&other_version)]);
    assert!(
        stderr(&out).contains("trace version Some(2) is not supported"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn redact_finds_nothing_left_in_a_recorder_trace_and_leaves_it_alone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("t.json");
    let original =
        fs::read(traces().join("check_vm_provision.error.json")).expect("read the fixture");
    fs::write(&file, &original).expect("write");
    let out = miq(&["trace", "redact", path(&file)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with(": 0 value(s) masked\n"),
        "{}",
        stdout(&out)
    );
    assert_eq!(fs::read(&file).expect("read"), original);
}

#[test]
fn redact_masks_a_leaky_trace_in_place_atomically() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("leaky.json");
    fs::write(
        &file,
        r#"{"format": "miq-automate-trace", "version": 1, "secret_keys": ["password", "token", "secret", "api_key"],
            "handles": [{"handle": 1, "kind": "evm", "model": "evm", "via": "$evm"},
                        {"handle": 2, "kind": "ae_object", "model": "instance", "path": "/A/B?password::p=hunter22"}],
            "outcome": {"status": "exception", "class": "RuntimeError", "message": "bad v2:{AAAA}"},
            "calls": [
              {"seq": 1, "receiver": 1, "method": "decrypt", "args": ["admin_password"], "result": "hunter22"},
              {"seq": 2, "receiver": 1, "method": "get_state_var", "args": [{"$symbol": "vault_pin"}], "result": "4321"},
              {"seq": 3, "receiver": 1, "method": "create_notification",
               "args": [{"$hash": [[{"$symbol": "message"}, "key v2:{BBBB}"], [{"$symbol": "api_key"}, "k-123"]]}], "result": true},
              {"seq": 4, "receiver": 1, "method": "instantiate", "args": ["/A/B?password::p=hunter22"],
               "result": {"$foreign": {"id": 2, "label": "instance"}}},
              {"seq": 5, "receiver": 1, "method": "[]", "args": ["db_password"], "result": {"$password": "hunter22"}},
              {"seq": 6, "receiver": 1, "method": "x", "args": [], "raised": {"class": "RuntimeError", "message": "no v2:{CCCC}"}}
            ]}"#,
    )
    .expect("write");
    let out = miq(&["trace", "redact", path(&file), "--secret-key", "pin"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).ends_with(": 9 value(s) masked\n"),
        "{}",
        stdout(&out)
    );
    let text = fs::read_to_string(&file).expect("read");
    for secret in ["hunter22", "4321", "k-123", "v2:{"] {
        assert!(!text.contains(secret), "{secret} left in\n{text}");
    }
    let doc: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
    assert_eq!(
        doc["calls"][3]["result"]["$foreign"]["id"], 2,
        "handles stay"
    );
    assert_eq!(
        doc["calls"][4]["result"],
        serde_json::json!({"$password": "********"})
    );
    assert!(doc["secret_keys"]
        .as_array()
        .is_some_and(|k| k.contains(&"pin".into())));
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .expect("list")
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("leaky.json")]);
    // a second pass has nothing left to do
    let out = miq(&["trace", "redact", path(&file)]);
    assert!(
        stdout(&out).ends_with(": 0 value(s) masked\n"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn redact_of_an_unreadable_file_fails_without_touching_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("t.json");
    fs::write(&file, "not json").expect("write");
    let out = miq(&["trace", "redact", path(&file)]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(fs::read_to_string(&file).expect("read"), "not json");
}

// ---- issue 21: secrets and terminal output ----

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("miq-trace-21-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn trace_doc(calls: serde_json::Value, outcome: serde_json::Value) -> String {
    serde_json::json!({
        "format": "miq-automate-trace", "version": 1, "method": "m",
        "recorded_at": "2026-01-01T00:00:00Z", "recorder": "miq_automate test",
        "secret_keys": ["password", "token", "secret", "api_key"],
        "outcome": outcome,
        "handles": [{"handle": 1, "kind": "evm", "model": "evm", "via": "$evm"}],
        "calls": calls,
    })
    .to_string()
}

#[test]
fn redact_with_a_secret_key_masks_every_copy_of_the_value() {
    let dir = scratch("pin");
    let file = dir.join("t.json");
    let calls = serde_json::json!([
        {"seq": 1, "receiver": 1, "method": "log", "args": [{"$symbol": "info"}, "pin is 48213"], "result": true},
        {"seq": 2, "receiver": 1, "method": "get_state_var", "args": [{"$symbol": "pin"}], "result": 48213},
        {"seq": 3, "receiver": 1, "method": "log", "args": [{"$symbol": "info"}, "retrying with 48213"], "result": true},
        {"seq": 4, "receiver": 1, "method": "x", "args": [48213], "result": "48213-suffix"}
    ]);
    fs::write(
        &file,
        trace_doc(
            calls,
            serde_json::json!({"status": "exception", "class": "E", "message": "bad pin 48213"}),
        ),
    )
    .unwrap();
    let out = miq(&["trace", "redact", "--secret-key", "pin", path(&file)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = fs::read_to_string(&file).unwrap();
    assert!(!text.contains("48213"), "{text}");
    assert!(
        stdout(&out).contains("6 value(s) masked"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn redact_writes_through_a_symlink_and_keeps_the_mode() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let dir = scratch("link");
    let real = dir.join("real.json");
    let link = dir.join("link.json");
    let calls = serde_json::json!([
        {"seq": 1, "receiver": 1, "method": "log", "args": [{"$symbol": "info"}, "k v2:{abc}"], "result": true}
    ]);
    fs::write(&real, trace_doc(calls, serde_json::Value::Null)).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o600)).unwrap();
    symlink(&real, &link).unwrap();
    let out = miq(&["trace", "redact", path(&link)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let text = fs::read_to_string(&real).unwrap();
    assert!(
        !text.contains("v2:{abc}") && text.contains("k ********"),
        "{text}"
    );
    let mode = fs::metadata(&real).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let left: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
}

fn leaky_trace(dir: &Path, message: &str) -> PathBuf {
    let file = dir.join("leaky.json");
    let calls = serde_json::json!([
        {"seq": 1, "receiver": 1, "method": "instantiate\u{1b}[2K", "args": ["/X?a=1"],
         "raised": {"class": "E", "message": message}}
    ]);
    fs::write(
        &file,
        trace_doc(
            calls,
            serde_json::json!({"status": "exception", "class": "E", "message": message}),
        ),
    )
    .unwrap();
    file
}

#[test]
fn show_and_diff_mask_raised_and_outcome_messages() {
    let dir = scratch("show");
    for message in [
        "bad v2:{c2VjcmV0QQ==}",
        "bad /X?password::pw=Sup3rSecret&x=1",
        "cannot reach https://admin:Sup3rSecret@host/api",
        "sent Authorization: Basic Sup3rSecret",
        "conn password=Sup3rSecret",
    ] {
        let file = leaky_trace(&dir, message);
        let show = miq(&["trace", "show", path(&file)]);
        let other = dir.join("other.json");
        fs::write(
            &other,
            trace_doc(serde_json::json!([]), serde_json::Value::Null),
        )
        .unwrap();
        let diff = miq(&["trace", "diff", path(&file), path(&other)]);
        for out in [show, diff] {
            let text = stdout(&out);
            assert!(
                !text.contains("Sup3rSecret") && !text.contains("c2VjcmV0QQ"),
                "{text}"
            );
            assert!(text.contains("********"), "{text}");
        }
    }
}

#[test]
fn show_and_diff_escape_terminal_control_characters() {
    let dir = scratch("escape");
    let file = leaky_trace(&dir, "line1\r\n\u{1b}[1A\u{1b}[2Kforged row");
    let other = dir.join("other.json");
    fs::write(
        &other,
        trace_doc(serde_json::json!([]), serde_json::Value::Null),
    )
    .unwrap();
    for args in [
        vec!["trace", "show", path(&file)],
        vec!["trace", "diff", path(&file), path(&other)],
    ] {
        let text = stdout(&miq(&args));
        assert!(!text.contains('\u{1b}') && !text.contains('\r'), "{text:?}");
        assert!(text.contains("\\e[2K"), "{text}");
    }
}

#[test]
fn show_into_a_closed_pipe_ends_quietly() {
    use std::io::Read;
    let dir = scratch("pipe");
    let calls: Vec<serde_json::Value> = (1..=20000)
        .map(|i| serde_json::json!({"seq": i, "receiver": 1, "method": "log", "args": ["line"], "result": true}))
        .collect();
    let file = dir.join("big.json");
    fs::write(
        &file,
        trace_doc(serde_json::Value::Array(calls), serde_json::Value::Null),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_miq-automate"))
        .args(["trace", "show", path(&file)])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    // the reader is gone (as `| head -1` leaves)
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

/// The secret forms of the core's property test (crates/core/tests/secrets.rs).
fn secret_forms(secret: &str) -> Vec<String> {
    vec![
        format!("password::pw={secret}"),
        format!("password={secret}"),
        format!("password: {secret}"),
        format!("\"password\"=>\"{secret}\""),
        format!("https://admin:{secret}@host:3000/api"),
        format!("Authorization: Basic {secret}"),
        format!("Authorization: Bearer {secret}"),
        format!("v2:{{{secret}}}"),
    ]
}

#[test]
fn every_secret_form_in_every_container_is_masked_by_show_diff_and_redact() {
    let dir = scratch("forms");
    let secret = "Zq9SeCrEt";
    let mut texts = Vec::new();
    for form in secret_forms(secret) {
        texts.extend([
            form.clone(),
            format!("{{\"any_key\"=>{form}}}"),
            format!("[1, {form}]"),
            format!("/Dom/Ns/C/i?x=1&{form}&y=2"),
            format!("X-Info: {form}"),
            format!("#<Conn {form}>"),
        ]);
    }
    let outcome = texts.join(" ");
    // a URI's `password::` value runs to the next `&`, spaces and all
    texts.push(format!("/X?password::pw=Top {secret}&a=1"));
    let mut calls = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        calls.push(
            serde_json::json!({"seq": 2 * i + 1, "receiver": 1, "method": "log",
            "args": [{"$symbol": "info"}, text], "result": {"any": [text]}}),
        );
        calls.push(
            serde_json::json!({"seq": 2 * i + 2, "receiver": 1, "method": "instantiate",
            "args": [text], "raised": {"class": "E", "message": text}}),
        );
    }
    let file = dir.join("forms.json");
    fs::write(
        &file,
        trace_doc(
            serde_json::Value::Array(calls),
            serde_json::json!({"status": "exception", "class": "E", "message": outcome}),
        ),
    )
    .unwrap();
    let empty = dir.join("empty.json");
    fs::write(
        &empty,
        trace_doc(serde_json::json!([]), serde_json::Value::Null),
    )
    .unwrap();
    for args in [
        vec!["trace", "show", path(&file)],
        vec!["trace", "diff", path(&file), path(&empty)],
    ] {
        let out = miq(&args);
        assert!(!stdout(&out).contains(secret), "{args:?}: {}", stdout(&out));
    }
    let out = miq(&["trace", "redact", path(&file)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = fs::read_to_string(&file).unwrap();
    assert!(!text.contains(secret), "{text}");
}
