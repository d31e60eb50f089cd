//! `blocked_term` and `suspect_term`: configured words and phrases found on
//! word boundaries in the folded words of a comment (see `fold`), so that
//! look-alike spellings match and parts of longer words do not
//! ("therapist" holds no "rapist"). Letters spelled out one by one are the
//! exception: spaces between them no longer show where words begin, so a
//! term is found anywhere inside such a run ("get c h e a p p i l l s",
//! "buy a v i a g r a n o w"), or beginning at its end and going on in the
//! words after it ("a f r e e money").

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::Arc;

use aho_corasick::AhoCorasick;

use super::fold::{folded_term_words, FoldedWords, Runs, MASKS, MIN_SPELLED_OUT_LETTERS};
use crate::text::normalize;

/// The most characters a term may have as written: a word or a phrase,
/// not a paragraph. Matching a term against letters spelled out one by one
/// costs more for each of its words.
pub const MAX_TERM_CHARACTERS: usize = 200;

/// The most words a term may have.
pub const MAX_TERM_WORDS: usize = 24;

/// How many of the terms found a reason names (and quotes); it counts the
/// others.
pub const NAMED_TERMS: usize = 3;

/// The most masked words ("f**k") of one comment that terms are looked for
/// in: each is compared with every term whose first word has as many
/// letters, where an ordinary word looks up the few that begin with it.
pub const MAX_MASKED_WORDS: usize = 32;

/// A list of terms, folded once when the rules are built.
#[derive(Debug, Clone, Default)]
pub struct TermList {
    /// Each term as written in the configuration, for the reason's message.
    written: Vec<String>,
    /// Each term as plain text reads it (see [`comparable`]), in the same
    /// order.
    plain: Vec<String>,
    /// Each term folded, in the same order, each followed by its other
    /// reading when it has one.
    folded: Vec<FoldedTerm>,
    /// The terms' positions by their first folded word, so an ordinary word
    /// of a comment is compared only with the terms that can start there.
    by_first_word: HashMap<String, Vec<usize>, BuildHasherDefault<Fnv>>,
    /// The terms' positions by the number of letters of their first folded
    /// word, for a masked word ("f**k"), whose letters are not all known.
    by_first_word_letters: HashMap<usize, Vec<usize>, BuildHasherDefault<Fnv>>,
    /// What finds the terms inside spelled-out runs.
    inside_runs: Option<InsideRuns>,
}

/// Finds terms inside spelled-out runs in one pass over a run, whatever the
/// number of terms: trying every term at every letter would let one long
/// comment of spaced-out letters cost seconds against a long list.
///
/// Its patterns are the letters of each term's first words written
/// together, for every number of first words: the whole term (found
/// anywhere inside a run), and each shorter part (which must end the run,
/// the rest of the term following it in the next words).
#[derive(Debug, Clone)]
struct InsideRuns {
    automaton: AhoCorasick,
    /// For each pattern: the terms and numbers of first words it is the
    /// letters of, with those words' runs.
    parts: Vec<Vec<TermPart>>,
}

/// A term found in a text, and the words it was found in (indexes into the
/// text's [`FoldedWords`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<'a> {
    pub term: &'a str,
    /// The term as a plain text reads it (see [`comparable`]): what the
    /// words found show when they are not disguised.
    pub plain: &'a str,
    pub words: Range<usize>,
    /// Where in its first word the term begins (bytes of the folded
    /// letters): terms found in one spelled-out run are ordered by it.
    pub offset: usize,
}

/// The terms of what was found, in its order.
fn terms_of(found: Vec<Found<'_>>) -> Vec<&str> {
    found.into_iter().map(|found| found.term).collect()
}

/// `text` normalised, with each run of characters that are neither letters
/// nor digits one space: "Free, Money!" and "free money" compare equal.
pub fn comparable(text: &str) -> String {
    normalize(text)
        .split(|c: char| !c.is_alphanumeric())
        .filter(|piece| !piece.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The terms a site's rules look for: the global list, shared by every
/// site (built once however many site tables there are), and the site's
/// own additions, searched apart so that a site table costs only what it
/// adds.
#[derive(Debug, Clone, Default)]
pub struct LayeredTerms {
    global: Arc<TermList>,
    own: TermList,
}

impl LayeredTerms {
    /// `own` holds no term `global` reads (see [`TermList::beside`]).
    pub fn new(global: Arc<TermList>, own: TermList) -> LayeredTerms {
        LayeredTerms { global, own }
    }

    /// The global list, for the site tables built beside it.
    pub fn global(&self) -> &Arc<TermList> {
        &self.global
    }

    pub fn is_empty(&self) -> bool {
        self.global.is_empty() && self.own.is_empty()
    }

    /// The terms found, each once, in the order they occur.
    pub fn find<'a>(&'a self, words: &FoldedWords) -> Vec<&'a str> {
        terms_of(self.find_where(words))
    }

    /// [`LayeredTerms::find`], with the words where each term was found.
    pub fn find_where<'a>(&'a self, words: &FoldedWords) -> Vec<Found<'a>> {
        let mut found = self.global.find_where(words);
        if !self.own.is_empty() {
            found.extend(self.own.find_where(words));
            // In the order they occur, as one list would give them: a
            // reason names three, and the site's own may come first.
            found.sort_by_key(|found| (found.words.start, found.offset));
        }
        found
    }
}

/// A term's first `words` words written together.
#[derive(Debug, Clone)]
struct TermPart {
    term: usize,
    words: usize,
    joined: Runs,
}

/// A term's folded words, in one of its readings.
#[derive(Debug, Clone)]
struct FoldedTerm {
    /// The term's position in [`TermList::written`].
    written: usize,
    words: Vec<Runs>,
    /// Whether the term has letters enough to be looked for inside a
    /// spelled-out run. A run of initials ("U S A") would hold every
    /// shorter term, and a run is never shorter than this anyway.
    inside_runs: bool,
}

/// FNV-1a, for the term map: every word of every comment is looked up, and
/// SipHash's defence against chosen collisions guards the keys, which here
/// are the operator's own terms, not a commenter's words.
#[derive(Default)]
struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = if self.0 == 0 {
            0xCBF2_9CE4_8422_2325
        } else {
            self.0
        };
        for byte in bytes {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Why a list of terms cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TermListError {
    /// The term at this position folds to no words.
    #[error("term {0} has no letters or digits to match")]
    NoWords(usize),
    /// The term at this position folds to one letter or digit, its
    /// symbols fallen away ("c#" to "c"): it would match every lone letter
    /// of a comment. The string is the letter.
    #[error("term {0} reads as the single letter {1:?}")]
    SingleLetters(usize, String),
    /// The term at this position is longer than [`MAX_TERM_CHARACTERS`] or
    /// has more words than [`MAX_TERM_WORDS`].
    #[error("term {0} is longer than a term may be")]
    TooLong(usize),
    /// The terms are too many, or too long, to be searched for together
    /// inside spelled-out letters.
    #[error("the terms cannot be searched for inside spelled-out letters: {0}")]
    TooLarge(String),
}

impl TermList {
    /// Folds the terms; a term that folds to no words at all (only
    /// punctuation) is refused with its position, and terms too many to be
    /// looked for inside spelled-out letters with the searcher's words.
    ///
    /// A term is also looked for in its other readings, when it has some:
    /// "maricón" as "maricon", "scheiße" as "scheisse", as a comment's
    /// words are read both ways too.
    ///
    /// A term that reads like an earlier one in any of its readings
    /// ("Casino" after "casino", "maricon" after "maricón", or a site
    /// repeating a term of the global list, built beside it with
    /// [`TermList::beside`]) matches the
    /// same words, so it is kept once, as first written: a reason then
    /// names and counts it once.
    pub fn new(terms: &[String]) -> Result<TermList, TermListError> {
        TermList::building(None, terms)
    }

    /// The terms a site adds to the global list `global`: as
    /// [`TermList::new`], but a term that reads like one of `global`'s is
    /// left to it (kept once, as the global list wrote it).
    pub fn beside(global: &TermList, terms: &[String]) -> Result<TermList, TermListError> {
        TermList::building(Some(global), terms)
    }

    fn building(global: Option<&TermList>, terms: &[String]) -> Result<TermList, TermListError> {
        let mut list = TermList::default();
        for (position, term) in terms.iter().enumerate() {
            if term.chars().count() > MAX_TERM_CHARACTERS {
                return Err(TermListError::TooLong(position));
            }
            let normalized = normalize(term);
            let folded = folded_term_words(&normalized);
            if folded.is_empty() {
                return Err(TermListError::NoWords(position));
            }
            if folded.len() > MAX_TERM_WORDS {
                return Err(TermListError::TooLong(position));
            }
            // A term written as a lone letter or character ("x", "死") means
            // it; one whose symbols fell away and left one ("c#", "c++",
            // "5%") does not, and would match "plan C". A term of several
            // single letters ("R&B", "U.S.") is as specific as it was.
            let single_letter = folded.len() == 1 && Runs::letter_count(folded.runs(0)) == 1;
            let symbols = normalized
                .chars()
                .any(|character| !(character.is_alphanumeric() || character.is_whitespace()));
            if single_letter && symbols {
                return Err(TermListError::SingleLetters(
                    position,
                    folded.text().to_string(),
                ));
            }
            let most_readings = (0..folded.len())
                .map(|index| folded.readings(index).count())
                .max()
                .unwrap_or(1);
            // The term's `rank`th reading: each word in its `rank`th
            // reading, or its folded spelling when it has fewer.
            let reading = |rank: usize| -> Vec<Runs> {
                (0..folded.len())
                    .map(|index| {
                        let (letters, lengths) = folded
                            .readings(index)
                            .nth(rank)
                            .or_else(|| folded.readings(index).next())
                            .unwrap_or_default();
                        Runs {
                            letters: letters.to_string(),
                            lengths: lengths.to_vec(),
                        }
                    })
                    .collect()
            };
            let mut readings: Vec<Vec<Runs>> = Vec::with_capacity(most_readings);
            for rank in 0..most_readings {
                let words = reading(rank);
                if !readings.contains(&words) {
                    readings.push(words);
                }
            }
            let known = |words: &Vec<Runs>| {
                list.reads(words) || global.is_some_and(|global| global.reads(words))
            };
            if readings.iter().any(known) {
                continue;
            }
            let written = list.written.len();
            for words in readings {
                list.add(written, words);
            }
            list.written.push(term.trim().to_string());
            list.plain.push(comparable(term));
        }
        list.inside_runs = InsideRuns::new(&list.folded)
            .map_err(|error| TermListError::TooLarge(error.to_string()))?;
        Ok(list)
    }

    /// Whether a term already in the list reads as `words`.
    fn reads(&self, words: &[Runs]) -> bool {
        let Some(first) = words.first() else {
            return false;
        };
        self.by_first_word
            .get(&first.letters)
            .is_some_and(|candidates| {
                candidates.iter().any(|index| {
                    self.folded
                        .get(*index)
                        .is_some_and(|earlier| earlier.words == words)
                })
            })
    }

    /// Adds `words` as a reading of the term at `written`.
    fn add(&mut self, written: usize, words: Vec<Runs>) {
        let Some(first) = words.first().map(|word| word.letters.clone()) else {
            return;
        };
        let letters: usize = words
            .iter()
            .flat_map(|word| &word.lengths)
            .map(|length| usize::from(*length))
            .sum();
        let first_letters = words
            .first()
            .map_or(0, |word| Runs::letter_count(&word.lengths));
        self.by_first_word
            .entry(first)
            .or_default()
            .push(self.folded.len());
        self.by_first_word_letters
            .entry(first_letters)
            .or_default()
            .push(self.folded.len());
        self.folded.push(FoldedTerm {
            written,
            words,
            inside_runs: letters >= MIN_SPELLED_OUT_LETTERS,
        });
    }

    /// Whether the list holds no term.
    pub fn is_empty(&self) -> bool {
        self.written.is_empty()
    }

    /// The terms (as configured) that occur in the folded words, each once,
    /// in the order they first occur.
    #[cfg(test)]
    pub fn find<'a>(&'a self, words: &FoldedWords) -> Vec<&'a str> {
        terms_of(self.find_where(words))
    }

    /// The terms found, each once, with the words where each was first
    /// found, in the order they first occur.
    pub fn find_where<'a>(&'a self, words: &FoldedWords) -> Vec<Found<'a>> {
        let mut found: Vec<(usize, Range<usize>, usize)> = Vec::new();
        if self.written.is_empty() {
            return Vec::new();
        }
        let mut note = |index: usize, at: Range<usize>, offset: usize| {
            if !found.iter().any(|(earlier, _, _)| *earlier == index) {
                found.push((index, at, offset));
            }
        };
        let mut masked_words = 0usize;
        for start in 0..words.len() {
            if words.is_spelled_out(start) {
                // A term may begin anywhere inside a spelled-out run.
                if let Some(inside_runs) = &self.inside_runs {
                    inside_runs.find(&self.folded, words, start, &mut note);
                }
                continue;
            }
            for (letters, lengths) in words.readings(start) {
                let candidates = if letters.contains(MASKS) {
                    // A masked word is compared with every term whose first
                    // word is as long: a long list holds hundreds, so only
                    // the first few masked words of a comment are.
                    masked_words += 1;
                    if masked_words > MAX_MASKED_WORDS {
                        continue;
                    }
                    self.by_first_word_letters.get(&Runs::letter_count(lengths))
                } else {
                    self.by_first_word.get(letters)
                };
                let Some(candidates) = candidates else {
                    continue;
                };
                for index in candidates {
                    if let Some(term) = self.folded.get(*index) {
                        if let Some(end) = term.occurs_at(words, start) {
                            note(term.written, start..end, 0);
                        }
                    }
                }
            }
        }
        found
            .into_iter()
            .filter_map(|(index, at, offset)| {
                Some(Found {
                    term: self.written.get(index)?.as_str(),
                    plain: self.plain.get(index)?.as_str(),
                    words: at,
                    offset,
                })
            })
            .collect()
    }
}

impl FoldedTerm {
    /// Where the term ends (the index after the last word it takes) when
    /// it occurs in the words from word `start` on, each word in any of its
    /// readings (see `fold`). `start` is an ordinary word; spelled-out runs
    /// are searched by [`InsideRuns`].
    fn occurs_at(&self, words: &FoldedWords, start: usize) -> Option<usize> {
        let (first, rest) = self.words.split_first()?;
        let starts_here = words
            .readings(start)
            .any(|(letters, lengths)| Runs::covers(letters, lengths, first));
        if !starts_here {
            return None;
        }
        self.follows(words, start + 1, rest)
    }

    /// Where the term's words `rest` end (the index after the last word
    /// they take) when they follow from word `next` on. An ordinary word is
    /// one of them; a spelled-out run is several of them written together,
    /// or begins with all those left.
    fn follows(&self, words: &FoldedWords, next: usize, rest: &[Runs]) -> Option<usize> {
        let Some((first, after_first)) = rest.split_first() else {
            return Some(next);
        };
        if next >= words.len() {
            return None;
        }
        if !(self.inside_runs && words.is_spelled_out(next)) {
            let written = words
                .readings(next)
                .any(|(letters, lengths)| Runs::covers(letters, lengths, first));
            return if written {
                self.follows(words, next + 1, after_first)
            } else {
                None
            };
        }
        // The term's next words written together, one more at a time, up to
        // as long as the run's longest reading: joining them anew for each
        // count made a long term cost the square of its length at every
        // run it might go on in.
        let longest = words
            .readings(next)
            .map(|(letters, _)| letters.len())
            .max()
            .unwrap_or(0);
        let mut joined = Runs::default();
        for count in 1..=rest.len() {
            joined.append(&rest[count - 1]);
            if joined.letters.len() > longest {
                return None;
            }
            let after = &rest[count..];
            let end = words.readings(next).find_map(|(letters, lengths)| {
                if after.is_empty() {
                    Runs::covers_start(letters, lengths, &joined).then_some(next + 1)
                } else if Runs::covers(letters, lengths, &joined) {
                    self.follows(words, next + 1, after)
                } else {
                    None
                }
            });
            if end.is_some() {
                return end;
            }
        }
        None
    }
}

impl InsideRuns {
    /// `None` when no term is long enough to be looked for inside runs.
    fn new(terms: &[FoldedTerm]) -> Result<Option<InsideRuns>, aho_corasick::BuildError> {
        let mut pattern_of: HashMap<String, usize> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut parts: Vec<Vec<TermPart>> = Vec::new();
        for (term, folded) in terms.iter().enumerate() {
            if !folded.inside_runs {
                continue;
            }
            let mut joined = Runs::default();
            for words in 1..=folded.words.len() {
                joined.append(&folded.words[words - 1]);
                let joined = joined.clone();
                let pattern = *pattern_of.entry(joined.letters.clone()).or_insert_with(|| {
                    patterns.push(joined.letters.clone());
                    parts.push(Vec::new());
                    patterns.len() - 1
                });
                parts[pattern].push(TermPart {
                    term,
                    words,
                    joined,
                });
            }
        }
        if patterns.is_empty() {
            return Ok(None);
        }
        // Built from the operator's terms as the configuration is read: a
        // failure (an automaton too large) is the configuration's error, so
        // that no term is silently left unsearched.
        let automaton = AhoCorasick::new(&patterns)?;
        Ok(Some(InsideRuns { automaton, parts }))
    }

    /// Calls `note` with each term found in the spelled-out run at word
    /// `start`: wholly inside it, or its first words ending it and the
    /// others following.
    fn find(
        &self,
        terms: &[FoldedTerm],
        words: &FoldedWords,
        start: usize,
        note: &mut dyn FnMut(usize, Range<usize>, usize),
    ) {
        // Found terms by where they start in the run: the automaton reports
        // them by where they end, and reasons name terms in the order they
        // occur.
        // (where it starts in the run, the term, the word after its last).
        let mut found: Vec<(usize, usize, usize)> = Vec::new();
        for (letters, lengths) in words.readings(start) {
            // Where each character starts, for the runs' lengths, which
            // count characters (only needed beyond ASCII).
            let starts: Vec<usize> = if letters.is_ascii() {
                Vec::new()
            } else {
                letters.char_indices().map(|(byte, _)| byte).collect()
            };
            let character_index = |byte: usize| {
                if starts.is_empty() {
                    byte
                } else {
                    starts.partition_point(|start| *start < byte)
                }
            };
            for found_at in self.automaton.find_overlapping_iter(letters) {
                let index = character_index(found_at.start());
                let ends_run = found_at.end() == letters.len();
                for part in &self.parts[found_at.pattern().as_usize()] {
                    let Some(term) = terms.get(part.term) else {
                        continue;
                    };
                    let whole = part.words == term.words.len();
                    if !(whole || ends_run) {
                        continue;
                    }
                    // A term that ends the run ends where the run does: a
                    // doubled last letter there is the run's spelling ("c u
                    // l l" is no "cul"), as in an ordinary word.
                    let written = Runs::covers_from(
                        letters,
                        lengths,
                        found_at.start(),
                        index,
                        &part.joined,
                        !ends_run,
                    );
                    if !written {
                        continue;
                    }
                    let end = if whole {
                        Some(start + 1)
                    } else {
                        term.follows(words, start + 1, &term.words[part.words..])
                    };
                    if let Some(end) = end {
                        found.push((found_at.start(), part.term, end));
                    }
                }
            }
        }
        found.sort_by_key(|(at, _, _)| *at);
        for (offset, term, end) in found {
            if let Some(term) = terms.get(term) {
                note(term.written, start..end, offset);
            }
        }
    }
}

/// The sentence of a term rule about one place (`place` begins it, "The
/// comment" or "The author's name"), naming up to three of the terms found
/// there, each with how it was written when that differs from the term
/// ("hell" written "heil") or where it was found: a moderator sees which
/// words the rule read as the term.
pub fn describe_found(place: &str, kind: &str, terms: &[(&str, Option<String>)]) -> String {
    let shown: Vec<String> = terms
        .iter()
        .take(NAMED_TERMS)
        .map(|(term, written)| match written {
            Some(written) => format!("\"{term}\" ({written})"),
            None => format!("\"{term}\""),
        })
        .collect();
    let more = terms.len().saturating_sub(NAMED_TERMS);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "{place} contains the {kind} term{} {}{tail}.",
        if terms.len() == 1 { "" } else { "s" },
        shown.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::fold::folded_words;

    fn list(terms: &[&str]) -> TermList {
        TermList::new(&terms.iter().map(|t| t.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn found(terms: &TermList, text: &str) -> Vec<String> {
        terms
            .find(&folded_words(&normalize(text)))
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn terms_match_whole_words_in_any_disguise() {
        let terms = list(&["free money", "Viagra"]);
        let cases: [(&str, &[&str]); 10] = [
            ("Get FREE MONEY now", &["free money"]),
            ("get fr3e  m0ney now", &["free money"]),
            ("ｆｒｅｅ ｍｏｎｅｙ here", &["free money"]),
            ("cheap v1agra and free money", &["Viagra", "free money"]),
            ("v.i.a.g.r.a", &["Viagra"]),
            ("free of money worries", &[]),
            ("freedom money", &[]),
            ("Money for free", &[]),
            ("Das ist ein freier Mensch mit Geld", &[]),
            ("Деньги бесплатно, это отличная статья", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(found(&terms, text), expected.to_vec(), "{text}");
        }
    }

    /// A word with letters masked by `*` or `#` is the term it writes but
    /// for them; masks at a word's edge, or more masks than letters, mask
    /// nothing.
    #[test]
    fn masked_letters_stand_for_the_terms_letters() {
        let terms = list(&["fuck", "bullshit", "free money", "ass"]);
        let cases: [(&str, &[&str]); 16] = [
            ("f*ck this", &["fuck"]),
            ("what the F**K", &["fuck"]),
            ("fu#k", &["fuck"]),
            ("utter bullsh*t", &["bullshit"]),
            ("fr*e m*ney inside", &["free money"]),
            ("a*s", &["ass"]),
            // As many letters as the term, no more and no fewer.
            ("f*cks given", &[]),
            ("f*k", &[]),
            // Masks at an edge, or most of the word, are no mask.
            ("f***", &[]),
            ("*ss", &[]),
            ("terms apply* and **free** money", &["free money"]),
            ("2*3 = 6, a#b", &[]),
            // A `!` after the word, as a curse ends.
            ("what the f*ck!!", &["fuck"]),
            // Letters spelled out with masks between them, and two words
            // joined by one, are read as before masks were.
            ("f*r*e*e money", &["free money"]),
            ("free*money", &["free money"]),
            ("free#money", &["free money"]),
        ];
        for (text, expected) in cases {
            assert_eq!(found(&terms, text), expected.to_vec(), "{text}");
        }
    }

    /// A chord is no masked word.
    #[test]
    fn chords_are_not_masked_words() {
        let terms = list(&["cum", "viagra"]);
        assert!(found(&terms, "play the C#m chord").is_empty());
        assert_eq!(found(&terms, "buy v*i*a*g*r*a now"), vec!["viagra"]);
        assert_eq!(found(&terms, "v#i#a#g#r#a"), vec!["viagra"]);
        // Three characters with a `#` that name no chord are a masked word.
        let terms = list(&["ass", "motherfucker"]);
        assert_eq!(found(&terms, "you a#s"), vec!["ass"]);
        // Two long parts are two words, unless the term is written so too.
        assert!(found(&terms, "you motherf*cker").is_empty());
        let terms = list(&["motherf*cker"]);
        assert_eq!(found(&terms, "you motherf*cker"), vec!["motherf*cker"]);
    }

    /// Only the first [`MAX_MASKED_WORDS`] masked words are compared.
    #[test]
    fn masked_words_are_compared_up_to_a_bound() {
        let terms = list(&["fuck"]);
        let masked_before = |count: usize| format!("{} f*ck", "b*sh ".repeat(count));
        assert_eq!(
            found(&terms, &masked_before(MAX_MASKED_WORDS - 1)),
            vec!["fuck"]
        );
        assert!(found(&terms, &masked_before(MAX_MASKED_WORDS)).is_empty());
    }

    /// Symbols that decorate a word or stand between two words hide
    /// neither from a term.
    #[test]
    fn symbols_around_or_between_words_hide_no_term() {
        let terms = list(&["viagra", "casino", "poker"]);
        assert_eq!(found(&terms, "cheap @viagra here"), vec!["viagra"]);
        assert_eq!(
            found(&terms, "best casino|poker site"),
            vec!["casino", "poker"]
        );
        assert_eq!(found(&terms, "$$casino$$ tonight"), vec!["casino"]);
        assert!(found(&terms, "the pokers|tables").is_empty());
    }

    /// Common words that a short term is hidden in by a doubled letter, a
    /// number or a list are not that term.
    #[test]
    fn numbers_lists_and_doubled_letters_are_not_terms() {
        let terms = list(&["ass", "loser", "god", "sex"]);
        for text in [
            "The deal is worth A$5 billion.",
            "Free bus passes for the over-45s",
            "The A55 was closed after the crash.",
            "Grades: A, S, S, B.",
            "The Fed's looser monetary policy",
            "Good morning",
        ] {
            assert!(found(&terms, text).is_empty(), "{text}");
        }
        // The disguises the folding is for still are.
        assert_eq!(found(&terms, "what a l0000ser"), vec!["loser"]);
        assert_eq!(found(&terms, "@ss"), vec!["ass"]);
        assert_eq!(found(&terms, "a$$"), vec!["ass"]);
        assert_eq!(found(&terms, "free s3x"), vec!["sex"]);
    }

    /// A term with accents, `ß` or `ё` also matches the plain spelling
    /// most keyboards type, as a word with them also reads plain.
    #[test]
    fn a_term_also_matches_its_plain_spelling() {
        let terms = list(&["maricón", "scheiße", "ёлка"]);
        assert_eq!(found(&terms, "MARICON"), vec!["maricón"]);
        assert_eq!(found(&terms, "maricón"), vec!["maricón"]);
        assert_eq!(found(&terms, "so eine SCHEISSE"), vec!["scheiße"]);
        assert_eq!(found(&terms, "елка"), vec!["ёлка"]);
        assert!(found(&terms, "marico").is_empty());
        // `ñ` is a letter of its own.
        let spanish = list(&["coño"]);
        assert!(found(&spanish, "Los países del Cono Sur").is_empty());
        assert_eq!(found(&spanish, "coño"), vec!["coño"]);
        // Both readings name the term once, and a term that reads like an
        // earlier one is kept once.
        assert_eq!(found(&terms, "maricón maricon"), vec!["maricón"]);
        let twice = list(&["maricon", "maricón"]);
        assert_eq!(found(&twice, "maricón"), vec!["maricon"]);
    }

    proptest::proptest! {
        /// A term of plain words is found in a text that writes it, in
        /// capitals, with a letter stretched at its start, with symbols
        /// around it, or among other words; and a text that only begins
        /// like it (a word cut short) holds no such term.
        #[test]
        fn a_term_is_found_wherever_it_is_written(
            term in "[a-z]{2,10}( [a-z]{2,10}){0,2}",
            before in "[a-z]{0,8}",
        ) {
            let terms = list(&[&term]);
            let stretched = format!("{}{term}", &term[..1]);
            for text in [
                term.clone(),
                term.to_uppercase(),
                stretched,
                format!("@{term}$"),
                format!("{before} {term}, and more"),
            ] {
                proptest::prop_assert_eq!(found(&terms, &text), vec![term.clone()], "{}", text);
            }
            let cut = &term[..term.len() - 1];
            if !cut.ends_with(' ') && cut.len() >= 2 {
                proptest::prop_assert!(found(&terms, cut).is_empty(), "{}", cut);
            }
        }
    }

    /// Russian terms meet the digits and Latin letters Russian writers
    /// disguise them with: `3` for `з`, `6` for `б`, a Latin `i`, `n` or `u`
    /// for `и`, `п` or `и`.
    #[test]
    fn russian_terms_meet_their_disguises() {
        let terms = list(&["пидор", "бля", "пизда"]);
        for (text, term) in [
            ("ты пiдор", "пидор"),
            ("ну 6ля", "бля"),
            ("пи3да", "пизда"),
            ("nидор", "пидор"),
            ("пuдор", "пидор"),
        ] {
            assert_eq!(found(&terms, text), vec![term], "{text}");
        }
        // A Latin `i` in a word that also reads as Latin.
        let both = list(&["хуи"]);
        assert_eq!(found(&both, "хуi"), vec!["хуи"]);
        for text in ["Путин выступил", "Putin spoke", "пиджак", "6 лет"] {
            assert!(found(&terms, text).is_empty(), "{text}");
        }
        // A digit beside a single letter is a name's: a road, a size.
        let short = list(&["еб", "хз"]);
        for text in ["Трасса Е6 закрыта", "Разметка Х3"] {
            assert!(found(&short, text).is_empty(), "{text}");
        }
    }

    /// The letter after an apostrophe ends its word: "It's a SS uniform"
    /// spells out no "sass".
    #[test]
    fn a_contractions_letter_spells_nothing_out() {
        let terms = list(&["ass"]);
        for text in ["It's a SS uniform.", "That's a bad idea"] {
            assert!(found(&terms, text).is_empty(), "{text}");
        }
        assert_eq!(found(&terms, "what a s s"), vec!["ass"]);
        // Apostrophes between letters spelled out, or around them, are no
        // contractions.
        let viagra = list(&["viagra"]);
        for text in [
            "buy 'v i a g r a' now",
            "buy v'i'a'g'r'a now",
            "buy v’i’a’g’r’a now",
            "buy v`i`a`g`r`a now",
        ] {
            assert_eq!(found(&viagra, text), vec!["viagra"], "{text}");
        }
    }

    /// Where a term was found is the words it took, no more: a run of
    /// spelled-out letters may hold several of its words.
    #[test]
    fn a_term_is_found_in_the_words_it_takes() {
        let terms = list(&["buy cheap pills", "free money fast cash", "cul"]);
        let written = |text: &str| -> Vec<String> {
            let normalized = normalize(text);
            let words = folded_words(&normalized);
            terms
                .find_where(&words)
                .into_iter()
                .map(|found| normalized[words.written_span(found.words)].to_string())
                .collect()
        };
        assert_eq!(
            written("buy c h e a p p i l l s now and forever"),
            ["buy c h e a p p i l l s"]
        );
        assert_eq!(
            written("f r e e money f a s t c a s h and more"),
            ["f r e e money f a s t c a s h"]
        );
        // A doubled last letter ending a run is the run's spelling, as in
        // an ordinary word.
        assert!(written("c u l l").is_empty());
        assert_eq!(written("c u l"), ["c u l"]);
    }

    /// A site's own terms and the global ones are named in the order they
    /// occur, as one list would name them.
    #[test]
    fn layered_terms_are_named_in_the_order_they_occur() {
        let global = TermList::new(&["casino".into(), "poker".into(), "roulette".into()]).unwrap();
        let own = TermList::beside(&global, &["lottery".into(), "Casino".into()]).unwrap();
        let layered = LayeredTerms::new(Arc::new(global), own);
        let words = folded_words(&normalize(
            "lottery tickets here, and casino poker roulette",
        ));
        assert_eq!(
            layered.find(&words),
            ["lottery", "casino", "poker", "roulette"]
        );
        // Inside one run of spelled-out letters too.
        let words = folded_words(&normalize("l o t t e r y c a s i n o"));
        assert_eq!(layered.find(&words), ["lottery", "casino"]);
    }

    /// A term written with a symbol is found whole: its parts are no terms
    /// of their own ("work" is not a "sex@work").
    #[test]
    fn a_term_written_with_a_symbol_is_found_whole() {
        let terms = list(&["sex@work", "casino|poker", "spammer@example"]);
        for text in ["I work here", "play poker", "for example"] {
            assert!(found(&terms, text).is_empty(), "{text}");
        }
        assert_eq!(found(&terms, "sex@work now"), vec!["sex@work"]);
    }

    /// A letter doubled at a word's start still writes the term's single
    /// one; elsewhere it is another word's spelling ("cull", "Conn.",
    /// "Bordell" end so), and a letter stretched to three is the term's.
    #[test]
    fn a_doubled_first_letter_still_matches_and_a_doubled_last_one_does_not() {
        let terms = list(&["sex", "free money", "loser", "cul", "con", "bordel"]);
        assert_eq!(found(&terms, "ffree money"), vec!["free money"]);
        assert_eq!(found(&terms, "sexxx"), vec!["sex"]);
        for text in [
            "looser",
            "The badger cull starts next week.",
            "Sen. Murphy (D-Conn.) agreed.",
            "Das Bordell wurde geschlossen.",
        ] {
            assert!(found(&terms, text).is_empty(), "{text}");
        }
    }

    #[test]
    fn a_term_with_a_doubled_letter_needs_it_doubled() {
        let terms = list(&["ass", "free money"]);
        // Letters stretched to three or more still match the term's.
        assert_eq!(found(&terms, "what an asssss"), vec!["ass"]);
        assert_eq!(found(&terms, "FREEEEE moneyyyy"), vec!["free money"]);
        // A word with fewer repeats is another word.
        assert!(found(&terms, "as good as it gets").is_empty());
        assert!(found(&terms, "fre money").is_empty());
    }

    #[test]
    fn non_latin_terms_match_their_own_script() {
        let terms = list(&["казино"]);
        assert_eq!(found(&terms, "Лучшее КАЗИНО онлайн"), vec!["казино"]);
        assert!(found(&terms, "казиноман").is_empty());
    }

    /// Runs are searched for every term at once: among many terms, those
    /// inside a long run are found, in any script, and the others not.
    #[test]
    fn runs_are_searched_for_many_terms_at_once() {
        let mut terms: Vec<String> = (0..500).map(|number| format!("zq{number}x")).collect();
        terms.push("cheap pills".to_string());
        terms.push("казино".to_string());
        let terms = TermList::new(&terms).unwrap();
        let mut run: Vec<String> = "abcdefghijklmnopqrstuvwxy"
            .chars()
            .cycle()
            .take(3_000)
            .map(String::from)
            .collect();
        run.extend("c h e a p p i l l s".split(' ').map(String::from));
        run.extend("defg".chars().map(String::from));
        assert_eq!(found(&terms, &run.join(" ")), ["cheap pills"]);
        assert_eq!(found(&terms, "лучшее к а з и н о онлайн"), ["казино"]);
        assert_eq!(found(&terms, "get c h e a p pills"), ["cheap pills"]);
        assert!(found(&terms, "a b c d e f g").is_empty());
        // In the order they occur, as in the rest of the text.
        let two = list(&["cheap pills", "viagra"]);
        assert_eq!(
            found(&two, "v i a g r a c h e a p p i l l s"),
            ["viagra", "cheap pills"]
        );
    }

    #[test]
    fn terms_are_found_inside_letters_spelled_out() {
        let terms = list(&["free money", "viagra", "casino bonus", "cheap pills"]);
        let cases: [(&str, &[&str]); 10] = [
            ("get c h e a p p i l l s", &["cheap pills"]),
            ("get f r e e m o n e y now", &["free money"]),
            // A one-letter word beside the run joins it.
            ("buy a v i a g r a pack", &["viagra"]),
            ("buy v i a g r a n o w", &["viagra"]),
            ("V I A G R A", &["viagra"]),
            // A term's first words ending a run and the rest after it, or
            // its first words before a run that begins with the rest.
            ("get a f r e e money", &["free money"]),
            ("free m o n e y s", &["free money"]),
            // The letters of a term in a run, but not all of them.
            ("get c h e a p i l l s", &[]),
            ("f r e e m o n e t a r y", &[]),
            ("casino b o n", &[]),
        ];
        for (text, expected) in cases {
            assert_eq!(found(&terms, text), expected.to_vec(), "{text}");
        }
        // Ordinary words are still whole words, and a term of two letters
        // is not looked for inside runs (initials would hold it).
        let terms = list(&["rapist", "ok"]);
        assert!(found(&terms, "ask the therapist").is_empty());
        assert!(found(&terms, "b o o k s").is_empty());
        assert_eq!(found(&terms, "ok then"), vec!["ok"]);
    }

    #[test]
    fn terms_match_through_marks_and_accents() {
        let terms = list(&["free money", "viagra"]);
        let cases: [(&str, &[&str]); 6] = [
            ("get vi\u{0307}agra now", &["viagra"]),
            ("get fre\u{0323}e money now", &["free money"]),
            ("cheap víagra", &["viagra"]),
            ("cheap VÏAGRA", &["viagra"]),
            ("v í a g r a", &["viagra"]),
            (
                "v\u{0336}i\u{0336}a\u{0336}g\u{0336}r\u{0336}a\u{0336}",
                &["viagra"],
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(found(&terms, text), expected.to_vec(), "{text:?}");
        }
    }

    #[test]
    fn cyrillic_terms_match_latin_look_alikes_inside_them() {
        let terms = list(&["казино", "покер", "місто", "сахар"]);
        let cases: [(&str, &[&str]); 6] = [
            // A Latin `A`, `o`, `H`.
            ("Лучшее КAЗИНО онлайн", &["казино"]),
            ("Играй в пoкер", &["покер"]),
            ("КАЗИHО", &["казино"]),
            ("К A З И Н О", &["казино"]),
            // Ukrainian typed with a Latin `i`.
            ("Моє мiсто", &["місто"]),
            // A Latin `a` in a word whose letters all look Latin too.
            ("с\u{0061}хар", &["сахар"]),
        ];
        for (text, expected) in cases {
            assert_eq!(found(&terms, text), expected.to_vec(), "{text}");
        }
        // A word wholly in Latin is no Cyrillic one, however alike.
        assert!(found(&terms, "caxap").is_empty());
    }

    /// Cyrillic capitals that look like Latin ones (`Т`, `М`, `Н`, `К`,
    /// `В`) hidden in a word typed in capitals: normalised to lower case,
    /// they are letters drawn as small capitals, whose look-alikes are
    /// Latin letters all the same.
    #[test]
    fn cyrillic_capitals_hidden_in_latin_words_read_as_latin() {
        let terms = list(&["cunt", "money", "hot", "нет", "bet", "cheat"]);
        let cases: [(&str, &[&str]); 8] = [
            ("You CUN\u{0422}", &["cunt"]),
            ("\u{041C}ONEY BACK", &["money"]),
            ("\u{041D}OT girls", &["hot"]),
            // Mostly Cyrillic capitals, too.
            ("H\u{041E}\u{0422} singles", &["hot"]),
            ("\u{0412}\u{0415}T NOW", &["bet"]),
            ("C\u{041D}\u{0415}\u{0410}T codes", &["cheat"]),
            // Such a word reads as Cyrillic as well.
            ("н\u{0065}т", &["нет"]),
            ("нет", &["нет"]),
        ];
        // A Cyrillic word typed with a Latin `i` on a Russian layout reads
        // as no Latin word through its small-capital letters.
        let latin = list(&["kit", "kim"]);
        for text in ["кiт", "кiм"] {
            assert!(found(&latin, text).is_empty(), "{text}");
        }
        for (text, expected) in cases {
            assert_eq!(found(&terms, text), expected.to_vec(), "{text}");
        }
    }

    #[test]
    fn a_term_of_only_punctuation_is_refused() {
        let terms = vec!["ok".to_string(), "!!".to_string()];
        assert_eq!(
            TermList::new(&terms).unwrap_err(),
            TermListError::NoWords(1)
        );
    }

    /// A term whose symbols fell away between single letters ("c#" reads
    /// as "c") would match every lone letter; a term written as one letter
    /// or character means it. Terms longer than a phrase are refused.
    #[test]
    fn terms_of_single_letters_by_accident_and_overlong_terms_are_refused() {
        let refused = |term: &str| TermList::new(&[term.to_string()]).unwrap_err();
        assert_eq!(
            refused("c#"),
            TermListError::SingleLetters(0, "c".to_string())
        );
        assert_eq!(
            refused("c++"),
            TermListError::SingleLetters(0, "c".to_string())
        );
        assert_eq!(
            refused("5%"),
            TermListError::SingleLetters(0, "5".to_string())
        );
        for kept in [
            "x", "l", "死", "at&t", "ii", "a b", "R&B", "U.S.", "p.m.", "#12",
        ] {
            assert!(TermList::new(&[kept.to_string()]).is_ok(), "{kept}");
        }
        // "R&B" finds itself, and not a lone "r" or "b".
        let terms = list(&["R&B"]);
        assert_eq!(found(&terms, "I love R&B music"), ["R&B"]);
        assert!(found(&terms, "plan b or plan r").is_empty());
        let words = vec!["word"; MAX_TERM_WORDS + 1].join(" ");
        assert_eq!(refused(&words), TermListError::TooLong(0));
        assert_eq!(
            refused(&"a".repeat(MAX_TERM_CHARACTERS + 1)),
            TermListError::TooLong(0)
        );
        let longest = vec!["word"; MAX_TERM_WORDS].join(" ");
        assert!(TermList::new(&[longest]).is_ok());
    }

    /// The longest term a list takes, followed through a comment full of
    /// runs of spelled-out letters after its first word, is still found
    /// where it occurs.
    #[test]
    fn a_long_term_is_followed_into_spelled_out_runs() {
        let words: Vec<String> = (0..MAX_TERM_WORDS)
            .map(|index| format!("w{index}zq"))
            .collect();
        let terms = list(&[words.join(" ").as_str()]);
        let mut text = "w0zq a e o ".repeat(2_000);
        text.push_str(&words.join(" "));
        assert_eq!(found(&terms, &text), vec![words.join(" ")]);
    }

    /// [`describe_found`] of terms found as they are written.
    fn describe_terms(place: &str, kind: &str, terms: &[&str]) -> String {
        let named: Vec<(&str, Option<String>)> = terms.iter().map(|term| (*term, None)).collect();
        describe_found(place, kind, &named)
    }

    #[test]
    fn a_term_listed_twice_is_named_once() {
        // Twice in one list, in another case or disguise, or in the global
        // list and again in a site's (whose list is built beside it).
        let terms = list(&["casino", "free money", "Casino", " FR3E  money ", "casino"]);
        let text = "Free money at the casino";
        assert_eq!(found(&terms, text), vec!["free money", "casino"]);
        let named = terms.find(&folded_words(&normalize(text)));
        assert_eq!(
            describe_terms("The comment", "blocked", &named),
            "The comment contains the blocked terms \"free money\", \"casino\"."
        );
        let terms = list(&["casino"]);
        let named = terms.find(&folded_words(&normalize("casino")));
        assert_eq!(
            describe_terms("The comment", "blocked", &named),
            "The comment contains the blocked term \"casino\"."
        );
        // Terms that only start alike are other terms.
        let terms = list(&["casino", "casino bonus", "cassino"]);
        assert_eq!(
            found(&terms, "casino bonus and cassino"),
            vec!["casino", "casino bonus", "cassino"]
        );
    }

    #[test]
    fn a_site_repeating_a_global_term_names_it_once() {
        use crate::rules::{Context, Rule, RulesConfig};
        let config: RulesConfig = toml::from_str(
            "blocked_terms = [\"casino\"]\n\
             [sites.\"news.example\"]\nblocked_terms = [\"CASINO\"]\n",
        )
        .unwrap();
        let rules = config.check().unwrap();
        let mut comment = crate::rules::testing_comment("Best casino online");
        comment.site_id = "news.example".to_string();
        let context = Context::stateless(crate::domain::UnixMillis(0));
        let hits = rules
            .for_site("news.example")
            .evaluate(&comment, &context)
            .hits;
        let blocked = hits
            .iter()
            .find(|hit| hit.rule == Rule::BlockedTerm)
            .expect("the term is blocked");
        assert_eq!(
            blocked.message,
            "The comment contains the blocked term \"casino\"."
        );
    }

    #[test]
    fn messages_name_the_terms() {
        assert_eq!(
            describe_terms("The comment", "blocked", &["a", "b"]),
            "The comment contains the blocked terms \"a\", \"b\"."
        );
        assert_eq!(
            describe_terms("The author's name", "suspect", &["a", "b", "c", "d"]),
            "The author's name contains the suspect terms \"a\", \"b\", \"c\" and 1 more."
        );
    }
}
