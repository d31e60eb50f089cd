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
/// is found in `best-casino-sites.example`, and in the website's
/// `bestcasinosites.example` only as [`joined_keywords`] says. A plural is
/// a term of its own. Words that
/// are also names, placeholders or other things are left out or written
/// as phrases: "porn" (the Finnish-Swedish surname Pörn, read without its
/// accent), "xxx" (kisses, and a placeholder in a required website field),
/// "escort" (a car).
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

/// The built-in keywords that are not looked for joined to other words in
/// a website's address (see [`joined_keywords`]), because common words or
/// a reader's own site hold them: "cialis" is inside "specialist" and
/// "socialist", "escorts" inside a Ford Escort owners' club.
const NOT_FOUND_JOINED: [&str; 2] = ["cialis", "escorts"];

/// The fewest letters a keyword written without its spaces needs to be
/// looked for joined to other words: shorter ones hide in longer words.
const MIN_JOINED_KEYWORD_LETTERS: usize = 6;

/// The built-in keywords found in a website's address joined to other
/// words, as spam domains are written ("bestcasinosites.example",
/// "cheapviagraonline.net", "paydayloansfast.example"), each with the run
/// of the address it was found in, after the keywords `found_whole`. A
/// keyword is looked for without its spaces ("onlinecasino") once it has
/// [`MIN_JOINED_KEYWORD_LETTERS`], unless [`NOT_FOUND_JOINED`] lists it.
/// Inside a run no word boundary shows, so a keyword is not named when one
/// already named holds it ("payday loan" in "payday loans", "casino" in
/// "online casino": the longest are looked for first), and a plural is not
/// looked for, its singular finds it ("casinos" would be found in
/// "bestcasinosites"). Only the built-in list is read so: a site's own
/// `author_keywords` match whole words, since no one here has checked
/// which common words hold them.
fn joined_keywords(runs: &[String], found_whole: &[&str]) -> Vec<(&'static str, String)> {
    static JOINED: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
        let joined = |keyword: &str| keyword.split_whitespace().collect::<String>();
        let all: Vec<String> = BUILT_IN_AUTHOR_KEYWORDS.iter().map(|k| joined(k)).collect();
        let mut looked_for: Vec<(&'static str, String)> = BUILT_IN_AUTHOR_KEYWORDS
            .iter()
            .map(|keyword| (*keyword, joined(keyword)))
            .filter(|(keyword, joined)| {
                let plural = joined
                    .strip_suffix('s')
                    .is_some_and(|singular| all.iter().any(|other| other == singular));
                !plural
                    && !NOT_FOUND_JOINED.contains(keyword)
                    && joined.chars().count() >= MIN_JOINED_KEYWORD_LETTERS
            })
            .collect();
        looked_for.sort_by_key(|(_, joined)| std::cmp::Reverse(joined.len()));
        looked_for
    });
    let mut named: Vec<String> = found_whole
        .iter()
        .map(|keyword| keyword.split_whitespace().collect())
        .collect();
    let mut found = Vec::new();
    for run in runs {
        for (keyword, joined) in JOINED.iter() {
            let held = named.iter().any(|other| other.contains(joined.as_str()));
            if !held && run.contains(joined.as_str()) {
                named.push(joined.clone());
                found.push((*keyword, run.clone()));
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
/// `author_keywords`), or the website's address holds a built-in one
/// joined to other words (see [`joined_keywords`]). The text itself is
/// the model's and the term rules' business, a reader may well write about
/// a casino, except for the same keywords written in disguise
/// (`disguised_keyword`, in the rules' `mod`).
pub fn author_keyword(keywords: &LayeredTerms, subject: &Subject) -> Option<String> {
    if keywords.is_empty() {
        return None;
    }
    let words = subject.author_words();
    let found_whole = keywords.find(&words.website);
    let joined = joined_keywords(&words.website_runs, &found_whole);
    let mut website: Vec<(&str, Option<String>)> =
        found_whole.into_iter().map(|term| (term, None)).collect();
    website.extend(
        joined
            .into_iter()
            .map(|(keyword, run)| (keyword, Some(format!("in \"{}\"", quoted(&run, 40))))),
    );
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
    fn advertising_joined_to_other_words_in_the_website_fires_and_is_named() {
        assert_eq!(
            keyword_message("Mike", "https://bestcasinosites.example").as_deref(),
            Some(
                "The author's website contains the advertising term \"casino\" (in \
                 \"bestcasinosites\")."
            )
        );
        for url in [
            "https://onlinecasinoreviews.com",
            "http://cheapviagraonline.net/buy",
            "https://www.paydayloansfast.example",
            "https://example.com/writemyessay-today",
            "https://get-replicawatches.example",
        ] {
            assert!(keyword_message("Mike", url).is_some(), "{url}");
        }
        // Found whole and joined, each keyword is named once.
        let message = keyword_message("Mike", "https://casino.example/onlinecasino").unwrap();
        assert_eq!(message.matches("\"casino\"").count(), 1, "{message}");
        assert!(
            message.contains("\"online casino\" (in \"onlinecasino\")"),
            "{message}"
        );
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
            ("Max", "https://fordescortsclub.example"),
            (
                "Dr Lee",
                "https://specialistclinic.example/socialist-history",
            ),
            ("Ana", "https://occasionalessays.example"),
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
