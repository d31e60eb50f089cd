//! A comment prepared once for all rules: the tokens of its normalised text
//! and, when a term list needs them, its folded words.

use crate::domain::Comment;
use crate::text::{normalize, tokenize, Token, TokenKind};

use super::fold::folded_words;

pub struct Subject<'a> {
    pub comment: &'a Comment,
    pub tokens: Vec<Token>,
    /// Folded words (see `fold`); empty unless asked for, because only the
    /// term rules read them.
    pub folded_words: Vec<String>,
}

impl<'a> Subject<'a> {
    pub fn new(comment: &'a Comment, with_folded_words: bool) -> Subject<'a> {
        let normalized = normalize(&comment.content);
        let tokens = tokenize(&normalized);
        let folded_words = if with_folded_words {
            folded_words(&normalized)
        } else {
            Vec::new()
        };
        Subject {
            comment,
            tokens,
            folded_words,
        }
    }

    /// The hosts of the links in the text.
    pub fn link_hosts(&self) -> impl Iterator<Item = &str> {
        self.tokens
            .iter()
            .filter(|token| token.kind == TokenKind::LinkDomain)
            .map(|token| token.text.as_str())
    }
}
