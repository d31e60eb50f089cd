//! `too_many_links`: link-stuffed comments. One or two links are what
//! honest readers share; spam carries many.

use super::subject::Subject;

/// Fires when the text holds at least `threshold` links.
pub fn too_many_links(subject: &Subject, threshold: f64) -> Option<String> {
    let links = subject.link_hosts().count();
    // A threshold of 1 fires on a single link, which is no plural.
    (links as f64 >= threshold).then(|| {
        format!(
            "The comment contains {links} link{}.",
            if links == 1 { "" } else { "s" }
        )
    })
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
            assert_eq!(too_many_links(&subject, 3.0).is_some(), fires, "{text}");
        }
    }

    #[test]
    fn one_link_is_named_in_the_singular() {
        let message = |text: &str| {
            let comment = comment(text);
            too_many_links(&Subject::new(&comment), 1.0)
        };
        assert_eq!(
            message("See https://a.example/offer").as_deref(),
            Some("The comment contains 1 link.")
        );
        assert_eq!(
            message("See a.com and b.net").as_deref(),
            Some("The comment contains 2 links.")
        );
    }
}
