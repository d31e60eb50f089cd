//! `moderato train`: labelled files in, a model file out.

use std::path::{Path, PathBuf};

use super::output::OutputFile;
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
    // The flags are checked before the data is read: a misspelt value must
    // not wait for a large corpus to be parsed first.
    let name = name.unwrap_or_else(|| name_from_output(out));
    let params = super::checked_flags(flags.apply(TrainingParams {
        name,
        ..TrainingParams::default()
    })?)?;
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
    // Only ASCII was kept, so any byte is a character boundary; a long
    // file name gives a name within the limit, not a refusal.
    name.truncate(crate::limits::MAX_MODEL_NAME_BYTES);
    let name = name.trim_end_matches('-');
    if name.is_empty() {
        "model".to_string()
    } else {
        name.to_string()
    }
}

/// Checks `--out` before the training run (see [`OutputFile::check`]):
/// not a directory, not a special file, not one of the `--data` files, and
/// in a directory that takes a new file.
fn check_output(out: &Path, data: &[PathBuf]) -> Result<(), CliError> {
    let inputs: Vec<(&str, &Path)> = data.iter().map(|path| ("--data", path.as_path())).collect();
    OutputFile {
        flag: "--out",
        path: out,
        what: "model",
        suggested_name: "model.json",
    }
    .check(&inputs)
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_name_too_long_for_a_version_is_refused_or_shortened() {
        let limit = crate::limits::MAX_MODEL_NAME_BYTES;
        let too_long = TrainingParams {
            name: "a".repeat(limit + 1),
            ..TrainingParams::default()
        };
        let error = too_long.check().unwrap_err().to_string();
        assert!(
            error.contains("name") && error.contains(&limit.to_string()),
            "{error}"
        );
        let longest = TrainingParams {
            name: "a".repeat(limit),
            ..TrainingParams::default()
        };
        assert!(longest.clone().check().is_ok());
        // The longest name, with its hash and the longest online count,
        // is still a version a model file may have.
        let version = format!("{}-{}+{}", longest.name, "0".repeat(12), u64::MAX);
        assert_eq!(version.len(), crate::limits::MAX_MODEL_VERSION_BYTES);
        // A name taken from a long file name is cut to the limit, not
        // refused, and does not end with a dash.
        let out = format!("{}-{}.json", "b".repeat(limit - 1), "c".repeat(50));
        let name = name_from_output(Path::new(&out));
        assert_eq!(name, "b".repeat(limit - 1));
    }
}
