//! The client side of the `Training` service, for `moderato retrain` and
//! `moderato models`: plain values in and out, so that nothing outside
//! `grpc` touches prost.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::Channel;

use super::client::{connect, with_authorization, ClientError, Target};
use super::pb;

/// A model's figures as the command line shows them.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    pub examples: u64,
    pub mcc: f64,
    pub fpr: f64,
    pub auc: f64,
}

/// A retraining job as the command line shows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobView {
    pub job_id: String,
    /// "queued", "running", "succeeded" or "failed".
    pub state: &'static str,
    pub progress: f64,
    pub examples: u64,
    pub candidate_version: String,
    pub active_version: String,
    pub active: Option<Figures>,
    pub candidate: Option<Figures>,
    pub promoted: bool,
    pub message: String,
}

impl JobView {
    /// Whether the job is over, or in a state this client does not know
    /// (a newer server's), which waiting would never end.
    pub fn finished(&self) -> bool {
        !matches!(self.state, "queued" | "running")
    }
}

/// A registered model version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelView {
    pub version: String,
    pub serving_version: String,
    pub active: bool,
    pub examples: u64,
    pub origin: String,
    pub figures: Option<Figures>,
}

fn figures(metrics: &pb::ModelMetrics) -> Figures {
    Figures {
        examples: metrics.examples,
        mcc: metrics.mcc,
        fpr: metrics.fpr,
        auc: metrics.auc,
    }
}

fn job_view(job: pb::RetrainJob) -> JobView {
    let state = match job.state() {
        pb::JobState::Queued => "queued",
        pb::JobState::Running => "running",
        pb::JobState::Succeeded => "succeeded",
        pb::JobState::Failed => "failed",
        pb::JobState::Unspecified => "unknown",
    };
    let metrics = job.metrics.unwrap_or_default();
    JobView {
        job_id: job.job_id,
        state,
        progress: job.progress,
        examples: job.examples,
        candidate_version: job.candidate_version,
        active_version: job.active_version,
        active: metrics.active.as_ref().map(figures),
        candidate: metrics.candidate.as_ref().map(figures),
        promoted: job.promoted,
        message: job.message,
    }
}

fn model_view(model: pb::ModelInfo) -> ModelView {
    ModelView {
        figures: model.metrics.as_ref().map(figures),
        version: model.version,
        serving_version: model.serving_version,
        active: model.active,
        examples: model.examples,
        origin: model.origin,
    }
}

/// A connection to a server's `Training` service with one (admin) key.
pub struct TrainingConnection {
    client: pb::training_client::TrainingClient<Channel>,
    authorization: MetadataValue<Ascii>,
}

impl TrainingConnection {
    pub async fn connect(target: &Target) -> Result<TrainingConnection, ClientError> {
        let (channel, authorization) = connect(target).await?;
        Ok(TrainingConnection {
            client: pb::training_client::TrainingClient::new(channel),
            authorization,
        })
    }

    pub async fn start_retrain(
        &mut self,
        full: bool,
        dry_run: bool,
    ) -> Result<JobView, ClientError> {
        let request = with_authorization(
            &self.authorization,
            pb::StartRetrainRequest { full, dry_run },
        );
        Ok(job_view(
            self.client.start_retrain(request).await?.into_inner(),
        ))
    }

    pub async fn job(&mut self, job_id: &str) -> Result<JobView, ClientError> {
        let request = with_authorization(
            &self.authorization,
            pb::GetRetrainJobRequest {
                job_id: job_id.to_string(),
            },
        );
        Ok(job_view(
            self.client.get_retrain_job(request).await?.into_inner(),
        ))
    }

    pub async fn models(&mut self) -> Result<Vec<ModelView>, ClientError> {
        let request = with_authorization(&self.authorization, pb::ListModelsRequest {});
        let response = self.client.list_models(request).await?.into_inner();
        Ok(response.models.into_iter().map(model_view).collect())
    }

    pub async fn activate(&mut self, version: &str) -> Result<ModelView, ClientError> {
        let request = with_authorization(
            &self.authorization,
            pb::ActivateModelRequest {
                version: version.to_string(),
            },
        );
        Ok(model_view(
            self.client.activate_model(request).await?.into_inner(),
        ))
    }
}
