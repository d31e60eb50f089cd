//! `obfuscated_text`: words that mix scripts to look like something they
//! are not ("frее" with Cyrillic `е`, "Москвa" and "КAЗИНО" with a Latin
//! `a` and `A`), invisible characters hidden inside words, and combining
//! marks that no alphabet writes drawn on the letters of an ASCII word (a
//! second dot on the `i` of "vi\u{307}agra", strokes through every letter).
//! Text wholly in one script, or in scripts that are written together
//! (Japanese kana with kanji), is never obfuscated; nor are the habits of
//! honest writing that look like it: Ukrainian typed on a Russian keyboard
//! layout (a Latin `i` or `ï` for the Ukrainian `і` or `ї`), soft hyphens
//! that mark where a long word may break, and accents written as combining
//! marks after their letters ("cafe\u{301}").

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, UnicodeScript};
use unicode_security::{skeleton, MixedScript};

use crate::text::is_invisible;

/// Fires when at least `threshold` words are disguised. `text` is the raw
/// comment text: the invisible characters are gone after normalisation.
/// It is read as a browser shows it first (`text::shown_characters`),
/// since a site that shows the comment as HTML shows `&#1077;` (with its
/// `;` or without) as a Cyrillic `е`, `&shy;` as nothing, and "fr<b></b>ее"
/// as one word.
pub fn obfuscated_text(text: &str, threshold: f64) -> Option<String> {
    let text = crate::text::shown_characters(text);
    // Plain ASCII can mix no scripts and hide no invisible characters, and
    // most comments are plain ASCII.
    if text.is_ascii() {
        return None;
    }
    let mut disguised = 0usize;
    let mut example = None;
    // Words with a dot or a line below an ASCII letter, which count only
    // in a text with no other accented Latin word (see `Marks`).
    let mut marked_below = 0usize;
    let mut marked_below_example = None;
    // Software that lower-cases Turkish writes `İ` as `i` with a dot above
    // (Unicode's own lower case of it), which elsewhere is a disguise.
    let turkish = text.contains(['ş', 'Ş', 'ğ', 'Ğ', 'ı', 'İ']);
    let mut accented_elsewhere = false;
    // Whether the text is written in Cyrillic somewhere, in words of their
    // own (see `is_abbreviation_with_ending`).
    let cyrillic_elsewhere = has_cyrillic_writing(&text);
    // A combining mark belongs to the letter before it, so it splits no
    // word: "vi\u{307}agra" is one word, not "vi" and "agra".
    let separator = |c: char| {
        !(c.is_alphanumeric() || is_invisible(c) || (!c.is_ascii() && is_combining_mark(c)))
    };
    for word in text.split(separator) {
        // A direction override makes letters show in another order than
        // they are written ("\u{202E}argaiv" shows "viagra"), wherever it
        // stands: honest right-to-left writing needs no override, since
        // Unicode gives its letters their direction.
        if word.contains(['\u{202D}', '\u{202E}']) {
            let visible: String = word.chars().filter(|c| !is_invisible(*c)).collect();
            if visible.chars().count() >= 2 {
                disguised += 1;
                let shown = crate::text::normalize(word);
                example.get_or_insert_with(|| crate::text::quoted(&shown, 40).into_owned());
                continue;
            }
        }
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
        // ("iPhoneを") keep letters that imitate nothing. The confusable
        // skeleton only reads words as Latin, so Latin letters hidden in a
        // Cyrillic or Greek word are looked for on their own.
        let mixed = has_letters
            && !is_cyrillic_with_latin_i(&visible)
            && !is_abbreviation_with_ending(&visible, cyrillic_elsewhere)
            && ((!visible.as_str().is_single_script()
                && skeleton(&visible)
                    .collect::<String>()
                    .as_str()
                    .is_single_script())
                || hides_latin_letters(&visible));
        let marks = if has_letters {
            marks_on_ascii_letters(&visible, turkish)
        } else {
            Marks::Accents
        };
        if hidden_split || mixed || marks == Marks::Decoration {
            disguised += 1;
            example.get_or_insert_with(|| crate::text::quoted(&visible, 40).into_owned());
        } else if marks == Marks::Below {
            marked_below += 1;
            marked_below_example
                .get_or_insert_with(|| crate::text::quoted(&visible, 40).into_owned());
        } else if has_latin_accents(&visible) {
            accented_elsewhere = true;
        }
    }
    if !accented_elsewhere && marked_below > 0 {
        disguised += marked_below;
        example = example.or(marked_below_example);
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

/// Whether a word is Cyrillic but for Latin `i`s or `j`s: Ukrainian typed
/// on a Russian keyboard layout, which has no `і`, so that people type the
/// Latin letter, which looks the same ("вiн", "мiсто", "Iвано"), and the
/// Latin `ï` for the Ukrainian `ї` ("Украïні"), which some layouts and
/// autocorrections put in its place; and Serbian or Macedonian typed on a
/// Russian layout, which has no `ј` either ("То jе добро", "моjа"). Such a
/// word reads as the Cyrillic word it is and imitates no Latin one. The
/// Turkish dotless and dotted `i` are not among them: no Cyrillic layout
/// types them, so in a Cyrillic word they are as suspect as any other
/// Latin letter.
fn is_cyrillic_with_latin_i(word: &str) -> bool {
    let mut cyrillic = false;
    // Whether every Cyrillic letter is a capital drawn as a Latin one: then
    // the word reads as Latin capitals ("ТIТ"), a disguise, not a word
    // typed on a Russian layout.
    let mut imitates_capitals = true;
    for character in word.chars() {
        match character {
            'i' | 'I' | 'ï' | 'Ï' | 'j' | 'J' => {}
            // Digits and combining marks (a stress accent) belong to any
            // script.
            _ if matches!(character.script(), Script::Common | Script::Inherited) => {}
            _ if character.script() == Script::Cyrillic => {
                cyrillic = true;
                imitates_capitals &= is_capital_drawn_as_latin(character);
            }
            _ => return false,
        }
    }
    cyrillic && !imitates_capitals
}

/// Whether a letter is a capital that looks like a Latin capital (the
/// Cyrillic `Т`, `Н`, `О`).
fn is_capital_drawn_as_latin(character: char) -> bool {
    let mut buffer = [0u8; 4];
    character.is_uppercase()
        && skeleton(character.encode_utf8(&mut buffer)).all(|part| part.is_ascii_uppercase())
}

/// Whether a word hides Latin letters among Cyrillic or Greek ones, each
/// of them looking like a letter of the word's other script: "КAЗИНО",
/// "пoкер", "бесплaтно" with a Latin `A`, `o`, `a`. A Latin letter that
/// looks like none ("μmol", "5μg") is plain to see and disguises nothing.
/// Nor do words of two letters, which a physicist's comment mixes
/// honestly ("Δx", "kΩ") and which hide no word worth filtering, nor a
/// word of more Latin letters than Greek ones ("κaζiνo", as many of each,
/// is a disguise): a Greek letter before a
/// Latin name is how science writes a change ("ΔpH", "ΔKE"), where a
/// disguised Greek word is Greek letters with a Latin one among them.
fn hides_latin_letters(word: &str) -> bool {
    let letters = || word.chars().filter(|character| character.is_alphabetic());
    let of_script = |script: Script| {
        letters()
            .filter(|character| character.script() == script)
            .count()
    };
    let cyrillic = of_script(Script::Cyrillic) > 0;
    let greek_letters = of_script(Script::Greek);
    let greek = greek_letters > 0 && (cyrillic || greek_letters >= of_script(Script::Latin));
    let mut latin = letters()
        .filter(|character| character.script() == Script::Latin)
        .peekable();
    (cyrillic || greek)
        && letters().count() >= 3
        && latin.peek().is_some()
        && latin.all(|character| {
            (cyrillic && imitates(character, Script::Cyrillic))
                || (greek && imitates(character, Script::Greek))
        })
}

/// The fewest Cyrillic letters, in words of Cyrillic letters alone, that
/// make a text one written in Cyrillic: more than a word such as "да",
/// which a disguised text may add to pass for one.
const MIN_CYRILLIC_WRITING: usize = 4;

/// Whether a text has [`MIN_CYRILLIC_WRITING`] letters or more in words
/// of Cyrillic letters alone. Cyrillic letters in words that mix scripts
/// do not count: they may be the disguises themselves.
fn has_cyrillic_writing(text: &str) -> bool {
    let mut letters = 0usize;
    for word in text.split(|character: char| !character.is_alphanumeric()) {
        let mut cyrillic = 0usize;
        let mut other = false;
        for character in word.chars().filter(|character| character.is_alphabetic()) {
            if character.script() == Script::Cyrillic {
                cyrillic += 1;
            } else {
                other = true;
            }
        }
        if !other {
            letters += cyrillic;
            if letters >= MIN_CYRILLIC_WRITING {
                return true;
            }
        }
    }
    false
}

/// Whether a word is Latin capitals, two or more, with an ending of
/// another script and no other Latin letter: an abbreviation declined
/// ("OKей", "SMSку", and in a text in capitals "ЧЕРЕЗ VPNА"), not a
/// disguise. In a text with no other Cyrillic (`cyrillic_elsewhere`
/// false), an ending written in capitals that all look like Latin ones
/// ("CUNТ" with a Cyrillic `Т`) declines nothing: it is a letter of the
/// word in disguise.
fn is_abbreviation_with_ending(word: &str, cyrillic_elsewhere: bool) -> bool {
    let letters = || word.chars().filter(|character| character.is_alphabetic());
    let latin_prefix = letters()
        .take_while(|character| character.script() == Script::Latin)
        .count();
    let ending = || letters().skip(latin_prefix);
    let ending_imitates_capitals = ending().all(is_capital_drawn_as_latin);
    latin_prefix >= 2
        && letters()
            .take(latin_prefix)
            .all(|character| character.is_uppercase())
        && ending().all(|character| character.script() != Script::Latin)
        && letters().count() > latin_prefix
        && (cyrillic_elsewhere || !ending_imitates_capitals)
}

/// Whether a Latin letter, as written, looks like a letter of `script`
/// (Cyrillic or Greek): the capital `H` looks like `Н` and `Η`, the small
/// `h` like neither.
fn imitates(latin: char, script: Script) -> bool {
    match script {
        Script::Cyrillic => matches!(
            latin,
            'A' | 'B'
                | 'C'
                | 'E'
                | 'H'
                | 'I'
                | 'K'
                | 'M'
                | 'O'
                | 'P'
                | 'T'
                | 'X'
                | 'Y'
                | 'a'
                | 'c'
                | 'e'
                | 'i'
                | 'k'
                | 'o'
                | 'p'
                | 'x'
                | 'y'
                | 'Ë'
                | 'ë'
                | 'Ï'
                | 'ï'
        ),
        Script::Greek => matches!(
            latin,
            'A' | 'B'
                | 'E'
                | 'H'
                | 'I'
                | 'K'
                | 'M'
                | 'N'
                | 'O'
                | 'P'
                | 'T'
                | 'X'
                | 'Y'
                | 'Z'
                | 'a'
                | 'i'
                | 'k'
                | 'o'
                | 'p'
                | 'u'
                | 'v'
                | 'x'
                | 'y'
        ),
        _ => false,
    }
}

/// What the combining marks on the letters of a word that is ASCII but
/// for them say about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Marks {
    /// None, or accents that alphabets write: each letter with its marks
    /// is a letter of some alphabet ("cafe\u{301}" is "café"), or carries
    /// one mark left over that some orthography writes (Guarani `g̃`, a
    /// statistician's `x̄`). Also what a word not ASCII underneath has.
    Accents,
    /// A dot or a line below a letter, making a letter of some alphabet
    /// (Vietnamese `ạ`, Yoruba `ẹ`, the `ḏ` of Arabic transliteration):
    /// Vietnamese keyboards on Windows type the dot as a combining mark.
    /// It is a disguise only in a text with no other accented word, which
    /// a Vietnamese or Yoruba comment has.
    Below,
    /// Marks that make no letter of any alphabet: a second dot on `i` or
    /// `j`, a dot or a line below a letter that has no such form, a stroke
    /// through a letter, a ring or box around it, or two or more marks
    /// stacked on one letter beyond what composes ("zalgo" text).
    Decoration,
}

/// The combining marks on the ASCII letters of a word that is ASCII but
/// for its marks (see [`Marks`]). Each letter with its marks is composed
/// (NFC) first: what composes into one letter is a letter of some
/// alphabet, whether typed precomposed or as a letter and its marks.
fn marks_on_ascii_letters(word: &str, turkish: bool) -> Marks {
    if !word
        .chars()
        .all(|character| character.is_ascii() || is_combining_mark(character))
    {
        return Marks::Accents;
    }
    let mut found = Marks::Accents;
    let mut characters = word.chars().peekable();
    let mut cluster = String::new();
    while let Some(base) = characters.next() {
        cluster.clear();
        cluster.push(base);
        while let Some(mark) = characters.next_if(|character| is_combining_mark(*character)) {
            cluster.push(mark);
        }
        // Marks on a digit are emoji keycaps ("1\u{FE0F}\u{20E3}"), and a
        // mark that starts a word sits on nothing.
        if !base.is_ascii_alphabetic() || cluster.len() == base.len_utf8() {
            continue;
        }
        let composed: Vec<char> = cluster.nfc().collect();
        let left_over = composed.get(1..).unwrap_or_default();
        let decoration = left_over.len() >= 2
            || left_over.iter().any(|&mark| match mark {
                // A dot above an `i` or `j`, which have theirs; on other
                // letters it composes (Polish `ż`, Lithuanian `ė`).
                // In Turkish text, `i` with a dot above is a lower-case `İ`.
                '\u{0307}' => matches!(base, 'i' | 'j' | 'J') && !(turkish && base == 'i'),
                // A dot or a line below, overlays and strokes, and marks
                // enclosing their letter.
                '\u{0323}'
                | '\u{0331}'
                | '\u{0334}'..='\u{0338}'
                | '\u{0488}'..='\u{0489}'
                | '\u{20DD}'..='\u{20E0}'
                | '\u{20E2}'..='\u{20E4}'
                | '\u{A670}'..='\u{A672}' => true,
                _ => false,
            });
        if decoration {
            return Marks::Decoration;
        }
        if cluster.contains(['\u{0323}', '\u{0331}']) {
            found = Marks::Below;
        }
    }
    found
}

/// Whether a word has accented Latin letters, precomposed or written with
/// combining marks: a sign that the text is in a language written so.
fn has_latin_accents(word: &str) -> bool {
    let ascii_letters = word
        .chars()
        .any(|character| character.is_ascii_alphabetic());
    word.chars().any(|character| {
        (!character.is_ascii() && character.script() == Script::Latin)
            || (ascii_letters && is_combining_mark(character))
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
            // Entities as a site that shows HTML renders them, with their
            // `;` or without, and a disguise split by an empty tag.
            ("get fr&#1077;&#1077; money", true),
            ("get fr&#8206;ee money", true),
            ("get fr&#1077&#1077 money", true),
            ("get fr&#8203ee money", true),
            ("fr<b></b>\u{0435}\u{0435} money", true),
            ("<p>free</p><p>money</p>", false),
            // Other invisible characters inside a Latin word.
            ("fr\u{200E}ee money", true),
            ("fr\u{FE0F}ee money", true),
            // A Cyrillic capital that looks Latin ending a word in
            // capitals declines no abbreviation.
            ("You CUN\u{0422}", true),
            // Two such words, or a short Cyrillic word beside one, make no
            // text written in Cyrillic.
            ("EARN CRYPT\u{041E} PROFI\u{0422} NOW", true),
            ("you CUN\u{0422}, \u{0434}\u{0430}", true),
            // Capitals with a Latin `I` that all read as Latin ones.
            ("nice \u{0422}I\u{0422} pics", true),
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
            // Serbian and Macedonian with a Latin `j` for `ј`.
            "То jе добро.",
            "Моjа мајка",
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

    #[test]
    fn latin_letters_hidden_in_cyrillic_or_greek_words_fire() {
        // One Latin letter each: `A`, `o`, `a`, and an `a` among Greek.
        for text in [
            "Лучшее КAЗИНО онлайн",
            "Играй в пoкер",
            "Деньги бесплaтно",
            "Καλημέρa σας",
            "κaζiνo online μπόνους",
        ] {
            assert!(obfuscated_text(text, 1.0).is_some(), "{text}");
        }
        // Latin letters that look like none of the other script's, and
        // words of two letters, are how units and formulas are written.
        for text in [
            "5 μmol/L of glucose",
            "Δx is 3 m",
            "a 10 kΩ resistor",
            "In the experiment the ΔpH across the membrane drove ATP synthesis.",
            "ΔKE equals ΔPE here",
            "PHP-шник нужен",
            // An abbreviation with a Cyrillic ending.
            "OKей, договорились",
            "пришлю SMSку",
            // Declined abbreviations in a text in capitals.
            "ЗАШЁЛ ЧЕРЕЗ VPNА",
            "ОТПРАВИЛ SMSКА",
        ] {
            assert_eq!(obfuscated_text(text, 1.0), None, "{text}");
        }
    }

    #[test]
    fn ukrainian_typed_with_a_latin_i_with_diaeresis_is_not_disguised() {
        // A Latin `ï` (U+00EF) where Ukrainian writes `ї` (U+0457).
        for text in ["Україна переможе! Слава Украïні", "Ïжак i ïжачок"]
        {
            assert_eq!(obfuscated_text(text, 1.0), None, "{text}");
        }
        // Another Latin letter beside it still imitates.
        assert!(obfuscated_text("Украïнa", 1.0).is_some());
    }

    #[test]
    fn marks_no_alphabet_writes_fire_and_accents_do_not() {
        for text in [
            // A second dot on an `i`.
            "get vi\u{0307}agra now",
            // A dot below, in a text with no other accented word.
            "get fre\u{0323}e money now",
            // Strokes through letters, and marks stacked on one.
            "f\u{0336}r\u{0336}e\u{0336}e\u{0336} money",
            "z\u{0301}\u{0308}\u{0330}algo text",
        ] {
            assert!(obfuscated_text(text, 1.0).is_some(), "{text:?}");
        }
        for text in [
            // French typed with combining accents.
            "un cafe\u{0301} s'il vous plai\u{0302}t",
            // Vietnamese as its Windows keyboard types it: the dot below
            // `bạn` is one accent among many.
            "Ba\u{0300}i vie\u{0302}\u{0301}t hay, ca\u{0309}m o\u{031B}n ba\u{0323}n",
            // Guarani writes a tilde on `g`, which composes with nothing.
            "Tereg\u{0303}uahe\u{0303} pora\u{0303}ite",
            // The Turkish capital dotted `I`, its lower case as software
            // writes it in Turkish text, and an emoji keycap.
            "I\u{0307}stanbul",
            "i\u{0307}stanbul çok güzel bir şehir",
            "press 1\u{FE0F}\u{20E3} to continue",
        ] {
            assert_eq!(obfuscated_text(text, 1.0), None, "{text:?}");
        }
    }

    #[test]
    fn a_direction_override_is_a_disguise_quoted_as_shown() {
        let message = obfuscated_text("buy \u{202E}argaiv\u{202C} now", 1.0).expect("an override");
        assert!(message.contains("\"viagra\""), "{message}");
        // Right-to-left writing needs no override.
        assert_eq!(obfuscated_text("שלום עולם, مرحبا بالعالم", 1.0), None);
    }
}
