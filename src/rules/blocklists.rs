//! `blocked_domain`, `blocked_ip` and `blocked_email`: the operator's own
//! lists of senders and destinations that are never welcome.

use std::collections::HashSet;

use ipnet::IpNet;

use super::subject::Subject;
use crate::domain::Author;

/// Checked block lists; entries are lower case, domains without `www.`.
#[derive(Debug, Clone, Default)]
pub struct BlockLists {
    pub domains: Vec<String>,
    pub networks: Vec<IpNet>,
    pub emails: HashSet<String>,
}

/// Fires when a link in the text, the author's url or the author's e-mail
/// address points at a blocked domain or one of its subdomains, or when the
/// text names one without writing it as a link.
pub fn blocked_domain(lists: &BlockLists, subject: &Subject) -> Option<String> {
    if lists.domains.is_empty() {
        return None;
    }
    let author = &subject.comment.author;
    let url_host = url_host(&author.url);
    let email_domain = author
        .email
        .trim()
        .rsplit_once('@')
        .map(|(_, domain)| domain.to_lowercase());
    let mut places = subject
        .link_hosts()
        .map(|host| (host.to_string(), "A link in the text"))
        .chain(url_host.map(|host| (host, "The author's url")))
        .chain(email_domain.map(|domain| (domain, "The author's e-mail address")));
    let pointed_at = places.find_map(|(host, place)| {
        let blocked = lists.domains.iter().find(|domain| within(&host, domain))?;
        Some(format!("{place} points at the blocked domain {blocked}."))
    });
    pointed_at.or_else(|| {
        // A bare domain is a link to the tokenizer only under the common
        // top-level domains, and spammers pick the others ("Cheap meds at
        // pillshop.top"): the text is searched for each blocked domain.
        let blocked = lists
            .domains
            .iter()
            .find(|domain| names_domain(&subject.normalized, domain))?;
        Some(format!("The text names the blocked domain {blocked}."))
    })
}

/// Whether `text` names `domain` or one of its subdomains: the domain stands
/// on label boundaries, so that neither a longer label before it
/// ("notpillshop.top") nor one after it ("pillshop.topology",
/// "pillshop.top.example") makes it part of another name. A dot after the
/// domain that ends a sentence is no part of the name. Each search is
/// linear in the length of the text: a candidate that fails its boundaries
/// moves the search on by one character.
fn names_domain(text: &str, domain: &str) -> bool {
    // A label of a name: letters of any script (names are also written in
    // Unicode), digits and hyphens.
    let in_label = |character: char| character.is_alphanumeric() || character == '-';
    if domain.is_empty() {
        return false;
    }
    let mut search_from = 0;
    while let Some(found) = text[search_from..].find(domain) {
        let start = search_from + found;
        let end = start + domain.len();
        let starts_a_label = !text[..start].chars().next_back().is_some_and(in_label);
        let mut after = text[end..].chars();
        let ends_the_name = match after.next() {
            None => true,
            Some('.') => !after.next().is_some_and(in_label),
            Some(next) => !in_label(next),
        };
        if starts_a_label && ends_the_name {
            return true;
        }
        search_from = start + text[start..].chars().next().map_or(1, char::len_utf8);
    }
    false
}

/// Fires when the author's IP address lies in a blocked range.
pub fn blocked_ip(lists: &BlockLists, author: &Author) -> Option<String> {
    let ip = author.ip?;
    let network = lists
        .networks
        .iter()
        .find(|network| network.contains(&ip))?;
    Some(format!(
        "The author's IP address {ip} is in the blocked range {network}."
    ))
}

/// Fires when the author's e-mail address is blocked.
pub fn blocked_email(lists: &BlockLists, author: &Author) -> Option<String> {
    if lists.emails.is_empty() || author.email.trim().is_empty() {
        return None;
    }
    let email = author.email.trim().to_lowercase();
    lists
        .emails
        .contains(&email)
        .then(|| format!("The author's e-mail address {email} is blocked."))
}

/// The host of a url as people type them, with or without a scheme.
fn url_host(url: &str) -> Option<String> {
    let url = url.trim();
    if url.is_empty() {
        return None;
    }
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|parsed| parsed.host_str().is_some())
        .or_else(|| url::Url::parse(&format!("http://{url}")).ok())?;
    let host = parsed.host_str()?.to_lowercase();
    Some(host.strip_prefix("www.").unwrap_or(&host).to_string())
}

/// Whether `host` is `domain` or one of its subdomains.
fn within(host: &str, domain: &str) -> bool {
    let host = host.trim_end_matches('.');
    host == domain
        || (host.len() > domain.len()
            && host.ends_with(domain)
            && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{comment, comment_by};

    fn lists() -> BlockLists {
        BlockLists {
            domains: vec!["spamshop.ru".to_string()],
            networks: vec![
                "203.0.113.0/24".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
            emails: ["bot@mail.example".to_string()].into_iter().collect(),
        }
    }

    fn author(email: &str, url: &str, ip: Option<&str>) -> Author {
        Author {
            email: email.to_string(),
            url: url.to_string(),
            ip: ip.map(|ip| ip.parse().unwrap()),
            ..Author::default()
        }
    }

    #[test]
    fn blocked_domains_are_found_in_links_urls_and_emails() {
        let cases = [
            (
                "visit http://www.spamshop.ru/offer",
                author("", "", None),
                true,
            ),
            ("visit shop.spamshop.ru today", author("", "", None), true),
            ("my site", author("", "https://spamshop.ru/me", None), true),
            ("my site", author("", "spamshop.ru", None), true),
            ("hello", author("me@SPAMSHOP.ru", "", None), true),
            (
                "visit notspamshop.ru.org and nospamshop.ru",
                author("", "", None),
                false,
            ),
            (
                "A useful link: https://en.wikipedia.org/wiki/Spam",
                author("a@b.example", "", None),
                false,
            ),
            ("Привет, всё хорошо", author("", "", None), false),
            // Links in prose, with a port or a user part.
            ("Deals at https://spamshop.ru!", author("", "", None), true),
            ("(see https://spamshop.ru)", author("", "", None), true),
            ("https://spamshop.ru:8443/x", author("", "", None), true),
            (
                "http://news.example@spamshop.ru/",
                author("", "", None),
                true,
            ),
            // Named in the text, where the tokenizer sees no link.
            ("Cheap meds at SpamShop.ru.", author("", "", None), true),
            (
                "order from shop.spamshop.ru:8080",
                author("", "", None),
                true,
            ),
            (
                "spamshop.ru.org and spamshop.rus",
                author("", "", None),
                false,
            ),
        ];
        for (text, author, fires) in cases {
            let comment = comment_by(text, author);
            let subject = Subject::new(&comment);
            assert_eq!(
                blocked_domain(&lists(), &subject).is_some(),
                fires,
                "{text}"
            );
        }
    }

    #[test]
    fn blocked_domains_outside_the_common_top_level_domains_are_found_in_the_text() {
        let lists = BlockLists {
            domains: vec!["pillshop.top".to_string()],
            ..BlockLists::default()
        };
        let cases = [
            ("Cheap meds at pillshop.top", true),
            ("Cheap meds at PILLSHOP.TOP, really cheap.", true),
            ("Cheap meds at pillshop.top.", true),
            ("Order at eu.pillshop.top/meds today", true),
            ("mail sales@pillshop.top", true),
            ("(pillshop.top)", true),
            ("Cheap meds at notpillshop.top", false),
            ("The pillshop.topology of networks", false),
            ("pillshop.top-deals and pillshop.top.example", false),
            ("a pillshop, top quality", false),
            // A failed candidate does not hide a later one.
            ("xpillshop.top then pillshop.top", true),
        ];
        for (text, fires) in cases {
            let comment = comment(text);
            let subject = Subject::new(&comment);
            let fired = blocked_domain(&lists, &subject);
            assert_eq!(fired.is_some(), fires, "{text}: {fired:?}");
        }
    }

    #[test]
    fn names_are_found_on_label_boundaries() {
        assert!(names_domain("x.a.top", "a.top"));
        // A candidate that fails its boundaries hides no later one that
        // overlaps it.
        assert!(names_domain("xab.ab.ab", "ab.ab"));
        // A label in another script is a longer label too.
        assert!(!names_domain("аптекаpillshop.top", "pillshop.top"));
        assert!(names_domain("аптека pillshop.top", "pillshop.top"));
        assert!(!names_domain("anything", ""));
    }

    #[test]
    fn blocked_ranges_hold_the_address() {
        let cases = [
            (Some("203.0.113.7"), true),
            (Some("2001:db8::1"), true),
            (Some("198.51.100.7"), false),
            (None, false),
        ];
        for (ip, fires) in cases {
            assert_eq!(
                blocked_ip(&lists(), &author("", "", ip)).is_some(),
                fires,
                "{ip:?}"
            );
        }
    }

    #[test]
    fn blocked_emails_match_whole_addresses_in_any_case() {
        let cases = [
            ("bot@mail.example", true),
            (" BOT@Mail.Example ", true),
            ("robot@mail.example", false),
            ("", false),
        ];
        for (email, fires) in cases {
            assert_eq!(
                blocked_email(&lists(), &author(email, "", None)).is_some(),
                fires,
                "{email}"
            );
        }
        let comment = comment("no author at all");
        assert!(blocked_email(&lists(), &comment.author).is_none());
    }
}
