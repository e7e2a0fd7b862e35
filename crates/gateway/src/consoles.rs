//! What consoles read: the queue snapshot, one request, and the live event stream.

use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use countersign_review::escalation::{RaisedEscalation, summarize};
use countersign_store::StoredRequest;
use countersign_wire::api::{
    DecisionRecord, ErrorCode, GatewayEvent, History, Me, QueueSnapshot, RequestRecord,
    RequesterNote,
};
use countersign_wire::{DecisionKind, TrustStore};
use futures_util::Stream;
use serde::Deserialize;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::AppState;
use crate::auth::Console;
use crate::error::{Failure, Result};
use crate::extract::{PathParams, QueryParams};

/// What a record needs besides the stored request: decisions so far, open escalations and
/// the requester's notes.
#[derive(Default)]
struct Context {
    decisions: Vec<DecisionRecord>,
    escalations: Vec<RaisedEscalation>,
    notes: Vec<RequesterNote>,
}

async fn context_of(state: &AppState, stored: &StoredRequest) -> Result<Context> {
    Ok(Context {
        decisions: state.store.decisions(&stored.request_id).await?,
        escalations: if stored.state.is_open() {
            state.store.escalations_of(&stored.request_id).await?
        } else {
            Vec::new()
        },
        notes: state.store.requester_notes(&stored.request_id).await?,
    })
}

fn record(state: &AppState, stored: StoredRequest, context: Context) -> Result<RequestRecord> {
    // One version of the policy for the whole record, even across a reload.
    let policy = state.policy.current();
    let rules = policy.tier(stored.tier);
    let mut decisions = context.decisions;
    let decision = if stored.state.is_open() {
        None
    } else {
        decisions.pop()
    };
    let due_at = rules.due_at(stored.received_at);
    let request = serde_json::from_str(&stored.body).map_err(Failure::internal)?;
    let blocked_by = rules.blocking_codes(&stored.report.findings);
    Ok(RequestRecord {
        request_id: stored.request_id,
        txn: stored.txn,
        state: stored.state,
        tier: stored.tier,
        expires_at: stored.expires_at,
        received_at: stored.received_at,
        request,
        report: stored.report,
        decision,
        approvals: decisions
            .into_iter()
            .filter(|d| d.decision == DecisionKind::Approve)
            .collect(),
        approvals_needed: rules.approvals,
        escalation: summarize(context.escalations),
        assigned_to: stored.assigned_to,
        due_at,
        policy: Some(policy.reference()),
        blocked_by,
        notes: context.notes,
    })
}

pub(crate) async fn queue(
    State(state): State<AppState>,
    Console(_): Console,
) -> Result<Json<QueueSnapshot>> {
    // Read the event id first: anything after it is delivered by /v1/events, so a console
    // that subscribes from here misses nothing (it may see an event twice, never zero times).
    let last_event_id = state.store.last_event_id().await?;
    let mut approvals = state.store.open_approvals().await?;
    let mut escalations = state.store.open_escalations().await?;
    let mut notes = state.store.open_requester_notes().await?;
    let mut requests = Vec::new();
    for stored in state.store.open_requests().await? {
        let context = Context {
            decisions: approvals.remove(&stored.request_id).unwrap_or_default(),
            escalations: escalations.remove(&stored.request_id).unwrap_or_default(),
            notes: notes.remove(&stored.request_id).unwrap_or_default(),
        };
        requests.push(record(&state, stored, context)?);
    }
    Ok(Json(QueueSnapshot {
        requests,
        last_event_id,
    }))
}

#[derive(Deserialize)]
pub(crate) struct HistoryQuery {
    limit: Option<u32>,
}

/// Most requests a history page returns.
const MAX_HISTORY: u32 = 1000;

/// Recently closed requests (decided, expired, withdrawn, refused), newest first: a console
/// starting fresh shows history and refusals that happened before it subscribed.
pub(crate) async fn history(
    State(state): State<AppState>,
    Console(_): Console,
    QueryParams(query): QueryParams<HistoryQuery>,
) -> Result<Json<History>> {
    let limit = query.limit.unwrap_or(200).clamp(1, MAX_HISTORY);
    let mut requests = Vec::new();
    for stored in state.store.recent_closed_requests(limit).await? {
        let context = context_of(&state, &stored).await?;
        requests.push(record(&state, stored, context)?);
    }
    Ok(Json(History { requests }))
}

/// Who the calling console is: the UI shows supervisor and auditor tools by role.
pub(crate) async fn me(Console(caller): Console) -> Json<Me> {
    Json(Me {
        identity: caller.identity,
        display_name: caller.display_name,
        roles: caller.roles.iter().copied().collect(),
        tiers: caller.tiers.into_iter().collect(),
    })
}

/// `GET /v1/reviewers` (supervisors): the enrolled people a request can be assigned to.
pub(crate) async fn reviewers(
    State(state): State<AppState>,
    Console(caller): Console,
) -> Result<Json<Vec<Me>>> {
    if !caller.has(countersign_review::Role::Supervisor) {
        return Err(Failure::new(
            ErrorCode::Forbidden,
            "the reviewer directory is for supervisors",
        ));
    }
    Ok(Json(
        state
            .store
            .reviewers()
            .await?
            .into_iter()
            .map(|r| Me {
                identity: r.identity,
                display_name: r.display_name,
                roles: r.roles,
                tiers: r.tiers,
            })
            .collect(),
    ))
}

/// The parties and keys this gateway trusts: consoles show their names and re-verify chains
/// locally with the same keys the gateway used.
pub(crate) async fn trust(State(state): State<AppState>, Console(_): Console) -> Json<TrustStore> {
    Json(state.trust.current().store.clone())
}

pub(crate) async fn request_detail(
    State(state): State<AppState>,
    Console(_): Console,
    PathParams(id): PathParams<String>,
) -> Result<Json<RequestRecord>> {
    Ok(Json(load_record(&state, &id).await?))
}

/// One request as consoles see it.
pub(crate) async fn load_record(state: &AppState, id: &str) -> Result<RequestRecord> {
    let stored = state
        .store
        .request(id)
        .await?
        .ok_or_else(|| Failure::new(ErrorCode::NotFound, format!("no request {id}")))?;
    let context = context_of(state, &stored).await?;
    record(state, stored, context)
}

#[derive(Deserialize)]
pub(crate) struct EventsQuery {
    after: Option<i64>,
}

fn sse_event(event: &GatewayEvent) -> Event {
    Event::default()
        .id(event.id.to_string())
        .event(event.kind.as_str())
        .json_data(event)
        .unwrap_or_else(|_| Event::default().comment("unserializable event"))
}

pub(crate) async fn events(
    State(state): State<AppState>,
    Console(_): Console,
    headers: HeaderMap,
    QueryParams(query): QueryParams<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let resume_from = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .or(query.after)
        .unwrap_or(0);
    // Subscribe before reading the backlog, then skip what the backlog already sent.
    let mut live = state.events.subscribe();
    let (tx, rx) = mpsc::channel::<Result<Event, Infallible>>(256);
    let mut stopping = state.stopping.clone();
    tokio::spawn(async move {
        let _subscriber = crate::telemetry::SseSubscriber::new();
        let mut sent = resume_from;
        let mut catch_up = true;
        loop {
            if catch_up {
                loop {
                    let batch = match state.store.events_after(sent, 500).await {
                        Ok(batch) => batch,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot read events for a subscriber");
                            return;
                        }
                    };
                    if batch.is_empty() {
                        break;
                    }
                    for event in &batch {
                        if tx.send(Ok(sse_event(event))).await.is_err() {
                            return;
                        }
                        sent = event.id;
                    }
                }
                catch_up = false;
            }
            let received = tokio::select! {
                received = live.recv() => received,
                // Ending the stream lets a graceful shutdown finish; consoles reconnect.
                _ = stopping.wait_for(|stopped| *stopped) => return,
            };
            match received {
                Ok(event) if event.id <= sent => {}
                Ok(event) if event.id == sent + 1 => {
                    if tx.send(Ok(sse_event(&event))).await.is_err() {
                        return;
                    }
                    sent = event.id;
                }
                // A gap (events committed out of broadcast order) or a lag: read from storage.
                Ok(_) | Err(RecvError::Lagged(_)) => catch_up = true,
                Err(RecvError::Closed) => return,
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
