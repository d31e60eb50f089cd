//! The commands of the `moderato` binary. `main.rs` parses the flags into
//! [`Command`] and calls [`run`]; each command lives in its own file.

mod check;
mod eval;
mod keys;
mod queue;
mod serve;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::auth::Role;
use crate::classifier::ClassifierError;
use crate::config::ConfigError;
use crate::server::ServerError;

#[derive(Debug, Parser)]
#[command(
    name = "moderato",
    version,
    about = "Comment moderation and spam filtering over gRPC"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gRPC service.
    Serve {
        /// TOML configuration file.
        #[arg(long, env = "MODERATO_CONFIG")]
        config: Option<PathBuf>,
        /// Address to listen on [default: 127.0.0.1:50051].
        #[arg(long, env = "MODERATO_LISTEN")]
        listen: Option<String>,
        /// Directory of the database and the first-start admin token [default: ./data].
        #[arg(long, env = "MODERATO_DATA_DIR")]
        data_dir: Option<PathBuf>,
    },
    /// Train a model from labelled files.
    Train {
        /// Labelled file (TSV `label<TAB>text`, YouTube CSV, or JSON Lines); repeatable.
        #[arg(long = "data", required = true)]
        data: Vec<PathBuf>,
        /// Where to write the model (JSON).
        #[arg(long)]
        out: PathBuf,
        /// The name model versions start with [default: the output file's stem].
        #[arg(long)]
        name: Option<String>,
    },
    /// Score labelled files through the whole pipeline and print the figures.
    Eval {
        #[arg(long = "data", required = true)]
        data: Vec<PathBuf>,
        /// Model file [default: the built-in model].
        #[arg(long)]
        model: Option<PathBuf>,
        /// Configuration whose thresholds to apply [default: review 0.5, reject 0.9].
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Score one comment offline and print the verdict, score and reasons.
    Check {
        #[arg(long)]
        model: Option<PathBuf>,
        #[arg(long)]
        config: Option<PathBuf>,
        /// The comment; read from standard input when absent.
        text: Option<String>,
    },
    /// Work the review queue of a running server.
    Queue {
        #[command(subcommand)]
        command: queue::QueueCommand,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a fresh token once, and the TOML block to paste into the config.
    New {
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A site the key belongs to (site keys) or may moderate; repeatable.
        #[arg(long = "site")]
        sites: Vec<String>,
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum RoleArg {
    Site,
    Moderator,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Site => Role::Site,
            RoleArg::Moderator => Role::Moderator,
            RoleArg::Admin => Role::Admin,
        }
    }
}

/// Errors of the commands, printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Classifier(#[from] ClassifierError),
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Remote(#[from] crate::grpc::client::ClientError),
    #[error("{0}")]
    Usage(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
}

/// Runs a command; the exit code is 0 on success, 1 on error, 2 on misuse.
pub fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve {
            config,
            listen,
            data_dir,
        } => serve::serve(config, listen, data_dir),
        Command::Train { data, out, name } => train::train(&data, &out, name),
        Command::Eval {
            data,
            model,
            config,
            json,
        } => eval::eval(&data, model.as_deref(), config.as_deref(), json),
        Command::Check {
            model,
            config,
            text,
        } => check::check(model.as_deref(), config.as_deref(), text),
        Command::Queue { command } => queue::queue(command),
        Command::Keys {
            command: KeysCommand::New { role, sites, name },
        } => keys::new_key(role.into(), sites, name),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(CliError::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The model a command should use: the file given, or the built-in default.
fn load_model(path: Option<&std::path::Path>) -> Result<crate::classifier::Model, CliError> {
    Ok(match path {
        Some(path) => crate::classifier::Model::load(path)?,
        None => crate::classifier::Model::embedded_default()?,
    })
}

/// The thresholds of a configuration file, or the defaults.
fn load_thresholds(
    config: Option<&std::path::Path>,
) -> Result<crate::verdict::Thresholds, CliError> {
    Ok(crate::config::Config::load(config, &Default::default())?.thresholds)
}
