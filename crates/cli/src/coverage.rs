//! `miq-automate coverage report FILE...`: merges the automate coverage files that
//! `require "miq_automate/coverage"` writes (`coverage/miq_automate.<pid>.json`, one per
//! Ruby process; format `miq-automate-coverage/1`, docs/reference/file-formats.md) and
//! prints which methods, lines, states and hooks of a domain were reached: a table per
//! domain, class and method, or one JSON document. `--min PERCENT` makes it a CI gate
//! (exit 2 when the lines covered are under it). `--output html` is one self-contained page
//! with each method's source and its lines marked (crate::report::coverage); the files also
//! colour `diagram --coverage` ([`reached`]).
//!
//! Merging sums line hits, runs and counts, and unites states, hooks and relationships
//! (paths compared case-insensitively, as the engine compares them). With `--datastore`
//! every inline method and state machine of the domains is known, so a method never run
//! counts its lines as missed and a state never entered is listed; its executable lines
//! are then approximated from its source (lines that are not blank, comments, or a bare
//! `end`/`else`/`ensure`/`begin`/closing bracket), since no Ruby compiled it.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use miq_automate_engine::datastore::Datastore;
use serde_json::{json, Value as Json};

use crate::output::{print_stdout, terminal_text, ReportFormat};
use crate::{EXIT_OK, EXIT_PARTIAL};
use miq_automate_core::log::sanitize;

/// The `format` of a coverage file this command reads.
pub const FORMAT: &str = "miq-automate-coverage/1";
/// The `format` of the JSON report.
pub const REPORT_FORMAT: &str = "miq-automate-coverage-report/1";
/// Under the totals without `--datastore`.
pub(crate) const SEEN_ONLY: &str = "(without --datastore only the methods, states and hooks the runs saw are counted: give --datastore DIR to count those never reached)";
/// The hooks of a state, in the order they run.
const HOOKS: [&str; 3] = ["on_entry", "on_exit", "on_error"];

/// `coverage` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Merge coverage files (written by `require "miq_automate/coverage"` or `run
    /// --coverage`) and print lines covered per domain, class and method, the states never
    /// entered and the hooks never run. Exit 0, 2 under --min (or nothing measured), 1 for
    /// an unreadable file or an --only domain that is not there.
    Report(ReportArgs),
}

/// `coverage report`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Coverage files (`coverage/miq_automate.*.json`); several are merged.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// A domain export (or a directory of them): its methods and state machines never run
    /// count too (0%).
    #[arg(long = "datastore", value_name = "DIR")]
    pub datastores: Vec<PathBuf>,
    /// Only this domain (case-insensitive); one no file (nor --datastore) names is an
    /// error naming those there are.
    #[arg(long, value_name = "DOMAIN")]
    pub only: Option<String>,
    /// Exit 2 when the lines covered are under this percentage, or none was measured (a
    /// CI gate).
    #[arg(long, value_name = "PERCENT")]
    pub min: Option<f64>,
    /// text (a table), json (`{"format": "miq-automate-coverage-report/1", "totals",
    /// "methods", "machines", "relationships"}`) or html (one self-contained page: each
    /// method's source with its missed lines marked, the states and hooks reached).
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub output: ReportFormat,
    /// Write the report to this file instead of stdout.
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Runs a `coverage` subcommand.
pub fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Report(args) => report(&args),
    }
}

fn report(args: &ReportArgs) -> anyhow::Result<u8> {
    // Checked before any file is read: `--min NaN` passed every gate (no number is under
    // NaN), and a report must not fail at its last step for a directory given as -o.
    if let Some(min) = args.min {
        if !(0.0..=100.0).contains(&min) {
            bail!("--min {min}: not a percentage (0 to 100)");
        }
    }
    if let Some(path) = &args.out {
        crate::report::check_output(path)
            .map_err(|why| anyhow::anyhow!("cannot write {}: {why}", path.display()))?;
    }
    let mut cov = Coverage::default();
    for file in &args.files {
        let doc = load(file)?;
        cov.merge(&doc)
            .with_context(|| format!("{}: not a valid coverage file", file.display()))?;
    }
    if !args.datastores.is_empty() {
        let ds = Datastore::load(&args.datastores).map_err(|e| anyhow::anyhow!("{e}"))?;
        cov.add_datastore(&ds);
    }
    if let Some(domain) = &args.only {
        let domains = cov.domains();
        if !domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
            bail!(
                "--only {}: no such domain in the coverage files{} (domains: {})",
                terminal_text(domain),
                if args.datastores.is_empty() {
                    ""
                } else {
                    " or the datastore"
                },
                if domains.is_empty() {
                    "none".to_string()
                } else {
                    terminal_text(&domains.into_iter().collect::<Vec<_>>().join(", "))
                }
            );
        }
        cov.retain_domain(domain);
    }
    let mut totals = cov.totals();
    totals.datastore = !args.datastores.is_empty();
    let text = match args.output {
        ReportFormat::Json => {
            format!("{}\n", serde_json::to_string_pretty(&cov.to_json(&totals))?)
        }
        ReportFormat::Text => cov.table(&totals),
        ReportFormat::Html => crate::report::coverage::page(
            &cov,
            &totals,
            &crate::report::coverage::Info {
                files: &args.files,
                only: args.only.as_deref(),
                min: args.min,
                generated: chrono::Utc::now(),
            },
        ),
    };
    match &args.out {
        Some(path) => crate::report::write_output(path, &text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => print_stdout(&text)?,
    }
    if let Some(min) = args.min {
        if totals.lines_total == 0 {
            eprintln!(
                "miq-automate: nothing was measured (no executable line{}): --min {min}% is not met",
                args.only
                    .as_deref()
                    .map_or(String::new(), |d| format!(" in domain {}", terminal_text(d)))
            );
            return Ok(EXIT_PARTIAL);
        }
        let percent = totals.line_percent();
        if percent + 1e-9 < min {
            eprintln!(
                "miq-automate: lines covered {percent:.1}% ({}/{}) is under --min {min}%",
                totals.lines_covered, totals.lines_total
            );
            return Ok(EXIT_PARTIAL);
        }
    }
    Ok(EXIT_OK)
}

/// The largest coverage file read (a suite's file is a few hundred KB).
pub const FILE_MAX: u64 = 64 << 20;

/// Reads one coverage file; a file that is not one is an error naming it: not a regular
/// file (a FIFO would hang the read, `/dev/zero` never end), over [`FILE_MAX`], not JSON,
/// another format, or a field of the wrong type (named by its JSON path).
pub fn load(path: &Path) -> anyhow::Result<Json> {
    let text = read_regular(path, FILE_MAX)
        .with_context(|| format!("cannot read the coverage file {}", path.display()))?;
    let doc: Json = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "{}: not a miq-automate coverage file (not JSON: {e})",
            path.display()
        )
    })?;
    if !doc.is_object() {
        bail!(
            "{}: not a miq-automate coverage file (a JSON {}, not an object)",
            path.display(),
            kind(&doc)
        );
    }
    match doc.get("format").and_then(Json::as_str) {
        Some(FORMAT) => {
            check(&doc).map_err(|e| {
                anyhow::anyhow!("{}: not a valid coverage file: {e}", path.display())
            })?;
            Ok(doc)
        }
        Some(other) if other.starts_with("miq-automate-coverage/") => bail!(
            "{}: coverage format {:?} is not known to this version (it reads {FORMAT:?}): update miq-automate",
            path.display(),
            terminal_text(&crate::diagram::shorten(other))
        ),
        Some(other) => bail!(
            "{}: not a miq-automate coverage file (format {:?}, expected {FORMAT:?})",
            path.display(),
            terminal_text(&crate::diagram::shorten(other))
        ),
        None => bail!(
            "{}: not a miq-automate coverage file (no \"format\": {FORMAT:?})",
            path.display()
        ),
    }
}

/// A regular file's text, at most `max` bytes: anything else (a directory, a FIFO, a device)
/// refused before it is opened for reading, so nothing waits on a writer or reads forever.
pub(crate) fn read_regular(path: &Path, max: u64) -> anyhow::Result<String> {
    let meta = fs::metadata(path)?;
    let what = if meta.is_dir() {
        "a directory"
    } else if meta.is_file() {
        ""
    } else {
        "not a regular file (a FIFO, socket or device)"
    };
    if !what.is_empty() {
        bail!("{what}");
    }
    if meta.len() > max {
        bail!("{} bytes, over the limit of {} MiB", meta.len(), max >> 20);
    }
    use std::io::Read as _;
    let mut text = String::new();
    // `take`: a file that grows while read still stops at the limit.
    fs::File::open(path)?
        .take(max + 1)
        .read_to_string(&mut text)?;
    if text.len() as u64 > max {
        bail!("over the limit of {} MiB", max >> 20);
    }
    Ok(text)
}

/// The JSON type of a value, for errors.
fn kind(v: &Json) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Number(_) => "number",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Checks a coverage file's fields have their types: every count a whole number ≥ 0, each
/// `lines` entry a count or null, maps objects, `file` a string or null, `embeds` strings.
/// The error names the first wrong one by its JSON path (`$.methods["/D/x"].lines[3]`):
/// a wrong type was read as 0 before, a hand-edited or damaged file silently under-counted.
fn check(doc: &Json) -> Result<(), String> {
    fn key(k: &str) -> String {
        let shown = crate::diagram::shorten(k);
        format!("[{:?}]", terminal_text(&shown))
    }
    fn wrong(path: &str, what: &str, v: &Json) -> String {
        let shown = match v {
            Json::String(s) => format!(
                "the string {:?}",
                terminal_text(&s.chars().take(40).collect::<String>())
            ),
            Json::Number(n) => format!("the number {n}"),
            Json::Null => "null".to_string(),
            other => format!(
                "a{} {}",
                if matches!(other, Json::Array(_) | Json::Object(_)) {
                    "n"
                } else {
                    ""
                },
                kind(other)
            ),
        };
        format!("{path}: expected {what}, found {shown}")
    }
    fn count(path: &str, v: Option<&Json>) -> Result<(), String> {
        match v {
            None => Ok(()),
            Some(v) if v.is_u64() => Ok(()),
            Some(v) => Err(wrong(path, "a count (a whole number, 0 or more)", v)),
        }
    }
    fn object<'a>(
        path: &str,
        v: Option<&'a Json>,
    ) -> Result<Option<&'a serde_json::Map<String, Json>>, String> {
        match v {
            None | Some(Json::Null) => Ok(None),
            Some(Json::Object(m)) => Ok(Some(m)),
            Some(v) => Err(wrong(path, "an object", v)),
        }
    }
    fn counts(path: &str, v: Option<&Json>) -> Result<(), String> {
        for (k, n) in object(path, v)?.into_iter().flatten() {
            count(&format!("{path}{}", key(k)), Some(n))?;
        }
        Ok(())
    }
    for (fq, m) in object("$.methods", doc.get("methods"))?
        .into_iter()
        .flatten()
    {
        let at = format!("$.methods{}", key(fq));
        let Json::Object(_) = m else {
            return Err(wrong(&at, "an object", m));
        };
        match m.get("file") {
            None | Some(Json::Null) | Some(Json::String(_)) => {}
            Some(v) => return Err(wrong(&format!("{at}.file"), "a string or null", v)),
        }
        count(&format!("{at}.runs"), m.get("runs"))?;
        match m.get("lines") {
            Some(Json::Array(lines)) => {
                for (i, n) in lines.iter().enumerate() {
                    if !n.is_null() && !n.is_u64() {
                        return Err(wrong(&format!("{at}.lines[{i}]"), "a count or null", n));
                    }
                }
            }
            Some(v) => return Err(wrong(&format!("{at}.lines"), "an array", v)),
            None => return Err(format!("{at}: no \"lines\" array")),
        }
        match m.get("embeds") {
            None | Some(Json::Null) => {}
            Some(Json::Array(list)) => {
                if let Some((i, v)) = list.iter().enumerate().find(|(_, v)| !v.is_string()) {
                    return Err(wrong(&format!("{at}.embeds[{i}]"), "a string", v));
                }
            }
            Some(v) => return Err(wrong(&format!("{at}.embeds"), "an array", v)),
        }
    }
    for (class, m) in object("$.machines", doc.get("machines"))?
        .into_iter()
        .flatten()
    {
        let at = format!("$.machines{}", key(class));
        let Json::Object(_) = m else {
            return Err(wrong(&at, "an object", m));
        };
        counts(&format!("{at}.instances"), m.get("instances"))?;
        counts(&format!("{at}.runs"), m.get("runs"))?;
        for (name, st) in object(&format!("{at}.states"), m.get("states"))?
            .into_iter()
            .flatten()
        {
            let at = format!("{at}.states{}", key(name));
            let Json::Object(_) = st else {
                return Err(wrong(&at, "an object", st));
            };
            count(&format!("{at}.entered"), st.get("entered"))?;
            count(&format!("{at}.raised"), st.get("raised"))?;
            counts(&format!("{at}.results"), st.get("results"))?;
            for (step, sp) in object(&format!("{at}.steps"), st.get("steps"))?
                .into_iter()
                .flatten()
            {
                let at = format!("{at}.steps{}", key(step));
                let Json::Object(_) = sp else {
                    return Err(wrong(&at, "an object", sp));
                };
                count(&format!("{at}.ran"), sp.get("ran"))?;
                counts(&format!("{at}.results"), sp.get("results"))?;
                counts(&format!("{at}.served_by"), sp.get("served_by"))?;
                counts(&format!("{at}.instantiated"), sp.get("instantiated"))?;
            }
        }
    }
    for (uri, r) in object("$.relationships", doc.get("relationships"))?
        .into_iter()
        .flatten()
    {
        let at = format!("$.relationships{}", key(uri));
        let Json::Object(_) = r else {
            return Err(wrong(&at, "an object", r));
        };
        count(&format!("{at}.followed"), r.get("followed"))?;
        counts(&format!("{at}.served_by"), r.get("served_by"))?;
    }
    Ok(())
}

/// What the tests reached of one state (`diagram --coverage`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Reached {
    /// Times a test entered it (0: never).
    pub entered: u64,
    /// How its visits ended (`ok`, `retry`, `error`… → count).
    pub results: BTreeMap<String, u64>,
    /// The steps that ran (`on_entry`, `main`, `on_exit`, `on_error` → times).
    pub ran: BTreeMap<String, u64>,
}

impl Reached {
    /// Whether a step (`on_entry`, `main`, `on_exit`, `on_error`) ran in any test.
    pub fn ran(&self, step: &str) -> bool {
        self.ran.get(step).is_some_and(|n| *n > 0)
    }
}

/// The coverage files merged, for the state machine `title` (`/Dom/ns/Class`, or
/// `/Dom/ns/Class/instance`): what reached each state the files know, by its name
/// lowercased; `None` when no file ran this machine. The class is matched with its domain,
/// else in any domain (the machine drawn from one domain, run from an overlay).
pub(crate) fn reached(
    files: &[PathBuf],
    title: &str,
) -> anyhow::Result<Option<BTreeMap<String, Reached>>> {
    let mut cov = Coverage::default();
    for file in files {
        let doc = load(file)?;
        cov.merge(&doc)
            .with_context(|| format!("{}: not a valid coverage file", file.display()))?;
    }
    let title = title.trim_end_matches('/').to_lowercase();
    let parent = split_last(&title).0.to_string();
    let without_domain = |p: &str| {
        p.trim_start_matches('/')
            .split_once('/')
            .map_or(String::new(), |(_, rest)| rest.to_string())
    };
    let mut found: Vec<&MachineCov> = [&title, &parent]
        .iter()
        .filter_map(|k| cov.machines.get(k.as_str()))
        .collect();
    if found.is_empty() {
        let (t, p) = (without_domain(&title), without_domain(&parent));
        found = cov
            .machines
            .iter()
            .filter(|(k, _)| {
                let k = without_domain(k);
                !k.is_empty() && (k == t || k == p)
            })
            .map(|(_, m)| m)
            .collect();
    }
    if found.is_empty() {
        return Ok(None);
    }
    let mut states: BTreeMap<String, Reached> = BTreeMap::new();
    for machine in found {
        for s in &machine.states {
            let r = states.entry(s.name.to_lowercase()).or_default();
            // Saturating, as every sum of counts here: two files of u64::MAX overflowed
            // (a panic in a debug build, a wrap to a small count in a release one).
            r.entered = r.entered.saturating_add(s.entered);
            for (k, n) in &s.results {
                let into = r.results.entry(k.clone()).or_default();
                *into = into.saturating_add(*n);
            }
            for (k, step) in &s.steps {
                let into = r.ran.entry(k.clone()).or_default();
                *into = into.saturating_add(step.ran);
            }
        }
    }
    Ok(Some(states))
}

/// One inline method: its lines (None: not executable) and what ran it.
#[derive(Debug, Default, Clone)]
pub(crate) struct MethodCov {
    pub(crate) fqname: String,
    pub(crate) file: Option<String>,
    pub(crate) runs: u64,
    pub(crate) lines: Vec<Option<u64>>,
    pub(crate) embeds: BTreeSet<String>,
    /// Lines approximated from the source (never compiled by a Ruby).
    pub(crate) approximate: bool,
    /// Its source as the datastore has it (`--datastore`).
    pub(crate) source: Option<String>,
    /// A method file outside a domain export (`run_method` of a loose `.rb`): keyed by its
    /// path, in no domain.
    pub(crate) outside: bool,
}

impl MethodCov {
    /// Its source: the file the coverage file names, when it is there to read, else the
    /// datastore's; `None` when neither is known.
    /// The file is read only when it is a regular `.rb` file of at most 4 MiB (the
    /// loader's limit for a method): a coverage file from elsewhere could name
    /// `/dev/zero` (a read without end), a FIFO (a read that waits forever) or a secret
    /// (`~/.ssh/id_rsa`, then shown in the page).
    pub(crate) fn source(&self) -> Option<Cow<'_, str>> {
        self.file
            .as_deref()
            .filter(|f| Path::new(f).extension().is_some_and(|e| e == "rb"))
            .and_then(|f| read_regular(Path::new(f), 4 << 20).ok())
            .map(Cow::Owned)
            .or_else(|| self.source.as_deref().map(Cow::Borrowed))
    }
    /// Whether it ran at all.
    pub(crate) fn ran(&self) -> bool {
        self.runs > 0 || self.covered() > 0
    }
    pub(crate) fn covered(&self) -> usize {
        self.lines
            .iter()
            .filter(|l| matches!(l, Some(n) if *n > 0))
            .count()
    }
    pub(crate) fn total(&self) -> usize {
        self.lines.iter().filter(|l| l.is_some()).count()
    }
    pub(crate) fn missed(&self) -> Vec<usize> {
        (0..self.lines.len())
            .filter(|i| self.lines[*i] == Some(0))
            .map(|i| i + 1)
            .collect()
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct StepCov {
    pub(crate) ran: u64,
    pub(crate) results: BTreeMap<String, u64>,
    pub(crate) served_by: BTreeMap<String, u64>,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct StateCov {
    pub(crate) name: String,
    pub(crate) entered: u64,
    pub(crate) results: BTreeMap<String, u64>,
    pub(crate) raised: u64,
    pub(crate) steps: BTreeMap<String, StepCov>,
    /// Hooks the datastore defines for it (class or an instance).
    pub(crate) hooks_defined: BTreeSet<String>,
}

impl StateCov {
    /// How often a step (`on_entry`, `main`, `on_exit`, `on_error`) ran.
    pub(crate) fn ran(&self, step: &str) -> u64 {
        self.steps.get(step).map_or(0, |s| s.ran)
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct MachineCov {
    pub(crate) class: String,
    /// Instance → deliveries (passes) it ran in.
    pub(crate) instances: BTreeMap<String, u64>,
    /// Instance → runs (`Engine#deliver` or `#instantiate` calls) it ran in; empty in
    /// files written before runs were counted.
    pub(crate) runs: BTreeMap<String, u64>,
    /// In the datastore's order (priority), else as first seen.
    pub(crate) states: Vec<StateCov>,
}

impl MachineCov {
    fn state(&mut self, name: &str) -> &mut StateCov {
        let at = match self
            .states
            .iter()
            .position(|s| s.name.eq_ignore_ascii_case(name))
        {
            Some(i) => i,
            None => {
                self.states.push(StateCov {
                    name: name.to_string(),
                    ..StateCov::default()
                });
                self.states.len() - 1
            }
        };
        &mut self.states[at]
    }
}

#[derive(Debug, Default, Clone)]
pub(crate) struct RelCov {
    pub(crate) uri: String,
    pub(crate) followed: u64,
    pub(crate) served_by: BTreeMap<String, u64>,
}

/// Every file merged (keys lowercased: the engine's paths are case-insensitive).
#[derive(Debug, Default)]
pub(crate) struct Coverage {
    pub(crate) methods: BTreeMap<String, MethodCov>,
    pub(crate) machines: BTreeMap<String, MachineCov>,
    pub(crate) relationships: BTreeMap<String, RelCov>,
}

/// The report's figures.
#[derive(Debug, Default)]
pub(crate) struct Totals {
    pub(crate) lines_covered: usize,
    pub(crate) lines_total: usize,
    pub(crate) methods_run: usize,
    pub(crate) methods_total: usize,
    pub(crate) states_entered: usize,
    pub(crate) states_total: usize,
    pub(crate) hooks_run: usize,
    pub(crate) hooks_total: usize,
    /// Whether a `--datastore` was given: without one the states and hooks are only those
    /// the runs saw.
    pub(crate) datastore: bool,
}

impl Totals {
    pub(crate) fn line_percent(&self) -> f64 {
        percent(self.lines_covered, self.lines_total)
    }
}

pub(crate) fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}

/// A count in a coverage file (absent or not a number: 0).
fn count(v: Option<&Json>) -> u64 {
    v.and_then(Json::as_u64).unwrap_or(0)
}

fn add_counts(into: &mut BTreeMap<String, u64>, from: Option<&Json>) {
    if let Some(map) = from.and_then(Json::as_object) {
        for (k, v) in map {
            let n = into.entry(sanitize(k)).or_default();
            *n = n.saturating_add(count(Some(v)));
        }
    }
}

/// The domain of a `/Domain/ns/...` path.
pub(crate) fn domain_of(path: &str) -> &str {
    path.trim_start_matches('/').split('/').next().unwrap_or("")
}

/// `/Dom/ns/Class/name` → (`/Dom/ns/Class`, `name`).
pub(crate) fn split_last(path: &str) -> (&str, &str) {
    match path.rfind('/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => ("", path),
    }
}

impl Coverage {
    /// The record of state machine `class`, made (empty) if there is none.
    fn machine(&mut self, class: &str) -> &mut MachineCov {
        self.machines
            .entry(class.to_lowercase())
            .or_insert_with(|| MachineCov {
                class: class.to_string(),
                ..MachineCov::default()
            })
    }

    fn merge(&mut self, doc: &Json) -> anyhow::Result<()> {
        let methods = doc.get("methods").and_then(Json::as_object);
        // Every name a report shows is masked as it is read (a `password::` value or URL
        // userinfo in a path, state or result name reached the text and JSON reports).
        for (fq, m) in methods.into_iter().flatten() {
            let fq = &sanitize(fq);
            let rec = self
                .methods
                .entry(fq.to_lowercase())
                .or_insert_with(|| MethodCov {
                    fqname: fq.clone(),
                    ..MethodCov::default()
                });
            if rec.file.is_none() {
                rec.file = m.get("file").and_then(Json::as_str).map(str::to_string);
            }
            // Files written before `outside_domain` key such a method by its absolute path.
            rec.outside |= m.get("outside_domain").and_then(Json::as_bool) == Some(true)
                || rec.file.as_deref() == Some(fq.as_str());
            rec.runs = rec.runs.saturating_add(count(m.get("runs")));
            let lines = m
                .get("lines")
                .and_then(Json::as_array)
                .with_context(|| format!("method {fq} has no \"lines\" array"))?;
            if rec.lines.len() < lines.len() {
                rec.lines.resize(lines.len(), None);
            }
            for (i, hits) in lines.iter().enumerate() {
                if let Some(n) = hits.as_u64() {
                    rec.lines[i] = Some(rec.lines[i].unwrap_or(0).saturating_add(n));
                }
            }
            for e in m
                .get("embeds")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(e) = e.as_str() {
                    rec.embeds.insert(sanitize(e));
                }
            }
        }
        let machines = doc.get("machines").and_then(Json::as_object);
        for (class, m) in machines.into_iter().flatten() {
            let rec = self.machine(&sanitize(class));
            add_counts(&mut rec.instances, m.get("instances"));
            add_counts(&mut rec.runs, m.get("runs"));
            let states = m.get("states").and_then(Json::as_object);
            for (name, s) in states.into_iter().flatten() {
                let state = rec.state(&sanitize(name));
                state.entered = state.entered.saturating_add(count(s.get("entered")));
                state.raised = state.raised.saturating_add(count(s.get("raised")));
                add_counts(&mut state.results, s.get("results"));
                let steps = s.get("steps").and_then(Json::as_object);
                for (step, st) in steps.into_iter().flatten() {
                    let into = state.steps.entry(sanitize(step)).or_default();
                    into.ran = into.ran.saturating_add(count(st.get("ran")));
                    add_counts(&mut into.results, st.get("results"));
                    add_counts(&mut into.served_by, st.get("served_by"));
                }
            }
        }
        let rels = doc.get("relationships").and_then(Json::as_object);
        for (uri, r) in rels.into_iter().flatten() {
            let uri = &sanitize(uri);
            let rec = self
                .relationships
                .entry(uri.to_lowercase())
                .or_insert_with(|| RelCov {
                    uri: uri.clone(),
                    ..RelCov::default()
                });
            rec.followed = rec.followed.saturating_add(count(r.get("followed")));
            add_counts(&mut rec.served_by, r.get("served_by"));
        }
        Ok(())
    }

    /// Every inline method and state machine of the datastore: those never run are added
    /// (0 hits), states get the datastore's order and their defined hooks.
    fn add_datastore(&mut self, ds: &Datastore) {
        for (id, class) in ds.classes().iter().enumerate() {
            let class_fq = format!("/{}/{}", ds.class_namespace_fq(id), class.name);
            for method in &class.methods {
                if method.location != "inline" {
                    continue;
                }
                let fq = format!("{class_fq}/{}", method.name);
                let rb = method.file.with_extension("rb").display().to_string();
                let rec = self
                    .methods
                    .entry(fq.to_lowercase())
                    .or_insert_with(|| MethodCov {
                        fqname: fq.clone(),
                        lines: approximate_lines(method.data.as_deref().unwrap_or("")),
                        approximate: true,
                        ..MethodCov::default()
                    });
                rec.fqname = fq.clone();
                if rec.file.is_none() {
                    rec.file = Some(rb);
                }
                rec.source.clone_from(&method.data);
            }
            if !class.is_state_machine() {
                continue;
            }
            let rec = self.machine(&class_fq);
            rec.class = class_fq.clone();
            let mut ordered = Vec::new();
            for field in class
                .fields
                .iter()
                .filter(|f| f.aetype.as_deref() == Some("state"))
            {
                let mut state = rec.state(&field.name).clone();
                state.name = field.name.clone();
                for hook in HOOKS {
                    let in_class = match hook {
                        "on_entry" => field.on_entry.as_deref(),
                        "on_exit" => field.on_exit.as_deref(),
                        _ => field.on_error.as_deref(),
                    };
                    let in_instance = class.instances.iter().any(|i| {
                        i.value_of(&field.name).is_some_and(|v| {
                            let value = match hook {
                                "on_entry" => v.on_entry.as_deref(),
                                "on_exit" => v.on_exit.as_deref(),
                                _ => v.on_error.as_deref(),
                            };
                            value.is_some_and(|s| !s.trim().is_empty())
                        })
                    });
                    if in_class.is_some_and(|s| !s.trim().is_empty()) || in_instance {
                        state.hooks_defined.insert(hook.to_string());
                    }
                }
                ordered.push(state);
            }
            // States seen in a run but not in this class (another domain's) stay, after.
            for s in &rec.states {
                if !ordered.iter().any(|o| o.name.eq_ignore_ascii_case(&s.name)) {
                    ordered.push(s.clone());
                }
            }
            rec.states = ordered;
        }
    }

    /// The domains the files (and the datastore) name: of the methods, machines and the
    /// instances that served relationships.
    fn domains(&self) -> BTreeSet<String> {
        let methods = self.methods.values().filter(|m| !m.outside);
        methods
            .map(|m| domain_of(&m.fqname))
            .chain(self.machines.values().map(|m| domain_of(&m.class)))
            .chain(
                self.relationships
                    .values()
                    .flat_map(|r| r.served_by.keys().map(|fq| domain_of(fq))),
            )
            .filter(|d| !d.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn retain_domain(&mut self, domain: &str) {
        let keep = |path: &str| domain_of(path).eq_ignore_ascii_case(domain);
        self.methods.retain(|_, m| !m.outside && keep(&m.fqname));
        self.machines.retain(|_, m| keep(&m.class));
        for rel in self.relationships.values_mut() {
            rel.served_by.retain(|fq, _| keep(fq));
        }
        self.relationships.retain(|_, r| !r.served_by.is_empty());
    }

    fn totals(&self) -> Totals {
        let mut t = Totals::default();
        for m in self.methods.values() {
            t.lines_covered += m.covered();
            t.lines_total += m.total();
            t.methods_total += 1;
            if m.runs > 0 || m.covered() > 0 {
                t.methods_run += 1;
            }
        }
        for machine in self.machines.values() {
            for s in &machine.states {
                t.states_total += 1;
                if s.entered > 0 {
                    t.states_entered += 1;
                }
                for hook in hooks_of(s) {
                    t.hooks_total += 1;
                    if s.steps.get(&hook).is_some_and(|st| st.ran > 0) {
                        t.hooks_run += 1;
                    }
                }
            }
        }
        t
    }

    fn table(&self, t: &Totals) -> String {
        let mut out = String::new();
        // domain → class → methods
        let mut tree: BTreeMap<String, BTreeMap<String, Vec<&MethodCov>>> = BTreeMap::new();
        for m in self.methods.values().filter(|m| !m.outside) {
            let (class, _) = split_last(&m.fqname);
            let domain = domain_of(&m.fqname).to_string();
            let class_rel = class
                .trim_start_matches('/')
                .split_once('/')
                .map_or(String::new(), |(_, rest)| format!("/{rest}"));
            tree.entry(domain)
                .or_default()
                .entry(class_rel)
                .or_default()
                .push(m);
        }
        for machine in self.machines.values() {
            let class_rel = machine
                .class
                .trim_start_matches('/')
                .split_once('/')
                .map_or(String::new(), |(_, rest)| format!("/{rest}"));
            tree.entry(domain_of(&machine.class).to_string())
                .or_default()
                .entry(class_rel)
                .or_default();
        }
        for (domain, classes) in &tree {
            let (mut dc, mut dt) = (0, 0);
            for methods in classes.values() {
                for m in methods {
                    dc += m.covered();
                    dt += m.total();
                }
            }
            let _ = writeln!(
                out,
                "Domain {}: lines {dc}/{dt} ({:.1}%)",
                terminal_text(domain),
                percent(dc, dt)
            );
            for (class, methods) in classes {
                let _ = writeln!(out, "  {}", terminal_text(class));
                for m in methods {
                    let (_, name) = split_last(&m.fqname);
                    let missed = ranges(&m.missed());
                    let note = if m.runs == 0 && m.covered() == 0 {
                        "never run".to_string()
                    } else if missed.is_empty() {
                        String::new()
                    } else {
                        format!("missed {missed}")
                    };
                    let _ = writeln!(
                        out,
                        "    {:<28} {:>4}/{:<4} {:>5.1}%  {}",
                        terminal_text(name),
                        m.covered(),
                        m.total(),
                        percent(m.covered(), m.total()),
                        note
                    );
                }
                let machine_key = format!("/{domain}{class}").to_lowercase();
                if let Some(machine) = self.machines.get(&machine_key) {
                    let never: Vec<&str> = machine
                        .states
                        .iter()
                        .filter(|s| s.entered == 0)
                        .map(|s| s.name.as_str())
                        .collect();
                    let mut hooks_never = Vec::new();
                    for s in &machine.states {
                        for hook in hooks_of(s) {
                            if s.steps.get(&hook).is_none_or(|st| st.ran == 0) {
                                hooks_never.push(format!("{}.{hook}", s.name));
                            }
                        }
                    }
                    let entered = machine.states.len() - never.len();
                    let _ = writeln!(
                        out,
                        "    state machine: {entered}/{} states entered{}",
                        machine.states.len(),
                        if never.is_empty() {
                            String::new()
                        } else {
                            format!("; never entered: {}", terminal_text(&never.join(", ")))
                        }
                    );
                    for s in machine.states.iter().filter(|s| s.entered > 0) {
                        let results: Vec<String> =
                            s.results.iter().map(|(k, v)| format!("{k} {v}")).collect();
                        let _ = writeln!(
                            out,
                            "      {:<26} entered {:>3}  {}",
                            terminal_text(&s.name),
                            s.entered,
                            terminal_text(&results.join(", "))
                        );
                    }
                    let _ = writeln!(
                        out,
                        "    hooks never run: {}",
                        if hooks_never.is_empty() {
                            "none".to_string()
                        } else {
                            terminal_text(&hooks_never.join(", "))
                        }
                    );
                }
            }
        }
        let outside: Vec<&MethodCov> = self.methods.values().filter(|m| m.outside).collect();
        if !outside.is_empty() {
            let covered: usize = outside.iter().map(|m| m.covered()).sum();
            let total: usize = outside.iter().map(|m| m.total()).sum();
            let _ = writeln!(
                out,
                "Method files outside a domain export: lines {covered}/{total} ({:.1}%)",
                percent(covered, total)
            );
            for m in outside {
                let missed = ranges(&m.missed());
                let _ = writeln!(
                    out,
                    "    {:<28} {:>4}/{:<4} {:>5.1}%  {}",
                    terminal_text(&m.fqname),
                    m.covered(),
                    m.total(),
                    percent(m.covered(), m.total()),
                    if missed.is_empty() {
                        String::new()
                    } else {
                        format!("missed {missed}")
                    }
                );
            }
        }
        if !self.relationships.is_empty() {
            let _ = writeln!(out, "Relationships followed:");
            for r in self.relationships.values() {
                let served: Vec<String> = r
                    .served_by
                    .iter()
                    .map(|(fq, n)| format!("{fq} ({n})"))
                    .collect();
                let _ = writeln!(
                    out,
                    "  {:<48} {:>4}x  served by {}",
                    terminal_text(&r.uri),
                    r.followed,
                    if served.is_empty() {
                        "no domain's instance (a stub, or nothing found)".to_string()
                    } else {
                        terminal_text(&served.join(", "))
                    }
                );
            }
        }
        let _ = writeln!(
            out,
            "Total: lines {}/{} ({}), methods run {}/{}, states entered {}/{}, hooks run {}/{}{}",
            t.lines_covered,
            t.lines_total,
            if t.lines_total == 0 {
                "nothing measured".to_string()
            } else {
                format!("{:.1}%", t.line_percent())
            },
            t.methods_run,
            t.methods_total,
            t.states_entered,
            t.states_total,
            t.hooks_run,
            t.hooks_total,
            if t.datastore {
                ""
            } else {
                " (of those the runs saw)"
            }
        );
        if !t.datastore {
            let _ = writeln!(out, "{SEEN_ONLY}");
        }
        if self.methods.values().any(|m| m.approximate) {
            let _ = writeln!(
                out,
                "(methods never run: executable lines approximated from their source)"
            );
        }
        out
    }

    fn to_json(&self, t: &Totals) -> Json {
        let methods: Vec<Json> = self
            .methods
            .values()
            .map(|m| {
                json!({
                    "fqname": m.fqname,
                    "domain": if m.outside { None } else { Some(domain_of(&m.fqname)) },
                    "outside_domain": m.outside,
                    "file": m.file.as_deref().map(sanitize),
                    "runs": m.runs,
                    "covered": m.covered(),
                    "total": m.total(),
                    "percent": round1(percent(m.covered(), m.total())),
                    "missed_lines": m.missed(),
                    "embeds": m.embeds,
                    "approximate": m.approximate,
                })
            })
            .collect();
        let machines: Vec<Json> = self
            .machines
            .values()
            .map(|machine| {
                let states: Vec<Json> = machine
                    .states
                    .iter()
                    .map(|s| {
                        let hooks: Vec<String> = hooks_of(s);
                        let (run, never): (Vec<String>, Vec<String>) = hooks
                            .into_iter()
                            .partition(|h| s.steps.get(h).is_some_and(|st| st.ran > 0));
                        let steps: BTreeMap<&String, Json> = s
                            .steps
                            .iter()
                            .map(|(k, st)| {
                                (
                                    k,
                                    json!({"ran": st.ran, "results": st.results, "served_by": st.served_by}),
                                )
                            })
                            .collect();
                        json!({
                            "name": s.name,
                            "entered": s.entered,
                            "results": s.results,
                            "raised": s.raised,
                            "steps": steps,
                            "hooks_run": run,
                            "hooks_never_run": never,
                        })
                    })
                    .collect();
                let never: Vec<&str> = machine
                    .states
                    .iter()
                    .filter(|s| s.entered == 0)
                    .map(|s| s.name.as_str())
                    .collect();
                json!({
                    "class": machine.class,
                    "domain": domain_of(&machine.class),
                    "instances": machine.instances,
                    "runs": machine.runs,
                    "states": states,
                    "states_never_entered": never,
                })
            })
            .collect();
        let relationships: Vec<Json> = self
            .relationships
            .values()
            .map(|r| json!({"uri": r.uri, "followed": r.followed, "served_by": r.served_by}))
            .collect();
        json!({
            "format": REPORT_FORMAT,
            "totals": {
                "lines_covered": t.lines_covered,
                "lines_total": t.lines_total,
                "percent": round1(t.line_percent()),
                "methods_run": t.methods_run,
                "methods_total": t.methods_total,
                "states_entered": t.states_entered,
                "states_total": t.states_total,
                "hooks_run": t.hooks_run,
                "hooks_total": t.hooks_total,
                "only_what_ran": !t.datastore,
            },
            "methods": methods,
            "machines": machines,
            "relationships": relationships,
        })
    }
}

/// The hooks of a state: those the datastore defines, and any that ran.
pub(crate) fn hooks_of(s: &StateCov) -> Vec<String> {
    HOOKS
        .iter()
        .filter(|h| s.hooks_defined.contains(**h) || s.steps.contains_key(**h))
        .map(|h| h.to_string())
        .collect()
}

pub(crate) fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `[3, 4, 5, 9]` → `3-5, 9`.
pub(crate) fn ranges(lines: &[usize]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let start = lines[i];
        let mut end = start;
        while i + 1 < lines.len() && lines[i + 1] == end + 1 {
            i += 1;
            end = lines[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(", ")
}

/// Executable lines of a method no Ruby compiled: not blank, not a comment, not a bare
/// `end`/`else`/`ensure`/`begin`/`then`/`do` or closing bracket, not inside `=begin`/`=end`.
fn approximate_lines(source: &str) -> Vec<Option<u64>> {
    let mut in_doc = false;
    source
        .lines()
        .map(|line| {
            let t = line.trim();
            if in_doc {
                if t.starts_with("=end") {
                    in_doc = false;
                }
                return None;
            }
            if t.starts_with("=begin") {
                in_doc = true;
                return None;
            }
            let bare = matches!(
                t,
                "" | "end" | "else" | "ensure" | "begin" | "then" | "do" | "}" | "]" | ")" | "end)"
            );
            if bare || t.starts_with('#') || t.starts_with("__END__") {
                None
            } else {
                Some(0)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_join_runs() {
        assert_eq!(ranges(&[3, 4, 5, 9, 11, 12]), "3-5, 9, 11-12");
        assert_eq!(ranges(&[]), "");
    }

    #[test]
    fn approximation_skips_comments_blanks_and_ends() {
        let src = "# c\nx = 1\n\nif x\n  y\nelse\n  z\nend\n=begin\nnot\n=end\n";
        let lines = approximate_lines(src);
        let exec: Vec<usize> = (0..lines.len())
            .filter(|i| lines[*i].is_some())
            .map(|i| i + 1)
            .collect();
        assert_eq!(exec, vec![2, 4, 5, 7]);
    }

    mod hostile {
        use super::*;
        use crate::diagram::hostile_tests as h;
        use proptest::prelude::*;

        fn counts() -> BoxedStrategy<Json> {
            proptest::collection::btree_map(
                h::nasty_string(),
                prop_oneof![3 => any::<u64>().prop_map(Json::from), 1 => h::any_value()],
                0..3,
            )
            .prop_map(|m| Json::Object(m.into_iter().collect()))
            .boxed()
        }

        /// JSON shaped like a coverage file, any field of any type now and then.
        fn coverage_file() -> impl Strategy<Value = Json> {
            let count = prop_oneof![3 => prop_oneof![Just(u64::MAX), any::<u64>()].prop_map(Json::from), 1 => h::any_value()];
            let line = prop_oneof![2 => Just(Json::Null), 2 => any::<u64>().prop_map(Json::from), 1 => h::any_value()];
            let method = (h::nasty_string(), count.clone(), proptest::collection::vec(line, 0..12))
                .prop_map(|(file, runs, lines)| json!({"file": file, "runs": runs, "lines": lines, "embeds": [file]}));
            let step = (count.clone(), counts(), counts()).prop_map(|(ran, results, served)| json!({"ran": ran, "results": results, "served_by": served}));
            let state = (count.clone(), counts(), proptest::collection::btree_map(
                proptest::sample::select(&["on_entry", "main", "on_exit", "on_error"][..]).prop_map(String::from), step, 0..4))
                .prop_map(|(entered, results, steps)| json!({"entered": entered, "raised": 1, "results": results, "steps": steps}));
            let machine = (
                counts(),
                proptest::collection::btree_map(h::nasty_string(), state, 0..4),
            )
                .prop_map(|(instances, states)| json!({"instances": instances, "states": states}));
            let path = prop_oneof![
                Just("/D/ns/C".to_string()),
                Just("/d/NS/c".to_string()),
                Just("/D/ns/C/m".to_string()),
                h::nasty_string()
            ];
            (
                proptest::collection::btree_map(path.clone(), method, 0..3),
                proptest::collection::btree_map(path.clone(), machine, 0..3),
                proptest::collection::btree_map(path, (count, counts()).prop_map(|(f, s)| json!({"followed": f, "served_by": s})), 0..3),
            )
                .prop_map(|(methods, machines, rels)| json!({"format": FORMAT, "methods": methods, "machines": machines, "relationships": rels}))
        }

        /// Every report of the files merged: no panic, the page whole and without a script
        /// of theirs.
        fn report_all(docs: &[Json]) {
            let mut cov = Coverage::default();
            for d in docs {
                if check(d).is_ok() {
                    cov.merge(d).expect("a checked file merges");
                }
            }
            let t = cov.totals();
            let _ = cov.table(&t);
            let _ = serde_json::to_string(&cov.to_json(&t)).unwrap();
            let files = [PathBuf::from("x.json")];
            let info = crate::report::coverage::Info {
                files: &files,
                only: None,
                min: Some(50.0),
                generated: chrono::Utc::now(),
            };
            let page = crate::report::coverage::page(&cov, &t, &info);
            let empty = crate::report::coverage::page(
                &Coverage::default(),
                &Coverage::default().totals(),
                &info,
            );
            assert_eq!(
                page.matches("<script").count(),
                empty.matches("<script").count()
            );
            assert!(page.trim_end().ends_with("</html>"));
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(128))]

            #[test]
            fn any_json_is_checked_merged_and_reported(doc in h::any_value()) {
                let mut doc = doc;
                if let Json::Object(m) = &mut doc {
                    m.insert("format".into(), json!(FORMAT));
                }
                // Merging never panics, checked or not.
                let _ = Coverage::default().merge(&doc);
                report_all(&[doc]);
            }

            #[test]
            fn hostile_coverage_files_merge_and_report(a in coverage_file(), b in coverage_file()) {
                report_all(&[a.clone(), b, a]);
            }
        }

        #[test]
        fn counts_at_the_top_of_u64_saturate() {
            let doc = json!({"format": FORMAT,
                "methods": {"/D/ns/C/m": {"runs": u64::MAX, "lines": [u64::MAX, null, 0]}},
                "machines": {"/D/ns/C": {"states": {"S": {"entered": u64::MAX, "results": {"ok": u64::MAX},
                    "steps": {"main": {"ran": u64::MAX}}}}}},
                "relationships": {"/ns/C/i": {"followed": u64::MAX}}});
            let mut cov = Coverage::default();
            cov.merge(&doc).unwrap();
            cov.merge(&doc).unwrap();
            let m = &cov.methods["/d/ns/c/m"];
            assert_eq!((m.runs, m.lines[0]), (u64::MAX, Some(u64::MAX)));
            assert_eq!(cov.machines["/d/ns/c"].states[0].entered, u64::MAX);
            report_all(&[doc.clone(), doc]);
        }

        #[test]
        fn a_wrong_type_is_named_by_its_path() {
            let bad = |v: Json| check(&v).unwrap_err();
            assert_eq!(
                bad(json!({"methods": {"/D/x": {"lines": [1, null, 2, "a"]}}})),
                "$.methods[\"/D/x\"].lines[3]: expected a count or null, found the string \"a\""
            );
            assert_eq!(
                bad(json!({"methods": {"/D/x": {"lines": [-1]}}})),
                "$.methods[\"/D/x\"].lines[0]: expected a count or null, found the number -1"
            );
            assert_eq!(
                bad(json!({"methods": {"/D/x": {"runs": 1.5, "lines": []}}})),
                "$.methods[\"/D/x\"].runs: expected a count (a whole number, 0 or more), found the number 1.5"
            );
            assert_eq!(
                bad(json!({"methods": {"/D/x": {}}})),
                "$.methods[\"/D/x\"]: no \"lines\" array"
            );
            assert_eq!(
                bad(json!({"machines": []})),
                "$.machines: expected an object, found an array"
            );
            assert_eq!(
                bad(json!({"machines": {"/D/C": {"states": {"S": {"steps": {"main": {"ran": "x"}}}}}}})),
                "$.machines[\"/D/C\"].states[\"S\"].steps[\"main\"].ran: expected a count (a whole number, 0 or more), found the string \"x\""
            );
            assert_eq!(
                bad(json!({"relationships": {"/a\u{1b}[2J": {"served_by": {"/D/x": true}}}})),
                "$.relationships[\"/a\\\\e[2J\"].served_by[\"/D/x\"]: expected a count (a whole number, 0 or more), found a boolean"
            );
        }
    }
}
