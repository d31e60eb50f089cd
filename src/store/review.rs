//! The review side of storage: queue pages and totals read from the
//! indexes, people's labels written with their audit entry and training
//! example in one transaction, and the statistics, read from daily
//! counters with hourly counts (see `index`).

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};
use std::ops::Bound;

use sled::transaction::{ConflictableTransactionError, TransactionError};
use sled::Transactional;

use super::decisions::{decode, encode};
use super::index::{self, Indexes, Layout};
use super::{from_json, to_json, transaction_error, Store, StoreError};
use crate::domain::{Decision, UnixMillis};
use crate::review::{
    apply_label, label_changes_exhausted, AuditEntry, BatchLabelled, Correction, LabelRequest,
    Labelled, QueueCursor, QueueFilter, QueuePage, SiteScope,
};
use crate::stats::Tally;

/// How many decisions are indexed per transaction when an older database
/// gets its review indexes.
const INDEX_BUILD_BATCH: usize = 1_000;

fn corrupt(key: &[u8], message: &str) -> StoreError {
    StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        message: message.to_string(),
    }
}

/// The audit trail's key prefix of a decision: its length-prefixed id, so
/// that one id's entries never run into another's.
fn audit_prefix(decision_id: &str) -> Vec<u8> {
    index::site_key(decision_id)
}

impl Store {
    /// One page of the queue: at most `page_size` decisions matching
    /// `filter`, in queue order, starting after `after`. Reads one index
    /// entry per site range wanted, `page_size + 1` more and the page's
    /// decisions, however many decisions are stored.
    pub fn queue_page(
        &self,
        filter: &QueueFilter,
        after: Option<&QueueCursor>,
        page_size: usize,
    ) -> Result<QueuePage, StoreError> {
        let prefixes = match &filter.scope {
            SiteScope::All if self.inner.layout.has_all_sites_entries() => {
                vec![index::all_sites_prefix(filter.status)]
            }
            SiteScope::All => self
                .sites_with(filter)?
                .iter()
                .map(|site| index::one_site_prefix(filter.status, site))
                .collect(),
            SiteScope::Sites(sites) => sites
                .iter()
                .map(|site| index::one_site_prefix(filter.status, site))
                .collect(),
        };
        let mut positions = self.merged_positions(&prefixes, filter, after, page_size + 1)?;
        let next = if positions.len() > page_size {
            positions.truncate(page_size);
            positions.last().cloned().map(QueueCursor)
        } else {
            None
        };
        let mut items = Vec::with_capacity(positions.len());
        for position in &positions {
            let id = index::id_of_position(position)
                .ok_or_else(|| corrupt(position, "a queue entry has no decision id"))?;
            // The index and the decisions are read apart, not in one
            // transaction: a decision forgotten (by `ForgetComment` or
            // retention) in between is gone from both by now, and the page
            // goes on without it, as it does for one resolved meanwhile.
            let Some(bytes) = self.inner.decisions.get(id)? else {
                continue;
            };
            let decision = decode(id, &bytes)?;
            // A decision resolved or rechecked (to another priority)
            // between reading the index and reading it no longer belongs
            // at this place: it is listed where its entry is now. So every
            // item's own position is the one it was found at, and a page
            // cut after any item can go on from that item's position.
            if decision.status == filter.status && index::position(&decision) == *position {
                items.push(decision);
            }
        }
        Ok(QueuePage {
            items,
            next,
            total: self.queue_total(filter)?,
        })
    }

    /// The first `limit` positions after `after` in the ranges of
    /// `prefixes` (each a status's queue of one site, or of all sites),
    /// merged in queue order. Every range is in queue order and positions
    /// compare across sites, so the merge keeps the head of each range in
    /// a heap and reads the next entry of the one it takes from.
    fn merged_positions(
        &self,
        prefixes: &[Vec<u8>],
        filter: &QueueFilter,
        after: Option<&QueueCursor>,
        limit: usize,
    ) -> Result<Vec<Vec<u8>>, StoreError> {
        // Positions start with the rank, so stopping before the rank after
        // the lowest one wanted applies the minimum priority.
        let end_rank = index::priority_rank(filter.min_priority) + 1;
        let mut ranges = Vec::with_capacity(prefixes.len());
        let mut heads = BinaryHeap::with_capacity(prefixes.len());
        // Moves the next position of range `index` (if any) into the heap.
        let next_of = |heads: &mut BinaryHeap<_>, range: &mut sled::Iter, index: usize| {
            if let Some(entry) = range.next() {
                let (key, _) = entry?;
                let prefix_length = prefixes[index].len();
                heads.push(Reverse((key[prefix_length..].to_vec(), index)));
            }
            Ok::<_, StoreError>(())
        };
        for (index, prefix) in prefixes.iter().enumerate() {
            let start = match after {
                Some(cursor) => Bound::Excluded([prefix.as_slice(), &cursor.0].concat()),
                None => Bound::Included(prefix.clone()),
            };
            let end = Bound::Excluded([prefix.as_slice(), &[end_rank]].concat());
            let mut range = self.inner.queue.range::<Vec<u8>, _>((start, end));
            next_of(&mut heads, &mut range, index)?;
            ranges.push(range);
        }
        let mut positions = Vec::with_capacity(limit.min(1_024));
        while positions.len() < limit {
            let Some(Reverse((position, index))) = heads.pop() else {
                break;
            };
            next_of(&mut heads, &mut ranges[index], index)?;
            positions.push(position);
        }
        Ok(positions)
    }

    /// The sites that have decisions of the filter's status at one of its
    /// priorities, from the queue counters (a counter that falls to 0 is
    /// removed).
    fn sites_with(&self, filter: &QueueFilter) -> Result<BTreeSet<String>, StoreError> {
        let highest_rank = index::priority_rank(filter.min_priority);
        let mut sites = BTreeSet::new();
        for key in self
            .inner
            .queue_counts
            .scan_prefix(index::count_prefix(filter.status))
            .keys()
        {
            let key = key?;
            let (site, rank) = index::parse_count_key(&key)
                .ok_or_else(|| corrupt(&key, "a queue counter key is malformed"))?;
            if rank <= highest_rank {
                sites.insert(site);
            }
        }
        Ok(sites)
    }

    /// How many decisions match `filter`, from the per-(status, site,
    /// priority) counters: one read per site and priority, or one pass over
    /// the status's counters when every site is wanted.
    pub fn queue_total(&self, filter: &QueueFilter) -> Result<u64, StoreError> {
        let highest_rank = index::priority_rank(filter.min_priority);
        let mut total = 0;
        match &filter.scope {
            SiteScope::All => {
                for entry in self
                    .inner
                    .queue_counts
                    .scan_prefix(index::count_prefix(filter.status))
                {
                    let (key, value) = entry?;
                    let (_, rank) = index::parse_count_key(&key)
                        .ok_or_else(|| corrupt(&key, "a queue counter key is malformed"))?;
                    if rank <= highest_rank {
                        total += index::decode_count(&value);
                    }
                }
            }
            SiteScope::Sites(sites) => {
                for site in sites {
                    for priority in [
                        crate::domain::Priority::High,
                        crate::domain::Priority::Medium,
                        crate::domain::Priority::Low,
                    ] {
                        if index::priority_rank(priority) > highest_rank {
                            continue;
                        }
                        let key = index::count_key(filter.status, site, priority);
                        if let Some(value) = self.inner.queue_counts.get(key)? {
                            total += index::decode_count(&value);
                        }
                    }
                }
            }
        }
        Ok(total)
    }

    /// Applies a person's label to stored decisions, all of which must
    /// exist and belong to a site in `scope`: the decisions, their index
    /// entries, audit entries and training examples are written in one
    /// transaction, or (when an id is missing or out of scope) nothing is.
    /// Each decision is read once, here, so the scope check costs no extra
    /// read. Call [`Store::durable`] before acknowledging.
    pub fn apply_labels(
        &self,
        decision_ids: &[String],
        scope: &SiteScope,
        request: &LabelRequest,
        now: UnixMillis,
    ) -> Result<BatchLabelled, StoreError> {
        /// Why a labelling transaction stopped.
        enum Stop {
            Refused(BatchLabelled),
            Failed(StoreError),
        }
        let inner = &self.inner;
        let result = (
            &inner.decisions,
            &inner.queue,
            &inner.queue_counts,
            &inner.timeline,
            &inner.statistics,
            &inner.audit,
            &inner.corrections,
        )
            .transaction(
                |(decisions, queue, counts, timeline, statistics, audit, corrections)| {
                    let failed = |error| ConflictableTransactionError::Abort(Stop::Failed(error));
                    let refused =
                        |outcome| ConflictableTransactionError::Abort(Stop::Refused(outcome));
                    let indexes = Indexes::of(inner.layout, (queue, counts, timeline, statistics));
                    let mut results = Vec::with_capacity(decision_ids.len());
                    for decision_id in decision_ids {
                        let id = decision_id.as_bytes();
                        let Some(bytes) = decisions.get(id)? else {
                            return Err(refused(BatchLabelled::Missing(decision_id.clone())));
                        };
                        let stored = decode(id, &bytes).map_err(failed)?;
                        if !scope.covers(&stored.comment.site_id) {
                            return Err(refused(BatchLabelled::OutOfScope {
                                decision_id: decision_id.clone(),
                                site_id: stored.comment.site_id,
                            }));
                        }
                        // Checked in the transaction that labels, so that
                        // no edit can come between the check and the label.
                        if let Some(shown) = request.shown.get(decision_id) {
                            if *shown != stored.comment.revision() {
                                return Err(refused(BatchLabelled::Edited(decision_id.clone())));
                            }
                        }
                        if label_changes_exhausted(&stored, request) {
                            return Err(refused(BatchLabelled::TooManyChanges {
                                decision_id: decision_id.clone(),
                                comment_id: stored.comment.comment_id,
                            }));
                        }
                        let labelled = apply_label(&stored, request, now);
                        if let Labelled::Changed {
                            decision,
                            audit: entry,
                            correction,
                        } = &labelled
                        {
                            decisions.insert(id, encode(decision).map_err(failed)?)?;
                            indexes.replace(Some(&stored), decision)?;
                            let mut audit_key = audit_prefix(decision_id);
                            audit_key.extend_from_slice(&audit.generate_id()?.to_be_bytes());
                            audit
                                .insert(audit_key, to_json(decision_id, entry).map_err(failed)?)?;
                            corrections
                                .insert(id, to_json(decision_id, correction).map_err(failed)?)?;
                        }
                        results.push(labelled);
                    }
                    Ok(BatchLabelled::Done(results))
                },
            );
        match result {
            Ok(done) => Ok(done),
            Err(TransactionError::Abort(Stop::Refused(outcome))) => Ok(outcome),
            Err(TransactionError::Abort(Stop::Failed(error))) => Err(error),
            Err(TransactionError::Storage(error)) => Err(StoreError::from(error)),
        }
    }

    /// Deletes a decision's audit trail.
    pub(super) fn forget_audit_trail(&self, decision_id: &str) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for key in self
            .inner
            .audit
            .scan_prefix(audit_prefix(decision_id))
            .keys()
        {
            batch.remove(key?);
        }
        self.inner.audit.apply_batch(batch)?;
        Ok(())
    }

    /// Every change people made to a decision, oldest first.
    pub fn audit_trail(&self, decision_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        self.audit_entries(decision_id).collect()
    }

    /// [`Store::audit_trail`] read one entry at a time, for a caller that
    /// may stop before its end.
    pub fn audit_entries(
        &self,
        decision_id: &str,
    ) -> impl Iterator<Item = Result<AuditEntry, StoreError>> + '_ {
        self.inner
            .audit
            .scan_prefix(audit_prefix(decision_id))
            .map(|entry| {
                let (key, value) = entry?;
                from_json(&key, &value)
            })
    }

    /// The training examples people's labels made: one per labelled
    /// decision, its latest label, in decision id order (ids are time
    /// ordered UUIDs, so this is roughly the order comments came in).
    pub fn corrections(&self) -> impl Iterator<Item = Result<Correction, StoreError>> + '_ {
        self.inner.corrections.iter().map(|entry| {
            let (key, value) = entry?;
            from_json(&key, &value)
        })
    }

    /// The training example of one decision, if a person labelled it.
    pub fn correction(&self, decision_id: &str) -> Result<Option<Correction>, StoreError> {
        self.inner
            .corrections
            .get(decision_id.as_bytes())?
            .map(|value| from_json(decision_id.as_bytes(), &value))
            .transpose()
    }

    /// Every site that has a stored decision (from the queue counters) or
    /// daily statistics (a site whose decisions have all been forgotten
    /// past the retention period still has its figures). The daily
    /// counters are read one key per site: after each, the search jumps
    /// past the site's days.
    pub fn sites(&self) -> Result<BTreeSet<String>, StoreError> {
        let mut sites = BTreeSet::new();
        for key in self.inner.queue_counts.iter().keys() {
            let key = key?;
            let (site, _) = index::parse_count_key(&key)
                .ok_or_else(|| corrupt(&key, "a queue counter key is malformed"))?;
            sites.insert(site);
        }
        let daily = index::daily_counters();
        let mut from = std::ops::Bound::Included(daily.start.to_vec());
        let end = std::ops::Bound::Excluded(daily.end.to_vec());
        while let Some(entry) = self.inner.statistics.range((from, end.clone())).next() {
            let (key, _) = entry?;
            let (site, _) = index::parse_daily_key(&key)
                .ok_or_else(|| corrupt(&key, "a daily counter key is malformed"))?;
            from = std::ops::Bound::Excluded(index::past_daily_counters_of(&site));
            sites.insert(site);
        }
        Ok(sites)
    }

    /// The statistics of one site's decisions created at or after `since`:
    /// the site's daily counters' hours, every whole hour from `since` on, and
    /// the entries of the hour that `since` cuts in two, read from its
    /// index entries without decoding a decision (nine ranges of its queue
    /// entries, or in a database of the older layout one range of its
    /// timeline). The cost follows the days the site has decisions in,
    /// not the number of its decisions.
    ///
    /// sled has no snapshots, so the counters and ranges are read as they
    /// are at that moment: a decision labelled (or rechecked to another
    /// priority) while they are read can be counted twice or not at all in
    /// that one answer. Statistics are for people reading a dashboard, and
    /// the next call is exact again.
    pub fn site_tally(&self, site_id: &str, since: UnixMillis) -> Result<Tally, StoreError> {
        let mut tally = Tally::default();
        // The first hour whose decisions all count; `None` past the last
        // hour there is.
        let since_hour = index::hour_of(since);
        let first_whole_hour = if since.0.rem_euclid(index::HOUR_MILLIS) == 0 {
            Some(since_hour)
        } else {
            since_hour.checked_add(1)
        };
        let whole_hours_start = first_whole_hour
            .and_then(|hour| hour.checked_mul(index::HOUR_MILLIS))
            .map(UnixMillis);
        if whole_hours_start != Some(since) {
            self.tally_entries(site_id, since, whole_hours_start, &mut tally)?;
        }
        let Some(first_whole_hour) = first_whole_hour.filter(|_| whole_hours_start.is_some())
        else {
            return Ok(tally);
        };
        let (first_day, first_hour_of_day) = index::day_and_hour(first_whole_hour);
        let prefix = index::daily_prefix(site_id);
        for entry in self
            .inner
            .statistics
            .range(index::daily_key(site_id, first_day)..)
        {
            let (key, value) = entry?;
            let Some(key_end) = key.strip_prefix(prefix.as_slice()) else {
                break;
            };
            let malformed = || corrupt(&key, "a statistics counter is malformed");
            let day = index::day_of_key_end(key_end).ok_or_else(malformed)?;
            let counts = index::DayCounts::decode(&value).ok_or_else(malformed)?;
            // Only the first day can start after midnight.
            let first_hour = if day == first_day {
                first_hour_of_day
            } else {
                0
            };
            for (outcome, count) in counts.counts_from_hour(first_hour) {
                tally.add_times(outcome, count);
            }
        }
        Ok(tally)
    }

    /// Adds the site's decisions created at or after `since` and before
    /// `until` (`None`: no end), read from its index entries.
    fn tally_entries(
        &self,
        site_id: &str,
        since: UnixMillis,
        until: Option<UnixMillis>,
        tally: &mut Tally,
    ) -> Result<(), StoreError> {
        match self.inner.layout {
            Layout::Compact | Layout::BySite => {
                for (status, start, end) in index::site_ranges_between(site_id, since, until) {
                    for entry in self.inner.queue.range(start..end) {
                        let (key, value) = entry?;
                        let outcome = index::decode_outcome(status, &value)
                            .ok_or_else(|| corrupt(&key, "a queue entry's value is malformed"))?;
                        tally.add(outcome);
                    }
                }
            }
            Layout::Timeline => {
                let start = Bound::Included(index::timeline_start(site_id, since));
                let end = match until {
                    Some(until) => Bound::Excluded(index::timeline_start(site_id, until)),
                    None => Bound::Unbounded,
                };
                let site_prefix = index::site_key(site_id);
                for entry in self.inner.timeline.range((start, end)) {
                    let (key, value) = entry?;
                    if !key.starts_with(&site_prefix) {
                        break;
                    }
                    let outcome = index::decode_timeline_value(&value)
                        .ok_or_else(|| corrupt(&key, "a timeline entry is malformed"))?;
                    tally.add(outcome);
                }
            }
        }
        Ok(())
    }

    /// Checks the statistics counters' per-status totals against the
    /// queue counters (both count every decision, by site and status) and
    /// builds the counters again from the index entries if they differ: in
    /// a database written before the counters existed, or after an older
    /// moderato added or labelled decisions without them. They are built
    /// again too if the database holds the hourly counters that came
    /// before the daily ones (once: the build clears them). A handful of
    /// reads per site, whatever the history. Runs at open, after
    /// [`Store::build_missing_indexes`], before anything else writes; the
    /// new counters replace the old in one atomic batch.
    ///
    /// What the check cannot see: a decision rechecked by an older
    /// moderato to another verdict in the same status. (A label that keeps
    /// the status changes no figure: an allowed comment labelled ham, or a
    /// rejected one labelled spam, counts the same.)
    pub(super) fn settle_statistics(&self) -> Result<(), StoreError> {
        let inner = &self.inner;
        let mut expected = std::collections::BTreeMap::new();
        for entry in inner.queue_counts.iter() {
            let (key, value) = entry?;
            let (site, _) = index::parse_count_key(&key)
                .ok_or_else(|| corrupt(&key, "a queue counter key is malformed"))?;
            let status = index::count_key_status(&key)
                .ok_or_else(|| corrupt(&key, "a queue counter key is malformed"))?;
            *expected.entry((site, status)).or_insert(0u64) += index::decode_count(&value);
        }
        expected.retain(|_, count| *count > 0);
        let mut found = std::collections::BTreeMap::new();
        let mut readable = true;
        for entry in inner.statistics.range(index::status_totals()) {
            let (key, value) = entry?;
            match (index::parse_total_key(&key), value.len() == 8) {
                (Some(site_and_status), true) => {
                    found.insert(site_and_status, index::decode_count(&value));
                }
                _ => readable = false,
            }
        }
        let retired = inner
            .statistics
            .range(index::retired_hourly_counters())
            .next()
            .is_some();
        if readable && found == expected && !retired {
            return Ok(());
        }
        tracing::info!("building the statistics counters from the review indexes");
        let mut counters = index::StatisticsCounters::default();
        match inner.layout {
            Layout::Compact | Layout::BySite => {
                for entry in inner.queue.range(index::one_site_entries()) {
                    let (key, value) = entry?;
                    let (site, created_at, outcome) = index::parse_one_site_entry(&key, &value)
                        .ok_or_else(|| corrupt(&key, "a queue entry is malformed"))?;
                    counters.add(&site, created_at, outcome);
                }
            }
            Layout::Timeline => {
                for entry in inner.timeline.iter() {
                    let (key, value) = entry?;
                    let (site, created_at, outcome) = index::parse_timeline_entry(&key, &value)
                        .ok_or_else(|| corrupt(&key, "a timeline entry is malformed"))?;
                    counters.add(&site, created_at, outcome);
                }
            }
        }
        let mut batch = sled::Batch::default();
        for key in inner.statistics.iter().keys() {
            batch.remove(key?);
        }
        for (key, value) in counters.entries() {
            batch.insert(key, value);
        }
        inner.statistics.apply_batch(batch)?;
        self.flush()
    }

    /// Gives a database without review index entries (written before they
    /// existed, or whose entries were cleared) its entries, once, at open.
    /// A database whose indexes are there (or that holds no decision) is
    /// left as it is. The rebuild commits a batch at a time, so a mark in
    /// the default tree says that one is under way: an interrupted rebuild
    /// starts again from nothing at the next open.
    ///
    /// A decision that does not read is left where it is, out of the
    /// indexes (as retention leaves it alone), and counted in one warning:
    /// failing the open for it would fail every start after. A database
    /// whose indexes are empty because no decision it holds reads (those
    /// that did were forgotten) is no database without indexes: rebuilding
    /// would clear the statistics at every start and build nothing.
    pub(super) fn build_missing_indexes(&self) -> Result<(), StoreError> {
        let inner = &self.inner;
        let interrupted = inner.db.get(index::REBUILDING_MARK)?.is_some();
        if !interrupted {
            if !inner.queue.is_empty() || inner.decisions.is_empty() {
                return Ok(());
            }
            let mut any_reads = false;
            for entry in inner.decisions.iter() {
                let (key, value) = entry?;
                if decode(&key, &value).is_ok() {
                    any_reads = true;
                    break;
                }
            }
            if !any_reads {
                tracing::warn!(
                    decisions = inner.decisions.len(),
                    "no stored decision reads, and none is in the review indexes; \
                     leaving the indexes and statistics as they are"
                );
                return Ok(());
            }
        }
        tracing::info!(
            reason = if interrupted {
                "an earlier rebuild, or the clearing of indexes in two layouts, was cut short"
            } else {
                "the database holds decisions but no review index entries"
            },
            "building the review indexes and statistics again from the stored decisions"
        );
        inner.db.insert(index::REBUILDING_MARK, &[])?;
        self.flush()?;
        // Whatever entries are left belong to no complete index; counting
        // on top of them would count decisions twice.
        inner.queue.clear()?;
        inner.queue_counts.clear()?;
        inner.timeline.clear()?;
        inner.statistics.clear()?;
        let mut batch: Vec<Decision> = Vec::with_capacity(INDEX_BUILD_BATCH);
        let mut entries = inner.decisions.iter();
        let mut unreadable: usize = 0;
        let mut first_error: Option<StoreError> = None;
        loop {
            batch.clear();
            let mut read = 0;
            for entry in entries.by_ref().take(INDEX_BUILD_BATCH) {
                read += 1;
                let (key, value) = entry?;
                match decode(&key, &value) {
                    Ok(decision) => batch.push(decision),
                    Err(error) => {
                        unreadable += 1;
                        first_error.get_or_insert(error);
                    }
                }
            }
            if read == 0 {
                break;
            }
            (
                &inner.queue,
                &inner.queue_counts,
                &inner.timeline,
                &inner.statistics,
            )
                .transaction(|(queue, counts, timeline, statistics)| {
                    let indexes = Indexes::of(inner.layout, (queue, counts, timeline, statistics));
                    for decision in &batch {
                        indexes.add(decision)?;
                    }
                    Ok::<_, ConflictableTransactionError<StoreError>>(())
                })
                .map_err(transaction_error)?;
        }
        if let Some(error) = first_error {
            tracing::warn!(
                unreadable,
                first = %error,
                "decisions that do not read are left out of the review indexes"
            );
        }
        inner.db.remove(index::REBUILDING_MARK)?;
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_VALUE: &[u8] = &[];
    use crate::domain::*;
    use crate::review::{CorrectionSource, QueueFilter};

    fn decision(id: &str, site: &str, priority: Priority, created_at: i64) -> Decision {
        Decision {
            decision_id: id.to_string(),
            comment: Comment {
                site_id: site.to_string(),
                comment_id: id.to_string(),
                content: format!("comment {id}"),
                author: Author::default(),
                context: PostContext::default(),
                submitted_at: UnixMillis(created_at),
                form: FormSignals::default(),
            },
            assessment: Assessment {
                verdict: Verdict::Review,
                spam_probability: 0.6,
                score: 0.6,
                priority,
                reasons: vec![],
                model_version: "m".to_string(),
            },
            created_at: UnixMillis(created_at),
            status: ReviewStatus::Pending,
            resolution: None,
            labels_set: 0,
        }
    }

    /// Labels one decision of any site; `None` when it is not stored.
    fn label_one(
        store: &Store,
        decision_id: &str,
        request: &LabelRequest,
        now: UnixMillis,
    ) -> Option<Labelled> {
        match store
            .apply_labels(&[decision_id.to_string()], &SiteScope::All, request, now)
            .unwrap()
        {
            BatchLabelled::Done(mut labelled) => labelled.pop(),
            BatchLabelled::Missing(_) => None,
            BatchLabelled::OutOfScope { .. } => panic!("every site is in scope"),
            BatchLabelled::Edited(_) => panic!("no revision was given"),
            BatchLabelled::TooManyChanges { .. } => panic!("few labels were set"),
        }
    }

    fn filter(scope: SiteScope, min_priority: Priority) -> QueueFilter {
        QueueFilter {
            scope,
            status: ReviewStatus::Pending,
            min_priority,
        }
    }

    fn spam_by_moderator() -> LabelRequest {
        LabelRequest {
            label: Label::Spam,
            by: "ann".to_string(),
            key_name: "moderators".to_string(),
            source: CorrectionSource::Moderator,
            note: String::new(),
            shown: Default::default(),
        }
    }

    /// Twelve pending items over two sites, every priority, stored out of
    /// order; returns the store and the ids in queue order.
    fn filled() -> (tempfile::TempDir, Store, Vec<String>) {
        filled_in(Layout::BySite)
    }

    /// [`filled`] in a database of `layout`.
    fn filled_in(layout: Layout) -> (tempfile::TempDir, Store, Vec<String>) {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open_as(directory.path(), layout).unwrap();
        assert_eq!(store.inner.layout, layout);
        let priorities = [Priority::Low, Priority::High, Priority::Medium];
        let mut all = Vec::new();
        for index in 0..12_i64 {
            let site = if index % 2 == 0 {
                "a.example"
            } else {
                "b.example"
            };
            let priority = priorities[(index % 3) as usize];
            // Creation times descend with the index, so insertion order is
            // not the queue's order.
            all.push(decision(
                &format!("d{index:02}"),
                site,
                priority,
                1_000 - index,
            ));
        }
        store.insert_decisions(&all).unwrap();
        all.sort_by_key(|d| {
            (
                std::cmp::Reverse(d.assessment.priority),
                d.created_at,
                d.decision_id.clone(),
            )
        });
        let ids = all.iter().map(|d| d.decision_id.clone()).collect();
        (directory, store, ids)
    }

    fn walk(store: &Store, filter: &QueueFilter, page_size: usize) -> Vec<String> {
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .queue_page(filter, cursor.as_ref(), page_size)
                .unwrap();
            assert!(page.items.len() <= page_size);
            seen.extend(page.items.iter().map(|d| d.decision_id.clone()));
            match page.next {
                Some(next) => cursor = Some(next),
                None => return seen,
            }
        }
    }

    #[test]
    fn pages_follow_priority_then_age_over_one_or_many_sites() {
        for layout in [Layout::BySite, Layout::Compact, Layout::Timeline] {
            let (_directory, store, expected) = filled_in(layout);
            let all = filter(SiteScope::All, Priority::Low);
            for page_size in [1, 5, 12, 13] {
                assert_eq!(walk(&store, &all, page_size), expected, "{layout:?}");
            }
            let both = SiteScope::Sites(vec!["a.example".into(), "b.example".into()]);
            assert_eq!(walk(&store, &filter(both, Priority::Low), 5), expected);
            assert_eq!(store.queue_total(&all).unwrap(), 12);
            // Above a minimum priority, over all sites: the merge stops
            // each site's range at the lowest rank wanted.
            let high = filter(SiteScope::All, Priority::High);
            let high_ids: Vec<String> = expected
                .iter()
                .filter(|id| {
                    store.decision(id).unwrap().unwrap().assessment.priority == Priority::High
                })
                .cloned()
                .collect();
            assert_eq!(high_ids.len(), 4);
            assert_eq!(walk(&store, &high, 3), high_ids, "{layout:?}");
        }
        let (_directory, store, expected) = filled();

        let one = filter(SiteScope::Sites(vec!["a.example".into()]), Priority::Medium);
        let of_a: Vec<String> = expected
            .iter()
            .filter(|id| {
                let decision = store.decision(id).unwrap().unwrap();
                decision.comment.site_id == "a.example"
                    && decision.assessment.priority >= Priority::Medium
            })
            .cloned()
            .collect();
        assert_eq!(walk(&store, &one, 2), of_a);
        assert_eq!(store.queue_total(&one).unwrap(), of_a.len() as u64);
    }

    #[test]
    fn resolving_earlier_items_does_not_shift_later_pages() {
        let (_directory, store, expected) = filled();
        let all = filter(SiteScope::All, Priority::Low);
        let first = store.queue_page(&all, None, 4).unwrap();
        for item in &first.items {
            label_one(
                &store,
                &item.decision_id,
                &spam_by_moderator(),
                UnixMillis(5_000),
            )
            .unwrap();
        }
        let second = store.queue_page(&all, first.next.as_ref(), 4).unwrap();
        let ids: Vec<String> = second.items.iter().map(|d| d.decision_id.clone()).collect();
        assert_eq!(ids, expected[4..8].to_vec());
        assert_eq!(second.total, 8);
        let rejected = QueueFilter {
            status: ReviewStatus::Rejected,
            ..all.clone()
        };
        assert_eq!(store.queue_total(&rejected).unwrap(), 4);
        assert_eq!(walk(&store, &rejected, 10), expected[..4].to_vec());
    }

    #[test]
    fn a_label_is_recorded_once_and_a_change_of_mind_again() {
        let (_directory, store, expected) = filled();
        let id = &expected[0];
        let mut request = spam_by_moderator();
        label_one(&store, id, &request, UnixMillis(10)).unwrap();
        let again = label_one(&store, id, &request, UnixMillis(20));
        assert!(matches!(again, Some(Labelled::Unchanged(_))));
        request.label = Label::Ham;
        label_one(&store, id, &request, UnixMillis(30)).unwrap();
        let trail = store.audit_trail(id).unwrap();
        assert_eq!(trail.len(), 2);
        assert_eq!(trail[1].from_status, ReviewStatus::Rejected);
        assert_eq!(trail[1].to_status, ReviewStatus::Approved);
        assert_eq!(store.correction(id).unwrap().unwrap().label, Label::Ham);
        assert_eq!(store.corrections().count(), 1);
        // Another decision whose id begins with this one's has no trail.
        assert!(store.audit_trail(&id[..2]).unwrap().is_empty());
        assert!(label_one(&store, "missing", &request, UnixMillis(40)).is_none());
    }

    #[test]
    fn a_batch_with_a_missing_or_foreign_id_writes_nothing() {
        let (_directory, store, expected) = filled();
        let site_of = |id: &str| store.decision(id).unwrap().unwrap().comment.site_id;
        let foreign = expected
            .iter()
            .find(|id| site_of(id) == "b.example")
            .unwrap()
            .clone();
        let own = expected
            .iter()
            .find(|id| site_of(id) == "a.example")
            .unwrap()
            .clone();
        let scope = SiteScope::Sites(vec!["a.example".to_string()]);
        let outcome = store
            .apply_labels(
                &[own.clone(), foreign.clone()],
                &scope,
                &spam_by_moderator(),
                UnixMillis(10),
            )
            .unwrap();
        assert_eq!(
            outcome,
            BatchLabelled::OutOfScope {
                decision_id: foreign,
                site_id: "b.example".to_string()
            }
        );
        let outcome = store
            .apply_labels(
                &[own.clone(), "missing".to_string()],
                &scope,
                &spam_by_moderator(),
                UnixMillis(10),
            )
            .unwrap();
        assert_eq!(outcome, BatchLabelled::Missing("missing".to_string()));
        let untouched = store.decision(&own).unwrap().unwrap();
        assert_eq!(untouched.status, ReviewStatus::Pending);
        assert!(store.audit_trail(&own).unwrap().is_empty());
        assert_eq!(store.corrections().count(), 0);
    }

    /// A label given for a comment as it was shown is refused, and nothing
    /// is written, when the comment was edited since; given for what it
    /// shows now, it is applied.
    #[test]
    fn a_label_for_a_comment_edited_since_it_was_shown_writes_nothing() {
        let (_directory, store, expected) = filled();
        let (edited, other) = (expected[0].clone(), expected[1].clone());
        let shown_then = |id: &str| store.decision(id).unwrap().unwrap().comment.revision();
        let request_for = |shown: &[(&String, String)]| LabelRequest {
            shown: shown
                .iter()
                .map(|(id, revision)| (id.to_string(), revision.clone()))
                .collect(),
            ..spam_by_moderator()
        };
        let seen = request_for(&[(&edited, shown_then(&edited)), (&other, shown_then(&other))]);
        let mut rechecked = store.decision(&edited).unwrap().unwrap();
        rechecked.comment.content = "BUY CHEAP PILLS http://pills.example".to_string();
        store.replace_decision(&rechecked).unwrap();
        let both = [other.clone(), edited.clone()];
        let outcome = store
            .apply_labels(&both, &SiteScope::All, &seen, UnixMillis(10))
            .unwrap();
        assert_eq!(outcome, BatchLabelled::Edited(edited.clone()));
        for id in &both {
            assert_eq!(
                store.decision(id).unwrap().unwrap().status,
                ReviewStatus::Pending
            );
            assert!(store.audit_trail(id).unwrap().is_empty());
        }
        assert_eq!(store.corrections().count(), 0);
        // A name or website changed is an edit too; the same comment
        // shown again is not.
        let mut renamed = rechecked.clone();
        renamed.comment.author.url = "http://pills.example".to_string();
        assert_ne!(renamed.comment.revision(), rechecked.comment.revision());
        assert_eq!(
            rechecked.clone().comment.revision(),
            rechecked.comment.revision()
        );
        let seen_now = request_for(&[(&edited, shown_then(&edited))]);
        let outcome = store
            .apply_labels(&both, &SiteScope::All, &seen_now, UnixMillis(20))
            .unwrap();
        assert!(matches!(outcome, BatchLabelled::Done(ref labelled) if labelled.len() == 2));
        assert_eq!(
            store.decision(&edited).unwrap().unwrap().status,
            ReviewStatus::Rejected
        );
    }

    #[test]
    fn a_label_changed_past_the_limit_is_refused_and_writes_nothing() {
        let (_directory, store, expected) = filled();
        let id = &expected[0];
        let request = |index: u32| LabelRequest {
            label: if index.is_multiple_of(2) {
                Label::Spam
            } else {
                Label::Ham
            },
            ..spam_by_moderator()
        };
        for index in 0..crate::review::MAX_LABEL_CHANGES {
            let labelled = label_one(&store, id, &request(index), UnixMillis(10)).unwrap();
            assert!(matches!(labelled, Labelled::Changed { .. }), "{index}");
        }
        let stored = store.decision(id).unwrap().unwrap();
        let resolution = stored.resolution.clone().unwrap();
        assert_eq!(stored.labels_set, crate::review::MAX_LABEL_CHANGES);
        // One change more is refused, and nothing of it is written.
        let last_label = resolution.label;
        let one_more = request(crate::review::MAX_LABEL_CHANGES);
        assert_ne!(one_more.label, last_label);
        let outcome = store
            .apply_labels(
                std::slice::from_ref(id),
                &SiteScope::All,
                &one_more,
                UnixMillis(20),
            )
            .unwrap();
        let refused = BatchLabelled::TooManyChanges {
            decision_id: id.clone(),
            comment_id: id.clone(),
        };
        assert_eq!(outcome, refused);
        assert_eq!(store.decision(id).unwrap().unwrap(), stored);
        assert_eq!(
            store.audit_trail(id).unwrap().len(),
            crate::review::MAX_LABEL_CHANGES as usize
        );
        assert_eq!(store.correction(id).unwrap().unwrap().label, last_label);
        // The label it carries may still be sent again: that changes
        // nothing and is not refused.
        let same = LabelRequest {
            label: last_label,
            ..spam_by_moderator()
        };
        assert!(matches!(
            label_one(&store, id, &same, UnixMillis(30)),
            Some(Labelled::Unchanged(_))
        ));
        // An edit that withdraws the approval the last label gave keeps the
        // count: no label may follow, the one it had included.
        assert_eq!(last_label, Label::Ham);
        let mut edited = store.decision(id).unwrap().unwrap();
        edited.comment.content = "edited".to_string();
        edited.labels_set = 0;
        let (_, stored) = store.replace_decision(&edited).unwrap();
        assert_eq!(stored.resolution, None);
        assert_eq!(stored.labels_set, crate::review::MAX_LABEL_CHANGES);
        for label in [Label::Ham, Label::Spam] {
            let request = LabelRequest {
                label,
                ..spam_by_moderator()
            };
            let outcome = store
                .apply_labels(
                    std::slice::from_ref(id),
                    &SiteScope::All,
                    &request,
                    UnixMillis(40),
                )
                .unwrap();
            assert_eq!(outcome, refused, "{label:?}");
        }
    }

    #[test]
    fn a_recheck_moves_the_index_entries_and_counters() {
        let (_directory, store, expected) = filled();
        let mut rechecked = store.decision(&expected[0]).unwrap().unwrap();
        rechecked.assessment.verdict = Verdict::Allow;
        rechecked.assessment.priority = Priority::Low;
        rechecked.status = ReviewStatus::Approved;
        store.replace_decision(&rechecked).unwrap();
        let all = filter(SiteScope::All, Priority::Low);
        assert_eq!(walk(&store, &all, 50), expected[1..].to_vec());
        assert_eq!(store.queue_total(&all).unwrap(), 11);
        let tally = store
            .site_tally(&rechecked.comment.site_id, UnixMillis(i64::MIN))
            .unwrap();
        assert_eq!((tally.total, tally.allow, tally.approved), (6, 1, 1));
    }

    #[test]
    fn a_recheck_read_before_a_resolution_keeps_the_resolution() {
        let (_directory, store, expected) = filled();
        // The recheck reads the pending decision, then a moderator rejects
        // it while the recheck scores, then the recheck writes.
        let mut rechecked = store.decision(&expected[0]).unwrap().unwrap();
        label_one(&store, &expected[0], &spam_by_moderator(), UnixMillis(50)).unwrap();
        rechecked.assessment.verdict = Verdict::Allow;
        rechecked.status = ReviewStatus::Approved;
        let (_, answered) = store.replace_decision(&rechecked).unwrap();
        let stored = store.decision(&expected[0]).unwrap().unwrap();
        assert_eq!(answered, stored);
        assert_eq!(stored.status, ReviewStatus::Rejected);
        let resolution = stored.resolution.expect("the label is kept");
        assert_eq!(
            (resolution.label, resolution.by.as_str()),
            (Label::Spam, "ann")
        );
        // The recheck's own verdict is stored, and the item stays out of
        // the pending queue.
        assert_eq!(stored.assessment.verdict, Verdict::Allow);
        let pending = filter(SiteScope::All, Priority::Low);
        assert_eq!(walk(&store, &pending, 50), expected[1..].to_vec());
        assert_eq!(store.queue_total(&pending).unwrap(), 11);
    }

    #[test]
    fn a_recheck_of_an_edited_comment_withdraws_an_approval_but_not_a_spam_label() {
        let (_directory, store, expected) = filled();
        let ham_by_moderator = LabelRequest {
            label: Label::Ham,
            ..spam_by_moderator()
        };
        // As in the test above, but the recheck is of an edited comment:
        // the moderator approved the words before.
        let mut rechecked = store.decision(&expected[0]).unwrap().unwrap();
        label_one(&store, &expected[0], &ham_by_moderator, UnixMillis(50)).unwrap();
        rechecked.comment.content.push_str(" Cheap pills!");
        rechecked.assessment.verdict = Verdict::Reject;
        rechecked.status = ReviewStatus::Rejected;
        let (replaced, answered) = store.replace_decision(&rechecked).unwrap();
        assert!(replaced.unwrap().resolution.is_some());
        let stored = store.decision(&expected[0]).unwrap().unwrap();
        assert_eq!(answered, stored);
        assert_eq!(stored.status, ReviewStatus::Rejected);
        assert!(stored.resolution.is_none());
        let tally = store
            .site_tally(&stored.comment.site_id, UnixMillis(i64::MIN))
            .unwrap();
        assert_eq!((tally.approved, tally.rejected), (0, 1));

        // A spam label stands whatever the comment becomes.
        let mut rechecked = store.decision(&expected[1]).unwrap().unwrap();
        label_one(&store, &expected[1], &spam_by_moderator(), UnixMillis(60)).unwrap();
        rechecked.comment.content = "An innocent text now".to_string();
        rechecked.assessment.verdict = Verdict::Allow;
        rechecked.status = ReviewStatus::Approved;
        let (_, answered) = store.replace_decision(&rechecked).unwrap();
        assert_eq!(answered.status, ReviewStatus::Rejected);
        assert_eq!(
            answered.resolution.map(|resolution| resolution.label),
            Some(Label::Spam)
        );
        assert_eq!(answered.comment.content, "An innocent text now");

        // A copy read while a label stood brings it back neither after
        // another recheck withdrew it nor onto a decision without one.
        let mut stale = store.decision(&expected[2]).unwrap().unwrap();
        label_one(&store, &expected[2], &ham_by_moderator, UnixMillis(70)).unwrap();
        let labelled = store.decision(&expected[2]).unwrap().unwrap();
        let mut withdrawing = labelled.clone();
        withdrawing.comment.content.push_str(" (edited)");
        withdrawing.resolution = None;
        withdrawing.status = ReviewStatus::Pending;
        store.replace_decision(&withdrawing).unwrap();
        stale.resolution = labelled.resolution;
        stale.status = ReviewStatus::Approved;
        stale.assessment.verdict = Verdict::Review;
        let (_, answered) = store.replace_decision(&stale).unwrap();
        assert_eq!(answered.status, ReviewStatus::Pending);
        assert!(answered.resolution.is_none());
    }

    #[test]
    fn an_item_read_after_its_priority_changed_is_left_to_its_new_place() {
        let (_directory, store, expected) = filled();
        // As if a recheck had lowered its priority between the page's read
        // of the index and its read of the decision: the decision moved,
        // its old entry is still there.
        let mut moved = store.decision(&expected[0]).unwrap().unwrap();
        assert_ne!(moved.assessment.priority, Priority::Low);
        moved.assessment.priority = Priority::Low;
        store
            .inner
            .decisions
            .insert(moved.decision_id.as_bytes(), encode(&moved).unwrap())
            .unwrap();
        let page = store
            .queue_page(&filter(SiteScope::All, Priority::Low), None, 3)
            .unwrap();
        assert_eq!(ids_of(&page), [&expected[1], &expected[2]]);
        // Every item listed sits at its own position, so a page may be cut
        // after any of them.
        for item in &page.items {
            assert!(store
                .inner
                .queue
                .iter()
                .keys()
                .any(|key| key.unwrap().ends_with(&index::position(item))));
        }
    }

    #[test]
    fn an_item_forgotten_after_the_index_was_read_is_left_out_of_the_page() {
        let (_directory, store, expected) = filled();
        // As if `ForgetComment` had run between the page's read of the
        // index and its read of the decision: the decision is gone, the
        // entry read a moment before still names it.
        store
            .inner
            .decisions
            .remove(expected[1].as_bytes())
            .unwrap();
        let page = store
            .queue_page(&filter(SiteScope::All, Priority::Low), None, 3)
            .unwrap();
        assert_eq!(ids_of(&page), [&expected[0], &expected[2]]);
    }

    /// The decision ids of a page's items, in order.
    fn ids_of(page: &QueuePage) -> Vec<&String> {
        page.items.iter().map(|item| &item.decision_id).collect()
    }

    #[test]
    fn statistics_start_at_since() {
        let (_directory, store, _) = filled();
        // Site a has the even indexes, created at 1000, 998, ..., 990.
        assert_eq!(
            store
                .site_tally("a.example", UnixMillis(995))
                .unwrap()
                .total,
            3
        );
        assert_eq!(
            store.site_tally("a.example", UnixMillis(0)).unwrap().total,
            6
        );
        assert_eq!(
            store.sites().unwrap().into_iter().collect::<Vec<_>>(),
            vec!["a.example".to_string(), "b.example".to_string()]
        );
    }

    /// Times the statistics tests count from: the beginning and the end of
    /// time, whole hours (before 1970 and after), and times inside an hour.
    const SINCE_TIMES: [i64; 9] = [
        i64::MIN,
        -3 * index::HOUR_MILLIS,
        -5_000_003,
        0,
        7_000_000,
        index::HOUR_MILLIS + 1,
        2 * index::HOUR_MILLIS,
        30_000_000,
        i64::MAX,
    ];

    /// The statistics counted the slow way: every stored decision of the
    /// site created at or after `since`, decoded.
    fn tally_by_decoding(store: &Store, site_id: &str, since: UnixMillis) -> Tally {
        let mut tally = Tally::default();
        for entry in store.inner.decisions.iter() {
            let (key, value) = entry.unwrap();
            let decision = decode(&key, &value).unwrap();
            if decision.comment.site_id == site_id && decision.created_at >= since {
                tally.add(crate::stats::Outcome {
                    verdict: decision.assessment.verdict,
                    status: decision.status,
                    label: decision.resolution.map(|resolution| resolution.label),
                });
            }
        }
        tally
    }

    /// Stores the same decisions in a database of `layout` (sites and
    /// priorities mixed, times on both sides of 1970), labels and rechecks
    /// some, and checks the statistics against decoding every decision,
    /// after reopening it. Returns the layout found at the reopening and
    /// the statistics.
    fn statistics_in_layout(layout: Layout) -> (Layout, Vec<Tally>) {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = Store::open_as(directory.path(), layout).unwrap();
            let mut batch: Vec<Decision> = (0..40)
                .map(|index| {
                    let site = if index % 2 == 0 {
                        "a.example"
                    } else {
                        "b.example"
                    };
                    let priority = [Priority::High, Priority::Medium, Priority::Low][index % 3];
                    // Over eleven hours, before 1970 and after.
                    let created_at = (index as i64 - 20) * 1_000_000 + 3;
                    decision(&format!("d{index:02}"), site, priority, created_at)
                })
                .collect();
            for (index, decision) in batch.iter_mut().enumerate() {
                if index % 4 == 1 {
                    decision.assessment.verdict = Verdict::Allow;
                    decision.status = ReviewStatus::Approved;
                }
            }
            store.insert_decisions(&batch).unwrap();
            let label = |label| LabelRequest {
                label,
                by: "ann".to_string(),
                key_name: "k".to_string(),
                source: CorrectionSource::Moderator,
                note: String::new(),
                shown: Default::default(),
            };
            // Pending to rejected (the entries move).
            label_one(&store, "d03", &label(Label::Spam), UnixMillis(100)).unwrap();
            // Approved stays approved, with a label now (same place).
            label_one(&store, "d05", &label(Label::Ham), UnixMillis(100)).unwrap();
            // A recheck that changes only the verdict (same place), and one
            // that changes the priority too (the entries move).
            let mut verdict_only = store.decision("d06").unwrap().unwrap();
            verdict_only.assessment.verdict = Verdict::Reject;
            store.replace_decision(&verdict_only).unwrap();
            let mut reprioritised = store.decision("d08").unwrap().unwrap();
            reprioritised.assessment.priority = Priority::Low;
            reprioritised.assessment.verdict = Verdict::Allow;
            store.replace_decision(&reprioritised).unwrap();
            store.flush().unwrap();
        }
        let store = Store::reopen(directory.path()).unwrap();
        let mut tallies = Vec::new();
        for site in ["a.example", "b.example"] {
            for since in SINCE_TIMES {
                let since = UnixMillis(since);
                let tally = store.site_tally(site, since).unwrap();
                assert_eq!(
                    tally,
                    tally_by_decoding(&store, site, since),
                    "{site} {since:?}"
                );
                tallies.push(tally);
            }
        }
        let timeline_entries = store.inner.timeline.len();
        match store.inner.layout {
            Layout::Compact | Layout::BySite => assert_eq!(timeline_entries, 0),
            Layout::Timeline => assert_eq!(timeline_entries, 40),
        }
        // One queue entry per decision, and one more in the older layouts.
        let per_decision = if store.inner.layout.has_all_sites_entries() {
            2
        } else {
            1
        };
        assert_eq!(store.inner.queue.len(), 40 * per_decision);
        (store.inner.layout, tallies)
    }

    #[test]
    fn every_layout_counts_the_statistics_right_and_keeps_its_layout() {
        let (by_site, tallies) = statistics_in_layout(Layout::BySite);
        let (compact, compact_tallies) = statistics_in_layout(Layout::Compact);
        let (old, old_tallies) = statistics_in_layout(Layout::Timeline);
        // Each database is found again in its own layout.
        assert_eq!(
            (by_site, compact, old),
            (Layout::BySite, Layout::Compact, Layout::Timeline)
        );
        assert_eq!(tallies, compact_tallies);
        assert_eq!(tallies, old_tallies);
        // From the beginning, site a has its 20 decisions, one rechecked
        // to a reject (d06); site b one rejected by a label (d03).
        assert_eq!(tallies[0].total, 20);
        assert_eq!(tallies[0].reject, 1);
        assert_eq!(tallies[SINCE_TIMES.len()].rejected, 1);
        // Nothing is created at the end of time.
        assert_eq!(tallies[SINCE_TIMES.len() - 1].total, 0);
    }

    /// Stores decisions of two sites over several hours, labels one, lets
    /// `spoil` change the database as it is closed, and checks at the next
    /// open that the statistics equal those decoded from the decisions,
    /// from every time of [`SINCE_TIMES`]; returns the reopened store.
    fn statistics_after(spoil: impl FnOnce(&Store)) -> (tempfile::TempDir, Store) {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = Store::open(directory.path()).unwrap();
            let batch: Vec<Decision> = (0..12)
                .map(|index| {
                    let site = ["a.example", "b.example"][index % 2];
                    let created_at = (index as i64 - 6) * 1_000_000;
                    decision(&format!("d{index:02}"), site, Priority::High, created_at)
                })
                .collect();
            store.insert_decisions(&batch).unwrap();
            let request = LabelRequest {
                label: Label::Spam,
                by: "ann".to_string(),
                key_name: "k".to_string(),
                source: CorrectionSource::Moderator,
                note: String::new(),
                shown: Default::default(),
            };
            label_one(&store, "d03", &request, UnixMillis(100)).unwrap();
            spoil(&store);
            store.flush().unwrap();
        }
        let store = Store::reopen(directory.path()).unwrap();
        for site in ["a.example", "b.example"] {
            for since in SINCE_TIMES.map(UnixMillis) {
                assert_eq!(
                    store.site_tally(site, since).unwrap(),
                    tally_by_decoding(&store, site, since),
                    "{site} {since:?}"
                );
            }
        }
        (directory, store)
    }

    fn daily_counters(store: &Store) -> Vec<(sled::IVec, sled::IVec)> {
        store
            .inner
            .statistics
            .range(index::daily_counters())
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn statistics_come_from_one_counter_per_site_and_day() {
        let (_directory, store) = statistics_after(|_| {});
        // Twelve decisions a thousand seconds apart, over four hours; each
        // site has a counter for each day it has decisions in.
        let counters = daily_counters(&store);
        let days: std::collections::BTreeSet<(String, i64)> = counters
            .iter()
            .map(|(key, _)| index::parse_daily_key(key).unwrap())
            .collect();
        assert_eq!(days.len(), counters.len());
        assert!(counters.len() < 12, "{} counters", counters.len());
        let counted: u64 = counters
            .iter()
            .flat_map(|(_, value)| {
                let counts = index::DayCounts::decode(value).unwrap();
                counts
                    .counts_from_hour(0)
                    .map(|(_, count)| count)
                    .collect::<Vec<_>>()
            })
            .sum();
        assert_eq!(counted, 12);
        // The statistics read no decision: with the decisions gone, the
        // counters and the index entries still give them.
        store.inner.decisions.clear().unwrap();
        let tally = store.site_tally("b.example", UnixMillis(i64::MIN)).unwrap();
        assert_eq!((tally.total, tally.rejected), (6, 1));
    }

    #[test]
    fn a_database_without_statistics_counters_gets_them_at_open() {
        // As the database was before the counters: none.
        let (_directory, store) = statistics_after(|store| {
            store.inner.statistics.clear().unwrap();
        });
        assert!(!daily_counters(&store).is_empty());
    }

    #[test]
    fn statistics_counters_left_behind_are_built_again_at_open() {
        // As an older moderato leaves them: it labels (a status moves) and
        // adds decisions without touching the statistics tree.
        let (_directory, store) = statistics_after(|store| {
            let before: Vec<(sled::IVec, sled::IVec)> =
                store.inner.statistics.iter().map(Result::unwrap).collect();
            let request = LabelRequest {
                label: Label::Ham,
                by: "bob".to_string(),
                key_name: "k".to_string(),
                source: CorrectionSource::Moderator,
                note: String::new(),
                shown: Default::default(),
            };
            label_one(store, "d05", &request, UnixMillis(200)).unwrap();
            store
                .insert_decisions(&[decision("d99", "b.example", Priority::Low, 7_000_000)])
                .unwrap();
            store.inner.statistics.clear().unwrap();
            for (key, value) in before {
                store.inner.statistics.insert(key, value).unwrap();
            }
        });
        assert_eq!(
            store
                .site_tally("b.example", UnixMillis(i64::MIN))
                .unwrap()
                .total,
            7
        );
        // A total that does not decode is built again too.
        let (_directory, _store) = statistics_after(|store| {
            let (key, _) = store
                .inner
                .statistics
                .range(index::status_totals())
                .next()
                .unwrap()
                .unwrap();
            store.inner.statistics.insert(key, &[1, 2, 3]).unwrap();
        });
    }

    #[test]
    fn hourly_counters_of_an_older_moderato_become_daily_counters_at_open() {
        // As the database was when the counters were hourly: the totals
        // agree with the queue counters, but under the retired family, as
        // are the counts (one byte of slot and a u64 count per outcome).
        let (_directory, store) = statistics_after(|store| {
            let statistics = &store.inner.statistics;
            for key in statistics.range(index::daily_counters()).keys() {
                statistics.remove(key.unwrap()).unwrap();
            }
            for entry in statistics.range(index::status_totals()) {
                let (key, value) = entry.unwrap();
                statistics.remove(&key).unwrap();
                let retired_key = [&[2][..], &key[1..]].concat();
                statistics.insert(retired_key, value).unwrap();
            }
            let hour = UnixMillis(0).sortable_bytes();
            let retired_key = [&[1][..], &index::site_key("a.example"), &hour].concat();
            let retired_value = [&[0][..], &6u64.to_be_bytes()].concat();
            statistics.insert(retired_key, retired_value).unwrap();
        });
        assert!(!daily_counters(&store).is_empty());
        let retired = store
            .inner
            .statistics
            .range(index::retired_hourly_counters());
        assert_eq!(retired.count(), 0);
        // By their bytes: nothing is left under the hourly counters' two
        // families, and the totals are under their own (which an older
        // moderato does not read, so that it builds its counters again).
        let statistics = &store.inner.statistics;
        assert_eq!(statistics.range([1u8]..[3u8]).count(), 0);
        assert!(statistics.range([4u8]..[5u8]).next().is_some());
    }

    #[test]
    fn statistics_over_several_days_count_from_any_hour() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        // One decision every five hours and a minute, over six days.
        let step = 5 * index::HOUR_MILLIS + 60_000;
        let batch: Vec<Decision> = (0..30)
            .map(|index| {
                let created_at = index * step - 2 * 24 * index::HOUR_MILLIS;
                let priority = [Priority::High, Priority::Low][index as usize % 2];
                decision(&format!("d{index:02}"), "a.example", priority, created_at)
            })
            .collect();
        store.insert_decisions(&batch).unwrap();
        let days: std::collections::BTreeSet<i64> = daily_counters(&store)
            .iter()
            .map(|(key, _)| index::parse_daily_key(key).unwrap().1)
            .collect();
        assert_eq!(days, (-2..=4).collect());
        // Since every seven hours (and a bit) over the span: whole days,
        // days cut at an hour, and hours cut in two.
        for since in (-60..160).map(|hour| hour * 7 * index::HOUR_MILLIS / 3 + hour) {
            let since = UnixMillis(since);
            assert_eq!(
                store.site_tally("a.example", since).unwrap(),
                tally_by_decoding(&store, "a.example", since),
                "{since:?}"
            );
        }
    }

    /// Whether the store's mark says a rebuild of the indexes is under way.
    fn is_rebuilding(store: &Store) -> bool {
        store
            .inner
            .db
            .get(index::REBUILDING_MARK)
            .unwrap()
            .is_some()
    }

    /// A new store in `directory` with `count` high-priority decisions of
    /// site a, `d0`, `d1`..., created in that order.
    fn stored_on_site_a(directory: &std::path::Path, count: i64) -> Store {
        let store = Store::open(directory).unwrap();
        let batch: Vec<Decision> = (0..count)
            .map(|index| decision(&format!("d{index}"), "a.example", Priority::High, index))
            .collect();
        store.insert_decisions(&batch).unwrap();
        store
    }

    #[test]
    fn indexes_built_by_an_older_version_beside_ours_are_built_again() {
        for older_queue in ["queue", "review_queue"] {
            indexes_built_beside_ours_are_built_again(older_queue);
        }
    }

    /// What an older version would do on a database of ours: build its own
    /// queue (in `older_queue`, with a timeline for the oldest), adding to
    /// the same counters; the next open builds the indexes again.
    fn indexes_built_beside_ours_are_built_again(older_queue: &str) {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = stored_on_site_a(directory.path(), 5);
            let old_queue = store.inner.db.open_tree(older_queue).unwrap();
            for entry in store.inner.queue.iter() {
                old_queue.insert(entry.unwrap().0, EMPTY_VALUE).unwrap();
            }
            if older_queue == "queue" {
                store.inner.timeline.insert(b"t", &[1, 1, 0]).unwrap();
            }
            for entry in store.inner.queue_counts.iter() {
                let (key, value) = entry.unwrap();
                let doubled = index::decode_count(&value) * 2;
                store
                    .inner
                    .queue_counts
                    .insert(key, doubled.to_be_bytes().to_vec())
                    .unwrap();
            }
            store.flush().unwrap();
        }
        let store = Store::reopen(directory.path()).unwrap();
        assert_eq!(store.inner.layout, Layout::BySite, "{older_queue}");
        let all = filter(SiteScope::All, Priority::Low);
        assert_eq!(store.queue_total(&all).unwrap(), 5);
        assert_eq!(walk(&store, &all, 2).len(), 5);
        assert_eq!(
            store.site_tally("a.example", UnixMillis(0)).unwrap().total,
            5
        );
        assert!(store.inner.timeline.is_empty());
        let older = store.inner.db.open_tree(older_queue).unwrap();
        assert!(older.is_empty(), "{older_queue}");
    }

    #[test]
    fn an_interrupted_rebuild_of_the_indexes_starts_again() {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = stored_on_site_a(directory.path(), 3);
            // As a rebuild that stopped after its first entries: the mark
            // is set, one entry is missing and a counter is wrong.
            store
                .inner
                .db
                .insert(b"review indexes being rebuilt", &[])
                .unwrap();
            let first = store.inner.queue.first().unwrap().unwrap().0;
            store.inner.queue.remove(first).unwrap();
            store.inner.queue_counts.clear().unwrap();
            store.flush().unwrap();
        }
        let store = Store::reopen(directory.path()).unwrap();
        let all = filter(SiteScope::All, Priority::Low);
        assert_eq!(store.queue_total(&all).unwrap(), 3);
        assert_eq!(walk(&store, &all, 2), vec!["d0", "d1", "d2"]);
        assert!(!is_rebuilding(&store));
    }

    /// Clearing two layouts' entries deletes one at a time; cut short
    /// while clearing the older one, it leaves that layout half full, and
    /// the next open must build it again rather than trust it.
    #[test]
    fn indexes_half_cleared_by_an_interrupted_open_are_built_again() {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = stored_on_site_a(directory.path(), 5);
            let older = store.inner.db.open_tree("review_queue").unwrap();
            let keys: Vec<sled::IVec> = store
                .inner
                .queue
                .iter()
                .map(|entry| entry.unwrap().0)
                .collect();
            for key in &keys {
                older.insert(key, EMPTY_VALUE).unwrap();
            }
            // The open's settling finds two layouts and clears both...
            assert_eq!(Layout::settle(&store.inner.db).unwrap(), Layout::BySite);
            // ...but, cut short after the older one's first entry (a clear
            // goes in key order), it leaves the other four.
            for key in &keys[1..] {
                older.insert(key, EMPTY_VALUE).unwrap();
            }
            store.flush().unwrap();
        }
        let store = Store::reopen(directory.path()).unwrap();
        let all = filter(SiteScope::All, Priority::Low);
        assert_eq!(walk(&store, &all, 2).len(), 5);
        assert_eq!(store.queue_total(&all).unwrap(), 5);
        assert_eq!(
            store.site_tally("a.example", UnixMillis(0)).unwrap().total,
            5
        );
        assert!(!is_rebuilding(&store));
    }

    /// A decision that does not read stops no rebuild of the indexes (nor
    /// every later open, as it would with the mark left set): it stays,
    /// out of the indexes, and the others are indexed.
    #[test]
    fn a_decision_that_does_not_read_is_left_out_of_a_rebuild() {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = stored_on_site_a(directory.path(), 3);
            let (key, _) = store.inner.decisions.first().unwrap().unwrap();
            store
                .inner
                .decisions
                .insert(key, b"not a decision".as_slice())
                .unwrap();
            store.inner.queue.clear().unwrap();
            store.inner.queue_counts.clear().unwrap();
            store.flush().unwrap();
        }
        let store = Store::reopen(directory.path()).unwrap();
        let all = filter(SiteScope::All, Priority::Low);
        assert_eq!(walk(&store, &all, 2), vec!["d1", "d2"]);
        assert_eq!(store.queue_total(&all).unwrap(), 2);
        assert_eq!(store.inner.decisions.len(), 3);
        assert!(!is_rebuilding(&store));
    }

    /// A database whose every readable decision was forgotten, and whose
    /// remaining decision does not read, has empty indexes: that is no
    /// reason to rebuild at every open, clearing the statistics kept for
    /// the forgotten comments each time.
    #[test]
    fn only_unreadable_decisions_left_rebuild_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let kept_statistics = {
            let store = stored_on_site_a(directory.path(), 1);
            let (key, _) = store.inner.decisions.first().unwrap().unwrap();
            store.inner.queue.clear().unwrap();
            store
                .inner
                .decisions
                .insert(key, b"not a decision".as_slice())
                .unwrap();
            store.flush().unwrap();
            store.inner.statistics.len()
        };
        assert!(kept_statistics > 0);
        let store = Store::reopen(directory.path()).unwrap();
        assert_eq!(store.inner.statistics.len(), kept_statistics);
        assert_eq!(store.inner.decisions.len(), 1);
        assert!(store.inner.queue.is_empty());
    }

    #[test]
    fn a_database_without_review_indexes_gets_them_at_open() {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = stored_on_site_a(directory.path(), 3);
            // As the database was before this version: decisions only.
            store.inner.queue.clear().unwrap();
            store.inner.queue_counts.clear().unwrap();
            store.flush().unwrap();
        }
        let expected = vec!["d0", "d1", "d2"];
        let store = Store::reopen(directory.path()).unwrap();
        let all = filter(SiteScope::All, Priority::Low);
        assert_eq!(walk(&store, &all, 2), expected);
        assert_eq!(store.queue_total(&all).unwrap(), 3);
    }
}
