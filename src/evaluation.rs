//! Measures the whole pipeline (as `serve` runs it) on labelled examples:
//! the figures of `moderato eval` (the retraining gate measures the model
//! alone, see `learning`). Pure, apart from timing the run.
//!
//! Labelled examples are texts alone, with the title of the post they were
//! under when the data gives it (a YouTube video's name): no author, no
//! form, no site. The rules run on each text as `serve` would run them on
//! a comment with only its text and that title, with no history (see [`Context::stateless`]): the examples of a
//! corpus are not a stream of comments on one site, so counting them as
//! floods or near-duplicates of each other would measure the corpus, not
//! the service. The stateful rules are covered by the integration tests.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use crate::classifier::{
    threshold_curve, BinaryMetrics, LabelledExample, Model, SiteHosts, ThresholdPoint,
};
use crate::domain::{Comment, Label, PostContext, UnixMillis, Verdict};
use crate::rules::{Context, Evaluation, Rules};
use crate::verdict::{decide_with_rules, site_hosts, Thresholds};

/// Binary figures at score 0.5, as `eval --json` prints them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BinaryFigures {
    pub accuracy: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub mcc: f64,
    pub fpr: f64,
    pub auc: f64,
    /// The figures above that measure nothing on this data (see
    /// `BinaryMetrics::undefined`); absent from the JSON when empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undefined: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct VerdictCounts {
    pub allow: u64,
    pub review: u64,
    pub reject: u64,
}

impl VerdictCounts {
    fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Allow => self.allow += 1,
            Verdict::Review => self.review += 1,
            Verdict::Reject => self.reject += 1,
        }
    }

    fn total(&self) -> u64 {
        self.allow + self.review + self.reject
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VerdictFigures {
    pub ham: VerdictCounts,
    pub spam: VerdictCounts,
    /// Share of ham that got REJECT.
    pub ham_rejected_rate: f64,
    /// Share of spam that got ALLOW.
    pub spam_allowed_rate: f64,
    /// Share of all comments sent to REVIEW.
    pub review_rate: f64,
}

/// The object `moderato eval --json` prints (see operations.md).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalReport {
    pub n: u64,
    pub spam: u64,
    pub ham: u64,
    pub binary: BinaryFigures,
    pub verdicts: VerdictFigures,
    pub model_version: String,
    pub seconds: f64,
    pub thresholds: ThresholdFigures,
    /// Whether the rules ran (`eval --no-rules` measures the model alone).
    pub rules: bool,
    /// How often each rule fired on ham and on spam, by its code: what an
    /// operator weighs a rule's weight against. Only the rules that fired
    /// are listed; empty without the rules.
    pub rule_hits: BTreeMap<&'static str, LabelCounts>,
    /// Precision, recall and ham blocked at every threshold from 0 to 1, by
    /// hundredths (what `eval --plot` draws; not in the JSON).
    #[serde(skip)]
    pub curve: Vec<ThresholdPoint>,
}

/// Comments of each label.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LabelCounts {
    pub ham: u64,
    pub spam: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdFigures {
    pub review: f64,
    pub reject: f64,
    /// How many of its strongest signs of spam a rejection by score had to
    /// hold without (`thresholds.reject_holds_without`): the verdict
    /// counts depend on it.
    pub reject_holds_without: usize,
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The site id offline scoring (`eval`, `check`) gives a comment when no
/// site is named: empty, which `check_site_id` refuses, so that no
/// `[rules.sites."..."]` table can be written for it and only the global
/// rules apply. A made-up name such as "eval" would instead pick up the
/// table of a real site that happens to bear it.
pub const GLOBAL_RULES_ONLY: &str = "";

/// Scores every example as a comment with only its text, through the
/// global rules (when given) and the model, and measures.
pub fn evaluate(
    model: &Model,
    thresholds: &Thresholds,
    rules: Option<&Rules>,
    examples: &[LabelledExample],
) -> EvalReport {
    evaluate_on_site(model, thresholds, rules, GLOBAL_RULES_ONLY, &[], examples)
}

/// [`evaluate`], with every example scored as a comment of `site_id`, so
/// that the rules are those `serve` applies to that site (its
/// `[rules.sites."<site_id>"]` table over the global one, or the global
/// rules alone when it has no table). [`GLOBAL_RULES_ONLY`] names no site.
/// `listed_hosts` are the host names the site's table lists (`hosts`),
/// which the model reads links with, rules or not.
pub fn evaluate_on_site(
    model: &Model,
    thresholds: &Thresholds,
    rules: Option<&Rules>,
    site_id: &str,
    listed_hosts: &[String],
    examples: &[LabelledExample],
) -> EvalReport {
    let context = Context::stateless(UnixMillis(0));
    let started = std::time::Instant::now();
    let mut scores = Vec::with_capacity(examples.len());
    let mut is_spam = Vec::with_capacity(examples.len());
    let mut ham = VerdictCounts::default();
    let mut spam = VerdictCounts::default();
    let mut rule_hits: BTreeMap<&'static str, LabelCounts> = BTreeMap::new();
    for (index, example) in examples.iter().enumerate() {
        let comment = Comment {
            site_id: site_id.to_string(),
            comment_id: index.to_string(),
            content: example.text.clone(),
            author: Default::default(),
            context: PostContext {
                post_title: example.post_title.clone().unwrap_or_default(),
                ..PostContext::default()
            },
            submitted_at: UnixMillis(0),
            form: Default::default(),
        };
        let evaluation = match rules {
            Some(rules) => rules
                .for_site(&comment.site_id)
                .evaluate(&comment, &context),
            None => Evaluation::without_rules(&comment),
        };
        for hit in &evaluation.hits {
            let counts = rule_hits.entry(hit.rule.code()).or_default();
            match example.label {
                Label::Ham => counts.ham += 1,
                Label::Spam => counts.spam += 1,
            }
        }
        // The example's own site (YouTube's for the YouTube corpus), and
        // `site_id` if it is a host name, with the site's listed hosts.
        // With rules, the domains they trust are read as `serve` reads them.
        let site = SiteHosts::new(
            example
                .site
                .hosts()
                .iter()
                .chain(site_hosts(&comment, listed_hosts).hosts()),
        );
        let site = match rules {
            Some(rules) => site.with_trusted(Arc::clone(
                rules.for_site(&comment.site_id).trusted_domains(),
            )),
            None => site,
        };
        let assessment = decide_with_rules(model, thresholds, &comment, &site, &evaluation);
        scores.push(assessment.score);
        is_spam.push(example.label.is_spam());
        if example.label.is_spam() {
            spam.add(assessment.verdict);
        } else {
            ham.add(assessment.verdict);
        }
    }
    let metrics = BinaryMetrics::compute(&scores, &is_spam, 0.5);
    let curve = threshold_curve(&scores, &is_spam);
    let n = examples.len() as u64;
    EvalReport {
        n,
        spam: metrics.spam,
        ham: metrics.ham,
        binary: BinaryFigures {
            accuracy: metrics.accuracy,
            precision: metrics.precision,
            recall: metrics.recall,
            f1: metrics.f1,
            mcc: metrics.mcc,
            fpr: metrics.fpr,
            auc: metrics.auc,
            undefined: metrics.undefined.clone(),
        },
        verdicts: VerdictFigures {
            ham_rejected_rate: share(ham.reject, ham.total()),
            spam_allowed_rate: share(spam.allow, spam.total()),
            review_rate: share(ham.review + spam.review, n),
            ham,
            spam,
        },
        model_version: model.version().to_string(),
        seconds: started.elapsed().as_secs_f64(),
        thresholds: ThresholdFigures {
            review: thresholds.review(),
            reject: thresholds.reject(),
            reject_holds_without: thresholds.reject_holds_without(),
        },
        rules: rules.is_some(),
        rule_hits,
        curve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Overrides};
    use crate::domain::Label;

    /// A table for a site named "eval" (the name offline scoring once made
    /// up) and one for news.example, both blocking "casino" in reject
    /// mode; `reject = 1` keeps the model from rejecting on its own, so a
    /// rejection can only come from a site's table.
    fn config_with_site_tables() -> Config {
        Config::from_toml(
            "test",
            "[thresholds]\nreview = 0.5\nreject = 1.0\n\
             [rules.sites.\"eval\"]\nblocked_terms = [\"casino\"]\n\
             [rules.sites.\"news.example\"]\nblocked_terms = [\"casino\"]\n",
            &Overrides::default(),
        )
        .unwrap()
    }

    fn casino_comment() -> Vec<LabelledExample> {
        vec![LabelledExample {
            text: "the best casino in town".to_string(),
            label: Label::Ham,
            group: None,
            post_title: None,
            site: crate::classifier::SiteHosts::default(),
        }]
    }

    #[test]
    fn without_a_site_only_the_global_rules_apply() {
        let config = config_with_site_tables();
        let model = Model::embedded_default().unwrap();
        let report = evaluate(
            &model,
            &config.thresholds,
            Some(&config.rules),
            &casino_comment(),
        );
        assert_eq!(report.verdicts.ham.reject, 0, "{report:?}");
        // The id used for "no site" is one no site table can be written for.
        assert!(crate::domain::check_site_id(GLOBAL_RULES_ONLY).is_err());
    }

    #[test]
    fn a_named_site_gets_its_own_table() {
        let config = config_with_site_tables();
        let model = Model::embedded_default().unwrap();
        let report = evaluate_on_site(
            &model,
            &config.thresholds,
            Some(&config.rules),
            "news.example",
            &[],
            &casino_comment(),
        );
        assert_eq!(report.verdicts.ham.reject, 1, "{report:?}");
        // A site without a table of its own gets the global rules.
        let report = evaluate_on_site(
            &model,
            &config.thresholds,
            Some(&config.rules),
            "blog.example",
            &[],
            &casino_comment(),
        );
        assert_eq!(report.verdicts.ham.reject, 0, "{report:?}");
    }

    #[test]
    fn the_report_counts_each_rules_hits_by_label_and_sends_the_title() {
        let model = Model::embedded_default().unwrap();
        let example = |text: &str, label, title: Option<&str>| LabelledExample {
            text: text.to_string(),
            label,
            group: None,
            post_title: title.map(str::to_string),
            site: crate::classifier::SiteHosts::default(),
        };
        let examples = [
            example(
                "the bypass will ruin the valley",
                Label::Ham,
                Some("Elm Street bypass"),
            ),
            example("the bypass will ruin the valley", Label::Ham, None),
            example("Buy v1agra now", Label::Spam, Some("Elm Street bypass")),
        ];
        let rules = Rules::default();
        let report = evaluate(&model, &Thresholds::default(), Some(&rules), &examples);
        let on_topic = &report.rule_hits["on_topic"];
        assert_eq!((on_topic.ham, on_topic.spam), (1, 0), "{report:?}");
        let disguised = &report.rule_hits["disguised_keyword"];
        assert_eq!((disguised.ham, disguised.spam), (0, 1), "{report:?}");
        assert!(!report.rule_hits.contains_key("honeypot"), "{report:?}");
        let without_rules = evaluate(&model, &Thresholds::default(), None, &examples);
        assert!(without_rules.rule_hits.is_empty(), "{without_rules:?}");
    }
}
