//! Group commit: many writers, one fsync.
//!
//! Each writer takes a ticket after its write and waits until a flush that
//! started after the ticket was taken has finished. One background thread
//! runs the flushes back to back, each covering every ticket taken before it
//! began, so the number of fsyncs does not grow with the number of writers.
//!
//! The request side uses a std mutex and condvar because the flusher is a
//! plain thread that blocks in fsync; writers hold the mutex only to take a
//! ticket, never across an await. Completion is published through a tokio
//! watch channel so async writers wait without blocking a runtime thread.

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use tokio::sync::watch;

use super::disk::Disk;
use super::StoreError;

#[derive(Default)]
struct Requests {
    /// The last ticket handed out.
    last_ticket: u64,
    shutting_down: bool,
}

#[derive(Clone, Default)]
struct Progress {
    /// Every ticket up to this one is on disk.
    durable_through: u64,
    /// Set when a flush failed; then no later ticket is ever confirmed.
    failure: Option<String>,
}

struct Shared {
    /// A std mutex: the flush thread waits on it with the condvar, and
    /// writers hold it only to take a ticket, never across an await.
    requests: Mutex<Requests>,
    wake: Condvar,
}

/// The first flush failure of either flusher, this group commit's thread or
/// the decision writer (see `writer`), shared by both: after it neither
/// acknowledges a write, since what sled holds is no longer known to match
/// the disk. A std mutex: the flush threads, which are not async, set it,
/// and every holder only reads or sets the message, never across an await.
#[derive(Clone, Default)]
pub struct FlushFailure(Arc<Mutex<Option<String>>>);

impl FlushFailure {
    pub fn get(&self) -> Option<String> {
        lock(&self.0).clone()
    }

    /// Records a failure; the first one is kept.
    pub fn set(&self, message: String) {
        lock(&self.0).get_or_insert(message);
    }
}

pub struct GroupCommit {
    shared: Arc<Shared>,
    failure: FlushFailure,
    progress: watch::Receiver<Progress>,
    /// The flush thread, joined on drop. A std mutex: held only to take
    /// the handle in `drop`, which is not async, never across an await.
    flusher: Mutex<Option<JoinHandle<()>>>,
}

impl GroupCommit {
    pub(super) fn start(disk: Disk, failure: FlushFailure) -> Result<GroupCommit, StoreError> {
        let shared = Arc::new(Shared {
            requests: Mutex::new(Requests::default()),
            wake: Condvar::new(),
        });
        let (sender, progress) = watch::channel(Progress::default());
        let thread_shared = Arc::clone(&shared);
        let thread_failure = failure.clone();
        let flusher = std::thread::Builder::new()
            .name("moderato-flush".to_string())
            .spawn(move || flush_loop(disk, &thread_shared, &thread_failure, &sender))
            .map_err(|error| {
                StoreError::WriterStopped(format!("the flush thread cannot be started: {error}"))
            })?;
        Ok(GroupCommit {
            shared,
            failure,
            progress,
            flusher: Mutex::new(Some(flusher)),
        })
    }

    /// The failure record this group commit shares with the writer.
    pub fn failure(&self) -> &FlushFailure {
        &self.failure
    }

    pub async fn wait_durable(&self) -> Result<(), StoreError> {
        if let Some(failure) = self.failure.get() {
            return Err(StoreError::FlushFailed(failure));
        }
        let ticket = {
            let mut requests = lock(&self.shared.requests);
            requests.last_ticket += 1;
            requests.last_ticket
        };
        self.shared.wake.notify_one();
        let mut progress = self.progress.clone();
        let reached = progress
            .wait_for(|state| state.durable_through >= ticket || state.failure.is_some())
            .await
            .map_err(|_| StoreError::FlushFailed("the flush thread has stopped".to_string()))?;
        // The writer's flush may have failed while this one succeeded.
        if let Some(failure) = self.failure.get() {
            return Err(StoreError::FlushFailed(failure));
        }
        if reached.durable_through >= ticket {
            Ok(())
        } else {
            Err(StoreError::FlushFailed(
                reached.failure.clone().unwrap_or_default(),
            ))
        }
    }
}

impl Drop for GroupCommit {
    fn drop(&mut self) {
        lock(&self.shared.requests).shutting_down = true;
        self.shared.wake.notify_one();
        if let Some(flusher) = lock(&self.flusher).take() {
            let _ = flusher.join();
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn flush_loop(
    disk: Disk,
    shared: &Shared,
    failure: &FlushFailure,
    progress: &watch::Sender<Progress>,
) {
    let mut durable_through = 0;
    loop {
        let target = {
            let mut requests = lock(&shared.requests);
            while requests.last_ticket == durable_through && !requests.shutting_down {
                requests = shared
                    .wake
                    .wait(requests)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            if requests.last_ticket == durable_through {
                // Shutting down with nothing outstanding.
                break;
            }
            requests.last_ticket
        };
        // Every ticket up to `target` was taken after its write finished, so
        // this flush, which starts now, covers all of them.
        match disk.flush() {
            Ok(_) => {
                durable_through = target;
                progress.send_modify(|state| state.durable_through = target);
            }
            Err(error) => {
                tracing::error!(%error, "flushing the database failed; writes can no longer be acknowledged");
                failure.set(error.to_string());
                progress.send_modify(|state| state.failure = Some(error.to_string()));
                return;
            }
        }
    }
    let _ = disk.flush();
}
