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
    /// Each mean is over the folds where the figure is defined, and `None`
    /// (JSON `null`) when no fold defines it: MCC and AUC need a fold that
    /// held out both classes, the share of ham blocked one that held ham.
    pub mean_mcc: Option<f64>,
    pub mean_fpr: Option<f64>,
    pub mean_auc: Option<f64>,
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
            if count > examples.len() {
                return Err(ClassifierError::InvalidParameter {
                    name: "folds",
                    message: format!(
                        "must be at most the number of examples ({})",
                        examples.len()
                    ),
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
        // A fold whose other folds cannot train (all of one class) is named,
        // so that the operator knows which group to fix.
        let model = train(params, &training_examples, vec![], &mut |_| {}).map_err(|error| {
            // The error's own "cannot train: " once, at the front.
            let reason = match error {
                ClassifierError::Training(reason) => reason,
                other => other.to_string(),
            };
            ClassifierError::Training(format!("without {name} (on the other folds): {reason}"))
        })?;
        let scores: Vec<f64> = held_out
            .iter()
            .map(|index| {
                let example = &examples[*index];
                model
                    .score_on_site(&example.text, &example.site)
                    .probability
            })
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
    // A figure is averaged over the folds where it is defined: MCC and AUC
    // need both classes, the share of ham blocked needs ham. (A fold of one
    // class, such as a site whose labels are all spam, would otherwise pull
    // the means down with figures that only say "undefined".)
    let mean = |figure: fn(&BinaryMetrics) -> f64, defined: fn(&BinaryMetrics) -> bool| {
        let values: Vec<f64> = reports
            .iter()
            .map(|fold| &fold.metrics)
            .filter(|metrics| defined(metrics))
            .map(figure)
            .collect();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    };
    let both_classes = |metrics: &BinaryMetrics| metrics.spam > 0 && metrics.ham > 0;
    Ok(CrossValidationReport {
        mean_mcc: mean(|metrics| metrics.mcc, both_classes),
        mean_fpr: mean(|metrics| metrics.fpr, |metrics| metrics.ham > 0),
        mean_auc: mean(|metrics| metrics.auc, both_classes),
        folds: reports,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::TrainingParams;
    use crate::domain::Label;

    fn example(text: &str, label: Label, group: &str) -> LabelledExample {
        LabelledExample {
            text: text.to_string(),
            label,
            group: Some(group.to_string()),
            post_title: None,
            site: crate::classifier::SiteHosts::default(),
        }
    }

    #[test]
    fn a_group_of_one_class_is_left_out_of_the_means_it_has_no_figure_for() {
        let mut examples = Vec::new();
        for group in ["a.example", "b.example"] {
            for (index, text) in [
                "subscribe to my channel",
                "free money click here",
                "win a prize now",
            ]
            .iter()
            .enumerate()
            {
                examples.push(example(&format!("{text} {index}"), Label::Spam, group));
            }
            for (index, text) in [
                "great article, thanks",
                "i disagree with the mayor",
                "good point about taxes",
            ]
            .iter()
            .enumerate()
            {
                examples.push(example(&format!("{text} {index}"), Label::Ham, group));
            }
        }
        // The third site's labels are all spam.
        examples.push(example("cheap pills online", Label::Spam, "c.example"));
        examples.push(example("cheap watches online", Label::Spam, "c.example"));
        let params = TrainingParams {
            folds: 2,
            ..TrainingParams::default()
        }
        .check()
        .unwrap();
        let report = cross_validate(&params, &examples, Folds::ByGroup).unwrap();
        assert_eq!(report.folds.len(), 3);
        let two_class: Vec<&BinaryMetrics> = report
            .folds
            .iter()
            .map(|fold| &fold.metrics)
            .filter(|metrics| metrics.ham > 0)
            .collect();
        assert_eq!(two_class.len(), 2);
        let expected_auc = (two_class[0].auc + two_class[1].auc) / 2.0;
        let expected_mcc = (two_class[0].mcc + two_class[1].mcc) / 2.0;
        assert!((report.mean_auc.unwrap() - expected_auc).abs() < 1e-12);
        assert!((report.mean_mcc.unwrap() - expected_mcc).abs() < 1e-12);
    }

    /// Small labelled examples in one group each, `spam` then `ham`.
    fn grouped(spam: &[(&str, &str)], ham: &[(&str, &str)]) -> Vec<LabelledExample> {
        let spam = spam
            .iter()
            .map(|(text, group)| example(text, Label::Spam, group));
        let ham = ham
            .iter()
            .map(|(text, group)| example(text, Label::Ham, group));
        spam.chain(ham).collect()
    }

    #[test]
    fn figures_no_fold_defines_are_none_and_folds_beyond_the_examples_are_refused() {
        let examples = grouped(
            &[("free money now", "a"), ("win a prize today", "a")],
            &[
                ("good point about taxes", "b"),
                ("thanks for the report", "b"),
            ],
        );
        let params = TrainingParams::default().check().unwrap();
        // Each video of one class: no fold holds both, so MCC and AUC are
        // undefined rather than a mean of nothing.
        let report = cross_validate(&params, &examples, Folds::ByGroup);
        // Leaving out "a" trains on ham alone: refused naming the fold.
        let message = report.unwrap_err().to_string();
        assert!(
            message.starts_with("cannot train: without a (on the other folds): "),
            "{message}"
        );
        assert_eq!(message.matches("cannot train").count(), 1, "{message}");

        let report = cross_validate(&params, &examples, Folds::Interleaved(4)).unwrap();
        assert_eq!(report.folds.len(), 4);
        assert_eq!(report.mean_mcc, None);
        assert_eq!(report.mean_auc, None);
        assert!(report.mean_fpr.is_some());

        let refused = cross_validate(&params, &examples, Folds::Interleaved(5)).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("at most the number of examples (4)"),
            "{refused}"
        );
    }
}
