//! The `miq-mock` binary: serves a scenario file and prints its URL; rejects bad files.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn mocks(name: &str) -> String {
    format!("{}/../../mocks/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn serves_a_scenario_and_prints_its_url() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_miq-mock"))
        .args(["--scenario", &mocks("failed_bundle.json"), "--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .get(format!("{url}/api/services/1000"))
            .basic_auth("admin", Some("smartvm"))
            .send()
            .await
            .unwrap()
            .status()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(status, 200);
}

#[test]
fn a_bad_scenario_exits_2_naming_file_and_path() {
    let dir = std::env::temp_dir().join(format!("miq-mock-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json");
    std::fs::write(
        &bad,
        r#"{"services": [{"id": "1", "name": "a", "parent": "2"}]}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_miq-mock"))
        .args(["--scenario", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json") && err.contains("services[0]") && err.contains("parent"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn generate_prints_a_loadable_scenario() {
    let out = Command::new(env!("CARGO_BIN_EXE_miq-mock"))
        .args(["generate", "--children", "500"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(mocks("large_bundle.json")).unwrap();
    assert_eq!(text, committed, "regenerate mocks/large_bundle.json");
}

/// `/dev/zero` never ends and a FIFO without a writer blocks on open: both are refused at
/// once (exit 2, naming the file) instead of hanging or filling memory.
#[cfg(unix)]
#[test]
fn an_endless_or_blocking_scenario_file_exits_2_at_once() {
    use std::time::{Duration, Instant};
    let dir = std::env::temp_dir().join(format!("miq-mock-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("scenario.fifo");
    let mut files = vec!["/dev/zero".to_owned()];
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        files.push(fifo.to_str().unwrap().to_owned());
    }
    for file in files {
        let mut child = Command::new(env!("CARGO_BIN_EXE_miq-mock"))
            .args(["--scenario", &file])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > Duration::from_secs(10) {
                child.kill().unwrap();
                child.wait().unwrap();
                panic!("miq-mock --scenario {file} hung");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
        assert_eq!(status.code(), Some(2), "{file}: {err}");
        assert!(
            err.contains(&file) && err.contains("not a regular file"),
            "{file}: {err}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
