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
//! blob at recovery), which must not stop a restart; and a damaged blob
//! sled does not read at recovery stays, its value failing when it is read.
//! So a start that finds a damaged blob first copies sled's other files
//! (its log, its configuration and its snapshots, not the blobs) aside
//! (once while the database and its damaged blobs stay the same), then
//! lets sled open: the error, or the log, names the blob and the copy,
//! from which the database as it was before that start can be put back.

use std::path::{Path, PathBuf};

/// The blob files under `directory` whose checksum does not match their
/// contents, as sled checks them: the first 4 bytes are the CRC-32 (little
/// endian) of the rest (a kind byte, then the value). A file too short to
/// hold a checksum and a kind byte is damaged too. Files whose names are
/// not blob numbers are none of sled's (it leaves them alone). No `blobs/`
/// directory: none.
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
        let named_as_a_blob = path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.parse::<u64>().is_ok());
        if !named_as_a_blob || !path.is_file() {
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

/// The file in a copy that lists the damaged blobs it was made for.
const DAMAGED_LIST: &str = "damaged-blobs";

/// Copies sled's files under `directory` other than its blobs (the log
/// `db`, `conf`, and its `snap.*` snapshots) into a new directory beside it,
/// `<directory>.before-open-<unix milliseconds>`, readable by its owner
/// only, with the list of the `damaged` blobs and of the files it copied
/// (name, size and CRC-32), and gives its path. When a copy of the same
/// files made for the same damaged blobs is there already (a damaged blob
/// sled keeps, met again at the next start of a database that did not
/// change since), that copy is given and none is made: a service restarted
/// in a loop must not fill the disk with copies of its log. A database
/// that changed since gets a copy of its own, so that the copy named is
/// always the database as it is now.
pub(super) fn copy_aside(
    directory: &Path,
    damaged: &[PathBuf],
    now_millis: i64,
) -> std::io::Result<PathBuf> {
    let base = directory
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(directory)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            files.push(entry.path());
        }
    }
    files.sort();
    let mut listing: String = damaged
        .iter()
        .map(|path| format!("damaged {}\n", path.display()))
        .collect();
    for file in &files {
        let bytes = std::fs::read(file)?;
        listing.push_str(&format!(
            "copied {} {} {:08x}\n",
            file.file_name().unwrap_or_default().to_string_lossy(),
            bytes.len(),
            crc32fast::hash(&bytes)
        ));
    }
    if let Some(parent) = directory.parent() {
        for entry in std::fs::read_dir(parent)? {
            let earlier = entry?.path();
            let is_copy = earlier.file_name().is_some_and(|name| {
                name.to_string_lossy()
                    .starts_with(&format!("{base}.before-open-"))
            });
            if is_copy
                && std::fs::read_to_string(earlier.join(DAMAGED_LIST))
                    .ok()
                    .as_deref()
                    == Some(listing.as_str())
            {
                return Ok(earlier);
            }
        }
    }
    let copy = directory.with_file_name(format!("{base}.before-open-{now_millis}"));
    super::create_private_directories(&copy)?;
    for file in &files {
        std::fs::copy(file, copy.join(file.file_name().unwrap_or_default()))?;
    }
    // Written last: a copy cut short is never taken for a complete one.
    std::fs::write(copy.join(DAMAGED_LIST), listing)?;
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
        // Not a name sled gives a blob: none of its files.
        std::fs::write(blobs.join(".nfs0001"), b"hi").unwrap();
        let damaged = damaged_blobs(directory.path()).unwrap();
        assert_eq!(damaged, vec![blobs.join("20"), blobs.join("30")]);

        // One copy for one set of damaged blobs, however often it is met.
        let database = directory.path().join("db");
        std::fs::create_dir(&database).unwrap();
        std::fs::write(database.join("db"), b"log").unwrap();
        let first = copy_aside(&database, &damaged, 1).unwrap();
        assert_eq!(std::fs::read(first.join("db")).unwrap(), b"log");
        assert_eq!(copy_aside(&database, &damaged, 2).unwrap(), first);
        let other = copy_aside(&database, &damaged[..1], 3).unwrap();
        assert_ne!(other, first);
        // The database written since: a copy of it as it is now.
        std::fs::write(database.join("db"), b"log, and more").unwrap();
        let later = copy_aside(&database, &damaged, 4).unwrap();
        assert_ne!(later, first);
        assert_eq!(std::fs::read(later.join("db")).unwrap(), b"log, and more");
    }
}
