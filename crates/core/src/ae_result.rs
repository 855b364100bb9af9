//! The state-machine vocabulary: `ae_result` values and `ae_status_state` steps.

use std::fmt;
use std::str::FromStr;

use crate::error::AeError;

/// A value of root `ae_result`, which a method sets to steer the state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AeResult {
    /// `ok`: the state succeeded; go on to on_exit and the next state.
    Ok,
    /// `retry`: run the state again after `ae_retry_interval`.
    Retry,
    /// `restart`: go back to `ae_next_state` (or the first state).
    Restart,
    /// `skip`: go to the next state without on_exit.
    Skip,
    /// `error`: run on_error and stop the machine.
    Error,
    /// `continue`: set by on_error to carry on as if `ok`.
    Continue,
    /// `async_launch`: like retry, without on_exit.
    AsyncLaunch,
}

impl AeResult {
    /// Every value, in the engine's order.
    pub const ALL: [AeResult; 7] = [
        AeResult::Ok,
        AeResult::Retry,
        AeResult::Restart,
        AeResult::Skip,
        AeResult::Error,
        AeResult::Continue,
        AeResult::AsyncLaunch,
    ];

    /// The string the engine stores in root `ae_result`.
    pub fn as_str(self) -> &'static str {
        match self {
            AeResult::Ok => "ok",
            AeResult::Retry => "retry",
            AeResult::Restart => "restart",
            AeResult::Skip => "skip",
            AeResult::Error => "error",
            AeResult::Continue => "continue",
            AeResult::AsyncLaunch => "async_launch",
        }
    }
}

impl FromStr for AeResult {
    type Err = AeError;

    /// Parses a result the way the engine compares it: lowercase, exact.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AeResult::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| AeError::UnknownAeResult(s.to_string()))
    }
}

impl fmt::Display for AeResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value of root `ae_status_state`: which hook of a state is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AeStatusState {
    /// The state's `on_entry` methods.
    OnEntry,
    /// The state's relationship (its main work).
    Main,
    /// The state's `on_exit` methods, after `ok`.
    OnExit,
    /// The state's `on_error` methods, after `error`.
    OnError,
}

impl AeStatusState {
    /// Every step, in the order the engine runs them.
    pub const ALL: [AeStatusState; 4] = [
        AeStatusState::OnEntry,
        AeStatusState::Main,
        AeStatusState::OnExit,
        AeStatusState::OnError,
    ];

    /// The string the engine stores.
    pub fn as_str(self) -> &'static str {
        match self {
            AeStatusState::OnEntry => "on_entry",
            AeStatusState::Main => "main",
            AeStatusState::OnExit => "on_exit",
            AeStatusState::OnError => "on_error",
        }
    }
}

impl FromStr for AeStatusState {
    type Err = AeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        AeStatusState::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| AeError::UnknownAeStatusState(s.to_string()))
    }
}

impl fmt::Display for AeStatusState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_result_round_trips_through_its_string() {
        for r in AeResult::ALL {
            assert_eq!(r.as_str().parse::<AeResult>().unwrap(), r);
        }
        for s in AeStatusState::ALL {
            assert_eq!(s.as_str().parse::<AeStatusState>().unwrap(), s);
        }
    }

    #[test]
    fn unknown_result_is_an_error_naming_it() {
        let err = "oops".parse::<AeResult>().unwrap_err();
        assert_eq!(err.to_string(), "unknown ae_result \"oops\"");
        assert!("OK".parse::<AeResult>().is_err());
    }
}
