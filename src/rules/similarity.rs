//! A similarity fingerprint of a comment's text (one-permutation MinHash
//! over character shingles of its folded words), so that near-duplicates
//! are found without keeping or comparing whole texts. Each shingle is
//! hashed once; the hash picks a slot and competes for that slot's minimum.
//! Among the slots that either text filled, the share where both agree
//! estimates the Jaccard similarity of the two texts' shingle sets: a
//! changed word or two leaves it high, another text leaves it near zero.
//!
//! A comment is fingerprinted by its own words: the passages it quotes
//! (see [`without_quotes`]) are taken out first, since a reply that quotes
//! a comment repeats it without copying it.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::fold::{folded_words, FoldedWords};
use crate::text::{normalize, without_quotes};

/// Slots of a fingerprint. 32 keeps the estimate's standard error near
/// 0.09 while a stored fingerprint stays small.
pub const SLOTS: usize = 32;

/// The value of a slot no shingle fell into.
const EMPTY: u16 = u16::MAX;

/// Characters per shingle: long enough that unrelated texts share few,
/// short enough that one changed word touches few.
const SHINGLE_CHARS: usize = 5;

/// Texts shorter than this (after folding) get no fingerprint: short
/// phrases ("great article, thanks") are repeated by honest readers.
pub const MIN_FINGERPRINT_CHARS: usize = 50;

/// The MinHash of a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// 16 bits per slot: two unrelated minima agree by chance once in
    /// 65535, and a fingerprint fits one cache line, which matters when a
    /// new comment is compared with every recent one.
    minima: [u16; SLOTS],
}

impl Fingerprint {
    /// The fingerprint of raw comment text's own words, or `None` when
    /// they are too short to say anything about copying (a reply that only
    /// quotes and adds "Exactly this." has none).
    pub fn of(raw_text: &str) -> Option<Fingerprint> {
        Fingerprint::of_folded_words(&folded_words(&without_quotes(&normalize(raw_text))))
    }

    /// [`Fingerprint::of`] for callers that have the normalised text and
    /// its folded words already: the folded words serve as they are when
    /// the text quotes nothing (most comments), and only a text that
    /// quotes is folded again without its quotes.
    pub fn of_own_words(normalized: &str, words: &FoldedWords) -> Option<Fingerprint> {
        match without_quotes(normalized) {
            Cow::Borrowed(_) => Fingerprint::of_folded_words(words),
            Cow::Owned(own) => Fingerprint::of_folded_words(&folded_words(&own)),
        }
    }

    /// The fingerprint of a text's folded words (see `fold`), quotes and
    /// all; comments are fingerprinted by [`Fingerprint::of_own_words`].
    pub fn of_folded_words(words: &FoldedWords) -> Option<Fingerprint> {
        let text = words.text();
        let mut minima = [EMPTY; SLOTS];
        let mut add = |hash: u64| {
            // One hash per shingle (not one per slot) keeps the fingerprint
            // cheap enough for the request path: its top bits pick the
            // slot, its low bits compete for the slot's minimum.
            let slot = (hash >> 59) as usize % SLOTS;
            let value = (hash as u16).min(EMPTY - 1);
            minima[slot] = minima[slot].min(value);
        };
        let characters = if text.is_ascii() {
            // Most comments: a character is a byte, and the shingles are
            // the byte windows (the same hashes, without decoding).
            for window in text.as_bytes().windows(SHINGLE_CHARS) {
                add(shingle_hash(window.iter().map(|byte| u32::from(*byte))));
            }
            text.len()
        } else {
            let characters: Vec<u32> = text.chars().map(u32::from).collect();
            for window in characters.windows(SHINGLE_CHARS) {
                add(shingle_hash(window.iter().copied()));
            }
            characters.len()
        };
        if characters < MIN_FINGERPRINT_CHARS {
            return None;
        }
        Some(Fingerprint { minima })
    }

    /// The estimated Jaccard similarity of the two texts, 0..1: the share
    /// of agreeing slots among those that either text filled.
    pub fn similarity(&self, other: &Fingerprint) -> f64 {
        self.agreement(other).similarity()
    }

    /// Whether the two hold the same minimum in a slot this one filled:
    /// `agreement(other).agreeing > 0`, found in one pass that counts
    /// nothing, which the compiler turns into a few wide compares. Most
    /// comparisons (unrelated texts) end here, and a busy site compares
    /// every new comment with 2,000 recent ones: twice as fast as counting
    /// (BENCHMARKS.md, "Scoring").
    pub fn shares_a_slot(&self, other: &Fingerprint) -> bool {
        let mut shared = false;
        for (a, b) in self.minima.iter().zip(&other.minima) {
            shared |= (a == b) & (*a != EMPTY);
        }
        shared
    }

    /// The counts [`Fingerprint::similarity`] divides.
    fn agreement(&self, other: &Fingerprint) -> Agreement {
        // Branch-free over the fixed slots, so the compiler can compare many
        // at once: the engine compares against every recent comment.
        let (mut agreeing, mut both_empty) = (0u32, 0u32);
        for (a, b) in self.minima.iter().zip(&other.minima) {
            let same = a == b;
            let empty = *a == EMPTY;
            agreeing += u32::from(same & !empty);
            both_empty += u32::from(same & empty);
        }
        Agreement {
            agreeing,
            filled: SLOTS as u32 - both_empty,
        }
    }
}

/// How two fingerprints agree: slots where both hold the same minimum, and
/// slots that either filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Agreement {
    agreeing: u32,
    filled: u32,
}

impl Agreement {
    /// `agreeing / filled`, or 0 when neither text filled a slot.
    fn similarity(self) -> f64 {
        if self.filled == 0 {
            0.0
        } else {
            f64::from(self.agreeing) / f64::from(self.filled)
        }
    }
}

/// A stable hash of a shingle (the standard library's hashers may change
/// between Rust versions; stored fingerprints must not).
fn shingle_hash(shingle: impl Iterator<Item = u32>) -> u64 {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for character in shingle {
        hash ^= u64::from(character);
        hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix(hash)
}

/// The SplitMix64 finaliser: spreads every input bit over the output.
fn mix(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    value ^ (value >> 31)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::Just;

    use super::*;

    const PROMOTION: &str =
        "Earn 500 dollars a day working from home with our amazing new system, \
                             visit our website today and start making money right now";

    const PROMOTION_MINIMA: [u16; SLOTS] = [
        1929, 5478, 45596, 26471, 58637, 10129, 65186, 5705, 35158, 7681, 41644, 2825, 2366, 41484,
        52739, 7885, 38492, 16385, 18945, 941, 2558, 4252, 3654, 19339, 11286, 2596, 30295, 20393,
        2719, 1380, 13829, 34339,
    ];

    #[test]
    fn small_changes_keep_texts_similar() {
        let original = Fingerprint::of(PROMOTION).unwrap();
        let variants = [
            PROMOTION.replace("500", "700"),
            PROMOTION.replace("amazing", "incredible"),
            PROMOTION.to_uppercase(),
            format!("{PROMOTION}!!!"),
        ];
        for variant in variants {
            let similarity = original.similarity(&Fingerprint::of(&variant).unwrap());
            assert!(similarity >= 0.6, "{similarity} for {variant}");
        }
    }

    #[test]
    fn different_texts_are_not_similar() {
        let original = Fingerprint::of(PROMOTION).unwrap();
        let other = Fingerprint::of(
            "I read the council's report last night and I think the new bus routes will help the older residents",
        )
        .unwrap();
        assert!(original.similarity(&other) < 0.2);
    }

    #[test]
    fn quoted_passages_are_not_fingerprinted() {
        let original = Fingerprint::of(PROMOTION).unwrap();
        // A reply whose own words are too short has no fingerprint at all,
        // however it quotes.
        for reply in [
            format!("> {PROMOTION}\n\nExactly this."),
            format!("&gt; {PROMOTION}\n\nExactly this."),
            format!("<blockquote>{PROMOTION}</blockquote><p>Exactly this.</p>"),
        ] {
            assert_eq!(Fingerprint::of(&reply), None, "{reply}");
        }
        // A longer reply is fingerprinted by its own words alone.
        let own =
            "I got the very same message from a stranger last week and reported it to the police";
        let reply = Fingerprint::of(&format!("> {PROMOTION}\n\n{own}")).unwrap();
        assert_eq!(Some(&reply), Fingerprint::of(own).as_ref());
        assert!(original.similarity(&reply) < 0.6);
        // Folded words of the whole text serve when there is no quote, and
        // are not used when there is one.
        let quoting = format!("> {PROMOTION}\n{own}");
        let normalized = normalize(&quoting);
        assert_eq!(
            Fingerprint::of_own_words(&normalized, &folded_words(&normalized)),
            Some(reply)
        );
        // In HTML, a paragraph that quotes is a line of its own: the
        // paragraphs after it are the comment's own words.
        let html = format!("<p>&gt; ok</p><p>{PROMOTION}</p>");
        assert_eq!(Fingerprint::of(&html).as_ref(), Some(&original));
        let plain = normalize(PROMOTION);
        assert_eq!(
            Fingerprint::of_own_words(&plain, &folded_words(&plain)),
            Some(original)
        );
    }

    proptest::proptest! {
        /// The quick test agrees with the count it stands in for, on
        /// fingerprints whose slots are few values and often empty, so that
        /// agreeing, differing and empty slots all occur.
        #[test]
        fn sharing_a_slot_is_agreeing_on_one(
            one in proptest::array::uniform32(proptest::prop_oneof![Just(EMPTY), 0u16..3]),
            other in proptest::array::uniform32(proptest::prop_oneof![Just(EMPTY), 0u16..3]),
        ) {
            let (one, other) = (Fingerprint { minima: one }, Fingerprint { minima: other });
            proptest::prop_assert_eq!(one.shares_a_slot(&other), one.agreement(&other).agreeing > 0);
        }
    }

    #[test]
    fn short_texts_have_no_fingerprint() {
        assert!(Fingerprint::of("Great article, thanks for sharing!").is_none());
    }

    #[test]
    fn the_fingerprint_is_stable() {
        // Stored fingerprints are compared with new ones; a change of the
        // hashing would silently break duplicate detection after upgrades.
        // These minima were computed by the first version of the code.
        let fingerprint = Fingerprint::of(PROMOTION).unwrap();
        assert_eq!(fingerprint.minima, PROMOTION_MINIMA);
        assert_eq!(fingerprint.similarity(&fingerprint), 1.0);
        // Text beyond ASCII takes the other path to the same hashes.
        let accented = PROMOTION.replace("amazing", "amazíng");
        let other = Fingerprint::of(&accented).unwrap();
        assert!(fingerprint.similarity(&other) > 0.7);
    }
}
