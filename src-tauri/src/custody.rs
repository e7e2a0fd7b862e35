//! Where the reviewer's private key lives: the OS keychain when there is one (keyring-core with
//! the platform's store: the Secret Service on Linux, the login keychain on macOS, the
//! Credential Manager on Windows), else `reviewer-key.pem` in the data directory (PKCS#8 PEM,
//! mode 0600), as before there was a keychain.
//!
//! - The entry is service [`SERVICE`], user `reviewer-key:` + the data directory's canonical
//!   path, so consoles with different data directories never share a key.
//! - A key file found beside a keychain without an entry is moved in: stored, read back,
//!   compared, and only then deleted.
//! - Only a keychain that holds nothing for this console may be passed over for the file
//!   (none to connect to, or it cannot store). One that may hold the key but does not give
//!   it is an error: the console never swaps to another key silently.
//!
//! Neither the key nor its PEM is ever logged or put in an error.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use countersign_chain::SigningKeyPair;
use countersign_wire::console::KeyCustody;
use keyring_core::{CredentialStore, Entry};

/// The keychain entry's service.
pub(crate) const SERVICE: &str = "Countersign";
/// The key file in the data directory: where keys were kept before, and the fallback.
pub(crate) const KEY_FILE: &str = "reviewer-key.pem";

/// What went wrong keeping the key. No variant carries key material.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CustodyError {
    #[error("the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the key file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the key file {path} is not a PKCS#8 Ed25519 key: {source}")]
    BadFile {
        path: PathBuf,
        source: countersign_chain::JwsError,
    },
    #[error("cannot write the key file {path}: {source}")]
    WriteFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot remove the key file {path} after moving it into {store}: {source}")]
    RemoveFile {
        path: PathBuf,
        store: String,
        source: std::io::Error,
    },
    #[error("{store} may hold this console's reviewer key ({user}) but does not give it: {source}")]
    Unreadable {
        store: String,
        user: String,
        source: keyring_core::Error,
    },
    #[error("the entry {user} in {store} is not a PKCS#8 Ed25519 key")]
    BadEntry { store: String, user: String },
    #[error("cannot encode the reviewer key: {0}")]
    Encode(countersign_chain::JwsError),
}

/// The console's key and where it is kept.
pub(crate) struct Custody {
    pub(crate) key: SigningKeyPair,
    pub(crate) custody: KeyCustody,
}

/// The platform's keychain, or why there is none to use.
pub(crate) fn connect() -> Result<(Arc<CredentialStore>, &'static str), keyring_core::Error> {
    #[cfg(target_os = "linux")]
    {
        let store: Arc<CredentialStore> = dbus_secret_service_keyring_store::Store::new()?;
        Ok((store, "the Secret Service"))
    }
    #[cfg(target_os = "macos")]
    {
        let store: Arc<CredentialStore> = apple_native_keyring_store::keychain::Store::new()?;
        Ok((store, "the macOS keychain"))
    }
    #[cfg(windows)]
    {
        let store: Arc<CredentialStore> = windows_native_keyring_store::Store::new()?;
        Ok((store, "the Windows Credential Manager"))
    }
    #[cfg(not(any(target_os = "linux", target_os = "macos", windows)))]
    {
        Err(keyring_core::Error::NoDefaultStore)
    }
}

/// The keychain entry's user for the data directory `dir`.
pub(crate) fn entry_user(dir: &Path) -> Result<String, CustodyError> {
    let canonical = dir.canonicalize().map_err(|source| CustodyError::DataDir {
        path: dir.to_owned(),
        source,
    })?;
    Ok(format!("reviewer-key:{}", canonical.display()))
}

/// The console's key for the data directory `dir`: from the platform keychain when it can be
/// reached, else from the key file.
pub(crate) fn load(dir: &Path) -> Result<Custody, CustodyError> {
    let keychain = connect();
    load_with(dir, keychain)
}

/// [`load`] with the keychain connection already tried.
pub(crate) fn load_with(
    dir: &Path,
    keychain: Result<(Arc<CredentialStore>, &'static str), keyring_core::Error>,
) -> Result<Custody, CustodyError> {
    let path = dir.join(KEY_FILE);
    let (store, name) = match keychain {
        Ok(found) => found,
        Err(e) => {
            let reason = format!("no keychain service was found ({e})");
            return in_file(&path, reason);
        }
    };
    let user = entry_user(dir)?;
    let entry = match store.build(SERVICE, &user, None) {
        Ok(entry) => entry,
        Err(e) => return in_file(&path, format!("{name} cannot make an entry ({e})")),
    };
    let in_keychain = || KeyCustody::Keychain {
        store: name.to_owned(),
        service: SERVICE.to_owned(),
        user: user.clone(),
    };
    match entry.get_secret() {
        Ok(secret) => {
            let key = parse_entry(&secret).ok_or_else(|| CustodyError::BadEntry {
                store: name.to_owned(),
                user: user.clone(),
            })?;
            // A move interrupted after the store: the file holds the same key, so finish it.
            if let Some(file) = read_file(&path)? {
                if same(&file, &key) {
                    remove_file(&path, name)?;
                } else {
                    tracing::warn!(
                        file = %path.display(),
                        "the key file is not the key in the keychain; the keychain's is used, the file left alone"
                    );
                }
            }
            Ok(Custody {
                key,
                custody: in_keychain(),
            })
        }
        Err(keyring_core::Error::NoEntry) => {
            let (key, moving) = match read_file(&path)? {
                Some(key) => (key, true),
                None => (SigningKeyPair::generate(), false),
            };
            if let Err(reason) = store_verified(&entry, &key) {
                // Nothing of this console's is in the keychain: the file keeps (or takes) it.
                let reason = format!("{name} cannot keep it ({reason})");
                if moving {
                    return Ok(Custody {
                        key,
                        custody: file_custody(&path, reason),
                    });
                }
                return in_file(&path, reason);
            }
            if moving {
                remove_file(&path, name)?;
                tracing::info!(store = name, %user, "reviewer key moved from its file into the keychain");
            } else {
                tracing::info!(store = name, %user, "reviewer key generated in the keychain");
            }
            Ok(Custody {
                key,
                custody: in_keychain(),
            })
        }
        Err(source) => Err(CustodyError::Unreadable {
            store: name.to_owned(),
            user,
            source,
        }),
    }
}

/// Stores `key` in `entry` and reads it back; an entry that does not give back the same key is
/// deleted (as far as it can be).
fn store_verified(entry: &Entry, key: &SigningKeyPair) -> Result<(), String> {
    let pem = key.to_pkcs8_pem().map_err(|e| e.to_string())?;
    entry
        .set_secret(pem.as_bytes())
        .map_err(|e| format!("storing: {e}"))?;
    let back = entry
        .get_secret()
        .map_err(|e| format!("reading it back: {e}"));
    match back.map(|secret| parse_entry(&secret)) {
        Ok(Some(stored)) if same(&stored, key) => Ok(()),
        other => {
            let _ = entry.delete_credential();
            Err(match other {
                Err(e) => e,
                _ => "it gave back another key".into(),
            })
        }
    }
}

fn parse_entry(secret: &[u8]) -> Option<SigningKeyPair> {
    let pem = std::str::from_utf8(secret).ok()?;
    SigningKeyPair::from_pkcs8_pem(pem).ok()
}

fn same(a: &SigningKeyPair, b: &SigningKeyPair) -> bool {
    a.public() == b.public()
}

fn file_custody(path: &Path, reason: String) -> KeyCustody {
    KeyCustody::File {
        path: path.display().to_string(),
        reason,
    }
}

/// The key file's key (created when missing), as the custody for `reason`.
fn in_file(path: &Path, reason: String) -> Result<Custody, CustodyError> {
    tracing::warn!(file = %path.display(), %reason, "the reviewer key is kept in its file");
    let key = match read_file(path)? {
        Some(key) => key,
        None => create_file(path)?,
    };
    Ok(Custody {
        key,
        custody: file_custody(path, reason),
    })
}

/// The key in the file at `path`, `None` when there is no file.
fn read_file(path: &Path) -> Result<Option<SigningKeyPair>, CustodyError> {
    let pem = match std::fs::read_to_string(path) {
        Ok(pem) => pem,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CustodyError::ReadFile {
                path: path.to_owned(),
                source,
            });
        }
    };
    SigningKeyPair::from_pkcs8_pem(&pem)
        .map(Some)
        .map_err(|source| CustodyError::BadFile {
            path: path.to_owned(),
            source,
        })
}

/// A new key in a new file at `path`, owner-only.
fn create_file(path: &Path) -> Result<SigningKeyPair, CustodyError> {
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let key = SigningKeyPair::generate();
    let pem = key.to_pkcs8_pem().map_err(CustodyError::Encode)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let written = options
        .open(path)
        .and_then(|mut file| file.write_all(pem.as_bytes()));
    written.map_err(|source| CustodyError::WriteFile {
        path: path.to_owned(),
        source,
    })?;
    Ok(key)
}

fn remove_file(path: &Path, store: &str) -> Result<(), CustodyError> {
    std::fs::remove_file(path).map_err(|source| CustodyError::RemoveFile {
        path: path.to_owned(),
        store: store.to_owned(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_keychain() -> Result<(Arc<CredentialStore>, &'static str), keyring_core::Error> {
        Err(keyring_core::Error::NoDefaultStore)
    }

    #[test]
    fn without_a_keychain_the_key_is_a_new_owner_only_file_and_the_same_after() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_with(dir.path(), no_keychain()).unwrap();
        let KeyCustody::File { path, reason } = &first.custody else {
            panic!("{:?}", first.custody);
        };
        assert_eq!(Path::new(path), dir.path().join(KEY_FILE));
        assert!(
            reason.starts_with("no keychain service was found"),
            "{reason}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = load_with(dir.path(), no_keychain()).unwrap();
        assert!(same(&first.key, &again.key));
    }

    #[test]
    fn a_bad_key_file_is_an_error_naming_the_file_not_a_new_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        let err = load_with(dir.path(), no_keychain())
            .err()
            .expect("an error");
        assert!(matches!(err, CustodyError::BadFile { .. }), "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.path().join(KEY_FILE)).unwrap(),
            "not a key"
        );
    }

    #[test]
    fn the_entry_user_is_the_canonical_data_directory() {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().join("a");
        std::fs::create_dir(&inner).unwrap();
        let roundabout = inner.join("..").join("a");
        assert_eq!(
            entry_user(&roundabout).unwrap(),
            format!("reviewer-key:{}", inner.canonicalize().unwrap().display())
        );
        assert!(entry_user(&dir.path().join("missing")).is_err());
    }
}
