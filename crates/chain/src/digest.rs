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
    let mut path = String::from("$");
    write_canonical(value, &mut out, &mut path)?;
    Ok(out)
}

/// `sha256:<hex>` of the JCS canonical bytes of a JSON value.
pub fn json_digest(value: &Value) -> Result<String, CanonicalError> {
    Ok(sha256_digest(&canonical_json(value)?))
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
    let part = |key: &str| json_digest(request.get(key).unwrap_or(&Value::Null));
    Ok(DecisionSubject {
        request_id: text("request_id"),
        txn: text("txn"),
        request_digest: json_digest(request)?,
        chain_digest: part("chain")?,
        action_digest: part("action")?,
    })
}

/// RFC 8785 writer. Written here rather than taken from `serde_jcs` because that crate
/// re-parses every object key and buffers every nested value, which made canonicalization the
/// largest cost of verifying a request; `tests/chain/canonical.rs` cross-checks this writer
/// against `serde_jcs`, and the interop test against Python's `rfc8785`.
fn write_canonical(
    value: &Value,
    out: &mut Vec<u8>,
    path: &mut String,
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
                let len = path.len();
                let _ = write!(path, "[{i}]");
                write_canonical(item, out, path)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // RFC 8785 §3.2.3: members sorted by the UTF-16 code units of their names.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(key, out)?;
                out.push(b':');
                let len = path.len();
                path.push('.');
                path.push_str(key);
                write_canonical(item, out, path)?;
                path.truncate(len);
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
    path: &str,
) -> Result<(), CanonicalError> {
    let out_of_range = || CanonicalError::IntegerOutOfRange {
        path: path.to_owned(),
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
