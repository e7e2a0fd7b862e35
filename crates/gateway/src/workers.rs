//! Background work: expiring overdue requests (fail-closed), escalating overdue ones, sealing
//! the audit log, and delivering webhooks and A2A pushes from the durable outbox with backoff
//! (`outbox`). All of it resumes from the database after a restart. Each worker is a loop
//! around one pass; `run_once` runs every pass once, for tests on a pinned clock.

use std::time::Duration;

use countersign_review::policy::Deadline;
use countersign_review::{Policy, Raise};
use countersign_store::{Delivery, DeliveryChannel, OverdueCandidate, SupervisionWrite};
use countersign_wire::Timestamp;
use futures_util::StreamExt as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::AppState;
use crate::outbox::{self, Outbound};
use crate::witnesses;

/// The longest a worker sleeps before looking at the clock again (tests move a manual clock).
const TICK: Duration = Duration::from_millis(200);

pub(crate) fn spawn(state: AppState, stop: watch::Receiver<bool>) -> Vec<JoinHandle<()>> {
    vec![
        tokio::spawn(expire(state.clone(), stop.clone())),
        tokio::spawn(escalate_overdue(state.clone(), stop.clone())),
        tokio::spawn(seal(state.clone(), stop.clone())),
        tokio::spawn(deliver(state, stop)),
    ]
}

async fn pause(state: &AppState, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(TICK) => true,
        _ = state.wake_workers.notified() => true,
        _ = stop.wait_for(|stopped| *stopped) => false,
    }
}

/// Passes between submissions to a witness when no new checkpoint was signed (a witness that
/// failed is tried again after this many ticks).
const WITNESS_RETRY_TICKS: u32 = 25;

/// Seals committed events into the audit log every tick, and once more when stopping; each
/// new checkpoint goes to the witnesses.
async fn seal(state: AppState, mut stop: watch::Receiver<bool>) {
    let http = witnesses::client().ok();
    let mut idle = 0;
    loop {
        let running = pause(&state, &mut stop).await;
        let sealed = seal_once(&state).await;
        idle = if sealed > 0 { 0 } else { idle + 1 };
        if let Some(http) = &http
            && (idle == 0 || idle % WITNESS_RETRY_TICKS == 0)
        {
            witnesses::submit_all(&state, http).await;
        }
        if !running {
            return;
        }
    }
}

async fn expire(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        expire_once(&state).await;
        if !pause(&state, &mut stop).await {
            return;
        }
    }
}

/// Raises overdue requests to the next escalation level of their tier's policy. It runs
/// even while no tier has a time to decide (a pass then does nothing): a reloaded policy may
/// bring one.
async fn escalate_overdue(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        escalate_once(&state).await;
        if !pause(&state, &mut stop).await {
            return;
        }
    }
}

async fn deliver(state: AppState, mut stop: watch::Receiver<bool>) {
    let http = match outbox::client() {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client");
            return;
        }
    };
    loop {
        deliver_once(&state, &http).await;
        if !pause(&state, &mut stop).await {
            return;
        }
    }
}

/// One pass of every worker at the clock's "now", in the order a request's life needs them
/// (expire, escalate, deliver, seal): what tests call after moving a pinned clock, instead of
/// waiting for a tick. Safe beside the running loops: each pass is idempotent or serialized.
pub(crate) async fn run_once(state: &AppState) {
    expire_once(state).await;
    escalate_once(state).await;
    match outbox::client() {
        Ok(http) => deliver_once(state, &http).await,
        Err(e) => tracing::error!(error = %e, "cannot build the webhook client"),
    }
    seal_once(state).await;
    match witnesses::client() {
        Ok(http) => witnesses::submit_all(state, &http).await,
        Err(e) => tracing::error!(error = %e, "cannot build the witness client"),
    }
}

/// Seals everything committed so far, in batches; returns how many events.
pub(crate) async fn seal_once(state: &AppState) -> usize {
    let at = state.clock.timestamp();
    let mut sealed = 0;
    loop {
        match state.audit.seal(&state.store, at).await {
            Ok(0) => break,
            Ok(n) => sealed += n,
            Err(e) => {
                tracing::error!(error = %e, "audit seal failed");
                break;
            }
        }
    }
    sealed
}

/// Expires every open request past its expiry (fail-closed).
async fn expire_once(state: &AppState) {
    let now = state.clock.now();
    match state.store.expire_due(now.into()).await {
        Ok(events) if !events.is_empty() => {
            tracing::info!(count = events.len(), "requests expired undecided");
            state.publish(events);
            state.wake_workers.notify_waiters();
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "expiry sweep failed"),
    }
}

/// Raises every overdue request to the level its tier's policy reaches now, under one
/// version of the policy for the whole pass.
async fn escalate_once(state: &AppState) {
    let policy = state.policy.current();
    let Some(shortest) = policy.shortest_deadline() else {
        return;
    };
    let now = state.clock.timestamp();
    match state.store.overdue_candidates(now - shortest).await {
        Ok(candidates) => {
            for candidate in candidates {
                raise_overdue(state, &policy, candidate, now).await;
            }
        }
        Err(e) => tracing::error!(error = %e, "cannot read overdue requests"),
    }
}

/// Attempts every delivery due now. One pass at a time (`AppState::delivering`), so a
/// delivery is never sent twice at once.
async fn deliver_once(state: &AppState, http: &reqwest::Client) {
    let _one_pass = state.delivering.lock().await;
    match state
        .store
        .due_deliveries(state.clock.timestamp(), 32)
        .await
    {
        Ok(due) => {
            futures_util::stream::iter(due)
                .for_each_concurrent(8, |delivery| async move {
                    match outbound(state, &delivery).await {
                        // Its config was deleted while it waited: nothing is owed.
                        Ok(None) => {}
                        Ok(Some(out)) => outbox::attempt(state, http, &delivery, out).await,
                        Err(error) => outbox::failed(state, &delivery, &error).await,
                    }
                })
                .await;
        }
        Err(e) => tracing::error!(error = %e, "cannot read the outbox"),
    }
}

async fn raise_overdue(
    state: &AppState,
    policy: &Policy,
    candidate: OverdueCandidate,
    now: Timestamp,
) {
    let rules = policy.tier(candidate.tier);
    let Deadline::Overdue { level, .. } = rules.deadline(candidate.received_at, now) else {
        return;
    };
    let level = u32::try_from(level).unwrap_or(u32::MAX);
    if candidate.level.is_some_and(|raised| raised >= level) {
        return;
    }
    let raise = Raise::overdue(&rules, level, now);
    match state.store.escalate(&candidate.request_id, &raise).await {
        Ok(SupervisionWrite::Done(event)) => {
            tracing::info!(request_id = %candidate.request_id, level, "request overdue: escalated");
            state.publish([event]);
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "cannot escalate an overdue request"),
    }
}

/// What a due delivery sends: the stored webhook body, or an A2A push rendered from its task
/// now; `None` when the push's config or task is gone.
async fn outbound(state: &AppState, delivery: &Delivery) -> Result<Option<Outbound>, String> {
    match &delivery.channel {
        DeliveryChannel::Webhook => Ok(Some(Outbound {
            url: delivery.url.clone(),
            body: delivery.body.clone(),
            headers: vec![("content-type", "application/json".to_owned())],
        })),
        DeliveryChannel::A2aPush { task_id, config_id } => {
            crate::a2a::push_notification(state, task_id, config_id)
                .await
                .map_err(|e| format!("cannot render the push: {}", e.message))
        }
    }
}
