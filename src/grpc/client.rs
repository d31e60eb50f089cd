//! The client side of the `Review` service, for the `moderato queue`
//! commands: connects with a bearer token and converts between the wire
//! types and plain values, so that nothing outside `grpc` touches prost.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::Request;

use super::pb;
use crate::domain::{Label, Priority, ReviewStatus, UnixMillis, Verdict};
use crate::error::with_causes;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{server:?} is not a server address: {message}")]
    Address { server: String, message: String },
    #[error("cannot connect to {server}: {message}")]
    Connect { server: String, message: String },
    #[error("cannot talk to {server} as asked: {message}")]
    Tls { server: String, message: String },
    #[error("the token contains characters that cannot be sent in a header")]
    Token,
    #[error("the server refused: {code:?}: {message}")]
    Refused { code: tonic::Code, message: String },
    /// The connection failed under the call (tonic says `Unknown`,
    /// "transport error", or `Internal`, "h2 protocol error"): the server
    /// closed it, or speaks TLS to a client that addressed it with
    /// `http://`.
    #[error(
        "the connection failed during the call ({message}): the server closed it, or it \
         serves TLS and must be addressed with https:// (and --ca-cert)"
    )]
    Transport { message: String },
    #[error("the server's answer is not understood: {0}")]
    Unexpected(String),
}

impl ClientError {
    /// Whether asking again after a pause may succeed: the server shed the
    /// call (over a limit, or busy) or could not be reached for a moment.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClientError::Refused {
                code: tonic::Code::ResourceExhausted | tonic::Code::Unavailable,
                ..
            }
        )
    }
}

impl From<tonic::Status> for ClientError {
    fn from(status: tonic::Status) -> Self {
        // tonic's client makes these statuses itself when the connection
        // fails under the call; no handler of ours answers `Unknown`, and
        // its `Internal` answers say "the service's log tells more".
        let transport = match status.code() {
            tonic::Code::Unknown => status.message().starts_with("transport error"),
            tonic::Code::Internal => status.message().starts_with("h2 protocol error"),
            _ => false,
        };
        if transport {
            return ClientError::Transport {
                message: status.message().to_string(),
            };
        }
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
    /// The answer left the comment out (a `ResolveItems` answer over its
    /// size limit); `content` is empty.
    pub comment_omitted: bool,
    /// The label a person gave, if any.
    pub label: Option<Label>,
}

/// One exported correction, as the command line writes it: a line of the
/// JSON Lines format that `moderato train` and `eval` read (`text`,
/// `label`, the site as the `group`, so that `moderato cv --by-group`
/// leaves one site out, and the site's listed `hosts`), with where the
/// label came from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ExportedCorrection {
    pub text: String,
    pub label: Label,
    pub group: String,
    pub site_id: String,
    /// The other host names the site's rules table listed at the export
    /// (links to them stay on the site for the model); left out when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    pub comment_id: String,
    pub decision_id: String,
    /// What the service had said, with which model.
    pub verdict: Option<Verdict>,
    pub model_version: String,
    /// "moderator" or "site".
    pub source: String,
    pub labelled_by: String,
    pub labelled_at_ms: Option<i64>,
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

/// A running server as the command line reaches it: its address, the key
/// to use, and for an `https://` address the certificate (PEM) of the
/// authority that signed the server's certificate.
#[derive(Debug, Clone)]
pub struct Target {
    pub server: String,
    pub token: String,
    pub ca_certificate: Option<Vec<u8>>,
}

/// Connects to the target's server (over TLS for an `https://` address)
/// and prepares the `authorization` header of its token.
pub(super) async fn connect(
    target: &Target,
) -> Result<(Channel, MetadataValue<Ascii>), ClientError> {
    let server = &target.server;
    let address_error = |message: String| ClientError::Address {
        server: server.clone(),
        message,
    };
    let tls_error = |message: String| ClientError::Tls {
        server: server.clone(),
        message,
    };
    // Without a scheme the address parses, and the connection fails later
    // with "invalid URL, scheme is missing", which reads like a network
    // fault.
    if !(server.starts_with("http://") || server.starts_with("https://")) {
        return Err(address_error(format!(
            "it needs its scheme, such as http://{server} (or https:// for a TLS server)"
        )));
    }
    let mut endpoint = Endpoint::from_shared(server.clone())
        .map_err(|error| address_error(with_causes(&error)))?;
    match (server.starts_with("https://"), &target.ca_certificate) {
        (true, Some(pem)) => {
            // tonic takes a file without a certificate, and every server's
            // certificate then fails as signed by an unknown authority.
            use tokio_rustls::rustls::pki_types::{pem::PemObject, CertificateDer};
            let certificates = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|error| {
                    tls_error(format!("--ca-cert does not read as a PEM file: {error}"))
                })?;
            if certificates.is_empty() {
                return Err(tls_error(
                    "--ca-cert holds no certificate (a PEM file with a BEGIN CERTIFICATE block)"
                        .to_string(),
                ));
            }
            let tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem));
            endpoint = endpoint
                .tls_config(tls)
                .map_err(|error| tls_error(with_causes(&error)))?;
        }
        // The build trusts no authority of its own: a server's certificate
        // is checked against the one the operator names.
        (true, None) => {
            return Err(tls_error(
                "an https:// server needs --ca-cert FILE (or MODERATO_CA_CERT): the PEM \
                 certificate of the authority that signed the server's certificate"
                    .to_string(),
            ))
        }
        (false, Some(_)) => {
            return Err(tls_error(
                "--ca-cert is for https:// servers; this address is plain text".to_string(),
            ))
        }
        (false, None) => {}
    }
    let channel = endpoint.connect().await.map_err(|error| {
        let message = with_causes(&error);
        let hint = certificate_hint(&message);
        ClientError::Connect {
            server: server.clone(),
            message: format!("{message}{hint}"),
        }
    })?;
    // A token read from a file or a here-document keeps its line break
    // (`--token "$(cat t)"` drops it, `--token "$T"` may not): no token
    // holds whitespace, so it is trimmed rather than refused.
    let authorization = format!("Bearer {}", target.token.trim())
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

/// A connection to a server's `Moderation` service with one key (a
/// site's or an admin's).
pub struct ModerationConnection {
    client: pb::moderation_client::ModerationClient<Channel>,
    authorization: MetadataValue<Ascii>,
}

impl ModerationConnection {
    pub async fn connect(target: &Target) -> Result<ModerationConnection, ClientError> {
        let (channel, authorization) = connect(target).await?;
        Ok(ModerationConnection {
            client: pb::moderation_client::ModerationClient::new(channel),
            authorization,
        })
    }

    /// `ForgetComment`: whether anything was stored of the comment.
    pub async fn forget(&mut self, site_id: &str, comment_id: &str) -> Result<bool, ClientError> {
        let message = pb::ForgetCommentRequest {
            site_id: site_id.to_string(),
            comment_id: comment_id.to_string(),
        };
        let request = with_authorization(&self.authorization, message);
        Ok(self
            .client
            .forget_comment(request)
            .await?
            .into_inner()
            .forgotten)
    }
}

impl ReviewConnection {
    pub async fn connect(target: &Target) -> Result<ReviewConnection, ClientError> {
        let (channel, authorization) = connect(target).await?;
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

    /// The corrections on `site_id` (empty: every site the key may
    /// moderate), as the server reads them.
    pub async fn export_corrections(
        &mut self,
        site_id: &str,
    ) -> Result<impl futures::Stream<Item = Result<ExportedCorrection, ClientError>>, ClientError>
    {
        use futures::StreamExt;
        let message = pb::ExportCorrectionsRequest {
            site_id: site_id.to_string(),
        };
        let stream = self
            .client
            .export_corrections(self.request(message))
            .await?
            .into_inner();
        Ok(stream.map(|item| {
            item.map_err(ClientError::from)
                .and_then(correction_from_proto)
        }))
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

fn verdict_from_proto(verdict: pb::Verdict) -> Option<Verdict> {
    match verdict {
        pb::Verdict::Allow => Some(Verdict::Allow),
        pb::Verdict::Review => Some(Verdict::Review),
        pb::Verdict::Reject => Some(Verdict::Reject),
        pb::Verdict::Unspecified => None,
    }
}

fn label_from_proto(label: pb::Label) -> Option<Label> {
    match label {
        pb::Label::Ham => Some(Label::Ham),
        pb::Label::Spam => Some(Label::Spam),
        pb::Label::Unspecified => None,
    }
}

fn correction_from_proto(correction: pb::Correction) -> Result<ExportedCorrection, ClientError> {
    let label = label_from_proto(correction.label()).ok_or_else(|| {
        ClientError::Unexpected(format!(
            "the correction of decision {} has no label",
            correction.decision_id
        ))
    })?;
    Ok(ExportedCorrection {
        label,
        verdict: verdict_from_proto(correction.verdict()),
        labelled_at_ms: correction
            .labelled_at
            .as_ref()
            .and_then(|time| super::convert::time_from_proto("labelled_at", time).ok())
            .map(|time| time.0),
        group: correction.site_id.clone(),
        text: correction.text,
        site_id: correction.site_id,
        hosts: correction.site_hosts,
        comment_id: correction.comment_id,
        decision_id: correction.decision_id,
        model_version: correction.model_version,
        source: correction.source,
        labelled_by: correction.labelled_by,
    })
}

fn queue_item_from_proto(decision: &pb::Decision) -> QueueItem {
    let verdict = verdict_from_proto(decision.verdict());
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
        .and_then(|resolution| label_from_proto(resolution.label()));
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
        comment_omitted: decision.comment_omitted,
        label,
    }
}
/// What to do about a certificate the client refused, for the errors
/// whose names say little to an operator (rustls names them).
fn certificate_hint(message: &str) -> &'static str {
    if message.contains("CaUsedAsEndEntity") {
        " (the server's certificate is marked as an authority's: make it with \
         basicConstraints=CA:FALSE, as the README's TLS section shows)"
    } else if message.contains("UnknownIssuer") {
        " (--ca-cert must be the certificate of the authority that signed the \
         server's, or the server's own if it is self-signed)"
    } else if message.contains("NotValidForName") || message.contains("not valid for name") {
        " (the server's certificate does not name the host of --server: give \
         it a subjectAltName for that name or address)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_certificates_come_with_what_to_do() {
        let refused =
            "transport error: invalid peer certificate: Other(OtherError(CaUsedAsEndEntity))";
        assert!(certificate_hint(refused).contains("CA:FALSE"));
        assert!(certificate_hint("invalid peer certificate: UnknownIssuer").contains("--ca-cert"));
        assert!(
            certificate_hint("invalid peer certificate: NotValidForName")
                .contains("subjectAltName")
        );
        // As rustls 0.23 words it.
        assert!(certificate_hint(
            "invalid peer certificate: certificate not valid for name \"127.0.0.2\"; certificate \
             is only valid for DnsName(\"localhost\")"
        )
        .contains("subjectAltName"));
        assert_eq!(certificate_hint("connection refused"), "");
    }

    #[tokio::test]
    async fn an_authority_file_without_a_certificate_is_refused_before_connecting() {
        let target = Target {
            server: "https://localhost:50051".to_string(),
            token: "t".to_string(),
            ca_certificate: Some(b"not a certificate".to_vec()),
        };
        let message = connect(&target).await.unwrap_err().to_string();
        assert!(
            message.contains("--ca-cert holds no certificate"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn an_address_without_its_scheme_is_refused_before_connecting() {
        let target = Target {
            server: "127.0.0.1:50051".to_string(),
            token: "t".to_string(),
            ca_certificate: None,
        };
        let message = connect(&target).await.unwrap_err().to_string();
        assert!(
            message.contains("such as http://127.0.0.1:50051"),
            "{message}"
        );
        assert!(message.contains("is not a server address"), "{message}");
    }
}
