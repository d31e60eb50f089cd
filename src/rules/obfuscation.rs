//! `obfuscated_text`: words that mix scripts to look like something they
//! are not ("frее" with Cyrillic `е`, "Москвa" with a Latin `a`), and
//! invisible characters hidden inside words. Text wholly in one script, or
//! in scripts that are written together (Japanese kana with kanji), is
//! never obfuscated.

use unicode_security::{skeleton, MixedScript};

/// Characters that render as nothing and only serve to split a word for a
/// filter while a reader sees it whole.
fn is_invisible(character: char) -> bool {
    matches!(
        character,
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// Fires when at least `threshold` words are disguised. `text` is the raw
/// comment text: the invisible characters are gone after normalisation.
pub fn obfuscated_text(text: &str, threshold: f64) -> Option<String> {
    // Plain ASCII can mix no scripts and hide no invisible characters, and
    // most comments are plain ASCII.
    if text.is_ascii() {
        return None;
    }
    let mut disguised = 0usize;
    let mut example = None;
    for word in text.split(|c: char| !(c.is_alphanumeric() || is_invisible(c))) {
        // Invisible characters at a word's edge (a byte-order mark some
        // forms append) hide nothing; only those inside a word split it.
        let word = word.trim_matches(is_invisible);
        if word.is_ascii() {
            continue;
        }
        let visible: String = word.chars().filter(|c| !is_invisible(*c)).collect();
        let hidden_split = visible.len() < word.len();
        let has_letters = visible.chars().filter(|c| c.is_alphabetic()).count() >= 2;
        // A disguised word mixes scripts, yet reads as one script once each
        // letter is replaced by the letter it imitates; honest mixtures
        // ("iPhoneを") keep letters that imitate nothing.
        let mixed = has_letters
            && !visible.as_str().is_single_script()
            && skeleton(&visible)
                .collect::<String>()
                .as_str()
                .is_single_script();
        if hidden_split || mixed {
            disguised += 1;
            example.get_or_insert(visible);
        }
    }
    let example = example?;
    (disguised as f64 >= threshold).then(|| {
        format!(
            "{disguised} word{} disguised with look-alike or invisible characters, such as {example:?}.",
            if disguised == 1 { " is" } else { "s are" }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disguised_words_fire_and_honest_scripts_do_not() {
        let cases = [
            ("get fr\u{0435}\u{0435} money", true),
            ("Москвa is lovely", true),
            ("p\u{0430}yp\u{0430}l login", true),
            ("fr\u{200B}ee money", true),
            ("a comment ending in a byte-order mark\u{FEFF}", false),
            ("\u{200B}leading and trailing\u{200B}", false),
            ("free money", false),
            ("Это отличная статья", false),
            ("Ελληνικά και English μαζί", false),
            ("iPhoneを使っています", false),
            ("東京タワーに行きました", false),
            ("Café naïve façade", false),
            ("Привет, how are you? 😀", false),
        ];
        for (text, fires) in cases {
            assert_eq!(obfuscated_text(text, 1.0).is_some(), fires, "{text}");
        }
    }
}
