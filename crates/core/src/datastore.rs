//! The datastore as the workspace reads it: `${miqaedb:///ns/Class/Inst/attr}` substitutions
//! go through a [`DatastoreReader`] the embedder sets (the offline engine over domain exports).
//! Its own module so that the workspace holds a reader and substitution uses one without
//! either importing the other.

use crate::error::AeError;
use crate::path::AePath;
use crate::value::Value;

/// Reads attributes of datastore instances for `${miqaedb:///ns/Class/Inst/attr}`.
pub trait DatastoreReader: Send {
    /// The value of `path.attribute` of instance `path` processed with `message`.
    fn read_attribute(&mut self, path: &AePath, message: &str) -> Result<Value, AeError>;
}
