//! The decision writer: one thread stores the decisions of concurrent
//! checks, many to a transaction.
//!
//! Each check used to run its own sled transaction on the runtime thread
//! that carried its call. sled 0.34 runs transactions one at a time under a
//! global lock that plain writes wait on too, so with a few dozen checks in
//! flight most of a call's time went to waiting for that lock, and a runtime
//! thread blocked there stopped every other call it carried (the server
//! used six tenths of a core while its calls queued). Now a check encodes
//! its decision on its own thread, hands it to this writer and awaits the
//! answer without blocking. The writer takes whatever has arrived (up to
//! [`MAX_BATCH`]), stores it in one transaction, records the rules' state
//! for the new comments, flushes once, and then answers each check: one
//! transaction and one fsync per batch, and one hand-over each way per
//! check. While it flushes, the next batch gathers.
//!
//! The queue to the writer holds at most [`QUEUE_CAPACITY`] decisions; a
//! check waits (asynchronously) for room. It could not grow without bound
//! anyway: every check waits for its answer, and admission bounds the calls
//! in flight.

use std::thread::JoinHandle;

use tokio::sync::{mpsc, oneshot};

use super::decisions::{encode_for_insert, insert_encoded, DecisionTrees, Encoded, Inserted};
use super::group_commit::FlushFailure;
use super::rule_state::RuleStateTrees;
use super::{Store, StoreError};
use crate::domain::{Decision, ReviewStatus, UnixMillis};
use crate::rules::RecentComment;

/// Decisions stored in one transaction at most: enough to cover every call
/// the default admission limit lets in. A transaction holds its writes in
/// memory until it commits: typically 1 KB a decision once compressed, at
/// most about 130 KB (a 64 KiB comment and a 64 KiB post text that do not
/// compress), so 33 MB in the worst case.
pub const MAX_BATCH: usize = 256;

/// Decisions waiting for the writer at most.
pub const QUEUE_CAPACITY: usize = 1024;

/// A new decision, and what the stateful rules should remember of its
/// comment if it is stored (a comment decided before is not recorded again).
#[derive(Debug)]
pub struct DecisionWrite {
    pub decision: Decision,
    /// An entry for the site's recent comments, and the time before which
    /// the site's older entries may be pruned.
    pub recent: Option<(RecentComment, UnixMillis)>,
    /// The author's key, to count the comment in their history; `None` for
    /// an anonymous comment.
    pub author_key: Option<String>,
}

struct Job {
    write: DecisionWrite,
    encoded: Encoded,
    reply: Reply,
}

/// The trees the writer writes: handles of its own, so that the thread does
/// not keep the [`Store`] alive.
pub(super) struct WriterTrees {
    pub(super) disk: super::disk::Disk,
    pub(super) decisions: sled::Tree,
    pub(super) comments: sled::Tree,
    pub(super) queue: sled::Tree,
    pub(super) queue_counts: sled::Tree,
    pub(super) timeline: sled::Tree,
    pub(super) statistics: sled::Tree,
    pub(super) layout: super::index::Layout,
    pub(super) rule_state: RuleStateTrees,
    pub(super) flush_failure: FlushFailure,
    pub(super) counters: super::writer_figures::WriterCounters,
}

pub(super) struct Writer {
    /// Dropped first on shutdown, which ends the thread's loop.
    sender: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    pub(super) fn start(trees: WriterTrees) -> Result<Writer, StoreError> {
        let (sender, receiver) = job_queue();
        let thread = std::thread::Builder::new()
            .name("moderato-writer".to_string())
            .spawn(move || write_loop(&trees, receiver))
            .map_err(|error| StoreError::WriterStopped(error.to_string()))?;
        Ok(Writer {
            sender: Some(sender),
            thread: Some(thread),
        })
    }
}

impl Writer {
    /// Whether the thread still takes jobs (it ends when it panics, or
    /// when the store is dropped).
    pub(super) fn is_running(&self) -> bool {
        self.sender
            .as_ref()
            .is_some_and(|sender| !sender.is_closed())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.sender = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn stopped() -> StoreError {
    StoreError::WriterStopped("the writer thread has stopped".to_string())
}

impl Store {
    /// Stores a check's new decision unless one exists for its (site,
    /// comment), with its review index entries, in a transaction shared
    /// with the checks in flight; then records the comment for the rules.
    /// Returns once the decision (or the one stored before for the same
    /// comment) is on disk: the caller may acknowledge it.
    pub async fn write_decision(&self, write: DecisionWrite) -> Result<Inserted, StoreError> {
        let (inserted, _) = self.submit_decision(write).await?.durable().await?;
        Ok(inserted)
    }

    /// [`Store::write_decision`] in two steps: encodes the decision and
    /// hands it to the writer (waiting for room in its queue), and gives
    /// what to await for the answer. Between the two the caller does no
    /// work, and may give back what it held while it worked.
    pub async fn submit_decision(
        &self,
        write: DecisionWrite,
    ) -> Result<SubmittedWrite, StoreError> {
        let encoded = encode_for_insert(&write.decision)?;
        let (reply, answer) = oneshot::channel();
        let sender = self.inner.writer.sender.as_ref().ok_or_else(stopped)?;
        sender
            .send(Job {
                write,
                encoded,
                reply,
            })
            .await
            .map_err(|_| stopped())?;
        Ok(SubmittedWrite(answer))
    }
}

/// A decision handed to the writer, whose answer is awaited.
pub struct SubmittedWrite(oneshot::Receiver<Result<(Inserted, Decision), StoreError>>);

impl SubmittedWrite {
    /// Waits until the decision (or the one stored before for the same
    /// comment) is on disk; gives what the write came to and the decision
    /// that was handed over, so that the caller need not keep a copy.
    pub async fn durable(self) -> Result<(Inserted, Decision), StoreError> {
        self.0.await.map_err(|_| stopped())?
    }
}

type Reply = oneshot::Sender<Result<(Inserted, Decision), StoreError>>;

/// The queue to the writer: at most [`QUEUE_CAPACITY`] items wait in it.
fn job_queue<T>() -> (mpsc::Sender<T>, mpsc::Receiver<T>) {
    mpsc::channel(QUEUE_CAPACITY)
}

/// The next batch: `first`, then whatever else has already arrived, up to
/// [`MAX_BATCH`] items in all. Never waits for more.
fn gather_batch<T>(first: T, receiver: &mut mpsc::Receiver<T>, batch: &mut Vec<T>) {
    batch.push(first);
    take_arrived(receiver, batch);
}

fn take_arrived<T>(receiver: &mut mpsc::Receiver<T>, batch: &mut Vec<T>) {
    while batch.len() < MAX_BATCH {
        match receiver.try_recv() {
            Ok(item) => batch.push(item),
            Err(_) => break,
        }
    }
}

/// A batch smaller than this, but of more than one decision, is topped up
/// once after the writer gives up its core (see [`top_up_small_batch`]).
const SMALL_BATCH: usize = 32;

/// Gives up the core once (`yield_core`) and takes what arrived meanwhile,
/// when the batch holds more than one decision but fewer than
/// [`SMALL_BATCH`]. Each batch pays a transaction, a flush and an fsync
/// whatever its size. On a busy core the writer woke for each handful of
/// decisions (about 10 on average under streamed load), while the checks
/// that would hand it more were waiting for the same core: one yield lets
/// them run first. Measured: streams 11,476 -> 14,053 comments/s and unary
/// calls 9,058 -> 9,781 calls/s (medians of three alternated runs,
/// BENCHMARKS.md). A lone decision is stored at once, so a quiet service
/// answers as fast as before, and a yield with no other thread ready to run
/// returns at once. Yielding again while the batch grew did no better.
fn top_up_small_batch<T>(
    receiver: &mut mpsc::Receiver<T>,
    batch: &mut Vec<T>,
    yield_core: impl FnOnce(),
) {
    if batch.len() > 1 && batch.len() < SMALL_BATCH {
        yield_core();
        take_arrived(receiver, batch);
    }
}

fn write_loop(trees: &WriterTrees, mut receiver: mpsc::Receiver<Job>) {
    let _report = PanicReport;
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(job) = receiver.blocking_recv() {
        gather_batch(job, &mut receiver, &mut batch);
        top_up_small_batch(&mut receiver, &mut batch, std::thread::yield_now);
        // After a failed flush (here or in the group commit) no write is
        // acknowledged any more.
        if let Some(failure) = trees.flush_failure.get() {
            for job in batch.drain(..) {
                let _ = job
                    .reply
                    .send(Err(StoreError::FlushFailed(failure.clone())));
            }
            continue;
        }
        let round = std::time::Instant::now();
        let mut answers: Vec<Answer> = Vec::with_capacity(batch.len());
        store_batch(trees, std::mem::take(&mut batch), &mut answers);
        // One flush makes the whole batch durable before any of it is
        // answered: the writer is its own group commit.
        if let Err(error) = trees.disk.flush_for_writer() {
            tracing::error!(%error, "flushing the database failed; writes can no longer be acknowledged");
            trees.flush_failure.set(error.to_string());
        }
        let failure = trees.flush_failure.get();
        let stored = match failure {
            Some(_) => 0,
            None => answers
                .iter()
                .filter(|(_, answer, _)| answer.is_ok())
                .count(),
        };
        trees.counters.record_round(stored, round.elapsed());
        for (reply, answer, decision) in answers {
            let answer = match (&failure, answer) {
                (Some(failure), Ok(_)) => Err(StoreError::FlushFailed(failure.clone())),
                (_, answer) => answer.map(|inserted| (inserted, decision)),
            };
            // A caller that gave up (its call was cancelled) no longer
            // listens; its decision is stored all the same.
            let _ = reply.send(answer);
        }
    }
}

/// Logs a panic of the writer thread: every check after it fails with
/// `WriterStopped` (UNAVAILABLE), and the log says why.
struct PanicReport;

impl Drop for PanicReport {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!("the storage writer thread panicked; checks can no longer be stored");
        }
    }
}

/// A caller's reply, what the write came to, and the decision it handed
/// over (given back with a success, so that the caller keeps no copy).
type Answer = (Reply, Result<Inserted, StoreError>, Decision);

fn store_batch(trees: &WriterTrees, batch: Vec<Job>, answers: &mut Vec<Answer>) {
    let pairs: Vec<(&Decision, &Encoded)> = batch
        .iter()
        .map(|job| (&job.write.decision, &job.encoded))
        .collect();
    let decision_trees = DecisionTrees {
        layout: trees.layout,
        trees: (
            &trees.decisions,
            &trees.comments,
            &trees.queue,
            &trees.queue_counts,
            &trees.timeline,
            &trees.statistics,
        ),
    };
    match insert_encoded(decision_trees, &pairs) {
        Ok(results) => {
            let stored: Vec<&DecisionWrite> = batch
                .iter()
                .zip(&results)
                .filter(|(_, inserted)| matches!(inserted, Ok(Inserted::New)))
                .map(|(job, _)| &job.write)
                .collect();
            record_activity(&trees.rule_state, &stored);
            for (job, inserted) in batch.into_iter().zip(results) {
                answers.push((job.reply, inserted, job.write.decision));
            }
        }
        // Nothing of a failed transaction is stored. Each decision is tried
        // alone, so that each caller gets its own error and one bad
        // decision cannot fail the others.
        Err(_) if batch.len() > 1 => {
            for job in batch {
                store_batch(trees, vec![job], answers);
            }
        }
        Err(error) => {
            if let Some(job) = batch.into_iter().next() {
                answers.push((job.reply, Err(error), job.write.decision));
            }
        }
    }
}

/// Records a batch's newly stored comments where the stateful rules will
/// find them: each site's among its recent ones (one entry per site and
/// batch), and each in its author's history. The decisions are stored
/// already; failing their calls now would only make the sites retry into
/// the stored answers, and rule state is a heuristic, so a failure is
/// logged.
fn record_activity(rule_state: &RuleStateTrees, stored: &[&DecisionWrite]) {
    // Sites in the order their first comment came, each with its comments
    // and the latest time before which its entries may be pruned. A batch
    // holds a few sites at most, so a list serves.
    let mut sites: Vec<(&str, Vec<&RecentComment>, UnixMillis)> = Vec::new();
    for write in stored {
        let site_id = write.decision.comment.site_id.as_str();
        if let Some((recent, keep_since)) = &write.recent {
            match sites.iter_mut().find(|(site, ..)| *site == site_id) {
                Some((_, comments, latest)) => {
                    comments.push(recent);
                    *latest = (*latest).max(*keep_since);
                }
                None => sites.push((site_id, vec![recent], *keep_since)),
            }
        }
        if let Some(author_key) = &write.author_key {
            let approved = write.decision.status == ReviewStatus::Approved;
            if let Err(error) = rule_state.record_author_comment(site_id, author_key, approved) {
                tracing::warn!(%error, "cannot count the comment in its author's history");
            }
        }
    }
    for (site_id, comments, keep_since) in sites {
        if let Err(error) = rule_state.record_recent_comments(site_id, &comments, keep_since) {
            tracing::warn!(%error, "cannot record comments among the site's recent ones");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::decisions::tests::decision;
    use super::*;

    fn write(decision_id: &str, comment_id: &str) -> DecisionWrite {
        let decision = decision(decision_id, "news", comment_id);
        let recent = RecentComment {
            at: UnixMillis(5_000),
            comment_id: comment_id.to_string(),
            author_key: "email:a@x".to_string().into(),
            ip: None,
            fingerprint: None,
        };
        DecisionWrite {
            decision,
            recent: Some((recent, UnixMillis(0))),
            author_key: Some("email:a@x".to_string()),
        }
    }

    #[test]
    fn a_batch_takes_what_has_arrived_up_to_its_limit() {
        let (sender, mut receiver) = job_queue::<usize>();
        for item in 1..=MAX_BATCH + 43 {
            sender.try_send(item).unwrap();
        }
        let mut batch = Vec::new();
        gather_batch(0, &mut receiver, &mut batch);
        assert_eq!(batch, (0..MAX_BATCH).collect::<Vec<_>>());
        batch.clear();
        gather_batch(1000, &mut receiver, &mut batch);
        // The first item, then the 44 left: it does not wait for more.
        assert_eq!(batch.len(), 45);
        assert_eq!(batch[0], 1000);
        assert_eq!(batch[44], MAX_BATCH + 43);
    }

    #[test]
    fn a_small_batch_is_topped_up_once_after_a_yield_and_a_lone_decision_goes_at_once() {
        let (sender, mut receiver) = job_queue::<usize>();
        let yields = std::cell::Cell::new(0);
        // The writer gives up its core, and the checks hand over `items`.
        let hand_over = |items: std::ops::Range<usize>| {
            let (sender, yields) = (sender.clone(), &yields);
            move || {
                yields.set(yields.get() + 1);
                for item in items {
                    sender.try_send(item).unwrap();
                }
            }
        };
        let mut lone = vec![0];
        top_up_small_batch(&mut receiver, &mut lone, hand_over(1..3));
        assert_eq!(
            (lone, yields.get()),
            (vec![0], 0),
            "a lone decision goes at once"
        );
        let mut small = vec![10, 11];
        top_up_small_batch(&mut receiver, &mut small, hand_over(3..5));
        assert_eq!((small, yields.get()), (vec![10, 11, 3, 4], 1));
        let mut full: Vec<usize> = (0..SMALL_BATCH).collect();
        top_up_small_batch(&mut receiver, &mut full, hand_over(5..6));
        assert_eq!(full.len(), SMALL_BATCH);
        assert_eq!(yields.get(), 1, "a batch of its size goes at once");
    }

    #[tokio::test]
    async fn the_queue_to_the_writer_holds_its_capacity_then_makes_senders_wait() {
        let (sender, mut receiver) = job_queue::<usize>();
        for item in 0..QUEUE_CAPACITY {
            sender.try_send(item).unwrap();
        }
        assert!(matches!(
            sender.try_send(QUEUE_CAPACITY),
            Err(mpsc::error::TrySendError::Full(_))
        ));
        // A sender waits for room, and gets in once the writer takes one.
        let waiting = tokio::spawn({
            let sender = sender.clone();
            async move { sender.send(QUEUE_CAPACITY).await }
        });
        for _ in 0..5 {
            tokio::task::yield_now().await;
        }
        assert!(!waiting.is_finished());
        assert_eq!(receiver.recv().await, Some(0));
        waiting.await.unwrap().unwrap();
        assert_eq!(receiver.len(), QUEUE_CAPACITY);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_checks_store_each_comment_once_and_record_it_once() {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = Store::open(directory.path()).unwrap();
            // 100 comments, each sent by three calls at once (300 writes,
            // more than one batch holds): one of them
            // stores it, the other two get that decision back.
            let mut tasks = Vec::new();
            for copy in 0..3 {
                for comment in 0..100 {
                    let store = store.clone();
                    tasks.push(tokio::spawn(async move {
                        let id = format!("d{comment}-{copy}");
                        let inserted = store
                            .write_decision(write(&id, &format!("c{comment}")))
                            .await
                            .unwrap();
                        store.durable().await.unwrap();
                        (comment, id, inserted)
                    }));
                }
            }
            let mut stored_ids = std::collections::HashMap::new();
            let mut new_count = 0;
            let mut answers = Vec::new();
            for task in tasks {
                let (comment, id, inserted) = task.await.unwrap();
                match inserted {
                    Inserted::New => {
                        new_count += 1;
                        assert!(stored_ids.insert(comment, id).is_none());
                    }
                    Inserted::Existing(existing) => answers.push((comment, existing)),
                }
            }
            assert_eq!(new_count, 100);
            for (comment, existing) in answers {
                assert_eq!(existing.decision_id, stored_ids[&comment]);
            }
            assert_eq!(store.decision_count(), 100);
        }
        // Reopened: the decisions and the rules' state are on disk, each
        // comment counted once.
        let store = Store::reopen(directory.path()).unwrap();
        assert_eq!(store.decision_count(), 100);
        assert_eq!(
            store.author_history("news", "email:a@x").unwrap().comments,
            100
        );
        assert_eq!(
            store
                .recent_comments("news", UnixMillis(0), 1_000)
                .unwrap()
                .len(),
            100
        );
    }

    #[tokio::test]
    async fn a_store_dropped_with_its_writer_idle_shuts_down() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        store.write_decision(write("d1", "c1")).await.unwrap();
        store.durable().await.unwrap();
        drop(store);
        // The writer thread has let go of the database: it opens again.
        let store = Store::reopen(directory.path()).unwrap();
        assert!(store.decision("d1").unwrap().is_some());
    }

    #[tokio::test]
    async fn after_a_failed_flush_neither_the_writer_nor_the_group_commit_acknowledges() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        store.write_decision(write("d1", "c1")).await.unwrap();
        // As if the writer's flush had failed: the failure is shared.
        store.inner.commit.failure().set("disk gone".to_string());
        store
            .inner
            .commit
            .failure()
            .set("a later failure".to_string());
        match store.write_decision(write("d2", "c2")).await {
            Err(StoreError::FlushFailed(message)) => assert_eq!(message, "disk gone"),
            other => panic!("a write was acknowledged after a failed flush: {other:?}"),
        }
        assert!(matches!(
            store.durable().await,
            Err(StoreError::FlushFailed(_))
        ));
    }
}
