//! The console's JSON API and the metrics endpoint through the running
//! service (the page itself is exercised in a real browser by the
//! `browser` suite).

use moderato::config::Config;
use moderato::grpc::pb;

use crate::util::*;

/// A comment the default model sends to review, with high priority.
const REVIEW_TEXT: &str = "great song, visit my page";

fn config_with_console(directory: &std::path::Path) -> Config {
    Config {
        console_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..test_config(directory)
    }
}

/// The value of one sample line of the metrics text, 0 when absent.
fn sample(metrics: &str, line_start: &str) -> f64 {
    metrics
        .lines()
        .find(|line| line.starts_with(line_start))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0.0, |value| value.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_metrics_move_with_the_calls() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(Config {
        metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..test_config(directory.path())
    })
    .await;
    let (status, before) = http(&server, "GET", "/metrics", None, "").await;
    assert_eq!(status, 200);
    let checks = "moderato_calls_total{rpc=\"CheckComment\",code=\"Ok\"}";
    let rejects = "moderato_verdicts_total{verdict=\"reject\"}";
    check_as_news(&server, comment("m1", SPAM_TEXT)).await;
    let flagged = check_as_news(&server, comment("m2", REVIEW_TEXT)).await;
    let (_, after) = http(&server, "GET", "/metrics", None, "").await;
    assert_eq!(
        sample(&after, checks),
        sample(&before, checks) + 2.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, rejects),
        sample(&before, rejects) + 1.0,
        "{after}"
    );
    assert!(after.contains("moderato_call_seconds_bucket{rpc=\"CheckComment\""));
    assert!(
        after.contains("moderato_model_info{version=\"default-"),
        "{after}"
    );
    assert_eq!(
        sample(&after, "moderato_queue_depth{site=\"news.example\"}"),
        1.0
    );
    // A label is one correction; the same label again is none.
    for _ in 0..2 {
        resolve_as_moderator(&server, vec![flagged.decision_id.clone()], pb::Label::Spam).await;
    }
    let (_, resolved) = http(&server, "GET", "/metrics", None, "").await;
    let corrections = "moderato_corrections_total";
    assert_eq!(
        sample(&resolved, corrections),
        sample(&after, corrections) + 1.0,
        "{resolved}"
    );
    // A stream is counted when it ends, with the status that ended it.
    let mut answers = server
        .moderation()
        .await
        .check_comments(with_token(
            NEWS_TOKEN,
            tokio_stream::iter(vec![comment("s1", HAM_TEXT), comment("", HAM_TEXT)]),
        ))
        .await
        .unwrap()
        .into_inner();
    while let Some(Ok(_)) = answers.message().await.transpose() {}
    let (_, streamed) = http(&server, "GET", "/metrics", None, "").await;
    let stream_calls = |code: &str| {
        sample(
            &streamed,
            &format!("moderato_calls_total{{rpc=\"CheckComments\",code=\"{code}\"}}"),
        )
    };
    assert_eq!(stream_calls("InvalidArgument"), 1.0, "{streamed}");
    assert_eq!(stream_calls("Ok"), 0.0, "{streamed}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn moderators_sign_in_list_and_resolve_through_the_console_api() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(config_with_console(directory.path())).await;
    let flagged = check_as_news(&server, comment("flagged", REVIEW_TEXT)).await;

    let (status, _) = http(&server, "GET", "/api/me", None, "").await;
    assert_eq!(status, 401);
    // The metrics name every site and ask for no token: they are not on
    // the port moderators reach (only on `metrics_listen`).
    let (status, _) = http(&server, "GET", "/metrics", None, "").await;
    assert_eq!(status, 404);
    let (status, _) = http(&server, "GET", "/api/me", Some(NEWS_TOKEN), "").await;
    assert_eq!(status, 403, "a site key is not a moderator");
    let (status, me) = http(&server, "GET", "/api/me", Some(MODERATOR_TOKEN), "").await;
    assert_eq!(status, 200);
    assert!(me.contains("news-moderator"), "{me}");

    let (status, page) = http(&server, "GET", "/api/queue", Some(MODERATOR_TOKEN), "").await;
    assert_eq!(status, 200);
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    let item = &page["items"][0];
    assert_eq!(item["decision_id"], flagged.decision_id.as_str());
    assert_eq!(item["priority"], "high");
    assert!(!item["reasons"].as_array().unwrap().is_empty());
    // The words that drove the model are there to be marked.
    assert!(
        item["highlights"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h["text"] == "visit" || h["text"] == "page"),
        "{item}"
    );

    let body = format!(
        "{{\"decision_ids\": [\"{}\"], \"label\": \"spam\"}}",
        flagged.decision_id
    );
    let (status, resolved) = http(
        &server,
        "POST",
        "/api/resolve",
        Some(MODERATOR_TOKEN),
        &body,
    )
    .await;
    assert_eq!(status, 200, "{resolved}");
    let (_, page) = http(&server, "GET", "/api/queue", Some(MODERATOR_TOKEN), "").await;
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["total"], 0, "{page}");

    let (status, refused) = http(
        &server,
        "POST",
        "/api/resolve",
        Some(MODERATOR_TOKEN),
        "{\"decision_ids\": [\"x\"], \"label\": \"maybe\"}",
    )
    .await;
    assert_eq!(status, 400);
    assert!(refused.contains("label"), "{refused}");
    // A body that is no such JSON, or a query that does not parse: 400
    // with the console's error object, naming what is wrong.
    for (method, path, body) in [
        ("POST", "/api/resolve", "{\"decision_ids\": [\"x\"]"),
        ("POST", "/api/resolve", "{\"decision_ids\": [\"x\"]}"),
        ("GET", "/api/queue?page_token=a&page_token=b&site=%FF", ""),
    ] {
        let (status, refused) = http(&server, method, path, Some(MODERATOR_TOKEN), body).await;
        assert_eq!(status, 400, "{path} {body}: {refused}");
        let refused: serde_json::Value = serde_json::from_str(&refused)
            .unwrap_or_else(|error| panic!("{path} {body}: {error}: {refused}"));
        let message = refused["error"].as_str().unwrap();
        assert!(
            message.starts_with("body") || message.starts_with("query"),
            "{message}"
        );
    }
    let (status, stats) = http(&server, "GET", "/api/stats", Some(MODERATOR_TOKEN), "").await;
    assert_eq!(status, 200);
    assert!(stats.contains("\"site_id\":\"news.example\""), "{stats}");
    let (status, html) = http(&server, "GET", "/", None, "").await;
    assert_eq!(status, 200);
    assert!(html.contains("Moderator token"));
    server.stop().await;
}
