//! The state the stateful rules read, which the decision writer records
//! after each batch's transaction:
//! - `rule_recent`: the site's recent comments for `duplicate_content` and
//!   `flood`. Each entry holds the comments of one site that one batch of
//!   the decision writer stored, as a JSON array of [`RecentComment`]s,
//!   under the key (site, time, comment id) of the newest of them; its
//!   comments span at most [`MAX_ENTRY_SPAN_MILLIS`]. Databases written
//!   before hold one comment per entry (a JSON object under that comment's
//!   own key), which is still read. One entry per batch rather than per
//!   comment: a sled insert, a range scan and a removal for every stored
//!   comment took 11% of the server's CPU samples under streamed checks
//!   (BENCHMARKS.md, "Rule state by batch").
//!   Entries whose newest comment is older than the longest window in
//!   force, or than the oldest a busy site keeps in memory
//!   (`recent_comments`), are pruned as new ones arrive.
//! - `rule_authors`: (site, author key) -> an [`AuthorHistory`] as three
//!   big-endian u64 counters, for `new_author` and `trusted_author`.
//!
//! Both live in sled beside the decisions, so near-duplicate detection and
//! author trust survive a restart. Neither is written in the decision's
//! transaction: losing one entry in a crash only weakens a heuristic, never
//! an acknowledged decision, and the writer's flush of the batch covers
//! both. Labels are counted in author histories by the labelling call,
//! before its `durable` flush.

use sled::transaction::ConflictableTransactionError;

use super::{Store, StoreError};
use crate::domain::{Label, UnixMillis};
use crate::rules::{AuthorHistory, AuthorLabel, RecentComment};

/// How many stale entries one recording prunes at most, so that a write
/// never stalls on a large backlog (each write adds one entry and removes
/// up to this many, so the backlog shrinks).
const MAX_PRUNED_PER_WRITE: usize = 64;

/// The longest time between the oldest and the newest comment of one
/// `rule_recent` entry. A comment is looked for (to forget it, or to
/// replace it after a recheck) among the entries whose key's time is at
/// most this much later than its own. A batch's comments were checked
/// within a call's deadline of each other, so a batch rarely needs more
/// than one entry per site.
const MAX_ENTRY_SPAN_MILLIS: i64 = 60_000;

/// The trees of rule state (cheap to clone: sled trees are handles).
#[derive(Clone)]
pub(super) struct RuleStateTrees {
    pub(super) recent: sled::Tree,
    pub(super) authors: sled::Tree,
}

impl RuleStateTrees {
    pub(super) fn open(db: &sled::Db) -> Result<RuleStateTrees, StoreError> {
        Ok(RuleStateTrees {
            recent: db.open_tree("rule_recent")?,
            authors: db.open_tree("rule_authors")?,
        })
    }
}

/// The site id's length, then the site id: a prefix no other site shares.
fn site_prefix(site_id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + site_id.len() + 32);
    key.extend_from_slice(&(site_id.len() as u32).to_be_bytes());
    key.extend_from_slice(site_id.as_bytes());
    key
}

fn recent_key(site_id: &str, at: UnixMillis, comment_id: &str) -> Vec<u8> {
    let mut key = site_prefix(site_id);
    key.extend_from_slice(&at.sortable_bytes());
    key.extend_from_slice(comment_id.as_bytes());
    key
}

/// The time in a `rule_recent` key (that of the newest comment of its
/// entry), given the length of the key's site prefix.
fn time_of_recent_key(key: &[u8], prefix_length: usize) -> Option<UnixMillis> {
    let bytes = key.get(prefix_length..prefix_length + 8)?;
    Some(UnixMillis::from_sortable_bytes(bytes.try_into().ok()?))
}

/// The comments of one `rule_recent` entry: a JSON array, or the JSON
/// object of one comment that databases written before hold.
fn decode_recent(value: &[u8]) -> Result<Vec<RecentComment>, serde_json::Error> {
    if value.first() == Some(&b'[') {
        serde_json::from_slice(value)
    } else {
        serde_json::from_slice(value).map(|comment| vec![comment])
    }
}

fn encode_recent(site_id: &str, comments: &[&RecentComment]) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(comments).map_err(|error| StoreError::Corrupt {
        key: format!("rule_recent/{site_id}"),
        message: error.to_string(),
    })
}

/// The comments of one `rule_recent` entry as JSON values (see
/// [`decode_recent`]), for edits that must work on comments this version
/// cannot read; `None` when the entry is not JSON.
fn recent_values(value: &[u8]) -> Option<Vec<serde_json::Value>> {
    match serde_json::from_slice(value).ok()? {
        serde_json::Value::Array(comments) => Some(comments),
        comment => Some(vec![comment]),
    }
}

/// The time and comment id of a comment as a JSON value.
fn time_and_id(comment: &serde_json::Value) -> Option<(i64, &str)> {
    Some((
        comment.get("at")?.as_i64()?,
        comment.get("comment_id")?.as_str()?,
    ))
}

fn names_comment(comment: &serde_json::Value, at: UnixMillis, comment_id: &str) -> bool {
    time_and_id(comment) == Some((at.0, comment_id))
}

/// The key of an entry holding `comments`: that of the newest of them;
/// `None` when none has a time and an id.
fn newest_key(site_id: &str, comments: &[serde_json::Value]) -> Option<Vec<u8>> {
    let (at, comment_id) = comments
        .iter()
        .filter_map(time_and_id)
        .max_by(|a, b| (a.0, a.1.as_bytes()).cmp(&(b.0, b.1.as_bytes())))?;
    Some(recent_key(site_id, UnixMillis(at), comment_id))
}

/// Newest first, ties in the order of their keys (reversed), as entries of
/// one comment each were read.
fn sort_newest_first(comments: &mut [RecentComment]) {
    comments.sort_unstable_by(|a, b| {
        (b.at, b.comment_id.as_bytes()).cmp(&(a.at, a.comment_id.as_bytes()))
    });
}

fn author_key_bytes(site_id: &str, author_key: &str) -> Vec<u8> {
    let mut key = site_prefix(site_id);
    key.extend_from_slice(author_key.as_bytes());
    key
}

/// The site of a key that starts with [`site_prefix`], for messages.
fn site_of_key(key: &[u8]) -> String {
    let site = key
        .split_first_chunk::<4>()
        .and_then(|(length, rest)| rest.get(..u32::from_be_bytes(*length) as usize));
    String::from_utf8_lossy(site.unwrap_or_default()).into_owned()
}

fn decode_history(key: &[u8], bytes: &[u8]) -> Result<AuthorHistory, StoreError> {
    let counter = |index: usize| -> Option<u64> {
        let slice = bytes.get(index * 8..index * 8 + 8)?;
        Some(u64::from_be_bytes(slice.try_into().ok()?))
    };
    match (bytes.len(), counter(0), counter(1), counter(2)) {
        (24, Some(comments), Some(approved), Some(spam)) => Ok(AuthorHistory {
            comments,
            approved,
            spam,
        }),
        // The key holds the author's e-mail address or name, which must not
        // reach the logs: the error names the site only.
        _ => Err(StoreError::Corrupt {
            key: format!("rule_authors/{}/(an author)", site_of_key(key)),
            message: format!("an author history must be 24 bytes, not {}", bytes.len()),
        }),
    }
}

/// The history stored under `key`, or a stranger's when the entry cannot
/// be read. Author histories only feed the `new_author` and
/// `trusted_author` heuristics: a damaged entry must not fail every check
/// of that author for good, so it reads as empty (with a warning naming
/// the site only) and the next update overwrites it.
fn readable_history(key: &[u8], bytes: &[u8]) -> AuthorHistory {
    decode_history(key, bytes).unwrap_or_else(|error| {
        tracing::warn!(%error, "an author history cannot be read; it counts as a new author's");
        AuthorHistory::default()
    })
}

/// Logs the first recent-comment entry this process cannot read (one line,
/// not one per check: a site's old entries would be met on every check
/// until they leave the window).
fn warn_unreadable_recent_comment(key: &[u8], error: &serde_json::Error) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            site = %site_of_key(key),
            %error,
            "a recent comment stored for the duplicate and flood rules cannot be read (written \
             by an earlier version?); such entries are skipped, and pruned as newer ones arrive"
        );
    }
}

fn encode_history(history: &AuthorHistory) -> [u8; 24] {
    let mut bytes = [0u8; 24];
    bytes[0..8].copy_from_slice(&history.comments.to_be_bytes());
    bytes[8..16].copy_from_slice(&history.approved.to_be_bytes());
    bytes[16..24].copy_from_slice(&history.spam.to_be_bytes());
    bytes
}

/// Set (in the database's default tree) once the author histories that
/// count no comment were deleted, so that later opens skip the search.
const EMPTY_AUTHOR_HISTORIES_REMOVED: &[u8] = b"author histories without comments removed";

impl Store {
    /// Once per database, at its open: deletes the author histories that
    /// count no comment. Until December 2026 a recheck that gave a comment
    /// another author left the first author's history at zero, where a
    /// forget deletes it; its key holds the author's e-mail address or
    /// name, so it outlived a forget of the comment and its retention.
    /// Gives how many were deleted.
    pub(super) fn remove_empty_author_histories(&self) -> Result<usize, StoreError> {
        let db = &self.inner.db;
        if db.contains_key(EMPTY_AUTHOR_HISTORIES_REMOVED)? {
            return Ok(0);
        }
        let authors = &self.inner.rule_state.authors;
        let mut removed = 0;
        for entry in authors.iter() {
            let (key, value) = entry?;
            // A history that does not read is left as it is: it counts as
            // a new author's, and heals at the author's next comment.
            if decode_history(&key, &value).is_ok_and(|history| history.comments == 0) {
                authors.remove(key)?;
                removed += 1;
            }
        }
        db.insert(EMPTY_AUTHOR_HISTORIES_REMOVED, &[])?;
        if removed > 0 {
            tracing::info!(
                removed,
                "deleted author histories that counted no comment (left by rechecks that changed \
                 a comment's author)"
            );
        }
        Ok(removed)
    }

    /// The site's comments recorded at or after `since`, newest first, at
    /// most `limit`.
    pub fn recent_comments(
        &self,
        site_id: &str,
        since: UnixMillis,
        limit: usize,
    ) -> Result<Vec<RecentComment>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let prefix = site_prefix(site_id);
        let prefix_length = prefix.len();
        let mut start = prefix.clone();
        start.extend_from_slice(&since.sortable_bytes());
        let mut end = prefix;
        end.extend_from_slice(&[0xFF; 9]);
        let mut recent: Vec<RecentComment> = Vec::new();
        for entry in self.inner.rule_state.recent.range(start..end).rev() {
            let (key, value) = entry?;
            // Entries come newest comment first, and no comment of an entry
            // is newer than its key: once `limit` comments newer than this
            // entry's newest are read, the rest cannot displace them.
            if recent.len() >= limit {
                let newest_here = time_of_recent_key(&key, prefix_length);
                if newest_here.is_some_and(|newest| newest < recent[limit - 1].at) {
                    break;
                }
            }
            match decode_recent(&value) {
                Ok(comments) => {
                    recent.extend(comments.into_iter().filter(|comment| comment.at >= since));
                    if recent.len() >= limit {
                        sort_newest_first(&mut recent);
                        recent.truncate(limit);
                    }
                }
                // An entry this version cannot read (written by an earlier
                // one, whose fingerprints had another shape) is skipped:
                // recent comments only feed the duplicate and flood
                // heuristics, and refusing every check of the site until
                // the entry leaves the window would cost far more. It is
                // pruned with the others as newer comments arrive.
                Err(error) => warn_unreadable_recent_comment(&key, &error),
            }
        }
        sort_newest_first(&mut recent);
        recent.truncate(limit);
        Ok(recent)
    }

    /// [`RuleStateTrees::record_recent_comments`] of one comment outside
    /// the writer, for tests that prepare a site's history.
    #[cfg(test)]
    pub fn record_recent_comment(
        &self,
        site_id: &str,
        comment: &RecentComment,
        keep_since: UnixMillis,
    ) -> Result<(), StoreError> {
        self.inner
            .rule_state
            .record_recent_comments(site_id, &[comment], keep_since)
    }

    /// [`RuleStateTrees::replace_recent_comment`]: a rechecked comment's
    /// entry among its site's recent ones. Call [`Store::durable`] before
    /// acknowledging.
    pub fn replace_recent_comment(
        &self,
        site_id: &str,
        comment: &RecentComment,
    ) -> Result<(), StoreError> {
        self.inner
            .rule_state
            .replace_recent_comment(site_id, comment)
    }

    /// What the site knows of an author (all zero for a stranger, and for
    /// an entry that cannot be read: see `readable_history`).
    pub fn author_history(
        &self,
        site_id: &str,
        author_key: &str,
    ) -> Result<AuthorHistory, StoreError> {
        let key = author_key_bytes(site_id, author_key);
        match self.inner.rule_state.authors.get(&key)? {
            Some(bytes) => Ok(readable_history(&key, &bytes)),
            None => Ok(AuthorHistory::default()),
        }
    }

    /// [`RuleStateTrees::record_author_comment`] outside the writer, for
    /// tests.
    #[cfg(test)]
    pub fn record_author_comment(
        &self,
        site_id: &str,
        author_key: &str,
        approved: bool,
    ) -> Result<AuthorHistory, StoreError> {
        self.inner
            .rule_state
            .record_author_comment(site_id, author_key, approved)
    }

    /// Counts a person's label of one of an author's comments (a moderator's
    /// resolution or a site's report; see [`AuthorHistory::apply_label`]).
    /// Call [`Store::durable`] before acknowledging.
    pub fn record_author_label(
        &self,
        site_id: &str,
        author_key: &str,
        change: AuthorLabel,
    ) -> Result<AuthorHistory, StoreError> {
        self.inner
            .rule_state
            .update_author(site_id, author_key, |history| history.apply_label(change))
    }
}

impl RuleStateTrees {
    /// Deletes a comment from its site's recent ones (recorded under the
    /// time of its first check, `at`), if it is still there.
    pub(super) fn forget_recent_comment(
        &self,
        site_id: &str,
        at: UnixMillis,
        comment_id: &str,
    ) -> Result<(), StoreError> {
        self.edit_recent_comment(site_id, at, comment_id, |comments, index| {
            comments.remove(index);
        })
    }

    /// Applies `edit` to the comments of the `rule_recent` entry that holds
    /// the comment (`at`, `comment_id`) of `site_id`, given that comment's
    /// index, and writes the entry back under the key of its newest comment
    /// (deleting it when no comment is left); nothing when no entry holds
    /// the comment.
    ///
    /// The comments are edited as JSON values, so that an entry holding
    /// comments this version cannot read (see `Store::recent_comments`)
    /// still lets go of one: a forget must take a comment's author key and
    /// address with it whatever else its entry holds. An entry that is not
    /// even JSON is deleted when its key names the comment (as an entry of
    /// one comment, written before, does). Each entry is read and written
    /// in one transaction: a forget and a recheck of two comments of one
    /// entry must not undo each other, and a forgotten comment must not come
    /// back; its key changes when its newest comment goes, so that no key
    /// names a forgotten comment.
    fn edit_recent_comment(
        &self,
        site_id: &str,
        at: UnixMillis,
        comment_id: &str,
        edit: impl Fn(&mut Vec<serde_json::Value>, usize),
    ) -> Result<(), StoreError> {
        let own_key = recent_key(site_id, at, comment_id);
        let start = recent_key(site_id, at, "");
        let end = recent_key(
            site_id,
            UnixMillis(at.0.saturating_add(MAX_ENTRY_SPAN_MILLIS + 1)),
            "",
        );
        let keys: Vec<sled::IVec> = self
            .recent
            .range(start..end)
            .keys()
            .collect::<Result<_, _>>()?;
        for key in keys {
            let found = self
                .recent
                .transaction(|tree| {
                    // Pruned since the keys were read.
                    let Some(value) = tree.get(&key)? else {
                        return Ok(false);
                    };
                    let Some(mut comments) = recent_values(&value) else {
                        if *key == *own_key {
                            tree.remove(&key)?;
                            return Ok(true);
                        }
                        return Ok(false);
                    };
                    let Some(index) = comments
                        .iter()
                        .position(|comment| names_comment(comment, at, comment_id))
                    else {
                        return Ok(false);
                    };
                    edit(&mut comments, index);
                    tree.remove(&key)?;
                    if let Some(newest) = newest_key(site_id, &comments) {
                        // Written as the writer writes it when every
                        // comment reads (JSON values would order the
                        // fields otherwise).
                        let readable = serde_json::from_value::<Vec<RecentComment>>(
                            serde_json::Value::Array(comments.clone()),
                        );
                        let value = match &readable {
                            Ok(readable) => serde_json::to_vec(readable),
                            Err(_) => serde_json::to_vec(&comments),
                        }
                        .map_err(|error| {
                            ConflictableTransactionError::Abort(StoreError::Corrupt {
                                key: format!("rule_recent/{site_id}"),
                                message: error.to_string(),
                            })
                        })?;
                        tree.insert(newest, value)?;
                    }
                    Ok(true)
                })
                .map_err(super::transaction_error)?;
            if found {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Takes a comment out of its author's history (`author_key`, empty for
    /// an anonymous comment, which counts nowhere) as it counted there, in
    /// a transaction over the authors' tree. A history left with no
    /// comment is deleted: its key holds the author's e-mail address or
    /// name.
    pub(super) fn forget_author_comment(
        authors: &sled::transaction::TransactionalTree,
        site_id: &str,
        author_key: &str,
        label: Option<Label>,
        approved: bool,
    ) -> Result<(), sled::transaction::UnabortableTransactionError> {
        if author_key.is_empty() {
            return Ok(());
        }
        let key = author_key_bytes(site_id, author_key);
        let Some(bytes) = authors.get(&key)? else {
            return Ok(());
        };
        let history = readable_history(&key, &bytes).without_comment(label, approved);
        if history.comments == 0 {
            authors.remove(key)?;
        } else {
            authors.insert(key, encode_history(&history).to_vec())?;
        }
        Ok(())
    }

    /// Moves a rechecked comment in its authors' histories, in a
    /// transaction over the authors' tree (the recheck's own, so that a
    /// forget of the comment, whose transaction takes it out of the history
    /// it counts in, comes wholly before or after it): out of the one that
    /// counted it, as it counted there, and into its author's now, as it
    /// counts now (see [`AuthorHistory::without_comment`]); `from` and `to`
    /// are (author key, label, whether its status is approved) before and
    /// after the recheck. With the author unchanged that moves only what
    /// the recheck changed (an unlabelled comment's approval, or an
    /// approval an edit withdrew); an empty key (an anonymous comment) has
    /// no history.
    pub(super) fn move_author_comment(
        authors: &sled::transaction::TransactionalTree,
        site_id: &str,
        from: (&str, Option<Label>, bool),
        to: (&str, Option<Label>, bool),
    ) -> Result<(), sled::transaction::UnabortableTransactionError> {
        let change = |author_key: &str,
                      change: &dyn Fn(AuthorHistory) -> AuthorHistory|
         -> Result<(), sled::transaction::UnabortableTransactionError> {
            if author_key.is_empty() {
                return Ok(());
            }
            let key = author_key_bytes(site_id, author_key);
            let current = authors
                .get(&key)?
                .map(|bytes| readable_history(&key, &bytes))
                .unwrap_or_default();
            let changed = change(current);
            // An author left with no comment goes, key (and so address)
            // and all, as a forget does it: a recheck that gave the comment
            // another author must not keep the first one's e-mail.
            if changed.comments == 0 {
                authors.remove(key)?;
            } else {
                authors.insert(key, encode_history(&changed).to_vec())?;
            }
            Ok(())
        };
        let ((from_key, from_label, from_approved), (to_key, to_label, to_approved)) = (from, to);
        if from_key == to_key {
            return change(to_key, &|history| {
                history
                    .without_comment(from_label, from_approved)
                    .with_comment(to_label, to_approved)
            });
        }
        change(from_key, &|history| {
            history.without_comment(from_label, from_approved)
        })?;
        change(to_key, &|history| {
            history.with_comment(to_label, to_approved)
        })
    }

    /// Records comments of one site among its recent ones, as one entry
    /// (or more, when they span more than [`MAX_ENTRY_SPAN_MILLIS`]), and
    /// prunes the entries whose newest comment was recorded before
    /// `keep_since` (the writer does this for each batch of new decisions,
    /// before its flush).
    pub(super) fn record_recent_comments(
        &self,
        site_id: &str,
        comments: &[&RecentComment],
        keep_since: UnixMillis,
    ) -> Result<(), StoreError> {
        let mut comments = comments.to_vec();
        comments.sort_unstable_by(|a, b| {
            (a.at, a.comment_id.as_bytes()).cmp(&(b.at, b.comment_id.as_bytes()))
        });
        let tree = &self.recent;
        let mut rest = comments.as_slice();
        while let Some(oldest) = rest.first() {
            let span_end = oldest.at.0.saturating_add(MAX_ENTRY_SPAN_MILLIS);
            let length = rest.partition_point(|comment| comment.at.0 <= span_end);
            let (entry, later) = rest.split_at(length);
            let newest = entry[entry.len() - 1];
            tree.insert(
                recent_key(site_id, newest.at, &newest.comment_id),
                encode_recent(site_id, entry)?,
            )?;
            rest = later;
        }
        let prefix = site_prefix(site_id);
        let mut stale_end = prefix.clone();
        stale_end.extend_from_slice(&keep_since.sortable_bytes());
        let stale: Vec<sled::IVec> = tree
            .range(prefix..stale_end)
            .keys()
            .take(MAX_PRUNED_PER_WRITE)
            .collect::<Result<_, _>>()?;
        for key in stale {
            tree.remove(key)?;
        }
        Ok(())
    }

    /// Replaces what is recorded of a recent comment (its entry is under
    /// the time of its first check, `comment.at`) with `comment`, if the
    /// entry is still there: a comment that has left the lookback stays
    /// gone.
    pub(super) fn replace_recent_comment(
        &self,
        site_id: &str,
        comment: &RecentComment,
    ) -> Result<(), StoreError> {
        let replacement = serde_json::to_value(comment).map_err(|error| StoreError::Corrupt {
            key: format!("rule_recent/{site_id}"),
            message: error.to_string(),
        })?;
        self.edit_recent_comment(
            site_id,
            comment.at,
            &comment.comment_id,
            |comments, index| comments[index] = replacement.clone(),
        )
    }

    /// Counts a stored comment of an author, approved or not (the writer
    /// does this for each new decision, before its flush).
    pub(super) fn record_author_comment(
        &self,
        site_id: &str,
        author_key: &str,
        approved: bool,
    ) -> Result<AuthorHistory, StoreError> {
        self.update_author(site_id, author_key, |history| {
            *history = history.with_comment(None, approved)
        })
    }

    /// Applies `change` atomically (concurrent checks of one author must not
    /// lose counts), refusing to overwrite a corrupt entry.
    pub(super) fn update_author(
        &self,
        site_id: &str,
        author_key: &str,
        change: impl Fn(&mut AuthorHistory),
    ) -> Result<AuthorHistory, StoreError> {
        let key = author_key_bytes(site_id, author_key);
        let tree = &self.authors;
        loop {
            let current = tree.get(&key)?;
            let mut history = match &current {
                Some(bytes) => readable_history(&key, bytes),
                None => AuthorHistory::default(),
            };
            change(&mut history);
            let swapped =
                tree.compare_and_swap(&key, current, Some(encode_history(&history).as_slice()))?;
            if swapped.is_ok() {
                return Ok(history);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Label;

    /// A store in a temporary directory of its own (kept while the
    /// directory lives).
    fn open_store() -> (tempfile::TempDir, Store) {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
        (directory, store)
    }

    fn recent(id: &str, at: i64) -> RecentComment {
        RecentComment {
            at: UnixMillis(at),
            comment_id: id.to_string(),
            author_key: "email:a@x".to_string().into(),
            ip: None,
            fingerprint: None,
        }
    }

    #[test]
    fn a_corrupt_author_history_is_reported_without_the_author() {
        let key = author_key_bytes("news.example", "email:reader@mail.example");
        let error = decode_history(&key, b"short").unwrap_err().to_string();
        assert!(error.contains("news.example"), "{error}");
        assert!(!error.contains("reader"), "{error}");
        assert_eq!(site_of_key(b"\0\0\0\x09"), "");
    }

    #[test]
    fn a_corrupt_author_history_reads_as_new_and_heals_at_the_next_comment() {
        let (_directory, store) = open_store();
        let key = author_key_bytes("news.example", "email:a@x");
        store
            .inner
            .rule_state
            .authors
            .insert(&key, b"short")
            .unwrap();
        assert_eq!(
            store.author_history("news.example", "email:a@x").unwrap(),
            AuthorHistory::default()
        );
        let history = store
            .record_author_comment("news.example", "email:a@x", true)
            .unwrap();
        assert_eq!(history.comments, 1);
        assert_eq!(
            store.author_history("news.example", "email:a@x").unwrap(),
            history
        );
        assert_eq!(
            store
                .inner
                .rule_state
                .authors
                .get(&key)
                .unwrap()
                .unwrap()
                .len(),
            24
        );
    }

    #[tokio::test]
    async fn recent_comments_are_per_site_newest_first_and_survive_reopening() {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = Store::open(directory.path()).unwrap();
            for (id, at) in [("a", 1_000), ("b", 2_000), ("c", 3_000)] {
                store
                    .record_recent_comment("s", &recent(id, at), UnixMillis(0))
                    .unwrap();
            }
            store
                .record_recent_comment("s2", &recent("z", 2_500), UnixMillis(0))
                .unwrap();
            store.durable().await.unwrap();
        }
        let store = Store::reopen(directory.path()).unwrap();
        let ids = |since: i64, limit: usize| -> Vec<String> {
            store
                .recent_comments("s", UnixMillis(since), limit)
                .unwrap()
                .into_iter()
                .map(|comment| comment.comment_id)
                .collect()
        };
        assert_eq!(ids(0, 10), vec!["c", "b", "a"]);
        assert_eq!(ids(2_000, 10), vec!["c", "b"]);
        assert_eq!(ids(0, 1), vec!["c"]);
    }

    fn recent_ids(store: &Store, since: i64, limit: usize) -> Vec<String> {
        store
            .recent_comments("s", UnixMillis(since), limit)
            .unwrap()
            .into_iter()
            .map(|comment| comment.comment_id)
            .collect()
    }

    #[test]
    fn a_batch_of_a_sites_comments_is_one_entry_and_reads_with_entries_written_before() {
        let (_directory, store) = open_store();
        let trees = &store.inner.rule_state;
        let (c, a, b) = (recent("c", 1_000), recent("a", 3_000), recent("b", 2_000));
        trees
            .record_recent_comments("s", &[&c, &a, &b], UnixMillis(0))
            .unwrap();
        assert_eq!(trees.recent.len(), 1);
        // As versions before wrote: one comment, a JSON object, its own key.
        let older = serde_json::to_vec(&recent("old", 2_500)).unwrap();
        trees
            .recent
            .insert(recent_key("s", UnixMillis(2_500), "old"), older)
            .unwrap();
        assert_eq!(recent_ids(&store, 0, 10), ["a", "old", "b", "c"]);
        assert_eq!(recent_ids(&store, 2_000, 10), ["a", "old", "b"]);
        assert_eq!(recent_ids(&store, 0, 2), ["a", "old"]);
    }

    #[test]
    fn the_newest_comments_are_read_across_entries_that_overlap_in_time() {
        let (_directory, store) = open_store();
        let trees = &store.inner.rule_state;
        // Two batches whose comments interleave in time: the entry with the
        // newest comment also holds the oldest.
        let (a, d) = (recent("a", 1_000), recent("d", 4_000));
        let (b, c) = (recent("b", 2_000), recent("c", 3_000));
        trees
            .record_recent_comments("s", &[&a, &d], UnixMillis(0))
            .unwrap();
        trees
            .record_recent_comments("s", &[&b, &c], UnixMillis(0))
            .unwrap();
        assert_eq!(recent_ids(&store, 0, 2), ["d", "c"]);
        assert_eq!(recent_ids(&store, 0, 3), ["d", "c", "b"]);
        assert_eq!(recent_ids(&store, 0, 10), ["d", "c", "b", "a"]);
    }

    #[test]
    fn comments_further_apart_than_an_entry_spans_are_split() {
        let (_directory, store) = open_store();
        let trees = &store.inner.rule_state;
        let (early, late) = (
            recent("early", 0),
            recent("late", MAX_ENTRY_SPAN_MILLIS + 1),
        );
        let close = recent("close", MAX_ENTRY_SPAN_MILLIS);
        trees
            .record_recent_comments("s", &[&late, &early, &close], UnixMillis(0))
            .unwrap();
        assert_eq!(trees.recent.len(), 2);
        assert_eq!(recent_ids(&store, 0, 10), ["late", "close", "early"]);
        // Each can still be found to be forgotten.
        for id in ["early", "close", "late"] {
            let at = store
                .recent_comments("s", UnixMillis(0), 10)
                .unwrap()
                .into_iter()
                .find(|comment| comment.comment_id == id)
                .unwrap()
                .at;
            trees.forget_recent_comment("s", at, id).unwrap();
        }
        assert!(trees.recent.is_empty());
    }

    #[test]
    fn one_comment_of_an_entry_is_forgotten_or_replaced_and_the_others_stay() {
        let (_directory, store) = open_store();
        let trees = &store.inner.rule_state;
        let (a, b, c) = (recent("a", 1_000), recent("b", 1_000), recent("c", 2_000));
        trees
            .record_recent_comments("s", &[&a, &b, &c], UnixMillis(0))
            .unwrap();
        trees
            .record_recent_comments("s2", &[&recent("a", 1_000)], UnixMillis(0))
            .unwrap();
        let edited = RecentComment {
            ip: "192.0.2.7".parse().ok(),
            ..recent("b", 1_000)
        };
        trees.replace_recent_comment("s", &edited).unwrap();
        // A comment that is not there is not added.
        trees
            .replace_recent_comment("s", &recent("x", 1_000))
            .unwrap();
        trees
            .forget_recent_comment("s", UnixMillis(1_000), "a")
            .unwrap();
        let left = store.recent_comments("s", UnixMillis(0), 10).unwrap();
        let ids: Vec<&str> = left.iter().map(|c| c.comment_id.as_str()).collect();
        assert_eq!(ids, ["c", "b"]);
        assert_eq!(left[1].ip, edited.ip);
        // The other site's comment of the same id and time is its own.
        assert_eq!(
            store
                .recent_comments("s2", UnixMillis(0), 10)
                .unwrap()
                .len(),
            1
        );
        for (at, id) in [(2_000, "c"), (1_000, "b")] {
            trees
                .forget_recent_comment("s", UnixMillis(at), id)
                .unwrap();
        }
        assert!(store
            .recent_comments("s", UnixMillis(0), 10)
            .unwrap()
            .is_empty());
        assert_eq!(trees.recent.len(), 1, "the entry left empty is deleted");
    }

    #[test]
    fn a_comment_stored_one_per_entry_before_is_forgotten_and_replaced_too() {
        let (_directory, store) = open_store();
        let trees = &store.inner.rule_state;
        for id in ["old", "older"] {
            let value = serde_json::to_vec(&recent(id, 1_000)).unwrap();
            trees
                .recent
                .insert(recent_key("s", UnixMillis(1_000), id), value)
                .unwrap();
        }
        let edited = RecentComment {
            ip: "192.0.2.7".parse().ok(),
            ..recent("old", 1_000)
        };
        trees.replace_recent_comment("s", &edited).unwrap();
        trees
            .forget_recent_comment("s", UnixMillis(1_000), "older")
            .unwrap();
        let left = store.recent_comments("s", UnixMillis(0), 10).unwrap();
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].ip, edited.ip);
    }

    #[test]
    fn a_comment_is_forgotten_from_entries_this_version_cannot_read() {
        let (_directory, store) = open_store();
        let trees = &store.inner.rule_state;
        // An entry of one comment that is not even JSON, under its own key.
        trees
            .recent
            .insert(
                recent_key("s", UnixMillis(1_000), "garbled"),
                b"{not json".to_vec(),
            )
            .unwrap();
        // A batch entry whose other comment has a fingerprint of a shape
        // this version does not read.
        let unreadable = serde_json::json!({
            "at": 2_000, "comment_id": "strange", "author_key": "email:b@x", "ip": null,
            "fingerprint": {"minima": [70000]}
        });
        let mut batch = vec![
            serde_json::to_value(recent("gone", 2_000)).unwrap(),
            unreadable,
        ];
        trees
            .recent
            .insert(
                recent_key("s", UnixMillis(2_000), "strange"),
                serde_json::to_vec(&batch).unwrap(),
            )
            .unwrap();
        trees
            .forget_recent_comment("s", UnixMillis(1_000), "garbled")
            .unwrap();
        trees
            .forget_recent_comment("s", UnixMillis(2_000), "gone")
            .unwrap();
        let left: Vec<(Vec<u8>, serde_json::Value)> = trees
            .recent
            .iter()
            .map(|entry| {
                let (key, value) = entry.unwrap();
                (key.to_vec(), serde_json::from_slice(&value).unwrap())
            })
            .collect();
        batch.remove(0);
        assert_eq!(
            left,
            [(
                recent_key("s", UnixMillis(2_000), "strange"),
                serde_json::Value::Array(batch)
            )]
        );
    }

    #[test]
    fn no_recent_comments_are_read_for_a_limit_of_zero() {
        let (_directory, store) = open_store();
        store
            .record_recent_comment("s", &recent("a", 1_000), UnixMillis(0))
            .unwrap();
        assert!(recent_ids(&store, 0, 0).is_empty());
        assert_eq!(recent_ids(&store, 0, 1), ["a"]);
    }

    #[test]
    fn a_recent_comment_this_version_cannot_read_is_skipped() {
        let (_directory, store) = open_store();
        store
            .record_recent_comment("s", &recent("new", 2_000), UnixMillis(0))
            .unwrap();
        // As an earlier version stored fingerprints: minima too large for
        // the `u16` this one keeps.
        let old = br#"{"at":1000,"comment_id":"old","author_key":"email:a@x","ip":null,"fingerprint":{"minima":[70000,80000]}}"#;
        store
            .inner
            .rule_state
            .recent
            .insert(recent_key("s", UnixMillis(1_000), "old"), old.to_vec())
            .unwrap();
        let ids: Vec<String> = store
            .recent_comments("s", UnixMillis(0), 10)
            .unwrap()
            .into_iter()
            .map(|comment| comment.comment_id)
            .collect();
        assert_eq!(ids, vec!["new"]);
    }

    #[test]
    fn old_entries_are_pruned_when_new_ones_arrive() {
        let (_directory, store) = open_store();
        store
            .record_recent_comment("s", &recent("old", 1_000), UnixMillis(0))
            .unwrap();
        store
            .record_recent_comment("s2", &recent("other", 1_000), UnixMillis(0))
            .unwrap();
        store
            .record_recent_comment("s", &recent("new", 9_000), UnixMillis(5_000))
            .unwrap();
        let all = store
            .recent_comments("s", UnixMillis(i64::MIN), 10)
            .unwrap();
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].comment_id, "new");
        assert_eq!(
            store
                .recent_comments("s2", UnixMillis(0), 10)
                .unwrap()
                .len(),
            1
        );
    }

    #[tokio::test]
    async fn author_histories_without_comments_are_deleted_once_at_an_open() {
        let directory = tempfile::tempdir().unwrap();
        let empty = author_key_bytes("news.example", "email:moved@mail.example");
        let kept = author_key_bytes("news.example", "email:kept@mail.example");
        {
            let store = Store::open(directory.path()).unwrap();
            let authors = &store.inner.rule_state.authors;
            // As a recheck that changed the comment's author left it before.
            authors
                .insert(&empty, encode_history(&AuthorHistory::default()).as_slice())
                .unwrap();
            store
                .record_author_comment("news.example", "email:kept@mail.example", true)
                .unwrap();
            // A database made before the search has no mark yet.
            store
                .inner
                .db
                .remove(EMPTY_AUTHOR_HISTORIES_REMOVED)
                .unwrap();
            store.durable().await.unwrap();
        }
        let store = Store::reopen(directory.path()).unwrap();
        let authors = &store.inner.rule_state.authors;
        assert_eq!(authors.get(&empty).unwrap(), None);
        assert!(authors.get(&kept).unwrap().is_some());
        assert!(store
            .inner
            .db
            .contains_key(EMPTY_AUTHOR_HISTORIES_REMOVED)
            .unwrap());
        // Once marked, an open does not search again.
        authors
            .insert(&empty, encode_history(&AuthorHistory::default()).as_slice())
            .unwrap();
        assert_eq!(store.remove_empty_author_histories().unwrap(), 0);
        assert!(authors.get(&empty).unwrap().is_some());
    }

    #[tokio::test]
    async fn author_history_counts_comments_and_labels() {
        let directory = tempfile::tempdir().unwrap();
        {
            let store = Store::open(directory.path()).unwrap();
            assert_eq!(
                store.author_history("s", "k").unwrap(),
                AuthorHistory::default()
            );
            store.record_author_comment("s", "k", true).unwrap();
            store.record_author_comment("s", "k", false).unwrap();
            store.record_author_comment("s", "k", false).unwrap();
            let label = |before, allowed, label| AuthorLabel {
                before,
                allowed,
                label,
            };
            // The allowed comment labelled ham stays one approval; the
            // second is approved by its label; the third is labelled spam,
            // then ham after all.
            for change in [
                label(None, true, Label::Ham),
                label(None, false, Label::Ham),
                label(None, false, Label::Spam),
                label(Some(Label::Spam), false, Label::Ham),
            ] {
                store.record_author_label("s", "k", change).unwrap();
            }
            store.durable().await.unwrap();
        }
        let store = Store::reopen(directory.path()).unwrap();
        let expected = AuthorHistory {
            comments: 3,
            approved: 3,
            spam: 0,
        };
        assert_eq!(store.author_history("s", "k").unwrap(), expected);
        assert_eq!(
            store.author_history("other", "k").unwrap(),
            AuthorHistory::default()
        );
    }
}
