//! Crash durability: the real binary, under concurrent `CheckComment` and
//! `ResolveItems` calls, is killed with SIGKILL at a random moment and
//! restarted on the same directory, round after round; every decision and
//! every resolution that was acknowledged must be there, readable.
//!
//! `MODERATO_CRASH_ROUNDS` sets the rounds (3 by default, to keep the test
//! suite short); the 50 rounds:
//! `MODERATO_CRASH_ROUNDS=50 cargo test --release --test tests crash -- --nocapture`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moderato::grpc::pb;
use rand::seq::SliceRandom;
use rand::Rng;
use tokio::sync::watch;
use tonic::transport::Channel;

use crate::util::*;

/// Checks acknowledged in a round before the random wait for the kill
/// starts, so that the resolutions have decisions to label in every round.
const CHECKS_BEFORE_THE_KILL: usize = 5;

/// How long a round may take to have [`CHECKS_BEFORE_THE_KILL`] checks
/// acknowledged: far more than a loaded debug build needs, so that only a
/// server that stopped answering fails it.
const CHECKS_DEADLINE: Duration = Duration::from_secs(60);

/// How long the load tasks may take to end once the server is killed and
/// they are told to stop; they end at their next call or turn.
const STOP_DEADLINE: Duration = Duration::from_secs(60);

/// Decisions labelled by one `ResolveItems` call.
const RESOLUTION_BATCH: usize = 5;

/// One resolution sent for a decision.
#[derive(Debug, Clone, Copy)]
struct Resolution {
    label: pb::Label,
    /// Whether the server acknowledged it; one that was not was in flight
    /// at a kill, and may or may not have been stored.
    acknowledged: bool,
}

/// What the clients were told was stored.
#[derive(Default)]
struct Acknowledged {
    /// comment id -> decision id.
    decisions: HashMap<String, String>,
    /// The acknowledged decision ids in the order they were acknowledged,
    /// for the resolutions to pick from.
    decision_ids: Vec<String>,
    /// decision id -> every resolution sent for it, in the order sent. One
    /// task sends them, one call at a time, so this is also the order in
    /// which the server applied those it stored.
    resolutions: HashMap<String, Vec<Resolution>>,
    /// `ResolveItems` calls acknowledged over the whole run.
    acknowledged_resolution_calls: usize,
}

impl Acknowledged {
    fn snapshot(&self) -> Acknowledged {
        Acknowledged {
            decisions: self.decisions.clone(),
            decision_ids: self.decision_ids.clone(),
            resolutions: self.resolutions.clone(),
            acknowledged_resolution_calls: self.acknowledged_resolution_calls,
        }
    }
}

fn rounds() -> usize {
    std::env::var("MODERATO_CRASH_ROUNDS")
        .ok()
        .map(|text| text.parse().expect("MODERATO_CRASH_ROUNDS is a number"))
        .unwrap_or(3)
}

/// Whether the test has told the load tasks to stop (it does right after
/// the kill). A task that does not reach the server would otherwise never
/// learn that the round is over.
fn stopped(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow()
}

/// Checks comments until the server goes away or the test says stop,
/// recording what the server acknowledged.
async fn keep_checking(
    channel: Channel,
    token: String,
    prefix: String,
    acknowledged: Arc<Mutex<Acknowledged>>,
    stop: watch::Receiver<bool>,
) {
    let mut client = pb::moderation_client::ModerationClient::new(channel);
    for index in 0.. {
        if stopped(&stop) {
            return;
        }
        let comment_id = format!("{prefix}-{index}");
        let request = pb::CheckCommentRequest {
            site_id: NEWS_SITE.to_string(),
            ..comment(
                &comment_id,
                if index % 2 == 0 { SPAM_TEXT } else { HAM_TEXT },
            )
        };
        match client.check_comment(with_token(&token, request)).await {
            Ok(response) => {
                let response = response.into_inner();
                assert!(response.stored);
                let mut acknowledged = acknowledged.lock().unwrap();
                acknowledged.decision_ids.push(response.decision_id.clone());
                acknowledged
                    .decisions
                    .insert(comment_id, response.decision_id);
            }
            Err(_) => return,
        }
    }
}

/// Labels acknowledged decisions, a few picked at random per call and
/// spam and ham in turn, until the server goes away or the test says stop,
/// recording each resolution sent and whether it was acknowledged.
async fn keep_resolving(
    channel: Channel,
    token: String,
    acknowledged: Arc<Mutex<Acknowledged>>,
    stop: watch::Receiver<bool>,
) {
    let mut client = pb::review_client::ReviewClient::new(channel);
    let mut calls_sent: u64 = 0;
    loop {
        if stopped(&stop) {
            return;
        }
        // Picked at random among all the acknowledged decisions (of this
        // round and the earlier ones), so that resolutions spread over
        // them rather than relabelling the same few.
        let batch: Vec<String> = {
            let acknowledged = acknowledged.lock().unwrap();
            acknowledged
                .decision_ids
                .choose_multiple(&mut rand::thread_rng(), RESOLUTION_BATCH)
                .cloned()
                .collect()
        };
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        let label = if calls_sent.is_multiple_of(2) {
            pb::Label::Spam
        } else {
            pb::Label::Ham
        };
        calls_sent += 1;
        let request = pb::ResolveItemsRequest {
            decision_ids: batch.clone(),
            label: label.into(),
            ..Default::default()
        };
        let outcome = client.resolve_items(with_token(&token, request)).await;
        let mut acknowledged = acknowledged.lock().unwrap();
        for decision_id in batch {
            acknowledged
                .resolutions
                .entry(decision_id)
                .or_default()
                .push(Resolution {
                    label,
                    acknowledged: outcome.is_ok(),
                });
        }
        if outcome.is_err() {
            return;
        }
        acknowledged.acknowledged_resolution_calls += 1;
    }
}

/// Waits until `CHECKS_BEFORE_THE_KILL` more checks than `before` are
/// acknowledged, or fails the test at the deadline.
async fn wait_for_checks(acknowledged: &Mutex<Acknowledged>, before: usize, round: usize) {
    let deadline = Instant::now() + CHECKS_DEADLINE;
    loop {
        let count = acknowledged.lock().unwrap().decisions.len();
        if count >= before + CHECKS_BEFORE_THE_KILL {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "round {round}: only {} of {CHECKS_BEFORE_THE_KILL} checks were acknowledged \
             within {} s; the server is not answering",
            count - before,
            CHECKS_DEADLINE.as_secs()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_kill_9() {
    let directory = tempfile::tempdir().unwrap();
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let rounds = rounds();
    for round in 0..rounds {
        let mut server = ServeProcess::start(directory.path()).await;
        let token = std::fs::read_to_string(directory.path().join("admin.token"))
            .unwrap()
            .trim()
            .to_string();
        let channel = server.channel().await;
        let snapshot = acknowledged.lock().unwrap().snapshot();
        verify(&channel, &token, &snapshot, round).await;

        let (stop_sender, stop) = watch::channel(false);
        let mut load = Vec::new();
        for writer in 0..4 {
            load.push(tokio::spawn(keep_checking(
                channel.clone(),
                token.clone(),
                format!("r{round}-w{writer}"),
                Arc::clone(&acknowledged),
                stop.clone(),
            )));
        }
        load.push(tokio::spawn(keep_resolving(
            channel.clone(),
            token.clone(),
            Arc::clone(&acknowledged),
            stop.clone(),
        )));
        // A kill before the first acknowledged check would test nothing
        // of this round's writes.
        wait_for_checks(&acknowledged, snapshot.decisions.len(), round).await;
        let delay = Duration::from_millis(rand::thread_rng().gen_range(50..400));
        tokio::time::sleep(delay).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        // The tasks whose calls fail end by themselves; one that was not
        // calling the server (the resolutions, before any decision was
        // acknowledged) ends on this.
        stop_sender.send_replace(true);
        for task in load {
            tokio::time::timeout(STOP_DEADLINE, task)
                .await
                .unwrap_or_else(|_| {
                    panic!("round {round}: a load task did not stop after the kill")
                })
                .unwrap();
        }
    }
    let server = ServeProcess::start(directory.path()).await;
    let token = std::fs::read_to_string(directory.path().join("admin.token")).unwrap();
    let acknowledged = acknowledged.lock().unwrap().snapshot();
    verify(&server.channel().await, token.trim(), &acknowledged, rounds).await;
    eprintln!(
        "{rounds} kill -9 rounds: {} acknowledged decisions and {} acknowledged resolution \
         calls (over {} decisions), all there after the restarts (0 lost)",
        acknowledged.decisions.len(),
        acknowledged.acknowledged_resolution_calls,
        acknowledged.resolutions.len()
    );
    assert!(
        !acknowledged.decisions.is_empty(),
        "no write was acknowledged"
    );
    // A round may end before its first resolution is acknowledged, but the
    // whole run must have tested some.
    assert!(
        acknowledged.acknowledged_resolution_calls > 0,
        "no resolution was acknowledged in {rounds} rounds"
    );
}

/// Every acknowledged decision is readable, and its label is what the
/// resolutions sent for it allow: the last acknowledged one, or one sent
/// after it that was in flight at a kill (stored or not, either is right);
/// with none acknowledged, no label or one of those in flight; with none
/// sent, no label. A lost write shows as a missing decision, a missing
/// label, or an older label than the last acknowledged one.
async fn verify(channel: &Channel, token: &str, acknowledged: &Acknowledged, round: usize) {
    let mut client = pb::moderation_client::ModerationClient::new(channel.clone());
    for (comment_id, decision_id) in &acknowledged.decisions {
        let decision = client
            .get_decision(with_token(
                token,
                pb::GetDecisionRequest {
                    site_id: NEWS_SITE.to_string(),
                    comment_id: comment_id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap_or_else(|status| {
                panic!("round {round}: acknowledged comment {comment_id} is lost: {status}")
            })
            .into_inner();
        assert_eq!(&decision.decision_id, decision_id);
        let sent = acknowledged
            .resolutions
            .get(decision_id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let last_acknowledged = sent.iter().rposition(|resolution| resolution.acknowledged);
        // Every resolution after the last acknowledged one was in flight at
        // a kill: the calls are sent one at a time, and a failed one ends
        // the round's resolutions.
        let possible: Vec<pb::Label> = sent[last_acknowledged.unwrap_or(0)..]
            .iter()
            .map(|resolution| resolution.label)
            .collect();
        match (decision.resolution, last_acknowledged) {
            (None, Some(_)) => {
                panic!("round {round}: the acknowledged resolution of {decision_id} is lost")
            }
            (None, None) => {}
            (Some(resolution), _) => assert!(
                possible.contains(&resolution.label()),
                "round {round}: {decision_id} is labelled {:?}, but the resolutions sent \
                 for it allow only {possible:?} (of {sent:?})",
                resolution.label()
            ),
        }
    }
}
