//! Tiles, cosignatures, witness policies and the witness's add-checkpoint decision.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use countersign_audit::tiles::{entry_bundle, parse_entry_bundle};
use countersign_audit::{
    AddCheckpoint, AuditError, Checkpoint, Cosigner, Tile, TileKind, WitnessKey, WitnessPolicy,
    WitnessRefusal, Witnessed, check_submission, consistency_proof, leaf_hash, tree_root,
    with_cosignatures,
};
use ed25519_dalek::SigningKey;

use crate::support::{ORIGIN, entry, leaves, signer};

fn cosigner(name: &str, seed: u8) -> Cosigner {
    Cosigner::new(name, SigningKey::from_bytes(&[seed; 32])).unwrap()
}

fn signed_checkpoint(leaves: &[[u8; 32]], seed: u8) -> String {
    let body = Checkpoint::new(ORIGIN, leaves.len() as u64, tree_root(leaves))
        .unwrap()
        .body();
    signer(ORIGIN, seed).sign(&body).unwrap()
}

#[test]
fn tile_paths_follow_the_spec_and_only_the_canonical_spelling_parses() {
    let tile = Tile::new(TileKind::Hashes(0), 1_234_067, 256).unwrap();
    assert_eq!(tile.path(), "tile/0/x001/x234/067");
    let partial = Tile::new(TileKind::Entries, 5, 17).unwrap();
    assert_eq!(partial.path(), "tile/entries/005.p/17");
    for path in [
        "tile/0/x001/x234/067",
        "tile/entries/005.p/17",
        "tile/2/000.p/1",
        "tile/63/999",
    ] {
        assert_eq!(Tile::parse(path).unwrap().path(), path);
    }
    for path in [
        "tile/0/1",         // not three digits
        "tile/0/x000/067",  // a leading zero group
        "tile/00/000",      // a level with a leading zero
        "tile/64/000",      // a level beyond 63
        "tile/0/000.p/256", // a partial tile is narrower than 256
        "tile/0/000.p/0",   // and not empty
        "tile/0/000.p/05",  // and canonical
        "tile/0/x001",      // the last group has no x
        "tile/0/001/002",   // the others do
        "tile/0/../000",    // no path games
        "checkpoint",
    ] {
        assert!(
            matches!(Tile::parse(path), Err(AuditError::MalformedTile(_))),
            "{path} parsed"
        );
    }
}

#[test]
fn a_tree_of_70000_leaves_has_the_tiles_the_spec_lists() {
    // The spec's own example: 273 full level-0 tiles, one partial of width 112, one full
    // level-1 tile, one partial of width 17, one partial level-2 tile of width 1.
    let tiles = Tile::all_for(70_000);
    let hashes = |level| {
        tiles
            .iter()
            .filter(|t| t.kind() == TileKind::Hashes(level))
            .map(|t| (t.index(), t.width()))
            .collect::<Vec<_>>()
    };
    let level0 = hashes(0);
    assert_eq!(level0.len(), 274);
    assert_eq!(level0.last(), Some(&(273, 112)));
    assert_eq!(hashes(1), vec![(0, 256), (1, 17)]);
    assert_eq!(hashes(2), vec![(0, 1)]);
    assert!(hashes(3).is_empty());
    assert_eq!(
        tiles
            .iter()
            .filter(|t| t.kind() == TileKind::Entries)
            .count(),
        274
    );
    // A tree of 256 leaves: one full level-0 tile and a partial level-1 tile of width 1.
    let small = Tile::all_for(256);
    assert!(small.contains(&Tile::new(TileKind::Hashes(1), 0, 1).unwrap()));
    assert!(Tile::all_for(0).is_empty());
}

#[test]
fn tile_hashes_are_leaf_hashes_at_level_0_and_subtree_roots_above() {
    let all = leaves(600);
    let tile = Tile::new(TileKind::Hashes(0), 1, 256).unwrap();
    let (start, end) = tile.leaf_range().unwrap();
    assert_eq!((start, end), (256, 512));
    let bytes = tile.hashes(&all[256..512]).unwrap();
    assert_eq!(&bytes[..32], &all[256]);
    assert_eq!(bytes.len(), 256 * 32);
    let up = Tile::new(TileKind::Hashes(1), 0, 2).unwrap();
    assert_eq!(up.leaf_range(), Some((0, 512)));
    let bytes = up.hashes(&all[..512]).unwrap();
    assert_eq!(&bytes[..32], &tree_root(&all[..256]));
    assert_eq!(&bytes[32..], &tree_root(&all[256..512]));
    assert!(up.within(600) && !Tile::new(TileKind::Hashes(1), 0, 3).unwrap().within(600));
    // The wrong leaves for the tile are refused, not hashed.
    assert!(tile.hashes(&all[..255]).is_err());
}

#[test]
fn entry_bundles_round_trip_and_refuse_what_does_not_fit() {
    let entries: Vec<Vec<u8>> = (0..5).map(entry).collect();
    let bundle = entry_bundle(entries.iter().map(Vec::as_slice)).unwrap();
    let parsed = parse_entry_bundle(&bundle).unwrap();
    assert_eq!(parsed.len(), 5);
    for (parsed, original) in parsed.iter().zip(&entries) {
        assert_eq!(leaf_hash(parsed), leaf_hash(original));
    }
    assert!(parse_entry_bundle(&bundle[..bundle.len() - 1]).is_err());
    let huge = vec![b'x'; 70_000];
    assert_eq!(
        entry_bundle([huge.as_slice()]),
        Err(AuditError::EntryTooLarge(70_000))
    );
}

#[test]
fn a_cosignature_verifies_and_any_change_to_it_or_the_checkpoint_fails() {
    let note = signed_checkpoint(&leaves(10), 1);
    let witness = cosigner("witness.example/w1", 7);
    let body = note.split_once("\n\n").unwrap().0.to_owned() + "\n";
    let line = witness.cosign(&body, 1_790_000_000).unwrap();
    let cosigned = with_cosignatures(&note, std::slice::from_ref(&line));
    assert_eq!(
        with_cosignatures(&cosigned, std::slice::from_ref(&line)),
        cosigned
    );
    let key = WitnessKey::parse(&witness.witness_key().to_string()).unwrap();
    let found = key.cosignature_on(&cosigned).unwrap().unwrap();
    assert_eq!(
        (found.timestamp, found.line.as_str()),
        (1_790_000_000, line.as_str())
    );
    // The log's own signature still verifies beside it.
    countersign_audit::open_note(&cosigned, &[signer(ORIGIN, 1).verifier()]).unwrap();
    // Not cosigned: none. Another size: the cosignature fails.
    assert_eq!(key.cosignature_on(&note).unwrap(), None);
    let moved = cosigned.replacen("\n10\n", "\n11\n", 1);
    assert!(matches!(
        key.cosignature_on(&moved),
        Err(AuditError::BadSignature { .. })
    ));
    // Another time inside the signature: fails.
    let (name, sig) = line.trim_end().rsplit_once(' ').unwrap();
    let mut bytes = STANDARD.decode(sig).unwrap();
    bytes[11] ^= 1;
    let retimed = with_cosignatures(&note, &[format!("{name} {}\n", STANDARD.encode(bytes))]);
    assert!(key.cosignature_on(&retimed).is_err());
    // A log key is not a witness key (another signature type), and vice versa.
    assert!(WitnessKey::parse(&signer(ORIGIN, 1).verifier().to_string()).is_err());
    assert!(countersign_audit::NoteVerifier::parse(&key.to_string()).is_err());
}

#[test]
fn a_witness_policy_needs_its_quorum_of_named_witnesses() {
    let note = signed_checkpoint(&leaves(4), 1);
    let body = note.split_once("\n\n").unwrap().0.to_owned() + "\n";
    let (w1, w2, w3) = (
        cosigner("w1.example", 1),
        cosigner("w2.example", 2),
        cosigner("w3.example", 3),
    );
    let keys = vec![w1.witness_key(), w2.witness_key(), w3.witness_key()];
    let two_of_three = WitnessPolicy::new(keys.clone(), 2).unwrap();
    let one = with_cosignatures(&note, &[w1.cosign(&body, 5).unwrap()]);
    assert_eq!(
        two_of_three.check(&one),
        Err(AuditError::WitnessQuorum {
            needed: 2,
            found: 1
        })
    );
    // A stranger's cosignature does not count.
    let stranger = cosigner("w1.example", 9);
    let with_stranger = with_cosignatures(&one, &[stranger.cosign(&body, 5).unwrap()]);
    assert!(two_of_three.check(&with_stranger).is_err());
    let two = with_cosignatures(&one, &[w3.cosign(&body, 6).unwrap()]);
    assert_eq!(two_of_three.check(&two).unwrap().len(), 2);
    assert!(WitnessPolicy::new(keys.clone(), 0).is_err());
    assert!(WitnessPolicy::new(keys, 4).is_err());
    assert!(WitnessPolicy::new(vec![w1.witness_key(), w1.witness_key()], 1).is_err());
}

#[test]
fn a_witness_cosigns_only_consistent_extensions_of_what_it_holds() {
    let log = [signer(ORIGIN, 1).verifier()];
    let all = leaves(40);
    let held = Witnessed {
        size: 20,
        root: tree_root(&all[..20]),
    };
    let submit = |old: u64, proof: Vec<[u8; 32]>, checkpoint: String| {
        let body = AddCheckpoint {
            old_size: old,
            proof,
            checkpoint,
        }
        .body();
        let parsed = AddCheckpoint::parse(&body).unwrap();
        check_submission(&parsed, &log, |origin| (origin == ORIGIN).then_some(held))
    };
    let good = signed_checkpoint(&all, 1);
    let proof = consistency_proof(&all, 20, 40).unwrap();
    assert_eq!(submit(20, proof.clone(), good.clone()).unwrap().size(), 40);
    // The log believes the witness is elsewhere: 409 with the size held.
    assert_eq!(
        submit(10, consistency_proof(&all, 10, 40).unwrap(), good.clone()),
        Err(WitnessRefusal::Conflict { known: 20 })
    );
    // A fork: entry 5 rewritten, re-signed with the genuine key.
    let mut forked = all.clone();
    forked[5] = leaf_hash(b"rewritten");
    let fork = submit(
        20,
        consistency_proof(&forked, 20, 40).unwrap(),
        signed_checkpoint(&forked, 1),
    );
    assert_eq!(fork.as_ref().map_err(WitnessRefusal::status), Err(422));
    // A rollback to a smaller tree: the old size is above the checkpoint's.
    let rolled = submit(20, vec![], signed_checkpoint(&all[..15], 1));
    assert_eq!(rolled.map_err(|e| e.status()), Err(400));
    // The same size with another root.
    let same = submit(20, vec![], signed_checkpoint(&forked[..20], 1));
    assert_eq!(same.map_err(|e| e.status()), Err(422));
    // Signed by another key: 403. Another origin: 404.
    assert_eq!(
        submit(20, proof.clone(), signed_checkpoint(&all, 2)).map_err(|e| e.status()),
        Err(403)
    );
    let other = signer("other.example/log", 1)
        .sign(
            &Checkpoint::new("other.example/log", 40, tree_root(&all))
                .unwrap()
                .body(),
        )
        .unwrap();
    assert_eq!(submit(20, proof, other).map_err(|e| e.status()), Err(404));
    // A body without the blank line, or with a bad old line: 400.
    for body in ["old 20\n", "old 020\n\nx", "old -1\n\nx", "new 1\n\nx"] {
        assert_eq!(
            AddCheckpoint::parse(body).map_err(|e| e.status()),
            Err(400),
            "{body:?}"
        );
    }
    // A first submission (the witness holds nothing) must carry no proof.
    let first = AddCheckpoint {
        old_size: 0,
        proof: vec![[0; 32]],
        checkpoint: good.clone(),
    };
    assert_eq!(
        check_submission(&first, &log, |_| None).map_err(|e| e.status()),
        Err(422)
    );
    let first = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: good,
    };
    assert!(check_submission(&first, &log, |_| None).is_ok());
}
