//! Decisions signed the way a console signs them.

use chrono::{DateTime, Utc};
use countersign_client::ConsoleIdentity;
use countersign_review::decision_claims;
use countersign_wire::api::RequestRecord;
use countersign_wire::{DECISION_TYP, DecisionKind, FindingCode};

/// A jti no other decision in this process has.
pub fn unique_jti() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "jti-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A decision JWS by `who` on `record` for `audience`, signed at `now` with the claims a
/// console puts in it.
pub fn sign_decision(
    who: &ConsoleIdentity,
    audience: &str,
    record: &RequestRecord,
    decision: DecisionKind,
    reason: &str,
    acknowledged: Vec<FindingCode>,
    now: DateTime<Utc>,
) -> String {
    let claims = decision_claims(
        record,
        &who.identity,
        audience,
        decision,
        reason,
        acknowledged,
        now,
        &unique_jti(),
    );
    who.key
        .sign_jws(DECISION_TYP, &claims)
        .expect("a decision signs")
}
