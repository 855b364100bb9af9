//! `MiqAutomate::MockManageIQ`: the mock ManageIQ started inside the Ruby process, so an
//! offline `$evm.vmdb(...)` and the REST API share one VMDB — a test sees from inside a
//! method what was requested over REST.

use std::sync::{Arc, Mutex};

use magnus::{prelude::*, DataTypeFunctions, Error, Ruby, TypedData};
use miq_automate_mock::vmdb::{Id, Vmdb};
use miq_automate_mock::MockServer;

use crate::errors::{self, guard};
use crate::nogvl::without_gvl;

/// The native part of `MiqAutomate::MockManageIQ`.
#[derive(TypedData)]
#[magnus(class = "MiqAutomate::MockManageIQ", free_immediately)]
pub struct RbMock {
    // The server's tasks run on the process's runtime (`crate::runtime`) while Ruby goes on.
    server: Mutex<Option<MockServer>>,
    vmdb: Arc<Vmdb>,
    url: String,
    // The process that started it: a forked child (a DRb server in a spec) has none of the
    // runtime's worker threads, so it must not try to stop the server.
    pid: u32,
}

impl DataTypeFunctions for RbMock {}

impl RbMock {
    /// Stops the server inside its runtime (idempotent); never unwinds (it also runs in GC).
    fn shut_down(&self) {
        let server = self.server.lock().ok().and_then(|mut s| s.take());
        if std::process::id() != self.pid {
            std::mem::forget(server);
            return;
        }
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _context = crate::runtime::get().enter();
            drop(server)
        }));
    }
}

impl Drop for RbMock {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn start(path: String) -> Result<RbMock, Error> {
    guard(|| {
        let started =
            without_gvl(|| crate::runtime::get().block_on(MockServer::start_file(&path, 0)))
                .map_err(|panic| errors::internal(&format!("a Rust panic was caught: {panic}")))?;
        let server = started.map_err(|e| errors::error(e.to_string()))?;
        Ok(RbMock {
            vmdb: server.vmdb(),
            url: server.url(),
            server: Mutex::new(Some(server)),
            pid: std::process::id(),
        })
    })
}

/// The VMDB of a `MiqAutomate::MockManageIQ` (for the engine to share its clock).
pub(crate) fn vmdb_of(value: magnus::Value) -> Option<Arc<Vmdb>> {
    <&RbMock as magnus::TryConvert>::try_convert(value)
        .ok()
        .map(|m| m.vmdb.clone())
}

fn url(rb_self: &RbMock) -> Result<String, Error> {
    guard(|| Ok(rb_self.url.clone()))
}

/// A record's columns as JSON text (nil when it does not exist).
fn record(rb_self: &RbMock, kind: String, id: u64) -> Result<Option<String>, Error> {
    guard(|| {
        let json = match kind.as_str() {
            "service" => rb_self
                .vmdb
                .service(Id(id))
                .ok()
                .map(|s| serde_json::to_string(&s)),
            "vm" => rb_self
                .vmdb
                .vm(Id(id))
                .ok()
                .map(|v| serde_json::to_string(&v)),
            other => {
                return Err(errors::error(format!(
                    "the mock VMDB has no {other} model (service, vm)"
                )))
            }
        };
        json.transpose()
            .map_err(|e| errors::internal(&e.to_string()))
    })
}

/// `retire_now` on a service (ManageIQ's transitions).
fn retire_now(rb_self: &RbMock, id: u64) -> Result<(), Error> {
    guard(|| {
        rb_self
            .vmdb
            .retire_service_now(Id(id), "admin")
            .map(|_| ())
            .map_err(|e| errors::error(e.to_string()))
    })
}

fn stop(rb_self: &RbMock) -> Result<(), Error> {
    guard(|| {
        rb_self.shut_down();
        Ok(())
    })
}

/// Defines `MiqAutomate::MockManageIQ`'s native part.
pub fn define(ruby: &Ruby, module: magnus::RModule) -> Result<(), Error> {
    let class = module.define_class("MockManageIQ", ruby.class_object())?;
    class.define_singleton_method("_start", magnus::function!(start, 1))?;
    class.define_method("url", magnus::method!(url, 0))?;
    class.define_private_method("_record", magnus::method!(record, 2))?;
    class.define_private_method("_retire_now", magnus::method!(retire_now, 1))?;
    class.define_method("stop", magnus::method!(stop, 0))?;
    Ok(())
}
