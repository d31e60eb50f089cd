//! Forgetting a comment: deleting what the store keeps of it, for a site
//! that deleted the comment or whose reader asked to be forgotten.
//!
//! What goes: the decision (the comment's text, author fields, context and
//! reasons), its entry in the comment index, its review queue entry and
//! its counts in the queue's and the statistics' counters, its training
//! example (`corrections`), its audit trail, its place in its author's
//! history and among its site's recent comments, and the text of every
//! example online learning recorded of it (the record stays, marked
//! forgotten, so that each version's examples keep their order; see
//! `OnlineExample::forgotten`), with the snapshots that hold what those
//! taught.
//!
//! Order, for crashes: the parts that can be deleted again harmlessly go
//! first (online examples, snapshots, the recent-comment entry, the audit
//! trail), and the decision last, in one transaction with its indexes,
//! counters, training example and author history. A forget cut short by a
//! crash leaves the decision, so calling it again finds it and finishes.

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use super::decisions::{comment_key, decode};
use super::index::Indexes;
use super::rule_state::RuleStateTrees;
use super::{Store, StoreError};
use crate::domain::{Decision, ReviewStatus};

/// What forgetting a comment deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct Forgotten {
    /// The decision as it was stored.
    pub decision: Decision,
    /// How many online examples of it lost their text.
    pub online_examples: usize,
}

impl Store {
    /// Deletes what the store keeps of the comment `comment_id` of
    /// `site_id` (see the module docs); `None` when nothing was stored.
    /// Call [`Store::durable`] before acknowledging.
    pub fn forget_comment(
        &self,
        site_id: &str,
        comment_id: &str,
    ) -> Result<Option<Forgotten>, StoreError> {
        let Some(decision) = self.decision_for_comment(site_id, comment_id)? else {
            return Ok(None);
        };
        let decision_id = decision.decision_id.clone();
        let online_examples = self.forget_online_examples(&decision_id)?;
        self.inner
            .rule_state
            .forget_recent_comment(site_id, decision.created_at, comment_id)?;
        self.forget_audit_trail(&decision_id)?;
        let id = decision_id.as_bytes();
        let index_key = comment_key(site_id, comment_id);
        let inner = &self.inner;
        let removed = (
            &inner.decisions,
            &inner.comments,
            &inner.queue,
            &inner.queue_counts,
            &inner.timeline,
            &inner.statistics,
            &inner.corrections,
            &inner.rule_state.authors,
        )
            .transaction(
                |(
                    decisions,
                    comments,
                    queue,
                    counts,
                    timeline,
                    statistics,
                    corrections,
                    authors,
                )| {
                    // Read again inside the transaction: a label or a
                    // recheck may have changed it since.
                    let Some(bytes) = decisions.get(id)? else {
                        return Ok(None);
                    };
                    let stored = decode(id, &bytes).map_err(ConflictableTransactionError::Abort)?;
                    decisions.remove(id)?;
                    if comments.get(&index_key)?.as_deref() == Some(id) {
                        comments.remove(index_key.as_slice())?;
                    }
                    Indexes::of(inner.layout, (queue, counts, timeline, statistics))
                        .remove(&stored)?;
                    corrections.remove(id)?;
                    RuleStateTrees::forget_author_comment(
                        authors,
                        site_id,
                        &crate::rules::author_key(&stored.comment.author),
                        stored
                            .resolution
                            .as_ref()
                            .map(|resolution| resolution.label),
                        stored.status == ReviewStatus::Approved,
                    )?;
                    Ok(Some(stored))
                },
            )
            .map_err(|error| match error {
                TransactionError::Abort(error) => error,
                TransactionError::Storage(error) => StoreError::from(error),
            })?;
        Ok(removed.map(|decision| Forgotten {
            decision,
            online_examples,
        }))
    }
}
