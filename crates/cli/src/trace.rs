//! `miq-automate trace show|diff|redact`: read, compare and re-mask the traces that
//! `MiqAutomate::Recorder` writes on an appliance (a method's `$evm` traffic, replayed
//! offline by `MiqAutomate::Workspace.replay`).
//!
//! A trace is one JSON document: `{"format": "miq-automate-trace", "version": 1, "method",
//! "recorded_at", "recorder", "ruby", "secret_keys": [...], "outcome": {"status": "exit",
//! "code": 0} | {"status": "exception", "class", "message"} | null, "handles": [{"handle",
//! "kind", "model", "id", "path", "via"}], "calls": [{"seq", "receiver", "method", "args",
//! "result" | "raised": {"class", "message"}, "yields"?}]}`. Values are in the core's JSON
//! form (`miq_automate_core::Value::to_json`); an object is `{"$foreign": {"id": HANDLE,
//! "label": MODEL}}` (id 0: a local value that is no handle, described by its label).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use miq_automate_core::log::{sanitize, sanitize_uri};
use serde_json::{Map, Value as Json};

use crate::output::{print_stdout, terminal_text};
use crate::{EXIT_ERROR, EXIT_OK, EXIT_PARTIAL};

/// The `format` field of a trace document.
pub const FORMAT: &str = "miq-automate-trace";
/// The trace version this command reads and writes.
pub const VERSION: u64 = 1;
/// What a secret is replaced by (the core's mask, as `sanitize` writes it).
pub use miq_automate_core::password::MASK;
/// Keys whose values are secrets (a key matches when its lowercase text contains one).
pub const DEFAULT_SECRET_KEYS: [&str; 4] = ["password", "token", "secret", "api_key"];

/// `trace` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print a trace's calls as a table: receiver, call, answer (or the exception raised).
    Show {
        /// A trace file written by MiqAutomate::Recorder.
        file: PathBuf,
    },
    /// Compare two traces: the first call where they diverge, and a summary. Exit 0 the
    /// same calls and answers, 2 different, 1 unreadable.
    Diff {
        /// The first trace.
        a: PathBuf,
        /// The second trace.
        b: PathBuf,
    },
    /// Re-apply the secret rules to a trace in place (a temp file beside it, then a rename):
    /// `v2:{…}` strings, `password::` arguments, Password values, values under secret keys,
    /// decrypt answers.
    Redact {
        /// A trace file.
        file: PathBuf,
        /// Another key to treat as a secret (the defaults and the trace's own are kept).
        #[arg(long = "secret-key", value_name = "KEY")]
        secret_keys: Vec<String>,
    },
}

/// Runs a `trace` subcommand.
pub fn run(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Show { file } => match load(&file) {
            Ok(trace) => {
                print_stdout(&show(&trace))?;
                Ok(EXIT_OK)
            }
            Err(e) => unreadable(&e),
        },
        Command::Diff { a, b } => {
            let (a, b) = match (load(&a), load(&b)) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return unreadable(&e),
            };
            let (same, text) = diff(&a, &b);
            print_stdout(&text)?;
            Ok(if same { EXIT_OK } else { EXIT_PARTIAL })
        }
        Command::Redact { file, secret_keys } => {
            let mut trace = match load(&file) {
                Ok(t) => t,
                Err(e) => return unreadable(&e),
            };
            let changed = redact(&mut trace.doc, &secret_keys);
            if changed > 0 {
                write_atomically(&file, &trace.doc)?;
            }
            print_stdout(&format!(
                "{}: {changed} value(s) masked\n",
                terminal_text(&file.display().to_string())
            ))?;
            Ok(EXIT_OK)
        }
    }
}

fn unreadable(e: &anyhow::Error) -> anyhow::Result<u8> {
    eprintln!("miq-automate: {e:#}");
    Ok(EXIT_ERROR)
}

/// A loaded, checked trace document.
#[derive(Debug)]
pub struct Trace {
    /// The whole document.
    pub doc: Json,
    /// Handle number → its description.
    handles: BTreeMap<u64, Json>,
}

/// Reads and checks a trace file.
pub fn load(path: &Path) -> anyhow::Result<Trace> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let doc: Json = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    parse(doc).with_context(|| format!("{} is not a usable trace", path.display()))
}

/// Checks a trace document (format, version, calls).
pub fn parse(doc: Json) -> anyhow::Result<Trace> {
    if doc.get("format").and_then(Json::as_str) != Some(FORMAT) {
        bail!("no \"format\": \"{FORMAT}\"");
    }
    match doc.get("version").and_then(Json::as_u64) {
        Some(VERSION) => {}
        other => bail!("trace version {other:?} is not supported (this command reads {VERSION})"),
    }
    let Some(calls) = doc.get("calls").and_then(Json::as_array) else {
        bail!("\"calls\" must be a list");
    };
    for (i, call) in calls.iter().enumerate() {
        if call.get("receiver").and_then(Json::as_u64).is_none()
            || call.get("method").and_then(Json::as_str).is_none()
            || !call.get("args").is_some_and(Json::is_array)
        {
            bail!("call {} has no receiver, method or args", i + 1);
        }
    }
    let handles = doc
        .get("handles")
        .and_then(Json::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|h| Some((h.get("handle")?.as_u64()?, h.clone())))
                .collect()
        })
        .unwrap_or_default();
    Ok(Trace { doc, handles })
}

impl Trace {
    fn calls(&self) -> &[Json] {
        self.doc
            .get("calls")
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// `$evm`, `root`, `miq_provision#1`, `vm(handle 4)`.
    fn label(&self, handle: u64) -> String {
        let Some(meta) = self.handles.get(&handle) else {
            return format!("handle {handle}");
        };
        let kind = meta.get("kind").and_then(Json::as_str).unwrap_or("");
        let model = meta.get("model").and_then(Json::as_str).unwrap_or("object");
        match (kind, meta.get("id")) {
            ("evm", _) => "$evm".into(),
            ("ae_object", _) => model.into(),
            (_, Some(id)) if !id.is_null() => format!("{model}#{}", render_scalar(id)),
            _ => format!("{model}(handle {handle})"),
        }
    }

    /// A value shown briefly: handles as their label, tagged forms as Ruby would show them.
    fn render(&self, v: &Json) -> String {
        match v {
            Json::Array(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(|i| self.render(i))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Json::Object(map) => {
                if let Some((tag, inner)) = single_tag(map) {
                    return match tag {
                        "$symbol" => format!(":{}", inner.as_str().unwrap_or("")),
                        "$password" => format!("{MASK:?}"),
                        "$time" => format!("Time({})", inner.as_str().unwrap_or("")),
                        "$float" => inner.as_str().unwrap_or("").to_string(),
                        "$foreign" => {
                            let id = inner.get("id").and_then(Json::as_u64).unwrap_or(0);
                            let label = inner.get("label").and_then(Json::as_str).unwrap_or("");
                            if id == 0 {
                                format!("#<{label}>")
                            } else {
                                self.label(id)
                            }
                        }
                        "$hash" => format!(
                            "{{{}}}",
                            inner
                                .as_array()
                                .map(|pairs| pairs
                                    .iter()
                                    .filter_map(|p| p.as_array())
                                    .filter(|p| p.len() == 2)
                                    .map(|p| format!(
                                        "{} => {}",
                                        self.render(&p[0]),
                                        self.render(&p[1])
                                    ))
                                    .collect::<Vec<_>>()
                                    .join(", "))
                                .unwrap_or_default()
                        ),
                        _ => v.to_string(),
                    };
                }
                format!(
                    "{{{}}}",
                    map.iter()
                        .map(|(k, v)| format!("{k:?} => {}", self.render(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
            other => render_scalar(other),
        }
    }

    /// `root["ae_result"] = "ok"`, `miq_provision#1.get_option(:vm_target_name)`.
    fn describe_call(&self, call: &Json) -> String {
        let receiver = self.label(call["receiver"].as_u64().unwrap_or(0));
        let method = call["method"].as_str().unwrap_or("");
        let args: Vec<String> = call["args"]
            .as_array()
            .map(|a| a.iter().map(|v| self.render(v)).collect())
            .unwrap_or_default();
        match (method, args.as_slice()) {
            ("[]", [key]) => format!("{receiver}[{key}]"),
            ("[]=", [key, rest @ ..]) => format!("{receiver}[{key}] = {}", rest.join(", ")),
            _ => format!("{receiver}.{method}({})", args.join(", ")),
        }
    }

    fn describe_answer(&self, call: &Json) -> String {
        if let Some(raised) = call.get("raised") {
            return format!(
                "raised {}: {}",
                clean(raised["class"].as_str().unwrap_or("?")),
                clean(raised["message"].as_str().unwrap_or(""))
            );
        }
        let mut text = self.render(call.get("result").unwrap_or(&Json::Null));
        if let Some(yields) = call.get("yields").and_then(Json::as_array) {
            text.push_str(&format!(" (yielded {} time(s))", yields.len()));
        }
        text
    }

    fn writes(&self) -> usize {
        self.calls()
            .iter()
            .filter(|c| is_write(c["method"].as_str().unwrap_or("")))
            .count()
    }

    fn outcome(&self) -> String {
        match self.doc.get("outcome") {
            Some(o) if o["status"] == "exit" => format!("exit {}", render_scalar(&o["code"])),
            Some(o) if o["status"] == "exception" => format!(
                "raised {}: {}",
                clean(o["class"].as_str().unwrap_or("?")),
                clean(o["message"].as_str().unwrap_or(""))
            ),
            _ => "unknown (saved before the method ended)".into(),
        }
    }
}

/// Any recorded text as printed: secrets masked, control characters escaped.
fn clean(text: &str) -> String {
    terminal_text(&sanitize_value(text))
}

/// A recorded String masked: a path with a query (`/X?…`, `miqaedb:/X?…`) as a URI, whose
/// `password::` values run to the next `&` (spaces and all); any other text as text.
fn sanitize_value(text: &str) -> String {
    let head = text.split(['?', ' ']).next().unwrap_or("");
    let path = head.starts_with('/') || head.split_once(":/").is_some_and(|(s, _)| !s.is_empty());
    if path && text[head.len()..].starts_with('?') {
        sanitize(&sanitize_uri(text))
    } else {
        sanitize(text)
    }
}

fn render_scalar(v: &Json) -> String {
    match v {
        Json::Null => "nil".into(),
        Json::String(s) => format!("{:?}", sanitize_value(s)),
        other => other.to_string(),
    }
}

fn single_tag(map: &Map<String, Json>) -> Option<(&str, &Json)> {
    let mut it = map.iter();
    match (it.next(), it.next()) {
        (Some((k, v)), None) if k.starts_with('$') => Some((k.as_str(), v)),
        _ => None,
    }
}

/// Calls that change something (as the replay's match_recording counts them).
pub fn is_write(method: &str) -> bool {
    const NOT: [&str; 7] = ["==", "!=", "===", "=~", "!", "<=", ">="];
    const NAMES: [&str; 7] = [
        "log",
        "instantiate",
        "execute",
        "retire_now",
        "destroy",
        "save",
        "refresh",
    ];
    const PREFIXES: [&str; 18] = [
        "set_",
        "delete_",
        "create_",
        "add_",
        "remove_",
        "update_",
        "tag_",
        "untag_",
        "start_",
        "finish_",
        "request_",
        "register_",
        "unregister_",
        "assign_",
        "unassign_",
        "attach_",
        "detach_",
        "notify_",
    ];
    if NOT.contains(&method) {
        return false;
    }
    method.ends_with('=')
        || method.ends_with('!')
        || NAMES.contains(&method)
        || method.starts_with("send_")
        || PREFIXES.iter().any(|p| method.starts_with(p))
}

/// An exception message without object addresses (`#<Foo:0x00007f…>` differs every run).
fn without_addresses(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i + 2]);
        let tail = &rest[i + 2..];
        let hex = tail
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(tail.len());
        if hex >= 8 {
            out.push('…');
        } else {
            out.push_str(&tail[..hex]);
        }
        rest = &tail[hex..];
    }
    out.push_str(rest);
    out
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let cut: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

/// The table `trace show` prints.
pub fn show(trace: &Trace) -> String {
    let doc = &trace.doc;
    let mut out = format!(
        "trace of {} recorded {} by {}: {} call(s), {} write(s), {} object(s); outcome: {}\n",
        clean(doc["method"].as_str().unwrap_or("?")),
        clean(doc["recorded_at"].as_str().unwrap_or("?")),
        clean(doc["recorder"].as_str().unwrap_or("?")),
        trace.calls().len(),
        trace.writes(),
        trace.handles.len(),
        trace.outcome(),
    );
    let rows: Vec<[String; 3]> = trace
        .calls()
        .iter()
        .map(|c| {
            [
                render_scalar(&c["seq"]),
                truncate(&clean(&trace.describe_call(c)), 90),
                truncate(&clean(&trace.describe_answer(c)), 70),
            ]
        })
        .collect();
    let header = ["#".to_string(), "call".to_string(), "answer".to_string()];
    let widths: Vec<usize> = (0..3)
        .map(|i| {
            rows.iter()
                .chain(std::iter::once(&header))
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(&header).chain(rows.iter()) {
        let line = format!(
            "{:>w0$}  {:<w1$}  {}",
            row[0],
            row[1],
            row[2],
            w0 = widths[0],
            w1 = widths[1]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Compares two traces call by call: (same, report).
pub fn diff(a: &Trace, b: &Trace) -> (bool, String) {
    let key = |c: &Json| {
        (
            c["receiver"].clone(),
            c["method"].clone(),
            c["args"].clone(),
            c.get("result").cloned(),
            c.get("raised").map(|r| {
                let mut r = r.clone();
                if let Some(Json::String(m)) = r.get_mut("message") {
                    *m = without_addresses(m);
                }
                r
            }),
            c.get("yields").cloned(),
        )
    };
    let (ca, cb) = (a.calls(), b.calls());
    let first = (0..ca.len().max(cb.len())).find(|&i| match (ca.get(i), cb.get(i)) {
        (Some(x), Some(y)) => key(x) != key(y),
        _ => true,
    });
    let mut out = String::new();
    let outcome_same = a.outcome() == b.outcome();
    match first {
        None if outcome_same => {
            out.push_str(&format!(
                "same: {} call(s), {} write(s), outcome {}\n",
                ca.len(),
                a.writes(),
                a.outcome()
            ));
            return (true, out);
        }
        None => out.push_str(&format!("the same {} call(s)\n", ca.len())),
        Some(i) => {
            out.push_str(&format!("first divergence at call {}:\n", i + 1));
            let side = |t: &Trace, c: Option<&Json>| match c {
                Some(c) => truncate(
                    &clean(&format!(
                        "#{} {} -> {}",
                        render_scalar(&c["seq"]),
                        t.describe_call(c),
                        t.describe_answer(c)
                    )),
                    240,
                ),
                None => "(no more calls)".into(),
            };
            out.push_str(&format!("  A: {}\n", side(a, ca.get(i))));
            out.push_str(&format!("  B: {}\n", side(b, cb.get(i))));
            out.push_str(&format!("identical before it: {i} call(s)\n"));
        }
    }
    out.push_str(&format!(
        "A: {} call(s), {} write(s), outcome {}\nB: {} call(s), {} write(s), outcome {}\n",
        ca.len(),
        a.writes(),
        a.outcome(),
        cb.len(),
        b.writes(),
        b.outcome()
    ));
    (false, out)
}

/// Re-applies the secret rules to a trace document; returns how many values changed.
pub fn redact(doc: &mut Json, extra_keys: &[String]) -> usize {
    let mut keys: Vec<String> = DEFAULT_SECRET_KEYS.iter().map(|k| k.to_string()).collect();
    if let Some(listed) = doc.get("secret_keys").and_then(Json::as_array) {
        keys.extend(listed.iter().filter_map(Json::as_str).map(str::to_string));
    }
    keys.extend(extra_keys.iter().cloned());
    let mut keys: Vec<String> = keys
        .into_iter()
        .map(|k| k.to_lowercase())
        .filter(|k| !k.is_empty())
        .collect();
    keys.dedup();
    let mut r = Redactor {
        keys,
        changed: 0,
        secrets: Vec::new(),
    };
    if let Some(calls) = doc.get_mut("calls").and_then(Json::as_array_mut) {
        for call in calls {
            r.call(call);
        }
    }
    if let Some(handles) = doc.get_mut("handles").and_then(Json::as_array_mut) {
        for h in handles {
            for field in ["via", "path"] {
                if let Some(v) = h.get_mut(field) {
                    r.value(v);
                }
            }
        }
    }
    if let Some(Json::String(m)) = doc.get_mut("outcome").and_then(|o| o.get_mut("message")) {
        r.text(m);
    }
    // A value masked under a secret key may also be in a log line, a message or another
    // call's answer: every copy of it goes too.
    r.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    r.secrets.dedup();
    for field in ["calls", "handles", "outcome"] {
        if let Some(v) = doc.get_mut(field) {
            r.scrub(v);
        }
    }
    let listed: Vec<Json> = {
        let mut all: Vec<String> = doc
            .get("secret_keys")
            .and_then(Json::as_array)
            .map(|l| {
                l.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_else(|| DEFAULT_SECRET_KEYS.iter().map(|k| k.to_string()).collect());
        for k in extra_keys {
            if !all.contains(k) {
                all.push(k.clone());
            }
        }
        all.into_iter().map(Json::String).collect()
    };
    if let Some(obj) = doc.as_object_mut() {
        obj.insert("secret_keys".into(), Json::Array(listed));
    }
    r.changed
}

struct Redactor {
    keys: Vec<String>,
    changed: usize,
    /// The texts of the values masked under a secret key (4 characters or more, as the
    /// recorder remembers them), to mask wherever else they appear.
    secrets: Vec<String>,
}

impl Redactor {
    fn secret_key(&self, key: &str) -> bool {
        let key = key.to_lowercase();
        self.keys.iter().any(|k| key.contains(k.as_str()))
    }

    /// The text of a String or `{"$symbol": …}` key.
    fn key_text(v: &Json) -> Option<&str> {
        match v {
            Json::String(s) => Some(s),
            Json::Object(map) => match single_tag(map) {
                Some(("$symbol", Json::String(s))) => Some(s),
                _ => None,
            },
            _ => None,
        }
    }

    fn call(&mut self, call: &mut Json) {
        let method = call["method"].as_str().unwrap_or("").to_string();
        let decrypt = method == "decrypt";
        let masked_name = decrypt || self.secret_key(method.trim_end_matches('='));
        let key_secret = call["args"]
            .get(0)
            .and_then(Self::key_text)
            .is_some_and(|k| self.secret_key(k));
        if let Some(args) = call.get_mut("args").and_then(Json::as_array_mut) {
            for (i, arg) in args.iter_mut().enumerate() {
                if (masked_name && !decrypt) || (key_secret && i > 0) {
                    self.mask(arg);
                } else {
                    self.value(arg);
                }
            }
        }
        let secret = masked_name || key_secret;
        if let Some(result) = call.get_mut("result") {
            if secret {
                self.mask(result);
            } else {
                self.value(result);
            }
        }
        if let Some(yields) = call.get_mut("yields") {
            if secret {
                self.mask(yields);
            } else {
                self.value(yields);
            }
        }
        if let Some(Json::String(m)) = call.get_mut("raised").and_then(|r| r.get_mut("message")) {
            self.text(m);
        }
    }

    fn text(&mut self, s: &mut String) {
        let clean = sanitize_value(s);
        if clean != *s {
            *s = clean;
            self.changed += 1;
        }
    }

    fn set(&mut self, v: &mut Json, new: Json) {
        if *v != new {
            *v = new;
            self.changed += 1;
        }
    }

    /// A value with its secrets masked (strings sanitized, values under secret keys masked).
    fn value(&mut self, v: &mut Json) {
        match v {
            Json::String(s) => self.text(s),
            Json::Array(items) => items.iter_mut().for_each(|i| self.value(i)),
            Json::Object(map) => {
                let tag = single_tag(map).map(|(t, _)| t.to_string());
                match tag.as_deref() {
                    Some("$password") => {
                        if let Some(inner) = map.get_mut("$password") {
                            self.set(inner, Json::String(MASK.into()));
                        }
                    }
                    Some("$hash") => {
                        if let Some(Json::Array(pairs)) = map.get_mut("$hash") {
                            for pair in pairs.iter_mut() {
                                if let Some([k, val]) = pair.as_array_mut().map(Vec::as_mut_slice) {
                                    let secret =
                                        Self::key_text(k).is_some_and(|t| self.secret_key(t));
                                    self.value(k);
                                    if secret {
                                        self.mask(val);
                                    } else {
                                        self.value(val);
                                    }
                                }
                            }
                        }
                    }
                    Some(_) => {}
                    None => {
                        for (k, val) in map.iter_mut() {
                            if self.secret_key(k) {
                                self.mask(val);
                            } else {
                                self.value(val);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// A secret value: nil stays nil, handles stay, everything else becomes `********`.
    fn mask(&mut self, v: &mut Json) {
        match v {
            Json::Null => {}
            Json::Array(items) => items.iter_mut().for_each(|i| self.mask(i)),
            Json::Object(map) => match single_tag(map).map(|(t, inner)| (t.to_string(), inner)) {
                Some((t, inner)) if t == "$foreign" && inner["id"].as_u64().unwrap_or(0) > 0 => {}
                Some((t, _)) if t == "$password" => {
                    if let Some(inner) = map.get_mut("$password") {
                        self.set(inner, Json::String(MASK.into()));
                    }
                }
                Some((t, _)) if t == "$hash" => {
                    if let Some(Json::Array(pairs)) = map.get_mut("$hash") {
                        for pair in pairs.iter_mut() {
                            if let Some([_, val]) = pair.as_array_mut().map(Vec::as_mut_slice) {
                                self.mask(val);
                            }
                        }
                    }
                }
                Some(_) => self.set(v, Json::String(MASK.into())),
                None => map.values_mut().for_each(|val| self.mask(val)),
            },
            _ => {
                self.remember(v);
                self.set(v, Json::String(MASK.into()))
            }
        }
    }

    /// Keeps a masked String's or number's text (a pin is often an Integer).
    fn remember(&mut self, v: &Json) {
        let text = match v {
            Json::String(s) => s.clone(),
            Json::Number(n) => n.to_string(),
            _ => return,
        };
        if text.chars().count() >= 4 && text != MASK {
            self.secrets.push(text);
        }
    }

    /// Replaces every remembered secret in the strings (and equal numbers) under `v`.
    fn scrub(&mut self, v: &mut Json) {
        if self.secrets.is_empty() {
            return;
        }
        match v {
            Json::String(s) => {
                let mut text = s.clone();
                for secret in &self.secrets {
                    if text.contains(secret.as_str()) {
                        text = text.replace(secret.as_str(), MASK);
                    }
                }
                if text != *s {
                    *s = text;
                    self.changed += 1;
                }
            }
            Json::Number(n) if self.secrets.contains(&n.to_string()) => {
                *v = Json::String(MASK.into());
                self.changed += 1;
            }
            Json::Array(items) => items.iter_mut().for_each(|i| self.scrub(i)),
            Json::Object(map) => {
                for (k, val) in map.iter_mut() {
                    // the structure's own numbers (sequence, handle ids) are no secret
                    if !matches!(k.as_str(), "seq" | "receiver" | "handle" | "id" | "code") {
                        self.scrub(val);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Writes `doc` to `path` through a temp file and a rename, so a reader never sees half a
/// trace and a failure leaves the original untouched. A symlink is written through (its
/// target is replaced, the link stays); the file keeps its mode. The temp file is created
/// exclusively, 0600, in the target's directory, so a planted file or link there is never
/// followed.
pub fn write_atomically(path: &Path, doc: &Json) -> anyhow::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};

    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mode = fs::metadata(&target)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o600);
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "trace.json".into());
    let mut text = serde_json::to_string_pretty(doc)?;
    text.push('\n');
    let mut attempt = 0;
    let (tmp, mut file) = loop {
        let tmp = dir.join(format!(".{name}.tmp-{}-{attempt}", std::process::id()));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(file) => break (tmp, file),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", tmp.display())),
        }
    };
    let result = (|| -> anyhow::Result<()> {
        file.write_all(text.as_bytes())?;
        file.set_permissions(fs::Permissions::from_mode(mode))?;
        file.sync_all()?;
        fs::rename(&tmp, &target)
            .with_context(|| format!("cannot replace {}", target.display()))?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Any JSON, trace-shaped more often than not (its keys), a few levels deep.
    fn any_json() -> impl proptest::strategy::Strategy<Value = Json> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Json::Null),
            any::<bool>().prop_map(Json::from),
            any::<i64>().prop_map(Json::from),
            "[ -~\\PC]{0,12}".prop_map(Json::from),
            Just(json!("v2:{abc}")),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            let key = prop_oneof![
                Just("calls".to_string()),
                Just("handles".to_string()),
                Just("receiver".to_string()),
                Just("method".to_string()),
                Just("args".to_string()),
                Just("result".to_string()),
                Just("raised".to_string()),
                Just("outcome".to_string()),
                "[a-z]{1,6}",
            ];
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Json::Array),
                proptest::collection::vec((key, inner), 0..6)
                    .prop_map(|kv| Json::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// A hostile trace is refused with an error or shown, never a panic, and what is
        /// shown can be diffed and redacted.
        #[test]
        fn a_hostile_trace_is_refused_or_shown_never_a_panic(body in any_json()) {
            let mut doc = json!({"format": FORMAT, "version": VERSION});
            if let (Json::Object(d), Json::Object(b)) = (&mut doc, &body) {
                for (k, v) in b {
                    d.insert(k.clone(), v.clone());
                }
            }
            for candidate in [body.clone(), doc] {
                if let Ok(trace) = parse(candidate.clone()) {
                    let _ = show(&trace);
                    let _ = diff(&trace, &trace);
                }
                let mut copy = candidate;
                let _ = redact(&mut copy, &["pin".to_string()]);
            }
        }
    }

    #[test]
    fn addresses_leave_exception_messages() {
        assert_eq!(
            without_addresses("for #<Foo:0x00007f903111ef40 @a=0x1f>"),
            "for #<Foo:0x… @a=0x1f>"
        );
    }

    #[test]
    fn writes_are_the_calls_that_change_something() {
        for w in [
            "[]=",
            "message=",
            "set_state_var",
            "log",
            "instantiate",
            "create_notification!",
        ] {
            assert!(is_write(w), "{w}");
        }
        for r in [
            "[]",
            "==",
            "get_option",
            "root",
            "decrypt",
            "disconnect_sql",
        ] {
            assert!(!is_write(r), "{r}");
        }
    }

    #[test]
    fn redact_masks_by_key_method_and_text_and_is_idempotent() {
        let mut doc = json!({"format": FORMAT, "version": 1, "calls": [
            {"seq": 1, "receiver": 1, "method": "decrypt", "args": ["pw"], "result": "plain"},
            {"seq": 2, "receiver": 1, "method": "set_state_var", "args": [{"$symbol": "api_token"}, "t0k"], "result": "t0k"},
            {"seq": 3, "receiver": 1, "method": "log", "args": [{"$symbol": "info"}, "k v2:{abc}"], "result": true},
            {"seq": 4, "receiver": 1, "method": "x", "args": [{"$hash": [[{"$symbol": "password"}, "p"]]}], "result": {"pin": 1, "secret": {"$foreign": {"id": 3, "label": "vm"}}}}
        ]});
        let changed = redact(&mut doc, &["pin".into()]);
        assert_eq!(changed, 6);
        assert_eq!(doc["calls"][0]["result"], MASK);
        assert_eq!(doc["calls"][1]["args"][1], MASK);
        assert_eq!(doc["calls"][2]["args"][1], "k ********");
        assert_eq!(doc["calls"][3]["args"][0]["$hash"][0][1], MASK);
        assert_eq!(doc["calls"][3]["result"]["pin"], MASK);
        assert_eq!(doc["calls"][3]["result"]["secret"]["$foreign"]["id"], 3);
        assert_eq!(redact(&mut doc, &[]), 0);
        assert!(doc["secret_keys"]
            .as_array()
            .is_some_and(|k| k.contains(&json!("pin"))));
    }
}
