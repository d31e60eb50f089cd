//! A comment prepared once for all rules: its normalised text, the hosts of
//! its links and its folded words (for the term rules and the fingerprint),
//! and, when `author_keyword` asks, the folded words of the author's name
//! and website.

use std::cell::OnceCell;

use crate::domain::Comment;
use crate::text::{for_each_link_token, normalize, TokenKind};

use super::fold::{folded_words, FoldedWords};

pub struct Subject<'a> {
    pub comment: &'a Comment,
    /// `text::normalize` of the content.
    pub normalized: String,
    /// The hosts of the text's links, as the tokenizer finds them.
    link_hosts: Vec<String>,
    /// Folded words (see `fold`).
    pub folded_words: FoldedWords,
    /// The folded words of the author's name and of the author's website,
    /// made on first use: only `author_keyword` reads them.
    author_words: OnceCell<AuthorWords>,
}

/// The folded words of the fields a comment form shows beside the text.
pub struct AuthorWords {
    pub name: FoldedWords,
    /// The words of the website's address (see [`website_words`]).
    pub website: FoldedWords,
    /// The website address's runs of letters and digits, each with its
    /// hyphens left out (see [`website_runs`]).
    pub website_runs: Vec<String>,
}

impl<'a> Subject<'a> {
    pub fn new(comment: &'a Comment) -> Subject<'a> {
        let normalized = normalize(&comment.content);
        let mut link_hosts = Vec::new();
        // Only the links: the words are the model's business, and the
        // rules would pay as much as the model to cut them again.
        for_each_link_token(&normalized, |kind, text| {
            if kind == TokenKind::LinkDomain {
                link_hosts.push(text.to_string());
            }
        });
        let folded_words = folded_words(&normalized);
        Subject {
            comment,
            normalized,
            link_hosts,
            folded_words,
            author_words: OnceCell::new(),
        }
    }

    /// The folded words of the author's name and website.
    pub fn author_words(&self) -> &AuthorWords {
        self.author_words.get_or_init(|| {
            let author = &self.comment.author;
            AuthorWords {
                name: folded_words(&normalize(&author.name)),
                website: folded_words(&website_words(&author.url)),
                website_runs: website_runs(&author.url),
            }
        })
    }

    /// The hosts of the links in the text.
    pub fn link_hosts(&self) -> impl Iterator<Item = &str> {
        self.link_hosts.iter().map(String::as_str)
    }
}

/// The words of a website's address, normalised as text is: its host's
/// labels, its path's segments and its query's names and values, with the
/// scheme left out, percent-escapes decoded (twice, as `blocked_domain`
/// does), entities decoded, invisible characters dropped (a browser drops
/// a soft hyphen inside a host too) and a host label in its ASCII form
/// (`xn--...`) read in Unicode, so that a term is found in
/// `https://www.buy-cheap-pills.example/viagra%20online` as in text. A
/// host written as one word ("cheappills.example") holds no shorter term.
pub fn website_words(url: &str) -> String {
    let mut words = String::with_capacity(url.len());
    for_each_website_segment(url, |segment| {
        for word in segment
            .split(|character: char| !character.is_alphanumeric())
            .filter(|word| !word.is_empty())
        {
            if !words.is_empty() {
                words.push(' ');
            }
            words.push_str(word);
        }
    });
    words
}

/// The runs of letters and digits of a website's address, read as
/// [`website_words`] reads it, each with its hyphens left out: where a
/// keyword written joined to other words is looked for
/// ("bestcasinosites", "best-casinosites").
pub fn website_runs(url: &str) -> Vec<String> {
    let mut runs = Vec::new();
    for_each_website_segment(url, |segment| {
        let run: String = segment
            .chars()
            .filter(|character| character.is_alphanumeric())
            .collect();
        if !run.is_empty() {
            runs.push(run);
        }
    });
    runs
}

/// Calls `visit` with each segment of a website's address (a host label,
/// a path segment, a query's name or value: a run of letters, digits and
/// hyphens), decoded and normalised as [`website_words`] says.
fn for_each_website_segment(url: &str, mut visit: impl FnMut(&str)) {
    let url = url.trim();
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let once = percent_encoding::percent_decode_str(without_scheme).decode_utf8_lossy();
    let twice = percent_encoding::percent_decode_str(&once).decode_utf8_lossy();
    let normalized = normalize(&twice);
    for segment in
        normalized.split(|character: char| !(character.is_alphanumeric() || character == '-'))
    {
        if segment.starts_with("xn--") {
            visit(&idna::domain_to_unicode(segment).0);
        } else {
            visit(segment);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_websites_words_are_its_labels_segments_and_query() {
        assert_eq!(
            website_words("https://www.Buy-Cheap-Pills.example/viagra%20online?ref=casino_bonus"),
            "www buy cheap pills example viagra online ref casino bonus"
        );
        assert_eq!(website_words("  "), "");
        assert_eq!(website_words("münchen.example"), "münchen example");
        // What a browser reads in the address, however it is written.
        for disguised in [
            "https://best-cas\u{00AD}ino.example",
            "https://best-cas%2569no.example",
            "https://best-c&#97;sino.example",
            "https://xn--best-csino-4qi.example",
        ] {
            let words = website_words(disguised);
            assert!(
                words
                    .split(' ')
                    .any(|word| word == "casino" || word == "c\u{0430}sino"),
                "{disguised}: {words}"
            );
        }
    }

    #[test]
    fn a_websites_runs_join_its_hyphenated_words() {
        assert_eq!(
            website_runs("https://www.Best-CasinoSites.example/top-10?x=%2Fcheap-pills"),
            vec![
                "www",
                "bestcasinosites",
                "example",
                "top10",
                "x",
                "cheappills"
            ]
        );
        assert!(website_runs(" ").is_empty());
    }

    #[test]
    fn link_hosts_are_the_link_domains() {
        let comment = Comment {
            site_id: "site".to_string(),
            comment_id: "c".to_string(),
            content: "See http://www.Bit.ly/xyz?a=1 now and murdev.com, ok... bye".to_string(),
            author: Default::default(),
            context: Default::default(),
            submitted_at: crate::domain::UnixMillis(0),
            form: Default::default(),
        };
        let subject = Subject::new(&comment);
        assert_eq!(
            subject.link_hosts().collect::<Vec<_>>(),
            vec!["bit.ly", "murdev.com"]
        );
    }
}
