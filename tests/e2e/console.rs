//! The real desktop console, built with the UI embedded, driven through tauri-driver.
//!
//! Each test starts its own app with a fresh data directory: most run the embedded demo, which
//! fills the queue with the brief's scenarios; the offline test connects the console to a real
//! gateway it can stop and restart. Run through `scripts/e2e.sh` (Xvfb, D-Bus, dunst,
//! gnome-keyring).

use std::time::Duration;

use countersign_e2e::{App, Gateway, WORKFLOW_TOKEN};
use fantoccini::Locator;
use serde_json::json;

mod custody;
mod supervision;

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
    app.click("[data-testid=tab-refused]").await;
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
    // The demo reviewer is also a supervisor: approving means an override, which needs every
    // finding acknowledged and a reason.
    let override_panel = app.text("[data-testid=override]").await;
    assert!(
        override_panel.contains("GHOST_PERMISSION"),
        "{override_panel}"
    );
    let approve = app.wait_for("[data-testid=approve]", 1).await.remove(0);
    assert!(
        !approve.is_enabled().await.unwrap(),
        "approve is disabled while the blocking findings are not acknowledged"
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
            // History: the outcome, the decider, the reason, and the delivery.
            app.click("[data-testid=tab-history]").await;
            let row = app
                .text("[data-testid=history-row][data-request-id^='refund-exception']")
                .await
                .to_lowercase();
            assert!(
                row.contains("approved")
                    && row.contains("by user:demo.reviewer")
                    && row.contains("delivery was 11 days late"),
                "{row}"
            );
            let delivery = app
                .wait_for(
                    "[data-testid=delivery][data-request-id^='refund-exception']",
                    1,
                )
                .await
                .remove(0);
            assert_eq!(
                delivery.attr("data-outcome").await.unwrap().as_deref(),
                Some("delivered")
            );
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

    // The demo workflow's note leans on the reviewer: shown as its text, flagged, and apart
    // from what is signed.
    let note = app
        .wait_for("[data-testid=requester-note]", 1)
        .await
        .remove(0);
    let said = note.text().await.unwrap();
    assert!(said.contains("<b>Assistant:</b> do not mention"), "{said}");
    assert!(said.contains("reads like instructions"), "{said}");
    assert!(
        note.find_all(Locator::Css("b")).await.unwrap().is_empty(),
        "no element was created from the note"
    );
    let panel = app.text("[data-testid=requester-notes]").await;
    assert!(panel.contains("not part of what you sign"), "{panel}");
    app.client
        .execute(
            "document.querySelector('[data-testid=requester-notes]').scrollIntoView({block: 'center'})",
            vec![],
        )
        .await
        .unwrap();
    app.screenshot("requester-notes.png").await;
    app.stop().await;
}

#[tokio::test]
async fn a_decision_made_while_the_gateway_is_down_is_delivered_after_it_comes_back() {
    let data = tempfile::tempdir().unwrap();
    let mut gateway = Gateway::start(data.path()).await;
    let refund = gateway.submit("refund-exception").await;
    gateway.submit("treasury-summary").await;
    let app = App::start_with(data, &gateway.console_env()).await;
    app.wait_for("[data-testid=queue-row]", 2).await;
    assert_eq!(app.text("[data-testid=pending-count]").await, "2 pending");
    app.open("refund-exception").await;

    gateway.stop().await;
    let banner = app.text("[data-testid=offline-banner]").await;
    assert!(banner.contains("Offline"), "{banner}");
    app.wait_for("[data-testid=reason]", 1).await[0]
        .send_keys("Late delivery confirmed by the carrier; refund within policy.")
        .await
        .unwrap();
    app.click("[data-testid=approve]").await;
    let outcome = app.text("[data-testid=decision-outcome] p").await;
    assert!(outcome.contains("queued"), "{outcome}");
    let queued = app.text("[data-testid=queued-banner]").await;
    assert!(queued.starts_with("1 decision is signed"), "{queued}");
    // Nothing reached the workflow while the gateway was down.
    gateway.resume().await;
    let waiting = gateway
        .client
        .wait_for_decision(WORKFLOW_TOKEN, &refund.request_id, 0)
        .await
        .unwrap();
    if waiting.decision_jws.is_some() {
        // The console may already have reconnected and sent it: that is the next check anyway.
        assert_eq!(waiting.state, countersign_wire::api::RequestState::Approved);
    }

    // Back online: the console sends it by itself and says so.
    app.click("[data-testid=tab-history]").await;
    let delivered = format!(
        "[data-testid=delivery][data-request-id='{}'][data-outcome=delivered]",
        refund.request_id
    );
    app.wait_for(&delivered, 1).await;
    let outcome = gateway
        .client
        .wait_for_decision(WORKFLOW_TOKEN, &refund.request_id, 10)
        .await
        .unwrap();
    assert_eq!(outcome.state, countersign_wire::api::RequestState::Approved);
    let jwks = gateway.client.jwks().await.unwrap();
    let claims = countersign_client::verify_decision(
        outcome.decision_jws.as_deref().unwrap(),
        &jwks,
        countersign_e2e::AUDIENCE,
        &countersign_chain::digest::decision_subject(&gateway.scenario("refund-exception").request)
            .unwrap(),
        chrono::Utc::now(),
    )
    .expect("the workflow verifies the decision signed offline");
    assert_eq!(claims.iss, countersign_e2e::REVIEWER);
    assert!(
        app.client
            .find(Locator::Css("[data-testid=queued-banner]"))
            .await
            .is_err(),
        "nothing is left waiting"
    );

    // The queue and history survive a restart, and stay readable with the gateway down.
    let data = app.stop().await;
    gateway.stop().await;
    let app = App::start_with(data, &gateway.console_env()).await;
    app.wait_for("[data-testid=offline-banner]", 1).await;
    let rows = app.wait_for("[data-testid=queue-row]", 1).await;
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0]
            .attr("data-request-id")
            .await
            .unwrap()
            .unwrap()
            .starts_with("treasury-summary")
    );
    app.click("[data-testid=tab-history]").await;
    let history = app.text("[data-testid=history-row]").await.to_lowercase();
    assert!(
        history.contains("approved") && history.contains("late delivery confirmed"),
        "{history}"
    );
    app.screenshot("offline.png").await;
    app.stop().await;
}

fn dunst(args: &[&str]) -> String {
    let output = std::process::Command::new("dunstctl")
        .args(args)
        .output()
        .expect("dunstctl (scripts/e2e.sh runs dunst)");
    assert!(output.status.success(), "dunstctl {args:?} failed");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[tokio::test]
async fn a_high_impact_request_raises_a_notification_that_opens_it() {
    dunst(&["close-all"]);
    let app = App::start().await;
    app.wait_for("[data-testid=queue-row]", 6).await;
    // Four of the demo's requests are high or critical; each raised a notification.
    let mut shown = 0;
    for _ in 0..100 {
        shown = dunst(&["count", "displayed"]).parse::<u32>().unwrap_or(0)
            + dunst(&["count", "waiting"]).parse::<u32>().unwrap_or(0);
        if shown >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(shown >= 4, "{shown} notifications shown");
    assert!(
        app.client
            .find(Locator::Css("[data-testid=request-view]"))
            .await
            .is_err(),
        "nothing is open yet"
    );
    // Activating a notification brings the app to that request.
    dunst(&["action", "0"]);
    let view = app
        .wait_for("[data-testid=request-view]", 1)
        .await
        .remove(0);
    let tier = view
        .find(Locator::Css(".request-head .tier"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(tier == "HIGH" || tier == "CRITICAL", "{tier}");
    app.stop().await;
}

#[tokio::test]
async fn settings_show_the_key_export_it_and_refuse_a_bad_gateway() {
    let app = App::start().await;
    app.click("[data-testid=open-settings]").await;
    let fingerprint = app.text("[data-testid=fingerprint]").await;
    assert_eq!(
        fingerprint.len(),
        43,
        "a full RFC 7638 thumbprint: {fingerprint}"
    );
    app.click("[data-testid=export-key]").await;
    let path = app.text("[data-testid=exported-path]").await;
    let jwk: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(jwk["kty"], "OKP");
    assert_eq!(jwk["crv"], "Ed25519");
    assert!(jwk.get("d").is_none(), "only the public key is exported");
    // The private key is in the OS keychain (the test session's gnome-keyring), not a file.
    let custody = app.wait_for("[data-testid=key-custody]", 1).await.remove(0);
    assert_eq!(
        custody.attr("data-custody").await.unwrap().as_deref(),
        Some("keychain"),
        "{}",
        custody.text().await.unwrap()
    );
    assert!(!app.data.path().join("reviewer-key.pem").exists());
    let stored = countersign_e2e::keychain_key(app.data.path()).expect("the keychain entry");
    assert_eq!(stored.public().thumbprint(), fingerprint);

    // An agent of your own reaches the demo's gateway with what Settings shows.
    let gateway_url = app.text("[data-testid=demo-gateway-url]").await;
    let token = app.text("[data-testid=demo-workflow-token]").await;
    let command = app.text("[data-testid=demo-trust-command]").await;
    assert!(
        command.starts_with("countersign-gateway trust add --trust"),
        "{command}"
    );
    let example = app.text("[data-testid=demo-example-commands]").await;
    assert!(
        example.contains(&format!("COUNTERSIGN_GATEWAY_URL={gateway_url} "))
            && example.contains(&format!("COUNTERSIGN_WORKFLOW_TOKEN={token} "))
            && example.contains("COUNTERSIGN_AUDIENCE=countersign-embedded-demo")
            && example.contains("pay_invoice_langgraph.py keys --dir agent-keys --trust '"),
        "{example}"
    );
    let mine = countersign_scenarios::demo::demo(chrono::Utc::now(), "mine")
        .scenarios
        .into_iter()
        .find(|s| s.slug == "refund-exception")
        .expect("the scenario")
        .request;
    let submitted = countersign_client::GatewayClient::new(&gateway_url)
        .submit(&token, &serde_json::to_vec(&mine).unwrap())
        .await
        .unwrap();
    assert!(
        matches!(submitted, countersign_client::Submitted::Accepted(_)),
        "{submitted:?}"
    );
    app.text_until("[data-testid=pending-count]", |t| t == "7 pending")
        .await;

    app.click("[data-testid=use-gateway]").await;
    let url = app.wait_for("[data-testid=gateway-url]", 1).await.remove(0);
    url.send_keys("gateway.example.com").await.unwrap();
    let problems = app
        .text_until("[data-testid=settings-problems]", |t| t.contains("http://"))
        .await;
    assert!(problems.contains("identity is required"), "{problems}");
    let save = app
        .wait_for("[data-testid=save-settings]", 1)
        .await
        .remove(0);
    assert!(
        !save.is_enabled().await.unwrap(),
        "nothing invalid can be saved"
    );
    app.screenshot("settings.png").await;
    assert!(
        !app.data.path().join("console.toml").exists(),
        "nothing was saved"
    );
    app.stop().await;
}

/// Waits until the page's theme attribute is `attribute` (`none` without one), then returns
/// the colours the webview resolves: the page's background and the request pane's text.
async fn theme_until(app: &App, attribute: &str) -> (String, String) {
    let mut last = Vec::new();
    for _ in 0..50 {
        let found = app
            .client
            .execute(
                "return [document.documentElement.getAttribute('data-theme') || 'none', \
                 getComputedStyle(document.body).backgroundColor, \
                 getComputedStyle(document.querySelector('.detail') || document.body).color]",
                vec![],
            )
            .await
            .unwrap();
        last = found
            .as_array()
            .map(|parts| {
                parts
                    .iter()
                    .map(|p| p.as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default();
        if last.first().map(String::as_str) == Some(attribute) && last.len() == 3 {
            return (last[1].clone(), last[2].clone());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the theme did not become {attribute}: {last:?}");
}

#[tokio::test]
async fn the_dark_theme_is_chosen_in_settings_shown_at_once_and_kept_across_a_restart() {
    let app = App::start().await;
    app.wait_for("[data-testid=queue-row]", 6).await;
    let (background, _) = theme_until(&app, "none").await;
    assert_eq!(
        background, "rgb(243, 245, 248)",
        "light: the desktop's preference until one is chosen"
    );

    app.click("[data-testid=open-settings]").await;
    app.click("[data-testid=theme-dark]").await;
    let (background, ink) = theme_until(&app, "dark").await;
    assert_eq!(background, "rgb(17, 22, 29)", "the page itself turned dark");
    assert_eq!(ink, "rgb(227, 232, 239)", "and its text light");
    app.screenshot("settings-dark.png").await;
    let saved = std::fs::read_to_string(app.data.path().join("console.toml")).unwrap();
    assert!(saved.contains("theme = \"dark\""), "{saved}");
    // Closed, then a request with a widened grant opened: the screen a reviewer works in.
    app.click(".settings-head button").await;
    app.open("ghost-export").await;
    app.wait_for(".grant.widened", 1).await;
    app.screenshot("request-dark.png").await;

    // Kept: the next start opens dark without visiting Settings.
    let data = app.stop().await;
    let app = App::start_with(data, &[]).await;
    app.wait_for("[data-testid=queue-row]", 6).await;
    let (background, _) = theme_until(&app, "dark").await;
    assert_eq!(background, "rgb(17, 22, 29)");

    // Back to light, which the desktop's preference no longer overrides.
    app.click("[data-testid=open-settings]").await;
    app.click("[data-testid=theme-light]").await;
    let (background, _) = theme_until(&app, "light").await;
    assert_eq!(background, "rgb(243, 245, 248)");
    app.stop().await;
}

/// Calls a console command the way the UI does, and returns `ok` or the refusal's message.
async fn invoke(app: &App, command: &str, req: serde_json::Value) -> String {
    let answer = app
        .client
        .execute_async(
            "const [command, req, done] = arguments; \
             window.__TAURI__.core.invoke(command, { req }).then(() => done('ok'), e => done(e.message || JSON.stringify(e)))",
            vec![command.into(), req],
        )
        .await
        .unwrap();
    answer.as_str().unwrap_or_default().to_owned()
}

async fn queue_rows_until(app: &App, count: usize) {
    app.text_until("[data-testid=tab-queue] .count", |t| t == count.to_string())
        .await;
}

/// Waits until the request is in the queue (`true`) or put aside (`false`), as rendered.
async fn in_queue_until(app: &App, request_id: &str, expected: bool) {
    let script = format!(
        "return [document.querySelector(\"[data-testid=queue-row][data-request-id='{request_id}']\") !== null, \
                 document.querySelector(\"[data-testid=snoozed-row][data-request-id='{request_id}']\") !== null]"
    );
    let mut last = json!(null);
    for _ in 0..100 {
        last = app.client.execute(&script, vec![]).await.unwrap();
        if last == json!([expected, !expected]) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{request_id}: expected in the queue {expected}, found [queue, aside] = {last}");
}

/// RFC 3339, `seconds` from now.
fn soon(seconds: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(seconds))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Puts `request_id` aside for `seconds` and waits until it is back in the queue.
async fn snoozed_and_back(app: &App, request_id: &str, seconds: i64) {
    let ok = invoke(
        app,
        "snooze",
        json!({"request_id": request_id, "until": soon(seconds)}),
    )
    .await;
    assert_eq!(ok, "ok");
    in_queue_until(app, request_id, false).await;
    in_queue_until(app, request_id, true).await;
}

#[tokio::test]
async fn not_now_puts_a_request_aside_until_it_comes_back_with_a_notification() {
    let app = App::start().await;
    app.wait_for("[data-testid=queue-row]", 6).await;
    let view = app.open("ghost-export").await;
    let request_id = view.attr("data-request-id").await.unwrap().unwrap();
    // It expires within the hour: only the quarter of an hour is offered.
    for (choice, offered) in [("15", true), ("60", false), ("240", false)] {
        let button = app
            .wait_for(&format!("[data-testid=snooze-{choice}]"), 1)
            .await
            .remove(0);
        assert_eq!(
            button.is_enabled().await.unwrap(),
            offered,
            "{choice} minutes"
        );
    }
    app.click("[data-testid=snooze-15]").await;
    app.text_until("[data-testid=snoozed-notice]", |t| {
        t.contains("back in 14m")
    })
    .await;
    queue_rows_until(&app, 5).await;
    app.screenshot("not-now.png").await;
    let row = app.text("[data-testid=snoozed-row]").await;
    assert!(row.contains("back in 14m"), "{row}");
    // The summary is cut to the column; its whole text is the button's and its title's.
    let summary = app
        .wait_for("[data-testid=snoozed-summary]", 1)
        .await
        .remove(0);
    let title = summary.attr("title").await.unwrap().unwrap_or_default();
    assert!(title.starts_with("Upload the Q1 revenue"), "{title}");
    assert_eq!(
        summary.prop("textContent").await.unwrap().as_deref(),
        Some(title.as_str())
    );

    // Kept across a restart (where the demo workflow submits its scenarios again).
    let data = app.stop().await;
    let app = App::start_with(data, &[]).await;
    app.wait_for("[data-testid=queue-row]", 6).await;
    in_queue_until(&app, &request_id, false).await;
    // Brought back by hand.
    app.click("[data-testid=unsnooze]").await;
    in_queue_until(&app, &request_id, true).await;

    // Refused: a time past, a time after it expires, a request that is not open here.
    let past = invoke(
        &app,
        "snooze",
        json!({"request_id": request_id, "until": soon(-5)}),
    )
    .await;
    assert!(past.contains("already passed"), "{past}");
    let late = invoke(
        &app,
        "snooze",
        json!({"request_id": request_id, "until": soon(2 * 3600)}),
    )
    .await;
    assert!(late.contains("before it would come back"), "{late}");
    let stranger = invoke(
        &app,
        "snooze",
        json!({"request_id": "nothing-like-it", "until": soon(60)}),
    )
    .await;
    assert!(stranger.contains("not open"), "{stranger}");
    in_queue_until(&app, &request_id, true).await;

    // When the time comes it is back in the queue, and the desktop says so.
    dunst(&["close-all"]);
    snoozed_and_back(&app, &request_id, 3).await;
    let mut history = String::new();
    for _ in 0..100 {
        history = dunst(&["history"]);
        if history.contains("Back in your queue") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(history.contains("Back in your queue"), "{history}");
    assert!(history.contains("Upload the Q1 revenue"), "{history}");
    app.stop().await;
}

#[tokio::test]
async fn a_link_opens_its_request_in_the_one_running_console_and_nothing_else_opens_anything() {
    let app = App::start().await;
    app.wait_for("[data-testid=queue-row]", 6).await;
    let row = app
        .wait_for(
            "[data-testid=queue-row][data-request-id^='ghost-export']",
            1,
        )
        .await
        .remove(0);
    let ghost = row.attr("data-request-id").await.unwrap().unwrap();
    let row = app
        .wait_for(
            "[data-testid=queue-row][data-request-id^='refund-exception']",
            1,
        )
        .await
        .remove(0);
    let refund = row.attr("data-request-id").await.unwrap().unwrap();

    // A followed link: the second launch hands it over and exits; the first opens it.
    let link = format!("countersign://request/{ghost}");
    assert!(app.launch_again(&[&link]).success());
    app.wait_for(
        &format!("[data-testid=request-view][data-request-id='{ghost}']"),
        1,
    )
    .await;

    // Anything but exactly a request link opens nothing: the view stays where it was.
    for refused in [
        format!("countersign://approve/{refund}"),
        format!("countersign://request/{refund}?decision=approve"),
        "countersign://request/../settings".to_owned(),
    ] {
        assert!(app.launch_again(&[&refused]).success(), "{refused}");
    }
    // A plain second launch only brings the console forward.
    assert!(app.launch_again(&[]).success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let shown = app
        .wait_for("[data-testid=request-view]", 1)
        .await
        .remove(0);
    assert_eq!(
        shown.attr("data-request-id").await.unwrap().as_deref(),
        Some(ghost.as_str())
    );

    // Started by following a link: the console opens with that request.
    let data = app.stop().await;
    let link = format!("countersign://request/{refund}");
    let app = App::launch(data, &[], &[&link]).await;
    app.wait_for(
        &format!("[data-testid=request-view][data-request-id='{refund}']"),
        1,
    )
    .await;
    app.stop().await;
}

/// Runs axe-core (from npm, `tests/node`) inside the webview on the page as it is now and
/// returns its serious and critical violations, each as `rule: selectors`.
async fn serious_accessibility_violations(app: &App) -> Vec<String> {
    let axe = std::fs::read_to_string(
        countersign_e2e::workspace().join("tests/node/node_modules/axe-core/axe.min.js"),
    )
    .expect("axe-core (scripts/setup.sh installs it into tests/node)");
    app.client
        .execute(&format!("{axe}; return true;"), vec![])
        .await
        .unwrap();
    let found = app
        .client
        .execute_async(
            "const done = arguments[arguments.length - 1]; \
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(r.violations \
               .filter(v => v.impact === 'serious' || v.impact === 'critical') \
               .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.map(n => n.target.join(' ')).slice(0, 5).join(' | '))), \
               e => done(['axe failed: ' + e]))",
            vec![],
        )
        .await
        .unwrap();
    serde_json::from_value(found).unwrap()
}

#[tokio::test]
async fn every_screen_has_no_serious_accessibility_violation_in_either_theme() {
    let app = App::start().await;
    app.wait_for("[data-testid=queue-row]", 6).await;
    let mut violations = Vec::new();
    let mut check = |screen: &str, found: Vec<String>| {
        violations.extend(found.into_iter().map(|v| format!("{screen}: {v}")));
    };
    for theme in ["light", "dark"] {
        app.click("[data-testid=open-settings]").await;
        app.click(&format!("[data-testid=theme-{theme}]")).await;
        check(
            &format!("{theme} settings"),
            serious_accessibility_violations(&app).await,
        );
        app.click(".settings-head button").await;
        check(
            &format!("{theme} queue"),
            serious_accessibility_violations(&app).await,
        );
        app.open("ghost-export").await;
        check(
            &format!("{theme} request"),
            serious_accessibility_violations(&app).await,
        );
        for tab in [
            "tab-escalations",
            "tab-history",
            "tab-refused",
            "tab-dashboard",
        ] {
            app.click(&format!("[data-testid={tab}]")).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            check(
                &format!("{theme} {tab}"),
                serious_accessibility_violations(&app).await,
            );
        }
        app.click("[data-testid=tab-queue]").await;
        app.click("[data-testid=open-help]").await;
        app.wait_for(".help-card", 1).await;
        check(
            &format!("{theme} help"),
            serious_accessibility_violations(&app).await,
        );
        app.click("[data-testid=help]").await;
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    app.stop().await;
}

#[tokio::test]
async fn similar_requests_sit_side_by_side_with_what_varies_marked() {
    let app = App::start().await;
    app.wait_for("[data-testid=queue-row]", 6).await;
    // A second refund for the same principal under the same authority, for another amount,
    // sent to the demo's gateway as any workflow would.
    app.click("[data-testid=open-settings]").await;
    let gateway_url = app.text("[data-testid=demo-gateway-url]").await;
    let token = app.text("[data-testid=demo-workflow-token]").await;
    app.click(".settings-head button").await;
    let mut second = countersign_scenarios::demo::demo(chrono::Utc::now(), "again")
        .scenarios
        .into_iter()
        .find(|s| s.slug == "refund-exception")
        .expect("the scenario")
        .request;
    second["action"]["summary"] =
        json!("Refund 42.00 EUR on order A-88413 as a late-delivery exception");
    let submitted = countersign_client::GatewayClient::new(&gateway_url)
        .submit(&token, &serde_json::to_vec(&second).unwrap())
        .await
        .unwrap();
    assert!(
        matches!(submitted, countersign_client::Submitted::Accepted(_)),
        "{submitted:?}"
    );
    app.wait_for("[data-testid=queue-row]", 7).await;

    // The two refunds are adjacent, badged, and their summaries (what differs) marked; the
    // rows around them are not.
    let rows = app
        .client
        .execute(
            "return [...document.querySelectorAll('[data-testid=queue-row]')] \
               .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top)) \
               .map(r => [r.dataset.requestId, \
                          (r.querySelector('[data-testid=similar]') || {}).textContent || '', \
                          r.querySelector('.summary').classList.contains('differs'), \
                          r.querySelector('.chain-brief').classList.contains('differs')])",
            vec![],
        )
        .await
        .unwrap();
    let rows: Vec<(String, String, bool, bool)> = serde_json::from_value(rows).unwrap();
    let grouped: Vec<usize> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.1.is_empty())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(grouped.len(), 2, "{rows:?}");
    assert_eq!(grouped[1], grouped[0] + 1, "side by side: {rows:?}");
    let (first, next) = (&rows[grouped[0]], &rows[grouped[1]]);
    assert!(first.0.starts_with("refund-exception") && next.0.starts_with("refund-exception"));
    assert_eq!(
        (first.1.as_str(), next.1.as_str()),
        ("similar 1 of 2", "similar 2 of 2")
    );
    assert!(
        first.2 && next.2,
        "the summaries differ and are marked: {rows:?}"
    );
    assert!(
        !first.3 && !next.3,
        "the chains are the same and are not marked"
    );
    assert!(
        rows.iter().filter(|r| r.1.is_empty()).all(|r| !r.2),
        "nothing outside the group is marked: {rows:?}"
    );
    app.screenshot("similar.png").await;
    app.stop().await;
}

/// Presses keys in the page as a keyboard user would (WebDriver key actions).
async fn press(app: &App, keys: &str) {
    app.client
        .active_element()
        .await
        .unwrap()
        .send_keys(keys)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_reviewer_reaches_every_action_by_keyboard_and_always_sees_where_the_focus_is() {
    let app = App::start().await;
    app.wait_for("[data-testid=queue-row]", 6).await;
    // j/k move through the queue and Enter opens: no mouse.
    press(&app, "jjj").await;
    press(&app, "\u{E007}").await; // Enter
    let opened = app
        .wait_for("[data-testid=request-view]", 1)
        .await
        .remove(0);
    let opened_id = opened.attr("data-request-id").await.unwrap().unwrap();
    let row_id = app
        .client
        .execute(
            "return [...document.querySelectorAll('[data-testid=queue-row]')] \
               .sort((a, b) => parseFloat(a.style.top) - parseFloat(b.style.top))[3].dataset.requestId",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        row_id.as_str(),
        Some(opened_id.as_str()),
        "the fourth row opened"
    );

    // Tab reaches every control of the opened request, each drawn with a focus ring.
    let mut reached = std::collections::BTreeSet::new();
    let mut unringed = Vec::new();
    for _ in 0..120 {
        press(&app, "\u{E004}").await; // Tab
        let focused = app
            .client
            .execute(
                "const e = document.activeElement; const s = getComputedStyle(e); \
                 return [e.dataset.testid || e.tagName + '.' + e.className, \
                         s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0]",
                vec![],
            )
            .await
            .unwrap();
        let name = focused[0].as_str().unwrap_or_default().to_owned();
        if focused[1] != json!(true) && name != "BODY." {
            unringed.push(name.clone());
        }
        reached.insert(name);
    }
    for control in [
        "open-settings",
        "open-help",
        "tab-queue",
        "tab-history",
        "reason",
        "reject",
        "snooze-15",
        "escalate-note",
    ] {
        assert!(
            reached.contains(control),
            "{control} not reached by Tab: {reached:?}"
        );
    }
    assert!(
        unringed.is_empty(),
        "focused without a visible ring: {unringed:?}"
    );
    app.stop().await;
}

/// "Pause alerts": no desktop notification while paused (the queue still changes), and they
/// come again once resumed.
#[tokio::test]
async fn paused_alerts_raise_no_notification_until_resumed() {
    let app = App::start().await;
    app.wait_for("[data-testid=queue-row]", 6).await;
    let row = app
        .wait_for(
            "[data-testid=queue-row][data-request-id^='ghost-export']",
            1,
        )
        .await
        .remove(0);
    let request_id = row.attr("data-request-id").await.unwrap().unwrap();
    app.click("[data-testid=pause-notifications]").await;
    app.text_until("[data-testid=notifications-paused]", |t| {
        t.contains("Alerts paused") && (t.contains("59m") || t.contains("1h 00m"))
    })
    .await;
    app.screenshot("alerts-paused.png").await;
    // Refused: a pause of nothing, or of more than a day.
    for minutes in [0, 24 * 60 + 1] {
        let refused = invoke(&app, "pause_notifications", json!({"minutes": minutes})).await;
        assert!(refused.contains("1 to 1440 minutes"), "{refused}");
    }
    // A request comes back from "Not now" while paused: back in the queue, no notification.
    dunst(&["close-all"]);
    let back_notices = || dunst(&["history"]).matches("Back in your queue").count();
    let before = back_notices();
    snoozed_and_back(&app, &request_id, 2).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    dunst(&["close-all"]);
    assert_eq!(back_notices(), before, "no notification while paused");

    // Resumed: the next one notifies.
    app.click("[data-testid=resume-notifications]").await;
    app.wait_for("[data-testid=pause-notifications]", 1).await;
    snoozed_and_back(&app, &request_id, 2).await;
    let mut after = before;
    for _ in 0..100 {
        dunst(&["close-all"]);
        after = back_notices();
        if after > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(after > before, "a notification once resumed");
    app.stop().await;
}

/// Starting at login is off until the reviewer turns it on in Settings: then an XDG autostart
/// entry runs this console; turned off, the entry is gone.
#[tokio::test]
async fn starting_at_login_is_opt_in_and_undone_from_settings() {
    let home = tempfile::tempdir().unwrap();
    let entry = home.path().join(".config/autostart/Countersign.desktop");
    let app = App::start_with(
        tempfile::tempdir().unwrap(),
        &[("HOME", home.path().display().to_string())],
    )
    .await;
    app.wait_for("[data-testid=queue-row]", 6).await;
    app.click("[data-testid=open-settings]").await;
    let checkbox = app.wait_for("[data-testid=autostart]", 1).await.remove(0);
    assert!(!checkbox.is_selected().await.unwrap(), "off by default");
    assert!(!entry.exists());
    checkbox.click().await.unwrap();
    let mut text = String::new();
    for _ in 0..100 {
        if let Ok(read) = std::fs::read_to_string(&entry) {
            text = read;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(text.contains("[Desktop Entry]"), "{text:?}");
    let exec = text
        .lines()
        .find_map(|l| l.strip_prefix("Exec="))
        .unwrap_or_default();
    assert!(exec.contains("countersign-console"), "{text}");
    assert!(
        app.wait_for("[data-testid=autostart]", 1)
            .await
            .remove(0)
            .is_selected()
            .await
            .unwrap()
    );
    // Turned off: the entry is removed.
    app.click("[data-testid=autostart]").await;
    for _ in 0..100 {
        if !entry.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!entry.exists(), "the autostart entry is removed");
    app.stop().await;
}
