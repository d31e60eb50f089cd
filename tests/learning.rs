//! Learning from corrections through the running service: online learning,
//! retraining jobs, the model registry, and what survives a restart. The
//! base corpus here is a small file the test writes; the figures on the
//! shared corpora are in the corpora suite.

use std::path::Path;
use std::time::{Duration, Instant};

use moderato::classifier::{LabelledExample, Model};
use moderato::config::Config;
use moderato::domain::Label;
use moderato::grpc::pb;
use moderato::learning::LearningParams;
use tonic::Code;

use crate::util::{
    check_as_news, comment, config_with_rules, decision_by_id, dry_run_check, forget_comment,
    request_retrain, resolve_as_moderator, retry_while_locked, start_server, start_with,
    store_and_label, test_config, wait_for_job, with_token, TestServer, ADMIN_TOKEN, HAM_TEXT,
    NEWS_TOKEN,
};

const CAMPAIGN: [&str; 4] = [
    "zorblat crypto signals doubled my savings",
    "join zorblat crypto signals for daily profit",
    "zorblat signals paid me again today",
    "my zorblat crypto account keeps growing",
];
const PROBE: &str = "have you tried zorblat crypto signals";

#[tokio::test(flavor = "multi_thread")]
async fn a_correction_changes_the_next_score_before_the_call_returns() {
    let (server, _directory) = start_server().await;
    let before = dry_run_check(&server, PROBE).await;
    store_and_label(&server, "campaign", &CAMPAIGN, pb::Label::Spam).await;
    let after = dry_run_check(&server, PROBE).await;
    assert!(
        after.score > before.score + 0.2,
        "the score moved from {:.3} to {:.3}",
        before.score,
        after.score
    );
    assert_eq!(after.model_version, format!("{}+4", before.model_version));
    // The reasons name the word the corrections taught.
    assert!(
        after
            .reasons
            .iter()
            .any(|reason| reason.message.contains("zorblat")),
        "{:?}",
        after.reasons
    );
    server.stop().await;
}

/// With `learn_from_site_reports` off, a site's reports settle its
/// comments but move no other site's scores, online or in a retrain;
/// moderators' labels still teach the model.
#[tokio::test(flavor = "multi_thread")]
async fn with_site_reports_not_learned_only_moderators_teach_the_model() {
    let directory = tempfile::tempdir().unwrap();
    let mut config = config_with_base_corpus(directory.path());
    config.learning = LearningParams {
        learn_from_site_reports: false,
        base_data: config.learning.base_data().to_vec(),
        tolerance: 1.0,
        ..LearningParams::default()
    }
    .check()
    .unwrap();
    let server = start_with(config).await;
    let before = dry_run_check(&server, PROBE).await;
    let trained_on = |job: pb::RetrainJob| {
        assert_eq!(job.state(), pb::JobState::Succeeded, "{}", job.message);
        job.examples
    };
    let base_only = trained_on(finished_retrain(&server, true, true).await);
    let mut decision_ids = Vec::new();
    for (index, text) in CAMPAIGN.iter().enumerate() {
        let checked = check_as_news(&server, comment(&format!("r{index}"), text)).await;
        let report = report_as_spam(&server, &checked.decision_id)
            .await
            .unwrap()
            .decision
            .unwrap();
        // The report settles the comment all the same.
        assert_eq!(report.status(), pb::ReviewStatus::Rejected);
        decision_ids.push(checked.decision_id);
    }
    let after_reports = dry_run_check(&server, PROBE).await;
    assert_eq!(after_reports.model_version, before.model_version);
    assert_eq!(after_reports.score, before.score);
    // A full retrain trains on the base corpus and the corrections that
    // teach: none of the reports.
    let after_reports_job = trained_on(finished_retrain(&server, true, true).await);
    assert_eq!(after_reports_job, base_only);
    // Moderators' labels still teach it.
    assert_eq!(decision_ids.len(), CAMPAIGN.len());
    store_and_label(&server, "moderated", &CAMPAIGN, pb::Label::Spam).await;
    let after_labels = dry_run_check(&server, PROBE).await;
    assert_eq!(
        after_labels.model_version,
        format!("{}+4", before.model_version)
    );
    assert!(after_labels.score > before.score + 0.2, "{after_labels:?}");
    let after_labels_job = trained_on(finished_retrain(&server, true, true).await);
    assert!(after_labels_job > base_only, "{after_labels_job} examples");
    // A report may not replace a moderator's label, which would take it
    // out of the retrains (a decision keeps its latest correction).
    let approved = check_as_news(&server, comment("approved", HAM_TEXT)).await;
    resolve_as_moderator(&server, vec![approved.decision_id.clone()], pb::Label::Ham).await;
    let before_report = dry_run_check(&server, PROBE).await;
    let refused = report_as_spam(&server, &approved.decision_id)
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused.message().contains("moderator"), "{refused:?}");
    let kept = decision_by_id(&server, &approved.decision_id)
        .await
        .unwrap();
    assert_eq!(kept.status(), pb::ReviewStatus::Approved);
    let after_report = dry_run_check(&server, PROBE).await;
    assert_eq!(after_report.model_version, before_report.model_version);
    server.stop().await;
}

/// The news site's report that a decision's comment was spam.
async fn report_as_spam(
    server: &TestServer,
    decision_id: &str,
) -> Result<pb::ReportCommentResponse, tonic::Status> {
    server
        .moderation()
        .await
        .report_comment(with_token(
            NEWS_TOKEN,
            pb::ReportCommentRequest {
                decision_id: decision_id.to_string(),
                label: pb::Label::Spam.into(),
                ..Default::default()
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_service_never_learns_from_its_own_verdicts() {
    let (server, _directory) = start_server().await;
    let version = dry_run_check(&server, PROBE).await.model_version;
    for (index, text) in CAMPAIGN.iter().enumerate() {
        check_as_news(&server, comment(&format!("c{index}"), text)).await;
    }
    // Checking alone teaches nothing; only people's labels do.
    assert_eq!(dry_run_check(&server, PROBE).await.model_version, version);
    server.stop().await;
}

/// A small labelled file in the YouTube CSV format: 24 texts, and a copy
/// of one, which a full retrain counts once (`distinct_examples`), as
/// `moderato train` does. The numbered texts are ones whose hash puts them
/// in the evaluation slice (`evaluation_fraction` 0.2), so that it holds
/// five of each label, the fewest the gate accepts.
fn write_base_corpus(directory: &Path) -> std::path::PathBuf {
    let spam = [
        "subscribe to my channel for prize 12",
        "subscribe to my channel for prize 16",
        "subscribe to my channel for prize 18",
        "subscribe to my channel for prize 23",
        "check out my channel and subscribe",
        "subscribe to my channel please",
        "free money click http://spam.example.com",
        "win a free prize now click here",
        "please subscribe and check my channel",
        "click here for free money",
        "visit my page for free gift cards",
        "earn money from home click my link",
    ];
    let ham = [
        "this song takes me back to summer 0",
        "this song takes me back to summer 2",
        "this song takes me back to summer 3",
        "this song takes me back to summer 7",
        "great song, i love it",
        "this video brings back memories",
        "i love this song so much",
        "the best song of the year",
        "what a great video",
        "memories of summer with this song",
        "the chorus is beautiful",
        "who is listening in winter",
    ];
    let mut csv = String::from("COMMENT_ID,AUTHOR,DATE,CONTENT,CLASS\n");
    for (index, text) in spam.iter().enumerate() {
        csv.push_str(&format!("s{index},a,2015-01-01,\"{text}\",1\n"));
    }
    for (index, text) in ham.iter().enumerate() {
        csv.push_str(&format!("h{index},a,2015-01-01,\"{text}\",0\n"));
    }
    csv.push_str("copy,a,2015-01-01,\"Check out my channel and SUBSCRIBE\",1\n");
    let path = directory.join("base.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

/// A server with a base corpus and a gate that lets any candidate through
/// (the gate's own behaviour is tested on the corpora and in unit tests).
fn config_with_base_corpus(directory: &Path) -> Config {
    let learning = LearningParams {
        base_data: vec![write_base_corpus(directory)],
        tolerance: 1.0,
        ..LearningParams::default()
    }
    .check()
    .unwrap();
    Config {
        learning,
        ..test_config(&directory.join("data"))
    }
}

async fn start_retrain(server: &TestServer, full: bool, dry_run: bool) -> pb::RetrainJob {
    request_retrain(server, full, dry_run)
        .await
        .expect("the retrain starts")
}

/// Labels one more comment spam, after the campaign: the newest of five
/// corrections, the one a full retrain holds out to evaluate.
async fn label_one_more_spam(server: &TestServer) {
    store_and_label(server, "late", &["zorblat crypto is back"], pb::Label::Spam).await;
}

/// Starts a retrain and waits for it to end.
async fn finished_retrain(server: &TestServer, full: bool, dry_run: bool) -> pb::RetrainJob {
    let job = start_retrain(server, full, dry_run).await;
    wait_for_job(server, &job.job_id).await
}

async fn models(server: &TestServer) -> Vec<pb::ModelInfo> {
    server
        .training()
        .await
        .list_models(with_token(ADMIN_TOKEN, pb::ListModelsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .models
}

async fn activate(server: &TestServer, version: &str) -> Result<pb::ModelInfo, tonic::Status> {
    server
        .training()
        .await
        .activate_model(with_token(
            ADMIN_TOKEN,
            pb::ActivateModelRequest {
                version: version.to_string(),
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// The version a model serves as after learning online ("X+1") is not a
/// registered version: activating it is refused, saying which one is.
#[tokio::test(flavor = "multi_thread")]
async fn activating_a_version_as_it_serves_after_online_learning_names_the_registered_one() {
    let (server, _directory) = start_server().await;
    let registered = models(&server).await[0].version.clone();
    store_and_label(&server, "campaign", &CAMPAIGN, pb::Label::Spam).await;
    let serving = dry_run_check(&server, PROBE).await.model_version;
    assert!(serving.starts_with(&format!("{registered}+")), "{serving}");
    let refused = activate(&server, &serving).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::NotFound);
    assert!(
        refused
            .message()
            .contains(&format!("activate {registered:?}")),
        "{refused}"
    );
    // An unknown version gets the plain answer.
    let unknown = activate(&server, "nothing-0123456789ab+3")
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    assert!(!unknown.message().contains("activate"), "{unknown}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retrain_is_promoted_listed_rolled_back_and_kept_across_restarts() {
    let directory = tempfile::tempdir().unwrap();
    let config = config_with_base_corpus(directory.path());
    let server = start_with(config.clone()).await;
    let default_version = dry_run_check(&server, PROBE).await.model_version;
    store_and_label(&server, "campaign", &CAMPAIGN, pb::Label::Spam).await;
    // A fifth correction, the newest: one in five is held out to evaluate.
    label_one_more_spam(&server).await;

    let queued = start_retrain(&server, true, false).await;
    assert!(!queued.job_id.is_empty());
    let job = wait_for_job(&server, &queued.job_id).await;
    assert_eq!(job.state(), pb::JobState::Succeeded, "{}", job.message);
    assert!(job.promoted, "{}", job.message);
    assert!(job.message.starts_with("promoted"), "{}", job.message);
    assert!(
        job.message.contains("the 1 newest corrections"),
        "{}",
        job.message
    );
    // 24 base examples (the copy counts once) and 4 of the 5 corrections.
    assert_eq!(job.examples, 28, "{job:?}");
    let metrics = job.metrics.expect("both models were measured");
    assert!(metrics.active.is_some() && metrics.candidate.is_some());
    assert_eq!(job.active_version, default_version);

    // The candidate serves now, with the held-out correction learned onto
    // it (the swap loses none), and the registry lists both.
    let retrained = job.candidate_version.clone();
    assert_eq!(
        dry_run_check(&server, PROBE).await.model_version,
        format!("{retrained}+1")
    );
    let listed = models(&server).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let active: Vec<&str> = listed
        .iter()
        .filter(|model| model.active)
        .map(|model| model.version.as_str())
        .collect();
    assert_eq!(active, [retrained.as_str()]);
    assert!(listed.iter().all(|model| model.created_at.is_some()));

    // Rolling back brings back the old scores at once.
    let info = activate(&server, &default_version).await.unwrap();
    assert!(info.active);
    let rolled_back = dry_run_check(&server, "free money song").await;
    assert!(rolled_back.model_version.starts_with(&default_version));
    // What the default version learned online while it was active comes
    // back with it.
    assert_eq!(rolled_back.model_version, format!("{default_version}+5"));

    // Forward again, then restart: the active version is kept.
    activate(&server, &retrained).await.unwrap();
    let before_restart = dry_run_check(&server, PROBE).await;
    assert_eq!(before_restart.model_version, format!("{retrained}+1"));
    server.stop().await;
    let server = start_with(config).await;
    let after_restart = dry_run_check(&server, PROBE).await;
    assert_eq!(after_restart.model_version, before_restart.model_version);
    assert_eq!(after_restart.score, before_restart.score);
    server.stop().await;
}

/// A version is a hash of the model's numbers, so a second full retrain
/// over the same corrections builds the very model the first one promoted.
/// The README says a job does not promote a candidate the registry already
/// has: registering it again would make one version two records.
/// A retrain that changes nothing gives the active model back under the
/// retrain's name: the same numbers, so it is not promoted as a new
/// version (which would also take a place among the kept ones).
#[tokio::test(flavor = "multi_thread")]
async fn a_retrain_of_the_same_numbers_under_another_name_is_not_promoted() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(config_with_base_corpus(directory.path())).await;
    let default_version = dry_run_check(&server, PROBE).await.model_version;
    // A dry run says what the real run does, not that it would promote.
    let dry = finished_retrain(&server, false, true).await;
    assert!(!dry.promoted, "{}", dry.message);
    assert!(
        dry.message.starts_with(
            "dry run; not promoted: the candidate is the same model as the registered version"
        ),
        "{}",
        dry.message
    );
    let job = finished_retrain(&server, false, false).await;
    assert_eq!(job.state(), pb::JobState::Succeeded, "{}", job.message);
    assert!(!job.promoted, "{}", job.message);
    assert!(
        job.message.starts_with(&format!(
            "not promoted: the candidate is the same model as the registered version \
             {default_version} (the same numbers, named retrained-"
        )),
        "{}",
        job.message
    );
    assert_eq!(
        dry_run_check(&server, PROBE).await.model_version,
        default_version
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retrain_that_builds_a_registered_version_again_does_not_promote_it() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(config_with_base_corpus(directory.path())).await;
    store_and_label(&server, "campaign", &CAMPAIGN, pb::Label::Spam).await;
    // A fifth correction, the newest: both jobs hold it out.
    label_one_more_spam(&server).await;

    let first = finished_retrain(&server, true, false).await;
    assert_eq!(first.state(), pb::JobState::Succeeded, "{}", first.message);
    assert!(first.promoted, "{}", first.message);
    let serving = dry_run_check(&server, PROBE).await.model_version;
    assert_eq!(serving, format!("{}+1", first.candidate_version));

    // No label changed since: the same base corpus, the same corrections
    // with the same one held out, and the same training parameters give
    // the same numbers, and so the same version.
    let second = finished_retrain(&server, true, false).await;
    assert_eq!(
        second.state(),
        pb::JobState::Succeeded,
        "{}",
        second.message
    );
    assert!(!second.promoted, "{}", second.message);
    assert_eq!(second.active_version, first.candidate_version, "{second:?}");
    assert_eq!(
        second.candidate_version, first.candidate_version,
        "{second:?}"
    );
    assert!(
        second
            .message
            .starts_with("not promoted: the candidate is the same model as the registered version"),
        "{}",
        second.message
    );
    assert!(
        second.message.contains(&first.candidate_version),
        "{}",
        second.message
    );
    // Nothing changed: the same model serves, with what it learned online,
    // and the registry still lists the built-in version and the first
    // candidate, once each.
    assert_eq!(dry_run_check(&server, PROBE).await.model_version, serving);
    let listed = models(&server).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    let registered_as_candidate = listed
        .iter()
        .filter(|model| model.version == first.candidate_version)
        .count();
    assert_eq!(registered_as_candidate, 1, "{listed:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn online_learning_survives_a_restart() {
    let directory = tempfile::tempdir().unwrap();
    let config = test_config(directory.path());
    let server = start_with(config.clone()).await;
    store_and_label(&server, "campaign", &CAMPAIGN, pb::Label::Spam).await;
    let learned = dry_run_check(&server, PROBE).await;
    server.stop().await;
    let server = start_with(config).await;
    let again = dry_run_check(&server, PROBE).await;
    assert_eq!(again.model_version, learned.model_version);
    assert_eq!(again.score, learned.score);
    server.stop().await;
}

/// What forgotten comments taught online is not learned again at the next
/// start, though the running model keeps it until then.
#[tokio::test(flavor = "multi_thread")]
async fn what_forgotten_comments_taught_is_not_learned_again() {
    let directory = tempfile::tempdir().unwrap();
    let config = test_config(directory.path());
    let server = start_with(config.clone()).await;
    let before = dry_run_check(&server, PROBE).await;
    store_and_label(&server, "campaign", &CAMPAIGN, pb::Label::Spam).await;
    let taught = dry_run_check(&server, PROBE).await;
    assert!(taught.score > before.score + 0.2, "{taught:?}");
    for index in 0..CAMPAIGN.len() {
        let comment_id = format!("campaign-{index}");
        assert!(
            forget_comment(&server, NEWS_TOKEN, &comment_id)
                .await
                .unwrap(),
            "{comment_id}"
        );
    }
    let still = dry_run_check(&server, PROBE).await;
    assert_eq!(still.model_version, taught.model_version);
    server.stop().await;

    let server = start_with(config).await;
    let again = dry_run_check(&server, PROBE).await;
    assert_eq!(again.model_version, before.model_version);
    assert_eq!(again.score, before.score);
    server.stop().await;
}

/// Turning sites' reports off undoes, at the next start, what they had
/// taught online, and keeps what moderators taught; turned on again, the
/// reports teach again, as recorded.
#[tokio::test(flavor = "multi_thread")]
async fn what_reports_taught_is_not_learned_again_once_they_stop_teaching() {
    let directory = tempfile::tempdir().unwrap();
    let config = |learn_from_site_reports: bool| Config {
        learning: LearningParams {
            learn_from_site_reports,
            ..LearningParams::default()
        }
        .check()
        .unwrap(),
        ..test_config(directory.path())
    };
    let server = start_with(config(true)).await;
    let before = dry_run_check(&server, PROBE).await;
    for (index, text) in CAMPAIGN.iter().enumerate() {
        let checked = check_as_news(&server, comment(&format!("r{index}"), text)).await;
        report_as_spam(&server, &checked.decision_id).await.unwrap();
    }
    store_and_label(&server, "moderated", &[HAM_TEXT], pb::Label::Ham).await;
    let taught = dry_run_check(&server, PROBE).await;
    assert_eq!(taught.model_version, format!("{}+5", before.model_version));
    assert!(taught.score > before.score + 0.2, "{taught:?}");
    server.stop().await;

    let server = start_with(config(false)).await;
    let untaught = dry_run_check(&server, PROBE).await;
    assert_eq!(
        untaught.model_version,
        format!("{}+1", before.model_version)
    );
    assert!(untaught.score < taught.score - 0.2, "{untaught:?}");
    server.stop().await;

    let server = start_with(config(true)).await;
    let again = dry_run_check(&server, PROBE).await;
    assert_eq!(again.model_version, taught.model_version);
    assert_eq!(again.score, taught.score);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_model_file_saved_after_online_learning_keeps_what_it_learns_next() {
    let directory = tempfile::tempdir().unwrap();
    // A model file of version `X+1`: the built-in model after one
    // correction, saved.
    let learned_file = directory.path().join("learned.json");
    let built_in = Model::embedded_default().unwrap();
    let correction = LabelledExample {
        text: "zorblat is a scam".to_string(),
        label: Label::Spam,
        group: None,
        post_title: None,
        site: moderato::classifier::SiteHosts::default(),
    };
    let learned = built_in.learn(&[correction], 1.0).unwrap();
    assert!(learned.version().ends_with("+1"), "{}", learned.version());
    learned.save(&learned_file).unwrap();
    let mut config = test_config(&directory.path().join("data"));
    config.model = Some(learned_file);

    let server = start_with(config.clone()).await;
    let served = dry_run_check(&server, PROBE).await;
    // Served as a version of its own, with the numbers of the file.
    assert!(
        !served.model_version.contains('+'),
        "{}",
        served.model_version
    );
    // (Equal but for the order floats are summed in.)
    assert!(
        (served.spam_probability - learned.probability(PROBE)).abs() < 1e-12,
        "{} against {}",
        served.spam_probability,
        learned.probability(PROBE)
    );
    store_and_label(&server, "campaign", &CAMPAIGN, pb::Label::Spam).await;
    let after_learning = dry_run_check(&server, PROBE).await;
    assert_eq!(
        after_learning.model_version,
        format!("{}+4", served.model_version)
    );
    server.stop().await;

    // What it learned is still there after a restart, and the registry
    // lists that version, and only it, as active.
    let server = start_with(config).await;
    let again = dry_run_check(&server, PROBE).await;
    assert_eq!(again.model_version, after_learning.model_version);
    assert_eq!(again.score, after_learning.score);
    let listed = models(&server).await;
    let active: Vec<&str> = listed
        .iter()
        .filter(|model| model.active)
        .map(|model| model.version.as_str())
        .collect();
    assert_eq!(active, vec![served.model_version.as_str()], "{listed:?}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_and_an_incremental_retrain_report_without_surprises() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(config_with_base_corpus(directory.path())).await;
    store_and_label(&server, "campaign", &CAMPAIGN, pb::Label::Spam).await;
    let serving = dry_run_check(&server, PROBE).await.model_version;

    let job = finished_retrain(&server, true, true).await;
    assert_eq!(job.state(), pb::JobState::Succeeded, "{}", job.message);
    assert!(!job.promoted);
    assert!(job.message.starts_with("dry run"), "{}", job.message);
    assert_eq!(dry_run_check(&server, PROBE).await.model_version, serving);
    assert_eq!(models(&server).await.len(), 1);

    // Incremental: the registered version plus the corrections, as a new
    // version of its own.
    let job = finished_retrain(&server, false, false).await;
    assert!(job.promoted, "{}", job.message);
    assert!(job.candidate_version.starts_with("retrained-"), "{job:?}");
    assert_eq!(
        dry_run_check(&server, PROBE).await.model_version,
        job.candidate_version
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_incremental_candidate_is_judged_on_corrections_it_did_not_learn() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(config_with_base_corpus(directory.path())).await;
    let registered = models(&server).await[0].examples;
    // Ten labels, all learned online at once; the job holds out the
    // newest fifth of them (two) to judge its candidate on.
    let texts: Vec<String> = (0..10)
        .map(|index| format!("{} offer number {index}", CAMPAIGN[index % CAMPAIGN.len()]))
        .collect();
    let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
    store_and_label(&server, "held", &texts, pb::Label::Spam).await;

    let job = finished_retrain(&server, false, true).await;
    assert_eq!(job.state(), pb::JobState::Succeeded, "{}", job.message);
    // The candidate is the registered version and the eight others: the
    // two held out were learned online, but the candidate leaves them out.
    assert_eq!(job.examples, registered + 8, "{job:?}");
    server.stop().await;
}

/// An incremental job judges its candidate only on corrections it can
/// leave out: not on those the active version's file was trained on, which
/// the candidate (built from that file) knows, and which its promotion
/// would learn a second time. Here the newest corrections, which the
/// version learned online, are forgotten, and the share held out would
/// otherwise reach into the trained ones.
#[tokio::test(flavor = "multi_thread")]
async fn an_incremental_job_holds_out_no_correction_its_version_was_trained_on() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(config_with_base_corpus(directory.path())).await;
    let early: Vec<String> = (0..8)
        .map(|index| format!("{} deal number {index}", CAMPAIGN[index % CAMPAIGN.len()]))
        .collect();
    let early: Vec<&str> = early.iter().map(String::as_str).collect();
    store_and_label(&server, "early", &early, pb::Label::Spam).await;
    // Labelled later: the newest fifth, which the full retrain holds out
    // and its promotion learns online.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    store_and_label(
        &server,
        "late",
        &["zorblat one", "zorblat two"],
        pb::Label::Spam,
    )
    .await;
    let full = finished_retrain(&server, true, false).await;
    assert!(full.promoted, "{}", full.message);
    let evaluated = |job: &pb::RetrainJob| {
        job.metrics
            .as_ref()
            .and_then(|metrics| metrics.active.as_ref())
            .map(|active| active.examples)
            .unwrap_or_else(|| panic!("no figures: {job:?}"))
    };
    // Judged on the base corpus's share and the two learned online.
    let with_late = evaluated(&finished_retrain(&server, false, true).await);
    for comment_id in ["late-0", "late-1"] {
        assert!(forget_comment(&server, NEWS_TOKEN, comment_id)
            .await
            .unwrap());
    }
    // Eight corrections are left, all in the version's file: a fifth of
    // them (one) would be held out, but none can be.
    let without_late = evaluated(&finished_retrain(&server, false, true).await);
    assert_eq!(without_late, with_late - 2);
    server.stop().await;
}

/// With online learning off, a promotion learns nothing onto its candidate:
/// the correction its job held out waits for the next retrain, and an
/// incremental one trains on it although it is older than the candidate's
/// training.
#[tokio::test(flavor = "multi_thread")]
async fn with_online_learning_off_a_held_out_correction_is_trained_by_the_next_retrain() {
    let directory = tempfile::tempdir().unwrap();
    let mut config = config_with_base_corpus(directory.path());
    config.learning = LearningParams {
        base_data: config.learning.base_data().to_vec(),
        tolerance: 1.0,
        online: false,
        ..LearningParams::default()
    }
    .check()
    .unwrap();
    let server = start_with(config).await;
    store_and_label(&server, "campaign", &CAMPAIGN, pb::Label::Spam).await;
    // The newest of five: the one the full retrain holds out.
    label_one_more_spam(&server).await;
    let job = finished_retrain(&server, true, false).await;
    assert!(job.promoted, "{}", job.message);
    // 24 base examples (the copy counts once) and 4 of the 5 corrections.
    assert_eq!(job.examples, 28, "{job:?}");
    // The candidate serves as it was trained, without the held-out label.
    assert_eq!(
        dry_run_check(&server, PROBE).await.model_version,
        job.candidate_version
    );
    // With no label since, the next retrain trains on the one left rather
    // than hold it out again: held out each time, it was never learned
    // (the job built the active model again and was refused as its twin).
    let again = finished_retrain(&server, false, true).await;
    assert_eq!(again.state(), pb::JobState::Succeeded, "{}", again.message);
    assert_eq!(again.examples, 28 + 1, "{again:?}");
    assert!(!again.message.contains("same model"), "{}", again.message);

    // Five more labels: of the ten corrections, the incremental retrain
    // holds out the newest two, and adds to the candidate the three other
    // new ones and the one the promotion left.
    let more: Vec<String> = (0..5)
        .map(|index| format!("zorblat signals round {index}"))
        .collect();
    let more: Vec<&str> = more.iter().map(String::as_str).collect();
    store_and_label(&server, "more", &more, pb::Label::Spam).await;
    let incremental = finished_retrain(&server, false, true).await;
    assert_eq!(
        incremental.state(),
        pb::JobState::Succeeded,
        "{}",
        incremental.message
    );
    assert_eq!(incremental.examples, 28 + 3 + 1, "{incremental:?}");
    server.stop().await;
}

/// Without a base corpus a full retrain would build a model from the
/// corrections alone and put it in place of one trained on thousands of
/// comments: it is refused before any job starts, with what to do instead.
#[tokio::test(flavor = "multi_thread")]
async fn a_full_retrain_without_a_base_corpus_is_refused_and_says_why() {
    let (server, _directory) = start_server().await;
    store_and_label(&server, "campaign", &CAMPAIGN, pb::Label::Spam).await;
    store_and_label(
        &server,
        "readers",
        &["what a lovely song", "i love this video"],
        pb::Label::Ham,
    )
    .await;
    let status = request_retrain(&server, true, false).await.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status}");
    assert!(status.message().contains("learning.base_data"), "{status}");
    assert!(status.message().contains("without `full`"), "{status}");
    // No job was queued, and the incremental retrain it points to runs.
    let job = finished_retrain(&server, false, true).await;
    assert_eq!(job.state(), pb::JobState::Succeeded, "{}", job.message);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn training_calls_are_checked_at_the_edge() {
    let (server, _directory) = start_server().await;
    let mut training = server.training().await;
    let status = training
        .get_retrain_job(with_token(
            ADMIN_TOKEN,
            pb::GetRetrainJobRequest {
                job_id: "not-a-job".to_string(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("job_id"), "{status}");
    let status = training
        .get_retrain_job(with_token(
            ADMIN_TOKEN,
            pb::GetRetrainJobRequest {
                job_id: "0192f0c4-1111-7000-8000-000000000000".to_string(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    let status = activate(&server, "no-such-version").await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    assert!(status.message().contains("no-such-version"), "{status}");
    let status = activate(&server, "").await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    for bad in ["v".repeat(129), "model\nversion".to_string()] {
        let status = activate(&server, &bad).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
        assert!(status.message().starts_with("version"), "{status}");
    }
    // A job id spelled otherwise than the service writes it names nothing.
    let status = training
        .get_retrain_job(with_token(
            ADMIN_TOKEN,
            pb::GetRetrainJobRequest {
                job_id: "0192F0C4-1111-7000-8000-000000000000".to_string(),
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().contains("job_id"), "{status}");
    // Operators only.
    let status = training
        .start_retrain(with_token(NEWS_TOKEN, pb::StartRetrainRequest::default()))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    server.stop().await;
}

/// Runs `moderato <args>` against the test server with the admin token.
async fn moderato_as_operator(server: &TestServer, args: &[&str]) -> std::process::Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_moderato"))
        .args(args)
        .env("MODERATO_SERVER", format!("http://{}", server.address))
        .env("MODERATO_TOKEN", ADMIN_TOKEN)
        .output()
        .await
        .unwrap()
}

/// `moderato retrain` waits through progress requests the server sheds:
/// at one call a second, a poll every 500 ms is over the admin key's rate,
/// and giving up there would report a failure while the job runs on.
#[tokio::test(flavor = "multi_thread")]
async fn a_waiting_retrain_asks_again_when_its_progress_requests_are_shed() {
    let directory = tempfile::tempdir().unwrap();
    let config = Config {
        admission: moderato::admission::AdmissionParams {
            calls_per_second_per_key: 1.0,
            ..Default::default()
        }
        .check()
        .unwrap(),
        ..config_with_base_corpus(directory.path())
    };
    let server = start_with(config).await;
    full_retrain_from_the_command_line(&server).await;
    server.stop().await;
}

/// Runs `moderato retrain --full`, checks that it waited for the job and
/// that the job promoted its candidate, and gives what it printed.
async fn full_retrain_from_the_command_line(server: &TestServer) -> String {
    let output = moderato_as_operator(server, &["retrain", "--full"]).await;
    let printed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{printed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(printed.contains("succeeded"), "{printed}");
    assert!(printed.contains("promoted: yes"), "{printed}");
    printed
}

#[tokio::test(flavor = "multi_thread")]
async fn operators_retrain_list_and_activate_from_the_command_line() {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(config_with_base_corpus(directory.path())).await;
    let default_version = dry_run_check(&server, PROBE).await.model_version;

    let printed = full_retrain_from_the_command_line(&server).await;
    let retrained = dry_run_check(&server, PROBE).await.model_version;
    assert!(printed.contains(&retrained), "{printed}");

    let output = moderato_as_operator(&server, &["models", "list"]).await;
    let listed = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(listed.contains(&format!("* {retrained}")), "{listed}");
    assert!(listed.contains(&format!("  {default_version}")), "{listed}");

    let output = moderato_as_operator(&server, &["models", "activate", &default_version]).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        dry_run_check(&server, PROBE).await.model_version,
        default_version
    );

    // A job started without waiting is followed to its end by its id.
    let output = moderato_as_operator(&server, &["retrain", "--dry-run", "--no-wait"]).await;
    let started = String::from_utf8_lossy(&output.stdout).into_owned();
    let job_id = started
        .strip_prefix("retrain job ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("{started}"))
        .to_string();
    let output = moderato_as_operator(&server, &["retrain", "--job", &job_id]).await;
    let followed = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{followed}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        followed.contains(&format!("job {job_id}: succeeded")),
        "{followed}"
    );
    assert!(followed.contains("promoted: no"), "{followed}");
    let output = moderato_as_operator(&server, &["retrain", "--job", "no-such-job"]).await;
    assert_eq!(output.status.code(), Some(1));

    // A refusal is an error exit that says why.
    let output = moderato_as_operator(&server, &["models", "activate", "nope"]).await;
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("NotFound"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn retrains_start_on_schedule_and_the_registry_keeps_its_bound() {
    let directory = tempfile::tempdir().unwrap();
    let config = config_retraining_every_four_corrections(directory.path(), 2);
    let server = start_with(config.clone()).await;
    let default_version = dry_run_check(&server, PROBE).await.model_version;

    // Four corrections start a retrain without anyone asking.
    store_and_label(&server, "first", &CAMPAIGN, pb::Label::Spam).await;
    // Promotion registers the candidate before it activates it, so two
    // models listed do not yet mean the new one serves; and the default
    // model, having learned the four labels online, serves as
    // `<default>+4`, which differs from the default's version too. Only a
    // serving version that is not the default's, in any form, shows the
    // promotion.
    let deadline = Instant::now() + Duration::from_secs(120);
    let first = loop {
        let serving = dry_run_check(&server, PROBE).await.model_version;
        if !serving.starts_with(&default_version) {
            break serving;
        }
        assert!(
            Instant::now() < deadline,
            "no scheduled retrain promoted a model (still serving {serving})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(
        !first.starts_with(&default_version),
        "{first} is the default model, {default_version}"
    );

    // A second round: three versions were made, two are kept, and the
    // active one is among them.
    let more = [
        "zorblat again",
        "zorblat profits",
        "zorblat daily",
        "zorblat weekly",
    ];
    store_and_label(&server, "second", &more, pb::Label::Spam).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let serving = dry_run_check(&server, PROBE).await.model_version;
        if serving != first && !serving.starts_with(&format!("{first}+")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no second scheduled retrain promoted a model"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listed = models(&server).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    assert!(listed.iter().any(|model| model.active));
    assert!(
        listed.iter().all(|model| model.version != default_version),
        "the oldest version was pruned: {listed:?}"
    );
    // The built-in model was pruned, yet a restart with it keeps the
    // promoted version: only a different model file is a new deployment.
    let serving = dry_run_check(&server, PROBE).await.model_version;
    server.stop().await;
    let server = start_with(config).await;
    assert_eq!(dry_run_check(&server, PROBE).await.model_version, serving);
    server.stop().await;
}

/// A configuration with the base corpus whose retrains start every four
/// labelled comments and promote whatever they build (tolerance 1).
fn config_retraining_every_four_corrections(
    directory: &std::path::Path,
    keep_models: usize,
) -> moderato::config::Config {
    let mut config = config_with_base_corpus(directory);
    config.learning = LearningParams {
        base_data: config.learning.base_data().to_vec(),
        tolerance: 1.0,
        retrain_every_corrections: 4,
        keep_models,
        ..LearningParams::default()
    }
    .check()
    .unwrap();
    config
}

/// The schedule's count of new corrections lives in memory; corrections
/// made before a restart still count towards the next scheduled retrain.
#[tokio::test(flavor = "multi_thread")]
async fn corrections_made_before_a_restart_count_towards_the_schedule() {
    let directory = tempfile::tempdir().unwrap();
    let config = config_retraining_every_four_corrections(
        directory.path(),
        LearningParams::default().keep_models,
    );
    let server = start_with(config.clone()).await;
    let default_version = dry_run_check(&server, PROBE).await.model_version;
    store_and_label(&server, "before", &CAMPAIGN[..3], pb::Label::Spam).await;
    server.stop().await;

    let server = start_with(config).await;
    // Three before the restart and one after make the four the schedule
    // asks for.
    store_and_label(&server, "after", &CAMPAIGN[3..], pb::Label::Spam).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let serving = dry_run_check(&server, PROBE).await.model_version;
        if !serving.starts_with(&default_version) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no scheduled retrain counted the corrections made before the restart (still serving {serving})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

/// Labels spam a news comment that links to `news-mirror.example`.
async fn label_a_link_to_the_mirror(server: &TestServer) {
    store_and_label(
        server,
        "mirror",
        &["zorblat signals explained at https://news-mirror.example/zorblat"],
        pb::Label::Spam,
    )
    .await;
}

/// Online learning reads a correction with the host names its site's table
/// lists, and records them with it: started again without them in the
/// configuration, the service learns the correction again as it was
/// learned, and serves the same model.
#[tokio::test(flavor = "multi_thread")]
async fn online_learning_keeps_the_hosts_a_site_listed() {
    let directory = tempfile::tempdir().unwrap();
    let listing = config_with_rules(
        directory.path(),
        "[rules.sites.\"news.example\"]\nhosts = [\"news-mirror.example\"]\n",
    );
    let server = start_with(listing).await;
    let version = dry_run_check(&server, PROBE).await.model_version;
    label_a_link_to_the_mirror(&server).await;
    let learned = dry_run_check(&server, PROBE).await;
    assert!(learned.model_version.ends_with("+1"), "{learned:?}");
    server.stop().await;

    let store =
        retry_while_locked(|| moderato::store::Store::open(&directory.path().join("db"))).unwrap();
    let recorded = store.online_examples(&version).unwrap();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].hosts, ["news-mirror.example"]);
    drop(store);

    // Learned without the hosts, its link counts as going to another site,
    // and every score moves a little: what a site that lists none learns.
    let elsewhere = tempfile::tempdir().unwrap();
    let server = start_with(test_config(elsewhere.path())).await;
    label_a_link_to_the_mirror(&server).await;
    let unlisted = dry_run_check(&server, PROBE).await;
    assert_ne!(unlisted.score, learned.score, "{unlisted:?}");
    server.stop().await;

    // Started again without the list, the service learns the record again
    // with its hosts.
    let server = start_with(test_config(directory.path())).await;
    let again = dry_run_check(&server, PROBE).await;
    assert_eq!(again.model_version, learned.model_version);
    assert_eq!(again.score, learned.score, "{again:?} against {learned:?}");
    server.stop().await;
}

/// A comment whose label keeps changing teaches the live model its first
/// label and one change of it; later changes wait for a retrain, so that
/// flipping one comment's label cannot move the model without bound.
#[tokio::test(flavor = "multi_thread")]
async fn a_label_flipped_again_and_again_is_learned_online_twice_at_most() {
    let (server, _directory) = start_server().await;
    let version = dry_run_check(&server, PROBE).await.model_version;
    let decision = check_as_news(&server, comment("flip", PROBE)).await;
    let labels = [
        pb::Label::Spam,
        pb::Label::Ham,
        pb::Label::Spam,
        pb::Label::Ham,
        pb::Label::Spam,
    ];
    let mut served = Vec::new();
    for label in labels {
        resolve_as_moderator(&server, vec![decision.decision_id.clone()], label).await;
        served.push(dry_run_check(&server, PROBE).await.model_version);
    }
    assert_eq!(served[0], format!("{version}+1"));
    assert_eq!(served[1], format!("{version}+2"));
    for later in &served[2..] {
        assert_eq!(*later, format!("{version}+2"), "{served:?}");
    }
    server.stop().await;
}
