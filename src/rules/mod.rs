//! The rule checks: how a comment was posted and what it looks like, beside
//! what the model reads in its words. Each rule is a small pure function in
//! its own file (or with its small family) over the comment and a read-only
//! [`Context`] (the time and a snapshot of the state the engine read); none
//! does IO or reads a clock. A rule that fires becomes a [`RuleHit`]: its
//! stable code, one sentence saying why, its weight in log-odds and its
//! [`Mode`]. `verdict` adds the weights to the model's log-odds.
//!
//! Configuration follows the pattern params -> check -> valid params:
//! [`RulesConfig`] (the `[rules]` table as written) is checked into
//! [`Rules`], which holds everything precompiled (folded terms, parsed
//! ranges) so that a check costs no parsing.

mod activity;
mod author_fields;
mod authors;
mod blocklists;
mod config;
mod contact;
mod fold;
mod form;
mod links;
mod obfuscation;
mod settings;
mod shape;
mod similarity;
mod state;
mod subject;
mod terms;
#[cfg(test)]
mod testing;
mod topic;
mod trusted_domains;

use std::collections::HashMap;
use std::sync::Arc;

use crate::classifier::{SiteHosts, TrustedDomains};

pub use config::{RuleConfig, RulesConfig};
pub use settings::{Mode, Rule, RuleSettings};
pub use similarity::Fingerprint;
pub use state::{
    author_key, counted_as, AuthorHistory, AuthorKey, AuthorLabel, Context, RecentComment,
    RecentList, MAX_RECENT_COMMENTS,
};

use blocklists::BlockLists;
use subject::Subject;
use terms::{describe_found, LayeredTerms};

/// The most characters a term rule's reason quotes of how a term was
/// written.
const QUOTED_TERM_CHARACTERS: usize = 40;

use crate::domain::Comment;

/// What the rules found: the rules that fired, and the comment's similarity
/// fingerprint, which the engine records for later comments to compare with.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    pub hits: Vec<RuleHit>,
    pub fingerprint: Option<Fingerprint>,
    /// The comment's normalised text, which the model reads too (so a
    /// comment is normalised once).
    pub normalized: String,
}

impl Evaluation {
    /// No rule ran: what scoring with the model alone starts from.
    pub fn without_rules(comment: &Comment) -> Evaluation {
        Evaluation {
            hits: Vec::new(),
            fingerprint: None,
            normalized: crate::text::normalize(&comment.content),
        }
    }
}

/// A rule that fired on a comment.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleHit {
    pub rule: Rule,
    pub message: String,
    pub weight: f64,
    pub mode: Mode,
}

/// The rules in force: the global set and each configured site's.
#[derive(Debug, Clone)]
pub struct Rules {
    global: Arc<RuleSet>,
    sites: HashMap<String, Arc<RuleSet>>,
    /// The checked `hosts` of the site tables that list any.
    site_hosts: HashMap<String, Vec<String>>,
}

impl Default for Rules {
    /// Every rule at its default, no lists: what runs with no `[rules]`.
    fn default() -> Self {
        RulesConfig::default()
            .check()
            .unwrap_or_else(|_| unreachable!("the default rules are valid"))
    }
}

impl Rules {
    /// The set that applies to a site.
    pub fn for_site(&self, site_id: &str) -> &RuleSet {
        self.sites.get(site_id).unwrap_or(&self.global)
    }

    /// The site ids that have a table of their own.
    pub fn site_tables(&self) -> impl Iterator<Item = &str> {
        self.sites.keys().map(String::as_str)
    }

    /// The host names a site's table lists besides its site id (`hosts`),
    /// lower-cased and without `www.`; none for a site without them.
    pub fn hosts_of(&self, site_id: &str) -> &[String] {
        self.site_hosts.get(site_id).map_or(&[], Vec::as_slice)
    }

    /// How the model reads the links of a comment on `site_id`: as staying
    /// on the site when they go to its id (a host name) or its table's
    /// `hosts`, and not at all when they go to a domain its rules trust.
    pub fn link_reading(&self, site_id: &str) -> SiteHosts {
        let hosts =
            std::iter::once(site_id).chain(self.hosts_of(site_id).iter().map(String::as_str));
        SiteHosts::new(hosts).with_trusted(Arc::clone(self.for_site(site_id).trusted_domains()))
    }
}

/// The checked settings and lists that apply to one site.
#[derive(Debug, Clone)]
pub struct RuleSet {
    settings: [RuleSettings; Rule::ALL.len()],
    blocked_terms: LayeredTerms,
    suspect_terms: LayeredTerms,
    /// The built-in advertising keywords and the configured ones.
    author_keywords: LayeredTerms,
    /// Shared with the global rule set when a site's table adds none.
    lists: Arc<BlockLists>,
    /// The domains whose links are sources, not evidence (see
    /// [`trusted_domains`]); shared with the global rule set when a site's
    /// table adds none.
    trusted_domains: Arc<TrustedDomains>,
}

impl RuleSet {
    pub fn settings(&self, rule: Rule) -> &RuleSettings {
        &self.settings[rule.index()]
    }

    /// The domains whose links the model does not read and
    /// `too_many_links` does not count.
    pub fn trusted_domains(&self) -> &Arc<TrustedDomains> {
        &self.trusted_domains
    }

    /// How far back the stateful rules look, in milliseconds; 0 when none
    /// is enabled (and so the engine need not read recent comments).
    pub fn lookback_millis(&self) -> i64 {
        [Rule::DuplicateContent, Rule::Flood]
            .into_iter()
            .map(|rule| self.settings(rule))
            .filter(|settings| settings.enabled)
            .map(|settings| i64::try_from(settings.window_seconds * 1000).unwrap_or(i64::MAX))
            .max()
            .unwrap_or(0)
    }

    /// Whether a rule that reads the author's history is enabled.
    pub fn needs_author_history(&self) -> bool {
        [Rule::NewAuthor, Rule::TrustedAuthor, Rule::SpamAuthor]
            .into_iter()
            .any(|rule| self.settings(rule).enabled)
    }

    /// Runs every enabled rule; the hits come in the order of [`Rule::ALL`].
    pub fn evaluate(&self, comment: &Comment, context: &Context) -> Evaluation {
        let subject = Subject::new(comment);
        // The comment's own words: a reply that quotes another comment is
        // no copy of it, and the fingerprint stored for later comments to
        // compare with holds no one else's words either.
        let fingerprint = Fingerprint::of_own_words(&subject.normalized, &subject.folded_words);
        let author = &comment.author;
        let key = AuthorKey::from(author_key(author));
        let mut hits = Vec::new();
        for rule in Rule::ALL {
            let settings = self.settings(rule);
            if !settings.enabled {
                continue;
            }
            let threshold = settings.threshold;
            let message = match rule {
                Rule::Honeypot => form::honeypot(&comment.form),
                Rule::SubmittedTooFast => form::submitted_too_fast(&comment.form, threshold),
                Rule::TooManyLinks => {
                    links::too_many_links(&subject, threshold, &self.trusted_domains)
                }
                Rule::LinkInName => author_fields::link_in_name(&author.name),
                Rule::AuthorKeyword => {
                    author_fields::author_keyword(&self.author_keywords, &subject)
                }
                Rule::BlockedTerm => self.terms(&self.blocked_terms, "blocked", &subject),
                Rule::SuspectTerm => self.terms(&self.suspect_terms, "suspect", &subject),
                Rule::BlockedDomain => blocklists::blocked_domain(&self.lists, &subject),
                Rule::BlockedIp => blocklists::blocked_ip(&self.lists, author),
                Rule::BlockedEmail => blocklists::blocked_email(&self.lists, author),
                Rule::ExcessiveCaps => shape::excessive_caps(&comment.content, threshold),
                Rule::RepeatedCharacters => shape::repeated_characters(&comment.content, threshold),
                Rule::ObfuscatedText => obfuscation::obfuscated_text(&comment.content, threshold),
                Rule::ContactOffer => {
                    contact::contact_offer(&subject.normalized, &self.trusted_domains)
                }
                Rule::DisguisedKeyword => self.disguised_keywords(&subject),
                Rule::DuplicateContent => activity::duplicate_content(
                    settings,
                    fingerprint.as_ref(),
                    &comment.comment_id,
                    context,
                ),
                Rule::Flood => {
                    activity::flood(settings, &comment.comment_id, &key, author.ip, context)
                }
                Rule::NewAuthor => authors::new_author(context.author, threshold),
                Rule::TrustedAuthor => authors::trusted_author(context.author, &key, threshold),
                Rule::SpamAuthor => authors::spam_author(context.author, &key, threshold),
                Rule::OnTopic => {
                    topic::on_topic(&comment.context.post_title, &subject.normalized, threshold)
                }
            };
            if let Some(message) = message {
                hits.push(RuleHit {
                    rule,
                    message,
                    weight: settings.weight,
                    mode: settings.mode,
                });
            }
        }
        Evaluation {
            hits,
            fingerprint,
            normalized: subject.normalized,
        }
    }

    /// Looks for a list's terms in the text. The author's name and website
    /// are `author_keyword`'s business: a list of words not welcome in a
    /// comment (a site's profanity list, say) holds surnames too ("Philip
    /// K. Dick"), and would reject readers for who they are.
    fn terms(&self, list: &LayeredTerms, kind: &str, subject: &Subject) -> Option<String> {
        let found = list.find_where(&subject.folded_words);
        if found.is_empty() {
            return None;
        }
        let named: Vec<(&str, Option<String>)> = found
            .iter()
            .enumerate()
            .map(|(index, found)| {
                // Only the terms a reason names are quoted.
                let quoted = if index < terms::NAMED_TERMS {
                    disguise(subject, found, Plainly::AsTyped)
                } else {
                    None
                };
                (found.term, quoted)
            })
            .collect();
        Some(describe_found("The comment", kind, &named))
    }

    /// `disguised_keyword`: the advertising keywords `author_keyword` looks
    /// for (built-in and configured) written in the text in disguise
    /// ("v1agra", "c@sino", "v i a g r a", "f r e e  s p i n s"), which only
    /// a spammer does: a reader who names a drug or a casino writes it
    /// plainly, and is left to the model (an accent is no disguise:
    /// Italian writes "casinò").
    fn disguised_keywords(&self, subject: &Subject) -> Option<String> {
        let disguised: Vec<(&str, Option<String>)> = self
            .author_keywords
            .find_where(&subject.folded_words)
            .iter()
            .filter_map(|found| {
                let quoted = disguise(subject, found, Plainly::WithoutAccents)?;
                Some((found.term, Some(quoted)))
            })
            .collect();
        (!disguised.is_empty())
            .then(|| describe_found("The comment", "disguised advertising", &disguised))
    }
}

/// What writing a term plainly allows besides case, spaces and
/// punctuation between its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plainly {
    /// Nothing else: an accent the term lacks is a disguise worth quoting.
    AsTyped,
    /// Accents too.
    WithoutAccents,
}

/// How a term found in the text was written, when it was not written
/// plainly (see [`Plainly`]): `written "v1agra"`, or `written in look-alike
/// characters or markup` when the disguise is one that normalisation
/// undid ("ᴠɪᴀɢʀᴀ", "ＶＩＡＧＲＡ", "via<b></b>gra", "c&#97;sino", an
/// invisible character inside), so that the text read shows it plainly;
/// `None` when it was written plainly.
fn disguise(subject: &Subject, found: &terms::Found<'_>, plainly: Plainly) -> Option<String> {
    let span = subject.folded_words.written_span(found.words.clone());
    let written = subject.normalized.get(span).unwrap_or_default();
    if written.is_empty() {
        return None;
    }
    // A term inside letters spelled out one by one is written in the whole
    // run, up to a comment long: what is compared and quoted is cut to a
    // few times the quote's length first.
    let bound = QUOTED_TERM_CHARACTERS * 4 + found.plain.len();
    let cut = written
        .char_indices()
        .nth(bound)
        .map_or(written, |(end, _)| &written[..end]);
    let is_plain = |written: &str| match plainly {
        Plainly::AsTyped => terms::comparable(written) == found.plain,
        Plainly::WithoutAccents => {
            without_marks(&terms::comparable(written)) == without_marks(found.plain)
        }
    };
    let plain = cut.len() == written.len()
        && (is_plain(written)
            || without_acronym_dots(written, &subject.normalized, &subject.comment.content)
                .is_some_and(|undotted| is_plain(&undotted)));
    if plain {
        return (!written_as_such(subject, written, plainly))
            .then(|| "written in look-alike characters or markup".to_string());
    }
    let one_line = cut.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(format!(
        "written \"{}\"",
        crate::text::quoted(&one_line, QUOTED_TERM_CHARACTERS)
    ))
}

/// Whether each word of `written`, a part of the normalised text, is in
/// the comment as shown (markup and comments hidden, references decoded:
/// see [`crate::text::visible`]) as often as in the normalised text:
/// compared in lower case, with soft hyphens dropped, curly apostrophes
/// straight, typographic ligatures ("ﬁ") as their letters, accents
/// composed (and dropped when `plainly` allows them) and, in a text with
/// Chinese, Japanese or Korean, whose keyboards type Latin letters in
/// full width, full-width letters plain. Otherwise normalisation made
/// some of them plain: letters of other fonts or forms, or an invisible
/// character inside, unless the comment is in bold or italic letters over
/// [`STRESSED_WORDS_BEYOND_THE_TERM`] words more than the term's (a
/// sentence stressed). Words are compared one by one, so that what stands
/// between them (a line break, `&nbsp;`, a tag, a hyphen) is free; a word split by
/// markup ("via<b></b>gra") is shown whole and counts as plain here.
fn written_as_such(subject: &Subject, written: &str, plainly: Plainly) -> bool {
    use unicode_normalization::char::canonical_combining_class;
    use unicode_normalization::UnicodeNormalization;
    let shown = crate::text::visible(&subject.comment.content);
    let full_width_is_plain = shown.chars().any(|character| {
        use unicode_script::{Script, UnicodeScript};
        matches!(
            character.script(),
            Script::Han | Script::Hiragana | Script::Katakana | Script::Hangul
        )
    });
    let key = |text: &str| -> String {
        let mut plain = String::with_capacity(text.len());
        for character in text.nfc() {
            match character {
                '\u{00AD}' => {}
                '\u{2018}' | '\u{2019}' | '\u{02BC}' | '\u{00B4}' | '`' => plain.push('\''),
                '\u{FB00}'..='\u{FB06}' => plain.extend(character.to_string().nfkc()),
                '\u{FF01}'..='\u{FF5E}' if full_width_is_plain => {
                    plain.push(char::from_u32(u32::from(character) - 0xFEE0).unwrap_or(character))
                }
                // An accent combines with its letter; a mark of class 0
                // (a grapheme joiner, a variation selector) is invisible
                // padding and stays, to be seen.
                _ if plainly == Plainly::WithoutAccents
                    && canonical_combining_class(character) != 0 => {}
                other => plain.push(other),
            }
        }
        plain.to_lowercase()
    };
    let written = key(written);
    let words: Vec<&str> = written
        .split(|character: char| !(character.is_alphanumeric() || character == '\''))
        .filter(|word| !word.is_empty())
        .collect();
    // Bold or italic letters over a sentence are how posts pasted from
    // social media stress it ("𝗕𝗮𝗻 𝘀𝗽𝗼𝗿𝘁𝘀 𝗯𝗲𝘁𝘁𝗶𝗻𝗴 𝗮𝗱𝘀 𝗻𝗼𝘄!"); a
    // disguise restyles the keyword, and perhaps a word beside it.
    let restyled_words = shown
        .split_whitespace()
        .filter(|word| word.chars().any(is_mathematical_letter))
        .count();
    if restyled_words >= words.len() + STRESSED_WORDS_BEYOND_THE_TERM {
        return true;
    }
    let shown = key(&shown);
    let normalized = key(&subject.normalized);
    words.into_iter().all(|word| {
        let without_accents;
        let word = if plainly == Plainly::WithoutAccents {
            without_accents = without_marks(word);
            without_accents.as_str()
        } else {
            word
        };
        shown.matches(word).count() >= normalized.matches(word).count()
    })
}

/// How many words more than a term's must be in bold or italic letters for
/// them to stress a sentence rather than disguise the term.
const STRESSED_WORDS_BEYOND_THE_TERM: usize = 2;

/// Whether a character is a letter or digit of Unicode's mathematical
/// alphanumeric symbols (bold, italic, script, double-struck …), which
/// social media posts use for bold and italic text.
fn is_mathematical_letter(character: char) -> bool {
    ('\u{1D400}'..='\u{1D7FF}').contains(&character)
}

/// The most letters of an acronym written with full stops ("S.E.O.",
/// "C.B.D."); a longer run ("V.I.A.G.R.A") spells a word out.
const ACRONYM_LETTERS: usize = 4;

/// `written` (a part of `normalized`, so in lower case) with the full
/// stops of its acronym taken out, when it has one: a word of 2 to
/// [`ACRONYM_LETTERS`] letters each followed by a full stop (the last
/// may lack it), written in capitals in the comment (`raw`) wherever the
/// normalised text has it. Writing "S.E.O. services" is how abbreviations
/// are written, no disguise; a term of two such words ("F.R.E.E P.O.R.N",
/// "C.B.D. O.I.L.") spells its words out.
fn without_acronym_dots(written: &str, normalized: &str, raw: &str) -> Option<String> {
    let is_acronym = |word: &str| {
        let letters: Vec<&str> = word.trim_end_matches('.').split('.').collect();
        (2..=ACRONYM_LETTERS).contains(&letters.len())
            && letters.iter().all(|letter| {
                let mut characters = letter.chars();
                characters.next().is_some_and(char::is_alphabetic) && characters.next().is_none()
            })
            && raw.matches(&word.to_uppercase()).count() >= normalized.matches(word).count()
    };
    if written.split(' ').filter(|word| word.contains('.')).count() > 1 {
        return None;
    }
    let mut changed = false;
    let words: Vec<String> = written
        .split(' ')
        .map(|word| {
            if is_acronym(word) {
                changed = true;
                word.replace('.', "")
            } else {
                word.to_string()
            }
        })
        .collect();
    changed.then(|| words.join(" "))
}

/// `text` without its combining marks once decomposed: "casinò" as
/// "casino".
fn without_marks(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfd()
        .filter(|character| !unicode_normalization::char::is_combining_mark(*character))
        .collect()
}

/// A comment with only its text, for other modules' unit tests.
#[cfg(test)]
pub fn testing_comment(text: &str) -> Comment {
    testing::comment(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Author, UnixMillis};
    use testing::comment;

    fn codes(rules: &Rules, comment: &Comment) -> Vec<&'static str> {
        let context = Context::stateless(UnixMillis(0));
        rules
            .for_site(&comment.site_id)
            .evaluate(comment, &context)
            .hits
            .iter()
            .map(|hit| hit.rule.code())
            .collect()
    }

    /// The message of `rule` on a comment of `text`, if it fired.
    fn message_of(rules: &Rules, rule: Rule, text: &str) -> Option<String> {
        let context = Context::stateless(UnixMillis(0));
        rules
            .for_site("x")
            .evaluate(&comment(text), &context)
            .hits
            .into_iter()
            .find(|hit| hit.rule == rule)
            .map(|hit| hit.message)
    }

    #[test]
    fn default_rules_leave_ordinary_comments_alone() {
        let rules = Rules::default();
        let texts = [
            "Interesting article, I hope he gets a fair hearing.",
            "The full report is here: https://www.example.org/report.pdf",
            "Sehr guter Artikel, danke! Ich stimme völlig zu.",
            "Очень интересная статья, спасибо автору.",
            "这篇文章写得很好，谢谢。",
            "مقالة رائعة، شكرا جزيلا",
        ];
        for text in texts {
            assert!(codes(&rules, &comment(text)).is_empty(), "{text}");
        }
    }

    #[test]
    fn configured_terms_fire_with_their_settings() {
        let config: RulesConfig =
            toml::from_str("blocked_terms = [\"free money\"]\nsuspect_terms = [\"casino\"]\n")
                .unwrap();
        let rules = config.check().unwrap();
        let context = Context::stateless(UnixMillis(0));
        let hits = rules
            .for_site("x")
            .evaluate(&comment("Get fr3e m0ney at the CASINO"), &context)
            .hits;
        let blocked = &hits[0];
        assert_eq!(blocked.rule, Rule::BlockedTerm);
        assert_eq!(blocked.mode, Mode::Reject);
        // The reason quotes how a disguised term was written, so that a
        // moderator sees which words the rule read as it; a term written
        // plainly is named alone.
        assert_eq!(
            blocked.message,
            "The comment contains the blocked term \"free money\" (written \"fr3e m0ney\")."
        );
        assert_eq!(hits[1].rule, Rule::SuspectTerm);
        assert_eq!(hits[1].mode, Mode::Review);
        assert_eq!(
            hits[1].message,
            "The comment contains the suspect term \"casino\"."
        );
        let spelled = rules
            .for_site("x")
            .evaluate(&comment("win a f r e e money prize"), &context)
            .hits;
        assert_eq!(
            spelled[0].message,
            "The comment contains the blocked term \"free money\" (written \"a f r e e money\")."
        );
        // A masked word is quoted as written.
        let masked = rules
            .for_site("x")
            .evaluate(&comment("it is fr*e m*ney"), &context)
            .hits;
        assert_eq!(
            masked[0].message,
            "The comment contains the blocked term \"free money\" (written \"fr*e m*ney\")."
        );
    }

    /// The advertising keywords written in disguise fire, each quoted as
    /// written; named plainly (in capitals, with an accent, as a surname)
    /// they do not.
    #[test]
    fn advertising_keywords_in_disguise_fire_and_plain_ones_do_not() {
        let rules = Rules::default();
        let message = |text: &str| message_of(&rules, Rule::DisguisedKeyword, text);
        assert_eq!(
            message("Best V1agra and C1alis prices, order n0w").as_deref(),
            Some(
                "The comment contains the disguised advertising terms \"viagra\" (written \
                 \"v1agra\"), \"cialis\" (written \"c1alis\")."
            )
        );
        for text in [
            "the best c@sino, 100 free spins",
            "Buy v i a g r a online without prescription",
            "B.U.Y C.H.E.A.P V.I.A.G.R.A N.O.W",
            "cheap v\u{0456}agra here",
            "s.e.o. services for your site",
            "Watch F.R.E.E P.O.R.N tonight",
            "Buy C.B.D. O.I.L. cheap",
            "s.e.o. services for your site, the best S.E.O. team",
            "Buy \u{1D20}\u{026A}\u{1D00}\u{0262}\u{0280}\u{1D00} online cheap",
            "Buy \u{FF36}\u{FF29}\u{FF21}\u{FF27}\u{FF32}\u{FF21} online cheap",
            "Buy \u{1D42F}\u{1D422}\u{1D41A}\u{1D420}\u{1D42B}\u{1D41A} online cheap",
            "vi\u{200B}agra for sale",
            "Buy \u{1D20}\u{026A}\u{1D00}\u{0262}\u{0280}\u{1D00} now\u{2026} Viagra\u{2122} 10\u{00B5}g \u{1D41F}\u{1D41A}\u{1D42C}\u{1D42D}",
            "Buy vi\u{034F}agra online",
            "Cheap pills! Buy <img alt=\"viagra\" src=\"p.png\"> \u{1D20}\u{026A}\u{1D00}\u{0262}\u{0280}\u{1D00} now",
        ] {
            assert!(message(text).is_some(), "{text}");
        }
        for text in [
            "The casino on the seafront is closing, a shame for the town.",
            "VIAGRA was first made for angina, the article says.",
            "Il casinò di Venezia ha chiuso.",
            "Marco Casino wrote a fine letter in yesterday's paper.",
            "The S.E.O. services industry is worth billions, says the FT.",
            "C.B.D. oil is sold everywhere now.",
            "<p>The casino on the seafront is closing.</p>",
            "The online\n  casino lobby wants a licence.",
            "\u{30AB}\u{30B8}\u{30CE}\u{6CD5}\u{6848}\u{3001}\u{FF23}\u{FF21}\u{FF33}\u{FF29}\u{FF2E}\u{FF2F}\u{306E}\u{8A71}",
            "Il casino\u{0300} di Venezia ha chiuso.",
            "Il casin&ograve; di Venezia ha chiuso.",
            "The online<br>casino lobby",
            "<p>Blame the online</p><p>casino firms.</p>",
            "Payday&nbsp;loans are a scourge.",
            "online\u{2011}casino firms",
            "Die Ca\u{00AD}si\u{00AD}nos in Baden",
            "\u{1D5D5}\u{1D5EE}\u{1D5FB} \u{1D600}\u{1D5FD}\u{1D5FC}\u{1D5FF}\u{1D601}\u{1D600} \u{1D5EF}\u{1D5F2}\u{1D601}\u{1D601}\u{1D5F6}\u{1D5FB}\u{1D5F4} \u{1D5EE}\u{1D5F1}\u{1D600} now! My nephew lost everything.",
            "\u{CE74}\u{C9C0}\u{B178}\u{FF08}\u{FF23}\u{FF21}\u{FF33}\u{FF29}\u{FF2E}\u{FF2F}\u{FF09}\u{B274}\u{C2A4}",
        ] {
            assert_eq!(message(text), None, "{text}");
        }
    }

    /// A term written plainly is quoted as nothing else, whatever the
    /// comment's typography; one in another font is said to be disguised.
    #[test]
    fn plain_typography_is_no_disguise() {
        let config: RulesConfig =
            toml::from_str("blocked_terms = [\"don't vote\", \"free money\", \"filthy\"]").unwrap();
        let rules = config.check().unwrap();
        let message = |text: &str| message_of(&rules, Rule::BlockedTerm, text).unwrap_or_default();
        for text in [
            "Please don&#39;t vote",
            "Please don\u{2018}t vote",
            "Please don\u{2019}t vote",
            "Please don\u{00B4}t vote",
            "They promised free&nbsp;money",
            "what \u{FB01}lthy scum",
        ] {
            let message = message(text);
            assert!(
                message.contains("blocked term") && !message.contains("written"),
                "{text}: {message}"
            );
        }
        assert!(message("\u{1D41F}\u{1D42B}\u{1D41E}\u{1D41E} money")
            .contains("(written in look-alike characters or markup)"));
    }

    /// A term found inside a long run of letters spelled out one by one is
    /// written in the whole run: its quote stays short, and terms beyond
    /// those a reason names are counted, not quoted.
    #[test]
    fn quotes_of_terms_in_long_runs_stay_short() {
        let config: RulesConfig =
            toml::from_str("blocked_terms = [\"abc\", \"bcd\", \"cde\", \"def\"]").unwrap();
        let rules = config.check().unwrap();
        let context = Context::stateless(UnixMillis(0));
        let run = "a b c d e f ".repeat(5_000);
        let hits = rules.for_site("x").evaluate(&comment(&run), &context).hits;
        let message = &hits[0].message;
        assert!(message.ends_with(" and 1 more."), "{message}");
        assert!(message.len() < 400, "{}", message.len());
    }

    #[test]
    fn term_lists_read_the_text_and_not_the_authors_name() {
        let config: RulesConfig =
            toml::from_str("blocked_terms = [\"dick\"]\nsuspect_terms = [\"gay\"]\n").unwrap();
        let rules = config.check().unwrap();
        let context = Context::stateless(UnixMillis(0));
        let comment = testing::comment_by(
            "An honest opinion about the novel.",
            Author {
                name: "Philip K. Dick, Roxane Gay".to_string(),
                url: "https://dick-and-gay.example".to_string(),
                ..Author::default()
            },
        );
        let hits = rules.for_site("x").evaluate(&comment, &context).hits;
        assert!(hits.is_empty(), "{hits:?}");
    }

    #[test]
    fn configured_author_keywords_add_to_the_built_in_ones() {
        let config: RulesConfig = toml::from_str(
            "author_keywords = [\"roof repair\"]\n\
             [sites.\"news.example\"]\nauthor_keywords = [\"gold coins\"]\n",
        )
        .unwrap();
        let rules = config.check().unwrap();
        let context = Context::stateless(UnixMillis(0));
        let fires = |site: &str, name: &str| {
            rules
                .for_site(site)
                .evaluate(
                    &testing::comment_by(
                        "Nice one.",
                        Author {
                            name: name.to_string(),
                            ..Author::default()
                        },
                    ),
                    &context,
                )
                .hits
                .iter()
                .any(|hit| hit.rule == Rule::AuthorKeyword)
        };
        assert!(fires("other.example", "Roof Repair Experts"));
        assert!(fires("other.example", "viagra"));
        assert!(!fires("other.example", "Gold Coins Direct"));
        assert!(fires("news.example", "Gold Coins Direct"));
        assert!(fires("news.example", "Roof Repair Experts"));
        let empty: RulesConfig = toml::from_str("author_keywords = [\"ok\", \"--\"]").unwrap();
        let error = empty.check().unwrap_err().to_string();
        assert!(error.contains("rules.author_keywords[1]"), "{error}");
    }

    #[test]
    fn a_web_address_as_the_name_asks_for_a_review() {
        let context = Context::stateless(UnixMillis(0));
        let comment = testing::comment_by(
            "Great post, thanks for sharing!",
            Author {
                name: "www.cheap-meds.top".to_string(),
                ..Author::default()
            },
        );
        let hits = Rules::default()
            .for_site("x")
            .evaluate(&comment, &context)
            .hits;
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert_eq!(hits[0].rule, Rule::LinkInName);
        assert_eq!(hits[0].mode, Mode::Review);
        assert!(
            hits[0].message.contains("cheap-meds.top"),
            "{}",
            hits[0].message
        );
    }

    #[test]
    fn disabled_rules_do_not_fire() {
        let config: RulesConfig = toml::from_str("[honeypot]\nenabled = false\n").unwrap();
        let rules = config.check().unwrap();
        let mut filled = comment("hello there");
        filled.form.honeypot = "bot".to_string();
        assert!(codes(&rules, &filled).is_empty());
        assert_eq!(codes(&Rules::default(), &filled), vec!["honeypot"]);
    }

    #[test]
    fn a_reply_quoting_a_comment_is_no_duplicate_of_it() {
        let original = "Earn 500 dollars a day working from home with our amazing new system, \
                        visit our website today and start making money right now";
        let recent = [RecentComment {
            at: UnixMillis(0),
            comment_id: "original".to_string(),
            author_key: String::new().into(),
            ip: None,
            fingerprint: Fingerprint::of(original),
        }];
        let context = Context {
            now: UnixMillis(1000),
            recent: RecentList::from(&recent[..]),
            author: None,
        };
        let evaluate = |text: &str| {
            Rules::default()
                .for_site("x")
                .evaluate(&comment(text), &context)
        };
        let duplicate = |evaluation: &Evaluation| {
            evaluation
                .hits
                .iter()
                .any(|hit| hit.rule == Rule::DuplicateContent)
        };
        for reply in [
            format!("> {original}\n\nExactly this."),
            format!("<blockquote>{original}</blockquote>\n<p>Exactly this.</p>"),
        ] {
            let evaluation = evaluate(&reply);
            assert!(!duplicate(&evaluation), "{reply}: {:?}", evaluation.hits);
            // What is stored for later comments holds the reply's own words
            // only: too few to fingerprint.
            assert_eq!(evaluation.fingerprint, None, "{reply}");
        }
        let copy = evaluate(original);
        assert!(duplicate(&copy), "{:?}", copy.hits);
    }

    #[test]
    fn only_an_author_known_by_e_mail_earns_trust() {
        let regular = AuthorHistory {
            comments: 20,
            approved: 20,
            spam: 0,
        };
        let context = Context {
            author: Some(regular),
            ..Context::stateless(UnixMillis(0))
        };
        let trusted = |name: &str, email: &str| {
            let comment = testing::comment_by(
                "Thanks for the careful reporting on the council vote.",
                crate::domain::Author {
                    name: name.to_string(),
                    email: email.to_string(),
                    ..Default::default()
                },
            );
            let hits = Rules::default()
                .for_site("x")
                .evaluate(&comment, &context)
                .hits;
            hits.iter().any(|hit| hit.rule == Rule::TrustedAuthor)
        };
        assert!(trusted("Regular Reader", "reader@mail.example"));
        // Anyone can type the regular's name: the history found under the
        // name key vouches for no one.
        assert!(!trusted("Regular Reader", ""));
    }

    #[test]
    fn lookback_follows_the_enabled_windows() {
        let rules = Rules::default();
        assert_eq!(rules.for_site("x").lookback_millis(), 24 * 3600 * 1000);
        let config: RulesConfig = toml::from_str(
            "duplicate_content = { enabled = false }\nflood = { enabled = false }\n",
        )
        .unwrap();
        assert_eq!(config.check().unwrap().for_site("x").lookback_millis(), 0);
    }
}
