//! Platt scaling: maps the naive-Bayes log-odds, which are far too confident,
//! to a probability that means what it says (0.5 is even odds).

use serde::{Deserialize, Serialize};

/// `probability = sigmoid(slope * raw_log_odds + intercept)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub slope: f64,
    pub intercept: f64,
}

impl Default for Calibration {
    /// The identity: raw log-odds taken as they are.
    fn default() -> Self {
        Calibration {
            slope: 1.0,
            intercept: 0.0,
        }
    }
}

impl Calibration {
    /// The calibrated log-odds.
    pub fn log_odds(&self, raw_log_odds: f64) -> f64 {
        self.slope * raw_log_odds + self.intercept
    }

    /// Fits slope and intercept by Newton's method on held-out raw log-odds,
    /// with Platt's smoothed targets so that a perfectly separated training
    /// set does not drive the slope to infinity.
    pub fn fit(raw_log_odds: &[f64], is_spam: &[bool]) -> Calibration {
        let positives = is_spam.iter().filter(|spam| **spam).count() as f64;
        let negatives = is_spam.len() as f64 - positives;
        if positives == 0.0 || negatives == 0.0 {
            return Calibration::default();
        }
        let high_target = (positives + 1.0) / (positives + 2.0);
        let low_target = 1.0 / (negatives + 2.0);
        let targets: Vec<f64> = is_spam
            .iter()
            .map(|spam| if *spam { high_target } else { low_target })
            .collect();
        let mut slope = 0.0;
        let mut intercept = ((positives + 1.0) / (negatives + 1.0)).ln();
        for _ in 0..100 {
            // Gradient and Hessian of the log loss, with a small ridge term
            // that keeps the Hessian invertible.
            let (mut gradient_slope, mut gradient_intercept) = (0.0, 0.0);
            let (mut h_ss, mut h_si, mut h_ii) = (1e-9, 0.0, 1e-9);
            for (x, target) in raw_log_odds.iter().zip(&targets) {
                let probability = sigmoid(slope * x + intercept);
                let error = probability - target;
                gradient_slope += error * x;
                gradient_intercept += error;
                let curvature = probability * (1.0 - probability);
                h_ss += curvature * x * x;
                h_si += curvature * x;
                h_ii += curvature;
            }
            let determinant = h_ss * h_ii - h_si * h_si;
            if determinant.abs() < 1e-300 {
                break;
            }
            let step_slope = (h_ii * gradient_slope - h_si * gradient_intercept) / determinant;
            let step_intercept = (h_ss * gradient_intercept - h_si * gradient_slope) / determinant;
            slope -= step_slope;
            intercept -= step_intercept;
            if step_slope.abs() < 1e-10 && step_intercept.abs() < 1e-10 {
                break;
            }
        }
        // Scores that are not finite numbers leave nothing to fit; the raw
        // log-odds then stand as they are rather than become no numbers.
        if !(slope.is_finite() && intercept.is_finite()) {
            return Calibration::default();
        }
        Calibration { slope, intercept }
    }
}

pub fn sigmoid(log_odds: f64) -> f64 {
    1.0 / (1.0 + (-log_odds).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overconfident_scores_are_shrunk() {
        // Raw scores ten times too large: the true log-odds are raw / 10.
        let mut raw = Vec::new();
        let mut labels = Vec::new();
        for step in -50..=50 {
            let true_log_odds = step as f64 / 10.0;
            let probability = sigmoid(true_log_odds);
            // 100 examples at each level, spam in proportion.
            let spam_count = (probability * 100.0).round() as usize;
            for index in 0..100 {
                raw.push(true_log_odds * 10.0);
                labels.push(index < spam_count);
            }
        }
        let calibration = Calibration::fit(&raw, &labels);
        assert!((calibration.slope - 0.1).abs() < 0.01, "{calibration:?}");
        assert!(calibration.intercept.abs() < 0.05, "{calibration:?}");
    }

    #[test]
    fn one_class_only_gives_the_identity() {
        assert_eq!(
            Calibration::fit(&[1.0, 2.0], &[true, true]),
            Calibration::default()
        );
    }
}
