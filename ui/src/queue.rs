//! The left column: the queue as a virtualized list, history, and the decisions this console
//! signed with what became of each.

use std::collections::HashMap;

use countersign_wire::DecisionKind;
use countersign_wire::api::RequestState;
use countersign_wire::console::{DecideOutcome, QueueItem, Snapshot};
use leptos::html;
use leptos::prelude::*;

use crate::text::{Similar, seconds_until, tier_label};
use crate::text::{countdown, delivery_status, scroll_to_show, visible_rows};

/// Every queue row is this tall (CSS `.row` agrees), so the list can be virtualized.
pub(crate) const ROW_HEIGHT: f64 = 104.0;
const OVERSCAN: usize = 6;

/// The queue (or the refused list): only rows in view exist in the DOM.
#[component]
pub(crate) fn QueueList(
    rows: Memo<Vec<QueueItem>>,
    similar: Memo<HashMap<String, Similar>>,
    selected: RwSignal<usize>,
    opened: RwSignal<Option<String>>,
    now: RwSignal<f64>,
) -> impl IntoView {
    let container = NodeRef::<html::Div>::new();
    let scroll_top = RwSignal::new(0.0);
    let viewport = RwSignal::new(900.0);
    let measure = move || {
        if let Some(el) = container.get_untracked() {
            scroll_top.set(el.scroll_top() as f64);
            viewport.set(el.client_height() as f64);
        }
    };
    Effect::new(move |_| {
        if container.get().is_some() {
            measure();
        }
    });
    let _ = window_event_listener(leptos::ev::resize, move |_| measure());
    // Keyboard moves keep the selected row in view.
    Effect::new(move |_| {
        let index = selected.get();
        if let Some(el) = container.get_untracked()
            && let Some(top) = scroll_to_show(
                index,
                el.scroll_top() as f64,
                el.client_height() as f64,
                ROW_HEIGHT,
            )
        {
            el.set_scroll_top(top as i32);
        }
    });
    let window = move || {
        let count = rows.with(Vec::len);
        visible_rows(
            scroll_top.get(),
            viewport.get(),
            ROW_HEIGHT,
            count,
            OVERSCAN,
        )
    };
    // Rows are keyed by position and id: while scrolling, rows still in view stay in the DOM
    // and only those entering it are built.
    // Each row with its place among similar requests, which is part of its key: a row that
    // joins or leaves a group is built again.
    let shown = move || -> Vec<(usize, QueueItem, Option<Similar>)> {
        let range = window();
        similar.with(|similar| {
            rows.with(|r| {
                r.get(range.clone())
                    .unwrap_or_default()
                    .iter()
                    .cloned()
                    .enumerate()
                    .map(|(i, item)| {
                        let group = similar.get(&item.request_id).cloned();
                        (range.start + i, item, group)
                    })
                    .collect()
            })
        })
    };
    view! {
        <div class="rows virtual" data-testid="queue" node_ref=container on:scroll=move |_| measure()>
            <Show
                when=move || rows.with(|r| !r.is_empty())
                fallback=|| view! { <p class="empty">"Nothing waiting for you."</p> }
            >
                <div
                    class="spacer"
                    data-testid="queue-spacer"
                    data-rows=move || rows.with(Vec::len)
                    style:height=move || format!("{}px", rows.with(Vec::len) as f64 * ROW_HEIGHT)
                >
                    <For
                        each=shown
                        key=|(index, item, group)| (*index, item.request_id.clone(), item.state, group.clone())
                        children=move |(index, item, group)| view! {
                            <QueueRow item=item group=group index=index selected=selected opened=opened now=now />
                        }
                    />
                </div>
            </Show>
        </div>
    }
}

#[component]
pub(crate) fn QueueRow(
    item: QueueItem,
    group: Option<Similar>,
    index: usize,
    selected: RwSignal<usize>,
    opened: RwSignal<Option<String>>,
    now: RwSignal<f64>,
) -> impl IntoView {
    let id = item.request_id.clone();
    let id_for_class = id.clone();
    let expires = item.expires_at;
    let tier_class = format!("tier tier-{}", tier_label(item.tier).to_lowercase());
    // In a group of similar requests, what varies is marked: that is what to read.
    let varies = |field: fn(&Similar) -> bool| group.as_ref().is_some_and(field);
    let verdict = if item.state == RequestState::Refused {
        (
            "verdict refused",
            format!(
                "refused · {}",
                item.codes
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    } else if item.errors > 0 {
        (
            "verdict invalid",
            format!(
                "{} finding{}",
                item.errors + item.warnings,
                if item.errors + item.warnings == 1 {
                    ""
                } else {
                    "s"
                }
            ),
        )
    } else if item.warnings > 0 {
        (
            "verdict warning",
            format!(
                "valid · {} warning{}",
                item.warnings,
                if item.warnings == 1 { "" } else { "s" }
            ),
        )
    } else {
        ("verdict valid", "valid chain".to_owned())
    };
    view! {
        <div
            class="row"
            style:top=format!("{}px", index as f64 * ROW_HEIGHT)
            class:selected=move || selected.get() == index
            class:opened=move || opened.get().as_deref() == Some(id_for_class.as_str())
            data-testid="queue-row"
            data-request-id=id.clone()
            on:click=move |_| { selected.set(index); opened.set(Some(id.clone())); }
        >
            <div class="row-top">
                <span class=tier_class>{tier_label(item.tier)}</span>
                {item.irreversible.then(|| view! { <span class="irreversible">"irreversible"</span> })}
                {(item.state == RequestState::Escalated).then(|| view! { <span class="escalated">"escalated"</span> })}
                <span class=verdict.0 class:differs=varies(|g| g.findings)>{verdict.1}</span>
                {group.as_ref().map(|g| view! {
                    <span class="similar" data-testid="similar" title="Same action, principal and scope: read what is marked, decide each on its own">
                        {format!("similar {} of {}", g.position, g.size)}
                    </span>
                })}
                <span class="countdown">{move || countdown(seconds_until(expires, now.get()))}</span>
            </div>
            <div class="summary" class:differs=varies(|g| g.summary) title=item.summary.clone()>{item.summary.clone()}</div>
            <div class="meta">
                <span>{item.action.clone()}</span>
                <span class:differs=varies(|g| g.confidence)>"confidence " {format!("{:.0}%", item.confidence * 100.0)}</span>
            </div>
            <div class="chain-brief" class:differs=varies(|g| g.chain)>{item.chain.join(" → ")}</div>
        </div>
    }
}

#[component]
pub(crate) fn History(
    snapshot: RwSignal<Option<Snapshot>>,
    opened: RwSignal<Option<String>>,
) -> impl IntoView {
    let decisions = move || {
        let items = snapshot.with(|s| s.as_ref().map(|s| s.history.clone()).unwrap_or_default());
        if items.is_empty() {
            return view! { <p class="empty">"No decisions yet."</p> }.into_any();
        }
        items
            .into_iter()
            .map(|item| {
                let id = item.request_id.clone();
                let outcome = match item.state {
                    RequestState::Approved => "approved",
                    RequestState::Rejected => "rejected",
                    RequestState::Expired => "expired",
                    RequestState::Withdrawn => "withdrawn",
                    _ => "closed",
                };
                view! {
                    <div class="row history" data-testid="history-row" data-request-id=item.request_id.clone() on:click=move |_| opened.set(Some(id.clone()))>
                        <div class="row-top">
                            <span class=format!("history-outcome {outcome}")>{outcome}</span>
                            <span class="tier">{tier_label(item.tier)}</span>
                            <span class="countdown">{item.at.minute_text()}</span>
                        </div>
                        <div class="summary" title=item.summary.clone()>{item.summary.clone()}</div>
                        <div class="meta">{item.decided_by.clone().map(|by| format!("by {by}")).unwrap_or_else(|| "nobody decided in time".into())}</div>
                        {item.reason.clone().map(|r| view! { <div class="reason">"“" {r} "”"</div> })}
                    </div>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <Deliveries snapshot=snapshot opened=opened />
        <h3 class="list-heading">"Decided and expired"</h3>
        {decisions}
    }
}

/// Decisions this console signed, and what became of each: delivered, still waiting for the
/// gateway, or not used because someone else decided first or the request expired.
#[component]
fn Deliveries(
    snapshot: RwSignal<Option<Snapshot>>,
    opened: RwSignal<Option<String>>,
) -> impl IntoView {
    move || {
        let items = snapshot.with(|s| s.as_ref().map(|s| s.deliveries.clone()).unwrap_or_default());
        if items.is_empty() {
            return ().into_any();
        }
        view! {
            <h3 class="list-heading">"Signed in this console"</h3>
            {items.into_iter().map(|item| {
                let id = item.request_id.clone();
                let (class, status) = delivery_status(&item.outcome);
                let verb = match item.decision {
                    DecisionKind::Approve => "approved",
                    DecisionKind::Reject => "rejected",
                };
                let waiting = item.outcome == DecideOutcome::Queued;
                view! {
                    <div class="row delivery" data-testid="delivery" data-request-id=item.request_id.clone() data-outcome=class on:click=move |_| opened.set(Some(id.clone()))>
                        <div class="row-top">
                            <span class=format!("delivery-status {class}")>{status}</span>
                            <span class="countdown">{item.signed_at.minute_text()}</span>
                        </div>
                        <div class="summary" title=item.summary.clone()>{item.summary.clone()}</div>
                        <div class="meta">
                            "You " {verb}
                            {waiting.then_some(": signed and kept on this machine; sent when the gateway is back")}
                        </div>
                    </div>
                }
            }).collect_view()}
        }
        .into_any()
    }
}
