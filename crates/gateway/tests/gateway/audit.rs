//! The tamper-evident audit log: every event sealed under a signed C2SP checkpoint, and any
//! change to a sealed event, entry or checkpoint found by `verify_log`.

use std::path::Path;

use chrono::{DateTime, Utc};

use countersign_audit::{Checkpoint, NoteVerifier, open_note};
use countersign_gateway::audit::{LogChecks, log_verifier, verify_log};
use countersign_gateway::{log_key_path, log_origin};
use countersign_store::Store;
use countersign_wire::DecisionKind;

use countersign_testkit::{AUDIENCE, TestGateway};

/// Submits a few requests, decides one, waits until the log covers every event, stops.
async fn busy_gateway() -> TestGateway {
    let mut gw = TestGateway::start().await;
    gw.submit(&gw.scenario("refund-exception")).await;
    gw.submit(&gw.scenario("forged-hop")).await;
    gw.submit(&gw.scenario("supplier-payment")).await;
    let record = gw.record("refund-exception-t").await;
    let jws = gw.decision(
        &gw.reviewer,
        &record,
        DecisionKind::Approve,
        "late delivery confirmed",
        &[],
    );
    gw.post_decision(&gw.reviewer, &record.request_id, &jws)
        .await;
    // Five enrolments (the test gateway's people), then request_added ×2, request_refused,
    // request_decided: sealed now, checkpointed at 9.
    gw.run_workers().await;
    let note = text(&gw, "/v1/audit/checkpoint").await;
    assert_eq!(note.lines().nth(1), Some("9"), "{note}");
    gw.stop().await;
    gw
}

fn verifier(gw: &TestGateway) -> NoteVerifier {
    log_verifier(&log_key_path(&gw.config.key), &log_origin(AUDIENCE)).unwrap()
}

async fn text(gw: &TestGateway, path: &str) -> String {
    countersign_testkit::http()
        .get(gw.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn problems(db: &Path, verifier: &NoteVerifier, now: DateTime<Utc>) -> Vec<String> {
    let store = Store::open(db).await.unwrap();
    verify_log(
        &store,
        verifier,
        &log_origin(AUDIENCE),
        now.into(),
        &LogChecks::default(),
    )
    .await
    .unwrap()
    .problems
}

/// A copy of the gateway's database with `sql` applied: what an insider with write access
/// could do.
async fn tampered(gw: &TestGateway, sql: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("copy.db");
    // The stopped gateway checkpointed its WAL; copy whatever is there.
    for suffix in ["", "-wal", "-shm"] {
        let from = format!("{}{suffix}", gw.config.database.display());
        if Path::new(&from).exists() {
            std::fs::copy(&from, format!("{}{suffix}", copy.display())).unwrap();
        }
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&copy);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
    (dir, copy)
}

#[tokio::test]
async fn every_event_is_sealed_under_a_signed_checkpoint_that_anyone_can_check() {
    let mut gw = busy_gateway().await;
    gw.restart().await;
    let note = text(&gw, "/v1/audit/checkpoint").await;
    let published_key = text(&gw, "/v1/audit/log-key").await;
    let verifier: NoteVerifier = published_key.trim().parse().unwrap();
    let opened = open_note(&note, std::slice::from_ref(&verifier)).unwrap();
    let checkpoint = Checkpoint::parse(opened.text()).unwrap();
    assert_eq!(checkpoint.origin(), "test-gateway/audit");
    assert_eq!(checkpoint.size(), 9);
    gw.stop().await;
    assert_eq!(
        problems(&gw.config.database, &verifier, gw.clock_now()).await,
        Vec::<String>::new()
    );
    assert_eq!(verifier.to_string(), self::verifier(&gw).to_string());
}

#[tokio::test]
async fn changing_or_removing_anything_sealed_is_found() {
    let gw = busy_gateway().await;
    let verifier = verifier(&gw);
    assert_eq!(
        problems(&gw.config.database, &verifier, gw.clock_now()).await,
        Vec::<String>::new()
    );
    let cases = [
        (
            "UPDATE events SET actor = 'user:mallory' WHERE kind = 'request_decided'",
            "was changed after it was sealed",
        ),
        (
            "UPDATE decisions SET jws = jws || 'x'",
            "was changed after it was sealed",
        ),
        (
            "UPDATE requests SET request_digest = 'sha256:0' WHERE request_id = 'refund-exception-t'",
            "was changed after it was sealed",
        ),
        (
            "UPDATE requests SET body = replace(body, '189.90', '999.90') WHERE request_id = 'refund-exception-t'",
            "its stored body does not have the digest recorded for it",
        ),
        ("DELETE FROM events WHERE id = 2", "was removed"),
        (
            "UPDATE decisions SET decision = 'reject', reason = 'never approved'",
            "is stored with columns its JWS does not say",
        ),
        (
            "INSERT INTO events (kind, request_id, state, at) VALUES ('request_shown', 'refund-exception-t', 'pending', '2020-01-01T00:00:00.000Z')",
            "is still not sealed",
        ),
        (
            "UPDATE requests SET state = 'approved' WHERE request_id = 'supplier-payment-t'",
            "its last sealed event says pending",
        ),
        (
            "INSERT INTO receipts (request_id, status, executed_at, detail, recorded_at) VALUES ('supplier-payment-t', 'executed', '2026-01-01T00:00:00Z', 'paid', '2026-01-01T00:00:00Z')",
            "is named by no sealed entry",
        ),
        (
            "DELETE FROM audit_checkpoints",
            "no signed checkpoint covers them",
        ),
        (
            "UPDATE audit_entries SET entry = replace(entry, 'request_added', 'request_refused') WHERE seq = 5",
            "does not match its leaf hash",
        ),
        (
            "DELETE FROM audit_entries WHERE seq = 1",
            "is not in the log",
        ),
        (
            "DELETE FROM audit_entries WHERE seq = 8",
            "covers 9 entries; 8 are stored",
        ),
        (
            "UPDATE audit_checkpoints SET note = replace(note, char(10) || '9' || char(10), char(10) || '8' || char(10))",
            "checkpoint of size 9",
        ),
    ];
    for (sql, expected) in cases {
        let (_dir, copy) = tampered(&gw, sql).await;
        let found = problems(&copy, &verifier, gw.clock_now()).await;
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{sql}: expected {expected:?}, found {found:?}"
        );
    }
    // A whole entry rewritten with a matching leaf hash still breaks the signed root.
    let (_dir, copy) = tampered(
        &gw,
        "UPDATE audit_entries SET entry = (SELECT entry FROM audit_entries WHERE seq = 1), leaf_hash = (SELECT leaf_hash FROM audit_entries WHERE seq = 1) WHERE seq = 0",
    )
    .await;
    let found = problems(&copy, &verifier, gw.clock_now()).await;
    assert!(
        found
            .iter()
            .any(|p| p.contains("do not hash to the root signed")),
        "{found:?}"
    );
}

#[tokio::test]
async fn a_receipt_changed_after_it_was_sealed_is_found() {
    let mut gw = TestGateway::start().await;
    gw.submit(&gw.scenario("refund-exception")).await;
    let (status, _) = gw
        .decide_as(
            &gw.reviewer,
            "refund-exception-t",
            DecisionKind::Approve,
            "ok by policy",
        )
        .await;
    assert!((200..300).contains(&status), "{status}");
    let receipt = serde_json::json!({"status": "executed", "executed_at": "2026-11-22T09:05:00Z", "detail": "refund issued"});
    let response = countersign_testkit::http()
        .post(gw.url("/v1/requests/refund-exception-t/receipt"))
        .bearer_auth(countersign_testkit::WORKFLOW_TOKEN)
        .json(&receipt)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    gw.run_workers().await;
    gw.stop().await;
    let verifier = verifier(&gw);
    assert_eq!(
        problems(&gw.config.database, &verifier, gw.clock_now()).await,
        Vec::<String>::new()
    );
    for sql in [
        "UPDATE receipts SET detail = 'refund never issued'",
        "UPDATE receipts SET status = 'failed'",
    ] {
        let (_dir, copy) = tampered(&gw, sql).await;
        let found = problems(&copy, &verifier, gw.clock_now()).await;
        assert!(
            found
                .iter()
                .any(|p| p.contains("content its sealed event does not say")),
            "{sql}: {found:?}"
        );
    }
}

#[tokio::test]
async fn a_record_is_verified_against_the_trust_store_in_force_when_it_arrived() {
    let mut gw = TestGateway::start().await;
    gw.submit(&gw.scenario("refund-exception")).await;
    let (status, _) = gw
        .decide_as(
            &gw.reviewer,
            "refund-exception-t",
            DecisionKind::Approve,
            "ok by policy",
        )
        .await;
    assert!((200..300).contains(&status), "{status}");
    // Every agent's key rotated after the request arrived; the gateway reloads.
    let text = std::fs::read_to_string(&gw.config.trust).unwrap();
    let mut trust: countersign_wire::TrustStore = serde_json::from_str(&text).unwrap();
    for party in trust.parties.values_mut() {
        if party.kind == countersign_wire::PartyKind::Agent {
            party.keys = vec![
                countersign_chain::SigningKeyPair::generate()
                    .public()
                    .to_jwk(),
            ];
        }
    }
    std::fs::write(&gw.config.trust, serde_json::to_vec(&trust).unwrap()).unwrap();
    assert!(gw.gateway.as_ref().unwrap().reload_trust().unwrap());
    gw.submit(&gw.scenario("supplier-payment")).await;
    gw.run_workers().await;
    gw.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bundle");
    let export = std::process::Command::new(env!("CARGO_BIN_EXE_countersign-gateway"))
        .args(["export", "--format", "bundle", "--audience", AUDIENCE])
        .arg("--out")
        .arg(&out)
        .arg("--database")
        .arg(&gw.config.database)
        .arg("--trust")
        .arg(&gw.config.trust)
        .arg("--key")
        .arg(&gw.config.key)
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    // Two versions: the one the first request arrived under, and the rotated one.
    let versions = std::fs::read_dir(out.join("keys/trust")).unwrap().count();
    assert_eq!(versions, 2);
    let report = countersign_bundle::verify_bundle(&out, Some(&verifier(&gw))).unwrap();
    assert!(report.ok, "{report:?}");
    let records = std::fs::read_to_string(out.join("records.jsonl")).unwrap();
    let trusts: std::collections::HashSet<String> = records
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["trust"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        trusts.len(),
        2,
        "each record names the version it arrived under"
    );
    // Verified against today's keys instead (what the bundle did before versions were kept),
    // the old record would fail: the rotation is what the versions protect it from.
    let current = countersign_chain::TrustIndex::from_store(&trust).unwrap();
    let old: serde_json::Value = records
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|r| r["request_id"] == "refund-exception-t")
        .unwrap();
    let at = chrono::DateTime::parse_from_rfc3339(old["received_at"].as_str().unwrap()).unwrap();
    let again = countersign_chain::verify_value(&old["request"], &current, at.with_timezone(&Utc));
    assert!(
        !again.report.findings.is_empty(),
        "rotated keys do not verify the old chain"
    );
}
