//! The Countersign desktop console.
//!
//! With no configuration it runs the embedded demo (`demo.rs`): an in-process gateway on
//! loopback, a local reviewer key (kept in the OS keychain by `custody.rs`), and the demo
//! workflow, so the queue fills with the brief's scenarios and decisions really flow back. `sync.rs` keeps a model of the
//! queue in step with the gateway's live events; `commands.rs` are the thin Tauri commands the
//! UI calls. The reviewer's private key stays in this process; the webview never sees it.

mod commands;
mod custody;
mod demo;
mod links;
mod notify;
mod settings;
mod sync;

use std::path::PathBuf;
use std::sync::Arc;

use countersign_review::{Clock, SystemClock};

use tauri::Manager as _;

/// Where the console keeps its data: `COUNTERSIGN_CONSOLE_DATA`, else the app data directory.
fn data_dir(app: &tauri::App) -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("COUNTERSIGN_CONSOLE_DATA") {
        return Ok(dir.into());
    }
    Ok(app.path().app_data_dir()?)
}

/// A session with a real gateway, as the reviewer enrolled there with this console's key.
fn external(
    gateway: &countersign_wire::console::GatewaySettings,
    dir: &std::path::Path,
    custody::Custody { key, custody }: custody::Custody,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<sync::Session> {
    Ok(sync::Session {
        client: countersign_client::GatewayClient::new(&gateway.url),
        identity: countersign_client::ConsoleIdentity::new(
            &gateway.identity,
            key,
            &gateway.audience,
        ),
        display_name: gateway.display_name.clone(),
        mode: countersign_wire::console::Mode::Gateway,
        data_dir: dir.to_owned(),
        custody,
        clock,
        demo: None,
    })
}

/// WebKitGTK settings for a console that sits open all day: the smallest cache model (one
/// local page, nothing to browse). Switching hardware acceleration off here would save about
/// 90 MB in the web process, but changing it on a loaded page stalls WebDriver sessions.
#[cfg(target_os = "linux")]
fn lean_webview(app: &tauri::App) {
    use webkit2gtk::{CacheModel, WebContextExt as _, WebViewExt as _};
    if let Some(window) = app.get_webview_window("main") {
        let applied = window.with_webview(|webview| {
            if let Some(context) = webview.inner().context() {
                context.set_cache_model(CacheModel::DocumentViewer);
            }
        });
        if let Err(e) = applied {
            tracing::warn!(error = %e, "cannot tune the webview");
        }
    }
}

/// Starts the console.
pub fn run() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .try_init();
    let result = tauri::Builder::default()
        // First, so a second launch forwards its link and exits before anything else starts.
        .plugin(
            tauri_plugin_single_instance::Builder::new()
                .dbus_id(links::instance_id())
                .callback(|app, argv, _cwd| links::followed(app, &argv))
                .build(),
        )
        // Off until the reviewer turns it on in Settings.
        .plugin(
            tauri_plugin_autostart::Builder::new()
                .app_name("Countersign")
                .build(),
        )
        .manage(links::LaunchLink::from_args(std::env::args()))
        .setup(|app| {
            let dir = data_dir(app)?;
            std::fs::create_dir_all(&dir)?;
            let handle = app.handle().clone();
            // Connect (or bring up the embedded gateway) before the window asks for anything.
            // The one clock the console reads; everything below is handed it.
            let clock: Arc<dyn Clock> = Arc::new(SystemClock);
            // The reviewer key: from the OS keychain, or its file when there is none.
            let key = custody::load(&dir)?;
            let console = tauri::async_runtime::block_on(async {
                let session = match settings::effective(&dir)? {
                    Some(gateway) => external(&gateway, &dir, key, clock)?,
                    None => demo::start(&dir, key, clock).await?,
                };
                sync::Console::open(session, handle.clone()).await
            })?;
            app.manage(console.clone());
            #[cfg(target_os = "linux")]
            lean_webview(app);
            tauri::async_runtime::spawn(sync::wake_snoozes(console.clone()));
            tauri::async_runtime::spawn(sync::run(console, handle));
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::snapshot,
            commands::request,
            commands::decide,
            commands::escalate,
            commands::assign,
            commands::metrics,
            commands::reviewers,
            commands::export,
            commands::settings,
            commands::save_settings,
            commands::save_theme,
            commands::save_autostart,
            commands::snooze,
            commands::unsnooze,
            commands::pause_notifications,
            commands::resume_notifications,
            commands::take_launch_link,
            commands::export_public_key,
            commands::restart
        ])
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("countersign-console: {e}");
        std::process::exit(1);
    }
}
