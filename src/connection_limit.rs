//! Bounds on the gRPC listener's connections. tonic's server takes every
//! connection it is offered, and each one holds a file descriptor, its
//! HTTP/2 state, and what its client sends before a call is admitted
//! (admission bounds calls, not connections). So at most
//! `[limits] max_connections` are open at once, at most
//! `max_connections_per_address` from one client address (an IPv6 /64
//! counting as one, see `address_places`), and one more is closed as soon
//! as it is accepted: its client learns at once (its call fails) instead
//! of waiting, unanswered, for a place. A connection that sends nothing is
//! closed after `limits::CONNECTION_FIRST_BYTES_LIMIT`.
//!
//! Running out of file descriptors makes every `accept` fail at once until
//! one is closed; tonic's accept loop would try again at once and keep a
//! core busy. [`incoming`] pauses before trying again instead, and
//! `moderato serve` raises the process's limit on open files where it may
//! ([`raise_open_file_limit`]), so that the connections allowed fit in it.

use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Sleep;
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::address_places::{AddressPlace, PlacesByAddress};
use crate::limits::CONNECTION_FIRST_BYTES_LIMIT;

/// How long the listener pauses after an `accept` that failed for want of
/// resources (file descriptors, kernel memory): long enough not to spin,
/// short enough that a freed descriptor is soon used.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// How often, at most, a lasting shortage is logged as a warning (each
/// failure in between is logged at debug level).
const SHORTAGE_WARNING_INTERVAL: Duration = Duration::from_secs(60);

/// The places of the gRPC listener's connections.
pub struct ConnectionLimit {
    places: Arc<Semaphore>,
    most: usize,
    by_address: PlacesByAddress,
    /// Connections closed at once for want of a place, since the start.
    refused: AtomicU64,
}

/// What the gRPC listener's connections are doing, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionFigures {
    /// Connections open now.
    pub open: usize,
    /// Connections closed as soon as accepted, for want of a place, since
    /// the start.
    pub refused: u64,
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every place is taken (the limit is given).
    AllPlaces(usize),
    /// Every place of the client's address is taken.
    AddressPlaces(usize),
}

/// One connection's places, given back when it is dropped.
pub struct ConnectionPlace {
    _place: OwnedSemaphorePermit,
    _address_place: AddressPlace,
}

impl ConnectionLimit {
    /// At most `most` connections, `per_address` of one address (0: no cap
    /// of its own).
    pub fn new(most: usize, per_address: usize) -> ConnectionLimit {
        let per_address = if per_address == 0 {
            usize::MAX
        } else {
            per_address
        };
        ConnectionLimit {
            places: Arc::new(Semaphore::new(most)),
            most,
            by_address: PlacesByAddress::new(per_address),
            refused: AtomicU64::new(0),
        }
    }

    /// A place for a connection from `address`, or why there is none.
    pub fn place(&self, address: IpAddr) -> Result<ConnectionPlace, Refused> {
        let refuse = |why| {
            self.refused.fetch_add(1, Ordering::Relaxed);
            Err(why)
        };
        let Some(address_place) = self.by_address.take(address) else {
            return refuse(Refused::AddressPlaces(self.by_address.limit()));
        };
        let Ok(place) = Arc::clone(&self.places).try_acquire_owned() else {
            return refuse(Refused::AllPlaces(self.most));
        };
        Ok(ConnectionPlace {
            _place: place,
            _address_place: address_place,
        })
    }

    pub fn figures(&self) -> ConnectionFigures {
        ConnectionFigures {
            open: self.most - self.places.available_permits(),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

impl std::fmt::Debug for ConnectionLimit {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("ConnectionLimit")
            .field("most", &self.most)
            .field("per_address", &self.by_address.limit())
            .field("figures", &self.figures())
            .finish()
    }
}

/// A connection that holds its places until it is dropped (closed), and
/// fails its reads once it has sent nothing for
/// [`CONNECTION_FIRST_BYTES_LIMIT`] since it was accepted (hyper then
/// closes it).
pub struct Connection {
    stream: TcpStream,
    /// When the connection must have sent its first bytes; `None` once it
    /// has.
    first_bytes_by: Option<Pin<Box<Sleep>>>,
    _place: ConnectionPlace,
}

impl Connection {
    fn new(stream: TcpStream, place: ConnectionPlace) -> Connection {
        without_nagle(&stream);
        Connection {
            stream,
            first_bytes_by: Some(Box::pin(tokio::time::sleep(CONNECTION_FIRST_BYTES_LIMIT))),
            _place: place,
        }
    }
}

/// The connections `listener` accepts, with Nagle's algorithm off, each
/// holding a place of `limit` and given [`CONNECTION_FIRST_BYTES_LIMIT`]
/// to send its first bytes; a connection without a place is closed at once
/// and never yielded. Errors are never yielded either: a failed `accept`
/// is logged, and one for want of resources pauses the listener for
/// [`ACCEPT_PAUSE`].
pub fn incoming(
    listener: TcpListener,
    limit: Arc<ConnectionLimit>,
) -> impl futures::Stream<Item = io::Result<Connection>> {
    accepted(listener, limit)
}

/// Where connections come from: a TCP listener (or, in the tests, one that
/// fails first).
trait Accept: Send + 'static {
    fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send;
}

impl Accept for TcpListener {
    fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send {
        TcpListener::accept(self)
    }
}

fn accepted<A: Accept>(
    listener: A,
    limit: Arc<ConnectionLimit>,
) -> impl futures::Stream<Item = io::Result<Connection>> {
    let state = (listener, limit, None::<tokio::time::Instant>);
    futures::stream::unfold(state, |(listener, limit, mut warned_at)| async move {
        loop {
            let error = match listener.accept().await {
                Ok((stream, address)) => match limit.place(address.ip()) {
                    Ok(place) => {
                        let connection = Connection::new(stream, place);
                        return Some((Ok(connection), (listener, limit, warned_at)));
                    }
                    // Dropping the stream closes it.
                    Err(refused) => {
                        log_refusal(refused);
                        continue;
                    }
                },
                Err(error) => error,
            };
            if !is_shortage(&error) {
                // One connection failed before it was accepted (the client
                // gave up, its network went down, a firewall refused it):
                // the next can be accepted at once.
                tracing::debug!(%error, "a connection failed as it was accepted");
                continue;
            }
            let now = tokio::time::Instant::now();
            if warned_at.is_none_or(|at| now - at >= SHORTAGE_WARNING_INTERVAL) {
                warned_at = Some(now);
                tracing::warn!(
                    %error,
                    "the gRPC listener cannot accept connections for want of file descriptors or memory (see [limits] max_connections in the README); it tries again every 100 ms"
                );
            } else {
                tracing::debug!(%error, "the gRPC listener cannot accept a connection");
            }
            tokio::time::sleep(ACCEPT_PAUSE).await;
        }
    })
}

/// Whether `accept` failed for want of resources (file descriptors of the
/// process or the system, kernel memory), which lasts until something is
/// freed: every `accept` fails at once meanwhile. Any other error is one
/// connection's (Linux passes pending network errors of the new connection
/// up through `accept`).
fn is_shortage(error: &io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

/// A gRPC answer is small and written at once; with Nagle's algorithm on,
/// it can wait for the client's delayed acknowledgement (about 40 ms on
/// Linux) before leaving, which turned a sub-millisecond check into a 44 ms
/// one under load.
fn without_nagle(stream: &TcpStream) {
    // A connection that keeps Nagle on is slower, not broken.
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "cannot turn Nagle's algorithm off");
    }
}

fn log_refusal(refused: Refused) {
    match refused {
        Refused::AllPlaces(limit) => tracing::debug!(
            limit,
            "the gRPC listener is at max_connections; a connection is closed"
        ),
        Refused::AddressPlaces(limit) => tracing::debug!(
            limit,
            "too many gRPC connections from one address (max_connections_per_address); a connection is closed"
        ),
    }
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> Self::ConnectInfo {
        self.stream.connect_info()
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let filled_before = buffer.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(context, buffer);
        let Some(deadline) = &mut this.first_bytes_by else {
            return result;
        };
        match result {
            Poll::Ready(Ok(())) if buffer.filled().len() > filled_before => {
                this.first_bytes_by = None;
            }
            Poll::Pending if deadline.as_mut().poll(context).is_ready() => {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the connection sent nothing within its first bytes' limit",
                )));
            }
            _ => {}
        }
        result
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(context, buffer)
    }

    /// hyper writes a frame's header and body in one vectored write when
    /// the connection can; without this it would copy them together first.
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffers: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(context, buffers)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(context)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(context)
    }
}

/// Files the process keeps open besides its connections: the database's,
/// the log's, the model's, a retrain's, with room to spare.
const FILES_BESIDES_CONNECTIONS: u64 = 64;

/// How many files the service may need open at once: `grpc_connections`;
/// for each of the console's and the metrics' listeners, its connections
/// and, over TLS, its handshakes in progress and those done but not yet
/// taken up (see `console::tls`), all at their limits; and
/// [`FILES_BESIDES_CONNECTIONS`].
pub fn files_needed(grpc_connections: usize) -> u64 {
    let per_http_listener =
        crate::console::MAX_HTTP_CONNECTIONS + 2 * crate::console::MAX_HANDSHAKES;
    grpc_connections as u64 + 2 * per_http_listener as u64 + FILES_BESIDES_CONNECTIONS
}

/// What [`raise_open_file_limit`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFileLimit {
    /// The limit on open files in force now (the soft limit).
    pub now: u64,
    /// The limit before, when this raised it.
    pub raised_from: Option<u64>,
}

/// The soft limit to ask for, given the soft and hard limits in force
/// (`None` standing for no limit) and what is `needed`: `needed`, or the
/// hard limit if it is lower; nothing when the soft limit is enough, or is
/// already the hard one.
fn soft_limit_to_ask(soft: Option<u64>, hard: Option<u64>, needed: u64) -> Option<u64> {
    let soft = soft?;
    if soft >= needed {
        return None;
    }
    let target = hard.map_or(needed, |hard| hard.min(needed));
    (target > soft).then_some(target)
}

/// Raises the process's limit on open files (its soft limit) towards
/// `needed`, as far as its hard limit lets an unprivileged process, and
/// says what is in force. Many systems start services at 1,024 with a
/// hard limit far above; the service needs more than that at its default
/// limits.
#[cfg(unix)]
// `rlim_t` is 64 bits here but not on every Unix: the casts say so.
#[allow(clippy::unnecessary_cast)]
pub fn raise_open_file_limit(needed: u64) -> io::Result<OpenFileLimit> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes into the struct it is given, which lives
    // for the call.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // RLIM_INFINITY: no limit at all.
    let finite = |value: libc::rlim_t| (value != libc::RLIM_INFINITY).then_some(value as u64);
    let soft = finite(limit.rlim_cur);
    let Some(target) = soft_limit_to_ask(soft, finite(limit.rlim_max), needed) else {
        return Ok(OpenFileLimit {
            now: soft.unwrap_or(u64::MAX),
            raised_from: None,
        });
    };
    let current = limit.rlim_cur as u64;
    // The target is at most the hard limit, which fits in `rlim_t`.
    limit.rlim_cur = target as libc::rlim_t;
    // SAFETY: `setrlimit` reads the struct it is given, which lives for
    // the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(OpenFileLimit {
        now: target,
        raised_from: Some(current),
    })
}

/// Elsewhere than on Unix, the limit is left to the system and said to be
/// what is needed: there is no such limit to raise there.
#[cfg(not(unix))]
pub fn raise_open_file_limit(needed: u64) -> io::Result<OpenFileLimit> {
    Ok(OpenFileLimit {
        now: needed,
        raised_from: None,
    })
}

/// True when the peer closed the connection (a read of 0 bytes or a
/// reset) within five seconds: what the listeners' tests check of a
/// connection they refuse or close.
#[cfg(test)]
pub(crate) async fn closed_by_peer(client: &mut TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut byte = [0u8; 1];
    matches!(
        tokio::time::timeout(Duration::from_secs(5), client.read(&mut byte)).await,
        Ok(Ok(0)) | Ok(Err(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn connections_beyond_the_limits_are_closed_at_once_and_counted() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let limit = Arc::new(ConnectionLimit::new(2, 0));
        let mut accepted = Box::pin(incoming(listener, Arc::clone(&limit)));
        let mut first_client = TcpStream::connect(address).await.unwrap();
        let mut first = accepted.next().await.unwrap().unwrap();
        let _second_client = TcpStream::connect(address).await.unwrap();
        let second = accepted.next().await.unwrap().unwrap();
        assert_eq!(
            limit.figures(),
            ConnectionFigures {
                open: 2,
                refused: 0
            }
        );
        assert!(first.stream.nodelay().unwrap(), "Nagle is left on");

        // The third is accepted and closed while the stream waits on.
        let mut third_client = TcpStream::connect(address).await.unwrap();
        let next = tokio::spawn(async move {
            let connection = accepted.next().await.unwrap().unwrap();
            (connection, accepted)
        });
        assert!(
            closed_by_peer(&mut third_client).await,
            "a connection over the limit stays open"
        );
        assert_eq!(limit.figures().refused, 1);
        // The first still carries bytes both ways.
        first_client.write_all(b"x").await.unwrap();
        let mut byte = [0u8; 1];
        first.read_exact(&mut byte).await.unwrap();
        first.write_all(b"y").await.unwrap();
        first_client.read_exact(&mut byte).await.unwrap();
        assert_eq!(&byte, b"y");

        // A place given back takes the next connection.
        drop(second);
        let _fourth_client = TcpStream::connect(address).await.unwrap();
        let (_fourth, _accepted) = tokio::time::timeout(Duration::from_secs(5), next)
            .await
            .expect("a freed place takes the next connection")
            .unwrap();
        assert_eq!(
            limit.figures(),
            ConnectionFigures {
                open: 2,
                refused: 1
            }
        );
    }

    #[test]
    fn one_address_takes_at_most_its_share_and_zero_means_no_share() {
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        let limit = ConnectionLimit::new(3, 2);
        let _held = [limit.place(client).unwrap(), limit.place(client).unwrap()];
        assert_eq!(limit.place(client).err(), Some(Refused::AddressPlaces(2)));
        let _third = limit.place(other).unwrap();
        assert_eq!(limit.place(other).err(), Some(Refused::AllPlaces(3)));
        assert_eq!(
            limit.figures(),
            ConnectionFigures {
                open: 3,
                refused: 2
            }
        );

        let unshared = ConnectionLimit::new(3, 0);
        let _all: Vec<_> = (0..3).map(|_| unshared.place(client).unwrap()).collect();
        assert_eq!(unshared.place(client).err(), Some(Refused::AllPlaces(3)));
    }

    #[test]
    fn the_readme_states_the_default_connection_limits() {
        let defaults = crate::admission::AdmissionParams::default();
        crate::limits::tests::assert_readme_row(&format!(
            "| gRPC connections open at once, all clients / from one client address (`[limits] max_connections`, `max_connections_per_address`; an IPv6 /64 counts as one address; 0 per address: no cap of its own) | {} / {} |",
            defaults.max_connections, defaults.max_connections_per_address
        ));
        let files = files_needed(defaults.max_connections);
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("the README reads");
        let stated = format!("({},{:03} files by default)", files / 1000, files % 1000);
        assert!(readme.contains(&stated), "the README does not say {stated}");
    }

    #[test]
    fn the_soft_limit_is_raised_to_what_is_needed_as_far_as_the_hard_one_allows() {
        // Enough already, or no limit at all: nothing to ask.
        assert_eq!(soft_limit_to_ask(Some(2_000), Some(4_000), 1_600), None);
        assert_eq!(soft_limit_to_ask(None, None, 1_600), None);
        // Below: what is needed, if the hard limit allows it (or is none).
        assert_eq!(
            soft_limit_to_ask(Some(1_024), Some(524_288), 1_600),
            Some(1_600)
        );
        assert_eq!(soft_limit_to_ask(Some(1_024), None, 1_600), Some(1_600));
        // Else the hard limit, or nothing if the soft one is there already.
        assert_eq!(
            soft_limit_to_ask(Some(1_024), Some(1_200), 1_600),
            Some(1_200)
        );
        assert_eq!(soft_limit_to_ask(Some(1_024), Some(1_024), 1_600), None);
        // The process's own: a need already met changes nothing.
        let now = raise_open_file_limit(0).unwrap();
        assert_eq!(now.raised_from, None, "a need of 0 raised the limit");
        assert_eq!(raise_open_file_limit(now.now).unwrap(), now);
    }

    #[test]
    fn the_files_needed_count_every_listener_at_its_limits() {
        use crate::console::{MAX_HANDSHAKES, MAX_HTTP_CONNECTIONS};
        let http = 2 * (MAX_HTTP_CONNECTIONS + 2 * MAX_HANDSHAKES) as u64;
        assert_eq!(files_needed(512), 512 + http + FILES_BESIDES_CONNECTIONS);
    }

    /// A listener whose first calls fail with `errors`, in order.
    struct FailingFirst {
        errors: std::sync::Mutex<std::collections::VecDeque<io::Error>>,
        listener: TcpListener,
    }

    impl Accept for FailingFirst {
        fn accept(&self) -> impl Future<Output = io::Result<(TcpStream, SocketAddr)>> + Send {
            let error = self.errors.lock().unwrap().pop_front();
            async move {
                match error {
                    Some(error) => Err(error),
                    None => self.listener.accept().await,
                }
            }
        }
    }

    /// How long (on the paused clock) the listener takes to yield a waiting
    /// connection after its `accept` failed with each of `errors`.
    async fn time_to_accept_after(errors: &[i32]) -> Duration {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let _client = TcpStream::connect(address).await.unwrap();
        let failing = FailingFirst {
            errors: std::sync::Mutex::new(
                errors
                    .iter()
                    .map(|&code| io::Error::from_raw_os_error(code))
                    .collect(),
            ),
            listener,
        };
        let limit = Arc::new(ConnectionLimit::new(4, 0));
        let mut connections = Box::pin(accepted(failing, limit));
        let started = tokio::time::Instant::now();
        connections.next().await.unwrap().unwrap();
        started.elapsed()
    }

    #[tokio::test(start_paused = true)]
    async fn the_listener_pauses_after_a_shortage_and_not_after_one_connections_error() {
        // Out of file descriptors, twice: two pauses before the next try.
        let waited = time_to_accept_after(&[libc::EMFILE, libc::ENFILE]).await;
        assert!(waited >= 2 * ACCEPT_PAUSE, "{waited:?}");
        // A connection's own failure (aborted, refused by a firewall, its
        // network down): the next is accepted at once.
        let waited = time_to_accept_after(&[libc::ECONNABORTED, libc::EPERM, libc::ENETDOWN]).await;
        assert!(waited < ACCEPT_PAUSE, "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_sends_nothing_fails_its_read_after_the_first_bytes_limit() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut connections = Box::pin(incoming(listener, Arc::new(ConnectionLimit::new(4, 0))));
        let _silent_client = TcpStream::connect(address).await.unwrap();
        let mut silent = connections.next().await.unwrap().unwrap();
        let started = tokio::time::Instant::now();
        let mut buffer = [0u8; 8];
        let error =
            tokio::time::timeout(CONNECTION_FIRST_BYTES_LIMIT * 2, silent.read(&mut buffer))
                .await
                .expect("a silent connection's read went on past the limit")
                .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= CONNECTION_FIRST_BYTES_LIMIT);

        // A connection that has spoken may go quiet for longer.
        let mut speaking_client = TcpStream::connect(address).await.unwrap();
        let mut speaking = connections.next().await.unwrap().unwrap();
        speaking_client.write_all(b"x").await.unwrap();
        assert_eq!(speaking.read(&mut buffer).await.unwrap(), 1);
        let quiet =
            tokio::time::timeout(CONNECTION_FIRST_BYTES_LIMIT * 6, speaking.read(&mut buffer))
                .await;
        assert!(quiet.is_err(), "a quiet connection's read ended: {quiet:?}");
    }
}
