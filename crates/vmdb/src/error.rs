//! Errors of the mock VMDB.

use std::path::PathBuf;

use crate::Id;

/// An error loading a scenario or acting on the VMDB.
#[derive(Debug, thiserror::Error)]
pub enum VmdbError {
    /// The scenario file could not be read.
    #[error("cannot read scenario file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The scenario is not valid JSON or does not match the format.
    #[error("invalid scenario {file}: at {json_path}: {message}")]
    Parse {
        /// The file (or `<string>` when parsed from memory).
        file: String,
        /// Where in the document, as a JSON path such as `services[3].parent_id`.
        json_path: String,
        /// What is wrong.
        message: String,
    },
    /// The scenario parsed but is inconsistent (dangling reference, duplicate id, …).
    #[error("invalid scenario {file}: at {json_path}: {message}")]
    Invalid {
        /// The file (or `<string>`).
        file: String,
        /// Where in the document.
        json_path: String,
        /// What is wrong.
        message: String,
    },
    /// A record does not exist (ManageIQ's `ActiveRecord::RecordNotFound`).
    #[error("Couldn't find {model} with 'id'={id}")]
    NotFound {
        /// The model name as ManageIQ spells it (`Service`, `Vm`, `MiqRequest`, …).
        model: &'static str,
        /// The id asked for.
        id: Id,
    },
    /// `finish_retirement` on a record that is already retired.
    #[error("{model} {name:?} is already retired")]
    AlreadyRetired {
        /// The model name.
        model: &'static str,
        /// The record's name.
        name: String,
    },
}

/// Result alias for the VMDB.
pub type Result<T, E = VmdbError> = std::result::Result<T, E>;
