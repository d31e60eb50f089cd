//! Bounds on the HTTP listeners' connections, so that the console cannot
//! take the service down: axum serves HTTP/1 without any timeout and
//! without a limit on open connections, and every connection holds a file
//! descriptor that the gRPC listener (what websites call) needs too.
//!
//! [`Bounded`] wraps a listener: at most [`MAX_HTTP_CONNECTIONS`] are open
//! at once (one more is closed as soon as it is accepted), and each is
//! closed once it has neither read nor written for [`HTTP_IDLE_LIMIT`] (a
//! client that opens a connection and sends nothing, or half a request,
//! or stops reading its answer, frees its place then).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::serve::Listener;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};

/// HTTP connections open at once on one listener, at most. A browser
/// opens about six per site; this leaves room for dozens of moderators
/// and scrapers of the metrics, and keeps far below the process's usual
/// limit of 1,024 file descriptors.
pub const MAX_HTTP_CONNECTIONS: usize = 256;

/// How long an HTTP connection may go without reading or writing a byte
/// before it is closed (an idle keep-alive connection included; a browser
/// opens a new one when it needs it).
pub const HTTP_IDLE_LIMIT: Duration = Duration::from_secs(30);

/// A listener whose connections are counted and closed when idle.
pub struct Bounded<L> {
    inner: L,
    places: Arc<Semaphore>,
    idle_limit: Duration,
}

impl<L> Bounded<L> {
    pub fn new(inner: L) -> Bounded<L> {
        Bounded::with_limits(inner, MAX_HTTP_CONNECTIONS, HTTP_IDLE_LIMIT)
    }

    fn with_limits(inner: L, connections: usize, idle_limit: Duration) -> Bounded<L> {
        Bounded {
            inner,
            places: Arc::new(Semaphore::new(connections)),
            idle_limit,
        }
    }
}

impl<L> Listener for Bounded<L>
where
    L: Listener,
    L::Io: Unpin,
{
    type Io = IdleLimited<L::Io>;
    type Addr = L::Addr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (io, address) = self.inner.accept().await;
            match Arc::clone(&self.places).try_acquire_owned() {
                Ok(place) => return (IdleLimited::new(io, self.idle_limit, place), address),
                // Dropping the connection closes it: the client sees the
                // refusal at once rather than waiting for a place.
                Err(_) => tracing::debug!(
                    limit = MAX_HTTP_CONNECTIONS,
                    "too many HTTP connections at once; a connection is closed"
                ),
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that fails its pending read or write once it has made no
/// progress for its idle limit, and gives its place back when dropped.
pub struct IdleLimited<Io> {
    io: Io,
    idle_limit: Duration,
    /// When the connection counts as idle; moved on by every read or
    /// write that completes.
    deadline: Pin<Box<Sleep>>,
    _place: OwnedSemaphorePermit,
}

impl<Io> IdleLimited<Io> {
    fn new(io: Io, idle_limit: Duration, place: OwnedSemaphorePermit) -> IdleLimited<Io> {
        IdleLimited {
            io,
            idle_limit,
            deadline: Box::pin(tokio::time::sleep(idle_limit)),
            _place: place,
        }
    }

    /// Passes `result` on, moving the deadline when it completed, and
    /// turns a wait past the deadline into an error.
    fn watch<T>(
        &mut self,
        context: &mut Context<'_>,
        result: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(result) => {
                let next = Instant::now() + self.idle_limit;
                self.deadline.as_mut().reset(next);
                Poll::Ready(result)
            }
            Poll::Pending => match self.deadline.as_mut().poll(context) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the HTTP connection was idle too long",
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
        this.watch(context, result)
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
        this.watch(context, result)
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_flush(context);
        this.watch(context, result)
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(context)
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
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        (
            Bounded::with_limits(listener, connections, idle_limit),
            address,
        )
    }

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
}
