//! Training: features, vocabulary, linfa-bayes `MultinomialNb`, and Platt
//! calibration fitted on cross-validated (held-out) scores.

use std::collections::{BTreeSet, HashMap, HashSet};

use linfa::prelude::*;
use linfa_bayes::{BernoulliNb, BernoulliNbValidParams, MultinomialNb, MultinomialNbValidParams};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::calibration::sigmoid;
use super::features::{resolve_positions, UNKNOWN_WORD};
use super::model::{FeatureCounts, TrainingSummary};
use super::quiet::without_stderr;
use super::scorer::ScorerWeights;
use super::{
    extract_features_on_site, BinaryMetrics, Calibration, ClassifierError, FeatureParams,
    LabelledExample, Model, SparseScorer,
};
use crate::domain::Label;

/// How naive Bayes models a comment's features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventModel {
    /// Feature counts (or presences) drawn from one distribution per class.
    Multinomial,
    /// Each vocabulary feature present or absent: absence is evidence too.
    Bernoulli,
}

/// Everything that shapes a trained model. Check it with [`TrainingParams::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingParams {
    /// The name a model's version starts with.
    pub name: String,
    pub features: FeatureParams,
    pub event_model: EventModel,
    /// Additive (Laplace/Lidstone) smoothing of feature counts.
    pub alpha: f64,
    /// Features seen in fewer training texts than this are left out of the
    /// vocabulary: one-off words only teach the model the training set.
    pub min_document_frequency: usize,
    /// Folds of the cross-validation that fits the calibration.
    pub folds: usize,
    /// Train on each example once ([`distinct_examples`]): copies of one
    /// message count as one. A model file does not record it (nor
    /// `min_document_frequency` and `folds`): a full retrain always counts
    /// its base corpus this way, and its corrections as
    /// `learning.correction_weight` examples each.
    pub distinct_examples: bool,
}

impl Default for TrainingParams {
    fn default() -> Self {
        TrainingParams {
            name: "model".to_string(),
            features: FeatureParams::default(),
            event_model: EventModel::Multinomial,
            alpha: 0.5,
            min_document_frequency: 1,
            folds: 5,
            distinct_examples: true,
        }
    }
}

/// Training parameters that passed [`TrainingParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidTrainingParams(TrainingParams);

impl TrainingParams {
    /// Checks the parameters. The Bernoulli event model reads each
    /// feature as present or absent, so it takes the word and signal
    /// weights as 1 whatever they were.
    pub fn check(mut self) -> Result<ValidTrainingParams, ClassifierError> {
        // Weights out of range are refused whatever the event model, so
        // that a mistyped flag is never silently dropped.
        if let Some((name, message)) = self.features.invalid_parameter() {
            return Err(ClassifierError::InvalidParameter { name, message });
        }
        if self.event_model == EventModel::Bernoulli {
            self.features.word_weight = 1.0;
            self.features.signal_weight = 1.0;
        }
        let invalid = |name, message: &str| ClassifierError::InvalidParameter {
            name,
            message: message.to_string(),
        };
        if !(self.alpha > 0.0 && self.alpha.is_finite()) {
            return Err(invalid("alpha", "must be a positive number"));
        }
        if self.min_document_frequency == 0 {
            return Err(invalid("min_document_frequency", "must be at least 1"));
        }
        if self.folds < 2 {
            return Err(invalid("folds", "must be at least 2"));
        }
        if let Some((name, message)) = self.features.invalid_parameter() {
            return Err(ClassifierError::InvalidParameter { name, message });
        }
        let name_ok = !self.name.is_empty()
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            return Err(invalid(
                "name",
                "must be non-empty ASCII letters, digits, - or _",
            ));
        }
        // The model's version is made of its name, and a version too long
        // would make a file that nothing loads.
        if self.name.len() > crate::limits::MAX_MODEL_NAME_BYTES {
            return Err(invalid(
                "name",
                &format!(
                    "must be at most {} characters (it has {})",
                    crate::limits::MAX_MODEL_NAME_BYTES,
                    self.name.len()
                ),
            ));
        }
        Ok(ValidTrainingParams(self))
    }
}

impl ValidTrainingParams {
    pub fn params(&self) -> &TrainingParams {
        &self.0
    }

    /// [`train`] on examples some of which are copies of one another, as a
    /// retrain makes of a correction that counts as several examples
    /// (`learning.correction_weight`). `origins[i]` names the example that
    /// example `i` is a copy of: copies share a number, and any numbers
    /// will do. Every copy of an example falls in the same
    /// cross-validation fold, so that the held-out scores the calibration
    /// is fitted on never come from a model that trained on a copy of the
    /// row it scores (which would make the scores look surer than they
    /// are). Examples that are all of different origins are folded as
    /// [`train`] folds them. Unlike [`train`], this keeps every example
    /// whatever `distinct_examples` says: copies are meant here, and the
    /// caller applies [`distinct_examples`] to those that should count once.
    pub fn train_with_copies(
        &self,
        examples: &[LabelledExample],
        origins: &[usize],
        sources: Vec<String>,
        progress: &mut dyn FnMut(&str),
    ) -> Result<Model, ClassifierError> {
        if origins.len() != examples.len() {
            return Err(ClassifierError::Training(format!(
                "{} origins given for {} examples: each example needs one",
                origins.len(),
                examples.len()
            )));
        }
        let data = Featurised::of(&self.0.features, examples);
        train_folded(self, data, origins, sources, progress)
    }
}

/// A corpus with its features extracted once.
struct Featurised {
    rows: Vec<Vec<(String, f64)>>,
    labels: Vec<usize>,
}

impl Featurised {
    fn of(features: &FeatureParams, examples: &[LabelledExample]) -> Featurised {
        Featurised {
            rows: examples
                .iter()
                .map(|example| extract_features_on_site(features, &example.text, &example.site))
                .collect(),
            labels: examples.iter().map(|e| e.label.class_index()).collect(),
        }
    }

    /// Whether each row is the first of its label with its features and
    /// values (see [`distinct_examples`]).
    fn first_of_each(&self) -> Vec<bool> {
        let mut seen: HashSet<(Vec<(&str, u64)>, usize)> = HashSet::with_capacity(self.rows.len());
        self.rows
            .iter()
            .zip(&self.labels)
            .map(|(row, label)| seen.insert((reading(row), *label)))
            .collect()
    }

    /// The rows `keep` marks, in their order.
    fn keeping(self, keep: &[bool]) -> Featurised {
        let (rows, labels) = self
            .rows
            .into_iter()
            .zip(self.labels)
            .zip(keep)
            .filter_map(|(row, keep)| keep.then_some(row))
            .unzip();
        Featurised { rows, labels }
    }
}

/// `examples` with each one kept once: the first of the examples of one
/// label that the model reads as the same (the same features with the same
/// values: the same words once normalised and case folded, the same length
/// class, the capitals signal alike, and links that stay on or leave the
/// comment's site alike), in their order.
///
/// A spam campaign posts one message many times: the YouTube training split
/// holds "Check out this video on YouTube:" 57 times. Counting every copy
/// lets one campaign's ordinary words ("check", "this", "video", "on")
/// outweigh the rest of the corpus as signs of spam, and ham that uses them
/// is blocked. The `duplicate_content` rule, not the model, is what catches
/// a campaign's copies as they come in.
pub fn distinct_examples(
    features: &FeatureParams,
    examples: &[LabelledExample],
) -> Vec<LabelledExample> {
    let first = Featurised::of(features, examples).first_of_each();
    examples
        .iter()
        .zip(first)
        .filter(|(_, first)| *first)
        .map(|(example, _)| example.clone())
        .collect()
}

/// For each example, the index of the first one the model reads the same
/// (the same features and values, whatever their labels): the origins to
/// give [`ValidTrainingParams::train_with_copies`] so that such examples
/// share a cross-validation fold, and no row's calibration score comes
/// from a model that trained on a copy of it.
pub fn first_reading_the_same(
    features: &FeatureParams,
    examples: &[LabelledExample],
) -> Vec<usize> {
    let data = Featurised::of(features, examples);
    let mut first: HashMap<Vec<(&str, u64)>, usize> = HashMap::with_capacity(examples.len());
    data.rows
        .iter()
        .enumerate()
        .map(|(index, row)| *first.entry(reading(row)).or_insert(index))
        .collect()
}

/// A row's features and values, in name order: what tells two examples
/// the model reads the same.
fn reading(row: &[(String, f64)]) -> Vec<(&str, u64)> {
    let mut read: Vec<(&str, u64)> = row
        .iter()
        .map(|(name, value)| (name.as_str(), value.to_bits()))
        .collect();
    read.sort_unstable();
    read
}

/// Trains a model on `examples`, each once when
/// `distinct_examples` is set. `progress` hears one line per stage.
pub fn train(
    params: &ValidTrainingParams,
    examples: &[LabelledExample],
    sources: Vec<String>,
    progress: &mut dyn FnMut(&str),
) -> Result<Model, ClassifierError> {
    let mut data = Featurised::of(&params.params().features, examples);
    if params.params().distinct_examples {
        let first = data.first_of_each();
        data = data.keeping(&first);
        let left_out = examples.len() - data.rows.len();
        if left_out > 0 {
            progress(&format!(
                "{left_out} examples left out: the model reads each the same as an earlier one"
            ));
        }
    }
    // Every example is an origin of its own.
    let origins: Vec<usize> = (0..data.rows.len()).collect();
    train_folded(params, data, &origins, sources, progress)
}

/// The rows each cross-validation fold trains on and scores, fold by
/// fold: `(training rows, scored rows)`. `origins[i]` names the example
/// that row `i` is a copy of. Origins are numbered in the order they first
/// appear, and origin `n` is scored by fold `n % folds`, so that every copy
/// of a row is scored by the fold that scores the row, and none trains the
/// model that scores it. When every row is an origin of its own, row `i`
/// is scored by fold `i % folds`, as it always was: the default model's
/// training, whose version is a hash of its numbers, stays the same.
fn cross_validation_folds(origins: &[usize], folds: usize) -> Vec<(Vec<usize>, Vec<usize>)> {
    let mut numbers: HashMap<usize, usize> = HashMap::new();
    let numbered: Vec<usize> = origins
        .iter()
        .map(|origin| {
            let next = numbers.len();
            *numbers.entry(*origin).or_insert(next)
        })
        .collect();
    // No more folds than origins: a fold with nothing to score would only
    // cost a fit.
    let folds = folds.min(numbers.len());
    (0..folds)
        .map(|fold| {
            let (training, scored): (Vec<usize>, Vec<usize>) =
                (0..numbered.len()).partition(|row| numbered[*row] % folds != fold);
            (training, scored)
        })
        .collect()
}

/// [`train`], with the origin of each example (see
/// [`ValidTrainingParams::train_with_copies`]); `origins` has one entry an
/// example.
fn train_folded(
    params: &ValidTrainingParams,
    data: Featurised,
    origins: &[usize],
    sources: Vec<String>,
    progress: &mut dyn FnMut(&str),
) -> Result<Model, ClassifierError> {
    let params = params.params();
    let examples = data.rows.len();
    let spam = data
        .labels
        .iter()
        .filter(|label| **label == Label::Spam.class_index())
        .count();
    let ham = examples - spam;
    if spam == 0 || ham == 0 {
        return Err(ClassifierError::Training(format!(
            "the data needs both ham and spam examples (has {ham} ham, {spam} spam)"
        )));
    }
    progress(&format!("{examples} examples ({ham} ham, {spam} spam)"));

    // Held-out raw log-odds for every example, each from a model that did
    // not see it nor a copy of it: the calibration is fitted on these. A
    // fold whose other rows lack a class (a class with very few examples)
    // gives no model to score it with, and its rows are left out of the
    // calibration.
    let fold_rows = cross_validation_folds(origins, params.folds);
    let folds = fold_rows.len();
    let mut held_out: Vec<Option<f64>> = vec![None; examples];
    for (fold, (train_rows, test_rows)) in fold_rows.into_iter().enumerate() {
        let has_class = |class| train_rows.iter().any(|row| data.labels[*row] == class);
        if !(has_class(0) && has_class(1)) {
            progress(&format!(
                "cross-validation fold {} of {folds} left out: the other folds lack a class",
                fold + 1
            ));
            continue;
        }
        let fitted = fit(params, &data, &train_rows, Fitter::SameArithmetic)?;
        let scorer = SparseScorer::new(&fitted.vocabulary, fitted.weights)?;
        for index in test_rows {
            let [ham_likelihood, spam_likelihood] = scorer.joint_log_likelihood(&data.rows[index]);
            held_out[index] = Some(spam_likelihood - ham_likelihood);
        }
        progress(&format!(
            "cross-validation fold {} of {folds} done",
            fold + 1
        ));
    }
    let (held_out, is_spam): (Vec<f64>, Vec<bool>) = held_out
        .iter()
        .zip(&data.labels)
        .filter_map(|(raw, label)| raw.map(|raw| (raw, *label == 1)))
        .unzip();
    if held_out.is_empty() {
        return Err(ClassifierError::Training(format!(
            "too few examples of one class to calibrate the scores ({ham} ham, {spam} spam): \
             give at least two of each"
        )));
    }
    let calibration = Calibration::fit(&held_out, &is_spam);
    let calibrated: Vec<f64> = held_out
        .iter()
        .map(|raw| sigmoid(calibration.log_odds(*raw)))
        .collect();
    let cross_validation = BinaryMetrics::compute(&calibrated, &is_spam, 0.5);
    progress(&format!(
        "calibration slope {:.4} intercept {:.4}; cross-validated MCC {:.3}",
        calibration.slope, calibration.intercept, cross_validation.mcc
    ));

    let all_rows: Vec<usize> = (0..examples).collect();
    let fitted = fit(params, &data, &all_rows, Fitter::Linfa)?;
    progress(&format!(
        "final model: {} features",
        fitted.vocabulary.len()
    ));
    Model::from_parts(
        &params.name,
        params.features.clone(),
        params.event_model,
        params.alpha,
        fitted.vocabulary,
        fitted.weights,
        fitted.counts,
        calibration,
        TrainingSummary {
            sources,
            examples: examples as u64,
            spam: spam as u64,
            ham: ham as u64,
        },
        Some(cross_validation),
    )
}

/// What one fit produced.
struct Fitted {
    vocabulary: Vec<String>,
    weights: ScorerWeights,
    /// The summed counts behind `weights`, for the multinomial event model.
    counts: Option<FeatureCounts>,
}

/// Builds the vocabulary of the selected rows and fits linfa-bayes on them.
/// Who computes a multinomial fit's weights (see
/// [`multinomial_weights_directly`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fitter {
    /// linfa-bayes: the model a file stores.
    Linfa,
    /// linfa-bayes' arithmetic without linfa-bayes' `dbg!` dump: the
    /// cross-validation folds, whose models only score held-out rows.
    SameArithmetic,
}

fn fit(
    params: &TrainingParams,
    data: &Featurised,
    selected: &[usize],
    fitter: Fitter,
) -> Result<Fitted, ClassifierError> {
    let mut document_frequency: HashMap<&str, usize> = HashMap::new();
    for index in selected {
        for (feature, _) in &data.rows[*index] {
            *document_frequency.entry(feature.as_str()).or_default() += 1;
        }
    }
    // Sorted, so that the same data always gives the same model file.
    let mut vocabulary: BTreeSet<String> = document_frequency
        .into_iter()
        .filter(|(_, frequency)| *frequency >= params.min_document_frequency)
        .map(|(feature, _)| feature.to_string())
        .collect();
    if params.features.unknown_words {
        vocabulary.insert(UNKNOWN_WORD.to_string());
    }
    let vocabulary: Vec<String> = vocabulary.into_iter().collect();
    let vocabulary_index: HashMap<String, usize> = vocabulary
        .iter()
        .enumerate()
        .map(|(index, feature)| (feature.clone(), index))
        .collect();

    let labels: Vec<usize> = selected.iter().map(|index| data.labels[*index]).collect();
    let (weights, counts) = match params.event_model {
        EventModel::Multinomial => {
            let mut counts = FeatureCounts::zeros(vocabulary.len());
            for index in selected {
                counts.add(
                    data.labels[*index],
                    &resolve_positions(&data.rows[*index], &vocabulary_index),
                    1.0,
                );
            }
            let weights = match fitter {
                Fitter::Linfa => multinomial_weights(&counts, params.alpha)?,
                Fitter::SameArithmetic => multinomial_weights_directly(&counts, params.alpha),
            };
            (weights, Some(counts))
        }
        EventModel::Bernoulli => {
            let rows: Vec<Vec<(usize, f64)>> = selected
                .iter()
                .map(|index| resolve_positions(&data.rows[*index], &vocabulary_index))
                .collect();
            let weights = bernoulli_weights(
                params.alpha,
                &rows,
                &labels,
                vocabulary.len(),
                BERNOULLI_BLOCK_CELLS,
            )?;
            (weights, None)
        }
    };
    Ok(Fitted {
        vocabulary,
        weights,
        counts,
    })
}

/// The most cells (rows times features, 8 bytes each) of one block of the
/// matrix a Bernoulli model is fitted on: 128 MiB.
const BERNOULLI_BLOCK_CELLS: usize = 16 * 1024 * 1024;

/// The Bernoulli model of `rows` (each its features' vocabulary positions
/// and values), fitted by linfa-bayes a block of features at a time.
///
/// linfa-bayes takes a dense matrix, and its Bernoulli `fit_with` (0.8.1)
/// divides accumulated counts by the rows of its latest call only, so the
/// rows cannot come in chunks: fitted at once, 4,460 SMS rows by 46,000
/// features held 3.3 GB. But the Bernoulli estimate of a feature reads
/// its own column alone (and how many rows each class has), so blocks of
/// columns of at most `block_cells` cells give every feature's weight. A
/// block's constant holds the class's log-prior once and its features'
/// sum of ln(1 - p); the model's is the first block's constant plus every
/// later block's sum (one block gives linfa-bayes' numbers exactly).
/// A unit test checks that blocks give the weights of the whole matrix.
fn bernoulli_weights(
    alpha: f64,
    rows: &[Vec<(usize, f64)>],
    labels: &[usize],
    vocabulary_size: usize,
    block_cells: usize,
) -> Result<ScorerWeights, ClassifierError> {
    let fit_params: BernoulliNbValidParams<f64, usize> = BernoulliNb::params()
        .alpha(alpha)
        .check()
        .map_err(training_error)?;
    // The log-priors as linfa-bayes computes them.
    let in_class = |class: usize| labels.iter().filter(|label| **label == class).count();
    let log_priors = [0, 1].map(|class| (in_class(class) as f64 / labels.len() as f64).ln());
    let width = (block_cells / rows.len().max(1)).clamp(1, vocabulary_size.max(1));
    let mut weights = [
        Vec::with_capacity(vocabulary_size),
        Vec::with_capacity(vocabulary_size),
    ];
    // The first block's constants, then each later block's sum added.
    let mut constants: Option<[f64; 2]> = None;
    let mut start = 0;
    loop {
        let columns = width.min(vocabulary_size - start);
        let mut records = Array2::<f64>::zeros((rows.len(), columns));
        for (row, positions) in rows.iter().enumerate() {
            for &(position, value) in positions {
                if (start..start + columns).contains(&position) {
                    records[[row, position - start]] += value;
                }
            }
        }
        let dataset = DatasetBase::new(records, Array1::from(labels.to_vec()));
        let model = fit_params
            .fit_with(None, &dataset)
            .map_err(training_error)?;
        let block = ScorerWeights::probe(&model, columns, true)?;
        constants = Some(match constants {
            None => block.constants,
            Some(sums) => {
                [0, 1].map(|class| sums[class] + block.constants[class] - log_priors[class])
            }
        });
        for class in [0, 1] {
            weights[class].extend_from_slice(&block.weights[class]);
        }
        start += columns;
        if start >= vocabulary_size {
            break;
        }
    }
    Ok(ScorerWeights {
        constants: constants.unwrap_or(log_priors),
        weights,
        binary_input: true,
    })
}

fn training_error(error: linfa_bayes::NaiveBayesError) -> ClassifierError {
    ClassifierError::Training(error.to_string())
}

/// The multinomial model of summed feature counts, fitted by linfa-bayes.
///
/// Multinomial naive Bayes depends on the data only through each class's
/// summed feature counts and its number of rows. linfa-bayes gets one row per
/// class holding the sums (the same feature log-probabilities as the full
/// matrix, from vocabulary-sized memory instead of rows x vocabulary, and one
/// of its leftover `dbg!` dumps instead of one per chunk); the class priors,
/// the only thing that row count changes, are then set from the true counts
/// exactly as linfa-bayes computes them. A unit test checks the result
/// against linfa-bayes fitted on every row.
pub(super) fn multinomial_weights(
    counts: &FeatureCounts,
    alpha: f64,
) -> Result<ScorerWeights, ClassifierError> {
    let vocabulary_size = counts.features[0].len();
    let mut sums = Array2::<f64>::zeros((2, vocabulary_size));
    for class in [0, 1] {
        for (column, value) in counts.features[class].iter().enumerate() {
            sums[[class, column]] = *value;
        }
    }
    let dataset = DatasetBase::new(sums, ndarray::array![0usize, 1]);
    let fit_params: MultinomialNbValidParams<f64, usize> = MultinomialNb::params()
        .alpha(alpha)
        .check()
        .map_err(training_error)?;
    let model = without_stderr(|| fit_params.fit_with(None, &dataset)).map_err(training_error)?;
    let mut weights = ScorerWeights::from_multinomial(&model)?;
    weights.constants = class_constants(counts);
    Ok(weights)
}

/// The class priors as log-probabilities, from the true (weighted) row
/// counts, as linfa-bayes computes priors.
fn class_constants(counts: &FeatureCounts) -> [f64; 2] {
    let total = counts.rows[0] + counts.rows[1];
    [(counts.rows[0] / total).ln(), (counts.rows[1] / total).ln()]
}

/// The weights [`multinomial_weights`] gets from linfa-bayes, computed here
/// with the same ndarray operations in the same order, so the same bits (a
/// unit test compares them): each class's counts plus alpha, their sum, and
/// the logarithm of each over the logarithm of the sum. linfa-bayes 0.8.1
/// also formats both classes' whole histograms for its leftover `dbg!` on
/// every fit, which was 55% of a training run's time (perf); the five
/// cross-validation folds, whose models only score held-out rows for the
/// calibration, skip that. The model a file stores is still fitted by
/// linfa-bayes.
///
/// Online learning refits through here: adding a correction to the counts
/// and refitting is what linfa-bayes' incremental `fit_with` does (and a
/// correction may bring words the vocabulary has never seen), but through
/// linfa-bayes each label paid for formatting the whole histograms into
/// the dump: 100 ms a label on the built-in model and 500 ms once online
/// learning had grown its vocabulary, measured while moderators queued
/// behind one another (perf: 93% of the time in ndarray's formatting).
pub(super) fn multinomial_weights_directly(counts: &FeatureCounts, alpha: f64) -> ScorerWeights {
    let log_probabilities = |class_counts: &[f64]| -> Vec<f64> {
        let smoothed = Array1::from(class_counts.to_vec()).mapv(|count| count + alpha);
        let total = smoothed.sum();
        smoothed.mapv(|count| count.ln() - total.ln()).to_vec()
    };
    ScorerWeights {
        constants: class_constants(counts),
        weights: [
            log_probabilities(&counts.features[0]),
            log_probabilities(&counts.features[1]),
        ],
        binary_input: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Label;

    fn example(text: &str, label: Label) -> LabelledExample {
        LabelledExample {
            text: text.to_string(),
            label,
            group: None,
            post_title: None,
            site: crate::classifier::SiteHosts::default(),
        }
    }

    fn small_corpus() -> Vec<LabelledExample> {
        let spam = [
            "check out my channel and subscribe",
            "subscribe to my channel please",
            "free money click http://spam.example.com",
            "win a free prize now click here",
            "please subscribe and check my channel",
            "click here for free money",
        ];
        let ham = [
            "great song, i love it",
            "this video brings back memories",
            "i love this song so much",
            "the best song of the year",
            "what a great video",
            "memories of summer with this song",
        ];
        spam.iter()
            .map(|text| example(text, Label::Spam))
            .chain(ham.iter().map(|text| example(text, Label::Ham)))
            .collect()
    }

    #[test]
    fn a_trained_model_separates_its_classes() {
        let params = TrainingParams {
            name: "unit".into(),
            min_document_frequency: 1,
            folds: 3,
            ..TrainingParams::default()
        }
        .check()
        .unwrap();
        let model = train(&params, &small_corpus(), vec!["unit".into()], &mut |_| {}).unwrap();
        let spam = model.score("subscribe to my channel for free money");
        let ham = model.score("i love this song");
        assert!(spam.probability > 0.5, "{spam:?}");
        assert!(ham.probability < 0.5, "{ham:?}");
        assert!(model.version().starts_with("unit-"));
        // The reasons' weights add up to the calibrated log-odds.
        let sum: f64 = spam.baseline + spam.contributions.iter().map(|c| c.weight).sum::<f64>();
        assert!((sum - spam.log_odds).abs() < 1e-9);
    }

    #[test]
    fn examples_count_once_when_the_model_reads_them_the_same() {
        let on_site = |text: &str, label, host: &str| LabelledExample {
            site: crate::classifier::SiteHosts::new([host]),
            ..example(text, label)
        };
        let examples = vec![
            example("Check out this video", Label::Spam),
            // The same once normalised: case and an entity aside.
            example("check out this video", Label::Spam),
            example("Tom &amp; Jerry", Label::Ham),
            example("Tom & Jerry", Label::Ham),
            // The same text under the other label is other evidence.
            example("Check out this video", Label::Ham),
            // Capitals are a signal of their own.
            example("CHECK OUT THIS VIDEO", Label::Spam),
            // So is a link to another site than the comment's.
            on_site("see http://a.example/x", Label::Ham, "a.example"),
            on_site("see http://a.example/x", Label::Ham, "b.example"),
            on_site("see http://a.example/x", Label::Ham, "www.a.example"),
        ];
        let distinct = distinct_examples(&FeatureParams::default(), &examples);
        let kept: Vec<(&str, Label)> = distinct
            .iter()
            .map(|example| (example.text.as_str(), example.label))
            .collect();
        assert_eq!(
            kept,
            [
                ("Check out this video", Label::Spam),
                ("Tom &amp; Jerry", Label::Ham),
                ("Check out this video", Label::Ham),
                ("CHECK OUT THIS VIDEO", Label::Spam),
                ("see http://a.example/x", Label::Ham),
                ("see http://a.example/x", Label::Ham),
            ]
        );
        // With counts, the same words a different number of times are read
        // differently; with presence alone (the default) they are not.
        // (Both texts are of one length class: 27 and 21 characters.)
        let repeated = [
            example("great song great song great", Label::Ham),
            example("great song great song", Label::Ham),
        ];
        let counts = FeatureParams {
            binary: false,
            ..FeatureParams::default()
        };
        assert_eq!(distinct_examples(&counts, &repeated).len(), 2);
        assert_eq!(
            distinct_examples(&FeatureParams::default(), &repeated).len(),
            1
        );
    }

    #[test]
    fn copies_of_a_text_train_as_one_example_unless_asked_otherwise() {
        let params = |distinct_examples| {
            TrainingParams {
                folds: 3,
                distinct_examples,
                ..TrainingParams::default()
            }
            .check()
            .unwrap()
        };
        let corpus = small_corpus();
        let mut with_copies = corpus.clone();
        for _ in 0..5 {
            with_copies.push(example("Check out my channel and SUBSCRIBE", Label::Spam));
        }
        let once = train(&params(true), &corpus, vec![], &mut |_| {}).unwrap();
        let copies_once = train(&params(true), &with_copies, vec![], &mut |_| {}).unwrap();
        // The copies add nothing: the first text of the corpus is the same
        // once normalised.
        assert_eq!(copies_once.version(), once.version());
        assert_eq!(copies_once.summary().examples, corpus.len() as u64);
        let every_copy = train(&params(false), &with_copies, vec![], &mut |_| {}).unwrap();
        assert_ne!(every_copy.version(), once.version());
        assert_eq!(every_copy.summary().examples, with_copies.len() as u64);
    }

    #[test]
    fn training_is_deterministic_and_round_trips_through_a_file() {
        let params = TrainingParams {
            min_document_frequency: 1,
            folds: 3,
            ..TrainingParams::default()
        }
        .check()
        .unwrap();
        let first = train(&params, &small_corpus(), vec![], &mut |_| {}).unwrap();
        let second = train(&params, &small_corpus(), vec![], &mut |_| {}).unwrap();
        assert_eq!(first.version(), second.version());

        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("model.json");
        first.save(&path).unwrap();
        let loaded = Model::load(&path).unwrap();
        assert_eq!(loaded.version(), first.version());
        let text = "free channel song";
        assert_eq!(loaded.score(text), first.score(text));
    }

    #[test]
    fn summed_rows_give_the_model_linfa_fits_on_every_row() {
        let examples = small_corpus();
        let params = TrainingParams {
            min_document_frequency: 1,
            ..TrainingParams::default()
        };
        let data = Featurised {
            rows: examples
                .iter()
                .map(|example| {
                    extract_features_on_site(&params.features, &example.text, &example.site)
                })
                .collect(),
            labels: examples.iter().map(|e| e.label.class_index()).collect(),
        };
        let selected: Vec<usize> = (0..examples.len()).collect();
        let Fitted {
            vocabulary,
            weights: summed,
            ..
        } = fit(&params, &data, &selected, Fitter::Linfa).unwrap();

        let index: HashMap<String, usize> = vocabulary
            .iter()
            .enumerate()
            .map(|(position, feature)| (feature.clone(), position))
            .collect();
        let mut records = Array2::<f64>::zeros((examples.len(), vocabulary.len()));
        for (row, features) in data.rows.iter().enumerate() {
            for (column, value) in resolve_positions(features, &index) {
                records[[row, column]] += value;
            }
        }
        let every_row = DatasetBase::new(records, Array1::from(data.labels.clone()));
        let full =
            without_stderr(|| MultinomialNb::params().alpha(params.alpha).fit(&every_row)).unwrap();
        let expected = ScorerWeights::from_multinomial(&full).unwrap();
        for class in [0, 1] {
            assert!((summed.constants[class] - expected.constants[class]).abs() < 1e-12);
            for (a, b) in summed.weights[class].iter().zip(&expected.weights[class]) {
                assert!((a - b).abs() < 1e-12, "{a} vs {b}");
            }
        }
    }

    /// The default training with three folds, enough for the small corpus.
    fn three_fold_params() -> ValidTrainingParams {
        TrainingParams {
            folds: 3,
            ..TrainingParams::default()
        }
        .check()
        .unwrap()
    }

    #[test]
    fn no_fold_scores_a_row_whose_copy_it_trained_on() {
        // As a retrain lays out its examples with a correction weight of
        // 3: twelve of the base corpus, then three corrections, each
        // followed by its two copies.
        let mut origins: Vec<usize> = (0..12).collect();
        for correction in 12..15 {
            origins.extend([correction; 3]);
        }
        let folds = cross_validation_folds(&origins, 5);
        assert_eq!(folds.len(), 5);
        let mut scored_by = vec![0; origins.len()];
        for (training, scored) in &folds {
            for row in scored {
                scored_by[*row] += 1;
                assert!(
                    training
                        .iter()
                        .all(|trained| origins[*trained] != origins[*row]),
                    "row {row} is scored by a fold that trained on a copy of it: {folds:?}"
                );
            }
            // A fold trains on every row it does not score.
            assert_eq!(training.len() + scored.len(), origins.len());
        }
        // Every row is scored, once.
        assert!(scored_by.iter().all(|times| *times == 1), "{scored_by:?}");
    }

    #[test]
    fn rows_of_their_own_are_folded_as_they_always_were() {
        // Row `i` in fold `i % folds`: the assignment the committed
        // default model was trained with.
        let origins: Vec<usize> = (0..13).collect();
        let folds = cross_validation_folds(&origins, 5);
        assert_eq!(folds.len(), 5);
        for (fold, (training, scored)) in folds.iter().enumerate() {
            let expected: Vec<usize> = (0..13).filter(|row| row % 5 == fold).collect();
            assert_eq!(scored, &expected);
            assert_eq!(training.len(), 13 - expected.len());
        }
        // No more folds than rows.
        assert_eq!(cross_validation_folds(&[0, 1, 2], 5).len(), 3);

        // Training with origins all different, whatever their numbers,
        // gives the model plain training gives.
        let params = three_fold_params();
        let corpus = small_corpus();
        let plain = train(&params, &corpus, vec![], &mut |_| {}).unwrap();
        let numbered: Vec<usize> = (0..corpus.len()).map(|row| 1_000 - 7 * row).collect();
        let with_origins = params
            .train_with_copies(&corpus, &numbered, vec![], &mut |_| {})
            .unwrap();
        assert_eq!(with_origins.version(), plain.version());
        // One origin an example, no fewer.
        let refused = params
            .train_with_copies(&corpus, &numbered[1..], vec![], &mut |_| {})
            .unwrap_err();
        assert!(refused.to_string().contains("origins"), "{refused}");
    }

    #[test]
    fn a_class_with_one_example_still_gives_a_model_that_loads() {
        let mut corpus: Vec<LabelledExample> = small_corpus()
            .into_iter()
            .filter(|example| !example.label.is_spam())
            .collect();
        corpus.push(example("free money click here", Label::Spam));
        let model = train(&three_fold_params(), &corpus, vec![], &mut |_| {}).unwrap();
        assert!(model.calibration().slope.is_finite());
        let loaded = Model::from_json("test", &model.to_json().unwrap()).unwrap();
        assert!(loaded.probability("free money now").is_finite());
        // With one example of each class no fold can be scored: a clear
        // error, not a model that does not load.
        let pair = vec![
            example("free money click here", Label::Spam),
            example("great song", Label::Ham),
        ];
        let refused = train(&three_fold_params(), &pair, vec![], &mut |_| {}).unwrap_err();
        assert!(
            refused.to_string().contains("at least two of each"),
            "{refused}"
        );
    }

    #[test]
    fn online_learning_grows_the_vocabulary_within_its_bounds() {
        let base = train(&three_fold_params(), &small_corpus(), vec![], &mut |_| {}).unwrap();
        let size = base.vocabulary_size();
        // A comment of 300 made-up words (and 299 pairs of them).
        let letters = |index: usize| {
            let letter = |digit: usize| char::from(b'a' + (digit % 26) as u8);
            format!("zq{}{}", letter(index / 26), letter(index))
        };
        let made_up: Vec<String> = (0..300).map(letters).collect();
        let flood = example(&made_up.join(" "), Label::Spam);
        let learned = base.learn(std::slice::from_ref(&flood), 1.0).unwrap();
        assert_eq!(
            learned.vocabulary_size(),
            size + crate::classifier::MAX_NEW_WORDS_PER_EXAMPLE
                + crate::classifier::MAX_NEW_OTHER_FEATURES_PER_EXAMPLE
        );
        assert!(learned
            .score("zqaa")
            .contributions
            .iter()
            .any(|contribution| contribution.feature == "w:zqaa"));
        // An ordinary comment, forty new words, is learned whole: each
        // word and each pair.
        let ordinary = example(&made_up[..40].join(" "), Label::Spam);
        let whole = base.learn(std::slice::from_ref(&ordinary), 1.0).unwrap();
        let made_up_known = whole
            .score(&ordinary.text)
            .contributions
            .iter()
            .filter(|contribution| {
                contribution.feature.starts_with("w:zq") || contribution.feature.starts_with("b:zq")
            })
            .count();
        assert_eq!(made_up_known, 40 + 39);
        // At the vocabulary's cap, nothing more is added, and what is
        // known is still learned.
        let capped = base
            .learn_within(
                &[flood, example("free money", Label::Spam)],
                1.0,
                [64, 192],
                size + 10,
            )
            .unwrap();
        assert_eq!(capped.vocabulary_size(), size + 10);
        assert_eq!(capped.summary().examples, base.summary().examples + 2);
        assert!(capped.probability("free money") > base.probability("free money"));
    }

    #[test]
    fn learning_online_equals_training_on_the_union() {
        let params = three_fold_params();
        let corpus = small_corpus();
        let base = train(&params, &corpus, vec![], &mut |_| {}).unwrap();
        // New words ("jessica", "portfolio") and known ones.
        let corrections = vec![
            example("mrs jessica grew my portfolio", Label::Spam),
            example("jessica portfolio profit today", Label::Spam),
            example("i love this song, great memories", Label::Ham),
        ];
        let learned = base.learn(&corrections, 1.0).unwrap();
        assert_eq!(learned.version(), format!("{}+3", base.version()));
        assert_eq!(learned.trained_version(), base.version());
        assert_eq!(learned.summary().examples, 15);

        let union: Vec<LabelledExample> = corpus.iter().chain(&corrections).cloned().collect();
        let retrained = train(&params, &union, vec![], &mut |_| {}).unwrap();
        for text in [
            "jessica portfolio",
            "free money song",
            "great memories of jessica",
        ] {
            let (online, full) = (learned.raw_log_odds(text), retrained.raw_log_odds(text));
            assert!((online - full).abs() < 1e-9, "{text}: {online} vs {full}");
        }
        assert!(
            learned.probability("mrs jessica portfolio")
                > base.probability("mrs jessica portfolio")
        );

        // Learned models round-trip through their file, version and all.
        let again = Model::from_json("learned", &learned.to_json().unwrap()).unwrap();
        assert_eq!(again.version(), learned.version());
        assert_eq!(
            again.score("jessica portfolio"),
            learned.score("jessica portfolio")
        );
        // And become versions of their own when registered.
        let registered = learned.as_new_version("retrained").unwrap();
        assert!(registered.version().starts_with("retrained-"));
        assert_eq!(registered.learned_online(), 0);
    }

    #[test]
    fn features_learned_online_rank_by_name_when_their_weights_tie() {
        let base = train(&three_fold_params(), &small_corpus(), vec![], &mut |_| {}).unwrap();
        // "zebra" joins the vocabulary before "apple", out of name order;
        // each is seen once, as spam, so their weights tie.
        let learned = base
            .learn(
                &[example("zebra", Label::Spam), example("apple", Label::Spam)],
                1.0,
            )
            .unwrap();
        let score = learned.score("apple zebra");
        let ranked: Vec<&str> = score
            .strongest(usize::MAX)
            .into_iter()
            .map(|contribution| contribution.feature)
            .filter(|feature| ["w:apple", "w:zebra"].contains(feature))
            .collect();
        assert_eq!(ranked, vec!["w:apple", "w:zebra"]);
        let weights: Vec<f64> = score
            .contributions
            .iter()
            .filter(|contribution| contribution.feature.starts_with("w:"))
            .map(|contribution| contribution.weight)
            .collect();
        assert_eq!(
            weights[0], weights[1],
            "the two weights must tie: {score:?}"
        );
    }

    #[test]
    fn char_ngrams_from_zero_are_refused() {
        let mut params = TrainingParams::default();
        params.features.char_ngram_min = 0;
        params.features.char_ngram_max = 3;
        let error = params.check().unwrap_err();
        assert!(error.to_string().contains("0-3"), "{error}");
    }

    /// Fitted a block of features at a time, a Bernoulli model has the
    /// weights of one fitted on the whole matrix at once.
    #[test]
    fn a_bernoulli_model_fitted_in_blocks_is_the_whole_matrixs() {
        let rows: Vec<Vec<(usize, f64)>> = vec![
            vec![(0, 1.0), (2, 1.0), (5, 1.0)],
            vec![(1, 1.0), (2, 1.0)],
            vec![(3, 1.0), (4, 1.0), (6, 1.0)],
            vec![(0, 1.0), (6, 1.0)],
            vec![(5, 1.0)],
        ];
        let labels = [1, 0, 1, 0, 1];
        let whole = bernoulli_weights(0.5, &rows, &labels, 7, usize::MAX).unwrap();
        for block_cells in [1, 5, 10, 15] {
            let blocks = bernoulli_weights(0.5, &rows, &labels, 7, block_cells).unwrap();
            for class in [0, 1] {
                assert!(
                    (blocks.constants[class] - whole.constants[class]).abs() < 1e-12,
                    "{block_cells}"
                );
                assert_eq!(blocks.weights[class].len(), 7);
                for (block, whole) in blocks.weights[class].iter().zip(&whole.weights[class]) {
                    assert!((block - whole).abs() < 1e-12, "{block_cells}");
                }
            }
        }
        // The whole matrix's weights are linfa-bayes' own.
        let mut records = Array2::<f64>::zeros((rows.len(), 7));
        for (row, positions) in rows.iter().enumerate() {
            for &(position, value) in positions {
                records[[row, position]] = value;
            }
        }
        let dataset = DatasetBase::new(records, Array1::from(labels.to_vec()));
        let model = BernoulliNb::params()
            .alpha(0.5)
            .check()
            .unwrap()
            .fit_with(None, &dataset)
            .unwrap();
        let probed = ScorerWeights::probe(&model, 7, true).unwrap();
        assert_eq!(probed.constants, whole.constants);
        assert_eq!(probed.weights, whole.weights);
    }

    #[test]
    fn a_bernoulli_model_cannot_learn_online() {
        let params = TrainingParams {
            folds: 3,
            event_model: EventModel::Bernoulli,
            ..TrainingParams::default()
        }
        .check()
        .unwrap();
        // It reads features as present or absent, so kinds carry no weight.
        assert_eq!(params.params().features.word_weight, 1.0);
        assert_eq!(params.params().features.signal_weight, 1.0);
        let model = train(&params, &small_corpus(), vec![], &mut |_| {}).unwrap();
        assert!(!model.can_learn_online());
        // A Bernoulli model file with weights is refused when it loads.
        let mut file: serde_json::Value =
            serde_json::from_slice(&model.to_json().unwrap()).unwrap();
        file["features"]["word_weight"] = serde_json::json!(0.7);
        let bytes = serde_json::to_vec(&file).unwrap();
        let error = Model::from_json("weighted.json", &bytes).unwrap_err();
        assert!(error.to_string().contains("Bernoulli"), "{error}");
        let error = model
            .learn(&[example("spam spam", Label::Spam)], 1.0)
            .unwrap_err();
        assert!(
            error.to_string().contains(
                "keeps no feature counts (only multinomial models trained by this version do; \
                 a Bernoulli model does not), so corrections cannot be added to it, online or \
                 by an incremental retrain"
            ),
            "{error}"
        );
    }

    #[test]
    fn one_class_data_is_refused() {
        let params = TrainingParams::default().check().unwrap();
        let only_ham = vec![example("hello", Label::Ham), example("hi", Label::Ham)];
        let error = train(&params, &only_ham, vec![], &mut |_| {}).unwrap_err();
        assert!(error.to_string().contains("both ham and spam"), "{error}");
    }

    #[test]
    fn bad_parameters_are_refused_by_check() {
        let bad_alpha = TrainingParams {
            alpha: 0.0,
            ..TrainingParams::default()
        };
        assert!(matches!(
            bad_alpha.check(),
            Err(ClassifierError::InvalidParameter { name: "alpha", .. })
        ));
        let bad_name = TrainingParams {
            name: "a b".into(),
            ..TrainingParams::default()
        };
        assert!(bad_name.check().is_err());
        for (weight, name) in [
            (0.0, "word_weight"),
            (f64::NAN, "word_weight"),
            (101.0, "word_weight"),
        ] {
            let mut params = TrainingParams::default();
            params.features.word_weight = weight;
            match params.check() {
                Err(ClassifierError::InvalidParameter { name: refused, .. }) => {
                    assert_eq!(refused, name, "{weight}")
                }
                other => panic!("word weight {weight}: {other:?}"),
            }
        }
        // The Bernoulli event model takes the weights as 1, but a weight
        // out of range is still refused, not dropped.
        let mut params = TrainingParams {
            event_model: EventModel::Bernoulli,
            ..TrainingParams::default()
        };
        params.features.word_weight = 0.0;
        assert!(matches!(
            params.check(),
            Err(ClassifierError::InvalidParameter {
                name: "word_weight",
                ..
            })
        ));
        let mut params = TrainingParams::default();
        params.features.signal_weight = -1.0;
        assert!(matches!(
            params.check(),
            Err(ClassifierError::InvalidParameter {
                name: "signal_weight",
                ..
            })
        ));
    }

    #[test]
    fn a_corrupt_model_file_is_a_clear_error() {
        let error = Model::from_json("broken.json", b"{\"format\": 1").unwrap_err();
        assert!(error.to_string().contains("broken.json"), "{error}");
        let error = Model::from_json("empty.json", b"").unwrap_err();
        assert!(error.to_string().contains("empty"), "{error}");
        // Parameters that would make scoring fail are refused on loading.
        let mut file: serde_json::Value =
            serde_json::from_slice(&Model::embedded_default().unwrap().to_json().unwrap()).unwrap();
        file["features"]["char_ngram_min"] = 0.into();
        file["features"]["char_ngram_max"] = 3.into();
        let bytes = serde_json::to_vec(&file).unwrap();
        let error = Model::from_json("zero-grams.json", &bytes).unwrap_err();
        assert!(error.to_string().contains("0-3"), "{error}");
        // Numbers whose sums would overflow into no number, negative
        // counts, a feature listed twice, a smoothing that is not positive.
        /// What a damage is named by in the error, and the damage.
        type Damage = (&'static str, fn(&mut serde_json::Value));
        let damage: [Damage; 6] = [
            ("weights", |file| {
                file["weights"]["weights"][0][0] = 1e308.into()
            }),
            ("weights", |file| {
                file["weights"]["constants"][1] = (-2e4).into()
            }),
            ("calibration", |file| {
                file["calibration"]["slope"] = 1e308.into()
            }),
            ("counts", |file| file["counts"]["rows"][0] = (-1.0).into()),
            ("twice", |file| {
                let first = file["vocabulary"][0].clone();
                file["vocabulary"][1] = first;
            }),
            ("alpha", |file| file["alpha"] = 0.0.into()),
        ];
        // A later format, with a field this build does not know: the format
        // is what the operator hears of.
        let mut later = file.clone();
        later["format"] = 2.into();
        later["new_field"] = true.into();
        let error =
            Model::from_json("later.json", &serde_json::to_vec(&later).unwrap()).unwrap_err();
        assert!(error.to_string().contains("format 2"), "{error}");
        let pristine: serde_json::Value =
            serde_json::from_slice(&Model::embedded_default().unwrap().to_json().unwrap()).unwrap();
        for (named, damage) in damage {
            let mut file = pristine.clone();
            damage(&mut file);
            let bytes = serde_json::to_vec(&file).unwrap();
            let error = Model::from_json("damaged.json", &bytes).unwrap_err();
            assert!(error.to_string().contains(named), "{named}: {error}");
        }
    }

    #[test]
    fn the_folds_arithmetic_gives_linfa_bayes_weights_to_the_bit() {
        // Counts of every kind: zeros, fractions (weighted corrections),
        // large values, and enough features that ndarray's summation takes
        // its unrolled path.
        let vocabulary_size = 1_003;
        let mut counts = FeatureCounts::zeros(vocabulary_size);
        for position in 0..vocabulary_size {
            let value =
                ((position * 7_919) % 101) as f64 * if position % 5 == 0 { 0.5 } else { 3.0 };
            counts.add(position % 2, &[(position, value)], 1.0);
        }
        counts.rows = [412.0, 377.5];
        for alpha in [0.5, 1.0, 0.01] {
            let linfa = multinomial_weights(&counts, alpha).unwrap();
            let direct = multinomial_weights_directly(&counts, alpha);
            assert_eq!(
                direct.constants.map(f64::to_bits),
                linfa.constants.map(f64::to_bits)
            );
            for class in [0, 1] {
                let bits =
                    |weights: &[f64]| weights.iter().map(|w| w.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&direct.weights[class]),
                    bits(&linfa.weights[class]),
                    "alpha {alpha}"
                );
            }
            assert!(!direct.binary_input);
        }
    }
}
