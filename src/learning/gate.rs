//! The evaluation gate: whether a candidate model may replace the active
//! one, from both models' figures on the same held-out data. Pure.
//!
//! The data has two slices. The base slice comes from the corpus the
//! operator vouches for: a candidate must not block more of its ham, nor
//! rank it worse, beyond the tolerance. This is what stops poisoning, since
//! wrong corrections pull a model away from the trusted data. The
//! corrections slice is the newest people's labels, which the candidate did
//! not train on: it must not do worse on them beyond the tolerance either.
//!
//! Each step is compared with the model it would replace, so many steps
//! each within the tolerance could still walk a model far from the trusted
//! data. The deployed model (the configured file, or the built-in one) is
//! therefore a fixed reference too: on the base slice, no candidate and no
//! online learning may be worse than it beyond the tolerance.

use super::Measured;

/// Both models on one slice of the evaluation data.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceFigures {
    pub active: Measured,
    pub candidate: Measured,
}

/// Why a model is worse than a reference on trusted data beyond the
/// tolerance: it blocks more of the ham, ranks worse, or finds the ham more
/// suspicious on average. `None` when it is not. Online learning's guard
/// asks the same question. `against` names the reference's figures in the
/// sentence ("the active model's " gives "against the active model's
/// 2.0%"), and may be empty where the sentence names it elsewhere.
pub fn worse_on_trusted_data(
    model: &Measured,
    reference: &Measured,
    tolerance: f64,
    against: &str,
) -> Option<String> {
    let mut reasons = Vec::new();
    let (now, before) = (&model.metrics, &reference.metrics);
    // A model whose scores are not numbers compares as neither better nor
    // worse in every test below; it is worse.
    if now.fpr.is_nan() || now.mcc.is_nan() || model.mean_ham_score.is_nan() {
        reasons.push("gives scores that are not numbers".to_string());
    }
    if now.fpr > before.fpr + tolerance {
        reasons.push(format!(
            "blocks {} of the evaluation ham against {against}{}",
            percent(now.fpr),
            percent(before.fpr)
        ));
    }
    if now.mcc < before.mcc - tolerance {
        reasons.push(format!(
            "has MCC {:.3} against {against}{:.3}",
            now.mcc, before.mcc
        ));
    }
    if model.mean_ham_score > reference.mean_ham_score + tolerance {
        reasons.push(format!(
            "scores the evaluation ham {:.3} on average against {against}{:.3}",
            model.mean_ham_score, reference.mean_ham_score
        ));
    }
    (!reasons.is_empty()).then(|| reasons.join(" and "))
}

/// The deployed model and its figures on the base evaluation slice (see
/// the module docs).
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub version: String,
    pub figures: Measured,
}

impl Reference {
    /// Why `model` is worse than the deployed model on the base slice
    /// beyond the tolerance, or `None`. `current` is the model it would
    /// replace: where that is already further from the deployed model (a
    /// version activated by hand, or one promoted before the reference
    /// existed), the bound is `current` itself, so that learning may go on
    /// and move back, but drift no further. `current_name` names `current`
    /// in the sentence ("the active model's").
    ///
    /// Scores that are not numbers are no part of the answer: the
    /// comparison with `current` that every caller makes first refuses
    /// them, and the sentence would say it twice.
    pub fn refuses(
        &self,
        model: &Measured,
        tolerance: f64,
        current: &Measured,
        current_name: &str,
    ) -> Option<String> {
        let broken = model.metrics.fpr.is_nan()
            || model.metrics.mcc.is_nan()
            || model.mean_ham_score.is_nan();
        if broken {
            return None;
        }
        let (deployed, current_metrics) = (&self.figures.metrics, &current.metrics);
        let mut bound = self.figures.clone();
        bound.metrics.fpr = (deployed.fpr + tolerance).max(current_metrics.fpr);
        bound.metrics.mcc = (deployed.mcc - tolerance).min(current_metrics.mcc);
        bound.mean_ham_score =
            (self.figures.mean_ham_score + tolerance).max(current.mean_ham_score);
        worse_on_trusted_data(model, &bound, 0.0, "the bound of ").map(|why| {
            format!(
                "{why} (each bound the deployed model {}'s figure within the tolerance, \
                 or {current_name} where that is further off)",
                self.version
            )
        })
    }
}

/// What the gate decided, and why, in one sentence a operator can read.
#[derive(Debug, Clone, PartialEq)]
pub struct GateDecision {
    pub promote: bool,
    pub reason: String,
}

fn percent(value: f64) -> String {
    format!("{:.1}%", value * 100.0)
}

/// Decides on promotion. `base` and `corrections` are `None` when the slice
/// has no examples; `reference` is the deployed model's figures on the
/// base slice, `None` without a base corpus.
pub fn decide(
    base: Option<&SliceFigures>,
    reference: Option<&Reference>,
    corrections: Option<&SliceFigures>,
    tolerance: f64,
) -> GateDecision {
    let mut refusals = Vec::new();
    let mut findings = Vec::new();
    if let Some(base) = base {
        let (active, candidate) = (&base.active.metrics, &base.candidate.metrics);
        findings.push(format!(
            "on the {} examples of the base evaluation slice: MCC {:.3} (active {:.3}), ham blocked {} (active {}), \
             mean ham score {:.3} (active {:.3})",
            candidate.examples,
            candidate.mcc,
            active.mcc,
            percent(candidate.fpr),
            percent(active.fpr),
            base.candidate.mean_ham_score,
            base.active.mean_ham_score
        ));
        // Both comparisons on the base corpus in one clause: the active
        // model's figures, then the bound the deployed model sets.
        let base_reasons: Vec<String> = [
            worse_on_trusted_data(
                &base.candidate,
                &base.active,
                tolerance,
                "the active model's ",
            ),
            reference.and_then(|reference| {
                reference.refuses(
                    &base.candidate,
                    tolerance,
                    &base.active,
                    "the active model's",
                )
            }),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !base_reasons.is_empty() {
            refusals.push(format!(
                "on the base corpus the candidate {}",
                base_reasons.join(", and ")
            ));
        }
    }
    if let Some(corrections) = corrections {
        let (active, candidate) = (&corrections.active.metrics, &corrections.candidate.metrics);
        // With one class only, MCC is undefined; accuracy still says how
        // many of the people's labels a model agrees with.
        let both_classes = candidate.spam > 0 && candidate.ham > 0;
        let (name, candidate_figure, active_figure) = if both_classes {
            ("MCC", candidate.mcc, active.mcc)
        } else {
            ("accuracy", candidate.accuracy, active.accuracy)
        };
        findings.push(format!(
            "on the {} newest corrections: {name} {candidate_figure:.3} (active {active_figure:.3})",
            candidate.examples
        ));
        if candidate_figure.is_nan() || candidate_figure < active_figure - tolerance {
            refusals.push(format!(
                "its {name} on the newest corrections is {candidate_figure:.3} against {active_figure:.3}"
            ));
        }
    }
    if findings.is_empty() {
        return GateDecision {
            promote: false,
            reason: "not promoted: there is no evaluation data (configure learning.base_data \
                     or collect corrections)"
                .to_string(),
        };
    }
    let figures = findings.join("; ");
    if refusals.is_empty() {
        GateDecision {
            promote: true,
            reason: format!(
                "promoted: not worse than the active model beyond the tolerance of {tolerance}; {figures}"
            ),
        }
    } else {
        GateDecision {
            promote: false,
            reason: format!(
                "not promoted (tolerance {tolerance}): {}; {figures}",
                refusals.join(", and ")
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::classifier::BinaryMetrics;

    /// Figures whose mean ham score follows the share blocked.
    fn metrics(mcc: f64, fpr: f64, spam: u64, ham: u64) -> Measured {
        Measured {
            metrics: BinaryMetrics {
                examples: spam + ham,
                spam,
                ham,
                accuracy: mcc,
                mcc,
                fpr,
                ..BinaryMetrics::default()
            },
            mean_ham_score: fpr,
        }
    }

    /// The deployed model of these tests: MCC 0.90, 2% of the ham blocked.
    fn deployed_model() -> Reference {
        Reference {
            version: "default-1".to_string(),
            figures: metrics(0.90, 0.02, 50, 50),
        }
    }

    fn slice(active: Measured, candidate: Measured) -> SliceFigures {
        SliceFigures { active, candidate }
    }

    #[test]
    fn a_candidate_whose_scores_are_not_numbers_is_refused() {
        let active = metrics(0.90, 0.05, 50, 50);
        let mut broken = metrics(0.90, 0.05, 50, 50);
        broken.mean_ham_score = f64::NAN;
        assert!(worse_on_trusted_data(&broken, &active, 0.02, "").is_some());
        // Said once, though the deployed model's bound is compared too.
        let deployed = deployed_model();
        let decision = decide(
            Some(&slice(active.clone(), broken.clone())),
            Some(&deployed),
            None,
            0.02,
        );
        assert!(!decision.promote);
        assert_eq!(
            decision.reason.matches("not numbers").count(),
            1,
            "{}",
            decision.reason
        );
        let mut broken_corrections = metrics(0.0, 0.0, 0, 10);
        broken_corrections.metrics.accuracy = f64::NAN;
        let corrections = slice(metrics(0.0, 0.0, 0, 10), broken_corrections);
        let decision = decide(None, None, Some(&corrections), 0.02);
        assert!(!decision.promote, "{decision:?}");
    }

    #[test]
    fn an_equal_or_better_candidate_is_promoted() {
        let base = slice(metrics(0.90, 0.05, 50, 50), metrics(0.91, 0.05, 50, 50));
        let decision = decide(Some(&base), None, None, 0.02);
        assert!(decision.promote, "{decision:?}");
        assert!(decision.reason.contains("MCC 0.910 (active 0.900)"));
    }

    #[test]
    fn blocking_more_base_ham_than_the_tolerance_is_refused_with_the_figures() {
        let base = slice(metrics(0.90, 0.02, 50, 50), metrics(0.89, 0.10, 50, 50));
        let decision = decide(Some(&base), None, None, 0.02);
        assert!(!decision.promote);
        assert!(
            decision.reason.contains("blocks 10.0%") && decision.reason.contains("2.0%"),
            "{}",
            decision.reason
        );
        // Finding the ham more suspicious is refused even when no more of
        // it crosses the line.
        let mut suspicious = metrics(0.9, 0.02, 50, 50);
        suspicious.mean_ham_score = 0.2;
        let decision = decide(
            Some(&slice(metrics(0.9, 0.02, 50, 50), suspicious)),
            None,
            None,
            0.02,
        );
        assert!(!decision.promote);
        assert!(
            decision.reason.contains("on average"),
            "{}",
            decision.reason
        );
        // Within the tolerance it passes.
        let close = slice(metrics(0.90, 0.02, 50, 50), metrics(0.89, 0.035, 50, 50));
        assert!(decide(Some(&close), None, None, 0.02).promote);
    }

    #[test]
    fn corrections_of_one_class_are_judged_by_accuracy() {
        let base = slice(metrics(0.9, 0.02, 50, 50), metrics(0.9, 0.02, 50, 50));
        let worse = slice(metrics(0.8, 0.0, 10, 0), metrics(0.5, 0.0, 10, 0));
        let decision = decide(Some(&base), None, Some(&worse), 0.02);
        assert!(!decision.promote);
        assert!(decision.reason.contains("accuracy"), "{}", decision.reason);
    }

    #[test]
    fn no_evaluation_data_means_no_promotion() {
        assert!(!decide(None, None, None, 0.02).promote);
    }

    #[test]
    fn small_steps_may_not_walk_away_from_the_deployed_model() {
        let deployed = deployed_model();
        // Each step within the tolerance of the model it replaces, but the
        // third ends 3 points of ham blocked above the deployed model.
        let mut active = deployed.figures.clone();
        let mut promoted = Vec::new();
        for step in 1..=3 {
            let candidate = metrics(0.90, 0.02 + 0.015 * f64::from(step), 50, 50);
            let decision = decide(
                Some(&slice(active.clone(), candidate.clone())),
                Some(&deployed),
                None,
                0.02,
            );
            promoted.push(decision.promote);
            if decision.promote {
                active = candidate;
            } else {
                assert!(
                    decision.reason.contains("deployed model default-1"),
                    "{}",
                    decision.reason
                );
            }
        }
        assert_eq!(promoted, vec![true, false, false]);
    }

    #[test]
    fn a_refusal_on_both_comparisons_names_each_reference_once() {
        let deployed = deployed_model();
        let active = metrics(0.90, 0.03, 50, 50);
        let candidate = metrics(0.90, 0.10, 50, 50);
        let decision = decide(Some(&slice(active, candidate)), Some(&deployed), None, 0.02);
        assert!(!decision.promote);
        let reason = &decision.reason;
        assert_eq!(
            reason.matches("on the base corpus the candidate").count(),
            1,
            "{reason}"
        );
        assert!(
            reason.contains("blocks 10.0% of the evaluation ham against the active model's 3.0%"),
            "{reason}"
        );
        assert!(
            reason.contains("blocks 10.0% of the evaluation ham against the bound of 4.0%"),
            "{reason}"
        );
        assert!(
            reason.contains(
                "(each bound the deployed model default-1's figure within the tolerance, or the \
                 active model's where that is further off)"
            ),
            "{reason}"
        );
    }

    #[test]
    fn a_model_already_far_from_the_deployed_one_may_learn_but_not_drift_further() {
        let deployed = deployed_model();
        // A version activated by hand that blocks 10% of the base ham.
        let active = metrics(0.85, 0.10, 50, 50);
        let better = metrics(0.86, 0.09, 50, 50);
        let worse = metrics(0.85, 0.11, 50, 50);
        let decide_on = |candidate: &Measured| {
            decide(
                Some(&slice(active.clone(), candidate.clone())),
                Some(&deployed),
                None,
                0.02,
            )
        };
        assert!(decide_on(&better).promote, "{}", decide_on(&better).reason);
        // Within the tolerance of the active version, but further from the
        // deployed one than the active version already is.
        let refused = decide_on(&worse);
        assert!(!refused.promote);
        assert!(
            refused.reason.contains("deployed model"),
            "{}",
            refused.reason
        );
    }
}
