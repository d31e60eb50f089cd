//! The moderation engine: what happens to a comment between the gRPC edge
//! and storage. It holds the active model (swapped atomically, so scoring
//! never waits for a model change) and the store.

use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::classifier::Model;
use crate::domain::{Comment, Decision, ReviewStatus, UnixMillis};
use crate::error::Error;
use crate::store::{Inserted, Store};
use crate::verdict::{self, Thresholds};

/// How a check should treat stored state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckOptions {
    /// Score again even if a decision for the comment is stored.
    pub recheck: bool,
    /// Score only; store nothing.
    pub dry_run: bool,
}

/// The result of a check: the decision, and whether it is stored durably.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    pub decision: Decision,
    pub stored: bool,
}

pub struct Engine {
    store: Store,
    model: ArcSwap<Model>,
    thresholds: Thresholds,
}

impl Engine {
    pub fn new(store: Store, model: Model, thresholds: Thresholds) -> Engine {
        Engine {
            store,
            model: ArcSwap::from_pointee(model),
            thresholds,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The model in use now.
    pub fn model(&self) -> Arc<Model> {
        self.model.load_full()
    }

    /// Scores a comment and, unless it is a dry run, stores the decision
    /// durably before returning. A comment already decided is answered from
    /// storage unless `recheck` is set.
    pub async fn check(
        &self,
        comment: Comment,
        options: CheckOptions,
    ) -> Result<CheckOutcome, Error> {
        if !options.recheck {
            if let Some(existing) = self
                .store
                .decision_for_comment(&comment.site_id, &comment.comment_id)?
            {
                return Ok(CheckOutcome {
                    decision: existing,
                    stored: true,
                });
            }
        }
        let assessment = verdict::decide(&self.model.load(), &self.thresholds, &comment);
        let now = UnixMillis::now();
        if options.dry_run {
            let decision = Decision {
                decision_id: String::new(),
                status: ReviewStatus::initial_for(assessment.verdict),
                comment,
                assessment,
                created_at: now,
                resolution: None,
            };
            return Ok(CheckOutcome {
                decision,
                stored: false,
            });
        }
        let previous = if options.recheck {
            self.store
                .decision_for_comment(&comment.site_id, &comment.comment_id)?
        } else {
            None
        };
        let decision = match previous {
            Some(previous) => {
                // A recheck keeps the decision's identity and any human
                // resolution: a person's label outranks the model's.
                let status = match &previous.resolution {
                    Some(_) => previous.status,
                    None => ReviewStatus::initial_for(assessment.verdict),
                };
                let decision = Decision {
                    decision_id: previous.decision_id,
                    comment,
                    assessment,
                    created_at: previous.created_at,
                    status,
                    resolution: previous.resolution,
                };
                self.store.replace_decision(&decision)?;
                decision
            }
            None => {
                let decision = Decision {
                    decision_id: uuid::Uuid::now_v7().to_string(),
                    status: ReviewStatus::initial_for(assessment.verdict),
                    comment,
                    assessment,
                    created_at: now,
                    resolution: None,
                };
                match self.store.insert_decision(&decision)? {
                    Inserted::New => decision,
                    // Another call stored this comment first: answer as it did.
                    Inserted::Existing(existing) => existing,
                }
            }
        };
        self.store.durable().await?;
        Ok(CheckOutcome {
            decision,
            stored: true,
        })
    }

    pub fn decision(&self, decision_id: &str) -> Result<Decision, Error> {
        self.store
            .decision(decision_id)?
            .ok_or_else(|| Error::NotFound(format!("no decision with id {decision_id:?}")))
    }

    pub fn decision_for_comment(&self, site_id: &str, comment_id: &str) -> Result<Decision, Error> {
        self.store
            .decision_for_comment(site_id, comment_id)?
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "no decision for comment {comment_id:?} of site {site_id:?}"
                ))
            })
    }
}
