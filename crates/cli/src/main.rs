//! `countersign`: verify delegation requests, make keys, sign hops, digest JSON, write the demo
//! scenarios.
//!
//! Exit codes follow the wire contract: `verify` exits 0 when the report has no error finding,
//! 1 when it has any, and 2 for usage errors or unreadable input (as does every command).

mod follow;
mod mcp;
mod witness;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};
use countersign_chain::digest::{json_digest, sha256_digest};
use countersign_chain::{SigningKeyPair, TrustIndex, verify_request};
use countersign_wire::api::RequestRecord;
use countersign_wire::{DECISION_TYP, DecisionKind, FindingCode, HOP_TYP, HopClaims, TrustStore};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    name = "countersign",
    version,
    about = "Human countersignatures for AI-agent delegation chains"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Verify a DelegationRequest's chain; prints the report as JSON.
    Verify {
        /// The DelegationRequest JSON file.
        request: PathBuf,
        /// The trust store (trust.json).
        #[arg(long)]
        trust: PathBuf,
        /// Verify as of this RFC 3339 time instead of now (reproducible results).
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
    },
    /// Generate an Ed25519 key: writes the private key (PKCS#8 PEM, mode 0600), prints the public JWK.
    Keygen {
        /// Where to write the private key.
        #[arg(long)]
        out: PathBuf,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Sign hop claims (JSON) as a delegation-hop+jwt compact JWS; prints the JWS.
    SignHop {
        /// The hop claims JSON file.
        #[arg(long)]
        claims: PathBuf,
        /// The delegator's private key (PKCS#8 PEM from `keygen`).
        #[arg(long)]
        key: PathBuf,
        /// The parent hop's JWS file: sets `prev` to its digest.
        #[arg(long)]
        parent: Option<PathBuf>,
    },
    /// Sign a decision on a request with a reviewer's key, with the console's own code: the
    /// record is what `GET /v1/requests/{id}` returns; prints the delegation-decision+jwt JWS
    /// to post to `/v1/requests/{id}/decisions` (valid for five minutes).
    SignDecision {
        /// The request record JSON file.
        #[arg(long)]
        record: PathBuf,
        /// The reviewer's private key (PKCS#8 PEM from `keygen`), as enrolled at the gateway.
        #[arg(long)]
        key: PathBuf,
        /// The reviewer's identity (`iss`), as enrolled.
        #[arg(long)]
        identity: String,
        /// The gateway's audience (`aud`).
        #[arg(long, default_value = "countersign-gateway")]
        audience: String,
        /// approve or reject.
        #[arg(long)]
        decision: String,
        /// Why (required for high and critical tiers, and for an override).
        #[arg(long)]
        reason: String,
        /// Comma-separated finding codes acknowledged (an override names every blocking one).
        #[arg(long, value_delimiter = ',')]
        acknowledge: Vec<String>,
    },
    /// Verify an export bundle offline: every signature, digest and audit entry against the
    /// signed checkpoint. Prints a per-record JSON report; exits 0 only if everything holds.
    VerifyBundle {
        /// The bundle directory.
        path: PathBuf,
        /// Pin the log key: `name+keyid+base64` as served at /v1/audit/log-key, or @FILE
        /// holding it. Without it the bundle's own key is used, which proves nothing about
        /// where the bundle came from.
        #[arg(long)]
        log_key: Option<String>,
        /// A signed checkpoint you kept from before (a file, e.g. check-log's --state): the
        /// bundle's log must be a consistent extension of it (no rollback, no rewrite)
        #[arg(long, value_name = "FILE")]
        since: Option<PathBuf>,
        #[command(flatten)]
        witnesses: WitnessArgs,
        /// Print only the records with problems.
        #[arg(long)]
        quiet: bool,
    },
    /// Fetch a gateway's audit checkpoint and accept it only as a consistent extension of the
    /// one remembered from the last run (`--state`), which it then replaces. Exits 1 on a
    /// rolled-back or rewritten log (the remembered checkpoint stays), 0 otherwise.
    CheckLog {
        /// The gateway's base URL.
        #[arg(long)]
        gateway: String,
        /// The log key (`name+keyid+base64` from /v1/audit/log-key, or @FILE).
        #[arg(long)]
        log_key: String,
        /// Where the latest verified checkpoint is remembered.
        #[arg(long, value_name = "FILE")]
        state: PathBuf,
        #[command(flatten)]
        witnesses: WitnessArgs,
    },
    /// A transparency-log witness (c2sp.org/tlog-witness): cosigns checkpoints of the logs
    /// it is given, only as consistent extensions of the last one it cosigned.
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
    /// Print the sha256 digest of a file: of its JCS canonical form with --json, else of its bytes.
    Digest {
        /// The file.
        file: PathBuf,
        /// Digest the JSON value (RFC 8785 canonical form), as for arguments_digest.
        #[arg(long)]
        json: bool,
    },
    /// Play a workflow against a gateway: submit the seven demo scenarios, wait for the
    /// decisions, verify each against the gateway's JWKS, post receipts.
    DemoWorkflow {
        #[command(flatten)]
        workflow: WorkflowAt,
        /// The gateway's audience, which decisions must name.
        #[arg(long, default_value = "countersign-gateway")]
        audience: String,
        /// Stop waiting after this many seconds.
        #[arg(long, default_value_t = 3600)]
        timeout: u64,
    },
    /// Serve the gateway's MCP server over stdio, for MCP clients that start their servers
    /// as local processes: each JSON-RPC message is bridged to the gateway's `/mcp`.
    Mcp {
        #[command(flatten)]
        workflow: WorkflowAt,
    },
    /// Put human approval in front of an unmodified MCP server: calls of the tools the policy
    /// guards are forwarded upstream only after a reviewer's verified approval of exactly that
    /// call; everything else passes through. Serves stdio, or HTTP with --listen.
    McpProxy {
        /// The upstream MCP server's Streamable HTTP endpoint (`http://127.0.0.1:8000/mcp`).
        #[arg(long)]
        upstream: String,
        /// The proxy policy (TOML): the guarded tools and the standing grant.
        #[arg(long)]
        policy: PathBuf,
        #[command(flatten)]
        workflow: WorkflowAt,
        /// Serve Streamable HTTP at `http://ADDR/mcp` instead of stdio.
        #[arg(long, requires = "client_token")]
        listen: Option<std::net::SocketAddr>,
        /// With --listen: the bearer credential the MCP client must present (the standing
        /// grant is this client's).
        #[arg(long, env = "COUNTERSIGN_PROXY_CLIENT_TOKEN", hide_env_values = true)]
        client_token: Option<String>,
    },
    /// Write the brief's seven demo scenarios, their trust store and an index to DIR.
    DemoRequests {
        /// Output directory (created if missing).
        dir: PathBuf,
        /// Build the scenarios as of this RFC 3339 time instead of now.
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        /// Suffix for request ids, transaction ids and hop jtis.
        #[arg(long, default_value = "demo")]
        run_id: String,
    },
}

/// A gateway and the workflow credential to call it with.
#[derive(clap::Args)]
struct WorkflowAt {
    /// Gateway base URL.
    #[arg(
        long,
        env = "COUNTERSIGN_GATEWAY",
        default_value = "http://127.0.0.1:8787"
    )]
    gateway: String,
    /// Workflow credential (from `countersign-gateway workflow add`).
    #[arg(long, env = "COUNTERSIGN_WORKFLOW_TOKEN", hide_env_values = true)]
    token: String,
}

#[derive(Subcommand)]
enum WitnessCommand {
    /// Serve `POST /add-checkpoint` and `GET /<origin hash>/checkpoint`.
    Serve {
        /// The witness's Ed25519 key (PKCS#8 PEM from `countersign keygen`).
        #[arg(long)]
        key: PathBuf,
        /// The witness's name (a schemeless URL by convention, e.g. witness.example.com/w1).
        #[arg(long)]
        name: String,
        /// A log key to witness (`name+keyid+base64`, the name being the log's origin), or
        /// @FILE; repeat for several logs.
        #[arg(long = "log", value_name = "VKEY", required = true)]
        logs: Vec<String>,
        /// Directory for the latest cosigned checkpoint of each log.
        #[arg(long)]
        state: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:7380")]
        listen: std::net::SocketAddr,
    },
    /// Print the witness's cosignature key (what logs and verifiers configure).
    Key {
        /// The witness's key file.
        #[arg(long)]
        key: PathBuf,
        /// The witness's name.
        #[arg(long)]
        name: String,
    },
}

/// The witnesses an auditor relies on.
#[derive(clap::Args)]
struct WitnessArgs {
    /// A witness cosignature key (name+keyid+base64, type 0x04) the checkpoint must carry a
    /// valid cosignature from; repeat for several
    #[arg(long = "witness", value_name = "VKEY")]
    witnesses: Vec<String>,
    /// How many of the --witness keys must have cosigned [default: all]
    #[arg(long, value_name = "K", requires = "witnesses")]
    witness_quorum: Option<usize>,
}

impl WitnessArgs {
    fn policy(&self) -> anyhow::Result<Option<countersign_audit::WitnessPolicy>> {
        if self.witnesses.is_empty() {
            return Ok(None);
        }
        let keys = self
            .witnesses
            .iter()
            .map(|k| countersign_audit::WitnessKey::parse(k))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("--witness: {e}"))?;
        let quorum = self.witness_quorum.unwrap_or(keys.len());
        countersign_audit::WitnessPolicy::new(keys, quorum)
            .map(Some)
            .map_err(|e| anyhow::anyhow!("--witness-quorum: {e}"))
    }
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("not an RFC 3339 time: {e}"))
}

fn verify_bundle(
    path: &Path,
    log_key: Option<&str>,
    since: Option<&Path>,
    witnesses: &WitnessArgs,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    let pinned = log_key
        .map(countersign_audit::parse_pinned_key)
        .transpose()
        .map_err(|e| anyhow::anyhow!("--log-key: {e}"))?;
    if pinned.is_none() {
        eprintln!(
            "WARNING: no --log-key: checked against the key the bundle carries itself. That shows \
             its files agree with each other, NOT that they come from your gateway; pin the key \
             it serves at /v1/audit/log-key."
        );
    }
    let since = since
        .map(|p| {
            fs::read_to_string(p).with_context(|| format!("--since: cannot read {}", p.display()))
        })
        .transpose()?;
    let policy = witnesses.policy()?;
    let mut report = countersign_bundle::verify_bundle_with(
        path,
        &countersign_bundle::BundleChecks {
            pinned_log_key: pinned.as_ref(),
            since: since.as_deref(),
            witnesses: policy.as_ref(),
        },
    )?;
    let failed = report.record_reports.iter().filter(|r| !r.ok).count();
    if quiet {
        report.record_reports.retain(|r| !r.ok);
    }
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    serde_json::to_writer_pretty(&mut out, &report)?;
    writeln!(out)?;
    eprintln!(
        "{}: {} records, {} audit entries against a checkpoint of {}; {} bundle problems, {failed} records failing",
        if report.ok { "VERIFIED" } else { "FAILED" },
        report.records,
        report.events,
        report.checkpoint_size,
        report.problems.len()
    );
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("countersign: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Verify { request, trust, at } => {
            verify(&request, &trust, at.unwrap_or_else(Utc::now))
        }
        Command::Keygen { out, force } => keygen(&out, force),
        Command::SignHop {
            claims,
            key,
            parent,
        } => sign_hop(&claims, &key, parent.as_deref()),
        Command::Digest { file, json } => digest(&file, json),
        Command::SignDecision {
            record,
            key,
            identity,
            audience,
            decision,
            reason,
            acknowledge,
        } => sign_decision(
            &record,
            &key,
            &identity,
            &audience,
            &decision,
            &reason,
            acknowledge,
        ),
        Command::VerifyBundle {
            path,
            log_key,
            since,
            witnesses,
            quiet,
        } => verify_bundle(
            &path,
            log_key.as_deref(),
            since.as_deref(),
            &witnesses,
            quiet,
        ),
        Command::CheckLog {
            gateway,
            log_key,
            state,
            witnesses,
        } => {
            let key = countersign_audit::parse_pinned_key(&log_key)
                .map_err(|e| anyhow::anyhow!("--log-key: {e}"))?;
            follow::check_log(&gateway, &key, &state, witnesses.policy()?.as_ref())
        }
        Command::Witness {
            command:
                WitnessCommand::Serve {
                    key,
                    name,
                    logs,
                    state,
                    listen,
                },
        } => witness::serve(&key, &name, &logs, &state, listen),
        Command::Witness {
            command: WitnessCommand::Key { key, name },
        } => {
            println!("{}", witness::cosigner(&key, &name)?.witness_key());
            Ok(ExitCode::SUCCESS)
        }
        Command::DemoWorkflow {
            workflow,
            audience,
            timeout,
        } => demo_workflow(&workflow.gateway, &workflow.token, &audience, timeout),
        Command::Mcp { workflow } => {
            let endpoint = mcp::endpoint(&workflow.gateway)?;
            tokio::runtime::Runtime::new()?.block_on(mcp::bridge(endpoint, workflow.token))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::McpProxy {
            upstream,
            policy,
            workflow,
            listen,
            client_token,
        } => {
            let upstream = url::Url::parse(&upstream)
                .with_context(|| format!("--upstream {upstream} is not a URL"))?;
            let (policy, grant) = mcp::guard::ProxyPolicy::load(&policy)?;
            let config = mcp::ProxyConfig {
                upstream,
                gateway: workflow.gateway,
                token: workflow.token,
                policy,
                grant,
                client_token,
                clock: std::sync::Arc::new(countersign_review::SystemClock),
            };
            tokio::runtime::Runtime::new()?.block_on(mcp::serve(config, listen))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::DemoRequests { dir, at, run_id } => {
            demo_requests(&dir, at.unwrap_or_else(Utc::now), &run_id)
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &str) -> anyhow::Result<T> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {what} {}", path.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{what} {} is not valid", path.display()))
}

fn verify(request: &Path, trust: &Path, now: DateTime<Utc>) -> anyhow::Result<ExitCode> {
    let store: TrustStore = read_json(trust, "trust store")?;
    let index = TrustIndex::from_store(&store)
        .with_context(|| format!("trust store {}", trust.display()))?;
    let bytes =
        fs::read(request).with_context(|| format!("cannot read request {}", request.display()))?;
    let verification = verify_request(&bytes, &index, now)
        .with_context(|| format!("request {}", request.display()))?;
    let report = &verification.report;
    println!("{}", serde_json::to_string_pretty(report)?);
    Ok(if report.has_errors() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn keygen(out: &Path, force: bool) -> anyhow::Result<ExitCode> {
    let key = SigningKeyPair::generate();
    let pem = key.to_pkcs8_pem()?;
    write_private(out, pem.as_bytes(), force)?;
    let public = key.public();
    println!(
        "{}",
        serde_json::to_string_pretty(
            &json!({"jwk": public.to_jwk(), "thumbprint": public.thumbprint()})
        )?
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes a private key readable by its owner only, created with that mode (never widened).
fn write_private(path: &Path, bytes: &[u8], force: bool) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    if path.exists() && !force {
        bail!("{} exists; pass --force to replace it", path.display());
    }
    if path.exists() {
        fs::remove_file(path).with_context(|| format!("cannot replace {}", path.display()))?;
    }
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

fn sign_hop(claims: &Path, key: &Path, parent: Option<&Path>) -> anyhow::Result<ExitCode> {
    let mut value: Value = read_json(claims, "hop claims")?;
    if let Some(parent) = parent {
        let parent_jws = fs::read_to_string(parent)
            .with_context(|| format!("cannot read parent hop {}", parent.display()))?;
        let Value::Object(map) = &mut value else {
            bail!("hop claims must be a JSON object")
        };
        map.insert(
            "prev".into(),
            Value::String(sha256_digest(parent_jws.trim().as_bytes())),
        );
    }
    // Refuse claims the verifier could never accept, with the field that is wrong.
    check_hop_claims(&value)?;
    let pem =
        fs::read_to_string(key).with_context(|| format!("cannot read key {}", key.display()))?;
    let key = SigningKeyPair::from_pkcs8_pem(&pem)?;
    println!("{}", key.sign_jws(HOP_TYP, &value)?);
    Ok(ExitCode::SUCCESS)
}

fn sign_decision(
    record: &Path,
    key: &Path,
    identity: &str,
    audience: &str,
    decision: &str,
    reason: &str,
    acknowledge: Vec<String>,
) -> anyhow::Result<ExitCode> {
    let record: RequestRecord = read_json(record, "request record")?;
    let decision: DecisionKind = serde_json::from_value(Value::String(decision.to_owned()))
        .map_err(|_| anyhow::anyhow!("--decision is approve or reject, not {decision:?}"))?;
    let acknowledged = acknowledge
        .into_iter()
        .filter(|code| !code.is_empty())
        .map(FindingCode::from)
        .collect();
    let pem =
        fs::read_to_string(key).with_context(|| format!("cannot read key {}", key.display()))?;
    let key = SigningKeyPair::from_pkcs8_pem(&pem)?;
    let claims = countersign_review::decision_claims(
        &record,
        identity,
        audience,
        decision,
        reason,
        acknowledged,
        Utc::now(),
        &uuid::Uuid::new_v4().to_string(),
    );
    println!("{}", key.sign_jws(DECISION_TYP, &claims)?);
    Ok(ExitCode::SUCCESS)
}

fn check_hop_claims(value: &Value) -> anyhow::Result<HopClaims> {
    serde_json::from_value(value.clone())
        .context("hop claims do not match the hop attestation contract")
}

fn digest(file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let digest = if json {
        let value: Value = read_json(file, "JSON file")?;
        json_digest(&value).with_context(|| format!("{}", file.display()))?
    } else {
        sha256_digest(&fs::read(file).with_context(|| format!("cannot read {}", file.display()))?)
    };
    println!("{digest}");
    Ok(ExitCode::SUCCESS)
}

fn demo_workflow(
    gateway: &str,
    token: &str,
    audience: &str,
    timeout: u64,
) -> anyhow::Result<ExitCode> {
    use countersign_client::demo_workflow::{DemoStep, run_demo_workflow};
    let runtime = tokio::runtime::Runtime::new()?;
    let client = countersign_client::GatewayClient::new(gateway);
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let unverified = std::sync::atomic::AtomicUsize::new(0);
    let print = |step: DemoStep| match step {
        DemoStep::Submitted {
            slug,
            request_id,
            state,
            findings,
        } => {
            println!(
                "submitted  {slug:<24} {request_id} → {} {}",
                state.as_str(),
                findings.join(" ")
            )
        }
        DemoStep::Refused { slug, findings } => {
            println!("refused    {slug:<24} {}", findings.join(" "))
        }
        DemoStep::Decided {
            slug,
            decision,
            by,
            receipt,
        } => println!(
            "decided    {slug:<24} {decision:?} by {by}; signature verified against the JWKS; receipt {receipt:?}"
        ),
        DemoStep::Unverified { slug, reason } => {
            unverified.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            println!("UNVERIFIED {slug:<24} {reason}; not acting on it")
        }
        DemoStep::Ended { slug, state } => println!("ended      {slug:<24} {}", state.as_str()),
    };
    let open = runtime
        .block_on(run_demo_workflow(
            &client,
            token,
            audience,
            &countersign_review::SystemClock,
            &run_id,
            std::time::Duration::from_secs(timeout),
            &print,
        ))
        .context("demo workflow failed")?;
    if open > 0 {
        println!("{open} request(s) still undecided after {timeout} s");
    }
    Ok(if unverified.into_inner() > 0 || open > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn demo_requests(dir: &Path, now: DateTime<Utc>, run_id: &str) -> anyhow::Result<ExitCode> {
    fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let demo = countersign_scenarios::demo::demo(now, run_id);
    let trust_path = dir.join("trust.json");
    fs::write(
        &trust_path,
        serde_json::to_string_pretty(&demo.trust_store())? + "\n",
    )?;
    let mut index = Vec::new();
    for (i, scenario) in demo.scenarios.iter().enumerate() {
        let file = format!("{:02}-{}.json", i + 1, scenario.slug);
        fs::write(
            dir.join(&file),
            serde_json::to_string_pretty(&scenario.request)? + "\n",
        )?;
        index.push(json!({
            "file": file,
            "slug": scenario.slug,
            "title": scenario.title,
            "expected_findings": scenario.expected.iter().map(|(code, hop)| json!({"code": code, "hop": hop})).collect::<Vec<_>>(),
        }));
        println!("{file}  {}", scenario.title);
    }
    fs::write(
        dir.join("index.json"),
        serde_json::to_string_pretty(
            &json!({"generated_at": now.to_rfc3339(), "trust": "trust.json", "scenarios": index}),
        )? + "\n",
    )?;
    println!("trust.json  trust store for these requests");
    Ok(ExitCode::SUCCESS)
}
