//! What an operator meets at the command line: environment variables set
//! to nothing, flags that contradict each other or name the wrong thing,
//! configuration blocks appended to files, offline checks of a site's
//! rules. Each test runs the real `moderato` binary; none needs a server
//! (an address that would be dialled is refused before it is).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::util::*;

/// What the commands that reach a server use when neither `--server` nor
/// `MODERATO_SERVER` names one.
const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// Runs a command that must fail with `code`; gives its standard error.
fn failed_with(code: i32, command: &mut std::process::Command) -> String {
    let output: Output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(code), "{stderr}");
    stderr
}

fn write_corpus(directory: &Path) -> PathBuf {
    let path = directory.join("small.tsv");
    std::fs::write(&path, SMALL_CORPUS).unwrap();
    path
}

/// A blank `MODERATO_CA_CERT` is no certificate: clap does not refuse it
/// as an empty path, and an https:// server asks for one as if unset.
#[test]
fn a_blank_ca_certificate_variable_counts_as_unset() {
    let stderr = failed_with(
        1,
        moderato()
            .args(["queue", "list", "--token", "T"])
            .args(["--server", "https://127.0.0.1:1"])
            .env("MODERATO_CA_CERT", ""),
    );
    assert!(!stderr.contains("a value is required"), "{stderr}");
    assert!(
        stderr.contains("an https:// server needs --ca-cert"),
        "{stderr}"
    );
}

/// A blank `MODERATO_SERVER` is the default server, not an address that
/// does not parse. (A certificate given for a plain-text address is
/// refused before any connection, naming the address: the default one.)
#[test]
fn a_blank_server_variable_is_the_default_server() {
    let directory = tempfile::tempdir().unwrap();
    let certificate = directory.path().join("ca.pem");
    std::fs::write(&certificate, "not used").unwrap();
    let stderr = failed_with(
        1,
        moderato()
            .args(["queue", "list", "--token", "T"])
            .env("MODERATO_SERVER", "")
            .env("MODERATO_CA_CERT", &certificate),
    );
    assert!(!stderr.contains("not a server address"), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot talk to {DEFAULT_SERVER}")),
        "{stderr}"
    );
}

/// A blank `MODERATO_TOKEN` (or `--token`) with no other token is a usage
/// error naming the flag, before any connection, for every command that
/// reaches a server.
#[test]
fn a_blank_token_is_a_usage_error_naming_the_flag() {
    let directory = tempfile::tempdir().unwrap();
    let commands: [&[&str]; 4] = [
        &["queue", "list"],
        &["queue", "resolve", "some-id", "--spam"],
        &["models", "list"],
        &["retrain", "--no-wait"],
    ];
    for arguments in commands {
        let stderr = failed_with(
            2,
            moderato()
                .args(arguments)
                .env("MODERATO_TOKEN", "")
                .env("MODERATO_SERVER", "http://127.0.0.1:1"),
        );
        assert!(
            stderr.contains("--token") && stderr.contains("MODERATO_TOKEN"),
            "{arguments:?}: {stderr}"
        );
    }
    let out = directory.path().join("corrections.jsonl");
    let stderr = failed_with(
        2,
        moderato()
            .args(["export", "--token", "  ", "--out"])
            .arg(&out),
    );
    assert!(stderr.contains("--token"), "{stderr}");
    assert!(!out.exists());
    // An export never writes over the certificate it reads, checked
    // before any connection.
    let certificate = directory.path().join("ca.pem");
    std::fs::write(&certificate, "certificate").unwrap();
    let stderr = failed_with(
        2,
        moderato()
            .args(["export", "--token", "T", "--ca-cert"])
            .arg(&certificate)
            .arg("--out")
            .arg(&certificate),
    );
    assert!(stderr.contains("is also a --ca-cert file"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&certificate).unwrap(),
        "certificate"
    );
}

/// `keys new` refuses a site given twice (the configuration would refuse
/// the block), naming it.
#[test]
fn keys_new_refuses_a_repeated_site() {
    let stderr = failed_with(
        2,
        moderato().args([
            "keys",
            "new",
            "--role",
            "moderator",
            "--site",
            "a.example",
            "--site",
            "b.example",
            "--site",
            "a.example",
        ]),
    );
    assert!(stderr.contains("\"a.example\""), "{stderr}");
    assert!(stderr.contains("twice"), "{stderr}");
    assert!(!stderr.contains("mdr_"), "no token is made: {stderr}");
}

/// The block `keys new` prints can be appended with `>>` to a file whose
/// last line has no newline, and the file still checks.
#[test]
fn a_key_block_appended_to_a_file_without_a_final_newline_checks() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("moderato.toml");
    std::fs::write(&config, "data_dir = \"data\"").unwrap();
    let output = succeeded(moderato().args(["keys", "new", "--role", "admin", "--name", "ops"]));
    std::fs::OpenOptions::new()
        .append(true)
        .open(&config)
        .unwrap()
        .write_all(&output.stdout)
        .unwrap();
    let loaded = moderato::config::Config::load(Some(&config), &Default::default())
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(loaded.keys.len(), 1);
    assert_eq!(loaded.keys[0].name, "ops");
    assert_eq!(loaded.data_dir, PathBuf::from("data"));
}

/// `train --out` naming an existing directory is refused before the
/// training run, naming the directory.
#[test]
fn train_refuses_an_output_that_is_a_directory_before_training() {
    let directory = tempfile::tempdir().unwrap();
    let data = write_corpus(directory.path());
    let out = directory.path().join("models");
    std::fs::create_dir(&out).unwrap();
    let stderr = failed_with(
        2,
        moderato()
            .args(["train", "--data"])
            .arg(&data)
            .arg("--out")
            .arg(&out),
    );
    assert!(
        stderr.contains(&format!("--out {} is a directory", out.display())),
        "{stderr}"
    );
    // Refused before the data was even read.
    assert!(!stderr.contains("read 12 examples"), "{stderr}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 0);
}

/// `eval --plot` naming a file the command reads (its data, its model) is
/// refused before the evaluation, and the file is left as it was.
#[test]
fn eval_refuses_a_plot_that_would_replace_what_it_reads() {
    let directory = tempfile::tempdir().unwrap();
    let data = write_corpus(directory.path());
    let model = directory.path().join("model.json");
    let trained = moderato()
        .args(["train", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&model)
        .output()
        .unwrap();
    assert!(trained.status.success(), "{trained:?}");
    let model_before = std::fs::read(&model).unwrap();
    for (plot, flag) in [(&data, "--data"), (&model, "--model")] {
        let stderr = failed_with(
            2,
            moderato()
                .args(["eval", "--no-rules", "--data"])
                .arg(&data)
                .arg("--model")
                .arg(&model)
                .arg("--plot")
                .arg(plot),
        );
        assert!(
            stderr.contains(&format!("--plot {} is also a {flag} file", plot.display())),
            "{stderr}"
        );
    }
    assert_eq!(std::fs::read_to_string(&data).unwrap(), SMALL_CORPUS);
    assert_eq!(std::fs::read(&model).unwrap(), model_before);
}

/// `cv` on files with no labelled comment is refused, as `eval` is, rather
/// than printing figures of nothing; and `train` and `cv` check their flags
/// before they read any data.
#[test]
fn cv_refuses_no_data_and_flags_are_checked_before_the_data_is_read() {
    let directory = tempfile::tempdir().unwrap();
    let empty = directory.path().join("header_only.tsv");
    std::fs::write(&empty, "label\ttext\n").unwrap();
    let stderr = failed_with(2, moderato().args(["cv", "--data"]).arg(&empty));
    assert!(stderr.contains("nothing to cross-validate"), "{stderr}");

    let missing = directory.path().join("missing.tsv");
    for command in [
        vec!["train", "--alpha", "0", "--out", "model.json"],
        vec!["cv", "--alpha", "0"],
    ] {
        let stderr = failed_with(
            2,
            moderato()
                .current_dir(directory.path())
                .args(&command)
                .arg("--data")
                .arg(&missing),
        );
        assert!(stderr.contains("--alpha"), "{command:?}: {stderr}");
        assert!(!stderr.contains("missing.tsv"), "{command:?}: {stderr}");
    }
}

/// `cv --by-group` makes one fold per group: a number of folds beside it
/// is refused rather than ignored.
#[test]
fn cv_refuses_folds_beside_by_group() {
    let directory = tempfile::tempdir().unwrap();
    let data = write_corpus(directory.path());
    let stderr = failed_with(
        2,
        moderato()
            .args(["cv", "--by-group", "--folds", "10", "--data"])
            .arg(&data),
    );
    assert!(
        stderr.contains("--by-group") && stderr.contains("--folds"),
        "{stderr}"
    );
}

/// A model named by the configuration, not by a flag, that does not load
/// is named as the configuration's: the configuration may have come from
/// `MODERATO_CONFIG`, out of sight.
#[test]
fn a_configured_model_that_does_not_load_is_named_as_the_configurations() {
    let directory = tempfile::tempdir().unwrap();
    let data = write_corpus(directory.path());
    let config = directory.path().join("moderato.toml");
    std::fs::write(&config, "model = \"missing-model.json\"\n").unwrap();
    let data = data.to_str().unwrap();
    let config_path = config.to_str().unwrap();
    for command in [
        vec!["eval", "--config", config_path, "--data", data],
        vec!["check", "--config", config_path, "hello"],
    ] {
        let mut process = moderato();
        process.args(&command);
        let stderr = failed_with(1, &mut process);
        let named = format!("`model` in {}", config.display());
        assert!(stderr.contains(&named), "{command:?}: {stderr}");
        assert!(
            stderr.contains("missing-model.json"),
            "{command:?}: {stderr}"
        );
    }
}

/// A fold that holds out one class only prints its undefined figures as
/// such, not as an MCC of 0 and an AUC of 0.5, and its JSON names them;
/// `eval` on one class does the same.
#[test]
fn figures_of_one_class_are_undefined_in_the_text_and_named_in_the_json() {
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("grouped.jsonl");
    let line = |text: &str, label: &str, group: &str| {
        format!("{{\"text\": \"{text}\", \"label\": \"{label}\", \"group\": \"{group}\"}}\n")
    };
    let mut corpus = String::new();
    for group in ["first", "second"] {
        corpus += &line("win a free prize now, click here", "spam", group);
        corpus += &line("cheap pills, order today at our shop", "spam", group);
        corpus += &line("thanks for the thoughtful article", "ham", group);
        corpus += &line("I disagree with the council on this one", "ham", group);
    }
    corpus += &line("free prize, click to claim it now", "spam", "spam-only");
    corpus += &line(
        "order cheap pills today, free shipping",
        "spam",
        "spam-only",
    );
    std::fs::write(&data, corpus).unwrap();
    let output = succeeded(moderato().args(["cv", "--by-group", "--data"]).arg(&data));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let spam_only = stdout
        .lines()
        .find(|line| line.starts_with("spam-only"))
        .unwrap_or_else(|| panic!("no line for the spam-only fold: {stdout}"));
    assert!(spam_only.contains("MCC undefined"), "{spam_only}");
    assert!(spam_only.contains("ham blocked undefined"), "{spam_only}");
    assert!(spam_only.contains("AUC undefined"), "{spam_only}");
    assert!(!spam_only.contains("recall undefined"), "{spam_only}");
    let first = stdout
        .lines()
        .find(|line| line.starts_with("first"))
        .unwrap();
    assert!(!first.contains("undefined"), "{first}");
    // The JSON keeps numbers and names the figures that measure nothing,
    // fold by fold, as the text does.
    let output = succeeded(
        moderato()
            .args(["cv", "--by-group", "--json", "--data"])
            .arg(&data),
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let folds = report["folds"].as_array().unwrap();
    let fold = |name: &str| {
        folds
            .iter()
            .find(|fold| fold["name"] == name)
            .unwrap_or_else(|| panic!("no fold {name}: {report}"))
    };
    assert_eq!(
        // Its spam scored under 0.5 (trained on the other folds' few
        // comments), so nothing scored as spam: no precision either.
        fold("spam-only")["metrics"]["undefined"],
        serde_json::json!(["precision", "mcc", "fpr", "auc"]),
        "{report}"
    );
    assert!(fold("spam-only")["metrics"]["mcc"].is_number(), "{report}");
    assert!(
        fold("first")["metrics"].get("undefined").is_none(),
        "{report}"
    );

    // `eval` on the spam alone: the same figures undefined, in the text and
    // in the JSON.
    let spam_only = directory.path().join("spam-only.jsonl");
    std::fs::write(
        &spam_only,
        line("free prize, click to claim it now", "spam", "x"),
    )
    .unwrap();
    let output = succeeded(moderato().args(["eval", "--data"]).arg(&spam_only));
    let text = String::from_utf8_lossy(&output.stdout);
    for figure in ["MCC", "ham blocked", "AUC"] {
        assert!(
            text.contains(&format!("{figure} undefined (one class only)")),
            "{figure}: {text}"
        );
    }
    assert!(!text.contains("recall undefined"), "{text}");
    let output = succeeded(
        moderato()
            .args(["eval", "--json", "--data"])
            .arg(&spam_only),
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        report["binary"]["undefined"],
        serde_json::json!(["mcc", "fpr", "auc"]),
        "{report}"
    );
}

/// `--char-ngrams 3-0` asks for n-grams of 3 characters and more: it is
/// refused, not read as "off" (which is 0-0).
#[test]
fn character_ngrams_up_to_zero_are_refused() {
    let directory = tempfile::tempdir().unwrap();
    let data = write_corpus(directory.path());
    let stderr = failed_with(
        2,
        moderato()
            .args(["cv", "--char-ngrams", "3-0", "--data"])
            .arg(&data),
    );
    assert!(stderr.contains("--char-ngrams"), "{stderr}");
    assert!(stderr.contains("character n-grams 3-0"), "{stderr}");
    assert!(stderr.contains("0-0 turns them off"), "{stderr}");
}

/// A training value the flags give that does not check is a misuse of the
/// command, as a value clap refuses is: exit status 2, naming the flag.
#[test]
fn bad_training_values_are_usage_errors_naming_their_flag() {
    let directory = tempfile::tempdir().unwrap();
    let data = write_corpus(directory.path());
    let out = directory.path().join("model.json");
    for (args, flag) in [
        (vec!["cv", "--alpha", "0"], "--alpha"),
        (vec!["cv", "--folds", "1"], "--folds"),
        (
            vec!["cv", "--min-document-frequency", "0"],
            "--min-document-frequency",
        ),
        (vec!["train", "--name", "a b"], "--name"),
    ] {
        let mut command = moderato();
        command.args(&args).arg("--data").arg(&data);
        if args[0] == "train" {
            command.arg("--out").arg(&out);
        }
        let stderr = failed_with(2, &mut command);
        assert!(stderr.contains(flag), "{args:?}: {stderr}");
    }
    assert!(!out.exists(), "nothing was trained");
}

/// A configuration with a site table for news.example and one for a site
/// named "eval", both blocking "casino".
fn config_with_site_tables(directory: &Path) -> PathBuf {
    let config = directory.join("moderato.toml");
    std::fs::write(
        &config,
        "[rules.sites.\"news.example\"]\nblocked_terms = [\"casino\"]\n\
         [rules.sites.\"eval\"]\nblocked_terms = [\"casino\"]\n",
    )
    .unwrap();
    config
}

/// `check --site SITE` scores with that site's rules; without `--site`,
/// the global rules alone, never some site's table by accident.
#[test]
fn check_applies_a_site_table_only_for_that_site() {
    let directory = tempfile::tempdir().unwrap();
    let config = config_with_site_tables(directory.path());
    let check = |site: Option<&str>| {
        let mut command = moderato();
        command.arg("check").arg("--config").arg(&config);
        if let Some(site) = site {
            command.args(["--site", site]);
        }
        let output = succeeded(command.arg("the best casino in town"));
        (
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (stdout, _) = check(Some("news.example"));
    assert!(stdout.contains("blocked_term"), "{stdout}");
    let (stdout, _) = check(None);
    assert!(!stdout.contains("blocked_term"), "{stdout}");
    // A site without a table gets the global rules, and is told so (a
    // misspelt site would look the same).
    let (stdout, stderr) = check(Some("blog.example"));
    assert!(!stdout.contains("blocked_term"), "{stdout}");
    assert!(
        stderr.contains("no [rules.sites.\"blog.example\"] table"),
        "{stderr}"
    );

    let stderr = failed_with(
        2,
        moderato()
            .args(["check", "--site", "bad site", "--config"])
            .arg(&config)
            .arg("text"),
    );
    assert!(stderr.contains("--site"), "{stderr}");
}

/// `eval --site` scores a labelled file as comments of that site, so that
/// its table applies; without it, the global rules alone.
#[test]
fn eval_applies_a_site_table_only_for_that_site() {
    let directory = tempfile::tempdir().unwrap();
    let config = config_with_site_tables(directory.path());
    let data = directory.path().join("casino.tsv");
    std::fs::write(
        &data,
        "label\ttext\nham\tthe casino night raised money for the school\n\
         spam\twin big at the best casino in town\n",
    )
    .unwrap();
    let ham_rejected = |site: Option<&str>| {
        let mut command = moderato();
        command
            .args(["eval", "--json", "--config"])
            .arg(&config)
            .arg("--data")
            .arg(&data);
        if let Some(site) = site {
            command.args(["--site", site]);
        }
        let output = succeeded(&mut command);
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        report["verdicts"]["ham"]["reject"].as_u64().unwrap()
    };
    // The table blocks "casino": the ham comment is rejected for its site.
    assert_eq!(ham_rejected(Some("news.example")), 1);
    assert_eq!(ham_rejected(None), 0);
}
