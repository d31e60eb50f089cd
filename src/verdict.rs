//! Combines the evidence about a comment into one score, a verdict, a review
//! priority and the reasons behind them. Pure: no IO, no clock.
//!
//! The score is a probability; its log-odds are exactly the sum of the
//! reasons' weights: `ln(score / (1 - score)) = sum(reason.weight)`.

use serde::{Deserialize, Serialize};

use crate::classifier::{describe_feature, Model, ModelScore};
use crate::domain::{Assessment, Comment, Priority, Reason, ReasonSource, Verdict};

/// How many single features are named as reasons; the rest of the model's
/// evidence is summed into one `model_other` reason.
const MODEL_REASONS: usize = 3;

/// Score thresholds, checked: `0 < review <= reject <= 1`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    review: f64,
    reject: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("thresholds must satisfy 0 < review <= reject <= 1 (review = {review}, reject = {reject})")]
pub struct InvalidThresholds {
    pub review: f64,
    pub reject: f64,
}

impl Thresholds {
    pub fn new(review: f64, reject: f64) -> Result<Thresholds, InvalidThresholds> {
        if review > 0.0 && review <= reject && reject <= 1.0 {
            Ok(Thresholds { review, reject })
        } else {
            Err(InvalidThresholds { review, reject })
        }
    }

    pub fn review(&self) -> f64 {
        self.review
    }

    pub fn reject(&self) -> f64 {
        self.reject
    }

    pub fn verdict(&self, score: f64) -> Verdict {
        if score >= self.reject {
            Verdict::Reject
        } else if score >= self.review {
            Verdict::Review
        } else {
            Verdict::Allow
        }
    }

    /// What a moderator should look at first: the upper third of the review
    /// band (close to the reject line) and rejections are high, the lower
    /// third and allowed comments low.
    pub fn priority(&self, score: f64) -> Priority {
        let band = self.reject - self.review;
        if score >= self.review + band * 2.0 / 3.0 {
            Priority::High
        } else if score >= self.review + band / 3.0 {
            Priority::Medium
        } else {
            Priority::Low
        }
    }
}

impl Default for Thresholds {
    /// The defaults of operations.md: review at even odds, reject at 0.9.
    fn default() -> Self {
        Thresholds {
            review: 0.5,
            reject: 0.9,
        }
    }
}

/// Assesses a comment with the model.
pub fn decide(model: &Model, thresholds: &Thresholds, comment: &Comment) -> Assessment {
    let model_score = model.score(&comment.content);
    let reasons = model_reasons(&model_score);
    let log_odds: f64 = reasons.iter().map(|reason| reason.weight).sum();
    let score = sigmoid(log_odds);
    Assessment {
        verdict: thresholds.verdict(score),
        spam_probability: model_score.probability,
        score,
        priority: thresholds.priority(score),
        reasons,
        model_version: model.version().to_string(),
    }
}

fn sigmoid(log_odds: f64) -> f64 {
    1.0 / (1.0 + (-log_odds).exp())
}

/// The strongest features as `token` reasons, and everything else the model
/// weighed (its prior and the remaining features) as one `model_other`.
fn model_reasons(model_score: &ModelScore) -> Vec<Reason> {
    let mut reasons = Vec::with_capacity(MODEL_REASONS + 1);
    let mut named_weight = 0.0;
    for contribution in model_score.contributions.iter().take(MODEL_REASONS) {
        let leaning = if contribution.weight > 0.0 {
            "spam"
        } else {
            "legitimate comments"
        };
        reasons.push(Reason {
            source: ReasonSource::Model,
            code: "token".to_string(),
            message: format!(
                "The model finds {} typical of {leaning} ({:+.2}).",
                describe_feature(&contribution.feature),
                contribution.weight
            ),
            weight: contribution.weight,
        });
        named_weight += contribution.weight;
    }
    let other_weight = model_score.log_odds - named_weight;
    let others = model_score
        .contributions
        .len()
        .saturating_sub(MODEL_REASONS);
    reasons.push(Reason {
        source: ReasonSource::Model,
        code: "model_other".to_string(),
        message: format!(
            "The model's prior and {others} other known feature{} add {other_weight:+.2}.",
            if others == 1 { "" } else { "s" }
        ),
        weight: other_weight,
    });
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_are_checked() {
        assert!(Thresholds::new(0.5, 0.9).is_ok());
        assert!(Thresholds::new(0.5, 0.5).is_ok());
        assert!(Thresholds::new(0.0, 0.9).is_err());
        assert!(Thresholds::new(0.9, 0.5).is_err());
        assert!(Thresholds::new(0.5, 1.5).is_err());
    }

    #[test]
    fn verdicts_follow_the_thresholds() {
        let thresholds = Thresholds::default();
        assert_eq!(thresholds.verdict(0.49), Verdict::Allow);
        assert_eq!(thresholds.verdict(0.5), Verdict::Review);
        assert_eq!(thresholds.verdict(0.9), Verdict::Reject);
    }

    #[test]
    fn priority_rises_towards_the_reject_line() {
        let thresholds = Thresholds::default();
        assert_eq!(thresholds.priority(0.52), Priority::Low);
        assert_eq!(thresholds.priority(0.7), Priority::Medium);
        assert_eq!(thresholds.priority(0.85), Priority::High);
        assert_eq!(thresholds.priority(0.99), Priority::High);
    }
}
