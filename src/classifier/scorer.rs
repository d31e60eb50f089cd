//! The compiled form of a trained linfa-bayes model, for the request path.
//!
//! linfa-bayes scores dense `ndarray` rows, which for a vocabulary of
//! thousands of features means allocating and multiplying mostly zeros for
//! every comment. A naive-Bayes joint log-likelihood is linear in the row:
//! `jll(x)[c] = constant[c] + sum_i x_i * weight[c][i]` (for the Bernoulli
//! event model, with `x` binarised). We read those numbers off the fitted
//! model through its public `joint_log_likelihood` (the zero row gives the
//! constants, unit rows the weights) and then look up only the features a
//! comment has. A unit test proves both give the same log-likelihoods.

use std::collections::HashMap;

use linfa_bayes::{MultinomialNb, NaiveBayes};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::features::{
    binary_occurrences_by_keys, resolve_positions, resolve_text, resolve_text_by_keys, FeatureKeys,
    SiteHosts,
};
use super::{ClassifierError, FeatureParams};

/// Feature name -> vocabulary position, for training, online learning and
/// scoring by name. foldhash rather than the standard SipHash: the map is
/// built from the model, so a caller cannot grow it to attack its hashing.
/// (Scoring looks features up by key, see [`FeatureKeys`].)
pub type VocabularyIndex = HashMap<String, usize, foldhash::fast::RandomState>;

/// Unit rows probed per call, bounding the probe's memory to
/// `PROBE_ROWS x vocabulary` floats.
const PROBE_ROWS: usize = 256;

/// The numbers of a compiled model, as stored in model files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScorerWeights {
    /// `constants[class]`: the log-likelihood of the empty comment.
    pub constants: [f64; 2],
    /// `weights[class][feature]`: what one unit of the feature adds.
    pub weights: [Vec<f64>; 2],
    /// Feature values are clipped to 0 or 1 first (Bernoulli event model).
    pub binary_input: bool,
}

/// Scores comments with a compiled model. Class 0 is ham, 1 is spam.
#[derive(Debug, Clone)]
pub struct SparseScorer {
    index: VocabularyIndex,
    /// The vocabulary by feature key, which scoring looks features up in
    /// without building their names; `None` in the (practically never)
    /// case that two names share a key, and then scoring uses the names.
    keys: Option<FeatureKeys>,
    compiled: ScorerWeights,
    /// `weights[1][i] - weights[0][i]`, computed once: a score reads one
    /// number per feature instead of two from arrays far apart.
    feature_log_odds: Vec<f64>,
}

/// The parts of linfa-bayes' serialised `MultinomialNb` that scoring needs.
/// linfa-bayes offers no accessor for them; its serde form is stable within
/// the pinned version, and the unit tests below check the numbers against
/// its own `joint_log_likelihood`.
#[derive(Deserialize)]
struct SerializedMultinomial {
    class_info: HashMap<usize, SerializedClass>,
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

impl ScorerWeights {
    /// The numbers of a fitted multinomial model, read from its serde form:
    /// `constant = ln(prior)`, `weight = feature log-probability`. Probing
    /// (below) would give the same numbers but costs a vocabulary-squared
    /// matrix, too much for large vocabularies.
    pub fn from_multinomial(
        model: &MultinomialNb<f64, usize>,
    ) -> Result<ScorerWeights, ClassifierError> {
        let invalid = |message: String| {
            ClassifierError::Training(format!("cannot read the fitted model: {message}"))
        };
        let value = serde_json::to_value(model).map_err(|error| invalid(error.to_string()))?;
        let serialized: SerializedMultinomial =
            serde_json::from_value(value).map_err(|error| invalid(error.to_string()))?;
        let class = |label: usize| {
            serialized.class_info.get(&label).ok_or_else(|| {
                ClassifierError::Training(format!(
                    "the fitted model has no class {label} (the data needs both ham and spam)"
                ))
            })
        };
        let (ham, spam) = (class(0)?, class(1)?);
        Ok(ScorerWeights {
            constants: [ham.prior.ln(), spam.prior.ln()],
            weights: [
                ham.feature_log_prob.data.clone(),
                spam.feature_log_prob.data.clone(),
            ],
            binary_input: false,
        })
    }

    /// Reads the numbers off a fitted linfa-bayes model with classes 0 and 1
    /// over `vocabulary_size` features.
    pub fn probe<M>(
        model: &M,
        vocabulary_size: usize,
        binary_input: bool,
    ) -> Result<ScorerWeights, ClassifierError>
    where
        M: for<'a> NaiveBayes<'a, f64, usize>,
    {
        let missing = |class: usize| {
            ClassifierError::Training(format!(
                "the fitted model has no class {class} (the data needs both ham and spam)"
            ))
        };
        let zero = Array2::<f64>::zeros((1, vocabulary_size));
        let base = model.joint_log_likelihood(zero.view());
        let constants = [
            base.get(&0).ok_or_else(|| missing(0))?[0],
            base.get(&1).ok_or_else(|| missing(1))?[0],
        ];
        let mut weights = [
            Vec::with_capacity(vocabulary_size),
            Vec::with_capacity(vocabulary_size),
        ];
        let mut start = 0;
        while start < vocabulary_size {
            let rows = PROBE_ROWS.min(vocabulary_size - start);
            let mut probe = Array2::<f64>::zeros((rows, vocabulary_size));
            for row in 0..rows {
                probe[[row, start + row]] = 1.0;
            }
            let likelihoods = model.joint_log_likelihood(probe.view());
            for class in [0usize, 1] {
                let column = likelihoods.get(&class).ok_or_else(|| missing(class))?;
                weights[class].extend(column.iter().map(|value| value - constants[class]));
            }
            start += rows;
        }
        Ok(ScorerWeights {
            constants,
            weights,
            binary_input,
        })
    }
}

impl SparseScorer {
    /// A scorer whose feature `i` is `vocabulary[i]`.
    pub fn new(
        vocabulary: &[String],
        compiled: ScorerWeights,
    ) -> Result<SparseScorer, ClassifierError> {
        for class in [0, 1] {
            if compiled.weights[class].len() != vocabulary.len() {
                return Err(ClassifierError::ModelFormat {
                    origin: "model weights".to_string(),
                    message: format!(
                        "class {class} has {} weights but the vocabulary has {} features",
                        compiled.weights[class].len(),
                        vocabulary.len()
                    ),
                });
            }
        }
        let index = vocabulary
            .iter()
            .enumerate()
            .map(|(position, feature)| (feature.clone(), position))
            .collect();
        Ok(SparseScorer::assemble(index, compiled))
    }

    /// A scorer over a ready vocabulary index (feature -> position).
    pub fn with_index(
        index: VocabularyIndex,
        compiled: ScorerWeights,
    ) -> Result<SparseScorer, ClassifierError> {
        let positions = index.len();
        if compiled
            .weights
            .iter()
            .any(|class| class.len() != positions)
        {
            return Err(ClassifierError::Training(format!(
                "the weights do not match the vocabulary of {positions} features"
            )));
        }
        Ok(SparseScorer::assemble(index, compiled))
    }

    fn assemble(index: VocabularyIndex, compiled: ScorerWeights) -> SparseScorer {
        let [ham, spam] = &compiled.weights;
        let feature_log_odds = ham.iter().zip(spam).map(|(ham, spam)| spam - ham).collect();
        let keys = FeatureKeys::new(
            index
                .iter()
                .map(|(name, position)| (name.as_str(), *position)),
        );
        SparseScorer {
            index,
            keys,
            compiled,
            feature_log_odds,
        }
    }

    /// Feature -> vocabulary position.
    pub fn index(&self) -> &VocabularyIndex {
        &self.index
    }

    pub fn weights(&self) -> &ScorerWeights {
        &self.compiled
    }

    /// The vocabulary positions and values of named features (see
    /// [`resolve_positions`]), binarised for the Bernoulli event model.
    pub fn resolve(&self, features: &[(String, f64)]) -> Vec<(usize, f64)> {
        self.binarised(resolve_positions(features, &self.index))
    }

    /// [`SparseScorer::resolve`] of a text's features (`normalized` is
    /// `text::normalize(raw_text)`), looked up by key without building
    /// their names.
    pub fn resolve_text(
        &self,
        params: &FeatureParams,
        raw_text: &str,
        normalized: &str,
        site: &SiteHosts,
    ) -> Vec<(usize, f64)> {
        let resolved = match &self.keys {
            Some(keys) => resolve_text_by_keys(params, raw_text, normalized, site, keys),
            None => resolve_text(params, raw_text, normalized, site, &self.index),
        };
        self.binarised(resolved)
    }

    /// The positions of a text's known features, repeats included, when
    /// each counts 1 however often it occurs (see
    /// [`binary_occurrences_by_keys`]); `None` when values must be counted,
    /// and then [`SparseScorer::resolve_text`] gives them.
    pub fn binary_occurrences(
        &self,
        params: &FeatureParams,
        raw_text: &str,
        normalized: &str,
        site: &SiteHosts,
    ) -> Option<Vec<(usize, f64)>> {
        binary_occurrences_by_keys(params, raw_text, normalized, site, self.keys.as_ref()?)
    }

    fn binarised(&self, mut resolved: Vec<(usize, f64)>) -> Vec<(usize, f64)> {
        if self.compiled.binary_input {
            for (_, value) in &mut resolved {
                *value = if *value > 0.0 { 1.0 } else { 0.0 };
            }
        }
        resolved
    }

    /// Unnormalised log-posteriors of ham and spam, as linfa-bayes'
    /// `joint_log_likelihood` computes them for the same row.
    pub fn joint_log_likelihood(&self, features: &[(String, f64)]) -> [f64; 2] {
        self.joint_log_likelihood_of(&self.resolve(features))
    }

    /// [`SparseScorer::joint_log_likelihood`] of resolved features.
    pub fn joint_log_likelihood_of(&self, resolved: &[(usize, f64)]) -> [f64; 2] {
        let mut result = self.compiled.constants;
        for (position, value) in resolved {
            result[0] += value * self.compiled.weights[0][*position];
            result[1] += value * self.compiled.weights[1][*position];
        }
        result
    }

    /// Feeds every number of the model, in a fixed order, to `hasher`.
    pub fn fingerprint(&self, hasher: &mut sha2::Sha256) {
        use sha2::Digest;
        let numbers = self
            .compiled
            .constants
            .iter()
            .chain(self.compiled.weights.iter().flatten());
        for value in numbers {
            hasher.update(value.to_bits().to_le_bytes());
        }
        hasher.update([u8::from(self.compiled.binary_input)]);
    }

    /// The log-odds of spam of a comment without known features.
    pub fn prior_log_odds(&self) -> f64 {
        self.compiled.constants[1] - self.compiled.constants[0]
    }

    /// How much one unit of the feature at `position` adds to the raw
    /// log-odds of spam.
    pub fn feature_log_odds(&self, position: usize) -> f64 {
        self.feature_log_odds[position]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::*;
    use linfa_bayes::{BernoulliNb, MultinomialNb};
    use ndarray::{array, Array1};

    fn vocabulary() -> Vec<String> {
        ["w:a", "w:b", "w:c", "w:d"].map(String::from).to_vec()
    }

    fn dataset() -> DatasetBase<Array2<f64>, Array1<usize>> {
        let records = array![
            [1.0, 0.0, 2.0, 0.0],
            [0.0, 1.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 3.0],
            [1.0, 1.0, 0.0, 1.0],
            [0.0, 2.0, 0.0, 1.0]
        ];
        DatasetBase::new(records, array![0usize, 0, 1, 1, 1])
    }

    /// Compares the scorer with linfa-bayes on rows that exercise zero,
    /// single, repeated and unknown features.
    fn assert_agrees<M>(model: &M, scorer: &SparseScorer, binarise: bool)
    where
        M: for<'a> NaiveBayes<'a, f64, usize>,
    {
        let probes: Array2<f64> = array![
            [0.0, 0.0, 0.0, 0.0],
            [1.0, 0.0, 0.0, 0.0],
            [0.0, 3.0, 1.0, 0.0],
            [2.0, 1.0, 1.0, 5.0]
        ];
        // linfa-bayes' Bernoulli `predict` binarises rows before scoring
        // them; its `joint_log_likelihood` expects them binarised already.
        let dense_input = if binarise {
            probes.mapv(|value| if value > 0.0 { 1.0 } else { 0.0 })
        } else {
            probes.clone()
        };
        let dense = model.joint_log_likelihood(dense_input.view());
        let vocabulary = vocabulary();
        for (row_index, row) in probes.rows().into_iter().enumerate() {
            let sparse_row: Vec<(String, f64)> = row
                .iter()
                .enumerate()
                .filter(|(_, value)| **value != 0.0)
                .map(|(position, value)| (vocabulary[position].clone(), *value))
                // A feature outside the vocabulary must change nothing.
                .chain(std::iter::once(("d:unknown.example".to_string(), 1.0)))
                .collect();
            let sparse = scorer.joint_log_likelihood(&sparse_row);
            for class in [0usize, 1] {
                let expected = dense[&class][row_index];
                assert!(
                    (sparse[class] - expected).abs() < 1e-9,
                    "binarise {binarise}, row {row_index}, class {class}: sparse {} dense {expected}",
                    sparse[class]
                );
            }
        }
    }

    #[test]
    fn multinomial_sparse_and_dense_log_likelihoods_agree() {
        let model = crate::classifier::quiet::without_stderr(|| {
            MultinomialNb::params().alpha(0.5).fit(&dataset())
        })
        .unwrap();
        let read = ScorerWeights::from_multinomial(&model).unwrap();
        let probed = ScorerWeights::probe(&model, 4, false).unwrap();
        for (name, weights) in [("read", read), ("probed", probed)] {
            let scorer = SparseScorer::new(&vocabulary(), weights).unwrap();
            assert_agrees(&model, &scorer, false);
            eprintln!("{name}: agrees");
        }
    }

    #[test]
    fn bernoulli_sparse_and_dense_log_likelihoods_agree() {
        let model = BernoulliNb::params().alpha(0.5).fit(&dataset()).unwrap();
        let weights = ScorerWeights::probe(&model, 4, true).unwrap();
        let scorer = SparseScorer::new(&vocabulary(), weights).unwrap();
        assert_agrees(&model, &scorer, true);
    }

    #[test]
    fn scoring_by_keys_and_by_names_agree() {
        let model = BernoulliNb::params().alpha(0.5).fit(&dataset()).unwrap();
        let weights = ScorerWeights::probe(&model, 4, true).unwrap();
        let by_keys = SparseScorer::new(&vocabulary(), weights).unwrap();
        assert!(by_keys.keys.is_some());
        // What a scorer does when two vocabulary names share a key.
        let by_names = SparseScorer {
            keys: None,
            ..by_keys.clone()
        };
        let counting = FeatureParams {
            binary: false,
            normalize_length: true,
            ..FeatureParams::default()
        };
        for params in [FeatureParams::default(), counting] {
            for text in ["", "a b c", "a a d zz", "d, c! b? a http://x.example"] {
                let normalized = crate::text::normalize(text);
                assert_eq!(
                    by_keys.resolve_text(&params, text, &normalized, &SiteHosts::default()),
                    by_names.resolve_text(&params, text, &normalized, &SiteHosts::default()),
                    "{params:?} on {text:?}"
                );
            }
        }
        let resolved = by_keys.resolve_text(
            &FeatureParams::default(),
            "a b",
            "a b",
            &SiteHosts::default(),
        );
        assert_eq!(resolved, vec![(0, 1.0), (1, 1.0)]);
    }

    #[test]
    fn mismatched_weights_are_refused() {
        let weights = ScorerWeights {
            constants: [0.0, 0.0],
            weights: [vec![0.0; 3], vec![0.0; 3]],
            binary_input: false,
        };
        assert!(SparseScorer::new(&vocabulary(), weights).is_err());
    }
}
