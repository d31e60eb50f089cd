//! `moderato retrain` and `moderato models list|activate`: retraining jobs
//! and the model registry of a running server, for operators (an admin
//! key).

use std::time::Duration;

use clap::Subcommand;

use super::queue::RemoteArgs;
use super::CliError;
use crate::grpc::training_client::{Figures, JobView, ModelView, TrainingConnection};

/// How often a waiting `retrain` asks for the job's progress.
const POLL_INTERVAL: Duration = Duration::from_millis(500);

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// List the registered versions, newest first; `*` marks the active one.
    List {
        #[command(flatten)]
        remote: RemoteArgs,
    },
    /// Serve a registered version from now on (roll back or forward).
    Activate {
        #[command(flatten)]
        remote: RemoteArgs,
        /// The version to serve (as `models list` prints it).
        version: String,
    },
}

pub fn retrain(
    remote: RemoteArgs,
    full: bool,
    dry_run: bool,
    no_wait: bool,
) -> Result<(), CliError> {
    super::async_runtime(tokio::runtime::Builder::new_current_thread())?.block_on(async move {
        let mut connection = TrainingConnection::connect(&remote.target()?).await?;
        let mut job = connection.start_retrain(full, dry_run).await?;
        say!("retrain job {} {}", job.job_id, job.state);
        if no_wait {
            return Ok(());
        }
        let mut last_percent = -1;
        while !job.finished() {
            tokio::time::sleep(POLL_INTERVAL).await;
            job = connection.job(&job.job_id).await?;
            let percent = (job.progress * 100.0).round() as i64;
            if percent != last_percent {
                eprintln!("{} {percent}%", job.state);
                last_percent = percent;
            }
        }
        print_job(&job);
        if job.state == "failed" {
            return Err(CliError::JobFailed {
                job_id: job.job_id,
                message: job.message,
            });
        }
        Ok(())
    })
}

fn figures_line(figures: Option<Figures>) -> String {
    match figures {
        Some(f) => format!(
            "MCC {:.3}, ham blocked {:.1}%, AUC {:.3} on {} examples",
            f.mcc,
            f.fpr * 100.0,
            f.auc,
            f.examples
        ),
        None => "not measured".to_string(),
    }
}

fn print_job(job: &JobView) {
    say!("job {}: {}", job.job_id, job.state);
    if !job.candidate_version.is_empty() {
        say!(
            "candidate {} ({} training examples): {}",
            job.candidate_version,
            job.examples,
            figures_line(job.candidate)
        );
        say!(
            "active    {}: {}",
            job.active_version,
            figures_line(job.active)
        );
    }
    say!("promoted: {}", if job.promoted { "yes" } else { "no" });
    say!("{}", job.message);
}

fn model_line(model: &ModelView) -> String {
    let serving = if model.active && model.serving_version != model.version {
        format!(" (serving {})", model.serving_version)
    } else {
        String::new()
    };
    format!(
        "{} {}{}  {} examples  {}  from {}",
        if model.active { "*" } else { " " },
        model.version,
        serving,
        model.examples,
        figures_line(model.figures),
        model.origin
    )
}

pub fn models(command: ModelsCommand) -> Result<(), CliError> {
    super::async_runtime(tokio::runtime::Builder::new_current_thread())?.block_on(async move {
        match command {
            ModelsCommand::List { remote } => {
                let mut connection = TrainingConnection::connect(&remote.target()?).await?;
                for model in connection.models().await? {
                    say!("{}", model_line(&model));
                }
            }
            ModelsCommand::Activate { remote, version } => {
                let mut connection = TrainingConnection::connect(&remote.target()?).await?;
                let model = connection.activate(&version).await?;
                say!("{}", model_line(&model));
            }
        }
        Ok(())
    })
}
