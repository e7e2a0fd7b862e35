//! The store's one error type: what failed, never shown to clients.

/// Why a storage operation failed. The message never reaches clients.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// Migrations failed.
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A batched write failed (the message of the underlying error).
    #[error("batched write failed: {0}")]
    Batch(String),
    /// A backup cannot be written where it was asked to go.
    #[error("backup: {0}")]
    Backup(String),
    /// A stored value cannot be read back (should not happen; data was written by us).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

pub(crate) type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}
