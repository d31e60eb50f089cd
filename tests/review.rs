//! The review queue, resolutions, reports, statistics and their
//! persistence, through the running service.

use std::collections::HashSet;
use std::time::Duration;

use moderato::domain::Label;
use moderato::grpc::pb;
use moderato::review::CorrectionSource;
use moderato::store::Store;
use tonic::transport::Channel;
use tonic::Code;

use crate::util::*;

/// Comments from clearly ham to clearly spam; [`probe_texts`] picks from
/// them what the running model puts where, so that these tests hold for any
/// reasonable model.
const CANDIDATES: &[&str] = &[
    "I love this song",
    "This is a thoughtful piece about the economy",
    "Thank you for the careful reporting on the council meeting.",
    HAM_TEXT,
    "I agree with the author",
    "great video",
    "what a great article thanks",
    "nice one, thanks",
    "what a great article, thanks a lot",
    "hello",
    "win a prize now",
    "click here",
    "see my profile for deals",
    "free money click here",
    "subscribe please",
    "Nice post, visit my site for more",
    "check out my channel",
    SPAM_TEXT,
    "FREE MONEY!!! click here now http://bit.ly/win subscribe to my channel",
];

/// Thresholds with a wide review band, so that comments of every kind of
/// score land in each verdict and priority.
fn review_config(data_dir: &std::path::Path) -> moderato::config::Config {
    moderato::config::Config {
        thresholds: moderato::verdict::Thresholds::new(0.05, 0.995).unwrap(),
        ..test_config(data_dir)
    }
}

/// A text for each verdict and review priority under the running model.
struct Texts {
    allow: String,
    low: String,
    medium: String,
    high: String,
    reject: String,
}

async fn probe_texts(server: &TestServer) -> Texts {
    let mut found: [Option<String>; 5] = Default::default();
    for text in CANDIDATES {
        let mut request = comment("probe", text);
        request.dry_run = true;
        let scored = check_as_news(server, request).await;
        let slot = match (scored.verdict(), scored.priority()) {
            (pb::Verdict::Allow, _) => 0,
            (pb::Verdict::Review, pb::Priority::Low) => 1,
            (pb::Verdict::Review, pb::Priority::Medium) => 2,
            (pb::Verdict::Review, pb::Priority::High) => 3,
            (pb::Verdict::Reject, _) => 4,
            _ => continue,
        };
        found[slot].get_or_insert_with(|| text.to_string());
    }
    let [allow, low, medium, high, reject] = found.map(|text| {
        text.expect("some candidate lands in each verdict and priority; add candidates")
    });
    Texts {
        allow,
        low,
        medium,
        high,
        reject,
    }
}

/// A server with [`review_config`] in a fresh directory, and its texts.
async fn start_review_server() -> (TestServer, tempfile::TempDir, Texts) {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(review_config(directory.path())).await;
    let texts = probe_texts(&server).await;
    (server, directory, texts)
}

type Moderation = pb::moderation_client::ModerationClient<Channel>;
type Review = pb::review_client::ReviewClient<Channel>;

async fn check(
    client: &mut Moderation,
    token: &str,
    site: &str,
    comment_id: &str,
    text: &str,
) -> pb::CheckCommentResponse {
    let mut request = comment(comment_id, text);
    request.site_id = site.to_string();
    let response = client
        .check_comment(with_token(token, request))
        .await
        .unwrap()
        .into_inner();
    // Distinct creation times make the expected age order unambiguous.
    tokio::time::sleep(Duration::from_millis(3)).await;
    response
}

/// Six news items in REVIEW, checked in this order: low, high, medium,
/// high, low, medium. Returns their ids in the queue's expected order.
async fn fill_news_queue(client: &mut Moderation, texts: &Texts) -> Vec<String> {
    let mut ids = Vec::new();
    for (index, (text, priority)) in [
        (texts.low.as_str(), pb::Priority::Low),
        (texts.high.as_str(), pb::Priority::High),
        (texts.medium.as_str(), pb::Priority::Medium),
        (texts.high.as_str(), pb::Priority::High),
        (texts.low.as_str(), pb::Priority::Low),
        (texts.medium.as_str(), pb::Priority::Medium),
    ]
    .into_iter()
    .enumerate()
    {
        let checked = check(
            client,
            NEWS_TOKEN,
            NEWS_SITE,
            &format!("review-{index}"),
            text,
        )
        .await;
        assert_eq!(
            checked.verdict(),
            pb::Verdict::Review,
            "{text}: {checked:?}"
        );
        assert_eq!(checked.priority(), priority, "{text}: {checked:?}");
        ids.push(checked.decision_id);
    }
    vec![
        ids[1].clone(),
        ids[3].clone(),
        ids[2].clone(),
        ids[5].clone(),
        ids[0].clone(),
        ids[4].clone(),
    ]
}

async fn list(
    review: &mut Review,
    token: &str,
    request: pb::ListQueueRequest,
) -> Result<pb::ListQueueResponse, tonic::Status> {
    review
        .list_queue(with_token(token, request))
        .await
        .map(|response| response.into_inner())
}

async fn resolve(
    review: &mut Review,
    token: &str,
    ids: &[String],
    label: pb::Label,
    note: &str,
) -> Result<Vec<pb::Decision>, tonic::Status> {
    review
        .resolve_items(with_token(
            token,
            pb::ResolveItemsRequest {
                decision_ids: ids.to_vec(),
                label: label as i32,
                moderator: "ann".to_string(),
                note: note.to_string(),
            },
        ))
        .await
        .map(|response| response.into_inner().decisions)
}

async fn get(client: &mut Moderation, decision_id: &str) -> pb::Decision {
    client
        .get_decision(with_token(
            ADMIN_TOKEN,
            pb::GetDecisionRequest {
                decision_id: decision_id.to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
}

fn ids_of(items: &[pb::Decision]) -> Vec<String> {
    items.iter().map(|item| item.decision_id.clone()).collect()
}

#[tokio::test]
async fn review_items_are_listed_by_priority_then_age() {
    let (server, _directory, texts) = start_review_server().await;
    let mut client = server.moderation().await;
    let expected = fill_news_queue(&mut client, &texts).await;
    // Neither an allowed news comment nor another site's item is in the
    // news moderator's queue.
    check(&mut client, NEWS_TOKEN, NEWS_SITE, "fine", &texts.allow).await;
    let blog_item = check(&mut client, BLOG_TOKEN, BLOG_SITE, "b-1", &texts.high).await;

    let mut review = server.review().await;
    let page = list(&mut review, MODERATOR_TOKEN, Default::default())
        .await
        .unwrap();
    assert_eq!(ids_of(&page.items), expected);
    assert_eq!(page.total, 6);
    assert!(page.next_page_token.is_empty());
    assert!(page
        .items
        .iter()
        .all(|item| item.status() == pb::ReviewStatus::Pending));

    let named = list(
        &mut review,
        MODERATOR_TOKEN,
        pb::ListQueueRequest {
            site_id: NEWS_SITE.to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ids_of(&named.items), expected);

    let urgent = list(
        &mut review,
        MODERATOR_TOKEN,
        pb::ListQueueRequest {
            min_priority: pb::Priority::Medium as i32,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ids_of(&urgent.items), expected[..4].to_vec());
    assert_eq!(urgent.total, 4);

    // An admin sees every site: the blog's high item sorts after the news
    // high items, which are older.
    let everything = list(&mut review, ADMIN_TOKEN, Default::default())
        .await
        .unwrap();
    let mut with_blog = expected.clone();
    with_blog.insert(2, blog_item.decision_id);
    assert_eq!(ids_of(&everything.items), with_blog);
    assert_eq!(everything.total, 7);
    server.stop().await;
}

#[tokio::test]
async fn paging_by_two_visits_each_item_once_while_items_are_resolved() {
    let (server, _directory, texts) = start_review_server().await;
    let mut client = server.moderation().await;
    let expected = fill_news_queue(&mut client, &texts).await;
    let mut review = server.review().await;

    let mut visited = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = list(
            &mut review,
            MODERATOR_TOKEN,
            pb::ListQueueRequest {
                page_size: 2,
                page_token: token.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        pages += 1;
        assert!(page.items.len() <= 2);
        assert_eq!(page.total as usize, expected.len() - visited.len());
        // The moderator settles what they saw before asking for more,
        // which shrinks the queue in front of the next page.
        let ids = ids_of(&page.items);
        if !ids.is_empty() {
            resolve(&mut review, MODERATOR_TOKEN, &ids, pb::Label::Spam, "")
                .await
                .unwrap();
        }
        visited.extend(ids);
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!(visited, expected);
    assert_eq!(visited.iter().collect::<HashSet<_>>().len(), expected.len());
    let rest = list(&mut review, MODERATOR_TOKEN, Default::default())
        .await
        .unwrap();
    assert!(rest.items.is_empty());
    assert_eq!(rest.total, 0);

    // A token is bound to its filter.
    let first = list(
        &mut review,
        ADMIN_TOKEN,
        pb::ListQueueRequest {
            status: pb::ReviewStatus::Rejected as i32,
            page_size: 2,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(!first.next_page_token.is_empty());
    let status = list(
        &mut review,
        ADMIN_TOKEN,
        pb::ListQueueRequest {
            page_token: first.next_page_token,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("page_token"), "{status}");
    server.stop().await;
}

#[tokio::test]
async fn resolving_moves_items_out_of_the_queue_and_get_decision_shows_it() {
    let (server, _directory, texts) = start_review_server().await;
    let mut client = server.moderation().await;
    let expected = fill_news_queue(&mut client, &texts).await;
    let mut review = server.review().await;

    let chosen = expected[..2].to_vec();
    let resolved = resolve(
        &mut review,
        MODERATOR_TOKEN,
        &chosen,
        pb::Label::Spam,
        "obvious",
    )
    .await
    .unwrap();
    assert_eq!(ids_of(&resolved), chosen);
    let queue = list(&mut review, MODERATOR_TOKEN, Default::default())
        .await
        .unwrap();
    assert_eq!(ids_of(&queue.items), expected[2..].to_vec());
    let rejected = list(
        &mut review,
        MODERATOR_TOKEN,
        pb::ListQueueRequest {
            status: pb::ReviewStatus::Rejected as i32,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(ids_of(&rejected.items), chosen);

    let shown = get(&mut client, &chosen[0]).await;
    assert_eq!(shown.status(), pb::ReviewStatus::Rejected);
    let resolution = shown.resolution.clone().unwrap();
    assert_eq!(resolution.label(), pb::Label::Spam);
    assert_eq!(resolution.by, "ann");
    assert_eq!(resolution.note, "obvious");

    // The same label again changes nothing, not even the time.
    let again = resolve(
        &mut review,
        MODERATOR_TOKEN,
        &chosen[..1],
        pb::Label::Spam,
        "",
    )
    .await
    .unwrap();
    assert_eq!(again[0].resolution, shown.resolution);
    // A change of mind is a new resolution.
    let changed = resolve(
        &mut review,
        MODERATOR_TOKEN,
        &chosen[..1],
        pb::Label::Ham,
        "a regular reader",
    )
    .await
    .unwrap();
    assert_eq!(changed[0].status(), pb::ReviewStatus::Approved);
    let shown = get(&mut client, &chosen[0]).await;
    assert_eq!(shown.resolution.unwrap().note, "a regular reader");
    server.stop().await;
}

#[tokio::test]
async fn a_label_changed_past_the_limit_is_refused_naming_the_limit() {
    let (server, _directory, texts) = start_review_server().await;
    let mut client = server.moderation().await;
    let expected = fill_news_queue(&mut client, &texts).await;
    let (flipped, untouched) = (&expected[0], &expected[1]);
    let mut review = server.review().await;
    let label_for = |index: u32| {
        if index.is_multiple_of(2) {
            pb::Label::Spam
        } else {
            pb::Label::Ham
        }
    };
    let limit = moderato::review::MAX_LABEL_CHANGES;
    for index in 0..limit {
        resolve(
            &mut review,
            MODERATOR_TOKEN,
            std::slice::from_ref(flipped),
            label_for(index),
            "",
        )
        .await
        .unwrap();
    }
    let last = label_for(limit - 1);
    let both = [untouched.clone(), flipped.clone()];
    let refused = resolve(
        &mut review,
        MODERATOR_TOKEN,
        &both,
        label_for(limit),
        "once more",
    )
    .await
    .unwrap_err();
    assert_eq!(
        refused.code(),
        tonic::Code::FailedPrecondition,
        "{refused:?}"
    );
    assert!(refused.message().contains(flipped.as_str()), "{refused:?}");
    assert!(
        refused
            .message()
            .contains(&format!("labelled {limit} times")),
        "{refused:?}"
    );
    // Nothing of the call was labelled, the other comment included.
    assert_eq!(
        get(&mut client, untouched).await.status(),
        pb::ReviewStatus::Pending
    );
    assert_eq!(
        get(&mut client, flipped).await.resolution.unwrap().label(),
        last
    );
    // The label the comment carries may be sent again.
    let again = resolve(&mut review, MODERATOR_TOKEN, &both, last, "")
        .await
        .unwrap();
    assert_eq!(again[1].resolution.as_ref().unwrap().label(), last);
    server.stop().await;
}

#[tokio::test]
async fn only_moderators_of_a_site_see_and_resolve_its_items() {
    let (server, _directory, texts) = start_review_server().await;
    let mut client = server.moderation().await;
    let blog_item = check(&mut client, BLOG_TOKEN, BLOG_SITE, "b-1", &texts.high).await;
    let news_item = check(&mut client, NEWS_TOKEN, NEWS_SITE, "n-1", &texts.high).await;
    let mut review = server.review().await;

    let status = list(&mut review, NEWS_TOKEN, Default::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = list(
        &mut review,
        MODERATOR_TOKEN,
        pb::ListQueueRequest {
            site_id: BLOG_SITE.to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    // One forbidden id refuses the whole call: the allowed one is untouched.
    let both = vec![news_item.decision_id.clone(), blog_item.decision_id.clone()];
    let status = resolve(&mut review, MODERATOR_TOKEN, &both, pb::Label::Spam, "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // The refusal names the decision, not the other site it belongs to.
    assert!(
        status.message().contains(&blog_item.decision_id),
        "{status}"
    );
    assert!(!status.message().contains(BLOG_SITE), "{status}");
    for id in &both {
        assert_eq!(
            get(&mut client, id).await.status(),
            pb::ReviewStatus::Pending
        );
    }
    let status = resolve(&mut review, NEWS_TOKEN, &both[..1], pb::Label::Spam, "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);

    let unknown = vec![uuid::Uuid::now_v7().to_string()];
    let status = resolve(&mut review, ADMIN_TOKEN, &unknown, pb::Label::Spam, "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let too_many = vec![news_item.decision_id.clone(); 501];
    let status = resolve(&mut review, ADMIN_TOKEN, &too_many, pb::Label::Spam, "")
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("decision_ids"), "{status}");
    let status = resolve(
        &mut review,
        ADMIN_TOKEN,
        &both[..1],
        pb::Label::Unspecified,
        "",
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("label"), "{status}");
    server.stop().await;
}

async fn report(
    client: &mut Moderation,
    token: &str,
    request: pb::ReportCommentRequest,
) -> Result<pb::Decision, tonic::Status> {
    client
        .report_comment(with_token(token, request))
        .await
        .map(|response| response.into_inner().decision.unwrap())
}

#[tokio::test]
async fn sites_report_missed_spam_and_false_positives() {
    let (server, _directory, texts) = start_review_server().await;
    let mut client = server.moderation().await;
    let allowed = check(&mut client, NEWS_TOKEN, NEWS_SITE, "a-1", &texts.allow).await;
    assert_eq!(allowed.verdict(), pb::Verdict::Allow);
    let reported = report(
        &mut client,
        NEWS_TOKEN,
        pb::ReportCommentRequest {
            comment_id: "a-1".to_string(),
            label: pb::Label::Spam as i32,
            note: "a bot after all".to_string(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(reported.decision_id, allowed.decision_id);
    assert_eq!(reported.status(), pb::ReviewStatus::Rejected);
    let resolution = reported.resolution.unwrap();
    assert_eq!(resolution.by, "news");
    assert_eq!(resolution.label(), pb::Label::Spam);

    let status = report(
        &mut client,
        BLOG_TOKEN,
        pb::ReportCommentRequest {
            decision_id: allowed.decision_id.clone(),
            label: pb::Label::Ham as i32,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    // The refusal does not tell the blog whose decision it was.
    assert!(!status.message().contains(NEWS_SITE), "{status}");
    assert!(status.message().contains(BLOG_SITE), "{status}");
    let status = report(
        &mut client,
        NEWS_TOKEN,
        pb::ReportCommentRequest {
            decision_id: allowed.decision_id.clone(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("label"), "{status}");
    server.stop().await;
}

#[tokio::test]
async fn corrections_and_the_audit_trail_survive_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(review_config(directory.path())).await;
    let texts = probe_texts(&server).await;
    let mut client = server.moderation().await;
    let item = check(&mut client, NEWS_TOKEN, NEWS_SITE, "r-1", &texts.high).await;
    let allowed = check(&mut client, NEWS_TOKEN, NEWS_SITE, "r-2", &texts.allow).await;
    let mut review = server.review().await;
    let ids = vec![item.decision_id.clone()];
    resolve(
        &mut review,
        MODERATOR_TOKEN,
        &ids,
        pb::Label::Spam,
        "first look",
    )
    .await
    .unwrap();
    resolve(
        &mut review,
        MODERATOR_TOKEN,
        &ids,
        pb::Label::Ham,
        "second look",
    )
    .await
    .unwrap();
    report(
        &mut client,
        NEWS_TOKEN,
        pb::ReportCommentRequest {
            decision_id: allowed.decision_id.clone(),
            label: pb::Label::Spam as i32,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    drop((client, review));
    server.stop().await;

    let server = start_with(review_config(directory.path())).await;
    let mut client = server.moderation().await;
    let shown = get(&mut client, &item.decision_id).await;
    assert_eq!(shown.status(), pb::ReviewStatus::Approved);
    assert_eq!(shown.resolution.unwrap().note, "second look");
    let approved = list(
        &mut server.review().await,
        MODERATOR_TOKEN,
        pb::ListQueueRequest {
            status: pb::ReviewStatus::Approved as i32,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(ids_of(&approved.items).contains(&item.decision_id));
    drop(client);
    server.stop().await;

    let store = retry_while_locked(|| Store::open(&directory.path().join("db"))).unwrap();
    let trail = store.audit_trail(&item.decision_id).unwrap();
    assert_eq!(trail.len(), 2, "{trail:?}");
    assert_eq!(trail[0].to_label, Label::Spam);
    assert_eq!(trail[0].from_label, None);
    assert_eq!(trail[0].note, "first look");
    assert_eq!(trail[1].from_label, Some(Label::Spam));
    assert_eq!(trail[1].to_label, Label::Ham);
    assert_eq!(trail[1].by, "ann");
    assert_eq!(trail[1].key_name, "news-moderator");
    assert!(trail[0].at <= trail[1].at);

    let corrections: Vec<_> = store.corrections().collect::<Result<_, _>>().unwrap();
    assert_eq!(corrections.len(), 2);
    let moderated = corrections
        .iter()
        .find(|correction| correction.decision_id == item.decision_id)
        .unwrap();
    assert_eq!(moderated.label, Label::Ham);
    assert_eq!(moderated.source, CorrectionSource::Moderator);
    assert_eq!(moderated.content, texts.high);
    let reported = corrections
        .iter()
        .find(|correction| correction.decision_id == allowed.decision_id)
        .unwrap();
    assert_eq!(reported.label, Label::Spam);
    assert_eq!(reported.source, CorrectionSource::Site);
    assert_eq!(reported.by, "news");
}

async fn stats(
    review: &mut Review,
    token: &str,
    request: pb::GetStatsRequest,
) -> Result<pb::Stats, tonic::Status> {
    review
        .get_stats(with_token(token, request))
        .await
        .map(|response| response.into_inner())
}

#[tokio::test]
async fn stats_match_a_hand_count() {
    let (server, _directory, texts) = start_review_server().await;
    let mut client = server.moderation().await;
    let mut review = server.review().await;
    let site_report = |decision_id: &str, label: pb::Label| pb::ReportCommentRequest {
        decision_id: decision_id.to_string(),
        label: label as i32,
        ..Default::default()
    };
    // News: three allowed (one later reported as spam), three in review
    // (one labelled ham, one spam, one left pending), two rejected (one
    // reported as ham).
    check(&mut client, NEWS_TOKEN, NEWS_SITE, "allow-1", &texts.allow).await;
    check(&mut client, NEWS_TOKEN, NEWS_SITE, "allow-2", &texts.allow).await;
    let missed = check(&mut client, NEWS_TOKEN, NEWS_SITE, "allow-3", &texts.allow).await;
    let review_ham = check(&mut client, NEWS_TOKEN, NEWS_SITE, "review-1", &texts.high).await;
    let review_spam = check(&mut client, NEWS_TOKEN, NEWS_SITE, "review-2", &texts.low).await;
    check(
        &mut client,
        NEWS_TOKEN,
        NEWS_SITE,
        "review-3",
        &texts.medium,
    )
    .await;
    let wrongly_rejected = check(
        &mut client,
        NEWS_TOKEN,
        NEWS_SITE,
        "reject-1",
        &texts.reject,
    )
    .await;
    let rejected = check(
        &mut client,
        NEWS_TOKEN,
        NEWS_SITE,
        "reject-2",
        &texts.reject,
    )
    .await;
    assert_eq!(rejected.verdict(), pb::Verdict::Reject);
    // Blog: one rejection nobody objected to.
    check(
        &mut client,
        BLOG_TOKEN,
        BLOG_SITE,
        "reject-1",
        &texts.reject,
    )
    .await;

    report(
        &mut client,
        NEWS_TOKEN,
        site_report(&missed.decision_id, pb::Label::Spam),
    )
    .await
    .unwrap();
    report(
        &mut client,
        NEWS_TOKEN,
        site_report(&wrongly_rejected.decision_id, pb::Label::Ham),
    )
    .await
    .unwrap();
    resolve(
        &mut review,
        MODERATOR_TOKEN,
        std::slice::from_ref(&review_ham.decision_id),
        pb::Label::Ham,
        "",
    )
    .await
    .unwrap();
    resolve(
        &mut review,
        MODERATOR_TOKEN,
        std::slice::from_ref(&review_spam.decision_id),
        pb::Label::Spam,
        "",
    )
    .await
    .unwrap();

    // By hand: flagged = 3 review + 2 reject; false positives = review-1
    // and reject-1 (labelled ham); missed spam = allow-3; true positives =
    // review-2 (labelled spam) and reject-2 (unchallenged); review-3 is
    // pending, truth unknown.
    let news = stats(&mut review, MODERATOR_TOKEN, Default::default())
        .await
        .unwrap();
    assert_eq!(news.total, 8);
    let verdicts = news.verdicts.unwrap();
    assert_eq!(
        (verdicts.allow, verdicts.review, verdicts.reject),
        (3, 3, 2)
    );
    let statuses = news.statuses.unwrap();
    assert_eq!(
        (statuses.pending, statuses.approved, statuses.rejected),
        (1, 4, 3)
    );
    assert_eq!(news.missed_spam, 1);
    assert_eq!(news.false_positives, 2);
    assert!((news.precision - 2.0 / 4.0).abs() < 1e-9, "{news:?}");
    assert!((news.recall - 2.0 / 3.0).abs() < 1e-9, "{news:?}");

    // The admin sees both sites; the blog adds one true positive.
    let all = stats(&mut review, ADMIN_TOKEN, Default::default())
        .await
        .unwrap();
    assert_eq!(all.total, 9);
    assert!((all.precision - 3.0 / 5.0).abs() < 1e-9, "{all:?}");
    assert!((all.recall - 3.0 / 4.0).abs() < 1e-9, "{all:?}");
    let blog = stats(
        &mut review,
        ADMIN_TOKEN,
        pb::GetStatsRequest {
            site_id: BLOG_SITE.to_string(),
            since: None,
        },
    )
    .await
    .unwrap();
    assert_eq!((blog.total, blog.verdicts.unwrap().reject), (1, 1));

    // Since just after the last news check: only the blog's comment is
    // that new.
    let last_news = get(&mut client, &rejected.decision_id)
        .await
        .created_at
        .unwrap();
    let since_millis = last_news.seconds * 1000 + i64::from(last_news.nanos / 1_000_000) + 1;
    let since = prost_types::Timestamp {
        seconds: since_millis.div_euclid(1000),
        nanos: (since_millis.rem_euclid(1000) * 1_000_000) as i32,
    };
    let recent = stats(
        &mut review,
        ADMIN_TOKEN,
        pb::GetStatsRequest {
            site_id: String::new(),
            since: Some(since),
        },
    )
    .await
    .unwrap();
    assert_eq!(recent.total, 1);
    let status = stats(
        &mut review,
        MODERATOR_TOKEN,
        pb::GetStatsRequest {
            site_id: BLOG_SITE.to_string(),
            since: None,
        },
    )
    .await
    .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    server.stop().await;
}

/// Runs `moderato <args>` against the test server with `token`.
async fn moderato_against(server: &TestServer, token: &str, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_moderato"))
        .args(args)
        .env("MODERATO_SERVER", format!("http://{}", server.address))
        .env("MODERATO_TOKEN", token)
        .output()
        .await
        .unwrap()
}

/// Runs `moderato queue ...` against the test server and returns its
/// standard output; the command must succeed.
async fn moderato_queue(server: &TestServer, token: &str, args: &[&str]) -> String {
    let queue_args: Vec<&str> = std::iter::once("queue")
        .chain(args.iter().copied())
        .collect();
    let output = moderato_against(server, token, &queue_args).await;
    assert!(
        output.status.success(),
        "moderato queue {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[tokio::test]
async fn moderators_list_and_resolve_from_the_command_line() {
    let (server, _directory, texts) = start_review_server().await;
    let mut client = server.moderation().await;
    let expected = fill_news_queue(&mut client, &texts).await;

    let listed = moderato_queue(&server, MODERATOR_TOKEN, &["list", "--page-size", "4"]).await;
    let listed_ids: Vec<&str> = listed
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|word| word.len() == 36)
        .collect();
    assert_eq!(listed_ids, expected[..4].to_vec(), "{listed}");
    assert!(listed.contains("4 shown of 6 matching"), "{listed}");
    // The next page's line gives the filter's flags with its token, so
    // that it can be given back as printed.
    let next_page = listed
        .lines()
        .find_map(|line| line.strip_prefix("next page: "))
        .unwrap_or_else(|| panic!("{listed}"));
    assert!(
        next_page.starts_with("--page-size 4 --page-token "),
        "{listed}"
    );
    let next_arguments: Vec<&str> = std::iter::once("list")
        .chain(next_page.split_whitespace())
        .collect();
    let second = moderato_queue(&server, MODERATOR_TOKEN, &next_arguments).await;
    assert!(second.contains("2 shown of 6 matching"), "{second}");
    assert!(!second.contains("next page"), "{second}");

    let resolved = moderato_queue(
        &server,
        MODERATOR_TOKEN,
        &[
            "resolve",
            &expected[0],
            &expected[1],
            "--spam",
            "--note",
            "cli",
        ],
    )
    .await;
    assert!(resolved.contains("2 resolved as spam"), "{resolved}");
    let shown = get(&mut client, &expected[0]).await;
    assert_eq!(shown.status(), pb::ReviewStatus::Rejected);
    assert_eq!(shown.resolution.unwrap().note, "cli");

    // The server's refusal reaches the user as an error, not a crash.
    let refused = moderato_against(
        &server,
        MODERATOR_TOKEN,
        &["queue", "list", "--site", BLOG_SITE],
    )
    .await;
    assert_eq!(refused.status.code(), Some(1));
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(message.contains("PermissionDenied"), "{message}");
    server.stop().await;
}

/// An export carries the host names a site's rules table lists, so that a
/// model trained on it elsewhere reads links to them as the service does.
#[tokio::test(flavor = "multi_thread")]
async fn an_export_carries_the_hosts_a_site_lists() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(config_with_rules(
        directory.path(),
        "[rules.sites.\"blog.example\"]\nhosts = [\"Blog-Mirror.example\"]\n",
    ))
    .await;
    store_and_label(
        &server,
        "news",
        &["the council should publish the budget figures"],
        pb::Label::Ham,
    )
    .await;
    let blog = check_as_blog(
        &server,
        "blog-1",
        "more at https://blog-mirror.example/page",
    )
    .await
    .unwrap();
    label_as_admin(&server, blog.decision_id, pb::Label::Spam).await;

    let out = directory.path().join("corrections.jsonl");
    let (code, stderr) =
        moderato_export(&server, ADMIN_TOKEN, &["--out", out.to_str().unwrap()]).await;
    assert_eq!(code, Some(0), "{stderr}");
    // The blog's row lists its host as the configuration reads it; the
    // news site lists none, and its row has no `hosts` at all.
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let row_of = |site: &str| {
        lines
            .iter()
            .find(|line| line["site_id"] == site)
            .unwrap_or_else(|| panic!("no row of {site}: {lines:?}"))
    };
    assert_eq!(
        row_of(BLOG_SITE)["hosts"],
        serde_json::json!(["blog-mirror.example"])
    );
    assert!(row_of(NEWS_SITE).get("hosts").is_none(), "{lines:?}");

    // Read back as training data, each row knows its site's hosts.
    let examples = moderato::classifier::read_labelled_file(&out).unwrap();
    let site_of = |spam: bool| {
        &examples
            .iter()
            .find(|e| e.label.is_spam() == spam)
            .unwrap()
            .site
    };
    assert!(site_of(true).owns("blog-mirror.example"));
    assert!(site_of(true).owns("blog.example"));
    assert!(site_of(false).owns("news.example"));
    assert!(!site_of(false).owns("blog-mirror.example"));
    server.stop().await;
}

/// Labels a decision with the admin key, which may label any site's.
async fn label_as_admin(server: &TestServer, decision_id: String, label: pb::Label) {
    server
        .review()
        .await
        .resolve_items(with_token(
            ADMIN_TOKEN,
            pb::ResolveItemsRequest {
                decision_ids: vec![decision_id],
                label: label.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
}

/// Runs `moderato export` against the test server with `token`; returns
/// the exit code and standard error.
async fn moderato_export(server: &TestServer, token: &str, args: &[&str]) -> (Option<i32>, String) {
    let export_args: Vec<&str> = std::iter::once("export")
        .chain(args.iter().copied())
        .collect();
    let output = moderato_against(server, token, &export_args).await;
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_writes_the_labelled_comments_as_training_data() {
    let (server, directory) = start_server().await;
    // Nothing labelled yet: no file, and a message that says why.
    let empty = directory.path().join("empty.jsonl");
    let (code, stderr) = moderato_export(
        &server,
        MODERATOR_TOKEN,
        &["--out", empty.to_str().unwrap()],
    )
    .await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("nothing was written"), "{stderr}");
    assert!(!empty.exists());
    // Nor the temporary file it was written into.
    let temporary_files = || {
        std::fs::read_dir(directory.path())
            .unwrap()
            .filter(|entry| {
                let name = entry.as_ref().unwrap().file_name();
                name.to_string_lossy().starts_with(".moderato-")
            })
            .count()
    };
    assert_eq!(temporary_files(), 0);

    let spam = [
        "win cash now at casino-example",
        "cheap pills here, order today",
    ];
    let ham = ["the council should publish the budget figures"];
    store_and_label(&server, "spam", &spam, pb::Label::Spam).await;
    store_and_label(&server, "ham", &ham, pb::Label::Ham).await;
    // A label changed later: the export has the latest one.
    store_and_label(&server, "ham", &ham, pb::Label::Spam).await;
    store_and_label(&server, "ham", &ham, pb::Label::Ham).await;
    // A blog comment an operator labelled: not the news moderator's.
    let blog = check_as_blog(&server, "blog-1", "visit my page for cheap followers")
        .await
        .unwrap();
    label_as_admin(&server, blog.decision_id, pb::Label::Spam).await;

    let out = directory.path().join("corrections.jsonl");
    let out_text = out.to_str().unwrap();
    let (code, stderr) = moderato_export(&server, MODERATOR_TOKEN, &["--out", out_text]).await;
    assert_eq!(code, Some(0), "{stderr}");
    // The format `train` and `eval` read, the site as the group.
    let examples = moderato::classifier::read_labelled_file(&out).unwrap();
    let mut found: Vec<(String, bool, Option<String>)> = examples
        .into_iter()
        .map(|example| (example.text, example.label.is_spam(), example.group))
        .collect();
    found.sort();
    let news = Some(NEWS_SITE.to_string());
    let mut expected = vec![
        (spam[0].to_string(), true, news.clone()),
        (spam[1].to_string(), true, news.clone()),
        (ham[0].to_string(), false, news.clone()),
    ];
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(temporary_files(), 0);
    // Owner-only: the file holds readers' comments.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
    }

    // An admin sees every site; a moderator may not name another's.
    let (code, stderr) = moderato_export(&server, ADMIN_TOKEN, &["--out", out_text]).await;
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(
        moderato::classifier::read_labelled_file(&out)
            .unwrap()
            .len(),
        4
    );
    let (code, stderr) = moderato_export(
        &server,
        MODERATOR_TOKEN,
        &["--site", BLOG_SITE, "--out", out_text],
    )
    .await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("PermissionDenied"), "{stderr}");
    server.stop().await;
}
