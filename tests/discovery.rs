//! Standard tools find the service: health checking and server reflection.

use tokio_stream::StreamExt;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

use crate::util::{start_server, TestServer};

#[tokio::test]
async fn health_answers_serving_without_a_key() {
    let (server, _directory) = start_server().await;
    let mut health = HealthClient::new(server.channel().await);
    for service in [
        "",
        "moderation.v1.Moderation",
        "moderation.v1.Review",
        "moderation.v1.Training",
    ] {
        let response = health
            .check(HealthCheckRequest {
                service: service.to_string(),
            })
            .await
            .unwrap_or_else(|status| panic!("health of {service:?}: {status}"));
        assert_eq!(
            response.into_inner().status(),
            ServingStatus::Serving,
            "{service:?}"
        );
    }
    server.stop().await;
}

/// Asks the server's reflection service one question; the first answer.
async fn ask_reflection(server: &TestServer, question: MessageRequest) -> ServerReflectionResponse {
    let mut reflection = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(question),
    };
    let mut responses = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    responses.next().await.unwrap().unwrap()
}

#[tokio::test]
async fn reflection_lists_the_three_services() {
    let (server, _directory) = start_server().await;
    let response = ask_reflection(&server, MessageRequest::ListServices(String::new())).await;
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection answer: {response:?}");
    };
    let names: Vec<String> = list
        .service
        .into_iter()
        .map(|service| service.name)
        .collect();
    for expected in [
        "moderation.v1.Moderation",
        "moderation.v1.Review",
        "moderation.v1.Training",
        "grpc.health.v1.Health",
    ] {
        assert!(
            names.iter().any(|name| name == expected),
            "{expected} missing from {names:?}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn reflection_describes_the_message_types() {
    let (server, _directory) = start_server().await;
    let response = ask_reflection(
        &server,
        MessageRequest::FileContainingSymbol("moderation.v1.CheckCommentRequest".to_string()),
    )
    .await;
    assert!(
        matches!(response.message_response, Some(MessageResponse::FileDescriptorResponse(ref files)) if !files.file_descriptor_proto.is_empty()),
        "{response:?}"
    );
    server.stop().await;
}
