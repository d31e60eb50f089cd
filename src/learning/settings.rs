//! The `[learning]` table of the configuration: online learning, the base
//! corpus of full retraining, the evaluation gate, the schedule and the
//! registry's size. `LearningParams` -> `check()` -> `LearningSettings`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// `[learning]` as written. Every key is optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LearningParams {
    /// Learn each correction into the live model as soon as it is stored.
    pub online: bool,
    /// How many training examples one correction counts as (a full retrain
    /// rounds it to a whole number of copies).
    pub correction_weight: f64,
    /// Labelled files a full retrain starts from (the corpus the operator
    /// vouches for); relative paths are from the working directory.
    pub base_data: Vec<PathBuf>,
    /// The share of the base corpus (chosen by a hash of each text, so the
    /// same texts every time) and of the newest corrections that a retrain
    /// holds out to evaluate the candidate and the active model on.
    pub evaluation_fraction: f64,
    /// How much worse than the active model a candidate may be (in MCC, in
    /// the share of ham blocked and in the mean score of ham) and still be
    /// promoted; online
    /// learning refuses a correction that makes the live model worse than
    /// this on the base corpus's evaluation slice.
    pub tolerance: f64,
    /// Start a retrain (full when there is base data, else incremental)
    /// once this many comments were labelled since the last retrain started (a comment labelled again counts once; 0:
    /// never).
    pub retrain_every_corrections: u64,
    /// Start a retrain (full when there is base data, else incremental)
    /// this often, in minutes, when there are new corrections (0: never).
    pub retrain_every_minutes: u64,
    /// Model versions kept in the registry; older ones are deleted, never
    /// the active one.
    pub keep_models: usize,
    /// Whether a site's report (`ReportComment`) teaches the model, online
    /// and in retraining, as a moderator's label does. There is one model
    /// for every site, so a site key that reports freely moves the verdicts
    /// of the other sites too: where the sites are not all trusted, turn it
    /// off. A report then still settles its comment and counts in its
    /// author's history, but teaches nothing; moderators' labels teach as
    /// before.
    pub learn_from_site_reports: bool,
}

impl Default for LearningParams {
    fn default() -> Self {
        LearningParams {
            online: true,
            correction_weight: 1.0,
            base_data: Vec::new(),
            evaluation_fraction: 0.2,
            tolerance: 0.02,
            retrain_every_corrections: 0,
            retrain_every_minutes: 0,
            keep_models: 10,
            learn_from_site_reports: true,
        }
    }
}

/// Learning parameters that passed [`LearningParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct LearningSettings(LearningParams);

/// A key of `[learning]` and what is wrong with its value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("learning.{key} {message}")]
pub struct InvalidLearningParam {
    pub key: &'static str,
    pub message: &'static str,
}

impl LearningParams {
    pub fn check(self) -> Result<LearningSettings, InvalidLearningParam> {
        let invalid = |key, message| Err(InvalidLearningParam { key, message });
        if !(self.correction_weight > 0.0 && self.correction_weight <= 100.0) {
            return invalid("correction_weight", "must be above 0 and at most 100");
        }
        if !(self.evaluation_fraction > 0.0 && self.evaluation_fraction < 1.0) {
            return invalid("evaluation_fraction", "must be between 0 and 1 (exclusive)");
        }
        if !(0.0..=1.0).contains(&self.tolerance) {
            return invalid("tolerance", "must be between 0 and 1");
        }
        // A year at most: beyond, minutes times sixty could overflow.
        if self.retrain_every_minutes > 525_600 {
            return invalid(
                "retrain_every_minutes",
                "must be at most 525600 (a year); 0 turns the schedule off",
            );
        }
        if self.keep_models < 2 {
            return invalid(
                "keep_models",
                "must be at least 2 (the active model and one to roll back to)",
            );
        }
        Ok(LearningSettings(self))
    }
}

impl Default for LearningSettings {
    fn default() -> Self {
        LearningParams::default()
            .check()
            .expect("the default learning parameters are valid")
    }
}

impl LearningSettings {
    pub fn online(&self) -> bool {
        self.0.online
    }

    pub fn correction_weight(&self) -> f64 {
        self.0.correction_weight
    }

    pub fn base_data(&self) -> &[PathBuf] {
        &self.0.base_data
    }

    pub fn evaluation_fraction(&self) -> f64 {
        self.0.evaluation_fraction
    }

    pub fn tolerance(&self) -> f64 {
        self.0.tolerance
    }

    pub fn retrain_every_corrections(&self) -> Option<u64> {
        (self.0.retrain_every_corrections > 0).then_some(self.0.retrain_every_corrections)
    }

    pub fn retrain_every(&self) -> Option<Duration> {
        (self.0.retrain_every_minutes > 0)
            .then(|| Duration::from_secs(self.0.retrain_every_minutes * 60))
    }

    pub fn keep_models(&self) -> usize {
        self.0.keep_models
    }

    /// See [`LearningParams::learn_from_site_reports`].
    pub fn learn_from_site_reports(&self) -> bool {
        self.0.learn_from_site_reports
    }

    /// Whether `correction` teaches the model (see
    /// [`LearningParams::learn_from_site_reports`]).
    pub fn teaches(&self, correction: &crate::review::Correction) -> bool {
        correction.source != crate::review::CorrectionSource::Site || self.0.learn_from_site_reports
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_check_and_bad_values_name_their_key() {
        assert!(LearningParams::default().check().is_ok());
        let cases = [
            (
                LearningParams {
                    correction_weight: 0.0,
                    ..LearningParams::default()
                },
                "correction_weight",
            ),
            (
                LearningParams {
                    evaluation_fraction: 1.0,
                    ..LearningParams::default()
                },
                "evaluation_fraction",
            ),
            (
                LearningParams {
                    tolerance: -0.1,
                    ..LearningParams::default()
                },
                "tolerance",
            ),
            (
                LearningParams {
                    // Times sixty, this would wrap to 104 seconds.
                    retrain_every_minutes: 307_445_734_561_825_862,
                    ..LearningParams::default()
                },
                "retrain_every_minutes",
            ),
            (
                LearningParams {
                    keep_models: 1,
                    ..LearningParams::default()
                },
                "keep_models",
            ),
        ];
        for (params, key) in cases {
            assert_eq!(params.check().unwrap_err().key, key);
        }
    }
}
