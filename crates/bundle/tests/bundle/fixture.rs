//! Real review records for bundle tests and the benchmark: signed 3-hop requests, reviewer
//! decisions, audit entries interleaved with other requests' entries in a signed log.

use chrono::{DateTime, SecondsFormat, Utc};
use countersign_audit::{Checkpoint, Hash, NoteSigner, leaf_hash, tree_root};
use countersign_bundle::{
    BundleEvent, BundleHeader, BundleRecord, BundleSummary, BundleWriter, Creator, LogEvidence,
};
use countersign_chain::digest::{canonical_json, sha256_digest};
use countersign_chain::{SigningKeyPair, TrustIndex, verify_value};
use countersign_scenarios::Cast;
use countersign_scenarios::synthetic::{PayRequest, pay_cast};
use countersign_wire::api::RequestState;
use countersign_wire::{
    DECISION_TYP, DecisionClaims, DecisionKind, PartyKind, PolicyRef, Tier, TrustStore,
};
use serde_json::json;

pub const AUDIENCE: &str = "bundle-test-gateway";
pub const ORIGIN: &str = "bundle-test-gateway/audit";
pub const REVIEWER: &str = "user:rita";
pub const OTHER_REVIEWER: &str = "user:sam";

/// Leaves 0 and 1 enrol the two reviewers; records' entries follow.
pub const ENROLMENTS: usize = 2;

pub struct Fixture {
    pub enrolments: Vec<BundleEvent>,
    pub cast: Cast,
    pub identities: TrustStore,
    pub signer: NoteSigner,
    pub records: Vec<BundleRecord>,
    pub leaves: Vec<Hash>,
    pub checkpoint: String,
}

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T09:00:00.000Z")
        .unwrap()
        .to_utc()
}

pub fn log_signer() -> NoteSigner {
    NoteSigner::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[7; 32])).unwrap()
}

fn entry(event_id: usize, kind: &str, request_id: &str, state: &str, subject: &str) -> String {
    let value = json!({
        "v": 1, "event_id": event_id, "kind": kind, "request_id": request_id, "state": state,
        "at": "2026-11-22T09:00:00.000Z", "actor": null, "subject_digest": subject,
    });
    String::from_utf8(canonical_json(&value).unwrap()).unwrap()
}

/// A signed decision by `who` on a request.
pub fn decide(
    key: &SigningKeyPair,
    who: &str,
    record: &BundleRecord,
    kind: DecisionKind,
    jti: &str,
) -> String {
    let claims = DecisionClaims {
        iss: who.into(),
        aud: AUDIENCE.into(),
        jti: jti.into(),
        iat: now().timestamp(),
        exp: now().timestamp() + 600,
        txn: record.request["txn"].as_str().unwrap().into(),
        request_id: record.request_id.clone(),
        request_digest: record.report.request_digest.clone().unwrap(),
        chain_digest: record.report.chain_digest.clone().unwrap(),
        action_digest: record.report.action_digest.clone().unwrap(),
        decision: kind,
        reason: "checked".into(),
        flags_acknowledged: Vec::new(),
        policy: PolicyRef {
            id: "p".into(),
            version: "1".into(),
        },
    };
    key.sign_jws(DECISION_TYP, &claims).unwrap()
}

/// One record and its three log leaves (its arrival, another request's event, its decision).
fn build_one(cast: &Cast, trust: &TrustIndex, i: usize) -> (BundleRecord, [Hash; 3]) {
    let now = now();
    let request_id = format!("r{i:06}");
    let request = PayRequest {
        request_id: &request_id,
        hops: 3,
        evidence: 1,
        tier: Tier::High,
        now,
    }
    .build(cast);
    let report = verify_value(&request, trust, now).report;
    let mut record = BundleRecord {
        request_id: request_id.clone(),
        received_at: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        state: RequestState::Approved,
        tier: Tier::High,
        // As a workflow might send it: indented, not in canonical form.
        request_text: Some(serde_json::to_string_pretty(&request).unwrap()),
        request,
        report,
        decisions: Vec::new(),
        events: Vec::new(),
        trust: None,
    };
    let jws = decide(
        &cast.member(REVIEWER).key,
        REVIEWER,
        &record,
        DecisionKind::Approve,
        &format!("d-{i}"),
    );
    let digest = record.report.request_digest.clone().unwrap();
    let base = ENROLMENTS + 3 * i;
    let added = entry(base, "request_added", &request_id, "pending", &digest);
    let other = entry(
        base + 1,
        "request_added",
        &format!("elsewhere-{i}"),
        "pending",
        "sha256:00",
    );
    let decided = entry(
        base + 2,
        "request_decided",
        &request_id,
        "approved",
        &sha256_digest(jws.as_bytes()),
    );
    let leaves = [
        leaf_hash(added.as_bytes()),
        leaf_hash(other.as_bytes()),
        leaf_hash(decided.as_bytes()),
    ];
    record.decisions.push(jws);
    record.events = vec![
        BundleEvent {
            index: base as u64,
            entry: added,
        },
        BundleEvent {
            index: base as u64 + 2,
            entry: decided,
        },
    ];
    (record, leaves)
}

impl Fixture {
    /// `count` records, built on every core.
    pub fn new(count: usize) -> Fixture {
        let mut cast = pay_cast("bundle", 3);
        cast.add(REVIEWER, PartyKind::Human, "Rita Reviewer");
        cast.add(OTHER_REVIEWER, PartyKind::Human, "Sam Second");
        let identities = cast.trust_store();
        let trust = TrustIndex::from_store(&identities).unwrap();
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per = count.div_ceil(threads).max(1);
        let built: Vec<(BundleRecord, [Hash; 3])> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..count)
                .step_by(per)
                .map(|start| {
                    let (cast, trust) = (&cast, &trust);
                    scope.spawn(move || {
                        (start..(start + per).min(count))
                            .map(|i| build_one(cast, trust, i))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        let mut records = Vec::with_capacity(count);
        let mut leaves = Vec::with_capacity(ENROLMENTS + 3 * count + 1);
        let enrolments: Vec<BundleEvent> = [REVIEWER, OTHER_REVIEWER]
            .iter()
            .enumerate()
            .map(|(index, who)| {
                let key = &cast.member(who).key;
                let value = json!({
                    "v": 1, "event_id": index, "kind": "reviewer_enrolled",
                    "request_id": format!("enrolment:{who}"), "state": "none",
                    "at": "2026-11-22T08:00:00.000Z", "actor": null, "subject_digest": null,
                    "detail": {"identity": who, "keys": [{"kid": key.public().thumbprint(), "jwk": key.public().to_jwk()}]},
                });
                BundleEvent {
                    index: index as u64,
                    entry: String::from_utf8(canonical_json(&value).unwrap()).unwrap(),
                }
            })
            .collect();
        leaves.extend(enrolments.iter().map(|e| leaf_hash(e.entry.as_bytes())));
        for (record, three) in built {
            records.push(record);
            leaves.extend(three);
        }
        // One more entry after the last record, so the tree is not a perfect fit.
        leaves.push(leaf_hash(b"later"));
        let signer = log_signer();
        let body = Checkpoint::new(ORIGIN, leaves.len() as u64, tree_root(&leaves))
            .unwrap()
            .body();
        let checkpoint = signer.sign(&body).unwrap();
        Fixture {
            enrolments,
            cast,
            identities,
            signer,
            records,
            leaves,
            checkpoint,
        }
    }

    pub fn header() -> BundleHeader {
        BundleHeader {
            audience: AUDIENCE.into(),
            created_at: "2026-11-22T10:00:00Z".into(),
            created_by: Creator {
                tool: "bundle-tests".into(),
                version: "1".into(),
            },
        }
    }

    /// Writes `records` (default: all) as a bundle in `dir`.
    pub fn write_records(
        &self,
        dir: &std::path::Path,
        records: &[BundleRecord],
    ) -> Result<BundleSummary, countersign_bundle::BundleError> {
        let mut writer = BundleWriter::create(dir, Fixture::header())?;
        for enrolment in &self.enrolments {
            writer.add_enrolment(enrolment.clone())?;
        }
        for record in records {
            writer.add(record)?;
        }
        writer.finish(
            LogEvidence {
                signed_checkpoint: &self.checkpoint,
                leaves: &self.leaves,
            },
            &self.identities,
            &self.signer,
        )
    }

    pub fn write(&self, dir: &std::path::Path) -> BundleSummary {
        self.write_records(dir, &self.records).unwrap()
    }
}
