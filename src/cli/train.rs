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
    check_output(out, data)?;
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
    let name = name.unwrap_or_else(|| name_from_output(out));
    let params = super::checked_flags(flags.apply(TrainingParams {
        name,
        ..TrainingParams::default()
    })?)?;
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

/// A model name made from the output file's name, for when `--name` is not
/// given: each run of characters a name cannot hold (anything but ASCII
/// letters, digits, `-` and `_`) becomes one `-`, and none starts or ends
/// the name (a version starting with `-` would read as a flag), so that
/// `--out model.v2.json` is named `model-v2`.
fn name_from_output(out: &Path) -> String {
    let stem = out
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut name = String::with_capacity(stem.len());
    for character in stem.chars() {
        match character {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' => name.push(character),
            _ if !name.is_empty() && !name.ends_with('-') => name.push('-'),
            _ => {}
        }
    }
    let name = name.trim_end_matches('-');
    if name.is_empty() {
        "model".to_string()
    } else {
        name.to_string()
    }
}

/// Checks, before the training run, what would otherwise fail (or do
/// harm) only at its end: `--out` must not be an existing directory (the
/// model is a file, written in its place) nor one of the `--data` files
/// (the model would replace the corpus), and its directory must take a
/// new file.
fn check_output(out: &Path, data: &[PathBuf]) -> Result<(), CliError> {
    if out.is_dir() {
        return Err(CliError::Usage(format!(
            "--out {} is a directory: name the model file to write, such as {}",
            out.display(),
            out.join("model.json").display()
        )));
    }
    if let Ok(out_file) = out.canonicalize() {
        for path in data {
            if path
                .canonicalize()
                .is_ok_and(|data_file| data_file == out_file)
            {
                return Err(CliError::Usage(format!(
                    "--out {} is also a --data file: training would replace it with the model",
                    out.display()
                )));
            }
        }
    }
    let directory = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(".moderato-model-")
        .tempfile_in(directory)
        .map(drop)
        .map_err(|source| CliError::Io {
            context: format!("cannot write the model {}", out.display()),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_directory_is_no_output_file() {
        let directory = tempfile::tempdir().unwrap();
        match check_output(directory.path(), &[]) {
            Err(CliError::Usage(message)) => {
                let named = format!("--out {} is a directory", directory.path().display());
                assert!(message.starts_with(&named), "{message}");
            }
            other => panic!("expected the directory refused, got {other:?}"),
        }
        // A new file in that directory is fine.
        assert!(check_output(&directory.path().join("model.json"), &[]).is_ok());
    }

    #[test]
    fn an_output_file_name_gives_a_valid_model_name() {
        for (out, name) in [
            ("models/site.json", "site"),
            ("model.v2.json", "model-v2"),
            ("spam model.json", "spam-model"),
            ("2024.05.json", "2024-05"),
            ("été.json", "t"),
            ("-x--y.json", "x-y"),
            ("!!.json", "model"),
        ] {
            assert_eq!(name_from_output(Path::new(out)), name, "{out}");
            // Every name made so passes the parameters' own check.
            let params = TrainingParams {
                name: name_from_output(Path::new(out)),
                ..TrainingParams::default()
            };
            assert!(params.check().is_ok(), "{out}");
        }
    }
}
