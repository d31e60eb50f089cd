//! `moderato cv`: cross-validation figures of the training procedure.

use std::path::PathBuf;

use super::{CliError, TrainingFlags};
use crate::classifier::{cross_validate as run_cross_validation, Folds, TrainingParams};

pub fn cross_validate(
    data: &[PathBuf],
    by_group: bool,
    folds: usize,
    json: bool,
    flags: &TrainingFlags,
) -> Result<(), CliError> {
    // The flags are checked before the data is read, as `train` does.
    let params = super::checked_flags(flags.apply(TrainingParams::default())?)?;
    if !by_group && folds < 2 {
        return Err(CliError::Usage("--folds: must be at least 2".to_string()));
    }
    let examples = super::labelled_examples(data, "cross-validate")?;
    let folds = if by_group {
        Folds::ByGroup
    } else {
        Folds::Interleaved(folds)
    };
    // The folds come from --folds: a number they refuse is the flag's.
    let report = run_cross_validation(&params, &examples, folds).map_err(super::flag_error)?;
    if json {
        return super::print_json(&report);
    }
    let figure = |value: Option<f64>, scale: f64, decimals: usize, unit: &str| {
        value.map_or("undefined".to_string(), |value| {
            format!("{:.*}{unit}", decimals, value * scale)
        })
    };
    for fold in &report.folds {
        let metrics = &fold.metrics;
        // A fold that held out one class only has no MCC or AUC, and no
        // share of ham blocked (without ham) or recall (without spam):
        // printed as such, not as the 0 and 0.5 the figures hold then (the
        // JSON names them in the fold's `undefined`).
        let defined = |name: &str, value: f64| {
            (!metrics.undefined.iter().any(|undefined| undefined == name)).then_some(value)
        };
        say!(
            "{:<40} n {:>5}  MCC {:>5}  ham blocked {:>6}  recall {:>6}  AUC {:>5}",
            fold.name,
            metrics.examples,
            figure(defined("mcc", metrics.mcc), 1.0, 3, ""),
            figure(defined("fpr", metrics.fpr), 100.0, 1, "%"),
            figure(defined("recall", metrics.recall), 100.0, 1, "%"),
            figure(defined("auc", metrics.auc), 1.0, 3, "")
        );
    }
    say!(
        "mean: MCC {}  ham blocked {}  AUC {}",
        figure(report.mean_mcc, 1.0, 3, ""),
        figure(report.mean_fpr, 100.0, 1, "%"),
        figure(report.mean_auc, 1.0, 3, "")
    );
    if report.mean_mcc.is_none() {
        say!("(MCC and AUC are undefined: no fold held out both spam and ham)");
    }
    Ok(())
}
