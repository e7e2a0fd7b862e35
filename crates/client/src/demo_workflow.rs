//! The demo workflow: submits the brief's seven scenarios, waits for the human decisions,
//! verifies each against the gateway's JWKS as any workflow must, and posts receipts.
//!
//! `countersign demo-workflow` runs it against a gateway; the console's embedded demo runs it
//! in-process so decisions really flow back to a waiting workflow.

use std::time::Duration;

use chrono::SecondsFormat;
use countersign_chain::digest::decision_subject;
use countersign_review::Clock;
use countersign_scenarios::demo::demo;
use countersign_wire::DecisionKind;
use countersign_wire::api::{NoteSubmission, Receipt, ReceiptStatus, RequestState};

use crate::{ClientError, GatewayClient, Submitted, verify_decision};

/// Something the demo workflow did, for printing or display.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "step")]
pub enum DemoStep {
    /// Submitted and stored.
    Submitted {
        /// Scenario slug.
        slug: String,
        /// Request id.
        request_id: String,
        /// Where it went.
        state: RequestState,
        /// Finding codes reported.
        findings: Vec<String>,
    },
    /// Refused at intake.
    Refused {
        /// Scenario slug.
        slug: String,
        /// Finding codes that caused it.
        findings: Vec<String>,
    },
    /// A decision arrived and was verified against the JWKS.
    Decided {
        /// Scenario slug.
        slug: String,
        /// Approve or reject.
        decision: DecisionKind,
        /// Reviewer.
        by: String,
        /// What the workflow then did.
        receipt: ReceiptStatus,
    },
    /// A decision arrived but did not verify; the workflow does not act on it.
    Unverified {
        /// Scenario slug.
        slug: String,
        /// Why.
        reason: String,
    },
    /// Nobody decided in time.
    Ended {
        /// Scenario slug.
        slug: String,
        /// Final state (expired or withdrawn).
        state: RequestState,
    },
}

/// Runs the demo workflow until every request is settled or `give_up_after` passes.
/// Returns the number of requests still open at the end.
pub async fn run_demo_workflow(
    client: &GatewayClient,
    workflow_token: &str,
    audience: &str,
    clock: &dyn Clock,
    run_id: &str,
    give_up_after: Duration,
    on_step: &(dyn Fn(DemoStep) + Send + Sync),
) -> Result<usize, ClientError> {
    let scenarios = demo(clock.now(), run_id).scenarios;
    let mut waiting = Vec::new();
    for scenario in &scenarios {
        let body = serde_json::to_vec(&scenario.request)
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        match client.submit(workflow_token, &body).await? {
            Submitted::Accepted(accepted) => {
                on_step(DemoStep::Submitted {
                    slug: scenario.slug.into(),
                    request_id: accepted.request_id.clone(),
                    state: accepted.state,
                    findings: accepted
                        .report
                        .findings
                        .iter()
                        .map(|f| f.code.to_string())
                        .collect(),
                });
                if let Some(text) = scenario.follow_up() {
                    let note = NoteSubmission {
                        message_id: format!("{}-note", accepted.request_id),
                        text: text.into(),
                    };
                    client
                        .post_note(workflow_token, &accepted.request_id, &note)
                        .await?;
                }
                let subject = decision_subject(&scenario.request)
                    .map_err(|e| ClientError::Protocol(e.to_string()))?;
                waiting.push((scenario.slug, accepted.request_id, subject));
            }
            Submitted::Refused(error) => on_step(DemoStep::Refused {
                slug: scenario.slug.into(),
                findings: error
                    .report
                    .map(|r| r.findings.iter().map(|f| f.code.to_string()).collect())
                    .unwrap_or_default(),
            }),
        }
    }

    let deadline = tokio::time::Instant::now() + give_up_after;
    let settle = waiting
        .iter()
        .map(|(slug, request_id, subject)| async move {
            loop {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                if left.is_zero() {
                    return Ok::<bool, ClientError>(false);
                }
                let outcome = match client
                    .wait_for_decision(workflow_token, request_id, left.as_secs().clamp(1, 30))
                    .await
                {
                    Ok(outcome) => outcome,
                    // The gateway may be restarting: keep waiting, like a real workflow would.
                    Err(e) if e.is_unreachable() => {
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if outcome.state.is_open() {
                    continue;
                }
                let Some(jws) = outcome.decision_jws else {
                    on_step(DemoStep::Ended {
                        slug: (*slug).into(),
                        state: outcome.state,
                    });
                    return Ok(true);
                };
                let jwks = client.jwks().await?;
                match verify_decision(&jws, &jwks, audience, subject, clock.now()) {
                    Ok(claims) => {
                        let receipt = match claims.decision {
                            DecisionKind::Approve => ReceiptStatus::Executed,
                            DecisionKind::Reject => ReceiptStatus::Skipped,
                        };
                        let detail = match receipt {
                            ReceiptStatus::Executed => {
                                "demo workflow carried out the approved action"
                            }
                            _ => "demo workflow did not act: the reviewer rejected it",
                        };
                        client
                            .post_receipt(
                                workflow_token,
                                request_id,
                                &Receipt {
                                    status: receipt,
                                    executed_at: clock
                                        .now()
                                        .to_rfc3339_opts(SecondsFormat::Secs, true),
                                    detail: detail.into(),
                                    result_digest: None,
                                },
                            )
                            .await?;
                        on_step(DemoStep::Decided {
                            slug: (*slug).into(),
                            decision: claims.decision,
                            by: claims.iss,
                            receipt,
                        });
                    }
                    Err(e) => on_step(DemoStep::Unverified {
                        slug: (*slug).into(),
                        reason: e.to_string(),
                    }),
                }
                return Ok(true);
            }
        });
    let settled = futures_util::future::join_all(settle).await;
    let mut open = 0;
    for result in settled {
        if !result? {
            open += 1;
        }
    }
    Ok(open)
}
