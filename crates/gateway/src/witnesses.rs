//! Submitting the log's checkpoints to witnesses (c2sp.org/tlog-witness `add-checkpoint`) and
//! keeping their cosignatures, which `/v1/audit/checkpoint` and export bundles then carry.
//!
//! A witness that holds a checkpoint refuses anything that is not a consistent extension of
//! it, so once one has cosigned, even an operator with the log key cannot show auditors a
//! rolled-back or forked log under that witness's policy.

use std::time::Duration;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use countersign_audit::{AddCheckpoint, Hash, WitnessKey, consistency_proof, with_cosignatures};

use crate::AppState;

/// A witness the gateway submits to: where, and the key its cosignatures must verify with.
#[derive(Clone, Debug)]
pub struct WitnessEndpoint {
    /// The submission prefix; `add-checkpoint` is under it.
    pub url: url::Url,
    /// The witness's cosignature key.
    pub key: WitnessKey,
}

impl WitnessEndpoint {
    /// `URL=VKEY`, as `--witness` takes it.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let (url, key) = text
            .split_once('=')
            .context("a witness is given as URL=VKEY")?;
        let mut url = url::Url::parse(url).with_context(|| format!("witness URL {url:?}"))?;
        anyhow::ensure!(
            matches!(url.scheme(), "http" | "https") && url.query().is_none(),
            "witness URL {url} must be http(s) without a query"
        );
        if !url.path().ends_with('/') {
            url.set_path(&format!("{}/", url.path()));
        }
        let key = WitnessKey::parse(key).map_err(|e| anyhow::anyhow!("witness key: {e}"))?;
        Ok(Self { url, key })
    }
}

pub(crate) fn client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// Brings every witness up to the latest checkpoint; a witness that fails is logged and tried
/// again on the next pass (its cosignature is then simply missing for a while).
pub(crate) async fn submit_all(state: &AppState, http: &reqwest::Client) {
    for witness in state.witnesses.iter() {
        if let Err(e) = submit(state, http, witness).await {
            tracing::warn!(witness = %witness.key.name(), error = %format!("{e:#}"), "witness did not cosign");
        }
    }
}

async fn submit(
    state: &AppState,
    http: &reqwest::Client,
    witness: &WitnessEndpoint,
) -> anyhow::Result<()> {
    let Some((size, note)) = state.store.latest_checkpoint().await? else {
        return Ok(());
    };
    let name = witness.key.name();
    let mut held = state.store.witness_size(name).await?;
    let cosigned = |lines: Vec<String>| {
        let note = with_cosignatures(&note, &lines);
        witness.key.cosignature_on(&note)
    };
    if held == size && cosigned(state.store.cosignatures(size).await?)?.is_some() {
        return Ok(());
    }
    anyhow::ensure!(
        held <= size,
        "the witness holds a checkpoint of {held} entries, above this log's {size}: \
         this database was rolled back, or another log signs with this key"
    );
    // One retry: a 409 tells the size the witness really holds.
    for _ in 0..2 {
        let leaves = leaves(state, size).await?;
        let body = AddCheckpoint {
            old_size: u64::try_from(held)?,
            proof: consistency_proof(&leaves, u64::try_from(held)?, u64::try_from(size)?)?,
            checkpoint: note.clone(),
        }
        .body();
        let response = http
            .post(witness.url.join("add-checkpoint")?)
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        match status.as_u16() {
            200 => {
                let lines: Vec<String> = text.split_inclusive('\n').map(str::to_owned).collect();
                let cosignature = cosigned(lines)?
                    .context("the witness answered without a cosignature by its key")?;
                state
                    .store
                    .add_cosignature(size, name, &cosignature.line)
                    .await?;
                tracing::info!(witness = %name, size, "checkpoint cosigned");
                return Ok(());
            }
            409 => {
                held = text
                    .trim_end()
                    .parse()
                    .context("a 409 without the size the witness holds")?;
                state.store.set_witness_size(name, held).await?;
                anyhow::ensure!(
                    held <= size,
                    "the witness holds a checkpoint of {held} entries, above this log's {size}"
                );
            }
            code => anyhow::bail!("HTTP {code}: {}", text.trim()),
        }
    }
    anyhow::bail!("the witness kept answering 409")
}

async fn leaves(state: &AppState, size: i64) -> anyhow::Result<Vec<Hash>> {
    state
        .store
        .leaf_hash_range(0, size)
        .await?
        .into_iter()
        .map(|leaf| {
            Hash::try_from(leaf.as_slice())
                .map_err(|_| anyhow::anyhow!("a stored leaf hash is not 32 bytes"))
        })
        .collect()
}

/// The latest checkpoint with every cosignature the witnesses gave it.
pub(crate) async fn cosigned_checkpoint(
    store: &countersign_store::Store,
) -> Result<Option<(i64, String)>, countersign_store::StoreError> {
    let Some((size, note)) = store.latest_checkpoint().await? else {
        return Ok(None);
    };
    let lines = store.cosignatures(size).await?;
    Ok(Some((size, with_cosignatures(&note, &lines))))
}

/// Base64 lines, as proofs travel in the tlog protocols.
pub(crate) fn proof_lines(proof: &[Hash]) -> Vec<String> {
    proof.iter().map(|h| STANDARD.encode(h)).collect()
}
