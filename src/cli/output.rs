//! The files commands write (`train --out`, `eval --plot`, `export --out`),
//! checked before the command does its work: what would otherwise fail, or
//! do harm, only at its end.

use std::path::Path;

use super::CliError;

/// A file a command is about to write, named by `flag`: `what` it holds
/// (for messages, such as "model"), a file name to suggest inside a
/// directory given by mistake, and the files the command reads, each with
/// its flag.
pub(super) struct OutputFile<'a> {
    pub flag: &'a str,
    pub path: &'a Path,
    pub what: &'a str,
    pub suggested_name: &'a str,
}

impl OutputFile<'_> {
    /// Refuses a path that exists and is a directory, or anything but a
    /// regular file (a pipe, a device, a socket: the file is written whole
    /// in its place, which would replace it), or that is one of `inputs`
    /// (the output would replace what the command reads); then checks that
    /// its directory takes a new file.
    pub fn check(&self, inputs: &[(&str, &Path)]) -> Result<(), CliError> {
        let (flag, path, what) = (self.flag, self.path.display(), self.what);
        if let Ok(metadata) = std::fs::metadata(self.path) {
            if metadata.is_dir() {
                return Err(CliError::Usage(format!(
                    "{flag} {path} is a directory: name the {what} file to write, such as {}",
                    self.path.join(self.suggested_name).display()
                )));
            }
            if !metadata.is_file() {
                return Err(CliError::Usage(format!(
                    "{flag} {path} is not a regular file (a pipe, a device or a socket): \
                     the {what} would replace it; name a file"
                )));
            }
        }
        if let Ok(out_file) = self.path.canonicalize() {
            for (input_flag, input) in inputs {
                if input.canonicalize().is_ok_and(|input| input == out_file) {
                    return Err(CliError::Usage(format!(
                        "{flag} {path} is also a {input_flag} file: the {what} would replace it"
                    )));
                }
            }
        }
        let directory = match self.path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        if !directory.is_dir() {
            return Err(CliError::Usage(format!(
                "{flag} {path}: there is no directory {}",
                directory.display()
            )));
        }
        tempfile::Builder::new()
            .prefix(".moderato-output-")
            .tempfile_in(directory)
            .map(drop)
            // tempfile's error names the trial file, a name the operator
            // never gave; the kind (permission denied, no space) is what
            // matters.
            .map_err(|source| CliError::Io {
                context: format!("cannot write the {what} {path}"),
                source: std::io::Error::from(source.kind()),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model_at(path: &Path) -> OutputFile<'_> {
        OutputFile {
            flag: "--out",
            path,
            what: "model",
            suggested_name: "model.json",
        }
    }

    fn refusal(result: Result<(), CliError>) -> String {
        match result {
            Err(CliError::Usage(message)) => message,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn an_existing_directory_is_no_output_file() {
        let directory = tempfile::tempdir().unwrap();
        let message = refusal(model_at(directory.path()).check(&[]));
        let named = format!("--out {} is a directory", directory.path().display());
        assert!(message.starts_with(&named), "{message}");
        assert!(message.contains("model.json"), "{message}");
        // A new file in that directory is fine, and so is an existing one.
        let file = directory.path().join("model.json");
        assert!(model_at(&file).check(&[]).is_ok());
        std::fs::write(&file, "old").unwrap();
        assert!(model_at(&file).check(&[]).is_ok());
    }

    #[test]
    fn a_file_the_command_reads_is_no_output_file() {
        let directory = tempfile::tempdir().unwrap();
        let corpus = directory.path().join("corpus.csv");
        std::fs::write(&corpus, "data").unwrap();
        // Named another way, it is still the same file.
        let same = directory.path().join(".").join("corpus.csv");
        let message = refusal(model_at(&same).check(&[("--data", &corpus)]));
        assert!(message.contains("is also a --data file"), "{message}");
        assert_eq!(std::fs::read_to_string(&corpus).unwrap(), "data");
    }

    #[test]
    fn a_file_in_a_directory_that_is_not_there_is_refused_naming_it() {
        let directory = tempfile::tempdir().unwrap();
        let missing = directory.path().join("nowhere");
        let message = refusal(model_at(&missing.join("model.json")).check(&[]));
        let named = format!("there is no directory {}", missing.display());
        assert!(message.ends_with(&named), "{message}");
    }

    #[cfg(unix)]
    #[test]
    fn a_special_file_is_no_output_file() {
        // /dev/null: a device, which writing in its place would replace.
        let message = refusal(model_at(Path::new("/dev/null")).check(&[]));
        assert!(message.contains("is not a regular file"), "{message}");
    }
}
