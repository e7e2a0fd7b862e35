//! The smallest Tauri 2 app: one window on an empty page, nothing else. The console benchmark
//! measures its idle memory beside the console's, in the same run.

fn main() {
    if let Err(e) = tauri::Builder::default().run(tauri::generate_context!()) {
        eprintln!("countersign-bare-window: {e}");
        std::process::exit(1);
    }
}
