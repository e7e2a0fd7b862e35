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
mod identities;
mod intake;
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
pub use identities::ReviewerRow;
pub use outbox::{Delivery, DeliveryChannel};
pub use requests::{AdmitOutcome, NewRequest, StoredRequest};
pub use supervision::{OverdueCandidate, RequestTimes, SupervisionWrite};

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
}

#[cfg(test)]
mod tests {
    use countersign_wire::api::RequestState;

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
}
