//! The `countersign` binary as a workflow developer or auditor uses it.

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

const AT: &str = "2026-11-22T09:00:00Z";

fn countersign(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args(args)
        .output()
        .expect("run countersign")
}

fn stdout_json(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn demo_requests_verify_with_the_findings_and_exit_codes_of_the_index() {
    let dir = tempfile::tempdir().unwrap();
    let out = countersign(&[
        "demo-requests",
        path(dir.path()),
        "--at",
        AT,
        "--run-id",
        "cli",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index: Value =
        serde_json::from_slice(&fs::read(dir.path().join("index.json")).unwrap()).unwrap();
    let scenarios = index["scenarios"].as_array().unwrap();
    assert_eq!(scenarios.len(), 7);
    let trust = dir.path().join("trust.json");
    for scenario in scenarios {
        let file = dir.path().join(scenario["file"].as_str().unwrap());
        let out = countersign(&["verify", path(&file), "--trust", path(&trust), "--at", AT]);
        let report = stdout_json(&out);
        let got: Vec<Value> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| json!({"code": f["code"], "hop": f["hop"]}))
            .collect();
        assert_eq!(
            &Value::Array(got),
            &scenario["expected_findings"],
            "{}",
            scenario["slug"]
        );
        let has_error = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "error");
        assert_eq!(
            out.status.code(),
            Some(if has_error { 1 } else { 0 }),
            "{}",
            scenario["slug"]
        );
        assert_eq!(
            report["verdict"],
            if has_error { "invalid" } else { "valid" }
        );
        for key in ["request_digest", "chain_digest", "action_digest"] {
            assert!(
                report[key].as_str().unwrap().starts_with("sha256:"),
                "{key}"
            );
        }
    }
}

#[test]
fn verify_result_depends_on_at() {
    let dir = tempfile::tempdir().unwrap();
    countersign(&["demo-requests", path(dir.path()), "--at", AT]);
    let file = dir.path().join("02-supplier-payment.json");
    let trust = dir.path().join("trust.json");
    let later = countersign(&[
        "verify",
        path(&file),
        "--trust",
        path(&trust),
        "--at",
        "2026-11-23T09:00:00Z",
    ]);
    assert_eq!(later.status.code(), Some(1));
    let report = stdout_json(&later);
    assert!(
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["code"] == "EXPIRED")
    );
}

#[test]
fn unreadable_or_invalid_input_exits_2_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    countersign(&["demo-requests", path(dir.path()), "--at", AT]);
    let trust = dir.path().join("trust.json");
    let request = dir.path().join("01-refund-exception.json");
    let garbage = dir.path().join("garbage.json");
    fs::write(&garbage, "{ not json").unwrap();
    let bad_trust = dir.path().join("bad-trust.json");
    fs::write(&bad_trust, r#"{"parties": {"a": {"kind": "agent", "display_name": "A", "keys": [{"kty": "OKP", "crv": "Ed25519", "x": "AAAA"}]}}}"#).unwrap();

    for (args, needle) in [
        (
            vec![
                "verify",
                "/nonexistent/request.json",
                "--trust",
                path(&trust),
            ],
            "cannot read request",
        ),
        (
            vec!["verify", path(&garbage), "--trust", path(&trust)],
            "not valid JSON",
        ),
        (
            vec!["verify", path(&request), "--trust", path(&garbage)],
            "trust store",
        ),
        (
            vec!["verify", path(&request), "--trust", path(&bad_trust)],
            "3 bytes; an Ed25519 public key has 32",
        ),
        (
            vec![
                "verify",
                path(&request),
                "--trust",
                path(&trust),
                "--at",
                "yesterday",
            ],
            "RFC 3339",
        ),
        (vec!["verify", path(&request)], "--trust"),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ] {
        let out = countersign(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    }
}

#[test]
fn keygen_writes_an_owner_only_key_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("reviewer.pem");
    let out = countersign(&["keygen", "--out", path(&key)]);
    assert!(out.status.success());
    let printed = stdout_json(&out);
    assert_eq!(printed["jwk"]["kty"], "OKP");
    assert_eq!(printed["jwk"]["crv"], "Ed25519");
    assert_eq!(printed["jwk"]["kid"], printed["thumbprint"]);
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("PRIVATE"),
        "private key leaked to stdout"
    );
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(
        fs::read_to_string(&key)
            .unwrap()
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );

    let again = countersign(&["keygen", "--out", path(&key)]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--force"));
    let forced = countersign(&["keygen", "--out", path(&key), "--force"]);
    assert!(forced.status.success());
    assert_ne!(stdout_json(&forced)["thumbprint"], printed["thumbprint"]);
}

/// The whole workflow-side path with nothing but the CLI: keys, trust store, signed hops
/// linked with --parent, digests, and a request that verifies.
#[test]
fn a_chain_built_with_keygen_sign_hop_and_digest_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    let mut jwks = serde_json::Map::new();
    for who in ["alice", "planner", "payer"] {
        let out = countersign(&["keygen", "--out", path(&d(&format!("{who}.pem")))]);
        jwks.insert(who.into(), stdout_json(&out));
    }
    let trust = json!({"parties": {
        "user:alice": {"kind": "human", "display_name": "Alice", "keys": [jwks["alice"]["jwk"]]},
        "agent:planner": {"kind": "agent", "display_name": "Planner", "keys": [jwks["planner"]["jwk"]]},
        "agent:payer": {"kind": "agent", "display_name": "Payer", "keys": [jwks["payer"]["jwk"]]},
    }});
    fs::write(d("trust.json"), trust.to_string()).unwrap();

    let arguments = json!({"amount": "40.00", "currency": "EUR"});
    fs::write(d("arguments.json"), arguments.to_string()).unwrap();
    let arguments_digest =
        String::from_utf8(countersign(&["digest", "--json", path(&d("arguments.json"))]).stdout)
            .unwrap();
    let purpose = json!({"id": "p", "text": "Pay for lunch"});
    let scope =
        json!([{"type": "pay", "actions": ["send"], "constraints": {"max_amount": "50.00"}}]);
    let hop = |i: u32, iss: &str, sub: &str, who: &str| {
        json!({"iss": iss, "sub": sub, "jti": format!("j{i}"), "iat": 1795338000, "exp": 1795424400,
               "txn": "t1", "principal": "user:alice", "hop": i, "max_depth": 1 - i,
               "cnf": {"jkt": jwks[who]["thumbprint"]}, "authorization_details": scope, "purpose": purpose})
    };
    fs::write(
        d("hop0.json"),
        hop(0, "user:alice", "agent:planner", "planner").to_string(),
    )
    .unwrap();
    fs::write(
        d("hop1.json"),
        hop(1, "agent:planner", "agent:payer", "payer").to_string(),
    )
    .unwrap();
    let out0 = countersign(&[
        "sign-hop",
        "--claims",
        path(&d("hop0.json")),
        "--key",
        path(&d("alice.pem")),
    ]);
    assert!(
        out0.status.success(),
        "{}",
        String::from_utf8_lossy(&out0.stderr)
    );
    fs::write(d("hop0.jws"), &out0.stdout).unwrap();
    let out1 = countersign(&[
        "sign-hop",
        "--claims",
        path(&d("hop1.json")),
        "--key",
        path(&d("planner.pem")),
        "--parent",
        path(&d("hop0.jws")),
    ]);
    assert!(
        out1.status.success(),
        "{}",
        String::from_utf8_lossy(&out1.stderr)
    );

    let request = json!({
        "schema": "countersign.request/v1", "request_id": "r1", "txn": "t1",
        "created_at": AT, "expires_at": "2026-11-22T10:00:00Z", "principal": "user:alice", "purpose": purpose,
        "chain": [String::from_utf8(out0.stdout).unwrap().trim(), String::from_utf8(out1.stdout).unwrap().trim()],
        "action": {"type": "pay", "operation": "send", "resource": "acct:1", "arguments": arguments,
                   "arguments_digest": arguments_digest.trim(), "requested_by": "agent:payer",
                   "impact": {"tier": "high", "reversible": false}, "summary": "Pay 40 EUR"},
        "evidence": [], "uncertainty": {"confidence": 0.9, "method": "rule_based"}
    });
    fs::write(d("request.json"), request.to_string()).unwrap();
    let out = countersign(&[
        "verify",
        path(&d("request.json")),
        "--trust",
        path(&d("trust.json")),
        "--at",
        AT,
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(stdout_json(&out)["findings"], json!([]));

    // Signing hop 1 without --parent leaves it unlinked, and the verifier says so.
    let unlinked = countersign(&[
        "sign-hop",
        "--claims",
        path(&d("hop1.json")),
        "--key",
        path(&d("planner.pem")),
    ]);
    let mut request = request;
    request["chain"][1] = json!(String::from_utf8(unlinked.stdout).unwrap().trim());
    fs::write(d("request.json"), request.to_string()).unwrap();
    let out = countersign(&[
        "verify",
        path(&d("request.json")),
        "--trust",
        path(&d("trust.json")),
        "--at",
        AT,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout_json(&out)["findings"][0]["code"], "BROKEN_LINK");
}

#[test]
fn sign_hop_refuses_claims_that_are_not_a_hop() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    countersign(&["keygen", "--out", path(&key)]);
    let claims = dir.path().join("claims.json");
    fs::write(&claims, r#"{"iss": "a"}"#).unwrap();
    let out = countersign(&["sign-hop", "--claims", path(&claims), "--key", path(&key)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("hop attestation contract"));
    fs::write(&claims, "{}").unwrap();
    let not_a_key = dir.path().join("claims.json");
    let out = countersign(&[
        "sign-hop",
        "--claims",
        path(&claims),
        "--key",
        path(&not_a_key),
    ]);
    assert_eq!(out.status.code(), Some(2));
}

/// Bundles built from real signed records (the bundle crate's own test fixture).
#[path = "../../../bundle/tests/bundle/fixture.rs"]
#[allow(dead_code)]
mod fixture;

#[test]
fn verify_bundle_exits_0_for_a_good_bundle_1_for_a_changed_one_and_2_for_no_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture::Fixture::new(3);
    let bundle = fixture.write(&dir.path().join("bundle")).dir;
    let key = fixture.signer.verifier().to_string();
    let out = countersign(&["verify-bundle", path(&bundle), "--log-key", &key]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = stdout_json(&out);
    assert_eq!(report["ok"], true);
    assert_eq!(report["record_reports"].as_array().unwrap().len(), 3);
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("VERIFIED: 3 records"));

    // One changed character in a reason inside records.jsonl.
    let records = bundle.join("records.jsonl");
    let text = fs::read_to_string(&records).unwrap();
    fs::write(&records, text.replacen("r000001", "r000007", 1)).unwrap();
    let out = countersign(&["verify-bundle", path(&bundle), "--quiet"]);
    assert_eq!(out.status.code(), Some(1));
    let report = stdout_json(&out);
    assert_eq!(report["ok"], false);
    assert!(
        report["problems"]
            .to_string()
            .contains("records.jsonl does not match its digest"),
        "{report}"
    );

    let out = countersign(&["verify-bundle", path(&dir.path().join("missing"))]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_log_key_is_a_key_or_an_explicit_file_and_an_unpinned_check_says_what_it_did_not_prove() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = fixture::Fixture::new(1);
    let bundle = fixture.write(&dir.path().join("bundle")).dir;
    let key = fixture.signer.verifier().to_string();
    let key_file = dir.path().join("log.vkey");
    fs::write(&key_file, format!("{key}\n")).unwrap();

    let pinned = countersign(&["verify-bundle", path(&bundle), "--log-key", &key]);
    assert_eq!(pinned.status.code(), Some(0));
    assert_eq!(stdout_json(&pinned)["log_key_pinned"], true);
    assert!(!String::from_utf8_lossy(&pinned.stderr).contains("WARNING"));

    let from_file = format!("@{}", path(&key_file));
    let by_file = countersign(&["verify-bundle", path(&bundle), "--log-key", &from_file]);
    assert_eq!(
        by_file.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&by_file.stderr)
    );

    // A file named without @ is not guessed at: the error says how to give it.
    let bare = countersign(&["verify-bundle", path(&bundle), "--log-key", path(&key_file)]);
    assert_eq!(bare.status.code(), Some(2));
    let said = String::from_utf8_lossy(&bare.stderr);
    assert!(said.contains("give it as @"), "{said}");
    // A key with one character changed is a bad key, not a missing file.
    let typo = format!("{}x", key);
    let bad = countersign(&["verify-bundle", path(&bundle), "--log-key", &typo]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("not a log key"));

    let unpinned = countersign(&["verify-bundle", path(&bundle)]);
    assert_eq!(unpinned.status.code(), Some(0));
    assert_eq!(stdout_json(&unpinned)["log_key_pinned"], false);
    assert!(
        String::from_utf8_lossy(&unpinned.stderr).contains("NOT that they come from your gateway")
    );
}

/// A `countersign witness serve` on loopback with the given state directory; its URL and key.
fn spawn_witness(
    key: &Path,
    state: &Path,
    log_vkey: &str,
) -> (std::process::Child, String, String) {
    use std::io::BufRead as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_countersign"))
        .args([
            "witness",
            "serve",
            "--name",
            "witness.test/w1",
            "--log",
            log_vkey,
        ])
        .args([
            "--listen",
            "127.0.0.1:0",
            "--key",
            path(key),
            "--state",
            path(state),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.get(2), Some(&"listening"), "{line:?}");
    (child, words[4].to_owned(), words[7].to_owned())
}

#[test]
fn the_witness_speaks_tlog_witness_and_never_cosigns_a_rollback_or_a_fork() {
    use countersign_audit::{
        AddCheckpoint, Checkpoint, NoteSigner, WitnessKey, consistency_proof, leaf_hash, tree_root,
    };
    const ORIGIN: &str = "log.test/audit";
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("witness.pem");
    assert!(
        countersign(&["keygen", "--out", path(&key)])
            .status
            .success()
    );
    let state = dir.path().join("state");
    let log = NoteSigner::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[7; 32])).unwrap();
    let log_vkey = log.verifier().to_string();
    let leaves: Vec<[u8; 32]> = (0..30).map(|i: u32| leaf_hash(&i.to_be_bytes())).collect();
    let mut forked = leaves.clone();
    forked[3] = leaf_hash(b"rewritten");
    let signed = |signer: &NoteSigner, leaves: &[[u8; 32]]| {
        signer
            .sign(
                &Checkpoint::new(signer.name(), leaves.len() as u64, tree_root(leaves))
                    .unwrap()
                    .body(),
            )
            .unwrap()
    };
    let body = |old: usize, all: &[[u8; 32]], new: usize| {
        AddCheckpoint {
            old_size: old as u64,
            proof: consistency_proof(all, old as u64, new as u64).unwrap(),
            checkpoint: signed(&log, &all[..new]),
        }
        .body()
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let post = |url: &str, body: String| {
        runtime.block_on(async {
            let response = reqwest::Client::new()
                .post(format!("{url}/add-checkpoint"))
                .body(body)
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            let kind = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            (status, kind, response.text().await.unwrap())
        })
    };

    let (mut child, url, vkey) = spawn_witness(&key, &state, &log_vkey);
    let printed = countersign(&[
        "witness",
        "key",
        "--key",
        path(&key),
        "--name",
        "witness.test/w1",
    ]);
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), vkey);
    let witness = WitnessKey::parse(&vkey).unwrap();

    let (status, _, line) = post(&url, body(0, &leaves, 10));
    assert_eq!(status, 200, "{line}");
    let cosigned = format!("{}{line}", signed(&log, &leaves[..10]));
    assert!(witness.cosignature_on(&cosigned).unwrap().is_some());
    // A stale old size: 409 with the size held, as text/x.tlog.size.
    let (status, kind, text) = post(&url, body(0, &leaves, 12));
    assert_eq!(
        (status, kind.as_str(), text.as_str()),
        (409, "text/x.tlog.size", "10\n")
    );
    assert_eq!(post(&url, body(10, &leaves, 12)).0, 200);
    // A fork (entry 3 rewritten, signed with the genuine key) and a rollback: never cosigned.
    assert_eq!(post(&url, body(12, &forked, 20)).0, 422);
    let rollback = AddCheckpoint {
        old_size: 12,
        proof: vec![],
        checkpoint: signed(&log, &leaves[..8]),
    };
    assert_eq!(post(&url, rollback.body()).0, 400);
    // Another log, another key, a broken body.
    let stranger = NoteSigner::new(
        "other.test/log",
        ed25519_dalek::SigningKey::from_bytes(&[8; 32]),
    )
    .unwrap();
    let unknown = AddCheckpoint {
        old_size: 0,
        proof: vec![],
        checkpoint: signed(&stranger, &leaves[..3]),
    };
    assert_eq!(post(&url, unknown.body()).0, 404);
    let impostor =
        NoteSigner::new(ORIGIN, ed25519_dalek::SigningKey::from_bytes(&[9; 32])).unwrap();
    let forged = AddCheckpoint {
        old_size: 12,
        proof: consistency_proof(&leaves, 12, 20).unwrap(),
        checkpoint: signed(&impostor, &leaves[..20]),
    };
    assert_eq!(post(&url, forged.body()).0, 403);
    assert_eq!(post(&url, "old 12\n".to_owned()).0, 400);

    // Persisted before answering: a restarted witness still holds 12.
    child.kill().unwrap();
    child.wait().unwrap();
    let (mut child, url, _) = spawn_witness(&key, &state, &log_vkey);
    let (status, _, text) = post(&url, body(0, &leaves, 20));
    assert_eq!((status, text.as_str()), (409, "12\n"));
    assert_eq!(post(&url, body(12, &leaves, 20)).0, 200);
    // The monitoring endpoint serves the latest cosigned checkpoint.
    let hash: String = {
        use sha2::Digest as _;
        sha2::Sha256::digest(ORIGIN.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let latest = runtime.block_on(async {
        reqwest::get(format!("{url}/{hash}/checkpoint"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert_eq!(latest.lines().nth(1), Some("20"), "{latest}");
    assert!(witness.cosignature_on(&latest).unwrap().is_some());
    child.kill().unwrap();
    child.wait().unwrap();
}
