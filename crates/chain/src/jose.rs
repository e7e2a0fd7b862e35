//! Ed25519 keys, RFC 7638 thumbprints and compact JWS.
//!
//! Signing writes the compact serialization itself (RFC 7515 §7.1: base64url of the protected
//! header's and the claims' JSON, then of the Ed25519 signature over both), which is all a JWS
//! with one fixed algorithm needs; a JWT library would bring RSA and other curves into the tree
//! for nothing. Verification parses the compact form here (to report *which* rule a token
//! breaks) and checks the signature with `ed25519-dalek`'s `verify_strict` against keys that
//! were length- and curve-checked when they were loaded. Every signed artefact except hops is
//! checked by [`verify_typed`]; hops, whose every defect is a finding, walk the same parts in
//! `verify`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use countersign_wire::{Jwk, JwsHeader};
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

/// The only JWS algorithm Countersign accepts.
pub const ALG_EDDSA: &str = "EdDSA";

/// Why a JWK is not a usable Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    /// `kty`/`crv` are not `OKP`/`Ed25519`.
    #[error("unsupported key type {kty}/{crv}: only OKP/Ed25519 keys are accepted")]
    Unsupported {
        /// The key's `kty`.
        kty: String,
        /// The key's `crv`.
        crv: String,
    },
    /// `x` is not base64url.
    #[error("key x is not base64url without padding")]
    NotBase64,
    /// `x` does not decode to 32 bytes.
    #[error("key x decodes to {0} bytes; an Ed25519 public key has 32")]
    WrongLength(usize),
    /// `x` is not a valid curve point.
    #[error("key x is not a valid Ed25519 point")]
    NotOnCurve,
}

/// Why a string is not a well-formed compact JWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// Not three dot-separated parts.
    #[error("not a compact JWS: expected 3 dot-separated parts, found {0}")]
    Parts(usize),
    /// A part is not base64url.
    #[error("JWS {0} is not base64url without padding")]
    Base64(&'static str),
    /// The header or payload is not a JSON object.
    #[error("JWS {part} is not a JSON object: {reason}")]
    Json {
        /// `header` or `payload`.
        part: &'static str,
        /// What the parser said.
        reason: String,
    },
    /// The header lacks `alg` or has fields of the wrong type.
    #[error("JWS header is invalid: {0}")]
    Header(String),
    /// The header lists critical extensions, which Countersign does not implement.
    #[error("JWS header has crit extensions {0}, which are not supported")]
    Critical(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A validated Ed25519 public key with its RFC 7638 thumbprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey {
    verifying: VerifyingKey,
    x: String,
    thumbprint: String,
}

impl PublicKey {
    /// Validates a JWK: OKP/Ed25519, 32-byte `x`, a point on the curve.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, JwkError> {
        if jwk.kty != "OKP" || jwk.crv != "Ed25519" {
            return Err(JwkError::Unsupported {
                kty: jwk.kty.clone(),
                crv: jwk.crv.clone(),
            });
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(&jwk.x)
            .map_err(|_| JwkError::NotBase64)?;
        let bytes: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| JwkError::WrongLength(bytes.len()))?;
        let verifying = VerifyingKey::from_bytes(&bytes).map_err(|_| JwkError::NotOnCurve)?;
        Ok(Self::from_verifying(verifying))
    }

    fn from_verifying(verifying: VerifyingKey) -> Self {
        let x = URL_SAFE_NO_PAD.encode(verifying.as_bytes());
        let thumbprint = thumbprint_of_x(&x);
        PublicKey {
            verifying,
            x,
            thumbprint,
        }
    }

    /// RFC 7638 thumbprint (base64url SHA-256 of the canonical JWK members): the key id.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The key as a public JWK (with its thumbprint as `kid`).
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: self.x.clone(),
            kid: Some(self.thumbprint.clone()),
        }
    }

    /// Strict Ed25519 verification (rejects small-order keys and malleable signatures).
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        self.verifying
            .verify_strict(message, &Signature::from_bytes(signature))
            .is_ok()
    }
}

fn thumbprint_of_x(x: &str) -> String {
    // RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// An Ed25519 private key able to sign hops and decisions.
pub struct SigningKeyPair {
    signing: SigningKey,
    public: PublicKey,
}

impl std::fmt::Debug for SigningKeyPair {
    // Never print private key material, not even in debug logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKeyPair")
            .field("kid", &self.public.thumbprint)
            .finish_non_exhaustive()
    }
}

impl SigningKeyPair {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        Self::from_signing(SigningKey::generate(&mut rand_core::OsRng))
    }

    /// A key derived from a 32-byte seed (deterministic; for demos and tests).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self::from_signing(SigningKey::from_bytes(&seed))
    }

    /// Reads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, JwsError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(Self::from_signing)
            .map_err(|e| JwsError::Sign(format!("not an Ed25519 PKCS#8 PEM private key: {e}")))
    }

    /// The private key as PKCS#8 v1 PEM (RFC 8410 §7: the seed alone). v1 because OpenSSL
    /// 3.0, Python's `cryptography` and so PyJWT refuse the v2 form that also embeds the
    /// public key; [`Self::from_pkcs8_pem`] reads both. Keep it out of logs.
    pub fn to_pkcs8_pem(&self) -> Result<String, JwsError> {
        ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.signing.to_bytes(),
            public_key: None,
        }
        .to_pkcs8_pem(Default::default())
        .map(|pem| pem.to_string())
        .map_err(|e| JwsError::Sign(e.to_string()))
    }

    fn from_signing(signing: SigningKey) -> Self {
        let public = PublicKey::from_verifying(signing.verifying_key());
        SigningKeyPair { signing, public }
    }

    /// The matching public key.
    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    /// Signs `claims` as a compact JWS with header `{alg: EdDSA, typ, kid: thumbprint}`.
    pub fn sign_jws<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, JwsError> {
        let header = JwsHeader {
            alg: ALG_EDDSA.to_owned(),
            typ: Some(typ.to_owned()),
            kid: Some(self.public.thumbprint.clone()),
        };
        let mut token = json_part(&header)?;
        token.push('.');
        token.push_str(&json_part(claims)?);
        let signature = self.signing.sign(token.as_bytes());
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(signature.to_bytes()));
        Ok(token)
    }

    /// Raw Ed25519 signature; used by benchmarks to measure the cost of the primitive.
    pub fn sign_raw(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }
}

/// One part of a compact JWS: base64url (no padding) of the value's JSON.
fn json_part<T: Serialize + ?Sized>(value: &T) -> Result<String, JwsError> {
    let json = serde_json::to_vec(value).map_err(|e| JwsError::Sign(e.to_string()))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}

/// Why a typed JWS (a decision, a console token, a webhook signature) was refused, in the
/// order the checks run: a caller may map the variants to its own protocol's codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TypedJwsError {
    /// Not a well-formed compact JWS.
    #[error(transparent)]
    Malformed(#[from] JwsError),
    /// An algorithm other than EdDSA.
    #[error("alg {0} is not allowed; only EdDSA is")]
    Algorithm(String),
    /// Another artefact's `typ` (or none).
    #[error("typ is {found:?}; it must be {expected:?}")]
    Type {
        /// The `typ` required.
        expected: String,
        /// The `typ` the header has.
        found: Option<String>,
    },
    /// No key of the given set produced the signature.
    #[error("the signature does not verify with any key it may be signed with")]
    Unverified,
    /// The payload is not the artefact's claims.
    #[error("claims are invalid at {path}: {reason}")]
    Claims {
        /// Path of the offending field.
        path: String,
        /// What the parser said.
        reason: String,
    },
}

/// The claims of a JWS whose signature, algorithm and type were checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verified<C> {
    /// The claims.
    pub claims: C,
    /// Thumbprint of the key that verified the signature.
    pub kid: String,
}

/// Verifies a compact JWS of type `typ` signed with EdDSA by one of `keys`, and parses its
/// claims. A `kid` in the header only selects among `keys`, never adds one. Claims checks that
/// depend on the artefact (audience, times, what it names) are the caller's.
pub fn verify_typed<'k, C: DeserializeOwned>(
    token: &str,
    typ: &str,
    keys: impl IntoIterator<Item = &'k PublicKey>,
) -> Result<Verified<C>, TypedJwsError> {
    let jws = CompactJws::parse(token)?;
    if jws.header.alg != ALG_EDDSA {
        return Err(TypedJwsError::Algorithm(jws.header.alg));
    }
    if jws.header.typ.as_deref() != Some(typ) {
        return Err(TypedJwsError::Type {
            expected: typ.to_owned(),
            found: jws.header.typ,
        });
    }
    let kid = jws.header.kid.as_deref();
    let key = keys
        .into_iter()
        .filter(|key| kid.is_none_or(|kid| kid == key.thumbprint()))
        .find(|key| jws.verify_with(key))
        .ok_or(TypedJwsError::Unverified)?;
    let claims = jws.claims().map_err(|e| TypedJwsError::Claims {
        path: e.path().to_string(),
        reason: e.inner().to_string(),
    })?;
    Ok(Verified {
        claims,
        kid: key.thumbprint().to_owned(),
    })
}

/// A structurally valid compact JWS whose signature has not been checked yet.
#[derive(Clone, Debug)]
pub struct CompactJws<'a> {
    /// The decoded protected header.
    pub header: JwsHeader,
    payload: Vec<u8>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

impl<'a> CompactJws<'a> {
    /// Parses `header.payload.signature`; checks nothing cryptographic.
    pub fn parse(token: &'a str) -> Result<Self, JwsError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Parts(token.split('.').count()));
        };
        let header = decode_object(header_b64, "header")?;
        if let Some(crit) = header.get("crit") {
            return Err(JwsError::Critical(crit.to_string()));
        }
        let header: JwsHeader = serde_json::from_value(Value::Object(header))
            .map_err(|e| JwsError::Header(e.to_string()))?;
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| JwsError::Base64("payload"))?;
        if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(JwsError::Json {
                part: "payload",
                reason: "not an object".into(),
            });
        }
        // Claims are read by more than one parser (ours, the workflow's, the auditor's).
        crate::ijson::check(&payload).map_err(|e| JwsError::Json {
            part: "payload",
            reason: e.to_string(),
        })?;
        let signature = URL_SAFE_NO_PAD
            .decode(signature_b64)
            .map_err(|_| JwsError::Base64("signature"))?;
        let signing_input = &token[..header_b64.len() + 1 + payload_b64.len()];
        Ok(CompactJws {
            header,
            payload,
            signing_input,
            signature,
        })
    }

    /// The payload deserialized as `T`; errors name the path of the offending field.
    pub fn claims<T: serde::de::DeserializeOwned>(
        &self,
    ) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
        // Tracking the path costs a fifth of a hop's parsing, so it is only done to explain a
        // failure.
        if let Ok(claims) = serde_json::from_slice(&self.payload) {
            return Ok(claims);
        }
        let mut deserializer = serde_json::Deserializer::from_slice(&self.payload);
        serde_path_to_error::deserialize(&mut deserializer)
    }

    /// Whether `key` produced the signature (a signature of the wrong length never verifies).
    pub fn verify_with(&self, key: &PublicKey) -> bool {
        <&[u8; 64]>::try_from(self.signature.as_slice())
            .is_ok_and(|signature| key.verify(self.signing_input.as_bytes(), signature))
    }
}

fn decode_object(part: &str, name: &'static str) -> Result<Map<String, Value>, JwsError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwsError::Base64(name))?;
    match crate::ijson::parse(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(JwsError::Json {
            part: name,
            reason: "not an object".into(),
        }),
        Err(e) => Err(JwsError::Json {
            part: name,
            reason: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thumbprint_matches_rfc_8037_appendix_a3() {
        // RFC 8037 A.3: the thumbprint of the example Ed25519 key.
        let jwk = Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".into(),
            kid: None,
        };
        let key = PublicKey::from_jwk(&jwk).unwrap();
        assert_eq!(
            key.thumbprint(),
            "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
        );
    }

    #[test]
    fn short_wrong_curve_and_garbage_keys_are_errors_not_panics() {
        let short = Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: "AAAAAAAAAAA".into(),
            kid: None,
        };
        assert_eq!(PublicKey::from_jwk(&short), Err(JwkError::WrongLength(8)));
        let p256 = Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: "AA".into(),
            kid: None,
        };
        assert!(matches!(
            PublicKey::from_jwk(&p256),
            Err(JwkError::Unsupported { .. })
        ));
        let garbage = Jwk {
            kty: "OKP".into(),
            crv: "Ed25519".into(),
            x: "!!".into(),
            kid: None,
        };
        assert_eq!(PublicKey::from_jwk(&garbage), Err(JwkError::NotBase64));
    }

    #[test]
    fn signed_jws_parses_and_verifies_only_with_its_own_key() {
        let key = SigningKeyPair::from_seed([7; 32]);
        let other = SigningKeyPair::from_seed([8; 32]);
        let token = key
            .sign_jws("delegation-hop+jwt", &json!({"iss": "a", "n": 1}))
            .unwrap();
        let jws = CompactJws::parse(&token).unwrap();
        assert_eq!(jws.header.alg, "EdDSA");
        assert_eq!(jws.header.typ.as_deref(), Some("delegation-hop+jwt"));
        assert_eq!(jws.header.kid.as_deref(), Some(key.public().thumbprint()));
        assert_eq!(jws.claims::<Value>().unwrap()["iss"], "a");
        assert!(jws.verify_with(key.public()));
        assert!(!jws.verify_with(other.public()));
    }

    #[test]
    fn malformed_tokens_get_precise_errors() {
        assert_eq!(CompactJws::parse("abc").unwrap_err(), JwsError::Parts(1));
        assert_eq!(
            CompactJws::parse("a.b.c.d").unwrap_err(),
            JwsError::Parts(4)
        );
        assert_eq!(
            CompactJws::parse("!.e30.AA").unwrap_err(),
            JwsError::Base64("header")
        );
        let not_object = URL_SAFE_NO_PAD.encode("[1]");
        assert!(matches!(
            CompactJws::parse(&format!("{not_object}.e30.AA")),
            Err(JwsError::Json { part: "header", .. })
        ));
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA"}"#);
        let token = format!("{header}.e30.AAAA");
        let short_signature = CompactJws::parse(&token).unwrap();
        let key = SigningKeyPair::from_seed([1; 32]);
        assert!(!short_signature.verify_with(key.public()));
        let crit = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","crit":["b64"],"b64":false}"#);
        assert!(matches!(
            CompactJws::parse(&format!("{crit}.e30.AA")),
            Err(JwsError::Critical(_))
        ));
    }

    #[test]
    fn a_header_or_claims_naming_a_member_twice_are_refused_before_any_signature_check() {
        let key = SigningKeyPair::from_seed([2; 32]);
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA"}"#);
        let claims = URL_SAFE_NO_PAD.encode(r#"{"decision":"reject","decision":"approve"}"#);
        let input = format!("{header}.{claims}");
        let signature = URL_SAFE_NO_PAD.encode(key.sign_raw(input.as_bytes()));
        match CompactJws::parse(&format!("{input}.{signature}")) {
            Err(JwsError::Json {
                part: "payload",
                reason,
            }) => {
                assert!(reason.contains("/decision"), "{reason}")
            }
            other => panic!("{other:?}"),
        }
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","alg":"EdDSA"}"#);
        assert!(matches!(
            CompactJws::parse(&format!("{header}.{claims}.{signature}")),
            Err(JwsError::Json { part: "header", .. })
        ));
        // One of each parses.
        let claims = URL_SAFE_NO_PAD.encode(r#"{"decision":"reject"}"#);
        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA"}"#);
        assert!(CompactJws::parse(&format!("{header}.{claims}.{signature}")).is_ok());
    }

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Claims {
        n: u32,
    }

    #[test]
    fn typed_verification_checks_type_signer_and_claims() {
        let key = SigningKeyPair::from_seed([3; 32]);
        let other = SigningKeyPair::from_seed([4; 32]);
        let token = key.sign_jws("a+jwt", &json!({"n": 5})).unwrap();

        let verified: Verified<Claims> =
            verify_typed(&token, "a+jwt", [other.public(), key.public()]).unwrap();
        assert_eq!(verified.claims, Claims { n: 5 });
        assert_eq!(verified.kid, key.public().thumbprint());

        assert_eq!(
            verify_typed::<Claims>(&token, "b+jwt", [key.public()]),
            Err(TypedJwsError::Type {
                expected: "b+jwt".into(),
                found: Some("a+jwt".into())
            })
        );
        assert_eq!(
            verify_typed::<Claims>(&token, "a+jwt", [other.public()]),
            Err(TypedJwsError::Unverified)
        );
        assert!(matches!(
            verify_typed::<Claims>(
                &key.sign_jws("a+jwt", &json!({"n": "five"})).unwrap(),
                "a+jwt",
                [key.public()]
            ),
            Err(TypedJwsError::Claims { path, .. }) if path == "n"
        ));
        assert!(matches!(
            verify_typed::<Claims>("x.y", "a+jwt", [key.public()]),
            Err(TypedJwsError::Malformed(JwsError::Parts(2)))
        ));
    }

    #[test]
    fn typed_verification_refuses_other_algorithms_and_foreign_kids() {
        let key = SigningKeyPair::from_seed([5; 32]);
        let token = key.sign_jws("a+jwt", &json!({"n": 1})).unwrap();
        let (_, rest) = token.split_once('.').unwrap();
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"a+jwt"}"#);
        assert_eq!(
            verify_typed::<Claims>(&format!("{none_header}.{rest}"), "a+jwt", [key.public()]),
            Err(TypedJwsError::Algorithm("none".into()))
        );
        // A kid naming another key: the signing key is in the set, but the header asked for
        // a different one, so nothing is tried.
        let foreign = URL_SAFE_NO_PAD.encode(r#"{"alg":"EdDSA","typ":"a+jwt","kid":"elsewhere"}"#);
        let payload_and_signature = rest;
        assert_eq!(
            verify_typed::<Claims>(
                &format!("{foreign}.{payload_and_signature}"),
                "a+jwt",
                [key.public()]
            ),
            Err(TypedJwsError::Unverified)
        );
    }

    #[test]
    fn signed_tokens_are_standard_compact_jws() {
        // RFC 7515: header and payload are the base64url of their JSON, the signature is
        // Ed25519 over `header.payload`; the header names alg, typ and kid.
        let key = SigningKeyPair::from_seed([6; 32]);
        let token = key.sign_jws("a+jwt", &json!({"n": 1})).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(
            header,
            json!({"alg": "EdDSA", "typ": "a+jwt", "kid": key.public().thumbprint()})
        );
        let payload = URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
        assert_eq!(payload, br#"{"n":1}"#);
        let signature: [u8; 64] = URL_SAFE_NO_PAD
            .decode(parts[2])
            .unwrap()
            .try_into()
            .unwrap();
        let message = format!("{}.{}", parts[0], parts[1]);
        assert!(key.public().verify(message.as_bytes(), &signature));
    }

    #[test]
    fn pem_round_trip_keeps_the_key() {
        let key = SigningKeyPair::generate();
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = SigningKeyPair::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(back.public(), key.public());
        assert!(!format!("{key:?}").contains("PRIVATE"));
    }

    #[test]
    fn keys_are_written_as_pkcs8_v1_and_the_v2_form_is_still_read() {
        use base64::Engine as _;
        let key = SigningKeyPair::from_seed([7; 32]);
        let pem = key.to_pkcs8_pem().unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap();
        // RFC 8410 §10.3's layout: version 0, the Ed25519 OID, the seed; nothing else.
        let mut expected = hex_bytes("302e020100300506032b657004220420");
        expected.extend([7; 32]);
        assert_eq!(der, expected);
        let v2 = key
            .signing
            .to_pkcs8_pem(Default::default())
            .unwrap()
            .to_string();
        assert_ne!(v2, pem, "the v2 form embeds the public key");
        assert_eq!(
            SigningKeyPair::from_pkcs8_pem(&v2).unwrap().public(),
            key.public()
        );
    }

    fn hex_bytes(hex: &str) -> Vec<u8> {
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect()
    }
}
