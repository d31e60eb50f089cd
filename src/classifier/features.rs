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
#[serde(deny_unknown_fields)]
pub struct FeatureParams {
    /// Adds each pair of neighbouring words as a feature.
    pub word_pairs: bool,
    /// Counts each feature at most once per comment (binarised multinomial),
    /// so that a word repeated ten times does not outvote the rest.
    pub binary: bool,
}

impl Default for FeatureParams {
    fn default() -> Self {
        FeatureParams {
            word_pairs: true,
            binary: true,
        }
    }
}

/// The features of one text with their counts, in first-seen order.
pub fn extract_features(params: &FeatureParams, raw_text: &str) -> Vec<(String, f64)> {
    let tokens = tokenize(&normalize(raw_text));
    let mut counts: HashMap<String, f64> = HashMap::new();
    let mut order: Vec<String> = Vec::new();
    let mut add = |name: String| {
        let count = counts.entry(name.clone()).or_insert(0.0);
        if *count == 0.0 {
            order.push(name);
        }
        *count += 1.0;
    };
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
    order
        .into_iter()
        .map(|name| {
            let count = counts[&name];
            (name, if params.binary { 1.0 } else { count })
        })
        .collect()
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
        "s" if value == "has_link" => "containing a link".to_string(),
        "s" if value == "no_words" => "having no words".to_string(),
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
                "w:check",
                "w:out",
                "b:check out",
                "d:x.com",
                "p:a",
                "s:has_link"
            ]
        );
    }

    #[test]
    fn empty_text_has_a_feature_of_its_own() {
        let features = extract_features(&FeatureParams::default(), "  ");
        assert_eq!(features, vec![("s:no_words".to_string(), 1.0)]);
    }

    #[test]
    fn descriptions_name_the_kind() {
        assert_eq!(describe_feature("w:subscribe"), "the word \"subscribe\"");
        assert_eq!(describe_feature("d:bit.ly"), "a link to bit.ly");
    }
}
