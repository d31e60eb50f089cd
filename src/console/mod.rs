//! The HTTP side of the service: the moderator web console and the
//! Prometheus metrics endpoint, on a port of their own (`console_listen`
//! and `metrics_listen`, both off unless configured). Only this module
//! knows axum. The console is a plain page (`assets/`, built into the
//! binary: no external network at run time) that calls the JSON API below
//! with the moderator's bearer token; every call goes through the same
//! keys, roles, site scopes and admission limits as gRPC.

mod api;
mod connections;
mod tls;

pub use connections::MAX_HTTP_CONNECTIONS;
pub use tls::{ConsoleTls, ConsoleTlsError, MAX_HANDSHAKES};

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tokio::net::TcpListener;

use crate::engine::Engine;
use crate::grpc::Access;
use crate::metrics::StoredFigures;

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct HttpState {
    pub engine: Arc<Engine>,
    pub access: Arc<Access>,
}

/// Which parts an HTTP listener serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parts {
    pub console: bool,
    pub metrics: bool,
}

impl Parts {
    /// What a listener serving these parts is, for messages.
    pub fn describe(self) -> &'static str {
        match (self.console, self.metrics) {
            (true, true) => "the console and the metrics",
            (true, false) => "the console",
            (false, true) => "the metrics",
            (false, false) => "nothing",
        }
    }
}

/// The HTTP listeners to open for `console_listen` and `metrics_listen`:
/// one for each, or one serving both when they are the same address. The
/// console's port does not serve the metrics otherwise: they name every
/// site with its queue and ask for no token, while the console's port is
/// opened to moderators, each of whom sees only their sites.
pub fn listeners(
    console_listen: Option<SocketAddr>,
    metrics_listen: Option<SocketAddr>,
) -> Vec<(SocketAddr, Parts)> {
    match (console_listen, metrics_listen) {
        (Some(console), Some(metrics)) if console == metrics => vec![(
            console,
            Parts {
                console: true,
                metrics: true,
            },
        )],
        (console, metrics) => {
            let console = console.map(|address| {
                let parts = Parts {
                    console: true,
                    metrics: false,
                };
                (address, parts)
            });
            let metrics = metrics.map(|address| {
                let parts = Parts {
                    console: false,
                    metrics: true,
                };
                (address, parts)
            });
            console.into_iter().chain(metrics).collect()
        }
    }
}

/// The routes of `parts`; `over_tls` adds the header that keeps browsers
/// on HTTPS.
fn router(state: HttpState, parts: Parts, over_tls: bool) -> Router {
    let mut router = Router::new();
    if parts.metrics {
        router = router.route("/metrics", get(metrics));
    }
    if parts.console {
        router = router
            .route("/", get(|| asset("text/html; charset=utf-8", INDEX_HTML)))
            .route(
                "/app.js",
                get(|| asset("text/javascript; charset=utf-8", APP_JS)),
            )
            .route(
                "/app.css",
                get(|| asset("text/css; charset=utf-8", APP_CSS)),
            )
            .route("/api/me", get(api::me))
            .route("/api/queue", get(api::queue))
            .route("/api/resolve", post(api::resolve))
            .route("/api/stats", get(api::stats));
    }
    router
        .layer(axum::extract::DefaultBodyLimit::max(api::MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            connections::HTTP_REQUEST_LIMIT,
            within_request_limit,
        ))
        .layer(axum::middleware::map_response(security_headers))
        .layer(axum::middleware::map_response(
            move |mut response: Response| async move {
                // Over TLS, a browser that has been here once goes on
                // asking for HTTPS: a sign-in page served over plain HTTP
                // by someone on the path (the service answers none) would
                // otherwise collect the token typed into it.
                if over_tls {
                    response.headers_mut().insert(
                        header::STRICT_TRANSPORT_SECURITY,
                        HeaderValue::from_static("max-age=31536000"),
                    );
                }
                response
            },
        ))
        .with_state(state)
}

/// Answers 503 for a request not answered within `limit`
/// ([`connections::HTTP_REQUEST_LIMIT`]: a body that arrives slowly, a wait
/// for an admission place, a slow figure): what the client gets instead of
/// a connection cut as idle.
async fn within_request_limit(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => api::ApiError::Request {
            status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
            message: format!("the request took longer than {} s", limit.as_secs()),
        }
        .into_response(),
    }
}

/// Headers every answer carries: the page runs only its own script and
/// style and cannot be framed by another site (so no other page can
/// steer a moderator's clicks), a browser takes each answer for the type
/// it says, and answers that do not say otherwise (the API's, which hold
/// readers' e-mail and IP addresses) are kept in no cache.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers
        .entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");

async fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body,
    )
}

/// The Prometheus text of the service's counters, with the figures that
/// live in storage read now.
async fn metrics(
    axum::extract::State(state): axum::extract::State<HttpState>,
) -> impl IntoResponse {
    let stored = stored_figures_in_background(&state.engine).await;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state
            .access
            .metrics
            .render(&stored, state.access.admission.figures()),
    )
}

/// [`stored_figures`] on a blocking thread, as queue pages are read: it
/// counts every site's pending items and decodes every retraining job from
/// sled, which must not hold up the checks a runtime thread carries. Should
/// that thread fail, the scrape still answers, without the stored figures,
/// as it does when storage cannot be read.
async fn stored_figures_in_background(engine: &Arc<Engine>) -> StoredFigures {
    let reading = Arc::clone(engine);
    match tokio::task::spawn_blocking(move || stored_figures(&reading)).await {
        Ok(figures) => figures,
        Err(error) => {
            tracing::warn!(%error, "the task reading the stored figures for the metrics failed");
            StoredFigures {
                queue_depth: Vec::new(),
                model_version: engine.model().version().to_string(),
                retrain_jobs: Vec::new(),
                storage_writer: engine.store().writer_figures(),
                corrections: engine.labels_changed(),
            }
        }
    }
}

fn stored_figures(engine: &Engine) -> StoredFigures {
    let queue_depth = engine.queue_depth_by_site().unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot read the queue depth for the metrics");
        Vec::new()
    });
    let retrain_jobs = engine.retrain_job_outcomes().unwrap_or_else(|error| {
        tracing::warn!(%error, "cannot read the retraining jobs for the metrics");
        Vec::new()
    });
    StoredFigures {
        queue_depth,
        model_version: engine.model().version().to_string(),
        retrain_jobs,
        storage_writer: engine.store().writer_figures(),
        corrections: engine.labels_changed(),
    }
}

/// Serves the chosen parts on `listener` (over TLS when `tls` is given)
/// until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    tls: Option<&ConsoleTls>,
    state: HttpState,
    parts: Parts,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = router(state, parts, tls.is_some());
    match tls {
        Some(tls) => {
            let listener = connections::Bounded::new(tls::TlsListener::new(listener, tls)?);
            axum::serve(listener, router)
                .with_graceful_shutdown(shutdown)
                .await
        }
        None => {
            axum::serve(connections::Bounded::new(listener), router)
                .with_graceful_shutdown(shutdown)
                .await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_request_not_answered_within_the_limit_gets_503() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let slow = Router::new()
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(std::time::Duration::from_secs(600)).await;
                    "late"
                }),
            )
            .route("/quick", get(|| async { "quick" }))
            .layer(axum::middleware::from_fn_with_state(
                std::time::Duration::from_millis(100),
                within_request_limit,
            ));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, slow).await });
        for (path, expected) in [("/slow", "503"), ("/quick", "200")] {
            let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
            let request = format!("GET {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.unwrap();
            let status = answer.split_whitespace().nth(1).unwrap_or_default();
            assert_eq!(status, expected, "{path}: {answer}");
        }
    }

    fn address(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_metrics_are_served_on_their_own_address_or_where_the_console_shares_it() {
        let console = address("127.0.0.1:8080");
        let metrics = address("127.0.0.1:9090");
        let only_console = Parts {
            console: true,
            metrics: false,
        };
        let only_metrics = Parts {
            console: false,
            metrics: true,
        };
        assert_eq!(
            listeners(Some(console), None),
            vec![(console, only_console)]
        );
        assert_eq!(
            listeners(Some(console), Some(metrics)),
            vec![(console, only_console), (metrics, only_metrics)]
        );
        assert_eq!(
            listeners(None, Some(metrics)),
            vec![(metrics, only_metrics)]
        );
        assert_eq!(
            listeners(Some(console), Some(console)),
            vec![(
                console,
                Parts {
                    console: true,
                    metrics: true,
                }
            )]
        );
        assert!(listeners(None, None).is_empty());
    }
}
