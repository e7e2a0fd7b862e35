//! What a workflow checks before acting on a decision: the signature by a key the gateway
//! publishes, the type, the audience, freshness, and that it binds the very request sent.

use chrono::{DateTime, Utc};
use countersign_chain::{PublicKey, TypedJwsError, verify_typed};
use countersign_wire::{DECISION_TYP, DecisionClaims, DecisionSubject, Jwk};

/// Why a workflow must not act on a decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecisionCheckError {
    /// Not a JWS, or the wrong alg or typ.
    #[error("decision is malformed: {0}")]
    Malformed(String),
    /// No published key verifies it.
    #[error("decision is not signed by a key the gateway publishes")]
    Unverified,
    /// It decides something else, or for someone else.
    #[error("decision does not bind this request: {0}")]
    Mismatch(String),
}

/// Verifies `jws` against the JWKS and the request the workflow sent (`subject`, from
/// [`countersign_chain::digest::decision_subject`] over its own bytes).
pub fn verify_decision(
    jws: &str,
    jwks: &[Jwk],
    audience: &str,
    subject: &DecisionSubject,
    now: DateTime<Utc>,
) -> Result<DecisionClaims, DecisionCheckError> {
    let keys: Vec<PublicKey> = jwks
        .iter()
        .filter_map(|jwk| PublicKey::from_jwk(jwk).ok())
        .collect();
    let claims: DecisionClaims = match verify_typed(jws, DECISION_TYP, &keys) {
        Ok(verified) => verified.claims,
        Err(TypedJwsError::Unverified) => return Err(DecisionCheckError::Unverified),
        Err(other) => return Err(DecisionCheckError::Malformed(other.to_string())),
    };
    if claims.aud != audience {
        return Err(DecisionCheckError::Mismatch(format!(
            "audience {}",
            claims.aud
        )));
    }
    let unbound = claims.unbound(subject);
    if !unbound.is_empty() {
        return Err(DecisionCheckError::Mismatch(format!(
            "{} differ",
            unbound.join(", ")
        )));
    }
    // Freshness at issue time is the gateway's job; a workflow only refuses stale approvals
    // by its own clock with some leeway.
    if claims.exp + 60 < now.timestamp() {
        return Err(DecisionCheckError::Mismatch("decision expired".into()));
    }
    Ok(claims)
}
