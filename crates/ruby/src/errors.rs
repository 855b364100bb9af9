//! The exception tree in one place: core errors become the Ruby classes a ManageIQ author
//! expects, and a Rust panic becomes a rescuable `MiqAutomate::InternalError` instead of
//! magnus's default `fatal`, which would end a ManageIQ worker.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use magnus::{prelude::*, Error, ExceptionClass, RModule, Ruby};
use miq_automate_core::{log, AeError};

thread_local! {
    static GUARD_DEPTH: Cell<usize> = const { Cell::new(0) };
    static PANIC_AT: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs a panic hook that stays silent for panics inside [`guard`] (they become Ruby
/// exceptions; a ManageIQ method would otherwise log them as `Method STDERR` noise) and
/// remembers where they happened. Other panics go to the previous hook.
pub fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if GUARD_DEPTH.with(Cell::get) > 0 {
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()));
                PANIC_AT.with(|p| *p.borrow_mut() = at);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs an entry point, turning a panic into `MiqAutomate::InternalError`.
pub fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    GUARD_DEPTH.with(|d| d.set(d.get() + 1));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    GUARD_DEPTH.with(|d| d.set(d.get() - 1));
    match outcome {
        Ok(result) => result,
        Err(payload) => {
            let detail = panic_message(&*payload);
            let at = PANIC_AT.with(|p| p.borrow_mut().take()).unwrap_or_default();
            Err(internal(&format!(
                "miq_automate bug (a Rust panic was caught): {} {at}",
                log::sanitize(&detail)
            )))
        }
    }
}

/// A caught panic's message (`"unknown panic"` when its payload is not text).
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

fn ruby() -> Ruby {
    Ruby::get().expect("called on a Ruby thread")
}

/// `MiqAutomate::<name>`, or `MiqAutomate::Error` if the constant is missing.
pub fn class(name: &str) -> ExceptionClass {
    let ruby = ruby();
    let module: Result<RModule, Error> = ruby.class_object().const_get("MiqAutomate");
    module
        .and_then(|m| m.const_get::<_, ExceptionClass>(name))
        .unwrap_or_else(|_| ruby.exception_standard_error())
}

/// `MiqAutomate::<outer>::<name>` (e.g. `Api::Error`), or `MiqAutomate::Error`.
pub fn class_under(outer: &str, name: &str) -> ExceptionClass {
    let ruby = ruby();
    let module: Result<RModule, Error> = ruby.class_object().const_get("MiqAutomate");
    module
        .and_then(|m| m.const_get::<_, RModule>(outer))
        .and_then(|m| m.const_get::<_, ExceptionClass>(name))
        .unwrap_or_else(|_| class("Error"))
}

/// A `MiqAutomate::InternalError`.
pub fn internal(message: &str) -> Error {
    Error::new(class("InternalError"), message.to_string())
}

/// A `MiqAutomate::Error`.
pub fn error(message: impl Into<String>) -> Error {
    Error::new(class("Error"), message.into())
}

/// A `MiqAutomate::ValueError`: a value the workspace cannot keep and give back.
pub fn value_error(message: impl Into<String>) -> Error {
    Error::new(class("ValueError"), message.into())
}

/// A `MiqAutomate::NestingError` (a `ValueError`): too deep, or containing itself.
pub fn nesting(message: impl Into<String>) -> Error {
    Error::new(class("NestingError"), message.into())
}

/// Defines the exception classes the extension adds beneath `MiqAutomate::Error` (the rest
/// are in `lib/miq_automate/errors.rb`, loaded first).
pub fn define(module: RModule) -> Result<(), Error> {
    let base: ExceptionClass = module.const_get("Error")?;
    let value_error = module.define_error("ValueError", base)?;
    module.define_error("NestingError", value_error)?;
    Ok(())
}

/// The Ruby exception for a core error.
pub fn to_ruby(err: AeError) -> Error {
    let ruby = ruby();
    let message = err.to_string();
    match &err {
        AeError::InvalidPathFormat(_) => Error::new(class("InvalidPathFormat"), message),
        AeError::ObjectNotFound(_) => Error::new(class("ObjectNotFound"), message),
        AeError::InvalidClass(_) => Error::new(class("InvalidClass"), message),
        AeError::ServiceNotFound(_) => Error::new(class("ServiceNotFound"), message),
        AeError::CyclicalRelationship(_) => Error::new(class("CyclicalRelationship"), message),
        AeError::StopInstantiation(_) => Error::new(class("StopInstantiation"), message),
        AeError::AbortInstantiation(_) => Error::new(class("AbortInstantiation"), message),
        AeError::UnknownMethodRc(_) => Error::new(class("UnknownMethodRc"), message),
        AeError::MethodParmMissing(_) => Error::new(class("MethodParmMissing"), message),
        AeError::AttributeNotFound(_) => Error::new(class("AttributeNotFound"), message),
        AeError::InvalidMethod(_) => Error::new(class("InvalidMethod"), message),
        AeError::MethodNotFound(_) => Error::new(class("MethodNotFound"), message),
        AeError::RuntimeError(_) => Error::new(ruby.exception_runtime_error(), message),
        AeError::ArgumentError(_) | AeError::UnknownAeResult(_) | AeError::UnknownAeStatusState(_) => {
            Error::new(ruby.exception_arg_error(), message)
        }
        AeError::UnknownLogLevel(level) => Error::new(
            ruby.exception_no_method_error(),
            format!(
                "undefined method `{level}' for the automate logger (levels: debug, info, warn, error, fatal, unknown)"
            ),
        ),
        AeError::RangeError(_) => Error::new(ruby.exception_range_error(), message),
        AeError::InvalidValue(_) => Error::new(class("ValueError"), message),
        AeError::TooDeep(_) => Error::new(class("NestingError"), message),
        AeError::NoMethod { .. } => Error::new(ruby.exception_no_method_error(), message),
        AeError::Remote { .. } => Error::new(class("RemoteError"), message),
        AeError::Internal(_) => Error::new(class("InternalError"), message),
    }
}

/// A Ruby exception as a core error (for errors raised by a foreign `$evm` or a handler).
pub fn from_ruby(err: &Error) -> AeError {
    let class = err
        .value()
        .map(|v| v.class().to_string())
        .unwrap_or_else(|| "Error".into());
    let message = err
        .value()
        .and_then(|v| v.funcall::<_, _, String>("message", ()).ok())
        .unwrap_or_else(|| err.to_string());
    let message = miq_automate_core::log::sanitize(&message);
    match class.as_str() {
        "MiqAutomate::InvalidPathFormat" => AeError::InvalidPathFormat(message),
        "MiqAutomate::ObjectNotFound" => AeError::ObjectNotFound(message),
        "MiqAutomate::StopInstantiation" => AeError::StopInstantiation(message),
        "MiqAutomate::AbortInstantiation" => AeError::AbortInstantiation(message),
        "MiqAutomate::UnknownMethodRc" => AeError::UnknownMethodRc(message),
        // Raised by our own conversions of a peer's values: keep the class.
        "MiqAutomate::ValueError" => AeError::InvalidValue(message),
        "MiqAutomate::NestingError" => AeError::TooDeep(message),
        _ => AeError::Remote { class, message },
    }
}

/// Shorthand: a core result as a Ruby result.
pub trait IntoRuby<T> {
    /// Converts the error side.
    fn rb(self) -> Result<T, Error>;
}

impl<T> IntoRuby<T> for Result<T, AeError> {
    fn rb(self) -> Result<T, Error> {
        self.map_err(to_ruby)
    }
}
