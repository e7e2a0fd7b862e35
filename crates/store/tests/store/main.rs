//! Storage against a real SQLite file: migrations, idempotent intake, first decision wins.

use countersign_review::{Admission, Replay, Tally};
use countersign_store::{AdmitOutcome, DecisionWrite, NewDecision, NewRequest, NoteWrite, Store};
use countersign_wire::api::{EventKind, RequestState, RequesterNote};
use countersign_wire::{DecisionKind, Tier, Timestamp, Verdict, VerificationReport};

mod console_cache;
mod supervision;

/// A time written as the tests read it.
pub(crate) fn at(text: &str) -> Timestamp {
    text.parse().expect("a test time")
}

pub(crate) fn report() -> VerificationReport {
    VerificationReport {
        verdict: Verdict::Valid,
        findings: vec![],
        request_digest: Some("sha256:1".into()),
        chain_digest: None,
        action_digest: None,
    }
}

fn new_request(id: &str, digest: &str, jtis: &[&str]) -> NewRequest {
    NewRequest {
        request_id: id.into(),
        workflow: "wf".into(),
        tier: Tier::High,
        txn: "t".into(),
        expires_at: at("2033-05-18T03:33:20Z"),
        received_at: at("2026-11-22T09:00:00Z"),
        request_digest: digest.into(),
        body: "{}".into(),
        principal: "user:p".into(),
        parties: vec!["user:p".into()],
        callback_url: Some("http://127.0.0.1:1/hook".into()),
        hop_jtis: jtis
            .iter()
            .enumerate()
            .map(|(i, j)| (i as u32, j.to_string()))
            .collect(),
        trust_digest: None,
    }
}

fn pending(_: &[Replay]) -> Admission {
    Admission {
        state: RequestState::Pending,
        report: report(),
        event: EventKind::RequestAdded,
        escalations: Vec::new(),
    }
}

fn settles(_: &[String]) -> Tally {
    Tally::Settles
}

#[tokio::test]
async fn migrations_apply_to_a_new_file_and_reopening_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("db.sqlite");
    let store = Store::open(&path).await.unwrap();
    assert_eq!(store.last_event_id().await.unwrap(), 0);
    drop(store);
    let store = Store::open(&path).await.unwrap();
    assert_eq!(store.open_requests().await.unwrap().len(), 0);
}

#[tokio::test]
async fn intake_is_idempotent_detects_conflicts_and_reports_jti_sightings() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite")).await.unwrap();
    assert!(matches!(
        store
            .admit(new_request("r1", "sha256:a", &["j0", "j1"]), pending)
            .await
            .unwrap(),
        AdmitOutcome::Admitted(..)
    ));
    assert!(matches!(
        store
            .admit(new_request("r1", "sha256:a", &["j0"]), pending)
            .await
            .unwrap(),
        AdmitOutcome::Duplicate(..)
    ));
    assert!(matches!(
        store
            .admit(new_request("r1", "sha256:b", &["j0"]), pending)
            .await
            .unwrap(),
        AdmitOutcome::Conflict(..)
    ));
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen2 = seen.clone();
    store
        .admit(
            new_request("r2", "sha256:c", &["x", "j1"]),
            move |sightings| {
                *seen2.lock().unwrap() = sightings.to_vec();
                pending(sightings)
            },
        )
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        (
            seen[0].hop,
            seen[0].jti.as_str(),
            seen[0].first_seen_in.as_str()
        ),
        (1, "j1", "r1")
    );
}

#[tokio::test]
async fn the_first_decision_wins_jtis_are_single_use_and_the_webhook_is_queued_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite")).await.unwrap();
    store
        .admit(new_request("r1", "sha256:a", &[]), pending)
        .await
        .unwrap();
    let decision = |jti: &str, kind| NewDecision {
        jti: jti.into(),
        request_id: "r1".into(),
        decision: kind,
        decided_by: "user:rita".into(),
        reason: "ok".into(),
        decided_at: at("2026-11-22T09:01:00Z"),
        jws: format!("jws-{jti}"),
        detail: None,
    };
    let now = at("2026-11-22T09:01:00Z");
    assert!(matches!(
        store
            .record_decision(decision("d1", DecisionKind::Approve), settles)
            .await
            .unwrap(),
        DecisionWrite::Recorded(_)
    ));
    assert!(matches!(
        store
            .record_decision(decision("d1", DecisionKind::Approve), settles)
            .await
            .unwrap(),
        DecisionWrite::Replayed
    ));
    assert!(matches!(
        store
            .record_decision(decision("d2", DecisionKind::Reject), settles)
            .await
            .unwrap(),
        DecisionWrite::NotOpen(RequestState::Approved)
    ));
    assert_eq!(
        store.decision("r1").await.unwrap().unwrap().decision_jws,
        "jws-d1"
    );
    let due = store.due_deliveries(now, 10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert!(due[0].body.contains("jws-d1"));
}

#[tokio::test]
async fn expiry_is_fail_closed_and_decisions_after_it_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite")).await.unwrap();
    let mut request = new_request("r1", "sha256:a", &[]);
    request.expires_at = at("2026-11-22T10:00:00Z");
    store.admit(request, pending).await.unwrap();
    let just_before = at("2026-11-22T09:59:59.999Z");
    assert!(store.expire_due(just_before).await.unwrap().is_empty());
    let expired = store.expire_due(at("2026-11-22T10:00:00Z")).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!(
        store.request("r1").await.unwrap().unwrap().state,
        RequestState::Expired
    );
    let late = NewDecision {
        jti: "d".into(),
        request_id: "r1".into(),
        decision: DecisionKind::Approve,
        decided_by: "u".into(),
        reason: "r".into(),
        decided_at: at("2026-11-22T10:00:00.001Z"),
        jws: "j".into(),
        detail: None,
    };
    assert!(matches!(
        store.record_decision(late, settles).await.unwrap(),
        DecisionWrite::NotOpen(RequestState::Expired)
    ));
}

#[tokio::test]
async fn concurrent_admissions_batch_without_losing_per_request_answers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite")).await.unwrap();
    // 200 concurrent submissions: 100 distinct ids, each sent twice (one with another body),
    // and every request reusing the jti of request 0.
    let mut tasks = Vec::new();
    for i in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let id = format!("r{}", i % 100);
            let digest = if i < 100 { "sha256:a" } else { "sha256:b" };
            let jti = format!("own-{}", i % 100);
            let outcome = store
                .admit(new_request(&id, digest, &[&jti, "shared"]), |sightings| {
                    let state = if sightings.iter().any(|s| s.jti == "shared") {
                        RequestState::Escalated
                    } else {
                        RequestState::Pending
                    };
                    Admission {
                        state,
                        report: report(),
                        event: EventKind::RequestAdded,
                        escalations: Vec::new(),
                    }
                })
                .await
                .unwrap();
            (i, outcome)
        }));
    }
    let mut admitted = 0;
    let mut first_claim = 0;
    let mut event_ids = std::collections::BTreeSet::new();
    for task in tasks {
        let (i, outcome) = task.await.unwrap();
        match outcome {
            AdmitOutcome::Admitted(stored, event) => {
                admitted += 1;
                assert!(event_ids.insert(event.id), "event ids are unique");
                assert_eq!(event.request_id, stored.request_id);
                if stored.state == RequestState::Pending {
                    first_claim += 1;
                }
            }
            AdmitOutcome::Duplicate(stored) | AdmitOutcome::Conflict(stored) => {
                assert_eq!(stored.request_id, format!("r{}", i % 100));
            }
        }
    }
    assert_eq!(admitted, 100, "each id is admitted exactly once");
    assert_eq!(
        first_claim, 1,
        "exactly one request saw the shared jti first"
    );
    assert_eq!(store.open_requests().await.unwrap().len(), 100);
    assert_eq!(store.last_event_id().await.unwrap(), 100);
}

#[tokio::test]
async fn requester_notes_are_kept_once_per_message_up_to_a_limit_and_only_while_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite")).await.unwrap();
    store
        .admit(new_request("r1", "sha256:a", &[]), pending)
        .await
        .unwrap();
    let note = |id: &str, text: &str| RequesterNote {
        message_id: id.into(),
        text: text.into(),
        at: at("2026-11-22T09:05:00Z"),
    };
    let added = store
        .add_requester_note("r1", "wf", &note("m1", "first"), 2)
        .await
        .unwrap();
    let NoteWrite::Added(event) = added else {
        panic!("not added: {added:?}");
    };
    assert_eq!(event.kind, EventKind::RequesterNote);
    assert_eq!(event.state, RequestState::Pending);
    assert!(matches!(
        store
            .add_requester_note("r1", "wf", &note("m1", "first"), 2)
            .await
            .unwrap(),
        NoteWrite::AlreadyAdded
    ));
    assert!(matches!(
        store
            .add_requester_note("r1", "wf", &note("m1", "changed"), 2)
            .await
            .unwrap(),
        NoteWrite::Conflict
    ));
    store
        .add_requester_note("r1", "wf", &note("m2", "second"), 2)
        .await
        .unwrap();
    assert!(matches!(
        store
            .add_requester_note("r1", "wf", &note("m3", "third"), 2)
            .await
            .unwrap(),
        NoteWrite::TooMany
    ));
    let texts: Vec<String> = store
        .requester_notes("r1")
        .await
        .unwrap()
        .into_iter()
        .map(|n| n.text)
        .collect();
    assert_eq!(texts, ["first", "second"]);
    assert_eq!(store.open_requester_notes().await.unwrap()["r1"].len(), 2);
    // Nothing about the request moved.
    let stored = store.request("r1").await.unwrap().unwrap();
    assert_eq!(stored.report, report());
    assert_eq!(stored.body, "{}");

    assert!(matches!(
        store
            .add_requester_note("nope", "wf", &note("m1", "x"), 2)
            .await
            .unwrap(),
        NoteWrite::NotOpen(RequestState::Refused)
    ));
    store.expire_due(at("2033-05-18T03:33:20Z")).await.unwrap();
    assert!(matches!(
        store
            .add_requester_note("r1", "wf", &note("m4", "late"), 9)
            .await
            .unwrap(),
        NoteWrite::NotOpen(RequestState::Expired)
    ));
    assert!(store.open_requester_notes().await.unwrap().is_empty());
}
