//! What can go wrong in the store, and how redb's errors map onto it.

use crate::model::{ArtifactHash, ModelError};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another process holds the database.
    #[error("store {0} is in use by another process")]
    Locked(String),
    /// redb failed.
    #[error("database error: {0}")]
    Db(String),
    /// A file operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// An event was invalid or could not be encoded.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// No such artifact.
    #[error("artifact {0} not found")]
    NotFound(ArtifactHash),
    /// An artifact's bytes do not match its hash.
    #[error("artifact {hash} is corrupt: its bytes hash to {actual}")]
    Corrupt {
        /// Expected hash.
        hash: ArtifactHash,
        /// Hash of what is on disk.
        actual: ArtifactHash,
    },
    /// The store is closed or its actor is not running.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

pub(crate) fn db_err<E: Into<redb::Error>>(e: E) -> StoreError {
    match e.into() {
        redb::Error::DatabaseAlreadyOpen => StoreError::Locked("database".into()),
        other => StoreError::Db(other.to_string()),
    }
}
