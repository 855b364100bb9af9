//! One tokio runtime per process for every network call the extension makes (the REST
//! client's pooled connections live on it), built on first use.
//!
//! A ManageIQ worker may fork after the runtime started: the child has none of its worker
//! threads, so a child builds its own and never drops the parent's (dropping would wait
//! for threads that do not exist in the child).

use std::sync::Mutex;

use tokio::runtime::Runtime;

struct ProcessRuntime {
    pid: u32,
    runtime: &'static Runtime,
}

static RUNTIME: Mutex<Option<ProcessRuntime>> = Mutex::new(None);

/// The runtime of this process.
pub fn get() -> &'static Runtime {
    let pid = std::process::id();
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(current) = slot.as_ref().filter(|r| r.pid == pid) {
        return current.runtime;
    }
    // Leaked on purpose: it lives as long as the process (and a forked child's copy of the
    // parent's must never be dropped).
    let runtime: &'static Runtime = Box::leak(Box::new(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("miq-automate-io")
            .enable_all()
            .build()
            .expect("a tokio runtime can be built"),
    ));
    *slot = Some(ProcessRuntime { pid, runtime });
    runtime
}
