//! The Countersign gateway: the workflow-facing service.
//!
//! Handlers are thin: they authenticate, call the verifier (`countersign-chain`) and the
//! review rules (`countersign-review`), and persist through `countersign-store`. Background
//! workers expire overdue requests and deliver webhooks from the durable outbox.
//!
//! Routes:
//! - `POST /v1/requests` (workflow): submit a DelegationRequest.
//! - `GET /v1/requests/{id}/decision?wait=S` (workflow): long-poll for the outcome.
//! - `POST /v1/requests/{id}/receipt` (workflow): what was executed.
//! - `GET /v1/queue`, `GET /v1/requests/{id}`, `GET /v1/events` (console): snapshot, detail,
//!   live events (SSE, resumable with `Last-Event-ID`).
//! - `POST /v1/requests/{id}/decisions` (console): a reviewer's decision JWS (a quorum
//!   approval answers 202 until the last approver).
//! - `POST /v1/requests/{id}/escalate` (reviewer), `…/assign` (supervisor), `…/shown`
//!   (console): the escalation queue and the "shown to a reviewer" audit event.
//! - `GET /v1/metrics?from=&to=` (supervisor, auditor): exception and correction rates,
//!   approval latency, cycle time, audit completeness, per day.
//! - `GET /v1/export/records?format=jsonl|csv`, `GET /v1/export/bundle` (supervisor,
//!   auditor): review records, and the offline-verifiable bundle.
//! - `POST /` (workflow): A2A 1.0 JSON-RPC (`SendMessage`, `SendStreamingMessage`, `GetTask`,
//!   `ListTasks`, `CancelTask`, `SubscribeToTask`); `GET /.well-known/agent-card.json` (public).
//! - `GET /.well-known/jwks.json` (public): keys that verify decisions.
//! - `GET /v1/audit/checkpoint`, `/v1/audit/tile/…`, `/v1/audit/consistency` (public): the
//!   audit log in the c2sp.org/tlog-tiles layout (`tlog`), cosigned by witnesses (`witnesses`).
//!
//! Served as plain HTTP, or as HTTPS with a certificate and key of its own (`tls`).

mod a2a;
pub mod audit;
pub mod auth;
pub mod bundle;
mod consoles;
mod decisions;
pub mod error;
pub mod export;
mod extract;
pub mod health;
mod intake;
pub mod mcp;
pub mod metrics;
mod notes;
mod outbox;
pub mod policy;
mod supervision;
mod telemetry;
mod tlog;
pub mod tls;
pub mod trust;
pub mod witnesses;
mod workers;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Uri;
use axum::routing::{get, post};
use countersign_chain::SigningKeyPair;
use countersign_review::{Clock, Policy};
use countersign_store::Store;
use countersign_wire::Jwk;
use countersign_wire::api::{ErrorCode, GatewayEvent};
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, broadcast, watch};

use crate::error::Failure;

/// Bodies above this are refused with 413 before reading further. Slightly above the
/// verifier's 1 MiB so that an oversized request is still refused *with a report*.
pub const MAX_BODY_BYTES: usize = 2 << 20;

/// Everything handlers share.
#[derive(Clone)]
pub struct AppState {
    pub(crate) store: Store,
    /// Whom chains are verified against (also served to consoles for names and their own
    /// re-verification); reloadable while the gateway runs.
    pub(crate) trust: Arc<trust::Trust>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) audience: String,
    pub(crate) events: broadcast::Sender<GatewayEvent>,
    pub(crate) gateway_key: Arc<SigningKeyPair>,
    pub(crate) wake_workers: Arc<Notify>,
    /// Held by a delivery pass, so the worker and `run_workers_once` never send one twice.
    pub(crate) delivering: Arc<tokio::sync::Mutex<()>>,
    /// The tamper-evident audit log.
    pub(crate) audit: Arc<audit::AuditLog>,
    /// The review policy; reloadable while the gateway runs.
    pub(crate) policy: Arc<policy::ReviewPolicy>,
    /// Turns true when the gateway stops: long-lived responses (SSE) end so shutdown can finish.
    pub(crate) stopping: watch::Receiver<bool>,
    /// The URL clients reach the gateway at (ending in `/`).
    pub(crate) public_url: Arc<str>,
    /// Seals the `requestState` MCP clients without Tasks carry between rounds.
    pub(crate) request_states: Arc<mcp::StateSeal>,
    /// The agent card, built once from the configured public URL.
    pub(crate) card: Arc<a2a::PublishedCard>,
    /// Witnesses every new checkpoint is submitted to.
    pub(crate) witnesses: Arc<Vec<witnesses::WitnessEndpoint>>,
    /// What `/readyz` reports beyond the database: draining, and the workers' tasks.
    pub(crate) health: Arc<health::Health>,
}

impl AppState {
    /// Tells subscribers and waiters about committed events.
    pub(crate) fn publish(&self, events: impl IntoIterator<Item = GatewayEvent>) {
        for event in events {
            // No receivers is fine: nobody is listening right now.
            let _ = self.events.send(event);
        }
    }
}

/// Gateway settings (file, flags and environment are merged into this by the binary).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GatewayConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// SQLite database file.
    pub database: PathBuf,
    /// Trust store for chain verification.
    pub trust: PathBuf,
    /// The audience decisions must name.
    pub audience: String,
    /// The gateway's own Ed25519 key (PKCS#8 PEM; created with mode 0600 if missing).
    pub key: PathBuf,
    /// The review policy file; without one, every tier takes one approval and has no
    /// deadline.
    #[serde(default)]
    pub policy: Option<PathBuf>,
    /// The URL clients reach the gateway at (`https://approvals.example.com/`), which the
    /// agent card names. Required unless the gateway listens on loopback, where it defaults
    /// to `http://` and the bound address. Never taken from a request's `Host` header.
    #[serde(default)]
    pub public_url: Option<String>,
    /// Witnesses (c2sp.org/tlog-witness) to submit every checkpoint to, as `URL=VKEY`.
    #[serde(default)]
    pub witnesses: Vec<String>,
    /// Where to serve Prometheus metrics (`/metrics`), apart from the API; none: not served.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// The certificate chain and key to serve HTTPS with; none: plain HTTP (loopback, or
    /// behind a proxy that terminates TLS).
    #[serde(default)]
    pub tls: Option<tls::TlsFiles>,
}

/// The gateway's public base URL, ending in `/`: the configured one, or on loopback the
/// bound address (`https://` when the gateway serves TLS itself). An unusable URL, or none off
/// loopback, is a configuration error.
pub fn public_base_url(
    configured: Option<&str>,
    bound: SocketAddr,
    tls: bool,
) -> anyhow::Result<String> {
    let Some(text) = configured else {
        anyhow::ensure!(
            bound.ip().is_loopback(),
            "the gateway listens on {bound}, beyond loopback: set public_url \
             (--public-url, COUNTERSIGN_PUBLIC_URL) to the URL clients reach it at, which \
             its agent card names"
        );
        let scheme = if tls { "https" } else { "http" };
        return Ok(format!("{scheme}://{bound}/"));
    };
    let url = url::Url::parse(text).with_context(|| format!("public_url {text:?} is not a URL"))?;
    anyhow::ensure!(
        matches!(url.scheme(), "https" | "http")
            && url.host().is_some()
            && url.username().is_empty()
            && url.password().is_none()
            && url.query().is_none()
            && url.fragment().is_none(),
        "public_url {text:?} must be an http(s) URL with a host and no credentials, query or \
         fragment"
    );
    let mut base = url.to_string();
    if !base.ends_with('/') {
        base.push('/');
    }
    Ok(base)
}

/// A running gateway.
pub struct RunningGateway {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it serves metrics, if it does.
    pub metrics_addr: Option<SocketAddr>,
    state: AppState,
    shutdown: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl RunningGateway {
    /// Runs every background worker once, now, by the gateway's clock: expiry, overdue
    /// escalation, due deliveries, audit sealing. Tests call it after moving a pinned clock
    /// instead of waiting for a worker's tick.
    pub async fn run_workers_once(&self) {
        workers::run_once(&self.state).await;
    }

    /// Stops accepting, finishes in-flight requests, stops the workers.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.shutdown.send(true);
        self.task.await.context("gateway task panicked")?
    }

    /// Waits until the gateway stops by itself (it does not, unless it fails).
    pub async fn wait(self) -> anyhow::Result<()> {
        self.task.await.context("gateway task panicked")?
    }

    /// Reads the trust store file again, as `SIGHUP` and a change to the file do: `Ok(true)`
    /// when who is trusted changed. On an error the trust in force stays.
    pub fn reload_trust(&self) -> anyhow::Result<bool> {
        self.state.trust.reload()
    }

    /// The trust store in force, for a signal handler to reload.
    pub fn trust(&self) -> Arc<trust::Trust> {
        self.state.trust.clone()
    }

    /// Reads the review policy file again, as `SIGHUP` does: `Ok(true)` when the policy
    /// changed. On an error the policy in force stays.
    pub fn reload_policy(&self) -> anyhow::Result<bool> {
        self.state.policy.reload()
    }

    /// The review policy in force, for a signal handler to reload.
    pub fn policy(&self) -> Arc<policy::ReviewPolicy> {
        self.state.policy.clone()
    }

    /// A handle that triggers shutdown.
    pub fn shutdown_handle(&self) -> watch::Sender<bool> {
        self.shutdown.clone()
    }

    /// Starts draining: `/readyz` answers 503 so load balancers stop sending new work, while
    /// everything keeps being served until shutdown.
    pub fn drain(&self) {
        self.state.health.drain();
    }

    /// A handle that starts draining (what a SIGTERM handler holds).
    pub fn drain_handle(&self) -> Arc<health::Health> {
        self.state.health.clone()
    }
}

/// Loads or creates the gateway's signing key.
pub fn load_or_create_key(path: &Path) -> anyhow::Result<SigningKeyPair> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    if path.exists() {
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read gateway key {}", path.display()))?;
        return SigningKeyPair::from_pkcs8_pem(&pem)
            .with_context(|| format!("gateway key {}", path.display()));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let key = SigningKeyPair::generate();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(key.to_pkcs8_pem()?.as_bytes())?;
    Ok(key)
}

/// Loads and checks the policy file; a mistake names its place and the gateway does not start.
pub fn load_policy(path: Option<&Path>) -> anyhow::Result<Policy> {
    let Some(path) = path else {
        return Ok(Policy::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read policy {}", path.display()))?;
    Policy::from_toml(&text).map_err(|e| anyhow::anyhow!("policy {}: {e}", path.display()))
}

/// Opens storage, binds the listener and starts serving and the workers.
pub async fn start(
    config: &GatewayConfig,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<RunningGateway> {
    // First: a certificate or key that does not load stops the start before anything else.
    let tls = config.tls.as_ref().map(tls::server_config).transpose()?;
    let store = Store::open(&config.database)
        .await
        .with_context(|| format!("cannot open database {}", config.database.display()))?;
    let trust = trust::Trust::load(&config.trust)?;
    let policy = Arc::new(policy::ReviewPolicy::load(config.policy.as_deref())?);
    let gateway_key = load_or_create_key(&config.key)?;
    let witnesses = config
        .witnesses
        .iter()
        .map(|w| witnesses::WitnessEndpoint::parse(w))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (events, _) = broadcast::channel(4096);
    let (shutdown, mut stop) = watch::channel(false);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    let public_url = public_base_url(config.public_url.as_deref(), addr, tls.is_some())?;
    let card = a2a::PublishedCard::new(&public_url, clock.timestamp());
    let request_states = mcp::StateSeal::new(&gateway_key)
        .map_err(|_| anyhow::anyhow!("cannot derive the MCP requestState key"))?;
    let audit = audit::AuditLog::open(
        &store,
        &log_key_path(&config.key),
        &log_origin(&config.audience),
    )
    .await
    .context("audit log")?;
    let state = AppState {
        audit: Arc::new(audit),
        policy,
        store,
        trust: Arc::new(trust),
        clock,
        audience: config.audience.clone(),
        events,
        gateway_key: Arc::new(gateway_key),
        wake_workers: Arc::new(Notify::new()),
        delivering: Arc::default(),
        stopping: shutdown.subscribe(),
        public_url: public_url.into(),
        request_states: Arc::new(request_states),
        card: Arc::new(card),
        witnesses: Arc::new(witnesses),
        health: Arc::default(),
    };
    let mut workers = workers::spawn(state.clone(), shutdown.subscribe());
    workers.push(tokio::spawn(trust::watch(
        state.trust.clone(),
        shutdown.subscribe(),
    )));
    state
        .health
        .watch_workers(workers.iter().map(tokio::task::JoinHandle::abort_handle));
    telemetry::install();
    let metrics = match config.metrics_listen {
        None => None,
        Some(at) => {
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("cannot listen for metrics on {at}"))?;
            let addr = listener.local_addr()?;
            let app = Router::new()
                .route("/metrics", get(telemetry::scrape))
                .with_state(state.clone());
            let mut stop = shutdown.subscribe();
            let task = tokio::spawn(async move {
                let served = axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|stopped| *stopped).await;
                    })
                    .await;
                if let Err(e) = served {
                    tracing::error!(error = %e, "metrics server failed");
                }
            });
            tracing::info!(%addr, "metrics listening");
            Some((addr, task))
        }
    };
    let metrics_addr = metrics.as_ref().map(|(addr, _)| *addr);
    let app = router(state.clone());
    let serving_tls = tls.is_some();
    // One serve loop for both: TLS connections come out of their listener handshaken, and are
    // then served, drained and stopped as plain ones.
    let listener = match tls {
        None => ApiListener::Plain(listener),
        Some(tls) => ApiListener::Tls(tls::TlsListener::new(listener, addr, tls)),
    };
    let task = tokio::spawn(async move {
        let stopped = async move {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        match listener {
            ApiListener::Plain(listener) => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await
            }
            ApiListener::Tls(listener) => {
                axum::serve(listener, app)
                    .with_graceful_shutdown(stopped)
                    .await
            }
        }
        .context("server failed")?;
        if let Some((_, task)) = metrics {
            let _ = task.await;
        }
        for worker in workers {
            let _ = worker.await;
        }
        Ok(())
    });
    let policy = state.policy.current();
    tracing::info!(%addr, tls = serving_tls, audience = %config.audience, policy = %format!("{} v{}", policy.id, policy.version), "gateway listening");
    Ok(RunningGateway {
        addr,
        metrics_addr,
        state,
        shutdown,
        task,
    })
}

/// Where the API is served from: plain TCP, or TLS over it.
enum ApiListener {
    Plain(tokio::net::TcpListener),
    Tls(tls::TlsListener),
}

/// The HTTP surface.
pub fn router(state: AppState) -> Router {
    let mcp = mcp::routes(&state);
    Router::new()
        .route("/v1/requests", post(intake::submit))
        .route("/v1/requests/{id}", get(consoles::request_detail))
        .route(
            "/v1/requests/{id}/decision",
            get(decisions::wait_for_decision),
        )
        .route("/v1/requests/{id}/decisions", post(decisions::decide))
        .route("/v1/requests/{id}/receipt", post(decisions::receipt))
        .route("/v1/requests/{id}/withdraw", post(decisions::withdraw))
        .route("/v1/requests/{id}/notes", post(notes::post_note))
        .route("/v1/requests/{id}/escalate", post(supervision::escalate))
        .route("/v1/requests/{id}/assign", post(supervision::assign))
        .route("/v1/requests/{id}/shown", post(supervision::shown))
        .route("/v1/queue", get(consoles::queue))
        .route("/v1/events", get(consoles::events))
        .route("/v1/trust", get(consoles::trust))
        .route("/v1/history", get(consoles::history))
        .route("/v1/metrics", get(metrics::dashboard))
        .route("/v1/me", get(consoles::me))
        .route("/v1/reviewers", get(consoles::reviewers))
        .route("/v1/export/records", get(export::export_records))
        .route("/v1/export/bundle", get(bundle::export_bundle))
        .route("/.well-known/jwks.json", get(jwks))
        .route(
            "/.well-known/countersign-webhook-keys.json",
            get(webhook_keys),
        )
        .route("/.well-known/agent-card.json", get(a2a::card))
        .route("/", post(a2a::rpc))
        .route("/v1/audit/checkpoint", get(tlog::checkpoint))
        .route("/v1/audit/tile/{*rest}", get(tlog::tile))
        .route("/v1/audit/consistency", get(tlog::consistency))
        .route("/v1/audit/log-key", get(audit_log_key))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .merge(a2a::routes())
        .merge(mcp)
        .fallback(|uri: Uri| async move { no_such_route(&uri, false) })
        .method_not_allowed_fallback(|uri: Uri| async move { no_such_route(&uri, true) })
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(telemetry::track))
        .with_state(state)
}

/// A path nobody serves, or a method a path does not take, in the envelope of the API the
/// path belongs to.
fn no_such_route(uri: &Uri, method_exists: bool) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    if a2a::is_rest_binding(uri.path()) {
        return a2a::no_such_route(method_exists);
    }
    if method_exists {
        Failure::new(
            ErrorCode::MethodNotAllowed,
            "method not allowed on this route",
        )
    } else {
        Failure::new(ErrorCode::NotFound, "no such route")
    }
    .into_response()
}

/// A JWK with the members a JWKS consumer expects.
#[derive(Serialize)]
struct PublishedKey {
    #[serde(flatten)]
    jwk: Jwk,
    #[serde(rename = "use")]
    key_use: &'static str,
    alg: &'static str,
}

/// The log key sits next to the gateway's webhook key.
pub fn log_key_path(gateway_key: &Path) -> PathBuf {
    gateway_key.with_file_name("log-key.pem")
}

/// The audit log's origin, from the gateway's audience.
pub fn log_origin(audience: &str) -> String {
    format!("{audience}/audit")
}

/// The verifier key for checkpoints (`name+keyid+base64`).
async fn audit_log_key(axum::extract::State(state): axum::extract::State<AppState>) -> String {
    format!("{}\n", state.audit.verifier())
}

/// The keys decisions are signed with: every enrolled reviewer's, and nothing else, so a
/// decision verifies only if a person signed it.
async fn jwks(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> error::Result<axum::Json<serde_json::Value>> {
    let keys: Vec<PublishedKey> = state
        .store
        .reviewer_keys()
        .await?
        .into_iter()
        .map(|jwk| PublishedKey {
            jwk,
            key_use: "sig",
            alg: "EdDSA",
        })
        .collect();
    Ok(axum::Json(serde_json::json!({ "keys": keys })))
}

/// The gateway's own key, which signs webhooks and A2A pushes. Published apart from the
/// decision keys: in one set, a reviewer's key would verify a forged webhook and the
/// gateway's key a decision nobody made.
async fn webhook_keys(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::Json<serde_json::Value> {
    let key = PublishedKey {
        jwk: state.gateway_key.public().to_jwk(),
        key_use: "sig",
        alg: "EdDSA",
    };
    axum::Json(serde_json::json!({ "keys": [key] }))
}
