//! A time limit on the arrival of a unary call's message. tonic reads a
//! unary call's whole message before its handler runs (and so before the
//! call is admitted), so a client that sends a message slowly, or never
//! finishes it, would hold what it sent in the server's memory for as long
//! as it liked: one connection may carry
//! `admission::ValidAdmissionParams::streams_per_connection` such calls.
//! A call whose message has not arrived within
//! [`limits::MESSAGE_ARRIVAL_LIMIT`](crate::limits::MESSAGE_ARRIVAL_LIMIT)
//! ends with DEADLINE_EXCEEDED; the handler never runs, so nothing is done.
//! Streaming requests (`CheckComments`) are left alone: their messages come
//! when the site has comments, and their idle limit covers them.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::body::Body;
use tonic::Status;

use crate::limits::MESSAGE_ARRIVAL_LIMIT;

/// The methods of our services whose requests are streams.
const STREAMING_REQUESTS: [&str; 1] = ["/moderation.v1.Moderation/CheckComments"];

/// Puts the arrival limit on the body of a unary call to one of our
/// services (a `tower::util::MapRequestLayer` function). Health checking
/// and reflection, which are not ours, keep their bodies as they are.
pub fn limit_message_arrival(request: http::Request<Body>) -> http::Request<Body> {
    let path = request.uri().path();
    if !path.starts_with("/moderation.v1.") || STREAMING_REQUESTS.contains(&path) {
        return request;
    }
    request.map(|body| {
        Body::new(ArrivalLimited {
            inner: body,
            arrived: false,
            limit: Box::pin(tokio::time::sleep(MESSAGE_ARRIVAL_LIMIT)),
        })
    })
}

/// A request body that fails with DEADLINE_EXCEEDED if it has not ended by
/// its limit. Once it has ended, the limit no longer matters.
struct ArrivalLimited {
    inner: Body,
    arrived: bool,
    limit: Pin<Box<tokio::time::Sleep>>,
}

impl HttpBody for ArrivalLimited {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(context) {
            Poll::Ready(frame) => {
                if frame.is_none() || this.inner.is_end_stream() {
                    this.arrived = true;
                }
                Poll::Ready(frame)
            }
            Poll::Pending if this.arrived => Poll::Pending,
            Poll::Pending => match this.limit.as_mut().poll(context) {
                Poll::Ready(()) => {
                    // Answered once: the call ends with this error.
                    this.arrived = true;
                    Poll::Ready(Some(Err(Status::deadline_exceeded(format!(
                        "the call's message did not arrive within {} s of the call's start",
                        MESSAGE_ARRIVAL_LIMIT.as_secs()
                    )))))
                }
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
