//! The pure half of a c2sp.org/tlog-witness `add-checkpoint`: parsing the submission and
//! deciding, from the log keys the witness trusts and the checkpoint it last cosigned for
//! that log, whether to cosign. Persisting (before answering) and the HTTP are the caller's.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::merkle::{Hash, empty_root, verify_consistency};
use crate::note::split_note;
use crate::{AuditError, Checkpoint, NoteVerifier, open_note};

/// Consistency-proof lines a submission may carry (the spec's bound).
pub const MAX_PROOF_LINES: usize = 63;

/// An `add-checkpoint` request body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpoint {
    /// The size of the checkpoint the log believes the witness last cosigned.
    pub old_size: u64,
    /// RFC 6962 consistency proof from `old_size` to the checkpoint.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note.
    pub checkpoint: String,
}

/// Why a witness does not cosign, with the HTTP status the protocol gives it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WitnessRefusal {
    /// 400: the body breaks the format, or the old size is above the checkpoint's.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// 404: the witness does not know the log.
    #[error("unknown log {0:?}")]
    UnknownLog(String),
    /// 403: no valid signature by the log's key.
    #[error("not signed by the log: {0}")]
    Forbidden(String),
    /// 409: the log's idea of the last cosigned size is wrong; it should retry from `known`.
    #[error("the witness last cosigned size {known}")]
    Conflict {
        /// The size of the latest checkpoint the witness cosigned.
        known: u64,
    },
    /// 422: the checkpoint is not a consistent extension of the one the witness holds.
    #[error("inconsistent: {0}")]
    Unprocessable(String),
}

impl WitnessRefusal {
    /// The HTTP status code.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadRequest(_) => 400,
            Self::UnknownLog(_) => 404,
            Self::Forbidden(_) => 403,
            Self::Conflict { .. } => 409,
            Self::Unprocessable(_) => 422,
        }
    }
}

impl AddCheckpoint {
    /// The request body: `old <size>`, proof lines, a blank line, the checkpoint.
    pub fn body(&self) -> String {
        let mut body = format!("old {}\n", self.old_size);
        for hash in &self.proof {
            body.push_str(&STANDARD.encode(hash));
            body.push('\n');
        }
        body.push('\n');
        body.push_str(&self.checkpoint);
        body
    }

    /// Parses a request body.
    pub fn parse(body: &str) -> Result<Self, WitnessRefusal> {
        let bad = |why: &str| WitnessRefusal::BadRequest(why.to_owned());
        let (head, checkpoint) = body
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.split('\n');
        let old = lines
            .next()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(|n| n.parse::<u64>().ok().filter(|v| v.to_string() == n))
            .ok_or_else(|| bad("the first line must be `old <size>`"))?;
        let proof = lines
            .map(|line| {
                STANDARD
                    .decode(line)
                    .ok()
                    .and_then(|b| Hash::try_from(b.as_slice()).ok())
                    .ok_or_else(|| bad("a proof line is not a base64 hash"))
            })
            .collect::<Result<Vec<Hash>, _>>()?;
        if proof.len() > MAX_PROOF_LINES {
            return Err(bad("more than 63 proof lines"));
        }
        Ok(Self {
            old_size: old,
            proof,
            checkpoint: checkpoint.to_owned(),
        })
    }
}

/// The checkpoint a witness holds for a log: its size and root.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Witnessed {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
}

/// Decides a submission: the checkpoint to persist and then cosign, or the refusal.
///
/// `logs` are the log keys the witness trusts, each for the origin that is its key name;
/// `latest` is what the witness last cosigned for the submission's origin (`None`: never).
pub fn check_submission(
    submission: &AddCheckpoint,
    logs: &[NoteVerifier],
    latest: impl FnOnce(&str) -> Option<Witnessed>,
) -> Result<Checkpoint, WitnessRefusal> {
    let bad = |e: AuditError| WitnessRefusal::BadRequest(e.to_string());
    let (body, _) = split_note(&submission.checkpoint).map_err(bad)?;
    let unverified = Checkpoint::parse(body).map_err(bad)?;
    let origin = unverified.origin();
    let keys: Vec<NoteVerifier> = logs
        .iter()
        .filter(|k| k.name() == origin)
        .cloned()
        .collect();
    if keys.is_empty() {
        return Err(WitnessRefusal::UnknownLog(origin.to_owned()));
    }
    let note = open_note(&submission.checkpoint, &keys).map_err(|e| match e {
        AuditError::MalformedNote(_) => bad(e),
        other => WitnessRefusal::Forbidden(other.to_string()),
    })?;
    let checkpoint = Checkpoint::parse(note.text()).map_err(bad)?;
    let (old, new) = (submission.old_size, checkpoint.size());
    if old > new {
        return Err(WitnessRefusal::BadRequest(format!(
            "old size {old} is above the checkpoint's {new}"
        )));
    }
    let known = latest(origin);
    let known_size = known.map_or(0, |w| w.size);
    if old != known_size {
        return Err(WitnessRefusal::Conflict { known: known_size });
    }
    let inconsistent = |why: &str| Err(WitnessRefusal::Unprocessable(why.to_owned()));
    if new == 0 && *checkpoint.root() != empty_root() {
        return inconsistent("a checkpoint of size 0 must have the empty tree's root");
    }
    match known {
        None if !submission.proof.is_empty() => inconsistent("a proof from size 0 must be empty"),
        None => Ok(checkpoint),
        Some(held) => {
            match verify_consistency(
                held.size,
                new,
                &submission.proof,
                &held.root,
                checkpoint.root(),
            ) {
                Ok(()) => Ok(checkpoint),
                Err(_) if held.size == new => {
                    inconsistent("same size as the checkpoint held, another root: the log forked")
                }
                Err(_) => {
                    inconsistent("the consistency proof does not verify: a rewritten or forked log")
                }
            }
        }
    }
}
