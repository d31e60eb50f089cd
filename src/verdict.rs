//! Combines the evidence about a comment into one score, a verdict, a review
//! priority and the reasons behind them. Pure: no IO, no clock.
//!
//! The score is a probability; its log-odds are exactly the sum of the
//! reasons' weights: `ln(score / (1 - score)) = sum(reason.weight)`. The
//! model's calibrated log-odds are split into its reasons, and each rule
//! that fired adds its weight as one more reason. The verdict is the
//! thresholds' reading of that score, raised to REVIEW by a rule in
//! `review` mode and to REJECT by a rule in `reject` mode. A score that
//! reaches the reject threshold on the strength of one or two signs of spam
//! alone is held for review instead (see
//! [`Thresholds::reject_holds_without`]).

use serde::{Deserialize, Serialize};

use crate::classifier::{
    for_each_read_link, FeatureDescription, Model, ModelScore, ReadLink, SiteHosts,
};
use crate::domain::{Assessment, Comment, Priority, Reason, ReasonSource, Verdict};
use crate::rules::{Evaluation, Mode};

/// How many single features are named as reasons; the rest of the model's
/// evidence is summed into one `model_other` reason.
const MODEL_REASONS: usize = 3;

/// Score thresholds, checked: `0 <= review <= reject <= 1` and `0 < reject`.
/// A review threshold of 0 holds every comment for review (a site that
/// moderates before publishing); a threshold of 1 is never reached.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    review: f64,
    reject: f64,
    /// How many of a comment's strongest signs of spam its score must
    /// reach the reject threshold without, for the score alone to reject
    /// it (see [`Thresholds::reject_holds_without`]).
    #[serde(default = "default_reject_holds_without")]
    reject_holds_without: usize,
}

/// The signs of spam a rejection by score must hold without, by default:
/// two, so that no single word, phrase or link (which naive Bayes often
/// counts twice, as a word and as a pair, or as "a link" and "a link to
/// another site") rejects a comment on its own. The README ("Quality")
/// gives what it changes, on cross-validation of the training split and
/// on the test split.
pub const DEFAULT_REJECT_HOLDS_WITHOUT: usize = 2;

/// The most signs of spam a rejection by score may be asked to hold
/// without: beyond a handful, almost nothing is rejected by score.
pub const MAX_REJECT_HOLDS_WITHOUT: usize = 10;

fn default_reject_holds_without() -> usize {
    DEFAULT_REJECT_HOLDS_WITHOUT
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("thresholds must satisfy 0 <= review <= reject <= 1 and 0 < reject (review = {review}, reject = {reject})")]
pub struct InvalidThresholds {
    pub review: f64,
    pub reject: f64,
}

impl Thresholds {
    pub fn new(review: f64, reject: f64) -> Result<Thresholds, InvalidThresholds> {
        // Written so that NaN fails too.
        if review >= 0.0 && review <= reject && reject > 0.0 && reject <= 1.0 {
            Ok(Thresholds {
                review,
                reject,
                reject_holds_without: DEFAULT_REJECT_HOLDS_WITHOUT,
            })
        } else {
            Err(InvalidThresholds { review, reject })
        }
    }

    pub fn review(&self) -> f64 {
        self.review
    }

    pub fn reject(&self) -> f64 {
        self.reject
    }

    /// These thresholds with a rejection by score held to `signs` signs
    /// of spam: a comment whose score reaches the reject threshold is
    /// rejected only if it would still reach it without its `signs`
    /// strongest signs of spam (the model's words, phrases, links and
    /// signals, read as the reasons name them; the rules' weights stay),
    /// and is sent to review otherwise. 0 turns this off: the
    /// score alone decides. `None` when `signs` is above
    /// [`MAX_REJECT_HOLDS_WITHOUT`].
    ///
    /// Why: naive Bayes adds up its evidence as if each word were news of
    /// its own, and a model meets words on a new site that meant spam where
    /// it learned ("please", "subscribe", "channel" under music videos).
    /// A reader who writes one of them should at worst wait for a
    /// moderator, not be rejected unseen; spam nearly always says more.
    pub fn with_reject_holds_without(self, signs: usize) -> Option<Thresholds> {
        (signs <= MAX_REJECT_HOLDS_WITHOUT).then_some(Thresholds {
            reject_holds_without: signs,
            ..self
        })
    }

    /// See [`Thresholds::with_reject_holds_without`].
    pub fn reject_holds_without(&self) -> usize {
        self.reject_holds_without
    }

    /// The verdict of a score. A threshold of 1 is never reached: a score
    /// is 1 only where double precision rounds it there (log-odds above
    /// about 37), so `reject = 1` turns rejection by score off rather than
    /// keep it for the most extreme scores alone.
    pub fn verdict(&self, score: f64) -> Verdict {
        let reached = |threshold: f64| threshold < 1.0 && score >= threshold;
        if reached(self.reject) {
            Verdict::Reject
        } else if reached(self.review) {
            Verdict::Review
        } else {
            Verdict::Allow
        }
    }

    /// What a moderator should look at first: the upper third of the review
    /// band (close to the reject line) and rejections are high, the lower
    /// third and allowed comments low.
    pub fn priority(&self, score: f64) -> Priority {
        let band = self.reject - self.review;
        if score >= self.review + band * 2.0 / 3.0 {
            Priority::High
        } else if score >= self.review + band / 3.0 {
            Priority::Medium
        } else {
            Priority::Low
        }
    }
}

impl Default for Thresholds {
    /// The defaults of the operations contract (`../shared/design/operations.md`):
    /// review at even odds, reject at 0.9.
    fn default() -> Self {
        Thresholds {
            review: 0.5,
            reject: 0.9,
            reject_holds_without: DEFAULT_REJECT_HOLDS_WITHOUT,
        }
    }
}

/// The hosts of the site a comment is posted on: its site id, when that
/// is a host name (`news.example.com`), and `listed`, the host names its
/// rules table lists (`hosts`, see [`crate::rules::Rules::hosts_of`]). The
/// permalink is not used: it comes with the request, and a form that
/// passes on what the reader's browser sent would let a spammer name their
/// own domain there. Learning takes the site from the same site id and
/// list (`learning::records`), so that a comment's own-site links read the
/// same when it is scored and when it is learned. (Links to trusted
/// domains are the exception: the rules' [`crate::rules::Rules::link_reading`]
/// leaves them out when a comment is scored, while training reads them as
/// the links they are; see the README's "Rules".)
pub fn site_hosts(comment: &Comment, listed: &[String]) -> SiteHosts {
    hosts_of_site(&comment.site_id, listed)
}

/// [`site_hosts`] of a site: its id, when a host name, and `listed`.
pub fn hosts_of_site(site_id: &str, listed: &[String]) -> SiteHosts {
    SiteHosts::new(std::iter::once(site_id).chain(listed.iter().map(String::as_str)))
}

/// Assesses a comment with the model alone.
pub fn decide(model: &Model, thresholds: &Thresholds, comment: &Comment) -> Assessment {
    decide_with_rules(
        model,
        thresholds,
        comment,
        &site_hosts(comment, &[]),
        &Evaluation::without_rules(comment),
    )
}

/// Assesses a comment posted on the site of `site` (see [`site_hosts`])
/// with the model and the rules that fired on it.
///
/// `score = sigmoid(model log-odds + sum of rule weights)`; the verdict is
/// `thresholds.verdict(score)`, at least REVIEW if a `review`-mode rule
/// fired and REJECT if a `reject`-mode rule fired. Priority is high when a
/// `reject`-mode rule fired (hard evidence), else it follows the score.
pub fn decide_with_rules(
    model: &Model,
    thresholds: &Thresholds,
    comment: &Comment,
    site: &SiteHosts,
    evaluation: &Evaluation,
) -> Assessment {
    let hits = &evaluation.hits;
    let model_score = model.score_normalized(&comment.content, &evaluation.normalized, site);
    // A beginning and its word are one reason and one sign of spam (see
    // `ModelScore::readable`).
    let readable = model_score.readable();
    let mut reasons: Vec<Reason> = hits
        .iter()
        .map(|hit| Reason {
            source: ReasonSource::Rule,
            code: hit.rule.code().to_string(),
            message: hit.message.clone(),
            weight: hit.weight,
        })
        .collect();
    reasons.extend(model_reasons(
        &readable,
        &comment.content,
        &evaluation.normalized,
        site,
    ));
    let log_odds: f64 = reasons.iter().map(|reason| reason.weight).sum();
    let score = sigmoid(log_odds);
    let floor = hits
        .iter()
        .map(|hit| mode_floor(hit.mode))
        .max_by_key(|verdict| severity(*verdict))
        .unwrap_or(Verdict::Allow);
    let mut by_score = thresholds.verdict(score);
    if by_score == Verdict::Reject && severity(floor) < severity(Verdict::Reject) {
        if let Some(held) = held_rejection(thresholds, log_odds, &readable) {
            by_score = Verdict::Review;
            reasons.push(held);
        }
    }
    let verdict = if severity(floor) > severity(by_score) {
        floor
    } else {
        by_score
    };
    let hard_evidence = hits.iter().any(|hit| hit.mode == Mode::Reject);
    Assessment {
        verdict,
        spam_probability: model_score.probability,
        score,
        priority: if hard_evidence {
            Priority::High
        } else {
            thresholds.priority(score)
        },
        reasons,
        model_version: model.version().to_string(),
    }
}

/// The least verdict a rule of this mode allows.
fn mode_floor(mode: Mode) -> Verdict {
    match mode {
        Mode::Score => Verdict::Allow,
        Mode::Review => Verdict::Review,
        Mode::Reject => Verdict::Reject,
    }
}

fn severity(verdict: Verdict) -> u8 {
    match verdict {
        Verdict::Allow => 0,
        Verdict::Review => 1,
        Verdict::Reject => 2,
    }
}

/// The most sites a link reason names, and the most characters it quotes
/// of each.
const NAMED_SITES: usize = 3;
const QUOTED_SITE_CHARACTERS: usize = 60;

/// ": site, site" naming the sites of the links in `normalized` that
/// `counted` keeps, each once, for a reason about links: a moderator sees
/// what the model read as a link ("the deal.us", a full stop typed without
/// its space, would be one). Empty when there is none.
fn linked_sites(
    site: &SiteHosts,
    raw_text: &str,
    normalized: &str,
    counted: impl Fn(&str) -> bool,
) -> String {
    let mut sites: Vec<ReadLink> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for_each_read_link(site, raw_text, normalized, |link| {
        if counted(link.domain) && seen.insert(link) {
            sites.push(link);
        }
    });
    if sites.is_empty() {
        return String::new();
    }
    let mut named: Vec<String> = sites
        .iter()
        .take(NAMED_SITES)
        .map(|link| link.named(QUOTED_SITE_CHARACTERS))
        .collect();
    if sites.len() > NAMED_SITES {
        named.push(format!("{} more", sites.len() - NAMED_SITES));
    }
    format!(": {}", named.join(", "))
}

fn sigmoid(log_odds: f64) -> f64 {
    1.0 / (1.0 + (-log_odds).exp())
}

/// The reason a comment whose score reached the reject threshold is held
/// for review instead, or `None` if its score holds without its
/// [`Thresholds::reject_holds_without`] strongest signs of spam. The
/// reason weighs nothing: the score is what it was, only its verdict
/// changes.
///
/// The signs are the model's: the weights of the rules that fired stay in
/// the score as the operator set them, so that a rule in `score` or
/// `review` mode still takes a comment the model doubts past the reject
/// line (the README's and the rules' defaults say it does).
fn held_rejection(thresholds: &Thresholds, log_odds: f64, readable: &ModelScore) -> Option<Reason> {
    let count = thresholds.reject_holds_without;
    if count == 0 {
        return None;
    }
    // Ties (features the training saw equally often) by name, so that the
    // signs named do not depend on the vocabulary's order.
    let mut signs: Vec<_> = readable
        .contributions
        .iter()
        .filter(|contribution| contribution.weight > 0.0)
        .collect();
    signs.sort_by(|a, b| {
        b.weight
            .total_cmp(&a.weight)
            .then_with(|| a.feature.cmp(b.feature))
    });
    signs.truncate(count);
    let set_aside: f64 = signs.iter().map(|sign| sign.weight).sum();
    let without = sigmoid(log_odds - set_aside);
    if without >= thresholds.reject {
        return None;
    }
    // Cut, not rounded, to two places: 0.8996 is said as 0.89, under a
    // threshold of 0.9, not as 0.90.
    let without = (without * 100.0).floor() / 100.0;
    let named: Vec<String> = signs
        .iter()
        .map(|sign| format!("{}, {:+.2}", FeatureDescription(sign.feature), sign.weight))
        .collect();
    let strongest = match signs.len() {
        1 => "its strongest sign of spam".to_string(),
        more => format!("its {more} strongest signs of spam"),
    };
    Some(Reason {
        source: ReasonSource::Rule,
        code: "rejection_held".to_string(),
        message: format!(
            "Held for review rather than rejected: the score would be {without:.2} without \
             {strongest} ({}), under the reject threshold ({}); a rejection by score needs more \
             than that.",
            named.join("; "),
            thresholds.reject
        ),
        weight: 0.0,
    })
}

/// The strongest features as `token` reasons, and everything else the model
/// weighed (its baseline and the remaining features) as one `model_other`. A
/// reason for a link signal names the links' sites (see [`linked_sites`]).
fn model_reasons(
    readable: &ModelScore,
    raw_text: &str,
    normalized: &str,
    site: &SiteHosts,
) -> Vec<Reason> {
    let mut reasons = Vec::with_capacity(MODEL_REASONS + 1);
    let mut named_weight = 0.0;
    for contribution in readable.strongest(MODEL_REASONS) {
        let leaning = if contribution.weight > 0.0 {
            "spam"
        } else {
            "legitimate comments"
        };
        let sites = match contribution.feature {
            "s:has_link" | "s:several_links" => linked_sites(site, raw_text, normalized, |_| true),
            "s:other_site_link" => {
                linked_sites(site, raw_text, normalized, |domain| !site.owns(domain))
            }
            _ => String::new(),
        };
        reasons.push(Reason {
            source: ReasonSource::Model,
            code: "token".to_string(),
            message: format!(
                "The model finds {} typical of {leaning} ({:+.2}){sites}.",
                FeatureDescription(contribution.feature),
                contribution.weight
            ),
            weight: contribution.weight,
        });
        named_weight += contribution.weight;
    }
    let other_weight = readable.log_odds - named_weight;
    let others = readable.contributions.len().saturating_sub(MODEL_REASONS);
    reasons.push(Reason {
        source: ReasonSource::Model,
        code: "model_other".to_string(),
        message: other_evidence(
            readable
                .contributions
                .iter()
                .any(|contribution| knows_the_text(contribution.feature)),
            others,
            readable.baseline,
            other_weight,
        ),
        weight: other_weight,
    });
    reasons
}

/// Whether a feature the model weighed is something of the text it knows
/// (a word, a pair, a part of a word, a number, a link) rather than what
/// every comment has: a length, a share of capitals, or the count of words
/// it does not know.
fn knows_the_text(feature: &str) -> bool {
    !(feature.starts_with("s:") || feature == crate::classifier::UNKNOWN_WORD)
}

/// The `model_other` reason's sentence: what the model weighs before it
/// reads a word (its `baseline`, with its calibration), and the words and
/// signals it knows beyond those named, each part with its share of
/// `weight`, so that a moderator can tell a reason that is mostly the
/// baseline (every comment has it) from one that is many small signs. A
/// comment none of whose words it knows (one in another language, mostly)
/// says so: its score then rests on its baseline and the comment's length,
/// which a moderator should not read as a judgement of what it says.
fn other_evidence(knows_words: bool, others: usize, baseline: f64, weight: f64) -> String {
    if !knows_words {
        return format!(
            "The model knows none of the comment's words, so its score says little about \
             them; its baseline and the rest add {weight:+.2}."
        );
    }
    // The rest as the difference of the two figures shown, so that the
    // three agree as printed (-0.80 and -0.98 add -1.78, not -1.79).
    let shown = |value: f64| format!("{value:.2}").parse().unwrap_or(value);
    let rest = shown(weight) - shown(baseline);
    match others {
        0 => format!("The model's baseline adds {weight:+.2}."),
        1 => format!(
            "The model's baseline ({baseline:+.2}) and 1 more word or signal it knows \
             ({rest:+.2}) add {weight:+.2}."
        ),
        more => format!(
            "The model's baseline ({baseline:+.2}) and {more} more words and signals it knows \
             ({rest:+.2}) add {weight:+.2}."
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Rule, RuleHit};

    #[test]
    fn thresholds_are_checked() {
        assert!(Thresholds::new(0.5, 0.9).is_ok());
        assert!(Thresholds::new(0.5, 0.5).is_ok());
        assert!(Thresholds::new(0.0, 0.9).is_ok());
        assert!(Thresholds::new(0.0, 0.0).is_err());
        assert!(Thresholds::new(-0.1, 0.9).is_err());
        assert!(Thresholds::new(f64::NAN, 0.9).is_err());
        assert!(Thresholds::new(0.9, 0.5).is_err());
        assert!(Thresholds::new(0.5, 1.5).is_err());
    }

    /// The rest of the model's evidence is said plainly, and a comment
    /// none of whose words the model knows says so.
    #[test]
    fn the_rest_of_the_models_evidence_is_said_plainly() {
        let model = Model::embedded_default().unwrap();
        let other = |text: &str| {
            decide(
                &model,
                &Thresholds::default(),
                &crate::rules::testing_comment(text),
            )
            .reasons
            .into_iter()
            .find(|reason| reason.code == "model_other")
            .map(|reason| reason.message)
            .unwrap_or_default()
        };
        let unknown = other("ᚠᚢᚦᚨᚱᚲ ᚷᚹᚺᚾ");
        assert!(
            unknown.starts_with("The model knows none of the comment's words"),
            "{unknown}"
        );
        let known = other("This is a great song, I love it so much, check out my channel please");
        assert!(known.starts_with("The model's baseline ("), "{known}");
        assert!(
            known.contains(" more words and signals it knows (") && known.contains(") add "),
            "{known}"
        );
        assert_eq!(
            other_evidence(true, 0, -0.8, -0.8),
            "The model's baseline adds -0.80."
        );
        assert_eq!(
            other_evidence(true, 1, -0.7, 0.5),
            "The model's baseline (-0.70) and 1 more word or signal it knows (+1.20) add +0.50."
        );
        assert_eq!(
            other_evidence(true, 1, -0.805, -1.79),
            "The model's baseline (-0.81) and 1 more word or signal it knows (-0.98) add -1.79."
        );
        assert_eq!(
            other_evidence(true, 20, -1.1, -1.65),
            "The model's baseline (-1.10) and 20 more words and signals it knows (-0.55) add \
             -1.65."
        );
    }

    #[test]
    fn verdicts_follow_the_thresholds() {
        let thresholds = Thresholds::default();
        assert_eq!(thresholds.verdict(0.49), Verdict::Allow);
        assert_eq!(thresholds.verdict(0.5), Verdict::Review);
        assert_eq!(thresholds.verdict(0.9), Verdict::Reject);
        // A threshold of 1 turns that verdict by score off, even for a
        // score that double precision rounds to 1.
        let no_reject = Thresholds::new(0.5, 1.0).unwrap();
        assert_eq!(no_reject.verdict(1.0), Verdict::Review);
        let never = Thresholds::new(1.0, 1.0).unwrap();
        assert_eq!(never.verdict(1.0), Verdict::Allow);
        // A review threshold of 0 holds every comment, even one the model
        // finds as legitimate as double precision can say.
        let every_comment = Thresholds::new(0.0, 0.9).unwrap();
        assert_eq!(every_comment.verdict(0.0), Verdict::Review);
        assert_eq!(every_comment.verdict(0.95), Verdict::Reject);
    }

    fn hit(rule: Rule, weight: f64, mode: Mode) -> RuleHit {
        RuleHit {
            rule,
            message: "test".to_string(),
            weight,
            mode,
        }
    }

    /// The rules' outcome with these hits.
    fn with_hits(comment: &Comment, hits: Vec<RuleHit>) -> Evaluation {
        Evaluation {
            hits,
            ..Evaluation::without_rules(comment)
        }
    }

    fn logit(score: f64) -> f64 {
        (score / (1.0 - score)).ln()
    }

    #[test]
    fn rule_weights_add_to_the_models_log_odds() {
        let model = Model::embedded_default().unwrap();
        let thresholds = Thresholds::default();
        let comment =
            crate::rules::testing_comment("Interesting article, I hope he gets a fair hearing.");
        let alone = decide(&model, &thresholds, &comment);
        let hits = vec![
            hit(Rule::ExcessiveCaps, 0.7, Mode::Score),
            hit(Rule::TrustedAuthor, -1.5, Mode::Score),
        ];
        let combined = decide_with_rules(
            &model,
            &thresholds,
            &comment,
            &site_hosts(&comment, &[]),
            &with_hits(&comment, hits),
        );
        assert!((logit(combined.score) - (logit(alone.score) + 0.7 - 1.5)).abs() < 1e-9);
        let sum: f64 = combined.reasons.iter().map(|reason| reason.weight).sum();
        assert!((logit(combined.score) - sum).abs() < 1e-9);
        let rule_reasons: Vec<&str> = combined
            .reasons
            .iter()
            .filter(|reason| reason.source == ReasonSource::Rule)
            .map(|reason| reason.code.as_str())
            .collect();
        assert_eq!(rule_reasons, vec!["excessive_caps", "trusted_author"]);
        assert_eq!(combined.spam_probability, alone.spam_probability);
    }

    /// A reason about links names what the model read as one, so that a
    /// moderator can tell a spammer's site from a full stop typed without
    /// its space; the link to another site names only those.
    #[test]
    fn link_reasons_name_the_sites_linked() {
        let model = Model::embedded_default().unwrap();
        let mut comment = crate::rules::testing_comment(
            "More on this: https://news.example.com/a and https://en.wikipedia.org/wiki/X",
        );
        comment.site_id = "news.example.com".to_string();
        let assessment = decide(&model, &Thresholds::default(), &comment);
        let message_of = |description: &str| {
            assessment
                .reasons
                .iter()
                .find(|reason| {
                    reason
                        .message
                        .starts_with(&format!("The model finds {description} typical"))
                })
                .map(|reason| reason.message.clone())
                .unwrap_or_else(|| panic!("no reason for {description}: {:?}", assessment.reasons))
        };
        assert!(
            message_of("a link to another site").ends_with("): en.wikipedia.org."),
            "{}",
            message_of("a link to another site")
        );
        assert!(
            message_of("a link").ends_with("): news.example.com, en.wikipedia.org."),
            "{}",
            message_of("a link")
        );
        // Other reasons name no site.
        let anywhere = SiteHosts::default();
        let sites = |text: &str| linked_sites(&anywhere, text, text, |_| true);
        assert!(sites("no links here").is_empty());
        assert_eq!(
            sites("a.com b.com a.com/x c.com d.com e.com"),
            ": a.com, b.com, c.com, 2 more"
        );
        // A link to a trusted domain is not read, so no reason names it;
        // one through it to another address is, under its domain.
        let rules = crate::rules::Rules::default();
        let site = rules.link_reading("news.example.com");
        let mut cited = crate::rules::testing_comment(
            "See https://en.wikipedia.org/wiki/X and the pills at https://pills.example/x",
        );
        cited.site_id = "news.example.com".to_string();
        let named = decide_with_rules(
            &model,
            &Thresholds::default(),
            &cited,
            &site,
            &Evaluation::without_rules(&cited),
        );
        let link_reasons: Vec<&str> = named
            .reasons
            .iter()
            .map(|reason| reason.message.as_str())
            .filter(|message| {
                message.starts_with("The model finds a link")
                    || message.starts_with("The model finds several links")
            })
            .collect();
        assert!(!link_reasons.is_empty(), "{:?}", named.reasons);
        for message in &link_reasons {
            assert!(message.ends_with("): pills.example."), "{message}");
        }
        let redirect = "go https://www.cdc.gov/r?u=https://pills.example/x";
        assert_eq!(
            linked_sites(&site, redirect, redirect, |_| true),
            ": cdc.gov (passing readers on to another address)"
        );
    }

    #[test]
    fn modes_raise_the_verdict_and_hard_evidence_is_urgent() {
        let model = Model::embedded_default().unwrap();
        let thresholds = Thresholds::default();
        let comment =
            crate::rules::testing_comment("Interesting article, I hope he gets a fair hearing.");
        let cases = [
            (vec![], Verdict::Allow, Priority::Low),
            (
                vec![hit(Rule::Flood, 0.0, Mode::Score)],
                Verdict::Allow,
                Priority::Low,
            ),
            (
                vec![hit(Rule::Flood, 0.0, Mode::Review)],
                Verdict::Review,
                Priority::Low,
            ),
            (
                vec![hit(Rule::Honeypot, 0.0, Mode::Reject)],
                Verdict::Reject,
                Priority::High,
            ),
            (
                vec![
                    hit(Rule::Flood, 0.0, Mode::Review),
                    hit(Rule::BlockedIp, 0.0, Mode::Reject),
                ],
                Verdict::Reject,
                Priority::High,
            ),
            // A rule's weight is no sign the rejection must hold without:
            // it stays in the score as the operator set it.
            (
                vec![hit(Rule::Honeypot, 20.0, Mode::Score)],
                Verdict::Reject,
                Priority::High,
            ),
        ];
        for (hits, verdict, priority) in cases {
            let evaluation = with_hits(&comment, hits.clone());
            let assessment = decide_with_rules(
                &model,
                &thresholds,
                &comment,
                &site_hosts(&comment, &[]),
                &evaluation,
            );
            assert_eq!(
                (assessment.verdict, assessment.priority),
                (verdict, priority),
                "{hits:?}"
            );
        }
    }

    /// A score that reaches the reject line on one or two signs of spam
    /// ("please" and "share", which meant spam under music videos) holds
    /// the comment for review, saying so in a reason that weighs nothing;
    /// spam that says more is rejected, and 0 lets the score alone decide.
    #[test]
    fn a_rejection_resting_on_two_signs_is_held_for_review() {
        let model = Model::embedded_default().unwrap();
        let question = crate::rules::testing_comment(
            "Could you please share the source for the unemployment figures?",
        );
        let held = decide(&model, &Thresholds::default(), &question);
        assert!(held.score >= 0.9, "{held:?}");
        assert_eq!(
            (held.verdict, held.priority),
            (Verdict::Review, Priority::High)
        );
        let reason = held
            .reasons
            .iter()
            .find(|reason| reason.code == "rejection_held")
            .expect("a reason says why the comment is not rejected");
        assert_eq!((reason.source, reason.weight), (ReasonSource::Rule, 0.0));
        assert!(
            reason.message.starts_with("Held for review rather than rejected: the score would be 0.")
                && reason.message.contains("without its 2 strongest signs of spam (the word \"please\", +2.62; the word \"share\", +0.93)")
                && reason.message.contains("under the reject threshold (0.9)"),
            "{}",
            reason.message
        );
        let sum: f64 = held.reasons.iter().map(|reason| reason.weight).sum();
        assert!((logit(held.score) - sum).abs() < 1e-9);

        let score_alone = Thresholds::default().with_reject_holds_without(0).unwrap();
        let rejected = decide(&model, &score_alone, &question);
        assert_eq!(rejected.verdict, Verdict::Reject);
        assert_eq!(rejected.score, held.score);
        assert!(rejected
            .reasons
            .iter()
            .all(|reason| reason.code != "rejection_held"));

        let spam = crate::rules::testing_comment(
            "Check out my channel please subscribe http://spam.example.top/free",
        );
        let assessment = decide(&model, &Thresholds::default(), &spam);
        assert_eq!(assessment.verdict, Verdict::Reject, "{assessment:?}");
        assert!(assessment
            .reasons
            .iter()
            .all(|reason| reason.code != "rejection_held"));

        // A rule's weight stays in the score: a rule that fired takes the
        // comment past the reject line, as the operator set it to. A rule
        // in `reject` mode rejects whatever the rest says.
        let with_rule = decide_with_rules(
            &model,
            &Thresholds::default(),
            &question,
            &site_hosts(&question, &[]),
            &with_hits(&question, vec![hit(Rule::AuthorKeyword, 1.0, Mode::Review)]),
        );
        assert_eq!(with_rule.verdict, Verdict::Reject, "{with_rule:?}");
        assert!(with_rule
            .reasons
            .iter()
            .all(|reason| reason.code != "rejection_held"));
        let reject_mode = with_hits(&question, vec![hit(Rule::Honeypot, 0.0, Mode::Reject)]);
        let rejected = decide_with_rules(
            &model,
            &Thresholds::default(),
            &question,
            &site_hosts(&question, &[]),
            &reject_mode,
        );
        assert_eq!(rejected.verdict, Verdict::Reject);
        assert!(rejected
            .reasons
            .iter()
            .all(|reason| reason.code != "rejection_held"));

        assert!(Thresholds::default()
            .with_reject_holds_without(MAX_REJECT_HOLDS_WITHOUT)
            .is_some());
        assert!(Thresholds::default()
            .with_reject_holds_without(MAX_REJECT_HOLDS_WITHOUT + 1)
            .is_none());
    }

    #[test]
    fn priority_rises_towards_the_reject_line() {
        let thresholds = Thresholds::default();
        assert_eq!(thresholds.priority(0.52), Priority::Low);
        assert_eq!(thresholds.priority(0.7), Priority::Medium);
        assert_eq!(thresholds.priority(0.85), Priority::High);
        assert_eq!(thresholds.priority(0.99), Priority::High);
    }
}
