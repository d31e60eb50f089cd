//! The naive-Bayes classifier: labelled data, features, training with
//! linfa-bayes, calibration, the compiled sparse scorer used on the request
//! path, and model files. Pure except for reading and writing model and data
//! files, which the CLI asks for explicitly, and for the clock that stamps a
//! new model's creation time.

mod calibration;
mod cross_validation;
mod dataset;
mod error;
mod features;
mod metrics;
mod model;
mod quiet;
mod scorer;
mod train;

pub use calibration::Calibration;
pub use cross_validation::{cross_validate, CrossValidationReport, FoldReport, Folds};
pub use dataset::{read_labelled_file, LabelledExample};
pub use error::ClassifierError;
pub use features::{
    describe_feature, extract_features, extract_features_normalized, extract_features_on_site,
    for_each_feature, for_each_read_link, resolve_positions, resolve_text, resolve_text_by_keys,
    trusted_domain, FeatureDescription, FeatureKeys, FeatureParams, FeatureParts, LinkReading,
    LinkToken, ReadLink, SiteHosts, TrustedDomains, UNKNOWN_WORD,
};
pub use metrics::{threshold_curve, BinaryMetrics, ThresholdPoint};
pub use model::{
    FeatureContribution, FeatureCounts, Model, ModelScore, TrainingSummary,
    MAX_NEW_OTHER_FEATURES_PER_EXAMPLE, MAX_NEW_WORDS_PER_EXAMPLE, MAX_ONLINE_VOCABULARY,
};
pub use scorer::{ScorerWeights, SparseScorer};
pub use train::{
    distinct_examples, first_reading_the_same, train, EventModel, TrainingParams,
    ValidTrainingParams,
};
