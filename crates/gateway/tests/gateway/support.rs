//! A gateway per test: temp directory, the demo trust store, a manual clock, enrolled people.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};

use chrono::{DateTime, Duration, TimeZone, Utc};
use countersign_chain::SigningKeyPair;
use countersign_client::{ConsoleIdentity, GatewayClient};
use countersign_gateway::auth::workflow_token_hash;
use countersign_gateway::{GatewayConfig, RunningGateway};
use countersign_review::{ManualClock, decision_claims};
use countersign_scenarios::demo::{Demo, demo};
use countersign_store::{ReviewerRow, Store};
use countersign_wire::api::RequestRecord;
use countersign_wire::{DECISION_TYP, DecisionKind, Tier};
use serde_json::Value;

pub const AUDIENCE: &str = "test-gateway";
pub const WORKFLOW_TOKEN: &str = "cswf_test-workflow-credential";
pub const OTHER_WORKFLOW_TOKEN: &str = "cswf_other-workflow-credential";

/// The pinned start of a test: the real time when it starts, to the second. The gateway only
/// sees the manual clock, but a workflow verifying a decision with a stock JOSE library (PyJWT)
/// checks `exp` against the real clock, so the two must agree at the start.
pub fn t0() -> DateTime<Utc> {
    Utc.timestamp_opt(Utc::now().timestamp(), 0).unwrap()
}

pub struct TestGateway {
    pub _dir: tempfile::TempDir,
    pub config: GatewayConfig,
    pub clock: Arc<ManualClock>,
    pub gateway: Option<RunningGateway>,
    pub client: GatewayClient,
    pub demo: Demo,
    pub reviewer: ConsoleIdentity,
    pub supervisor: ConsoleIdentity,
    pub auditor: ConsoleIdentity,
    pub low_only: ConsoleIdentity,
    /// A second reviewer, for quorums.
    pub second: ConsoleIdentity,
}

fn person(identity: &str, seed: u8, clock: &Arc<ManualClock>) -> ConsoleIdentity {
    ConsoleIdentity {
        identity: identity.into(),
        key: SigningKeyPair::from_seed([seed; 32]),
        audience: AUDIENCE.into(),
        clock: clock.clone(),
    }
}

impl TestGateway {
    pub async fn start() -> Self {
        Self::start_with_policy(None).await
    }

    /// A gateway under the review policy `policy` (TOML).
    pub async fn start_with_policy(policy: Option<&str>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let policy = policy.map(|text| {
            let path = dir.path().join("policy.toml");
            std::fs::write(&path, text).unwrap();
            path
        });
        let start = t0();
        let demo = demo(start, "t");
        std::fs::write(
            dir.path().join("trust.json"),
            serde_json::to_vec(&demo.trust_store()).unwrap(),
        )
        .unwrap();
        let config = GatewayConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            database: dir.path().join("gateway.db"),
            trust: dir.path().join("trust.json"),
            audience: AUDIENCE.into(),
            key: dir.path().join("gateway-key.pem"),
            policy,
        };
        let clock = Arc::new(ManualClock::new(start));
        let reviewer = person("user:rita.reviewer", 1, &clock);
        let supervisor = person("user:sol.supervisor", 2, &clock);
        let auditor = person("user:ada.auditor", 3, &clock);
        let low_only = person("user:lou.lowtier", 4, &clock);
        let second = person("user:sam.second", 5, &clock);
        let store = Store::open(&config.database).await.unwrap();
        store
            .add_workflow(
                "demo",
                &workflow_token_hash(WORKFLOW_TOKEN),
                "2026-11-22T08:00:00Z".parse().unwrap(),
            )
            .await
            .unwrap();
        store
            .add_workflow(
                "other",
                &workflow_token_hash(OTHER_WORKFLOW_TOKEN),
                "2026-11-22T08:00:00Z".parse().unwrap(),
            )
            .await
            .unwrap();
        let all = vec![Tier::Low, Tier::Medium, Tier::High, Tier::Critical];
        for (who, roles, tiers) in [
            (&reviewer, vec!["reviewer"], all.clone()),
            (&supervisor, vec!["reviewer", "supervisor"], all.clone()),
            (&auditor, vec!["auditor"], all.clone()),
            (&low_only, vec!["reviewer"], vec![Tier::Low]),
            (&second, vec!["reviewer"], all.clone()),
        ] {
            enrol(&store, who, &roles, tiers).await;
        }
        let gateway = countersign_gateway::start(&config, clock.clone())
            .await
            .unwrap();
        let client = GatewayClient::new(&format!("http://{}", gateway.addr));
        TestGateway {
            _dir: dir,
            config,
            clock,
            gateway: Some(gateway),
            client,
            demo,
            reviewer,
            supervisor,
            auditor,
            low_only,
            second,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.client.base_url())
    }

    pub async fn stop(&mut self) {
        if let Some(gateway) = self.gateway.take() {
            gateway.shutdown().await.unwrap();
        }
    }

    /// Restarts on the same database and key, on a new port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let gateway = countersign_gateway::start(&self.config, self.clock.clone())
            .await
            .unwrap();
        self.client = GatewayClient::new(&format!("http://{}", gateway.addr));
        self.gateway = Some(gateway);
    }

    pub fn scenario(&self, slug: &str) -> Value {
        self.demo
            .scenarios
            .iter()
            .find(|s| s.slug == slug)
            .unwrap()
            .request
            .clone()
    }

    pub async fn submit(&self, body: &Value) -> reqwest::Response {
        http()
            .post(self.url("/v1/requests"))
            .bearer_auth(WORKFLOW_TOKEN)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn record(&self, request_id: &str) -> RequestRecord {
        self.client
            .request(&self.reviewer, request_id)
            .await
            .unwrap()
    }

    /// A decision JWS by `who` on `record`, signed now with the default claims.
    pub fn decision(
        &self,
        who: &ConsoleIdentity,
        record: &RequestRecord,
        decision: DecisionKind,
        reason: &str,
        flags: &[&str],
    ) -> String {
        let claims = decision_claims(
            record,
            &who.identity,
            AUDIENCE,
            decision,
            reason,
            flags
                .iter()
                .map(|f| countersign_wire::FindingCode::from(f.to_string()))
                .collect(),
            self.clock_now(),
            &uuid_like(),
        );
        who.key.sign_jws(DECISION_TYP, &claims).unwrap()
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        countersign_review::Clock::now(self.clock.as_ref())
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Runs every gateway worker once at the pinned time (expiry, escalation, deliveries,
    /// sealing), instead of waiting for a tick.
    pub async fn run_workers(&self) {
        self.gateway
            .as_ref()
            .expect("the gateway is running")
            .run_workers_once()
            .await;
    }

    /// `who` signs a decision on the stored request `request_id` now and posts it; returns
    /// the HTTP status and the JWS.
    pub async fn decide_as(
        &self,
        who: &ConsoleIdentity,
        request_id: &str,
        decision: DecisionKind,
        reason: &str,
    ) -> (u16, String) {
        let record = self.record(request_id).await;
        let jws = self.decision(who, &record, decision, reason, &[]);
        let status = self
            .post_decision(who, request_id, &jws)
            .await
            .status()
            .as_u16();
        (status, jws)
    }

    pub async fn post_decision(
        &self,
        who: &ConsoleIdentity,
        request_id: &str,
        jws: &str,
    ) -> reqwest::Response {
        http()
            .post(self.url(&format!("/v1/requests/{request_id}/decisions")))
            .bearer_auth(who.token())
            .json(&serde_json::json!({"decision_jws": jws}))
            .send()
            .await
            .unwrap()
    }
}

pub fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!(
        "jti-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

async fn enrol(store: &Store, who: &ConsoleIdentity, roles: &[&str], tiers: Vec<Tier>) {
    let key = who.key.public();
    let row = ReviewerRow {
        identity: who.identity.clone(),
        display_name: who.identity.clone(),
        roles: roles
            .iter()
            .map(|r| countersign_review::Role::parse(r).expect("a known role"))
            .collect(),
        tiers,
        keys: vec![key.to_jwk()],
    };
    store
        .enrol_reviewer(
            &row,
            &[key.thumbprint().to_owned()],
            "2026-11-22T08:00:00Z".parse().unwrap(),
        )
        .await
        .unwrap();
}

pub async fn error_code(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body)
}

/// A webhook (or A2A push) receiver on loopback, recording what it got; while down it answers
/// 503.
pub struct Receiver {
    pub url: String,
    pub up: Arc<Mutex<bool>>,
    pub got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

pub async fn receiver(up: bool) -> Receiver {
    let up = Arc::new(Mutex::new(up));
    let got = Arc::new(Mutex::new(Vec::new()));
    let (up2, got2) = (up.clone(), got.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (up, got) = (up2.clone(), got2.clone());
            async move {
                if !*up.lock().unwrap() {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                got.lock().unwrap().push((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Receiver { url, up, got }
}

/// Audit entries sealed so far that `keep` selects, read through the store the gateway wrote.
pub async fn sealed_entries(gw: &TestGateway, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
    // Seal what is committed now; read it through the store the gateway wrote.
    gw.run_workers().await;
    let store = countersign_store::Store::open(&gw.config.database)
        .await
        .unwrap();
    store
        .audit_entries()
        .await
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str::<Value>(&e.entry).unwrap())
        .filter(|e| keep(e))
        .collect()
}
