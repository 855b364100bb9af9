//! `miq-automate password encrypt|decrypt --v2-key FILE`, run as a user runs it, with the
//! test keys of `tests/passwords/`.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

const KEY: &str = "tests/passwords/v2_key";

/// Runs the binary with `stdin` on its standard input (and no MIQ_V2_KEY of the caller's).
fn miq(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_miq-automate"))
        .current_dir(root())
        .args(args)
        .env_remove("MIQ_V2_KEY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    // A command that fails before reading its input closes the pipe: that is no failure here.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn encrypt_then_decrypt_round_trips() {
    let out = miq(&["password", "encrypt", "--v2-key", KEY], b"Top Secret 1\n");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let encrypted = stdout(&out);
    assert!(
        encrypted.starts_with("v2:{") && encrypted.ends_with("}\n"),
        "{encrypted}"
    );
    assert!(!encrypted.contains("Top Secret"));
    // From standard input, and as an argument.
    let out = miq(
        &["password", "decrypt", "--v2-key", KEY],
        encrypted.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "Top Secret 1\n");
    let out = miq(
        &["password", "decrypt", "--v2-key", KEY, encrypted.trim()],
        b"",
    );
    assert_eq!(stdout(&out), "Top Secret 1\n");
}

#[test]
fn the_fixed_vector_and_the_key_from_the_environment() {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_miq-automate"));
    let out = cmd
        .current_dir(root())
        .args(["password", "decrypt", "v2:{mvAEkOZjpzMQN3Q2ZpEoOw==}"])
        .env("MIQ_V2_KEY", KEY)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "s3cret\n");
    let out = miq(&["password", "encrypt", "--v2-key", KEY, "s3cret"], b"");
    assert_eq!(stdout(&out), "v2:{mvAEkOZjpzMQN3Q2ZpEoOw==}\n");
}

#[test]
fn a_missing_key_file_is_named() {
    let out = miq(
        &["password", "decrypt", "--v2-key", "tests/passwords/nope"],
        b"v2:{abc}",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot read v2 key file tests/passwords/nope")
            && err.contains("No such file"),
        "{err}"
    );
    // No key at all is a usage error.
    let out = miq(&["password", "decrypt"], b"v2:{abc}");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--v2-key"), "{}", stderr(&out));
}

#[test]
fn a_bad_key_file_says_why_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2_key");
    let secret = "c2hvcnQgYW5kIHNlY3JldA==";
    std::fs::write(
        &path,
        format!("---\n:algorithm: aes-256-cbc\n:key: {secret}\n"),
    )
    .unwrap();
    let out = miq(
        &["password", "encrypt", "--v2-key", path.to_str().unwrap()],
        b"x",
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("invalid v2 key file") && err.contains(":key: decodes to 16 bytes"),
        "{err}"
    );
    assert!(!err.contains(secret), "{err}");
    assert!(stdout(&out).is_empty());
}

#[test]
fn bogus_values_fail_with_the_gems_messages() {
    let out = miq(&["password", "decrypt", "--v2-key", KEY], b"v2:{55555}\n");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot decrypt encrypted string: the key in tests/passwords/v2_key does not decrypt it"),
        "{err}"
    );
    // Another key's value.
    let other = "v2:{w23XpH3P9Iq+sHZhZOY/sw==}";
    let out = miq(&["password", "decrypt", "--v2-key", KEY, other], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("cannot decrypt encrypted string"));
    let out = miq(&["password", "decrypt", "--v2-key", KEY], b"plain words");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("cannot decrypt plaintext string: the value is not a v2:{…} string"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn help_shows_no_key() {
    let key_text = std::fs::read_to_string(root().join(KEY)).unwrap();
    let secret = key_text
        .lines()
        .find_map(|l| l.strip_prefix(":key: "))
        .unwrap();
    for args in [
        &["password", "--help"][..],
        &["password", "encrypt", "--help"],
        &["password", "decrypt", "--help"],
        &["run", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_miq-automate"))
            .current_dir(root())
            .args(args)
            .env("MIQ_V2_KEY", KEY)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let help = stdout(&out);
        assert!(!help.contains(secret), "{help}");
        assert!(
            help.contains("--v2-key <FILE>") || args.len() == 2,
            "{help}"
        );
        if args.len() == 3 {
            assert!(help.contains("--v2-key <FILE>"), "{help}");
            assert!(help.contains("standard input"), "{help}");
        }
    }
}

/// A domain export whose instances `good` and `bogus` hold a password field and run a method
/// that checks its plaintext (`decrypt` raises for a bogus value: nothing rescues it).
fn creds_domain(dir: &std::path::Path) -> PathBuf {
    let domain = dir.join("Spec");
    let class = domain.join("Demo/Creds.class");
    std::fs::create_dir_all(class.join("__methods__")).unwrap();
    let write = |path: PathBuf, text: &str| std::fs::write(path, text).unwrap();
    let object = |kind: &str, body: &str| {
        format!("---\nobject_type: {kind}\nversion: 1.0\nobject:\n  attributes:\n{body}")
    };
    write(
        domain.join("__domain__.yaml"),
        &object(
            "domain",
            "    name: Spec\n    priority: 10\n    enabled: true\n",
        ),
    );
    write(
        domain.join("Demo/__namespace__.yaml"),
        &object("namespace", "    name: Demo\n"),
    );
    write(
        class.join("__class__.yaml"),
        &object(
            "class",
            "    name: Creds\n  schema:\n  - field:\n      aetype: attribute\n      name: password\n      datatype: password\n      priority: 1\n  - field:\n      aetype: method\n      name: execute\n      datatype: string\n      priority: 2\n",
        ),
    );
    for (instance, value) in [
        ("good", "v2:{mvAEkOZjpzMQN3Q2ZpEoOw==}"),
        ("bogus", "v2:{55555}"),
    ] {
        write(
            class.join(format!("{instance}.yaml")),
            &object(
                "instance",
                &format!("    name: {instance}\n  fields:\n  - password:\n      value: \"{value}\"\n  - execute:\n      value: check\n"),
            ),
        );
    }
    write(
        class.join("__methods__/check.yaml"),
        &object(
            "method",
            "    name: check\n    language: ruby\n    location: inline\n    scope: instance\n",
        ),
    );
    write(
        class.join("__methods__/check.rb"),
        "plain = $evm.object.decrypt('password')\n$evm.root['ae_result'] = plain == 's3cret' ? 'ok' : 'error'\n",
    );
    domain
}

fn run_creds(instance: &str, extra: &[&str]) -> (Output, serde_json::Value) {
    let extension = root().join("ruby/lib/miq_automate/miq_automate.so");
    assert!(
        extension.is_file(),
        "the Ruby extension is not built: run `make ruby-ext` first"
    );
    let dir = tempfile::tempdir().unwrap();
    let domain = creds_domain(dir.path());
    let uri = format!("/Demo/Creds/{instance}");
    let mut args = vec!["run", &uri, "--datastore", domain.to_str().unwrap()];
    args.extend(["--output", "json"]);
    args.extend(extra);
    let out = miq(&args, b"");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out, json)
}

#[test]
fn run_decrypts_with_the_v2_key() {
    let (out, json) = run_creds("good", &["--v2-key", KEY]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(json["ae_result"], "ok", "{json}");
    // Without a key the method sees the password's text as it is.
    let (out, json) = run_creds("good", &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert_eq!(json["ae_result"], "error", "{json}");
}

#[test]
fn run_with_a_bogus_value_raises_the_gems_error_in_the_method() {
    let (out, json) = run_creds("bogus", &["--v2-key", KEY]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let logs = json["logs"].to_string();
    assert!(
        logs.contains("ManageIQ::Password::PasswordError")
            && logs.contains("cannot decrypt encrypted string"),
        "{logs}"
    );
}

#[test]
fn run_names_a_missing_key_file() {
    let (out, _) = run_creds("good", &["--v2-key", "tests/passwords/nope"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("cannot read v2 key file") && err.contains("tests/passwords/nope"),
        "{err}"
    );
}
