//! The review indexes: their key layouts, and keeping them in step with the
//! decisions inside the transaction that writes a decision.
//!
//! Trees:
//! - `queue`: one empty-valued entry per decision in each of two families,
//!   ordered the way the queue is read (priority high first, then oldest
//!   first, then decision id):
//!   - all sites: `0, status, rank, created_at, decision_id`;
//!   - one site: `1, status, site, rank, created_at, decision_id`.
//!
//!   The part after the site (`rank, created_at, decision_id`) is the
//!   *position*; a page token holds the position of the page's last item.
//! - `queue_counts`: `status, site, rank` -> how many decisions are there,
//!   as a big-endian u64, so that a queue's total is a handful of reads.
//! - `timeline`: `site, created_at, decision_id` -> `verdict, status,
//!   label`, three bytes, so that statistics since a time read one range
//!   and decode no decision.
//!
//! `site` is length-prefixed (u32, big-endian) so that no site's keys can be
//! mistaken for another's; `created_at` is big-endian with the sign bit
//! flipped, so that byte order is time order, before 1970 too.

use sled::transaction::{TransactionalTree, UnabortableTransactionError};

use crate::domain::{Decision, Label, Priority, ReviewStatus, UnixMillis, Verdict};
use crate::review::QueueCursor;
use crate::stats::Outcome;

const ALL_SITES_FAMILY: u8 = 0;
const ONE_SITE_FAMILY: u8 = 1;
/// Queue entries carry everything in their key.
const EMPTY: &[u8] = &[];

pub(super) use crate::review::priority_rank;

fn status_byte(status: ReviewStatus) -> u8 {
    match status {
        ReviewStatus::Pending => 1,
        ReviewStatus::Approved => 2,
        ReviewStatus::Rejected => 3,
    }
}

fn status_from_byte(byte: u8) -> Option<ReviewStatus> {
    match byte {
        1 => Some(ReviewStatus::Pending),
        2 => Some(ReviewStatus::Approved),
        3 => Some(ReviewStatus::Rejected),
        _ => None,
    }
}

fn verdict_byte(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Allow => 1,
        Verdict::Review => 2,
        Verdict::Reject => 3,
    }
}

fn verdict_from_byte(byte: u8) -> Option<Verdict> {
    match byte {
        1 => Some(Verdict::Allow),
        2 => Some(Verdict::Review),
        3 => Some(Verdict::Reject),
        _ => None,
    }
}

fn label_byte(label: Option<Label>) -> u8 {
    match label {
        None => 0,
        Some(Label::Ham) => 1,
        Some(Label::Spam) => 2,
    }
}

fn label_from_byte(byte: u8) -> Option<Option<Label>> {
    match byte {
        0 => Some(None),
        1 => Some(Some(Label::Ham)),
        2 => Some(Some(Label::Spam)),
        _ => None,
    }
}

pub(super) fn time_bytes(time: UnixMillis) -> [u8; 8] {
    time.sortable_bytes()
}

/// The length-prefixed site id.
pub(super) fn site_key(site_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + site_id.len());
    key.extend_from_slice(&(site_id.len() as u32).to_be_bytes());
    key.extend_from_slice(site_id.as_bytes());
    key
}

/// Reads a length-prefixed site id back; `None` if the bytes are not one.
pub(super) fn site_from_key(bytes: &[u8]) -> Option<(String, &[u8])> {
    let length = u32::from_be_bytes(bytes.get(..4)?.try_into().ok()?) as usize;
    let site = bytes.get(4..4 + length)?;
    Some((
        String::from_utf8(site.to_vec()).ok()?,
        bytes.get(4 + length..)?,
    ))
}

/// A decision's place in the queue's order (see [`QueueCursor::of`]).
pub(super) fn position(decision: &Decision) -> Vec<u8> {
    QueueCursor::of(decision).0
}

/// The decision id at the end of a position.
pub(super) fn id_of_position(position: &[u8]) -> Option<&[u8]> {
    position
        .get(QueueCursor::ID_OFFSET..)
        .filter(|id| !id.is_empty())
}

/// The prefix of a status's queue over all sites.
pub(super) fn all_sites_prefix(status: ReviewStatus) -> Vec<u8> {
    vec![ALL_SITES_FAMILY, status_byte(status)]
}

/// The prefix of a status's queue of one site.
pub(super) fn one_site_prefix(status: ReviewStatus, site_id: &str) -> Vec<u8> {
    let mut key = vec![ONE_SITE_FAMILY, status_byte(status)];
    key.extend_from_slice(&site_key(site_id));
    key
}

/// The counter key of (status, site, priority).
pub(super) fn count_key(status: ReviewStatus, site_id: &str, priority: Priority) -> Vec<u8> {
    let mut key = vec![status_byte(status)];
    key.extend_from_slice(&site_key(site_id));
    key.push(priority_rank(priority));
    key
}

/// The prefix of every counter of a status.
pub(super) fn count_prefix(status: ReviewStatus) -> [u8; 1] {
    [status_byte(status)]
}

/// Reads a counter key back into its site and rank.
pub(super) fn parse_count_key(key: &[u8]) -> Option<(String, u8)> {
    let (site, rest) = site_from_key(key.get(1..)?)?;
    match rest {
        [rank] => Some((site, *rank)),
        _ => None,
    }
}

pub(super) fn decode_count(bytes: &[u8]) -> u64 {
    bytes.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

fn timeline_key(decision: &Decision) -> Vec<u8> {
    let mut key = site_key(&decision.comment.site_id);
    key.extend_from_slice(&time_bytes(decision.created_at));
    key.extend_from_slice(decision.decision_id.as_bytes());
    key
}

/// Where a site's timeline starts at `since`.
pub(super) fn timeline_start(site_id: &str, since: UnixMillis) -> Vec<u8> {
    let mut key = site_key(site_id);
    key.extend_from_slice(&time_bytes(since));
    key
}

fn outcome_bytes(decision: &Decision) -> [u8; 3] {
    [
        verdict_byte(decision.assessment.verdict),
        status_byte(decision.status),
        label_byte(decision.resolution.as_ref().map(|r| r.label)),
    ]
}

/// Reads a timeline value back; `None` if the bytes are not one.
pub(super) fn decode_outcome(bytes: &[u8]) -> Option<Outcome> {
    match bytes {
        [verdict, status, label] => Some(Outcome {
            verdict: verdict_from_byte(*verdict)?,
            status: status_from_byte(*status)?,
            label: label_from_byte(*label)?,
        }),
        _ => None,
    }
}

/// The index trees as seen inside a transaction.
pub(super) struct Indexes<'a> {
    pub queue: &'a TransactionalTree,
    pub counts: &'a TransactionalTree,
    pub timeline: &'a TransactionalTree,
}

impl Indexes<'_> {
    /// Enters a decision in every index.
    pub fn add(&self, decision: &Decision) -> Result<(), UnabortableTransactionError> {
        let position = position(decision);
        let status = decision.status;
        let site = &decision.comment.site_id;
        self.queue
            .insert([all_sites_prefix(status), position.clone()].concat(), EMPTY)?;
        self.queue
            .insert([one_site_prefix(status, site), position].concat(), EMPTY)?;
        self.change_count(count_key(status, site, decision.assessment.priority), 1)?;
        self.timeline
            .insert(timeline_key(decision), outcome_bytes(decision).to_vec())?;
        Ok(())
    }

    /// Takes a decision, as it was stored, out of every index.
    pub fn remove(&self, decision: &Decision) -> Result<(), UnabortableTransactionError> {
        let position = position(decision);
        let status = decision.status;
        let site = &decision.comment.site_id;
        self.queue
            .remove([all_sites_prefix(status), position.clone()].concat())?;
        self.queue
            .remove([one_site_prefix(status, site), position].concat())?;
        self.change_count(count_key(status, site, decision.assessment.priority), -1)?;
        self.timeline.remove(timeline_key(decision))?;
        Ok(())
    }

    /// Moves a decision's entries from how it was stored to how it is now,
    /// touching only what changed: resolving an item rewrites its two queue
    /// entries, two counters and its timeline value.
    pub fn replace(
        &self,
        old: Option<&Decision>,
        new: &Decision,
    ) -> Result<(), UnabortableTransactionError> {
        let Some(old) = old else {
            return self.add(new);
        };
        let same_place = old.status == new.status
            && old.assessment.priority == new.assessment.priority
            && old.created_at == new.created_at
            && old.comment.site_id == new.comment.site_id;
        if same_place {
            // Only the timeline's value (verdict, status, label) can differ.
            self.timeline
                .insert(timeline_key(new), outcome_bytes(new).to_vec())?;
            return Ok(());
        }
        self.remove(old)?;
        self.add(new)
    }

    fn change_count(&self, key: Vec<u8>, change: i64) -> Result<(), UnabortableTransactionError> {
        let current = self
            .counts
            .get(&key)?
            .map(|bytes| decode_count(&bytes))
            .unwrap_or(0);
        let updated = current.saturating_add_signed(change);
        if updated == 0 {
            self.counts.remove(key)?;
        } else {
            self.counts.insert(key, updated.to_be_bytes().to_vec())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_sort_in_byte_order_across_the_epoch() {
        let times = [i64::MIN, -1_000, -1, 0, 1, 1_700_000_000_000, i64::MAX];
        for pair in times.windows(2) {
            assert!(time_bytes(UnixMillis(pair[0])) < time_bytes(UnixMillis(pair[1])));
        }
    }

    #[test]
    fn higher_priorities_sort_first() {
        assert!(priority_rank(Priority::High) < priority_rank(Priority::Medium));
        assert!(priority_rank(Priority::Medium) < priority_rank(Priority::Low));
    }

    #[test]
    fn one_sites_prefix_is_never_a_prefix_of_anothers() {
        let short = one_site_prefix(ReviewStatus::Pending, "a.example");
        let long = one_site_prefix(ReviewStatus::Pending, "a.example.org");
        assert!(!long.starts_with(&short));
    }

    #[test]
    fn counter_keys_read_back() {
        let key = count_key(ReviewStatus::Rejected, "news.example", Priority::Medium);
        assert_eq!(
            parse_count_key(&key),
            Some(("news.example".to_string(), priority_rank(Priority::Medium)))
        );
        assert_eq!(parse_count_key(&[1, 0, 0]), None);
    }

    #[test]
    fn outcomes_read_back_and_garbage_is_refused() {
        let outcome = decode_outcome(&[3, 2, 1]).unwrap();
        assert_eq!(outcome.verdict, Verdict::Reject);
        assert_eq!(outcome.status, ReviewStatus::Approved);
        assert_eq!(outcome.label, Some(Label::Ham));
        assert_eq!(decode_outcome(&[9, 2, 1]), None);
        assert_eq!(decode_outcome(&[1, 2]), None);
    }
}
