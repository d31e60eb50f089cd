//! `link_in_name` and `author_keyword`: what the fields a comment form
//! shows beside the text say. A form shows the name above the comment and
//! links it to the website field, so comment spam puts its advertising
//! there, under a text that says nothing ("Great post, thanks for
//! sharing!"): a web address as the name ("cheapmeds.top",
//! "www.best-loans.example"), or what it sells as the name and in the
//! website's address ("Online Casino Bonus", `https://payday-loans-fast.example`).
//! People write who they are, and their own site.

use std::sync::LazyLock;

use super::subject::Subject;
use super::terms::{describe_found, LayeredTerms};
use crate::text::{for_each_link_token, normalize_keeping_full_stops, quoted, TokenKind};

/// What comment spam advertises in the name and website fields, the
/// built-in `author_keywords`: goods and services sold by link spam, each
/// a word or phrase unlikely in a person's name or a reader's own site.
/// Terms fold as the term rules' do (look-alike letters, repeated letters,
/// a word also read without its accents), and match whole words: "casino"
/// is found in `best-casino-sites.example` but not in
/// `bestcasinosites.example` (a phrase written without its spaces is, in
/// the website's host: see [`joined_keywords`]). A plural is a term of its
/// own. Words that are also names, placeholders or other things are left
/// out or written as phrases: "porn" (the Finnish-Swedish surname Pörn,
/// read without its accent), "xxx" (kisses, and a placeholder in a
/// required website field), "escort" (a car).
pub const BUILT_IN_AUTHOR_KEYWORDS: &[&str] = &[
    "casino",
    "casinos",
    "online casino",
    "slot online",
    "sports betting",
    "betting tips",
    "viagra",
    "cialis",
    "levitra",
    "kamagra",
    "tramadol",
    "xanax",
    "online pharmacy",
    "canadian pharmacy",
    "payday loan",
    "payday loans",
    "cash loans",
    "essay writing",
    "write my essay",
    "essay service",
    "seo services",
    "seo company",
    "backlinks",
    "buy followers",
    "replica watches",
    "escorts",
    "escort service",
    "free porn",
    "porn videos",
    "forex signals",
    "binary options",
    "weight loss pills",
    "diet pills",
    "male enhancement",
    "cbd oil",
];

/// The built-in phrases that are not looked for joined in a website's
/// host name (see [`joined_keywords`]): a garage that services Ford
/// Escorts writes "escortservice".
const NOT_FOUND_JOINED: [&str; 1] = ["escort service"];

/// The built-in keyword phrases found in the words of a website's host
/// name written without their spaces, joined to other words or not, as
/// spam domains are written ("onlinecasinoreviews.example",
/// "paydayloansfast.example", "best-replicawatches.example"), each with
/// the word it was found in, after the keywords `found_whole`. Only
/// phrases are looked for so: a single word hides in names and places
/// ("viagra" in the Sicilian town Viagrande, "levitra" in "Levi Tran",
/// "casino" in Casino, New South Wales, and in "Casino Royale"), and only
/// in the host, where spam puts what it sells. A phrase is not named when
/// one already named holds it ("payday loan" in "payday loans": the
/// longest are looked for first). The words are compared as written
/// (lower case), without the folding of look-alike letters and accents
/// that whole words get. Only the built-in list is read so: a site's own
/// `author_keywords` match whole words, since no one here has checked
/// which names hold them.
fn joined_keywords(host_words: &[String], found_whole: &[&str]) -> Vec<(&'static str, String)> {
    static JOINED: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
        let mut looked_for: Vec<(&'static str, String)> = BUILT_IN_AUTHOR_KEYWORDS
            .iter()
            .filter(|keyword| keyword.contains(' ') && !NOT_FOUND_JOINED.contains(keyword))
            .map(|keyword| (*keyword, keyword.split_whitespace().collect::<String>()))
            .collect();
        looked_for.sort_by_key(|(_, joined)| std::cmp::Reverse(joined.len()));
        looked_for
    });
    let mut named: Vec<String> = found_whole
        .iter()
        .map(|keyword| keyword.split_whitespace().collect())
        .collect();
    let mut found = Vec::new();
    for word in host_words {
        for (keyword, joined) in JOINED.iter() {
            let held = named.iter().any(|other| other.contains(joined.as_str()));
            if !held && word.contains(joined.as_str()) {
                named.push(joined.clone());
                found.push((*keyword, word.clone()));
            }
        }
    }
    found
}

/// The top-level domains under which a bare domain in a name (no scheme,
/// no `www.`) counts as a web address: the generic ones that spam uses.
/// The tokenizer's other endings are also words of names ("J.De Jong",
/// "T.Ly", "KIM.CO", "James.Bond", "Anna.Me").
const BARE_NAME_DOMAINS: [&str; 21] = [
    "com", "net", "org", "info", "biz", "ru", "xyz", "site", "online", "club", "top", "shop",
    "store", "click", "icu", "vip", "buzz", "cam", "sbs", "cfd", "website",
];

/// The hosts of the links written in the author's name, read as the
/// text's links are (an e-mail address is no link), except that a name
/// holds no sentences: "Cheapmeds.Top" is one name, not a sentence begun
/// without a space.
pub fn name_hosts(name: &str) -> (String, Vec<String>) {
    let normalized = normalize_keeping_full_stops(name);
    let mut hosts = Vec::new();
    for_each_link_token(&normalized, |kind, text| {
        if kind == TokenKind::LinkDomain {
            hosts.push(text.to_string());
        }
    });
    (normalized, hosts)
}

/// Fires when the author's name holds a web address: one with a scheme or
/// `www.`, or a bare domain under one of [`BARE_NAME_DOMAINS`] whose label
/// before the ending has three characters or more ("cheapmeds.top",
/// "Best-Loans.Com"), unless it follows an `@` or the word "at" (an e-mail
/// address written to dodge harvesters: "bob at gmail.com").
pub fn link_in_name(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return None;
    }
    let (normalized, hosts) = name_hosts(name);
    let written_out = normalized.contains("://") || normalized.contains("www.");
    let host = hosts
        .into_iter()
        .find(|host| written_out || is_bare_web_address(&normalized, host))?;
    Some(format!(
        "The author's name holds a web address, \"{}\".",
        quoted(&host, 60)
    ))
}

/// Whether `host`, found bare in the normalised name, reads as a web
/// address rather than a name with a full stop or a disguised e-mail.
fn is_bare_web_address(normalized: &str, host: &str) -> bool {
    let mut labels = host.rsplit('.');
    let ending = labels.next().unwrap_or_default();
    let label = labels.next().unwrap_or_default();
    if !BARE_NAME_DOMAINS.contains(&ending) || label.chars().count() < 3 {
        return false;
    }
    let Some(position) = normalized.find(host) else {
        return false;
    };
    let before = normalized[..position]
        .trim_end_matches(|character: char| character.is_whitespace() || "([{<".contains(character))
        .trim_end_matches(|character: char| ")]}>".contains(character));
    let after_at_word = before
        .strip_suffix("at")
        .is_some_and(|rest| !rest.ends_with(char::is_alphanumeric));
    !(before.ends_with('@') || after_at_word)
}

/// Fires when the author's name or the words of the author's website hold
/// one of `keywords` (the built-in list and the configured
/// `author_keywords`), or the website's host name holds a built-in phrase
/// written without its spaces (see [`joined_keywords`]). The text itself is
/// the model's and the term rules' business, a reader may well write about
/// a casino, except for the same keywords written in disguise
/// (`disguised_keyword`, in the rules' `mod`).
pub fn author_keyword(keywords: &LayeredTerms, subject: &Subject) -> Option<String> {
    if keywords.is_empty() {
        return None;
    }
    let words = subject.author_words();
    let found_whole = keywords.find(&words.website);
    let joined = joined_keywords(&words.website_host_words, &found_whole);
    let mut website: Vec<(&str, Option<String>)> =
        found_whole.into_iter().map(|term| (term, None)).collect();
    website.extend(joined.into_iter().map(|(keyword, word)| {
        let quoted = quoted(&word, super::QUOTED_TERM_CHARACTERS);
        (keyword, Some(format!("in \"{quoted}\"")))
    }));
    let name: Vec<(&str, Option<String>)> = keywords
        .find(&words.name)
        .into_iter()
        .map(|term| (term, None))
        .collect();
    let sentences: Vec<String> = [
        ("The author's name", name),
        ("The author's website", website),
    ]
    .iter()
    .filter(|(_, found)| !found.is_empty())
    .map(|(place, found)| describe_found(place, "advertising", found))
    .collect();
    (!sentences.is_empty()).then(|| sentences.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Author;
    use crate::rules::testing::comment_by;

    fn built_in() -> LayeredTerms {
        let keywords: Vec<String> = BUILT_IN_AUTHOR_KEYWORDS
            .iter()
            .map(|keyword| keyword.to_string())
            .collect();
        LayeredTerms::new(
            std::sync::Arc::new(crate::rules::terms::TermList::new(&keywords).unwrap()),
            Default::default(),
        )
    }

    fn keyword_message(name: &str, url: &str) -> Option<String> {
        let comment = comment_by(
            "Great post, thanks for sharing!",
            Author {
                name: name.to_string(),
                url: url.to_string(),
                ..Author::default()
            },
        );
        author_keyword(&built_in(), &Subject::new(&comment))
    }

    #[test]
    fn advertising_in_the_name_or_website_fires_and_is_named() {
        assert_eq!(
            keyword_message("Best Online Cas1no", "").as_deref(),
            Some("The author's name contains the advertising terms \"online casino\", \"casino\".")
        );
        assert_eq!(
            keyword_message("Mike", "https://fast-payday-loans.example/apply").as_deref(),
            Some("The author's website contains the advertising term \"payday loans\".")
        );
        assert!(
            keyword_message("Write My Essay", "https://essay-service.example")
                .is_some_and(|message| message.contains("name") && message.contains("website"))
        );
    }

    #[test]
    fn advertising_phrases_joined_in_the_websites_host_fire_and_are_named() {
        assert_eq!(
            keyword_message("Mike", "https://onlinecasinoreviews.example").as_deref(),
            Some(
                "The author's website contains the advertising term \"online casino\" (in \
                 \"onlinecasinoreviews\")."
            )
        );
        for url in [
            "https://www.paydayloansfast.example",
            "https://best-replicawatches.example",
            "http://buyfollowers.example/cheap",
            "https://sportsbettingtips.example",
        ] {
            assert!(keyword_message("Mike", url).is_some(), "{url}");
        }
        // A phrase joined in the path or the query is not looked for, and
        // one is not named again inside a longer one.
        let message = keyword_message("Mike", "https://casino.example/x?onlinecasino").unwrap();
        assert_eq!(
            message,
            "The author's website contains the advertising term \"casino\"."
        );
        let message = keyword_message("Mike", "https://fastpaydayloans.example").unwrap();
        assert!(
            message.contains("\"payday loans\" (in \"fastpaydayloans\")"),
            "{message}"
        );
        assert!(!message.contains("\"payday loan\""), "{message}");
    }

    #[test]
    fn readers_names_and_sites_do_not_fire() {
        for (name, url) in [
            ("Anna Müller", "https://anna-mueller.example/blog"),
            ("Loan Nguyen", ""),
            ("Seo-yeon Kim", "https://kim.example"),
            (
                "Pharmacist Joe",
                "https://joes-pharmacy-notes.example/history",
            ),
            ("Max", "https://bestcasinosites.example"),
            ("Franco", "https://hotel-via-grande.example"),
            ("Rosa", "https://www.comune.viagrande.example"),
            ("Levi Tran", "https://levitran.example"),
            ("Kev", "https://mk2escortservice.example"),
            ("Ana", "https://casinoroyalefansite.example/onlinecasino"),
            ("Jo", "https://example.com/wiki/BinaryOptions"),
            ("", ""),
        ] {
            assert_eq!(keyword_message(name, url), None, "{name} {url}");
        }
    }

    #[test]
    fn a_web_address_as_a_name_fires_and_is_named() {
        for (name, host) in [
            ("cheapmeds.top", "cheapmeds.top"),
            ("Cheapmeds.Top", "cheapmeds.top"),
            ("Best-Loans.Com", "best-loans.com"),
            ("Best Loans www.best-loans.de", "best-loans.de"),
            ("https://pill-shop.example/buy", "pill-shop.example"),
            ("CASINO-BONUS.CLICK", "casino-bonus.click"),
        ] {
            let message = link_in_name(name);
            assert_eq!(
                message,
                Some(format!(
                    "The author's name holds a web address, \"{host}\"."
                )),
                "{name}"
            );
        }
        let long = format!("www.{}.com", "a".repeat(900));
        let message = link_in_name(&long).unwrap();
        assert!(message.chars().count() < 120, "{message}");
    }

    #[test]
    fn names_people_write_do_not_fire() {
        for name in [
            "",
            "Anna Müller",
            "J. R. Smith",
            "Dr. No",
            "Mr.Smith",
            "Zoë O'Brien-Jones",
            "bob@example.com",
            "Иван Петров",
            "山田太郎",
            "Jean-Luc (Lyon)",
            "J.De Jong",
            "M.De Souza",
            "T.Ly Nguyen",
            "J.Bond",
            "ANNE.DE VRIES",
            "JAMES.BOND",
            "KIM.CO",
            "Anna (anna.me)",
            "Jo.com",
            // Also "Anna at annas-shop.com": an e-mail address written to
            // dodge harvesters reads the same.
            "bob at gmail.com",
            "bob(at)gmail.com",
            "bob [at] gmail.com",
            "Bob (bob @gmail.com)",
        ] {
            assert_eq!(link_in_name(name), None, "{name}");
        }
    }
}
