//! The gRPC edge: the only module that knows prost types. Handlers are thin:
//! authenticate, convert the request (`convert`, which validates), call the
//! engine, convert the answer back. Errors become `tonic::Status` in
//! `status`.

mod auth;
pub mod client;
mod codec;
mod comment_stream;
mod convert;
mod convert_review;
mod convert_training;
mod message_arrival;
mod moderation;
pub(crate) mod page_token;
mod review;
mod status;
mod training;
pub mod training_client;

pub use auth::{Access, Caller, KnownKeysOnly};
pub use convert::check_decision_id;
pub(crate) use message_arrival::limit_message_arrival;
pub use moderation::ModerationService;
pub use review::ReviewService;
pub use training::TrainingService;

/// The generated protobuf types and service stubs of `moderation.v1`.
pub mod pb {
    tonic::include_proto!("moderation.v1");

    /// The encoded descriptors of our protos, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/moderation_v1_descriptor.bin"));
}
