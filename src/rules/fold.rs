//! Look-alike folding for term matching: the words of a normalised text
//! (see [`crate::text::normalize`]) with the tricks spammers use to slip a
//! word past a filter undone. Digits and symbols standing for letters
//! ("fr3e m0ney", "$ale", "c@sh") become those letters, letters of another
//! script hidden inside a Latin word ("frее" with Cyrillic `е`) become
//! their Latin twins, repeated letters collapse ("freeee"), and words
//! spelled out letter by letter ("f r e e") are joined.
//!
//! Terms are folded the same way, so matching compares like with like.
//! Each word keeps how long each of its runs of one letter was, so that a
//! term matches a word whose runs are at least as long: "freeee" matches
//! "free", but "as" does not match "ass". A few honest words still fold
//! together (`l` and `i`: "hell" and "heil"); that only matters for a
//! configured term, and it is the price of catching the variants. Words written wholly in another script are left alone, so a
//! Russian or Greek comment never turns into Latin look-alikes.

use unicode_script::{Script, UnicodeScript};
use unicode_security::MixedScript;

/// Symbols that stand in for letters inside a word.
const LETTER_SYMBOLS: [char; 4] = ['@', '$', '!', '|'];

/// Spelled-out words shorter than this many letters are left apart, so that
/// "a b" stays two words while "f r e e" becomes one.
const MIN_SPELLED_OUT_LETTERS: usize = 3;

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

    /// The words joined by single spaces.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn push(&mut self, word: &Runs) {
        if !self.text.is_empty() {
            self.text.push(' ');
        }
        self.text.push_str(&word.letters);
        self.ends.push(self.text.len());
        self.runs.extend_from_slice(&word.lengths);
        self.run_ends.push(self.runs.len());
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
        match self.lengths.last_mut() {
            Some(length) if self.letters.ends_with(character) => *length = length.saturating_add(1),
            _ => {
                self.letters.push(character);
                self.lengths.push(1);
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

    /// Whether a word written as `self` is the word written as `term`: the
    /// same letters, each run at least as long as the term's.
    pub fn covers(letters: &str, lengths: &[u8], term: &Runs) -> bool {
        letters == term.letters
            && lengths
                .iter()
                .zip(&term.lengths)
                .all(|(length, term_length)| length >= term_length)
    }
}

/// The folded words of a normalised text, in order.
pub fn folded_words(normalized: &str) -> FoldedWords {
    let mut words = FoldedWords {
        text: String::with_capacity(normalized.len()),
        ..FoldedWords::default()
    };
    let mut folded = Runs::default();
    // The pieces of a word spelled out so far: each a letter and its run.
    let mut spelled_out: Vec<(char, u8)> = Vec::new();
    for piece in normalized.split(|c: char| !(c.is_alphanumeric() || LETTER_SYMBOLS.contains(&c))) {
        let piece = piece.trim_matches(|c: char| c == '!' || c == '|');
        if piece.is_empty() {
            continue;
        }
        fold_word(piece, &mut folded);
        let mut characters = folded.letters.chars();
        // A piece of one letter, written once or twice ("f r ee"), is part
        // of a word spelled out; three or more ("xxx") is a word of its own.
        let spelled_letter = match (characters.next(), characters.next()) {
            (Some(letter), None) if letter.is_alphabetic() && folded.lengths[0] <= 2 => {
                Some((letter, folded.lengths[0]))
            }
            _ => None,
        };
        if let Some(piece) = spelled_letter {
            spelled_out.push(piece);
            continue;
        }
        flush_spelled_out(&mut words, &mut spelled_out);
        words.push(&folded);
    }
    flush_spelled_out(&mut words, &mut spelled_out);
    words
}

/// Ends a run of single letters: one word when long enough, else each
/// letter on its own.
fn flush_spelled_out(words: &mut FoldedWords, pieces: &mut Vec<(char, u8)>) {
    if pieces.len() >= MIN_SPELLED_OUT_LETTERS {
        let mut word = Runs::default();
        for (letter, length) in pieces.iter() {
            for _ in 0..*length {
                word.push(*letter);
            }
        }
        words.push(&word);
    } else {
        // Each piece stays a word of its own, as it was written.
        for (letter, length) in pieces.iter() {
            words.push(&Runs {
                letters: letter.to_string(),
                lengths: vec![*length],
            });
        }
    }
    pieces.clear();
}

/// Folds one word into `folded` (cleared first). A piece without letters
/// (a number, a price) is kept as it is: digits only stand for letters
/// among other letters.
fn fold_word(word: &str, folded: &mut Runs) {
    folded.clear();
    if !word.chars().any(char::is_alphabetic) {
        folded.push_verbatim(word);
        return;
    }
    // ASCII words are in one script; the script tables are only consulted
    // for the rest. A Latin word may hide look-alikes from the Latin script
    // itself (a dotless `ı`, small capitals `ᴠɪᴀɢʀᴀ`); they are folded too,
    // while letters with no ASCII twin (`é`, `ß`) stay as they are.
    let mixed_script = !word.is_ascii() && !word.is_single_script();
    let latin_word = !word.is_ascii()
        && word
            .chars()
            .filter(|character| character.is_alphabetic())
            .all(|character| character.script() == Script::Latin);
    for character in word.chars() {
        if character.is_ascii() {
            folded.push(fold_ascii(character));
        } else if mixed_script || latin_word {
            push_latin_twin(character, folded);
        } else {
            folded.push(character);
        }
    }
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

/// Writes the Latin letter a character of another script imitates (its
/// Unicode confusable skeleton), or the character itself when it imitates
/// none.
fn push_latin_twin(character: char, out: &mut Runs) {
    if let Some(letter) = small_capital(character) {
        out.push(fold_ascii(letter));
        return;
    }
    let mut buffer = [0u8; 4];
    let skeleton: String = unicode_security::skeleton(character.encode_utf8(&mut buffer)).collect();
    if !skeleton.is_empty() && skeleton.chars().all(|c| c.is_ascii_alphabetic()) {
        for latin in skeleton.chars() {
            out.push(fold_ascii(latin.to_ascii_lowercase()));
        }
    } else {
        out.push(character);
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
}
