//! c2sp.org/tlog-proof: one file that proves, offline, that an entry is in a signed log.
//!
//! This is what an export bundle carries per logged event, so an auditor needs only the event
//! bytes, the file and the log's verifier key.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::AuditError;
use crate::checkpoint::{Checkpoint, decode_hash, parse_decimal};
use crate::merkle::{Hash, inclusion_proof, leaf_hash, verify_inclusion};
use crate::note::{NoteVerifier, open_note};

/// The first line of every proof file.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// An inclusion path has at most one hash per level of a tree with up to 2^64 leaves.
pub const MAX_PROOF_HASHES: usize = 64;

/// An inclusion proof for one entry, bundled with the signed checkpoint it leads to.
///
/// Nothing here is trusted until [`TlogProof::verify`] succeeds; `extra` is never
/// authenticated, even then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    extra: Option<Vec<u8>>,
    index: u64,
    path: Vec<Hash>,
    signed_checkpoint: String,
}

impl TlogProof {
    /// A proof file from its parts; `signed_checkpoint` is the signed note, kept verbatim.
    pub fn new(index: u64, path: Vec<Hash>, signed_checkpoint: &str) -> Result<Self, AuditError> {
        if path.len() > MAX_PROOF_HASHES {
            return Err(AuditError::MalformedProof("too many proof hashes"));
        }
        if signed_checkpoint.is_empty() {
            return Err(AuditError::MalformedProof("missing checkpoint"));
        }
        Ok(Self {
            extra: None,
            index,
            path,
            signed_checkpoint: signed_checkpoint.to_owned(),
        })
    }

    /// The proof for entry `index` against a checkpoint of tree `size`, computed from the
    /// log's leaf hashes.
    pub fn prove(
        leaves: &[Hash],
        index: u64,
        size: u64,
        signed_checkpoint: &str,
    ) -> Result<Self, AuditError> {
        Self::new(
            index,
            inclusion_proof(leaves, index, size)?,
            signed_checkpoint,
        )
    }

    /// The same proof with unauthenticated application data attached.
    pub fn with_extra(mut self, extra: Vec<u8>) -> Self {
        self.extra = Some(extra);
        self
    }

    /// Unauthenticated application data, if any: never trust it.
    pub fn extra(&self) -> Option<&[u8]> {
        self.extra.as_deref()
    }

    /// The zero-based index of the entry.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// The inclusion path, leaf sibling first.
    pub fn path(&self) -> &[Hash] {
        &self.path
    }

    /// The signed checkpoint note, verbatim.
    pub fn signed_checkpoint(&self) -> &str {
        &self.signed_checkpoint
    }

    /// Parse a proof file (structure only; see [`TlogProof::verify`]).
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        let mut rest = text;
        if next_line(&mut rest)? != TLOG_PROOF_HEADER {
            return Err(AuditError::MalformedProof(
                "first line must be c2sp.org/tlog-proof@v1",
            ));
        }
        let mut line = next_line(&mut rest)?;
        let extra = match line.strip_prefix("extra ") {
            Some(encoded) => {
                let extra = STANDARD
                    .decode(encoded)
                    .map_err(|_| AuditError::MalformedProof("extra is not base64"))?;
                line = next_line(&mut rest)?;
                Some(extra)
            }
            None => None,
        };
        let index = line
            .strip_prefix("index ")
            .and_then(parse_decimal)
            .ok_or(AuditError::MalformedProof("expected `index N`"))?;
        let mut path = Vec::new();
        loop {
            let line = next_line(&mut rest)?;
            if line.is_empty() {
                break;
            }
            if path.len() == MAX_PROOF_HASHES {
                return Err(AuditError::MalformedProof("too many proof hashes"));
            }
            path.push(decode_hash(line).ok_or(AuditError::MalformedProof(
                "proof hash is not base64 SHA-256",
            ))?);
        }
        Ok(Self {
            extra,
            ..Self::new(index, path, rest)?
        })
    }

    /// Check the proof: the checkpoint is signed by a trusted key, belongs to `origin`, and
    /// its tree contains `leaf_data` at [`TlogProof::index`]. Returns the checkpoint.
    pub fn verify(
        &self,
        leaf_data: &[u8],
        origin: &str,
        verifiers: &[NoteVerifier],
    ) -> Result<Checkpoint, AuditError> {
        let note = open_note(&self.signed_checkpoint, verifiers)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        if checkpoint.origin() != origin {
            return Err(AuditError::OriginMismatch {
                expected: origin.to_owned(),
                found: checkpoint.origin().to_owned(),
            });
        }
        verify_inclusion(
            &leaf_hash(leaf_data),
            self.index,
            checkpoint.size(),
            &self.path,
            checkpoint.root(),
        )?;
        Ok(checkpoint)
    }
}

impl fmt::Display for TlogProof {
    /// The proof file, ready to store as `<name>.tlog-proof`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{TLOG_PROOF_HEADER}")?;
        if let Some(extra) = &self.extra {
            writeln!(f, "extra {}", STANDARD.encode(extra))?;
        }
        writeln!(f, "index {}", self.index)?;
        for hash in &self.path {
            writeln!(f, "{}", STANDARD.encode(hash))?;
        }
        writeln!(f)?;
        f.write_str(&self.signed_checkpoint)
    }
}

/// The next newline-terminated line, advancing `rest` past it.
fn next_line<'a>(rest: &mut &'a str) -> Result<&'a str, AuditError> {
    let (line, tail) = rest
        .split_once('\n')
        .ok_or(AuditError::MalformedProof("truncated"))?;
    *rest = tail;
    Ok(line)
}
