//! The `Moderation` service, for websites.

use std::sync::Arc;

use futures::StreamExt;
use tonic::{Request, Response, Status, Streaming};

use super::auth::{observed, observed_stream, Access, AnswerStream};
use super::comment_stream::answer_in_order;
use super::convert;
use super::convert_review;
use super::pb;
use super::pb::moderation_server::Moderation;
use crate::auth::{Principal, Service};
use crate::domain::Decision;
use crate::engine::Engine;
use crate::error::Error;

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
    /// site the caller may act for. The handlers check the caller's role
    /// before they read their arguments; it is checked here again so that
    /// no lookup can run for a key of another role.
    fn find_decision(
        &self,
        caller: &Principal,
        decision_id: &str,
        site_id: &str,
        comment_id: &str,
    ) -> Result<Decision, Error> {
        caller.require_moderation()?;
        if !decision_id.is_empty() {
            convert::check_decision_id("decision_id", decision_id)?;
            let decision = self.engine.decision(decision_id)?;
            caller.site_for_moderation(&decision.comment.site_id)?;
            // Both forms may be given, but they must name the same comment:
            // a label must not land on another comment than the one named.
            if !comment_id.is_empty() && decision.comment.comment_id != comment_id {
                return Err(Error::invalid_argument(
                    "comment_id",
                    "names another comment than decision_id; give one or the other",
                ));
            }
            if !site_id.is_empty() && decision.comment.site_id != site_id {
                return Err(Error::invalid_argument(
                    "site_id",
                    "names another site than decision_id's comment; give one or the other",
                ));
            }
            return Ok(decision);
        }
        if comment_id.is_empty() {
            // With a site named, what is missing is the comment.
            let field = if site_id.is_empty() {
                "decision_id"
            } else {
                "comment_id"
            };
            return Err(Error::invalid_argument(
                field,
                "is required: give decision_id, or site_id with comment_id",
            ));
        }
        let site = requested_site(caller, site_id)?;
        convert::check_comment_id(comment_id)?;
        self.engine.decision_for_comment(&site, comment_id)
    }
}

/// The site a call acts for: `site_id` checked as a site id first (a
/// malformed one is INVALID_ARGUMENT whatever the key), then as one the
/// caller may act for (PERMISSION_DENIED), or the key's own site when it
/// is empty.
fn requested_site(caller: &Principal, site_id: &str) -> Result<String, Error> {
    if !site_id.is_empty() {
        convert::check_site_id("site_id", site_id)?;
    }
    caller.site_for_moderation(site_id)
}

type ResponseStream = AnswerStream<pb::CheckCommentResponse>;

#[tonic::async_trait]
impl Moderation for ModerationService {
    async fn check_comment(
        &self,
        request: Request<pb::CheckCommentRequest>,
    ) -> Result<Response<pb::CheckCommentResponse>, Status> {
        observed(&self.access.metrics, "CheckComment", async {
            let caller = self.access.admit(&request, Service::Moderation).await?;
            let message = request.into_inner();
            let site = requested_site(&caller, &message.site_id)?;
            let (comment, options) = convert::check_request_from_proto(message, site)?;
            let outcome = self.engine.check(comment, options).await?;
            if outcome.verdict_stored {
                self.access
                    .metrics
                    .record_verdict(outcome.decision.assessment.verdict);
            }
            Ok(Response::new(convert::check_response_to_proto(&outcome)))
        })
        .await
    }

    type CheckCommentsStream = ResponseStream;

    /// Scores up to `STREAM_CONCURRENCY` comments of the stream at once (so
    /// their flushes are shared) and answers in request order (see
    /// `comment_stream`). Each comment after the first is charged to the
    /// key's rate. The first error ends the stream, naming the comment
    /// (its place in the stream, and its id when it was read). An invalid
    /// comment is found before any comment after it is started; an error
    /// found later (storage, a reload of the keys) may come after comments
    /// already in flight, which may have been stored without an answer: a
    /// retry finds them by their comment ids and gets the same decisions.
    async fn check_comments(
        &self,
        request: Request<Streaming<pb::CheckCommentRequest>>,
    ) -> Result<Response<Self::CheckCommentsStream>, Status> {
        observed_stream(&self.access, "CheckComments", async {
            // The keys are taken before the stream is authenticated with
            // them, so that a reload in between counts as one after it.
            let keys_at_open = self.access.keys();
            let caller = self
                .access
                .admit_stream(&request, Service::Moderation)
                .await?;
            let caller = Arc::new(caller);
            let engine = Arc::clone(&self.engine);
            let access = Arc::clone(&self.access);
            let idle_limit = access.admission.stream_idle_limit();
            let spare_place = {
                let access = Arc::clone(&access);
                let key_name = caller.name.clone();
                move || access.admission.spare_place(&key_name)
            };
            let caller_for_order = Arc::clone(&caller);
            // A message that does not decode, or is too large, is a comment
            // of the stream too: its error names its place (every message
            // read before it was started, so the count of messages is the
            // count of checks). Other errors (the client went away) are
            // the connection's, not a comment's.
            let inbound = request.into_inner().enumerate().map(|(index, message)| {
                message.map_err(|status| match status.code() {
                    tonic::Code::InvalidArgument | tonic::Code::OutOfRange => {
                        naming_the_comment(status, index, None)
                    }
                    _ => status,
                })
            });
            let responses = answer_in_order(
                inbound,
                idle_limit,
                // Checks of one comment wait for each other (see
                // `answer_in_order`). The comment is known by the site it
                // is checked for, so that an empty `site_id` and the key's
                // one site named in full are the same comment; a site the
                // key may not use is refused when the check runs.
                move |message: &pb::CheckCommentRequest| {
                    let site = requested_site(&caller_for_order, &message.site_id)
                        .unwrap_or_else(|_| message.site_id.clone());
                    (site, message.comment_id.clone())
                },
                spare_place,
                move |index, message: pb::CheckCommentRequest, place| {
                    // Charged as the comment is started, in request order;
                    // a refusal ends the stream before it reads more.
                    let comment_id = message.comment_id.clone();
                    if index > 0 {
                        access.admission.charge(&caller.name).map_err(|error| {
                            naming_the_comment(error.into(), index, Some(&comment_id))
                        })?;
                    }
                    // The stream was authenticated with the keys of its
                    // opening: once a reload replaced them (a key removed,
                    // or its sites changed), it ends, and the client opens
                    // it again under the keys in force.
                    if access.keys_replaced_since(&keys_at_open) {
                        return Err(naming_the_comment(
                            Error::Unavailable(
                                "the service's keys were reloaded; open the stream again"
                                    .to_string(),
                            )
                            .into(),
                            index,
                            Some(&comment_id),
                        ));
                    }
                    // Checked here, before the stream reads on: an invalid
                    // comment ends the stream before any comment after it
                    // is started (and perhaps stored, unanswered).
                    let (comment, options) = requested_site(&caller, &message.site_id)
                        .and_then(|site| convert::check_request_from_proto(message, site))
                        .map_err(|error| {
                            naming_the_comment(error.into(), index, Some(&comment_id))
                        })?;
                    let engine = Arc::clone(&engine);
                    let access = Arc::clone(&access);
                    Ok(async move {
                        let answer = async {
                            let outcome = engine.check_holding(comment, options, place).await?;
                            if outcome.verdict_stored {
                                access
                                    .metrics
                                    .record_verdict(outcome.decision.assessment.verdict);
                            }
                            Ok::<_, Status>(convert::check_response_to_proto(&outcome))
                        }
                        .await;
                        answer
                            .map_err(|status| naming_the_comment(status, index, Some(&comment_id)))
                    })
                },
            );
            Ok(Response::new(Box::pin(responses) as ResponseStream))
        })
        .await
    }

    async fn get_decision(
        &self,
        request: Request<pb::GetDecisionRequest>,
    ) -> Result<Response<pb::Decision>, Status> {
        observed(&self.access.metrics, "GetDecision", async {
            let caller = self.access.admit(&request, Service::Moderation).await?;
            let message = request.into_inner();
            let decision = self.find_decision(
                &caller,
                &message.decision_id,
                &message.site_id,
                &message.comment_id,
            )?;
            // Answered as stored: only once it is on disk.
            self.engine.settle_reads().await?;
            Ok(Response::new(convert::decision_to_proto(&decision)))
        })
        .await
    }

    async fn forget_comment(
        &self,
        request: Request<pb::ForgetCommentRequest>,
    ) -> Result<Response<pb::ForgetCommentResponse>, Status> {
        observed(&self.access.metrics, "ForgetComment", async {
            let caller = self.access.admit(&request, Service::Moderation).await?;
            let message = request.into_inner();
            let site = requested_site(&caller, &message.site_id)?;
            convert::check_comment_id(&message.comment_id)?;
            let forgotten = self
                .engine
                .forget_comment(&site, &message.comment_id)
                .await?;
            Ok(Response::new(pb::ForgetCommentResponse { forgotten }))
        })
        .await
    }

    async fn report_comment(
        &self,
        request: Request<pb::ReportCommentRequest>,
    ) -> Result<Response<pb::ReportCommentResponse>, Status> {
        observed(&self.access.metrics, "ReportComment", async {
            let caller = self.access.admit(&request, Service::Moderation).await?;
            let message = request.into_inner();
            let label = convert_review::label_from_proto("label", message.label)?;
            convert_review::check_note(&message.note)?;
            let found = self.find_decision(
                &caller,
                &message.decision_id,
                &message.site_id,
                &message.comment_id,
            )?;
            let outcome = self
                .engine
                .report(
                    caller,
                    &found.decision_id,
                    &found.comment.site_id,
                    label,
                    message.note,
                )
                .await?;
            Ok(Response::new(pb::ReportCommentResponse {
                decision: outcome.decisions.first().map(convert::decision_to_proto),
            }))
        })
        .await
    }
}

/// A comment's error as the stream ends with it: the same code, with the
/// comment named (its place in the stream, from 1, and the start of its
/// id when it was read), so that a site sending a backlog knows which
/// comment to fix.
fn naming_the_comment(status: Status, index: usize, comment_id: Option<&str>) -> Status {
    /// Enough of an id to find it; a too-long id is itself the error.
    const SHOWN_ID_CHARACTERS: usize = 64;
    let id = comment_id.map_or(String::new(), |comment_id| {
        let shown: String = comment_id.chars().take(SHOWN_ID_CHARACTERS).collect();
        let cut = if shown.len() < comment_id.len() {
            "…"
        } else {
            ""
        };
        format!(" (comment_id {shown:?}{cut})")
    });
    Status::new(
        status.code(),
        format!(
            "comment {} of the stream{id}: {}",
            index + 1,
            status.message()
        ),
    )
}
