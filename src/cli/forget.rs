//! `moderato forget`: deletes what a running server keeps of comments (a
//! site deleted them, or their author asked to be forgotten), through
//! `ForgetComment`, with a site's or an admin's key.

use super::queue::RemoteArgs;
use super::CliError;
use crate::grpc::client::ModerationConnection;

/// Forgets each of `comment_ids` of `site` (empty: the site key's only
/// site), one after another, printing what each found; stops at the first
/// refusal, having said which comments were forgotten before it.
pub fn forget(
    remote: RemoteArgs,
    site: Option<String>,
    comment_ids: Vec<String>,
) -> Result<(), CliError> {
    super::async_runtime(tokio::runtime::Builder::new_current_thread())?.block_on(run(
        remote,
        site.unwrap_or_default(),
        comment_ids,
    ))
}

async fn run(remote: RemoteArgs, site: String, comment_ids: Vec<String>) -> Result<(), CliError> {
    let mut connection = ModerationConnection::connect(&remote.target()?).await?;
    for comment_id in &comment_ids {
        if connection.forget(&site, comment_id).await? {
            say!("forgot {comment_id}");
        } else {
            say!("nothing stored of {comment_id}");
        }
    }
    Ok(())
}
