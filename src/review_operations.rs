//! The engine's review operations: the queue, people's labels (moderators'
//! resolutions and sites' reports) and the statistics, each limited to the
//! sites the caller's key may see. Labels are durable before they are
//! answered.

use std::ops::Deref;
use std::sync::Arc;

use crate::auth::{Principal, Role};
use crate::domain::{Decision, Label, UnixMillis};
use crate::engine::Engine;
use crate::error::Error;
use crate::limits::LABEL_TURN_WAIT;
use crate::review::{
    BatchLabelled, Correction, CorrectionSource, LabelRequest, Labelled, QueueCursor, QueueFilter,
    QueuePage, SiteScope,
};
use crate::stats::{StatsQuery, Tally};

/// The sites a `Review` call covers: the named site if the key may
/// moderate it; with none named, every site for admins and unrestricted
/// moderators, or the moderator's own sites.
pub fn review_scope(caller: &Principal, requested_site: &str) -> Result<SiteScope, Error> {
    caller.require_moderator()?;
    if !requested_site.is_empty() {
        if !caller.may_moderate(requested_site) {
            return Err(Error::PermissionDenied(format!(
                "key {:?} may not moderate site {requested_site:?}",
                caller.name
            )));
        }
        return Ok(SiteScope::Sites(vec![requested_site.to_string()]));
    }
    match caller.role {
        Role::Moderator if !caller.sites.is_empty() => Ok(SiteScope::Sites(caller.sites.clone())),
        Role::Moderator | Role::Admin | Role::Site => Ok(SiteScope::All),
    }
}

/// A moderator's resolution of several items at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolve {
    /// Distinct, well-formed decision ids.
    pub decision_ids: Vec<String>,
    pub label: Label,
    /// The moderator's name as they gave it; the key's name when empty.
    pub moderator: String,
    pub note: String,
    /// The comments as the moderator saw them (the console sends them;
    /// `ResolveItems` does not).
    pub shown: crate::review::ShownComments,
}

/// Corrections an export holds in memory at most, on their way to the
/// client: a slow client slows the export down instead of filling memory.
const EXPORT_BUFFER: usize = 64;

/// What the export's reading thread hands over.
enum ExportItem {
    Correction(Correction),
    /// A storage error: the export ends with it.
    Failed(Error),
    /// Every correction was handed over.
    Complete,
}

/// What a labelling call did.
#[derive(Debug)]
pub struct LabelOutcome {
    /// The decisions as they are now, in the order asked for (a repeated
    /// id once).
    pub decisions: Vec<Decision>,
    /// How many of them changed: each is a correction. The same label
    /// again changes nothing and is none.
    pub corrections: u64,
    /// The decisions of the changed ones that had been settled the other
    /// way already (by a person, a report or a recheck's verdict), as read
    /// inside the labels' transaction: the console tells a moderator
    /// working from a list of pending items which labels replaced that.
    pub overruled: Vec<String>,
}

impl Engine {
    /// Every correction on a site of `scope`, in decision order, read on a
    /// blocking thread and handed over through a bounded channel. The
    /// stream ends with an error unless every correction was sent: after
    /// a storage error, or when the client read nothing for
    /// `unread_limit` (then the reading stops and its thread and `place`,
    /// the caller's place among the calls in progress, are given back), so
    /// a client never takes a cut-short export for a whole one. A client
    /// that goes away stops the reading at the next correction.
    pub fn export_corrections<Place: Send + 'static>(
        self: &Arc<Self>,
        scope: SiteScope,
        place: Place,
        unread_limit: std::time::Duration,
    ) -> impl futures::Stream<Item = Result<Correction, Error>> + Send + 'static {
        use futures::StreamExt;
        let (sender, receiver) = tokio::sync::mpsc::channel(EXPORT_BUFFER);
        // Why the export stopped early, when it did. A std mutex: the
        // reading thread sets it once and the stream takes it once at its
        // end, each holding it for a moment, never across an await.
        let stopped_by: Arc<std::sync::Mutex<Option<Error>>> = Arc::default();
        let engine = Arc::clone(self);
        let runtime = tokio::runtime::Handle::current();
        let stop_reason = Arc::clone(&stopped_by);
        tokio::task::spawn_blocking(move || {
            let _place = place;
            // Sends one item, waiting at most `unread_limit` for room;
            // false when the export must stop.
            let send = |item: ExportItem| -> bool {
                match runtime.block_on(tokio::time::timeout(unread_limit, sender.send(item))) {
                    Ok(Ok(())) => true,
                    // The client went away: nobody is left to tell.
                    Ok(Err(_)) => false,
                    Err(_) => {
                        let seconds = unread_limit.as_secs_f64();
                        *stop_reason
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner()) =
                            Some(Error::DeadlineExceeded(format!(
                                "the export stopped: its client read nothing for {seconds} s"
                            )));
                        false
                    }
                }
            };
            for correction in engine.store().corrections() {
                if sender.is_closed() {
                    return;
                }
                match correction {
                    Ok(correction) if !scope.covers(&correction.site_id) => {}
                    Ok(correction) => {
                        if !send(ExportItem::Correction(correction)) {
                            return;
                        }
                    }
                    Err(error) => {
                        send(ExportItem::Failed(error.into()));
                        return;
                    }
                }
            }
            // A label the reading met may have been applied by a call
            // whose flush has not ended yet (or failed): the export is
            // complete only once a flush that started after the last read
            // is done, so a client never keeps a label that a crash could
            // take back.
            match runtime.block_on(engine.settle_reads()) {
                Ok(()) => send(ExportItem::Complete),
                Err(error) => send(ExportItem::Failed(error)),
            };
        });
        // `None` marks the channel's end: unless the export said it was
        // complete (or failed), the client gets an error, not a clean end.
        tokio_stream::wrappers::ReceiverStream::new(receiver)
            .map(Some)
            .chain(futures::stream::once(async { None }))
            .scan(false, move |finished, item| {
                let output = match item {
                    Some(ExportItem::Correction(correction)) => Some(Ok(correction)),
                    Some(ExportItem::Failed(error)) => {
                        *finished = true;
                        Some(Err(error))
                    }
                    Some(ExportItem::Complete) => {
                        *finished = true;
                        None
                    }
                    None if *finished => None,
                    None => {
                        let reason = stopped_by
                            .lock()
                            .unwrap_or_else(|poisoned| poisoned.into_inner())
                            .take();
                        Some(Err(reason.unwrap_or_else(|| {
                            Error::Internal("the export stopped before it was complete".to_string())
                        })))
                    }
                };
                futures::future::ready(Some(output))
            })
            .filter_map(futures::future::ready)
    }

    /// One page of the queue.
    pub fn list_queue(
        &self,
        filter: &QueueFilter,
        after: Option<&QueueCursor>,
        page_size: usize,
    ) -> Result<QueuePage, Error> {
        Ok(self.store().queue_page(filter, after, page_size)?)
    }

    /// [`Engine::list_queue`] on a blocking thread: a page of 500 reads and
    /// inflates up to 500 stored decisions, which must not hold up the
    /// checks a runtime thread carries. `place` is held until the reading
    /// ends, as for [`Engine::stats_in_background`].
    pub async fn list_queue_in_background<Place: Send + 'static>(
        self: &Arc<Self>,
        filter: QueueFilter,
        after: Option<QueueCursor>,
        page_size: usize,
        place: Place,
    ) -> Result<QueuePage, Error> {
        let engine = Arc::clone(self);
        let page = tokio::task::spawn_blocking(move || {
            let _place = place;
            engine.list_queue(&filter, after.as_ref(), page_size)
        })
        .await
        .map_err(|error| Error::Internal(format!("the queue task failed: {error}")))??;
        // Its items are answered as stored: only once they are on disk.
        self.settle_reads().await?;
        Ok(page)
    }

    /// Labels every listed decision if all exist and the caller may
    /// moderate all of their sites; otherwise changes nothing. Same label
    /// again: unchanged, not recorded. The caller (with its place among the
    /// calls in progress) is held until the labels are learned, see
    /// [`Engine::label`].
    pub async fn resolve_items<C>(
        self: &Arc<Self>,
        caller: C,
        resolve: Resolve,
    ) -> Result<LabelOutcome, Error>
    where
        C: Deref<Target = Principal> + Send + 'static,
    {
        let scope = review_scope(&caller, "")?;
        let by = if resolve.moderator.is_empty() {
            caller.name.clone()
        } else {
            resolve.moderator
        };
        let request = LabelRequest {
            label: resolve.label,
            by,
            key_name: caller.name.clone(),
            source: CorrectionSource::Moderator,
            note: resolve.note,
            shown: resolve.shown,
        };
        self.label(caller, &resolve.decision_ids, &scope, &request)
            .await
    }

    /// Where sites' reports do not teach the model
    /// (`learning.learn_from_site_reports` off), a report may not replace a
    /// moderator's label: the decision keeps one correction, its latest,
    /// and a report in its place would take the moderator's label out of
    /// every retrain. Read within the labelling turn, so that no label
    /// commits between this check and the report's.
    fn refuse_reports_over_moderators(
        &self,
        decision_ids: &[String],
        request: &LabelRequest,
    ) -> Result<(), Error> {
        if request.source != CorrectionSource::Site
            || self.learning().settings().learn_from_site_reports()
        {
            return Ok(());
        }
        for decision_id in decision_ids {
            if let Some(correction) = self.store().correction(decision_id)? {
                if correction.source == CorrectionSource::Moderator
                    && correction.label != request.label
                {
                    let labelled = match correction.label {
                        Label::Spam => "spam",
                        Label::Ham => "not spam",
                    };
                    return Err(Error::FailedPrecondition(format!(
                        "a moderator labelled decision {decision_id:?} {labelled}; a report \
                         (ReportComment) does not replace a moderator's label here \
                         (learning.learn_from_site_reports is off): a moderator changes it \
                         with ResolveItems"
                    )));
                }
            }
        }
        Ok(())
    }

    /// A site's report that a decision was wrong (or right): recorded as a
    /// correction from the site, under the key's name. The caller has
    /// already been checked to act for `site_id`, the decision's site; it
    /// is held as for [`Engine::resolve_items`].
    pub async fn report<C>(
        self: &Arc<Self>,
        caller: C,
        decision_id: &str,
        site_id: &str,
        label: Label,
        note: String,
    ) -> Result<LabelOutcome, Error>
    where
        C: Deref<Target = Principal> + Send + 'static,
    {
        let request = LabelRequest {
            label,
            by: caller.name.clone(),
            key_name: caller.name.clone(),
            source: CorrectionSource::Site,
            note,
            shown: Default::default(),
        };
        let scope = SiteScope::Sites(vec![site_id.to_string()]);
        self.label(caller, &[decision_id.to_string()], &scope, &request)
            .await
    }

    /// [`Engine::stats`] on a blocking thread: on a large database it
    /// reads every index entry of the sites, which must not hold up the
    /// checks a runtime thread carries. `place` (the caller's place among
    /// the calls in progress) is held until the reading ends, even if the
    /// caller gives up first, so that the limit on calls bounds the scans.
    /// Like a queue page, the figures are answered once everything they
    /// may have counted is on disk (see [`Engine::settle_reads`]).
    pub async fn stats_in_background<Place: Send + 'static>(
        self: &Arc<Self>,
        query: StatsQuery,
        place: Place,
    ) -> Result<Tally, Error> {
        let engine = Arc::clone(self);
        let tally = tokio::task::spawn_blocking(move || {
            let _place = place;
            engine.stats(&query)
        })
        .await
        .map_err(|error| Error::Internal(format!("the statistics task failed: {error}")))??;
        self.settle_reads().await?;
        Ok(tally)
    }

    /// Each site of `scope` with its figures for all time, read on a
    /// blocking thread (see [`Engine::stats_in_background`]).
    pub async fn site_figures_in_background<Place: Send + 'static>(
        self: &Arc<Self>,
        scope: SiteScope,
        place: Place,
    ) -> Result<Vec<(String, Tally)>, Error> {
        let engine = Arc::clone(self);
        let figures = tokio::task::spawn_blocking(move || {
            let _place = place;
            let mut figures = Vec::new();
            for site_id in engine.store().sites()? {
                if !scope.covers(&site_id) {
                    continue;
                }
                let tally = engine.stats(&StatsQuery {
                    scope: SiteScope::Sites(vec![site_id.clone()]),
                    since: None,
                })?;
                figures.push((site_id, tally));
            }
            Ok::<_, Error>(figures)
        })
        .await
        .map_err(|error| Error::Internal(format!("the statistics task failed: {error}")))??;
        self.settle_reads().await?;
        Ok(figures)
    }

    /// The figures of the scope's decisions since a time, summed over its
    /// sites.
    pub fn stats(&self, query: &StatsQuery) -> Result<Tally, Error> {
        let sites = match &query.scope {
            SiteScope::All => self.store().sites()?.into_iter().collect(),
            SiteScope::Sites(sites) => sites.clone(),
        };
        let since = query.since.unwrap_or(UnixMillis(i64::MIN));
        let mut tally = Tally::default();
        for site in &sites {
            tally.merge(&self.store().site_tally(site, since)?);
        }
        Ok(tally)
    }

    /// Pending items per site, for the metrics.
    pub fn queue_depth_by_site(&self) -> Result<Vec<(String, u64)>, Error> {
        let mut depths = Vec::new();
        for site in self.store().sites()? {
            let filter = QueueFilter {
                scope: SiteScope::Sites(vec![site.clone()]),
                status: crate::domain::ReviewStatus::Pending,
                min_priority: crate::domain::Priority::Low,
            };
            depths.push((site, self.store().queue_total(&filter)?));
        }
        Ok(depths)
    }

    /// Writes the labels, waits until they are durable, learns the new
    /// ones online and answers with the decisions as they are now. The
    /// caller is held until then, in the task that finishes the work: a
    /// caller that goes away keeps its place among the calls in progress
    /// until the learning it started is done, so that calls cut short
    /// cannot pile up learning beyond the limits on calls.
    async fn label<C>(
        self: &Arc<Self>,
        caller: C,
        decision_ids: &[String],
        scope: &SiteScope,
        request: &LabelRequest,
    ) -> Result<LabelOutcome, Error>
    where
        C: Deref<Target = Principal> + Send + 'static,
    {
        // The whole labelling runs in a task of its own, which the call
        // only awaits: once the labels are committed, what follows must
        // happen even if the caller goes away (its deadline passes, it
        // resets the stream), or a retry would find the labels unchanged
        // and never learn them. The caller (with its place among the calls
        // in progress) goes with the task.
        // Labels commit in the order the calls reach this point: a call
        // that timed out on its client before its turn commits nothing, so
        // it cannot commit after the one sent next (a moderator's "spam"
        // that seemed to fail, then "ham"). The wait counts as labelling
        // work for a stop (the tracker's token), and is bounded: a call
        // that cannot have its turn in time gives up its place having done
        // nothing.
        let tracked = self.label_tasks().token();
        let turn = tokio::time::timeout(LABEL_TURN_WAIT, self.label_turn())
            .await
            .map_err(|_| {
                Error::ResourceExhausted(format!(
                    "other labelling calls held the way for {} s; nothing was done, retry \
                     after a short pause",
                    LABEL_TURN_WAIT.as_secs()
                ))
            })?;
        let engine = Arc::clone(self);
        let (ids, scope, request) = (decision_ids.to_vec(), scope.clone(), request.clone());
        self.label_tasks()
            .spawn(async move {
                let _tracked = tracked;
                // On a blocking thread: one transaction over up to 500
                // decisions, each read, inflated and written again, must not
                // hold up the checks a runtime thread carries.
                let store_engine = Arc::clone(&engine);
                let label = request.label;
                let outcome = tokio::task::spawn_blocking(move || {
                    store_engine.refuse_reports_over_moderators(&ids, &request)?;
                    Ok::<_, Error>(store_engine.store().apply_labels(
                        &ids,
                        &scope,
                        &request,
                        UnixMillis::now(),
                    )?)
                })
                .await
                .map_err(|error| {
                    Error::Internal(format!("the labelling task failed: {error}"))
                })??;
                // Counted in the authors' histories before the turn passes:
                // the counts' changes do not commute (they stop at zero), so
                // two labels of one comment must be counted in the order
                // they were committed.
                if let BatchLabelled::Done(labelled) = &outcome {
                    engine.count_labels_in_author_histories(labelled, label);
                }
                drop(turn);
                let labelled = match outcome {
                    BatchLabelled::Done(labelled) => labelled,
                    BatchLabelled::Missing(decision_id) => {
                        return Err(Error::NotFound(format!(
                            "no decision with id {decision_id:?}"
                        )))
                    }
                    // The message does not name the decision's site: the
                    // caller may not know it, and it is another site's
                    // business.
                    BatchLabelled::OutOfScope { decision_id, .. } => {
                        return Err(Error::PermissionDenied(format!(
                            "key {:?} may not label decision {decision_id:?}: it belongs to \
                             a site the key may not moderate",
                            caller.name
                        )))
                    }
                    // The console (`app.js`) tells this refusal from the
                    // others by "was edited since it was shown": keep the
                    // words.
                    BatchLabelled::Edited(decision_id) => {
                        return Err(Error::FailedPrecondition(format!(
                            "the comment of decision {decision_id:?} was edited since it was \
                             shown; nothing was labelled: look at it again"
                        )))
                    }
                    BatchLabelled::TooManyChanges {
                        decision_id,
                        comment_id,
                    } => {
                        return Err(Error::FailedPrecondition(format!(
                            "comment {comment_id:?} (decision {decision_id:?}) was labelled {} \
                             times, the most one comment may be; nothing was labelled",
                            crate::review::MAX_LABEL_CHANGES
                        )))
                    }
                };
                let outcome = engine.after_labels_committed(labelled).await;
                drop(caller);
                outcome
            })
            .await
            .map_err(|error| Error::Internal(format!("the labelling task failed: {error}")))?
    }

    /// Counts newly committed labels in their authors' histories, which the
    /// `trusted_author` rule reads; an unchanged label was counted before.
    /// Failing the call now would have the caller retry, find the labels
    /// unchanged, and never learn them online, so a history that cannot be
    /// updated (it only feeds a heuristic) is logged instead.
    fn count_labels_in_author_histories(&self, labelled: &[Labelled], label: Label) {
        for entry in labelled {
            if let Labelled::Changed {
                decision, audit, ..
            } = entry
            {
                let change = crate::rules::AuthorLabel {
                    before: audit.from_label,
                    allowed: audit.from_status == crate::domain::ReviewStatus::Approved,
                    label,
                };
                if let Err(error) = self.record_author_label(&decision.comment, change) {
                    tracing::error!(%error, decision_id = %decision.decision_id, "cannot count the label in the author's history");
                }
            }
        }
    }

    /// What a labelling call does once its labels are committed and
    /// counted in the authors' histories: waits until they are durable,
    /// and learns the new ones online.
    async fn after_labels_committed(
        self: Arc<Self>,
        labelled: Vec<Labelled>,
    ) -> Result<LabelOutcome, Error> {
        self.store().durable().await?;
        let overruled = labelled
            .iter()
            .filter_map(|entry| match entry {
                Labelled::Changed {
                    audit, decision, ..
                } if audit.from_status != crate::domain::ReviewStatus::Pending
                    && audit.from_status != audit.to_status =>
                {
                    Some(decision.decision_id.clone())
                }
                Labelled::Changed { .. } | Labelled::Unchanged(_) => None,
            })
            .collect();
        let mut decisions = Vec::with_capacity(labelled.len());
        let mut corrections = Vec::new();
        for entry in labelled {
            match entry {
                Labelled::Unchanged(decision) => decisions.push(decision),
                Labelled::Changed {
                    decision,
                    correction,
                    ..
                } => {
                    decisions.push(decision);
                    corrections.push(correction);
                }
            }
        }
        // The labels are stored: a failure to learn them now must not fail
        // the call (the next retrain learns them), so it is only logged.
        let changed = corrections.len() as u64;
        self.count_labels_changed(changed);
        if let Err(error) = self.learn_online(corrections).await {
            tracing::error!(%error, "cannot learn the new labels online");
        }
        Ok(LabelOutcome {
            decisions,
            corrections: changed,
            overruled,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, sites: &[&str]) -> Principal {
        Principal {
            name: "k".to_string(),
            role,
            sites: sites.iter().map(|site| site.to_string()).collect(),
        }
    }

    #[test]
    fn scopes_follow_the_key() {
        let limited = principal(Role::Moderator, &["a.example"]);
        assert_eq!(
            review_scope(&limited, "").unwrap(),
            SiteScope::Sites(vec!["a.example".to_string()])
        );
        assert!(matches!(
            review_scope(&limited, "b.example"),
            Err(Error::PermissionDenied(_))
        ));
        assert_eq!(
            review_scope(&principal(Role::Moderator, &[]), "").unwrap(),
            SiteScope::All
        );
        assert_eq!(
            review_scope(&principal(Role::Admin, &[]), "b.example").unwrap(),
            SiteScope::Sites(vec!["b.example".to_string()])
        );
        assert!(matches!(
            review_scope(&principal(Role::Site, &["a.example"]), ""),
            Err(Error::PermissionDenied(_))
        ));
    }

    /// An engine whose store holds `count` labelled decisions of one site.
    fn engine_with_corrections(directory: &std::path::Path, count: usize) -> Arc<Engine> {
        let store = crate::store::Store::open(directory).unwrap();
        let ids: Vec<String> = (0..count).map(|index| format!("d{index:04}")).collect();
        for id in &ids {
            store
                .insert_decision(&crate::domain::test_support::decision(id, "a.example", id))
                .unwrap();
        }
        let request = LabelRequest {
            label: Label::Spam,
            by: "moderator".to_string(),
            key_name: "k".to_string(),
            source: CorrectionSource::Moderator,
            note: String::new(),
            shown: Default::default(),
        };
        store
            .apply_labels(&ids, &SiteScope::All, &request, UnixMillis(0))
            .unwrap();
        Arc::new(Engine::new(
            store,
            crate::classifier::Model::embedded_default().unwrap(),
            crate::verdict::Thresholds::default(),
            crate::rules::Rules::default(),
        ))
    }

    /// An engine whose store holds one decision, `d1` of `a.example`.
    fn engine_with_one_decision(directory: &std::path::Path) -> Arc<Engine> {
        let engine = engine_with_corrections(directory, 0);
        engine
            .store()
            .insert_decision(&crate::domain::test_support::decision(
                "d1",
                "a.example",
                "c1",
            ))
            .unwrap();
        engine
    }

    /// A resolution of `d1` as spam.
    fn spam_for_the_one_decision() -> Resolve {
        Resolve {
            decision_ids: vec!["d1".to_string()],
            label: Label::Spam,
            moderator: String::new(),
            note: String::new(),
            shown: Default::default(),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_labelling_call_that_cannot_have_its_turn_in_time_does_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let engine = engine_with_one_decision(directory.path());
        // Another labelling call holds the turn for longer than the wait.
        let held = engine.label_turn().await;
        let resolve = spam_for_the_one_decision();
        let refused = engine
            .resolve_items(Box::new(principal(Role::Moderator, &[])), resolve)
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, Error::ResourceExhausted(message) if message.contains("nothing was done")),
            "{refused:?}"
        );
        let stored = engine.store().decision("d1").unwrap().unwrap();
        assert_eq!(stored.resolution, None);
        drop(held);
    }

    /// A queue page is answered only once what it read is on disk: reads
    /// see the writer's batch before its flush ends, and a page answered
    /// while the disk fails would call stored what a crash can lose.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_queue_page_is_answered_only_once_what_it_read_is_on_disk() {
        let directory = tempfile::tempdir().unwrap();
        let engine = engine_with_one_decision(directory.path());
        let filter = QueueFilter {
            scope: SiteScope::All,
            status: crate::domain::ReviewStatus::Pending,
            min_priority: crate::domain::Priority::Low,
        };
        let page = engine
            .list_queue_in_background(filter.clone(), None, 10, ())
            .await;
        assert!(page.is_ok(), "{page:?}");
        engine.store().fail_flushes("the disk is gone");
        let refused = engine
            .list_queue_in_background(filter, None, 10, ())
            .await
            .unwrap_err();
        assert!(
            format!("{refused:?}").contains("the disk is gone"),
            "{refused:?}"
        );
        assert!(engine.settle_reads().await.is_err());
        // The statistics, which count what a read may see, too.
        let query = StatsQuery {
            scope: SiteScope::All,
            since: None,
        };
        let refused = engine.stats_in_background(query, ()).await.unwrap_err();
        assert!(
            format!("{refused:?}").contains("the disk is gone"),
            "{refused:?}"
        );
        let refused = engine
            .site_figures_in_background(SiteScope::All, ())
            .await
            .unwrap_err();
        assert!(
            format!("{refused:?}").contains("the disk is gone"),
            "{refused:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn labels_committed_before_the_caller_went_away_are_learned_all_the_same() {
        let directory = tempfile::tempdir().unwrap();
        let engine = engine_with_one_decision(directory.path());
        let resolve = spam_for_the_one_decision();
        // The caller, with a flag that tells when it was let go (as a
        // call's place among the calls in progress is).
        struct HeldCaller(Principal, Arc<std::sync::atomic::AtomicBool>);
        impl Deref for HeldCaller {
            type Target = Principal;
            fn deref(&self) -> &Principal {
                &self.0
            }
        }
        impl Drop for HeldCaller {
            fn drop(&mut self) {
                self.1.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
        let let_go = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let moderator = HeldCaller(principal(Role::Moderator, &[]), Arc::clone(&let_go));
        // The call is polled once (which starts its labelling task)
        // and then dropped, as when its deadline passes.
        let cancelled = futures::FutureExt::now_or_never(engine.resolve_items(moderator, resolve));
        assert!(cancelled.is_none(), "the call was cut short");
        // The caller is held by the work the call started, not let go
        // with the call.
        assert!(!let_go.load(std::sync::atomic::Ordering::SeqCst));
        // The work goes on without the caller: the label is stored and
        // learned.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while engine.model().learned_online() == 0 && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(engine.model().learned_online(), 1);
        let stored = engine.store().decision("d1").unwrap().unwrap();
        assert_eq!(stored.resolution.map(|r| r.label), Some(Label::Spam));
        // And counted for the metrics, which the call would have done had
        // it stayed for the answer.
        assert_eq!(engine.labels_changed(), 1);
        engine.label_tasks().close();
        engine.label_tasks().wait().await;
        assert!(let_go.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_export_whose_client_stops_reading_gives_back_its_place_and_ends_with_an_error() {
        use futures::StreamExt;
        let directory = tempfile::tempdir().unwrap();
        let engine = engine_with_corrections(directory.path(), EXPORT_BUFFER + 36);
        let place = Arc::new(());
        let unread_limit = std::time::Duration::from_millis(100);
        let mut export =
            Box::pin(engine.export_corrections(SiteScope::All, Arc::clone(&place), unread_limit));
        // Nothing is read: once the buffer is full and the limit has
        // passed, the reading stops and lets go of the place.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while Arc::strong_count(&place) > 1 {
            assert!(
                std::time::Instant::now() < deadline,
                "the export still holds its place"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        // A client that reads again gets what was buffered, then an error
        // instead of a clean end: the export is not whole.
        let mut received = 0;
        let mut last = None;
        while let Some(item) = export.next().await {
            match item {
                Ok(_) => received += 1,
                Err(error) => {
                    last = Some(error);
                    // The error is the stream's last item.
                    assert!(export.next().await.is_none());
                    break;
                }
            }
        }
        assert!(received < EXPORT_BUFFER + 36, "{received}");
        assert!(
            matches!(&last, Some(Error::DeadlineExceeded(message)) if message.contains("read nothing")),
            "{last:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_whole_export_ends_cleanly_and_keeps_to_its_scope() {
        use futures::StreamExt;
        let directory = tempfile::tempdir().unwrap();
        let engine = engine_with_corrections(directory.path(), 5);
        let limit = std::time::Duration::from_secs(60);
        let all: Vec<Result<Correction, Error>> = engine
            .export_corrections(SiteScope::All, (), limit)
            .collect()
            .await;
        assert_eq!(all.len(), 5);
        assert!(all.iter().all(Result::is_ok));
        let other_site: Vec<Result<Correction, Error>> = engine
            .export_corrections(SiteScope::Sites(vec!["b.example".to_string()]), (), limit)
            .collect()
            .await;
        assert!(other_site.is_empty());
    }

    /// An export is whole only once what it read is on disk: a label read
    /// before its flush ends could be lost in a crash, and after a failed
    /// flush nothing read is known to be there.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_export_after_a_failed_flush_ends_with_the_failure() {
        use futures::StreamExt;
        let directory = tempfile::tempdir().unwrap();
        let engine = engine_with_corrections(directory.path(), 3);
        engine.store().fail_flushes("the disk is gone");
        let items: Vec<Result<Correction, Error>> = engine
            .export_corrections(SiteScope::All, (), std::time::Duration::from_secs(60))
            .collect()
            .await;
        assert_eq!(items.len(), 4, "{items:?}");
        assert!(items[..3].iter().all(Result::is_ok));
        assert!(
            matches!(&items[3], Err(error) if format!("{error:?}").contains("the disk is gone")),
            "{:?}",
            items[3]
        );
    }
}
