//! The review indexes: their key layouts, and keeping them in step with the
//! decisions inside the transaction that writes a decision.
//!
//! Trees:
//! - `site_queue`: one entry per decision, ordered the way a site's queue
//!   is read (priority high first, then oldest first, then decision id):
//!   `1, status, site, rank, created_at, decision_id` -> `verdict, label`,
//!   two bytes, so that a site's statistics since a time read nine ranges
//!   (three statuses, three ranks) and decode no decision. The queue of
//!   several sites, or of all of them, merges their ranges as it reads
//!   (the sites with decisions of a status are the keys of its counters).
//!
//!   The part after the site (`rank, created_at, decision_id`) is the
//!   *position* (defined by `review::QueueCursor`); a page token holds the
//!   position of the page's last item. Positions compare across sites, so
//!   a merged queue has the same order and the same page tokens.
//! - `queue_counts`: `status, site, rank` -> how many decisions are there,
//!   as a big-endian u64, so that a queue's total is a handful of reads.
//! - `statistics`, kept in the same transactions as the entries above:
//!   - `DAILY_FAMILY, site, day` -> for each hour of that day (days since
//!     1970, sortable bytes) in which the site has decisions, how many of
//!     them have each [`Outcome`] (see [`DayCounts`]), so that a site's
//!     statistics read one counter per day instead of one entry per
//!     decision, with the hour as their finest step. Only the hour that a
//!     `since` cuts in two is read from the one-site entries.
//!
//!     The counters were kept one per hour before (`RETIRED_HOURLY_FAMILY`,
//!     with their totals under `RETIRED_TOTALS_FAMILY`;
//!     replaced at open). A site with fewer than one decision an hour then
//!     had about one counter per decision: on a million decisions over
//!     2,000 sites, 1,100 bytes more on disk per decision, a start 2.3 s
//!     slower and 60 MiB more memory (BENCHMARKS.md, "Many sites"). A busy
//!     site's day counter is bigger instead (at most 24 hours times the
//!     outcomes that occur), but a batch of decisions rewrites it once.
//!   - `TOTALS_FAMILY, site, status` -> how many of the site's stored
//!     decisions the daily counters count with that status, as a
//!     big-endian u64: the queue counters count the same, so comparing the
//!     two at open tells whether the daily counters are complete (see
//!     `Store::settle_statistics`) without reading them all. A decision
//!     forgotten past the retention period leaves the totals but stays in
//!     the daily counters; if they are ever built again from the index
//!     entries, those no longer hold it.
//!
//! Layouts: a database created by this version has the layout above
//! ([`Layout::BySite`]). Databases created before keep theirs:
//! - [`Layout::Compact`]: a tree named `review_queue` that holds the same
//!   one-site entries and, for each, a second entry in an all-sites family
//!   (`0, status, rank, created_at, decision_id`, empty), which the queue
//!   of all sites read instead of merging. That is a fourth sled entry per
//!   decision (decision, comment index, two queue entries), and sled's
//!   memory grows with its entries (about 30 bytes each) whatever their
//!   size.
//! - [`Layout::Timeline`], older still: the entries of `Compact` in a tree
//!   named `queue`, with empty one-site values, and a `timeline` tree
//!   (`site, created_at, decision_id` -> `verdict, status, label`) that
//!   holds the statistics, a fifth entry per decision.
//!
//! Moving a database over was tried and
//! measured on a million decisions (BENCHMARKS.md): its first start took 27
//! to 58 s, and afterwards the service needed more memory (237 to 254 MiB
//! at start, against 182), not less, because sled keeps the memory of the
//! pages it drops and of page rewrites not yet consolidated. The layouts
//! differ only in these index entries, in where the statistics are read
//! and in how the queue of all sites is read; a database whose indexes are
//! in more than one is repaired at open (see [`Layout::settle`]).
//!
//! `site` is length-prefixed (u32, big-endian) so that no site's keys can be
//! mistaken for another's; `created_at` is big-endian with the sign bit
//! flipped, so that byte order is time order, before 1970 too.

use sled::transaction::{TransactionalTree, UnabortableTransactionError};

use crate::domain::{Decision, Label, Priority, ReviewStatus, UnixMillis, Verdict};
use crate::review::QueueCursor;
use crate::stats::Outcome;

/// Which index layout a database has (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Layout {
    /// Created before the statistics moved into the one-site entries.
    Timeline,
    /// No timeline: the one-site entries hold verdict and label; each
    /// decision has an all-sites entry too.
    Compact,
    /// One queue entry per decision, by site.
    BySite,
}

/// The key, in the default tree, of the mark that says the review indexes
/// are being built again from the decisions (or cleared to be): an open
/// that finds it builds them again, whatever entries are there.
pub(super) const REBUILDING_MARK: &[u8] = b"review indexes being rebuilt";

impl Layout {
    /// Every layout, newest first.
    const ALL: [Layout; 3] = [Layout::BySite, Layout::Compact, Layout::Timeline];

    /// The tree of the queue entries.
    pub fn queue_tree(self) -> &'static str {
        match self {
            Layout::Timeline => "queue",
            Layout::Compact => "review_queue",
            Layout::BySite => "site_queue",
        }
    }

    /// Whether each decision has an entry in the all-sites family, which
    /// the queue of all sites reads.
    pub fn has_all_sites_entries(self) -> bool {
        match self {
            Layout::Timeline | Layout::Compact => true,
            Layout::BySite => false,
        }
    }

    /// Whether the statistics of part of an hour are read from the
    /// `timeline` tree rather than from the one-site entries' values.
    pub fn has_timeline(self) -> bool {
        match self {
            Layout::Timeline => true,
            Layout::Compact | Layout::BySite => false,
        }
    }

    /// The trees that hold this layout's index entries.
    fn entry_trees(self) -> &'static [&'static str] {
        match self {
            Layout::Timeline => &["queue", TIMELINE_TREE],
            Layout::Compact => &["review_queue"],
            Layout::BySite => &["site_queue"],
        }
    }

    /// The layout of `db`, from its trees: the one layout whose entry
    /// trees hold entries; a database with none (a new database, or one
    /// with no review indexes yet) gets the newest layout.
    ///
    /// A database with entries in more than one layout (an older moderato
    /// ran on it after this one, and built its own indexes beside ours)
    /// cannot be trusted: its counters count decisions twice. Index entries
    /// are derived from the decisions, so they are all cleared, to be built
    /// again from the decisions in the newest layout at this open (see
    /// `Store::build_missing_indexes`). The rebuild's mark
    /// ([`REBUILDING_MARK`]) is set first, since a clear deletes one entry
    /// at a time: interrupted while clearing, the next open may find one
    /// layout half cleared, and the mark has it built again from the
    /// decisions rather than trusted.
    pub fn settle(db: &sled::Db) -> Result<Layout, sled::Error> {
        let names = db.tree_names();
        let has = |name: &str| names.iter().any(|tree| tree == name.as_bytes());
        let non_empty = |name: &str| -> Result<bool, sled::Error> {
            Ok(has(name) && !db.open_tree(name)?.is_empty())
        };
        let mut found = Vec::new();
        for layout in Layout::ALL {
            let mut holds_entries = false;
            for tree in layout.entry_trees() {
                holds_entries |= non_empty(tree)?;
            }
            if holds_entries {
                found.push(layout);
            }
        }
        Ok(match found.as_slice() {
            [] => Layout::BySite,
            [layout] => *layout,
            _ => {
                tracing::warn!(
                    "the review indexes are in two layouts (an older moderato ran on this \
                     database after this one); building them again from the decisions"
                );
                db.insert(REBUILDING_MARK, &[])?;
                db.flush()?;
                for layout in Layout::ALL {
                    for tree in layout.entry_trees() {
                        db.open_tree(tree)?.clear()?;
                    }
                }
                for tree in [COUNTS_TREE, STATISTICS_TREE] {
                    db.open_tree(tree)?.clear()?;
                }
                Layout::BySite
            }
        })
    }
}

/// The queue counters' tree, in every layout.
pub(super) const COUNTS_TREE: &str = "queue_counts";

/// The statistics' tree of the [`Layout::Timeline`] layout; opened (empty)
/// in the others too, so that transactions span the same trees.
pub(super) const TIMELINE_TREE: &str = "timeline";

/// The statistics counters' tree.
pub(super) const STATISTICS_TREE: &str = "statistics";

/// The first byte of the hourly counters that databases written before
/// the daily counters hold: no longer written, and replaced at open (see
/// `Store::settle_statistics`).
const RETIRED_HOURLY_FAMILY: u8 = 1;
/// The first byte of the per-status totals that went with the hourly
/// counters, replaced at open like them.
const RETIRED_TOTALS_FAMILY: u8 = 2;
/// The first byte of the daily counters in `statistics`.
const DAILY_FAMILY: u8 = 3;
/// The first byte of the per-status totals in `statistics`. Not the
/// hourly counters' byte: an older moderato started on this database
/// finds none of its totals, so it builds its hourly counters again
/// instead of reading none and answering zeros.
const TOTALS_FAMILY: u8 = 4;

/// The statistics counters' finest step.
pub(super) const HOUR_MILLIS: i64 = 60 * 60 * 1000;
/// Hours in a statistics counter's day (days of UTC, as the hours are).
const HOURS_PER_DAY: i64 = 24;

const ALL_SITES_FAMILY: u8 = 0;
const ONE_SITE_FAMILY: u8 = 1;
/// The all-sites entries carry everything in their key.
const EMPTY: &[u8] = &[];

pub(super) use crate::review::priority_rank;

pub(super) fn status_byte(status: ReviewStatus) -> u8 {
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

/// The hour a time falls in, counted from 1970 (negative before).
pub(super) fn hour_of(time: UnixMillis) -> i64 {
    time.0.div_euclid(HOUR_MILLIS)
}

/// The day an hour (counted from 1970) falls in, and the hour's place in
/// that day (0 to 23).
pub(super) fn day_and_hour(hour: i64) -> (i64, u8) {
    // rem_euclid of 24 is from 0 to 23, so the narrowing is exact.
    (
        hour.div_euclid(HOURS_PER_DAY),
        hour.rem_euclid(HOURS_PER_DAY) as u8,
    )
}

/// The key of a site's statistics counter of one day.
pub(super) fn daily_key(site_id: &str, day: i64) -> Vec<u8> {
    [
        daily_prefix(site_id).as_slice(),
        &UnixMillis(day).sortable_bytes(),
    ]
    .concat()
}

/// The prefix of every statistics counter of a site.
pub(super) fn daily_prefix(site_id: &str) -> Vec<u8> {
    [&[DAILY_FAMILY][..], &site_key(site_id)].concat()
}

/// The day of a site's daily counter, from the part of its key after
/// [`daily_prefix`]; `None` if the bytes are not one.
pub(super) fn day_of_key_end(end: &[u8]) -> Option<i64> {
    let day: [u8; 8] = end.try_into().ok()?;
    Some(UnixMillis::from_sortable_bytes(day).0)
}

/// The key range of every one-site queue entry.
pub(super) fn one_site_entries() -> std::ops::Range<[u8; 1]> {
    [ONE_SITE_FAMILY]..[ONE_SITE_FAMILY + 1]
}

/// The key range of every daily counter.
pub(super) fn daily_counters() -> std::ops::Range<[u8; 1]> {
    [DAILY_FAMILY]..[DAILY_FAMILY + 1]
}

/// A key after every daily counter of `site_id` and before the next
/// site's: its prefix, then more bytes of 0xFF than a day takes.
pub(super) fn past_daily_counters_of(site_id: &str) -> Vec<u8> {
    [daily_prefix(site_id), vec![0xFF; 9]].concat()
}

/// The key range of the hourly counters and their totals an older
/// moderato wrote.
pub(super) fn retired_hourly_counters() -> std::ops::Range<[u8; 1]> {
    [RETIRED_HOURLY_FAMILY]..[RETIRED_TOTALS_FAMILY + 1]
}

/// The key range of every per-status total.
pub(super) fn status_totals() -> std::ops::Range<[u8; 1]> {
    [TOTALS_FAMILY]..[TOTALS_FAMILY + 1]
}

/// The key of the total of a site's decisions of a status.
fn total_key(site_id: &str, status: u8) -> Vec<u8> {
    [&[TOTALS_FAMILY][..], &site_key(site_id), &[status]].concat()
}

/// Reads a per-status total's key back into its site and status byte;
/// `None` if the bytes are not one.
pub(super) fn parse_total_key(key: &[u8]) -> Option<(String, u8)> {
    let (&family, rest) = key.split_first()?;
    if family != TOTALS_FAMILY {
        return None;
    }
    match site_from_key(rest)? {
        (site, [status]) if status_from_byte(*status).is_some() => Some((site, *status)),
        _ => None,
    }
}

/// An outcome's slot in a statistics counter: one of 27 (three verdicts,
/// three statuses, three labels).
fn outcome_slot(outcome: Outcome) -> u8 {
    let verdict = verdict_byte(outcome.verdict) - 1;
    let status = status_byte(outcome.status) - 1;
    (verdict * 3 + status) * 3 + label_byte(outcome.label)
}

fn slot_outcome(slot: u8) -> Option<Outcome> {
    Some(Outcome {
        verdict: verdict_from_byte(slot / 9 + 1)?,
        status: status_from_byte(slot / 3 % 3 + 1)?,
        label: label_from_byte(slot % 3)?,
    })
    .filter(|_| slot < 27)
}

/// The outcome a decision counts as in the statistics.
pub(super) fn outcome_of(decision: &Decision) -> Outcome {
    Outcome {
        verdict: decision.assessment.verdict,
        status: decision.status,
        label: decision
            .resolution
            .as_ref()
            .map(|resolution| resolution.label),
    }
}

/// The bytes of one count in a daily counter's value: the hour of the
/// day, the outcome's slot, and the count as a big-endian u32.
const DAY_COUNT_BYTES: usize = 6;

/// A site's statistics counter of one day: for each hour of the day, how
/// many of the site's decisions created in it have each outcome. Its
/// value is a `(hour of the day, slot, count)` triple (see
/// [`DAY_COUNT_BYTES`]) for each count that is not zero, in that order, so
/// that equal counters have equal bytes.
///
/// A count is a u32: four billion decisions of one outcome at one site in
/// one hour would take 1.2 million decisions a second for the hour, two
/// hundred times what the service stores. It stops there rather than wrap.
#[derive(Debug, Default, Clone, PartialEq)]
pub(super) struct DayCounts {
    counts: std::collections::BTreeMap<(u8, u8), u32>,
}

impl DayCounts {
    /// Reads a daily counter's value back; `None` if the bytes are not one.
    pub fn decode(bytes: &[u8]) -> Option<DayCounts> {
        if !bytes.len().is_multiple_of(DAY_COUNT_BYTES) {
            return None;
        }
        let mut counts = std::collections::BTreeMap::new();
        for triple in bytes.chunks_exact(DAY_COUNT_BYTES) {
            let (hour, slot) = (triple[0], triple[1]);
            let count = u32::from_be_bytes(triple[2..].try_into().ok()?);
            let valid = i64::from(hour) < HOURS_PER_DAY && slot_outcome(slot).is_some();
            if !valid || counts.insert((hour, slot), count).is_some() {
                return None;
            }
        }
        Some(DayCounts { counts })
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut value = Vec::with_capacity(self.counts.len() * DAY_COUNT_BYTES);
        for ((hour, slot), count) in &self.counts {
            value.extend_from_slice(&[*hour, *slot]);
            value.extend_from_slice(&count.to_be_bytes());
        }
        value
    }

    pub fn is_empty(&self) -> bool {
        self.counts.is_empty()
    }

    /// Adds `change` to the count of `outcome` in the hour `hour_of_day`;
    /// a count that falls to 0 is left out.
    pub fn change(&mut self, hour_of_day: u8, outcome: Outcome, change: i64) {
        let key = (hour_of_day, outcome_slot(outcome));
        let current = self.counts.get(&key).copied().unwrap_or(0);
        let updated = i64::from(current)
            .saturating_add(change)
            .clamp(0, i64::from(u32::MAX)) as u32;
        if updated == 0 {
            self.counts.remove(&key);
        } else {
            self.counts.insert(key, updated);
        }
    }

    /// The counts of the hours from `first_hour_of_day` to the day's end.
    pub fn counts_from_hour(
        &self,
        first_hour_of_day: u8,
    ) -> impl Iterator<Item = (Outcome, u64)> + '_ {
        self.counts
            .range((first_hour_of_day, 0)..)
            .filter_map(|((_, slot), count)| Some((slot_outcome(*slot)?, u64::from(*count))))
    }
}

/// Statistics counters being built in memory (see
/// `Store::settle_statistics`), written out as a whole.
#[derive(Debug, Default)]
pub(super) struct StatisticsCounters {
    days: std::collections::HashMap<(String, i64), DayCounts>,
}

impl StatisticsCounters {
    pub fn add(&mut self, site_id: &str, created_at: UnixMillis, outcome: Outcome) {
        let (day, hour_of_day) = day_and_hour(hour_of(created_at));
        self.days
            .entry((site_id.to_string(), day))
            .or_default()
            .change(hour_of_day, outcome, 1);
    }

    /// The counters and the per-status totals as (key, value) entries.
    pub fn entries(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut totals: std::collections::HashMap<(&str, u8), u64> = Default::default();
        let mut entries = Vec::with_capacity(self.days.len());
        for ((site, day), counts) in &self.days {
            entries.push((daily_key(site, *day), counts.encode()));
            for (outcome, count) in counts.counts_from_hour(0) {
                *totals
                    .entry((site.as_str(), status_byte(outcome.status)))
                    .or_insert(0) += count;
            }
        }
        for ((site, status), total) in totals {
            entries.push((total_key(site, status), total.to_be_bytes().to_vec()));
        }
        entries
    }
}

/// Reads a daily counter key back into its site and day; `None` if the
/// bytes are not one.
pub(super) fn parse_daily_key(key: &[u8]) -> Option<(String, i64)> {
    let (&family, rest) = key.split_first()?;
    if family != DAILY_FAMILY {
        return None;
    }
    let (site, day) = site_from_key(rest)?;
    Some((site, day_of_key_end(day)?))
}

/// The status byte a queue counter key starts with, as the key's status.
pub(super) fn count_key_status(key: &[u8]) -> Option<u8> {
    key.first()
        .copied()
        .filter(|byte| status_from_byte(*byte).is_some())
}

/// Reads a one-site queue entry's key and value back into its site,
/// creation time and outcome; `None` if it is not one.
pub(super) fn parse_one_site_entry(
    key: &[u8],
    value: &[u8],
) -> Option<(String, UnixMillis, Outcome)> {
    let (&family, rest) = key.split_first()?;
    if family != ONE_SITE_FAMILY {
        return None;
    }
    let (&status, rest) = rest.split_first()?;
    let (site, position) = site_from_key(rest)?;
    let time: [u8; 8] = position.get(1..QueueCursor::ID_OFFSET)?.try_into().ok()?;
    let created_at = UnixMillis::from_sortable_bytes(time);
    let outcome = decode_outcome(status_from_byte(status)?, value)?;
    Some((site, created_at, outcome))
}

/// Reads a timeline entry back into its site, creation time and outcome
/// ([`Layout::Timeline`]); `None` if it is not one.
pub(super) fn parse_timeline_entry(
    key: &[u8],
    value: &[u8],
) -> Option<(String, UnixMillis, Outcome)> {
    let (site, rest) = site_from_key(key)?;
    let time: [u8; 8] = rest.get(..8)?.try_into().ok()?;
    let created_at = UnixMillis::from_sortable_bytes(time);
    Some((site, created_at, decode_timeline_value(value)?))
}

/// The counter key of (status, site, priority).
pub(super) fn count_key(status: ReviewStatus, site_id: &str, priority: Priority) -> Vec<u8> {
    let mut key = Vec::with_capacity(6 + site_id.len());
    key.push(status_byte(status));
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

/// The value of a decision's one-site entry: what statistics count that
/// its key does not hold.
pub(super) fn outcome_value(decision: &Decision) -> [u8; 2] {
    [
        verdict_byte(decision.assessment.verdict),
        label_byte(decision.resolution.as_ref().map(|r| r.label)),
    ]
}

/// The statistics of one entry: its status (from its key) and its value;
/// `None` if the value is not one.
pub(super) fn decode_outcome(status: ReviewStatus, value: &[u8]) -> Option<Outcome> {
    match value {
        [verdict, label] => Some(Outcome {
            verdict: verdict_from_byte(*verdict)?,
            status,
            label: label_from_byte(*label)?,
        }),
        _ => None,
    }
}

/// The ranges of a site's one-site entries created at or after `since`
/// and before `until` (`None`: no end): one per status and rank, each with
/// the status its entries have.
pub(super) fn site_ranges_between(
    site_id: &str,
    since: UnixMillis,
    until: Option<UnixMillis>,
) -> Vec<(ReviewStatus, Vec<u8>, Vec<u8>)> {
    let statuses = [
        ReviewStatus::Pending,
        ReviewStatus::Approved,
        ReviewStatus::Rejected,
    ];
    let ranks = [Priority::High, Priority::Medium, Priority::Low].map(priority_rank);
    let mut ranges = Vec::with_capacity(statuses.len() * ranks.len());
    for status in statuses {
        let prefix = one_site_prefix(status, site_id);
        for rank in ranks {
            let start = [prefix.as_slice(), &[rank], &time_bytes(since)].concat();
            let end = match until {
                Some(until) => [prefix.as_slice(), &[rank], &time_bytes(until)].concat(),
                None => [prefix.as_slice(), &[rank + 1]].concat(),
            };
            ranges.push((status, start, end));
        }
    }
    ranges
}

fn timeline_key(decision: &Decision) -> Vec<u8> {
    let mut key = site_key(&decision.comment.site_id);
    key.extend_from_slice(&time_bytes(decision.created_at));
    key.extend_from_slice(decision.decision_id.as_bytes());
    key
}

/// Where a site's timeline starts at `since` ([`Layout::Timeline`]).
pub(super) fn timeline_start(site_id: &str, since: UnixMillis) -> Vec<u8> {
    let mut key = site_key(site_id);
    key.extend_from_slice(&time_bytes(since));
    key
}

fn timeline_value(decision: &Decision) -> [u8; 3] {
    let [verdict, label] = outcome_value(decision);
    [verdict, status_byte(decision.status), label]
}

/// Reads a timeline value back; `None` if the bytes are not one.
pub(super) fn decode_timeline_value(bytes: &[u8]) -> Option<Outcome> {
    match bytes {
        [verdict, status, label] => decode_outcome(status_from_byte(*status)?, &[*verdict, *label]),
        _ => None,
    }
}

/// The index trees as seen inside a transaction.
pub(super) struct Indexes<'a> {
    pub layout: Layout,
    pub queue: &'a TransactionalTree,
    pub counts: &'a TransactionalTree,
    pub timeline: &'a TransactionalTree,
    pub statistics: &'a TransactionalTree,
}

impl<'a> Indexes<'a> {
    /// The index trees of a transaction over (queue, queue counts,
    /// timeline, statistics), in that order.
    pub fn of(
        layout: Layout,
        (queue, counts, timeline, statistics): (
            &'a TransactionalTree,
            &'a TransactionalTree,
            &'a TransactionalTree,
            &'a TransactionalTree,
        ),
    ) -> Indexes<'a> {
        Indexes {
            layout,
            queue,
            counts,
            timeline,
            statistics,
        }
    }

    /// Enters a decision in every index.
    pub fn add(&self, decision: &Decision) -> Result<(), UnabortableTransactionError> {
        let position = position(decision);
        let status = decision.status;
        let site = &decision.comment.site_id;
        if self.layout.has_all_sites_entries() {
            self.queue
                .insert([all_sites_prefix(status), position.clone()].concat(), EMPTY)?;
        }
        self.queue.insert(
            [one_site_prefix(status, site), position].concat(),
            self.one_site_value(decision),
        )?;
        self.change_count(count_key(status, site, decision.assessment.priority), 1)?;
        self.change_statistics(decision, 1)?;
        if self.layout.has_timeline() {
            self.timeline
                .insert(timeline_key(decision), timeline_value(decision).to_vec())?;
        }
        Ok(())
    }

    /// Takes a decision, as it was stored, out of every index.
    pub fn remove(&self, decision: &Decision) -> Result<(), UnabortableTransactionError> {
        self.remove_from_queue(decision)?;
        self.change_statistics(decision, -1)
    }

    /// Takes a decision out of the review queue and its counts, and out of
    /// its status's total (which counts what the queue counters count, see
    /// `Store::settle_statistics`), leaving the daily counters counting it:
    /// a decision past the retention period was still made that day.
    pub fn remove_keeping_daily_statistics(
        &self,
        decision: &Decision,
    ) -> Result<(), UnabortableTransactionError> {
        self.remove_from_queue(decision)?;
        let total = total_key(&decision.comment.site_id, status_byte(decision.status));
        Self::change_counter(self.statistics, total, -1)
    }

    fn remove_from_queue(&self, decision: &Decision) -> Result<(), UnabortableTransactionError> {
        let position = position(decision);
        let status = decision.status;
        let site = &decision.comment.site_id;
        if self.layout.has_all_sites_entries() {
            self.queue
                .remove([all_sites_prefix(status), position.clone()].concat())?;
        }
        self.queue
            .remove([one_site_prefix(status, site), position].concat())?;
        self.change_count(count_key(status, site, decision.assessment.priority), -1)?;
        if self.layout.has_timeline() {
            self.timeline.remove(timeline_key(decision))?;
        }
        Ok(())
    }

    /// Moves a decision's entries from how it was stored to how it is now,
    /// touching only what changed: resolving an item rewrites its queue
    /// entries (one, or two in the older layouts) and its counters.
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
            // Only the verdict and the label can differ.
            if outcome_value(old) != outcome_value(new) {
                self.change_statistics(old, -1)?;
                self.change_statistics(new, 1)?;
                if self.layout.has_timeline() {
                    self.timeline
                        .insert(timeline_key(new), timeline_value(new).to_vec())?;
                } else {
                    self.queue.insert(
                        [
                            one_site_prefix(new.status, &new.comment.site_id),
                            position(new),
                        ]
                        .concat(),
                        self.one_site_value(new),
                    )?;
                }
            }
            return Ok(());
        }
        self.remove(old)?;
        self.add(new)
    }

    fn one_site_value(&self, decision: &Decision) -> Vec<u8> {
        if self.layout.has_timeline() {
            EMPTY.to_vec()
        } else {
            outcome_value(decision).to_vec()
        }
    }

    /// Adds `change` to the count of the decision's outcome in its site's
    /// counter of the day, and the hour of that day, it was created in.
    fn change_statistics(
        &self,
        decision: &Decision,
        change: i64,
    ) -> Result<(), UnabortableTransactionError> {
        let site = &decision.comment.site_id;
        let (day, hour_of_day) = day_and_hour(hour_of(decision.created_at));
        let key = daily_key(site, day);
        // A value that does not decode counts nothing: the counters are
        // checked against the queue counters at each open, and built again
        // if they differ.
        let mut counts = self
            .statistics
            .get(&key)?
            .and_then(|bytes| DayCounts::decode(&bytes))
            .unwrap_or_default();
        counts.change(hour_of_day, outcome_of(decision), change);
        if counts.is_empty() {
            self.statistics.remove(key)?;
        } else {
            self.statistics.insert(key, counts.encode())?;
        }
        let total = total_key(site, status_byte(decision.status));
        Self::change_counter(self.statistics, total, change)
    }

    fn change_count(&self, key: Vec<u8>, change: i64) -> Result<(), UnabortableTransactionError> {
        Self::change_counter(self.counts, key, change)
    }

    /// Adds `change` to the big-endian u64 under `key` in `tree`; a
    /// counter that falls to 0 is removed.
    fn change_counter(
        tree: &TransactionalTree,
        key: Vec<u8>,
        change: i64,
    ) -> Result<(), UnabortableTransactionError> {
        let current = tree
            .get(&key)?
            .map(|bytes| decode_count(&bytes))
            .unwrap_or(0);
        let updated = current.saturating_add_signed(change);
        if updated == 0 {
            tree.remove(key)?;
        } else {
            tree.insert(key, updated.to_be_bytes().to_vec())?;
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
    fn layouts_are_told_apart_by_their_trees() {
        let database = || sled::Config::new().temporary(true).open().unwrap();
        let fresh = database();
        assert_eq!(Layout::settle(&fresh).unwrap(), Layout::BySite);
        let old = database();
        old.open_tree(TIMELINE_TREE).unwrap();
        old.open_tree("queue").unwrap().insert(b"k", b"").unwrap();
        assert_eq!(Layout::settle(&old).unwrap(), Layout::Timeline);
        // Empty trees of older layouts (opened by an older version that
        // stored nothing): nothing to keep, so the newest layout.
        let empty_old = database();
        for tree in [TIMELINE_TREE, "queue", "review_queue"] {
            empty_old.open_tree(tree).unwrap();
        }
        assert_eq!(Layout::settle(&empty_old).unwrap(), Layout::BySite);
        let compact = database();
        compact
            .open_tree("review_queue")
            .unwrap()
            .insert(b"k", b"")
            .unwrap();
        compact.open_tree(TIMELINE_TREE).unwrap();
        assert_eq!(Layout::settle(&compact).unwrap(), Layout::Compact);
        assert_eq!(compact.open_tree("review_queue").unwrap().len(), 1);
        let by_site = database();
        by_site
            .open_tree("site_queue")
            .unwrap()
            .insert(b"k", b"")
            .unwrap();
        by_site.open_tree("review_queue").unwrap();
        assert_eq!(Layout::settle(&by_site).unwrap(), Layout::BySite);
        assert_eq!(by_site.open_tree("site_queue").unwrap().len(), 1);
    }

    #[test]
    fn indexes_in_two_layouts_are_cleared_to_be_built_again() {
        let index_trees = [
            "site_queue",
            "review_queue",
            "queue",
            TIMELINE_TREE,
            COUNTS_TREE,
            STATISTICS_TREE,
        ];
        for (ours, theirs) in [
            ("site_queue", "review_queue"),
            ("site_queue", "queue"),
            ("review_queue", TIMELINE_TREE),
        ] {
            let mixed = sled::Config::new().temporary(true).open().unwrap();
            for tree in [ours, theirs, COUNTS_TREE, STATISTICS_TREE] {
                mixed.open_tree(tree).unwrap().insert(b"k", b"v").unwrap();
            }
            assert_eq!(Layout::settle(&mixed).unwrap(), Layout::BySite);
            for tree in index_trees {
                assert!(mixed.open_tree(tree).unwrap().is_empty(), "{ours} {tree}");
            }
            // The rebuild's mark went before the clearing, so that one cut
            // short is built again whatever it left.
            assert!(mixed.get(REBUILDING_MARK).unwrap().is_some());
            // Cleared, the database is no longer mixed.
            assert_eq!(Layout::settle(&mixed).unwrap(), Layout::BySite);
        }
    }

    #[test]
    fn every_outcome_has_a_slot_of_its_own_that_reads_back() {
        let mut slots = std::collections::BTreeSet::new();
        for verdict in [Verdict::Allow, Verdict::Review, Verdict::Reject] {
            for status in [
                ReviewStatus::Pending,
                ReviewStatus::Approved,
                ReviewStatus::Rejected,
            ] {
                for label in [None, Some(Label::Ham), Some(Label::Spam)] {
                    let outcome = Outcome {
                        verdict,
                        status,
                        label,
                    };
                    let slot = outcome_slot(outcome);
                    assert!(slot < 27);
                    assert_eq!(slot_outcome(slot), Some(outcome));
                    slots.insert(slot);
                }
            }
        }
        assert_eq!(slots.len(), 27);
        assert_eq!(slot_outcome(27), None);
    }

    #[test]
    fn a_day_counter_reads_back_and_garbage_is_refused() {
        let spam = Outcome {
            verdict: Verdict::Reject,
            status: ReviewStatus::Rejected,
            label: None,
        };
        let ham = Outcome {
            verdict: Verdict::Allow,
            status: ReviewStatus::Approved,
            label: Some(Label::Ham),
        };
        let mut counts = DayCounts::default();
        counts.change(23, spam, 3);
        counts.change(0, ham, 2);
        counts.change(7, spam, 1);
        counts.change(7, spam, -1);
        let bytes = counts.encode();
        assert_eq!(bytes.len(), 2 * DAY_COUNT_BYTES);
        assert_eq!(DayCounts::decode(&bytes), Some(counts.clone()));
        let from = |counts: &DayCounts, hour| counts.counts_from_hour(hour).collect::<Vec<_>>();
        assert_eq!(from(&counts, 0), vec![(ham, 2), (spam, 3)]);
        assert_eq!(from(&counts, 1), vec![(spam, 3)]);
        assert_eq!(from(&counts, 23), vec![(spam, 3)]);
        // Counts stop at 0 and at u32::MAX.
        counts.change(23, spam, -10);
        counts.change(0, ham, i64::MAX);
        assert_eq!(from(&counts, 0), vec![(ham, u64::from(u32::MAX))]);
        // An hour past the day, a slot past the outcomes, a cut triple and
        // a repeated one are refused.
        assert_eq!(DayCounts::decode(&[24, 0, 0, 0, 0, 1]), None);
        assert_eq!(DayCounts::decode(&[0, 27, 0, 0, 0, 1]), None);
        assert_eq!(DayCounts::decode(&[0, 1, 0]), None);
        assert_eq!(
            DayCounts::decode(&[0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 2]),
            None
        );
        assert_eq!(DayCounts::decode(&[]), Some(DayCounts::default()));
    }

    #[test]
    fn hours_split_time_at_whole_hours_before_1970_too() {
        assert_eq!(hour_of(UnixMillis(0)), 0);
        assert_eq!(hour_of(UnixMillis(HOUR_MILLIS - 1)), 0);
        assert_eq!(hour_of(UnixMillis(HOUR_MILLIS)), 1);
        assert_eq!(hour_of(UnixMillis(-1)), -1);
        assert_eq!(hour_of(UnixMillis(-HOUR_MILLIS)), -1);
        assert_eq!(day_and_hour(0), (0, 0));
        assert_eq!(day_and_hour(23), (0, 23));
        assert_eq!(day_and_hour(24), (1, 0));
        assert_eq!(day_and_hour(-1), (-1, 23));
        assert_eq!(day_and_hour(-24), (-1, 0));
        assert_eq!(day_and_hour(-25), (-2, 23));
        let key = daily_key("news.example", -3);
        assert_eq!(
            parse_daily_key(&key),
            Some(("news.example".to_string(), -3))
        );
        assert!(daily_key("a", -1) < daily_key("a", 0));
        let total = total_key("news.example", status_byte(ReviewStatus::Approved));
        assert_eq!(
            parse_total_key(&total),
            Some((
                "news.example".to_string(),
                status_byte(ReviewStatus::Approved)
            ))
        );
        assert_eq!(parse_total_key(&key), None);
        assert_eq!(parse_daily_key(&total), None);
    }

    #[test]
    fn outcomes_read_back_and_garbage_is_refused() {
        let outcome = decode_outcome(ReviewStatus::Approved, &[3, 1]).unwrap();
        assert_eq!(outcome.verdict, Verdict::Reject);
        assert_eq!(outcome.status, ReviewStatus::Approved);
        assert_eq!(outcome.label, Some(Label::Ham));
        assert_eq!(decode_outcome(ReviewStatus::Pending, &[9, 1]), None);
        assert_eq!(decode_outcome(ReviewStatus::Pending, &[1, 2, 1]), None);
        assert_eq!(decode_outcome(ReviewStatus::Pending, &[]), None);
        // A timeline value holds the status too.
        let old = decode_timeline_value(&[3, 2, 1]).unwrap();
        assert_eq!(old, outcome);
        assert_eq!(decode_timeline_value(&[3, 9, 1]), None);
        assert_eq!(decode_timeline_value(&[3, 1]), None);
    }
}
