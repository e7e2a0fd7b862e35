//! The Countersign console UI: Leptos, client-side rendered, in the Tauri webview.
//!
//! It renders what the backend sends (`countersign_wire::console`) and asks it to act; it
//! holds no keys and no business rules. All untrusted text (summaries, evidence, tool outputs)
//! is rendered as text nodes, which Leptos escapes: never as HTML.

mod app;
pub mod bridge;
mod queue;
mod request;
mod settings;
mod snooze;
mod supervision;
pub mod text;
mod theme;

use wasm_bindgen::prelude::*;

/// Entry point called by the generated JS glue.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    leptos::mount::mount_to_body(app::App);
}
