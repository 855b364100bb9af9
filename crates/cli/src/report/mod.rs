//! The HTML pages miq-automate writes (the retire report, the run report, the coverage
//! page): one frame, one stylesheet, and the pieces they share — statuses and their
//! badges, a legend, counters, sections, tables, collapsible details, a log filterable by
//! level — all built with [`maud`]'s `html!`, which escapes every value it is given.
//!
//! A page is self-contained: the style is inline, nothing is fetched, no script runs (the
//! log's level filter is radio buttons and CSS). Text a page shows goes through [`Text`] or
//! [`Block`]: secrets masked ([`sanitize`]) and control characters made visible, then
//! escaped by maud. [`PreEscaped`] is for the inline stylesheet only, and for an SVG the
//! caller built itself with [`esc`] ([`embedded_svg`]).

pub mod coverage;
pub mod retire;
pub mod run;

use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, Render, DOCTYPE};
use miq_automate_core::log::sanitize;

/// The one stylesheet of every page.
pub const STYLE: &str = include_str!("style.css");

/// A whole page: `title` in the tab, `header` (the page's `<h1>`, its facts, the banner,
/// the legend) above `body`.
pub fn page(title: &str, header: Markup, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (Text(title)) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header.page-header { (header) }
                main { (body) }
            }
        }
    }
    .into_string()
}

/// One line of text as a page shows it: secrets masked, control characters (newlines too)
/// and bidirectional overrides shown as escapes (`\n`, `\u{1}`), then HTML-escaped.
#[derive(Clone, Copy, Debug)]
pub struct Text<'a>(pub &'a str);

impl Render for Text<'_> {
    fn render_to(&self, buffer: &mut String) {
        crate::output::terminal_text(&sanitize(self.0)).render_to(buffer);
    }
}

/// Text of several lines (an error, a log line): as [`Text`], but newlines and tabs are
/// kept (for a `<pre>`).
#[derive(Clone, Copy, Debug)]
pub struct Block<'a>(pub &'a str);

impl Render for Block<'_> {
    fn render_to(&self, buffer: &mut String) {
        let text = sanitize(self.0);
        let mut shown = String::with_capacity(text.len());
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                shown.push('\n');
            }
            for (j, part) in line.split('\t').enumerate() {
                if j > 0 {
                    shown.push('\t');
                }
                shown.push_str(&crate::output::terminal_text(part));
            }
        }
        shown.render_to(buffer);
    }
}

/// A path, URI or call as [`Text`] shows it, with a line-break opportunity (`<wbr>`) after
/// each `/`, `,` and `(`, and before each `?`, `#`, `&` and `=`: in a table a long path
/// wraps between its segments, never inside a word.
#[derive(Clone, Copy, Debug)]
pub struct Breakable<'a>(pub &'a str);

impl Render for Breakable<'_> {
    fn render_to(&self, buffer: &mut String) {
        let shown = crate::output::terminal_text(&sanitize(self.0));
        let mut part = String::new();
        for c in shown.chars() {
            if matches!(c, '?' | '#' | '&' | '=') && !part.is_empty() {
                part.as_str().render_to(buffer);
                buffer.push_str("<wbr>");
                part.clear();
            }
            part.push(c);
            if matches!(c, '/' | ',' | '(') {
                part.as_str().render_to(buffer);
                buffer.push_str("<wbr>");
                part.clear();
            }
        }
        part.as_str().render_to(buffer);
    }
}

/// A time as the pages show it: `2026-05-01 10:20:00 UTC`, in a `<time>` element.
pub fn timestamp(at: DateTime<Utc>) -> Markup {
    html! {
        time datetime=(at.format("%Y-%m-%dT%H:%M:%SZ")) { (at.format("%Y-%m-%d %H:%M:%S UTC")) }
    }
}

/// The "generated at" line.
pub fn generated_at(at: DateTime<Utc>) -> Markup {
    html! { p.generated { "Generated " (timestamp(at)) } }
}

/// The page's facts in one line, separated by `·` (`Run … · took 1.2 s · 1 bundle`).
pub fn facts(items: impl IntoIterator<Item = Markup>) -> Markup {
    html! {
        p.run {
            @for (i, item) in items.into_iter().enumerate() {
                @if i > 0 { " · " }
                (item)
            }
        }
    }
}

/// The banner of a run against the mock ManageIQ: `what` says what that means here.
pub fn mock_banner(what: Markup) -> Markup {
    html! { div.banner.mock role="note" { strong { "Mock run. " } (what) } }
}

/// What a page marks with a colour: a state, a step, a test, a retired member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Passed, done, retired (green).
    Passed,
    /// Asked for, not known to be done yet (blue).
    Requested,
    /// Would be done: a dry run (violet).
    Planned,
    /// Skipped (grey).
    Skipped,
    /// Left alone on purpose (dark yellow).
    Left,
    /// Passed after retries (amber).
    Retried,
    /// Failed (red).
    Failed,
    /// Gave up waiting (orange).
    TimedOut,
    /// Never reached (light grey, dashed).
    NotReached,
}

impl Status {
    /// Its CSS class (sets `--tone`).
    pub fn class(self) -> &'static str {
        match self {
            Status::Passed => "st-passed",
            Status::Requested => "st-requested",
            Status::Planned => "st-planned",
            Status::Skipped => "st-skipped",
            Status::Left => "st-left",
            Status::Retried => "st-retried",
            Status::Failed => "st-failed",
            Status::TimedOut => "st-timed-out",
            Status::NotReached => "st-not-reached",
        }
    }

    /// Its icon (a colour is never the only sign).
    pub fn icon(self) -> &'static str {
        match self {
            Status::Passed => "✓",
            Status::Requested => "→",
            Status::Planned => "○",
            Status::Skipped => "–",
            Status::Left => "•",
            Status::Retried => "↻",
            Status::Failed => "✗",
            Status::TimedOut => "◔",
            Status::NotReached => "·",
        }
    }
}

/// A coloured label: `passed`, `FAILED`, `retried 3×`.
pub fn badge(status: Status, label: &str) -> Markup {
    html! { span class={ "badge " (status.class()) } { (Text(label)) } }
}

/// An icon in a status's colour.
pub fn icon(status: Status) -> Markup {
    html! { span.icon aria-hidden="true" { (status.icon()) } }
}

/// What each colour means.
pub fn legend(entries: &[(Status, &str)]) -> Markup {
    html! {
        ul.legend aria-label="legend" {
            @for (status, meaning) in entries {
                li class=(status.class()) { (icon(*status)) " " (Text(meaning)) }
            }
        }
    }
}

/// A count and what it counts (`3 retire requests sent`).
#[derive(Clone, Debug)]
pub struct Counter {
    /// The number.
    pub n: usize,
    /// What it counts, read after the number.
    pub label: String,
    /// Its colour, if it has one.
    pub status: Option<Status>,
}

/// Counters in one line after a lead (`5 members:`): each names what it counts.
pub fn counters(lead: &str, counters: &[Counter]) -> Markup {
    html! {
        ul.summary {
            @if !lead.is_empty() { li.lead { (Text(lead)) } }
            @for c in counters {
                li class={ "chip" @if let Some(s) = c.status { " " (s.class()) } @if c.n == 0 { " zero" } } {
                    b { (c.n) } " " (Text(&c.label))
                }
            }
        }
    }
}

/// A section of the page in a box: `id` for links (`#bundle-1000`), its title as an `<h2>`.
pub fn section(id: &str, title: Markup, body: Markup) -> Markup {
    html! {
        section.card id=(id) {
            h2 { (title) }
            (body)
        }
    }
}

/// A table: a header row, then rows of cells.
pub fn table(head: &[&str], rows: impl IntoIterator<Item = Vec<Markup>>) -> Markup {
    html! {
        table.grid {
            thead { tr { @for h in head { th scope="col" { (Text(h)) } } } }
            tbody {
                @for row in rows {
                    tr { @for cell in row { td { (cell) } } }
                }
            }
        }
    }
}

/// A collapsible part: `summary` always shown, `body` when opened (`open`: at first).
pub fn details(summary: Markup, body: Markup, open: bool) -> Markup {
    html! {
        details open[open] {
            summary { (summary) }
            (body)
        }
    }
}

/// An error message in full (kept lines, masked secrets).
pub fn error_block(message: &str) -> Markup {
    html! { pre.error { (Block(message)) } }
}

/// The level of a log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// `TRACE`.
    Trace,
    /// `DEBUG`.
    Debug,
    /// `INFO`.
    Info,
    /// `WARN`.
    Warn,
    /// `ERROR`.
    Error,
}

impl Level {
    const ALL: [Level; 5] = [
        Level::Trace,
        Level::Debug,
        Level::Info,
        Level::Warn,
        Level::Error,
    ];

    fn name(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    /// The level of a word (`warn`, `WARNING`, `E`…), if it is one.
    pub fn parse(word: &str) -> Option<Level> {
        match word.trim().to_ascii_lowercase().as_str() {
            "trace" | "t" => Some(Level::Trace),
            "debug" | "d" => Some(Level::Debug),
            "info" | "i" => Some(Level::Info),
            "warn" | "warning" | "w" => Some(Level::Warn),
            "error" | "err" | "fatal" | "e" | "f" => Some(Level::Error),
            _ => None,
        }
    }
}

/// One line of a log.
#[derive(Clone, Debug)]
pub struct LogLine<'a> {
    /// Its level.
    pub level: Level,
    /// Its text (a line, or several).
    pub text: &'a str,
}

/// A log with a filter by level (all, debug and above, … errors only): radio buttons and
/// CSS, no script. `id` names it on the page (unique per log).
pub fn log(id: &str, lines: &[LogLine<'_>]) -> Markup {
    let group = format!("log-{id}");
    html! {
        div.log id=(group) {
            input type="radio" name=(group) id={ (group) "-all" } class="show-all" checked;
            label for={ (group) "-all" } { "all" }
            @for level in &Level::ALL[1..] {
                input type="radio" name=(group) id={ (group) "-" (level.name()) } class={ "show-" (level.name()) };
                label for={ (group) "-" (level.name()) } {
                    @if *level == Level::Error { "errors only" } @else { (level.name()) " and above" }
                }
            }
            pre.log-lines {
                @for line in lines {
                    span class={ "ln ln-" (line.level.name()) } {
                        span.lv { (line.level.name().to_ascii_uppercase()) } " " (Block(line.text)) "\n"
                    }
                }
            }
        }
    }
}

/// An SVG the caller built itself, every text in it escaped with [`esc`]: put as it is.
pub fn embedded_svg(svg: &str) -> Markup {
    PreEscaped(svg.to_string())
}

/// An SVG of ours made fit to sit in a page beside others, as `id`: an XML prolog dropped,
/// its root given `id`, its own ids prefixed with `id-` (and the `url(#…)`/`href="#…"` that
/// point at them), and every rule of its `<style>` scoped to `#id`, so its stylesheet
/// styles neither the page nor another SVG on it (an inline SVG's `<style>` is the
/// document's). The SVG must be one [`embedded_svg`] may take: its texts escaped.
pub fn scoped_svg(id: &str, svg: &str) -> String {
    let mut svg = svg.trim_start();
    if svg.starts_with("<?xml") {
        svg = svg
            .find("?>")
            .map_or(svg, |end| svg[end + 2..].trim_start());
    }
    let mut out = svg.to_string();
    // Its ids, prefixed (` id="…"`, never a `data-id="…"`).
    let mut ids: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(at) = rest.find(" id=\"") {
        rest = &rest[at + 5..];
        if let Some(end) = rest.find('"') {
            ids.push(rest[..end].to_string());
        }
    }
    ids.sort();
    ids.dedup();
    for old in &ids {
        for (before, after) in [(" id=\"", "\""), ("url(#", ")"), ("href=\"#", "\"")] {
            out = out.replace(
                &format!("{before}{old}{after}"),
                &format!("{before}{id}-{old}{after}"),
            );
        }
    }
    // Its stylesheets, scoped.
    let mut scoped = String::with_capacity(out.len() + 256);
    let mut rest = out.as_str();
    while let Some(open) = rest.find("<style") {
        let Some(body) = rest[open..].find('>').map(|i| open + i + 1) else {
            break;
        };
        let Some(close) = rest[body..].find("</style>").map(|i| body + i) else {
            break;
        };
        scoped.push_str(&rest[..body]);
        scoped.push_str(&scope_css(id, &rest[body..close]));
        rest = &rest[close..];
    }
    scoped.push_str(rest);
    match scoped.find("<svg") {
        Some(at) => format!("{}<svg id=\"{id}\"{}", &scoped[..at], &scoped[at + 4..]),
        None => scoped,
    }
}

/// Each rule of a flat stylesheet (`a, b { … }`) scoped to `#id` (`#id a, #id b { … }`);
/// `svg` as a selector is the root itself. Comments are dropped; a stylesheet with an
/// at-rule is left as it is but for its comments (none of ours has one).
fn scope_css(id: &str, css: &str) -> String {
    let (css, cdata) = match css.trim().strip_prefix("<![CDATA[") {
        Some(inner) => (inner.trim_end().trim_end_matches("]]>"), true),
        None => (css, false),
    };
    let mut plain = String::with_capacity(css.len());
    let mut rest = css;
    while let Some(start) = rest.find("/*") {
        plain.push_str(&rest[..start]);
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |end| &rest[start + 2 + end + 2..]);
    }
    plain.push_str(rest);
    if plain.contains('@') {
        return plain;
    }
    let mut out = String::with_capacity(plain.len() * 2);
    if cdata {
        out.push_str("<![CDATA[");
    }
    let mut rest = plain.as_str();
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}').map(|i| open + i) else {
            break;
        };
        let selectors: Vec<String> = rest[..open]
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| match s.strip_prefix("svg") {
                Some(more) if more.is_empty() || more.starts_with([' ', '.', ':', '>', '[']) => {
                    format!("svg#{id}{more}")
                }
                _ => format!("#{id} {s}"),
            })
            .collect();
        out.push_str(&selectors.join(", "));
        out.push(' ');
        out.push_str(&rest[open..=close]);
        out.push('\n');
        rest = &rest[close + 1..];
    }
    if cdata {
        out.push_str("]]>");
    }
    out
}

/// Why an output file (`-o FILE`) cannot be written, checked before any work and without
/// changing it: not a directory; its directory exists and takes a new file (one is made
/// and removed there), or the file is there and opens for writing (a device — `/dev/full`
/// — is written a newline to). An earlier check truncated the file: a run that then failed
/// lost the report that was there.
pub(crate) fn check_output(path: &std::path::Path) -> Result<(), String> {
    use std::io::Write as _;
    let meta = std::fs::metadata(path).ok();
    if meta.as_ref().is_some_and(std::fs::Metadata::is_dir) {
        return Err("it is a directory".into());
    }
    match meta {
        Some(m) if m.is_file() => {
            std::fs::OpenOptions::new()
                .append(true)
                .open(path)
                .map_err(|e| e.to_string())?;
            // The new file is made beside it: its directory must take one.
            let dir = output_dir(&std::fs::canonicalize(path).unwrap_or_else(|_| path.into()));
            tempfile::NamedTempFile::new_in(&dir).map_err(|e| {
                format!(
                    "its directory {} does not take a new file: {e}",
                    dir.display()
                )
            })?;
        }
        Some(_) => {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| e.to_string())?;
            file.write_all(b"\n")
                .and_then(|()| file.flush())
                .map_err(|e| e.to_string())?;
        }
        None => {
            let dir = output_dir(path);
            if !dir.is_dir() {
                return Err(format!("{} is not a directory", dir.display()));
            }
            tempfile::NamedTempFile::new_in(&dir).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn output_dir(path: &std::path::Path) -> std::path::PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    }
}

/// Writes an output file whole or not at all: a temp file in its directory, synced, then
/// renamed over it, so a reader never sees half a page and a failure (a full disk) leaves
/// the old one. A symbolic link is written through (its target replaced); an existing
/// file keeps its mode, a new one is 0644; a device or FIFO (`/dev/stdout`) is written
/// directly.
pub(crate) fn write_output(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let meta = std::fs::metadata(&target).ok();
    if meta.as_ref().is_some_and(|m| !m.is_file() && !m.is_dir()) {
        return Ok(std::fs::write(&target, text)?);
    }
    let mode = meta.map_or(0o644, |m| m.permissions().mode() & 0o7777);
    let mut file = tempfile::NamedTempFile::new_in(output_dir(&target))?;
    file.write_all(text.as_bytes())?;
    file.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    file.as_file().sync_all()?;
    file.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

/// Escapes text for an SVG (XML) or HTML built by hand (the diagrams).
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // A character XML 1.0 does not allow (U+FFFE, U+FFFF, a control character the
            // caller left raw) made the whole SVG unreadable: shown as `\u{fffe}`, the form
            // `terminal_text` gives the others.
            c if !xml_char(c) => {
                let _ = std::fmt::Write::write_fmt(&mut out, format_args!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// A character XML 1.0 allows in a document.
fn xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..)
}

/// `scheme://user:pass@host/…` without its `user:pass@` (any other text as it is): a page is
/// shared, no URL on it carries credentials.
pub fn without_userinfo(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..start], &url[start + at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_svg() {
        assert_eq!(
            esc("<b a=\"x\">&'</b>"),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;&lt;/b&gt;"
        );
    }

    #[test]
    fn the_frame_escapes_by_default() {
        let hostile = "<script>alert(1)</script> \"'&";
        let page = page(
            hostile,
            html! { h1 { (Text(hostile)) } },
            html! { p { (hostile) } },
        );
        assert!(!page.contains("<script>"), "{page}");
        assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &quot;'&amp;"));
        assert!(page.starts_with("<!DOCTYPE html><html lang=\"en\">"));
        assert!(page.contains("<style>"), "the shared style is inline");
        assert!(page.contains(".st-failed"), "{page}");
        for fetch in ["<link", "@import", "url(", "src="] {
            assert!(!page.contains(fetch), "the page fetches something: {fetch}");
        }
    }

    #[test]
    fn text_masks_secrets_and_shows_control_characters() {
        let shown = Text("db\u{1}\n\u{1b}[2J tier password=hunter2 v2:{c2VjcmV0}").render();
        let shown = shown.into_string();
        assert!(
            !shown.contains("hunter2") && !shown.contains("c2VjcmV0"),
            "{shown}"
        );
        assert!(shown.starts_with("db\\u{1}\\n\\e[2J tier"), "{shown}");
        assert!(!shown.chars().any(char::is_control), "{shown}");
        let block = Block("line one\n\tline\u{7} two").render().into_string();
        assert_eq!(block, "line one\n\tline\\u{7} two");
        let path = Breakable("/Ns/<b>?a=1&password=hunter2")
            .render()
            .into_string();
        assert_eq!(
            path,
            "/<wbr>Ns/<wbr>&lt;b&gt;<wbr>?a<wbr>=1<wbr>&amp;password<wbr>=********"
        );
    }

    #[test]
    fn statuses_have_a_badge_and_a_legend() {
        let b = badge(Status::Failed, "FAILED <1>").into_string();
        assert_eq!(b, "<span class=\"badge st-failed\">FAILED &lt;1&gt;</span>");
        let l = legend(&[
            (Status::Passed, "passed"),
            (Status::NotReached, "not reached"),
        ])
        .into_string();
        assert!(l.contains("class=\"st-not-reached\""), "{l}");
        for status in [
            Status::Passed,
            Status::Requested,
            Status::Planned,
            Status::Skipped,
            Status::Left,
            Status::Retried,
            Status::Failed,
            Status::TimedOut,
            Status::NotReached,
        ] {
            assert!(
                STYLE.contains(&format!(".{} {{", status.class())),
                "{status:?} has no colour"
            );
        }
    }

    #[test]
    fn counters_name_what_they_count() {
        let c = counters(
            "5 members:",
            &[
                Counter {
                    n: 3,
                    label: "retire requests sent".into(),
                    status: Some(Status::Requested),
                },
                Counter {
                    n: 0,
                    label: "failed".into(),
                    status: Some(Status::Failed),
                },
            ],
        )
        .into_string();
        assert!(c.contains("<li class=\"lead\">5 members:</li>"), "{c}");
        assert!(c.contains("<b>3</b> retire requests sent"), "{c}");
        assert!(c.contains("class=\"chip st-failed zero\""), "{c}");
    }

    #[test]
    fn the_log_filters_by_level_without_a_script() {
        let html = log(
            "run",
            &[
                LogLine {
                    level: Level::Debug,
                    text: "<debug>",
                },
                LogLine {
                    level: Level::Error,
                    text: "boom password=hunter2",
                },
            ],
        )
        .into_string();
        assert!(!html.contains("<script"), "{html}");
        assert!(html.contains("class=\"ln ln-debug\""), "{html}");
        assert!(html.contains("&lt;debug&gt;"), "{html}");
        assert!(!html.contains("hunter2"), "{html}");
        assert!(html.contains("id=\"log-run-error\""), "{html}");
        assert!(STYLE.contains(".log .show-error:checked ~ .log-lines"));
        assert_eq!(Level::parse("WARNING"), Some(Level::Warn));
    }

    #[test]
    fn tables_sections_and_details() {
        let t = table(
            &["state", "result"],
            vec![vec![html! { "<a>" }, badge(Status::Passed, "ok")]],
        )
        .into_string();
        assert!(t.contains("<th scope=\"col\">state</th>"), "{t}");
        assert!(t.contains("<td>&lt;a&gt;</td>"), "{t}");
        let s = section(
            "x",
            html! { "T" },
            details(html! { "more" }, html! { "body" }, false),
        )
        .into_string();
        assert_eq!(
            s,
            "<section class=\"card\" id=\"x\"><h2>T</h2><details><summary>more</summary>body</details></section>"
        );
    }

    #[test]
    fn an_svg_is_scoped_to_its_place_on_the_page() {
        let svg = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\"><defs><marker id=\"arrow\"/></defs><style>\n/* c, { */ text { fill: red; }\n.box.failed, svg .x { stroke: blue; }\nsvg { font-size: 3px; }\n</style><path marker-end=\"url(#arrow)\" data-id=\"arrow\"/><use href=\"#arrow\"/></svg>";
        let scoped = scoped_svg("fig-a", svg);
        assert!(scoped.starts_with("<svg id=\"fig-a\" xmlns="), "{scoped}");
        assert!(scoped.contains("<marker id=\"fig-a-arrow\"/>"), "{scoped}");
        assert!(scoped.contains("url(#fig-a-arrow)"), "{scoped}");
        assert!(scoped.contains("href=\"#fig-a-arrow\""), "{scoped}");
        assert!(scoped.contains("data-id=\"arrow\""), "{scoped}");
        assert!(scoped.contains("#fig-a text { fill: red; }"), "{scoped}");
        assert!(
            scoped.contains("#fig-a .box.failed, svg#fig-a .x { stroke: blue; }"),
            "{scoped}"
        );
        assert!(scoped.contains("svg#fig-a { font-size: 3px; }"), "{scoped}");
        assert!(!scoped.contains("/* c"), "{scoped}");
    }

    #[test]
    fn userinfo_is_dropped_from_urls() {
        assert_eq!(
            without_userinfo("https://admin:smartvm@miq.example.com/api"),
            "https://miq.example.com/api"
        );
        assert_eq!(without_userinfo("https://miq/a@b"), "https://miq/a@b");
        assert_eq!(without_userinfo("not a url"), "not a url");
    }
}
