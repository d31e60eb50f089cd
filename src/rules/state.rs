//! The state the stateful rules read: recent comments of a site (for
//! `duplicate_content` and `flood`) and an author's history (for
//! `new_author` and `trusted_author`). The engine gathers it from the store
//! before scoring and hands it over as a [`Context`]; the rules themselves
//! never do IO.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::similarity::Fingerprint;
use crate::domain::{Author, UnixMillis};

/// What the rules remember of one recent comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecentComment {
    pub at: UnixMillis,
    pub comment_id: String,
    /// See [`author_key`]; empty for anonymous comments.
    pub author_key: String,
    pub ip: Option<IpAddr>,
    /// `None` for texts too short to compare.
    pub fingerprint: Option<Fingerprint>,
}

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

/// Who wrote a comment, as far as the site says: the e-mail address
/// (lower case) when given, else the name; empty when neither is.
pub fn author_key(author: &Author) -> String {
    let email = author.email.trim();
    if !email.is_empty() {
        return format!("email:{}", email.to_lowercase());
    }
    let name = author.name.trim();
    if !name.is_empty() {
        return format!("name:{}", name.to_lowercase());
    }
    String::new()
}

/// Everything besides the comment that the rules look at.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// The server's time of the check.
    pub now: UnixMillis,
    /// Recent comments of the same site, newest first, at most
    /// [`MAX_RECENT_COMMENTS`].
    pub recent: &'a [RecentComment],
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
            recent: &[],
            author: None,
        }
    }
}

/// How many recent comments of a site the engine reads for one check. This
/// bounds the work of `duplicate_content` and `flood` per check; on a site
/// busier than this within a window, only the newest are compared.
pub const MAX_RECENT_COMMENTS: usize = 2000;
