//! Keys and roles: who may call what.

use moderato::grpc::pb;
use tonic::{Code, Request};

use crate::util::*;

#[tokio::test]
async fn no_key_or_an_unknown_key_is_unauthenticated() {
    let (server, _directory) = start_server().await;
    let mut client = server.moderation().await;
    let status = client
        .check_comment(Request::new(comment("c", HAM_TEXT)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let status = client
        .check_comment(with_token("not-a-key", comment("c", HAM_TEXT)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    let mut basic = Request::new(comment("c", HAM_TEXT));
    basic.metadata_mut().insert(
        "authorization",
        format!("Basic {NEWS_TOKEN}").parse().unwrap(),
    );
    assert_eq!(
        client.check_comment(basic).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    server.stop().await;
}

/// A call without a key, or with a key of another role, is refused from
/// its headers, before its message is read: a message over the size limit
/// shows it (with a key of the service's role, reading it is what fails).
#[tokio::test]
async fn a_call_without_a_key_for_its_service_is_refused_before_its_message_is_read() {
    let (server, _directory) = start_server().await;
    let mut client = server.moderation().await;
    let oversized = comment("c", &"a".repeat(600 * 1024));
    let status = client
        .check_comment(with_token("not-a-key", oversized.clone()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated, "{status:?}");
    let status = client
        .check_comment(with_token(MODERATOR_TOKEN, oversized.clone()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    assert!(status.message().contains("Moderation"), "{status:?}");
    let status = client
        .check_comment(with_token(NEWS_TOKEN, oversized))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_site_key_cannot_act_for_another_site() {
    let (server, _directory) = start_server().await;
    let mut client = server.moderation().await;
    let mut request = comment("c", HAM_TEXT);
    request.site_id = BLOG_SITE.to_string();
    let status = client
        .check_comment(with_token(NEWS_TOKEN, request))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // A site id that no site can have is a bad argument, for a site key as
    // for any other, in a single check and in a stream alike.
    let mut malformed = comment("c", HAM_TEXT);
    malformed.site_id = "news example/..".to_string();
    let status = client
        .check_comment(with_token(NEWS_TOKEN, malformed.clone()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");
    assert!(status.message().starts_with("site_id"), "{status}");
    let status = stream_outcome(
        client
            .check_comments(with_token(NEWS_TOKEN, tokio_stream::iter(vec![malformed])))
            .await,
    )
    .await;
    assert_eq!(status.code(), Code::InvalidArgument, "{status}");

    // Nor read another site's decision by its id.
    let stored = client
        .check_comment(with_token(NEWS_TOKEN, comment("mine", HAM_TEXT)))
        .await
        .unwrap()
        .into_inner();
    let status = client
        .get_decision(with_token(
            BLOG_TOKEN,
            pb::GetDecisionRequest {
                decision_id: stored.decision_id,
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    server.stop().await;
}

#[tokio::test]
async fn keys_outside_their_role_are_denied() {
    let (server, _directory) = start_server().await;
    // A moderator key cannot check comments.
    let status = server
        .moderation()
        .await
        .check_comment(with_token(MODERATOR_TOKEN, comment("c", HAM_TEXT)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // Nor look a decision up: refused for its role before the lookup, so
    // that an id that names nothing is refused the same way.
    let status = server
        .moderation()
        .await
        .get_decision(with_token(
            MODERATOR_TOKEN,
            pb::GetDecisionRequest {
                decision_id: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b".to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    // A site key cannot use Review or Training.
    let status = server
        .review()
        .await
        .list_queue(with_token(NEWS_TOKEN, pb::ListQueueRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = server
        .training()
        .await
        .list_models(with_token(
            MODERATOR_TOKEN,
            pb::ListModelsRequest::default(),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    server.stop().await;
}

#[tokio::test]
async fn an_admin_key_may_check_for_any_named_site() {
    let (server, _directory) = start_server().await;
    let mut client = server.moderation().await;
    let mut request = comment("c", HAM_TEXT);
    request.site_id = BLOG_SITE.to_string();
    let response = client
        .check_comment(with_token(ADMIN_TOKEN, request))
        .await
        .unwrap()
        .into_inner();
    assert!(response.stored);
    // Without a site the admin key cannot know which site is meant.
    let mut unnamed = comment("d", HAM_TEXT);
    unnamed.site_id.clear();
    let status = client
        .check_comment(with_token(ADMIN_TOKEN, unnamed))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("site_id"));
    server.stop().await;
}

#[tokio::test]
async fn with_no_keys_configured_a_first_start_admin_token_works() {
    let directory = tempfile::tempdir().unwrap();
    let mut config = moderato::config::Config {
        data_dir: directory.path().to_path_buf(),
        listen: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    config.keys.clear();
    let server = start_with(config).await;
    let token = std::fs::read_to_string(directory.path().join("admin.token")).unwrap();
    let mut request = comment("c", HAM_TEXT);
    request.site_id = NEWS_SITE.to_string();
    let response = server
        .moderation()
        .await
        .check_comment(with_token(token.trim(), request))
        .await
        .unwrap()
        .into_inner();
    assert!(response.stored);
    let status = server
        .moderation()
        .await
        .check_comment(with_token("guess", comment("d", HAM_TEXT)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    server.stop().await;
}

/// The status a streaming call ended with: its refusal when it was refused
/// at once, else the first error its stream ended with, else OK.
async fn stream_outcome<T>(
    call: Result<tonic::Response<tonic::Streaming<T>>, tonic::Status>,
) -> tonic::Status {
    let mut stream = match call {
        Err(status) => return status,
        Ok(response) => response.into_inner(),
    };
    loop {
        match stream.message().await {
            Ok(Some(_)) => {}
            Ok(None) => return tonic::Status::ok(""),
            Err(status) => return status,
        }
    }
}

/// The role is checked before the arguments: a key outside its role is
/// told so, not that its arguments are wrong (which would answer a
/// question it may not ask).
#[tokio::test]
async fn a_key_outside_its_role_is_denied_whatever_its_arguments_hold() {
    let (server, _directory) = start_server().await;
    // A moderator reporting a comment, with no label and no comment named.
    let status = server
        .moderation()
        .await
        .report_comment(with_token(
            MODERATOR_TOKEN,
            pb::ReportCommentRequest {
                label: pb::Label::Unspecified.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");

    // A site key reading the review queue, the statistics or the
    // corrections, naming a site id that is not valid.
    let invalid_site = "not a site id!".to_string();
    let status = server
        .review()
        .await
        .list_queue(with_token(
            NEWS_TOKEN,
            pb::ListQueueRequest {
                site_id: invalid_site.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = server
        .review()
        .await
        .get_stats(with_token(
            NEWS_TOKEN,
            pb::GetStatsRequest {
                site_id: invalid_site.clone(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let export = server
        .review()
        .await
        .export_corrections(with_token(
            NEWS_TOKEN,
            pb::ExportCorrectionsRequest {
                site_id: invalid_site,
            },
        ))
        .await;
    let status = stream_outcome(export).await;
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    server.stop().await;
}

/// A `CheckComments` stream is refused for its key's role when it opens:
/// a key that may not check comments gets no clean end by sending none.
#[tokio::test]
async fn a_comment_stream_is_refused_for_its_role_before_any_comment() {
    let (server, _directory) = start_server().await;
    let no_comments: Vec<pb::CheckCommentRequest> = Vec::new();
    let call = server
        .moderation()
        .await
        .check_comments(with_token(MODERATOR_TOKEN, tokio_stream::iter(no_comments)))
        .await;
    let status = stream_outcome(call).await;
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    server.stop().await;
}
