//! Finds a comment's own words: what is left once the passages it quotes
//! from other comments or articles are taken out. A reply that quotes a
//! comment before answering it ("> ...", then "Exactly this.") repeats that
//! comment's text without copying it, and the duplicate rule must not take
//! it for a copy.

use std::borrow::Cow;

/// The tag that opens a quoted passage in HTML, as normalised text (lower
/// case) writes it.
const OPENING_TAG: &str = "<blockquote";

/// The tag that closes a quoted passage in HTML.
const CLOSING_TAG: &str = "</blockquote>";

/// `normalized` without its quoted passages: `<blockquote>` elements (with
/// any attributes, nested ones included) and lines whose first visible
/// character is `>` (the quoting of e-mail and Markdown). The text is
/// expected to be normalised (see [`crate::text::normalize`]), so that tags
/// are in lower case and `&gt;` is already a `>`.
///
/// Gives the text itself, borrowed, exactly when it quotes nothing, so that
/// callers can tell whether anything was taken out without comparing texts.
/// An unclosed `<blockquote>` quotes the rest of the text, as a browser
/// shows it. The work is linear in the length of the text.
pub fn without_quotes(normalized: &str) -> Cow<'_, str> {
    // Both kinds of quoting need a `>`, and most comments have none.
    if !normalized.contains('>') {
        return Cow::Borrowed(normalized);
    }
    let outside_blockquotes = without_blockquotes(normalized);
    match without_quoted_lines(&outside_blockquotes) {
        Some(own) => Cow::Owned(own),
        None => outside_blockquotes,
    }
}

/// The text outside its `<blockquote>` elements; borrowed when it has none.
fn without_blockquotes(text: &str) -> Cow<'_, str> {
    if !text.contains(OPENING_TAG) {
        return Cow::Borrowed(text);
    }
    let mut own = String::with_capacity(text.len());
    // How many quotes the scan is inside, so that a quote within a quote
    // does not end the outer one at its own closing tag.
    let mut depth = 0usize;
    // Where the text not yet copied (when outside quotes) begins.
    let mut copy_from = 0;
    // Where the next tag is looked for; every step moves it forward, so the
    // scan reads each character a bounded number of times.
    let mut search_from = 0;
    let mut removed = false;
    // The first `>` at or after the tag being read, found again only once
    // the scan has passed it: looking for it afresh at every `<blockquote`
    // would read the rest of the text each time (quadratic in a text of
    // unclosed tags).
    let mut next_close: Option<usize> = None;
    while let Some(found) = text[search_from..].find('<') {
        let tag = search_from + found;
        let rest = &text[tag..];
        if next_close.is_none_or(|close| close < tag) {
            match text[tag..].find('>') {
                Some(close) => next_close = Some(tag + close),
                // No `>` is left: no tag after this point can open or
                // close a quote.
                None => break,
            }
        }
        let close = next_close.unwrap_or(text.len());
        if let Some(length) = opening_tag_length(rest, close - tag) {
            if depth == 0 {
                own.push_str(&text[copy_from..tag]);
                // The words on either side of the quote stay apart.
                own.push(' ');
                removed = true;
            }
            depth += 1;
            search_from = tag + length;
        } else if depth > 0 && rest.starts_with(CLOSING_TAG) {
            depth -= 1;
            search_from = tag + CLOSING_TAG.len();
            if depth == 0 {
                copy_from = search_from;
            }
        } else {
            search_from = tag + 1;
        }
    }
    if !removed {
        return Cow::Borrowed(text);
    }
    // An unclosed quote runs to the end of the text: nothing is left to copy.
    if depth == 0 {
        own.push_str(&text[copy_from..]);
    }
    Cow::Owned(own)
}

/// The length of the `<blockquote ...>` tag that `text` starts with, if it
/// starts with one: the tag name must end there (`<blockquotes>` is another
/// tag) and a `>` must close it; `close` is where the first `>` of `text`
/// is.
fn opening_tag_length(text: &str, close: usize) -> Option<usize> {
    let after_name = text.strip_prefix(OPENING_TAG)?;
    let name_ends = after_name
        .chars()
        .next()
        .is_some_and(|next| next == '>' || next == '/' || next.is_ascii_whitespace());
    (name_ends && close >= OPENING_TAG.len()).then_some(close + 1)
}

/// The text without the lines that start with `>` (after any indentation);
/// `None` when no line does.
fn without_quoted_lines(text: &str) -> Option<String> {
    let quoted = |line: &&str| line.trim_start().starts_with('>');
    if !text.split(is_line_break).any(|line| quoted(&line)) {
        return None;
    }
    let mut own = String::with_capacity(text.len());
    for line in text.split(is_line_break).filter(|line| !quoted(line)) {
        own.push_str(line);
        own.push('\n');
    }
    Some(own)
}

/// Whether a character ends a line: a line feed, and the other breaks a
/// text may come with (a carriage return alone, Unicode's line and
/// paragraph separators, the next-line control), so that a quote cannot
/// hide on a line begun by one of them.
fn is_line_break(character: char) -> bool {
    matches!(character, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_without_quotes_is_borrowed_as_it_is() {
        for text in [
            "no quote at all",
            "a -> b, and x > y on one line",
            "<b>bold</b> but <blockquotes>not a quote</blockquotes>",
        ] {
            assert!(
                matches!(without_quotes(text), Cow::Borrowed(same) if same == text),
                "{text}"
            );
        }
    }

    #[test]
    fn quoted_lines_are_taken_out() {
        assert_eq!(
            without_quotes("> the quoted comment\n>> and its quote\n\nexactly this."),
            "\nexactly this.\n"
        );
        assert_eq!(
            without_quotes("my answer\n   > an indented quote\nmore of mine"),
            "my answer\nmore of mine\n"
        );
        for break_ in ["\r", "\r\n", "\u{85}", "\u{2028}", "\u{2029}"] {
            let text = format!("my answer{break_}> the quote");
            assert!(!without_quotes(&text).contains("quote"), "{text:?}");
        }
    }

    #[test]
    fn blockquotes_are_taken_out_nested_or_unclosed() {
        assert_eq!(
            without_quotes("<blockquote cite=\"x\">quoted</blockquote><p>mine</p>"),
            " <p>mine</p>"
        );
        assert_eq!(
            without_quotes(
                "a<blockquote>outer<blockquote>inner</blockquote>still quoted</blockquote>b"
            ),
            "a b"
        );
        assert_eq!(without_quotes("mine<blockquote>to the end"), "mine ");
    }

    #[test]
    fn a_text_that_is_all_quote_leaves_nothing_of_its_own() {
        let own = without_quotes("<blockquote>all of it</blockquote>");
        assert!(own.trim().is_empty(), "{own:?}");
    }

    #[test]
    fn unclosed_tags_leave_the_text_as_it_is() {
        // Tags that no `>` closes open nothing (and are read once each).
        let text = format!("a > b {}", "<blockquote ".repeat(5_000));
        assert!(matches!(without_quotes(&text), Cow::Borrowed(_)));
        // A tag runs to the first `>` after it, as a browser reads it: the
        // unclosed ones before a quote are its attributes.
        let text = format!(
            "{}<blockquote>quoted</blockquote> own",
            "<blockquote ".repeat(100)
        );
        assert_eq!(without_quotes(&text).trim(), "own");
    }
}
