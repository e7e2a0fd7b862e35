//! The pinned trust store: which identities exist and which keys speak for them.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `trust.json`: identity → party. Keys are resolved only from here, never from tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TrustStore {
    /// Parties by identity.
    pub parties: BTreeMap<String, Party>,
}

/// A human, agent or service known to the trust store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Party {
    /// What sort of party this is.
    pub kind: PartyKind,
    /// Name to show people.
    pub display_name: String,
    /// Ed25519 public keys registered for the party.
    #[serde(default)]
    pub keys: Vec<Jwk>,
}

/// Sorts of party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PartyKind {
    /// A person; may be a principal.
    Human,
    /// An AI agent.
    Agent,
    /// A service; may issue hop 0 as a grant issuer.
    Service,
}

/// A public JWK. Only `OKP`/`Ed25519` keys are accepted by the verifier.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Jwk {
    /// Key type; `OKP`.
    pub kty: String,
    /// Curve; `Ed25519`.
    pub crv: String,
    /// Base64url (no padding) public key bytes.
    pub x: String,
    /// Optional key id, informational only (the verifier uses the thumbprint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
}
