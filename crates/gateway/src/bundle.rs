//! Export bundles from the gateway's records: what `countersign-gateway export --format
//! bundle` writes and `GET /v1/export/bundle` hands to consoles. The format and its
//! verification live in `countersign-bundle`; this only reads storage into it.

use std::collections::BTreeMap;
use std::path::Path;

use axum::Json;
use axum::extract::State;
use countersign_audit::{Hash, NoteSigner};
use countersign_bundle::{
    BundleEvent, BundleHeader, BundleRecord, BundleSummary, BundleWriter, Creator, LogEvidence,
};
use countersign_review::Clock;
use countersign_store::{Selection, Store, StoredReview};
use countersign_wire::api::{BundleFiles, ErrorCode};
use countersign_wire::{Party, PartyKind, TrustStore};

use crate::AppState;
use crate::auth::Console;
use crate::error::{Failure, Result};
use crate::export::{ExportQuery, may_export, seal_export};
use crate::extract::QueryParams;

/// Who exports, and what the bundle is signed and checked against.
pub struct BundleSource<'a> {
    /// The gateway's storage.
    pub store: &'a Store,
    /// The log key (signs the manifest; the checkpoint must verify with it).
    pub signer: &'a NoteSigner,
    /// The agents' trust store the gateway verifies chains with.
    pub trust: &'a TrustStore,
    /// The gateway's audience.
    pub audience: &'a str,
    /// What "now" is: the bundle's creation time.
    pub clock: &'a dyn Clock,
}

/// Agents from the trust store and enrolled reviewers: every key a bundle's signatures need.
async fn identities(source: &BundleSource<'_>) -> anyhow::Result<TrustStore> {
    let mut identities = source.trust.clone();
    for reviewer in source.store.reviewers().await? {
        identities.parties.insert(
            reviewer.identity.clone(),
            Party {
                kind: PartyKind::Human,
                display_name: reviewer.display_name.clone(),
                keys: reviewer.keys.clone(),
            },
        );
    }
    Ok(identities)
}

fn bundle_record(review: StoredReview, size: u64) -> anyhow::Result<BundleRecord> {
    let stored = review.request;
    let mut record = BundleRecord {
        request: serde_json::from_str(&stored.body)?,
        request_text: Some(stored.body),
        request_id: stored.request_id,
        received_at: stored.received_at.to_string(),
        state: stored.state,
        tier: stored.tier,
        report: stored.report,
        decisions: review
            .decisions
            .into_iter()
            .map(|d| d.decision_jws)
            .collect(),
        // Entries sealed after the checkpoint was read are not provable by it.
        events: review
            .entries
            .into_iter()
            .filter(|(index, _)| *index < size)
            .map(|(index, entry)| BundleEvent { index, entry })
            .collect(),
        trust: None,
    };
    record.trust = arrival_trust(&record.events);
    Ok(record)
}

/// The trust store version a record's arrival entry names, if it names one.
fn arrival_trust(events: &[BundleEvent]) -> Option<String> {
    events
        .iter()
        .min_by_key(|e| e.index)
        .and_then(|e| serde_json::from_str::<serde_json::Value>(&e.entry).ok())
        .and_then(|entry| {
            entry
                .pointer("/detail/trust")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned)
        })
}

/// Writes the bundle of `selection` into `dir` (which must not hold anything), calling
/// `progress(done, total)` as records are written, and records the export in the audit log.
pub async fn write_bundle(
    source: &BundleSource<'_>,
    selection: &Selection,
    dir: &Path,
    actor: &str,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<BundleSummary> {
    let (size, checkpoint) = crate::witnesses::cosigned_checkpoint(source.store)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the audit log has no checkpoint yet"))?;
    let leaves: Vec<Hash> = source
        .store
        .leaf_hashes(size)
        .await?
        .into_iter()
        .map(|leaf| leaf.try_into())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("a stored leaf hash is not 32 bytes"))?;
    let size = u64::try_from(size)?;
    let reviews = source.store.reviews(selection).await?;
    let total = reviews.len() as u64;
    let now = source.clock.timestamp();
    let mut writer = BundleWriter::create(
        dir,
        BundleHeader {
            audience: source.audience.to_owned(),
            created_at: now.to_string(),
            created_by: Creator {
                tool: "countersign-gateway".into(),
                version: env!("CARGO_PKG_VERSION").into(),
            },
        },
    )?;
    for (index, entry) in source.store.enrolment_entries(i64::try_from(size)?).await? {
        writer.add_enrolment(BundleEvent {
            index: u64::try_from(index)?,
            entry,
        })?;
    }
    let mut versions = std::collections::HashSet::new();
    for review in reviews {
        let record = bundle_record(review, size)?;
        if let Some(digest) = &record.trust
            && versions.insert(digest.clone())
        {
            let text = source
                .store
                .trust_version(digest)
                .await?
                .ok_or_else(|| anyhow::anyhow!("trust store version {digest} is not stored"))?;
            writer.add_trust_version(&text)?;
        }
        let done = writer.add(&record)?;
        if done % 1000 == 0 || done == total {
            progress(done, total);
        }
    }
    let summary = writer.finish(
        LogEvidence {
            signed_checkpoint: &checkpoint,
            leaves: &leaves,
        },
        &identities(source).await?,
        source.signer,
    )?;
    seal_export(
        source.store,
        selection,
        "bundle",
        summary.records,
        ("manifest", summary.manifest_digest.clone()),
        actor,
        now,
    )
    .await?;
    Ok(summary)
}

/// Every file of a bundle directory, by relative path (they are all text).
fn read_files(dir: &Path) -> std::io::Result<BTreeMap<String, String>> {
    countersign_bundle::bundle_files(dir)?
        .into_iter()
        .map(|name| Ok((name.clone(), std::fs::read_to_string(dir.join(&name))?)))
        .collect()
}

/// `GET /v1/export/bundle?from=&to=` or `?request_id=a,b`: the bundle's files as one JSON
/// object, which the console writes back to a directory.
pub(crate) async fn export_bundle(
    State(state): State<AppState>,
    Console(caller): Console,
    QueryParams(query): QueryParams<ExportQuery>,
) -> Result<Json<BundleFiles>> {
    may_export(&caller)?;
    let selection = query
        .selection(state.clock.timestamp())
        .map_err(|e| Failure::new(ErrorCode::InvalidBody, e))?;
    // Seal what is committed, so the bundle proves everything up to now.
    let at = state.clock.timestamp();
    while state
        .audit
        .seal(&state.store, at)
        .await
        .map_err(Failure::internal)?
        > 0
    {}
    // And have it cosigned, so the bundle carries what a witness policy asks for.
    if !state.witnesses.is_empty() {
        let http = crate::witnesses::client().map_err(Failure::internal)?;
        crate::witnesses::submit_all(&state, &http).await;
    }
    let dir = tempfile::tempdir().map_err(Failure::internal)?;
    let path = dir.path().join("bundle");
    let trust = state.trust.current();
    let source = BundleSource {
        store: &state.store,
        signer: state.audit.signer(),
        trust: &trust.store,
        audience: &state.audience,
        clock: state.clock.as_ref(),
    };
    write_bundle(&source, &selection, &path, &caller.identity, |_, _| {})
        .await
        .map_err(Failure::internal)?;
    let files = read_files(&path).map_err(Failure::internal)?;
    Ok(Json(BundleFiles { files }))
}
