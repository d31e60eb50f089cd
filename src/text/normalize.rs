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
        // Invisible characters are used to split words for a filter; a
        // person reading the comment never sees them.
        if is_invisible(character) {
            continue;
        }
        folded.extend(character.to_lowercase());
    }
    folded
}

/// Whether a character renders as nothing: Unicode's default-ignorable
/// code points (the `Default_Ignorable_Code_Point` property: the soft
/// hyphen, zero-width spaces and joiners, direction marks, variation
/// selectors, fillers, tags). Spammers put them inside words ("fr\u{AD}ee")
/// so that a filter sees two words where a reader sees one.
pub fn is_invisible(character: char) -> bool {
    matches!(
        character,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFF8}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
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
    fn every_invisible_character_is_removed() {
        // A soft hyphen (also as an entity), direction marks, a variation
        // selector, a combining grapheme joiner, a tag character.
        for hidden in [
            "fr\u{00AD}ee",
            "fr&shy;ee",
            "fr\u{200E}ee",
            "fr\u{202B}ee\u{202C}",
            "fr\u{FE0F}ee",
            "fr\u{034F}ee",
            "fr\u{E0041}ee",
        ] {
            assert_eq!(normalize(hidden), "free", "{hidden:?}");
        }
    }

    #[test]
    fn non_latin_text_is_kept() {
        assert_eq!(normalize("Привет МИР"), "привет мир");
    }
}
