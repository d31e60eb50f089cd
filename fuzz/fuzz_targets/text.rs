//! Normalisation, tokenisation and feature extraction of any text: no
//! panic, the features of a text are the same however it is reached, and
//! the request path resolves the same features as training, by name and by
//! key.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use moderato::classifier::{
    extract_features, extract_features_normalized, for_each_feature, resolve_positions,
    resolve_text, resolve_text_by_keys, FeatureKeys, FeatureParams, SiteHosts, UNKNOWN_WORD,
};
use moderato::text::{normalize, tokenize};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let normalized = normalize(&text);
    let tokens = tokenize(&normalized);
    for token in &tokens {
        assert!(!token.text.is_empty());
    }
    let params = FeatureParams::default();
    assert_eq!(
        extract_features(&params, &text),
        extract_features_normalized(&params, &text, &normalized, &SiteHosts::default())
    );
    // The site: the text's first word as its host, so that links on the
    // site and off it both occur.
    let site = SiteHosts::new(text.split_whitespace().next());
    let features = extract_features_normalized(&params, &text, &normalized, &site);
    // Every other feature known, in name order, and the unknown-word one.
    let mut index: HashMap<String, usize> = features
        .iter()
        .step_by(2)
        .enumerate()
        .map(|(position, (name, _))| (name.clone(), position))
        .collect();
    index.insert(UNKNOWN_WORD.to_string(), index.len());
    let by_names = resolve_positions(&features, &index);
    assert_eq!(
        resolve_text(&params, &text, &normalized, &site, &index),
        by_names
    );
    let keys = FeatureKeys::new(index.iter().map(|(name, position)| (name.as_str(), *position)))
        .expect("no two features share a key");
    assert_eq!(
        resolve_text_by_keys(&params, &text, &normalized, &site, &keys),
        by_names
    );
    for_each_feature(&params, &text, &normalized, &site, |parts| {
        assert_eq!(keys.key(&parts), keys.key_of_name(&parts.name()));
    });
});
