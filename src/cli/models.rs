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

/// The longest pause between progress requests after the server shed them
/// (each shed request doubles the pause, up to this).
const LONGEST_POLL_INTERVAL: Duration = Duration::from_secs(8);

/// How long a waiting `retrain` keeps asking while every request is shed
/// or the server cannot be reached, before it stops waiting. The job runs
/// on in the server either way.
const GIVE_UP_AFTER: Duration = Duration::from_secs(120);

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
    follow: Option<String>,
) -> Result<(), CliError> {
    super::async_runtime(tokio::runtime::Builder::new_current_thread())?.block_on(async move {
        let mut connection = TrainingConnection::connect(&remote.target()?).await?;
        let mut job = match follow {
            Some(job_id) => connection.job(&job_id).await?,
            None => connection.start_retrain(full, dry_run).await?,
        };
        say!("retrain job {} {}", job.job_id, job.state);
        if no_wait {
            return Ok(());
        }
        let mut last_percent = -1;
        let mut pause = POLL_INTERVAL;
        let mut failing_since = None;
        while !job.finished() {
            tokio::time::sleep(pause).await;
            // A progress request shed by the server's limits (or made while
            // it cannot be reached for a moment) says nothing about the job:
            // ask again, less often, rather than report a failure while the
            // job runs on.
            job = match connection.job(&job.job_id).await {
                Ok(answer) => {
                    pause = POLL_INTERVAL;
                    failing_since = None;
                    answer
                }
                Err(error) if error.is_transient() => {
                    if failing_since.is_none() {
                        eprintln!("asking again, less often: {error}");
                    }
                    let since = *failing_since.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() >= GIVE_UP_AFTER {
                        eprintln!(
                            "stopped waiting for retrain job {}: it may still be running in the server (`moderato models list` shows what it promoted)",
                            job.job_id
                        );
                        return Err(error.into());
                    }
                    pause = (pause * 2).min(LONGEST_POLL_INTERVAL);
                    continue;
                }
                Err(error) => return Err(error.into()),
            };
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
