//! Who may call: workflow credentials, enrolled reviewers and their keys, console token jtis.

use countersign_wire::api::EventKind;
use countersign_wire::{Jwk, Role, Tier, Timestamp};

use crate::Store;
use crate::error::{Result, corrupt};
use crate::rows::Column as _;
use crate::rows::parse_tier;

/// The `request_id` of an enrolment event: this, then the reviewer's identity.
pub const ENROLMENT_PREFIX: &str = "enrolment:";

/// An enrolled reviewer as stored.
#[derive(Clone, Debug)]
pub struct ReviewerRow {
    /// Identity.
    pub identity: String,
    /// Display name.
    pub display_name: String,
    /// Roles.
    pub roles: Vec<Role>,
    /// Tiers as stored.
    pub tiers: Vec<Tier>,
    /// Public keys.
    pub keys: Vec<Jwk>,
}

impl Store {
    /// Registers a workflow credential (its SHA-256 digest).
    pub async fn add_workflow(&self, name: &str, token_hash: &str, at: Timestamp) -> Result<()> {
        sqlx::query("INSERT INTO workflows (name, token_hash, created_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET token_hash = excluded.token_hash")
            .bind(name)
            .bind(token_hash)
            .bind(at)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The workflow whose credential hashes to `token_hash`.
    pub async fn workflow_for_token(&self, token_hash: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT name FROM workflows WHERE token_hash = ?")
                .bind(token_hash)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    /// Enrols (or updates) a reviewer and adds keys.
    pub async fn enrol_reviewer(
        &self,
        reviewer: &ReviewerRow,
        kids: &[String],
        at: Timestamp,
    ) -> Result<()> {
        let mut tx = self.write.begin().await?;
        let tiers: Vec<&str> = reviewer.tiers.iter().map(|t| t.as_str()).collect();
        sqlx::query(
            "INSERT INTO reviewers (identity, display_name, roles, tiers, enrolled_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT(identity) DO UPDATE SET display_name = excluded.display_name, roles = excluded.roles, tiers = excluded.tiers",
        )
        .bind(&reviewer.identity)
        .bind(&reviewer.display_name)
        .bind(serde_json::to_string(&reviewer.roles).map_err(|e| corrupt("roles", e))?)
        .bind(serde_json::to_string(&tiers).map_err(|e| corrupt("tiers", e))?)
        .bind(at)
        .execute(&mut *tx)
        .await?;
        for (jwk, kid) in reviewer.keys.iter().zip(kids) {
            sqlx::query("INSERT OR REPLACE INTO reviewer_keys (kid, identity, jwk, enrolled_at) VALUES (?, ?, ?, ?)")
                .bind(kid)
                .bind(&reviewer.identity)
                .bind(serde_json::to_string(jwk).map_err(|e| corrupt("jwk", e))?)
                .bind(at)
                .execute(&mut *tx)
                .await?;
        }
        // The enrolment is an audit event, with the keys: a bundle then proves that every
        // key a decision was signed with was enrolled for its reviewer.
        let keys: Vec<serde_json::Value> = reviewer
            .keys
            .iter()
            .zip(kids)
            .map(|(jwk, kid)| serde_json::json!({ "kid": kid, "jwk": jwk }))
            .collect();
        let detail = serde_json::json!({
            "identity": reviewer.identity,
            "display_name": reviewer.display_name,
            "roles": reviewer.roles,
            "tiers": tiers,
            "keys": keys,
        });
        sqlx::query(
            "INSERT INTO events (kind, request_id, state, at, actor, detail) VALUES (?, ?, 'none', ?, NULL, ?)",
        )
        .bind(EventKind::ReviewerEnrolled.as_str())
        .bind(format!("{ENROLMENT_PREFIX}{}", reviewer.identity))
        .bind(at)
        .bind(detail.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sealed enrolment entries below leaf `size`: (leaf index, the exact bytes hashed).
    pub async fn enrolment_entries(&self, size: i64) -> Result<Vec<(i64, String)>> {
        sqlx::query(
            "SELECT seq, entry FROM audit_entries
             WHERE seq < ? AND json_extract(entry, '$.kind') = 'reviewer_enrolled' ORDER BY seq",
        )
        .bind(size)
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|row| Ok((row.col("seq")?, row.col("entry")?)))
        .collect()
    }

    /// The reviewer who enrolled the key `kid`, with all their keys.
    pub async fn reviewer_by_kid(&self, kid: &str) -> Result<Option<ReviewerRow>> {
        let Some(identity): Option<String> =
            sqlx::query_scalar("SELECT identity FROM reviewer_keys WHERE kid = ?")
                .bind(kid)
                .fetch_optional(&self.read)
                .await?
        else {
            return Ok(None);
        };
        self.reviewer(&identity).await
    }

    /// Every enrolled reviewer, with their keys (an export's identities).
    pub async fn reviewers(&self) -> Result<Vec<ReviewerRow>> {
        let identities: Vec<String> =
            sqlx::query_scalar("SELECT identity FROM reviewers ORDER BY identity")
                .fetch_all(&self.read)
                .await?;
        let mut rows = Vec::with_capacity(identities.len());
        for identity in identities {
            rows.extend(self.reviewer(&identity).await?);
        }
        Ok(rows)
    }

    /// An enrolled reviewer by identity, with all their keys.
    pub async fn reviewer(&self, identity: &str) -> Result<Option<ReviewerRow>> {
        let Some(row) = sqlx::query(
            "SELECT identity, display_name, roles, tiers FROM reviewers WHERE identity = ?",
        )
        .bind(identity)
        .fetch_optional(&self.read)
        .await?
        else {
            return Ok(None);
        };
        let keys: Vec<String> =
            sqlx::query_scalar("SELECT jwk FROM reviewer_keys WHERE identity = ? ORDER BY kid")
                .bind(identity)
                .fetch_all(&self.read)
                .await?;
        let tiers: Vec<String> =
            serde_json::from_str(row.col("tiers")?).map_err(|e| corrupt("tiers", e))?;
        Ok(Some(ReviewerRow {
            identity: identity.to_owned(),
            display_name: row.col("display_name")?,
            roles: serde_json::from_str(row.col("roles")?).map_err(|e| corrupt("roles", e))?,
            tiers: tiers.iter().map(|t| parse_tier(t)).collect::<Result<_>>()?,
            keys: keys
                .iter()
                .map(|k| serde_json::from_str(k).map_err(|e| corrupt("jwk", e)))
                .collect::<Result<_>>()?,
        }))
    }

    /// Every enrolled reviewer key, for the JWKS.
    pub async fn reviewer_keys(&self) -> Result<Vec<Jwk>> {
        let keys: Vec<String> = sqlx::query_scalar("SELECT jwk FROM reviewer_keys ORDER BY kid")
            .fetch_all(&self.read)
            .await?;
        keys.iter()
            .map(|k| serde_json::from_str(k).map_err(|e| corrupt("jwk", e)))
            .collect()
    }

    /// Remembers a console token's jti until it expires; false if it was already used.
    pub async fn consume_console_jti(
        &self,
        jti: &str,
        expires_at: Timestamp,
        at: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.write.begin().await?;
        sqlx::query("DELETE FROM console_token_jtis WHERE expires_at < ?")
            .bind(at)
            .execute(&mut *tx)
            .await?;
        let inserted =
            sqlx::query("INSERT OR IGNORE INTO console_token_jtis (jti, expires_at) VALUES (?, ?)")
                .bind(jti)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        tx.commit().await?;
        Ok(inserted == 1)
    }
}
