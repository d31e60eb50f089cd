//! Text normalisation and tokenisation: pure functions shared by the
//! classifier (training and scoring) and the rules, so that both see the
//! same words. Nothing here does IO.

mod normalize;
mod quotes;
mod tokenize;

pub use normalize::{
    font_letter, is_invisible, may_have_sentence_breaks, normalize, normalize_keeping_full_stops,
    shown_characters, visible,
};
pub use quotes::without_quotes;
pub use tokenize::{for_each_link_token, for_each_token, tokenize, Token, TokenKind};

/// `text`, or its first `limit` characters and an ellipsis when it is
/// longer: what a reason quotes of a comment, so that a long word does not
/// make a long answer.
pub fn quoted(text: &str, limit: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]).into(),
        None => text.into(),
    }
}
