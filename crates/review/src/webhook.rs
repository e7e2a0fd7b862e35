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

/// Why a receiver URL (a request's callback or an A2A push config) is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReceiverUrlError {
    /// It does not parse.
    #[error("the receiver URL does not parse: {0}")]
    NotAUrl(String),
    /// Neither https nor loopback http.
    #[error("the receiver URL must be https (plain http only to a loopback address), not {0}")]
    Scheme(String),
    /// `user:password@` in the URL would be logged and stored in the clear.
    #[error("the receiver URL must not carry credentials; use the authentication field")]
    Credentials,
}

/// Checks where the gateway may POST a decision: https anywhere, plain http only to this
/// machine (a local receiver in development and tests), never credentials in the URL.
pub fn check_receiver_url(text: &str) -> Result<url::Url, ReceiverUrlError> {
    let url = url::Url::parse(text).map_err(|e| ReceiverUrlError::NotAUrl(e.to_string()))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ReceiverUrlError::Credentials);
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" if url.host().is_some() => Ok(url),
        "http" if loopback => Ok(url),
        other => Err(ReceiverUrlError::Scheme(format!(
            "{other}://{}",
            url.host_str().unwrap_or("")
        ))),
    }
}
