//! A similarity fingerprint of a comment's text (one-permutation MinHash
//! over character shingles of its folded words), so that near-duplicates
//! are found without keeping or comparing whole texts. Each shingle is
//! hashed once; the hash picks a slot and competes for that slot's minimum.
//! Among the slots that either text filled, the share where both agree
//! estimates the Jaccard similarity of the two texts' shingle sets: a
//! changed word or two leaves it high, another text leaves it near zero.

use serde::{Deserialize, Serialize};

use super::fold::{folded_words, FoldedWords};
use crate::text::normalize;

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
    /// The fingerprint of raw comment text, or `None` when the text is too
    /// short to say anything about copying.
    pub fn of(raw_text: &str) -> Option<Fingerprint> {
        Fingerprint::of_folded_words(&folded_words(&normalize(raw_text)))
    }

    /// The fingerprint of a text's folded words (see `fold`), for callers
    /// that have them already.
    pub fn of_folded_words(words: &FoldedWords) -> Option<Fingerprint> {
        let text = words.text();
        if text.chars().count() < MIN_FINGERPRINT_CHARS {
            return None;
        }
        let mut minima = [EMPTY; SLOTS];
        let mut shingle = ['\0'; SHINGLE_CHARS];
        for (position, character) in text.chars().enumerate() {
            shingle.rotate_left(1);
            shingle[SHINGLE_CHARS - 1] = character;
            if position + 1 < SHINGLE_CHARS {
                continue;
            }
            // One hash per shingle (not one per slot) keeps the fingerprint
            // cheap enough for the request path: its top bits pick the
            // slot, its low bits compete for the slot's minimum.
            let hash = shingle_hash(&shingle);
            let slot = (hash >> 59) as usize % SLOTS;
            let value = (hash as u16).min(EMPTY - 1);
            minima[slot] = minima[slot].min(value);
        }
        Some(Fingerprint { minima })
    }

    /// The estimated Jaccard similarity of the two texts, 0..1: the share
    /// of agreeing slots among those that either text filled.
    pub fn similarity(&self, other: &Fingerprint) -> f64 {
        // Branch-free over the fixed slots, so the compiler can compare many
        // at once: the engine compares against every recent comment.
        let pairs = || self.minima.iter().zip(&other.minima);
        let agreeing: u32 = pairs()
            .map(|(a, b)| u32::from((a == b) & (*a != EMPTY)))
            .sum();
        let both_empty: u32 = pairs()
            .map(|(a, b)| u32::from((*a == EMPTY) & (*b == EMPTY)))
            .sum();
        let filled = SLOTS as u32 - both_empty;
        if filled == 0 {
            0.0
        } else {
            f64::from(agreeing) / f64::from(filled)
        }
    }
}

/// A stable hash of a shingle (the standard library's hashers may change
/// between Rust versions; stored fingerprints must not).
fn shingle_hash(shingle: &[char]) -> u64 {
    let mut hash: u64 = 0xCBF2_9CE4_8422_2325;
    for character in shingle {
        hash ^= u64::from(u32::from(*character));
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
    use super::*;

    const PROMOTION: &str =
        "Earn 500 dollars a day working from home with our amazing new system, \
                             visit our website today and start making money right now";

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
    fn short_texts_have_no_fingerprint() {
        assert!(Fingerprint::of("Great article, thanks for sharing!").is_none());
    }

    #[test]
    fn the_fingerprint_is_stable() {
        // Stored fingerprints are compared with new ones; a change of the
        // hashing would silently break duplicate detection after upgrades.
        let fingerprint = Fingerprint::of(PROMOTION).unwrap();
        assert_eq!(fingerprint, Fingerprint::of(PROMOTION).unwrap());
        assert_eq!(fingerprint.similarity(&fingerprint), 1.0);
    }
}
