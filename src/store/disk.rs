//! Making what sled wrote durable before it is acknowledged.
//!
//! sled 0.34's `flush` writes its log buffers and, on Linux, waits for them
//! with `sync_file_range`. That starts and waits for the writing of those
//! bytes, but it neither flushes the drive's write cache nor records the
//! file's new length (sled's log grows as it is written), and sled never
//! syncs the files it keeps values larger than a quarter of a segment in
//! (`blobs/`: model files, learning snapshots). Only sled's background
//! thread calls `fsync`, every 500 ms, and a failure there is only logged.
//! So a write that sled's `flush` covers could still be lost in a power cut.
//!
//! Every flush that precedes an acknowledgement therefore goes through
//! [`Disk::flush`]: sled's flush, then `fdatasync` of the log file, then
//! `fsync` of every blob file not synced before and of the blob directory.
//! Each of those failing is a flush failure, which stops acknowledgements
//! as a failed sled flush does.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::StoreError;

/// See the module docs; cheap to clone.
#[derive(Clone)]
pub(super) struct Disk {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    /// sled's log, `<directory>/db`, opened for syncing only.
    log: File,
    log_path: PathBuf,
    blobs: PathBuf,
    /// The blob files already synced, by name. A std mutex: held by one
    /// flushing thread at a time while it lists the directory, never across
    /// an await.
    synced_blobs: Mutex<HashSet<OsString>>,
}

/// An IO error that names the file it happened on.
fn naming(path: &Path, action: &str, error: io::Error) -> StoreError {
    StoreError::Io(io::Error::new(
        error.kind(),
        format!("{action} {}: {error}", path.display()),
    ))
}

impl Disk {
    /// The durability of the database sled has opened in `directory`.
    pub(super) fn of(db: sled::Db, directory: &Path) -> Result<Disk, StoreError> {
        let log_path = directory.join("db");
        let log = File::open(&log_path).map_err(|error| naming(&log_path, "opening", error))?;
        Ok(Disk {
            inner: Arc::new(Inner {
                db,
                log,
                log_path,
                blobs: directory.join("blobs"),
                synced_blobs: Mutex::new(HashSet::new()),
            }),
        })
    }

    /// Makes everything written before the call durable (see the module
    /// docs).
    pub(super) fn flush(&self) -> Result<(), StoreError> {
        let inner = &self.inner;
        inner.db.flush()?;
        inner
            .log
            .sync_data()
            .map_err(|error| naming(&inner.log_path, "syncing", error))?;
        self.sync_new_blobs()
    }

    /// Syncs the blob files not synced yet, then their directory (which
    /// holds their names). Blob files are written whole before the log
    /// entry that points at them, so one listed here is complete.
    fn sync_new_blobs(&self) -> Result<(), StoreError> {
        let inner = &self.inner;
        let entries = match std::fs::read_dir(&inner.blobs) {
            Ok(entries) => entries,
            // sled creates the directory at open; without it there is
            // nothing to sync.
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(naming(&inner.blobs, "listing", error)),
        };
        let mut synced = inner
            .synced_blobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut present = HashSet::new();
        let mut any_new = false;
        for entry in entries {
            let entry = entry.map_err(|error| naming(&inner.blobs, "listing", error))?;
            let name = entry.file_name();
            if !synced.contains(&name) {
                let path = entry.path();
                match File::open(&path) {
                    Ok(file) => file
                        .sync_all()
                        .map_err(|error| naming(&path, "syncing", error))?,
                    // Removed by sled's clean-up since it was listed: an
                    // old value nothing points at any more.
                    Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                    Err(error) => return Err(naming(&path, "opening", error)),
                }
                any_new = true;
            }
            present.insert(name);
        }
        if any_new {
            File::open(&inner.blobs)
                .and_then(|directory| directory.sync_all())
                .map_err(|error| naming(&inner.blobs, "syncing", error))?;
        }
        // Names sled has removed are forgotten, so that the set stays as
        // small as the directory.
        *synced = present;
        Ok(())
    }

    /// How many blob files have been synced and are still there.
    #[cfg(test)]
    pub(super) fn synced_blob_count(&self) -> usize {
        self.inner
            .synced_blobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob_files(directory: &Path) -> usize {
        std::fs::read_dir(directory.join("blobs")).unwrap().count()
    }

    #[test]
    fn a_flush_syncs_the_blob_files_sled_wrote_for_large_values() {
        let directory = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(directory.path()).open().unwrap();
        let disk = Disk::of(db.clone(), directory.path()).unwrap();
        db.insert(b"small", vec![7u8; 100]).unwrap();
        disk.flush().unwrap();
        assert_eq!(blob_files(directory.path()), 0);
        assert_eq!(disk.synced_blob_count(), 0);
        // A value over a quarter of sled's 512 KiB segment goes to a file
        // of its own, as a model file does.
        db.insert(b"large", vec![7u8; 300_000]).unwrap();
        db.insert(b"larger", vec![8u8; 400_000]).unwrap();
        disk.flush().unwrap();
        assert_eq!(blob_files(directory.path()), 2);
        assert_eq!(disk.synced_blob_count(), 2);
        // Synced once: the next flush finds nothing new.
        disk.flush().unwrap();
        assert_eq!(disk.synced_blob_count(), 2);
        drop(disk);
        drop(db);
        let db = sled::Config::new().path(directory.path()).open().unwrap();
        assert_eq!(db.get(b"larger").unwrap().unwrap().len(), 400_000);
    }

    #[test]
    fn a_database_without_its_log_file_is_named_in_the_error() {
        let directory = tempfile::tempdir().unwrap();
        let db = sled::Config::new().temporary(true).open().unwrap();
        let error = Disk::of(db, directory.path()).err().unwrap();
        let message = error.to_string();
        assert!(matches!(error, StoreError::Io(_)), "{message}");
        assert!(
            message.contains("opening") && message.contains("db"),
            "{message}"
        );
    }
}
