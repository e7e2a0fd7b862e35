//! Console authentication without shared secrets: a short-lived JWS signed by the reviewer's
//! own key, fresh for every call, single-use (the gateway remembers `jti` until `exp`).

use chrono::{DateTime, Utc};
use countersign_chain::{CompactJws, SigningKeyPair, TypedJwsError, verify_typed};
use serde::{Deserialize, Serialize};

use crate::Reviewer;

/// `typ` of a console token; distinct from hops and decisions so neither can stand in for it.
pub const CONSOLE_TOKEN_TYP: &str = "countersign-console+jwt";
/// How long a console token lives.
pub const CONSOLE_TOKEN_LIFETIME_SECONDS: i64 = 120;
/// The longest lifetime the gateway accepts, and the clock skew it tolerates.
const MAX_LIFETIME_SECONDS: i64 = 300;
const SKEW_SECONDS: i64 = 60;

/// Claims of a console token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleTokenClaims {
    /// Reviewer identity.
    pub iss: String,
    /// The gateway's audience.
    pub aud: String,
    /// Issued at.
    pub iat: i64,
    /// Expires at.
    pub exp: i64,
    /// Unique id; single use.
    pub jti: String,
}

/// Signs a fresh console token for `identity`.
pub fn mint_console_token(
    key: &SigningKeyPair,
    identity: &str,
    audience: &str,
    now: DateTime<Utc>,
    jti: &str,
) -> String {
    let claims = ConsoleTokenClaims {
        iss: identity.to_owned(),
        aud: audience.to_owned(),
        iat: now.timestamp(),
        exp: now.timestamp() + CONSOLE_TOKEN_LIFETIME_SECONDS,
        jti: jti.to_owned(),
    };
    key.sign_jws(CONSOLE_TOKEN_TYP, &claims)
        .expect("signing in-memory claims with an in-memory key cannot fail")
}

/// The `kid` a token claims, to look its reviewer up. Says nothing about validity.
pub fn token_kid(token: &str) -> Option<String> {
    CompactJws::parse(token).ok()?.header.kid
}

/// Why a console token was refused. All of these are 401 at the gateway.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Not a JWS, wrong alg or typ, or bad claims.
    #[error("console token is malformed: {0}")]
    Malformed(String),
    /// The signature does not verify with the reviewer's keys.
    #[error("console token signature does not verify")]
    BadSignature,
    /// Issued to someone else or for another gateway.
    #[error("console token is not for this reviewer or this gateway")]
    WrongParty,
    /// Expired, not yet valid, or too long-lived.
    #[error("console token is expired or not yet valid")]
    Expired,
}

/// Checks a console token against the reviewer its `kid` belongs to. Replay (the `jti`) is
/// checked by the caller, which holds the memory of used ids.
pub fn check_console_token(
    token: &str,
    reviewer: &Reviewer,
    audience: &str,
    now: DateTime<Utc>,
) -> Result<ConsoleTokenClaims, TokenRejection> {
    let claims: ConsoleTokenClaims = match verify_typed(token, CONSOLE_TOKEN_TYP, &reviewer.keys) {
        Ok(verified) => verified.claims,
        Err(TypedJwsError::Unverified) => return Err(TokenRejection::BadSignature),
        Err(other) => return Err(TokenRejection::Malformed(other.to_string())),
    };
    if claims.iss != reviewer.identity || claims.aud != audience {
        return Err(TokenRejection::WrongParty);
    }
    let now = now.timestamp();
    if claims.exp <= now
        || claims.iat > now + SKEW_SECONDS
        || claims.exp - claims.iat > MAX_LIFETIME_SECONDS
    {
        return Err(TokenRejection::Expired);
    }
    Ok(claims)
}
