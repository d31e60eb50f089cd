//! `link_in_name` and `author_keyword`: what the fields a comment form
//! shows beside the text say. A form shows the name above the comment and
//! links it to the website field, so comment spam puts its advertising
//! there, under a text that says nothing ("Great post, thanks for
//! sharing!"): a web address as the name ("cheapmeds.top",
//! "www.best-loans.example"), or what it sells as the name and in the
//! website's address ("Online Casino Bonus", `https://payday-loans-fast.example`).
//! People write who they are, and their own site.

use super::subject::Subject;
use super::terms::{describe_terms, TermList};
use crate::text::{for_each_link_token, normalize, TokenKind};

/// What comment spam advertises in the name and website fields, the
/// built-in `author_keywords`: goods and services sold by link spam, each
/// a word or phrase unlikely in a person's name or a reader's own site.
/// Terms fold as the term rules' do (look-alike letters, repeated letters),
/// and match whole words: "casino" is found in `best-casino-sites.example`
/// but not in `bestcasinosites.example`. A plural is a term of its own.
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
    "escort",
    "escorts",
    "porn",
    "xxx",
    "forex signals",
    "binary options",
    "weight loss pills",
    "diet pills",
    "male enhancement",
    "cbd oil",
];

/// Fires when the author's name holds a link (with a scheme, with `www.`, or
/// a bare domain under the top-level domains the tokenizer knows), read as
/// the text's links are: an e-mail address is no link, and neither is a
/// sentence begun without a space ("Mr.Smith").
pub fn link_in_name(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return None;
    }
    let normalized = normalize(name);
    let mut first_host = None;
    for_each_link_token(&normalized, |kind, text| {
        if kind == TokenKind::LinkDomain && first_host.is_none() {
            first_host = Some(text.to_string());
        }
    });
    first_host.map(|host| {
        format!("The author's name holds the web address {host}; people write who they are there.")
    })
}

/// Fires when the author's name or the words of the author's website hold
/// one of `keywords` (the built-in list and the configured
/// `author_keywords`). The text itself is the model's and the term rules'
/// business: a reader may well write about a casino.
pub fn author_keyword(keywords: &TermList, subject: &Subject) -> Option<String> {
    if keywords.is_empty() {
        return None;
    }
    let words = subject.author_words();
    let sentences: Vec<String> = [
        ("The author's name", keywords.find(&words.name)),
        ("The author's website", keywords.find(&words.website)),
    ]
    .iter()
    .filter(|(_, found)| !found.is_empty())
    .map(|(place, found)| describe_terms(place, "advertising", found))
    .collect();
    (!sentences.is_empty()).then(|| sentences.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Author;
    use crate::rules::testing::comment_by;

    fn built_in() -> TermList {
        let keywords: Vec<String> = BUILT_IN_AUTHOR_KEYWORDS
            .iter()
            .map(|keyword| keyword.to_string())
            .collect();
        TermList::new(&keywords).unwrap()
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
            ("", ""),
        ] {
            assert_eq!(keyword_message(name, url), None, "{name} {url}");
        }
    }

    #[test]
    fn a_web_address_as_a_name_fires_and_is_named() {
        for (name, host) in [
            ("cheapmeds.top", "cheapmeds.top"),
            ("Best Loans www.best-loans.com", "best-loans.com"),
            ("https://pill-shop.example/buy", "pill-shop.example"),
            ("CASINO-BONUS.CLICK", "casino-bonus.click"),
        ] {
            let message = link_in_name(name);
            assert!(
                message
                    .as_deref()
                    .is_some_and(|message| message.contains(host)),
                "{name}: {message:?}"
            );
        }
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
        ] {
            assert_eq!(link_in_name(name), None, "{name}");
        }
    }
}
