//! The service-level error: what a call can fail with, whatever layer the
//! failure came from. `grpc::status` maps it to `tonic::Status` in one
//! exhaustive match.

use crate::classifier::ClassifierError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; `field` names the offending field.
    #[error("{field} {reason}")]
    InvalidArgument { field: &'static str, reason: String },
    #[error("{0}")]
    NotFound(String),
    #[error("missing or unknown API key: send `authorization: Bearer <token>`")]
    Unauthenticated,
    #[error("{0}")]
    PermissionDenied(String),
    /// A part of the API that this version does not provide yet.
    #[error("{0}")]
    Unimplemented(String),
    /// The call is valid but the system is not in a state to do it (a
    /// retrain is already running, say).
    #[error("{0}")]
    FailedPrecondition(String),
    /// Overload or a key's rate limit: retry later.
    #[error("{0}")]
    ResourceExhausted(String),
    /// A bug or a failed background task; the message says what.
    #[error("internal error: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Classifier(#[from] ClassifierError),
}

impl Error {
    pub fn invalid_argument(field: &'static str, reason: impl Into<String>) -> Error {
        Error::InvalidArgument {
            field,
            reason: reason.into(),
        }
    }
}
