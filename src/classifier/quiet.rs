//! Keeps linfa-bayes 0.8.1's leftover `dbg!` output off standard error.
//!
//! Every `fit_with` call of `MultinomialNb` prints each class histogram with
//! `dbg!`. Our own logs go to standard output, so while a fit runs we point
//! file descriptor 2 at /dev/null. The redirect is process-wide, hence the
//! lock: two fits at once must not restore each other's descriptors. It is a
//! std mutex because fits run on blocking threads, never across an await.

use std::sync::Mutex;

static STDERR_REDIRECT: Mutex<()> = Mutex::new(());

/// Runs `work` with standard error silenced (best effort: if the redirect
/// cannot be set up, `work` still runs and its noise is printed).
pub fn without_stderr<T>(work: impl FnOnce() -> T) -> T {
    let _guard = STDERR_REDIRECT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let gag = gag::Gag::stderr().ok();
    let result = work();
    drop(gag);
    result
}
