//! The running service: opens what it needs (`State::open`) and serves the
//! gRPC API with health and reflection until told to stop (`run`).

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;
use tokio::net::TcpListener;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Identity, Server, ServerTlsConfig};

use crate::admission::Admission;
use crate::auth::{ensure_admin_token, Keyring, Service};
use crate::classifier::{ClassifierError, Model};
use crate::config::{Config, ConfigError, Overrides, TlsFiles};
use crate::engine::Engine;
use crate::grpc::pb::moderation_server::ModerationServer;
use crate::grpc::pb::review_server::ReviewServer;
use crate::grpc::pb::training_server::TrainingServer;
use crate::grpc::{pb, Access, KnownKeysOnly, ModerationService, ReviewService, TrainingService};
use crate::learning::{spawn_schedule, startup_model, BaseCorpus, Learning};
use crate::limits::{
    CONNECTION_WINDOW_BYTES, HTTP2_KEEPALIVE_INTERVAL, HTTP2_KEEPALIVE_TIMEOUT,
    MAX_HEADER_LIST_BYTES, MAX_MESSAGE_BYTES, MAX_PENDING_CANCELLED_CALLS, STOP_GRACE,
    STREAM_WINDOW_BYTES, TLS_HANDSHAKE_LIMIT,
};
use crate::metrics::Metrics;
use crate::retention::{spawn_expiry, ValidRetentionParams};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Model(#[from] ClassifierError),
    /// A file the configuration names (`model`, `learning.base_data`)
    /// cannot be used: the key is named, and for a relative path the
    /// working directory it was read from, since that is the usual
    /// surprise.
    #[error(
        "the configuration's {key}: {source}{}",
        .relative_to.as_ref().map(|directory| format!(
            " (a relative path is read from the working directory, {directory})"
        )).unwrap_or_default()
    )]
    ConfiguredFile {
        key: &'static str,
        /// The working directory, when a path the key names is relative.
        relative_to: Option<String>,
        source: ClassifierError,
    },
    #[error("cannot choose the model to serve: {0}")]
    Registry(#[from] crate::error::Error),
    #[error("cannot read or create the admin token file {path}: {source}")]
    AdminToken {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the TLS {what} {path}: {source}")]
    TlsFile {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot serve TLS with the certificate {cert} and the key {key}: {message}")]
    TlsIdentity {
        cert: PathBuf,
        key: PathBuf,
        message: String,
    },
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("server reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Everything the handlers share.
#[derive(Clone)]
pub struct State {
    pub engine: Arc<Engine>,
    /// The keys and the admission limits every call goes through.
    pub access: Arc<Access>,
    /// Where the first-start admin token was written, when there was one.
    pub admin_token_file: Option<PathBuf>,
    /// The certificate and key to serve TLS with, when configured.
    pub tls: Option<TlsKeys>,
    /// How long decisions are kept (see `retention`).
    pub retention: ValidRetentionParams,
}

/// The configured certificate chain and private key, as read (PEM), for
/// the gRPC server and the console alike.
#[derive(Clone)]
pub struct TlsKeys {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
}

impl TlsKeys {
    fn identity(&self) -> Identity {
        Identity::from_pem(&self.cert_pem, &self.key_pem)
    }
}

/// Reads the configured certificate and key, and checks that TLS can be
/// served with them (PEM that parses, a key that goes with the
/// certificate) before the service says it is ready.
fn tls_keys(files: &TlsFiles) -> Result<TlsKeys, ServerError> {
    let read = |what, path: &Path| {
        std::fs::read(path).map_err(|source| ServerError::TlsFile {
            what,
            path: path.to_path_buf(),
            source,
        })
    };
    let keys = TlsKeys {
        cert_pem: read("certificate", &files.cert)?,
        key_pem: read("key", &files.key)?,
    };
    // The files read as a certificate and its key, checked as the
    // console's TLS checks them: tonic's own check would say "peer sent
    // no certificates" of a file that holds none.
    crate::console::ConsoleTls::from_pem(&keys.cert_pem, &keys.key_pem).map_err(|error| {
        ServerError::TlsIdentity {
            cert: files.cert.clone(),
            key: files.key.clone(),
            message: error.to_string(),
        }
    })?;
    // The server's own TLS set-up, tried once here: its errors are the
    // ones that would otherwise stop the service after its ready line.
    Server::builder()
        .tls_config(tls_config(&keys))
        .map_err(|error| ServerError::TlsIdentity {
            cert: files.cert.clone(),
            key: files.key.clone(),
            message: crate::error::with_causes(&error),
        })?;
    Ok(keys)
}

/// The gRPC listener's TLS set-up. A handshake gets
/// [`TLS_HANDSHAKE_LIMIT`]: tonic waits for ever otherwise, and a client
/// that opens connections and sends nothing would hold a socket each.
fn tls_config(keys: &TlsKeys) -> ServerTlsConfig {
    ServerTlsConfig::new()
        .identity(keys.identity())
        .timeout(TLS_HANDSHAKE_LIMIT)
}

fn configured_file(key: &'static str, paths: &[PathBuf], source: ClassifierError) -> ServerError {
    let relative_to = paths.iter().any(|path| path.is_relative()).then(|| {
        std::env::current_dir()
            .map(|directory| directory.display().to_string())
            .unwrap_or_else(|error| format!("unknown: {error}"))
    });
    ServerError::ConfiguredFile {
        key,
        relative_to,
        source,
    }
}

/// What [`State::prepare`] read and checked: everything a start needs that
/// changes no record.
pub struct Prepared {
    store: Store,
    configured: Model,
    origin: String,
    learning: Learning,
    config: Config,
    /// The certificate and key to serve TLS with, when configured: read
    /// before the start changes anything, so that a missing file stops it
    /// first.
    pub tls: Option<TlsKeys>,
}

impl State {
    /// Opens the store, loads the model and the keys of `config`
    /// ([`State::prepare`], then [`Prepared::start`]).
    pub fn open(config: &Config) -> Result<State, ServerError> {
        State::prepare(config)?.start()
    }

    /// Opens the store and reads every file the configuration names (the
    /// model, the learning's base data, the TLS certificate and key),
    /// without changing any record (opening may bring the database's own
    /// indexes and counters up to date, see `Store::open`). `moderato
    /// serve` binds its listeners between this and [`Prepared::start`], so
    /// that a start refused for a busy port or a bad file leaves the model
    /// registry as it was.
    pub fn prepare(config: &Config) -> Result<Prepared, ServerError> {
        let store = Store::open_with_cache(&config.data_dir.join("db"), config.cache_bytes)?;
        let (configured, origin) = match &config.model {
            Some(path) => (
                Model::load(path).map_err(|source| {
                    configured_file("model", std::slice::from_ref(path), source)
                })?,
                path.display().to_string(),
            ),
            None => (Model::embedded_default()?, "built in".to_string()),
        };
        let base = BaseCorpus::load(&config.learning).map_err(|source| {
            configured_file("learning.base_data", config.learning.base_data(), source)
        })?;
        let learning = Learning::new(config.learning.clone(), base);
        let tls = config.tls.as_ref().map(tls_keys).transpose()?;
        Ok(Prepared {
            store,
            configured,
            origin,
            learning,
            config: config.clone(),
            tls,
        })
    }
}

impl Prepared {
    /// Reads or creates the keys, then settles what the last run left
    /// (unfinished jobs) and puts the configured model in force
    /// (registering it when it is new).
    pub fn start(self) -> Result<State, ServerError> {
        let Prepared {
            store,
            configured,
            origin,
            learning,
            config,
            tls,
        } = self;
        // The keys first: a token file that cannot be read or written
        // stops the start before the model registry changes.
        let (keyring, admin_token_file) = if config.keys.is_empty() {
            let (key, path) =
                ensure_admin_token(&config.data_dir).map_err(|source| ServerError::AdminToken {
                    path: config.data_dir.join("admin.token"),
                    source,
                })?;
            (Keyring::new(vec![key]), Some(path))
        } else {
            (Keyring::new(config.keys.clone()), None)
        };
        // Jobs the last run left unfinished are settled before the model,
        // against the version that run left active (the start may change
        // it).
        store.fail_interrupted_jobs()?;
        let model = startup_model(&store, configured, &origin, &learning)?;
        Ok(State {
            engine: Arc::new(
                Engine::new(store, model, config.thresholds, config.rules.clone())
                    .with_learning(learning),
            ),
            access: Arc::new(Access {
                keyring: ArcSwap::from_pointee(keyring),
                admission: Admission::new(config.admission.clone()),
                metrics: Metrics::default(),
            }),
            admin_token_file,
            tls,
            retention: config.retention.clone(),
        })
    }
}

/// What a reload put in force, and what it could not.
#[derive(Debug, Clone, PartialEq)]
pub struct Reloaded {
    /// Whether the file's `[[keys]]` are in force. A file with no keys
    /// leaves those in force (a service started without keys runs on its
    /// `admin.token`, which only a restart brings back).
    pub keys: bool,
    /// Whether they differ from the keys that were in force: only then are
    /// streams opened under the old keys ended.
    pub keys_changed: bool,
    /// The settings that changed in the file but take a restart.
    pub need_restart: Vec<&'static str>,
    /// What the file allows but probably does not mean (see
    /// [`Config::warnings`]).
    pub warnings: Vec<String>,
}

/// Re-reads the configuration file and puts its `[rules]`, `[thresholds]`
/// and `[[keys]]` in force (what SIGHUP does): a removed key is refused
/// from the next call on. A file that does not check is refused with the
/// error (naming the line or the key) and everything in force stays. The
/// other settings (addresses, data directory, model, limits, learning,
/// TLS) take a restart; those that changed against `running` (the
/// configuration the service started with) are named in the answer.
/// `overrides` are the flags and environment the service started with (a
/// file value they replace is still checked, as at the start).
pub fn reload(
    engine: &Engine,
    access: &Access,
    running: &Config,
    config_file: &Path,
    overrides: &Overrides,
) -> Result<Reloaded, ConfigError> {
    let config = Config::load(Some(config_file), overrides)?;
    let need_restart = running.changes_needing_restart(&config);
    let warnings = config.warnings();
    engine.replace_policy(config.rules, config.thresholds);
    let keys = !config.keys.is_empty();
    let mut keys_changed = false;
    if keys {
        let keyring = Keyring::new(config.keys);
        // The same keys stay the same value: open streams go on.
        if **access.keyring.load() != keyring {
            access.keyring.store(Arc::new(keyring));
            keys_changed = true;
        }
    }
    Ok(Reloaded {
        keys,
        keys_changed,
        need_restart,
        warnings,
    })
}

/// How often health checking looks at whether storage can still make writes
/// durable.
const STORAGE_HEALTH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);

/// Reports the three services NOT_SERVING, for good, once storage can no
/// longer make writes durable (an fsync failed, or the writer thread
/// stopped). Every check, recheck and label then fails with UNAVAILABLE
/// until a restart, so load balancers and probes must learn to send calls
/// elsewhere; a restart reopens the database and starts afresh.
async fn report_storage_failure(
    engine: Arc<Engine>,
    reporter: tonic_health::server::HealthReporter,
    interval: std::time::Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    loop {
        ticks.tick().await;
        if let Some(reason) = engine.store().write_failure() {
            tracing::error!(
                %reason,
                "storage can no longer make writes durable: health checks now answer NOT_SERVING; restart the service once the disk is fixed"
            );
            reporter
                .set_not_serving::<ModerationServer<ModerationService>>()
                .await;
            reporter
                .set_not_serving::<ReviewServer<ReviewService>>()
                .await;
            reporter
                .set_not_serving::<TrainingServer<TrainingService>>()
                .await;
            // The server as a whole: what a probe asks without naming a
            // service (`grpcurl ... Health/Check`, Kubernetes' gRPC probe).
            reporter
                .set_service_status("", tonic_health::ServingStatus::NotServing)
                .await;
            return;
        }
    }
}

/// Serves on `listener` until `shutdown` completes, then lets in-flight
/// calls finish (for [`STOP_GRACE`] at most), lets a running retrain
/// finish (for as long again at most) and flushes storage.
pub async fn run(
    listener: TcpListener,
    state: State,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ServerError> {
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<ModerationServer<ModerationService>>()
        .await;
    health_reporter
        .set_serving::<ReviewServer<ReviewService>>()
        .await;
    health_reporter
        .set_serving::<TrainingServer<TrainingService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()?;

    // Each service refuses a call without a valid key for it before
    // reading its message (see `KnownKeysOnly`).
    let known_keys_only = |service| KnownKeysOnly::new(Arc::clone(&state.access), service);
    let moderation = InterceptedService::new(
        ModerationServer::new(ModerationService::new(
            Arc::clone(&state.engine),
            Arc::clone(&state.access),
        ))
        .max_decoding_message_size(MAX_MESSAGE_BYTES),
        known_keys_only(Service::Moderation),
    );
    let review = InterceptedService::new(
        ReviewServer::new(ReviewService::new(
            Arc::clone(&state.engine),
            Arc::clone(&state.access),
        ))
        .max_decoding_message_size(MAX_MESSAGE_BYTES),
        known_keys_only(Service::Review),
    );
    let training = InterceptedService::new(
        TrainingServer::new(TrainingService::new(
            Arc::clone(&state.engine),
            Arc::clone(&state.access),
        ))
        .max_decoding_message_size(MAX_MESSAGE_BYTES),
        known_keys_only(Service::Training),
    );
    spawn_schedule(Arc::clone(&state.engine));
    let _expiry = spawn_expiry(Arc::clone(&state.engine), &state.retention);
    let _storage_health =
        tokio_util::task::AbortOnDropHandle::new(tokio::spawn(report_storage_failure(
            Arc::clone(&state.engine),
            health_reporter.clone(),
            STORAGE_HEALTH_INTERVAL,
        )));

    let mut builder = Server::builder()
        .layer(tower::util::MapRequestLayer::new({
            let access = Arc::clone(&state.access);
            move |request| crate::grpc::limit_message_arrival(request, &access)
        }))
        .max_concurrent_streams(Some(state.access.admission.streams_per_connection()))
        .initial_stream_window_size(Some(STREAM_WINDOW_BYTES))
        .initial_connection_window_size(Some(CONNECTION_WINDOW_BYTES))
        .http2_max_pending_accept_reset_streams(Some(MAX_PENDING_CANCELLED_CALLS))
        .http2_max_header_list_size(Some(MAX_HEADER_LIST_BYTES))
        .http2_keepalive_interval(Some(HTTP2_KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(HTTP2_KEEPALIVE_TIMEOUT));
    if let Some(keys) = &state.tls {
        builder = builder.tls_config(tls_config(keys))?;
    }
    let (stop_seen, mut stop_began) = tokio::sync::watch::channel(false);
    let stopping = Arc::clone(&state.engine);
    let shutdown = async move {
        shutdown.await;
        // No retrain starts once the stop began, in its grace period too.
        stopping.begin_stop();
        let _ = stop_seen.send(true);
    };
    let serving = builder
        .add_service(health_service)
        .add_service(reflection)
        .add_service(moderation)
        .add_service(review)
        .add_service(training)
        .serve_with_incoming_shutdown(
            crate::connection_limit::incoming(listener, state.access.admission.connections()),
            shutdown,
        );
    // A stop waits for the calls in progress, but not for ever: an open
    // `CheckComments` stream or a client that never reads its answer would
    // hold it until its idle limit (a minute by default) or longer.
    let grace_over = async move {
        let _ = stop_began.wait_for(|began| *began).await;
        tokio::time::sleep(STOP_GRACE).await;
    };
    tokio::select! {
        served = serving => served?,
        () = grace_over => tracing::warn!(
            grace_seconds = STOP_GRACE.as_secs(),
            "calls still open after the stop's grace period are not waited for: they end when the process exits (their acknowledged writes are on disk)"
        ),
    }
    // Labelling calls whose labels are committed finish their work (the
    // flush, online learning), even if their callers went away; then a
    // retraining job still running may finish. Each for as long again at
    // most: a retrain cut off is reported as interrupted at the next start.
    let label_tasks = state.engine.label_tasks();
    label_tasks.close();
    if tokio::time::timeout(STOP_GRACE, label_tasks.wait())
        .await
        .is_err()
    {
        tracing::warn!("labelling calls were still finishing when the stop's grace period ended");
    }
    let engine = Arc::clone(&state.engine);
    let until = std::time::Instant::now() + STOP_GRACE;
    match tokio::task::spawn_blocking(move || engine.wait_for_retraining(until)).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            "a retrain was still running when the stop's grace period ended; it is stopped and will be reported as interrupted"
        ),
        Err(error) => tracing::error!(%error, "waiting for the retraining jobs failed"),
    }
    state.engine.store().flush()?;
    tracing::info!("stopped; storage flushed");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_server::Health;
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::server::{HealthReporter, HealthService};

    async fn status_of(health: &HealthService, service: &str) -> ServingStatus {
        let answer = health
            .check(tonic::Request::new(HealthCheckRequest {
                service: service.to_string(),
            }))
            .await
            .unwrap()
            .into_inner();
        answer.status()
    }

    /// A store that cannot make writes durable fails every check until a
    /// restart; health checking must say so, so that probes and load
    /// balancers stop sending calls to it.
    #[tokio::test]
    async fn health_says_not_serving_once_storage_cannot_make_writes_durable() {
        let directory = tempfile::tempdir().unwrap();
        let engine = Arc::new(Engine::new(
            Store::open(directory.path()).unwrap(),
            Model::embedded_default().unwrap(),
            crate::verdict::Thresholds::default(),
            crate::rules::Rules::default(),
        ));
        let reporter = HealthReporter::new();
        reporter
            .set_serving::<ModerationServer<ModerationService>>()
            .await;
        reporter.set_serving::<ReviewServer<ReviewService>>().await;
        let health = HealthService::from_health_reporter(reporter.clone());
        let interval = std::time::Duration::from_millis(10);
        let watcher = tokio::spawn(report_storage_failure(
            Arc::clone(&engine),
            reporter,
            interval,
        ));
        tokio::time::sleep(interval * 5).await;
        let moderation = "moderation.v1.Moderation";
        assert_eq!(status_of(&health, moderation).await, ServingStatus::Serving);
        assert_eq!(status_of(&health, "").await, ServingStatus::Serving);
        assert!(engine.store().write_failure().is_none());

        engine.store().fail_flushes("disk gone");
        tokio::time::timeout(std::time::Duration::from_secs(10), watcher)
            .await
            .expect("the watcher saw the failure")
            .unwrap();
        for service in [
            "",
            moderation,
            "moderation.v1.Review",
            "moderation.v1.Training",
        ] {
            assert_eq!(
                status_of(&health, service).await,
                ServingStatus::NotServing,
                "{service}"
            );
        }
        let reason = engine.store().write_failure().unwrap();
        assert!(reason.contains("disk gone"), "{reason}");
    }
}
