//! The trust store the gateway verifies chains with, reloadable while it runs: on `SIGHUP`,
//! when the file changes (looked at every second), or through
//! [`RunningGateway::reload_trust`](crate::RunningGateway::reload_trust). A file that does not
//! load leaves the trust in force as it was, logged: a typo must neither stop intake nor
//! change who is trusted.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use anyhow::Context as _;
use countersign_chain::TrustIndex;
use countersign_wire::{Party, TrustStore};

/// The trust store in force, and its index for the verifier.
pub(crate) struct LoadedTrust {
    pub(crate) store: TrustStore,
    pub(crate) index: TrustIndex,
    /// RFC 8785 text of `store`, and its `sha256:` digest: the version each arrival names.
    pub(crate) canonical: String,
    pub(crate) digest: String,
    /// Whether this version is kept in the store yet (`trust_versions`).
    pub(crate) kept: std::sync::atomic::AtomicBool,
}

impl LoadedTrust {
    fn new(store: TrustStore, index: TrustIndex) -> anyhow::Result<Self> {
        let canonical = countersign_chain::digest::canonical_json(&serde_json::to_value(&store)?)
            .context("the trust store has no canonical form")?;
        let digest = countersign_chain::digest::sha256_digest(&canonical);
        Ok(Self {
            store,
            index,
            canonical: String::from_utf8(canonical)?,
            digest,
            kept: std::sync::atomic::AtomicBool::new(false),
        })
    }
}

/// What was last read: a changed time or length means the file changed.
type FileStamp = (Option<SystemTime>, u64);

/// The trust store in force, and where it is read from.
pub struct Trust {
    path: PathBuf,
    current: RwLock<Arc<LoadedTrust>>,
    read: Mutex<Option<FileStamp>>,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    std::fs::metadata(path)
        .ok()
        .map(|m| (m.modified().ok(), m.len()))
}

impl Trust {
    pub(crate) fn load(path: &Path) -> anyhow::Result<Self> {
        let read = stamp(path);
        let (store, index) = load_trust(path)?;
        Ok(Trust {
            path: path.to_owned(),
            current: RwLock::new(Arc::new(LoadedTrust::new(store, index)?)),
            read: Mutex::new(read),
        })
    }

    /// The trust in force now (a request is verified against one version throughout).
    pub(crate) fn current(&self) -> Arc<LoadedTrust> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the file again: `Ok(true)` when who is trusted changed. On an error the trust
    /// in force stays.
    pub fn reload(&self) -> anyhow::Result<bool> {
        // Noted first: a file that fails to load is reported once, not at every look.
        *self.read.lock().unwrap_or_else(PoisonError::into_inner) = stamp(&self.path);
        let (store, index) = load_trust(&self.path)?;
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if current.store == store {
            return Ok(false);
        }
        tracing::info!(
            parties = store.parties.len(),
            path = %self.path.display(),
            "trust store reloaded"
        );
        *current = Arc::new(LoadedTrust::new(store, index)?);
        Ok(true)
    }

    /// Reloads if the file changed since it was last read.
    pub fn reload_if_changed(&self) -> anyhow::Result<bool> {
        let now = stamp(&self.path);
        if *self.read.lock().unwrap_or_else(PoisonError::into_inner) == now {
            return Ok(false);
        }
        self.reload()
    }
}

/// Loads the trust store file, checked (every key well-formed) and indexed.
pub fn load_trust(path: &Path) -> anyhow::Result<(TrustStore, TrustIndex)> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read trust store {}", path.display()))?;
    let store: TrustStore = countersign_chain::ijson::from_slice(&bytes)
        .with_context(|| format!("trust store {} is not valid", path.display()))?;
    let index = TrustIndex::from_store(&store)
        .with_context(|| format!("trust store {}", path.display()))?;
    Ok((store, index))
}

/// Adds `party` as `identity` to the trust store file (or replaces it), keeping the file
/// valid: the new store is checked before it is written, and written whole through a file
/// beside it so a running gateway never reads half of it. Returns whether it replaced one.
pub fn add_party(path: &Path, identity: &str, party: Party) -> anyhow::Result<bool> {
    let (mut store, _) = load_trust(path)?;
    let replaced = store.parties.insert(identity.to_owned(), party).is_some();
    TrustIndex::from_store(&store).with_context(|| format!("party {identity}"))?;
    let mut text = serde_json::to_string_pretty(&store)?;
    text.push('\n');
    let staged = path.with_extension("json.new");
    std::fs::write(&staged, text).with_context(|| format!("cannot write {}", staged.display()))?;
    std::fs::rename(&staged, path).with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(replaced)
}

/// Looks at the trust store file every second until the gateway stops, reloading it when it
/// changed.
pub(crate) async fn watch(trust: Arc<Trust>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|stopped| *stopped) => return,
        }
        if let Err(e) = trust.reload_if_changed() {
            tracing::error!(error = %format!("{e:#}"), "trust store not reloaded: the one in force stays");
        }
    }
}
