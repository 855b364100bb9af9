//! The engine's clock: what `Time.zone.now` is for state machines (`ae_state_started`,
//! `max_time`) and for `deliver` (the requeue's `deliver_on`).
//!
//! The engine holds a shared handle (`Arc<dyn Clock>`). By default it is a
//! [`VirtualClock`]: a retry interval moves it forward at once instead of sleeping, so a
//! machine that retries for hours is delivered in microseconds, with `max_time` judged on
//! the virtual time. A `VirtualClock` is itself a handle: clones share one time, so stubs,
//! service models and a mock VMDB can read (or move) the same clock as the engine.

use std::fmt;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, SubsecRound, Utc};

/// A source of the current time for the engine.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time in UTC.
    fn now(&self) -> DateTime<Utc>;

    /// Lets `seconds` pass before the next delivery (a retry interval): a virtual clock
    /// moves forward at once; the wall clock sleeps. Zero or negative does nothing.
    fn wait(&self, seconds: i64);
}

/// The engine's shared clock handle.
pub type SharedClock = Arc<dyn Clock>;

/// A clock that moves only when told to (or when a delivery waits). Clones share the time.
#[derive(Clone)]
pub struct VirtualClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl fmt::Debug for VirtualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("VirtualClock").field(&self.now()).finish()
    }
}

impl Default for VirtualClock {
    fn default() -> Self {
        VirtualClock::starting_now()
    }
}

impl VirtualClock {
    /// A virtual clock at `start`.
    pub fn new(start: DateTime<Utc>) -> Self {
        VirtualClock {
            now: Arc::new(Mutex::new(start)),
        }
    }

    /// A virtual clock at the current wall time, in whole seconds (as `ae_state_started`
    /// keeps it, so lapsed times come out whole).
    pub fn starting_now() -> Self {
        VirtualClock::new(Utc::now().trunc_subsecs(0))
    }

    /// Moves the clock by `seconds` (back when negative), stopping at chrono's earliest
    /// or latest time instead of overflowing.
    pub fn advance(&self, seconds: i64) {
        let mut now = self.lock();
        *now = add_seconds(*now, seconds);
    }

    /// Sets the clock to `to`.
    pub fn set(&self, to: DateTime<Utc>) {
        *self.lock() = to;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A panic while holding the lock cannot leave a DateTime half-written.
        self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }

    fn wait(&self, seconds: i64) {
        if seconds > 0 {
            self.advance(seconds);
        }
    }
}

/// The wall clock: `wait` really sleeps (for embedders that deliver in real time).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn wait(&self, seconds: i64) {
        if seconds > 0 {
            std::thread::sleep(std::time::Duration::from_secs(seconds.unsigned_abs()));
        }
    }
}

/// `t + seconds`, saturating at chrono's limits.
pub fn add_seconds(t: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
    Duration::try_seconds(seconds)
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(if seconds < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_time_and_wait_moves_it() {
        let start = DateTime::parse_from_rfc3339("2024-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let clock = VirtualClock::new(start);
        let other = clock.clone();
        clock.wait(90);
        assert_eq!(other.now(), add_seconds(start, 90));
        other.wait(-5);
        assert_eq!(clock.now(), add_seconds(start, 90));
        clock.advance(i64::MAX);
        assert_eq!(clock.now(), DateTime::<Utc>::MAX_UTC);
        let shared: SharedClock = Arc::new(other);
        assert_eq!(shared.now(), DateTime::<Utc>::MAX_UTC);
    }
}
