//! `miq-automate run URI --datastore DIR`: delivers a URI from domain exports as
//! `MiqAeEngine.deliver` does, with the domain's real Ruby methods, retries played out on a
//! virtual clock, and prints the state trace.
//!
//! The methods run in Ruby, so this command starts **one** Ruby process for the whole run:
//! the gem's entry point `miq_automate/run_command` (`MiqAutomate::RunCommand`) loads the
//! datastore into `MiqAutomate::Engine`, builds the models, the mock VMDB and the stubs, and
//! calls `Engine#deliver`; every method runs in that one process. The binary itself stays
//! free of libruby. Ruby writes the delivery's JSON to a temporary file; this side prints it
//! (a table or the JSON), writes the automation.log and chooses the exit status.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use chrono::{DateTime, Local, Utc};
use miq_automate_core::log::automation_line;
use miq_automate_core::LogLevel;
use serde_json::{json, Value};

use crate::{EXIT_ERROR, EXIT_OK, EXIT_PARTIAL};

/// Arguments of `run`.
#[derive(clap::Args, Debug)]
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
    /// A mock VMDB scenario (`mocks/*.json`): `$evm.vmdb` finds its services and VMs.
    #[arg(long, value_name = "FILE.json")]
    scenario: Option<PathBuf>,
    /// Replace an instance or method: PATH=ok|error|retry|retry:N|retry:N@INTERVAL|stop|abort, or an exit code.
    #[arg(long = "stub", value_name = "PATH=WHAT", value_parser = key_value)]
    stubs: Vec<(String, String)>,
    /// text (the state trace as a table and the result) or json (the delivery, as
    /// `miq-automate diagram --trace` reads it).
    #[arg(long, value_enum, default_value_t = Output::Text)]
    output: Output,
    /// Write every log line of every delivery here, in ManageIQ's automation.log format.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
    /// Deliveries at most (a request that retries beyond it stops with result retry).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    max_deliveries: u32,
    /// Virtual seconds at most from the first delivery (no limit by default).
    #[arg(long, value_name = "SECONDS")]
    max_time: Option<u32>,
}

/// What `run` prints.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// The state trace as a table, and the result.
    Text,
    /// The delivery as JSON.
    Json,
}

fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

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
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let request = json!({
        "uri": args.uri,
        "datastores": args.datastores.iter().map(|d| absolute(d)).collect::<Vec<_>>(),
        "attrs": args.attrs.iter().map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect::<serde_json::Map<_, _>>(),
        "model": args.model.as_deref().map(absolute),
        "scenario": args.scenario.as_deref().map(absolute),
        "stubs": args.stubs,
        "max_deliveries": args.max_deliveries,
        "max_time": args.max_time,
    });
    let result = tempfile::NamedTempFile::new().context("cannot create a temporary file")?;
    let ruby = std::env::var_os("MIQ_AUTOMATE_RUBY").unwrap_or_else(|| "ruby".into());
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
        .arg(result.path())
        // Ruby's own output is not ours to print on stdout (it would spoil --output json).
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit());
    let status = command.status().with_context(|| {
        format!(
            "cannot start {} (set MIQ_AUTOMATE_RUBY to the ruby to use)",
            ruby.to_string_lossy()
        )
    })?;
    if !status.success() {
        if status.code() != Some(1) {
            eprintln!("miq-automate run: ruby ended with {status}");
        }
        return Ok(EXIT_ERROR);
    }
    let text = std::fs::read_to_string(result.path()).context("cannot read Ruby's result")?;
    let outcome: Value = serde_json::from_str(&text).context("Ruby's result is not JSON")?;
    let started = outcome
        .get("started_at")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(Utc::now);
    let delivery = outcome
        .get("delivery")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if let Some(path) = &args.log {
        write_log(path, &delivery, started)
            .with_context(|| format!("cannot write the log {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Json => writeln!(out, "{}", serde_json::to_string_pretty(&delivery)?)?,
        Output::Text => write!(out, "{}", table(&delivery))?,
    }
    out.flush()?;
    Ok(exit_status(&delivery))
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
            let machine = text(e, "machine");
            let state = if machine == top || machine.is_empty() {
                text(e, "state")
            } else {
                // A nested machine's state: under its machine's last path segment.
                let short = machine.rsplit('/').nth(1).unwrap_or(&machine);
                format!("  {short}/{}", text(e, "state"))
            };
            let row = match text(e, "event").as_str() {
                "enter" => {
                    let retries = e.get("retries").and_then(Value::as_i64).unwrap_or(0);
                    let step = if retries > 0 {
                        format!("enter (retry {retries})")
                    } else {
                        "enter".into()
                    };
                    [
                        n.clone(),
                        state,
                        step,
                        String::new(),
                        String::new(),
                        String::new(),
                    ]
                }
                "step" => {
                    let mut result = text(e, "result");
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
        let value = text(delivery, key);
        if !value.is_empty() {
            out.push_str(&format!("{label}: {value}\n"));
        }
    }
    out
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

/// `150` → `2m 30s`, `3600` → `1h`.
fn human(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let parts: Vec<String> = [(h, "h"), (m, "m"), (s, "s")]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, u)| format!("{n}{u}"))
        .collect();
    parts.join(" ")
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
        assert_eq!(human(3725), "1h 2m 5s");
    }

    #[test]
    fn attributes_are_key_value() {
        assert_eq!(key_value("a=b=c"), Ok(("a".into(), "b=c".into())));
        assert!(key_value("=x").is_err());
        assert!(key_value("x").is_err());
    }
}
