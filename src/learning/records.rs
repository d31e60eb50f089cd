//! What learning keeps: the registry's record of each model version, the
//! examples learned online since the active version was trained, and
//! retraining jobs. Plain data; `store` persists it.

use serde::{Deserialize, Serialize};

use crate::classifier::{BinaryMetrics, LabelledExample, SiteHosts, TrainingSummary};
use crate::domain::{Label, UnixMillis};
use crate::review::Correction;

/// One model version in the registry. The model file itself is stored
/// beside it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRecord {
    pub version: String,
    pub created_at: UnixMillis,
    /// Where it came from: "built in", a file path, or the job that built it.
    pub origin: String,
    pub summary: TrainingSummary,
    /// Its figures when it was registered: on the job's evaluation data for
    /// a retrained model, cross-validated on its training data otherwise.
    pub metrics: Option<BinaryMetrics>,
    /// Corrections made up to this time are in the version's training data,
    /// except those its job held out: its promotion learned them onto it
    /// online, or they are listed in `not_learned`. `None`: none are (a
    /// model from a file).
    #[serde(default)]
    pub trained_through: Option<UnixMillis>,
    /// The decisions whose corrections the version holds neither from its
    /// training nor from online learning, though they may be older than
    /// `trained_through`: those its job held out, or that came while it
    /// trained, and that its promotion did not learn (online learning was
    /// off, or its guard refused them). An incremental retrain of the
    /// version trains on them, as on those made after `trained_through`;
    /// a full retrain trains on every correction anyway. Left out of the
    /// stored record when empty, as records written before it have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_learned: Vec<String>,
}

/// Tells one correction from another: a later label of the same decision
/// is a new correction, stored at a later time.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct CorrectionKey {
    decision_id: String,
    at: UnixMillis,
}

impl CorrectionKey {
    pub fn of(correction: &Correction) -> CorrectionKey {
        CorrectionKey {
            decision_id: correction.decision_id.clone(),
            at: correction.at,
        }
    }
}

/// A correction learned online into the active version: enough to learn
/// it again after a restart, in the same order, giving the same model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OnlineExample {
    pub decision_id: String,
    pub text: String,
    pub label: Label,
    /// The training examples it counted as (`learning.correction_weight`
    /// when it was learned).
    #[serde(default = "one")]
    pub weight: f64,
    /// When the label it learned was given (the correction's time), which
    /// tells a decision's successive labels apart; `None` in examples
    /// recorded before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labelled_at: Option<UnixMillis>,
    /// The site the comment was posted on, whose links are no sign of
    /// spam (see [`SiteHosts`]); `None` in examples recorded before it was
    /// kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site_id: Option<String>,
    /// The host names the site's rules table listed (`hosts`) when it was
    /// learned: kept, so that learning it again after a restart gives the
    /// same model whatever the configuration says by then. Empty for a
    /// site that listed none, and in examples recorded before it was kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// Whether a site's report gave the label (not a moderator): such
    /// examples are not learned again once sites' reports stop teaching
    /// (`learning.learn_from_site_reports`). `None` in examples recorded
    /// before it was kept, whose audit trail tells (see
    /// `registry::given_by_a_site`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_site: Option<bool>,
}

impl OnlineExample {
    /// The hosts of the site the example's comment was posted on.
    pub fn site(&self) -> SiteHosts {
        SiteHosts::new(
            self.site_id
                .as_deref()
                .into_iter()
                .chain(self.hosts.iter().map(String::as_str)),
        )
    }

    /// The example it learned, to learn it again.
    pub fn example(&self) -> LabelledExample {
        LabelledExample {
            text: self.text.clone(),
            label: self.label,
            group: None,
            post_title: None,
            site: self.site(),
        }
    }
}

fn one() -> f64 {
    1.0
}

impl OnlineExample {
    /// What online learning records of a correction it learns, with the
    /// host names its site's rules table lists (`listed`).
    pub fn of(correction: &Correction, weight: f64, listed: &[String]) -> OnlineExample {
        OnlineExample {
            decision_id: correction.decision_id.clone(),
            text: correction.content.clone(),
            label: correction.label,
            weight,
            labelled_at: Some(correction.at),
            site_id: Some(correction.site_id.clone()),
            hosts: listed.to_vec(),
            from_site: Some(correction.source == crate::review::CorrectionSource::Site),
        }
    }
}

/// A correction as a training example, read on its site: the site id and
/// the host names its rules table lists (`listed`, see
/// [`crate::verdict::site_hosts`]), those in force when it is learned.
pub fn example_of(correction: &Correction, listed: &[String]) -> LabelledExample {
    LabelledExample {
        text: correction.content.clone(),
        label: correction.label,
        group: None,
        post_title: None,
        site: SiteHosts::new(
            std::iter::once(correction.site_id.as_str()).chain(listed.iter().map(String::as_str)),
        ),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
}

impl JobState {
    pub fn is_finished(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed)
    }
}

/// A retraining job, as `GetRetrainJob` reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetrainJob {
    pub job_id: String,
    pub full: bool,
    pub dry_run: bool,
    pub state: JobState,
    /// 0..1.
    pub progress: f64,
    /// Training examples of the candidate.
    pub examples: u64,
    pub candidate_version: String,
    /// The model serving when the job evaluated, and the candidate, on the
    /// same evaluation data.
    pub active_version: String,
    pub active_metrics: Option<BinaryMetrics>,
    pub candidate_metrics: Option<BinaryMetrics>,
    pub promoted: bool,
    /// Why the candidate was or was not promoted, or why the job failed.
    pub message: String,
    pub created_at: UnixMillis,
    pub finished_at: Option<UnixMillis>,
}

impl RetrainJob {
    /// The origin the registry records for the candidate that job
    /// `job_id` promotes.
    pub fn candidate_origin(job_id: &str) -> String {
        format!("retrain job {job_id}")
    }

    pub fn queued(job_id: String, full: bool, dry_run: bool, now: UnixMillis) -> RetrainJob {
        RetrainJob {
            job_id,
            full,
            dry_run,
            state: JobState::Queued,
            progress: 0.0,
            examples: 0,
            candidate_version: String::new(),
            active_version: String::new(),
            active_metrics: None,
            candidate_metrics: None,
            promoted: false,
            message: String::new(),
            created_at: now,
            finished_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Comment, PostContext, Verdict};
    use crate::review::CorrectionSource;

    /// A comment is learned with the site it is scored with, so that the
    /// "link to another site" signal means the same in both.
    #[test]
    fn learning_sees_the_site_that_scoring_sees() {
        let mirror = vec!["news.example.com".to_string()];
        for (site_id, listed) in [
            ("news.example.com", &Vec::new()),
            ("site-42", &Vec::new()),
            ("site-42", &mirror),
            ("xn--bcher-kva.example", &Vec::new()),
        ] {
            let comment = Comment {
                site_id: site_id.to_string(),
                comment_id: "c1".to_string(),
                content: "more at https://news.example.com/a".to_string(),
                author: Default::default(),
                context: PostContext {
                    permalink: "https://elsewhere.example/post".to_string(),
                    ..PostContext::default()
                },
                submitted_at: UnixMillis(0),
                form: Default::default(),
            };
            let correction = Correction {
                decision_id: "d1".to_string(),
                site_id: comment.site_id.clone(),
                comment_id: comment.comment_id.clone(),
                content: comment.content.clone(),
                label: Label::Ham,
                verdict: Verdict::Review,
                model_version: "m".to_string(),
                source: CorrectionSource::Moderator,
                by: "ann".to_string(),
                at: UnixMillis(1),
            };
            let served = crate::verdict::site_hosts(&comment, listed);
            assert_eq!(example_of(&correction, listed).site, served, "{site_id}");
            let online = OnlineExample::of(&correction, 1.0, listed);
            assert_eq!(online.site(), served, "{site_id}");
            // A restart learns it again from its record, whatever the
            // configuration lists by then.
            let stored: OnlineExample =
                serde_json::from_str(&serde_json::to_string(&online).unwrap()).unwrap();
            assert_eq!(stored.example().site, served, "{site_id}");
            assert_eq!(
                served.owns("news.example.com"),
                site_id == "news.example.com" || !listed.is_empty(),
                "{site_id} {listed:?}"
            );
        }
        // A record from before the list was kept reads as listing none.
        let older: OnlineExample = serde_json::from_str(
            r#"{"decision_id":"d","text":"t","label":"spam","site_id":"site-42"}"#,
        )
        .unwrap();
        assert!(older.hosts.is_empty());
        assert!(older.site().hosts().is_empty());
        // The permalink is not the site's word: a request names it.
        let comment_site = crate::verdict::site_hosts(
            &Comment {
                site_id: "site-42".to_string(),
                comment_id: "c1".to_string(),
                content: String::new(),
                author: Default::default(),
                context: PostContext {
                    permalink: "https://pills.example/buy".to_string(),
                    ..PostContext::default()
                },
                submitted_at: UnixMillis(0),
                form: Default::default(),
            },
            &[],
        );
        assert!(!comment_site.owns("pills.example"));
        assert!(comment_site.hosts().is_empty());
    }
}
