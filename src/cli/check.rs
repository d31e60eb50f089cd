//! `moderato check`: one comment, scored offline.

use std::io::Read;
use std::path::Path;

use super::{load_model, CliError};
use crate::domain::{Comment, UnixMillis};
use crate::rules::Context;
use crate::verdict::decide_with_rules;

pub fn check(
    model: Option<&Path>,
    config: Option<&Path>,
    text: Option<String>,
) -> Result<(), CliError> {
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
            text
        }
    };
    let config = super::offline_config(config)?;
    // As `serve` would: the model named by --model, else the config's.
    let model = load_model(model.or(config.model.as_deref()))?;
    let comment = Comment {
        site_id: "cli".to_string(),
        comment_id: "cli".to_string(),
        content: text,
        author: Default::default(),
        context: Default::default(),
        submitted_at: UnixMillis::now(),
        form: Default::default(),
    };
    // Offline there is no history: the rules see the text alone, as in eval.
    let evaluation = config
        .rules
        .for_site(&comment.site_id)
        .evaluate(&comment, &Context::stateless(comment.submitted_at));
    let assessment = decide_with_rules(&model, &config.thresholds, &comment, &evaluation);
    say!(
        "verdict {:?}  score {:.3}  spam probability {:.3}  priority {:?}  model {}",
        assessment.verdict,
        assessment.score,
        assessment.spam_probability,
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
