//! `miq-automate mock-server`: serves a scenario file and prints its URL; refuses bad files
//! at once; `generate` prints the committed large scenario.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn mocks(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../mocks")
        .join(name)
}

fn miq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_miq-automate"))
}

/// Kills the server when a test fails before it does.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The status line of an HTTP/1.1 GET as `admin`/`smartvm`, over a plain socket (this crate
/// has no HTTP client of its own).
fn get_status(base: &str, path: &str) -> String {
    let host = base.strip_prefix("http://").expect("an http URL");
    let mut stream = TcpStream::connect(host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\n\
         Authorization: Basic YWRtaW46c21hcnR2bQ==\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).unwrap();
    line.trim_end().to_owned()
}

#[test]
fn serves_a_scenario_and_prints_its_url() {
    let mut server = Server(
        miq()
            .args(["mock-server", "--scenario"])
            .arg(mocks("failed_bundle.json"))
            .args(["--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert_eq!(get_status(&url, "/api/services/1000"), "HTTP/1.1 200 OK");
}

#[test]
fn a_bad_scenario_exits_1_naming_file_and_path() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"services": [{"id": "1", "name": "a", "parent": "2"}]}"#,
    )
    .unwrap();
    let out = miq()
        .args(["mock-server", "--scenario"])
        .arg(&bad)
        .output()
        .unwrap();
    // A scenario that cannot be loaded is a configuration error: 1, like every such error.
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.json") && err.contains("services[0]") && err.contains("parent"),
        "{err}"
    );
}

#[test]
fn generate_prints_the_committed_large_scenario() {
    let out = miq()
        .args(["mock-server", "generate", "--children", "500"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    let committed = std::fs::read_to_string(mocks("large_bundle.json")).unwrap();
    assert_eq!(
        text, committed,
        "regenerate: miq-automate mock-server generate --children 500 > mocks/large_bundle.json"
    );
}

#[test]
fn generate_and_serve_options_do_not_mix() {
    for args in [
        &["mock-server", "generate"][..],
        &["mock-server", "generate", "--children", "x"],
        &["mock-server", "generate", "--children", "3", "--port", "1"],
        &[
            "mock-server",
            "--scenario",
            "s.json",
            "generate",
            "--children",
            "3",
        ],
        &["mock-server"],
    ] {
        let out = miq().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// `/dev/zero` never ends and a FIFO without a writer blocks on open: both are refused at
/// once (exit 1, naming the file) instead of hanging or filling memory.
#[cfg(unix)]
#[test]
fn an_endless_or_blocking_scenario_file_exits_1_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("scenario.fifo");
    let mut files = vec![PathBuf::from("/dev/zero")];
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success())
    {
        files.push(fifo);
    }
    for file in files {
        let mut child = Server(
            miq()
                .args(["mock-server", "--scenario"])
                .arg(&file)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.0.try_wait().unwrap() {
                break status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "mock-server --scenario {} hung",
                file.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut err = String::new();
        child
            .0
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert_eq!(status.code(), Some(1), "{}: {err}", file.display());
        assert!(
            err.contains(&*file.to_string_lossy()) && err.contains("not a regular file"),
            "{}: {err}",
            file.display()
        );
    }
}
