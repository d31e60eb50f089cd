//! The `Training` service, for operators (admin keys): retraining jobs and
//! the model registry.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::auth::{observed, Access, Caller, HeldWhileWaiting};
use super::convert_training::{check_job_id, check_version, job_to_proto, model_to_proto};
use super::pb;
use super::pb::training_server::Training;
use crate::auth::Service;
use crate::engine::Engine;

pub struct TrainingService {
    engine: Arc<Engine>,
    access: Arc<Access>,
}

impl TrainingService {
    pub fn new(engine: Arc<Engine>, access: Arc<Access>) -> Self {
        TrainingService { engine, access }
    }

    /// Admits an administrator's call. The caller keeps what this returns
    /// until the call ends: it holds the call's place among the calls in
    /// progress (dropping it at once would let training calls, which can
    /// take seconds, run beyond the limit).
    async fn authorize<T: HeldWhileWaiting>(&self, request: &Request<T>) -> Result<Caller, Status> {
        let caller = self.access.admit(request, Service::Training).await?;
        Ok(caller)
    }
}

#[tonic::async_trait]
impl Training for TrainingService {
    async fn start_retrain(
        &self,
        request: Request<pb::StartRetrainRequest>,
    ) -> Result<Response<pb::RetrainJob>, Status> {
        observed(&self.access.metrics, "StartRetrain", async {
            let _caller = self.authorize(&request).await?;
            let message = request.into_inner();
            let job = self
                .engine
                .request_retrain(message.full, message.dry_run)
                .await?;
            Ok(Response::new(job_to_proto(&job)))
        })
        .await
    }

    async fn get_retrain_job(
        &self,
        request: Request<pb::GetRetrainJobRequest>,
    ) -> Result<Response<pb::RetrainJob>, Status> {
        observed(&self.access.metrics, "GetRetrainJob", async {
            let _caller = self.authorize(&request).await?;
            let message = request.into_inner();
            check_job_id(&message.job_id)?;
            let job = self.engine.retrain_job(&message.job_id)?;
            Ok(Response::new(job_to_proto(&job)))
        })
        .await
    }

    async fn list_models(
        &self,
        request: Request<pb::ListModelsRequest>,
    ) -> Result<Response<pb::ListModelsResponse>, Status> {
        observed(&self.access.metrics, "ListModels", async {
            let _caller = self.authorize(&request).await?;
            let models = self.engine.list_models()?;
            Ok(Response::new(pb::ListModelsResponse {
                models: models.iter().map(model_to_proto).collect(),
            }))
        })
        .await
    }

    async fn activate_model(
        &self,
        request: Request<pb::ActivateModelRequest>,
    ) -> Result<Response<pb::ModelInfo>, Status> {
        observed(&self.access.metrics, "ActivateModel", async {
            let _caller = self.authorize(&request).await?;
            let message = request.into_inner();
            check_version(&message.version)?;
            let listing = self.engine.activate_model(message.version).await?;
            Ok(Response::new(model_to_proto(&listing)))
        })
        .await
    }
}
