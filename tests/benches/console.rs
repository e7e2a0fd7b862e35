//! The desktop console under load, measured in the real app through WebDriver.
//!
//! - 10,000 pending requests: first paint of the queue after a page load (User Timing mark
//!   `countersign:queue-painted`, ms since navigation start), the cost of one snapshot refresh,
//!   and scrolling the virtualized list (frame times while scrolling 900 px per frame);
//! - a 20-hop chain with 500 evidence items: click to the request view on screen;
//! - RSS of the app and its WebKit processes, idle, with the 10,000 loaded and with the demo,
//!   beside a bare Tauri 2 window on an empty page measured the same way in the same run
//!   (`COUNTERSIGN_BARE_WINDOW_BIN`), as a ratio.
//!
//! Run with `scripts/bench-console.sh` (Xvfb, D-Bus, a built console).

use std::time::{Duration, Instant};

use chrono::Utc;
use countersign_e2e::{App, Gateway};
use countersign_scenarios::synthetic::{PayRequest, pay_cast};
use countersign_wire::Tier;
use fantoccini::Locator;
use serde_json::{Value, json};

const PENDING: usize = 10_000;
const BIG: &str = "big-20-hops-500-evidence";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Memory of every process descending from `root`, except the WebDriver plumbing
/// (tauri-driver, WebKitWebDriver): the app and its WebKit processes. Per process: name, and
/// RSS, PSS and anonymous memory in MiB (RSS counts the shared WebKit and GTK libraries once
/// per process; PSS shares them out; anonymous is what the processes allocated).
fn app_memory(root: u32) -> Vec<(String, [f64; 3])> {
    let mut parent_of = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name is in parentheses and may hold spaces; fields follow the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let name = head.split_once('(').map(|x| x.1).unwrap_or("").to_owned();
        let ppid: u32 = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        parent_of.push((pid, ppid, name));
    }
    let mut tree = vec![root];
    let mut grew = true;
    while grew {
        grew = false;
        for (pid, ppid, _) in &parent_of {
            if tree.contains(ppid) && !tree.contains(pid) {
                tree.push(*pid);
                grew = true;
            }
        }
    }
    let mut parts = Vec::new();
    for (pid, _, name) in parent_of.iter().filter(|(p, _, _)| tree.contains(p)) {
        if name.starts_with("tauri-driver") || name.starts_with("WebKitWebDriver") {
            continue;
        }
        let rollup =
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        let field = |key: &str| -> f64 {
            rollup
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
                / 1024.0
        };
        parts.push((
            name.clone(),
            [field("Rss:"), field("Pss:"), field("Anonymous:")],
        ));
    }
    parts
}

async fn idle_memory(app: &App, label: &str) -> [f64; 3] {
    tokio::time::sleep(Duration::from_secs(8)).await;
    let parts = app_memory(app.driver_pid());
    let mut total = [0.0; 3];
    for (_, m) in &parts {
        for (sum, value) in total.iter_mut().zip(m) {
            *sum += value;
        }
    }
    let detail: Vec<String> = parts
        .iter()
        .map(|(n, m)| format!("{n} {:.0}/{:.0}/{:.0}", m[0], m[1], m[2]))
        .collect();
    println!(
        "idle memory, {label}: RSS {:.0} MiB, PSS {:.0} MiB, anonymous {:.0} MiB (per process RSS/PSS/anon: {})",
        total[0],
        total[1],
        total[2],
        detail.join(", ")
    );
    total
}

async fn script(app: &App, js: &str) -> Value {
    app.client.execute_async(js, vec![]).await.unwrap()
}

#[tokio::main]
async fn main() {
    // The baseline: a bare Tauri window on an empty page, under the same WebDriver plumbing.
    let bare_binary = std::env::var_os("COUNTERSIGN_BARE_WINDOW_BIN")
        .map(std::path::PathBuf::from)
        .expect("COUNTERSIGN_BARE_WINDOW_BIN (scripts/bench-console.sh builds it)");
    let bare = App::launch_binary(bare_binary, tempfile::tempdir().unwrap(), &[], &[]).await;
    let bare_memory = idle_memory(&bare, "bare Tauri window (empty page)").await;
    bare.stop().await;

    // The embedded demo: the footprint a reviewer sees on an ordinary day.
    let demo = App::start().await;
    demo.wait_for("[data-testid=queue-row]", 6).await;
    let demo_memory = idle_memory(&demo, "embedded demo (6 pending)").await;
    demo.stop().await;
    let ratio = |m: [f64; 3]| [m[0] / bare_memory[0], m[1] / bare_memory[1]];
    let demo_ratio = ratio(demo_memory);
    println!(
        "idle memory of the demo console as a multiple of the bare window: RSS {:.2}x, PSS {:.2}x (target 1.25x)",
        demo_ratio[0], demo_ratio[1]
    );

    let data = tempfile::tempdir().unwrap();
    let cast = pay_cast("console bench", 20);
    let gateway = Gateway::start_trusting(data.path(), cast.trust_store()).await;
    let started = Instant::now();
    let now = Utc::now();
    let bodies: Vec<Vec<u8>> = (0..PENDING)
        .map(|i| {
            let request = PayRequest {
                request_id: &format!("load-{i:05}"),
                hops: 3,
                evidence: 1,
                tier: if i % 3 == 0 { Tier::High } else { Tier::Medium },
                now,
            }
            .build(&cast);
            serde_json::to_vec(&request).unwrap()
        })
        .collect();
    let big = PayRequest {
        request_id: BIG,
        hops: 20,
        evidence: 500,
        tier: Tier::Critical,
        now,
    }
    .build(&cast);
    for chunk in bodies.chunks(64) {
        let submits = chunk.iter().map(|body| gateway.submit_body(body));
        futures_util::future::join_all(submits).await;
    }
    gateway
        .submit_body(&serde_json::to_vec(&big).unwrap())
        .await;
    println!(
        "submitted {} requests in {:.1} s",
        PENDING + 1,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let app = App::start_with(data, &gateway.console_env()).await;
    let expected = format!("{} pending", PENDING + 1);
    app.text_until("[data-testid=pending-count]", |t| t == expected)
        .await;
    println!(
        "console start to {expected} on screen (cold: gateway fetch, cache write, render): {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // First paint after a page load, the model already in the backend.
    let mut paints = Vec::new();
    for _ in 0..7 {
        app.client.refresh().await.unwrap();
        let mut painted = Value::Null;
        for _ in 0..100 {
            painted = app
                .client
                .execute(
                    "const m = performance.getEntriesByName('countersign:queue-painted'); return m.length ? m[0].startTime : null;",
                    vec![],
                )
                .await
                .unwrap();
            if !painted.is_null() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        paints.push(painted.as_f64().expect("the queue was painted"));
    }
    paints.sort_by(f64::total_cmp);
    let rows = app.wait_for("[data-testid=queue-row]", 1).await.len();
    println!(
        "first paint of the queue with {} pending, ms since navigation start: median {:.0}, max {:.0} (target ≤ 300); rows in the DOM: {rows}",
        PENDING + 1,
        percentile(&paints, 0.5),
        paints.last().unwrap()
    );

    let snapshot = script(
        &app,
        r#"const done = arguments[arguments.length - 1];
        (async () => {
            const times = [];
            for (let i = 0; i < 10; i++) {
                const t0 = performance.now();
                await window.__TAURI__.core.invoke('snapshot', { req: {} });
                times.push(performance.now() - t0);
            }
            times.sort((a, b) => a - b);
            done(times);
        })();"#,
    )
    .await;
    let snapshot: Vec<f64> = serde_json::from_value(snapshot).unwrap();
    println!(
        "snapshot refresh over IPC (10,001 items): median {:.0} ms, max {:.0} ms",
        percentile(&snapshot, 0.5),
        snapshot.last().unwrap()
    );

    // The same frame loop without scrolling: what this display allows at all (Xvfb renders
    // in software).
    let idle = script(
        &app,
        r#"const done = arguments[arguments.length - 1];
        const frames = [];
        let last = performance.now();
        let step = 0;
        function tick(now) {
            frames.push(now - last);
            last = now;
            if (++step < 120) requestAnimationFrame(tick); else done(frames.slice(1));
        }
        requestAnimationFrame(tick);"#,
    )
    .await;
    let mut idle: Vec<f64> = serde_json::from_value(idle).unwrap();
    idle.sort_by(f64::total_cmp);
    println!(
        "frame loop without scrolling (baseline of this display): p50 {:.1} ms, p95 {:.1} ms",
        percentile(&idle, 0.5),
        percentile(&idle, 0.95)
    );
    let mut frame_p95 = Vec::new();
    for pixels in [120, 900] {
        let frames = script(
            &app,
            &format!(
                r#"const done = arguments[arguments.length - 1];
                const list = document.querySelector('[data-testid=queue]');
                list.scrollTop = 0;
                const frames = [];
                let last = performance.now();
                let step = 0;
                function tick(now) {{
                    frames.push(now - last);
                    last = now;
                    list.scrollTop += {pixels};
                    if (++step < 240) requestAnimationFrame(tick);
                    else done({{ frames: frames.slice(1), rows: document.querySelectorAll('[data-testid=queue-row]').length }});
                }}
                requestAnimationFrame(tick);"#
            ),
        )
        .await;
        let mut frame_times: Vec<f64> = serde_json::from_value(frames["frames"].clone()).unwrap();
        frame_times.sort_by(f64::total_cmp);
        println!(
            "scrolling {pixels} px per frame through the queue: frame time p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms; rows in the DOM at the end: {}",
            percentile(&frame_times, 0.5),
            percentile(&frame_times, 0.95),
            frame_times.last().unwrap(),
            frames["rows"]
        );
        frame_p95.push(percentile(&frame_times, 0.95));
    }

    // The 20-hop, 500-evidence request is critical, so it heads the queue.
    let _ = script(
        &app,
        "const done = arguments[arguments.length - 1]; document.querySelector('[data-testid=queue]').scrollTop = 0; requestAnimationFrame(() => done(null));",
    )
    .await;
    let mut opens = Vec::new();
    for round in 0..6 {
        // Open another request first, so each round renders the big one from scratch.
        app.client
            .execute(
                "document.querySelectorAll('[data-testid=queue-row]')[1].click();",
                vec![],
            )
            .await
            .unwrap();
        app.wait_for(
            "[data-testid=request-view]:not([data-request-id='big-20-hops-500-evidence'])",
            1,
        )
        .await;
        let took = script(
            &app,
            &format!(
                r#"const done = arguments[arguments.length - 1];
                const t0 = performance.now();
                document.querySelector("[data-testid=queue-row][data-request-id='{BIG}']").click();
                function check() {{
                    const view = document.querySelector("[data-testid=request-view][data-request-id='{BIG}']");
                    if (view && view.querySelectorAll('[data-testid=evidence]').length === 500
                        && view.querySelectorAll('[data-testid=hop]').length === 20) {{
                        requestAnimationFrame(() => done(performance.now() - t0));
                    }} else {{
                        requestAnimationFrame(check);
                    }}
                }}
                requestAnimationFrame(check);"#
            ),
        )
        .await;
        if round > 0 {
            opens.push(took.as_f64().unwrap());
        }
    }
    opens.sort_by(f64::total_cmp);
    println!(
        "20-hop chain with 500 evidence items, click to painted: median {:.0} ms, max {:.0} ms (target ≤ 200)",
        percentile(&opens, 0.5),
        opens.last().unwrap()
    );
    app.client
        .find(Locator::Css("[data-testid=request-view]"))
        .await
        .unwrap();
    app.screenshot("big-request.png").await;

    let loaded_memory = idle_memory(&app, "10,001 pending").await;
    println!(
        "{}",
        json!({
            "first_paint_ms_median": percentile(&paints, 0.5),
            "snapshot_ms_median": percentile(&snapshot, 0.5),
            "scroll_frame_ms_p95_120px_900px": frame_p95,
            "big_request_ms_median": percentile(&opens, 0.5),
            "idle_rss_pss_anon_mib_demo": demo_memory,
            "idle_rss_pss_anon_mib_10k": loaded_memory,
            "idle_rss_pss_anon_mib_bare_window": bare_memory,
            "idle_ratio_to_bare_rss_pss_demo": demo_ratio,
            "idle_ratio_to_bare_rss_pss_10k": ratio(loaded_memory),
        })
    );
    app.stop().await;
}
