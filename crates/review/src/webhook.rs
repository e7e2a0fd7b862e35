//! Signatures on webhook deliveries, so a receiver can tell the gateway sent them.
//!
//! The `Countersign-Signature` header is a compact JWS (`typ: countersign-webhook+jwt`) by the
//! gateway's own key, published in its JWKS, whose claims bind the body's digest and the
//! delivery id: any JOSE library verifies it.

use countersign_chain::SigningKeyPair;
use countersign_chain::digest::sha256_digest;
use serde::{Deserialize, Serialize};

/// `typ` of a webhook signature.
pub const WEBHOOK_TYP: &str = "countersign-webhook+jwt";

/// Claims of a webhook signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSignatureClaims {
    /// The gateway's audience (its name).
    pub iss: String,
    /// Digest of the exact body bytes.
    pub body_digest: String,
    /// The delivery (idempotency) id.
    pub delivery_id: String,
    /// Time of this attempt.
    pub iat: i64,
}

/// Signs one delivery attempt of `body`.
pub fn sign_delivery(
    key: &SigningKeyPair,
    issuer: &str,
    body: &[u8],
    delivery_id: &str,
    iat: i64,
) -> String {
    let claims = WebhookSignatureClaims {
        iss: issuer.to_owned(),
        body_digest: sha256_digest(body),
        delivery_id: delivery_id.to_owned(),
        iat,
    };
    key.sign_jws(WEBHOOK_TYP, &claims)
        .expect("signing in-memory claims with an in-memory key cannot fail")
}
