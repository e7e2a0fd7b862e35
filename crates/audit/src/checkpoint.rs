//! The c2sp.org/tlog-checkpoint note body: which log, how many entries, which root.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::AuditError;
use crate::merkle::Hash;

/// A log's claim about its tree at one size; signed as a note with
/// [`NoteSigner`](crate::NoteSigner).
///
/// Fields are private so every value formats to a body that [`Checkpoint::parse`] accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
    extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines (the C2SP recommendation).
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Self, AuditError> {
        check_line(origin, "origin must be a non-empty line")?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: Vec::new(),
        })
    }

    /// The same checkpoint with these extension lines (opaque, each non-empty).
    pub fn with_extensions(mut self, extensions: Vec<String>) -> Result<Self, AuditError> {
        for line in &extensions {
            check_line(line, "extension lines must be non-empty lines")?;
        }
        self.extensions = extensions;
        Ok(self)
    }

    /// Parse a checkpoint body (the text of a verified note).
    pub fn parse(text: &str) -> Result<Self, AuditError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(AuditError::MalformedCheckpoint(
                "body must end with a newline",
            ))?;
        let mut lines = body.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(AuditError::MalformedCheckpoint(
                "body needs origin, size and root lines",
            ));
        };
        check_line(origin, "origin must be a non-empty line")?;
        let size = parse_decimal(size).ok_or(AuditError::MalformedCheckpoint(
            "size must be a canonical decimal",
        ))?;
        let root = decode_hash(root).ok_or(AuditError::MalformedCheckpoint(
            "root must be a base64 SHA-256 hash",
        ))?;
        let extensions = lines
            .map(|line| {
                check_line(line, "extension lines must be non-empty lines")
                    .map(|()| line.to_owned())
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// The log identity that issued this checkpoint.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// How many entries the tree holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 9162 root of the tree at [`Checkpoint::size`].
    pub fn root(&self) -> &Hash {
        &self.root
    }

    /// Opaque extension lines, in order.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text to sign: `<origin>\n<size>\n<base64 root>\n` then extension lines.
    pub fn body(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Checkpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.origin)?;
        writeln!(f, "{}", self.size)?;
        writeln!(f, "{}", STANDARD.encode(self.root))?;
        for line in &self.extensions {
            writeln!(f, "{line}")?;
        }
        Ok(())
    }
}

/// A non-empty line without control characters (so it cannot split or corrupt a note).
fn check_line(line: &str, reason: &'static str) -> Result<(), AuditError> {
    if line.is_empty() || line.chars().any(|c| c < ' ') {
        return Err(AuditError::MalformedCheckpoint(reason));
    }
    Ok(())
}

/// An ASCII decimal without sign or leading zeros (other than `0` itself), so one number has
/// one spelling and a signed body cannot be re-spelt.
pub(crate) fn parse_decimal(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && (text == "0" || !text.starts_with('0'));
    if canonical { text.parse().ok() } else { None }
}

/// A canonical standard-base64 SHA-256 hash (the engine rejects non-zero trailing bits).
pub(crate) fn decode_hash(text: &str) -> Option<Hash> {
    STANDARD.decode(text).ok()?.try_into().ok()
}
