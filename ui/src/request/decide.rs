//! Deciding: what the requirements ask of this reviewer, and the signed outcome.

use countersign_wire::api::ErrorCode;
use countersign_wire::console::{ConsoleError, Decide, DecideOutcome, RequestView};
use countersign_wire::{DecisionKind, FindingCode};
use leptos::prelude::*;

use crate::text::explain;

use super::DecisionState;

/// What became of the reviewer's last decision; stays visible after the panel turns into
/// "Decided".
#[component]
pub(crate) fn Outcome(decision: DecisionState) -> impl IntoView {
    view! {
        <div class="outcome" data-testid="decision-outcome">
                {move || decision.sent.value().get().map(|outcome| match outcome {
                    Ok(DecideOutcome::Delivered) => view! { <p class="ok">"Signed with your key and delivered to the workflow."</p> }.into_any(),
                    Ok(DecideOutcome::Queued) => view! { <p class="warn">"The gateway is unreachable: your signed decision is queued and will be sent when it is back."</p> }.into_any(),
                    Ok(DecideOutcome::AlreadyDecided(state)) => view! { <p class="warn">"Someone else decided first: the request is " {state} "."</p> }.into_any(),
                    Ok(DecideOutcome::Expired) => view! { <p class="warn">"Too late: the request expired before your decision arrived."</p> }.into_any(),
                    Ok(DecideOutcome::Refused(why)) => view! { <p class="bad">"The gateway refused the decision: " {why}</p> }.into_any(),
                    Ok(DecideOutcome::Counted) => view! { <p class="ok" data-testid="counted">"Your approval is signed and counted. The policy needs another approver before the workflow may act."</p> }.into_any(),
                    Err(error) => view! { <p class="bad" data-testid="decision-error">{error.message}</p> }.into_any(),
                })}
            </div>
    }
}

#[component]
pub(crate) fn DecidePanel(request: RequestView, decision: DecisionState) -> impl IntoView {
    let record = request.record.clone();
    if let Some(made) = record.decision.clone() {
        return view! {
            <section class="panel decided" data-testid="decided">
                <h2>"Decided"</h2>
                <p><strong>{format!("{:?}", made.decision).to_lowercase()}</strong> " by " {made.decided_by} " at " {made.decided_at.minute_text()}</p>
                <p class="reason">"“" {made.reason} "”"</p>
            </section>
        }
        .into_any();
    }
    if !record.state.is_open() {
        return view! { <section class="panel decided"><h2>{format!("This request is {}", record.state.as_str())}</h2></section> }.into_any();
    }
    // What deciding takes is countersign-review's to say; this panel only renders it.
    let needs = request.requirements.clone();
    let errors = needs.blocked_by.clone();
    let warnings = needs.warnings.clone();
    let blocked = !errors.is_empty();
    let request_id = record.request_id.clone();
    let supervisor = needs.may_override;
    let draft = needs.clone();
    let can_approve = move || {
        let acknowledged: Vec<FindingCode> =
            decision.acknowledged.with(|a| a.iter().cloned().collect());
        draft
            .unmet(DecisionKind::Approve, &decision.reason.get(), &acknowledged)
            .is_none()
    };
    let critical_irreversible = needs.confirm_critical;
    let reason_to_approve = needs.reason_to_approve;
    let errors_for_override = errors.clone();
    let submit = move |kind: DecisionKind| {
        let reason = decision.reason.get_untracked();
        if kind == DecisionKind::Reject && needs.unmet(kind, &reason, &[]).is_some() {
            // The console refuses it too; saying so here keeps the reviewer's text in place.
            decision.sent.value().set(Some(Err(ConsoleError {
                code: ErrorCode::ReasonRequired.into(),
                message: "Write why you reject it: the workflow and the auditor will read it."
                    .into(),
            })));
            return;
        }
        if kind == DecisionKind::Approve
            && critical_irreversible
            && !decision.confirming.get_untracked()
        {
            decision.confirming.set(true);
            return;
        }
        decision.sent.dispatch_local(Decide {
            request_id: request_id.clone(),
            decision: kind,
            reason: decision.reason.get_untracked(),
            acknowledged: decision.acknowledged.get_untracked().into_iter().collect(),
        });
    };
    let submit_approve = submit.clone();
    view! {
        <section class="panel decide" data-testid="decide">
            <h2>"Your decision"</h2>
            {move || (blocked && !supervisor).then(|| view! {
                <p class="blocked" data-testid="approve-blocked">"Approval is blocked by " {errors.iter().map(|c| c.as_str()).collect::<Vec<_>>().join(", ")} ". A supervisor must handle it; you may still reject it or escalate it below."</p>
            })}
            {move || (blocked && supervisor).then(|| {
                let codes = errors_for_override.clone();
                view! {
                    <div class="acks override" data-testid="override">
                        <p>"Blocked for reviewers. As a supervisor you may override: acknowledge each finding and give the reason. The override is recorded in the decision and the audit log."</p>
                        {codes.into_iter().map(|code| view! { <AckBox code=code testid="ack-override" decision=decision /> }).collect_view()}
                    </div>
                }
            })}
            {(!warnings.is_empty()).then(|| view! {
                <div class="acks">
                    <p>"Acknowledge each warning before approving:"</p>
                    {warnings.iter().cloned().map(|code| view! { <AckBox code=code testid="ack" decision=decision /> }).collect_view()}
                </div>
            })}
            <label class="reason-label" for="reason">
                {if reason_to_approve { "Reason (required)" } else { "Reason (required to reject)" }}
            </label>
            <textarea id="reason" data-testid="reason" rows="3" placeholder="What did you check? The workflow and the auditor will read this."
                prop:value=move || decision.reason.get()
                on:input=move |ev| decision.reason.set(event_target_value(&ev))></textarea>
            <div class="buttons">
                <button class="approve" data-testid="approve" disabled=move || !can_approve() || decision.sent.pending().get()
                    on:click=move |_| submit_approve(DecisionKind::Approve)>
                    {move || if decision.confirming.get() { "Confirm: approve this critical, irreversible action" } else if blocked { "Override and approve" } else { "Approve and sign" }}
                </button>
                <button class="reject" data-testid="reject" disabled=move || decision.sent.pending().get() on:click=move |_| submit(DecisionKind::Reject)>"Reject and sign"</button>
            </div>
            {move || decision.confirming.get().then(|| view! {
                <p class="confirm" data-testid="confirm-critical">"This action is critical and cannot be undone. Click again to confirm."</p>
            })}
        </section>
    }
    .into_any()
}

/// One finding code to acknowledge before approving, with what it means.
#[component]
pub(crate) fn AckBox(
    code: FindingCode,
    testid: &'static str,
    decision: DecisionState,
) -> impl IntoView {
    let text = code.as_str().to_owned();
    let toggle = code.clone();
    view! {
        <label class="ack">
            <input type="checkbox" data-testid=testid data-code=text.clone()
                on:change=move |ev| {
                    let checked = event_target_checked(&ev);
                    decision.acknowledged.update(|a| {
                        if checked { a.insert(toggle.clone()); } else { a.remove(&toggle); }
                    });
                } />
            <span><code>{text}</code> " — " {explain(&code)}</span>
        </label>
    }
}
