//! Online learning: each correction people make is added to the live
//! model's counts and the new model is swapped in, so a comment like the
//! corrected one scores differently before the moderator's call returns.
//!
//! A guard keeps a run of wrong corrections (poisoning) from reaching the
//! live model: when a base corpus is configured, a batch that makes the
//! model block more of its evaluation slice's ham, rank it worse, or score its ham
//! higher on average than the registered version, beyond the tolerance, is
//! not learned. It stays stored
//! for the next retrain, whose gate judges it again. A promotion passes the
//! corrections it learns onto its candidate through the same guard.

use std::sync::Arc;

use super::gate::{worse_on_trusted_data, Reference};
use super::records::{example_of, CorrectionKey};
use super::registry::snapshot_now_and_then;
use super::{measure, Learning, Measured, OnlineExample};
use crate::classifier::{LabelledExample, Model};
use crate::engine::Engine;
use crate::error::Error;
use crate::review::Correction;

/// How many labels of one comment online learning learns: its first, and
/// one change of it (see `learn_blocking`).
pub const MAX_ONLINE_LABELS_PER_COMMENT: usize = 2;

/// How many labels that `teaches` the comment had been given up to and
/// including `correction`, from its audit trail (oldest first), counted
/// up to one more than [`MAX_ONLINE_LABELS_PER_COMMENT`]: enough to tell
/// whether it is over the bound, so that a comment labelled thousands of
/// times (a key flipping it) costs a label a few entries read, not its
/// whole trail. Counted up to the label itself, not to the trail's end:
/// labels given after it, before its learning ran, must not keep it from
/// being learned. Labels that teach nothing (sites' reports, when they do
/// not) are not counted: a site flipping its own report must not use up a
/// moderator's labels.
fn labels_up_to<E>(
    trail: impl IntoIterator<Item = Result<crate::review::AuditEntry, E>>,
    correction: &Correction,
    teaches: impl Fn(&crate::review::AuditEntry) -> bool,
) -> Result<usize, E> {
    let mut labels = 0;
    for entry in trail {
        let entry = entry?;
        if teaches(&entry) {
            labels += 1;
        }
        if labels > MAX_ONLINE_LABELS_PER_COMMENT
            || (entry.at == correction.at && entry.to_label == correction.label)
        {
            break;
        }
    }
    Ok(labels)
}

/// What online learning did with a batch of corrections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnlineOutcome {
    /// Learned: the live model is now this version.
    Learned { version: String },
    /// Not learned, and why.
    Skipped(String),
    /// Not learned because the settings say so (online learning is off, or
    /// sites' reports do not teach), or nothing was new: an operator's
    /// choice, not worth a warning at every label.
    NotWanted(&'static str),
}

impl Engine {
    /// Learns people's new labels into the live model (see the module
    /// docs), then counts them towards a scheduled retrain.
    pub async fn learn_online(
        self: &Arc<Self>,
        mut corrections: Vec<Correction>,
    ) -> Result<OnlineOutcome, Error> {
        let settings = &self.learning().settings;
        let labelled = corrections.len();
        corrections.retain(|correction| settings.teaches(correction));
        if corrections.is_empty() && labelled > 0 {
            return Ok(OnlineOutcome::NotWanted(
                "site reports do not teach the model (learning.learn_from_site_reports)",
            ));
        }
        if corrections.is_empty() {
            return Ok(OnlineOutcome::NotWanted("no new labels"));
        }
        let engine = Arc::clone(self);
        let outcome = tokio::task::spawn_blocking(move || engine.learn_blocking(&corrections))
            .await
            .map_err(|error| Error::Internal(format!("the learning task failed: {error}")))??;
        self.store().durable().await?;
        match &outcome {
            OnlineOutcome::Skipped(reason) => {
                tracing::warn!(%reason, "corrections not learned online");
            }
            OnlineOutcome::NotWanted(reason) => {
                tracing::debug!(%reason, "corrections not learned online");
            }
            OnlineOutcome::Learned { .. } => {}
        }
        self.after_corrections();
        Ok(outcome)
    }

    /// A correction as a training example, read with the host names its
    /// site's rules table lists now (see [`Engine::hosts_of`]).
    pub(super) fn correction_example(&self, correction: &Correction) -> LabelledExample {
        example_of(correction, &self.hosts_of(&correction.site_id))
    }

    /// What online learning records of `corrections`, each with the host
    /// names its site's rules table lists now.
    pub(super) fn online_examples(
        &self,
        corrections: &[Correction],
        weight: f64,
    ) -> Vec<OnlineExample> {
        corrections
            .iter()
            .map(|correction| {
                OnlineExample::of(correction, weight, &self.hosts_of(&correction.site_id))
            })
            .collect()
    }

    fn learn_blocking(&self, corrections: &[Correction]) -> Result<OnlineOutcome, Error> {
        let learning = self.learning();
        // Whether the schedule has seen enough is asked afterwards
        // (`after_corrections`).
        let _ = learning.count_new_corrections(
            corrections
                .iter()
                .map(|correction| correction.decision_id.as_str()),
        );
        let mut lineage = learning.lineage();
        if !learning.settings.online() {
            return Ok(OnlineOutcome::NotWanted(
                "online learning is off (learning.online)",
            ));
        }
        let live = self.model();
        if !live.can_learn_online() {
            return Ok(OnlineOutcome::Skipped(format!(
                "model {} keeps no feature counts (a Bernoulli model does not), so labels are \
                 not learned online; a full retrain (with learning.base_data) learns them",
                live.version()
            )));
        }
        // A label stored before a promotion read the corrections, and
        // learned here only after it, is in the promoted model already.
        let mut corrections: Vec<Correction> = corrections
            .iter()
            .filter(|correction| {
                !lineage
                    .learned_at_promotion
                    .contains(&CorrectionKey::of(correction))
            })
            .cloned()
            .collect();
        // A comment forgotten since it was labelled teaches nothing (see
        // `Learning::forgetting`, which records it under this lock).
        corrections.retain(|correction| !lineage.was_forgotten(&correction.decision_id));
        // A comment whose label keeps changing teaches the live model its
        // first label and one change of it, no more: each change is learned
        // as a new example (nothing is unlearned), so a key that flipped one
        // comment's label back and forth would otherwise move the model
        // without bound. Later labels wait for the next retrain, which
        // trains on each comment's latest label once.
        let mut relabelled = 0;
        let mut kept = Vec::with_capacity(corrections.len());
        for correction in corrections {
            if labels_up_to(
                self.store().audit_entries(&correction.decision_id),
                &correction,
                |entry| {
                    learning.settings.learn_from_site_reports()
                        || entry.source != crate::review::CorrectionSource::Site
                },
            )? > MAX_ONLINE_LABELS_PER_COMMENT
            {
                relabelled += 1;
            } else {
                kept.push(correction);
            }
        }
        let corrections = kept;
        if relabelled > 0 {
            tracing::info!(
                relabelled,
                "labels of comments labelled {MAX_ONLINE_LABELS_PER_COMMENT} times already are \
                 left for the next retrain"
            );
        }
        if corrections.is_empty() {
            return Ok(OnlineOutcome::Learned {
                version: live.version().to_string(),
            });
        }
        // Recorded as learned: the examples come from the records, so that
        // learning them again after a restart reads the same sites.
        let weight = learning.settings.correction_weight();
        let learned = self.online_examples(&corrections, weight);
        let examples: Vec<LabelledExample> = learned.iter().map(OnlineExample::example).collect();
        let updated = live.learn(&examples, weight)?;
        let trained = format!("version {}'s", live.trained_version());
        if let Some(why) = learning.guard_refuses(
            &updated,
            lineage.baseline.as_ref(),
            lineage.reference.as_ref(),
            &trained,
        ) {
            return Ok(OnlineOutcome::Skipped(format!(
                "with {} more correction(s) the model {why}; they stay stored for the next \
                 retrain",
                corrections.len(),
            )));
        }
        self.store()
            .record_online_examples(updated.trained_version(), &learned)?;
        // The examples are recorded: from here on nothing may fail before
        // the swap, or the live model would lack what is recorded.
        let recorded = match lineage.recorded_online {
            Some(before) => Some(before + learned.len()),
            None => self
                .store()
                .online_example_count(updated.trained_version())
                .inspect_err(
                    |error| tracing::warn!(%error, "cannot count the online examples; no snapshot"),
                )
                .ok(),
        };
        lineage.recorded_online = recorded;
        // While sites' reports do not teach, the live model may lack some
        // recorded examples (a start left them out), so a snapshot would
        // not hold what its count says: none is saved, and a start
        // learns every example again.
        // Nor while the live model holds what a forgotten comment taught.
        let snapshots_hold =
            learning.settings.learn_from_site_reports() && !lineage.forgotten_since_start;
        if let (Some(recorded), true) = (recorded, snapshots_hold) {
            snapshot_now_and_then(self.store(), &updated, recorded, learned.len());
        }
        let version = updated.version().to_string();
        self.replace_model(updated);
        Ok(OnlineOutcome::Learned { version })
    }
}

impl Learning {
    /// The guard against poisoning (see the module docs): why a model that
    /// learned corrections online may not serve, compared with the figures
    /// of the registered version it grew from (`baseline`) on the base
    /// corpus's evaluation slice; `None` when it may. Without a base
    /// corpus there is no baseline, nothing trusted to compare on, and
    /// nothing is refused. The deployed model (`reference`) is compared
    /// with too, so that learning in many small batches cannot walk away
    /// from it. A promotion asks it too, of the corrections it learns onto
    /// its candidate.
    ///
    /// The answer is a clause that starts "on the base corpus" and names
    /// what was compared with: `baseline_name` names the baseline ("version
    /// V's").
    pub(super) fn guard_refuses(
        &self,
        learned: &Model,
        baseline: Option<&Measured>,
        reference: Option<&Reference>,
        baseline_name: &str,
    ) -> Option<String> {
        let baseline = baseline?;
        let now = measure(learned, &self.base.evaluation);
        let tolerance = self.settings.tolerance();
        worse_on_trusted_data(&now, baseline, tolerance, &format!("{baseline_name} "))
            .or_else(|| {
                reference.and_then(|reference| {
                    reference.refuses(&now, tolerance, baseline, baseline_name)
                })
            })
            .map(|why| format!("on the base corpus {why}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Label, ReviewStatus, UnixMillis};
    use crate::review::{AuditEntry, CorrectionSource};

    fn entry(at: i64, label: Label) -> AuditEntry {
        AuditEntry {
            decision_id: "d".to_string(),
            at: UnixMillis(at),
            by: String::new(),
            key_name: String::new(),
            source: CorrectionSource::Site,
            from_status: ReviewStatus::Pending,
            to_status: ReviewStatus::Pending,
            from_label: None,
            to_label: label,
            note: String::new(),
        }
    }

    /// A label is counted where it stands in the trail: labels given after
    /// it (before its learning ran) do not keep it from being learned.
    #[test]
    fn a_label_counts_the_labels_up_to_itself() {
        let trail = [
            entry(1, Label::Spam),
            entry(2, Label::Ham),
            entry(3, Label::Spam),
        ];
        let mut correction = Correction {
            decision_id: "d".to_string(),
            site_id: "news.example".to_string(),
            comment_id: "c".to_string(),
            content: "text".to_string(),
            label: Label::Spam,
            verdict: crate::domain::Verdict::Review,
            model_version: "m".to_string(),
            source: CorrectionSource::Site,
            by: String::new(),
            at: UnixMillis(1),
        };
        let every = |_: &AuditEntry| true;
        let read = |trail: &[AuditEntry]| -> Vec<Result<AuditEntry, ()>> {
            trail.iter().cloned().map(Ok).collect()
        };
        assert_eq!(labels_up_to(read(&trail), &correction, every), Ok(1));
        correction.at = UnixMillis(3);
        assert_eq!(labels_up_to(read(&trail), &correction, every), Ok(3));
        // A label the trail does not hold counts every label in it.
        correction.at = UnixMillis(9);
        assert_eq!(labels_up_to(read(&trail), &correction, every), Ok(3));
        // Labels that teach nothing are not counted.
        let mut mixed = trail.to_vec();
        mixed[2].source = CorrectionSource::Moderator;
        correction.at = UnixMillis(3);
        let moderators = |entry: &AuditEntry| entry.source != CorrectionSource::Site;
        assert_eq!(labels_up_to(read(&mixed), &correction, moderators), Ok(1));
        assert_eq!(labels_up_to(read(&mixed), &correction, every), Ok(3));
        // Past the bound it reads no further: an entry after the third
        // label, even one that does not read, is never reached.
        correction.at = UnixMillis(9);
        let mut long: Vec<Result<AuditEntry, ()>> = read(&trail);
        long.push(Err(()));
        assert_eq!(labels_up_to(long, &correction, every), Ok(3));
    }

    #[test]
    fn the_readme_states_the_bound_on_one_comments_labels() {
        crate::limits::tests::assert_readme_row(&format!(
            "| labels of one comment learned online | {} (its first label and one change of it) |",
            super::MAX_ONLINE_LABELS_PER_COMMENT
        ));
    }
}
