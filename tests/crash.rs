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
use std::time::Duration;

use moderato::grpc::pb;
use rand::Rng;
use tonic::transport::Channel;

use crate::util::*;

/// What the clients were told was stored.
#[derive(Default)]
struct Acknowledged {
    /// comment id -> decision id.
    decisions: HashMap<String, String>,
    /// decision id -> the label its resolution acknowledged last.
    labels: HashMap<String, pb::Label>,
}

impl Acknowledged {
    fn snapshot(&self) -> Acknowledged {
        Acknowledged {
            decisions: self.decisions.clone(),
            labels: self.labels.clone(),
        }
    }
}

fn rounds() -> usize {
    std::env::var("MODERATO_CRASH_ROUNDS")
        .ok()
        .map(|text| text.parse().expect("MODERATO_CRASH_ROUNDS is a number"))
        .unwrap_or(3)
}

/// Checks comments until the server goes away, recording what it
/// acknowledged.
async fn keep_checking(
    channel: Channel,
    token: String,
    prefix: String,
    acknowledged: Arc<Mutex<Acknowledged>>,
) {
    let mut client = pb::moderation_client::ModerationClient::new(channel);
    for index in 0.. {
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
                acknowledged
                    .lock()
                    .unwrap()
                    .decisions
                    .insert(comment_id, response.decision_id);
            }
            Err(_) => return,
        }
    }
}

/// Resolves acknowledged decisions until the server goes away, recording
/// the acknowledged labels.
async fn keep_resolving(channel: Channel, token: String, acknowledged: Arc<Mutex<Acknowledged>>) {
    let mut client = pb::review_client::ReviewClient::new(channel);
    for round in 0u64.. {
        let batch: Vec<String> = {
            let acknowledged = acknowledged.lock().unwrap();
            acknowledged.decisions.values().take(5).cloned().collect()
        };
        if batch.is_empty() {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        let label = if round % 2 == 0 {
            pb::Label::Spam
        } else {
            pb::Label::Ham
        };
        let request = pb::ResolveItemsRequest {
            decision_ids: batch.clone(),
            label: label.into(),
            ..Default::default()
        };
        match client.resolve_items(with_token(&token, request)).await {
            Ok(_) => {
                let mut acknowledged = acknowledged.lock().unwrap();
                for decision_id in batch {
                    acknowledged.labels.insert(decision_id, label);
                }
            }
            Err(_) => return,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_kill_9() {
    let directory = tempfile::tempdir().unwrap();
    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let rounds = rounds();
    let mut random = rand::thread_rng();
    for round in 0..rounds {
        let mut server = ServeProcess::start(directory.path()).await;
        let token = std::fs::read_to_string(directory.path().join("admin.token"))
            .unwrap()
            .trim()
            .to_string();
        let channel = server.channel().await;
        let snapshot = acknowledged.lock().unwrap().snapshot();
        verify(&channel, &token, &snapshot, round).await;

        let mut load = Vec::new();
        for writer in 0..4 {
            load.push(tokio::spawn(keep_checking(
                channel.clone(),
                token.clone(),
                format!("r{round}-w{writer}"),
                Arc::clone(&acknowledged),
            )));
        }
        load.push(tokio::spawn(keep_resolving(
            channel.clone(),
            token.clone(),
            Arc::clone(&acknowledged),
        )));
        tokio::time::sleep(Duration::from_millis(random.gen_range(50..400))).await;
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        for task in load {
            task.await.unwrap();
        }
    }
    let server = ServeProcess::start(directory.path()).await;
    let token = std::fs::read_to_string(directory.path().join("admin.token")).unwrap();
    let acknowledged = acknowledged.lock().unwrap().snapshot();
    verify(&server.channel().await, token.trim(), &acknowledged, rounds).await;
    eprintln!(
        "{rounds} kill -9 rounds: {} acknowledged decisions and {} acknowledged resolutions, \
         all there after the restarts (0 lost)",
        acknowledged.decisions.len(),
        acknowledged.labels.len()
    );
    assert!(
        !acknowledged.decisions.is_empty(),
        "no write was acknowledged"
    );
}

/// Every acknowledged decision is readable, and every acknowledged label
/// is its status (a later, unacknowledged resolution may have changed it
/// only to the other label, which is why a lost write shows as a missing
/// decision or a pending status).
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
        if acknowledged.labels.contains_key(decision_id) {
            let resolution = decision.resolution.unwrap_or_else(|| {
                panic!("round {round}: the acknowledged resolution of {decision_id} is lost")
            });
            assert_ne!(resolution.label(), pb::Label::Unspecified);
        }
    }
}
