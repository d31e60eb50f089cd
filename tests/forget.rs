//! `ForgetComment`: a site deletes what the service keeps of one comment,
//! through the running service and across a restart.

use moderato::grpc::pb;
use tonic::Code;

use crate::util::*;

async fn news_stats(server: &TestServer) -> pb::Stats {
    server
        .review()
        .await
        .get_stats(with_token(
            MODERATOR_TOKEN,
            pb::GetStatsRequest {
                site_id: NEWS_SITE.to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

async fn exported_comment_ids(server: &TestServer) -> Vec<String> {
    let mut stream = server
        .review()
        .await
        .export_corrections(with_token(
            MODERATOR_TOKEN,
            pb::ExportCorrectionsRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner();
    let mut ids = Vec::new();
    while let Some(correction) = stream.message().await.unwrap() {
        ids.push(correction.comment_id);
    }
    ids.sort();
    ids
}

fn by_reader(comment_id: &str, text: &str) -> pb::CheckCommentRequest {
    pb::CheckCommentRequest {
        author: Some(pb::Author {
            name: "Anna Reader".to_string(),
            email: "anna@reader.example".to_string(),
            ip: "198.51.100.7".to_string(),
            ..Default::default()
        }),
        ..comment(comment_id, text)
    }
}

#[tokio::test]
async fn a_forgotten_comment_leaves_nothing_behind_and_stays_forgotten_after_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(test_config(directory.path())).await;
    let kept = check_as_news(&server, by_reader("kept", HAM_TEXT)).await;
    let gone = check_as_news(&server, by_reader("gone", SPAM_TEXT)).await;
    resolve_as_moderator(
        &server,
        vec![kept.decision_id.clone(), gone.decision_id.clone()],
        pb::Label::Spam,
    )
    .await;
    let before = news_stats(&server).await;
    assert_eq!(before.total, 2, "{before:?}");
    assert_eq!(exported_comment_ids(&server).await, vec!["gone", "kept"]);

    assert!(forget_comment(&server, NEWS_TOKEN, "gone").await.unwrap());
    let status = decision_by_comment(&server, "gone").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let status = decision_by_id(&server, &gone.decision_id)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    let after = news_stats(&server).await;
    assert_eq!(after.total, 1, "{after:?}");
    assert_eq!(exported_comment_ids(&server).await, vec!["kept"]);
    // The other comment is as it was, and forgetting again is harmless.
    let still = decision_by_comment(&server, "kept").await.unwrap();
    assert_eq!(still.decision_id, kept.decision_id);
    assert!(!forget_comment(&server, NEWS_TOKEN, "gone").await.unwrap());
    assert!(!forget_comment(&server, NEWS_TOKEN, "never-checked")
        .await
        .unwrap());
    server.stop().await;

    // After a restart: still gone, the counters agree, and the comment id
    // checked again is a new comment.
    let server = start_with(test_config(directory.path())).await;
    let status = decision_by_comment(&server, "gone").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert_eq!(news_stats(&server).await.total, 1);
    assert_eq!(exported_comment_ids(&server).await, vec!["kept"]);
    let again = check_as_news(&server, by_reader("gone", HAM_TEXT)).await;
    assert_ne!(again.decision_id, gone.decision_id);
    assert_eq!(news_stats(&server).await.total, 2);
    server.stop().await;
}

#[tokio::test]
async fn only_the_comments_site_may_forget_it() {
    let (server, _directory) = start_server().await;
    check_as_news(&server, by_reader("mine", HAM_TEXT)).await;
    // Another site's key names the news site: refused, and the comment is
    // still there. A moderator's key is of the wrong role.
    let request = |site: &str| pb::ForgetCommentRequest {
        site_id: site.to_string(),
        comment_id: "mine".to_string(),
    };
    let mut client = server.moderation().await;
    let status = client
        .forget_comment(with_token(BLOG_TOKEN, request(NEWS_SITE)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    let status = client
        .forget_comment(with_token(MODERATOR_TOKEN, request(NEWS_SITE)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status:?}");
    // The blog's own (empty) site has no such comment.
    assert!(!forget_comment(&server, BLOG_TOKEN, "mine").await.unwrap());
    let status = client
        .forget_comment(with_token(NEWS_TOKEN, request("")))
        .await;
    assert!(status.unwrap().into_inner().forgotten);
    let status = forget_comment(&server, NEWS_TOKEN, "").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("comment_id"), "{status:?}");
    server.stop().await;
}

/// `moderato forget` deletes comments through the API with a site's key,
/// saying what it found for each.
#[tokio::test]
async fn the_command_line_forgets_comments_with_a_sites_key() {
    let (server, _directory) = start_server().await;
    check_as_news(&server, by_reader("cli-1", HAM_TEXT)).await;
    check_as_news(&server, by_reader("cli-2", SPAM_TEXT)).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_moderato"))
        .args(["forget", "cli-1", "never-checked", "cli-2"])
        .env("MODERATO_SERVER", format!("http://{}", server.address))
        .env("MODERATO_TOKEN", NEWS_TOKEN)
        .output()
        .await
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "forgot cli-1\nnothing stored of never-checked\nforgot cli-2\n"
    );
    for comment_id in ["cli-1", "cli-2"] {
        let status = decision_by_comment(&server, comment_id).await.unwrap_err();
        assert_eq!(status.code(), Code::NotFound, "{comment_id}: {status:?}");
    }
    // A moderator's key is refused, saying why, and the command fails.
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_moderato"))
        .args(["forget", "--site", NEWS_SITE, "cli-1"])
        .env("MODERATO_SERVER", format!("http://{}", server.address))
        .env("MODERATO_TOKEN", MODERATOR_TOKEN)
        .output()
        .await
        .unwrap();
    assert!(!output.status.success(), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("Moderation"), "{stderr}");
    server.stop().await;
}
