//! `moderato cv`: cross-validation figures of the training procedure.

use std::path::PathBuf;

use super::{CliError, TrainingFlags};
use crate::classifier::{
    cross_validate as run_cross_validation, read_labelled_file, Folds, TrainingParams,
};

pub fn cross_validate(
    data: &[PathBuf],
    by_group: bool,
    folds: usize,
    json: bool,
    flags: &TrainingFlags,
) -> Result<(), CliError> {
    let mut examples = Vec::new();
    for path in data {
        examples.extend(read_labelled_file(path)?);
    }
    let params = super::checked_flags(flags.apply(TrainingParams::default())?)?;
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
    for fold in &report.folds {
        let metrics = &fold.metrics;
        say!(
            "{:<40} n {:>5}  MCC {:.3}  ham blocked {:>5.1}%  recall {:>5.1}%  AUC {:.3}",
            fold.name,
            metrics.examples,
            metrics.mcc,
            metrics.fpr * 100.0,
            metrics.recall * 100.0,
            metrics.auc
        );
    }
    say!(
        "mean: MCC {:.3}  ham blocked {:.1}%  AUC {:.3}",
        report.mean_mcc,
        report.mean_fpr * 100.0,
        report.mean_auc
    );
    Ok(())
}
