//! The state the stateful rules read, which the decision writer records
//! after each batch's transaction:
//! - `rule_recent`: (site, time, comment id) -> a [`RecentComment`] as JSON,
//!   the site's recent comments for `duplicate_content` and `flood`. Entries
//!   older than the longest window in force, or than the oldest a busy
//!   site keeps in memory (`recent_comments`), are pruned as new ones
//!   arrive.
//! - `rule_authors`: (site, author key) -> an [`AuthorHistory`] as three
//!   big-endian u64 counters, for `new_author` and `trusted_author`.
//!
//! Both live in sled beside the decisions, so near-duplicate detection and
//! author trust survive a restart. Neither is written in the decision's
//! transaction: losing one entry in a crash only weakens a heuristic, never
//! an acknowledged decision, and the writer's flush of the batch covers
//! both. Labels are counted in author histories by the labelling call,
//! before its `durable` flush.

use super::{Store, StoreError};
use crate::domain::{Label, UnixMillis};
use crate::rules::{AuthorHistory, AuthorLabel, RecentComment};

/// How many stale entries one recording prunes at most, so that a write
/// never stalls on a large backlog (each write adds one entry and removes
/// up to this many, so the backlog shrinks).
const MAX_PRUNED_PER_WRITE: usize = 64;

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

impl Store {
    /// The site's comments recorded at or after `since`, newest first, at
    /// most `limit`.
    pub fn recent_comments(
        &self,
        site_id: &str,
        since: UnixMillis,
        limit: usize,
    ) -> Result<Vec<RecentComment>, StoreError> {
        let prefix = site_prefix(site_id);
        let mut start = prefix.clone();
        start.extend_from_slice(&since.sortable_bytes());
        let mut end = prefix;
        end.extend_from_slice(&[0xFF; 9]);
        let mut recent = Vec::new();
        for entry in self
            .inner
            .rule_state
            .recent
            .range(start..end)
            .rev()
            .take(limit)
        {
            let (key, value) = entry?;
            match serde_json::from_slice(&value) {
                Ok(comment) => recent.push(comment),
                // An entry this version cannot read (written by an earlier
                // one, whose fingerprints had another shape) is skipped:
                // recent comments only feed the duplicate and flood
                // heuristics, and refusing every check of the site until
                // the entry leaves the window would cost far more. It is
                // pruned with the others as newer comments arrive.
                Err(error) => warn_unreadable_recent_comment(&key, &error),
            }
        }
        Ok(recent)
    }

    /// [`RuleStateTrees::record_recent_comment`] outside the writer, for
    /// tests that prepare a site's history.
    #[cfg(test)]
    pub fn record_recent_comment(
        &self,
        site_id: &str,
        comment: &RecentComment,
        keep_since: UnixMillis,
    ) -> Result<(), StoreError> {
        self.inner
            .rule_state
            .record_recent_comment(site_id, comment, keep_since)
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
    /// Deletes a comment's entry among its site's recent ones (kept under
    /// the time of its first check, `at`), if it is still there.
    pub(super) fn forget_recent_comment(
        &self,
        site_id: &str,
        at: UnixMillis,
        comment_id: &str,
    ) -> Result<(), StoreError> {
        self.recent.remove(recent_key(site_id, at, comment_id))?;
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
            authors.insert(key, encode_history(&change(current)).to_vec())?;
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

    /// Records a comment among the site's recent ones, and prunes entries
    /// recorded before `keep_since` (the writer does this for each new
    /// decision, before its flush).
    pub(super) fn record_recent_comment(
        &self,
        site_id: &str,
        comment: &RecentComment,
        keep_since: UnixMillis,
    ) -> Result<(), StoreError> {
        let value = serde_json::to_vec(comment).map_err(|error| StoreError::Corrupt {
            key: comment.comment_id.clone(),
            message: error.to_string(),
        })?;
        let tree = &self.recent;
        tree.insert(recent_key(site_id, comment.at, &comment.comment_id), value)?;
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
        let key = recent_key(site_id, comment.at, &comment.comment_id);
        if !self.recent.contains_key(&key)? {
            return Ok(());
        }
        let value = serde_json::to_vec(comment).map_err(|error| StoreError::Corrupt {
            key: comment.comment_id.clone(),
            message: error.to_string(),
        })?;
        self.recent.insert(key, value)?;
        Ok(())
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
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
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

    #[test]
    fn a_recent_comment_this_version_cannot_read_is_skipped() {
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
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
        let directory = tempfile::tempdir().unwrap();
        let store = Store::open(directory.path()).unwrap();
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
