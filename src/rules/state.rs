//! The state the stateful rules read: recent comments of a site (for
//! `duplicate_content` and `flood`) and an author's history (for
//! `new_author` and `trusted_author`). The engine gathers it from the store
//! before scoring and hands it over as a [`Context`]; the rules themselves
//! never do IO.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::similarity::Fingerprint;
use crate::domain::{Author, Decision, Label, ReviewStatus, UnixMillis};

/// What the rules remember of one recent comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentComment {
    pub at: UnixMillis,
    pub comment_id: String,
    /// See [`author_key`]; empty for anonymous comments.
    pub author_key: AuthorKey,
    pub ip: Option<IpAddr>,
    /// `None` for texts too short to compare.
    pub fingerprint: Option<Fingerprint>,
}

/// An author key (see [`author_key`]) with a hash of it, so that `flood`
/// compares it with every recent comment's at the cost of one integer
/// compare; the texts are compared only when the hashes agree. Stored as
/// its text.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
pub struct AuthorKey {
    text: String,
    hash: u64,
}

impl AuthorKey {
    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Whether the key is the author's e-mail address, not only a name.
    /// A name is shown beside every comment, so anyone can post under a
    /// regular's name; an e-mail address is not shown, and a site usually
    /// confirms it.
    pub fn is_email(&self) -> bool {
        self.text.starts_with(EMAIL_KEY_PREFIX)
    }
}

/// How an author key made of an e-mail address begins.
const EMAIL_KEY_PREFIX: &str = "email:";

impl From<String> for AuthorKey {
    fn from(text: String) -> AuthorKey {
        // FNV-1a: stable and cheap for short keys.
        let hash = text.bytes().fold(0xCBF2_9CE4_8422_2325_u64, |hash, byte| {
            (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01B3)
        });
        AuthorKey { text, hash }
    }
}

impl From<AuthorKey> for String {
    fn from(key: AuthorKey) -> String {
        key.text
    }
}

impl PartialEq for AuthorKey {
    fn eq(&self, other: &AuthorKey) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}

impl Eq for AuthorKey {}

/// What a site knows of an author.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthorHistory {
    /// Comments stored for the author.
    pub comments: u64,
    /// Comments approved: allowed by the verdict, or labelled ham by a
    /// moderator or a report.
    pub approved: u64,
    /// Comments a moderator or a report labelled spam.
    pub spam: u64,
}

/// A person's label of one of an author's comments, with what the comment
/// counted for before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthorLabel {
    /// The comment's earlier human label, if it had one.
    pub before: Option<Label>,
    /// Whether the comment's status was approved before the label (an
    /// unlabelled comment counts as approved while it is).
    pub allowed: bool,
    pub label: Label,
}

impl AuthorHistory {
    /// The history without one of its comments, which counted as its label
    /// says or, unlabelled, as approved while `approved`: what a recheck of
    /// that comment reads, since its first check already counted it (its
    /// author is no newer, nor more trusted, for being checked again).
    pub fn without_comment(self, label: Option<Label>, approved: bool) -> AuthorHistory {
        let (approved_count, spam_count) = comment_counts(label, approved);
        AuthorHistory {
            comments: self.comments.saturating_sub(1),
            approved: self.approved.saturating_sub(approved_count),
            spam: self.spam.saturating_sub(spam_count),
        }
    }

    /// The history with one more comment, counted as its label says or,
    /// unlabelled, as approved while `approved`: a new comment, or one a
    /// recheck gave to this author.
    pub fn with_comment(self, label: Option<Label>, approved: bool) -> AuthorHistory {
        let (approved_count, spam_count) = comment_counts(label, approved);
        AuthorHistory {
            comments: self.comments.saturating_add(1),
            approved: self.approved.saturating_add(approved_count),
            spam: self.spam.saturating_add(spam_count),
        }
    }

    /// Moves a comment from what it counted for to what its new label says:
    /// ham approves it, spam marks it, and each comment counts once. A
    /// moderator who takes back a spam label takes back the spam mark.
    pub fn apply_label(&mut self, change: AuthorLabel) {
        let counted = |label: Option<Label>| comment_counts(label, change.allowed);
        let (approved_before, spam_before) = counted(change.before);
        let (approved_after, spam_after) = counted(Some(change.label));
        self.approved = self
            .approved
            .saturating_sub(approved_before)
            .saturating_add(approved_after);
        self.spam = self
            .spam
            .saturating_sub(spam_before)
            .saturating_add(spam_after);
    }
}

/// What one comment counts for in its author's approvals and spam marks:
/// its label, or unlabelled, an approval while its status is approved.
fn comment_counts(label: Option<Label>, approved: bool) -> (u64, u64) {
    match label {
        Some(Label::Ham) => (1, 0),
        Some(Label::Spam) => (0, 1),
        None => (u64::from(approved), 0),
    }
}

/// How a stored decision's comment counts in its author's history: the
/// author's key, the comment's label, and (unlabelled) whether its status
/// is approved. A comment counts there once, as its label says or,
/// unlabelled, as approved while its status is: a recheck that changes the
/// status of an unlabelled comment moves its approval, one that withdraws
/// an approval (an edit) takes its ham label out, and one that changes its
/// author moves the whole comment to the new author's history.
pub fn counted_as(decision: &Decision) -> (String, Option<Label>, bool) {
    (
        author_key(&decision.comment.author),
        decision
            .resolution
            .as_ref()
            .map(|resolution| resolution.label),
        decision.status == ReviewStatus::Approved,
    )
}

/// Who wrote a comment, as far as the site says: the e-mail address
/// (lower case) when given, else the name; empty when neither is. A key
/// made of a name alone counts comments but earns no trust (see
/// [`AuthorKey::is_email`]).
pub fn author_key(author: &Author) -> String {
    let email = author.email.trim();
    if !email.is_empty() {
        return format!("{EMAIL_KEY_PREFIX}{}", email.to_lowercase());
    }
    let name = author.name.trim();
    if !name.is_empty() {
        return format!("name:{}", name.to_lowercase());
    }
    String::new()
}

/// A site's recent comments, newest first, as two slices that read as one
/// list: the engine keeps them in a ring buffer (newest pushed at the
/// front, oldest dropped at the back), and hands the rules its two halves
/// where they lie. Making the buffer one slice would move all of it (some
/// 300 KB on a busy site) on every check.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecentList<'a> {
    newer: &'a [RecentComment],
    older: &'a [RecentComment],
}

impl<'a> RecentList<'a> {
    /// The list of `newer`, then `older`, each newest first.
    pub fn new(newer: &'a [RecentComment], older: &'a [RecentComment]) -> RecentList<'a> {
        RecentList { newer, older }
    }

    /// The comments, newest first.
    pub fn iter(&self) -> impl Iterator<Item = &'a RecentComment> + 'a {
        self.newer.iter().chain(self.older)
    }

    pub fn len(&self) -> usize {
        self.newer.len() + self.older.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<'a> From<&'a [RecentComment]> for RecentList<'a> {
    fn from(comments: &'a [RecentComment]) -> RecentList<'a> {
        RecentList::new(comments, &[])
    }
}

/// Everything besides the comment that the rules look at.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The server's time of the check.
    pub now: UnixMillis,
    /// Recent comments of the same site, newest first, at most
    /// [`MAX_RECENT_COMMENTS`].
    pub recent: RecentList<'a>,
    /// The author's history on the site; `None` for anonymous comments or
    /// when history is not available (as in `eval`).
    pub author: Option<AuthorHistory>,
}

impl Context<'_> {
    /// A context without any history: what `eval` and `check` use, where
    /// texts stand alone.
    pub fn stateless(now: UnixMillis) -> Context<'static> {
        Context {
            now,
            recent: RecentList::default(),
            author: None,
        }
    }
}

/// How many recent comments of a site the engine reads for one check. This
/// bounds the work of `duplicate_content` and `flood` per check; on a site
/// busier than this within a window, only the newest are compared.
pub const MAX_RECENT_COMMENTS: usize = 2000;
