//! A similarity fingerprint of a comment's text (MinHash over character
//! shingles of its folded words), so that near-duplicates are found without
//! keeping or comparing whole texts. Two fingerprints agree in a share of
//! their slots that estimates the Jaccard similarity of the two texts'
//! shingle sets: a changed word or two leaves it high, another text leaves
//! it near zero.

use serde::{Deserialize, Serialize};

use super::fold::folded_words;
use crate::text::normalize;

/// Slots of a fingerprint. 32 keeps the estimate's standard error below
/// 0.09 while a stored fingerprint stays small.
pub const SLOTS: usize = 32;

/// Characters per shingle: long enough that unrelated texts share few,
/// short enough that one changed word touches few.
const SHINGLE_CHARS: usize = 5;

/// Texts shorter than this (after folding) get no fingerprint: short
/// phrases ("great article, thanks") are repeated by honest readers.
pub const MIN_FINGERPRINT_CHARS: usize = 50;

/// The MinHash of a text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    minima: Vec<u32>,
}

impl Fingerprint {
    /// The fingerprint of raw comment text, or `None` when the text is too
    /// short to say anything about copying.
    pub fn of(raw_text: &str) -> Option<Fingerprint> {
        let folded = folded_words(&normalize(raw_text)).join(" ");
        let characters: Vec<char> = folded.chars().collect();
        if characters.len() < MIN_FINGERPRINT_CHARS {
            return None;
        }
        let mut minima = vec![u32::MAX; SLOTS];
        for shingle in characters.windows(SHINGLE_CHARS) {
            let base = shingle_hash(shingle);
            for (slot, minimum) in minima.iter_mut().enumerate() {
                let value = (mix(base ^ SLOT_SEEDS[slot]) >> 32) as u32;
                if value < *minimum {
                    *minimum = value;
                }
            }
        }
        Some(Fingerprint { minima })
    }

    /// The estimated Jaccard similarity of the two texts, 0..1.
    pub fn similarity(&self, other: &Fingerprint) -> f64 {
        if self.minima.len() != other.minima.len() || self.minima.is_empty() {
            return 0.0;
        }
        let agreeing = self
            .minima
            .iter()
            .zip(&other.minima)
            .filter(|(a, b)| a == b)
            .count();
        agreeing as f64 / self.minima.len() as f64
    }
}

/// One seed per slot, fixed forever: fingerprints are stored, and a stored
/// one must stay comparable with new ones across versions.
const SLOT_SEEDS: [u64; SLOTS] = {
    let mut seeds = [0u64; SLOTS];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut slot = 0;
    while slot < SLOTS {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        seeds[slot] = state;
        slot += 1;
    }
    seeds
};

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
        assert_eq!(fingerprint.minima.len(), SLOTS);
        assert_eq!(fingerprint.similarity(&fingerprint), 1.0);
    }
}
