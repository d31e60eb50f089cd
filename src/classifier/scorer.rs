//! The compiled form of a trained linfa-bayes model, for the request path.
//!
//! linfa-bayes scores dense `ndarray` rows, which for a vocabulary of
//! thousands of features means allocating and multiplying mostly zeros for
//! every comment. The scorer keeps the same per-class log-probabilities but
//! looks up only the features a comment has. A unit test proves both give the
//! same joint log-likelihoods.

use std::collections::HashMap;

use linfa_bayes::MultinomialNb;
use serde::Deserialize;

use super::ClassifierError;

/// Per-class log-probabilities of each vocabulary feature, and class priors.
#[derive(Debug, Clone)]
pub struct SparseScorer {
    index: HashMap<String, usize>,
    /// `log_probabilities[class][feature]`, class 0 = ham, 1 = spam.
    log_probabilities: [Vec<f64>; 2],
    log_priors: [f64; 2],
}

/// The parts of linfa-bayes' serialised `MultinomialNb` that scoring needs.
/// linfa-bayes offers no accessor for them, but its serde form is stable
/// within a version (pinned in Cargo.lock) and is checked when compiling.
#[derive(Deserialize)]
struct SerializedNaiveBayes {
    class_info: HashMap<String, SerializedClass>,
}

#[derive(Deserialize)]
struct SerializedClass {
    prior: f64,
    feature_log_prob: SerializedArray,
}

#[derive(Deserialize)]
struct SerializedArray {
    data: Vec<f64>,
}

impl SparseScorer {
    /// Compiles a fitted model whose feature `i` is `vocabulary[i]`.
    pub fn compile(
        vocabulary: &[String],
        naive_bayes: &MultinomialNb<f64, usize>,
    ) -> Result<SparseScorer, ClassifierError> {
        let invalid = |message: String| ClassifierError::ModelFormat {
            origin: "trained model".to_string(),
            message,
        };
        let value =
            serde_json::to_value(naive_bayes).map_err(|error| invalid(error.to_string()))?;
        let serialized: SerializedNaiveBayes =
            serde_json::from_value(value).map_err(|error| invalid(error.to_string()))?;
        let class = |key: &str| -> Result<(f64, Vec<f64>), ClassifierError> {
            let info = serialized.class_info.get(key).ok_or_else(|| {
                invalid(format!(
                    "the model has no class {key} (needs both ham and spam)"
                ))
            })?;
            if info.feature_log_prob.data.len() != vocabulary.len() {
                return Err(invalid(format!(
                    "class {key} has {} features but the vocabulary has {}",
                    info.feature_log_prob.data.len(),
                    vocabulary.len()
                )));
            }
            Ok((info.prior.ln(), info.feature_log_prob.data.clone()))
        };
        let (ham_prior, ham) = class("0")?;
        let (spam_prior, spam) = class("1")?;
        let index = vocabulary
            .iter()
            .enumerate()
            .map(|(position, feature)| (feature.clone(), position))
            .collect();
        Ok(SparseScorer {
            index,
            log_probabilities: [ham, spam],
            log_priors: [ham_prior, spam_prior],
        })
    }

    /// The vocabulary position of a feature, if the model knows it.
    pub fn position(&self, feature: &str) -> Option<usize> {
        self.index.get(feature).copied()
    }

    /// Unnormalised log-posteriors of ham and spam, as linfa-bayes'
    /// `joint_log_likelihood` computes them; unknown features count for nothing.
    pub fn joint_log_likelihood(&self, features: &[(String, f64)]) -> [f64; 2] {
        let mut result = self.log_priors;
        for (feature, value) in features {
            if let Some(position) = self.position(feature) {
                result[0] += value * self.log_probabilities[0][position];
                result[1] += value * self.log_probabilities[1][position];
            }
        }
        result
    }

    /// Feeds every number of the model, in a fixed order, to `hasher`.
    pub fn fingerprint(&self, hasher: &mut sha2::Sha256) {
        use sha2::Digest;
        for value in self
            .log_priors
            .iter()
            .chain(self.log_probabilities.iter().flatten())
        {
            hasher.update(value.to_bits().to_le_bytes());
        }
    }

    /// The log-odds of spam implied by the class priors alone.
    pub fn prior_log_odds(&self) -> f64 {
        self.log_priors[1] - self.log_priors[0]
    }

    /// How much one occurrence of the feature at `position` adds to the
    /// raw log-odds of spam.
    pub fn feature_log_odds(&self, position: usize) -> f64 {
        self.log_probabilities[1][position] - self.log_probabilities[0][position]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::*;
    use linfa_bayes::NaiveBayes;
    use ndarray::{array, Array2};

    #[test]
    fn sparse_and_dense_log_likelihoods_agree() {
        let vocabulary: Vec<String> = ["w:a", "w:b", "w:c", "w:d"].map(String::from).to_vec();
        let records = array![
            [1.0, 0.0, 2.0, 0.0],
            [0.0, 1.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 3.0],
            [1.0, 1.0, 0.0, 1.0],
            [0.0, 2.0, 0.0, 1.0]
        ];
        let targets = array![0usize, 0, 1, 1, 1];
        let dataset = DatasetBase::new(records, targets);
        let model = crate::classifier::quiet::without_stderr(|| {
            MultinomialNb::params().alpha(0.5).fit(&dataset)
        })
        .unwrap();
        let scorer = SparseScorer::compile(&vocabulary, &model).unwrap();

        let probes: Array2<f64> = array![
            [0.0, 0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 3.0, 1.0, 0.0],
            [2.0, 1.0, 1.0, 5.0]
        ];
        let dense = model.joint_log_likelihood(probes.view());
        for (row_index, row) in probes.rows().into_iter().enumerate() {
            let sparse_row: Vec<(String, f64)> = row
                .iter()
                .enumerate()
                .filter(|(_, value)| **value != 0.0)
                .map(|(position, value)| (vocabulary[position].clone(), *value))
                // A feature outside the vocabulary must change nothing.
                .chain(std::iter::once(("w:unknown".to_string(), 1.0)))
                .collect();
            let sparse = scorer.joint_log_likelihood(&sparse_row);
            for class in [0usize, 1] {
                let expected = dense[&class][row_index];
                assert!(
                    (sparse[class] - expected).abs() < 1e-9,
                    "row {row_index} class {class}: sparse {} dense {expected}",
                    sparse[class]
                );
            }
        }
    }
}
