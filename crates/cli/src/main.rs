//! `miq-automate`: the operator's command line. Each subcommand is a thin shell over a library.

mod coverage;
mod datastore;
mod diagram;
mod html;
mod mock_server;
mod new;
mod output;
mod password;
mod report;
mod retire_bundle;
mod rollback;
mod run;
mod trace;
mod world;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Exit status: everything done or skipped.
pub const EXIT_OK: u8 = 0;
/// Exit status: usage, connection or authentication error.
pub const EXIT_ERROR: u8 = 1;
/// Exit status: some items failed.
pub const EXIT_PARTIAL: u8 = 2;
/// Exit status base for a run ended by a signal: 128 + its number (130 SIGINT, 143 SIGTERM),
/// as a shell reports a process the signal killed.
pub const EXIT_SIGNAL: u8 = 128;

#[derive(Parser, Debug)]
#[command(
    name = "miq-automate",
    version,
    about = "ManageIQ automate tooling: run and test automate domains offline (state machines, methods, worlds), draw them, record and replay methods, retire a failed bundle's siblings, run a mock ManageIQ"
)]
struct Cli {
    /// More logging (-v info, -vv debug, -vvv trace), on stderr.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Retire the provisioned siblings of a failed bundle item (and optionally the bundle).
    RetireBundle(retire_bundle::Args),
    /// Serve a mock ManageIQ REST API for a scenario file on 127.0.0.1.
    MockServer(mock_server::Args),
    /// Check a rollback matrix, or show the steps a failure would run.
    #[command(subcommand)]
    Rollback(rollback::Command),
    /// Load domain exports: counts, or a lint of bad files, missing methods and instances.
    #[command(subcommand)]
    Datastore(datastore::Command),
    /// Show, compare or re-mask a method's recorded $evm traffic (MiqAutomate::Recorder).
    #[command(subcommand)]
    Trace(trace::Command),
    /// Draw a state machine of a domain export (SVG, Mermaid or DOT), with its rollback
    /// steps and a run's trace.
    Diagram(diagram::Args),
    /// Deliver a URI from domain exports with their Ruby methods (one Ruby process), retries
    /// on a virtual clock; print the state trace. Exit 0 ok, 2 error, a limit, a timeout or a
    /// method ending Ruby, 1 unusable, 130/143 interrupted.
    Run(run::Args),
    /// Encrypt or decrypt ManageIQ `v2:{…}` passwords with an appliance's key file.
    #[command(subcommand)]
    Password(password::Command),
    /// VMDB worlds (docs/world.schema.json): convert a `run --model` file into one.
    #[command(subcommand)]
    World(world::Command),
    /// Make a domain to run, spec, lint and draw at once (`new domain NAME`), or add a
    /// method or a state machine to one.
    #[command(subcommand)]
    New(new::Command),
    /// Automate coverage: merge the files `require "miq_automate/coverage"` writes and
    /// report lines, states and hooks reached (`coverage report`; exit 2 under --min).
    #[command(subcommand)]
    Coverage(coverage::Command),
}

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `help --help` (or `help -h`) is a person asking for the help: give it.
    if args.len() == 3 && args[1] == "help" && (args[2] == "--help" || args[2] == "-h") {
        args.truncate(2);
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let _ = e.print();
            if let Some(near) = near_subcommand(&e) {
                eprintln!("\n  tip: did you mean '{near}'?");
            }
            return ExitCode::from(code);
        }
    };
    init_logging(cli.verbose);
    quiet_on_closed_stdout();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("miq-automate: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::RetireBundle(args) => retire_bundle::run(args).await,
            Command::MockServer(args) => mock_server::run(args).await,
            Command::Rollback(command) => rollback::run(command),
            Command::Datastore(command) => datastore::run(command),
            Command::Trace(command) => trace::run(command),
            Command::Diagram(args) => diagram::run(args),
            Command::Run(args) => run::run(args),
            Command::Password(command) => password::run(command),
            Command::World(command) => world::run(command),
            Command::New(command) => new::run(command),
            Command::Coverage(command) => coverage::run(command),
        }
    });
    match result {
        Ok(code) => ExitCode::from(code),
        // `| head -1` closed the pipe: the reader has what it wanted (as ripgrep does).
        Err(e) if output::is_broken_pipe(&e) => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!("miq-automate: {}", chain(&e));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// A `print!` to a closed pipe panics ("failed printing to stdout: Broken pipe"): end
/// quietly with status 0 instead of a panic message and status 101.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if message.starts_with("failed printing to stdout") && message.contains("Broken pipe") {
            std::process::exit(i32::from(EXIT_OK));
        }
        default(info);
    }));
}

/// The error and its causes, `: `-separated, leaving out a cause that the message before
/// it already says (an OS error wrapped with its own text would print twice).
fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// For an unknown subcommand clap found nothing close to (`rnu`: a transposition): the
/// subcommand one edit away, swapped letters counting as one.
fn near_subcommand(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::InvalidSubcommand || e.get(ContextKind::SuggestedSubcommand).is_some()
    {
        return None;
    }
    let Some(ContextValue::String(typed)) = e.get(ContextKind::InvalidSubcommand) else {
        return None;
    };
    let command = <Cli as clap::CommandFactory>::command();
    let near = command
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .find(|name| one_edit_apart(typed, name));
    near
}

/// `true` when `a` becomes `b` by one insertion, deletion, substitution or swap of two
/// neighbouring letters.
fn one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b {
        return false;
    }
    if a.len() == b.len() {
        let diff: Vec<usize> = (0..a.len()).filter(|&i| a[i] != b[i]).collect();
        return diff.len() == 1
            || (diff.len() == 2
                && diff[1] == diff[0] + 1
                && a[diff[0]] == b[diff[1]]
                && a[diff[1]] == b[diff[0]]);
    }
    let (short, long) = if a.len() < b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    if long.len() - short.len() != 1 {
        return false;
    }
    (0..long.len()).any(|skip| {
        long.iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, c)| c)
            .eq(short.iter())
    })
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MIQ_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    // Colour only for a person at a terminal: a captured log gets plain text (NO_COLOR too).
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}
