//! What an operator expects of a running gateway: liveness and readiness, draining before a
//! stop, and an online backup that restores.

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use countersign_gateway::audit::{LogChecks, log_verifier, verify_log};
use countersign_gateway::{log_key_path, log_origin};
use countersign_store::Store;
use countersign_testkit::{AUDIENCE, GatewayFiles, TestGateway, http};
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
