//! Overload protection through the running service: a call beyond the
//! concurrency limit waits a bounded time for a place, then is shed with
//! RESOURCE_EXHAUSTED, and the service recovers when calls end; each key's
//! rate limit is its own.

use std::time::{Duration, Instant};

use futures::StreamExt;
use moderato::admission::AdmissionParams;
use moderato::config::Config;
use moderato::grpc::pb;
use tonic::Code;

use crate::util::*;

fn config_with_limits(directory: &std::path::Path, limits: AdmissionParams) -> Config {
    Config {
        admission: limits.check().unwrap(),
        ..test_config(directory)
    }
}

/// A server with one place for calls, each waiting at most `max_wait_ms`,
/// whose place is taken by an open `CheckComments` stream (an open stream
/// is a call in progress): the stream's sender (dropping it ends the
/// stream) and its answers.
async fn server_with_its_one_place_taken(
    directory: &std::path::Path,
    max_wait_ms: u64,
) -> (
    TestServer,
    tokio::sync::mpsc::Sender<pb::CheckCommentRequest>,
    tonic::Streaming<pb::CheckCommentResponse>,
) {
    server_with_a_news_stream_open(
        directory,
        AdmissionParams {
            max_concurrent_calls: 1,
            max_wait_ms,
            ..AdmissionParams::default()
        },
    )
    .await
}

/// A server with these limits and a `CheckComments` stream of the news key
/// open, which holds one place: the stream's sender and its answers.
async fn server_with_a_news_stream_open(
    directory: &std::path::Path,
    limits: AdmissionParams,
) -> (
    TestServer,
    tokio::sync::mpsc::Sender<pb::CheckCommentRequest>,
    tonic::Streaming<pb::CheckCommentResponse>,
) {
    let server = start_with(config_with_limits(directory, limits)).await;
    let (sender, mut responses) = open_comment_stream(server.channel().await, NEWS_TOKEN)
        .await
        .unwrap();
    sender.send(comment("streamed", HAM_TEXT)).await.unwrap();
    assert!(responses.next().await.unwrap().unwrap().stored);
    (server, sender, responses)
}

#[tokio::test(flavor = "multi_thread")]
async fn one_key_at_its_own_limit_leaves_places_for_the_others() {
    let directory = tempfile::tempdir().unwrap();
    let (server, sender, mut responses) = server_with_a_news_stream_open(
        directory.path(),
        AdmissionParams {
            max_concurrent_calls: 4,
            max_concurrent_calls_per_key: 1,
            max_wait_ms: 0,
            ..AdmissionParams::default()
        },
    )
    .await;
    // The news key's one place is its open stream.
    let status = server
        .moderation()
        .await
        .check_comment(with_token(NEWS_TOKEN, comment("shed", HAM_TEXT)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(
        status
            .message()
            .contains("key \"news\" is at its limit of 1 calls in progress"),
        "{status}"
    );
    // The moderator and the other site still get in.
    let queue = server
        .review()
        .await
        .list_queue(with_token(MODERATOR_TOKEN, pb::ListQueueRequest::default()))
        .await;
    assert!(queue.is_ok(), "{queue:?}");
    let blog = check_as_blog(&server, "blog", HAM_TEXT).await;
    assert!(blog.is_ok(), "{blog:?}");
    drop(sender);
    assert!(responses.next().await.is_none());
    assert!(
        check_as_news(&server, comment("after", HAM_TEXT))
            .await
            .stored
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_beyond_the_concurrency_limit_are_shed_until_one_ends() {
    let directory = tempfile::tempdir().unwrap();
    let (server, sender, mut responses) =
        server_with_its_one_place_taken(directory.path(), 50).await;
    let mut client = server.moderation().await;

    let status = client
        .check_comment(with_token(NEWS_TOKEN, comment("shed", HAM_TEXT)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("1 calls in progress"), "{status}");
    assert!(status.message().contains("waited 50 ms"), "{status}");
    // Nothing of the shed call was stored.
    assert_eq!(
        decision_by_comment(&server, "shed")
            .await
            .unwrap_err()
            .code(),
        Code::ResourceExhausted,
        "still shed while the stream is open"
    );

    // The stream ends: the place is free again at once.
    drop(sender);
    assert!(responses.next().await.is_none());
    let response = check_as_news(&server, comment("after", HAM_TEXT)).await;
    assert!(response.stored);
    assert_eq!(
        decision_by_comment(&server, "shed")
            .await
            .unwrap_err()
            .code(),
        Code::NotFound
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_waits_gets_the_place_freed_during_its_wait() {
    let directory = tempfile::tempdir().unwrap();
    let (server, sender, mut responses) = server_with_a_news_stream_open(
        directory.path(),
        AdmissionParams {
            max_concurrent_calls: 1,
            // Longer than the test takes, so that the call that waits is
            // never refused for its wait running out.
            max_wait_ms: 60_000,
            // One call can wait; the next is refused at once, which is how
            // the test sees that a call is waiting on the server (rather
            // than still on its way there).
            max_waiting_calls: 1,
            ..AdmissionParams::default()
        },
    )
    .await;
    let client = server.moderation().await;

    // Calls are sent one after another while the stream holds the one
    // place. Whichever reaches the server first waits; any later one is
    // refused for want of a waiting place. The calls race on their way to
    // the server, so which one waits is not known, only that one does.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut calls: Vec<
        tokio::task::JoinHandle<Result<tonic::Response<pb::CheckCommentResponse>, tonic::Status>>,
    > = Vec::new();
    while !calls.iter().any(|call| call.is_finished()) {
        assert!(
            Instant::now() < deadline,
            "no call was refused for want of a waiting place, so none is seen waiting"
        );
        let mut call_client = client.clone();
        let comment_id = format!("waited-{}", calls.len());
        calls.push(tokio::spawn(async move {
            call_client
                .check_comment(with_token(NEWS_TOKEN, comment(&comment_id, HAM_TEXT)))
                .await
        }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The calls still on their way are refused as they arrive; then the
    // only one left is the one that waits. Freeing the place before then
    // could let a late call in as well.
    while calls.iter().filter(|call| !call.is_finished()).count() > 1 {
        assert!(
            Instant::now() < deadline,
            "calls sent while one waits are not all refused"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(sender);
    assert!(responses.next().await.is_none());
    let mut stored = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(answer) => {
                assert!(answer.into_inner().stored);
                stored += 1;
            }
            Err(status) => {
                assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
                assert!(
                    status.message().contains("and 1 calls already waiting"),
                    "{status}"
                );
            }
        }
    }
    assert_eq!(
        stored, 1,
        "exactly the call that waited got the place freed during its wait"
    );
    server.stop().await;
}

/// The waiting room holds at most `max_waiting_bytes` of requests: with
/// the one place taken, a request larger than the room is refused at once
/// (it would otherwise wait a minute), saying so, while a small one waits
/// and gets the place once it is freed.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_too_large_for_the_waiting_room_is_refused_at_once() {
    let directory = tempfile::tempdir().unwrap();
    let (server, sender, mut responses) = server_with_a_news_stream_open(
        directory.path(),
        AdmissionParams {
            max_concurrent_calls: 1,
            max_wait_ms: 60_000,
            max_waiting_bytes: 1_000,
            ..AdmissionParams::default()
        },
    )
    .await;
    let mut client = server.moderation().await;
    let large = comment("large", &"word ".repeat(400));
    let refused = client
        .check_comment(with_token(NEWS_TOKEN, large))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused}");
    assert!(
        refused
            .message()
            .contains("bytes is larger than the whole waiting room (1000 bytes)"),
        "{refused}"
    );
    let small = tokio::spawn({
        let mut client = client.clone();
        async move {
            client
                .check_comment(with_token(NEWS_TOKEN, comment("small", HAM_TEXT)))
                .await
        }
    });
    // Refused, it would have finished at once; it waits for the place.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!small.is_finished(), "the small request did not wait");
    drop(sender);
    assert!(responses.next().await.is_none());
    assert!(small.await.unwrap().unwrap().into_inner().stored);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_key_is_held_to_its_own_rate() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(config_with_limits(
        directory.path(),
        // A burst of 2 calls, refilled so slowly that the test never sees
        // it: the third call is refused however long the first two took.
        AdmissionParams {
            calls_per_second_per_key: 0.001,
            burst_per_key: 2.0,
            ..AdmissionParams::default()
        },
    ))
    .await;
    let mut client = server.moderation().await;
    for index in 0..2 {
        client
            .check_comment(with_token(
                NEWS_TOKEN,
                comment(&format!("c{index}"), HAM_TEXT),
            ))
            .await
            .expect("within the burst");
    }
    let status = client
        .check_comment(with_token(NEWS_TOKEN, comment("c2", HAM_TEXT)))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("\"news\""), "{status}");
    // A call outside the key's role is refused for its role, not for its
    // rate: the role is checked before admission.
    let status = server
        .review()
        .await
        .list_queue(with_token(NEWS_TOKEN, pb::ListQueueRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied, "{status}");
    // The blog's key has a rate of its own.
    let blog = pb::CheckCommentRequest {
        site_id: BLOG_SITE.to_string(),
        ..comment("b0", HAM_TEXT)
    };
    client
        .check_comment(with_token(BLOG_TOKEN, blog))
        .await
        .expect("another key is not limited by the first");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stream_left_idle_is_closed_and_gives_its_place_back() {
    let directory = tempfile::tempdir().unwrap();
    let (server, sender, mut responses) = server_with_a_news_stream_open(
        directory.path(),
        AdmissionParams {
            max_concurrent_calls: 1,
            // The stream's task frees the place just after its last answer
            // leaves; a short wait absorbs that race, and the sender stays
            // open, so only the idle limit can have freed it.
            max_wait_ms: 200,
            stream_idle_ms: 300,
            ..AdmissionParams::default()
        },
    )
    .await;
    // The client keeps the stream open but sends nothing more.
    let ended = responses.next().await.unwrap().unwrap_err();
    assert_eq!(ended.code(), Code::DeadlineExceeded);
    assert!(ended.message().contains("300 ms"), "{ended}");
    assert!(responses.next().await.is_none());
    // Its one place is free for the next call, though `sender` lives on.
    let response = check_as_news(&server, comment("after", HAM_TEXT)).await;
    assert!(response.stored);
    drop(sender);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn each_comment_of_a_stream_counts_against_the_key_rate() {
    let directory = tempfile::tempdir().unwrap();
    // A burst of 3 calls, refilled so slowly that the test never sees it.
    let server = start_with(config_with_limits(
        directory.path(),
        AdmissionParams {
            calls_per_second_per_key: 0.001,
            burst_per_key: 3.0,
            ..AdmissionParams::default()
        },
    ))
    .await;
    let comments: Vec<_> = (0..5)
        .map(|index| comment(&format!("s{index}"), HAM_TEXT))
        .collect();
    let answers: Vec<_> = server
        .moderation()
        .await
        .check_comments(with_token(NEWS_TOKEN, futures::stream::iter(comments)))
        .await
        .unwrap()
        .into_inner()
        .collect()
        .await;
    // Opening the stream paid for its first comment; two more fit the
    // burst, and the fourth ends the stream.
    assert_eq!(answers.len(), 4, "{answers:?}");
    assert!(answers[..3].iter().all(|answer| answer.is_ok()));
    let status = answers[3].as_ref().unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    assert!(status.message().contains("\"news\""), "{status}");
    // The refusal names the comment it ended the stream at.
    assert!(
        status
            .message()
            .starts_with("comment 4 of the stream (comment_id \"s3\"): "),
        "{status}"
    );
    assert_eq!(
        decision_by_comment(&server, "s4").await.unwrap_err().code(),
        Code::ResourceExhausted,
        "and the key has no rate left for other calls either"
    );
    server.stop().await;
}

/// One connection holds at most as many calls as admission lets in
/// progress and wait, plus as many again as in progress
/// (`streams_per_connection`): a unary call's message is read before it is
/// admitted, so this bounds what one connection can make the server hold.
/// A further call on it waits in the client until one ends, while other
/// connections still reach the server.
#[tokio::test(flavor = "multi_thread")]
async fn one_connection_holds_a_bounded_number_of_calls() {
    let directory = tempfile::tempdir().unwrap();
    let limits = AdmissionParams {
        max_concurrent_calls: 4,
        max_wait_ms: 60_000,
        max_waiting_calls: 4,
        ..AdmissionParams::default()
    };
    assert_eq!(limits.clone().check().unwrap().streams_per_connection(), 12);
    let server = start_with(Config {
        metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..config_with_limits(directory.path(), limits)
    })
    .await;
    let channel = server.channel().await;
    // Four open streams, each answered (its headers sent) and idle, hold
    // the four places.
    let mut open = Vec::new();
    for _ in 0..4 {
        let stream = open_comment_stream(channel.clone(), NEWS_TOKEN)
            .await
            .expect("a stream within the limit opens");
        open.push(stream);
    }
    let check = |comment_id: &'static str| {
        let mut client = pb::moderation_client::ModerationClient::new(channel.clone());
        tokio::spawn(async move {
            client
                .check_comment(with_token(NEWS_TOKEN, comment(comment_id, HAM_TEXT)))
                .await
        })
    };
    // Four calls wait for a place and fill the waiting room, as the
    // metrics show.
    let waiting: Vec<_> = ["w1", "w2", "w3", "w4"].into_iter().map(check).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, metrics) = http(&server, "GET", "/metrics", None, "").await;
        if metrics
            .lines()
            .any(|line| line == "moderato_calls_waiting 4")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the calls never all waited: {metrics}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Four health watches, which admission does not count, take the
    // connection's last four calls.
    let mut watches = Vec::new();
    for _ in 0..4 {
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel.clone());
        let mut watch = health
            .watch(tonic_health::pb::HealthCheckRequest::default())
            .await
            .expect("a watch within the limit opens")
            .into_inner();
        assert!(
            watch.next().await.is_some(),
            "the watch says how the server is"
        );
        watches.push(watch);
    }
    // Another connection reaches the server: its call finds the room full
    // and is refused at once.
    let refused = decision_by_comment(&server, "w1").await.unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused}");
    assert!(
        refused.message().contains("4 calls already waiting"),
        "{refused}"
    );
    // A thirteenth call on the full connection does not reach the server
    // (where the full room would refuse it at once): it waits in the client.
    let thirteenth = check("thirteenth");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !thirteenth.is_finished(),
        "a call beyond the connection's limit reached the server"
    );
    // Ending the watches lets it reach the server, whose room is still
    // full: it is refused at once.
    drop(watches);
    let refused = tokio::time::timeout(Duration::from_secs(30), thirteenth)
        .await
        .expect("the call reached the server once the watches ended")
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused}");
    assert!(
        refused.message().contains("4 calls already waiting"),
        "{refused}"
    );
    // Ending the streams frees their places for the calls that waited.
    drop(open);
    for call in waiting {
        let answer = call.await.unwrap().expect("a waiting call is answered");
        assert!(answer.into_inner().stored);
    }
    server.stop().await;
}

/// Reads the metrics until one of their lines is `line`, for up to 10 s.
async fn wait_for_metric(server: &TestServer, line: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, metrics) = http(server, "GET", "/metrics", None, "").await;
        if metrics.lines().any(|found| found == line) {
            return;
        }
        assert!(Instant::now() < deadline, "never {line:?} in:\n{metrics}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A health check over `channel`: its status, or the call's error code.
async fn health_over(channel: tonic::transport::Channel) -> Result<i32, Code> {
    tonic_health::pb::health_client::HealthClient::new(channel)
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .map(|answer| answer.into_inner().status)
        .map_err(|status| status.code())
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_beyond_the_limit_are_closed_and_a_freed_place_is_reused() {
    let directory = tempfile::tempdir().unwrap();
    let limits = AdmissionParams {
        max_connections: 2,
        max_connections_per_address: 0,
        ..AdmissionParams::default()
    };
    let server = start_with(Config {
        metrics_listen: Some("127.0.0.1:0".parse().unwrap()),
        ..config_with_limits(directory.path(), limits)
    })
    .await;
    let serving = tonic_health::pb::health_check_response::ServingStatus::Serving as i32;
    let first = server.channel().await;
    let second = server.channel().await;
    assert_eq!(health_over(first.clone()).await, Ok(serving));
    assert_eq!(health_over(second.clone()).await, Ok(serving));
    wait_for_metric(&server, "moderato_grpc_connections 2").await;

    // A third connection is closed as soon as it is accepted: its call
    // fails, and the refusal is counted. (How a client words a connection
    // closed under it is its own, and depends on when it notices: tonic
    // says UNKNOWN, "transport error", for a broken pipe; grpc-go and
    // grpc-core say UNAVAILABLE.)
    let endpoint = tonic::transport::Endpoint::from_shared(format!("http://{}", server.address))
        .unwrap()
        .timeout(Duration::from_secs(10));
    let refused = health_over(endpoint.connect_lazy()).await;
    assert!(
        refused.is_err(),
        "a connection beyond the limit was served: {refused:?}"
    );
    wait_for_metric(&server, "moderato_grpc_connections_refused_total 1").await;
    // The connections that hold the places still work.
    assert_eq!(health_over(first.clone()).await, Ok(serving));

    // Once a client closes its connection, its place takes the next one.
    drop(second);
    wait_for_metric(&server, "moderato_grpc_connections 1").await;
    let third = endpoint.connect_lazy();
    assert_eq!(health_over(third.clone()).await, Ok(serving));
    wait_for_metric(&server, "moderato_grpc_connections 2").await;
    wait_for_metric(&server, "moderato_grpc_connections_refused_total 1").await;
    drop((first, third));
    server.stop().await;
}
