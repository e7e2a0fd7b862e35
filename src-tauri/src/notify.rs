//! OS notifications for high and critical requests; activating one opens that request.

use countersign_wire::console::FOCUS_EVENT;
use tauri::{Emitter as _, Manager as _};

pub(crate) fn high_impact(app: &tauri::AppHandle, request_id: &str, tier: &str, summary: &str) {
    let app = app.clone();
    let request_id = request_id.to_owned();
    let summary: String = summary.chars().take(180).collect();
    let title = format!("{} handoff awaits your countersignature", capitalise(tier));
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
