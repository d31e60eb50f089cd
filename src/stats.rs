//! Per-site figures of what the service decided and what people said about
//! it (Akismet's per-site counts, from our own data). Pure: the store feeds
//! one [`Outcome`] per decision into a [`Tally`].
//!
//! The formulas, also in the README:
//! - A comment is *flagged* when its verdict is REVIEW or REJECT: the
//!   service did not let it through on its own.
//! - *Missed spam*: verdict ALLOW, later labelled spam by a person.
//! - *False positive*: flagged, later labelled ham by a person.
//! - The truth of a decision is its human label when it has one; without
//!   one, an ALLOW is taken as ham and a REJECT as spam (nobody objected),
//!   and an unlabelled REVIEW is unknown and left out of precision and
//!   recall.
//! - true positives `TP` = flagged decisions whose truth is spam;
//!   `FP` = false positives; `FN` = missed spam.
//! - `precision = TP / (TP + FP)`, `recall = TP / (TP + FN)`; each is 0 when
//!   its denominator is 0 (nothing to measure).

use crate::domain::{Label, ReviewStatus, UnixMillis, Verdict};

/// What the statistics need of one decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub verdict: Verdict,
    pub status: ReviewStatus,
    /// The human label, if a person gave one.
    pub label: Option<Label>,
}

/// Counts over a set of decisions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub total: u64,
    pub allow: u64,
    pub review: u64,
    pub reject: u64,
    pub pending: u64,
    pub approved: u64,
    pub rejected: u64,
    pub missed_spam: u64,
    pub false_positives: u64,
    pub true_positives: u64,
}

impl Tally {
    pub fn add(&mut self, outcome: Outcome) {
        self.add_times(outcome, 1);
    }

    /// Counts `count` decisions of the same outcome.
    pub fn add_times(&mut self, outcome: Outcome, count: u64) {
        self.total += count;
        match outcome.verdict {
            Verdict::Allow => self.allow += count,
            Verdict::Review => self.review += count,
            Verdict::Reject => self.reject += count,
        }
        match outcome.status {
            ReviewStatus::Pending => self.pending += count,
            ReviewStatus::Approved => self.approved += count,
            ReviewStatus::Rejected => self.rejected += count,
        }
        let flagged = outcome.verdict != Verdict::Allow;
        match (flagged, outcome.label) {
            (false, Some(Label::Spam)) => self.missed_spam += count,
            (true, Some(Label::Ham)) => self.false_positives += count,
            (true, Some(Label::Spam)) => self.true_positives += count,
            (true, None) if outcome.verdict == Verdict::Reject => self.true_positives += count,
            // Allowed and unlabelled or labelled ham: a true negative;
            // an unlabelled REVIEW: truth unknown.
            (false, _) | (true, None) => {}
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        self.total += other.total;
        self.allow += other.allow;
        self.review += other.review;
        self.reject += other.reject;
        self.pending += other.pending;
        self.approved += other.approved;
        self.rejected += other.rejected;
        self.missed_spam += other.missed_spam;
        self.false_positives += other.false_positives;
        self.true_positives += other.true_positives;
    }

    /// `TP / (TP + FP)`, 0 when nothing was flagged with a known truth.
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    /// `TP / (TP + FN)`, 0 when no spam is known.
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.true_positives + self.missed_spam)
    }
}

fn ratio(numerator: u64, denominator: u64) -> f64 {
    if denominator == 0 {
        0.0
    } else {
        numerator as f64 / denominator as f64
    }
}

/// A statistics request after the caller's key was taken into account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsQuery {
    pub scope: crate::review::SiteScope,
    /// Decisions created at or after this time; `None` for all.
    pub since: Option<UnixMillis>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(verdict: Verdict, status: ReviewStatus, label: Option<Label>) -> Outcome {
        Outcome {
            verdict,
            status,
            label,
        }
    }

    #[test]
    fn the_formulas_follow_the_documented_definitions() {
        let mut tally = Tally::default();
        // Two rejections nobody objected to, one confirmed by a moderator.
        tally.add(outcome(Verdict::Reject, ReviewStatus::Rejected, None));
        tally.add(outcome(
            Verdict::Reject,
            ReviewStatus::Rejected,
            Some(Label::Spam),
        ));
        // A review item labelled ham: a false positive.
        tally.add(outcome(
            Verdict::Review,
            ReviewStatus::Approved,
            Some(Label::Ham),
        ));
        // A pending review item: counted, but its truth is unknown.
        tally.add(outcome(Verdict::Review, ReviewStatus::Pending, None));
        // An allowed comment later reported as spam: missed spam.
        tally.add(outcome(
            Verdict::Allow,
            ReviewStatus::Rejected,
            Some(Label::Spam),
        ));
        tally.add(outcome(Verdict::Allow, ReviewStatus::Approved, None));
        assert_eq!(tally.total, 6);
        assert_eq!((tally.allow, tally.review, tally.reject), (2, 2, 2));
        assert_eq!((tally.pending, tally.approved, tally.rejected), (1, 2, 3));
        assert_eq!(tally.missed_spam, 1);
        assert_eq!(tally.false_positives, 1);
        assert_eq!(tally.true_positives, 2);
        assert!((tally.precision() - 2.0 / 3.0).abs() < 1e-12);
        assert!((tally.recall() - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn empty_figures_are_zero_not_nan() {
        let tally = Tally::default();
        assert_eq!(tally.precision(), 0.0);
        assert_eq!(tally.recall(), 0.0);
    }
}
