//! `miq-automate run URI --datastore DIR`: delivers a URI from domain exports as
//! `MiqAeEngine.deliver` does, with the domain's real Ruby methods, retries played out on a
//! virtual clock, and prints the state trace.
//!
//! The methods run in Ruby, so this command starts **one** Ruby process for the whole run:
//! the gem's entry point `miq_automate/run_command` (`MiqAutomate::RunCommand`) loads the
//! datastore into `MiqAutomate::Engine`, builds the models, the mock VMDB and the stubs, and
//! calls `Engine#deliver`; every method runs in that one process. The binary itself stays
//! free of libruby.
//!
//! Ruby reports on a private channel, a socket whose other end it inherits at descriptor
//! [`CHANNEL_FD`]: one JSON object a line, as things happen — `{"log": {level, message}}`,
//! `{"method": {event: start|end, fqname, status}}`, and at the end `{"result": {started_at,
//! delivery}}`. This side prints the result (a table or the JSON), writes the automation.log
//! and chooses the exit status; when the run does not get that far (`--deadline`, a signal,
//! Ruby ending inside a method) what arrived before says how far it got and which method
//! held it. Ruby runs in a process group of its own, which this side ends (SIGTERM, then
//! SIGKILL after [`GRACE`]) whenever it stops early, so nothing it started outlives the run.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::{DateTime, Local, Utc};
use miq_automate_core::log::automation_line;
use miq_automate_core::LogLevel;
use serde_json::{json, Value};

use crate::{EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_SIGNAL};

/// Arguments of `run`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Exit status: 0 the request is done; 2 it ended in error or retry (a limit), a method timed \
out (--timeout), the run passed its --deadline, or Ruby ended inside a method (exit!, a \
kill); 1 bad usage, a datastore that does not load, Ruby failing outside any method; \
130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP (Ruby ended first).")]
pub struct Args {
    /// The URI to deliver (`/Infrastructure/VM/Provisioning/StateMachines/VMProvision_VM/template`,
    /// with `?query` arguments and a `#message` as the engine takes them).
    uri: String,
    /// Domain directories (each with __domain__.yaml, or holding several); repeat for more.
    #[arg(long = "datastore", value_name = "DIR", required = true)]
    datastores: Vec<PathBuf>,
    /// A root attribute (a string, as a queued URI carries it); repeat for more.
    #[arg(long = "attr", value_name = "KEY=VALUE", value_parser = key_value)]
    attrs: Vec<(String, String)>,
    /// Service models and root attributes (JSON: {"root": {...}, "models": [...]}, a
    /// {"$model": "miq_provision", "id": 1, "options": {...}} object for each model).
    #[arg(long, value_name = "FILE.json")]
    model: Option<PathBuf>,
    /// Write this run's automate coverage (its methods' lines, states entered, hooks run)
    /// to FILE, for `miq-automate coverage report`.
    #[arg(long, value_name = "FILE")]
    coverage: Option<PathBuf>,
    /// A world (docs/world.schema.json: providers, hosts, VMs, services, requests, users…
    /// and their behaviour on the run's virtual clock): `$evm.vmdb`, `$evm.execute` and
    /// the root's user answer from it, so polling states run without stubs.
    #[arg(long, value_name = "FILE.json")]
    world: Option<PathBuf>,
    /// A mock VMDB scenario (`mocks/*.json`): `$evm.vmdb` finds its services and VMs.
    #[arg(long, value_name = "FILE.json")]
    scenario: Option<PathBuf>,
    /// Replace an instance or method: PATH=ok|error|retry|retry:N|retry:N@INTERVAL|stop|abort, or an exit code.
    #[arg(long = "stub", value_name = "PATH=WHAT", value_parser = key_value)]
    stubs: Vec<(String, String)>,
    /// text (the state trace as a table and the result), json (the delivery, as
    /// `miq-automate diagram --trace` reads it) or html (a self-contained page of the run:
    /// the diagram, the timeline, each state's result, every delivery, the log).
    #[arg(short = 'O', long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Write the output here instead of stdout (checked before the run starts). Its
    /// directory must exist.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    out: Option<PathBuf>,
    /// Write every log line of every delivery here, in ManageIQ's automation.log format
    /// (also when the run stops early: the lines received until then). Its directory must exist.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Deliveries at most (a request that retries beyond it stops with result retry).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    max_deliveries: u32,
    /// Virtual seconds at most from the first delivery (no limit by default).
    #[arg(long, value_name = "SECONDS")]
    max_time: Option<u32>,
    /// Wall-clock seconds each method (or stub) may run (no limit by default): a method
    /// still running then is stopped, logged, and the delivery aborts naming it (exit 2).
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    timeout: Option<f64>,
    /// Wall-clock seconds the whole run may take (no limit by default): then Ruby is ended
    /// (SIGTERM, SIGKILL 2 s later), and the method that held the run is named with the log
    /// lines so far (exit 2). For a method that --timeout cannot stop.
    #[arg(long, value_name = "SECONDS", value_parser = seconds)]
    deadline: Option<f64>,
    /// Where each method runs: vm, in the run's one Ruby process (cheap; a method's
    /// Process.exit! or kill ends the run, reported as the method's fate), or process, in a
    /// process of its own forked from it (exit!, a kill or a crash end only that method).
    #[arg(long, value_enum, default_value_t = Isolation::Vm)]
    isolation: Isolation,
    /// The appliance's key file (certs/v2_key): a method's `decrypt` gives a `v2:{…}`
    /// password's plaintext. Without one, a password's text as it is.
    #[arg(long = "v2-key", value_name = "FILE", env = "MIQ_V2_KEY")]
    v2_key: Option<PathBuf>,
}

/// What `run` prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The state trace as a table, and the result.
    Text,
    /// The delivery as JSON.
    Json,
    /// A self-contained HTML page of the run (report::run).
    Html,
}

/// Where the engine runs each method (`Engine.new(isolation:)`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// In the run's one Ruby process.
    Vm,
    /// In a process of its own, forked from the run's Ruby.
    Process,
}

impl Isolation {
    fn name(self) -> &'static str {
        match self {
            Isolation::Vm => "vm",
            Isolation::Process => "process",
        }
    }
}

fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

/// A positive, finite number of seconds (`0.5`, `30`).
fn seconds(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(s),
        _ => Err(format!(
            "expected a positive number of seconds, got {text:?}"
        )),
    }
}

/// The descriptor at which Ruby finds its end of the channel (0–2 are its stdio).
const CHANNEL_FD: RawFd = 3;
/// How long Ruby has to end after SIGTERM before SIGKILL (a method may trap or swallow TERM).
const GRACE: Duration = Duration::from_secs(2);
/// How often the wait looks at signals, the deadline and whether Ruby ended.
const TICK: Duration = Duration::from_millis(20);
/// How long to wait for the last lines on the channel once Ruby has ended.
const DRAIN: Duration = Duration::from_secs(1);

/// Where the gem's Ruby files are: `MIQ_AUTOMATE_RUBYLIB`, else this source tree's
/// `ruby/lib` (found at build time) when it holds the entry point, else none (an installed
/// gem, which RubyGems finds by itself).
pub fn ruby_lib() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("MIQ_AUTOMATE_RUBYLIB").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    let tree = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ruby/lib");
    tree.join("miq_automate/run_command.rb")
        .is_file()
        .then_some(tree)
}

/// The `ruby` to run: `MIQ_AUTOMATE_RUBY`, else the one on `PATH`.
pub fn ruby_program() -> std::ffi::OsString {
    std::env::var_os("MIQ_AUTOMATE_RUBY").unwrap_or_else(|| "ruby".into())
}

/// Runs `run`.
pub fn run(args: Args) -> anyhow::Result<u8> {
    for dir in &args.datastores {
        if !dir.is_dir() {
            eprintln!(
                "miq-automate run: the datastore {} is not a directory",
                dir.display()
            );
            return Ok(EXIT_ERROR);
        }
    }
    // A wrong MIQ_AUTOMATE_RUBYLIB would end in Ruby's LoadError and backtrace.
    if let Some(dir) = std::env::var_os("MIQ_AUTOMATE_RUBYLIB").filter(|d| !d.is_empty()) {
        let dir = PathBuf::from(dir);
        if !dir.join("miq_automate/run_command.rb").is_file() {
            eprintln!(
                "miq-automate run: MIQ_AUTOMATE_RUBYLIB={} does not hold miq_automate/run_command.rb: set it to the gem's lib directory (ruby/lib of a checkout), or unset it",
                dir.display()
            );
            return Ok(EXIT_ERROR);
        }
    }
    // Outputs are checked before Ruby runs: a run of minutes must not fail at its last step.
    if let Some(path) = &args.log {
        if let Err(why) = check_output(path) {
            eprintln!(
                "miq-automate run: cannot write the log {}: {why}",
                path.display()
            );
            return Ok(EXIT_ERROR);
        }
    }
    if let Some(path) = &args.out {
        if let Err(why) = check_output(path) {
            eprintln!(
                "miq-automate run: cannot write the output {}: {why}",
                path.display()
            );
            return Ok(EXIT_ERROR);
        }
    }
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let request = json!({
        "uri": args.uri,
        "datastores": args.datastores.iter().map(|d| absolute(d)).collect::<Vec<_>>(),
        "attrs": args.attrs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<serde_json::Map<_, _>>(),
        "model": args.model.as_deref().map(absolute),
        "scenario": args.scenario.as_deref().map(absolute),
        "world": args.world.as_deref().map(absolute),
        "stubs": args.stubs,
        "max_deliveries": args.max_deliveries,
        "max_time": args.max_time,
        "timeout": args.timeout,
        "isolation": args.isolation.name(),
        "v2_key": args.v2_key.as_deref().map(absolute),
        "coverage": args.coverage.as_deref().map(absolute),
    });

    let deadline = args
        .deadline
        .map(|s| Instant::now() + Duration::from_secs_f64(s));
    let Supervised {
        ending,
        status,
        mut progress,
    } = supervise(&request, deadline)?;
    let holder = progress.holder_text();
    let stopped = match ending {
        Ending::Signal(sig) => {
            eprintln!(
                "miq-automate run: interrupted by {} while {holder}: ruby was ended",
                signal_name(sig)
            );
            Some(EXIT_SIGNAL + sig as u8)
        }
        Ending::Deadline => {
            eprintln!(
                "miq-automate run: the deadline ({} s) passed while {holder}: ruby was ended",
                args.deadline.unwrap_or_default()
            );
            Some(EXIT_PARTIAL)
        }
        Ending::Exited => None,
    };
    let code = match (stopped, progress.result.take()) {
        (Some(code), _) => code,
        (None, Some(result)) => {
            if !status.success() {
                eprintln!("miq-automate run: ruby ended with {status} after the run");
            }
            return finish(&args, &result);
        }
        (None, None) => match progress.running.last() {
            Some(fqname) => {
                eprintln!("miq-automate run: {}", fate(fqname, status));
                EXIT_PARTIAL
            }
            None => {
                // Exit 1 is Ruby refusing the request; it said why on stderr.
                if status.code() != Some(1) {
                    eprintln!("miq-automate run: ruby ended with {status} before the run finished");
                }
                EXIT_ERROR
            }
        },
    };
    if progress.started > 0 || !progress.logs.is_empty() {
        eprint!("{}", progress.report());
    }
    if let Some(path) = args.log.as_deref().filter(|_| !progress.logs.is_empty()) {
        std::fs::write(path, progress.log_file())
            .with_context(|| format!("cannot write the log {}", path.display()))?;
    }
    Ok(code)
}

/// How the run's Ruby went.
struct Supervised {
    /// Why the wait for it ended.
    ending: Ending,
    status: ExitStatus,
    /// What it said on the channel.
    progress: Progress,
}

/// Runs Ruby on `request` until it ends, `deadline` passes or SIGINT/SIGTERM/SIGHUP comes, and
/// leaves nothing of it behind: its process group ended if it had not, the processes it
/// orphaned ended, its temporary directory removed.
fn supervise(request: &Value, deadline: Option<Instant>) -> anyhow::Result<Supervised> {
    // Registered before Ruby starts, so a signal never leaves it behind: from here on
    // SIGINT/SIGTERM (and SIGHUP, a closed terminal) only set this flag, which the wait reads.
    let signal = Arc::new(AtomicUsize::new(0));
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // One ignored by whoever started us stays ignored: `nohup` (SIGHUP) and a script's
        // background job (SIGINT) are meant to outlive the terminal and its Ctrl-C.
        if !ignored(sig) {
            signal_hook::flag::register_usize(sig, signal.clone(), sig as usize)
                .context("cannot handle SIGINT/SIGTERM/SIGHUP")?;
        }
    }
    // Ruby's temporary files (a method's Tempfile, the process isolation's sockets) go in
    // a directory of the run's, removed when the run ends however Ruby ended.
    let tmp = tempfile::Builder::new()
        .prefix("miq-automate-run-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    adopt_orphans();
    let (mut child, channel) = start_ruby(request, tmp.path())?;
    let events = read_channel(channel);
    let mut progress = Progress::default();
    let ending = wait(&child, &events, &mut progress, deadline, &signal);
    if !matches!(ending, Ending::Exited) {
        stop(&child);
    }
    // Everything left in Ruby's group goes too (a method's fork or background command):
    // its leader is not reaped yet, so the group's id cannot have been reused.
    signal_group(&child, libc::SIGKILL);
    let status = child.wait().context("cannot wait for ruby")?;
    end_orphans();
    // With every holder of the channel gone, what it still holds is read to its end.
    drain(&events, &mut progress);
    drop(tmp);
    Ok(Supervised {
        ending,
        status,
        progress,
    })
}

/// The run went to its end: the delivery printed, logged and judged.
fn finish(args: &Args, result: &Value) -> anyhow::Result<u8> {
    // A method's --timeout aborted the delivery: say which, whatever the output.
    if let Some(message) = result.get("timed_out").and_then(Value::as_str) {
        eprintln!("miq-automate run: {message}");
    }
    let started = result
        .get("started_at")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    let mut delivery = result.get("delivery").cloned().unwrap_or_else(|| json!({}));
    // When the run began (ISO 8601), for what reads the JSON (a picture's time axis).
    if let (Some(map), Some(at)) = (delivery.as_object_mut(), result.get("started_at")) {
        map.insert("started_at".into(), at.clone());
    }
    if let Some(path) = &args.log {
        write_log(path, &delivery, started)
            .with_context(|| format!("cannot write the log {}", path.display()))?;
    }
    let shown = match args.output {
        Output::Json => format!("{}\n", serde_json::to_string_pretty(&delivery)?),
        Output::Text => table(&delivery),
        Output::Html => {
            let machine = traced_machine(args, &delivery);
            crate::report::run::page(&delivery, machine.as_ref(), &args.uri, Utc::now())
        }
    };
    match &args.out {
        // Whole or not at all (a temp file renamed): never half a page.
        Some(path) => crate::report::write_output(path, &shown)
            .with_context(|| format!("cannot write the output {}", path.display()))?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(shown.as_bytes())?;
            out.flush()?;
        }
    }
    // A stub nothing used is a typo in its path, or a state the machine never reached
    // (a run that failed earlier): said on stderr, so a typo does not pass unseen.
    for path in items(result, "unused_stubs").filter_map(Value::as_str) {
        eprintln!(
            "miq-automate run: warning: --stub {} matched nothing in this run: no instance or method of that path was reached (check its spelling against the table)",
            crate::output::terminal_text(path)
        );
    }
    Ok(exit_status(&delivery))
}

/// The state machine the URI names (its path, without `?query` or `#message`), read by Rust
/// from the datastores with the run's trace on it, for the HTML page; `None` when the URI
/// is not a state machine (the page shows the events only), or the trace does not fit it
/// (said on stderr).
fn traced_machine(args: &Args, delivery: &Value) -> Option<crate::diagram::Machine> {
    let path = args.uri.split(['?', '#']).next().unwrap_or(&args.uri);
    let ds = match miq_automate_engine::datastore::Datastore::load(&args.datastores) {
        Ok(ds) => ds,
        Err(e) => {
            eprintln!(
                "miq-automate run: warning: the page has no diagram: the datastore does not load in Rust: {}",
                crate::output::terminal_text(&e.to_string())
            );
            return None;
        }
    };
    let mut machine = crate::diagram::build(&ds, path).ok()?;
    match crate::diagram::add_trace(&mut machine, delivery) {
        Ok(()) => Some(machine),
        Err(e) => {
            eprintln!(
                "miq-automate run: warning: the page has no diagram: {}",
                crate::output::terminal_text(&e)
            );
            None
        }
    }
}

/// Why a file cannot be written there, checked without changing it (an earlier check
/// truncated it: a run refused after it lost the file that was there).
fn check_output(path: &Path) -> Result<(), String> {
    crate::report::check_output(path)
}

/// Starts the run's Ruby: stdin /dev/null (ManageIQ closes a method's stdin; a method
/// reading it gets "" at once), stdout onto our stderr (ours is the result's), a process
/// group of its own, and the channel's other end at [`CHANNEL_FD`].
fn start_ruby(request: &Value, tmp: &Path) -> anyhow::Result<(Child, UnixStream)> {
    // Both ends are close-on-exec: only this Ruby gets one, at CHANNEL_FD (prepare_ruby).
    let (ours, theirs) = UnixStream::pair().context("cannot open a channel to ruby")?;
    let ruby = ruby_program();
    let mut command = Command::new(&ruby);
    if let Some(lib) = ruby_lib() {
        command.arg("-I").arg(lib);
    }
    command
        .args([
            "-r",
            "miq_automate/run_command",
            "-e",
            "exit MiqAutomate::RunCommand.main(ARGV)",
        ])
        .arg(request.to_string())
        .arg(CHANNEL_FD.to_string())
        .env("TMPDIR", tmp)
        .stdin(Stdio::null())
        // Ruby's own output is not ours to print on stdout (it would spoil --output json).
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit())
        // A group of its own: a terminal's Ctrl-C reaches only this side, which then ends
        // Ruby and all it started in order, rather than racing Ruby's own Interrupt.
        .process_group(0);
    let fd = theirs.as_raw_fd();
    // SAFETY: prepare_ruby only makes async-signal-safe calls (fcntl, dup2, signal, prctl).
    unsafe { command.pre_exec(move || prepare_ruby(fd)) };
    let child = command.spawn().with_context(|| {
        format!(
            "cannot start {} (set MIQ_AUTOMATE_RUBY to the ruby to use)",
            ruby.to_string_lossy()
        )
    })?;
    // Only Ruby (and its forks) hold the other end now: when they are gone, we read EOF.
    drop(theirs);
    Ok((child, ours))
}

/// In the child, between fork and exec: the channel at CHANNEL_FD, kept open across exec;
/// SIGTTOU ignored (in a group of its own Ruby is not the terminal's foreground, and a
/// terminal with `tostop` would stop it at its first warning); and (on Linux) SIGKILL when
/// this process dies, so a killed CLI leaves no Ruby running.
fn prepare_ruby(fd: RawFd) -> std::io::Result<()> {
    // SAFETY: plain descriptor and process-attribute calls on descriptors this process owns.
    let failed = unsafe {
        if fd == CHANNEL_FD {
            // dup2 onto itself would keep close-on-exec: clear it instead.
            libc::fcntl(fd, libc::F_SETFD, 0) == -1
        } else {
            libc::dup2(fd, CHANNEL_FD) == -1
        }
    };
    if failed {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: an ignored disposition, which exec keeps; async-signal-safe.
    unsafe {
        libc::signal(libc::SIGTTOU, libc::SIG_IGN);
    }
    #[cfg(target_os = "linux")]
    // SAFETY: sets an attribute of this (child) process only.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) } == -1 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Linux: this process adopts what Ruby leaves behind when it ends (a method's process in a
/// group of its own, out of reach of Ruby's group), so that [`end_orphans`] ends it.
fn adopt_orphans() {
    #[cfg(target_os = "linux")]
    // SAFETY: sets an attribute of this process only. Failing, orphans go to init as before.
    unsafe {
        libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    }
}

/// Ends and reaps the processes Ruby left behind, which [`adopt_orphans`] made ours. Each
/// round's kills may leave their own children to us: a few rounds.
fn end_orphans() {
    for _ in 0..5 {
        let orphans = children();
        if orphans.is_empty() {
            return;
        }
        for &(pid, group) in &orphans {
            // SAFETY: kill(2) and waitpid(2) on our own unreaped children: their pids and
            // the groups they lead cannot be another process's.
            unsafe {
                if group == pid {
                    libc::kill(-pid, libc::SIGKILL);
                }
                libc::kill(pid, libc::SIGKILL);
            }
        }
        for &(pid, _) in &orphans {
            // SAFETY: as above; a null status pointer is allowed.
            unsafe {
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
    }
}

/// This process's children (pid, process group), from /proc (Ruby, once reaped, is not one).
fn children() -> Vec<(libc::pid_t, libc::pid_t)> {
    let me = std::process::id().to_string();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let stat = std::fs::read_to_string(e.ok()?.path().join("stat")).ok()?;
            // `pid (comm) state ppid pgrp …`: comm may hold spaces and parentheses.
            let mut fields = stat.get(stat.rfind(')')? + 2..)?.split(' ').skip(1);
            let (ppid, group) = (fields.next()?, fields.next()?);
            let pid = stat.split(' ').next()?.parse().ok()?;
            (ppid == me).then_some((pid, group.parse().ok()?))
        })
        .collect()
}

/// A line from Ruby's channel, or its end.
enum Event {
    Message(Value),
    Closed,
}

/// Reads the channel on a thread of its own, so the wait can look at the clock and signals
/// while Ruby is silent.
fn read_channel(channel: UnixStream) -> Receiver<Event> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(channel).lines() {
            let Ok(line) = line else { break };
            match serde_json::from_str(&line) {
                Ok(message) => {
                    if tx.send(Event::Message(message)).is_err() {
                        return;
                    }
                }
                // Only the run's Ruby writes there, but a method could reach the descriptor.
                Err(_) => eprintln!("miq-automate run: ignored a line from ruby that is not JSON"),
            }
        }
        let _ = tx.send(Event::Closed);
    });
    rx
}

/// Why the wait ended.
enum Ending {
    /// Ruby ended (not reaped yet).
    Exited,
    /// `--deadline` passed.
    Deadline,
    /// SIGINT, SIGTERM or SIGHUP came.
    Signal(i32),
}

/// Takes Ruby's messages until it ends, the deadline passes or a signal comes.
fn wait(
    child: &Child,
    events: &Receiver<Event>,
    progress: &mut Progress,
    deadline: Option<Instant>,
    signal: &AtomicUsize,
) -> Ending {
    let mut open = true;
    loop {
        if open {
            match events.recv_timeout(TICK) {
                Ok(Event::Message(message)) => progress.take(message),
                Ok(Event::Closed) | Err(RecvTimeoutError::Disconnected) => open = false,
                Err(RecvTimeoutError::Timeout) => {}
            }
        } else {
            std::thread::sleep(TICK);
        }
        let sig = signal.load(Ordering::SeqCst);
        if sig != 0 {
            return Ending::Signal(sig as i32);
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ending::Deadline;
        }
        if has_exited(child) {
            return Ending::Exited;
        }
    }
}

/// The messages Ruby wrote before it ended that are still on their way.
fn drain(events: &Receiver<Event>, progress: &mut Progress) {
    while let Ok(Event::Message(message)) = events.recv_timeout(DRAIN) {
        progress.take(message);
    }
}

/// Whether Ruby has ended, without reaping it: while it is a zombie its pid and its group's
/// id stay ours, so signalling the group cannot hit another process.
fn has_exited(child: &Child) -> bool {
    // SAFETY: waitid fills `info`, a zeroed siginfo_t owned here.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let found = libc::waitid(
            libc::P_PID,
            child.id(),
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        // Failing (nothing to wait for) counts as ended: the wait must not spin for ever.
        found != 0 || info.si_pid() != 0
    }
}

/// Whether `sig` is ignored in this process.
fn ignored(sig: i32) -> bool {
    // SAFETY: sigaction(2) only reads the disposition into `old`, a zeroed struct owned here.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(sig, std::ptr::null(), &mut old) == 0 && old.sa_sigaction == libc::SIG_IGN
    }
}

/// Ends Ruby's group: SIGTERM, then SIGKILL after [`GRACE`] if Ruby is still there.
fn stop(child: &Child) {
    signal_group(child, libc::SIGTERM);
    let until = Instant::now() + GRACE;
    while Instant::now() < until && !has_exited(child) {
        std::thread::sleep(TICK);
    }
    signal_group(child, libc::SIGKILL);
}

/// Sends `sig` to Ruby's process group (Ruby leads it: its id is Ruby's pid).
fn signal_group(child: &Child, sig: i32) {
    // SAFETY: kill(2) has no memory effects; Ruby is not reaped, so the group is still ours.
    unsafe {
        libc::kill(-(child.id() as libc::pid_t), sig);
    }
}

fn signal_name(sig: i32) -> String {
    signal_hook::low_level::signal_name(sig)
        .map(str::to_string)
        .unwrap_or_else(|| format!("signal {sig}"))
}

/// What became of Ruby while `fqname` ran, as its exit status tells.
fn fate(fqname: &str, status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!(
            "the method [{fqname}]'s process ended with exit status {code} before the run finished (exit! inside a method?)"
        ),
        (_, Some(sig)) => format!(
            "the method [{fqname}]'s process was killed by {} before the run finished",
            signal_name(sig)
        ),
        _ => format!("the method [{fqname}]'s process ended ({status}) before the run finished"),
    }
}

/// A log line as it arrived.
struct Received {
    at: DateTime<Local>,
    level: LogLevel,
    message: String,
}

/// What Ruby told so far.
#[derive(Default)]
struct Progress {
    logs: Vec<Received>,
    /// Methods started and not ended with a status, outermost first (a method may
    /// instantiate another).
    running: Vec<String>,
    started: usize,
    ended: usize,
    result: Option<Value>,
}

impl Progress {
    fn take(&mut self, message: Value) {
        if let Some(log) = message.get("log") {
            let received = Received {
                at: Local::now(),
                level: text(log, "level").parse().unwrap_or(LogLevel::Info),
                message: text(log, "message"),
            };
            // `-v`: the automation log streams to stderr as it is written.
            tracing::info!(
                target: "automation",
                "{:>5} {}",
                received.level.as_str().to_uppercase(),
                crate::output::terminal_text(&received.message)
            );
            self.logs.push(received);
        } else if let Some(method) = message.get("method") {
            let fqname = text(method, "fqname");
            match text(method, "event").as_str() {
                "start" => {
                    self.started += 1;
                    self.running.push(fqname);
                }
                // An end without a status is a method unwound by what stopped the run (a
                // signal's exception): it still held the run.
                "end" if !method.get("status").is_none_or(Value::is_null) => {
                    self.ended += 1;
                    if let Some(at) = self.running.iter().rposition(|f| *f == fqname) {
                        self.running.truncate(at);
                    }
                }
                _ => {}
            }
        } else if let Some(result) = message.get("result") {
            // Only the run's own Ruby process writes one, once.
            if self.result.is_some() {
                eprintln!("miq-automate run: ignored a second result from ruby");
            } else {
                self.result = Some(result.clone());
            }
        }
    }

    /// The method holding the run (the innermost one started and not ended), in words.
    fn holder_text(&self) -> String {
        match self.running.last() {
            Some(fqname) => format!("the method [{fqname}] was running"),
            None => "no method was running".into(),
        }
    }

    /// How far the run got: the methods, and every log line received.
    fn report(&self) -> String {
        let mut out = format!(
            "miq-automate run: {} method{} started, {} ended",
            self.started,
            if self.started == 1 { "" } else { "s" },
            self.ended
        );
        if !self.running.is_empty() {
            out.push_str(&format!("; still running: {}", self.running.join(" > ")));
        }
        out.push_str(&format!("\nlog lines received ({}):\n", self.logs.len()));
        for line in &self.logs {
            out.push_str(&format!(
                "  {:<5} {}\n",
                line.level.label(),
                crate::output::terminal_text(&line.message)
            ));
        }
        out
    }

    /// The log lines received, as automation.log lines stamped with when they arrived.
    fn log_file(&self) -> String {
        let pid = std::process::id();
        self.logs
            .iter()
            .map(|l| automation_line(l.level, l.at, pid, "0", &l.message) + "\n")
            .collect()
    }
}

/// 0 when the request is done (`ok`, or anything but `error`/`retry`), 2 when it ended in
/// error or a limit stopped it retrying.
pub fn exit_status(delivery: &Value) -> u8 {
    let result = delivery
        .get("ae_result")
        .and_then(Value::as_str)
        .unwrap_or("error");
    let limited = delivery.get("limit").is_some_and(|l| !l.is_null());
    if limited || result.eq_ignore_ascii_case("error") || result.eq_ignore_ascii_case("retry") {
        EXIT_PARTIAL
    } else {
        EXIT_OK
    }
}

/// A nested machine's state (`machine` is not `top`, the delivered one), as the tables show
/// it: under its machine's class, `Class/State`. `None` for a state of `top`.
pub(crate) fn nested_state(top: &str, machine: &str, state: &str) -> Option<String> {
    if machine.is_empty() || machine == top {
        return None;
    }
    let short = machine.rsplit('/').nth(1).unwrap_or(machine);
    Some(format!("{short}/{state}"))
}

/// The step an `enter` event shows: `enter`, or `enter (retry N)` on a retry.
pub(crate) fn enter_step(e: &Value) -> String {
    let retries = e.get("retries").and_then(Value::as_i64).unwrap_or(0);
    if retries > 0 {
        format!("enter (retry {retries})")
    } else {
        "enter".into()
    }
}

/// A hook row's own outcome (`None` for a main, whose row shows ae_result). The engine
/// records root ae_result after each step, and after an on_error that stays `error` — the
/// state's failure, not the hook's: an on_error that did not raise `ran` (or says what it set
/// ae_result to, `continue`, `retry`); any hook that raised is `raised`.
pub(crate) fn hook_outcome(e: &Value) -> Option<String> {
    let step = text(e, "step");
    if !matches!(step.as_str(), "on_entry" | "on_exit" | "on_error") {
        return None;
    }
    if e.get("error").is_some_and(|v| !v.is_null()) {
        return Some("raised".into());
    }
    match text(e, "result").as_str() {
        _ if step != "on_error" => None,
        "" | "error" => Some("ran".into()),
        other => Some(format!("ran, ae_result {other}")),
    }
}

/// The RESULT column's widest cell; a longer result is cut with `…` (its full text follows
/// the table).
const RESULT_MAX: usize = 40;

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// The state trace as a table (delivery, state, step, method, result, next state), each
/// requeue under its delivery, then the result.
pub fn table(delivery: &Value) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "DELIVERY".into(),
        "STATE".into(),
        "STEP".into(),
        "METHOD".into(),
        "RESULT".into(),
        "NEXT STATE".into(),
    ]];
    let mut notes: Vec<(usize, String)> = Vec::new();
    let top = trace(delivery)
        .flat_map(events)
        .next()
        .map(|e| text(e, "machine"))
        .unwrap_or_default();
    for entry in trace(delivery) {
        let n = text(entry, "delivery");
        for e in events(entry) {
            let state = match nested_state(&top, &text(e, "machine"), &text(e, "state")) {
                Some(nested) => format!("  {nested}"),
                None => text(e, "state"),
            };
            let row = match text(e, "event").as_str() {
                "enter" => [
                    n.clone(),
                    state,
                    enter_step(e),
                    String::new(),
                    String::new(),
                    String::new(),
                ],
                "step" => {
                    let mut result = hook_outcome(e).unwrap_or_else(|| text(e, "result"));
                    if let Some(err) = e.get("error").and_then(Value::as_str) {
                        result = format!("{result}: {err}");
                    }
                    [
                        n.clone(),
                        state,
                        text(e, "step"),
                        text(e, "method"),
                        result,
                        String::new(),
                    ]
                }
                "done" => {
                    let next = match e.get("next_state") {
                        Some(Value::String(s)) if s.is_empty() => "(end)".to_string(),
                        Some(Value::String(s)) => s.clone(),
                        _ => String::new(),
                    };
                    [
                        n.clone(),
                        state,
                        "done".into(),
                        String::new(),
                        text(e, "result"),
                        next,
                    ]
                }
                "raised" => [
                    n.clone(),
                    state,
                    "raised".into(),
                    String::new(),
                    text(e, "error"),
                    String::new(),
                ],
                _ => continue,
            };
            rows.push(row);
        }
        if let Some(r) = entry.get("requeue").filter(|r| !r.is_null()) {
            let interval = r.get("retry_interval").and_then(Value::as_i64).unwrap_or(0);
            notes.push((
                rows.len(),
                format!(
                    "  -> requeued: state [{}] delivered again in {interval} s (virtual)",
                    text(r, "state")
                ),
            ));
        }
    }
    if rows.len() == 1 {
        rows.clear();
        notes.clear();
    }
    // State names, methods and messages come from exports and methods: control characters
    // are shown escaped, never sent to the terminal (erase a line, forge a row).
    for cell in rows.iter_mut().flatten() {
        *cell = crate::output::terminal_text(cell);
    }
    for (_, note) in notes.iter_mut() {
        *note = crate::output::terminal_text(note);
    }
    // A long result (an exception's message) would push NEXT STATE off every row: it is cut,
    // and its whole text follows the table.
    let mut cut: Vec<String> = Vec::new();
    for row in rows.iter_mut().skip(1) {
        if row[4].chars().count() > RESULT_MAX {
            let full = format!("{} {}: {}", row[1].trim(), row[2], row[4]);
            if !cut.contains(&full) {
                cut.push(full);
            }
            let short: String = row[4].chars().take(RESULT_MAX - 1).collect();
            row[4] = format!("{}…", short.trim_end());
        }
    }
    let mut widths = [0usize; 6];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut notes = notes.into_iter().peekable();
    for (i, row) in rows.iter().enumerate() {
        let mut line = String::new();
        for (j, (cell, w)) in row.iter().zip(widths).enumerate() {
            if j > 0 {
                line.push_str("  ");
            }
            line.push_str(cell);
            line.extend(std::iter::repeat_n(' ', w - cell.chars().count()));
        }
        out.push_str(line.trim_end());
        out.push('\n');
        while notes.peek().is_some_and(|(at, _)| *at == i + 1) {
            if let Some((_, note)) = notes.next() {
                out.push_str(&note);
                out.push('\n');
            }
        }
    }
    if widths == [0; 6] {
        out.push_str("(no state ran: the URI reaches no state machine)\n");
    }
    let result = text(delivery, "ae_result");
    let deliveries = delivery
        .get("deliveries")
        .and_then(Value::as_u64)
        .unwrap_or(0);
    let seconds = delivery
        .get("virtual_seconds")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    out.push_str(&format!(
        "\nae_result: {result} after {deliveries} deliver{} and {seconds} virtual second{}",
        if deliveries == 1 { "y" } else { "ies" },
        if seconds == 1 { "" } else { "s" }
    ));
    if seconds >= 60 {
        out.push_str(&format!(" ({})", human(seconds)));
    }
    out.push('\n');
    for (label, key) in [
        ("ae_reason", "ae_reason"),
        ("error", "error"),
        ("limit", "limit"),
    ] {
        let value = crate::output::terminal_text(&text(delivery, key));
        if !value.is_empty() {
            out.push_str(&format!("{label}: {value}\n"));
        }
    }
    for line in causes(delivery) {
        out.push_str(&format!("{}\n", crate::output::terminal_text(&line)));
    }
    for full in cut {
        out.push_str(&format!("result of {full}\n"));
    }
    out
}

/// Why the run failed, from its log: the last uncaught exception of a method (its class,
/// message and where, from the postscript and Ruby's report on the method's stderr), and
/// every "not found" line (a class, an instance or a method the URI or a relationship
/// names), so a failure says its cause without `--log`.
pub fn causes(delivery: &Value) -> Vec<String> {
    let messages: Vec<&str> = items(delivery, "logs")
        .filter_map(|l| l.get("message").and_then(Value::as_str))
        .collect();
    let mut out = Vec::new();
    if let Some(raised) = method_raised(&messages) {
        out.push(format!("cause: {raised}"));
    }
    for m in &messages {
        if m.contains(" not found in ") || m.ends_with(" not found") || m.contains("] not found") {
            let mut line = format!("not found: {m}");
            // ManageIQ's domain search: a class path no enabled domain has the instance (or
            // a `.missing` one) of stays without its domain, and the class lookup fails.
            if m.starts_with("Class [") && m.contains("not found in MiqAeDatastore") {
                line.push_str(" (also said when the class exists but no enabled domain has the instance or a .missing instance: check the instance name)");
            }
            if !out.contains(&line) {
                out.push(line);
            }
        }
    }
    out
}

/// The exception the last method that raised ended with, read from its log lines (the
/// postscript ManageIQ writes and Ruby's report on the method's stderr): `method finish
/// raised ArgumentError: … at /Dom/ns/Class/finish:23`. The engine itself only knows the
/// method's exit code (`Unknown RC: [1]`).
pub fn method_raised(messages: &[&str]) -> Option<String> {
    let postscript = "The following error occurred during method evaluation:";
    let at = messages.iter().rposition(|m| m.ends_with(postscript))?;
    let method = messages[at]
        .strip_prefix("<AEMethod ")
        .and_then(|m| m.split_once('>'))
        .map_or("", |(name, _)| name);
    let exception = messages
        .get(at + 1)
        .and_then(|m| m.split_once(">   "))
        .map_or("", |(_, e)| e.trim());
    // Ruby's report: `/Dom/ns/Class/m:3:in `<main>': message (Class)`; its frame is the
    // method's line.
    let frame = messages[at..]
        .iter()
        .find_map(|m| m.strip_prefix("Method STDERR: "))
        .and_then(|r| r.split_once(": "))
        .map(|(frame, _)| frame);
    let mut line = format!("method {method} raised {exception}");
    if let Some(frame) = frame {
        line.push_str(&format!(" at {frame}"));
    }
    Some(line)
}

/// The items of the array at `key` (none when it is missing or not an array).
fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// A delivery's trace entries, one per delivery.
fn trace(delivery: &Value) -> impl Iterator<Item = &Value> {
    items(delivery, "trace")
}

fn events(entry: &Value) -> impl Iterator<Item = &Value> {
    items(entry, "events")
}

/// `150` → `2m30s`, `3600` → `1h` (the form the pictures use).
fn human(seconds: i64) -> String {
    crate::output::human_duration(seconds as f64)
}

/// Every log line of every delivery as ManageIQ's automation.log has it; a delivery's lines
/// are stamped with the virtual time it began.
fn write_log(path: &Path, delivery: &Value, started: DateTime<Utc>) -> anyhow::Result<()> {
    let at: Vec<i64> = trace(delivery)
        .map(|t| t.get("at").and_then(Value::as_i64).unwrap_or(0))
        .collect();
    let pid = std::process::id();
    let mut out = String::new();
    for line in items(delivery, "logs") {
        let n = line.get("delivery").and_then(Value::as_u64).unwrap_or(1) as usize;
        let offset = at.get(n.saturating_sub(1)).copied().unwrap_or(0);
        let time = miq_automate_engine::clock::add_seconds(started, offset);
        let level: LogLevel = text(line, "level").parse().unwrap_or(LogLevel::Info);
        out.push_str(&automation_line(
            level,
            time.with_timezone(&Local),
            pid,
            "0",
            &text(line, "message"),
        ));
        out.push('\n');
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.is_dir() {
            bail!("{} is not a directory", parent.display());
        }
    }
    std::fs::write(path, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_by_result_and_limit() {
        assert_eq!(exit_status(&json!({"ae_result": "ok"})), EXIT_OK);
        assert_eq!(exit_status(&json!({"ae_result": "error"})), EXIT_PARTIAL);
        assert_eq!(
            exit_status(&json!({"ae_result": "retry", "limit": "max_deliveries"})),
            EXIT_PARTIAL
        );
        assert_eq!(exit_status(&json!({})), EXIT_PARTIAL);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(human(120), "2m");
        assert_eq!(human(3725), "1h2m5s");
    }

    #[test]
    fn seconds_are_positive_and_finite() {
        assert_eq!(seconds("0.5"), Ok(0.5));
        assert_eq!(seconds("30"), Ok(30.0));
        for bad in ["0", "-1", "inf", "NaN", "soon"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_output_needs_an_existing_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert!(check_output(&dir.path().join("a.log")).is_ok());
        assert!(check_output(&dir.path().join("no/a.log")).is_err());
        assert!(check_output(dir.path()).is_err());
    }

    #[test]
    fn the_holder_is_the_innermost_method_not_ended() {
        let mut p = Progress::default();
        let method = |event: &str, fqname: &str| {
            let status = (event == "end").then_some(0);
            json!({"method": {"event": event, "fqname": fqname, "status": status}})
        };
        assert_eq!(p.holder_text(), "no method was running");
        p.take(method("start", "/D/ns/C/outer"));
        p.take(method("start", "/D/ns/C/inner"));
        p.take(json!({"log": {"level": "warn", "message": "careful"}}));
        assert_eq!(p.holder_text(), "the method [/D/ns/C/inner] was running");
        p.take(method("end", "/D/ns/C/inner"));
        assert_eq!(p.holder_text(), "the method [/D/ns/C/outer] was running");
        assert_eq!((p.started, p.ended), (2, 1));
        // Unwound by a signal: no status, still the holder.
        p.take(json!({"method": {"event": "end", "fqname": "/D/ns/C/outer", "status": null}}));
        assert_eq!(p.holder_text(), "the method [/D/ns/C/outer] was running");
        assert_eq!(p.logs[0].level, LogLevel::Warn);
        let report = p.report();
        assert!(report.contains("2 methods started, 1 ended; still running: /D/ns/C/outer"));
        assert!(report.contains("  WARN  careful"), "{report}");
        p.take(json!({"result": {"delivery": {"ae_result": "ok"}}}));
        p.take(json!({"result": {"delivery": {"ae_result": "error"}}}));
        assert_eq!(p.result.unwrap()["delivery"]["ae_result"], "ok");
    }

    #[test]
    fn a_methods_fate_by_exit_status() {
        assert_eq!(
            fate("/D/m", ExitStatus::from_raw(0)),
            "the method [/D/m]'s process ended with exit status 0 before the run finished (exit! inside a method?)"
        );
        assert_eq!(
            fate("/D/m", ExitStatus::from_raw(libc::SIGKILL)),
            "the method [/D/m]'s process was killed by SIGKILL before the run finished"
        );
    }

    #[test]
    fn the_table_escapes_control_characters() {
        let delivery = serde_json::json!({"ae_result": "ok", "trace": [{"delivery": 1, "events": [
            {"event": "enter", "machine": "/A/B/C", "state": "Fake\u{1b}[2K\r\nrow"}
        ]}]});
        let out = table(&delivery);
        assert!(!out.contains('\u{1b}') && !out.contains('\r'), "{out:?}");
        assert!(out.contains("Fake\\e[2K\\r\\nrow"), "{out}");
    }

    #[test]
    fn attributes_are_key_value() {
        assert_eq!(key_value("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(key_value("=x").is_err());
        assert!(key_value("x").is_err());
    }
}
