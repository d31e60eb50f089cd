//! `new_author` and `trusted_author`: what a site knows of the person
//! behind a comment. Unknown authors can be held for review (off by
//! default); authors with enough approved comments and no spam earn a bonus
//! that lowers the score.

use super::state::AuthorHistory;

/// Fires while the author has fewer than `threshold` earlier comments.
/// Anonymous comments (no history) never fire: they are not an author the
/// site can come to know.
pub fn new_author(history: Option<AuthorHistory>, threshold: f64) -> Option<String> {
    let history = history?;
    ((history.comments as f64) < threshold).then(|| {
        format!(
            "A new author: {} earlier comment{} on this site.",
            history.comments,
            if history.comments == 1 { "" } else { "s" }
        )
    })
}

/// Fires when the author has at least `threshold` approved comments and
/// none labelled spam.
pub fn trusted_author(history: Option<AuthorHistory>, threshold: f64) -> Option<String> {
    let history = history?;
    (history.approved as f64 >= threshold && history.spam == 0).then(|| {
        format!(
            "A trusted author: {} approved comments and none labelled spam.",
            history.approved
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(comments: u64, approved: u64, spam: u64) -> Option<AuthorHistory> {
        Some(AuthorHistory {
            comments,
            approved,
            spam,
        })
    }

    #[test]
    fn new_authors_are_those_with_few_comments() {
        let cases = [
            (history(0, 0, 0), true),
            (history(1, 1, 0), false),
            (None, false),
        ];
        for (history, fires) in cases {
            assert_eq!(new_author(history, 1.0).is_some(), fires, "{history:?}");
        }
    }

    #[test]
    fn trust_needs_approvals_and_no_spam() {
        let cases = [
            (history(5, 5, 0), true),
            (history(9, 7, 0), true),
            (history(5, 4, 0), false),
            (history(8, 8, 1), false),
            (None, false),
        ];
        for (history, fires) in cases {
            assert_eq!(trusted_author(history, 5.0).is_some(), fires, "{history:?}");
        }
    }
}
