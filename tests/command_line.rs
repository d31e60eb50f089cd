//! The `moderato` binary's commands, run as a user would run them.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;

use moderato::grpc::pb;
use sha2::{Digest, Sha256};

use crate::util::*;

/// `moderato train --data data --out model`, which must succeed.
fn train_into(data: &Path, model: &Path) -> std::process::Output {
    succeeded(
        moderato()
            .args(["train", "--data"])
            .arg(data)
            .arg("--out")
            .arg(model),
    )
}

fn write_corpus(directory: &Path) -> std::path::PathBuf {
    let path = directory.join("small.tsv");
    std::fs::write(&path, SMALL_CORPUS).unwrap();
    path
}

#[test]
fn eval_json_prints_the_documented_object() {
    let directory = tempfile::tempdir().unwrap();
    let data = write_corpus(directory.path());
    let output = succeeded(moderato().args(["eval", "--json", "--data"]).arg(&data));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["n"], 12);
    assert_eq!(report["spam"], 6);
    assert_eq!(report["ham"], 6);
    for key in ["accuracy", "precision", "recall", "f1", "mcc", "fpr", "auc"] {
        let value = report["binary"][key]
            .as_f64()
            .unwrap_or_else(|| panic!("binary.{key}"));
        assert!((-1.0..=1.0).contains(&value), "binary.{key} = {value}");
    }
    let verdict_total: u64 = ["ham", "spam"]
        .iter()
        .flat_map(|label| {
            ["allow", "review", "reject"].map(|v| report["verdicts"][label][v].as_u64().unwrap())
        })
        .sum();
    assert_eq!(verdict_total, 12);
    for key in ["ham_rejected_rate", "spam_allowed_rate", "review_rate"] {
        assert!(report["verdicts"][key].is_f64(), "verdicts.{key}");
    }
    assert!(report["model_version"]
        .as_str()
        .unwrap()
        .starts_with("default-"));
    assert!(report["seconds"].is_f64());
    // The built-in model tells this easy corpus apart.
    assert!(report["binary"]["auc"].as_f64().unwrap() > 0.9, "{report}");
}

#[test]
fn train_then_check_with_the_new_model() {
    let directory = tempfile::tempdir().unwrap();
    let data = write_corpus(directory.path());
    let model = directory.path().join("small-model.json");
    let output = train_into(&data, &model);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("small-model-"), "{stdout}");
    // linfa-bayes' leftover dbg! output must not reach the terminal.
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("ClassHistogram"), "{stderr}");

    let output = succeeded(
        moderato()
            .arg("check")
            .arg("--model")
            .arg(&model)
            .arg("please subscribe to my channel"),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("small-model-"), "{stdout}");
    assert!(stdout.contains("token"), "{stdout}");
}

/// `check` scores standard input as it scores the same text given as an
/// argument: the line break `echo` adds is not part of the comment (it
/// would change a short comment's length class, and so its score).
#[test]
fn check_reads_standard_input() {
    let from_standard_input = |text: &str| {
        let mut child = moderato()
            .arg("check")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let stdout = from_standard_input(SPAM_TEXT);
    assert!(!stdout.starts_with("verdict Allow"), "{stdout}");
    let short = "12345678901234567890";
    let as_argument = succeeded(moderato().args(["check", short]));
    let first_line = |text: &str| text.lines().next().unwrap_or_default().to_string();
    assert_eq!(
        first_line(&from_standard_input(&format!("{short}\n"))),
        first_line(&String::from_utf8_lossy(&as_argument.stdout)),
    );
}

/// `check` and `eval` refuse or leave out the comments the service
/// refuses (an empty one, one over the size limit), as `serve` would: a
/// script that checks `"$COMMENT"` with the variable unset gets an error,
/// not a verdict on nothing, and the figures are of comments the service
/// scores.
#[test]
fn check_and_eval_refuse_the_comments_the_service_refuses() {
    let too_long = "word ".repeat(20_000);
    for text in ["", "  \n\t", too_long.as_str()] {
        let output = moderato().args(["check", "--", text]).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{:?}",
            &text[..text.len().min(20)]
        );
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("the service refuses such a comment (INVALID_ARGUMENT)"),
            "{stderr}"
        );
    }
    let directory = tempfile::tempdir().unwrap();
    let data = directory.path().join("with_blanks.tsv");
    std::fs::write(
        &data,
        format!("{SMALL_CORPUS}\nham\t   \nspam\t{too_long}\n"),
    )
    .unwrap();
    let whole = |path: &Path| {
        let output = succeeded(moderato().args(["eval", "--json", "--data"]).arg(path));
        let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        (report, String::from_utf8_lossy(&output.stderr).into_owned())
    };
    let (with_blanks, stderr) = whole(&data);
    let (without, _) = whole(&write_corpus(directory.path()));
    assert!(
        stderr.contains("left out 2 of "),
        "the left-out comments are counted: {stderr}"
    );
    assert_eq!(with_blanks["binary"], without["binary"]);
    let blank_only = directory.path().join("blank.tsv");
    std::fs::write(&blank_only, "label\ttext\nham\t \nspam\t\t\n").unwrap();
    let output = moderato()
        .args(["eval", "--data"])
        .arg(&blank_only)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("nothing to evaluate"), "{stderr}");
}

/// A comment that begins with a hyphen is scored after `--`; without it,
/// it is refused with that advice, as a mistyped flag is (never scored as
/// the comment).
#[test]
fn check_scores_a_comment_that_begins_with_a_hyphen_after_two_hyphens() {
    for text in ["-1 for this, the council got it wrong", "-----> see below"] {
        let output = succeeded(moderato().args(["check", "--", text]));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(stdout.starts_with("verdict "), "{text}: {stdout}");
        let output = moderato().args(["check", text]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{text}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains("-- "), "{text}: {stderr}");
    }
    let output = moderato()
        .args(["check", "--nmae=Bob", "hello"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}

/// The form's name and website fields reach the rules offline too.
#[test]
fn check_reads_the_authors_name_and_website() {
    const READERS_TEXT: &str =
        "I went to the council meeting last night; the library plans were discussed at length.";
    let check = |author: &[&str]| {
        let output = succeeded(moderato().arg("check").args(author).arg(READERS_TEXT));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let advertised = check(&[
        "--name",
        "Mike",
        "--website",
        "https://fast-payday-loans.example/apply",
    ]);
    assert!(advertised.starts_with("verdict Review"), "{advertised}");
    assert!(advertised.contains("author_keyword"), "{advertised}");
    assert!(advertised.contains("\"payday loans\""), "{advertised}");
    let plain = check(&["--name", "Mike", "--website", "https://mike.example"]);
    assert!(plain.starts_with("verdict Allow"), "{plain}");
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("moderato.toml");
    std::fs::write(
        &config,
        "[rules]\nblocked_emails = [\"bot@spam.example\"]\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let blocked = check(&["--config", config, "--email", "Bot@Spam.example"]);
    assert!(blocked.starts_with("verdict Reject"), "{blocked}");
    assert!(blocked.contains("blocked_email"), "{blocked}");
}

/// A configuration that cannot be read fails `check` at once, before it
/// waits for a comment on standard input (here one that never ends).
#[test]
fn check_refuses_a_bad_configuration_before_reading_standard_input() {
    let directory = tempfile::tempdir().unwrap();
    let mut child = ChildGuard(
        moderato()
            .arg("check")
            .arg("--config")
            .arg(directory.path().join("missing.toml"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    // Standard input stays open: a command that read it first would wait.
    let _input = child.0.stdin.take();
    let stderr = child.failure_within_30_seconds(
        "check waited for standard input before refusing the configuration",
    );
    assert!(stderr.contains("missing.toml"), "{stderr}");
}

#[test]
fn keys_new_prints_a_token_and_its_hash() {
    let output = succeeded(moderato().args([
        "keys",
        "new",
        "--role",
        "site",
        "--site",
        "news.example",
        "--name",
        "news",
    ]));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // The token is on standard error only: appending standard output to
    // the configuration never writes it there.
    let token = stderr
        .lines()
        .find(|line| line.starts_with("mdr_"))
        .unwrap_or_else(|| panic!("no token in {stderr}"));
    assert!(!stdout.contains(token), "{stdout}");
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    assert!(
        stdout.contains(&format!("token_sha256 = \"{hash}\"")),
        "{stdout}"
    );
    // Standard output is a valid configuration as it is.
    let config =
        moderato::config::Config::from_toml("printed", &stdout, &Default::default()).unwrap();
    assert_eq!(config.keys[0].sites, vec!["news.example".to_string()]);

    let refused = moderato()
        .args(["keys", "new", "--role", "site"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let refused = moderato()
        .args(["keys", "new", "--role", "moderator", "--name", " "])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--name"));
}

/// Two keys made alike, without `--name`, can both go into one
/// configuration: their default names differ.
#[test]
fn keys_made_alike_get_names_of_their_own() {
    let block = || {
        let output = succeeded(moderato().args(["keys", "new", "--role", "moderator"]));
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|line| !line.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let both = format!("{}\n{}", block(), block());
    let config = moderato::config::Config::from_toml("printed", &both, &Default::default())
        .unwrap_or_else(|error| panic!("{error}: {both}"));
    assert_eq!(config.keys.len(), 2);
    assert_ne!(config.keys[0].name, config.keys[1].name);
}

#[test]
fn serve_refuses_an_unknown_config_key_by_name() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("moderato.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\nthreshold = 0.5\n").unwrap();
    let output = moderato()
        .arg("serve")
        .arg("--config")
        .arg(&config)
        .arg("--data-dir")
        .arg(directory.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("threshold"), "{stderr}");
    assert!(stderr.contains("moderato.toml"), "{stderr}");
}

/// An environment variable set to nothing counts as not set, and a bad
/// flag value is blamed on the flag, not on a configuration file.
#[test]
fn blank_environment_values_are_not_set_and_bad_flags_are_named() {
    let directory = tempfile::tempdir().unwrap();
    let output = moderato()
        .args(["serve", "--metrics", "nowhere"])
        .arg("--data-dir")
        .arg(directory.path().join("data"))
        .env("MODERATO_LISTEN", "")
        .env("MODERATO_CONFIG", "")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--metrics: \"nowhere\""), "{stderr}");
    assert!(!stderr.contains("listen"), "{stderr}");
    assert!(!stderr.contains("config"), "{stderr}");

    // A blank data directory is the default one (`./data` where the
    // command runs), not a directory named by spaces: with `./data` a
    // file, the start fails naming it.
    std::fs::write(directory.path().join("data"), "not a directory").unwrap();
    let mut child = ChildGuard(
        moderato()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .current_dir(directory.path())
            .env("MODERATO_DATA_DIR", "  ")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let stderr = child
        .failure_within_30_seconds("serve started on a blank MODERATO_DATA_DIR instead of ./data");
    assert!(stderr.contains("data"), "{stderr}");
    assert!(!directory.path().join("  ").exists());
}

/// A blank flag counts as not set, as a blank variable does: the variable
/// behind it then applies, as it would had the flag not been typed.
#[test]
fn a_blank_flag_leaves_its_environment_variable_in_force() {
    let directory = tempfile::tempdir().unwrap();
    let missing = directory.path().join("missing.toml");
    let output = moderato()
        .args(["serve", "--config", " ", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(directory.path().join("data"))
        .env("MODERATO_CONFIG", &missing)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing.toml"), "{stderr}");

    let output = moderato()
        .args(["queue", "list", "--token", " ", "--server", "  "])
        .env("MODERATO_TOKEN", "T")
        .env("MODERATO_SERVER", "http://127.0.0.1:1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("cannot connect to http://127.0.0.1:1"),
        "{stderr}"
    );
}

/// A console address that cannot be bound stops the start before the
/// service says it is ready: a supervisor waiting for the ready line never
/// takes a dead service for a live one. Nor does the start announce an
/// admin token for a service that never ran.
#[test]
fn serve_says_ready_only_once_every_listener_is_bound() {
    let directory = tempfile::tempdir().unwrap();
    // 192.0.2.1 (TEST-NET-1) is no address of this machine.
    let output = moderato()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--console",
            "192.0.2.1:8080",
        ])
        .arg("--data-dir")
        .arg(directory.path().join("data"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("192.0.2.1:8080"), "{stderr}");
    assert!(!stdout.contains("ready to serve"), "{stdout}");
    assert!(!stderr.contains("ready to serve"), "{stderr}");
    assert!(!stdout.contains("admin token"), "{stdout}");
}

/// The real binary: starts on port 0 with no keys, logs where its admin
/// token is and where it listens, serves a call, and stops on SIGTERM.
#[tokio::test]
async fn serve_starts_answers_and_stops_on_sigterm() {
    let directory = tempfile::tempdir().unwrap();
    let server = ServeProcess::start(directory.path()).await;
    let address = server.address.clone();
    let token = std::fs::read_to_string(directory.path().join("admin.token")).unwrap();
    let mut client = pb::moderation_client::ModerationClient::connect(format!("http://{address}"))
        .await
        .unwrap();
    let response = client
        .check_comment(with_token(token.trim(), comment("c1", HAM_TEXT)))
        .await
        .unwrap()
        .into_inner();
    assert!(response.stored);

    send_sigterm(&server.child);
    let (status, rest) = exit_and_log(server).await;
    assert!(status.success(), "exit status {status:?}");
    assert!(
        rest.iter().any(|line| line.contains("storage flushed")),
        "{rest:?}"
    );
}

/// Starts the real binary and holds a `CheckComments` stream open on it
/// (one comment sent and answered, then nothing): the kind of call that
/// would hold a stop until its idle limit, a minute by default.
async fn serve_with_an_open_stream(
    directory: &Path,
) -> (
    ServeProcess,
    tokio::sync::mpsc::Sender<pb::CheckCommentRequest>,
    tonic::Streaming<pb::CheckCommentResponse>,
) {
    let server = ServeProcess::start(directory).await;
    let token = std::fs::read_to_string(directory.join("admin.token")).unwrap();
    let (sender, mut answers) = open_comment_stream(server.channel().await, token.trim())
        .await
        .unwrap();
    let mut first = comment("s1", HAM_TEXT);
    first.site_id = "news.example".to_string();
    sender.send(first).await.unwrap();
    assert!(answers.message().await.unwrap().unwrap().stored);
    (server, sender, answers)
}

fn send_sigterm(child: &std::process::Child) {
    assert!(send_signal(child.id(), libc::SIGTERM));
}

/// Waits for the server to exit; gives its status and the log lines it
/// wrote after the ready line.
async fn exit_and_log(mut server: ServeProcess) -> (std::process::ExitStatus, Vec<String>) {
    tokio::task::spawn_blocking(move || {
        // Read to the end first: a server that logs more than the pipe
        // holds would otherwise block on a write and never exit.
        let rest: Vec<String> = (&mut server.log)
            .lines()
            .map(|line| line.unwrap())
            .collect();
        let status = server.child.wait().unwrap();
        (status, rest)
    })
    .await
    .unwrap()
}

/// A stop waits for open calls only for its grace period: a stream left
/// open does not hold it for the stream's idle limit.
#[tokio::test]
async fn an_open_stream_holds_a_stop_only_for_its_grace_period() {
    let directory = tempfile::tempdir().unwrap();
    let (server, _sender, _answers) = serve_with_an_open_stream(directory.path()).await;
    send_sigterm(&server.child);
    let (status, rest) = exit_and_log(server).await;
    assert!(status.success(), "exit status {status:?}");
    assert!(
        rest.iter().any(|line| line.contains("are not waited for")),
        "{rest:?}"
    );
    assert!(
        rest.iter().any(|line| line.contains("storage flushed")),
        "{rest:?}"
    );
}

/// A second stop signal stops at once, with its own exit status.
#[tokio::test]
async fn a_second_stop_signal_stops_at_once() {
    let directory = tempfile::tempdir().unwrap();
    let (mut server, _sender, _answers) = serve_with_an_open_stream(directory.path()).await;
    send_sigterm(&server.child);
    // The second signal is sent once the first one was taken in.
    let log = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(
                server.log.read_line(&mut line).unwrap() > 0,
                "the server exited"
            );
            if line.contains("stop signal received") {
                return server;
            }
        }
    });
    let server = log.await.unwrap();
    send_sigterm(&server.child);
    let (status, rest) = exit_and_log(server).await;
    // 128 and SIGTERM's number, as a shell reports a process it ended.
    assert_eq!(status.code(), Some(143), "{rest:?}");
    assert!(
        rest.iter().any(|line| line.contains("second stop signal")),
        "{rest:?}"
    );
}

/// Kills the child process if the test ends before it exited.
struct ChildGuard(std::process::Child);

impl ChildGuard {
    /// Waits up to 30 s for the command to exit with status 1 (`waited`
    /// says what it means if it does not) and gives its standard error,
    /// which must be piped.
    fn failure_within_30_seconds(&mut self, waited: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let status = loop {
            if let Some(status) = self.0.try_wait().unwrap() {
                break status;
            }
            assert!(std::time::Instant::now() < deadline, "{waited}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut self.0.stderr.take().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.code(), Some(1), "{stderr}");
        stderr
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `moderato serve` on a configuration file, its log lines read as they
/// come by a thread of their own.
struct ServeWithConfig {
    child: ChildGuard,
    lines: std::sync::mpsc::Receiver<String>,
    address: String,
}

impl ServeWithConfig {
    /// Starts the service and waits until it says it is ready.
    fn start(config: &Path, data_dir: &Path) -> ServeWithConfig {
        let mut child = ChildGuard(
            moderato()
                .args(["serve", "--listen", "127.0.0.1:0", "--config"])
                .arg(config)
                .arg("--data-dir")
                .arg(data_dir)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        let stdout = child.0.stdout.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = ServeWithConfig {
            child,
            lines,
            address: String::new(),
        };
        let ready = server.wait_for("ready to serve");
        server.address = ready
            .split_whitespace()
            .find_map(|field| field.strip_prefix("address="))
            .unwrap()
            .to_string();
        server
    }

    /// The next log line holding `needle`, each line awaited 20 s at most.
    fn wait_for(&self, needle: &str) -> String {
        loop {
            let line = self
                .lines
                .recv_timeout(std::time::Duration::from_secs(20))
                .unwrap_or_else(|_| panic!("no log line with {needle:?}"));
            if line.contains(needle) {
                return line;
            }
        }
    }

    /// Sends SIGHUP.
    fn hangup(&self) {
        assert!(send_signal(self.child.0.id(), libc::SIGHUP));
    }
}

/// SIGHUP reloads the rules from the configuration file; a bad file is
/// logged and refused while the server keeps the rules it had.
#[tokio::test]
async fn sighup_reloads_the_rules_and_refuses_a_bad_file() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("moderato.toml");
    std::fs::write(&config, "[rules]\nblocked_terms = [\"free money\"]\n").unwrap();
    let server = ServeWithConfig::start(&config, directory.path());
    let address = server.address.clone();
    let token = std::fs::read_to_string(directory.path().join("admin.token")).unwrap();
    let client = pb::moderation_client::ModerationClient::connect(format!("http://{address}"))
        .await
        .unwrap();
    let has_blocked_term = |id: &str, text: &str| {
        let request = with_token(
            token.trim(),
            pb::CheckCommentRequest {
                dry_run: true,
                ..comment(id, text)
            },
        );
        let mut client = client.clone();
        async move {
            let response = client.check_comment(request).await.unwrap().into_inner();
            response
                .reasons
                .iter()
                .any(|reason| reason.code == "blocked_term")
        }
    };
    assert!(has_blocked_term("a", "get fr3e m0ney").await);

    std::fs::write(&config, "[rules]\nblocked_terms = [\"casino\"\n").unwrap();
    server.hangup();
    let refused = server.wait_for("keys stay in force");
    assert!(refused.contains("line"), "{refused}");
    assert!(has_blocked_term("b", "get fr3e m0ney").await);

    std::fs::write(&config, "[rules]\nblocked_terms = [\"casino\"]\n").unwrap();
    server.hangup();
    server.wait_for("rules, thresholds and keys reloaded");
    assert!(has_blocked_term("c", "the best casino").await);
    assert!(!has_blocked_term("d", "get fr3e m0ney").await);
}

#[test]
fn a_reader_that_stops_early_ends_the_command_quietly() {
    let directory = tempfile::tempdir().unwrap();
    let data = write_corpus(directory.path());
    let mut child = moderato()
        .args(["eval", "--data"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before the command has written anything, as
    // `moderato eval | head -0` would.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

#[test]
fn train_names_a_dotted_output_and_will_not_overwrite_its_data() {
    let directory = tempfile::tempdir().unwrap();
    let data = write_corpus(directory.path());
    let model = directory.path().join("model.v2.json");
    let output = train_into(&data, &model);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("version model-v2-"), "{stdout}");
    // Only the model is left: no temporary file beside it.
    let mut names: Vec<String> = std::fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["model.v2.json", "small.tsv"]);
    // Readable by the service, which may run as another user.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&model).unwrap().permissions().mode();
        assert_eq!(mode & 0o044, 0o044, "mode {mode:o}");
    }

    // The corpus given as the output is refused before training, and kept.
    let output = moderato()
        .args(["train", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&data)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("also a --data file"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&data).unwrap(), SMALL_CORPUS);
}

#[test]
fn eval_uses_the_configured_model_and_refuses_files_without_comments() {
    let directory = tempfile::tempdir().unwrap();
    let data = write_corpus(directory.path());
    let model = directory.path().join("site.json");
    train_into(&data, &model);
    let config = directory.path().join("moderato.toml");
    std::fs::write(
        &config,
        format!("model = {:?}\n", model.display().to_string()),
    )
    .unwrap();
    let output = succeeded(
        moderato()
            .args(["eval", "--json", "--config"])
            .arg(&config)
            .arg("--data")
            .arg(&data),
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let version = report["model_version"].as_str().unwrap();
    assert!(version.starts_with("site-"), "{version}");
    // The service's MODERATO_CONFIG, exported in the shell, changes
    // nothing offline: without `--model` or `--config`, the default model
    // and thresholds (operations.md), and `check` alike.
    let output = succeeded(
        moderato()
            .args(["eval", "--json", "--data"])
            .arg(&data)
            .env("MODERATO_CONFIG", &config),
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("configuration:"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let default_version = report["model_version"].as_str().unwrap();
    assert!(default_version.starts_with("default-"), "{default_version}");
    let output = succeeded(
        moderato()
            .args(["check", "Thanks for the article"])
            .env("MODERATO_CONFIG", directory.path().join("missing.toml")),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains(default_version), "{stdout}");

    let empty = directory.path().join("empty.tsv");
    std::fs::write(&empty, "label\ttext\n").unwrap();
    let output = moderato()
        .args(["eval", "--data"])
        .arg(&empty)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no labelled comment in") && stderr.contains("empty.tsv"),
        "{stderr}"
    );
}

/// The README says logs never hold tokens or e-mail addresses: at `debug`,
/// where every call gets a line, through refusals, warnings and a stop.
#[tokio::test]
async fn logs_hold_no_token_and_no_email_address() {
    use std::io::Read;
    let directory = tempfile::tempdir().unwrap();
    let mut server =
        ServeProcess::start_with_environment(directory.path(), &[("RUST_LOG", "debug")]).await;
    let token = std::fs::read_to_string(directory.path().join("admin.token")).unwrap();
    let token = token.trim();
    let wrong_token = "wrong-token-3f9a1c77b2";
    let email = "reader.hidden4821@mail.example";
    let channel = server.channel().await;
    let mut moderation = pb::moderation_client::ModerationClient::new(channel.clone());
    let by_reader = |comment_id: &str, text: &str| pb::CheckCommentRequest {
        author: Some(pb::Author {
            name: "Hidden Reader".to_string(),
            email: email.to_string(),
            ..Default::default()
        }),
        ..comment(comment_id, text)
    };
    let checked = moderation
        .check_comment(with_token(token, by_reader("l1", SPAM_TEXT)))
        .await
        .unwrap()
        .into_inner();
    // A refused token, a refused field, a label and a report.
    let refused = moderation
        .check_comment(with_token(wrong_token, by_reader("l2", HAM_TEXT)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let mut bad = by_reader("l3", HAM_TEXT);
    bad.author.as_mut().unwrap().ip = "not an address".to_string();
    let refused = moderation
        .check_comment(with_token(token, bad))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let mut review = pb::review_client::ReviewClient::new(channel);
    review
        .resolve_items(with_token(
            token,
            pb::ResolveItemsRequest {
                decision_ids: vec![checked.decision_id.clone()],
                label: pb::Label::Ham.into(),
                note: format!("written to {email}"),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    // A report, as a site sends one: the comment named by its own id, and
    // the reader's address in the note.
    let reported = moderation
        .check_comment(with_token(token, by_reader("l4", HAM_TEXT)))
        .await
        .unwrap()
        .into_inner();
    let report = moderation
        .report_comment(with_token(
            token,
            pb::ReportCommentRequest {
                site_id: NEWS_SITE.to_string(),
                comment_id: "l4".to_string(),
                label: pb::Label::Spam.into(),
                note: format!("spam sent from {email}"),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let report = report.decision.expect("the report gives the decision");
    assert_eq!(report.decision_id, reported.decision_id);
    send_sigterm(&server.child);
    // Standard error is read beside standard output, so that neither
    // pipe fills while the other is read.
    let mut stderr = server.child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut errors = String::new();
        stderr.read_to_string(&mut errors).unwrap();
        errors
    });
    let (status, lines) = exit_and_log(server).await;
    let errors = errors.join().unwrap();
    assert!(status.success(), "exit status {status:?}");
    let log = format!("{}\n{errors}", lines.join("\n"));
    // The log is there to be read: the calls made their lines.
    assert!(log.contains("CheckComment"), "{log}");
    assert!(log.contains("ReportComment"), "{log}");
    for secret in [token, wrong_token, email, "reader.hidden4821"] {
        assert!(!log.contains(secret), "the log holds {secret:?}:\n{log}");
    }
}

/// A `[[keys]]` block for the configuration file.
fn key_block(name: &str, role: &str, site: Option<&str>, token: &str) -> String {
    let hash: String = Sha256::digest(token.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let sites = site.map_or(String::new(), |site| format!("sites = [\"{site}\"]\n"));
    format!("[[keys]]\nname = \"{name}\"\nrole = \"{role}\"\n{sites}token_sha256 = \"{hash}\"\n")
}

/// SIGHUP with new keys: a removed key is refused, and a stream opened
/// under the old keys ends (rather than going on serving a removed key).
#[tokio::test]
async fn sighup_replaces_the_keys_and_ends_streams_opened_under_the_old_ones() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("moderato.toml");
    std::fs::write(
        &config,
        key_block("news", "site", Some(NEWS_SITE), NEWS_TOKEN),
    )
    .unwrap();
    let server = ServeWithConfig::start(&config, directory.path());
    let address = server.address.clone();
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = pb::moderation_client::ModerationClient::new(channel.clone());
    let (comments, mut answers) = open_comment_stream(channel, NEWS_TOKEN).await.unwrap();
    comments.send(comment("k1", HAM_TEXT)).await.unwrap();
    assert!(answers.message().await.unwrap().unwrap().stored);

    // A reload that leaves the keys as they were (the thresholds change)
    // leaves the stream open.
    std::fs::write(
        &config,
        format!(
            "[thresholds]\nreview = 0.6\nreject = 0.95\n{}",
            key_block("news", "site", Some(NEWS_SITE), NEWS_TOKEN)
        ),
    )
    .unwrap();
    server.hangup();
    let reloaded = server.wait_for("keys reloaded");
    assert!(reloaded.contains("keys_changed=false"), "{reloaded}");
    comments.send(comment("k1b", HAM_TEXT)).await.unwrap();
    assert!(answers.message().await.unwrap().unwrap().stored);

    let new_token = "a-token-made-after-the-leak";
    std::fs::write(
        &config,
        key_block("news-2", "site", Some(NEWS_SITE), new_token),
    )
    .unwrap();
    server.hangup();
    let reloaded = server.wait_for("keys reloaded");
    assert!(reloaded.contains("keys_changed=true"), "{reloaded}");

    comments.send(comment("k2", HAM_TEXT)).await.unwrap();
    let ended = answers.message().await.unwrap_err();
    assert_eq!(ended.code(), tonic::Code::Unavailable, "{ended:?}");
    assert!(ended.message().contains("keys were reloaded"), "{ended:?}");
    let refused = client
        .check_comment(with_token(NEWS_TOKEN, comment("k3", HAM_TEXT)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let answer = client
        .check_comment(with_token(new_token, comment("k4", HAM_TEXT)))
        .await
        .unwrap()
        .into_inner();
    assert!(answer.stored);
}

/// SIGHUP with new keys ends an export opened under the old ones: a
/// moderator key removed (or narrowed) must not go on reading corrections
/// on a stream it opened before.
#[tokio::test]
async fn sighup_that_replaces_the_keys_ends_an_export_opened_under_the_old_ones() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("moderato.toml");
    let keys = format!(
        "{}{}",
        key_block("news", "site", Some(NEWS_SITE), NEWS_TOKEN),
        key_block("moderators", "moderator", Some(NEWS_SITE), MODERATOR_TOKEN)
    );
    std::fs::write(&config, &keys).unwrap();
    let server = ServeWithConfig::start(&config, directory.path());
    // HTTP/2's smallest windows, so that the server can send little more
    // than what the client has read.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.address))
        .unwrap()
        .initial_stream_window_size(65_535)
        .initial_connection_window_size(65_535)
        .connect()
        .await
        .unwrap();
    let mut moderation = pb::moderation_client::ModerationClient::new(channel.clone());
    let mut review = pb::review_client::ReviewClient::new(channel);
    // Long comments, so that the transport's window holds few of them and
    // most are still to be read when the keys change.
    let long = [HAM_TEXT; 600].join(" ");
    let mut decision_ids = Vec::new();
    for index in 0..20 {
        let answer = moderation
            .check_comment(with_token(NEWS_TOKEN, comment(&format!("e{index}"), &long)))
            .await
            .unwrap()
            .into_inner();
        decision_ids.push(answer.decision_id);
    }
    review
        .resolve_items(with_token(
            MODERATOR_TOKEN,
            pb::ResolveItemsRequest {
                decision_ids,
                label: pb::Label::Spam.into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap();
    let mut export = review
        .export_corrections(with_token(
            MODERATOR_TOKEN,
            pb::ExportCorrectionsRequest::default(),
        ))
        .await
        .unwrap()
        .into_inner();
    assert!(export.message().await.unwrap().is_some());

    // The moderators' key is removed.
    std::fs::write(
        &config,
        key_block("news", "site", Some(NEWS_SITE), NEWS_TOKEN),
    )
    .unwrap();
    server.hangup();
    let reloaded = server.wait_for("keys reloaded");
    assert!(reloaded.contains("keys_changed=true"), "{reloaded}");
    // What the transport held already may still come; then the end.
    let mut received = 1;
    let ended = loop {
        match export.message().await {
            Ok(Some(_)) => received += 1,
            Ok(None) => panic!("the export ended cleanly after {received} corrections"),
            Err(status) => break status,
        }
    };
    assert!(received < 20, "all {received} corrections were sent");
    assert_eq!(ended.code(), tonic::Code::Unavailable, "{ended:?}");
    assert!(ended.message().contains("keys were reloaded"), "{ended:?}");
}

/// A call that waited for a place while a reload removed its key is
/// refused once admitted, before it does anything: the key is looked up
/// again under the keys in force.
#[tokio::test]
async fn a_call_that_waited_through_a_reload_that_removed_its_key_is_refused() {
    let directory = tempfile::tempdir().unwrap();
    let config = directory.path().join("moderato.toml");
    let limits = "[limits]\nmax_concurrent_calls = 1\nmax_concurrent_calls_per_key = 1\nmax_wait_ms = 20000\n";
    let news = key_block("news", "site", Some(NEWS_SITE), NEWS_TOKEN);
    let blog = key_block("blog", "site", Some(BLOG_SITE), BLOG_TOKEN);
    std::fs::write(&config, format!("{limits}{news}{blog}")).unwrap();
    let server = ServeWithConfig::start(&config, directory.path());
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.address))
        .unwrap()
        .connect()
        .await
        .unwrap();
    // The news key's open stream holds the only place.
    let (comments, mut answers) = open_comment_stream(channel.clone(), NEWS_TOKEN)
        .await
        .unwrap();
    comments.send(comment("held", HAM_TEXT)).await.unwrap();
    assert!(answers.message().await.unwrap().unwrap().stored);
    // The blog's call waits for it.
    let mut client = pb::moderation_client::ModerationClient::new(channel);
    let blog_comment = pb::CheckCommentRequest {
        site_id: BLOG_SITE.to_string(),
        ..comment("waited", HAM_TEXT)
    };
    let waiting = tokio::spawn(async move {
        client
            .check_comment(with_token(BLOG_TOKEN, blog_comment))
            .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "the blog's call did not wait");
    // The blog's key is removed while its call waits; then the place frees.
    std::fs::write(&config, format!("{limits}{news}")).unwrap();
    server.hangup();
    let reloaded = server.wait_for("keys reloaded");
    assert!(reloaded.contains("keys_changed=true"), "{reloaded}");
    drop(comments);
    assert!(answers.message().await.unwrap().is_none());
    let refused = waiting.await.unwrap().unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
}
