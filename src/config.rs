//! Configuration: the TOML file, environment overrides and flags, checked
//! into a [`Config`]. Unknown keys in the file are errors that name them.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::admission::{AdmissionParams, ValidAdmissionParams};
use crate::auth::{ApiKey, Role};
use crate::learning::{LearningParams, LearningSettings};
use crate::retention::{RetentionParams, ValidRetentionParams};
use crate::rules::{Rules, RulesConfig};
use crate::verdict::Thresholds;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
pub const DEFAULT_DATA_DIR: &str = "data";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A syntax error, a wrong type or an unknown key; the message from the
    /// TOML parser names the key and shows the line.
    #[error("config file {origin}: {message}")]
    Parse { origin: String, message: String },
    /// A value out of range or of the wrong shape, by its key; `origin`
    /// names the file it came from (none for text parsed in memory).
    #[error(
        "config {}{field}: {message}",
        .origin.as_ref().map(|origin| format!("file {origin}: ")).unwrap_or_default()
    )]
    Invalid {
        field: String,
        message: String,
        origin: Option<String>,
    },
    /// A value given by a flag or the environment rather than the file.
    #[error("{source_name}: {message}")]
    Override {
        source_name: &'static str,
        message: String,
    },
}

/// The file as written. Every table refuses keys it does not know.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    listen: Option<String>,
    data_dir: Option<PathBuf>,
    /// A model file to serve instead of the built-in default.
    model: Option<PathBuf>,
    /// The database's page cache in MiB (40 when unset, see
    /// `store::DEFAULT_CACHE_BYTES`).
    cache_mb: Option<u64>,
    /// Where the moderator web console is served.
    console_listen: Option<String>,
    /// Where the Prometheus metrics are served.
    metrics_listen: Option<String>,
    /// "text" (the default) or "json": one JSON object per log line.
    #[serde(default)]
    log_format: LogFormat,
    #[serde(default, deserialize_with = "thresholds_table")]
    thresholds: RawThresholds,
    #[serde(default, deserialize_with = "tables")]
    keys: Vec<RawKey>,
    #[serde(default, deserialize_with = "table")]
    rules: RulesConfig,
    #[serde(default, deserialize_with = "table")]
    learning: LearningParams,
    #[serde(default, deserialize_with = "table")]
    limits: AdmissionParams,
    #[serde(default, deserialize_with = "table")]
    retention: RetentionParams,
    #[serde(default, deserialize_with = "optional_table")]
    tls: Option<TlsFiles>,
}

/// A table's settings read from a table only. Serde reads a struct from an
/// array too, by position, so `thresholds = [0.01, 0.05]` would be taken
/// for `review` and `reject`, and a settings table written where a list
/// was meant (`blocked_term = ["x"]` for `blocked_terms`) would be read
/// field by field; neither is what the operator wrote.
fn table_only<'de, D, T>(deserializer: D, expecting: &'static str) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    /// Reads a table into `T` and refuses anything else, saying what it
    /// expected. The table is read through the file's own deserializer, so
    /// an error inside it keeps its line and column.
    struct TableOnly<T>(&'static str, std::marker::PhantomData<T>);

    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for TableOnly<T> {
        type Value = T;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str(self.0)
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            use serde::de::Error;
            // toml hands a date or time over as a table of one private key:
            // say what it is rather than name that key.
            T::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map_err(|error| {
                if error.to_string().contains("$__toml_private_datetime") {
                    A::Error::custom(format!("invalid type: date, expected {}", self.0))
                } else {
                    error
                }
            })
        }
    }

    deserializer.deserialize_map(TableOnly(expecting, std::marker::PhantomData))
}

/// Settings read from a table of the file, and what an error says was
/// expected there, naming the table.
pub(crate) trait SettingsTable {
    const EXPECTING: &'static str;
}

impl SettingsTable for RulesConfig {
    const EXPECTING: &'static str = "a table of rules: [rules] (or [rules.sites.\"SITE\"]) with \
                                     its keys below it, or rules = { key = value }";
}

impl SettingsTable for LearningParams {
    const EXPECTING: &'static str =
        "the table [learning] with its keys below it, or learning = { key = value }";
}

impl SettingsTable for AdmissionParams {
    const EXPECTING: &'static str =
        "the table [limits] with its keys below it, or limits = { key = value }";
}

impl SettingsTable for RetentionParams {
    const EXPECTING: &'static str =
        "the table [retention] with its keys below it, or retention = { decisions_days = N }";
}

impl SettingsTable for TlsFiles {
    const EXPECTING: &'static str =
        "the table [tls] with cert and key below it, or tls = { cert = \"…\", key = \"…\" }";
}

impl SettingsTable for RawKey {
    const EXPECTING: &'static str = "a key's table: [[keys]] with name, role and token_sha256 \
                                     below it";
}

/// Settings `T` read from a table only (see [`table_only`]): `limits = []`
/// or `retention = [5]` is refused, not read by position.
struct Table<T>(T);

impl<'de, T: Deserialize<'de> + SettingsTable> Deserialize<'de> for Table<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        table_only(deserializer, T::EXPECTING).map(Table)
    }
}

/// A table of settings, from a table only (see [`Table`]).
fn table<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + SettingsTable,
{
    Table::deserialize(deserializer).map(|Table(settings)| settings)
}

/// An optional table of settings, from a table only (see [`Table`]).
fn optional_table<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + SettingsTable,
{
    table(deserializer).map(Some)
}

/// An array of tables (`[[keys]]`), each from a table only (see
/// [`Table`]).
fn tables<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + SettingsTable,
{
    /// Reads the array, and says what each of its tables is when the file
    /// has a single table (`[keys]`) or a value where the array goes.
    struct Tables<T>(std::marker::PhantomData<T>);

    impl<'de, T: Deserialize<'de> + SettingsTable> serde::de::Visitor<'de> for Tables<T> {
        type Value = Vec<T>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str(T::EXPECTING)
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut tables: A,
        ) -> Result<Vec<T>, A::Error> {
            let mut read = Vec::new();
            while let Some(Table(settings)) = tables.next_element::<Table<T>>()? {
                read.push(settings);
            }
            Ok(read)
        }
    }

    deserializer.deserialize_seq(Tables(std::marker::PhantomData))
}

/// Tables of settings by name (`[rules.sites."news.example"]`): the whole
/// and each of them from a table only (see [`Table`]).
pub(crate) fn named_tables<'de, D, T>(
    deserializer: D,
) -> Result<std::collections::BTreeMap<String, T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de> + SettingsTable,
{
    let tables: std::collections::BTreeMap<String, Table<T>> = table_only(
        deserializer,
        "a table of sites' tables: [rules.sites.\"SITE\"] with its keys below it",
    )?;
    Ok(tables
        .into_iter()
        .map(|(name, Table(settings))| (name, settings))
        .collect())
}

/// `[thresholds]`, from a table only (see [`table_only`]).
fn thresholds_table<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<RawThresholds, D::Error> {
    table_only(
        deserializer,
        "a table with review, reject and reject_holds_without, such as { review = 0.5 }",
    )
}

/// A rule's settings, from a table only (see [`table_only`]).
pub(crate) fn rule_table<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    table_only(
        deserializer,
        "a table of the rule's settings, such as { enabled = true } (the lists' names end in s: blocked_terms)",
    )
    .map(Some)
}

/// How `serve` writes its log lines.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    #[default]
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

/// `[tls]`: serve over TLS with this certificate and key (PEM files).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsFiles {
    /// The certificate chain, server certificate first.
    pub cert: PathBuf,
    /// The private key of the certificate.
    pub key: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table with review, reject and reject_holds_without"
)]
struct RawThresholds {
    #[serde(default = "default_review")]
    review: f64,
    #[serde(default = "default_reject")]
    reject: f64,
    #[serde(default = "default_reject_holds_without")]
    reject_holds_without: usize,
}

/// The thresholds, a bad one refused naming its own key: each in (0, 1],
/// and `reject` not below `review`.
fn checked_thresholds(raw: &RawThresholds) -> Result<Thresholds, ConfigError> {
    let (review, reject) = (raw.review, raw.reject);
    // Written so that NaN is out of range too. A review threshold of 0
    // holds every comment for review; a reject threshold of 0 would reject
    // them all, which no site means.
    if !(0.0..=1.0).contains(&review) {
        return Err(invalid(
            "thresholds.review",
            format!("{review} is not a score from 0 to 1"),
        ));
    }
    let in_range = |value: f64| value > 0.0 && value <= 1.0;
    if !in_range(reject) {
        return Err(invalid(
            "thresholds.reject",
            format!("{reject} is not a score above 0 and at most 1"),
        ));
    }
    let thresholds = Thresholds::new(review, reject).map_err(|_| {
        invalid(
            "thresholds.reject",
            format!(
                "{reject} is below thresholds.review ({review}): a comment is rejected only \
                 at a score that would send it to review"
            ),
        )
    })?;
    let signs = raw.reject_holds_without;
    thresholds.with_reject_holds_without(signs).ok_or_else(|| {
        invalid(
            "thresholds.reject_holds_without",
            format!(
                "{signs} is more signs of spam than a rejection can be asked to hold without \
                 (at most {}; 0 lets the score alone decide)",
                crate::verdict::MAX_REJECT_HOLDS_WITHOUT
            ),
        )
    })
}

fn default_review() -> f64 {
    Thresholds::default().review()
}

fn default_reject() -> f64 {
    Thresholds::default().reject()
}

fn default_reject_holds_without() -> usize {
    Thresholds::default().reject_holds_without()
}

impl Default for RawThresholds {
    fn default() -> Self {
        RawThresholds {
            review: default_review(),
            reject: default_reject(),
            reject_holds_without: default_reject_holds_without(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawKey {
    name: String,
    role: Role,
    #[serde(default)]
    sites: Vec<String>,
    token_sha256: String,
}

/// Values that override the file: from the environment (`MODERATO_LISTEN`,
/// `MODERATO_DATA_DIR`) or flags, flags winning.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub console_listen: Option<String>,
    pub metrics_listen: Option<String>,
}

/// A checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub model: Option<PathBuf>,
    pub thresholds: Thresholds,
    pub keys: Vec<ApiKey>,
    pub rules: Rules,
    /// The database's page cache, in bytes.
    pub cache_bytes: u64,
    pub learning: LearningSettings,
    /// Overload protection: the `[limits]` table.
    pub admission: ValidAdmissionParams,
    /// How long decisions are kept: the `[retention]` table.
    pub retention: ValidRetentionParams,
    /// TLS, when `[tls]` is set; plain HTTP/2 otherwise (fine on loopback).
    pub tls: Option<TlsFiles>,
    /// The moderator web console, when set.
    pub console_listen: Option<SocketAddr>,
    /// The Prometheus metrics endpoint, when set.
    pub metrics_listen: Option<SocketAddr>,
    pub log_format: LogFormat,
}

impl Config {
    /// What in the file is allowed but probably not meant, for the log at
    /// the start and at each reload: a site table that no site key acts
    /// for. Site ids match exactly, case included, so a table written
    /// `[rules.sites."News.Example"]` for keys of `news.example` would
    /// silently never apply. (Admin keys may name any site, so such a table
    /// is not refused.)
    pub fn warnings(&self) -> Vec<String> {
        let site_keys: Vec<&ApiKey> = self
            .keys
            .iter()
            .filter(|key| key.role == Role::Site)
            .collect();
        if site_keys.is_empty() {
            return Vec::new();
        }
        let mut warnings: Vec<String> = self
            .rules
            .site_tables()
            .filter(|site| {
                !site_keys
                    .iter()
                    .any(|key| key.sites.iter().any(|named| named == site))
            })
            .map(|site| {
                format!(
                    "rules.sites.{site:?}: no site key acts for this site (site ids match \
                     exactly, case included), so its rules apply only to calls that name it \
                     with an admin key"
                )
            })
            .collect();
        warnings.sort();
        warnings
    }

    /// The settings a reload cannot put in force that differ in `other`,
    /// named as in the file: they take a restart. (The rules, thresholds
    /// and keys reload; see `server::reload`.)
    pub fn changes_needing_restart(&self, other: &Config) -> Vec<&'static str> {
        let mut changed = Vec::new();
        let mut compare = |name: &'static str, differs: bool| {
            if differs {
                changed.push(name);
            }
        };
        compare("listen", self.listen != other.listen);
        compare("data_dir", self.data_dir != other.data_dir);
        compare("model", self.model != other.model);
        compare("cache_mb", self.cache_bytes != other.cache_bytes);
        compare("[learning]", self.learning != other.learning);
        compare("[limits]", self.admission != other.admission);
        compare("[retention]", self.retention != other.retention);
        compare("[tls]", self.tls != other.tls);
        compare(
            "console_listen",
            self.console_listen != other.console_listen,
        );
        compare(
            "metrics_listen",
            self.metrics_listen != other.metrics_listen,
        );
        compare("log_format", self.log_format != other.log_format);
        changed
    }

    /// What a reload must say about the files this configuration names
    /// that the service reads at start only, one warning each. A file
    /// replaced at the same path (a renewed certificate, a retrained
    /// model) looks unchanged to [`Config::changes_needing_restart`],
    /// which compares paths, yet it is not the one in force.
    pub fn files_read_at_start_only(&self) -> Vec<&'static str> {
        let mut warnings = Vec::new();
        if self.tls.is_some() {
            warnings.push(
                "the TLS certificate and key are read at start only; \
                 a renewed certificate takes a restart",
            );
        }
        if self.model.is_some() {
            warnings.push(
                "the model file is read at start only; a new file at the same path takes \
                 a restart (ActivateModel, `moderato models activate`, switches among \
                 the versions already registered)",
            );
        }
        warnings
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: DEFAULT_LISTEN
                .parse()
                .expect("the default address is valid"),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            model: None,
            thresholds: Thresholds::default(),
            keys: Vec::new(),
            rules: Rules::default(),
            cache_bytes: crate::store::DEFAULT_CACHE_BYTES,
            learning: LearningSettings::default(),
            admission: ValidAdmissionParams::default(),
            retention: ValidRetentionParams::default(),
            tls: None,
            console_listen: None,
            metrics_listen: None,
            log_format: LogFormat::Text,
        }
    }
}

impl Config {
    /// Reads the file (if any) and applies the overrides.
    pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let raw = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?;
                let origin = path.display().to_string();
                return check_from(&origin, parse(&origin, &text)?, overrides);
            }
            None => RawConfig::default(),
        };
        check(raw, overrides)
    }

    /// Parses configuration text (`origin` names it in errors).
    pub fn from_toml(
        origin: &str,
        text: &str,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        check_from(origin, parse(origin, text)?, overrides)
    }
}

/// [`check`], with a bad value's error naming the file it came from: the
/// operator may not know which file the service read (`MODERATO_CONFIG`,
/// a reload).
fn check_from(origin: &str, raw: RawConfig, overrides: &Overrides) -> Result<Config, ConfigError> {
    check(raw, overrides).map_err(|error| match error {
        ConfigError::Invalid { field, message, .. } => ConfigError::Invalid {
            field,
            message,
            origin: Some(origin.to_string()),
        },
        other => other,
    })
}

fn parse(origin: &str, text: &str) -> Result<RawConfig, ConfigError> {
    toml::from_str(text).map_err(|error| ConfigError::Parse {
        origin: origin.to_string(),
        message: one_line_toml_error(&error, text),
    })
}

/// The parser's message on one line, with the line and column it points
/// at: a start-up error is one line in a terminal and in the logs.
fn one_line_toml_error(error: &toml::de::Error, text: &str) -> String {
    let message = error
        .message()
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    match error.span().and_then(|span| text.get(..span.start)) {
        Some(before) => {
            let line = before.matches('\n').count() + 1;
            let column = before[before.rfind('\n').map_or(0, |at| at + 1)..]
                .chars()
                .count()
                + 1;
            let key = key_before(before).map_or(String::new(), |key| format!(" (`{key}`)"));
            let line_text = text[before.rfind('\n').map_or(0, |at| at + 1)..]
                .lines()
                .next()
                .unwrap_or_default();
            let hint = message
                .contains("unknown field")
                .then(|| quoted_site_header(line_text))
                .flatten()
                .map_or(String::new(), |header| {
                    format!("; a site id that holds dots is written in quotes: {header}")
                });
            format!("line {line}, column {column}{key}: {message}{hint}")
        }
        None => message,
    }
}

/// For a site table's header whose site id holds dots without quotes,
/// `[rules.sites.news.example]`, which TOML reads as the table `example`
/// inside the site `news` (the parser then names a field it does not
/// know), the header as it was meant: `[rules.sites."news.example"]`, and
/// `[rules.sites."news.example".flood]` when it ends in a rule's name.
/// `None` for any other line.
fn quoted_site_header(line: &str) -> Option<String> {
    let header = line.trim().strip_prefix('[')?.trim_start();
    let (path, _) = header.split_once(']')?;
    let mut segments = path.split('.').map(str::trim);
    if segments.next()? != "rules" || segments.next()? != "sites" {
        return None;
    }
    let mut segments: Vec<&str> = segments.collect();
    if segments
        .iter()
        .any(|segment| segment.starts_with(['"', '\'']))
    {
        return None;
    }
    let rule = segments
        .last()
        .filter(|last| {
            crate::rules::Rule::ALL
                .iter()
                .any(|rule| rule.code() == **last)
        })
        .map(|last| format!(".{last}"));
    if rule.is_some() {
        segments.pop();
    }
    (segments.len() > 1).then(|| {
        format!(
            "[rules.sites.\"{}\"{}]",
            segments.join("."),
            rule.unwrap_or_default()
        )
    })
}

/// The key whose value starts where `before` ends, with its table
/// (`thresholds.reject`), when the line reads `key = value` under a plain
/// `[table]` header (or none): the parser's type errors name a line and a
/// column, and an operator looks for a key. `None` for anything else
/// (inline tables, arrays, dotted keys, a file with multi-line strings,
/// whose lines may look like headers), rather than a wrong name.
fn key_before(before: &str) -> Option<String> {
    if before.contains("\"\"\"") || before.contains("'''") {
        return None;
    }
    let (earlier, line) = before.rsplit_once('\n').unwrap_or(("", before));
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .all(|character| character.is_ascii_alphanumeric() || "_-.".contains(character))
    };
    if !bare(key) || line.contains(['{', '[']) {
        return None;
    }
    let header = earlier
        .lines()
        .rev()
        .map(str::trim)
        .find(|line| line.starts_with('['));
    match header {
        None => Some(key.to_string()),
        Some(header) => {
            let table = header.trim_start_matches('[').split(']').next()?.trim();
            bare(table).then(|| format!("{table}.{key}"))
        }
    }
}

fn invalid(field: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        message: message.into(),
        origin: None,
    }
}

/// A socket address from a flag or the environment (`source_name` says
/// which) or else from the file's `field`. The file's value is checked even
/// when overridden: a mistake in the file would otherwise lie hidden until
/// the service starts one day without the flag or variable.
fn socket_address(
    field: &str,
    source_name: &'static str,
    overridden: Option<&str>,
    from_file: Option<String>,
    example: &str,
) -> Result<Option<SocketAddr>, ConfigError> {
    let not_an_address = |text: &str| format!("{text:?} is not an address such as {example}");
    let from_file = match from_file {
        Some(text) => Some(
            text.parse()
                .map_err(|_| invalid(field, not_an_address(&text)))?,
        ),
        None => None,
    };
    match overridden {
        Some(text) => text.parse().map(Some).map_err(|_| ConfigError::Override {
            source_name,
            message: not_an_address(text),
        }),
        None => Ok(from_file),
    }
}

fn check(raw: RawConfig, overrides: &Overrides) -> Result<Config, ConfigError> {
    let listen = match socket_address(
        "listen",
        "--listen (or MODERATO_LISTEN)",
        overrides.listen.as_deref(),
        raw.listen,
        DEFAULT_LISTEN,
    )? {
        Some(address) => address,
        None => DEFAULT_LISTEN
            .parse()
            .map_err(|_| invalid("listen", "the built-in default does not parse"))?,
    };
    // A blank value from a flag or the environment means "not set" (the
    // command line filters it out), but one written in the file is a
    // mistake: it would put the database in the working directory's `db`.
    // As for the addresses, the file's value is checked even when an
    // override replaces it.
    if raw.data_dir.as_deref().is_some_and(is_blank) {
        return Err(invalid(
            "data_dir",
            format!(
                "must name a directory, not be blank (leave it out for the default, ./{})",
                DEFAULT_DATA_DIR
            ),
        ));
    }
    let data_dir = match (overrides.data_dir.clone(), raw.data_dir) {
        (Some(directory), _) | (None, Some(directory)) => directory,
        (None, None) => PathBuf::from(DEFAULT_DATA_DIR),
    };
    let thresholds = checked_thresholds(&raw.thresholds)?;
    let mut keys = Vec::with_capacity(raw.keys.len());
    for (index, key) in raw.keys.into_iter().enumerate() {
        keys.push(check_key(index, key)?);
    }
    for (index, key) in keys.iter().enumerate() {
        if keys[..index].iter().any(|other| other.name == key.name) {
            return Err(invalid(
                format!("keys[{index}].name"),
                format!("{:?} is used twice", key.name),
            ));
        }
        if keys[..index]
            .iter()
            .any(|other| other.token_sha256 == key.token_sha256)
        {
            return Err(invalid(
                format!("keys[{index}].token_sha256"),
                "is used by another key",
            ));
        }
    }
    let rules = raw.rules.check()?;
    let cache_bytes = match raw.cache_mb {
        None => crate::store::DEFAULT_CACHE_BYTES,
        Some(0) => return Err(invalid("cache_mb", "must be at least 1")),
        Some(megabytes) if megabytes > MAX_CACHE_MB => {
            return Err(invalid(
                "cache_mb",
                format!(
                    "{megabytes} MiB is more than {MAX_CACHE_MB} (1 TiB); the value is in MiB, \
                     not bytes"
                ),
            ))
        }
        Some(megabytes) => megabytes * 1024 * 1024,
    };
    let learning = raw.learning.check().map_err(|error| ConfigError::Invalid {
        field: format!("learning.{}", error.key),
        message: error.message.to_string(),
        origin: None,
    })?;
    let admission = raw
        .limits
        .check()
        .map_err(|(key, message)| invalid(format!("limits.{key}"), message))?;
    let retention = raw
        .retention
        .check()
        .map_err(|(key, message)| invalid(format!("retention.{key}"), message))?;
    let console_listen = socket_address(
        "console_listen",
        "--console",
        overrides.console_listen.as_deref(),
        raw.console_listen,
        "127.0.0.1:8080",
    )?;
    let metrics_listen = socket_address(
        "metrics_listen",
        "--metrics",
        overrides.metrics_listen.as_deref(),
        raw.metrics_listen,
        "127.0.0.1:9090",
    )?;
    check_distinct_addresses(&[
        AddressSetting {
            key: "listen",
            flag: overrides
                .listen
                .is_some()
                .then_some("--listen (or MODERATO_LISTEN)"),
            address: Some(listen),
        },
        AddressSetting {
            key: "console_listen",
            flag: overrides.console_listen.is_some().then_some("--console"),
            address: console_listen,
        },
        AddressSetting {
            key: "metrics_listen",
            flag: overrides.metrics_listen.is_some().then_some("--metrics"),
            address: metrics_listen,
        },
    ])?;
    if let Some(tls) = &raw.tls {
        for (key, path) in [("tls.cert", &tls.cert), ("tls.key", &tls.key)] {
            if is_blank(path) {
                return Err(invalid(key, "must name a file, not be blank"));
            }
        }
    }
    if learning.base_data().iter().any(|path| is_blank(path)) {
        return Err(invalid(
            "learning.base_data",
            "must list files, none of them blank",
        ));
    }
    if raw.model.as_deref().is_some_and(is_blank) {
        return Err(invalid(
            "model",
            "must name a model file, not be blank (leave it out for the built-in model)",
        ));
    }
    Ok(Config {
        admission,
        retention,
        tls: raw.tls,
        console_listen,
        metrics_listen,
        log_format: raw.log_format,
        listen,
        data_dir,
        model: raw.model,
        thresholds,
        keys,
        rules,
        cache_bytes,
        learning,
    })
}

/// One of the service's addresses, and where it came from.
struct AddressSetting {
    /// Its key in the file.
    key: &'static str,
    /// The flag (or variable) that gave it, when one did.
    flag: Option<&'static str>,
    address: Option<SocketAddr>,
}

impl AddressSetting {
    /// What the operator wrote it as: the flag, or else the file's key.
    fn name(&self) -> &'static str {
        self.flag.unwrap_or(self.key)
    }
}

/// Refuses two of the service's addresses that would compete for one port
/// (the same port on the same address, or on every address: `0.0.0.0` or
/// `::`), naming the later one by where it came from (its flag, or its
/// key in the file) and the earlier one too. Port 0 asks the system for a
/// free port each time, so it never clashes. The console and the metrics
/// may name exactly the same address: one listener then serves both (see
/// `console::listeners`).
fn check_distinct_addresses(settings: &[AddressSetting]) -> Result<(), ConfigError> {
    let shared_http = |key: &str, other: &str| {
        matches!(
            (key, other),
            ("console_listen", "metrics_listen") | ("metrics_listen", "console_listen")
        )
    };
    let given: Vec<(&AddressSetting, SocketAddr)> = settings
        .iter()
        .filter_map(|setting| setting.address.map(|address| (setting, address)))
        .collect();
    for (index, (setting, address)) in given.iter().enumerate() {
        for (earlier_setting, earlier) in &given[..index] {
            let same_host = address.ip() == earlier.ip()
                || covers(earlier.ip(), address.ip())
                || covers(address.ip(), earlier.ip());
            if address == earlier && shared_http(setting.key, earlier_setting.key) {
                continue;
            }
            if address.port() != 0 && address.port() == earlier.port() && same_host {
                let message = format!(
                    "{address} takes the port of {} ({earlier}): each needs its own",
                    earlier_setting.name()
                );
                return Err(match setting.flag {
                    Some(source_name) => ConfigError::Override {
                        source_name,
                        message,
                    },
                    None => invalid(setting.key, message),
                });
            }
        }
    }
    Ok(())
}

/// Whether listening on `wide` takes the port on `other` too: `0.0.0.0`
/// takes every IPv4 address, `::` every address of both families (Linux
/// binds it dual-stack by default).
fn covers(wide: std::net::IpAddr, other: std::net::IpAddr) -> bool {
    wide.is_unspecified() && (wide.is_ipv6() || other.is_ipv4())
}

/// The largest `cache_mb`: 1 TiB. A larger value is most likely a size in
/// bytes written where MiB are meant, and would leave the page cache
/// unbounded.
const MAX_CACHE_MB: u64 = 1024 * 1024;

/// Whether a path from the file is empty or only spaces: no directory
/// anyone means to name.
fn is_blank(path: &Path) -> bool {
    path.as_os_str().to_string_lossy().trim().is_empty()
}

fn check_key(index: usize, raw: RawKey) -> Result<ApiKey, ConfigError> {
    let field = |name: &str| format!("keys[{index}].{name}");
    if raw.name.trim().is_empty() {
        return Err(invalid(field("name"), "must not be empty"));
    }
    // A name is written in logs and audit entries, where a newline would
    // start what looks like another line.
    if raw.name.chars().any(char::is_control) {
        return Err(invalid(
            field("name"),
            "must not hold control characters (a newline, a tab)",
        ));
    }
    let mut token_sha256 = [0u8; 32];
    hex::decode_to_slice(raw.token_sha256.trim(), &mut token_sha256).map_err(|_| {
        invalid(
            field("token_sha256"),
            "must be 64 hex digits (the SHA-256 of the token; `moderato keys new` prints it)",
        )
    })?;
    if token_sha256 == crate::auth::token_sha256("") {
        return Err(invalid(
            field("token_sha256"),
            "is the SHA-256 of the empty token (was the token's variable unset when it was hashed?)",
        ));
    }
    match raw.role {
        Role::Site if raw.sites.is_empty() => {
            return Err(invalid(
                field("sites"),
                "a site key needs at least one site",
            ))
        }
        Role::Admin if !raw.sites.is_empty() => {
            return Err(invalid(
                field("sites"),
                "admin keys act for every site; remove the list",
            ))
        }
        Role::Site | Role::Moderator | Role::Admin => {}
    }
    let mut listed = std::collections::HashSet::new();
    for site in &raw.sites {
        crate::domain::check_site_id(site)
            .map_err(|reason| invalid(field("sites"), reason.to_string()))?;
        // A site listed twice would be read twice: queue pages, totals and
        // statistics over the key's sites would count its items twice.
        if !listed.insert(site.as_str()) {
            return Err(invalid(
                field("sites"),
                format!("lists {site:?} twice; list each site once"),
            ));
        }
    }
    Ok(ApiKey {
        name: raw.name,
        role: raw.role,
        sites: raw.sites,
        token_sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn an_empty_file_gives_the_defaults() {
        let config = Config::from_toml("test", "", &Overrides::default()).unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(config.data_dir, PathBuf::from("data"));
        assert_eq!(config.thresholds, Thresholds::default());
        assert!(config.keys.is_empty());
    }

    /// A site table no site key acts for is allowed (an admin key may name
    /// any site) but said: its id may differ from the key's by a capital.
    #[test]
    fn a_site_table_no_site_key_acts_for_is_warned_about() {
        let key = format!(
            "[[keys]]\nname = \"news\"\nrole = \"site\"\nsites = [\"news.example\"]\ntoken_sha256 = \"{HASH}\"\n"
        );
        let warnings = |tables: &str, keys: &str| {
            Config::from_toml("test", &format!("{keys}{tables}"), &Overrides::default())
                .unwrap()
                .warnings()
        };
        let misspelt = "[rules.sites.\"News.Example\"]\nnew_author = { enabled = true }\n";
        let found = warnings(misspelt, &key);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with("rules.sites.\"News.Example\""),
            "{found:?}"
        );
        let right = "[rules.sites.\"news.example\"]\nnew_author = { enabled = true }\n";
        assert!(warnings(right, &key).is_empty());
        // Without site keys (a first start on the admin token) there is
        // nothing to compare with.
        assert!(warnings(misspelt, "").is_empty());
    }

    #[test]
    fn a_full_file_is_read() {
        let text = format!(
            "listen = \"0.0.0.0:6000\"\ndata_dir = \"/var/lib/moderato\"\n\
             [thresholds]\nreview = 0.6\nreject = 0.95\n\
             [[keys]]\nname = \"news\"\nrole = \"site\"\nsites = [\"news.example\"]\ntoken_sha256 = \"{HASH}\"\n"
        );
        let config = Config::from_toml("test", &text, &Overrides::default()).unwrap();
        assert_eq!(config.listen.port(), 6000);
        assert_eq!(config.thresholds.review(), 0.6);
        assert_eq!(
            config.thresholds.reject_holds_without(),
            crate::verdict::DEFAULT_REJECT_HOLDS_WITHOUT
        );
        let score_alone = Config::from_toml(
            "test",
            "[thresholds]\nreject_holds_without = 0\n",
            &Overrides::default(),
        )
        .unwrap();
        assert_eq!(score_alone.thresholds.reject_holds_without(), 0);
        assert_eq!(config.keys[0].role, Role::Site);
        assert_eq!(config.keys[0].sites, vec!["news.example".to_string()]);
    }

    #[test]
    fn a_key_hashed_from_the_empty_token_is_refused() {
        let empty = hex::encode(crate::auth::token_sha256(""));
        let text =
            format!("[[keys]]\nname = \"admin\"\nrole = \"admin\"\ntoken_sha256 = \"{empty}\"\n");
        match Config::from_toml("test", &text, &Overrides::default()) {
            Err(ConfigError::Invalid { field, message, .. }) => {
                assert_eq!(field, "keys[0].token_sha256");
                assert!(message.contains("empty token"), "{message}");
            }
            other => panic!("expected the empty token's hash refused, got {other:?}"),
        }
    }

    #[test]
    fn a_key_listing_a_site_twice_is_refused() {
        let text = format!(
            "[[keys]]\nname = \"mods\"\nrole = \"moderator\"\ntoken_sha256 = \"{HASH}\"\n\
             sites = [\"a.example\", \"b.example\", \"a.example\"]\n"
        );
        match Config::from_toml("test", &text, &Overrides::default()) {
            Err(ConfigError::Invalid { field, message, .. }) => {
                assert_eq!(field, "keys[0].sites");
                assert!(message.contains("\"a.example\" twice"), "{message}");
            }
            other => panic!("expected the repeated site refused, got {other:?}"),
        }
    }

    /// The README offers its configuration example as a starting file: it
    /// must check as it stands, and give the defaults it states.
    #[test]
    fn the_readme_configuration_example_checks_as_it_stands() {
        const README: &str = include_str!("../README.md");
        let section = &README[README.find("## Configuration").expect("the section")..];
        let start = section.find("```toml\n").expect("a TOML block") + "```toml\n".len();
        let block = &section[start..];
        let block = &block[..block.find("```").expect("the block's end")];
        let config = Config::from_toml("README.md", block, &Overrides::default())
            .unwrap_or_else(|error| panic!("{error}"));
        let defaults = Config::default();
        assert_eq!(config.listen, defaults.listen);
        assert_eq!(config.thresholds, defaults.thresholds);
        assert_eq!(config.admission, defaults.admission);
        assert_eq!(config.retention, defaults.retention);
        assert_eq!(config.learning, defaults.learning);
        assert_eq!(config.cache_bytes, defaults.cache_bytes);
    }

    #[test]
    fn a_bad_value_in_a_file_names_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("site.toml");
        std::fs::write(&path, "cache_mb = 0\n").unwrap();
        let error = Config::load(Some(&path), &Overrides::default())
            .unwrap_err()
            .to_string();
        let expected = format!("config file {}: cache_mb: ", path.display());
        assert!(error.starts_with(&expected), "{error}");
    }

    #[test]
    fn a_reload_names_the_settings_that_take_a_restart() {
        let load = |text: &str| Config::from_toml("test", text, &Overrides::default()).unwrap();
        let running = load("[rules]\nblocked_terms = [\"casino\"]\n");
        // Rules and thresholds reload: nothing to name.
        let reloadable = load("[thresholds]\nreview = 0.6\nreject = 0.95\n");
        assert!(running.changes_needing_restart(&reloadable).is_empty());
        let moved =
            load("listen = \"127.0.0.1:6000\"\ncache_mb = 8\n[limits]\nmax_concurrent_calls = 7\n");
        assert_eq!(
            running.changes_needing_restart(&moved),
            ["listen", "cache_mb", "[limits]"]
        );
    }

    #[test]
    fn a_reload_warns_of_the_files_read_at_start_only() {
        let load = |text: &str| Config::from_toml("test", text, &Overrides::default()).unwrap();
        assert!(load("").files_read_at_start_only().is_empty());
        // The same model path as before: no setting changed, yet the file
        // behind it may be new, which a reload does not read.
        let with_model = load("model = \"models/site.json\"\n");
        assert!(with_model.changes_needing_restart(&with_model).is_empty());
        let warnings = with_model.files_read_at_start_only();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("the model file is read at start only")
                && warnings[0].contains("restart")
                && warnings[0].contains("ActivateModel"),
            "{warnings:?}"
        );
        let with_both = load(
            "model = \"models/site.json\"\n[tls]\ncert = \"server.pem\"\nkey = \"server.key\"\n",
        );
        let warnings = with_both.files_read_at_start_only();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(
            warnings[0].starts_with("the TLS certificate"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_blank_data_dir_in_a_file_is_refused_naming_file_and_key() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("site.toml");
        for blank in ["\"\"", "\"  \""] {
            std::fs::write(&path, format!("data_dir = {blank}\n")).unwrap();
            let error = Config::load(Some(&path), &Overrides::default())
                .unwrap_err()
                .to_string();
            let expected = format!("config file {}: data_dir: ", path.display());
            assert!(error.starts_with(&expected), "{blank}: {error}");
            assert!(error.contains("blank"), "{blank}: {error}");
        }
        // A directory given by a flag or the environment replaces the
        // file's value, which is still checked (as for addresses).
        let overrides = Overrides {
            data_dir: Some(PathBuf::from("/tmp/x")),
            ..Overrides::default()
        };
        assert!(Config::load(Some(&path), &overrides).is_err());
        std::fs::write(&path, "data_dir = \"site-data\"\n").unwrap();
        let config = Config::load(Some(&path), &overrides).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn the_cache_size_is_read_in_mebibytes_and_zero_is_refused() {
        let config = Config::from_toml("test", "cache_mb = 4096\n", &Overrides::default()).unwrap();
        assert_eq!(config.cache_bytes, 4096 * 1024 * 1024);
        let default = Config::from_toml("test", "", &Overrides::default()).unwrap();
        assert_eq!(default.cache_bytes, crate::store::DEFAULT_CACHE_BYTES);
        match Config::from_toml("test", "cache_mb = 0\n", &Overrides::default()) {
            Err(ConfigError::Invalid { field, .. }) => assert_eq!(field, "cache_mb"),
            other => panic!("expected an invalid cache_mb, got {other:?}"),
        }
        // A size in bytes written where MiB are meant (40 MiB) is refused,
        // not read as 40 TiB.
        match Config::from_toml("test", "cache_mb = 41943040\n", &Overrides::default()) {
            Err(ConfigError::Invalid { field, message, .. }) => {
                assert_eq!(field, "cache_mb");
                assert!(message.contains("not bytes"), "{message}");
            }
            other => panic!("expected an invalid cache_mb, got {other:?}"),
        }
        let largest = format!("cache_mb = {MAX_CACHE_MB}\n");
        assert!(Config::from_toml("test", &largest, &Overrides::default()).is_ok());
    }

    /// serde reads a struct from an array by position: every table of
    /// settings is read from a table only, so that `retention = [5]` does
    /// not set a retention of five days and `limits = []` is no silent
    /// default.
    #[test]
    fn settings_tables_written_as_arrays_are_refused() {
        for text in [
            "rules = [[\"free money\"]]\n",
            "limits = []\n",
            "learning = [false]\n",
            "retention = [5]\n",
            "tls = [\"cert.pem\", \"key.pem\"]\n",
            "keys = [[\"site\", \"abc\"]]\n",
            "[rules.sites]\n\"news.example\" = [true]\n",
            "[[limits]]\nmax_concurrent_calls = 5\n",
            "[keys]\nname = \"a\"\n",
            "keys = { name = \"a\" }\n",
        ] {
            let error = Config::from_toml("moderato.toml", text, &Overrides::default())
                .expect_err(text)
                .to_string();
            assert!(error.contains("moderato.toml"), "{text}: {error}");
            assert!(
                error.contains("expected a") || error.contains("expected the table"),
                "{text}: {error}"
            );
            assert!(error.contains("table"), "{text}: {error}");
        }
        // Written as tables, inline or not, they read.
        let config = Config::from_toml(
            "t",
            "retention = { decisions_days = 5 }\n[limits]\nmax_concurrent_calls = 5\n\
             [rules.sites.\"news.example\"]\nblocked_terms = [\"x\"]\n",
            &Overrides::default(),
        )
        .unwrap();
        assert!(config.retention.keep_for().is_some());
    }

    #[test]
    fn blank_tls_files_and_base_data_are_refused_by_their_key() {
        for (text, key) in [
            ("[tls]\ncert = \"\"\nkey = \"key.pem\"\n", "tls.cert"),
            ("[tls]\ncert = \"cert.pem\"\nkey = \" \"\n", "tls.key"),
            (
                "[learning]\nbase_data = [\"a.tsv\", \"\"]\n",
                "learning.base_data",
            ),
        ] {
            match Config::from_toml("t", text, &Overrides::default()) {
                Err(ConfigError::Invalid { field, .. }) => assert_eq!(field, key, "{text}"),
                other => panic!("{text}: expected {key} refused, got {other:?}"),
            }
        }
    }

    #[test]
    fn an_unknown_key_is_named() {
        let error = Config::from_toml(
            "moderato.toml",
            "listen = \"127.0.0.1:1\"\nlisten_port = 5\n",
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("listen_port"), "{error}");
        assert!(error.contains("moderato.toml"), "{error}");
    }

    #[test]
    fn an_unknown_key_in_a_table_is_named() {
        let error = Config::from_toml("t", "[thresholds]\nreveiw = 0.5\n", &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("reveiw"), "{error}");
    }

    #[test]
    fn malformed_toml_names_the_line() {
        let error = Config::from_toml("t", "listen = \"a\"\n[thresholds\n", &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("line 2, column 12"), "{error}");
        assert_eq!(error.lines().count(), 1, "one line: {error}");
    }

    #[test]
    fn a_site_id_with_dots_written_without_quotes_is_explained() {
        let error = |text: &str| {
            Config::from_toml("t", text, &Overrides::default())
                .unwrap_err()
                .to_string()
        };
        for (header, meant) in [
            (
                "[rules.sites.news.example]",
                "[rules.sites.\"news.example\"]",
            ),
            (
                "[ rules . sites . news.example ]",
                "[rules.sites.\"news.example\"]",
            ),
            (
                "[rules.sites.news.example.co.uk]",
                "[rules.sites.\"news.example.co.uk\"]",
            ),
        ] {
            let wrong = error(&format!("{header}\nblocked_terms = [\"x\"]\n"));
            assert!(
                wrong.ends_with(&format!("written in quotes: {meant}")),
                "{wrong}"
            );
            assert_eq!(wrong.lines().count(), 1, "one line: {wrong}");
        }
        let wrong = error("[rules.sites.news.example.flood]\nweight = 1.0\n");
        assert!(
            wrong.ends_with("written in quotes: [rules.sites.\"news.example\".flood]"),
            "{wrong}"
        );
        // A quoted id, a site's own rule table, or another mistake gets no
        // such hint.
        for text in [
            "[rules.sites.\"news.example\"]\nblocked_termz = [\"x\"]\n",
            "[rules.sites.news.flood]\nweight = 1.0\n[rules.sites.news.flood]\nweight = 2.0\n",
            "[rules.sites.news.blocked_terms]\nx = 1\n",
            "[rules.sites.news.flood\nweight = 1.0\n",
        ] {
            let wrong = error(text);
            assert!(!wrong.contains("in quotes"), "{text}: {wrong}");
        }
        assert_eq!(quoted_site_header("[thresholds]"), None);
        assert_eq!(quoted_site_header("[rules.sites.news]"), None);
    }

    #[test]
    fn a_value_of_the_wrong_type_is_named_by_its_key() {
        let error = |text: &str| {
            Config::from_toml("t", text, &Overrides::default())
                .unwrap_err()
                .to_string()
        };
        let wrong = error("listen = \"127.0.0.1:1\"\n[thresholds]\nreject = \"high\"\n");
        assert!(
            wrong.contains("line 3, column 10 (`thresholds.reject`): invalid type"),
            "{wrong}"
        );
        let wrong = error("log_format = \"xml\"\n");
        assert!(wrong.contains("(`log_format`)"), "{wrong}");
        // An inline table is not guessed at, nor a key after a multi-line
        // string, whose lines may look like a header.
        let wrong = error("thresholds = { reject = \"high\" }\n");
        assert!(!wrong.contains("(`"), "{wrong}");
        let wrong = error("[tls]\ncert = \"\"\"\n[thresholds]\n\"\"\"\nkey = 5\n");
        assert!(!wrong.contains("(`"), "{wrong}");
    }

    #[test]
    fn the_rules_table_is_read_and_checked() {
        let config = Config::from_toml(
            "t",
            "[rules]\nblocked_ips = [\"203.0.113.0/24\"]\n[rules.flood]\nthreshold = 3\n",
            &Overrides::default(),
        )
        .unwrap();
        let flood = config
            .rules
            .for_site("any")
            .settings(crate::rules::Rule::Flood);
        assert_eq!(flood.threshold, 3.0);
        let error = Config::from_toml(
            "t",
            "[rules]\nblocked_ips = [\"nope\"]\n",
            &Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("rules.blocked_ips[0]"), "{error}");
        let error = Config::from_toml("t", "[rules]\nblocked_ipz = []\n", &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("blocked_ipz") && error.contains("line 2"),
            "{error}"
        );
    }

    #[test]
    fn overrides_win_over_the_file() {
        let overrides = Overrides {
            listen: Some("127.0.0.1:7000".into()),
            data_dir: Some(PathBuf::from("/tmp/x")),
            console_listen: Some("127.0.0.1:7001".into()),
            ..Overrides::default()
        };
        let config = Config::from_toml(
            "t",
            "listen = \"127.0.0.1:6000\"\nconsole_listen = \"127.0.0.1:6001\"\n",
            &overrides,
        )
        .unwrap();
        assert_eq!(config.listen.port(), 7000);
        assert_eq!(config.console_listen.unwrap().port(), 7001);
        assert_eq!(config.metrics_listen, None);
        assert_eq!(config.data_dir, PathBuf::from("/tmp/x"));
    }

    #[test]
    fn a_bad_address_is_blamed_on_where_it_came_from() {
        let from_flag = Overrides {
            listen: Some("nowhere".into()),
            ..Overrides::default()
        };
        let error = Config::from_toml("t", "", &from_flag)
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("--listen (or MODERATO_LISTEN): \"nowhere\""),
            "{error}"
        );
        let from_flag = Overrides {
            metrics_listen: Some("nowhere".into()),
            ..Overrides::default()
        };
        let error = Config::from_toml("t", "", &from_flag)
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("--metrics: "), "{error}");
        // The file's own value, when no flag replaces it.
        let error = Config::from_toml("t", "console_listen = \"nowhere\"\n", &Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("config file t: console_listen: "),
            "{error}"
        );
        // A file value a flag replaces is still checked: the mistake would
        // otherwise show only on the day the service starts without it.
        let from_flag = Overrides {
            listen: Some("127.0.0.1:7000".into()),
            data_dir: Some(PathBuf::from("/tmp/x")),
            ..Overrides::default()
        };
        for (text, field) in [
            ("listen = \"nowhere\"\n", "listen"),
            ("data_dir = \" \"\n", "data_dir"),
        ] {
            let error = Config::from_toml("t", text, &from_flag)
                .unwrap_err()
                .to_string();
            assert!(
                error.starts_with(&format!("config file t: {field}: ")),
                "{error}"
            );
        }
        let config = Config::from_toml("t", "listen = \"127.0.0.1:6000\"\n", &from_flag).unwrap();
        assert_eq!(config.listen.port(), 7000);
        let config = Config::from_toml("t", "", &Overrides::default()).unwrap();
        assert_eq!(config.listen.to_string(), DEFAULT_LISTEN);
    }

    #[test]
    fn bad_thresholds_addresses_and_model_are_refused_naming_their_key() {
        let refusal = |text: &str| {
            Config::from_toml("t", text, &Overrides::default())
                .unwrap_err()
                .to_string()
        };
        for (text, key) in [
            (
                "[thresholds]\nreview = 0.95\nreject = 0.5",
                "thresholds.reject",
            ),
            ("[thresholds]\nreview = -0.1", "thresholds.review"),
            ("[thresholds]\nreview = 0\nreject = 0", "thresholds.reject"),
            ("[thresholds]\nreject = 1.5", "thresholds.reject"),
            ("[thresholds]\nreview = nan", "thresholds.review"),
            (
                "[thresholds]\nreject_holds_without = 11",
                "thresholds.reject_holds_without: 11 is more signs of spam than a rejection can be \
                 asked to hold without (at most 10; 0 lets the score alone decide)",
            ),
            (
                "[thresholds]\nreject_holds_without = -1",
                "`thresholds.reject_holds_without`",
            ),
            (
                "listen = \"127.0.0.1:7000\"\nconsole_listen = \"127.0.0.1:7000\"",
                "console_listen",
            ),
            (
                "console_listen = \"0.0.0.0:7001\"\nmetrics_listen = \"127.0.0.1:7001\"",
                "metrics_listen",
            ),
            ("model = \" \"", "model"),
        ] {
            let message = refusal(text);
            assert!(message.contains(key), "{text}: {message}");
        }
        // A table of the wrong type says what it should be, an array too
        // (serde would read it by position: review 0.01, reject 0.05).
        for text in ["thresholds = 5", "thresholds = [0.01, 0.05]"] {
            let message = refusal(text);
            assert!(
                message.contains("a table with review, reject and reject_holds_without"),
                "{message}"
            );
        }
        // A rule's settings written where a list was meant.
        let message = refusal("[rules.sites.\"a.example\"]\nblocked_term = [\"x\"]");
        assert!(message.contains("blocked_terms"), "{message}");
        assert!(message.contains("invalid type: sequence"), "{message}");
        // A date where a table belongs says so.
        let message = refusal("thresholds = 1979-05-27T07:32:00Z");
        assert!(
            message.contains("invalid type: date, expected a table"),
            "{message}"
        );
        // A wrong value inside such a table keeps its own line.
        let message = refusal("[thresholds]\nreview = 0.5\nreject = \"x\"");
        assert!(message.contains("line 3"), "{message}");
        let message =
            refusal("[rules.sites.\"a.example\".honeypot]\nenabled = true\nweight = \"high\"");
        assert!(message.contains("line 3"), "{message}");
        // Ports 0 are each a free port of their own; other ports differ;
        // IPv4's every address and an IPv6 address do not meet.
        for fine in [
            "listen = \"127.0.0.1:0\"\nconsole_listen = \"127.0.0.1:0\"\n\
             metrics_listen = \"127.0.0.1:7002\"",
            "console_listen = \"0.0.0.0:7003\"\nmetrics_listen = \"[::1]:7003\"",
            // One listener serves the console and the metrics.
            "console_listen = \"127.0.0.1:7005\"\nmetrics_listen = \"127.0.0.1:7005\"",
        ] {
            assert!(
                Config::from_toml("t", fine, &Overrides::default()).is_ok(),
                "{fine}"
            );
        }
        let message =
            refusal("console_listen = \"[::]:7004\"\nmetrics_listen = \"127.0.0.1:7004\"");
        assert!(message.contains("metrics_listen"), "{message}");
        // Given by flags, the clash is blamed on the flags, not the file.
        let flags = Overrides {
            listen: Some("127.0.0.1:7006".to_string()),
            console_listen: Some("127.0.0.1:7006".to_string()),
            ..Overrides::default()
        };
        let message = Config::from_toml("t", "", &flags).unwrap_err().to_string();
        assert!(message.starts_with("--console: "), "{message}");
        assert!(message.contains("port of --listen"), "{message}");
        assert!(!message.contains("config"), "{message}");
    }

    #[test]
    fn bad_values_are_refused() {
        let cases = [
            "listen = \"nowhere\"",
            "[thresholds]\nreview = 0.95\nreject = 0.5",
            "[[keys]]\nname = \"a\"\nrole = \"site\"\ntoken_sha256 = \"abc\"\nsites = [\"x.example\"]",
            &format!("[[keys]]\nname = \"a\"\nrole = \"site\"\ntoken_sha256 = \"{HASH}\""),
            &format!("[[keys]]\nname = \"a\"\nrole = \"boss\"\ntoken_sha256 = \"{HASH}\""),
            &format!("[[keys]]\nname = \"a\\nb\"\nrole = \"admin\"\ntoken_sha256 = \"{HASH}\""),
        ];
        for case in cases {
            assert!(
                Config::from_toml("t", case, &Overrides::default()).is_err(),
                "accepted: {case}"
            );
        }
    }
}
