//! A gateway's files in a temporary directory, and a whole gateway per test on a manual
//! clock with the demo trust store and five enrolled people.

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use countersign_chain::SigningKeyPair;
use countersign_client::{ConsoleIdentity, GatewayClient};
use countersign_gateway::{GatewayConfig, RunningGateway};
use countersign_review::{Clock as _, ManualClock, SystemClock};
use countersign_scenarios::demo::{Demo, demo};
use countersign_store::Store;
use countersign_wire::api::RequestRecord;
use countersign_wire::{DecisionKind, FindingCode, Role, Tier, Timestamp, TrustStore};
use serde_json::Value;

use crate::decision::sign_decision;
use crate::people::{ALL_TIERS, add_workflow, enrol};

pub const AUDIENCE: &str = "test-gateway";
pub const WORKFLOW_TOKEN: &str = "cswf_test-workflow-credential";
pub const OTHER_WORKFLOW_TOKEN: &str = "cswf_other-workflow-credential";

/// The pinned start of a test: the real time when it starts, to the second. The gateway only
/// sees the manual clock, but a workflow verifying a decision with a stock JOSE library (PyJWT)
/// checks `exp` against the real clock, so the two must agree at the start.
pub fn t0() -> DateTime<Utc> {
    let now = SystemClock.now();
    Utc.timestamp_opt(now.timestamp(), 0)
        .single()
        .unwrap_or(now)
}

/// A gateway's trust store, policy, database and key in a temporary directory, and the
/// config that names them.
pub struct GatewayFiles {
    pub dir: tempfile::TempDir,
    pub config: GatewayConfig,
}

impl GatewayFiles {
    /// Files for a gateway for `audience` on `listen` that trusts `trust`, under the review
    /// policy `policy` (TOML) or the default one.
    pub fn new(
        trust: &TrustStore,
        policy: Option<&str>,
        audience: &str,
        listen: SocketAddr,
    ) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let policy = policy.map(|text| {
            let path = dir.path().join("policy.toml");
            std::fs::write(&path, text).expect("the policy is written");
            path
        });
        std::fs::write(
            dir.path().join("trust.json"),
            serde_json::to_vec(trust).expect("a trust store serializes"),
        )
        .expect("the trust store is written");
        let config = GatewayConfig {
            listen,
            database: dir.path().join("gateway.db"),
            trust: dir.path().join("trust.json"),
            audience: audience.into(),
            key: dir.path().join("gateway-key.pem"),
            policy,
            public_url: None,
            witnesses: Vec::new(),
            metrics_listen: None,
            tls: None,
        };
        GatewayFiles { dir, config }
    }

    /// The gateway's store, as the operator CLI opens it.
    pub async fn store(&self) -> Store {
        Store::open(&self.config.database)
            .await
            .expect("the store opens")
    }
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
        let start = t0();
        let demo = demo(start, "t");
        let files = GatewayFiles::new(
            &demo.trust_store(),
            policy,
            AUDIENCE,
            SocketAddr::from(([127, 0, 0, 1], 0)),
        );
        let clock = Arc::new(ManualClock::new(start));
        let reviewer = person("user:rita.reviewer", 1, &clock);
        let supervisor = person("user:sol.supervisor", 2, &clock);
        let auditor = person("user:ada.auditor", 3, &clock);
        let low_only = person("user:lou.lowtier", 4, &clock);
        let second = person("user:sam.second", 5, &clock);
        let store = files.store().await;
        let at = Timestamp::from(start);
        add_workflow(&store, "demo", WORKFLOW_TOKEN, at).await;
        add_workflow(&store, "other", OTHER_WORKFLOW_TOKEN, at).await;
        for (who, roles, tiers) in [
            (&reviewer, &[Role::Reviewer][..], &ALL_TIERS[..]),
            (&supervisor, &[Role::Reviewer, Role::Supervisor], &ALL_TIERS),
            (&auditor, &[Role::Auditor], &ALL_TIERS),
            (&low_only, &[Role::Reviewer], &[Tier::Low]),
            (&second, &[Role::Reviewer], &ALL_TIERS),
        ] {
            enrol(&store, who, &who.identity, roles, tiers, at).await;
        }
        let gateway = countersign_gateway::start(&files.config, clock.clone())
            .await
            .expect("the gateway starts");
        let client = GatewayClient::new(&format!("http://{}", gateway.addr));
        TestGateway {
            _dir: files.dir,
            config: files.config,
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
            gateway.shutdown().await.expect("the gateway stops");
        }
    }

    /// Restarts on the same database and key, on a new port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let gateway = countersign_gateway::start(&self.config, self.clock.clone())
            .await
            .expect("the gateway restarts");
        self.client = GatewayClient::new(&format!("http://{}", gateway.addr));
        self.gateway = Some(gateway);
    }

    /// The request of the demo scenario `slug`.
    pub fn scenario(&self, slug: &str) -> Value {
        self.demo
            .scenarios
            .iter()
            .find(|s| s.slug == slug)
            .unwrap_or_else(|| panic!("no demo scenario {slug:?}"))
            .request
            .clone()
    }

    /// Submits `body` as the `demo` workflow.
    pub async fn submit(&self, body: &Value) -> reqwest::Response {
        http()
            .post(self.url("/v1/requests"))
            .bearer_auth(WORKFLOW_TOKEN)
            .json(body)
            .send()
            .await
            .expect("the gateway answers")
    }

    pub async fn record(&self, request_id: &str) -> RequestRecord {
        self.client
            .request(&self.reviewer, request_id)
            .await
            .expect("the record is readable")
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
        let acknowledged = flags
            .iter()
            .map(|f| FindingCode::from(f.to_string()))
            .collect();
        sign_decision(
            who,
            AUDIENCE,
            record,
            decision,
            reason,
            acknowledged,
            self.clock_now(),
        )
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        self.clock.now()
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
            .expect("the gateway answers")
    }

    /// Audit entries sealed so far that `keep` selects, read through the store the gateway
    /// wrote (sealing what is committed first).
    pub async fn sealed_entries(&self, keep: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.run_workers().await;
        Store::open(&self.config.database)
            .await
            .expect("the store opens")
            .audit_entries()
            .await
            .expect("the audit log is readable")
            .iter()
            .map(|e| serde_json::from_str::<Value>(&e.entry).expect("an entry is JSON"))
            .filter(|e| keep(e))
            .collect()
    }
}

pub fn http() -> reqwest::Client {
    reqwest::Client::new()
}

/// An error answer's status and body.
pub async fn error_code(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("an error body is JSON");
    (status, body)
}
