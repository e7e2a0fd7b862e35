//! Cast of parties, hop drafts and request drafts.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use countersign_chain::SigningKeyPair;
use countersign_chain::digest::{json_digest, sha256_digest};
use countersign_wire::{
    Action, AuthorizationDetail, Callback, Confirmation, Evidence, EvidenceCommitment,
    EvidenceKind, HOP_TYP, HopClaims, Party, PartyKind, Purpose, REQUEST_SCHEMA, TrustStore,
    Uncertainty,
};
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// A party with its key.
#[derive(Debug)]
pub struct Member {
    /// Human, agent or service.
    pub kind: PartyKind,
    /// Name to show.
    pub display_name: String,
    /// Its private key.
    pub key: SigningKeyPair,
    /// Whether the trust store lists it (an unregistered member can forge, not be trusted).
    pub registered: bool,
}

/// The parties of one or more scenarios, with deterministic keys derived from a seed label.
#[derive(Debug)]
pub struct Cast {
    seed: String,
    members: BTreeMap<String, Member>,
}

impl Cast {
    /// An empty cast whose keys derive from `seed` (the same seed gives the same keys).
    pub fn new(seed: &str) -> Self {
        Cast {
            seed: seed.to_owned(),
            members: BTreeMap::new(),
        }
    }

    /// Adds a registered party.
    pub fn add(&mut self, identity: &str, kind: PartyKind, display_name: &str) -> &mut Self {
        self.insert(identity, kind, display_name, true)
    }

    /// Adds a party the trust store does not list (its signatures are forgeries).
    pub fn add_unregistered(&mut self, identity: &str, display_name: &str) -> &mut Self {
        self.insert(identity, PartyKind::Agent, display_name, false)
    }

    fn insert(
        &mut self,
        identity: &str,
        kind: PartyKind,
        display_name: &str,
        registered: bool,
    ) -> &mut Self {
        let seed: [u8; 32] = Sha256::digest(format!("{}\u{0}{identity}", self.seed)).into();
        self.members.insert(
            identity.to_owned(),
            Member {
                kind,
                display_name: display_name.to_owned(),
                key: SigningKeyPair::from_seed(seed),
                registered,
            },
        );
        self
    }

    /// The member called `identity`.
    ///
    /// # Panics
    /// If no such member was added: a builder bug, not bad input.
    pub fn member(&self, identity: &str) -> &Member {
        self.members
            .get(identity)
            .unwrap_or_else(|| panic!("cast has no member {identity}"))
    }

    /// Thumbprint of a member's key.
    pub fn jkt(&self, identity: &str) -> String {
        self.member(identity).key.public().thumbprint().to_owned()
    }

    /// The trust store listing every registered member.
    pub fn trust_store(&self) -> TrustStore {
        TrustStore {
            parties: self
                .members
                .iter()
                .filter(|(_, m)| m.registered)
                .map(|(identity, m)| {
                    (
                        identity.clone(),
                        Party {
                            kind: m.kind,
                            display_name: m.display_name.clone(),
                            keys: vec![m.key.public().to_jwk()],
                        },
                    )
                })
                .collect(),
        }
    }
}

/// How a hop's `prev` is set when signing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Prev {
    /// The digest of the previous signed hop (absent on hop 0): a correct link.
    Auto,
    /// Exactly this value, for tests of broken links.
    Set(Option<String>),
}

/// A hop before signing: its claims, who signs and with what header.
#[derive(Clone, Debug)]
pub struct HopDraft {
    /// The claims; `prev` is filled according to [`HopDraft::prev`].
    pub claims: HopClaims,
    /// Cast member whose key signs (normally the delegator, `claims.iss`).
    pub signer: String,
    /// `typ` header.
    pub typ: String,
    /// How `prev` is set.
    pub prev: Prev,
}

/// A whole chain before signing.
#[derive(Clone, Debug)]
pub struct ChainDraft {
    /// Hops, root first.
    pub hops: Vec<HopDraft>,
}

impl ChainDraft {
    /// A correctly linked chain along `path` (principal first): hop `i` delegates from
    /// `path[i]` to `path[i + 1]` with `scopes[i]`, depth decreasing by one per hop, each hop
    /// expiring ten minutes before its parent.
    ///
    /// # Panics
    /// If `scopes` does not have one entry per hop.
    pub fn linked(
        cast: &Cast,
        txn: &str,
        purpose: &Purpose,
        path: &[&str],
        scopes: Vec<Vec<AuthorizationDetail>>,
        issued_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Self {
        assert_eq!(path.len(), scopes.len() + 1, "one scope per hop");
        let principal = path[0];
        let hop_count = scopes.len() as i64;
        let hops = scopes
            .into_iter()
            .enumerate()
            .map(|(i, scope)| {
                let (iss, sub) = (path[i], path[i + 1]);
                HopDraft {
                    claims: HopClaims {
                        iss: iss.to_owned(),
                        sub: sub.to_owned(),
                        jti: format!("{txn}-hop-{i}"),
                        iat: issued_at.timestamp(),
                        exp: expires_at.timestamp() - 600 * i as i64,
                        nbf: Some(issued_at.timestamp()),
                        txn: txn.to_owned(),
                        principal: principal.to_owned(),
                        hop: i as u32,
                        max_depth: hop_count - 1 - i as i64,
                        prev: None,
                        cnf: Confirmation { jkt: cast.jkt(sub) },
                        authorization_details: scope,
                        purpose: Some(purpose.clone()),
                        evidence: Vec::new(),
                    },
                    signer: iss.to_owned(),
                    typ: HOP_TYP.to_owned(),
                    prev: Prev::Auto,
                }
            })
            .collect();
        ChainDraft { hops }
    }

    /// Signs every hop in order, linking `prev` as each draft asks.
    pub fn sign(&self, cast: &Cast) -> Vec<String> {
        let mut signed: Vec<String> = Vec::with_capacity(self.hops.len());
        for draft in &self.hops {
            let mut claims = draft.claims.clone();
            claims.prev = match &draft.prev {
                Prev::Auto => signed.last().map(|parent| sha256_digest(parent.as_bytes())),
                Prev::Set(prev) => prev.clone(),
            };
            let token = cast
                .member(&draft.signer)
                .key
                .sign_jws(&draft.typ, &claims)
                .expect("signing in-memory claims with an in-memory key cannot fail");
            signed.push(token);
        }
        signed
    }
}

/// A DelegationRequest before its chain is attached.
#[derive(Clone, Debug)]
pub struct RequestDraft {
    /// Request id.
    pub request_id: String,
    /// Transaction id.
    pub txn: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry time.
    pub expires_at: DateTime<Utc>,
    /// Principal identity.
    pub principal: String,
    /// Purpose.
    pub purpose: Purpose,
    /// The action; `arguments_digest` is recomputed by [`RequestDraft::to_json`] when empty.
    pub action: Action,
    /// Evidence items.
    pub evidence: Vec<Evidence>,
    /// Uncertainty.
    pub uncertainty: Uncertainty,
    /// Webhook, if any.
    pub callback: Option<Callback>,
}

impl RequestDraft {
    /// The request JSON with `chain` attached.
    pub fn to_json(&self, chain: Vec<String>) -> Value {
        let mut action = self.action.clone();
        if action.arguments_digest.is_empty() {
            action.arguments_digest = json_digest(&Value::Object(action.arguments.clone()))
                .expect("scenario arguments hold no integers beyond 2^53");
        }
        let request = countersign_wire::DelegationRequest {
            schema: REQUEST_SCHEMA.to_owned(),
            request_id: self.request_id.clone(),
            txn: self.txn.clone(),
            created_at: rfc3339(self.created_at),
            expires_at: rfc3339(self.expires_at),
            principal: self.principal.clone(),
            purpose: self.purpose.clone(),
            chain,
            action,
            evidence: self.evidence.clone(),
            uncertainty: self.uncertainty.clone(),
            callback: self.callback.clone(),
            escalate: None,
        };
        serde_json::to_value(request).expect("wire types serialize to JSON")
    }

    /// Commitment of a hop to one of this request's evidence items.
    pub fn commitment(&self, evidence_id: &str) -> EvidenceCommitment {
        let item = self
            .evidence
            .iter()
            .find(|e| e.id == evidence_id)
            .unwrap_or_else(|| panic!("request draft has no evidence {evidence_id}"));
        EvidenceCommitment {
            id: item.id.clone(),
            digest: item.digest.clone(),
        }
    }
}

/// An inline evidence item with its digest computed from `content`.
pub fn evidence_item(
    id: &str,
    kind: EvidenceKind,
    produced_by: &str,
    title: &str,
    content_type: &str,
    content: &str,
    captured_at: DateTime<Utc>,
) -> Evidence {
    Evidence {
        id: id.to_owned(),
        kind,
        produced_by: produced_by.to_owned(),
        title: title.to_owned(),
        content_type: content_type.to_owned(),
        content: Some(content.to_owned()),
        uri: None,
        digest: sha256_digest(content.as_bytes()),
        captured_at: rfc3339(captured_at),
    }
}

pub(crate) fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
