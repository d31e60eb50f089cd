//! The console's TLS: with `[tls]` configured, the console and metrics
//! listeners serve HTTPS with the gRPC server's certificate and key, so
//! that moderators' tokens never cross the network in plain text.
//!
//! Handshakes run in tasks of their own (at most [`MAX_HANDSHAKES`] at
//! once, [`MAX_HANDSHAKES_PER_PEER`] from one address, each given
//! [`TLS_HANDSHAKE_LIMIT`]), so a client that opens connections and stalls
//! holds up nobody else; finished connections are handed to axum through
//! a channel.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Semaphore};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::address_places::PlacesByAddress;
use crate::limits::TLS_HANDSHAKE_LIMIT;

/// Handshakes in progress at most; connections beyond are closed.
pub const MAX_HANDSHAKES: usize = 256;

/// Handshakes in progress from one client address (an IPv6 /64 counting
/// as one) at most, so that one host cannot take every place and lock the
/// moderators out. A handshake takes milliseconds; a browser opens about
/// six connections at once.
const MAX_HANDSHAKES_PER_PEER: usize = 16;

/// Why the configured certificate and key cannot serve the console.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleTlsError {
    #[error("the certificate file does not read as PEM: {0}")]
    CertificateNotPem(tokio_rustls::rustls::pki_types::pem::Error),
    #[error("the certificate file holds no certificate")]
    NoCertificate,
    #[error("the key file holds no private key: {0}")]
    NoPrivateKey(tokio_rustls::rustls::pki_types::pem::Error),
    #[error("the TLS library refuses its own protocol versions: {0}")]
    ProtocolVersions(tokio_rustls::rustls::Error),
    #[error("the key does not serve the certificate: {0}")]
    KeyMismatch(tokio_rustls::rustls::Error),
}

/// A TLS set-up for the console, from the configured PEM files' contents.
#[derive(Clone)]
pub struct ConsoleTls(Arc<ServerConfig>);

impl ConsoleTls {
    /// Fails when the PEM holds no certificate or no key, or the key does
    /// not go with the certificate.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> Result<ConsoleTls, ConsoleTlsError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(ConsoleTlsError::CertificateNotPem)?;
        if chain.is_empty() {
            return Err(ConsoleTlsError::NoCertificate);
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(ConsoleTlsError::NoPrivateKey)?;
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(ConsoleTlsError::ProtocolVersions)?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(ConsoleTlsError::KeyMismatch)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(ConsoleTls(Arc::new(config)))
    }
}

/// Accepted TLS connections, for `axum::serve`.
pub struct TlsListener {
    local_address: SocketAddr,
    connections: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
}

impl TlsListener {
    pub fn new(listener: TcpListener, tls: &ConsoleTls) -> io::Result<TlsListener> {
        let local_address = listener.local_addr()?;
        let (sender, connections) = mpsc::channel(MAX_HANDSHAKES);
        let acceptor = TlsAcceptor::from(Arc::clone(&tls.0));
        let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
        let by_peer = PlacesByAddress::new(MAX_HANDSHAKES_PER_PEER);
        tokio::spawn(async move {
            loop {
                // Ends when axum drops the listener (the receiver): the
                // port is closed then, not at the next connection.
                let accepted = tokio::select! {
                    () = sender.closed() => break,
                    accepted = listener.accept() => accepted,
                };
                let (stream, peer) = match accepted {
                    Ok(accepted) => accepted,
                    Err(error) => {
                        // Out of file descriptors, say: wait, then go on.
                        tracing::warn!(%error, "the console cannot accept a connection");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                };
                let Some(peer_place) = by_peer.take(peer.ip()) else {
                    tracing::debug!(
                        "too many console handshakes from one address; a connection is closed"
                    );
                    continue;
                };
                let Ok(place) = Arc::clone(&handshakes).try_acquire_owned() else {
                    tracing::debug!("too many console handshakes at once; a connection is closed");
                    continue;
                };
                let (acceptor, sender) = (acceptor.clone(), sender.clone());
                tokio::spawn(async move {
                    let _places = (place, peer_place);
                    match tokio::time::timeout(TLS_HANDSHAKE_LIMIT, acceptor.accept(stream)).await {
                        Ok(Ok(connection)) => {
                            let _ = sender.send((connection, peer)).await;
                        }
                        Ok(Err(error)) => {
                            tracing::debug!(%error, "a console TLS handshake failed")
                        }
                        Err(_) => tracing::debug!("a console TLS handshake took too long"),
                    }
                });
            }
        });
        Ok(TlsListener {
            local_address,
            connections,
        })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.connections.recv().await {
            Some(connection) => connection,
            // The accepting task has stopped: no connection will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local_address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readme_states_these_limits() {
        crate::limits::tests::assert_readme_row(&format!(
            "| console and metrics: TLS handshakes at once, all clients / from one address (an IPv6 /64 counts as one) | {MAX_HANDSHAKES} / {MAX_HANDSHAKES_PER_PEER} |"
        ));
    }

    /// Each way the configured files can fail to make a console TLS set-up
    /// is told apart, so the start-up error says which file to fix.
    #[test]
    fn pem_files_that_cannot_serve_say_why() {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
        let cert_pem = certified.cert.pem();
        let key_pem = certified.key_pair.serialize_pem();

        assert!(ConsoleTls::from_pem(cert_pem.as_bytes(), key_pem.as_bytes()).is_ok());
        let refused = |cert: &str, key: &str| {
            ConsoleTls::from_pem(cert.as_bytes(), key.as_bytes())
                .err()
                .expect("refused")
        };
        assert!(matches!(
            refused("no PEM here", &key_pem),
            ConsoleTlsError::NoCertificate
        ));
        assert!(matches!(
            refused(&cert_pem, "no PEM here"),
            ConsoleTlsError::NoPrivateKey(_)
        ));
        let mismatch = refused(&cert_pem, &other.key_pair.serialize_pem());
        assert!(matches!(mismatch, ConsoleTlsError::KeyMismatch(_)));
        assert!(
            mismatch
                .to_string()
                .starts_with("the key does not serve the certificate"),
            "{mismatch}"
        );
    }
}
