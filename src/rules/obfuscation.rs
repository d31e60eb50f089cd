//! `obfuscated_text`: words that mix scripts to look like something they
//! are not ("frее" with Cyrillic `е`, "Москвa" with a Latin `a`), and
//! invisible characters hidden inside words. Text wholly in one script, or
//! in scripts that are written together (Japanese kana with kanji), is
//! never obfuscated; nor are two habits of honest writing that look like
//! it: Ukrainian typed on a Russian keyboard layout (a Latin `i` for the
//! Ukrainian `і`) and soft hyphens that mark where a long word may break.

use unicode_script::{Script, UnicodeScript};
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
        let hidden_split = word.char_indices().any(|(index, c)| {
            is_invisible(c)
                && !is_hyphenation_point(word, index, c)
                && (latin || !honest_elsewhere(c))
        });
        let has_letters = visible.chars().filter(|c| c.is_alphabetic()).count() >= 2;
        // A disguised word mixes scripts, yet reads as one script once each
        // letter is replaced by the letter it imitates; honest mixtures
        // ("iPhoneを") keep letters that imitate nothing.
        let mixed = has_letters
            && !is_cyrillic_with_latin_i(&visible)
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
    // Quoted by hand rather than with `{:?}`, which escapes the vowel signs
    // and other combining marks of Thai or Devanagari as `\u{..}`: the
    // example holds only letters, digits and marks, nothing to escape.
    (disguised as f64 >= threshold).then(|| {
        format!(
            "{disguised} word{} disguised with look-alike or invisible characters, such as \"{example}\".",
            if disguised == 1 { " is" } else { "s are" }
        )
    })
}

/// Whether the character at byte `index` of `word` is a soft hyphen
/// between two letters: a place where the word may break at a line's end.
/// German newspapers mark their long compounds this way
/// ("Bundes\u{AD}verfassungs\u{AD}gericht"), and a reader who copies a
/// headline copies the marks. Such a hyphen hides no word from the filters
/// either: normalisation removes it before terms are matched, so
/// "fr\u{AD}ee money" still meets a blocked "free money".
fn is_hyphenation_point(word: &str, index: usize, character: char) -> bool {
    character == '\u{00AD}'
        && word[..index]
            .chars()
            .next_back()
            .is_some_and(char::is_alphabetic)
        && word[index + character.len_utf8()..]
            .chars()
            .next()
            .is_some_and(char::is_alphabetic)
}

/// Whether a word is Cyrillic but for Latin `i`s: Ukrainian typed on a
/// Russian keyboard layout, which has no `і`, so that people type the
/// Latin letter, which looks the same ("вiн", "мiсто", "Iвано"). Such a
/// word reads as the Cyrillic word it is and imitates no Latin one. The
/// Turkish dotless and dotted `i` are not among them: no Cyrillic layout
/// types them, so in a Cyrillic word they are as suspect as any other
/// Latin letter.
fn is_cyrillic_with_latin_i(word: &str) -> bool {
    let mut cyrillic = false;
    for character in word.chars() {
        match character {
            'i' | 'I' => {}
            // Digits and combining marks (a stress accent) belong to any
            // script.
            _ if matches!(character.script(), Script::Common | Script::Inherited) => {}
            _ if character.script() == Script::Cyrillic => cyrillic = true,
            _ => return false,
        }
    }
    cyrillic
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
            ("get fr&#8206;ee money", true),
            // Other invisible characters inside a Latin word.
            ("fr\u{200E}ee money", true),
            ("fr\u{FE0F}ee money", true),
            // Other invisible characters inside any word.
            ("\u{043A}\u{0430}\u{200E}\u{0437}\u{0438}\u{043D}\u{043E}", true),
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

    #[test]
    fn the_example_is_quoted_as_written() {
        // A Thai word with a direction mark hidden inside: its vowel signs
        // are combining marks, which debug formatting would escape.
        let word = "\u{0E2A}\u{0E27}\u{0E31}\u{0E2A}\u{0E14}\u{0E35}";
        let disguised = "\u{0E2A}\u{0E27}\u{0E31}\u{200E}\u{0E2A}\u{0E14}\u{0E35}";
        let message = obfuscated_text(disguised, 1.0).expect("a hidden direction mark");
        assert_eq!(
            message,
            format!(
                "1 word is disguised with look-alike or invisible characters, such as \"{word}\"."
            )
        );
        assert!(!message.contains("\\u{"), "{message}");
    }

    #[test]
    fn ukrainian_on_a_russian_layout_is_not_disguised() {
        // A Latin `i` (U+0069, U+0049) where Ukrainian writes `і`.
        for text in [
            "Дякую, вiн правий.",
            "Це вiйна, а не операцiя.",
            "Моє мiсто, мiй рiк.",
            "Iвано-Франкiвськ",
        ] {
            assert_eq!(obfuscated_text(text, 1.0), None, "{text}");
        }
        // Any other Latin letter in a Cyrillic word still imitates, and so
        // does Cyrillic inside a Latin word, with or without a Latin `i`.
        for text in [
            "Москвa is lovely",
            "v\u{0456}\u{0430}gr\u{0430}",
            "vi\u{0430}gr\u{0430}",
            "fr\u{0435}\u{0435} m\u{043E}n\u{0435}y",
        ] {
            assert!(obfuscated_text(text, 1.0).is_some(), "{text}");
        }
    }

    #[test]
    fn soft_hyphens_between_letters_are_not_disguise() {
        for text in [
            "Das Bundes\u{00AD}verfassungs\u{00AD}gericht hat entschieden.",
            "Das Bundes&shy;verfassungs&shy;gericht hat entschieden.",
            "get fr\u{00AD}ee money",
            "\u{043A}\u{0430}\u{00AD}\u{0437}\u{0438}\u{043D}\u{043E}",
        ] {
            assert_eq!(obfuscated_text(text, 1.0), None, "{text}");
        }
        // A soft hyphen beside another invisible character, or two in a
        // row, marks no place to break a word.
        for text in [
            "Bundes\u{00AD}\u{200B}gericht",
            "fr\u{00AD}\u{00AD}ee money",
        ] {
            assert!(obfuscated_text(text, 1.0).is_some(), "{text}");
        }
    }
}
