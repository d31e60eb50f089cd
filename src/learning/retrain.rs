//! Retraining jobs: build a candidate off the request path, measure it and
//! the active model on the same held-out data, and promote it only if the
//! gate agrees. Jobs run one at a time on a thread of their own at the
//! lowest CPU priority; scoring goes on meanwhile with the model in force
//! (swapped atomically at the end).
//!
//! The candidate trains on the corrections made up to the job's start,
//! except the newest `evaluation_fraction`, which are held out (one example
//! per comment: its latest label). A full retrain adds them to the base
//! corpus, so a mistaken correction is undone there by correcting it
//! again; an incremental one adds those made since the active version's
//! training to that version, which keeps what it learned of the earlier
//! label (in its file, or online: its online examples of both labels are
//! replayed), until a full retrain. The evaluation data is the base corpus's evaluation slice
//! and the held-out corrections. The candidate trains on the base slice
//! too, as the shipped model did, so neither model has an advantage there.
//! When a candidate is promoted, the corrections it did not train on (the
//! held-out ones and those made while it trained) are learned onto it as
//! online learning would learn them: with `learning.online` on, and through
//! the same guard. Otherwise they stay stored for the next retrain, and the
//! candidate's record lists them, so that an incremental retrain of it
//! trains on them even though they are older than its `trained_through`.
//!
//! A promotion is flushed before the candidate serves, and a job's end is
//! flushed before the job is reported finished; a flush that fails fails
//! the job (and a promotion it was part of does not happen).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::records::CorrectionKey;
use super::registry::{load_registered, replay_online_examples};
use super::{decide, measure, ModelRecord, RetrainJob, SliceFigures};
use crate::classifier::{
    distinct_examples, first_reading_the_same, FeatureParams, LabelledExample, Model,
    TrainingParams,
};
use crate::domain::{Label, UnixMillis};
use crate::engine::Engine;
use crate::error::Error;
use crate::learning::JobState;
use crate::review::Correction;

/// The name of retrained models' versions.
const RETRAINED_NAME: &str = "retrained";

impl Engine {
    /// The stored corrections that teach the model: every person's label
    /// but, with `learning.learn_from_site_reports` off, sites' reports.
    fn teaching_corrections(&self) -> Result<Vec<Correction>, Error> {
        let settings = self.learning().settings();
        let mut corrections = Vec::new();
        for correction in self.store().corrections() {
            let correction = correction?;
            if settings.teaches(&correction) {
                corrections.push(correction);
            }
        }
        Ok(corrections)
    }

    /// The registered version that is the same model as `candidate` (a
    /// version of the same numbers, under whatever name: a retrain that
    /// changes nothing gives the active model back as `retrained-<hash>`).
    /// A version learned online (`+N`) holds other numbers than its hash
    /// says, so only the version itself matches it.
    fn registered_twin(&self, candidate: &str) -> Result<Option<String>, Error> {
        if self.store().model_record(candidate)?.is_some() {
            return Ok(Some(candidate.to_string()));
        }
        let Some(hash) = Model::content_hash_of(candidate) else {
            return Ok(None);
        };
        Ok(self
            .store()
            .model_records()?
            .into_iter()
            .map(|record| record.version)
            .find(|version| {
                !version.contains('+') && Model::content_hash_of(version) == Some(hash)
            }))
    }

    /// Queues a retrain and starts it on a blocking thread. One job runs at
    /// a time.
    pub fn start_retrain(self: &Arc<Self>, full: bool, dry_run: bool) -> Result<RetrainJob, Error> {
        // Held until the job's thread is listed: a stop that begins
        // meanwhile (`begin_stop` takes this lock) either is seen here and
        // no job starts, or finds the thread listed and waits for it.
        let mut workers = self.learning().workers();
        if self.learning().stopping.load(Ordering::Relaxed) {
            return Err(Error::Unavailable(
                "the service is stopping; start the retrain after it restarts".to_string(),
            ));
        }
        // Without a base corpus a full retrain would train on the
        // corrections alone: a model that knows a handful of comments would
        // replace one trained on thousands, judged by a gate that then has
        // only the held-out corrections to go on.
        if full && self.learning().base.examples.is_empty() {
            return Err(Error::FailedPrecondition(
                "a full retrain rebuilds the model from learning.base_data and the corrections, \
                 and no learning.base_data is configured: the new model would know only the \
                 moderators' corrections, not what the active model was trained on; configure \
                 learning.base_data, or retrain without `full` to add the corrections to the \
                 active model"
                    .to_string(),
            ));
        }
        let job = {
            let mut jobs = self.learning().jobs();
            if let Some(running) = jobs.values().find(|job| !job.state.is_finished()) {
                let state = match running.state {
                    JobState::Queued => "queued",
                    JobState::Running | JobState::Succeeded | JobState::Failed => "running",
                };
                return Err(Error::FailedPrecondition(format!(
                    "retrain job {id} is still {state}; follow it with GetRetrainJob \
                     (`moderato retrain --job {id}`)",
                    id = running.job_id
                )));
            }
            let job = RetrainJob::queued(
                uuid::Uuid::now_v7().to_string(),
                full,
                dry_run,
                UnixMillis::now(),
            );
            // Stored before it is listed, so that a job the store refused
            // never blocks the next one.
            self.store().save_job(&job)?;
            // Finished jobs are answered from the store (as far as it keeps
            // them): the memory holds this run's jobs only until the next
            // one starts, not every job of a long run.
            jobs.retain(|_, job| !job.state.is_finished());
            jobs.insert(job.job_id.clone(), job.clone());
            job
        };
        let engine = Arc::clone(self);
        let job_id = job.job_id.clone();
        // A thread of its own rather than the blocking pool, so that it can
        // run at the lowest CPU priority without lowering the priority of
        // pool threads that later serve requests.
        let spawned = std::thread::Builder::new()
            .name("retrain".to_string())
            .spawn(move || {
                lower_this_threads_priority();
                engine.run_job(&job_id);
                // Corrections that came while this job ran may have asked
                // for a retrain that could not start then.
                engine.after_corrections();
            });
        match spawned {
            Ok(handle) => {
                workers.retain(|worker| !worker.is_finished());
                workers.push(handle);
                // The job reads every correction there is: the schedule
                // counts from here. A dry run changes no model, so the
                // labels it read still count.
                if !dry_run {
                    self.learning().new_corrections.clear();
                }
            }
            Err(error) => {
                self.update_job(&job.job_id, |job| {
                    job.state = JobState::Failed;
                    job.message = format!("cannot start the training thread: {error}");
                });
                return Err(Error::Internal(format!(
                    "cannot start the training thread: {error}"
                )));
            }
        }
        tracing::info!(job_id = %job.job_id, full, dry_run, "retrain job queued");
        Ok(job)
    }

    /// `StartRetrain`: [`Engine::start_retrain`], answered once the queued
    /// job is on disk, so that a job id the caller was given is found
    /// after a crash (as interrupted, if it did not finish).
    pub async fn request_retrain(
        self: &Arc<Self>,
        full: bool,
        dry_run: bool,
    ) -> Result<RetrainJob, Error> {
        let job = self.start_retrain(full, dry_run)?;
        self.store().durable().await?;
        Ok(job)
    }

    /// Waits until every retraining thread has ended (a running job
    /// finishes first), so that none holds the store after the service
    /// stopped. Blocks: call it off the async runtime.
    ///
    /// Waits until `until` at most, and tells whether every thread ended:
    /// a full retrain on a large corpus can take minutes, longer than a
    /// stop may. One still running when the process ends is reported as
    /// interrupted at the next start; nothing it stored is damaged (sled
    /// recovers from a stop at any point, as from a crash). No retrain
    /// starts once this was called.
    pub fn wait_for_retraining(&self, until: std::time::Instant) -> bool {
        self.begin_stop();
        let mut workers = self.learning().workers();
        loop {
            workers.retain(|worker| !worker.is_finished());
            if workers.is_empty() {
                return true;
            }
            if std::time::Instant::now() >= until {
                return false;
            }
            // Polled rather than joined, so that the wait can end at
            // `until`; a finished thread is reaped by `retain` (its panic,
            // if any, was turned into a failed job by `run_job`).
            drop(workers);
            std::thread::sleep(std::time::Duration::from_millis(20));
            workers = self.learning().workers();
        }
    }

    /// From now on no retrain starts (the service is stopping): called when
    /// the stop signal comes, so that none starts in the stop's grace
    /// period either.
    pub fn begin_stop(&self) {
        let _workers = self.learning().workers();
        self.learning().stopping.store(true, Ordering::Relaxed);
    }

    /// Whether the service is stopping ([`Engine::begin_stop`] was
    /// called): background work starts nothing new.
    pub fn is_stopping(&self) -> bool {
        self.learning().stopping.load(Ordering::Relaxed)
    }

    /// A job of this run or a stored one.
    pub fn retrain_job(&self, job_id: &str) -> Result<RetrainJob, Error> {
        if let Some(job) = self.learning().jobs().get(job_id) {
            return Ok(job.clone());
        }
        self.store()
            .job(job_id)?
            .ok_or_else(|| Error::NotFound(format!("no retrain job with id {job_id:?}")))
    }

    /// Stored jobs by outcome, for the metrics.
    pub fn retrain_job_outcomes(&self) -> Result<Vec<(&'static str, u64)>, Error> {
        let mut counts = [0u64; 4];
        for job in self.store().jobs()? {
            let slot = match (job.state, job.promoted) {
                (JobState::Succeeded, true) => 0,
                (JobState::Succeeded, false) => 1,
                (JobState::Failed, _) => 2,
                (JobState::Queued | JobState::Running, _) => 3,
            };
            counts[slot] += 1;
        }
        Ok(["promoted", "not_promoted", "failed", "running"]
            .into_iter()
            .zip(counts)
            .collect())
    }

    /// Starts the scheduled retrain when enough corrections came in.
    pub(super) fn after_corrections(self: &Arc<Self>) {
        let Some(every) = self.learning().settings().retrain_every_corrections() else {
            return;
        };
        let pending = self.learning().new_corrections.count();
        if pending >= every {
            self.start_scheduled_retrain("enough new corrections");
        }
    }

    /// A scheduled retrain is full when there is a base corpus to rebuild
    /// from, else incremental (see [`Engine::start_retrain`]).
    fn start_scheduled_retrain(self: &Arc<Self>, why: &str) {
        let full = !self.learning().base.examples.is_empty();
        match self.start_retrain(full, false) {
            Ok(job) => tracing::info!(job_id = %job.job_id, why, "scheduled retrain started"),
            Err(error) => tracing::info!(%error, why, "scheduled retrain not started"),
        }
    }

    /// Applies `change` to the job in memory, and in the store when it
    /// starts or finishes.
    fn update_job(&self, job_id: &str, change: impl FnOnce(&mut RetrainJob)) {
        self.change_job(job_id, change, false)
    }

    /// Applies `change` to the job, in memory and, when `save` is set or
    /// the job starts or finishes, in the store.
    fn change_job(&self, job_id: &str, change: impl FnOnce(&mut RetrainJob), save: bool) {
        let job = {
            let mut jobs = self.learning().jobs();
            let Some(job) = jobs.get_mut(job_id) else {
                return;
            };
            change(job);
            job.clone()
        };
        if save || job.state.is_finished() || job.state == JobState::Running && job.progress == 0.0
        {
            if let Err(error) = self.store().save_job(&job) {
                tracing::error!(%error, job_id, "cannot store the retrain job's state");
            }
        }
    }

    fn run_job(&self, job_id: &str) {
        let (full, dry_run) = {
            let jobs = self.learning().jobs();
            match jobs.get(job_id) {
                Some(job) => (job.full, job.dry_run),
                None => return,
            }
        };
        self.update_job(job_id, |job| job.state = JobState::Running);
        // A panic in training must end the job, or it would block every
        // later one; the model in force is untouched until promotion.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.retrain(job_id, full, dry_run)
        }))
        .unwrap_or_else(|_| Err(Error::Internal("the training thread panicked".to_string())));
        self.finish_job(job_id, result);
    }

    /// Ends the job with `result`: stores its end and flushes it before
    /// the job is reported finished, so that a job reported finished is
    /// found so after a crash. A job whose end cannot be made durable is
    /// reported failed, with why, unless it promoted: its promotion was
    /// flushed before the candidate served, so it stays succeeded and
    /// promoted, with the same warning in its message.
    fn finish_job(&self, job_id: &str, result: Result<String, Error>) {
        let Some(mut job) = self.learning().jobs().get(job_id).cloned() else {
            return;
        };
        job.finished_at = Some(UnixMillis::now());
        job.progress = 1.0;
        match result {
            Ok(message) => {
                job.state = JobState::Succeeded;
                job.message = message;
            }
            Err(error) => {
                job.state = JobState::Failed;
                job.message = error.to_string();
            }
        }
        let durable = self
            .store()
            .save_job(&job)
            .and_then(|()| self.store().durable_blocking());
        if let Err(error) = durable {
            tracing::error!(%error, job_id, "cannot make the retrain's result durable");
            // A job that promoted did what it set out to: its promotion was
            // flushed before the candidate served, and it serves. Only the
            // job's own end may be lost, which the message says.
            if !job.promoted {
                job.state = JobState::Failed;
            }
            job.message = format!(
                "the job's result cannot be made durable ({error}); it was: {}",
                job.message
            );
            // Stored still (sled may yet write it), for what it is worth.
            if let Err(error) = self.store().save_job(&job) {
                tracing::error!(%error, job_id, "cannot store the retrain job's state");
            }
        }
        // The oldest finished jobs go, so that a frequent schedule does not
        // keep every job ever run (see `limits::KEPT_RETRAIN_JOBS`).
        if let Err(error) = self.store().prune_jobs(crate::limits::KEPT_RETRAIN_JOBS) {
            tracing::warn!(%error, "cannot delete old retraining jobs");
        }
        // Reported only now: until here the job is running, and no other
        // one starts.
        let state = job.state;
        self.learning().jobs().insert(job_id.to_string(), job);
        tracing::info!(job_id, ?state, "retrain job finished");
    }

    /// Builds, measures and (gate willing) promotes a candidate; gives the
    /// job's message.
    fn retrain(&self, job_id: &str, full: bool, dry_run: bool) -> Result<String, Error> {
        let learning = self.learning();
        let settings = learning.settings();
        let started = UnixMillis::now();

        // The yardstick is the active version as registered, without what
        // it learned online: the live model may have learned the very
        // corrections held out here, and a poisoned live model must not
        // vouch for a poisoned candidate.
        let version = self.model().trained_version().to_string();
        let record = self.store().model_record(&version)?.ok_or_else(|| {
            Error::NotFound(format!("the active version {version} is not registered"))
        })?;
        let active = load_registered(self.store(), &version)?;

        // What the live model learned online, read before the corrections:
        // a label stored and learned between the two reads is then in the
        // corrections read, and counts as contained, not as new after the
        // job (which would learn it again at promotion).
        let mut online = if full {
            Vec::new()
        } else {
            self.store().online_examples(&version)?
        };
        // What sites' reports taught online is left out once they stop
        // teaching, as at a start (`registry::replay_online`).
        if !settings.learn_from_site_reports() {
            let mut taught = Vec::with_capacity(online.len());
            for example in online {
                if !super::registry::given_by_a_site(self.store(), &example)? {
                    taught.push(example);
                }
            }
            online = taught;
        }
        let mut corrections = self.teaching_corrections()?;
        corrections.sort_by_key(|correction| correction.at);
        let trained_through = trained_through(started, UnixMillis::now(), &corrections);
        // A label changed after this read is a correction the candidate
        // cannot contain, even for a decision whose earlier label it does.
        let read: HashSet<CorrectionKey> = corrections.iter().map(CorrectionKey::of).collect();
        let held_out_count = (corrections.len() as f64 * settings.evaluation_fraction()) as usize;
        // An incremental candidate starts from the active version's file,
        // so the corrections that file was trained on (`in_file`) are in it
        // whatever this job holds out: held out, they would be learned a
        // second time at promotion, and judge a model that knows them. The
        // held-out share is therefore the newest of the others. (Usually
        // the newest corrections are those anyway; not once the newest
        // ones were forgotten, or the share was raised.)
        let (in_file, mut corrections) = if full {
            (Vec::new(), corrections)
        } else {
            // Of the corrections before the version's training, those it
            // learned online (its own job held them out, and its promotion
            // learned them) are not in its file: the candidate leaves them
            // out when it replays what was learned online, so they may be
            // held out like the newer ones.
            let (older, newer) = trained_or_not(&record, corrections);
            let (learned_online, in_file) = learned_or_new(older, &online);
            let mut eligible: Vec<Correction> = learned_online.into_iter().chain(newer).collect();
            eligible.sort_by_key(|correction| correction.at);
            (in_file, eligible)
        };
        let held_out = newest_held_out(&mut corrections, held_out_count, &record);
        let held_out_examples: Vec<LabelledExample> = held_out
            .iter()
            .map(|correction| self.correction_example(correction))
            .collect();
        self.update_job(job_id, |job| job.progress = 0.1);

        // The candidate, the decisions it knows a label of, and the
        // corrections (as read) it holds.
        let (candidate, contained, in_candidate): (Model, HashSet<String>, HashSet<CorrectionKey>) =
            if full {
                let candidate = self.train_full(job_id, &active, &corrections)?;
                let in_candidate = corrections.iter().map(CorrectionKey::of).collect();
                let contained = corrections.into_iter().map(|c| c.decision_id).collect();
                (candidate, contained, in_candidate)
            } else {
                // The live model: the version and what it learned online (the
                // corrections it trained on, and those its own job held out),
                // except what this job holds out: the gate must judge the
                // candidate on corrections it did not learn. The promotion
                // learns those afterwards, or leaves them for the next
                // retrain (they are not `contained`).
                let held_out_ids: HashSet<&str> = held_out
                    .iter()
                    .map(|correction| correction.decision_id.as_str())
                    .collect();
                online.retain(|example| !held_out_ids.contains(example.decision_id.as_str()));
                let mut contained: HashSet<String> = online
                    .iter()
                    .map(|example| example.decision_id.clone())
                    .collect();
                let (learned, new) = learned_or_new(corrections, &online);
                let in_candidate: HashSet<CorrectionKey> = in_file
                    .iter()
                    .chain(&learned)
                    .chain(&new)
                    .map(CorrectionKey::of)
                    .collect();
                contained.extend(in_file.into_iter().map(|c| c.decision_id));
                contained.extend(learned.into_iter().map(|c| c.decision_id));
                let examples: Vec<LabelledExample> = new
                    .iter()
                    .map(|correction| self.correction_example(correction))
                    .collect();
                let live = replay_online_examples(active.clone(), &online)?;
                self.update_job(job_id, |job| {
                    job.examples = live.summary().examples + examples.len() as u64
                });
                let candidate = live
                    .learn(&examples, settings.correction_weight())?
                    .as_new_version(RETRAINED_NAME)?;
                contained.extend(new.into_iter().map(|c| c.decision_id));
                (candidate, contained, in_candidate)
            };
        self.update_job(job_id, |job| {
            job.progress = 0.85;
            job.candidate_version = candidate.version().to_string();
        });

        let slice = |examples: &[LabelledExample]| {
            (!examples.is_empty()).then(|| SliceFigures {
                active: measure(&active, examples),
                candidate: measure(&candidate, examples),
            })
        };
        let base_figures = slice(&learning.base.evaluation);
        let correction_figures = slice(&held_out_examples);
        let all: Vec<LabelledExample> = learning
            .base
            .evaluation
            .iter()
            .chain(&held_out_examples)
            .cloned()
            .collect();
        let (active_all, candidate_all) = if all.is_empty() {
            (None, None)
        } else {
            (
                Some(measure(&active, &all).metrics),
                Some(measure(&candidate, &all).metrics),
            )
        };
        let reference = learning.lineage().reference.clone();
        let gate = decide(
            base_figures.as_ref(),
            reference.as_ref(),
            correction_figures.as_ref(),
            settings.tolerance(),
        );
        self.update_job(job_id, |job| {
            job.active_version = version.clone();
            job.active_metrics = active_all.clone();
            job.candidate_metrics = candidate_all.clone();
        });
        // A dry run's refusals say it was one, then what the real run
        // would have said.
        let dry_run_mark = if dry_run { "dry run; " } else { "" };
        if !gate.promote {
            return Ok(format!("{dry_run_mark}{}", gate.reason));
        }
        // Before a dry run's answer, so that it says what a real run would:
        // the check only reads the registry.
        if let Some(twin) = self.registered_twin(candidate.version())? {
            let renamed = if twin == candidate.version() {
                String::new()
            } else {
                format!(" (the same numbers, named {})", candidate.version())
            };
            return Ok(format!(
                "{dry_run_mark}not promoted: the candidate is the same model as the registered \
                 version {twin}{renamed}"
            ));
        }
        if dry_run {
            return Ok(format!(
                "dry run, so not promoted; it would have been {}",
                gate.reason
            ));
        }
        let mut lineage = learning.lineage();
        // An operator may have activated another version while this job
        // trained; the candidate was measured against the one before.
        if self.model().trained_version() != version {
            return Ok(format!(
                "not promoted: the active version changed from {version} to {} while the job ran",
                self.model().trained_version()
            ));
        }
        let untrained = untrained_corrections(self.teaching_corrections()?, &contained, &read);
        let new_record = ModelRecord {
            version: candidate.version().to_string(),
            created_at: candidate.created_at(),
            origin: RetrainJob::candidate_origin(job_id),
            summary: candidate.summary().clone(),
            metrics: candidate_all,
            trained_through: Some(trained_through),
            // Filled by the promotion, which decides what it learns.
            not_learned: Vec::new(),
        };
        // Stored before the switch: if the service stops between the two,
        // the next start can tell from the active version whether this job
        // promoted its candidate (see `Store::fail_interrupted_jobs`).
        self.change_job(job_id, |job| job.progress = 0.95, true);
        self.promote(
            candidate,
            new_record,
            &untrained,
            in_candidate,
            &mut lineage,
        )?;
        // Only now, with the promotion durable (`promote` flushed it before
        // the candidate served), and stored before the change lock goes: an
        // activation waiting for it may make another version active, and a
        // crash after that must not find a job whose candidate is not the
        // active version and take it for one that never served (see
        // `Store::fail_interrupted_jobs`, which removes such a candidate).
        self.change_job(job_id, |job| job.promoted = true, true);
        if let Err(error) = self.store().durable_blocking() {
            tracing::error!(%error, job_id, "cannot make the retrain job's promotion durable");
        }
        drop(lineage);
        Ok(gate.reason)
    }

    /// Trains a candidate from the base corpus and `corrections`, with the
    /// active model's parameters.
    fn train_full(
        &self,
        job_id: &str,
        active: &Model,
        corrections: &[Correction],
    ) -> Result<Model, Error> {
        let learning = self.learning();
        // A correction counts as `correction_weight` examples (rounded:
        // training takes whole examples).
        let copies = learning.settings().correction_weight().round().max(1.0) as usize;
        let params = TrainingParams {
            name: RETRAINED_NAME.to_string(),
            ..active.training_params()
        }
        .check()?;
        let (examples, origins) = with_copies(
            &params.params().features,
            &learning.base.examples,
            corrections,
            copies,
            &|correction| self.correction_example(correction),
        );
        let labels_present = examples.iter().any(|e| e.label.is_spam())
            && examples.iter().any(|e| !e.label.is_spam());
        if !labels_present {
            return Err(Error::FailedPrecondition(
                "a full retrain needs a base corpus (learning.base_data) or corrections of \
                 both labels"
                    .to_string(),
            ));
        }
        let mut sources = learning.base.sources.clone();
        sources.push(format!("{} corrections", corrections.len()));
        let stages = params.params().folds as f64 + 3.0;
        let mut stage = 0.0;
        let model = params.train_with_copies(&examples, &origins, sources, &mut |_| {
            stage += 1.0;
            let progress = 0.1 + 0.7 * (stage / stages).min(1.0);
            self.update_job(job_id, |job| job.progress = progress);
        })?;
        self.update_job(job_id, |job| job.examples = examples.len() as u64);
        Ok(model)
    }
}

/// The time a candidate is trained through: the job's start, or the newest
/// correction the job read if that came later (a label given between the
/// start and the read). Such a label is in the candidate, or held out and
/// then learned at promotion; with the start as the mark, the next
/// incremental retrain would take it for new and learn it a second time.
/// Never later than `read_at`, when the read ended: a correction dated in
/// the future (a clock that ran ahead) must not mark every correction made
/// until then as trained.
fn trained_through(started: UnixMillis, read_at: UnixMillis, read: &[Correction]) -> UnixMillis {
    read.iter()
        .map(|correction| correction.at.min(read_at))
        .fold(started, UnixMillis::max)
}

/// Takes the held-out corrections out of `corrections` (sorted oldest
/// first): the newest `count` of them, leaving out those the version's
/// promotion did not learn (`not_learned`: held out by its job, or made
/// while the job trained). Those stayed stored for the next retrain, to be
/// trained on: holding them out again would keep them out of every model
/// (with `learning.online` off, an incremental retrain with no newer
/// corrections then built the active model again and was refused as a
/// twin of it). Labels made while the job trained were not held out by
/// it; they are trained on here without being held out once, like the
/// others the promotion left.
fn newest_held_out(
    corrections: &mut Vec<Correction>,
    count: usize,
    record: &ModelRecord,
) -> Vec<Correction> {
    let left_for_this_job: HashSet<&str> = record.not_learned.iter().map(String::as_str).collect();
    let mut held_out = Vec::new();
    let mut index = corrections.len();
    while index > 0 && held_out.len() < count {
        index -= 1;
        if !left_for_this_job.contains(corrections[index].decision_id.as_str()) {
            held_out.push(corrections.remove(index));
        }
    }
    held_out.reverse();
    held_out
}

/// `corrections` split into those the version `record` describes was
/// trained on, and the others. A version trained through a time holds the
/// corrections made up to it, except those its job held out and its
/// promotion did not learn; a version from a model file (`None`) holds
/// none, however old they are: a file is trained on labelled files, not on
/// this service's corrections.
fn trained_or_not(
    record: &ModelRecord,
    corrections: Vec<Correction>,
) -> (Vec<Correction>, Vec<Correction>) {
    let not_learned: HashSet<&str> = record.not_learned.iter().map(String::as_str).collect();
    corrections.into_iter().partition(|correction| {
        record
            .trained_through
            .is_some_and(|since| correction.at <= since)
            && !not_learned.contains(correction.decision_id.as_str())
    })
}

/// The training examples of a full retrain: the base corpus, each example
/// once as `moderato train` counts it ([`distinct_examples`], whatever the
/// active model was trained with: a model file does not record it), then
/// each correction `copies` times, even one that repeats a base example or
/// another correction (a moderator's label is deliberate); and the origin
/// of each example, which every example the model reads the same shares (a
/// correction's copies, and corrections that repeat each other or a base
/// example), so that training keeps them in one cross-validation fold (see
/// `ValidTrainingParams::train_with_copies`).
fn with_copies(
    features: &FeatureParams,
    base: &[LabelledExample],
    corrections: &[Correction],
    copies: usize,
    example_of_correction: &dyn Fn(&Correction) -> LabelledExample,
) -> (Vec<LabelledExample>, Vec<usize>) {
    let mut examples = distinct_examples(features, base);
    for correction in corrections {
        examples.extend(std::iter::repeat_n(
            example_of_correction(correction),
            copies,
        ));
    }
    let origins = first_reading_the_same(features, &examples);
    (examples, origins)
}

/// The corrections made since a version was trained, split into those its
/// live model learned online and those it did not: a correction is learned
/// when online learning learned that very label (its decision and time).
/// Labels of one decision given in quick succession can be learned in
/// either order, so the last one learned need not be the one in force. A
/// relabel whose online learning has not run yet is new. Examples recorded
/// before their label's time was kept count by their decision's last
/// label learned.
fn learned_or_new(
    newer: Vec<Correction>,
    online: &[super::OnlineExample],
) -> (Vec<Correction>, Vec<Correction>) {
    let mut learned: HashSet<(&str, UnixMillis)> = HashSet::new();
    let mut last_unstamped_label: HashMap<&str, Label> = HashMap::new();
    for example in online {
        match example.labelled_at {
            Some(at) => {
                learned.insert((example.decision_id.as_str(), at));
            }
            None => {
                last_unstamped_label.insert(example.decision_id.as_str(), example.label);
            }
        }
    }
    newer.into_iter().partition(|correction| {
        let id = correction.decision_id.as_str();
        learned.contains(&(id, correction.at))
            || last_unstamped_label.get(id) == Some(&correction.label)
    })
}

/// The corrections stored now that a candidate does not contain, oldest
/// first: those of decisions it knows nothing of, and those labelled again
/// since its job read the corrections (`read`), for a decision it has the
/// earlier label of.
fn untrained_corrections(
    mut corrections: Vec<Correction>,
    contained: &HashSet<String>,
    read: &HashSet<CorrectionKey>,
) -> Vec<Correction> {
    corrections.retain(|correction| {
        !contained.contains(&correction.decision_id)
            || !read.contains(&CorrectionKey::of(correction))
    });
    corrections.sort_by_key(|correction| correction.at);
    corrections
}

/// Gives the calling thread the lowest CPU priority (nice 19), so that
/// training uses only the CPU time that scoring leaves: on a small machine
/// requests keep their latency while a retrain runs, and the retrain takes
/// longer instead. Best effort: if the system refuses, training runs at
/// normal priority and says so in the log.
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // On Linux, `setpriority` with a thread id sets that thread's nice
    // value; `gettid` has no libc wrapper on older glibc, hence the syscall.
    // SAFETY: both calls only read their integer arguments.
    let result = unsafe {
        let thread_id = libc::syscall(libc::SYS_gettid) as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, thread_id, 19)
    };
    if result != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "cannot lower the training thread's priority"
        );
    }
}

/// Elsewhere training runs at normal priority.
#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

/// Starts retrains every `learning.retrain_every_minutes` when corrections
/// came in since the last one. Ends with the runtime.
pub fn spawn_schedule(engine: Arc<Engine>) {
    let Some(every) = engine.learning().settings().retrain_every() else {
        return;
    };
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            if engine.learning().new_corrections.count() > 0 {
                engine.start_scheduled_retrain("the retrain interval passed");
            }
        }
    });
}

impl super::Learning {
    /// The retraining threads. A std mutex: held to list or reap them, and
    /// by `start_retrain` while it starts one, never across an await.
    fn workers(&self) -> std::sync::MutexGuard<'_, Vec<std::thread::JoinHandle<()>>> {
        self.workers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The jobs table. A std mutex: held for a lookup or an update only.
    pub(super) fn jobs(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, RetrainJob>> {
        self.jobs
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::super::records::example_of;
    use super::*;
    use crate::domain::{Label, Verdict};
    use crate::review::CorrectionSource;

    fn correction(decision_id: &str, label: Label, at: i64) -> Correction {
        Correction {
            decision_id: decision_id.to_string(),
            site_id: "site.example".to_string(),
            comment_id: format!("c-{decision_id}"),
            content: format!("comment {decision_id}"),
            label,
            verdict: Verdict::Review,
            model_version: "m".to_string(),
            source: CorrectionSource::Moderator,
            by: "ann".to_string(),
            at: UnixMillis(at),
        }
    }

    #[test]
    fn a_relabel_not_yet_learned_online_is_new_to_an_incremental_candidate() {
        let online = |decision_id: &str, label| super::super::OnlineExample {
            decision_id: decision_id.to_string(),
            text: String::new(),
            label,
            weight: 1.0,
            labelled_at: None,
            site_id: None,
            hosts: Vec::new(),
            from_site: None,
        };
        // d1 was learned as spam, then relabelled ham (not learned yet);
        // d2 was learned as it stands; d3 was never learned.
        let learned_online = [online("d1", Label::Spam), online("d2", Label::Ham)];
        let newer = vec![
            correction("d1", Label::Ham, 20),
            correction("d2", Label::Ham, 21),
            correction("d3", Label::Spam, 22),
        ];
        let (learned, new) = learned_or_new(newer, &learned_online);
        let ids = |corrections: &[Correction]| -> Vec<String> {
            corrections.iter().map(|c| c.decision_id.clone()).collect()
        };
        assert_eq!(ids(&learned), vec!["d2"]);
        assert_eq!(ids(&new), vec!["d1", "d3"]);
    }

    /// Two labels of one decision, given in quick succession, can be
    /// learned online in the other order: the one in force was learned all
    /// the same, and an incremental retrain must not learn it again.
    #[test]
    fn a_label_learned_before_an_earlier_one_counts_as_learned() {
        let learned_as = |label, at| super::super::OnlineExample {
            decision_id: "d1".to_string(),
            text: String::new(),
            label,
            weight: 1.0,
            labelled_at: Some(UnixMillis(at)),
            site_id: None,
            hosts: Vec::new(),
            from_site: None,
        };
        // Spam at 10, then ham at 20; online learning ran ham's first.
        let online = [learned_as(Label::Ham, 20), learned_as(Label::Spam, 10)];
        let (learned, new) = learned_or_new(vec![correction("d1", Label::Ham, 20)], &online);
        assert_eq!(learned.len(), 1, "{new:?}");
        // A label given again later (ham at 30) was not learned.
        let (learned, new) = learned_or_new(vec![correction("d1", Label::Ham, 30)], &online);
        assert!(learned.is_empty());
        assert_eq!(new.len(), 1);
    }

    #[test]
    fn a_decision_labelled_again_while_the_job_trained_is_learned_at_promotion() {
        // The job read d1 (spam) and d2; the candidate contains both.
        let read_then = [
            correction("d1", Label::Spam, 10),
            correction("d2", Label::Ham, 11),
        ];
        let read: HashSet<CorrectionKey> = read_then.iter().map(CorrectionKey::of).collect();
        let contained: HashSet<String> = ["d1", "d2"].map(String::from).into();
        // While it trained, d1 was labelled ham and d3 was labelled; at
        // promotion the store holds the latest label of each decision.
        let now = vec![
            correction("d3", Label::Spam, 30),
            correction("d2", Label::Ham, 11),
            correction("d1", Label::Ham, 20),
        ];
        let untrained = untrained_corrections(now, &contained, &read);
        let untrained: Vec<(&str, Label)> = untrained
            .iter()
            .map(|correction| (correction.decision_id.as_str(), correction.label))
            .collect();
        assert_eq!(untrained, vec![("d1", Label::Ham), ("d3", Label::Spam)]);
    }

    #[test]
    fn the_copies_of_a_correction_share_their_origin() {
        let base = vec![
            example_of(&correction("b1", Label::Ham, 1), &[]),
            example_of(&correction("b2", Label::Spam, 2), &[]),
        ];
        let corrections = [
            correction("d1", Label::Spam, 10),
            correction("d2", Label::Ham, 11),
        ];
        let features = FeatureParams::default();
        let (examples, origins) = with_copies(&features, &base, &corrections, 3, &|correction| {
            example_of(correction, &[])
        });
        assert_eq!(examples.len(), 2 + 2 * 3);
        assert_eq!(origins, vec![0, 1, 2, 2, 2, 5, 5, 5]);
        assert!(examples[2..5]
            .iter()
            .all(|example| example.text == "comment d1"));
        // One copy each: every example an origin of its own, as plain
        // training folds them.
        let (_, origins) = with_copies(&features, &base, &corrections, 1, &|correction| {
            example_of(correction, &[])
        });
        assert_eq!(origins, vec![0, 1, 2, 3]);
        // Numbered in order of first appearance, those are the folds that
        // `train` gives rows of their own (see `cross_validation_folds`).
    }

    #[test]
    fn the_base_counts_each_example_once_and_every_correction_keeps_its_copies() {
        let mut spam_copy = correction("b3", Label::Spam, 3);
        spam_copy.content = "COMMENT B2".to_string();
        let base = vec![
            example_of(&correction("b1", Label::Ham, 1), &[]),
            example_of(&correction("b2", Label::Spam, 2), &[]),
            // The model reads it as the base's "comment b2" (case folded):
            // counted once.
            example_of(&spam_copy, &[]),
        ];
        // A correction repeating a base example, and two repeating each
        // other: each keeps all its copies.
        let mut repeats_base = correction("d1", Label::Ham, 10);
        repeats_base.content = "comment b1".to_string();
        let mut first = correction("d2", Label::Spam, 11);
        first.content = "join my channel".to_string();
        let mut second = correction("d3", Label::Spam, 12);
        second.content = "join my channel".to_string();
        let corrections = [repeats_base, first, second];
        let (examples, origins) = with_copies(
            &FeatureParams::default(),
            &base,
            &corrections,
            2,
            &|correction| example_of(correction, &[]),
        );
        let texts: Vec<&str> = examples
            .iter()
            .map(|example| example.text.as_str())
            .collect();
        assert_eq!(
            texts,
            vec![
                "comment b1",
                "comment b2",
                "comment b1",
                "comment b1",
                "join my channel",
                "join my channel",
                "join my channel",
                "join my channel",
            ]
        );
        // Every example the model reads the same shares an origin, so one
        // fold: the correction that repeats the base's "comment b1" with
        // its copies, and the two corrections that repeat each other.
        assert_eq!(origins, vec![0, 1, 0, 0, 4, 4, 4, 4]);
    }

    #[test]
    fn a_job_is_reported_finished_only_once_its_end_is_durable() {
        let directory = tempfile::tempdir().unwrap();
        let engine = Engine::new(
            crate::store::Store::open(directory.path()).unwrap(),
            Model::embedded_default().unwrap(),
            crate::verdict::Thresholds::default(),
            crate::rules::Rules::default(),
        );
        let running = |job_id: &str| {
            let mut job = RetrainJob::queued(job_id.to_string(), true, false, UnixMillis(1));
            job.state = JobState::Running;
            engine
                .learning()
                .jobs()
                .insert(job.job_id.clone(), job.clone());
            engine.store().save_job(&job).unwrap();
        };
        let reported = |job_id: &str| engine.retrain_job(job_id).unwrap();

        running("durable");
        engine.finish_job("durable", Ok("not promoted: worse".to_string()));
        let job = reported("durable");
        assert_eq!(job.state, JobState::Succeeded);
        assert_eq!(job.message, "not promoted: worse");
        assert_eq!(engine.store().job("durable").unwrap(), Some(job));

        // A job whose end cannot be flushed is not reported succeeded.
        running("lost");
        engine.store().fail_flushes("the disk is gone");
        engine.finish_job("lost", Ok("promoted: better".to_string()));
        let job = reported("lost");
        assert_eq!(job.state, JobState::Failed);
        assert!(
            job.message.contains("cannot be made durable")
                && job.message.contains("the disk is gone")
                && job.message.contains("promoted: better"),
            "{}",
            job.message
        );
        assert_eq!(job.progress, 1.0);
        assert!(job.finished_at.is_some());

        // A job that promoted stays succeeded: its promotion was durable
        // and serves; the message says its end may be lost.
        running("promoted");
        engine
            .learning()
            .jobs()
            .get_mut("promoted")
            .unwrap()
            .promoted = true;
        engine.finish_job("promoted", Ok("promoted: better".to_string()));
        let job = reported("promoted");
        assert_eq!(job.state, JobState::Succeeded);
        assert!(job.promoted);
        assert!(
            job.message.contains("cannot be made durable"),
            "{}",
            job.message
        );
    }

    /// An engine with the built-in model and default rules over a store in
    /// `directory`.
    fn default_engine(directory: &std::path::Path) -> Arc<Engine> {
        Arc::new(Engine::new(
            crate::store::Store::open(directory).unwrap(),
            Model::embedded_default().unwrap(),
            crate::verdict::Thresholds::default(),
            crate::rules::Rules::default(),
        ))
    }

    /// A version from a model file holds no correction, even one older
    /// than the file; a retrained one holds those up to its training, but
    /// not those its job left unlearned.
    #[test]
    fn only_a_retrained_version_holds_the_corrections_before_its_training() {
        let corrections = || {
            vec![
                correction("old", Label::Spam, 10),
                correction("held", Label::Spam, 20),
                correction("new", Label::Ham, 2_000),
            ]
        };
        let ids = |corrections: Vec<Correction>| -> Vec<String> {
            corrections.into_iter().map(|c| c.decision_id).collect()
        };
        let mut record = ModelRecord {
            version: "v".to_string(),
            created_at: UnixMillis(1_000),
            origin: "file".to_string(),
            summary: Default::default(),
            metrics: None,
            trained_through: None,
            not_learned: Vec::new(),
        };
        let (older, newer) = trained_or_not(&record, corrections());
        assert!(older.is_empty());
        assert_eq!(ids(newer), ["old", "held", "new"]);

        record.trained_through = Some(UnixMillis(1_000));
        record.not_learned = vec!["held".to_string()];
        let (older, newer) = trained_or_not(&record, corrections());
        assert_eq!(ids(older), ["old"]);
        assert_eq!(ids(newer), ["held", "new"]);
    }

    /// The held-out corrections are the newest, except those the version's
    /// own job held out and left unlearned: they are trained on now.
    #[test]
    fn corrections_left_by_the_last_job_are_not_held_out_again() {
        let mut corrections = vec![
            correction("a", Label::Spam, 10),
            correction("b", Label::Ham, 20),
            correction("left", Label::Spam, 30),
            correction("c", Label::Spam, 40),
        ];
        let record = ModelRecord {
            version: "v".to_string(),
            created_at: UnixMillis(1_000),
            origin: "retrain job".to_string(),
            summary: Default::default(),
            metrics: None,
            trained_through: Some(UnixMillis(25)),
            not_learned: vec!["left".to_string()],
        };
        let held_out = newest_held_out(&mut corrections, 2, &record);
        let ids = |corrections: &[Correction]| -> Vec<String> {
            corrections.iter().map(|c| c.decision_id.clone()).collect()
        };
        assert_eq!(ids(&held_out), ["b", "c"]);
        assert_eq!(ids(&corrections), ["a", "left"]);
        // Only the one left: nothing is held out.
        let mut only_left = vec![correction("left", Label::Spam, 30)];
        assert!(newest_held_out(&mut only_left, 1, &record).is_empty());
        assert_eq!(only_left.len(), 1);
    }

    #[test]
    fn a_label_read_after_the_jobs_start_counts_as_trained_next_time() {
        let started = UnixMillis(1_000);
        // Given between the job's start and its read of the corrections.
        let read = vec![
            correction("before", Label::Spam, 900),
            correction("in the gap", Label::Spam, 1_005),
        ];
        let through = trained_through(started, UnixMillis(1_007), &read);
        assert_eq!(through, UnixMillis(1_005));
        assert_eq!(
            trained_through(started, UnixMillis(1_007), &read[..1]),
            started
        );
        // A correction dated after the read (a clock that ran ahead) marks
        // no more than the read's end.
        let future = [correction("future", Label::Ham, 9_000)];
        assert_eq!(
            trained_through(started, UnixMillis(1_007), &future),
            UnixMillis(1_007)
        );
        let record = ModelRecord {
            version: "v".to_string(),
            created_at: UnixMillis(1_010),
            origin: "retrain job".to_string(),
            summary: Default::default(),
            metrics: None,
            trained_through: Some(through),
            not_learned: Vec::new(),
        };
        let (older, newer) = trained_or_not(&record, read);
        assert_eq!(older.len(), 2, "{newer:?}");
    }

    #[test]
    fn a_second_retrain_is_refused_while_one_runs() {
        let directory = tempfile::tempdir().unwrap();
        let engine = default_engine(directory.path());
        // A job in progress, as its thread leaves it while it trains.
        let mut running = RetrainJob::queued("busy".to_string(), true, false, UnixMillis(1));
        running.state = JobState::Running;
        engine
            .learning()
            .jobs()
            .insert(running.job_id.clone(), running);
        let refused = engine.start_retrain(false, true).unwrap_err();
        match refused {
            Error::FailedPrecondition(message) => {
                assert!(message.contains("busy"), "{message}")
            }
            other => panic!("expected FAILED_PRECONDITION, got {other:?}"),
        }
        // Nothing was queued behind it, in memory or in the store.
        assert_eq!(engine.learning().jobs().len(), 1);
        assert!(engine.store().jobs().unwrap().is_empty());
    }

    /// Without a base corpus a full retrain would know only the
    /// corrections: the schedule retrains incrementally instead.
    #[test]
    fn a_scheduled_retrain_without_a_base_corpus_is_incremental() {
        let directory = tempfile::tempdir().unwrap();
        let engine = default_engine(directory.path());
        assert!(matches!(
            engine.start_retrain(true, false),
            Err(Error::FailedPrecondition(message)) if message.contains("learning.base_data")
        ));
        engine.start_scheduled_retrain("a test");
        let jobs: Vec<RetrainJob> = engine.learning().jobs().values().cloned().collect();
        assert_eq!(jobs.len(), 1, "{jobs:?}");
        assert!(!jobs[0].full, "{jobs:?}");
        assert!(engine
            .wait_for_retraining(std::time::Instant::now() + std::time::Duration::from_secs(60)));
    }

    #[test]
    fn no_retrain_starts_once_the_service_is_stopping() {
        let directory = tempfile::tempdir().unwrap();
        let engine = default_engine(directory.path());
        // Nothing runs: the wait ends at once, and says so.
        assert!(engine.wait_for_retraining(std::time::Instant::now()));
        let refused = engine.start_retrain(true, true).unwrap_err();
        assert!(matches!(refused, Error::Unavailable(_)), "{refused:?}");
        assert!(engine.learning().jobs().is_empty());
    }
}
