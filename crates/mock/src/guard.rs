//! The last line of defence: a panic inside a responder becomes a value the responder turns
//! into a 500 in ManageIQ's envelope, instead of a dropped connection and a backtrace on the
//! server's stderr (or inside a Ruby process that embeds the mock).

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    /// How many [`catch`] calls are running on this thread.
    static DEPTH: Cell<usize> = const { Cell::new(0) };
    /// Where the last panic inside [`catch`] happened (the payload does not say).
    static LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs (once per process) a panic hook that stays silent for panics inside [`catch`],
/// so the responder logs them once, and remembers where they happened. Every other panic
/// goes to the hook that was in place before, unchanged.
pub(crate) fn install_hook() {
    static ONCE: Once = Once::new();
    // `set_hook` itself panics when called while the thread is panicking.
    if std::thread::panicking() {
        return;
    }
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if DEPTH.with(Cell::get) > 0 {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
                LOCATION.with(|p| *p.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// A panic caught by [`catch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Caught {
    /// The panic's message.
    pub message: String,
    /// `file:line:column`, when the hook of [`install_hook`] saw it.
    pub location: Option<String>,
}

impl std::fmt::Display for Caught {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.location {
            Some(at) => write!(f, "{} at {at}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Runs `f`, turning a panic into [`Caught`].
pub(crate) fn catch<T>(f: impl FnOnce() -> T) -> Result<T, Caught> {
    DEPTH.with(|d| d.set(d.get() + 1));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
    outcome.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a panic without a message".to_owned());
        Caught {
            message,
            location: LOCATION.with(|p| p.borrow_mut().take()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message_and_location() {
        install_hook();
        assert_eq!(catch(|| 7), Ok(7));
        let caught = catch(|| -> u8 { panic!("boom {}", 42) }).unwrap_err();
        assert_eq!(caught.message, "boom 42");
        let at = caught.location.expect("the hook records the location");
        assert!(at.contains("guard.rs:"), "{at}");
        let caught = catch(|| std::panic::panic_any(3u8)).unwrap_err();
        assert_eq!(caught.message, "a panic without a message");
        // Nested: the inner catch does not end the outer one's silence.
        let outer = catch(|| {
            let inner = catch(|| panic!("inner"));
            assert!(inner.is_err());
            panic!("outer")
        });
        assert_eq!(outer.unwrap_err().message, "outer");
    }
}
