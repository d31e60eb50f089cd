//! Learning from people's corrections: online updates of the live model,
//! full retraining jobs behind an evaluation gate, and the model registry
//! (every version with its figures; activate one to roll back or forward).
//!
//! Only people teach the model: the engine learns from moderators'
//! resolutions and sites' reports, never from its own verdicts.
//!
//! The pieces: `settings` (the `[learning]` table), `records` (what is
//! stored), `gate` (the pure promotion decision), `online`, `registry` and
//! `retrain` (the engine's operations, one file each).

mod gate;
mod new_corrections;
mod online;
mod records;
mod registry;
mod retrain;
mod settings;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

pub use gate::{decide, GateDecision, SliceFigures};
pub use online::OnlineOutcome;
pub use records::{JobState, ModelRecord, OnlineExample, RetrainJob};
pub use registry::{startup_model, ModelListing};
pub use retrain::spawn_schedule;
pub use settings::{InvalidLearningParam, LearningParams, LearningSettings};

use new_corrections::NewCorrections;
use records::CorrectionKey;

use crate::classifier::{
    read_labelled_file, BinaryMetrics, ClassifierError, LabelledExample, Model,
};

/// The corpus the operator vouches for, split once at start-up into what
/// trains and what evaluates.
#[derive(Debug, Clone, Default)]
pub struct BaseCorpus {
    /// Every example (a full retrain trains on each once, see
    /// `classifier::distinct_examples`).
    pub examples: Vec<LabelledExample>,
    /// The held-out evaluation slice: the examples whose text hashes into
    /// the configured fraction.
    pub evaluation: Vec<LabelledExample>,
    /// The files it was read from.
    pub sources: Vec<String>,
}

impl BaseCorpus {
    /// Reads the configured files.
    pub fn load(settings: &LearningSettings) -> Result<BaseCorpus, ClassifierError> {
        let mut corpus = BaseCorpus::default();
        for path in settings.base_data() {
            let examples = read_labelled_file(path)?;
            // A file that reads as no rows (a header alone, a wrong file)
            // would leave the gate and the guard nothing to judge by.
            if examples.is_empty() {
                return Err(ClassifierError::DataFormat {
                    path: path.clone(),
                    line: 1,
                    message: "no labelled example in the file: learning.base_data needs \
                              examples of both labels"
                        .to_string(),
                });
            }
            corpus.examples.extend(examples);
            corpus.sources.push(path.display().to_string());
        }
        corpus.evaluation = corpus
            .examples
            .iter()
            .filter(|example| in_evaluation_slice(&example.text, settings.evaluation_fraction()))
            .cloned()
            .collect();
        if !settings.base_data().is_empty() {
            corpus.check_evaluation_slice(settings.evaluation_fraction())?;
        }
        Ok(corpus)
    }

    /// Refuses an evaluation slice with fewer than
    /// [`MIN_EVALUATION_EXAMPLES_PER_LABEL`] examples of either label. The
    /// gate and the online guard judge a model by the ham it blocks and
    /// the spam it catches on this slice: without ham, a model that blocks
    /// every comment would pass both (measured: a ten-row base corpus whose
    /// slice held three spam let a retrain on 60 wrong labels replace the
    /// built-in model).
    fn check_evaluation_slice(&self, fraction: f64) -> Result<(), ClassifierError> {
        let spam = self.evaluation.iter().filter(|e| e.label.is_spam()).count();
        let ham = self.evaluation.len() - spam;
        if spam.min(ham) >= MIN_EVALUATION_EXAMPLES_PER_LABEL {
            return Ok(());
        }
        Err(ClassifierError::Evaluation(format!(
            "its evaluation slice (learning.evaluation_fraction = {fraction} of its {} \
             examples) holds {spam} spam and {ham} ham; the gate needs at least \
             {MIN_EVALUATION_EXAMPLES_PER_LABEL} of each to judge a model: add examples of \
             the label that is short, or raise evaluation_fraction",
            self.examples.len()
        )))
    }
}

/// The fewest examples of each label the base corpus's evaluation slice
/// may hold (see [`BaseCorpus::check_evaluation_slice`]).
pub const MIN_EVALUATION_EXAMPLES_PER_LABEL: usize = 5;

/// Whether a text belongs to the evaluation slice: decided by a hash of the
/// text, so the slice is the same whatever the order of the files.
fn in_evaluation_slice(text: &str, fraction: f64) -> bool {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    let value = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (value as f64 / u64::MAX as f64) < fraction
}

/// A model's figures on labelled examples.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measured {
    /// A score of at least 0.5 counts as spam.
    pub metrics: BinaryMetrics,
    /// The mean score of the ham: how suspicious the model finds legitimate
    /// comments. It moves before the share blocked does, which makes it
    /// the gate's most sensitive sign of wrong corrections.
    pub mean_ham_score: f64,
}

pub fn measure(model: &Model, examples: &[LabelledExample]) -> Measured {
    let scores: Vec<f64> = examples
        .iter()
        .map(|example| model.probability_on_site(&example.text, &example.site))
        .collect();
    let is_spam: Vec<bool> = examples.iter().map(|e| e.label.is_spam()).collect();
    let ham_scores: Vec<f64> = scores
        .iter()
        .zip(&is_spam)
        .filter(|(_, spam)| !**spam)
        .map(|(score, _)| *score)
        .collect();
    let mean_ham_score = if ham_scores.is_empty() {
        0.0
    } else {
        ham_scores.iter().sum::<f64>() / ham_scores.len() as f64
    };
    Measured {
        metrics: BinaryMetrics::compute(&scores, &is_spam, 0.5),
        mean_ham_score,
    }
}

/// What the engine keeps for learning.
pub struct Learning {
    settings: LearningSettings,
    base: BaseCorpus,
    /// Serialises changes of the live model (online learning, activation,
    /// promotion), so that none is lost to another. A std mutex: it is only
    /// taken in blocking code, never held across an await.
    changes: Mutex<ModelLineage>,
    /// Jobs of this run, by id (finished ones are also in the store). A std
    /// mutex: held for a lookup or an update only.
    jobs: Mutex<HashMap<String, RetrainJob>>,
    /// The decisions labelled since the last retrain started (for the
    /// schedule); a lock of its own, so async code never waits on the
    /// change lock.
    new_corrections: NewCorrections,
    /// The threads of retraining jobs, waited for when the service stops so
    /// that none outlives it holding the store. A std mutex: held to list
    /// or reap them, and while a retrain starts (so that a stop and a start
    /// never cross), never across an await.
    workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// Set when the service stops: no retrain starts after it.
    stopping: AtomicBool,
}

/// Runs `delete`, which may delete online examples of the live version and
/// says (through `deleted`) how many. Until it says it deleted none, they
/// count as deleted: a forget that fails (or panics) after deleting some
/// must not leave a count or a snapshot that holds them. The live
/// version's examples are counted again when next needed.
fn deleting_online_examples<T, Error>(
    lineage: &mut ModelLineage,
    delete: impl FnOnce() -> Result<T, Error>,
    deleted: impl Fn(&T) -> usize,
) -> Result<T, Error> {
    let recorded_before = lineage.recorded_online.take();
    let snapshots_before = lineage.forgotten_since_start;
    lineage.forgotten_since_start = true;
    let outcome = delete();
    if outcome.as_ref().is_ok_and(|value| deleted(value) == 0) {
        lineage.recorded_online = recorded_before;
        lineage.forgotten_since_start = snapshots_before;
    }
    outcome
}

/// What online learning compares against: the registered version the live
/// model grew from, and its figures on the base corpus's evaluation slice.
#[derive(Debug, Clone, Default)]
struct ModelLineage {
    /// The registered version's figures on the base evaluation slice; `None`
    /// without a base corpus.
    baseline: Option<Measured>,
    /// How many online examples are recorded for the live model's version,
    /// all of them learned by the live model; `None` until known (online
    /// learning then counts them once). Kept here so that learning need not
    /// count them in the store each time.
    recorded_online: Option<usize>,
    /// The corrections the live model's version holds since its promotion:
    /// those it trained on and those the promotion learned onto it. A label
    /// stored before the retrain read the corrections, but learned online
    /// only after the swap, is already in the live model and is not learned
    /// twice. Empty after an activation.
    learned_at_promotion: HashSet<CorrectionKey>,
    /// The deployed model's figures on the base evaluation slice, which no
    /// promotion and no online learning may fall behind beyond the
    /// tolerance (see `gate`); set at start-up, `None` without a base
    /// corpus.
    reference: Option<gate::Reference>,
    /// Whether a comment online learning had learned was forgotten since
    /// the start: its examples are deleted, but the live model still holds
    /// what they taught (a model unlearns nothing), so no snapshot of it
    /// is saved until the next start, which learns the remaining examples
    /// again.
    forgotten_since_start: bool,
    /// The decisions of the comments forgotten most recently, at most
    /// [`RECENTLY_FORGOTTEN`]: a labelling call commits its label, then
    /// learns it online in a task of its own, and a comment forgotten in
    /// between must not be learned then. That task runs within moments of
    /// its commit, so the last few hundred forgotten suffice.
    recently_forgotten: std::collections::VecDeque<String>,
}

/// How many forgotten decisions [`ModelLineage::recently_forgotten`] keeps.
const RECENTLY_FORGOTTEN: usize = 1024;

impl ModelLineage {
    /// Whether `decision_id`'s comment was forgotten lately.
    fn was_forgotten(&self, decision_id: &str) -> bool {
        self.recently_forgotten.iter().any(|id| id == decision_id)
    }
}

impl Learning {
    /// Runs `forget` (deleting a comment from the store) while no model
    /// change is under way: online learning, which records its examples
    /// under the same lock, then either recorded the comment's examples
    /// before (and `forget` deletes them) or finds it forgotten and learns
    /// nothing of it (see `ModelLineage::recently_forgotten`).
    /// When the comment had taught the live model,
    /// no snapshot of it is saved until the next start (see
    /// `ModelLineage::forgotten_since_start`).
    pub fn forgetting<Error>(
        &self,
        forget: impl FnOnce() -> Result<Option<crate::store::Forgotten>, Error>,
    ) -> Result<Option<crate::store::Forgotten>, Error> {
        self.forget_with(forget, true)
    }

    /// [`Learning::forgetting`] for a comment past the retention period:
    /// its label is older than the period, so no labelling call can be
    /// about to learn it, and it is not remembered among the recently
    /// forgotten (a large expiry would push out the comments forgotten on
    /// request, which a labelling call may be about to learn).
    pub fn expiring<Error>(
        &self,
        forget: impl FnOnce() -> Result<Option<crate::store::Forgotten>, Error>,
    ) -> Result<Option<crate::store::Forgotten>, Error> {
        self.forget_with(forget, false)
    }

    fn forget_with<Error>(
        &self,
        forget: impl FnOnce() -> Result<Option<crate::store::Forgotten>, Error>,
        remember: bool,
    ) -> Result<Option<crate::store::Forgotten>, Error> {
        let mut lineage = self.lineage();
        let forgotten = deleting_online_examples(&mut lineage, forget, |outcome| {
            outcome
                .as_ref()
                .map_or(0, |forgotten| forgotten.online_examples)
        })?;
        if let Some(forgotten) = forgotten.as_ref().filter(|_| remember) {
            if lineage.recently_forgotten.len() == RECENTLY_FORGOTTEN {
                lineage.recently_forgotten.pop_front();
            }
            lineage
                .recently_forgotten
                .push_back(forgotten.decision.decision_id.clone());
        }
        Ok(forgotten)
    }

    /// Runs `finish`, which finishes expiries cut short (see
    /// `Store::finish_expiries`) and says which comments they were about and
    /// how many online examples it deleted, keeping the live version's
    /// figures right as [`Learning::expiring`] does.
    pub fn finishing_expiries<Error>(
        &self,
        finish: impl FnOnce() -> Result<(Vec<crate::store::FinishedExpiry>, usize), Error>,
    ) -> Result<Vec<crate::store::FinishedExpiry>, Error> {
        let mut lineage = self.lineage();
        deleting_online_examples(&mut lineage, finish, |(_, deleted)| *deleted)
            .map(|(finished, _)| finished)
    }

    /// Counts labelled decisions for the retrain schedule: only with a
    /// schedule configured, and only as far as it looks (its number of
    /// corrections, or one for the interval, which waits for any). True
    /// once the count is as far as it looks.
    fn count_new_corrections<'a>(&self, decision_ids: impl IntoIterator<Item = &'a str>) -> bool {
        let enough = match (
            self.settings.retrain_every_corrections(),
            self.settings.retrain_every(),
        ) {
            (Some(every), _) => every,
            (None, Some(_)) => 1,
            (None, None) => return true,
        };
        self.new_corrections.add(decision_ids, enough);
        self.new_corrections.count() >= enough
    }

    pub fn new(settings: LearningSettings, base: BaseCorpus) -> Learning {
        Learning {
            settings,
            base,
            changes: Mutex::new(ModelLineage::default()),
            jobs: Mutex::new(HashMap::new()),
            new_corrections: NewCorrections::default(),
            stopping: AtomicBool::new(false),
            workers: Mutex::new(Vec::new()),
        }
    }

    pub fn settings(&self) -> &LearningSettings {
        &self.settings
    }
}

impl Default for Learning {
    fn default() -> Self {
        Learning::new(LearningSettings::default(), BaseCorpus::default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a JSON Lines base corpus of `spam` and `ham` numbered texts.
    fn corpus_file(directory: &std::path::Path, spam: usize, ham: usize) -> std::path::PathBuf {
        let mut lines = String::new();
        for index in 0..spam {
            lines.push_str(&format!(
                "{{\"text\":\"win cash {index}\",\"label\":\"spam\"}}\n"
            ));
        }
        for index in 0..ham {
            lines.push_str(&format!(
                "{{\"text\":\"nice report {index}\",\"label\":\"ham\"}}\n"
            ));
        }
        let path = directory.join("base.jsonl");
        std::fs::write(&path, lines).unwrap();
        path
    }

    fn settings(path: std::path::PathBuf) -> LearningSettings {
        LearningParams {
            base_data: vec![path],
            ..LearningParams::default()
        }
        .check()
        .unwrap()
    }

    #[test]
    fn a_base_corpus_whose_evaluation_slice_lacks_a_label_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        // Spam alone: the gate could not see a model that blocks every
        // comment.
        let refused = BaseCorpus::load(&settings(corpus_file(directory.path(), 200, 0)));
        let message = refused.unwrap_err().to_string();
        assert!(message.contains("0 ham"), "{message}");
        assert!(message.contains("at least 5 of each"), "{message}");
        // Enough of both: the slice (a fifth, by hash) holds some of each.
        let corpus = BaseCorpus::load(&settings(corpus_file(directory.path(), 200, 200))).unwrap();
        let spam = corpus
            .evaluation
            .iter()
            .filter(|e| e.label.is_spam())
            .count();
        assert!(spam >= MIN_EVALUATION_EXAMPLES_PER_LABEL);
        assert!(corpus.evaluation.len() - spam >= MIN_EVALUATION_EXAMPLES_PER_LABEL);
        // No base corpus at all is no slice to judge, and no refusal.
        let none = LearningParams::default().check().unwrap();
        assert!(BaseCorpus::load(&none).unwrap().examples.is_empty());
    }

    /// A configured file that reads as no rows (a header alone) would turn
    /// the gate and the guard off unnoticed: it is refused, by its name.
    #[test]
    fn a_base_data_file_without_examples_is_refused() {
        let directory = tempfile::tempdir().unwrap();
        let header_only = directory.path().join("base.tsv");
        std::fs::write(&header_only, "label\ttext\n").unwrap();
        let message = BaseCorpus::load(&settings(header_only))
            .unwrap_err()
            .to_string();
        assert!(message.contains("base.tsv"), "{message}");
        assert!(message.contains("no labelled example"), "{message}");
    }
}
