//! `moderato eval`: the whole pipeline's figures on labelled files.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::output::{OutputFile, Replacement};
use super::{load_model, CliError};
use crate::evaluation::evaluate_on_site;
use crate::plot::{threshold_plot_png, ThresholdMark};

pub fn eval(
    data: &[PathBuf],
    model: Option<&Path>,
    config: Option<&Path>,
    site: Option<&str>,
    no_rules: bool,
    json: bool,
    plot: Option<&Path>,
) -> Result<(), CliError> {
    let site_id = super::offline_site(site)?;
    let config_path = config;
    let config = super::offline_config(config)?;
    // As `serve` would: the model named by --model, else the config's.
    let model_path = model.or(config.model.as_deref());
    if let Some(plot) = plot {
        // Before the evaluation: a plot that cannot be written, or that
        // would replace a file this command reads, is refused at once.
        let mut inputs: Vec<(&str, &Path)> =
            data.iter().map(|path| ("--data", path.as_path())).collect();
        let model_flag = if model.is_some() {
            "--model"
        } else {
            "configured model"
        };
        inputs.extend(model_path.map(|path| (model_flag, path)));
        inputs.extend(config_path.map(|path| ("--config", path)));
        OutputFile {
            flag: "--plot",
            path: plot,
            what: "plot",
            suggested_name: "thresholds.png",
        }
        .check(&inputs)?;
    }
    let model = load_model(model, &config, config_path)?;
    let mut examples = super::labelled_examples(data, "evaluate")?;
    // The service refuses an empty comment and one over the size limit:
    // the figures are of the comments it would score.
    let read = examples.len();
    examples.retain(|example| crate::limits::content_refusal(&example.text).is_none());
    if examples.len() < read {
        eprintln!(
            "eval: left out {} of {read} comments that the service would refuse (empty, or over \
             {} bytes)",
            read - examples.len(),
            crate::limits::MAX_CONTENT_BYTES
        );
    }
    if examples.is_empty() {
        return Err(CliError::Usage(
            "every comment of the data is one the service would refuse: nothing to evaluate"
                .to_string(),
        ));
    }
    let rules = (!no_rules).then_some(&config.rules);
    // The site's host names are the site's, not a rule: `--no-rules` keeps
    // them.
    let listed = config.rules.hosts_of(site_id);
    let report = evaluate_on_site(
        &model,
        &config.thresholds,
        rules,
        site_id,
        listed,
        &examples,
    );
    if let Some(path) = plot {
        let marks = [
            ThresholdMark {
                threshold: report.thresholds.review,
                name: "review",
            },
            ThresholdMark {
                threshold: report.thresholds.reject,
                name: "reject",
            },
        ];
        // Whole or not at all: a full disk leaves the earlier plot as it
        // was, not a cut-off image.
        let png = threshold_plot_png(&report.curve, &marks);
        Replacement::create(path, 0o644)
            .and_then(|mut replacement| {
                replacement.file().write_all(&png)?;
                replacement.commit()
            })
            .map_err(|source| CliError::Io {
                context: format!("cannot write the plot {}", path.display()),
                source,
            })?;
    }
    if json {
        return super::print_json(&report);
    }
    let binary = &report.binary;
    let verdicts = &report.verdicts;
    say!(
        "model {} {}",
        report.model_version,
        if report.rules {
            "with the rules"
        } else {
            "alone (--no-rules)"
        }
    );
    say!(
        "{} comment{}: {} spam, {} ham ({:.3} s)",
        report.n,
        if report.n == 1 { "" } else { "s" },
        report.spam,
        report.ham,
        report.seconds
    );
    // A figure that measures nothing here (MCC and AUC with one class
    // missing, recall without spam, the share of ham blocked without ham,
    // precision when nothing scored as spam):
    // the JSON keeps the contract's numbers (0 and 0.5, as scikit-learn
    // gives) and names it in `binary.undefined`; the text says so.
    let shown = |name: &str, figure: String| {
        if binary.undefined.iter().any(|undefined| undefined == name) {
            if name == "precision" {
                "undefined (nothing scored as spam)".to_string()
            } else {
                "undefined (one class only)".to_string()
            }
        } else {
            figure
        }
    };
    say!(
        "at score 0.5: MCC {}  precision {}  recall {}  F1 {}  ham blocked {}  AUC {}",
        shown("mcc", format!("{:.3}", binary.mcc)),
        shown("precision", format!("{:.3}", binary.precision)),
        shown("recall", format!("{:.3}", binary.recall)),
        shown("f1", format!("{:.3}", binary.f1)),
        shown("fpr", format!("{:.1}%", binary.fpr * 100.0)),
        shown("auc", format!("{:.3}", binary.auc)),
    );
    say!(
        "verdicts at review {} / reject {} (a rejection by score holding without {} signs):",
        report.thresholds.review,
        report.thresholds.reject,
        report.thresholds.reject_holds_without
    );
    say!(
        "  ham:  allow {:>5}  review {:>5}  reject {:>5}",
        verdicts.ham.allow,
        verdicts.ham.review,
        verdicts.ham.reject
    );
    say!(
        "  spam: allow {:>5}  review {:>5}  reject {:>5}",
        verdicts.spam.allow,
        verdicts.spam.review,
        verdicts.spam.reject
    );
    say!(
        "  ham rejected {:.1}%  spam allowed {:.1}%  sent to review {:.1}%",
        verdicts.ham_rejected_rate * 100.0,
        verdicts.spam_allowed_rate * 100.0,
        verdicts.review_rate * 100.0
    );
    if !report.rule_hits.is_empty() {
        say!("rules that fired (comments):");
        for (code, counts) in &report.rule_hits {
            say!(
                "  {code:<20} ham {:>5}  spam {:>5}",
                counts.ham,
                counts.spam
            );
        }
    }
    Ok(())
}
