//! Normalisation, tokenisation and feature extraction of any text: no
//! panic, and the features of a text are the same however it is reached.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moderato::classifier::{extract_features, extract_features_normalized, FeatureParams};
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
        extract_features_normalized(&params, &text, &normalized)
    );
});
