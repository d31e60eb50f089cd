//! `new_author`, `trusted_author` and `spam_author`: what a site knows of
//! the person behind a comment. Unknown authors can be held for review
//! (off by default); authors known by their e-mail address with enough
//! approved comments and no spam earn a bonus that lowers the score;
//! authors known by their e-mail address whose comments moderators
//! labelled spam more often than they were approved are held for review.

use super::state::{AuthorHistory, AuthorKey};

/// Fires while the author has fewer than `threshold` earlier comments.
/// Anonymous comments (no history) never fire: they are not an author the
/// site can come to know.
pub fn new_author(history: Option<AuthorHistory>, threshold: f64) -> Option<String> {
    let history = history?;
    ((history.comments as f64) < threshold).then(|| {
        format!(
            "A new author: {} earlier comment{} on this site.",
            history.comments,
            plural(history.comments)
        )
    })
}

/// Fires when the author has at least `threshold` approved comments and
/// none labelled spam. Only an author known by their e-mail address can be
/// trusted: anyone can type a regular's name, and whoever posts under it
/// without the regular's address must not lower their score with the
/// regular's history.
pub fn trusted_author(
    history: Option<AuthorHistory>,
    key: &AuthorKey,
    threshold: f64,
) -> Option<String> {
    let history = known_by_email(history, key)?;
    // A threshold of 1 trusts an author for a single approved comment.
    (history.approved as f64 >= threshold && history.spam == 0).then(|| {
        format!(
            "A trusted author: {} approved comment{} and none labelled spam.",
            history.approved,
            plural(history.approved)
        )
    })
}

/// Fires when moderators (or the site, by a report) labelled at least
/// `threshold` of the author's earlier comments spam, and more of them
/// than were approved. Only an author known by their e-mail address
/// counts, as for `trusted_author`: anyone can type a name, so a spammer
/// posting as a regular known by name alone, or bots leaving a form's
/// default "Anonymous", would hold the readers who write under that name.
pub fn spam_author(
    history: Option<AuthorHistory>,
    key: &AuthorKey,
    threshold: f64,
) -> Option<String> {
    let history = known_by_email(history, key)?;
    let labelled_enough = history.spam as f64 >= threshold && history.spam > history.approved;
    labelled_enough.then(|| {
        format!(
            "The author, known by their e-mail address, has {} earlier comment{} labelled spam \
             on this site and {} approved.",
            history.spam,
            plural(history.spam),
            history.approved,
        )
    })
}

/// The history of an author known by their e-mail address; none for one
/// known by name alone, whose history anyone can add to.
fn known_by_email(history: Option<AuthorHistory>, key: &AuthorKey) -> Option<AuthorHistory> {
    history.filter(|_| key.is_email())
}

/// The ending of "comment" for a count.
fn plural(count: u64) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
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

    fn key(text: &str) -> AuthorKey {
        AuthorKey::from(text.to_string())
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
        let regular = key("email:regular@mail.example");
        for (history, fires) in cases {
            assert_eq!(
                trusted_author(history, &regular, 5.0).is_some(),
                fires,
                "{history:?}"
            );
        }
    }

    #[test]
    fn spammers_are_authors_labelled_spam_more_often_than_approved() {
        let spammer = key("email:promo@mail.example");
        let cases = [
            (history(1, 0, 1), 1.0, true),
            (history(4, 1, 3), 1.0, true),
            (history(4, 1, 3), 3.0, true),
            (history(4, 1, 3), 4.0, false),
            // A regular whose comment was once labelled spam by mistake.
            (history(9, 8, 1), 1.0, false),
            // As many approved as labelled spam: a reader who shares a
            // spammer's name and was approved since.
            (history(2, 1, 1), 1.0, false),
            (history(3, 3, 0), 1.0, false),
            (None, 1.0, false),
        ];
        for (history, threshold, fires) in cases {
            assert_eq!(
                spam_author(history, &spammer, threshold).is_some(),
                fires,
                "{history:?} at {threshold}"
            );
        }
        assert_eq!(
            spam_author(history(3, 0, 2), &spammer, 1.0).as_deref(),
            Some(
                "The author, known by their e-mail address, has 2 earlier comments labelled spam \
                 on this site and 0 approved."
            )
        );
        assert_eq!(
            spam_author(history(1, 0, 1), &spammer, 1.0).as_deref(),
            Some(
                "The author, known by their e-mail address, has 1 earlier comment labelled spam \
                 on this site and 0 approved."
            )
        );
        // A name is anyone's to type.
        assert_eq!(
            spam_author(history(9, 0, 9), &key("name:anonymous"), 1.0),
            None
        );
    }

    #[test]
    fn one_approved_comment_is_named_in_the_singular() {
        let regular = key("email:regular@mail.example");
        assert_eq!(
            trusted_author(history(1, 1, 0), &regular, 1.0).as_deref(),
            Some("A trusted author: 1 approved comment and none labelled spam.")
        );
        assert_eq!(
            trusted_author(history(3, 3, 0), &regular, 1.0).as_deref(),
            Some("A trusted author: 3 approved comments and none labelled spam.")
        );
    }

    #[test]
    fn a_name_alone_earns_no_trust() {
        // Whoever types a regular's name, without their address, finds the
        // regular's history under the name key: it must not vouch for them.
        let regular = history(40, 40, 0);
        assert!(trusted_author(regular, &key("name:regular reader"), 5.0).is_none());
        assert!(trusted_author(regular, &key(""), 5.0).is_none());
        assert!(trusted_author(regular, &key("email:reader@mail.example"), 5.0).is_some());
    }
}
