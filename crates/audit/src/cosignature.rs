//! c2sp.org/tlog-cosignature (Ed25519, `cosignature/v1`, signature type 0x04): a witness's
//! timestamped statement that a checkpoint is the largest consistent tree it has seen for the
//! log, and the k-of-n witness policy a verifier applies before trusting a checkpoint.
//!
//! The spec recommends ML-DSA-44 for new deployments; Ed25519 is what every witness and log
//! tool deployed today reads, and what this crate's keys already are.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

use crate::AuditError;
use crate::note::{
    SIGNATURE_PREFIX, check_name, decode_key_of_type, encode_key_of_type, parse_signature_line,
    split_key_string, split_note, typed_key_id,
};

/// The signature type byte of Ed25519 cosignatures.
const COSIGNATURE_V1: u8 = 0x04;

/// The message a v1 cosignature signs: a header, the time, the checkpoint body.
fn signed_message(body: &str, timestamp: u64) -> String {
    format!("cosignature/v1\ntime {timestamp}\n{body}")
}

/// A witness's key: it cosigns checkpoints under its name.
#[derive(Clone)]
pub struct Cosigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl Cosigner {
    /// A cosigner named `name` (a schemeless URL, by convention) with this key.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, AuditError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: typed_key_id(name, COSIGNATURE_V1, &key.verifying_key()),
            key,
        })
    }

    /// The public half, as verifiers configure it.
    pub fn witness_key(&self) -> WitnessKey {
        WitnessKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// The cosignature line (ending in a newline) over a checkpoint body, at `timestamp`
    /// (POSIX seconds, below 2^63).
    pub fn cosign(&self, body: &str, timestamp: u64) -> Result<String, AuditError> {
        if !body.ends_with('\n') || timestamp > i64::MAX as u64 {
            return Err(AuditError::MalformedNote(
                "a cosigned body ends in a newline, at a time below 2^63",
            ));
        }
        let signature = self.key.sign(signed_message(body, timestamp).as_bytes());
        let mut bytes = Vec::with_capacity(76);
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&timestamp.to_be_bytes());
        bytes.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(bytes)
        ))
    }
}

impl fmt::Debug for Cosigner {
    /// Names the key without printing it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cosigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// A witness's public key: `<name>+<hex key ID>+<base64(0x04 || public key)>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WitnessKey {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

/// A cosignature that verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosignature {
    /// The witness's name.
    pub witness: String,
    /// When the witness signed (POSIX seconds).
    pub timestamp: u64,
    /// The signature line, newline included, as it appears on the note.
    pub line: String,
}

impl WitnessKey {
    /// Parse a witness verifier key string.
    pub fn parse(vkey: &str) -> Result<Self, AuditError> {
        let (name, id, key) = split_key_string(vkey.trim())?;
        check_name(name)?;
        let key = VerifyingKey::from_bytes(&decode_key_of_type(key, COSIGNATURE_V1)?)
            .map_err(|_| AuditError::MalformedKey("not an Ed25519 public key"))?;
        let parsed = Self {
            name: name.to_owned(),
            key_id: typed_key_id(name, COSIGNATURE_V1, &key),
            key,
        };
        if parsed.key_id != id {
            return Err(AuditError::MalformedKey("key ID does not match the key"));
        }
        Ok(parsed)
    }

    /// The witness's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This key's cosignature on a signed note, if it carries one: `Ok(None)` when no line
    /// names this key, an error when one does and does not verify (the note is then not to
    /// be trusted at all, as with a log signature that fails).
    pub fn cosignature_on(&self, note: &str) -> Result<Option<Cosignature>, AuditError> {
        let (body, lines) = split_note(note)?;
        let mut found = None;
        for line in lines {
            let (name, id, signature) = parse_signature_line(line)?;
            if name != self.name || id != self.key_id {
                continue;
            }
            if found.is_some() {
                return Err(AuditError::MalformedNote("repeated signature from one key"));
            }
            let bad = || AuditError::BadSignature {
                name: name.to_owned(),
            };
            let (time, signature) = signature.split_first_chunk::<8>().ok_or_else(bad)?;
            let timestamp = u64::from_be_bytes(*time);
            let valid = timestamp <= i64::MAX as u64
                && Signature::from_slice(signature).is_ok_and(|sig| {
                    self.key
                        .verify_strict(signed_message(body, timestamp).as_bytes(), &sig)
                        .is_ok()
                });
            if !valid {
                return Err(bad());
            }
            found = Some(Cosignature {
                witness: self.name.clone(),
                timestamp,
                line: format!("{line}\n"),
            });
        }
        Ok(found)
    }
}

impl fmt::Display for WitnessKey {
    /// The verifier key string.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_key_of_type(self.key.as_bytes(), COSIGNATURE_V1)
        )
    }
}

/// Which witnesses a verifier requires: at least `quorum` of `witnesses` must have cosigned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WitnessPolicy {
    witnesses: Vec<WitnessKey>,
    quorum: usize,
}

impl WitnessPolicy {
    /// `quorum` of `witnesses` (distinct names); a quorum of zero, or above the number of
    /// witnesses, is refused: a policy that cannot fail, or cannot pass, is a mistake.
    pub fn new(witnesses: Vec<WitnessKey>, quorum: usize) -> Result<Self, AuditError> {
        let mut names: Vec<&str> = witnesses.iter().map(WitnessKey::name).collect();
        names.sort_unstable();
        names.dedup();
        if names.len() != witnesses.len() {
            return Err(AuditError::MalformedKey("two witness keys share a name"));
        }
        if quorum == 0 || quorum > witnesses.len() {
            return Err(AuditError::MalformedKey(
                "the witness quorum must be between 1 and the number of witnesses",
            ));
        }
        Ok(Self { witnesses, quorum })
    }

    /// No witnesses required.
    pub fn none() -> Self {
        Self::default()
    }

    /// Whether the policy requires anything.
    pub fn is_empty(&self) -> bool {
        self.witnesses.is_empty()
    }

    /// The witnesses named.
    pub fn witnesses(&self) -> &[WitnessKey] {
        &self.witnesses
    }

    /// How many must cosign.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// Checks a signed checkpoint note against the policy: the cosignatures that verified,
    /// or why the policy is not met. Unknown signature lines are ignored; a named witness's
    /// line that fails to verify fails the whole check.
    pub fn check(&self, note: &str) -> Result<Vec<Cosignature>, AuditError> {
        let mut found = Vec::new();
        for witness in &self.witnesses {
            if let Some(cosignature) = witness.cosignature_on(note)? {
                found.push(cosignature);
            }
        }
        if found.len() < self.quorum {
            return Err(AuditError::WitnessQuorum {
                needed: self.quorum,
                found: found.len(),
            });
        }
        Ok(found)
    }
}

/// Adds cosignature lines to a signed note, skipping lines it already carries.
pub fn with_cosignatures(note: &str, lines: &[String]) -> String {
    let mut out = note.to_owned();
    for line in lines {
        if !out.split_inclusive('\n').any(|l| l == line) {
            out.push_str(line);
        }
    }
    out
}
