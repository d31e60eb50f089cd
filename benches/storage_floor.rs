//! What sled alone costs per stored decision on this machine, below
//! everything moderato adds: the floor under issue #8's throughput targets.
//!
//! Each variant writes decisions in batches into a fresh database in a
//! temporary directory, as the service's writer thread does, and flushes
//! after every batch (a durable answer per batch), on whatever cores the
//! process may use (run it under `taskset -c 0`, as the load bench pins the
//! server, so that sled's own threads share that core). It prints decisions
//! per second and, the figure that matters on one core, the CPU time (user
//! and system, from `getrusage`) per decision.
//!
//! `cargo bench --bench storage_floor [-- DECISIONS]` (default 200,000).
//! Variants: one entry per decision (a 600-byte value, about a decision as
//! deflate stored it), two entries (that value plus a 40-byte comment index entry,
//! the least a decision needs to be found again by its comment id) in two
//! atomic batches, and the same two entries in one transaction over both
//! trees; batches of 32 (the load bench's calls in flight) and 256. Nothing
//! here asserts a time: it reports.

use std::time::Instant;

/// A decision as deflate stored it was about this long (BENCHMARKS.md);
/// LZ4, used since, stores about 970 bytes.
const DECISION_BYTES: usize = 600;

#[derive(Clone, Copy)]
enum Layout {
    OneEntry,
    TwoEntries,
    TwoEntriesInOneTransaction,
}

impl Layout {
    fn describe(self) -> &'static str {
        match self {
            Layout::OneEntry => "1 entry (decision)",
            Layout::TwoEntries => "2 entries (decision, comment index), a batch per tree",
            Layout::TwoEntriesInOneTransaction => {
                "2 entries (decision, comment index), one transaction"
            }
        }
    }
}

/// User plus system CPU seconds this process has used.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |time: libc::timeval| time.tv_sec as f64 + time.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn run(layout: Layout, decisions: u64, batch: u64) {
    let directory = tempfile::tempdir().expect("a temporary directory");
    let database = sled::Config::new()
        .path(directory.path())
        .cache_capacity(64 << 20)
        .open()
        .expect("sled opens");
    let decisions_tree = database.open_tree("decisions").expect("a tree");
    let index_tree = database.open_tree("index").expect("a tree");
    let value = vec![0x5a_u8; DECISION_BYTES];
    let index_key = |id: u64| format!("site.example/comment-{id:020}");
    let (started, cpu_started) = (Instant::now(), cpu_seconds());
    let mut next = 0;
    while next < decisions {
        let ids = next..(next + batch).min(decisions);
        next = ids.end;
        match layout {
            Layout::OneEntry => {
                let mut entries = sled::Batch::default();
                for id in ids {
                    entries.insert(&id.to_be_bytes(), value.as_slice());
                }
                decisions_tree
                    .apply_batch(entries)
                    .expect("the batch is stored");
            }
            Layout::TwoEntries => {
                let (mut entries, mut index) = (sled::Batch::default(), sled::Batch::default());
                for id in ids {
                    entries.insert(&id.to_be_bytes(), value.as_slice());
                    index.insert(index_key(id).as_bytes(), &id.to_be_bytes());
                }
                decisions_tree
                    .apply_batch(entries)
                    .expect("the batch is stored");
                index_tree.apply_batch(index).expect("the batch is stored");
            }
            Layout::TwoEntriesInOneTransaction => {
                use sled::Transactional;
                (&decisions_tree, &index_tree)
                    .transaction(|(entries, index)| {
                        for id in ids.clone() {
                            entries.insert(&id.to_be_bytes(), value.as_slice())?;
                            index.insert(index_key(id).as_bytes(), &id.to_be_bytes())?;
                        }
                        Ok::<_, sled::transaction::ConflictableTransactionError<()>>(())
                    })
                    .expect("the transaction commits");
            }
        }
        database.flush().expect("the batch is flushed");
    }
    let (seconds, cpu) = (started.elapsed().as_secs_f64(), cpu_seconds() - cpu_started);
    println!(
        "{:<60} batch {batch:>3}: {:>7.0} decisions/s, {:>5.1} us of CPU each",
        layout.describe(),
        decisions as f64 / seconds,
        cpu * 1e6 / decisions as f64
    );
}

fn main() {
    let decisions: u64 = std::env::args()
        .skip(1)
        .find(|argument| !argument.starts_with('-'))
        .map(|argument| argument.parse().expect("DECISIONS is a whole number"))
        .unwrap_or(200_000);
    println!(
        "sled alone, {decisions} decisions of {DECISION_BYTES} bytes, flushed after each batch:"
    );
    for batch in [32, 256] {
        for layout in [
            Layout::OneEntry,
            Layout::TwoEntries,
            Layout::TwoEntriesInOneTransaction,
        ] {
            run(layout, decisions, batch);
        }
    }
}
