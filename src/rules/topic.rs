//! `on_topic`: a comment that names the post it sits under. Readers write
//! about what they read ("Katy Perry is awesome" under "Katy Perry -
//! Roar", "the bypass will ruin the valley" under "Council approves the
//! bypass"); spam is written for any page and seldom names the one it is
//! posted on. A site that sends the post's title (`context.post_title`)
//! gets this evidence for its readers; without a title the rule is silent.
//!
//! Only the title is read, not the post's text: its words are few and
//! chosen, so naming one says the comment is about the post, while an
//! article's thousand words share some with any comment, and a scraper
//! that copies sentences from the page would borrow them. How much the
//! evidence weighs was measured on the YouTube training split, whose video
//! titles are the posts' (see the rule's default in `settings`).

use std::collections::HashSet;
use std::sync::LazyLock;

use crate::text::{for_each_token, normalize, without_quotes, TokenKind};

/// The most title words a reason quotes.
const QUOTED_WORDS: usize = 3;

/// Title words shorter than this many letters are not looked for: "UK",
/// "TV" and a title's initials are named in passing by any comment.
const MIN_LETTERS: usize = 3;

/// Words of a title that say nothing of what the post is about: function
/// words of English and of the languages news sites most often write in
/// besides, and the words titles use for the page itself ("live",
/// "official video", "watch"). A comment naming one of these names no
/// subject.
const COMMON_WORDS: &str = "\
    the and for are but not you your yours our ours his her hers its their theirs \
    they them this that these those with from into onto over under after before \
    about above below between against among amid during since until than then \
    there here where when what which who whom whose why how all any both each \
    few more most other some such only own same too very can could will would \
    shall should may might must has have had having was were been being does did \
    doing done just also even ever still yet now new old one two three four five \
    six seven eight nine ten first second last next off out per via upon onto \
    says said say tells told asks asked get gets got make makes made take takes \
    back down while again once because whether though although like unlike \
    many much well way ways day days week weeks year years time times today \
    tonight yesterday tomorrow people man men woman women thing things world \
    life part full big small good best better great top \
    live latest breaking update updates news video videos official watch \
    clip clips audio photo photos picture pictures gallery story stories \
    article articles post posts blog opinion analysis review reviews report \
    reports interview feat \
    der die das den dem des ein eine einer eines und oder mit von für auf aus \
    bei nach über unter vor wie was wer ist sind war nicht auch noch \
    les des une un est sont pour par dans sur avec sans mais pas plus qui que \
    quoi ses son sa leur leurs aux du au ce cette ces \
    los las del una uno con por para sin sobre entre como qué que más pero sus \
    gli della delle dei degli nel nella per con non che come più sono \
    het een van voor met aan niet ook naar bij";

/// [`COMMON_WORDS`] as a set.
static COMMON: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| COMMON_WORDS.split_whitespace().collect());

/// Fires when the comment's own words (not the passages it quotes) name
/// at least `threshold` of the distinct words of the post's title that
/// say what it is about: three letters or more, not a common word. A word
/// counts in its singular or plural and with a possessive "'s" ("Psy's",
/// "councils" for "council").
pub fn on_topic(title: &str, normalized_text: &str, threshold: f64) -> Option<String> {
    if title.trim().is_empty() {
        return None;
    }
    let title = normalize(title);
    // Each subject word as the title writes it and as it is compared.
    let mut subject_words: Vec<(&str, &str)> = Vec::new();
    for_each_token(&title, |kind, word| {
        if kind == TokenKind::Word && is_subject_word(word) {
            let compared = stem(word);
            if !subject_words.iter().any(|(_, seen)| *seen == compared) {
                subject_words.push((word, compared));
            }
        }
    });
    if (subject_words.len() as f64) < threshold {
        return None;
    }
    let own_text = without_quotes(normalized_text);
    let mut comment_words: HashSet<&str> = HashSet::new();
    for_each_token(&own_text, |kind, word| {
        if kind == TokenKind::Word {
            comment_words.insert(stem(word));
        }
    });
    let named: Vec<&str> = subject_words
        .into_iter()
        .filter(|(_, compared)| comment_words.contains(compared))
        .map(|(written, _)| written)
        .collect();
    if named.is_empty() || (named.len() as f64) < threshold {
        return None;
    }
    let quoted: Vec<String> = named
        .iter()
        .take(QUOTED_WORDS)
        .map(|word| format!("\"{word}\""))
        .collect();
    let more = named.len().saturating_sub(QUOTED_WORDS);
    let list = match more {
        0 => quoted.join(", "),
        _ => format!("{} and {more} more", quoted.join(", ")),
    };
    let noun = if named.len() == 1 { "word" } else { "words" };
    Some(format!(
        "The comment names the post it is under: the title's {noun} {list}."
    ))
}

/// A word as it is compared: without a possessive "'s" and without a
/// plural "s" (of a word of four letters or more, so that "bus" and "gas"
/// stay whole).
fn stem(word: &str) -> &str {
    let word = word
        .strip_suffix("'s")
        .or_else(|| word.strip_suffix("'"))
        .unwrap_or(word);
    match word.strip_suffix('s') {
        Some(singular) if singular.chars().count() >= MIN_LETTERS && !singular.ends_with('s') => {
            singular
        }
        _ => word,
    }
}

/// Whether a title's word, as written, says what the post is about.
fn is_subject_word(word: &str) -> bool {
    word.chars()
        .filter(|character| character.is_alphabetic())
        .count()
        >= MIN_LETTERS
        && !COMMON.contains(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(title: &str, text: &str) -> Option<String> {
        on_topic(title, &normalize(text), 1.0)
    }

    #[test]
    fn a_comment_naming_the_posts_subject_is_on_topic() {
        assert_eq!(
            check("Katy Perry - Roar", "katy perry is awesome").as_deref(),
            Some("The comment names the post it is under: the title's words \"katy\", \"perry\".")
        );
        assert!(check(
            "Council approves the Elm Street bypass",
            "The bypass will ruin the valley, and the councillors know it."
        )
        .is_some());
        // Possessives and plurals name the same thing.
        assert!(check("PSY - GANGNAM STYLE", "Psy's best dance").is_some());
        assert!(check("Local councils raise parking fees", "Our council is broke").is_some());
        // A short word keeps its "s": "gas" is no plural of "ga".
        assert!(check("Gas prices soar", "gas is too dear").is_some());
        assert!(check("The boss resigns", "good riddance to the boss").is_some());
    }

    #[test]
    fn common_words_short_words_and_numbers_name_no_subject() {
        // "The", "new", "video", "official" and "2024" are in any title.
        assert_eq!(
            check(
                "The new video (Official) 2024",
                "the new video is out in 2024"
            ),
            None
        );
        assert_eq!(check("UK and EU agree on AI", "the uk and eu"), None);
        assert_eq!(
            check(
                "Live: what we know about the floods",
                "Thanks for sharing, check my site"
            ),
            None
        );
        // Common words of other languages too.
        assert_eq!(check("Die Wahl und das Ergebnis", "und das war es"), None);
        // A common word is known as written, before its "s" is taken off
        // ("this" is no plural of "thi").
        assert_eq!(check("This is it", "thi thi"), None);
    }

    #[test]
    fn without_a_title_the_rule_is_silent() {
        assert_eq!(check("", "katy perry is awesome"), None);
        assert_eq!(check("   ", "katy perry is awesome"), None);
    }

    #[test]
    fn words_in_links_or_quotes_are_not_the_comments_own() {
        // A link's address is no word of the comment.
        assert_eq!(
            check(
                "Katy Perry - Roar",
                "cheap pills http://katy-perry-fans.example/roar"
            ),
            None
        );
        // A reply that quotes the title, or another reader who named it,
        // says nothing of its own about the post.
        assert_eq!(
            check(
                "Katy Perry - Roar",
                "> Katy Perry is great\nCheck out my channel"
            ),
            None
        );
        assert!(check("Katy Perry - Roar", "> so loud\nRoar is her best song").is_some());
    }

    #[test]
    fn the_threshold_counts_distinct_title_words() {
        let text = normalize("Perry again, Perry forever");
        assert!(on_topic("Katy Perry - Roar", &text, 1.0).is_some());
        assert_eq!(on_topic("Katy Perry - Roar", &text, 2.0), None);
        // A title with fewer subject words than the threshold never fires.
        assert_eq!(on_topic("Roar", &normalize("roar roar"), 2.0), None);
        let both = normalize("Katy, what a roar");
        assert!(on_topic("Katy Perry - Roar", &both, 2.0).is_some());
    }

    #[test]
    fn the_reason_quotes_at_most_three_words() {
        let reason = check(
            "LMFAO - Party Rock Anthem ft. Lauren Bennett, GoonRock",
            "lmfao party rock anthem with lauren bennett",
        )
        .unwrap();
        assert_eq!(
            reason,
            "The comment names the post it is under: the title's words \"lmfao\", \"party\", \
             \"rock\" and 3 more."
        );
    }
}
