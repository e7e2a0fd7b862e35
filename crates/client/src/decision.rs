//! What a workflow checks before acting on a decision: the signature by a key the gateway
//! publishes, the type, the audience, freshness, and that it binds the very request sent.

use chrono::{DateTime, Utc};
use countersign_chain::{CompactJws, PublicKey};
use countersign_wire::{DECISION_TYP, DecisionClaims, Jwk};

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

/// Verifies `jws` against the JWKS and the digests the workflow computed for what it sent.
pub fn verify_decision(
    jws: &str,
    jwks: &[Jwk],
    audience: &str,
    request_id: &str,
    request_digest: &str,
    now: DateTime<Utc>,
) -> Result<DecisionClaims, DecisionCheckError> {
    let parsed =
        CompactJws::parse(jws).map_err(|e| DecisionCheckError::Malformed(e.to_string()))?;
    if parsed.header.alg != "EdDSA" || parsed.header.typ.as_deref() != Some(DECISION_TYP) {
        return Err(DecisionCheckError::Malformed(format!(
            "alg {} typ {:?}",
            parsed.header.alg, parsed.header.typ
        )));
    }
    let verified = jwks
        .iter()
        .filter_map(|jwk| PublicKey::from_jwk(jwk).ok())
        .filter(|key| {
            parsed
                .header
                .kid
                .as_deref()
                .is_none_or(|kid| kid == key.thumbprint())
        })
        .any(|key| parsed.verify_with(&key));
    if !verified {
        return Err(DecisionCheckError::Unverified);
    }
    let claims: DecisionClaims = parsed
        .claims()
        .map_err(|e| DecisionCheckError::Malformed(e.to_string()))?;
    if claims.aud != audience {
        return Err(DecisionCheckError::Mismatch(format!(
            "audience {}",
            claims.aud
        )));
    }
    if claims.request_id != request_id || claims.request_digest != request_digest {
        return Err(DecisionCheckError::Mismatch("request id or digest".into()));
    }
    // Freshness at issue time is the gateway's job; a workflow only refuses stale approvals
    // by its own clock with some leeway.
    if claims.exp + 60 < now.timestamp() {
        return Err(DecisionCheckError::Mismatch("decision expired".into()));
    }
    Ok(claims)
}
