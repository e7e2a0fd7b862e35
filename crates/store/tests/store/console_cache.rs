//! The console's cache: records and signed decisions survive reopening; outcomes are kept.

use countersign_store::ConsoleCache;

use super::at;
use countersign_wire::DecisionKind;
use countersign_wire::Tier;
use countersign_wire::api::{RequestRecord, RequestState};
use countersign_wire::console::DecideOutcome;

fn record(id: &str, state: RequestState) -> RequestRecord {
    RequestRecord {
        request_id: id.into(),
        txn: format!("txn-{id}"),
        state,
        tier: Tier::High,
        expires_at: at("2026-11-22T10:00:00Z"),
        received_at: at("2026-11-22T09:00:00Z"),
        request: serde_json::json!({"request_id": id, "action": {"summary": "<b>pay</b>"}}),
        report: super::report(),
        decision: None,
        approvals: Vec::new(),
        approvals_needed: 1,
        escalation: None,
        due_at: None,
        policy: None,
        blocked_by: Vec::new(),
        notes: Vec::new(),
        assigned_to: None,
    }
}

#[tokio::test]
async fn records_survive_reopening_and_the_latest_copy_wins() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let cache = ConsoleCache::open(&path).await.unwrap();
    cache
        .put(
            &[
                record("a", RequestState::Pending),
                record("b", RequestState::Escalated),
            ],
            at("2026-11-22T09:00:01Z"),
        )
        .await
        .unwrap();
    cache
        .put(
            &[record("a", RequestState::Approved)],
            at("2026-11-22T09:00:02Z"),
        )
        .await
        .unwrap();
    assert_eq!(cache.trust().await.unwrap(), None);
    let trust = countersign_wire::TrustStore {
        parties: Default::default(),
    };
    cache
        .put_trust(&trust, at("2026-11-22T09:00:03Z"))
        .await
        .unwrap();
    drop(cache);

    let cache = ConsoleCache::open(&path).await.unwrap();
    assert_eq!(cache.trust().await.unwrap(), Some(trust));
    let records = cache.records().await.unwrap();
    assert_eq!(
        records,
        [
            record("a", RequestState::Approved),
            record("b", RequestState::Escalated)
        ]
    );
}

#[tokio::test]
async fn a_queued_decision_survives_reopening_until_the_gateway_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let cache = ConsoleCache::open(&path).await.unwrap();
    let first = cache
        .queue_decision(
            "a",
            DecisionKind::Approve,
            "jws.a",
            at("2026-11-22T09:00:00Z"),
        )
        .await
        .unwrap();
    let second = cache
        .queue_decision(
            "b",
            DecisionKind::Reject,
            "jws.b",
            at("2026-11-22T09:00:01Z"),
        )
        .await
        .unwrap();
    drop(cache);

    let cache = ConsoleCache::open(&path).await.unwrap();
    let unsettled = cache.unsettled().await.unwrap();
    assert_eq!(
        unsettled
            .iter()
            .map(|d| (d.id, d.request_id.as_str(), d.decision, d.jws.as_str()))
            .collect::<Vec<_>>(),
        [
            (first, "a", DecisionKind::Approve, "jws.a"),
            (second, "b", DecisionKind::Reject, "jws.b")
        ],
        "oldest first, exactly as signed"
    );

    let taken = DecideOutcome::AlreadyDecided("rejected".into());
    cache
        .settle(first, &taken, at("2026-11-22T09:05:00Z"))
        .await
        .unwrap();
    let unsettled = cache.unsettled().await.unwrap();
    assert_eq!(unsettled.len(), 1);
    assert_eq!(unsettled[0].id, second);

    let all = cache.deliveries().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].id, second, "newest first");
    assert_eq!(all[0].outcome, None);
    assert_eq!(all[1].outcome, Some(taken));
    assert_eq!(all[1].settled_at, Some(at("2026-11-22T09:05:00Z")));
}

#[tokio::test]
async fn snoozes_survive_reopening_a_second_moves_the_time_and_ending_one_leaves_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cache.db");
    let cache = ConsoleCache::open(&path).await.unwrap();
    let now = at("2026-11-22T09:00:00Z");
    cache
        .snooze("r-late", at("2026-11-22T09:30:00Z"), now)
        .await
        .unwrap();
    cache
        .snooze("r-soon", at("2026-11-22T09:20:00Z"), now)
        .await
        .unwrap();
    // Snoozed again: the new time replaces the old one.
    cache
        .snooze("r-soon", at("2026-11-22T09:15:00Z"), now)
        .await
        .unwrap();
    drop(cache);
    let cache = ConsoleCache::open(&path).await.unwrap();
    assert_eq!(
        cache.snoozes().await.unwrap(),
        vec![
            ("r-soon".to_owned(), at("2026-11-22T09:15:00Z")),
            ("r-late".to_owned(), at("2026-11-22T09:30:00Z")),
        ],
        "soonest back first"
    );
    cache
        .unsnooze(&["r-soon".to_owned(), "never-snoozed".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        cache.snoozes().await.unwrap(),
        vec![("r-late".to_owned(), at("2026-11-22T09:30:00Z"))]
    );
}
