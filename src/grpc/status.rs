//! The one mapping from errors to gRPC statuses. Every variant is named, so
//! a new error cannot slip through with a wrong code.

use tonic::{Code, Status};

use crate::classifier::ClassifierError;
use crate::error::Error;
use crate::store::StoreError;

impl From<Error> for Status {
    fn from(error: Error) -> Status {
        let code = match &error {
            Error::InvalidArgument { .. } => Code::InvalidArgument,
            Error::NotFound(_) => Code::NotFound,
            Error::Unauthenticated => Code::Unauthenticated,
            Error::PermissionDenied(_) => Code::PermissionDenied,
            Error::Unimplemented(_) => Code::Unimplemented,
            Error::FailedPrecondition(_) => Code::FailedPrecondition,
            Error::ResourceExhausted(_) => Code::ResourceExhausted,
            Error::DeadlineExceeded(_) => Code::DeadlineExceeded,
            Error::Unavailable(_) => Code::Unavailable,
            Error::Internal(_) => Code::Internal,
            Error::Store(store) => store_code(store),
            Error::Classifier(classifier) => classifier_code(classifier),
        };
        let message = match code {
            // A fault of the server's own is told in full to the log only:
            // its account can quote what the store holds (a record's key,
            // a parser's words about its bytes, a panic's message) and
            // sled's or the system's internals, which are no caller's
            // business. The caller gets a reference to find it by.
            Code::Internal | Code::DataLoss => {
                let reference = uuid::Uuid::now_v7().simple().to_string();
                tracing::error!(%error, reference, "request failed");
                let what = if code == Code::Internal {
                    "internal error"
                } else {
                    "stored data the call needs does not read back"
                };
                format!("{what}; the service's log tells more under reference {reference}")
            }
            // Unavailability says what the operator must mend (a full
            // disk, a failed flush) and names no stored data.
            Code::Unavailable => {
                tracing::error!(%error, "request failed");
                error.to_string()
            }
            _ => error.to_string(),
        };
        Status::new(code, message)
    }
}

fn store_code(error: &StoreError) -> Code {
    match error {
        StoreError::Open { .. }
        | StoreError::FlushFailed(_)
        | StoreError::WriterStopped(_)
        | StoreError::Io(_) => Code::Unavailable,
        StoreError::Sled(_) => Code::Internal,
        StoreError::Corrupt { .. } | StoreError::Damaged(_) => Code::DataLoss,
    }
}

fn classifier_code(error: &ClassifierError) -> Code {
    // Calls never carry files: the data and model files a call reaches are
    // the server's (configured, or stored by an earlier run).
    // Training parameters come from the configuration too.
    match error {
        // The configured training data or parameters are missing or
        // malformed, or the data cannot train a model: the operator must
        // fix the set-up first.
        ClassifierError::DataFormat { .. }
        | ClassifierError::Read { .. }
        | ClassifierError::InvalidParameter { .. }
        | ClassifierError::Training(_)
        | ClassifierError::Evaluation(_) => Code::FailedPrecondition,
        // A model this server wrote no longer reads back.
        ClassifierError::ModelFormat { .. } => Code::DataLoss,
        ClassifierError::Write { .. } => Code::Unavailable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_kind_has_its_code() {
        let cases = [
            (
                Error::invalid_argument("content", "is too long"),
                Code::InvalidArgument,
            ),
            (Error::NotFound("x".into()), Code::NotFound),
            (Error::Unauthenticated, Code::Unauthenticated),
            (Error::PermissionDenied("x".into()), Code::PermissionDenied),
            (Error::Unimplemented("x".into()), Code::Unimplemented),
            (
                Error::FailedPrecondition("x".into()),
                Code::FailedPrecondition,
            ),
            (Error::Internal("x".into()), Code::Internal),
            (
                Error::ResourceExhausted("x".into()),
                Code::ResourceExhausted,
            ),
            (Error::DeadlineExceeded("x".into()), Code::DeadlineExceeded),
            (Error::Unavailable("x".into()), Code::Unavailable),
            (
                Error::Store(StoreError::FlushFailed("disk full".into())),
                Code::Unavailable,
            ),
            (
                Error::Store(StoreError::Io(std::io::Error::other("disk full"))),
                Code::Unavailable,
            ),
            (
                Error::Classifier(ClassifierError::ModelFormat {
                    origin: "stored model v1".into(),
                    message: "truncated".into(),
                }),
                Code::DataLoss,
            ),
            (
                Error::Store(StoreError::Corrupt {
                    key: "k".into(),
                    message: "m".into(),
                }),
                Code::DataLoss,
            ),
        ];
        for (error, code) in cases {
            let message = error.to_string();
            let status = Status::from(error);
            assert_eq!(status.code(), code);
            if matches!(code, Code::Internal | Code::DataLoss) {
                // Its account goes to the log, not to the caller.
                assert_ne!(status.message(), message);
                assert!(status.message().contains("under reference "));
            } else {
                assert_eq!(status.message(), message);
            }
        }
    }

    #[test]
    fn a_fault_of_the_servers_own_quotes_nothing_it_stored() {
        let stored = "a reader's comment about anna@example.com";
        let status = Status::from(Error::Store(StoreError::Corrupt {
            key: "recent/anna".into(),
            message: format!("expected a list at {stored}"),
        }));
        assert_eq!(status.code(), Code::DataLoss);
        assert!(!status.message().contains(stored), "{}", status.message());
        assert!(!status.message().contains("recent/anna"));
        let status = Status::from(Error::Internal(format!("a check panicked: {stored}")));
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains(stored), "{}", status.message());
        // Each answer has a reference of its own to find its account by.
        let reference = |status: &Status| {
            status
                .message()
                .rsplit_once("under reference ")
                .map(|(_, reference)| reference.to_string())
        };
        let other = Status::from(Error::Internal("x".into()));
        assert!(reference(&status).is_some());
        assert_ne!(reference(&status), reference(&other));
    }

    #[test]
    fn invalid_arguments_name_the_field() {
        let status = Status::from(Error::invalid_argument("author.ip", "is not an IP address"));
        assert_eq!(status.message(), "author.ip is not an IP address");
    }
}
