//! `countersign witness`: a c2sp.org/tlog-witness any independent party can run in front of a
//! Countersign log (or any log with Ed25519 checkpoints). For each log it keeps only the
//! latest checkpoint it cosigned, persisted (written, synced, renamed) before it answers, and
//! it cosigns only a consistent extension of that checkpoint.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use countersign_audit::{
    AddCheckpoint, Checkpoint, Cosigner, NoteVerifier, WitnessRefusal, Witnessed, check_submission,
    open_note, with_cosignatures,
};
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use sha2::{Digest as _, Sha256};
use tokio::sync::Mutex;

/// Submissions above this are refused before reading further (a checkpoint, 63 proof lines
/// and a few dozen signatures fit in a fraction of it).
const MAX_SUBMISSION_BYTES: usize = 64 * 1024;

/// The witness's key from a `countersign keygen` file.
pub fn cosigner(key: &Path, name: &str) -> anyhow::Result<Cosigner> {
    let pem = std::fs::read_to_string(key)
        .with_context(|| format!("cannot read witness key {}", key.display()))?;
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem)
        .map_err(|e| anyhow::anyhow!("witness key {}: {e}", key.display()))?;
    Cosigner::new(name, key).map_err(|e| anyhow::anyhow!("witness name {name:?}: {e}"))
}

struct Witness {
    cosigner: Cosigner,
    logs: Vec<NoteVerifier>,
    state_dir: PathBuf,
    /// Held from reading the stored checkpoint to persisting the new one: the check and the
    /// update are one step, so two submissions can never roll the witness back.
    lock: Mutex<()>,
}

/// `<state dir>/<sha256 of the origin, hex>.checkpoint`: the latest cosigned checkpoint, with
/// the log's signature and the witness's cosignature (what the monitoring endpoint serves).
fn state_file(dir: &Path, origin: &str) -> PathBuf {
    let digest = Sha256::digest(origin.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{hex}.checkpoint"))
}

impl Witness {
    fn held(&self, origin: &str) -> anyhow::Result<Option<(Witnessed, String)>> {
        let path = state_file(&self.state_dir, origin);
        let note = match std::fs::read_to_string(&path) {
            Ok(note) => note,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        // What this witness wrote itself; re-verified anyway, so a damaged file stops it
        // rather than letting it cosign from a state nobody signed.
        let opened = open_note(&note, &self.logs)
            .with_context(|| format!("{} does not verify", path.display()))?;
        let checkpoint = Checkpoint::parse(opened.text())?;
        Ok(Some((
            Witnessed {
                size: checkpoint.size(),
                root: *checkpoint.root(),
            },
            note,
        )))
    }

    fn persist(&self, origin: &str, note: &str) -> anyhow::Result<()> {
        use std::io::Write as _;
        let path = state_file(&self.state_dir, origin);
        let temp = path.with_extension("checkpoint.new");
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(note.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)?;
        std::fs::File::open(&self.state_dir)?.sync_all()?;
        Ok(())
    }

    async fn add_checkpoint(&self, body: &str, now: u64) -> Result<String, Refused> {
        let submission = AddCheckpoint::parse(body)?;
        let _held_lock = self.lock.lock().await;
        let mut held = None;
        let mut failure = None;
        let checkpoint =
            check_submission(&submission, &self.logs, |origin| match self.held(origin) {
                Ok(found) => {
                    held = found.as_ref().map(|(w, _)| *w);
                    held
                }
                Err(e) => {
                    failure = Some(e);
                    None
                }
            });
        if let Some(e) = failure {
            return Err(Refused::Internal(e));
        }
        let checkpoint = checkpoint?;
        let line = self
            .cosigner
            .cosign(&checkpoint.body(), now)
            .map_err(|e| Refused::Internal(e.into()))?;
        let stored = with_cosignatures(&submission.checkpoint, std::slice::from_ref(&line));
        self.persist(checkpoint.origin(), &stored)
            .map_err(Refused::Internal)?;
        tracing::info!(origin = %checkpoint.origin(), size = checkpoint.size(), from = ?held.map(|h| h.size), "cosigned");
        Ok(line)
    }
}

enum Refused {
    Protocol(WitnessRefusal),
    Internal(anyhow::Error),
}

impl From<WitnessRefusal> for Refused {
    fn from(refusal: WitnessRefusal) -> Self {
        Refused::Protocol(refusal)
    }
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::Protocol(WitnessRefusal::Conflict { known }) => (
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, "text/x.tlog.size")],
                format!("{known}\n"),
            )
                .into_response(),
            Refused::Protocol(refusal) => (
                StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST),
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                format!("{refusal}\n"),
            )
                .into_response(),
            Refused::Internal(e) => {
                tracing::error!(error = %format!("{e:#}"), "witness failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the witness cannot read or write its state\n",
                )
                    .into_response()
            }
        }
    }
}

async fn add_checkpoint(State(witness): State<Arc<Witness>>, body: String) -> Response {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    match witness.add_checkpoint(&body, now).await {
        Ok(line) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], line).into_response(),
        Err(refused) => refused.into_response(),
    }
}

/// `GET /<sha256 of origin, hex>/checkpoint`: the latest cosigned checkpoint (monitoring).
async fn latest(
    State(witness): State<Arc<Witness>>,
    axum::extract::Path(origin_hash): axum::extract::Path<String>,
) -> Response {
    let found = witness.logs.iter().map(NoteVerifier::name).find(|origin| {
        state_file(Path::new(""), origin) == Path::new(&format!("{origin_hash}.checkpoint"))
    });
    match found.map(|origin| witness.held(origin)) {
        Some(Ok(Some((_, note)))) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "max-age=5"),
            ],
            note,
        )
            .into_response(),
        Some(Err(e)) => Refused::Internal(e).into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            "no checkpoint cosigned for that log\n",
        )
            .into_response(),
    }
}

/// Runs the witness until interrupted.
pub fn serve(
    key: &Path,
    name: &str,
    logs: &[String],
    state_dir: &Path,
    listen: SocketAddr,
) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cosigner = cosigner(key, name)?;
    anyhow::ensure!(!logs.is_empty(), "name at least one --log key to witness");
    let logs = logs
        .iter()
        .map(|k| countersign_audit::parse_pinned_key(k).map_err(|e| anyhow::anyhow!("--log: {e}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    std::fs::create_dir_all(state_dir)
        .with_context(|| format!("cannot create {}", state_dir.display()))?;
    let witness = Arc::new(Witness {
        cosigner,
        logs,
        state_dir: state_dir.to_owned(),
        lock: Mutex::new(()),
    });
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        // The first line on stdout, for scripts and tests: where, and the key to configure.
        println!(
            "witness {} listening on http://{} with key {}",
            witness.cosigner.witness_key().name(),
            listener.local_addr()?,
            witness.cosigner.witness_key()
        );
        let app = Router::new()
            .route("/add-checkpoint", post(add_checkpoint))
            .route("/{origin_hash}/checkpoint", get(latest))
            .layer(axum::extract::DefaultBodyLimit::max(MAX_SUBMISSION_BYTES))
            .with_state(witness);
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("witness server failed")
    })?;
    Ok(ExitCode::SUCCESS)
}
