//! The explicit limits of the API. A field beyond its limit is refused at
//! the gRPC edge with INVALID_ARGUMENT naming the field and the limit; the
//! answer limits end a page early or leave comments out of an answer; the
//! message limit is the transport's (OUT_OF_RANGE). The README's table of
//! limits lists the same numbers, and those kept elsewhere (the site id's
//! in `domain`, admission's in `admission`, the writer's in
//! `store::writer`).

/// The comment text, in bytes of UTF-8.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;

/// Why the service refuses a comment's text (INVALID_ARGUMENT at the
/// gRPC edge), if it does (see [`content_refusal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentRefusal {
    /// Empty, or only whitespace and characters that render as nothing (a
    /// zero-width space shows a reader nothing either).
    ShowsNothing,
    /// Over [`MAX_CONTENT_BYTES`]; the text's size in bytes.
    TooLong(usize),
}

impl std::fmt::Display for ContentRefusal {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ContentRefusal::ShowsNothing => write!(formatter, "is empty or only whitespace"),
            ContentRefusal::TooLong(bytes) => write!(
                formatter,
                "is {bytes} bytes; the limit is {MAX_CONTENT_BYTES} bytes"
            ),
        }
    }
}

/// Whether the service refuses a comment's text. The offline commands
/// refuse or leave out the same comments, so that their verdicts and
/// figures are of comments the service would score.
pub fn content_refusal(content: &str) -> Option<ContentRefusal> {
    if content.len() > MAX_CONTENT_BYTES {
        return Some(ContentRefusal::TooLong(content.len()));
    }
    let shows_nothing = content
        .chars()
        .all(|character| character.is_whitespace() || crate::text::is_invisible(character));
    shows_nothing.then_some(ContentRefusal::ShowsNothing)
}

/// The site's own comment id.
pub const MAX_COMMENT_ID_BYTES: usize = 256;
/// Each author field (name, email, url, user agent).
pub const MAX_AUTHOR_FIELD_BYTES: usize = 1024;
/// The article text sent as context.
pub const MAX_POST_TEXT_BYTES: usize = 64 * 1024;
/// Every other short text field (permalink, referrer, title, honeypot...).
pub const MAX_SHORT_FIELD_BYTES: usize = 2048;
/// The post's language, a BCP 47 tag (35 bytes covers the longest that
/// registries produce).
pub const MAX_LANGUAGE_TAG_BYTES: usize = 35;
/// One gRPC message; comfortably above the sum of the field limits.
pub const MAX_MESSAGE_BYTES: usize = 512 * 1024;
/// Comments of one `CheckComments` stream in flight at the same time; more
/// wait (in order) before the server reads further messages. Each one
/// being worked on beyond the first also needs a free place among the
/// calls in progress (see `grpc::comment_stream`).
pub const STREAM_CONCURRENCY: usize = 64;
/// Comments of one `CheckComments` stream in flight without a place among
/// the calls in progress (handed to the writer, waiting for its flush, or
/// answered and waiting for the earlier answers): beyond, the stream starts
/// its next comment only once an earlier one is answered. So one key's
/// streams (at most as many as its places) keep at most its places times
/// this many decisions in the writer's queue, and all keys together at
/// most `max_concurrent_calls` times this many (512 with the defaults, of
/// the queue's 1,024): enough to fill the writer's batches.
pub const STREAM_MAX_WAITING: usize = 8;
/// Items of one `ListQueue` page when `page_size` is 0.
pub const DEFAULT_PAGE_SIZE: usize = 50;
/// The largest `ListQueue` page.
pub const MAX_PAGE_SIZE: usize = 500;
/// A `ListQueue` answer ends its page early, with a `next_page_token`, when
/// one more item would take it past this many bytes: most gRPC clients
/// refuse answers beyond 4 MiB, and 500 of the largest decisions would be
/// about 70 MB. A page always holds at least one item.
pub const MAX_QUEUE_PAGE_BYTES: usize = 3 * 1024 * 1024;
/// A `ResolveItems` answer gives each decision in full while its items
/// take at most this many bytes; past that, a decision comes without its
/// stored comment (`comment_omitted`), and without its reasons too if even
/// that does not fit. A decision with neither takes at most about 3.5 KB
/// (ids, model version, a resolution with a 2 KB note), so 500 of them and
/// this stay under the 4 MiB that most gRPC clients accept.
pub const MAX_RESOLVE_ANSWER_COMMENT_BYTES: usize = 1024 * 1024;
/// An `ActivateModel` version name (versions the service makes are a name
/// and a 12-digit hexadecimal hash, with `+N` once they learned online).
pub const MAX_MODEL_VERSION_BYTES: usize = 128;
/// A trained model's name (`train --name`, or taken from `--out`): its
/// version adds `-` and 12 hexadecimal digits, and `+` and up to 20 digits
/// once it learns online, and must stay within
/// [`MAX_MODEL_VERSION_BYTES`].
pub const MAX_MODEL_NAME_BYTES: usize = MAX_MODEL_VERSION_BYTES - 13 - 21;
/// Decision ids of one `ResolveItems` call.
pub const MAX_RESOLVE_IDS: usize = 500;
/// The moderator's name in `ResolveItems`.
pub const MAX_MODERATOR_NAME_BYTES: usize = 256;
/// A resolution's or report's note.
pub const MAX_NOTE_BYTES: usize = 2048;
/// How long a stop (SIGINT or SIGTERM) waits for the calls in progress to
/// end, then for labelling calls to finish learning (and forgets to
/// finish), then for a running retrain to end, before it stops anyway. A
/// second signal stops at once.
pub const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a unary call's message may take to arrive, from the call's
/// start (see `grpc::message_arrival`): far longer than a website's server
/// needs to send 512 KiB, short enough that a client cannot keep partly
/// sent messages in the server's memory.
pub const MESSAGE_ARRIVAL_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a labelling call (`ResolveItems`, `ReportComment`, the
/// console's resolve) or a `ForgetComment` waits for its turn to commit,
/// these calls committing one after another.
pub const LABEL_TURN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// How long a client has to finish a TLS handshake, on the gRPC listener
/// and the console's.
pub const TLS_HANDSHAKE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a new gRPC connection has to send its first bytes (HTTP/2's
/// preface, or a TLS handshake's first message) before it is closed, so
/// that a connection that says nothing cannot hold one of the listener's
/// places (`[limits] max_connections`) for ever: hyper waits for the
/// preface without a time limit, and pings a client only once it has come.
pub const CONNECTION_FIRST_BYTES_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);
/// Finished retraining jobs kept in storage (and so answered by
/// `GetRetrainJob` and counted by the metrics): a schedule that retrains
/// every few minutes would otherwise keep every job ever run, and each
/// metrics scrape reads them all.
pub const KEPT_RETRAIN_JOBS: usize = 1_000;

/// How often the gRPC server pings a connection that sends nothing, and
/// how long it waits for the answer before it closes the connection: a
/// client that went away without closing frees its socket.
pub const HTTP2_KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(30);
pub const HTTP2_KEEPALIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The largest block of headers (metadata) one gRPC call may send.
pub const MAX_HEADER_LIST_BYTES: u32 = 16 * 1024;

/// What one call may send before the service has read it (HTTP/2's stream
/// window). A `CheckComments` stream whose comments wait for a place stops
/// being read, and its client then stops at this many bytes. The HTTP/2
/// library counts each small DATA frame it holds unread against a budget
/// of half the connection's window, and closes the connection when it is
/// spent: at most this much of tiny comments (a gRPC client sends a frame
/// per message) must fit in that budget many times over, or a stream of
/// short comments would end every call on its connection. hyper's 1 MiB
/// allowed about 2,000 unread comments of a few bytes, a fraction of one
/// waiting stream's window.
pub const STREAM_WINDOW_BYTES: u32 = 64 * 1024;

/// What all the calls of one connection may send before the service has
/// read it (HTTP/2's connection window); half of it is the budget for
/// small unread frames (above). About 30 streams of tiny comments may wait
/// unread on one connection at once; the bytes held stay bounded by the
/// calls admitted or waiting, each at most [`STREAM_WINDOW_BYTES`].
pub const CONNECTION_WINDOW_BYTES: u32 = 32 * 1024 * 1024;

/// Calls a client may cancel on one connection before the service has
/// taken them up. A client cancels a call when its deadline passes; more
/// than this many such calls waiting on one connection close it (HTTP/2's
/// GOAWAY, the "rapid reset" defence), ending its other calls too. The
/// HTTP/2 library's default, 20, was reached by a client whose deadlines
/// expired under load.
pub const MAX_PENDING_CANCELLED_CALLS: usize = 256;

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Fails unless the README's table of limits has a row starting with
    /// `start` (the limit's name and its value, written from the constant).
    pub(crate) fn assert_readme_row(start: &str) {
        const README: &str = include_str!("../README.md");
        assert!(
            README.lines().any(|line| line.starts_with(start)),
            "the README's limits table has no row starting {start:?}: \
             update the row (or the constant)"
        );
    }

    fn kib(bytes: usize) -> String {
        format!("{} KiB", bytes / 1024)
    }

    /// The README's table states the limits in words; the field tests
    /// check the service against the constants. Here each row is checked
    /// against its constant, so that neither changes without the other.
    #[test]
    fn the_readme_limits_table_and_the_constants_agree() {
        for row in [
            format!("| `content` | {} |", kib(MAX_CONTENT_BYTES)),
            format!("| `comment_id` | 1 to {MAX_COMMENT_ID_BYTES} bytes"),
            format!("| `context.parent_comment_id` | {MAX_COMMENT_ID_BYTES} bytes |"),
            format!(
                "| each `author` field (name, email, url, user agent) | {} |",
                kib(MAX_AUTHOR_FIELD_BYTES)
            ),
            format!("| `context.post_text` | {} |", kib(MAX_POST_TEXT_BYTES)),
            format!("| `context.language` | {MAX_LANGUAGE_TAG_BYTES} bytes |"),
            format!("| other text fields | {} |", kib(MAX_SHORT_FIELD_BYTES)),
            format!("| one gRPC message | {} |", kib(MAX_MESSAGE_BYTES)),
            format!("| comments of one `CheckComments` stream in flight at once | {STREAM_CONCURRENCY} |"),
            format!("| comments of one `CheckComments` stream in flight without a place among the calls in progress | {STREAM_MAX_WAITING} |"),
            format!("| `ListQueue.page_size` | 0 (meaning {DEFAULT_PAGE_SIZE}) to {MAX_PAGE_SIZE}; more is served as {MAX_PAGE_SIZE} |"),
            format!(
                "| one `ListQueue` answer | {} MiB",
                MAX_QUEUE_PAGE_BYTES / (1024 * 1024)
            ),
            format!("| `ResolveItems.decision_ids` | 1 to {MAX_RESOLVE_IDS} ids"),
            format!("| `ResolveItems.moderator` | {MAX_MODERATOR_NAME_BYTES} bytes"),
            format!(
                "| one `ResolveItems` answer | each decision in full while the answer stays within {} MiB",
                MAX_RESOLVE_ANSWER_COMMENT_BYTES / (1024 * 1024)
            ),
            format!("| `ActivateModel.version` | 1 to {MAX_MODEL_VERSION_BYTES} bytes"),
            format!("| a model's name (`moderato train --name`) | 1 to {MAX_MODEL_NAME_BYTES} ASCII letters, digits, `-` or `_` |"),
            format!("| `note` (resolutions and reports) | {} |", kib(MAX_NOTE_BYTES)),
            {
                let cap = crate::classifier::MAX_ONLINE_VOCABULARY;
                format!(
                    "| new features one labelled comment adds to the live model's vocabulary when learned online | {} words and link domains, and {} others (word pairs, word beginnings, number shapes, link paths), while the vocabulary holds fewer than {},{:03} |",
                    crate::classifier::MAX_NEW_WORDS_PER_EXAMPLE,
                    crate::classifier::MAX_NEW_OTHER_FEATURES_PER_EXAMPLE,
                    cap / 1000,
                    cap % 1000
                )
            },
            format!(
                "| a TLS handshake (gRPC and console) | {} s |",
                TLS_HANDSHAKE_LIMIT.as_secs()
            ),
            format!(
                "| a new gRPC connection's first bytes (HTTP/2's preface, or a TLS handshake's first message) | {} s |",
                CONNECTION_FIRST_BYTES_LIMIT.as_secs()
            ),
            format!(
                "| finished retraining jobs kept | the newest {},{:03} |",
                KEPT_RETRAIN_JOBS / 1000,
                KEPT_RETRAIN_JOBS % 1000
            ),
            format!(
                "| a labelling call (`ResolveItems`, `ReportComment`, the console's resolve) or a `ForgetComment` waiting for its turn to commit (they commit one after another, in the order they are admitted and reach their turn) | {} s |",
                LABEL_TURN_WAIT.as_secs()
            ),
            {
                let streams = crate::admission::ValidAdmissionParams::default()
                    .streams_per_connection();
                format!(
                    "| calls open at once on one gRPC connection | 2 × `max_concurrent_calls` + `max_waiting_calls` ({},{:03} by default) |",
                    streams / 1000,
                    streams % 1000
                )
            },
            format!(
                "| bytes one call may send before the service reads them (HTTP/2 stream window) | {} |",
                kib(STREAM_WINDOW_BYTES as usize)
            ),
            format!(
                "| calls cancelled by the client on one connection before the service took them up | {MAX_PENDING_CANCELLED_CALLS} |"
            ),
            format!(
                "| one call's metadata (headers) | {} |",
                kib(MAX_HEADER_LIST_BYTES as usize)
            ),
            format!(
                "| a gRPC connection that answers no ping | pinged after {} s of silence, closed {} s later |",
                HTTP2_KEEPALIVE_INTERVAL.as_secs(),
                HTTP2_KEEPALIVE_TIMEOUT.as_secs()
            ),
        ] {
            assert_readme_row(&row);
        }
        assert_readme_row(&format!(
            "| a unary call's message arriving (every call of ours but `CheckComments`) | {} s from the call's start |",
            MESSAGE_ARRIVAL_LIMIT.as_secs()
        ));
        // The stop's grace is stated in the row and in the commands' table.
        assert!(
            include_str!("../README.md").contains(&format!(
                "| a stop (SIGINT or SIGTERM) waiting for calls in progress, then for labelling calls to finish learning, then for a running retrain | {} s each |",
                STOP_GRACE.as_secs()
            )),
            "the README's row of the stop's grace"
        );
    }
}
