//! The rule checks through the running service: each verdict names the
//! rules that fired, the reasons add up to the score, and the rules'
//! state (recent texts, author history) works across calls and restarts.

use moderato::config::Overrides;
use moderato::domain::{Author, Comment, Label, UnixMillis};
use moderato::engine::CheckOptions;
use moderato::grpc::pb;
use moderato::server::{reload, State};

use crate::util::*;

const PROMOTION: &str = "Earn 500 dollars a day working from home with our amazing new system, \
                         visit our website today and start making money right now";

/// A reader's comment long enough to be fingerprinted.
const LOCAL_NEWS: &str = "I went to the council meeting last night and the plans for the new \
                          library were discussed at length by nearly everyone who was there";

/// The reasons' weights add up to the log-odds of the score.
fn assert_reasons_add_up(response: &pb::CheckCommentResponse) {
    assert!(!response.reasons.is_empty(), "{response:?}");
    let log_odds: f64 = response.reasons.iter().map(|reason| reason.weight).sum();
    let logit = (response.score / (1.0 - response.score)).ln();
    assert!(
        (log_odds - logit).abs() < 1e-6,
        "reasons add up to {log_odds}, the score's log-odds are {logit}: {response:?}"
    );
}

fn rule_codes(response: &pb::CheckCommentResponse) -> Vec<&str> {
    response
        .reasons
        .iter()
        .filter(|reason| reason.source() == pb::ReasonSource::Rule)
        .map(|reason| reason.code.as_str())
        .collect()
}

fn by(request: pb::CheckCommentRequest, name: &str, email: &str) -> pb::CheckCommentRequest {
    pb::CheckCommentRequest {
        author: Some(pb::Author {
            name: name.to_string(),
            email: email.to_string(),
            ..Default::default()
        }),
        ..request
    }
}

async fn check(server: &TestServer, request: pb::CheckCommentRequest) -> pb::CheckCommentResponse {
    let response = server
        .moderation()
        .await
        .check_comment(with_token(NEWS_TOKEN, request))
        .await
        .unwrap()
        .into_inner();
    assert_reasons_add_up(&response);
    response
}

#[tokio::test]
async fn a_filled_honeypot_is_rejected() {
    let (server, _directory) = start_server().await;
    let request = pb::CheckCommentRequest {
        form: Some(pb::FormSignals {
            honeypot: "http://spam.example".to_string(),
            seconds_on_page: None,
        }),
        ..comment("hp-1", HAM_TEXT)
    };
    let response = check(&server, request).await;
    assert_eq!(response.verdict(), pb::Verdict::Reject, "{response:?}");
    assert_eq!(response.priority(), pb::Priority::High);
    assert_eq!(rule_codes(&response), vec!["honeypot"]);
    server.stop().await;
}

#[tokio::test]
async fn a_form_sent_within_a_second_is_too_fast() {
    let (server, _directory) = start_server().await;
    let form = |seconds| pb::FormSignals {
        honeypot: String::new(),
        seconds_on_page: Some(seconds),
    };
    let fast = check(
        &server,
        pb::CheckCommentRequest {
            form: Some(form(1.0)),
            ..comment("fast-1", HAM_TEXT)
        },
    )
    .await;
    assert_eq!(rule_codes(&fast), vec!["submitted_too_fast"]);
    assert_ne!(fast.verdict(), pb::Verdict::Allow, "{fast:?}");
    let patient = check(
        &server,
        pb::CheckCommentRequest {
            form: Some(form(45.0)),
            ..comment("slow-1", HAM_TEXT)
        },
    )
    .await;
    assert!(rule_codes(&patient).is_empty(), "{patient:?}");
    assert_eq!(patient.verdict(), pb::Verdict::Allow);
    server.stop().await;
}

#[tokio::test]
async fn the_same_promotion_from_many_authors_is_a_duplicate_even_after_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(test_config(directory.path())).await;
    let variants = [
        PROMOTION.to_string(),
        PROMOTION.replace("500", "700"),
        PROMOTION.replace("amazing", "incredible"),
        PROMOTION.replace("right now", "right now!!"),
    ];
    for (index, text) in variants.iter().enumerate() {
        let request = by(
            comment(&format!("promo-{index}"), text),
            &format!("Author {index}"),
            &format!("author{index}@mail.example"),
        );
        let response = check(&server, request).await;
        let duplicate = rule_codes(&response).contains(&"duplicate_content");
        assert_eq!(duplicate, index > 0, "comment {index}: {response:?}");
        if index > 0 {
            assert_ne!(response.verdict(), pb::Verdict::Allow, "{response:?}");
        }
    }
    server.stop().await;

    // The fifth copy arrives after a restart: the fingerprints are stored.
    let server = start_with(test_config(directory.path())).await;
    let fifth = by(
        comment("promo-4", &PROMOTION.replace("dollars", "euros")),
        "Author 4",
        "author4@mail.example",
    );
    let response = check(&server, fifth).await;
    assert!(
        rule_codes(&response).contains(&"duplicate_content"),
        "{response:?}"
    );

    // An unrelated comment is no duplicate.
    let other = check(&server, comment("other", HAM_TEXT)).await;
    assert!(
        !rule_codes(&other).contains(&"duplicate_content"),
        "{other:?}"
    );
    server.stop().await;
}

/// An edited comment, rechecked, is remembered with its new text: a later
/// copy of the new text is a duplicate of it, and a copy of the old text
/// is not (before and after a restart, since the fingerprints are stored).
#[tokio::test]
async fn a_rechecked_comment_is_compared_as_it_reads_now() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(test_config(directory.path())).await;
    let edited = by(
        comment("edited", LOCAL_NEWS),
        "Author 0",
        "author0@mail.example",
    );
    assert!(rule_codes(&check(&server, edited).await).is_empty());
    let mut recheck = by(
        comment("edited", PROMOTION),
        "Author 0",
        "author0@mail.example",
    );
    recheck.recheck = true;
    let rechecked = check(&server, recheck).await;
    assert!(
        !rule_codes(&rechecked).contains(&"duplicate_content"),
        "{rechecked:?}"
    );
    let copy = by(
        comment("copy-1", &PROMOTION.replace("500", "700")),
        "Author 1",
        "author1@mail.example",
    );
    let response = check(&server, copy).await;
    assert!(
        rule_codes(&response).contains(&"duplicate_content"),
        "{response:?}"
    );
    server.stop().await;

    let server = start_with(test_config(directory.path())).await;
    let old_text = by(
        comment("old-text", &LOCAL_NEWS.replace("last night", "on Monday")),
        "Author 2",
        "author2@mail.example",
    );
    let response = check(&server, old_text).await;
    assert!(
        !rule_codes(&response).contains(&"duplicate_content"),
        "{response:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_blocked_term_in_look_alike_letters_is_found() {
    let directory = tempfile::tempdir().unwrap();
    let config = config_with_rules(
        directory.path(),
        "[rules]\nblocked_terms = [\"free money\"]\n",
    );
    let server = start_with(config).await;
    for (index, text) in [
        "Get ｆｒ３ｅ  m0ney today",
        "get FR33 M0NEYYY",
        "get fr\u{0435}e mone\u{0443}",
        // Invisible characters inside the words, raw or as an entity.
        "get fr\u{00AD}ee money",
        "get fr&shy;ee mon\u{200E}ey",
    ]
    .iter()
    .enumerate()
    {
        let response = check(&server, comment(&format!("term-{index}"), text)).await;
        assert!(
            rule_codes(&response).contains(&"blocked_term"),
            "{text}: {response:?}"
        );
        assert_eq!(response.verdict(), pb::Verdict::Reject);
        let reason = response
            .reasons
            .iter()
            .find(|r| r.code == "blocked_term")
            .unwrap();
        assert!(reason.message.contains("free money"), "{reason:?}");
    }
    let honest = check(
        &server,
        comment(
            "honest",
            "Is there such a thing as freedom from money worries?",
        ),
    )
    .await;
    assert!(!rule_codes(&honest).contains(&"blocked_term"), "{honest:?}");
    server.stop().await;
}

/// The comment spam of a "Leave a Reply" form: a text that says nothing,
/// and the advertising in the name and website fields.
#[tokio::test]
async fn the_name_and_website_fields_are_read_for_advertising_and_web_addresses() {
    let directory = tempfile::tempdir().unwrap();
    let config = config_with_rules(
        directory.path(),
        "[rules]\nblocked_terms = [\"dick\"]\nblocked_domains = [\"pillshop.top\"]\n",
    );
    let server = start_with(config).await;
    let from = |id: &str, name: &str, url: &str| pb::CheckCommentRequest {
        author: Some(pb::Author {
            name: name.to_string(),
            url: url.to_string(),
            ..Default::default()
        }),
        ..comment(id, HAM_TEXT)
    };
    let reason = |response: &pb::CheckCommentResponse, code: &str| {
        response
            .reasons
            .iter()
            .find(|reason| reason.code == code)
            .map(|reason| reason.message.clone())
    };
    let named = check(&server, from("form-1", "Online C4SINO Bonus", "")).await;
    assert_eq!(rule_codes(&named), vec!["author_keyword"], "{named:?}");
    assert_eq!(named.verdict(), pb::Verdict::Review, "{named:?}");
    assert_eq!(
        reason(&named, "author_keyword").as_deref(),
        Some("The author's name contains the advertising terms \"online casino\", \"casino\".")
    );
    let linked = check(
        &server,
        from("form-2", "Mike", "https://best-casino-sites.example/"),
    )
    .await;
    assert_eq!(
        reason(&linked, "author_keyword").as_deref(),
        Some("The author's website contains the advertising term \"casino\".")
    );
    assert_eq!(linked.verdict(), pb::Verdict::Review, "{linked:?}");
    let address = check(&server, from("form-3", "Cheap-Meds.Top", "")).await;
    assert_eq!(rule_codes(&address), vec!["link_in_name"], "{address:?}");
    assert_eq!(address.verdict(), pb::Verdict::Review, "{address:?}");
    // A blocked domain written as the name rejects, as in the website.
    let blocked = check(&server, from("form-4", "www.pillshop.top", "")).await;
    assert_eq!(
        rule_codes(&blocked),
        vec!["link_in_name", "blocked_domain"],
        "{blocked:?}"
    );
    assert_eq!(blocked.verdict(), pb::Verdict::Reject, "{blocked:?}");
    // Readers are left alone, and a list of words not welcome in the
    // text does not read their names.
    for (id, name, url) in [
        ("form-5", "Anna Müller", "https://anna-mueller.example/blog"),
        ("form-6", "Philip K. Dick", ""),
        ("form-7", "J.De Jong", "https://dejong.example"),
    ] {
        let reader = check(&server, from(id, name, url)).await;
        assert!(rule_codes(&reader).is_empty(), "{name}: {reader:?}");
        assert_eq!(reader.verdict(), pb::Verdict::Allow, "{name}: {reader:?}");
    }
    server.stop().await;
}

/// An unlabelled comment counts as approved in its author's history while
/// its status is approved: a recheck that changes the status moves it.
#[tokio::test]
async fn a_recheck_moves_the_comments_approval_in_the_authors_history() {
    let directory = tempfile::tempdir().unwrap();
    let state = State::open(&test_config(directory.path())).unwrap();
    let engine = &state.engine;
    let author = Author {
        email: "reader@mail.example".to_string(),
        ..Author::default()
    };
    let comment = |content: &str| Comment {
        site_id: NEWS_SITE.to_string(),
        comment_id: "edited".to_string(),
        content: content.to_string(),
        author: author.clone(),
        context: Default::default(),
        submitted_at: UnixMillis::now(),
        form: Default::default(),
    };
    let approved = || {
        engine
            .store()
            .author_history(NEWS_SITE, "email:reader@mail.example")
            .unwrap()
            .approved
    };
    let first = engine
        .check(comment(HAM_TEXT), CheckOptions::default())
        .await
        .unwrap();
    assert_eq!(
        first.decision.status,
        moderato::domain::ReviewStatus::Approved
    );
    assert_eq!(approved(), 1);
    let recheck = CheckOptions {
        recheck: true,
        dry_run: false,
    };
    let edited = engine.check(comment(SPAM_TEXT), recheck).await.unwrap();
    assert_ne!(
        edited.decision.status,
        moderato::domain::ReviewStatus::Approved
    );
    assert_eq!(approved(), 0);
    engine.check(comment(HAM_TEXT), recheck).await.unwrap();
    assert_eq!(approved(), 1);
}

/// The two ways of checking a stored comment again.
const AGAIN: [CheckOptions; 2] = [
    CheckOptions {
        recheck: true,
        dry_run: false,
    },
    CheckOptions {
        recheck: false,
        dry_run: true,
    },
];

/// A comment checked again is no earlier comment of its own author: a
/// recheck (or a dry run) of an author's first comment still finds a new
/// author.
#[tokio::test]
async fn a_recheck_is_not_counted_as_an_earlier_comment_of_its_author() {
    let directory = tempfile::tempdir().unwrap();
    let config = config_with_rules(directory.path(), "[rules.new_author]\nenabled = true\n");
    let state = State::open(&config).unwrap();
    let engine = &state.engine;
    let author = "first@mail.example";
    let (first, codes) = codes_of_check(engine, "first", author, CheckOptions::default()).await;
    assert!(codes.contains(&"new_author".to_string()), "{first:?}");
    for options in AGAIN {
        let (again, codes) = codes_of_check(engine, "first", author, options).await;
        assert!(
            codes.contains(&"new_author".to_string()),
            "{options:?}: {again:?}"
        );
    }
    // Its next comment is the author's second: no longer new.
    let (second, codes) = codes_of_check(engine, "second", author, CheckOptions::default()).await;
    assert!(!codes.contains(&"new_author".to_string()), "{second:?}");
}

/// The engine's check of a fixed legitimate text by `email` on the news
/// site, and the codes of its reasons.
async fn codes_of_check(
    engine: &moderato::engine::Engine,
    comment_id: &str,
    email: &str,
    options: CheckOptions,
) -> (moderato::domain::Decision, Vec<String>) {
    let comment = Comment {
        site_id: NEWS_SITE.to_string(),
        comment_id: comment_id.to_string(),
        content: "The new bridge looks lovely in the evening light.".to_string(),
        author: Author {
            name: "Reader".to_string(),
            email: email.to_string(),
            ..Author::default()
        },
        context: Default::default(),
        submitted_at: UnixMillis::now(),
        form: Default::default(),
    };
    let decision = engine.check(comment, options).await.unwrap().decision;
    let codes = decision
        .assessment
        .reasons
        .iter()
        .map(|reason| reason.code.clone())
        .collect();
    (decision, codes)
}

/// An approved comment earns its author no trust when it is checked again:
/// the approval that trust counts is its own.
#[tokio::test]
async fn a_recheck_earns_no_trust_from_its_own_approval() {
    let directory = tempfile::tempdir().unwrap();
    let config = config_with_rules(directory.path(), "[rules.trusted_author]\nthreshold = 1\n");
    let state = State::open(&config).unwrap();
    let engine = &state.engine;
    let (first, codes) = codes_of_check(
        engine,
        "only",
        "reader@mail.example",
        CheckOptions::default(),
    )
    .await;
    assert_eq!(
        first.status,
        moderato::domain::ReviewStatus::Approved,
        "{first:?}"
    );
    assert!(!codes.contains(&"trusted_author".to_string()), "{codes:?}");
    for options in AGAIN {
        let (again, codes) = codes_of_check(engine, "only", "reader@mail.example", options).await;
        assert!(
            !codes.contains(&"trusted_author".to_string()),
            "{options:?}: {again:?}"
        );
    }
}

/// A recheck that gives a comment another author moves the comment to the
/// new author's history, so that a later recheck takes it out of the
/// history that counted it.
#[tokio::test]
async fn a_recheck_under_another_author_moves_the_comment_to_their_history() {
    let directory = tempfile::tempdir().unwrap();
    let config = config_with_rules(
        directory.path(),
        "[rules.new_author]\nenabled = true\nthreshold = 3\n[rules.flood]\nenabled = false\n",
    );
    let state = State::open(&config).unwrap();
    let engine = &state.engine;
    let regular = "regular@mail.example";
    for index in 0..3 {
        codes_of_check(
            engine,
            &format!("r{index}"),
            regular,
            CheckOptions::default(),
        )
        .await;
    }
    let (_, codes) = codes_of_check(
        engine,
        "c1",
        "newcomer@mail.example",
        CheckOptions::default(),
    )
    .await;
    assert!(codes.contains(&"new_author".to_string()), "{codes:?}");
    let recheck = AGAIN[0];
    // The regular has three earlier comments, however often the comment
    // that is now theirs is checked again.
    for round in 0..2 {
        let (again, codes) = codes_of_check(engine, "c1", regular, recheck).await;
        assert!(
            !codes.contains(&"new_author".to_string()),
            "round {round}: {again:?}"
        );
    }
    let history = |email: &str| {
        engine
            .store()
            .author_history(NEWS_SITE, &format!("email:{email}"))
            .unwrap()
    };
    assert_eq!(history(regular).comments, 4);
    assert_eq!(history("newcomer@mail.example").comments, 0);
}

#[tokio::test]
async fn approved_authors_earn_trust_and_spam_labels_take_it_away() {
    let directory = tempfile::tempdir().unwrap();
    // Eight comments within seconds would be a flood; this test is about
    // trust, so the flood rule is off.
    let config = config_with_rules(directory.path(), "[rules.flood]\nenabled = false\n");
    let state = State::open(&config).unwrap();
    let engine = &state.engine;
    let author = Author {
        name: "Regular Reader".to_string(),
        email: "reader@mail.example".to_string(),
        ..Author::default()
    };
    let texts = [
        "The new bridge looks lovely in the evening light.",
        "Our library should open on Sundays too, I think.",
        "Thanks for covering the budget debate so carefully.",
        "My daughter's school had the same problem last winter.",
        "Has anyone tried the cafe that opened by the park?",
        "The river walk is flooded again, use the upper path.",
        "I remember when the market square still had a fountain.",
        "Good interview with the mayor, fair questions throughout.",
    ];
    let mut approved_before = 0;
    let mut last = None;
    for (index, text) in texts.iter().enumerate() {
        let comment = Comment {
            site_id: NEWS_SITE.to_string(),
            comment_id: format!("regular-{index}"),
            content: text.to_string(),
            author: author.clone(),
            context: Default::default(),
            submitted_at: UnixMillis::now(),
            form: Default::default(),
        };
        let outcome = engine
            .check(comment, CheckOptions::default())
            .await
            .unwrap();
        let trusted = outcome
            .decision
            .assessment
            .reasons
            .iter()
            .any(|reason| reason.code == "trusted_author" && reason.weight < 0.0);
        // The default trusts an author with five approved comments.
        assert_eq!(
            trusted,
            approved_before >= 5,
            "comment {index}: {:?}",
            outcome.decision.assessment
        );
        if outcome.decision.status == moderato::domain::ReviewStatus::Approved {
            approved_before += 1;
        }
        last = Some(outcome.decision);
    }
    assert!(
        approved_before > 5,
        "the author never reached trust: {approved_before} approved"
    );
    let last = last.unwrap();
    engine
        .record_author_label(
            &last.comment,
            moderato::rules::AuthorLabel {
                before: None,
                allowed: last.status == moderato::domain::ReviewStatus::Approved,
                label: Label::Spam,
            },
        )
        .unwrap();
    let again = Comment {
        comment_id: "regular-after-spam".to_string(),
        content: "One more thought about the council and the bridge.".to_string(),
        ..last.comment.clone()
    };
    let outcome = engine.check(again, CheckOptions::default()).await.unwrap();
    // One spam label takes the trust away, but a regular with many
    // approved comments is no spammer for it.
    assert!(
        !outcome
            .decision
            .assessment
            .reasons
            .iter()
            .any(|r| r.code == "trusted_author" || r.code == "spam_author"),
        "{:?}",
        outcome.decision.assessment
    );
}

/// A moderator's spam label follows its author: their next comment is held
/// for review with a reason that says why, until approvals outnumber the
/// spam labels. Other authors are not touched.
#[tokio::test]
async fn an_author_labelled_spam_is_held_for_review_until_approved_more_often() {
    let (server, _directory) = start_server().await;
    let spammer =
        |comment_id: &str, text: &str| by(comment(comment_id, text), "Promo", "promo@mail.example");
    let first = check(&server, spammer("promo-1", PROMOTION)).await;
    assert!(!rule_codes(&first).contains(&"spam_author"), "{first:?}");
    resolve_as_moderator(&server, vec![first.decision_id.clone()], pb::Label::Spam).await;

    let harmless = check(&server, spammer("promo-2", HAM_TEXT)).await;
    assert!(
        rule_codes(&harmless).contains(&"spam_author"),
        "{harmless:?}"
    );
    assert_ne!(harmless.verdict(), pb::Verdict::Allow, "{harmless:?}");
    let reason = harmless
        .reasons
        .iter()
        .find(|reason| reason.code == "spam_author")
        .unwrap();
    assert_eq!(
        reason.message,
        "The author, known by their e-mail address, has 1 earlier comment labelled spam on this \
         site and 0 approved."
    );
    assert_eq!(reason.weight, 2.0);

    let other = check(
        &server,
        by(
            comment("reader-1", HAM_TEXT),
            "Reader",
            "reader@mail.example",
        ),
    )
    .await;
    assert!(!rule_codes(&other).contains(&"spam_author"), "{other:?}");
    assert_eq!(other.verdict(), pb::Verdict::Allow, "{other:?}");

    // The moderator approves the harmless comment: one approval against
    // one spam label, and the author is no longer held for it.
    resolve_as_moderator(&server, vec![harmless.decision_id.clone()], pb::Label::Ham).await;
    let later = check(&server, spammer("promo-3", HAM_TEXT)).await;
    assert!(!rule_codes(&later).contains(&"spam_author"), "{later:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_bad_reload_is_refused_and_a_good_one_puts_rules_thresholds_and_keys_in_force() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("moderato.toml");
    std::fs::write(&file, "[rules]\nblocked_terms = [\"free money\"]\n").unwrap();
    let config = moderato::config::Config {
        rules: moderato::config::Config::load(Some(&file), &Default::default())
            .unwrap()
            .rules,
        ..test_config(directory.path())
    };
    let state = State::open(&config).unwrap();
    let engine = &state.engine;
    let verdict_of = |text: &str| {
        let comment = Comment {
            site_id: NEWS_SITE.to_string(),
            comment_id: "c".to_string(),
            content: text.to_string(),
            author: Author::default(),
            context: Default::default(),
            submitted_at: UnixMillis::now(),
            form: Default::default(),
        };
        async move {
            let options = CheckOptions {
                dry_run: true,
                ..CheckOptions::default()
            };
            engine
                .check(comment, options)
                .await
                .unwrap()
                .decision
                .assessment
        }
    };
    let has = |assessment: &moderato::domain::Assessment, code: &str| {
        assessment.reasons.iter().any(|reason| reason.code == code)
    };

    std::fs::write(&file, "[rules]\nblocked_terms = [\"casino\"\n").unwrap();
    let error = reload(engine, &state.access, &config, &file, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("line"), "{error}");
    std::fs::write(&file, "[rules]\nblocked_ips = [\"10.0.0.300/8\"]\n").unwrap();
    let error = reload(engine, &state.access, &config, &file, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(error.contains("rules.blocked_ips[0]"), "{error}");
    assert!(has(&verdict_of("free money here").await, "blocked_term"));

    std::fs::write(&file, "[rules]\nblocked_terms = [\"casino\"]\n").unwrap();
    reload(engine, &state.access, &config, &file, &Overrides::default()).unwrap();
    assert!(has(&verdict_of("the best casino").await, "blocked_term"));
    assert!(!has(&verdict_of("free money here").await, "blocked_term"));

    // A file value the service's flags replaced at start (here an address
    // that is no socket address) is still a mistake in the file: the
    // reload is refused naming it, flags or not, and the rules in force
    // stay; a file value the flags replace, if valid, reloads with them.
    std::fs::write(
        &file,
        "listen = \"localhost:50051\"\n[rules]\nblocked_terms = [\"lottery\"]\n",
    )
    .unwrap();
    let started_with = Overrides {
        listen: Some("127.0.0.1:0".to_string()),
        ..Overrides::default()
    };
    for overrides in [&Overrides::default(), &started_with] {
        let error = reload(engine, &state.access, &config, &file, overrides)
            .unwrap_err()
            .to_string();
        assert!(error.contains("listen"), "{error}");
    }
    assert!(!has(&verdict_of("win the lottery").await, "blocked_term"));
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:50051\"\n[rules]\nblocked_terms = [\"lottery\"]\n",
    )
    .unwrap();
    reload(engine, &state.access, &config, &file, &started_with).unwrap();
    assert!(has(&verdict_of("win the lottery").await, "blocked_term"));

    // Thresholds and keys reload too (a removed key is refused from then
    // on), and what takes a restart is named.
    use moderato::domain::Verdict;
    assert_eq!(verdict_of(HAM_TEXT).await.verdict, Verdict::Allow);
    let new_hash: String = moderato::auth::token_sha256("a-new-token")
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    std::fs::write(
        &file,
        format!(
            "cache_mb = 3\n[thresholds]\nreview = 0.001\nreject = 0.002\n\
             [[keys]]\nname = \"new\"\nrole = \"admin\"\ntoken_sha256 = \"{new_hash}\"\n"
        ),
    )
    .unwrap();
    assert!(state.access.keyring.load().authenticate(NEWS_TOKEN).is_ok());
    let reloaded = reload(engine, &state.access, &config, &file, &started_with).unwrap();
    assert!(reloaded.keys);
    assert!(reloaded.need_restart.contains(&"cache_mb"), "{reloaded:?}");
    assert_eq!(verdict_of(HAM_TEXT).await.verdict, Verdict::Reject);
    let keyring = state.access.keyring.load();
    assert!(keyring.authenticate("a-new-token").is_ok());
    assert!(keyring.authenticate(NEWS_TOKEN).is_err());

    // A file without keys leaves the keys in force.
    std::fs::write(&file, "[rules]\n").unwrap();
    let reloaded = reload(engine, &state.access, &config, &file, &started_with).unwrap();
    assert!(!reloaded.keys);
    assert!(state
        .access
        .keyring
        .load()
        .authenticate("a-new-token")
        .is_ok());
}

/// A site whose id is no host name lists its host names in its table, and
/// links to them are the site's own for the model, as links to a site id
/// that is a host name are; a site without the list reads them as links
/// elsewhere.
#[tokio::test]
async fn a_sites_listed_hosts_are_its_own_for_the_model() {
    let directory = tempfile::tempdir().unwrap();
    let config = config_with_rules(
        directory.path(),
        "[rules.sites.\"blog-42\"]\nhosts = [\"news.example.com\"]\n",
    );
    let state = State::open(&config).unwrap();
    let check_on = |site_id: &str| Comment {
        site_id: site_id.to_string(),
        comment_id: "c1".to_string(),
        content: "More on this: https://news.example.com/2026/11/budget-vote".to_string(),
        author: Author::default(),
        context: Default::default(),
        submitted_at: UnixMillis::now(),
        form: Default::default(),
    };
    let dry_run = CheckOptions {
        recheck: false,
        dry_run: true,
    };
    let elsewhere = |decision: &moderato::domain::Decision| {
        decision
            .assessment
            .reasons
            .iter()
            .any(|reason| reason.message.contains("link to another site"))
    };
    let listed = state
        .engine
        .check(check_on("blog-42"), dry_run)
        .await
        .unwrap()
        .decision;
    let unlisted = state
        .engine
        .check(check_on("blog-43"), dry_run)
        .await
        .unwrap()
        .decision;
    assert!(!elsewhere(&listed), "{listed:?}");
    assert!(elsewhere(&unlisted), "{unlisted:?}");
    assert!(
        listed.assessment.score < unlisted.assessment.score,
        "{} against {}",
        listed.assessment.score,
        unlisted.assessment.score
    );
}

/// A comment that names the post it is under (`context.post_title`) is
/// spoken for by `on_topic`: the reader's thanks, a spammer's words under
/// the built-in model, goes to review instead of being rejected. A site's
/// table sets how many of the title's words it takes. (The score alone
/// decides here, `reject_holds_without = 0`: with the default, the thanks
/// rests on two signs of spam and is held for review either way.)
#[tokio::test]
async fn a_comment_naming_the_posts_title_is_spoken_for() {
    let directory = tempfile::tempdir().unwrap();
    let mut config = config_with_rules(
        directory.path(),
        &format!("[rules.sites.\"{BLOG_SITE}\"]\non_topic = {{ threshold = 2 }}\n"),
    );
    config.thresholds = moderato::verdict::Thresholds::default()
        .with_reject_holds_without(0)
        .unwrap();
    let server = start_with(config).await;
    const THANKS: &str =
        "Great article, thanks for sharing. The council's decision on the bypass is a disgrace.";
    // Dry runs, so that the same text checked again is no duplicate.
    let dry_run = |id: &str| pb::CheckCommentRequest {
        dry_run: true,
        ..comment(id, THANKS)
    };
    let under = |id: &str, site_id: &str, title: &str| pb::CheckCommentRequest {
        site_id: site_id.to_string(),
        context: Some(pb::PostContext {
            post_title: title.to_string(),
            ..Default::default()
        }),
        ..dry_run(id)
    };
    let without_title = check(&server, dry_run("topic-1")).await;
    assert!(rule_codes(&without_title).is_empty(), "{without_title:?}");
    assert_eq!(
        without_title.verdict(),
        pb::Verdict::Reject,
        "{without_title:?}"
    );
    let titled = check(
        &server,
        under(
            "topic-2",
            NEWS_SITE,
            "Council approves the Elm Street bypass",
        ),
    )
    .await;
    assert_eq!(rule_codes(&titled), vec!["on_topic"], "{titled:?}");
    assert_eq!(titled.verdict(), pb::Verdict::Review, "{titled:?}");
    let reason = titled
        .reasons
        .iter()
        .find(|reason| reason.code == "on_topic")
        .unwrap();
    assert_eq!(
        reason.message,
        "The comment names the post it is under: the title's words \"council\", \"bypass\"."
    );
    assert!((reason.weight + 1.2).abs() < 1e-9, "{reason:?}");
    assert!(titled.score < without_title.score, "{titled:?}");
    // Another post's title says nothing of this comment.
    let elsewhere = check(
        &server,
        under(
            "topic-3",
            NEWS_SITE,
            "Heatwave closes schools across the region",
        ),
    )
    .await;
    assert!(rule_codes(&elsewhere).is_empty(), "{elsewhere:?}");
    // Two of the title's words are needed where the site's table says so.
    let on_blog = |request| async {
        server
            .moderation()
            .await
            .check_comment(with_token(BLOG_TOKEN, request))
            .await
            .unwrap()
            .into_inner()
    };
    let one_word = on_blog(under("topic-4", BLOG_SITE, "Council raises parking fees")).await;
    assert!(rule_codes(&one_word).is_empty(), "{one_word:?}");
    let two_words = on_blog(under(
        "topic-5",
        BLOG_SITE,
        "Council approves the Elm Street bypass",
    ))
    .await;
    assert_eq!(rule_codes(&two_words), vec!["on_topic"], "{two_words:?}");
    server.stop().await;
}
