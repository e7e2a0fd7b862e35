//! Writing a bundle: records are streamed to disk as they come (an exporter never holds
//! 100,000 records twice), then the proof, keys, manifest and its signature.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use countersign_audit::{Checkpoint, Hash, NoteSigner, leaf_hash, open_note};
use countersign_chain::digest::canonical_json;
use countersign_wire::TrustStore;
use sha2::{Digest as _, Sha256};

use crate::proof::prove;
use crate::trust_version_file;
use crate::{
    BundleError, BundleEvent, BundleRecord, Creator, FORMAT, LogRef, Manifest, files, io,
    manifest_note_text,
};

/// What the manifest says about who made the bundle, for whom.
#[derive(Clone, Debug)]
pub struct BundleHeader {
    /// Audience decisions must name (the gateway's).
    pub audience: String,
    /// RFC 3339.
    pub created_at: String,
    /// The exporting tool.
    pub created_by: Creator,
}

/// The log the entries are proven against.
#[derive(Clone, Copy, Debug)]
pub struct LogEvidence<'a> {
    /// The signed checkpoint note, verbatim.
    pub signed_checkpoint: &'a str,
    /// Every leaf hash of the log, at least up to the checkpoint's size.
    pub leaves: &'a [Hash],
}

/// What was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BundleSummary {
    /// The bundle directory.
    pub dir: PathBuf,
    /// Records written.
    pub records: u64,
    /// Audit entries across them.
    pub events: u64,
    /// `sha256:` of `MANIFEST.json`: what the export event in the audit log names.
    pub manifest_digest: String,
}

/// A bundle being written.
pub struct BundleWriter {
    dir: PathBuf,
    header: BundleHeader,
    records: BufWriter<File>,
    hasher: Sha256,
    count: u64,
    entries: BTreeMap<u64, Hash>,
    trust_versions: BTreeMap<String, String>,
    enrolments: Vec<BundleEvent>,
}

fn jcs<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, BundleError> {
    let value = serde_json::to_value(value)
        .map_err(|e| BundleError::Inconsistent(format!("not JSON: {e}")))?;
    canonical_json(&value).map_err(|e| BundleError::Inconsistent(e.to_string()))
}

fn hex_digest(bytes: &[u8]) -> String {
    countersign_chain::digest::sha256_digest(bytes)
}

impl BundleWriter {
    /// Starts a bundle in `dir`, which must not exist or be empty.
    pub fn create(dir: &Path, header: BundleHeader) -> Result<Self, BundleError> {
        if dir.exists() {
            let mut entries = std::fs::read_dir(dir).map_err(io(dir))?;
            if entries.next().is_some() {
                return Err(BundleError::NotEmpty(dir.display().to_string()));
            }
        }
        for sub in ["audit", "keys"] {
            let path = dir.join(sub);
            std::fs::create_dir_all(&path).map_err(io(&path))?;
        }
        let path = dir.join(files::RECORDS);
        let file = File::create(&path).map_err(io(&path))?;
        Ok(BundleWriter {
            dir: dir.to_owned(),
            header,
            records: BufWriter::new(file),
            hasher: Sha256::new(),
            count: 0,
            entries: BTreeMap::new(),
            trust_versions: BTreeMap::new(),
            enrolments: Vec::new(),
        })
    }

    /// Adds a trust store version (its RFC 8785 text) that records name; returns its
    /// digest. Adding one twice is harmless.
    pub fn add_trust_version(&mut self, canonical: &str) -> Result<String, BundleError> {
        let value: serde_json::Value = serde_json::from_str(canonical)
            .map_err(|e| BundleError::Inconsistent(format!("trust store version: {e}")))?;
        if canonical_json(&value).ok().as_deref() != Some(canonical.as_bytes()) {
            return Err(BundleError::Inconsistent(
                "a trust store version is not in its RFC 8785 form".into(),
            ));
        }
        let digest = hex_digest(canonical.as_bytes());
        self.trust_versions
            .insert(digest.clone(), canonical.to_owned());
        Ok(digest)
    }

    /// Adds the sealed enrolment entry of a reviewer (kind `reviewer_enrolled`), proven with
    /// the records' entries: what shows a decider's key was enrolled before it decided.
    pub fn add_enrolment(&mut self, event: BundleEvent) -> Result<(), BundleError> {
        let leaf = leaf_hash(event.entry.as_bytes());
        if self.entries.insert(event.index, leaf).is_some() {
            return Err(BundleError::Inconsistent(format!(
                "entry {} is added twice",
                event.index
            )));
        }
        self.enrolments.push(event);
        Ok(())
    }

    /// Appends a record; returns how many are written so far (for progress).
    pub fn add(&mut self, record: &BundleRecord) -> Result<u64, BundleError> {
        for event in &record.events {
            let leaf = leaf_hash(event.entry.as_bytes());
            if self.entries.insert(event.index, leaf).is_some() {
                return Err(BundleError::Inconsistent(format!(
                    "entry {} is in two records",
                    event.index
                )));
            }
        }
        let mut line = jcs(record)?;
        line.push(b'\n');
        self.hasher.update(&line);
        let path = self.dir.join(files::RECORDS);
        self.records.write_all(&line).map_err(io(&path))?;
        self.count += 1;
        Ok(self.count)
    }

    /// Writes the proof, checkpoint, keys and the signed manifest. `signer` is the log's key:
    /// the checkpoint must verify with it, and every entry must be the leaf at its index.
    pub fn finish(
        mut self,
        log: LogEvidence<'_>,
        identities: &TrustStore,
        signer: &NoteSigner,
    ) -> Result<BundleSummary, BundleError> {
        let records_path = self.dir.join(files::RECORDS);
        self.records.flush().map_err(io(&records_path))?;
        let verifier = signer.verifier();
        let checkpoint = open_note(log.signed_checkpoint, std::slice::from_ref(&verifier))
            .map_err(|e| BundleError::Inconsistent(format!("checkpoint: {e}")))
            .and_then(|note| {
                Checkpoint::parse(note.text())
                    .map_err(|e| BundleError::Inconsistent(format!("checkpoint: {e}")))
            })?;
        let size = checkpoint.size();
        let leaves = usize::try_from(size)
            .ok()
            .and_then(|n| log.leaves.get(..n))
            .ok_or_else(|| {
                BundleError::Inconsistent(format!(
                    "the checkpoint covers {size} entries; {} leaves were given",
                    log.leaves.len()
                ))
            })?;
        for (index, leaf) in &self.entries {
            if usize::try_from(*index).ok().and_then(|i| leaves.get(i)) != Some(leaf) {
                return Err(BundleError::Inconsistent(format!(
                    "entry {index} is not the leaf at that index under the checkpoint"
                )));
            }
        }
        let proof = prove(
            leaves,
            &self.entries.keys().copied().collect::<BTreeSet<_>>(),
        );

        let mut digests = BTreeMap::new();
        digests.insert(
            files::RECORDS.to_owned(),
            format!("sha256:{:x}", self.hasher.finalize_reset()),
        );
        let vkey = format!("{verifier}\n");
        let mut leaf_hashes = String::with_capacity(leaves.len() * 45);
        for leaf in leaves {
            leaf_hashes.push_str(&STANDARD.encode(leaf));
            leaf_hashes.push('\n');
        }
        let mut enrolments = Vec::new();
        self.enrolments.sort_by_key(|e| e.index);
        for event in &self.enrolments {
            enrolments.extend(jcs(event)?);
            enrolments.push(b'\n');
        }
        let written: [(&str, Vec<u8>); 6] = [
            (files::ENROLMENTS, enrolments),
            (files::CHECKPOINT, log.signed_checkpoint.as_bytes().to_vec()),
            (files::LEAF_HASHES, leaf_hashes.into_bytes()),
            (files::PROOF, jcs(&proof)?),
            (files::LOG_KEY, vkey.into_bytes()),
            (files::IDENTITIES, jcs(identities)?),
        ];
        for (name, bytes) in &written {
            let path = self.dir.join(name);
            std::fs::write(&path, bytes).map_err(io(&path))?;
            digests.insert((*name).to_owned(), hex_digest(bytes));
        }
        if !self.trust_versions.is_empty() {
            let dir = self.dir.join(files::TRUST_VERSIONS);
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
        for (digest, canonical) in &self.trust_versions {
            let name = trust_version_file(digest);
            let path = self.dir.join(&name);
            std::fs::write(&path, canonical).map_err(io(&path))?;
            digests.insert(name, hex_digest(canonical.as_bytes()));
        }
        let events = self.entries.len() as u64;
        let manifest = Manifest {
            format: FORMAT.into(),
            created_at: self.header.created_at,
            created_by: self.header.created_by,
            audience: self.header.audience,
            log: LogRef {
                origin: checkpoint.origin().to_owned(),
                size,
            },
            records: self.count,
            events,
            files: digests,
        };
        let manifest_bytes = jcs(&manifest)?;
        let manifest_digest = hex_digest(&manifest_bytes);
        let signature = signer
            .sign(&manifest_note_text(&manifest_digest))
            .map_err(|e| BundleError::Inconsistent(format!("cannot sign the manifest: {e}")))?;
        for (name, bytes) in [
            (files::MANIFEST, manifest_bytes),
            (files::MANIFEST_SIG, signature.into_bytes()),
        ] {
            let path = self.dir.join(name);
            std::fs::write(&path, bytes).map_err(io(&path))?;
        }
        Ok(BundleSummary {
            dir: self.dir,
            records: self.count,
            events,
            manifest_digest,
        })
    }
}
