//! The `miq_automate` Ruby extension: an offline `$evm` (`MiqAutomate::Workspace`,
//! `MiqAutomate::Service`, `MiqAutomate::Object`) over the core workspace, and
//! `MiqAutomate::EvmAdapter`, the core's `Evm` trait over any Ruby `$evm`.
//!
//! Every entry point runs inside `errors::guard`, so a Rust panic surfaces as a rescuable
//! `MiqAutomate::InternalError`, never as Ruby's `fatal`.

mod adapter;
mod api;
mod convert;
mod engine;
mod errors;
mod mock;
mod nogvl;
mod object;
mod password;
mod rollback;
mod runtime;
mod service;
mod workspace;

use magnus::{function, prelude::*, Error, Ruby};

/// A test-only entry point proving that a panic becomes `MiqAutomate::InternalError`.
fn panic_for_test(message: String) -> Result<(), Error> {
    errors::guard(|| panic!("{message}"))
}

#[magnus::init(name = "miq_automate")]
fn init(ruby: &Ruby) -> Result<(), Error> {
    errors::install_panic_hook();
    let module = ruby.define_module("MiqAutomate")?;
    errors::define(module)?;
    workspace::define(ruby, module)?;
    service::define(ruby, module)?;
    object::define(ruby, module)?;
    password::define(ruby, module)?;
    adapter::define(ruby, module)?;
    api::define(ruby, module)?;
    rollback::define(ruby, module)?;
    mock::define(ruby, module)?;
    engine::define(ruby, module)?;
    module.define_singleton_method("__panic_for_test", function!(panic_for_test, 1))?;
    module.const_set("NATIVE_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
