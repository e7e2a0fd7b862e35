//! `GET /healthz` (the process answers) and `GET /readyz` (it should be sent work: the
//! database answers with every migration applied, the workers run, and it is not draining).
//! Public and unauthenticated, like a load balancer or an orchestrator probes them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use tokio::task::AbortHandle;

use crate::AppState;

/// Draining, and the workers' tasks.
#[derive(Debug, Default)]
pub struct Health {
    draining: AtomicBool,
    workers: Mutex<Vec<AbortHandle>>,
}

impl Health {
    /// From now on `/readyz` answers 503.
    pub fn drain(&self) {
        self.draining.store(true, Ordering::Release);
    }

    fn draining(&self) -> bool {
        self.draining.load(Ordering::Acquire)
    }

    pub(crate) fn watch_workers(&self, handles: impl IntoIterator<Item = AbortHandle>) {
        self.workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend(handles);
    }

    /// Workers whose task has ended (a worker ends only when the gateway stops, or panics).
    fn stopped_workers(&self) -> usize {
        self.workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|w| w.is_finished())
            .count()
    }
}

/// `GET /healthz`.
pub(crate) async fn healthz() -> &'static str {
    "ok\n"
}

/// What `/readyz` found.
#[derive(Serialize)]
pub(crate) struct Readiness {
    ready: bool,
    database: &'static str,
    migrations_applied: usize,
    migrations_known: usize,
    workers_stopped: usize,
    draining: bool,
}

/// `GET /readyz`: 200 when ready, 503 with the same body when not.
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Readiness>) {
    let database = state.store.health().await;
    let (reachable, applied, known) = match &database {
        Ok(health) => (true, health.migrations_applied, health.migrations_known),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the database does not answer");
            (false, 0, 0)
        }
    };
    let migrated = database.as_ref().is_ok_and(|h| h.migrated());
    let stopped = state.health.stopped_workers();
    let draining = state.health.draining();
    let ready = reachable && migrated && stopped == 0 && !draining;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Readiness {
            ready,
            database: if reachable { "ok" } else { "unreachable" },
            migrations_applied: applied,
            migrations_known: known,
            workers_stopped: stopped,
            draining,
        }),
    )
}
