//! Errors of the storage layer.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database in {path}: {message}")]
    Open { path: PathBuf, message: String },
    /// sled misused or a bug in it: not the caller's fault, not the disk's.
    #[error("storage error: {0}")]
    Sled(sled::Error),
    /// Reading or writing the database's files failed (a full disk, an IO
    /// error): the service may work again once the disk does.
    #[error("storage cannot read or write its files: {0}")]
    Io(std::io::Error),
    /// sled found its own files damaged.
    #[error("the database's files are damaged: {0}")]
    Damaged(String),
    #[error("stored record {key} is unreadable: {message}")]
    Corrupt { key: String, message: String },
    /// An fsync failed; nothing written since can be promised durable.
    #[error("storage can no longer make writes durable: {0}")]
    FlushFailed(String),
    /// A thread that stores the checks' decisions or flushes them (the
    /// writer, the flusher) could not be started or has stopped (the store
    /// is shutting down).
    #[error("the storage writer is not running: {0}")]
    WriterStopped(String),
}

/// Sorts sled's errors by what they mean for a caller.
impl From<sled::Error> for StoreError {
    fn from(error: sled::Error) -> StoreError {
        match error {
            sled::Error::Io(error) => StoreError::Io(error),
            sled::Error::Corruption { .. } => StoreError::Damaged(error.to_string()),
            sled::Error::CollectionNotFound(_)
            | sled::Error::Unsupported(_)
            | sled::Error::ReportableBug(_) => StoreError::Sled(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sled_errors_are_sorted_by_what_they_mean() {
        let io = sled::Error::Io(std::io::Error::other("disk full"));
        assert!(matches!(StoreError::from(io), StoreError::Io(_)));
        let damaged = sled::Error::Corruption { at: None, bt: () };
        assert!(matches!(StoreError::from(damaged), StoreError::Damaged(_)));
        let bug = sled::Error::ReportableBug("x".to_string());
        assert!(matches!(StoreError::from(bug), StoreError::Sled(_)));
    }
}
