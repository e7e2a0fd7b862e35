//! The audit log served in the c2sp.org/tlog-tiles layout under the prefix `/v1/audit`, public
//! like the JWKS: `checkpoint` (with witness cosignatures), immutable `tile/<L>/<N>[.p/<W>]`
//! hash tiles and `tile/entries/<N>[.p/<W>]` entry bundles, plus an RFC 6962-shaped
//! consistency proof between two sizes for tools that do not compute proofs from tiles.
//! Nothing past the latest checkpoint is served: what a client reads is what a signed
//! checkpoint covers.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use countersign_audit::tiles::entry_bundle;
use countersign_audit::{Hash, Tile, TileKind, consistency_proof};
use countersign_wire::api::ErrorCode;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::{Failure, Result};
use crate::extract::QueryParams;
use crate::witnesses::{cosigned_checkpoint, proof_lines};

/// `GET /v1/audit/checkpoint`: the latest signed checkpoint, with its cosignatures. Mutable,
/// so cached for a few seconds at most.
pub(crate) async fn checkpoint(State(state): State<AppState>) -> Result<Response> {
    let note = cosigned_checkpoint(&state.store)
        .await?
        .map(|(_, note)| note)
        .ok_or_else(|| Failure::new(ErrorCode::NotFound, "the log has no checkpoint yet"))?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=5"),
        ],
        note,
    )
        .into_response())
}

fn no_tile(why: impl std::fmt::Display) -> Failure {
    Failure::new(ErrorCode::NotFound, format!("no such tile: {why}"))
}

/// `GET /v1/audit/tile/…`: a hash tile or an entry bundle the latest checkpoint covers.
/// Immutable: a tile's bytes never change once its leaves are checkpointed.
pub(crate) async fn tile(
    State(state): State<AppState>,
    Path(rest): Path<String>,
) -> Result<Response> {
    let tile = Tile::parse(&format!("tile/{rest}")).map_err(no_tile)?;
    let size = state
        .store
        .latest_checkpoint()
        .await?
        .map_or(0, |(size, _)| size);
    if !tile.within(u64::try_from(size).unwrap_or(0)) {
        return Err(no_tile("the latest checkpoint does not cover it"));
    }
    // `within` bounds the range by the stored size, so these conversions hold.
    let (start, end) = tile.leaf_range().ok_or_else(|| no_tile("out of range"))?;
    let (start, end) = (
        i64::try_from(start).map_err(no_tile)?,
        i64::try_from(end).map_err(no_tile)?,
    );
    let bytes = match tile.kind() {
        TileKind::Entries => {
            let entries = state.store.entry_range(start, end).await?;
            entry_bundle(entries.iter().map(|e| e.as_bytes())).map_err(Failure::internal)?
        }
        TileKind::Hashes(_) => {
            let leaves = state
                .store
                .leaf_hash_range(start, end)
                .await?
                .into_iter()
                .map(|leaf| Hash::try_from(leaf.as_slice()))
                .collect::<std::result::Result<Vec<Hash>, _>>()
                .map_err(Failure::internal)?;
            tile.hashes(&leaves).map_err(Failure::internal)?
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ],
        bytes,
    )
        .into_response())
}

/// `?old=M&new=N`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsistencyQuery {
    old: u64,
    new: u64,
}

/// The proof from the tree of `old_size` entries to the tree of `new_size`.
#[derive(Serialize)]
pub(crate) struct ConsistencyProof {
    old_size: u64,
    new_size: u64,
    /// Base64 hashes, RFC 6962 order.
    proof: Vec<String>,
}

/// `GET /v1/audit/consistency?old=M&new=N`, both at most the latest checkpoint's size.
pub(crate) async fn consistency(
    State(state): State<AppState>,
    QueryParams(query): QueryParams<ConsistencyQuery>,
) -> Result<axum::Json<ConsistencyProof>> {
    let size = state
        .store
        .latest_checkpoint()
        .await?
        .map_or(0, |(size, _)| u64::try_from(size).unwrap_or(0));
    if query.old > query.new || query.new > size {
        return Err(Failure::new(
            ErrorCode::InvalidParameter,
            format!("sizes must satisfy old <= new <= {size} (the latest checkpoint's)"),
        ));
    }
    let leaves = state
        .store
        .leaf_hash_range(0, i64::try_from(query.new).map_err(Failure::internal)?)
        .await?
        .into_iter()
        .map(|leaf| Hash::try_from(leaf.as_slice()))
        .collect::<std::result::Result<Vec<Hash>, _>>()
        .map_err(Failure::internal)?;
    let proof = consistency_proof(&leaves, query.old, query.new).map_err(Failure::internal)?;
    Ok(axum::Json(ConsistencyProof {
        old_size: query.old,
        new_size: query.new,
        proof: proof_lines(&proof),
    }))
}
