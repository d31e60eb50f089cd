//! Turns a comment's text into the named features the model counts.
//!
//! Feature names carry a one-letter prefix for their kind (`w:` word, `b:`
//! word pair, `n:` number shape, `d:` link domain, `p:` link path segment,
//! `e:` emphasis, `s:` a whole-comment signal) so that reasons can say what
//! each one is.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::text::{normalize, tokenize, TokenKind};

/// How features are extracted; stored in the model file so that scoring
/// extracts exactly what training saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureParams {
    /// Adds each pair of neighbouring words as a feature.
    pub word_pairs: bool,
    /// Character n-grams of each word (with `_` marking its edges), from
    /// `char_ngram_min` to `char_ngram_max` characters; 0 turns them off.
    /// They catch spellings and word forms the training data never showed.
    pub char_ngram_min: usize,
    pub char_ngram_max: usize,
    /// Counts each feature at most once per comment (binarised multinomial),
    /// so that a word repeated ten times does not outvote the rest.
    pub binary: bool,
    /// Whole-comment signals: length class, share of capitals, link count.
    pub signals: bool,
    /// Scales every feature value by `1 / sqrt(number of features)`, so
    /// that long comments do not get ever more extreme log-odds.
    pub normalize_length: bool,
    /// Counts the words outside the vocabulary as one feature. Spam repeats
    /// its templates while people write freely, so words the model has not
    /// seen are evidence of a person; in training, words too rare for the
    /// vocabulary play their part.
    pub unknown_words: bool,
}

impl Default for FeatureParams {
    fn default() -> Self {
        FeatureParams {
            word_pairs: true,
            char_ngram_min: 0,
            char_ngram_max: 0,
            binary: true,
            signals: true,
            normalize_length: false,
            unknown_words: false,
        }
    }
}

/// The features of one text with their values, sorted by name.
pub fn extract_features(params: &FeatureParams, raw_text: &str) -> Vec<(String, f64)> {
    extract_features_normalized(params, raw_text, &normalize(raw_text))
}

/// [`extract_features`] for a text already normalised (`normalized` is
/// `normalize(raw_text)`), so that the rules and the model normalise a
/// comment once between them.
pub fn extract_features_normalized(
    params: &FeatureParams,
    raw_text: &str,
    normalized: &str,
) -> Vec<(String, f64)> {
    let tokens = tokenize(normalized);
    // Every occurrence is collected, then sorted and merged: cheaper than a
    // map for the few dozen features of a comment.
    let mut occurrences: Vec<String> = Vec::with_capacity(tokens.len() * 2 + 4);
    let mut add = |name: String| occurrences.push(name);
    let mut previous_word: Option<&str> = None;
    let mut links = 0;
    for token in &tokens {
        let prefix = match token.kind {
            TokenKind::Word => "w",
            TokenKind::Number => "n",
            TokenKind::LinkDomain => {
                links += 1;
                "d"
            }
            TokenKind::LinkPath => "p",
            TokenKind::Emphasis => "e",
        };
        add(format!("{prefix}:{}", token.text));
        if token.kind == TokenKind::Word && params.char_ngram_max > 0 {
            let marked: Vec<char> = std::iter::once('_')
                .chain(token.text.chars())
                .chain(std::iter::once('_'))
                .collect();
            for size in params.char_ngram_min..=params.char_ngram_max {
                // A word shorter than the n-gram is already a feature.
                if size > marked.len() {
                    break;
                }
                for window in marked.windows(size) {
                    add(format!("c:{}", window.iter().collect::<String>()));
                }
            }
        }
        if params.word_pairs {
            match token.kind {
                TokenKind::Word | TokenKind::Number => {
                    if let Some(previous) = previous_word {
                        add(format!("b:{previous} {}", token.text));
                    }
                    previous_word = Some(&token.text);
                }
                _ => previous_word = None,
            }
        }
    }
    if links > 0 {
        add("s:has_link".to_string());
    }
    if tokens.is_empty() {
        add("s:no_words".to_string());
    }
    if params.signals {
        for signal in whole_comment_signals(raw_text, links) {
            add(signal);
        }
    }
    occurrences.sort_unstable();
    let mut features: Vec<(String, f64)> = Vec::with_capacity(occurrences.len());
    for name in occurrences {
        match features.last_mut() {
            Some((last, count)) if *last == name => *count += 1.0,
            _ => features.push((name, 1.0)),
        }
    }
    let scale = if params.normalize_length && !features.is_empty() {
        1.0 / (features.len() as f64).sqrt()
    } else {
        1.0
    };
    for (_, value) in &mut features {
        if params.binary {
            *value = 1.0;
        }
        *value *= scale;
    }
    features
}

/// Coarse classes of length, capitals and links, as features.
fn whole_comment_signals(raw_text: &str, links: usize) -> Vec<String> {
    let characters = raw_text.chars().count();
    let length = match characters {
        0..=20 => "s:length<=20",
        21..=60 => "s:length<=60",
        61..=150 => "s:length<=150",
        151..=400 => "s:length<=400",
        _ => "s:length>400",
    };
    let letters = raw_text.chars().filter(|c| c.is_alphabetic()).count();
    let capitals = raw_text.chars().filter(|c| c.is_uppercase()).count();
    let mut signals = vec![length.to_string()];
    if letters >= 10 && capitals * 2 > letters {
        signals.push("s:mostly_capitals".to_string());
    }
    if links >= 2 {
        signals.push("s:several_links".to_string());
    }
    signals
}

/// The feature that stands for every word outside the vocabulary.
pub const UNKNOWN_WORD: &str = "u:unknown_word";

/// Maps named features to vocabulary positions, the one place where
/// training and scoring decide what a feature counts for: known features
/// keep their value, unknown words add theirs to [`UNKNOWN_WORD`] when the
/// vocabulary has it, and other unknown features count for nothing.
pub fn resolve_positions(
    features: &[(String, f64)],
    vocabulary_index: &HashMap<String, usize>,
) -> Vec<(usize, f64)> {
    let unknown_word = vocabulary_index.get(UNKNOWN_WORD).copied();
    let mut unknown_total = 0.0;
    let mut resolved = Vec::with_capacity(features.len() + 1);
    for (feature, value) in features {
        match vocabulary_index.get(feature.as_str()) {
            Some(position) => resolved.push((*position, *value)),
            None if feature.starts_with("w:") => unknown_total += value,
            None => {}
        }
    }
    if let (Some(position), true) = (unknown_word, unknown_total > 0.0) {
        resolved.push((position, unknown_total));
    }
    resolved
}

/// A short human description of a feature, for reasons.
pub fn describe_feature(feature: &str) -> String {
    let (kind, value) = feature.split_once(':').unwrap_or(("", feature));
    match kind {
        "w" => format!("the word \"{value}\""),
        "b" => format!("the words \"{value}\""),
        "n" => format!("the number shape {value}"),
        "d" => format!("a link to {value}"),
        "p" => format!("the link path part \"{value}\""),
        "e" => "repeated exclamation or question marks".to_string(),
        "c" => format!("the letters \"{}\"", value.trim_matches('_')),
        "u" => {
            "words the model has not seen (people write freely; spam repeats itself)".to_string()
        }
        "s" if value == "has_link" => "containing a link".to_string(),
        "s" if value == "no_words" => "having no words".to_string(),
        "s" if value == "mostly_capitals" => "being written mostly in capitals".to_string(),
        "s" if value == "several_links" => "containing several links".to_string(),
        "s" if value.starts_with("length") => format!("its length ({} characters)", &value[6..]),
        _ => format!("the feature {feature}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_features_count_once() {
        let features = extract_features(&FeatureParams::default(), "buy buy buy");
        let buy = features.iter().find(|(name, _)| name == "w:buy").unwrap();
        assert_eq!(buy.1, 1.0);
    }

    #[test]
    fn counted_features_count_every_time() {
        let params = FeatureParams {
            binary: false,
            ..FeatureParams::default()
        };
        let features = extract_features(&params, "buy buy buy");
        let buy = features.iter().find(|(name, _)| name == "w:buy").unwrap();
        assert_eq!(buy.1, 3.0);
    }

    #[test]
    fn word_pairs_and_link_signals() {
        let features = extract_features(&FeatureParams::default(), "check out http://x.com/a");
        let names: Vec<&str> = features.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "b:check out",
                "d:x.com",
                "p:a",
                "s:has_link",
                "s:length<=60",
                "w:check",
                "w:out",
            ]
        );
    }

    #[test]
    fn empty_text_has_a_feature_of_its_own() {
        let params = FeatureParams {
            signals: false,
            ..FeatureParams::default()
        };
        let features = extract_features(&params, "  ");
        assert_eq!(features, vec![("s:no_words".to_string(), 1.0)]);
    }

    #[test]
    fn descriptions_name_the_kind() {
        assert_eq!(describe_feature("w:subscribe"), "the word \"subscribe\"");
        assert_eq!(describe_feature("d:bit.ly"), "a link to bit.ly");
    }
}
