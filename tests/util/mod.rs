//! Shared helpers: a real server on 127.0.0.1:0 with a temporary data
//! directory and known keys, and clients that carry a bearer token.

use std::net::SocketAddr;
use std::path::Path;

use moderato::auth::{token_sha256, ApiKey, Role};
use moderato::config::Config;
use moderato::grpc::pb;
use moderato::server::{self, ServerError, State};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic::Request;

pub const NEWS_SITE: &str = "news.example";
pub const BLOG_SITE: &str = "blog.example";
pub const NEWS_TOKEN: &str = "test-site-token-news";
pub const BLOG_TOKEN: &str = "test-site-token-blog";
pub const MODERATOR_TOKEN: &str = "test-moderator-token-news";
pub const ADMIN_TOKEN: &str = "test-admin-token";

pub const SPAM_TEXT: &str = "Check out my channel and subscribe!!! http://bit.ly/xyz";
pub const HAM_TEXT: &str = "Interesting article, I hope he gets a fair hearing.";

fn key(name: &str, role: Role, sites: &[&str], token: &str) -> ApiKey {
    ApiKey {
        name: name.to_string(),
        role,
        sites: sites.iter().map(|site| site.to_string()).collect(),
        token_sha256: token_sha256(token),
    }
}

/// A configuration with the test keys, storing under `data_dir`.
pub fn test_config(data_dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        keys: vec![
            key("news", Role::Site, &[NEWS_SITE], NEWS_TOKEN),
            key("blog", Role::Site, &[BLOG_SITE], BLOG_TOKEN),
            key(
                "news-moderator",
                Role::Moderator,
                &[NEWS_SITE],
                MODERATOR_TOKEN,
            ),
            key("operator", Role::Admin, &[], ADMIN_TOKEN),
        ],
        ..Config::default()
    }
}

/// A running server and the directory it stores in.
pub struct TestServer {
    pub address: SocketAddr,
    /// The console's listener when the config has `console_listen`, else the
    /// metrics' when it has `metrics_listen`.
    pub http_address: Option<SocketAddr>,
    /// Set to stop the server and its HTTP listeners (dropping it does
    /// too).
    shutdown: Option<watch::Sender<bool>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
    /// The HTTP listeners' tasks: they hold the engine (and so the
    /// database) until they end, and a stop waits for them, so that a
    /// test can open the same data again at once.
    http_tasks: Vec<JoinHandle<std::io::Result<()>>>,
}

/// A future that ends when `stop` is set or its sender dropped.
async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

/// Starts a server with the test keys in a fresh temporary directory. The
/// directory lives as long as the returned guard.
pub async fn start_server() -> (TestServer, TempDir) {
    let directory = tempfile::tempdir().unwrap();
    let server = start_with(test_config(directory.path())).await;
    (server, directory)
}

/// Runs `open` again while it fails for the directory's lock, up to five
/// seconds: a server of this process that has just stopped may still hold
/// it for a moment (sled's IO threads let go of it after the last handle
/// is dropped), so a restart or a look at its store waits for it.
pub fn retry_while_locked<T, E: std::fmt::Display>(
    mut open: impl FnMut() -> Result<T, E>,
) -> Result<T, E> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        match open() {
            Err(error)
                if error
                    .to_string()
                    .contains("in use by another moderato process")
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            opened => return opened,
        }
    }
}

/// Starts a server with the given configuration (its data directory is
/// used as it is, so a test can start a second server on the same data).
pub async fn start_with(config: Config) -> TestServer {
    let state = retry_while_locked(|| State::open(&config)).expect("the server state opens");
    let listener = TcpListener::bind(config.listen).await.unwrap();
    let address = listener.local_addr().unwrap();
    let (sender, stop) = watch::channel(false);
    // The HTTP listeners as `moderato serve` opens them.
    let mut http_address = None;
    let mut http_tasks = Vec::new();
    for (address, parts) in
        moderato::console::listeners(config.console_listen, config.metrics_listen)
    {
        let http = TcpListener::bind(address).await.unwrap();
        let bound = http.local_addr().unwrap();
        if parts.console || http_address.is_none() {
            http_address = Some(bound);
        }
        let http_state = moderato::console::HttpState {
            engine: std::sync::Arc::clone(&state.engine),
            access: std::sync::Arc::clone(&state.access),
        };
        let tls = state.tls.as_ref().map(|keys| {
            moderato::console::ConsoleTls::from_pem(&keys.cert_pem, &keys.key_pem)
                .expect("the test certificate serves the console")
        });
        let shutdown = stopped(stop.clone());
        http_tasks.push(tokio::spawn(async move {
            moderato::console::serve(http, tls.as_ref(), http_state, parts, shutdown).await
        }));
    }
    let task = tokio::spawn(server::run(listener, state, stopped(stop)));
    TestServer {
        address,
        http_address,
        shutdown: Some(sender),
        task: Some(task),
        http_tasks,
    }
}

impl TestServer {
    /// Stops the server the way SIGTERM does, and waits until it has.
    pub async fn stop(mut self) {
        if let Some(sender) = self.shutdown.take() {
            let _ = sender.send(true);
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().expect("the server stops cleanly");
        }
        for task in self.http_tasks.drain(..) {
            task.await
                .unwrap()
                .expect("the HTTP listener stops cleanly");
        }
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn moderation(&self) -> pb::moderation_client::ModerationClient<Channel> {
        pb::moderation_client::ModerationClient::new(self.channel().await)
    }

    pub async fn review(&self) -> pb::review_client::ReviewClient<Channel> {
        pb::review_client::ReviewClient::new(self.channel().await)
    }

    pub async fn training(&self) -> pb::training_client::TrainingClient<Channel> {
        pb::training_client::TrainingClient::new(self.channel().await)
    }
}

/// A request carrying `authorization: Bearer <token>`.
pub fn with_token<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

/// A minimal comment for the news site.
pub fn comment(comment_id: &str, content: &str) -> pb::CheckCommentRequest {
    pb::CheckCommentRequest {
        site_id: NEWS_SITE.to_string(),
        comment_id: comment_id.to_string(),
        content: content.to_string(),
        ..Default::default()
    }
}

/// The news site's comment, checked again (an edit): `recheck` set.
pub fn recheck(comment_id: &str, content: &str) -> pb::CheckCommentRequest {
    pb::CheckCommentRequest {
        recheck: true,
        ..comment(comment_id, content)
    }
}

/// `GetDecision` by decision id, as the news site.
pub async fn decision_by_id(
    server: &TestServer,
    decision_id: &str,
) -> Result<pb::Decision, tonic::Status> {
    get_decision(
        server,
        pb::GetDecisionRequest {
            decision_id: decision_id.to_string(),
            ..Default::default()
        },
    )
    .await
}

/// `GetDecision` of a news comment by its comment id, as the news site.
pub async fn decision_by_comment(
    server: &TestServer,
    comment_id: &str,
) -> Result<pb::Decision, tonic::Status> {
    get_decision(
        server,
        pb::GetDecisionRequest {
            comment_id: comment_id.to_string(),
            ..Default::default()
        },
    )
    .await
}

async fn get_decision(
    server: &TestServer,
    request: pb::GetDecisionRequest,
) -> Result<pb::Decision, tonic::Status> {
    server
        .moderation()
        .await
        .get_decision(with_token(NEWS_TOKEN, request))
        .await
        .map(tonic::Response::into_inner)
}

/// The test configuration with the rules of a configuration text that
/// holds a `[rules]` table.
pub fn config_with_rules(data_dir: &Path, rules_toml: &str) -> Config {
    let rules = Config::from_toml("test rules", rules_toml, &Default::default())
        .expect("the test rules are valid")
        .rules;
    Config {
        rules,
        ..test_config(data_dir)
    }
}

/// `CheckComment` as the blog site.
pub async fn check_as_blog(
    server: &TestServer,
    comment_id: &str,
    text: &str,
) -> Result<pb::CheckCommentResponse, tonic::Status> {
    server
        .moderation()
        .await
        .check_comment(with_token(
            BLOG_TOKEN,
            pb::CheckCommentRequest {
                site_id: BLOG_SITE.to_string(),
                ..comment(comment_id, text)
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// `CheckComment` as the news site; the call must succeed.
pub async fn check_as_news(
    server: &TestServer,
    request: pb::CheckCommentRequest,
) -> pb::CheckCommentResponse {
    server
        .moderation()
        .await
        .check_comment(with_token(NEWS_TOKEN, request))
        .await
        .expect("the news site's check succeeds")
        .into_inner()
}

/// The real `moderato serve` binary, started on port 0 with no keys (so
/// with a first-start admin token) on a data directory.
pub struct ServeProcess {
    pub child: std::process::Child,
    pub address: String,
    /// The rest of its standard output, after the "ready" line.
    pub log: std::io::BufReader<std::process::ChildStdout>,
}

impl Drop for ServeProcess {
    /// Kills the server if the test ends before it exited.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How long `ServeProcess::start` waits for the "ready to serve" line: far
/// more than a debug build takes to open its store on a loaded machine, so
/// that only a server that hangs (or never says it is ready) fails it.
const SERVE_READY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(60);

impl ServeProcess {
    /// Starts the binary and waits until it logs that it is ready, at most
    /// [`SERVE_READY_DEADLINE`]; a server that exits first, or is not ready
    /// by then, fails the test with what it printed.
    pub async fn start(data_dir: &Path) -> ServeProcess {
        ServeProcess::start_with_environment(data_dir, &[]).await
    }

    /// [`ServeProcess::start`] with these environment variables set.
    pub async fn start_with_environment(
        data_dir: &Path,
        environment: &[(&str, &str)],
    ) -> ServeProcess {
        use std::io::{BufRead, Read};
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_moderato"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env_remove("MODERATO_CONFIG")
            // The ready line is logged at info; a developer's RUST_LOG
            // must not hide it (or flood the unread pipe).
            .env_remove("RUST_LOG")
            .envs(environment.iter().copied())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        // The reading thread keeps each line here as it reads it, so that a
        // failure can show what the server printed before it went wrong.
        let printed = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let printed_by_reader = std::sync::Arc::clone(&printed);
        let reading = tokio::task::spawn_blocking(move || {
            let mut reader = std::io::BufReader::new(stdout);
            let mut line = String::new();
            loop {
                line.clear();
                // A read error ends the output as an exit does.
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return None;
                }
                printed_by_reader.lock().unwrap().push_str(&line);
                if line.contains("ready to serve") {
                    let address = line
                        .split_whitespace()
                        .find_map(|field| field.strip_prefix("address="))
                        .unwrap()
                        .to_string();
                    return Some((address, reader));
                }
            }
        });
        let ready = tokio::time::timeout(SERVE_READY_DEADLINE, reading).await;
        let (address, log) = match ready {
            Ok(Ok(Some(ready))) => ready,
            outcome => {
                // Killing the server also ends the reading thread's read,
                // and lets what it wrote to stderr be read to the end.
                let _ = child.kill();
                let _ = child.wait();
                let mut errors = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = stderr.read_to_string(&mut errors);
                }
                let what = match outcome {
                    Err(_) => format!("was not ready within {} s", SERVE_READY_DEADLINE.as_secs()),
                    Ok(Err(error)) => format!("could not be watched: {error}"),
                    Ok(Ok(_)) => "exited before it was ready".to_string(),
                };
                panic!(
                    "the server {what}; it printed:\n{}\nand on stderr:\n{errors}",
                    printed.lock().unwrap()
                );
            }
        };
        ServeProcess {
            child,
            address,
            log,
        }
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }
}

/// One HTTP/1.1 request to the console's listener; gives the status code
/// and the body.
pub async fn http(
    server: &TestServer,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = server.http_address.expect("the server has a console");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let authorization = token
        .map(|token| format!("authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: test\r\nconnection: close\r\n{authorization}\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let response = String::from_utf8(response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = if head.to_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.to_string()
    };
    (status, body)
}

/// The body of a chunked HTTP/1.1 response.
fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// Scores a text as the news site without storing it.
pub async fn dry_run_check(server: &TestServer, text: &str) -> pb::CheckCommentResponse {
    check_as_news(
        server,
        pb::CheckCommentRequest {
            dry_run: true,
            ..comment("probe", text)
        },
    )
    .await
}

/// Stores the texts as the news site's comments (`<prefix>-<index>`) and
/// has the news moderator label them all, 100 per call.
pub async fn store_and_label(server: &TestServer, prefix: &str, texts: &[&str], label: pb::Label) {
    let mut decision_ids = Vec::new();
    for (index, text) in texts.iter().enumerate() {
        let response = check_as_news(server, comment(&format!("{prefix}-{index}"), text)).await;
        decision_ids.push(response.decision_id);
    }
    for chunk in decision_ids.chunks(100) {
        resolve_as_moderator(server, chunk.to_vec(), label).await;
    }
}

/// `ForgetComment` of a comment of the key's only site, as `token`:
/// whether anything was stored of it.
pub async fn forget_comment(
    server: &TestServer,
    token: &str,
    comment_id: &str,
) -> Result<bool, tonic::Status> {
    server
        .moderation()
        .await
        .forget_comment(with_token(
            token,
            pb::ForgetCommentRequest {
                site_id: String::new(),
                comment_id: comment_id.to_string(),
            },
        ))
        .await
        .map(|response| response.into_inner().forgotten)
}

/// Has the news moderator label the decisions.
pub async fn resolve_as_moderator(
    server: &TestServer,
    decision_ids: Vec<String>,
    label: pb::Label,
) -> pb::ResolveItemsResponse {
    server
        .review()
        .await
        .resolve_items(with_token(
            MODERATOR_TOKEN,
            pb::ResolveItemsRequest {
                decision_ids,
                label: label.into(),
                ..Default::default()
            },
        ))
        .await
        .expect("the moderator's resolution succeeds")
        .into_inner()
}

/// Asks the server to start a retrain, as an operator.
pub async fn request_retrain(
    server: &TestServer,
    full: bool,
    dry_run: bool,
) -> Result<pb::RetrainJob, tonic::Status> {
    server
        .training()
        .await
        .start_retrain(with_token(
            ADMIN_TOKEN,
            pb::StartRetrainRequest { full, dry_run },
        ))
        .await
        .map(tonic::Response::into_inner)
}

/// Waits for a retraining job to finish; the deadline only stops a hung
/// test, the time is not what is checked.
pub async fn wait_for_job(server: &TestServer, job_id: &str) -> pb::RetrainJob {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    loop {
        let job = server
            .training()
            .await
            .get_retrain_job(with_token(
                ADMIN_TOKEN,
                pb::GetRetrainJobRequest {
                    job_id: job_id.to_string(),
                },
            ))
            .await
            .unwrap()
            .into_inner();
        if matches!(job.state(), pb::JobState::Succeeded | pb::JobState::Failed) {
            return job;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job did not finish: {job:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// The binary, with none of the developer's `MODERATO_*` settings: a test
/// sets those it means.
pub fn moderato() -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_moderato"));
    for variable in [
        "MODERATO_CONFIG",
        "MODERATO_LISTEN",
        "MODERATO_DATA_DIR",
        "MODERATO_SERVER",
        "MODERATO_TOKEN",
        "MODERATO_CA_CERT",
        "RUST_LOG",
    ] {
        command.env_remove(variable);
    }
    command
}

/// Runs a command that must succeed (the test fails with its standard
/// error otherwise).
pub fn succeeded(command: &mut std::process::Command) -> std::process::Output {
    let output = command.output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A labelled file small enough that training on it takes no time (TSV
/// with a `label<TAB>text` header, as `moderato train` reads it).
pub const SMALL_CORPUS: &str = "label\ttext\n\
spam\tcheck out my channel and subscribe\n\
spam\tsubscribe to my channel please http://bit.ly/abc\n\
spam\tfree money, click here now\n\
spam\twin a free prize, click here\n\
spam\tplease subscribe, check my channel\n\
spam\tclick for free money http://bit.ly/xyz\n\
ham\tgreat song, i love it\n\
ham\tthis video brings back memories\n\
ham\ti love this song so much\n\
ham\tthe best song of the year\n\
ham\twhat a great video\n\
ham\tmemories of summer with this song\n";

/// Sends `signal` to the process `pid`, as `kill -SIGNAL pid` would, but
/// without needing the `kill` program (slim images leave out procps).
/// Whether the signal was delivered.
pub fn send_signal(pid: u32, signal: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    // SAFETY: kill(2) only reads its two integer arguments.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// A `CheckComments` stream opened with `token` on `channel`: the sender
/// of its comments (dropping it ends the stream; it holds 4 unsent) and
/// the stream's answers.
pub async fn open_comment_stream(
    channel: Channel,
    token: &str,
) -> Result<
    (
        tokio::sync::mpsc::Sender<pb::CheckCommentRequest>,
        tonic::Streaming<pb::CheckCommentResponse>,
    ),
    tonic::Status,
> {
    let (sender, receiver) = tokio::sync::mpsc::channel(4);
    let answers = pb::moderation_client::ModerationClient::new(channel)
        .check_comments(with_token(
            token,
            tokio_stream::wrappers::ReceiverStream::new(receiver),
        ))
        .await?
        .into_inner();
    Ok((sender, answers))
}
