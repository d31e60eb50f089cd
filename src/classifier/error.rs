//! Errors of the classifier layer: data files, model files and training.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ClassifierError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    DataFormat {
        path: PathBuf,
        line: u64,
        message: String,
    },
    #[error("model file {origin} is not a valid model: {message}")]
    ModelFormat { origin: String, message: String },
    #[error("cannot train: {0}")]
    Training(String),
    #[error("invalid training parameter {name}: {message}")]
    InvalidParameter { name: &'static str, message: String },
    /// Labelled data too thin to measure a model on.
    #[error("cannot evaluate: {0}")]
    Evaluation(String),
}
