//! The export bundle: a good one verifies; any change to any byte of any file, a missing or
//! extra file, a foreign log key, or a tampered record makes it fail, with the place named.

mod fixture;
mod proof;

use std::path::Path;

use countersign_audit::NoteVerifier;
use countersign_bundle::{BundleError, BundleReport, files, verify_bundle};
use countersign_wire::api::RequestState;
use countersign_wire::{DecisionKind, Tier};

use fixture::{Fixture, OTHER_REVIEWER, REVIEWER};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn verify(dir: &Path) -> BundleReport {
    verify_bundle(dir, None).unwrap()
}

fn all_problems(report: &BundleReport) -> String {
    let mut all = report.problems.clone();
    for record in &report.record_reports {
        all.extend(
            record
                .problems
                .iter()
                .map(|p| format!("{}: {p}", record.request_id)),
        );
    }
    all.join("\n")
}

const FILES: [&str; 7] = [
    files::MANIFEST,
    files::MANIFEST_SIG,
    files::RECORDS,
    files::CHECKPOINT,
    files::PROOF,
    files::LOG_KEY,
    files::IDENTITIES,
];

#[test]
fn a_bundle_verifies_offline_record_by_record() {
    let fixture = Fixture::new(5);
    let dir = tempfile::tempdir().unwrap();
    let summary = fixture.write(&dir.path().join("b"));
    // Two entries per record, and the two reviewers' enrolments.
    assert_eq!((summary.records, summary.events), (5, 12));
    let report = verify(&summary.dir);
    assert!(report.ok, "{}", all_problems(&report));
    assert_eq!(report.records, 5);
    assert_eq!(report.events, 12);
    assert_eq!(report.checkpoint_size, 18);
    assert!(
        report
            .record_reports
            .iter()
            .all(|r| r.ok && r.problems.is_empty())
    );
    // With the real log key pinned it still verifies; with another, it does not.
    let pinned = fixture.signer.verifier();
    assert!(verify_bundle(&summary.dir, Some(&pinned)).unwrap().ok);
    let stranger = NoteVerifier::new(
        fixture::ORIGIN,
        ed25519_dalek::SigningKey::from_bytes(&[9; 32]).verifying_key(),
    )
    .unwrap();
    let report = verify_bundle(&summary.dir, Some(&stranger)).unwrap();
    assert!(!report.ok);
    assert!(
        all_problems(&report).contains("not the pinned log key"),
        "{}",
        all_problems(&report)
    );
}

/// Byte positions of every class worth trying in `bytes`: first, last, middle, and the first
/// digit, quote, brace, newline, base64 letter after a `.` (a signature), and `+` / `=`.
fn positions(bytes: &[u8]) -> Vec<usize> {
    let find = |f: &dyn Fn(u8) -> bool| bytes.iter().position(|b| f(*b));
    let mut at = vec![Some(0), Some(bytes.len() - 1), Some(bytes.len() / 2)];
    at.push(find(&|b| b.is_ascii_digit()));
    at.push(find(&|b| b == b'"'));
    at.push(find(&|b| b == b'{'));
    at.push(find(&|b| b == b'\n'));
    at.push(find(&|b| b == b'+' || b == b'='));
    at.push(
        bytes
            .windows(2)
            .rposition(|w| w[0] == b'.' && w[1].is_ascii_alphanumeric())
            .map(|p| p + 1),
    );
    let mut at: Vec<usize> = at.into_iter().flatten().collect();
    at.sort_unstable();
    at.dedup();
    at
}

#[test]
fn flipping_any_byte_class_of_any_file_fails_verification() {
    let fixture = Fixture::new(3);
    let dir = tempfile::tempdir().unwrap();
    let good = fixture.write(&dir.path().join("good")).dir;
    let mut tried = 0;
    for name in FILES {
        let bytes = std::fs::read(good.join(name)).unwrap();
        for position in positions(&bytes) {
            let copy = dir.path().join(format!("flip-{tried}"));
            copy_dir(&good, &copy);
            let mut changed = bytes.clone();
            changed[position] ^= 0x01;
            std::fs::write(copy.join(name), &changed).unwrap();
            let report = verify(&copy);
            assert!(
                !report.ok,
                "flipping byte {position} of {name} went unnoticed"
            );
            tried += 1;
        }
    }
    assert!(tried >= 40, "only {tried} flips tried");
}

#[test]
fn a_missing_an_extra_or_a_truncated_file_fails() {
    let fixture = Fixture::new(2);
    let dir = tempfile::tempdir().unwrap();
    let good = fixture.write(&dir.path().join("good")).dir;
    for name in FILES {
        let copy = dir
            .path()
            .join(format!("without-{}", name.replace('/', "-")));
        copy_dir(&good, &copy);
        std::fs::remove_file(copy.join(name)).unwrap();
        assert!(!verify(&copy).ok, "without {name}");
    }
    let extra = dir.path().join("extra");
    copy_dir(&good, &extra);
    std::fs::write(extra.join("audit/notes.txt"), "trust me").unwrap();
    let report = verify(&extra);
    assert!(
        all_problems(&report).contains("audit/notes.txt is not listed"),
        "{}",
        all_problems(&report)
    );

    // A record dropped from the file: the digest, and the manifest's count, say so.
    let dropped = dir.path().join("dropped");
    copy_dir(&good, &dropped);
    let records = std::fs::read_to_string(good.join(files::RECORDS)).unwrap();
    let first_line_end = records.find('\n').unwrap() + 1;
    std::fs::write(dropped.join(files::RECORDS), &records[first_line_end..]).unwrap();
    let report = verify(&dropped);
    let problems = all_problems(&report);
    assert!(
        problems.contains("records.jsonl does not match its digest"),
        "{problems}"
    );
    assert!(
        problems.contains("the manifest counts 2 records"),
        "{problems}"
    );
    assert!(matches!(
        verify_bundle(&dir.path().join("nowhere"), None),
        Err(BundleError::Io { .. })
    ));
}

#[test]
fn records_tampered_before_export_fail_per_record_even_when_the_bundle_is_signed() {
    // The exporter signs whatever it is given: the per-record checks are what catch a
    // database changed behind the gateway's back.
    let fixture = Fixture::new(5);
    let dir = tempfile::tempdir().unwrap();

    // A decision re-signed by another enrolled reviewer, claiming to be Rita.
    let mut records = fixture.records.clone();
    records[1].decisions[0] = fixture::decide(
        &fixture.cast.member(OTHER_REVIEWER).key,
        REVIEWER,
        &records[1],
        DecisionKind::Approve,
        "forged",
    );
    // The amount raised in a request after it was approved.
    records[2].request["action"]["arguments"]["amount"] = "99999.00".into();
    // A rejection swapped for the approval on record.
    records[3].decisions[0] = fixture::decide(
        &fixture.cast.member(REVIEWER).key,
        REVIEWER,
        &records[3],
        DecisionKind::Reject,
        "swap",
    );
    // The bytes sent given an amount twice: one reader would see the other amount.
    let text = records[4].request_text.clone().unwrap();
    records[4].request_text = Some(text.replacen('{', r#"{"request_id": "other","#, 1));
    let summary = fixture
        .write_records(&dir.path().join("tampered"), &records)
        .unwrap();
    let report = verify(&summary.dir);
    assert!(!report.ok);
    assert!(
        report.problems.is_empty(),
        "the bundle itself is sound: {:?}",
        report.problems
    );
    let by_id = |i: usize| {
        report
            .record_reports
            .iter()
            .find(|r| r.request_id == fixture.records[i].request_id)
            .unwrap()
    };
    assert!(by_id(0).ok);
    assert!(
        by_id(1)
            .problems
            .iter()
            .any(|p| p.contains("signed with user:sam's key")),
        "{:?}",
        by_id(1)
    );
    assert!(
        by_id(2)
            .problems
            .iter()
            .any(|p| p.contains("digest does not match")),
        "{:?}",
        by_id(2)
    );
    assert!(
        by_id(2)
            .problems
            .iter()
            .any(|p| p.contains("differs from the bytes the workflow sent")),
        "{:?}",
        by_id(2)
    );
    assert!(
        by_id(4)
            .problems
            .iter()
            .any(|p| p.contains("not I-JSON") && p.contains("/request_id")),
        "{:?}",
        by_id(4)
    );
    let swapped = &by_id(3).problems;
    assert!(
        swapped
            .iter()
            .any(|p| p.contains("last decision does not say so")),
        "{swapped:?}"
    );
    assert!(
        swapped
            .iter()
            .any(|p| p.contains("names something that is not in this record")),
        "{swapped:?}"
    );
}

#[test]
fn a_record_says_only_what_its_proven_entries_say() {
    // An insider changes rows and exports them under the genuine key: every file is signed,
    // every signature holds, and the records still cannot claim what the log does not.
    let fixture = Fixture::new(4);
    let dir = tempfile::tempdir().unwrap();
    let mut records = fixture.records.clone();
    // Approved, but the row now says it expired.
    records[0].state = RequestState::Expired;
    // A high-impact request filed as low.
    records[1].tier = Tier::Low;
    // A second approval, validly signed by an enrolled reviewer, that the log never recorded.
    let extra = fixture::decide(
        &fixture.cast.member(OTHER_REVIEWER).key,
        OTHER_REVIEWER,
        &records[2],
        DecisionKind::Approve,
        "never happened",
    );
    records[2].decisions.insert(0, extra);
    let summary = fixture
        .write_records(&dir.path().join("insider"), &records)
        .unwrap();
    let report = verify(&summary.dir);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let problems_of = |i: usize| {
        report
            .record_reports
            .iter()
            .find(|r| r.request_id == fixture.records[i].request_id)
            .unwrap()
            .problems
            .join("; ")
    };
    assert!(
        problems_of(0).contains("the record says expired but its last audit entry says approved"),
        "{}",
        problems_of(0)
    );
    assert!(
        problems_of(1).contains("the record's tier is low but the request says high"),
        "{}",
        problems_of(1)
    );
    assert!(
        problems_of(2).contains("decision 1 is named by no audit entry"),
        "{}",
        problems_of(2)
    );
    assert!(problems_of(3).is_empty(), "{}", problems_of(3));
}

#[test]
fn the_writer_refuses_entries_that_are_not_in_the_log() {
    let fixture = Fixture::new(2);
    let dir = tempfile::tempdir().unwrap();
    let mut records = fixture.records.clone();
    records[0].events[0].entry.push(' ');
    let refused = fixture
        .write_records(&dir.path().join("x"), &records)
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("is not the leaf at that index"),
        "{refused}"
    );
    let mut twice = fixture.records.clone();
    twice[1].events[0].index = twice[0].events[0].index;
    let refused = fixture
        .write_records(&dir.path().join("y"), &twice)
        .unwrap_err();
    assert!(refused.to_string().contains("in two records"), "{refused}");
    // Not into a directory that holds something.
    std::fs::create_dir_all(dir.path().join("full")).unwrap();
    std::fs::write(dir.path().join("full/keep"), "x").unwrap();
    assert!(matches!(
        fixture.write_records(&dir.path().join("full"), &fixture.records),
        Err(BundleError::NotEmpty(_))
    ));
}

#[test]
fn a_record_names_the_trust_store_version_its_arrival_entry_names_and_nothing_else() {
    let fixture = Fixture::new(2);
    let canonical = String::from_utf8(
        countersign_chain::digest::canonical_json(
            &serde_json::to_value(&fixture.identities).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // The record claims a version its sealed arrival does not name: another set of keys
    // could be slipped in that way.
    let mut records = fixture.records.clone();
    let mut writer =
        countersign_bundle::BundleWriter::create(&dir.path().join("b"), Fixture::header()).unwrap();
    let digest = writer.add_trust_version(&canonical).unwrap();
    for enrolment in &fixture.enrolments {
        writer.add_enrolment(enrolment.clone()).unwrap();
    }
    records[0].trust = Some(digest.clone());
    for record in &records {
        writer.add(record).unwrap();
    }
    let summary = writer
        .finish(
            countersign_bundle::LogEvidence {
                signed_checkpoint: &fixture.checkpoint,
                leaves: &fixture.leaves,
            },
            &fixture.identities,
            &fixture.signer,
        )
        .unwrap();
    assert!(
        summary
            .dir
            .join(countersign_bundle::trust_version_file(&digest))
            .exists()
    );
    let report = verify(&summary.dir);
    let problems = all_problems(&report);
    assert!(!report.ok);
    assert!(
        problems.contains("its arrival entry names None"),
        "{problems}"
    );
    // Only that record fails; the other verifies against keys/identities.json as before.
    assert_eq!(report.record_reports.iter().filter(|r| r.ok).count(), 1);
    // A version that is not in RFC 8785 form is refused when writing.
    let mut writer =
        countersign_bundle::BundleWriter::create(&dir.path().join("c"), Fixture::header()).unwrap();
    assert!(writer.add_trust_version("{ \"parties\": {} }").is_err());
}

#[test]
fn a_decision_by_a_key_whose_enrolment_is_not_proven_fails() {
    let fixture = Fixture::new(2);
    let dir = tempfile::tempdir().unwrap();
    // Written without the enrolment entries: the keys are in keys/identities.json, but no
    // proven entry shows they were enrolled.
    let mut writer =
        countersign_bundle::BundleWriter::create(&dir.path().join("b"), Fixture::header()).unwrap();
    for record in &fixture.records {
        writer.add(record).unwrap();
    }
    let summary = writer
        .finish(
            countersign_bundle::LogEvidence {
                signed_checkpoint: &fixture.checkpoint,
                leaves: &fixture.leaves,
            },
            &fixture.identities,
            &fixture.signer,
        )
        .unwrap();
    let report = verify(&summary.dir);
    assert!(!report.ok);
    assert!(
        report.record_reports.iter().all(|r| r
            .problems
            .iter()
            .any(|p| p.contains("whose enrolment is not a proven audit entry"))),
        "{}",
        all_problems(&report)
    );
}
