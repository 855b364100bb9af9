//! Running Rust code without Ruby's global VM lock, so that other Ruby threads (a ManageIQ
//! worker's heartbeat, a DRb server) run while we wait on the network.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::errors::panic_message;

/// Runs `f` with the GVL released. `f` must not touch Ruby. A panic in `f` is caught (it
/// must not unwind through Ruby's C frames) and returned as `Err` with its message.
pub fn without_gvl<F, R>(f: F) -> Result<R, String>
where
    F: FnOnce() -> R,
{
    // SAFETY: no unblocking function is given, so the call runs to completion.
    unsafe { call_without_gvl(f, None, null_mut()) }
        .unwrap_or_else(|| Err("the call did not run".into()))
}

/// Runs `f` with the GVL released, handing it a flag that Ruby's unblocking function sets
/// (`Thread#kill`, `Timeout.timeout`, Ctrl-C): `f` must check it often (between files, for
/// a load) and return soon after it is set. Ruby's pending interrupt is then raised and
/// `f`'s result dropped; an interrupt that raises nothing (a `trap` handler) runs `f` again,
/// as a read is retried after EINTR. A panic in `f` is an internal error.
pub fn without_gvl_cancellable<F, R>(ruby: &magnus::Ruby, f: F) -> Result<R, magnus::Error>
where
    F: Fn(&AtomicBool) -> R,
{
    unsafe extern "C" fn unblock(data: *mut c_void) {
        // SAFETY: `data` is the `AtomicBool` below, alive for the whole call.
        let cancel = unsafe { &*(data as *const AtomicBool) };
        cancel.store(true, Ordering::Relaxed);
    }

    loop {
        let cancel = AtomicBool::new(false);
        let run = || f(&cancel);
        // SAFETY: `run` touches no Ruby; `unblock` only sets the flag, which outlives the
        // call.
        let outcome = unsafe {
            call_without_gvl(
                run,
                Some(unblock),
                &cancel as *const AtomicBool as *mut c_void,
            )
        };
        match outcome {
            Some(Ok(r)) if !cancel.load(Ordering::Relaxed) => return Ok(r),
            Some(Err(panic)) => {
                return Err(crate::errors::internal(&format!(
                    "a Rust panic was caught: {panic}"
                )))
            }
            // Interrupted, before it started or while it ran: raise what interrupted us
            // (Timeout::Error, the kill, Interrupt).
            _ => ruby.thread_check_ints()?,
        }
    }
}

/// `rb_thread_call_without_gvl` for a Rust closure: `Some` with its result, or its panic's
/// message (a panic must not unwind through Ruby's C frames); `None` when Ruby did not run
/// it (an interrupt was already pending).
///
/// # Safety
/// `f` must not touch Ruby; `unblock`, if given, is called with `unblock_data` from another
/// thread while `f` runs, so it must be safe to call there and `unblock_data` must outlive
/// the call.
unsafe fn call_without_gvl<F, R>(
    f: F,
    unblock: rb_sys::rb_unblock_function_t,
    unblock_data: *mut c_void,
) -> Option<Result<R, String>>
where
    F: FnOnce() -> R,
{
    struct Call<F, R> {
        f: Option<F>,
        result: Option<Result<R, String>>,
    }

    unsafe extern "C" fn trampoline<F: FnOnce() -> R, R>(data: *mut c_void) -> *mut c_void {
        // SAFETY: `data` is the `Call` below, alive for the whole call.
        let call = unsafe { &mut *(data as *mut Call<F, R>) };
        if let Some(f) = call.f.take() {
            call.result = Some(catch_unwind(AssertUnwindSafe(f)).map_err(|p| panic_message(&*p)));
        }
        null_mut()
    }

    let mut call = Call {
        f: Some(f),
        result: None,
    };
    // SAFETY: the callback only runs Rust code that does not use Ruby; the unblocking
    // function is the caller's to vouch for.
    unsafe {
        rb_sys::rb_thread_call_without_gvl(
            Some(trampoline::<F, R>),
            &mut call as *mut Call<F, R> as *mut c_void,
            unblock,
            unblock_data,
        );
    }
    call.result
}

/// Runs a future to completion on the process's runtime with the GVL released, so that
/// Ruby can interrupt it: `Thread#kill`, `Timeout.timeout`, Ctrl-C (Ruby's unblocking
/// function) cancel the future, which is dropped where it stands, and Ruby's pending
/// interrupt is then raised. `None` when it was interrupted.
pub fn block_on_interruptible<Fut>(
    ruby: &magnus::Ruby,
    future: Fut,
) -> Result<Option<Fut::Output>, magnus::Error>
where
    Fut: std::future::Future + Send,
    Fut::Output: Send,
{
    use std::sync::Arc;
    use tokio::sync::Notify;

    unsafe extern "C" fn unblock(data: *mut c_void) {
        // SAFETY: `data` is the `Notify` kept alive below for the whole call. A stored
        // permit makes a later `notified()` complete, so an early interrupt counts.
        let cancel = unsafe { &*(data as *const Notify) };
        cancel.notify_one();
    }

    let cancel = Arc::new(Notify::new());
    let waiter = cancel.clone();
    let run = move || {
        crate::runtime::get().block_on(async move {
            tokio::select! {
                out = future => Some(out),
                _ = waiter.notified() => None,
            }
        })
    };
    // SAFETY: `run` touches no Ruby; `unblock` only wakes the `Notify`, which outlives the call.
    let outcome =
        unsafe { call_without_gvl(run, Some(unblock), Arc::as_ptr(&cancel) as *mut c_void) };
    let result = match outcome {
        Some(Ok(r)) => r,
        Some(Err(panic)) => {
            return Err(crate::errors::internal(&format!(
                "a Rust panic was caught: {panic}"
            )))
        }
        // Interrupted before it started.
        None => None,
    };
    if result.is_none() {
        // Raise what interrupted us (Timeout::Error, the kill, Interrupt).
        ruby.thread_check_ints()?;
    }
    Ok(result)
}
