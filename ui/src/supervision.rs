//! Supervisors' and auditors' screens: the escalation queue grouped by reason, the escalation
//! banner, escalate/assign panels, and the dashboard with its plot.

use countersign_wire::Role;
use countersign_wire::api::{DayMetrics, Escalation, EscalationReason, Metrics, RequestRecord};
use countersign_wire::console::{
    Assign, ConsoleError, EXPORT_PROGRESS_EVENT, Escalate, ExportFormat, ExportRecords, GetMetrics,
    GetReviewers, QueueItem, RequestView, Snapshot,
};
use leptos::prelude::*;

use crate::bridge;
use crate::text::{age, plot_bars};
use crate::text::{seconds_until, tier_label};

/// A row of the escalation queue.
type Escalated = (QueueItem, Escalation);

/// Open requests in the supervisors' queue, by reason (most pressing first), oldest first.
pub(crate) fn escalation_groups(queue: &[QueueItem]) -> Vec<(EscalationReason, Vec<Escalated>)> {
    EscalationReason::ALL
        .into_iter()
        .filter_map(|reason| {
            let mut items: Vec<Escalated> = queue
                .iter()
                .filter_map(|q| {
                    let e = q.escalation.clone()?;
                    (e.reason == reason).then(|| (q.clone(), e))
                })
                .collect();
            items.sort_by_key(|a| a.1.since);
            (!items.is_empty()).then_some((reason, items))
        })
        .collect()
}

/// The escalation queue: one group per reason, each row with its age and level.
#[component]
pub(crate) fn EscalationQueue(
    snapshot: RwSignal<Option<Snapshot>>,
    opened: RwSignal<Option<String>>,
    now: RwSignal<f64>,
) -> impl IntoView {
    let groups = move || {
        snapshot.with(|s| {
            s.as_ref()
                .map(|s| escalation_groups(&s.queue))
                .unwrap_or_default()
        })
    };
    view! {
        <div class="rows" data-testid="escalations">
            {move || {
                let groups = groups();
                if groups.is_empty() {
                    return view! { <p class="empty">"No escalations: the queue is clear."</p> }.into_any();
                }
                groups.into_iter().map(|(reason, items)| view! {
                    <h3 class="list-heading" data-testid="escalation-group" data-reason=reason.as_str()>
                        {reason.label()} " · " {items.len()}
                    </h3>
                    {items.into_iter().map(|(item, escalation)| {
                        let id = item.request_id.clone();
                        let id_for_class = id.clone();
                        let since = escalation.since;
                        view! {
                            <div class="row escalation-row" data-testid="escalation-row" data-request-id=id.clone()
                                class:opened=move || opened.get().as_deref() == Some(id_for_class.as_str())
                                on:click=move |_| opened.set(Some(id.clone()))>
                                <div class="row-top">
                                    <span class=format!("tier tier-{}", tier_label(item.tier).to_lowercase())>{tier_label(item.tier)}</span>
                                    {(escalation.level > 0).then(|| view! { <span class="level">"level " {escalation.level}</span> })}
                                    {(item.approvals_needed > 1).then(|| view! { <span class="quorum">{item.approvals} " of " {item.approvals_needed} " approvals"</span> })}
                                    <span class="countdown" data-testid="escalation-age">{move || age(-seconds_until(since, now.get()))}</span>
                                </div>
                                <div class="summary" title=item.summary.clone()>{item.summary.clone()}</div>
                                <div class="meta">
                                    {(!escalation.note.is_empty()).then(|| view! { <span class="note">"“" {escalation.note.clone()} "”"</span> })}
                                    <span>"by " {escalation.raised_by.clone()}</span>
                                </div>
                            </div>
                        }
                    }).collect_view()}
                }).collect_view().into_any()
            }}
        </div>
    }
}

/// Why this request is in the supervisors' queue, shown at the top of the request.
#[component]
pub(crate) fn EscalationBanner(record: RequestRecord, now: RwSignal<f64>) -> impl IntoView {
    let approvals = (record.approvals_needed > 1 && record.state.is_open()).then(|| {
        let who: Vec<String> = record
            .approvals
            .iter()
            .map(|a| a.decided_by.clone())
            .collect();
        view! {
            <p class="quorum-line" data-testid="quorum">
                "Approvals: " {record.approvals.len()} " of " {record.approvals_needed}
                {(!who.is_empty()).then(|| format!(" (approved by {})", who.join(", ")))}
                ". Each approver must be a different person."
            </p>
        }
    });
    let assigned = record
        .assigned_to
        .clone()
        .filter(|_| record.state.is_open());
    let escalation = record.escalation.clone().map(|e| {
        let since = e.since;
        let labels: Vec<&str> = e.reasons.iter().map(|r| r.label()).collect();
        view! {
            <div class="escalation-banner" data-testid="escalation-banner" data-reason=e.reason.as_str()>
                <strong>{labels.join(" · ")}</strong>
                {(e.level > 0).then(|| format!(" — level {}", e.level))}
                <span class="since">" · raised " {move || age(-seconds_until(since, now.get()))} " ago by " {e.raised_by.clone()}</span>
                {(!e.notify.is_empty()).then(|| view! { <div class="notify">"Called: " {e.notify.join(", ")}</div> })}
                {(!e.note.is_empty()).then(|| view! { <div class="note">"“" {e.note.clone()} "”"</div> })}
            </div>
        }
    });
    view! {
        {escalation}
        {assigned.map(|to| view! { <p class="assigned" data-testid="assigned">"Assigned to " {to}</p> })}
        {approvals}
    }
}

/// The commands that change the opened request and hand back its new view.
///
/// Owned by the app, not by the panels: the live event a command causes re-renders the
/// request, and with it the panel, before the answer arrives. An action owned by the panel
/// would be disposed with it and the new view lost.
#[derive(Clone, Copy)]
pub(crate) struct RequestChanges {
    pub(crate) escalate: Action<Escalate, Result<RequestView, ConsoleError>>,
    pub(crate) assign: Action<Assign, Result<RequestView, ConsoleError>>,
}

impl RequestChanges {
    pub(crate) fn new() -> Self {
        RequestChanges {
            escalate: bridge::action(),
            assign: bridge::action(),
        }
    }

    /// Forgets the answers about the request opened before.
    pub(crate) fn reset(&self) {
        self.escalate.value().set(None);
        self.assign.value().set(None);
    }

    /// Calls `apply` with each new view a command hands back.
    pub(crate) fn on_changed(&self, apply: impl Fn(RequestView) + Copy + 'static) {
        for answers in [self.escalate.value(), self.assign.value()] {
            Effect::new(move |_| {
                if let Some(Ok(view)) = answers.get() {
                    apply(view);
                }
            });
        }
    }
}

/// A refusal of the panel's command, shown in the panel.
fn refusal(answer: Option<Result<RequestView, ConsoleError>>) -> Option<String> {
    answer.and_then(Result::err).map(|e| e.message)
}

/// A reviewer (or supervisor) asks for a supervisor, with a note.
#[component]
pub(crate) fn EscalatePanel(request: RequestView, changes: RequestChanges) -> impl IntoView {
    let request_id = request.record.request_id.clone();
    let note = RwSignal::new(String::new());
    let busy = changes.escalate.pending();
    let submit = move |_| {
        changes.escalate.dispatch_local(Escalate {
            request_id: request_id.clone(),
            note: note.get_untracked(),
        });
    };
    view! {
        <section class="panel escalate" data-testid="escalate-panel">
            <h2>"Ask a supervisor"</h2>
            <textarea data-testid="escalate-note" rows="2" placeholder="What should a supervisor look at?"
                prop:value=move || note.get() on:input=move |ev| note.set(event_target_value(&ev))></textarea>
            <div class="buttons">
                <button class="secondary" data-testid="escalate" disabled=move || busy.get() || note.with(|n| n.trim().is_empty())
                    on:click=submit>"Escalate to a supervisor"</button>
            </div>
            {move || refusal(changes.escalate.value().get()).map(|message| view! { <p class="bad" data-testid="escalate-error">{message}</p> })}
        </section>
    }
}

/// A supervisor hands the request to a reviewer who may decide it.
#[component]
pub(crate) fn AssignPanel(request: RequestView, changes: RequestChanges) -> impl IntoView {
    let request_id = request.record.request_id.clone();
    let tier = request.record.tier;
    let reviewer = RwSignal::new(String::new());
    let note = RwSignal::new(String::new());
    // Who may take it: enrolled for this tier, with a deciding role (the gateway checks again).
    let people = LocalResource::new(|| bridge::call(&GetReviewers {}));
    let candidates = move || -> Vec<(String, String)> {
        let Some(Ok(people)) = people.get() else {
            return Vec::new();
        };
        people
            .into_iter()
            .filter(|p| p.tiers.contains(&tier))
            .filter(|p| {
                p.roles
                    .iter()
                    .any(|r| matches!(r, Role::Reviewer | Role::Supervisor))
            })
            .map(|p| (p.identity, p.display_name))
            .collect()
    };
    let busy = changes.assign.pending();
    let submit = move |_| {
        changes.assign.dispatch_local(Assign {
            request_id: request_id.clone(),
            reviewer: reviewer.get_untracked(),
            note: note.get_untracked(),
        });
    };
    view! {
        <section class="panel assign" data-testid="assign-panel">
            <h2>"Assign to a reviewer"</h2>
            <div class="assign-row">
                <input data-testid="assign-reviewer" placeholder="user:identity" list="assignable" prop:value=move || reviewer.get()
                    on:input=move |ev| reviewer.set(event_target_value(&ev)) />
                <datalist id="assignable">
                    {move || candidates().into_iter().map(|(identity, name)| view! { <option value=identity>{name}</option> }).collect_view()}
                </datalist>
                <input data-testid="assign-note" placeholder="Note for them (optional)" prop:value=move || note.get()
                    on:input=move |ev| note.set(event_target_value(&ev)) />
                <button class="secondary" data-testid="assign" disabled=move || busy.get() || reviewer.with(|r| r.trim().is_empty())
                    on:click=submit>"Assign"</button>
            </div>
            {move || refusal(changes.assign.value().get()).map(|message| view! { <p class="bad" data-testid="assign-error">{message}</p> })}
        </section>
    }
}

/// Supervisors and auditors export one request as a verifiable bundle.
#[component]
pub(crate) fn ExportRequestPanel(request_id: String) -> impl IntoView {
    let bundle = bridge::action::<ExportRecords>();
    let export = move |_| {
        bundle.dispatch_local(ExportRecords {
            format: ExportFormat::Bundle,
            from: None,
            to: None,
            request_ids: vec![request_id.clone()],
        });
    };
    view! {
        <section class="panel export-one">
            <h2>"Audit record"</h2>
            <button class="secondary" data-testid="export-request" disabled=move || bundle.pending().get() on:click=export>
                "Export this request as a verifiable bundle"
            </button>
            {move || bundle.value().get().map(|r| match r {
                Ok(done) => view! {
                    <p class="exported" data-testid="exported-request">"Saved to " <code>{done.path}</code> " · check it with " <code>{done.check}</code></p>
                }.into_any(),
                Err(e) => view! { <p class="bad">{e.message}</p> }.into_any(),
            })}
        </section>
    }
}

fn percent(rate: f64) -> String {
    format!("{:.0}%", rate * 100.0)
}

/// The supervisor dashboard: the measures and a per-day plot.
#[component]
pub(crate) fn Dashboard() -> impl IntoView {
    let metrics = LocalResource::new(|| bridge::call(&GetMetrics {}));
    view! {
        <div class="rows dashboard" data-testid="dashboard">
            {move || match metrics.get() {
                None => view! { <p class="empty">"Measuring…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="empty bad" data-testid="dashboard-error">{e.message}</p> }.into_any(),
                Some(Ok(m)) => view! { <MetricsView metrics=m /> }.into_any(),
            }}
            <ExportPanel />
        </div>
    }
}

/// Exports of the last 30 days, saved on this machine; the download's progress shows while
/// it runs.
#[component]
fn ExportPanel() -> impl IntoView {
    let export = bridge::action::<ExportRecords>();
    let running = export.pending();
    let received = RwSignal::new(0_u64);
    let progress = bridge::listen(EXPORT_PROGRESS_EVENT, move |payload| {
        if let Some(bytes) = payload.as_f64()
            && running.try_get_untracked().unwrap_or(false)
        {
            let _ = received.try_set(bytes as u64);
        }
    });
    // Every visit to the dashboard subscribes; leaving it unsubscribes.
    let progress = StoredValue::new_local(progress);
    on_cleanup(move || progress.with_value(bridge::Subscription::cancel));
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let run = move |format: ExportFormat| {
        received.set(0);
        export.dispatch_local(ExportRecords {
            format,
            from: Some(from.get_untracked()),
            to: Some(to.get_untracked()),
            request_ids: Vec::new(),
        });
    };
    let button = move |format: ExportFormat, label: &'static str, testid: &'static str| {
        view! {
            <button class="secondary" data-testid=testid disabled=move || running.get()
                on:click=move |_| run(format)>{label}</button>
        }
    };
    view! {
        <h3 class="list-heading">"Export review records"</h3>
        <div class="export-range">
            <label>"Received from " <input type="date" data-testid="export-from" prop:value=move || from.get()
                on:input=move |ev| from.set(event_target_value(&ev)) /></label>
            <label>" to " <input type="date" data-testid="export-to" prop:value=move || to.get()
                on:input=move |ev| to.set(event_target_value(&ev)) /></label>
            <span class="hint">" (empty: the last 30 days)"</span>
        </div>
        <div class="exports">
            {button(ExportFormat::Bundle, "Verifiable bundle", "export-bundle")}
            {button(ExportFormat::Csv, "CSV", "export-csv")}
            {button(ExportFormat::Jsonl, "JSONL", "export-jsonl")}
        </div>
        {move || running.get().then(|| view! {
            <p class="progress" data-testid="export-progress">"Exporting… " {crate::text::size(received.get())} " received"</p>
        })}
        // The last export's outcome, once no other is running.
        {move || (!running.get()).then(|| export.value().get()).flatten().map(|r| match r {
            Ok(done) => view! {
                <div class="exported" data-testid="exported">
                    <p>"Saved " {crate::text::size(done.bytes)} " to " <code>{done.path}</code></p>
                    {(!done.check.is_empty()).then(|| view! { <p>"Check it offline: " <code data-testid="verify-command">{done.check}</code></p> })}
                </div>
            }.into_any(),
            Err(e) => view! { <p class="bad" data-testid="export-error">{e.message}</p> }.into_any(),
        })}
    }
}

#[component]
fn MetricsView(metrics: Metrics) -> impl IntoView {
    let card = |label: &'static str, value: String, detail: String, testid: &'static str| {
        view! {
            <div class="metric" data-testid=testid>
                <div class="metric-value">{value}</div>
                <div class="metric-label">{label}</div>
                <div class="metric-detail">{detail}</div>
            </div>
        }
    };
    let m = metrics;
    view! {
        <h3 class="list-heading">"Last 30 days · " {m.received} " requests"</h3>
        <div class="metrics">
            {card("Exception rate", percent(m.exception_rate), format!("{} of {} left the normal path", m.exceptions, m.received), "metric-exception")}
            {card("Correction rate", percent(m.correction_rate), format!("{} rejected, {} overridden of {} decided", m.rejected, m.overridden, m.decided), "metric-correction")}
            {card("Approval latency", crate::text::duration(m.approval_latency.p50), format!("median · p90 {}", crate::text::duration(m.approval_latency.p90)), "metric-latency")}
            {card("Cycle time", crate::text::duration(m.cycle_time.p50), format!("median to execution · {} receipts", m.cycle_time.count), "metric-cycle")}
            {card("Audit completeness", percent(m.audit_completeness), format!("{} of {} events sealed", m.sealed, m.events), "metric-audit")}
        </div>
        <DayPlot days=m.days />
    }
}

/// Requests per day (bar), exceptions (darker part of the bar) and corrections (dot).
#[component]
fn DayPlot(days: Vec<DayMetrics>) -> impl IntoView {
    let bars = plot_bars(&days, 360.0, 120.0);
    view! {
        <figure class="plot" data-testid="plot">
            <svg viewBox="0 0 380 150" role="img" aria-label="Requests, exceptions and corrections per day">
                <line x1="10" y1="130" x2="370" y2="130" class="axis" />
                {bars.into_iter().map(|bar| view! {
                    <g>
                        <rect class="bar-received" x=bar.x y=bar.received_y width=bar.width height=bar.received_height>
                            <title>{bar.title.clone()}</title>
                        </rect>
                        <rect class="bar-exceptions" x=bar.x y=bar.exceptions_y width=bar.width height=bar.exceptions_height />
                        {(bar.corrected > 0).then(|| view! { <circle class="corrected" cx=bar.x + bar.width / 2.0 cy=bar.received_y - 6.0 r="3" /> })}
                        <text class="day" x=bar.x + bar.width / 2.0 y="144" text-anchor="middle">{bar.label.clone()}</text>
                    </g>
                }).collect_view()}
            </svg>
            <figcaption>
                <span class="key received"></span>"received "
                <span class="key exceptions"></span>"exceptions "
                <span class="key corrected"></span>"corrected"
            </figcaption>
        </figure>
    }
}
