//! Who is calling: a workflow (bearer credential issued by the operator) or a console user
//! (a fresh, single-use JWS signed by their own enrolled key).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use countersign_chain::PublicKey;
use countersign_chain::digest::sha256_digest;
use countersign_review::Reviewer;
use countersign_review::console_token::{check_console_token, token_kid};
use countersign_store::ReviewerRow;
use countersign_wire::Timestamp;
use countersign_wire::api::ErrorCode;

use crate::AppState;
use crate::error::Failure;

/// Prefix of workflow credentials, so they are recognisable in a leaked-secret scan.
pub const WORKFLOW_TOKEN_PREFIX: &str = "cswf_";

/// An authenticated workflow.
#[derive(Clone, Debug)]
pub struct Workflow(pub String);

/// An authenticated console user.
#[derive(Clone, Debug)]
pub struct Console(pub Reviewer);

/// The credentials of `Authorization: Bearer <token>`. The scheme is case-insensitive
/// (RFC 9110 §11.1): `bearer` and `BEARER` are `Bearer`.
fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn bearer(parts: &Parts) -> Result<&str, Failure> {
    parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_credentials)
        .ok_or_else(|| {
            Failure::new(
                ErrorCode::Unauthenticated,
                "missing Authorization: Bearer credentials",
            )
        })
}

/// The SHA-256 under which a workflow credential is stored.
pub fn workflow_token_hash(token: &str) -> String {
    sha256_digest(token.as_bytes())
}

impl FromRequestParts<AppState> for Workflow {
    type Rejection = Failure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        if !token.starts_with(WORKFLOW_TOKEN_PREFIX) {
            return Err(Failure::new(
                ErrorCode::Unauthenticated,
                "this endpoint needs workflow credentials",
            ));
        }
        match state
            .store
            .workflow_for_token(&workflow_token_hash(token))
            .await?
        {
            Some(name) => Ok(Workflow(name)),
            None => Err(Failure::new(
                ErrorCode::Unauthenticated,
                "unknown workflow credentials",
            )),
        }
    }
}

/// Converts a stored reviewer into the domain type (an unknown stored role is already a
/// storage error: nothing is skipped silently).
pub fn reviewer_from_row(row: ReviewerRow) -> Result<Reviewer, Failure> {
    let keys = row
        .keys
        .iter()
        .map(PublicKey::from_jwk)
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::internal)?;
    Ok(Reviewer {
        identity: row.identity,
        display_name: row.display_name,
        roles: row.roles.into_iter().collect(),
        tiers: row.tiers.into_iter().collect(),
        keys,
    })
}

impl FromRequestParts<AppState> for Console {
    type Rejection = Failure;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let unauthenticated = |message: &str| Failure::new(ErrorCode::Unauthenticated, message);
        let kid = token_kid(token)
            .ok_or_else(|| unauthenticated("console token is not a JWS with a kid"))?;
        let row =
            state.store.reviewer_by_kid(&kid).await?.ok_or_else(|| {
                unauthenticated("console token is signed by a key nobody enrolled")
            })?;
        let reviewer = reviewer_from_row(row)?;
        let now = state.clock.now();
        let claims = check_console_token(token, &reviewer, &state.audience, now)
            .map_err(|e| unauthenticated(&e.to_string()))?;
        if !state
            .store
            .consume_console_jti(
                &claims.jti,
                Timestamp::from_unix_seconds(claims.exp),
                now.into(),
            )
            .await?
        {
            return Err(unauthenticated("console token was already used"));
        }
        Ok(Console(reviewer))
    }
}
