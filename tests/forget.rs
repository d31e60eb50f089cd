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
        // As read from a token file, with its line break.
        .env("MODERATO_TOKEN", format!("{NEWS_TOKEN}\n"))
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

/// A decision of `comment_id` on the news site, made `days_ago` days ago,
/// as the service would have stored it then.
fn news_decision_made_days_ago(
    comment_id: &str,
    days_ago: u64,
    status: moderato::domain::ReviewStatus,
) -> moderato::domain::Decision {
    use moderato::domain::*;
    let made = std::time::SystemTime::now() - std::time::Duration::from_secs(days_ago * 86_400);
    let since_epoch = made.duration_since(std::time::UNIX_EPOCH).unwrap();
    let id = uuid::Uuid::new_v7(uuid::Timestamp::from_unix(
        uuid::NoContext,
        since_epoch.as_secs(),
        since_epoch.subsec_nanos(),
    ));
    let at = UnixMillis(since_epoch.as_millis() as i64);
    Decision {
        decision_id: id.to_string(),
        comment: Comment {
            site_id: NEWS_SITE.to_string(),
            comment_id: comment_id.to_string(),
            content: HAM_TEXT.to_string(),
            author: Author::default(),
            context: PostContext::default(),
            submitted_at: at,
            form: FormSignals::default(),
        },
        assessment: Assessment {
            verdict: Verdict::Allow,
            spam_probability: 0.1,
            score: 0.1,
            priority: Priority::Low,
            reasons: vec![],
            model_version: "earlier".to_string(),
        },
        created_at: at,
        status,
        resolution: None,
        labels_set: 0,
    }
}

/// With `[retention] decisions_days` set, the running service forgets the
/// comments whose decisions are older, unless they wait for review, and
/// still counts them in the statistics.
#[tokio::test(flavor = "multi_thread")]
async fn comments_past_the_retention_period_are_forgotten_but_still_counted() {
    use moderato::domain::ReviewStatus;
    let directory = tempfile::tempdir().unwrap();
    let config = moderato::config::Config {
        retention: moderato::retention::RetentionParams { decisions_days: 2 }
            .check()
            .unwrap(),
        ..test_config(directory.path())
    };
    let old = news_decision_made_days_ago("old", 3, ReviewStatus::Approved);
    let waiting = news_decision_made_days_ago("waiting", 3, ReviewStatus::Pending);
    let recent = news_decision_made_days_ago("recent", 1, ReviewStatus::Approved);
    {
        let store = moderato::store::Store::open(&config.data_dir.join("db")).unwrap();
        store
            .insert_decisions(&[old.clone(), waiting.clone(), recent.clone()])
            .unwrap();
        store.flush().unwrap();
    }
    let server = start_with(config.clone()).await;
    let fresh = check_as_news(&server, by_reader("fresh", HAM_TEXT)).await;

    // The service looks at its start: the old comment goes.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        match decision_by_id(&server, &old.decision_id).await {
            Err(status) if status.code() == Code::NotFound => break,
            other => assert!(
                std::time::Instant::now() < deadline,
                "the old decision is still there: {other:?}"
            ),
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let status = decision_by_comment(&server, "old").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    // The one waiting for review, the recent one and the fresh one stay.
    for kept in [
        &waiting.decision_id,
        &recent.decision_id,
        &fresh.decision_id,
    ] {
        decision_by_id(&server, kept).await.unwrap();
    }
    // The statistics count all four, after a restart too (which checks
    // the daily counters against the queue's).
    assert_eq!(news_stats(&server).await.total, 4);
    server.stop().await;
    let server = start_with(config).await;
    assert_eq!(news_stats(&server).await.total, 4);
    server.stop().await;
}
