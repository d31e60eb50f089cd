//! `too_many_links`: link-stuffed comments. One or two links are what
//! honest readers share; spam carries many.

use super::subject::Subject;

/// Fires when the text holds at least `threshold` links.
pub fn too_many_links(subject: &Subject, threshold: f64) -> Option<String> {
    let links = subject.link_hosts().count();
    (links as f64 >= threshold).then(|| format!("The comment contains {links} links."))
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
}
