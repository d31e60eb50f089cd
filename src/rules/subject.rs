//! A comment prepared once for all rules: its normalised text, the hosts of
//! its links and its folded words (for the term rules and the fingerprint).

use crate::domain::Comment;
use crate::text::{for_each_link_token, normalize, TokenKind};

use super::fold::{folded_words, FoldedWords};

pub struct Subject<'a> {
    pub comment: &'a Comment,
    /// `text::normalize` of the content.
    pub normalized: String,
    /// The hosts of the text's links, as the tokenizer finds them.
    link_hosts: Vec<String>,
    /// Folded words (see `fold`).
    pub folded_words: FoldedWords,
}

impl<'a> Subject<'a> {
    pub fn new(comment: &'a Comment) -> Subject<'a> {
        let normalized = normalize(&comment.content);
        let mut link_hosts = Vec::new();
        // Only the links: the words are the model's business, and the
        // rules would pay as much as the model to cut them again.
        for_each_link_token(&normalized, |kind, text| {
            if kind == TokenKind::LinkDomain {
                link_hosts.push(text.to_string());
            }
        });
        let folded_words = folded_words(&normalized);
        Subject {
            comment,
            normalized,
            link_hosts,
            folded_words,
        }
    }

    /// The hosts of the links in the text.
    pub fn link_hosts(&self) -> impl Iterator<Item = &str> {
        self.link_hosts.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_hosts_are_the_link_domains() {
        let comment = Comment {
            site_id: "site".to_string(),
            comment_id: "c".to_string(),
            content: "See http://www.Bit.ly/xyz?a=1 now and murdev.com, ok... bye".to_string(),
            author: Default::default(),
            context: Default::default(),
            submitted_at: crate::domain::UnixMillis(0),
            form: Default::default(),
        };
        let subject = Subject::new(&comment);
        assert_eq!(
            subject.link_hosts().collect::<Vec<_>>(),
            vec!["bit.ly", "murdev.com"]
        );
    }
}
