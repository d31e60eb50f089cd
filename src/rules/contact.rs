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

use crate::classifier::TrustedDomains;

/// Messaging apps that scams send readers to, as they are written: with
/// accents, a hyphen or a space inside ("Whátsapp", "Whats-App", "Tele
/// gram"; not "what app" or "we chat", which are English), and in
/// Cyrillic, Arabic and Chinese ("Телеграм", "Вотсап", "واتساب", "微信";
/// not "телеграмма" or "телеграмму", a telegram). Chinese puts no spaces
/// between words, so `微信` is found wherever it stands.
static CHANNEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        \b( wh?[aáàâä]t('?s[\s\-.]?)?[aáàâä]pp?
          | t[eéè]l[eéè][\s\-.]?gr[aáàâ]m
          | viber | we-?chat | wickr
          | (ватс|вотс|вац|вотц)[аa]пп?(е|а|у|ом)? | телегр[аa]м(е|у|ом)? | телегр[аa]мм | вайбер(е|у|ом)?
          | واتس\s?[اآ]ب | (تيليجرام|تلجرام|تليجرام|تلغرام|تيليغرام)
          )\b
        | 微信",
    )
    .unwrap_or_else(|error| unreachable!("the channel pattern is valid: {error}"))
});

/// The domains of the apps' makers: "report it to abuse@telegram.org" is
/// no private contact.
const APP_MAKERS_DOMAINS: &[&str] = &[
    "whatsapp.com",
    "whatsapp.net",
    "telegram.org",
    "viber.com",
    "wechat.com",
    "tencent.com",
    "wickr.com",
    "meta.com",
    "fb.com",
];

/// Someone to get in touch with: a verb of contact, then a person ("him",
/// "Dr", "Mr", "the hacker"). A pronoun must be followed by how ("on",
/// "at", "via", a colon): "call her GP" and "call him what you like" give
/// no one's number.
static PERSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"\b(contact|e-?mail|mail|text|message|reach(\s+out\s+to)?|call|write\s+to|dm|what'?s\s?app)(\s+(the|this|that))?\s+((him|her|them)\b(\s+(directly|now|today|privately|personally|asap|right\s+away))?\s*(\bon\b|\bat\b|\bvia\b|\bthrough\b|:|(?P<detail>\+|00|[a-z0-9._%+\-]+\s*@))|(dr|doctor|mr|mrs|ms|miss|prof|professor|agent|hacker|lady|sir|madam|priest|spell\s?caster)\b)",
    )
    .unwrap_or_else(|error| unreachable!("the person pattern is valid: {error}"))
});

/// A contact detail given under a label, as a signature is written:
/// "Email: recoverypro@gmail.com", "Contact: +234 ...", "Contact info -",
/// "Phone ☎", "Email address is", "Gmail ➡". The label alone asks no one
/// to get in touch, so what follows must be what scams give (see
/// [`contact_offer`]).
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        \b(contact|e-?mail|mail|gmail|phone|tel|call|text)
        (\s+(info|information|details|address|number|me|us|him|her|them))?
        (\s*(:|-|–|—|=>?|➡|→|☎)|\s+(is|at)\b)",
    )
    .unwrap_or_else(|error| unreachable!("the label pattern is valid: {error}"))
});

/// What the scams that sign with a contact say they did for the writer:
/// got their money back ("the hacker got my money back", "recovered my
/// lost funds"), a "recovery expert" or "recovery team", a spell caster or
/// a love spell cast, a trading or investment "mentor", the writer's
/// earnings by the day or the week ("I earn $5,000 weekly"; a salary is
/// said by the month), a "legit lender", a herbal cure of an
/// incurable illness, the Illuminati's riches. Said of the
/// writer's own money ("my", "our"): a reader who writes that "police
/// recovered the stolen money", warns that scammers "promise to recover
/// your funds", or mentions hackers in a story about an attack says none
/// of it.
static SCAM_SUBJECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?x)
        \b( (got|get|gotten|brought|bring)\s+(back\s+)?(all\s+)?(my|our)\s+(lost\s+|stolen\s+)?(money|funds?|bitcoins?|btc|crypto|savings|investments?|deposits?)(\s+back)?
          | (recover|recovered|retrieve|retrieved|reclaim|reclaimed)\s+(all\s+)?(my|our)\s+(lost\s+|stolen\s+)?(money|funds?|bitcoins?|btc|crypto|savings|investments?|deposits?)
          | recovery\s+(expert|agent|specialist|company|firm|team|hacker)s?
          | spell\s?casters?
          | cast\s+a\s+(love\s+)?spell
          | (trading|investment|crypto|forex|bitcoin)\s+(mentor|expert|coach|guru)s?
          | (i|we)\s+(now\s+)?(earn|earned|make|made)\s+(\$|£|€)?\d[\d,.]*\s*k?\s*(\$|£|€|usd|dollars|pounds|euros)?\s*(weekly|daily|a\s+(day|week)|per\s+(day|week)|every\s+(day|week))
          | (legit|genuine|reliable|trusted)\s+(loan\s+)?(lender|hacker)s?
          | loan\s+lenders?
          | herbal\s+(cure|remedy|doctor|medicine\s+cured)
          | cured\s+(me\s+)?(of\s+)?(my\s+)?(herpes|hiv|hpv|diabetes|cancer)
          | join\s+(the\s+)?(great\s+)?illuminati
          )\b",
    )
    .unwrap_or_else(|error| unreachable!("the scam subject pattern is valid: {error}"))
});

/// A phone number: digits with the spaces, dots, dashes, brackets and
/// leading `+` people write them with (see [`is_phone_number`]).
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\+?\(?\d[\d\s().\-]{6,}\d")
        .unwrap_or_else(|error| unreachable!("the phone pattern is valid: {error}"))
});

/// An e-mail address, written plainly or spelled out against the programs
/// that harvest addresses: "anna (at) gmail (dot) com", "anna[at]gmail[.]com",
/// "anna at gmail dot com", "anna @ gmail.com" (see [`Reach::email`]).
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"[a-z0-9._%+\-]+(\s*@\s*|\s*[(\[{]\s*(at|@)\s*[)\]}]\s*|\s+at\s+)[a-z0-9\-]+((\.|\s*[(\[{]\s*(dot|\.)\s*[)\]}]\s*|\s+dot\s+)[a-z0-9\-]+)*(\.|\s*[(\[{]\s*(dot|\.)\s*[)\]}]\s*|\s+dot\s+)[a-z]{2,}\b",
    )
    .unwrap_or_else(|error| unreachable!("the e-mail pattern is valid: {error}"))
});

/// The signs of an e-mail address spelled out: an `at` in brackets, or a
/// word `at` before a name and a word `dot` ("at gmail dot com").
static SPELLED_OUT_AT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[(\[{]\s*at\s*[)\]}]|\bat\s+[a-z0-9\-]+\s+dot\b")
        .unwrap_or_else(|error| unreachable!("the spelled-out pattern is valid: {error}"))
});

/// The parts of a spelled-out address that stand for `@` and `.`.
static ADDRESS_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\s*[(\[{]\s*(at|@|dot|\.)\s*[)\]}]\s*|\s+(at|dot)\s+|\s*@\s*")
        .unwrap_or_else(|error| unreachable!("the marker pattern is valid: {error}"))
});

/// A messaging handle ("@fx_trader_anna"), which only counts right after a
/// messaging app, in a text that asks readers to get in touch: "@Sarah I
/// agree" is a reply to another reader, "posted on Telegram @nexta_tv" a
/// source.
static HANDLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\W{0,12}((user\s?name|user|handle|id|account)\W{0,3})?@[a-z0-9_]{4,}")
        .unwrap_or_else(|error| unreachable!("the handle pattern is valid: {error}"))
});

/// Words that ask a reader to get in touch (see [`asks_to_get_in_touch`]).
static GET_IN_TOUCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(contact|message|text|reach|write|dm|join|inbox|chat|touch|add|talk|connect)\b")
        .unwrap_or_else(|error| unreachable!("the contact pattern is valid: {error}"))
});

/// Words before a noun: "his message on Telegram", "the text on Telegram",
/// "posted a message on Telegram" name something said, not a request.
const DETERMINERS: &[&str] = &[
    "his", "her", "their", "its", "the", "this", "that", "my", "our", "whose", "a", "an", "your",
];

/// Words before "a", "an" or "your" that make the noun a request: "send a
/// message", "drop her a message", "leave your message".
const REQUESTING: &[&str] = &[
    "send", "drop", "leave", "write", "give", "shoot", "start", "me", "us", "him", "her", "them",
];

/// Words ending in "'s" that are no possessive: "let's talk on Telegram".
const CONTRACTIONS: &[&str] = &[
    "let's", "it's", "that's", "he's", "she's", "there's", "here's", "what's", "who's",
];

/// The free e-mail services the scams give addresses at, by the name
/// before their country's or generic ending ("gmail.com", "yahoo.fr",
/// "hotmail.co.uk"). A person's address at an organisation
/// ("jane.smith.mp@parliament.uk") is how readers pass on whom to write to.
const FREE_MAIL_PROVIDERS: &[&str] = &[
    "gmail",
    "googlemail",
    "yahoo",
    "ymail",
    "rocketmail",
    "outlook",
    "hotmail",
    "live",
    "msn",
    "aol",
    "icloud",
    "proton",
    "protonmail",
    "mail",
    "gmx",
    "yandex",
    "zoho",
    "qq",
    "163",
    "126",
    "tutanota",
    "tuta",
    "hackermail",
    "rediffmail",
];

/// The fewest digits a phone number has: a national number with its area
/// code (nine in most countries, ten or eleven in many). Dates ("01.09.2015"),
/// year ranges ("1997-2007") and times ("10.30-11.45") have eight.
const MIN_PHONE_DIGITS: usize = 9;

/// How far from the app or the person (in characters) the contact detail
/// may begin: "WhatsApp +1 555 ...", "contact Dr Okoro on +234 ...", and
/// for an app an international number just before it ("text +1 555 ... on
/// WhatsApp").
const DETAIL_WITHIN_CHARACTERS: usize = 60;

/// How far a contact detail that begins within reach may run on: a phone
/// number or an address is read whole, not cut where the reach ends.
const DETAIL_RUNS_ON_CHARACTERS: usize = 60;

/// The starts of national toll-free and shared-cost numbers (after any
/// `+` or `00` and country code `1`): a council's or a charity's hotline,
/// which readers pass on with the app that also takes messages on it.
/// (The United Kingdom's `03` numbers of public bodies are left out: the
/// same digits begin every Pakistani mobile number.)
const HOTLINE_PREFIXES: &[&str] = &["0800", "0808", "0500"];

/// The toll-free codes of North America, which count as hotlines when
/// written with the country's `1` ("1-800-...", "+1 888 ..."): written
/// alone, the same digits begin other countries' mobile numbers.
const NORTH_AMERICAN_TOLL_FREE: &[&str] = &["800", "888", "877", "866", "855", "844", "833"];

/// The most characters of a contact detail a message quotes.
const QUOTED_DETAIL_CHARACTERS: usize = 40;

/// Fires when the normalised text (lower case) names a messaging app or a
/// person to contact and, near it, gives a contact detail: after an app, a
/// phone number (just before it, an international one), an e-mail address
/// or a handle right after the app when the words before it ask readers to
/// get in touch; after a person, an international phone number or an
/// e-mail address at a free e-mail service; after a label ("Email:",
/// "Contact:"), either of them, in a text that says what such scams say
/// (see [`labelled_contact`]). The message names both.
pub fn contact_offer(normalized: &str, trusted: &TrustedDomains) -> Option<String> {
    // Most comments have neither the digits of a phone number nor an `@`.
    let digits = normalized.chars().filter(|c| c.is_numeric()).count();
    if digits < MIN_PHONE_DIGITS
        && !normalized.contains('@')
        && !SPELLED_OUT_AT.is_match(normalized)
    {
        return None;
    }
    let channels: Vec<regex::Match> = CHANNEL.find_iter(normalized).collect();
    for (index, channel) in channels.iter().enumerate() {
        let mut after = Reach::after(normalized, channel.end());
        // A detail after the next app's name is that app's.
        if let Some(next) = channels.get(index + 1) {
            after.starts_within = after.starts_within.min(next.start() - channel.end());
        }
        let before = Reach::before(normalized, channel.start());
        let handle = || {
            asks_to_get_in_touch(before.text)
                .then(|| HANDLE.find(after.text))
                .flatten()
                .map(|found| found.as_str().trim_start_matches(|c: char| c != '@'))
        };
        let detail = after
            .phone(Dialling::National)
            .or_else(|| before.phone(Dialling::International))
            .or_else(|| after.email(|address| !is_organisation_address(address, trusted)))
            .or_else(handle);
        if let Some(detail) = detail {
            return Some(message(&channel_name(channel.as_str()), detail));
        }
    }
    person_to_contact(normalized).or_else(|| labelled_contact(normalized))
}

/// A contact detail under a label ("Email: ...", "Contact: +234 ..."), an
/// international phone number or an address at a free e-mail service, in
/// a text that says what the scams that sign so say (see
/// [`SCAM_SUBJECT`]). Readers sign notices so too, a residents'
/// association's secretary, a family after a funeral, with their own
/// number in its international form: the label and the detail alone are
/// not enough.
fn labelled_contact(normalized: &str) -> Option<String> {
    if !LABEL.is_match(normalized) || !SCAM_SUBJECT.is_match(normalized) {
        return None;
    }
    LABEL.captures_iter(normalized).find_map(|label| {
        let after = Reach::after(normalized, label.get(0)?.end());
        let detail = after
            .phone(Dialling::International)
            .or_else(|| after.email(is_free_mail))?;
        // The label's words, however the colon was written ("email ➡",
        // "email address is"): named as "email:", "email address:".
        let words = label.get(1)?.start()..label.get(2).unwrap_or(label.get(1)?).end();
        let named = normalized[words]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        Some(message(&format!("\"{named}:\""), detail))
    })
}

/// A person to contact ("contact him on", "email Dr ...", "the hacker")
/// and, within reach after, an international phone number or an address
/// at a free e-mail service.
fn person_to_contact(normalized: &str) -> Option<String> {
    PERSON.captures_iter(normalized).find_map(|person| {
        let whole = person.get(0)?;
        // A detail right after the pronoun ("email him anna@...") is part
        // of the match; it is read from its start.
        let detail_start = person
            .name("detail")
            .map_or(whole.end(), |detail| detail.start());
        let after = Reach::after(normalized, detail_start);
        let free_mail = after.email(is_free_mail);
        // A person reached on a national number is most often an office
        // ("contact Dr Patel's surgery on 020 ...", "contact him on 01632
        // ..." about a councillor); the scams give numbers abroad.
        let detail = after.phone(Dialling::International).or(free_mail)?;
        let named = normalized[whole.start()..detail_start]
            .trim_end_matches(|character: char| character.is_whitespace() || character == ':');
        Some(message(&format!("\"{named}\""), detail))
    })
}

/// Which phone numbers count.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dialling {
    /// Any phone number but a hotline (see [`HOTLINE_PREFIXES`]).
    National,
    /// Only a number written with its country code (`+` or `00`), but
    /// for a hotline.
    International,
}

/// The part of a text where a contact detail is looked for: a detail must
/// begin within the first `starts_within` bytes of `text`, and may run on
/// after them.
#[derive(Clone, Copy)]
struct Reach<'a> {
    text: &'a str,
    starts_within: usize,
}

impl<'a> Reach<'a> {
    /// The [`DETAIL_WITHIN_CHARACTERS`] after `start`, and the
    /// [`DETAIL_RUNS_ON_CHARACTERS`] after them that a detail begun within
    /// them may run into.
    fn after(text: &'a str, start: usize) -> Reach<'a> {
        let rest = text.get(start..).unwrap_or_default();
        let byte_after = |characters: usize| {
            rest.char_indices()
                .nth(characters)
                .map_or(rest.len(), |(index, _)| index)
        };
        Reach {
            text: &rest[..byte_after(DETAIL_WITHIN_CHARACTERS + DETAIL_RUNS_ON_CHARACTERS)],
            starts_within: byte_after(DETAIL_WITHIN_CHARACTERS),
        }
    }

    /// The [`DETAIL_WITHIN_CHARACTERS`] before `end`.
    fn before(text: &'a str, end: usize) -> Reach<'a> {
        let earlier = text.get(..end).unwrap_or_default();
        let start = earlier
            .char_indices()
            .rev()
            .nth(DETAIL_WITHIN_CHARACTERS.saturating_sub(1))
            .map_or(0, |(index, _)| index);
        let text = &earlier[start..];
        Reach {
            text,
            starts_within: text.len(),
        }
    }

    /// The first e-mail address within reach whose plain form (`@` and
    /// dots, see [`plain_address`]) `accepted` takes, as written. One
    /// spelled out with bare words ("anna at gmail dot com") counts only at
    /// a free e-mail service and with its "dot" spelled out too, so that
    /// prose such as "at home dot com" or "anyone at mail.ru" is no address.
    fn email(&self, accepted: impl Fn(&str) -> bool) -> Option<&'a str> {
        EMAIL
            .find_iter(self.text)
            .take_while(|found| found.start() <= self.starts_within)
            .map(|found| found.as_str())
            .find(|written| {
                let plain = plain_address(written);
                let bare_words = !written.contains(['@', '(', '[', '{']);
                accepted(&plain)
                    && (!bare_words || (written.contains(" dot ") && is_free_mail(&plain)))
            })
    }

    /// The first phone number within reach (see [`is_phone_number`]).
    fn phone(&self, dialling: Dialling) -> Option<&'a str> {
        PHONE
            .find_iter(self.text)
            .take_while(|found| found.start() <= self.starts_within)
            .map(|found| found.as_str().trim())
            .find(|candidate| is_phone_number(candidate, dialling))
    }
}

/// An address as its owner would type it: a spelled-out `at` is `@`, a
/// spelled-out `dot` is `.`, the spaces around them gone.
fn plain_address(written: &str) -> String {
    ADDRESS_MARKER
        .replace_all(written, |marker: &regex::Captures| {
            let word = marker
                .get(1)
                .or_else(|| marker.get(2))
                .map(|word| word.as_str());
            if matches!(word, Some("dot" | ".")) {
                "."
            } else {
                "@"
            }
        })
        .into_owned()
}

/// Whether `text` asks a reader to get in touch: a word of
/// [`GET_IN_TOUCH`] used as a verb, not as a noun after a determiner ("his
/// message on Telegram @...") nor as "add that" / "add to" ("I would add
/// that Meduza is on Telegram @..."). "Join BBC Russian on Telegram @..."
/// reads as the scams' "join my group on Telegram @..." does.
fn asks_to_get_in_touch(text: &str) -> bool {
    GET_IN_TOUCH.find_iter(text).any(|found| {
        let mut words_before = text[..found.start()].split_whitespace().rev();
        let word_before = words_before.next();
        let word_after = text[found.end()..]
            .split(|c: char| !c.is_alphanumeric())
            .find(|word| !word.is_empty());
        let requested = matches!(word_before, Some("a" | "an" | "your"))
            && words_before
                .next()
                .is_some_and(|word| REQUESTING.contains(&word));
        // "Zelensky's message on Telegram" is something said too.
        let noun = !requested
            && word_before.is_some_and(|word| {
                DETERMINERS.contains(&word)
                    || (word.ends_with("'s") && !CONTRACTIONS.contains(&word))
            });
        let adds_a_point = found.as_str() == "add" && matches!(word_after, Some("that" | "to"));
        !noun && !adds_a_point
    })
}

/// Whether an e-mail address is an organisation's that readers pass on:
/// at a domain the site trusts (a government's, a university's; see
/// `trusted_domains`) or at an app's maker ("report it to
/// abuse@telegram.org").
fn is_organisation_address(address: &str, trusted: &TrustedDomains) -> bool {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    trusted.trusts(domain)
        || APP_MAKERS_DOMAINS
            .iter()
            .any(|maker| domain == *maker || domain.ends_with(&format!(".{maker}")))
}

/// Whether an e-mail address is at a free e-mail service: one of
/// [`FREE_MAIL_PROVIDERS`] followed by an ending of one or two short
/// labels ("com", "fr", "co.uk"), not a subdomain of someone's own domain
/// ("mail.example.org" has a long one).
fn is_free_mail(address: &str) -> bool {
    let Some((_, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let Some((provider, ending)) = domain.split_once('.') else {
        return false;
    };
    let labels: Vec<&str> = ending.split('.').collect();
    FREE_MAIL_PROVIDERS.contains(&provider)
        && labels.len() <= 2
        && labels.iter().all(|label| (2..=3).contains(&label.len()))
}

/// Whether a run of digits and separators is a phone number: at least
/// [`MIN_PHONE_DIGITS`] digits, and none of the other things such runs
/// are (see [`is_other_number`]). `dialling` says whether it must have its
/// country code, or may be any number but a hotline.
fn is_phone_number(candidate: &str, dialling: Dialling) -> bool {
    let groups: Vec<&str> = candidate
        .split(|c: char| !c.is_numeric())
        .filter(|group| !group.is_empty())
        .collect();
    let digits: usize = groups.iter().map(|group| group.chars().count()).sum();
    let international = candidate.starts_with('+') || candidate.starts_with("00");
    let dialled = match dialling {
        Dialling::National => !is_hotline(&groups, international),
        Dialling::International => international && !is_hotline(&groups, international),
    };
    digits >= MIN_PHONE_DIGITS && dialled && !is_other_number(candidate, &groups, international)
}

/// Whether a run of digits that the phone pattern took is something else:
/// - groups of one digit (scores, "3-1 2-0"), but for one among the first
///   two (a country or trunk code: "+33 6 12 ...", "+44 (0) 7700 ...",
///   "1-555-...");
/// - a number written in thousands ("950 000 000"), unless international
///   (so a Spanish or Polish mobile written "612 345 678" is missed);
/// - a lottery draw ("11 19 23 31 44 58"): five groups of two digits or
///   more, rising, the first not a trunk code `0`, unless international;
/// - a payment card's number, four groups of four digits;
/// - a book's ISBN;
/// - years ("2019 2020 2021") or a date ("04.10.2021", "2024-05-12");
/// - pairs ("25-23 25-21", "2019-20 2020-21", "102-98 110-105", prices
///   "12.99 13.49"): two or more pieces between spaces, each two numbers;
/// - groups of two digits or fewer that are not evenly separated (times
///   "09.30-12.30 13.30-17.30", dates "04.10.21 - 05.10.21"), where a
///   number of pairs of digits keeps one separator ("06 12 34 56 78").
fn is_other_number(candidate: &str, groups: &[&str], international: bool) -> bool {
    let length = |group: &&str| group.chars().count();
    let single_digits = groups.iter().filter(|group| length(group) < 2).count();
    let single_digits_in_front = groups
        .iter()
        .take(2)
        .filter(|group| length(group) < 2)
        .count();
    let short_groups = single_digits > 1 || single_digits > single_digits_in_front;
    let thousands = !international
        && groups.len() >= 2
        && groups.first().is_some_and(|group| length(group) <= 3)
        && groups.iter().skip(1).all(|group| length(group) == 3);
    let card = groups.len() == 4 && groups.iter().all(|group| length(group) == 4);
    let draw = !international
        && groups.len() >= 5
        && groups.iter().all(|group| length(group) == 2)
        && !groups[0].starts_with('0')
        && groups.windows(2).all(|pair| pair[0] < pair[1]);
    let digits: usize = groups.iter().map(length).sum();
    let isbn = digits == 13 && (candidate.starts_with("978") || candidate.starts_with("979"));
    let year =
        |group: &&str| group.len() == 4 && (group.starts_with("19") || group.starts_with("20"));
    let years = groups.iter().all(year);
    // Day, month and year, or the year first ("2024-05-12 09:15").
    let dates = groups.windows(3).any(|three| {
        (length(&three[0]) <= 2 && length(&three[1]) <= 2 && year(&three[2]))
            || (year(&three[0]) && length(&three[1]) <= 2 && length(&three[2]) <= 2)
    });
    let pieces: Vec<&str> = candidate
        .split_whitespace()
        .filter(|piece| piece.chars().any(char::is_numeric))
        .collect();
    let pairs = pieces.len() >= 2
        && pieces.iter().all(|piece| {
            piece
                .split(|c: char| !c.is_numeric())
                .filter(|group| !group.is_empty())
                .count()
                == 2
        });
    let separators: Vec<&str> = candidate
        .trim_start_matches(|c: char| !c.is_numeric())
        .split(char::is_numeric)
        .filter(|separator| !separator.is_empty())
        .collect();
    let uneven = groups
        .iter()
        .skip(usize::from(international))
        .all(|group| length(group) <= 2)
        && separators.windows(2).any(|pair| pair[0] != pair[1]);
    short_groups || thousands || draw || card || isbn || years || dates || pairs || uneven
}

/// Whether a number is a hotline (see [`HOTLINE_PREFIXES`] and
/// [`NORTH_AMERICAN_TOLL_FREE`]).
fn is_hotline(groups: &[&str], international: bool) -> bool {
    let number = groups.concat();
    let number = if international {
        number.strip_prefix("00").unwrap_or(&number)
    } else {
        number.as_str()
    };
    let north_american = number.strip_prefix('1').is_some_and(|rest| {
        NORTH_AMERICAN_TOLL_FREE
            .iter()
            .any(|code| rest.starts_with(code))
    });
    // Russia's toll-free numbers, 8 800 and seven digits.
    let russian = !international && number.len() == 11 && number.starts_with("8800");
    north_american
        || russian
        || (!international
            && HOTLINE_PREFIXES
                .iter()
                .any(|prefix| number.starts_with(prefix)))
}

/// The rule's sentence: how the comment points readers (`via`) and the
/// contact detail it gives.
fn message(via: &str, detail: &str) -> String {
    // What was written over two lines is quoted on one.
    let one_line = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let via = one_line(via);
    let detail = one_line(detail);
    let detail = crate::text::quoted(&detail, QUOTED_DETAIL_CHARACTERS);
    format!(
        "The comment sends readers to a private contact ({via}, \"{detail}\"), as \
         investment, \"hacker\" and love-spell scams do."
    )
}

/// A messaging app as its makers write it.
fn channel_name(found: &str) -> String {
    let is = |beginnings: &[&str]| beginnings.iter().any(|start| found.starts_with(start));
    let name = if is(&["t", "те", "تي", "تل"]) {
        "Telegram"
    } else if is(&["v", "вай"]) {
        "Viber"
    } else if is(&["we", "微"]) {
        "WeChat"
    } else if is(&["wi"]) {
        "Wickr"
    } else {
        "WhatsApp"
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::normalize;

    fn fires(text: &str) -> Option<String> {
        let trusted =
            TrustedDomains::new(crate::rules::trusted_domains::BUILT_IN_TRUSTED_DOMAINS.iter());
        contact_offer(&normalize(text), &trusted)
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
            "Contact him on WhatsApp, he is the best trader I have ever met in my life +1 555 234 8890",
            "Контакт в WhatsApp, пишите прямо сейчас и очень быстро: +7 999 123 45 67",
            "Send a message to +1 555 234 8890 on WhatsApp for the signals",
            "I read about it on Telegram last week. Then I met Mrs Collins, on WhatsApp +44 7700 900123",
            "WhatsApp +34 612 345 678 for the course",
            "email him: recoveryexpert@hotmail.co.uk or spells@yahoo.fr",
            "Contact Mrs Collins on +44 (0) 7700 900123",
            "WhatsApp +33 6 12 34 56 78",
            "Text him on WhatsApp 1-555-234-8890",
            "WhatsApp +\u{0669}\u{0667}\u{0661} \u{0665}\u{0660} \u{0661}\u{0662}\u{0663} \u{0664}\u{0665}\u{0666}\u{0667}",
            "WhatsApp him on 8886543210",
            "WhatsApp +855 12 345 678",
            "Get in touch with her on Telegram @anna_fx_trader",
            "Contact her on Telegram username @anna_fx_trader",
            "Email Dr Bello at recovery@hackermail.com",
            "My funds were recovered by a genius hacker, email him: recoveryexpert (at) gmail (dot) com",
            "Contact Dr Bello at spellsbybello at gmail dot com",
            "Reach him via fundsback[at]protonmail[.]com today",
            "Telegram or mail: anna{at}fxsignals{dot}net",
            "WhatsApp me, or write to anna @ gmail.com",
            "He doubled my savings in a month. Wh\u{e1}tsapp +44 7700 900123",
            "Whats-App +44 7700 900123 for the signals",
            "Tele gram +44 7700 900123 for the signals",
            "Пишите в Телеграм +7 999 123 45 67",
            "Пишите в вотсап +7 999 123 45 67",
            "تواصل معي على واتساب +966 50 123 4567",
            "加微信 +86 138 0013 8000",
            "My funds were recovered, email him recoveryexpert@gmail.com",
            "Contact him directly on +44 7700 900123",
            "Contact Anna on Telegram @anna_fx_trader, she doubled my savings",
            "Join this group on Telegram @fx_signals_pro, I earned $5000 in a week",
            "I made $9000 in a week with Mrs Anna. Drop her a message on Telegram @fx_anna_pro",
            "Just send a message on Telegram @fx_anna_pro",
            "Let's talk on Telegram @fx_anna_pro, I doubled my savings",
            "email him: recoveryexpert[@]gmail.com",
            "email him: recoveryexpert(@)gmail(.)com",
            "For more info contact Telegram @fx_signals_pro",
            "Love marriage problem solution by Amil Baba, WhatsApp 0300 1234567",
            "WhatsApp Dr Okoro +234 803 123 4567 100% guaranteed",
            "Join our group on Telegram @fx_signals_pro",
            "Message me on Telegram @fx_signals_pro",
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
            "The footage was posted on Telegram @nexta_tv this morning. The message is clear: Russia is losing.",
            "Zelensky said on Telegram @V_Zelenskiy_official that Ukraine would not join talks.",
            "WhatsApp was down from 04.10.2021 - 05.10.2021",
            "Telegram usage by year 2019 2020 2021: up",
            "Contact Dr Patel's surgery on 020 7946 0000 to book.",
            "Cllr Jones is very helpful, contact him on 01632 960 123 about the bins.",
            "The WhatsApp hotline for the flood is 0800 123 4567, run by the council",
            "Email him at jones@mail.example.org about the planning meeting",
            "Our WhatsApp group followed the volleyball: 25-23 25-21 19-25 25-17",
            "Telegram subscribers by season 2019-20 2020-21 2021-22 grew",
            "WhatsApp was down 04.10.21 - 05.10.21 for many users",
            "The Telegram office hours are 09.30-12.30 13.30-17.30",
            "WhatsApp Premium prices 12.99 13.49 14.99",
            "Our WhatsApp group watched the lakers 102-98 110-105",
            "The WhatsApp helpline is 1-800-555-0199",
            "Contact him at press (at) camden (dot) gov (dot) uk about the bins",
            "Our WhatsApp group met at home dot com era prices, remember those?",
            "I was at school dot dot dot and then contact him at work",
            "If you get a WhatsApp scam message, forward it to report@phishing.gov.uk and block \
             the sender.",
            "Report Telegram spam to abuse@telegram.org",
            "His message on Telegram @V_Zelenskiy_official was clear.",
            "I would add that Meduza is on Telegram @meduzalive",
            "WhatsApp now has 535 834 912 monthly users in India, according to the report.",
            "@Sarah Durov built VK and Telegram long before anyone at Mail.ru took it over.",
            "That's what AP reported, and the helpline is 0161 496 0123.",
            "We chat every Sunday, call 0161 496 0123",
            "На трассе перевернулась телега с сеном, телефон ГИБДД 8 (495) 123-45-67",
            "Вратарь Телегин отбил все броски, звоните 8 (495) 123-45-67",
            "The Lotto numbers posted in our WhatsApp group were 11 19 23 31 44 58, bonus 07.",
            "Telegram channel shared the card for donations: 5375 4141 2345 6789",
            "WhatsApp has 2 000 000 000 users",
            "Telegram channel, posted 2024-05-12 09:15:22",
            "Telegram post 2024-05-12 14:30",
            "Lost a grey cat in Leith? Email hermione.ward@gmail.com, it's my neighbour's.",
            "Contact themba.ndlovu@gmail.com about the choir",
            "Бабушка получила телеграмму: «Звоните 8 (916) 123-45-67». Это был обман.",
            "В Telegram пишут, что мост закрыт, справки 8 (800) 555-35-35.",
            "Zelensky's message on Telegram @V_Zelenskiy_official was clear.",
            "Zelensky posted a message on Telegram @V_Zelenskiy_official last night",
            "Your message on Telegram @nexta_tv was quoted by the BBC",
        ] {
            assert_eq!(fires(text), None, "{text}");
        }
    }

    #[test]
    fn a_contact_given_under_a_label_fires_when_it_is_what_scams_give() {
        for text in [
            "I lost 40k to a fake broker, then the hacker got my money back in 3 days. \
             Email: recoverypro@gmail.com",
            "A recovery expert retrieved my lost funds in a week. Contact: +234 813 555 0101",
            "My savings were gone until they recovered my stolen bitcoin. Contact info: \
             fundsback (at) protonmail (dot) com",
            "He cast a love spell that brought my husband home. Mail: spells@yahoo.fr",
            "Best bitcoin trading mentor ever, I doubled my savings. E-mail: anna.fx@outlook.com",
            "The recovery team got all my funds back. Contact me: +44 7700 900123",
            "The hacker recovered my money. Email \u{27a1}\u{fe0f} recoverypro@gmail.com",
            "The hacker recovered my money. Email - recoverypro@gmail.com",
            "The hacker recovered my money. Gmail: recoverypro@gmail.com",
            "The hacker recovered my money. Email address is recoverypro@gmail.com",
            "I earn $5,000 weekly trading with Mrs Anna. Contact: +1 (555) 201-3344",
            "I earn $5,000 weekly with Mrs Anna, my trading mentor. Phone: +1 555 201 3344",
            "My trading mentor doubled my savings. Contact \u{260e} +1 555 201 3344",
            "I was cured of herpes by Dr Oyagu's herbal medicine. Email: droyagu@gmail.com",
            "Need a legit loan lender? I got 50,000 in 24 hours. Email: fastloans@gmail.com",
            "Join the great Illuminati and be rich and famous. Email: agent666@gmail.com",
        ] {
            assert!(fires(text).is_some(), "{text}");
        }
        for text in [
            // Readers signing notices with their own address or number.
            "Lost a grey cat in Leith? Email: hermione.ward@gmail.com, it's my neighbour's.",
            "Choir practice is on Thursday. Contact: themba.ndlovu@gmail.com",
            "Our residents' association meets Tuesday at the library. Contact: +44 7700 900123 \
             (Maureen, secretary)",
            "Funeral of Margaret O'Brien on Friday. Family flowers only. Contact: +353 87 123 4567 \
             (Declan)",
            "If you are struggling please reach out to someone. Contact: +1 800 273 8255 (Suicide \
             and Crisis Lifeline)",
            // Hackers and recovered money in a story, a scam quoted in a
            // warning.
            "My Facebook was hacked last week by hackers pretending to be me. If you got a strange \
             message, ignore it. Email: jane.doe1962@gmail.com if you need me.",
            "Police recovered the stolen money in the end. Contact: +44 20 7946 0000",
            "Beware: scammers say 'Email: x@gmail.com' and promise to recover your funds. Never \
             reply.",
            "My late husband was an investment manager. Email: rose.hill@gmail.com",
            "My daughter earns £2,000 a month as a nurse, it is not enough. Contact: +44 7700 \
             900123 for the petition",
            "Herbal tea helped my cold. Call the NHS on +44 111",
            // An organisation's address.
            "A recovery expert helped me after my account was hacked. Email: help@mybank.example",
        ] {
            assert_eq!(fires(text), None, "{text}");
        }
        let message =
            fires("The hacker got my money back. Email: recoverypro@gmail.com").unwrap_or_default();
        assert!(
            message.contains("(\"email:\", \"recoverypro@gmail.com\")"),
            "{message}"
        );
        // However the colon was written, the label is named by its words.
        for (text, named) in [
            (
                "The hacker recovered my money. Email \u{27a1}\u{fe0f} recoverypro@gmail.com",
                "(\"email:\", ",
            ),
            (
                "The hacker recovered my money. Email address is recoverypro@gmail.com",
                "(\"email address:\", ",
            ),
            (
                "My trading mentor doubled my savings. Contact  me \u{2014} +1 555 201 3344",
                "(\"contact me:\", ",
            ),
        ] {
            let message = fires(text).unwrap_or_default();
            assert!(message.contains(named), "{text}: {message}");
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
        // A detail after a second app's name is that app's.
        let message = fires(
            "I read about it on Telegram last week. Then I met Mrs Collins, on WhatsApp +44 7700 \
             900123",
        )
        .unwrap_or_default();
        assert!(
            message.contains("(WhatsApp, \"+44 7700 900123\")"),
            "{message}"
        );
        // A detail written over two lines is quoted on one; a spelled-out
        // address as written.
        let message = fires("Message him on WhatsApp +44 7700\n900123").unwrap_or_default();
        assert!(
            message.contains("(WhatsApp, \"+44 7700 900123\")"),
            "{message}"
        );
        let message = fires("Contact him\n\n+44 7700 900123").unwrap_or_default();
        assert!(message.contains("(\"contact him\", "), "{message}");
        let message = fires("Contact him at anna (at) gmail (dot) com").unwrap_or_default();
        assert!(
            message.contains("(\"contact him at\", \"anna (at) gmail (dot) com\")"),
            "{message}"
        );
        let message = fires("Пишите в Телеграм +7 999 123 45 67").unwrap_or_default();
        assert!(message.contains("(Telegram, "), "{message}");
        let message = fires("email him recoveryexpert@gmail.com").unwrap_or_default();
        assert!(
            message.contains("(\"email him\", \"recoveryexpert@gmail.com\")"),
            "{message}"
        );
        let message = fires("email Dr Bello at spellsbybello@gmail.com").unwrap_or_default();
        assert!(
            message.contains("(\"email dr\", \"spellsbybello@gmail.com\")"),
            "{message}"
        );
    }
}
