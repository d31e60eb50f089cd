//! Cuts normalised text into tokens: words, numbers and the parts of links.

use std::sync::LazyLock;

use regex::Regex;

/// What a token stands for; the classifier turns each kind into features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A run of letters (any script), possibly with inner apostrophes.
    Word,
    /// A number, already reduced to its shape (see [`number_shape`]).
    Number,
    /// The host of a link, without a leading `www.`.
    LinkDomain,
    /// One segment of a link's path.
    LinkPath,
    /// A run of two or more `!` or `?`.
    Emphasis,
}

/// One token of a comment, in normalised form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Token {
    pub kind: TokenKind,
    pub text: String,
}

/// Links written with a scheme, with `www.`, or as a bare domain under a
/// common top-level domain (spammers often leave the scheme off so that the
/// site does not turn it into a link).
static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        (?:https?://|www\.)[^\s<>\x22']+
        | \b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|info|biz|ly|io|co|me|tk|ru|us|uk|de|tv|gl|be|cc|xyz|site|online|club)\b(?:/[^\s<>\x22']*)?
        ",
    )
    .expect("the link pattern is valid")
});

static WORD_OR_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\p{L}\p{M}]+(?:'[\p{L}\p{M}]+)*|\p{N}+(?:[.,:/-]\p{N}+)*|[!?]{2,}")
        .expect("the word pattern is valid")
});

/// Tokenises text that [`crate::text::normalize`] has already normalised.
pub fn tokenize(normalized: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest_start = 0;
    for link in LINK.find_iter(normalized) {
        words_and_numbers(&normalized[rest_start..link.start()], &mut tokens);
        link_tokens(link.as_str(), &mut tokens);
        rest_start = link.end();
    }
    words_and_numbers(&normalized[rest_start..], &mut tokens);
    tokens
}

fn words_and_numbers(text: &str, tokens: &mut Vec<Token>) {
    for found in WORD_OR_NUMBER.find_iter(text) {
        let piece = found.as_str();
        let first = piece.chars().next().unwrap_or(' ');
        let token = if first == '!' || first == '?' {
            Token {
                kind: TokenKind::Emphasis,
                text: first.to_string().repeat(2),
            }
        } else if first.is_numeric() {
            Token {
                kind: TokenKind::Number,
                text: number_shape(piece),
            }
        } else {
            Token {
                kind: TokenKind::Word,
                text: piece.to_string(),
            }
        };
        tokens.push(token);
    }
}

/// Reduces a number to its shape: short numbers stay as written (a "2" or a
/// "50" carries meaning), long ones become a length class, because phone
/// numbers and prize codes differ in every message but share their shape.
pub fn number_shape(number: &str) -> String {
    let digits = number.chars().filter(|c| c.is_numeric()).count();
    match digits {
        0..=3 => number.to_string(),
        4 => "<4digits>".to_string(),
        5..=7 => "<5-7digits>".to_string(),
        _ => "<8+digits>".to_string(),
    }
}

fn link_tokens(link: &str, tokens: &mut Vec<Token>) {
    let without_scheme = link
        .strip_prefix("https://")
        .or_else(|| link.strip_prefix("http://"))
        .unwrap_or(link);
    let (host, path) = match without_scheme.find(['/', '?', '#']) {
        Some(split) => without_scheme.split_at(split),
        None => (without_scheme, ""),
    };
    let host = host.trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    // "https://#top" or a bare "www." name no host: no domain token (an
    // empty one would be a feature every such text shared).
    if !host.is_empty() {
        tokens.push(Token {
            kind: TokenKind::LinkDomain,
            text: host.to_string(),
        });
    }
    for segment in path.split(['/', '?', '#', '&', '=']) {
        if !segment.is_empty() && segment.len() <= 40 {
            tokens.push(Token {
                kind: TokenKind::LinkPath,
                text: segment.to_string(),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    fn kinds_and_texts(raw: &str) -> Vec<(TokenKind, String)> {
        tokenize(&normalize(raw))
            .into_iter()
            .map(|token| (token.kind, token.text))
            .collect()
    }

    #[test]
    fn a_link_without_a_host_gives_no_empty_token() {
        // Found by the `text` fuzz target.
        for text in ["https://#top", "www./a", "see https://?x=1 now"] {
            let tokens = tokenize(text);
            assert!(
                tokens.iter().all(|token| !token.text.is_empty()),
                "{text}: {tokens:?}"
            );
        }
    }

    #[test]
    fn words_keep_inner_apostrophes() {
        assert_eq!(
            kinds_and_texts("I'm here, aren't you?"),
            vec![
                (TokenKind::Word, "i'm".into()),
                (TokenKind::Word, "here".into()),
                (TokenKind::Word, "aren't".into()),
                (TokenKind::Word, "you".into()),
            ]
        );
    }

    #[test]
    fn links_become_domain_and_path_tokens() {
        let tokens = kinds_and_texts("see http://www.Bit.ly/xyz?a=1 now");
        assert_eq!(
            tokens,
            vec![
                (TokenKind::Word, "see".into()),
                (TokenKind::LinkDomain, "bit.ly".into()),
                (TokenKind::LinkPath, "xyz".into()),
                (TokenKind::LinkPath, "a".into()),
                (TokenKind::LinkPath, "1".into()),
                (TokenKind::Word, "now".into()),
            ]
        );
    }

    #[test]
    fn bare_domains_are_links() {
        let tokens = kinds_and_texts("just for test I have to say murdev.com");
        assert_eq!(
            tokens.last(),
            Some(&(TokenKind::LinkDomain, "murdev.com".to_string()))
        );
    }

    #[test]
    fn long_numbers_are_reduced_to_their_shape() {
        let tokens = kinds_and_texts("call 08452810075 or 87121 for 2");
        assert_eq!(
            tokens,
            vec![
                (TokenKind::Word, "call".into()),
                (TokenKind::Number, "<8+digits>".into()),
                (TokenKind::Word, "or".into()),
                (TokenKind::Number, "<5-7digits>".into()),
                (TokenKind::Word, "for".into()),
                (TokenKind::Number, "2".into()),
            ]
        );
    }

    #[test]
    fn repeated_exclamation_is_one_emphasis_token() {
        let tokens = kinds_and_texts("subscribe!!! please");
        assert_eq!(tokens[1], (TokenKind::Emphasis, "!!".to_string()));
    }

    #[test]
    fn empty_and_symbol_only_text_has_no_tokens() {
        assert!(kinds_and_texts("").is_empty());
        assert!(kinds_and_texts(" ... ,,, ").is_empty());
    }

    #[test]
    fn other_scripts_are_words() {
        let tokens = kinds_and_texts("Это отличная статья");
        assert_eq!(tokens.len(), 3);
        assert!(tokens.iter().all(|(kind, _)| *kind == TokenKind::Word));
    }
}
