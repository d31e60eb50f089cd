//! `moderato keys new`: a fresh token and its config block.

use std::collections::HashSet;

use super::CliError;
use crate::auth::{new_token, token_sha256, Role};
use crate::domain::check_site_id;

pub fn new_key(role: Role, sites: Vec<String>, name: Option<String>) -> Result<(), CliError> {
    match role {
        Role::Site if sites.is_empty() => {
            return Err(CliError::Usage(
                "a site key needs at least one --site".to_string(),
            ))
        }
        Role::Admin if !sites.is_empty() => {
            return Err(CliError::Usage(
                "admin keys act for every site: leave out --site".to_string(),
            ))
        }
        Role::Site | Role::Moderator | Role::Admin => {}
    }
    // The configuration refuses a key that lists a site twice: a block it
    // would refuse is no block to paste.
    let mut listed = HashSet::new();
    for site in &sites {
        check_site_id(site).map_err(|reason| CliError::Usage(format!("--site {reason}")))?;
        if !listed.insert(site.as_str()) {
            return Err(CliError::Usage(format!(
                "--site {site:?} is given twice: give each site once"
            )));
        }
    }
    if name.as_deref().is_some_and(|name| name.trim().is_empty()) {
        return Err(CliError::Usage(
            "--name must not be empty: the configuration refuses a key without a name".to_string(),
        ));
    }
    if name
        .as_deref()
        .is_some_and(|name| name.chars().any(char::is_control))
    {
        return Err(CliError::Usage(
            "--name must not hold control characters (a newline, a tab): the configuration \
             refuses them in a key's name"
                .to_string(),
        ));
    }
    let token = new_token();
    let hash = hex::encode(token_sha256(&token));
    // Names must differ between keys: a default name ends with the start
    // of the token's hash, so that two keys made alike can both be pasted.
    let name = name.unwrap_or_else(|| match sites.first() {
        Some(site) => format!("{}-{site}-{}", role.as_str(), &hash[..6]),
        None => format!("{}-{}", role.as_str(), &hash[..6]),
    });
    // The token goes to standard error and the block to standard output,
    // so that `moderato keys new ... >> moderato.toml` appends the block
    // and never writes the token into the configuration.
    eprintln!("Token for {name:?} (shown once; the server keeps only its hash):");
    eprintln!("{token}");
    // A blank line first: appended to a file whose last line has no
    // newline, `[[keys]]` would otherwise end that line and break it.
    say!();
    say!("[[keys]]");
    say!("name = {}", toml_string(&name));
    say!("role = \"{}\"", role.as_str());
    if !sites.is_empty() {
        let quoted: Vec<String> = sites.iter().map(|site| toml_string(site)).collect();
        say!("sites = [{}]", quoted.join(", "));
    }
    say!("token_sha256 = \"{hash}\"");
    Ok(())
}

/// A TOML basic string: JSON's escaping is a subset TOML accepts.
fn toml_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}
