//! `miq-automate run` against methods that misbehave: reading stdin, looping for ever,
//! ending or killing the run's Ruby, forking, and a run killed while they run. A small
//! domain written by each test (`Hostile`, one class of methods) stands for the export;
//! every run is bounded in time by the harness. Needs the Ruby extension built (`make
//! ruby-ext`, or `make`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use std::os::unix::process::ExitStatusExt;

/// The methods of `/Test/Methods`, each behind an instance of the same name. `MARK_DIR`
/// (the test's directory) is where they leave what the test reads back.
const METHODS: &[(&str, &str)] = &[
    (
        "stdin",
        r#"$evm.log(:info, "stdin #{$stdin.read.inspect} STDIN #{STDIN.read.inspect} gets #{STDIN.gets.inspect}")"#,
    ),
    (
        "spin",
        r#"File.write(File.join(ENV.fetch("MARK_DIR"), "spin.pid"), Process.pid.to_s)
$evm.log(:info, "spinning")
loop { }"#,
    ),
    (
        "stubborn",
        r#"File.write(File.join(ENV.fetch("MARK_DIR"), "stubborn.pid"), Process.pid.to_s)
$evm.log(:info, "looping, and rescuing every exception")
loop { begin; sleep 0.01; rescue Exception; end }"#,
    ),
    (
        "exit_bang",
        r#"$evm.log(:info, "before exit!")
exit!(0)"#,
    ),
    (
        "process_exit_bang",
        r#"$evm.log(:info, "before Process.exit!")
Process.exit!(0)"#,
    ),
    (
        "kill_self",
        r#"$evm.log(:info, "before the kill")
Process.kill(:KILL, $$)"#,
    ),
    (
        "aborts",
        r#"$evm.log(:info, "before abort")
abort("giving up")"#,
    ),
    ("exits3", "exit 3"),
    (
        "forks",
        r#"$evm.log(:info, "forking")
fork
$evm.log(:info, "after the fork in #{Process.pid}")"#,
    ),
    (
        "after",
        r#"File.open(File.join(ENV.fetch("MARK_DIR"), "after.log"), "a") { |f| f.puts(Process.pid) }
$evm.log(:info, "after ran")"#,
    ),
    (
        "touch",
        r#"File.write(File.join(ENV.fetch("MARK_DIR"), "touched"), "")"#,
    ),
];

/// A test's directory: the domain under `domains/`, `tmp/` for the CLI's TMPDIR (so every
/// temporary file a run leaves is seen), and the methods' marks.
struct Fixture {
    dir: tempfile::TempDir,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let class = dir.path().join("domains/Hostile/Test/Methods.class");
        std::fs::create_dir_all(class.join("__methods__")).unwrap();
        std::fs::create_dir_all(dir.path().join("tmp")).unwrap();
        let write = |path: PathBuf, text: String| std::fs::write(path, text).unwrap();
        write(
            dir.path().join("domains/Hostile/__domain__.yaml"),
            "---\nobject_type: domain\nversion: 1.0\nobject:\n  attributes:\n    name: Hostile\n    priority: 10\n    enabled: true\n".into(),
        );
        write(
            dir.path().join("domains/Hostile/Test/__namespace__.yaml"),
            "---\nobject_type: namespace\nversion: 1.0\nobject:\n  attributes:\n    name: Test\n"
                .into(),
        );
        // The method first, then a relationship (the `forks` instance goes on to `after`).
        let field = |aetype: &str, name: &str, priority: u32| {
            format!("  - field:\n      aetype: {aetype}\n      name: {name}\n      datatype: string\n      priority: {priority}\n      substitute: true\n      message: create\n")
        };
        write(
            class.join("__class__.yaml"),
            format!(
                "---\nobject_type: class\nversion: 1.0\nobject:\n  attributes:\n    name: Methods\n  schema:\n{}{}",
                field("method", "execute", 1),
                field("relationship", "rel", 2)
            ),
        );
        for (name, body) in METHODS {
            let rel = if *name == "forks" {
                "  - rel:\n      value: /Test/Methods/after\n"
            } else {
                ""
            };
            write(
                class.join(format!("{name}.yaml")),
                format!("---\nobject_type: instance\nversion: 1.0\nobject:\n  attributes:\n    name: {name}\n  fields:\n  - execute:\n      value: {name}\n{rel}"),
            );
            write(
                class.join(format!("__methods__/{name}.yaml")),
                format!("---\nobject_type: method\nversion: 1.0\nobject:\n  attributes:\n    name: {name}\n    scope: instance\n    language: ruby\n    location: inline\n  inputs: []\n"),
            );
            write(
                class.join(format!("__methods__/{name}.rb")),
                format!("{body}\n"),
            );
        }
        Fixture { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Starts `miq-automate run /Test/Methods/METHOD --datastore … ARGS…`, its output to files.
    fn start(&self, method: &str, args: &[&str]) -> Child {
        self.command(method, args).spawn().expect("the binary runs")
    }

    fn command(&self, method: &str, args: &[&str]) -> Command {
        let extension = root().join("ruby/lib/miq_automate/miq_automate.so");
        assert!(
            extension.is_file(),
            "the Ruby extension is not built: run `make ruby-ext` first ({})",
            extension.display()
        );
        let mut command = Command::new(env!("CARGO_BIN_EXE_miq-automate"));
        command
            .current_dir(root())
            .args(["run", &format!("/Test/Methods/{method}"), "--datastore"])
            .arg(self.path("domains"))
            .args(args)
            .env("MARK_DIR", self.dir.path())
            .env("TMPDIR", self.path("tmp"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(self.path("stdout")).unwrap())
            .stderr(std::fs::File::create(self.path("stderr")).unwrap());
        command
    }

    /// Waits for the run (at most `bound`: past it the run is killed and the test fails),
    /// then checks that it left nothing behind: no process of the run, no temporary file.
    fn finish(&self, mut child: Child, started: Instant, bound: Duration) -> Run {
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > bound {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the run took more than {bound:?}: {}",
                    std::fs::read_to_string(self.path("stderr")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let run = Run {
            status,
            took: started.elapsed(),
            stdout: std::fs::read_to_string(self.path("stdout")).unwrap(),
            stderr: std::fs::read_to_string(self.path("stderr")).unwrap(),
        };
        let left = processes_mentioning(&self.dir.path().to_string_lossy());
        assert!(left.is_empty(), "processes left: {left:?}\n{}", run.stderr);
        let tmp: Vec<_> = std::fs::read_dir(self.path("tmp")).unwrap().collect();
        assert!(tmp.is_empty(), "temporary files left: {tmp:?}");
        for bug in ["[BUG]", "Segmentation fault"] {
            assert!(!run.stderr.contains(bug), "{}", run.stderr);
        }
        run
    }

    /// Runs to the end, within `bound`.
    fn run(&self, method: &str, args: &[&str], bound: Duration) -> Run {
        let started = Instant::now();
        let child = self.start(method, args);
        self.finish(child, started, bound)
    }

    /// The pid a method wrote to `NAME.pid`, once it is there (at most 20 s).
    fn wait_for_pid(&self, name: &str) -> i32 {
        let file = self.path(&format!("{name}.pid"));
        let started = Instant::now();
        loop {
            if let Some(pid) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|t| t.trim().parse().ok())
            {
                return pid;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the method {name} never started"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

struct Run {
    status: ExitStatus,
    took: Duration,
    stdout: String,
    stderr: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Processes whose command line holds `text` (the run's Ruby carries the test's datastore
/// path in its request, and so do its forks).
fn processes_mentioning(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains(text) {
            found.push(format!("{} {cmdline}", entry.file_name().to_string_lossy()));
        }
    }
    found
}

fn alive(pid: i32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

fn send(child: &Child, signal: i32) {
    // SAFETY: kill(2) to the test's own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
}

const BOUND: Duration = Duration::from_secs(30);

#[test]
fn a_method_reading_stdin_reads_nothing_at_once() {
    let fx = Fixture::new();
    // The test's stdin stays open: a Ruby that inherited it would wait on it for ever.
    let mut command = fx.command("stdin", &["--output", "json"]);
    command.stdin(Stdio::piped());
    let started = Instant::now();
    let mut child = command.spawn().unwrap();
    let stdin = child.stdin.take();
    let run = fx.finish(child, started, BOUND);
    drop(stdin);
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    assert!(
        run.stdout
            .contains(r#"<AEMethod stdin> stdin \"\" STDIN \"\" gets nil"#),
        "{}",
        run.stdout
    );
}

#[test]
fn timeout_stops_a_method_that_loops() {
    let fx = Fixture::new();
    let run = fx.run("spin", &["--timeout", "1"], BOUND);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "Method [/Hostile/Test/Methods/spin] timed out after 1 seconds (the engine's timeout option)"
        ),
        "{}",
        run.stderr
    );
    assert!(run.stdout.contains("ae_result: error"), "{}", run.stdout);
    assert!(run.took < Duration::from_secs(10), "{:?}", run.took);
}

#[test]
fn timeout_stops_a_method_that_rescues_every_exception() {
    let fx = Fixture::new();
    let run = fx.run("stubborn", &["--timeout", "1"], BOUND);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Method [/Hostile/Test/Methods/stubborn] timed out after 1 seconds"),
        "{}",
        run.stderr
    );
    assert!(run.took < Duration::from_secs(10), "{:?}", run.took);
}

#[test]
fn deadline_ends_a_run_whose_method_will_not_stop_and_names_it() {
    let fx = Fixture::new();
    let log = fx.path("automation.log");
    let log_arg = log.to_string_lossy().into_owned();
    // Long enough for Ruby to start and reach the method on a loaded machine.
    let run = fx.run("stubborn", &["--deadline", "4", "--log", &log_arg], BOUND);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "the deadline (4 s) passed while the method [/Hostile/Test/Methods/stubborn] was running: ruby was ended"
        ),
        "{}",
        run.stderr
    );
    // What ran so far: the methods, and the log lines received.
    assert!(run.stderr.contains("1 method started, "), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("<AEMethod stubborn> looping, and rescuing every exception"),
        "{}",
        run.stderr
    );
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains(
            "INFO -- automation: <AEMethod stubborn> looping, and rescuing every exception"
        ),
        "{log}"
    );
    // The method swallows SIGTERM: SIGKILL after the 2 s grace ended it.
    assert!(run.took >= Duration::from_secs(4), "{:?}", run.took);
    assert!(run.took < Duration::from_secs(15), "{:?}", run.took);
    assert!(!alive(fx.wait_for_pid("stubborn")));
}

/// Signals the CLI (only its pid) while `method` runs: its exit status, and Ruby is gone.
fn interrupted(method: &str, signal: i32) -> Run {
    let fx = Fixture::new();
    let started = Instant::now();
    let child = fx.start(method, &[]);
    let ruby = fx.wait_for_pid(method);
    send(&child, signal);
    let run = fx.finish(child, started, BOUND);
    assert!(!alive(ruby), "ruby {ruby} is still there");
    assert!(
        run.stderr.contains(&format!(
            "while the method [/Hostile/Test/Methods/{method}] was running: ruby was ended"
        )),
        "{}",
        run.stderr
    );
    run
}

#[test]
fn sigterm_ends_the_run_with_143_and_leaves_no_child() {
    let run = interrupted("spin", libc::SIGTERM);
    assert_eq!(run.status.code(), Some(143), "{}", run.stderr);
    assert!(
        run.stderr.contains("interrupted by SIGTERM"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("<AEMethod spin> spinning"),
        "{}",
        run.stderr
    );
}

#[test]
fn sigint_ends_the_run_with_130_and_leaves_no_child() {
    // This method swallows the SIGTERM the CLI sends its Ruby: SIGKILL follows.
    let run = interrupted("stubborn", libc::SIGINT);
    assert_eq!(run.status.code(), Some(130), "{}", run.stderr);
    assert!(
        run.stderr.contains("interrupted by SIGINT"),
        "{}",
        run.stderr
    );
}

#[test]
fn sighup_ends_the_run_with_129_unless_it_was_ignored_as_nohup_does() {
    let run = interrupted("spin", libc::SIGHUP);
    assert_eq!(run.status.code(), Some(129), "{}", run.stderr);

    // Started with SIGHUP ignored (nohup): the run goes on, here to its --deadline.
    let fx = Fixture::new();
    let mut command = fx.command("spin", &["--deadline", "4"]);
    // SAFETY: signal(2) in the child before exec; async-signal-safe.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut command, || {
            libc::signal(libc::SIGHUP, libc::SIG_IGN);
            Ok(())
        });
    }
    let started = Instant::now();
    let child = command.spawn().unwrap();
    fx.wait_for_pid("spin");
    send(&child, libc::SIGHUP);
    let run = fx.finish(child, started, BOUND);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains("the deadline (4 s) passed"),
        "{}",
        run.stderr
    );
}

#[test]
fn process_exit_bang_in_a_method_is_reported_as_its_fate_with_earlier_log_lines() {
    let fx = Fixture::new();
    let log = fx.path("automation.log");
    let log_arg = log.to_string_lossy().into_owned();
    let run = fx.run("process_exit_bang", &["--log", &log_arg], BOUND);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(run.stderr.contains(
        "the method [/Hostile/Test/Methods/process_exit_bang]'s process ended with exit status 0 before the run finished (exit! inside a method?)"
    ), "{}", run.stderr);
    assert!(!run.stderr.contains("not JSON"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("<AEMethod process_exit_bang> before Process.exit!"),
        "{}",
        run.stderr
    );
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(
        log.contains("<AEMethod process_exit_bang> before Process.exit!"),
        "{log}"
    );
    assert!(run.stdout.is_empty(), "{}", run.stdout);
}

#[test]
fn a_bare_exit_bang_ends_only_the_method() {
    // The engine gives a method's own `exit!` the method's exit status (as it ends
    // ManageIQ's method process), so the run goes on to its end.
    let fx = Fixture::new();
    let run = fx.run("exit_bang", &[], BOUND);
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("ae_result: ok"), "{}", run.stdout);
}

#[test]
fn a_method_killing_ruby_is_reported_as_its_fate_with_earlier_log_lines() {
    let fx = Fixture::new();
    let run = fx.run("kill_self", &[], BOUND);
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "the method [/Hostile/Test/Methods/kill_self]'s process was killed by SIGKILL before the run finished"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("<AEMethod kill_self> before the kill"),
        "{}",
        run.stderr
    );
}

#[test]
fn abort_and_exit_are_the_methods_exit_status() {
    let fx = Fixture::new();
    for (method, rc) in [("aborts", 1), ("exits3", 3)] {
        let run = fx.run(method, &[], BOUND);
        assert_eq!(run.status.code(), Some(2), "{method}: {}", run.stderr);
        assert!(
            run.stdout.contains(&format!(
                "ae_reason: Method exited with rc=Unknown RC: [{rc}]"
            )),
            "{method}: {}",
            run.stdout
        );
        assert!(
            !run.stderr.contains("before the run finished"),
            "{}",
            run.stderr
        );
    }
}

#[test]
fn process_isolation_keeps_exit_bang_and_kill_to_the_methods_process() {
    let fx = Fixture::new();
    let run = fx.run("process_exit_bang", &["--isolation", "process"], BOUND);
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    assert!(run.stdout.contains("ae_result: ok"), "{}", run.stdout);
    let run = fx.run(
        "kill_self",
        &["--isolation", "process", "--output", "json"],
        BOUND,
    );
    assert_eq!(run.status.code(), Some(2), "{}", run.stderr);
    assert!(
        run.stdout.contains("its process was killed by SIGKILL"),
        "{}",
        run.stdout
    );
}

#[test]
fn a_forking_method_runs_the_rest_of_the_delivery_once() {
    let fx = Fixture::new();
    let run = fx.run("forks", &["--output", "json"], BOUND);
    assert_eq!(run.status.code(), Some(0), "{}", run.stderr);
    let delivery: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let messages: Vec<&str> = delivery["logs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["message"].as_str())
        .collect();
    let count = |text: &str| messages.iter().filter(|m| m.contains(text)).count();
    assert_eq!(count("Delivering"), 1, "{messages:#?}");
    assert_eq!(count("after the fork in"), 1, "{messages:#?}");
    assert_eq!(count("<AEMethod after> after ran"), 1, "{messages:#?}");
    // The method after the fork ran in one process only, and one result came back.
    let after = std::fs::read_to_string(fx.path("after.log")).unwrap();
    assert_eq!(after.lines().count(), 1, "{after}");
    assert!(!run.stderr.contains("second result"), "{}", run.stderr);
}

#[test]
fn a_log_in_a_missing_directory_fails_before_ruby_runs() {
    let fx = Fixture::new();
    let log = fx.path("no/such/dir/automation.log");
    let log_arg = log.to_string_lossy().into_owned();
    let run = fx.run("touch", &["--log", &log_arg], BOUND);
    assert_eq!(run.status.code(), Some(1), "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot write the log") && run.stderr.contains("is not a directory"),
        "{}",
        run.stderr
    );
    assert!(!fx.path("touched").exists(), "the method ran");
}

/// Killing `run` at all sorts of moments — Ruby starting, loading ActiveSupport, the
/// method looping, the method swallowing the SIGTERM the CLI passes on — never crashes
/// Ruby nor leaves it (or a temporary file) behind.
#[test]
fn killing_run_during_a_looping_method_never_crashes_ruby_nor_leaves_it() {
    let fx = Fixture::new();
    let began = Instant::now();
    for i in 0..20u64 {
        // The stubborn method costs the 2 s grace each time it is reached: one run in four.
        let method = if i % 4 == 3 { "stubborn" } else { "spin" };
        let signal = if i % 2 == 0 {
            libc::SIGTERM
        } else {
            libc::SIGINT
        };
        let delay = Duration::from_millis(i * 37 % 700);
        let started = Instant::now();
        let child = fx.start(method, &[]);
        std::thread::sleep(delay);
        send(&child, signal);
        let run = fx.finish(child, started, BOUND);
        // Killed before its handler was in place (no Ruby yet), or ended by it.
        let code = run.status.code();
        assert!(
            code == Some(128 + signal) || run.status.signal() == Some(signal),
            "{method} after {delay:?}: {:?}\n{}",
            run.status,
            run.stderr
        );
        if let Ok(pid) = std::fs::read_to_string(fx.path(&format!("{method}.pid"))) {
            let pid: i32 = pid.trim().parse().unwrap();
            assert!(!alive(pid), "ruby {pid} is still there");
            std::fs::remove_file(fx.path(&format!("{method}.pid"))).unwrap();
        }
    }
    assert!(
        began.elapsed() < Duration::from_secs(60),
        "{:?}",
        began.elapsed()
    );
}
