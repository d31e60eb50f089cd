//! `moderato export`: every comment people labelled on a running server,
//! with its latest label, as JSON Lines that `train`, `eval` and `cv` read
//! (so an operator can train or evaluate on their own site's corrections
//! elsewhere).

use std::io::Write;
use std::path::{Path, PathBuf};

use futures::StreamExt;

use super::output::OutputFile;
use super::queue::RemoteArgs;
use super::CliError;
use crate::domain::Label;
use crate::grpc::client::ReviewConnection;

pub fn export(remote: RemoteArgs, site: Option<String>, out: PathBuf) -> Result<(), CliError> {
    // One call at a time: a single-threaded runtime is enough.
    super::async_runtime(tokio::runtime::Builder::new_current_thread())?
        .block_on(run(remote, site, out))
}

async fn run(remote: RemoteArgs, site: Option<String>, out: PathBuf) -> Result<(), CliError> {
    // The one file an export reads: the authority's certificate.
    let certificate = remote.ca_cert_path().map(PathBuf::from);
    let inputs: Vec<(&str, &Path)> = certificate
        .iter()
        .map(|path| ("--ca-cert", path.as_path()))
        .collect();
    OutputFile {
        flag: "--out",
        path: &out,
        what: "export",
        suggested_name: "corrections.jsonl",
    }
    .check(&inputs)?;
    let mut connection = ReviewConnection::connect(&remote.target()?).await?;
    let corrections = connection
        .export_corrections(site.as_deref().unwrap_or_default())
        .await?;
    let mut corrections = std::pin::pin!(corrections);
    // Written beside the output first and renamed when complete, so that
    // an export that fails half-way leaves no file that looks whole.
    let partial = partial_path(&out);
    let io_error = |context: String| move |source: std::io::Error| CliError::Io { context, source };
    let file = std::fs::File::create(&partial)
        .map_err(io_error(format!("cannot create {}", partial.display())))?;
    let mut writer = std::io::BufWriter::new(file);
    let (mut ham, mut spam) = (0u64, 0u64);
    let written = async {
        while let Some(correction) = corrections.next().await {
            let correction = correction?;
            match correction.label {
                Label::Ham => ham += 1,
                Label::Spam => spam += 1,
            }
            serde_json::to_writer(&mut writer, &correction)
                .map_err(std::io::Error::from)
                .and_then(|()| writer.write_all(b"\n"))
                .map_err(io_error(format!("cannot write {}", partial.display())))?;
        }
        // An empty file is no labelled file `train` or `eval` can read.
        if ham + spam == 0 {
            let sites = match &site {
                Some(site) => format!("on {site}"),
                None => "on the sites this key may moderate".to_string(),
            };
            return Err(CliError::NothingToExport(format!(
                "no comment {sites} has been labelled yet; nothing was written"
            )));
        }
        let file = writer
            .into_inner()
            .map_err(|error| error.into_error())
            .map_err(io_error(format!("cannot write {}", partial.display())))?;
        file.sync_all()
            .map_err(io_error(format!("cannot write {}", partial.display())))?;
        std::fs::rename(&partial, &out).map_err(io_error(format!(
            "cannot move {} to {}",
            partial.display(),
            out.display()
        )))
    };
    // Ctrl-C stops the export like any failure: the partial file goes.
    let written = tokio::select! {
        written = written => written,
        _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted(
            "interrupted: the export stopped and nothing was written".to_string(),
        )),
    };
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written?;
    say!(
        "{} corrections ({spam} spam, {ham} ham) written to {}",
        ham + spam,
        out.display()
    );
    Ok(())
}

/// `<out>.partial`, in the output's directory.
fn partial_path(out: &Path) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}
