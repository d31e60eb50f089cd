//! Bounds on the gRPC listener's connections. tonic's server takes every
//! connection it is offered, and each one holds a file descriptor, its
//! HTTP/2 state, and what its client sends before a call is admitted
//! (admission bounds calls, not connections). So at most
//! `[limits] max_connections` are open at once, at most
//! `max_connections_per_address` from one client address (an IPv6 /64
//! counting as one, see `address_places`), and one more is closed as soon
//! as it is accepted: its client learns at once (its call fails with
//! UNAVAILABLE) instead of waiting, unanswered, for a place.
//!
//! Running out of file descriptors makes every `accept` fail at once until
//! one is closed; tonic's accept loop would try again at once and keep a
//! core busy. [`incoming`] pauses before trying again instead, and
//! `moderato serve` raises the process's limit on open files where it may
//! ([`raise_open_file_limit`]), so that the connections allowed fit in it.

use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::address_places::{AddressPlace, PlacesByAddress};

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

/// A connection that holds its places until it is dropped (closed).
pub struct Connection {
    stream: TcpStream,
    _place: ConnectionPlace,
}

/// The connections `listener` accepts, with Nagle's algorithm off, each
/// holding a place of `limit`; a connection without one is closed at once
/// and never yielded. Errors are never yielded either: a failed `accept`
/// is logged, and one for want of resources pauses the listener for
/// [`ACCEPT_PAUSE`].
pub fn incoming(
    listener: TcpListener,
    limit: Arc<ConnectionLimit>,
) -> impl futures::Stream<Item = io::Result<Connection>> {
    let state = (listener, limit, None::<tokio::time::Instant>);
    futures::stream::unfold(state, |(listener, limit, mut warned_at)| async move {
        loop {
            match listener.accept().await {
                Ok((stream, address)) => match limit.place(address.ip()) {
                    Ok(place) => {
                        without_nagle(&stream);
                        let connection = Connection {
                            stream,
                            _place: place,
                        };
                        return Some((Ok(connection), (listener, limit, warned_at)));
                    }
                    // Dropping the stream closes it.
                    Err(refused) => log_refusal(refused),
                },
                // The client gave up before its connection was accepted.
                Err(error) if is_one_connection_error(&error) => {
                    tracing::debug!(%error, "a connection failed as it was accepted");
                }
                Err(error) => {
                    let now = tokio::time::Instant::now();
                    if warned_at.is_none_or(|at| now - at >= SHORTAGE_WARNING_INTERVAL) {
                        warned_at = Some(now);
                        tracing::warn!(
                            %error,
                            "the gRPC listener cannot accept connections (out of file descriptors? see [limits] max_connections in the README); it tries again every 100 ms"
                        );
                    } else {
                        tracing::debug!(%error, "the gRPC listener cannot accept a connection");
                    }
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                }
            }
        }
    })
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

/// Errors of one connection that failed before it was accepted, after
/// which the next `accept` can succeed at once.
fn is_one_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::Interrupted
            | io::ErrorKind::WouldBlock
    )
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
        Pin::new(&mut self.get_mut().stream).poll_read(context, buffer)
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

/// How many files the service may need open at once: `grpc_connections`,
/// the console's and the metrics' listeners at their limits, and
/// [`FILES_BESIDES_CONNECTIONS`].
pub fn files_needed(grpc_connections: usize) -> u64 {
    grpc_connections as u64
        + 2 * crate::console::MAX_HTTP_CONNECTIONS as u64
        + FILES_BESIDES_CONNECTIONS
}

/// What [`raise_open_file_limit`] found and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFileLimit {
    /// The limit on open files in force now (the soft limit).
    pub now: u64,
    /// The limit before, when this raised it.
    pub raised_from: Option<u64>,
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
    let current = limit.rlim_cur as u64;
    // RLIM_INFINITY is the largest value: no limit at all.
    if current >= needed || limit.rlim_cur == libc::RLIM_INFINITY {
        return Ok(OpenFileLimit {
            now: current,
            raised_from: None,
        });
    }
    let target = (needed as libc::rlim_t).min(limit.rlim_max);
    if target <= limit.rlim_cur {
        return Ok(OpenFileLimit {
            now: current,
            raised_from: None,
        });
    }
    limit.rlim_cur = target;
    // SAFETY: `setrlimit` reads the struct it is given, which lives for
    // the call.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(OpenFileLimit {
        now: target as u64,
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

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// True when the peer closed the connection (a read of 0 bytes or a
    /// reset) within five seconds.
    async fn closed(client: &mut TcpStream) -> bool {
        let mut byte = [0u8; 1];
        matches!(
            tokio::time::timeout(Duration::from_secs(5), client.read(&mut byte)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

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
            closed(&mut third_client).await,
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
    }

    #[test]
    fn the_open_file_limit_is_raised_only_when_below_what_is_needed() {
        let before = raise_open_file_limit(0).unwrap();
        assert_eq!(before.raised_from, None, "a need of 0 raised the limit");
        // A need already met changes nothing.
        assert_eq!(raise_open_file_limit(before.now).unwrap(), before);
        assert!(files_needed(512) > 512 + 2 * crate::console::MAX_HTTP_CONNECTIONS as u64);
    }
}
