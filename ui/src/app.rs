//! The console: queue on the left, the opened request on the right.

use std::time::Duration;

use countersign_wire::console::{
    CHANGED_EVENT, Connection, ConsoleError, DecideOutcome, FOCUS_EVENT, GetRequest, GetSnapshot,
    PauseNotifications, QueueItem, RequestView, ResumeNotifications, Snapshot, TakeLaunchLink,
};
use countersign_wire::{DecisionKind, Role};
use leptos::ev;
use leptos::prelude::*;

use crate::bridge;
use crate::queue::{History, QueueList};
use crate::request::{DecisionState, RequestDetail};
use crate::settings::SettingsPanel;
use crate::snooze::SnoozedList;
use crate::supervision::{Dashboard, EscalationQueue, RequestChanges, escalation_groups};
use crate::text::{countdown, group_similar, seconds_until};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tab {
    Queue,
    Escalations,
    History,
    Refused,
    Dashboard,
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
    let changes = RequestChanges::new();
    crate::theme::restore();
    let has_role =
        move |role: Role| snapshot.with(|s| s.as_ref().is_some_and(|s| s.reviewer.has_role(role)));
    let supervisor = Signal::derive(move || has_role(Role::Supervisor));
    let auditing = Signal::derive(move || has_role(Role::Supervisor) || has_role(Role::Auditor));

    // One snapshot request at a time: events arriving meanwhile ask for one more afterwards,
    // so a burst of events costs two refreshes, not one per event.
    let snapshots = bridge::action::<GetSnapshot>();
    let wanted_again = StoredValue::new(false);
    let refresh = move || {
        if snapshots.pending().get_untracked() {
            wanted_again.set_value(true);
        } else {
            snapshots.dispatch_local(GetSnapshot {});
        }
    };
    Effect::new(move |_| {
        snapshots.version().track();
        // Taken, not cloned: a snapshot may hold 10,000 rows. A failed refresh keeps the last.
        if let Some(Some(Ok(fresh))) = snapshots.value().try_update_untracked(Option::take) {
            snapshot.set(Some(fresh));
        }
        if wanted_again.get_value() {
            wanted_again.set_value(false);
            snapshots.dispatch_local(GetSnapshot {});
        }
    });
    let loading = bridge::action::<GetRequest>();
    let load = move |id: String| {
        loading.dispatch_local(GetRequest { request_id: id });
    };
    Effect::new(move |_| {
        // Only the last load's answer arrives (an action keeps the latest dispatch's), and
        // the last load is for the request opened now; a closed one shows nothing.
        let Some(result) = loading.value().get() else {
            return;
        };
        let Some(id) = opened.get_untracked() else {
            return;
        };
        if result.as_ref().is_ok_and(|v| v.record.request_id == id) || result.is_err() {
            view.set(Some(result));
        }
    });
    // A decision's outcome, once it is known: the queue and the request are read again.
    Effect::new(move |_| {
        if decision.sent.version().get() == 0 {
            return;
        }
        decision.confirming.set(false);
        refresh();
        if let Some(id) = opened.get_untracked() {
            load(id);
        }
    });
    changes.on_changed(move |changed| {
        view.set(Some(Ok(changed)));
        refresh();
    });
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
    bridge::listen(CHANGED_EVENT, move |_| refresh()).for_the_page();
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
    // Started by following a link: open what it names, once.
    leptos::task::spawn_local(async move {
        if let Ok(Some(id)) = bridge::call(&TakeLaunchLink {}).await {
            tab.set(Tab::Queue);
            opened.set(Some(id));
        }
    });
    bridge::listen(FOCUS_EVENT, move |payload| {
        if let Some(id) = payload.as_string() {
            tab.set(Tab::Queue);
            opened.set(Some(id));
        }
    })
    .for_the_page();
    let _ = set_interval_with_handle(move || now.set(js_sys::Date::now()), Duration::from_secs(1));

    Effect::new(move |_| {
        let id = opened.get();
        decision.reset();
        changes.reset();
        view.set(None);
        if let Some(id) = id {
            load(id);
        }
    });

    // The queue with similar requests side by side (each still decided on its own).
    let grouped = Memo::new(move |_| {
        snapshot.with(|s| match (s, tab.get()) {
            (Some(s), Tab::Queue) => group_similar(s.queue.clone()),
            (Some(s), Tab::Refused) => (s.refused.clone(), Default::default()),
            _ => Default::default(),
        })
    });
    let rows = Memo::new(move |_| -> Vec<QueueItem> { grouped.with(|(rows, _)| rows.clone()) });
    let similar = Memo::new(move |_| grouped.with(|(_, similar)| similar.clone()));
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
            <TopBar snapshot=snapshot help=help settings=settings_open now=now />
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
                        Tab::Queue => view! {
                            <QueueList rows=rows similar=similar selected=selected opened=opened now=now />
                            <SnoozedList snapshot=snapshot opened=opened now=now />
                        }.into_any(),
                        Tab::Refused => view! { <QueueList rows=rows similar=similar selected=selected opened=opened now=now /> }.into_any(),
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
                            <RequestDetail request=request now=now decision=decision supervisor=supervisor auditing=auditing changes=changes />
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
    now: RwSignal<f64>,
) -> impl IntoView {
    let pausing = bridge::action::<PauseNotifications>();
    let resuming = bridge::action::<ResumeNotifications>();
    let paused_until =
        move || snapshot.with(|s| s.as_ref().and_then(|s| s.notifications_paused_until));
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
                    <span class="mode">{s.reviewer.mode.label()}</span>
                }))}
                {move || match paused_until() {
                    Some(until) => view! {
                        <span class="paused" data-testid="notifications-paused" role="status">
                            "Alerts paused · " {move || countdown(seconds_until(until, now.get()))}
                        </span>
                        <button class="ghost" data-testid="resume-notifications"
                            on:click=move |_| { resuming.dispatch_local(ResumeNotifications {}); }>
                            "Resume alerts"
                        </button>
                    }.into_any(),
                    None => view! {
                        <button class="ghost" data-testid="pause-notifications"
                            title="No desktop notifications for an hour; the queue still fills"
                            on:click=move |_| { pausing.dispatch_local(PauseNotifications { minutes: 60 }); }>
                            "Pause alerts 1 h"
                        </button>
                    }.into_any(),
                }}
                <button class="ghost" data-testid="open-settings" on:click=move |_| settings.set(true)>"Settings"</button>
                <button class="ghost" data-testid="open-help" aria-label="Keyboard shortcuts" on:click=move |_| help.update(|h| *h = !*h)>"?"</button>
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
