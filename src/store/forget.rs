//! Forgetting a comment: deleting what the store keeps of it, for a site
//! that deleted the comment or whose reader asked to be forgotten.
//!
//! What goes: the decision (the comment's text, author fields, context and
//! reasons), its entry in the comment index, its review queue entry and
//! its counts in the queue's and the statistics' counters, its training
//! example (`corrections`), its audit trail, its place in its author's
//! history and among its site's recent comments, and every example
//! online learning recorded of it, with the snapshots that hold what those
//! taught (the next start learns each version's remaining examples
//! again).
//!
//! Order, for crashes: the parts that can be deleted again harmlessly go
//! first (online examples, snapshots, the recent-comment entry, the audit
//! trail), and the decision last, in one transaction with its indexes,
//! counters, training example and author history. A forget cut short by a
//! crash leaves the decision, so calling it again finds it and finishes.
//!
//! A comment past the retention period (see `retention`) goes the other
//! way round: the decision's transaction first, which checks that it is
//! still expired (a recheck does not wait for the labelling turn, and may
//! have made it wait for review), then the other parts. The transaction
//! also notes what is left to delete (`expiries_left`), and the note goes
//! once those parts have: an expiry cut short (a crash, a failed write)
//! is finished by the next pass of retention, at the latest an hour later
//! or at the next start, retention on or off ([`Store::finish_expiries`]),
//! so that no text,
//! address or audit entry of an expired comment stays behind. (A note
//! damaged on disk still names the decision, which finds the text and the
//! audit trail; the recent-comment entry it located is long out of the
//! rules' lookback by then.)

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use serde::{Deserialize, Serialize};

use super::decisions::{comment_key, decode};
use super::index::Indexes;
use super::rule_state::RuleStateTrees;
use super::{from_json, Store, StoreError};
use crate::domain::{Decision, ReviewStatus, UnixMillis};
use crate::review::Correction;
use std::ops::Bound;

/// What forgetting a comment deleted.
#[derive(Debug, Clone, PartialEq)]
pub struct Forgotten {
    /// The decision as it was stored.
    pub decision: Decision,
    /// How many online examples of it were deleted.
    pub online_examples: usize,
}

/// What an expiry has yet to delete once its decision is gone: enough to
/// find the parts outside the decision's transaction.
#[derive(Debug, Serialize, Deserialize)]
struct ExpiryLeft {
    site_id: String,
    comment_id: String,
    created_at: UnixMillis,
    /// Whether it was labelled (only then can online learning hold it).
    labelled: bool,
}

/// An expiry [`Store::finish_expiries`] finished: the comment, and when
/// the decision that expired was made (its place among the site's recent
/// comments).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedExpiry {
    pub site_id: String,
    pub comment_id: String,
    pub created_at: UnixMillis,
}

/// Why a comment is forgotten, which decides what happens to the daily
/// statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forgetting {
    /// On request: the statistics no longer count it, as if it had never
    /// been checked.
    OnRequest,
    /// Past the retention period, its decision settled before `before`:
    /// the daily statistics keep counting it (it was checked that day). A
    /// decision that is no longer expired when the forget reads it (a
    /// recheck made it wait for review, or a label settled it since
    /// `before`) is left alone.
    Expired { before: UnixMillis },
}

/// Whether `decision` is past a retention period that ended at `before`:
/// made before it, waiting for no review, and not labelled since (a
/// label renews the retention of the comment and its training example).
/// `last_labelled` is when its training example was labelled, if it has
/// one: an edit that withdrew an approval leaves the decision without a
/// resolution, but the label stands in the example, and renews it all the
/// same.
pub(super) fn is_expired(
    decision: &Decision,
    last_labelled: Option<UnixMillis>,
    before: UnixMillis,
) -> bool {
    decision.created_at < before
        && decision.status != ReviewStatus::Pending
        && decision
            .resolution
            .as_ref()
            .is_none_or(|resolution| resolution.at < before)
        && last_labelled.is_none_or(|at| at < before)
}

/// When a stored training example (a `corrections` value) was labelled.
fn labelled_at(key: &[u8], correction: Option<&[u8]>) -> Result<Option<UnixMillis>, StoreError> {
    correction
        .map(|bytes| from_json::<Correction>(key, bytes).map(|correction| correction.at))
        .transpose()
}

/// Comments past the retention period, found by [`Store::expired_comments`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Expired {
    /// (site id, comment id) of each comment to forget, oldest first.
    pub comments: Vec<(String, String)>,
    /// Where the next search goes on from (the last decision read), when
    /// it stopped at its limit; `None` when it reached the decisions made
    /// since the cut-off, or the end.
    pub resume_after: Option<String>,
}

impl Store {
    /// Deletes what the store keeps of the comment `comment_id` of
    /// `site_id` (see the module docs); `None` when nothing was stored.
    /// (A decision deleted by another call between this one's first read
    /// and its transaction would leave its online examples deleted and
    /// unreported: the service runs forgets and expiries one at a time, in
    /// the labelling turn, and nothing else deletes decisions.)
    /// Call [`Store::durable`] before acknowledging.
    pub fn forget_comment(
        &self,
        site_id: &str,
        comment_id: &str,
    ) -> Result<Option<Forgotten>, StoreError> {
        self.forget(site_id, comment_id, Forgetting::OnRequest)
    }

    /// Forgets a comment past the retention period that ended at `before`
    /// (see [`is_expired`]): as [`Store::forget_comment`], except that the
    /// daily statistics keep counting it. `None` when nothing is stored,
    /// or the decision is not (or no longer) expired.
    pub fn expire_comment(
        &self,
        site_id: &str,
        comment_id: &str,
        before: UnixMillis,
    ) -> Result<Option<Forgotten>, StoreError> {
        self.forget(site_id, comment_id, Forgetting::Expired { before })
    }

    /// The comments past the retention period that ended at `before` (see
    /// [`is_expired`]) among at most `most` decisions read, oldest first,
    /// after the decision `resume_after` (from the oldest when `None`).
    /// Decision ids are version 7 UUIDs, made at the decision's creation
    /// and written in a fixed form, so the decisions tree is in the order
    /// they were made: the search stops at the first decision made since
    /// `before`. A decision that does not read is logged and passed over,
    /// so that one damaged record does not stop retention for good.
    pub fn expired_comments(
        &self,
        before: UnixMillis,
        resume_after: Option<&str>,
        most: usize,
    ) -> Result<Expired, StoreError> {
        let decisions = match resume_after {
            Some(id) => self
                .inner
                .decisions
                .range::<&[u8], _>((Bound::Excluded(id.as_bytes()), Bound::Unbounded)),
            None => self.inner.decisions.iter(),
        };
        let mut expired = Expired::default();
        for (read, entry) in decisions.enumerate() {
            if read == most {
                return Ok(expired);
            }
            let (key, value) = entry?;
            expired.resume_after = Some(String::from_utf8_lossy(&key).into_owned());
            let decision = match decode(&key, &value) {
                Ok(decision) => decision,
                Err(error) => {
                    tracing::warn!(%error, "a decision that does not read is left alone by retention");
                    continue;
                }
            };
            if decision.created_at >= before {
                break;
            }
            // The training example is read only for a decision that is
            // otherwise expired: most are, and most have none.
            if is_expired(&decision, None, before)
                && is_expired(
                    &decision,
                    labelled_at(&key, self.inner.corrections.get(&key)?.as_deref())?,
                    before,
                )
            {
                expired
                    .comments
                    .push((decision.comment.site_id, decision.comment.comment_id));
            }
        }
        expired.resume_after = None;
        Ok(expired)
    }

    fn forget(
        &self,
        site_id: &str,
        comment_id: &str,
        why: Forgetting,
    ) -> Result<Option<Forgotten>, StoreError> {
        let still_expired = |decision: &Decision, last_labelled| match why {
            Forgetting::OnRequest => true,
            Forgetting::Expired { before } => is_expired(decision, last_labelled, before),
        };
        let Some(decision) = self.decision_for_comment(site_id, comment_id)? else {
            return Ok(None);
        };
        let decision_id = decision.decision_id.clone();
        let correction = self.inner.corrections.get(decision_id.as_bytes())?;
        let last_labelled = labelled_at(decision_id.as_bytes(), correction.as_deref())?;
        if !still_expired(&decision, last_labelled) {
            return Ok(None);
        }
        // Online learning learns people's labels, and every labelled
        // decision has a training example: without one, there is no online
        // example to look for.
        let labelled = correction.is_some();
        let left = ExpiryLeft {
            site_id: site_id.to_string(),
            comment_id: comment_id.to_string(),
            created_at: decision.created_at,
            labelled,
        };
        // On request, these parts go first (see the module docs). For an
        // expiry they go once the transaction has found the decision still
        // expired and deleted it: a recheck may make it wait for review
        // meanwhile (rechecks do not wait for the labelling turn), and then
        // nothing of it may go.
        let mut online_examples = match why {
            Forgetting::OnRequest => self.forget_parts_outside(&decision_id, &left)?,
            Forgetting::Expired { .. } => 0,
        };
        let note = match why {
            Forgetting::OnRequest => None,
            Forgetting::Expired { .. } => {
                Some(
                    serde_json::to_vec(&left).map_err(|error| StoreError::Corrupt {
                        key: decision_id.clone(),
                        message: error.to_string(),
                    })?,
                )
            }
        };
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
            &inner.expiries_left,
        )
            .transaction(
                |(
                    decisions,
                    comments,
                    queue,
                    counts,
                    timeline,
                    statistics_tree,
                    corrections,
                    authors,
                    expiries_left,
                )| {
                    // Read again inside the transaction: a label or a
                    // recheck may have changed it since.
                    let Some(bytes) = decisions.get(id)? else {
                        return Ok(None);
                    };
                    let stored = decode(id, &bytes).map_err(ConflictableTransactionError::Abort)?;
                    let last_labelled = labelled_at(id, corrections.get(id)?.as_deref())
                        .map_err(ConflictableTransactionError::Abort)?;
                    // A recheck may have made it wait for review since, or
                    // a label settled it: then it stays.
                    if !still_expired(&stored, last_labelled) {
                        return Ok(None);
                    }
                    decisions.remove(id)?;
                    if comments.get(&index_key)?.as_deref() == Some(id) {
                        comments.remove(index_key.as_slice())?;
                    }
                    let indexes =
                        Indexes::of(inner.layout, (queue, counts, timeline, statistics_tree));
                    match why {
                        Forgetting::OnRequest => indexes.remove(&stored)?,
                        Forgetting::Expired { .. } => {
                            indexes.remove_keeping_daily_statistics(&stored)?
                        }
                    }
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
                    if let Some(note) = &note {
                        expiries_left.insert(id, note.as_slice())?;
                    }
                    Ok(Some(stored))
                },
            )
            .map_err(|error| match error {
                TransactionError::Abort(error) => error,
                TransactionError::Storage(error) => StoreError::from(error),
            })?;
        if matches!(why, Forgetting::Expired { .. }) && removed.is_some() {
            #[cfg(test)]
            if self
                .inner
                .cut_expiries_short
                .load(std::sync::atomic::Ordering::SeqCst)
            {
                return Err(StoreError::Io(std::io::Error::other("cut short by a test")));
            }
            online_examples = self.forget_parts_outside(&decision_id, &left)?;
            self.inner.expiries_left.remove(id)?;
        }
        Ok(removed.map(|decision| Forgotten {
            decision,
            online_examples,
        }))
    }

    /// Deletes what is kept of a comment outside its decision's
    /// transaction: its online examples (if it was labelled), its entry
    /// among its site's recent comments and its audit trail. Each can be
    /// deleted again harmlessly. How many online examples went.
    fn forget_parts_outside(
        &self,
        decision_id: &str,
        left: &ExpiryLeft,
    ) -> Result<usize, StoreError> {
        let online_examples = if left.labelled {
            self.forget_online_examples(decision_id)?
        } else {
            0
        };
        self.inner.rule_state.forget_recent_comment(
            &left.site_id,
            left.created_at,
            &left.comment_id,
        )?;
        self.forget_audit_trail(decision_id)?;
        Ok(online_examples)
    }

    /// Makes each expiry fail after its decision's transaction, as a crash
    /// there would cut it short, while `cut` holds.
    #[cfg(test)]
    pub(crate) fn cut_expiries_short(&self, cut: bool) {
        self.inner
            .cut_expiries_short
            .store(cut, std::sync::atomic::Ordering::SeqCst);
    }

    /// How many expiries cut short wait to be finished.
    #[cfg(test)]
    pub(crate) fn expiries_cut_short(&self) -> usize {
        self.inner.expiries_left.len()
    }

    /// Finishes the expiries cut short after their decision's transaction
    /// (see the module docs): the comments they were about (site, comment
    /// id, and the time of the decision that expired), and how many online
    /// examples went (at least one for a labelled comment whose finishing
    /// failed part way: its examples may be gone). Each note is finished on
    /// its own: one that fails stays for the next pass, so that it stops
    /// neither the others nor retention. A note that does not read still
    /// names the decision (its key): its online examples and audit trail
    /// go, and the note with them, saying so; its recent-comment entry,
    /// which the note would have located, is left to the rules' lookback,
    /// long past by the time a decision expires.
    pub fn finish_expiries(&self) -> Result<(Vec<FinishedExpiry>, usize), StoreError> {
        let mut finished = Vec::new();
        let mut online_examples = 0;
        for entry in self.inner.expiries_left.iter() {
            let (key, value) = entry?;
            let decision_id = String::from_utf8_lossy(&key).into_owned();
            let left: ExpiryLeft = match serde_json::from_slice(&value) {
                Ok(left) => left,
                Err(error) => {
                    tracing::warn!(%error, decision_id, "a note of an unfinished expiry does not read; finishing it by its decision id");
                    // Counted as deleting one at least until it says.
                    online_examples += 1;
                    let by_id = || -> Result<(), StoreError> {
                        self.forget_online_examples(&decision_id)?;
                        self.forget_audit_trail(&decision_id)?;
                        self.inner.expiries_left.remove(&key)?;
                        Ok(())
                    };
                    if let Err(error) = by_id() {
                        tracing::warn!(%error, decision_id, "cannot finish an expiry cut short; trying again at the next pass");
                    }
                    continue;
                }
            };
            match self.forget_parts_outside(&decision_id, &left) {
                Ok(deleted) => {
                    online_examples += deleted;
                    self.inner.expiries_left.remove(&key)?;
                    finished.push(FinishedExpiry {
                        site_id: left.site_id,
                        comment_id: left.comment_id,
                        created_at: left.created_at,
                    });
                }
                Err(error) => {
                    // Its examples may have gone before the failure.
                    online_examples += usize::from(left.labelled);
                    tracing::warn!(
                        %error,
                        decision_id,
                        "cannot finish an expiry cut short; trying again at the next pass"
                    );
                }
            }
        }
        Ok((finished, online_examples))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::test_support::decision;
    use crate::domain::{Author, Label, UnixMillis};
    use crate::learning::OnlineExample;
    use crate::review::{CorrectionSource, LabelRequest, SiteScope};
    use crate::rules::{author_key, AuthorLabel, RecentComment};
    use crate::store::index::{self, Layout};

    const SITE: &str = "news.example";

    /// Every key and value of a tree.
    fn entries(tree: &sled::Tree) -> Vec<(Vec<u8>, Vec<u8>)> {
        tree.iter()
            .map(|entry| {
                let (key, value) = entry.unwrap();
                (key.to_vec(), value.to_vec())
            })
            .collect()
    }

    /// What a forget must leave as if the comment had never been checked.
    fn state(store: &Store) -> Vec<Vec<(Vec<u8>, Vec<u8>)>> {
        let inner = &store.inner;
        [
            &inner.decisions,
            &inner.comments,
            &inner.queue,
            &inner.queue_counts,
            &inner.timeline,
            &inner.statistics,
            &inner.corrections,
            &inner.rule_state.authors,
            &inner.rule_state.recent,
        ]
        .into_iter()
        .map(entries)
        .collect()
    }

    /// What online learning records of the spam label of decision `id`.
    fn learned_spam(id: &str) -> OnlineExample {
        OnlineExample {
            decision_id: id.to_string(),
            text: "spam".to_string(),
            label: Label::Spam,
            weight: 1.0,
            labelled_at: None,
            site_id: None,
            hosts: Vec::new(),
            from_site: None,
        }
    }

    fn by_anna(id: &str, created_at: i64) -> crate::domain::Decision {
        let mut stored = decision(id, SITE, &format!("c-{id}"));
        stored.comment.author = Author {
            name: "Anna".to_string(),
            email: "anna@reader.example".to_string(),
            ..Author::default()
        };
        stored.created_at = UnixMillis(created_at);
        stored
    }

    /// Stores `decisions` as checks would (with the rules' state), and
    /// labels those of `spam` as a moderator.
    /// The recent comments are recorded as one batch of the writer records
    /// them, in one entry.
    fn fill(store: &Store, decisions: &[crate::domain::Decision], spam: &[&str]) {
        let mut recent = Vec::new();
        for stored in decisions {
            store.insert_decision(stored).unwrap();
            let key = author_key(&stored.comment.author);
            store.record_author_comment(SITE, &key, true).unwrap();
            recent.push(RecentComment {
                at: stored.created_at,
                comment_id: stored.comment.comment_id.clone(),
                author_key: key.into(),
                ip: None,
                fingerprint: None,
            });
        }
        let recent: Vec<&RecentComment> = recent.iter().collect();
        store
            .inner
            .rule_state
            .record_recent_comments(SITE, &recent, UnixMillis(0))
            .unwrap();
        let request = LabelRequest {
            label: Label::Spam,
            by: "ann".to_string(),
            key_name: "moderators".to_string(),
            source: CorrectionSource::Moderator,
            note: "spam".to_string(),
            shown: Default::default(),
        };
        let ids: Vec<String> = spam.iter().map(|id| id.to_string()).collect();
        store
            .apply_labels(&ids, &SiteScope::All, &request, UnixMillis(50))
            .unwrap();
        // As the engine counts a label (`count_labels_in_author_histories`):
        // the comment, approved unlabelled, now counts as labelled spam.
        for stored in decisions {
            if spam.contains(&stored.decision_id.as_str()) {
                let change = AuthorLabel {
                    before: None,
                    allowed: true,
                    label: Label::Spam,
                };
                store
                    .record_author_label(SITE, &author_key(&stored.comment.author), change)
                    .unwrap();
            }
        }
    }

    #[test]
    fn a_forgotten_comment_leaves_the_store_as_if_it_had_never_been_checked() {
        for layout in [Layout::BySite, Layout::Compact, Layout::Timeline] {
            let kept = by_anna("d1", 10);
            let gone = by_anna("d2", 20);
            let directory = tempfile::tempdir().unwrap();
            let store = Store::open_as(directory.path(), layout).unwrap();
            fill(&store, &[kept.clone(), gone.clone()], &["d1", "d2"]);
            store
                .record_online_examples("m", &[learned_spam("d1"), learned_spam("d2")])
                .unwrap();
            store.save_online_snapshot("m", 2, b"{}").unwrap();

            let forgotten = store.forget_comment(SITE, "c-d2").unwrap().unwrap();
            assert_eq!(forgotten.decision.decision_id, "d2");
            assert_eq!(forgotten.online_examples, 1);
            assert_eq!(store.forget_comment(SITE, "c-d2").unwrap(), None);

            let never = tempfile::tempdir().unwrap();
            let without = Store::open_as(never.path(), layout).unwrap();
            fill(&without, std::slice::from_ref(&kept), &["d1"]);
            assert_eq!(state(&store), state(&without), "{layout:?}");
            assert!(store.audit_trail("d2").unwrap().is_empty());
            assert_eq!(store.audit_trail("d1").unwrap().len(), 1);
            let examples = store.online_examples("m").unwrap();
            assert_eq!(examples.len(), 1);
            assert_eq!(examples[0].decision_id, "d1");
            assert_eq!(store.online_snapshot("m").unwrap(), None);

            // The author's last comment takes their entry (and address) with it.
            store.forget_comment(SITE, "c-d1").unwrap().unwrap();
            assert!(entries(&store.inner.rule_state.authors).is_empty());
            assert!(entries(&store.inner.queue_counts).is_empty(), "{layout:?}");
        }
    }

    #[test]
    fn a_recheck_that_gives_the_comment_another_author_keeps_nothing_of_the_first() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let first = by_anna("d1", 10);
        fill(&store, std::slice::from_ref(&first), &[]);
        let mut rechecked = first.clone();
        rechecked.comment.author.email = "another@reader.example".to_string();
        store.replace_decision(&rechecked).unwrap();
        let authors = entries(&store.inner.rule_state.authors);
        assert_eq!(authors.len(), 1, "{authors:?}");
        let holds = |address: &str| {
            authors.iter().any(|(key, _)| {
                key.windows(address.len())
                    .any(|part| part == address.as_bytes())
            })
        };
        assert!(!holds("anna@reader.example"), "{authors:?}");
        assert!(holds("another@reader.example"), "{authors:?}");
        store.forget_comment(SITE, "c-d1").unwrap().unwrap();
        assert!(entries(&store.inner.rule_state.authors).is_empty());
    }

    #[test]
    fn a_label_whose_approval_an_edit_withdrew_still_renews_the_retention() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let approved = by_anna("d1", 10);
        fill(&store, std::slice::from_ref(&approved), &[]);
        let ham = LabelRequest {
            label: Label::Ham,
            by: "ann".to_string(),
            key_name: "moderators".to_string(),
            source: CorrectionSource::Moderator,
            note: String::new(),
            shown: Default::default(),
        };
        store
            .apply_labels(&["d1".to_string()], &SiteScope::All, &ham, UnixMillis(50))
            .unwrap();
        // An edit withdraws the approval: the decision has no resolution
        // any more, but its training example keeps the label of time 50.
        let mut edited = store.decision("d1").unwrap().unwrap();
        edited.comment.content = "hello, edited".to_string();
        let (_, stored) = store.replace_decision(&edited).unwrap();
        assert_eq!(stored.resolution, None);
        assert_eq!(store.correction("d1").unwrap().unwrap().at, UnixMillis(50));
        // A period that ended after the comment but before the label keeps
        // it, in the search and in the expiry itself.
        assert!(store
            .expired_comments(UnixMillis(40), None, 10)
            .unwrap()
            .comments
            .is_empty());
        assert_eq!(
            store.expire_comment(SITE, "c-d1", UnixMillis(40)).unwrap(),
            None
        );
        assert!(store.decision("d1").unwrap().is_some());
        // One that ended after the label expires it.
        assert_eq!(
            store
                .expired_comments(UnixMillis(60), None, 10)
                .unwrap()
                .comments,
            vec![(SITE.to_string(), "c-d1".to_string())]
        );
        assert!(store
            .expire_comment(SITE, "c-d1", UnixMillis(60))
            .unwrap()
            .is_some());
        assert_eq!(store.correction("d1").unwrap(), None);
    }

    #[test]
    fn comments_past_the_cutoff_are_expired_oldest_first_and_still_counted() {
        for layout in [Layout::BySite, Layout::Compact, Layout::Timeline] {
            let old_labelled = by_anna("d1", 10);
            let mut old_pending = by_anna("d2", 20);
            old_pending.status = ReviewStatus::Pending;
            let old = by_anna("d3", 30);
            let relabelled = by_anna("d4", 32);
            let new = by_anna("d5", 40);
            let directory = tempfile::tempdir().unwrap();
            let store = Store::open_as(directory.path(), layout).unwrap();
            let all = [
                old_labelled,
                old_pending.clone(),
                old,
                relabelled.clone(),
                new.clone(),
            ];
            // `fill` labels at time 50: d4's label is recent, d1's is made
            // old below.
            fill(&store, &all, &["d1", "d4"]);
            let mut settled_long_ago = store.decision("d1").unwrap().unwrap();
            settled_long_ago.resolution.as_mut().unwrap().at = UnixMillis(11);
            // Written as it stands (a recheck would keep the label as
            // it was stored).
            let value = crate::store::decisions::encode(&settled_long_ago).unwrap();
            store.inner.decisions.insert("d1", value).unwrap();
            // And its training example, labelled then too.
            let mut example = store.correction("d1").unwrap().unwrap();
            example.at = UnixMillis(11);
            store
                .inner
                .corrections
                .insert("d1", serde_json::to_vec(&example).unwrap())
                .unwrap();
            // Online learning learned d1's label.
            store
                .record_online_examples("m", &[learned_spam("d1")])
                .unwrap();
            // A damaged record among them is passed over.
            store
                .inner
                .decisions
                .insert("d15", b"{".as_slice())
                .unwrap();
            let statistics = entries(&store.inner.statistics);

            // Two decisions read at a time, oldest first; the pending one,
            // the damaged one and the one labelled since the cut-off are
            // passed over, and the search stops at the first decision
            // made since the cut-off.
            let cutoff = UnixMillis(35);
            let first = store.expired_comments(cutoff, None, 2).unwrap();
            assert_eq!(first.comments, [(SITE.to_string(), "c-d1".to_string())]);
            assert_eq!(first.resume_after.as_deref(), Some("d15"));
            let second = store.expired_comments(cutoff, Some("d15"), 2).unwrap();
            assert_eq!(second.comments, [(SITE.to_string(), "c-d3".to_string())]);
            assert_eq!(second.resume_after.as_deref(), Some("d3"));
            let last = store.expired_comments(cutoff, Some("d3"), 2).unwrap();
            assert_eq!(last, Expired::default());
            assert_eq!(
                store
                    .expired_comments(cutoff, None, 100)
                    .unwrap()
                    .comments
                    .len(),
                2
            );
            // Not expired (any more): waiting for review, labelled since.
            assert_eq!(store.expire_comment(SITE, "c-d2", cutoff).unwrap(), None);
            assert_eq!(store.expire_comment(SITE, "c-d4", cutoff).unwrap(), None);

            let mut online_examples = 0;
            for (site, comment) in [first.comments, second.comments].concat() {
                let expired = store.expire_comment(&site, &comment, cutoff).unwrap();
                online_examples += expired.unwrap().online_examples;
            }
            assert_eq!(online_examples, 1);
            assert!(store.online_examples("m").unwrap().is_empty());
            store.inner.decisions.remove("d15").unwrap();
            // As if only the other comments had been checked, except that
            // the daily statistics still count all five.
            let never = tempfile::tempdir().unwrap();
            let without = Store::open_as(never.path(), layout).unwrap();
            fill(&without, &[old_pending, relabelled, new], &["d4"]);
            let mut expired_state = state(&store);
            let mut never_state = state(&without);
            let daily = |statistics: Vec<(Vec<u8>, Vec<u8>)>| -> Vec<(Vec<u8>, Vec<u8>)> {
                statistics
                    .into_iter()
                    .filter(|(key, _)| index::parse_total_key(key).is_none())
                    .collect()
            };
            assert_eq!(
                daily(expired_state.remove(5)),
                daily(statistics.clone()),
                "{layout:?}"
            );
            never_state.remove(5);
            assert_eq!(expired_state, never_state, "{layout:?}");
            assert!(store.audit_trail("d1").unwrap().is_empty());
            assert_eq!(store.decision_for_comment(SITE, "c-d1").unwrap(), None);
            assert!(store.decision("d2").unwrap().is_some());
            assert_eq!(
                store.expired_comments(cutoff, None, 100).unwrap(),
                Expired::default()
            );

            // The daily counters still count them after the store is
            // opened again (which checks them against the queue's).
            drop(store);
            let reopened = Store::reopen(directory.path()).unwrap();
            assert_eq!(
                daily(entries(&reopened.inner.statistics)),
                daily(statistics),
                "{layout:?}"
            );
        }
    }

    /// A database whose online examples were recorded before the index of
    /// them by decision gets the index at its next start, and forgetting
    /// finds the examples through it.
    #[test]
    fn online_examples_recorded_before_their_index_are_found_after_a_restart() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        fill(
            &store,
            &[by_anna("d1", 10), by_anna("d2", 20)],
            &["d1", "d2"],
        );
        store
            .record_online_examples("m", &[learned_spam("d1"), learned_spam("d2")])
            .unwrap();
        store
            .record_online_examples("n", &[learned_spam("d1")])
            .unwrap();
        // As a database of an earlier version: no index, and no mark.
        store.inner.learning.online_by_decision.clear().unwrap();
        store.inner.learning.meta.remove(b"online_index").unwrap();
        drop(store);
        let store = Store::reopen(directory.path()).unwrap();
        assert_eq!(entries(&store.inner.learning.online_by_decision).len(), 3);
        let forgotten = store.forget_comment(SITE, "c-d1").unwrap().unwrap();
        assert_eq!(forgotten.online_examples, 2);
        assert_eq!(store.online_examples("m").unwrap(), [learned_spam("d2")]);
        assert!(store.online_examples("n").unwrap().is_empty());
        // Its index entries went with the examples.
        assert_eq!(entries(&store.inner.learning.online_by_decision).len(), 1);
        // A version removed takes its examples' entries with it.
        store.remove_model("m").unwrap();
        assert!(entries(&store.inner.learning.online_by_decision).is_empty());
    }

    /// An expiry cut short after its decision's transaction leaves a note,
    /// from which the next pass deletes what the comment left elsewhere:
    /// its online example (its text), its audit trail and its entry among
    /// the site's recent comments (its author and address).
    #[test]
    fn an_expiry_cut_short_is_finished_by_the_next_pass() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        fill(&store, &[by_anna("d1", 10), by_anna("d2", 20)], &["d1"]);
        store
            .record_online_examples("m", &[learned_spam("d1")])
            .unwrap();
        let cutoff = UnixMillis(100);
        store
            .inner
            .cut_expiries_short
            .store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(store.expire_comment(SITE, "c-d1", cutoff).is_err());
        // The decision is gone; the rest is still there, and noted.
        assert_eq!(store.decision("d1").unwrap(), None);
        assert_eq!(store.online_examples("m").unwrap().len(), 1);
        assert!(!store.audit_trail("d1").unwrap().is_empty());
        assert_eq!(entries(&store.inner.expiries_left).len(), 1);
        let holds_d1 = |store: &Store| {
            entries(&store.inner.rule_state.recent)
                .iter()
                .any(|(_, value)| String::from_utf8_lossy(value).contains("c-d1"))
        };
        assert!(holds_d1(&store));
        store
            .inner
            .cut_expiries_short
            .store(false, std::sync::atomic::Ordering::SeqCst);

        // A note that does not read stops no other, and what its decision
        // id finds (its online examples) goes with it.
        store
            .record_online_examples("m", &[learned_spam("d0")])
            .unwrap();
        store
            .inner
            .expiries_left
            .insert(b"d0", b"not a note".as_slice())
            .unwrap();
        let (finished, online_examples) = store.finish_expiries().unwrap();
        assert_eq!(
            finished,
            [FinishedExpiry {
                site_id: SITE.to_string(),
                comment_id: "c-d1".to_string(),
                created_at: UnixMillis(10),
            }]
        );
        // One of d1, and one counted for the note that did not read.
        assert_eq!(online_examples, 2);
        assert!(store.online_examples("m").unwrap().is_empty());
        assert!(store.audit_trail("d1").unwrap().is_empty());
        assert!(!holds_d1(&store));
        assert!(entries(&store.inner.expiries_left).is_empty());
        // An expiry that is not cut short leaves no note.
        store.expire_comment(SITE, "c-d2", cutoff).unwrap().unwrap();
        assert!(entries(&store.inner.expiries_left).is_empty());
        assert_eq!(store.finish_expiries().unwrap(), (Vec::new(), 0));
    }

    /// A site whose every comment expired keeps its figures, and is still
    /// listed among the sites (the statistics of all sites read that list).
    #[test]
    fn a_site_whose_comments_all_expired_keeps_its_figures() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        // Ids in the order the decisions were made, as version 7 UUIDs are.
        let mut quiet = decision("a1", "quiet.example", "c-q1");
        quiet.created_at = UnixMillis(10);
        fill(&store, &[by_anna("d1", 40)], &[]);
        store.insert_decision(&quiet).unwrap();
        let before = store.site_tally("quiet.example", UnixMillis(0)).unwrap();
        assert_eq!(before.total, 1);
        let found = store.expired_comments(UnixMillis(35), None, 100).unwrap();
        assert_eq!(
            found.comments,
            [("quiet.example".to_string(), "c-q1".to_string())]
        );
        store
            .expire_comment("quiet.example", "c-q1", UnixMillis(35))
            .unwrap()
            .unwrap();
        let sites: Vec<String> = store.sites().unwrap().into_iter().collect();
        assert_eq!(sites, ["news.example", "quiet.example"]);
        assert_eq!(
            store.site_tally("quiet.example", UnixMillis(0)).unwrap(),
            before
        );
    }

    /// A recheck read the decision before it was forgotten: its write
    /// brings nothing back.
    #[test]
    fn a_recheck_of_a_forgotten_comment_writes_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        let gone = by_anna("d1", 10);
        fill(&store, std::slice::from_ref(&gone), &[]);
        store.forget_comment(SITE, "c-d1").unwrap().unwrap();
        let (replaced, _) = store.replace_decision(&gone).unwrap();
        assert_eq!(replaced, None);
        assert_eq!(store.decision("d1").unwrap(), None);
        assert_eq!(store.decision_for_comment(SITE, "c-d1").unwrap(), None);
        assert!(entries(&store.inner.queue_counts).is_empty());
    }

    #[test]
    fn an_unlabelled_comment_is_forgotten_without_reading_the_online_examples() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        fill(&store, &[by_anna("d1", 10)], &[]);
        // An unreadable online example would fail a forget that read them.
        store
            .inner
            .learning
            .online
            .insert(b"not json", b"{".as_slice())
            .unwrap();
        let forgotten = store.forget_comment(SITE, "c-d1").unwrap().unwrap();
        assert_eq!(forgotten.online_examples, 0);
    }
}
