//! Turns raw comment text into the canonical form that tokens are cut from.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Reads HTML markup as a browser shows it, decodes HTML entities (`&amp;`,
/// `&#39;`, and numeric ones without their `;`, as browsers do), puts text
/// under a right-to-left override in the order a reader sees it, puts back
/// the space a sentence break lacks before a capitalised domain ending
/// ("twice.Me", "in 2019.Me"), applies Unicode NFKC and makes "font"
/// letters plain (so
/// that fullwidth and stylised letters become plain ones), sets apart the
/// symbols NFKC spells as words (`™` is "tm", not the end of the word
/// before it) and ASCII letters and digits written against Chinese or
/// Japanese text (which puts no spaces between words), drops invisible
/// characters, writes a curly apostrophe between letters as `'` ("don’t")
/// and folds case.
///
/// Commenters and the forms they use write the same word in many encodings;
/// the model should see one spelling of each word.
pub fn normalize(raw: &str) -> String {
    normalized(raw, true)
}

/// [`normalize`] without putting back the space a sentence break lacks:
/// what a name written in the text is looked up in, since a domain name
/// ignores case (`pillshop.Top` is `pillshop.top`), whatever a reader
/// would make of it.
pub fn normalize_keeping_full_stops(raw: &str) -> String {
    normalized(raw, false)
}

/// The text a reader is shown of `raw`, but for its invisible characters
/// (which [`is_invisible`] tells apart, for a caller to skip): its markup
/// read as a browser shows it, its references decoded, text under a
/// right-to-left override in the order it is shown; letters keep their
/// case and form. What whole-comment signals (length, capitals) measure,
/// so that two comments shown alike measure alike (`vi&#x200b;agra` is
/// `viagra`, and hidden markup adds no length).
pub fn visible(raw: &str) -> std::borrow::Cow<'_, str> {
    // Most comments have no markup, no reference and no override, and are
    // shown as written: a vectorised search or two tells.
    let shown_as_written = memchr::memchr2(b'<', b'&', raw.as_bytes()).is_none()
        && !raw.contains(RIGHT_TO_LEFT_OVERRIDE);
    if shown_as_written {
        return std::borrow::Cow::Borrowed(raw);
    }
    let without = without_markup(raw);
    let decoded = decode_references(&without);
    with_overrides_applied(&decoded).into_owned().into()
}

/// Whether [`normalize`] and [`normalize_keeping_full_stops`] may differ
/// on `raw`: only when it has a full stop before a capital letter, or
/// markup or entities that could make one. A cheap test, so that most
/// comments are normalised once.
pub fn may_have_sentence_breaks(raw: &str) -> bool {
    let bytes = raw.as_bytes();
    // Text under an override is reversed first: its full stops and
    // capitals are not where they were written.
    memchr::memchr2(b'<', b'&', bytes).is_some()
        || raw.contains(RIGHT_TO_LEFT_OVERRIDE)
        || memchr::memchr_iter(b'.', bytes)
            .any(|dot| bytes.get(dot + 1).is_some_and(u8::is_ascii_uppercase))
}

fn normalized(raw: &str, sentence_breaks: bool) -> String {
    // What a reader is shown; its invisible characters go below.
    let decoded = visible(raw);
    let decoded = if sentence_breaks {
        with_sentence_breaks(&decoded)
    } else {
        std::borrow::Cow::Borrowed(decoded.as_ref())
    };
    let decoded = with_plain_apostrophes(&decoded);
    // ASCII text is its own NFKC form and has no zero-width characters:
    // most comments take this shortcut.
    if decoded.is_ascii() {
        return decoded.to_ascii_lowercase();
    }
    let mut folded = String::with_capacity(decoded.len());
    // Whether the last character kept was of a script written without
    // spaces, or an ASCII letter or digit: a change between the two is a
    // word's edge.
    let mut after_spaceless = false;
    let mut after_ascii_word = false;
    let apart = with_symbol_words_apart(&decoded);
    let mut characters = apart.nfkc().peekable();
    while let Some(character) = characters.next() {
        // Most characters of most comments are ASCII even here.
        if character.is_ascii() {
            let word = character.is_ascii_alphanumeric();
            if word && after_spaceless {
                folded.push(' ');
            }
            folded.push(character.to_ascii_lowercase());
            (after_spaceless, after_ascii_word) = (false, word);
            continue;
        }
        // Invisible characters are used to split words for a filter; a
        // person reading the comment never sees them.
        if is_invisible(character) {
            continue;
        }
        // An ideographic full stop between ASCII letters or digits stands
        // for a dot ("pillshop。top"): the name goes on through it.
        let dot_in_a_name = character == IDEOGRAPHIC_FULL_STOP
            && after_ascii_word
            && characters
                .peek()
                .is_some_and(|next| next.is_ascii_alphanumeric());
        let spaceless = is_spaceless_script(character) && !dot_in_a_name;
        if spaceless && after_ascii_word {
            folded.push(' ');
        }
        (after_spaceless, after_ascii_word) = (spaceless, false);
        match font_letter(character) {
            Some(letter) => {
                after_ascii_word = true;
                folded.push(letter)
            }
            None => folded.extend(character.to_lowercase()),
        }
    }
    folded
}

/// Characters written for an apostrophe: the right and left single
/// quotation marks (the first is what smart punctuation types, the second a
/// common slip), the modifier letter apostrophe, and the acute accent and
/// backtick that keyboards without an apostrophe key near at hand give
/// ("don´t", "it`s"; NFKC would make the acute a space and a mark).
const APOSTROPHE_LOOK_ALIKES: [char; 5] = ['\u{2019}', '\u{2018}', '\u{2BC}', '\u{B4}', '`'];

/// `text` with each of [`APOSTROPHE_LOOK_ALIKES`] that stands between two
/// letters written as `'`, so that "don’t" reads as "don't": one word, not
/// "don" and "t". One that quotes ("the ‘word’") stays.
fn with_plain_apostrophes(text: &str) -> std::borrow::Cow<'_, str> {
    // Most texts have none: the backtick is the only one in ASCII.
    let may_have = if text.is_ascii() {
        memchr::memchr(b'`', text.as_bytes()).is_some()
    } else {
        text.contains(APOSTROPHE_LOOK_ALIKES)
    };
    if !may_have {
        return std::borrow::Cow::Borrowed(text);
    }
    // Invisible characters and marks go later (a reader sees neither): the
    // letters around an apostrophe are looked for past them.
    let characters: Vec<char> = text.chars().collect();
    let seen = |character: &&char| !(is_invisible(**character) || is_combining_mark(**character));
    let mut plain = String::with_capacity(text.len());
    for (index, character) in characters.iter().enumerate() {
        let between_letters = APOSTROPHE_LOOK_ALIKES.contains(character)
            && characters[..index]
                .iter()
                .rev()
                .find(seen)
                .is_some_and(|before| before.is_alphabetic())
            && characters[index + 1..]
                .iter()
                .find(seen)
                .is_some_and(|after| after.is_alphabetic());
        plain.push(if between_letters { '\'' } else { *character });
    }
    std::borrow::Cow::Owned(plain)
}

/// An HTML character reference: numeric (decimal or hexadecimal, its `;`
/// optional, as browsers read it) or named (with its `;`).
static REFERENCE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"&(?:#[xX]([0-9a-fA-F]+);?|#([0-9]+);?|[a-zA-Z][a-zA-Z0-9]*;)")
        .expect("the reference pattern is valid")
});

/// The characters a browser shows of raw comment text, in the order they
/// are written: markup gone (inline tags join the text around them),
/// references decoded (`&#1077` without its `;` too, as browsers read
/// it), but invisible characters and direction overrides kept. What
/// `obfuscated_text` looks at: a disguise written as a reference, or split
/// by an empty tag, shows as the same disguise.
pub fn shown_characters(raw: &str) -> std::borrow::Cow<'_, str> {
    match without_markup(raw) {
        std::borrow::Cow::Borrowed(raw) => decode_references(raw),
        std::borrow::Cow::Owned(text) => {
            std::borrow::Cow::Owned(decode_references(&text).into_owned())
        }
    }
}

/// `raw` with its character references decoded, in one pass, so that a
/// reference a decoding makes (`&#38;amp;` is shown as "&amp;") is not
/// decoded again. A number that is no character reads as U+FFFD, as in a
/// browser.
fn decode_references(raw: &str) -> std::borrow::Cow<'_, str> {
    // A vectorised search skips a whole comment without `&` (most of
    // them) far faster than either decoder would. Numeric references are
    // rare; without one, html_escape's decoder (named references only
    // then, each with its `;`) is far faster than a search for captures.
    if memchr::memchr(b'&', raw.as_bytes()).is_none() {
        return std::borrow::Cow::Borrowed(raw);
    }
    if memchr::memmem::find(raw.as_bytes(), b"&#").is_none() {
        return html_escape::decode_html_entities(raw);
    }
    REFERENCE.replace_all(raw, |found: &regex::Captures<'_>| {
        let number = match (found.get(1), found.get(2)) {
            (Some(hexadecimal), _) => Some(u32::from_str_radix(hexadecimal.as_str(), 16)),
            (None, Some(decimal)) => Some(decimal.as_str().parse::<u32>()),
            (None, None) => None,
        };
        match number {
            Some(number) => number
                .ok()
                .filter(|number| *number != 0)
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}')
                .to_string(),
            None => html_escape::decode_html_entities(&found[0]).into_owned(),
        }
    })
}

/// The full stop of Chinese and Japanese (and, after NFKC, its halfwidth
/// form).
const IDEOGRAPHIC_FULL_STOP: char = '\u{3002}';

/// The right-to-left override: the characters after it, up to the pop
/// (U+202C) or the end of the line, are shown in reverse order, so
/// "\u{202E}argaiv\u{202C}" reads "viagra".
const RIGHT_TO_LEFT_OVERRIDE: char = '\u{202E}';
const POP_DIRECTIONAL_FORMATTING: char = '\u{202C}';

/// `text` with each run under a right-to-left override in the order a
/// reader sees it (the controls themselves are dropped later, with the
/// other invisible characters).
fn with_overrides_applied(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains(RIGHT_TO_LEFT_OVERRIDE) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len());
    let mut overridden: Vec<char> = Vec::new();
    let mut overriding = false;
    for character in text.chars() {
        match character {
            RIGHT_TO_LEFT_OVERRIDE => overriding = true,
            POP_DIRECTIONAL_FORMATTING | '\n' | '\r' | '\u{2029}' if overriding => {
                shown.extend(overridden.drain(..).rev());
                overriding = false;
                if character != POP_DIRECTIONAL_FORMATTING {
                    shown.push(character);
                }
            }
            _ if overriding => overridden.push(character),
            _ => shown.push(character),
        }
    }
    shown.extend(overridden.drain(..).rev());
    std::borrow::Cow::Owned(shown)
}

/// Whether NFKC spells `character` as a word of its own: letterlike
/// symbols and squared words that it spells with several letters (`™`,
/// `℠`, `№`, `℡`, `㏂`), and superscript or subscript letters
/// (`ᵀᴹ`). Written against a word ("Viagra™"), their letters would join
/// it. Letterlike symbols that stand for one letter (`ℭ`, `ℊ`, which text
/// generators' "fonts" use) stay parts of their words, and so does a word
/// written wholly in superscript letters.
fn is_symbol_word(character: char) -> bool {
    let spelled_with_letters = || {
        let mut characters = 0;
        unicode_normalization::char::decompose_compatible(character, |_| characters += 1);
        characters >= 2
    };
    match character {
        '\u{2100}'..='\u{214F}'
        | '\u{3300}'..='\u{33FF}'
        | '\u{1F12F}'..='\u{1F14F}'
        | '\u{1F18A}'..='\u{1F1AD}' => spelled_with_letters(),
        '\u{02B0}'..='\u{02B8}'
        | '\u{02E0}'..='\u{02E4}'
        | '\u{1D2C}'..='\u{1D6A}'
        | '\u{2070}'..='\u{209F}' => !character.is_numeric(),
        _ => false,
    }
}

/// `text` with a space on each side of every run of [`is_symbol_word`]
/// characters; borrowed when it has none.
fn with_symbol_words_apart(text: &str) -> std::borrow::Cow<'_, str> {
    // Most characters even of a text beyond ASCII are ASCII, and none of
    // those is a symbol word.
    if !text
        .chars()
        .any(|character| !character.is_ascii() && is_symbol_word(character))
    {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut apart = String::with_capacity(text.len() + 8);
    let mut in_symbols = false;
    for character in text.chars() {
        let symbol = is_symbol_word(character);
        let at_edge = symbol != in_symbols
            && !character.is_whitespace()
            && apart
                .chars()
                .next_back()
                .is_some_and(|last| !last.is_whitespace());
        if at_edge {
            apart.push(' ');
        }
        in_symbols = symbol;
        apart.push(character);
    }
    apart.into()
}

/// Whether `character` belongs to a script written without spaces between
/// words (Chinese, Japanese, Thai, Lao, Khmer, Burmese) or is their
/// punctuation (`。`, `、`): a link or an ASCII word written against it
/// ends there.
fn is_spaceless_script(character: char) -> bool {
    matches!(
        character,
        '\u{0E00}'..='\u{0EFF}'
            | '\u{1000}'..='\u{109F}'
            | '\u{1780}'..='\u{17FF}'
            | '\u{3000}'..='\u{303F}'
            | '\u{3040}'..='\u{30FF}'
            | '\u{31F0}'..='\u{31FF}'
            | '\u{3400}'..='\u{4DBF}'
            | '\u{4E00}'..='\u{9FFF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{FF61}'..='\u{FF9F}'
            | '\u{20000}'..='\u{2FA1F}'
    )
}

/// An HTML tag or comment, as sites that allow some markup in comments
/// receive it: the tag's name and its attributes, each a name with or
/// without `=value`. Like a browser, it takes any name for a tag: "via<x>gra"
/// shows "viagra", and so does "a<b and c>d" show "ad".
static MARKUP: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r#"(?is)<!--.*?(?:-->|\z)|</?([a-z][a-z0-9-]*)((?:\s+[a-z_:][a-z0-9_:-]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?)*)\s*/?\s*>"#,
    )
    .expect("the markup pattern is valid")
});

/// One attribute of a tag that [`MARKUP`] matched: its name and its value,
/// if any. Taken one after the other, so that `href=` inside another
/// attribute's value (`title="x href=y"`) or another name
/// (`data-href=`) is never read as the link's address.
static ATTRIBUTE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r#"(?i)\s+([a-z_:][a-z0-9_:-]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?"#,
    )
    .expect("the attribute pattern is valid")
});

/// The address a link's attributes lead to: the value of the first
/// attribute named exactly `href`, as a browser takes it.
fn link_address(attributes: &str) -> Option<&str> {
    ATTRIBUTE
        .captures_iter(attributes)
        .find(|attribute| attribute[1].eq_ignore_ascii_case("href"))
        .and_then(|href| href.get(2).or(href.get(3)).or(href.get(4)))
        .map(|address| address.as_str())
}

/// `raw` without the HTML tags and comments a browser would render as
/// nothing, so that `via<b></b>gra` reads "viagra" and `<br />` is no word:
/// a tag that breaks a line or a block becomes a line break, a link becomes the
/// address it leads to (which the tokenizer reads as a link), and the
/// others go. Entities are decoded afterwards, so text a site escaped
/// (`&lt;b&gt;`, shown as written) stays.
fn without_markup(raw: &str) -> std::borrow::Cow<'_, str> {
    if memchr::memchr(b'<', raw.as_bytes()).is_none() {
        return std::borrow::Cow::Borrowed(raw);
    }
    MARKUP.replace_all(raw, |found: &regex::Captures<'_>| {
        let name = found
            .get(1)
            .map_or("", |name| name.as_str())
            .to_ascii_lowercase();
        match name.as_str() {
            "a" => found
                .get(2)
                .and_then(|attributes| link_address(attributes.as_str()))
                .map_or_else(String::new, |address| format!(" {address} ")),
            // Tags that break a line or a block: a line break, so that a
            // paragraph that quotes (`<p>&gt; ...</p>`) is a quoted line of
            // its own, not the start of one line that holds the whole
            // comment (see `text::without_quotes`).
            "br" | "p" | "div" | "li" | "ul" | "ol" | "pre" | "hr" | "h1" | "h2" | "h3" | "h4"
            | "h5" | "h6" | "table" | "tr" | "td" | "th" | "img" | "center" | "section"
            | "article" | "header" | "footer" | "nav" | "aside" | "dl" | "dt" | "dd" | "figure"
            | "figcaption" | "address" | "details" | "summary" | "main" => "\n".to_string(),
            // Quotes stay marked, for `text::without_quotes`.
            "blockquote" => found
                .get(0)
                .map_or_else(String::new, |whole| whole.as_str().to_string()),
            // Comments, inline tags that only change how letters look, and
            // names HTML does not have, which a browser shows as inline
            // elements: their text joins the text around them.
            _ => String::new(),
        }
    })
}

/// `text` with a space put back where a sentence ends with a full stop and
/// the next one starts with no space, with a capitalised word that is also
/// a top-level domain: "I read it twice.Me and my wife agree.Us voters
/// deserve better." is not a comment with links to `twice.me` and
/// `agree.us`. Leaving out that space is common when typing on a phone. A
/// link's ending is written in lower case (or all in capitals); a
/// capitalised word after a letter or digit and a full stop starts a
/// sentence.
fn with_sentence_breaks(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut breaks = memchr::memchr_iter(b'.', bytes)
        .filter(|dot| is_sentence_break(bytes, *dot))
        .peekable();
    if breaks.peek().is_none() {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut spaced = String::with_capacity(text.len() + 4);
    let mut copied = 0;
    for dot in breaks {
        spaced.push_str(&text[copied..=dot]);
        spaced.push(' ');
        copied = dot + 1;
    }
    spaced.push_str(&text[copied..]);
    std::borrow::Cow::Owned(spaced)
}

/// Whether the full stop at `dot` ends a sentence (see
/// [`with_sentence_breaks`]): a letter or digit before it, and after it a
/// capitalised word (an upper-case letter, then lower-case ones), no path,
/// and either that word is a bare link's top-level domain (any after a
/// lower-case letter, "twice.Me", "bad.Top"; one of
/// [`SENTENCE_WORD_ENDINGS`] after a digit or a capital, "in 2019.Me") or
/// the name before the full stop already ends with a domain ending ("visit
/// pillshop.top.Great prices"). Never inside a link
/// written with a scheme or `www.`, whose full stops are its own. An ending
/// all in capitals stays a link's ("the deal.US officials" reads as a link
/// to `deal.us`): a spammer could otherwise write any link's ending so to
/// hide it.
fn is_sentence_break(bytes: &[u8], dot: usize) -> bool {
    // The rarest condition first: most full stops are followed by a space.
    let capital_next = bytes.get(dot + 1).is_some_and(u8::is_ascii_uppercase);
    if !capital_next || dot == 0 || !bytes[dot - 1].is_ascii_alphanumeric() {
        return false;
    }
    // The name the full stop ends, back to the last white space, or its
    // last MAX_NAME_SCAN bytes (a domain name is at most 253 bytes long):
    // so that a text of full stops and capitals costs one pass, not one
    // pass per full stop.
    let window_start = dot.saturating_sub(MAX_NAME_SCAN);
    let Some(name_start) = bytes[window_start..dot]
        .iter()
        .rposition(u8::is_ascii_whitespace)
        .map(|space| window_start + space + 1)
        .or((window_start == 0).then_some(0))
    else {
        // A name longer than any domain: a link's path, whose full stops
        // are its own.
        return false;
    };
    let name = &bytes[name_start..dot];
    let link_written_out = memchr::memmem::find(name, b"://").is_some()
        || name
            .get(..4)
            .is_some_and(|start| start.eq_ignore_ascii_case(b"www."));
    if link_written_out {
        return false;
    }
    let is_domain_ending = |word: &[u8]| {
        super::tokenize::BARE_LINK_DOMAINS
            .iter()
            .any(|domain| domain.as_bytes().eq_ignore_ascii_case(word))
    };
    let name_ends_with_domain = name
        .iter()
        .rposition(|byte| *byte == b'.')
        .is_some_and(|last_dot| is_domain_ending(&name[last_dot + 1..]));
    let after = &bytes[dot + 1..];
    let word_length = after
        .iter()
        .take_while(|byte| byte.is_ascii_alphabetic())
        .count();
    let word = &after[..word_length];
    let capitalised = word.first().is_some_and(u8::is_ascii_uppercase)
        && word[1..].iter().all(u8::is_ascii_lowercase);
    let ends_there = after
        .get(word_length)
        .is_none_or(|next| !(next.is_ascii_digit() || matches!(next, b'/' | b'-' | b'_')));
    // After a lower-case letter any capitalised ending starts a sentence
    // ("It was bad.Top marks", "Ok.Click the link"): a reader who left out
    // a space must not be taken for a link, which the model weighs heavily.
    // After a digit or a capital ("in 2019.Me", "the UK.Me") only a word
    // that begins sentences does, so that "pills24.Com" and "PILLS.Com"
    // stay links.
    let after_lower_case = bytes[dot - 1].is_ascii_lowercase();
    let starts_a_sentence = after_lower_case
        || SENTENCE_WORD_ENDINGS
            .iter()
            .any(|ending| ending.as_bytes().eq_ignore_ascii_case(word));
    capitalised
        && ends_there
        && ((is_domain_ending(word) && starts_a_sentence) || name_ends_with_domain)
}

/// The top-level domains of [`crate::text::tokenize`]'s bare links that are
/// also words a sentence begins with ("Me", "Us", "Be", Spanish or French
/// "De", Italian "Io"): after a digit or a capital and a full stop typed
/// without its space, they start a sentence; other endings stay links
/// there ("pills24.Com").
const SENTENCE_WORD_ENDINGS: [&str; 5] = ["me", "us", "be", "de", "io"];

/// How far back [`is_sentence_break`] looks for the start of a name.
const MAX_NAME_SCAN: usize = 256;

/// The plain lower-case letter that a "font" letter from a text generator
/// stands for, where Unicode's compatibility mappings (NFKC) give none:
/// small capitals (`ᴄʜᴇᴄᴋ`) and negative circled or squared capitals
/// (`🅒🅗🅔🅒🅚`, `🅲🅷🅴🅲🅺`). A reader reads them as the plain word, so the
/// model and the rules must too; NFKC already maps fullwidth, circled,
/// parenthesised, mathematical and squared letters.
pub fn font_letter(character: char) -> Option<char> {
    let from_alphabet =
        |first: char| char::from_u32(u32::from('a') + (u32::from(character) - u32::from(first)));
    match character {
        // Negative circled and negative squared Latin capitals, A to Z.
        '\u{1F150}'..='\u{1F169}' => from_alphabet('\u{1F150}'),
        '\u{1F170}'..='\u{1F189}' => from_alphabet('\u{1F170}'),
        _ => small_capital(character),
    }
}

/// The letter a small capital stands for: the alphabet text generators
/// offer as a "font" (`ᴠɪᴀɢʀᴀ`). Unicode's confusables leave most of these
/// letters out, since a small capital is not drawn like a lower-case one.
fn small_capital(character: char) -> Option<char> {
    Some(match character {
        '\u{1D00}' => 'a',
        '\u{0299}' => 'b',
        '\u{1D04}' => 'c',
        '\u{1D05}' => 'd',
        '\u{1D07}' => 'e',
        '\u{A730}' => 'f',
        '\u{0262}' => 'g',
        '\u{029C}' => 'h',
        '\u{026A}' => 'i',
        '\u{1D0A}' => 'j',
        '\u{1D0B}' => 'k',
        '\u{029F}' => 'l',
        '\u{1D0D}' => 'm',
        '\u{0274}' => 'n',
        '\u{1D0F}' => 'o',
        '\u{1D18}' => 'p',
        '\u{0280}' => 'r',
        '\u{A731}' => 's',
        '\u{1D1B}' => 't',
        '\u{1D1C}' => 'u',
        '\u{1D20}' => 'v',
        '\u{1D21}' => 'w',
        '\u{028F}' => 'y',
        '\u{1D22}' => 'z',
        _ => return None,
    })
}

/// Whether a character renders as nothing: Unicode's default-ignorable
/// code points (the `Default_Ignorable_Code_Point` property: the soft
/// hyphen, zero-width spaces and joiners, direction marks, variation
/// selectors, fillers, tags). Spammers put them inside words ("fr\u{AD}ee")
/// so that a filter sees two words where a reader sees one.
pub fn is_invisible(character: char) -> bool {
    matches!(
        character,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn decodes_entities_and_folds_case() {
        assert_eq!(
            normalize("Fun&amp;Hacks I&#39;m HERE"),
            "fun&hacks i'm here"
        );
    }

    #[test]
    fn fullwidth_letters_become_ascii() {
        assert_eq!(normalize("ＦＲＥＥ money"), "free money");
    }

    #[test]
    fn zero_width_characters_are_removed() {
        assert_eq!(normalize("fr\u{200B}ee\u{FEFF}"), "free");
    }

    #[test]
    fn every_invisible_character_is_removed() {
        // A soft hyphen (also as an entity), direction marks, a variation
        // selector, a combining grapheme joiner, a tag character.
        for hidden in [
            "fr\u{00AD}ee",
            "fr&shy;ee",
            "fr\u{200E}ee",
            "fr\u{202B}ee\u{202C}",
            "fr\u{FE0F}ee",
            "fr\u{034F}ee",
            "fr\u{E0041}ee",
        ] {
            assert_eq!(normalize(hidden), "free", "{hidden:?}");
        }
    }

    #[test]
    fn non_latin_text_is_kept() {
        assert_eq!(normalize("Привет МИР"), "привет мир");
    }

    /// What a browser renders of a comment's markup is what is read.
    #[test]
    fn markup_reads_as_a_browser_shows_it() {
        for (raw, read) in [
            ("get via<b></b>gra now", "get viagra now"),
            (
                "get via<!-- x -->gra and v<B>iagra</b>",
                "get viagra and viagra",
            ),
            ("first line<br />second line", "first line\nsecond line"),
            (
                "see <a href=\"http://pillshop.top/x?a=1&amp;b=2\">my page</a>",
                "see  http://pillshop.top/x?a=1&b=2 my page",
            ),
            // Any name is a tag to a browser, with or without attributes
            // (valued or not); what cannot be a tag stays as written.
            ("if a<b and c>d then", "if ad then"),
            ("buy via<x></x>gra and via<kbd></kbd>gra", "buy viagra and viagra"),
            ("via<i title></i>gra via<span hidden>gra", "viagra viagra"),
            ("if a < b and c > d then", "if a < b and c > d then"),
            // A name with a dot is no attribute: a domain in angle
            // brackets stays text.
            ("nice post <visit pillshop.top for meds>", "nice post <visit pillshop.top for meds>"),
            ("I <3 you", "i <3 you"),
            // The link is where `href` leads, not a decoy named like it.
            (
                "<a data-href=\"https://news.example/\" title='x href=y' href=\"https://pillshop.top/buy\">more</a>",
                " https://pillshop.top/buy more",
            ),
            // An unclosed comment hides the rest, as in a browser.
            ("shown <!-- hidden <b>x</b>", "shown "),
            // Escaped by the site, shown as written.
            ("&lt;b&gt;bold&lt;/b&gt;", "<b>bold</b>"),
        ] {
            assert_eq!(normalize(raw), read, "{raw:?}");
        }
    }

    #[test]
    fn font_letters_become_plain_ones() {
        for font in [
            "\u{1D04}\u{029C}\u{1D07}\u{1D04}\u{1D0B} \u{1D0F}\u{1D1C}\u{1D1B}",
            "\u{1F152}\u{1F157}\u{1F154}\u{1F152}\u{1F15A} \u{1F15E}\u{1F164}\u{1F163}",
            "\u{1F172}\u{1F177}\u{1F174}\u{1F172}\u{1F17A} \u{1F17E}\u{1F184}\u{1F183}",
            "ⒸⒽⒺⒸⓀ ⓄⓊⓉ",
        ] {
            assert_eq!(normalize(font), "check out", "{font:?}");
        }
    }

    /// Where the cheap test says the two normalisations cannot differ,
    /// they do not.
    #[test]
    fn texts_without_a_capital_after_a_full_stop_normalise_alike() {
        use super::{may_have_sentence_breaks, normalize_keeping_full_stops};
        for text in ["see pillshop.top now", "Fine. Thanks.", "no dots", "a.b.c"] {
            assert!(!may_have_sentence_breaks(text), "{text}");
            assert_eq!(
                normalize(text),
                normalize_keeping_full_stops(text),
                "{text}"
            );
        }
        for text in ["twice.Me and", "x &amp; y", "a<b>"] {
            assert!(may_have_sentence_breaks(text), "{text}");
        }
        assert_ne!(
            normalize("twice.Me and"),
            normalize_keeping_full_stops("twice.Me and")
        );
    }

    /// A full stop with no space after it, before a capitalised word that
    /// is also a domain ending, ends a sentence; links keep their form.
    #[test]
    fn a_missing_space_after_a_full_stop_is_put_back_before_a_capitalised_word() {
        assert_eq!(
            normalize("I read it twice.Me and my wife agree.Us voters deserve better.Be honest."),
            "i read it twice. me and my wife agree. us voters deserve better. be honest."
        );
        assert_eq!(
            normalize("Gracias por el artículo.Me parece"),
            "gracias por el artículo. me parece"
        );
        // After a digit or a capital too, before a word that begins
        // sentences; after a lower-case letter, before any ending.
        for (written, read) in [
            (
                "It was bad.Top marks for trying",
                "it was bad. top marks for trying",
            ),
            (
                "It happened in 2019.Me and my family left.",
                "it happened in 2019. me and my family left.",
            ),
            ("We moved to the UK.Me and", "we moved to the uk. me and"),
            ("version 2.De", "version 2. de"),
        ] {
            assert_eq!(normalize(written), read, "{written:?}");
        }
        // A full stop after a name that already ends like a domain ends a
        // sentence too.
        assert_eq!(
            normalize("visit pillshop.top.Great prices"),
            "visit pillshop.top. great prices"
        );
        for kept in [
            "see http://pillshop.Top now",
            "see https://news.example/a.Me",
            "see www.pillshop.Top",
            "see pillshop.top now",
            "see about.me/anna",
            "see Pillshop.com",
            "see pillshop.COM",
            "SEE PILLSHOP.US NOW",
            "see pillshop.us now",
            "the deal.US officials",
            "Visit pills24.Com, PILLS.Net and FAST.Info now",
            "ok.Menu",
        ] {
            assert_eq!(normalize(kept), kept.to_lowercase(), "{kept:?}");
        }
    }

    /// "don’t" typed on a phone reads as "don't": the same word, not
    /// "don" and "t"; a curly quote that quotes stays one.
    #[test]
    fn a_curly_apostrophe_between_letters_is_an_apostrophe() {
        for (written, read) in [
            (
                "I can’t believe they’re here",
                "i can't believe they're here",
            ),
            ("I can&rsquo;t", "i can't"),
            ("Don‘t", "don't"),
            ("the ‘quoted’ word", "the ‘quoted’ word"),
            ("We’ re", "we’ re"),
            (
                "I don´t think so, it`s wrong",
                "i don't think so, it's wrong",
            ),
            ("the `code` here", "the `code` here"),
            // Past what a reader does not see: an invisible character, a
            // mark written apart from its letter.
            ("I don\u{200b}’t", "i don't"),
            ("cafe\u{301}’s", "café's"),
        ] {
            assert_eq!(normalize(written), read, "{written:?}");
        }
        assert_eq!(
            crate::text::tokenize(&normalize("don’t stop")),
            crate::text::tokenize(&normalize("don't stop"))
        );
    }

    #[test]
    fn the_visible_text_keeps_case_and_drops_what_is_not_shown() {
        use super::{is_invisible, visible};
        assert!(matches!(
            visible("Plain TEXT"),
            std::borrow::Cow::Borrowed(_)
        ));
        for (raw, shown) in [
            ("buy VI&#x200b;AGRA", "buy VIAGRA"),
            ("buy Via&ZeroWidthSpace;gra", "buy Viagra"),
            ("Hi<!-- a long hidden comment -->!", "Hi!"),
            ("\u{202E}ARGAIV\u{202C} now", "VIAGRA now"),
        ] {
            let seen: String = visible(raw).chars().filter(|c| !is_invisible(*c)).collect();
            assert_eq!(seen, shown, "{raw:?}");
        }
    }

    #[test]
    fn numeric_references_decode_with_or_without_their_semicolon_once() {
        for (raw, read) in [
            ("buy v&#105agra now", "buy viagra now"),
            ("buy v&#x69;agra", "buy viagra"),
            ("fish &amp; chips", "fish & chips"),
            // A reference a decoding makes is shown, not decoded again.
            ("&#38;amp; and &amp;#105;", "&amp; and &#105;"),
            ("no &#0; or &#99999999999;", "no \u{FFFD} or \u{FFFD}"),
        ] {
            assert_eq!(normalize(raw), read, "{raw:?}");
        }
    }

    #[test]
    fn text_under_a_right_to_left_override_reads_as_shown() {
        for (raw, read) in [
            ("buy \u{202E}argaiv\u{202C} now", "buy viagra now"),
            ("at \u{202E}pot.pohsllip today", "at yadot pillshop.top"),
            ("one \u{202E}owt\nthree", "one two\nthree"),
        ] {
            assert_eq!(normalize(raw), read, "{raw:?}");
        }
    }

    #[test]
    fn symbols_spelled_as_words_stand_apart() {
        for (raw, read) in [
            ("Buy Viagra™ now", "buy viagra tm now"),
            ("viagra℠ deals", "viagra sm deals"),
            ("buy viagraᵀᴹ", "buy viagra tm"),
            ("call℡555", "call tel 555"),
            ("tiny ᵛⁱᵃᵍʳᵃ", "tiny viagra"),
        ] {
            assert_eq!(normalize(raw), read, "{raw:?}");
        }
        // Ligatures, circled letters and letterlike "font" letters are
        // parts of their words.
        assert_eq!(normalize("ﬁnance ⓥⓘⓐⓖⓡⓐ ℭheck"), "finance viagra check");
    }

    #[test]
    fn ascii_written_against_chinese_or_japanese_stands_apart() {
        assert_eq!(normalize("访问pillshop.top谢谢"), "访问 pillshop.top 谢谢");
        // An ideographic full stop inside a name stands for a dot.
        assert_eq!(
            normalize("visit pillshop。top now"),
            "visit pillshop。top now"
        );
        assert_eq!(
            normalize("visit pillshop｡top now"),
            "visit pillshop。top now"
        );
        assert_eq!(
            normalize("便宜的药https://pillshop.top。谢谢"),
            "便宜的药 https://pillshop.top 。谢谢"
        );
        assert_eq!(normalize("iPhoneを買った"), "iphone を買った");
        // Other scripts keep their words whole.
        assert_eq!(normalize("Москвa"), "москвa");
    }

    /// A text of full stops before capitals is read in one pass: each
    /// full stop looks back a bounded distance for its name.
    #[test]
    fn full_stops_before_capitals_in_a_long_name_are_read_in_bounded_steps() {
        let text = "x.M".repeat(21_800);
        let normalized = normalize(&text);
        assert_eq!(normalized, text.to_lowercase());
        // A sentence in Italian or Portuguese after a missing space is no
        // link; a long link's path keeps its full stops.
        assert_eq!(
            normalize("Ho visto il film.Io penso. Gostei muito.Com certeza"),
            "ho visto il film. io penso. gostei muito. com certeza"
        );
        let long_link = format!("https://news.example/{}/index.Top", "a".repeat(300));
        assert_eq!(normalize(&long_link), long_link.to_lowercase());
    }
}
