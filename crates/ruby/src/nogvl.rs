//! Running Rust code without Ruby's global VM lock, so that other Ruby threads (a ManageIQ
//! worker's heartbeat, a DRb server) run while we wait on the network.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr::null_mut;

/// Runs `f` with the GVL released. `f` must not touch Ruby. A panic in `f` is caught (it
/// must not unwind through Ruby's C frames) and returned as `Err` with its message.
pub fn without_gvl<F, R>(f: F) -> Result<R, String>
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
            call.result = Some(catch_unwind(AssertUnwindSafe(f)).map_err(|p| {
                p.downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into())
            }));
        }
        null_mut()
    }

    let mut call = Call {
        f: Some(f),
        result: None,
    };
    // SAFETY: the callback only runs Rust code that does not use Ruby; no unblocking
    // function is given, so the call runs to completion.
    unsafe {
        rb_sys::rb_thread_call_without_gvl(
            Some(trampoline::<F, R>),
            &mut call as *mut Call<F, R> as *mut c_void,
            None,
            null_mut(),
        );
    }
    call.result
        .unwrap_or_else(|| Err("the call did not run".into()))
}
