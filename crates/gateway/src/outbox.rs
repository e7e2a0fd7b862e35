//! The outbox's delivery side: one attempt at a due delivery (a webhook or an A2A push),
//! signed by the gateway, and what is recorded after it. What is due and how a push is
//! rendered is the workers' business; this module knows nothing of A2A.

use std::time::Duration;

use chrono::TimeDelta;
use countersign_review::webhook::sign_delivery;
use countersign_store::Delivery;
use countersign_wire::Timestamp;

use crate::AppState;

/// Backoff cap between attempts.
const MAX_BACKOFF_SECONDS: i64 = 300;

/// What one attempt sends.
pub(crate) struct Outbound {
    /// Receiver.
    pub url: String,
    /// Exact body.
    pub body: String,
    /// Content type and the receiver's own auth headers.
    pub headers: Vec<(&'static str, String)>,
}

/// The HTTP client deliveries go through.
pub(crate) fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        // A receiver's redirect would take the decision to an address nobody checked
        // (`check_receiver_url`); a 3xx is a failed attempt.
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Sends `out` for `delivery` and records the outcome: delivered (with its event), or a
/// failed attempt and when to try again.
pub(crate) async fn attempt(
    state: &AppState,
    http: &reqwest::Client,
    delivery: &Delivery,
    out: Outbound,
) {
    let now = state.clock.timestamp();
    match send(state, http, delivery, out, now).await {
        Ok(()) => {
            tracing::info!(delivery = %delivery.delivery_id, "delivered");
            let stored = state
                .store
                .delivery_succeeded(&delivery.delivery_id, now)
                .await
                .map(|event| state.publish(event));
            if let Err(e) = stored {
                tracing::error!(error = %e, "cannot record a delivery attempt");
            }
        }
        Err(error) => failed(state, delivery, &error).await,
    }
}

/// Records a failed attempt, with exponential backoff before the next.
pub(crate) async fn failed(state: &AppState, delivery: &Delivery, error: &str) {
    let backoff = (1_i64 << delivery.attempts.min(16)).min(MAX_BACKOFF_SECONDS);
    tracing::warn!(delivery = %delivery.delivery_id, attempts = delivery.attempts + 1, backoff, %error, "delivery failed; will retry");
    let next = state.clock.timestamp() + TimeDelta::seconds(backoff);
    if let Err(e) = state
        .store
        .delivery_failed(&delivery.delivery_id, next, error)
        .await
    {
        tracing::error!(error = %e, "cannot record a delivery attempt");
    }
}

/// POSTs one attempt, signed by the gateway so any receiver can tell it came from us.
async fn send(
    state: &AppState,
    http: &reqwest::Client,
    delivery: &Delivery,
    out: Outbound,
    now: Timestamp,
) -> Result<(), String> {
    let signature = sign_delivery(
        &state.gateway_key,
        &state.audience,
        out.body.as_bytes(),
        &delivery.delivery_id,
        now.unix_seconds(),
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
