//! The client side of the `Review` service, for the `moderato queue`
//! commands: connects with a bearer token and converts between the wire
//! types and plain values, so that nothing outside `grpc` touches prost.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::Request;

use super::pb;
use crate::domain::{Label, Priority, ReviewStatus, UnixMillis, Verdict};

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{server:?} is not a server address: {message}")]
    Address { server: String, message: String },
    #[error("cannot connect to {server}: {message}")]
    Connect { server: String, message: String },
    #[error("the token contains characters that cannot be sent in a header")]
    Token,
    #[error("the server refused: {code:?}: {message}")]
    Refused { code: tonic::Code, message: String },
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        ClientError::Refused {
            code: status.code(),
            message: status.message().to_string(),
        }
    }
}

/// One queue item as the command line shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueItem {
    pub decision_id: String,
    pub site_id: String,
    pub comment_id: String,
    pub verdict: Option<Verdict>,
    pub priority: Option<Priority>,
    pub status: Option<ReviewStatus>,
    pub score: f64,
    pub created_at: Option<UnixMillis>,
    pub content: String,
    /// The label a person gave, if any.
    pub label: Option<Label>,
}

/// One page of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueListing {
    pub items: Vec<QueueItem>,
    /// Empty on the last page.
    pub next_page_token: String,
    pub total: u64,
}

/// What to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueQuery {
    /// Empty: every site the key may see.
    pub site_id: String,
    /// `None`: pending.
    pub status: Option<ReviewStatus>,
    pub min_priority: Option<Priority>,
    /// 0: the server's default.
    pub page_size: u32,
    pub page_token: String,
}

/// A connection to a server's `Review` service with one key.
pub struct ReviewConnection {
    client: pb::review_client::ReviewClient<Channel>,
    authorization: MetadataValue<Ascii>,
}

/// Connects to `server` and prepares the `authorization` header of `token`.
pub(super) async fn connect(
    server: &str,
    token: &str,
) -> Result<(Channel, MetadataValue<Ascii>), ClientError> {
    let endpoint =
        Endpoint::from_shared(server.to_string()).map_err(|error| ClientError::Address {
            server: server.to_string(),
            message: error.to_string(),
        })?;
    let channel = endpoint
        .connect()
        .await
        .map_err(|error| ClientError::Connect {
            server: server.to_string(),
            message: error.to_string(),
        })?;
    let authorization = format!("Bearer {token}")
        .parse()
        .map_err(|_| ClientError::Token)?;
    Ok((channel, authorization))
}

/// A request carrying the bearer token.
pub(super) fn with_authorization<T>(
    authorization: &MetadataValue<Ascii>,
    message: T,
) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", authorization.clone());
    request
}

impl ReviewConnection {
    pub async fn connect(server: &str, token: &str) -> Result<ReviewConnection, ClientError> {
        let (channel, authorization) = connect(server, token).await?;
        Ok(ReviewConnection {
            client: pb::review_client::ReviewClient::new(channel),
            authorization,
        })
    }

    fn request<T>(&self, message: T) -> Request<T> {
        with_authorization(&self.authorization, message)
    }

    pub async fn list(&mut self, query: &QueueQuery) -> Result<QueueListing, ClientError> {
        let message = pb::ListQueueRequest {
            site_id: query.site_id.clone(),
            status: query
                .status
                .map(|status| super::convert::status_to_proto(status) as i32)
                .unwrap_or_default(),
            min_priority: query
                .min_priority
                .map(|priority| super::convert::priority_to_proto(priority) as i32)
                .unwrap_or_default(),
            page_size: query.page_size,
            page_token: query.page_token.clone(),
        };
        let response = self
            .client
            .list_queue(self.request(message))
            .await?
            .into_inner();
        Ok(QueueListing {
            items: response.items.iter().map(queue_item_from_proto).collect(),
            next_page_token: response.next_page_token,
            total: response.total,
        })
    }

    /// Resolves the items; returns them as they are now.
    pub async fn resolve(
        &mut self,
        decision_ids: Vec<String>,
        label: Label,
        moderator: String,
        note: String,
    ) -> Result<Vec<QueueItem>, ClientError> {
        let message = pb::ResolveItemsRequest {
            decision_ids,
            label: super::convert::label_to_proto(label) as i32,
            moderator,
            note,
        };
        let response = self
            .client
            .resolve_items(self.request(message))
            .await?
            .into_inner();
        Ok(response
            .decisions
            .iter()
            .map(queue_item_from_proto)
            .collect())
    }
}

fn queue_item_from_proto(decision: &pb::Decision) -> QueueItem {
    let verdict = match decision.verdict() {
        pb::Verdict::Allow => Some(Verdict::Allow),
        pb::Verdict::Review => Some(Verdict::Review),
        pb::Verdict::Reject => Some(Verdict::Reject),
        pb::Verdict::Unspecified => None,
    };
    let priority = match decision.priority() {
        pb::Priority::Low => Some(Priority::Low),
        pb::Priority::Medium => Some(Priority::Medium),
        pb::Priority::High => Some(Priority::High),
        pb::Priority::Unspecified => None,
    };
    let status = match decision.status() {
        pb::ReviewStatus::Pending => Some(ReviewStatus::Pending),
        pb::ReviewStatus::Approved => Some(ReviewStatus::Approved),
        pb::ReviewStatus::Rejected => Some(ReviewStatus::Rejected),
        pb::ReviewStatus::Unspecified => None,
    };
    let label = decision
        .resolution
        .as_ref()
        .and_then(|resolution| match resolution.label() {
            pb::Label::Ham => Some(Label::Ham),
            pb::Label::Spam => Some(Label::Spam),
            pb::Label::Unspecified => None,
        });
    QueueItem {
        decision_id: decision.decision_id.clone(),
        site_id: decision.site_id.clone(),
        comment_id: decision.comment_id.clone(),
        verdict,
        priority,
        status,
        score: decision.score,
        created_at: decision
            .created_at
            .as_ref()
            .and_then(|time| super::convert::time_from_proto("created_at", time).ok()),
        content: decision.content.clone(),
        label,
    }
}
