//! Method exit statuses (`MIQ_OK` …) and what the engine does with each.

use crate::error::AeError;
use crate::log::LogLevel;

/// `exit MIQ_OK`: success (also a normal end or a bare `exit`).
pub const MIQ_OK: i32 = 0;
/// `exit MIQ_WARN`: success with a warning.
pub const MIQ_WARN: i32 = 4;
/// `exit MIQ_STOP`: stop instantiating this object; the parent carries on.
pub const MIQ_STOP: i32 = 8;
/// `exit MIQ_ERROR`: the same status as [`MIQ_STOP`].
pub const MIQ_ERROR: i32 = 8;
/// `exit MIQ_ABORT`: abort the whole automate run.
pub const MIQ_ABORT: i32 = 16;

/// What the engine makes of a method's exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MethodOutcome {
    /// rc 0: logged at info.
    Ok,
    /// rc 4: logged at warn.
    Warn,
    /// rc 8: `StopInstantiation`.
    Stop,
    /// rc 16: `AbortInstantiation`.
    Abort,
    /// Any other status (an uncaught exception exits 1): `UnknownMethodRc`, an abort.
    /// `None` when the process had no status (killed by a signal).
    UnknownRc(Option<i32>),
}

impl MethodOutcome {
    /// Maps a process exit status (wrapped to 0..=255 as the OS does).
    pub fn from_exit_status(status: Option<i32>) -> MethodOutcome {
        match status.map(|s| s.rem_euclid(256)) {
            Some(MIQ_OK) => MethodOutcome::Ok,
            Some(MIQ_WARN) => MethodOutcome::Warn,
            Some(MIQ_STOP) => MethodOutcome::Stop,
            Some(MIQ_ABORT) => MethodOutcome::Abort,
            other => MethodOutcome::UnknownRc(other),
        }
    }

    /// The engine's `verbose_rc`: `MIQ_OK`, `MIQ_WARN`, `MIQ_STOP`, `MIQ_ABORT`, `Unknown RC: [n]`.
    pub fn verbose_rc(&self) -> String {
        match self {
            MethodOutcome::Ok => "MIQ_OK".into(),
            MethodOutcome::Warn => "MIQ_WARN".into(),
            MethodOutcome::Stop => "MIQ_STOP".into(),
            MethodOutcome::Abort => "MIQ_ABORT".into(),
            MethodOutcome::UnknownRc(rc) => {
                format!(
                    "Unknown RC: [{}]",
                    rc.map(|r| r.to_string()).unwrap_or_default()
                )
            }
        }
    }

    /// The engine's message: `Method exited with rc=MIQ_OK`.
    pub fn message(&self) -> String {
        format!("Method exited with rc={}", self.verbose_rc())
    }

    /// The exit status this outcome stands for (`None` for a missing status).
    pub fn code(&self) -> Option<i32> {
        match self {
            MethodOutcome::Ok => Some(MIQ_OK),
            MethodOutcome::Warn => Some(MIQ_WARN),
            MethodOutcome::Stop => Some(MIQ_STOP),
            MethodOutcome::Abort => Some(MIQ_ABORT),
            MethodOutcome::UnknownRc(rc) => *rc,
        }
    }

    /// The engine's handling: the log line for ok/warn, the exception otherwise.
    pub fn into_result(self) -> Result<(LogLevel, String), AeError> {
        let message = self.message();
        match self {
            MethodOutcome::Ok => Ok((LogLevel::Info, message)),
            MethodOutcome::Warn => Ok((LogLevel::Warn, message)),
            MethodOutcome::Stop => Err(AeError::StopInstantiation(message)),
            MethodOutcome::Abort => Err(AeError::AbortInstantiation(message)),
            MethodOutcome::UnknownRc(_) => Err(AeError::UnknownMethodRc(message)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // engine/miq_ae_method_spec.rb: exit codes.
    #[test]
    fn exit_status_mapping() {
        let r = |s| MethodOutcome::from_exit_status(s).into_result();
        assert_eq!(
            r(Some(0)),
            Ok((LogLevel::Info, "Method exited with rc=MIQ_OK".into()))
        );
        assert_eq!(
            r(Some(4)),
            Ok((LogLevel::Warn, "Method exited with rc=MIQ_WARN".into()))
        );
        assert_eq!(
            r(Some(8)),
            Err(AeError::StopInstantiation(
                "Method exited with rc=MIQ_STOP".into()
            ))
        );
        assert_eq!(
            r(Some(16)),
            Err(AeError::AbortInstantiation(
                "Method exited with rc=MIQ_ABORT".into()
            ))
        );
        assert_eq!(
            r(Some(1)),
            Err(AeError::UnknownMethodRc(
                "Method exited with rc=Unknown RC: [1]".into()
            ))
        );
        assert_eq!(
            MethodOutcome::from_exit_status(Some(1234)).message(),
            "Method exited with rc=Unknown RC: [210]"
        );
        assert_eq!(
            MethodOutcome::from_exit_status(None).message(),
            "Method exited with rc=Unknown RC: []"
        );
        assert_eq!(MIQ_ERROR, MIQ_STOP);
    }
}
