//! Signed notes: the Go and C2SP reference examples, round trips, and every way a note must
//! be rejected.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use countersign_audit::{AuditError, NoteSigner, NoteVerifier, open_note, sign_note};

use crate::support::{ORIGIN, signer};

const GO_SIGNER_KEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VERIFIER_KEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                       then you don't know what your problem is.\n";
const GO_SIGNATURE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

const BODY: &str =
    "countersign.example/audit/v1\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n";

#[test]
fn go_sumdb_note_example_byte_for_byte() {
    let signer = NoteSigner::from_signer_key(GO_SIGNER_KEY).unwrap();
    assert_eq!(signer.key_id(), 0xc74f20a3);
    assert_eq!(signer.signer_key(), GO_SIGNER_KEY);
    assert_eq!(signer.verifier().to_string(), GO_VERIFIER_KEY);
    let note = signer.sign(GO_TEXT).unwrap();
    assert_eq!(note, format!("{GO_TEXT}\n{GO_SIGNATURE}"));

    let verifier: NoteVerifier = GO_VERIFIER_KEY.parse().unwrap();
    let opened = open_note(&note, std::slice::from_ref(&verifier)).unwrap();
    assert_eq!(opened.text(), GO_TEXT);
    assert_eq!(opened.verified_by(), [verifier]);
}

#[test]
fn c2sp_signed_note_example() {
    let verifier = NoteVerifier::parse(
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
    )
    .unwrap();
    let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let opened = open_note(note, &[verifier]).unwrap();
    assert_eq!(opened.text(), "This is an example message.\n");
}

#[test]
fn key_id_is_sha256_of_name_newline_type_and_key() {
    use sha2::{Digest, Sha256};
    let signer = signer(ORIGIN, 1);
    let digest = Sha256::new()
        .chain_update(ORIGIN)
        .chain_update([0x0a, 0x01])
        .chain_update(signer.verifier().public_key().as_bytes())
        .finalize();
    assert_eq!(signer.key_id().to_be_bytes(), digest[..4]);
    let vkey = signer.verifier().to_string();
    assert!(vkey.starts_with(&format!("{ORIGIN}+{:08x}+", signer.key_id())));
    assert_eq!(NoteVerifier::parse(&vkey).unwrap(), signer.verifier());
}

#[test]
fn round_trip_with_several_signers() {
    let (log, witness) = (signer(ORIGIN, 1), signer("witness.example/w1", 2));
    let note = sign_note(BODY, &[&log, &witness]).unwrap();
    let both = open_note(&note, &[log.verifier(), witness.verifier()]).unwrap();
    assert_eq!(both.text(), BODY);
    assert_eq!(both.verified_by().len(), 2);
    // One trusted key is enough; the other signature is from an unknown key and ignored.
    let only_witness = open_note(&note, &[witness.verifier()]).unwrap();
    assert_eq!(only_witness.verified_by(), [witness.verifier()]);
}

#[test]
fn wrong_key_is_not_trusted() {
    let note = signer(ORIGIN, 1).sign(BODY).unwrap();
    // Same name, other key (so another key ID): unknown, so nothing verifies.
    assert_eq!(
        open_note(&note, &[signer(ORIGIN, 9).verifier()]),
        Err(AuditError::NoTrustedSignature)
    );
    assert_eq!(open_note(&note, &[]), Err(AuditError::NoTrustedSignature));
    // Same key under another name: another key ID too.
    assert_eq!(
        open_note(&note, &[signer("other.example", 1).verifier()]),
        Err(AuditError::NoTrustedSignature)
    );
}

#[test]
fn altered_body_fails() {
    let log = signer(ORIGIN, 1);
    let note = log.sign(BODY).unwrap();
    let altered = note.replacen("\n3\n", "\n4\n", 1);
    assert_eq!(
        open_note(&altered, &[log.verifier()]),
        Err(AuditError::BadSignature {
            name: ORIGIN.into()
        })
    );
}

#[test]
fn altered_signature_fails() {
    let log = signer(ORIGIN, 1);
    let note = log.sign(BODY).unwrap();
    let (head, encoded) = note.trim_end().rsplit_once(' ').unwrap();
    let mut bytes = STANDARD.decode(encoded).unwrap();
    // Flip one bit of R, and separately one of S: both must fail.
    for at in [10, 40] {
        bytes[at] ^= 0x01;
        let altered = format!("{head} {}\n", STANDARD.encode(&bytes));
        assert_eq!(
            open_note(&altered, &[log.verifier()]),
            Err(AuditError::BadSignature {
                name: ORIGIN.into()
            }),
            "byte {at}"
        );
        bytes[at] ^= 0x01;
    }
    // Truncated signature from a known key.
    let short = format!("{head} {}\n", STANDARD.encode(&bytes[..40]));
    assert!(matches!(
        open_note(&short, &[log.verifier()]),
        Err(AuditError::BadSignature { .. })
    ));
}

#[test]
fn a_bad_signature_from_a_known_key_rejects_the_note() {
    let (log, witness) = (signer(ORIGIN, 1), signer("witness.example/w1", 2));
    let good = log.sign(BODY).unwrap();
    // The witness's genuine signature, but over another body.
    let other = witness.sign(&BODY.replace("\n3\n", "\n4\n")).unwrap();
    let misplaced = other.lines().last().unwrap();
    let note = format!("{good}{misplaced}\n");
    assert_eq!(
        open_note(&note, &[log.verifier(), witness.verifier()]),
        Err(AuditError::BadSignature {
            name: witness.name().into()
        })
    );
}

#[test]
fn repeated_signature_is_malformed() {
    let log = signer(ORIGIN, 1);
    let note = log.sign(BODY).unwrap();
    let line = note.lines().last().unwrap();
    let doubled = format!("{note}{line}\n");
    assert!(matches!(
        open_note(&doubled, &[log.verifier()]),
        Err(AuditError::MalformedNote(_))
    ));
}

#[test]
fn malformed_notes_are_errors_not_panics() {
    let log = signer(ORIGIN, 1);
    let note = log.sign(BODY).unwrap();
    let bad = [
        String::new(),
        "\n".into(),
        "\n\n".into(),
        BODY.into(),
        note.trim_end().into(),
        note.replace('\u{2014}', "-"),
        note.replace("\u{2014} ", "\u{2014}"),
        format!("{note}\n"),
        note.replace("\n3\n", "\r3\n"),
        format!("{BODY}\n\u{2014} {ORIGIN}\n"),
        format!("{BODY}\n\u{2014} {ORIGIN} !!!!\n"),
        format!("{BODY}\n\u{2014} {ORIGIN} AAAA\n"),
        format!("{BODY}\n\u{2014}  AAAAAAAA\n"),
    ];
    for text in bad {
        assert!(open_note(&text, &[log.verifier()]).is_err(), "{text:?}");
    }
}

#[test]
fn too_many_signatures_are_refused() {
    let log = signer(ORIGIN, 1);
    let mut note = log.sign(BODY).unwrap();
    let stranger = signer("stranger.example", 3).sign(BODY).unwrap();
    let line = stranger.lines().last().unwrap();
    for _ in 0..countersign_audit::note::MAX_SIGNATURES {
        note.push_str(line);
        note.push('\n');
    }
    assert_eq!(
        open_note(&note, &[log.verifier()]),
        Err(AuditError::MalformedNote("too many signatures"))
    );
}

#[test]
fn signing_refuses_text_that_cannot_be_a_note() {
    let log = signer(ORIGIN, 1);
    assert!(log.sign("no final newline").is_err());
    assert!(log.sign("bell\u{7}\n").is_err());
    assert!(sign_note(BODY, &[]).is_err());
}

#[test]
fn malformed_keys_are_errors() {
    let good = signer(ORIGIN, 1).verifier().to_string();
    let (name, rest) = good.split_once('+').unwrap();
    let (_, key) = rest.split_once('+').unwrap();
    let bad = [
        String::new(),
        name.to_owned(),
        format!("{name}+{key}"),
        format!("{name}+00000000+{key}"),
        format!("{name}+0000000+{key}"),
        format!("{name}+zzzzzzzz+{key}"),
        format!("+{}", rest),
        format!("a b+{rest}"),
        format!("{name}+{}+AA==", &rest[..8]),
        format!("{name}+{}+{}", &rest[..8], STANDARD.encode([2u8; 33])),
        format!("{name}+{}+{}", &rest[..8], STANDARD.encode([1u8; 34])),
    ];
    for vkey in bad {
        assert!(
            matches!(NoteVerifier::parse(&vkey), Err(AuditError::MalformedKey(_))),
            "{vkey:?}"
        );
    }
    assert!(NoteSigner::from_signer_key(&good).is_err());
    assert!(NoteSigner::from_signer_key("PRIVATE+KEY+a+00000000+AA==").is_err());
    assert!(NoteSigner::new("has space", ed25519_dalek::SigningKey::from_bytes(&[1; 32])).is_err());
    assert!(NoteSigner::new("a+b", ed25519_dalek::SigningKey::from_bytes(&[1; 32])).is_err());
}

#[test]
fn signer_debug_does_not_print_the_key() {
    let log = signer(ORIGIN, 1);
    let debug = format!("{log:?}");
    assert!(debug.contains(ORIGIN));
    let secret = log.signer_key();
    let seed = secret.rsplit('+').next().unwrap();
    assert!(!debug.contains(seed));
    assert!(!debug.contains("[1, 1, 1"));
}
