//! Errors of the engine: the core's [`AeError`] plus the exceptions only the engine raises
//! (`ClassNotFound`, `InstanceNotFound`, `AssertionFailure`, `InvalidCollection`) and the
//! nesting limit.

use miq_automate_core::AeError;

/// An error of an automate run, named after the engine's exception classes.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EngineError {
    /// Any error the core knows (`MethodNotFound`, `StopInstantiation`, …).
    #[error(transparent)]
    Ae(#[from] AeError),
    /// `MiqAeException::ClassNotFound` (a datastore error: logged, the object is nil).
    #[error("{0}")]
    ClassNotFound(String),
    /// `MiqAeException::InstanceNotFound` (a datastore error: logged, the object is nil).
    #[error("{0}")]
    InstanceNotFound(String),
    /// `MiqAeException::AssertionFailure`: the object is dropped silently.
    #[error("{0}")]
    AssertionFailure(String),
    /// `MiqAeException::InvalidCollection`: a collect expression the engine cannot read.
    #[error("{0}")]
    InvalidCollection(String),
    /// `MiqAeException::MiqAeDatastoreError` itself (a state whose relationship gave
    /// nothing: `empty relationship`).
    #[error("{0}")]
    DatastoreError(String),
    /// Instantiations nested deeper than [`crate::engine::MAX_NESTING`] (ManageIQ has no
    /// limit: its stack overflows).
    #[error("instantiation nested deeper than {limit} levels: {path} (a relationship or $evm.instantiate cycle through distinct instances?)")]
    NestingTooDeep {
        /// The limit, [`crate::engine::MAX_NESTING`].
        limit: usize,
        /// The chain of URIs, abbreviated.
        path: String,
    },
}

impl EngineError {
    /// The engine's exception class this error stands for.
    pub fn engine_class(&self) -> &str {
        match self {
            EngineError::Ae(e) => e.engine_class(),
            EngineError::ClassNotFound(_) => "MiqAeException::ClassNotFound",
            EngineError::InstanceNotFound(_) => "MiqAeException::InstanceNotFound",
            EngineError::AssertionFailure(_) => "MiqAeException::AssertionFailure",
            EngineError::InvalidCollection(_) => "MiqAeException::InvalidCollection",
            EngineError::DatastoreError(_) => "MiqAeException::MiqAeDatastoreError",
            EngineError::NestingTooDeep { .. } => "MiqAutomate::NestingTooDeep",
        }
    }

    /// `true` for a `MiqAeDatastoreError` (the engine logs it and gives a nil object).
    pub fn is_datastore_error(&self) -> bool {
        matches!(
            self,
            EngineError::ClassNotFound(_)
                | EngineError::InstanceNotFound(_)
                | EngineError::DatastoreError(_)
                | EngineError::Ae(AeError::InvalidClass(_))
        )
    }

    /// The core error inside, if any.
    pub fn as_ae(&self) -> Option<&AeError> {
        match self {
            EngineError::Ae(e) => Some(e),
            _ => None,
        }
    }
}
