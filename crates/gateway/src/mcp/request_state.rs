//! MCP `requestState` for clients without the Tasks extension: what the gateway hands a
//! client between the rounds of one `tools/call`, sealed (ChaCha20-Poly1305) so the client
//! can neither read nor change it, binding the caller, the request and its digest, with a
//! short expiry; each one is spent once (the store remembers its nonce).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use countersign_chain::SigningKeyPair;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

/// How long a client has to come back with a state.
pub(super) const LIFETIME: Duration = Duration::minutes(5);

/// Bound into every seal, so a ciphertext made for anything else never opens as a state.
const CONTEXT: &[u8] = b"countersign mcp requestState v1";

/// What a state says: whose call it continues, and until when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct RoundState {
    pub workflow: String,
    pub request_id: String,
    pub request_digest: String,
    pub expires_at: DateTime<Utc>,
}

/// Why a state was refused; said to the client as invalid params, nothing more.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(super) enum StateRefused {
    #[error("requestState is not one this gateway issued, or it was changed")]
    Forged,
    #[error("requestState has expired; call the tool again without one")]
    Expired,
}

/// Seals and opens states with a key every instance sharing the gateway key derives alike.
pub(crate) struct StateSeal {
    key: LessSafeKey,
    random: SystemRandom,
}

impl StateSeal {
    /// The key is the SHA-256 of the gateway key's signature over a fixed label: Ed25519
    /// signatures are deterministic, so it is stable across restarts and instances and needs no
    /// key file of its own, and it reveals nothing of the signing key.
    pub(crate) fn new(gateway_key: &SigningKeyPair) -> Result<Self, ring::error::Unspecified> {
        let signature = gateway_key.sign_raw(CONTEXT);
        let material = ring::digest::digest(&ring::digest::SHA256, &signature);
        let key = LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, material.as_ref())?);
        Ok(StateSeal {
            key,
            random: SystemRandom::new(),
        })
    }

    /// A sealed state and its nonce (the id under which it is spent).
    pub(super) fn seal(&self, state: &RoundState) -> Option<(String, String)> {
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce).ok()?;
        let mut in_out = serde_json::to_vec(state).ok()?;
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(CONTEXT),
                &mut in_out,
            )
            .ok()?;
        let mut token = nonce.to_vec();
        token.extend_from_slice(&in_out);
        Some((URL_SAFE_NO_PAD.encode(token), URL_SAFE_NO_PAD.encode(nonce)))
    }

    /// The state a token seals and its nonce, if it is genuine and still current at `now`.
    pub(super) fn open(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<(RoundState, String), StateRefused> {
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| StateRefused::Forged)?;
        if bytes.len() <= NONCE_LEN {
            return Err(StateRefused::Forged);
        }
        let (nonce, sealed) = bytes.split_at(NONCE_LEN);
        let nonce_text = URL_SAFE_NO_PAD.encode(nonce);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| StateRefused::Forged)?;
        let mut in_out = sealed.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(CONTEXT), &mut in_out)
            .map_err(|_| StateRefused::Forged)?;
        let state: RoundState = serde_json::from_slice(plain).map_err(|_| StateRefused::Forged)?;
        if state.expires_at <= now {
            return Err(StateRefused::Expired);
        }
        Ok((state, nonce_text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(at: DateTime<Utc>) -> RoundState {
        RoundState {
            workflow: "payments".into(),
            request_id: "req-1".into(),
            request_digest: "sha256:abc".into(),
            expires_at: at + LIFETIME,
        }
    }

    #[test]
    fn a_sealed_state_opens_once_current_and_never_when_changed_or_late() {
        let key = SigningKeyPair::from_seed([7; 32]);
        let seal = StateSeal::new(&key).expect("key");
        let now = Utc::now();
        let (token, nonce) = seal.seal(&state(now)).expect("sealed");
        assert_eq!(seal.open(&token, now), Ok((state(now), nonce.clone())));
        // The same key derives the same seal (another instance, a restart).
        assert!(StateSeal::new(&key).expect("key").open(&token, now).is_ok());
        assert_eq!(
            StateSeal::new(&SigningKeyPair::from_seed([8; 32]))
                .expect("key")
                .open(&token, now),
            Err(StateRefused::Forged)
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64url");
        for i in [0, NONCE_LEN, bytes.len() - 1] {
            bytes[i] ^= 1;
            assert_eq!(
                seal.open(&URL_SAFE_NO_PAD.encode(&bytes), now),
                Err(StateRefused::Forged),
                "byte {i} flipped"
            );
            bytes[i] ^= 1;
        }
        assert_eq!(seal.open("", now), Err(StateRefused::Forged));
        assert_eq!(seal.open("not base64 !", now), Err(StateRefused::Forged));
        assert_eq!(
            seal.open(&token, now + LIFETIME),
            Err(StateRefused::Expired)
        );
        // Two seals of one state differ (fresh nonces), so each can be spent on its own.
        assert_ne!(seal.seal(&state(now)).expect("sealed").1, nonce);
    }
}
