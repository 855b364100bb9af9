//! Time for the VMDB: the system clock, or a manual one that tests advance explicitly.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;

/// A source of the current time. The VMDB and the REST mock read time only through this,
/// so tests can drive time-based behaviour (retirement steps, token expiry, rate-limit
/// windows) without sleeping.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// `t + by`, stopping at chrono's latest (or earliest) time instead of panicking on overflow.
pub fn add(t: DateTime<Utc>, by: Duration) -> DateTime<Utc> {
    t.checked_add_signed(by)
        .unwrap_or(if by < Duration::zero() {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

/// `t` plus `seconds`, saturating as [`add`] does (any `i64` is accepted, even one too large
/// for a [`Duration`]). Token expiry and other times derived from settings go through this.
pub fn add_seconds(t: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    match Duration::try_seconds(seconds) {
        Some(by) => add(t, by),
        None if seconds < 0 => DateTime::<Utc>::MIN_UTC,
        None => DateTime::<Utc>::MAX_UTC,
    }
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that only moves when told to. Cloning shares the same time.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    /// A manual clock starting at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// Moves the clock by `by` (forward, or back when negative). It stops at chrono's
    /// earliest or latest time instead of overflowing.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock();
        *now = add(*now, by);
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.now.lock() = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.now.lock()
    }
}
