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
/// address points at a blocked domain or one of its subdomains.
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
    places.find_map(|(host, place)| {
        let blocked = lists.domains.iter().find(|domain| within(&host, domain))?;
        Some(format!("{place} points at the blocked domain {blocked}."))
    })
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
