//! The review workflow, free of storage and wire formats: what a person's
//! label does to a decision (status, resolution), what is recorded about it
//! (the audit entry and the training example), and how the queue is asked
//! for. Pure: the caller passes the clock.

use serde::{Deserialize, Serialize};

use crate::domain::{Decision, Label, Priority, ReviewStatus, UnixMillis, Verdict};

/// Who gave a label: a moderator working the queue, or a website reporting
/// what the service got wrong (Akismet's submit-spam / submit-ham).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CorrectionSource {
    Moderator,
    Site,
}

/// A person's label for one decision, as asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelRequest {
    pub label: Label,
    /// The name shown as the resolution's author: the moderator's name, or
    /// the reporting site key's name.
    pub by: String,
    /// The name of the API key the call was made with, kept in the audit
    /// trail so that a stated name can be traced to a key.
    pub key_name: String,
    pub source: CorrectionSource,
    pub note: String,
    /// The comments as the person saw them, for the decisions they saw
    /// (see [`ShownComments`]); empty when they did not say.
    pub shown: ShownComments,
}

/// Decision id -> [`crate::domain::Comment::revision`] of its comment as a
/// person saw it when they chose a label. A decision whose comment has
/// been edited since (it reads otherwise now) is not labelled: the label
/// was for the text they read. Decisions not named are labelled as they
/// are.
pub type ShownComments = std::collections::BTreeMap<String, String>;

/// One change of a decision's status or label. Entries are only ever
/// appended, never rewritten.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub decision_id: String,
    pub at: UnixMillis,
    pub by: String,
    pub key_name: String,
    pub source: CorrectionSource,
    pub from_status: ReviewStatus,
    pub to_status: ReviewStatus,
    /// The human label before this change; `None` when there was none.
    pub from_label: Option<Label>,
    pub to_label: Label,
    pub note: String,
}

/// A labelled comment for retraining, with where the label came from. One
/// per decision: a later label replaces an earlier one (the audit trail
/// keeps them all).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Correction {
    pub decision_id: String,
    pub site_id: String,
    pub comment_id: String,
    /// The comment text the label is about.
    pub content: String,
    pub label: Label,
    /// What the service had said, so that retraining can tell confirmations
    /// from corrections.
    pub verdict: Verdict,
    pub model_version: String,
    pub source: CorrectionSource,
    pub by: String,
    pub at: UnixMillis,
}

/// What a label did to a decision.
// The value lives for one call on its way to storage; boxing the larger
// variant would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Labelled {
    /// The decision already carried this label: nothing changed, nothing is
    /// recorded (resolving twice is idempotent).
    Unchanged(Decision),
    /// The decision changed; the entry and the example are to be recorded.
    Changed {
        decision: Decision,
        audit: AuditEntry,
        correction: Correction,
    },
}

impl Labelled {
    pub fn decision(&self) -> &Decision {
        match self {
            Labelled::Unchanged(decision) | Labelled::Changed { decision, .. } => decision,
        }
    }
}

/// The status a human label puts a decision in: ham is approved, spam is
/// rejected.
pub fn status_for_label(label: Label) -> ReviewStatus {
    match label {
        Label::Ham => ReviewStatus::Approved,
        Label::Spam => ReviewStatus::Rejected,
    }
}

/// The most labels people may set on one decision: its first label and
/// 99 changes of it. Each one writes an entry in the decision's audit
/// trail, so without a bound a key could relabel one comment without end
/// (within its rate of calls) and grow the trail and the store with it; no
/// moderation changes its mind about a comment this often.
pub const MAX_LABEL_CHANGES: u32 = 100;

/// Whether `request` would set a label on `decision` beyond
/// [`MAX_LABEL_CHANGES`]. The same label again changes nothing, so it is
/// never refused.
pub fn label_changes_exhausted(decision: &Decision, request: &LabelRequest) -> bool {
    let carried = decision
        .resolution
        .as_ref()
        .map(|resolution| resolution.label);
    carried != Some(request.label) && decision.labels_set >= MAX_LABEL_CHANGES
}

/// Applies a person's label to a decision. A label equal to the one the
/// decision already carries changes nothing; any other label (the first
/// one, or a change of mind) sets the resolution and the status and yields
/// the audit entry and the training example to record.
pub fn apply_label(decision: &Decision, request: &LabelRequest, now: UnixMillis) -> Labelled {
    let previous_label = decision
        .resolution
        .as_ref()
        .map(|resolution| resolution.label);
    if previous_label == Some(request.label) {
        return Labelled::Unchanged(decision.clone());
    }
    let to_status = status_for_label(request.label);
    let mut updated = decision.clone();
    updated.status = to_status;
    updated.labels_set = decision.labels_set.saturating_add(1);
    updated.resolution = Some(crate::domain::Resolution {
        label: request.label,
        by: request.by.clone(),
        note: request.note.clone(),
        at: now,
    });
    let audit = AuditEntry {
        decision_id: decision.decision_id.clone(),
        at: now,
        by: request.by.clone(),
        key_name: request.key_name.clone(),
        source: request.source,
        from_status: decision.status,
        to_status,
        from_label: previous_label,
        to_label: request.label,
        note: request.note.clone(),
    };
    let correction = Correction {
        decision_id: decision.decision_id.clone(),
        site_id: decision.comment.site_id.clone(),
        comment_id: decision.comment.comment_id.clone(),
        content: decision.comment.content.clone(),
        label: request.label,
        verdict: decision.assessment.verdict,
        model_version: decision.assessment.model_version.clone(),
        source: request.source,
        by: request.by.clone(),
        at: now,
    };
    Labelled::Changed {
        decision: updated,
        audit,
        correction,
    }
}

/// Which sites a queue or statistics request covers, after the caller's key
/// was taken into account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SiteScope {
    /// Every site (an admin, or a moderator for all sites, naming none).
    All,
    /// These sites only (one named site, or a moderator's listed sites).
    Sites(Vec<String>),
}

impl SiteScope {
    pub fn covers(&self, site_id: &str) -> bool {
        match self {
            SiteScope::All => true,
            SiteScope::Sites(sites) => sites.iter().any(|site| site == site_id),
        }
    }
}

/// What labelling a batch of decisions came to. A batch is labelled
/// entirely or not at all.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchLabelled {
    /// Every decision was labelled (or already carried the label), in the
    /// order of the ids.
    Done(Vec<Labelled>),
    /// This id names no stored decision; nothing was written.
    Missing(String),
    /// This decision belongs to a site outside the caller's scope; nothing
    /// was written.
    OutOfScope {
        decision_id: String,
        site_id: String,
    },
    /// This decision's comment was edited since the person saw it (see
    /// [`ShownComments`]); nothing was written.
    Edited(String),
    /// This decision's label was set [`MAX_LABEL_CHANGES`] times already
    /// and the request would change it again; nothing was written.
    TooManyChanges {
        decision_id: String,
        comment_id: String,
    },
}

/// Which items of the queue are wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueFilter {
    pub scope: SiteScope,
    pub status: ReviewStatus,
    /// Items of this priority or higher.
    pub min_priority: Priority,
}

/// Where a page ended: a position in the queue's sort order (the index key
/// without its status and site), so that the next page starts right after
/// it whatever happened to earlier items meanwhile. Clients see it only
/// inside an opaque page token.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct QueueCursor(pub Vec<u8>);

/// High priority sorts first.
pub fn priority_rank(priority: Priority) -> u8 {
    match priority {
        Priority::High => 0,
        Priority::Medium => 1,
        Priority::Low => 2,
    }
}

impl QueueCursor {
    /// Where the decision id starts: after the rank and the time.
    pub const ID_OFFSET: usize = 1 + 8;

    /// The position of `decision`: its priority's rank, its creation time
    /// (sortable bytes), its id. Queue order is the order of these bytes.
    pub fn of(decision: &Decision) -> QueueCursor {
        let mut position = Vec::with_capacity(Self::ID_OFFSET + decision.decision_id.len());
        position.push(priority_rank(decision.assessment.priority));
        position.extend_from_slice(&decision.created_at.sortable_bytes());
        position.extend_from_slice(decision.decision_id.as_bytes());
        QueueCursor(position)
    }

    /// `bytes` as a position, if they have the shape of one that
    /// [`QueueCursor::of`] makes: a known rank, a time, and a decision id
    /// in the UUID form this service hands out.
    pub fn from_bytes(bytes: Vec<u8>) -> Option<QueueCursor> {
        let rank = *bytes.first()?;
        let known_rank = [Priority::High, Priority::Medium, Priority::Low]
            .into_iter()
            .any(|priority| priority_rank(priority) == rank);
        let id = std::str::from_utf8(bytes.get(Self::ID_OFFSET..)?).ok()?;
        (known_rank && uuid::Uuid::try_parse(id).is_ok()).then_some(QueueCursor(bytes))
    }
}

/// One page of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuePage {
    /// In queue order; each item is at its own position
    /// ([`QueueCursor::of`]), so a page may be cut after any of them.
    pub items: Vec<Decision>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<QueueCursor>,
    /// How many items match the filter, over all pages.
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::*;

    fn pending() -> Decision {
        Decision {
            decision_id: "d1".to_string(),
            comment: Comment {
                site_id: "s".to_string(),
                comment_id: "c".to_string(),
                content: "text".to_string(),
                author: Author::default(),
                context: PostContext::default(),
                submitted_at: UnixMillis(1),
                form: FormSignals::default(),
            },
            assessment: Assessment {
                verdict: Verdict::Review,
                spam_probability: 0.6,
                score: 0.6,
                priority: Priority::Low,
                reasons: vec![],
                model_version: "m".to_string(),
            },
            created_at: UnixMillis(2),
            status: ReviewStatus::Pending,
            resolution: None,
            labels_set: 0,
        }
    }

    fn request(label: Label) -> LabelRequest {
        LabelRequest {
            label,
            by: "ann".to_string(),
            key_name: "moderators".to_string(),
            source: CorrectionSource::Moderator,
            note: "looked at it".to_string(),
            shown: Default::default(),
        }
    }

    #[test]
    fn a_first_label_resolves_and_is_recorded() {
        match apply_label(&pending(), &request(Label::Spam), UnixMillis(10)) {
            Labelled::Changed {
                decision,
                audit,
                correction,
            } => {
                assert_eq!(decision.status, ReviewStatus::Rejected);
                assert_eq!(decision.resolution.as_ref().unwrap().label, Label::Spam);
                assert_eq!(decision.labels_set, 1);
                assert_eq!(audit.from_status, ReviewStatus::Pending);
                assert_eq!(audit.to_status, ReviewStatus::Rejected);
                assert_eq!(audit.from_label, None);
                assert_eq!(correction.content, "text");
                assert_eq!(correction.verdict, Verdict::Review);
                assert_eq!(correction.at, UnixMillis(10));
            }
            Labelled::Unchanged(_) => panic!("a first label must change the decision"),
        }
    }

    #[test]
    fn the_same_label_again_changes_nothing_and_another_is_a_correction() {
        let resolved = apply_label(&pending(), &request(Label::Ham), UnixMillis(10))
            .decision()
            .clone();
        assert_eq!(resolved.status, ReviewStatus::Approved);
        assert_eq!(
            apply_label(&resolved, &request(Label::Ham), UnixMillis(20)),
            Labelled::Unchanged(resolved.clone())
        );
        match apply_label(&resolved, &request(Label::Spam), UnixMillis(30)) {
            Labelled::Changed {
                decision, audit, ..
            } => {
                assert_eq!(decision.status, ReviewStatus::Rejected);
                assert_eq!(decision.labels_set, 2);
                assert_eq!(audit.from_label, Some(Label::Ham));
                assert_eq!(audit.from_status, ReviewStatus::Approved);
                assert_eq!(audit.at, UnixMillis(30));
            }
            Labelled::Unchanged(_) => panic!("a different label is a correction"),
        }
    }
}
