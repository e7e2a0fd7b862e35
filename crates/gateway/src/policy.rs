//! The review policy in force, reloadable while the gateway runs: on `SIGHUP`, or through
//! [`RunningGateway::reload_policy`](crate::RunningGateway::reload_policy). As with the trust
//! store, a file that does not load leaves the policy in force as it was, logged, and one that
//! loads replaces it whole: every handler and worker pass reads one version throughout
//! ([`ReviewPolicy::current`]), and what comes after a reload (an arrival, a decision, an
//! escalation, an overdue pass) is under the new one. The rules themselves are
//! `countersign_review::Policy`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};

use countersign_review::Policy;

/// The review policy in force, and the file it is read from (none: the default policy, which
/// a reload keeps).
pub struct ReviewPolicy {
    path: Option<PathBuf>,
    current: RwLock<Arc<Policy>>,
}

impl ReviewPolicy {
    /// Loads the policy file; a mistake names its place and the gateway does not start.
    pub(crate) fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        Ok(ReviewPolicy {
            path: path.map(Path::to_owned),
            current: RwLock::new(Arc::new(crate::load_policy(path)?)),
        })
    }

    /// The policy in force now.
    pub(crate) fn current(&self) -> Arc<Policy> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reads the file again: `Ok(true)` when the policy changed. On an error the policy in
    /// force stays.
    pub fn reload(&self) -> anyhow::Result<bool> {
        let Some(path) = &self.path else {
            return Ok(false);
        };
        let policy = crate::load_policy(Some(path))?;
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if **current == policy {
            return Ok(false);
        }
        tracing::info!(
            policy = %format!("{} v{}", policy.id, policy.version),
            was = %format!("{} v{}", current.id, current.version),
            path = %path.display(),
            "review policy reloaded"
        );
        *current = Arc::new(policy);
        Ok(true)
    }
}
