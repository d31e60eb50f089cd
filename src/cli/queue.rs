//! `moderato queue list` and `moderato queue resolve`: the review queue
//! from a terminal, against a running server (`--server`, `--token`, or
//! `MODERATO_SERVER`, `MODERATO_TOKEN`).

use clap::{Args, Subcommand, ValueEnum};

use super::CliError;
use crate::domain::{Label, Priority, ReviewStatus};
use crate::grpc::client::{QueueItem, QueueQuery, ReviewConnection, Target};

pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// Where the server is and which key to use.
// (Not in the doc comment above: clap shows a flattened struct's doc
// comment as the help of the commands that flatten it.) The values are
// read as text and passed through `given`, as `serve` does: an environment
// file often sets a variable to nothing, which means "not set", not a
// server address that does not parse, a certificate path clap refuses as
// empty, or an empty token the server refuses without saying which
// setting was missing.
#[derive(Debug, Args)]
pub struct RemoteArgs {
    /// The server's address [default: http://127.0.0.1:50051].
    #[arg(long, env = "MODERATO_SERVER")]
    pub(super) server: Option<String>,
    /// A key's bearer token (required, here or in MODERATO_TOKEN): a
    /// moderator or admin key for `queue` and `export`, a site or admin key
    /// for `forget`, an admin key for `retrain` and `models`.
    #[arg(long, env = "MODERATO_TOKEN", hide_env_values = true)]
    pub(super) token: Option<String>,
    /// For an https:// server: the PEM certificate of the authority that
    /// signed the server's certificate (the server's own, if self-signed).
    #[arg(long, env = "MODERATO_CA_CERT")]
    pub(super) ca_cert: Option<String>,
}

impl RemoteArgs {
    /// The CA certificate's file, from `--ca-cert` or `MODERATO_CA_CERT`.
    pub(super) fn ca_cert_path(&self) -> Option<String> {
        super::given_or_variable(self.ca_cert.clone(), "MODERATO_CA_CERT")
    }

    /// The server to connect to, with the authority's certificate read.
    /// A missing token is a usage error (exit status 2), as clap's own
    /// refusal of a missing required flag would be.
    pub(super) fn target(&self) -> Result<Target, CliError> {
        let token =
            super::given_or_variable(self.token.clone(), "MODERATO_TOKEN").ok_or_else(|| {
                CliError::Usage(
                    "no token: give --token TOKEN or set MODERATO_TOKEN (a key's bearer token)"
                        .to_string(),
                )
            })?;
        let server = super::given_or_variable(self.server.clone(), "MODERATO_SERVER")
            .unwrap_or_else(|| DEFAULT_SERVER.to_string());
        let ca_certificate = match self.ca_cert_path() {
            Some(path) => Some(std::fs::read(&path).map_err(|source| CliError::Io {
                context: format!("cannot read the CA certificate {path}"),
                source,
            })?),
            None => None,
        };
        Ok(Target {
            server,
            token,
            ca_certificate,
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// List a page of the queue: highest priority first, then oldest.
    List {
        #[command(flatten)]
        remote: RemoteArgs,
        /// Only this site [default: every site the key may see].
        #[arg(long)]
        site: Option<String>,
        #[arg(long, value_enum, default_value_t = StatusArg::Pending)]
        status: StatusArg,
        #[arg(long, value_enum)]
        min_priority: Option<PriorityArg>,
        /// Items per page [default: 50; at most 500].
        #[arg(long, default_value_t = 0, hide_default_value = true)]
        page_size: u32,
        /// The token a previous page printed, to continue from it.
        #[arg(long, default_value = "", hide_default_value = true)]
        page_token: String,
    },
    /// Resolve items: --spam rejects them, --ham approves them.
    #[command(group(clap::ArgGroup::new("label").required(true).args(["spam", "ham"])))]
    Resolve {
        #[command(flatten)]
        remote: RemoteArgs,
        /// Decision ids (as `queue list` prints them).
        #[arg(required = true)]
        decision_ids: Vec<String>,
        /// Label them spam: they are rejected.
        #[arg(long, group = "label")]
        spam: bool,
        /// Label them ham: they are approved.
        #[arg(long, group = "label")]
        ham: bool,
        /// Why; kept in the audit trail.
        #[arg(long, default_value = "", hide_default_value = true)]
        note: String,
        /// Your name as the resolution shows it [default: the key's name].
        #[arg(long, default_value = "", hide_default_value = true)]
        moderator: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StatusArg {
    Pending,
    Approved,
    Rejected,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PriorityArg {
    Low,
    Medium,
    High,
}

pub fn queue(command: QueueCommand) -> Result<(), CliError> {
    // One call at a time: a single-threaded runtime is enough.
    super::async_runtime(tokio::runtime::Builder::new_current_thread())?.block_on(run(command))
}

async fn run(command: QueueCommand) -> Result<(), CliError> {
    match command {
        QueueCommand::List {
            remote,
            site,
            status,
            min_priority,
            page_size,
            page_token,
        } => {
            let mut connection = ReviewConnection::connect(&remote.target()?).await?;
            // The filter's flags, to give with the next page's token: a page token
            // is only good with the filter that issued it.
            let mut filter = Vec::new();
            if let Some(site) = &site {
                filter.push(format!("--site {}", shell_word(site)));
            }
            if !matches!(status, StatusArg::Pending) {
                filter.push(format!("--status {}", status_name(status)));
            }
            if let Some(priority) = min_priority {
                filter.push(format!("--min-priority {}", priority_name(priority)));
            }
            if page_size != 0 {
                filter.push(format!("--page-size {page_size}"));
            }
            let query = QueueQuery {
                site_id: site.unwrap_or_default(),
                status: Some(match status {
                    StatusArg::Pending => ReviewStatus::Pending,
                    StatusArg::Approved => ReviewStatus::Approved,
                    StatusArg::Rejected => ReviewStatus::Rejected,
                }),
                min_priority: min_priority.map(|priority| match priority {
                    PriorityArg::Low => Priority::Low,
                    PriorityArg::Medium => Priority::Medium,
                    PriorityArg::High => Priority::High,
                }),
                page_size,
                page_token,
            };
            let listing = connection.list(&query).await?;
            for item in &listing.items {
                say!("{}", item_line(item));
            }
            say!(
                "{} shown of {} matching",
                listing.items.len(),
                listing.total
            );
            if !listing.next_page_token.is_empty() {
                filter.push(format!("--page-token {}", listing.next_page_token));
                say!("next page: {}", filter.join(" "));
            }
            Ok(())
        }
        QueueCommand::Resolve {
            remote,
            decision_ids,
            spam,
            ham: _,
            note,
            moderator,
        } => {
            let label = if spam { Label::Spam } else { Label::Ham };
            let mut connection = ReviewConnection::connect(&remote.target()?).await?;
            let resolved = connection
                .resolve(decision_ids, label, moderator, note)
                .await?;
            for item in &resolved {
                say!("{}", item_line(item));
            }
            say!("{} resolved as {}", resolved.len(), label_name(label));
            Ok(())
        }
    }
}

fn status_name(status: StatusArg) -> &'static str {
    match status {
        StatusArg::Pending => "pending",
        StatusArg::Approved => "approved",
        StatusArg::Rejected => "rejected",
    }
}

fn priority_name(priority: PriorityArg) -> &'static str {
    match priority {
        PriorityArg::Low => "low",
        PriorityArg::Medium => "medium",
        PriorityArg::High => "high",
    }
}

/// A site id as one word of a shell command: quoted when it holds
/// anything but letters, digits and `.-_:`.
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || ".-_:".contains(character));
    if plain {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

fn label_name(label: Label) -> &'static str {
    match label {
        Label::Ham => "ham",
        Label::Spam => "spam",
    }
}

/// One item per line: id, site, priority, status, score, then the start of
/// the comment on one line.
fn item_line(item: &QueueItem) -> String {
    const PREVIEW_CHARS: usize = 60;
    let preview: String = if item.comment_omitted {
        "(comment not in the answer: see the queue or GetDecision)".to_string()
    } else {
        item.content
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(PREVIEW_CHARS)
            .collect()
    };
    let ellipsis = if item.content.chars().count() > PREVIEW_CHARS {
        "..."
    } else {
        ""
    };
    let name = |value: Option<String>| value.unwrap_or_else(|| "?".to_string());
    format!(
        "{}  {}  {:<6}  {:<8}  {:.3}  {}{}",
        item.decision_id,
        item.site_id,
        name(item.priority.map(|p| format!("{p:?}").to_lowercase())),
        name(item.status.map(|s| format!("{s:?}").to_lowercase())),
        item.score,
        preview,
        ellipsis
    )
}
