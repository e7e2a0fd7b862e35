//! The demo workflow against a gateway, with people deciding while it waits.

use std::sync::Mutex;
use std::time::Duration;

use countersign_client::demo_workflow::{DemoStep, run_demo_workflow};
use countersign_wire::DecisionKind;
use countersign_wire::api::{ReceiptStatus, RequestState};

use countersign_testkit::{AUDIENCE, TestGateway, WORKFLOW_TOKEN};

#[tokio::test]
async fn the_demo_workflow_submits_waits_verifies_and_posts_receipts() {
    let gw = TestGateway::start().await;
    let steps = Mutex::new(Vec::new());
    let record_step = |step: DemoStep| steps.lock().unwrap().push(step);
    let workflow = run_demo_workflow(
        &gw.client,
        WORKFLOW_TOKEN,
        AUDIENCE,
        gw.clock.as_ref(),
        "demo",
        Duration::from_secs(20),
        &record_step,
    );
    let people = async {
        // Decide everything that reaches the queue: approve valid requests, reject blocked ones.
        let mut decided = 0;
        while decided < 6 {
            for record in gw.client.queue(&gw.reviewer).await.unwrap().requests {
                let flags: Vec<&str> = record
                    .report
                    .findings
                    .iter()
                    .filter(|f| f.severity == countersign_wire::Severity::Warning)
                    .map(|f| f.code.as_str())
                    .collect();
                let (who, decision, reason) = match record.state {
                    RequestState::Pending => (
                        &gw.reviewer,
                        DecisionKind::Approve,
                        "checked against the evidence",
                    ),
                    _ => (
                        &gw.supervisor,
                        DecisionKind::Reject,
                        "blocked by the chain's findings",
                    ),
                };
                let jws = gw.decision(who, &record, decision, reason, &flags);
                if gw
                    .post_decision(who, &record.request_id, &jws)
                    .await
                    .status()
                    .as_u16()
                    == 201
                {
                    decided += 1;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let (open, ()) = tokio::join!(workflow, people);
    assert_eq!(open.unwrap(), 0, "every request settled");

    let steps = steps.into_inner().unwrap();
    let submitted = steps
        .iter()
        .filter(|s| matches!(s, DemoStep::Submitted { .. }))
        .count();
    let refused: Vec<_> = steps
        .iter()
        .filter_map(|s| match s {
            DemoStep::Refused { slug, findings } => Some((slug.as_str(), findings.clone())),
            _ => None,
        })
        .collect();
    let mut decided: Vec<(String, DecisionKind, ReceiptStatus)> = steps
        .iter()
        .filter_map(|s| match s {
            DemoStep::Decided {
                slug,
                decision,
                receipt,
                ..
            } => Some((slug.clone(), *decision, *receipt)),
            _ => None,
        })
        .collect();
    decided.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(submitted, 6);
    assert_eq!(refused, [("forged-hop", vec!["UNKNOWN_KEY".to_owned()])]);
    assert!(
        !steps
            .iter()
            .any(|s| matches!(s, DemoStep::Unverified { .. })),
        "{steps:?}"
    );
    use DecisionKind::*;
    use ReceiptStatus::*;
    assert_eq!(
        decided,
        vec![
            ("ghost-export".into(), Reject, Skipped),
            ("refund-exception".into(), Approve, Executed),
            ("supplier-payment".into(), Approve, Executed),
            ("treasury-summary".into(), Approve, Executed),
            ("undelegated-summarizer".into(), Reject, Skipped),
            ("widened-recipients".into(), Reject, Skipped),
        ]
    );
}

#[tokio::test]
async fn consoles_read_the_trust_store_the_gateway_verifies_with() {
    let gw = TestGateway::start().await;
    let trust = gw.client.trust(&gw.reviewer).await.unwrap();
    let on_disk: countersign_wire::TrustStore =
        serde_json::from_slice(&std::fs::read(&gw.config.trust).unwrap()).unwrap();
    assert_eq!(trust, on_disk);
    assert!(trust.parties.len() >= 5, "the demo cast is listed");
    // Only enrolled consoles may read it.
    let anonymous = countersign_testkit::http()
        .get(gw.url("/v1/trust"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
}

#[tokio::test]
async fn consoles_read_recent_history_including_refusals() {
    let gw = TestGateway::start().await;
    gw.submit(&gw.scenario("forged-hop")).await;
    gw.submit(&gw.scenario("refund-exception")).await;
    gw.advance(chrono::Duration::seconds(1));
    gw.submit(&gw.scenario("supplier-payment")).await;
    let record = gw.record("supplier-payment-t").await;
    let jws = gw.decision(
        &gw.reviewer,
        &record,
        DecisionKind::Reject,
        "not our supplier",
        &[],
    );
    gw.post_decision(&gw.reviewer, &record.request_id, &jws)
        .await;

    let history = gw.client.history(&gw.reviewer, 10).await.unwrap();
    let seen: Vec<(&str, RequestState)> = history
        .iter()
        .map(|r| (r.request_id.as_str(), r.state))
        .collect();
    assert_eq!(
        seen,
        [
            ("supplier-payment-t", RequestState::Rejected),
            ("forged-hop-t", RequestState::Refused)
        ],
        "closed only, newest first; the open refund is not history"
    );
    assert_eq!(
        history[0].decision.as_ref().map(|d| d.reason.as_str()),
        Some("not our supplier")
    );
    assert_eq!(gw.client.history(&gw.reviewer, 1).await.unwrap().len(), 1);
}
