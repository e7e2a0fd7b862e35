//! The supervisor's flow in the real console: the escalation queue grouped by reason, an
//! override with acknowledged findings, a reviewer's escalation, an assignment, the second
//! approval of a quorum, and the dashboard.

use countersign_e2e::{App, Gateway, WORKFLOW_TOKEN};
use countersign_testkit::sign_decision;
use countersign_wire::DecisionKind;
use countersign_wire::api::RequestState;
use fantoccini::Locator;

/// Critical needs two people; high is overdue after one second (real time: the console talks
/// to a real gateway); a widened scope blocks reviewers at medium.
const POLICY: &str = r#"
id = "e2e-supervision"
version = "3"

[tiers.critical]
approvals = 2

[tiers.high]
decide_within = "1s"
escalation = [{ after = "0s", to = ["role:supervisor"] }]

[tiers.medium]
blocking = ["SCOPE_OVER_PROVISIONED"]
"#;

#[tokio::test]
async fn a_supervisor_clears_the_escalation_queue_and_reads_the_dashboard() {
    let data = tempfile::tempdir().unwrap();
    let gateway = Gateway::start_supervised(data.path(), POLICY).await;
    let sam = gateway.enrol("user:sam.second", &["reviewer"]).await;
    let ghost = gateway.submit("ghost-export").await; // GHOST_PERMISSION: blocked
    let refund = gateway.submit("refund-exception").await; // high: overdue after 1 s
    let payment = gateway.submit("supplier-payment").await; // critical: two approvers
    let treasury = gateway.submit("treasury-summary").await; // medium, blocked by policy
    assert_eq!(treasury.state, RequestState::Escalated);

    // Sam approves the payment first: one of two.
    let record = gateway
        .client
        .request(&sam, &payment.request_id)
        .await
        .unwrap();
    let jws = sign_decision(
        &sam,
        countersign_e2e::AUDIENCE,
        &record,
        DecisionKind::Approve,
        "Invoice matches the purchase order",
        Vec::new(),
        chrono::Utc::now(),
    );
    gateway
        .client
        .decide(&sam, &payment.request_id, &jws)
        .await
        .unwrap();

    let app = App::start_with(data, &gateway.console_env()).await;
    app.click("[data-testid=tab-escalations]").await;
    for reason in ["blocked_by_findings", "overdue", "awaiting_second_approver"] {
        app.wait_for(
            &format!("[data-testid=escalation-group][data-reason={reason}]"),
            1,
        )
        .await;
    }
    let blocked = app
        .text("[data-testid=escalation-group][data-reason=blocked_by_findings]")
        .await;
    // (Headings are upper-cased by CSS.)
    assert!(
        blocked
            .to_lowercase()
            .starts_with("blocked by findings · 2"),
        "{blocked}"
    );
    app.screenshot("escalations.png").await;

    // Override the ghost permission: acknowledge, give the reason, approve.
    app.click(&format!(
        "[data-testid=escalation-row][data-request-id='{}']",
        ghost.request_id
    ))
    .await;
    let banner = app.text("[data-testid=escalation-banner]").await;
    assert!(banner.contains("Blocked by findings"), "{banner}");
    let approve = app.wait_for("[data-testid=approve]", 1).await.remove(0);
    assert_eq!(approve.text().await.unwrap(), "Override and approve");
    for ack in app.wait_for("[data-testid=ack-override]", 1).await {
        ack.click().await.unwrap();
    }
    // Warnings, if any, are acknowledged too.
    for ack in app
        .client
        .find_all(Locator::Css("[data-testid=ack]"))
        .await
        .unwrap_or_default()
    {
        ack.click().await.unwrap();
    }
    assert!(
        !approve.is_enabled().await.unwrap(),
        "an override needs a reason"
    );
    app.wait_for("[data-testid=reason]", 1).await[0]
        .send_keys("Export target is our own archive; data.export was granted out of band (ticket SEC-118).")
        .await
        .unwrap();
    approve.click().await.unwrap();
    // The outcome re-renders as the request updates: wait on its text.
    let outcome = app
        .text_until("[data-testid=decision-outcome] p", |t| {
            t.contains("delivered")
        })
        .await;
    assert!(outcome.contains("delivered"), "{outcome}");
    let settled = gateway
        .client
        .wait_for_decision(WORKFLOW_TOKEN, &ghost.request_id, 5)
        .await
        .unwrap();
    assert_eq!(settled.state, RequestState::Approved);
    let claims = countersign_chain::CompactJws::parse(settled.decision_jws.as_deref().unwrap())
        .unwrap()
        .claims::<countersign_wire::DecisionClaims>()
        .unwrap();
    assert!(
        claims
            .flags_acknowledged
            .contains(&countersign_wire::FindingCode::GhostPermission)
    );
    assert_eq!(claims.policy.id, "e2e-supervision");

    // The overdue refund: assign it to Sam.
    app.click("[data-testid=tab-escalations]").await;
    app.click(&format!(
        "[data-testid=escalation-row][data-request-id='{}']",
        refund.request_id
    ))
    .await;
    app.text_until("[data-testid=escalation-banner]", |t| t.contains("Overdue"))
        .await;
    app.wait_for("[data-testid=assign-reviewer]", 1).await[0]
        .send_keys("user:sam.second")
        .await
        .unwrap();
    app.click("[data-testid=assign]").await;
    app.text_until("[data-testid=assigned]", |t| t.contains("user:sam.second"))
        .await;

    // The payment: the second approval settles it.
    app.click("[data-testid=tab-escalations]").await;
    app.click(&format!(
        "[data-testid=escalation-row][data-request-id='{}']",
        payment.request_id
    ))
    .await;
    let quorum = app.text("[data-testid=quorum]").await;
    assert!(
        quorum.contains("1 of 2") && quorum.contains("user:sam.second"),
        "{quorum}"
    );
    app.wait_for("[data-testid=reason]", 1).await[0]
        .send_keys("Second approver: bank details match the supplier master data.")
        .await
        .unwrap();
    app.click("[data-testid=approve]").await;
    app.click("[data-testid=approve]").await; // confirm: critical and irreversible
    // The outcome re-renders as the request updates: wait on its text.
    let outcome = app
        .text_until("[data-testid=decision-outcome] p", |t| {
            t.contains("delivered")
        })
        .await;
    assert!(outcome.contains("delivered"), "{outcome}");
    let settled = gateway
        .client
        .wait_for_decision(WORKFLOW_TOKEN, &payment.request_id, 5)
        .await
        .unwrap();
    assert_eq!(
        (settled.state, settled.approvals.len()),
        (RequestState::Approved, 2)
    );
    // The settled payment exported on its own: one record, both approvals, verifiable.
    app.click("[data-testid=export-request]").await;
    let saved = app.text("[data-testid=exported-request]").await;
    let path = saved
        .split("countersign verify-bundle ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    let one = countersign_bundle::verify_bundle(std::path::Path::new(&path), None).unwrap();
    assert!(one.ok && one.records == 1, "{one:?}");

    // The treasury summary: a reviewer's escalation with a note, then the supervisor rejects.
    app.click("[data-testid=tab-escalations]").await;
    app.click(&format!(
        "[data-testid=escalation-row][data-request-id='{}']",
        treasury.request_id
    ))
    .await;
    app.wait_for("[data-testid=escalate-note]", 1).await[0]
        .send_keys("Account-level data goes to a chart: is that needed?")
        .await
        .unwrap();
    app.click("[data-testid=escalate]").await;
    app.text_until("[data-testid=escalation-banner]", |t| {
        t.contains("Escalated by a reviewer")
    })
    .await;
    app.screenshot("supervisor-request.png").await;
    app.wait_for("[data-testid=reason]", 1).await[0]
        .send_keys("Visualization must not receive account-level data.")
        .await
        .unwrap();
    app.click("[data-testid=reject]").await;
    // The outcome re-renders as the request updates: wait on its text.
    let outcome = app
        .text_until("[data-testid=decision-outcome] p", |t| {
            t.contains("delivered")
        })
        .await;
    assert!(outcome.contains("delivered"), "{outcome}");

    // The queue is clear.
    app.click("[data-testid=tab-escalations]").await;
    app.text_until("[data-testid=escalations]", |t| {
        t.contains("the queue is clear")
    })
    .await;

    // The dashboard: four received, three exceptions… measured by the gateway.
    app.click("[data-testid=tab-dashboard]").await;
    // Exceptions: the override, the overdue refund and the policy block; waiting for a second
    // approver is the normal path of a critical request.
    let exception = app.text("[data-testid=metric-exception]").await;
    assert!(
        exception.contains("3 of 4 left the normal path"),
        "{exception}"
    );
    let correction = app.text("[data-testid=metric-correction]").await;
    assert!(
        correction.contains("1 rejected, 1 overridden of 3 decided"),
        "{correction}"
    );
    app.wait_for("[data-testid=plot] rect", 2).await;

    // The auditor's export: a bundle saved on this machine that verifies offline against the
    // log key the gateway publishes.
    app.click("[data-testid=export-bundle]").await;
    let command = app.text("[data-testid=verify-command]").await;
    let path = command
        .trim_start_matches("countersign verify-bundle ")
        .to_owned();
    let log_key = countersign_gateway::audit::log_verifier(
        &gateway.dir().join("log-key.pem"),
        &countersign_gateway::log_origin(countersign_e2e::AUDIENCE),
    )
    .unwrap();
    let report =
        countersign_bundle::verify_bundle(std::path::Path::new(&path), Some(&log_key)).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.records, 4);
    app.screenshot("dashboard.png").await;
    app.stop().await;
}
