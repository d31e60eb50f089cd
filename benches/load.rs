//! A load generator for the service: `CheckComment` calls through real gRPC
//! against the real `moderato serve` binary (a child process on a fresh
//! data directory, durable storage on), reporting throughput, latency
//! percentiles, errors and the server's memory.
//!
//! Scenarios (`--scenario`):
//! - `check`: closed loop, `--concurrency` calls in flight, after a warm-up,
//!   against a bare echo service over the same transport settings and then
//!   moderato, `--runs` times, with the medians and their ratio (issue 8).
//!   `--stream N` sends `CheckComments` streams of N comments instead.
//! - `retrain`: the same load measured idle, then while full retrains of
//!   the whole shared corpus (`youtube_train.csv` and `sms_train.tsv` as the
//!   base corpus) run back to back (issue 6, acceptance 4).
//! - `overload`: measures capacity (closed loop), then offers twice that
//!   rate (open loop: calls start on a clock whatever the answers do), then
//!   half of it, counting answers within the deadline, calls shed with
//!   RESOURCE_EXHAUSTED and calls past the deadline (issue 7, acceptance 4).
//!   An open-loop phase also reports the calls the generator itself
//!   started more than 10 ms late: its own pauses reach the server as
//!   bursts.
//! - `soak`: half the capacity for `--seconds`, sampling the server's
//!   memory every 10 s (issue 7, acceptance 5).
//!
//! The server is pinned to core 0 and this process to core 1 (when there
//! are two), so that they do not steal each other's time.
//!
//! `cargo bench --bench load -- --scenario check|retrain|overload|soak
//! [--concurrency 32] [--seconds 10] [--warmup 2] [--deadline-ms 1000]
//! [--runs 3] [--stream 32] [--max-waiting-calls 512]
//! [--metrics 127.0.0.1:9090]`.
//! Needs `../shared/data`. Prints figures; asserts no timing.

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use moderato::auth::token_sha256;
use moderato::classifier::read_labelled_file;
use moderato::grpc::pb;
use tonic::transport::Channel;

mod common;
use common::{authorized, rss_mib};

const SITE: &str = "news.example";
const SITE_TOKEN: &str = "load-site-token";
const ADMIN_TOKEN: &str = "load-admin-token";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    Check,
    Retrain,
    Overload,
    Soak,
}

#[derive(Debug, Parser)]
struct Options {
    #[arg(long, value_enum, default_value_t = Scenario::Check)]
    scenario: Scenario,
    /// Calls in flight at once (closed loop).
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Length of each measured phase.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Unmeasured load before the first phase.
    #[arg(long, default_value_t = 2.0)]
    warmup: f64,
    /// A call not answered within this is counted as past its deadline.
    #[arg(long, default_value_t = 1000)]
    deadline_ms: u64,
    /// The server's `[limits] max_concurrent_calls` (its default when unset).
    #[arg(long)]
    max_concurrent_calls: Option<usize>,
    /// The server's `[limits] max_concurrent_calls_per_key` (its default
    /// when unset).
    #[arg(long)]
    max_concurrent_calls_per_key: Option<usize>,
    /// The server's `[limits] max_wait_ms` (its default when unset).
    #[arg(long)]
    max_wait_ms: Option<u64>,
    /// The server's `[limits] max_waiting_calls` (its default when unset).
    #[arg(long)]
    max_waiting_calls: Option<usize>,
    /// Serve the server's Prometheus metrics on this address (off when
    /// unset), to watch its storage writer during a run.
    #[arg(long)]
    metrics: Option<std::net::SocketAddr>,
    /// The server's `cache_mb` (its default when unset).
    #[arg(long)]
    cache_mb: Option<u64>,
    /// The soak's rate in calls/s, instead of half the measured capacity.
    #[arg(long, value_parser = positive_rate)]
    rate: Option<f64>,
    /// `check`: how many times to measure the echo service and then
    /// moderato, one after the other (the medians are printed at the end).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    runs: u32,
    /// `check`: send comments in `CheckComments` streams of this many
    /// comments per call instead of one `CheckComment` call each.
    #[arg(long)]
    stream: Option<usize>,
    /// Comments come from this many readers, each with a name, an e-mail
    /// address, an IP address and a browser, as a news site's form sends
    /// them (the rules then keep each reader's history); 0 sends anonymous
    /// comments, as the figures before this option were measured.
    #[arg(long, default_value_t = 0)]
    readers: u64,
    /// Runs the bare echo service instead (what `check` starts itself).
    #[arg(long, hide = true)]
    serve_echo: bool,
    /// `cargo bench` passes this to every bench binary.
    #[arg(long, hide = true)]
    bench: bool,
}

fn positive_rate(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(rate) if rate > 0.0 && rate.is_finite() => Ok(rate),
        _ => Err(format!(
            "{text:?} is not a positive number of calls per second"
        )),
    }
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

/// Pins a process or thread (0: the caller) to one core, when the machine
/// has it.
fn pin_to_core(pid: libc::pid_t, core: usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if core >= cores {
        return;
    }
    // SAFETY: the set is a plain bit mask initialised by CPU_ZERO before use.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(pid, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The real binary, serving from a temporary directory.
struct Server {
    child: std::process::Child,
    address: String,
    _directory: Option<tempfile::TempDir>,
}

impl Server {
    fn start(options: &Options) -> Server {
        let scenario = options.scenario;
        let directory = tempfile::tempdir().expect("a temporary directory");
        let base_data = if scenario == Scenario::Retrain {
            format!(
                "base_data = [{:?}, {:?}]",
                shared_data("youtube_train.csv"),
                shared_data("sms_train.tsv")
            )
        } else {
            String::new()
        };
        let config = format!(
            "data_dir = {data:?}\n{cache}{metrics}\
             [[keys]]\nname = \"load-site\"\nrole = \"site\"\nsites = [\"{SITE}\"]\ntoken_sha256 = \"{site}\"\n\
             [[keys]]\nname = \"load-admin\"\nrole = \"admin\"\ntoken_sha256 = \"{admin}\"\n\
             [learning]\n{base_data}\n[limits]\n{limits}\n",
            data = directory.path().join("data"),
            metrics = options
                .metrics
                .map(|address| format!("metrics_listen = \"{address}\"\n"))
                .unwrap_or_default(),
            site = hex(&token_sha256(SITE_TOKEN)),
            admin = hex(&token_sha256(ADMIN_TOKEN)),
            cache = options
                .cache_mb
                .map(|megabytes| format!("cache_mb = {megabytes}\n"))
                .unwrap_or_default(),
            limits = [
                options
                    .max_concurrent_calls
                    .map(|calls| format!("max_concurrent_calls = {calls}\n")),
                options
                    .max_concurrent_calls_per_key
                    .map(|calls| format!("max_concurrent_calls_per_key = {calls}\n")),
                options
                    .max_wait_ms
                    .map(|millis| format!("max_wait_ms = {millis}\n")),
                options
                    .max_waiting_calls
                    .map(|calls| format!("max_waiting_calls = {calls}\n")),
            ]
            .into_iter()
            .flatten()
            .collect::<String>(),
        );
        let config_file = directory.path().join("moderato.toml");
        std::fs::write(&config_file, config).expect("the config is written");
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_moderato"));
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config_file)
            .env("RUST_LOG", "warn,moderato=info");
        Server::spawn(command, Some(directory))
    }

    /// The bare echo service (this binary with `--serve-echo`).
    fn start_echo() -> Server {
        let mut command =
            std::process::Command::new(std::env::current_exe().expect("this binary's path"));
        command.arg("--serve-echo");
        Server::spawn(command, None)
    }

    /// Starts `command`, pins it to core 0 and waits for the line that
    /// gives its address (`address=...`).
    fn spawn(mut command: std::process::Command, directory: Option<tempfile::TempDir>) -> Server {
        use std::os::unix::process::CommandExt;
        // Pinned before it runs, so that every thread it starts is pinned.
        // SAFETY: only a bit mask on the stack and sched_setaffinity, a plain
        // system call (core 0 always exists); no allocation after fork.
        unsafe {
            command.pre_exec(|| {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_ZERO(&mut set);
                libc::CPU_SET(0, &mut set);
                libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
                Ok(())
            });
        }
        let mut child = command
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("the server starts");
        let mut reader = std::io::BufReader::new(child.stdout.take().expect("its output"));
        let mut line = String::new();
        let address = loop {
            line.clear();
            let read = reader.read_line(&mut line).expect("its output reads");
            assert!(read > 0, "the server exited before it was ready");
            if let Some(address) = line
                .split_whitespace()
                .find_map(|field| field.strip_prefix("address="))
            {
                break address.to_string();
            }
        };
        // Keep draining its output so that it never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        Server {
            child,
            address,
            _directory: directory,
        }
    }

    /// The server's resident memory, in MiB.
    fn rss_mib(&self) -> f64 {
        rss_mib(self.child.id()).unwrap_or(0.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn histogram() -> Histogram<u64> {
    Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("valid bounds")
}

/// What one measured phase saw.
struct Phase {
    /// One entry per answered call (a whole stream, in streaming mode).
    latencies: Histogram<u64>,
    /// Comments answered (one per call, or the stream's).
    comments: u64,
    shed: u64,
    past_deadline: u64,
    errors: u64,
    /// The first other error seen, to say what they were.
    first_error: Option<String>,
    /// How many calls were shed with each message: the message names the
    /// limit a call hit (a full waiting room, or a wait that ran out).
    shed_messages: BTreeMap<String, u64>,
    elapsed: Duration,
    /// Open loop only: calls the load generator itself started more than
    /// [`LATE_START`] after their time, and the latest start. A burst of
    /// late starts is the generator's own pause, not the server's, and
    /// reaches the server as a burst.
    late_starts: u64,
    latest_start: Duration,
}

/// How one call ended.
enum Outcome {
    Answered { comments: u64, latency: Duration },
    Shed(tonic::Status),
    PastDeadline,
    Failed(tonic::Status),
}

/// How late an open-loop call may start before it counts as late.
const LATE_START: Duration = Duration::from_millis(10);

impl Phase {
    fn new() -> Phase {
        Phase {
            latencies: histogram(),
            comments: 0,
            shed: 0,
            past_deadline: 0,
            errors: 0,
            first_error: None,
            shed_messages: BTreeMap::new(),
            elapsed: Duration::ZERO,
            late_starts: 0,
            latest_start: Duration::ZERO,
        }
    }

    fn record(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Answered { comments, latency } => {
                let micros = latency.as_micros() as u64;
                self.latencies.saturating_record(micros.max(1));
                self.comments += comments;
            }
            Outcome::Shed(status) => {
                self.shed += 1;
                // Refusals for a request's size name the size: counted
                // together, whatever it was.
                let message = status.message();
                let message = match message.find("its request of ") {
                    Some(start) => format!("{}its request of N bytes ...)", &message[..start]),
                    None => message.to_string(),
                };
                *self.shed_messages.entry(message).or_insert(0) += 1;
            }
            Outcome::PastDeadline => self.past_deadline += 1,
            Outcome::Failed(status) => {
                self.errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(format!("{:?}: {}", status.code(), status.message()));
                }
            }
        }
    }

    fn merge(&mut self, other: &Phase) {
        self.latencies.add(&other.latencies).expect("same bounds");
        self.comments += other.comments;
        self.shed += other.shed;
        self.past_deadline += other.past_deadline;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error.clone();
        }
        for (message, count) in &other.shed_messages {
            *self.shed_messages.entry(message.clone()).or_insert(0) += count;
        }
        self.late_starts += other.late_starts;
        self.latest_start = self.latest_start.max(other.latest_start);
    }

    fn answered_per_second(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn comments_per_second(&self) -> f64 {
        self.comments as f64 / self.elapsed.as_secs_f64()
    }

    fn p99_millis(&self) -> f64 {
        self.latencies.value_at_quantile(0.99) as f64 / 1000.0
    }

    fn print(&self, name: &str) {
        if self.comments != self.latencies.len() {
            println!(
                "{name:<22} {:>8.0} comments/s in streams",
                self.comments_per_second()
            );
        }
        let millis = |quantile: f64| self.latencies.value_at_quantile(quantile) as f64 / 1000.0;
        println!(
            "{name:<22} {:>8.0} answered/s  p50 {:.2} ms  p90 {:.2} ms  p99 {:.2} ms  max {:.2} ms  \
             shed {}  past deadline {}  other errors {}  ({} answered in {:.1} s)",
            self.answered_per_second(),
            millis(0.50),
            millis(0.90),
            millis(0.99),
            self.latencies.max() as f64 / 1000.0,
            self.shed,
            self.past_deadline,
            self.errors,
            self.latencies.len(),
            self.elapsed.as_secs_f64()
        );
        if let Some(error) = &self.first_error {
            println!("{:<22} first other error: {error}", "");
        }
        for (message, count) in &self.shed_messages {
            println!("{:<22} shed {count}: {message}", "");
        }
        if self.late_starts > 0 {
            println!(
                "{:<22} the load generator started {} calls over {} ms late (the latest {:.1} ms)",
                "",
                self.late_starts,
                LATE_START.as_millis(),
                self.latest_start.as_secs_f64() * 1000.0
            );
        }
    }
}

/// Sends comments and sorts the outcomes.
#[derive(Clone)]
struct Load {
    channel: Channel,
    texts: Arc<Vec<String>>,
    next_id: Arc<AtomicU64>,
    deadline: Duration,
    /// Comments per `CheckComments` stream; unary calls when `None`.
    stream: Option<usize>,
    /// Readers the comments come from (see `Options::readers`); 0 for
    /// anonymous comments.
    readers: u64,
}

impl Load {
    fn request(&self) -> pb::CheckCommentRequest {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        pb::CheckCommentRequest {
            site_id: SITE.to_string(),
            comment_id: format!("load-{id}"),
            content: self.texts[id as usize % self.texts.len()].clone(),
            author: (self.readers > 0).then(|| reader(id, self.readers)),
            ..Default::default()
        }
    }

    /// One call (a `CheckComment`, or a `CheckComments` stream of
    /// `self.stream` comments), and how it ended.
    async fn call(&self, client: &mut pb::moderation_client::ModerationClient<Channel>) -> Outcome {
        let sent = Instant::now();
        let answer = match self.stream {
            None => {
                let request = self.request();
                tokio::time::timeout(
                    self.deadline,
                    client.check_comment(authorized(SITE_TOKEN, request)),
                )
                .await
                .map(|answer| answer.map(|_| 1))
            }
            Some(batch) => {
                let requests: Vec<_> = (0..batch).map(|_| self.request()).collect();
                let mut client = client.clone();
                tokio::time::timeout(self.deadline, async move {
                    use futures::StreamExt;
                    let mut answers = client
                        .check_comments(authorized(SITE_TOKEN, futures::stream::iter(requests)))
                        .await?
                        .into_inner();
                    let mut answered = 0;
                    while let Some(answer) = answers.next().await {
                        answer?;
                        answered += 1;
                    }
                    Ok::<u64, tonic::Status>(answered)
                })
                .await
            }
        };
        match answer {
            Ok(Ok(comments)) => Outcome::Answered {
                comments,
                latency: sent.elapsed(),
            },
            Ok(Err(status)) if status.code() == tonic::Code::ResourceExhausted => {
                Outcome::Shed(status)
            }
            Ok(Err(status)) => Outcome::Failed(status),
            Err(_) => Outcome::PastDeadline,
        }
    }

    /// Closed loop: `concurrency` calls in flight for `duration`.
    async fn closed(&self, concurrency: usize, duration: Duration) -> Phase {
        let started = Instant::now();
        let deadline = started + duration;
        let mut workers = Vec::with_capacity(concurrency);
        for _ in 0..concurrency {
            let load = self.clone();
            workers.push(tokio::spawn(async move {
                let mut client = pb::moderation_client::ModerationClient::new(load.channel.clone());
                let mut phase = Phase::new();
                while Instant::now() < deadline {
                    phase.record(load.call(&mut client).await);
                }
                phase
            }));
        }
        let mut total = Phase::new();
        for worker in workers {
            total.merge(&worker.await.expect("a load worker"));
        }
        total.elapsed = started.elapsed();
        total
    }

    /// Open loop: calls start `rate` times a second for `duration`, each
    /// on its own, however slowly the earlier ones are answered.
    async fn open(&self, rate: f64, duration: Duration) -> Phase {
        let started = Instant::now();
        let total = Arc::new(Mutex::new(Phase::new()));
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        // Finished calls are reaped as the loop goes: a task's memory stays
        // until its handle is awaited, and a 10-minute soak starts millions.
        let mut calls = tokio::task::JoinSet::new();
        let (mut late_starts, mut latest_start) = (0, Duration::ZERO);
        while started.elapsed() < duration {
            let due = ticks.tick().await;
            let lateness = due.elapsed();
            if lateness > LATE_START {
                late_starts += 1;
            }
            latest_start = latest_start.max(lateness);
            let load = self.clone();
            let total = Arc::clone(&total);
            calls.spawn(async move {
                let mut client = pb::moderation_client::ModerationClient::new(load.channel.clone());
                let outcome = load.call(&mut client).await;
                // Recorded in the shared tally, not in a phase of the call's
                // own: a histogram is about 140 KiB to zero and to add up,
                // which at 20,000 calls a second took the generator's whole
                // core and starved the calls it was meant to measure.
                total.lock().expect("the tally").record(outcome);
            });
            while let Some(finished) = calls.try_join_next() {
                finished.expect("a call");
            }
        }
        while let Some(finished) = calls.join_next().await {
            finished.expect("a call");
        }
        let mut phase = std::mem::replace(&mut *total.lock().expect("the tally"), Phase::new());
        phase.elapsed = started.elapsed();
        phase.late_starts = late_starts;
        phase.latest_start = latest_start;
        phase
    }
}

/// Starts full retrains one after another until `stop` is set; gives their
/// durations.
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

fn texts() -> Vec<String> {
    read_labelled_file(&shared_data("youtube_test.csv"))
        .expect("the test split reads")
        .into_iter()
        .map(|example| example.text)
        .collect()
}

/// A load on `server`, connected.
async fn connect(server: &Server, options: &Options, texts: Vec<String>) -> Load {
    let channel = Channel::from_shared(format!("http://{}", server.address))
        .expect("a URI")
        .connect()
        .await
        .expect("the server answers");
    Load {
        channel,
        texts: Arc::new(texts),
        next_id: Arc::new(AtomicU64::new(0)),
        deadline: Duration::from_millis(options.deadline_ms),
        stream: options.stream,
        readers: options.readers,
    }
}

/// The author of comment `id` among `readers` readers, as a news site's
/// form sends it: a name, an e-mail address, the reader's IP address and
/// browser. Readers are picked in a scattered order (a multiplicative
/// hash), so that each comes back now and then, as regulars do.
fn reader(id: u64, readers: u64) -> pb::Author {
    let number = id.wrapping_mul(0x9E37_79B9_7F4A_7C15) % readers;
    pb::Author {
        name: format!("Reader {number}"),
        email: format!("reader{number}@example.org"),
        url: String::new(),
        ip: format!(
            "10.{}.{}.{}",
            (number >> 16) & 0xFF,
            (number >> 8) & 0xFF,
            number & 0xFF
        ),
        user_agent: "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
            .to_string(),
    }
}

/// `check`: the bare echo service and then moderato, each on a fresh
/// process pinned to core 0, `--runs` times; the same load each time.
async fn compare(options: &Options) {
    let mode = match options.stream {
        None => "CheckComment calls".to_string(),
        Some(batch) => format!("CheckComments streams of {batch} comments"),
    };
    println!(
        "{mode}, {} in flight, {} s measured after {} s of warm-up; each server pinned to \
         core 0, the load on core 1; moderato stores durably",
        options.concurrency, options.seconds, options.warmup
    );
    let mut echo = Vec::new();
    let mut ours = Vec::new();
    for run in 1..=options.runs {
        for (name, figures) in [("echo", &mut echo), ("moderato", &mut ours)] {
            let server = if name == "echo" {
                Server::start_echo()
            } else {
                Server::start(options)
            };
            let load = connect(&server, options, texts()).await;
            load.closed(options.concurrency, Duration::from_secs_f64(options.warmup))
                .await;
            let phase = load
                .closed(
                    options.concurrency,
                    Duration::from_secs_f64(options.seconds),
                )
                .await;
            phase.print(&format!("run {run}: {name}"));
            figures.push((phase.comments_per_second(), phase.p99_millis()));
        }
    }
    let median = |values: Vec<f64>| {
        let mut values = values;
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let rate = |figures: &[(f64, f64)]| median(figures.iter().map(|f| f.0).collect());
    let p99 = |figures: &[(f64, f64)]| median(figures.iter().map(|f| f.1).collect());
    println!(
        "median of {} runs: echo {:.0} comments/s, p99 {:.2} ms; moderato {:.0} comments/s, \
         p99 {:.2} ms; moderato / echo: {:.3}x the throughput, {:.2}x the p99",
        options.runs,
        rate(&echo),
        p99(&echo),
        rate(&ours),
        p99(&ours),
        rate(&ours) / rate(&echo),
        p99(&ours) / p99(&echo)
    );
}

async fn run(options: Options, server: &Server) {
    let texts = texts();
    let load = connect(server, &options, texts).await;
    let channel = load.channel.clone();
    let seconds = Duration::from_secs_f64(options.seconds);
    println!(
        "CheckComment, durable storage on, server {} pinned to core 0, {} texts of youtube_test",
        server.address,
        load.texts.len()
    );
    load.closed(options.concurrency, Duration::from_secs_f64(options.warmup))
        .await;
    match options.scenario {
        Scenario::Check => unreachable!("`check` runs in `compare`"),
        Scenario::Retrain => {
            load.closed(options.concurrency, seconds)
                .await
                .print("idle");
            let stop = Arc::new(AtomicBool::new(false));
            let retrains = tokio::spawn(retrain_continuously(channel.clone(), Arc::clone(&stop)));
            // Let the first job start before measuring.
            tokio::time::sleep(Duration::from_millis(100)).await;
            let busy = load.closed(options.concurrency, seconds).await;
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
        Scenario::Overload => {
            let capacity = load.closed(options.concurrency, seconds).await;
            capacity.print("capacity (closed loop)");
            let rate = capacity.answered_per_second();
            println!("server memory {:.1} MiB", server.rss_mib());
            let rss = Arc::new(Mutex::new(Vec::new()));
            let sampling = sample_rss(server.child.id(), Arc::clone(&rss));
            load.open(rate * 2.0, seconds)
                .await
                .print("offered 2x capacity");
            load.open(rate * 0.5, seconds)
                .await
                .print("then 0.5x capacity");
            sampling.store(true, Ordering::Relaxed);
            let samples = rss.lock().expect("the samples").clone();
            println!(
                "server memory during the overload and after: max {:.1} MiB, at the end {:.1} MiB",
                samples.iter().copied().fold(0.0, f64::max),
                server.rss_mib()
            );
        }
        Scenario::Soak => {
            // Sustained capacity: a few seconds flatter the service, whose
            // storage slows down as the database fills.
            let capacity = load
                .closed(options.concurrency, Duration::from_secs(30))
                .await;
            capacity.print("capacity (closed loop)");
            let rate = options.rate.unwrap_or(capacity.answered_per_second() * 0.5);
            let start_rss = server.rss_mib();
            let rss = Arc::new(Mutex::new(Vec::new()));
            let sampling = sample_rss(server.child.id(), Arc::clone(&rss));
            // Minute by minute, so that a slow drift shows.
            let mut soak = Phase::new();
            let mut remaining = seconds;
            let mut minute = 0;
            while !remaining.is_zero() {
                let part = remaining.min(Duration::from_secs(60));
                remaining -= part;
                minute += 1;
                let phase = load.open(rate, part).await;
                phase.print(&format!("minute {minute}"));
                soak.merge(&phase);
                soak.elapsed += phase.elapsed;
            }
            sampling.store(true, Ordering::Relaxed);
            soak.print(&format!("soak at {rate:.0}/s"));
            let samples = rss.lock().expect("the samples").clone();
            println!(
                "server memory: {start_rss:.1} MiB at the start, {:.1} MiB at the end, \
                 every 10 s: {:?}",
                server.rss_mib(),
                samples
                    .iter()
                    .map(|mib| (mib * 10.0).round() / 10.0)
                    .collect::<Vec<_>>()
            );
        }
    }
}

/// Samples a process's memory every 10 s until the returned flag is set.
fn sample_rss(pid: u32, samples: Arc<Mutex<Vec<f64>>>) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let stopped = Arc::clone(&stop);
    std::thread::spawn(move || {
        while !stopped.load(Ordering::Relaxed) {
            if let Some(mib) = rss_mib(pid) {
                samples.lock().expect("the samples").push(mib);
            }
            std::thread::sleep(Duration::from_secs(10));
        }
    });
    stop
}

fn main() {
    let options = Options::parse();
    if options.serve_echo {
        echo::serve();
        return;
    }
    pin_to_core(0, 1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("load")
        .on_thread_start(|| pin_to_core(0, 1))
        .enable_all()
        .build()
        .expect("a runtime");
    if options.scenario == Scenario::Check {
        runtime.block_on(compare(&options));
    } else {
        let server = Server::start(&options);
        runtime.block_on(run(options, &server));
    }
}

/// The bare service the issue measures us against: `Moderation` over the
/// same transport settings as `moderato serve` (tonic's server, Nagle off,
/// the same message size limit), answering each comment at once without
/// authentication, scoring or storage.
mod echo {
    use std::pin::Pin;

    use futures::{Stream, StreamExt};
    use moderato::grpc::pb;
    use moderato::grpc::pb::moderation_server::{Moderation, ModerationServer};
    use tonic::{Request, Response, Status, Streaming};

    struct Echo;

    fn answer(request: pb::CheckCommentRequest) -> pb::CheckCommentResponse {
        pb::CheckCommentResponse {
            decision_id: request.comment_id,
            stored: true,
            ..Default::default()
        }
    }

    type Answers = Pin<Box<dyn Stream<Item = Result<pb::CheckCommentResponse, Status>> + Send>>;

    #[tonic::async_trait]
    impl Moderation for Echo {
        async fn check_comment(
            &self,
            request: Request<pb::CheckCommentRequest>,
        ) -> Result<Response<pb::CheckCommentResponse>, Status> {
            Ok(Response::new(answer(request.into_inner())))
        }

        type CheckCommentsStream = Answers;

        async fn check_comments(
            &self,
            request: Request<Streaming<pb::CheckCommentRequest>>,
        ) -> Result<Response<Answers>, Status> {
            let answers = request.into_inner().map(|message| message.map(answer));
            Ok(Response::new(Box::pin(answers) as Answers))
        }

        async fn get_decision(
            &self,
            _: Request<pb::GetDecisionRequest>,
        ) -> Result<Response<pb::Decision>, Status> {
            Err(Status::unimplemented(
                "the echo service only answers checks",
            ))
        }

        async fn report_comment(
            &self,
            _: Request<pb::ReportCommentRequest>,
        ) -> Result<Response<pb::ReportCommentResponse>, Status> {
            Err(Status::unimplemented(
                "the echo service only answers checks",
            ))
        }

        async fn forget_comment(
            &self,
            _: Request<pb::ForgetCommentRequest>,
        ) -> Result<Response<pb::ForgetCommentResponse>, Status> {
            Err(Status::unimplemented(
                "the echo service only answers checks",
            ))
        }
    }

    /// Serves on an ephemeral port, printing `address=...` once listening.
    pub fn serve() {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("a port");
            let address = listener.local_addr().expect("its address");
            println!("echo ready address={address}");
            // The flow-control windows of `moderato serve`, which decide
            // how much a client sends ahead.
            tonic::transport::Server::builder()
                .max_concurrent_streams(Some(
                    // The default's, whatever limits the moderato server
                    // under test was given: echo admits every call.
                    moderato::admission::ValidAdmissionParams::default().streams_per_connection(),
                ))
                .initial_stream_window_size(Some(moderato::limits::STREAM_WINDOW_BYTES))
                .initial_connection_window_size(Some(moderato::limits::CONNECTION_WINDOW_BYTES))
                .add_service(
                    ModerationServer::new(Echo)
                        .max_decoding_message_size(moderato::limits::MAX_MESSAGE_BYTES),
                )
                .serve_with_incoming(moderato::connection_limit::incoming(
                    listener,
                    // The same bound on connections as the server's default.
                    moderato::admission::Admission::new(Default::default()).connections(),
                ))
                .await
                .expect("the echo service serves");
        });
    }
}
