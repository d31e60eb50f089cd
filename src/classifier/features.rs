//! Turns a comment's text into the named features the model counts.
//!
//! Feature names carry a one-letter prefix for their kind (`w:` word, `b:`
//! word pair, `n:` number shape, `d:` link domain, `p:` link path segment,
//! `e:` emphasis, `s:` a whole-comment signal) so that reasons can say what
//! each one is. Training counts features by name; scoring looks them up by
//! a key hashed from the parts of the name ([`FeatureParts`]), so that the
//! request path builds no name for a known feature.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::text::{for_each_token, normalize, TokenKind};

/// How features are extracted; stored in the model file so that scoring
/// extracts exactly what training saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeatureParams {
    /// Adds each pair of neighbouring words as a feature.
    pub word_pairs: bool,
    /// Character n-grams of each word (with `_` marking its edges), from
    /// `char_ngram_min` to `char_ngram_max` characters; 0 turns them off.
    /// They catch spellings and word forms the training data never showed.
    pub char_ngram_min: usize,
    pub char_ngram_max: usize,
    /// Counts each feature at most once per comment (binarised multinomial),
    /// so that a word repeated ten times does not outvote the rest.
    pub binary: bool,
    /// Whole-comment signals: length class, share of capitals, link count.
    pub signals: bool,
    /// Scales every feature value by `1 / sqrt(number of features)`, so
    /// that long comments do not get ever more extreme log-odds.
    pub normalize_length: bool,
    /// Counts the words outside the vocabulary as one feature. Spam repeats
    /// its templates while people write freely, so words the model has not
    /// seen are evidence of a person; in training, words too rare for the
    /// vocabulary play their part.
    pub unknown_words: bool,
    /// Adds a signal when a link goes to another site than the one the
    /// comment is posted on ([`SiteHosts`]): readers link to the site's
    /// own pages, spam links away from it. Off in model files written
    /// before it existed, so that they score as they did.
    #[serde(default)]
    pub other_site_links: bool,
    /// Adds the first `word_beginnings` characters of each longer word as
    /// a feature (0 turns it off), so that the forms and misspellings of a
    /// word that begin alike share their evidence: "subscribe",
    /// "subscribers" and "subscribed" all have "subsc". Off (0) in model
    /// files written before it existed, so that they score as they did.
    ///
    /// Left out of the file when off: a model's version is a hash of its
    /// settings as written, and a model file from before the setting
    /// existed must keep its version. (`other_site_links` is written
    /// either way, as the release that brought it wrote it.)
    #[serde(default, skip_serializing_if = "is_zero")]
    pub word_beginnings: usize,
    /// The value of a word feature (`w:`) where it occurs, instead of 1.
    /// The words of a comment are many and tell much the same story, so
    /// naive Bayes, which adds their evidence as if each were news,
    /// overcounts them against the few things said about the comment as a
    /// whole; a weight under 1 counts each word for less, in training and
    /// in scoring alike. 1 in model files written before it existed, and
    /// then left out of the file, so that they keep their version.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub word_weight: f64,
    /// The value of a whole-comment signal (`s:`: length, capitals,
    /// links) where it holds, instead of 1: the other side of
    /// `word_weight`. 1 in model files written before it existed.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub signal_weight: f64,
}

/// The hosts of the site a comment is posted on. A link to one of them,
/// to a subdomain of one, or to the domain just above one (`example.com`
/// for `news.example.com`), stays on the site; any other link goes to
/// another site. Without hosts (the site
/// is not known) every link goes to another site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SiteHosts {
    /// Lowercase, without a leading `www.`, as link domains are tokenised;
    /// an internationalised name in both its forms (`bücher.example` and
    /// `xn--bcher-kva.example`), since a link may be written in either.
    hosts: Vec<String>,
    /// The domains whose links the model does not read at all (see
    /// [`TrustedDomains`]); none unless the rules in force give some.
    trusted: Arc<TrustedDomains>,
}

/// Domains whose links are no evidence of spam wherever they are posted
/// (a government's statistics office, an encyclopaedia, a public
/// broadcaster): the model reads a comment as if their links were not
/// there. It learned its link signals from comments where nearly every
/// link was spam, so that a reader citing their source would otherwise be
/// held for it. A domain trusts its subdomains too: `gov.uk` trusts
/// `ons.gov.uk`, and `gov` every `.gov` site.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedDomains {
    /// Lowercase, without a leading `www.` or a trailing `.`, in both
    /// forms of an internationalised name.
    domains: HashSet<String>,
}

impl TrustedDomains {
    /// The domains given, each as a link domain is read (lower case, no
    /// leading `www.` or trailing `.`, both forms of an internationalised
    /// name). The caller checks them first (see [`trusted_domain`]).
    pub fn new<S: AsRef<str>>(domains: impl IntoIterator<Item = S>) -> TrustedDomains {
        let mut kept = HashSet::new();
        for domain in domains {
            let Some(domain) = trusted_domain(domain.as_ref()) else {
                continue;
            };
            let (unicode, valid) = idna::domain_to_unicode(&domain);
            if valid.is_ok() {
                kept.insert(unicode);
            }
            if let Ok(ascii) = idna::domain_to_ascii(&domain) {
                kept.insert(ascii);
            }
            kept.insert(domain);
        }
        TrustedDomains { domains: kept }
    }

    /// These domains and `more` (checked as [`TrustedDomains::new`] does).
    pub fn with(&self, more: &[String]) -> TrustedDomains {
        let mut added = TrustedDomains::new(more);
        added.domains.extend(self.domains.iter().cloned());
        added
    }

    /// Whether a link to `domain` (a link domain token) goes to a trusted
    /// domain or below one: each of its suffixes on a label boundary is
    /// looked up.
    pub fn trusts(&self, domain: &str) -> bool {
        if self.domains.is_empty() {
            return false;
        }
        let mut rest = domain;
        loop {
            if self.domains.contains(rest) {
                return true;
            }
            match rest.split_once('.') {
                Some((_, parent)) => rest = parent,
                None => return false,
            }
        }
    }
}

/// How the model reads one token of a text's links (see [`LinkReading`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkToken<'text> {
    /// A word, or a link read as a link: counted and read as always.
    Read,
    /// The domain of a link to a trusted domain: not read, not counted
    /// (the link's path is read as any path is).
    TrustedDomain,
    /// A path token of a link to a trusted domain that shows another
    /// address inside the link (a redirect, "cdc.gov/redirect?url=https://
    /// pills.example"): the link is read and counted after all, under its
    /// domain, given here.
    Revealed(&'text str),
}

/// Follows the tokens of a text, in order, and says which links the model
/// reads: every link, except one to a domain the site trusts (see
/// [`TrustedDomains`]) that is written as such in the comment and hides no
/// other address. Written as such: every link to that domain in the
/// normalised text is in the comment as written too, so none of them is
/// written in look-alike letters that normalisation made plain
/// ("ɴature.com" is another domain for a browser). Scoring, the reasons
/// that name links and `too_many_links` follow the same reading.
#[derive(Debug)]
pub struct LinkReading<'a, 'text> {
    site: &'a SiteHosts,
    /// The comment as written; shown as a browser shows it (markup and
    /// comments hidden, references decoded) and lower-cased once a trusted
    /// domain shows up.
    raw_text: &'a str,
    raw_lower: Option<String>,
    /// The comment normalised, whose tokens are read.
    normalized: &'text str,
    /// The trusted domains met so far, and whether each is written as such.
    written: Vec<(&'text str, bool)>,
    /// The domain of the trusted link whose path is being read.
    trusted: Option<&'text str>,
}

impl<'a, 'text> LinkReading<'a, 'text> {
    pub fn new(site: &'a SiteHosts, raw_text: &'a str, normalized: &'text str) -> Self {
        LinkReading {
            site,
            raw_text,
            raw_lower: None,
            normalized,
            written: Vec::new(),
            trusted: None,
        }
    }

    /// How the next token is read.
    pub fn next(&mut self, kind: TokenKind, text: &'text str) -> LinkToken<'text> {
        match kind {
            TokenKind::LinkDomain => {
                self.trusted = None;
                if !self.site.trusts(text) || !self.written_as_such(text) {
                    return LinkToken::Read;
                }
                self.trusted = Some(text);
                LinkToken::TrustedDomain
            }
            TokenKind::LinkPath => match self.trusted {
                Some(domain) if names_an_address(text, self.is_query_value(text)) => {
                    self.trusted = None;
                    LinkToken::Revealed(domain)
                }
                _ => LinkToken::Read,
            },
            TokenKind::Word | TokenKind::Number | TokenKind::Emphasis => {
                self.trusted = None;
                LinkToken::Read
            }
        }
    }

    /// Whether `domain` is written as often in the comment as shown
    /// (lower-cased; hidden markup such as `<!-- nature.com -->` is no
    /// part of it) as in the normalised text: otherwise some of its links
    /// were made of look-alike letters.
    fn written_as_such(&mut self, domain: &'text str) -> bool {
        if let Some((_, written)) = self.written.iter().find(|(seen, _)| *seen == domain) {
            return *written;
        }
        let raw_text = self.raw_text;
        let raw_lower = self
            .raw_lower
            .get_or_insert_with(|| crate::text::visible(raw_text).to_lowercase());
        let written = raw_lower.matches(domain).count() >= self.normalized.matches(domain).count();
        self.written.push((domain, written));
        written
    }

    /// Whether a path token is a query's value that may name where a link
    /// sends readers: `=` stands right before it in the normalised text, of
    /// which every token is a part, and its parameter is no tracking tag
    /// ("utm_source=twitter.com", "ref=facebook.com" say where the reader
    /// came from; see [`TRACKING_PARAMETERS`]).
    fn is_query_value(&self, token: &str) -> bool {
        let start = self.normalized.as_ptr() as usize;
        let offset = (token.as_ptr() as usize).wrapping_sub(start);
        if offset == 0
            || offset > self.normalized.len()
            || self.normalized.as_bytes().get(offset - 1) != Some(&b'=')
        {
            return false;
        }
        let before = self.normalized.get(..offset - 1).unwrap_or_default();
        let name = before
            .rsplit(['?', '&', ';', '/'])
            .next()
            .unwrap_or_default();
        !(name.starts_with("utm_") || TRACKING_PARAMETERS.contains(&name))
    }
}

/// Query parameters that tag where a reader came from, not where the link
/// sends them (besides every `utm_` one).
/// A trusted site does not send readers on to a tag's value; names that
/// some sites do follow ("src", "from", "via", "source") are not here.
const TRACKING_PARAMETERS: &[&str] = &["ref", "referrer"];

/// A link the model reads, as the reasons that name links show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReadLink<'text> {
    pub domain: &'text str,
    /// A link to a trusted domain that passes readers on to another
    /// address (see [`LinkToken::Revealed`]).
    pub redirect: bool,
}

impl ReadLink<'_> {
    /// The link's domain quoted to at most `characters`, and for a
    /// redirect what it does: a moderator who reads "cdc.gov" alone in a
    /// reason about spam links would wonder why a trusted site counts.
    pub fn named(&self, characters: usize) -> String {
        let domain = crate::text::quoted(self.domain, characters);
        if self.redirect {
            format!("{domain} (passing readers on to another address)")
        } else {
            domain.into_owned()
        }
    }
}

/// The links the model reads in `normalized` (see [`LinkReading`]), in
/// order, each time one occurs: a link to a trusted domain that hides
/// another address counts under its domain, as a redirect.
pub fn for_each_read_link<'text>(
    site: &SiteHosts,
    raw_text: &str,
    normalized: &'text str,
    mut visit: impl FnMut(ReadLink<'text>),
) {
    let mut reading = LinkReading::new(site, raw_text, normalized);
    crate::text::for_each_link_token(normalized, |kind, text| match reading.next(kind, text) {
        LinkToken::Read if kind == TokenKind::LinkDomain => visit(ReadLink {
            domain: text,
            redirect: false,
        }),
        LinkToken::Revealed(domain) => visit(ReadLink {
            domain,
            redirect: true,
        }),
        LinkToken::Read | LinkToken::TrustedDomain => {}
    });
}

/// Whether a segment of a link's path or query shows another address: a
/// scheme ("https:" before its `//`), an escaped slash, colon or dot
/// (escaped twice, too: `%252f`), a `www.` name, or, as a query's value
/// (`query_value`), a host name ("u=pills.example", "search=pills.example",
/// with a port or not). A path segment shaped like a host is a page's name
/// ("/wiki/Node.js", "report.pdf") and shows none.
fn names_an_address(segment: &str, query_value: bool) -> bool {
    segment.ends_with("http:")
        || segment.ends_with("https:")
        || segment.contains("%2f")
        || segment.contains("%3a")
        || segment.contains("%2e")
        || segment.contains("%25")
        || segment.starts_with("www.")
        || (query_value && looks_like_a_host(segment))
}

/// Whether a segment is written as a host name, with a port or not: labels
/// of letters, digits and `-` joined by dots, the last of two letters or
/// more.
fn looks_like_a_host(segment: &str) -> bool {
    let host = segment.split(':').next().unwrap_or(segment);
    let mut labels = host.split('.');
    let Some(ending) = labels.next_back() else {
        return false;
    };
    let mut before = labels.peekable();
    before.peek().is_some()
        && before.all(|label| {
            !label.is_empty()
                && label
                    .chars()
                    .all(|character| character.is_alphanumeric() || character == '-')
        })
        && ending.len() >= 2
        && ending.chars().all(char::is_alphabetic)
}

/// A trusted domain as written in a configuration, in the form link
/// domains are read: lower case, without a leading `www.` or a trailing
/// `.`; labels of letters, digits and `-`. A single label is a top-level
/// domain (`gov`). `None` when it is no domain (a URL, an address, a
/// pattern with `*`).
pub fn trusted_domain(written: &str) -> Option<String> {
    let domain = written.trim().trim_end_matches('.').to_lowercase();
    let domain = domain.strip_prefix("www.").unwrap_or(&domain).to_string();
    let valid = !domain.is_empty()
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    valid.then_some(domain)
}

impl SiteHosts {
    /// The hosts given that look like host names (letters, digits, `-`
    /// and at least one inner `.`); others are left out.
    pub fn new<S: AsRef<str>>(hosts: impl IntoIterator<Item = S>) -> SiteHosts {
        let mut kept: Vec<String> = Vec::new();
        for host in hosts
            .into_iter()
            .filter_map(|host| crate::domain::host_name(host.as_ref()))
        {
            let (unicode, valid) = idna::domain_to_unicode(&host);
            let ascii = idna::domain_to_ascii(&host).ok();
            let forms = [Some(host), valid.ok().map(|()| unicode), ascii];
            for form in forms.into_iter().flatten() {
                if !form.is_empty() && !kept.contains(&form) {
                    kept.push(form);
                }
            }
        }
        SiteHosts {
            hosts: kept,
            trusted: Arc::default(),
        }
    }

    /// These hosts, with `trusted` as the domains whose links the model
    /// does not read.
    pub fn with_trusted(self, trusted: Arc<TrustedDomains>) -> SiteHosts {
        SiteHosts { trusted, ..self }
    }

    /// Whether a link to `domain` goes to a trusted domain (see
    /// [`TrustedDomains`]): the model reads the comment without it.
    pub fn trusts(&self, domain: &str) -> bool {
        self.trusted.trusts(domain)
    }

    /// YouTube's own hosts: where the comments of the YouTube corpus were
    /// posted.
    pub fn youtube() -> SiteHosts {
        SiteHosts::new(["youtube.com", "youtu.be"])
    }

    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    /// Whether a link to `domain` (a link domain token) stays on the site.
    pub fn owns(&self, domain: &str) -> bool {
        let below = |host: &str| {
            domain.len() > host.len()
                && domain.ends_with(host)
                && domain.as_bytes()[domain.len() - host.len() - 1] == b'.'
        };
        // The domain just above the host, if that is still a name of two
        // labels or more (not `com`).
        let above = |host: &str| {
            host.split_once('.')
                .is_some_and(|(_, parent)| parent == domain && parent.contains('.'))
        };
        self.hosts
            .iter()
            .any(|host| domain == host || below(host) || above(host))
    }
}

impl FeatureParams {
    /// Why these parameters cannot be used, if they cannot: character
    /// n-grams need `1 <= char_ngram_min <= char_ngram_max`, or both 0 to
    /// turn them off, and the kinds' weights must be within
    /// [`MIN_KIND_WEIGHT`] and [`MAX_KIND_WEIGHT`].
    pub fn problem(&self) -> Option<String> {
        self.invalid_parameter().map(|(_, message)| message)
    }

    /// [`FeatureParams::problem`] with the name of the parameter at fault
    /// (`char_ngrams`, `word_weight` or `signal_weight`). A range such as
    /// 3-0 is refused rather than read as "off": whoever wrote it asked
    /// for n-grams and would not get them.
    pub fn invalid_parameter(&self) -> Option<(&'static str, String)> {
        let (min, max) = (self.char_ngram_min, self.char_ngram_max);
        let turned_off = min == 0 && max == 0;
        if !turned_off && !(1..=max).contains(&min) {
            return Some((
                "char_ngrams",
                format!(
                    "character n-grams {min}-{max}: the smallest must be at least 1 \
                     and at most the largest (0-0 turns them off)"
                ),
            ));
        }
        [
            ("word_weight", "word weight", self.word_weight),
            ("signal_weight", "signal weight", self.signal_weight),
        ]
        .into_iter()
        .find(|(_, _, weight)| !(MIN_KIND_WEIGHT..=MAX_KIND_WEIGHT).contains(weight))
        .map(|(parameter, name, weight)| {
            (
                parameter,
                format!("{name} {weight}: must be from {MIN_KIND_WEIGHT} to {MAX_KIND_WEIGHT}"),
            )
        })
    }

    /// The value a feature of the kind written `prefix` (`w:`, `s:`...)
    /// has where it occurs once: its kind's weight.
    fn kind_weight(&self, prefix: &str) -> f64 {
        match prefix {
            "w:" => self.word_weight,
            "s:" => self.signal_weight,
            _ => 1.0,
        }
    }

    /// [`FeatureParams::kind_weight`] of a feature named `name`.
    fn weight_of_name(&self, name: &str) -> f64 {
        self.kind_weight(name.get(..2).unwrap_or(""))
    }
}

/// The range of a kind's weight: a weight of 0 would make the kind
/// vanish, which turning it off does more plainly, and beyond 100 one
/// feature would outweigh any comment.
pub const MIN_KIND_WEIGHT: f64 = 0.01;
pub const MAX_KIND_WEIGHT: f64 = 100.0;

fn is_zero(value: &usize) -> bool {
    *value == 0
}

fn one() -> f64 {
    1.0
}

fn is_one(value: &f64) -> bool {
    *value == 1.0
}

impl Default for FeatureParams {
    fn default() -> Self {
        FeatureParams {
            word_pairs: true,
            char_ngram_min: 0,
            char_ngram_max: 0,
            binary: true,
            signals: true,
            normalize_length: false,
            unknown_words: false,
            other_site_links: true,
            word_beginnings: 5,
            word_weight: 0.7,
            signal_weight: 1.4,
        }
    }
}

/// The features of one text with their values, sorted by name, for a
/// comment on an unknown site.
pub fn extract_features(params: &FeatureParams, raw_text: &str) -> Vec<(String, f64)> {
    extract_features_on_site(params, raw_text, &SiteHosts::default())
}

/// [`extract_features`] for a comment posted on the site of `site`.
pub fn extract_features_on_site(
    params: &FeatureParams,
    raw_text: &str,
    site: &SiteHosts,
) -> Vec<(String, f64)> {
    extract_features_normalized(params, raw_text, &normalize(raw_text), site)
}

/// [`extract_features_on_site`] for a text already normalised
/// (`normalized` is `normalize(raw_text)`), so that the rules and the model
/// normalise a comment once between them.
pub fn extract_features_normalized(
    params: &FeatureParams,
    raw_text: &str,
    normalized: &str,
    site: &SiteHosts,
) -> Vec<(String, f64)> {
    // Every occurrence is collected, then sorted and merged: cheaper than a
    // map for the few dozen features of a comment.
    let mut occurrences: Vec<String> = Vec::with_capacity(64);
    for_each_feature(params, raw_text, normalized, site, |parts| {
        occurrences.push(parts.name())
    });
    let mut features = counted(occurrences);
    let scale = length_scale(params, features.len());
    for (name, count) in &mut features {
        *count = feature_value(params, *count, scale) * params.weight_of_name(name);
    }
    features
}

/// Each distinct item with how often it occurs, in order.
fn counted<T: Ord>(mut occurrences: Vec<T>) -> Vec<(T, f64)> {
    occurrences.sort_unstable();
    let mut counts: Vec<(T, f64)> = Vec::with_capacity(occurrences.len());
    for item in occurrences {
        match counts.last_mut() {
            Some((last, count)) if *last == item => *count += 1.0,
            _ => counts.push((item, 1.0)),
        }
    }
    counts
}

/// What each feature's value is multiplied by: `1 / sqrt(distinct
/// features)` with [`FeatureParams::normalize_length`], else 1.
fn length_scale(params: &FeatureParams, distinct_features: usize) -> f64 {
    if params.normalize_length && distinct_features > 0 {
        1.0 / (distinct_features as f64).sqrt()
    } else {
        1.0
    }
}

/// The value of a feature seen `count` times.
fn feature_value(params: &FeatureParams, count: f64, scale: f64) -> f64 {
    let value = if params.binary { 1.0 } else { count };
    value * scale
}

/// One feature occurrence as the extractor emits it: the parts its name is
/// made of, the kind's prefix and a text, and for a word pair the second
/// word. The name joins them (a pair's words with a space); a
/// [`FeatureKeys`] hashes them, so that scoring can look the feature up
/// without building its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureParts<'a> {
    prefix: &'static str,
    text: &'a str,
    second: Option<&'a str>,
}

impl FeatureParts<'_> {
    /// The feature's name, as training and model files know it.
    pub fn name(&self) -> String {
        let mut name = String::new();
        self.write_name(&mut name);
        name
    }

    /// Writes the name into `name`, replacing what it held.
    pub fn write_name(&self, name: &mut String) {
        name.clear();
        name.push_str(self.prefix);
        name.push_str(self.text);
        if let Some(second) = self.second {
            name.push(' ');
            name.push_str(second);
        }
    }

    fn is_word(&self) -> bool {
        self.prefix == "w:"
    }
}

/// Calls `visit` with every feature occurrence of a text (a word repeated
/// twice is visited twice), the single definition of what the features of
/// a text are. Occurrences come as their parts, so that scoring can look
/// them up by key without building names at all.
pub fn for_each_feature(
    params: &FeatureParams,
    raw_text: &str,
    normalized: &str,
    site: &SiteHosts,
    mut visit: impl FnMut(FeatureParts<'_>),
) {
    let mut emit = |prefix: &'static str, text: &str, second: Option<&str>| {
        visit(FeatureParts {
            prefix,
            text,
            second,
        })
    };
    // Reused buffers for the character n-grams of a word.
    let mut marked: Vec<char> = Vec::new();
    let mut gram = String::new();
    let mut previous_word: Option<&str> = None;
    let mut links = 0;
    let mut other_site_links = 0;
    let mut any_token = false;
    let mut reading = LinkReading::new(site, raw_text, normalized);
    for_each_token(normalized, |kind, text| {
        any_token = true;
        match reading.next(kind, text) {
            LinkToken::Read => {}
            LinkToken::TrustedDomain => {
                // The words on either side of the link are no pair.
                previous_word = None;
                return;
            }
            LinkToken::Revealed(domain) => {
                links += 1;
                if !site.owns(domain) {
                    other_site_links += 1;
                }
                emit("d:", domain, None);
            }
        }
        let prefix = match kind {
            TokenKind::Word => "w:",
            TokenKind::Number => "n:",
            TokenKind::LinkDomain => {
                links += 1;
                if !site.owns(text) {
                    other_site_links += 1;
                }
                "d:"
            }
            TokenKind::LinkPath => "p:",
            TokenKind::Emphasis => "e:",
        };
        emit(prefix, text, None);
        if kind == TokenKind::Word && params.word_beginnings > 0 {
            // The beginning is a slice of the word: no allocation on the
            // request path. A word no longer than it is its own feature.
            if let Some((end, _)) = text.char_indices().nth(params.word_beginnings) {
                emit("r:", &text[..end], None);
            }
        }
        if kind == TokenKind::Word && params.char_ngram_max > 0 {
            marked.clear();
            marked.push('_');
            marked.extend(text.chars());
            marked.push('_');
            // Sizes start at 1 even if unchecked parameters say 0: a
            // window of no characters would panic, and it is no feature.
            for size in params.char_ngram_min.max(1)..=params.char_ngram_max {
                // A word shorter than the n-gram is already a feature.
                if size > marked.len() {
                    break;
                }
                for window in marked.windows(size) {
                    gram.clear();
                    gram.extend(window);
                    emit("c:", &gram, None);
                }
            }
        }
        if params.word_pairs {
            match kind {
                TokenKind::Word | TokenKind::Number => {
                    if let Some(previous) = previous_word {
                        emit("b:", previous, Some(text));
                    }
                    previous_word = Some(text);
                }
                _ => previous_word = None,
            }
        }
    });
    if links > 0 {
        emit("s:", "has_link", None);
    }
    if params.other_site_links && other_site_links > 0 {
        emit("s:", "other_site_link", None);
    }
    if !any_token {
        emit("s:", "no_words", None);
    }
    if params.signals {
        // Measured on what a reader is shown: markup, references and
        // invisible characters would make two comments shown alike differ.
        let shown = crate::text::visible(raw_text);
        whole_comment_signals(&shown, links, |signal| emit("s:", signal, None));
    }
}

/// The length classes: the most characters of each, and its signal's name.
const LENGTH_CLASSES: [(usize, &str); 4] = [
    (20, "length<=20"),
    (60, "length<=60"),
    (150, "length<=150"),
    (400, "length<=400"),
];

/// The signal of a comment longer than every [`LENGTH_CLASSES`] class.
const LONGER_THAN_EVERY_CLASS: &str = "length>400";

/// Coarse classes of length, capitals and links, as features (named with
/// the `s:` prefix), of `raw_text` as shown (see `text::visible`).
fn whole_comment_signals(raw_text: &str, links: usize, mut visit: impl FnMut(&'static str)) {
    let (mut characters, mut letters, mut capitals) = (0usize, 0usize, 0usize);
    for character in raw_text.chars() {
        // Invisible characters are not shown, so they count for nothing.
        if !character.is_ascii() && crate::text::is_invisible(character) {
            continue;
        }
        characters += 1;
        letters += usize::from(character.is_alphabetic());
        capitals += usize::from(character.is_uppercase());
    }
    visit(
        LENGTH_CLASSES
            .iter()
            .find(|(most, _)| characters <= *most)
            .map_or(LONGER_THAN_EVERY_CLASS, |(_, name)| name),
    );
    if letters >= 10 && capitals * 2 > letters {
        visit("mostly_capitals");
    }
    if links >= 2 {
        visit("several_links");
    }
}

/// The feature that stands for every word outside the vocabulary.
pub const UNKNOWN_WORD: &str = "u:unknown_word";

/// Maps named features to vocabulary positions, the one place where
/// training and scoring decide what a feature counts for: known features
/// keep their value, unknown words add theirs to [`UNKNOWN_WORD`] when the
/// vocabulary has it, and other unknown features count for nothing.
pub fn resolve_positions<S: BuildHasher>(
    features: &[(String, f64)],
    vocabulary_index: &HashMap<String, usize, S>,
) -> Vec<(usize, f64)> {
    let unknown_word = vocabulary_index.get(UNKNOWN_WORD).copied();
    let mut unknown_values = Vec::new();
    let mut resolved = Vec::with_capacity(features.len() + 1);
    for (feature, value) in features {
        match vocabulary_index.get(feature.as_str()) {
            Some(position) => resolved.push((*position, *value)),
            None if feature.starts_with("w:") => unknown_values.push(*value),
            None => {}
        }
    }
    let unknown_total = order_free_sum(unknown_values);
    if let (Some(position), true) = (unknown_word, unknown_total > 0.0) {
        resolved.push((position, unknown_total));
    }
    resolved
}

/// [`resolve_positions`] of [`extract_features_normalized`], without
/// collecting and sorting the feature names: each is built in one reused
/// buffer and looked up. Positions come in vocabulary order, which for a
/// trained model is the names' order as above. After online learning has
/// appended features out of name order, the two orders differ:
/// [`crate::classifier::ModelScore::strongest`] breaks ties by name so that its
/// ranking does not depend on it, and a raw log-likelihood may differ in
/// its last bits (the order of summing).
pub fn resolve_text<S: BuildHasher>(
    params: &FeatureParams,
    raw_text: &str,
    normalized: &str,
    site: &SiteHosts,
    vocabulary_index: &HashMap<String, usize, S>,
) -> Vec<(usize, f64)> {
    let unknown_word = vocabulary_index.get(UNKNOWN_WORD).copied();
    let mut name = String::with_capacity(64);
    resolve_with(params, raw_text, normalized, site, unknown_word, |parts| {
        parts.write_name(&mut name);
        vocabulary_index.get(name.as_str()).copied()
    })
}

/// A vocabulary by feature key, a 64-bit hash of a feature's parts: what
/// the request path looks features up in, without building their names.
///
/// The hash's seed is drawn at random for each table, so that nobody can
/// write a text whose features collide with the vocabulary's on purpose
/// (foldhash resists no chosen collisions under a known seed). By chance, a
/// feature outside the vocabulary takes a known feature's key about once
/// in 2^64 lookups, and then counts as that feature.
#[derive(Debug, Clone)]
pub struct FeatureKeys {
    state: foldhash::fast::RandomState,
    /// (key, position) pairs, found by the key itself: a key is already a
    /// hash under a random seed, so hashing it again would only cost time.
    positions: hashbrown::HashTable<(u64, usize)>,
    unknown_word: Option<usize>,
}

impl FeatureKeys {
    /// The keys of a vocabulary given as (name, position), or `None` when
    /// two of its names share a key (by chance, about once in 2^64 pairs
    /// of names), and then only the names can tell them apart.
    pub fn new<'a>(vocabulary: impl IntoIterator<Item = (&'a str, usize)>) -> Option<FeatureKeys> {
        let vocabulary = vocabulary.into_iter();
        let mut keys = FeatureKeys {
            state: foldhash::fast::RandomState::default(),
            positions: hashbrown::HashTable::with_capacity(vocabulary.size_hint().0),
            unknown_word: None,
        };
        for (name, position) in vocabulary {
            if name == UNKNOWN_WORD {
                keys.unknown_word = Some(position);
            }
            let key = keys.key_of_name(name);
            match keys
                .positions
                .entry(key, |(stored, _)| *stored == key, |(stored, _)| *stored)
            {
                hashbrown::hash_table::Entry::Occupied(_) => return None,
                hashbrown::hash_table::Entry::Vacant(vacant) => {
                    vacant.insert((key, position));
                }
            }
        }
        Some(keys)
    }

    /// The key of a feature the extractor emitted.
    pub fn key(&self, parts: &FeatureParts<'_>) -> u64 {
        self.hash(parts.prefix, parts.text, parts.second)
    }

    /// The vocabulary position of a feature the extractor emitted, if the
    /// vocabulary has it.
    fn position(&self, parts: &FeatureParts<'_>) -> Option<usize> {
        let key = self.key(parts);
        self.positions
            .find(key, |(stored, _)| *stored == key)
            .map(|(_, position)| *position)
    }

    /// The key of a feature name as a vocabulary stores it: the key of the
    /// parts the name was made of. Only a pair's name is split again, at
    /// its first space; the words of a pair never hold one, since spaces
    /// separate words (a property test checks every feature of random
    /// texts).
    pub fn key_of_name(&self, name: &str) -> u64 {
        match name.split_at_checked(2) {
            Some(("b:", words)) => match words.split_once(' ') {
                Some((first, second)) => self.hash("b:", first, Some(second)),
                None => self.hash("b:", words, None),
            },
            Some((prefix, text)) => self.hash(prefix, text, None),
            // No feature is named with fewer than two bytes; such a name
            // keeps a key of its own all the same.
            None => self.hash(name, "", None),
        }
    }

    /// The parts are fed to one hasher as bytes: every prefix is two
    /// bytes, and 0xFF (never part of UTF-8) marks where a pair's second
    /// word starts, so no two sets of parts give the same bytes. (Hashing
    /// them as a tuple cost a hasher call per part and per separator.)
    fn hash(&self, prefix: &str, text: &str, second: Option<&str>) -> u64 {
        use std::hash::Hasher;
        let mut hasher = self.state.build_hasher();
        hasher.write(prefix.as_bytes());
        hasher.write(text.as_bytes());
        if let Some(second) = second {
            hasher.write_u8(0xFF);
            hasher.write(second.as_bytes());
        }
        hasher.finish()
    }
}

/// [`resolve_text`] by feature keys: the same positions and values (see
/// [`FeatureKeys`] for the chance of a collision).
pub fn resolve_text_by_keys(
    params: &FeatureParams,
    raw_text: &str,
    normalized: &str,
    site: &SiteHosts,
    keys: &FeatureKeys,
) -> Vec<(usize, f64)> {
    resolve_with(
        params,
        raw_text,
        normalized,
        site,
        keys.unknown_word,
        |parts| keys.position(parts),
    )
}

/// The vocabulary positions of a text's known features, each as often as
/// it occurs and with its value (its kind's weight), when a known feature
/// has that value however often it occurs: binary features, no length
/// scaling and no unknown-word feature (otherwise `None`). Scoring sorts
/// the positions and drops repeats, so it needs no counting pass.
pub fn binary_occurrences_by_keys(
    params: &FeatureParams,
    raw_text: &str,
    normalized: &str,
    site: &SiteHosts,
    keys: &FeatureKeys,
) -> Option<Vec<(usize, f64)>> {
    if !params.binary || params.normalize_length || keys.unknown_word.is_some() {
        return None;
    }
    let mut occurrences = Vec::with_capacity(64);
    for_each_feature(params, raw_text, normalized, site, |parts| {
        if let Some(position) = keys.position(&parts) {
            occurrences.push((position, params.kind_weight(parts.prefix)));
        }
    });
    Some(occurrences)
}

/// What [`resolve_text`] and [`resolve_text_by_keys`] share: `lookup` finds
/// a feature's position. Unknown features are told apart by name, built
/// only when they count (towards the unknown-word feature or the length
/// scale).
fn resolve_with(
    params: &FeatureParams,
    raw_text: &str,
    normalized: &str,
    site: &SiteHosts,
    unknown_word: Option<usize>,
    mut lookup: impl FnMut(&FeatureParts<'_>) -> Option<usize>,
) -> Vec<(usize, f64)> {
    let keep_unknown = unknown_word.is_some() || params.normalize_length;
    // Each known position with its kind's prefix, which gives its weight.
    let mut known_positions: Vec<(usize, &'static str)> = Vec::with_capacity(64);
    let mut unknown: Vec<(String, bool)> = Vec::new();
    for_each_feature(params, raw_text, normalized, site, |parts| {
        match lookup(&parts) {
            Some(position) => known_positions.push((position, parts.prefix)),
            None if keep_unknown => unknown.push((parts.name(), parts.is_word())),
            None => {}
        }
    });
    let known_counts = counted(known_positions);
    let unknown_counts = counted(unknown);
    let scale = length_scale(params, known_counts.len() + unknown_counts.len());
    let mut known: Vec<(usize, f64)> = known_counts
        .into_iter()
        .map(|((position, prefix), count)| {
            (
                position,
                feature_value(params, count, scale) * params.kind_weight(prefix),
            )
        })
        .collect();
    let unknown_total = order_free_sum(
        unknown_counts
            .into_iter()
            .filter(|((_, is_word), _)| *is_word)
            .map(|(_, count)| feature_value(params, count, scale) * params.word_weight)
            .collect(),
    );
    if let (Some(position), true) = (unknown_word, unknown_total > 0.0) {
        known.push((position, unknown_total));
    }
    known
}

/// The sum of the unknown words' values, added smallest first: unknown
/// features come in name order on one path and in key order on the other,
/// and a sum of floats in another order can differ in its last bits.
fn order_free_sum(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.iter().sum()
}

/// A short human description of a feature, for reasons.
pub fn describe_feature(feature: &str) -> String {
    FeatureDescription(feature).to_string()
}

/// [`describe_feature`] as a `Display` value, so that a reason can write
/// the description straight into its message.
///
/// Every description is a noun phrase, because model reasons put it into
/// the frame "The model finds {description} typical of spam (+w)." and the
/// console shows it on its own: "a length of 21 to 60 characters", not
/// "its length (<=60 characters)", whose "its" would point at the model.
pub struct FeatureDescription<'a>(pub &'a str);

/// The most characters of a word a reason quotes: online learning adds any
/// word of a labelled comment to the vocabulary, and a word can be 64 KiB.
const QUOTED_CHARACTERS: usize = 60;

/// `text` cut to [`QUOTED_CHARACTERS`], for quoting in a description.
fn quote(text: &str) -> std::borrow::Cow<'_, str> {
    crate::text::quoted(text, QUOTED_CHARACTERS)
}

impl std::fmt::Display for FeatureDescription<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some((kind, value)) = self.0.split_once(':') else {
            return write!(formatter, "the feature {}", quote(self.0));
        };
        match kind {
            "w" => write!(formatter, "the word \"{}\"", quote(value)),
            "b" => write_word_pair(formatter, value),
            "n" => write_token(formatter, value),
            "d" => write!(formatter, "a link to {}", quote(value)),
            "p" => write!(formatter, "the link path part \"{}\"", quote(value)),
            // The tokenizer keeps a run of `!` apart from a run of `?` and
            // from a run of both, and reasons that read the same would
            // hide which one it was.
            "e" if value == "!!" => formatter.write_str("repeated exclamation marks"),
            "e" if value == "??" => formatter.write_str("repeated question marks"),
            "e" if value == "?!" => {
                formatter.write_str("a run of mixed question and exclamation marks")
            }
            "e" => write!(formatter, "the marks \"{}\"", quote(value)),
            "c" => write!(
                formatter,
                "the letters \"{}\"",
                quote(value.trim_matches('_'))
            ),
            "r" => write!(formatter, "words beginning \"{}…\"", quote(value)),
            "u" => formatter.write_str(
                "words the model has not seen (people write freely; spam repeats itself)",
            ),
            "s" => write_signal(formatter, value),
            _ => write!(formatter, "the feature {}", quote(self.0)),
        }
    }
}

/// A reader's words for a number shape that [`crate::text::tokenize`]
/// reduced to a class of length, or `None` for a number kept as written
/// (up to 3 digits) or for a word. The placeholders are the tokenizer's
/// names, which mean nothing to someone reading a reason.
fn number_shape_description(token: &str) -> Option<&'static str> {
    match token {
        "<4digits>" => Some("a 4-digit number"),
        "<5-7digits>" => Some("a number of 5 to 7 digits"),
        "<8+digits>" => Some("a number of 8 or more digits"),
        _ => None,
    }
}

/// One token of a word pair or number feature: a long number's shape, a
/// short number as written, or a word.
fn write_token(formatter: &mut std::fmt::Formatter<'_>, token: &str) -> std::fmt::Result {
    if let Some(description) = number_shape_description(token) {
        formatter.write_str(description)
    } else if token.starts_with(|character: char| character.is_numeric()) {
        write!(formatter, "the number \"{}\"", quote(token))
    } else {
        write!(formatter, "the word \"{}\"", quote(token))
    }
}

/// A pair of neighbouring words, named by its second word after a space
/// (a word never holds one). When a half is a long number, its shape is
/// said in words beside the other half, since a placeholder inside the
/// quoted words ("<4digits> subscribers") would read as text the comment
/// held.
fn write_word_pair(formatter: &mut std::fmt::Formatter<'_>, pair: &str) -> std::fmt::Result {
    match pair.split_once(' ') {
        Some((first, second))
            if number_shape_description(first).is_some()
                || number_shape_description(second).is_some() =>
        {
            write_token(formatter, first)?;
            formatter.write_str(" followed by ")?;
            write_token(formatter, second)
        }
        _ => write!(formatter, "the words \"{}\"", quote(pair)),
    }
}

/// A whole-comment signal of [`whole_comment_signals`] or
/// [`for_each_feature`], as what the comment has.
fn write_signal(formatter: &mut std::fmt::Formatter<'_>, signal: &str) -> std::fmt::Result {
    // A class from the one below it on: "151 to 400 characters", since
    // "at most 400" would say the same of a comment of 20.
    if let Some(index) = LENGTH_CLASSES.iter().position(|(_, name)| *name == signal) {
        let most = LENGTH_CLASSES[index].0;
        return match index.checked_sub(1) {
            Some(below) => write!(
                formatter,
                "a length of {} to {most} characters",
                LENGTH_CLASSES[below].0 + 1
            ),
            None => write!(formatter, "a length of at most {most} characters"),
        };
    }
    if let Some(least) = signal.strip_prefix("length>") {
        return write!(formatter, "a length of more than {least} characters");
    }
    match signal {
        "has_link" => formatter.write_str("a link"),
        "other_site_link" => formatter.write_str("a link to another site"),
        "several_links" => formatter.write_str("several links"),
        "no_words" => formatter.write_str("a comment without words"),
        "mostly_capitals" => formatter.write_str("mostly capital letters"),
        _ => write!(formatter, "the feature s:{}", quote(signal)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_word_is_quoted_by_its_start() {
        let long = format!("w:{}", "a".repeat(70_000));
        let description = describe_feature(&long);
        assert!(description.len() < 100, "{} bytes", description.len());
        assert!(description.ends_with("…\""), "{description}");
        assert_eq!(describe_feature("w:short"), "the word \"short\"");
    }

    /// Default parameters with every kind weighing 1.
    fn unweighted() -> FeatureParams {
        FeatureParams {
            word_weight: 1.0,
            signal_weight: 1.0,
            ..FeatureParams::default()
        }
    }

    #[test]
    fn binary_features_count_once() {
        let features = extract_features(&unweighted(), "buy buy buy");
        let buy = features.iter().find(|(name, _)| name == "w:buy").unwrap();
        assert_eq!(buy.1, 1.0);
    }

    #[test]
    fn counted_features_count_every_time() {
        let params = FeatureParams {
            binary: false,
            ..unweighted()
        };
        let features = extract_features(&params, "buy buy buy");
        let buy = features.iter().find(|(name, _)| name == "w:buy").unwrap();
        assert_eq!(buy.1, 3.0);
    }

    #[test]
    fn a_feature_is_worth_its_kinds_weight() {
        let params = FeatureParams {
            binary: false,
            word_weight: 0.5,
            signal_weight: 2.0,
            ..FeatureParams::default()
        };
        let features = extract_features(&params, "buy buy buy now");
        let value = |name: &str| {
            features
                .iter()
                .find(|(feature, _)| feature == name)
                .unwrap()
                .1
        };
        assert_eq!(value("w:buy"), 1.5);
        assert_eq!(value("w:now"), 0.5);
        // Pairs and beginnings are other kinds, worth 1 each time.
        assert_eq!(value("b:buy buy"), 2.0);
        assert!(features
            .iter()
            .filter(|(name, _)| name.starts_with("s:"))
            .all(|(_, value)| *value == 2.0));
        assert!(features.iter().any(|(name, _)| name.starts_with("s:")));
    }

    #[test]
    fn word_pairs_and_link_signals() {
        let features = extract_features(&FeatureParams::default(), "check out http://x.com/a");
        let names: Vec<&str> = features.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "b:check out",
                "d:x.com",
                "p:a",
                "s:has_link",
                "s:length<=60",
                "s:other_site_link",
                "w:check",
                "w:out",
            ]
        );
    }

    /// The forms of a word share its first five characters as one
    /// feature; a word no longer than that has none, and a beginning ends
    /// at a character's boundary, not a byte's.
    #[test]
    fn word_beginnings_join_the_forms_of_a_word() {
        let features = extract_features(
            &FeatureParams::default(),
            "subscribers subscribe suscribe sub Bücherei",
        );
        let beginnings: Vec<&str> = features
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| name.starts_with("r:"))
            .collect();
        assert_eq!(beginnings, vec!["r:büche", "r:subsc", "r:suscr"]);
        let subsc = features.iter().find(|(name, _)| name == "r:subsc").unwrap();
        assert_eq!(subsc.1, 1.0, "binary: counted once for two words");
        let off = FeatureParams {
            word_beginnings: 0,
            ..FeatureParams::default()
        };
        assert!(extract_features(&off, "subscribers")
            .iter()
            .all(|(name, _)| !name.starts_with("r:")));
        assert_eq!(describe_feature("r:subsc"), "words beginning \"subsc…\"");
    }

    #[test]
    fn empty_text_has_a_feature_of_its_own() {
        let params = FeatureParams {
            signals: false,
            ..unweighted()
        };
        let features = extract_features(&params, "  ");
        assert_eq!(features, vec![("s:no_words".to_string(), 1.0)]);
    }

    /// Every combination of the parameters that change what is counted
    /// (character n-grams off, or from 1 to 4 characters; the kinds'
    /// weights 1, or the defaults').
    fn all_params() -> Vec<FeatureParams> {
        let mut all = Vec::new();
        for bits in 0..512u32 {
            let on = |bit: u32| bits & (1 << bit) != 0;
            all.push(FeatureParams {
                word_pairs: on(0),
                char_ngram_min: if on(1) { 1 } else { 0 },
                char_ngram_max: if on(1) { 4 } else { 0 },
                binary: on(2),
                signals: on(5),
                normalize_length: on(3),
                unknown_words: on(4),
                other_site_links: on(6),
                word_beginnings: if on(7) { 3 } else { 0 },
                word_weight: if on(8) { 0.7 } else { 1.0 },
                signal_weight: if on(8) { 1.4 } else { 1.0 },
            });
        }
        all
    }

    /// A vocabulary of some of the features of `known_texts`, in name
    /// order like a trained model's, with the unknown-word feature.
    fn vocabulary_index(
        params: &FeatureParams,
        known_texts: &[&str],
    ) -> HashMap<String, usize, foldhash::fast::RandomState> {
        let mut names: Vec<String> = known_texts
            .iter()
            .flat_map(|text| extract_features(params, text))
            .map(|(name, _)| name)
            .enumerate()
            // Leave every third feature out, so texts have unknown ones.
            .filter(|(index, _)| index % 3 != 0)
            .map(|(_, name)| name)
            .collect();
        if params.unknown_words {
            names.push(UNKNOWN_WORD.to_string());
        }
        names.sort();
        names.dedup();
        names
            .into_iter()
            .enumerate()
            .map(|(position, name)| (name, position))
            .collect()
    }

    fn assert_resolutions_agree(text: &str) {
        let known_texts = [
            "Subscribe to my channel!! http://spam.example/win now now now",
            "I love this song, 2 years later and still great",
            "CALL 08452810075 TO CLAIM YOUR PRIZE today",
        ];
        // Every other combination on a site that the texts link to, so
        // that links on the site and off it both occur.
        for (number, params) in all_params().into_iter().enumerate() {
            let site = if number % 2 == 0 {
                SiteHosts::default()
            } else {
                SiteHosts::new(["spam.example"])
            };
            let index = vocabulary_index(&params, &known_texts);
            let normalized = normalize(text);
            let by_names = resolve_positions(
                &extract_features_normalized(&params, text, &normalized, &site),
                &index,
            );
            let direct = resolve_text(&params, text, &normalized, &site, &index);
            assert_eq!(direct, by_names, "{params:?} on {text:?}");
            let keys = FeatureKeys::new(
                index
                    .iter()
                    .map(|(name, position)| (name.as_str(), *position)),
            )
            .expect("no two test features share a key");
            let by_keys = resolve_text_by_keys(&params, text, &normalized, &site, &keys);
            assert_eq!(by_keys, by_names, "{params:?} on {text:?}");
            // Scoring's shortcut for binary features gives the same
            // positions and values, repeats dropped.
            if let Some(mut occurrences) =
                binary_occurrences_by_keys(&params, text, &normalized, &site, &keys)
            {
                occurrences.sort_unstable_by_key(|(position, _)| *position);
                occurrences.dedup_by_key(|(position, _)| *position);
                assert_eq!(occurrences, by_names, "{params:?} on {text:?}");
            }
            for_each_feature(&params, text, &normalized, &site, |parts| {
                assert_eq!(
                    keys.key(&parts),
                    keys.key_of_name(&parts.name()),
                    "{parts:?}"
                );
            });
        }
    }

    #[test]
    fn resolving_a_text_directly_agrees_with_resolving_its_named_features() {
        for text in [
            "",
            "  ",
            "Subscribe to my channel!! http://spam.example/win now now now",
            "subscribe subscribe to to my new channel please",
            "i love this song, 3 years later and still great great",
            "Call 08452810075 or visit www.prize.example/claim?id=7",
            "ＦＲＥＥ money &amp; Привет мир!!",
            // Unknown words in another order by key than by name (once
            // summed in either order, differing in the last bit).
            "www\u{10ea10}x\u{2b8c7}comwww\u{9a7f9}x\u{202e}comlove.www/x\u{16025}comchannel",
            "subscribe subscribe to to my new channel please",
        ] {
            assert_resolutions_agree(text);
        }
    }

    proptest::proptest! {
        #[test]
        fn resolving_any_text_directly_agrees_with_its_named_features(
            text in "(subscribe|love|song|channel|now|http://spam.example/|www.x.com|[a-z]{1,6}|[0-9]{1,9}|!!|[ .,]|é){0,16}"
        ) {
            assert_resolutions_agree(&text);
        }
    }

    #[test]
    fn keys_tell_apart_what_names_tell_apart() {
        // A pair and the single word it would read as without its space,
        // the same text under two kinds, and a name too short for a kind.
        let names = ["b:ab c", "w:ab c", "b:abc", "w:abc", "d:abc", "x", ""];
        let keys = FeatureKeys::new(
            names
                .iter()
                .enumerate()
                .map(|(position, name)| (*name, position)),
        )
        .expect("no two names share a key");
        assert_eq!(keys.positions.len(), names.len());
        let pair = FeatureParts {
            prefix: "b:",
            text: "check",
            second: Some("out"),
        };
        assert_eq!(keys.key(&pair), keys.key_of_name("b:check out"));
        // Each table draws its own seed: keys cannot be worked out ahead.
        let other = FeatureKeys::new([("w:a", 0)]).unwrap();
        assert_ne!(other.key(&pair), keys.key(&pair));
    }

    #[test]
    fn a_vocabulary_whose_names_share_a_key_gets_no_keys() {
        assert!(FeatureKeys::new([("w:a", 0), ("w:a", 1)]).is_none());
    }

    #[test]
    fn character_ngrams_must_start_at_one_character() {
        let params = |min, max| FeatureParams {
            char_ngram_min: min,
            char_ngram_max: max,
            ..FeatureParams::default()
        };
        assert_eq!(params(0, 0).problem(), None);
        assert_eq!(params(3, 5).problem(), None);
        assert!(params(0, 3).problem().unwrap().contains("0-3"));
        assert!(params(5, 3).problem().is_some());
        // Unchecked parameters still cannot make extraction panic.
        assert!(!extract_features(&params(0, 2), "hello world").is_empty());
    }

    #[test]
    fn descriptions_name_the_kind() {
        assert_eq!(describe_feature("w:subscribe"), "the word \"subscribe\"");
        assert_eq!(describe_feature("d:bit.ly"), "a link to bit.ly");
    }

    #[test]
    fn runs_of_exclamation_and_question_marks_read_apart() {
        assert_eq!(describe_feature("e:!!"), "repeated exclamation marks");
        assert_eq!(describe_feature("e:??"), "repeated question marks");
        assert_eq!(
            describe_feature("e:?!"),
            "a run of mixed question and exclamation marks"
        );
        // All are features the extractor emits, each for its own run.
        let names: Vec<String> =
            extract_features(&FeatureParams::default(), "what?!?! no!!! really??")
                .into_iter()
                .map(|(name, _)| name)
                .collect();
        assert!(names.contains(&"e:!!".to_string()), "{names:?}");
        assert!(names.contains(&"e:??".to_string()), "{names:?}");
        assert!(names.contains(&"e:?!".to_string()), "{names:?}");
    }

    #[test]
    fn whole_comment_signals_read_as_what_the_comment_has() {
        let cases = [
            ("s:length<=20", "a length of at most 20 characters"),
            ("s:length<=60", "a length of 21 to 60 characters"),
            ("s:length<=150", "a length of 61 to 150 characters"),
            ("s:length<=400", "a length of 151 to 400 characters"),
            ("s:length>400", "a length of more than 400 characters"),
            ("s:mostly_capitals", "mostly capital letters"),
            ("s:several_links", "several links"),
            ("s:has_link", "a link"),
            ("s:other_site_link", "a link to another site"),
            ("s:no_words", "a comment without words"),
        ];
        for (signal, expected) in cases {
            assert_eq!(describe_feature(signal), expected, "{signal}");
        }
        // The cases are exactly the signals the extractor emits, so that a
        // new signal cannot go without its description.
        let texts = [
            String::new(),
            "x".repeat(30),
            "x ".repeat(50),
            "word ".repeat(60),
            "y".repeat(500),
            "SHOUTING IN CAPITALS HERE".to_string(),
            "see a.com and b.net".to_string(),
        ];
        let emitted: std::collections::BTreeSet<String> = texts
            .iter()
            .flat_map(|text| extract_features(&FeatureParams::default(), text))
            .map(|(name, _)| name)
            .filter(|name| name.starts_with("s:"))
            .collect();
        let described: std::collections::BTreeSet<String> =
            cases.iter().map(|(signal, _)| signal.to_string()).collect();
        assert_eq!(emitted, described);
    }

    #[test]
    fn a_site_owns_its_hosts_their_subdomains_and_their_parent_domain() {
        let site = SiteHosts::new(["news.example.com", "WWW.Other.org.", "not a host", "x"]);
        assert_eq!(site.hosts(), ["news.example.com", "other.org"]);
        // An internationalised name owns links written in either form.
        let bucher = SiteHosts::new(["xn--bcher-kva.example"]);
        assert!(bucher.owns("bücher.example"));
        assert!(bucher.owns("xn--bcher-kva.example"));
        assert!(SiteHosts::new(["bücher.example"]).owns("xn--bcher-kva.example"));
        for domain in [
            "news.example.com",
            "m.news.example.com",
            "example.com",
            "other.org",
        ] {
            assert!(site.owns(domain), "{domain}");
        }
        for domain in [
            "example.org",
            "badnews.example.com",
            "xnews.example.com",
            "com",
            "spam.example",
            "sports.example.com",
        ] {
            assert!(!site.owns(domain), "{domain}");
        }
        assert!(!SiteHosts::default().owns("example.com"));
    }

    #[test]
    fn only_links_off_the_site_give_the_other_site_signal() {
        let signal = |text: &str, site: &SiteHosts| {
            extract_features_on_site(&FeatureParams::default(), text, site)
                .iter()
                .any(|(name, _)| name == "s:other_site_link")
        };
        let youtube = SiteHosts::youtube();
        assert!(!signal(
            "skip to https://www.youtube.com/watch?v=abc 3:57",
            &youtube
        ));
        assert!(!signal("see youtu.be/abc", &youtube));
        assert!(signal(
            "see youtu.be/abc and http://pills.example/buy",
            &youtube
        ));
        // Without a known site every link goes elsewhere.
        assert!(signal(
            "skip to https://www.youtube.com/watch?v=abc",
            &SiteHosts::default()
        ));
        assert!(!signal("no link here", &SiteHosts::default()));
        let off = FeatureParams {
            other_site_links: false,
            ..FeatureParams::default()
        };
        assert!(!extract_features(&off, "http://pills.example/buy")
            .iter()
            .any(|(name, _)| name == "s:other_site_link"));
    }

    /// A link to a trusted domain is not read at all: the comment has the
    /// features it would have without it, so the words on either side
    /// make no pair either.
    #[test]
    fn links_to_trusted_domains_are_not_read() {
        let trusted = SiteHosts::new(["news.example"])
            .with_trusted(Arc::new(TrustedDomains::new(["gov.uk", "wikipedia.org"])));
        let features = |text: &str, site: &SiteHosts| {
            let mut names: Vec<String> =
                extract_features_on_site(&FeatureParams::default(), text, site)
                    .into_iter()
                    .map(|(name, _)| name)
                    .filter(|name| !name.starts_with("s:"))
                    .collect();
            names.sort();
            names
        };
        let signals = |text: &str, site: &SiteHosts| -> Vec<String> {
            extract_features_on_site(&FeatureParams::default(), text, site)
                .into_iter()
                .map(|(name, _)| name)
                .filter(|name| name.contains("link"))
                .collect()
        };
        // The link's domain is not read, nor counted; its path is read as
        // any path is.
        let cited = "The figures https://www.ons.gov.uk/economy/inflation agree";
        let mut expected = features("The figures agree", &trusted);
        expected.retain(|name| name != "b:figures agree");
        expected.extend(["p:economy".to_string(), "p:inflation".to_string()]);
        expected.sort();
        assert_eq!(features(cited, &trusted), expected);
        assert!(signals(cited, &trusted).is_empty());
        assert!(signals("See en.wikipedia.org/wiki/Rust", &trusted).is_empty());
        // Not trusted: a look-alike, or the same link without the list.
        assert!(!signals("See https://ons.gov.uk.example/x", &trusted).is_empty());
        assert!(!signals(cited, &SiteHosts::default()).is_empty());
        // Another link beside a trusted one is read as before.
        assert_eq!(
            signals("See ons.gov.uk and pills.example", &trusted),
            signals("See pills.example", &trusted)
        );
        // A link through a trusted domain to another address is read, and
        // so is a trusted name written in look-alike letters.
        for text in [
            "cheap pills https://www.ons.gov.uk/redirect?url=https://pills.example/buy",
            "cheap pills https://ons.gov.uk/go/https%3a%2f%2fpills.example",
            "cheap pills https://ons.\u{0262}ov.uk/buy",
            // A query's value naming a host, with a port, or an escaped dot.
            "cheap pills https://www.ons.gov.uk/r?u=pills.example",
            "cheap pills https://www.ons.gov.uk/r?u=pills.example:443",
            "cheap pills https://www.ons.gov.uk/r?u=pills%2eexample",
            // A look-alike beside the name written plainly, or plainly
            // only in markup a reader never sees.
            "cheap pills https://ons.\u{0262}ov.uk/buy as ons.gov.uk says",
            "cheap pills https://ons.\u{0262}ov.uk/buy <!-- ons.gov.uk -->",
        ] {
            assert!(!signals(text, &trusted).is_empty(), "{text}");
        }
        // A page named like a host, or a file, is a page of the trusted
        // site; a domain written with references is the same domain.
        for text in [
            "Good explainer: https://en.wikipedia.org/wiki/Node.js",
            "The report https://www.ons.gov.uk/files/report.epub",
            "See https://ons.gov.uk/search.do and https://&#111;ns.gov.uk/x",
            // A tracking tag says where the reader came from.
            "The story: https://www.ons.gov.uk/news/1?utm_source=twitter.com&utm_medium=social",
            "The story: https://www.ons.gov.uk/news/1?ref=facebook.com",
        ] {
            assert!(signals(text, &trusted).is_empty(), "{text}");
        }
    }

    #[test]
    fn number_shapes_read_as_numbers() {
        assert_eq!(describe_feature("n:50"), "the number \"50\"");
        assert_eq!(describe_feature("n:<4digits>"), "a 4-digit number");
        assert_eq!(
            describe_feature("n:<5-7digits>"),
            "a number of 5 to 7 digits"
        );
        assert_eq!(
            describe_feature("n:<8+digits>"),
            "a number of 8 or more digits"
        );
        // Whatever shape the tokenizer gives a number of any length, alone
        // or in a pair, its description shows no placeholder.
        for digits in 1..=12 {
            let text = format!("call {} now", "7".repeat(digits));
            let features = extract_features(&FeatureParams::default(), &text);
            let numbers = features
                .iter()
                .filter(|(name, _)| name.starts_with("n:"))
                .count();
            assert_eq!(numbers, 1, "{text}: {features:?}");
            for (name, _) in features {
                let description = describe_feature(&name);
                assert!(
                    !description.contains('<') && !description.contains('>'),
                    "{name}: {description}"
                );
            }
        }
    }

    #[test]
    fn word_pairs_say_number_shapes_in_words() {
        assert_eq!(
            describe_feature("b:<4digits> subscribers"),
            "a 4-digit number followed by the word \"subscribers\""
        );
        assert_eq!(
            describe_feature("b:call <8+digits>"),
            "the word \"call\" followed by a number of 8 or more digits"
        );
        assert_eq!(
            describe_feature("b:<5-7digits> <4digits>"),
            "a number of 5 to 7 digits followed by a 4-digit number"
        );
        assert_eq!(
            describe_feature("b:2 <4digits>"),
            "the number \"2\" followed by a 4-digit number"
        );
        // Pairs without a long number stay quoted as the comment wrote them.
        assert_eq!(describe_feature("b:top 10"), "the words \"top 10\"");
        assert_eq!(describe_feature("b:check out"), "the words \"check out\"");
        // A long word beside a shape is cut like any quoted word.
        let long = format!("b:{} <4digits>", "a".repeat(70_000));
        let description = describe_feature(&long);
        assert!(description.len() < 150, "{} bytes", description.len());
        assert!(
            description.ends_with("…\" followed by a 4-digit number"),
            "{description}"
        );
        let long_pair = format!("b:{} out", "a".repeat(70_000));
        assert!(describe_feature(&long_pair).len() < 100);
    }
}
