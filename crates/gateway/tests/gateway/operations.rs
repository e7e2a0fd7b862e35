//! What an operator expects of a running gateway: liveness and readiness, draining before a
//! stop, an online backup that restores, HTTPS served with a certificate of its own, and the
//! review policy reloaded on SIGHUP.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use countersign_chain::SigningKeyPair;
use countersign_client::ConsoleIdentity;
use countersign_gateway::audit::{LogChecks, log_verifier, verify_log};
use countersign_gateway::{log_key_path, log_origin};
use countersign_store::Store;
use countersign_testkit::{
    ALL_TIERS, AUDIENCE, GatewayFiles, TestGateway, WORKFLOW_TOKEN, add_workflow, enrol, http,
};
use countersign_wire::{Role, Timestamp};
use serde_json::Value;

async fn probe(url: &str) -> (u16, String) {
    let response = http().get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn readiness_says_what_is_wrong_and_draining_takes_the_gateway_out_of_rotation_only() {
    let gw = TestGateway::start().await;
    let (status, body) = probe(&gw.url("/healthz")).await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, body) = probe(&gw.url("/readyz")).await;
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(ready["ready"], true);
    assert_eq!(ready["database"], "ok");
    assert_eq!(ready["migrations_applied"], ready["migrations_known"]);
    assert_eq!(ready["workers_stopped"], 0);

    gw.gateway.as_ref().unwrap().drain();
    let (status, body) = probe(&gw.url("/readyz")).await;
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (status, ready["draining"].clone(), ready["ready"].clone()),
        (503, Value::Bool(true), Value::Bool(false))
    );
    // Still alive, and still serving work already routed to it.
    assert_eq!(probe(&gw.url("/healthz")).await.0, 200);
    let response = gw.submit(&gw.scenario("refund-exception")).await;
    assert!(response.status().is_success());
}

#[tokio::test]
async fn an_online_backup_restores_to_a_gateway_with_everything_and_an_intact_log() {
    let mut gw = TestGateway::start().await;
    gw.submit(&gw.scenario("refund-exception")).await;
    let (status, _) = gw
        .decide_as(
            &gw.reviewer,
            "refund-exception-t",
            countersign_wire::DecisionKind::Approve,
            "ok by policy",
        )
        .await;
    assert!((200..300).contains(&status));
    gw.run_workers().await;
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("backup.db");
    // While the gateway runs.
    let backup = |out: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_countersign-gateway"))
            .args(["backup", "--out"])
            .arg(out)
            .arg("--database")
            .arg(&gw.config.database)
            .output()
            .unwrap()
    };
    let out = backup(&copy);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Never over an existing file.
    let again = backup(&copy);
    assert_eq!(
        again.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));

    // Restore: the gateway started on the copy has the request, decided, and its log checks.
    gw.stop().await;
    let verifier = log_verifier(&log_key_path(&gw.config.key), &log_origin(AUDIENCE)).unwrap();
    let store = Store::open(&copy).await.unwrap();
    let report = verify_log(
        &store,
        &verifier,
        &log_origin(AUDIENCE),
        gw.clock_now().into(),
        &LogChecks::default(),
    )
    .await
    .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    drop(store);
    gw.config.database = copy;
    gw.restart().await;
    let record = gw.record("refund-exception-t").await;
    assert_eq!(record.state.as_str(), "approved");
}

#[tokio::test]
async fn sigterm_drains_first_then_stops() {
    let demo = countersign_scenarios::demo::demo(countersign_testkit::t0(), "t");
    let files = GatewayFiles::new(
        &demo.trust_store(),
        None,
        AUDIENCE,
        "127.0.0.1:0".parse().unwrap(),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_countersign-gateway"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--audience",
            AUDIENCE,
            "--drain-seconds",
            "2",
        ])
        .arg("--database")
        .arg(&files.config.database)
        .arg("--trust")
        .arg(&files.config.trust)
        .arg("--key")
        .arg(&files.config.key)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let addr = loop {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the gateway stopped before listening"
        );
        if let Some(rest) = line.split("addr=").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let base = format!("http://{addr}");
    assert_eq!(probe(&format!("{base}/readyz")).await.0, 200);
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // Out of rotation at once, still alive while it drains.
    let started = Instant::now();
    let mut drained = false;
    while started.elapsed() < Duration::from_millis(1500) {
        let (ready, _) = probe(&format!("{base}/readyz")).await;
        if ready == 503 {
            assert_eq!(probe(&format!("{base}/healthz")).await.0, 200);
            drained = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(drained, "readiness did not turn 503 on SIGTERM");
    // Then it stops by itself, cleanly.
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the gateway did not stop"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "{status:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(1900),
        "it waited out the drain"
    );
}

#[tokio::test]
async fn prometheus_metrics_are_served_apart_from_the_api() {
    let mut gw = TestGateway::start().await;
    gw.config.metrics_listen = Some("127.0.0.1:0".parse().unwrap());
    gw.restart().await;
    let metrics_addr = gw
        .gateway
        .as_ref()
        .unwrap()
        .metrics_addr
        .expect("a metrics address");
    assert_ne!(metrics_addr, gw.gateway.as_ref().unwrap().addr);
    // Not on the API's address.
    assert_eq!(probe(&gw.url("/metrics")).await.0, 404);

    assert!(
        gw.submit(&gw.scenario("refund-exception"))
            .await
            .status()
            .is_success()
    );
    assert!(
        gw.submit(&gw.scenario("supplier-payment"))
            .await
            .status()
            .is_success()
    );
    // A console subscribed to events, held open while scraping.
    let sse = http()
        .get(gw.url("/v1/events"))
        .bearer_auth(gw.reviewer.token())
        .send()
        .await
        .unwrap();
    assert_eq!(sse.status().as_u16(), 200);
    let (status, text) = probe(&format!("http://{metrics_addr}/metrics")).await;
    assert_eq!(status, 200);
    let value = |series: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(series))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {series} in:\n{text}"))
    };
    // Both submissions counted under their route and a 2xx code, whichever 2xx it was. The
    // recorder is the process's (as a metrics recorder always is), so other tests' gateways in
    // this binary may have added to it: at least ours.
    let submitted: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with(
                "countersign_http_requests_total{route=\"/v1/requests\",method=\"POST\",code=\"2",
            )
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(submitted >= 2.0, "{text}");
    assert!(
        text.contains("countersign_http_request_duration_seconds"),
        "{text}"
    );
    // The queue by state and tier, an emptied combination at 0.
    let queued: f64 = ["pending", "escalated"]
        .iter()
        .flat_map(|s| ["low", "medium", "high", "critical"].map(move |t| (s, t)))
        .map(|(s, t)| {
            value(&format!(
                "countersign_queue_depth{{state=\"{s}\",tier=\"{t}\"}}"
            ))
        })
        .sum();
    assert_eq!(queued, 2.0, "{text}");
    assert!(value("countersign_sse_subscribers") >= 1.0);
    for series in [
        "countersign_outbox_pending",
        "countersign_audit_unsealed_events",
        "countersign_audit_seal_lag_seconds",
    ] {
        value(series);
    }
    drop(sse);
}

/// The real binary, serving, with its log lines as they come (read on a thread of their own).
struct Served {
    child: Child,
    lines: mpsc::Receiver<String>,
    /// Every line read so far, to show when something is missing.
    seen: Vec<String>,
    /// Where it listens (`127.0.0.1:PORT`).
    addr: String,
}

/// `countersign-gateway serve` on the files of `files`, on a port of its own, with `args`.
fn serve_command(files: &GatewayFiles, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_countersign-gateway"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--audience", AUDIENCE])
        .arg("--database")
        .arg(&files.config.database)
        .arg("--trust")
        .arg(&files.config.trust)
        .arg("--key")
        .arg(&files.config.key)
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

impl Served {
    /// Starts the gateway and waits for its `gateway listening` line.
    fn start(files: &GatewayFiles, args: &[&str]) -> Served {
        let mut child = serve_command(files, args).spawn().unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let mut served = Served {
            child,
            lines,
            seen: Vec::new(),
            addr: String::new(),
        };
        let line = served.wait_for_line("gateway listening");
        // Text logs say `addr=…`; JSON logs carry it as a field.
        served.addr = match serde_json::from_str::<Value>(&line) {
            Ok(json) => json
                .pointer("/fields/addr")
                .and_then(Value::as_str)
                .unwrap_or_else(|| panic!("no addr in {line}"))
                .to_owned(),
            Err(_) => line
                .split("addr=")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .unwrap()
                .to_owned(),
        };
        served
    }

    /// The next log line containing `needle`, within 20 seconds.
    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no log line with {needle:?} ({e}); the gateway said:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        assert!(
            Command::new("kill")
                .args([signal, &pid])
                .status()
                .unwrap()
                .success()
        );
    }

    /// Waits for the process to exit by itself, within `within`.
    async fn exit_status(&mut self, within: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the gateway did not stop");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // A test that failed halfway leaves no gateway behind.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `serve` expecting it not to start: its exit code and what it wrote on stderr.
async fn refused_start(mut command: Command) -> (Option<i32>, String) {
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the gateway started (or hung) where it should have refused to");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.code(), stderr)
}

/// A demo cast's gateway files with the `demo` workflow and a reviewer enrolled (on the real
/// clock, as the binary runs on it).
async fn files_with_people(policy: Option<&str>) -> (GatewayFiles, ConsoleIdentity) {
    let demo = countersign_scenarios::demo::demo(countersign_testkit::t0(), "t");
    let files = GatewayFiles::new(
        &demo.trust_store(),
        policy,
        AUDIENCE,
        "127.0.0.1:0".parse().unwrap(),
    );
    let reviewer = ConsoleIdentity::new(
        "user:rita.reviewer",
        SigningKeyPair::from_seed([1; 32]),
        AUDIENCE,
    );
    let store = files.store().await;
    let at = Timestamp::from(countersign_testkit::t0());
    add_workflow(&store, "demo", WORKFLOW_TOKEN, at).await;
    enrol(
        &store,
        &reviewer,
        "Rita Reviewer",
        &[Role::Reviewer],
        &ALL_TIERS,
        at,
    )
    .await;
    drop(store);
    (files, reviewer)
}

/// A demo scenario's request, with ids of its own (`run`).
fn scenario(slug: &str, run: &str) -> Value {
    countersign_scenarios::demo::demo(countersign_testkit::t0(), run)
        .scenarios
        .into_iter()
        .find(|s| s.slug == slug)
        .unwrap()
        .request
}

/// Reads an event stream until a chunk has brought `needle`, within 20 seconds; everything
/// read so far.
async fn read_stream_until(stream: &mut reqwest::Response, needle: &str) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let mut text = String::new();
    while !text.contains(needle) {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk())
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} on the stream; it brought:\n{text}"))
            .unwrap()
            .unwrap_or_else(|| panic!("the stream ended before {needle:?}; it brought:\n{text}"));
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    text
}

/// A self-signed certificate for 127.0.0.1 and localhost, written as PEM files in `dir`:
/// (certificate PEM, certificate path, key path).
fn self_signed(dir: &std::path::Path, name: &str) -> (String, PathBuf, PathBuf) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let pem = certified.cert.pem();
    let (cert, key) = (
        dir.join(format!("{name}.crt")),
        dir.join(format!("{name}.key")),
    );
    std::fs::write(&cert, &pem).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (pem, cert, key)
}

#[tokio::test]
async fn tls_serves_https_with_its_certificate_only_and_drains_then_stops_as_http_does() {
    let (files, reviewer) = files_with_people(None).await;
    let (pem, cert, key) = self_signed(files.dir.path(), "gateway");
    let mut served = Served::start(
        &files,
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
            "--drain-seconds",
            "0",
        ],
    );
    let listening = served.seen.last().unwrap().clone();
    assert!(listening.contains("tls=true"), "{listening}");
    let base = format!("https://{}", served.addr);
    // A client that trusts exactly this certificate, and nothing else.
    let client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();

    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(health.text().await.unwrap(), "ok\n");
    let submitted = client
        .post(format!("{base}/v1/requests"))
        .bearer_auth(WORKFLOW_TOKEN)
        .json(&scenario("refund-exception", "tls"))
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status().as_u16(), 201);
    let submitted: Value = submitted.json().await.unwrap();
    assert_eq!(
        (
            submitted["request_id"].as_str(),
            submitted["state"].as_str()
        ),
        (Some("refund-exception-tls"), Some("pending"))
    );
    // With no --public-url on loopback, the card names the https address.
    let card = client
        .get(format!("{base}/.well-known/agent-card.json"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(card.contains(&format!("{base}/")), "{card}");
    assert!(!card.contains(&format!("http://{}", served.addr)), "{card}");

    // Plain HTTP to the TLS port gets no answer, nor does a client without the certificate.
    let plain = http()
        .get(format!("http://{}/healthz", served.addr))
        .send()
        .await;
    assert!(plain.is_err(), "{plain:?}");
    let untrusting = http().get(format!("{base}/healthz")).send().await;
    assert!(untrusting.is_err(), "{untrusting:?}");
    // Neither attempt disturbed it.
    let health = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);

    // A stream held open over TLS ends on SIGTERM, and the gateway stops cleanly.
    let mut events = client
        .get(format!("{base}/v1/events"))
        .bearer_auth(reviewer.token())
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);
    read_stream_until(&mut events, "refund-exception-tls").await;
    served.signal("-TERM");
    let ended = tokio::time::timeout(Duration::from_secs(20), async {
        while events.chunk().await.ok().flatten().is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the event stream outlived the stop");
    let status = served.exit_status(Duration::from_secs(20)).await;
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn a_certificate_or_key_that_does_not_load_stops_the_start_naming_the_file() {
    let (files, _) = files_with_people(None).await;
    let dir = files.dir.path();
    let (_, cert, _) = self_signed(dir, "one");
    let (_, _, other_key) = self_signed(dir, "other");
    let expect_refused = |stderr: &str, names: &std::path::Path, says: &str| {
        assert!(
            stderr.contains(&names.display().to_string()) && stderr.contains(says),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    };

    // Another certificate's key, through the config file's tls_cert and tls_key.
    let config = dir.join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "tls_cert = {:?}\ntls_key = {:?}\n",
            cert.display().to_string(),
            other_key.display().to_string()
        ),
    )
    .unwrap();
    let mut command = serve_command(&files, &[]);
    command.arg("--config").arg(&config);
    let (code, stderr) = refused_start(command).await;
    assert_eq!(code, Some(2), "{stderr}");
    expect_refused(&stderr, &other_key, "is not the key of the certificate");

    // Through the flags: a key file that is not there, a key file with no key in it, and a
    // certificate file with no certificate; each named with what is wrong with it.
    let missing = dir.join("missing.key");
    for (cert_file, key_file, named, says) in [
        (&cert, &missing, &missing, "cannot read TLS key"),
        (&cert, &cert, &cert, "no PEM private key"),
        (&other_key, &other_key, &other_key, "no PEM CERTIFICATE"),
    ] {
        let (code, stderr) = refused_start(serve_command(
            &files,
            &[
                "--tls-cert",
                cert_file.to_str().unwrap(),
                "--tls-key",
                key_file.to_str().unwrap(),
            ],
        ))
        .await;
        assert_eq!(code, Some(2), "{stderr}");
        expect_refused(&stderr, named, says);
    }

    // A certificate without a key (through the environment) is not plain HTTP by surprise.
    let mut command = serve_command(&files, &[]);
    command.env("COUNTERSIGN_TLS_CERT", &cert);
    let (code, stderr) = refused_start(command).await;
    assert_eq!(code, Some(2), "{stderr}");
    expect_refused(&stderr, &cert, "without its key");
}

/// A policy under which the treasury summary (medium tier, an over-provisioned scope) goes to
/// reviewers, and one under which that finding blocks them: it goes to supervisors.
const LENIENT: &str = "id = \"ops-review\"\nversion = \"1\"\n";
const STRICT: &str = r#"
id = "ops-review"
version = "2"

[tiers.medium]
blocking = ["SCOPE_OVER_PROVISIONED"]
"#;

#[tokio::test]
async fn sighup_reloads_the_review_policy_for_the_next_request_keeping_streams_open() {
    let (files, reviewer) = files_with_people(Some(LENIENT)).await;
    let policy = files.config.policy.clone().unwrap();
    let mut served = Served::start(&files, &["--policy", policy.to_str().unwrap()]);
    let base = format!("http://{}", served.addr);
    let submit = |run: &'static str| {
        let url = format!("{base}/v1/requests");
        async move {
            let response = http()
                .post(url)
                .bearer_auth(WORKFLOW_TOKEN)
                .json(&scenario("treasury-summary", run))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 201);
            let body: Value = response.json().await.unwrap();
            body["state"].as_str().unwrap().to_owned()
        }
    };
    let policy_named_by = |id: &'static str| {
        let (url, token) = (format!("{base}/v1/requests/{id}"), reviewer.token());
        async move {
            let record: Value = http()
                .get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            record["policy"]["version"].as_str().unwrap().to_owned()
        }
    };
    assert_eq!(submit("before").await, "pending");
    assert_eq!(policy_named_by("treasury-summary-before").await, "1");
    // A console subscribed before the reload.
    let mut events = http()
        .get(format!("{base}/v1/events"))
        .bearer_auth(reviewer.token())
        .send()
        .await
        .unwrap();
    assert_eq!(events.status().as_u16(), 200);
    read_stream_until(&mut events, "treasury-summary-before").await;

    std::fs::write(&policy, STRICT).unwrap();
    served.signal("-HUP");
    let reloaded = served.wait_for_line("review policy reloaded");
    assert!(reloaded.contains("ops-review v2"), "{reloaded}");
    // The next request is routed by the new policy, and the open stream tells of it.
    assert_eq!(submit("after").await, "escalated");
    assert_eq!(policy_named_by("treasury-summary-after").await, "2");
    let seen = read_stream_until(&mut events, "treasury-summary-after").await;
    assert!(seen.contains("event: request_escalated"), "{seen}");

    // A broken file is logged, naming it, and the policy in force stays.
    std::fs::write(
        &policy,
        "id = \"ops-review\"\nversion = \"3\"\napprovals = 2\n",
    )
    .unwrap();
    served.signal("-HUP");
    let refused = served.wait_for_line("review policy not reloaded");
    assert!(refused.contains(&policy.display().to_string()), "{refused}");
    assert_eq!(submit("broken").await, "escalated");
    assert_eq!(policy_named_by("treasury-summary-broken").await, "2");
    read_stream_until(&mut events, "treasury-summary-broken").await;
    // Still serving the same process.
    assert!(served.child.try_wait().unwrap().is_none());
}

/// The files in `deploy/`, from the workspace.
fn deploy_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(name)
}

#[tokio::test]
async fn the_example_config_starts_a_gateway_and_the_systemd_units_verify() {
    // The example configuration as shipped: only what cannot be on this machine (paths under
    // /var and /etc, fixed ports) is overridden by flags, which win over the file.
    let (files, _) = files_with_people(None).await;
    let mut served = Served::start(
        &files,
        &[
            "--config",
            deploy_file("gateway.toml").to_str().unwrap(),
            "--metrics-listen",
            "127.0.0.1:0",
        ],
    );
    let ready = http()
        .get(format!("http://{}/readyz", served.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    // Its public URL and JSON logs came from the file.
    let card: Value = http()
        .get(format!(
            "http://{}/.well-known/agent-card.json",
            served.addr
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        card.to_string().contains("https://approvals.example.com/"),
        "{card}"
    );
    assert!(
        served.seen.iter().any(|line| line.starts_with('{')),
        "JSON logs: {:?}",
        served.seen
    );
    served.signal("-TERM");
    assert!(served.exit_status(Duration::from_secs(20)).await.success());

    // The units, pointing at this build of the binary, pass systemd's own checks.
    let units = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for name in [
        "countersign-gateway.service",
        "countersign-gateway-backup.service",
        "countersign-gateway-backup.timer",
    ] {
        let text = std::fs::read_to_string(deploy_file(name)).unwrap().replace(
            "/usr/local/bin/countersign-gateway",
            env!("CARGO_BIN_EXE_countersign-gateway"),
        );
        let path = units.path().join(name);
        std::fs::write(&path, text).unwrap();
        paths.push(path);
    }
    let verified = Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .output()
        .expect("systemd-analyze (systemd, installed by scripts/setup.sh)");
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(
        verified.status.success() && said.trim().is_empty(),
        "{said}"
    );
}
