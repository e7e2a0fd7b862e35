//! The console: queue on the left, the opened request on the right.

use std::collections::BTreeSet;
use std::time::Duration;

use countersign_wire::console::{
    CHANGED_EVENT, Connection, ConsoleError, Decide, DecideOutcome, FOCUS_EVENT, GetRequest,
    GetSnapshot, GrantChange, HopView, KeyStatus, QueueItem, RequestView, Snapshot,
};
use countersign_wire::{
    AuthorizationDetail, DecisionKind, DelegationRequest, Evidence, Finding, Severity, Tier,
};
use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::bridge;
use crate::queue::{History, QueueList};
use crate::settings::SettingsPanel;
use crate::supervision::{
    AssignPanel, Dashboard, EscalatePanel, EscalationBanner, EscalationQueue, ExportRequestPanel,
    escalation_groups,
};
use crate::text::{countdown, explain, looks_like_instructions};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Queue,
    Escalations,
    History,
    Refused,
    Dashboard,
}

pub(crate) fn tier_label(tier: Tier) -> &'static str {
    match tier {
        Tier::Low => "LOW",
        Tier::Medium => "MEDIUM",
        Tier::High => "HIGH",
        Tier::Critical => "CRITICAL",
    }
}

pub(crate) fn seconds_until(rfc3339: &str, now_ms: f64) -> i64 {
    let then = js_sys::Date::parse(rfc3339);
    if then.is_nan() {
        0
    } else {
        ((then - now_ms) / 1000.0).floor() as i64
    }
}

#[component]
pub fn App() -> impl IntoView {
    let snapshot = RwSignal::new(None::<Snapshot>);
    let tab = RwSignal::new(Tab::Queue);
    let selected = RwSignal::new(0usize);
    let opened = RwSignal::new(None::<String>);
    let view = RwSignal::new(None::<Result<RequestView, ConsoleError>>);
    let now = RwSignal::new(js_sys::Date::now());
    let help = RwSignal::new(false);
    let settings_open = RwSignal::new(false);
    let decision = DecisionState::new();
    let has_role =
        move |role: &str| snapshot.with(|s| s.as_ref().is_some_and(|s| s.reviewer.has_role(role)));
    let supervisor = Signal::derive(move || has_role("supervisor"));
    let auditing = Signal::derive(move || has_role("supervisor") || has_role("auditor"));

    // One snapshot request at a time: events arriving meanwhile ask for one more afterwards,
    // so a burst of events costs two refreshes, not one per event.
    let refreshing = StoredValue::new((false, false)); // (in flight, wanted again)
    let refresh = move || {
        let busy = refreshing.with_value(|r| r.0);
        if busy {
            refreshing.update_value(|r| r.1 = true);
            return;
        }
        refreshing.set_value((true, false));
        spawn_local(async move {
            loop {
                if let Ok(s) = bridge::call(&GetSnapshot {}).await {
                    snapshot.set(Some(s));
                }
                let again = refreshing.with_value(|r| r.1);
                refreshing.set_value((again, false));
                if !again {
                    break;
                }
            }
        })
    };
    let load = move |id: String| {
        spawn_local(async move {
            let result = bridge::call(&GetRequest {
                request_id: id.clone(),
            })
            .await;
            if opened.get_untracked().as_deref() == Some(id.as_str()) {
                view.set(Some(result));
            }
        })
    };
    // The pending count in the page title too (the backend sets the window title).
    Effect::new(move |_| {
        if let Some(count) = snapshot.with(|s| s.as_ref().map(|s| s.queue.len())) {
            document().set_title(&format!("Countersign — {count} pending"));
        }
    });
    // A User Timing mark when the first non-empty queue reaches the screen, which the console
    // benchmark reads (first paint with 10,000 pending).
    Effect::new(move |marked: Option<bool>| {
        if marked == Some(true) {
            return true;
        }
        let ready = snapshot.with(|s| s.as_ref().is_some_and(|s| !s.queue.is_empty()));
        if ready {
            request_animation_frame(|| {
                if let Some(performance) = window().performance() {
                    let _ = performance.mark("countersign:queue-painted");
                }
            });
        }
        ready
    });
    refresh();
    bridge::listen(CHANGED_EVENT, move |_| refresh());
    // Reload the opened request only when its state changed (someone else decided it, or it
    // expired): re-rendering it on every queue event would reset what the reviewer is doing.
    Effect::new(move |_| {
        let Some(id) = opened.get_untracked() else {
            return;
        };
        let listed = snapshot.with(|s| {
            s.as_ref()
                .map(|s| s.queue.iter().find(|q| q.request_id == id).map(|q| q.state))
        });
        let shown = view.with_untracked(|v| {
            v.as_ref()
                .and_then(|r| r.as_ref().ok())
                .map(|v| v.record.state)
        });
        if let (Some(listed), Some(shown)) = (listed, shown)
            && shown.is_open()
            && listed != Some(shown)
        {
            load(id);
        }
    });
    bridge::listen(FOCUS_EVENT, move |payload| {
        if let Some(id) = payload.as_string() {
            tab.set(Tab::Queue);
            opened.set(Some(id));
        }
    });
    let _ = set_interval_with_handle(move || now.set(js_sys::Date::now()), Duration::from_secs(1));

    Effect::new(move |_| {
        let id = opened.get();
        decision.reset();
        view.set(None);
        if let Some(id) = id {
            load(id);
        }
    });

    let rows = Memo::new(move |_| -> Vec<QueueItem> {
        snapshot.with(|s| match (s, tab.get()) {
            (Some(s), Tab::Queue) => s.queue.clone(),
            (Some(s), Tab::Refused) => s.refused.clone(),
            _ => Vec::new(),
        })
    });
    let open_selected = move || {
        let id = rows.with_untracked(|r| {
            r.get(selected.get_untracked())
                .map(|item| item.request_id.clone())
        });
        if let Some(id) = id {
            opened.set(Some(id));
        }
    };

    let _ = window_event_listener(ev::keydown, move |event| {
        let typing = event
            .target()
            .and_then(|t| wasm_bindgen::JsCast::dyn_into::<web_sys::Element>(t).ok())
            .is_some_and(|e| matches!(e.tag_name().as_str(), "TEXTAREA" | "INPUT"));
        if typing {
            if event.key() == "Escape"
                && let Some(el) = document().active_element()
                && let Ok(el) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(el)
            {
                let _ = el.blur();
            }
            return;
        }
        if settings_open.get_untracked() {
            if event.key() == "Escape" {
                settings_open.set(false);
            }
            return;
        }
        let count = rows.with_untracked(Vec::len);
        match event.key().as_str() {
            "j" | "ArrowDown" if count > 0 => selected.update(|i| *i = (*i + 1).min(count - 1)),
            "k" | "ArrowUp" => selected.update(|i| *i = i.saturating_sub(1)),
            "Enter" => open_selected(),
            "a" => decision.intend(DecisionKind::Approve),
            "r" => decision.intend(DecisionKind::Reject),
            "?" => help.update(|h| *h = !*h),
            "Escape" => help.set(false),
            _ => return,
        }
        event.prevent_default();
    });

    view! {
        <div class="app">
            <TopBar snapshot=snapshot help=help settings=settings_open />
            {move || snapshot.with(|s| match s.as_ref().map(|s| &s.connection) {
                Some(Connection::Offline(detail)) => view! {
                    <div class="banner offline" data-testid="offline-banner" title=detail.clone()>
                        "Offline: cannot reach the gateway at " {s.as_ref().map(|s| s.reviewer.gateway.clone())}
                        ". You see what was last received; decisions you make are signed here and sent when it is back."
                    </div>
                }.into_any(),
                Some(Connection::Connecting) | None => view! { <div class="banner connecting">"Connecting to the gateway…"</div> }.into_any(),
                _ => ().into_any(),
            })}
            {move || {
                let waiting = snapshot.with(|s| s.as_ref().map_or(0, |s| {
                    s.deliveries.iter().filter(|d| d.outcome == DecideOutcome::Queued).count()
                }));
                (waiting > 0).then(|| view! {
                    <div class="banner queued" data-testid="queued-banner">
                        {waiting} {if waiting == 1 { " decision is" } else { " decisions are" }}
                        " signed and kept on this machine, waiting for the gateway (see History)."
                    </div>
                })
            }}
            <div class="main">
                <aside class="sidebar">
                    <Tabs snapshot=snapshot tab=tab selected=selected supervisor=supervisor auditing=auditing />
                    {move || match tab.get() {
                        Tab::History => view! { <div class="rows"><History snapshot=snapshot opened=opened /></div> }.into_any(),
                        Tab::Escalations => view! { <EscalationQueue snapshot=snapshot opened=opened now=now /> }.into_any(),
                        Tab::Dashboard => view! { <Dashboard /> }.into_any(),
                        Tab::Queue | Tab::Refused => view! { <QueueList rows=rows selected=selected opened=opened now=now /> }.into_any(),
                    }}
                </aside>
                <section class="detail">
                    {move || match view.get() {
                        None if opened.get().is_none() => view! {
                            <div class="placeholder">
                                <h2>"Select a handoff to review"</h2>
                                <p>"Use j / k to move, Enter to open, a to approve, r to reject, ? for help."</p>
                            </div>
                        }.into_any(),
                        None => view! { <div class="placeholder"><p>"Loading…"</p></div> }.into_any(),
                        Some(Err(error)) => view! { <div class="placeholder error">{error.message}</div> }.into_any(),
                        Some(Ok(request)) => view! {
                            <RequestDetail request=request now=now decision=decision supervisor=supervisor auditing=auditing
                                on_decided=move || { refresh(); if let Some(id) = opened.get_untracked() { load(id) } }
                                on_changed=move |changed| { view.set(Some(Ok(changed))); refresh(); } />
                        }.into_any(),
                    }}
                </section>
            </div>
            <SettingsPanel open=settings_open />
            <Show when=move || help.get()>
                <div class="help" data-testid="help" on:click=move |_| help.set(false)>
                    <div class="help-card">
                        <h2>"Keyboard"</h2>
                        <dl>
                            <dt>"j / k"</dt><dd>"next / previous request"</dd>
                            <dt>"Enter"</dt><dd>"open the selected request"</dd>
                            <dt>"a"</dt><dd>"approve: write the reason, then confirm"</dd>
                            <dt>"r"</dt><dd>"reject: write the reason, then confirm"</dd>
                            <dt>"Esc"</dt><dd>"leave the reason field, close this help"</dd>
                            <dt>"?"</dt><dd>"show or hide this help"</dd>
                        </dl>
                    </div>
                </div>
            </Show>
        </div>
    }
}

#[component]
fn TopBar(
    snapshot: RwSignal<Option<Snapshot>>,
    help: RwSignal<bool>,
    settings: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <header class="topbar">
            <div class="brand"><span class="logo">"✓"</span>"Countersign"</div>
            <div class="pending" data-testid="pending-count">
                {move || snapshot.with(|s| s.as_ref().map(|s| format!("{} pending", s.queue.len())).unwrap_or_default())}
            </div>
            <div class="reviewer">
                {move || snapshot.with(|s| s.as_ref().map(|s| view! {
                    <span class="who">{s.reviewer.display_name.clone()}</span>
                    <span class="fingerprint" title=s.reviewer.public_jwk.clone()>"key " {s.reviewer.key_fingerprint.chars().take(12).collect::<String>()} "…"</span>
                    <span class="mode">{s.reviewer.mode.clone()}</span>
                }))}
                <button class="ghost" data-testid="open-settings" on:click=move |_| settings.set(true)>"Settings"</button>
                <button class="ghost" on:click=move |_| help.update(|h| *h = !*h)>"?"</button>
            </div>
        </header>
    }
}

#[component]
fn Tabs(
    snapshot: RwSignal<Option<Snapshot>>,
    tab: RwSignal<Tab>,
    selected: RwSignal<usize>,
    supervisor: Signal<bool>,
    auditing: Signal<bool>,
) -> impl IntoView {
    let count = move |t: Tab| {
        snapshot.with(|s| {
            s.as_ref().map_or(0, |s| match t {
                Tab::Queue => s.queue.len(),
                Tab::Escalations => escalation_groups(&s.queue)
                    .iter()
                    .map(|(_, items)| items.len())
                    .sum(),
                Tab::History => s.history.len(),
                Tab::Refused => s.refused.len(),
                Tab::Dashboard => 0,
            })
        })
    };
    let button = move |t: Tab, label: &'static str| {
        let testid = match t {
            Tab::Queue => "tab-queue",
            Tab::Escalations => "tab-escalations",
            Tab::History => "tab-history",
            Tab::Refused => "tab-refused",
            Tab::Dashboard => "tab-dashboard",
        };
        view! {
            <button class="tab" data-testid=testid class:active=move || tab.get() == t on:click=move |_| { tab.set(t); selected.set(0); }>
                {label} {(t != Tab::Dashboard).then(|| view! { " " <span class="count">{move || count(t)}</span> })}
            </button>
        }
    };
    view! {
        <nav class="tabs">
            {button(Tab::Queue, "Queue")}
            {move || supervisor.get().then(|| button(Tab::Escalations, "Escalations"))}
            {button(Tab::History, "History")}
            {button(Tab::Refused, "Refused")}
            {move || auditing.get().then(|| button(Tab::Dashboard, "Dashboard"))}
        </nav>
    }
}

/// The decide panel's state, kept above the request view so re-renders never lose a reason
/// being typed.
#[derive(Clone, Copy)]
struct DecisionState {
    kind: RwSignal<Option<DecisionKind>>,
    reason: RwSignal<String>,
    acknowledged: RwSignal<BTreeSet<String>>,
    confirming: RwSignal<bool>,
    busy: RwSignal<bool>,
    outcome: RwSignal<Option<Result<DecideOutcome, ConsoleError>>>,
}

impl DecisionState {
    fn new() -> Self {
        DecisionState {
            kind: RwSignal::new(None),
            reason: RwSignal::new(String::new()),
            acknowledged: RwSignal::new(BTreeSet::new()),
            confirming: RwSignal::new(false),
            busy: RwSignal::new(false),
            outcome: RwSignal::new(None),
        }
    }

    fn reset(&self) {
        self.kind.set(None);
        self.reason.set(String::new());
        self.acknowledged.set(BTreeSet::new());
        self.confirming.set(false);
        self.outcome.set(None);
    }

    fn intend(&self, kind: DecisionKind) {
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
fn RequestDetail(
    request: RequestView,
    now: RwSignal<f64>,
    decision: DecisionState,
    supervisor: Signal<bool>,
    auditing: Signal<bool>,
    on_decided: impl Fn() + Copy + Send + Sync + 'static,
    on_changed: impl Fn(RequestView) + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let record = request.record.clone();
    let typed: Option<DelegationRequest> = serde_json::from_value(record.request.clone()).ok();
    let expires = record.expires_at.clone();
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
                    <span class="countdown">"expires in " {move || countdown(seconds_until(&expires, now.get()))}</span>
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
            <DecidePanel request=request.clone() decision=decision supervisor=supervisor on_decided=on_decided />
            <Outcome decision=decision />
            {open.then(|| {
                let request = request.clone();
                move || supervisor.get().then(|| view! { <AssignPanel request=request.clone() on_changed=on_changed /> })
            })}
            {(open && !asked).then(|| view! { <EscalatePanel request=request.clone() on_changed=on_changed /> })}
            {
                let id = record.request_id.clone();
                move || auditing.get().then(|| view! { <ExportRequestPanel request_id=id.clone() /> })
            }
        </article>
    }
}

#[component]
fn Findings(findings: Vec<Finding>) -> impl IntoView {
    view! {
        <ul class="findings">
            {findings.into_iter().map(|f| {
                let class = if f.severity == Severity::Error { "finding error" } else { "finding warning" };
                let code = f.code.to_string();
                view! {
                    <li class=class data-testid="finding" data-code=code.clone()>
                        <span class="code">{code.clone()}</span>
                        <span class="explain">{explain(&code)}</span>
                        <span class="finding-detail">{f.detail}</span>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

fn grant_text(detail: &AuthorizationDetail) -> String {
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
fn Hop(hop: HopView) -> impl IntoView {
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
                    <span>"expires " {hop.expires_at.chars().take(16).collect::<String>().replace('T', " ")}</span>
                    <span>"may delegate " {hop.remaining_depth} " more"</span>
                </div>
                {(!hop.findings.is_empty()).then(|| view! { <Findings findings=hop.findings.clone() /> })}
            </div>
        </li>
    }
}

#[component]
fn ActionPanel(request: DelegationRequest) -> impl IntoView {
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
fn EvidencePanel(request: DelegationRequest, findings: Vec<Finding>) -> impl IntoView {
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
fn EvidenceItem(item: Evidence, findings: Vec<Finding>) -> impl IntoView {
    let mismatch = findings.iter().any(|f| {
        f.code.as_str() == "EVIDENCE_DIGEST_MISMATCH"
            && f.detail.contains(&format!("{:?}", item.id))
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
fn UncertaintyPanel(request: DelegationRequest) -> impl IntoView {
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

/// What became of the reviewer's last decision; stays visible after the panel turns into
/// "Decided".
#[component]
fn Outcome(decision: DecisionState) -> impl IntoView {
    view! {
        <div class="outcome" data-testid="decision-outcome">
                {move || decision.outcome.get().map(|outcome| match outcome {
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
fn DecidePanel(
    request: RequestView,
    decision: DecisionState,
    supervisor: Signal<bool>,
    on_decided: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let record = request.record.clone();
    if let Some(made) = record.decision.clone() {
        return view! {
            <section class="panel decided" data-testid="decided">
                <h2>"Decided"</h2>
                <p><strong>{format!("{:?}", made.decision).to_lowercase()}</strong> " by " {made.decided_by} " at " {made.decided_at}</p>
                <p class="reason">"“" {made.reason} "”"</p>
            </section>
        }
        .into_any();
    }
    if !record.state.is_open() {
        return view! { <section class="panel decided"><h2>{format!("This request is {}", record.state.as_str())}</h2></section> }.into_any();
    }
    // What blocks reviewers: the gateway says (errors and what its policy adds); a record
    // from an older gateway lists nothing, so fall back to the errors.
    let errors: Vec<String> = if record.blocked_by.is_empty() {
        let mut codes: Vec<String> = record
            .report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.code.to_string())
            .collect();
        codes.sort();
        codes.dedup();
        codes
    } else {
        record.blocked_by.clone()
    };
    let warnings: Vec<String> = {
        let mut w: Vec<String> = record
            .report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Warning)
            .map(|f| f.code.to_string())
            .filter(|c| !errors.contains(c))
            .collect();
        w.sort();
        w.dedup();
        w
    };
    let tier = record.tier;
    let critical_irreversible = tier == Tier::Critical
        && record
            .request
            .pointer("/action/impact/reversible")
            .and_then(|v| v.as_bool())
            == Some(false);
    let blocked = !errors.is_empty();
    let request_id = record.request_id.clone();
    // A supervisor overrides a block by acknowledging every blocking code, with a reason.
    let mut must_acknowledge = warnings.clone();
    must_acknowledge.extend(errors.iter().cloned());
    let can_approve = move || {
        let overriding = blocked && supervisor.get();
        (!blocked || overriding)
            && ((tier < Tier::High && !overriding) || !decision.reason.get().trim().is_empty())
            && decision
                .acknowledged
                .with(|a| must_acknowledge.iter().all(|w| a.contains(w)))
    };
    let errors_for_override = errors.clone();
    let submit = move |kind: DecisionKind| {
        if kind == DecisionKind::Reject && decision.reason.get_untracked().trim().is_empty() {
            decision.outcome.set(Some(Err(ConsoleError {
                code: "reason_required".into(),
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
        let req = Decide {
            request_id: request_id.clone(),
            decision: kind,
            reason: decision.reason.get_untracked(),
            acknowledged: decision.acknowledged.get_untracked().into_iter().collect(),
        };
        decision.busy.set(true);
        spawn_local(async move {
            let result = bridge::call(&req).await;
            decision.busy.set(false);
            decision.confirming.set(false);
            decision.outcome.set(Some(result));
            on_decided();
        });
    };
    let submit_approve = submit.clone();
    view! {
        <section class="panel decide" data-testid="decide">
            <h2>"Your decision"</h2>
            {move || (blocked && !supervisor.get()).then(|| view! {
                <p class="blocked" data-testid="approve-blocked">"Approval is blocked by " {errors.join(", ")} ". A supervisor must handle it; you may still reject it or escalate it below."</p>
            })}
            {move || (blocked && supervisor.get()).then(|| {
                let codes = errors_for_override.clone();
                view! {
                    <div class="acks override" data-testid="override">
                        <p>"Blocked for reviewers. As a supervisor you may override: acknowledge each finding and give the reason. The override is recorded in the decision and the audit log."</p>
                        {codes.into_iter().map(|code| {
                            let code_for_toggle = code.clone();
                            view! {
                                <label class="ack">
                                    <input type="checkbox" data-testid="ack-override" data-code=code.clone()
                                        on:change=move |ev| {
                                            let checked = event_target_checked(&ev);
                                            decision.acknowledged.update(|a| { if checked { a.insert(code_for_toggle.clone()); } else { a.remove(&code_for_toggle); } });
                                        } />
                                    <span><code>{code.clone()}</code> " — " {explain(&code)}</span>
                                </label>
                            }
                        }).collect_view()}
                    </div>
                }
            })}
            {(!warnings.is_empty()).then(|| view! {
                <div class="acks">
                    <p>"Acknowledge each warning before approving:"</p>
                    {warnings.iter().map(|code| {
                        let code = code.clone();
                        let code_for_toggle = code.clone();
                        view! {
                            <label class="ack">
                                <input type="checkbox" data-testid="ack" data-code=code.clone()
                                    on:change=move |ev| {
                                        let checked = event_target_checked(&ev);
                                        decision.acknowledged.update(|a| { if checked { a.insert(code_for_toggle.clone()); } else { a.remove(&code_for_toggle); } });
                                    } />
                                <span><code>{code.clone()}</code> " — " {explain(&code)}</span>
                            </label>
                        }
                    }).collect_view()}
                </div>
            })}
            <label class="reason-label" for="reason">
                {move || if tier >= Tier::High || (blocked && supervisor.get()) { "Reason (required)" } else { "Reason (required to reject)" }}
            </label>
            <textarea id="reason" data-testid="reason" rows="3" placeholder="What did you check? The workflow and the auditor will read this."
                prop:value=move || decision.reason.get()
                on:input=move |ev| decision.reason.set(event_target_value(&ev))></textarea>
            <div class="buttons">
                <button class="approve" data-testid="approve" disabled=move || !can_approve() || decision.busy.get()
                    on:click=move |_| submit_approve(DecisionKind::Approve)>
                    {move || if decision.confirming.get() { "Confirm: approve this critical, irreversible action" } else if blocked { "Override and approve" } else { "Approve and sign" }}
                </button>
                <button class="reject" data-testid="reject" disabled=move || decision.busy.get() on:click=move |_| submit(DecisionKind::Reject)>"Reject and sign"</button>
            </div>
            {move || decision.confirming.get().then(|| view! {
                <p class="confirm" data-testid="confirm-critical">"This action is critical and cannot be undone. Click again to confirm."</p>
            })}
        </section>
    }
    .into_any()
}
