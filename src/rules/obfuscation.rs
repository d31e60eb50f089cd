//! `obfuscated_text`: words that mix scripts to look like something they
//! are not ("frее" with Cyrillic `е`, "Москвa" with a Latin `a`), and
//! invisible characters hidden inside words. Text wholly in one script, or
//! in scripts that are written together (Japanese kana with kanji), is
//! never obfuscated.

use unicode_security::{skeleton, MixedScript};

use crate::text::is_invisible;

/// Fires when at least `threshold` words are disguised. `text` is the raw
/// comment text: the invisible characters are gone after normalisation.
/// Its HTML entities are decoded first, since a site that shows the
/// comment as HTML shows `&#1077;` as a Cyrillic `е` and `&shy;` as
/// nothing.
pub fn obfuscated_text(text: &str, threshold: f64) -> Option<String> {
    let text = html_escape::decode_html_entities(text);
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
        // Some invisible characters are part of honest writing in other
        // scripts: zero-width spaces between Thai, Khmer or Burmese words,
        // joiners in Persian and Indic words, variation selectors in
        // Mongolian and in kanji. A Latin word has no use for any of them,
        // and no word for the others (a soft hyphen, a direction mark).
        let latin = visible.chars().any(|c| c.is_ascii_alphabetic());
        let honest_elsewhere = |c: char| {
            matches!(
                c,
                '\u{200B}'..='\u{200D}'
                    | '\u{180B}'..='\u{180F}'
                    | '\u{FE00}'..='\u{FE0F}'
                    | '\u{E0100}'..='\u{E01EF}'
            )
        };
        let hidden_split = word
            .chars()
            .any(|c| is_invisible(c) && (latin || !honest_elsewhere(c)));
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
            example.get_or_insert_with(|| crate::text::quoted(&visible, 40).into_owned());
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
            // Entities as a site that shows HTML renders them.
            ("get fr&#1077;&#1077; money", true),
            ("get fr&shy;ee money", true),
            // Other invisible characters inside a Latin word.
            ("fr\u{200E}ee money", true),
            ("fr\u{FE0F}ee money", true),
            // Other invisible characters inside any word.
            ("\u{043A}\u{0430}\u{00AD}\u{0437}\u{0438}\u{043D}\u{043E}", true),
            ("fr\u{200C}ee money", true),
            // Zero-width spaces between Thai words, a kanji with its
            // variation selector.
            ("\u{0E2A}\u{0E27}\u{0E31}\u{0E2A}\u{0E14}\u{0E35}\u{200B}\u{0E04}\u{0E23}\u{0E31}\u{0E1A}", false),
            ("\u{845B}\u{E0100}\u{98FE}\u{533A}", false),
            // A zero-width non-joiner is how Persian writes some words.
            ("\u{0645}\u{06CC}\u{200C}\u{062E}\u{0648}\u{0627}\u{0647}\u{0645} \u{0628}\u{0631}\u{0648}\u{0645}", false),
            // An emoji with its presentation selector hides nothing.
            ("love it \u{2764}\u{FE0F}", false),
        ];
        for (text, fires) in cases {
            assert_eq!(obfuscated_text(text, 1.0).is_some(), fires, "{text}");
        }
    }
}
