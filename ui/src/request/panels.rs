//! What the acting agent wants to do, the evidence it brings, how sure it is, and what the
//! requester added while it waited.

use countersign_wire::api::RequesterNote;
use countersign_wire::{DelegationRequest, Evidence, Finding, FindingCode};
use leptos::prelude::*;

use crate::text::{age, looks_like_instructions, seconds_until, tier_label};

#[component]
pub(crate) fn ActionPanel(request: DelegationRequest) -> impl IntoView {
    let action = request.action;
    let value = action
        .impact
        .value
        .as_ref()
        .map(|v| format!("{} {}", v.amount, v.currency))
        .unwrap_or_else(|| "—".into());
    view! {
        <section class="panel">
            <h2>"Action"</h2>
            <table class="kv" data-testid="action">
                <tr><th>"Type"</th><td><code>{action.action_type.clone()}</code> " · " {action.operation.clone()}</td></tr>
                <tr><th>"Tool"</th><td>{action.tool.as_ref().map(|t| format!("{}{}", t.name, t.server.as_ref().map(|s| format!(" on {s}")).unwrap_or_default())).unwrap_or_else(|| "—".into())}</td></tr>
                <tr><th>"Resource"</th><td><code>{action.resource.clone()}</code></td></tr>
                <tr><th>"Impact"</th><td>{tier_label(action.impact.tier)} " · " {if action.impact.reversible { "reversible" } else { "irreversible" }} " · value " {value}</td></tr>
                <tr><th>"Requested by"</th><td>{action.requested_by.clone()}</td></tr>
            </table>
            <h3>"Arguments"</h3>
            <table class="kv args">
                {action.arguments.iter().map(|(k, v)| view! {
                    <tr><th>{k.clone()}</th><td><code>{v.as_str().map(str::to_owned).unwrap_or_else(|| v.to_string())}</code></td></tr>
                }).collect_view()}
            </table>
        </section>
    }
}

#[component]
pub(crate) fn EvidencePanel(request: DelegationRequest, findings: Vec<Finding>) -> impl IntoView {
    let items = request.evidence;
    view! {
        <section class="panel">
            <h2>"Evidence " <span class="hint">"(untrusted: shown as plain text)"</span></h2>
            {if items.is_empty() { Some(view! { <p class="empty">"No evidence attached."</p> }) } else { None }}
            <ul class="evidence">
                {items.into_iter().map(|item| view! { <EvidenceItem item=item findings=findings.clone() /> }).collect_view()}
            </ul>
        </section>
    }
}

#[component]
pub(crate) fn EvidenceItem(item: Evidence, findings: Vec<Finding>) -> impl IntoView {
    let mismatch = findings.iter().any(|f| {
        f.code == FindingCode::EvidenceDigestMismatch && f.evidence_id.as_ref() == Some(&item.id)
    });
    let content = item.content.clone().unwrap_or_default();
    let flagged = looks_like_instructions(&content) || looks_like_instructions(&item.title);
    // JSON is shown pretty-printed; everything is still a text node.
    let shown = serde_json::from_str::<serde_json::Value>(&content)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or(content);
    let kind = format!("{:?}", item.kind).to_lowercase();
    view! {
        <li class="evidence-item" data-testid="evidence" data-evidence-id=item.id.clone()>
            <div class="evidence-head">
                <span class="kind">{kind}</span>
                <strong>{item.title.clone()}</strong>
                {flagged.then(|| view! { <span class="flag" data-testid="instruction-flag">"⚠ reads like instructions to an agent or reviewer"</span> })}
            </div>
            <div class="evidence-meta">
                "from " {item.produced_by.clone()} " · captured " {item.captured_at.clone()} " · "
                {if mismatch { view! { <span class="digest bad">"digest MISMATCH"</span> }.into_any() } else { view! { <span class="digest ok">"digest matches"</span> }.into_any() }}
                {item.uri.clone().map(|u| view! { <span>" · " {u}</span> })}
            </div>
            <details open=flagged>
                <summary>"Show content (" {item.content_type.clone()} ")"</summary>
                <pre class="evidence-content" data-testid="evidence-content">{shown}</pre>
            </details>
        </li>
    }
}

#[component]
pub(crate) fn UncertaintyPanel(request: DelegationRequest) -> impl IntoView {
    let u = request.uncertainty;
    let percent = (u.confidence * 100.0).round();
    let low = u.confidence < 0.6;
    view! {
        <section class="panel">
            <h2>"Uncertainty"</h2>
            <div class="confidence" class:low=low>
                <div class="bar"><div class="fill" style=format!("width: {percent}%")></div></div>
                <span>{format!("{percent:.0}% confidence")} " · " {u.method.clone()}</span>
            </div>
            <div class="columns">
                <div><h3>"Assumptions"</h3><ul>{u.assumptions.iter().map(|a| view! { <li>{a.clone()}</li> }).collect_view()}</ul></div>
                <div><h3>"Known unknowns"</h3><ul>{u.known_unknowns.iter().map(|a| view! { <li>{a.clone()}</li> }).collect_view()}</ul></div>
                <div><h3>"Alternatives considered"</h3><ul>{u.alternatives.iter().map(|a| view! { <li><strong>{a.summary.clone()}</strong> " — " {a.why_not.clone()}</li> }).collect_view()}</ul></div>
            </div>
        </section>
    }
}

/// Follow-up messages from the requesting workflow. They are its unverified word, rendered as
/// inert text and flagged when they read like instructions; what a decision signs is the
/// request above, never these.
#[component]
pub(crate) fn NotesPanel(notes: Vec<RequesterNote>, now: RwSignal<f64>) -> impl IntoView {
    view! {
        <section class="panel notes" data-testid="requester-notes">
            <h2>"Notes from the requester"</h2>
            <p class="untrusted-hint">
                "Sent by the workflow while this request waited. Unverified, and not part of what you sign: "
                "approve or reject the request above, not these notes."
            </p>
            <ol class="requester-notes">
                {notes.into_iter().map(|note| {
                    let at = note.at;
                    let suspicious = looks_like_instructions(&note.text);
                    view! {
                        <li class="requester-note" data-testid="requester-note" data-message-id=note.message_id.clone()>
                            <span class="since">{move || age(-seconds_until(at, now.get()))} " ago"</span>
                            {suspicious.then(|| view! { <span class="flag">"reads like instructions"</span> })}
                            <div class="text">{note.text}</div>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </section>
    }
}
