//! One error type for the core, its variants named after the engine's exceptions
//! (`MiqAeException::*`) so that bindings can raise the class a ManageIQ author expects.
//!
//! Every message is shown through [`crate::password::sanitize`]: an error that quotes a URI, a
//! query or a log line never shows a `password::` argument's value or a `v2:{…}` token.

/// An error of the automate runtime.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AeError {
    /// `MiqAeException::InvalidPathFormat`: a malformed URI or path, or an unsupported scheme.
    #[error("{}", crate::password::sanitize(.0))]
    InvalidPathFormat(String),
    /// `MiqAeException::ObjectNotFound`: a path that names no workspace object.
    #[error("{}", crate::password::sanitize(.0))]
    ObjectNotFound(String),
    /// `MiqAeException::InvalidClass`: an unknown datatype in a typed argument.
    #[error("{}", crate::password::sanitize(.0))]
    InvalidClass(String),
    /// `MiqAeException::ServiceNotFound`: a service-model id that does not resolve.
    #[error("{}", crate::password::sanitize(.0))]
    ServiceNotFound(String),
    /// `MiqAeException::CyclicalRelationship`: an object already on the instantiation stack.
    #[error("{}", crate::password::sanitize(.0))]
    CyclicalRelationship(String),
    /// `MiqAeException::StopInstantiation`: the method exited with MIQ_STOP.
    #[error("{}", crate::password::sanitize(.0))]
    StopInstantiation(String),
    /// `MiqAeException::AbortInstantiation`: the method exited with MIQ_ABORT.
    #[error("{}", crate::password::sanitize(.0))]
    AbortInstantiation(String),
    /// `MiqAeException::UnknownMethodRc`: the method exited with another status.
    #[error("{}", crate::password::sanitize(.0))]
    UnknownMethodRc(String),
    /// `MiqAeException::MethodParmMissing`: a required method input has no value.
    #[error("{}", crate::password::sanitize(.0))]
    MethodParmMissing(String),
    /// `MiqAeException::AttributeNotFound`: a required attribute or state var is missing.
    #[error("{}", crate::password::sanitize(.0))]
    AttributeNotFound(String),
    /// `MiqAeException::InvalidMethod`: bad `.method(args)` syntax in a substitution.
    #[error("{}", crate::password::sanitize(.0))]
    InvalidMethod(String),
    /// `MiqAeException::MethodNotFound`: an unknown `$evm.execute` method or `!` path.
    #[error("{}", crate::password::sanitize(.0))]
    MethodNotFound(String),
    /// Ruby's `RuntimeError` (a bad state-var key, `field_timeout` without max retries).
    #[error("{}", crate::password::sanitize(.0))]
    RuntimeError(String),
    /// Ruby's `ArgumentError` (bad state-var key, unparseable time, missing retries …).
    #[error("{}", crate::password::sanitize(.0))]
    ArgumentError(String),
    /// Ruby's `RangeError`: a number that does not fit in 64 bits (a Bignum in Ruby, which
    /// the core cannot keep), a non-finite Float made an Integer, an overflowing product.
    #[error("{}", crate::password::sanitize(.0))]
    RangeError(String),
    /// `MiqAutomate::ValueError`: a value the workspace cannot keep and give back (a Hash
    /// key that cannot be a key again, a malformed tagged JSON value).
    #[error("{}", crate::password::sanitize(.0))]
    InvalidValue(String),
    /// `MiqAutomate::NestingError` (a `ValueError`): Arrays and Hashes nested deeper than
    /// [`crate::value::MAX_DEPTH`], or a value that contains itself.
    #[error("{}", crate::password::sanitize(.0))]
    TooDeep(String),
    /// Ruby's `NoMethodError`: the receiver does not answer the method.
    #[error("undefined method `{method}' for {receiver}")]
    NoMethod {
        /// What was called (class or description, never a secret).
        receiver: String,
        /// The method name.
        method: String,
    },
    /// A log level that Ruby's Logger does not have.
    #[error("unknown log level {0:?}")]
    UnknownLogLevel(String),
    /// An `ae_result` outside the engine's vocabulary.
    #[error("unknown ae_result {0:?}")]
    UnknownAeResult(String),
    /// An `ae_status_state` outside the engine's vocabulary.
    #[error("unknown ae_status_state {0:?}")]
    UnknownAeStatusState(String),
    /// An error raised by a remote or foreign `$evm` peer, with its class name.
    #[error("{class}: {}", crate::password::sanitize(message))]
    Remote {
        /// The peer's exception class (e.g. `DRb::DRbConnError`).
        class: String,
        /// Its message, secrets masked.
        message: String,
    },
    /// A bug in this library: reported instead of aborting the host process.
    #[error("internal error: {}", crate::password::sanitize(.0))]
    Internal(String),
}

impl AeError {
    /// The engine's (or Ruby's) exception class this error stands for.
    pub fn engine_class(&self) -> &str {
        match self {
            AeError::InvalidPathFormat(_) => "MiqAeException::InvalidPathFormat",
            AeError::ObjectNotFound(_) => "MiqAeException::ObjectNotFound",
            AeError::InvalidClass(_) => "MiqAeException::InvalidClass",
            AeError::ServiceNotFound(_) => "MiqAeException::ServiceNotFound",
            AeError::CyclicalRelationship(_) => "MiqAeException::CyclicalRelationship",
            AeError::StopInstantiation(_) => "MiqAeException::StopInstantiation",
            AeError::AbortInstantiation(_) => "MiqAeException::AbortInstantiation",
            AeError::UnknownMethodRc(_) => "MiqAeException::UnknownMethodRc",
            AeError::MethodParmMissing(_) => "MiqAeException::MethodParmMissing",
            AeError::AttributeNotFound(_) => "MiqAeException::AttributeNotFound",
            AeError::InvalidMethod(_) => "MiqAeException::InvalidMethod",
            AeError::MethodNotFound(_) => "MiqAeException::MethodNotFound",
            AeError::RuntimeError(_) => "RuntimeError",
            AeError::ArgumentError(_)
            | AeError::UnknownLogLevel(_)
            | AeError::UnknownAeResult(_)
            | AeError::UnknownAeStatusState(_) => "ArgumentError",
            AeError::RangeError(_) => "RangeError",
            AeError::InvalidValue(_) => "MiqAutomate::ValueError",
            AeError::TooDeep(_) => "MiqAutomate::NestingError",
            AeError::NoMethod { .. } => "NoMethodError",
            AeError::Remote { class, .. } => class,
            AeError::Internal(_) => "MiqAutomate::InternalError",
        }
    }
}

/// The core's result type.
pub type AeResultT<T> = Result<T, AeError>;

#[cfg(test)]
mod tests {
    use super::*;

    // Issue 10: whatever an error quotes, a `password::` value or a `v2:{…}` token is masked.
    #[test]
    fn every_message_is_sanitized() {
        let errors = [
            AeError::InvalidPathFormat("bad [/A/B?password::pw=TopSecret1&x=1]".into()),
            AeError::ArgumentError("token v2:{TopSecret1}".into()),
            AeError::Remote {
                class: "DRb::DRbConnError".into(),
                message: "/A?password%3A%3Apw=TopSecret1".into(),
            },
            AeError::Internal("password::pw=TopSecret1".into()),
        ];
        for e in errors {
            let text = e.to_string();
            assert!(!text.contains("TopSecret1"), "{text}");
            assert!(text.contains("********"), "{text}");
        }
    }
}
