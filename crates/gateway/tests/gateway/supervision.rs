//! The review policy at work: quorum, deadlines and escalation levels, blocking findings,
//! escalations by reviewers and workflows, assignment, and what the audit log records.

use chrono::Duration;
use countersign_chain::digest::decision_subject;
use countersign_client::verify_decision;
use countersign_wire::DecisionKind;
use countersign_wire::api::{EscalationReason, RequestRecord, RequestState};
use serde_json::Value;

use countersign_testkit::{AUDIENCE, TestGateway, WORKFLOW_TOKEN, error_code};

const POLICY: &str = r#"
id = "acme-review"
version = "7"

[tiers.critical]
approvals = 2

[tiers.high]
decide_within = "10m"
escalation = [
  { after = "0m", to = ["role:supervisor"] },
  { after = "15m", to = ["user:sol.supervisor"] },
]

[tiers.medium]
blocking = ["SCOPE_OVER_PROVISIONED"]
"#;

async fn submit(gw: &TestGateway, body: &Value) -> RequestRecord {
    let response = gw.submit(body).await;
    assert_eq!(response.status().as_u16(), 201);
    let id = body["request_id"].as_str().unwrap();
    gw.record(id).await
}

async fn code_of(response: reqwest::Response) -> (u16, String) {
    let (status, body) = error_code(response).await;
    (
        status,
        body["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

/// The sealed audit entries that `keep` selects, as JSON.
async fn audit_entries(gw: &TestGateway, id: &str) -> Vec<Value> {
    gw.sealed_entries(|e| e["request_id"] == id).await
}

#[tokio::test]
async fn a_critical_request_needs_two_distinct_approvers_and_the_workflow_gets_both_decisions() {
    let gw = TestGateway::start_with_policy(Some(POLICY)).await;
    let record = submit(&gw, &gw.scenario("supplier-payment")).await;
    assert_eq!(record.approvals_needed, 2);
    assert_eq!(record.policy.as_ref().unwrap().id, "acme-review");
    let id = record.request_id.clone();

    let first = gw.decision(
        &gw.reviewer,
        &record,
        DecisionKind::Approve,
        "Invoice matches the PO",
        &[],
    );
    let response = gw.post_decision(&gw.reviewer, &id, &first).await;
    assert_eq!(response.status().as_u16(), 202, "counted, not settled");
    let waiting = gw.record(&id).await;
    assert_eq!(waiting.state, RequestState::Pending);
    assert_eq!(waiting.approvals.len(), 1);
    let escalation = waiting.escalation.expect("waiting for a second approver");
    assert_eq!(escalation.reason, EscalationReason::AwaitingSecondApprover);

    // The same person cannot be both approvers, even with a fresh decision.
    let again = gw.decision(
        &gw.reviewer,
        &record,
        DecisionKind::Approve,
        "Still fine",
        &[],
    );
    let response = gw.post_decision(&gw.reviewer, &id, &again).await;
    assert_eq!(code_of(response).await, (409, "already_approved".into()));

    let second = gw.decision(
        &gw.second,
        &record,
        DecisionKind::Approve,
        "Second pair of eyes: ok",
        &[],
    );
    let response = gw.post_decision(&gw.second, &id, &second).await;
    assert_eq!(response.status().as_u16(), 201);

    let outcome = gw
        .client
        .wait_for_decision(WORKFLOW_TOKEN, &id, 0)
        .await
        .unwrap();
    assert_eq!(outcome.state, RequestState::Approved);
    assert_eq!(outcome.decision_jws.as_deref(), Some(second.as_str()));
    assert_eq!(outcome.approvals, [first.clone(), second.clone()]);
    let jwks = gw.client.jwks().await.unwrap();
    let approvers: Vec<String> = outcome
        .approvals
        .iter()
        .map(|jws| {
            let claims = verify_decision(
                jws,
                &jwks,
                AUDIENCE,
                &decision_subject(&record.request).unwrap(),
                gw.clock_now(),
            )
            .unwrap();
            assert_eq!(claims.policy.id, "acme-review");
            assert_eq!(claims.policy.version, "7");
            claims.iss
        })
        .collect();
    assert_eq!(approvers, ["user:rita.reviewer", "user:sam.second"]);

    let kinds: Vec<String> = audit_entries(&gw, &id)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        ["request_added", "approval_recorded", "request_decided"]
    );
}

#[tokio::test]
async fn an_overdue_request_escalates_through_two_levels_on_the_pinned_clock() {
    let gw = TestGateway::start_with_policy(Some(POLICY)).await;
    let record = submit(&gw, &gw.scenario("refund-exception")).await;
    let id = record.request_id.clone();
    assert!(record.escalation.is_none());
    assert!(record.due_at.is_some());

    // The workers run once at each pinned time: what they do not raise now, no tick would.
    gw.advance(Duration::minutes(9));
    gw.run_workers().await;
    assert!(gw.record(&id).await.escalation.is_none(), "not due yet");

    gw.advance(Duration::minutes(2));
    gw.run_workers().await;
    let level1 = gw.record(&id).await;
    let escalation = level1.escalation.expect("overdue after 11 minutes");
    assert_eq!(escalation.level, 1);
    assert_eq!(escalation.reason, EscalationReason::Overdue);
    assert_eq!(escalation.notify, ["role:supervisor"]);
    assert_eq!(
        level1.state,
        RequestState::Pending,
        "reviewers may still decide"
    );

    gw.advance(Duration::minutes(15));
    gw.run_workers().await;
    let level2 = gw.record(&id).await.escalation.expect("still escalated");
    assert_eq!(level2.level, 2);
    assert_eq!(level2.notify, ["user:sol.supervisor"]);

    let escalations: Vec<Value> = audit_entries(&gw, &id)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "request_escalated")
        .collect();
    assert_eq!(escalations.len(), 2, "one event per level, not per tick");
    assert_eq!(escalations[1]["detail"]["level"], 2);
    assert_eq!(escalations[1]["detail"]["reason"], "overdue");
}

#[tokio::test]
async fn a_blocking_finding_sends_the_request_to_supervisors_who_may_override_with_a_reason() {
    let gw = TestGateway::start_with_policy(Some(POLICY)).await;
    let record = submit(&gw, &gw.scenario("treasury-summary")).await;
    let id = record.request_id.clone();
    assert_eq!(record.state, RequestState::Escalated);
    let escalation = record.escalation.clone().unwrap();
    assert_eq!(escalation.reason, EscalationReason::BlockedByFindings);
    assert!(escalation.note.contains("SCOPE_OVER_PROVISIONED"));

    let jws = gw.decision(
        &gw.reviewer,
        &record,
        DecisionKind::Approve,
        "fine",
        &["SCOPE_OVER_PROVISIONED"],
    );
    let response = gw.post_decision(&gw.reviewer, &id, &jws).await;
    assert_eq!(code_of(response).await, (403, "approval_blocked".into()));

    let jws = gw.decision(
        &gw.supervisor,
        &record,
        DecisionKind::Approve,
        "",
        &["SCOPE_OVER_PROVISIONED"],
    );
    let response = gw.post_decision(&gw.supervisor, &id, &jws).await;
    assert_eq!(code_of(response).await, (422, "reason_required".into()));

    let jws = gw.decision(
        &gw.supervisor,
        &record,
        DecisionKind::Approve,
        "Account data is aggregated before sending",
        &["SCOPE_OVER_PROVISIONED"],
    );
    let response = gw.post_decision(&gw.supervisor, &id, &jws).await;
    assert_eq!(response.status().as_u16(), 201);
    let decided = audit_entries(&gw, &id)
        .await
        .into_iter()
        .find(|e| e["kind"] == "request_decided")
        .unwrap();
    assert_eq!(decided["detail"]["override"], true);
    assert_eq!(
        decided["detail"]["flags_acknowledged"][0],
        "SCOPE_OVER_PROVISIONED"
    );
    assert_eq!(decided["actor"], "user:sol.supervisor");
}

#[tokio::test]
async fn reviewers_and_workflows_escalate_with_a_note_and_supervisors_assign() {
    let gw = TestGateway::start_with_policy(Some(POLICY)).await;
    let mut body = gw.scenario("supplier-payment");
    body["escalate"] = serde_json::json!({"note": "New supplier bank account this month"});
    let record = submit(&gw, &body).await;
    let id = record.request_id.clone();
    let escalation = record.escalation.unwrap();
    assert_eq!(escalation.reason, EscalationReason::ByWorkflow);
    assert_eq!(escalation.note, "New supplier bank account this month");
    assert_eq!(record.state, RequestState::Pending);

    let other = submit(&gw, &gw.scenario("refund-exception")).await;
    let empty = gw
        .client
        .escalate(&gw.reviewer, &other.request_id, "  ")
        .await
        .unwrap_err();
    assert!(empty.to_string().contains("reason_required"), "{empty}");
    let auditor = gw
        .client
        .escalate(&gw.auditor, &other.request_id, "why")
        .await
        .unwrap_err();
    assert!(auditor.to_string().contains("forbidden"), "{auditor}");
    let escalated = gw
        .client
        .escalate(
            &gw.reviewer,
            &other.request_id,
            "Customer history looks odd",
        )
        .await
        .unwrap();
    let escalation = escalated.escalation.unwrap();
    assert_eq!(
        (escalation.reason, escalation.raised_by.as_str()),
        (EscalationReason::ByReviewer, "user:rita.reviewer")
    );

    // Only supervisors assign, and only to someone who may decide the tier.
    let by_reviewer = gw
        .client
        .assign(&gw.reviewer, &other.request_id, "user:sam.second", "")
        .await
        .unwrap_err();
    assert!(
        by_reviewer.to_string().contains("forbidden"),
        "{by_reviewer}"
    );
    let low = gw
        .client
        .assign(&gw.supervisor, &other.request_id, "user:lou.lowtier", "")
        .await
        .unwrap_err();
    assert!(low.to_string().contains("may not decide high"), "{low}");
    let nobody = gw
        .client
        .assign(&gw.supervisor, &other.request_id, "user:nobody", "")
        .await
        .unwrap_err();
    assert!(
        nobody.to_string().contains("not an enrolled reviewer"),
        "{nobody}"
    );
    // The directory a supervisor picks from; reviewers do not get it.
    let people = gw.client.reviewers(&gw.supervisor).await.unwrap();
    assert!(people.iter().any(
        |p| p.identity == "user:sam.second" && p.roles == [countersign_review::Role::Reviewer]
    ));
    let hidden = gw.client.reviewers(&gw.reviewer).await.unwrap_err();
    assert!(hidden.to_string().contains("forbidden"), "{hidden}");
    let assigned = gw
        .client
        .assign(
            &gw.supervisor,
            &other.request_id,
            "user:sam.second",
            "You know this customer",
        )
        .await
        .unwrap();
    assert!(
        assigned.escalation.is_none(),
        "handled: out of the supervisors' queue"
    );
    let queue = gw.client.queue(&gw.supervisor).await.unwrap();
    let still_escalated: Vec<&str> = queue
        .requests
        .iter()
        .filter(|r| r.escalation.is_some())
        .map(|r| r.request_id.as_str())
        .collect();
    assert_eq!(still_escalated, [id.as_str()]);

    // Shown to a reviewer: recorded once per reviewer.
    for _ in 0..2 {
        gw.client
            .shown(&gw.reviewer, &other.request_id)
            .await
            .unwrap();
    }
    gw.client
        .shown(&gw.second, &other.request_id)
        .await
        .unwrap();
    let shown = gw.client.shown(&gw.second, "nope").await.unwrap_err();
    assert!(shown.to_string().contains("not_found"), "{shown}");
    let kinds: Vec<String> = audit_entries(&gw, &other.request_id)
        .await
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "request_added",
            "request_escalated",
            "request_assigned",
            "request_shown",
            "request_shown"
        ]
    );
}

#[tokio::test]
async fn a_policy_with_a_mistake_stops_the_gateway_from_starting_and_names_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("policy.toml");
    std::fs::write(
        &path,
        "id = \"p\"\nversion = \"1\"\n[tiers.critical]\napprovals = 9\n",
    )
    .unwrap();
    let error = countersign_gateway::load_policy(Some(&path))
        .unwrap_err()
        .to_string();
    assert!(error.contains("tiers.critical.approvals"), "{error}");
    // No policy: one approval, no deadline, decisions name the default policy.
    let default = countersign_gateway::load_policy(None).unwrap();
    assert_eq!(default.reference().id, "default");
}

#[tokio::test]
async fn metrics_count_exceptions_corrections_and_latency_for_supervisors_only() {
    let gw = TestGateway::start_with_policy(Some(POLICY)).await;
    let refund = submit(&gw, &gw.scenario("refund-exception")).await;
    let blocked = submit(&gw, &gw.scenario("treasury-summary")).await;
    gw.advance(Duration::seconds(90));
    let jws = gw.decision(
        &gw.reviewer,
        &refund,
        DecisionKind::Reject,
        "Policy source is outdated",
        &[],
    );
    assert_eq!(
        gw.post_decision(&gw.reviewer, &refund.request_id, &jws)
            .await
            .status()
            .as_u16(),
        201
    );
    let jws = gw.decision(
        &gw.supervisor,
        &blocked,
        DecisionKind::Approve,
        "Aggregated before sending",
        &["SCOPE_OVER_PROVISIONED"],
    );
    assert_eq!(
        gw.post_decision(&gw.supervisor, &blocked.request_id, &jws)
            .await
            .status()
            .as_u16(),
        201
    );
    // Audit completeness counts sealed events: seal what is committed.
    gw.run_workers().await;

    let m = gw.client.metrics(&gw.supervisor, None, None).await.unwrap();
    assert_eq!(
        (
            m.received,
            m.exceptions,
            m.decided,
            m.rejected,
            m.overridden
        ),
        (2, 1, 2, 1, 1)
    );
    assert!((m.correction_rate - 1.0).abs() < 1e-9);
    assert_eq!(
        (m.approval_latency.count, m.approval_latency.p50),
        (2, 90.0)
    );
    assert_eq!(m.days.len(), 1);
    assert!(m.events >= 4 && m.audit_completeness > 0.99, "{m:?}");
    let refused = gw
        .client
        .metrics(&gw.reviewer, None, None)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("forbidden"), "{refused}");
    let bad = gw
        .client
        .metrics(&gw.auditor, Some("yesterday"), None)
        .await
        .unwrap_err();
    assert!(bad.to_string().contains("RFC 3339"), "{bad}");
}

#[tokio::test]
async fn exports_give_review_records_as_jsonl_and_csv_and_are_audited() {
    let gw = TestGateway::start_with_policy(Some(POLICY)).await;
    let refund = submit(&gw, &gw.scenario("refund-exception")).await;
    submit(&gw, &gw.scenario("treasury-summary")).await;
    let jws = gw.decision(
        &gw.reviewer,
        &refund,
        DecisionKind::Reject,
        "Outdated policy source",
        &[],
    );
    assert_eq!(
        gw.post_decision(&gw.reviewer, &refund.request_id, &jws)
            .await
            .status()
            .as_u16(),
        201
    );

    let get = |who: &countersign_client::ConsoleIdentity, query: &str| {
        countersign_testkit::http()
            .get(gw.url(&format!("/v1/export/records?{query}")))
            .bearer_auth(who.token())
            .send()
    };
    let response = get(&gw.auditor, "format=jsonl").await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/jsonl");
    let body = response.text().await.unwrap();
    let records: Vec<countersign_wire::api::ReviewRecord> = body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    let rejected = records
        .iter()
        .find(|r| r.request_id == refund.request_id)
        .unwrap();
    assert_eq!(
        (rejected.decision.as_str(), rejected.decided_by.as_str()),
        ("reject", "user:rita.reviewer")
    );
    assert_eq!(rejected.reason, "Outdated policy source");
    assert!(rejected.decision_digest.starts_with("sha256:"));
    let blocked = records
        .iter()
        .find(|r| r.request_id != refund.request_id)
        .unwrap();
    assert_eq!(blocked.escalations, "blocked_by_findings");

    let csv = get(
        &gw.supervisor,
        &format!("format=csv&request_id={}", refund.request_id),
    )
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    assert!(csv.starts_with("request_id,received_at,"));

    let refused = get(&gw.reviewer, "format=csv").await.unwrap();
    assert_eq!(code_of(refused).await, (403, "forbidden".into()));
    let bad = get(&gw.auditor, "format=xml").await.unwrap();
    assert_eq!(code_of(bad).await, (400, "invalid_body".into()));

    // Both exports are in the audit log, with the digest of what was handed out.
    let exports = gw.sealed_entries(|e| e["kind"] == "records_exported").await;
    assert_eq!(exports.len(), 2);
    assert_eq!(exports[0]["actor"], "user:ada.auditor");
    assert_eq!(exports[0]["detail"]["records"], 2);
    assert_eq!(
        exports[0]["detail"]["sha256"],
        countersign_chain::digest::sha256_digest(body.as_bytes())
    );
}

#[tokio::test]
async fn a_bundle_exported_over_http_or_by_the_operator_verifies_offline_against_the_pinned_log_key()
 {
    let mut gw = TestGateway::start_with_policy(Some(POLICY)).await;
    let payment = submit(&gw, &gw.scenario("supplier-payment")).await;
    let blocked = submit(&gw, &gw.scenario("treasury-summary")).await;
    for who in [&gw.reviewer, &gw.second] {
        let jws = gw.decision(
            who,
            &payment,
            DecisionKind::Approve,
            "Invoice and bank details checked",
            &[],
        );
        assert!(
            gw.post_decision(who, &payment.request_id, &jws)
                .await
                .status()
                .is_success()
        );
    }
    let jws = gw.decision(
        &gw.supervisor,
        &blocked,
        DecisionKind::Approve,
        "Aggregates only",
        &["SCOPE_OVER_PROVISIONED"],
    );
    assert_eq!(
        gw.post_decision(&gw.supervisor, &blocked.request_id, &jws)
            .await
            .status()
            .as_u16(),
        201
    );
    let pinned: countersign_audit::NoteVerifier = countersign_testkit::http()
        .get(gw.url("/v1/audit/log-key"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    let files: countersign_wire::api::BundleFiles = countersign_testkit::http()
        .get(gw.url("/v1/export/bundle"))
        .bearer_auth(gw.auditor.token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("over-http");
    for (name, content) in &files.files {
        let path = bundle.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }
    let report = countersign_bundle::verify_bundle(&bundle, Some(&pinned)).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.records, 2);
    let payment_record = std::fs::read_to_string(bundle.join("records.jsonl")).unwrap();
    assert!(
        payment_record.contains("approval_recorded"),
        "both approvals are in the bundle"
    );
    // The request is there as the very bytes the workflow sent (what `.json()` wrote).
    let sent = serde_json::to_string(&gw.scenario("supplier-payment")).unwrap();
    let line = payment_record
        .lines()
        .map(|l| serde_json::from_str::<countersign_bundle::BundleRecord>(l).unwrap())
        .find(|r| r.request_id == payment.request_id)
        .unwrap();
    assert_eq!(line.request_text.as_deref(), Some(sent.as_str()));

    // The operator's export, from the database, with the gateway stopped; an event nobody
    // sealed yet is sealed first, so the bundle proves it.
    gw.stop().await;
    let store = countersign_store::Store::open(&gw.config.database)
        .await
        .unwrap();
    store
        .mark_shown(
            &payment.request_id,
            "user:late.reader",
            countersign_wire::Timestamp::from(gw.clock_now()),
        )
        .await
        .unwrap()
        .expect("a new event");
    let sealed_shown = |entries: &[countersign_store::AuditEntry]| {
        entries
            .iter()
            .filter(|e| e.entry.contains("user:late.reader"))
            .count()
    };
    assert_eq!(sealed_shown(&store.audit_entries().await.unwrap()), 0);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_countersign-gateway"))
        .args([
            "export",
            "--format",
            "bundle",
            "--request-id",
            &payment.request_id,
        ])
        .arg("--out")
        .arg(dir.path().join("by-operator"))
        .arg("--database")
        .arg(&gw.config.database)
        .arg("--trust")
        .arg(&gw.config.trust)
        .arg("--key")
        .arg(&gw.config.key)
        .args(["--audience", AUDIENCE])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report =
        countersign_bundle::verify_bundle(&dir.path().join("by-operator"), Some(&pinned)).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.records, 1);
    assert_eq!(sealed_shown(&store.audit_entries().await.unwrap()), 1);
    let exported = std::fs::read_to_string(dir.path().join("by-operator/records.jsonl")).unwrap();
    assert!(exported.contains("user:late.reader"), "the bundle holds it");
    let csv = dir.path().join("records.csv");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_countersign-gateway"))
        .args(["export", "--format", "csv", "--out"])
        .arg(&csv)
        .arg("--database")
        .arg(&gw.config.database)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&csv).unwrap().lines().count(), 3);
}

#[tokio::test]
async fn a_refusal_without_a_request_id_is_sealed_in_the_audit_log_but_not_sent_to_consoles() {
    let gw = TestGateway::start().await;
    let response = gw
        .submit(&serde_json::json!({"hello": "not a request"}))
        .await;
    assert_eq!(code_of(response).await, (422, "chain_refused".into()));
    let refusals = gw.sealed_entries(|e| e["kind"] == "request_refused").await;
    let store = countersign_store::Store::open(&gw.config.database)
        .await
        .unwrap();
    assert_eq!(refusals.len(), 1);
    assert!(
        refusals[0]["request_id"]
            .as_str()
            .unwrap()
            .starts_with("intake-refusal:")
    );
    assert_eq!(refusals[0]["actor"], "demo");
    assert!(
        refusals[0]["detail"]["findings"]
            .to_string()
            .contains("MALFORMED")
    );
    assert!(store.events_after(0, 100).await.unwrap().is_empty());
    let verifier = countersign_gateway::audit::log_verifier(
        &countersign_gateway::log_key_path(&gw.config.key),
        &countersign_gateway::log_origin(AUDIENCE),
    )
    .unwrap();
    let report = countersign_gateway::audit::verify_log(
        &store,
        &verifier,
        &countersign_gateway::log_origin(AUDIENCE),
        countersign_wire::Timestamp::from(gw.clock_now()),
        &countersign_gateway::audit::LogChecks::default(),
    )
    .await
    .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test]
async fn a_reloaded_policy_applies_to_requests_already_waiting_and_a_broken_one_changes_nothing() {
    // No tier has a time to decide, and a critical request needs one approver.
    let lenient = "id = \"acme-review\"\nversion = \"6\"\n";
    let gw = TestGateway::start_with_policy(Some(lenient)).await;
    let running = gw.gateway.as_ref().unwrap();
    let path = gw.config.policy.clone().unwrap();
    let critical = submit(&gw, &gw.scenario("supplier-payment")).await;
    let high = submit(&gw, &gw.scenario("refund-exception")).await;
    assert_eq!(critical.approvals_needed, 1);
    assert!(high.due_at.is_none());
    gw.advance(Duration::minutes(11));
    gw.run_workers().await;
    assert!(gw.record(&high.request_id).await.escalation.is_none());

    std::fs::write(&path, POLICY).unwrap();
    assert!(running.reload_policy().unwrap(), "a changed policy");
    assert!(!running.reload_policy().unwrap(), "the same file again");
    let waiting = gw.record(&critical.request_id).await;
    assert_eq!(waiting.approvals_needed, 2);
    assert_eq!(waiting.policy.unwrap().version, "7");
    // The overdue worker, idle while no tier had a deadline, now escalates on its own tick.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let escalation = loop {
        if let Some(escalation) = gw.record(&high.request_id).await.escalation {
            break escalation;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the overdue request was not escalated under the reloaded policy"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(escalation.reason, EscalationReason::Overdue);

    // A mistake is refused with its place; the policy in force stays as it was.
    std::fs::write(
        &path,
        "id = \"acme-review\"\nversion = \"8\"\n[tiers.critical]\napprovals = 9\n",
    )
    .unwrap();
    let error = format!("{:#}", running.reload_policy().unwrap_err());
    assert!(
        error.contains(&path.display().to_string()) && error.contains("tiers.critical.approvals"),
        "{error}"
    );
    let still = gw.record(&critical.request_id).await;
    assert_eq!(
        (
            still.approvals_needed,
            still.policy.as_ref().unwrap().version.as_str()
        ),
        (2, "7")
    );
    let first = gw.decision(
        &gw.reviewer,
        &still,
        DecisionKind::Approve,
        "Invoice matches the PO",
        &[],
    );
    let response = gw
        .post_decision(&gw.reviewer, &critical.request_id, &first)
        .await;
    assert_eq!(
        response.status().as_u16(),
        202,
        "counted toward the quorum of the policy in force"
    );
}
