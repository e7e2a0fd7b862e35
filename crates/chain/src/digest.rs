//! Digests as the wire contract defines them: `"sha256:" + lowercase hex`.
//!
//! A digest of a JSON value is taken over its RFC 8785 (JCS) canonical bytes. JCS cannot carry
//! integers above 2^53 portably (Python's `rfc8785` refuses them, Rust crates round them), so
//! such numbers are refused here instead of being digested differently by different parties.

use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The largest integer magnitude JCS carries exactly in every implementation.
pub const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// Why a JSON value has no canonical digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CanonicalError {
    /// An integer outside ±2^53.
    #[error(
        "integer {number} at {path} is beyond 2^53 and cannot be canonicalized portably; send amounts and ids as strings"
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

/// RFC 8785 canonical bytes of a JSON value, refusing integers beyond 2^53.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    check_number_domain(value, &mut String::from("$"))?;
    serde_jcs::to_vec(value).map_err(|e| CanonicalError::Canonicalize(e.to_string()))
}

/// `sha256:<hex>` of the JCS canonical bytes of a JSON value.
pub fn json_digest(value: &Value) -> Result<String, CanonicalError> {
    Ok(sha256_digest(&canonical_json(value)?))
}

fn check_number_domain(value: &Value, path: &mut String) -> Result<(), CanonicalError> {
    match value {
        Value::Number(number) => {
            let beyond = if let Some(n) = number.as_u64() {
                n > MAX_EXACT_INTEGER
            } else if let Some(n) = number.as_i64() {
                n.unsigned_abs() > MAX_EXACT_INTEGER
            } else {
                // Integers too large for i64/u64 arrive as integral floats.
                number
                    .as_f64()
                    .is_some_and(|f| f.fract() == 0.0 && f.abs() > MAX_EXACT_INTEGER as f64)
            };
            if beyond {
                return Err(CanonicalError::IntegerOutOfRange {
                    path: path.clone(),
                    number: number.to_string(),
                });
            }
            Ok(())
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_number_domain(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                path.push('.');
                path.push_str(key);
                check_number_domain(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
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
    fn integers_beyond_two_to_the_53_are_refused_with_their_path() {
        let value = json!({"action": {"arguments": {"amount": 9_007_199_254_740_993_u64}}});
        let err = json_digest(&value).unwrap_err();
        assert_eq!(
            err,
            CanonicalError::IntegerOutOfRange {
                path: "$.action.arguments.amount".into(),
                number: "9007199254740993".into()
            }
        );
        let huge: Value =
            serde_json::from_str(r#"{"n": [1, 123456789012345678901234567890]}"#).unwrap();
        assert!(matches!(
            json_digest(&huge),
            Err(CanonicalError::IntegerOutOfRange { path, .. }) if path == "$.n[1]"
        ));
        assert!(json_digest(&json!({"ok": 9_007_199_254_740_992_u64, "f": 0.5})).is_ok());
    }
}
