//! The learning side of storage: the model registry, the examples learned
//! online into the active version, and retraining jobs.
//!
//! Trees:
//! - `models`: version -> [`ModelRecord`] (JSON).
//! - `model_files`: version -> the model file's bytes.
//! - `learning`: `active` -> the active version; `configured` -> the
//!   version configured at the last start; `snapshot/<version>` -> how many
//!   online examples the snapshot holds (u64, big-endian), then the model
//!   file the version had become by learning them.
//! - `online`: (version, sequence) -> [`OnlineExample`], in learning order.
//! - `online_by_decision`: (decision id, the `online` key) -> nothing: the
//!   examples of a decision, which forgetting it deletes, found without
//!   reading every example (a forget holds the labelling calls' turn).
//!   Written before the examples it names, so an entry may name an
//!   example that is gone (a crash, a version removed), never the other
//!   way round. Built at the first start of a database that has none
//!   (`learning`: `online_index` says it is).
//! - `jobs`: job id -> [`RetrainJob`] (JSON).

use sled::transaction::ConflictableTransactionError;
use sled::Transactional;

use super::index::site_key;
use super::{from_json, to_json, transaction_error, Store, StoreError};
use crate::learning::{ModelRecord, OnlineExample, RetrainJob};

const ACTIVE_KEY: &[u8] = b"active";
const CONFIGURED_KEY: &[u8] = b"configured";
const SNAPSHOT_PREFIX: &[u8] = b"snapshot/";
/// Set once `online_by_decision` holds every online example.
const ONLINE_INDEX_KEY: &[u8] = b"online_index";

/// The `online_by_decision` key of the example stored under `online_key`.
fn decision_index_key(decision_id: &str, online_key: &[u8]) -> Vec<u8> {
    let mut key = site_key(decision_id);
    key.extend_from_slice(online_key);
    key
}

fn snapshot_key(version: &str) -> Vec<u8> {
    let mut key = SNAPSHOT_PREFIX.to_vec();
    key.extend_from_slice(version.as_bytes());
    key
}

/// The trees of this file.
pub(super) struct LearningTrees {
    models: sled::Tree,
    model_files: sled::Tree,
    pub(super) meta: sled::Tree,
    pub(super) online: sled::Tree,
    pub(super) online_by_decision: sled::Tree,
    jobs: sled::Tree,
}

impl LearningTrees {
    pub(super) fn open(db: &sled::Db) -> Result<LearningTrees, StoreError> {
        let trees = LearningTrees {
            models: db.open_tree("models")?,
            model_files: db.open_tree("model_files")?,
            meta: db.open_tree("learning")?,
            online: db.open_tree("online")?,
            online_by_decision: db.open_tree("online_by_decision")?,
            jobs: db.open_tree("jobs")?,
        };
        trees.build_online_index()?;
        Ok(trees)
    }

    /// Builds `online_by_decision` for a database made before it (or whose
    /// building a crash cut short), once.
    fn build_online_index(&self) -> Result<(), StoreError> {
        if self.meta.contains_key(ONLINE_INDEX_KEY)? {
            return Ok(());
        }
        self.online_by_decision.clear()?;
        let mut index = sled::Batch::default();
        for entry in self.online.iter() {
            let (key, value) = entry?;
            match from_json::<OnlineExample>(&key, &value) {
                Ok(example) => index.insert(decision_index_key(&example.decision_id, &key), &[]),
                // As the forget of a decision did when it read every
                // example: one that does not read is left as it is.
                Err(error) => {
                    tracing::warn!(%error, "an online example does not read; left as it is")
                }
            }
        }
        self.online_by_decision.apply_batch(index)?;
        self.meta.insert(ONLINE_INDEX_KEY, &[])?;
        Ok(())
    }
}

impl Store {
    /// Stores a model version and its file, replacing a version of the same
    /// name. Call [`Store::durable`] before acknowledging.
    pub fn register_model(&self, record: &ModelRecord, file: &[u8]) -> Result<(), StoreError> {
        let trees = &self.inner.learning;
        let key = record.version.as_bytes();
        let value = to_json(&record.version, record)?;
        (&trees.models, &trees.model_files)
            .transaction(|(models, files)| {
                files.insert(key, file)?;
                models.insert(key, value.as_slice())?;
                Ok::<(), ConflictableTransactionError<StoreError>>(())
            })
            .map_err(transaction_error)
    }

    /// Every registered version, in version order.
    pub fn model_records(&self) -> Result<Vec<ModelRecord>, StoreError> {
        self.inner
            .learning
            .models
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                from_json(&key, &value)
            })
            .collect()
    }

    pub fn model_record(&self, version: &str) -> Result<Option<ModelRecord>, StoreError> {
        self.inner
            .learning
            .models
            .get(version.as_bytes())?
            .map(|value| from_json(version.as_bytes(), &value))
            .transpose()
    }

    /// The stored file of a registered version.
    pub fn model_file(&self, version: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .inner
            .learning
            .model_files
            .get(version.as_bytes())?
            .map(|bytes| bytes.to_vec()))
    }

    /// The version to serve, once one was activated.
    pub fn active_model(&self) -> Result<Option<String>, StoreError> {
        self.text_value(ACTIVE_KEY)
    }

    /// The version of the model file (or built-in model) the service was
    /// last started with: a different one at start-up is a new deployment.
    pub fn configured_model(&self) -> Result<Option<String>, StoreError> {
        self.text_value(CONFIGURED_KEY)
    }

    pub fn set_configured_model(&self, version: &str) -> Result<(), StoreError> {
        self.inner
            .learning
            .meta
            .insert(CONFIGURED_KEY, version.as_bytes())?;
        Ok(())
    }

    fn text_value(&self, key: &[u8]) -> Result<Option<String>, StoreError> {
        self.inner
            .learning
            .meta
            .get(key)?
            .map(|bytes| {
                String::from_utf8(bytes.to_vec()).map_err(|_| StoreError::Corrupt {
                    key: format!("learning/{}", String::from_utf8_lossy(key)),
                    message: "the value is not text".to_string(),
                })
            })
            .transpose()
    }

    /// Makes a registered version the active one. What it had learned
    /// online before stays recorded under it (used again if it is
    /// activated later). Call [`Store::durable`] before acknowledging.
    pub fn set_active_model(&self, version: &str) -> Result<(), StoreError> {
        self.inner
            .learning
            .meta
            .insert(ACTIVE_KEY, version.as_bytes())?;
        Ok(())
    }

    /// Forgets which version is active, as in a database where none was
    /// ever activated: what undoing a first activation leaves.
    pub fn clear_active_model(&self) -> Result<(), StoreError> {
        self.inner.learning.meta.remove(ACTIVE_KEY)?;
        Ok(())
    }

    /// Deletes a version, its file, its online examples and their snapshot.
    ///
    /// The record goes last but for the file: a removal cut short by a
    /// crash leaves the record, so whatever removes the version (a failed
    /// job's clean-up at start, pruning) finds it and removes it again,
    /// and a version registered again later never inherits online examples
    /// of the one removed. Cut short after the record, it leaves at most
    /// the file, which nothing reads and registering the version again
    /// replaces.
    pub fn remove_model(&self, version: &str) -> Result<(), StoreError> {
        let trees = &self.inner.learning;
        let mut online = sled::Batch::default();
        let mut index = sled::Batch::default();
        for entry in trees.online.scan_prefix(site_key(version)) {
            let (key, value) = entry?;
            // An example that does not read leaves its index entry, which
            // names nothing once the example is gone.
            if let Ok(example) = from_json::<OnlineExample>(&key, &value) {
                index.remove(decision_index_key(&example.decision_id, &key));
            }
            online.remove(key);
        }
        trees.online.apply_batch(online)?;
        trees.online_by_decision.apply_batch(index)?;
        trees.meta.remove(snapshot_key(version))?;
        trees.models.remove(version.as_bytes())?;
        trees.model_files.remove(version.as_bytes())?;
        Ok(())
    }

    /// Records examples learned online into `version`, after those already
    /// recorded. Call [`Store::durable`] before acknowledging.
    pub fn record_online_examples(
        &self,
        version: &str,
        examples: &[OnlineExample],
    ) -> Result<(), StoreError> {
        let trees = &self.inner.learning;
        let mut batch = sled::Batch::default();
        let mut index = sled::Batch::default();
        for example in examples {
            let mut key = site_key(version);
            key.extend_from_slice(&self.inner.db.generate_id()?.to_be_bytes());
            index.insert(decision_index_key(&example.decision_id, &key), &[]);
            batch.insert(key, to_json(&example.decision_id, example)?);
        }
        // The index first: an entry may name an example not written, never
        // the other way round (see the module docs).
        trees.online_by_decision.apply_batch(index)?;
        trees.online.apply_batch(batch)?;
        Ok(())
    }

    /// Deletes every online example of `decision_id`, in every version,
    /// and the snapshots of those versions (they hold what the examples
    /// taught, and count them), so that the next start learns each
    /// version's remaining examples again. Gives how many examples were
    /// deleted. Reads only the decision's own entries of
    /// `online_by_decision`, however many examples other decisions have.
    pub(super) fn forget_online_examples(&self, decision_id: &str) -> Result<usize, StoreError> {
        let trees = &self.inner.learning;
        let mut doomed = sled::Batch::default();
        let mut index = sled::Batch::default();
        let mut forgotten = 0;
        let mut versions = std::collections::BTreeSet::new();
        let prefix = site_key(decision_id);
        for entry in trees.online_by_decision.scan_prefix(&prefix).keys() {
            let index_key = entry?;
            let key = &index_key[prefix.len()..];
            if trees.online.contains_key(key)? {
                if let Some((version, _)) = super::index::site_from_key(key) {
                    versions.insert(version);
                }
                doomed.remove(key);
                forgotten += 1;
            }
            index.remove(index_key);
        }
        // The snapshots first: a crash before the examples go leaves a
        // longer replay, never a snapshot that counts deleted examples.
        for version in versions {
            trees.meta.remove(snapshot_key(&version))?;
        }
        trees.online.apply_batch(doomed)?;
        trees.online_by_decision.apply_batch(index)?;
        Ok(forgotten)
    }

    /// The examples learned online into `version`, in learning order.
    pub fn online_examples(&self, version: &str) -> Result<Vec<OnlineExample>, StoreError> {
        self.online_examples_from(version, 0)
    }

    /// [`Store::online_examples`] without the first `skipped` (those a
    /// snapshot already holds); their values are not decoded.
    pub fn online_examples_from(
        &self,
        version: &str,
        skipped: usize,
    ) -> Result<Vec<OnlineExample>, StoreError> {
        self.inner
            .learning
            .online
            .scan_prefix(site_key(version))
            .skip(skipped)
            .map(|entry| {
                let (key, value) = entry?;
                from_json(&key, &value)
            })
            .collect()
    }

    /// How many examples `version` has learned online (keys only; no value
    /// is read).
    pub fn online_example_count(&self, version: &str) -> Result<usize, StoreError> {
        let mut count = 0;
        for key in self
            .inner
            .learning
            .online
            .scan_prefix(site_key(version))
            .keys()
        {
            key?;
            count += 1;
        }
        Ok(count)
    }

    /// The latest snapshot of what `version` learned online: how many
    /// examples it holds (the first ones, in learning order) and the model
    /// file they made.
    pub fn online_snapshot(&self, version: &str) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        let key = snapshot_key(version);
        let Some(value) = self.inner.learning.meta.get(&key)? else {
            return Ok(None);
        };
        match value.split_first_chunk::<8>() {
            Some((learned, file)) => Ok(Some((u64::from_be_bytes(*learned), file.to_vec()))),
            None => Err(StoreError::Corrupt {
                key: String::from_utf8_lossy(&key).into_owned(),
                message: format!("a snapshot needs at least 8 bytes, not {}", value.len()),
            }),
        }
    }

    /// Saves the model `version` became by learning its first `learned`
    /// online examples (as counted in the `online` tree), replacing the
    /// snapshot before. A snapshot lost in a crash only means a longer
    /// replay (the call that saves one may still wait for its flush).
    pub fn save_online_snapshot(
        &self,
        version: &str,
        learned: u64,
        file: &[u8],
    ) -> Result<(), StoreError> {
        let mut value = Vec::with_capacity(8 + file.len());
        value.extend_from_slice(&learned.to_be_bytes());
        value.extend_from_slice(file);
        self.inner
            .learning
            .meta
            .insert(snapshot_key(version), value)?;
        Ok(())
    }

    /// Makes every write made so far durable, blocking (for the retraining
    /// thread, which is not async): the registry's changes of a promotion
    /// before its candidate serves, and a job's end before it is reported.
    /// Fails, as [`Store::durable`] does, once any flush has failed: what
    /// sled holds is then no longer known to match the disk, so nothing
    /// written since can be promised durable.
    pub fn durable_blocking(&self) -> Result<(), StoreError> {
        if let Some(failure) = self.inner.commit.failure().get() {
            return Err(StoreError::FlushFailed(failure));
        }
        self.flush()
    }

    /// Records a flush failure as a failing disk would, for the tests of
    /// what the callers of [`Store::durable_blocking`] do then.
    #[cfg(test)]
    pub(crate) fn fail_flushes(&self, message: &str) {
        self.inner.commit.failure().set(message.to_string());
    }

    /// Stores a job's state, replacing what was stored under its id.
    pub fn save_job(&self, job: &RetrainJob) -> Result<(), StoreError> {
        self.inner
            .learning
            .jobs
            .insert(job.job_id.as_bytes(), to_json(&job.job_id, job)?)?;
        Ok(())
    }

    pub fn job(&self, job_id: &str) -> Result<Option<RetrainJob>, StoreError> {
        self.inner
            .learning
            .jobs
            .get(job_id.as_bytes())?
            .map(|value| from_json(job_id.as_bytes(), &value))
            .transpose()
    }

    /// Ends the jobs that were queued or running when the service stopped:
    /// one whose candidate is the active version promoted it before the
    /// stop, and succeeded; any other failed (it did not finish and will
    /// not).
    pub fn fail_interrupted_jobs(&self) -> Result<(), StoreError> {
        let active = self.active_model()?;
        for mut job in self.jobs()? {
            if job.state.is_finished() {
                continue;
            }
            // A job stores its candidate's version just before it switches
            // to it, so an active candidate means the switch happened; and
            // it stores that it promoted before another version can be
            // activated, so a job that says so promoted though its
            // candidate is no longer active.
            let promoted = job.promoted
                || (!job.candidate_version.is_empty()
                    && active.as_deref() == Some(job.candidate_version.as_str()));
            if promoted {
                job.state = crate::learning::JobState::Succeeded;
                job.promoted = true;
                job.progress = 1.0;
                job.message =
                    "promoted; the service stopped before the job recorded its end".to_string();
            } else {
                job.state = crate::learning::JobState::Failed;
                job.message =
                    "interrupted: the service stopped before the job finished".to_string();
                // A promotion stopped between registering its candidate
                // and switching to it leaves the candidate registered,
                // though never served nor recorded whole: removed, so that
                // the next retrain that builds the same model can promote
                // it (a registered version is not promoted twice).
                if let Some(record) = self.model_record(&job.candidate_version)? {
                    if record.origin == RetrainJob::candidate_origin(&job.job_id) {
                        self.remove_model(&record.version)?;
                    }
                }
            }
            self.save_job(&job)?;
        }
        Ok(())
    }

    /// Deletes the oldest finished jobs beyond the newest `keep` jobs
    /// (job ids are time-ordered UUIDs, so the tree holds them oldest
    /// first); a job not finished is never deleted. Gives how many were.
    /// Not flushed: a crash brings them back, and the next end prunes them
    /// again.
    pub fn prune_jobs(&self, keep: usize) -> Result<usize, StoreError> {
        let jobs = &self.inner.learning.jobs;
        let stored = jobs.len();
        let mut removed = 0;
        for entry in jobs.iter() {
            if stored - removed <= keep {
                break;
            }
            let (key, value) = entry?;
            let job: RetrainJob = from_json(&key, &value)?;
            if job.state.is_finished() {
                jobs.remove(&key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Every stored job, oldest first (job ids are time-ordered UUIDs).
    pub fn jobs(&self) -> Result<Vec<RetrainJob>, StoreError> {
        self.inner
            .learning
            .jobs
            .iter()
            .map(|entry| {
                let (key, value) = entry?;
                from_json(&key, &value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::TrainingSummary;
    use crate::domain::{Label, UnixMillis};

    fn record(version: &str) -> ModelRecord {
        ModelRecord {
            version: version.to_string(),
            created_at: UnixMillis(1),
            origin: "test".to_string(),
            summary: TrainingSummary::default(),
            metrics: None,
            trained_through: None,
            not_learned: Vec::new(),
        }
    }

    #[test]
    fn a_job_stopped_after_its_candidate_became_active_is_reported_promoted() {
        use crate::learning::{JobState, RetrainJob};
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let running = |job_id: &str, candidate: &str| {
            let mut job = RetrainJob::queued(job_id.to_string(), true, false, UnixMillis(1));
            job.state = JobState::Running;
            job.candidate_version = candidate.to_string();
            store.save_job(&job).unwrap();
        };
        // One job switched to its candidate and stopped before its end was
        // recorded; one stopped before its switch; one before it trained.
        running("switched", "m-2");
        running("before-switch", "m-3");
        running("training", "");
        // The stopped switch had registered its candidate; so had the one
        // that went through. A version another job registered stays.
        let registered_by = |version: &str, job_id: &str| ModelRecord {
            origin: format!("retrain job {job_id}"),
            ..record(version)
        };
        store
            .register_model(&registered_by("m-2", "switched"), b"{}")
            .unwrap();
        store
            .register_model(&registered_by("m-3", "before-switch"), b"{}")
            .unwrap();
        running("lost-earlier", "m-1");
        store
            .register_model(&registered_by("m-1", "an-older-job"), b"{}")
            .unwrap();
        // One promoted and said so, then an activation made another
        // version active before the job recorded its end: its candidate
        // served, and stays.
        running("promoted-then-replaced", "m-4");
        let mut replaced = store.job("promoted-then-replaced").unwrap().unwrap();
        replaced.promoted = true;
        store.save_job(&replaced).unwrap();
        store
            .register_model(&registered_by("m-4", "promoted-then-replaced"), b"{}")
            .unwrap();
        store.set_active_model("m-2").unwrap();
        store.fail_interrupted_jobs().unwrap();
        assert!(store.model_record("m-4").unwrap().is_some());
        assert_eq!(
            store.job("promoted-then-replaced").unwrap().unwrap().state,
            JobState::Succeeded
        );
        assert!(store.model_record("m-2").unwrap().is_some());
        assert!(store.model_record("m-3").unwrap().is_none());
        assert!(store.model_file("m-3").unwrap().is_none());
        assert!(store.model_record("m-1").unwrap().is_some());
        let job = |job_id: &str| store.job(job_id).unwrap().unwrap();
        let switched = job("switched");
        assert_eq!(
            (switched.state, switched.promoted),
            (JobState::Succeeded, true)
        );
        assert!(
            switched.message.starts_with("promoted"),
            "{}",
            switched.message
        );
        for job_id in ["before-switch", "training"] {
            let stopped = job(job_id);
            assert_eq!((stopped.state, stopped.promoted), (JobState::Failed, false));
            assert!(
                stopped.message.starts_with("interrupted"),
                "{}",
                stopped.message
            );
        }
    }

    #[test]
    fn only_the_newest_finished_jobs_are_kept() {
        use crate::learning::JobState;
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        // Ids in time order, as the service makes them; the third one is
        // still running.
        for index in 0..6u64 {
            let mut job = RetrainJob::queued(
                format!("job-{index:02}"),
                true,
                false,
                crate::domain::UnixMillis(index as i64),
            );
            job.state = if index == 2 {
                JobState::Running
            } else {
                JobState::Succeeded
            };
            store.save_job(&job).unwrap();
        }
        assert_eq!(store.prune_jobs(3).unwrap(), 3);
        let kept: Vec<String> = store
            .jobs()
            .unwrap()
            .into_iter()
            .map(|job| job.job_id)
            .collect();
        // The oldest finished ones went; the running one stays, however old.
        assert_eq!(kept, vec!["job-02", "job-04", "job-05"]);
        assert_eq!(store.prune_jobs(3).unwrap(), 0);
    }

    #[test]
    fn no_write_is_made_durable_after_a_flush_failed() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        store.durable_blocking().unwrap();
        store.fail_flushes("the disk is gone");
        let error = store.durable_blocking().unwrap_err();
        assert!(
            matches!(&error, StoreError::FlushFailed(message) if message == "the disk is gone"),
            "{error:?}"
        );
    }

    #[test]
    fn the_registry_keeps_versions_files_and_online_examples_across_a_reopen() {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = Store::open(directory.path()).unwrap();
            store.register_model(&record("a-1"), b"file a").unwrap();
            store.register_model(&record("b-2"), b"file b").unwrap();
            store.set_active_model("b-2").unwrap();
            let example = |id: &str| OnlineExample {
                decision_id: id.to_string(),
                text: format!("text {id}"),
                label: Label::Spam,
                weight: 1.0,
                labelled_at: None,
                site_id: None,
                hosts: Vec::new(),
                from_site: None,
            };
            store
                .record_online_examples("b-2", &[example("1"), example("2")])
                .unwrap();
            store
                .record_online_examples("a-1", &[example("3")])
                .unwrap();
            store.flush().unwrap();
        }
        let store = Store::reopen(directory.path()).unwrap();
        assert_eq!(store.active_model().unwrap().as_deref(), Some("b-2"));
        let versions: Vec<String> = store
            .model_records()
            .unwrap()
            .into_iter()
            .map(|record| record.version)
            .collect();
        assert_eq!(versions, ["a-1", "b-2"]);
        assert_eq!(store.model_file("a-1").unwrap().unwrap(), b"file a");
        let learned: Vec<String> = store
            .online_examples("b-2")
            .unwrap()
            .into_iter()
            .map(|example| example.decision_id)
            .collect();
        assert_eq!(learned, ["1", "2"]);

        store.remove_model("a-1").unwrap();
        assert!(store.model_record("a-1").unwrap().is_none());
        assert!(store.model_file("a-1").unwrap().is_none());
        assert!(store.online_examples("a-1").unwrap().is_empty());
        assert_eq!(store.online_examples("b-2").unwrap().len(), 2);
    }
}
