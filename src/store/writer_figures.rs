//! What the decision writer has done: its rounds (one transaction and one
//! flush each), how long they took and how many decisions they stored, for
//! the metrics. A round that takes long holds every check in it: when calls
//! are shed at a moderate load, these figures tell whether the disk was
//! slow.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Upper bounds of the round-time buckets, in seconds: a round is a
/// transaction and an fsync, from a fraction of a millisecond on a local
/// SSD to seconds on a disk that stalls.
pub const ROUND_BUCKETS: [f64; 12] = [
    0.000_5, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

/// Counters the writer thread adds to and the metrics read; cheap to
/// clone. Atomics: written by one thread and read at a scrape. The rounds
/// are not counted apart: their count is the sum of the buckets, read in
/// the same pass, so that the count (Prometheus's `+Inf` bucket) is never
/// below a bucket, whatever order the reads see the writes in.
#[derive(Debug, Clone, Default)]
pub(super) struct WriterCounters {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    /// Rounds per bucket of [`ROUND_BUCKETS`] (not cumulative), then the
    /// rounds slower than the last bound.
    buckets: [AtomicU64; ROUND_BUCKETS.len() + 1],
    round_micros: AtomicU64,
    decisions: AtomicU64,
}

/// The writer's figures at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WriterFigures {
    /// Rounds that took at most each bound of [`ROUND_BUCKETS`]
    /// (cumulative, as Prometheus wants them).
    pub rounds_within: Vec<(f64, u64)>,
    /// Rounds in all, the slower than every bound included.
    pub rounds: u64,
    /// The rounds' time added up.
    pub round_seconds: f64,
    /// Decisions the rounds stored and flushed (not those a failed write
    /// or flush refused; a decision a retry had stored before counts: the
    /// round answered it from the store).
    pub decisions: u64,
}

impl WriterCounters {
    /// Counts a round of `decisions` that took `elapsed`.
    pub(super) fn record_round(&self, decisions: usize, elapsed: Duration) {
        let counters = &self.inner;
        let seconds = elapsed.as_secs_f64();
        let bucket = ROUND_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(ROUND_BUCKETS.len());
        counters.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        counters.round_micros.fetch_add(micros, Ordering::Relaxed);
        counters
            .decisions
            .fetch_add(decisions as u64, Ordering::Relaxed);
    }

    pub(super) fn figures(&self) -> WriterFigures {
        let counters = &self.inner;
        let mut cumulative = 0;
        let mut rounds_within = Vec::with_capacity(ROUND_BUCKETS.len());
        for (index, count) in counters.buckets.iter().enumerate() {
            cumulative += count.load(Ordering::Relaxed);
            if let Some(bound) = ROUND_BUCKETS.get(index) {
                rounds_within.push((*bound, cumulative));
            }
        }
        WriterFigures {
            rounds_within,
            rounds: cumulative,
            round_seconds: counters.round_micros.load(Ordering::Relaxed) as f64 / 1e6,
            decisions: counters.decisions.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_fall_into_cumulative_buckets_with_their_decisions_and_time() {
        let counters = WriterCounters::default();
        counters.record_round(3, Duration::from_micros(400));
        counters.record_round(10, Duration::from_millis(15));
        counters.record_round(1, Duration::from_secs(9));
        let figures = counters.figures();
        assert_eq!(figures.rounds, 3);
        assert_eq!(figures.decisions, 14);
        assert!((figures.round_seconds - 9.0154).abs() < 1e-9);
        let within = |bound: f64| {
            figures
                .rounds_within
                .iter()
                .find(|(upper, _)| *upper == bound)
                .unwrap()
                .1
        };
        assert_eq!(within(0.000_5), 1);
        assert_eq!(within(0.01), 1);
        assert_eq!(within(0.02), 2);
        // The nine-second round is beyond every bound: only the count
        // (Prometheus's +Inf) holds it.
        assert_eq!(within(5.0), 2);
    }
}
