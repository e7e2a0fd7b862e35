//! The console's model of the queue, kept in step with the gateway's live events and backed by
//! the local cache, so the queue and history survive restarts and stay readable offline, and a
//! decision signed while the gateway was unreachable is kept until the gateway answers.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use countersign_chain::{TrustIndex, verify_value};
use countersign_client::{ClientError, ConsoleIdentity, GatewayClient};
use countersign_review::view::chain_view;
use countersign_review::{Clock, Role, requirements};
use countersign_store::{ConsoleCache, SignedDecision};
use countersign_wire::api::{EventKind, RequestRecord, RequestState};
use countersign_wire::console::{
    CHANGED_EVENT, Connection, DecideOutcome, DeliveryItem, DemoConnection, HistoryItem, HopView,
    QueueItem, RequestView, ReviewerInfo, Snapshot, SnoozedItem,
};
use countersign_wire::console::{KeyCustody, Mode};
use countersign_wire::{
    DecisionKind, DelegationRequest, Finding, Severity, Tier, Timestamp, TrustStore,
};
use serde::Deserialize as _;
use tauri::{Emitter as _, Manager as _};

#[derive(Default)]
struct Model {
    open: BTreeMap<String, Kept>,
    closed: BTreeMap<String, Kept>,
    connection: Option<Connection>,
    deliveries: Vec<SignedDecision>,
    /// The reviewer's roles at the gateway, once it has said.
    roles: Vec<Role>,
    /// Requests put aside ("Not now") and when each comes back.
    snoozes: BTreeMap<String, Timestamp>,
    /// Until when the reviewer paused desktop notifications (this session only: a restart
    /// notifies again).
    notifications_paused_until: Option<Timestamp>,
}

impl Model {
    fn kept(&self, request_id: &str) -> Option<&Kept> {
        self.open
            .get(request_id)
            .or_else(|| self.closed.get(request_id))
    }

    fn kept_mut(&mut self, request_id: &str) -> Option<&mut Kept> {
        match self.open.get_mut(request_id) {
            Some(kept) => Some(kept),
            None => self.closed.get_mut(request_id),
        }
    }

    fn insert(&mut self, mut kept: Kept) {
        let id = kept.record.request_id.clone();
        let old = self.open.remove(&id).or_else(|| self.closed.remove(&id));
        // A new state or escalation does not change the chain: its views stay.
        if let Some(old) = old
            && old.record.request == kept.record.request
            && old.record.report == kept.record.report
        {
            kept.views = old.views;
        }
        if kept.record.state.is_open() {
            self.open.insert(id, kept);
        } else {
            self.closed.insert(id, kept);
        }
    }

    /// The trust store changed (names, keys): rows and hop views are built again.
    fn retrust(&mut self, trust: &TrustIndex) {
        for kept in self.open.values_mut().chain(self.closed.values_mut()) {
            kept.row = queue_item(trust, &kept.record, kept.request.as_ref());
            kept.views = None;
        }
    }
}

/// A record as the console keeps it: its request read into the contract's types once, when
/// it arrives, and the queue row built from that; the chain's hop views are built by one
/// verification the first time the request is opened and reused after, a decision included.
#[derive(Clone)]
struct Kept {
    record: RequestRecord,
    /// The request as the contract's types (`None`: it does not parse as one, for example a
    /// request refused as malformed).
    request: Option<DelegationRequest>,
    row: QueueItem,
    views: Option<Views>,
}

/// What the verifier shows of a chain, hop by hop, with the gateway's findings placed.
#[derive(Clone)]
struct Views {
    hops: Vec<HopView>,
    request_findings: Vec<Finding>,
}

impl Kept {
    fn new(trust: &TrustIndex, record: RequestRecord) -> Kept {
        let request = DelegationRequest::deserialize(&record.request).ok();
        let row = queue_item(trust, &record, request.as_ref());
        Kept {
            record,
            request,
            row,
            views: None,
        }
    }

    fn summary(&self) -> String {
        self.row.summary.clone()
    }

    /// The hop views, verifying the chain the first time (at the time the gateway received
    /// it, so a hop that expired since still shows as it was judged).
    fn views(&mut self, trust: &TrustIndex) -> &Views {
        let record = &self.record;
        self.views.get_or_insert_with(|| {
            let verification = verify_value(&record.request, trust, record.received_at.datetime());
            let (hops, _) = chain_view(&verification, trust);
            let placed: Vec<u32> = hops.iter().map(|h| h.index).collect();
            let hops = hops
                .into_iter()
                .map(|mut hop| {
                    // The gateway's report is authoritative for what was found.
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
            Views {
                hops,
                request_findings,
            }
        })
    }
}

/// Where this console connects and as whom.
pub(crate) struct Session {
    pub(crate) client: GatewayClient,
    pub(crate) identity: ConsoleIdentity,
    pub(crate) display_name: String,
    pub(crate) mode: Mode,
    pub(crate) data_dir: PathBuf,
    pub(crate) custody: KeyCustody,
    pub(crate) clock: Arc<dyn Clock>,
    /// The embedded demo's connection details, for Settings.
    pub(crate) demo: Option<DemoConnection>,
}

/// Shared console state.
#[derive(Clone)]
pub(crate) struct Console {
    pub(crate) client: GatewayClient,
    pub(crate) identity: Arc<ConsoleIdentity>,
    pub(crate) reviewer: ReviewerInfo,
    pub(crate) data_dir: PathBuf,
    pub(crate) custody: KeyCustody,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) demo: Option<DemoConnection>,
    cache: ConsoleCache,
    trust: Arc<RwLock<Arc<TrustIndex>>>,
    model: Arc<Mutex<Model>>,
    /// Held while decisions are being posted, so none is sent twice at once.
    sending: Arc<tokio::sync::Mutex<()>>,
    app: tauri::AppHandle,
}

/// What the gateway's answer to a posted decision means for the reviewer; `None` when the
/// gateway could not be reached (the decision stays queued).
pub(crate) fn outcome_of<T>(result: Result<T, ClientError>) -> Option<DecideOutcome> {
    use countersign_wire::api::ErrorCode;
    Some(match result {
        Ok(_) => DecideOutcome::Delivered,
        Err(e) if e.is_unreachable() => return None,
        Err(ClientError::Api { error, .. }) => match (error.code, error.state) {
            (ErrorCode::NotPending, Some(RequestState::Expired)) => DecideOutcome::Expired,
            (ErrorCode::NotPending, Some(state)) => {
                DecideOutcome::AlreadyDecided(state.as_str().into())
            }
            (code, _) => DecideOutcome::Refused(format!("{code}: {}", error.message)),
        },
        Err(other) => DecideOutcome::Refused(other.to_string()),
    })
}

/// One queue row, from a record and its request.
fn queue_item(
    trust: &TrustIndex,
    record: &RequestRecord,
    request: Option<&DelegationRequest>,
) -> QueueItem {
    let name = |identity: &str| {
        trust
            .party(identity)
            .map(|p| p.display_name.clone())
            .unwrap_or_else(|| identity.to_owned())
    };
    let mut chain = Vec::new();
    let mut scope = String::new();
    if let Some(request) = request {
        chain.push(name(&request.principal));
        // Who each hop delegates to, for the row's chain in brief; the signatures are the
        // gateway's to check (and the request view's, on opening).
        let hops: Vec<countersign_wire::HopClaims> = request
            .chain
            .iter()
            .filter_map(|h| countersign_chain::CompactJws::parse(h).ok())
            .filter_map(|j| j.claims::<countersign_wire::HopClaims>().ok())
            .collect();
        chain.extend(hops.iter().map(|c| name(&c.sub)));
        scope = hops
            .last()
            .and_then(|hop| serde_json::to_value(&hop.authorization_details).ok())
            .and_then(|details| countersign_chain::digest::canonical_json(&details).ok())
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
    }
    let count = |severity: Severity| {
        record
            .report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    };
    QueueItem {
        request_id: record.request_id.clone(),
        state: record.state,
        tier: record.tier,
        summary: request
            .map(|r| r.action.summary.clone())
            .unwrap_or_default(),
        action: request
            .map(|r| format!("{} · {}", r.action.action_type, r.action.operation))
            .unwrap_or_default(),
        errors: count(Severity::Error),
        warnings: count(Severity::Warning),
        codes: record
            .report
            .findings
            .iter()
            .map(|f| f.code.clone())
            .collect(),
        confidence: request.map_or(0.0, |r| r.uncertainty.confidence),
        chain,
        expires_at: record.expires_at,
        irreversible: request.is_some_and(|r| !r.action.impact.reversible),
        escalation: record.escalation.clone(),
        approvals: u32::try_from(record.approvals.len()).unwrap_or(u32::MAX),
        approvals_needed: record.approvals_needed,
        principal: request.map(|r| r.principal.clone()).unwrap_or_default(),
        scope,
    }
}

impl Console {
    /// Opens the cache and restores what the reviewer last saw.
    pub(crate) async fn open(session: Session, app: tauri::AppHandle) -> anyhow::Result<Self> {
        // One cache per gateway and reviewer, so switching gateways never mixes queues.
        let cache_dir = session.data_dir.join("cache");
        std::fs::create_dir_all(&cache_dir)?;
        let name = match session.mode {
            Mode::EmbeddedDemo => "embedded-demo".to_owned(),
            Mode::Gateway => {
                use sha2::Digest as _;
                let digest = sha2::Sha256::digest(
                    format!(
                        "{}\n{}",
                        session.client.base_url(),
                        session.identity.identity
                    )
                    .as_bytes(),
                );
                digest[..8].iter().map(|b| format!("{b:02x}")).collect()
            }
        };
        let cache = ConsoleCache::open(&cache_dir.join(format!("{name}.db"))).await?;
        let trust = match cache.trust().await? {
            Some(store) => TrustIndex::from_store(&store)?,
            None => TrustIndex::from_store(&TrustStore {
                parties: BTreeMap::new(),
            })?,
        };
        let mut model = Model::default();
        for record in cache.records().await? {
            model.insert(Kept::new(&trust, record));
        }
        model.deliveries = cache.deliveries().await?;
        model.snoozes = cache.snoozes().await?.into_iter().collect();
        let public = session.identity.key.public();
        let reviewer = ReviewerInfo {
            identity: session.identity.identity.clone(),
            display_name: session.display_name,
            key_fingerprint: public.thumbprint().to_owned(),
            public_jwk: serde_json::to_string(&public.to_jwk())?,
            gateway: session.client.base_url().to_owned(),
            mode: session.mode,
            roles: Vec::new(),
        };
        Ok(Console {
            client: session.client,
            identity: Arc::new(session.identity),
            reviewer,
            data_dir: session.data_dir,
            custody: session.custody,
            clock: session.clock,
            demo: session.demo,
            cache,
            trust: Arc::new(RwLock::new(Arc::new(trust))),
            model: Arc::new(Mutex::new(model)),
            sending: Arc::default(),
            app,
        })
    }

    /// The running app (for its plugins).
    pub(crate) fn app(&self) -> &tauri::AppHandle {
        &self.app
    }

    fn model(&self) -> std::sync::MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn trust(&self) -> Arc<TrustIndex> {
        self.trust.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Everything the UI renders.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let model = self.model();
        let mut queue: Vec<QueueItem> = model
            .open
            .values()
            .filter(|k| !model.snoozes.contains_key(&k.record.request_id))
            .map(|k| k.row.clone())
            .collect();
        let mut snoozed: Vec<SnoozedItem> = model
            .snoozes
            .iter()
            .filter_map(|(id, until)| {
                let kept = model.open.get(id)?;
                Some(SnoozedItem {
                    item: kept.row.clone(),
                    until: *until,
                })
            })
            .collect();
        snoozed.sort_by_key(|s| s.until);
        // Most urgent first: tier, then time to expiry.
        queue.sort_by(|a, b| {
            b.tier
                .cmp(&a.tier)
                .then_with(|| a.expires_at.cmp(&b.expires_at))
        });
        let mut history: Vec<HistoryItem> = model
            .closed
            .values()
            .filter(|k| k.record.state != RequestState::Refused)
            .map(|k| (&k.record, k.summary()))
            .map(|(r, summary)| HistoryItem {
                request_id: r.request_id.clone(),
                summary,
                tier: r.tier,
                state: r.state,
                decided_by: r.decision.as_ref().map(|d| d.decided_by.clone()),
                reason: r.decision.as_ref().map(|d| d.reason.clone()),
                at: r.decision.as_ref().map_or(r.expires_at, |d| d.decided_at),
            })
            .collect();
        history.sort_by_key(|h| std::cmp::Reverse(h.at));
        let refused = model
            .closed
            .values()
            .filter(|k| k.record.state == RequestState::Refused)
            .map(|k| k.row.clone())
            .collect();
        let summary = |id: &str| model.kept(id).map(Kept::summary).unwrap_or_default();
        let deliveries = model
            .deliveries
            .iter()
            .map(|d| DeliveryItem {
                request_id: d.request_id.clone(),
                summary: summary(&d.request_id),
                decision: d.decision,
                signed_at: d.queued_at,
                outcome: d.outcome.clone().unwrap_or(DecideOutcome::Queued),
                settled_at: d.settled_at,
            })
            .collect();
        Snapshot {
            queue,
            history,
            refused,
            connection: model.connection.clone().unwrap_or(Connection::Connecting),
            reviewer: ReviewerInfo {
                roles: model.roles.clone(),
                ..self.reviewer.clone()
            },
            deliveries,
            snoozed,
            notifications_paused_until: model
                .notifications_paused_until
                .filter(|until| *until > self.clock.timestamp()),
        }
    }

    /// The longest pause of notifications a reviewer may ask for.
    pub(crate) const LONGEST_PAUSE_MINUTES: u32 = 24 * 60;

    /// Pauses desktop notifications for `minutes` (the queue still fills); returns when they
    /// resume.
    pub(crate) fn pause_notifications(&self, minutes: u32) -> Option<Timestamp> {
        if minutes == 0 || minutes > Self::LONGEST_PAUSE_MINUTES {
            return None;
        }
        let until = self.clock.timestamp() + chrono::Duration::minutes(i64::from(minutes));
        self.model().notifications_paused_until = Some(until);
        self.changed();
        Some(until)
    }

    pub(crate) fn resume_notifications(&self) {
        self.model().notifications_paused_until = None;
        self.changed();
    }

    /// Whether desktop notifications are paused now.
    pub(crate) fn notifications_paused(&self) -> bool {
        let now = self.clock.timestamp();
        self.model()
            .notifications_paused_until
            .is_some_and(|until| until > now)
    }

    /// "Not now": hides an open request from this console's queue until `until`. The gateway
    /// is not told: its deadlines, escalations included, keep running.
    pub(crate) async fn snooze(
        &self,
        request_id: &str,
        until: Timestamp,
    ) -> Result<(), SnoozeRefused> {
        let now = self.clock.timestamp();
        let expires_at = self
            .model()
            .open
            .get(request_id)
            .map(|k| k.record.expires_at)
            .ok_or(SnoozeRefused::NotOpen)?;
        if until <= now {
            return Err(SnoozeRefused::Past);
        }
        if until >= expires_at {
            return Err(SnoozeRefused::AfterExpiry(expires_at));
        }
        self.cache
            .snooze(request_id, until, now)
            .await
            .map_err(|e| SnoozeRefused::Cache(e.to_string()))?;
        self.model().snoozes.insert(request_id.to_owned(), until);
        self.changed();
        Ok(())
    }

    /// Brings a snoozed request back now.
    pub(crate) async fn unsnooze(&self, request_id: &str) -> Result<(), SnoozeRefused> {
        let ids = [request_id.to_owned()];
        self.cache
            .unsnooze(&ids)
            .await
            .map_err(|e| SnoozeRefused::Cache(e.to_string()))?;
        self.model().snoozes.remove(request_id);
        self.changed();
        Ok(())
    }

    /// Ends the snoozes due at the clock's now: those requests are back in the queue, and the
    /// ones still open are announced. Returns the ids that came back open.
    pub(crate) async fn wake_snoozes(&self) -> Vec<String> {
        let now = self.clock.timestamp();
        let due: Vec<String> = self
            .model()
            .snoozes
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(id, _)| id.clone())
            .collect();
        if due.is_empty() {
            return Vec::new();
        }
        if let Err(e) = self.cache.unsnooze(&due).await {
            // Kept in the model too, so a later tick tries again rather than losing it.
            tracing::warn!(error = %e, "cannot end snoozes in the local cache");
            return Vec::new();
        }
        let back: Vec<RequestRecord> = {
            let mut model = self.model();
            for id in &due {
                model.snoozes.remove(id);
            }
            due.iter()
                .filter_map(|id| model.open.get(id).map(|k| k.record.clone()))
                .collect()
        };
        let refs: Vec<&RequestRecord> = back.iter().collect();
        if !self.notifications_paused() {
            crate::notify::back_from_snooze(&self.app, &refs);
        }
        self.changed();
        back.into_iter().map(|r| r.request_id).collect()
    }

    /// The full view of one request, from the model (fetched from the gateway and kept when
    /// the console does not have it yet). The chain is verified once per record and trust
    /// store, however often it is opened or decided.
    pub(crate) async fn request_view(&self, request_id: &str) -> Result<RequestView, ClientError> {
        if let Some(view) = self.kept_view(request_id) {
            return Ok(view);
        }
        let record = self.client.request(&self.identity, request_id).await?;
        self.store(vec![record]).await;
        self.kept_view(request_id).ok_or_else(|| {
            ClientError::Protocol(format!("the gateway sent no record for {request_id}"))
        })
    }

    fn kept_view(&self, request_id: &str) -> Option<RequestView> {
        let trust = self.trust();
        let mut model = self.model();
        let roles = model.roles.clone();
        let kept = model.kept_mut(request_id)?;
        let views = kept.views(&trust).clone();
        Some(RequestView {
            requirements: requirements(&kept.record, kept.request.as_ref(), &roles),
            record: kept.record.clone(),
            hops: views.hops,
            request_findings: views.request_findings,
        })
    }

    /// Keeps a signed decision (durably, before sending), then tries to send it.
    pub(crate) async fn deliver(
        &self,
        request_id: &str,
        decision: DecisionKind,
        jws: &str,
    ) -> anyhow::Result<DecideOutcome> {
        let outcome = {
            let _sending = self.sending.lock().await;
            let id = self
                .cache
                .queue_decision(request_id, decision, jws, self.clock.timestamp())
                .await?;
            self.send(id, request_id, jws)
                .await
                .unwrap_or(DecideOutcome::Queued)
        };
        self.reload_deliveries().await;
        self.changed();
        Ok(outcome)
    }

    /// Posts one kept decision and records the answer; `None` if the gateway is unreachable.
    /// Callers hold `sending`, so a decision is never in flight twice.
    async fn send(&self, id: i64, request_id: &str, jws: &str) -> Option<DecideOutcome> {
        let result = self.client.decide(&self.identity, request_id, jws).await;
        let mut outcome = outcome_of(result)?;
        let current = self.client.request(&self.identity, request_id).await.ok();
        // An earlier attempt may have reached the gateway with its answer lost on the way
        // back: if the decision on record is this very JWS, it was delivered.
        if matches!(outcome, DecideOutcome::AlreadyDecided(_))
            && current
                .as_ref()
                .and_then(|r| r.decision.as_ref())
                .is_some_and(|d| d.decision_jws == jws)
        {
            outcome = DecideOutcome::Delivered;
        }
        // Accepted while the request stays open: one approval of a quorum.
        if outcome == DecideOutcome::Delivered
            && current.as_ref().is_some_and(|r| {
                r.state.is_open() && r.approvals.iter().any(|a| a.decision_jws == jws)
            })
        {
            outcome = DecideOutcome::Counted;
        }
        if let Err(e) = self
            .cache
            .settle(id, &outcome, self.clock.timestamp())
            .await
        {
            tracing::warn!(error = %e, "cannot record a delivery outcome");
        }
        if let Some(record) = current {
            self.store(vec![record]).await;
        }
        Some(outcome)
    }

    async fn reload_deliveries(&self) {
        match self.cache.deliveries().await {
            Ok(deliveries) => self.model().deliveries = deliveries,
            Err(e) => tracing::warn!(error = %e, "cannot read the local cache"),
        }
    }

    /// Asks for a supervisor; keeps the updated record.
    pub(crate) async fn escalate(
        &self,
        request_id: &str,
        note: &str,
    ) -> Result<RequestView, ClientError> {
        let record = self
            .client
            .escalate(&self.identity, request_id, note)
            .await?;
        self.store(vec![record]).await;
        self.changed();
        self.request_view(request_id).await
    }

    /// Hands a request to a reviewer (supervisors); keeps the updated record.
    pub(crate) async fn assign(
        &self,
        request_id: &str,
        reviewer: &str,
        note: &str,
    ) -> Result<RequestView, ClientError> {
        let record = self
            .client
            .assign(&self.identity, request_id, reviewer, note)
            .await?;
        self.store(vec![record]).await;
        self.changed();
        self.request_view(request_id).await
    }

    /// Tells the gateway the reviewer has seen a request (for the audit log); best effort,
    /// in the background.
    pub(crate) fn mark_shown(&self, request_id: &str) {
        let client = self.client.clone();
        let identity = self.identity.clone();
        let request_id = request_id.to_owned();
        tauri::async_runtime::spawn(async move {
            if let Err(e) = client.shown(&identity, &request_id).await {
                tracing::debug!(error = %e, "could not record that a request was shown");
            }
        });
    }

    /// Fetches a request's current record and keeps it; failures leave the cached copy.
    async fn refresh_record(&self, request_id: &str) {
        if let Ok(record) = self.client.request(&self.identity, request_id).await {
            self.store(vec![record]).await;
        }
    }

    fn set_connection(&self, connection: Connection) {
        self.model().connection = Some(connection);
        self.changed();
    }

    async fn store(&self, records: Vec<RequestRecord>) {
        if let Err(e) = self.cache.put(&records, self.clock.timestamp()).await {
            tracing::warn!(error = %e, "cannot write the local cache");
        }
        let trust = self.trust();
        let mut model = self.model();
        for record in records {
            model.insert(Kept::new(&trust, record));
        }
    }

    pub(crate) fn changed(&self) {
        let pending = {
            let model = self.model();
            model
                .open
                .keys()
                .filter(|id| !model.snoozes.contains_key(*id))
                .count()
        };
        if let Some(window) = self.app.get_webview_window("main") {
            let _ = window.set_title(&format!("Countersign — {pending} pending"));
        }
        let _ = self.app.emit(CHANGED_EVENT, ());
    }

    /// Sends the decisions signed while the gateway was unreachable, oldest first, and records
    /// what the gateway said about each.
    async fn flush_outbox(&self) -> Result<(), ClientError> {
        let _sending = self.sending.lock().await;
        let unsettled = self
            .cache
            .unsettled()
            .await
            .map_err(|e| ClientError::Protocol(format!("local cache: {e}")))?;
        for queued in unsettled {
            let Some(outcome) = self.send(queued.id, &queued.request_id, &queued.jws).await else {
                return Err(ClientError::Unreachable(
                    "the gateway went away while sending queued decisions".into(),
                ));
            };
            tracing::info!(request_id = %queued.request_id, ?outcome, "queued decision sent");
        }
        drop(_sending);
        self.reload_deliveries().await;
        Ok(())
    }

    /// Takes the gateway's trust store (names, keys) and keeps a copy for offline use.
    async fn refresh_trust(&self) -> Result<(), ClientError> {
        let store = self.client.trust(&self.identity).await?;
        match TrustIndex::from_store(&store) {
            Ok(index) => {
                let index = Arc::new(index);
                *self.trust.write().unwrap_or_else(|p| p.into_inner()) = index.clone();
                // Names and keys may have changed: rows and hop views are built again.
                self.model().retrust(&index);
                if let Err(e) = self.cache.put_trust(&store, self.clock.timestamp()).await {
                    tracing::warn!(error = %e, "cannot cache the trust store");
                }
            }
            Err(e) => tracing::warn!(error = %e, "the gateway's trust store is not usable"),
        }
        Ok(())
    }
}

/// Follows the gateway for as long as the app runs, reconnecting after any failure.
/// Why a snooze was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SnoozeRefused {
    #[error("the request is not open in this console's queue")]
    NotOpen,
    #[error("that time has already passed")]
    Past,
    #[error("the request expires at {0}, before it would come back: decide it or ask a supervisor")]
    AfterExpiry(Timestamp),
    #[error("cannot write the local cache: {0}")]
    Cache(String),
}

/// Ends snoozes as they fall due: once a second, on the console's clock.
pub(crate) async fn wake_snoozes(console: Console) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        console.wake_snoozes().await;
    }
}

pub(crate) async fn run(console: Console, app: tauri::AppHandle) {
    loop {
        if let Err(e) = follow(&console, &app).await {
            console.set_connection(Connection::Offline(e.to_string()));
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

async fn follow(console: &Console, app: &tauri::AppHandle) -> Result<(), ClientError> {
    console.refresh_trust().await?;
    let me = console.client.me(&console.identity).await?;
    console.model().roles = me.roles;
    // Decisions signed offline go first: they were made on what the reviewer saw then.
    console.flush_outbox().await?;
    let snapshot = console.client.queue(&console.identity).await?;
    let mut events = console
        .client
        .events(&console.identity, snapshot.last_event_id)
        .await?;
    // What left the open set while we were away was decided, expired or withdrawn: fetch it
    // so history shows how it ended.
    let left: Vec<String> = {
        let model = console.model();
        model
            .open
            .keys()
            .filter(|id| !snapshot.requests.iter().any(|r| &r.request_id == *id))
            .cloned()
            .collect()
    };
    // High-impact requests this console has never seen (it was closed, or is just starting)
    // get a notification like those arriving live.
    let unseen: Vec<&RequestRecord> = {
        let model = console.model();
        snapshot
            .requests
            .iter()
            .filter(|r| r.tier >= Tier::High)
            .filter(|r| {
                !model.open.contains_key(&r.request_id) && !model.closed.contains_key(&r.request_id)
            })
            .collect()
    };
    if !console.notifications_paused() {
        crate::notify::arrivals(app, &unseen);
    }
    console.store(snapshot.requests).await;
    // Closed before we subscribed (or while we were away): history and refusals.
    let recent = console.client.history(&console.identity, 500).await?;
    console.store(recent).await;
    for request_id in left {
        console.refresh_record(&request_id).await;
    }
    console.set_connection(Connection::Online);
    while let Some(event) = events.next().await {
        let event = event?;
        // Nothing a console shows changes with these.
        if matches!(
            event.kind,
            EventKind::RequestShown | EventKind::DecisionDelivered | EventKind::RecordsExported
        ) {
            continue;
        }
        let record = console
            .client
            .request(&console.identity, &event.request_id)
            .await?;
        // The gateway reloads its trust store without a restart: a request naming a party
        // this console does not know yet means the trust store is taken again before it is
        // verified here (only then: most requests name known parties).
        if event.kind == EventKind::RequestAdded
            && names_a_stranger(&console.trust(), &record.request)
        {
            console.refresh_trust().await?;
        }
        let seen = {
            let model = console.model();
            model.open.contains_key(&record.request_id)
                || model.closed.contains_key(&record.request_id)
        };
        // A request is announced once; an escalation is news even for a known request.
        let news = match event.kind {
            EventKind::RequestAdded => !seen,
            EventKind::RequestEscalated => true,
            _ => false,
        };
        if news
            && record.tier >= Tier::High
            && record.state.is_open()
            && !console.notifications_paused()
        {
            crate::notify::arrivals(app, &[&record]);
        }
        console.store(vec![record]).await;
        console.changed();
    }
    Err(ClientError::Unreachable("the event stream ended".into()))
}

/// Whether `request` names a party (its principal, or a hop's issuer or subject) that
/// `trust` lacks. Reads the hops' claims without verifying them: it only decides whether to
/// fetch the trust store again before the real verification.
fn names_a_stranger(trust: &TrustIndex, request: &serde_json::Value) -> bool {
    let principal = request.get("principal").and_then(serde_json::Value::as_str);
    let hops = request
        .get("chain")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(serde_json::Value::as_str)
        .filter_map(|hop| {
            countersign_chain::CompactJws::parse(hop)
                .ok()?
                .claims::<countersign_wire::HopClaims>()
                .ok()
        })
        .flat_map(|claims| [claims.iss, claims.sub]);
    principal
        .map(str::to_owned)
        .into_iter()
        .chain(hops)
        .any(|identity| trust.party(&identity).is_none())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_naming_a_party_the_console_lacks_is_spotted() {
        let demo = countersign_scenarios::demo::demo(chrono::Utc::now(), "t");
        let refund = &demo
            .scenarios
            .iter()
            .find(|s| s.slug == "refund-exception")
            .expect("the scenario")
            .request;
        let mut store = demo.trust_store();
        assert!(!names_a_stranger(
            &TrustIndex::from_store(&store).unwrap(),
            refund
        ));
        // A hop's signer only the gateway knows so far.
        store.parties.remove("agent:refund-policy");
        assert!(names_a_stranger(
            &TrustIndex::from_store(&store).unwrap(),
            refund
        ));
    }
}
