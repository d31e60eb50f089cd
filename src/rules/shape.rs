//! `excessive_caps` and `repeated_characters`: shouting and keyboard
//! mashing. Both look at the text as written (before normalisation folds
//! case), and both are weak signs that people show too, so by default they
//! only add a little weight.

/// Fewer cased letters than this say nothing about shouting ("OK", "LOL").
const MIN_CASED_LETTERS: usize = 20;

/// Fires when at least `threshold` (a share, 0..1) of the cased letters are
/// upper case, in a text with enough letters to judge. Scripts without
/// case (Chinese, Arabic) have no cased letters and never fire.
pub fn excessive_caps(text: &str, threshold: f64) -> Option<String> {
    let mut upper = 0usize;
    let mut cased = 0usize;
    for character in text.chars() {
        if character.is_uppercase() {
            upper += 1;
            cased += 1;
        } else if character.is_lowercase() {
            cased += 1;
        }
    }
    if cased < MIN_CASED_LETTERS {
        return None;
    }
    let share = upper as f64 / cased as f64;
    (share >= threshold).then(|| format!("{:.0}% of the letters are capitals.", share * 100.0))
}

/// Fires on a run of at least `threshold` identical letters, digits, `!`
/// or `?`. Dots, dashes and other separators are left out: ellipses and
/// drawn lines are how many people write.
pub fn repeated_characters(text: &str, threshold: f64) -> Option<String> {
    let mut longest = 0usize;
    let mut longest_character = ' ';
    let mut run = 0usize;
    let mut previous = None;
    for character in text.chars() {
        let counted = character.is_alphanumeric() || matches!(character, '!' | '?');
        if counted && previous == Some(character) {
            run += 1;
        } else {
            run = usize::from(counted);
        }
        previous = Some(character);
        if run > longest {
            longest = run;
            longest_character = character;
        }
    }
    // Quoted by hand rather than with `{:?}`, which escapes a combining
    // mark (a Thai or Devanagari vowel sign held down) as `\u{..}`; the
    // character is a letter, a digit, `!` or `?`, nothing to escape.
    (longest as f64 >= threshold)
        .then(|| format!("The comment repeats \"{longest_character}\" {longest} times in a row."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shouting_fires_and_ordinary_capitals_do_not() {
        let cases = [
            ("CHECK OUT MY CHANNEL AND SUBSCRIBE NOW", true),
            ("ПОДПИШИТЕСЬ НА МОЙ КАНАЛ ПРЯМО СЕЙЧАС", true),
            ("OK", false),
            (
                "I watched it on BBC and NBC and the UK press agreed with me",
                false,
            ),
            ("Ich habe den Artikel über die Deutsche Bahn gelesen", false),
            (
                "这是一篇非常好的文章，我完全同意作者的观点，谢谢分享",
                false,
            ),
        ];
        for (text, fires) in cases {
            assert_eq!(excessive_caps(text, 0.7).is_some(), fires, "{text}");
        }
    }

    #[test]
    fn long_runs_fire_and_ellipses_do_not() {
        let cases = [
            ("subscribe!!!!!!!!!!!!", true),
            ("sooooooooooooo good", true),
            ("ok.............. see you", false),
            ("----------------", false),
            ("Well... I don't know!!", false),
            ("ありがとうございます", false),
            ("llll", false),
        ];
        for (text, fires) in cases {
            assert_eq!(repeated_characters(text, 10.0).is_some(), fires, "{text}");
        }
    }

    #[test]
    fn the_repeated_character_is_quoted_as_written() {
        // A Thai word whose vowel sign, a combining mark, is held down.
        let vowel_sign = '\u{0E35}';
        let text = format!("\u{0E14}{}", vowel_sign.to_string().repeat(12));
        let message = repeated_characters(&text, 10.0).expect("a long run");
        assert_eq!(
            message,
            format!("The comment repeats \"{vowel_sign}\" 12 times in a row.")
        );
        assert!(!message.contains("\\u{"), "{message}");
        assert_eq!(
            repeated_characters("subscribe!!!!!!!!!!!!", 10.0).as_deref(),
            Some("The comment repeats \"!\" 12 times in a row.")
        );
    }
}
