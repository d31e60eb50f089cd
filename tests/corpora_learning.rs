//! Learning from corrections on the shared corpora, through a real server
//! whose base corpus is `youtube_train.csv`: a new campaign learned from
//! ten corrections, and poisoning refused by the retraining gate.

use std::time::Instant;

use moderato::classifier::{read_labelled_file, LabelledExample};
use moderato::grpc::pb;
use moderato::learning::LearningParams;

use super::data_file;
use super::util::{
    dry_run_check, request_retrain, start_with, store_and_label, test_config, wait_for_job,
    with_token, TestServer, ADMIN_TOKEN,
};

/// The tolerance these servers run with (the default).
const TOLERANCE: f64 = 0.02;

/// A server whose base corpus is the YouTube training split.
async fn server_with_base_corpus(directory: &std::path::Path) -> TestServer {
    let learning = LearningParams {
        base_data: vec![data_file("youtube_train.csv")],
        tolerance: TOLERANCE,
        ..LearningParams::default()
    }
    .check()
    .unwrap();
    start_with(moderato::config::Config {
        learning,
        ..test_config(directory)
    })
    .await
}

/// MCC and ham blocked of the serving pipeline on labelled examples (a
/// score of at least 0.5 counts as spam).
async fn figures(server: &TestServer, examples: &[LabelledExample]) -> (f64, f64) {
    let (mut tp, mut fp, mut tn, mut fn_) = (0.0, 0.0, 0.0, 0.0);
    for example in examples {
        let spam_predicted = dry_run_check(server, &example.text).await.score >= 0.5;
        match (spam_predicted, example.label.is_spam()) {
            (true, true) => tp += 1.0,
            (true, false) => fp += 1.0,
            (false, false) => tn += 1.0,
            (false, true) => fn_ += 1.0,
        }
    }
    let denominator: f64 = (tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_);
    let mcc = if denominator == 0.0 {
        0.0
    } else {
        (tp * tn - fp * fn_) / denominator.sqrt()
    };
    (mcc, fp / (fp + tn))
}

/// A campaign of the kind the 2015 corpus never saw; the default model
/// misses it (checked below).
const CAMPAIGN_CORRECTED: [&str; 10] = [
    "I was skeptical at first but Mrs Jessica Brown helped me grow my portfolio to 40k in two weeks",
    "Honestly the best decision this year was trusting Mrs Jessica Brown with my investment",
    "Anyone else here trading with Mrs Jessica Brown? Got my payout today",
    "Who else invests with Mrs Jessica Brown? Best portfolio manager out there",
    "Mrs Jessica Brown's strategy works, I paid off my debts in a month",
    "I can't thank Mrs Jessica Brown enough, my trading account keeps growing",
    "If times are hard look up Mrs Jessica Brown, she changed everything for me",
    "My neighbour told me about Mrs Jessica Brown, best advice I ever got",
    "Does anyone know if Mrs Jessica Brown is still taking new investors",
    "Mrs Jessica Brown answered all my questions, the returns are real",
];

const CAMPAIGN_NEW: [&str; 5] = [
    "Mrs Jessica Brown helped my sister too, her profit arrived yesterday",
    "Nothing beats the guidance of Mrs Jessica Brown for investment",
    "Got another payout from Mrs Jessica Brown today, so grateful",
    "Mrs Jessica Brown is the real deal for anyone struggling financially",
    "My uncle recommended Mrs Jessica Brown and she was right about everything",
];

#[tokio::test(flavor = "multi_thread")]
async fn ten_corrections_teach_a_new_campaign_without_costing_legitimate_readers() {
    let directory = tempfile::tempdir().unwrap();
    let server = server_with_base_corpus(directory.path()).await;
    let test_split = read_labelled_file(&data_file("youtube_test.csv")).unwrap();
    let (mcc_before, fpr_before) = figures(&server, &test_split).await;
    // The campaign is one the default model misses: it rejects none of it,
    // allows at least eight of the ten corrected texts, and allows the five
    // new ones whose scores the corrections must lift. (The default model
    // of 2026-11-30 sends one of the ten to review, at 0.51: "Mrs Jessica
    // Brown answered all my questions, the returns are real".)
    let mut before = Vec::new();
    for text in CAMPAIGN_CORRECTED.iter().chain(&CAMPAIGN_NEW) {
        let response = dry_run_check(&server, text).await;
        assert_ne!(
            response.verdict(),
            pb::Verdict::Reject,
            "the default model must not catch the campaign before it is corrected: {text}"
        );
        before.push((response.verdict(), response.score));
    }
    let allowed = before[..CAMPAIGN_CORRECTED.len()]
        .iter()
        .filter(|(verdict, _)| *verdict == pb::Verdict::Allow)
        .count();
    assert!(
        allowed >= 8,
        "the default model must allow most of the campaign before it is corrected: \
         {allowed} of {} allowed, {before:?}",
        CAMPAIGN_CORRECTED.len()
    );
    let before: Vec<f64> = before
        .split_off(CAMPAIGN_CORRECTED.len())
        .into_iter()
        .zip(CAMPAIGN_NEW)
        .map(|((verdict, score), text)| {
            assert_eq!(
                verdict,
                pb::Verdict::Allow,
                "the default model must allow the new texts of the campaign before it is corrected: {text}"
            );
            score
        })
        .collect();

    store_and_label(&server, "campaign", &CAMPAIGN_CORRECTED, pb::Label::Spam).await;
    // Online learning is done when the resolution returns; the second
    // measured here is what the "within 1 s" is about.
    let learned_at = Instant::now();
    let mut after = Vec::new();
    for text in CAMPAIGN_NEW {
        let response = dry_run_check(&server, text).await;
        assert!(
            response.model_version.ends_with("+10"),
            "the live model learned the 10 corrections: {}",
            response.model_version
        );
        after.push(response.score);
    }
    let scored_within = learned_at.elapsed();
    eprintln!("campaign scores before {before:.3?}, after {after:.3?} (scored {scored_within:?} after the resolution returned)");
    for (text, score) in CAMPAIGN_NEW.iter().zip(&after) {
        assert!(
            *score >= 0.5,
            "a new text of the campaign scores {score:.3}, under the review threshold: {text}"
        );
    }
    let (mcc_after, fpr_after) = figures(&server, &test_split).await;
    eprintln!(
        "youtube_test: MCC {mcc_before:.3} -> {mcc_after:.3}, ham blocked {fpr_before:.3} -> {fpr_after:.3}"
    );
    assert!(
        mcc_after >= mcc_before - TOLERANCE,
        "MCC fell from {mcc_before:.3} to {mcc_after:.3}"
    );
    assert!(
        fpr_after <= fpr_before + TOLERANCE,
        "ham blocked rose from {fpr_before:.3} to {fpr_after:.3}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_poisoned_corrections_are_refused_by_the_gate() {
    let directory = tempfile::tempdir().unwrap();
    let server = server_with_base_corpus(directory.path()).await;
    let test_split = read_labelled_file(&data_file("youtube_test.csv")).unwrap();
    let (mcc_before, fpr_before) = figures(&server, &test_split).await;
    // Ham of the test split, labelled spam: 200 of them (the split has 110
    // ham, so each appears under two comment ids, as a campaign of wrong
    // reports would send them).
    let ham: Vec<&str> = test_split
        .iter()
        .filter(|example| !example.label.is_spam())
        .map(|example| example.text.as_str())
        .collect();
    let poison: Vec<&str> = ham.iter().cycle().take(200).copied().collect();
    store_and_label(&server, "poison", &poison, pb::Label::Spam).await;

    let (mcc_live, fpr_live) = figures(&server, &test_split).await;
    let live_version = dry_run_check(&server, "probe").await.model_version;
    eprintln!(
        "live model {live_version} after the poison: MCC {mcc_before:.3} -> {mcc_live:.3}, ham blocked {fpr_before:.3} -> {fpr_live:.3}"
    );
    // Online learning's guard stopped before all of it was learned.
    assert!(!live_version.ends_with("+200"), "{live_version}");

    let job = request_retrain(&server, true, false).await.unwrap();
    let job = wait_for_job(&server, &job.job_id).await;
    eprintln!("{job:#?}");
    assert_eq!(job.state(), pb::JobState::Succeeded, "{}", job.message);
    assert!(
        !job.promoted,
        "the poisoned candidate was promoted: {}",
        job.message
    );
    assert!(job.message.starts_with("not promoted"), "{}", job.message);
    let metrics = job.metrics.unwrap();
    assert!(metrics.active.is_some() && metrics.candidate.is_some());
    let models = server
        .training()
        .await
        .list_models(with_token(ADMIN_TOKEN, pb::ListModelsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .models;
    assert_eq!(
        models.len(),
        1,
        "only the default model is registered: {models:?}"
    );
    server.stop().await;
}
