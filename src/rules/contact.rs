//! `contact_offer`: a comment that sends readers to a person through a
//! private channel, a phone number, an e-mail address or a messaging
//! handle. It is how the scams that fill news sites' comments work
//! ("I made $5,000 a week with Mr. Walker, contact him on WhatsApp +1
//! 555 ...", a "hacker" who recovers funds, a doctor's love spell): the
//! text carries no link, reads like a reader's story, and the model,
//! which learned spam as links and slogans, lets it through. Readers share
//! a council's or a charity's number too ("call the council on 020 ..."),
//! so a number alone is not enough: the rule needs a messaging app named
//! beside it, or a person to contact ("contact him", "email Dr ...").

use std::sync::LazyLock;

use regex::Regex;

/// Messaging apps that scams send readers to.
static CHANNEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(what'?s\s?app|whatapp|watsapp|wh?atsap|telegram|viber|wechat|wickr)\b")
        .unwrap_or_else(|error| unreachable!("the channel pattern is valid: {error}"))
});

/// Someone to get in touch with: a verb of contact, then a person ("him",
/// "Dr", "Mr", "the hacker"). A pronoun must be followed by how ("on",
/// "at", "via", a colon): "call her GP" and "call him what you like" give
/// no one's number.
static PERSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(contact|e-?mail|mail|text|message|reach(\s+out\s+to)?|call|write\s+to|dm|what'?s\s?app)(\s+(the|this|that))?\s+((him|her|them)\s*(\bon\b|\bat\b|\bvia\b|\bthrough\b|:)|(dr|doctor|mr|mrs|ms|miss|prof|professor|agent|hacker|lady|sir|madam|priest|spell\s?caster)\b)",
    )
    .unwrap_or_else(|error| unreachable!("the person pattern is valid: {error}"))
});

/// A phone number: digits with the spaces, dots, dashes, brackets and
/// leading `+` people write them with (see [`is_phone_number`]).
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\+?\(?\d[\d\s().\-]{6,}\d")
        .unwrap_or_else(|error| unreachable!("the phone pattern is valid: {error}"))
});

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[a-z0-9._%+\-]+@([a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,})")
        .unwrap_or_else(|error| unreachable!("the e-mail pattern is valid: {error}"))
});

/// A messaging handle ("@fx_trader_anna"), which only counts right after a
/// messaging app, in a text that asks readers to get in touch: "@Sarah I
/// agree" is a reply to another reader, "posted on Telegram @nexta_tv" a
/// source.
static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\W{0,12}@[a-z0-9_]{4,}")
        .unwrap_or_else(|error| unreachable!("the handle pattern is valid: {error}"))
});

/// Words that ask a reader to get in touch.
static GET_IN_TOUCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(contact|message|text|reach|write|dm|join|inbox|chat)\b")
        .unwrap_or_else(|error| unreachable!("the contact pattern is valid: {error}"))
});

/// The free e-mail services the scams give addresses at. A person's
/// address at an organisation ("jane.smith.mp@parliament.uk") is how
/// readers pass on whom to write to.
const FREE_MAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "ymail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "aol.com",
    "icloud.com",
    "proton.me",
    "protonmail.com",
    "mail.com",
    "gmx.com",
    "yandex.com",
    "yandex.ru",
    "mail.ru",
    "zoho.com",
];

/// The fewest digits a phone number has: a national number with its area
/// code (nine in most countries, ten or eleven in many). Dates ("01.09.2015"),
/// year ranges ("1997-2007") and times ("10.30-11.45") have eight.
const MIN_PHONE_DIGITS: usize = 9;

/// How far after the app or the person (in bytes) the contact detail may
/// begin: "WhatsApp +1 555 ...", "contact Dr Okoro on +234 ...".
const DETAIL_WITHIN_BYTES: usize = 60;

/// The most characters of a contact detail a message quotes.
const QUOTED_DETAIL_CHARACTERS: usize = 40;

/// Fires when the normalised text (lower case) names a messaging app or a
/// person to contact and, soon after, gives a contact detail: a phone
/// number, an e-mail address (at a free e-mail service, for a person), or
/// a handle right after the app in a text that asks readers to get in
/// touch. The message names both.
pub fn contact_offer(normalized: &str) -> Option<String> {
    // Most comments have neither the digits of a phone number nor an `@`.
    let digits = normalized.chars().filter(|c| c.is_numeric()).count();
    if digits < MIN_PHONE_DIGITS && !normalized.contains('@') {
        return None;
    }
    if let Some(channel) = CHANNEL.find(normalized) {
        let after = following(normalized, channel.end());
        let handle = || {
            GET_IN_TOUCH
                .is_match(normalized)
                .then(|| HANDLE.find(after))
                .flatten()
                .map(|found| found.as_str().trim_start_matches(|c: char| c != '@'))
        };
        let detail = phone_in(after)
            .or_else(|| EMAIL.find(after).map(|found| found.as_str()))
            .or_else(handle);
        if let Some(detail) = detail {
            return Some(message(&channel_name(channel.as_str()), detail));
        }
    }
    PERSON.find_iter(normalized).find_map(|person| {
        let after = following(normalized, person.end());
        let free_mail = EMAIL.captures(after).filter(|captures| {
            captures
                .get(1)
                .is_some_and(|domain| FREE_MAIL_DOMAINS.contains(&domain.as_str()))
        });
        let detail = phone_in(after).or_else(|| free_mail?.get(0).map(|found| found.as_str()))?;
        let named = person.as_str().trim_end_matches([' ', ':']);
        Some(message(&format!("\"{named}\""), detail))
    })
}

/// The text from `start` on, at most [`DETAIL_WITHIN_BYTES`] of it (cut at
/// a character's boundary), where the contact detail is looked for.
fn following(text: &str, start: usize) -> &str {
    let rest = text.get(start..).unwrap_or_default();
    let mut end = rest.len().min(DETAIL_WITHIN_BYTES);
    while !rest.is_char_boundary(end) {
        end -= 1;
    }
    &rest[..end]
}

/// The first phone number in `text` (see [`is_phone_number`]).
fn phone_in(text: &str) -> Option<&str> {
    PHONE
        .find_iter(text)
        .map(|found| found.as_str().trim())
        .find(|candidate| is_phone_number(candidate))
}

/// Whether a run of digits and separators is a phone number: at least
/// [`MIN_PHONE_DIGITS`] digits, in groups of two or more (a `+` country
/// code may be one digit), and not a number written in thousands ("950
/// 000 000") or a book's ISBN.
fn is_phone_number(candidate: &str) -> bool {
    let groups: Vec<&str> = candidate
        .split(|c: char| !c.is_numeric())
        .filter(|group| !group.is_empty())
        .collect();
    let digits: usize = groups.iter().map(|group| group.chars().count()).sum();
    let country_code = usize::from(candidate.starts_with('+'));
    let short_groups = groups
        .iter()
        .skip(country_code)
        .any(|group| group.chars().count() < 2);
    let thousands = groups.len() >= 2
        && groups.first().is_some_and(|group| group.len() <= 3)
        && groups.iter().skip(1).all(|group| group.len() == 3);
    let isbn = digits == 13 && (candidate.starts_with("978") || candidate.starts_with("979"));
    digits >= MIN_PHONE_DIGITS && !short_groups && !thousands && !isbn
}

/// The rule's sentence: how the comment points readers (`via`) and the
/// contact detail it gives.
fn message(via: &str, detail: &str) -> String {
    let detail = crate::text::quoted(detail.trim(), QUOTED_DETAIL_CHARACTERS);
    format!(
        "The comment sends readers to a private contact ({via}, \"{detail}\"), as \
         investment, \"hacker\" and love-spell scams do."
    )
}

/// A messaging app as its makers write it.
fn channel_name(found: &str) -> String {
    let name = match found.chars().next() {
        Some('t') => "Telegram",
        Some('v') => "Viber",
        Some('w') if found.starts_with("wec") => "WeChat",
        Some('w') if found.starts_with("wi") => "Wickr",
        _ => "WhatsApp",
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    fn fires(text: &str) -> Option<String> {
        contact_offer(&normalize(text))
    }

    #[test]
    fn scams_that_send_readers_to_a_contact_fire() {
        for text in [
            "I made $5,000 a week trading bitcoin with Mr. James Walker. Contact him on \
             WhatsApp +1 (555) 234-8890 and he will change your life.",
            "Contact Dr. Okoro for a love spell, he brought my ex back in 48 hours. \
             WhatsApp +234 810 555 1234",
            "My funds were recovered by a genius hacker, email him: recoveryexpert@gmail.com",
            "Join my signals group on Telegram @fx_trader_anna",
            "Reach Mrs Collins today: 0044 7700 900123",
            "She got her money back, reach out to them at fundsback@gmail.com",
            "Message him on what's app +44 7700 900 123",
        ] {
            assert!(fires(text).is_some(), "{text}");
        }
    }

    #[test]
    fn readers_sharing_numbers_and_addresses_do_not_fire() {
        for text in [
            "Call the council on 020 7946 0000 if your bins were missed.",
            "Samaritans are on 116 123, any time.",
            "Email your MP, their address is jane.smith.mp@parliament.uk",
            "@Sarah I agree, and I told my family on WhatsApp.",
            "Our street's WhatsApp group organised the clean-up.",
            "I tried to contact him for weeks before the story broke.",
            "The 1990-2000 figures were revised in 2014.",
            "You can call him what you like, the 2016-2020 term was a disaster.",
            "Email Ms Reeves at rachel.reeves.mp@parliament.uk and tell her what you think",
            "The footage was posted on Telegram @nexta_tv this morning",
            "If your mum is ill, call her GP on 020 7946 0000.",
            "He was in office 1997-2007. Contact him via his office.",
            "I'd call her a hero. She served from 01.09.2015 to 31.08.2019.",
            "WhatsApp was down on 04.10.2021 for six hours.",
            "Telegram now has 950 000 000 users",
            "Text him the ISBN 978-0-14-103614-4",
            "Our WhatsApp group tracked the scores: 3-1 2-0 1-1 4-2 5-0",
        ] {
            assert_eq!(fires(text), None, "{text}");
        }
    }

    #[test]
    fn the_message_names_the_channel_and_the_contact() {
        assert_eq!(
            fires("Contact him on WhatsApp +1 (555) 234-8890").as_deref(),
            Some(
                "The comment sends readers to a private contact (WhatsApp, \"+1 (555) \
                 234-8890\"), as investment, \"hacker\" and love-spell scams do."
            )
        );
        let message = fires("email Dr Bello at spellsbybello@gmail.com").unwrap_or_default();
        assert!(
            message.contains("(\"email dr\", \"spellsbybello@gmail.com\")"),
            "{message}"
        );
    }
}
