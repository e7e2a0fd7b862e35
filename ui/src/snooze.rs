//! "Not now": put a request aside until a chosen time (its deadline keeps running), and the
//! list of what is put aside, each with the time it comes back.

use countersign_wire::Timestamp;
use countersign_wire::console::{QueueItem, Snapshot, Snooze, Unsnooze};
use leptos::prelude::*;

use crate::bridge;
use crate::text::{countdown, seconds_until};

/// The choices offered, in minutes.
const CHOICES: [(i64, &str); 3] = [(15, "15 minutes"), (60, "1 hour"), (240, "4 hours")];

/// In the opened request: hide it from the queue for a while.
#[component]
pub(crate) fn NotNowPanel(
    request_id: String,
    expires_at: Timestamp,
    now: RwSignal<f64>,
) -> impl IntoView {
    let snoozing = bridge::action::<Snooze>();
    let chosen = RwSignal::new(None::<Timestamp>);
    let buttons = CHOICES
        .into_iter()
        .map(|(minutes, label)| {
            let request_id = request_id.clone();
            let until =
                move || Timestamp::from_unix_seconds((now.get() / 1000.0) as i64 + minutes * 60);
            // A request that would expire first could never come back: not offered.
            let too_late = move || until() >= expires_at;
            view! {
                <button
                    class="secondary"
                    data-testid=format!("snooze-{minutes}")
                    disabled=move || too_late() || snoozing.pending().get()
                    title=move || too_late().then_some("it expires before then")
                    on:click=move |_| {
                        let until = until();
                        chosen.set(Some(until));
                        snoozing.dispatch_local(Snooze { request_id: request_id.clone(), until });
                    }
                >
                    {label}
                </button>
            }
        })
        .collect_view();
    view! {
        <section class="panel not-now" data-testid="not-now">
            <h2>"Not now"</h2>
            <p class="hint">"Hides it from your queue until then, when it comes back with a notification. Its deadline keeps running, and so do its escalations."</p>
            <div class="buttons">{buttons}</div>
            {move || match snoozing.value().get() {
                Some(Ok(())) => view! {
                    <p class="notice" data-testid="snoozed-notice">
                        "Put aside; back in "
                        {move || chosen.get().map(|until| countdown(seconds_until(until, now.get())))}
                        "."
                    </p>
                }.into_any(),
                Some(Err(e)) => view! { <p class="bad" data-testid="snooze-error">{e.message}</p> }.into_any(),
                None => ().into_any(),
            }}
        </section>
    }
}

/// Under the queue: what is put aside, soonest back first.
#[component]
pub(crate) fn SnoozedList(
    snapshot: RwSignal<Option<Snapshot>>,
    opened: RwSignal<Option<String>>,
    now: RwSignal<f64>,
) -> impl IntoView {
    let bringing = bridge::action::<Unsnooze>();
    let items = move || -> Vec<(QueueItem, Timestamp)> {
        snapshot.with(|s| {
            s.as_ref().map_or_else(Vec::new, |s| {
                s.snoozed
                    .iter()
                    .map(|s| (s.item.clone(), s.until))
                    .collect()
            })
        })
    };
    view! {
        <Show when=move || !items().is_empty()>
            <div class="snoozed" data-testid="snoozed">
                <h3 class="list-heading">"Not now · " {move || items().len()}</h3>
                <ul>
                    {move || items().into_iter().map(|(item, until)| {
                        let id = item.request_id.clone();
                        let open_id = id.clone();
                        let row_id = id.clone();
                        view! {
                            <li class="snoozed-row" data-testid="snoozed-row" data-request-id=row_id>
                                <button class="link" data-testid="snoozed-summary" title=item.summary.clone() on:click=move |_| opened.set(Some(open_id.clone()))>{item.summary.clone()}</button>
                                <span class="back-in">"back in " {move || countdown(seconds_until(until, now.get()))}</span>
                                <button class="secondary" data-testid="unsnooze"
                                    on:click=move |_| { bringing.dispatch_local(Unsnooze { request_id: id.clone() }); }>
                                    "Bring back"
                                </button>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </div>
        </Show>
    }
}
