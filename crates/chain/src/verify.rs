//! The chain verifier: DelegationRequest bytes + trust store + now → report.
//!
//! Every rule of wire contract v1 maps to one finding code. Checks keep going after a finding
//! so a reviewer sees everything wrong at once; a hop that cannot be parsed only skips the
//! checks that need its claims.

use chrono::{DateTime, Utc};
use countersign_wire::{
    DelegationRequest, Finding, FindingCode, HOP_TYP, HopClaims, JwsHeader, PartyKind,
    REQUEST_SCHEMA, Verdict, VerificationReport,
};
use serde::Deserialize as _;
use serde_json::Value;

use crate::attenuation::{Widening, check_action_in_scope, check_covered, unneeded_grants};
use crate::digest::{json_digest, request_digests, sha256_digest};
use crate::ijson::IJsonError;
use crate::jose::{ALG_EDDSA, CompactJws};
use crate::trust::TrustIndex;

/// Requests larger than this are refused as `MALFORMED` before parsing.
pub const MAX_REQUEST_BYTES: usize = 1 << 20;
/// Chains longer than this are refused as `MALFORMED`.
pub const MAX_HOPS: usize = 64;

/// The input is not JSON at all: a usage error for the caller, not a finding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("request is not valid JSON: {0}")]
pub struct NotJson(pub String);

/// What the verifier learned about one hop's signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignerStatus {
    /// Signed by a trusted key of the claimed delegator.
    Verified {
        /// Thumbprint of the key that verified.
        kid: String,
    },
    /// No trusted key of the claimed delegator matches.
    UnknownKey,
    /// A trusted key matches but the signature does not verify.
    SignatureInvalid,
    /// Not checked: the hop could not be parsed or uses a forbidden algorithm.
    NotChecked,
}

/// One hop as the verifier saw it, for display.
#[derive(Clone, Debug)]
pub struct VerifiedHop {
    /// Position in the chain.
    pub index: u32,
    /// The protected header, if the JWS parsed.
    pub header: Option<JwsHeader>,
    /// The claims, if they parsed.
    pub claims: Option<HopClaims>,
    /// Signature status.
    pub signer: SignerStatus,
}

/// Everything verification produced.
#[derive(Clone, Debug)]
pub struct Verification {
    /// The report (the contract).
    pub report: VerificationReport,
    /// The typed request, if it parsed.
    pub request: Option<DelegationRequest>,
    /// Per-hop results, in chain order.
    pub hops: Vec<VerifiedHop>,
}

/// Verifies a DelegationRequest given as raw bytes.
///
/// `now` is the verification time; pass a pinned time for reproducible results.
pub fn verify_request(
    bytes: &[u8],
    trust: &TrustIndex,
    now: DateTime<Utc>,
) -> Result<Verification, NotJson> {
    if bytes.len() > MAX_REQUEST_BYTES {
        return Ok(malformed_only(format!(
            "request is {} bytes; the limit is {MAX_REQUEST_BYTES}",
            bytes.len()
        )));
    }
    let value: Value = match crate::ijson::parse(bytes) {
        Ok(value) => value,
        Err(IJsonError::Syntax(e)) => return Err(NotJson(e.to_string())),
        Err(duplicate @ IJsonError::DuplicateMember(_)) => {
            return Ok(malformed_only(format!("request: {duplicate}")));
        }
    };
    Ok(verify_value(&value, trust, now))
}

fn malformed_only(detail: String) -> Verification {
    Verification {
        report: report_from(
            vec![Finding::new(FindingCode::Malformed, None, detail)],
            None,
            None,
            None,
        ),
        request: None,
        hops: Vec::new(),
    }
}

fn report_from(
    findings: Vec<Finding>,
    request_digest: Option<String>,
    chain_digest: Option<String>,
    action_digest: Option<String>,
) -> VerificationReport {
    let mut report = VerificationReport {
        verdict: Verdict::Valid,
        findings,
        request_digest,
        chain_digest,
        action_digest,
    };
    report.settle();
    report
}

/// Verifies a DelegationRequest already parsed as JSON.
pub fn verify_value(value: &Value, trust: &TrustIndex, now: DateTime<Utc>) -> Verification {
    let mut findings = Vec::new();

    let (request_digest, chain_digest, action_digest) = match request_digests(value) {
        Ok(digests) => (Some(digests.request), digests.chain, digests.action),
        // Then each part on its own, so the report still has those that have a digest.
        Err(_) => (
            digest_or_finding(value, "request", &mut findings),
            value
                .get("chain")
                .and_then(|chain| digest_or_finding(chain, "chain", &mut Vec::new())),
            value
                .get("action")
                .and_then(|action| digest_or_finding(action, "action", &mut Vec::new())),
        ),
    };

    // The path of a mismatch is only looked for when there is one: tracking it costs.
    let parsed = DelegationRequest::deserialize(value)
        .or_else(|_| serde_path_to_error::deserialize::<_, DelegationRequest>(value));
    let request: DelegationRequest = match parsed {
        Ok(request) => request,
        Err(e) => {
            findings.push(Finding::new(
                FindingCode::Malformed,
                None,
                format!(
                    "request does not match countersign.request/v1 at {}: {}",
                    e.path(),
                    e.inner()
                ),
            ));
            return Verification {
                report: report_from(findings, request_digest, chain_digest, action_digest),
                request: None,
                hops: Vec::new(),
            };
        }
    };

    check_request_fields(&request, &mut findings);
    let hops = if request.chain.len() > MAX_HOPS {
        findings.push(Finding::new(
            FindingCode::Malformed,
            None,
            format!(
                "chain has {} hops; the limit is {MAX_HOPS}",
                request.chain.len()
            ),
        ));
        Vec::new()
    } else {
        ChainWalk::new(&request, trust, now.timestamp()).run(&mut findings)
    };
    check_action(&request, value, &hops, &mut findings);
    check_evidence(&request, &mut findings);

    Verification {
        report: report_from(findings, request_digest, chain_digest, action_digest),
        request: Some(request),
        hops,
    }
}

fn digest_or_finding(value: &Value, what: &str, findings: &mut Vec<Finding>) -> Option<String> {
    match json_digest(value) {
        Ok(digest) => Some(digest),
        Err(e) => {
            findings.push(Finding::new(
                FindingCode::Malformed,
                None,
                format!("{what} has no canonical digest: {e}"),
            ));
            None
        }
    }
}

fn check_request_fields(request: &DelegationRequest, findings: &mut Vec<Finding>) {
    let mut malformed =
        |detail: String| findings.push(Finding::new(FindingCode::Malformed, None, detail));
    if request.schema != REQUEST_SCHEMA {
        malformed(format!(
            "schema is {:?}; expected {REQUEST_SCHEMA:?}",
            request.schema
        ));
    }
    for (name, text) in [
        ("created_at", &request.created_at),
        ("expires_at", &request.expires_at),
    ] {
        if DateTime::parse_from_rfc3339(text).is_err() {
            malformed(format!("{name} {text:?} is not an RFC 3339 time"));
        }
    }
    let confidence = request.uncertainty.confidence;
    if !(0.0..=1.0).contains(&confidence) {
        malformed(format!(
            "uncertainty.confidence {confidence} is outside 0..1"
        ));
    }
    if request.chain.is_empty() {
        malformed("chain is empty: a request needs at least the principal's hop".into());
    }
    let mut seen = std::collections::BTreeSet::new();
    for item in &request.evidence {
        if !seen.insert(item.id.as_str()) {
            malformed(format!("evidence id {:?} appears more than once", item.id));
        }
    }
}

/// State carried from one hop to the next.
struct Parent {
    claims: HopClaims,
}

struct ChainWalk<'a> {
    request: &'a DelegationRequest,
    trust: &'a TrustIndex,
    now: i64,
}

impl<'a> ChainWalk<'a> {
    fn new(request: &'a DelegationRequest, trust: &'a TrustIndex, now: i64) -> Self {
        ChainWalk {
            request,
            trust,
            now,
        }
    }

    fn run(&self, findings: &mut Vec<Finding>) -> Vec<VerifiedHop> {
        let mut hops = Vec::with_capacity(self.request.chain.len());
        let mut parent: Option<Parent> = None;
        for (i, token) in self.request.chain.iter().enumerate() {
            let index = i as u32;
            let mut found = |code: FindingCode, detail: String| {
                findings.push(Finding::new(code, Some(index), detail));
            };
            let jws = match CompactJws::parse(token) {
                Ok(jws) => jws,
                Err(e) => {
                    found(
                        FindingCode::Malformed,
                        format!("hop {index} is not a usable JWS: {e}"),
                    );
                    hops.push(VerifiedHop {
                        index,
                        header: None,
                        claims: None,
                        signer: SignerStatus::NotChecked,
                    });
                    parent = None;
                    continue;
                }
            };
            let alg_ok = jws.header.alg == ALG_EDDSA;
            if !alg_ok {
                found(
                    FindingCode::AlgNotAllowed,
                    format!(
                        "hop {index} uses alg {:?}; only EdDSA is allowed",
                        jws.header.alg
                    ),
                );
            }
            if jws.header.typ.as_deref() != Some(HOP_TYP) {
                found(
                    FindingCode::TypeConfusion,
                    format!(
                        "hop {index} has typ {:?}; a hop must be {HOP_TYP:?}",
                        jws.header.typ
                    ),
                );
            }
            let claims: HopClaims = match jws.claims() {
                Ok(claims) => claims,
                Err(e) => {
                    found(
                        FindingCode::Malformed,
                        format!(
                            "hop {index} claims are invalid at {}: {}",
                            e.path(),
                            e.inner()
                        ),
                    );
                    hops.push(VerifiedHop {
                        index,
                        header: Some(jws.header),
                        claims: None,
                        signer: SignerStatus::NotChecked,
                    });
                    parent = None;
                    continue;
                }
            };

            let signer = if alg_ok {
                self.check_signature(index, &jws, &claims, &mut found)
            } else {
                SignerStatus::NotChecked
            };
            self.check_links(i, &claims, &mut found);
            if let Some(parent) = &parent {
                self.check_against_parent(i, &claims, &parent.claims, &signer, &mut found);
            } else if i > 0 {
                let prev_digest = sha256_digest(self.request.chain[i - 1].as_bytes());
                if claims.prev.as_deref() != Some(prev_digest.as_str()) {
                    found(
                        FindingCode::BrokenLink,
                        format!("hop {index} prev does not commit to hop {}", i - 1),
                    );
                }
            }
            self.check_hop_alone(index, &claims, &mut found);
            self.check_commitments(index, &claims, findings);

            parent = Some(Parent {
                claims: claims.clone(),
            });
            hops.push(VerifiedHop {
                index,
                header: Some(jws.header),
                claims: Some(claims),
                signer,
            });
        }
        hops
    }

    fn check_signature(
        &self,
        index: u32,
        jws: &CompactJws<'_>,
        claims: &HopClaims,
        found: &mut impl FnMut(FindingCode, String),
    ) -> SignerStatus {
        let Some(party) = self.trust.party(&claims.iss) else {
            found(
                FindingCode::UnknownKey,
                format!(
                    "hop {index} is issued by {}, who is not in the trust store",
                    claims.iss
                ),
            );
            return SignerStatus::UnknownKey;
        };
        let candidates: Vec<_> = match &jws.header.kid {
            Some(kid) => party
                .keys
                .iter()
                .filter(|k| k.thumbprint() == kid)
                .collect(),
            None => party.keys.iter().collect(),
        };
        if candidates.is_empty() {
            let kid = jws.header.kid.as_deref().unwrap_or_default();
            let owner = match self.trust.owner_of(kid) {
                Some(owner) => format!("it belongs to {owner}"),
                None => "no party registered it".into(),
            };
            found(
                FindingCode::UnknownKey,
                format!(
                    "hop {index} is signed with key {kid}, which is not registered for {} ({owner})",
                    claims.iss
                ),
            );
            return SignerStatus::UnknownKey;
        }
        match candidates.into_iter().find(|key| jws.verify_with(key)) {
            Some(key) => SignerStatus::Verified {
                kid: key.thumbprint().to_owned(),
            },
            None => {
                found(
                    FindingCode::SignatureInvalid,
                    format!(
                        "hop {index} signature does not verify with the registered key of {}",
                        claims.iss
                    ),
                );
                SignerStatus::SignatureInvalid
            }
        }
    }

    /// Checks that need only this hop and the request.
    fn check_links(
        &self,
        i: usize,
        claims: &HopClaims,
        found: &mut impl FnMut(FindingCode, String),
    ) {
        let index = i as u32;
        if claims.hop != index {
            found(
                FindingCode::BrokenLink,
                format!("hop {index} claims to be hop {}", claims.hop),
            );
        }
        if claims.txn != self.request.txn {
            found(
                FindingCode::BrokenLink,
                format!(
                    "hop {index} belongs to transaction {:?}, not {:?}",
                    claims.txn, self.request.txn
                ),
            );
        }
        if claims.principal != self.request.principal {
            found(
                FindingCode::PrincipalChanged,
                format!(
                    "hop {index} names principal {:?}; the request's is {:?}",
                    claims.principal, self.request.principal
                ),
            );
        }
        if i == 0 {
            if claims.prev.is_some() {
                found(
                    FindingCode::BrokenLink,
                    "hop 0 has a prev, but it has no parent".into(),
                );
            }
            let grant_issuer = self
                .trust
                .party(&claims.iss)
                .is_some_and(|p| p.kind == PartyKind::Service);
            if claims.iss != self.request.principal && !grant_issuer {
                found(
                    FindingCode::BrokenLink,
                    format!(
                        "hop 0 is issued by {}; it must be issued by the principal {} or a grant-issuing service",
                        claims.iss, self.request.principal
                    ),
                );
            }
        }
    }

    fn check_against_parent(
        &self,
        i: usize,
        claims: &HopClaims,
        parent: &HopClaims,
        signer: &SignerStatus,
        found: &mut impl FnMut(FindingCode, String),
    ) {
        let index = i as u32;
        let prev_digest = sha256_digest(self.request.chain[i - 1].as_bytes());
        if claims.prev.as_deref() != Some(prev_digest.as_str()) {
            found(
                FindingCode::BrokenLink,
                format!(
                    "hop {index} prev {:?} does not commit to hop {} ({prev_digest})",
                    claims.prev,
                    i - 1
                ),
            );
        }
        if claims.iss != parent.sub {
            found(
                FindingCode::BrokenLink,
                format!(
                    "hop {index} is issued by {}, but hop {} delegated to {}",
                    claims.iss,
                    i - 1,
                    parent.sub
                ),
            );
        }
        if let SignerStatus::Verified { kid } = signer
            && *kid != parent.cnf.jkt
        {
            found(
                FindingCode::KeyBindingMismatch,
                format!(
                    "hop {index} is signed by key {kid}, but hop {} bound the delegation to key {}",
                    i - 1,
                    parent.cnf.jkt
                ),
            );
        }
        if claims.exp > parent.exp {
            found(
                FindingCode::ExpiryExtended,
                format!(
                    "hop {index} expires at {}, after its parent's {}",
                    format_time(claims.exp),
                    format_time(parent.exp)
                ),
            );
        }
        if parent.max_depth <= 0 {
            found(
                FindingCode::DepthExceeded,
                format!(
                    "hop {} allows no further delegation (max_depth {}), yet hop {index} delegates",
                    i - 1,
                    parent.max_depth
                ),
            );
        } else if claims.max_depth > parent.max_depth - 1 {
            found(
                FindingCode::DepthExceeded,
                format!(
                    "hop {index} max_depth {} exceeds its parent's {} − 1",
                    claims.max_depth, parent.max_depth
                ),
            );
        }
        if let (Some(purpose), Some(parent_purpose)) = (&claims.purpose, &parent.purpose)
            && !purpose.id.is_empty()
            && purpose.id != parent_purpose.id
            && purpose.id == self.request.purpose.id
        {
            // Drift from the request's purpose is reported by `check_hop_alone`; this catches
            // a hop that returns to the request's purpose after its parent drifted.
            found(
                FindingCode::PurposeDrift,
                format!(
                    "hop {index} purpose {:?} differs from its parent's {:?}",
                    purpose.id, parent_purpose.id
                ),
            );
        }
        for child in &claims.authorization_details {
            match check_covered(child, &parent.authorization_details) {
                Ok(()) => {}
                Err(Widening::Ghost(detail)) => found(
                    FindingCode::GhostPermission,
                    format!("hop {index} {detail}"),
                ),
                Err(Widening::Limit(detail)) => {
                    found(FindingCode::LimitIncreased, format!("hop {index} {detail}"))
                }
            }
        }
    }

    /// Time, depth, purpose and evidence commitments of one hop.
    fn check_hop_alone(
        &self,
        index: u32,
        claims: &HopClaims,
        found: &mut impl FnMut(FindingCode, String),
    ) {
        if claims.exp <= self.now {
            found(
                FindingCode::Expired,
                format!("hop {index} expired at {}", format_time(claims.exp)),
            );
        }
        if let Some(nbf) = claims.nbf
            && nbf > self.now
        {
            found(
                FindingCode::NotYetValid,
                format!("hop {index} is not valid before {}", format_time(nbf)),
            );
        }
        if claims.max_depth < 0 {
            found(
                FindingCode::DepthExceeded,
                format!("hop {index} has negative max_depth {}", claims.max_depth),
            );
        }
        match &claims.purpose {
            Some(purpose) if !purpose.id.is_empty() && !purpose.text.trim().is_empty() => {
                if purpose.id != self.request.purpose.id {
                    found(
                        FindingCode::PurposeDrift,
                        format!(
                            "hop {index} serves purpose {:?} ({:?}); the request's purpose is {:?}",
                            purpose.id, purpose.text, self.request.purpose.id
                        ),
                    );
                }
            }
            _ => found(
                FindingCode::PurposeMissing,
                format!("hop {index} states no purpose"),
            ),
        }
    }

    /// A hop's commitments to evidence: each must name an item the request carries, with
    /// the same digest.
    fn check_commitments(&self, index: u32, claims: &HopClaims, findings: &mut Vec<Finding>) {
        for commitment in &claims.evidence {
            let detail = match self.request.evidence.iter().find(|e| e.id == commitment.id) {
                None => format!(
                    "hop {index} commits to evidence {:?}, which the request does not carry",
                    commitment.id
                ),
                Some(item) if item.digest != commitment.digest => format!(
                    "hop {index} commits to evidence {:?} with digest {}, but the request carries {}",
                    commitment.id, commitment.digest, item.digest
                ),
                Some(_) => continue,
            };
            findings.push(
                Finding::new(FindingCode::EvidenceDigestMismatch, Some(index), detail)
                    .about_evidence(&commitment.id),
            );
        }
    }
}

fn check_action(
    request: &DelegationRequest,
    value: &Value,
    hops: &[VerifiedHop],
    findings: &mut Vec<Finding>,
) {
    let action = &request.action;
    // Digest the arguments exactly as submitted (the typed map is the same JSON, but the raw
    // value is what the workflow digested).
    let arguments = value
        .pointer("/action/arguments")
        .cloned()
        .unwrap_or(Value::Object(Default::default()));
    match json_digest(&arguments) {
        Ok(digest) if digest != action.arguments_digest => findings.push(Finding::new(
            FindingCode::ArgumentsDigestMismatch,
            None,
            format!(
                "arguments digest to {digest}, but action.arguments_digest is {}",
                action.arguments_digest
            ),
        )),
        Ok(_) => {}
        Err(e) => findings.push(Finding::new(
            FindingCode::Malformed,
            None,
            format!("action.arguments: {e}"),
        )),
    }

    let Some(leaf) = hops.last() else { return };
    let Some(claims) = &leaf.claims else { return };
    if action.requested_by != claims.sub {
        findings.push(Finding::new(
            FindingCode::UndelegatedActor,
            None,
            format!(
                "the action is requested by {}, but the chain delegates to {}; no hop delegates to {}",
                action.requested_by, claims.sub, action.requested_by
            ),
        ));
    }
    if let Err(detail) = check_action_in_scope(action, &claims.authorization_details) {
        findings.push(Finding::new(
            FindingCode::ActionOutsideLeafScope,
            Some(leaf.index),
            format!("the action is outside hop {}'s scope: {detail}", leaf.index),
        ));
        // Over-provisioning only means something for an action the scope actually covers.
        return;
    }
    let unneeded = unneeded_grants(action, &claims.authorization_details);
    if !unneeded.is_empty() {
        findings.push(Finding::new(
            FindingCode::ScopeOverProvisioned,
            Some(leaf.index),
            format!(
                "hop {} grants more than {} {} needs: {}",
                leaf.index,
                action.action_type,
                action.operation,
                unneeded.join("; ")
            ),
        ));
    }
}

fn check_evidence(request: &DelegationRequest, findings: &mut Vec<Finding>) {
    for item in &request.evidence {
        if let Some(content) = &item.content {
            let digest = sha256_digest(content.as_bytes());
            if digest != item.digest {
                findings.push(
                    Finding::new(
                        FindingCode::EvidenceDigestMismatch,
                        None,
                        format!(
                            "evidence {:?} content digests to {digest}, but it claims {}",
                            item.id, item.digest
                        ),
                    )
                    .about_evidence(&item.id),
                );
            }
        }
    }
}

fn format_time(seconds: i64) -> String {
    DateTime::from_timestamp(seconds, 0).map_or_else(|| seconds.to_string(), |t| t.to_rfc3339())
}
