//! The `Review` service, for moderators: the queue, resolving items and
//! the statistics, each limited to the sites the caller's key may see.

use std::sync::Arc;

use futures::StreamExt;
use tonic::{Request, Response, Status};

use super::auth::{observed, observed_stream, Access, AnswerStream};
use super::convert;
use super::convert_review;
use super::pb;
use super::pb::review_server::Review;
use crate::auth::Service;
use crate::engine::Engine;
use crate::error::Error;
use crate::review_operations::review_scope;
use crate::stats::StatsQuery;

pub struct ReviewService {
    engine: Arc<Engine>,
    access: Arc<Access>,
}

impl ReviewService {
    pub fn new(engine: Arc<Engine>, access: Arc<Access>) -> Self {
        ReviewService { engine, access }
    }
}

/// The corrections of an `ExportCorrections` call, as they are read.
type CorrectionStream = AnswerStream<pb::Correction>;

#[tonic::async_trait]
impl Review for ReviewService {
    type ExportCorrectionsStream = CorrectionStream;

    async fn export_corrections(
        &self,
        request: Request<pb::ExportCorrectionsRequest>,
    ) -> Result<Response<CorrectionStream>, Status> {
        observed_stream(&self.access, "ExportCorrections", async {
            // The keys the export was opened under (see below).
            let keys_at_open = self.access.keys();
            let caller = self.access.admit(&request, Service::Review).await?;
            let message = request.into_inner();
            if !message.site_id.is_empty() {
                convert::check_site_id("site_id", &message.site_id)?;
            }
            let scope = review_scope(&caller, &message.site_id)?;
            // The caller keeps its place among the calls in progress until
            // the export ends.
            let unread_limit = self.access.admission.stream_idle_limit();
            let engine = Arc::clone(&self.engine);
            let access = Arc::clone(&self.access);
            let stream = self
                .engine
                .export_corrections(scope, caller, unread_limit)
                .map(move |item| {
                    // Once a reload replaced the keys (the key removed, or
                    // its sites changed), the export ends, as a stream of
                    // checks does: it must not go on sending what the key
                    // may no longer read. The client exports again under
                    // the keys in force.
                    if access.keys_replaced_since(&keys_at_open) {
                        return Err(Status::from(Error::Unavailable(
                            "the service's keys were reloaded; export again".to_string(),
                        )));
                    }
                    item.map(|correction| {
                        // The hosts in force now: what the service would
                        // read the comment's links with if it learned it.
                        let hosts = engine.hosts_of(&correction.site_id);
                        convert_review::correction_to_proto(correction, hosts)
                    })
                    .map_err(Status::from)
                });
            Ok(Response::new(Box::pin(stream) as CorrectionStream))
        })
        .await
    }

    async fn list_queue(
        &self,
        request: Request<pb::ListQueueRequest>,
    ) -> Result<Response<pb::ListQueueResponse>, Status> {
        observed(&self.access.metrics, "ListQueue", async {
            let caller = self.access.admit(&request, Service::Review).await?;
            let message = request.into_inner();
            if !message.site_id.is_empty() {
                convert::check_site_id("site_id", &message.site_id)?;
            }
            let scope = review_scope(&caller, &message.site_id)?;
            let (filter, cursor, page_size) =
                convert_review::queue_request_from_proto(&message, scope)?;
            let page = self
                .engine
                .list_queue_in_background(filter.clone(), cursor, page_size, caller)
                .await?;
            Ok(Response::new(convert_review::queue_page_to_proto(
                &filter, &page,
            )))
        })
        .await
    }

    async fn resolve_items(
        &self,
        request: Request<pb::ResolveItemsRequest>,
    ) -> Result<Response<pb::ResolveItemsResponse>, Status> {
        observed(&self.access.metrics, "ResolveItems", async {
            let caller = self.access.admit(&request, Service::Review).await?;
            let resolve = convert_review::resolve_from_proto(request.into_inner())?;
            let outcome = self.engine.resolve_items(caller, resolve).await?;
            Ok(Response::new(convert_review::resolve_response_to_proto(
                &outcome.decisions,
            )))
        })
        .await
    }

    async fn get_stats(
        &self,
        request: Request<pb::GetStatsRequest>,
    ) -> Result<Response<pb::Stats>, Status> {
        observed(&self.access.metrics, "GetStats", async {
            let caller = self.access.admit(&request, Service::Review).await?;
            let message = request.into_inner();
            if !message.site_id.is_empty() {
                convert::check_site_id("site_id", &message.site_id)?;
            }
            let query = StatsQuery {
                scope: review_scope(&caller, &message.site_id)?,
                since: convert_review::since_from_proto(message.since.as_ref())?,
            };
            let since = query.since;
            let tally = self.engine.stats_in_background(query, caller).await?;
            Ok(Response::new(convert_review::stats_to_proto(
                &message.site_id,
                since,
                &tally,
            )))
        })
        .await
    }
}
