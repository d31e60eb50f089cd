//! Quality figures of a scorer on labelled data.

use serde::{Deserialize, Serialize};

/// Binary classification figures at one threshold, plus the ranking AUC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BinaryMetrics {
    pub examples: u64,
    pub spam: u64,
    pub ham: u64,
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub mcc: f64,
    /// Share of ham predicted spam: the legitimate readers we would block.
    pub fpr: f64,
    pub auc: f64,
    /// The figures above that measure nothing here, by name: `precision`
    /// when nothing scored as spam, `mcc` and `auc` without both classes,
    /// `recall` without spam, `f1` without spam and with nothing scored as
    /// spam, `fpr` without ham. They hold the conventional numbers then (0, or 0.5 for `auc`,
    /// as scikit-learn gives), so that the JSON keeps its types; a reader
    /// tells them from real figures by this list (absent when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub undefined: Vec<String>,
}

impl BinaryMetrics {
    /// Figures for `scores` (spam probabilities) against `is_spam`, treating a
    /// score at or above `threshold` as predicted spam.
    pub fn compute(scores: &[f64], is_spam: &[bool], threshold: f64) -> BinaryMetrics {
        let (mut true_positive, mut false_positive, mut true_negative, mut false_negative) =
            (0u64, 0u64, 0u64, 0u64);
        for (score, spam) in scores.iter().zip(is_spam) {
            match (*score >= threshold, *spam) {
                (true, true) => true_positive += 1,
                (true, false) => false_positive += 1,
                (false, false) => true_negative += 1,
                (false, true) => false_negative += 1,
            }
        }
        let ratio = |numerator: u64, denominator: u64| {
            if denominator == 0 {
                0.0
            } else {
                numerator as f64 / denominator as f64
            }
        };
        let precision = ratio(true_positive, true_positive + false_positive);
        let recall = ratio(true_positive, true_positive + false_negative);
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        let (tp, fp, tn, fn_) = (
            true_positive as f64,
            false_positive as f64,
            true_negative as f64,
            false_negative as f64,
        );
        let denominator = ((tp + fp) * (tp + fn_) * (tn + fp) * (tn + fn_)).sqrt();
        let mcc = if denominator == 0.0 {
            0.0
        } else {
            (tp * tn - fp * fn_) / denominator
        };
        let examples = scores.len() as u64;
        let (spam, ham) = (
            true_positive + false_negative,
            true_negative + false_positive,
        );
        let undefined = [
            ("precision", true_positive + false_positive == 0),
            ("mcc", spam == 0 || ham == 0),
            ("recall", spam == 0),
            // F1 is 2tp / (2tp + fp + fn): nothing to measure without
            // spam and with nothing scored as spam.
            ("f1", spam == 0 && true_positive + false_positive == 0),
            ("fpr", ham == 0),
            ("auc", spam == 0 || ham == 0),
        ]
        .into_iter()
        .filter(|(_, undefined)| *undefined)
        .map(|(name, _)| name.to_string())
        .collect();
        BinaryMetrics {
            examples,
            spam,
            ham,
            accuracy: ratio(true_positive + true_negative, examples),
            precision,
            recall,
            f1,
            mcc,
            fpr: ratio(false_positive, false_positive + true_negative),
            auc: area_under_roc(scores, is_spam),
            undefined,
        }
    }
}

/// The probability that a random spam scores above a random ham (ties count
/// half), computed from ranks.
fn area_under_roc(scores: &[f64], is_spam: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let mut rank_sum_spam = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && scores[order[end + 1]] == scores[order[start]] {
            end += 1;
        }
        // Tied scores share the average of their ranks (ranks start at 1).
        let average_rank = (start + end) as f64 / 2.0 + 1.0;
        for index in &order[start..=end] {
            if is_spam[*index] {
                rank_sum_spam += average_rank;
            }
        }
        start = end + 1;
    }
    let spam = is_spam.iter().filter(|spam| **spam).count() as f64;
    let ham = is_spam.len() as f64 - spam;
    // With one class there is no pair to rank: the area is undefined, and
    // 0.5 (a ranking that tells nothing) says so better than 0, which
    // would read as a ranking exactly backwards.
    if spam == 0.0 || ham == 0.0 {
        return 0.5;
    }
    (rank_sum_spam - spam * (spam + 1.0) / 2.0) / (spam * ham)
}

/// Figures at one threshold of the curve a model card plots.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdPoint {
    pub threshold: f64,
    /// Share of comments at or above the threshold that are spam; `None`
    /// when no comment reaches it.
    pub precision: Option<f64>,
    /// Share of spam at or above the threshold (spam caught).
    pub recall: f64,
    /// Share of ham at or above the threshold (ham blocked).
    pub ham_blocked: f64,
}

/// Precision, recall and ham blocked at the thresholds 0, 0.01, ..., 1.
pub fn threshold_curve(scores: &[f64], is_spam: &[bool]) -> Vec<ThresholdPoint> {
    let spam = is_spam.iter().filter(|spam| **spam).count();
    let ham = is_spam.len() - spam;
    let share = |part: usize, whole: usize| {
        if whole == 0 {
            0.0
        } else {
            part as f64 / whole as f64
        }
    };
    (0..=100)
        .map(|hundredth| {
            let threshold = f64::from(hundredth) / 100.0;
            let (mut spam_above, mut ham_above) = (0, 0);
            for (score, spam) in scores.iter().zip(is_spam) {
                if *score >= threshold {
                    if *spam {
                        spam_above += 1;
                    } else {
                        ham_above += 1;
                    }
                }
            }
            ThresholdPoint {
                threshold,
                precision: (spam_above + ham_above > 0)
                    .then(|| share(spam_above, spam_above + ham_above)),
                recall: share(spam_above, spam),
                ham_blocked: share(ham_above, ham),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_counted_confusion_matrix() {
        // tp=2, fn=1, fp=1, tn=2
        let scores = [0.9, 0.8, 0.2, 0.7, 0.1, 0.3];
        let labels = [true, true, true, false, false, false];
        let metrics = BinaryMetrics::compute(&scores, &labels, 0.5);
        assert_eq!((metrics.spam, metrics.ham), (3, 3));
        assert!((metrics.precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((metrics.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((metrics.fpr - 1.0 / 3.0).abs() < 1e-12);
        assert!((metrics.mcc - 1.0 / 3.0).abs() < 1e-12);
        // Pairs spam>ham: 0.9 and 0.8 beat all 3 ham, 0.2 beats 0.1 only: 7 of 9.
        assert!((metrics.auc - 7.0 / 9.0).abs() < 1e-12);
        assert!(metrics.undefined.is_empty());
        let json = serde_json::to_value(&metrics).unwrap();
        assert!(json.get("undefined").is_none(), "{json}");
    }

    #[test]
    fn one_class_gives_an_auc_that_tells_nothing() {
        let metrics = BinaryMetrics::compute(&[0.9, 0.8], &[true, true], 0.5);
        assert_eq!(metrics.auc, 0.5);
        // And says so: without ham, MCC, the share of ham blocked and AUC
        // measure nothing; recall does.
        assert_eq!(metrics.undefined, ["mcc", "fpr", "auc"]);
        let json = serde_json::to_value(&metrics).unwrap();
        assert_eq!(json["undefined"], serde_json::json!(["mcc", "fpr", "auc"]));
        let ham_only = BinaryMetrics::compute(&[0.1], &[false], 0.5);
        assert_eq!(
            ham_only.undefined,
            ["precision", "mcc", "recall", "f1", "auc"]
        );
    }

    #[test]
    fn ties_count_half_in_the_auc() {
        let metrics = BinaryMetrics::compute(&[0.5, 0.5], &[true, false], 0.5);
        assert!((metrics.auc - 0.5).abs() < 1e-12);
    }

    #[test]
    fn the_threshold_curve_counts_at_or_above_each_threshold() {
        let curve = threshold_curve(&[0.1, 0.5, 0.5, 0.9], &[false, false, true, true]);
        assert_eq!(curve.len(), 101);
        assert_eq!(curve[0].recall, 1.0);
        assert_eq!(curve[0].ham_blocked, 1.0);
        let half = &curve[50];
        assert_eq!(half.threshold, 0.5);
        assert_eq!(half.precision, Some(2.0 / 3.0));
        assert_eq!(half.recall, 1.0);
        assert_eq!(half.ham_blocked, 0.5);
        assert_eq!(curve[95].precision, None);
        assert_eq!(curve[95].recall, 0.0);
    }
}
