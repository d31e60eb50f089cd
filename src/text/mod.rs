//! Text normalisation and tokenisation: pure functions shared by the
//! classifier (training and scoring) and the rules, so that both see the
//! same words. Nothing here does IO.

mod normalize;
mod tokenize;

pub use normalize::{is_invisible, normalize};
pub use tokenize::{for_each_link_token, for_each_token, tokenize, Token, TokenKind};
