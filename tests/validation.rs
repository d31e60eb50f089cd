//! Bad input gets INVALID_ARGUMENT naming the field, and nothing is stored.

use moderato::grpc::pb;
use moderato::limits::MAX_CONTENT_BYTES;
use tonic::Code;

use crate::util::*;

async fn refused(request: pb::CheckCommentRequest) -> tonic::Status {
    let (server, _directory) = start_server().await;
    let status = server
        .moderation()
        .await
        .check_comment(with_token(NEWS_TOKEN, request))
        .await
        .unwrap_err();
    server.stop().await;
    status
}

#[tokio::test]
async fn oversized_content_names_the_limit() {
    let status = refused(comment("big", &"a".repeat(MAX_CONTENT_BYTES + 1))).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("content"), "{status}");
    assert!(
        status.message().contains(&MAX_CONTENT_BYTES.to_string()),
        "{status}"
    );
}

#[tokio::test]
async fn a_malformed_ip_is_refused() {
    let mut request = comment("c", HAM_TEXT);
    request.author = Some(pb::Author {
        ip: "10.0.0.300".to_string(),
        ..Default::default()
    });
    let status = refused(request).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("author.ip"), "{status}");
}

#[tokio::test]
async fn a_missing_comment_id_is_refused() {
    let status = refused(comment("", HAM_TEXT)).await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("comment_id"), "{status}");
}

#[tokio::test]
async fn a_malformed_decision_id_is_refused() {
    let (server, _directory) = start_server().await;
    let status = server
        .moderation()
        .await
        .get_decision(with_token(
            NEWS_TOKEN,
            pb::GetDecisionRequest {
                decision_id: "../../etc".to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("decision_id"), "{status}");
    server.stop().await;
}
