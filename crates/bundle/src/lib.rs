//! The export bundle: review records an auditor verifies offline, trusting at most a pinned
//! log key.
//!
//! A bundle is a directory:
//!
//! ```text
//! MANIFEST.json        JCS: format, creator, audience, log origin and size, counts, sha256 of every other file
//! MANIFEST.json.sig    C2SP signed note by the log key: "countersign-bundle/1\n<sha256 of MANIFEST.json>\n"
//! records.jsonl        one BundleRecord per line (JCS): request as submitted, report, decision JWSs, audit entries
//! audit/checkpoint     the signed C2SP checkpoint every entry is proven against
//! audit/proof.json     batch inclusion proof (see `proof`)
//! audit/enrolments.jsonl the sealed enrolment entries of every reviewer the bundle names, as
//!                      BundleEvent lines (JCS), proven with the records' entries
//! audit/leaf-hashes    every leaf hash of the tree up to the checkpoint, base64, one per line:
//!                      what proves the log consistent with a checkpoint the auditor kept
//! keys/log.vkey        the log's verifier key (name+id+key)
//! keys/identities.json trust store (wire contract format): agents and reviewers with their keys
//! keys/trust/<hex>.json each agents' trust store version a record was received under (JCS;
//!                      named by its sha256, which the record's sealed arrival entry names)
//! ```
//!
//! [`verify_bundle`] checks every signature (hops, decisions, checkpoint, manifest), every
//! digest, and every entry against the checkpoint, and reports per record. Changing any byte
//! of any file makes it fail: files are hashed into the manifest, and the manifest is signed.

mod proof;
mod verify;
mod write;

pub use proof::{BatchProof, ProofNode, prove as prove_batch, root as root_of_batch};
pub use verify::{
    BundleChecks, BundleReport, RecordReport, bundle_files, verify_bundle, verify_bundle_with,
};
pub use write::{BundleHeader, BundleSummary, BundleWriter, LogEvidence};

use std::collections::BTreeMap;

use countersign_wire::api::RequestState;
use countersign_wire::{Tier, VerificationReport};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The format this crate writes and reads.
pub const FORMAT: &str = "countersign-bundle/1";

/// File names inside a bundle.
pub mod files {
    /// The manifest.
    pub const MANIFEST: &str = "MANIFEST.json";
    /// Its signature (a signed note).
    pub const MANIFEST_SIG: &str = "MANIFEST.json.sig";
    /// The records.
    pub const RECORDS: &str = "records.jsonl";
    /// The signed checkpoint.
    pub const CHECKPOINT: &str = "audit/checkpoint";
    /// The batch inclusion proof.
    pub const PROOF: &str = "audit/proof.json";
    /// The reviewers' sealed enrolment entries.
    pub const ENROLMENTS: &str = "audit/enrolments.jsonl";
    /// Every leaf hash up to the checkpoint's size.
    pub const LEAF_HASHES: &str = "audit/leaf-hashes";
    /// The log's verifier key.
    pub const LOG_KEY: &str = "keys/log.vkey";
    /// Agents' and reviewers' keys.
    pub const IDENTITIES: &str = "keys/identities.json";
    /// The directory of trust store versions, `<hex of sha256>.json` each.
    pub const TRUST_VERSIONS: &str = "keys/trust/";
}

/// One audit-log entry about a record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleEvent {
    /// Leaf index in the log.
    pub index: u64,
    /// The exact bytes hashed into the leaf (JCS JSON text).
    pub entry: String,
}

/// One review record, as a line of `records.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleRecord {
    /// Request id.
    pub request_id: String,
    /// When the gateway received it (RFC 3339): the time its chain is re-verified at.
    pub received_at: String,
    /// State at export.
    pub state: RequestState,
    /// Impact tier.
    pub tier: Tier,
    /// The DelegationRequest, parsed from what was submitted.
    pub request: Value,
    /// The exact text the workflow submitted (its `request_digest` is over it, canonicalized).
    /// The verifier checks that `request` is exactly what it says. Absent in bundles written
    /// before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_text: Option<String>,
    /// The gateway's verification report.
    pub report: VerificationReport,
    /// Accepted decision JWSs, oldest first (the settling one last).
    pub decisions: Vec<String>,
    /// Audit entries about it, in log order.
    pub events: Vec<BundleEvent>,
    /// The `sha256:` digest of the agents' trust store in force when it was received, which
    /// its arrival entry names: the chain is re-verified against that version
    /// (`keys/trust/<hex>.json`), so a key rotated out later cannot fail it and a key added
    /// later cannot pass it. Absent for records received before versions were kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<String>,
}

/// Who made a bundle.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Creator {
    /// Tool name.
    pub tool: String,
    /// Tool version.
    pub version: String,
}

/// The log a bundle's entries are proven against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRef {
    /// Origin (first line of the checkpoint).
    pub origin: String,
    /// Tree size of the checkpoint.
    pub size: u64,
}

/// `MANIFEST.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// RFC 3339.
    pub created_at: String,
    /// The exporting tool.
    pub created_by: Creator,
    /// Audience decisions must name.
    pub audience: String,
    /// The log.
    pub log: LogRef,
    /// Records in `records.jsonl`.
    pub records: u64,
    /// Audit entries across all records.
    pub events: u64,
    /// `sha256:<hex>` of every other file, by relative path.
    pub files: BTreeMap<String, String>,
}

/// The file holding the trust store version with this `sha256:` digest.
pub fn trust_version_file(digest: &str) -> String {
    format!(
        "{}{}.json",
        files::TRUST_VERSIONS,
        digest.strip_prefix("sha256:").unwrap_or(digest)
    )
}

/// The text the manifest signature signs.
pub fn manifest_note_text(manifest_digest: &str) -> String {
    format!("{FORMAT}\n{manifest_digest}\n")
}

/// Why a bundle cannot be written, or read at all.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The bundle would not verify (the writer refuses to produce it).
    #[error("refusing to write an unverifiable bundle: {0}")]
    Inconsistent(String),
    /// The directory to write into is not empty.
    #[error("{0} exists and is not empty")]
    NotEmpty(String),
}

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> BundleError + '_ {
    move |source| BundleError::Io {
        path: path.display().to_string(),
        source,
    }
}
