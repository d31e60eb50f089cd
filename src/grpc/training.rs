//! The `Training` service, for operators. Callers are authenticated and
//! their role checked now; retraining arrives with the learning issue.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::auth::principal;
use super::pb;
use super::pb::training_server::Training;
use crate::auth::Keyring;
use crate::error::Error;

pub struct TrainingService {
    keyring: Arc<Keyring>,
}

impl TrainingService {
    pub fn new(keyring: Arc<Keyring>) -> Self {
        TrainingService { keyring }
    }

    /// The answer of an RPC that is not there yet: UNIMPLEMENTED for
    /// callers who may use it, the authentication error for the others.
    fn not_yet<T>(&self, request: &Request<T>, rpc: &str) -> Status {
        let refusal =
            match principal(&self.keyring, request).and_then(|caller| caller.require_admin()) {
                Ok(()) => Error::Unimplemented(format!(
                    "Training.{rpc} is not implemented yet: it arrives with retraining"
                )),
                Err(error) => error,
            };
        refusal.into()
    }
}

#[tonic::async_trait]
impl Training for TrainingService {
    async fn start_retrain(
        &self,
        request: Request<pb::StartRetrainRequest>,
    ) -> Result<Response<pb::RetrainJob>, Status> {
        Err(self.not_yet(&request, "StartRetrain"))
    }

    async fn get_retrain_job(
        &self,
        request: Request<pb::GetRetrainJobRequest>,
    ) -> Result<Response<pb::RetrainJob>, Status> {
        Err(self.not_yet(&request, "GetRetrainJob"))
    }

    async fn list_models(
        &self,
        request: Request<pb::ListModelsRequest>,
    ) -> Result<Response<pb::ListModelsResponse>, Status> {
        Err(self.not_yet(&request, "ListModels"))
    }

    async fn activate_model(
        &self,
        request: Request<pb::ActivateModelRequest>,
    ) -> Result<Response<pb::ModelInfo>, Status> {
        Err(self.not_yet(&request, "ActivateModel"))
    }
}
