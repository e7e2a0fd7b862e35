//! Digests as the wire contract defines them: `"sha256:" + lowercase hex`.
//!
//! A digest of a JSON value is taken over its RFC 8785 (JCS) canonical bytes. JCS cannot carry
//! integers above 2^53 portably (Python's `rfc8785` refuses them, Rust crates round them), so
//! such numbers are refused here instead of being digested differently by different parties.
//! The rule is on the value, whatever its notation: `1e21` is refused like
//! `1000000000000000000000`, because after parsing the two cannot be told apart.

use std::fmt::Write as _;

use countersign_wire::DecisionSubject;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The largest integer magnitude JCS carries exactly in every implementation
/// (ECMAScript's `Number.MAX_SAFE_INTEGER`, 2^53 − 1; Python's `rfc8785` refuses 2^53 itself).
pub const MAX_EXACT_INTEGER: u64 = (1 << 53) - 1;

/// Why a JSON value has no canonical digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// An integer outside ±(2^53 − 1).
    #[error(
        "integer {number} at {path} is beyond 2^53 − 1 and cannot be canonicalized portably; send amounts and ids as strings"
    )]
    IntegerOutOfRange {
        /// JSONPath-like location, e.g. `$.action.arguments.amount`.
        path: String,
        /// The number as parsed.
        number: String,
    },
    /// The canonicalizer failed (not expected for values parsed from JSON).
    #[error("cannot canonicalize JSON: {0}")]
    Canonicalize(String),
}

/// `sha256:<hex>` of raw bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for byte in hash {
        out.push(char::from_digit(u32::from(byte >> 4), 16).unwrap_or('0'));
        out.push(char::from_digit(u32::from(byte & 0xf), 16).unwrap_or('0'));
    }
    out
}

/// RFC 8785 canonical bytes of a JSON value, refusing integers beyond the safe range.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out, &mut Vec::new())?;
    Ok(out)
}

/// `sha256:<hex>` of the JCS canonical bytes of a JSON value.
pub fn json_digest(value: &Value) -> Result<String, CanonicalError> {
    Ok(sha256_digest(&canonical_json(value)?))
}

/// The three digests a decision names, taken from one canonicalization of the request: a
/// member's canonical form is the very slice of its parent's, so `chain` and `action` are
/// hashed from there instead of being canonicalized again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestDigests {
    /// Over the whole request.
    pub request: String,
    /// Over its `chain` member (`None` when absent).
    pub chain: Option<String>,
    /// Over its `action` member (`None` when absent).
    pub action: Option<String>,
}

/// [`RequestDigests`] of a request; an error when the request has no canonical form (then no
/// member digest is given either, as none could be trusted to match the request's).
pub fn request_digests(request: &Value) -> Result<RequestDigests, CanonicalError> {
    let mut out = Vec::with_capacity(4096);
    let mut chain = None;
    let mut action = None;
    match request {
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            sort_members(&mut members);
            out.push(b'{');
            let mut path = Vec::new();
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, &mut out)?;
                out.push(b':');
                let from = out.len();
                path.push(Segment::Key(key));
                write_canonical(item, &mut out, &mut path)?;
                path.pop();
                let digest = || Some(sha256_digest(&out[from..]));
                match key.as_str() {
                    "chain" => chain = digest(),
                    "action" => action = digest(),
                    _ => {}
                }
            }
            out.push(b'}');
        }
        other => write_canonical(other, &mut out, &mut Vec::new())?,
    }
    Ok(RequestDigests {
        request: sha256_digest(&out),
        chain,
        action,
    })
}

/// What a decision on `request`, as its workflow sent it, must name: the workflow computes the
/// digests from its own bytes rather than trusting what a gateway reports. A missing part is
/// digested as `null`, which no decision names.
pub fn decision_subject(request: &Value) -> Result<DecisionSubject, CanonicalError> {
    let text = |key: &str| {
        request
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let digests = request_digests(request)?;
    let absent = || json_digest(&Value::Null);
    Ok(DecisionSubject {
        request_id: text("request_id"),
        txn: text("txn"),
        request_digest: digests.request,
        chain_digest: digests.chain.map_or_else(absent, Ok)?,
        action_digest: digests.action.map_or_else(absent, Ok)?,
    })
}

/// Where the canonicalizer is, kept as borrowed pieces and only rendered when a number is
/// refused (building the text at every member cost more than writing the member).
enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

fn render(path: &[Segment<'_>]) -> String {
    let mut text = String::from("$");
    for segment in path {
        match segment {
            Segment::Key(key) => {
                text.push('.');
                text.push_str(key);
            }
            Segment::Index(i) => {
                let _ = write!(text, "[{i}]");
            }
        }
    }
    text
}

/// RFC 8785 §3.2.3: members sorted by the UTF-16 code units of their names. Names without a
/// character at or above U+E000 sort the same by their UTF-8 bytes, which is how the map
/// already holds them unless `preserve_order` is on: then nothing moves.
fn sort_members(members: &mut [(&String, &Value)]) {
    let plain = |name: &str| name.chars().all(|c| c < '\u{e000}');
    if members.iter().all(|(name, _)| plain(name)) {
        if !members.is_sorted_by(|a, b| a.0.as_bytes() <= b.0.as_bytes()) {
            members.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        }
    } else {
        members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    }
}

/// RFC 8785 writer. Written here rather than taken from `serde_jcs` because that crate
/// re-parses every object key and buffers every nested value, which made canonicalization the
/// largest cost of verifying a request; `tests/chain/canonical.rs` cross-checks this writer
/// against `serde_jcs`, and the interop test against Python's `rfc8785`.
fn write_canonical<'a>(
    value: &'a Value,
    out: &mut Vec<u8>,
    path: &mut Vec<Segment<'a>>,
) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_number(number, out, path)?,
        // serde_json escapes exactly as RFC 8785 §3.2.2.2 asks: `"` and `\`, the short forms
        // \b \t \n \f \r, other controls as lowercase \u00xx, everything else verbatim.
        Value::String(text) => write_string(text, out)?,
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                path.push(Segment::Index(i));
                write_canonical(item, out, path)?;
                path.pop();
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            sort_members(&mut members);
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out)?;
                out.push(b':');
                path.push(Segment::Key(key));
                write_canonical(item, out, path)?;
                path.pop();
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(text: &str, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    serde_json::to_writer(out, text).map_err(|e| CanonicalError::Canonicalize(e.to_string()))
}

fn write_number(
    number: &serde_json::Number,
    out: &mut Vec<u8>,
    path: &[Segment<'_>],
) -> Result<(), CanonicalError> {
    let out_of_range = || CanonicalError::IntegerOutOfRange {
        path: render(path),
        number: number.to_string(),
    };
    if let Some(n) = number.as_u64() {
        if n > MAX_EXACT_INTEGER {
            return Err(out_of_range());
        }
        out.extend_from_slice(n.to_string().as_bytes());
    } else if let Some(n) = number.as_i64() {
        if n.unsigned_abs() > MAX_EXACT_INTEGER {
            return Err(out_of_range());
        }
        out.extend_from_slice(n.to_string().as_bytes());
    } else {
        let f = number.as_f64().ok_or_else(|| {
            CanonicalError::Canonicalize(format!("number {number} is not finite"))
        })?;
        // Integers too large for i64/u64 arrive as integral floats.
        if f.fract() == 0.0 && f.abs() > MAX_EXACT_INTEGER as f64 {
            return Err(out_of_range());
        }
        if f == 0.0 {
            // ECMAScript prints -0 as "0".
            out.push(b'0');
        } else {
            out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn digest_of_empty_bytes_is_the_known_sha256() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn one_pass_request_digests_equal_digesting_each_part_on_its_own() {
        // Top-level names where UTF-16 and UTF-8 order differ (an emoji sorts before U+E000 in
        // UTF-16 only), so the members' slices must come from the JCS order, not the map's.
        let request = json!({
            "\u{e000}": 1,
            "😀": [1.5, "x"],
            "chain": ["a.b.c", {"z": null, "a": "\u{1}"}],
            "action": {"type": "pay", "arguments": {"amount": "10.00"}},
            "txn": "t"
        });
        let digests = request_digests(&request).unwrap();
        assert_eq!(digests.request, json_digest(&request).unwrap());
        assert_eq!(
            digests.chain.as_deref(),
            Some(json_digest(&request["chain"]).unwrap().as_str())
        );
        assert_eq!(
            digests.action.as_deref(),
            Some(json_digest(&request["action"]).unwrap().as_str())
        );
        let without = json!({"txn": "t"});
        let digests = request_digests(&without).unwrap();
        assert_eq!((digests.chain, digests.action), (None, None));
        // A number JCS cannot carry is refused with its path, rendered only then.
        let too_big = json!({"action": {"arguments": {"n": [0, 9007199254740993u64]}}});
        match request_digests(&too_big) {
            Err(CanonicalError::IntegerOutOfRange { path, .. }) => {
                assert_eq!(path, "$.action.arguments.n[1]");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn json_digest_ignores_key_order_and_whitespace() {
        let a: Value = serde_json::from_str(r#"{"b": 1, "a": [true, null, "x"]}"#).unwrap();
        let b: Value = serde_json::from_str(r#"{"a":[true,null,"x"],"b":1}"#).unwrap();
        assert_eq!(json_digest(&a).unwrap(), json_digest(&b).unwrap());
        assert_eq!(
            canonical_json(&a).unwrap(),
            br#"{"a":[true,null,"x"],"b":1}"#
        );
    }

    #[test]
    fn integers_beyond_the_safe_range_are_refused_with_their_path() {
        let value = json!({"action": {"arguments": {"amount": 9_007_199_254_740_992_u64}}});
        let err = json_digest(&value).unwrap_err();
        assert_eq!(
            err,
            CanonicalError::IntegerOutOfRange {
                path: "$.action.arguments.amount".into(),
                number: "9007199254740992".into()
            }
        );
        let huge: Value =
            serde_json::from_str(r#"{"n": [1, 123456789012345678901234567890]}"#).unwrap();
        assert!(matches!(
            json_digest(&huge),
            Err(CanonicalError::IntegerOutOfRange { path, .. }) if path == "$.n[1]"
        ));
        assert!(json_digest(&json!({"ok": 9_007_199_254_740_991_u64, "neg": -9_007_199_254_740_991_i64, "f": 0.5})).is_ok());
    }
}
