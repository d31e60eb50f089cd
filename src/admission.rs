//! Overload protection: how many calls may be in progress at once, in all
//! and of one key, and how fast each key may call. A call over its key's
//! rate is refused at once with RESOURCE_EXHAUSTED. A call that finds
//! every place taken (its key's or everyone's) may wait a
//! bounded time for one (by default at most 300 ms, with at most 4,096
//! calls, holding at most 64 MiB of requests, waiting: this absorbs the
//! bursts a pause of the server makes), then is
//! refused too, instead of waiting in a queue that only grows: under twice
//! its capacity the service keeps answering the calls it takes within their
//! deadline, and recovers as soon as the load drops.
//! `AdmissionParams` -> `check()` -> `ValidAdmissionParams`; the `[limits]`
//! table of the configuration sets them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::connection_limit::{ConnectionFigures, ConnectionLimit};
use crate::error::Error;

/// `[limits]` as written.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdmissionParams {
    /// Calls in progress at once, all keys together (a `CheckComments`
    /// stream counts as one call while it is open). A unary call holds its
    /// place until it is answered, its flush included: when places were
    /// given back before the flush, they no longer bounded the calls the
    /// server worked on (measured: under twice the capacity every call was
    /// admitted, none was answered in time, and memory grew past 1.6 GiB).
    pub max_concurrent_calls: usize,
    /// Calls in progress at once of one key; 0 means no cap of its own.
    /// Keeps one key (a site flooding the service, or holding streams open)
    /// from taking every place, so that moderators and other sites still
    /// get in.
    pub max_concurrent_calls_per_key: usize,
    /// How long a call may wait for a place when all are taken, in
    /// milliseconds; 0 refuses it at once.
    pub max_wait_ms: u64,
    /// Calls that may wait for a place at once; beyond, a call is refused
    /// at once. Bounds the memory that waiting calls hold besides their
    /// requests (the call's state in the transport and the handler).
    pub max_waiting_calls: usize,
    /// Bytes of requests (as `grpc::auth::HeldWhileWaiting` counts them)
    /// that the calls waiting for a place may hold at once; a call whose request would take the waiting calls
    /// past it is refused at once. Bounds the memory that waiting requests
    /// hold, whatever their sizes, so that the waiting room can be sized
    /// for the bursts of small comments a pause makes.
    pub max_waiting_bytes: usize,
    /// Calls per second each key may make on average; 0 means no limit.
    pub calls_per_second_per_key: f64,
    /// Calls a key may make at once after a quiet spell; 0 means one
    /// second's worth of `calls_per_second_per_key`.
    pub burst_per_key: f64,
    /// How long a `CheckComments` stream may stay open with no comment
    /// arriving, in milliseconds; then it is ended with DEADLINE_EXCEEDED
    /// and its place freed, so idle streams cannot hold places forever.
    pub stream_idle_ms: u64,
    /// gRPC connections open at once, all clients together; one more is
    /// closed as soon as it is accepted (see `connection_limit`).
    pub max_connections: usize,
    /// gRPC connections open at once from one client address (an IPv6 /64
    /// counting as one); 0 means no cap of its own (for clients that all
    /// come through one proxy).
    pub max_connections_per_address: usize,
}

impl Default for AdmissionParams {
    fn default() -> Self {
        AdmissionParams {
            // Measured: on two cores the service answers about as many
            // calls per second with 32 to 64 in progress as with more, and
            // each extra one only waits; 64 keeps every answered call far
            // inside a one-second deadline under twice the capacity.
            max_concurrent_calls: 64,
            // Half the places: a single site measured as fast at 32 calls
            // in progress as at 64, and the other half stays for the rest.
            max_concurrent_calls_per_key: 32,
            // Measured: at half the capacity, sled sometimes pauses the
            // writer for up to about 300 ms (most often in the minutes after
            // a burst at full capacity), and the calls that arrive meanwhile
            // find every place taken. Waiting up to 300 ms, with room for
            // 300 ms of calls (below), absorbs that; under twice the capacity a
            // call that waited the whole time is still answered inside a
            // one-second deadline. With 100 ms and 256, soaks at half the
            // capacity shed a few calls (5 to 23 in 800,000) in such pauses.
            //
            // The room is counted in calls and in the bytes of their
            // requests. A room of 512 calls was 300 ms of calls at half the
            // capacity of 2026-11-28 (3,400 calls a second); at half of
            // 11,000 a second one key's share (256) was about 45 ms of its
            // calls,
            // and soaks at half the capacity shed calls in short pauses
            // with the message "256 of its calls already waiting". 4,096
            // calls (2,048 for one key) are 300 ms of one key's calls at
            // 6,800 a second; counted in calls alone, that room could hold
            // 2 GiB of the largest requests, so the bytes bound it: 64 MiB
            // is 4,096 comments of 16 KiB, or 128 of the largest requests.
            max_wait_ms: 300,
            max_waiting_calls: 4_096,
            max_waiting_bytes: 64 * 1024 * 1024,
            calls_per_second_per_key: 0.0,
            burst_per_key: 0.0,
            // A site that streams its comments as they come sends one at
            // least every few seconds on a busy day; a minute of silence
            // means a stream left open, which should give its place back.
            stream_idle_ms: 60_000,
            // gRPC multiplexes calls: a website's server process needs one
            // connection, and a site of several servers with a pool of
            // worker processes each (PHP-FPM keeps one per worker) a few
            // hundred. With the console's and the metrics' listeners at
            // their limits the service needs 2,112 open files
            // (`connection_limit::files_needed`), which `moderato serve`
            // asks of the system.
            max_connections: 512,
            // A quarter: one host (or a client that leaks connections)
            // cannot take every place from the other sites.
            max_connections_per_address: 128,
        }
    }
}

/// The most calls in progress or waiting that can be configured; far above
/// what two cores serve, and far below what a semaphore can count.
const MAX_CALLS: usize = 1_000_000;

/// The most gRPC connections that can be configured: far beyond what a
/// process may usually open.
const MAX_CONNECTIONS: usize = 1_000_000;

/// The most bytes of waiting requests that can be configured (64 GiB): far
/// above any machine this runs on, and below what a semaphore counts on a
/// 64-bit machine (`check` holds it to that on others).
const MAX_WAITING_BYTES: u64 = 64 * 1024 * 1024 * 1024;

/// Admission parameters that passed [`AdmissionParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidAdmissionParams(AdmissionParams);

impl AdmissionParams {
    /// Checks the values; the error names the key.
    pub fn check(self) -> Result<ValidAdmissionParams, (&'static str, &'static str)> {
        if !(1..=MAX_CALLS).contains(&self.max_concurrent_calls) {
            return Err(("max_concurrent_calls", "must be from 1 to 1000000"));
        }
        if self.max_concurrent_calls_per_key > MAX_CALLS {
            return Err((
                "max_concurrent_calls_per_key",
                "must be from 0 (no cap of its own) to 1000000",
            ));
        }
        if self.max_waiting_calls > MAX_CALLS {
            return Err(("max_waiting_calls", "must be at most 1000000"));
        }
        if self.max_waiting_bytes as u64 > MAX_WAITING_BYTES
            || self.max_waiting_bytes > Semaphore::MAX_PERMITS
        {
            return Err(("max_waiting_bytes", "must be at most 68719476736 (64 GiB)"));
        }
        if self.max_wait_ms > 60_000 {
            return Err(("max_wait_ms", "must be at most 60000 (a minute)"));
        }
        if !(self.calls_per_second_per_key >= 0.0 && self.calls_per_second_per_key.is_finite()) {
            return Err(("calls_per_second_per_key", "must be 0 (no limit) or more"));
        }
        // A burst without a rate would limit nothing.
        if self.burst_per_key != 0.0 && self.calls_per_second_per_key == 0.0 {
            return Err((
                "burst_per_key",
                "needs calls_per_second_per_key: without a rate no key is limited",
            ));
        }
        // A bucket that holds less than one call would refuse every call.
        if !(self.burst_per_key == 0.0
            || self.burst_per_key >= 1.0 && self.burst_per_key.is_finite())
        {
            return Err((
                "burst_per_key",
                "must be 0 (one second's worth, at least one call) or at least 1",
            ));
        }
        if !(1..=86_400_000).contains(&self.stream_idle_ms) {
            return Err(("stream_idle_ms", "must be from 1 to 86400000 (a day)"));
        }
        if !(1..=MAX_CONNECTIONS).contains(&self.max_connections) {
            return Err(("max_connections", "must be from 1 to 1000000"));
        }
        if self.max_connections_per_address > self.max_connections {
            return Err((
                "max_connections_per_address",
                "must be from 0 (no cap of its own) to max_connections",
            ));
        }
        Ok(ValidAdmissionParams(self))
    }
}

impl ValidAdmissionParams {
    /// Calls (HTTP/2 streams) one gRPC connection may have open at once:
    /// as many as admission lets in progress and wait, and as many again
    /// as in progress, so that a connection that carries every call the
    /// server holds still brings it the next ones to shed (and has room
    /// for health checks). A client's further calls on that connection
    /// wait in the client for one to end.
    ///
    /// Why not fewer: with a bound below what admission lets wait, a client
    /// on one connection that sends more than the server can take queues
    /// its calls in its own process, where their deadlines run out (measured
    /// with 1,024 and a room of 2,048 calls for one key: under twice the
    /// capacity nothing was shed, 216,583 calls passed their deadline, and
    /// 1,358 a second were answered instead of about 6,000 to 6,600).
    ///
    /// Why not more: a unary call's message is read before the call is
    /// admitted, so one connection can make the server hold this many
    /// messages being received (each up to `limits::MAX_MESSAGE_BYTES`),
    /// and their callers need a valid key (`grpc::auth::KnownKeysOnly`).
    /// Lowering the waiting room lowers it.
    pub fn streams_per_connection(&self) -> u32 {
        let calls = 2 * self.0.max_concurrent_calls + self.0.max_waiting_calls;
        u32::try_from(calls).unwrap_or(u32::MAX)
    }
}

impl ValidAdmissionParams {
    /// gRPC connections open at once, at most.
    pub fn max_connections(&self) -> usize {
        self.0.max_connections
    }
}

impl Default for ValidAdmissionParams {
    fn default() -> Self {
        AdmissionParams::default()
            .check()
            .expect("the default limits are valid")
    }
}

/// A key's token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    refilled_at: Instant,
}

/// See the module docs.
#[derive(Debug)]
pub struct Admission {
    params: ValidAdmissionParams,
    in_progress: Arc<Semaphore>,
    /// Places for calls waiting for a place in progress.
    waiting: Semaphore,
    /// The bytes of requests those calls may hold, one permit a byte.
    waiting_bytes: Semaphore,
    /// Per key name. A std mutex: held for one arithmetic update, never
    /// across an await.
    buckets: Mutex<HashMap<String, Bucket>>,
    /// Each key's own places, and its share of the places to wait in, by
    /// key name (created at its first call; keys come from the
    /// configuration, so the map stays small). A std mutex: held for a
    /// lookup, never across an await.
    key_places: Mutex<HashMap<String, KeyPlaces>>,
    /// The gRPC listener's connections (see `connection_limit`).
    connections: Arc<ConnectionLimit>,
}

/// A key's own places among the calls in progress, and the places its
/// calls may wait in for one of them: a share of the waiting room (its
/// calls and its bytes) in proportion to its share of the places, so that
/// one key at its limit cannot fill the waiting room and have every other
/// key's calls refused at once (as `max_concurrent_calls_per_key` keeps it
/// from taking every place in progress).
#[derive(Debug, Clone)]
struct KeyPlaces {
    places: Arc<Semaphore>,
    waiting: Arc<Semaphore>,
    waiting_bytes: Arc<Semaphore>,
}

/// The waiting room a call may wait in: everyone's, or a key's share.
struct WaitingRoom<'a> {
    calls: &'a Semaphore,
    bytes: &'a Semaphore,
    /// The room's size, to word a refusal.
    most_calls: usize,
    most_bytes: usize,
    /// Whose room it is, to word a refusal.
    whose: Whose,
}

#[derive(Clone, Copy)]
enum Whose {
    Key,
    Everyone,
}

impl KeyPlaces {
    fn waiting_room(&self, params: &AdmissionParams) -> WaitingRoom<'_> {
        WaitingRoom {
            calls: &self.waiting,
            bytes: &self.waiting_bytes,
            most_calls: key_waiting_share(params),
            most_bytes: key_waiting_bytes_share(params),
            whose: Whose::Key,
        }
    }
}

/// The places a waiting call holds in one waiting room; dropping them
/// frees them.
struct WaitingPlace<'a> {
    _call: tokio::sync::SemaphorePermit<'a>,
    _bytes: tokio::sync::SemaphorePermit<'a>,
}

impl<'a> WaitingRoom<'a> {
    /// A place for a call whose request holds `request_bytes`, at once or
    /// not at all; the error says which bound is full.
    fn enter(&self, request_bytes: usize) -> Result<WaitingPlace<'a>, String> {
        let (calls, requests, room) = match self.whose {
            Whose::Key => (
                "of its calls",
                "its waiting calls' requests",
                "its share of the",
            ),
            Whose::Everyone => ("calls", "the waiting calls' requests", "the whole"),
        };
        if request_bytes > self.most_bytes {
            return Err(format!(
                "and its request of {request_bytes} bytes is larger than {room} \
                 waiting room ({} bytes), so it cannot wait",
                self.most_bytes
            ));
        }
        let call = self
            .calls
            .try_acquire()
            .map_err(|_| format!("and {} {calls} already waiting", self.most_calls))?;
        let bytes = u32::try_from(request_bytes)
            .ok()
            .and_then(|bytes| self.bytes.try_acquire_many(bytes).ok())
            .ok_or_else(|| {
                format!(
                    "and its request of {request_bytes} bytes does not fit beside \
                     {requests} (at most {} bytes in all)",
                    self.most_bytes
                )
            })?;
        Ok(WaitingPlace {
            _call: call,
            _bytes: bytes,
        })
    }
}

/// A call's places among those in progress, its key's and everyone's;
/// dropping it frees them.
#[derive(Debug)]
pub struct Permit {
    _key_place: Option<OwnedSemaphorePermit>,
    _place: OwnedSemaphorePermit,
}

/// Admission's state at one moment, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdmissionFigures {
    /// Calls holding a place among the calls in progress (a stream's
    /// further comments included).
    pub calls_in_progress: usize,
    /// Calls waiting for a place.
    pub calls_waiting: usize,
    /// Bytes of requests those calls hold, as admission counts them.
    pub waiting_bytes: usize,
    /// The gRPC listener's connections.
    pub connections: ConnectionFigures,
}

/// How many of a key's calls may wait for one of its own places at once:
/// its share of `max_waiting_calls`, as `max_concurrent_calls_per_key` is
/// its share of `max_concurrent_calls` (at least one).
pub fn key_waiting_share(params: &AdmissionParams) -> usize {
    key_share(params, params.max_waiting_calls).max(1)
}

/// How many bytes of requests a key's waiting calls may hold: its share of
/// `max_waiting_bytes`, in the same proportion.
pub fn key_waiting_bytes_share(params: &AdmissionParams) -> usize {
    key_share(params, params.max_waiting_bytes)
}

/// A key's share of `total`: `max_concurrent_calls_per_key` of every
/// `max_concurrent_calls`, at most the whole.
fn key_share(params: &AdmissionParams, total: usize) -> usize {
    let share = total as u128 * params.max_concurrent_calls_per_key as u128
        / params.max_concurrent_calls.max(1) as u128;
    usize::try_from(share).unwrap_or(usize::MAX).min(total)
}

impl Admission {
    pub fn new(params: ValidAdmissionParams) -> Admission {
        Admission {
            in_progress: Arc::new(Semaphore::new(params.0.max_concurrent_calls)),
            waiting: Semaphore::new(params.0.max_waiting_calls),
            waiting_bytes: Semaphore::new(params.0.max_waiting_bytes),
            buckets: Mutex::new(HashMap::new()),
            key_places: Mutex::new(HashMap::new()),
            connections: Arc::new(ConnectionLimit::new(
                params.0.max_connections,
                params.0.max_connections_per_address,
            )),
            params,
        }
    }

    /// The places of the gRPC listener's connections.
    pub fn connections(&self) -> Arc<ConnectionLimit> {
        Arc::clone(&self.connections)
    }

    /// Admits a call of the key named `key_name`, whose request holds
    /// `request_bytes` while it waits, waiting at most `max_wait_ms` in
    /// all for a place of its key's and one of everyone's, or refuses it
    /// with RESOURCE_EXHAUSTED saying which limit it hit.
    pub async fn admit(&self, key_name: &str, request_bytes: usize) -> Result<Permit, Error> {
        self.take_token(key_name, Instant::now())?;
        let admitted = self.take_places(key_name, request_bytes).await;
        // A call refused for want of a place did nothing: it costs its key
        // no call of its rate, or a client's retries under overload would
        // be refused by the rate limit as well.
        if admitted.is_err() {
            self.refund_token(key_name);
        }
        admitted
    }

    /// The places of an admitted call: its key's and one of everyone's.
    async fn take_places(&self, key_name: &str, request_bytes: usize) -> Result<Permit, Error> {
        let params = &self.params.0;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(params.max_wait_ms);
        let key_place = match self.places_of(key_name) {
            Some(key) => Some(
                self.place(
                    Arc::clone(&key.places),
                    Some(key.waiting_room(params)),
                    request_bytes,
                    deadline,
                    |how| {
                        Error::ResourceExhausted(format!(
                            "key {key_name:?} is at its limit of {} calls in progress ({how}); \
                         retry shortly",
                            params.max_concurrent_calls_per_key
                        ))
                    },
                )
                .await?,
            ),
            None => None,
        };
        let place = self
            .place(
                Arc::clone(&self.in_progress),
                None,
                request_bytes,
                deadline,
                |how| {
                    Error::ResourceExhausted(format!(
                        "the server is at its limit of {} calls in progress ({how}); retry shortly",
                        params.max_concurrent_calls
                    ))
                },
            )
            .await?;
        Ok(Permit {
            _key_place: key_place,
            _place: place,
        })
    }

    /// The key's own places, or `None` when keys have no cap of their own.
    fn places_of(&self, key_name: &str) -> Option<KeyPlaces> {
        let params = &self.params.0;
        let cap = params.max_concurrent_calls_per_key;
        if cap == 0 {
            return None;
        }
        let mut places = self
            .key_places
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        Some(
            places
                .entry(key_name.to_string())
                .or_insert_with(|| KeyPlaces {
                    places: Arc::new(Semaphore::new(cap)),
                    waiting: Arc::new(Semaphore::new(key_waiting_share(params))),
                    waiting_bytes: Arc::new(Semaphore::new(key_waiting_bytes_share(params))),
                })
                .clone(),
        )
    }

    /// A place of `places`, at once or after waiting until `deadline` in a
    /// place of the waiting room (and of `key_waiting`, the key's share of
    /// it, when waiting for a place of the key's own) for a request of
    /// `request_bytes`; `refuse` words the refusal.
    async fn place(
        &self,
        places: Arc<Semaphore>,
        key_waiting: Option<WaitingRoom<'_>>,
        request_bytes: usize,
        deadline: tokio::time::Instant,
        refuse: impl Fn(String) -> Error,
    ) -> Result<OwnedSemaphorePermit, Error> {
        if let Ok(permit) = Arc::clone(&places).try_acquire_owned() {
            return Ok(permit);
        }
        let params = &self.params.0;
        if params.max_wait_ms == 0 {
            return Err(refuse("calls do not wait".to_string()));
        }
        let _key_waiting = match &key_waiting {
            Some(room) => Some(room.enter(request_bytes).map_err(&refuse)?),
            None => None,
        };
        let everyone = WaitingRoom {
            calls: &self.waiting,
            bytes: &self.waiting_bytes,
            most_calls: params.max_waiting_calls,
            most_bytes: params.max_waiting_bytes,
            whose: Whose::Everyone,
        };
        let _waiting = everyone.enter(request_bytes).map_err(&refuse)?;
        // The semaphore is fair: waiting calls get places in their order.
        match tokio::time::timeout_at(deadline, places.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            // The semaphore is never closed; a closed one refuses as well.
            Ok(Err(_)) | Err(_) => Err(refuse(format!("waited {} ms", params.max_wait_ms))),
        }
    }

    /// A place among the calls in progress (and one of the key's own, when
    /// keys have a cap), taken at once or not at all: what a
    /// `CheckComments` stream holds for each comment it has in flight
    /// beyond the first (see `grpc::comment_stream`). It never waits and
    /// never refuses, so a stream slows down under load instead of failing,
    /// and never counts among the calls waiting for a place.
    pub fn spare_place(&self, key_name: &str) -> Option<Permit> {
        let key_place = match self.places_of(key_name) {
            Some(key) => Some(key.places.try_acquire_owned().ok()?),
            None => None,
        };
        let place = Arc::clone(&self.in_progress).try_acquire_owned().ok()?;
        Some(Permit {
            _key_place: key_place,
            _place: place,
        })
    }

    /// How many calls are in progress and waiting now.
    pub fn figures(&self) -> AdmissionFigures {
        let params = &self.params.0;
        AdmissionFigures {
            calls_in_progress: params.max_concurrent_calls - self.in_progress.available_permits(),
            calls_waiting: params.max_waiting_calls - self.waiting.available_permits(),
            waiting_bytes: params.max_waiting_bytes - self.waiting_bytes.available_permits(),
            connections: self.connections.figures(),
        }
    }

    /// Calls one gRPC connection may have open at once (see
    /// [`ValidAdmissionParams::streams_per_connection`]).
    pub fn streams_per_connection(&self) -> u32 {
        self.params.streams_per_connection()
    }

    /// How long a stream may wait for its next comment.
    pub fn stream_idle_limit(&self) -> Duration {
        Duration::from_millis(self.params.0.stream_idle_ms)
    }

    /// Charges one call to the key's rate, as each comment of a stream
    /// after its first does (the stream's own admission paid for the
    /// first): a stream is not a way around the rate limit.
    pub fn charge(&self, key_name: &str) -> Result<(), Error> {
        self.take_token(key_name, Instant::now())
    }

    /// The most calls a key's bucket holds.
    fn burst(&self) -> f64 {
        if self.params.0.burst_per_key > 0.0 {
            self.params.0.burst_per_key
        } else {
            self.params.0.calls_per_second_per_key.max(1.0)
        }
    }

    /// Gives back the call [`Admission::take_token`] took.
    fn refund_token(&self, key_name: &str) {
        if self.params.0.calls_per_second_per_key == 0.0 {
            return;
        }
        let burst = self.burst();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if let Some(bucket) = buckets.get_mut(key_name) {
            bucket.tokens = (bucket.tokens + 1.0).min(burst);
        }
    }

    fn take_token(&self, key_name: &str, now: Instant) -> Result<(), Error> {
        let rate = self.params.0.calls_per_second_per_key;
        if rate == 0.0 {
            return Ok(());
        }
        let burst = self.burst();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let bucket = buckets.entry(key_name.to_string()).or_insert(Bucket {
            tokens: burst,
            refilled_at: now,
        });
        let elapsed = now
            .saturating_duration_since(bucket.refilled_at)
            .as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.refilled_at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Error::ResourceExhausted(format!(
                "key {key_name:?} is over its limit of {rate} calls per second; retry shortly"
            )))
        }
    }
}

impl Default for Admission {
    fn default() -> Self {
        Admission::new(ValidAdmissionParams::default())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn admission(max_concurrent_calls: usize, rate: f64, burst: f64) -> Admission {
        Admission::new(
            AdmissionParams {
                max_concurrent_calls,
                max_wait_ms: 0,
                calls_per_second_per_key: rate,
                burst_per_key: burst,
                ..AdmissionParams::default()
            }
            .check()
            .unwrap(),
        )
    }

    #[tokio::test]
    async fn calls_beyond_the_concurrency_limit_are_refused_until_one_ends() {
        let admission = admission(2, 0.0, 0.0);
        let first = admission.admit("a", 0).await.unwrap();
        let _second = admission.admit("b", 0).await.unwrap();
        let refused = admission.admit("a", 0).await.unwrap_err();
        assert!(matches!(refused, Error::ResourceExhausted(_)));
        assert!(
            refused.to_string().contains("2 calls in progress"),
            "{refused}"
        );
        drop(first);
        assert!(admission.admit("a", 0).await.is_ok());
    }

    #[tokio::test]
    async fn a_call_refused_for_want_of_a_place_costs_no_call_of_the_rate() {
        // One place, and a bucket of two calls that does not refill within
        // the test (0.001 calls per second).
        let admission = admission(1, 0.001, 2.0);
        let held = admission.admit("a", 0).await.unwrap();
        for _ in 0..5 {
            let refused = admission.admit("a", 0).await.unwrap_err();
            assert!(
                refused.to_string().contains("calls in progress"),
                "{refused}"
            );
        }
        drop(held);
        // The second call of the bucket is still there.
        assert!(admission.admit("a", 0).await.is_ok());
        let refused = admission.admit("a", 0).await.unwrap_err();
        assert!(
            refused.to_string().contains("calls per second"),
            "{refused}"
        );
    }

    fn waiting_admission(max_wait_ms: u64, max_waiting_calls: usize) -> Arc<Admission> {
        Arc::new(Admission::new(
            AdmissionParams {
                max_concurrent_calls: 1,
                max_wait_ms,
                max_waiting_calls,
                ..AdmissionParams::default()
            }
            .check()
            .unwrap(),
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_waits_for_a_place_until_its_wait_runs_out() {
        let admission = waiting_admission(100, 8);
        let first = admission.admit("a", 0).await.unwrap();
        // Nobody frees the place: refused after the wait, saying so.
        let started = tokio::time::Instant::now();
        let refused = admission.admit("b", 0).await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::from_millis(100));
        assert!(refused.to_string().contains("waited 100 ms"), "{refused}");
        // The place is freed during the wait: the waiting call gets it.
        let waiter = tokio::spawn({
            let admission = Arc::clone(&admission);
            async move { admission.admit("b", 0).await.is_ok() }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        drop(first);
        assert!(waiter.await.unwrap());
    }

    /// Calls waiting for their own key's places wait in that key's share of
    /// the waiting room, so one key at its limit leaves room for the others
    /// to wait for a place among everyone's.
    #[tokio::test(start_paused = true)]
    async fn one_key_at_its_limit_cannot_fill_the_waiting_room() {
        let params = AdmissionParams {
            max_concurrent_calls: 2,
            max_concurrent_calls_per_key: 1,
            max_wait_ms: 1_000,
            max_waiting_calls: 4,
            ..AdmissionParams::default()
        };
        assert_eq!(key_waiting_share(&params), 2);
        let admission = Arc::new(Admission::new(params.check().unwrap()));
        let _first_of_a = admission.admit("a", 0).await.unwrap();
        let first_of_b = admission.admit("b", 0).await.unwrap();
        let wait = |key: &'static str| {
            let admission = Arc::clone(&admission);
            tokio::spawn(async move { admission.admit(key, 0).await })
        };
        // Key a floods: two of its calls wait for its one place, and the
        // next is refused at once, its share being full.
        let waiting_a = [wait("a"), wait("a")];
        tokio::task::yield_now().await;
        let refused = admission.admit("a", 0).await.unwrap_err();
        assert!(refused.to_string().contains("key \"a\""), "{refused}");
        assert!(
            refused
                .to_string()
                .contains("and 2 of its calls already waiting"),
            "{refused}"
        );
        // Keys c and d still get to wait for a place among everyone's
        // (the room's other two places); a fifth waiting call would exceed
        // the room, whichever key it is from.
        let waiting_c = wait("c");
        let waiting_d = wait("d");
        tokio::task::yield_now().await;
        let refused = admission.admit("e", 0).await.unwrap_err();
        assert!(
            refused.to_string().contains("and 4 calls already waiting"),
            "{refused}"
        );
        // b's call ends: c gets its place, then d when c's ends.
        drop(first_of_b);
        let c = waiting_c.await.unwrap().expect("c waited for a place");
        drop(c);
        assert!(waiting_d.await.unwrap().is_ok());
        for waiter in waiting_a {
            assert!(waiter.await.unwrap().is_err(), "nobody freed a's place");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn no_more_calls_wait_than_allowed() {
        let admission = waiting_admission(1_000, 1);
        let _first = admission.admit("a", 0).await.unwrap();
        let waiter = tokio::spawn({
            let admission = Arc::clone(&admission);
            async move { admission.admit("b", 0).await }
        });
        tokio::task::yield_now().await;
        // The one waiting place is taken: refused without waiting.
        let started = tokio::time::Instant::now();
        let refused = admission.admit("c", 0).await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert!(
            refused.to_string().contains("and 1 calls already waiting"),
            "{refused}"
        );
        assert!(waiter.await.unwrap().is_err(), "nobody freed the place");
    }

    /// The waiting room counts the bytes of the waiting calls' requests as
    /// well as the calls: large requests fill it long before its count of
    /// calls, small ones do not.
    #[tokio::test(start_paused = true)]
    async fn waiting_requests_hold_at_most_their_bytes() {
        let params = AdmissionParams {
            max_concurrent_calls: 2,
            max_concurrent_calls_per_key: 1,
            max_wait_ms: 1_000,
            max_waiting_calls: 100,
            max_waiting_bytes: 1_000,
            ..AdmissionParams::default()
        };
        assert_eq!(key_waiting_share(&params), 50);
        assert_eq!(key_waiting_bytes_share(&params), 500);
        let admission = Arc::new(Admission::new(params.check().unwrap()));
        let held_by_a = admission.admit("a", 0).await.unwrap();
        let held_by_b = admission.admit("b", 0).await.unwrap();
        let wait = |key: &'static str, bytes: usize| {
            let admission = Arc::clone(&admission);
            tokio::spawn(async move { admission.admit(key, bytes).await })
        };
        // Key a's share is 500 bytes: 300 and 200 wait, one more byte does
        // not, but a call that holds no request still does.
        let waiting_a = [wait("a", 300), wait("a", 200), wait("a", 0)];
        tokio::task::yield_now().await;
        assert_eq!(
            admission.figures(),
            AdmissionFigures {
                calls_in_progress: 2,
                calls_waiting: 3,
                waiting_bytes: 500,
                connections: Default::default(),
            }
        );
        let refused = admission.admit("a", 1).await.unwrap_err();
        assert!(matches!(refused, Error::ResourceExhausted(_)));
        assert!(
            refused.to_string().contains(
                "its request of 1 bytes does not fit beside its waiting calls' requests \
                 (at most 500 bytes in all)"
            ),
            "{refused}"
        );
        // Everyone's room (1,000 bytes) holds a's 500; c waits with 500
        // more, and d's one byte is refused by everyone's room.
        let waiting_c = wait("c", 500);
        tokio::task::yield_now().await;
        let refused = admission.admit("d", 1).await.unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("beside the waiting calls' requests (at most 1000 bytes in all)"),
            "{refused}"
        );
        // A request larger than the whole room never waits, nor one larger
        // than its key's share.
        let refused = admission.admit("d", 2_000).await.unwrap_err();
        assert!(
            refused.to_string().contains(
                "its request of 2000 bytes is larger than the whole waiting room (1000 bytes)"
            ),
            "{refused}"
        );
        let refused = admission.admit("a", 600).await.unwrap_err();
        assert!(
            refused.to_string().contains(
                "its request of 600 bytes is larger than its share of the waiting room (500 bytes)"
            ),
            "{refused}"
        );
        // b's call ends: c gets its place, and its bytes leave the room,
        // so d's request fits again.
        drop(held_by_b);
        let c = waiting_c.await.unwrap().expect("c waited for a place");
        let waiting_d = wait("d", 400);
        tokio::task::yield_now().await;
        drop(c);
        assert!(waiting_d.await.unwrap().is_ok());
        // a's calls get a's place in turn as each ends.
        drop(held_by_a);
        for waiter in waiting_a {
            drop(
                waiter
                    .await
                    .unwrap()
                    .expect("a's calls get a's place in turn"),
            );
        }
        assert_eq!(admission.figures(), AdmissionFigures::default());
    }

    #[tokio::test]
    async fn one_key_cannot_take_every_place() {
        let admission = Admission::new(
            AdmissionParams {
                max_concurrent_calls: 3,
                max_concurrent_calls_per_key: 2,
                max_wait_ms: 0,
                ..AdmissionParams::default()
            }
            .check()
            .unwrap(),
        );
        let first = admission.admit("site", 0).await.unwrap();
        let _second = admission.admit("site", 0).await.unwrap();
        let refused = admission.admit("site", 0).await.unwrap_err();
        assert!(matches!(refused, Error::ResourceExhausted(_)));
        assert!(
            refused
                .to_string()
                .contains("key \"site\" is at its limit of 2 calls in progress"),
            "{refused}"
        );
        // The refused call took no place: another key still gets in.
        let _moderator = admission.admit("moderator", 0).await.unwrap();
        drop(first);
        assert!(admission.admit("site", 0).await.is_ok());
    }

    #[tokio::test]
    async fn spare_places_come_from_the_same_limits_and_never_wait() {
        let admission = Admission::new(
            AdmissionParams {
                max_concurrent_calls: 4,
                max_concurrent_calls_per_key: 2,
                // Calls may wait; spare places still do not.
                max_wait_ms: 60_000,
                ..AdmissionParams::default()
            }
            .check()
            .unwrap(),
        );
        let stream = admission.admit("site", 0).await.unwrap();
        // The key's second place, then none: its cap holds for spares too.
        let spare = admission.spare_place("site").unwrap();
        assert!(admission.spare_place("site").is_none());
        // Everyone's places: two are taken, another key gets the other two,
        // and then there is no spare for anybody.
        let _other = admission.admit("other", 0).await.unwrap();
        let _other_spare = admission.spare_place("other").unwrap();
        assert!(admission.spare_place("third").is_none());
        // A spare place given back is a place like any other.
        drop(spare);
        assert!(admission.spare_place("site").is_some());
        drop(stream);
    }

    #[test]
    fn each_key_has_its_own_rate() {
        let admission = admission(100, 10.0, 2.0);
        let start = Instant::now();
        assert!(admission.take_token("a", start).is_ok());
        assert!(admission.take_token("a", start).is_ok());
        let refused = admission.take_token("a", start).unwrap_err();
        assert!(
            refused.to_string().contains("10 calls per second"),
            "{refused}"
        );
        // Another key is not affected; the first refills with time.
        assert!(admission.take_token("b", start).is_ok());
        assert!(admission
            .take_token("a", start + Duration::from_millis(100))
            .is_ok());
    }

    #[test]
    fn bad_limits_name_their_key() {
        let zero = AdmissionParams {
            max_concurrent_calls: 0,
            ..AdmissionParams::default()
        };
        assert_eq!(zero.check().unwrap_err().0, "max_concurrent_calls");
        let negative = AdmissionParams {
            calls_per_second_per_key: -1.0,
            ..AdmissionParams::default()
        };
        assert_eq!(negative.check().unwrap_err().0, "calls_per_second_per_key");
        let hour = AdmissionParams {
            max_wait_ms: 3_600_000,
            ..AdmissionParams::default()
        };
        assert_eq!(hour.check().unwrap_err().0, "max_wait_ms");
        let huge = AdmissionParams {
            max_waiting_calls: usize::MAX,
            ..AdmissionParams::default()
        };
        assert_eq!(huge.check().unwrap_err().0, "max_waiting_calls");
        let huge_bytes = AdmissionParams {
            max_waiting_bytes: usize::MAX,
            ..AdmissionParams::default()
        };
        assert_eq!(huge_bytes.check().unwrap_err().0, "max_waiting_bytes");
        let too_many = AdmissionParams {
            max_concurrent_calls: 2_000_000,
            ..AdmissionParams::default()
        };
        assert_eq!(too_many.check().unwrap_err().0, "max_concurrent_calls");
        let connections = |max_connections, max_connections_per_address| AdmissionParams {
            max_connections,
            max_connections_per_address,
            ..AdmissionParams::default()
        };
        assert_eq!(connections(0, 0).check().unwrap_err().0, "max_connections");
        assert_eq!(
            connections(10, 11).check().unwrap_err().0,
            "max_connections_per_address"
        );
        assert!(connections(10, 10).check().is_ok());
        assert!(connections(10, 0).check().is_ok());
        // A bucket of less than one call would refuse every call for ever.
        for burst_per_key in [0.5, -1.0, f64::INFINITY] {
            let bucket = AdmissionParams {
                calls_per_second_per_key: 10.0,
                burst_per_key,
                ..AdmissionParams::default()
            };
            assert_eq!(bucket.check().unwrap_err().0, "burst_per_key");
        }
        // A burst with no rate would limit nothing.
        let no_rate = AdmissionParams {
            burst_per_key: 10.0,
            ..AdmissionParams::default()
        };
        assert_eq!(no_rate.check().unwrap_err().0, "burst_per_key");
        for burst_per_key in [0.0, 1.0, 2.5] {
            let bucket = AdmissionParams {
                calls_per_second_per_key: 10.0,
                burst_per_key,
                ..AdmissionParams::default()
            };
            assert!(bucket.check().is_ok(), "{burst_per_key}");
        }
        for stream_idle_ms in [0, 86_400_001] {
            let idle = AdmissionParams {
                stream_idle_ms,
                ..AdmissionParams::default()
            };
            assert_eq!(idle.check().unwrap_err().0, "stream_idle_ms");
        }
        let too_many_per_key = AdmissionParams {
            max_concurrent_calls_per_key: 2_000_000,
            ..AdmissionParams::default()
        };
        assert_eq!(
            too_many_per_key.check().unwrap_err().0,
            "max_concurrent_calls_per_key"
        );
    }
}
