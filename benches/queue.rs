//! The review queue at scale: fills a sled database in a temporary
//! directory with N decisions straight through `Store` (in batches, no
//! gRPC), then measures what `ListQueue` and `ResolveItems` do below the
//! gRPC edge, and prints latency percentiles and the size on disk.
//!
//! `cargo bench --bench queue -- 1000000` (or `QUEUE_BENCH_DECISIONS`);
//! the default is 1,000,000. `QUEUE_BENCH_CACHE_MB` sets sled's page cache
//! (default: the service's), and `QUEUE_BENCH_SITES` the number of sites
//! (default 20). At the end it starts the real binary, with
//! the same page cache, on the database and reports its start-up time, its
//! memory (at start, after 2,000 checks, after 200 and 1,000 queue pages)
//! and how long `GetStats` takes. Nothing here asserts
//! a time: it reports. `QUEUE_BENCH_KEEP=1` keeps the database, and
//! `QUEUE_BENCH_SERVICE_ONLY=<directory>` measures only the service on one
//! kept before.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use moderato::auth::{Principal, Role};
use moderato::classifier::Model;
use moderato::domain::{
    Assessment, Author, Comment, Decision, FormSignals, Label, PostContext, Priority, Reason,
    ReasonSource, ReviewStatus, UnixMillis, Verdict,
};
use moderato::engine::Engine;
use moderato::review::{CorrectionSource, LabelRequest, QueueFilter, SiteScope};
use moderato::review_operations::Resolve;
use moderato::store::{Store, DEFAULT_CACHE_BYTES};
use moderato::verdict::Thresholds;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

mod common;
use common::{authorized, rss_mib};

/// The sites decisions are spread over when `QUEUE_BENCH_SITES` is unset.
const DEFAULT_SITES: usize = 20;
const FILL_BATCH: usize = 1_000;
const PAGE_SIZE: usize = 50;
const LIST_SAMPLES: usize = 2_000;
const RESOLVE_SAMPLES: usize = 200;
const RESOLVE_BATCH: usize = 100;
/// The first decision's time (November 2023).
const START_MILLIS: i64 = 1_700_000_000_000;
/// Decisions are 2.592 s apart: a million over 30 days, so that the
/// statistics have 720 hours of counters per site to read.
const SPACING_MILLIS: i64 = 2_592;

fn decision_count() -> usize {
    let from_args = std::env::args()
        .skip(1)
        .find(|arg| !arg.starts_with('-'))
        .map(|arg| arg.replace('_', ""));
    let from_env = std::env::var("QUEUE_BENCH_DECISIONS").ok();
    from_args
        .or(from_env)
        .map(|text| {
            text.parse()
                .unwrap_or_else(|_| panic!("the decision count {text:?} is not a number"))
        })
        .unwrap_or(1_000_000)
}

fn site(index: usize) -> String {
    format!("site-{index:02}.example")
}

/// A decision as the service would store it: a comment of a few sentences,
/// an author, four reasons; 70% allowed, 20% in review, 10% rejected.
fn decision(index: usize, random: &mut StdRng, start: i64) -> Decision {
    let roll: f64 = random.gen();
    let (verdict, score) = if roll < 0.7 {
        (Verdict::Allow, random.gen_range(0.0..0.5))
    } else if roll < 0.9 {
        (Verdict::Review, random.gen_range(0.5..0.9))
    } else {
        (Verdict::Reject, random.gen_range(0.9..1.0))
    };
    let thresholds = Thresholds::default();
    let reasons = (0..4)
        .map(|reason| Reason {
            source: ReasonSource::Model,
            code: "token".to_string(),
            message: format!("the word \"w{reason}x{}\" is common in spam", index % 997),
            weight: 0.25,
        })
        .collect();
    let created_at = UnixMillis(start + index as i64 * SPACING_MILLIS);
    Decision {
        decision_id: uuid::Uuid::now_v7().to_string(),
        comment: Comment {
            site_id: site(index % site_count()),
            comment_id: format!("comment-{index}"),
            content: format!(
                "Comment number {index}: I read the whole article and I think the author \
                 makes a fair point about the budget, but the figures for {} look off.",
                random.gen::<u32>()
            ),
            author: Author {
                name: format!("Reader {}", index % 5_000),
                email: format!("reader{}@mail.example", index % 5_000),
                url: String::new(),
                ip: Some(std::net::IpAddr::from([10, 0, (index % 250) as u8, 7])),
                user_agent: "Mozilla/5.0 (X11; Linux x86_64)".to_string(),
            },
            context: PostContext {
                permalink: format!(
                    "https://{}/articles/{}",
                    site(index % site_count()),
                    index % 300
                ),
                ..PostContext::default()
            },
            submitted_at: created_at,
            form: FormSignals::default(),
        },
        assessment: Assessment {
            verdict,
            spam_probability: score,
            score,
            priority: thresholds.priority(score),
            reasons,
            model_version: "default-bench".to_string(),
        },
        created_at,
        status: ReviewStatus::initial_for(verdict),
        resolution: None,
        labels_set: 0,
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("the histogram bounds are valid")
}

fn report(name: &str, histogram: &Histogram<u64>) {
    if histogram.is_empty() {
        println!("{name:<48} (no samples: too few decisions for this part)");
        return;
    }
    let millis = |micros: u64| micros as f64 / 1_000.0;
    println!(
        "{name:<48} n={:<5} p50={:>8.3} ms  p90={:>8.3} ms  p99={:>8.3} ms  max={:>8.3} ms",
        histogram.len(),
        millis(histogram.value_at_quantile(0.50)),
        millis(histogram.value_at_quantile(0.90)),
        millis(histogram.value_at_quantile(0.99)),
        millis(histogram.max()),
    );
}

fn record(histogram: &mut Histogram<u64>, elapsed: Duration) {
    let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.max(1));
}

fn directory_bytes(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|entry| match entry.metadata() {
                    Ok(metadata) if metadata.is_dir() => directory_bytes(&entry.path()),
                    Ok(metadata) => metadata.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Pages through a queue from the start, timing each page, until
/// `samples` pages were read (starting over at the end).
fn time_pages(store: &Store, filter: &QueueFilter, samples: usize) -> Histogram<u64> {
    let mut timings = histogram();
    let mut cursor = None;
    for _ in 0..samples {
        let started = Instant::now();
        let page = store
            .queue_page(filter, cursor.as_ref(), PAGE_SIZE)
            .expect("a queue page is read");
        record(&mut timings, started.elapsed());
        assert!(page.items.len() <= PAGE_SIZE);
        cursor = page.next;
    }
    timings
}

/// `QUEUE_BENCH_SITES` spreads the decisions over that many sites
/// (default 20): the queue of all sites merges one index range per site.
fn site_count() -> usize {
    static COUNT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *COUNT.get_or_init(|| {
        std::env::var("QUEUE_BENCH_SITES")
            .ok()
            .map(|text| match text.parse::<usize>() {
                Ok(count) if count >= 4 => count,
                _ => panic!("QUEUE_BENCH_SITES {text:?} is not a number of sites from 4 up"),
            })
            .unwrap_or(DEFAULT_SITES)
    })
}

/// `QUEUE_BENCH_CACHE_MB` sizes sled's page cache (default: the service's default).
fn cache_bytes() -> u64 {
    std::env::var("QUEUE_BENCH_CACHE_MB")
        .ok()
        .map(|text| {
            text.parse::<u64>()
                .unwrap_or_else(|_| panic!("QUEUE_BENCH_CACHE_MB {text:?} is not a number"))
                * 1024
                * 1024
        })
        .unwrap_or(DEFAULT_CACHE_BYTES)
}

fn main() {
    // `QUEUE_BENCH_SERVICE_ONLY=<directory>` only starts the service on a
    // database kept by an earlier run (`QUEUE_BENCH_KEEP=1`) and measures it.
    if let Some(kept) = std::env::var_os("QUEUE_BENCH_SERVICE_ONLY") {
        let cache_bytes = cache_bytes();
        tokio::runtime::Runtime::new()
            .expect("a runtime")
            .block_on(measure_service(std::path::Path::new(&kept), cache_bytes));
        return;
    }
    let count = decision_count();
    let temporary = tempfile::tempdir().expect("a temporary directory");
    // `QUEUE_BENCH_KEEP=1` keeps the filled database (its path is printed),
    // to measure start-up on it again without filling it anew.
    let (directory, _removed_at_exit) = if std::env::var_os("QUEUE_BENCH_KEEP").is_some() {
        let kept = temporary.keep();
        println!("keeping the database in {}", kept.display());
        (kept, None)
    } else {
        (temporary.path().to_path_buf(), Some(temporary))
    };
    let cache_bytes = cache_bytes();
    println!("sled page cache: {} MiB", cache_bytes / (1024 * 1024));
    let store = Store::open_with_cache(&directory.as_path().join("db"), cache_bytes)
        .expect("the store opens");
    let mut random = StdRng::seed_from_u64(5);
    let start = START_MILLIS;

    println!(
        "filling {count} decisions over {} sites in batches of {FILL_BATCH}...",
        site_count()
    );
    let fill_started = Instant::now();
    let mut index = 0;
    while index < count {
        let batch: Vec<Decision> = (index..(index + FILL_BATCH).min(count))
            .map(|index| decision(index, &mut random, start))
            .collect();
        store.insert_decisions(&batch).expect("a batch is stored");
        index += batch.len();
    }
    store.flush().expect("the fill is flushed");
    let fill_seconds = fill_started.elapsed().as_secs_f64();
    println!(
        "filled in {fill_seconds:.1} s ({:.0} decisions/s)",
        count as f64 / fill_seconds
    );

    let sled_bytes = store.size_on_disk().expect("the size is known");
    let file_bytes = directory_bytes(directory.as_path());
    println!(
        "database: {} decisions, sled size_on_disk {:.1} MiB, files {:.1} MiB, {:.0} bytes per decision (files)",
        store.decision_count(),
        sled_bytes as f64 / (1024.0 * 1024.0),
        file_bytes as f64 / (1024.0 * 1024.0),
        file_bytes as f64 / count as f64
    );

    let pending = |scope: SiteScope, min_priority: Priority| QueueFilter {
        scope,
        status: ReviewStatus::Pending,
        min_priority,
    };
    let all = pending(SiteScope::All, Priority::Low);
    println!(
        "pending items: {} of {count}",
        store.queue_total(&all).expect("the total is read")
    );
    println!("ListQueue page of {PAGE_SIZE} (store call: index ranges, decisions, total):");
    report(
        "  all sites, paging on",
        &time_pages(&store, &all, LIST_SAMPLES),
    );
    report(
        "  one site, paging on",
        &time_pages(
            &store,
            &pending(SiteScope::Sites(vec![site(3)]), Priority::Low),
            LIST_SAMPLES,
        ),
    );
    report(
        "  three sites (moderator's), paging on",
        &time_pages(
            &store,
            &pending(
                SiteScope::Sites(vec![site(1), site(2), site(3)]),
                Priority::Low,
            ),
            LIST_SAMPLES,
        ),
    );
    report(
        "  all sites, min priority high",
        &time_pages(
            &store,
            &pending(SiteScope::All, Priority::High),
            LIST_SAMPLES,
        ),
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // Online learning is on, as in the service: a resolution includes
    // learning its labels into the live model.
    let engine = std::sync::Arc::new(Engine::new(
        store.clone(),
        Model::embedded_default().expect("the built-in model loads"),
        Thresholds::default(),
        moderato::rules::Rules::default(),
    ));
    let moderator = Principal {
        name: "bench".to_string(),
        role: Role::Moderator,
        sites: Vec::new(),
    };
    let mut resolve_timings = histogram();
    let pending_items = store.queue_total(&all).expect("the total is read") as usize;
    let samples = RESOLVE_SAMPLES.min(pending_items / RESOLVE_BATCH);
    for sample in 0..samples {
        let page = store
            .queue_page(&all, None, RESOLVE_BATCH)
            .expect("a page to resolve");
        let resolve = Resolve {
            decision_ids: page.items.iter().map(|d| d.decision_id.clone()).collect(),
            label: if sample % 2 == 0 {
                Label::Spam
            } else {
                Label::Ham
            },
            moderator: "bench".to_string(),
            note: String::new(),
            shown: Default::default(),
        };
        let started = Instant::now();
        let resolved = runtime
            .block_on(engine.resolve_items(Box::new(moderator.clone()), resolve))
            .expect("the items are resolved");
        record(&mut resolve_timings, started.elapsed());
        assert_eq!(resolved.decisions.len(), RESOLVE_BATCH);
    }
    println!("ResolveItems of {RESOLVE_BATCH} ids (engine call, durable before returning):");
    report("  resolve 100 pending items", &resolve_timings);

    // Where the time of a resolution goes: the labelling transaction and
    // the flush after it, timed apart on further pages.
    let mut transaction_timings = histogram();
    let mut batch_flush_timings = histogram();
    let request = LabelRequest {
        label: Label::Spam,
        by: "bench".to_string(),
        key_name: "bench".to_string(),
        source: CorrectionSource::Moderator,
        note: String::new(),
        shown: Default::default(),
    };
    let still_pending = store.queue_total(&all).expect("the total is read") as usize;
    for _ in 0..(still_pending / RESOLVE_BATCH).min(50) {
        let page = store
            .queue_page(&all, None, RESOLVE_BATCH)
            .expect("a page to resolve");
        let ids: Vec<String> = page.items.iter().map(|d| d.decision_id.clone()).collect();
        let started = Instant::now();
        store
            .apply_labels(&ids, &SiteScope::All, &request, UnixMillis::now())
            .expect("the labels are written");
        record(&mut transaction_timings, started.elapsed());
        let started = Instant::now();
        runtime
            .block_on(store.durable())
            .expect("the labels are made durable");
        record(&mut batch_flush_timings, started.elapsed());
    }
    report("  of which the labelling transaction", &transaction_timings);
    report("  of which the flush after it", &batch_flush_timings);

    // What of that is the flush: one small write made durable, alone.
    let mut flush_timings = histogram();
    for sample in 0..samples.max(1) {
        let one = decision(count + sample, &mut random, start);
        store.insert_decision(&one).expect("a decision is stored");
        let started = Instant::now();
        runtime
            .block_on(store.durable())
            .expect("the write is made durable");
        record(&mut flush_timings, started.elapsed());
    }
    report(
        "  of which a flush alone (one write, durable)",
        &flush_timings,
    );

    store.flush().expect("the store is flushed");
    let file_bytes = directory_bytes(directory.as_path());
    println!(
        "after resolving {} items: files {:.1} MiB, {:.0} bytes per decision",
        samples * RESOLVE_BATCH,
        file_bytes as f64 / (1024.0 * 1024.0),
        file_bytes as f64 / count as f64
    );

    // The service itself on this database: the store must be closed first,
    // because a database is open in one process at a time.
    drop(engine);
    drop(store);
    runtime.block_on(measure_service(directory.as_path(), cache_bytes));
}

/// Starts the real binary on the filled database with the same page cache
/// (`cache_mb` in a config file beside it), as an operator would after a
/// restart: the time until it answers health checks with SERVING, and its
/// resident memory then and after 2,000 checks and 200 queue pages.
async fn measure_service(data_dir: &std::path::Path, cache_bytes: u64) {
    use std::io::BufRead;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;

    let config = data_dir.join("queue-bench.toml");
    std::fs::write(
        &config,
        format!("cache_mb = {}\n", cache_bytes / (1024 * 1024)),
    )
    .expect("the config is written");
    let started = Instant::now();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_moderato"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .arg("--config")
        .arg(&config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the server starts");
    let mut lines = std::io::BufReader::new(child.stdout.take().expect("its output")).lines();
    let address = loop {
        let line = lines
            .next()
            .expect("the server exited before it was ready")
            .expect("its output reads");
        if let Some(address) = line
            .split_whitespace()
            .filter(|_| line.contains("ready to serve"))
            .find_map(|field| field.strip_prefix("address="))
        {
            break address.to_string();
        }
    };
    // Keep draining its output so that it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .expect("a URI")
        .connect()
        .await
        .expect("the server answers");
    let status = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .expect("the health check answers")
        .into_inner()
        .status();
    let serving_after = started.elapsed();
    assert_eq!(status, ServingStatus::Serving);
    let rss_at_start = rss_mib(child.id()).unwrap_or(0.0);

    let token = std::fs::read_to_string(data_dir.join("admin.token")).expect("the admin token");
    let token = token.trim();
    let mut moderation =
        moderato::grpc::pb::moderation_client::ModerationClient::new(channel.clone());
    for index in 0..2_000 {
        moderation
            .check_comment(authorized(
                token,
                moderato::grpc::pb::CheckCommentRequest {
                    site_id: site(index % site_count()),
                    comment_id: format!("after-restart-{index}"),
                    content: format!("A reader's comment number {index} after the restart."),
                    ..Default::default()
                },
            ))
            .await
            .expect("a check is answered");
    }
    let rss_after_checks = rss_mib(child.id()).unwrap_or(0.0);
    let stats_channel = channel.clone();
    let mut review = moderato::grpc::pb::review_client::ReviewClient::new(channel);
    let mut page_token = String::new();
    let mut rss_after_pages = Vec::new();
    for page_number in 1..=1_000 {
        let page = review
            .list_queue(authorized(
                token,
                moderato::grpc::pb::ListQueueRequest {
                    page_token: page_token.clone(),
                    ..Default::default()
                },
            ))
            .await
            .expect("a queue page is answered")
            .into_inner();
        page_token = page.next_page_token;
        if page_number == 200 || page_number == 1_000 {
            rss_after_pages.push(rss_mib(child.id()).unwrap_or(0.0));
        }
    }
    // GetStats reads one counter per site and hour, and the index entries
    // of the hour its `since` falls inside.
    let mut stats_client = moderato::grpc::pb::review_client::ReviewClient::new(stats_channel);
    // The last day of a month's fill starts inside an hour, as a
    // dashboard's "last 24 hours" does.
    let last_day = prost_types::Timestamp {
        seconds: (START_MILLIS + 29 * 24 * 3_600_000 + 1_234_567) / 1000,
        nanos: 0,
    };
    for (label, site_id, since) in [
        ("all sites, all time", String::new(), None),
        ("one site, all time", site(3), None),
        (
            "all sites, the fill's last day",
            String::new(),
            Some(last_day),
        ),
    ] {
        let started = Instant::now();
        let stats = stats_client
            .get_stats(authorized(
                token,
                moderato::grpc::pb::GetStatsRequest { site_id, since },
            ))
            .await
            .expect("the statistics are answered")
            .into_inner();
        println!(
            "GetStats, {label}: {:.1} ms ({} decisions)",
            started.elapsed().as_secs_f64() * 1000.0,
            stats.total
        );
    }
    let _ = child.kill();
    let _ = child.wait();
    println!(
        "the service on this database: SERVING {:.2} s after start; resident memory \
         {rss_at_start:.1} MiB then, {rss_after_checks:.1} MiB after 2,000 checks, \
         {:.1} MiB after 200 queue pages more, {:.1} MiB after 1,000 pages in all",
        serving_after.as_secs_f64(),
        rss_after_pages[0],
        rss_after_pages[1]
    );
}
