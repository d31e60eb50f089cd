//! A trained model: its file format, the default model built into the
//! binary, and scoring a text into calibrated log-odds with the features that
//! drove it.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::calibration::sigmoid;
use super::features::resolve_positions;
use super::scorer::ScorerWeights;
use super::train::{multinomial_weights_directly, EventModel};
use super::{
    extract_features_on_site, BinaryMetrics, Calibration, ClassifierError, FeatureParams,
    LabelledExample, SiteHosts, SparseScorer,
};
use crate::domain::Label;

/// How a model's training summary names the corrections it learned.
const CORRECTIONS_SOURCE: &str = "corrections";

/// The model file format this build reads and writes.
const FORMAT: u32 = 1;

/// New words and link domains one example learned online may add to the
/// vocabulary, at most: a comment of thousands of made-up words (which any
/// site key can report) must not grow by thousands of features the one
/// model every site is scored by, nor the work of every later correction,
/// which copies the model. An ordinary comment brings far fewer.
pub const MAX_NEW_WORDS_PER_EXAMPLE: usize = 64;

/// Other new features (word pairs, word beginnings, number shapes, link
/// paths) one example learned online may add, at most: four for each new
/// word, since a new word also makes new pairs with its two neighbours and
/// may have a beginning no known word has, which leaves room for the
/// comment's link paths and number shapes.
pub const MAX_NEW_OTHER_FEATURES_PER_EXAMPLE: usize = 256;

/// The vocabulary size at which online learning stops adding features (it
/// still learns the features the model knows): about 20 MB of names,
/// counts and weights. A retrain builds the vocabulary again from what it
/// trains on.
pub const MAX_ONLINE_VOCABULARY: usize = 200_000;

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

/// Summed feature counts per class and the number of rows behind them: all
/// a multinomial model depends on, kept so that corrections can be added
/// later (online learning). Rows and counts are `f64` because a correction
/// may count with a weight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeatureCounts {
    /// `rows[class]`: the (weighted) number of examples of the class.
    pub rows: [f64; 2],
    /// `features[class][position]`: the summed values of a vocabulary
    /// feature over the class's examples.
    pub features: [Vec<f64>; 2],
}

impl FeatureCounts {
    pub fn zeros(vocabulary_size: usize) -> FeatureCounts {
        FeatureCounts {
            rows: [0.0; 2],
            features: [vec![0.0; vocabulary_size], vec![0.0; vocabulary_size]],
        }
    }

    /// Adds one example of `class` with the given feature positions.
    pub fn add(&mut self, class: usize, positions: &[(usize, f64)], weight: f64) {
        self.rows[class] += weight;
        for (position, value) in positions {
            self.features[class][*position] += value * weight;
        }
    }

    /// Makes room for features appended to the vocabulary.
    fn grow(&mut self, vocabulary_size: usize) {
        for class in [0, 1] {
            self.features[class].resize(vocabulary_size, 0.0);
        }
    }
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
    /// The counts behind `weights` (multinomial models only; files written
    /// before online learning have none and cannot learn online).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    counts: Option<FeatureCounts>,
    /// Examples learned online since the model was trained: the `+N` of
    /// its version.
    #[serde(default, skip_serializing_if = "is_zero")]
    learned_online: u64,
    calibration: Calibration,
    summary: TrainingSummary,
    /// Figures of the same training run measured by cross-validation on the
    /// training data; the test-split figures are in the model card.
    cross_validation: Option<BinaryMetrics>,
}

/// The largest size any number of a model file may have. Real weights are
/// logarithms of probabilities (tens at most) and calibrations are near 1;
/// a file with larger numbers is damaged or made by hand, and its sums
/// could overflow to infinities whose difference is not a number.
const MAX_MODEL_NUMBER: f64 = 1e4;

impl ModelFile {
    /// What makes the file unusable, if anything: numbers that are not
    /// finite or beyond [`MAX_MODEL_NUMBER`], negative counts, a smoothing
    /// that is not positive, a feature listed twice.
    fn problem(&self) -> Option<String> {
        let bounded = |value: &f64| value.is_finite() && value.abs() <= MAX_MODEL_NUMBER;
        if !(self.alpha > 0.0 && self.alpha.is_finite()) {
            return Some(format!(
                "its alpha is {}, not a positive number",
                self.alpha
            ));
        }
        let features = &self.features;
        if self.event_model == EventModel::Bernoulli
            && (features.word_weight != 1.0 || features.signal_weight != 1.0)
        {
            return Some(
                "the Bernoulli event model reads features as present or absent, \
                 so its word and signal weights must be 1"
                    .to_string(),
            );
        }
        let weights = &self.weights;
        if !weights
            .constants
            .iter()
            .chain(weights.weights.iter().flatten())
            .all(bounded)
        {
            return Some(format!(
                "its weights must be finite numbers of at most {MAX_MODEL_NUMBER} in size"
            ));
        }
        let calibration = &self.calibration;
        if !bounded(&calibration.slope) || !bounded(&calibration.intercept) {
            return Some(format!(
                "its calibration must be finite numbers of at most {MAX_MODEL_NUMBER} in size \
                 (slope {}, intercept {})",
                calibration.slope, calibration.intercept
            ));
        }
        if let Some(counts) = &self.counts {
            let counted = counts.rows.iter().chain(counts.features.iter().flatten());
            if !counted
                .into_iter()
                .all(|count| count.is_finite() && *count >= 0.0)
            {
                return Some("its feature counts must be finite and not negative".to_string());
            }
        }
        let mut seen = std::collections::HashSet::with_capacity(self.vocabulary.len());
        if let Some(twice) = self
            .vocabulary
            .iter()
            .find(|name| !seen.insert(name.as_str()))
        {
            return Some(format!("its vocabulary lists {twice:?} twice"));
        }
        None
    }
}

/// A version derived from a model's content, so that the same data and
/// parameters give the same version: `<name>-<12 hex digits>`.
fn content_version(
    name: &str,
    file: &ModelFile,
    scorer: &SparseScorer,
) -> Result<String, ClassifierError> {
    let mut hasher = Sha256::new();
    let settings = serde_json::to_vec(&(&file.features, &file.vocabulary, &file.calibration))
        .map_err(|error| ClassifierError::Training(error.to_string()))?;
    hasher.update(&settings);
    scorer.fingerprint(&mut hasher);
    let digest = hex::encode(hasher.finalize());
    Ok(format!("{name}-{}", &digest[..12]))
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// A loaded model, ready to score.
#[derive(Debug, Clone)]
pub struct Model {
    file: ModelFile,
    scorer: SparseScorer,
}

/// One feature's share of a score, in calibrated log-odds.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureContribution<'model> {
    /// The feature's name, borrowed from the model's vocabulary.
    pub feature: &'model str,
    pub weight: f64,
}

/// The model's view of one text.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelScore<'model> {
    /// Calibrated log-odds of spam: `baseline + sum of contributions`.
    pub log_odds: f64,
    /// `sigmoid(log_odds)`.
    pub probability: f64,
    /// What the model says before it reads any word (prior and calibration).
    pub baseline: f64,
    /// Every known feature of the text once, in vocabulary order (the
    /// unknown-word feature, if the model has it, last). Ranking them all
    /// would cost a fifth of a score; [`ModelScore::strongest`] ranks the
    /// few a caller shows.
    pub contributions: Vec<FeatureContribution<'model>>,
}

impl<'model> ModelScore<'model> {
    /// The `count` contributions of largest absolute weight, largest
    /// first. Ties (features the training saw equally often) are ranked by
    /// name, so that the reasons do not depend on where online learning
    /// appended a feature to the vocabulary.
    pub fn strongest(&self, count: usize) -> Vec<&FeatureContribution<'model>> {
        let by_strength = |a: &&FeatureContribution, b: &&FeatureContribution| {
            b.weight
                .abs()
                .total_cmp(&a.weight.abs())
                .then_with(|| a.feature.cmp(b.feature))
        };
        let mut ranked: Vec<&FeatureContribution<'model>> = self.contributions.iter().collect();
        if count < ranked.len() {
            // Only the first `count` need an order: partition around the
            // `count`-th strongest, then sort the few before it.
            ranked.select_nth_unstable_by(count, by_strength);
            ranked.truncate(count);
        }
        ranked.sort_by(by_strength);
        ranked
    }

    /// These contributions as a moderator reads them. A word beginning
    /// (`r:pleas`) of a word the text has and the model knows (`w:please`)
    /// is the same evidence counted twice, so its weight joins the word's
    /// (the strongest such word's, if several). A beginning no known word
    /// of the text has (it came from words the model does not know) stays a
    /// feature of its own, and so does a known word no longer than a
    /// beginning ("favor" has none; "favorites" has "favor"). The log-odds
    /// are unchanged.
    pub fn readable(&self) -> ModelScore<'model> {
        // (beginning, its contribution, the strongest known word that has
        // it), sorted by beginning: found by binary search, one pass over
        // the words, no hashing (this runs for every verdict).
        let mut beginnings: Vec<(&str, usize, Option<usize>)> = self
            .contributions
            .iter()
            .enumerate()
            .filter_map(|(index, contribution)| {
                Some((contribution.feature.strip_prefix("r:")?, index, None))
            })
            .collect();
        // Every beginning has the model's number of characters.
        let Some(length) = beginnings
            .first()
            .map(|(beginning, _, _)| beginning.chars().count())
        else {
            return self.clone();
        };
        beginnings.sort_unstable_by_key(|(beginning, _, _)| *beginning);
        let mut contributions = self.contributions.clone();
        for (index, contribution) in contributions.iter().enumerate() {
            let Some(word) = contribution.feature.strip_prefix("w:") else {
                continue;
            };
            let Some((end, _)) = word.char_indices().nth(length) else {
                continue;
            };
            let Ok(found) =
                beginnings.binary_search_by_key(&&word[..end], |(beginning, _, _)| *beginning)
            else {
                continue;
            };
            let stronger = match beginnings[found].2 {
                None => true,
                Some(best) => {
                    let best = &contributions[best];
                    contribution
                        .weight
                        .abs()
                        .total_cmp(&best.weight.abs())
                        .then_with(|| best.feature.cmp(contribution.feature))
                        .is_gt()
                }
            };
            if stronger {
                beginnings[found].2 = Some(index);
            }
        }
        // A word has one beginning, so each word takes at most one weight.
        let mut merged = vec![false; contributions.len()];
        for (_, beginning, word) in &beginnings {
            if let Some(word) = word {
                contributions[*word].weight += contributions[*beginning].weight;
                merged[*beginning] = true;
            }
        }
        let mut kept = merged.into_iter();
        contributions.retain(|_| !kept.next().unwrap_or(false));
        ModelScore {
            log_odds: self.log_odds,
            probability: self.probability,
            baseline: self.baseline,
            contributions,
        }
    }
}

impl Model {
    /// Assembles a freshly trained model and gives it a content-derived
    /// version, so that the same data and parameters give the same version.
    // One argument per part of the model file; a struct would repeat them.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn from_parts(
        name: &str,
        features: FeatureParams,
        event_model: EventModel,
        alpha: f64,
        vocabulary: Vec<String>,
        weights: ScorerWeights,
        counts: Option<FeatureCounts>,
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
            counts,
            learned_online: 0,
            calibration,
            summary,
            cross_validation,
        };
        // Never write a file that would not load.
        if let Some(problem) = file.problem() {
            return Err(ClassifierError::Training(format!(
                "the training produced a model that cannot be used: {problem}"
            )));
        }
        file.version = content_version(name, &file, &scorer)?;
        Ok(Model { file, scorer })
    }

    /// A new model: this one with `examples` added to its counts, each
    /// weighing `weight` training examples. Features the vocabulary lacks
    /// are added to it (at most [`MAX_NEW_WORDS_PER_EXAMPLE`] words and
    /// link domains and [`MAX_NEW_OTHER_FEATURES_PER_EXAMPLE`] other
    /// features an example, while the vocabulary holds fewer than
    /// [`MAX_ONLINE_VOCABULARY`]), so a correction teaches new words at
    /// once. The calibration stays; the version becomes `<trained
    /// version>+<examples learned online so far>`.
    pub fn learn(
        &self,
        examples: &[LabelledExample],
        weight: f64,
    ) -> Result<Model, ClassifierError> {
        self.learn_within(
            examples,
            weight,
            [
                MAX_NEW_WORDS_PER_EXAMPLE,
                MAX_NEW_OTHER_FEATURES_PER_EXAMPLE,
            ],
            MAX_ONLINE_VOCABULARY,
        )
    }

    /// [`Model::learn`] with the bounds on the vocabulary's growth given:
    /// new words and link domains, and other new features, an example.
    pub(super) fn learn_within(
        &self,
        examples: &[LabelledExample],
        weight: f64,
        new_per_example: [usize; 2],
        vocabulary_cap: usize,
    ) -> Result<Model, ClassifierError> {
        let Some(counts) = &self.file.counts else {
            return Err(ClassifierError::Training(format!(
                "model {} keeps no feature counts (only multinomial models trained by this \
                 version do; a Bernoulli model does not), so corrections cannot be added to it, \
                 online or by an incremental retrain: a full retrain (with learning.base_data) \
                 trains on them",
                self.file.version
            )));
        };
        if !(weight > 0.0 && weight.is_finite()) {
            return Err(ClassifierError::InvalidParameter {
                name: "correction_weight",
                message: "must be a positive number".to_string(),
            });
        }
        let mut file = self.file.clone();
        let mut counts = counts.clone();
        let mut index = self.scorer.index().clone();
        for example in examples {
            let features = extract_features_on_site(&file.features, &example.text, &example.site);
            // New words and link domains, then the rest, each group in
            // name order and within its budget, while the vocabulary has
            // room.
            for (group, budget) in new_per_example.into_iter().enumerate() {
                let mut budget = budget;
                for (feature, _) in &features {
                    let is_word = feature.starts_with("w:") || feature.starts_with("d:");
                    if budget == 0 || file.vocabulary.len() >= vocabulary_cap {
                        break;
                    }
                    if usize::from(!is_word) != group || index.contains_key(feature.as_str()) {
                        continue;
                    }
                    budget -= 1;
                    index.insert(feature.clone(), file.vocabulary.len());
                    file.vocabulary.push(feature.clone());
                }
            }
            counts.grow(file.vocabulary.len());
            counts.add(
                example.label.class_index(),
                &resolve_positions(&features, &index),
                weight,
            );
            match example.label {
                Label::Ham => file.summary.ham += 1,
                Label::Spam => file.summary.spam += 1,
            }
            file.summary.examples += 1;
        }
        // The same bits as linfa-bayes' fit, without its debugging dump
        // (see `multinomial_weights_directly`).
        file.weights = multinomial_weights_directly(&counts, file.alpha);
        file.counts = Some(counts);
        file.learned_online += examples.len() as u64;
        file.version = format!("{}+{}", self.trained_version(), file.learned_online);
        if !file
            .summary
            .sources
            .iter()
            .any(|source| source == CORRECTIONS_SOURCE)
        {
            file.summary.sources.push(CORRECTIONS_SOURCE.to_string());
        }
        let scorer = SparseScorer::with_index(index, file.weights.clone())?;
        Ok(Model { file, scorer })
    }

    /// This model as a version of its own, named `<name>-<hash>` like a
    /// freshly trained one: what an incremental retrain registers.
    pub fn as_new_version(&self, name: &str) -> Result<Model, ClassifierError> {
        let mut file = self.file.clone();
        file.learned_online = 0;
        file.created_at_ms = crate::domain::UnixMillis::now().0;
        file.version = content_version(name, &file, &self.scorer)?;
        Ok(Model {
            file,
            scorer: self.scorer.clone(),
        })
    }

    /// The hash of the model's numbers in a version `<name>-<hash>[+N]`
    /// (what `content_version` writes): two versions with the same hash are
    /// the same model under other names. `None` for a version not written
    /// so (a hand-named file).
    pub fn content_hash_of(version: &str) -> Option<&str> {
        let (_, hash) = Model::trained_version_of(version).rsplit_once('-')?;
        (hash.len() == 12 && hash.bytes().all(|byte| byte.is_ascii_hexdigit())).then_some(hash)
    }

    /// The version the model had when it was trained, before anything was
    /// learned online.
    pub fn trained_version(&self) -> &str {
        Model::trained_version_of(&self.file.version)
    }

    /// The version a model served as `version` had when it was trained:
    /// `version` without what online learning added (`+N`), which is the
    /// name the registry knows it by.
    pub fn trained_version_of(version: &str) -> &str {
        version
            .split_once('+')
            .map_or(version, |(trained, _)| trained)
    }

    /// Examples learned online since training.
    pub fn learned_online(&self) -> u64 {
        self.file.learned_online
    }

    /// Whether [`Model::learn`] can add to this model.
    pub fn can_learn_online(&self) -> bool {
        self.file.counts.is_some()
    }

    pub fn created_at(&self) -> crate::domain::UnixMillis {
        crate::domain::UnixMillis(self.file.created_at_ms)
    }

    /// The model file's bytes (what [`Model::save`] writes).
    pub fn to_json(&self) -> Result<Vec<u8>, ClassifierError> {
        serde_json::to_vec(&self.file)
            .map_err(|error| ClassifierError::Training(format!("cannot encode the model: {error}")))
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
        // The format first: a file of another format may have fields this
        // build does not know, and the operator should hear of the format.
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        if let Ok(Format { format }) = serde_json::from_slice::<Format>(bytes) {
            if format != FORMAT {
                return Err(invalid(format!(
                    "format {format} is not supported (this build reads format {FORMAT})"
                )));
            }
        }
        let mut file: ModelFile =
            serde_json::from_slice(bytes).map_err(|error| invalid(error.to_string()))?;
        // Earlier builds let `--char-ngrams 3-0` through, meaning no
        // n-grams, and wrote it into the model: such a file keeps loading
        // (and training like it keeps working) with the range read as off.
        if file.features.char_ngram_max == 0 {
            file.features.char_ngram_min = 0;
        }
        if let Some(problem) = file.features.problem().or_else(|| file.problem()) {
            return Err(invalid(problem));
        }
        let scorer = SparseScorer::new(&file.vocabulary, file.weights.clone()).map_err(
            |error| match error {
                // Named once, as this file: the scorer's own error would
                // say "model file model weights is not a valid model".
                ClassifierError::ModelFormat { message, .. } => invalid(message),
                other => invalid(other.to_string()),
            },
        )?;
        if let Some(counts) = &file.counts {
            if counts
                .features
                .iter()
                .any(|class| class.len() != file.vocabulary.len())
            {
                return Err(invalid(
                    "its feature counts do not match its vocabulary".to_string(),
                ));
            }
        }
        Ok(Model { file, scorer })
    }

    pub fn load(path: &Path) -> Result<Model, ClassifierError> {
        let bytes = std::fs::read(path).map_err(|source| ClassifierError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let origin = path.display().to_string();
        let model = Model::from_json(&origin, &bytes)?;
        // The version names the model in decisions and in the registry,
        // where `ActivateModel` takes 1 to 128 bytes: a file whose version
        // is outside that could be served but never activated again.
        // (Models trained in memory, in cross-validation, have none.)
        let version = model.version();
        if version.trim().is_empty()
            || version.len() > crate::limits::MAX_MODEL_VERSION_BYTES
            || version.chars().any(char::is_control)
        {
            return Err(ClassifierError::ModelFormat {
                origin,
                message: format!(
                    "its version {version:?} must be 1 to {} bytes of text without control \
                     characters",
                    crate::limits::MAX_MODEL_VERSION_BYTES
                ),
            });
        }
        Ok(model)
    }

    /// The default model from `models/default.json`, built into the binary.
    pub fn embedded_default() -> Result<Model, ClassifierError> {
        Model::from_json("models/default.json (built in)", EMBEDDED_DEFAULT)
    }

    /// Writes the model as JSON into a temporary file of its own beside
    /// `path`, synced to disk, then renamed over `path`: a crash leaves the
    /// old file or the whole new one, never half a model; two runs writing
    /// into one directory never share a temporary file; and a failed write
    /// leaves no temporary file behind.
    pub fn save(&self, path: &Path) -> Result<(), ClassifierError> {
        use std::io::Write;
        let write_error = |source| ClassifierError::Write {
            path: path.to_path_buf(),
            source,
        };
        let json = self
            .to_json()
            .map_err(|error| write_error(std::io::Error::other(error)))?;
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        let mut builder = tempfile::Builder::new();
        builder.prefix(".moderato-model-").suffix(".tmp");
        // A temporary file is made owner-only; a model file is read by the
        // service, which may run as another user than the one training.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o644));
        }
        let mut temporary = builder.tempfile_in(directory).map_err(write_error)?;
        temporary.write_all(&json).map_err(write_error)?;
        temporary.as_file().sync_all().map_err(write_error)?;
        temporary
            .persist(path)
            .map_err(|error| write_error(error.error))?;
        // The rename is on disk once the directory is synced. Best effort:
        // not every platform opens a directory as a file.
        if let Ok(directory) = std::fs::File::open(directory) {
            let _ = directory.sync_all();
        }
        Ok(())
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
        self.raw_log_odds_on_site(text, &SiteHosts::default())
    }

    /// [`Model::raw_log_odds`] of a text posted on the site of `site`.
    pub fn raw_log_odds_on_site(&self, text: &str, site: &SiteHosts) -> f64 {
        let resolved = self.scorer.resolve_text(
            &self.file.features,
            text,
            &crate::text::normalize(text),
            site,
        );
        let [ham, spam] = self.scorer.joint_log_likelihood_of(&resolved);
        spam - ham
    }

    /// The calibrated probability of spam of a text (what [`Model::score`]
    /// gives, without the contributions).
    pub fn probability(&self, text: &str) -> f64 {
        self.probability_on_site(text, &SiteHosts::default())
    }

    /// [`Model::probability`] of a text posted on the site of `site`.
    pub fn probability_on_site(&self, text: &str, site: &SiteHosts) -> f64 {
        sigmoid(
            self.file
                .calibration
                .log_odds(self.raw_log_odds_on_site(text, site)),
        )
    }

    /// The parameters this model was trained with, to train another like
    /// it. Minimum document frequency and folds are not stored in a model
    /// file, so they take their defaults.
    pub fn training_params(&self) -> super::TrainingParams {
        super::TrainingParams {
            name: self
                .trained_version()
                .split('-')
                .next()
                .unwrap_or("model")
                .to_string(),
            features: self.file.features.clone(),
            event_model: self.file.event_model,
            alpha: self.file.alpha,
            ..super::TrainingParams::default()
        }
    }

    /// Scores a text posted on an unknown site (every link goes to
    /// another site).
    pub fn score(&self, text: &str) -> ModelScore<'_> {
        self.score_on_site(text, &SiteHosts::default())
    }

    /// Scores a text posted on the site of `site`.
    pub fn score_on_site(&self, text: &str, site: &SiteHosts) -> ModelScore<'_> {
        self.score_normalized(text, &crate::text::normalize(text), site)
    }

    /// [`Model::score_on_site`] for a text whose normalised form is at hand
    /// (`normalized` is `text::normalize(text)`).
    pub fn score_normalized(
        &self,
        text: &str,
        normalized: &str,
        site: &SiteHosts,
    ) -> ModelScore<'_> {
        let slope = self.file.calibration.slope;
        let baseline = self.file.calibration.log_odds(self.scorer.prior_log_odds());
        let contribution = |position: usize, value: f64| FeatureContribution {
            feature: &self.file.vocabulary[position],
            weight: slope * value * self.scorer.feature_log_odds(position),
        };
        let features = &self.file.features;
        let contributions: Vec<FeatureContribution> = match self
            .scorer
            .binary_occurrences(features, text, normalized, site)
        {
            // A feature counts once however often it occurs.
            Some(mut occurrences) => {
                occurrences.sort_unstable_by_key(|(position, _)| *position);
                occurrences.dedup_by_key(|(position, _)| *position);
                occurrences
                    .into_iter()
                    .map(|(position, value)| contribution(position, value))
                    .collect()
            }
            // Counted in vocabulary order already.
            None => self
                .scorer
                .resolve_text(features, text, normalized, site)
                .into_iter()
                .map(|(position, value)| contribution(position, value))
                .collect(),
        };
        let log_odds = baseline + contributions.iter().map(|c| c.weight).sum::<f64>();
        ModelScore {
            log_odds,
            probability: sigmoid(log_odds),
            baseline,
            contributions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in model as a file that lacks the feature setting `name`,
    /// as files written before the setting existed do.
    fn default_model_without_setting(name: &str) -> Model {
        let mut file: serde_json::Value = serde_json::from_slice(EMBEDDED_DEFAULT).unwrap();
        file["features"]
            .as_object_mut()
            .unwrap()
            .remove(name)
            .unwrap();
        let bytes = serde_json::to_vec(&file).unwrap();
        Model::from_json("test", &bytes).unwrap()
    }

    /// A file whose weights do not match its vocabulary is named once.
    #[test]
    fn weights_that_do_not_match_the_vocabulary_name_the_file_once() {
        let mut file: serde_json::Value = serde_json::from_slice(EMBEDDED_DEFAULT).unwrap();
        file["vocabulary"].as_array_mut().unwrap().pop();
        let bytes = serde_json::to_vec(&file).unwrap();
        let message = Model::from_json("short.json", &bytes)
            .err()
            .unwrap()
            .to_string();
        assert!(
            message.starts_with("model file short.json is not a valid model: class 0 has"),
            "{message}"
        );
        assert_eq!(
            message.matches("is not a valid model").count(),
            1,
            "{message}"
        );
    }

    /// A model file written before the "link to another site" signal
    /// existed loads without it, and so scores as it did.
    #[test]
    fn a_model_file_from_before_the_other_site_signal_scores_without_it() {
        let old = default_model_without_setting("other_site_links");
        assert!(!old.file.features.other_site_links);
        let text = "great pills at https://pills.example/buy";
        let score = old.score(text);
        assert!(score
            .contributions
            .iter()
            .all(|contribution| contribution.feature != "s:other_site_link"));
        let current = Model::embedded_default().unwrap();
        assert!(current.file.features.other_site_links);
        assert!(current
            .score(text)
            .contributions
            .iter()
            .any(|contribution| contribution.feature == "s:other_site_link"));
    }

    /// `strongest` gives what ranking every contribution would give, cut
    /// to its count: largest absolute weight first, ties by name.
    #[test]
    fn the_strongest_contributions_are_the_first_of_the_full_ranking() {
        let contribution = |feature, weight| FeatureContribution { feature, weight };
        let score = ModelScore {
            log_odds: 0.0,
            probability: 0.5,
            baseline: 0.0,
            contributions: vec![
                contribution("w:b", 1.0),
                contribution("w:d", -3.0),
                contribution("w:a", -1.0),
                contribution("w:c", 2.0),
                contribution("w:e", 0.5),
            ],
        };
        fn names<'a>(ranked: Vec<&FeatureContribution<'a>>) -> Vec<&'a str> {
            ranked
                .into_iter()
                .map(|contribution| contribution.feature)
                .collect()
        }
        assert_eq!(
            names(score.strongest(usize::MAX)),
            vec!["w:d", "w:c", "w:a", "w:b", "w:e"]
        );
        for count in 0..=6 {
            let full = names(score.strongest(usize::MAX));
            assert_eq!(
                names(score.strongest(count)),
                full[..count.min(full.len())].to_vec(),
                "{count}"
            );
        }
        let model = Model::embedded_default().unwrap();
        let text = "Check out my channel!!! please subscribe http://youtube.com/x great song";
        let score = model.score(text);
        let mut sorted: Vec<&FeatureContribution> = score.contributions.iter().collect();
        sorted.sort_by(|a, b| {
            b.weight
                .abs()
                .total_cmp(&a.weight.abs())
                .then_with(|| a.feature.cmp(b.feature))
        });
        assert!(sorted.len() > 3);
        assert_eq!(score.strongest(3), sorted[..3].to_vec());
    }

    /// A beginning of a word the text has and the model knows joins that
    /// word's weight; one of words the model does not know stays apart;
    /// the sum is the score's either way.
    #[test]
    fn a_word_beginning_joins_its_known_word_for_readers() {
        let model = Model::embedded_default().unwrap();
        let vocabulary: std::collections::HashSet<&str> =
            model.file.vocabulary.iter().map(String::as_str).collect();
        assert!(vocabulary.contains("w:please") && vocabulary.contains("r:pleas"));
        assert!(vocabulary.contains("r:subsc") && !vocabulary.contains("w:subscribezz"));
        let score = model.score("please subscribezz to my channel");
        let weight = |score: &ModelScore, feature: &str| {
            score
                .contributions
                .iter()
                .find(|contribution| contribution.feature == feature)
                .map(|contribution| contribution.weight)
        };
        let readable = score.readable();
        assert_eq!(weight(&readable, "r:pleas"), None);
        let joined = weight(&score, "w:please").unwrap() + weight(&score, "r:pleas").unwrap();
        assert!((weight(&readable, "w:please").unwrap() - joined).abs() < 1e-12);
        assert_eq!(weight(&readable, "r:subsc"), weight(&score, "r:subsc"));
        assert!(weight(&readable, "r:subsc").is_some());
        // "channel" is known too, so only the unknown word's beginning stays.
        // A known word no longer than a beginning has none of its own: the
        // beginning of a longer unknown word stays apart from it.
        let favor = model
            .score("do me a favor and listen to my favoritezz")
            .readable();
        assert!(favor
            .contributions
            .iter()
            .any(|contribution| contribution.feature == "r:favor"));
        let beginnings: Vec<&str> = readable
            .contributions
            .iter()
            .map(|contribution| contribution.feature)
            .filter(|feature| feature.starts_with("r:"))
            .collect();
        assert_eq!(beginnings, vec!["r:subsc"]);
        assert_eq!(readable.log_odds, score.log_odds);
        let sum = readable.baseline
            + readable
                .contributions
                .iter()
                .map(|contribution| contribution.weight)
                .sum::<f64>();
        assert!((sum - readable.log_odds).abs() < 1e-9);
    }

    /// A model file written before word beginnings existed loads without
    /// them, and so scores as it did.
    #[test]
    fn a_model_file_from_before_word_beginnings_scores_without_them() {
        let old = default_model_without_setting("word_beginnings");
        assert_eq!(old.file.features.word_beginnings, 0);
        let text = "please subscribe to my channel";
        let is_beginning =
            |contribution: &FeatureContribution| contribution.feature.starts_with("r:");
        assert!(!old.score(text).contributions.iter().any(is_beginning));
        let current = Model::embedded_default().unwrap();
        assert_eq!(current.file.features.word_beginnings, 5);
        assert!(current.score(text).contributions.iter().any(is_beginning));
    }

    /// A model file from before word beginnings (as the release before
    /// them wrote it: the other-site signal's setting written out, off or
    /// on) writes its settings as it did, so that its version (a hash of
    /// them) stays the one it had: a model learned online and saved keeps
    /// its name across the upgrade.
    #[test]
    fn a_model_file_from_before_word_beginnings_keeps_its_version() {
        let mut file: serde_json::Value = serde_json::from_slice(EMBEDDED_DEFAULT).unwrap();
        let features = file["features"].as_object_mut().unwrap();
        features.insert("other_site_links".to_string(), serde_json::json!(false));
        features.remove("word_beginnings").unwrap();
        let old_settings = file["features"].clone();
        let bytes = serde_json::to_vec(&file).unwrap();
        let old = Model::from_json("test", &bytes).unwrap();
        let written: serde_json::Value = serde_json::from_slice(&old.to_json().unwrap()).unwrap();
        assert_eq!(written["features"], old_settings);
        assert_eq!(
            serde_json::to_value(&old.file.features).unwrap(),
            old_settings
        );
        // The current model writes both.
        let current = Model::embedded_default().unwrap();
        let written: serde_json::Value =
            serde_json::from_slice(&current.to_json().unwrap()).unwrap();
        assert_eq!(written["features"]["word_beginnings"], 5);
        assert_eq!(written["features"]["other_site_links"], true);
    }

    /// A model file written before the kinds' weights existed counts each
    /// feature once, as it did, and writes its settings as it did, so
    /// that its version stays the one it had; the current model counts a
    /// word for 0.7 and a whole-comment signal for 1.4.
    #[test]
    fn a_model_file_from_before_kind_weights_counts_each_feature_once() {
        let mut file: serde_json::Value = serde_json::from_slice(EMBEDDED_DEFAULT).unwrap();
        let features = file["features"].as_object_mut().unwrap();
        features.remove("word_weight").unwrap();
        features.remove("signal_weight").unwrap();
        let old_settings = file["features"].clone();
        let old = Model::from_json("test", &serde_json::to_vec(&file).unwrap()).unwrap();
        let written: serde_json::Value = serde_json::from_slice(&old.to_json().unwrap()).unwrap();
        assert_eq!(written["features"], old_settings);
        let current = Model::embedded_default().unwrap();
        let text = "Please subscribe to my channel http://spam.example/win";
        let values = |model: &Model| -> Vec<(String, f64)> {
            let slope = model.file.calibration.slope;
            model
                .score(text)
                .contributions
                .iter()
                .map(|contribution| {
                    let position = model.scorer.index()[contribution.feature];
                    let unit = slope * model.scorer.feature_log_odds(position);
                    (contribution.feature.to_string(), contribution.weight / unit)
                })
                .collect()
        };
        let close = |value: f64, expected: f64| (value - expected).abs() < 1e-9;
        let old_values = values(&old);
        assert!(
            old_values.iter().all(|(_, value)| close(*value, 1.0)),
            "{old_values:?}"
        );
        let current_values = values(&current);
        for (feature, value) in &current_values {
            let expected = match &feature[..2] {
                "w:" => 0.7,
                "s:" => 1.4,
                _ => 1.0,
            };
            assert!(close(*value, expected), "{feature}: {value}");
        }
        for kind in ["w:", "s:", "r:"] {
            assert!(
                current_values
                    .iter()
                    .any(|(feature, _)| feature.starts_with(kind)),
                "no {kind} feature in {current_values:?}"
            );
        }
    }

    /// Earlier builds wrote `--char-ngrams 3-0` (no n-grams) into model
    /// files; such a file still loads, as a model without n-grams.
    #[test]
    fn a_model_file_with_ngrams_up_to_zero_still_loads() {
        let mut file: serde_json::Value = serde_json::from_slice(EMBEDDED_DEFAULT).unwrap();
        file["features"]["char_ngram_min"] = serde_json::json!(3);
        file["features"]["char_ngram_max"] = serde_json::json!(0);
        let bytes = serde_json::to_vec(&file).unwrap();
        let model = Model::from_json("test", &bytes).unwrap();
        assert_eq!(model.file.features.char_ngram_min, 0);
        assert!(model.training_params().check().is_ok());
    }

    #[test]
    fn a_model_file_whose_version_could_not_be_activated_is_refused() {
        let with_version = |version: &str| {
            let mut file: serde_json::Value = serde_json::from_slice(EMBEDDED_DEFAULT).unwrap();
            file["version"] = serde_json::json!(version);
            let directory = tempfile::tempdir().unwrap();
            let path = directory.path().join("model.json");
            std::fs::write(&path, serde_json::to_vec(&file).unwrap()).unwrap();
            Model::load(&path)
        };
        let long = "v".repeat(crate::limits::MAX_MODEL_VERSION_BYTES + 1);
        for version in ["", "  ", "a\nb", long.as_str()] {
            let error = with_version(version).expect_err("refused");
            assert!(error.to_string().contains("its version"), "{error}");
        }
        assert!(with_version(&long[1..]).is_ok());
    }

    /// Scoring takes a binary model's features as they occur and drops a
    /// feature's repeats; counting them first, as the general path does,
    /// must give the very same contributions and sum.
    #[test]
    fn ranking_occurrences_agrees_with_counting_them_first() {
        let model = Model::embedded_default().unwrap();
        assert!(model.file.features.binary);
        for text in [
            "",
            "free free money money free subscribe subscribe",
            "Check out my channel!!! check out my channel http://youtube.com/x http://youtube.com/x",
            "Thank you for the careful reporting on the council meeting.",
            "call 07700900123 call 07700900123 now now now??",
            "Привет привет мир",
        ] {
            let normalized = crate::text::normalize(text);
            assert!(model
                .scorer
                .binary_occurrences(&model.file.features, text, &normalized, &SiteHosts::default())
                .is_some());
            let score = model.score(text);
            let slope = model.file.calibration.slope;
            let counted: Vec<FeatureContribution> = model
                .scorer
                .resolve_text(&model.file.features, text, &normalized, &SiteHosts::default())
                .into_iter()
                .map(|(position, value)| FeatureContribution {
                    feature: &model.file.vocabulary[position],
                    weight: slope * value * model.scorer.feature_log_odds(position),
                })
                .collect();
            assert_eq!(score.contributions, counted, "{text:?}");
            let sum = score.baseline + counted.iter().map(|c| c.weight).sum::<f64>();
            assert_eq!(score.log_odds.to_bits(), sum.to_bits(), "{text:?}");
        }
    }
}
