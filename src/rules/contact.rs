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
    Regex::new(r"\b(whats\s?app|whatapp|watsapp|wh?atsap|telegram|viber|wechat|wickr)\b")
        .unwrap_or_else(|error| unreachable!("the channel pattern is valid: {error}"))
});

/// Someone to get in touch with: a verb of contact, then a person ("him",
/// "Dr", "Mr", "the hacker").
static PERSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(contact|e-?mail|mail|text|message|reach|call|write to|whats\s?app)(\s+(the|this|that))?\s+(him|her|dr|doctor|mr|mrs|ms|miss|prof|professor|agent|hacker|lady|sir|madam|priest|spell\s?caster)\b",
    )
    .unwrap_or_else(|error| unreachable!("the person pattern is valid: {error}"))
});

/// A phone number: at least [`MIN_PHONE_DIGITS`] digits, with the spaces,
/// dots, dashes, brackets and leading `+` people write them with.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\+?\(?\d[\d\s().\-]{6,}\d")
        .unwrap_or_else(|error| unreachable!("the phone pattern is valid: {error}"))
});

static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(\.[a-z0-9\-]+)*\.[a-z]{2,}")
        .unwrap_or_else(|error| unreachable!("the e-mail pattern is valid: {error}"))
});

/// A messaging handle ("@fx_trader_anna"), which only counts right after a
/// messaging app: "@Sarah I agree" is a reply to another reader.
static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[\s:(])@[a-z0-9_]{4,}")
        .unwrap_or_else(|error| unreachable!("the handle pattern is valid: {error}"))
});

/// How far after a messaging app's name its handle may begin.
const HANDLE_AFTER_CHANNEL_BYTES: usize = 12;

/// The fewest digits a phone number has (a local number with its area
/// code); shorter runs are years, prices and times.
const MIN_PHONE_DIGITS: usize = 8;

/// The most characters of a contact detail a message quotes.
const QUOTED_DETAIL_CHARACTERS: usize = 40;

/// Fires when the normalised text (lower case) gives a contact detail (a
/// phone number or an e-mail address, or a handle beside a messaging app)
/// and names a messaging app or a person to contact; the message names
/// both.
pub fn contact_offer(normalized: &str) -> Option<String> {
    let phone = PHONE.find_iter(normalized).find(|found| {
        found.as_str().chars().filter(char::is_ascii_digit).count() >= MIN_PHONE_DIGITS
    });
    let email = EMAIL.find(normalized);
    let channel = CHANNEL.find(normalized);
    // A handle counts right after the app it belongs to ("Telegram
    // @anna_fx", "on Telegram: @anna_fx").
    let handle = channel.and_then(|channel| {
        HANDLE
            .find(&normalized[channel.end()..])
            .filter(|found| found.start() <= HANDLE_AFTER_CHANNEL_BYTES)
    });
    let detail = phone
        .or(email)
        .or(handle)
        .map(|found| found.as_str().trim())?;
    let via = match (channel, PERSON.find(normalized)) {
        (Some(channel), _) => channel_name(channel.as_str()),
        (None, Some(person)) => format!("\"{}\"", person.as_str()),
        (None, None) => return None,
    };
    let detail = crate::text::quoted(detail, QUOTED_DETAIL_CHARACTERS);
    Some(format!(
        "The comment sends readers to a private contact ({via}, \"{detail}\"), as \
         investment, \"hacker\" and love-spell scams do."
    ))
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
        let message = fires("email Dr Bello at spells@mail.example").unwrap_or_default();
        assert!(
            message.contains("(\"email dr\", \"spells@mail.example\")"),
            "{message}"
        );
    }
}
