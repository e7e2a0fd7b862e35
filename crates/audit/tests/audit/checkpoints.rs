//! The tlog-checkpoint body: exact format, round trip, and one spelling per checkpoint.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use countersign_audit::{AuditError, Checkpoint, tree_root};

use crate::support::{ORIGIN, leaves};

fn checkpoint() -> Checkpoint {
    Checkpoint::new(ORIGIN, 5, tree_root(&leaves(5))).unwrap()
}

#[test]
fn formats_origin_size_and_base64_root() {
    let cp = checkpoint();
    let root = STANDARD.encode(tree_root(&leaves(5)));
    assert_eq!(cp.body(), format!("{ORIGIN}\n5\n{root}\n"));
    assert_eq!(Checkpoint::parse(&cp.body()).unwrap(), cp);
}

#[test]
fn extension_lines_round_trip() {
    let cp = checkpoint()
        .with_extensions(vec!["ts 1732252800".into(), "x".into()])
        .unwrap();
    assert!(cp.body().ends_with("\nts 1732252800\nx\n"));
    let parsed = Checkpoint::parse(&cp.body()).unwrap();
    assert_eq!(parsed, cp);
    assert_eq!(parsed.extensions(), ["ts 1732252800", "x"]);
}

#[test]
fn empty_tree_checkpoint() {
    let cp = Checkpoint::new(ORIGIN, 0, tree_root(&[])).unwrap();
    assert_eq!(
        cp.body(),
        format!("{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
    );
    assert_eq!(Checkpoint::parse(&cp.body()).unwrap(), cp);
}

#[test]
fn rejects_malformed_bodies() {
    let root = STANDARD.encode(tree_root(&leaves(5)));
    let bad = [
        format!("{ORIGIN}\n5\n{root}"),
        format!("{ORIGIN}\n5\n"),
        format!("\n5\n{root}\n"),
        format!("{ORIGIN}\n05\n{root}\n"),
        format!("{ORIGIN}\n+5\n{root}\n"),
        format!("{ORIGIN}\n-5\n{root}\n"),
        format!("{ORIGIN}\n 5\n{root}\n"),
        format!("{ORIGIN}\n\n{root}\n"),
        format!("{ORIGIN}\n18446744073709551616\n{root}\n"),
        format!("{ORIGIN}\n5\n{}\n", root.trim_end_matches('=')),
        format!("{ORIGIN}\n5\n{}\n", STANDARD.encode([0u8; 31])),
        format!("{ORIGIN}\n5\n{}\n", STANDARD.encode([0u8; 33])),
        // Non-zero trailing bits: a second spelling of the same root.
        format!("{ORIGIN}\n5\n{}B=\n", &root[..42]),
        format!("{ORIGIN}\n5\n{root}\n\n"),
        format!("{ORIGIN}\r\n5\n{root}\n"),
        format!("{ORIGIN}\n5\n{root}\next\tension\n"),
        String::new(),
    ];
    for body in bad {
        assert!(
            matches!(
                Checkpoint::parse(&body),
                Err(AuditError::MalformedCheckpoint(_))
            ),
            "{body:?}"
        );
    }
}

#[test]
fn largest_size_round_trips() {
    let cp = Checkpoint::new(ORIGIN, u64::MAX, [7; 32]).unwrap();
    assert_eq!(Checkpoint::parse(&cp.body()).unwrap().size(), u64::MAX);
}

#[test]
fn constructor_refuses_lines_that_would_break_the_body() {
    assert!(Checkpoint::new("", 1, [0; 32]).is_err());
    assert!(Checkpoint::new("a\nb", 1, [0; 32]).is_err());
    assert!(checkpoint().with_extensions(vec![String::new()]).is_err());
    assert!(checkpoint().with_extensions(vec!["a\nb".into()]).is_err());
}
