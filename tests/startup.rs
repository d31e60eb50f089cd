//! Faults at start-up, with the real binary: a corrupt or truncated model
//! file, a bad configuration, a data directory that cannot be used (not a
//! directory, unreadable, full) and a second server on the same directory.
//! Each gives one line on standard error naming the file or directory and
//! exit status 1, and what was stored before is still there afterwards.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output};

use moderato::grpc::pb;

use crate::util::*;

/// `moderato serve` on `data_dir`, with `extra` arguments, to completion.
fn serve_until_exit(data_dir: &Path, extra: &[&std::ffi::OsStr]) -> Output {
    serve_command(data_dir, extra).output().unwrap()
}

fn serve_command(data_dir: &Path, extra: &[&std::ffi::OsStr]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_moderato"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data_dir)
        .args(extra)
        .env_remove("MODERATO_CONFIG");
    command
}

/// The refusal: exit status 1 and one line on standard error that names
/// `what`; returns that line.
fn one_line_refusal(output: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].contains(what), "{what:?} not named: {stderr}");
    lines[0].to_string()
}

/// Stores one decision through a real server and stops it; returns its id.
async fn store_one_decision(data_dir: &Path) -> String {
    let server = ServeProcess::start(data_dir).await;
    let token = std::fs::read_to_string(data_dir.join("admin.token")).unwrap();
    let mut client = pb::moderation_client::ModerationClient::new(server.channel().await);
    let response = client
        .check_comment(with_token(token.trim(), comment("kept", HAM_TEXT)))
        .await
        .unwrap()
        .into_inner();
    assert!(response.stored);
    drop(server);
    response.decision_id
}

/// Starts a server on `data_dir` again and reads the decision back.
async fn assert_decision_kept(data_dir: &Path, decision_id: &str) {
    let server = ServeProcess::start(data_dir).await;
    let token = std::fs::read_to_string(data_dir.join("admin.token")).unwrap();
    let mut client = pb::moderation_client::ModerationClient::new(server.channel().await);
    let decision = client
        .get_decision(with_token(
            token.trim(),
            pb::GetDecisionRequest {
                decision_id: decision_id.to_string(),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision.decision_id, decision_id);
}

#[tokio::test]
async fn a_corrupt_or_truncated_model_file_is_named_and_nothing_stored_is_touched() {
    let directory = tempfile::tempdir().unwrap();
    let data_dir = directory.path().join("data");
    let decision_id = store_one_decision(&data_dir).await;

    // Serves with `model = <path>` in a configuration file.
    let serve_with_model = |model: &Path| {
        let config = directory.path().join("with-model.toml");
        std::fs::write(&config, format!("model = {model:?}\n")).unwrap();
        serve_until_exit(&data_dir, &["--config".as_ref(), config.as_os_str()])
    };
    let garbage = directory.path().join("garbage-model.json");
    std::fs::write(&garbage, b"\x00\x01 not a model").unwrap();
    one_line_refusal(&serve_with_model(&garbage), "garbage-model.json");

    let model =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.json")).unwrap();
    let truncated = directory.path().join("truncated-model.json");
    std::fs::write(&truncated, &model[..model.len() / 2]).unwrap();
    one_line_refusal(&serve_with_model(&truncated), "truncated-model.json");

    let missing = directory.path().join("missing-model.json");
    let refusal = one_line_refusal(&serve_with_model(&missing), "missing-model.json");
    assert!(refusal.contains("configuration's model"), "{refusal}");
    assert!(!refusal.contains("working directory"), "{refusal}");
    // The configuration file is named too: that is where to look.
    let config = directory.path().join("with-model.toml");
    assert!(
        refusal.ends_with(&format!("(set in {})", config.display())),
        "{refusal}"
    );
    // For a relative path the working directory is named too: a path read
    // from another working directory than meant is the usual cause.
    let relative = directory.path().join("relative-model.toml");
    std::fs::write(&relative, "model = \"missing-model.json\"\n").unwrap();
    let refused = serve_command(&data_dir, &["--config".as_ref(), relative.as_os_str()])
        .current_dir(directory.path())
        .output()
        .unwrap();
    let refusal = one_line_refusal(&refused, "missing-model.json");
    assert!(refusal.contains("configuration's model"), "{refusal}");
    assert!(
        refusal.contains(&format!(
            "working directory, {}",
            directory.path().display()
        )),
        "{refusal}"
    );

    assert_decision_kept(&data_dir, &decision_id).await;
}

#[tokio::test]
async fn a_bad_configuration_is_named_with_its_line() {
    let directory = tempfile::tempdir().unwrap();
    let data_dir = directory.path().join("data");
    let decision_id = store_one_decision(&data_dir).await;
    let config = directory.path().join("broken.toml");
    std::fs::write(&config, "listen = \"127.0.0.1:0\"\n[rules\n").unwrap();
    let output = serve_until_exit(&data_dir, &["--config".as_ref(), config.as_os_str()]);
    let line = one_line_refusal(&output, "broken.toml");
    assert!(line.contains("line 2"), "{line}");
    assert_decision_kept(&data_dir, &decision_id).await;
}

#[tokio::test]
async fn a_data_directory_that_is_a_file_is_named() {
    let directory = tempfile::tempdir().unwrap();
    let file = directory.path().join("not-a-directory");
    std::fs::write(&file, "x").unwrap();
    let output = serve_until_exit(&file, &[]);
    one_line_refusal(&output, "not-a-directory");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "x",
        "left as it was"
    );
}

#[tokio::test]
async fn an_unreadable_data_directory_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let directory = tempfile::tempdir().unwrap();
    // The parent must be open to the unprivileged user below.
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = directory.path().join("locked-data");
    let decision_id = store_one_decision(&data_dir).await;
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut command = serve_command(&data_dir, &[]);
    // The superuser reads every directory; the server then runs as `nobody`
    // (std also drops the supplementary groups).
    // SAFETY: geteuid only reads the process's user id.
    if unsafe { libc::geteuid() } == 0 {
        command.uid(65534).gid(65534);
    }
    let output = command.output().unwrap();
    one_line_refusal(&output, "locked-data");
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_decision_kept(&data_dir, &decision_id).await;
}

#[tokio::test]
async fn a_full_disk_at_start_up_is_named() {
    let directory = tempfile::tempdir().unwrap();
    let data_dir = directory.path().join("full-data");
    let mut command = serve_command(&data_dir, &[]);
    // A file-size limit of 0 bytes makes every write fail as on a full disk
    // (EFBIG instead of ENOSPC); SIGXFSZ is ignored so that the write fails
    // instead of killing the process.
    // SAFETY: signal is async-signal-safe; setrlimit is not on POSIX's list
    // but is a plain system call on Linux, and nothing else runs between
    // fork and exec.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let output = command.output().unwrap();
    one_line_refusal(&output, "full-data");
}

#[tokio::test]
async fn a_second_server_on_the_same_directory_is_refused_and_the_first_goes_on() {
    let directory = tempfile::tempdir().unwrap();
    let data_dir = directory.path().join("data");
    let first = ServeProcess::start(&data_dir).await;
    let token = std::fs::read_to_string(data_dir.join("admin.token")).unwrap();
    let mut client = pb::moderation_client::ModerationClient::new(first.channel().await);
    let before = client
        .check_comment(with_token(token.trim(), comment("before", HAM_TEXT)))
        .await
        .unwrap()
        .into_inner();

    let output = serve_until_exit(&data_dir, &[]);
    let line = one_line_refusal(&output, &data_dir.display().to_string());
    assert!(
        line.contains("in use by another moderato process"),
        "{line}"
    );

    // The first server still answers and still has what it stored.
    let after = client
        .check_comment(with_token(token.trim(), comment("after", HAM_TEXT)))
        .await
        .unwrap()
        .into_inner();
    assert!(after.stored);
    let again = client
        .check_comment(with_token(token.trim(), comment("before", HAM_TEXT)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(again.decision_id, before.decision_id);
}

#[tokio::test]
async fn a_start_refused_for_a_busy_port_or_a_missing_certificate_leaves_the_models_as_they_were() {
    let directory = tempfile::tempdir().unwrap();
    let data_dir = directory.path().join("data");
    store_one_decision(&data_dir).await;
    // A model the registry does not hold yet: the built-in one under
    // another version.
    let other = directory.path().join("other.json");
    let model =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("models/default.json"))
            .unwrap();
    let (before_version, after_version) = model.split_once(r#""version":""#).unwrap();
    let (_, rest) = after_version.split_once('"').unwrap();
    std::fs::write(
        &other,
        format!(r#"{before_version}"version":"other"{rest}"#),
    )
    .unwrap();
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_address = busy.local_addr().unwrap().to_string();
    let config = directory.path().join("other-model.toml");
    std::fs::write(&config, format!("model = {other:?}\n")).unwrap();
    let refused = Command::new(env!("CARGO_BIN_EXE_moderato"))
        .args(["serve", "--listen", &busy_address, "--data-dir"])
        .arg(&data_dir)
        .arg("--config")
        .arg(&config)
        .env_remove("MODERATO_CONFIG")
        .output()
        .unwrap();
    let refusal = one_line_refusal(&refused, &busy_address);
    assert!(refusal.contains("cannot listen for gRPC on"), "{refusal}");
    let missing = directory.path().join("missing.pem");
    let with_tls = directory.path().join("other-model-tls.toml");
    std::fs::write(
        &with_tls,
        format!("model = {other:?}\n[tls]\ncert = {missing:?}\nkey = {missing:?}\n"),
    )
    .unwrap();
    let refused = serve_until_exit(&data_dir, &["--config".as_ref(), with_tls.as_os_str()]);
    one_line_refusal(&refused, "missing.pem");
    // An admin token path that is a directory stops the start too.
    let token_file = data_dir.join("admin.token");
    let kept_token = directory.path().join("admin.token.kept");
    std::fs::rename(&token_file, &kept_token).unwrap();
    std::fs::create_dir(&token_file).unwrap();
    let refused = serve_until_exit(&data_dir, &["--config".as_ref(), config.as_os_str()]);
    let refusal = one_line_refusal(&refused, "admin.token");
    assert!(refusal.contains("not a file"), "{refusal}");
    std::fs::remove_dir(&token_file).unwrap();
    std::fs::rename(&kept_token, &token_file).unwrap();

    let server = ServeProcess::start(&data_dir).await;
    let token = std::fs::read_to_string(data_dir.join("admin.token")).unwrap();
    let mut client = pb::training_client::TrainingClient::new(server.channel().await);
    let models = client
        .list_models(with_token(token.trim(), pb::ListModelsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .models;
    let versions: Vec<&str> = models.iter().map(|model| model.version.as_str()).collect();
    assert_eq!(versions.len(), 1, "{versions:?}");
    assert!(versions[0].starts_with("default-"), "{versions:?}");
}

#[test]
fn a_database_path_that_is_a_file_is_named() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("db"), "not a database").unwrap();
    let refusal = one_line_refusal(&serve_until_exit(directory.path(), &[]), "db");
    assert!(
        refusal.contains("exists but is not a directory"),
        "{refusal}"
    );
}
