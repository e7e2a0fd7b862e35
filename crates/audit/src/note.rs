//! c2sp.org/signed-note with Ed25519 (signature type 0x01), key strings as in Go's
//! `golang.org/x/mod/sumdb/note`, so Go, Python and our own tools read the same files.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::AuditError;

/// The signed-note signature type byte for Ed25519.
const ED25519: u8 = 0x01;

/// Signature lines accepted per note: the spec requires at least 16; a bound keeps a hostile
/// note from costing unbounded verification work.
pub const MAX_SIGNATURES: usize = 64;

/// The em dash and space that open every signature line.
pub(crate) const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// The prefix of a Go-style signer key string.
const SIGNER_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// SHA-256(name || 0x0A || 0x01 || public key)[:4], big-endian: which key signed a line.
fn key_id(name: &str, key: &VerifyingKey) -> u32 {
    typed_key_id(name, ED25519, key)
}

/// SHA-256(name || 0x0A || type || public key)[:4], big-endian, for a signature type.
pub(crate) fn typed_key_id(name: &str, signature_type: u8, key: &VerifyingKey) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', signature_type]);
    hasher.update(key.as_bytes());
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Key names are non-empty and have no spaces or `+`, so signature lines and key strings
/// split unambiguously.
pub(crate) fn check_name(name: &str) -> Result<(), AuditError> {
    if name.is_empty()
        || name
            .chars()
            .any(|c| c.is_whitespace() || c == '+' || c < ' ')
    {
        return Err(AuditError::MalformedKey(
            "key name must be non-empty, without spaces or '+'",
        ));
    }
    Ok(())
}

/// Notes are UTF-8 (guaranteed by `&str`) without control characters other than newline.
pub(crate) fn check_chars(text: &str) -> Result<(), AuditError> {
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(AuditError::MalformedNote(
            "control characters other than newline",
        ));
    }
    Ok(())
}

/// Eight hex digits, as in a verifier key string.
fn parse_key_id(hex: &str) -> Option<u32> {
    if hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        u32::from_str_radix(hex, 16).ok()
    } else {
        None
    }
}

/// `0x01 || 32 bytes`, base64: the key part of verifier and signer key strings.
fn decode_typed_key(text: &str) -> Result<[u8; 32], AuditError> {
    decode_key_of_type(text, ED25519).map_err(|e| match e {
        AuditError::MalformedKey(OTHER_TYPE) => {
            AuditError::MalformedKey("only Ed25519 (type 0x01) keys")
        }
        other => other,
    })
}

const OTHER_TYPE: &str = "key of another signature type";

/// `type || 32 bytes`, base64, for one signature type.
pub(crate) fn decode_key_of_type(text: &str, signature_type: u8) -> Result<[u8; 32], AuditError> {
    let bytes = STANDARD
        .decode(text)
        .map_err(|_| AuditError::MalformedKey("key is not base64"))?;
    match bytes.split_first() {
        Some((&found, key)) if found == signature_type => key
            .try_into()
            .map_err(|_| AuditError::MalformedKey("Ed25519 key must be 32 bytes")),
        _ => Err(AuditError::MalformedKey(OTHER_TYPE)),
    }
}

fn encode_typed_key(key: &[u8; 32]) -> String {
    encode_key_of_type(key, ED25519)
}

/// `type || 32 bytes`, base64.
pub(crate) fn encode_key_of_type(key: &[u8; 32], signature_type: u8) -> String {
    let mut bytes = Vec::with_capacity(33);
    bytes.push(signature_type);
    bytes.extend_from_slice(key);
    STANDARD.encode(bytes)
}

/// A log key that signs notes (checkpoints) under a name.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key_id: u32,
    key: SigningKey,
}

impl NoteSigner {
    /// A signer for `name` with this Ed25519 key.
    pub fn new(name: &str, key: SigningKey) -> Result<Self, AuditError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, &key.verifying_key()),
            key,
        })
    }

    /// Parse a Go-style signer key: `PRIVATE+KEY+<name>+<hex key ID>+<base64(0x01 || seed)>`.
    pub fn from_signer_key(skey: &str) -> Result<Self, AuditError> {
        let rest = skey
            .strip_prefix(SIGNER_KEY_PREFIX)
            .ok_or(AuditError::MalformedKey(
                "signer key must start with PRIVATE+KEY+",
            ))?;
        let (name, id, key) = split_key_string(rest)?;
        let signer = Self::new(name, SigningKey::from_bytes(&decode_typed_key(key)?))?;
        if signer.key_id != id {
            return Err(AuditError::MalformedKey("key ID does not match the key"));
        }
        Ok(signer)
    }

    /// The Go-style signer key string; it contains the private key, so store it as a secret.
    pub fn signer_key(&self) -> String {
        format!(
            "{SIGNER_KEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_typed_key(self.key.as_bytes())
        )
    }

    /// The key name on signature lines.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID on signature lines.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The public half, to hand to auditors.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_id: self.key_id,
            key: self.key.verifying_key(),
        }
    }

    /// Sign `text` (which must end in a newline) as a note with this one signature.
    pub fn sign(&self, text: &str) -> Result<String, AuditError> {
        sign_note(text, &[self])
    }

    /// The signature line for `text`, without checking `text`.
    fn signature_line(&self, text: &str) -> String {
        let mut bytes = Vec::with_capacity(68);
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.key.sign(text.as_bytes()).to_bytes());
        format!(
            "{SIGNATURE_PREFIX}{} {}\n",
            self.name,
            STANDARD.encode(bytes)
        )
    }
}

impl fmt::Debug for NoteSigner {
    /// Names the key without printing it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_id", &format_args!("{:08x}", self.key_id))
            .finish_non_exhaustive()
    }
}

/// Sign `text` as a note, one signature line per signer (the log key first, by convention).
pub fn sign_note(text: &str, signers: &[&NoteSigner]) -> Result<String, AuditError> {
    if !text.ends_with('\n') {
        return Err(AuditError::MalformedNote("text must end with a newline"));
    }
    check_chars(text)?;
    if signers.is_empty() {
        return Err(AuditError::MalformedNote("a note needs a signature"));
    }
    if signers.len() > MAX_SIGNATURES {
        return Err(AuditError::MalformedNote("too many signatures"));
    }
    let mut note = format!("{text}\n");
    for signer in signers {
        note.push_str(&signer.signature_line(text));
    }
    Ok(note)
}

/// A trusted public key for notes: name, key ID and Ed25519 key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// A verifier for `name` with this Ed25519 public key.
    pub fn new(name: &str, key: VerifyingKey) -> Result<Self, AuditError> {
        check_name(name)?;
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, &key),
            key,
        })
    }

    /// Parse a verifier key string: `<name>+<hex key ID>+<base64(0x01 || public key)>`.
    pub fn parse(vkey: &str) -> Result<Self, AuditError> {
        let (name, id, key) = split_key_string(vkey)?;
        let key = VerifyingKey::from_bytes(&decode_typed_key(key)?)
            .map_err(|_| AuditError::MalformedKey("not an Ed25519 public key"))?;
        let verifier = Self::new(name, key)?;
        if verifier.key_id != id {
            return Err(AuditError::MalformedKey("key ID does not match the key"));
        }
        Ok(verifier)
    }

    /// The key name signature lines must carry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key ID signature lines must carry.
    pub fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> &VerifyingKey {
        &self.key
    }
}

impl fmt::Display for NoteVerifier {
    /// The verifier key string, the form auditors pin.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.key_id,
            encode_typed_key(self.key.as_bytes())
        )
    }
}

impl FromStr for NoteVerifier {
    type Err = AuditError;

    fn from_str(vkey: &str) -> Result<Self, AuditError> {
        Self::parse(vkey)
    }
}

/// `<name>+<hex id>+<key>`; the key part may itself contain `+` (base64).
pub(crate) fn split_key_string(text: &str) -> Result<(&str, u32, &str), AuditError> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(AuditError::MalformedKey("key string needs name+id+key"));
    };
    let id = parse_key_id(id).ok_or(AuditError::MalformedKey("key ID must be 8 hex digits"))?;
    Ok((name, id, key))
}

/// A note whose signatures were checked: its text may now be trusted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    text: String,
    verified_by: Vec<NoteVerifier>,
}

impl VerifiedNote {
    /// The signed text, final newline included.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The trusted keys whose signatures verified, in signature order.
    pub fn verified_by(&self) -> &[NoteVerifier] {
        &self.verified_by
    }
}

/// Check a signed note against trusted keys.
///
/// Signatures from unknown keys (name and key ID not both matching a trusted key) are ignored.
/// A known key's signature that fails rejects the whole note, and so does a note with no
/// verified signature.
pub fn open_note(note: &str, verifiers: &[NoteVerifier]) -> Result<VerifiedNote, AuditError> {
    let (text, lines) = split_note(note)?;
    let mut verified_by: Vec<NoteVerifier> = Vec::new();
    for line in lines {
        let (name, id, signature) = parse_signature_line(line)?;
        let Some(verifier) = verifiers.iter().find(|v| v.name == name && v.key_id == id) else {
            continue;
        };
        if verified_by.contains(verifier) {
            return Err(AuditError::MalformedNote("repeated signature from one key"));
        }
        let valid = Signature::from_slice(&signature)
            .is_ok_and(|sig| verifier.key.verify_strict(text.as_bytes(), &sig).is_ok());
        if !valid {
            return Err(AuditError::BadSignature {
                name: name.to_owned(),
            });
        }
        verified_by.push(verifier.clone());
    }
    if verified_by.is_empty() {
        return Err(AuditError::NoTrustedSignature);
    }
    Ok(VerifiedNote {
        text: text.to_owned(),
        verified_by,
    })
}

/// A note's text (final newline included) and its signature lines (without newlines), with
/// the note's framing checked: no control characters, a blank line, at most
/// [`MAX_SIGNATURES`] lines, each ending in a newline.
pub(crate) fn split_note(note: &str) -> Result<(&str, Vec<&str>), AuditError> {
    check_chars(note)?;
    let split = note.rfind("\n\n").ok_or(AuditError::MalformedNote(
        "no blank line before the signatures",
    ))?;
    let (text, signatures) = (&note[..=split], &note[split + 2..]);
    let signatures = signatures
        .strip_suffix('\n')
        .ok_or(AuditError::MalformedNote(
            "signatures must end with a newline",
        ))?;
    let lines: Vec<&str> = signatures.split('\n').collect();
    if lines.len() > MAX_SIGNATURES {
        return Err(AuditError::MalformedNote("too many signatures"));
    }
    Ok((text, lines))
}

/// `— <name> base64(key ID || signature)`, split into its parts.
pub(crate) fn parse_signature_line(line: &str) -> Result<(&str, u32, Vec<u8>), AuditError> {
    let rest = line
        .strip_prefix(SIGNATURE_PREFIX)
        .ok_or(AuditError::MalformedNote(
            "signature line must start with an em dash",
        ))?;
    let (name, encoded) = rest.split_once(' ').ok_or(AuditError::MalformedNote(
        "signature line needs a name and a signature",
    ))?;
    check_name(name).map_err(|_| AuditError::MalformedNote("invalid key name"))?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|_| AuditError::MalformedNote("signature is not base64"))?;
    match bytes.split_first_chunk::<4>() {
        Some((id, signature)) if !signature.is_empty() => {
            Ok((name, u32::from_be_bytes(*id), signature.to_vec()))
        }
        _ => Err(AuditError::MalformedNote("signature too short")),
    }
}

/// Why a pinned log key given on a command line is not usable.
#[derive(Debug, thiserror::Error)]
pub enum PinnedKeyError {
    /// `@FILE` could not be read.
    #[error("cannot read {path}: {source}")]
    Unreadable {
        /// The file named.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file does not hold a verifier key.
    #[error("{path} does not hold a log key: {source}")]
    NotAKeyFile {
        /// The file named.
        path: String,
        /// What is wrong with its text.
        source: AuditError,
    },
    /// The value is not a verifier key, but a file of that name exists.
    #[error("{0} is a file: give it as @{0}")]
    FileWithoutAt(String),
    /// The value is not a verifier key.
    #[error("not a log key (name+keyid+base64, or @FILE holding one): {0}")]
    NotAKey(AuditError),
}

/// A pinned log key as an auditor gives it: the key itself (`name+keyid+base64`, as the
/// gateway serves it) or `@FILE` holding it. Nothing is guessed: a value is never read as a
/// path unless it says so, and a key-shaped typo is never taken for a file name.
pub fn parse_pinned_key(given: &str) -> Result<NoteVerifier, PinnedKeyError> {
    if let Some(path) = given.strip_prefix('@') {
        let text = std::fs::read_to_string(path).map_err(|source| PinnedKeyError::Unreadable {
            path: path.to_owned(),
            source,
        })?;
        return NoteVerifier::parse(text.trim()).map_err(|source| PinnedKeyError::NotAKeyFile {
            path: path.to_owned(),
            source,
        });
    }
    NoteVerifier::parse(given.trim()).map_err(|e| {
        if std::path::Path::new(given).exists() {
            PinnedKeyError::FileWithoutAt(given.to_owned())
        } else {
            PinnedKeyError::NotAKey(e)
        }
    })
}
