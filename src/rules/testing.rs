//! Comments for the rules' unit tests.

use crate::domain::{Author, Comment, UnixMillis};

/// An anonymous comment on site `x` with only its text.
pub fn comment(text: &str) -> Comment {
    Comment {
        site_id: "x".to_string(),
        comment_id: "c".to_string(),
        content: text.to_string(),
        author: Author::default(),
        context: Default::default(),
        submitted_at: UnixMillis(0),
        form: Default::default(),
    }
}

/// A comment with its text and author.
pub fn comment_by(text: &str, author: Author) -> Comment {
    Comment {
        author,
        ..comment(text)
    }
}
