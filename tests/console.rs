//! The console's JSON API and the metrics endpoint through the running
//! service (the page itself is exercised in a real browser by the
//! `browser` suite).

use moderato::config::Config;
use moderato::grpc::pb;

use crate::util::*;

/// A comment the default model sends to review, with high priority.
const REVIEW_TEXT: &str = "good song, visit my page";

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
    // A retry answered with the stored decision, and a dry run, give no
    // verdict of their own: the verdicts agree with the stored decisions.
    check_as_news(&server, comment("m1", SPAM_TEXT)).await;
    dry_run_check(&server, SPAM_TEXT).await;
    let (_, after) = http(&server, "GET", "/metrics", None, "").await;
    assert_eq!(
        sample(&after, checks),
        sample(&before, checks) + 4.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, rejects),
        sample(&before, rejects) + 1.0,
        "{after}"
    );
    assert!(after.contains("moderato_call_seconds_bucket{rpc=\"CheckComment\""));
    // Both checks' decisions went through the storage writer, in one round
    // or two.
    let stored = "moderato_storage_round_decisions_total";
    assert_eq!(sample(&after, stored), sample(&before, stored) + 2.0);
    let rounds = "moderato_storage_round_seconds_count";
    let new_rounds = sample(&after, rounds) - sample(&before, rounds);
    assert!((1.0..=2.0).contains(&new_rounds), "{after}");
    assert!(sample(&after, "moderato_storage_round_seconds_sum") > 0.0);
    // Nothing is in progress or waiting once the checks are answered.
    for gauge in [
        "moderato_calls_in_progress",
        "moderato_calls_waiting",
        "moderato_calls_waiting_bytes",
    ] {
        assert!(after.contains(&format!("# TYPE {gauge} gauge")), "{after}");
        assert_eq!(sample(&after, gauge), 0.0, "{gauge}: {after}");
    }
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
    // A call with a key the service does not know is refused before its
    // message is read, when nobody knows which call it was.
    let refused = server
        .moderation()
        .await
        .check_comment(with_token("mdr_nobody", comment("m3", HAM_TEXT)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let (_, unknown) = http(&server, "GET", "/metrics", None, "").await;
    let unknown_calls = "moderato_calls_total{rpc=\"any\",code=\"Unauthenticated\"}";
    assert_eq!(
        sample(&unknown, unknown_calls),
        sample(&streamed, unknown_calls) + 1.0,
        "{unknown}"
    );
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

    // With nothing flagged by a verdict or a person yet, precision and
    // recall have no denominator: unknown, not 0.
    let figures = site_figures(&server).await;
    assert_eq!(figures["precision"], serde_json::Value::Null, "{figures}");
    assert_eq!(figures["recall"], serde_json::Value::Null, "{figures}");

    let body = format!(
        "{{\"decision_ids\": [\"{}\"], \"label\": \"spam\"}}",
        flagged.decision_id
    );
    // The first label changes the item; the same label again does not.
    for changed in [1, 0] {
        let resolved = resolve_in_console(&server, &body).await;
        assert_eq!(resolved["resolved"], 1, "{resolved}");
        assert_eq!(resolved["changed"], changed, "{resolved}");
        assert_eq!(resolved["overruled"], 0, "{resolved}");
    }
    let (_, page) = http(&server, "GET", "/api/queue", Some(MODERATOR_TOKEN), "").await;
    let page: serde_json::Value = serde_json::from_str(&page).unwrap();
    assert_eq!(page["total"], 0, "{page}");
    // The console sends no moderator name: the key's name stands in.
    let labelled = decision_by_id(&server, &flagged.decision_id).await.unwrap();
    assert_eq!(labelled.resolution.unwrap().by, "news-moderator");
    // A colleague approves it meanwhile; a moderator whose page still
    // lists it rejects it: the label replaces the colleague's, and the
    // answer says so.
    resolve_as_moderator(&server, vec![flagged.decision_id.clone()], pb::Label::Ham).await;
    let resolved = resolve_in_console(&server, &body).await;
    assert_eq!(resolved["changed"], 1, "{resolved}");
    assert_eq!(resolved["overruled"], 1, "{resolved}");
    assert_eq!(
        resolved["overruled_ids"],
        serde_json::json!([flagged.decision_id]),
        "{resolved}"
    );
    let figures = site_figures(&server).await;
    assert_eq!(figures["precision"], 1.0, "{figures}");
    assert_eq!(figures["recall"], 1.0, "{figures}");

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
        // A field the console does not take is refused, not dropped.
        (
            "POST",
            "/api/resolve",
            "{\"decision_ids\": [\"x\"], \"label\": \"spam\", \"moderator\": \"dave\"}",
        ),
        ("GET", "/api/queue?page_token=a&page_token=b&site=%FF", ""),
        // gRPC's names are no console parameters: refused, not ignored.
        ("GET", "/api/queue?min_priority=high", ""),
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
        if path.contains("min_priority") {
            assert!(
                message.contains("unknown field `min_priority`")
                    && message.ends_with("(the parameters are site, status and page_token)")
                    && !message.contains("Failed to deserialize"),
                "{message}"
            );
        }
    }
    let (status, stats) = http(&server, "GET", "/api/stats", Some(MODERATOR_TOKEN), "").await;
    assert_eq!(status, 200);
    assert!(stats.contains("\"site_id\":\"news.example\""), "{stats}");
    let (status, html) = http(&server, "GET", "/", None, "").await;
    assert_eq!(status, 200);
    assert!(html.contains("Moderator token"));
    server.stop().await;
}

/// A moderator labels the comment they were shown: when its author
/// edited it after the page was loaded (a bait and switch: harmless text
/// listed, spam put in its place), the label is refused with 409 and
/// nothing is labelled; listed again, the new text can be judged. Approved
/// and rejected items can be listed again, to correct a mistake.
#[tokio::test(flavor = "multi_thread")]
async fn a_label_is_for_the_comment_as_the_console_showed_it() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(config_with_console(directory.path())).await;
    let flagged = check_as_news(&server, comment("bait", REVIEW_TEXT)).await;
    let listed = |status: &'static str| {
        let server = &server;
        async move {
            let path = format!("/api/queue?status={status}");
            let (code, page) = http(server, "GET", &path, Some(MODERATOR_TOKEN), "").await;
            assert_eq!(code, 200, "{page}");
            let page: serde_json::Value = serde_json::from_str(&page).unwrap();
            page["items"].as_array().unwrap().clone()
        }
    };
    let items = listed("pending").await;
    assert_eq!(items.len(), 1);
    let shown = items[0]["revision"].as_str().unwrap().to_string();
    // The author edits it (the site rechecks it) into spam that still goes
    // to review.
    let edited = check_as_news(&server, recheck("bait", "see my profile for deals")).await;
    assert_eq!(edited.decision_id, flagged.decision_id);
    let body = |revision: &str| {
        format!(
            "{{\"decision_ids\": [\"{id}\"], \"label\": \"ham\", \"shown\": {{\"{id}\": \"{revision}\"}}}}",
            id = flagged.decision_id
        )
    };
    let (status, refused) = http(
        &server,
        "POST",
        "/api/resolve",
        Some(MODERATOR_TOKEN),
        &body(&shown),
    )
    .await;
    assert_eq!(status, 409, "{refused}");
    assert!(refused.contains("edited since it was shown"), "{refused}");
    let untouched = decision_by_id(&server, &flagged.decision_id).await.unwrap();
    assert_eq!(untouched.status(), pb::ReviewStatus::Pending);
    // Listed again, the item shows the new text under a new revision, and
    // a label for that is applied.
    let items = listed("pending").await;
    assert_eq!(items[0]["content"], "see my profile for deals");
    let now = items[0]["revision"].as_str().unwrap();
    assert_ne!(now, shown);
    let resolved = resolve_in_console(&server, &body(now)).await;
    assert_eq!(resolved["changed"], 1, "{resolved}");
    // Approved by mistake: the approved items list it, and it can be
    // rejected from there.
    assert!(listed("pending").await.is_empty());
    let approved = listed("approved").await;
    assert_eq!(approved.len(), 1);
    assert_eq!(approved[0]["decision_id"], flagged.decision_id.as_str());
    let rejection = body(approved[0]["revision"].as_str().unwrap()).replace("\"ham\"", "\"spam\"");
    resolve_in_console(&server, &rejection).await;
    assert_eq!(listed("rejected").await.len(), 1);
    assert!(listed("approved").await.is_empty());
    let (status, refused) = http(
        &server,
        "GET",
        "/api/queue?status=maybe",
        Some(MODERATOR_TOKEN),
        "",
    )
    .await;
    assert_eq!(status, 400);
    assert!(refused.contains("status"), "{refused}");
    server.stop().await;
}

/// A `/api/resolve` call as the moderator that must succeed, and its answer.
async fn resolve_in_console(server: &TestServer, body: &str) -> serde_json::Value {
    let (status, resolved) =
        http(server, "POST", "/api/resolve", Some(MODERATOR_TOKEN), body).await;
    assert_eq!(status, 200, "{resolved}");
    serde_json::from_str(&resolved).unwrap()
}

/// The news site's row of the console's `/api/stats`.
async fn site_figures(server: &TestServer) -> serde_json::Value {
    let (status, stats) = http(server, "GET", "/api/stats", Some(MODERATOR_TOKEN), "").await;
    assert_eq!(status, 200, "{stats}");
    let stats: serde_json::Value = serde_json::from_str(&stats).unwrap();
    stats["sites"]
        .as_array()
        .unwrap()
        .iter()
        .find(|site| site["site_id"] == "news.example")
        .unwrap_or_else(|| panic!("no figures for news.example: {stats}"))
        .clone()
}

/// One HTTP/1.1 exchange with the console: the status, the head's lines
/// (lower case) and the body. `extra_headers` end with `\r\n` each.
async fn exchange(
    server: &TestServer,
    method: &str,
    path: &str,
    extra_headers: &str,
    body: &[u8],
) -> (u16, String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.http_address.expect("the server has a console");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{extra_headers}\
         content-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    // The service may answer and close before it has read a body it
    // refuses: a failed write is part of the exchange then.
    let _ = stream.write_all(body).await;
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {response:?}"));
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, head.to_lowercase(), body.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn the_console_refuses_what_it_should_not_read_and_says_why() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(config_with_console(directory.path())).await;
    let moderator = format!("authorization: Bearer {MODERATOR_TOKEN}\r\n");
    let json = "content-type: application/json\r\n";

    // No token, or an empty one: 401 with the scheme to use.
    for authorization in [
        "",
        "authorization: Bearer \r\n",
        "authorization: Bearer    \r\n",
    ] {
        let (status, head, _) = exchange(&server, "GET", "/api/me", authorization, b"").await;
        assert_eq!(status, 401, "{authorization:?}");
        assert!(head.contains("www-authenticate: bearer"), "{head}");
    }
    // A large body from somebody without a token is refused for the
    // token, before it is read; with a token, for its size.
    let large = vec![b' '; 200 * 1024];
    let (status, _, _) = exchange(&server, "POST", "/api/resolve", json, &large).await;
    assert_eq!(status, 401);
    let headers = format!("{moderator}{json}");
    let (status, _, body) = exchange(&server, "POST", "/api/resolve", &headers, &large).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("\"error\""), "{body}");
    // A body that does not say it is JSON: 415.
    let (status, _, body) = exchange(
        &server,
        "POST",
        "/api/resolve",
        &moderator,
        b"{\"decision_ids\": [], \"label\": \"spam\"}",
    )
    .await;
    assert_eq!(status, 415, "{body}");
    // Ids are counted as sent, as `ResolveItems` counts them: one id
    // repeated past the limit is refused, not folded into one.
    let repeated = serde_json::json!({
        "decision_ids": vec![
            "0190c6a0-0000-7000-8000-000000000000";
            moderato::limits::MAX_RESOLVE_IDS + 1
        ],
        "label": "spam",
    })
    .to_string();
    let (status, _, body) = exchange(
        &server,
        "POST",
        "/api/resolve",
        &headers,
        repeated.as_bytes(),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("decision_ids"), "{body}");
    assert!(
        body.contains(&format!("1 to {}", moderato::limits::MAX_RESOLVE_IDS)),
        "{body}"
    );

    // The page and the API's answers carry the headers that keep them
    // from being framed, sniffed or (the API's) cached.
    let (status, page_head, _) = exchange(&server, "GET", "/", "", b"").await;
    assert_eq!(status, 200);
    let (status, api_head, _) = exchange(&server, "GET", "/api/me", &moderator, b"").await;
    assert_eq!(status, 200);
    for head in [&page_head, &api_head] {
        assert!(
            head.contains("content-security-policy: default-src 'self'; frame-ancestors 'none'"),
            "{head}"
        );
        assert!(head.contains("x-content-type-options: nosniff"), "{head}");
        assert!(head.contains("x-frame-options: deny"), "{head}");
    }
    assert!(api_head.contains("cache-control: no-store"), "{api_head}");
    // Over plain HTTP (a console on loopback), no HTTPS-only header.
    assert!(
        !page_head.contains("strict-transport-security"),
        "{page_head}"
    );
    assert!(page_head.contains("cache-control: no-cache"), "{page_head}");

    // A moderator of one site is refused another's queue.
    let (status, _, body) = exchange(
        &server,
        "GET",
        "/api/queue?site=blog.example",
        &moderator,
        b"",
    )
    .await;
    assert_eq!(status, 403, "{body}");
    server.stop().await;
}
