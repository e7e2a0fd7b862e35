//! The theme is `data-theme` on the document element, which the stylesheet reads; without it
//! the stylesheet follows the desktop's light or dark preference.

use countersign_wire::console::{GetSettings, Theme};

use crate::bridge;

/// Shows the console in `theme` at once.
pub(crate) fn apply(theme: Theme) {
    let Some(root) = web_sys::window()
        .and_then(|window| window.document())
        .and_then(|document| document.document_element())
    else {
        return;
    };
    // Failing to set an attribute leaves the theme as it was, which is still readable.
    let _ = match theme {
        Theme::System => root.remove_attribute("data-theme"),
        chosen => root.set_attribute("data-theme", chosen.as_str()),
    };
}

/// Applies the saved theme when the console opens.
pub(crate) fn restore() {
    leptos::task::spawn_local(async {
        if let Ok(settings) = bridge::call(&GetSettings {}).await {
            apply(settings.theme);
        }
    });
}
