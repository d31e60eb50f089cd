//! Conversions of the `Training` service's messages.

use super::convert::time_to_proto;
use super::pb;
use crate::classifier::BinaryMetrics;
use crate::error::{Echo, Error};
use crate::learning::{JobState, ModelListing, RetrainJob};
use crate::limits::MAX_MODEL_VERSION_BYTES;

pub fn metrics_to_proto(metrics: &BinaryMetrics) -> pb::ModelMetrics {
    pb::ModelMetrics {
        examples: metrics.examples,
        accuracy: metrics.accuracy,
        precision: metrics.precision,
        recall: metrics.recall,
        f1: metrics.f1,
        mcc: metrics.mcc,
        fpr: metrics.fpr,
        auc: metrics.auc,
    }
}

fn job_state_to_proto(state: JobState) -> pb::JobState {
    match state {
        JobState::Queued => pb::JobState::Queued,
        JobState::Running => pb::JobState::Running,
        JobState::Succeeded => pb::JobState::Succeeded,
        JobState::Failed => pb::JobState::Failed,
    }
}

pub fn job_to_proto(job: &RetrainJob) -> pb::RetrainJob {
    let metrics =
        (job.active_metrics.is_some() || job.candidate_metrics.is_some()).then(|| pb::JobMetrics {
            active: job.active_metrics.as_ref().map(metrics_to_proto),
            candidate: job.candidate_metrics.as_ref().map(metrics_to_proto),
        });
    pb::RetrainJob {
        job_id: job.job_id.clone(),
        state: job_state_to_proto(job.state).into(),
        progress: job.progress,
        examples: job.examples,
        candidate_version: job.candidate_version.clone(),
        metrics,
        promoted: job.promoted,
        message: job.message.clone(),
        created_at: Some(time_to_proto(job.created_at)),
        finished_at: job.finished_at.map(time_to_proto),
        active_version: job.active_version.clone(),
        full: job.full,
        dry_run: job.dry_run,
    }
}

pub fn model_to_proto(listing: &ModelListing) -> pb::ModelInfo {
    let record = &listing.record;
    pb::ModelInfo {
        version: record.version.clone(),
        created_at: Some(time_to_proto(record.created_at)),
        metrics: record.metrics.as_ref().map(metrics_to_proto),
        active: listing.active,
        examples: record.summary.examples,
        serving_version: listing.serving_version.clone().unwrap_or_default(),
        origin: record.origin.clone(),
    }
}

/// Job ids are UUIDs, written as this service writes them (lower case,
/// hyphenated); anything else cannot name a job.
pub fn check_job_id(job_id: &str) -> Result<(), Error> {
    if super::convert::is_canonical_uuid(job_id) {
        return Ok(());
    }
    Err(Error::invalid_argument(
        "job_id",
        format!(
            "{} is not a job id (a UUID in lower case with hyphens)",
            Echo(job_id)
        ),
    ))
}

/// A model version names a registered model: bounded, printable text.
pub fn check_version(version: &str) -> Result<(), Error> {
    if version.is_empty() {
        return Err(Error::invalid_argument("version", "is required"));
    }
    super::convert::check_length("version", version, MAX_MODEL_VERSION_BYTES)?;
    if version.chars().any(char::is_control) {
        return Err(Error::invalid_argument(
            "version",
            "must not contain control characters",
        ));
    }
    Ok(())
}
