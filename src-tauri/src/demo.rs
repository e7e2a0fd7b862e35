//! The embedded demo: gateway, reviewer key and demo workflow, all on this machine.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use countersign_client::demo_workflow::run_demo_workflow;
use countersign_client::{ConsoleIdentity, GatewayClient};
use countersign_gateway::GatewayConfig;
use countersign_gateway::auth::workflow_token_hash;
use countersign_review::Clock;
use countersign_scenarios::demo::demo;
use countersign_store::{ReviewerRow, Store};
use countersign_wire::console::{DemoConnection, Mode};
use countersign_wire::{Role, Tier, Timestamp};

use crate::sync::Session;

const AUDIENCE: &str = "countersign-embedded-demo";
const REVIEWER: &str = "user:demo.reviewer";

/// The demo's review policy: short deadlines, so overdue escalations show up while you try
/// it, and supervisors called for anything critical left waiting.
const DEMO_POLICY: &str = r#"id = "embedded-demo"
version = "1"

[tiers.critical]
decide_within = "10m"
escalation = [{ after = "0m", to = ["role:supervisor"] }]

[tiers.high]
decide_within = "20m"
escalation = [
  { after = "0m", to = ["role:supervisor"] },
  { after = "30m", to = ["user:demo.reviewer"] },
]
"#;

/// The demo cast's trust store, with every other party the file at `path` already holds
/// (an unreadable file keeps nothing: the demo must start).
fn demo_trust(path: &Path, now: chrono::DateTime<chrono::Utc>) -> countersign_wire::TrustStore {
    let mut trust = demo(now, "trust").trust_store();
    let kept = std::fs::read(path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<countersign_wire::TrustStore>(&bytes).ok());
    for (identity, party) in kept.map(|t| t.parties).unwrap_or_default() {
        trust.parties.entry(identity).or_insert(party);
    }
    trust
}

/// Starts the embedded gateway and the demo workflow; the session reviews as the local key.
pub(crate) async fn start(
    dir: &Path,
    crate::custody::Custody { key, custody }: crate::custody::Custody,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Session> {
    let now = clock.now();
    // The demo cast's keys are fixed; parties someone added for an agent of their own
    // ("Connect your own agent") are kept across starts.
    let trust_path = dir.join("trust.json");
    std::fs::write(
        &trust_path,
        serde_json::to_vec_pretty(&demo_trust(&trust_path, now))?,
    )?;
    let policy_path = dir.join("policy.toml");
    std::fs::write(&policy_path, DEMO_POLICY)?;
    let config = GatewayConfig {
        listen: "127.0.0.1:0".parse()?,
        database: dir.join("gateway.db"),
        trust: trust_path.clone(),
        audience: AUDIENCE.into(),
        key: dir.join("gateway-key.pem"),
        policy: Some(policy_path),
        public_url: None,
        witnesses: Vec::new(),
        metrics_listen: None,
        tls: None,
    };

    let store = Store::open(&config.database).await?;
    let public = key.public().clone();
    let row = ReviewerRow {
        identity: REVIEWER.into(),
        display_name: "You (demo reviewer)".into(),
        // One person plays every part in the demo, so the supervisor and auditor tools show.
        roles: vec![Role::Reviewer, Role::Supervisor, Role::Auditor],
        tiers: vec![Tier::Low, Tier::Medium, Tier::High, Tier::Critical],
        keys: vec![public.to_jwk()],
    };
    let at = Timestamp::from(now);
    store
        .enrol_reviewer(&row, &[public.thumbprint().to_owned()], at)
        .await?;
    let mut secret = [0u8; 32];
    rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
    let workflow_token = format!(
        "cswf_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    store
        .add_workflow(
            "embedded-demo-workflow",
            &workflow_token_hash(&workflow_token),
            at,
        )
        .await?;
    drop(store);

    let gateway = countersign_gateway::start(&config, clock.clone()).await?;
    let url = format!("http://{}", gateway.addr);
    tracing::info!(%url, "embedded demo gateway started");
    // The gateway lives as long as the app.
    std::mem::forget(gateway);

    let connection = DemoConnection {
        gateway_url: url.clone(),
        workflow_token: workflow_token.clone(),
        audience: AUDIENCE.into(),
        trust_path: trust_path.display().to_string(),
        trust_command: format!(
            "countersign-gateway trust add --trust '{}' --identity agent:yours --name 'Your agent' --jwk @agent.jwk",
            trust_path.display()
        ),
        example_commands: format!(
            "export COUNTERSIGN_GATEWAY_URL={url} COUNTERSIGN_WORKFLOW_TOKEN={workflow_token} COUNTERSIGN_AUDIENCE={AUDIENCE}\n\
             python examples/python/pay_invoice_langgraph.py keys --dir agent-keys --trust '{}'\n\
             python examples/python/pay_invoice_langgraph.py run --dir agent-keys --amount 1250.00 --thread invoice-4711",
            trust_path.display()
        ),
    };
    let client = GatewayClient::new(&url);
    let workflow_client = client.clone();
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    // What the demo workflow does (and verifies) is also appended to a file, so anyone can
    // check that decisions really reached it and verified against the JWKS.
    let journal = std::sync::Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("demo-workflow.jsonl"))?,
    );
    let workflow_clock = clock.clone();
    tauri::async_runtime::spawn(async move {
        let log = move |step: countersign_client::demo_workflow::DemoStep| {
            tracing::info!(?step, "demo workflow");
            if let (Ok(line), Ok(mut file)) = (serde_json::to_string(&step), journal.lock()) {
                let _ = std::io::Write::write_all(&mut *file, format!("{line}\n").as_bytes());
            }
        };
        match run_demo_workflow(
            &workflow_client,
            &workflow_token,
            AUDIENCE,
            &*workflow_clock,
            &run_id,
            Duration::from_secs(8 * 3600),
            &log,
        )
        .await
        {
            Ok(open) => tracing::info!(open, "demo workflow finished"),
            Err(e) => tracing::warn!(error = %e, "demo workflow stopped"),
        }
    });

    Ok(Session {
        client,
        identity: ConsoleIdentity::new(REVIEWER, key, AUDIENCE),
        display_name: "You (demo reviewer)".into(),
        mode: Mode::EmbeddedDemo,
        data_dir: dir.to_owned(),
        custody,
        clock,
        demo: Some(connection),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parties_added_for_an_agent_of_ones_own_survive_a_restart_and_the_cast_stays_the_casts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trust.json");
        let now = chrono::Utc::now();
        let mut trust = demo(now, "trust").trust_store();
        let cast: Vec<String> = trust.parties.keys().cloned().collect();
        let stranger = countersign_chain::SigningKeyPair::generate()
            .public()
            .to_jwk();
        trust.parties.insert(
            "agent:ap-banking".into(),
            countersign_wire::Party {
                kind: countersign_wire::PartyKind::Agent,
                display_name: "Mine".into(),
                keys: vec![stranger.clone()],
            },
        );
        // Someone also replaced a cast member's key: the demo's own key comes back.
        let first = cast[0].clone();
        trust.parties.get_mut(&first).unwrap().keys = vec![stranger.clone()];
        std::fs::write(&path, serde_json::to_vec(&trust).unwrap()).unwrap();
        let again = demo_trust(&path, now);
        assert_eq!(
            again.parties["agent:ap-banking"].keys,
            vec![stranger.clone()]
        );
        assert_ne!(again.parties[&first].keys, vec![stranger]);
        assert_eq!(again.parties.len(), cast.len() + 1);
        // A broken file keeps nothing but the cast.
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(demo_trust(&path, now).parties.len(), cast.len());
    }
}
