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
    /// The words of the website's address (see [`read_website`]).
    pub website: FoldedWords,
    /// The words of the website's host name (see [`read_website`]).
    pub website_host_words: Vec<String>,
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
            let (website, website_host_words) = read_website(&author.url);
            AuthorWords {
                name: folded_words(&normalize(&author.name)),
                website: folded_words(&website),
                website_host_words,
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
/// `https://www.buy-cheap-pills.example/viagra%20online` as in text; and,
/// apart, the words of its host name alone (its labels cut at hyphens:
/// `best-onlinecasino.example` gives "best", "onlinecasino", "example"),
/// where a keyword written joined to other words is looked for. A host
/// written as one word ("cheappills.example") holds no shorter word.
pub fn read_website(url: &str) -> (String, Vec<String>) {
    let url = url.trim();
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let once = percent_encoding::percent_decode_str(without_scheme).decode_utf8_lossy();
    let twice = percent_encoding::percent_decode_str(&once).decode_utf8_lossy();
    let normalized = normalize(&twice);
    let host_end = normalized.find(['/', '?', '#']).unwrap_or(normalized.len());
    let (host, rest) = normalized.split_at(host_end);
    let mut words = String::with_capacity(normalized.len());
    let mut host_words = Vec::new();
    for (part, in_host) in [(host, true), (rest, false)] {
        for segment in
            part.split(|character: char| !(character.is_alphanumeric() || character == '-'))
        {
            let unicode;
            let segment = if segment.starts_with("xn--") {
                unicode = idna::domain_to_unicode(segment).0;
                unicode.as_str()
            } else {
                segment
            };
            for word in segment
                .split(|character: char| !character.is_alphanumeric())
                .filter(|word| !word.is_empty())
            {
                if !words.is_empty() {
                    words.push(' ');
                }
                words.push_str(word);
                if in_host {
                    host_words.push(word.to_string());
                }
            }
        }
    }
    (words, host_words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_websites_words_are_its_labels_segments_and_query() {
        assert_eq!(
            read_website("https://www.Buy-Cheap-Pills.example/viagra%20online?ref=casino_bonus").0,
            "www buy cheap pills example viagra online ref casino bonus"
        );
        assert_eq!(read_website("  ").0, "");
        assert_eq!(read_website("münchen.example").0, "münchen example");
        // What a browser reads in the address, however it is written.
        for disguised in [
            "https://best-cas\u{00AD}ino.example",
            "https://best-cas%2569no.example",
            "https://best-c&#97;sino.example",
            "https://xn--best-csino-4qi.example",
        ] {
            let words = read_website(disguised).0;
            assert!(
                words
                    .split(' ')
                    .any(|word| word == "casino" || word == "c\u{0430}sino"),
                "{disguised}: {words}"
            );
        }
    }

    #[test]
    fn a_websites_host_words_are_its_labels_cut_at_hyphens() {
        assert_eq!(
            read_website("https://www.Best-OnlineCasino.example:8080/top-10?x=%2Fcheap-pills").1,
            vec!["www", "best", "onlinecasino", "example", "8080"]
        );
        assert_eq!(
            read_website("xn--best-csino-4qi.example/path").1,
            vec!["best", "c\u{0430}sino", "example"]
        );
        assert!(read_website(" ").1.is_empty());
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
