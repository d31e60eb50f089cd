//! Look-alike folding for term matching: the words of a normalised text
//! (see [`crate::text::normalize`]) with the tricks spammers use to slip a
//! word past a filter undone. Digits and symbols standing for letters
//! ("fr3e m0ney", "$ale", "c@sh") become those letters, letters of another
//! script hidden inside a Latin word ("frее" with Cyrillic `е`) become
//! their Latin twins and Latin letters hidden inside a Cyrillic word
//! ("кaзино" with Latin `a`) their Cyrillic ones, combining marks piled on
//! a Latin, Cyrillic or Greek letter ("vi\u{307}agra") are dropped,
//! repeated letters collapse ("freeee"), and words spelled out letter by
//! letter ("f r e e") are joined into one word, marked as spelled out so
//! that a term can be found anywhere inside it ("a v i a g r a n o w").
//!
//! Terms are folded the same way, so matching compares like with like.
//! Each word keeps how long each of its runs of one letter was, so that a
//! term matches a word whose runs are as long or stretched to three or
//! more: "freeee" matches "free", but "as" does not match "ass", nor
//! "looser" "loser". Digits stay digits in numbers and prices ("over-45s",
//! "A$5"), and the letters of a list ("A, S, S") are not spelled out. A few honest words still fold
//! together (`l` and `i`: "hell" and "heil"); that only matters for a
//! configured term, and it is the price of catching the variants. Words
//! written wholly in another script are left alone, so a Russian or Greek
//! comment never turns into Latin look-alikes.
//!
//! Some words have other readings besides their folded spelling, which
//! only terms are matched against (the similarity fingerprint reads the
//! folded spelling alone): a word with accented Latin letters reads
//! without them ("víagra" as "viagra"; `ñ` keeps its mark, a letter of its
//! own), and a word whose Latin and Cyrillic letters all have twins
//! in the other script ("xер" with Latin `x`) reads both ways, and a word
//! written with symbols also reads without those at its edges ("@viagra")
//! and as its parts when symbols stand between longer ones
//! ("casino|poker").

use std::ops::Range;

use unicode_normalization::char::is_combining_mark;
use unicode_script::{Script, UnicodeScript};
use unicode_security::MixedScript;

/// Symbols that stand in for letters inside a word.
const LETTER_SYMBOLS: [char; 4] = ['@', '$', '!', '|'];

/// Symbols that mask a letter left out: "f*ck", "sh#t". Which letter is
/// not said, so a masked word matches any term word of its length whose
/// other letters it writes.
pub(super) const MASKS: [char; 2] = ['*', '#'];

/// Spelled-out words shorter than this many letters are left apart, so that
/// "a b" stays two words while "f r e e" becomes one.
pub(super) const MIN_SPELLED_OUT_LETTERS: usize = 3;

/// The folded words of a text, kept in one string separated by single
/// spaces (one allocation, not one per word).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoldedWords {
    text: String,
    /// Where each word ends in `text`.
    ends: Vec<usize>,
    /// The length of each run of one letter the words' characters stand
    /// for (at most 255), one per character, word after word.
    runs: Vec<u8>,
    /// Where each word's runs end in `runs`.
    run_ends: Vec<usize>,
    /// The indexes of the words that are letters spelled out one by one,
    /// in order. Most texts have none, and an empty list costs nothing.
    spelled_out: Vec<usize>,
    /// The other readings of some words (see the module's documentation),
    /// each with its word's index, in word order.
    other_readings: Vec<(usize, Runs)>,
    /// Where each word was written in the normalised text it was folded
    /// from (byte offsets), so that a reason can quote it.
    spans: Vec<Range<usize>>,
}

impl FoldedWords {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `index`th word; `index` must be below [`FoldedWords::len`].
    pub fn word(&self, index: usize) -> &str {
        let start = match index {
            0 => 0,
            _ => self.ends[index - 1] + 1,
        };
        &self.text[start..self.ends[index]]
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|index| self.word(index))
    }

    /// How many times in a row each character of the `index`th word was
    /// written ("freeee" is "fre" with runs 1, 1, 4).
    pub fn runs(&self, index: usize) -> &[u8] {
        let start = match index {
            0 => 0,
            _ => self.run_ends[index - 1],
        };
        &self.runs[start..self.run_ends[index]]
    }

    /// Whether the `index`th word was spelled out letter by letter ("f r e
    /// e"): a run of single letters, which may hold several words written
    /// together or ordinary one-letter words beside them ("a v i a g r a").
    pub fn is_spelled_out(&self, index: usize) -> bool {
        self.spelled_out.binary_search(&index).is_ok()
    }

    /// The `index`th word as folded and in each of its other readings,
    /// each as its letters and their runs, the folded spelling first.
    pub fn readings(&self, index: usize) -> impl Iterator<Item = (&str, &[u8])> {
        let first = self
            .other_readings
            .partition_point(|(word, _)| *word < index);
        let others = self.other_readings[first..]
            .iter()
            .take_while(move |(word, _)| *word == index)
            .map(|(_, reading)| (reading.letters.as_str(), reading.lengths.as_slice()));
        std::iter::once((self.word(index), self.runs(index))).chain(others)
    }

    /// The words joined by single spaces.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Where the words `words` were written in the normalised text they
    /// were folded from (byte offsets): from the first's start to the
    /// last's end. An empty range past the words, or for none.
    pub fn written_span(&self, words: Range<usize>) -> Range<usize> {
        let last = words.end.min(self.spans.len());
        match (self.spans.get(words.start), last.checked_sub(1)) {
            (Some(first), Some(last)) if last >= words.start => first.start..self.spans[last].end,
            _ => 0..0,
        }
    }

    fn push(&mut self, word: &FoldedWord, spelled_out: bool, span: Range<usize>) {
        self.spans.push(span);
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        self.text.push_str(&word.written.letters);
        self.ends.push(self.text.len());
        self.runs.extend_from_slice(&word.written.lengths);
        self.run_ends.push(self.runs.len());
        let index = self.ends.len() - 1;
        if spelled_out {
            self.spelled_out.push(index);
        }
        self.other_readings
            .extend(word.readings.iter().map(|reading| (index, reading.clone())));
    }
}

/// A word as runs of one character: each run's character once, and how
/// long it was.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Runs {
    pub letters: String,
    pub lengths: Vec<u8>,
}

impl Runs {
    fn clear(&mut self) {
        self.letters.clear();
        self.lengths.clear();
    }

    /// Adds a character: a new run, or one more of the last run.
    fn push(&mut self, character: char) {
        self.push_run(character, 1);
    }

    /// Adds a run of `length` times one character, which lengthens the last
    /// run when it is of the same character.
    fn push_run(&mut self, character: char, length: u8) {
        match self.lengths.last_mut() {
            Some(last) if self.letters.ends_with(character) => {
                *last = last.saturating_add(length);
            }
            _ => {
                self.letters.push(character);
                self.lengths.push(length);
            }
        }
    }

    /// Adds characters as they are, each its own run (digits of a number).
    fn push_verbatim(&mut self, text: &str) {
        for character in text.chars() {
            self.letters.push(character);
            self.lengths.push(1);
        }
    }

    /// Writes `word` after these runs, as a spelled-out run holds words
    /// written together without spaces: "cheap" and "pills" are
    /// "cheappills", with one run of two `p`s where the words meet.
    pub fn append(&mut self, word: &Runs) {
        for (letter, length) in word.letters.chars().zip(&word.lengths) {
            self.push_run(letter, *length);
        }
    }

    /// Whether a word written as `self` is the word written as `term`: the
    /// same letters, with runs that write the term's (see [`runs_write`];
    /// the word ends where the term does). A masked word ("f**k") is the
    /// term when it has as many letters and writes each of them but the
    /// masked ones.
    pub fn covers(letters: &str, lengths: &[u8], term: &Runs) -> bool {
        if letters.contains(MASKS) {
            return masked_covers(letters, lengths, term);
        }
        letters == term.letters && runs_write(lengths, &term.lengths, false)
    }

    /// How many letters a word of these runs has, each run counted as
    /// often as it was written: "f**k" has four.
    pub fn letter_count(lengths: &[u8]) -> usize {
        lengths.iter().map(|length| usize::from(*length)).sum()
    }

    /// Whether a word begins with `term` (see [`Runs::covers_from`]; the
    /// word's run where the term ends may go on).
    pub fn covers_start(letters: &str, lengths: &[u8], term: &Runs) -> bool {
        Runs::covers_from(letters, lengths, 0, 0, term, true)
    }

    /// Whether `term` is written in a word from its `index`th character on,
    /// which starts at `byte` of its letters, with runs that write the
    /// term's (see [`runs_write`]; the letters before the term may run on
    /// into its first, "pills" in "cheappills", and those after it into its
    /// last when `last_may_run_on`). An `index` or `byte` past the word, or
    /// a `byte` inside a character, is no match.
    pub fn covers_from(
        letters: &str,
        lengths: &[u8],
        byte: usize,
        index: usize,
        term: &Runs,
        last_may_run_on: bool,
    ) -> bool {
        let same_letters = letters
            .get(byte..)
            .is_some_and(|rest| rest.starts_with(term.letters.as_str()));
        same_letters
            && lengths.get(index..).is_some_and(|rest| {
                rest.len() >= term.lengths.len() && runs_write(rest, &term.lengths, last_may_run_on)
            })
    }
}

/// Whether a masked word (letters and [`MASKS`], as runs) writes a term's
/// word: letter for letter, each mask standing for any one letter.
fn masked_covers(letters: &str, lengths: &[u8], term: &Runs) -> bool {
    let spelled = |letters: &'_ str, lengths: &'_ [u8]| -> Vec<char> {
        letters
            .chars()
            .zip(lengths)
            .flat_map(|(letter, length)| std::iter::repeat_n(letter, usize::from(*length)))
            .collect()
    };
    let written = spelled(letters, lengths);
    let wanted = spelled(&term.letters, &term.lengths);
    written.len() == wanted.len()
        && written
            .iter()
            .zip(&wanted)
            .all(|(written, wanted)| written == wanted || MASKS.contains(written))
}

/// Whether runs of one letter in a comment, `lengths`, write a term's runs,
/// `term_lengths`, from their start: each run as [`run_covers`] says, but
/// the first at least as long as the term's (a doubled first letter,
/// "ffree", is a slip or a disguise), and the last too when the letters
/// after the term may run on into it (`last_may_run_on`: a term inside
/// letters spelled out, "cheap" in "cheappills"). A doubled letter
/// elsewhere is another word's spelling: "looser" is no "loser", "cull" no
/// "cul", "Hell" no "hel".
fn runs_write(lengths: &[u8], term_lengths: &[u8], last_may_run_on: bool) -> bool {
    let last = term_lengths.len().saturating_sub(1);
    lengths
        .iter()
        .zip(term_lengths)
        .enumerate()
        .all(|(position, (length, term_length))| {
            if position == 0 || (position == last && last_may_run_on) {
                length >= term_length
            } else {
                run_covers(*length, *term_length)
            }
        })
}

/// Whether a run of `length` times one letter in a comment writes a term's
/// run of `term_length`: the same length, or a letter stretched to three or
/// more ("freeeee" writes "free", "moneyyy" "money"). A doubled letter is
/// ordinary spelling, not a stretched one: "looser" is not "loser", nor
/// "good" "god".
fn run_covers(length: u8, term_length: u8) -> bool {
    length == term_length || (length > term_length && length >= 3)
}

/// One word folded: its letters as folded, and its other readings.
#[derive(Debug, Clone, Default)]
struct FoldedWord {
    written: Runs,
    readings: Vec<Runs>,
}

impl FoldedWord {
    fn clear(&mut self) {
        self.written.clear();
        self.readings.clear();
    }

    /// Adds a reading, unless the word already reads so.
    fn add_reading(&mut self, reading: Runs) {
        if reading != self.written && !self.readings.contains(&reading) {
            self.readings.push(reading);
        }
    }
}

/// A piece of text split where three or more [`LETTER_SYMBOLS`] stand
/// together: a symbol stands in for a letter ("v!agra", "c@sino"), and two
/// may ("c@$h", "a$$et"), but a run of three joins two words or ends one
/// ("VIAGRA!!!Order", "viagra$$$"), which must not hide either. The pieces
/// may be empty.
fn split_at_symbol_runs(piece: &str) -> impl Iterator<Item = &str> + '_ {
    let mut rest = Some(piece);
    std::iter::from_fn(move || {
        let text = rest?;
        let mut run_start = None;
        for (index, character) in text.char_indices() {
            if !LETTER_SYMBOLS.contains(&character) {
                run_start = None;
                continue;
            }
            // The symbols are ASCII: one byte each.
            let start = *run_start.get_or_insert(index);
            if index - start >= 2 {
                let end = text[index..]
                    .find(|c: char| !LETTER_SYMBOLS.contains(&c))
                    .map_or(text.len(), |offset| index + offset);
                rest = Some(&text[end..]);
                return Some(&text[..start]);
            }
        }
        rest = None;
        Some(text)
    })
}

/// A piece of text as one word when it is a masked word (see
/// [`is_masked_word`]), else cut at its [`MASKS`], which then separate
/// words as other punctuation does ("**news**", "#election", "2*3").
fn split_unless_masked(piece: &str) -> impl Iterator<Item = &str> + '_ {
    // The `!` and `|` at a piece's edges are trimmed later ("f*ck!").
    let masked = is_masked_word(piece.trim_matches(['!', '|']));
    piece.split(move |character: char| !masked && MASKS.contains(&character))
}

/// Whether a piece is a word with letters masked ("f*ck", "f**k",
/// "b*tch", "bullsh*t"): letters and [`MASKS`] only, a letter at each end
/// (a mask at a word's edge marks a footnote or emphasis, "terms apply*"),
/// and more letters than masks, at least two. A word so written is one
/// that its writer held too rude to spell out. Not when the masks stand
/// between single letters ("v*i*a*g*r*a", letters spelled out) or between
/// two parts of three letters or more ("free*money", two words); nor a
/// chord ("C#m", "F#maj"; "F#7" has a digit anyway).
fn is_masked_word(piece: &str) -> bool {
    let (mut letters, mut masks) = (0usize, 0usize);
    for character in piece.chars() {
        if MASKS.contains(&character) {
            masks += 1;
        } else if character.is_alphabetic() {
            letters += 1;
        } else {
            return false;
        }
    }
    let letter_at_each_end = piece.chars().next().is_some_and(char::is_alphabetic)
        && piece.chars().next_back().is_some_and(char::is_alphabetic);
    if !(masks > 0 && masks <= letters && letters >= 2 && letter_at_each_end) {
        return false;
    }
    let parts: Vec<usize> = piece
        .split(MASKS)
        .filter(|part| !part.is_empty())
        .map(|part| part.chars().count())
        .collect();
    let spelled_out = parts.len() >= MIN_SPELLED_OUT_LETTERS && parts.iter().all(|part| *part == 1);
    let two_words = parts
        .windows(2)
        .any(|pair| pair[0] >= MIN_PART_AROUND_A_SYMBOL && pair[1] >= MIN_PART_AROUND_A_SYMBOL);
    !(spelled_out || two_words || is_chord(piece))
}

/// Whether a piece is a chord's name written with `#` for sharp: a note
/// from A to G, the sign, and a chord's letters ("c#m", "f#maj", "g#dim").
fn is_chord(piece: &str) -> bool {
    let mut characters = piece.chars();
    let note = characters
        .next()
        .is_some_and(|note| matches!(note.to_ascii_lowercase(), 'a'..='g'));
    let sharp = characters.next() == Some('#');
    let quality = characters.as_str().to_ascii_lowercase();
    note && sharp
        && matches!(
            quality.as_str(),
            "m" | "maj" | "min" | "dim" | "aug" | "sus" | "add"
        )
}

/// `text` cut at each `,` or `;` that white space follows: the items of a
/// list, whose single letters ("grades A, S, S, B") spell out no word
/// together (unless there are more than [`MAX_LETTERS_OF_A_LIST`]), while
/// "v,i,a,g,r,a" stays one piece.
fn list_items(text: &str) -> impl Iterator<Item = &str> + '_ {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let current = rest?;
        let cut = current
            .as_bytes()
            .windows(2)
            .position(|pair| matches!(pair[0], b',' | b';') && pair[1].is_ascii_whitespace());
        match cut {
            Some(at) => {
                rest = Some(&current[at + 1..]);
                Some(&current[..at])
            }
            None => {
                rest = None;
                Some(current)
            }
        }
    })
}

/// The folded words of a normalised text, in order.
pub fn folded_words(normalized: &str) -> FoldedWords {
    fold_words(normalized, true)
}

/// The folded words of a configured term: as [`folded_words`], but a word
/// written with symbols has no readings as its parts (a term "sex@work"
/// is one word to find, not "work" alone).
pub fn folded_term_words(normalized: &str) -> FoldedWords {
    fold_words(normalized, false)
}

fn fold_words(normalized: &str, symbol_readings: bool) -> FoldedWords {
    let mut words = FoldedWords {
        text: String::with_capacity(normalized.len()),
        ..FoldedWords::default()
    };
    let mut folded = FoldedWord::default();
    // A part of a word written with symbols, folded for its readings.
    let mut symbol_part = FoldedWord::default();
    let mut unmarked = String::new();
    // The pieces of a word spelled out so far: each a letter, its run and
    // where it was written.
    let mut spelled_out: Vec<(char, u8, Range<usize>)> = Vec::new();
    // Whether a list's item ended after the letters spelled out so far,
    // and whether the run went on in the next item: "A, S, S, B" is a list
    // of letters, not a word.
    let (mut item_ended, mut across_items) = (false, false);
    // A combining mark belongs to the letter before it, so it splits no
    // word: "vi\u{307}agra" is one word, whose mark folding drops. (No
    // ASCII character is a mark, and most separators are ASCII.)
    let separator = |c: char| {
        !(c.is_alphanumeric()
            || LETTER_SYMBOLS.contains(&c)
            || MASKS.contains(&c)
            || (!c.is_ascii() && is_combining_mark(c)))
    };
    for item in list_items(normalized) {
        let pieces = item
            .split(separator)
            .flat_map(split_unless_masked)
            .flat_map(split_at_symbol_runs);
        for piece in pieces {
            let piece = piece.trim_matches(|c: char| c == '!' || c == '|');
            // Every piece so far is a slice of `normalized`.
            let start = piece.as_ptr().addr() - normalized.as_ptr().addr();
            let span = start..start + piece.len();
            let piece = without_accent_marks(piece, &mut unmarked);
            if piece.is_empty() {
                continue;
            }
            fold_word(piece, &mut folded);
            if symbol_readings {
                add_symbol_readings(piece, &mut folded, &mut symbol_part);
            }
            // The letter of a contraction ends its word ("it's", "don't",
            // "she'd"): it spells nothing out with the letters after it. Only
            // after a whole word: in "v'i'a'g'r'a" or "'v i a g r a'" the
            // apostrophes stand between letters spelled out.
            let contraction = matches!(piece, "s" | "t" | "d" | "m")
                && spelled_out.is_empty()
                && normalized[..span.start]
                    .strip_suffix('\'')
                    .and_then(|before| before.chars().next_back())
                    .is_some_and(char::is_alphabetic);
            let written = &folded.written;
            let mut characters = written.letters.chars();
            // A piece of one letter, written once or twice ("f r ee"), is part
            // of a word spelled out; three or more ("xxx") is a word of its own.
            let spelled_letter = match (
                characters.next(),
                characters.next(),
                written.lengths.first(),
            ) {
                (Some(letter), None, Some(&length))
                    if letter.is_alphabetic() && length <= 2 && !contraction =>
                {
                    Some((letter, length))
                }
                _ => None,
            };
            if let Some((letter, length)) = spelled_letter {
                across_items |= item_ended;
                item_ended = false;
                spelled_out.push((letter, length, span));
                continue;
            }
            flush_spelled_out(&mut words, &mut spelled_out, across_items);
            (item_ended, across_items) = (false, false);
            words.push(&folded, false, span);
        }
        item_ended = !spelled_out.is_empty();
    }
    flush_spelled_out(&mut words, &mut spelled_out, across_items);
    words
}

/// The most letters a list of single letters across its items ("A, S, S,
/// B") may have and still be read as letters apart; a longer run is a word
/// spelled out with commas ("v, i, a, g, r, a").
const MAX_LETTERS_OF_A_LIST: usize = 4;

/// The shortest part, in characters, that a symbol inside a word is taken
/// to separate from the next: "casino|poker" may be two words, while
/// "v!agra" and "ca$ino" are one word with a letter disguised.
const MIN_PART_AROUND_A_SYMBOL: usize = 3;

/// The most parts a word joined by symbols is read as: each is a reading of
/// the word, compared with every other reading it has, and a text of one
/// long word of thousands of parts ("aaa@aab@aac@...") must not cost more
/// than a text of as many words.
const MAX_PARTS_AROUND_SYMBOLS: usize = 8;

/// Adds the readings of a word written with [`LETTER_SYMBOLS`] in which
/// they are no letters. A symbol may stand for a letter ("$ale", "c@sh"),
/// but at a word's edge it may be decoration ("@viagra", "viagra$") and
/// between two longer words a separator ("casino|poker"): either way the
/// folded spelling alone would hide the words from a term. A word's parts
/// are all readings of that one word, so a term of one word meets each of
/// them (a term of several words written with symbols between them is
/// not found this way).
fn add_symbol_readings(piece: &str, folded: &mut FoldedWord, part: &mut FoldedWord) {
    if !piece.contains(LETTER_SYMBOLS) {
        return;
    }
    let mut add_folded = |text: &str, folded: &mut FoldedWord| {
        if !text.chars().any(char::is_alphabetic) {
            return;
        }
        fold_word(text, part);
        folded.add_reading(part.written.clone());
        for reading in part.readings.drain(..) {
            folded.add_reading(reading);
        }
    };
    let inner = piece.trim_matches(LETTER_SYMBOLS);
    if inner.len() < piece.len() {
        add_folded(inner, folded);
    }
    let parts: Vec<&str> = inner.split(LETTER_SYMBOLS).collect();
    // Single letters with symbols between them ("f!u!c!k", "f|u|c|k") are
    // a word spelled out, as with spaces or full stops.
    let spelled_out = parts.len() >= MIN_SPELLED_OUT_LETTERS
        && parts.iter().all(|part| {
            let mut characters = part.chars();
            characters.next().is_some_and(char::is_alphabetic) && characters.next().is_none()
        });
    if spelled_out {
        add_folded(&parts.concat(), folded);
    }
    if (2..=MAX_PARTS_AROUND_SYMBOLS).contains(&parts.len())
        && parts
            .iter()
            .all(|part| part.chars().count() >= MIN_PART_AROUND_A_SYMBOL)
    {
        for part in parts {
            add_folded(part, folded);
        }
    }
}

/// Ends a run of single letters: one word when long enough (and, for a run
/// across a list's items, not short enough to be a list of letters), else
/// each letter on its own.
fn flush_spelled_out(
    words: &mut FoldedWords,
    pieces: &mut Vec<(char, u8, Range<usize>)>,
    across_items: bool,
) {
    let a_list = across_items && pieces.len() <= MAX_LETTERS_OF_A_LIST;
    if pieces.len() >= MIN_SPELLED_OUT_LETTERS && !a_list {
        // The letters are folded again as one word, since each was folded
        // alone: letters of two scripts spelled out one by one ("К A З И Н
        // О" with a Latin `A`) make a word that mixes them, read as such a
        // word is read.
        let mut run = String::new();
        for (letter, length, _) in pieces.iter() {
            for _ in 0..*length {
                run.push(*letter);
            }
        }
        let mut word = FoldedWord::default();
        fold_word(&run, &mut word);
        let span = match (pieces.first(), pieces.last()) {
            (Some(first), Some(last)) => first.2.start..last.2.end,
            _ => 0..0,
        };
        words.push(&word, true, span);
    } else {
        // Each piece stays a word of its own, as it was written.
        for (letter, length, span) in pieces.iter() {
            let word = FoldedWord {
                written: Runs {
                    letters: letter.to_string(),
                    lengths: vec![*length],
                },
                readings: Vec::new(),
            };
            words.push(&word, false, span.clone());
        }
    }
    pieces.clear();
}

/// Whether a character is a combining mark that is no letter itself: an
/// accent, a dot, a stroke or a ring drawn on the character before it.
/// (The vowel signs of Indic scripts and Thai are marks too, but letters.)
fn is_loose_mark(character: char) -> bool {
    is_combining_mark(character) && !character.is_alphanumeric()
}

/// `piece` without the combining marks drawn on its Latin, Cyrillic and
/// Greek letters (written into `buffer` when there are any). After
/// normalisation (NFKC) composed every accent that makes a letter of some
/// alphabet (`é`, `й`), such marks are a disguise ("vi\u{307}agra",
/// "zalgo" text) or a stress mark ("сло\u{301}во"); either way the word
/// reads the same without them, and so does a mark with no letter before
/// it. The marks of other scripts (a virama, a Thai tone mark) are part of
/// their words' spelling and stay.
fn without_accent_marks<'a>(piece: &'a str, buffer: &'a mut String) -> &'a str {
    if piece.is_ascii() || !piece.chars().any(is_loose_mark) {
        return piece;
    }
    buffer.clear();
    let mut keeps_marks = false;
    for character in piece.chars() {
        if !is_loose_mark(character) {
            keeps_marks = character.is_alphabetic()
                && !matches!(
                    character.script(),
                    Script::Latin | Script::Cyrillic | Script::Greek
                );
            buffer.push(character);
        } else if keeps_marks {
            buffer.push(character);
        }
    }
    buffer
}

/// Folds one word into `folded` (cleared first). A piece without letters
/// (a number, a price) is kept as it is: digits only stand for letters
/// among other letters.
fn fold_word(word: &str, folded: &mut FoldedWord) {
    folded.clear();
    if !word.chars().any(char::is_alphabetic) {
        folded.written.push_verbatim(word);
        return;
    }
    let numbers = has_numbers(word);
    if word.is_ascii() {
        for character in word.chars() {
            folded
                .written
                .push(fold_ascii_unless_number(character, numbers));
        }
        return;
    }
    let letters = || word.chars().filter(|character| character.is_alphabetic());
    let latin_letters = letters().any(|character| character.script() == Script::Latin);
    // A word of Cyrillic letters among which every Latin letter imitates a
    // Cyrillic one ("кaзино", "пoкер", Ukrainian "вiн" typed with a Latin
    // `i`) is a Cyrillic word, and is folded to one, so that a Cyrillic term
    // meets it. When its Cyrillic letters all imitate Latin ones as well
    // ("xер"), it could be a disguise either way: it is folded to Latin as
    // before and reads as Cyrillic too.
    let cyrillic_word = letters().any(|character| character.script() == Script::Cyrillic)
        && letters().all(|character| {
            character.script() == Script::Cyrillic || cyrillic_twin(character).is_some()
        });
    // A word that reads both ways is written as the script of most of its
    // letters ("Украïні" Cyrillic, "CUNТ" Latin), and reads as the other.
    let mostly_cyrillic = {
        let cyrillic = letters()
            .filter(|character| character.script() == Script::Cyrillic)
            .count();
        cyrillic * 2 > letters().count()
    };
    // The Cyrillic letters drawn as small capitals imitate Latin ones in a
    // word typed in capitals ("CUNТ", "HОТ"), but not in a Cyrillic word
    // whose only Latin letters are the `i` and `j` that Ukrainian and
    // Serbian writers type on a Russian layout ("кiт"): there they are
    // what they are.
    let layout_letters_only = letters()
        .filter(|character| character.script() == Script::Latin)
        .all(|character| matches!(character, 'i' | 'ï' | 'j'));
    let small_capitals = !(mostly_cyrillic && layout_letters_only);
    let reads_both_ways = cyrillic_word
        && latin_letters
        && letters()
            .filter(|character| character.script() == Script::Cyrillic)
            .all(|character| latin_twin(character, small_capitals).is_some());
    // A digit stands for a letter only among letters enough: "Е6" and
    // "Х3" (a road, a size) are names, "6ля" a disguise.
    let keep_digits = numbers || letters().count() < 2;
    if cyrillic_word && (!reads_both_ways || mostly_cyrillic) {
        for character in word.chars() {
            push_cyrillic(character, keep_digits, &mut folded.written);
        }
        if reads_both_ways {
            let mut latin = Runs::default();
            fold_to_latin(word, numbers, &mut latin);
            folded.add_reading(latin);
        }
    } else {
        fold_to_latin(word, numbers, &mut folded.written);
        if reads_both_ways {
            let mut cyrillic = Runs::default();
            for character in word.chars() {
                push_cyrillic(character, keep_digits, &mut cyrillic);
            }
            // Its own other reading too (a Latin `i` as the `и` it stood
            // for), as a word read as Cyrillic alone gets below.
            if let Some(bare) = without_accents(&cyrillic) {
                folded.add_reading(bare);
            }
            folded.add_reading(cyrillic);
        }
    }
    if let Some(bare) = without_accents(&folded.written) {
        folded.add_reading(bare);
    }
}

/// Folds a word that is not plain ASCII as a Latin word, or leaves it be.
/// ASCII words are in one script; the script tables are only consulted
/// for the rest. A Latin word may hide look-alikes from the Latin script
/// itself (a dotless `ı`, small capitals `ᴠɪᴀɢʀᴀ`); they are folded too,
/// while letters with no ASCII twin (`é`, `ß`) stay as they are.
fn fold_to_latin(word: &str, numbers: bool, written: &mut Runs) {
    let mixed_script = !word.is_single_script();
    let latin_word = word
        .chars()
        .filter(|character| character.is_alphabetic())
        .all(|character| character.script() == Script::Latin);
    for character in word.chars() {
        if character.is_ascii() {
            written.push(fold_ascii_unless_number(character, numbers));
        } else if mixed_script || latin_word {
            push_latin_twin(character, written);
        } else {
            written.push(character);
        }
    }
}

/// Whether the digits of a word with letters are numbers rather than
/// letters in disguise: a price ("A$5", "US$20", whose `$` is no `s`
/// either), or a word with more digits than letters that has one letter at
/// most ("over-45s", "the A55"), is digits then letters ("1990s") or holds
/// a digit that stands for no letter ("M25"). Otherwise "fr3e", "v1agra",
/// "c4s1n0", "b00b5" and "1d10t" read as words.
fn has_numbers(word: &str) -> bool {
    // Most words have no digit and no `$`: one pass over their bytes.
    if !word
        .bytes()
        .any(|byte| byte.is_ascii_digit() || byte == b'$')
    {
        return false;
    }
    let letters = word
        .chars()
        .filter(|character| character.is_alphabetic())
        .count();
    let digits = word.chars().filter(char::is_ascii_digit).count();
    let price = is_price(word);
    // Digits first and letters after ("1990s", "3bn") is how numbers are
    // written; "1d10t" mixes them as a disguise does.
    let digits_then_letters = word
        .trim_start_matches(|character: char| character.is_ascii_digit())
        .chars()
        .all(char::is_alphabetic);
    let number_like = letters <= 1 || digits_then_letters || word.contains(['2', '6', '8', '9']);
    price || (digits > letters && number_like)
}

/// Whether a word is a price: a `$` (with letters before it or not: "A$",
/// "US$") followed by digits alone, or digits and an amount's letter ("5k",
/// "2m", "3bn"). "$3x" is no price: its `$` and digit stand for letters.
fn is_price(word: &str) -> bool {
    let Some((_, amount)) = word.split_once('$') else {
        return false;
    };
    let digits = amount.bytes().take_while(u8::is_ascii_digit).count();
    digits > 0 && matches!(&amount[digits..], "" | "k" | "m" | "b" | "bn" | "mn")
}

/// [`fold_ascii`], but digits and `$` stay as they are in a word that
/// [`has_numbers`].
fn fold_ascii_unless_number(character: char, numbers: bool) -> char {
    if numbers && (character.is_ascii_digit() || character == '$') {
        character
    } else {
        fold_ascii(character)
    }
}

/// The letters of a folded word without the accents of its Latin letters
/// ("víagra" as "viagra", "frẹe" as "free"), with `ß` written as most
/// keyboards write it ("ss"), Russian `ё` as most writers do (`е`) and the
/// Ukrainian `і` as the Russian `и` it may stand for, or
/// `None` when it has none of them. Other letters of other scripts stay:
/// `й` is a letter of its own.
fn without_accents(written: &Runs) -> Option<Runs> {
    if written.letters.is_ascii() {
        return None;
    }
    let mut bare = Runs::default();
    let mut changed = false;
    for (letter, length) in written.letters.chars().zip(&written.lengths) {
        let plain = match letter {
            'ß' => Some(('s', length.saturating_mul(2))),
            'ё' => Some(('е', *length)),
            // A Latin `i` in a Cyrillic word is folded to the Ukrainian
            // `і`; in a Russian word it stood for `и`.
            'і' => Some(('и', *length)),
            _ => base_letter(letter).map(|base| (fold_ascii(base), *length)),
        };
        match plain {
            Some((plain, length)) => {
                changed = true;
                bare.push_run(plain, length);
            }
            None => bare.push_run(letter, *length),
        }
    }
    changed.then_some(bare)
}

/// The ASCII letter under a Latin letter's accents, dots or stroke (`i`
/// for `í` and `ï`, `e` for `ẹ`, `o` for `ø`): its confusable skeleton's
/// first character, when that is an ASCII letter and the rest are marks.
fn base_letter(character: char) -> Option<char> {
    // `ñ` is a letter of its own in the languages that write it, not an
    // `n` with a mark: "cono" is not "coño", nor "ano" "año".
    if character.is_ascii() || character.script() != Script::Latin || character == 'ñ' {
        return None;
    }
    let mut buffer = [0u8; 4];
    let mut skeleton = unicode_security::skeleton(character.encode_utf8(&mut buffer));
    let base = skeleton.next().filter(char::is_ascii_alphabetic)?;
    skeleton
        .all(is_combining_mark)
        .then(|| base.to_ascii_lowercase())
}

/// Writes a character of a word read as Cyrillic: a Latin letter, or a
/// digit or symbol standing for one, as the Cyrillic letter it imitates,
/// and anything else as it is.
fn push_cyrillic(character: char, keep_digits: bool, out: &mut Runs) {
    if keep_digits && character.is_ascii_digit() {
        out.push(character);
        return;
    }
    // Digits that Russian writers use for letters they look like, where
    // they differ from the Latin reading (`3` is `з`, not `е`).
    let cyrillic_digit = match character {
        '3' => Some('з'),
        '4' => Some('ч'),
        '6' => Some('б'),
        _ => None,
    };
    if let Some(letter) = cyrillic_digit {
        out.push(letter);
        return;
    }
    let latin = if character.is_ascii() {
        fold_ascii(character)
    } else {
        character
    };
    if latin.script() == Script::Latin {
        out.push(cyrillic_twin(latin).unwrap_or(latin));
    } else {
        out.push(character);
    }
}

/// The Cyrillic letter a Latin letter imitates, both in lower case as
/// normalised text has them. A letter counts when either of its cases
/// imitates: the capital `H` looks like `Н`, and a word typed in capitals
/// ("КАЗИHО") reaches folding in lower case; the lower-case `n`, `r` and
/// `u` imitate the written `п`, `г` and `и`. `ï` and `ë` stand for the
/// Ukrainian `ї` and the Russian `ё`; other accented letters are read
/// without their accents.
fn cyrillic_twin(latin: char) -> Option<char> {
    let twin = match latin {
        'ï' => 'ї',
        'ë' => 'ё',
        'a' => 'а',
        'b' => 'в',
        'c' => 'с',
        'e' => 'е',
        'h' => 'н',
        'i' => 'і',
        'k' => 'к',
        'm' => 'м',
        'n' => 'п',
        'o' => 'о',
        'p' => 'р',
        'r' => 'г',
        't' => 'т',
        'u' => 'и',
        'x' => 'х',
        'y' => 'у',
        _ if latin.is_ascii() => return None,
        _ => return base_letter(latin).and_then(cyrillic_twin),
    };
    Some(twin)
}

/// The letter an ASCII digit or symbol stands for; `l` and `i` share one
/// spelling because `1`, `|` and `!` stand for either.
fn fold_ascii(character: char) -> char {
    match character {
        '0' => 'o',
        '1' | '!' | '|' | 'l' => 'i',
        '3' => 'e',
        '4' | '@' => 'a',
        '5' | '$' => 's',
        '7' => 't',
        other => other,
    }
}

/// The ASCII letters a character of another script imitates (its Unicode
/// confusable skeleton, or the letter a "font" letter such as a small
/// capital stands for, which normalisation already replaces), or `None`
/// when it imitates none. The Cyrillic `в`, `к`, `м`, `н` and `т` are
/// drawn as the capitals `B`, `K`, `M`, `H` and `T` at the height of
/// lower-case letters, which the confusables read as other letters or not
/// at all: a Cyrillic capital hidden in a word typed in capitals ("CUNТ",
/// "МONEY") reaches folding, in lower case, as one of them. They count
/// when `small_capitals` says so (not in a Cyrillic word typed with a
/// Latin `i`).
fn latin_twin(character: char, small_capitals: bool) -> Option<String> {
    if let Some(letter) = crate::text::font_letter(character) {
        return Some(letter.to_string());
    }
    let small_capital = match character {
        _ if !small_capitals => None,
        'в' => Some("b"),
        'к' => Some("k"),
        'м' => Some("m"),
        'н' => Some("h"),
        'т' => Some("t"),
        _ => None,
    };
    if let Some(letter) = small_capital {
        return Some(letter.to_string());
    }
    let mut buffer = [0u8; 4];
    let skeleton: String = unicode_security::skeleton(character.encode_utf8(&mut buffer)).collect();
    (!skeleton.is_empty() && skeleton.chars().all(|c| c.is_ascii_alphabetic())).then_some(skeleton)
}

/// Writes the Latin letters a character of another script imitates, or
/// the character itself when it imitates none.
fn push_latin_twin(character: char, out: &mut Runs) {
    match latin_twin(character, true) {
        Some(twin) => {
            for latin in twin.chars() {
                out.push(fold_ascii(latin.to_ascii_lowercase()));
            }
        }
        None => out.push(character),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    fn fold(raw: &str) -> Vec<String> {
        folded_words(&normalize(raw))
            .iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn look_alike_spellings_fold_to_one() {
        let plain = fold("free money");
        let cases = [
            "fr3e  m0ney",
            "FREE MONEY",
            "ＦＲＥＥ ｍｏｎｅｙ",
            "freeeee money!!",
            "f r e e money",
            "fr\u{0435}\u{0435} money",
            "fr\u{200B}ee mon\u{200B}ey",
            "f r ee money",
        ];
        for case in cases {
            assert_eq!(fold(case), plain, "{case}");
        }
    }

    #[test]
    fn latin_look_alikes_fold_and_accents_stay() {
        assert_eq!(fold("cheap v\u{0131}agra"), fold("cheap viagra"));
        assert_eq!(
            fold("\u{1D20}\u{026A}\u{1D00}\u{0262}\u{0280}\u{1D00}"),
            fold("viagra")
        );
        assert_eq!(fold("café naïve straße"), vec!["café", "naïve", "straße"]);
        assert_eq!(fold("сорок казино"), vec!["сорок", "казино"]);
    }

    #[test]
    fn symbols_inside_words_are_letters() {
        assert_eq!(fold("c@sh"), fold("cash"));
        assert_eq!(fold("$ale"), fold("sale"));
    }

    /// Three or more symbols together are no letters: they join two words
    /// (or end one), which must not hide either. Two may be letters.
    #[test]
    fn runs_of_symbols_separate_words() {
        assert_eq!(fold("viagra!!!order"), fold("viagra order"));
        assert_eq!(fold("viagra$$$"), fold("viagra"));
        assert_eq!(fold("$$$$"), Vec::<String>::new());
        assert_eq!(fold("c@$h"), fold("cash"));
        assert_eq!(fold("a$$et"), fold("asset"));
    }

    /// A symbol at a word's edge may be decoration, and one between two
    /// longer words a separator: the word reads both ways, while its
    /// folded spelling (what the fingerprint reads) stays one word.
    #[test]
    fn words_written_with_symbols_also_read_without_them() {
        assert_eq!(readings("@viagra"), vec![vec!["aviagra", "viagra"]]);
        assert_eq!(readings("viagra$"), vec![vec!["viagras", "viagra"]]);
        assert_eq!(
            readings("casino|poker"),
            vec![vec!["casinoipoker", "casino", "poker"]]
        );
        assert_eq!(
            readings("@casino|poker"),
            vec![vec!["acasinoipoker", "casinoipoker", "casino", "poker"]]
        );
        // A symbol beside a short part is a disguised letter only.
        assert_eq!(readings("v@gra"), vec![vec!["vagra"]]);
        assert_eq!(readings("ca$ino"), vec![vec!["casino"]]);
        assert_eq!(readings("c@$h"), vec![vec!["cash"]]);
        // Single letters between symbols spell a word out.
        assert_eq!(readings("f!u!c!k"), vec![vec!["fiuicik", "fuck"]]);
        assert_eq!(fold("casino|poker"), vec!["casinoipoker"]);
    }

    #[test]
    fn numbers_and_other_scripts_are_kept() {
        assert_eq!(fold("100 €"), vec!["100".to_string()]);
        assert_eq!(
            fold("Это отличная статья"),
            vec!["это", "отличная", "статья"]
        );
        assert_eq!(fold("αβγ δ"), vec!["αβγ", "δ"]);
    }

    #[test]
    fn words_are_kept_in_one_spaced_text() {
        let words = folded_words(&normalize("Fr3e, m0ney!! now"));
        assert_eq!(words.len(), 3);
        assert_eq!(words.word(1), "money");
        assert_eq!(words.text(), "fre money now");
        assert!(folded_words("... !!").is_empty());
    }

    #[test]
    fn short_letter_runs_stay_apart() {
        assert_eq!(fold("a b"), vec!["a".to_string(), "b".to_string()]);
        assert_eq!(fold("a a"), vec!["a".to_string(), "a".to_string()]);
        // A letter written three times is a word, not a spelled letter.
        assert_eq!(fold("u r xxx"), vec!["u", "r", "x"]);
    }

    /// Each word's readings, its folded spelling first.
    fn readings(raw: &str) -> Vec<Vec<String>> {
        let words = folded_words(&normalize(raw));
        (0..words.len())
            .map(|index| {
                words
                    .readings(index)
                    .map(|(letters, _)| letters.to_string())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn spelled_out_runs_are_marked_as_such() {
        // The one-letter word "a" joins the run it stands beside: the run
        // is marked, so that terms are looked for inside it.
        let words = folded_words(&normalize("buy a v i a g r a pack"));
        assert_eq!(
            words.iter().collect::<Vec<_>>(),
            vec!["buy", "aviagra", "pack"]
        );
        let marked: Vec<bool> = (0..words.len())
            .map(|index| words.is_spelled_out(index))
            .collect();
        assert_eq!(marked, vec![false, true, false]);
        // Letters too few to be spelled out are ordinary words.
        let words = folded_words(&normalize("a b testing"));
        assert!((0..words.len()).all(|index| !words.is_spelled_out(index)));
    }

    #[test]
    fn combining_marks_stay_in_their_word_and_are_dropped() {
        // A dot above an `i` (no precomposed letter, so normalisation
        // leaves the mark), and marks stacked over every letter.
        assert_eq!(fold("get vi\u{0307}agra now"), fold("get viagra now"));
        assert_eq!(
            fold("f\u{0336}\u{0301}r\u{0336}e\u{0338}e\u{20DD} money"),
            fold("free money")
        );
        // A stress mark on a Cyrillic vowel goes too; a Devanagari virama
        // is part of its word's spelling and stays.
        assert_eq!(fold("сло\u{0301}во"), fold("слово"));
        assert_eq!(fold("हिन्दी"), vec!["हिन्दी"]);
    }

    #[test]
    fn accented_letters_also_read_without_their_accents() {
        // The folded spelling keeps the accents, as above; terms are
        // matched against both readings.
        assert_eq!(
            readings("víagra café"),
            vec![vec!["víagra", "viagra"], vec!["café", "cafe"]]
        );
        assert_eq!(readings("fre\u{0323}e"), vec![vec!["frẹe", "fre"]]);
        assert_eq!(readings("v ï a g r a"), vec![vec!["vïagra", "viagra"]]);
        // Russian `ё` also reads as the `е` most writers type for it, and
        // `ß` as "ss"; other Cyrillic letters keep their marks (`й`).
        assert_eq!(readings("ёлка"), vec![vec!["ёлка", "елка"]]);
        // (A word's letters are kept as runs: "ss" is one run of two.)
        assert_eq!(readings("scheiße"), vec![vec!["scheiße", "scheise"]]);
        assert_eq!(readings("мой"), vec![vec!["мой"]]);
    }

    /// Digits are letters in disguise only where letters outnumber them,
    /// and a `$` before a digit is a price's.
    #[test]
    fn numbers_and_prices_keep_their_digits() {
        assert_eq!(fold("over-45s"), vec!["over", "45s"]);
        // (Runs of one character are kept once: "55" is one run of two.)
        assert_eq!(fold("the A55 road"), vec!["the", "a5", "road"]);
        assert_eq!(fold("worth A$5"), vec!["worth", "a$5"]);
        assert_eq!(fold("$5k US$20"), vec!["$5k", "us$20"]);
        // A `$` and digits among letters are letters: "$3x" is no price.
        assert_eq!(fold("free $3x"), vec!["fre", "sex"]);
        assert_eq!(fold("fr3e v1agra c4s1n0"), vec!["fre", "viagra", "casino"]);
        // Heavy disguises with two letters or more are still words.
        assert_eq!(fold("c451n0 b00b5"), vec!["casino", "bobs"]);
        // (Runs of one character are kept once: "99" is one run of two.)
        assert_eq!(fold("1990s M25"), vec!["190s", "m25"]);
        assert_eq!(fold("an 1d10t"), vec!["an", "idiot"]);
    }

    /// A comma or semicolon before a space ends a spelled-out run: the
    /// letters of a list are no word.
    #[test]
    fn the_letters_of_a_list_are_not_spelled_out() {
        assert_eq!(
            fold("Grades: A, S, S, B."),
            vec!["grades", "a", "s", "s", "b"]
        );
        assert_eq!(fold("v,i,a,g,r,a"), vec!["viagra"]);
        // A longer run is a word spelled out with commas all the same, and
        // a run that ends an item is still one.
        assert_eq!(
            fold("buy v, i, a, g, r, a now"),
            vec!["buy", "viagra", "now"]
        );
        assert_eq!(fold("get f r e e, now"), vec!["get", "fre", "now"]);
    }

    #[test]
    fn latin_letters_in_a_cyrillic_word_fold_to_cyrillic() {
        // A Latin `A`, `o`, `a` and `H`, a Latin `ï` for the Ukrainian `ї`,
        // and Cyrillic letters spelled out with a Latin one among them.
        assert_eq!(fold("Лучшее КAЗИНО онлайн"), fold("Лучшее КАЗИНО онлайн"));
        assert_eq!(
            fold("пoкер бесплaтно КАЗИHО"),
            fold("покер бесплатно КАЗИНО")
        );
        assert_eq!(fold("Слава Украïні"), fold("Слава Україні"));
        assert_eq!(fold("К A З И Н О"), fold("казино"));
        // A Latin word with Cyrillic look-alikes still folds to Latin.
        assert_eq!(fold("fr\u{0435}\u{0435}"), fold("free"));
        // A word whose letters all have twins in the other script reads
        // both ways, written in the script of most of its letters; a word
        // wholly in Latin never reads as Cyrillic.
        assert_eq!(
            readings("x\u{0435}\u{0440} xep"),
            vec![vec!["хер", "xep"], vec!["xep"]]
        );
        assert_eq!(readings("cun\u{0442}"), vec![vec!["cunt", "сипт"]]);
    }
}
