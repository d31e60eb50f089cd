//! CheckComment, CheckComments and GetDecision through the running service.

use moderato::grpc::pb;
use tokio_stream::StreamExt;

use crate::util::*;

#[tokio::test]
async fn spam_is_not_allowed_and_ham_is_allowed_and_both_are_stored() {
    let (server, _directory) = start_server().await;

    let spam = check_as_news(&server, comment("spam-1", SPAM_TEXT)).await;
    assert_ne!(spam.verdict(), pb::Verdict::Allow, "{spam:?}");
    assert!(spam.stored);
    assert!(!spam.decision_id.is_empty());
    assert!(spam.score >= 0.5, "{spam:?}");

    let ham = check_as_news(&server, comment("ham-1", HAM_TEXT)).await;
    assert_eq!(ham.verdict(), pb::Verdict::Allow, "{ham:?}");
    assert!(ham.stored);
    assert!(ham.score < 0.5);
    assert_eq!(ham.model_version, spam.model_version);
    server.stop().await;
}

#[tokio::test]
async fn reasons_name_the_words_and_add_up_to_the_score() {
    let (server, _directory) = start_server().await;
    let response = check_as_news(&server, comment("spam-1", SPAM_TEXT)).await;
    let tokens: Vec<&pb::Reason> = response
        .reasons
        .iter()
        .filter(|r| r.code == "token")
        .collect();
    assert!(!tokens.is_empty(), "{response:?}");
    assert!(tokens.iter().all(|r| r.source() == pb::ReasonSource::Model));
    assert!(tokens
        .iter()
        .any(|r| r.message.contains("subscribe") || r.message.contains("channel")));
    let log_odds: f64 = response.reasons.iter().map(|r| r.weight).sum();
    let score = 1.0 / (1.0 + (-log_odds).exp());
    assert!(
        (score - response.score).abs() < 1e-9,
        "{score} vs {}",
        response.score
    );
    server.stop().await;
}

#[tokio::test]
async fn get_decision_finds_by_id_and_by_comment() {
    let (server, _directory) = start_server().await;
    let mut client = server.moderation().await;
    let checked = check_as_news(&server, comment("c-7", HAM_TEXT)).await;

    let by_id = decision_by_id(&server, &checked.decision_id).await.unwrap();
    assert_eq!(by_id.comment_id, "c-7");
    assert_eq!(by_id.site_id, NEWS_SITE);
    assert_eq!(by_id.content, HAM_TEXT);
    assert_eq!(by_id.verdict, checked.verdict);
    assert_eq!(by_id.status(), pb::ReviewStatus::Approved);
    assert!(by_id.created_at.is_some());

    let by_comment = client
        .get_decision(with_token(
            NEWS_TOKEN,
            pb::GetDecisionRequest {
                site_id: String::new(), // the key's only site
                comment_id: "c-7".to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(by_comment.decision_id, checked.decision_id);

    let missing = client
        .get_decision(with_token(
            NEWS_TOKEN,
            pb::GetDecisionRequest {
                comment_id: "never-sent".to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(missing.code(), tonic::Code::NotFound);

    // Both forms at once must name the same comment.
    let both = |comment_id: &str, site_id: &str| pb::GetDecisionRequest {
        decision_id: checked.decision_id.clone(),
        site_id: site_id.to_string(),
        comment_id: comment_id.to_string(),
    };
    let agreeing = client
        .get_decision(with_token(NEWS_TOKEN, both("c-7", NEWS_SITE)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(agreeing.decision_id, checked.decision_id);
    let other_comment = client
        .get_decision(with_token(NEWS_TOKEN, both("c-8", "")))
        .await
        .unwrap_err();
    assert_eq!(other_comment.code(), tonic::Code::InvalidArgument);
    assert!(
        other_comment.message().starts_with("comment_id"),
        "{other_comment}"
    );
    let other_site = client
        .get_decision(with_token(NEWS_TOKEN, both("", "blog.example")))
        .await
        .unwrap_err();
    assert_eq!(other_site.code(), tonic::Code::InvalidArgument);
    assert!(other_site.message().starts_with("site_id"), "{other_site}");
    // A site without a comment: the comment is what is missing.
    let without_comment = client
        .get_decision(with_token(
            NEWS_TOKEN,
            pb::GetDecisionRequest {
                site_id: NEWS_SITE.to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(without_comment.code(), tonic::Code::InvalidArgument);
    assert!(
        without_comment.message().starts_with("comment_id"),
        "{without_comment}"
    );
    server.stop().await;
}

#[tokio::test]
async fn the_same_comment_returns_the_stored_decision_unless_rechecked() {
    let (server, _directory) = start_server().await;
    let first = check_as_news(&server, comment("same", HAM_TEXT)).await;
    // The same id with other text: the stored decision comes back unchanged.
    let again = check_as_news(&server, comment("same", SPAM_TEXT)).await;
    assert_eq!(again.decision_id, first.decision_id);
    assert_eq!(again.verdict, first.verdict);
    assert_eq!(again.score, first.score);

    // With recheck, the new text is scored and the decision keeps its id.
    let mut recheck = comment("same", SPAM_TEXT);
    recheck.recheck = true;
    let rechecked = check_as_news(&server, recheck).await;
    assert_eq!(rechecked.decision_id, first.decision_id);
    assert_ne!(rechecked.verdict(), pb::Verdict::Allow);
    let stored = decision_by_id(&server, &first.decision_id).await.unwrap();
    assert_eq!(stored.content, SPAM_TEXT);
    assert_eq!(stored.verdict, rechecked.verdict);
    server.stop().await;
}

#[tokio::test]
async fn a_dry_run_stores_nothing() {
    let (server, _directory) = start_server().await;
    let mut client = server.moderation().await;
    let mut request = comment("dry", SPAM_TEXT);
    request.dry_run = true;
    let response = check_as_news(&server, request).await;
    assert!(!response.stored);
    assert!(response.decision_id.is_empty());
    assert_ne!(response.verdict(), pb::Verdict::Allow);
    let lookup = client
        .get_decision(with_token(
            NEWS_TOKEN,
            pb::GetDecisionRequest {
                comment_id: "dry".to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(lookup.code(), tonic::Code::NotFound);
    server.stop().await;
}

/// A dry run scores the comment as sent even when its id has a stored
/// decision (a site trying new content gets the new content's verdict, not
/// the stored one), and leaves that decision as it was.
#[tokio::test]
async fn a_dry_run_of_a_stored_comment_scores_the_new_content_and_changes_nothing() {
    for (comment_id, stored_text, tried_text) in [
        ("stored-ham", HAM_TEXT, SPAM_TEXT),
        ("stored-spam", SPAM_TEXT, HAM_TEXT),
    ] {
        // A server each, so that the rules that look at recent comments
        // (duplicates) see only this case's stored comment.
        let (server, _directory) = start_server().await;
        let stored = check_as_news(&server, comment(comment_id, stored_text)).await;
        assert!(stored.stored);
        let mut request = comment(comment_id, tried_text);
        request.dry_run = true;
        let tried = check_as_news(&server, request).await;
        assert!(!tried.stored, "{comment_id}: {tried:?}");
        assert!(tried.decision_id.is_empty(), "{comment_id}: {tried:?}");
        // The verdict and score of the text tried, as a dry run of it
        // under an id that names nothing gives them.
        let mut fresh = comment(&format!("{comment_id}-fresh"), tried_text);
        fresh.dry_run = true;
        let fresh = check_as_news(&server, fresh).await;
        assert_eq!(tried.verdict, fresh.verdict, "{comment_id}");
        assert!((tried.score - fresh.score).abs() < 1e-9, "{comment_id}");
        assert_ne!(tried.verdict, stored.verdict, "{comment_id}");
        if tried_text == SPAM_TEXT {
            assert_ne!(tried.verdict(), pb::Verdict::Allow, "{tried:?}");
            assert!(tried.score >= 0.5, "{tried:?}");
        } else {
            assert_eq!(tried.verdict(), pb::Verdict::Allow, "{tried:?}");
            assert!(tried.score < 0.5, "{tried:?}");
        }
        // The stored decision is the one stored first, unchanged.
        let kept = decision_by_comment(&server, comment_id).await.unwrap();
        assert_eq!(kept.decision_id, stored.decision_id);
        assert_eq!(kept.content, stored_text);
        assert_eq!(kept.verdict, stored.verdict);
        assert_eq!(kept.score, stored.score);
        server.stop().await;
    }
}

#[tokio::test]
async fn a_stream_is_answered_in_request_order() {
    let (server, _directory) = start_server().await;
    let mut client = server.moderation().await;
    let texts = [SPAM_TEXT, HAM_TEXT];
    let requests: Vec<pb::CheckCommentRequest> = (0..100)
        .map(|index| comment(&format!("stream-{index}"), texts[index % 2]))
        .collect();
    let mut responses = client
        .check_comments(with_token(NEWS_TOKEN, tokio_stream::iter(requests)))
        .await
        .unwrap()
        .into_inner();
    let mut answered = 0;
    while let Some(response) = responses.next().await {
        let response = response.unwrap();
        assert!(response.stored);
        let expected_allow = answered % 2 == 1;
        assert_eq!(
            response.verdict() == pb::Verdict::Allow,
            expected_allow,
            "item {answered}"
        );
        answered += 1;
    }
    assert_eq!(answered, 100);
    // Each answered item is stored under its own comment id.
    let stored = client
        .get_decision(with_token(
            NEWS_TOKEN,
            pb::GetDecisionRequest {
                comment_id: "stream-99".to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stored.content, HAM_TEXT);
    server.stop().await;
}

#[tokio::test]
async fn a_stream_stops_at_the_first_invalid_comment() {
    let (server, _directory) = start_server().await;
    let mut client = server.moderation().await;
    let requests = vec![
        comment("ok-1", HAM_TEXT),
        comment("", HAM_TEXT),
        comment("ok-2", HAM_TEXT),
    ];
    let mut responses = client
        .check_comments(with_token(NEWS_TOKEN, tokio_stream::iter(requests)))
        .await
        .unwrap()
        .into_inner();
    assert!(responses.next().await.unwrap().unwrap().stored);
    let error = responses.next().await.unwrap().unwrap_err();
    assert_eq!(error.code(), tonic::Code::InvalidArgument);
    assert!(error.message().contains("comment_id"), "{error}");
    // The error names the comment: its place in the stream, from 1.
    assert!(
        error
            .message()
            .starts_with("comment 2 of the stream (comment_id \"\")"),
        "{error}"
    );
    assert!(responses.next().await.is_none());
    // Nothing after the invalid comment was started: a comment stored
    // without its answer reaching the site would be left unknown to it.
    let after = client
        .get_decision(with_token(
            NEWS_TOKEN,
            pb::GetDecisionRequest {
                comment_id: "ok-2".to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(after.code(), tonic::Code::NotFound, "{after}");
    server.stop().await;
}

/// Two messages about one comment in one stream take effect in the order
/// sent: a check after a recheck answers with the rechecked decision, and
/// of two rechecks the later one is what is stored, even when the earlier
/// one takes longer to score. (On several threads, as a server runs: on
/// one, each check ran to its first wait before the next one started.)
/// The news key has one site, so a message that leaves `site_id` empty is
/// about the same comment as one that names the site.
#[tokio::test(flavor = "multi_thread")]
async fn a_stream_checks_one_comment_in_the_order_its_messages_were_sent() {
    let (server, _directory) = start_server().await;
    let mut client = server.moderation().await;
    assert_eq!(
        check_as_news(&server, comment("edited", SPAM_TEXT))
            .await
            .verdict(),
        pb::Verdict::Reject
    );
    let edit = |text: &str| recheck("edited", text);
    let long_spam = [SPAM_TEXT; 400].join(" ");
    let without_site = |request: pb::CheckCommentRequest| pb::CheckCommentRequest {
        site_id: String::new(),
        ..request
    };
    let requests = vec![
        edit(HAM_TEXT),
        without_site(comment(
            "edited",
            "whatever this says, the stored decision answers",
        )),
        edit(&long_spam),
        without_site(edit(HAM_TEXT)),
    ];
    let answers: Vec<pb::CheckCommentResponse> = client
        .check_comments(with_token(NEWS_TOKEN, tokio_stream::iter(requests)))
        .await
        .unwrap()
        .into_inner()
        .map(|answer| answer.unwrap())
        .collect()
        .await;
    let verdicts: Vec<pb::Verdict> = answers.iter().map(|answer| answer.verdict()).collect();
    assert_eq!(
        verdicts,
        [
            pb::Verdict::Allow,
            pb::Verdict::Allow,
            pb::Verdict::Reject,
            pb::Verdict::Allow
        ]
    );
    let stored = decision_by_comment(&server, "edited").await.unwrap();
    assert!(
        stored.content == HAM_TEXT,
        "the last edit sent is stored, not a text of {} bytes",
        stored.content.len()
    );
    assert_eq!(stored.verdict(), pb::Verdict::Allow);
    server.stop().await;
}

/// A person's label holds for the comment they judged: a check of the same
/// text answers their status, and an edit withdraws the label, so that a
/// comment approved and then edited into spam is not left published.
#[tokio::test]
async fn a_moderators_label_holds_until_the_comment_is_edited() {
    let (server, _directory) = start_server().await;
    let first = check_as_news(&server, comment("judged", SPAM_TEXT)).await;
    assert_eq!(first.status(), pb::ReviewStatus::Rejected);
    assert!(first.resolution.is_none());
    resolve_as_moderator(&server, vec![first.decision_id.clone()], pb::Label::Ham).await;

    // The same text again, rechecked: the model still says REJECT, the
    // moderator's approval stands, and the answer says so.
    let same = check_as_news(&server, recheck("judged", SPAM_TEXT)).await;
    assert_eq!(same.verdict(), pb::Verdict::Reject);
    assert_eq!(same.status(), pb::ReviewStatus::Approved);
    let resolution = same.resolution.expect("the label is answered");
    assert_eq!(resolution.label(), pb::Label::Ham);

    // Edited: the approval was for other words, so the edit stands as its
    // own verdict says.
    let edited_text = format!("{SPAM_TEXT} Cheap pills at http://pills.example.top");
    let edited = check_as_news(&server, recheck("judged", &edited_text)).await;
    assert_eq!(edited.decision_id, first.decision_id);
    assert_eq!(edited.verdict(), pb::Verdict::Reject);
    assert_eq!(edited.status(), pb::ReviewStatus::Rejected);
    assert!(edited.resolution.is_none());
    let stored = decision_by_comment(&server, "judged").await.unwrap();
    assert_eq!(stored.status(), pb::ReviewStatus::Rejected);
    assert!(stored.resolution.is_none());
    assert_eq!(stored.content, edited_text);
    server.stop().await;
}

/// A spam label stands whatever the comment becomes: edited into
/// something harmless and back, it is never published on the model's word.
#[tokio::test]
async fn a_spam_label_stands_when_the_comment_is_edited() {
    let (server, _directory) = start_server().await;
    let first = check_as_news(&server, comment("missed", HAM_TEXT)).await;
    assert_eq!(first.status(), pb::ReviewStatus::Approved);
    resolve_as_moderator(&server, vec![first.decision_id.clone()], pb::Label::Spam).await;
    for text in ["Edited into something else entirely.", HAM_TEXT] {
        let edited = check_as_news(&server, recheck("missed", text)).await;
        // (The verdict is the model's, which has learned the label.)
        assert_eq!(edited.status(), pb::ReviewStatus::Rejected, "{text}");
        let resolution = edited.resolution.expect("the label stands");
        assert_eq!(resolution.label(), pb::Label::Spam);
    }
    // A dry run answers where the comment would stand: rejected.
    let dry = check_as_news(
        &server,
        pb::CheckCommentRequest {
            dry_run: true,
            ..comment("missed", HAM_TEXT)
        },
    )
    .await;
    assert_eq!(dry.status(), pb::ReviewStatus::Rejected);
    let standing = dry.resolution.map(|resolution| resolution.label());
    assert_eq!(standing, Some(pb::Label::Spam));
    assert!(!dry.stored);
    server.stop().await;
}

/// A `CheckComments` stream of thousands of very short comments, each in
/// an HTTP/2 DATA frame of its own (as grpcio and other clients send
/// them), sent faster than the service scores them, is answered in full.
/// While comments wait for places the service stops reading the stream;
/// with the transport's default windows the client could send a megabyte
/// of tiny frames ahead, and the HTTP/2 layer closed the whole connection
/// ("too_many_data_frames") after a few thousand.
#[tokio::test(flavor = "multi_thread")]
async fn a_stream_of_very_short_comments_sent_a_frame_each_is_answered_in_full() {
    const COMMENTS: usize = 3_000;
    let (server, _directory) = start_server().await;
    let (mut client, connection) = bare_http2_client(&server).await;
    let request = grpc_request(&server, "CheckComments");
    let (response, mut sending) = client.send_request(request, false).unwrap();
    // h2 queues what the window does not let out yet, a frame per call.
    for index in 0..COMMENTS {
        let frame = grpc_frame(&comment(&format!("s{index}"), "ok"));
        sending.send_data(frame, index + 1 == COMMENTS).unwrap();
    }
    let response = response.await.expect("the call is answered");
    let answered = read_grpc_answers(response).await;
    assert_eq!(answered, Ok(COMMENTS));
    drop(client);
    connection.abort();
    server.stop().await;
}

/// One gRPC message as it travels: a flag byte (not compressed), its
/// length (big-endian) and the message.
fn grpc_frame(message: &impl prost::Message) -> bytes::Bytes {
    let message = message.encode_to_vec();
    let mut frame = Vec::with_capacity(5 + message.len());
    frame.push(0);
    frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
    frame.extend_from_slice(&message);
    bytes::Bytes::from(frame)
}

/// How many answers a call's response carried, once its trailers say OK;
/// what went wrong, and after how many answers, otherwise.
async fn read_grpc_answers(response: http::Response<h2::RecvStream>) -> Result<usize, String> {
    let mut body = response.into_body();
    let mut received = Vec::new();
    while let Some(data) = body.data().await {
        let data = data.map_err(|error| {
            let answered = count_grpc_messages(&received);
            format!("the answers broke off after {answered}: {error}")
        })?;
        body.flow_control().release_capacity(data.len()).unwrap();
        received.extend_from_slice(&data);
    }
    let trailers = body
        .trailers()
        .await
        .map_err(|error| format!("no trailers: {error}"))?
        .ok_or("no trailers")?;
    if trailers["grpc-status"] != "0" {
        return Err(format!("the call ended with {trailers:?}"));
    }
    Ok(count_grpc_messages(&received))
}

/// How many whole gRPC messages (a flag byte, a big-endian length, the
/// message) `bytes` holds.
fn count_grpc_messages(mut bytes: &[u8]) -> usize {
    let mut count = 0;
    while bytes.len() >= 5 {
        let length = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
        if bytes.len() < 5 + length {
            break;
        }
        bytes = &bytes[5 + length..];
        count += 1;
    }
    count
}

/// A bare HTTP/2 connection to the server (no gRPC library), and the task
/// that drives it.
async fn bare_http2_client(
    server: &TestServer,
) -> (
    h2::client::SendRequest<bytes::Bytes>,
    tokio::task::JoinHandle<Result<(), h2::Error>>,
) {
    let tcp = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.unwrap();
    let connection = tokio::spawn(connection);
    (client.ready().await.unwrap(), connection)
}

/// The headers of a call of `Moderation.<method>` as the news site.
fn grpc_request(server: &TestServer, method: &str) -> http::Request<()> {
    http::Request::builder()
        .method("POST")
        .uri(format!(
            "http://{}/moderation.v1.Moderation/{method}",
            server.address
        ))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {NEWS_TOKEN}"))
        .body(())
        .unwrap()
}

/// A client whose deadlines pass under load cancels many calls before the
/// service has taken them up; up to `MAX_PENDING_CANCELLED_CALLS` of them
/// at once leave the connection working for its other calls. (HTTP/2's
/// default, 20, closed it: a defence against "rapid reset" floods.)
#[tokio::test(flavor = "multi_thread")]
async fn calls_cancelled_in_a_burst_leave_the_connection_working() {
    const CANCELLED: usize = 200;
    const { assert!(CANCELLED < moderato::limits::MAX_PENDING_CANCELLED_CALLS) };
    let (server, _directory) = start_server().await;
    let (mut client, connection) = bare_http2_client(&server).await;
    // Each call's headers and its cancellation go out in one burst, before
    // the service has taken any of them up.
    for _ in 0..CANCELLED {
        let (_, mut sending) = client
            .send_request(grpc_request(&server, "CheckComment"), false)
            .unwrap();
        sending.send_reset(h2::Reason::CANCEL);
    }
    let mut client = client
        .ready()
        .await
        .expect("the connection still takes calls");
    let (response, mut sending) = client
        .send_request(grpc_request(&server, "CheckComment"), false)
        .unwrap();
    sending
        .send_data(grpc_frame(&comment("after-the-burst", HAM_TEXT)), true)
        .unwrap();
    let response = response
        .await
        .expect("the call after the burst is answered");
    assert_eq!(read_grpc_answers(response).await, Ok(1));
    drop(client);
    connection.abort();
    server.stop().await;
}

/// A unary call whose request does not finish arriving within
/// `MESSAGE_ARRIVAL_LIMIT` ends with DEADLINE_EXCEEDED, counted in the
/// metrics. A whole message sent on the same connection meanwhile is
/// answered, and a `CheckComments` stream, whose messages come when they
/// come, still takes a comment after the limit.
#[tokio::test(flavor = "multi_thread")]
async fn a_message_that_never_finishes_arriving_ends_its_call() {
    let limit = moderato::limits::MESSAGE_ARRIVAL_LIMIT;
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(moderato::config::Config {
        metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..test_config(directory.path())
    })
    .await;
    let (stream_sender, mut stream_answers) =
        open_comment_stream(server.channel().await, NEWS_TOKEN)
            .await
            .unwrap();
    let (mut client, connection) = bare_http2_client(&server).await;
    let started = std::time::Instant::now();
    let (response, mut sending) = client
        .send_request(grpc_request(&server, "CheckComment"), false)
        .unwrap();
    // A message announced as 100 bytes, of which 10 are sent, and the
    // stream left open.
    let mut partial = vec![0, 0, 0, 0, 100];
    partial.extend_from_slice(&[0x0a; 10]);
    sending
        .send_data(bytes::Bytes::from(partial), false)
        .unwrap();
    let mut client = client.ready().await.unwrap();
    let (whole, mut whole_sending) = client
        .send_request(grpc_request(&server, "CheckComment"), false)
        .unwrap();
    whole_sending
        .send_data(grpc_frame(&comment("whole", HAM_TEXT)), true)
        .unwrap();
    assert_eq!(read_grpc_answers(whole.await.unwrap()).await, Ok(1));
    let response = tokio::time::timeout(limit * 3, response)
        .await
        .expect("the call ended within its limit")
        .unwrap();
    assert!(started.elapsed() >= limit, "ended before its limit");
    // An error before any answer comes as headers alone.
    let headers = response.headers();
    assert_eq!(headers["grpc-status"], "4", "{headers:?}");
    let message = headers["grpc-message"].to_str().unwrap();
    let message = percent_encoding::percent_decode_str(message)
        .decode_utf8()
        .unwrap();
    assert!(message.contains("did not arrive within"), "{message}");
    let (_, metrics) = http(&server, "GET", "/metrics", None, "").await;
    assert!(
        metrics
            .lines()
            .any(|line| line
                == "moderato_calls_total{rpc=\"CheckComment\",code=\"DeadlineExceeded\"} 1"),
        "{metrics}"
    );
    let stored = decision_by_comment(&server, "whole").await;
    assert!(stored.is_ok(), "the whole message's call was stored");
    // The stream, silent since before the limit, is still served.
    stream_sender
        .send(comment("streamed-late", HAM_TEXT))
        .await
        .unwrap();
    let answer = stream_answers.next().await.unwrap().unwrap();
    assert!(answer.stored);
    drop(stream_sender);
    drop(client);
    connection.abort();
    server.stop().await;
}
