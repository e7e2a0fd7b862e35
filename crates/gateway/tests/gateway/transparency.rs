//! The audit log to transparency-log standards: served as c2sp.org/tlog-tiles (read by an
//! independent Python client), cosigned by a real `countersign witness`, and a rollback or a
//! fork re-sealed by an insider with the genuine log key caught by `--since`, by
//! `countersign check-log` and by the witness.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use countersign_audit::{NoteVerifier, WitnessKey, WitnessPolicy};
use countersign_gateway::audit::{AuditLog, LogChecks, log_verifier, verify_log};
use countersign_gateway::{log_key_path, log_origin};
use countersign_store::Store;
use countersign_testkit::{AUDIENCE, TestGateway};
use serde_json::{Value, json};

/// The `countersign` binary, built beside the gateway's by the workspace build.
fn countersign_bin() -> PathBuf {
    let bin = Path::new(env!("CARGO_BIN_EXE_countersign-gateway")).with_file_name("countersign");
    assert!(
        bin.exists(),
        "{} is missing: build the workspace (cargo build -p countersign-cli)",
        bin.display()
    );
    bin
}

/// A `countersign witness serve` process on loopback, killed on drop.
struct Witness {
    child: Child,
    url: String,
    key: String,
    state: PathBuf,
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn witness(dir: &Path, name: &str, log_vkey: &str) -> Witness {
    let key = dir.join(format!("{}.pem", name.replace('/', "_")));
    let out = Command::new(countersign_bin())
        .args(["keygen", "--out"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let state = dir.join(format!("{}-state", name.replace('/', "_")));
    let mut child = Command::new(countersign_bin())
        .args([
            "witness",
            "serve",
            "--name",
            name,
            "--log",
            log_vkey,
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--key")
        .arg(&key)
        .arg("--state")
        .arg(&state)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "witness NAME listening on http://ADDR with key VKEY"
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(words.get(2), Some(&"listening"), "{line:?}");
    Witness {
        url: format!("{}/", words[4]),
        key: words[7].to_owned(),
        child,
        state,
    }
}

async fn text(gw: &TestGateway, path: &str) -> String {
    countersign_testkit::http()
        .get(gw.url(path))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Submits `n` distinct requests (one `request_added` entry each).
async fn submit_many(gw: &TestGateway, n: usize) {
    let base = gw.scenario("refund-exception");
    for i in 0..n {
        let mut body = base.clone();
        body["request_id"] = json!(format!("refund-exception-{i}"));
        let response = gw.submit(&body).await;
        assert!(
            response.status().is_success(),
            "{}",
            response.text().await.unwrap()
        );
    }
}

fn python(script: &str, input: Value) -> tokio::task::JoinHandle<Value> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    tokio::task::spawn_blocking(move || {
        countersign_scenarios::python::run_json(&script, &[], &input)
            .unwrap_or_else(|e| panic!("python failed: {e}"))
    })
}

#[tokio::test]
async fn the_log_is_served_as_tiles_an_independent_client_verifies_with_witness_cosignatures() {
    let mut gw = TestGateway::start().await;
    let log_vkey = text(&gw, "/v1/audit/log-key").await.trim().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let w1 = witness(dir.path(), "witness.test/w1", &log_vkey);
    gw.config.witnesses = vec![format!("{}={}", w1.url, w1.key)];
    gw.restart().await;

    submit_many(&gw, 20).await;
    gw.run_workers().await;
    let kept = text(&gw, "/v1/audit/checkpoint").await;
    // The test gateway's five enrolments come first.
    assert_eq!(kept.lines().nth(1), Some("25"), "{kept}");
    assert!(
        kept.contains("\u{2014} witness.test/w1 "),
        "cosigned: {kept}"
    );
    // Past a full level-0 tile, so level 1 exists.
    submit_many(&gw, 300).await;
    gw.run_workers().await;
    let prefix = gw.url("/v1/audit");
    let out = python(
        "tlog_client.py",
        json!({"prefix": prefix, "log_vkey": log_vkey, "witness_vkeys": [w1.key], "kept": kept}),
    )
    .await
    .unwrap();
    assert_eq!(out["size"], 305, "{out}");
    for check in [
        "root_matches",
        "entries_match",
        "upper_tiles_match",
        "extends_kept",
        "consistency_endpoint_ok",
    ] {
        assert_eq!(out[check], true, "{check}: {out}");
    }
    assert_eq!(out["serves_beyond_checkpoint"], false, "{out}");
    assert_eq!(out["cosigned_by"], json!(["witness.test/w1"]), "{out}");

    // Malformed and future tiles: not found, in the API's envelope.
    for path in [
        "tile/0/1",
        "tile/0/000.p/256",
        "tile/0/x000/001",
        "tile/0/002.p/1",
        "tile/2/000.p/1",
    ] {
        let response = countersign_testkit::http()
            .get(gw.url(&format!("/v1/audit/{path}")))
            .send()
            .await
            .unwrap();
        let (status, body) = countersign_testkit::error_code(response).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
    let response = countersign_testkit::http()
        .get(gw.url("/v1/audit/consistency?old=5&new=9999"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);

    // An export carries the cosigned checkpoint; a bundle verifier with the witness policy
    // accepts it, and one requiring a witness that never cosigned refuses it.
    let stranger = countersign_audit::Cosigner::new(
        "witness.test/stranger",
        ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
    )
    .unwrap()
    .witness_key();
    let w1_key = WitnessKey::parse(&w1.key).unwrap();
    gw.stop().await;
    let store = Store::open(&gw.config.database).await.unwrap();
    let verifier = log_verifier(&log_key_path(&gw.config.key), &log_origin(AUDIENCE)).unwrap();
    let checks = |policy: WitnessPolicy| LogChecks {
        since: Some(kept.clone()),
        witnesses: Some(policy),
    };
    let now = gw.clock_now().into();
    let origin = log_origin(AUDIENCE);
    let good = verify_log(
        &store,
        &verifier,
        &origin,
        now,
        &checks(WitnessPolicy::new(vec![w1_key.clone()], 1).unwrap()),
    )
    .await
    .unwrap();
    assert!(good.problems.is_empty(), "{:?}", good.problems);
    assert_eq!(
        (good.since_size, good.witnessed_by.clone()),
        (Some(25), vec!["witness.test/w1".to_owned()])
    );
    let strict = verify_log(
        &store,
        &verifier,
        &origin,
        now,
        &checks(WitnessPolicy::new(vec![w1_key, stranger], 2).unwrap()),
    )
    .await
    .unwrap();
    assert!(
        strict
            .problems
            .iter()
            .any(|p| p.contains("1 of the required 2")),
        "{:?}",
        strict.problems
    );
}

/// A copy of the stopped gateway's database with `sql` applied and the whole log re-sealed
/// with the genuine log key: what an insider holding the database and the key can make.
async fn resealed(gw: &TestGateway, dir: &Path, sql: &str) -> PathBuf {
    let copy = dir.join(format!("copy-{}.db", uuid::Uuid::new_v4()));
    for suffix in ["", "-wal", "-shm"] {
        let from = format!("{}{suffix}", gw.config.database.display());
        if Path::new(&from).exists() {
            std::fs::copy(&from, format!("{}{suffix}", copy.display())).unwrap();
        }
    }
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&copy);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    for statement in sql.split(';').filter(|s| !s.trim().is_empty()) {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    for table in [
        "audit_cosignatures",
        "audit_witnesses",
        "audit_checkpoints",
        "audit_entries",
    ] {
        sqlx::query(&format!("DELETE FROM {table}"))
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let store = Store::open(&copy).await.unwrap();
    let log = AuditLog::open(&store, &log_key_path(&gw.config.key), &log_origin(AUDIENCE))
        .await
        .unwrap();
    while log.seal(&store, gw.clock_now().into()).await.unwrap() > 0 {}
    copy
}

async fn log_problems(
    db: &Path,
    verifier: &NoteVerifier,
    gw: &TestGateway,
    since: Option<&str>,
) -> Vec<String> {
    let store = Store::open(db).await.unwrap();
    let checks = LogChecks {
        since: since.map(str::to_owned),
        witnesses: None,
    };
    verify_log(
        &store,
        verifier,
        &log_origin(AUDIENCE),
        gw.clock_now().into(),
        &checks,
    )
    .await
    .unwrap()
    .problems
}

fn bundle_from(gw: &TestGateway, db: &Path, out: &Path) {
    let status = Command::new(env!("CARGO_BIN_EXE_countersign-gateway"))
        .args(["export", "--format", "bundle", "--audience", AUDIENCE])
        .arg("--out")
        .arg(out)
        .arg("--database")
        .arg(db)
        .arg("--trust")
        .arg(&gw.config.trust)
        .arg("--key")
        .arg(&gw.config.key)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

#[tokio::test]
async fn a_rollback_or_a_fork_resealed_with_the_genuine_key_is_caught_by_since_and_by_a_witness() {
    let mut gw = TestGateway::start().await;
    let log_vkey = text(&gw, "/v1/audit/log-key").await.trim().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let w1 = witness(dir.path(), "witness.test/w1", &log_vkey);
    gw.config.witnesses = vec![format!("{}={}", w1.url, w1.key)];
    gw.restart().await;
    submit_many(&gw, 6).await;
    let (status, _) = gw
        .decide_as(
            &gw.reviewer,
            "refund-exception-0",
            countersign_wire::DecisionKind::Approve,
            "checked",
        )
        .await;
    assert!((200..300).contains(&status), "{status}");
    gw.run_workers().await;
    // The auditor's client remembers this checkpoint (5 enrolments, 7 request entries).
    let state = dir.path().join("auditor/checkpoint");
    // Run off the runtime's thread: the gateway it calls is served by this runtime.
    let check_log = |gw: &TestGateway| {
        let mut command = Command::new(countersign_bin());
        command
            .args([
                "check-log",
                "--gateway",
                &gw.url(""),
                "--log-key",
                &log_vkey,
            ])
            .arg("--state")
            .arg(&state)
            .args(["--witness", &w1.key]);
        tokio::task::spawn_blocking(move || command.output().unwrap())
    };
    let first = check_log(&gw).await.unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stdout)
    );
    let kept = std::fs::read_to_string(&state).unwrap();
    assert_eq!(kept.lines().nth(1), Some("12"), "{kept}");
    gw.stop().await;
    let verifier = log_verifier(&log_key_path(&gw.config.key), &log_origin(AUDIENCE)).unwrap();

    // A fork: the decision's actor rewritten, everything re-sealed under the genuine key.
    let fork = resealed(
        &gw,
        dir.path(),
        "UPDATE events SET actor = 'user:mallory' WHERE kind = 'request_decided'",
    )
    .await;
    // A rollback: the decision and its event dropped, the request made pending again.
    let rollback = resealed(
        &gw,
        dir.path(),
        "DELETE FROM decisions; DELETE FROM events WHERE kind = 'request_decided'; \
         UPDATE requests SET state = 'pending' WHERE request_id = 'refund-exception-0'",
    )
    .await;
    for (db, caught) in [(&fork, "a fork"), (&rollback, "rolled back")] {
        // Without the kept checkpoint the re-sealed log is self-consistent: this is the
        // attack the kept checkpoint and the witnesses exist for.
        assert_eq!(
            log_problems(db, &verifier, &gw, None).await,
            Vec::<String>::new(),
            "{caught}"
        );
        let found = log_problems(db, &verifier, &gw, Some(&kept)).await;
        assert!(
            found.iter().any(|p| p.contains(caught)),
            "{caught}: {found:?}"
        );

        // The same through a bundle exported from the altered database.
        let out = dir
            .path()
            .join(format!("bundle-{}", caught.replace(' ', "-")));
        bundle_from(&gw, db, &out);
        let report = countersign_bundle::verify_bundle_with(
            &out,
            &countersign_bundle::BundleChecks {
                pinned_log_key: Some(&verifier),
                since: Some(&kept),
                witnesses: None,
            },
        )
        .unwrap();
        assert!(
            !report.ok && report.problems.iter().any(|p| p.contains(caught)),
            "{caught}: {:?}",
            report.problems
        );
        // Without --since the bundle verifies: it is signed with the genuine key.
        assert!(
            countersign_bundle::verify_bundle(&out, Some(&verifier))
                .unwrap()
                .ok,
            "{caught}"
        );
    }
    // The genuine log's own bundle extends the kept checkpoint.
    let genuine = dir.path().join("bundle-genuine");
    bundle_from(&gw, &gw.config.database, &genuine);
    let policy = WitnessPolicy::new(vec![WitnessKey::parse(&w1.key).unwrap()], 1).unwrap();
    let report = countersign_bundle::verify_bundle_with(
        &genuine,
        &countersign_bundle::BundleChecks {
            pinned_log_key: Some(&verifier),
            since: Some(&kept),
            witnesses: Some(&policy),
        },
    )
    .unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(
        (report.since_size, report.witnessed_by.clone()),
        (Some(12), vec!["witness.test/w1".to_owned()])
    );

    // Served by a gateway, the forked log: the witness refuses to cosign it (422), and the
    // auditor's client fails and keeps its checkpoint.
    let genuine_db = gw.config.database.clone();
    for db in [&fork, &rollback] {
        gw.config.database = db.clone();
        gw.restart().await;
        gw.run_workers().await;
        let note = text(&gw, "/v1/audit/checkpoint").await;
        assert!(
            !note.contains("witness.test/w1"),
            "the witness cosigned a rewritten log: {note}"
        );
        let run = check_log(&gw).await.unwrap();
        assert_eq!(
            run.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&run.stdout)
        );
        assert_eq!(
            std::fs::read_to_string(&state).unwrap(),
            kept,
            "the kept checkpoint stays"
        );
        gw.stop().await;
    }
    // The witness's own state never moved off the genuine log.
    let held: Vec<_> = std::fs::read_dir(&w1.state).unwrap().collect();
    assert_eq!(held.len(), 1);
    let held = std::fs::read_to_string(held[0].as_ref().unwrap().path()).unwrap();
    assert_eq!(held.lines().nth(1), Some("12"), "{held}");
    gw.config.database = genuine_db;
}
