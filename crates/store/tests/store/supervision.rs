//! Escalations, quorum approvals, assignment and "shown" events, each with its event.

use countersign_review::{Raise, Tally};
use countersign_store::{DecisionWrite, NewDecision, Store, SupervisionWrite};
use countersign_wire::DecisionKind;
use countersign_wire::api::{EscalationReason, EventKind, RequestState};

use super::{at, new_request, pending};

fn approval(jti: &str, by: &str) -> NewDecision {
    NewDecision {
        jti: jti.into(),
        request_id: "r1".into(),
        decision: DecisionKind::Approve,
        decided_by: by.into(),
        reason: "ok".into(),
        decided_at: at(&format!("2026-11-22T09:0{}:00.000Z", jti.len())),
        jws: format!("jws-{jti}"),
        detail: None,
    }
}

fn raise(reason: EscalationReason, level: u32, note: &str) -> Raise {
    Raise {
        reason,
        level,
        notify: vec!["role:supervisor".into()],
        note: note.into(),
        raised_by: "user:rita".into(),
        at: at("2026-11-22T09:05:00.000Z"),
    }
}

async fn store_with_request() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("db.sqlite")).await.unwrap();
    store
        .admit(new_request("r1", "sha256:a", &[]), pending)
        .await
        .unwrap();
    (dir, store)
}

#[tokio::test]
async fn a_counted_approval_keeps_the_request_open_and_waits_for_a_second_approver() {
    let (_dir, store) = store_with_request().await;
    let write = store
        .record_decision(approval("a", "user:rita"), |earlier| {
            assert!(earlier.is_empty());
            Tally::Counts
        })
        .await
        .unwrap();
    let DecisionWrite::Counted(event) = write else {
        panic!("expected a counted approval, got {write:?}");
    };
    assert_eq!(event.kind, EventKind::ApprovalRecorded);
    assert_eq!(event.state, RequestState::Pending);
    let open = store.open_escalations().await.unwrap();
    assert_eq!(
        open["r1"][0].reason,
        EscalationReason::AwaitingSecondApprover
    );
    assert_eq!(store.open_approvals().await.unwrap()["r1"].len(), 1);

    // The tally sees the first approver, and a refusal stores nothing.
    let write = store
        .record_decision(approval("bb", "user:rita"), |earlier| {
            assert_eq!(earlier, ["user:rita".to_owned()]);
            Tally::Refused("twice".into())
        })
        .await
        .unwrap();
    assert!(matches!(write, DecisionWrite::NotCounted(ref why) if why == "twice"));
    assert_eq!(store.decisions("r1").await.unwrap().len(), 1);

    let write = store
        .record_decision(approval("ccc", "user:sam"), |_| Tally::Settles)
        .await
        .unwrap();
    assert!(matches!(write, DecisionWrite::Recorded(ref e) if e.state == RequestState::Approved));
    // Both approvals are kept, the settling one last; the queue no longer shows it.
    let decisions = store.decisions("r1").await.unwrap();
    assert_eq!(
        decisions
            .iter()
            .map(|d| d.decided_by.as_str())
            .collect::<Vec<_>>(),
        ["user:rita", "user:sam"]
    );
    assert_eq!(
        store.decision("r1").await.unwrap().unwrap().decided_by,
        "user:sam"
    );
    assert!(store.open_escalations().await.unwrap().is_empty());
    // Every decision event names its own decision in the audit view.
    let audit = store.events_for_audit(0, 100).await.unwrap();
    let jws: Vec<Option<&str>> = audit
        .iter()
        .filter(|e| e.kind.ends_with("_recorded") || e.kind == "request_decided")
        .map(|e| e.decision_jws.as_deref())
        .collect();
    assert_eq!(jws, [Some("jws-a"), Some("jws-ccc")]);
}

#[tokio::test]
async fn escalations_are_raised_once_per_level_and_assignment_closes_what_a_reviewer_can_settle() {
    let (_dir, store) = store_with_request().await;
    let first = store
        .escalate(
            "r1",
            &raise(EscalationReason::ByReviewer, 0, "unsure about the payee"),
        )
        .await
        .unwrap();
    assert!(
        matches!(first, SupervisionWrite::Done(ref e) if e.kind == EventKind::RequestEscalated)
    );
    // The same note again changes nothing and appends no event.
    let again = store
        .escalate(
            "r1",
            &raise(EscalationReason::ByReviewer, 0, "unsure about the payee"),
        )
        .await
        .unwrap();
    assert!(matches!(again, SupervisionWrite::Unchanged));
    for level in [1, 1, 2] {
        store
            .escalate("r1", &raise(EscalationReason::Overdue, level, "late"))
            .await
            .unwrap();
    }
    let raised = store.escalations_of("r1").await.unwrap();
    assert_eq!(raised.len(), 2);
    let overdue = raised
        .iter()
        .find(|r| r.reason == EscalationReason::Overdue)
        .unwrap();
    assert_eq!(overdue.level, 2);
    let candidates = store
        .overdue_candidates(at("2100-01-01T00:00:00.000Z"))
        .await
        .unwrap();
    assert_eq!(candidates[0].level, Some(2));

    let assigned = store
        .assign(
            "r1",
            "user:sam",
            "user:sol",
            "please take it",
            at("2026-11-22T09:10:00.000Z"),
        )
        .await
        .unwrap();
    assert!(
        matches!(assigned, SupervisionWrite::Done(ref e) if e.kind == EventKind::RequestAssigned)
    );
    assert!(store.escalations_of("r1").await.unwrap().is_empty());
    assert_eq!(
        store
            .request("r1")
            .await
            .unwrap()
            .unwrap()
            .assigned_to
            .as_deref(),
        Some("user:sam")
    );
    // A closed overdue escalation comes back only at a higher level.
    assert!(matches!(
        store
            .escalate("r1", &raise(EscalationReason::Overdue, 3, "late"))
            .await
            .unwrap(),
        SupervisionWrite::Done(_)
    ));
    let events = store.events_for_audit(0, 100).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "request_added",
            "request_escalated",
            "request_escalated",
            "request_escalated",
            "request_assigned",
            "request_escalated"
        ]
    );
    assert!(
        events[1]
            .detail
            .as_deref()
            .unwrap()
            .contains("unsure about the payee")
    );
    assert!(matches!(
        store
            .escalate("nope", &raise(EscalationReason::ByReviewer, 0, "x"))
            .await
            .unwrap(),
        SupervisionWrite::NotOpen(RequestState::Refused)
    ));
}

#[tokio::test]
async fn shown_is_recorded_once_per_reviewer_and_exports_stay_out_of_the_console_stream() {
    let (_dir, store) = store_with_request().await;
    assert!(
        store
            .mark_shown("r1", "user:rita", at("2026-11-22T09:11:00Z"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .mark_shown("r1", "user:rita", at("2026-11-22T09:12:00Z"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .mark_shown("r1", "user:sam", at("2026-11-22T09:13:00Z"))
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .mark_shown("missing", "user:sam", at("2026-11-22T09:13:00Z"))
            .await
            .unwrap()
            .is_none()
    );
    let export = store
        .record_export(
            "export:1",
            "user:ada",
            at("2026-11-22T09:14:00Z"),
            &serde_json::json!({"records": 1}),
        )
        .await
        .unwrap();
    let streamed = store.events_after(0, 100).await.unwrap();
    assert_eq!(streamed.len(), 3);
    assert!(streamed.iter().all(|e| e.id != export));
    let audited = store.events_for_audit(0, 100).await.unwrap();
    assert_eq!(audited.last().unwrap().kind, "records_exported");
}
