//! The opened request: chain, action, evidence, uncertainty and the decision, side by side.

use std::collections::BTreeSet;

use countersign_wire::console::{ConsoleError, Decide, DecideOutcome, RequestView};
use countersign_wire::{DecisionKind, DelegationRequest, Finding, FindingCode, Severity};
use leptos::prelude::*;

use crate::bridge;
use crate::snooze::NotNowPanel;
use crate::supervision::{
    AssignPanel, EscalatePanel, EscalationBanner, ExportRequestPanel, RequestChanges,
};
use crate::text::{countdown, explain, seconds_until, tier_label};

mod chain;
mod decide;
mod panels;

use chain::Hop;
use decide::{DecidePanel, Outcome};
use panels::{ActionPanel, EvidencePanel, NotesPanel, UncertaintyPanel};

/// The decide panel's state, kept above the request view so re-renders never lose a reason
/// being typed, nor the answer to a decision in flight.
#[derive(Clone, Copy)]
pub(crate) struct DecisionState {
    pub(crate) kind: RwSignal<Option<DecisionKind>>,
    pub(crate) reason: RwSignal<String>,
    pub(crate) acknowledged: RwSignal<BTreeSet<FindingCode>>,
    pub(crate) confirming: RwSignal<bool>,
    /// Signing and sending: `pending()` while it runs; `value()` the outcome, or why the
    /// console would not send it.
    pub(crate) sent: Action<Decide, Result<DecideOutcome, ConsoleError>>,
}

impl DecisionState {
    pub(crate) fn new() -> Self {
        DecisionState {
            kind: RwSignal::new(None),
            reason: RwSignal::new(String::new()),
            acknowledged: RwSignal::new(BTreeSet::new()),
            confirming: RwSignal::new(false),
            sent: bridge::action(),
        }
    }

    pub(crate) fn reset(&self) {
        self.kind.set(None);
        self.reason.set(String::new());
        self.acknowledged.set(BTreeSet::new());
        self.confirming.set(false);
        self.sent.value().set(None);
    }

    pub(crate) fn intend(&self, kind: DecisionKind) {
        self.kind.set(Some(kind));
        self.confirming.set(false);
        if let Some(el) = document().get_element_by_id("reason")
            && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el)
        {
            let _ = el.focus();
        }
    }
}

#[component]
pub(crate) fn RequestDetail(
    request: RequestView,
    now: RwSignal<f64>,
    decision: DecisionState,
    supervisor: Signal<bool>,
    auditing: Signal<bool>,
    changes: RequestChanges,
) -> impl IntoView {
    let record = request.record.clone();
    let typed: Option<DelegationRequest> = serde_json::from_value(record.request.clone()).ok();
    let expires = record.expires_at;
    let summary = typed
        .as_ref()
        .map(|r| r.action.summary.clone())
        .unwrap_or_default();
    let state_label = record.state.as_str();
    let irreversible = typed.as_ref().is_some_and(|r| !r.action.impact.reversible);
    let open = record.state.is_open();
    // Already escalated by a reviewer: asking again adds nothing.
    let asked = record.escalation.as_ref().is_some_and(|e| {
        e.reasons
            .contains(&countersign_wire::api::EscalationReason::ByReviewer)
    });
    view! {
        <article class="request" data-testid="request-view" data-request-id=record.request_id.clone()>
            <header class="request-head">
                <div class="badges">
                    <span class=format!("tier tier-{}", tier_label(record.tier).to_lowercase())>{tier_label(record.tier)}</span>
                    <span class=format!("state state-{state_label}")>{state_label}</span>
                    {irreversible.then(|| view! { <span class="irreversible">"irreversible"</span> })}
                    <span class="countdown">"expires in " {move || countdown(seconds_until(expires, now.get()))}</span>
                </div>
                <h1 data-testid="request-summary">{summary}</h1>
                <div class="ids">{record.request_id.clone()} " · principal " {typed.as_ref().map(|r| r.principal.clone())}</div>
                {typed.as_ref().map(|r| view! { <p class="purpose">"Purpose: " {r.purpose.text.clone()}</p> })}
            </header>
            <EscalationBanner record=record.clone() now=now />

            {(!request.request_findings.is_empty()).then(|| view! {
                <section class="panel">
                    <h2>"Findings about the request"</h2>
                    <Findings findings=request.request_findings.clone() />
                </section>
            })}

            <section class="panel">
                <h2>"Delegation chain"</h2>
                <ol class="timeline" data-testid="chain">
                    {typed.as_ref().map(|r| view! {
                        <li class="principal-node"><span class="dot"></span>"Principal: " <strong>{r.principal.clone()}</strong></li>
                    })}
                    {request.hops.clone().into_iter().map(|hop| view! { <Hop hop=hop /> }).collect_view()}
                    {typed.as_ref().map(|r| view! {
                        <li class="actor-node"><span class="dot"></span>"Acting agent: " <strong>{r.action.requested_by.clone()}</strong></li>
                    })}
                </ol>
            </section>

            {typed.clone().map(|r| view! { <ActionPanel request=r /> })}
            {typed.clone().map(|r| view! { <EvidencePanel request=r findings=record.report.findings.clone() /> })}
            {typed.clone().map(|r| view! { <UncertaintyPanel request=r /> })}
            {(!record.notes.is_empty()).then(|| view! { <NotesPanel notes=record.notes.clone() now=now /> })}
            <DecidePanel request=request.clone() decision=decision />
            <Outcome decision=decision />
            {open.then(|| {
                let request = request.clone();
                move || supervisor.get().then(|| view! { <AssignPanel request=request.clone() changes=changes /> })
            })}
            {open.then(|| view! { <NotNowPanel request_id=record.request_id.clone() expires_at=expires now=now /> })}
            {(open && !asked).then(|| view! { <EscalatePanel request=request.clone() changes=changes /> })}
            {
                let id = record.request_id.clone();
                move || auditing.get().then(|| view! { <ExportRequestPanel request_id=id.clone() /> })
            }
        </article>
    }
}

#[component]
pub(crate) fn Findings(findings: Vec<Finding>) -> impl IntoView {
    view! {
        <ul class="findings">
            {findings.into_iter().map(|f| {
                let class = if f.severity == Severity::Error { "finding error" } else { "finding warning" };
                let code = f.code.to_string();
                view! {
                    <li class=class data-testid="finding" data-code=code.clone()>
                        <span class="code">{code.clone()}</span>
                        <span class="explain">{explain(&f.code)}</span>
                        <span class="finding-detail">{f.detail}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
