//! The chain as a reviewer sees it: each hop with names, key status, scope diffed against its
//! parent, and the findings at that hop.

use countersign_chain::attenuation::check_covered;
use countersign_chain::{SignerStatus, TrustIndex, Verification};
use countersign_wire::console::{GrantChange, GrantView, HopView, KeyStatus};
use countersign_wire::{Finding, Timestamp};

/// Hop views and the findings that belong to no hop.
pub fn chain_view(verification: &Verification, trust: &TrustIndex) -> (Vec<HopView>, Vec<Finding>) {
    let findings = &verification.report.findings;
    let name = |identity: &str| trust.party(identity).map(|p| p.display_name.clone());
    let mut hops = Vec::new();
    let mut parent: Option<&countersign_wire::HopClaims> = None;
    for hop in &verification.hops {
        let Some(claims) = &hop.claims else {
            parent = None;
            continue;
        };
        let grants = claims
            .authorization_details
            .iter()
            .map(|detail| {
                let change = match parent {
                    None => GrantChange::Root,
                    Some(p) if p.authorization_details.contains(detail) => GrantChange::Unchanged,
                    Some(p) if check_covered(detail, &p.authorization_details).is_ok() => {
                        GrantChange::Narrowed
                    }
                    Some(_) => GrantChange::Widened,
                };
                GrantView {
                    detail: detail.clone(),
                    change,
                }
            })
            .collect();
        let dropped = parent
            .map(|p| {
                p.authorization_details
                    .iter()
                    .filter(|d| {
                        !claims
                            .authorization_details
                            .iter()
                            .any(|c| c.detail_type == d.detail_type)
                    })
                    .map(|d| format!("{} [{}]", d.detail_type, d.actions.join(", ")))
                    .collect()
            })
            .unwrap_or_default();
        hops.push(HopView {
            index: hop.index,
            delegator: claims.iss.clone(),
            delegator_name: name(&claims.iss),
            delegatee: claims.sub.clone(),
            delegatee_name: name(&claims.sub),
            key: match &hop.signer {
                SignerStatus::Verified { kid } => KeyStatus::Verified(kid.clone()),
                SignerStatus::UnknownKey => KeyStatus::Unknown,
                SignerStatus::SignatureInvalid => KeyStatus::Invalid,
                SignerStatus::NotChecked => KeyStatus::NotChecked,
            },
            grants,
            dropped,
            purpose: claims.purpose.clone(),
            expires_at: Timestamp::from_unix_seconds(claims.exp),
            remaining_depth: claims.max_depth,
            findings: findings
                .iter()
                .filter(|f| f.hop == Some(hop.index))
                .cloned()
                .collect(),
        });
        parent = Some(claims);
    }
    let unplaced = findings
        .iter()
        .filter(|f| f.hop.is_none() || !hops.iter().any(|h| Some(h.index) == f.hop))
        .cloned()
        .collect();
    (hops, unplaced)
}
