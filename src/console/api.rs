//! The console's JSON API: who am I, a page of the queue with what a
//! moderator needs to judge each item, resolving items, per-site figures.
//! Domain types in, plain JSON out; errors keep the gRPC status's meaning
//! (one mapping, `grpc::status`) as an HTTP status and a message.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};

use super::HttpState;
use crate::auth::Service;
use crate::classifier::describe_feature;
use crate::classifier::Model;
use crate::domain::{Decision, Label, Priority, ReasonSource, ReviewStatus};
use crate::error::{Echo, Error};
use crate::grpc::page_token;
use crate::grpc::Caller;
use crate::limits::{MAX_NOTE_BYTES, MAX_RESOLVE_IDS};
use crate::review::QueueFilter;
use crate::review_operations::{review_scope, Resolve};

/// Items of a console page.
const PAGE_SIZE: usize = 25;
/// Words highlighted per comment.
const HIGHLIGHTS: usize = 8;

/// The largest body the API reads (`/api/resolve`'s): 500 ids in JSON with
/// a 2 KiB note take about 22 KB. Larger bodies get 413 without being read
/// further.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// An error as the console receives it: a service error, with the HTTP
/// status its gRPC status means, or a request the HTTP layer refused
/// (413 for a body too large, 415 for one that is not JSON, 400 for JSON
/// that does not parse or fit).
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Service(#[from] Error),
    #[error("{message}")]
    Request { status: StatusCode, message: String },
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        // A body too large or not JSON at all keeps the status that says
        // so; JSON that does not parse or fit is a bad argument, as
        // everywhere else.
        let status = match rejection.status() {
            status @ (StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE) => status,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::Request {
            status,
            message: format!("body: {}", rejection.body_text()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (http, message) = match self {
            ApiError::Service(error) => service_status(error),
            ApiError::Request { status, message } => (status, message),
        };
        let mut response = (http, Json(serde_json::json!({ "error": message }))).into_response();
        let headers = response.headers_mut();
        // What RFC 6750 asks of a 401 for a bearer token.
        if http == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

/// The HTTP status a service error means, with its message.
fn service_status(error: Error) -> (StatusCode, String) {
    let status: tonic::Status = error.into();
    let http = match status.code() {
        tonic::Code::InvalidArgument | tonic::Code::OutOfRange => StatusCode::BAD_REQUEST,
        tonic::Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        tonic::Code::PermissionDenied => StatusCode::FORBIDDEN,
        tonic::Code::NotFound => StatusCode::NOT_FOUND,
        tonic::Code::ResourceExhausted => StatusCode::TOO_MANY_REQUESTS,
        tonic::Code::FailedPrecondition => StatusCode::CONFLICT,
        tonic::Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        tonic::Code::AlreadyExists | tonic::Code::Aborted => StatusCode::CONFLICT,
        tonic::Code::DeadlineExceeded => StatusCode::GATEWAY_TIMEOUT,
        tonic::Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        tonic::Code::Ok
        | tonic::Code::Cancelled
        | tonic::Code::Unknown
        | tonic::Code::Internal
        | tonic::Code::DataLoss => StatusCode::INTERNAL_SERVER_ERROR,
    };
    (http, status.message().to_string())
}

/// The admitted moderator (or admin) behind the request's bearer token.
/// Handlers take it before any other argument, so that a request without
/// a valid token is refused before its body is read.
pub struct Moderator(Caller);

impl FromRequestParts<HttpState> for Moderator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &HttpState) -> Result<Self, ApiError> {
        Ok(Moderator(caller(state, &parts.headers).await?))
    }
}

/// The caller behind `Authorization: Bearer <token>`, admitted.
async fn caller(state: &HttpState, headers: &HeaderMap) -> Result<Caller, Error> {
    let token = headers
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or(Error::Unauthenticated)?;
    let caller = state.access.admit_token(token, Service::Review).await?;
    Ok(caller)
}

#[derive(Serialize)]
pub struct Me {
    name: String,
    role: String,
    sites: Vec<String>,
}

pub async fn me(Moderator(caller): Moderator) -> Result<Json<Me>, ApiError> {
    Ok(Json(Me {
        name: caller.name.clone(),
        role: format!("{:?}", caller.role).to_lowercase(),
        sites: caller.sites.clone(),
    }))
}

/// Unknown parameters are refused, as `/api/resolve` refuses unknown
/// fields: a script that asks for `min_priority` or `page_size` (the gRPC
/// `ListQueue`'s) would otherwise get every item without a word.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    #[serde(default)]
    site: String,
    /// `pending` (the default), `approved` or `rejected`: the settled
    /// items are listed so that a moderator can find a mistake and decide
    /// again.
    #[serde(default)]
    status: String,
    #[serde(default)]
    page_token: String,
}

/// The queue a console page lists.
fn listed_status(status: &str) -> Result<ReviewStatus, Error> {
    match status {
        "" | "pending" => Ok(ReviewStatus::Pending),
        "approved" => Ok(ReviewStatus::Approved),
        "rejected" => Ok(ReviewStatus::Rejected),
        other => Err(Error::invalid_argument(
            "status",
            format!(
                "{} is not \"pending\", \"approved\" or \"rejected\"",
                Echo(other)
            ),
        )),
    }
}

#[derive(Serialize)]
struct ReasonView {
    source: &'static str,
    code: String,
    message: String,
    weight: f64,
}

#[derive(Serialize)]
struct Highlight {
    /// The text to mark (a word or a link's domain), lower case.
    text: String,
    weight: f64,
    description: String,
}

#[derive(Serialize)]
struct ItemView {
    decision_id: String,
    site_id: String,
    comment_id: String,
    /// What the moderator sees, fingerprinted (`Comment::revision`): sent
    /// back with a label, so that an edit made since is not labelled.
    revision: String,
    content: String,
    author_name: String,
    author_email: String,
    author_url: String,
    author_ip: String,
    post_title: String,
    permalink: String,
    created_at_ms: i64,
    verdict: String,
    priority: String,
    score: f64,
    model_version: String,
    reasons: Vec<ReasonView>,
    highlights: Vec<Highlight>,
}

#[derive(Serialize)]
pub struct PageView {
    items: Vec<ItemView>,
    next_page_token: String,
    total: u64,
}

fn lower<T: std::fmt::Debug>(value: T) -> String {
    format!("{value:?}").to_lowercase()
}

/// The most words one word beginning marks, so that a comment of many
/// made-up forms of one word leaves room for the other highlights.
const WORDS_PER_BEGINNING: usize = 3;

/// The distinct words of a normalised text that have `beginning` (begin
/// with it and are longer), at most [`WORDS_PER_BEGINNING`].
fn words_beginning_with(normalized: &str, beginning: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    crate::text::for_each_token(normalized, |kind, token| {
        let fits = kind == crate::text::TokenKind::Word
            && words.len() < WORDS_PER_BEGINNING
            && token.len() > beginning.len()
            && token.starts_with(beginning)
            && !words.iter().any(|word| word == token);
        if fits {
            words.push(token.to_string());
        }
    });
    words
}

fn item_view(model: &Model, decision: Decision) -> ItemView {
    // The words that drove the model, found again on the text as it is
    // shown (the stored reasons name the strongest few only).
    // Normalised once, for the score and for the words a beginning marks.
    let normalized = crate::text::normalize(&decision.comment.content);
    let score = model
        .score_normalized(
            &decision.comment.content,
            &normalized,
            &crate::classifier::SiteHosts::default(),
        )
        .readable();
    let highlights = score
        .strongest(usize::MAX)
        .into_iter()
        .flat_map(|contribution| {
            let (kind, value) = contribution
                .feature
                .split_once(':')
                .unwrap_or(("", contribution.feature));
            let marked: Vec<String> = match kind {
                "w" | "d" => vec![value.to_string()],
                // The beginning of words the model does not know: the
                // text's words that begin so are what to mark.
                "r" => words_beginning_with(&normalized, value),
                _ => Vec::new(),
            };
            marked.into_iter().map(|text| Highlight {
                text,
                weight: contribution.weight,
                description: describe_feature(contribution.feature),
            })
        })
        .take(HIGHLIGHTS)
        .collect();
    let assessment = decision.assessment;
    let comment = decision.comment;
    ItemView {
        decision_id: decision.decision_id,
        revision: comment.revision(),
        site_id: comment.site_id,
        comment_id: comment.comment_id,
        content: comment.content,
        author_name: comment.author.name,
        author_email: comment.author.email,
        author_url: comment.author.url,
        author_ip: comment
            .author
            .ip
            .map(|ip| ip.to_string())
            .unwrap_or_default(),
        post_title: comment.context.post_title,
        permalink: comment.context.permalink,
        created_at_ms: decision.created_at.0,
        verdict: lower(assessment.verdict),
        priority: lower(assessment.priority),
        score: assessment.score,
        model_version: assessment.model_version,
        reasons: assessment
            .reasons
            .into_iter()
            .map(|reason| ReasonView {
                source: match reason.source {
                    ReasonSource::Rule => "rule",
                    ReasonSource::Model => "model",
                },
                code: reason.code,
                message: reason.message,
                weight: reason.weight,
            })
            .collect(),
        highlights,
    }
}

/// A page of the items of one status (pending unless asked), highest
/// priority first, then oldest.
pub async fn queue(
    State(state): State<HttpState>,
    Moderator(caller): Moderator,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Result<Json<PageView>, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        // axum's text starts "Failed to deserialize query string: ".
        let text = rejection.body_text();
        let reason = text
            .strip_prefix("Failed to deserialize query string: ")
            .unwrap_or(&text);
        Error::invalid_argument(
            "query",
            format!("{reason} (the parameters are site, status and page_token)"),
        )
    })?;
    if !query.site.is_empty() {
        crate::domain::check_site_id(&query.site)
            .map_err(|reason| Error::invalid_argument("site", reason.to_string()))?;
    }
    let filter = QueueFilter {
        scope: review_scope(&caller, &query.site)?,
        status: listed_status(&query.status)?,
        min_priority: Priority::Low,
    };
    let cursor = page_token::decode(&filter, &query.page_token)?;
    // The caller's place among the calls in progress is held until the
    // page is ready, the scoring for its marks included: a blocking task
    // cannot be stopped, so a place given back sooner would let clients
    // that hang up pile up that work beyond the limits on calls.
    let caller = Arc::new(caller);
    let page = state
        .engine
        .list_queue_in_background(filter.clone(), cursor, PAGE_SIZE, Arc::clone(&caller))
        .await?;
    let next_page_token = page
        .next
        .as_ref()
        .map(|cursor| page_token::encode(&filter, cursor))
        .unwrap_or_default();
    // Finding the words to mark scores each comment again (up to 25 of
    // up to 64 KiB): a blocking thread's work, like reading the page.
    let model = state.engine.model();
    let items = tokio::task::spawn_blocking(move || {
        let _place = caller;
        page.items
            .into_iter()
            .map(|decision| item_view(&model, decision))
            .collect()
    })
    .await
    .map_err(|error| Error::Internal(format!("the task preparing the page failed: {error}")))?;
    Ok(Json(PageView {
        total: page.total,
        next_page_token,
        items,
    }))
}

/// A field the console does not take (such as `moderator`, which
/// `ResolveItems` takes but the console records as the key's name) is
/// refused, not silently dropped.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    decision_ids: Vec<String>,
    /// "spam" (reject) or "ham" (approve).
    label: String,
    #[serde(default)]
    note: String,
    /// Decision id -> the `revision` of the item as listed: a decision
    /// whose comment was edited since is not labelled (409, and nothing
    /// is).
    #[serde(default)]
    shown: crate::review::ShownComments,
}

/// What resolving did: `resolved` items now carry the label, and
/// `changed` of them did not carry it before (each a correction); the
/// others already had it. `overruled` of them, the decisions
/// `overruled_ids`, had been settled the other way since they were listed
/// (by a colleague, a site's report or a recheck): this label replaced
/// that, as `ResolveItems` does, and the moderator is told which.
#[derive(Serialize)]
pub struct Resolved {
    resolved: usize,
    changed: u64,
    overruled: usize,
    overruled_ids: Vec<String>,
}

pub async fn resolve(
    State(state): State<HttpState>,
    Moderator(caller): Moderator,
    request: Result<Json<ResolveRequest>, JsonRejection>,
) -> Result<Json<Resolved>, ApiError> {
    // A body that is not the JSON asked for gets the console's own error
    // shape (`error`), with the status that says why.
    let Json(request) = request?;
    let label = match request.label.as_str() {
        "spam" => Label::Spam,
        "ham" => Label::Ham,
        other => {
            return Err(Error::invalid_argument(
                "label",
                format!("{} is not \"spam\" or \"ham\"", Echo(other)),
            )
            .into())
        }
    };
    // Ids are counted as sent, as `ResolveItems` counts them, before a
    // repeated one is dropped.
    let mut decision_ids = request.decision_ids;
    if decision_ids.is_empty() || decision_ids.len() > MAX_RESOLVE_IDS {
        return Err(Error::invalid_argument(
            "decision_ids",
            format!("must hold 1 to {MAX_RESOLVE_IDS} ids"),
        )
        .into());
    }
    for decision_id in &decision_ids {
        crate::grpc::check_decision_id("decision_ids", decision_id)?;
    }
    decision_ids.sort();
    decision_ids.dedup();
    if request.note.len() > MAX_NOTE_BYTES {
        return Err(Error::invalid_argument(
            "note",
            format!("is longer than {MAX_NOTE_BYTES} bytes"),
        )
        .into());
    }
    let engine = Arc::clone(&state.engine);
    let outcome = engine
        .resolve_items(
            caller,
            Resolve {
                decision_ids,
                label,
                moderator: String::new(),
                note: request.note,
                shown: request.shown,
            },
        )
        .await?;
    Ok(Json(Resolved {
        resolved: outcome.decisions.len(),
        changed: outcome.corrections,
        overruled: outcome.overruled.len(),
        overruled_ids: outcome.overruled,
    }))
}

#[derive(Serialize)]
struct SiteFigures {
    site_id: String,
    total: u64,
    pending: u64,
    allowed: u64,
    reviewed: u64,
    rejected: u64,
    /// What moderators' corrections imply (as `GetStats`); `null` while
    /// no flagged or known spam gives them a denominator.
    precision: Option<f64>,
    recall: Option<f64>,
}

#[derive(Serialize)]
pub struct StatsView {
    sites: Vec<SiteFigures>,
}

/// The figures of each site the caller may see.
pub async fn stats(
    State(state): State<HttpState>,
    Moderator(caller): Moderator,
) -> Result<Json<StatsView>, ApiError> {
    let scope = review_scope(&caller, "")?;
    let mut sites = Vec::new();
    for (site_id, tally) in state
        .engine
        .site_figures_in_background(scope, caller)
        .await?
    {
        sites.push(SiteFigures {
            site_id,
            total: tally.total,
            pending: tally.pending,
            allowed: tally.allow,
            reviewed: tally.review,
            rejected: tally.reject,
            precision: (tally.true_positives + tally.false_positives > 0)
                .then(|| tally.precision()),
            recall: (tally.true_positives + tally.missed_spam > 0).then(|| tally.recall()),
        });
    }
    Ok(Json(StatsView { sites }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_a_beginning_marks_are_the_texts_own_once_each() {
        let normalized = crate::text::normalize(
            "Subscribing? SUBSCRIBERS subscribing, sub subsc subscribezz subscribeyy",
        );
        assert_eq!(
            words_beginning_with(&normalized, "subsc"),
            vec!["subscribing", "subscribers", "subscribezz"]
        );
        assert!(words_beginning_with(&normalized, "pleas").is_empty());
    }
}
