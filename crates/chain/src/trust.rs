//! The pinned trust store: identity → party → keys, validated once at load.

use std::collections::BTreeMap;

use countersign_wire::{PartyKind, TrustStore};

use crate::jose::{JwkError, PublicKey};

/// Why a trust store cannot be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TrustError {
    /// A registered key is not a valid Ed25519 JWK.
    #[error("key {index} of party {identity} is invalid: {source}")]
    BadKey {
        /// The party.
        identity: String,
        /// Position of the key in the party's list.
        index: usize,
        /// What is wrong with it.
        source: JwkError,
    },
}

/// A party of the trust store with validated keys.
#[derive(Clone, Debug)]
pub struct TrustedParty {
    /// The party's identity.
    pub identity: String,
    /// What sort of party it is.
    pub kind: PartyKind,
    /// Display name.
    pub display_name: String,
    /// Validated keys.
    pub keys: Vec<PublicKey>,
}

/// Trust store indexed for verification.
#[derive(Clone, Debug, Default)]
pub struct TrustIndex {
    parties: BTreeMap<String, TrustedParty>,
    owners: BTreeMap<String, String>,
}

impl TrustIndex {
    /// Validates every key of every party.
    pub fn from_store(store: &TrustStore) -> Result<Self, TrustError> {
        let mut index = TrustIndex::default();
        for (identity, party) in &store.parties {
            let mut keys = Vec::with_capacity(party.keys.len());
            for (i, jwk) in party.keys.iter().enumerate() {
                let key = PublicKey::from_jwk(jwk).map_err(|source| TrustError::BadKey {
                    identity: identity.clone(),
                    index: i,
                    source,
                })?;
                index
                    .owners
                    .insert(key.thumbprint().to_owned(), identity.clone());
                keys.push(key);
            }
            index.parties.insert(
                identity.clone(),
                TrustedParty {
                    identity: identity.clone(),
                    kind: party.kind,
                    display_name: party.display_name.clone(),
                    keys,
                },
            );
        }
        Ok(index)
    }

    /// The party registered under `identity`.
    pub fn party(&self, identity: &str) -> Option<&TrustedParty> {
        self.parties.get(identity)
    }

    /// Who, if anyone, registered the key with this thumbprint.
    pub fn owner_of(&self, thumbprint: &str) -> Option<&str> {
        self.owners.get(thumbprint).map(String::as_str)
    }

    /// All parties.
    pub fn parties(&self) -> impl Iterator<Item = &TrustedParty> {
        self.parties.values()
    }
}
