//! The `Review` service, for moderators. Callers are authenticated and
//! their role checked now; the queue itself arrives with the review issue.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::auth::principal;
use super::pb;
use super::pb::review_server::Review;
use crate::auth::Keyring;
use crate::error::Error;

pub struct ReviewService {
    keyring: Arc<Keyring>,
}

impl ReviewService {
    pub fn new(keyring: Arc<Keyring>) -> Self {
        ReviewService { keyring }
    }

    /// The answer of an RPC that is not there yet: UNIMPLEMENTED for
    /// callers who may use it, the authentication error for the others.
    fn not_yet<T>(&self, request: &Request<T>, rpc: &str) -> Status {
        let refusal =
            match principal(&self.keyring, request).and_then(|caller| caller.require_moderator()) {
                Ok(()) => Error::Unimplemented(format!(
                    "Review.{rpc} is not implemented yet: it arrives with the review queue"
                )),
                Err(error) => error,
            };
        refusal.into()
    }
}

#[tonic::async_trait]
impl Review for ReviewService {
    async fn list_queue(
        &self,
        request: Request<pb::ListQueueRequest>,
    ) -> Result<Response<pb::ListQueueResponse>, Status> {
        Err(self.not_yet(&request, "ListQueue"))
    }

    async fn resolve_items(
        &self,
        request: Request<pb::ResolveItemsRequest>,
    ) -> Result<Response<pb::ResolveItemsResponse>, Status> {
        Err(self.not_yet(&request, "ResolveItems"))
    }

    async fn get_stats(
        &self,
        request: Request<pb::GetStatsRequest>,
    ) -> Result<Response<pb::Stats>, Status> {
        Err(self.not_yet(&request, "GetStats"))
    }
}
