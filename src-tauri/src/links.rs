//! One console per data directory, and links into it: a second launch (a followed
//! `countersign://request/<id>` link, or a second click on the app) hands its arguments to the
//! running console, which comes to the front and opens that request, and exits.

use std::sync::Mutex;

use countersign_wire::console::{FOCUS_EVENT, request_link};
use tauri::{Emitter as _, Manager as _};

/// The D-Bus name the running console holds: the app's for the default data directory, one
/// per directory otherwise (so consoles on different data, as the tests run them, are apart).
pub(crate) fn instance_id() -> String {
    const APP: &str = "dev.countersign.console";
    match std::env::var_os("COUNTERSIGN_CONSOLE_DATA") {
        None => APP.to_owned(),
        Some(dir) => {
            use sha2::Digest as _;
            let path = std::path::Path::new(&dir);
            let path = path.canonicalize().unwrap_or_else(|_| path.to_owned());
            let digest = sha2::Sha256::digest(path.as_os_str().as_encoded_bytes());
            let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
            format!("{APP}.d{hex}")
        }
    }
}

/// A second launch's arguments reached the running console.
pub(crate) fn followed(app: &tauri::AppHandle, argv: &[String]) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
    match argv
        .iter()
        .skip(1)
        .find(|arg| arg.starts_with("countersign:"))
    {
        None => {}
        Some(link) => match request_link(link) {
            Some(request_id) => {
                let _ = app.emit(FOCUS_EVENT, request_id);
            }
            // Never guessed at: a link that is not exactly a request link opens nothing.
            None => {
                tracing::warn!(link = %link.chars().take(120).collect::<String>(), "not a link to a request; ignored")
            }
        },
    }
}

/// The request a link named when this console was started by following it; taken once.
pub(crate) struct LaunchLink(Mutex<Option<String>>);

impl LaunchLink {
    pub(crate) fn from_args(args: impl Iterator<Item = String>) -> Self {
        LaunchLink(Mutex::new(args.skip(1).find_map(|arg| request_link(&arg))))
    }

    pub(crate) fn take(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}
