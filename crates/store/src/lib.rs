//! The gateway's storage: SQLite through sqlx, migrations from `/migrations`.
//!
//! **Invariant:** this is the only crate with SQL. Each operation that changes state does so
//! in one transaction together with its event and outbox rows, so a crash never leaves a
//! decision without its event or its webhook.
//!
//! SQLite allows one writer at a time; writes go through a one-connection pool (queued in
//! the process instead of failing with `SQLITE_BUSY`), reads through a separate pool.
//!
//! One module per concern: `requests` (intake, reads, expiry), `decisions` (and receipts),
//! `events`, `outbox`, `identities` (workflows, reviewers, console jtis), `supervision`,
//! `a2a`, `audit`, `export`, `console`; `rows` reads rows back, `error` is the error type.
#![deny(missing_docs)]

use std::path::Path;

/// The states in which a request may still be decided, as an SQL list (`state IN …`): the
/// set `RequestState::is_open` names (a test holds the two equal). A macro, so that queries
/// stay string literals (`concat!`).
macro_rules! open_states {
    () => {
        "('pending', 'escalated')"
    };
}

mod a2a;
mod audit;
mod console;
mod decisions;
mod error;
mod events;
mod export;
mod gauges;
mod identities;
mod intake;
mod mcp;
mod notes;
mod outbox;
mod requests;
mod rows;
mod supervision;

pub use a2a::{
    A2aTask, ListedTask, MAX_PUSH_CONFIGS, PushConfig, PushWrite, TaskCursor, TaskFilter,
    WithdrawWrite,
};
pub use audit::{AuditEntry, EventForAudit};
pub use console::{ConsoleCache, SignedDecision};
pub use decisions::{DecisionWrite, NewDecision, ReceiptWrite};
pub use error::StoreError;
pub use export::{Selection, StoredReview};
pub use gauges::Gauges;
pub use identities::{ENROLMENT_PREFIX, ReviewerRow};
pub use mcp::McpTask;
pub use notes::NoteWrite;
pub use outbox::{Delivery, DeliveryChannel};
pub use requests::{AdmitOutcome, NewRequest, StoredRequest};
pub use supervision::{OverdueCandidate, SupervisionWrite};

use error::Result;
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

/// Events about a refusal that has no usable request id name it `intake-refusal:<n>`.
pub const UNATTRIBUTED_REFUSAL: &str = "intake-refusal:";

/// Handle to the gateway database.
#[derive(Clone)]
pub struct Store {
    write: SqlitePool,
    read: SqlitePool,
    intake: tokio::sync::mpsc::Sender<intake::Job>,
}

impl Store {
    /// Opens (creating if needed) the database file and applies pending migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // WAL + NORMAL: a commit survives a process crash (kill -9); only an OS crash
            // may lose the last transactions.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(10));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("../../migrations").run(&write).await?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options.read_only(true))
            .await?;
        let intake = intake::spawn(write.clone());
        Ok(Store {
            write,
            read,
            intake,
        })
    }

    /// What readiness needs to know about the database: it answers, and every migration this
    /// build knows is applied (another instance may have migrated it further).
    pub async fn health(&self) -> Result<DatabaseHealth> {
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success = 1")
                .fetch_one(&self.read)
                .await?;
        let known = sqlx::migrate!("../../migrations").migrations.len();
        Ok(DatabaseHealth {
            migrations_applied: usize::try_from(applied).unwrap_or(0),
            migrations_known: known,
        })
    }

    /// Writes a consistent copy of the database to `path` (which must not exist) while the
    /// gateway runs: SQLite's `VACUUM INTO`, one read transaction, so the copy is a whole
    /// database as of one moment, WAL included. Restoring is starting a gateway on the copy.
    pub async fn backup_into(&self, path: &Path) -> Result<()> {
        if path.exists() {
            return Err(StoreError::Backup(format!(
                "{} exists: a backup never overwrites",
                path.display()
            )));
        }
        let target = path
            .to_str()
            .ok_or_else(|| StoreError::Backup(format!("{} is not a UTF-8 path", path.display())))?;
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}

/// The database as readiness sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DatabaseHealth {
    /// Migrations recorded as applied.
    pub migrations_applied: usize,
    /// Migrations this build carries.
    pub migrations_known: usize,
}

impl DatabaseHealth {
    /// Every migration this build knows is applied.
    pub fn migrated(&self) -> bool {
        self.migrations_applied >= self.migrations_known
    }
}

#[cfg(test)]
mod tests {
    use countersign_wire::api::RequestState;

    use crate::Store;

    #[test]
    fn the_sql_open_states_are_the_open_request_states() {
        let states = [
            "pending",
            "escalated",
            "approved",
            "rejected",
            "expired",
            "withdrawn",
            "refused",
        ];
        for text in states {
            let state = RequestState::parse(text).unwrap();
            assert_eq!(
                open_states!().contains(&format!("'{text}'")),
                state.is_open(),
                "{text}"
            );
        }
        assert_eq!(
            open_states!().matches('\'').count(),
            4,
            "exactly two states listed"
        );
    }

    /// A database written before times took one form is carried over: integer seconds and
    /// sender text both become the one text form, and the sweeps read them.
    #[tokio::test]
    async fn times_from_before_the_one_form_are_converted() {
        use sqlx::migrate::Migrator;
        use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.sqlite");
        let pool = SqlitePoolOptions::new()
            .connect_with(
                SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true),
            )
            .await
            .unwrap();
        let all = sqlx::migrate!("../../migrations");
        let before = Migrator {
            migrations: all
                .migrations
                .iter()
                .filter(|m| m.version < 20261203120000)
                .cloned()
                .collect::<Vec<_>>()
                .into(),
            ..Migrator::DEFAULT
        };
        before.run(&pool).await.unwrap();
        sqlx::query(
            "INSERT INTO requests (request_id, workflow, state, tier, txn, expires_at, expires_at_text,
                 received_at, request_digest, body, report, parties, principal)
             VALUES ('r1', 'wf', 'pending', 'high', 't', 1795341600, '2026-11-22T11:00:00+01:00',
                 '2026-11-22T09:00:00Z', 'sha256:a', '{}',
                 '{\"verdict\":\"valid\",\"findings\":[]}', '[]', 'user:p')",
        )
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO console_token_jtis (jti, expires_at) VALUES ('j', 1795341600)")
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO outbox (delivery_id, request_id, url, body, next_attempt_at, created_at)
             VALUES ('d', 'r1', 'http://127.0.0.1:1/', '{}', 1795338000, '2026-11-22T09:00:00.000Z')",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;

        let store = Store::open(&path).await.unwrap();
        let request = store.request("r1").await.unwrap().unwrap();
        assert_eq!(request.expires_at.to_string(), "2026-11-22T10:00:00.000Z");
        assert_eq!(request.received_at.to_string(), "2026-11-22T09:00:00.000Z");
        let due = |at: &str| at.parse::<countersign_wire::Timestamp>().unwrap();
        assert!(
            store
                .due_deliveries(due("2026-11-22T08:59:59.999Z"), 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store
                .due_deliveries(due("2026-11-22T09:00:00Z"), 10)
                .await
                .unwrap()
                .len(),
            1
        );
        assert!(
            store
                .consume_console_jti(
                    "j",
                    due("2026-11-22T10:00:00Z"),
                    due("2026-11-22T09:00:00Z")
                )
                .await
                .is_ok_and(|fresh| !fresh),
            "the remembered jti is still remembered"
        );
        let expired = store.expire_due(due("2026-11-22T10:00:00Z")).await.unwrap();
        assert_eq!(
            expired.len(),
            1,
            "the converted expiry is what the sweep reads"
        );
    }
}
