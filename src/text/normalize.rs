//! Turns raw comment text into the canonical form that tokens are cut from.

use unicode_normalization::UnicodeNormalization;

/// Decodes HTML entities (`&amp;`, `&#39;`), applies Unicode NFKC (so that
/// fullwidth and stylised letters become plain ones) and folds case.
///
/// Commenters and the forms they use write the same word in many encodings;
/// the model should see one spelling of each word.
pub fn normalize(raw: &str) -> String {
    let decoded = html_escape::decode_html_entities(raw);
    // ASCII text is its own NFKC form and has no zero-width characters:
    // most comments take this shortcut.
    if decoded.is_ascii() {
        return decoded.to_ascii_lowercase();
    }
    let mut folded = String::with_capacity(decoded.len());
    for character in decoded.nfkc() {
        // Zero-width characters and the byte-order mark are used to split
        // words invisibly; a person reading the comment never sees them.
        if matches!(character, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}') {
            continue;
        }
        folded.extend(character.to_lowercase());
    }
    folded
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn decodes_entities_and_folds_case() {
        assert_eq!(
            normalize("Fun&amp;Hacks I&#39;m HERE"),
            "fun&hacks i'm here"
        );
    }

    #[test]
    fn fullwidth_letters_become_ascii() {
        assert_eq!(normalize("ＦＲＥＥ money"), "free money");
    }

    #[test]
    fn zero_width_characters_are_removed() {
        assert_eq!(normalize("fr\u{200B}ee\u{FEFF}"), "free");
    }

    #[test]
    fn non_latin_text_is_kept() {
        assert_eq!(normalize("Привет МИР"), "привет мир");
    }
}
