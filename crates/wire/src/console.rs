//! The console's IPC contract: what the Tauri backend and the Leptos UI exchange.
//!
//! Each command has a request type with a `NAME` (the Tauri command) and an output type, so a
//! rename or a shape change breaks the build on both sides at once.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::api::{ErrorCode, Escalation, Metrics, RequestRecord, RequestState};
use crate::{
    AuthorizationDetail, DecisionKind, DecisionRequirements, Finding, FindingCode, Purpose, Role,
    Tier, Timestamp,
};

/// A console command: its Tauri name and what it returns.
pub trait Command: Serialize + DeserializeOwned {
    /// The Tauri command name.
    const NAME: &'static str;
    /// What it returns.
    type Output: Serialize + DeserializeOwned;
}

/// Event emitted by the backend whenever the queue, history or connection changes.
pub const CHANGED_EVENT: &str = "console-changed";
/// Event emitted when the user activates a notification: payload is a request id.
pub const FOCUS_EVENT: &str = "focus-request";

/// The scheme of links into the console: `countersign://request/<id>` opens that request.
pub const LINK_SCHEME: &str = "countersign";

/// The link that opens `request_id` in a console: `countersign://request/<id>`.
pub fn link_to_request(request_id: &str) -> String {
    format!("{LINK_SCHEME}://request/{request_id}")
}

/// The request a `countersign://request/<id>` link names, or `None` for anything else.
///
/// A link comes from outside (a chat message, a web page, an MCP elicitation), so it is read
/// strictly: only that one form, and an id of URL-unreserved characters (and `:`), at most
/// 200 of them; no query, fragment, percent-encoding or further path. It only ever opens a
/// request for the reviewer to read: nothing is decided by following a link.
pub fn request_link(link: &str) -> Option<String> {
    let rest = link
        .strip_prefix(LINK_SCHEME)?
        .strip_prefix("://request/")?;
    let id = rest.strip_suffix('/').unwrap_or(rest);
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | ':');
    (!id.is_empty() && id.len() <= 200 && id.chars().all(allowed) && id != "." && id != "..")
        .then(|| id.to_owned())
}

/// `take_launch_link`: the request a link named when the console was started by following
/// it, once (a link followed while it runs arrives as a `FOCUS_EVENT`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakeLaunchLink {}

impl Command for TakeLaunchLink {
    const NAME: &'static str = "take_launch_link";
    type Output = Option<String>;
}

/// The whole console state the UI renders.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Open requests, most urgent first.
    pub queue: Vec<QueueItem>,
    /// Decided or expired requests, newest first.
    pub history: Vec<HistoryItem>,
    /// Requests refused at intake (forged or malformed), newest first.
    pub refused: Vec<QueueItem>,
    /// Connection to the gateway.
    pub connection: Connection,
    /// Who is reviewing.
    pub reviewer: ReviewerInfo,
    /// Decisions signed in this console, newest first, with what became of each.
    pub deliveries: Vec<DeliveryItem>,
    /// Open requests put aside ("Not now"), soonest back first; `queue` leaves them out.
    #[serde(default)]
    pub snoozed: Vec<SnoozedItem>,
    /// Until when desktop notifications are paused, if they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notifications_paused_until: Option<Timestamp>,
}

/// An open request the reviewer put aside until `until`. Its deadline keeps running.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnoozedItem {
    /// Its queue row, as it will be when it comes back.
    pub item: QueueItem,
    /// When it comes back (and notifies).
    pub until: Timestamp,
}

/// `snooze`: "Not now": hide an open request from this console's queue until `until`, when
/// it comes back with a notification. Refused for a request that is not open here, for a
/// time already past, and for one at or after the request expires (it would never come back).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snooze {
    /// The request.
    pub request_id: String,
    /// When it comes back.
    pub until: Timestamp,
}

impl Command for Snooze {
    const NAME: &'static str = "snooze";
    type Output = ();
}

/// `pause_notifications`: no desktop notifications for `minutes` (1 to 1,440); the queue
/// still fills as ever. Answers when they resume.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseNotifications {
    /// For how long.
    pub minutes: u32,
}

impl Command for PauseNotifications {
    const NAME: &'static str = "pause_notifications";
    type Output = Timestamp;
}

/// `resume_notifications`: end a pause now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResumeNotifications {}

impl Command for ResumeNotifications {
    const NAME: &'static str = "resume_notifications";
    type Output = ();
}

/// `unsnooze`: bring a snoozed request back now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsnooze {
    /// The request.
    pub request_id: String,
}

impl Command for Unsnooze {
    const NAME: &'static str = "unsnooze";
    type Output = ();
}

/// A decision signed in this console and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryItem {
    /// Request decided.
    pub request_id: String,
    /// The request's summary (untrusted text, shown inert).
    pub summary: String,
    /// Approve or reject.
    pub decision: DecisionKind,
    /// When it was signed.
    pub signed_at: Timestamp,
    /// `Queued` until the gateway answers.
    pub outcome: DecideOutcome,
    /// When the gateway answered.
    pub settled_at: Option<Timestamp>,
}

/// Connection state, shown as a banner when not online.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum Connection {
    /// Starting up.
    Connecting,
    /// Subscribed to live events.
    Online,
    /// The gateway cannot be reached; decisions are queued.
    Offline(String),
}

/// The reviewer using this console.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewerInfo {
    /// Identity.
    pub identity: String,
    /// Display name.
    pub display_name: String,
    /// RFC 7638 thumbprint of their key.
    pub key_fingerprint: String,
    /// Their public JWK as JSON, for enrolment at a gateway.
    pub public_jwk: String,
    /// Gateway URL.
    pub gateway: String,
    /// What the console is connected to.
    pub mode: Mode,
    /// Roles the gateway enrolled them with (`reviewer`, `supervisor`, `auditor`); empty until
    /// the gateway has answered.
    #[serde(default)]
    pub roles: Vec<Role>,
}

/// What a console is connected to: its own embedded demo gateway, or a real one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Mode {
    /// The embedded demo: a gateway on loopback inside the app, with the demo workflow.
    #[serde(rename = "embedded demo")]
    EmbeddedDemo,
    /// A gateway the reviewer is enrolled at.
    #[serde(rename = "gateway")]
    Gateway,
}

impl Mode {
    /// How the console names it.
    pub fn label(self) -> &'static str {
        match self {
            Mode::EmbeddedDemo => "embedded demo",
            Mode::Gateway => "gateway",
        }
    }
}

impl ReviewerInfo {
    /// Whether the gateway enrolled them with `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// How to reach a real gateway as a reviewer enrolled there.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewaySettings {
    /// Base URL, `http://` or `https://`.
    pub url: String,
    /// The reviewer identity enrolled at the gateway (`iss` of decisions).
    pub identity: String,
    /// Name shown in the console.
    pub display_name: String,
    /// The gateway's audience (`aud` of console tokens and decisions).
    pub audience: String,
}

impl GatewaySettings {
    /// What is wrong with these settings, in words a person can act on.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let url = self.url.trim();
        let rest = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"));
        match rest {
            None => problems.push("the gateway URL must start with http:// or https://".into()),
            Some(host) if host.is_empty() || host.starts_with('/') => {
                problems.push("the gateway URL needs a host".into())
            }
            Some(host) if host.contains(char::is_whitespace) => {
                problems.push("the gateway URL cannot contain spaces".into())
            }
            Some(_) => {}
        }
        if self.identity.trim().is_empty() {
            problems.push("the reviewer identity is required (as enrolled at the gateway)".into());
        }
        if self.audience.trim().is_empty() {
            problems.push("the gateway's audience is required".into());
        }
        problems
    }
}

/// The settings screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsView {
    /// Who is reviewing now, with the key fingerprint and public JWK.
    pub reviewer: ReviewerInfo,
    /// The saved gateway; `None` runs the embedded demo.
    pub gateway: Option<GatewaySettings>,
    /// Whether the saved settings differ from the running connection (restart to apply).
    pub restart_needed: bool,
    /// Where the console keeps its data.
    pub data_dir: String,
    /// Where the reviewer's private key is kept (the key itself is never shown).
    pub custody: KeyCustody,
    /// The gateway operator's command to enrol this key.
    pub enrol_command: String,
    /// In the embedded demo: how to point an agent of your own at its gateway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demo: Option<DemoConnection>,
    /// How the console looks.
    #[serde(default)]
    pub theme: Theme,
    /// Whether the console starts when the reviewer logs in (off unless they turn it on).
    #[serde(default)]
    pub autostart: bool,
}

/// Where the reviewer's private key is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyCustody {
    /// In the operating system's keychain.
    Keychain {
        /// The keychain, in words (e.g. "the Secret Service (GNOME Keyring, KWallet)").
        store: String,
        /// The entry's service and user, to find it in the keychain's own tools.
        service: String,
        /// See `service`.
        user: String,
    },
    /// In a file (PKCS#8 PEM, mode 0600), because no keychain could take it.
    File {
        /// The key file.
        path: String,
        /// Why it is not in the keychain, in words.
        reason: String,
    },
}

/// How the console looks: as the desktop prefers (light or dark), or one chosen in Settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follows the desktop's light or dark preference, and its changes.
    #[default]
    System,
    /// Always light.
    Light,
    /// Always dark.
    Dark,
}

impl Theme {
    /// Every theme, in the order Settings offers them.
    pub const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    /// The wire name (`system`, `light`, `dark`).
    pub fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// What Settings calls it.
    pub fn label(self) -> &'static str {
        match self {
            Theme::System => "As the desktop prefers",
            Theme::Light => "Light",
            Theme::Dark => "Dark",
        }
    }
}

/// `save_theme`: how the console looks, kept with the settings and applied at once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveTheme {
    /// The theme chosen.
    pub theme: Theme,
}

impl Command for SaveTheme {
    const NAME: &'static str = "save_theme";
    type Output = Theme;
}

/// `save_autostart`: start the console at login, or stop doing so (an XDG autostart entry on
/// Linux, a login item on macOS, a Run key on Windows). Answers what is now in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveAutostart {
    /// On or off.
    pub enabled: bool,
}

impl Command for SaveAutostart {
    const NAME: &'static str = "save_autostart";
    type Output = bool;
}

/// What an agent developer needs to send requests to the embedded demo's gateway: its URL,
/// a workflow credential, the audience decisions name, and how to register the agent's key
/// (the gateway picks a changed trust store up without a restart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoConnection {
    /// The gateway's base URL on loopback (a new port each time the console starts).
    pub gateway_url: String,
    /// A workflow credential for it (`Authorization: Bearer …`), new each start.
    pub workflow_token: String,
    /// The audience decisions name (`aud`).
    pub audience: String,
    /// The trust store file the demo gateway verifies chains with.
    pub trust_path: String,
    /// The command that registers an agent's public key in it.
    pub trust_command: String,
    /// Shell lines that run the Python example against this gateway: the environment, its
    /// keys merged into the trust store, the run.
    pub example_commands: String,
}

/// `settings`: the settings screen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSettings {}

impl Command for GetSettings {
    const NAME: &'static str = "settings";
    type Output = SettingsView;
}

/// `save_settings`: save the gateway to connect to (`None`: the embedded demo); applied on
/// restart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaveSettings {
    /// The gateway, or `None` for the embedded demo.
    pub gateway: Option<GatewaySettings>,
}

impl Command for SaveSettings {
    const NAME: &'static str = "save_settings";
    type Output = SettingsView;
}

/// `export_public_key`: write the reviewer's public JWK to a file for enrolment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportPublicKey {}

/// Where the public key was written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedKey {
    /// The file written.
    pub path: String,
    /// Its content: the public JWK.
    pub jwk: String,
}

impl Command for ExportPublicKey {
    const NAME: &'static str = "export_public_key";
    type Output = ExportedKey;
}

/// `restart`: restart the console to apply saved settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restart {}

impl Command for Restart {
    const NAME: &'static str = "restart";
    type Output = ();
}

/// One row of the queue.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueueItem {
    /// Request id.
    pub request_id: String,
    /// Open state (pending or escalated), or refused.
    pub state: RequestState,
    /// Impact tier.
    pub tier: Tier,
    /// The action's one-line summary (untrusted text, shown inert).
    pub summary: String,
    /// `type · operation`.
    pub action: String,
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
    /// Finding codes, for the row's badges.
    pub codes: Vec<FindingCode>,
    /// The agent's confidence, 0..1.
    pub confidence: f64,
    /// Display names from principal to acting agent.
    pub chain: Vec<String>,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Whether the action is irreversible.
    pub irreversible: bool,
    /// Why supervisors see it, while it is in their queue.
    #[serde(default)]
    pub escalation: Option<Escalation>,
    /// Approvals counted so far (a quorum waiting for more).
    #[serde(default)]
    pub approvals: u32,
    /// Approvals the policy needs.
    #[serde(default)]
    pub approvals_needed: u32,
    /// The principal's identity (not its display name), for telling similar requests apart.
    #[serde(default)]
    pub principal: String,
    /// The authority the acting agent holds: the last hop's authorization details, as
    /// canonical JSON, so requests with the same scope have the same text.
    #[serde(default)]
    pub scope: String,
}

/// One decided or expired request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// Request id.
    pub request_id: String,
    /// Summary.
    pub summary: String,
    /// Tier.
    pub tier: Tier,
    /// Final state.
    pub state: RequestState,
    /// Who decided, if anyone.
    pub decided_by: Option<String>,
    /// Their reason.
    pub reason: Option<String>,
    /// When.
    pub at: Timestamp,
}

/// How a hop's key checked out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "kid")]
pub enum KeyStatus {
    /// Signed by a registered key of the delegator.
    Verified(String),
    /// No registered key of the delegator matches.
    Unknown,
    /// The signature does not verify.
    Invalid,
    /// Not checked (unparseable hop or forbidden algorithm).
    NotChecked,
}

/// How a grant compares with the parent hop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GrantChange {
    /// Hop 0: granted by the principal.
    Root,
    /// The same as the parent's.
    Unchanged,
    /// Narrower than the parent's.
    Narrowed,
    /// Wider than, or absent from, the parent's.
    Widened,
}

/// One grant of a hop, compared with its parent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GrantView {
    /// The grant.
    pub detail: AuthorizationDetail,
    /// How it compares.
    pub change: GrantChange,
}

/// One hop of the chain timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HopView {
    /// Index.
    pub index: u32,
    /// Delegator identity.
    pub delegator: String,
    /// Delegator display name (from the trust store).
    pub delegator_name: Option<String>,
    /// Delegatee identity.
    pub delegatee: String,
    /// Delegatee display name.
    pub delegatee_name: Option<String>,
    /// Signature status.
    pub key: KeyStatus,
    /// Scope with its diff against the parent.
    pub grants: Vec<GrantView>,
    /// Grants of the parent that this hop dropped (narrowing).
    pub dropped: Vec<String>,
    /// Purpose.
    pub purpose: Option<Purpose>,
    /// Expiry.
    pub expires_at: Timestamp,
    /// Further delegations allowed.
    pub remaining_depth: i64,
    /// Findings at this hop.
    pub findings: Vec<Finding>,
}

/// Everything the request view shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RequestView {
    /// The stored record (request as submitted, report, decision).
    pub record: RequestRecord,
    /// The chain, hop by hop (empty if the chain could not be parsed).
    pub hops: Vec<HopView>,
    /// Findings not tied to a hop.
    pub request_findings: Vec<Finding>,
    /// What deciding it takes for this reviewer (from `countersign-review`): the UI renders
    /// it, the console refuses to sign a decision that does not meet it.
    pub requirements: DecisionRequirements,
}

/// `queue`: the current snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetSnapshot {}

impl Command for GetSnapshot {
    const NAME: &'static str = "snapshot";
    type Output = Snapshot;
}

/// `request`: one request's full view.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetRequest {
    /// Request id.
    pub request_id: String,
}

impl Command for GetRequest {
    const NAME: &'static str = "request";
    type Output = RequestView;
}

/// `decide`: sign and send a decision (the private key never leaves the backend).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decide {
    /// Request id.
    pub request_id: String,
    /// Approve or reject.
    pub decision: DecisionKind,
    /// Reason.
    pub reason: String,
    /// Finding codes the reviewer acknowledged.
    pub acknowledged: Vec<FindingCode>,
}

/// What happened to a decision.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "detail")]
pub enum DecideOutcome {
    /// Accepted by the gateway and delivered to the workflow's channels.
    Delivered,
    /// Someone else decided first.
    AlreadyDecided(String),
    /// The request expired first.
    Expired,
    /// The gateway is unreachable: signed and queued, sent on reconnect.
    Queued,
    /// The gateway refused it (code and message).
    Refused(String),
    /// Counted toward a quorum: the request waits for another approver.
    Counted,
}

impl Command for Decide {
    const NAME: &'static str = "decide";
    type Output = DecideOutcome;
}

/// `escalate`: ask a supervisor to look at a request, with a note.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalate {
    /// Request id.
    pub request_id: String,
    /// Why (required).
    pub note: String,
}

impl Command for Escalate {
    const NAME: &'static str = "escalate";
    type Output = RequestView;
}

/// `assign`: a supervisor hands a request to a reviewer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assign {
    /// Request id.
    pub request_id: String,
    /// The reviewer's identity.
    pub reviewer: String,
    /// A note for them.
    pub note: String,
}

impl Command for Assign {
    const NAME: &'static str = "assign";
    type Output = RequestView;
}

/// `reviewers`: the people a supervisor can assign requests to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetReviewers {}

impl Command for GetReviewers {
    const NAME: &'static str = "reviewers";
    type Output = Vec<crate::api::Me>;
}

/// `metrics`: the review measures for the dashboard (the last 30 days).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GetMetrics {}

impl Command for GetMetrics {
    const NAME: &'static str = "metrics";
    type Output = Metrics;
}

/// Event emitted while an export downloads: payload is the bytes received so far.
pub const EXPORT_PROGRESS_EVENT: &str = "export-progress";

/// What to export.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// JSON Lines, one review record per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
    /// The offline-verifiable bundle (a directory).
    Bundle,
}

impl ExportFormat {
    /// The gateway's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Csv => "csv",
            ExportFormat::Bundle => "bundle",
        }
    }
}

/// `export`: review records, saved under the console's data directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRecords {
    /// Format.
    pub format: ExportFormat,
    /// First day received (`YYYY-MM-DD`, UTC); default: 30 days before `to`.
    #[serde(default)]
    pub from: Option<String>,
    /// Last day received, included (`YYYY-MM-DD`, UTC); default: today.
    #[serde(default)]
    pub to: Option<String>,
    /// These requests only (ids), instead of a range.
    #[serde(default)]
    pub request_ids: Vec<String>,
}

impl ExportRecords {
    /// The gateway query string for this selection, or what is wrong with it.
    pub fn query(&self) -> Result<String, String> {
        if !self.request_ids.is_empty() {
            return Ok(format!("request_id={}", self.request_ids.join(",")));
        }
        let day = |text: &str, name: &str| {
            let valid = text.len() == 10
                && text.char_indices().all(|(i, c)| {
                    if i == 4 || i == 7 {
                        c == '-'
                    } else {
                        c.is_ascii_digit()
                    }
                });
            if valid {
                Ok(text.to_owned())
            } else {
                Err(format!(
                    "{name} must be a date such as 2026-11-01, not {text:?}"
                ))
            }
        };
        let mut query = Vec::new();
        if let Some(from) = self.from.as_deref().filter(|f| !f.is_empty()) {
            query.push(format!("from={}T00:00:00Z", day(from, "from")?));
        }
        if let Some(to) = self.to.as_deref().filter(|t| !t.is_empty()) {
            // The last day is included: the range ends at the next midnight, by the gateway's
            // reading of `to` as exclusive; 23:59:59.999 keeps it within the same day.
            query.push(format!("to={}T23:59:59.999Z", day(to, "to")?));
        }
        Ok(query.join("&"))
    }
}

/// Where an export was saved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exported {
    /// File or bundle directory.
    pub path: String,
    /// Bytes received.
    pub bytes: u64,
    /// How to check it (for a bundle: the `countersign verify-bundle` command).
    pub check: String,
}

impl Command for ExportRecords {
    const NAME: &'static str = "export";
    type Output = Exported;
}

/// Error crossing the IPC boundary: a stable code and a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleError {
    /// Stable code: the gateway's when it refused, or the console's own.
    pub code: ConsoleErrorCode,
    /// Message for the reviewer.
    pub message: String,
}

impl ConsoleError {
    /// An error with `code` and `message`.
    pub fn new(code: impl Into<ConsoleErrorCode>, message: impl Into<String>) -> Self {
        ConsoleError {
            code: code.into(),
            message: message.into(),
        }
    }
}

/// The code of a console error, one string on the wire: a gateway code (`reason_required`,
/// `internal`, …) or one of the console's own (`offline`, `invalid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConsoleErrorCode {
    /// What the gateway answered, or the same condition found by the console first.
    Gateway(ErrorCode),
    /// What only a console can say.
    Console(ConsoleFailure),
}

/// What only a console can say.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsoleFailure {
    /// The gateway cannot be reached.
    Offline,
    /// What the reviewer entered is not usable (a setting, a path).
    Invalid,
}

impl From<ErrorCode> for ConsoleErrorCode {
    fn from(code: ErrorCode) -> Self {
        ConsoleErrorCode::Gateway(code)
    }
}

impl From<ConsoleFailure> for ConsoleErrorCode {
    fn from(failure: ConsoleFailure) -> Self {
        ConsoleErrorCode::Console(failure)
    }
}

impl ConsoleErrorCode {
    /// The wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            ConsoleErrorCode::Gateway(code) => code.as_str(),
            ConsoleErrorCode::Console(ConsoleFailure::Offline) => "offline",
            ConsoleErrorCode::Console(ConsoleFailure::Invalid) => "invalid",
        }
    }
}

impl std::fmt::Display for ConsoleErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod link_tests {
    use super::request_link;

    #[test]
    fn only_a_request_link_with_a_plain_id_names_a_request() {
        assert_eq!(
            request_link("countersign://request/ghost-export-440f9fab").as_deref(),
            Some("ghost-export-440f9fab")
        );
        assert_eq!(
            request_link("countersign://request/urn:uuid:1f0e-9b/").as_deref(),
            Some("urn:uuid:1f0e-9b")
        );
        for refused in [
            "",
            "countersign://request/",
            "countersign://request/..",
            "countersign://request/a/b",
            "countersign://request/a?approve=1",
            "countersign://request/a#x",
            "countersign://request/a%2Fb",
            "countersign://request/<script>",
            "countersign://approve/a",
            "https://request/a",
            "COUNTERSIGN://request/a",
            "countersign:request/a",
            "--countersign://request/a",
        ] {
            assert_eq!(request_link(refused), None, "{refused:?}");
        }
        assert_eq!(
            request_link(&format!("countersign://request/{}", "a".repeat(201))),
            None
        );
    }
}
