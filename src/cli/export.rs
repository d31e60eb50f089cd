//! `moderato export`: every comment people labelled on a running server,
//! with its latest label, as JSON Lines that `train`, `eval` and `cv` read
//! (so an operator can train or evaluate on their own site's corrections
//! elsewhere).

use std::io::Write;
use std::path::{Path, PathBuf};

use futures::StreamExt;

use super::output::{OutputFile, Replacement};
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
    // Written beside the output first and renamed when complete (see
    // `Replacement`), so that an export that fails half-way leaves no file
    // that looks whole, and an earlier export stays as it was. Owner-only:
    // the file holds readers' comments.
    let io_error = |context: String| move |source: std::io::Error| CliError::Io { context, source };
    let cannot_write = || io_error(format!("cannot write {}", out.display()));
    let mut replacement = Replacement::create(&out, 0o600).map_err(cannot_write())?;
    // The replacement moves into the writing, so that an interrupt, which
    // drops it unfinished, takes the temporary file away too.
    let written = async move {
        let (mut ham, mut spam) = (0u64, 0u64);
        let mut writer = std::io::BufWriter::new(replacement.file());
        while let Some(correction) = corrections.next().await {
            let correction = correction?;
            match correction.label {
                Label::Ham => ham += 1,
                Label::Spam => spam += 1,
            }
            serde_json::to_writer(&mut writer, &correction)
                .map_err(std::io::Error::from)
                .and_then(|()| writer.write_all(b"\n"))
                .map_err(cannot_write())?;
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
        writer.flush().map_err(cannot_write())?;
        drop(writer);
        replacement.commit().map_err(cannot_write())?;
        Ok((ham, spam))
    };
    // Ctrl-C stops the export like any failure: nothing is written.
    let written = tokio::select! {
        written = written => written,
        _ = tokio::signal::ctrl_c() => Err(CliError::Interrupted(
            "interrupted: the export stopped and nothing was written".to_string(),
        )),
    };
    let (ham, spam) = written?;
    say!(
        "{} corrections ({spam} spam, {ham} ham) written to {}",
        ham + spam,
        out.display()
    );
    Ok(())
}
