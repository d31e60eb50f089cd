//! `blocked_domain`, `blocked_ip` and `blocked_email`: the operator's own
//! lists of senders and destinations that are never welcome.

use std::borrow::Cow;
use std::collections::HashSet;

use ipnet::IpNet;

use super::subject::Subject;
use crate::domain::Author;

/// Checked block lists; entries are lower case, domains without `www.`.
#[derive(Debug, Clone, Default)]
pub struct BlockLists {
    /// Blocked domains, looked up by each name a host or a text holds (see
    /// [`BlockLists::blocked_suffix`]), so that a check costs the same
    /// however long the list.
    domains: HashSet<String>,
    /// The length of the longest blocked domain: no longer suffix of a
    /// name can be one.
    longest_domain: usize,
    pub networks: Vec<IpNet>,
    pub emails: HashSet<String>,
}

impl BlockLists {
    /// Blocks a checked domain (lower case, without `www.`), in the form
    /// it is written and in its other one: an internationalised name is
    /// written in Unicode (`аптека.рф`) or in ASCII (`xn--80aaouxs.xn--p1ai`),
    /// links and texts hold either, and an author's url is read in ASCII.
    pub fn add_domain(&mut self, domain: String) {
        let other_form = if domain.is_ascii() {
            let (unicode, valid) = idna::domain_to_unicode(&domain);
            valid.ok().map(|()| unicode.to_lowercase())
        } else {
            idna::domain_to_ascii(&domain).ok()
        };
        for form in other_form.into_iter().chain(std::iter::once(domain)) {
            self.longest_domain = self.longest_domain.max(form.len());
            self.domains.insert(form);
        }
    }

    /// The blocked domain that `name` is, or is a subdomain of: a suffix
    /// of `name` that starts at its start or just after a dot. Suffixes
    /// longer than the longest blocked domain are not looked up, so the
    /// work is bounded by that length, whatever the name.
    fn blocked_suffix<'a>(&self, name: &'a str) -> Option<&'a str> {
        let name = name.trim_end_matches('.');
        let shortest_start = name.len().saturating_sub(self.longest_domain);
        std::iter::once(0)
            .chain(name.match_indices('.').map(|(dot, _)| dot + 1))
            .filter(|start| *start >= shortest_start)
            .map(|start| &name[start..])
            .find(|suffix| !suffix.is_empty() && self.domains.contains(*suffix))
    }

    /// The blocked domain that `text` names as a whole name: a run of
    /// label characters and dots that is a blocked domain or one of its
    /// subdomains, so that neither a longer label before it
    /// ("notpillshop.top") nor one after it ("pillshop.topology",
    /// "pillshop.top.example") makes it part of another name. A dot that
    /// ends a sentence is no part of the name, and an ideographic full
    /// stop (which NFKC keeps) counts as a dot. One pass over the text.
    fn named_in_text(&self, text: &str) -> Option<String> {
        // Labels are letters of any script (names are also written in
        // Unicode), digits and hyphens.
        let in_name =
            |character: char| character.is_alphanumeric() || character == '-' || character == '.';
        let text: Cow<'_, str> = if text.contains('\u{3002}') {
            Cow::Owned(text.replace('\u{3002}', "."))
        } else {
            Cow::Borrowed(text)
        };
        text.split(|character: char| !in_name(character))
            .find_map(|name| self.blocked_suffix(name))
            .map(str::to_string)
    }
}

/// The most blocked domains a reason names besides the first.
const NAMED_OTHER_DOMAINS: usize = 3;

/// Fires when a link in the text, the author's url, a web address written
/// as the author's name or the author's e-mail address points at a blocked
/// domain or one of its subdomains, or when the text names one without
/// writing it as a link.
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
    let (_, name_hosts) = super::author_fields::name_hosts(&author.name);
    let places = subject
        .link_hosts()
        .map(|host| (host.to_string(), "A link in the text"))
        .chain(url_host.map(|host| (host, "The author's website")))
        .chain(
            name_hosts
                .into_iter()
                .map(|host| (host, "The author's name")),
        )
        .chain(email_domain.map(|domain| (domain, "The author's e-mail address")));
    // Every blocked domain pointed at, each once, so that a moderator sees
    // them all (up to a few): the first with where it was.
    // (the domain as found, its ASCII form, where): an internationalised
    // name written in both its forms is one domain.
    let mut pointed_at: Vec<(String, String, &str)> = Vec::new();
    for (host, place) in places {
        if let Some(blocked) = lists.blocked_suffix(&host) {
            let ascii = idna::domain_to_ascii(blocked).unwrap_or_else(|_| blocked.to_string());
            if !pointed_at.iter().any(|(_, earlier, _)| *earlier == ascii) {
                pointed_at.push((blocked.to_string(), ascii, place));
            }
        }
    }
    if let Some(((blocked, _, place), others)) = pointed_at.split_first() {
        let more = match others.len() {
            0 => String::new(),
            count => {
                let mut named: Vec<String> = others
                    .iter()
                    .take(NAMED_OTHER_DOMAINS)
                    .map(|(domain, _, _)| domain.clone())
                    .collect();
                let unnamed = count.saturating_sub(NAMED_OTHER_DOMAINS);
                if unnamed > 0 {
                    named.push(format!("{unnamed} more"));
                }
                let listed = match named.split_last() {
                    Some((last, [])) => last.clone(),
                    Some((last, first)) => format!("{} and {last}", first.join(", ")),
                    None => String::new(),
                };
                let (domains, are) = if count == 1 {
                    ("domain", "is")
                } else {
                    ("domains", "are")
                };
                format!("; {count} more blocked {domains} {are} pointed at: {listed}")
            }
        };
        return Some(format!(
            "{place} points at the blocked domain {blocked}{more}."
        ));
    }
    // The names in the text as written: a domain name ignores case, so the
    // sentence break normalisation reads in "pillshop.Top" is no way
    // around the list. Most comments normalise the same either way, and
    // are not normalised again.
    let content = &subject.comment.content;
    let names: Cow<'_, str> = if crate::text::may_have_sentence_breaks(content) {
        Cow::Owned(crate::text::normalize_keeping_full_stops(content))
    } else {
        Cow::Borrowed(&subject.normalized)
    };
    // A bare domain is a link to the tokenizer only under the common
    // top-level domains, and spammers pick the others ("Cheap meds at
    // pillshop.top"): the text's names are looked up too.
    if let Some(blocked) = lists.named_in_text(&names) {
        return Some(format!("The text names the blocked domain {blocked}."));
    }
    // A browser decodes percent-escapes in a link's host
    // (`https://pill%73hop.top`), and redirect links carry their target
    // percent-encoded (`google.com/url?q=https%3A%2F%2F...`).
    let blocked = lists.named_in_text(&percent_decoded(&names)?)?;
    Some(format!(
        "A link in the text, once its percent-escapes are decoded, leads to the blocked domain {blocked}."
    ))
}

/// `text` with its percent-escapes decoded, twice over (a redirect link's
/// target may be encoded once more), or `None` if it has none.
fn percent_decoded(text: &str) -> Option<String> {
    if !text.contains('%') {
        return None;
    }
    let once = percent_encoding::percent_decode_str(text).decode_utf8_lossy();
    let twice = percent_encoding::percent_decode_str(&once).decode_utf8_lossy();
    Some(twice.to_lowercase())
}

/// Fires when the author's IP address lies in a blocked range.
///
/// Reasons go into sites' logs and into answers that leave the author's
/// fields out on purpose, so the message names the configured range and
/// never the author's address. A range is named from its network address
/// (an entry "203.0.113.7/24" as 203.0.113.0/24), since the host address
/// an operator wrote it with may be the author's; a range of one address
/// is the author's address, so such an entry goes unnamed.
pub fn blocked_ip(lists: &BlockLists, author: &Author) -> Option<String> {
    let ip = author.ip?;
    let network = lists
        .networks
        .iter()
        .find(|network| network.contains(&ip))?;
    if network.prefix_len() == network.max_prefix_len() {
        Some("The author's IP address is on the blocked list.".to_string())
    } else {
        Some(format!(
            "The author's IP address is in the blocked range {}.",
            network.trunc()
        ))
    }
}

/// Fires when the author's e-mail address is blocked. The message does
/// not quote the address, for the reason given at [`blocked_ip`]: the
/// configured entry is the author's address itself.
pub fn blocked_email(lists: &BlockLists, author: &Author) -> Option<String> {
    if lists.emails.is_empty() || author.email.trim().is_empty() {
        return None;
    }
    let email = canonical_email(&author.email)?;
    lists
        .emails
        .contains(&email)
        .then(|| "The author's e-mail address is on the blocked list.".to_string())
}

/// An e-mail address in the one form the block list compares: lower case,
/// its domain without a trailing `.` and in its ASCII form (`bot@аптека.рф`
/// is `bot@xn--80aaouxs.xn--p1ai`), so that neither spelling slips past an
/// entry written in the other. `None` for what is no address: no `@`, an
/// empty name, a domain without a `.`, or characters an address does not
/// hold bare (white space, `<`, `>`, `:`, `,`, `;`, a second `@`), as in
/// "mailto:bot@spam.example" or "Bot <bot@spam.example>".
pub fn canonical_email(text: &str) -> Option<String> {
    let text = text.trim().to_lowercase();
    let (name, domain) = text.split_once('@')?;
    let bare = |part: &str| {
        !part.is_empty()
            && !part
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '<' | '>' | ':' | ',' | ';' | '@'))
    };
    if !(bare(name) && bare(domain)) {
        return None;
    }
    // IDNA first: it maps the dots other scripts write (`。`) and fullwidth
    // letters; then the name must have two labels or more, none empty.
    let domain = idna::domain_to_ascii(domain).ok()?;
    let domain = domain.trim_end_matches('.');
    let labels_whole = domain.contains('.') && domain.split('.').all(|label| !label.is_empty());
    labels_whole.then(|| format!("{name}@{domain}"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{comment, comment_by};

    fn lists() -> BlockLists {
        let mut lists = BlockLists {
            networks: vec![
                "203.0.113.0/24".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
            emails: ["bot@mail.example".to_string()].into_iter().collect(),
            ..BlockLists::default()
        };
        lists.add_domain("spamshop.ru".to_string());
        lists
    }

    fn domains(domains: &[&str]) -> BlockLists {
        let mut lists = BlockLists::default();
        for domain in domains {
            lists.add_domain(domain.to_string());
        }
        lists
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
    fn e_mail_addresses_compare_in_one_form() {
        for (written, canonical) in [
            ("Bot@Spam.Example", Some("bot@spam.example")),
            ("bot@spam.example.", Some("bot@spam.example")),
            ("bot@аптека.рф", Some("bot@xn--80aaouxs.xn--p1ai")),
            (
                "bot@xn--80aaouxs.xn--p1ai",
                Some("bot@xn--80aaouxs.xn--p1ai"),
            ),
            ("mailto:bot@spam.example", None),
            ("Bot <bot@spam.example>", None),
            ("a@b@spam.example", None),
            ("@spam.example", None),
            ("bot@localhost", None),
            ("bot@spam.example..", Some("bot@spam.example")),
            ("bot@spam。example", Some("bot@spam.example")),
            ("bot@.example", None),
            ("bot@spam..example", None),
        ] {
            assert_eq!(canonical_email(written).as_deref(), canonical, "{written}");
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
    fn a_blocked_domain_written_as_the_name_is_found() {
        let comment = comment_by(
            "Nice article.",
            Author {
                name: "Deals at Shop.SpamShop.Ru".to_string(),
                ..Author::default()
            },
        );
        assert_eq!(
            blocked_domain(&lists(), &Subject::new(&comment)).as_deref(),
            Some("The author's name points at the blocked domain spamshop.ru.")
        );
    }

    /// Every blocked domain pointed at is named, up to a few: a moderator
    /// sees them all, not only the first; an internationalised one written
    /// in both its forms is one.
    #[test]
    fn every_blocked_domain_pointed_at_is_named() {
        let lists = domains(&[
            "cheapmeds.com",
            "pillshop.top",
            "a.example",
            "b.example",
            "c.example",
        ]);
        let message = |text: &str| blocked_domain(&lists, &Subject::new(&comment(text)));
        let idn = domains(&["аптека.рф"]);
        assert_eq!(
            blocked_domain(
                &idn,
                &Subject::new(&comment(
                    "http://аптека.рф and http://xn--80aaouxs.xn--p1ai"
                ))
            )
            .as_deref(),
            Some("A link in the text points at the blocked domain аптека.рф.")
        );
        assert_eq!(
            message("Best prices at http://cheapmeds.com and http://pillshop.top").as_deref(),
            Some("A link in the text points at the blocked domain cheapmeds.com; 1 more blocked domain is pointed at: pillshop.top.")
        );
        assert_eq!(
            message(
                "http://cheapmeds.com http://pillshop.top http://a.example http://b.example http://c.example http://pillshop.top/x"
            )
            .as_deref(),
            Some(
                "A link in the text points at the blocked domain cheapmeds.com; 4 more blocked domains are pointed at: pillshop.top, a.example, b.example and 1 more."
            )
        );
    }

    #[test]
    fn blocked_domains_outside_the_common_top_level_domains_are_found_in_the_text() {
        let lists = domains(&["pillshop.top"]);
        let cases = [
            ("Cheap meds at pillshop.top", true),
            ("Cheap meds at PILLSHOP.TOP, really cheap.", true),
            ("Cheap meds at pillshop.top.", true),
            // A capital in the ending changes no domain name.
            ("Cheap meds at pillshop.Top now", true),
            ("Cheap meds at http://pillshop.Top now", true),
            ("visit pillshop.top.Great prices", true),
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

    /// An internationalised domain is blocked in both of its forms, as
    /// written in a link, a text or an author's url.
    #[test]
    fn an_internationalised_domain_is_blocked_in_both_forms() {
        for entry in ["аптека.рф", "xn--80aaouxs.xn--p1ai"] {
            let lists = domains(&[entry]);
            for (text, url, fires) in [
                (
                    "Дешевые лекарства: https://xn--80aaouxs.xn--p1ai/buy",
                    "",
                    true,
                ),
                ("Дешевые лекарства: https://аптека.рф/buy", "", true),
                ("заходите на аптека.рф", "", true),
                ("мой сайт", "https://аптека.рф/", true),
                ("мой сайт", "https://другая-аптека.рф/", false),
            ] {
                let comment = comment_by(text, author("", url, None));
                let subject = Subject::new(&comment);
                let fired = blocked_domain(&lists, &subject);
                assert_eq!(fired.is_some(), fires, "{entry}: {text} {url}: {fired:?}");
            }
        }
    }

    /// Browsers decode a host's percent-escapes, and redirect links carry
    /// their target percent-encoded: neither hides a blocked domain.
    #[test]
    fn percent_escapes_do_not_hide_a_blocked_domain() {
        let lists = domains(&["pillshop.top"]);
        for (text, fires) in [
            ("Cheap meds at https://pill%73hop.top/x", true),
            ("Cheap meds at https://pillshop%2Etop/x", true),
            (
                "meds: https://www.google.com/url?q=https%3A%2F%2Fpillshop.top%2Fbuy",
                true,
            ),
            (
                "meds: https://l.example/l.php?u=https%253A%252F%252Fpillshop.top",
                true,
            ),
            ("100% sure, see https://news.example/a%20b", false),
            ("https://news.example/?next=notpill%73hop.top", false),
        ] {
            let comment = comment(text);
            let subject = Subject::new(&comment);
            let fired = blocked_domain(&lists, &subject);
            assert_eq!(fired.is_some(), fires, "{text}: {fired:?}");
            if let Some(reason) = fired {
                assert!(reason.contains("percent-escapes"), "{reason}");
            }
        }
    }

    #[test]
    fn names_are_found_on_label_boundaries() {
        let names = |domain: &str, text: &str| domains(&[domain]).named_in_text(text);
        assert_eq!(names("a.top", "x.a.top").as_deref(), Some("a.top"));
        assert_eq!(names("ab.ab", "xab.ab.ab").as_deref(), Some("ab.ab"));
        // A label in another script is a longer label too.
        assert_eq!(names("pillshop.top", "аптекаpillshop.top"), None);
        assert!(names("pillshop.top", "аптека pillshop.top").is_some());
        // An ideographic full stop stands for a dot.
        assert!(names("pillshop.top", "見て pillshop\u{3002}top").is_some());
        // The most specific blocked domain is named.
        let both = domains(&["top", "pillshop.top"]);
        assert_eq!(
            both.named_in_text("at pillshop.top").as_deref(),
            Some("pillshop.top")
        );
    }

    #[test]
    fn a_long_list_and_a_long_text_cost_one_pass() {
        // Ten thousand blocked domains and a 64 KiB comment of names: each
        // name is looked up by its few suffixes, not against every entry.
        let list: Vec<String> = (0..10_000)
            .map(|index| format!("shop{index}.top"))
            .collect();
        let lists = domains(&list.iter().map(String::as_str).collect::<Vec<_>>());
        let text = "a.b.c.example ".repeat(64 * 1024 / 14);
        assert_eq!(lists.named_in_text(&text), None);
        assert!(lists
            .named_in_text(&format!("{text} at www.shop9999.top"))
            .is_some());
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
    fn a_blocked_ip_is_named_by_its_range_not_the_address() {
        let mut lists = lists();
        let single: std::net::IpAddr = "198.51.100.7".parse().unwrap();
        lists.networks.push(IpNet::from(single));
        // A range written with the address of one of its hosts.
        lists.networks.push("192.0.2.9/28".parse().unwrap());
        let cases = [
            (
                "203.0.113.7",
                "The author's IP address is in the blocked range 203.0.113.0/24.",
            ),
            (
                "2001:db8::1",
                "The author's IP address is in the blocked range 2001:db8::/32.",
            ),
            // A single blocked address is the author's own: not named.
            (
                "198.51.100.7",
                "The author's IP address is on the blocked list.",
            ),
            (
                "192.0.2.9",
                "The author's IP address is in the blocked range 192.0.2.0/28.",
            ),
        ];
        for (ip, expected) in cases {
            let message = blocked_ip(&lists, &author("", "", Some(ip))).unwrap();
            assert_eq!(message, expected, "{ip}");
            assert!(!message.contains(ip), "{message}");
        }
    }

    #[test]
    fn a_blocked_email_is_not_quoted() {
        for email in ["bot@mail.example", " BOT@Mail.Example "] {
            let message = blocked_email(&lists(), &author(email, "", None)).unwrap();
            assert_eq!(
                message,
                "The author's e-mail address is on the blocked list."
            );
            let lower = message.to_lowercase();
            assert!(
                !lower.contains("bot@") && !lower.contains("mail.example"),
                "{message}"
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
