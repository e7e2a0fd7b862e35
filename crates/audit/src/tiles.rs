//! c2sp.org/tlog-tiles: the tree as static, immutable resources any HTTP cache can hold.
//! A tile at level `L` holds up to 256 consecutive hashes of subtrees of `256^L` leaves (level
//! 0: the leaf hashes); an entry bundle holds up to 256 entries, each behind a big-endian
//! 16-bit length. Clients compute any inclusion or consistency proof from tiles.

use std::fmt;

use crate::AuditError;
use crate::merkle::{Hash, tree_root};

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;

/// What a tile holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TileKind {
    /// Merkle tree hashes at level `0..=63`.
    Hashes(u8),
    /// The entries themselves (paired with level 0).
    Entries,
}

/// One tile or entry bundle: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tile {
    kind: TileKind,
    index: u64,
    /// 1..=256; 256 is a full tile.
    width: u16,
}

impl Tile {
    /// A tile of `kind` at `index` with `width` hashes (1..=256).
    pub fn new(kind: TileKind, index: u64, width: u16) -> Result<Self, AuditError> {
        if let TileKind::Hashes(level) = kind
            && level > 63
        {
            return Err(AuditError::MalformedTile("level must be 0 to 63"));
        }
        if width == 0 || u64::from(width) > TILE_WIDTH {
            return Err(AuditError::MalformedTile("width must be 1 to 256"));
        }
        Ok(Self { kind, index, width })
    }

    /// Parses a path relative to the log's prefix (`tile/0/x001/234.p/5`). Only the canonical
    /// spelling is accepted, so one tile has one URL.
    pub fn parse(path: &str) -> Result<Self, AuditError> {
        let bad = AuditError::MalformedTile;
        let rest = path
            .strip_prefix("tile/")
            .ok_or(bad("paths start with tile/"))?;
        let (kind, rest) = rest.split_once('/').ok_or(bad("no tile index"))?;
        let kind = match kind {
            "entries" => TileKind::Entries,
            level => TileKind::Hashes(
                canonical_decimal(level)
                    .and_then(|l| u8::try_from(l).ok())
                    .ok_or(bad("level must be a decimal"))?,
            ),
        };
        let (index, width) = match rest.split_once(".p/") {
            Some((index, width)) => {
                let width = canonical_decimal(width)
                    .filter(|w| (1..TILE_WIDTH).contains(w))
                    .ok_or(bad("a partial width is 1 to 255"))?;
                (index, width as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let tile = Self::new(kind, parse_index(index)?, width)?;
        if tile.path() != path {
            return Err(bad("not the canonical path"));
        }
        Ok(tile)
    }

    /// What it holds.
    pub fn kind(&self) -> TileKind {
        self.kind
    }

    /// Its index within its level.
    pub fn index(&self) -> u64 {
        self.index
    }

    /// How many hashes or entries it holds.
    pub fn width(&self) -> u16 {
        self.width
    }

    /// Whether it holds 256 hashes or entries (and so never changes).
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    fn level(&self) -> u8 {
        match self.kind {
            TileKind::Hashes(level) => level,
            TileKind::Entries => 0,
        }
    }

    /// Leaves under one of its hashes: `256^level`, or `None` past `u64`.
    fn leaves_per_hash(&self) -> Option<u64> {
        TILE_WIDTH.checked_pow(u32::from(self.level()))
    }

    /// The leaves `[start, end)` its hashes (or entries) span.
    pub fn leaf_range(&self) -> Option<(u64, u64)> {
        let per_hash = self.leaves_per_hash()?;
        let first_hash = self.index.checked_mul(TILE_WIDTH)?;
        let start = first_hash.checked_mul(per_hash)?;
        let end = first_hash
            .checked_add(u64::from(self.width))?
            .checked_mul(per_hash)?;
        Some((start, end))
    }

    /// Whether a tree of `size` leaves determines this tile: every hash in it covers leaves
    /// below `size`. (A partial tile of a smaller width than the tree's is still determined,
    /// and never changes.)
    pub fn within(&self, size: u64) -> bool {
        self.leaf_range().is_some_and(|(_, end)| end <= size)
    }

    /// The tiles and entry bundles of a tree of `size` leaves, each at its widest.
    pub fn all_for(size: u64) -> Vec<Tile> {
        let mut tiles = Vec::new();
        let mut level = 0u8;
        let mut per_hash = 1u64;
        while level <= 63 {
            let nodes = size / per_hash;
            if nodes == 0 {
                break;
            }
            let full = nodes / TILE_WIDTH;
            let rest = (nodes % TILE_WIDTH) as u16;
            for index in 0..full {
                tiles.push(Tile {
                    kind: TileKind::Hashes(level),
                    index,
                    width: TILE_WIDTH as u16,
                });
                if level == 0 {
                    tiles.push(Tile {
                        kind: TileKind::Entries,
                        index,
                        width: TILE_WIDTH as u16,
                    });
                }
            }
            if rest > 0 {
                for kind in [TileKind::Hashes(level), TileKind::Entries] {
                    if kind == TileKind::Hashes(level) || level == 0 {
                        tiles.push(Tile {
                            kind,
                            index: full,
                            width: rest,
                        });
                    }
                }
            }
            let Some(next) = per_hash.checked_mul(TILE_WIDTH) else {
                break;
            };
            per_hash = next;
            level += 1;
        }
        tiles
    }

    /// The path relative to the log's prefix.
    pub fn path(&self) -> String {
        let kind = match self.kind {
            TileKind::Hashes(level) => level.to_string(),
            TileKind::Entries => "entries".to_owned(),
        };
        let mut path = format!("tile/{kind}/{}", index_path(self.index));
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// A hash tile's bytes, from the leaf hashes of exactly its [`leaf_range`](Self::leaf_range).
    pub fn hashes(&self, leaves: &[Hash]) -> Result<Vec<u8>, AuditError> {
        if self.kind == TileKind::Entries {
            return Err(AuditError::MalformedTile("an entry bundle holds no hashes"));
        }
        let per_hash = self
            .leaves_per_hash()
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(AuditError::MalformedTile("level beyond this machine"))?;
        if Some(leaves.len()) != per_hash.checked_mul(usize::from(self.width)) {
            return Err(AuditError::MalformedTile(
                "the leaves given are not the tile's range",
            ));
        }
        let mut bytes = Vec::with_capacity(usize::from(self.width) * 32);
        for chunk in leaves.chunks(per_hash) {
            bytes.extend_from_slice(&tree_root(chunk));
        }
        Ok(bytes)
    }
}

impl fmt::Display for Tile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// `1234067` → `x001/x234/067`.
fn index_path(index: u64) -> String {
    let mut groups = Vec::new();
    let mut n = index;
    loop {
        groups.push(n % 1000);
        n /= 1000;
        if n == 0 {
            break;
        }
    }
    let last = groups.len() - 1;
    groups
        .iter()
        .rev()
        .enumerate()
        .map(|(i, g)| {
            if i == last {
                format!("{g:03}")
            } else {
                format!("x{g:03}")
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn parse_index(text: &str) -> Result<u64, AuditError> {
    let bad = AuditError::MalformedTile("an index is 3-digit groups, x-prefixed but the last");
    let groups: Vec<&str> = text.split('/').collect();
    let mut index: u64 = 0;
    for (i, group) in groups.iter().enumerate() {
        let digits = if i + 1 < groups.len() {
            group.strip_prefix('x').ok_or(bad.clone())?
        } else {
            group
        };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad);
        }
        let group: u64 = digits.parse().map_err(|_| bad.clone())?;
        index = index
            .checked_mul(1000)
            .and_then(|i| i.checked_add(group))
            .ok_or(AuditError::MalformedTile("index beyond 2^64"))?;
    }
    Ok(index)
}

fn canonical_decimal(text: &str) -> Option<u64> {
    let n: u64 = text.parse().ok()?;
    (n.to_string() == text).then_some(n)
}

/// An entry bundle: each entry behind its length as a big-endian `u16`.
pub fn entry_bundle<'a>(
    entries: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<u8>, AuditError> {
    let mut bundle = Vec::new();
    for entry in entries {
        let len = u16::try_from(entry.len()).map_err(|_| AuditError::EntryTooLarge(entry.len()))?;
        bundle.extend_from_slice(&len.to_be_bytes());
        bundle.extend_from_slice(entry);
    }
    Ok(bundle)
}

/// The entries of an entry bundle.
pub fn parse_entry_bundle(mut bytes: &[u8]) -> Result<Vec<&[u8]>, AuditError> {
    let mut entries = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes
            .split_first_chunk::<2>()
            .ok_or(AuditError::MalformedTile("truncated entry length"))?;
        let len = usize::from(u16::from_be_bytes(*len));
        if rest.len() < len {
            return Err(AuditError::MalformedTile("truncated entry"));
        }
        let (entry, rest) = rest.split_at(len);
        entries.push(entry);
        bytes = rest;
    }
    Ok(entries)
}
