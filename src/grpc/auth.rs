//! Reads the bearer key of a call, finds who is calling and admits the
//! call (see `admission`).

use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use arc_swap::ArcSwap;
use tonic::{Code, Request, Response, Status, Streaming};

use crate::admission::{Admission, Permit};
use crate::auth::{Keyring, Principal, Service};
use crate::error::Error;
use crate::grpc::pb;
use crate::limits::STREAM_WINDOW_BYTES;
use crate::metrics::Metrics;

/// Who may call, how many calls may run, and what is counted of them:
/// what every handler goes through.
pub struct Access {
    /// The keys in force; SIGHUP can replace them (see
    /// `server::reload`), and a call authenticates against the keys of
    /// the moment it arrives.
    pub keyring: ArcSwap<Keyring>,
    pub admission: Admission,
    pub metrics: Metrics,
}

/// Runs a handler's body and counts the call: its RPC, status code and
/// time.
pub async fn observed<T>(
    metrics: &Metrics,
    rpc: &'static str,
    call: impl Future<Output = Result<Response<T>, Status>>,
) -> Result<Response<T>, Status> {
    let started = Instant::now();
    let result = call.await;
    let code = match &result {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    };
    count_call(metrics, rpc, code, started);
    result
}

/// A boxed stream of answers, as the streaming RPCs return them.
pub type AnswerStream<T> = std::pin::Pin<Box<dyn futures::Stream<Item = Result<T, Status>> + Send>>;

/// [`observed`] for a call that answers with a stream: a call refused
/// before its stream opened is counted at once; one that opened is counted
/// when its stream ends, with the status that ended it (`Cancelled` when
/// the client went away first) and its whole duration.
pub async fn observed_stream<T: Send + 'static>(
    access: &Arc<Access>,
    rpc: &'static str,
    call: impl Future<Output = Result<Response<AnswerStream<T>>, Status>>,
) -> Result<Response<AnswerStream<T>>, Status> {
    let started = Instant::now();
    match call.await {
        Err(status) => {
            count_call(&access.metrics, rpc, status.code(), started);
            Err(status)
        }
        Ok(response) => Ok(response.map(|answers| {
            Box::pin(ObservedStream {
                answers,
                access: Arc::clone(access),
                rpc,
                started,
                counted: false,
            }) as AnswerStream<T>
        })),
    }
}

pub(super) fn count_call(metrics: &Metrics, rpc: &'static str, code: Code, started: Instant) {
    let elapsed = started.elapsed();
    // One line per call at debug; the caller's token and the comment's
    // author never appear in logs.
    metrics.record_call(rpc, &format!("{code:?}"), elapsed);
    tracing::debug!(rpc, code = ?code, micros = elapsed.as_micros() as u64, "call");
}

/// A stream of answers that counts its call once, when it ends.
struct ObservedStream<T> {
    answers: AnswerStream<T>,
    access: Arc<Access>,
    rpc: &'static str,
    started: Instant,
    counted: bool,
}

impl<T> ObservedStream<T> {
    fn count(&mut self, code: Code) {
        if !self.counted {
            self.counted = true;
            count_call(&self.access.metrics, self.rpc, code, self.started);
        }
    }
}

impl<T> futures::Stream for ObservedStream<T> {
    type Item = Result<T, Status>;

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Self::Item>> {
        // Every field is Unpin (the answers are boxed).
        let this = self.get_mut();
        let next = futures::ready!(this.answers.as_mut().poll_next(context));
        match &next {
            Some(Ok(_)) => {}
            Some(Err(status)) => this.count(status.code()),
            None => this.count(Code::Ok),
        }
        std::task::Poll::Ready(next)
    }
}

impl<T> Drop for ObservedStream<T> {
    fn drop(&mut self) {
        self.count(Code::Cancelled);
    }
}

/// An admitted call's principal. It holds the call's place among those in
/// progress until it is dropped, with the call (or with its stream).
pub struct Caller {
    principal: Principal,
    _permit: Permit,
}

impl Deref for Caller {
    type Target = Principal;

    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl Access {
    /// The keys in force now, to tell later whether a reload replaced
    /// them.
    pub fn keys(&self) -> Arc<Keyring> {
        self.keyring.load_full()
    }

    /// Whether a reload replaced the keys since `keys` were read.
    pub fn keys_replaced_since(&self, keys: &Arc<Keyring>) -> bool {
        !Arc::ptr_eq(keys, &self.keyring.load())
    }

    /// Authenticates a unary call, then admits it or refuses it with
    /// RESOURCE_EXHAUSTED. Unknown keys are refused before they can use up
    /// anyone's rate. While it waits for a place, the call holds its
    /// request, which counts against the waiting room's bytes.
    pub async fn admit<T: HeldWhileWaiting>(
        &self,
        request: &Request<T>,
        service: Service,
    ) -> Result<Caller, Error> {
        let bytes = request.get_ref().held_bytes();
        self.admit_with(|keys| principal(keys, request), service, bytes)
            .await
    }

    /// [`Access::admit`] for a stream of requests: the stream waits for its
    /// place before its first message is read, but the transport may hold
    /// what its client sent meanwhile, up to the stream's window
    /// (`limits::STREAM_WINDOW_BYTES`), which is what it counts against
    /// the waiting room's bytes.
    pub async fn admit_stream<T>(
        &self,
        request: &Request<Streaming<T>>,
        service: Service,
    ) -> Result<Caller, Error> {
        self.admit_with(
            |keys| principal(keys, request),
            service,
            STREAM_WINDOW_BYTES as usize,
        )
        .await
    }

    /// [`Access::admit`] for a bearer token read elsewhere (the console,
    /// which admits a call before it reads the request's body).
    pub async fn admit_token(&self, token: &str, service: Service) -> Result<Caller, Error> {
        self.admit_with(|keys| keys.authenticate(token), service, 0)
            .await
    }

    /// Admits the key `authenticate` finds, if it may use `service`. The
    /// role is checked first: a key outside it gets PERMISSION_DENIED
    /// whatever its arguments hold, and neither uses up its rate nor waits
    /// for a place. A reload during the wait may have removed the key or
    /// changed it: the call is then authenticated again under the keys in
    /// force, so that a removed key is refused before it does anything.
    async fn admit_with(
        &self,
        authenticate: impl Fn(&Keyring) -> Result<Principal, Error>,
        service: Service,
        request_bytes: usize,
    ) -> Result<Caller, Error> {
        let keys = self.keys();
        let principal = authenticate(&keys)?;
        principal.require(service)?;
        let permit = self.admission.admit(&principal.name, request_bytes).await?;
        let principal = if self.keys_replaced_since(&keys) {
            let principal = authenticate(&self.keyring.load())?;
            principal.require(service)?;
            principal
        } else {
            principal
        };
        Ok(Caller {
            principal,
            _permit: permit,
        })
    }
}

/// A request as it is held in memory while its call waits for a place: the
/// message itself and what its fields point to. Decoded text takes about
/// its encoded bytes, plus a `String` for each element of a repeated field,
/// which a few bytes on the wire can make (an empty `decision_id` is two
/// bytes encoded and 24 in memory); the other fields are in the message.
pub trait HeldWhileWaiting: prost::Message + Sized {
    fn held_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.encoded_len()
    }
}

impl HeldWhileWaiting for pb::CheckCommentRequest {}
impl HeldWhileWaiting for pb::GetDecisionRequest {}
impl HeldWhileWaiting for pb::ReportCommentRequest {}
impl HeldWhileWaiting for pb::ForgetCommentRequest {}
impl HeldWhileWaiting for pb::ListQueueRequest {}
impl HeldWhileWaiting for pb::ExportCorrectionsRequest {}
impl HeldWhileWaiting for pb::GetStatsRequest {}
impl HeldWhileWaiting for pb::StartRetrainRequest {}
impl HeldWhileWaiting for pb::GetRetrainJobRequest {}
impl HeldWhileWaiting for pb::ListModelsRequest {}
impl HeldWhileWaiting for pb::ActivateModelRequest {}

impl HeldWhileWaiting for pb::ResolveItemsRequest {
    fn held_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + prost::Message::encoded_len(self)
            + self.decision_ids.len() * std::mem::size_of::<String>()
    }
}

/// Refuses a call without a valid key for its service from its headers,
/// before its message is read: tonic reads and decodes a message (up to
/// 512 KiB) before the handler runs, so without this a caller with no key
/// could make the server read as much as it liked, and a key of another
/// role would learn that its message was too large or malformed before
/// being told it may not call the service at all. The handler
/// authenticates the call again and admits it. Calls refused here are
/// counted in the metrics under `rpc="any"`, since the headers do not say
/// which call it was.
#[derive(Clone)]
pub struct KnownKeysOnly {
    access: Arc<Access>,
    service: Service,
}

impl KnownKeysOnly {
    /// The guard in front of `service`.
    pub fn new(access: Arc<Access>, service: Service) -> KnownKeysOnly {
        KnownKeysOnly { access, service }
    }
}

impl tonic::service::Interceptor for KnownKeysOnly {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let started = Instant::now();
        let allowed = principal(&self.access.keyring.load(), &request)
            .and_then(|caller| caller.require(self.service));
        match allowed {
            Ok(()) => Ok(request),
            Err(error) => {
                let status = Status::from(error);
                count_call(&self.access.metrics, "any", status.code(), started);
                Err(status)
            }
        }
    }
}

/// The principal behind `authorization: Bearer <token>`.
pub fn principal<T>(keyring: &Keyring, request: &Request<T>) -> Result<Principal, Error> {
    let header = request
        .metadata()
        .get("authorization")
        .ok_or(Error::Unauthenticated)?
        .to_str()
        .map_err(|_| Error::Unauthenticated)?;
    let (scheme, token) = header.split_once(' ').ok_or(Error::Unauthenticated)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Error::Unauthenticated);
    }
    keyring.authenticate(token.trim())
}
