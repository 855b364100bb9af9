//! `$evm.log`: lines recorded with the `<AEMethod NAME>` prefix, secrets masked, and emitted
//! through `tracing`.

use chrono::Utc;

use crate::log::{emit, method_line, sanitize, LogLevel, LogRecord};

use super::Workspace;

impl Workspace {
    /// `$evm.log(level, message)`: records `<AEMethod NAME> message` (secrets masked) and
    /// emits it through `tracing`.
    pub fn log(&mut self, level: LogLevel, message: &str) {
        let method = self.stack.last().and_then(|f| f.method.clone());
        self.log_line(level, method_line(method.as_deref(), message));
    }

    /// Records an engine log line (no `<AEMethod>` prefix; secrets masked).
    pub fn log_line(&mut self, level: LogLevel, message: String) {
        let record = LogRecord {
            level,
            message: sanitize(&message),
            time: Utc::now(),
        };
        emit(&record);
        if let Some(sink) = &self.log_sink {
            sink(&record);
        }
        self.logs.push(record);
    }

    /// Sets the sink that sees each log line as it is recorded.
    pub fn set_log_sink(&mut self, sink: super::LogSink) {
        self.log_sink = Some(sink);
    }

    /// Every log line so far.
    pub fn logs(&self) -> &[LogRecord] {
        &self.logs
    }
}

#[cfg(test)]
mod tests {
    use crate::log::LogLevel;
    use crate::Workspace;

    #[test]
    fn log_lines_carry_the_method_and_mask_secrets() {
        let mut ws = Workspace::new();
        ws.set_current_method(Some("update_provision_status"));
        ws.log(LogLevel::Info, "token v2:{abc}");
        assert_eq!(
            ws.logs()[0].message,
            "<AEMethod update_provision_status> token ********"
        );
    }
}
