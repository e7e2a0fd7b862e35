//! `countersign check-log`: an auditor's client that remembers the latest checkpoint it
//! verified (as Go's checksum database client does) and accepts a new one only as a
//! consistent extension of it. A log rolled back or rewritten since the last run, even under
//! the genuine log key, fails here and the remembered checkpoint stays.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use countersign_audit::{
    Checkpoint, Hash, NoteVerifier, WitnessPolicy, open_note, verify_consistency,
};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct ConsistencyProof {
    old_size: u64,
    new_size: u64,
    proof: Vec<String>,
}

/// What one run found.
#[derive(Serialize)]
struct LogCheck {
    ok: bool,
    origin: String,
    size: u64,
    /// The size remembered before this run (none on the first).
    previous_size: Option<u64>,
    witnessed_by: Vec<String>,
    problems: Vec<String>,
}

fn verified(note: &str, key: &NoteVerifier) -> anyhow::Result<Checkpoint> {
    let opened = open_note(note, std::slice::from_ref(key))?;
    Ok(Checkpoint::parse(opened.text())?)
}

/// Fetches, checks, and on success remembers the gateway's latest checkpoint in `state`.
pub fn check_log(
    gateway: &str,
    log_key: &NoteVerifier,
    state: &Path,
    witnesses: Option<&WitnessPolicy>,
) -> anyhow::Result<ExitCode> {
    let base = gateway.trim_end_matches('/').to_owned();
    let runtime = tokio::runtime::Runtime::new()?;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let get = |url: String| {
        let http = http.clone();
        async move {
            let response = http
                .get(&url)
                .send()
                .await
                .with_context(|| format!("GET {url}"))?;
            let status = response.status();
            let text = response.text().await?;
            anyhow::ensure!(
                status.is_success(),
                "GET {url}: HTTP {status}: {}",
                text.trim()
            );
            anyhow::Ok(text)
        }
    };
    let note = runtime.block_on(get(format!("{base}/v1/audit/checkpoint")))?;
    let checkpoint = verified(&note, log_key).context("the gateway's checkpoint")?;
    let mut problems = Vec::new();
    let mut witnessed_by = Vec::new();
    if let Some(policy) = witnesses {
        match policy.check(&note) {
            Ok(found) => witnessed_by = found.into_iter().map(|c| c.witness).collect(),
            Err(e) => problems.push(format!("the witness policy is not met: {e}")),
        }
    }
    let previous = match std::fs::read_to_string(state) {
        Ok(text) => Some(
            verified(&text, log_key)
                .with_context(|| format!("the remembered checkpoint {}", state.display()))?,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", state.display())),
    };
    if let Some(old) = &previous {
        if old.origin() != checkpoint.origin() {
            problems.push(format!(
                "the remembered checkpoint is for log {:?}, the gateway serves {:?}",
                old.origin(),
                checkpoint.origin()
            ));
        } else if old.size() > checkpoint.size() {
            problems.push(format!(
                "the log was rolled back: {} entries remembered, the gateway's checkpoint has {}",
                old.size(),
                checkpoint.size()
            ));
        } else {
            let url = format!(
                "{base}/v1/audit/consistency?old={}&new={}",
                old.size(),
                checkpoint.size()
            );
            let proof: ConsistencyProof = serde_json::from_str(&runtime.block_on(get(url))?)
                .context("the consistency proof")?;
            let hashes = proof
                .proof
                .iter()
                .map(|h| {
                    STANDARD
                        .decode(h)
                        .ok()
                        .and_then(|b| Hash::try_from(b.as_slice()).ok())
                })
                .collect::<Option<Vec<Hash>>>()
                .context("a proof hash is not base64 of 32 bytes")?;
            let sizes_match = proof.old_size == old.size() && proof.new_size == checkpoint.size();
            if !sizes_match
                || verify_consistency(
                    old.size(),
                    checkpoint.size(),
                    &hashes,
                    old.root(),
                    checkpoint.root(),
                )
                .is_err()
            {
                problems.push(format!(
                    "the log is not a consistent extension of the remembered checkpoint of {} \
                     entries: it was rewritten (a fork)",
                    old.size()
                ));
            }
        }
    }
    let ok = problems.is_empty();
    if ok {
        write_atomically(state, &note)?;
    }
    let report = LogCheck {
        ok,
        origin: checkpoint.origin().to_owned(),
        size: checkpoint.size(),
        previous_size: previous.as_ref().map(Checkpoint::size),
        witnessed_by,
        problems,
    };
    println!("{}", serde_json::to_string_pretty(&report)?);
    if previous.is_none() && ok {
        eprintln!(
            "first run: remembered the checkpoint of {} entries in {}; later runs prove each new one extends it",
            report.size,
            state.display()
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_atomically(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let temp = path.with_extension("new");
    let mut file =
        std::fs::File::create(&temp).with_context(|| format!("cannot write {}", temp.display()))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temp, path)?;
    Ok(())
}
