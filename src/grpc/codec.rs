//! The codec of the generated services and clients: prost's, except that a
//! message that does not decode is `INVALID_ARGUMENT` (the sender's mistake,
//! which prost names down to the field, such as "CheckCommentRequest.content:
//! invalid string value") rather than tonic's `INTERNAL`, which reads as a
//! fault of the server's and invites retries that cannot succeed.
//!
//! The same codec serves the command line's clients, where a message that
//! does not decode is a server's answer: rare, and still named precisely.

use std::marker::PhantomData;

use tonic::codec::{BufferSettings, DecodeBuf, Decoder};
use tonic::Status;
use tonic_prost::{ProstCodec, ProstDecoder, ProstEncoder};

/// Prost's codec with [`MessageDecoder`]. Named in `build.rs`
/// (`codec_path`), which makes the generated code build it by `Default`.
#[derive(Debug, Clone)]
pub struct MessageCodec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for MessageCodec<T, U> {
    fn default() -> Self {
        MessageCodec(PhantomData)
    }
}

impl<T, U> tonic::codec::Codec for MessageCodec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = ProstEncoder<T>;
    type Decoder = MessageDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        ProstCodec::<T, U>::default().encoder()
    }

    fn decoder(&mut self) -> Self::Decoder {
        MessageDecoder(ProstCodec::<T, U>::default().decoder())
    }
}

/// Prost's decoder, with its failures made `INVALID_ARGUMENT`.
#[derive(Debug, Clone)]
pub struct MessageDecoder<U>(ProstDecoder<U>);

impl<U: prost::Message + Default> Decoder for MessageDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buffer: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0
            .decode(buffer)
            .map_err(|status| undecodable(status.message()))
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

/// The status of a message that does not decode, from prost's account.
/// (Tested through the service: `tests/validation.rs` sends bytes that
/// do not decode.)
fn undecodable(account: &str) -> Status {
    Status::from(crate::error::Error::invalid_argument(
        "the message",
        format!("does not decode: {account}"),
    ))
}
