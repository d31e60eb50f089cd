//! API keys, roles and what each key may do. Pure apart from the first-start
//! admin token file, which `ensure_admin_token` creates.

use std::path::{Path, PathBuf};

use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::Error;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A website: `Moderation` for its own sites.
    Site,
    /// A moderator: `Review`, for all sites or the listed ones.
    Moderator,
    /// An operator: everything.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Site => "site",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }
}

/// A configured key. Only the SHA-256 of the token is kept.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub name: String,
    pub role: Role,
    /// For site keys, the sites the key belongs to; for moderator keys, the
    /// sites they may see (empty: all); ignored for admin keys.
    pub sites: Vec<String>,
    pub token_sha256: [u8; 32],
}

/// The caller behind a request, once its key was recognised.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    pub sites: Vec<String>,
}

/// All configured keys.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keyring {
    keys: Vec<ApiKey>,
}

pub fn token_sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Keyring {
    pub fn new(keys: Vec<ApiKey>) -> Keyring {
        Keyring { keys }
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Finds the key of a bearer token. Every key is compared, each in
    /// constant time, so timing tells nothing about which key came close.
    pub fn authenticate(&self, token: &str) -> Result<Principal, Error> {
        // An empty token is nobody's, even if a key was configured with the
        // hash of the empty string (what hashing an unset variable gives).
        if token.is_empty() {
            return Err(Error::Unauthenticated);
        }
        let presented = token_sha256(token);
        let mut found = None;
        for key in &self.keys {
            if bool::from(key.token_sha256.ct_eq(&presented)) {
                found = Some(key);
            }
        }
        let key = found.ok_or(Error::Unauthenticated)?;
        Ok(Principal {
            name: key.name.clone(),
            role: key.role,
            sites: key.sites.clone(),
        })
    }
}

/// The gRPC services, by the keys each takes (the console takes those of
/// `Review`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Moderation,
    Review,
    Training,
}

impl Principal {
    /// The site a `Moderation` call acts for: the requested one if this key
    /// may act for it, or the key's only site when none was named.
    pub fn site_for_moderation(&self, requested: &str) -> Result<String, Error> {
        match self.role {
            Role::Admin => {
                if requested.is_empty() {
                    Err(Error::invalid_argument(
                        "site_id",
                        "is required for admin keys",
                    ))
                } else {
                    Ok(requested.to_string())
                }
            }
            Role::Site => {
                if requested.is_empty() {
                    match self.sites.as_slice() {
                        [only] => Ok(only.clone()),
                        _ => Err(Error::invalid_argument(
                            "site_id",
                            "is required: this key belongs to several sites",
                        )),
                    }
                } else if self.sites.iter().any(|site| site == requested) {
                    Ok(requested.to_string())
                } else {
                    // Not naming the site refused: when it comes from a
                    // stored decision, it is another site's business.
                    Err(Error::PermissionDenied(format!(
                        "key {:?} may act only for its own sites ({})",
                        self.name,
                        self.sites.join(", ")
                    )))
                }
            }
            Role::Moderator => Err(self.wrong_role("Moderation", "a site or admin")),
        }
    }

    /// Checks that this key may use the `Moderation` service at all
    /// (before any lookup, so that a key of another role learns nothing of
    /// what exists).
    pub fn require_moderation(&self) -> Result<(), Error> {
        match self.role {
            Role::Site | Role::Admin => Ok(()),
            Role::Moderator => Err(self.wrong_role("Moderation", "a site or admin")),
        }
    }

    /// Checks that this key may use `service`.
    pub fn require(&self, service: Service) -> Result<(), Error> {
        match service {
            Service::Moderation => self.require_moderation(),
            Service::Review => self.require_moderator(),
            Service::Training => self.require_admin(),
        }
    }

    /// Checks that this key may use the `Review` service.
    pub fn require_moderator(&self) -> Result<(), Error> {
        match self.role {
            Role::Moderator | Role::Admin => Ok(()),
            Role::Site => Err(self.wrong_role("Review", "a moderator or admin")),
        }
    }

    /// Whether a moderator may see a site's items.
    pub fn may_moderate(&self, site: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::Moderator => self.sites.is_empty() || self.sites.iter().any(|s| s == site),
            Role::Site => false,
        }
    }

    /// Checks that this key may use the `Training` service.
    pub fn require_admin(&self) -> Result<(), Error> {
        match self.role {
            Role::Admin => Ok(()),
            Role::Site | Role::Moderator => Err(self.wrong_role("Training", "an admin")),
        }
    }

    fn wrong_role(&self, service: &str, needed: &str) -> Error {
        Error::PermissionDenied(format!(
            "key {:?} has role {}; the {service} service needs {needed} key",
            self.name,
            self.role.as_str()
        ))
    }
}

/// A fresh random bearer token: 32 random bytes, hex encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("mdr_{}", hex::encode(bytes))
}

/// With no keys configured, the service makes one admin token on first start
/// and keeps it in `<data_dir>/admin.token` (owner-readable only), reusing it
/// on later starts. Returns the key and the file's path.
pub fn ensure_admin_token(data_dir: &Path) -> std::io::Result<(ApiKey, PathBuf)> {
    let path = data_dir.join("admin.token");
    // An existing file is made private before a token is read from it or
    // written into it (writing keeps the mode of a file that exists). Its
    // mode is left alone if it is not a file (a directory, say): the start
    // stops on it.
    match std::fs::metadata(&path) {
        Ok(metadata) if metadata.is_file() => keep_to_owner(&path)?,
        Ok(_) => {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it exists but is not a file",
            ))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
        Err(error) => return Err(error),
    }
    let token = match std::fs::read_to_string(&path) {
        Ok(existing) if !existing.trim().is_empty() => existing.trim().to_string(),
        Ok(_) => write_token_file(&path)?,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => write_token_file(&path)?,
        Err(error) => return Err(error),
    };
    let key = ApiKey {
        name: "admin (first start)".to_string(),
        role: Role::Admin,
        sites: Vec::new(),
        token_sha256: token_sha256(&token),
    };
    Ok((key, path))
}

/// Makes the token file readable by its owner only, whoever made it: a
/// file that existed (copied from a backup, written by hand, or emptied
/// and rewritten, which keeps its mode) may have been readable by all.
#[cfg(unix)]
fn keep_to_owner(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        tracing::warn!(
            path = %path.display(),
            "the admin token file could be read by other users; it is now readable by its owner only"
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn keep_to_owner(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

/// Writes a new token through a temporary file (owner-only, synced) and a
/// rename, then syncs the directory: a crash leaves no file or the whole
/// token, never part of one that would be taken for the token.
fn write_token_file(path: &Path) -> std::io::Result<String> {
    use std::io::Write;
    let token = new_token();
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    // tempfile makes its files readable by their owner only.
    let mut file = tempfile::Builder::new()
        .prefix(".admin.token.")
        .tempfile_in(directory)?;
    file.write_all(token.as_bytes())?;
    file.write_all(b"\n")?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|error| error.error)?;
    // The rename is on disk once the directory is synced. Best effort: not
    // every platform opens a directory as a file, and the token is in
    // place either way.
    if let Err(error) = std::fs::File::open(directory).and_then(|directory| directory.sync_all()) {
        tracing::warn!(%error, "cannot sync the data directory after writing the admin token");
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyring() -> Keyring {
        let key = |name: &str, role, sites: &[&str], token: &str| ApiKey {
            name: name.to_string(),
            role,
            sites: sites.iter().map(|s| s.to_string()).collect(),
            token_sha256: token_sha256(token),
        };
        Keyring::new(vec![
            key("news", Role::Site, &["news.example"], "site-token"),
            key(
                "multi",
                Role::Site,
                &["a.example", "b.example"],
                "multi-token",
            ),
            key("mod", Role::Moderator, &["news.example"], "mod-token"),
            key("root", Role::Admin, &[], "admin-token"),
        ])
    }

    #[test]
    fn unknown_tokens_are_unauthenticated() {
        assert!(matches!(
            keyring().authenticate("nope"),
            Err(Error::Unauthenticated)
        ));
        assert!(matches!(
            keyring().authenticate(""),
            Err(Error::Unauthenticated)
        ));
        // Even a key made from the empty token's hash does not take it.
        let careless = Keyring::new(vec![ApiKey {
            name: "careless".to_string(),
            role: Role::Admin,
            sites: Vec::new(),
            token_sha256: token_sha256(""),
        }]);
        assert!(matches!(
            careless.authenticate(""),
            Err(Error::Unauthenticated)
        ));
    }

    #[test]
    fn site_keys_act_for_their_own_site_only() {
        let news = keyring().authenticate("site-token").unwrap();
        assert_eq!(news.site_for_moderation("").unwrap(), "news.example");
        assert_eq!(
            news.site_for_moderation("news.example").unwrap(),
            "news.example"
        );
        assert!(matches!(
            news.site_for_moderation("other.example"),
            Err(Error::PermissionDenied(_))
        ));
        let multi = keyring().authenticate("multi-token").unwrap();
        assert!(matches!(
            multi.site_for_moderation(""),
            Err(Error::InvalidArgument {
                field: "site_id",
                ..
            })
        ));
    }

    #[test]
    fn roles_gate_the_services() {
        let keys = keyring();
        let site = keys.authenticate("site-token").unwrap();
        let moderator = keys.authenticate("mod-token").unwrap();
        let admin = keys.authenticate("admin-token").unwrap();
        assert!(site.require_moderator().is_err());
        assert!(moderator.require_moderator().is_ok());
        assert!(moderator.require_admin().is_err());
        assert!(moderator.site_for_moderation("news.example").is_err());
        assert!(moderator.require_moderation().is_err());
        assert!(site.require_moderation().is_ok());
        assert!(admin.require_moderation().is_ok());
        assert!(admin.require_admin().is_ok());
        assert!(admin.require_moderator().is_ok());
        assert!(moderator.may_moderate("news.example"));
        assert!(!moderator.may_moderate("other.example"));
    }

    #[test]
    fn the_first_start_token_is_kept_private_and_reused() {
        let directory = tempfile::tempdir().unwrap();
        let (first, path) = ensure_admin_token(directory.path()).unwrap();
        let (second, _) = ensure_admin_token(directory.path()).unwrap();
        assert_eq!(first.token_sha256, second.token_sha256);
        let token = std::fs::read_to_string(&path).unwrap();
        assert_eq!(token_sha256(token.trim()), first.token_sha256);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_token_path_that_is_a_directory_is_refused_and_left_as_it_was() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("admin.token");
        std::fs::create_dir(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let error = ensure_admin_token(directory.path()).unwrap_err();
        assert!(error.to_string().contains("not a file"), "{error}");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[cfg(unix)]
    #[test]
    fn a_token_file_others_could_read_is_made_private() {
        use std::os::unix::fs::PermissionsExt;
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("admin.token");
        for existing in ["mdr_kept\n", ""] {
            std::fs::write(&path, existing).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let (key, _) = ensure_admin_token(directory.path()).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{existing:?}");
            if !existing.is_empty() {
                assert_eq!(key.token_sha256, token_sha256("mdr_kept"));
            }
        }
    }
}
