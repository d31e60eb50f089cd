//! The model registry as the engine uses it: choosing the model at
//! start-up, listing versions, activating one (roll back or forward without
//! a restart), registering a promoted candidate and pruning old versions.

use std::sync::Arc;

use super::{measure, Learning, Measured, ModelLineage, ModelRecord};
use crate::classifier::{BinaryMetrics, Model};
use crate::engine::Engine;
use crate::error::Error;
use crate::store::Store;

/// A registered version as `ListModels` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelListing {
    pub record: ModelRecord,
    pub active: bool,
    /// For the active version: the version serving now, which adds what was
    /// learned online (`<version>+N`).
    pub serving_version: Option<String>,
}

/// The registry record of a model that is not a retrain's candidate.
fn record_for(model: &Model, origin: &str, metrics: Option<BinaryMetrics>) -> ModelRecord {
    ModelRecord {
        version: model.trained_version().to_string(),
        created_at: model.created_at(),
        origin: origin.to_string(),
        summary: model.summary().clone(),
        metrics: metrics.or_else(|| model.cross_validation().cloned()),
    }
}

/// Chooses the model to serve at start-up. A configured (or built-in) model
/// the registry has not seen is registered and becomes active: deploying a
/// new model file means serving it. Otherwise the registry's active version
/// is served, with what it had learned online, so promotions, rollbacks and
/// online learning survive restarts.
pub fn startup_model(
    store: &Store,
    configured: Model,
    origin: &str,
    learning: &Learning,
) -> Result<Model, Error> {
    let registered = store.model_record(configured.version())?.is_some();
    let active = match store.active_model()? {
        Some(active) if registered => active,
        _ => {
            if !registered {
                store.register_model(
                    &record_for(&configured, origin, None),
                    &configured.to_json()?,
                )?;
            }
            store.set_active_model(configured.version())?;
            store.flush()?;
            configured.version().to_string()
        }
    };
    let model = if active == configured.version() {
        configured
    } else {
        load_registered(store, &active)?
    };
    learning.start_lineage(&model);
    replay_online(store, model, learning)
}

/// A registered version's model, from its stored file.
fn load_registered(store: &Store, version: &str) -> Result<Model, Error> {
    let bytes = store
        .model_file(version)?
        .ok_or_else(|| Error::NotFound(format!("no model version {version:?} is registered")))?;
    Ok(Model::from_json(
        &format!("registered model {version}"),
        &bytes,
    )?)
}

/// Learns again, in order, what the version had learned online.
fn replay_online(store: &Store, model: Model, learning: &Learning) -> Result<Model, Error> {
    let examples = store.online_examples(model.version())?;
    if examples.is_empty() {
        return Ok(model);
    }
    let labelled: Vec<_> = examples
        .iter()
        .map(|example| crate::classifier::LabelledExample {
            text: example.text.clone(),
            label: example.label,
            group: None,
        })
        .collect();
    Ok(model.learn(&labelled, learning.settings.correction_weight())?)
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

    /// Starts comparing online learning with a newly active version.
    fn start_lineage(&self, model: &Model) {
        let baseline = self.baseline_of(model);
        self.lineage().baseline = baseline;
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
        self.store().durable().await?;
        Ok(listing)
    }

    fn activate_blocking(&self, version: &str) -> Result<ModelListing, Error> {
        let learning = self.learning();
        let mut lineage = learning.lineage();
        let record = self.store().model_record(version)?.ok_or_else(|| {
            Error::NotFound(format!("no model version {version:?} is registered"))
        })?;
        let model = load_registered(self.store(), version)?;
        lineage.baseline = learning.baseline_of(&model);
        let model = replay_online(self.store(), model, learning)?;
        self.store().set_active_model(version)?;
        let serving_version = model.version().to_string();
        self.replace_model(model);
        tracing::info!(version, serving = %serving_version, "model activated");
        Ok(ModelListing {
            record,
            active: true,
            serving_version: Some(serving_version),
        })
    }

    /// Registers a promoted candidate, makes it active and prunes the
    /// registry. The caller holds the change lock.
    pub(super) fn promote(
        &self,
        model: Model,
        origin: &str,
        metrics: BinaryMetrics,
        lineage: &mut ModelLineage,
    ) -> Result<(), Error> {
        let record = record_for(&model, origin, Some(metrics));
        self.store().register_model(&record, &model.to_json()?)?;
        self.store().set_active_model(&record.version)?;
        lineage.baseline = self.learning().baseline_of(&model);
        self.replace_model(model);
        self.prune_models(&record.version)?;
        tracing::info!(version = %record.version, "model promoted");
        Ok(())
    }

    /// Deletes the oldest versions beyond the configured count, never the
    /// active one.
    fn prune_models(&self, active: &str) -> Result<(), Error> {
        let keep = self.learning().settings.keep_models();
        let mut records = self.store().model_records()?;
        records.sort_by_key(|record| std::cmp::Reverse(record.created_at));
        // The active version always stays and counts as one of those kept.
        let mut others_kept = 0;
        for record in records {
            if record.version == active {
                continue;
            }
            if others_kept + 1 < keep {
                others_kept += 1;
            } else {
                self.store().remove_model(&record.version)?;
            }
        }
        Ok(())
    }
}
