//! Background work: expiring overdue requests (fail-closed), escalating overdue ones, sealing
//! the audit log, and delivering webhooks and A2A pushes from the durable outbox with backoff. Both resume from the database after a restart.

use std::time::Duration;

use chrono::SecondsFormat;
use countersign_review::policy::Deadline;
use countersign_review::webhook::sign_delivery;
use countersign_store::{Delivery, DeliveryChannel, OverdueCandidate, Raise, SupervisionWrite};
use countersign_wire::api::EscalationReason;
use futures_util::StreamExt as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::AppState;

/// The longest a worker sleeps before looking at the clock again (tests move a manual clock).
const TICK: Duration = Duration::from_millis(200);
/// Backoff cap between webhook attempts.
const MAX_BACKOFF_SECONDS: i64 = 300;

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

/// Seals committed events into the audit log every tick, and once more when stopping.
async fn seal(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        let running = pause(&state, &mut stop).await;
        let at = state
            .clock
            .now()
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        loop {
            match state.audit.seal(&state.store, &at).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::error!(error = %e, "audit seal failed");
                    break;
                }
            }
        }
        if !running {
            return;
        }
    }
}

async fn expire(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        let now = state.clock.now();
        match state
            .store
            .expire_due(
                now.timestamp(),
                &now.to_rfc3339_opts(SecondsFormat::Millis, true),
            )
            .await
        {
            Ok(events) if !events.is_empty() => {
                tracing::info!(count = events.len(), "requests expired undecided");
                state.publish(events);
                state.wake_workers.notify_waiters();
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "expiry sweep failed"),
        }
        if !pause(&state, &mut stop).await {
            return;
        }
    }
}

/// Raises overdue requests to the next escalation level of their tier's policy.
async fn escalate_overdue(state: AppState, mut stop: watch::Receiver<bool>) {
    let Some(shortest) = state.policy.shortest_deadline() else {
        return; // no tier has a time to decide
    };
    loop {
        let now = state.clock.now();
        let threshold = (now - shortest).to_rfc3339_opts(SecondsFormat::Millis, true);
        match state.store.overdue_candidates(&threshold).await {
            Ok(candidates) => {
                for candidate in candidates {
                    raise_overdue(&state, candidate, now).await;
                }
            }
            Err(e) => tracing::error!(error = %e, "cannot read overdue requests"),
        }
        if !pause(&state, &mut stop).await {
            return;
        }
    }
}

async fn raise_overdue(
    state: &AppState,
    candidate: OverdueCandidate,
    now: chrono::DateTime<chrono::Utc>,
) {
    let rules = state.policy.tier(candidate.tier);
    let Ok(received) = chrono::DateTime::parse_from_rfc3339(&candidate.received_at) else {
        return;
    };
    let Deadline::Overdue { level, .. } = rules.deadline(received.to_utc(), now) else {
        return;
    };
    let level = u32::try_from(level).unwrap_or(u32::MAX);
    if candidate.level.is_some_and(|raised| raised >= level) {
        return;
    }
    let notify = match level {
        0 => vec!["role:supervisor".to_owned()],
        n => rules
            .escalation
            .get(n as usize - 1)
            .map(|l| l.to.clone())
            .unwrap_or_default(),
    };
    let within = rules
        .decide_within
        .map(|d| match d.num_seconds() {
            s if s % 3600 == 0 => format!("{}h", s / 3600),
            s if s % 60 == 0 => format!("{}m", s / 60),
            s => format!("{s}s"),
        })
        .unwrap_or_default();
    let raise = Raise {
        reason: EscalationReason::Overdue,
        level,
        notify,
        note: format!("no decision within {within}"),
        raised_by: "gateway".into(),
        at: now.to_rfc3339_opts(SecondsFormat::Millis, true),
    };
    match state.store.escalate(&candidate.request_id, &raise).await {
        Ok(SupervisionWrite::Done(event)) => {
            tracing::info!(request_id = %candidate.request_id, level, "request overdue: escalated");
            state.publish([event]);
        }
        Ok(_) => {}
        Err(e) => tracing::error!(error = %e, "cannot escalate an overdue request"),
    }
}

async fn deliver(state: AppState, mut stop: watch::Receiver<bool>) {
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        // A receiver's redirect would take the decision to an address nobody checked
        // (`check_receiver_url`); a 3xx is a failed attempt.
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(http) => http,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the webhook client");
            return;
        }
    };
    loop {
        let now = state.clock.now().timestamp();
        match state.store.due_deliveries(now, 32).await {
            Ok(due) => {
                futures_util::stream::iter(due)
                    .for_each_concurrent(8, |delivery| attempt(&state, &http, delivery))
                    .await;
            }
            Err(e) => tracing::error!(error = %e, "cannot read the outbox"),
        }
        if !pause(&state, &mut stop).await {
            return;
        }
    }
}

/// What one attempt sends: the stored webhook body, or an A2A push rendered from the task.
pub(crate) struct Outbound {
    /// Receiver.
    pub url: String,
    /// Exact body.
    pub body: String,
    /// Content type and the receiver's own auth headers.
    pub headers: Vec<(&'static str, String)>,
}

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

async fn attempt(state: &AppState, http: &reqwest::Client, delivery: Delivery) {
    let now = state.clock.now();
    let outcome = match outbound(state, &delivery).await {
        // Its config was deleted while it waited: nothing is owed to anyone.
        Ok(None) => return,
        Ok(Some(out)) => send(state, http, &delivery, out, now.timestamp()).await,
        Err(e) => Err(e),
    };
    let stored = match outcome {
        Ok(()) => {
            tracing::info!(delivery = %delivery.delivery_id, "delivered");
            state
                .store
                .delivery_succeeded(
                    &delivery.delivery_id,
                    &now.to_rfc3339_opts(SecondsFormat::Millis, true),
                )
                .await
                .map(|event| state.publish(event))
        }
        Err(error) => {
            let backoff = (1_i64 << delivery.attempts.min(16)).min(MAX_BACKOFF_SECONDS);
            tracing::warn!(delivery = %delivery.delivery_id, attempts = delivery.attempts + 1, backoff, %error, "delivery failed; will retry");
            state
                .store
                .delivery_failed(&delivery.delivery_id, now.timestamp() + backoff, &error)
                .await
        }
    };
    if let Err(e) = stored {
        tracing::error!(error = %e, "cannot record a delivery attempt");
    }
}

/// POSTs one attempt, signed by the gateway so any receiver can tell it came from us.
async fn send(
    state: &AppState,
    http: &reqwest::Client,
    delivery: &Delivery,
    out: Outbound,
    now_s: i64,
) -> Result<(), String> {
    let signature = sign_delivery(
        &state.gateway_key,
        &state.audience,
        out.body.as_bytes(),
        &delivery.delivery_id,
        now_s,
    );
    let mut request = http
        .post(&out.url)
        .header("idempotency-key", &delivery.delivery_id)
        .header("countersign-signature", signature);
    for (name, value) in &out.headers {
        request = request.header(*name, value);
    }
    match request.body(out.body).send().await {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!("receiver answered {}", response.status())),
        Err(e) => Err(format!("cannot reach receiver: {e}")),
    }
}
