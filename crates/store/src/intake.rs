//! Group commit for intake.
//!
//! Every statement costs a round trip to SQLite's worker thread (about 90 µs here), and there
//! is one writer, so admitting requests one transaction at a time capped intake near 1,700/s.
//! Concurrent admissions are therefore queued to one task that admits a whole batch in one
//! transaction with a fixed handful of multi-row statements. Each request still gets its own
//! idempotency check, replay detection (against storage and against earlier requests of the
//! same batch) and routing decision, in arrival order.

use std::collections::{HashMap, HashSet};

use countersign_wire::api::RequestState;
use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use crate::error::{Result, StoreError, corrupt};
use crate::rows::Column as _;
use crate::rows::request_from_row;
use crate::{AdmitOutcome, NewRequest, StoredRequest};
use countersign_review::{Admission, Replay};

/// Most admissions committed together.
const MAX_BATCH: usize = 64;

pub(crate) type Decide = Box<dyn FnOnce(&[Replay]) -> Admission + Send>;

pub(crate) struct Job {
    pub(crate) new: NewRequest,
    pub(crate) decide: Decide,
    pub(crate) reply: oneshot::Sender<Result<AdmitOutcome>>,
}

pub(crate) fn spawn(pool: SqlitePool) -> mpsc::Sender<Job> {
    let (tx, mut rx) = mpsc::channel::<Job>(1024);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                }
            }
            // A request id twice in one batch: the repeat waits for the next round, where it
            // sees the first one stored and gets the duplicate/conflict answer.
            while !jobs.is_empty() {
                let mut ids = HashSet::new();
                let (round, later): (Vec<Job>, Vec<Job>) = jobs
                    .into_iter()
                    .partition(|job| ids.insert(job.new.request_id.clone()));
                admit_round(&pool, round).await;
                jobs = later;
            }
        }
    });
    tx
}

async fn admit_round(pool: &SqlitePool, jobs: Vec<Job>) {
    let mut replies = Vec::with_capacity(jobs.len());
    let mut work = Vec::with_capacity(jobs.len());
    for job in jobs {
        replies.push(job.reply);
        work.push((job.new, job.decide));
    }
    match admit_all(pool, work).await {
        Ok(outcomes) => {
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(e) => {
            let message = e.to_string();
            for reply in replies {
                let _ = reply.send(Err(StoreError::Batch(message.clone())));
            }
        }
    }
}

fn placeholders(rows: usize, columns: usize) -> String {
    let row = format!("({})", vec!["?"; columns].join(", "));
    vec![row; rows].join(", ")
}

async fn admit_all(
    pool: &SqlitePool,
    work: Vec<(NewRequest, Decide)>,
) -> Result<Vec<AdmitOutcome>> {
    let mut tx = pool.begin().await?;

    let ids: Vec<&str> = work
        .iter()
        .map(|(new, _)| new.request_id.as_str())
        .collect();
    let sql = format!(
        "SELECT * FROM requests WHERE request_id IN ({})",
        vec!["?"; ids.len()].join(", ")
    );
    let mut query = sqlx::query(&sql);
    for id in &ids {
        query = query.bind(*id);
    }
    let mut existing: HashMap<String, StoredRequest> = HashMap::new();
    for row in query.fetch_all(&mut *tx).await? {
        let stored = request_from_row(&row)?;
        existing.insert(stored.request_id.clone(), stored);
    }

    let jtis: Vec<&str> = work
        .iter()
        .filter(|(new, _)| !existing.contains_key(&new.request_id))
        .flat_map(|(new, _)| new.hop_jtis.iter().map(|(_, jti)| jti.as_str()))
        .collect();
    let mut seen: HashMap<String, String> = HashMap::new();
    for chunk in jtis.chunks(500) {
        let sql = format!(
            "SELECT jti, request_id FROM hop_jtis WHERE jti IN ({})",
            vec!["?"; chunk.len()].join(", ")
        );
        let mut query = sqlx::query(&sql);
        for jti in chunk {
            query = query.bind(*jti);
        }
        for row in query.fetch_all(&mut *tx).await? {
            seen.insert(row.col("jti")?, row.col("request_id")?);
        }
    }

    // Decide each request in arrival order; earlier requests of this batch count as seen.
    enum Slot {
        Existing(AdmitOutcome),
        New(NewRequest, Admission),
    }
    let mut slots = Vec::with_capacity(work.len());
    for (new, decide) in work {
        if let Some(stored) = existing.remove(&new.request_id) {
            // A request the verifier could not digest (refused) is told apart by its exact
            // bytes, so another body under its id is a conflict, not a duplicate. Another
            // workflow's request is never a duplicate: it is not this caller's to see.
            let same_body = if stored.request_digest.is_empty() || new.request_digest.is_empty() {
                stored.body == new.body
            } else {
                stored.request_digest == new.request_digest
            };
            let same = same_body && stored.workflow == new.workflow;
            let outcome = if same {
                AdmitOutcome::Duplicate(stored)
            } else {
                AdmitOutcome::Conflict(stored)
            };
            slots.push(Slot::Existing(outcome));
            continue;
        }
        let mut replays: Vec<Replay> = new
            .hop_jtis
            .iter()
            .filter_map(|(hop, jti)| {
                seen.get(jti).map(|first| Replay {
                    hop: *hop,
                    jti: jti.clone(),
                    first_seen_in: first.clone(),
                })
            })
            .collect();
        replays.sort_by_key(|r| r.hop);
        let admission = decide(&replays);
        if admission.state != RequestState::Refused {
            for (_, jti) in &new.hop_jtis {
                seen.entry(jti.clone())
                    .or_insert_with(|| new.request_id.clone());
            }
        }
        slots.push(Slot::New(new, admission));
    }

    let fresh: Vec<(&NewRequest, &Admission)> = slots
        .iter()
        .filter_map(|slot| match slot {
            Slot::New(new, admission) => Some((new, admission)),
            Slot::Existing(_) => None,
        })
        .collect();
    let mut event_ids: HashMap<String, i64> = HashMap::new();
    if !fresh.is_empty() {
        let sql = format!(
            "INSERT INTO requests (request_id, workflow, state, tier, txn, expires_at, received_at, request_digest, body, report, principal, parties, callback_url) VALUES {}",
            placeholders(fresh.len(), 13)
        );
        let mut query = sqlx::query(&sql);
        for (new, admission) in &fresh {
            query = query
                .bind(&new.request_id)
                .bind(&new.workflow)
                .bind(admission.state.as_str())
                .bind(new.tier.as_str())
                .bind(&new.txn)
                .bind(new.expires_at)
                .bind(new.received_at)
                .bind(&new.request_digest)
                .bind(&new.body)
                .bind(serde_json::to_string(&admission.report).map_err(|e| corrupt("report", e))?)
                .bind(&new.principal)
                .bind(serde_json::to_string(&new.parties).map_err(|e| corrupt("parties", e))?)
                .bind(&new.callback_url);
        }
        query.execute(&mut *tx).await?;

        let hop_rows: Vec<(&str, &str, u32)> = fresh
            .iter()
            .filter(|(_, admission)| admission.state != RequestState::Refused)
            .flat_map(|(new, _)| {
                new.hop_jtis
                    .iter()
                    .map(|(hop, jti)| (jti.as_str(), new.request_id.as_str(), *hop))
            })
            .collect();
        for chunk in hop_rows.chunks(300) {
            let sql = format!(
                "INSERT OR IGNORE INTO hop_jtis (jti, request_id, hop) VALUES {}",
                placeholders(chunk.len(), 3)
            );
            let mut query = sqlx::query(&sql);
            for (jti, request_id, hop) in chunk {
                query = query.bind(*jti).bind(*request_id).bind(i64::from(*hop));
            }
            query.execute(&mut *tx).await?;
        }

        for (new, admission) in &fresh {
            for raise in &admission.escalations {
                crate::supervision::raise_in(&mut tx, &new.request_id, raise).await?;
            }
        }

        let sql = format!(
            "INSERT INTO events (kind, request_id, state, at, actor, detail) VALUES {} RETURNING id, request_id",
            placeholders(fresh.len(), 6)
        );
        let mut query = sqlx::query(&sql);
        for (new, admission) in &fresh {
            query = query
                .bind(admission.event.as_str())
                .bind(&new.request_id)
                .bind(admission.state.as_str())
                .bind(new.received_at)
                .bind(&new.workflow)
                .bind(arrival_detail(
                    admission.event_detail(),
                    new.trust_digest.as_deref(),
                ));
        }
        // RETURNING order is unspecified in SQLite: match rows by request id.
        for row in query.fetch_all(&mut *tx).await? {
            event_ids.insert(row.col("request_id")?, row.col("id")?);
        }
    }
    tx.commit().await?;

    slots
        .into_iter()
        .map(|slot| match slot {
            Slot::Existing(outcome) => Ok(outcome),
            Slot::New(new, admission) => {
                let id = *event_ids
                    .get(&new.request_id)
                    .ok_or_else(|| StoreError::Batch("event id missing".into()))?;
                let event = countersign_wire::api::GatewayEvent {
                    id,
                    kind: admission.event,
                    request_id: new.request_id.clone(),
                    state: admission.state,
                    at: new.received_at,
                };
                let stored = StoredRequest {
                    request_id: new.request_id,
                    workflow: new.workflow,
                    state: admission.state,
                    tier: new.tier,
                    txn: new.txn,
                    expires_at: new.expires_at,
                    received_at: new.received_at,
                    request_digest: new.request_digest,
                    body: new.body,
                    report: admission.report,
                    principal: new.principal,
                    parties: new.parties,
                    callback_url: new.callback_url,
                    assigned_to: None,
                };
                Ok(AdmitOutcome::Admitted(stored, event))
            }
        })
        .collect()
}

/// The arrival event's detail: admission's (escalations), with the trust store version the
/// chain was verified against.
fn arrival_detail(admission: Option<String>, trust: Option<&str>) -> Option<String> {
    let Some(trust) = trust else {
        return admission;
    };
    let mut detail = admission
        .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
        .filter(serde_json::Value::is_object)
        .unwrap_or_else(|| serde_json::json!({}));
    detail["trust"] = serde_json::Value::String(trust.to_owned());
    Some(detail.to_string())
}
