//! Tauri commands: one per `countersign_wire::console::Command`, each taking `req`.

use countersign_client::ClientError;
use countersign_review::decision_claims;
use countersign_wire::api::{BundleFiles, ErrorCode, Me, Metrics};
use countersign_wire::console::{
    Assign, ConsoleError, Decide, DecideOutcome, EXPORT_PROGRESS_EVENT, Escalate, ExportFormat,
    ExportPublicKey, ExportRecords, Exported, ExportedKey, GatewaySettings, GetMetrics, GetRequest,
    GetReviewers, GetSettings, GetSnapshot, RequestView, Restart, SaveAutostart, SaveSettings,
    SaveTheme, SettingsView, Snapshot, Theme,
};
use countersign_wire::console::{
    Command, ConsoleErrorCode, ConsoleFailure, Mode, PauseNotifications, ResumeNotifications,
    Snooze, TakeLaunchLink, Unsnooze,
};
use countersign_wire::{DECISION_TYP, Timestamp};
use tauri::State;
use tauri::ipc::Response;

use crate::settings;
use crate::sync::Console;

fn error(code: impl Into<ConsoleErrorCode>, message: impl Into<String>) -> ConsoleError {
    ConsoleError::new(code, message)
}

/// A command's output as JSON bytes: the UI parses them in one go (`bridge::call`), which is
/// much faster for a 10,000-row snapshot than Tauri's JSON → JS objects → Rust round trip.
fn raw<C: Command>(output: &C::Output) -> Result<Response, ConsoleError> {
    serde_json::to_vec(output)
        .map(Response::new)
        .map_err(|e| error(ErrorCode::Internal, e.to_string()))
}

#[tauri::command]
pub(crate) fn snapshot(
    console: State<'_, Console>,
    req: GetSnapshot,
) -> Result<Response, ConsoleError> {
    let GetSnapshot {} = req;
    let snapshot: Snapshot = console.snapshot();
    raw::<GetSnapshot>(&snapshot)
}

/// A gateway failure as the reviewer reads it: the gateway's own code and message.
fn gateway_error(e: ClientError) -> ConsoleError {
    match e {
        ClientError::Api { error: api, .. } => error(api.code, api.message),
        ClientError::Unreachable(m) => error(
            ConsoleFailure::Offline,
            format!("the gateway cannot be reached ({m}); try again when it is back"),
        ),
        other => error(ErrorCode::Internal, other.to_string()),
    }
}

#[tauri::command]
pub(crate) async fn request(
    console: State<'_, Console>,
    req: GetRequest,
) -> Result<RequestView, ConsoleError> {
    let view = console
        .request_view(&req.request_id)
        .await
        .map_err(gateway_error)?;
    console.mark_shown(&req.request_id);
    Ok(view)
}

#[tauri::command]
pub(crate) async fn escalate(
    console: State<'_, Console>,
    req: Escalate,
) -> Result<RequestView, ConsoleError> {
    console
        .escalate(&req.request_id, &req.note)
        .await
        .map_err(gateway_error)
}

#[tauri::command]
pub(crate) async fn assign(
    console: State<'_, Console>,
    req: Assign,
) -> Result<RequestView, ConsoleError> {
    console
        .assign(&req.request_id, req.reviewer.trim(), &req.note)
        .await
        .map_err(gateway_error)
}

/// Downloads an export from the gateway into `exports/` under the data directory, telling the
/// UI how many bytes have arrived.
#[tauri::command]
pub(crate) async fn export(
    app: tauri::AppHandle,
    console: State<'_, Console>,
    req: ExportRecords,
) -> Result<Exported, ConsoleError> {
    use tauri::Emitter as _;
    let stamp = console.clock.now().format("%Y%m%dT%H%M%SZ");
    let dir = console.data_dir.join("exports");
    std::fs::create_dir_all(&dir).map_err(|e| error(ErrorCode::Internal, e.to_string()))?;
    let selection = req.query().map_err(|e| error(ConsoleFailure::Invalid, e))?;
    let path = match req.format {
        ExportFormat::Bundle => format!("/v1/export/bundle?{selection}"),
        format => format!("/v1/export/records?format={}&{selection}", format.as_str()),
    };
    let body = console
        .client
        .export(&console.identity, &path, |bytes| {
            let _ = app.emit(EXPORT_PROGRESS_EVENT, bytes);
        })
        .await
        .map_err(gateway_error)?;
    let bytes = body.len() as u64;
    let written = |path: std::path::PathBuf, check: String| Exported {
        path: path.display().to_string(),
        bytes,
        check,
    };
    let fail =
        |e: std::io::Error| error(ErrorCode::Internal, format!("cannot save the export: {e}"));
    match req.format {
        ExportFormat::Bundle => {
            let files: BundleFiles = serde_json::from_slice(&body).map_err(|e| {
                error(
                    ErrorCode::Internal,
                    format!("the gateway sent no bundle: {e}"),
                )
            })?;
            let target = dir.join(format!("bundle-{stamp}"));
            for (name, content) in &files.files {
                // Only plain relative paths: a gateway cannot write outside the bundle.
                let relative = std::path::Path::new(name);
                if relative.is_absolute()
                    || relative
                        .components()
                        .any(|c| !matches!(c, std::path::Component::Normal(_)))
                {
                    return Err(error(
                        ConsoleFailure::Invalid,
                        format!("the bundle names a bad path {name:?}"),
                    ));
                }
                let file = target.join(relative);
                if let Some(parent) = file.parent() {
                    std::fs::create_dir_all(parent).map_err(fail)?;
                }
                std::fs::write(&file, content).map_err(fail)?;
            }
            let check = format!("countersign verify-bundle {}", target.display());
            Ok(written(target, check))
        }
        format => {
            let target = dir.join(format!("records-{stamp}.{}", format.as_str()));
            std::fs::write(&target, &body).map_err(fail)?;
            Ok(written(target, String::new()))
        }
    }
}

#[tauri::command]
pub(crate) async fn reviewers(
    console: State<'_, Console>,
    req: GetReviewers,
) -> Result<Vec<Me>, ConsoleError> {
    let GetReviewers {} = req;
    console
        .client
        .reviewers(&console.identity)
        .await
        .map_err(gateway_error)
}

#[tauri::command]
pub(crate) async fn metrics(
    console: State<'_, Console>,
    req: GetMetrics,
) -> Result<Metrics, ConsoleError> {
    let GetMetrics {} = req;
    console
        .client
        .metrics(&console.identity, None, None)
        .await
        .map_err(gateway_error)
}

#[tauri::command]
pub(crate) async fn decide(
    console: State<'_, Console>,
    req: Decide,
) -> Result<DecideOutcome, ConsoleError> {
    let view = console
        .request_view(&req.request_id)
        .await
        .map_err(|e| error(ConsoleFailure::Offline, e.to_string()))?;
    let reason = req.reason.trim();
    // Nothing is signed that the gateway would refuse: the same requirements it enforces.
    if let Some(unmet) = view
        .requirements
        .unmet(req.decision, reason, &req.acknowledged)
    {
        let code = match unmet {
            countersign_wire::Unmet::Blocked(_) => ErrorCode::ApprovalBlocked,
            _ => ErrorCode::ReasonRequired,
        };
        return Err(error(code, unmet.to_string()));
    }
    let claims = decision_claims(
        &view.record,
        &console.identity.identity,
        &console.identity.audience,
        req.decision,
        reason,
        req.acknowledged,
        console.clock.now(),
        &uuid::Uuid::new_v4().to_string(),
    );
    // Signed here, in the backend: the private key never enters the webview.
    let jws = console
        .identity
        .key
        .sign_jws(DECISION_TYP, &claims)
        .map_err(|e| error(ErrorCode::Internal, e.to_string()))?;
    console
        .deliver(&req.request_id, req.decision, &jws)
        .await
        .map_err(|e| error(ErrorCode::Internal, e.to_string()))
}

/// The gateway this console is connected to now (`None`: the embedded demo).
fn running(console: &Console) -> Option<GatewaySettings> {
    (console.reviewer.mode == Mode::Gateway).then(|| GatewaySettings {
        url: console.reviewer.gateway.clone(),
        identity: console.identity.identity.clone(),
        display_name: console.reviewer.display_name.clone(),
        audience: console.identity.audience.clone(),
    })
}

fn settings_view(console: &Console) -> Result<SettingsView, ConsoleError> {
    let saved = settings::effective(&console.data_dir)
        .map_err(|e| error(ConsoleFailure::Invalid, format!("{e:#}")))?;
    let identity = match &saved {
        Some(gateway) => gateway.identity.clone(),
        None => "user:you".into(),
    };
    Ok(SettingsView {
        reviewer: console.reviewer.clone(),
        restart_needed: saved != running(console),
        gateway: saved,
        data_dir: console.data_dir.display().to_string(),
        custody: console.custody.clone(),
        enrol_command: format!(
            "countersign-gateway reviewer enrol --identity {identity} --name '{}' --roles reviewer --jwk @{}",
            console.reviewer.display_name.replace('\'', ""),
            console.data_dir.join(PUBLIC_KEY_FILE).display()
        ),
        demo: console.demo.clone(),
        theme: settings::theme(&console.data_dir),
        autostart: autostart_enabled(console),
    })
}

/// Whether the console is set to start at login; unreadable is "no" (nothing was set).
fn autostart_enabled(console: &Console) -> bool {
    use tauri_plugin_autostart::ManagerExt as _;
    console.app().autolaunch().is_enabled().unwrap_or(false)
}

const PUBLIC_KEY_FILE: &str = "reviewer-public.jwk.json";

#[tauri::command]
pub(crate) fn settings(
    console: State<'_, Console>,
    req: GetSettings,
) -> Result<SettingsView, ConsoleError> {
    let GetSettings {} = req;
    settings_view(&console)
}

#[tauri::command]
pub(crate) fn save_settings(
    console: State<'_, Console>,
    req: SaveSettings,
) -> Result<SettingsView, ConsoleError> {
    settings::save(&console.data_dir, req.gateway)
        .map_err(|problems| error(ConsoleFailure::Invalid, problems.join("; ")))?;
    settings_view(&console)
}

fn snooze_error(refused: crate::sync::SnoozeRefused) -> ConsoleError {
    use crate::sync::SnoozeRefused;
    match refused {
        SnoozeRefused::NotOpen => error(ErrorCode::NotPending, refused.to_string()),
        SnoozeRefused::Cache(_) => error(ErrorCode::Internal, refused.to_string()),
        SnoozeRefused::Past | SnoozeRefused::AfterExpiry(_) => {
            error(ConsoleFailure::Invalid, refused.to_string())
        }
    }
}

#[tauri::command]
pub(crate) async fn snooze(console: State<'_, Console>, req: Snooze) -> Result<(), ConsoleError> {
    console
        .snooze(&req.request_id, req.until)
        .await
        .map_err(snooze_error)
}

#[tauri::command]
pub(crate) async fn unsnooze(
    console: State<'_, Console>,
    req: Unsnooze,
) -> Result<(), ConsoleError> {
    console
        .unsnooze(&req.request_id)
        .await
        .map_err(snooze_error)
}

#[tauri::command]
pub(crate) fn pause_notifications(
    console: State<'_, Console>,
    req: PauseNotifications,
) -> Result<Timestamp, ConsoleError> {
    console.pause_notifications(req.minutes).ok_or_else(|| {
        error(
            ErrorCode::InvalidParameter,
            format!(
                "a pause lasts 1 to {} minutes",
                Console::LONGEST_PAUSE_MINUTES
            ),
        )
    })
}

#[tauri::command]
pub(crate) fn resume_notifications(console: State<'_, Console>, req: ResumeNotifications) {
    let ResumeNotifications {} = req;
    console.resume_notifications();
}

#[tauri::command]
pub(crate) fn take_launch_link(
    link: State<'_, crate::links::LaunchLink>,
    req: TakeLaunchLink,
) -> Option<String> {
    let TakeLaunchLink {} = req;
    link.take()
}

#[tauri::command]
pub(crate) fn save_theme(
    console: State<'_, Console>,
    req: SaveTheme,
) -> Result<Theme, ConsoleError> {
    settings::save_theme(&console.data_dir, req.theme)
        .map_err(|e| error(ConsoleFailure::Invalid, format!("{e:#}")))?;
    Ok(req.theme)
}

#[tauri::command]
pub(crate) fn save_autostart(
    console: State<'_, Console>,
    req: SaveAutostart,
) -> Result<bool, ConsoleError> {
    use tauri_plugin_autostart::ManagerExt as _;
    let launcher = console.app().autolaunch();
    let done = if req.enabled {
        launcher.enable()
    } else {
        launcher.disable()
    };
    done.map_err(|e| {
        error(
            ErrorCode::Internal,
            format!("cannot change starting at login: {e}"),
        )
    })?;
    Ok(autostart_enabled(&console))
}

#[tauri::command]
pub(crate) fn export_public_key(
    console: State<'_, Console>,
    req: ExportPublicKey,
) -> Result<ExportedKey, ConsoleError> {
    let ExportPublicKey {} = req;
    let path = console.data_dir.join(PUBLIC_KEY_FILE);
    let jwk = console.reviewer.public_jwk.clone();
    std::fs::write(&path, format!("{jwk}\n")).map_err(|e| {
        error(
            ErrorCode::Internal,
            format!("cannot write {}: {e}", path.display()),
        )
    })?;
    Ok(ExportedKey {
        path: path.display().to_string(),
        jwk,
    })
}

#[tauri::command]
pub(crate) fn restart(app: tauri::AppHandle, req: Restart) {
    let Restart {} = req;
    app.restart();
}
