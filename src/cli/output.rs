//! The files commands write (`train --out`, `eval --plot`, `export --out`),
//! checked before the command does its work: what would otherwise fail, or
//! do harm, only at its end.

use std::path::{Path, PathBuf};

use super::CliError;

/// A file written whole or not at all: into a temporary file beside
/// `path` (so that the rename stays on one file system), synced, then
/// renamed over `path`. Dropped before [`Replacement::commit`] (an error,
/// an interrupt), the temporary file goes and whatever `path` held stays
/// as it was; two commands writing the same path never mix their bytes.
pub(super) struct Replacement {
    temporary: tempfile::NamedTempFile,
    path: PathBuf,
}

impl Replacement {
    /// A temporary file for `path`, with `mode`'s permissions on Unix.
    pub fn create(path: &Path, mode: u32) -> std::io::Result<Replacement> {
        let mut builder = tempfile::Builder::new();
        builder.prefix(".moderato-").suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(mode));
        }
        #[cfg(not(unix))]
        let _ = mode;
        Ok(Replacement {
            temporary: builder.tempfile_in(directory_of(path))?,
            path: path.to_path_buf(),
        })
    }

    /// Where to write the content.
    pub fn file(&mut self) -> &mut std::fs::File {
        self.temporary.as_file_mut()
    }

    /// Syncs the content, puts it in `path`'s place and syncs the directory,
    /// so that the new file is there after a crash.
    pub fn commit(self) -> std::io::Result<()> {
        self.temporary.as_file().sync_all()?;
        self.temporary
            .persist(&self.path)
            .map_err(|error| error.error)?;
        // Best effort: not every platform opens a directory as a file.
        if let Ok(directory) = std::fs::File::open(directory_of(&self.path)) {
            let _ = directory.sync_all();
        }
        Ok(())
    }
}

/// The directory a file is written in (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

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
        // `models/` names a directory even when there is none yet (the
        // parent of "models/" would be "."): refused now, not after the
        // work, when the file cannot be written there.
        let text = self.path.as_os_str().to_string_lossy();
        if self.path.file_name().is_none() || text.ends_with(std::path::is_separator) {
            return Err(CliError::Usage(format!(
                "{flag} {path} names a directory, not a file: name the {what} file to write, \
                 such as {}",
                self.path.join(self.suggested_name).display()
            )));
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
        let directory = directory_of(self.path);
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

    #[test]
    fn a_path_that_names_a_directory_is_refused_before_the_work() {
        let directory = tempfile::tempdir().unwrap();
        let not_yet = format!("{}/models/", directory.path().display());
        let message = refusal(model_at(Path::new(&not_yet)).check(&[]));
        assert!(
            message.contains("names a directory, not a file"),
            "{message}"
        );
        assert!(message.contains("model.json"), "{message}");
        let parent = directory.path().join("..");
        let message = refusal(model_at(&parent).check(&[]));
        assert!(message.contains("is a directory"), "{message}");
    }

    #[test]
    fn a_replacement_is_all_or_nothing() {
        use std::io::Write;
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("out.jsonl");
        std::fs::write(&path, "old").unwrap();
        // Dropped before its commit: the old file stays, and nothing is
        // left beside it.
        let mut abandoned = Replacement::create(&path, 0o600).unwrap();
        abandoned.file().write_all(b"half").unwrap();
        drop(abandoned);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
        assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 1);
        let mut finished = Replacement::create(&path, 0o644).unwrap();
        finished.file().write_all(b"new").unwrap();
        finished.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
        assert_eq!(std::fs::read_dir(directory.path()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o644);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_special_file_is_no_output_file() {
        // /dev/null: a device, which writing in its place would replace.
        let message = refusal(model_at(Path::new("/dev/null")).check(&[]));
        assert!(message.contains("is not a regular file"), "{message}");
    }
}
