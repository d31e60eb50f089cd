//! A load generator for the running service: concurrent `CheckComment`
//! calls through real gRPC against a server started in this process, with
//! durable storage on, reporting throughput and latency percentiles.
//!
//! Scenarios:
//! - `check`: the server alone, after a warm-up.
//! - `retrain`: the same load measured idle, then while full retrains of
//!   the whole shared corpus (`youtube_train.csv` and `sms_train.tsv` as the
//!   base corpus) run back to back (issue 6, acceptance 4).
//!
//! The server's runtime runs on core 0 and the load generator's on core 1
//! (when the machine has two), so that they do not steal each other's time;
//! the retrain thread is started by the server and so shares core 0.
//!
//! `cargo bench --bench load -- --scenario retrain [--concurrency 32]
//! [--seconds 10] [--warmup 2]`. Needs `../shared/data`. Prints figures;
//! asserts no timing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use moderato::auth::{token_sha256, ApiKey, Role};
use moderato::classifier::read_labelled_file;
use moderato::config::Config;
use moderato::grpc::pb;
use moderato::learning::LearningParams;
use moderato::server::{self, State};
use tonic::transport::Channel;

const SITE: &str = "news.example";
const SITE_TOKEN: &str = "load-site-token";
const ADMIN_TOKEN: &str = "load-admin-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Check,
    Retrain,
}

#[derive(Debug, Parser)]
struct Options {
    #[arg(long, value_enum, default_value_t = Scenario::Check)]
    scenario: Scenario,
    /// Calls in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Length of each measured phase.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Unmeasured load before the first phase.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// `cargo bench` passes this to every bench binary.
    #[arg(long, hide = true)]
    bench: bool,
}

fn shared_data(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data")
        .join(name);
    assert!(
        path.is_file(),
        "the load benchmark reads {}; it is missing",
        path.display()
    );
    path
}

/// Pins the calling thread to one core, when the machine has it.
fn pin_to_core(core: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if core >= cores {
        return;
    }
    // SAFETY: the set is a plain bit mask initialised by CPU_ZERO before use.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn runtime(core: usize, name: &str) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name(name)
        .on_thread_start(move || pin_to_core(core))
        .enable_all()
        .build()
        .expect("a runtime")
}

fn key(name: &str, role: Role, sites: &[&str], token: &str) -> ApiKey {
    ApiKey {
        name: name.to_string(),
        role,
        sites: sites.iter().map(|site| site.to_string()).collect(),
        token_sha256: token_sha256(token),
    }
}

fn authorized<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a valid header"),
    );
    request
}

/// What one measured phase saw.
struct Phase {
    latencies: Histogram<u64>,
    errors: u64,
    elapsed: Duration,
}

impl Phase {
    fn print(&self, name: &str) {
        let calls = self.latencies.len();
        let millis = |quantile: f64| self.latencies.value_at_quantile(quantile) as f64 / 1000.0;
        println!(
            "{name:<16} {:>8.0} calls/s  p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  \
             errors {}  ({calls} calls in {:.1} s)",
            calls as f64 / self.elapsed.as_secs_f64(),
            millis(0.50),
            millis(0.90),
            millis(0.99),
            self.latencies.max() as f64 / 1000.0,
            self.errors,
            self.elapsed.as_secs_f64()
        );
    }
}

/// Keeps `concurrency` calls in flight for `duration` and measures them.
async fn drive(
    channel: &Channel,
    texts: &Arc<Vec<String>>,
    concurrency: usize,
    duration: Duration,
    next_id: &Arc<AtomicU64>,
) -> Phase {
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for _ in 0..concurrency {
        let mut client = pb::moderation_client::ModerationClient::new(channel.clone());
        let texts = Arc::clone(texts);
        let next_id = Arc::clone(next_id);
        workers.push(tokio::spawn(async move {
            let mut latencies =
                Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
            let mut errors = 0;
            while Instant::now() < deadline {
                let id = next_id.fetch_add(1, Ordering::Relaxed);
                let request = pb::CheckCommentRequest {
                    site_id: SITE.to_string(),
                    comment_id: format!("load-{id}"),
                    content: texts[id as usize % texts.len()].clone(),
                    ..Default::default()
                };
                let sent = Instant::now();
                match client.check_comment(authorized(SITE_TOKEN, request)).await {
                    Ok(_) => {
                        let micros = sent.elapsed().as_micros() as u64;
                        latencies.saturating_record(micros.max(1));
                    }
                    Err(_) => errors += 1,
                }
            }
            (latencies, errors)
        }));
    }
    let mut latencies = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds");
    let mut errors = 0;
    for worker in workers {
        let (worker_latencies, worker_errors) = worker.await.expect("a load worker");
        latencies.add(worker_latencies).expect("same bounds");
        errors += worker_errors;
    }
    Phase {
        latencies,
        errors,
        elapsed: started.elapsed(),
    }
}

/// Starts full retrains one after another until `stop` is set; gives the
/// number finished and their durations.
async fn retrain_continuously(channel: Channel, stop: Arc<AtomicBool>) -> Vec<Duration> {
    let mut training = pb::training_client::TrainingClient::new(channel);
    let mut durations = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let job = training
            .start_retrain(authorized(
                ADMIN_TOKEN,
                pb::StartRetrainRequest {
                    full: true,
                    dry_run: true,
                },
            ))
            .await
            .expect("the retrain starts")
            .into_inner();
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let state = training
                .get_retrain_job(authorized(
                    ADMIN_TOKEN,
                    pb::GetRetrainJobRequest {
                        job_id: job.job_id.clone(),
                    },
                ))
                .await
                .expect("the job is there")
                .into_inner();
            match state.state() {
                pb::JobState::Succeeded => break,
                pb::JobState::Failed => panic!("the retrain failed: {}", state.message),
                _ => {}
            }
        }
        durations.push(started.elapsed());
    }
    durations
}

fn main() {
    let options = Options::parse();
    let directory = tempfile::tempdir().expect("a temporary directory");
    let mut learning = LearningParams::default();
    if options.scenario == Scenario::Retrain {
        learning.base_data = vec![
            shared_data("youtube_train.csv"),
            shared_data("sms_train.tsv"),
        ];
    }
    let config = Config {
        listen: "127.0.0.1:0".parse().expect("an address"),
        data_dir: directory.path().to_path_buf(),
        keys: vec![
            key("load-site", Role::Site, &[SITE], SITE_TOKEN),
            key("load-admin", Role::Admin, &[], ADMIN_TOKEN),
        ],
        learning: learning.check().expect("valid learning settings"),
        ..Config::default()
    };
    let texts: Vec<String> = read_labelled_file(&shared_data("youtube_test.csv"))
        .expect("the test split reads")
        .into_iter()
        .map(|example| example.text)
        .collect();
    let texts = Arc::new(texts);

    let server_runtime = runtime(0, "server");
    let state = State::open(&config).expect("the server state opens");
    let listener = server_runtime
        .block_on(tokio::net::TcpListener::bind(config.listen))
        .expect("a port");
    let address = listener.local_addr().expect("an address");
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = server_runtime.spawn(server::run(listener, state, async {
        let _ = stopped.await;
    }));

    let load_runtime = runtime(1, "load");
    // Everything of the load side runs on its runtime's pinned worker; this
    // thread only waits for it.
    pin_to_core(1);
    let load = load_runtime.spawn(async move {
        let channel = Channel::from_shared(format!("http://{address}"))
            .expect("a URI")
            .connect()
            .await
            .expect("the server answers");
        let next_id = Arc::new(AtomicU64::new(0));
        let seconds = Duration::from_secs_f64(options.seconds);
        println!(
            "CheckComment, durable storage on, {} calls in flight, {} texts of youtube_test",
            options.concurrency,
            texts.len()
        );
        drive(
            &channel,
            &texts,
            options.concurrency,
            Duration::from_secs_f64(options.warmup),
            &next_id,
        )
        .await;
        let idle = drive(&channel, &texts, options.concurrency, seconds, &next_id).await;
        idle.print("idle");
        if options.scenario == Scenario::Retrain {
            let stop = Arc::new(AtomicBool::new(false));
            let retrains = tokio::spawn(retrain_continuously(channel.clone(), Arc::clone(&stop)));
            // Let the first job start before measuring.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let busy = drive(&channel, &texts, options.concurrency, seconds, &next_id).await;
            stop.store(true, Ordering::Relaxed);
            let durations = retrains.await.expect("the retrain driver");
            busy.print("during retrain");
            let mean = durations.iter().sum::<Duration>().as_secs_f64() / durations.len() as f64;
            println!(
                "{} full retrains (dry runs) of youtube_train + sms_train ran back to back, \
                 {mean:.1} s each on average",
                durations.len()
            );
        }
    });
    load_runtime.block_on(load).expect("the load task");
    let _ = stop_server.send(());
    server_runtime
        .block_on(server)
        .expect("the server task")
        .expect("the server stops cleanly");
}
