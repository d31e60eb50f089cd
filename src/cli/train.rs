//! `moderato train`: labelled files in, a model file out.

use std::path::{Path, PathBuf};

use super::{CliError, TrainingFlags};
use crate::classifier::{read_labelled_file, train as train_model, TrainingParams};

pub fn train(
    data: &[PathBuf],
    out: &Path,
    name: Option<String>,
    flags: &TrainingFlags,
) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let mut examples = Vec::new();
    let mut sources = Vec::new();
    for path in data {
        let file_examples = read_labelled_file(path)?;
        eprintln!(
            "read {} examples from {}",
            file_examples.len(),
            path.display()
        );
        examples.extend(file_examples);
        // Only the file name: the model card must not depend on where the
        // corpus happened to be checked out.
        sources.push(
            path.file_name()
                .map(|file| file.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
        );
    }
    let name = name.unwrap_or_else(|| {
        out.file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_else(|| "model".to_string())
    });
    let params = flags
        .apply(TrainingParams {
            name,
            ..TrainingParams::default()
        })?
        .check()?;
    let model = train_model(&params, &examples, sources, &mut |line| eprintln!("{line}"))?;
    model.save(out)?;
    say!(
        "wrote {} (version {}, {} features, {} examples) in {:.2} s",
        out.display(),
        model.version(),
        model.vocabulary_size(),
        model.summary().examples,
        started.elapsed().as_secs_f64()
    );
    if let Some(metrics) = model.cross_validation() {
        say!(
            "cross-validated on the training data: MCC {:.3}, ham blocked {:.1}%, recall {:.1}%, AUC {:.3}",
            metrics.mcc,
            metrics.fpr * 100.0,
            metrics.recall * 100.0,
            metrics.auc
        );
    }
    Ok(())
}
