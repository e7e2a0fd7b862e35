//! What the end-to-end tests and the console benchmark share: the real desktop console driven
//! through tauri-driver ([`App`]), and a real gateway on loopback that can be stopped and
//! brought back on the same port ([`Gateway`]). Run through `scripts/e2e.sh`, which builds the
//! UI and the console and provides Xvfb, a D-Bus session and a notification daemon.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use countersign_chain::SigningKeyPair;
use countersign_client::{ConsoleIdentity, GatewayClient, Submitted};
use countersign_gateway::{GatewayConfig, RunningGateway, load_or_create_key};
use countersign_review::SystemClock;
use countersign_scenarios::demo::{Demo, Scenario, demo};
use countersign_store::Store;
use countersign_testkit::{ALL_TIERS, GatewayFiles, add_workflow, enrol};
use countersign_wire::api::SubmitResponse;
use countersign_wire::{Role, Timestamp, TrustStore};
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

/// The workspace root.
pub fn workspace() -> PathBuf {
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

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

/// One console at a time on the display: the tests share one Xvfb screen, one D-Bus session and
/// one notification daemon, and run in the same `cargo test` as the rest of the workspace (one
/// build with one feature set), so they take turns here instead of `--test-threads=1`.
static ONE_APP_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One app instance: tauri-driver, the app it launches, and a WebDriver session.
pub struct App {
    driver: Child,
    /// Held for as long as this app runs.
    _turn: tokio::sync::MutexGuard<'static, ()>,
    /// The WebDriver session.
    pub client: Client,
    /// The console's data directory (kept across restarts of the app).
    pub data: tempfile::TempDir,
}

impl App {
    /// The embedded demo, with a fresh data directory.
    pub async fn start() -> App {
        App::start_with(tempfile::tempdir().unwrap(), &[]).await
    }

    /// The console with this data directory and these extra environment variables.
    pub async fn start_with(data: tempfile::TempDir, env: &[(&str, String)]) -> App {
        App::launch(data, env, &[]).await
    }

    /// The console started with these command-line arguments (a followed link).
    pub async fn launch(data: tempfile::TempDir, env: &[(&str, String)], args: &[&str]) -> App {
        App::launch_binary(console_binary(), data, env, args).await
    }

    /// Another Tauri app than the console under the same WebDriver plumbing (the benchmark's
    /// bare window).
    pub async fn launch_binary(
        binary: PathBuf,
        data: tempfile::TempDir,
        env: &[(&str, String)],
        args: &[&str],
    ) -> App {
        let turn = ONE_APP_AT_A_TIME.lock().await;
        // Both ring and aws-lc-rs are in this binary's tree; rustls needs to be told.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let port = free_port();
        let native = free_port();
        let mut command = Command::new("tauri-driver");
        command
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .env("COUNTERSIGN_CONSOLE_DATA", data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let driver = command
            .spawn()
            .expect("tauri-driver is installed by scripts/setup.sh");
        let mut caps = serde_json::Map::new();
        caps.insert(
            "tauri:options".into(),
            json!({"application": binary, "args": args}),
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
            _turn: turn,
            client,
            data,
        }
    }

    /// The tauri-driver process; the app and its WebKit processes descend from it.
    pub fn driver_pid(&self) -> u32 {
        self.driver.id()
    }

    /// Runs the console binary a second time on this app's data directory, as a desktop does
    /// when a link is followed or the app is clicked again, and returns how it exited.
    pub fn launch_again(&self, args: &[&str]) -> std::process::ExitStatus {
        let mut second = Command::new(console_binary())
            .args(args)
            .env("COUNTERSIGN_CONSOLE_DATA", self.data.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the console binary");
        for _ in 0..200 {
            if let Some(status) = second.try_wait().expect("its status") {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = second.kill();
        panic!("a second console did not hand over to the first and exit within 10 s");
    }

    /// Closes the app; its data directory is handed back for a restart.
    pub async fn stop(mut self) -> tempfile::TempDir {
        let _ = self.client.close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        self.data
    }

    /// Waits until `css` matches at least `count` elements.
    pub async fn wait_for(&self, css: &str, count: usize) -> Vec<Element> {
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

    /// Opens the queue row whose request id starts with `request_prefix`.
    pub async fn open(&self, request_prefix: &str) -> Element {
        self.wait_for("[data-testid=queue-row]", 1).await;
        // Rows are re-rendered as live events arrive; retry a click that hit a replaced row.
        let row = format!("[data-testid=queue-row][data-request-id^='{request_prefix}']");
        for _ in 0..50 {
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

    /// Saves a screenshot into `docs/`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::create_dir_all(workspace().join("docs")).unwrap();
        std::fs::write(workspace().join("docs").join(name), png).unwrap();
    }

    /// The text of the first element matching `css` (waiting for it, and reading it again if it
    /// is re-rendered between being found and being read).
    pub async fn text(&self, css: &str) -> String {
        self.text_until(css, |_| true).await
    }

    /// Waits until the text of `css` satisfies `check`, and returns it.
    pub async fn text_until(&self, css: &str, check: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..200 {
            if let Ok(found) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = found.text().await
            {
                if check(&text) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("timed out waiting on {css}; last text: {last:?}");
    }

    /// Clicks the first element matching `css`, retrying while it is being re-rendered.
    pub async fn click(&self, css: &str) {
        for _ in 0..50 {
            if let Ok(found) = self.client.find(Locator::Css(css)).await
                && found.click().await.is_ok()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot click {css}");
    }

    /// The demo workflow's journal: what it submitted, received and verified.
    pub fn journal(&self) -> Vec<Value> {
        std::fs::read_to_string(self.data.path().join("demo-workflow.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// The audience of the test gateway.
pub const AUDIENCE: &str = "countersign-e2e";
/// The reviewer the console signs in as.
pub const REVIEWER: &str = "user:erin.e2e";
/// The workflow's bearer token.
pub const WORKFLOW_TOKEN: &str = "cswf_e2e-workflow-token-000000000000000000";

/// A real gateway on loopback (in this process), with the demo cast trusted, a workflow, and
/// the console's reviewer enrolled. It can be stopped and brought back on the same address.
pub struct Gateway {
    dir: tempfile::TempDir,
    config: GatewayConfig,
    running: Option<RunningGateway>,
    /// The console's reviewer key, as the console keeps it: its own copy from when it was
    /// written into the console's data directory (the console moves it into the keychain).
    reviewer_pem: String,
    /// Where it listens (the same across restarts).
    pub addr: SocketAddr,
    /// A client for the workflow side.
    pub client: GatewayClient,
    /// The scenarios, signed for this run.
    pub demo: Demo,
}

impl Gateway {
    /// Starts a gateway that trusts the demo cast, and enrols the reviewer whose key will be the
    /// console's: written to `reviewer-key.pem` in `console_data`, which the console moves into
    /// the keychain when it starts.
    pub async fn start(console_data: &Path) -> Gateway {
        Gateway::start_trusting(console_data, TrustStore::default()).await
    }

    /// Like [`Gateway::start`], also trusting the parties of `extra`.
    pub async fn start_trusting(console_data: &Path, extra: TrustStore) -> Gateway {
        Gateway::launch(console_data, extra, &["reviewer"], None).await
    }

    /// A gateway under the review policy `policy` (TOML), where the console's reviewer is
    /// also a supervisor and an auditor.
    pub async fn start_supervised(console_data: &Path, policy: &str) -> Gateway {
        Gateway::launch(
            console_data,
            TrustStore::default(),
            &["reviewer", "supervisor", "auditor"],
            Some(policy),
        )
        .await
    }

    async fn launch(
        console_data: &Path,
        extra: TrustStore,
        roles: &[&str],
        policy: Option<&str>,
    ) -> Gateway {
        let demo = demo(Utc::now(), "e2e");
        let mut trust = demo.trust_store();
        trust.parties.extend(extra.parties);
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let GatewayFiles { dir, config } = GatewayFiles::new(&trust, policy, AUDIENCE, addr);
        let key = load_or_create_key(&console_data.join("reviewer-key.pem")).unwrap();
        let reviewer_pem = key.to_pkcs8_pem().unwrap();
        let at = Timestamp::from(Utc::now());
        let store = Store::open(&config.database).await.unwrap();
        add_workflow(&store, "e2e", WORKFLOW_TOKEN, at).await;
        let roles: Vec<Role> = roles
            .iter()
            .map(|r| Role::parse(r).expect("a known role"))
            .collect();
        let reviewer = ConsoleIdentity::new(REVIEWER, key, AUDIENCE);
        enrol(
            &store,
            &reviewer,
            "Erin (e2e reviewer)",
            &roles,
            &ALL_TIERS,
            at,
        )
        .await;
        drop(store);
        let mut gateway = Gateway {
            dir,
            config,
            running: None,
            reviewer_pem,
            addr,
            client: GatewayClient::new(&format!("http://{addr}")),
            demo,
        };
        gateway.resume().await;
        gateway
    }

    /// The environment that points the console at this gateway.
    pub fn console_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("COUNTERSIGN_GATEWAY_URL", format!("http://{}", self.addr)),
            ("COUNTERSIGN_REVIEWER", REVIEWER.into()),
            ("COUNTERSIGN_REVIEWER_NAME", "Erin (e2e reviewer)".into()),
            ("COUNTERSIGN_AUDIENCE", AUDIENCE.into()),
        ]
    }

    /// Submits a demo scenario as the workflow.
    /// The demo scenario `slug`, as this gateway's workflow submits it.
    pub fn scenario(&self, slug: &str) -> &Scenario {
        self.demo
            .scenarios
            .iter()
            .find(|s| s.slug == slug)
            .unwrap_or_else(|| panic!("no scenario {slug}"))
    }

    pub async fn submit(&self, slug: &str) -> SubmitResponse {
        let scenario = self.scenario(slug);
        let body = serde_json::to_vec(&scenario.request).unwrap();
        match self.client.submit(WORKFLOW_TOKEN, &body).await.unwrap() {
            Submitted::Accepted(accepted) => accepted,
            Submitted::Refused(error) => panic!("{slug} was refused: {error:?}"),
        }
    }

    /// Submits an arbitrary request body as the workflow.
    pub async fn submit_body(&self, body: &[u8]) -> Submitted {
        self.client.submit(WORKFLOW_TOKEN, body).await.unwrap()
    }

    /// Stops it (gracefully: what was committed stays).
    pub async fn stop(&mut self) {
        if let Some(running) = self.running.take() {
            running.shutdown().await.unwrap();
        }
    }

    /// Starts it again on the same address, with the same database.
    pub async fn resume(&mut self) {
        let mut last = None;
        // The port may linger briefly after a stop.
        for _ in 0..50 {
            match countersign_gateway::start(&self.config, Arc::new(SystemClock)).await {
                Ok(running) => {
                    self.running = Some(running);
                    return;
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the gateway does not start again: {last:?}");
    }

    /// A console identity for checks from the test itself (a second enrolled key is not
    /// needed: it reads as the same reviewer).
    pub fn reviewer(&self) -> ConsoleIdentity {
        let key = SigningKeyPair::from_pkcs8_pem(&self.reviewer_pem).unwrap();
        ConsoleIdentity::new(REVIEWER, key, AUDIENCE)
    }

    /// Enrols another person (a fresh key) and returns their console identity, for the test
    /// to act as a second reviewer.
    pub async fn enrol(&self, identity: &str, roles: &[&str]) -> ConsoleIdentity {
        let who = ConsoleIdentity::new(
            identity,
            countersign_chain::SigningKeyPair::generate(),
            AUDIENCE,
        );
        let roles: Vec<Role> = roles
            .iter()
            .map(|r| Role::parse(r).expect("a known role"))
            .collect();
        let store = Store::open(&self.config.database).await.unwrap();
        enrol(
            &store,
            &who,
            identity,
            &roles,
            &ALL_TIERS,
            Utc::now().into(),
        )
        .await;
        who
    }

    /// Where the gateway keeps its files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

/// The keychain entry the console keeps its reviewer key in for the data directory `data`
/// (service "Countersign", user `reviewer-key:` + the canonical path), read back from the
/// Secret Service of this test's D-Bus session: `None` when there is no such entry.
#[cfg(target_os = "linux")]
pub fn keychain_key(data: &Path) -> Option<SigningKeyPair> {
    let store: Arc<keyring_core::CredentialStore> = dbus_secret_service_keyring_store::Store::new()
        .expect(
            "a Secret Service in the test's D-Bus session: gnome-keyring-daemon, started by \
         scripts/with-notifications.sh (installed by scripts/setup.sh)",
        );
    let user = format!("reviewer-key:{}", data.canonicalize().unwrap().display());
    let entry = store.build("Countersign", &user, None).unwrap();
    match entry.get_secret() {
        Ok(secret) => Some(
            SigningKeyPair::from_pkcs8_pem(std::str::from_utf8(&secret).unwrap())
                .expect("the entry is a PKCS#8 key"),
        ),
        Err(keyring_core::Error::NoEntry) => None,
        Err(e) => panic!("the keychain entry {user}: {e}"),
    }
}
