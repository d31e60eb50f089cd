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
//! [`Disk::flush`]: sled's flush, then `fsync` of every blob file not
//! synced before and of the blob directory, then `fdatasync` of the log
//! file. The decision writer's flushes too: sled puts any log message
//! larger than a quarter of a segment in a blob file, and a tree node it
//! rewrites whole (up to 17 values: a leaf of long comments) can be that
//! large; and a blob another write made (a model's registration) lies in
//! the log before the writer's batches, whose recovery stops at a blob
//! that is not on disk.
//! Each of those failing is a flush failure, which stops acknowledgements
//! as a failed sled flush does.

use std::collections::HashMap;
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
    /// The blob files already synced, by name, with the length each had
    /// when it was. A std mutex: held by one flushing thread at a time
    /// while it lists the directory, never across an await.
    synced_blobs: Mutex<HashMap<OsString, u64>>,
    /// Held by a test to keep the writer's flushes waiting (see
    /// `Disk::hold_flushes`).
    #[cfg(test)]
    flush_gate: Mutex<()>,
}

/// Opening a file or a directory to sync it can fail for a moment (the
/// process at its limit of open files while many connections are open);
/// a failed flush stops every acknowledgement until a restart, so an open
/// is tried three times, 10 ms apart, before it counts as failed. A file
/// that is not there is not tried again.
fn retrying<T>(mut open: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    let mut attempts = 1;
    loop {
        match open() {
            Err(error) if error.kind() != io::ErrorKind::NotFound && attempts < 3 => {
                attempts += 1;
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            result => return result,
        }
    }
}

/// An IO error that names the file it happened on.
fn naming(path: &Path, action: &str, error: io::Error) -> StoreError {
    StoreError::Io(io::Error::new(
        error.kind(),
        format!("{action} {}: {error}", path.display()),
    ))
}

impl Disk {
    /// The durability of the database sled has opened in `directory`. The
    /// directory is synced once here, so that the names of the files sled
    /// created in a new database (its log among them) are on disk before
    /// anything written to them is acknowledged.
    pub(super) fn of(db: sled::Db, directory: &Path) -> Result<Disk, StoreError> {
        let log_path = directory.join("db");
        let log = File::open(&log_path).map_err(|error| naming(&log_path, "opening", error))?;
        File::open(directory)
            .and_then(|opened| opened.sync_all())
            .map_err(|error| naming(directory, "syncing", error))?;
        Ok(Disk {
            inner: Arc::new(Inner {
                db,
                log,
                log_path,
                blobs: directory.join("blobs"),
                synced_blobs: Mutex::new(HashMap::new()),
                #[cfg(test)]
                flush_gate: Mutex::new(()),
            }),
        })
    }

    /// Makes everything written before the call durable (see the module
    /// docs). The blob files go first: the log must never be on disk
    /// pointing at a file that is not.
    pub(super) fn flush(&self) -> Result<(), StoreError> {
        self.inner.db.flush()?;
        self.sync_new_blobs()?;
        self.sync_log()
    }

    /// [`Disk::flush`] for the decision writer, which a test can hold
    /// (see [`Disk::hold_flushes`]).
    pub(super) fn flush_for_writer(&self) -> Result<(), StoreError> {
        #[cfg(test)]
        drop(
            self.inner
                .flush_gate
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        self.flush()
    }

    fn sync_log(&self) -> Result<(), StoreError> {
        let inner = &self.inner;
        inner
            .log
            .sync_data()
            .map_err(|error| naming(&inner.log_path, "syncing", error))
    }

    /// Syncs the blob files not synced yet at their present length, then
    /// their directory (which holds their names). sled writes a blob file
    /// in the thread that stores its value, so a flush running meanwhile
    /// can meet it half written: its length is kept with its name, and a
    /// file that has grown since is synced again.
    fn sync_new_blobs(&self) -> Result<(), StoreError> {
        let inner = &self.inner;
        let entries = match retrying(|| std::fs::read_dir(&inner.blobs)) {
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
        let mut present = HashMap::new();
        let mut any_new = false;
        for entry in entries {
            let entry = entry.map_err(|error| naming(&inner.blobs, "listing", error))?;
            let name = entry.file_name();
            let path = entry.path();
            // The length is read before the sync: what the sync then
            // covers is at least that much.
            let length = match entry.metadata() {
                Ok(metadata) => metadata.len(),
                // Removed by sled's clean-up since it was listed: an old
                // value nothing points at any more.
                Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                Err(error) => return Err(naming(&path, "reading", error)),
            };
            if synced.get(&name) != Some(&length) {
                match retrying(|| File::open(&path)) {
                    Ok(file) => file
                        .sync_all()
                        .map_err(|error| naming(&path, "syncing", error))?,
                    Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
                    Err(error) => return Err(naming(&path, "opening", error)),
                }
                any_new = true;
            }
            present.insert(name, length);
        }
        if any_new {
            retrying(|| File::open(&inner.blobs))
                .and_then(|directory| directory.sync_all())
                .map_err(|error| naming(&inner.blobs, "syncing", error))?;
        }
        // Names sled has removed are forgotten, so that the map stays as
        // small as the directory.
        *synced = present;
        Ok(())
    }

    /// Keeps the decision writer's flushes waiting until the guard is
    /// dropped, so that a test can see what a check does meanwhile.
    #[cfg(test)]
    pub(super) fn hold_flushes(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner
            .flush_gate
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The length a blob file had when it was last synced.
    #[cfg(test)]
    pub(super) fn synced_length(&self, name: &str) -> Option<u64> {
        self.inner
            .synced_blobs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(std::ffi::OsStr::new(name))
            .copied()
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

    /// A blob file met half written (sled writes it in the storing thread,
    /// while another thread may be flushing) is synced again once it has
    /// grown.
    #[test]
    fn a_blob_file_that_grew_since_its_sync_is_synced_again() {
        use std::io::Write;
        let directory = tempfile::tempdir().unwrap();
        let db = sled::Config::new().path(directory.path()).open().unwrap();
        let disk = Disk::of(db, directory.path()).unwrap();
        let path = directory.path().join("blobs").join("999");
        let mut file = File::create(&path).unwrap();
        file.write_all(&[1; 10]).unwrap();
        disk.flush().unwrap();
        assert_eq!(disk.synced_length("999"), Some(10));
        file.write_all(&[2; 10]).unwrap();
        disk.flush().unwrap();
        assert_eq!(disk.synced_length("999"), Some(20));
        // The decision writer's flush syncs them too: its own batches can
        // make blob files, and another write's may lie before them.
        file.write_all(&[3; 10]).unwrap();
        disk.flush_for_writer().unwrap();
        assert_eq!(disk.synced_length("999"), Some(30));
        std::fs::remove_file(&path).unwrap();
        disk.flush().unwrap();
        assert_eq!(disk.synced_blob_count(), 0);
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
