//! Retention: how long the service keeps what it stored of a comment. With
//! `[retention] decisions_days` set, a comment whose decision was made
//! longer ago than that, that waits for no review and that no one labelled
//! since (see `store::forget`'s `is_expired`), is forgotten as
//! `ForgetComment` forgets one (its decision, index entries, audit trail,
//! training example and what online learning and the rules kept of it),
//! except that the daily statistics keep counting it. So the service keeps
//! the comments of the last N days rather than every comment it ever
//! checked, and none for longer than a site needs. (sled frees the space
//! of deleted records as it rewrites its log, not at once: BENCHMARKS.md,
//! "Retention".) Off by default: nothing stored is deleted unless an
//! operator asks.
//!
//! `RetentionParams` -> `check()` -> `ValidRetentionParams`; the
//! `[retention]` table of the configuration sets them.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::domain::UnixMillis;
use crate::engine::Engine;

/// `[retention]` as written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionParams {
    /// Days a decision is kept once it waits for no review (allowed or
    /// rejected by the verdict, or settled by a moderator); 0 keeps
    /// decisions for ever.
    pub decisions_days: u32,
}

/// The longest retention that can be configured: a hundred years.
const MAX_DAYS: u32 = 36_500;

/// Retention parameters that passed [`RetentionParams::check`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidRetentionParams(RetentionParams);

impl RetentionParams {
    /// Checks the values; the error names the key.
    pub fn check(self) -> Result<ValidRetentionParams, (&'static str, &'static str)> {
        if self.decisions_days > MAX_DAYS {
            return Err((
                "decisions_days",
                "must be from 0 (for ever) to 36500 (a hundred years)",
            ));
        }
        Ok(ValidRetentionParams(self))
    }
}

impl ValidRetentionParams {
    /// How long decisions are kept; `None` for ever.
    pub fn keep_for(&self) -> Option<Duration> {
        let days = u64::from(self.0.decisions_days);
        (days > 0).then(|| Duration::from_secs(days * 24 * 60 * 60))
    }
}

/// How often the service looks for decisions past the retention period
/// (and once at the start).
pub const EXPIRY_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// The time before which decisions are past a retention of `keep_for`,
/// at `now`.
pub fn expiry_cutoff(now: UnixMillis, keep_for: Duration) -> UnixMillis {
    let kept = i64::try_from(keep_for.as_millis()).unwrap_or(i64::MAX);
    UnixMillis(now.0.saturating_sub(kept))
}

/// Forgets the comments past the retention period at the start and then
/// every [`EXPIRY_INTERVAL`], until the handle is dropped. When decisions
/// are kept for ever it only finishes, once, the expiries that a run with
/// retention on cut short (a crash in the middle of one), so that turning
/// retention off leaves no part of a comment it had begun to forget.
pub fn spawn_expiry(
    engine: Arc<Engine>,
    retention: &ValidRetentionParams,
) -> tokio_util::task::AbortOnDropHandle<()> {
    let Some(keep_for) = retention.keep_for() else {
        return tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
            if let Err(error) = engine.finish_cut_short_expiries().await {
                tracing::warn!(
                    %error,
                    "cannot finish the expiries an earlier run left unfinished; trying again at the next start"
                );
            }
        }));
    };
    let days = retention.0.decisions_days;
    let task = tokio::spawn(async move {
        let mut ticks = tokio::time::interval(EXPIRY_INTERVAL);
        // After a long pause (a suspended machine), one look, not a burst.
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let before = expiry_cutoff(UnixMillis::now(), keep_for);
            match engine.expire_decisions(before).await {
                Ok(0) => tracing::debug!(days, "no comment past the retention period"),
                Ok(count) => tracing::info!(
                    count,
                    days,
                    "forgot the comments past the retention period (daily statistics keep them)"
                ),
                // A failed read or flush: the next look tries again, and
                // health checking reports a storage that can no longer make
                // writes durable.
                Err(error) => tracing::warn!(
                    %error,
                    "cannot forget the comments past the retention period; trying again in an hour"
                ),
            }
        }
    });
    tokio_util::task::AbortOnDropHandle::new(task)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_off_by_default_and_checked() {
        assert_eq!(ValidRetentionParams::default().keep_for(), None);
        let days = |decisions_days| RetentionParams { decisions_days }.check();
        assert_eq!(
            days(30).unwrap().keep_for(),
            Some(Duration::from_secs(30 * 86_400))
        );
        assert_eq!(days(0).unwrap().keep_for(), None);
        assert_eq!(days(MAX_DAYS + 1).unwrap_err().0, "decisions_days");
    }

    #[test]
    fn the_cutoff_is_the_retention_period_before_now() {
        let day = Duration::from_secs(86_400);
        assert_eq!(
            expiry_cutoff(UnixMillis(10 * 86_400_000), day * 3),
            UnixMillis(7 * 86_400_000)
        );
        // No overflow, whatever the period: before the epoch.
        assert!(expiry_cutoff(UnixMillis(0), Duration::MAX) < UnixMillis(0));
    }
}
