//! OS notifications for high and critical requests; activating one opens that request.

use countersign_wire::DelegationRequest;
use countersign_wire::api::RequestRecord;
use countersign_wire::console::FOCUS_EVENT;
use serde::Deserialize as _;
use tauri::{Emitter as _, Manager as _};

/// At most this many notifications at once; beyond it, one says how many more there are.
const AT_ONCE: usize = 5;

/// Announces high-impact requests, most urgent first, without flooding the desktop.
pub(crate) fn arrivals(app: &tauri::AppHandle, records: &[&RequestRecord]) {
    let mut records = records.to_vec();
    records.sort_by(|a, b| {
        b.tier
            .cmp(&a.tier)
            .then_with(|| a.expires_at.cmp(&b.expires_at))
    });
    for record in records.iter().take(AT_ONCE) {
        let summary = DelegationRequest::deserialize(&record.request)
            .map(|request| request.action.summary)
            .unwrap_or_default();
        high_impact(app, &record.request_id, record.tier.as_str(), &summary);
    }
    if records.len() > AT_ONCE {
        let more = records.len() - AT_ONCE;
        let shown = notify_rust::Notification::new()
            .appname("Countersign")
            .summary(&format!("{more} more high-impact handoffs await review"))
            .show();
        if let Err(e) = shown {
            tracing::warn!(error = %e, "cannot show a notification");
        }
    }
}

/// Announces requests whose "Not now" has ended, whatever their tier: the reviewer asked for
/// them back.
pub(crate) fn back_from_snooze(app: &tauri::AppHandle, records: &[&RequestRecord]) {
    for record in records.iter().take(AT_ONCE) {
        let summary = DelegationRequest::deserialize(&record.request)
            .map(|request| request.action.summary)
            .unwrap_or_default();
        show(
            app,
            &record.request_id,
            format!(
                "Back in your queue: a {} handoff you put aside",
                record.tier.as_str()
            ),
            &summary,
        );
    }
}

fn high_impact(app: &tauri::AppHandle, request_id: &str, tier: &str, summary: &str) {
    let title = format!("{} handoff awaits your countersignature", capitalise(tier));
    show(app, request_id, title, summary);
}

/// One notification that opens `request_id` when activated.
fn show(app: &tauri::AppHandle, request_id: &str, title: String, summary: &str) {
    let app = app.clone();
    let request_id = request_id.to_owned();
    let summary: String = summary.chars().take(180).collect();
    // Showing and waiting for the click block, so they get a thread of their own.
    std::thread::spawn(move || {
        let shown = notify_rust::Notification::new()
            .appname("Countersign")
            .summary(&title)
            .body(&summary)
            .action("default", "Review")
            .show();
        match shown {
            Ok(handle) => handle.wait_for_action(|action| {
                if action == "default" {
                    if let Some(window) = app.get_webview_window("main") {
                        let _ = window.show();
                        let _ = window.set_focus();
                    }
                    let _ = app.emit(FOCUS_EVENT, request_id.clone());
                }
            }),
            Err(e) => tracing::warn!(error = %e, "cannot show a notification"),
        }
    });
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
