//! The real desktop console, built with the UI embedded, driven through tauri-driver.
//!
//! Each test starts its own app with a fresh data directory, so the embedded demo fills the
//! queue with the brief's scenarios. Run through `scripts/e2e.sh` (Xvfb, D-Bus, dunst).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn console_binary() -> PathBuf {
    let path = std::env::var_os("COUNTERSIGN_CONSOLE_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace().join("target"));
            target.join("debug/countersign-console")
        });
    assert!(
        path.exists(),
        "{} is missing: run scripts/e2e.sh, which builds the console with the UI embedded",
        path.display()
    );
    path
}

/// One app instance: tauri-driver, the app it launches, and a WebDriver session.
struct App {
    driver: Child,
    client: Client,
    data: tempfile::TempDir,
}

impl App {
    async fn start() -> App {
        let data = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let native = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("COUNTERSIGN_CONSOLE_DATA", data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tauri-driver is installed by scripts/setup.sh");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            json!({"application": console_binary()}),
        );
        caps.insert("browserName".into(), json!("wry"));
        let mut client = None;
        for _ in 0..100 {
            match ClientBuilder::rustls()
                .expect("tls config")
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        let client = client.expect("a WebDriver session with the console");
        App {
            driver,
            client,
            data,
        }
    }

    async fn stop(mut self) {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }

    /// Waits until `css` matches at least `count` elements.
    async fn wait_for(&self, css: &str, count: usize) -> Vec<Element> {
        for _ in 0..150 {
            let found = self
                .client
                .find_all(Locator::Css(css))
                .await
                .unwrap_or_default();
            if found.len() >= count {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting for {count} × {css}");
    }

    async fn open(&self, request_prefix: &str) -> Element {
        self.wait_for("[data-testid=queue-row]", 6).await;
        // Rows are re-rendered as live events arrive; retry a click that hit a replaced row.
        let row = format!("[data-testid=queue-row][data-request-id^='{request_prefix}']");
        for _ in 0..20 {
            if let Ok(found) = self.client.find(Locator::Css(&row)).await
                && found.click().await.is_ok()
            {
                let view =
                    format!("[data-testid=request-view][data-request-id^='{request_prefix}']");
                return self.wait_for(&view, 1).await.remove(0);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no queue row for {request_prefix}");
    }

    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::create_dir_all(workspace().join("docs")).unwrap();
        std::fs::write(workspace().join("docs").join(name), png).unwrap();
    }

    async fn text(&self, css: &str) -> String {
        self.wait_for(css, 1).await.remove(0).text().await.unwrap()
    }

    /// The demo workflow's journal: what it submitted, received and verified.
    fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.data.path().join("demo-workflow.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

#[tokio::test]
async fn the_demo_queue_shows_the_seven_scenarios() {
    let app = App::start().await;
    let rows = app.wait_for("[data-testid=queue-row]", 6).await;
    let mut ids = Vec::new();
    for row in &rows {
        ids.push(row.attr("data-request-id").await.unwrap().unwrap());
    }
    ids.iter_mut()
        .for_each(|id| *id = id.rsplit_once('-').unwrap().0.to_owned());
    assert_eq!(
        ids,
        [
            "supplier-payment",
            "widened-recipients",
            "refund-exception",
            "ghost-export",
            "undelegated-summarizer",
            "treasury-summary"
        ],
        "most urgent first: critical, then high by expiry, then medium"
    );
    assert_eq!(app.text("[data-testid=pending-count]").await, "6 pending");
    assert_eq!(app.client.title().await.unwrap(), "Countersign — 6 pending");
    app.screenshot("queue.png").await;
    // The seventh, forged, was refused at intake and is listed as such.
    app.client
        .find(Locator::XPath("//button[contains(., 'Refused at intake')]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let refused = app.wait_for("[data-testid=queue-row]", 1).await;
    assert!(
        refused[0]
            .attr("data-request-id")
            .await
            .unwrap()
            .unwrap()
            .starts_with("forged-hop")
    );
    assert!(refused[0].text().await.unwrap().contains("UNKNOWN_KEY"));
    app.stop().await;
}

#[tokio::test]
async fn the_ghost_permission_shows_at_the_hop_where_it_happens() {
    let app = App::start().await;
    app.open("ghost-export").await;
    let hops = app.wait_for("[data-testid=hop]", 3).await;
    for (index, hop) in hops.iter().enumerate() {
        let codes: Vec<String> = {
            let mut codes = Vec::new();
            for finding in hop
                .find_all(Locator::Css("[data-testid=finding]"))
                .await
                .unwrap()
            {
                codes.push(finding.attr("data-code").await.unwrap().unwrap());
            }
            codes
        };
        let expected: &[&str] = if index == 2 {
            &["GHOST_PERMISSION", "PURPOSE_DRIFT"]
        } else {
            &[]
        };
        assert_eq!(codes, expected, "hop {index}");
    }
    assert!(hops[2].text().await.unwrap().contains("WIDENED"));
    assert!(
        app.wait_for("[data-testid=approve-blocked]", 1).await[0]
            .is_displayed()
            .await
            .unwrap()
    );
    let approve = app.wait_for("[data-testid=approve]", 1).await.remove(0);
    assert!(
        !approve.is_enabled().await.unwrap(),
        "approve is disabled while the report has errors"
    );
    app.screenshot("request.png").await;
    app.stop().await;
}

#[tokio::test]
async fn approving_a_valid_request_delivers_a_decision_the_workflow_verifies() {
    let app = App::start().await;
    app.open("refund-exception").await;
    let approve = app.wait_for("[data-testid=approve]", 1).await.remove(0);
    assert!(
        !approve.is_enabled().await.unwrap(),
        "a high-tier approval needs a reason first"
    );
    app.wait_for("[data-testid=reason]", 1).await[0]
        .send_keys("Delivery was 11 days late; the 2023 exception still matches current policy.")
        .await
        .unwrap();
    assert!(approve.is_enabled().await.unwrap());
    approve.click().await.unwrap();
    // The panel turns into the record of the decision.
    let decided = app.text("[data-testid=decided]").await;
    assert!(
        decided.contains("approve") && decided.contains("user:demo.reviewer"),
        "{decided}"
    );
    let outcome = app.text("[data-testid=decision-outcome] p").await;
    assert!(outcome.contains("delivered"), "{outcome}");
    // The demo workflow, waiting on the gateway, received it and verified it against the JWKS.
    for _ in 0..100 {
        if let Some(step) = app
            .journal()
            .into_iter()
            .find(|s| s["step"] == "decided" && s["slug"] == "refund-exception")
        {
            assert_eq!(step["decision"], "approve");
            assert_eq!(step["receipt"], "executed");
            assert_eq!(step["by"], "user:demo.reviewer");
            app.stop().await;
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "the demo workflow never verified the decision: {:?}",
        app.journal()
    );
}

#[tokio::test]
async fn rejecting_without_a_reason_is_refused() {
    let app = App::start().await;
    app.open("supplier-payment").await;
    app.wait_for("[data-testid=reject]", 1).await[0]
        .click()
        .await
        .unwrap();
    let error = app.text("[data-testid=decision-error]").await;
    assert!(error.contains("Write why you reject it"), "{error}");
    // Nothing was sent: the request is still in the queue, still pending.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.text("[data-testid=pending-count]").await, "6 pending");
    assert!(!app.journal().iter().any(|s| s["step"] == "decided"));
    app.stop().await;
}

#[tokio::test]
async fn evidence_with_script_or_html_is_shown_as_text() {
    let app = App::start().await;
    app.open("widened-recipients").await;
    let notes = app
        .wait_for("[data-testid=evidence][data-evidence-id=ev-notes]", 1)
        .await
        .remove(0);
    let content = notes
        .find(Locator::Css("[data-testid=evidence-content]"))
        .await
        .unwrap();
    let text = content.text().await.unwrap();
    assert!(
        text.contains("<script>alert('pwned')</script>"),
        "the markup is visible as text: {text}"
    );
    assert!(text.contains("<b>Assistant:</b>"));
    assert!(
        content
            .find_all(Locator::Css("script, b"))
            .await
            .unwrap()
            .is_empty(),
        "no element was created from evidence"
    );
    assert!(
        notes
            .find(Locator::Css("[data-testid=instruction-flag]"))
            .await
            .is_ok(),
        "instruction-like text is flagged"
    );
    let injected = app.client.execute("return typeof window.pwned === 'undefined' && document.querySelectorAll('.evidence-content script').length === 0", vec![]).await.unwrap();
    assert_eq!(injected, json!(true));
    app.stop().await;
}
