//! The explicit limits of the API. A field beyond its limit is refused at
//! the gRPC edge with INVALID_ARGUMENT naming the field and the limit; the
//! answer limits end a page early or leave comments out of an answer; the
//! message limit is the transport's (OUT_OF_RANGE). The README's table of
//! limits lists the same numbers, and those kept elsewhere (the site id's
//! in `domain`, admission's in `admission`, the writer's in
//! `store::writer`).

/// The comment text, in bytes of UTF-8.
pub const MAX_CONTENT_BYTES: usize = 64 * 1024;
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
/// Comments of one `CheckComments` stream scored at the same time; more
/// wait (in order) before the server reads further messages.
pub const STREAM_CONCURRENCY: usize = 64;
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
/// and a 16-digit hash, with `+N` once they learned online).
pub const MAX_MODEL_VERSION_BYTES: usize = 128;
/// Decision ids of one `ResolveItems` call.
pub const MAX_RESOLVE_IDS: usize = 500;
/// The moderator's name in `ResolveItems`.
pub const MAX_MODERATOR_NAME_BYTES: usize = 256;
/// A resolution's or report's note.
pub const MAX_NOTE_BYTES: usize = 2048;
/// How long a stop (SIGINT or SIGTERM) waits for the calls in progress to
/// end, then for labelling calls to finish learning, then for a running
/// retrain to end, before it stops anyway. A second signal stops at once.
pub const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a client has to finish a TLS handshake, on the gRPC listener
/// and the console's.
pub const TLS_HANDSHAKE_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

#[cfg(test)]
mod tests {
    use super::*;

    /// The README's table of limits states these numbers in words ("64
    /// KiB", "1 to 500 ids"); the field tests check the service against the
    /// constants, so without this a changed constant would leave the table
    /// stale unnoticed. A failure here means: update the README's row, then
    /// the number here.
    #[test]
    fn the_readme_limits_table_and_the_constants_agree() {
        // `content`: 64 KiB.
        assert_eq!(MAX_CONTENT_BYTES, 64 * 1024);
        // `comment_id` (1 to 256 bytes) and `context.parent_comment_id`
        // (256 bytes).
        assert_eq!(MAX_COMMENT_ID_BYTES, 256);
        // Each `author` field: 1 KiB.
        assert_eq!(MAX_AUTHOR_FIELD_BYTES, 1024);
        // `context.post_text`: 64 KiB.
        assert_eq!(MAX_POST_TEXT_BYTES, 64 * 1024);
        // Other text fields: 2 KiB.
        assert_eq!(MAX_SHORT_FIELD_BYTES, 2 * 1024);
        // `context.language`: 35 bytes.
        assert_eq!(MAX_LANGUAGE_TAG_BYTES, 35);
        // One gRPC message: 512 KiB.
        assert_eq!(MAX_MESSAGE_BYTES, 512 * 1024);
        // Comments of one `CheckComments` stream scored at once: 64.
        assert_eq!(STREAM_CONCURRENCY, 64);
        // `ListQueue.page_size`: 0 (meaning 50) to 500.
        assert_eq!(DEFAULT_PAGE_SIZE, 50);
        assert_eq!(MAX_PAGE_SIZE, 500);
        // One `ListQueue` answer: 3 MiB.
        assert_eq!(MAX_QUEUE_PAGE_BYTES, 3 * 1024 * 1024);
        // One `ResolveItems` answer: each decision in full within 1 MiB.
        assert_eq!(MAX_RESOLVE_ANSWER_COMMENT_BYTES, 1024 * 1024);
        // `ActivateModel.version`: 1 to 128 bytes.
        assert_eq!(MAX_MODEL_VERSION_BYTES, 128);
        // `ResolveItems.decision_ids`: 1 to 500 ids.
        assert_eq!(MAX_RESOLVE_IDS, 500);
        // `ResolveItems.moderator`: 256 bytes.
        assert_eq!(MAX_MODERATOR_NAME_BYTES, 256);
        // `note` (resolutions and reports): 2 KiB.
        assert_eq!(MAX_NOTE_BYTES, 2 * 1024);
        // A stop waits 10 s for each of its steps.
        assert_eq!(STOP_GRACE, std::time::Duration::from_secs(10));
        // A TLS handshake: 10 s.
        assert_eq!(TLS_HANDSHAKE_LIMIT.as_secs(), 10);
    }
}
