//! The commands of the `moderato` binary. `main.rs` parses the flags into
//! [`Command`] and calls [`run`]; each command lives in its own file.

/// Prints a line of a command's output on standard output, like `println!`,
/// but a reader that stopped reading (`moderato eval | head`) ends the
/// command quietly instead of with a panic.
macro_rules! say {
    () => {
        $crate::cli::write_line(format_args!(""))
    };
    ($($argument:tt)*) => {
        $crate::cli::write_line(format_args!($($argument)*))
    };
}

mod check;
mod cross_validation;
mod eval;
mod export;
mod forget;
mod keys;
mod models;
mod output;
mod queue;
mod serve;
mod train;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::auth::Role;
use crate::classifier::ClassifierError;
use crate::config::{ConfigError, Overrides};
use crate::domain::{check_site_id, PostContext};
use crate::evaluation::GLOBAL_RULES_ONLY;
use crate::rules::Rules;
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
        #[arg(long, env = CONFIG_VARIABLE)]
        config: Option<String>,
        /// Address to listen on [default: 127.0.0.1:50051].
        #[arg(long, env = "MODERATO_LISTEN")]
        listen: Option<String>,
        /// Directory of the database and the first-start admin token [default: ./data].
        #[arg(long, env = "MODERATO_DATA_DIR")]
        data_dir: Option<String>,
        /// Serve the moderator web console on this address.
        #[arg(long)]
        console: Option<String>,
        /// Serve the Prometheus metrics on this address.
        #[arg(long)]
        metrics: Option<String>,
    },
    /// Train a model from labelled files.
    Train {
        /// Labelled file (TSV `label<TAB>text`, YouTube CSV, or JSON Lines); repeatable.
        #[arg(long = "data", required = true)]
        data: Vec<PathBuf>,
        /// Where to write the model (JSON).
        #[arg(long)]
        out: PathBuf,
        /// The name model versions start with [default: the output file's stem, with each run of characters other than ASCII letters, digits and _ made one -, and no - at either end].
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        training: TrainingFlags,
    },
    /// Cross-validate the training procedure on labelled files.
    Cv {
        /// Labelled file (TSV `label<TAB>text`, YouTube CSV, or JSON Lines); repeatable.
        #[arg(long = "data", required = true)]
        data: Vec<PathBuf>,
        /// One fold per group (the YouTube VIDEO_NAME): leave-one-video-out.
        // Refused beside --folds rather than ignoring it: the operator who
        // typed a number of folds would read figures made some other way.
        #[arg(long, conflicts_with = "folds")]
        by_group: bool,
        /// Number of interleaved folds (not with --by-group, which makes one per group).
        #[arg(long, default_value_t = 5)]
        folds: usize,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        training: TrainingFlags,
    },
    /// Score labelled files through the whole pipeline and print the figures.
    Eval {
        /// Labelled file (TSV `label<TAB>text`, YouTube CSV, or JSON Lines); repeatable.
        #[arg(long = "data", required = true)]
        data: Vec<PathBuf>,
        /// Model file [default: the configuration's `model`, else the built-in model].
        #[arg(long)]
        model: Option<PathBuf>,
        /// Configuration whose model, thresholds and rules to apply [default: review 0.5, reject 0.9, default rules].
        // Only from the flag, not from MODERATO_CONFIG: a shell that exports
        // the service's configuration must not change the figures of
        // `eval` (operations.md: "without --model, the default model").
        #[arg(long)]
        config: Option<String>,
        /// Score the comments as posted on this site, so that its
        /// `[rules.sites."SITE"]` table applies [default: the global rules alone].
        #[arg(long)]
        site: Option<String>,
        /// Score with the model alone, without the rules.
        #[arg(long)]
        no_rules: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Also draw precision, recall and ham blocked against the
        /// threshold into this PNG file.
        #[arg(long)]
        plot: Option<PathBuf>,
    },
    /// Score one comment offline and print the verdict, score and reasons.
    Check {
        /// Model file [default: the configuration's `model`, else the built-in model].
        #[arg(long)]
        model: Option<PathBuf>,
        /// Configuration whose model, thresholds and rules to apply [default: review 0.5, reject 0.9, default rules].
        // Only from the flag, as for `eval`.
        #[arg(long)]
        config: Option<String>,
        /// Score the comment as posted on this site, so that its
        /// `[rules.sites."SITE"]` table applies [default: the global rules alone].
        #[arg(long)]
        site: Option<String>,
        #[command(flatten)]
        author: check::AuthorArgs,
        /// The title of the post the comment is under, as a site sends it
        /// in `context.post_title` (`on_topic` reads it).
        #[arg(long)]
        title: Option<String>,
        /// The comment; read from standard input when absent. One that
        /// begins with `-` goes after `--` (`check -- "-1 for this"`).
        // Not `allow_hyphen_values`: a mistyped flag would then be scored
        // as the comment, silently.
        text: Option<String>,
    },
    /// Work the review queue of a running server.
    Queue {
        #[command(subcommand)]
        command: queue::QueueCommand,
    },
    /// Write every comment people labelled on a running server (its latest
    /// label) as JSON Lines that `train`, `eval` and `cv` read.
    Export {
        #[command(flatten)]
        remote: queue::RemoteArgs,
        /// Only this site [default: every site the key may moderate].
        #[arg(long)]
        site: Option<String>,
        /// The file to write (replaced once the export is complete).
        #[arg(long)]
        out: PathBuf,
    },
    /// Delete what a running server keeps of comments (a site deleted
    /// them, or their author asked to be forgotten), with a site's or an
    /// admin's key.
    Forget {
        #[command(flatten)]
        remote: queue::RemoteArgs,
        /// The comments' site [default: the site key's only site; required
        /// with an admin key].
        #[arg(long)]
        site: Option<String>,
        /// The ids of the comments, as the site sent them.
        #[arg(required = true)]
        comment_ids: Vec<String>,
    },
    /// Retrain the model of a running server: build a candidate from the
    /// base corpus and people's corrections, measure it against the active
    /// model and promote it if it is not worse. Waits for the job and
    /// prints its figures.
    Retrain {
        #[command(flatten)]
        remote: queue::RemoteArgs,
        /// Rebuild from the base corpus and every correction, instead of
        /// adding the new corrections to the active model.
        #[arg(long)]
        full: bool,
        /// Train and evaluate, but do not promote.
        #[arg(long)]
        dry_run: bool,
        /// Print the job id and return at once.
        #[arg(long)]
        no_wait: bool,
        /// Start no job: follow this one (a job id as `--no-wait` or a
        /// refused start printed it, or a scheduled retrain's from the
        /// log) until it ends, and print its figures.
        #[arg(long, conflicts_with_all = ["full", "dry_run", "no_wait"])]
        job: Option<String>,
    },
    /// The model registry of a running server.
    Models {
        #[command(subcommand)]
        command: models::ModelsCommand,
    },
    /// Manage API keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

/// Overrides of the default training parameters, for experiments.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TrainingFlags {
    /// Smoothing of feature counts.
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Leave out features seen in fewer training texts.
    #[arg(long)]
    pub min_document_frequency: Option<usize>,
    /// Word pairs on or off.
    #[arg(long)]
    pub word_pairs: Option<bool>,
    /// Character n-gram sizes as MIN-MAX, with 1 <= MIN <= MAX (0-0 turns them off).
    #[arg(long)]
    pub char_ngrams: Option<String>,
    /// Count features once per comment (true) or every time (false).
    #[arg(long)]
    pub binary: Option<bool>,
    /// Whole-comment signals on or off.
    #[arg(long)]
    pub signals: Option<bool>,
    /// Scale feature values by 1/sqrt(feature count).
    #[arg(long)]
    pub normalize_length: Option<bool>,
    /// The event model: multinomial or bernoulli.
    #[arg(long)]
    pub event_model: Option<String>,
    /// Count words outside the vocabulary as one feature.
    #[arg(long)]
    pub unknown_words: Option<bool>,
    /// A signal for links to another site than the comment's own.
    #[arg(long)]
    pub other_site_links: Option<bool>,
    /// Also count the first N characters of each longer word (0 turns it off).
    #[arg(long)]
    pub word_beginnings: Option<usize>,
    /// Train on each example once (true), or on every copy (false).
    #[arg(long)]
    pub distinct_examples: Option<bool>,
    /// The value of each word where it occurs (1 counts a word as one
    /// feature; the Bernoulli event model takes 1 whatever is given).
    #[arg(long)]
    pub word_weight: Option<f64>,
    /// The value of each whole-comment signal where it holds (1 counts a
    /// signal as one feature; the Bernoulli event model takes 1).
    #[arg(long)]
    pub signal_weight: Option<f64>,
}

impl TrainingFlags {
    /// The default parameters with these overrides applied.
    pub fn apply(
        &self,
        mut params: crate::classifier::TrainingParams,
    ) -> Result<crate::classifier::TrainingParams, CliError> {
        if let Some(alpha) = self.alpha {
            params.alpha = alpha;
        }
        if let Some(event_model) = &self.event_model {
            params.event_model = match event_model.as_str() {
                "multinomial" => crate::classifier::EventModel::Multinomial,
                "bernoulli" => crate::classifier::EventModel::Bernoulli,
                other => {
                    return Err(CliError::Usage(format!(
                        "--event-model {other:?} is neither multinomial nor bernoulli"
                    )))
                }
            };
        }
        if let Some(frequency) = self.min_document_frequency {
            params.min_document_frequency = frequency;
        }
        if let Some(distinct) = self.distinct_examples {
            params.distinct_examples = distinct;
        }
        let features = &mut params.features;
        if let Some(word_pairs) = self.word_pairs {
            features.word_pairs = word_pairs;
        }
        if let Some(range) = &self.char_ngrams {
            let parsed = range
                .split_once('-')
                .and_then(|(low, high)| Some((low.parse().ok()?, high.parse().ok()?)));
            let (low, high) = parsed.ok_or_else(|| {
                CliError::Usage(format!(
                    "--char-ngrams {range:?} is not MIN-MAX, such as 3-5"
                ))
            })?;
            features.char_ngram_min = low;
            features.char_ngram_max = high;
        }
        if let Some(binary) = self.binary {
            features.binary = binary;
        }
        if let Some(signals) = self.signals {
            features.signals = signals;
        }
        if let Some(normalize) = self.normalize_length {
            features.normalize_length = normalize;
        }
        if let Some(unknown_words) = self.unknown_words {
            features.unknown_words = unknown_words;
        }
        if let Some(other_site_links) = self.other_site_links {
            features.other_site_links = other_site_links;
        }
        if let Some(beginnings) = self.word_beginnings {
            features.word_beginnings = beginnings;
        }
        if let Some(weight) = self.word_weight {
            features.word_weight = weight;
        }
        if let Some(weight) = self.signal_weight {
            features.signal_weight = weight;
        }
        Ok(params)
    }
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a fresh token once, and the TOML block to paste into the config.
    New {
        /// What the key may do: `site` checks comments of its site, `moderator` works the review queue of its sites (or all), `admin` everything.
        #[arg(long, value_enum)]
        role: RoleArg,
        /// A site the key belongs to (site keys) or may moderate; repeatable.
        #[arg(long = "site")]
        sites: Vec<String>,
        /// The key's name in logs and audit entries [default: the role, the first site and the start of the token's hash].
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

/// The examples of the labelled files `data`, refused when there are none:
/// figures over no comment would read as a measurement (of 0s), so a
/// command that would `purpose` them says there is nothing to do.
fn labelled_examples(
    data: &[PathBuf],
    purpose: &str,
) -> Result<Vec<crate::classifier::LabelledExample>, CliError> {
    let mut examples = Vec::new();
    for path in data {
        examples.extend(crate::classifier::read_labelled_file(path)?);
    }
    if examples.is_empty() {
        let files: Vec<String> = data.iter().map(|path| path.display().to_string()).collect();
        return Err(CliError::Usage(format!(
            "no labelled comment in {}: nothing to {purpose}",
            files.join(", ")
        )));
    }
    Ok(examples)
}

/// The environment variable that names the configuration file.
const CONFIG_VARIABLE: &str = "MODERATO_CONFIG";

/// A flag's or environment variable's value, unless it is blank: an
/// environment file often sets a variable to nothing, which means "not
/// set", not an address that does not parse or a directory named "  ".
/// (Paths are read as text for this: clap refuses a blank path with a
/// message naming the flag, which the operator may never have typed.)
fn given(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.trim().is_empty())
}

/// [`given`] for a flag that falls back to the environment `variable`:
/// clap reads the variable only when the flag is absent, so a blank flag
/// (which counts as not set) would otherwise hide a variable that is set.
fn given_or_variable(value: Option<String>, variable: &str) -> Option<String> {
    given(value).or_else(|| given(std::env::var(variable).ok()))
}

/// Checks training parameters that come from a command's flags. A value
/// they refuse is a misuse of the command, as a value clap refuses is: exit
/// status 2, with the flag named as the user typed it.
fn checked_flags(
    params: crate::classifier::TrainingParams,
) -> Result<crate::classifier::ValidTrainingParams, CliError> {
    params.check().map_err(flag_error)
}

/// A classifier error, as a usage error naming the flag when a flag's value
/// caused it (see [`checked_flags`]).
fn flag_error(error: ClassifierError) -> CliError {
    match error {
        ClassifierError::InvalidParameter { name, message } => {
            let flag = format!("--{}", name.replace('_', "-"));
            CliError::Usage(format!("{flag}: {message}"))
        }
        other @ (ClassifierError::Read { .. }
        | ClassifierError::Write { .. }
        | ClassifierError::DataFormat { .. }
        | ClassifierError::ModelFormat { .. }
        | ClassifierError::Training(_)
        | ClassifierError::Evaluation(_)) => CliError::Classifier(other),
    }
}

/// Errors of the commands, printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Classifier(#[from] ClassifierError),
    /// A model named by the configuration, not by a flag, did not load.
    #[error("{context}: {source}")]
    ConfiguredModel {
        context: String,
        source: ClassifierError,
    },
    #[error(transparent)]
    Server(#[from] ServerError),
    /// A file the configuration names could not be used: the configuration
    /// file is named too, since that is where the operator will look.
    #[error("{source} (set in {file})")]
    InConfigurationFile { file: String, source: ServerError },
    /// `listener` says which: gRPC, the console, the metrics.
    #[error("cannot listen for {listener} on {address}: {source}")]
    Bind {
        listener: &'static str,
        address: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Remote(#[from] crate::grpc::client::ClientError),
    #[error("cannot serve the console over TLS: {0}")]
    ConsoleTls(crate::console::ConsoleTlsError),
    #[error("{0}")]
    NothingToExport(String),
    #[error("{0}")]
    Interrupted(String),
    #[error("{0}")]
    Usage(String),
    #[error("retrain job {job_id} failed: {message}")]
    JobFailed { job_id: String, message: String },
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
            console,
            metrics,
        } => serve::serve(
            given_or_variable(config, CONFIG_VARIABLE).map(PathBuf::from),
            Overrides {
                listen: given_or_variable(listen, "MODERATO_LISTEN"),
                data_dir: given_or_variable(data_dir, "MODERATO_DATA_DIR").map(PathBuf::from),
                console_listen: given(console),
                metrics_listen: given(metrics),
            },
        ),
        Command::Train {
            data,
            out,
            name,
            training,
        } => train::train(&data, &out, name, &training),
        Command::Cv {
            data,
            by_group,
            folds,
            json,
            training,
        } => cross_validation::cross_validate(&data, by_group, folds, json, &training),
        Command::Eval {
            data,
            model,
            config,
            site,
            no_rules,
            json,
            plot,
        } => eval::eval(
            &data,
            model.as_deref(),
            given(config).map(PathBuf::from).as_deref(),
            site.as_deref(),
            no_rules,
            json,
            plot.as_deref(),
        ),
        Command::Check {
            model,
            config,
            site,
            author,
            title,
            text,
        } => check::check(
            model.as_deref(),
            given(config).map(PathBuf::from).as_deref(),
            site.as_deref(),
            author.into(),
            PostContext {
                post_title: title.unwrap_or_default(),
                ..PostContext::default()
            },
            text,
        ),
        Command::Queue { command } => queue::queue(command),
        Command::Export { remote, site, out } => export::export(remote, site, out),
        Command::Forget {
            remote,
            site,
            comment_ids,
        } => forget::forget(remote, site, comment_ids),
        Command::Retrain {
            remote,
            full,
            dry_run,
            no_wait,
            job,
        } => models::retrain(remote, full, dry_run, no_wait, job),
        Command::Models { command } => models::models(command),
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

/// The configuration an offline command (`eval`, `check`) applies; when
/// there is one, standard error names it, beside the figures it changes.
fn offline_config(path: Option<&std::path::Path>) -> Result<crate::config::Config, CliError> {
    if let Some(path) = path {
        eprintln!("configuration: {}", path.display());
    }
    Ok(crate::config::Config::load(path, &Overrides::default())?)
}

/// The site id an offline command scores its comments under: the `--site`
/// given, checked as the service checks a comment's site (a site id that
/// could not be sent could have no table either), else
/// [`GLOBAL_RULES_ONLY`], which no site table can have, so that the global
/// rules alone apply.
fn offline_site(site: Option<&str>) -> Result<&str, CliError> {
    match site {
        Some(site) => {
            check_site_id(site).map_err(|reason| CliError::Usage(format!("--site {reason}")))?;
            Ok(site)
        }
        None => Ok(GLOBAL_RULES_ONLY),
    }
}

/// Whether the configuration has a `[rules.sites."<site>"]` table for
/// `site`. `Rules::for_site` answers a site without a table with the
/// global set itself, the one [`GLOBAL_RULES_ONLY`] gets, so the two are
/// the same set exactly when the site has no table.
fn has_site_rules(rules: &Rules, site: &str) -> bool {
    !std::ptr::eq(rules.for_site(site), rules.for_site(GLOBAL_RULES_ONLY))
}

/// The model an offline command uses, as `serve` would: the file given
/// with `--model`, else the configuration's `model`, else the built-in
/// default. A configured model that does not load is named as such: the
/// operator named the configuration, not the model, and its relative
/// paths are read from the working directory.
fn load_model(
    flag: Option<&std::path::Path>,
    config: &crate::config::Config,
    config_path: Option<&std::path::Path>,
) -> Result<crate::classifier::Model, CliError> {
    use crate::classifier::Model;
    if let Some(path) = flag {
        return Ok(Model::load(path)?);
    }
    let Some(path) = config.model.as_deref() else {
        return Ok(Model::embedded_default()?);
    };
    Model::load(path).map_err(|source| {
        let working_directory = std::env::current_dir()
            .map(|directory| format!(", read from {}", directory.display()))
            .unwrap_or_default();
        CliError::ConfiguredModel {
            context: format!(
                "the configuration's model (`model` in {}{working_directory})",
                config_path.map_or("the configuration".into(), |path| path
                    .display()
                    .to_string()),
            ),
            source,
        }
    })
}

/// Prints a report as one pretty JSON object.
fn print_json(report: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(report).map_err(|error| CliError::Io {
        context: "cannot write the report".to_string(),
        source: std::io::Error::other(error),
    })?;
    say!("{text}");
    Ok(())
}

/// Builds a tokio runtime with IO and timers from `builder`.
fn async_runtime(
    mut builder: tokio::runtime::Builder,
) -> Result<tokio::runtime::Runtime, CliError> {
    builder.enable_all().build().map_err(|source| CliError::Io {
        context: "cannot start the async runtime".to_string(),
        source,
    })
}

/// Writes one line to standard output; see `say!`.
fn write_line(line: std::fmt::Arguments) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(error) = writeln!(stdout, "{line}") {
        if error.kind() == std::io::ErrorKind::BrokenPipe {
            // The reader has all it wanted; the rest would go nowhere.
            std::process::exit(0);
        }
        eprintln!("error: cannot write to standard output: {error}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classifier::TrainingParams;

    /// The error clap gives for these arguments, as printed.
    fn refusal(arguments: &[&str]) -> String {
        use clap::Parser;
        match Cli::try_parse_from(arguments) {
            Ok(parsed) => panic!("{arguments:?} parsed: {parsed:?}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn queue_resolve_needs_one_label_and_says_which_it_takes() {
        let neither = refusal(&["moderato", "queue", "resolve", "d1"]);
        assert!(
            neither.contains("--spam") && neither.contains("--ham"),
            "{neither}"
        );
        let both = refusal(&["moderato", "queue", "resolve", "d1", "--spam", "--ham"]);
        assert!(both.contains("cannot be used with"), "{both}");
        use clap::CommandFactory;
        let mut command = Cli::command();
        let help = command
            .find_subcommand_mut("queue")
            .and_then(|queue| queue.find_subcommand_mut("resolve"))
            .unwrap()
            .render_long_help()
            .to_string();
        assert!(!help.contains("[default: \"\"]"), "{help}");
        assert!(help.contains("[default: the key's name]"), "{help}");
        assert!(help.contains("Label them spam"), "{help}");
    }

    /// The training parameters `--char-ngrams RANGE` gives, checked.
    fn checked_char_ngrams(range: &str) -> Result<(), ClassifierError> {
        let flags = TrainingFlags {
            char_ngrams: Some(range.to_string()),
            ..TrainingFlags::default()
        };
        let params = match flags.apply(TrainingParams::default()) {
            Ok(params) => params,
            Err(error) => panic!("{range} is MIN-MAX: {error}"),
        };
        params.check().map(drop)
    }

    #[test]
    fn a_weight_out_of_range_is_blamed_on_its_flag() {
        for (flags, flag) in [
            (
                TrainingFlags {
                    word_weight: Some(0.0),
                    ..TrainingFlags::default()
                },
                "--word-weight",
            ),
            (
                TrainingFlags {
                    signal_weight: Some(1000.0),
                    ..TrainingFlags::default()
                },
                "--signal-weight",
            ),
        ] {
            let params = flags.apply(TrainingParams::default()).unwrap();
            match checked_flags(params) {
                Err(CliError::Usage(message)) => {
                    assert!(message.starts_with(&format!("{flag}: ")), "{message}");
                    assert!(message.contains("must be from 0.01 to 100"), "{message}");
                }
                other => panic!("{flag}: {other:?}"),
            }
        }
    }

    #[test]
    fn character_ngrams_up_to_zero_are_refused_unless_both_are_zero() {
        assert!(checked_char_ngrams("0-0").is_ok());
        assert!(checked_char_ngrams("3-5").is_ok());
        for range in ["3-0", "1-0", "0-3", "5-3"] {
            let message = match checked_char_ngrams(range) {
                Err(error) => error.to_string(),
                Ok(()) => panic!("--char-ngrams {range} was accepted"),
            };
            assert!(
                message.contains(&format!("character n-grams {range}")),
                "{message}"
            );
            assert!(message.contains("0-0 turns them off"), "{message}");
        }
    }

    #[test]
    fn an_offline_site_is_checked_and_no_site_means_the_global_rules() {
        assert_eq!(
            offline_site(Some("news.example")).ok(),
            Some("news.example")
        );
        assert_eq!(offline_site(None).ok(), Some(GLOBAL_RULES_ONLY));
        for bad in ["", "bad site"] {
            match offline_site(Some(bad)) {
                Err(CliError::Usage(message)) => {
                    assert!(message.starts_with("--site "), "{message}")
                }
                other => panic!("--site {bad:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn only_a_site_with_a_table_has_rules_of_its_own() {
        let config = crate::config::Config::from_toml(
            "test",
            "[rules.sites.\"news.example\"]\nblocked_terms = [\"casino\"]\n",
            &Overrides::default(),
        )
        .unwrap_or_else(|error| panic!("{error}"));
        assert!(has_site_rules(&config.rules, "news.example"));
        assert!(!has_site_rules(&config.rules, "blog.example"));
        assert!(!has_site_rules(&config.rules, GLOBAL_RULES_ONLY));
    }
}
