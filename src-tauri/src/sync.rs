//! The console's model of the queue, kept in step with the gateway's live events, and the
//! decisions signed while the gateway was unreachable.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use countersign_chain::{TrustIndex, verify_value};
use countersign_client::{ClientError, ConsoleIdentity, GatewayClient};
use countersign_review::view::chain_view;
use countersign_wire::api::{EventKind, RequestRecord, RequestState};
use countersign_wire::console::{
    CHANGED_EVENT, Connection, HistoryItem, QueueItem, RequestView, ReviewerInfo, Snapshot,
};
use countersign_wire::{Severity, Tier};
use tauri::{Emitter as _, Manager as _};

#[derive(Default)]
struct Model {
    open: BTreeMap<String, RequestRecord>,
    closed: BTreeMap<String, RequestRecord>,
    connection: Option<Connection>,
    /// Signed decisions waiting for the gateway to come back: (request id, JWS).
    outbox: Vec<(String, String)>,
}

/// Shared console state.
#[derive(Clone)]
pub(crate) struct Console {
    pub(crate) client: GatewayClient,
    pub(crate) identity: Arc<ConsoleIdentity>,
    trust: Arc<TrustIndex>,
    model: Arc<Mutex<Model>>,
    reviewer: ReviewerInfo,
    app: tauri::AppHandle,
}

fn text(record: &RequestRecord, pointer: &str) -> String {
    record
        .request
        .pointer(pointer)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned()
}

impl Console {
    pub(crate) fn new(
        client: GatewayClient,
        identity: ConsoleIdentity,
        trust: TrustIndex,
        display_name: &str,
        gateway: &str,
        mode: &str,
        app: tauri::AppHandle,
    ) -> Self {
        let public = identity.key.public();
        let reviewer = ReviewerInfo {
            identity: identity.identity.clone(),
            display_name: display_name.into(),
            key_fingerprint: public.thumbprint().to_owned(),
            public_jwk: serde_json::to_string(&public.to_jwk()).unwrap_or_default(),
            gateway: gateway.into(),
            mode: mode.into(),
        };
        Console {
            client,
            identity: Arc::new(identity),
            trust: Arc::new(trust),
            model: Arc::default(),
            reviewer,
            app,
        }
    }

    fn model(&self) -> std::sync::MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn name(&self, identity: &str) -> String {
        self.trust
            .party(identity)
            .map(|p| p.display_name.clone())
            .unwrap_or_else(|| identity.to_owned())
    }

    fn queue_item(&self, record: &RequestRecord) -> QueueItem {
        let request = &record.request;
        let mut chain = vec![self.name(&text(record, "/principal"))];
        let parties: Vec<String> = record
            .request
            .get("chain")
            .and_then(|c| c.as_array())
            .map(|hops| {
                hops.iter()
                    .filter_map(|h| h.as_str())
                    .filter_map(|h| countersign_chain::CompactJws::parse(h).ok())
                    .filter_map(|j| j.claims::<countersign_wire::HopClaims>().ok())
                    .map(|c| c.sub)
                    .collect()
            })
            .unwrap_or_default();
        chain.extend(parties.iter().map(|p| self.name(p)));
        QueueItem {
            request_id: record.request_id.clone(),
            state: record.state,
            tier: record.tier,
            summary: text(record, "/action/summary"),
            action: format!(
                "{} · {}",
                text(record, "/action/type"),
                text(record, "/action/operation")
            ),
            errors: record
                .report
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count(),
            warnings: record
                .report
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Warning)
                .count(),
            codes: record
                .report
                .findings
                .iter()
                .map(|f| f.code.to_string())
                .collect(),
            confidence: request
                .pointer("/uncertainty/confidence")
                .and_then(|v| v.as_f64())
                .unwrap_or(0.0),
            chain,
            expires_at: record.expires_at.clone(),
            irreversible: request
                .pointer("/action/impact/reversible")
                .and_then(|v| v.as_bool())
                == Some(false),
        }
    }

    /// Everything the UI renders.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let model = self.model();
        let mut queue: Vec<QueueItem> = model.open.values().map(|r| self.queue_item(r)).collect();
        // Most urgent first: tier, then time to expiry.
        queue.sort_by(|a, b| {
            b.tier
                .cmp(&a.tier)
                .then_with(|| a.expires_at.cmp(&b.expires_at))
        });
        let mut history: Vec<HistoryItem> = model
            .closed
            .values()
            .filter(|r| r.state != RequestState::Refused)
            .map(|r| HistoryItem {
                request_id: r.request_id.clone(),
                summary: text(r, "/action/summary"),
                tier: r.tier,
                state: r.state,
                decided_by: r.decision.as_ref().map(|d| d.decided_by.clone()),
                reason: r.decision.as_ref().map(|d| d.reason.clone()),
                at: r
                    .decision
                    .as_ref()
                    .map(|d| d.decided_at.clone())
                    .unwrap_or_else(|| r.expires_at.clone()),
            })
            .collect();
        history.sort_by(|a, b| b.at.cmp(&a.at));
        let refused = model
            .closed
            .values()
            .filter(|r| r.state == RequestState::Refused)
            .map(|r| self.queue_item(r))
            .collect();
        Snapshot {
            queue,
            history,
            refused,
            connection: model.connection.clone().unwrap_or(Connection::Connecting),
            reviewer: self.reviewer.clone(),
        }
    }

    /// The full view of one request, from the model or the gateway.
    pub(crate) async fn request_view(&self, request_id: &str) -> Result<RequestView, ClientError> {
        let cached = {
            let model = self.model();
            model
                .open
                .get(request_id)
                .or_else(|| model.closed.get(request_id))
                .cloned()
        };
        let record = match cached {
            Some(record) => record,
            None => self.client.request(&self.identity, request_id).await?,
        };
        // Re-verify locally for the per-hop view; the gateway's report stays authoritative.
        let verification = verify_value(&record.request, &self.trust, Utc::now());
        let (hops, _) = chain_view(&verification, &self.trust);
        let placed: Vec<u32> = hops.iter().map(|h| h.index).collect();
        let hops = hops
            .into_iter()
            .map(|mut hop| {
                hop.findings = record
                    .report
                    .findings
                    .iter()
                    .filter(|f| f.hop == Some(hop.index))
                    .cloned()
                    .collect();
                hop
            })
            .collect();
        let request_findings = record
            .report
            .findings
            .iter()
            .filter(|f| f.hop.is_none_or(|h| !placed.contains(&h)))
            .cloned()
            .collect();
        Ok(RequestView {
            record,
            hops,
            request_findings,
        })
    }

    pub(crate) fn queue_decision(&self, request_id: &str, jws: String) {
        self.model().outbox.push((request_id.to_owned(), jws));
    }

    fn set_connection(&self, connection: Connection) {
        self.model().connection = Some(connection);
        self.changed();
    }

    fn store(&self, record: RequestRecord) {
        let mut model = self.model();
        model.open.remove(&record.request_id);
        model.closed.remove(&record.request_id);
        if record.state.is_open() {
            model.open.insert(record.request_id.clone(), record);
        } else {
            model.closed.insert(record.request_id.clone(), record);
        }
    }

    pub(crate) fn changed(&self) {
        let pending = self.model().open.len();
        if let Some(window) = self.app.get_webview_window("main") {
            let _ = window.set_title(&format!("Countersign — {pending} pending"));
        }
        let _ = self.app.emit(CHANGED_EVENT, ());
    }

    async fn flush_outbox(&self) {
        let queued = std::mem::take(&mut self.model().outbox);
        for (request_id, jws) in queued {
            match self.client.decide(&self.identity, &request_id, &jws).await {
                Err(e) if e.is_unreachable() => {
                    self.model().outbox.push((request_id, jws));
                    continue;
                }
                Err(e) => {
                    tracing::info!(%request_id, error = %e, "queued decision was not accepted")
                }
                Ok(_) => tracing::info!(%request_id, "queued decision delivered"),
            }
            if let Ok(record) = self.client.request(&self.identity, &request_id).await {
                self.store(record);
            }
        }
    }
}

/// Follows the gateway for as long as the app runs, reconnecting after any failure.
pub(crate) async fn run(console: Console, app: tauri::AppHandle) {
    loop {
        match follow(&console, &app).await {
            Ok(()) => {}
            Err(e) => console.set_connection(Connection::Offline(e.to_string())),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn follow(console: &Console, app: &tauri::AppHandle) -> Result<(), ClientError> {
    let snapshot = console.client.queue(&console.identity).await?;
    let mut events = console
        .client
        .events(&console.identity, snapshot.last_event_id)
        .await?;
    {
        let mut model = console.model();
        model.open = snapshot
            .requests
            .into_iter()
            .map(|r| (r.request_id.clone(), r))
            .collect();
    }
    console.flush_outbox().await;
    console.set_connection(Connection::Online);
    while let Some(event) = events.next().await {
        let event = event?;
        let record = console
            .client
            .request(&console.identity, &event.request_id)
            .await?;
        let notify = matches!(
            event.kind,
            EventKind::RequestAdded | EventKind::RequestEscalated
        ) && record.tier >= Tier::High;
        if notify {
            crate::notify::high_impact(
                app,
                &record.request_id,
                record.tier.as_str(),
                &text(&record, "/action/summary"),
            );
        }
        console.store(record);
        console.changed();
    }
    Err(ClientError::Unreachable("the event stream ended".into()))
}
