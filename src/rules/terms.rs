//! `blocked_term` and `suspect_term`: configured words and phrases found on
//! word boundaries in the folded words of a comment (see `fold`), so that
//! look-alike spellings match and parts of longer words do not.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::fold::{folded_words, FoldedWords, Runs};
use crate::text::normalize;

/// A list of terms, folded once when the rules are built.
#[derive(Debug, Clone, Default)]
pub struct TermList {
    /// Each term as written in the configuration, for the reason's message.
    written: Vec<String>,
    /// Folded terms by their first word, so a comment's words are compared
    /// only with the terms that can start there.
    by_first_word: HashMap<String, Vec<FoldedTerm>, BuildHasherDefault<Fnv>>,
}

/// A term's folded words and its position in the configured list.
type FoldedTerm = (Vec<Runs>, usize);

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

impl TermList {
    /// Folds the terms; a term that folds to no words at all (only
    /// punctuation) is refused with its position.
    ///
    /// A term that folds like an earlier one ("Casino" after "casino",
    /// or a site repeating a term of the global list, which comes first)
    /// matches exactly the same words, so it is kept once, as first
    /// written: a reason then names and counts it once.
    pub fn new(terms: &[String]) -> Result<TermList, usize> {
        let mut list = TermList::default();
        for (position, term) in terms.iter().enumerate() {
            let folded = folded_words(&normalize(term));
            let words: Vec<Runs> = (0..folded.len())
                .map(|index| Runs {
                    letters: folded.word(index).to_string(),
                    lengths: folded.runs(index).to_vec(),
                })
                .collect();
            let Some(first) = words.first().map(|word| word.letters.clone()) else {
                return Err(position);
            };
            let candidates = list.by_first_word.entry(first).or_default();
            if candidates
                .iter()
                .any(|(earlier_words, _)| *earlier_words == words)
            {
                continue;
            }
            candidates.push((words, list.written.len()));
            list.written.push(term.trim().to_string());
        }
        Ok(list)
    }

    /// The terms (as configured) that occur in the folded words, each once,
    /// in the order they first occur.
    pub fn find<'a>(&'a self, words: &FoldedWords) -> Vec<&'a str> {
        let mut found: Vec<usize> = Vec::new();
        if self.written.is_empty() {
            return Vec::new();
        }
        for start in 0..words.len() {
            let Some(candidates) = self.by_first_word.get(words.word(start)) else {
                continue;
            };
            for (term_words, index) in candidates {
                let fits = start + term_words.len() <= words.len();
                let matches = fits
                    && term_words.iter().enumerate().all(|(offset, term_word)| {
                        Runs::covers(
                            words.word(start + offset),
                            words.runs(start + offset),
                            term_word,
                        )
                    });
                if matches && !found.contains(index) {
                    found.push(*index);
                }
            }
        }
        found
            .into_iter()
            .map(|index| self.written[index].as_str())
            .collect()
    }
}

/// The message of a term rule, naming up to three of the terms found.
pub fn describe_terms(kind: &str, terms: &[&str]) -> String {
    let shown: Vec<String> = terms
        .iter()
        .take(3)
        .map(|term| format!("\"{term}\""))
        .collect();
    let more = terms.len().saturating_sub(3);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(
        "The comment contains the {kind} term{} {}{tail}.",
        if terms.len() == 1 { "" } else { "s" },
        shown.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_term_with_a_doubled_letter_needs_it_doubled() {
        let terms = list(&["ass", "free money"]);
        // Letters written more often than the term's still match.
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

    #[test]
    fn a_term_of_only_punctuation_is_refused() {
        let terms = vec!["ok".to_string(), "!!".to_string()];
        assert_eq!(TermList::new(&terms).unwrap_err(), 1);
    }

    #[test]
    fn a_term_listed_twice_is_named_once() {
        // Twice in one list, in another case or disguise, or in the global
        // list and again in a site's (which are joined into one list).
        let terms = list(&["casino", "free money", "Casino", " FR3E  money ", "casino"]);
        let text = "Free money at the casino";
        assert_eq!(found(&terms, text), vec!["free money", "casino"]);
        let named = terms.find(&folded_words(&normalize(text)));
        assert_eq!(
            describe_terms("blocked", &named),
            "The comment contains the blocked terms \"free money\", \"casino\"."
        );
        let terms = list(&["casino"]);
        let named = terms.find(&folded_words(&normalize("casino")));
        assert_eq!(
            describe_terms("blocked", &named),
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
            describe_terms("blocked", &["a", "b"]),
            "The comment contains the blocked terms \"a\", \"b\"."
        );
    }
}
