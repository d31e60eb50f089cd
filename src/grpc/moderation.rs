//! The `Moderation` service, for websites.

use std::pin::Pin;
use std::sync::Arc;

use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use super::auth::{observed, Access};
use super::convert;
use super::convert_review;
use super::pb;
use super::pb::moderation_server::Moderation;
use crate::auth::Principal;
use crate::domain::Decision;
use crate::engine::Engine;
use crate::error::Error;
use crate::limits::STREAM_CONCURRENCY;

pub struct ModerationService {
    engine: Arc<Engine>,
    access: Arc<Access>,
}

impl ModerationService {
    pub fn new(engine: Arc<Engine>, access: Arc<Access>) -> Self {
        ModerationService { engine, access }
    }
}

impl ModerationService {
    /// A decision by `decision_id`, or by `site_id` + `comment_id`, of a
    /// site the caller may act for.
    fn find_decision(
        &self,
        caller: &Principal,
        decision_id: &str,
        site_id: &str,
        comment_id: &str,
    ) -> Result<Decision, Error> {
        if !decision_id.is_empty() {
            convert::check_decision_id(decision_id)?;
            let decision = self.engine.decision(decision_id)?;
            caller.site_for_moderation(&decision.comment.site_id)?;
            return Ok(decision);
        }
        if comment_id.is_empty() {
            return Err(Error::invalid_argument(
                "decision_id",
                "or site_id with comment_id is required",
            ));
        }
        let site = caller.site_for_moderation(site_id)?;
        convert::check_comment_id(comment_id)?;
        self.engine.decision_for_comment(&site, comment_id)
    }
}

type ResponseStream = Pin<Box<dyn Stream<Item = Result<pb::CheckCommentResponse, Status>> + Send>>;

#[tonic::async_trait]
impl Moderation for ModerationService {
    async fn check_comment(
        &self,
        request: Request<pb::CheckCommentRequest>,
    ) -> Result<Response<pb::CheckCommentResponse>, Status> {
        observed(&self.access.metrics, "CheckComment", async {
            let caller = self.access.admit(&request).await?;
            let message = request.into_inner();
            let site = caller.site_for_moderation(&message.site_id)?;
            let (comment, options) = convert::check_request_from_proto(message, site)?;
            let outcome = self.engine.check(comment, options).await?;
            self.access
                .metrics
                .record_verdict(outcome.decision.assessment.verdict);
            Ok(Response::new(convert::check_response_to_proto(&outcome)))
        })
        .await
    }

    type CheckCommentsStream = ResponseStream;

    /// Scores up to `STREAM_CONCURRENCY` comments of the stream at once (so
    /// their flushes are shared) and answers in request order. The first
    /// invalid comment ends the stream with its error; the comments before
    /// it were answered and stored, and some after it (already in flight)
    /// may have been stored without an answer: a retry finds them by their
    /// comment ids and gets the same decisions.
    async fn check_comments(
        &self,
        request: Request<Streaming<pb::CheckCommentRequest>>,
    ) -> Result<Response<Self::CheckCommentsStream>, Status> {
        observed(&self.access.metrics, "CheckComments", async {
            let caller = Arc::new(self.access.admit(&request).await?);
            let engine = Arc::clone(&self.engine);
            let access = Arc::clone(&self.access);
            let responses = request
                .into_inner()
                .map(move |message| {
                    let caller = Arc::clone(&caller);
                    let engine = Arc::clone(&engine);
                    let access = Arc::clone(&access);
                    async move {
                        let message = message?;
                        let site = caller.site_for_moderation(&message.site_id)?;
                        let (comment, options) = convert::check_request_from_proto(message, site)?;
                        let outcome = engine.check(comment, options).await?;
                        access
                            .metrics
                            .record_verdict(outcome.decision.assessment.verdict);
                        Ok::<_, Status>(convert::check_response_to_proto(&outcome))
                    }
                })
                .buffered(STREAM_CONCURRENCY)
                .scan(false, |failed, result| {
                    // Stop after the first error: gRPC ends a stream with it.
                    if *failed {
                        return futures::future::ready(None);
                    }
                    *failed = result.is_err();
                    futures::future::ready(Some(result))
                });
            Ok(Response::new(Box::pin(responses) as ResponseStream))
        })
        .await
    }

    async fn get_decision(
        &self,
        request: Request<pb::GetDecisionRequest>,
    ) -> Result<Response<pb::Decision>, Status> {
        observed(&self.access.metrics, "GetDecision", async {
            let caller = self.access.admit(&request).await?;
            let message = request.into_inner();
            let decision = self.find_decision(
                &caller,
                &message.decision_id,
                &message.site_id,
                &message.comment_id,
            )?;
            Ok(Response::new(convert::decision_to_proto(&decision)))
        })
        .await
    }

    async fn report_comment(
        &self,
        request: Request<pb::ReportCommentRequest>,
    ) -> Result<Response<pb::ReportCommentResponse>, Status> {
        observed(&self.access.metrics, "ReportComment", async {
            let caller = self.access.admit(&request).await?;
            let message = request.into_inner();
            let label = convert_review::label_from_proto("label", message.label)?;
            convert_review::check_note(&message.note)?;
            let found = self.find_decision(
                &caller,
                &message.decision_id,
                &message.site_id,
                &message.comment_id,
            )?;
            let decision = self
                .engine
                .report(
                    &caller,
                    &found.decision_id,
                    &found.comment.site_id,
                    label,
                    message.note,
                )
                .await?;
            self.access.metrics.record_corrections(1);
            Ok(Response::new(pb::ReportCommentResponse {
                decision: Some(convert::decision_to_proto(&decision)),
            }))
        })
        .await
    }
}
