//! The delegation chain, hop by hop: who delegated what to whom, and what changed.

use countersign_wire::console::{GrantChange, HopView, KeyStatus};
use countersign_wire::{AuthorizationDetail, Severity};
use leptos::prelude::*;

use super::Findings;

pub(crate) fn grant_text(detail: &AuthorizationDetail) -> String {
    let mut text = format!("{}: {}", detail.detail_type, detail.actions.join(", "));
    if let Some(locations) = &detail.locations {
        text.push_str(&format!(" at {}", locations.join(", ")));
    }
    if let Some(constraints) = &detail.constraints {
        let parts: Vec<String> = constraints
            .iter()
            .map(|(k, v)| {
                format!(
                    "{k} = {}",
                    v.as_str()
                        .map(str::to_owned)
                        .unwrap_or_else(|| v.to_string())
                )
            })
            .collect();
        if !parts.is_empty() {
            text.push_str(&format!(" · {}", parts.join(", ")));
        }
    }
    text
}

#[component]
pub(crate) fn Hop(hop: HopView) -> impl IntoView {
    let (key_class, key_text) = match &hop.key {
        KeyStatus::Verified(kid) => (
            "key ok",
            format!(
                "signature verified · key {}…",
                kid.chars().take(10).collect::<String>()
            ),
        ),
        KeyStatus::Unknown => ("key bad", "signed by an unregistered key".to_owned()),
        KeyStatus::Invalid => ("key bad", "signature does not verify".to_owned()),
        KeyStatus::NotChecked => ("key bad", "signature not checked".to_owned()),
    };
    let has_error = hop.findings.iter().any(|f| f.severity == Severity::Error);
    view! {
        <li class="hop" class:has-error=has_error data-testid="hop" data-hop=hop.index>
            <span class="dot"></span>
            <div class="hop-card">
                <div class="hop-head">
                    <span class="hop-index">"hop " {hop.index}</span>
                    <span class="parties">
                        {hop.delegator_name.clone().unwrap_or_else(|| hop.delegator.clone())}
                        " → "
                        {hop.delegatee_name.clone().unwrap_or_else(|| hop.delegatee.clone())}
                    </span>
                    <span class=key_class>{key_text}</span>
                </div>
                <div class="identities">{hop.delegator.clone()} " → " {hop.delegatee.clone()}</div>
                <ul class="grants">
                    {hop.grants.iter().map(|g| {
                        let (class, label) = match g.change {
                            GrantChange::Root => ("grant root", "granted"),
                            GrantChange::Unchanged => ("grant same", "kept"),
                            GrantChange::Narrowed => ("grant narrowed", "narrowed"),
                            GrantChange::Widened => ("grant widened", "WIDENED"),
                        };
                        view! { <li class=class><span class="change">{label}</span>{grant_text(&g.detail)}</li> }
                    }).collect_view()}
                    {hop.dropped.iter().map(|d| view! { <li class="grant dropped"><span class="change">"dropped"</span>{d.clone()}</li> }).collect_view()}
                </ul>
                <div class="hop-meta">
                    {hop.purpose.clone().map(|p| view! { <span>"purpose " <code>{p.id}</code></span> })}
                    <span>"expires " {hop.expires_at.minute_text()}</span>
                    <span>"may delegate " {hop.remaining_depth} " more"</span>
                </div>
                {(!hop.findings.is_empty()).then(|| view! { <Findings findings=hop.findings.clone() /> })}
            </div>
        </li>
    }
}
