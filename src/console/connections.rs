//! Bounds on the HTTP listeners' connections, so that the console cannot
//! take the service down: axum serves HTTP/1 without any timeout and
//! without a limit on open connections, and every connection holds a file
//! descriptor that the gRPC listener (what websites call) needs too.
//!
//! [`Bounded`] wraps a listener: at most [`MAX_HTTP_CONNECTIONS`] are open
//! at once, [`MAX_HTTP_CONNECTIONS_PER_ADDRESS`] from one client address
//! (one more is closed as soon as it is accepted), and each is closed once
//! it has moved no byte for [`HTTP_IDLE_LIMIT`] (a client that opens a
//! connection and sends nothing, or half a request, or stops reading its
//! answer, frees its place then), or once it has sent bytes and got no
//! answer for [`HTTP_ANSWER_LIMIT`] (a client that trickles a request's
//! headers a byte at a time, which the idle limit alone never ends: hyper
//! has no timeout on reading headers unless given a timer, and axum gives
//! it none). A handler never runs that long: the router answers 503 at
//! [`HTTP_REQUEST_LIMIT`] (see `console::router`), so a slow answer is not
//! mistaken for a slow client.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

use crate::address_places::{AddressPlace, PlacesByAddress};

/// HTTP connections open at once on one listener, at most. A browser
/// opens about six per site; this leaves room for dozens of moderators
/// and scrapers of the metrics, and keeps far below the process's usual
/// limit of 1,024 file descriptors.
pub const MAX_HTTP_CONNECTIONS: usize = 256;

/// HTTP connections open at once from one client address (an IPv6 /64
/// counts as one address) at most, so that one host cannot take every
/// place. Moderators behind one NAT or proxy share it: a browser opens
/// about six.
pub const MAX_HTTP_CONNECTIONS_PER_ADDRESS: usize = 32;

/// How long an HTTP connection may go without moving a byte before it is
/// closed (an idle keep-alive connection included; a browser opens a new
/// one when it needs it).
pub const HTTP_IDLE_LIMIT: Duration = Duration::from_secs(30);

/// How long the console takes over a request at most, its body's arrival
/// included, before it answers 503: less than [`HTTP_IDLE_LIMIT`], so that
/// a request being handled is never cut as idle.
pub const HTTP_REQUEST_LIMIT: Duration = Duration::from_secs(20);

/// How long a connection may go from the first byte it sends after an
/// answer (a request's start) to the first byte of the next answer. It
/// ends a request whose headers never finish arriving however slowly they
/// trickle. [`HTTP_REQUEST_LIMIT`] starts only once the headers are in, so
/// this is that limit plus 20 s: a request whose headers took up to 20 s
/// to arrive is still answered first (503 at worst).
pub const HTTP_ANSWER_LIMIT: Duration = Duration::from_secs(40);

/// A listener whose connections are counted and closed when idle.
pub struct Bounded<L> {
    inner: L,
    places: Arc<Semaphore>,
    by_address: PlacesByAddress,
    limits: TimeLimits,
}

/// How long a connection may be idle, and may wait for an answer.
#[derive(Debug, Clone, Copy)]
struct TimeLimits {
    idle: Duration,
    answer: Duration,
}

impl<L> Bounded<L> {
    pub fn new(inner: L) -> Bounded<L> {
        Bounded::with_limits(
            inner,
            MAX_HTTP_CONNECTIONS,
            MAX_HTTP_CONNECTIONS_PER_ADDRESS,
            TimeLimits {
                idle: HTTP_IDLE_LIMIT,
                answer: HTTP_ANSWER_LIMIT,
            },
        )
    }

    fn with_limits(
        inner: L,
        connections: usize,
        per_address: usize,
        limits: TimeLimits,
    ) -> Bounded<L> {
        Bounded {
            inner,
            places: Arc::new(Semaphore::new(connections)),
            by_address: PlacesByAddress::new(per_address),
            limits,
        }
    }
}

impl<L> Listener for Bounded<L>
where
    L: Listener<Addr = SocketAddr>,
    L::Io: Unpin,
{
    type Io = IdleLimited<L::Io>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (io, address) = self.inner.accept().await;
            // Dropping a refused connection closes it: the client sees the
            // refusal at once rather than waiting for a place.
            let Some(address_place) = self.by_address.take(address.ip()) else {
                tracing::debug!(
                    limit = self.by_address.limit(),
                    "too many HTTP connections from one address; a connection is closed"
                );
                continue;
            };
            let Ok(place) = Arc::clone(&self.places).try_acquire_owned() else {
                tracing::debug!(
                    limit = MAX_HTTP_CONNECTIONS,
                    "too many HTTP connections at once; a connection is closed"
                );
                continue;
            };
            let places = (place, address_place);
            return (IdleLimited::new(io, self.limits, places), address);
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that fails its pending read, write or close once it has
/// moved no byte for its idle limit, or has waited for an answer past its
/// answer limit, and gives its places back when dropped.
pub struct IdleLimited<Io> {
    io: Io,
    limits: TimeLimits,
    /// When the connection counts as idle or its answer as overdue;
    /// moved on by every read or write that moves bytes.
    deadline: Pin<Box<Sleep>>,
    /// When the client started sending what it has not been answered for
    /// yet: its first byte after the last answer's.
    unanswered_since: Option<Instant>,
    _places: (OwnedSemaphorePermit, AddressPlace),
}

/// What a completed operation did, for the deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Moved {
    /// The client sent bytes (or closed its side).
    Received,
    /// Bytes of an answer went out.
    Sent,
    Nothing,
}

impl<Io> IdleLimited<Io> {
    fn new(
        io: Io,
        limits: TimeLimits,
        places: (OwnedSemaphorePermit, AddressPlace),
    ) -> IdleLimited<Io> {
        IdleLimited {
            io,
            limits,
            deadline: Box::pin(tokio::time::sleep(limits.idle)),
            unanswered_since: None,
            _places: places,
        }
    }

    /// Moves the deadline on after `moved`: the idle limit from now, but no
    /// later than the answer limit from the start of what is unanswered.
    fn moved(&mut self, moved: Moved) {
        let now = Instant::now();
        match moved {
            Moved::Nothing => return,
            Moved::Received => {
                self.unanswered_since.get_or_insert(now);
            }
            Moved::Sent => self.unanswered_since = None,
        }
        let idle = now + self.limits.idle;
        let next = match self.unanswered_since {
            Some(since) => idle.min(since + self.limits.answer),
            None => idle,
        };
        self.deadline.as_mut().reset(next);
    }

    /// Passes `result` on, moving the deadline when `moved` says the
    /// operation moved bytes, and turns a wait past the deadline into an
    /// error. (A flush is no sign of life: hyper flushes at every wake, and
    /// a flush of a socket is always done.)
    fn watch<T>(
        &mut self,
        context: &mut Context<'_>,
        result: Poll<io::Result<T>>,
        moved: impl FnOnce(&T) -> Moved,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(result) => {
                if let Ok(value) = &result {
                    self.moved(moved(value));
                }
                Poll::Ready(result)
            }
            Poll::Pending => match self.deadline.as_mut().poll(context) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the HTTP connection was idle, or unanswered, too long",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl<Io: AsyncRead + Unpin> AsyncRead for IdleLimited<Io> {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_read(context, buffer);
        // A read that completes brought bytes, or the end of the stream.
        this.watch(context, result, |()| Moved::Received)
    }
}

impl<Io: AsyncWrite + Unpin> AsyncWrite for IdleLimited<Io> {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buffer: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write(context, buffer);
        this.watch(context, result, |written| {
            if *written > 0 {
                Moved::Sent
            } else {
                Moved::Nothing
            }
        })
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_flush(context);
        this.watch(context, result, |()| Moved::Nothing)
    }

    /// A TLS close writes a last record, which a client that reads nothing
    /// would hold up for ever without the deadline.
    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_shutdown(context);
        this.watch(context, result, |()| Moved::Nothing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    async fn bounded(
        connections: usize,
        idle_limit: Duration,
    ) -> (Bounded<TcpListener>, std::net::SocketAddr) {
        bounded_answering_within(connections, idle_limit, Duration::from_secs(60)).await
    }

    async fn bounded_answering_within(
        connections: usize,
        idle: Duration,
        answer: Duration,
    ) -> (Bounded<TcpListener>, std::net::SocketAddr) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let limits = TimeLimits { idle, answer };
        (
            Bounded::with_limits(listener, connections, 1000, limits),
            address,
        )
    }

    use crate::connection_limit::closed_by_peer as closed;

    #[tokio::test]
    async fn a_connection_beyond_the_limit_is_closed_at_once_and_a_freed_place_is_reused() {
        let (mut listener, address) = bounded(1, Duration::from_secs(60)).await;
        let mut first_client = TcpStream::connect(address).await.unwrap();
        let (mut first, _) = listener.accept().await;
        let mut second_client = TcpStream::connect(address).await.unwrap();
        // The second is accepted and closed; accept goes on waiting.
        let third = tokio::spawn(async move {
            let (connection, _) = listener.accept().await;
            connection
        });
        assert!(
            closed(&mut second_client).await,
            "the connection over the limit stays open"
        );
        // The first still works.
        first_client.write_all(b"x").await.unwrap();
        let mut byte = [0u8; 1];
        first.read_exact(&mut byte).await.unwrap();
        assert_eq!(&byte, b"x");
        // Its place, once given back, serves the next connection.
        drop(first);
        let mut third_client = TcpStream::connect(address).await.unwrap();
        let mut third = tokio::time::timeout(Duration::from_secs(5), third)
            .await
            .expect("a freed place takes the next connection")
            .unwrap();
        third.write_all(b"y").await.unwrap();
        third_client.read_exact(&mut byte).await.unwrap();
        assert_eq!(&byte, b"y");
    }

    #[tokio::test]
    async fn a_connection_that_sends_nothing_fails_after_the_idle_limit() {
        let (mut listener, address) = bounded(4, Duration::from_millis(200)).await;
        let mut client = TcpStream::connect(address).await.unwrap();
        let (mut connection, _) = listener.accept().await;
        client.write_all(b"GET").await.unwrap();
        let mut buffer = [0u8; 3];
        connection.read_exact(&mut buffer).await.unwrap();
        // Nothing more comes: the read fails instead of waiting for ever.
        let error = tokio::time::timeout(Duration::from_secs(10), connection.read(&mut buffer))
            .await
            .expect("the idle limit ends the read")
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }

    /// A client that trickles a request a byte at a time never goes idle,
    /// but gets no more than the answer limit; one that is answered after
    /// each request may go on as long as it likes.
    #[tokio::test]
    async fn a_request_that_trickles_in_fails_after_the_answer_limit() {
        let idle = Duration::from_millis(300);
        let answer = Duration::from_millis(600);
        let (mut listener, address) = bounded_answering_within(4, idle, answer).await;
        let mut client = TcpStream::connect(address).await.unwrap();
        let (mut connection, _) = listener.accept().await;
        let started = Instant::now();
        let trickle = tokio::spawn(async move {
            // A byte every 100 ms: never idle for 300 ms.
            for _ in 0..50 {
                if client.write_all(b"x").await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let mut byte = [0u8; 1];
        let error = loop {
            match connection.read(&mut byte).await {
                Ok(0) => panic!("the trickle ended before the answer limit ended it"),
                Ok(_) => continue,
                Err(error) => break error,
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        let took = started.elapsed();
        assert!(took >= answer && took < Duration::from_secs(3), "{took:?}");
        drop(connection);
        trickle.await.unwrap();

        // Answered after each byte, the same client outlasts both limits.
        let mut client = TcpStream::connect(address).await.unwrap();
        let (mut connection, _) = listener.accept().await;
        for _ in 0..10 {
            client.write_all(b"x").await.unwrap();
            connection.read_exact(&mut byte).await.unwrap();
            connection.write_all(b"y").await.unwrap();
            client.read_exact(&mut byte).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    #[test]
    fn the_readme_states_these_limits() {
        use crate::limits::tests::assert_readme_row;
        assert_readme_row(&format!(
            "| console and metrics: HTTP connections open at once on a listener, all clients / from one address (an IPv6 /64 counts as one) | {MAX_HTTP_CONNECTIONS} / {MAX_HTTP_CONNECTIONS_PER_ADDRESS} |"
        ));
        assert_readme_row(&format!(
            "| console and metrics: an HTTP connection that moves no byte (a keep-alive one included) | {} s |",
            HTTP_IDLE_LIMIT.as_secs()
        ));
        assert_readme_row(&format!(
            "| console and metrics: a request, its body's arrival included | {} s |",
            HTTP_REQUEST_LIMIT.as_secs()
        ));
        assert_readme_row(&format!(
            "| console and metrics: from a request's first byte to its answer's first byte (a request whose headers trickle in) | {} s |",
            HTTP_ANSWER_LIMIT.as_secs()
        ));
        assert_readme_row(&format!(
            "| console: a request body (`/api/resolve`) | {} KiB |",
            super::super::api::MAX_BODY_BYTES / 1024
        ));
    }
}
