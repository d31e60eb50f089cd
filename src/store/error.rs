//! Errors of the storage layer.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database in {path}: {message}")]
    Open { path: PathBuf, message: String },
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("stored record {key} is unreadable: {message}")]
    Corrupt { key: String, message: String },
    /// An fsync failed; nothing written since can be promised durable.
    #[error("storage can no longer make writes durable: {0}")]
    FlushFailed(String),
    /// The thread that stores the checks' decisions could not be started
    /// or has stopped (the store is shutting down).
    #[error("the storage writer is not running: {0}")]
    WriterStopped(String),
}
