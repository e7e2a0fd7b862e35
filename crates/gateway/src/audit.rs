//! The tamper-evident audit log: every event is sealed, in order, into an RFC 9162 Merkle tree
//! (`countersign-audit`), and each seal ends with a C2SP checkpoint signed by the log key
//! (`log-key.pem`, separate from the webhook key). Changing or removing a sealed event, entry
//! or checkpoint is found by [`verify_log`] (`countersign-gateway audit verify`).
//!
//! Events are sealed by a worker within one tick of being committed, and once more on a
//! graceful stop; after a crash the next seal picks up where the last committed one ended.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context as _;
use countersign_audit::{
    Checkpoint, Frontier, NoteSigner, NoteVerifier, WitnessPolicy, leaf_hash, open_note, tree_root,
};
use countersign_chain::digest::{canonical_json, sha256_digest};
use countersign_store::{AuditEntry, EventForAudit, Store, StoreError};
use countersign_wire::Timestamp;
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use serde::Serialize;
use serde_json::json;
use tokio::sync::Mutex;

/// Events sealed per transaction at most.
const SEAL_BATCH: i64 = 2000;

/// The bytes an event's leaf commits to: RFC 8785 JSON of the event, its detail, and the
/// digest of what it is about (the request for arrivals, escalations and refusals; the
/// decision JWS for decisions and quorum approvals).
pub fn entry_bytes(event: &EventForAudit) -> Vec<u8> {
    let subject = match event.kind.as_str() {
        "request_decided" | "approval_recorded" => event
            .decision_jws
            .as_deref()
            .map(|jws| sha256_digest(jws.as_bytes())),
        "request_added" | "request_escalated" | "request_refused" => event.request_digest.clone(),
        _ => None,
    };
    let mut value = json!({
        "v": 1,
        "event_id": event.id,
        "kind": event.kind,
        "request_id": event.request_id,
        "state": event.state,
        "at": event.at,
        "actor": event.actor,
        "subject_digest": subject,
    });
    // Only events that have detail carry the member, so entries sealed before it existed
    // still derive to the same bytes.
    if let Some(detail) = &event.detail {
        value["detail"] = serde_json::from_str(detail)
            .unwrap_or_else(|_| serde_json::Value::String(detail.clone()));
    }
    // Every value above is a string, an integer far below 2^53, or null: always canonical.
    canonical_json(&value).unwrap_or_default()
}

/// The log's signer, from the key file at `key_path`.
pub fn log_signer(key_path: &Path, origin: &str) -> anyhow::Result<NoteSigner> {
    let pem = std::fs::read_to_string(key_path)
        .with_context(|| format!("cannot read log key {}", key_path.display()))?;
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem)
        .map_err(|e| anyhow::anyhow!("log key {}: {e}", key_path.display()))?;
    NoteSigner::new(origin, key).context("log key name")
}

/// The verifier for the log whose key file is at `key_path` (which must exist).
pub fn log_verifier(key_path: &Path, origin: &str) -> anyhow::Result<NoteVerifier> {
    Ok(log_signer(key_path, origin)?.verifier())
}

/// The gateway's log: its origin, signer, and the tree's right edge.
pub struct AuditLog {
    origin: String,
    signer: NoteSigner,
    tree: Mutex<(Frontier, i64)>,
}

impl AuditLog {
    /// Opens the log: loads (or creates, mode 0600) the log key and rebuilds the tree's edge
    /// from the stored leaves.
    pub async fn open(store: &Store, key_path: &Path, origin: &str) -> anyhow::Result<AuditLog> {
        crate::load_or_create_key(key_path)?;
        let signer = log_signer(key_path, origin)?;
        let entries = store.audit_entries().await?;
        let leaves: Vec<[u8; 32]> = entries
            .iter()
            .map(|e| e.leaf_hash.as_slice().try_into())
            .collect::<Result<_, _>>()
            .map_err(|_| anyhow::anyhow!("a stored leaf hash is not 32 bytes"))?;
        let last_event = entries.last().map_or(0, |e| e.event_id);
        Ok(AuditLog {
            origin: origin.to_owned(),
            signer,
            tree: Mutex::new((Frontier::from_leaves(&leaves), last_event)),
        })
    }

    /// The log's signer: checkpoints, and the manifests of export bundles.
    pub fn signer(&self) -> &NoteSigner {
        &self.signer
    }

    /// The verifier key string (`name+keyid+base64`) auditors pin.
    pub fn verifier(&self) -> NoteVerifier {
        self.signer.verifier()
    }

    /// The log's origin (first line of every checkpoint).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Seals the events committed since the last seal; returns how many.
    pub async fn seal(&self, store: &Store, at: Timestamp) -> Result<usize, SealError> {
        let mut tree = self.tree.lock().await;
        let events = store.events_for_audit(tree.1, SEAL_BATCH).await?;
        if events.is_empty() {
            return Ok(0);
        }
        let mut frontier = tree.0.clone();
        let mut entries = Vec::with_capacity(events.len());
        for event in &events {
            let bytes = entry_bytes(event);
            let leaf = leaf_hash(&bytes);
            entries.push(AuditEntry {
                seq: i64::try_from(frontier.size()).unwrap_or(i64::MAX),
                event_id: event.id,
                entry: String::from_utf8_lossy(&bytes).into_owned(),
                leaf_hash: leaf.to_vec(),
            });
            frontier.append(leaf);
        }
        let checkpoint = Checkpoint::new(&self.origin, frontier.size(), frontier.root())
            .map_err(|e| SealError::Sign(e.to_string()))?;
        let note = self
            .signer
            .sign(&checkpoint.body())
            .map_err(|e| SealError::Sign(e.to_string()))?;
        store.seal(&entries, &note, at).await?;
        let last = events.last().map_or(tree.1, |e| e.id);
        *tree = (frontier, last);
        Ok(entries.len())
    }
}

/// Why a seal failed (the events stay, and the next seal retries them).
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The checkpoint could not be built or signed.
    #[error("cannot sign the checkpoint: {0}")]
    Sign(String),
}

/// What `audit verify` found.
#[derive(Debug, Serialize)]
pub struct LogReport {
    /// Sealed entries.
    pub entries: usize,
    /// Signed checkpoints checked.
    pub checkpoints: usize,
    /// The size of the checkpoint the auditor kept, when the log was proven to extend it.
    pub since_size: Option<u64>,
    /// Witnesses whose cosignature on the latest checkpoint verified, under the policy.
    pub witnessed_by: Vec<String>,
    /// Everything that does not hold; empty when the log is intact.
    pub problems: Vec<String>,
}

/// Checks the whole log against the events as stored now and every signed checkpoint.
/// How long an event may wait for the sealer (which runs within a second) before `verify_log`
/// reports it as left unsealed.
pub const SEAL_GRACE_SECONDS: i64 = 60;

pub async fn verify_log(
    store: &Store,
    verifier: &NoteVerifier,
    origin: &str,
    now: Timestamp,
    checks: &LogChecks,
) -> Result<LogReport, StoreError> {
    let mut problems = Vec::new();
    let entries = store.audit_entries().await?;
    let events = store.events_for_audit(0, i64::MAX).await?;
    let mut leaves = Vec::with_capacity(entries.len());
    let mut events_iter = events.iter().peekable();
    for (index, entry) in entries.iter().enumerate() {
        if usize::try_from(entry.seq).ok() != Some(index) {
            problems.push(format!(
                "entry {index} is missing (found seq {})",
                entry.seq
            ));
        }
        let leaf = leaf_hash(entry.entry.as_bytes());
        if entry.leaf_hash.as_slice() != leaf {
            problems.push(format!("entry {index} does not match its leaf hash"));
        }
        leaves.push(leaf);
        // Events are sealed in id order: every event up to this one must have its entry.
        while let Some(event) = events_iter.next_if(|e| e.id < entry.event_id) {
            problems.push(format!(
                "event {} ({} of {}) is not in the log",
                event.id, event.kind, event.request_id
            ));
        }
        match events_iter.next_if(|e| e.id == entry.event_id) {
            Some(event) if entry_bytes(event) != entry.entry.as_bytes() => problems.push(format!(
                "event {} ({} of {}) was changed after it was sealed",
                event.id, event.kind, event.request_id
            )),
            Some(_) => {}
            None => problems.push(format!(
                "event {} recorded by entry {index} was removed",
                entry.event_id
            )),
        }
    }
    // What is after the last entry is waiting for the sealer; past the grace period it was
    // left out, and an insider could be holding it back.
    let grace = chrono::Duration::seconds(SEAL_GRACE_SECONDS);
    let mut unsealed = std::collections::HashSet::new();
    for event in events_iter {
        unsealed.insert(event.request_id.clone());
        if now - event.at > grace {
            problems.push(format!(
                "event {} ({} of {}) has waited since {} and is still not sealed",
                event.id, event.kind, event.request_id, event.at
            ));
        }
    }
    // A request's state is what its last sealed event says, and a receipt what its sealed
    // event recorded: a state or receipt changed (or added) behind the gateway is found.
    let mut last_state: HashMap<String, String> = HashMap::new();
    let mut sealed_receipts: HashMap<String, Option<serde_json::Value>> = HashMap::new();
    for entry in &entries {
        let Ok(value) = serde_json::from_str::<serde_json::Value>(&entry.entry) else {
            continue;
        };
        let (Some(request_id), Some(state)) = (
            value.get("request_id").and_then(|v| v.as_str()),
            value.get("state").and_then(|v| v.as_str()),
        ) else {
            continue;
        };
        last_state.insert(request_id.to_owned(), state.to_owned());
        if value.get("kind").and_then(|v| v.as_str()) == Some("receipt_recorded") {
            sealed_receipts.insert(request_id.to_owned(), value.get("detail").cloned());
        }
    }
    for (request_id, state) in store.request_states().await? {
        if unsealed.contains(&request_id) {
            continue;
        }
        match last_state.get(&request_id) {
            None => problems.push(format!("request {request_id} is named by no sealed entry")),
            Some(sealed) if *sealed != state => problems.push(format!(
                "request {request_id} is stored as {state}; its last sealed event says {sealed}"
            )),
            Some(_) => {}
        }
    }
    for (request_id, stored) in store.all_receipts().await? {
        if unsealed.contains(&request_id) {
            continue;
        }
        match sealed_receipts.get(&request_id) {
            None => problems.push(format!(
                "the receipt for {request_id} is named by no sealed entry"
            )),
            // Receipts sealed before their content was: only their existence is proven.
            Some(None) => {}
            Some(Some(sealed)) => {
                if serde_json::from_str::<serde_json::Value>(&stored)
                    .ok()
                    .as_ref()
                    != Some(sealed)
                {
                    problems.push(format!(
                        "the receipt for {request_id} is stored with content its sealed event does not say"
                    ));
                }
            }
        }
    }
    // Every decision row is named by a sealed entry and says what its own JWS says: a row
    // added, or a verdict or reason changed beside an untouched JWS, is found.
    let named: std::collections::HashSet<String> = entries
        .iter()
        .filter_map(|e| {
            let entry: serde_json::Value = serde_json::from_str(&e.entry).ok()?;
            entry.get("subject_digest")?.as_str().map(str::to_owned)
        })
        .collect();
    for (request_id, row) in store.all_decisions().await? {
        if !named.contains(&sha256_digest(row.decision_jws.as_bytes())) {
            problems.push(format!(
                "a decision on {request_id} is named by no sealed entry"
            ));
        }
        let claims = countersign_chain::CompactJws::parse(&row.decision_jws)
            .map_err(|e| e.to_string())
            .and_then(|jws| {
                jws.claims::<countersign_wire::DecisionClaims>()
                    .map_err(|e| e.to_string())
            });
        match claims {
            Ok(claims)
                if claims.iss == row.decided_by
                    && claims.decision == row.decision
                    && claims.reason == row.reason
                    && claims.request_id == request_id => {}
            Ok(_) => problems.push(format!(
                "a decision on {request_id} is stored with columns its JWS does not say"
            )),
            Err(e) => problems.push(format!(
                "a decision on {request_id} has an unreadable JWS: {e}"
            )),
        }
    }
    // Recomputed, not trusted: a stored body must still have the digest its sealed arrival
    // names. A body changed behind the gateway with its digest column left alone is found
    // here (a changed column is found above, as an event changed after it was sealed).
    for (request_id, body, recorded) in store.request_digests().await? {
        if recorded.is_empty() {
            continue;
        }
        let recomputed = countersign_chain::ijson::parse(body.as_bytes())
            .ok()
            .and_then(|request| countersign_chain::digest::json_digest(&request).ok());
        if recomputed.as_deref() != Some(recorded.as_str()) {
            problems.push(format!(
                "request {request_id}: its stored body does not have the digest recorded for it"
            ));
        }
    }
    let checkpoints = store.audit_checkpoints().await?;
    for (size, note) in &checkpoints {
        let checked = open_note(note, std::slice::from_ref(verifier))
            .map_err(|e| e.to_string())
            .and_then(|opened| Checkpoint::parse(opened.text()).map_err(|e| e.to_string()));
        match checked {
            Err(e) => problems.push(format!("checkpoint of size {size}: {e}")),
            Ok(checkpoint) => {
                let covered = usize::try_from(checkpoint.size()).unwrap_or(usize::MAX);
                if checkpoint.origin() != origin {
                    problems.push(format!(
                        "checkpoint of size {size} is for log {:?}",
                        checkpoint.origin()
                    ));
                }
                if i64::try_from(checkpoint.size()).ok() != Some(*size) || covered > leaves.len() {
                    problems.push(format!(
                        "checkpoint of size {size} covers {covered} entries; {} are stored",
                        leaves.len()
                    ));
                } else if tree_root(&leaves[..covered]) != *checkpoint.root() {
                    problems.push(format!(
                        "the first {covered} entries do not hash to the root signed for them"
                    ));
                }
            }
        }
    }
    if checkpoints.is_empty() && !entries.is_empty() {
        problems.push(format!(
            "{} entries are stored but no signed checkpoint covers them",
            entries.len()
        ));
    }
    if let Some((size, _)) = checkpoints.last()
        && usize::try_from(*size).ok() != Some(entries.len())
    {
        problems.push(format!(
            "{} entries are stored but the latest checkpoint covers {size}",
            entries.len()
        ));
    }
    let since_size = checks
        .since
        .as_deref()
        .and_then(|since| check_since(since, verifier, origin, &leaves, &mut problems));
    let mut witnessed_by = Vec::new();
    if let Some(policy) = checks.witnesses.as_ref().filter(|p| !p.is_empty()) {
        match crate::witnesses::cosigned_checkpoint(store).await? {
            None => problems.push("the witness policy is not met: no checkpoint".into()),
            Some((_, note)) => match policy.check(&note) {
                Ok(found) => witnessed_by = found.into_iter().map(|c| c.witness).collect(),
                Err(e) => problems.push(format!(
                    "the latest checkpoint does not meet the witness policy: {e}"
                )),
            },
        }
    }
    Ok(LogReport {
        entries: entries.len(),
        checkpoints: checkpoints.len(),
        since_size,
        witnessed_by,
        problems,
    })
}

/// What an auditor brings to `audit verify` beyond the log key.
#[derive(Clone, Debug, Default)]
pub struct LogChecks {
    /// A signed checkpoint the auditor kept: the log must be a consistent extension of it.
    pub since: Option<String>,
    /// Witnesses that must have cosigned the latest checkpoint.
    pub witnesses: Option<WitnessPolicy>,
}

/// The stored log extends the checkpoint the auditor kept: it verifies with the log key,
/// names this log, is no larger than the log, and its root is that of the log's first
/// entries. Anything else is a rollback or a fork, even if every stored checkpoint was
/// re-signed with the genuine key.
fn check_since(
    since: &str,
    verifier: &NoteVerifier,
    origin: &str,
    leaves: &[countersign_audit::Hash],
    problems: &mut Vec<String>,
) -> Option<u64> {
    let kept = open_note(since, std::slice::from_ref(verifier))
        .map_err(|e| e.to_string())
        .and_then(|note| Checkpoint::parse(note.text()).map_err(|e| e.to_string()));
    let kept = match kept {
        Ok(kept) => kept,
        Err(e) => {
            problems.push(format!(
                "--since: the checkpoint you kept does not verify: {e}"
            ));
            return None;
        }
    };
    let covered = usize::try_from(kept.size()).unwrap_or(usize::MAX);
    let problem = if kept.origin() != origin {
        Some(format!(
            "--since: the checkpoint you kept is for log {:?}",
            kept.origin()
        ))
    } else if covered > leaves.len() {
        Some(format!(
            "--since: the log was rolled back: you kept a checkpoint of {} entries, {} are stored",
            kept.size(),
            leaves.len()
        ))
    } else if tree_root(&leaves[..covered]) != *kept.root() {
        Some(format!(
            "--since: the log is not a consistent extension of the checkpoint you kept: its \
             first {covered} entries were rewritten (a fork)"
        ))
    } else {
        None
    };
    match problem {
        Some(problem) => {
            problems.push(problem);
            None
        }
        None => Some(kept.size()),
    }
}
