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
    /// A run of two or more `!` or `?`: `!!`, `??`, or `?!` for a run of
    /// both.
    Emphasis,
}

/// One token of a comment, in normalised form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Token {
    pub kind: TokenKind,
    pub text: String,
}

/// The top-level domains under which a bare domain (no scheme, no `www.`)
/// counts as a link: the commonest, those of link shorteners (`bit.ly`,
/// `goo.gl`, `rb.gy`, `is.gd`), and those spam is most often sent from
/// (`.top`, `.shop`, `.click`...). Endings that are words a sentence begins
/// with, after a full stop with no space ("twice.Me and my wife"), are
/// told apart from links by [`crate::text::normalize`], which puts the
/// missing space back before such a capitalised word.
pub(super) const BARE_LINK_DOMAINS: [&str; 38] = [
    "com", "net", "org", "info", "biz", "ly", "io", "co", "me", "tk", "ru", "us", "uk", "de", "tv",
    "gl", "be", "cc", "xyz", "site", "online", "club", "top", "shop", "store", "click", "icu",
    "vip", "pw", "cn", "buzz", "cam", "sbs", "cfd", "bond", "website", "gy", "gd",
];

/// Links written with a scheme, with `www.` (starting a word and followed
/// by a name: "Awww..." is no link), or as a bare domain under one of
/// [`BARE_LINK_DOMAINS`] (spammers often leave the scheme off so that the
/// site does not turn it into a link).
static LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?x)
        (?:https?://[^\s<>\x22']+ | \bwww\.[\p{{L}}\p{{N}}][^\s<>\x22']*)
        | \b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:{})\b(?:/[^\s<>\x22']*)?
        ",
        BARE_LINK_DOMAINS.join("|")
    ))
    .expect("the link pattern is valid")
});

/// Whether [`LINK`] can match: it needs a `://`, a `www.` or a `.`
/// followed by one of [`BARE_LINK_DOMAINS`]. Most comments have none of
/// these and skip the search, which on text with letters beyond ASCII
/// cannot use the regex crate's fast engine (its `\b` is Unicode-aware).
fn may_contain_link(text: &str) -> bool {
    if text.contains("://") || text.contains("www.") {
        return true;
    }
    memchr::memchr_iter(b'.', text.as_bytes()).any(|dot| {
        let after = &text.as_bytes()[dot + 1..];
        // Most full stops end a sentence or an ellipsis: a quick look at
        // the next byte spares them the comparisons.
        after.first().is_some_and(|first| {
            first.is_ascii_lowercase() && DOMAIN_FIRST_LETTERS & (1 << (first - b'a')) != 0
        }) && BARE_LINK_DOMAINS
            .iter()
            .any(|domain| after.starts_with(domain.as_bytes()))
    })
}

/// The letters [`BARE_LINK_DOMAINS`] start with, one bit per letter.
const DOMAIN_FIRST_LETTERS: u32 = {
    let mut letters = 0u32;
    let mut index = 0;
    while index < BARE_LINK_DOMAINS.len() {
        letters |= 1 << (BARE_LINK_DOMAINS[index].as_bytes()[0] - b'a');
        index += 1;
    }
    letters
};

static WORD_OR_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\p{L}\p{M}]+(?:'[\p{L}\p{M}]+)*|\p{N}+(?:[.,:/-]\p{N}+)*|[!?]{2,}")
        .expect("the word pattern is valid")
});

/// Tokenises text that [`crate::text::normalize`] has already normalised.
pub fn tokenize(normalized: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for_each_token(normalized, |kind, text| {
        tokens.push(Token {
            kind,
            text: text.to_string(),
        })
    });
    tokens
}

/// [`tokenize`] without building the tokens: calls `visit` with each
/// token's kind and text, in order. The scoring path uses this to cut a
/// comment into tokens without allocating one string per token.
pub fn for_each_token<'text>(normalized: &'text str, mut visit: impl FnMut(TokenKind, &'text str)) {
    let mut rest_start = 0;
    for link in links(normalized) {
        words_and_numbers(&normalized[rest_start..link.start()], &mut visit);
        link_tokens(link.as_str(), &mut visit);
        rest_start = link.end();
    }
    words_and_numbers(&normalized[rest_start..], &mut visit);
}

/// The link tokens of [`for_each_token`] alone (link domains and paths,
/// in order), for callers that have no use for the words.
pub fn for_each_link_token<'text>(
    normalized: &'text str,
    mut visit: impl FnMut(TokenKind, &'text str),
) {
    for link in links(normalized) {
        link_tokens(link.as_str(), &mut visit);
    }
}

/// The links of normalised text. An e-mail address is no link: the bare
/// domain after its `@` (and a local part that looks like a domain) is
/// left to be read as words. A link written with a scheme or `www.`, or a
/// domain after an `@` with no address before it, stays a link. A bare
/// name followed by `()` is a call in code ("df.info()", "button.click()"),
/// not a link; one followed by words in brackets ("pillshop.top(official)")
/// stays a link.
fn links(normalized: &str) -> impl Iterator<Item = regex::Match<'_>> {
    may_contain_link(normalized)
        .then(|| LINK.find_iter(normalized))
        .into_iter()
        .flatten()
        .filter(|found| {
            let rest = &normalized[found.end()..];
            let is_call = is_bare(found.as_str()) && rest.starts_with("()");
            !(is_mail_domain(normalized, found) || name_goes_on(rest) || is_call)
        })
}

/// Whether a bare domain the link pattern found is the domain of an e-mail
/// address: right after an `@` that follows a character of an address's
/// local part.
fn is_mail_domain(normalized: &str, found: &regex::Match<'_>) -> bool {
    let before = &normalized.as_bytes()[..found.start()];
    is_bare(found.as_str())
        && before.last() == Some(&b'@')
        && before.len() >= 2
        && matches!(before[before.len() - 2], b'a'..=b'z' | b'0'..=b'9' | b'.' | b'_' | b'%' | b'+' | b'-')
}

/// Whether a link the pattern found is a bare domain: written without a
/// scheme or `www.`.
fn is_bare(link: &str) -> bool {
    !(link.starts_with("http") || link.starts_with("www."))
}

/// Whether a bare domain that ends where `rest` starts is only the start
/// of a longer name ("pillshop.top-deals", "pillshop.top.example"), which
/// the link pattern cannot see, having no look-ahead: its top-level domain
/// is then no top-level domain. A link ending at white space or
/// punctuation ends there.
fn name_goes_on(rest: &str) -> bool {
    let mut after = rest.chars();
    match after.next() {
        // "john.me@mail.example" is an e-mail address.
        Some('@') => after
            .next()
            .is_some_and(|next| next.is_ascii_alphanumeric()),
        Some('-' | '_') => true,
        Some('.') => after.next().is_some_and(char::is_alphanumeric),
        _ => false,
    }
}

fn words_and_numbers<'text>(text: &'text str, visit: &mut impl FnMut(TokenKind, &'text str)) {
    if text.is_ascii() {
        ascii_words_and_numbers(text, visit)
    } else {
        regex_words_and_numbers(text, visit)
    }
}

/// The words, numbers and emphasis of any text, found by [`WORD_OR_NUMBER`].
fn regex_words_and_numbers<'text>(text: &'text str, visit: &mut impl FnMut(TokenKind, &'text str)) {
    for found in WORD_OR_NUMBER.find_iter(text) {
        let piece = found.as_str();
        let first = piece.chars().next().unwrap_or(' ');
        if first == '!' || first == '?' {
            visit(TokenKind::Emphasis, emphasis(piece.as_bytes()));
        } else if first.is_numeric() {
            visit(TokenKind::Number, number_shape(piece));
        } else {
            visit(TokenKind::Word, piece);
        }
    }
}

/// The emphasis token of a run of `!` and `?`.
fn emphasis(run: &[u8]) -> &'static str {
    let exclamations = run.iter().filter(|byte| **byte == b'!').count();
    if exclamations == run.len() {
        "!!"
    } else if exclamations == 0 {
        "??"
    } else {
        "?!"
    }
}

/// [`WORD_OR_NUMBER`]'s matches on ASCII text, found without the regex
/// engine (most comments are ASCII once normalised, and this is several
/// times faster). On ASCII, `\p{L}` is `[A-Za-z]`, `\p{M}` is empty and
/// `\p{N}` is `[0-9]`; a property test checks both give the same tokens.
fn ascii_words_and_numbers<'text>(text: &'text str, visit: &mut impl FnMut(TokenKind, &'text str)) {
    let bytes = text.as_bytes();
    // Extends a run of `is_part` bytes that may continue past a single
    // `is_joiner` byte when a part byte follows it ("aren't", "1,000").
    let run_end = |start: usize, is_part: fn(u8) -> bool, is_joiner: fn(u8) -> bool| {
        let mut end = start;
        loop {
            while end < bytes.len() && is_part(bytes[end]) {
                end += 1;
            }
            let joined = end + 1 < bytes.len() && is_joiner(bytes[end]) && is_part(bytes[end + 1]);
            if !joined {
                return end;
            }
            end += 1;
        }
    };
    let mut position = 0;
    while position < bytes.len() {
        let byte = bytes[position];
        if byte.is_ascii_alphabetic() {
            let end = run_end(position, |b| b.is_ascii_alphabetic(), |b| b == b'\'');
            visit(TokenKind::Word, &text[position..end]);
            position = end;
        } else if byte.is_ascii_digit() {
            let end = run_end(
                position,
                |b| b.is_ascii_digit(),
                |b| matches!(b, b'.' | b',' | b':' | b'/' | b'-'),
            );
            visit(TokenKind::Number, number_shape(&text[position..end]));
            position = end;
        } else if byte == b'!' || byte == b'?' {
            let run = bytes[position..]
                .iter()
                .take_while(|b| matches!(b, b'!' | b'?'))
                .count();
            if run >= 2 {
                visit(
                    TokenKind::Emphasis,
                    emphasis(&bytes[position..position + run]),
                );
            }
            position += run;
        } else {
            position += 1;
        }
    }
}

/// A link in prose takes the punctuation after it along ("see
/// https://shop.example!", "(www.shop.example)"): it is no part of it. A
/// closing bracket stays when the link opened it ("...?mpt=[cachebuster]").
fn without_trailing_punctuation(link: &str) -> &str {
    // How many more closing than opening brackets of each pair the link
    // holds, counted once (a link can be 64 KiB of brackets) and lowered as
    // closing ones are cut.
    let excess = |open: char, close: char| {
        link.matches(close).count() as i64 - link.matches(open).count() as i64
    };
    let mut unbalanced = [excess('(', ')'), excess('[', ']'), excess('{', '}')];
    let mut end = link.len();
    // Every character cut is ASCII, so `end` stays on a character boundary.
    while let Some(&last) = link.as_bytes()[..end].last() {
        let bracket = match last {
            b')' => Some(0),
            b']' => Some(1),
            b'}' => Some(2),
            _ => None,
        };
        let trailing = match bracket {
            Some(pair) => unbalanced[pair] > 0,
            None => matches!(last, b'.' | b',' | b';' | b':' | b'!' | b'?'),
        };
        if !trailing {
            break;
        }
        if let Some(pair) = bracket {
            unbalanced[pair] -= 1;
        }
        end -= 1;
    }
    &link[..end]
}

/// Reduces a number to its shape: short numbers stay as written (a "2" or a
/// "50" carries meaning), long ones become a length class, because phone
/// numbers and prize codes differ in every message but share their shape.
pub fn number_shape(number: &str) -> &str {
    let digits = number.chars().filter(|c| c.is_numeric()).count();
    match digits {
        0..=3 => number,
        4 => "<4digits>",
        5..=7 => "<5-7digits>",
        _ => "<8+digits>",
    }
}

fn link_tokens<'text>(link: &'text str, visit: &mut impl FnMut(TokenKind, &'text str)) {
    let link = without_trailing_punctuation(link);
    let without_scheme = link
        .strip_prefix("https://")
        .or_else(|| link.strip_prefix("http://"))
        .unwrap_or(link);
    // A browser reads `\` in a web address as `/`, so it ends the host:
    // "spamshop.ru\@news.example" goes to spamshop.ru.
    let (authority, path) = match without_scheme.find(['/', '?', '#', '\\']) {
        Some(split) => without_scheme.split_at(split),
        None => (without_scheme, ""),
    };
    // The host is what follows any user part ("news.example@shop.example"
    // goes to shop.example) and precedes any port; an IPv6 address is
    // written in brackets, its colons its own.
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = match host.strip_prefix('[').and_then(|rest| rest.find(']')) {
        Some(end) => &host[..end + 2],
        None => host.split(':').next().unwrap_or(host),
    };
    let host = host.trim_end_matches('.');
    let host = host.strip_prefix("www.").unwrap_or(host);
    // "https://#top" or a bare "www." name no host: no domain token (an
    // empty one would be a feature every such text shared).
    if !host.is_empty() {
        visit(TokenKind::LinkDomain, host);
    }
    for segment in path.split(['/', '?', '#', '&', '=', '\\']) {
        if !segment.is_empty() && segment.len() <= 40 {
            visit(TokenKind::LinkPath, segment);
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

    proptest::proptest! {
        /// The shortcut never skips a text the link pattern matches.
        #[test]
        fn texts_with_links_are_never_skipped(
            text in "(https?://|www\\.|\\.|com|co|ru|me|xyz|[a-z0-9]{1,5}|é|/|:| ){0,12}"
        ) {
            if LINK.is_match(&text) {
                proptest::prop_assert!(may_contain_link(&text), "{}", text);
            }
        }
    }

    #[test]
    fn link_tokens_alone_are_those_of_the_whole_tokenizer() {
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
            let mut found = Vec::new();
            for_each_link_token(&normalized, |kind, text| {
                found.push(Token {
                    kind,
                    text: text.to_string(),
                })
            });
            assert_eq!(found, expected, "{text}");
            assert_eq!(found.is_empty(), text.starts_with("no links"));
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
    fn a_link_in_prose_has_the_host_it_leads_to() {
        let hosts = |text: &str| -> Vec<String> {
            kinds_and_texts(text)
                .into_iter()
                .filter(|(kind, _)| *kind == TokenKind::LinkDomain)
                .map(|(_, text)| text)
                .collect()
        };
        for text in [
            "Deals at https://spamshop.ru!",
            "(see https://spamshop.ru)",
            "https://spamshop.ru, ok",
            "https://spamshop.ru:8443/x",
            "http://news.example@spamshop.ru/",
            "http://user:secret@spamshop.ru:80/offer.",
        ] {
            assert_eq!(hosts(text), vec!["spamshop.ru".to_string()], "{text}");
        }
        // The path keeps its inner dots, not the sentence's full stop, and
        // the brackets it opened itself.
        let tokens = kinds_and_texts("watch http://youtu.be/abc.def.");
        assert_eq!(
            tokens.last(),
            Some(&(TokenKind::LinkPath, "abc.def".into()))
        );
        let tokens = kinds_and_texts("(http://ads.example/?mpt=[cachebuster])");
        assert_eq!(
            tokens.last(),
            Some(&(TokenKind::LinkPath, "[cachebuster]".into()))
        );
        // A link followed by the most brackets a comment can hold is cut
        // in one pass (this took seconds when each cut counted again).
        let brackets = format!("www.a.ru{}", ")".repeat(65_000));
        assert_eq!(hosts(&brackets), vec!["a.ru".to_string()]);
    }

    /// "Awww..." is a reader's sigh, not a link to a host named `www`: it
    /// used to add the link signals (and "a link to another site") to
    /// readers' comments, enough to reject "Awww... RIP, he was a legend".
    #[test]
    fn www_inside_a_word_or_without_a_name_after_it_is_no_link() {
        for text in [
            "Awww... so cute!",
            "awwww. rip",
            "Www... what?",
            "www. is not a site",
        ] {
            let tokens = kinds_and_texts(text);
            assert!(
                tokens
                    .iter()
                    .all(|(kind, _)| !matches!(kind, TokenKind::LinkDomain | TokenKind::LinkPath)),
                "{text}: {tokens:?}"
            );
        }
        let tokens = kinds_and_texts("see www.example.org/page and awww");
        assert!(tokens.contains(&(TokenKind::LinkDomain, "example.org".to_string())));
        // A name beyond ASCII after `www.` is a link all the same.
        let tokens = kinds_and_texts("купите на www.аптека.рф сегодня");
        assert!(
            tokens.contains(&(TokenKind::LinkDomain, "аптека.рф".to_string())),
            "{tokens:?}"
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

    /// Spam's favourite endings and link shorteners are links without a
    /// scheme too.
    #[test]
    fn bare_domains_under_spam_endings_and_shorteners_are_links() {
        let domains: Vec<String> =
            kinds_and_texts("meds: pillshop.top pillshop.shop pillshop.click, see rb.gy/abc1")
                .into_iter()
                .filter(|(kind, _)| *kind == TokenKind::LinkDomain)
                .map(|(_, text)| text)
                .collect();
        assert_eq!(
            domains,
            ["pillshop.top", "pillshop.shop", "pillshop.click", "rb.gy"]
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

    /// A way of finding the words and numbers of a text.
    type Finder = fn(&str, &mut dyn FnMut(TokenKind, &str));

    fn collect(text: &str, finder: Finder) -> Vec<(TokenKind, String)> {
        let mut found = Vec::new();
        finder(text, &mut |kind, piece| {
            found.push((kind, piece.to_string()))
        });
        found
    }

    proptest::proptest! {
        /// The hand-written ASCII scanner finds exactly what the regex
        /// finds, on text made of the characters that matter to it.
        #[test]
        fn the_ascii_scanner_agrees_with_the_regex(text in "[a-zA-Z0-9'.,:/!? -]{0,40}") {
            proptest::prop_assert_eq!(
                collect(&text, |text, mut visit| ascii_words_and_numbers(text, &mut visit)),
                collect(&text, |text, mut visit| regex_words_and_numbers(text, &mut visit))
            );
        }
    }

    #[test]
    fn the_ascii_scanner_agrees_with_the_regex_on_joiners() {
        for text in [
            "aren't", "a''b", "'a'", "1,000.50", "1..2", "3-", "x!?!y", "!", "?!", "12:30pm",
        ] {
            assert_eq!(
                collect(text, |text, mut visit| ascii_words_and_numbers(
                    text, &mut visit
                )),
                collect(text, |text, mut visit| regex_words_and_numbers(
                    text, &mut visit
                )),
                "{text}"
            );
        }
    }

    #[test]
    fn other_scripts_are_words() {
        let tokens = kinds_and_texts("Это отличная статья");
        assert_eq!(tokens.len(), 3);
        assert!(tokens.iter().all(|(kind, _)| *kind == TokenKind::Word));
    }

    fn link_domains(raw: &str) -> Vec<String> {
        kinds_and_texts(raw)
            .into_iter()
            .filter(|(kind, _)| *kind == TokenKind::LinkDomain)
            .map(|(_, text)| text)
            .collect()
    }

    #[test]
    fn an_email_address_is_no_link() {
        assert!(link_domains("Email me at jane.doe@gmail.com or call").is_empty());
        assert!(link_domains("write to john.me@mail.example.com").is_empty());
        let words: Vec<String> = kinds_and_texts("jane.doe@gmail.com")
            .into_iter()
            .map(|(_, text)| text)
            .collect();
        assert_eq!(words, ["jane", "doe", "gmail", "com"]);
        // A link with a user part is still a link, to its host; so is a
        // link after a stray `@`, or a domain with an `@` after it.
        assert_eq!(
            link_domains("https://news.example@shop.example/x"),
            ["shop.example"]
        );
        assert_eq!(
            link_domains("x @https://a1.example/p and @pillshop.top"),
            ["a1.example", "pillshop.top"]
        );
        assert_eq!(
            link_domains("cheap pills pillshop.top@ best price"),
            ["pillshop.top"]
        );
    }

    #[test]
    fn a_call_in_code_is_no_link() {
        assert_eq!(
            link_domains(
                "In Python use logger.info or df.info() rather than print; button.click() too"
            ),
            ["logger.info"]
        );
        assert_eq!(
            link_domains("Buy now: pillshop.top(official) cheapmeds.xyz(fast)"),
            ["pillshop.top", "cheapmeds.xyz"]
        );
        // A link written out stays one whatever follows it.
        let written_out = link_domains("see www.pills.info(cheap) and https://pills.top(x)");
        assert_eq!(written_out.len(), 2, "{written_out:?}");
        assert!(written_out
            .iter()
            .all(|domain| domain.starts_with("pills.")));
    }

    #[test]
    fn hosts_end_where_a_browser_ends_them() {
        assert_eq!(
            link_domains("https://spamshop.ru\\@news.example.com/a"),
            ["spamshop.ru"]
        );
        assert_eq!(
            link_domains("https://spamshop.ru\\.news.example.com"),
            ["spamshop.ru"]
        );
        assert_eq!(
            link_domains("http://[2001:db8::1]:8080/offer"),
            ["[2001:db8::1]"]
        );
        assert_eq!(link_domains("访问pillshop.top谢谢"), ["pillshop.top"]);
    }
}
