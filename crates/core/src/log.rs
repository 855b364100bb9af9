//! `$evm.log` semantics: levels, the `<AEMethod NAME>` prefix, masking of encrypted
//! tokens, the automation.log line format, and log records a test can read back.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Local, Utc};
#[cfg(feature = "automation-log")]
use tracing::{Event, Subscriber};
#[cfg(feature = "automation-log")]
use tracing_subscriber::fmt::{format::Writer, FmtContext, FormatEvent, FormatFields};
#[cfg(feature = "automation-log")]
use tracing_subscriber::registry::LookupSpan;

use crate::error::AeError;

/// The `tracing` target every automate log line is emitted under.
pub const LOG_TARGET: &str = "automation";

/// A Ruby `Logger` severity, as `$evm.log` accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// `debug` (dropped by ManageIQ's default INFO level).
    Debug,
    /// `info`.
    Info,
    /// `warn`.
    Warn,
    /// `error`.
    Error,
    /// `fatal`.
    Fatal,
    /// `unknown`.
    Unknown,
}

impl LogLevel {
    /// Every level, lowest first.
    pub const ALL: [LogLevel; 6] = [
        LogLevel::Debug,
        LogLevel::Info,
        LogLevel::Warn,
        LogLevel::Error,
        LogLevel::Fatal,
        LogLevel::Unknown,
    ];

    /// The method name (`"info"`).
    pub fn as_str(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
            LogLevel::Fatal => "fatal",
            LogLevel::Unknown => "unknown",
        }
    }

    /// The severity label of a log line (`"INFO"`; `unknown` prints as `ANY`, as Ruby's Logger does).
    pub fn label(self) -> &'static str {
        match self {
            LogLevel::Debug => "DEBUG",
            LogLevel::Info => "INFO",
            LogLevel::Warn => "WARN",
            LogLevel::Error => "ERROR",
            LogLevel::Fatal => "FATAL",
            LogLevel::Unknown => "ANY",
        }
    }

    fn tracing_level(self) -> tracing::Level {
        match self {
            LogLevel::Debug => tracing::Level::DEBUG,
            LogLevel::Info => tracing::Level::INFO,
            LogLevel::Warn => tracing::Level::WARN,
            LogLevel::Error | LogLevel::Fatal | LogLevel::Unknown => tracing::Level::ERROR,
        }
    }
}

impl FromStr for LogLevel {
    type Err = AeError;

    /// Accepts the level as a method name, as Ruby's `Logger#send(level)` would: lowercase
    /// names only (`"info"`, `:info`); anything else is an [`AeError::UnknownLogLevel`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogLevel::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| AeError::UnknownLogLevel(s.to_string()))
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// The masking is ManageIQ::Password.sanitize_string's job, so it lives with the password;
// every log line still goes through it here.
pub use crate::password::{sanitize, sanitize_uri};

/// The text `$evm.log` writes: `<AEMethod NAME> message`, sanitised.
pub fn method_line(method: Option<&str>, message: &str) -> String {
    format!("<AEMethod {}> {}", method.unwrap_or(""), sanitize(message))
}

/// One captured log line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// The severity.
    pub level: LogLevel,
    /// The full text, prefix included, secrets masked.
    pub message: String,
    /// When it was logged.
    pub time: DateTime<Utc>,
}

/// Emits a record through `tracing` (target [`LOG_TARGET`], field `miq_level`).
pub fn emit(record: &LogRecord) {
    macro_rules! ev {
        ($lvl:expr) => {
            tracing::event!(target: LOG_TARGET, $lvl, miq_level = record.level.label(), "{}", record.message)
        };
    }
    match record.level.tracing_level() {
        tracing::Level::DEBUG => ev!(tracing::Level::DEBUG),
        tracing::Level::INFO => ev!(tracing::Level::INFO),
        tracing::Level::WARN => ev!(tracing::Level::WARN),
        _ => ev!(tracing::Level::ERROR),
    }
}

/// Formats one automation.log line the way ManageIQ writes it:
/// `[----] I, [2024-05-01T10:00:00.123456 #123:2af0]  INFO -- automation: <AEMethod foo> hi`.
pub fn automation_line(
    level: LogLevel,
    time: DateTime<Local>,
    pid: u32,
    thread: &str,
    message: &str,
) -> String {
    let label = level.label();
    format!(
        "[----] {}, [{} #{}:{}] {:>5} -- {}: {}",
        &label[..1],
        time.format("%Y-%m-%dT%H:%M:%S%.6f"),
        pid,
        thread,
        label,
        LOG_TARGET,
        message
    )
}

/// A `tracing_subscriber` event formatter that writes ManageIQ's automation.log lines
/// (feature `automation-log`).
///
/// ```
/// use miq_automate_core::log::AutomationLogFormat;
/// let subscriber = tracing_subscriber::fmt().event_format(AutomationLogFormat).finish();
/// # drop(subscriber);
/// ```
#[cfg(feature = "automation-log")]
#[derive(Clone, Copy, Debug, Default)]
pub struct AutomationLogFormat;

#[cfg(feature = "automation-log")]
impl<S, N> FormatEvent<S, N> for AutomationLogFormat
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut visitor = LineVisitor::default();
        event.record(&mut visitor);
        let level = visitor.level.unwrap_or(match *event.metadata().level() {
            tracing::Level::TRACE | tracing::Level::DEBUG => LogLevel::Debug,
            tracing::Level::INFO => LogLevel::Info,
            tracing::Level::WARN => LogLevel::Warn,
            tracing::Level::ERROR => LogLevel::Error,
        });
        let thread = format!("{:?}", std::thread::current().id());
        let thread: String = thread.chars().filter(char::is_ascii_digit).collect();
        let line = automation_line(
            level,
            Local::now(),
            std::process::id(),
            &format!("{:x}", thread.parse::<u64>().unwrap_or(0)),
            &sanitize(&visitor.message),
        );
        writeln!(writer, "{line}")
    }
}

#[cfg(feature = "automation-log")]
#[derive(Default)]
struct LineVisitor {
    message: String,
    level: Option<LogLevel>,
}

#[cfg(feature = "automation-log")]
impl tracing::field::Visit for LineVisitor {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        match field.name() {
            "miq_level" => {
                self.level = LogLevel::ALL.into_iter().find(|l| l.label() == value);
            }
            "message" => self.message = value.to_string(),
            _ => {}
        }
    }

    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            self.message = format!("{value:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn method_line_has_the_aemethod_prefix() {
        assert_eq!(method_line(Some("foo"), "hi"), "<AEMethod foo> hi");
    }

    #[test]
    fn levels_parse_like_logger_method_names() {
        assert_eq!("warn".parse::<LogLevel>().unwrap(), LogLevel::Warn);
        let err = "loud".parse::<LogLevel>().unwrap_err();
        assert_eq!(err.to_string(), "unknown log level \"loud\"");
    }

    #[test]
    fn automation_line_matches_manageiq_format() {
        let t = Local.with_ymd_and_hms(2024, 5, 1, 10, 0, 0).unwrap()
            + chrono::Duration::microseconds(123456);
        assert_eq!(
            automation_line(LogLevel::Info, t, 123, "2af0", "<AEMethod foo> hi"),
            "[----] I, [2024-05-01T10:00:00.123456 #123:2af0]  INFO -- automation: <AEMethod foo> hi"
        );
        assert_eq!(
            automation_line(LogLevel::Error, t, 1, "a", "x"),
            "[----] E, [2024-05-01T10:00:00.123456 #1:a] ERROR -- automation: x"
        );
    }
}
