//! Verifying a bundle offline: every check runs and every problem is reported, per record
//! where it belongs. Records are checked in parallel (signatures dominate the cost).

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use countersign_audit::{
    Checkpoint, Hash, NoteVerifier, WitnessPolicy, leaf_hash, open_note, tree_root,
};
use countersign_chain::digest::{canonical_json, decision_subject, sha256_digest};
use countersign_chain::{TrustIndex, TypedJwsError, verify_typed, verify_value};
use countersign_wire::api::RequestState;
use countersign_wire::{DECISION_TYP, DecisionClaims, DecisionKind, DecisionSubject, TrustStore};
use serde::Serialize;
use serde_json::Value;

use crate::proof::{BatchProof, root};
use crate::{BundleError, BundleRecord, FORMAT, Manifest, files, io, manifest_note_text};

/// What one record's checks found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RecordReport {
    /// Request id (or `line N` when the line does not parse).
    pub request_id: String,
    /// Whether every check holds.
    pub ok: bool,
    /// What does not hold.
    pub problems: Vec<String>,
}

/// What [`verify_bundle`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BundleReport {
    /// True only if every check of the bundle and of every record holds.
    pub ok: bool,
    /// Records checked.
    pub records: usize,
    /// Audit entries proven.
    pub events: usize,
    /// Size of the checkpoint they are proven against.
    pub checkpoint_size: u64,
    /// Whether the checkpoint was checked against a log key the auditor pinned. Without one
    /// the bundle's own key was used: the files agree with each other, but nothing shows they
    /// came from the auditor's gateway.
    pub log_key_pinned: bool,
    /// The size of the checkpoint the auditor kept (`--since`), when the bundle's log was
    /// proven a consistent extension of it.
    pub since_size: Option<u64>,
    /// Witnesses whose cosignature on the checkpoint verified, under the auditor's policy.
    pub witnessed_by: Vec<String>,
    /// Problems with the bundle as a whole (manifest, signatures, files, proof).
    pub problems: Vec<String>,
    /// Per record, in file order.
    pub record_reports: Vec<RecordReport>,
}

fn read(dir: &Path, name: &str, problems: &mut Vec<String>) -> Option<Vec<u8>> {
    match std::fs::read(dir.join(name)) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            problems.push(format!("{name}: cannot read it ({e})"));
            None
        }
    }
}

/// Every file under `dir`, as `/`-separated relative paths (what a bundle holds).
pub fn bundle_files(dir: &Path) -> std::io::Result<BTreeSet<String>> {
    let mut files = BTreeSet::new();
    list_files(dir, "", &mut files)?;
    Ok(files)
}

fn list_files(dir: &Path, prefix: &str, out: &mut BTreeSet<String>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let relative = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        if entry.file_type()?.is_dir() {
            list_files(&entry.path(), &relative, out)?;
        } else {
            out.insert(relative);
        }
    }
    Ok(())
}

fn is_canonical(bytes: &[u8]) -> bool {
    serde_json::from_slice::<Value>(bytes)
        .ok()
        .and_then(|v| canonical_json(&v).ok())
        .is_some_and(|c| c == bytes)
}

/// The context every record is checked in.
struct Context<'a> {
    trust: &'a TrustIndex,
    /// Trust store versions by `sha256:` digest (`keys/trust/`).
    versions: &'a BTreeMap<String, TrustIndex>,
    /// Per reviewer, the key ids their proven enrolment entries name (`None`: the bundle
    /// has no enrolments file, reported once for the bundle).
    enrolled: Option<&'a Enrolled>,
    audience: &'a str,
}

/// Reviewer identity → key ids their enrolment entries name.
type Enrolled = BTreeMap<String, BTreeSet<String>>;

/// `audit/enrolments.jsonl`: the enrolled keys, and the entries' leaves for the proof.
fn read_enrolments(bytes: &[u8], problems: &mut Vec<String>) -> (Enrolled, Vec<(u64, Hash)>) {
    let mut enrolled = Enrolled::new();
    let mut leaves = Vec::new();
    let text = String::from_utf8_lossy(bytes);
    for (n, line) in text.lines().enumerate() {
        let event: crate::BundleEvent = match serde_json::from_str(line) {
            Ok(event) => event,
            Err(e) => {
                problems.push(format!("{} line {}: {e}", files::ENROLMENTS, n + 1));
                continue;
            }
        };
        leaves.push((event.index, leaf_hash(event.entry.as_bytes())));
        let entry: Value = serde_json::from_str(&event.entry).unwrap_or(Value::Null);
        if entry.get("kind").and_then(Value::as_str) != Some("reviewer_enrolled") {
            problems.push(format!(
                "{} line {}: not an enrolment entry",
                files::ENROLMENTS,
                n + 1
            ));
            continue;
        }
        let Some(identity) = entry.pointer("/detail/identity").and_then(Value::as_str) else {
            problems.push(format!(
                "{} line {}: names no identity",
                files::ENROLMENTS,
                n + 1
            ));
            continue;
        };
        let kids = entry
            .pointer("/detail/keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|k| k.get("kid").and_then(Value::as_str).map(str::to_owned));
        enrolled
            .entry(identity.to_owned())
            .or_default()
            .extend(kids);
    }
    (enrolled, leaves)
}

/// The trust store versions the bundle carries: each file's name is the digest of its bytes,
/// which are a trust store in RFC 8785 form.
fn trust_versions(
    contents: &BTreeMap<String, Vec<u8>>,
    problems: &mut Vec<String>,
) -> BTreeMap<String, TrustIndex> {
    let mut versions = BTreeMap::new();
    for (name, bytes) in contents.range(files::TRUST_VERSIONS.to_owned()..) {
        let Some(file) = name.strip_prefix(files::TRUST_VERSIONS) else {
            break;
        };
        let digest = sha256_digest(bytes);
        if crate::trust_version_file(&digest) != *name {
            problems.push(format!("{name} is not named by the digest of its content"));
            continue;
        }
        if !is_canonical(bytes) {
            problems.push(format!("{name} is not in its canonical (JCS) form"));
        }
        match serde_json::from_slice::<TrustStore>(bytes)
            .map_err(|e| e.to_string())
            .and_then(|store| TrustIndex::from_store(&store).map_err(|e| e.to_string()))
        {
            Ok(index) => {
                versions.insert(digest, index);
            }
            Err(e) => problems.push(format!("{name} ({file}): {e}")),
        }
    }
    versions
}

/// What an auditor brings to a bundle beyond the bundle itself.
#[derive(Clone, Debug, Default)]
pub struct BundleChecks<'a> {
    /// The log key the auditor pinned: the bundle's own `keys/log.vkey` must be it. Without
    /// one the bundle's key is used, and nothing shows the bundle came from the auditor's
    /// gateway.
    pub pinned_log_key: Option<&'a NoteVerifier>,
    /// A signed checkpoint the auditor kept from before: the bundle's log must be a
    /// consistent extension of it (no entry it covered changed or dropped, no rollback).
    pub since: Option<&'a str>,
    /// Witnesses that must have cosigned the bundle's checkpoint.
    pub witnesses: Option<&'a WitnessPolicy>,
}

/// [`verify_bundle_with`] with only a pinned log key (or none).
pub fn verify_bundle(
    dir: &Path,
    pinned_log_key: Option<&NoteVerifier>,
) -> Result<BundleReport, BundleError> {
    verify_bundle_with(
        dir,
        &BundleChecks {
            pinned_log_key,
            ..BundleChecks::default()
        },
    )
}

/// Verifies the bundle at `dir` under `checks`. `Err` only when `dir` cannot be read at all.
pub fn verify_bundle_with(
    dir: &Path,
    checks: &BundleChecks<'_>,
) -> Result<BundleReport, BundleError> {
    let pinned_log_key = checks.pinned_log_key;
    let present = bundle_files(dir).map_err(io(dir))?;
    let mut problems = Vec::new();

    // The manifest, its canonical form and its signature.
    let manifest_bytes = read(dir, files::MANIFEST, &mut problems).unwrap_or_default();
    let manifest: Option<Manifest> = match serde_json::from_slice(&manifest_bytes) {
        Ok(manifest) => Some(manifest),
        Err(e) => {
            problems.push(format!("{}: not a manifest ({e})", files::MANIFEST));
            None
        }
    };
    if manifest.is_some() && !is_canonical(&manifest_bytes) {
        problems.push(format!(
            "{} is not in its canonical (JCS) form",
            files::MANIFEST
        ));
    }
    if let Some(m) = &manifest
        && m.format != FORMAT
    {
        problems.push(format!(
            "unknown format {:?}; this verifier reads {FORMAT}",
            m.format
        ));
    }
    let bundled_key = read(dir, files::LOG_KEY, &mut problems)
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let verifier = match (pinned_log_key, NoteVerifier::parse(bundled_key.trim())) {
        (Some(pinned), _) => {
            if bundled_key != format!("{pinned}\n") {
                problems.push(format!("{} is not the pinned log key", files::LOG_KEY));
            }
            Some(pinned.clone())
        }
        (None, Ok(key)) => Some(key),
        (None, Err(e)) => {
            problems.push(format!("{}: {e}", files::LOG_KEY));
            None
        }
    };
    let verifiers: Vec<NoteVerifier> = verifier.into_iter().collect();
    let signature = read(dir, files::MANIFEST_SIG, &mut problems).unwrap_or_default();
    match open_note(&String::from_utf8_lossy(&signature), &verifiers) {
        Ok(note) if note.text() == manifest_note_text(&sha256_digest(&manifest_bytes)) => {}
        Ok(_) => problems.push(format!("{} signs another manifest", files::MANIFEST_SIG)),
        Err(e) => problems.push(format!("{}: {e}", files::MANIFEST_SIG)),
    }

    // Every file listed, present and unchanged; nothing else.
    let listed: BTreeMap<String, String> = manifest
        .as_ref()
        .map(|m| m.files.clone())
        .unwrap_or_default();
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for name in &present {
        if name == files::MANIFEST || name == files::MANIFEST_SIG {
            continue;
        }
        match listed.get(name) {
            None => problems.push(format!("{name} is not listed in the manifest")),
            Some(expected) => {
                if let Some(bytes) = read(dir, name, &mut problems) {
                    // The records' digest is taken beside their checks, below: it is most of
                    // the bundle's bytes, and one core hashing while the others wait was a
                    // tenth of the time.
                    if name != files::RECORDS && &sha256_digest(&bytes) != expected {
                        problems.push(format!("{name} does not match its digest in the manifest"));
                    }
                    contents.insert(name.clone(), bytes);
                }
            }
        }
    }
    for name in listed.keys() {
        if !present.contains(name) {
            problems.push(format!("{name} is listed in the manifest but missing"));
        }
    }
    let file = |name: &str| contents.get(name).map(Vec::as_slice).unwrap_or_default();

    // The checkpoint and the proof.
    let checkpoint = open_note(
        &String::from_utf8_lossy(file(files::CHECKPOINT)),
        &verifiers,
    )
    .map_err(|e| e.to_string())
    .and_then(|note| Checkpoint::parse(note.text()).map_err(|e| e.to_string()));
    let checkpoint = match checkpoint {
        Ok(checkpoint) => Some(checkpoint),
        Err(e) => {
            problems.push(format!("{}: {e}", files::CHECKPOINT));
            None
        }
    };
    if let (Some(c), Some(m)) = (&checkpoint, &manifest)
        && (c.origin() != m.log.origin || c.size() != m.log.size)
    {
        problems.push("the checkpoint is not the one the manifest names".into());
    }
    let witnessed_by = check_witnesses(
        checks.witnesses,
        &String::from_utf8_lossy(file(files::CHECKPOINT)),
        &mut problems,
    );
    let since_size = checks.since.map(|since| {
        check_since(
            since,
            &verifiers,
            checkpoint.as_ref(),
            present
                .contains(files::LEAF_HASHES)
                .then(|| file(files::LEAF_HASHES)),
            &mut problems,
        )
    });
    let proof: Option<BatchProof> = serde_json::from_slice(file(files::PROOF))
        .map_err(|e| problems.push(format!("{}: {e}", files::PROOF)))
        .ok();
    if !is_canonical(file(files::PROOF)) {
        problems.push(format!(
            "{} is not in its canonical (JCS) form",
            files::PROOF
        ));
    }

    // Identities.
    let trust = serde_json::from_slice::<TrustStore>(file(files::IDENTITIES))
        .map_err(|e| e.to_string())
        .and_then(|store| TrustIndex::from_store(&store).map_err(|e| e.to_string()));
    let trust = trust.unwrap_or_else(|e| {
        problems.push(format!("{}: {e}", files::IDENTITIES));
        TrustIndex::default()
    });
    if !is_canonical(file(files::IDENTITIES)) {
        problems.push(format!(
            "{} is not in its canonical (JCS) form",
            files::IDENTITIES
        ));
    }

    // Records, in parallel.
    let audience = manifest
        .as_ref()
        .map(|m| m.audience.as_str())
        .unwrap_or_default();
    let versions = trust_versions(&contents, &mut problems);
    let (enrolled, enrolment_leaves) = if listed.contains_key(files::ENROLMENTS) {
        let (enrolled, leaves) = read_enrolments(file(files::ENROLMENTS), &mut problems);
        (Some(enrolled), leaves)
    } else {
        problems.push(format!(
            "the bundle has no {}: nothing proves the deciders' keys were enrolled",
            files::ENROLMENTS
        ));
        (None, Vec::new())
    };
    let context = Context {
        trust: &trust,
        versions: &versions,
        enrolled: enrolled.as_ref(),
        audience,
    };
    let records_bytes = file(files::RECORDS);
    let lines: Vec<&[u8]> = if records_bytes.is_empty() {
        Vec::new()
    } else {
        match records_bytes.strip_suffix(b"\n") {
            Some(body) => body.split(|b| *b == b'\n').collect(),
            None => {
                problems.push(format!("{} does not end with a newline", files::RECORDS));
                records_bytes.split(|b| *b == b'\n').collect()
            }
        }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = lines.len().div_ceil(threads).max(1);
    let (checked, records_digest) = std::thread::scope(|scope| {
        let digest = scope.spawn(|| {
            contents
                .get(files::RECORDS)
                .map(|bytes| sha256_digest(bytes))
        });
        let workers: Vec<_> = lines
            .chunks(chunk)
            .enumerate()
            .map(|(n, part)| {
                let context = &context;
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, line)| check_line(line, n * chunk + i + 1, context))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let checked: Vec<(RecordReport, Vec<(u64, Hash)>)> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect();
        (checked, digest.join().unwrap_or_default())
    });
    if let (Some(found), Some(expected)) = (records_digest, listed.get(files::RECORDS))
        && &found != expected
    {
        problems.push(format!(
            "{} does not match its digest in the manifest",
            files::RECORDS
        ));
    }

    let mut entries: BTreeMap<u64, Hash> = BTreeMap::new();
    for (index, leaf) in enrolment_leaves {
        if entries.insert(index, leaf).is_some() {
            problems.push(format!("enrolment entry {index} appears twice"));
        }
    }
    let mut record_reports = Vec::with_capacity(checked.len());
    let mut ids = HashSet::new();
    for (mut report, leaves) in checked {
        if !ids.insert(report.request_id.clone()) {
            report.problems.push("the record appears twice".into());
        }
        for (index, leaf) in leaves {
            if entries.insert(index, leaf).is_some() {
                report.problems.push(format!("entry {index} appears twice"));
            }
        }
        report.ok = report.problems.is_empty();
        record_reports.push(report);
    }
    if let (Some(proof), Some(checkpoint)) = (&proof, &checkpoint) {
        if proof.size != checkpoint.size() {
            problems.push("the proof is for another tree size than the checkpoint".into());
        } else {
            match root(proof, &entries) {
                Ok(root) if root == *checkpoint.root() => {}
                Ok(_) => problems.push(
                    "the audit entries and the proof do not hash to the signed checkpoint root"
                        .into(),
                ),
                Err(e) => problems.push(format!("{}: {e}", files::PROOF)),
            }
        }
    }
    if let Some(m) = &manifest
        && (m.records != record_reports.len() as u64 || m.events != entries.len() as u64)
    {
        problems.push(format!(
            "the manifest counts {} records and {} entries; the bundle holds {} and {}",
            m.records,
            m.events,
            record_reports.len(),
            entries.len()
        ));
    }
    let ok = problems.is_empty() && record_reports.iter().all(|r| r.ok);
    Ok(BundleReport {
        ok,
        records: record_reports.len(),
        events: entries.len(),
        checkpoint_size: checkpoint.as_ref().map_or(0, Checkpoint::size),
        log_key_pinned: pinned_log_key.is_some(),
        since_size: since_size.flatten(),
        witnessed_by,
        problems,
        record_reports,
    })
}

/// The witness policy on the checkpoint: the witnesses that cosigned it.
fn check_witnesses(
    policy: Option<&WitnessPolicy>,
    note: &str,
    problems: &mut Vec<String>,
) -> Vec<String> {
    let Some(policy) = policy.filter(|p| !p.is_empty()) else {
        return Vec::new();
    };
    match policy.check(note) {
        Ok(found) => found.into_iter().map(|c| c.witness).collect(),
        Err(e) => {
            problems.push(format!(
                "{}: the witness policy is not met: {e}",
                files::CHECKPOINT
            ));
            Vec::new()
        }
    }
}

/// The bundle's tree extends the checkpoint the auditor kept: same log, no smaller, and its
/// first `since.size` leaves hash to the kept root. Returns the kept size when it holds.
fn check_since(
    since: &str,
    verifiers: &[NoteVerifier],
    checkpoint: Option<&Checkpoint>,
    leaf_hashes: Option<&[u8]>,
    problems: &mut Vec<String>,
) -> Option<u64> {
    let mut fail = |why: String| {
        problems.push(format!("--since: {why}"));
        None
    };
    let kept = match open_note(since, verifiers)
        .map_err(|e| e.to_string())
        .and_then(|note| Checkpoint::parse(note.text()).map_err(|e| e.to_string()))
    {
        Ok(kept) => kept,
        Err(e) => {
            return fail(format!(
                "the checkpoint you kept does not verify with the log key: {e}"
            ));
        }
    };
    let checkpoint = checkpoint?;
    if kept.origin() != checkpoint.origin() {
        return fail(format!(
            "the checkpoint you kept is for log {:?}, this bundle for {:?}",
            kept.origin(),
            checkpoint.origin()
        ));
    }
    if kept.size() > checkpoint.size() {
        return fail(format!(
            "the log was rolled back: you kept a checkpoint of {} entries, this bundle's has {}",
            kept.size(),
            checkpoint.size()
        ));
    }
    let Some(bytes) = leaf_hashes else {
        return fail(format!(
            "the bundle has no {} to prove consistency with",
            files::LEAF_HASHES
        ));
    };
    let leaves = match parse_leaf_hashes(bytes) {
        Ok(leaves) => leaves,
        Err(why) => return fail(format!("{}: {why}", files::LEAF_HASHES)),
    };
    if leaves.len() as u64 != checkpoint.size() || tree_root(&leaves) != *checkpoint.root() {
        return fail(format!(
            "{} is not the tree the checkpoint signs",
            files::LEAF_HASHES
        ));
    }
    let covered = usize::try_from(kept.size()).unwrap_or(usize::MAX);
    if tree_root(&leaves[..covered]) != *kept.root() {
        return fail(format!(
            "the log is not a consistent extension of the checkpoint you kept: the first {} \
             entries were rewritten (a fork)",
            kept.size()
        ));
    }
    Some(kept.size())
}

/// One base64 hash per line.
fn parse_leaf_hashes(bytes: &[u8]) -> Result<Vec<Hash>, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "not text".to_owned())?;
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let body = text
        .strip_suffix('\n')
        .ok_or("does not end with a newline")?;
    body.split('\n')
        .enumerate()
        .map(|(i, line)| {
            STANDARD
                .decode(line)
                .ok()
                .and_then(|b| Hash::try_from(b.as_slice()).ok())
                .ok_or_else(|| format!("line {} is not a base64 hash", i + 1))
        })
        .collect()
}

/// Checks one line of `records.jsonl`; returns its report and its entries' leaf hashes.
fn check_line(
    line: &[u8],
    number: usize,
    context: &Context<'_>,
) -> (RecordReport, Vec<(u64, Hash)>) {
    let record: BundleRecord = match serde_json::from_slice(line) {
        Ok(record) => record,
        Err(e) => {
            return (
                RecordReport {
                    request_id: format!("line {number}"),
                    ok: false,
                    problems: vec![format!("not a record: {e}")],
                },
                Vec::new(),
            );
        }
    };
    // No canonical-form check per line: the file's digest in the signed manifest already
    // pins every byte, and re-serializing 100,000 records would cost a fifth of the time.
    let mut problems = Vec::new();
    check_record(&record, context, &mut problems);
    let leaves = record
        .events
        .iter()
        .map(|e| (e.index, leaf_hash(e.entry.as_bytes())))
        .collect();
    (
        RecordReport {
            request_id: record.request_id,
            ok: problems.is_empty(),
            problems,
        },
        leaves,
    )
}

fn check_record(record: &BundleRecord, context: &Context<'_>, problems: &mut Vec<String>) {
    let report = &record.report;
    // The bytes the workflow sent: the request beside them must be exactly what they say, so
    // that verifying the one verifies the other.
    if let Some(text) = &record.request_text {
        match countersign_chain::ijson::parse(text.as_bytes()) {
            Ok(sent) if sent == record.request => {}
            Ok(_) => problems.push("the request differs from the bytes the workflow sent".into()),
            Err(e) => problems.push(format!("the bytes the workflow sent are not I-JSON: {e}")),
        }
    }
    // The chain, re-verified at the time the gateway received it, against the trust store
    // in force then (the version its arrival entry names).
    let trust = match &record.trust {
        None => Some(context.trust),
        Some(digest) => {
            let found = context.versions.get(digest);
            if found.is_none() {
                problems.push(format!(
                    "the trust store version it was received under ({digest}) is not in the bundle"
                ));
            }
            found
        }
    };
    let arrival_trust = record
        .events
        .iter()
        .min_by_key(|e| e.index)
        .and_then(|e| serde_json::from_str::<Value>(&e.entry).ok())
        .and_then(|entry| {
            entry
                .pointer("/detail/trust")
                .and_then(Value::as_str)
                .map(str::to_owned)
        });
    if arrival_trust != record.trust {
        problems.push(format!(
            "the record names trust store version {:?}; its arrival entry names {:?}",
            record.trust, arrival_trust
        ));
    }
    // What a decision must name, from the request's own bytes (not the report's digests):
    // re-verification computes them, so they are taken from there when it runs.
    let mut digests = None;
    match DateTime::parse_from_rfc3339(&record.received_at) {
        Err(e) => problems.push(format!("received_at: {e}")),
        Ok(_) if trust.is_none() => {}
        Ok(at) => {
            let trust = trust.unwrap_or(context.trust);
            let again = verify_value(&record.request, trust, at.with_timezone(&Utc)).report;
            if let (Some(request), Some(chain), Some(action)) = (
                &again.request_digest,
                &again.chain_digest,
                &again.action_digest,
            ) {
                digests = Some((request.clone(), chain.clone(), action.clone()));
            }
            for (name, ours, theirs) in [
                ("request", &again.request_digest, &report.request_digest),
                ("chain", &again.chain_digest, &report.chain_digest),
                ("action", &again.action_digest, &report.action_digest),
            ] {
                if ours != theirs || ours.is_none() {
                    problems.push(format!("the {name} digest does not match the request"));
                }
            }
            for finding in &again.findings {
                let reported = report
                    .findings
                    .iter()
                    .any(|f| f.code == finding.code && f.hop == finding.hop);
                if !reported {
                    problems.push(format!(
                        "re-verification finds {} at hop {:?}, which the report omits",
                        finding.code, finding.hop
                    ));
                }
            }
        }
    }
    if record.request.get("request_id").and_then(Value::as_str) != Some(&record.request_id) {
        problems.push("the request's own id differs from the record's".into());
    }

    // Decisions: signed by an enrolled reviewer, for this audience and exactly this request.
    let subject = match digests {
        Some((request_digest, chain_digest, action_digest)) => Ok(DecisionSubject {
            request_id: record.request_id.clone(),
            txn: record
                .request
                .get("txn")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            request_digest,
            chain_digest,
            action_digest,
        }),
        None => decision_subject(&record.request)
            .map(|mut subject| {
                subject.request_id.clone_from(&record.request_id);
                subject
            })
            .map_err(|e| e.to_string()),
    };
    let mut kinds = Vec::new();
    for (i, jws) in record.decisions.iter().enumerate() {
        match check_decision(jws, subject.as_ref(), context) {
            Ok(kind) => kinds.push(kind),
            Err(why) => problems.push(format!("decision {}: {why}", i + 1)),
        }
    }
    let expected = match record.state {
        RequestState::Approved => Some(DecisionKind::Approve),
        RequestState::Rejected => Some(DecisionKind::Reject),
        _ => None,
    };
    if let Some(expected) = expected
        && kinds.last() != Some(&expected)
    {
        problems.push(format!(
            "the record is {} but its last decision does not say so",
            record.state.as_str()
        ));
    }

    // Audit entries: about this request, naming its digest or one of its decisions.
    let request_digest = report.request_digest.clone().unwrap_or_default();
    let decision_digests: Vec<String> = record
        .decisions
        .iter()
        .map(|jws| sha256_digest(jws.as_bytes()))
        .collect();
    let mut arrival = false;
    // Unreadable entries stay in place as `null`, so `entries` lines up with `record.events`.
    let entries: Vec<Value> = record
        .events
        .iter()
        .map(|event| serde_json::from_str::<Value>(&event.entry).unwrap_or(Value::Null))
        .collect();
    for (event, entry) in record.events.iter().zip(&entries) {
        if entry.is_null() {
            problems.push(format!("entry {} is not JSON", event.index));
            continue;
        }
        if entry.get("request_id").and_then(Value::as_str) != Some(&record.request_id) {
            problems.push(format!("entry {} is about another request", event.index));
        }
        match entry.get("subject_digest").and_then(Value::as_str) {
            Some(subject) if subject == request_digest => arrival = true,
            Some(subject) if decision_digests.iter().any(|d| d == subject) => {}
            Some(_) => problems.push(format!(
                "entry {} names something that is not in this record",
                event.index
            )),
            None => {}
        }
    }
    if !arrival {
        problems.push("no audit entry records the arrival of this exact request".into());
    }

    // What the record says must be what its proven entries say: a row changed behind the
    // gateway's back, then exported and signed, is caught here.
    for (i, digest) in decision_digests.iter().enumerate() {
        let named = entries
            .iter()
            .any(|e| e.get("subject_digest").and_then(Value::as_str) == Some(digest.as_str()));
        if !named {
            problems.push(format!("decision {} is named by no audit entry", i + 1));
        }
    }
    let last_state = record
        .events
        .iter()
        .zip(&entries)
        .max_by_key(|(event, _)| event.index)
        .and_then(|(_, entry)| entry.get("state").and_then(Value::as_str));
    if let Some(logged) = last_state
        && logged != record.state.as_str()
    {
        problems.push(format!(
            "the record says {} but its last audit entry says {logged}",
            record.state.as_str()
        ));
    }
    let own_tier = record
        .request
        .pointer("/action/impact/tier")
        .and_then(Value::as_str);
    if own_tier != Some(record.tier.as_str()) {
        problems.push(format!(
            "the record's tier is {} but the request says {}",
            record.tier.as_str(),
            own_tier.unwrap_or("nothing")
        ));
    }
}

fn check_decision(
    jws: &str,
    subject: Result<&DecisionSubject, &String>,
    context: &Context<'_>,
) -> Result<DecisionKind, String> {
    // Any key of the bundle's trust store may have signed it; whose it is decides `iss`.
    let keys = context.trust.parties().flat_map(|party| party.keys.iter());
    let verified =
        verify_typed::<DecisionClaims>(jws, DECISION_TYP, keys).map_err(|e| match e {
            TypedJwsError::Unverified => {
                "it is not signed by a key in keys/identities.json that verifies it".to_owned()
            }
            other => other.to_string(),
        })?;
    let claims = verified.claims;
    let owner = context
        .trust
        .owner_of(&verified.kid)
        .ok_or("signed by a key that is not in keys/identities.json")?;
    if claims.iss != owner {
        return Err(format!(
            "issued by {} but signed with {owner}'s key",
            claims.iss
        ));
    }
    if let Some(enrolled) = context.enrolled
        && !enrolled
            .get(owner)
            .is_some_and(|kids| kids.contains(&verified.kid))
    {
        return Err(format!(
            "signed with a key of {owner} whose enrolment is not a proven audit entry"
        ));
    }
    if claims.aud != context.audience {
        return Err(format!("for audience {:?}", claims.aud));
    }
    let unbound = claims.unbound(subject.map_err(Clone::clone)?);
    if !unbound.is_empty() {
        return Err(format!(
            "it decides another request ({} differ)",
            unbound.join(", ")
        ));
    }
    Ok(claims.decision)
}
