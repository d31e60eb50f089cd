//! `too_many_links`: link-stuffed comments. One or two links are what
//! honest readers share; spam carries many.

use std::sync::Arc;

use super::subject::Subject;
use crate::classifier::{for_each_read_link, ReadLink, SiteHosts, TrustedDomains};

/// The most hosts a message names: a moderator sees which text was read
/// as a link ("them.US" typed without a space) without a list as long as
/// the spam.
const NAMED_HOSTS: usize = 3;

/// The most characters of a host a message quotes.
const QUOTED_HOST_CHARACTERS: usize = 60;

/// Fires when the text holds at least `threshold` links that the model
/// reads: links to domains not `trusted` (a reader citing three official
/// sources stuffs no links), and links to trusted ones that are not what
/// they seem (a look-alike, a redirect; see
/// [`crate::classifier::LinkReading`]). Names their hosts.
pub fn too_many_links(
    subject: &Subject,
    threshold: f64,
    trusted: &Arc<TrustedDomains>,
) -> Option<String> {
    // Most comments have no link at all.
    subject.link_hosts().next()?;
    let reading = SiteHosts::default().with_trusted(Arc::clone(trusted));
    let mut links = 0usize;
    let mut seen = std::collections::HashSet::new();
    let mut hosts: Vec<ReadLink> = Vec::new();
    for_each_read_link(
        &reading,
        &subject.comment.content,
        &subject.normalized,
        |link| {
            links += 1;
            if seen.insert(link) {
                hosts.push(link);
            }
        },
    );
    if (links as f64) < threshold {
        return None;
    }
    let mut named: Vec<String> = hosts
        .iter()
        .take(NAMED_HOSTS)
        .map(|link| link.named(QUOTED_HOST_CHARACTERS))
        .collect();
    match hosts.len().saturating_sub(NAMED_HOSTS) {
        0 => {}
        1 => named.push("1 other site".to_string()),
        others => named.push(format!("{others} other sites")),
    }
    let sites = match named.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, first)) => format!("{} and {last}", first.join(", ")),
        None => String::new(),
    };
    // A threshold of 1 fires on a single link, which is no plural.
    Some(format!(
        "The comment contains {links} link{} to {sites}.",
        if links == 1 { "" } else { "s" },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::comment;

    #[test]
    fn fires_from_the_threshold_on() {
        let cases = [
            ("No links at all, just an opinion.", false),
            (
                "A good source: https://www.bbc.co.uk/news/article-1 worth reading.",
                false,
            ),
            ("See a.com and b.net", false),
            ("Buy at a.com, b.net and http://c.org/x now", true),
            ("Ссылки: a.ru b.ru c.ru d.ru", true),
        ];
        for (text, fires) in cases {
            let comment = comment(text);
            let subject = Subject::new(&comment);
            let fired = too_many_links(&subject, 3.0, &Arc::default());
            assert_eq!(fired.is_some(), fires, "{text}");
        }
    }

    /// Links to trusted domains are sources cited, not links stuffed: they
    /// are neither counted nor named.
    #[test]
    fn links_to_trusted_domains_do_not_count() {
        let trusted = Arc::new(TrustedDomains::new(["gov", "nhs.uk", "who.int"]));
        let fired = |text: &str| {
            let comment = comment(text);
            too_many_links(&Subject::new(&comment), 3.0, &trusted)
        };
        assert_eq!(
            fired("See cdc.gov, www.nhs.uk/conditions and https://www.who.int/news"),
            None
        );
        assert_eq!(
            fired("cdc.gov a.com b.net c.org").as_deref(),
            Some("The comment contains 3 links to a.com, b.net and c.org.")
        );
        // A trusted link that redirects elsewhere, or a look-alike of one,
        // counts.
        assert_eq!(
            fired(
                "https://cdc.gov/r?u=https://pills.example/a https://cdc.gov/r?u=pills.example \
                 https://\u{0274}hs.uk/buy"
            )
            .as_deref(),
            Some(
                "The comment contains 3 links to cdc.gov (passing readers on to another \
                 address) and nhs.uk."
            )
        );
    }

    #[test]
    fn one_link_is_named_in_the_singular() {
        let message = |text: &str| {
            let comment = comment(text);
            too_many_links(&Subject::new(&comment), 1.0, &Arc::default())
        };
        assert_eq!(
            message("See https://a.example/offer").as_deref(),
            Some("The comment contains 1 link to a.example.")
        );
        assert_eq!(
            message("See a.com and b.net").as_deref(),
            Some("The comment contains 2 links to a.com and b.net.")
        );
        // Each site once, up to three, so that a moderator sees what was
        // read as a link ("them.US", typed without a space, is one).
        assert_eq!(
            message("a.com a.com/x b.net c.org d.info e.biz").as_deref(),
            Some("The comment contains 6 links to a.com, b.net, c.org and 2 other sites.")
        );
    }
}
