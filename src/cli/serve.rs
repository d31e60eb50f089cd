//! `moderato serve`: configuration, logging, listener, signals (SIGINT and
//! SIGTERM stop, SIGHUP reloads the rules, thresholds and keys); then
//! `server::run`.

use std::path::PathBuf;

use tokio::net::TcpListener;

use super::CliError;
use crate::config::{Config, LogFormat, Overrides};
use crate::connection_limit;
use crate::console::{self, HttpState};
use crate::server::{self, State};

/// Raises the process's limit on open files so that the connections the
/// limits allow fit in it, and warns when the system does not let it.
fn ask_for_open_files(config: &Config) {
    let needed = connection_limit::files_needed(config.admission.max_connections());
    match connection_limit::raise_open_file_limit(needed) {
        Ok(limit) if limit.now >= needed => {
            if let Some(from) = limit.raised_from {
                tracing::info!(from, to = limit.now, "raised the limit on open files");
            }
        }
        Ok(limit) => tracing::warn!(
            limit = limit.now,
            needed,
            "the process may open fewer files than the connections [limits] allows need \
             (max_connections, and the console's and the metrics' listeners at theirs): \
             connections beyond it wait until one closes; raise the limit (ulimit -n, \
             systemd's LimitNOFILE=) or lower max_connections"
        ),
        Err(error) => tracing::warn!(%error, "cannot read or raise the limit on open files"),
    }
}

pub fn serve(config_file: Option<PathBuf>, overrides: Overrides) -> Result<(), CliError> {
    crate::allocator::use_two_arenas();
    let config = Config::load(config_file.as_deref(), &overrides)?;
    init_logging(config.log_format);
    for warning in config.warnings() {
        tracing::warn!("configuration: {warning}");
    }
    ask_for_open_files(&config);
    let runtime = super::async_runtime(tokio::runtime::Builder::new_multi_thread())?;
    let served = runtime.block_on(async {
        // SIGHUP is listened for from the start: before its handler, it
        // would take its default action and end the process, perhaps while
        // the start changes what is stored (the configured model is
        // registered); one that comes during the start reloads the file
        // once the service is up. (A stop signal during the start still
        // ends the process at once, as an operator who stops a slow start
        // expects; nothing has been acknowledged yet.)
        let hangups = listen_for_hangups();
        let prepared = State::prepare(&config).map_err(|error| match (&error, &config_file) {
            (crate::server::ServerError::ConfiguredFile { .. }, Some(file)) => {
                CliError::InConfigurationFile {
                    file: file.display().to_string(),
                    source: error,
                }
            }
            _ => CliError::from(error),
        })?;
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| CliError::Bind {
                listener: "gRPC",
                address: config.listen.to_string(),
                source,
            })?;
        let address = listener.local_addr().map_err(|source| CliError::Io {
            context: "cannot read the listening address".to_string(),
            source,
        })?;
        // Every listener is bound before the ready line, so that a line
        // that says ready means the service is up (a console address that
        // cannot be bound stops the start instead). They are bound after
        // the store is opened, which can take a while on a large database:
        // until then a client's connection is refused, not left hanging.
        // They are bound before the start changes anything stored (the
        // configured model is registered and put in force), so that a
        // start refused here leaves the registry as it was.
        let mut http = Vec::new();
        for (address, parts) in console::listeners(config.console_listen, config.metrics_listen) {
            let http_listener =
                TcpListener::bind(address)
                    .await
                    .map_err(|source| CliError::Bind {
                        listener: parts.describe(),
                        address: address.to_string(),
                        source,
                    })?;
            let bound = http_listener.local_addr().map_err(|source| CliError::Io {
                context: "cannot read the listening address".to_string(),
                source,
            })?;
            http.push((http_listener, bound, parts));
        }
        // The console serves HTTPS with the same certificate and key as
        // gRPC, so that moderators' tokens never travel in plain text.
        let console_tls = prepared
            .tls
            .as_ref()
            .map(|keys| console::ConsoleTls::from_pem(&keys.cert_pem, &keys.key_pem))
            .transpose()
            .map_err(CliError::ConsoleTls)?;
        let state = prepared.start()?;
        // Said once the listeners are bound: a start that cannot listen
        // announces no token for a service that never ran.
        if let Some(path) = &state.admin_token_file {
            tracing::info!(
                path = %path.display(),
                "no [[keys]] configured: the admin token is in this file (owner-readable only)"
            );
        }
        // The stop signals are listened for before the ready line: one that
        // came before its handler would take its default action and end
        // the process without the clean stop.
        let mut stop_signals = StopSignals::install()?;
        if state.tls.is_none() {
            warn_of_plain_text(address, "gRPC");
            for (_, bound, parts) in &http {
                if parts.console {
                    warn_of_plain_text(*bound, "console");
                }
            }
        }
        reload_on_hangup(
            hangups,
            &state,
            config.clone(),
            config_file,
            overrides.clone(),
        );
        tracing::info!(
            %address,
            model = state.engine.model().version(),
            data_dir = %config.data_dir.display(),
            "moderato ready to serve"
        );
        let model = state.engine.model();
        if !model.can_learn_online() {
            tracing::warn!(
                model = model.version(),
                "the model keeps no feature counts (a Bernoulli model does not): labels are not \
                 learned online and incremental retrains fail; a full retrain (with \
                 learning.base_data) learns the corrections, and a multinomial model learns \
                 them as they come"
            );
        }
        // One stop signal for every listener; a second one stops at once.
        let (stop, stopped) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            stop_signals.next().await;
            tracing::info!(
                grace_seconds = crate::limits::STOP_GRACE.as_secs(),
                "stop signal received: finishing in-flight calls"
            );
            let _ = stop.send(true);
            let second = stop_signals.next().await;
            tracing::warn!(
                "second stop signal: stopping at once (every acknowledged write is on disk already)"
            );
            // The shell's convention: 128 and the signal's number.
            std::process::exit(second.exit_code());
        });
        let when_stopped = move || {
            let mut stopped = stopped.clone();
            async move {
                let _ = stopped.wait_for(|stopped| *stopped).await;
            }
        };
        for (http_listener, bound, parts) in http {
            tracing::info!(
                address = %bound,
                console = parts.console,
                metrics = parts.metrics,
                tls = console_tls.is_some(),
                "HTTP ready: console at /, metrics at /metrics, as enabled"
            );
            let state = HttpState {
                engine: std::sync::Arc::clone(&state.engine),
                access: std::sync::Arc::clone(&state.access),
            };
            let shutdown = when_stopped();
            let tls = console_tls.clone();
            tokio::spawn(async move {
                let served =
                    console::serve(http_listener, tls.as_ref(), state, parts, shutdown).await;
                if let Err(error) = served {
                    tracing::error!(%error, "the HTTP listener stopped");
                }
            });
        }
        server::run(listener, state, when_stopped()).await?;
        Ok(())
    });
    // Storage is flushed by now (`server::run`); work still running on a
    // blocking thread (a queue page, the statistics or an export) is not waited for beyond the
    // grace, so a stop ends within its documented bound.
    runtime.shutdown_timeout(crate::limits::STOP_GRACE);
    served
}

/// Logs go to standard output (standard error is kept for fatal errors),
/// at `info` unless `RUST_LOG` says otherwise.
/// `log_format = "json"` makes each line a JSON object. At `debug`
/// (`RUST_LOG=moderato=debug`) every gRPC call gets a line of its own.
fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stdout);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// SIGHUPs, as they come.
#[cfg(unix)]
type Hangups = tokio::signal::unix::Signal;
#[cfg(not(unix))]
type Hangups = ();

/// Listens for SIGHUPs; `None` when they cannot be listened for (said in
/// the log) or the platform has none.
fn listen_for_hangups() -> Option<Hangups> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::hangup()) {
            Ok(hangups) => Some(hangups),
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGHUP; the configuration reloads only on restart");
                None
            }
        }
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Reloads the rules, thresholds and keys from the configuration file on
/// each of `hangups`, for as long as the runtime runs (see
/// `server::reload`). A bad file is logged and what is in force stays.
fn reload_on_hangup(
    hangups: Option<Hangups>,
    state: &State,
    running: Config,
    config_file: Option<PathBuf>,
    overrides: Overrides,
) {
    #[cfg(unix)]
    {
        let Some(mut hangups) = hangups else {
            return;
        };
        let (engine, access) = (
            std::sync::Arc::clone(&state.engine),
            std::sync::Arc::clone(&state.access),
        );
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                let Some(path) = &config_file else {
                    tracing::warn!(
                        "SIGHUP: no configuration file to reload (serve without --config)"
                    );
                    continue;
                };
                // Building long term lists takes a while: this worker
                // thread hands its other tasks over while it does (the
                // runtime has several).
                let reloaded = tokio::task::block_in_place(|| {
                    server::reload(&engine, &access, &running, path, &overrides)
                });
                match reloaded {
                    Ok(reloaded) => {
                        tracing::info!(
                            path = %path.display(),
                            keys = reloaded.keys,
                            keys_changed = reloaded.keys_changed,
                            "SIGHUP: rules, thresholds and keys reloaded"
                        );
                        if !reloaded.keys {
                            tracing::warn!(
                                "SIGHUP: the file has no [[keys]]; the keys in force stay until a restart"
                            );
                        }
                        // The files behind the same paths may be new (a
                        // renewed certificate, a retrained model): say
                        // that they are not read.
                        for warning in running.files_read_at_start_only() {
                            tracing::warn!("SIGHUP: {warning}");
                        }
                        for warning in &reloaded.warnings {
                            tracing::warn!("SIGHUP: configuration: {warning}");
                        }
                        if !reloaded.need_restart.is_empty() {
                            tracing::warn!(
                                settings = reloaded.need_restart.join(", "),
                                "SIGHUP: these settings changed but take a restart"
                            );
                        }
                    }
                    Err(error) => tracing::error!(
                        %error,
                        "SIGHUP: the configuration was refused; the previous rules, thresholds and keys stay in force"
                    ),
                }
            }
        });
    }
    #[cfg(not(unix))]
    {
        let _ = (hangups, state, running, config_file, overrides);
    }
}

/// Which stop signal came.
#[derive(Debug, Clone, Copy)]
enum StopSignal {
    Interrupt,
    Terminate,
}

impl StopSignal {
    /// What a process ended by the signal reports: 128 and its number.
    fn exit_code(self) -> i32 {
        match self {
            StopSignal::Interrupt => 130,
            StopSignal::Terminate => 143,
        }
    }
}

/// SIGINT and SIGTERM, listened for from the moment they are installed.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    #[cfg(unix)]
    fn install() -> Result<StopSignals, CliError> {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|source| CliError::Io {
                context: format!("cannot listen for {name}"),
                source,
            })
        };
        Ok(StopSignals {
            interrupt: listen(SignalKind::interrupt(), "SIGINT")?,
            terminate: listen(SignalKind::terminate(), "SIGTERM")?,
        })
    }

    #[cfg(not(unix))]
    fn install() -> Result<StopSignals, CliError> {
        Ok(StopSignals {})
    }

    /// Completes on the next SIGINT or SIGTERM.
    #[cfg(unix)]
    async fn next(&mut self) -> StopSignal {
        tokio::select! {
            _ = self.interrupt.recv() => StopSignal::Interrupt,
            _ = self.terminate.recv() => StopSignal::Terminate,
        }
    }

    /// Completes on the next Ctrl-C.
    #[cfg(not(unix))]
    async fn next(&mut self) -> StopSignal {
        let _ = tokio::signal::ctrl_c().await;
        StopSignal::Interrupt
    }
}

/// Tokens cross the network in plain text without `[tls]`: harmless on
/// loopback (or behind a proxy on the same host that terminates TLS),
/// worth a warning on any other address.
fn warn_of_plain_text(address: std::net::SocketAddr, listener: &str) {
    if !address.ip().is_loopback() {
        tracing::warn!(
            %address,
            listener,
            "serving without TLS on an address other hosts can reach: bearer tokens cross the network in plain text (configure [tls], or put a TLS proxy in front)"
        );
    }
}
