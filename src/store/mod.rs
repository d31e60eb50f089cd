//! Storage: the only module that knows sled.
//!
//! Trees:
//! - `decisions`: decision id -> the decision as LZ4-compressed JSON
//!   (deflated or plain JSON in databases written before, still read).
//! - `comments`: (site id, comment id) -> decision id, the idempotency index.
//! - `rule_recent`, `rule_authors`: the rules' state (see `rule_state`).
//! - `site_queue` (`review_queue`, or `queue` and `timeline`, in databases
//!   created before it), `queue_counts`, `statistics`: the review indexes
//!   and the daily statistics counters (see `index`), written in the same
//!   transaction as the decision they describe.
//! - `audit`: (decision id, sequence) -> audit entry; only ever appended,
//!   and deleted with its decision when a comment is forgotten (see
//!   `forget`).
//! - `corrections`: decision id -> the latest human label as a training
//!   example (see `review`).
//! - `models`, `model_files`, `learning`, `online`, `jobs`: the model
//!   registry, online learning and retraining jobs (see `models`).
//!
//! Durability: a write is acknowledged only after [`Store::durable`] returns,
//! which waits for a flush that started after the write: sled's `flush`
//! followed by our own fsync of its files (see `disk`: sled's flush alone
//! does not make its writes survive a power cut).
//! Concurrent writers share one flush (group commit, see `group_commit`).
//! Checks hand their decisions to one writer thread instead, which stores
//! what has arrived in one transaction and flushes it before answering
//! (see `writer`).
//! What survives a crash: every decision whose call was answered; a write
//! whose call was not answered may or may not be there, but never half.

mod blob_check;
mod decisions;
pub use decisions::Inserted;
mod disk;
mod error;
mod forget;
pub use forget::{Expired, FinishedExpiry, Forgotten};
mod group_commit;
mod index;
mod models;
mod review;
mod rule_state;
mod writer;
pub use writer::{DecisionWrite, SubmittedWrite, MAX_BATCH, QUEUE_CAPACITY};
mod writer_figures;
use writer_figures::WriterCounters;
pub use writer_figures::WriterFigures;

use std::path::Path;
use std::sync::Arc;

use disk::Disk;
pub use error::StoreError;
use group_commit::{FlushFailure, GroupCommit};
use index::Layout;
use models::LearningTrees;
use rule_state::RuleStateTrees;
use sled::transaction::TransactionError;
use writer::{Writer, WriterTrees};

/// A handle to the database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    db: sled::Db,
    /// Syncs what sled flushed (see `disk`).
    disk: Disk,
    decisions: sled::Tree,
    comments: sled::Tree,
    rule_state: RuleStateTrees,
    queue: sled::Tree,
    queue_counts: sled::Tree,
    timeline: sled::Tree,
    statistics: sled::Tree,
    /// Which index layout this database has (see `index`).
    layout: Layout,
    audit: sled::Tree,
    corrections: sled::Tree,
    /// Expiries whose decision is gone but whose other parts may not be
    /// (see `forget`): decision id -> where to find them.
    expiries_left: sled::Tree,
    learning: LearningTrees,
    /// Declared before `commit` so that it stops (answering what is queued)
    /// before the group commit's thread does.
    writer: Writer,
    /// What the writer has done, for the metrics.
    writer_counters: WriterCounters,
    commit: GroupCommit,
    /// Set by a test to make expiries fail after their decision's
    /// transaction, as a crash or a failed write would cut them short.
    #[cfg(test)]
    cut_expiries_short: std::sync::atomic::AtomicBool,
}

/// The page cache when `cache_mb` is not set: 40 MiB. sled's own default
/// (1 GiB) let the service's memory grow past a gigabyte as decisions
/// accumulated (measured in a 10-minute soak). sled's cache holds up to
/// about 1.7 times its nominal size once pages are read from disk, so on a
/// million decisions 64 MiB let the service reach 197 to 208 MiB after
/// 1,000 queue pages; 40 MiB held it at 174 to 186 MiB, under issue 8's
/// 200 MB, and the unary load benchmark measured the same throughput
/// (32 MiB cost about 17%; BENCHMARKS.md, "The review queue at scale"). A
/// big review queue is faster with a cache that holds the database
/// (`cache_mb`, see the README).
pub const DEFAULT_CACHE_BYTES: u64 = 40 * 1024 * 1024;

impl Store {
    /// Opens (or creates) the database in `directory`.
    pub fn open(directory: &Path) -> Result<Store, StoreError> {
        Store::open_with_cache(directory, DEFAULT_CACHE_BYTES)
    }

    /// [`Store::open`] with a page cache of `cache_bytes`: reads of tree
    /// nodes beyond it are decoded from the file again, which is what a
    /// queue page or a resolution of old items costs on a large database.
    pub fn open_with_cache(directory: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        Store::open_with_layout(directory, cache_bytes, None)
    }

    /// What the decision writer has done since the store was opened.
    pub fn writer_figures(&self) -> WriterFigures {
        self.inner.writer_counters.figures()
    }

    /// Keeps the decision writer's flushes waiting until the guard is
    /// dropped: no check is answered meanwhile.
    #[cfg(test)]
    pub(crate) fn hold_flushes(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner.disk.hold_flushes()
    }

    /// A store whose index layout is `layout` when the database has no
    /// decisions yet, for the tests of the older layout.
    #[cfg(test)]
    pub(in crate::store) fn open_as(directory: &Path, layout: Layout) -> Result<Store, StoreError> {
        Store::open_with_layout(directory, DEFAULT_CACHE_BYTES, Some(layout))
    }

    fn open_with_layout(
        directory: &Path,
        cache_bytes: u64,
        new_layout: Option<Layout>,
    ) -> Result<Store, StoreError> {
        let open_error = |message: String| StoreError::Open {
            path: directory.to_path_buf(),
            message,
        };
        if directory.exists() && !directory.is_dir() {
            return Err(open_error("it exists but is not a directory".to_string()));
        }
        create_private_directories(directory).map_err(|error| open_error(error.to_string()))?;
        // A damaged blob is looked for before sled opens, since sled may
        // rewrite its log over one (see `blob_check`).
        let damaged = blob_check::damaged_blobs(directory)
            .map_err(|error| open_error(format!("cannot read its blob files: {error}")))?;
        let first_damaged = damaged.first().map(|path| {
            let others = match damaged.len() {
                1 => String::new(),
                count => format!(" (and {} more)", count - 1),
            };
            format!("{}{others}", path.display())
        });
        let copied_aside = match &first_damaged {
            None => None,
            Some(blob) => Some(
                blob_check::copy_aside(directory, &damaged, crate::domain::UnixMillis::now().0)
                    .map_err(|error| {
                        open_error(format!(
                            "blob file {blob} fails its checksum (damaged), and the database's \
                             other files could not be copied aside before opening it ({error}); \
                             nothing was changed"
                        ))
                    })?,
            ),
        };
        let db = sled::Config::new()
            .path(directory)
            .cache_capacity(cache_bytes)
            // Our own group commit decides when to flush; sled's background
            // flush every 500 ms stays on as a second line.
            .open()
            .map_err(|error| match (&first_damaged, &copied_aside, error) {
                (Some(blob), Some(copy), sled::Error::Corruption { .. }) => open_error(format!(
                    "blob file {blob} fails its checksum (damaged), and sled cannot open the \
                     database without it; its files as they were before this start are in {}: \
                     put the blob back from a backup and those files back in place of the ones \
                     here before starting again",
                    copy.display()
                )),
                (_, _, error) => open_error(describe_open_error(error)),
            })?;
        if let (Some(blob), Some(copy)) = (&first_damaged, &copied_aside) {
            if damaged.iter().any(|path| path.exists()) {
                // sled did not read it at recovery and keeps it: its value
                // fails whenever it is read (a model, a learning snapshot).
                tracing::error!(
                    blob = %blob,
                    copy = %copy.display(),
                    "a blob file fails its checksum and the database still refers to it: the \
                     value it holds (a model file or a learning snapshot) cannot be read; put the \
                     file back from a backup (the database's other files as they were before this \
                     start are in the copy)"
                );
            } else {
                // sled dropped it as the torn end of a write that a crash
                // cut short, which is what it most likely was; the copy is
                // kept in case it was not, and records after it were
                // dropped too.
                tracing::error!(
                    blob = %blob,
                    copy = %copy.display(),
                    "a blob file failed its checksum and sled's recovery dropped it (the torn end \
                     of a write a crash cut short, most likely); the database's files as they were \
                     before this start are kept in the copy: delete it once nothing is found missing"
                );
            }
        }
        let disk = Disk::of(db.clone(), directory)?;
        let decisions = db.open_tree("decisions")?;
        let comments = db.open_tree("comments")?;
        let rule_state = RuleStateTrees::open(&db)?;
        let layout = match Layout::settle(&db)? {
            found if decisions.is_empty() => new_layout.unwrap_or(found),
            found => found,
        };
        let queue = db.open_tree(layout.queue_tree())?;
        let queue_counts = db.open_tree(index::COUNTS_TREE)?;
        let timeline = db.open_tree(index::TIMELINE_TREE)?;
        let statistics = db.open_tree(index::STATISTICS_TREE)?;
        let audit = db.open_tree("audit")?;
        let corrections = db.open_tree("corrections")?;
        let expiries_left = db.open_tree("expiries_left")?;
        let learning = LearningTrees::open(&db)?;
        let flush_failure = FlushFailure::default();
        let writer_counters = WriterCounters::default();
        let writer = Writer::start(WriterTrees {
            disk: disk.clone(),
            decisions: decisions.clone(),
            comments: comments.clone(),
            queue: queue.clone(),
            queue_counts: queue_counts.clone(),
            timeline: timeline.clone(),
            statistics: statistics.clone(),
            layout,
            rule_state: rule_state.clone(),
            flush_failure: flush_failure.clone(),
            counters: writer_counters.clone(),
        })?;
        let commit = GroupCommit::start(disk.clone(), flush_failure)?;
        let store = Store {
            inner: Arc::new(Inner {
                db,
                disk,
                decisions,
                comments,
                rule_state,
                queue,
                queue_counts,
                timeline,
                statistics,
                layout,
                audit,
                corrections,
                expiries_left,
                learning,
                writer,
                writer_counters,
                commit,
                #[cfg(test)]
                cut_expiries_short: std::sync::atomic::AtomicBool::new(false),
            }),
        };
        store.build_missing_indexes()?;
        store.settle_statistics()?;
        store.remove_empty_author_histories()?;
        Ok(store)
    }

    /// Opens a database that a store of this process has just closed. The
    /// last handle's drop returns before sled's background IO threads have
    /// all let go of the directory's lock, so an immediate reopen can find
    /// it still held for a moment; this retries for up to five seconds.
    #[cfg(test)]
    pub fn reopen(directory: &Path) -> Result<Store, StoreError> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            match Store::open(directory) {
                Err(StoreError::Open { message, .. })
                    if message.contains("in use by another moderato process")
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                }
                other => return other,
            }
        }
    }

    /// Waits until every write this task made before the call is on disk.
    pub async fn durable(&self) -> Result<(), StoreError> {
        self.inner.commit.wait_durable().await
    }

    /// Flushes everything now, blocking (for shutdown, retraining and
    /// command-line use). A failure is recorded like one of the group
    /// commit's: no write is acknowledged after it, since what sled holds
    /// is no longer known to match the disk.
    pub fn flush(&self) -> Result<(), StoreError> {
        if let Err(error) = self.inner.disk.flush() {
            self.inner.commit.failure().set(error.to_string());
            return Err(error);
        }
        Ok(())
    }

    /// Why writes can no longer be made durable, if they cannot: a flush
    /// failed, or the writer thread has stopped. Either lasts until the
    /// store is opened again.
    pub fn write_failure(&self) -> Option<String> {
        if let Some(failure) = self.inner.commit.failure().get() {
            return Some(format!("a flush failed: {failure}"));
        }
        (!self.inner.writer.is_running())
            .then(|| "the thread that stores decisions has stopped".to_string())
    }

    /// Bytes the database occupies on disk.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        Ok(self.inner.db.size_on_disk()?)
    }
}

/// The error of a transaction whose aborts carry a [`StoreError`].
fn transaction_error(error: TransactionError<StoreError>) -> StoreError {
    match error {
        TransactionError::Abort(error) => error,
        TransactionError::Storage(error) => StoreError::from(error),
    }
}

fn describe_open_error(error: sled::Error) -> String {
    match error {
        // sled reports a lock held by another process as an `Other` error
        // that spells out the `WouldBlock` of the lock call; other lock
        // failures (no locks on this file system) keep sled's words.
        sled::Error::Io(io)
            if io.kind() == std::io::ErrorKind::WouldBlock
                || (io.to_string().starts_with("could not acquire lock")
                    && io.to_string().contains("WouldBlock")) =>
        {
            "the directory is in use by another moderato process".to_string()
        }
        // sled's own words are its debug text ("Read corrupted data at
        // file offset None backtrace ()"), which tells an operator nothing.
        sled::Error::Corruption { at, .. } => format!(
            "its files are damaged (sled found data it cannot read back{}); restore the \
             directory from a backup, and keep a copy of it as it is before starting again",
            at.map(|offset| format!(" at {offset:?}"))
                .unwrap_or_default()
        ),
        other => other.to_string(),
    }
}

fn to_json<T: serde::Serialize>(key: &str, value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|error| StoreError::Corrupt {
        key: key.to_string(),
        message: error.to_string(),
    })
}

fn from_json<T: serde::de::DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|error| StoreError::Corrupt {
        key: String::from_utf8_lossy(key).into_owned(),
        message: error.to_string(),
    })
}

/// Creates `directory` and the directories above it that are missing,
/// readable by their owner only: the database holds readers' comments,
/// e-mail and IP addresses. Directories that exist keep the permissions the
/// operator gave them.
fn create_private_directories(directory: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(directory)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damaged_files_are_described_for_an_operator() {
        let message = describe_open_error(sled::Error::Corruption { at: None, bt: () });
        assert!(message.starts_with("its files are damaged"), "{message}");
        assert!(
            message.contains("restore the directory from a backup"),
            "{message}"
        );
        assert!(!message.contains("backtrace"), "{message}");
    }

    /// A damaged blob file: sled's recovery takes it for the torn end of a
    /// write and drops it (and the value with it), rewriting its log; the
    /// files copied aside before sled touched anything put the database
    /// back once the blob is restored. (sled may refuse the open instead,
    /// as a reviewer saw with a model's blob; the copy is made either way.)
    #[tokio::test]
    async fn a_damaged_blob_is_named_and_the_files_before_the_open_are_kept() {
        let root = tempfile::tempdir().unwrap();
        let directory = root.path().join("db");
        {
            let store = Store::open(&directory).unwrap();
            // As large as a model file: sled keeps it in a blob file.
            store.inner.db.insert(b"large", vec![7u8; 300_000]).unwrap();
            store.durable().await.unwrap();
        }
        let blobs: Vec<_> = std::fs::read_dir(directory.join("blobs"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        assert_eq!(blobs.len(), 1, "{blobs:?}");
        let blob = blobs[0].clone();
        let intact = std::fs::read(&blob).unwrap();
        let log_before = std::fs::read(directory.join("db")).unwrap();
        std::fs::write(&blob, &intact[..1000]).unwrap();

        let store = Store::reopen(&directory).unwrap();
        assert_eq!(store.inner.db.get(b"large").unwrap(), None);
        drop(store);
        let copies: Vec<_> = std::fs::read_dir(root.path())
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.to_string_lossy().contains("db.before-open-"))
            .collect();
        assert_eq!(copies.len(), 1, "{copies:?}");
        let copy = &copies[0];
        assert_eq!(std::fs::read(copy.join("db")).unwrap(), log_before);
        assert_ne!(std::fs::read(directory.join("db")).unwrap(), log_before);
        // The blob from a backup, and the files as they were: it opens, and
        // the value reads back.
        std::fs::write(&blob, &intact).unwrap();
        for entry in std::fs::read_dir(copy).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), directory.join(entry.file_name())).unwrap();
        }
        let store = Store::reopen(&directory).unwrap();
        assert_eq!(
            store.inner.db.get(b"large").unwrap().unwrap().len(),
            300_000
        );
    }

    /// The directories a first start creates are the owner's alone; one
    /// that existed keeps its permissions.
    #[cfg(unix)]
    #[test]
    fn the_directories_a_store_creates_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let existing = root.path().join("existing");
        std::fs::create_dir(&existing).unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o755)).unwrap();
        let data = existing.join("data");
        let store = Store::open(&data.join("db")).unwrap();
        drop(store);
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        assert_eq!(mode(&data.join("db")), 0o700);
        assert_eq!(mode(&existing), 0o755);
    }
}
