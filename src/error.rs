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
    /// The server stopped waiting: a `CheckComments` stream on which no
    /// comment arrived for its idle limit, or a stream whose client stopped
    /// reading its answers.
    #[error("{0}")]
    DeadlineExceeded(String),
    /// The service cannot do it now, whatever the call: it is stopping, or
    /// (for an open stream) its keys were reloaded.
    #[error("{0}")]
    Unavailable(String),
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

/// A value from a request, quoted for an error message and cut to its
/// first [`Echo::MAX_CHARACTERS`] characters: the message travels back in
/// a gRPC trailer, which many clients cap at a few KiB, so a huge invalid
/// value must not make the answer itself fail.
pub struct Echo<'a>(pub &'a str);

impl Echo<'_> {
    pub const MAX_CHARACTERS: usize = 64;
}

impl std::fmt::Display for Echo<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(Echo::MAX_CHARACTERS) {
            None => write!(formatter, "{:?}", self.0),
            Some((cut, _)) => write!(
                formatter,
                "{:?}... ({} bytes)",
                &self.0[..cut],
                self.0.len()
            ),
        }
    }
}

/// An error with the causes behind it, one after another: transport
/// errors say only "transport error" on their own, and the cause
/// ("connection refused", "no private key found") is what a person needs.
pub fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !message.ends_with(&cause_text) {
            message.push_str(": ");
            message.push_str(&cause_text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::Echo;

    #[test]
    fn echoes_are_quoted_and_cut_on_a_character_boundary() {
        assert_eq!(Echo("abc").to_string(), "\"abc\"");
        let long = "é".repeat(100);
        let echoed = Echo(&long).to_string();
        assert_eq!(echoed, format!("{:?}... (200 bytes)", "é".repeat(64)));
    }
}
