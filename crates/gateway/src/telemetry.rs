//! Prometheus metrics, served at `/metrics` on a listen address of their own (never on the
//! API's, so they are not public by accident): requests by route and status with latencies,
//! live SSE subscribers, and at each scrape the queue by state and tier, the outbox backlog
//! and the audit log's seal lag, read from the database.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use countersign_wire::Tier;
use countersign_wire::api::RequestState;

use crate::AppState;

/// The process's recorder (one per process: every gateway in it shares the registry).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(e) => {
                tracing::error!(error = %e, "metrics recorder not installed");
                None
            }
        })
        .as_ref()
}

/// Installs the recorder; call before serving so the first requests are counted.
pub(crate) fn install() {
    let _ = handle();
}

/// Counts every request by route template (never the raw path, which would make one series
/// per request id) and status, and records its latency.
pub(crate) async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let code = response.status().as_u16().to_string();
    metrics::counter!("countersign_http_requests_total", "route" => route.clone(), "method" => method.clone(), "code" => code).increment(1);
    metrics::histogram!("countersign_http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// Held by each SSE subscriber's task: the gauge counts the live ones.
pub(crate) struct SseSubscriber;

impl SseSubscriber {
    pub(crate) fn new() -> Self {
        metrics::gauge!("countersign_sse_subscribers").increment(1.0);
        SseSubscriber
    }
}

impl Drop for SseSubscriber {
    fn drop(&mut self) {
        metrics::gauge!("countersign_sse_subscribers").decrement(1.0);
    }
}

/// `GET /metrics`: the registry, with the database gauges read now.
pub(crate) async fn scrape(State(state): State<AppState>) -> Response {
    match state.store.gauges().await {
        Ok(gauges) => {
            // Every open state and tier, so a combination that emptied reads 0, not its last.
            let open = RequestState::ALL.into_iter().filter(|s| s.is_open());
            for (state_now, tier) in open.flat_map(|s| Tier::ALL.map(|t| (s, t))) {
                let counted = gauges
                    .queue
                    .iter()
                    .find(|(s, t, _)| *s == state_now && *t == tier)
                    .map_or(0, |(_, _, n)| *n);
                metrics::gauge!("countersign_queue_depth", "state" => state_now.as_str(), "tier" => tier.as_str())
                    .set(counted as f64);
            }
            metrics::gauge!("countersign_outbox_pending").set(gauges.outbox_pending as f64);
            metrics::gauge!("countersign_outbox_attempts").set(gauges.outbox_attempts as f64);
            metrics::gauge!("countersign_audit_unsealed_events").set(gauges.unsealed_events as f64);
            let lag = gauges.oldest_unsealed_at.map_or(0.0, |at| {
                (state.clock.now() - chrono::DateTime::from(at))
                    .num_milliseconds()
                    .max(0) as f64
                    / 1000.0
            });
            metrics::gauge!("countersign_audit_seal_lag_seconds").set(lag);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: the database gauges could not be read"),
    }
    let body = handle().map(PrometheusHandle::render).unwrap_or_default();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}
