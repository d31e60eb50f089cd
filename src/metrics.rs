//! Counters and latency histograms of the service, and their Prometheus
//! text form. Recording is a few atomic or short mutex operations per call;
//! the figures that live in storage (queue depth, retraining jobs, the
//! active model) are read when the endpoint is scraped.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use crate::admission::AdmissionFigures;
use crate::domain::Verdict;
use crate::store::WriterFigures;

/// Upper bounds of the latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.000_5, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default, Clone)]
struct LatencyHistogram {
    /// Counts per bucket (not cumulative), then the overflow.
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    sum_seconds: f64,
    count: u64,
}

/// See the module docs. Std mutexes: held for one map update, never across
/// an await.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (rpc, status code name) -> calls.
    calls: Mutex<BTreeMap<(&'static str, String), u64>>,
    latency: Mutex<BTreeMap<&'static str, LatencyHistogram>>,
    verdicts: [AtomicU64; 3],
}

/// Figures read from storage at scrape time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredFigures {
    /// Pending items per site.
    pub queue_depth: Vec<(String, u64)>,
    /// The version serving now.
    pub model_version: String,
    /// Retraining jobs by outcome ("promoted", "not_promoted", "failed",
    /// "running").
    pub retrain_jobs: Vec<(&'static str, u64)>,
    /// The storage writer's rounds since the start.
    pub storage_writer: WriterFigures,
    /// People's labels that changed a decision since the start
    /// (resolutions and reports), counted by the engine once committed,
    /// whether or not their caller stayed for the answer.
    pub corrections: u64,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}

/// A label value, escaped as the text format wants.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// One series of a histogram in the text format: its cumulative buckets
/// (upper bound, count), the `+Inf` bucket, the sum and the count.
/// `labels` are the series' own (`rpc="CheckComment"`), or empty.
fn write_histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    cumulative: impl Iterator<Item = (f64, u64)>,
    count: u64,
    sum: f64,
) -> std::fmt::Result {
    let bucket_labels = |bound: &dyn std::fmt::Display| {
        if labels.is_empty() {
            format!("le=\"{bound}\"")
        } else {
            format!("{labels},le=\"{bound}\"")
        }
    };
    for (bound, within) in cumulative {
        writeln!(out, "{name}_bucket{{{}}} {within}", bucket_labels(&bound))?;
    }
    writeln!(out, "{name}_bucket{{{}}} {count}", bucket_labels(&"+Inf"))?;
    let series_labels = if labels.is_empty() {
        String::new()
    } else {
        format!("{{{labels}}}")
    };
    writeln!(out, "{name}_sum{series_labels} {sum}")?;
    writeln!(out, "{name}_count{series_labels} {count}")
}

impl Metrics {
    /// Records a finished call of `rpc` with its status code's name.
    pub fn record_call(&self, rpc: &'static str, code: &str, elapsed: Duration) {
        *lock(&self.calls)
            .entry((rpc, code.to_string()))
            .or_default() += 1;
        let seconds = elapsed.as_secs_f64();
        let mut latency = lock(&self.latency);
        let histogram = latency.entry(rpc).or_default();
        let bucket = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        histogram.buckets[bucket] += 1;
        histogram.sum_seconds += seconds;
        histogram.count += 1;
    }

    pub fn record_verdict(&self, verdict: Verdict) {
        let index = match verdict {
            Verdict::Allow => 0,
            Verdict::Review => 1,
            Verdict::Reject => 2,
        };
        self.verdicts[index].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition of everything.
    pub fn render(&self, stored: &StoredFigures, admission: AdmissionFigures) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_all(&mut out, stored);
        let _ = write_admission(&mut out, admission);
        out
    }

    fn write_all(&self, out: &mut String, stored: &StoredFigures) -> std::fmt::Result {
        writeln!(
            out,
            "# HELP moderato_calls_total gRPC calls answered, by RPC and status code."
        )?;
        writeln!(out, "# TYPE moderato_calls_total counter")?;
        for ((rpc, code), count) in lock(&self.calls).iter() {
            writeln!(
                out,
                "moderato_calls_total{{rpc=\"{rpc}\",code=\"{}\"}} {count}",
                label(code)
            )?;
        }
        writeln!(
            out,
            "# HELP moderato_call_seconds Time to answer a gRPC call, by RPC."
        )?;
        writeln!(out, "# TYPE moderato_call_seconds histogram")?;
        for (rpc, histogram) in lock(&self.latency).iter() {
            let cumulative =
                LATENCY_BUCKETS
                    .iter()
                    .zip(&histogram.buckets)
                    .scan(0, |total, (bound, count)| {
                        *total += count;
                        Some((*bound, *total))
                    });
            write_histogram(
                out,
                "moderato_call_seconds",
                &format!("rpc=\"{rpc}\""),
                cumulative,
                histogram.count,
                histogram.sum_seconds,
            )?;
        }
        writeln!(
            out,
            "# HELP moderato_verdicts_total Verdicts stored by CheckComment(s): first checks and rechecks (each counts), not dry runs nor retries answered with the stored decision."
        )?;
        writeln!(out, "# TYPE moderato_verdicts_total counter")?;
        for (name, counter) in ["allow", "review", "reject"].iter().zip(&self.verdicts) {
            writeln!(
                out,
                "moderato_verdicts_total{{verdict=\"{name}\"}} {}",
                counter.load(Ordering::Relaxed)
            )?;
        }
        writeln!(
            out,
            "# HELP moderato_corrections_total People's labels that changed a decision (resolutions and reports)."
        )?;
        writeln!(out, "# TYPE moderato_corrections_total counter")?;
        writeln!(out, "moderato_corrections_total {}", stored.corrections)?;
        writeln!(
            out,
            "# HELP moderato_queue_depth Items waiting for a moderator, by site."
        )?;
        writeln!(out, "# TYPE moderato_queue_depth gauge")?;
        for (site, depth) in &stored.queue_depth {
            writeln!(
                out,
                "moderato_queue_depth{{site=\"{}\"}} {depth}",
                label(site)
            )?;
        }
        writeln!(
            out,
            "# HELP moderato_model_info The model version serving now."
        )?;
        writeln!(out, "# TYPE moderato_model_info gauge")?;
        writeln!(
            out,
            "moderato_model_info{{version=\"{}\"}} 1",
            label(&stored.model_version)
        )?;
        writeln!(
            out,
            "# HELP moderato_retrain_jobs Retraining jobs stored, by outcome."
        )?;
        writeln!(out, "# TYPE moderato_retrain_jobs gauge")?;
        for (outcome, count) in &stored.retrain_jobs {
            writeln!(
                out,
                "moderato_retrain_jobs{{outcome=\"{outcome}\"}} {count}"
            )?;
        }
        let writer = &stored.storage_writer;
        writeln!(
            out,
            "# HELP moderato_storage_round_seconds Time the storage writer took to store one batch of checked comments' decisions and flush it to disk; each check in the batch waits for it."
        )?;
        writeln!(out, "# TYPE moderato_storage_round_seconds histogram")?;
        write_histogram(
            out,
            "moderato_storage_round_seconds",
            "",
            writer.rounds_within.iter().copied(),
            writer.rounds,
            writer.round_seconds,
        )?;
        writeln!(
            out,
            "# HELP moderato_storage_round_decisions_total Decisions the storage writer's rounds stored and flushed (divided by the rounds: about the mean batch)."
        )?;
        writeln!(out, "# TYPE moderato_storage_round_decisions_total counter")?;
        writeln!(
            out,
            "moderato_storage_round_decisions_total {}",
            writer.decisions
        )?;
        Ok(())
    }
}

/// The gauges of admission: what an operator reads to tell a server that
/// sheds calls for a moment's pause (calls waiting rise and fall) from one
/// that is over its capacity (the waiting room stays full).
fn write_admission(out: &mut String, admission: AdmissionFigures) -> std::fmt::Result {
    for (name, help, value) in [
        (
            "moderato_calls_in_progress",
            "Calls holding a place among the calls in progress (max_concurrent_calls).",
            admission.calls_in_progress,
        ),
        (
            "moderato_calls_waiting",
            "Calls waiting for a place (max_waiting_calls).",
            admission.calls_waiting,
        ),
        (
            "moderato_calls_waiting_bytes",
            "Bytes of requests the waiting calls hold (max_waiting_bytes).",
            admission.waiting_bytes,
        ),
        (
            "moderato_grpc_connections",
            "gRPC connections open (max_connections).",
            admission.connections.open,
        ),
    ] {
        writeln!(out, "# HELP {name} {help}")?;
        writeln!(out, "# TYPE {name} gauge")?;
        writeln!(out, "{name} {value}")?;
    }
    writeln!(
        out,
        "# HELP moderato_grpc_connections_refused_total gRPC connections closed as soon as accepted, the listener being at max_connections or the client's address at max_connections_per_address."
    )?;
    writeln!(
        out,
        "# TYPE moderato_grpc_connections_refused_total counter"
    )?;
    writeln!(
        out,
        "moderato_grpc_connections_refused_total {}",
        admission.connections.refused
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_form_counts_calls_buckets_and_stored_figures() {
        let metrics = Metrics::default();
        metrics.record_call("CheckComment", "Ok", Duration::from_micros(700));
        metrics.record_call("CheckComment", "Ok", Duration::from_millis(30));
        metrics.record_call(
            "CheckComment",
            "InvalidArgument",
            Duration::from_micros(100),
        );
        metrics.record_verdict(Verdict::Reject);
        let text = metrics.render(
            &StoredFigures {
                queue_depth: vec![("news.example".to_string(), 4)],
                model_version: "default-1\"x".to_string(),
                retrain_jobs: vec![("promoted", 1)],
                storage_writer: WriterFigures {
                    rounds_within: vec![(0.001, 2), (0.002, 3)],
                    rounds: 4,
                    round_seconds: 0.25,
                    decisions: 40,
                },
                corrections: 3,
            },
            AdmissionFigures {
                calls_in_progress: 64,
                calls_waiting: 7,
                waiting_bytes: 1_500,
                connections: crate::connection_limit::ConnectionFigures {
                    open: 12,
                    refused: 5,
                },
            },
        );
        for expected in [
            "moderato_calls_total{rpc=\"CheckComment\",code=\"Ok\"} 2",
            "moderato_calls_total{rpc=\"CheckComment\",code=\"InvalidArgument\"} 1",
            "moderato_call_seconds_bucket{rpc=\"CheckComment\",le=\"0.0005\"} 1",
            "moderato_call_seconds_bucket{rpc=\"CheckComment\",le=\"0.001\"} 2",
            "moderato_call_seconds_bucket{rpc=\"CheckComment\",le=\"+Inf\"} 3",
            "moderato_call_seconds_count{rpc=\"CheckComment\"} 3",
            "moderato_verdicts_total{verdict=\"reject\"} 1",
            "moderato_corrections_total 3",
            "moderato_queue_depth{site=\"news.example\"} 4",
            "moderato_model_info{version=\"default-1\\\"x\"} 1",
            "moderato_retrain_jobs{outcome=\"promoted\"} 1",
            "moderato_storage_round_seconds_bucket{le=\"0.001\"} 2",
            "moderato_storage_round_seconds_bucket{le=\"0.002\"} 3",
            "moderato_storage_round_seconds_bucket{le=\"+Inf\"} 4",
            "moderato_storage_round_seconds_sum 0.25",
            "moderato_storage_round_seconds_count 4",
            "moderato_storage_round_decisions_total 40",
            "moderato_calls_in_progress 64",
            "moderato_calls_waiting 7",
            "moderato_calls_waiting_bytes 1500",
            "moderato_grpc_connections 12",
            "moderato_grpc_connections_refused_total 5",
        ] {
            assert!(text.contains(expected), "{expected} not in\n{text}");
        }
    }
}
