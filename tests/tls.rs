//! Optional TLS: with `[tls]` set the service answers over TLS (checked
//! against the certificate) and refuses plain connections.

use std::path::PathBuf;

use moderato::config::{Config, TlsFiles};
use moderato::grpc::pb;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

use crate::util::*;

/// A server with `[tls]` set, its certificate self-signed for
/// `localhost`: the server, the certificate's PEM and its file.
async fn start_tls_server(directory: &std::path::Path) -> (TestServer, String, PathBuf) {
    start_tls_server_with(directory, None).await
}

async fn start_tls_server_with(
    directory: &std::path::Path,
    console_listen: Option<std::net::SocketAddr>,
) -> (TestServer, String, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = certified.cert.pem();
    let cert = directory.join("server.pem");
    let key = directory.join("server.key");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let server = start_with(Config {
        tls: Some(TlsFiles {
            cert: cert.clone(),
            key,
        }),
        console_listen,
        ..test_config(&directory.join("data"))
    })
    .await;
    (server, cert_pem, cert)
}

#[tokio::test(flavor = "multi_thread")]
async fn with_tls_configured_calls_go_over_tls_only() {
    let directory = tempfile::tempdir().unwrap();
    let (server, cert_pem, _) = start_tls_server(directory.path()).await;

    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(&cert_pem))
        .domain_name("localhost");
    let channel = Channel::from_shared(format!("https://localhost:{}", server.address.port()))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .expect("a TLS connection");
    let response = pb::moderation_client::ModerationClient::new(channel)
        .check_comment(with_token(NEWS_TOKEN, comment("tls", HAM_TEXT)))
        .await
        .unwrap()
        .into_inner();
    assert!(response.stored);

    // A plain-text client gets no answer.
    let plain = Channel::from_shared(format!("http://{}", server.address))
        .unwrap()
        .connect()
        .await;
    if let Ok(plain) = plain {
        let refused = pb::moderation_client::ModerationClient::new(plain)
            .check_comment(with_token(NEWS_TOKEN, comment("plain", HAM_TEXT)))
            .await;
        assert!(refused.is_err());
    }
    server.stop().await;
}

#[tokio::test]
async fn a_missing_certificate_is_named_at_start() {
    let directory = tempfile::tempdir().unwrap();
    let missing = directory.path().join("missing.pem");
    let config = Config {
        tls: Some(TlsFiles {
            cert: missing.clone(),
            key: missing.clone(),
        }),
        ..test_config(directory.path())
    };
    let error = moderato::server::State::open(&config)
        .err()
        .expect("refused");
    let message = error.to_string();
    assert!(message.contains("missing.pem"), "{message}");
    assert!(message.contains("certificate"), "{message}");
}

#[tokio::test]
async fn a_certificate_file_without_a_certificate_is_named_at_start() {
    let directory = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let empty = directory.path().join("empty.pem");
    std::fs::write(&empty, "").unwrap();
    let key = directory.path().join("server.key");
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let config = Config {
        tls: Some(TlsFiles {
            cert: empty.clone(),
            key,
        }),
        ..test_config(directory.path())
    };
    let error = moderato::server::State::open(&config)
        .err()
        .expect("refused");
    let message = error.to_string();
    assert!(message.contains("empty.pem"), "{message}");
    assert!(
        message.contains("the certificate file holds no certificate"),
        "{message}"
    );
    assert!(!message.contains("peer"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_command_line_reaches_a_tls_server_through_the_named_authority() {
    let directory = tempfile::tempdir().unwrap();
    let (server, _, cert) = start_tls_server(directory.path()).await;
    let other_authority = directory.path().join("other.pem");
    let other = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    std::fs::write(&other_authority, other.cert.pem()).unwrap();
    let queue_list_at = |server_address: String, ca_cert: Option<&PathBuf>| {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_moderato"));
        command
            .args(["queue", "list"])
            .env("MODERATO_SERVER", server_address)
            .env("MODERATO_TOKEN", MODERATOR_TOKEN)
            .env_remove("MODERATO_CA_CERT");
        if let Some(ca_cert) = ca_cert {
            command.arg("--ca-cert").arg(ca_cert);
        }
        command.output()
    };
    let port = server.address.port();
    let queue_list =
        |ca_cert: Option<&PathBuf>| queue_list_at(format!("https://localhost:{port}"), ca_cert);

    let listed = queue_list(Some(&cert)).await.unwrap();
    let stderr = String::from_utf8_lossy(&listed.stderr);
    assert!(listed.status.success(), "{stderr}");

    // Without an authority, or with one that did not sign the server's
    // certificate: one line that says what is wrong.
    let refused = queue_list(None).await.unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--ca-cert"), "{stderr}");
    let refused = queue_list(Some(&other_authority)).await.unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    // A host the certificate does not name: what to change.
    let refused = queue_list_at(format!("https://127.0.0.1:{port}"), Some(&cert))
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("subjectAltName"), "{stderr}");
    // Plain HTTP/2 to a TLS server: the scheme is named, not a refusal.
    let refused = queue_list_at(format!("http://localhost:{port}"), None)
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("https://"), "{stderr}");
    assert!(!stderr.contains("the server refused"), "{stderr}");
    server.stop().await;
}

#[tokio::test]
async fn a_certificate_that_does_not_parse_is_named_at_start() {
    let directory = tempfile::tempdir().unwrap();
    let cert = directory.path().join("junk.pem");
    let key = directory.path().join("junk.key");
    std::fs::write(&cert, "not a certificate").unwrap();
    std::fs::write(&key, "not a key").unwrap();
    let config = Config {
        tls: Some(TlsFiles { cert, key }),
        ..test_config(&directory.path().join("data"))
    };
    let error = moderato::server::State::open(&config)
        .err()
        .expect("refused before the service is ready");
    let message = error.to_string();
    assert!(message.contains("junk.pem"), "{message}");
    assert!(message.contains("junk.key"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
}

/// Sends `GET path` over `stream` and returns the answer's status line
/// and headers, lower case (empty when the connection ends without an
/// answer).
async fn response_head<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    path: &str,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let request = format!("GET {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).to_lowercase();
    response
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn with_tls_configured_the_console_is_served_over_tls_only() {
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    let directory = tempfile::tempdir().unwrap();
    let (server, cert_pem, _) =
        start_tls_server_with(directory.path(), Some("127.0.0.1:0".parse().unwrap())).await;
    let console = server.http_address.unwrap();

    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap())
        .unwrap();
    let provider = std::sync::Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let client = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(console).await.unwrap();
    let tls = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .expect("the console answers the TLS handshake with the configured certificate");
    // Over TLS, the console's API answers (no token: 401), telling the
    // browser to come back over HTTPS only.
    let head = response_head(tls, "/api/me").await;
    assert!(head.starts_with("http/1.1 401"), "{head:?}");
    assert!(
        head.contains("strict-transport-security: max-age=31536000"),
        "{head:?}"
    );

    // Plain HTTP gets no HTTP answer.
    let tcp = tokio::net::TcpStream::connect(console).await.unwrap();
    let answer = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        response_head(tcp, "/api/me"),
    )
    .await
    .expect("the console closes a plain connection");
    assert!(!answer.starts_with("http/1.1"), "{answer:?}");
    server.stop().await;
}
