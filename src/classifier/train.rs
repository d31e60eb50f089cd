//! Training: features, vocabulary, linfa-bayes `MultinomialNb`, and Platt
//! calibration fitted on cross-validated (held-out) scores.

use std::collections::{BTreeSet, HashMap};

use linfa::prelude::*;
use linfa_bayes::{MultinomialNb, MultinomialNbValidParams};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use super::calibration::sigmoid;
use super::model::TrainingSummary;
use super::quiet::without_stderr;
use super::{
    extract_features, BinaryMetrics, Calibration, ClassifierError, FeatureParams, LabelledExample,
    Model, SparseScorer,
};

/// Rows given to linfa-bayes per `fit_with` call. linfa-bayes wants dense
/// rows; fitting in chunks keeps memory at `CHUNK_ROWS x vocabulary` floats
/// however large the corpus is.
const CHUNK_ROWS: usize = 256;

/// Everything that shapes a trained model. Check it with [`TrainingParams::check`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingParams {
    /// The name a model's version starts with.
    pub name: String,
    pub features: FeatureParams,
    /// Additive (Laplace/Lidstone) smoothing of feature counts.
    pub alpha: f64,
    /// Features seen in fewer training texts than this are left out of the
    /// vocabulary: one-off words only teach the model the training set.
    pub min_document_frequency: usize,
    /// Folds of the cross-validation that fits the calibration.
    pub folds: usize,
}

impl Default for TrainingParams {
    fn default() -> Self {
        TrainingParams {
            name: "model".to_string(),
            features: FeatureParams::default(),
            alpha: 1.0,
            min_document_frequency: 2,
            folds: 5,
        }
    }
}

/// Training parameters that passed [`TrainingParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidTrainingParams(TrainingParams);

impl TrainingParams {
    pub fn check(self) -> Result<ValidTrainingParams, ClassifierError> {
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
        Ok(ValidTrainingParams(self))
    }
}

impl ValidTrainingParams {
    pub fn params(&self) -> &TrainingParams {
        &self.0
    }
}

/// A corpus with its features extracted once.
struct Featurised {
    rows: Vec<Vec<(String, f64)>>,
    labels: Vec<usize>,
}

/// Trains a model on `examples`. `progress` hears one line per stage.
pub fn train(
    params: &ValidTrainingParams,
    examples: &[LabelledExample],
    sources: Vec<String>,
    progress: &mut dyn FnMut(&str),
) -> Result<Model, ClassifierError> {
    let params = params.params();
    let spam = examples.iter().filter(|e| e.label.is_spam()).count();
    let ham = examples.len() - spam;
    if spam == 0 || ham == 0 {
        return Err(ClassifierError::Training(format!(
            "the data needs both ham and spam examples (has {ham} ham, {spam} spam)"
        )));
    }
    let data = Featurised {
        rows: examples
            .iter()
            .map(|example| extract_features(&params.features, &example.text))
            .collect(),
        labels: examples.iter().map(|e| e.label.class_index()).collect(),
    };
    progress(&format!(
        "{} examples ({ham} ham, {spam} spam)",
        examples.len()
    ));

    // Held-out raw log-odds for every example, each from a model that did
    // not see it: the calibration is fitted on these.
    let folds = params.folds.min(examples.len());
    let mut held_out = vec![0.0; examples.len()];
    for fold in 0..folds {
        let (train_rows, test_rows): (Vec<usize>, Vec<usize>) =
            (0..examples.len()).partition(|index| index % folds != fold);
        let (vocabulary, naive_bayes) = fit(params, &data, &train_rows)?;
        let scorer = SparseScorer::compile(&vocabulary, &naive_bayes)?;
        for index in test_rows {
            let [ham_likelihood, spam_likelihood] = scorer.joint_log_likelihood(&data.rows[index]);
            held_out[index] = spam_likelihood - ham_likelihood;
        }
        progress(&format!(
            "cross-validation fold {} of {folds} done",
            fold + 1
        ));
    }
    let is_spam: Vec<bool> = data.labels.iter().map(|label| *label == 1).collect();
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

    let all_rows: Vec<usize> = (0..examples.len()).collect();
    let (vocabulary, naive_bayes) = fit(params, &data, &all_rows)?;
    progress(&format!("final model: {} features", vocabulary.len()));
    Model::from_parts(
        &params.name,
        params.features.clone(),
        params.alpha,
        vocabulary,
        naive_bayes,
        calibration,
        TrainingSummary {
            sources,
            examples: examples.len() as u64,
            spam: spam as u64,
            ham: ham as u64,
        },
        Some(cross_validation),
    )
}

/// Builds the vocabulary of the selected rows and fits linfa-bayes on them.
fn fit(
    params: &TrainingParams,
    data: &Featurised,
    selected: &[usize],
) -> Result<(Vec<String>, MultinomialNb<f64, usize>), ClassifierError> {
    let mut document_frequency: HashMap<&str, usize> = HashMap::new();
    for index in selected {
        for (feature, _) in &data.rows[*index] {
            *document_frequency.entry(feature.as_str()).or_default() += 1;
        }
    }
    // Sorted, so that the same data always gives the same model file.
    let vocabulary: Vec<String> = document_frequency
        .into_iter()
        .filter(|(_, frequency)| *frequency >= params.min_document_frequency)
        .map(|(feature, _)| feature.to_string())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let position: HashMap<&str, usize> = vocabulary
        .iter()
        .enumerate()
        .map(|(index, feature)| (feature.as_str(), index))
        .collect();

    let fit_params: MultinomialNbValidParams<f64, usize> = MultinomialNb::params()
        .alpha(params.alpha)
        .check()
        .map_err(|error| ClassifierError::Training(error.to_string()))?;
    let mut model: Option<MultinomialNb<f64, usize>> = None;
    for chunk in selected.chunks(CHUNK_ROWS) {
        let mut records = Array2::<f64>::zeros((chunk.len(), vocabulary.len()));
        for (row, index) in chunk.iter().enumerate() {
            for (feature, value) in &data.rows[*index] {
                if let Some(column) = position.get(feature.as_str()) {
                    records[[row, *column]] += value;
                }
            }
        }
        let targets: Array1<usize> = chunk.iter().map(|index| data.labels[*index]).collect();
        let dataset = DatasetBase::new(records, targets);
        let fitted = without_stderr(|| fit_params.fit_with(model.take(), &dataset))
            .map_err(|error| ClassifierError::Training(error.to_string()))?;
        model = Some(fitted);
    }
    let model = model.ok_or_else(|| ClassifierError::Training("no examples".to_string()))?;
    Ok((vocabulary, model))
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
    }

    #[test]
    fn a_corrupt_model_file_is_a_clear_error() {
        let error = Model::from_json("broken.json", b"{\"format\": 1").unwrap_err();
        assert!(error.to_string().contains("broken.json"), "{error}");
        let error = Model::from_json("empty.json", b"").unwrap_err();
        assert!(error.to_string().contains("empty"), "{error}");
    }
}
