//! The model registry as the engine uses it: choosing the model at
//! start-up, listing versions, activating one (roll back or forward without
//! a restart), registering a promoted candidate and pruning old versions.

use std::collections::HashSet;
use std::sync::Arc;

use super::records::CorrectionKey;
use super::{
    measure, Learning, LearningSettings, Measured, ModelLineage, ModelRecord, OnlineExample,
};
use crate::classifier::{BinaryMetrics, LabelledExample, Model};
use crate::domain::UnixMillis;
use crate::engine::Engine;
use crate::error::Error;
use crate::review::Correction;
use crate::store::{Store, StoreError};

/// A registered version as `ListModels` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelListing {
    pub record: ModelRecord,
    pub active: bool,
    /// For the active version: the version serving now, which adds what was
    /// learned online (`<version>+N`).
    pub serving_version: Option<String>,
}

/// Deletes the oldest versions beyond `keep`, logging a failure: the
/// registry is bounded both when a version is promoted and when a new model
/// file is deployed at start. A failure only leaves an old version behind.
///
/// The active version always stays, and so does `replaced`, the version it
/// has just replaced: that is the one an operator rolls back to, and after a
/// rollback to an old version it is older than the rest, so ordering by
/// training time alone would delete it first. Both count among the `keep`.
fn prune_or_warn(store: &Store, keep: usize, active: &str, replaced: Option<&str>) {
    let pruned = || -> Result<(), Error> {
        let mut records = store.model_records()?;
        records.sort_by_key(|record| std::cmp::Reverse(record.created_at));
        // A version that learned online is served as `<version>+N` (as
        // databases of older versions may still name it) and registered as
        // `<version>`; a name no record has protects nothing.
        let replaced = replaced.map(Model::trained_version_of).filter(|replaced| {
            *replaced != active && records.iter().any(|record| record.version == *replaced)
        });
        let mut others_kept = usize::from(replaced.is_some());
        for record in records {
            if record.version == active || Some(record.version.as_str()) == replaced {
                continue;
            }
            if others_kept + 1 < keep {
                others_kept += 1;
            } else {
                store.remove_model(&record.version)?;
            }
        }
        Ok(())
    };
    if let Err(error) = pruned() {
        tracing::warn!(%error, "cannot prune old model versions");
    }
}

/// The registry record of a model.
fn record_for(
    model: &Model,
    origin: &str,
    metrics: Option<BinaryMetrics>,
    trained_through: Option<UnixMillis>,
) -> ModelRecord {
    ModelRecord {
        version: model.trained_version().to_string(),
        created_at: model.created_at(),
        origin: origin.to_string(),
        summary: model.summary().clone(),
        metrics: metrics.or_else(|| model.cross_validation().cloned()),
        trained_through,
        not_learned: Vec::new(),
    }
}

/// Chooses the model to serve at start-up. A configured (or built-in) model
/// other than the one the service last started with is a new deployment: it
/// is registered and becomes active. Otherwise the registry's active
/// version is served, with what it had learned online, so promotions,
/// rollbacks and online learning survive restarts (even after the
/// configured model itself was pruned from the registry).
pub fn startup_model(
    store: &Store,
    configured: Model,
    origin: &str,
    learning: &Learning,
) -> Result<Model, Error> {
    let file_version = configured.version().to_string();
    let configured = as_own_version(configured)?;
    if file_version != configured.version() {
        adopt_renamed_file(store, &file_version, &configured, origin)?;
    }
    // The deployed model is what the learning that follows may not drift
    // from (see `gate`), whichever version serves.
    let reference = learning
        .baseline_of(&configured)
        .map(|figures| super::gate::Reference {
            version: configured.version().to_string(),
            figures,
        });
    let deployed = store.configured_model()?.as_deref() != Some(configured.version());
    let active = match store.active_model()? {
        Some(active) if !deployed => active,
        replaced => {
            if store.model_record(configured.version())?.is_none() {
                store.register_model(
                    &record_for(&configured, origin, None, None),
                    &configured.to_json()?,
                )?;
            }
            store.set_active_model(configured.version())?;
            store.set_configured_model(configured.version())?;
            store.flush()?;
            prune_or_warn(
                store,
                learning.settings.keep_models(),
                configured.version(),
                replaced.as_deref(),
            );
            configured.version().to_string()
        }
    };
    let model = if active == configured.version() {
        configured
    } else {
        load_registered(store, &active)?
    };
    // What online learning compares with: the deployed model's figures
    // when it is the version that serves (measured once), else the
    // served version's own.
    let baseline = match &reference {
        Some(reference) if reference.version == model.version() => Some(reference.figures.clone()),
        _ => learning.baseline_of(&model),
    };
    {
        let mut lineage = learning.lineage();
        lineage.reference = reference;
        lineage.baseline = baseline;
    }
    let (model, recorded) = replay_online(store, model, learning.settings())?;
    learning.lineage().recorded_online = Some(recorded);
    count_untrained_corrections(store, &active, learning)?;
    Ok(model)
}

/// Starts the schedule's count of new corrections (it lives in memory) from
/// the decisions labelled since the last retrain started (or, with none
/// recorded, since the active version was trained, or ever), so that labels
/// from before a restart still bring the next scheduled retrain, and those
/// a retrain already read (promoted or not) do not bring another. Read
/// only when a schedule is configured: it reads every correction.
fn count_untrained_corrections(
    store: &Store,
    active: &str,
    learning: &Learning,
) -> Result<(), Error> {
    let settings = learning.settings();
    if settings.retrain_every().is_none() && settings.retrain_every_corrections().is_none() {
        return Ok(());
    }
    let trained_through = store
        .model_record(active)?
        .and_then(|record| record.trained_through);
    // As the schedule counts while the service runs: from the last retrain
    // that could change the model (a dry run changes none).
    let last_retrain = store
        .jobs()?
        .iter()
        .filter(|job| !job.dry_run)
        .map(|job| job.created_at)
        .max();
    let since = trained_through.max(last_retrain);
    for correction in store.corrections() {
        let correction = correction?;
        if !settings.teaches(&correction) {
            continue;
        }
        if since.is_none_or(|since| correction.at > since)
            && learning.count_new_corrections([correction.decision_id.as_str()])
        {
            // As far as the schedule looks: the rest need not be read.
            break;
        }
    }
    Ok(())
}

/// A model file saved after online learning carries the version `X+N`,
/// while the store keeps a version's record, online examples and snapshots
/// under its trained version `X`. Served as it is, what it learned next
/// would be recorded under `X` and looked for under `X+N` at the next start
/// (and so be forgotten), and registering it could replace the file of the
/// model `X` it learned from. Such a file is therefore served as a version
/// of its own: the same numbers, named by their content hash as a trained
/// model is, so every start gives it the same version.
fn as_own_version(configured: Model) -> Result<Model, Error> {
    if configured.learned_online() == 0 {
        return Ok(configured);
    }
    let name = configured.training_params().name;
    Ok(configured.as_new_version(&name)?)
}

/// A database that an older moderato ran with a learned file knows that
/// file by its `X+N` version (as the configured model, and as the active
/// one unless something was promoted or activated since). It is the same
/// deployment under its new name: the records follow the rename, so that
/// the start neither takes the file for a new deployment (which would
/// replace a model promoted since) nor looks for a version `X+N` that was
/// never registered under that name.
fn adopt_renamed_file(
    store: &Store,
    file_version: &str,
    renamed: &Model,
    origin: &str,
) -> Result<(), Error> {
    let mut changed = false;
    if store.configured_model()?.as_deref() == Some(file_version) {
        store.set_configured_model(renamed.version())?;
        changed = true;
    }
    if store.active_model()?.as_deref() == Some(file_version) {
        if store.model_record(renamed.version())?.is_none() {
            store.register_model(
                &record_for(renamed, origin, None, None),
                &renamed.to_json()?,
            )?;
        }
        store.set_active_model(renamed.version())?;
        changed = true;
    }
    if changed {
        store.flush()?;
    }
    Ok(())
}

/// A registered version's model, from its stored file. A file that is
/// missing or does not parse is damaged storage, not a bad request: every
/// caller has found the version's record (or the active version's name).
pub(super) fn load_registered(store: &Store, version: &str) -> Result<Model, Error> {
    let bytes = store.model_file(version)?.ok_or_else(|| {
        Error::Store(StoreError::Corrupt {
            key: format!("model_files/{version}"),
            message: "the version is registered but its model file is missing".to_string(),
        })
    })?;
    Model::from_json(&format!("registered model {version}"), &bytes).map_err(|error| {
        Error::Store(StoreError::Corrupt {
            key: format!("model_files/{version}"),
            message: error.to_string(),
        })
    })
}

/// A replay of at least this many examples saves a snapshot of its result,
/// and so does the service each time it has learned this many more, so
/// that the next start (or activation) replays only what was learned
/// since. Replaying costs about 20 us an example (measured: 20,000
/// examples took 0.4 s of a start-up), so a start replays at most a few
/// hundredths of a second more than it must.
pub const SNAPSHOT_AFTER_EXAMPLES: usize = 1_000;

/// Learns again, in order and with their weights, what the version had
/// learned online: the same model as before the restart, and how many
/// examples it learned. Starts from the version's snapshot, if it has one
/// that matches, and learns the examples after it.
fn replay_online(
    store: &Store,
    model: Model,
    settings: &LearningSettings,
) -> Result<(Model, usize), Error> {
    let version = model.version().to_string();
    // Once sites' reports stop teaching, what they taught is not learned
    // again: every example is read, and those of moderators learned from
    // the registered version on (a snapshot holds the reports too). The
    // count returned is still of the examples recorded, which later
    // records follow.
    if !settings.learn_from_site_reports() {
        let examples = store.online_examples_from(&version, 0)?;
        let mut taught = Vec::with_capacity(examples.len());
        for example in &examples {
            if !given_by_a_site(store, example)? {
                taught.push(example.clone());
            }
        }
        if taught.len() < examples.len() {
            let recorded = examples.len();
            tracing::info!(
                %version,
                left_out = recorded - taught.len(),
                "sites' reports learned online before are not learned again \
                 (learning.learn_from_site_reports is off)"
            );
            return Ok((replay_online_examples(model, &taught)?, recorded));
        }
    }
    // Read once more below, but only keys: a start-up cost, not a request's.
    let recorded = store.online_example_count(&version)?;
    let snapshot = store.online_snapshot(&version).unwrap_or_else(|error| {
        tracing::warn!(%version, %error, "the online snapshot is unreadable; replaying every example");
        None
    });
    let (start, skipped) = match snapshot {
        Some((learned, file)) => {
            match Model::from_json(&format!("the online snapshot of {version}"), &file) {
                // `learned` counts the version's examples the snapshot holds;
                // the model may have learned some before it was a version
                // (a model file saved after online learning).
                // A snapshot of more examples than are recorded (some lost
                // since) would skip examples recorded after the loss.
                Ok(snapshot)
                    if snapshot.trained_version() == model.trained_version()
                        && snapshot.learned_online()
                            == model.learned_online().saturating_add(learned)
                        && learned <= recorded as u64 =>
                {
                    (snapshot, learned as usize)
                }
                // A snapshot is only a shortcut: one that does not read
                // back is ignored, and every example is learned again.
                Ok(_) | Err(_) => {
                    tracing::warn!(%version, "the online snapshot does not match its version; replaying every example");
                    (model, 0)
                }
            }
        }
        None => (model, 0),
    };
    let examples = store.online_examples_from(&version, skipped)?;
    let replayed = replay_online_examples(start, &examples)?;
    let recorded = skipped + examples.len();
    if examples.len() >= SNAPSHOT_AFTER_EXAMPLES {
        save_snapshot(store, &version, recorded, &replayed);
    }
    Ok((replayed, recorded))
}

/// Whether a site's report gave the label an online example learned: as
/// recorded, or, for an example recorded before that was kept, as its
/// decision's audit trail says of the label given at its time (an example
/// without a time counts as a moderator's).
pub(super) fn given_by_a_site(store: &Store, example: &OnlineExample) -> Result<bool, Error> {
    if let Some(from_site) = example.from_site {
        return Ok(from_site);
    }
    let Some(at) = example.labelled_at else {
        return Ok(false);
    };
    Ok(store
        .audit_trail(&example.decision_id)?
        .iter()
        .any(|entry| entry.at == at && entry.source == crate::review::CorrectionSource::Site))
}

/// After online learning recorded `just_learned` more examples into the
/// live model's version, `recorded` in all: saves a snapshot of the live
/// model each time the count passes another multiple of
/// [`SNAPSHOT_AFTER_EXAMPLES`], so that a restart learns fewer than that
/// many again, however much the service learned since it started. The
/// caller holds the lineage lock, so `model` has learned exactly the
/// version's recorded examples.
pub(super) fn snapshot_now_and_then(
    store: &Store,
    model: &Model,
    recorded: usize,
    just_learned: usize,
) {
    let before = recorded.saturating_sub(just_learned);
    if recorded / SNAPSHOT_AFTER_EXAMPLES > before / SNAPSHOT_AFTER_EXAMPLES {
        save_snapshot(store, model.trained_version(), recorded, model);
    }
}

/// Saves `model` as the snapshot of `version` after its first `held`
/// online examples. A snapshot that cannot be saved only means a longer
/// replay next time; the model is fine, so this only warns.
fn save_snapshot(store: &Store, version: &str, held: usize, model: &Model) {
    let saved = model.to_json().map_err(Error::from).and_then(|file| {
        store
            .save_online_snapshot(version, held as u64, &file)
            .map_err(Error::from)
    });
    if let Err(error) = saved {
        tracing::warn!(%version, %error, "cannot save the online snapshot");
    }
}

/// Learns `examples` onto `model` in order, each with its weight.
pub(super) fn replay_online_examples(
    model: Model,
    examples: &[OnlineExample],
) -> Result<Model, Error> {
    let mut model = model;
    // Runs of one weight are learned at once (one refit per run).
    for run in examples.chunk_by(|a, b| a.weight == b.weight) {
        let labelled: Vec<LabelledExample> = run.iter().map(OnlineExample::example).collect();
        model = model.learn(&labelled, run[0].weight)?;
    }
    Ok(model)
}

impl Learning {
    /// Takes the lock that serialises model changes. A panic while it was
    /// held leaves nothing half-changed (the model is swapped last), so a
    /// poisoned lock is still usable.
    pub(super) fn lineage(&self) -> std::sync::MutexGuard<'_, ModelLineage> {
        self.changes
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// A registered version's figures on the base evaluation slice, what
    /// online learning must stay close to.
    pub(super) fn baseline_of(&self, model: &Model) -> Option<Measured> {
        (!self.base.evaluation.is_empty()).then(|| measure(model, &self.base.evaluation))
    }
}

impl Engine {
    /// Every registered version, newest first, with the active one marked.
    pub fn list_models(&self) -> Result<Vec<ModelListing>, Error> {
        let active = self.store().active_model()?;
        let serving = self.model();
        let mut records = self.store().model_records()?;
        records.sort_by_key(|record| std::cmp::Reverse(record.created_at));
        Ok(records
            .into_iter()
            .map(|record| {
                let is_active = active.as_deref() == Some(record.version.as_str());
                ModelListing {
                    active: is_active,
                    serving_version: is_active.then(|| serving.version().to_string()),
                    record,
                }
            })
            .collect())
    }

    /// Serves a registered version from now on (and after restarts), with
    /// what it had learned online while it was active.
    pub async fn activate_model(self: &Arc<Self>, version: String) -> Result<ModelListing, Error> {
        let engine = Arc::clone(self);
        let listing = tokio::task::spawn_blocking(move || engine.activate_blocking(&version))
            .await
            .map_err(|error| Error::Internal(format!("the activation task failed: {error}")))??;
        Ok(listing)
    }

    fn activate_blocking(&self, version: &str) -> Result<ModelListing, Error> {
        let learning = self.learning();
        let mut lineage = learning.lineage();
        let record = self.store().model_record(version)?.ok_or_else(|| {
            // "X+N" is how a version that learned online is shown serving;
            // the registry knows it as X, which serves with what it learned.
            let trained = Model::trained_version_of(version);
            if trained != version && matches!(self.store().model_record(trained), Ok(Some(_))) {
                Error::NotFound(format!(
                    "no model version {version:?} is registered: it is version {trained:?} \
                     with what it learned online; activate {trained:?}, which serves with \
                     what it learned"
                ))
            } else {
                Error::NotFound(format!("no model version {version:?} is registered"))
            }
        })?;
        let registered = load_registered(self.store(), version)?;
        let baseline = learning.baseline_of(&registered);
        let (model, recorded) = replay_online(self.store(), registered, learning.settings())?;
        let previous = self.store().active_model()?;
        self.store().set_active_model(version)?;
        // Durable before the version serves, as a promotion is: an answered
        // activation survives a crash, and a failed one changes nothing.
        if let Err(error) = self.store().durable_blocking() {
            self.restore_active_model(previous.as_deref(), "activation");
            return Err(error.into());
        }
        lineage.baseline = baseline;
        lineage.recorded_online = Some(recorded);
        // The corrections a promoted version holds are in it still when it
        // is activated again: a labelling call in flight must not learn
        // them twice. Another version holds none of them.
        if previous.as_deref() != Some(version) {
            lineage.learned_at_promotion.clear();
        }
        let serving_version = model.version().to_string();
        self.replace_model(model);
        tracing::info!(version, serving = %serving_version, "model activated");
        Ok(ModelListing {
            record,
            active: true,
            serving_version: Some(serving_version),
        })
    }

    /// Registers a promoted candidate and makes it the active version,
    /// durably, before it serves. The corrections it did not train on
    /// (`untrained`: those its job held out, and those made while it
    /// trained) are learned onto it as online learning would learn them:
    /// only with online learning on, and only if its guard lets them
    /// through, so that the swap loses none of what online learning would
    /// have kept. Otherwise they are left for the next retrain, and the
    /// version's record lists them (`not_learned`) so that an incremental
    /// one trains on them too. `contained` are the corrections it holds
    /// already; with those learned here, they are not learned online again
    /// by a labelling call still in flight. The caller holds the change
    /// lock.
    ///
    /// All or nothing: a failing step unregisters the candidate, and the
    /// model in force, the active version and what online learning
    /// compares against stay as they were.
    pub(super) fn promote(
        &self,
        candidate: Model,
        mut record: ModelRecord,
        untrained: &[Correction],
        contained: HashSet<CorrectionKey>,
        lineage: &mut ModelLineage,
    ) -> Result<(), Error> {
        let learning = self.learning();
        let baseline = learning.baseline_of(&candidate);
        // Everything that can fail without writing comes first.
        let file = candidate.to_json()?;
        let weight = learning.settings.correction_weight();
        let untrained_examples = self.online_examples(untrained, weight);
        let learned = self.learn_at_promotion(
            &candidate,
            &untrained_examples,
            baseline.as_ref(),
            lineage.reference.as_ref(),
        )?;
        let recorded: Vec<OnlineExample> = if learned.is_some() {
            untrained_examples
        } else {
            record.not_learned = untrained
                .iter()
                .map(|correction| correction.decision_id.clone())
                .collect();
            Vec::new()
        };
        let serving = learned.unwrap_or(candidate);
        // The version to make active again if the promotion fails (none,
        // if none was ever activated).
        let previous = self.store().active_model()?;

        self.store().register_model(&record, &file)?;
        if let Err(error) = self.store_promotion(&record.version, &recorded, &serving) {
            self.undo_promotion(&record.version, previous.as_deref());
            return Err(error);
        }

        // Durable: from here on nothing fails, and the bookkeeping follows
        // the model that serves.
        lineage.baseline = baseline;
        lineage.recorded_online = Some(recorded.len());
        let mut held = contained;
        if !recorded.is_empty() {
            held.extend(untrained.iter().map(CorrectionKey::of));
        }
        lineage.learned_at_promotion = held;
        self.replace_model(serving);
        tracing::info!(version = %record.version, "model promoted");
        // The promotion is done; a failure to prune only leaves an old
        // version behind.
        prune_or_warn(
            self.store(),
            self.learning().settings.keep_models(),
            &record.version,
            previous.as_deref(),
        );
        Ok(())
    }

    /// The candidate with the corrections it did not train on learned onto
    /// it, in memory only, or `None` when they are left for the next
    /// retrain: there are none, online learning is off, the model keeps no
    /// feature counts to learn with, or the guard online learning uses
    /// refuses them (as it refuses a labelling call's batch: all or none).
    /// Each case that leaves corrections unlearned is logged.
    fn learn_at_promotion(
        &self,
        candidate: &Model,
        untrained: &[OnlineExample],
        baseline: Option<&Measured>,
        reference: Option<&super::gate::Reference>,
    ) -> Result<Option<Model>, Error> {
        if untrained.is_empty() {
            return Ok(None);
        }
        let learning = self.learning();
        let version = candidate.version();
        let count = untrained.len();
        if !learning.settings.online() {
            tracing::info!(
                %version,
                corrections = count,
                "online learning is off (learning.online): the corrections the candidate did not \
                 train on are not learned at its promotion; they stay stored for the next retrain"
            );
            return Ok(None);
        }
        if !candidate.can_learn_online() {
            tracing::warn!(
                %version,
                corrections = count,
                "the candidate keeps no feature counts, so the corrections it did not train on \
                 are not learned at its promotion; they stay stored for the next full retrain"
            );
            return Ok(None);
        }
        let examples: Vec<LabelledExample> = untrained.iter().map(OnlineExample::example).collect();
        let learned = candidate.learn(&examples, learning.settings.correction_weight())?;
        if let Some(why) =
            learning.guard_refuses(&learned, baseline, reference, "its trained model's")
        {
            tracing::warn!(
                %version,
                corrections = count,
                "with the {count} correction(s) it did not train on, the candidate {why}; they are \
                 not learned at its promotion and stay stored for the next retrain"
            );
            return Ok(None);
        }
        Ok(Some(learned))
    }

    /// The writes of a promotion after its candidate was registered: what
    /// was learned onto it, the active version, and a flush. The candidate
    /// serves only once they are durable: a crash must not take away the
    /// record of a version that served (and the decisions stamped with it).
    fn store_promotion(
        &self,
        version: &str,
        recorded: &[OnlineExample],
        serving: &Model,
    ) -> Result<(), Error> {
        if !recorded.is_empty() {
            self.store().record_online_examples(version, recorded)?;
            // A retrain holds back a share of the corrections, which can be
            // thousands: the next start need not learn them again.
            snapshot_now_and_then(self.store(), serving, recorded.len(), recorded.len());
        }
        self.store().set_active_model(version)?;
        self.store().durable_blocking()?;
        Ok(())
    }

    /// Takes back a promotion that failed after its candidate was
    /// registered: the version active before is active again, and the
    /// candidate is unregistered (with what was recorded under it), so
    /// that a later retrain that builds the same model can promote it (a
    /// registered version is not promoted twice). Best effort, after a
    /// failure of the store: what cannot be undone is logged.
    fn undo_promotion(&self, version: &str, previous: Option<&str>) {
        self.restore_active_model(previous, "promotion");
        if let Err(error) = self.store().remove_model(version) {
            tracing::error!(%error, %version, "cannot unregister the candidate of the failed promotion");
        }
    }

    /// Makes `previous` the active version again after a failed `change`
    /// (an activation or a promotion), or none when none was active. Best
    /// effort, after a failure of the store: what cannot be undone is
    /// logged.
    fn restore_active_model(&self, previous: Option<&str>, change: &str) {
        let restored = match previous {
            Some(previous) => self.store().set_active_model(previous),
            None => self.store().clear_active_model(),
        };
        if let Err(error) = restored {
            tracing::error!(
                %error,
                previous = previous.unwrap_or("none"),
                "cannot restore the active version after the failed {change}"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Label;

    /// An example recorded before online examples said who gave their
    /// label is told apart by its decision's audit trail: a site's report
    /// at the example's time makes it a site's.
    #[test]
    fn an_older_example_is_a_sites_when_its_audit_trail_says_so() {
        use crate::review::{CorrectionSource, LabelRequest, SiteScope};
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        for id in ["reported", "moderated"] {
            store
                .insert_decision(&crate::domain::test_support::decision(id, "a.example", id))
                .unwrap();
        }
        let label = |id: &str, source, at| {
            let request = LabelRequest {
                label: Label::Spam,
                by: "someone".to_string(),
                key_name: "key".to_string(),
                source,
                note: String::new(),
                shown: Default::default(),
            };
            store
                .apply_labels(&[id.to_string()], &SiteScope::All, &request, UnixMillis(at))
                .unwrap();
        };
        label("reported", CorrectionSource::Site, 10);
        label("moderated", CorrectionSource::Moderator, 20);
        let older = |id: &str, at| OnlineExample {
            decision_id: id.to_string(),
            labelled_at: Some(UnixMillis(at)),
            ..examples(1, 0).remove(0)
        };
        assert!(given_by_a_site(&store, &older("reported", 10)).unwrap());
        assert!(!given_by_a_site(&store, &older("moderated", 20)).unwrap());
        // Another time, or none: not the report's label.
        assert!(!given_by_a_site(&store, &older("reported", 11)).unwrap());
        let timeless = OnlineExample {
            labelled_at: None,
            ..older("reported", 10)
        };
        assert!(!given_by_a_site(&store, &timeless).unwrap());
        // As recorded since, whatever the trail says.
        let recorded = OnlineExample {
            from_site: Some(false),
            ..older("reported", 10)
        };
        assert!(!given_by_a_site(&store, &recorded).unwrap());
    }

    fn examples(count: usize, first: usize) -> Vec<OnlineExample> {
        (first..first + count)
            .map(|index| OnlineExample {
                decision_id: format!("d{index}"),
                text: format!(
                    "comment {index} about the timetable, see www.site{}.example",
                    index % 7
                ),
                label: if index % 3 == 0 {
                    Label::Spam
                } else {
                    Label::Ham
                },
                // Two runs of different weights, so that the snapshot falls
                // inside a run as well as between runs.
                weight: if index < 700 { 1.0 } else { 3.0 },
                labelled_at: None,
                site_id: None,
                hosts: Vec::new(),
                from_site: None,
            })
            .collect()
    }

    #[test]
    fn a_replay_from_the_snapshot_gives_the_same_model_as_a_full_replay() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let base = Model::embedded_default().unwrap();
        let version = base.version().to_string();
        let first = examples(SNAPSHOT_AFTER_EXAMPLES + 200, 0);
        store.record_online_examples(&version, &first).unwrap();

        let replayed = replay_online(&store, base.clone(), &LearningSettings::default())
            .unwrap()
            .0;
        let full = replay_online_examples(base.clone(), &first).unwrap();
        assert_eq!(replayed.to_json().unwrap(), full.to_json().unwrap());
        let (learned, _) = store.online_snapshot(&version).unwrap().unwrap();
        assert_eq!(learned, first.len() as u64);

        // Ten more: too few for a new snapshot; the replay learns them on
        // top of the snapshot and matches learning everything again.
        let more = examples(10, first.len());
        store.record_online_examples(&version, &more).unwrap();
        let replayed = replay_online(&store, base.clone(), &LearningSettings::default())
            .unwrap()
            .0;
        let everything: Vec<OnlineExample> = first.iter().chain(&more).cloned().collect();
        let full = replay_online_examples(base, &everything).unwrap();
        assert_eq!(replayed.to_json().unwrap(), full.to_json().unwrap());
        assert_eq!(
            replayed.version(),
            format!("{version}+{}", everything.len())
        );
        assert_eq!(
            store.online_snapshot(&version).unwrap().unwrap().0,
            first.len() as u64
        );
    }

    /// A file saved after online learning, and the state an older
    /// moderato left after starting with it: configured and active as
    /// `X+1`, registered as `X`.
    fn learned_file_as_an_older_version_left_it(store: &Store) -> Model {
        let base = Model::embedded_default().unwrap();
        let example = crate::classifier::LabelledExample {
            text: "zorblat signals paid me".to_string(),
            label: Label::Spam,
            group: None,
            post_title: None,
            site: crate::classifier::SiteHosts::default(),
        };
        let learned = base.learn(&[example], 1.0).unwrap();
        store
            .register_model(
                &record_for(&learned, "learned.json", None, None),
                &learned.to_json().unwrap(),
            )
            .unwrap();
        store.set_active_model(learned.version()).unwrap();
        store.set_configured_model(learned.version()).unwrap();
        learned
    }

    #[test]
    fn a_learned_file_an_older_version_served_keeps_serving_under_its_new_name() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let learned = learned_file_as_an_older_version_left_it(&store);
        let served = startup_model(
            &store,
            learned.clone(),
            "learned.json",
            &Learning::default(),
        )
        .unwrap();
        assert!(!served.version().contains('+'), "{}", served.version());
        // The stored names followed the file's.
        assert_eq!(
            store.configured_model().unwrap().as_deref(),
            Some(served.version())
        );
        let probe = "zorblat signals again";
        assert_eq!(served.probability(probe), learned.probability(probe));
        assert_eq!(
            store.active_model().unwrap().as_deref(),
            Some(served.version())
        );
        assert!(store.model_record(served.version()).unwrap().is_some());
    }

    /// The built-in model as a new version named `name`, created after
    /// every version made before (pruning orders versions by their creation
    /// time, in milliseconds).
    fn later_version(name: &str) -> Model {
        std::thread::sleep(std::time::Duration::from_millis(5));
        Model::embedded_default()
            .unwrap()
            .as_new_version(name)
            .unwrap()
    }

    fn registered_versions(store: &Store) -> Vec<String> {
        store
            .model_records()
            .unwrap()
            .into_iter()
            .map(|record| record.version)
            .collect()
    }

    /// Deploying model file after model file keeps the registry within
    /// `keep_models`, as promotions do.
    #[test]
    fn deployed_files_are_kept_within_the_bound_of_the_registry() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let learning = Learning::new(
            crate::learning::LearningParams {
                keep_models: 2,
                ..Default::default()
            }
            .check()
            .unwrap(),
            crate::learning::BaseCorpus::default(),
        );
        let mut deployed = Vec::new();
        for name in ["first", "second", "third"] {
            let model = later_version(name);
            let served = startup_model(&store, model, name, &learning).unwrap();
            deployed.push(served.version().to_string());
        }
        let kept = registered_versions(&store);
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert!(kept.contains(&deployed[2]), "{kept:?}");
        assert!(!kept.contains(&deployed[0]), "{kept:?}");
    }

    /// After a rollback to an old version, the next promotion keeps the
    /// version it replaced, although that one is the oldest: it is the one
    /// an operator would roll back to again.
    #[test]
    fn pruning_keeps_the_version_just_replaced_even_when_it_is_the_oldest() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let mut registered = Vec::new();
        for name in ["rolled-back-to", "rolled-away-from", "promoted"] {
            let model = later_version(name);
            store
                .register_model(
                    &record_for(&model, "test", None, None),
                    &model.to_json().unwrap(),
                )
                .unwrap();
            registered.push(model.version().to_string());
        }
        // Named as a version that learned online is served.
        let served = format!("{}+3", registered[0]);
        prune_or_warn(&store, 2, &registered[2], Some(&served));
        let kept = registered_versions(&store);
        assert_eq!(kept.len(), 2, "{kept:?}");
        assert!(kept.contains(&registered[0]), "{kept:?}");
        assert!(kept.contains(&registered[2]), "{kept:?}");
    }

    #[test]
    fn a_model_promoted_after_a_learned_file_stays_active_after_an_upgrade() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let learned = learned_file_as_an_older_version_left_it(&store);
        // Promoted since: another version is active.
        let promoted = Model::embedded_default()
            .unwrap()
            .as_new_version("retrained")
            .unwrap();
        store
            .register_model(
                &record_for(&promoted, "retrain job", None, None),
                &promoted.to_json().unwrap(),
            )
            .unwrap();
        store.set_active_model(promoted.version()).unwrap();
        let served = startup_model(&store, learned, "learned.json", &Learning::default()).unwrap();
        assert_eq!(served.version(), promoted.version());
    }

    #[tokio::test]
    async fn a_label_learned_at_a_promotion_is_not_learned_again_online() {
        use crate::domain::{UnixMillis, Verdict};
        use crate::review::{Correction, CorrectionSource};

        let directory = tempfile::tempdir().unwrap();
        let (store, base, engine) = engine_on_the_built_in_model(directory.path());
        let correction = Correction {
            decision_id: "d1".to_string(),
            site_id: "site.example".to_string(),
            comment_id: "c1".to_string(),
            content: "cheap pills at www.pills.example".to_string(),
            label: Label::Spam,
            verdict: Verdict::Allow,
            model_version: base.version().to_string(),
            source: CorrectionSource::Moderator,
            by: "moderator".to_string(),
            at: UnixMillis(5),
        };
        // Another label the retrain trained its candidate on.
        let trained = Correction {
            decision_id: "d2".to_string(),
            comment_id: "c2".to_string(),
            ..correction.clone()
        };
        // The label is stored before a retrain reads the corrections; the
        // promotion learns it onto the candidate ...
        let candidate = base.as_new_version("retrained").unwrap();
        let record = ModelRecord {
            version: candidate.version().to_string(),
            created_at: candidate.created_at(),
            origin: "test".to_string(),
            summary: candidate.summary().clone(),
            metrics: None,
            trained_through: Some(UnixMillis(1)),
            not_learned: Vec::new(),
        };
        {
            let mut lineage = engine.learning().lineage();
            engine
                .promote(
                    candidate.clone(),
                    record,
                    std::slice::from_ref(&correction),
                    HashSet::from([CorrectionKey::of(&trained)]),
                    &mut lineage,
                )
                .unwrap();
        }
        assert_eq!(engine.model().learned_online(), 1);
        // ... and the labelling call learns it online only afterwards; so
        // with a label the candidate trained on.
        engine
            .learn_online(vec![correction.clone(), trained])
            .await
            .unwrap();
        assert_eq!(engine.model().learned_online(), 1);
        assert_eq!(store.online_example_count(candidate.version()).unwrap(), 1);
        // A later label of the same decision is a new correction.
        let relabel = Correction {
            label: Label::Ham,
            at: UnixMillis(9),
            ..correction
        };
        engine.learn_online(vec![relabel]).await.unwrap();
        assert_eq!(engine.model().learned_online(), 2);
        assert_eq!(store.online_example_count(candidate.version()).unwrap(), 2);
    }

    /// A label committed before its comment was forgotten, and learned
    /// online only after, teaches nothing.
    #[tokio::test]
    async fn a_label_of_a_comment_forgotten_before_it_was_learned_is_not_learned() {
        use crate::domain::test_support::decision;
        use crate::store::Forgotten;

        let directory = tempfile::tempdir().unwrap();
        let (store, base, engine) = engine_on_the_built_in_model(directory.path());
        let forgotten = engine
            .learning()
            .forgetting(|| {
                Ok::<_, Error>(Some(Forgotten {
                    decision: decision("d-gone", "site.example", "c-d-gone"),
                    online_examples: 0,
                }))
            })
            .unwrap();
        assert!(forgotten.is_some());
        engine
            .learn_online(vec![
                correction("d-gone", "cheap pills at www.pills.example", Label::Spam),
                correction("d-kept", "cheap pills at www.pills.example", Label::Spam),
            ])
            .await
            .unwrap();
        assert_eq!(engine.model().learned_online(), 1);
        let learned = store.online_examples(base.version()).unwrap();
        assert_eq!(learned.len(), 1);
        assert_eq!(learned[0].decision_id, "d-kept");
    }

    /// A store in `directory` and an engine on it serving the built-in
    /// model, with the default thresholds and rules.
    fn engine_on_the_built_in_model(
        directory: &std::path::Path,
    ) -> (Store, Model, std::sync::Arc<crate::engine::Engine>) {
        let store = Store::open(directory).unwrap();
        let base = Model::embedded_default().unwrap();
        let engine = std::sync::Arc::new(crate::engine::Engine::new(
            store.clone(),
            base.clone(),
            crate::verdict::Thresholds::default(),
            crate::rules::Rules::default(),
        ));
        (store, base, engine)
    }

    /// A moderator's label of a comment of `text`.
    fn correction(decision_id: &str, text: &str, label: Label) -> Correction {
        Correction {
            decision_id: decision_id.to_string(),
            site_id: "site.example".to_string(),
            comment_id: format!("c-{decision_id}"),
            content: text.to_string(),
            label,
            verdict: crate::domain::Verdict::Allow,
            model_version: "m".to_string(),
            source: crate::review::CorrectionSource::Moderator,
            by: "moderator".to_string(),
            at: UnixMillis(5),
        }
    }

    /// An engine serving the built-in model, registered and active, with
    /// these learning settings and base corpus; and a candidate (the same
    /// numbers under a version of their own) with the record a retrain
    /// would register it with.
    fn engine_and_candidate(
        directory: &std::path::Path,
        params: crate::learning::LearningParams,
        base: crate::learning::BaseCorpus,
    ) -> (Arc<Engine>, Model, ModelRecord) {
        let store = Store::open(directory).unwrap();
        let base_model = Model::embedded_default().unwrap();
        store
            .register_model(
                &record_for(&base_model, "built in", None, None),
                &base_model.to_json().unwrap(),
            )
            .unwrap();
        store.set_active_model(base_model.version()).unwrap();
        let engine = Arc::new(
            Engine::new(
                store,
                base_model.clone(),
                crate::verdict::Thresholds::default(),
                crate::rules::Rules::default(),
            )
            .with_learning(Learning::new(params.check().unwrap(), base)),
        );
        let candidate = base_model.as_new_version("retrained").unwrap();
        let record = record_for(&candidate, "retrain job test", None, Some(UnixMillis(10)));
        (engine, candidate, record)
    }

    #[test]
    fn with_online_learning_off_a_promotion_leaves_what_it_held_out_for_the_next_retrain() {
        let directory = tempfile::tempdir().unwrap();
        let (engine, candidate, record) = engine_and_candidate(
            directory.path(),
            crate::learning::LearningParams {
                online: false,
                ..Default::default()
            },
            crate::learning::BaseCorpus::default(),
        );
        let held_out = correction("d1", "cheap pills at www.pills.example", Label::Spam);
        {
            let mut lineage = engine.learning().lineage();
            engine
                .promote(
                    candidate.clone(),
                    record,
                    std::slice::from_ref(&held_out),
                    HashSet::new(),
                    &mut lineage,
                )
                .unwrap();
            assert_eq!(lineage.recorded_online, Some(0));
            assert!(!lineage
                .learned_at_promotion
                .contains(&CorrectionKey::of(&held_out)));
        }
        // The candidate serves as it was trained: nothing learned onto it,
        // nothing recorded to learn again at the next start.
        assert_eq!(engine.model().version(), candidate.version());
        let store = engine.store();
        assert_eq!(store.online_example_count(candidate.version()).unwrap(), 0);
        assert_eq!(
            store.active_model().unwrap().as_deref(),
            Some(candidate.version())
        );
        // Its record says which correction it lacks, though older than
        // `trained_through`, for the next incremental retrain to train on.
        let stored = store.model_record(candidate.version()).unwrap().unwrap();
        assert_eq!(stored.not_learned, vec!["d1".to_string()]);
    }

    /// Trusted ham of the base corpus in the guard's tests.
    const TRUSTED_HAM: [&str; 4] = [
        "the quarterly budget meeting notes are attached",
        "thanks for the recipe, the soup was lovely",
        "our village library reopens on tuesday morning",
        "i agree with the council about the new cycle lanes",
    ];

    /// A small base corpus, all of it the evaluation slice too.
    fn small_base_corpus() -> crate::learning::BaseCorpus {
        let spam = [
            "free money click here www.win.example",
            "cheap pills no prescription",
        ];
        let evaluation: Vec<LabelledExample> = TRUSTED_HAM
            .iter()
            .map(|text| (text, Label::Ham))
            .chain(spam.iter().map(|text| (text, Label::Spam)))
            .map(|(text, label)| LabelledExample {
                text: text.to_string(),
                label,
                group: None,
                post_title: None,
                site: crate::classifier::SiteHosts::default(),
            })
            .collect();
        crate::learning::BaseCorpus {
            examples: evaluation.clone(),
            evaluation,
            sources: vec!["test".to_string()],
        }
    }

    #[test]
    fn the_guard_compares_with_the_deployed_model_too() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let learning = Learning::new(
            crate::learning::LearningParams::default().check().unwrap(),
            small_base_corpus(),
        );
        let deployed = Model::embedded_default().unwrap();
        startup_model(&store, deployed.clone(), "built in", &learning).unwrap();
        let reference = learning.lineage().reference.clone().unwrap();
        assert_eq!(reference.version, deployed.version());
        // Compared with itself as the version it grew from, the model
        // passes.
        let baseline = learning.baseline_of(&deployed).unwrap();
        assert_eq!(
            learning.guard_refuses(&deployed, Some(&baseline), Some(&reference), "its"),
            None
        );
        // A version it grew from that found the trusted ham a little less
        // suspicious lets it through within the tolerance; a deployed model
        // that found it far less suspicious does not: the version in force
        // is already far from it, so the bound is that version itself.
        let mut grew_from = baseline.clone();
        grew_from.mean_ham_score -= 0.01;
        assert_eq!(
            learning.guard_refuses(&deployed, Some(&grew_from), None, "its"),
            None
        );
        let mut stricter = reference.clone();
        stricter.figures.mean_ham_score -= 0.5;
        let why = learning
            .guard_refuses(&deployed, Some(&grew_from), Some(&stricter), "its")
            .unwrap();
        assert!(why.contains("deployed model"), "{why}");
        // With the version in force where the learned model is, the
        // distant deployed model refuses nothing: learning may go on.
        assert_eq!(
            learning.guard_refuses(&deployed, Some(&baseline), Some(&stricter), "its"),
            None
        );
    }

    #[test]
    fn the_online_guard_keeps_poisoned_held_out_corrections_from_a_promoted_candidate() {
        let directory = tempfile::tempdir().unwrap();
        let ham = TRUSTED_HAM;
        let base = small_base_corpus();
        let (engine, candidate, record) = engine_and_candidate(
            directory.path(),
            // Online learning on, its guard at the default tolerance; each
            // correction counts as ten examples, so that the poisoning
            // cannot go unnoticed.
            crate::learning::LearningParams {
                correction_weight: 10.0,
                ..Default::default()
            },
            base,
        );
        // The held-out corrections call the trusted ham spam.
        let poisoned: Vec<Correction> = ham
            .iter()
            .enumerate()
            .map(|(index, text)| correction(&format!("d{index}"), text, Label::Spam))
            .collect();
        {
            let mut lineage = engine.learning().lineage();
            engine
                .promote(
                    candidate.clone(),
                    record,
                    &poisoned,
                    HashSet::new(),
                    &mut lineage,
                )
                .unwrap();
            // A labelling call still in flight may offer them to online
            // learning, whose guard judges them again.
            assert!(poisoned.iter().all(|correction| !lineage
                .learned_at_promotion
                .contains(&CorrectionKey::of(correction))));
        }
        assert_eq!(engine.model().version(), candidate.version());
        let store = engine.store();
        assert_eq!(store.online_example_count(candidate.version()).unwrap(), 0);
        let stored = store.model_record(candidate.version()).unwrap().unwrap();
        assert_eq!(stored.not_learned, vec!["d0", "d1", "d2", "d3"]);
    }

    /// Activating the version already active keeps what its promotion
    /// learned: a labelling call in flight would learn those corrections
    /// twice. Another version's activation forgets them.
    #[test]
    fn activating_the_active_version_again_keeps_what_its_promotion_learned() {
        let directory = tempfile::tempdir().unwrap();
        let (engine, candidate, record) = engine_and_candidate(
            directory.path(),
            crate::learning::LearningParams::default(),
            crate::learning::BaseCorpus::default(),
        );
        let before = engine.store().active_model().unwrap();
        let trained_on = correction("d0", "cheap pills at www.pills.example", Label::Spam);
        {
            let mut lineage = engine.learning().lineage();
            engine
                .promote(
                    candidate.clone(),
                    record,
                    &[],
                    HashSet::from([CorrectionKey::of(&trained_on)]),
                    &mut lineage,
                )
                .unwrap();
        }
        let held = || engine.learning().lineage().learned_at_promotion.clone();
        engine.activate_blocking(candidate.version()).unwrap();
        assert_eq!(held(), HashSet::from([CorrectionKey::of(&trained_on)]));
        let other = before.expect("the built-in version is active");
        engine.activate_blocking(&other).unwrap();
        assert!(held().is_empty());
    }

    #[test]
    fn an_activation_that_cannot_be_made_durable_changes_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let (engine, candidate, record) = engine_and_candidate(
            directory.path(),
            crate::learning::LearningParams::default(),
            crate::learning::BaseCorpus::default(),
        );
        let serving = engine.model().version().to_string();
        engine
            .store()
            .register_model(&record, &candidate.to_json().unwrap())
            .unwrap();
        engine.store().fail_flushes("the disk is gone");
        let error = engine.activate_blocking(candidate.version()).unwrap_err();
        assert!(error.to_string().contains("the disk is gone"), "{error}");
        assert_eq!(engine.model().version(), serving);
        assert_eq!(
            engine.store().active_model().unwrap().as_deref(),
            Some(serving.as_str())
        );
        // Where no version was ever activated, none is active after it
        // either (a later start must not take up the failed activation).
        engine.store().clear_active_model().unwrap();
        assert!(engine.activate_blocking(candidate.version()).is_err());
        assert_eq!(engine.store().active_model().unwrap(), None);
        assert_eq!(engine.model().version(), serving);
    }

    #[test]
    fn a_promotion_that_cannot_be_made_durable_changes_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let (engine, candidate, record) = engine_and_candidate(
            directory.path(),
            crate::learning::LearningParams::default(),
            crate::learning::BaseCorpus::default(),
        );
        let serving = engine.model().version().to_string();
        let held_out = correction("d1", "cheap pills at www.pills.example", Label::Spam);
        let earlier = correction("d0", "an earlier label", Label::Ham);
        {
            let mut lineage = engine.learning().lineage();
            lineage.recorded_online = Some(7);
            lineage.learned_at_promotion = HashSet::from([CorrectionKey::of(&earlier)]);
        }
        engine.store().fail_flushes("the disk is gone");
        {
            let mut lineage = engine.learning().lineage();
            let error = engine
                .promote(
                    candidate.clone(),
                    record,
                    std::slice::from_ref(&held_out),
                    HashSet::new(),
                    &mut lineage,
                )
                .unwrap_err();
            assert!(error.to_string().contains("the disk is gone"), "{error}");
            // What online learning compares against is as it was.
            assert_eq!(lineage.recorded_online, Some(7));
            assert_eq!(
                lineage.learned_at_promotion,
                HashSet::from([CorrectionKey::of(&earlier)])
            );
        }
        // The model in force and the active version are as they were, and
        // the candidate, never served, is not registered: a later retrain
        // that builds it can promote it.
        assert_eq!(engine.model().version(), serving);
        let store = engine.store();
        assert_eq!(
            store.active_model().unwrap().as_deref(),
            Some(serving.as_str())
        );
        assert!(store.model_record(candidate.version()).unwrap().is_none());
        assert!(store.model_file(candidate.version()).unwrap().is_none());
        assert_eq!(store.online_example_count(candidate.version()).unwrap(), 0);
    }

    #[tokio::test]
    async fn the_service_saves_a_snapshot_each_time_it_has_learned_enough() {
        use crate::domain::{UnixMillis, Verdict};
        use crate::engine::Engine;
        use crate::learning::OnlineOutcome;
        use crate::review::{Correction, CorrectionSource};

        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let base = Model::embedded_default().unwrap();
        let version = base.version().to_string();
        let engine = std::sync::Arc::new(Engine::new(
            store.clone(),
            base.clone(),
            crate::verdict::Thresholds::default(),
            crate::rules::Rules::default(),
        ));
        let corrections: Vec<Correction> = examples(2 * SNAPSHOT_AFTER_EXAMPLES + 150, 0)
            .into_iter()
            .map(|example| Correction {
                comment_id: format!("c-{}", example.decision_id),
                decision_id: example.decision_id,
                site_id: "site.example".to_string(),
                content: example.text,
                label: example.label,
                verdict: Verdict::Allow,
                model_version: version.clone(),
                source: CorrectionSource::Moderator,
                by: "moderator".to_string(),
                at: UnixMillis(0),
            })
            .collect();
        // Batches of 150: the count passes 1,000 inside the seventh batch
        // (1,050) and 2,000 inside the fourteenth (2,100); the last batch
        // comes after the second snapshot.
        let mut snapshots = Vec::new();
        for batch in corrections.chunks(150) {
            let outcome = engine.learn_online(batch.to_vec()).await.unwrap();
            assert!(
                matches!(outcome, OnlineOutcome::Learned { .. }),
                "{outcome:?}"
            );
            let snapshot = store.online_snapshot(&version).unwrap();
            snapshots.push(snapshot.as_ref().map(|(held, _)| *held));
            if let Some((held, file)) = snapshot {
                if held as usize == snapshots.len() * 150 {
                    // Saved by this batch: the live model as it is now.
                    assert_eq!(file, engine.model().to_json().unwrap());
                }
            }
        }
        let expected: Vec<Option<u64>> = (1..=snapshots.len())
            .map(|batches| match batches {
                0..=6 => None,
                7..=13 => Some(1_050),
                _ => Some(2_100),
            })
            .collect();
        assert_eq!(snapshots, expected);
        // A restart starts from the second snapshot, learns the last batch
        // again, and arrives at the live model.
        let (replayed, recorded) =
            replay_online(&store, base, &LearningSettings::default()).unwrap();
        assert_eq!(recorded, corrections.len());
        assert_eq!(
            replayed.to_json().unwrap(),
            engine.model().to_json().unwrap()
        );
    }

    #[test]
    fn the_replay_starts_from_a_matching_snapshot_and_ignores_one_that_does_not_match() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let base = Model::embedded_default().unwrap();
        let version = base.version().to_string();
        let recorded = examples(5, 0);
        store.record_online_examples(&version, &recorded).unwrap();
        // A snapshot of five other examples: a replay that trusts it differs
        // from one that learns the recorded examples.
        let other = replay_online_examples(base.clone(), &examples(5, 500)).unwrap();
        let honest = replay_online_examples(base.clone(), &recorded).unwrap();
        assert_ne!(other.to_json().unwrap(), honest.to_json().unwrap());

        store
            .save_online_snapshot(&version, 5, &other.to_json().unwrap())
            .unwrap();
        let replayed = replay_online(&store, base.clone(), &LearningSettings::default())
            .unwrap()
            .0;
        assert_eq!(replayed.to_json().unwrap(), other.to_json().unwrap());

        // The count does not match what the snapshot learned: ignored.
        store
            .save_online_snapshot(&version, 4, &other.to_json().unwrap())
            .unwrap();
        let replayed = replay_online(&store, base.clone(), &LearningSettings::default())
            .unwrap()
            .0;
        assert_eq!(replayed.to_json().unwrap(), honest.to_json().unwrap());

        // Not a model file: ignored too.
        store.save_online_snapshot(&version, 5, b"{broken").unwrap();
        let replayed = replay_online(&store, base.clone(), &LearningSettings::default())
            .unwrap()
            .0;
        assert_eq!(replayed.to_json().unwrap(), honest.to_json().unwrap());

        // Removing the version removes its snapshot.
        store.remove_model(&version).unwrap();
        assert!(store.online_snapshot(&version).unwrap().is_none());
    }
}
