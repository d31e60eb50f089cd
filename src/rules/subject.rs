//! A comment prepared once for all rules: the tokens of its normalised text
//! and its folded words (for the term rules and the fingerprint).

use crate::domain::Comment;
use crate::text::{normalize, tokenize, Token, TokenKind};

use super::fold::{folded_words, FoldedWords};

pub struct Subject<'a> {
    pub comment: &'a Comment,
    /// `text::normalize` of the content.
    pub normalized: String,
    pub tokens: Vec<Token>,
    /// Folded words (see `fold`).
    pub folded_words: FoldedWords,
}

impl<'a> Subject<'a> {
    pub fn new(comment: &'a Comment) -> Subject<'a> {
        let normalized = normalize(&comment.content);
        let tokens = link_tokens(&normalized);
        let folded_words = folded_words(&normalized);
        Subject {
            comment,
            normalized,
            tokens,
            folded_words,
        }
    }

    /// The hosts of the links in the text (the only tokens kept).
    pub fn link_hosts(&self) -> impl Iterator<Item = &str> {
        self.tokens
            .iter()
            .filter(|token| token.kind == TokenKind::LinkDomain)
            .map(|token| token.text.as_str())
    }
}

/// The link tokens of normalised text, found by tokenising only the pieces
/// that can hold a link. Links never span white space, so a piece between
/// white space holds the same links alone as in the text; a piece can only
/// hold one if it has `://` or a dot followed by a letter or digit. Most
/// words have neither, and tokenising them all would cost the rules as much
/// as the model.
fn link_tokens(normalized: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for piece in normalized.split_whitespace() {
        let may_hold_link = piece.contains("://")
            || piece.char_indices().any(|(index, c)| {
                c == '.' && piece[index + 1..].starts_with(char::is_alphanumeric)
            });
        if may_hold_link {
            tokens.extend(
                tokenize(piece).into_iter().filter(|token| {
                    matches!(token.kind, TokenKind::LinkDomain | TokenKind::LinkPath)
                }),
            );
        }
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_found_as_the_tokenizer_finds_them() {
        let texts = [
            "see http://www.Bit.ly/xyz?a=1 now and murdev.com, ok... bye",
            "no links here... really. none",
            "two: a.com/b https://x.org",
        ];
        for text in texts {
            let normalized = normalize(text);
            let expected: Vec<Token> = tokenize(&normalized)
                .into_iter()
                .filter(|token| matches!(token.kind, TokenKind::LinkDomain | TokenKind::LinkPath))
                .collect();
            assert_eq!(link_tokens(&normalized), expected, "{text}");
        }
    }
}
