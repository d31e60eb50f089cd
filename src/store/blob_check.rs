//! The blob files (`blobs/`, where sled keeps values larger than a quarter
//! of its segment: model files and learning snapshots) checked before sled
//! opens the database.
//!
//! sled reads some blobs while it recovers its log at an open, and takes a
//! blob that fails its checksum for the torn end of a write: it rewrites its
//! log there and then fails the open, so that the database no longer opens
//! even once the blob is put back from a backup (a reviewer measured it).
//! A blob met damaged can also be the honest torn end of a crash (sled
//! writes a blob before the log record that points to it, and drops such a
//! blob at recovery), which must not stop a restart. So a start that finds
//! a damaged blob first copies sled's other files (its log, its
//! configuration and its snapshots, not the blobs) aside, then lets sled
//! open: if sled opens, the copy is deleted and the blob's loss logged; if
//! it does not, the error names the blob and the copy, from which the
//! database as it was before that start can be put back.

use std::path::{Path, PathBuf};

/// The blob files under `directory` whose checksum does not match their
/// contents, as sled checks them: the first 4 bytes are the CRC-32 (little
/// endian) of the rest (a kind byte, then the value). A file too short to
/// hold a checksum and a kind byte is damaged too. No `blobs/` directory:
/// none.
pub(super) fn damaged_blobs(directory: &Path) -> std::io::Result<Vec<PathBuf>> {
    let blobs = directory.join("blobs");
    let entries = match std::fs::read_dir(&blobs) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let mut damaged = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        let bytes = std::fs::read(&path)?;
        let intact = bytes.len() >= 5
            && u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
                == crc32fast::hash(&bytes[4..]);
        if !intact {
            damaged.push(path);
        }
    }
    damaged.sort();
    Ok(damaged)
}

/// Copies sled's files under `directory` other than its blobs (the log
/// `db`, `conf`, and its `snap.*` snapshots) into a new directory beside it,
/// `<directory>.before-open-<unix milliseconds>`, readable by its owner
/// only, and gives its path.
pub(super) fn copy_aside(directory: &Path, now_millis: i64) -> std::io::Result<PathBuf> {
    let mut name = directory
        .file_name()
        .map(|name| name.to_os_string())
        .unwrap_or_default();
    name.push(format!(".before-open-{now_millis}"));
    let copy = directory.with_file_name(name);
    super::create_private_directories(&copy)?;
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), copy.join(entry.file_name()))?;
        }
    }
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_blob_is_damaged_when_its_checksum_does_not_match() {
        let directory = tempfile::tempdir().unwrap();
        assert!(damaged_blobs(directory.path()).unwrap().is_empty());
        let blobs = directory.path().join("blobs");
        std::fs::create_dir(&blobs).unwrap();
        let body = [&[1u8][..], b"a value"].concat();
        let intact = [&crc32fast::hash(&body).to_le_bytes()[..], &body].concat();
        std::fs::write(blobs.join("10"), &intact).unwrap();
        let mut changed = intact.clone();
        changed[6] ^= 1;
        std::fs::write(blobs.join("20"), &changed).unwrap();
        std::fs::write(blobs.join("30"), &intact[..4]).unwrap();
        assert_eq!(
            damaged_blobs(directory.path()).unwrap(),
            vec![blobs.join("20"), blobs.join("30")]
        );
    }
}
