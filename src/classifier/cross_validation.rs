//! Cross-validation of the whole training procedure (features, fit,
//! calibration): the figures that justify each modelling choice without
//! touching the test splits.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{train, BinaryMetrics, ClassifierError, LabelledExample, ValidTrainingParams};

/// How examples are split into folds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Folds {
    /// `k` folds, example `i` in fold `i % k` (deterministic).
    Interleaved(usize),
    /// One fold per group (for YouTube: per video), so each fold is a
    /// thread the model never saw: how it does on a new website.
    ByGroup,
}

#[derive(Debug, Clone, Serialize)]
pub struct FoldReport {
    pub name: String,
    pub metrics: BinaryMetrics,
}

#[derive(Debug, Clone, Serialize)]
pub struct CrossValidationReport {
    pub folds: Vec<FoldReport>,
    pub mean_mcc: f64,
    pub mean_fpr: f64,
    pub mean_auc: f64,
}

/// Trains on all folds but one and measures on that one, for each fold.
pub fn cross_validate(
    params: &ValidTrainingParams,
    examples: &[LabelledExample],
    folds: Folds,
) -> Result<CrossValidationReport, ClassifierError> {
    let assignment: Vec<(String, usize)> = match folds {
        Folds::Interleaved(count) => {
            if count < 2 {
                return Err(ClassifierError::InvalidParameter {
                    name: "folds",
                    message: "must be at least 2".to_string(),
                });
            }
            (0..examples.len())
                .map(|index| (format!("fold {}", index % count + 1), index % count))
                .collect()
        }
        Folds::ByGroup => {
            let mut groups: BTreeMap<&str, usize> = BTreeMap::new();
            for example in examples {
                let group = example.group.as_deref().unwrap_or("");
                let next = groups.len();
                groups.entry(group).or_insert(next);
            }
            if groups.len() < 2 {
                return Err(ClassifierError::Training(
                    "cross-validation by group needs at least two groups (for example the VIDEO_NAME column)".to_string(),
                ));
            }
            examples
                .iter()
                .map(|example| {
                    let group = example.group.as_deref().unwrap_or("");
                    (group.to_string(), groups[group])
                })
                .collect()
        }
    };
    let fold_count = assignment
        .iter()
        .map(|(_, fold)| fold + 1)
        .max()
        .unwrap_or(0);
    let mut reports = Vec::with_capacity(fold_count);
    for fold in 0..fold_count {
        let (held_out, training): (Vec<usize>, Vec<usize>) =
            (0..examples.len()).partition(|index| assignment[*index].1 == fold);
        let Some(first) = held_out.first() else {
            continue;
        };
        let name = assignment[*first].0.clone();
        let training_examples: Vec<LabelledExample> = training
            .iter()
            .map(|index| examples[*index].clone())
            .collect();
        let model = train(params, &training_examples, vec![], &mut |_| {})?;
        let scores: Vec<f64> = held_out
            .iter()
            .map(|index| model.score(&examples[*index].text).probability)
            .collect();
        let is_spam: Vec<bool> = held_out
            .iter()
            .map(|index| examples[*index].label.is_spam())
            .collect();
        reports.push(FoldReport {
            name,
            metrics: BinaryMetrics::compute(&scores, &is_spam, 0.5),
        });
    }
    let mean = |figure: fn(&BinaryMetrics) -> f64| {
        reports
            .iter()
            .map(|fold| figure(&fold.metrics))
            .sum::<f64>()
            / reports.len().max(1) as f64
    };
    Ok(CrossValidationReport {
        mean_mcc: mean(|metrics| metrics.mcc),
        mean_fpr: mean(|metrics| metrics.fpr),
        mean_auc: mean(|metrics| metrics.auc),
        folds: reports,
    })
}
