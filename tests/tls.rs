//! Optional TLS: with `[tls]` set the service answers over TLS (checked
//! against the certificate) and refuses plain connections.

use moderato::config::{Config, TlsFiles};
use moderato::grpc::pb;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

use crate::util::*;

#[tokio::test(flavor = "multi_thread")]
async fn with_tls_configured_calls_go_over_tls_only() {
    let directory = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert_pem = certified.cert.pem();
    let cert = directory.path().join("server.pem");
    let key = directory.path().join("server.key");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let server = start_with(Config {
        tls: Some(TlsFiles { cert, key }),
        ..test_config(&directory.path().join("data"))
    })
    .await;

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
