//! A trained model: its file format, the default model built into the
//! binary, and scoring a text into calibrated log-odds with the features that
//! drove it.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::calibration::sigmoid;
use super::scorer::ScorerWeights;
use super::train::EventModel;
use super::{
    extract_features, BinaryMetrics, Calibration, ClassifierError, FeatureParams, SparseScorer,
};

/// The model file format this build reads and writes.
const FORMAT: u32 = 1;

/// The default model from `models/`, built into the binary by build.rs (empty
/// only while bootstrapping a checkout that has no model yet).
static EMBEDDED_DEFAULT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/default_model.json"));

/// What a model was trained on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSummary {
    /// The files (or other sources) the examples came from.
    pub sources: Vec<String>,
    pub examples: u64,
    pub spam: u64,
    pub ham: u64,
}

/// The model file, as stored (JSON).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFile {
    format: u32,
    version: String,
    created_at_ms: i64,
    features: FeatureParams,
    event_model: EventModel,
    alpha: f64,
    vocabulary: Vec<String>,
    weights: ScorerWeights,
    calibration: Calibration,
    summary: TrainingSummary,
    /// Figures of the same training run measured by cross-validation on the
    /// training data; the test-split figures are in the model card.
    cross_validation: Option<BinaryMetrics>,
}

/// A loaded model, ready to score.
#[derive(Debug, Clone)]
pub struct Model {
    file: ModelFile,
    scorer: SparseScorer,
}

/// One feature's share of a score, in calibrated log-odds.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureContribution {
    pub feature: String,
    pub weight: f64,
}

/// The model's view of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelScore {
    /// Calibrated log-odds of spam: `baseline + sum of contributions`.
    pub log_odds: f64,
    /// `sigmoid(log_odds)`.
    pub probability: f64,
    /// What the model says before it reads any word (prior and calibration).
    pub baseline: f64,
    /// Every known feature of the text, largest absolute weight first.
    pub contributions: Vec<FeatureContribution>,
}

impl Model {
    /// Assembles a freshly trained model and gives it a content-derived
    /// version, so that the same data and parameters give the same version.
    pub(super) fn from_parts(
        name: &str,
        features: FeatureParams,
        event_model: EventModel,
        alpha: f64,
        vocabulary: Vec<String>,
        weights: ScorerWeights,
        calibration: Calibration,
        summary: TrainingSummary,
        cross_validation: Option<BinaryMetrics>,
    ) -> Result<Model, ClassifierError> {
        let scorer = SparseScorer::new(&vocabulary, weights.clone())?;
        let mut file = ModelFile {
            format: FORMAT,
            version: String::new(),
            created_at_ms: crate::domain::UnixMillis::now().0,
            features,
            event_model,
            alpha,
            vocabulary,
            weights,
            calibration,
            summary,
            cross_validation,
        };
        let mut hasher = Sha256::new();
        let settings = serde_json::to_vec(&(&file.features, &file.vocabulary, &file.calibration))
            .map_err(|error| ClassifierError::Training(error.to_string()))?;
        hasher.update(&settings);
        scorer.fingerprint(&mut hasher);
        let digest = hex::encode(hasher.finalize());
        file.version = format!("{name}-{}", &digest[..12]);
        Ok(Model { file, scorer })
    }

    /// Parses a model file; `origin` names it in errors.
    pub fn from_json(origin: &str, bytes: &[u8]) -> Result<Model, ClassifierError> {
        let invalid = |message: String| ClassifierError::ModelFormat {
            origin: origin.to_string(),
            message,
        };
        if bytes.is_empty() {
            return Err(invalid("the file is empty".to_string()));
        }
        let file: ModelFile =
            serde_json::from_slice(bytes).map_err(|error| invalid(error.to_string()))?;
        if file.format != FORMAT {
            return Err(invalid(format!(
                "format {} is not supported (this build reads format {FORMAT})",
                file.format
            )));
        }
        let scorer = SparseScorer::new(&file.vocabulary, file.weights.clone())
            .map_err(|error| invalid(error.to_string()))?;
        Ok(Model { file, scorer })
    }

    pub fn load(path: &Path) -> Result<Model, ClassifierError> {
        let bytes = std::fs::read(path).map_err(|source| ClassifierError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Model::from_json(&path.display().to_string(), &bytes)
    }

    /// The default model from `models/default.json`, built into the binary.
    pub fn embedded_default() -> Result<Model, ClassifierError> {
        Model::from_json("models/default.json (built in)", EMBEDDED_DEFAULT)
    }

    /// Writes the model as JSON, through a temporary file and a rename so
    /// that a crash never leaves half a model behind.
    pub fn save(&self, path: &Path) -> Result<(), ClassifierError> {
        let write_error = |source| ClassifierError::Write {
            path: path.to_path_buf(),
            source,
        };
        let json = serde_json::to_vec(&self.file)
            .map_err(|error| write_error(std::io::Error::other(error)))?;
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, json).map_err(write_error)?;
        std::fs::rename(&temporary, path).map_err(write_error)
    }

    pub fn version(&self) -> &str {
        &self.file.version
    }

    pub fn summary(&self) -> &TrainingSummary {
        &self.file.summary
    }

    pub fn cross_validation(&self) -> Option<&BinaryMetrics> {
        self.file.cross_validation.as_ref()
    }

    pub fn vocabulary_size(&self) -> usize {
        self.file.vocabulary.len()
    }

    pub fn calibration(&self) -> Calibration {
        self.file.calibration
    }

    /// The raw (uncalibrated) naive-Bayes log-odds of spam for a text.
    pub fn raw_log_odds(&self, text: &str) -> f64 {
        let features = extract_features(&self.file.features, text);
        let [ham, spam] = self.scorer.joint_log_likelihood(&features);
        spam - ham
    }

    /// Scores a text.
    pub fn score(&self, text: &str) -> ModelScore {
        let features = extract_features(&self.file.features, text);
        let slope = self.file.calibration.slope;
        let baseline = self.file.calibration.log_odds(self.scorer.prior_log_odds());
        let mut contributions: Vec<FeatureContribution> = self
            .scorer
            .resolve(&features)
            .into_iter()
            .map(|(position, value)| FeatureContribution {
                feature: self.file.vocabulary[position].clone(),
                weight: slope * value * self.scorer.feature_log_odds(position),
            })
            .collect();
        contributions.sort_by(|a, b| b.weight.abs().total_cmp(&a.weight.abs()));
        let log_odds = baseline + contributions.iter().map(|c| c.weight).sum::<f64>();
        ModelScore {
            log_odds,
            probability: sigmoid(log_odds),
            baseline,
            contributions,
        }
    }
}
