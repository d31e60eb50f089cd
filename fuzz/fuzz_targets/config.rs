//! Configuration parsing of any text: a clear error or a checked config,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moderato::config::{Config, Overrides};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        match Config::from_toml("fuzz.toml", text, &Overrides::default()) {
            Ok(config) => assert!(config.thresholds.review() <= config.thresholds.reject()),
            Err(error) => assert!(!error.to_string().is_empty()),
        }
    }
});
