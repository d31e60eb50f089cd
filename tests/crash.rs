//! Crash durability: the real binary, under concurrent `CheckComment`,
//! `ResolveItems`, `ReportComment` and `ForgetComment` calls and an
//! `ActivateModel` call a round, is killed with SIGKILL at a random moment
//! and restarted on the same directory, round after round; every decision,
//! every label and the activation that were acknowledged must be there,
//! readable, and every comment whose forget was acknowledged gone.
//!
//! The registry holds two versions, so that a lost activation shows: the
//! built-in model, registered by a first start without `model`, and a small
//! model the binary trains, which the rounds' configuration names (a start
//! with a `model` other than the last start's registers it and makes it
//! active). Each round's activation names the version that is not active,
//! so a lost one leaves the other version active.
//!
//! `MODERATO_CRASH_ROUNDS` sets the rounds (3 by default, to keep the test
//! suite short); the 50 rounds:
//! `MODERATO_CRASH_ROUNDS=50 cargo test --release --test tests crash -- --nocapture`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use moderato::classifier::Model;
use moderato::grpc::pb;
use rand::seq::SliceRandom;
use rand::Rng;
use tokio::sync::watch;
use tonic::transport::Channel;

use crate::util::*;

/// Checks acknowledged in a round before the random wait for the kill
/// starts, so that the resolutions and the reports have decisions to label
/// in every round.
const CHECKS_BEFORE_THE_KILL: usize = 5;

/// How long a round may take to have [`CHECKS_BEFORE_THE_KILL`] checks
/// acknowledged: far more than a loaded debug build needs, so that only a
/// server that stopped answering fails it.
const CHECKS_DEADLINE: Duration = Duration::from_secs(60);

/// How long the load tasks may take to end once the server is killed and
/// they are told to stop; they end at their next call or turn.
const STOP_DEADLINE: Duration = Duration::from_secs(60);

/// How long a round that waits for its activation's answer before the kill
/// may wait for it: far more than a loaded debug build needs, so that only
/// a server that stopped answering fails it.
const ACTIVATION_DEADLINE: Duration = Duration::from_secs(60);

/// How long a clean stop (SIGTERM) may take: far more than a server with
/// no call in progress needs, so that only a server that hangs fails it.
const CLEAN_STOP_DEADLINE: Duration = Duration::from_secs(60);

/// Decisions labelled by one `ResolveItems` call.
const RESOLUTION_BATCH: usize = 5;

/// The two versions the registry holds in this test.
struct Versions {
    /// The built-in model's, registered by the first start (without
    /// `model`).
    built_in: String,
    /// The trained model's, registered and made active by the first start
    /// of the rounds (their configuration names it).
    trained: String,
}

/// When a call was sent and answered, on the test's own clock
/// ([`Acknowledged::tick`]), and whether it was acknowledged.
///
/// The clock is read under the lock of [`Acknowledged`], before the call is
/// sent and after its answer (or its failure) has arrived, so that a call
/// answered at an earlier instant than another was sent was really
/// answered before that one was sent, and the server applied it first.
#[derive(Debug, Clone, Copy)]
struct Call {
    sent_at: u64,
    answered_at: u64,
    /// Whether the server acknowledged it; one that was not was in flight
    /// at a kill, and may or may not have been stored. (One that failed
    /// with the server up, which these calls have no cause to, stored
    /// nothing or stored it before its answer.)
    acknowledged: bool,
}

impl Call {
    /// Whether this call's write may be the last that the server applied
    /// of `calls`, all the writes sent to the same place (this one among
    /// them): it may not if an acknowledged one was sent after this one
    /// was answered, since the server applied that one later. A call that
    /// was not acknowledged counts as answered when its failure arrived,
    /// after the kill: whatever it stored was stored before then, and no
    /// call sent later in its round is acknowledged.
    fn may_be_last(&self, calls: impl IntoIterator<Item = Call>) -> bool {
        calls
            .into_iter()
            .all(|other| !other.acknowledged || other.sent_at < self.answered_at)
    }
}

/// The call that sent a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LabelCall {
    ResolveItems,
    ReportComment,
}

/// One label sent for a decision, by a moderator's resolution or by a
/// report (the decision's `resolution` holds the label of either).
#[derive(Debug, Clone, Copy)]
struct Resolution {
    label: pb::Label,
    sent_by: LabelCall,
    call: Call,
}

/// One `ActivateModel` call.
#[derive(Debug, Clone)]
struct Activation {
    version: String,
    call: Call,
}

/// What the clients were told was stored.
#[derive(Default)]
struct Acknowledged {
    /// The test's clock, see [`Call`].
    clock: u64,
    /// comment id -> decision id.
    decisions: HashMap<String, String>,
    /// The acknowledged decision ids in the order they were acknowledged,
    /// for the resolutions and the reports to pick from.
    decision_ids: Vec<String>,
    /// The comment id of each decision of `decision_ids`, at the same
    /// index, for the reports that name a decision by its comment.
    comment_ids: Vec<String>,
    /// decision id -> every label sent for it by the resolutions and the
    /// reports, each with when it was sent and answered. The two tasks
    /// send theirs at the same time, so the order of this list is not
    /// the order in which the server applied them; the times tell which
    /// of them the server may have applied last.
    resolutions: HashMap<String, Vec<Resolution>>,
    /// `ResolveItems` calls acknowledged over the whole run.
    acknowledged_resolution_calls: usize,
    /// `ReportComment` calls acknowledged over the whole run.
    acknowledged_report_calls: usize,
    /// Every `ActivateModel` call, in the order sent (one a round).
    activations: Vec<Activation>,
    /// Acknowledged comments that no label names, for the forgets to pick
    /// from: comment id -> decision id, and their comment ids in the order
    /// acknowledged.
    forgettable: HashMap<String, String>,
    forgettable_order: Vec<String>,
    /// comment id -> the last `ForgetComment` call sent for it.
    forgets: HashMap<String, Call>,
}

impl Acknowledged {
    fn snapshot(&self) -> Acknowledged {
        Acknowledged {
            clock: self.clock,
            decisions: self.decisions.clone(),
            decision_ids: self.decision_ids.clone(),
            comment_ids: self.comment_ids.clone(),
            resolutions: self.resolutions.clone(),
            acknowledged_resolution_calls: self.acknowledged_resolution_calls,
            acknowledged_report_calls: self.acknowledged_report_calls,
            activations: self.activations.clone(),
            forgettable: self.forgettable.clone(),
            forgettable_order: self.forgettable_order.clone(),
            forgets: self.forgets.clone(),
        }
    }

    /// The next instant of the test's clock.
    fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// A call sent at `sent_at` whose answer (or failure) has just arrived.
    fn answered(&mut self, sent_at: u64, acknowledged: bool) -> Call {
        Call {
            sent_at,
            answered_at: self.tick(),
            acknowledged,
        }
    }

    /// Records a label sent for a decision, by either kind of call.
    fn record_label(
        &mut self,
        decision_id: String,
        label: pb::Label,
        sent_by: LabelCall,
        call: Call,
    ) {
        self.resolutions
            .entry(decision_id)
            .or_default()
            .push(Resolution {
                label,
                sent_by,
                call,
            });
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
                // One comment in ten is left to the forgets.
                if index % 10 == 9 {
                    acknowledged.forgettable_order.push(comment_id.clone());
                    acknowledged
                        .forgettable
                        .insert(comment_id, response.decision_id);
                    continue;
                }
                acknowledged.decision_ids.push(response.decision_id.clone());
                acknowledged.comment_ids.push(comment_id.clone());
                acknowledged
                    .decisions
                    .insert(comment_id, response.decision_id);
            }
            Err(_) => return,
        }
    }
}

/// Forgets acknowledged comments that no label names, the oldest not yet
/// forgotten first (a forget a kill cut short is sent again, in a later
/// round), until the server goes away or the test says stop, recording
/// each comment's last call, when, and whether it was acknowledged.
async fn keep_forgetting(
    channel: Channel,
    token: String,
    acknowledged: Arc<Mutex<Acknowledged>>,
    stop: watch::Receiver<bool>,
) {
    let mut client = pb::moderation_client::ModerationClient::new(channel);
    loop {
        if stopped(&stop) {
            return;
        }
        let next = {
            let mut acknowledged = acknowledged.lock().unwrap();
            let next = acknowledged
                .forgettable_order
                .iter()
                .find(|comment_id| {
                    acknowledged
                        .forgets
                        .get(*comment_id)
                        .is_none_or(|call| !call.acknowledged)
                })
                .cloned();
            next.map(|comment_id| {
                let retried = acknowledged.forgets.contains_key(&comment_id);
                (comment_id, acknowledged.tick(), retried)
            })
        };
        let Some((comment_id, sent_at, retried)) = next else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let request = pb::ForgetCommentRequest {
            site_id: NEWS_SITE.to_string(),
            comment_id: comment_id.clone(),
        };
        let outcome = client.forget_comment(with_token(&token, request)).await;
        let mut acknowledged = acknowledged.lock().unwrap();
        let call = acknowledged.answered(sent_at, outcome.is_ok());
        acknowledged.forgets.insert(comment_id.clone(), call);
        match outcome {
            // A forget sent again may find that the first one had
            // finished before the kill.
            Ok(response) => assert!(
                response.into_inner().forgotten || retried,
                "{comment_id} was acknowledged, and then not found to forget"
            ),
            Err(_) => return,
        }
    }
}

/// Labels acknowledged decisions, a few picked at random per call and
/// spam and ham in turn, until the server goes away or the test says stop,
/// recording each resolution sent, when, and whether it was acknowledged.
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
        let (batch, sent_at) = {
            let mut acknowledged = acknowledged.lock().unwrap();
            let batch: Vec<String> = acknowledged
                .decision_ids
                .choose_multiple(&mut rand::thread_rng(), RESOLUTION_BATCH)
                .cloned()
                .collect();
            let sent_at = acknowledged.tick();
            (batch, sent_at)
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
        let call = acknowledged.answered(sent_at, outcome.is_ok());
        for decision_id in batch {
            acknowledged.record_label(decision_id, label, LabelCall::ResolveItems, call);
        }
        if outcome.is_err() {
            return;
        }
        acknowledged.acknowledged_resolution_calls += 1;
    }
}

/// Reports labels on acknowledged decisions as a site does, one picked at
/// random per call and spam and ham in turn, until the server goes away or
/// the test says stop, recording each label sent beside the resolutions'
/// (a report and a resolution of the same decision may race), with when
/// it was sent and whether it was acknowledged.
async fn keep_reporting(
    channel: Channel,
    token: String,
    acknowledged: Arc<Mutex<Acknowledged>>,
    stop: watch::Receiver<bool>,
) {
    let mut client = pb::moderation_client::ModerationClient::new(channel);
    let mut calls_sent: u64 = 0;
    loop {
        if stopped(&stop) {
            return;
        }
        // Picked at random among all the acknowledged decisions, as the
        // resolutions are, so that reports and resolutions meet on some.
        let picked = {
            let mut acknowledged = acknowledged.lock().unwrap();
            if acknowledged.decision_ids.is_empty() {
                None
            } else {
                let index = rand::thread_rng().gen_range(0..acknowledged.decision_ids.len());
                let decision_id = acknowledged.decision_ids[index].clone();
                let comment_id = acknowledged.comment_ids[index].clone();
                let sent_at = acknowledged.tick();
                Some((decision_id, comment_id, sent_at))
            }
        };
        let Some((decision_id, comment_id, sent_at)) = picked else {
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let label = if calls_sent.is_multiple_of(2) {
            pb::Label::Spam
        } else {
            pb::Label::Ham
        };
        // Two reports in four name the decision by its id, the other two
        // by its site and comment id, as a site that keeps only its own
        // ids does; each way sends spam and ham alike.
        let request = if (calls_sent / 2).is_multiple_of(2) {
            pb::ReportCommentRequest {
                decision_id: decision_id.clone(),
                label: label.into(),
                ..Default::default()
            }
        } else {
            pb::ReportCommentRequest {
                site_id: NEWS_SITE.to_string(),
                comment_id,
                label: label.into(),
                ..Default::default()
            }
        };
        calls_sent += 1;
        let outcome = client.report_comment(with_token(&token, request)).await;
        let mut acknowledged = acknowledged.lock().unwrap();
        let call = acknowledged.answered(sent_at, outcome.is_ok());
        acknowledged.record_label(decision_id, label, LabelCall::ReportComment, call);
        if outcome.is_err() {
            return;
        }
        acknowledged.acknowledged_report_calls += 1;
    }
}

/// Activates the registered version that is not active now, once, after
/// waiting `after` (unless the test has said stop by then), recording the
/// call, when, and whether it was acknowledged. The registry holds two
/// versions (see [`Versions`]), so the rounds' activations alternate
/// between them, and a lost activation leaves the other one active.
async fn activate_once(
    channel: Channel,
    token: String,
    acknowledged: Arc<Mutex<Acknowledged>>,
    stop: watch::Receiver<bool>,
    after: Duration,
) {
    tokio::time::sleep(after).await;
    if stopped(&stop) {
        return;
    }
    let mut client = pb::training_client::TrainingClient::new(channel);
    // A failure here is the kill's: the server went away before the
    // activation was sent, so nothing was.
    let Ok(listed) = client
        .list_models(with_token(&token, pb::ListModelsRequest {}))
        .await
    else {
        return;
    };
    let models = listed.into_inner().models;
    let version = models
        .iter()
        .find(|model| !model.active)
        .unwrap_or_else(|| {
            panic!("the registry lists no version that is not active, of {models:?}")
        })
        .version
        .clone();
    let sent_at = acknowledged.lock().unwrap().tick();
    let outcome = client
        .activate_model(with_token(
            &token,
            pb::ActivateModelRequest {
                version: version.clone(),
            },
        ))
        .await;
    if let Ok(response) = &outcome {
        assert_eq!(
            response.get_ref().version,
            version,
            "the activation's answer names another version"
        );
    }
    let mut acknowledged = acknowledged.lock().unwrap();
    let call = acknowledged.answered(sent_at, outcome.is_ok());
    acknowledged.activations.push(Activation { version, call });
}

/// Writes [`SMALL_CORPUS`] into `directory` and trains a model on it
/// with the binary (`moderato train`); gives the model file.
fn train_model(directory: &Path) -> PathBuf {
    let data = directory.join("crash-corpus.tsv");
    std::fs::write(&data, SMALL_CORPUS).unwrap();
    let model = directory.join("crash-model.json");
    succeeded(
        moderato()
            .args(["train", "--data"])
            .arg(&data)
            .arg("--out")
            .arg(&model),
    );
    model
}

/// Writes a configuration file into `directory` that names `model` and
/// nothing else (no keys, so the server keeps its first-start admin token);
/// gives the file.
fn write_config(directory: &Path, model: &Path) -> PathBuf {
    let config = directory.join("moderato.toml");
    std::fs::write(
        &config,
        format!("model = {:?}\n", model.display().to_string()),
    )
    .unwrap();
    config
}

/// Starts the binary on `data_dir` with the configuration `config` (named
/// by `MODERATO_CONFIG`, as an operator may).
async fn start_configured(data_dir: &Path, config: &Path) -> ServeProcess {
    ServeProcess::start_with_environment(
        data_dir,
        &[("MODERATO_CONFIG", config.to_str().expect("a UTF-8 path"))],
    )
    .await
}

/// The first-start admin token of the server on `data_dir`.
fn admin_token(data_dir: &Path) -> String {
    std::fs::read_to_string(data_dir.join("admin.token"))
        .unwrap()
        .trim()
        .to_string()
}

/// Stops the server as SIGTERM does and waits until it has exited, which
/// it must do cleanly within [`CLEAN_STOP_DEADLINE`].
async fn stop_cleanly(mut server: ServeProcess) {
    let pid = server.child.id();
    assert!(
        send_signal(pid, libc::SIGTERM),
        "SIGTERM could not be sent to the server"
    );
    let exited = tokio::task::spawn_blocking(move || {
        // Read its log to the end first: a server that logs more than the
        // pipe holds would otherwise block on a write and never exit.
        let _ = std::io::copy(&mut server.log, &mut std::io::sink());
        server.child.wait().unwrap()
    });
    match tokio::time::timeout(CLEAN_STOP_DEADLINE, exited).await {
        Ok(status) => {
            let status = status.unwrap();
            assert!(status.success(), "the server stopped with {status:?}");
        }
        Err(_) => {
            // Ends the reading (and the wait) of the task above too.
            send_signal(pid, libc::SIGKILL);
            panic!(
                "the server did not stop within {} s of SIGTERM",
                CLEAN_STOP_DEADLINE.as_secs()
            );
        }
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
    // The model file and its configuration live outside the data directory.
    let files = tempfile::tempdir().unwrap();
    let model = train_model(files.path());
    let config = write_config(files.path(), &model);
    let versions = Versions {
        built_in: Model::embedded_default()
            .unwrap()
            .trained_version()
            .to_string(),
        trained: Model::load(&model).unwrap().trained_version().to_string(),
    };
    assert_ne!(
        versions.built_in, versions.trained,
        "the trained model has the built-in model's version"
    );

    // A first start without `model` registers the built-in model; the
    // rounds' first start, with the trained model configured, registers
    // that one beside it and makes it active.
    {
        let server = ServeProcess::start(directory.path()).await;
        let token = admin_token(directory.path());
        let mut client = pb::training_client::TrainingClient::new(server.channel().await);
        let models = client
            .list_models(with_token(&token, pb::ListModelsRequest {}))
            .await
            .expect("the models can be listed")
            .into_inner()
            .models;
        assert!(
            matches!(
                models.as_slice(),
                [only] if only.version == versions.built_in && only.active
            ),
            "a first start without `model` must register the built-in model {} alone, \
             active, but the registry lists {models:?}",
            versions.built_in
        );
        stop_cleanly(server).await;
    }

    let acknowledged = Arc::new(Mutex::new(Acknowledged::default()));
    let rounds = rounds();
    for round in 0..rounds {
        let mut server = start_configured(directory.path(), &config).await;
        let token = admin_token(directory.path());
        let channel = server.channel().await;
        let snapshot = acknowledged.lock().unwrap().snapshot();
        // Before any load of the round (in round 0, before any of the
        // rounds' writes): among the rest, the registry lists the two
        // versions, so that the activations have another to name.
        verify(&channel, &token, &snapshot, &versions, round).await;

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
        load.push(tokio::spawn(keep_reporting(
            channel.clone(),
            token.clone(),
            Arc::clone(&acknowledged),
            stop.clone(),
        )));
        load.push(tokio::spawn(keep_forgetting(
            channel.clone(),
            token.clone(),
            Arc::clone(&acknowledged),
            stop.clone(),
        )));
        // A kill before the first acknowledged check would test nothing
        // of this round's writes.
        wait_for_checks(&acknowledged, snapshot.decisions.len(), round).await;
        let delay_ms: u64 = rand::thread_rng().gen_range(50..400);
        // The activation is sent at a random moment of the wait for the
        // kill, so that the kill may cut it short.
        let activation_after = Duration::from_millis(rand::thread_rng().gen_range(0..delay_ms));
        let activation = tokio::spawn(activate_once(
            channel.clone(),
            token.clone(),
            Arc::clone(&acknowledged),
            stop.clone(),
            activation_after,
        ));
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        if round % 2 == 0 {
            // Even rounds wait for the activation's answer before the kill,
            // so that every run, even one of a single round, has an
            // acknowledged activation to look for after a restart; odd
            // rounds leave it to the kill.
            tokio::time::timeout(ACTIVATION_DEADLINE, activation)
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "round {round}: the activation was not answered within {} s",
                        ACTIVATION_DEADLINE.as_secs()
                    )
                })
                .unwrap();
        } else {
            load.push(activation);
        }
        server.child.kill().unwrap();
        server.child.wait().unwrap();
        // The tasks whose calls fail end by themselves; one that was not
        // calling the server (the resolutions or the reports, before any
        // decision was acknowledged) ends on this.
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
    let server = start_configured(directory.path(), &config).await;
    let token = admin_token(directory.path());
    let acknowledged = acknowledged.lock().unwrap().snapshot();
    verify(
        &server.channel().await,
        &token,
        &acknowledged,
        &versions,
        rounds,
    )
    .await;
    let acknowledged_activations = acknowledged
        .activations
        .iter()
        .filter(|activation| activation.call.acknowledged)
        .count();
    let acknowledged_forgets = acknowledged
        .forgets
        .values()
        .filter(|call| call.acknowledged)
        .count();
    eprintln!(
        "{rounds} kill -9 rounds: {} acknowledged decisions, {} acknowledged resolution \
         calls and {} acknowledged report calls (over {} decisions), {} acknowledged \
         activations, all there after the restarts (0 lost), and {} acknowledged forgets \
         (of {} comments left to them), all gone",
        acknowledged.decisions.len() + acknowledged.forgettable.len(),
        acknowledged.acknowledged_resolution_calls,
        acknowledged.acknowledged_report_calls,
        acknowledged.resolutions.len(),
        acknowledged_activations,
        acknowledged_forgets,
        acknowledged.forgettable.len(),
    );
    assert!(
        !acknowledged.decisions.is_empty(),
        "no write was acknowledged"
    );
    // A round may end before its first resolution or report is
    // acknowledged, but the whole run must have tested some.
    assert!(
        acknowledged.acknowledged_resolution_calls > 0,
        "no resolution was acknowledged in {rounds} rounds"
    );
    assert!(
        acknowledged.acknowledged_report_calls > 0,
        "no report was acknowledged in {rounds} rounds"
    );
    assert!(
        acknowledged_forgets > 0,
        "no forget was acknowledged in {rounds} rounds"
    );
    // The first round waits for its activation's answer, so this fails
    // only if the server refused it.
    assert!(
        acknowledged_activations > 0,
        "no activation was acknowledged in {rounds} rounds"
    );
}

/// Every acknowledged decision is readable, and its label is what the
/// labels sent for it (by resolutions and reports alike) allow: one that
/// the server may have applied last, that is the last acknowledged one, or
/// one sent after it that was in flight at a kill (stored or not, either
/// is right), or one whose call overlapped the last acknowledged one's
/// (the server may have applied them in either order); with none
/// acknowledged, no label or one of those in flight; with none sent, no
/// label. A lost write shows as a missing decision, a missing label, or an
/// older label than the last acknowledged one. Then the active model
/// version, see [`verify_active_model`].
async fn verify(
    channel: &Channel,
    token: &str,
    acknowledged: &Acknowledged,
    versions: &Versions,
    round: usize,
) {
    let mut client = pb::moderation_client::ModerationClient::new(channel.clone());
    for (comment_id, decision_id) in &acknowledged.decisions {
        let decision = news_decision(&mut client, token, comment_id)
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
        // One task sends its calls one at a time, and a failed call ends
        // its round, so for the labels of one task alone this keeps the
        // last acknowledged label and those sent after it; with the two
        // tasks, also those whose calls overlapped the last acknowledged
        // one.
        let possible: Vec<(pb::Label, LabelCall)> = sent
            .iter()
            .filter(|resolution| {
                resolution
                    .call
                    .may_be_last(sent.iter().map(|other| other.call))
            })
            .map(|resolution| (resolution.label, resolution.sent_by))
            .collect();
        let any_acknowledged = sent.iter().any(|resolution| resolution.call.acknowledged);
        match (decision.resolution, any_acknowledged) {
            (None, true) => panic!(
                "round {round}: the acknowledged label of {decision_id} is lost (of {sent:?})"
            ),
            (None, false) => {}
            (Some(resolution), _) => assert!(
                possible
                    .iter()
                    .any(|(label, _)| *label == resolution.label()),
                "round {round}: {decision_id} is labelled {:?}, but the labels sent \
                 for it allow only {possible:?} (of {sent:?})",
                resolution.label()
            ),
        }
    }
    // A comment whose forget was acknowledged is gone; one never sent to
    // be forgotten is there; one whose forget was cut short by the kill
    // may be either.
    for (comment_id, decision_id) in &acknowledged.forgettable {
        let found = news_decision(&mut client, token, comment_id).await;
        match (acknowledged.forgets.get(comment_id), found) {
            (Some(call), Ok(decision)) => assert!(
                !call.acknowledged,
                "round {round}: the acknowledged forget of {comment_id} is lost: {:?}",
                decision.into_inner().decision_id
            ),
            (Some(_), Err(status)) => assert_eq!(status.code(), tonic::Code::NotFound),
            (None, Ok(decision)) => assert_eq!(&decision.into_inner().decision_id, decision_id),
            (None, Err(status)) => {
                panic!("round {round}: acknowledged comment {comment_id} is lost: {status}")
            }
        }
    }
    verify_active_model(channel, token, acknowledged, versions, round).await;
}

/// `GetDecision` of a news comment by its comment id.
async fn news_decision(
    client: &mut pb::moderation_client::ModerationClient<Channel>,
    token: &str,
    comment_id: &str,
) -> Result<tonic::Response<pb::Decision>, tonic::Status> {
    client
        .get_decision(with_token(
            token,
            pb::GetDecisionRequest {
                site_id: NEWS_SITE.to_string(),
                comment_id: comment_id.to_string(),
                ..Default::default()
            },
        ))
        .await
}

/// The registry holds the two versions of [`Versions`] and no other, and
/// exactly one of them is active: the one the last acknowledged activation
/// named, or one named by an activation sent after it (in flight at a
/// kill, stored or not). With none acknowledged yet, the trained model,
/// which the first start with it configured made active, or one named by
/// an activation in flight at a kill.
///
/// Each activation names the version that was not active (see
/// [`activate_once`]), so a lost activation leaves the other version
/// active, which none of the allowed activations names: it shows.
async fn verify_active_model(
    channel: &Channel,
    token: &str,
    acknowledged: &Acknowledged,
    versions: &Versions,
    round: usize,
) {
    let mut client = pb::training_client::TrainingClient::new(channel.clone());
    let models = client
        .list_models(with_token(token, pb::ListModelsRequest {}))
        .await
        .unwrap_or_else(|status| panic!("round {round}: the models cannot be listed: {status}"))
        .into_inner()
        .models;
    if let [only] = models.as_slice() {
        assert!(
            only.active,
            "round {round}: the only registered version, {}, is not active",
            only.version
        );
    }
    let mut registered: Vec<&str> = models.iter().map(|model| model.version.as_str()).collect();
    registered.sort_unstable();
    let mut expected = vec![versions.built_in.as_str(), versions.trained.as_str()];
    expected.sort_unstable();
    assert_eq!(
        registered, expected,
        "round {round}: the registry must list the built-in and the trained versions, and \
         only those (of {models:?})"
    );
    let active_versions: Vec<&str> = models
        .iter()
        .filter(|model| model.active)
        .map(|model| model.version.as_str())
        .collect();
    let [active] = active_versions.as_slice() else {
        panic!(
            "round {round}: exactly one version must be active, but {active_versions:?} are \
             (of {models:?})"
        );
    };
    let activations = &acknowledged.activations;
    // With none acknowledged, every activation sent may be the last, and
    // `may_be_last` keeps them all.
    let mut possible: Vec<&str> = activations
        .iter()
        .filter(|activation| {
            activation
                .call
                .may_be_last(activations.iter().map(|other| other.call))
        })
        .map(|activation| activation.version.as_str())
        .collect();
    if !activations
        .iter()
        .any(|activation| activation.call.acknowledged)
    {
        possible.push(versions.trained.as_str());
    }
    assert!(
        possible.contains(active),
        "round {round}: version {active} is active, but the activations sent allow only \
         {possible:?} (of {activations:?})"
    );
}
