//! Model files of any content: a clear error or a model that scores,
//! never a panic. Inputs that start as the built-in model's JSON reach
//! deep into the format.
#![no_main]

use libfuzzer_sys::fuzz_target;
use moderato::classifier::Model;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = Model::from_json("fuzz.json", data) {
        let score = model.score("free money, click here http://spam.example");
        assert!((0.0..=1.0).contains(&score.probability));
    }
});
