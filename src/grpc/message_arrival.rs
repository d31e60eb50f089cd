//! A time limit on the arrival of a unary call's request. tonic reads a
//! unary call's whole message, and the end of its request, before its
//! handler runs (and so before the call is admitted), so a client that
//! sends a message slowly, or never finishes it, would hold what it sent
//! in the server's memory for as long as it liked: one connection may
//! carry `admission::ValidAdmissionParams::streams_per_connection` such
//! calls. A call whose request has not arrived within
//! [`limits::MESSAGE_ARRIVAL_LIMIT`](crate::limits::MESSAGE_ARRIVAL_LIMIT)
//! ends with DEADLINE_EXCEEDED, counted in the call metrics; the handler
//! never runs, so nothing is done. Streaming requests (`CheckComments`)
//! are left alone: their messages come when the site has comments, and
//! their idle limit covers them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http_body::{Body as HttpBody, Frame, SizeHint};
use tonic::body::Body;
use tonic::{Code, Status};

use super::auth::{count_call, Access};
use crate::limits::MESSAGE_ARRIVAL_LIMIT;

/// Our methods whose request is one message: their paths and the names
/// the call metrics give them. A unit test checks the list against
/// `service.proto`.
const UNARY_REQUESTS: [(&str, &str); 12] = [
    ("/moderation.v1.Moderation/CheckComment", "CheckComment"),
    ("/moderation.v1.Moderation/GetDecision", "GetDecision"),
    ("/moderation.v1.Moderation/ReportComment", "ReportComment"),
    ("/moderation.v1.Moderation/ForgetComment", "ForgetComment"),
    ("/moderation.v1.Review/ListQueue", "ListQueue"),
    ("/moderation.v1.Review/ResolveItems", "ResolveItems"),
    ("/moderation.v1.Review/GetStats", "GetStats"),
    (
        "/moderation.v1.Review/ExportCorrections",
        "ExportCorrections",
    ),
    ("/moderation.v1.Training/StartRetrain", "StartRetrain"),
    ("/moderation.v1.Training/GetRetrainJob", "GetRetrainJob"),
    ("/moderation.v1.Training/ListModels", "ListModels"),
    ("/moderation.v1.Training/ActivateModel", "ActivateModel"),
];

/// The name of the method at `path` when its request is one message.
fn unary_request(path: &str) -> Option<&'static str> {
    UNARY_REQUESTS
        .iter()
        .find(|(unary_path, _)| *unary_path == path)
        .map(|(_, rpc)| *rpc)
}

/// Puts the arrival limit on the body of a unary call to one of our
/// services (the function of a `tower::util::MapRequestLayer`). Other
/// calls (`CheckComments`, health checking, reflection) keep their bodies
/// as they are.
pub fn limit_message_arrival(
    request: http::Request<Body>,
    access: &Arc<Access>,
) -> http::Request<Body> {
    let Some(rpc) = unary_request(request.uri().path()) else {
        return request;
    };
    let access = Arc::clone(access);
    request.map(|body| {
        Body::new(ArrivalLimited {
            inner: body,
            state: Arrival::Expected,
            limit: Box::pin(tokio::time::sleep(MESSAGE_ARRIVAL_LIMIT)),
            started: Instant::now(),
            rpc,
            access,
        })
    })
}

/// A request body that fails with DEADLINE_EXCEEDED if it has not ended by
/// its limit. Once it has ended, the limit no longer matters.
struct ArrivalLimited {
    inner: Body,
    state: Arrival,
    limit: Pin<Box<tokio::time::Sleep>>,
    /// For the call metrics, if the limit is passed.
    started: Instant,
    rpc: &'static str,
    access: Arc<Access>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Arrival {
    Expected,
    Arrived,
    TooLate,
}

impl ArrivalLimited {
    /// The error that ends the call, counted as the call's end.
    fn too_late(&mut self) -> Status {
        self.state = Arrival::TooLate;
        count_call(
            &self.access.metrics,
            self.rpc,
            Code::DeadlineExceeded,
            self.started,
        );
        tracing::info!(
            rpc = self.rpc,
            "a call's request did not arrive within its limit; the call was ended"
        );
        Status::from(crate::error::Error::DeadlineExceeded(format!(
            "the call's message (and the end of its request) did not arrive within {} s of \
             the call's start",
            MESSAGE_ARRIVAL_LIMIT.as_secs()
        )))
    }
}

impl HttpBody for ArrivalLimited {
    type Data = bytes::Bytes;
    type Error = Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        match this.state {
            Arrival::TooLate => return Poll::Ready(None),
            Arrival::Arrived => return Pin::new(&mut this.inner).poll_frame(context),
            Arrival::Expected => {}
        }
        match Pin::new(&mut this.inner).poll_frame(context) {
            Poll::Ready(frame) => {
                if frame.is_none() || this.inner.is_end_stream() {
                    this.state = Arrival::Arrived;
                } else if this.limit.deadline() <= tokio::time::Instant::now() {
                    // A client that always has more to send is never
                    // pending, so the limit is checked here too.
                    return Poll::Ready(Some(Err(this.too_late())));
                }
                Poll::Ready(frame)
            }
            Poll::Pending => match this.limit.as_mut().poll(context) {
                Poll::Ready(()) => Poll::Ready(Some(Err(this.too_late()))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.state == Arrival::TooLate || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every method of `service.proto` whose request is not a stream has
    /// the limit, and no other: a streaming request added later must not
    /// be cut off after 10 s, nor a new unary one go without the limit.
    #[test]
    fn the_limited_methods_are_the_protos_unary_requests() {
        let proto = include_str!("../../proto/moderation/v1/service.proto");
        let mut service = "";
        let mut unary = Vec::new();
        for line in proto.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("service ") {
                service = rest.split_whitespace().next().unwrap();
            }
            if let Some(rest) = line.strip_prefix("rpc ") {
                let (name, rest) = rest.split_once('(').unwrap();
                if !rest.starts_with("stream ") {
                    unary.push(format!("/moderation.v1.{service}/{name}"));
                }
            }
        }
        let mut limited: Vec<String> = UNARY_REQUESTS
            .iter()
            .map(|(path, rpc)| {
                assert!(path.ends_with(&format!("/{rpc}")), "{path} is not {rpc}");
                path.to_string()
            })
            .collect();
        unary.sort();
        limited.sort();
        assert_eq!(limited, unary);
        assert_eq!(
            unary_request("/moderation.v1.Moderation/CheckComments"),
            None
        );
        assert_eq!(unary_request("/grpc.health.v1.Health/Check"), None);
    }
}
