//! `moderato check`: one comment, scored offline.

use std::io::Read;
use std::path::Path;

use super::{load_model, CliError};
use crate::domain::{Author, Comment, PostContext, UnixMillis};
use crate::rules::Context;
use crate::verdict::decide_with_rules;

/// The fields a comment form sends beside the text, as `check` takes
/// them: the rules read the name and website (`link_in_name`,
/// `author_keyword`, `blocked_domain`) and the e-mail address
/// (`blocked_email`, `blocked_domain`); the term lists read the text alone.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct AuthorArgs {
    /// The author's name, as the comment form gave it.
    #[arg(long)]
    pub name: Option<String>,
    /// The author's e-mail address.
    #[arg(long)]
    pub email: Option<String>,
    /// The author's website (the form's url field).
    #[arg(long)]
    pub website: Option<String>,
}

impl From<AuthorArgs> for Author {
    fn from(args: AuthorArgs) -> Author {
        Author {
            name: args.name.unwrap_or_default(),
            email: args.email.unwrap_or_default(),
            url: args.website.unwrap_or_default(),
            ..Author::default()
        }
    }
}

/// Scores `text` (else standard input) as a comment of `site` (`--site`)
/// by `author` under the post `context` describes (`--title`), so that the rules are those `serve` applies to that site;
/// without one, the global rules alone.
pub fn check(
    model: Option<&Path>,
    config: Option<&Path>,
    site: Option<&str>,
    author: Author,
    context: PostContext,
    text: Option<String>,
) -> Result<(), CliError> {
    // Checked before standard input is read: a misspelt flag, a missing
    // configuration or model should not wait for a comment first.
    let site_id = super::offline_site(site)?;
    let config_path = config;
    let config = super::offline_config(config)?;
    let model = load_model(model, &config, config_path)?;
    let text = match text {
        Some(text) => text,
        None => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|source| CliError::Io {
                    context: "cannot read the comment from standard input".to_string(),
                    source,
                })?;
            // `echo TEXT |` adds a line break the comment did not have,
            // which would change its length and so its score.
            without_final_line_break(text)
        }
    };
    refuse_what_serve_refuses(&text)?;
    if let Some(site) = site {
        // A site with no table of its own is scored with the global rules,
        // as `serve` would; say so, since a misspelt site looks the same.
        if !super::has_site_rules(&config.rules, site) {
            eprintln!("rules: no [rules.sites.{site:?}] table, so the global rules apply");
        }
    }
    let comment = Comment {
        site_id: site_id.to_string(),
        comment_id: "cli".to_string(),
        content: text,
        author,
        context,
        submitted_at: UnixMillis::now(),
        form: Default::default(),
    };
    // Offline there is no history: the rules see the text alone, as in eval.
    let evaluation = config
        .rules
        .for_site(&comment.site_id)
        .evaluate(&comment, &Context::stateless(comment.submitted_at));
    let assessment = decide_with_rules(
        &model,
        &config.thresholds,
        &comment,
        &config.rules.link_reading(&comment.site_id),
        &evaluation,
    );
    say!(
        "verdict {:?}  score {:.3}  spam probability {:.3}  priority {:?}  model {}",
        assessment.verdict,
        shown_score(assessment.score),
        shown_score(assessment.spam_probability),
        assessment.priority,
        assessment.model_version
    );
    for reason in &assessment.reasons {
        say!(
            "  {:+7.3}  {:<12} {}",
            reason.weight,
            reason.code,
            reason.message
        );
    }
    Ok(())
}

/// Refuses a comment the running service would refuse (INVALID_ARGUMENT),
/// an empty one or one over the size limit, so that a script that checks
/// `"$COMMENT"` with the variable unset learns so rather than reading a
/// verdict on nothing.
fn refuse_what_serve_refuses(text: &str) -> Result<(), CliError> {
    match crate::limits::content_refusal(text) {
        Some(refusal) => Err(CliError::Usage(format!(
            "the comment {refusal}: the service refuses such a comment (INVALID_ARGUMENT)"
        ))),
        None => Ok(()),
    }
}

/// A score cut (not rounded) to the three decimals shown: a score of
/// 0.8996 under `reject = 0.9` is shown as 0.899 beside its `Review`, not
/// as 0.900, which would read as the threshold reached.
fn shown_score(score: f64) -> f64 {
    let cut = (score * 1000.0).floor();
    // A score that is three decimals exactly (0.57, whose product with
    // 1000 lands a hair under 570) shows as itself, never as more.
    let next = (cut + 1.0) / 1000.0;
    if next <= score {
        next
    } else {
        cut / 1000.0
    }
}

/// `text` without one line break at its end (`\n` or `\r\n`).
fn without_final_line_break(mut text: String) -> String {
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_score_is_shown_below_a_threshold_it_did_not_reach() {
        assert_eq!(format!("{:.3}", shown_score(0.89996)), "0.899");
        assert_eq!(format!("{:.3}", shown_score(0.9)), "0.900");
        assert_eq!(format!("{:.3}", shown_score(0.9 - 1e-12)), "0.899");
        for thousandths in 0..=1000 {
            let score = f64::from(thousandths) / 1000.0;
            assert_eq!(format!("{:.3}", shown_score(score)), format!("{score:.3}"));
        }
        assert_eq!(format!("{:.3}", shown_score(1.0)), "1.000");
        assert_eq!(format!("{:.3}", shown_score(0.0)), "0.000");
    }

    #[test]
    fn one_final_line_break_is_taken_off_standard_input() {
        for (read, comment) in [
            ("Great read\n", "Great read"),
            ("Great read\r\n", "Great read"),
            ("Great read\n\n", "Great read\n"),
            ("Great read", "Great read"),
            ("\n", ""),
        ] {
            assert_eq!(without_final_line_break(read.to_string()), comment);
        }
    }
}
