//! Bad input gets INVALID_ARGUMENT naming the field, and nothing is stored.

use moderato::grpc::pb;
use moderato::limits::{MAX_CONTENT_BYTES, MAX_MESSAGE_BYTES};
use tokio_stream::StreamExt;
use tonic::Code;

use crate::util::*;

/// Sends a comment that must be refused, and gives the refusal. A comment
/// that names itself is then looked up by its site and comment id: refused
/// input stores nothing, so there must be no decision to find.
async fn refused(request: pb::CheckCommentRequest) -> tonic::Status {
    let (server, _directory) = start_server().await;
    let site_id = request.site_id.clone();
    let comment_id = request.comment_id.clone();
    let status = server
        .moderation()
        .await
        .check_comment(with_token(NEWS_TOKEN, request))
        .await
        .unwrap_err();
    if !comment_id.is_empty() {
        assert_not_stored(&server, &site_id, &comment_id).await;
    }
    server.stop().await;
    status
}

/// Refused input stores nothing: there is no decision for the comment.
async fn assert_not_stored(server: &TestServer, site_id: &str, comment_id: &str) {
    let lookup = server
        .moderation()
        .await
        .get_decision(with_token(
            NEWS_TOKEN,
            pb::GetDecisionRequest {
                site_id: site_id.to_string(),
                comment_id: comment_id.to_string(),
                ..Default::default()
            },
        ))
        .await;
    match lookup {
        Ok(stored) => panic!(
            "the refused comment {comment_id:?} was stored: {:?}",
            stored.into_inner()
        ),
        Err(lookup) => assert_eq!(lookup.code(), Code::NotFound, "{lookup}"),
    }
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

/// The status of a `GetDecision` call with `token` that must be refused.
async fn refused_lookup(token: &str, request: pb::GetDecisionRequest) -> tonic::Status {
    let (server, _directory) = start_server().await;
    let status = server
        .moderation()
        .await
        .get_decision(with_token(token, request))
        .await
        .unwrap_err();
    server.stop().await;
    status
}

#[tokio::test]
async fn a_malformed_decision_id_is_refused() {
    let status = refused_lookup(
        NEWS_TOKEN,
        pb::GetDecisionRequest {
            decision_id: "../../etc".to_string(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("decision_id"), "{status}");
}

#[tokio::test]
async fn a_message_beyond_the_message_limit_is_refused_by_the_transport() {
    let (server, _directory) = start_server().await;
    let mut client = server.moderation().await;
    // Just inside the message limit, a long text is refused by the field
    // limit, naming it; just beyond, the transport refuses the message.
    let inside = pb::CheckCommentRequest {
        context: Some(pb::PostContext {
            post_text: "a".repeat(MAX_MESSAGE_BYTES - 1024),
            ..Default::default()
        }),
        ..comment("inside", HAM_TEXT)
    };
    let status = client
        .check_comment(with_token(NEWS_TOKEN, inside))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("context.post_text"), "{status}");

    let beyond = pb::CheckCommentRequest {
        context: Some(pb::PostContext {
            post_text: "a".repeat(MAX_MESSAGE_BYTES + 1),
            ..Default::default()
        }),
        ..comment("beyond", HAM_TEXT)
    };
    let status = client
        .check_comment(with_token(NEWS_TOKEN, beyond.clone()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status}");
    // In a stream, the message too large ends it, named by its place.
    let mut answers = client
        .check_comments(with_token(
            NEWS_TOKEN,
            tokio_stream::iter(vec![comment("streamed", HAM_TEXT), beyond]),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(answers.next().await.unwrap().unwrap().stored);
    let status = answers.next().await.unwrap().unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status}");
    assert!(
        status.message().starts_with("comment 2 of the stream: "),
        "{status}"
    );
    // Nothing was stored, and the service goes on answering.
    for comment_id in ["inside", "beyond"] {
        assert_eq!(
            decision_by_comment(&server, comment_id)
                .await
                .unwrap_err()
                .code(),
            Code::NotFound
        );
    }
    assert!(
        check_as_news(&server, comment("after", HAM_TEXT))
            .await
            .stored
    );
    server.stop().await;
}

#[tokio::test]
async fn a_malformed_site_id_is_refused_for_admin_keys_too() {
    let status = refused_lookup(
        ADMIN_TOKEN,
        pb::GetDecisionRequest {
            site_id: "news example/..".to_string(),
            comment_id: "c1".to_string(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("site_id"), "{status}");
}

/// A comment as a client that builds its bytes by hand could send it: the
/// fields of `CheckCommentRequest`, but `content` as raw bytes.
#[derive(Clone, PartialEq, prost::Message)]
struct HandBuiltComment {
    #[prost(string, tag = "1")]
    site_id: String,
    #[prost(string, tag = "2")]
    comment_id: String,
    #[prost(bytes = "vec", tag = "3")]
    content: Vec<u8>,
}

/// A message that does not decode (a comment whose text is not UTF-8) is
/// the sender's mistake: INVALID_ARGUMENT naming the field, not INTERNAL,
/// which would read as the server's fault; and nothing is stored.
#[tokio::test(flavor = "multi_thread")]
async fn a_message_that_does_not_decode_is_invalid_argument_naming_the_field() {
    let (server, _directory) = start_server().await;
    let mut grpc = tonic::client::Grpc::new(server.channel().await);
    grpc.ready().await.unwrap();
    let comment = HandBuiltComment {
        site_id: NEWS_SITE.to_string(),
        comment_id: "c-raw".to_string(),
        content: vec![0xff, 0xfe],
    };
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(
        "/moderation.v1.Moderation/CheckComment",
    );
    let codec = tonic_prost::ProstCodec::<HandBuiltComment, pb::CheckCommentResponse>::default();
    let status = grpc
        .unary(with_token(NEWS_TOKEN, comment), path, codec)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("content"), "{status:?}");
    assert_not_stored(&server, NEWS_SITE, "c-raw").await;
}

/// One call's metadata beyond its limit is refused by the transport: the
/// call fails (tonic reports HTTP/2's refusal, status 431, as UNKNOWN),
/// nothing is stored, and the service goes on answering.
#[tokio::test(flavor = "multi_thread")]
async fn metadata_beyond_its_limit_is_refused_by_the_transport() {
    let (server, _directory) = start_server().await;
    let mut request = with_token(NEWS_TOKEN, comment("c-headers", "hello"));
    let padding = "x".repeat(moderato::limits::MAX_HEADER_LIST_BYTES as usize + 1024);
    request
        .metadata_mut()
        .insert("x-padding", padding.parse().unwrap());
    let status = server
        .moderation()
        .await
        .check_comment(request)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unknown, "{status:?}");
    assert!(status.message().contains("431"), "{status:?}");
    assert_not_stored(&server, NEWS_SITE, "c-headers").await;
}
