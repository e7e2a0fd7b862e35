//! `countersign-gateway`: run the gateway and administer who may use it.
//!
//! Settings come from flags, then `COUNTERSIGN_*` environment variables, then a TOML file
//! (`--config`), then defaults. `serve` reloads the trust store and the review policy on
//! `SIGHUP`, and drains then stops on `SIGTERM` or `SIGINT`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use base64::Engine as _;
use chrono::Utc;
use clap::{Args, Parser, Subcommand};
use countersign_chain::PublicKey;
use countersign_gateway::auth::{WORKFLOW_TOKEN_PREFIX, workflow_token_hash};
use countersign_gateway::tls::TlsFiles;
use countersign_gateway::{GatewayConfig, start};
use countersign_review::SystemClock;
use countersign_store::{ReviewerRow, Store};
use countersign_wire::{Jwk, Party, PartyKind, Tier};
use serde::Deserialize;

#[derive(Parser)]
#[command(
    name = "countersign-gateway",
    version,
    about = "The Countersign gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API until SIGINT or SIGTERM (SIGHUP reloads the trust store and the policy).
    Serve(ServeArgs),
    /// Manage workflow credentials.
    #[command(subcommand)]
    Workflow(WorkflowCommand),
    /// Manage console users.
    #[command(subcommand)]
    Reviewer(ReviewerCommand),
    /// Manage the trust store: the parties (people, agents, services) chains may name.
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Check the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Export review records for a time range or a set of requests: JSONL, CSV, or an
    /// offline-verifiable bundle (check it with `countersign verify-bundle`).
    Export {
        #[command(flatten)]
        settings: Settings,
        /// jsonl, csv or bundle.
        #[arg(long, default_value = "bundle")]
        format: String,
        /// Start of the receive-time range, RFC 3339 [default: 30 days before --to]
        #[arg(long)]
        from: Option<String>,
        /// End of the range, RFC 3339, exclusive [default: now]
        #[arg(long)]
        to: Option<String>,
        /// Comma-separated request ids, instead of a range.
        #[arg(long)]
        request_id: Option<String>,
        /// Where to write: a file (jsonl, csv) or a new directory (bundle).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        gateway: GatewayFiles,
    },
    /// Print the review measures as JSON: exception and correction rates, approval latency,
    /// cycle time, audit completeness, per day.
    Metrics {
        #[command(flatten)]
        settings: Settings,
        /// Start of the range, RFC 3339 [default: 30 days before --to]
        #[arg(long)]
        from: Option<String>,
        /// End of the range, RFC 3339 [default: now]
        #[arg(long)]
        to: Option<String>,
    },
    /// Write a consistent copy of the database while the gateway runs (SQLite `VACUUM INTO`);
    /// to restore, stop the gateway and start it on the copy (`--database COPY`).
    Backup {
        #[command(flatten)]
        settings: Settings,
        /// Where to write the copy (must not exist).
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args)]
struct Settings {
    /// TOML file with any of: listen, database, trust, audience, key, policy, log_format,
    /// public_url, metrics_listen, witnesses, tls_cert, tls_key (deploy/gateway.toml).
    #[arg(long, env = "COUNTERSIGN_CONFIG")]
    config: Option<PathBuf>,
    /// SQLite database file [default: countersign-gateway.db]
    #[arg(long, env = "COUNTERSIGN_DATABASE")]
    database: Option<PathBuf>,
}

/// What makes a gateway itself: whom it trusts, the audience it serves, its key.
#[derive(Args)]
struct GatewayFiles {
    /// Trust store chains are verified with [default: trust.json]
    #[arg(long, env = "COUNTERSIGN_TRUST")]
    trust: Option<PathBuf>,
    /// Audience the gateway serves, which decisions must name [default: countersign-gateway]
    #[arg(long, env = "COUNTERSIGN_AUDIENCE")]
    audience: Option<String>,
    /// The gateway's signing key, created by `serve` if missing; the log key is
    /// `log-key.pem` next to it [default: gateway-key.pem]
    #[arg(long, env = "COUNTERSIGN_KEY")]
    key: Option<PathBuf>,
}

impl GatewayFiles {
    fn trust(&self, file: &FileConfig) -> PathBuf {
        self.trust
            .clone()
            .or_else(|| file.trust.clone())
            .unwrap_or_else(|| "trust.json".into())
    }

    fn audience(&self, file: &FileConfig) -> String {
        audience_or_default(self.audience.clone(), file)
    }

    fn key(&self, file: &FileConfig) -> PathBuf {
        key_or_default(self.key.clone(), file)
    }
}

fn audience_or_default(flag: Option<String>, file: &FileConfig) -> String {
    flag.or_else(|| file.audience.clone())
        .unwrap_or_else(|| "countersign-gateway".into())
}

fn key_or_default(flag: Option<PathBuf>, file: &FileConfig) -> PathBuf {
    flag.or_else(|| file.key.clone())
        .unwrap_or_else(|| "gateway-key.pem".into())
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    settings: Settings,
    /// Address to listen on [default: 127.0.0.1:8787]
    #[arg(long, env = "COUNTERSIGN_LISTEN")]
    listen: Option<SocketAddr>,
    #[command(flatten)]
    gateway: GatewayFiles,
    /// Review policy (TOML: per tier who decides, time to decide, escalation, quorum,
    /// blocking findings), read again on SIGHUP [default: none: one approval, no deadline]
    #[arg(long, env = "COUNTERSIGN_POLICY")]
    policy: Option<PathBuf>,
    /// Log format: text or json [default: text]
    #[arg(long, env = "COUNTERSIGN_LOG_FORMAT")]
    log_format: Option<String>,
    /// The URL clients reach the gateway at, named by its agent card; required unless it
    /// listens on loopback [default on loopback: http://LISTEN/, or https:// with TLS]
    #[arg(long, env = "COUNTERSIGN_PUBLIC_URL")]
    public_url: Option<String>,
    /// A witness to submit every audit checkpoint to (c2sp.org/tlog-witness), as URL=VKEY
    /// (the witness's submission prefix and cosignature key); repeat for several
    #[arg(long = "witness", value_name = "URL=VKEY")]
    witnesses: Vec<String>,
    /// On SIGTERM, how long /readyz answers 503 before streams end and the gateway stops
    /// (so a load balancer takes it out first) [default: 5]
    #[arg(long, value_name = "SECONDS", env = "COUNTERSIGN_DRAIN_SECONDS")]
    drain_seconds: Option<u64>,
    /// Serve Prometheus metrics at http://ADDR/metrics (keep it off the public network)
    /// [default: not served]
    #[arg(long, value_name = "ADDR", env = "COUNTERSIGN_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Serve HTTPS with this certificate chain (PEM, the gateway's certificate first); needs
    /// --tls-key [default: plain HTTP]
    #[arg(long, value_name = "PATH", env = "COUNTERSIGN_TLS_CERT")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1); needs --tls-cert
    #[arg(long, value_name = "PATH", env = "COUNTERSIGN_TLS_KEY")]
    tls_key: Option<PathBuf>,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute every entry from the stored events and check every signed checkpoint; prints
    /// a JSON report and exits 0 if the log is intact, 1 if anything was changed or removed.
    Verify {
        #[command(flatten)]
        settings: Settings,
        /// Audience the gateway serves (names the log) [default: countersign-gateway]
        #[arg(long, env = "COUNTERSIGN_AUDIENCE")]
        audience: Option<String>,
        /// The gateway's key file; the log key is `log-key.pem` next to it
        /// [default: gateway-key.pem]
        #[arg(long, env = "COUNTERSIGN_KEY")]
        key: Option<PathBuf>,
        /// Pinned log verifier key: `name+keyid+base64` from /v1/audit/log-key, or @FILE
        /// holding it, instead of trusting the key file found on this machine.
        #[arg(long)]
        log_key: Option<String>,
        #[command(flatten)]
        auditor: AuditorChecks,
    },
}

/// What an auditor holds from before: a checkpoint, and the witnesses they rely on.
#[derive(clap::Args)]
struct AuditorChecks {
    /// A signed checkpoint you kept (a file): the log must be a consistent extension of it,
    /// or the run fails (a rolled-back or rewritten log)
    #[arg(long, value_name = "FILE")]
    since: Option<PathBuf>,
    /// A witness cosignature key (name+keyid+base64, type 0x04) the latest checkpoint must
    /// carry a cosignature from; repeat for several
    #[arg(long = "witness", value_name = "VKEY")]
    witnesses: Vec<String>,
    /// How many of the --witness keys must have cosigned [default: all of them]
    #[arg(long, value_name = "K", requires = "witnesses")]
    witness_quorum: Option<usize>,
}

impl AuditorChecks {
    fn into_checks(self) -> anyhow::Result<countersign_gateway::audit::LogChecks> {
        let since = self
            .since
            .map(|path| {
                std::fs::read_to_string(&path)
                    .with_context(|| format!("--since: cannot read {}", path.display()))
            })
            .transpose()?;
        let witnesses = if self.witnesses.is_empty() {
            None
        } else {
            let keys = self
                .witnesses
                .iter()
                .map(|k| countersign_audit::WitnessKey::parse(k))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("--witness: {e}"))?;
            let quorum = self.witness_quorum.unwrap_or(keys.len());
            Some(
                countersign_audit::WitnessPolicy::new(keys, quorum)
                    .map_err(|e| anyhow::anyhow!("--witness-quorum: {e}"))?,
            )
        };
        Ok(countersign_gateway::audit::LogChecks { since, witnesses })
    }
}

#[derive(Subcommand)]
enum WorkflowCommand {
    /// Issue (or replace) a workflow's credential; prints it once.
    Add {
        /// Workflow name.
        name: String,
        #[command(flatten)]
        settings: Settings,
    },
}

#[derive(Subcommand)]
enum ReviewerCommand {
    /// Enrol a console user with their public key.
    Enrol {
        /// Identity, as decisions will name it in `iss`.
        #[arg(long)]
        identity: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Comma-separated roles: reviewer, supervisor, auditor.
        #[arg(long, value_delimiter = ',', default_value = "reviewer")]
        roles: Vec<String>,
        /// Comma-separated tiers they may decide: low, medium, high, critical.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "low,medium,high,critical"
        )]
        tiers: Vec<String>,
        /// Their public JWK: the JSON itself, or @FILE (as `countersign keygen` prints it).
        #[arg(long)]
        jwk: String,
        #[command(flatten)]
        settings: Settings,
    },
}

#[derive(Subcommand)]
enum TrustCommand {
    /// Add a party (or replace it) with its public key. A running gateway picks the change
    /// up within a second (or at once on SIGHUP); no restart.
    Add {
        /// Identity, as hops name it (`agent:invoices`).
        #[arg(long)]
        identity: String,
        /// human, agent or service.
        #[arg(long, default_value = "agent")]
        kind: String,
        /// Name to show reviewers.
        #[arg(long)]
        name: String,
        /// Its public JWK: the JSON itself, or @FILE (as `countersign keygen` prints it).
        #[arg(long)]
        jwk: String,
        /// TOML file with any of the serve settings (for `trust`).
        #[arg(long, env = "COUNTERSIGN_CONFIG")]
        config: Option<PathBuf>,
        /// The trust store file [default: trust.json]
        #[arg(long, env = "COUNTERSIGN_TRUST")]
        trust: Option<PathBuf>,
    },
}

/// A public JWK given as JSON or `@FILE`: the JWK itself or `countersign keygen` output
/// (`{"jwk": …, "thumbprint": …}`), checked to be a usable Ed25519 key.
fn jwk_argument(given: String) -> anyhow::Result<Jwk> {
    let text = match given.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?
        }
        None => given,
    };
    let value: serde_json::Value = serde_json::from_str(&text).context("--jwk is not JSON")?;
    let jwk: Jwk = serde_json::from_value(value.get("jwk").cloned().unwrap_or(value))
        .context("--jwk is not a JWK")?;
    PublicKey::from_jwk(&jwk).context("--jwk is not a usable Ed25519 key")?;
    Ok(jwk)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database: Option<PathBuf>,
    trust: Option<PathBuf>,
    audience: Option<String>,
    key: Option<PathBuf>,
    policy: Option<PathBuf>,
    log_format: Option<String>,
    public_url: Option<String>,
    #[serde(default)]
    witnesses: Vec<String>,
    metrics_listen: Option<SocketAddr>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

fn file_config(path: Option<&Path>) -> anyhow::Result<FileConfig> {
    let Some(path) = path else {
        return Ok(FileConfig::default());
    };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config {} is invalid", path.display()))
}

fn database(settings: &Settings, file: &FileConfig) -> PathBuf {
    settings
        .database
        .clone()
        .or_else(|| file.database.clone())
        .unwrap_or_else(|| "countersign-gateway.db".into())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("countersign-gateway: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("countersign-gateway: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Audit(AuditCommand::Verify {
            settings,
            audience,
            key,
            log_key,
            auditor,
        }) => {
            let checks = auditor.into_checks()?;
            let file = file_config(settings.config.as_deref())?;
            let audience = audience_or_default(audience, &file);
            let key = key_or_default(key, &file);
            let store = Store::open(&database(&settings, &file)).await?;
            let origin = countersign_gateway::log_origin(&audience);
            let verifier = match log_key {
                Some(pinned) => countersign_audit::parse_pinned_key(&pinned)
                    .map_err(|e| anyhow::anyhow!("--log-key: {e}"))?,
                None => {
                    let path = countersign_gateway::log_key_path(&key);
                    anyhow::ensure!(path.exists(), "no log key at {}", path.display());
                    eprintln!(
                        "WARNING: no --log-key: checked against the log key file on this machine \
                         ({}), which whoever can change the database may also have replaced; \
                         pin the key you recorded from /v1/audit/log-key.",
                        path.display()
                    );
                    countersign_gateway::audit::log_verifier(&path, &origin)?
                }
            };
            let report = countersign_gateway::audit::verify_log(
                &store,
                &verifier,
                &origin,
                Utc::now().into(),
                &checks,
            )
            .await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.problems.is_empty() {
                std::process::exit(1);
            }
            Ok(())
        }
        Command::Export {
            settings,
            format,
            from,
            to,
            request_id,
            out,
            gateway,
        } => {
            let file = file_config(settings.config.as_deref())?;
            let query = countersign_gateway::export::ExportQuery {
                format: Some(format.clone()),
                from,
                to,
                request_id,
            };
            let selection = query
                .selection(Utc::now().into())
                .map_err(anyhow::Error::msg)?;
            let store = Store::open(&database(&settings, &file)).await?;
            // Seal what is pending first, as the HTTP export does: a bundle then proves every
            // event its records name. A records export seals too where the log key is here.
            let log_key = countersign_gateway::log_key_path(&gateway.key(&file));
            if format == "bundle" || log_key.exists() {
                anyhow::ensure!(
                    log_key.exists(),
                    "no log key at {}: export where the gateway's key is (--key)",
                    log_key.display()
                );
                let log = countersign_gateway::audit::AuditLog::open(
                    &store,
                    &log_key,
                    &countersign_gateway::log_origin(&gateway.audience(&file)),
                )
                .await?;
                while log.seal(&store, Utc::now().into()).await? > 0 {}
            }
            let actor = format!("operator:{}", whoami());
            if format != "bundle" {
                let (body, _, count) =
                    countersign_gateway::export::records(&store, &selection, &format).await?;
                std::fs::write(&out, &body)
                    .with_context(|| format!("cannot write {}", out.display()))?;
                countersign_gateway::export::seal_export(
                    &store,
                    &selection,
                    &format,
                    count as u64,
                    (
                        "sha256",
                        countersign_chain::digest::sha256_digest(body.as_bytes()),
                    ),
                    &actor,
                    Utc::now().into(),
                )
                .await?;
                eprintln!("{count} records written to {}", out.display());
                return Ok(());
            }
            let audience = gateway.audience(&file);
            let key = gateway.key(&file);
            let (trust_store, _) = countersign_gateway::trust::load_trust(&gateway.trust(&file))?;
            let signer = countersign_gateway::audit::log_signer(
                &countersign_gateway::log_key_path(&key),
                &countersign_gateway::log_origin(&audience),
            )?;
            let source = countersign_gateway::bundle::BundleSource {
                store: &store,
                signer: &signer,
                trust: &trust_store,
                audience: &audience,
                clock: &SystemClock,
            };
            let summary = countersign_gateway::bundle::write_bundle(
                &source,
                &selection,
                &out,
                &actor,
                |done, total| {
                    eprint!("\rexporting: {done} / {total} records");
                },
            )
            .await?;
            eprintln!(
                "\nbundle of {} records and {} audit entries written to {} (manifest {})",
                summary.records,
                summary.events,
                summary.dir.display(),
                summary.manifest_digest
            );
            Ok(())
        }
        Command::Backup { settings, out } => {
            let file = file_config(settings.config.as_deref())?;
            let store = Store::open(&database(&settings, &file)).await?;
            store.backup_into(&out).await?;
            eprintln!("backed up to {}", out.display());
            Ok(())
        }
        Command::Metrics { settings, from, to } => {
            let file = file_config(settings.config.as_deref())?;
            let (from, to) = countersign_gateway::metrics::range(
                from.as_deref(),
                to.as_deref(),
                Utc::now().into(),
            )
            .map_err(anyhow::Error::msg)?;
            let store = Store::open(&database(&settings, &file)).await?;
            let metrics = countersign_gateway::metrics::metrics(&store, from, to).await?;
            println!("{}", serde_json::to_string_pretty(&metrics)?);
            Ok(())
        }
        Command::Workflow(WorkflowCommand::Add { name, settings }) => {
            let file = file_config(settings.config.as_deref())?;
            let store = Store::open(&database(&settings, &file)).await?;
            let mut secret = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut secret);
            let token = format!(
                "{WORKFLOW_TOKEN_PREFIX}{}",
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
            );
            store
                .add_workflow(&name, &workflow_token_hash(&token), Utc::now().into())
                .await?;
            // The only time the credential is shown; the gateway keeps its hash.
            println!("{token}");
            Ok(())
        }
        Command::Trust(TrustCommand::Add {
            identity,
            kind,
            name,
            jwk,
            config,
            trust,
        }) => {
            let file = file_config(config.as_deref())?;
            let path = trust.or(file.trust).unwrap_or_else(|| "trust.json".into());
            let kind: PartyKind = serde_json::from_value(serde_json::Value::String(kind.clone()))
                .map_err(|_| {
                anyhow::anyhow!("unknown kind {kind:?}: use human, agent or service")
            })?;
            let party = Party {
                kind,
                display_name: name,
                keys: vec![jwk_argument(jwk)?],
            };
            let replaced = countersign_gateway::trust::add_party(&path, &identity, party)?;
            eprintln!(
                "{} {identity} in {}",
                if replaced { "replaced" } else { "added" },
                path.display()
            );
            Ok(())
        }
        Command::Reviewer(ReviewerCommand::Enrol {
            identity,
            name,
            roles,
            tiers,
            jwk,
            settings,
        }) => {
            let file = file_config(settings.config.as_deref())?;
            let jwk = jwk_argument(jwk)?;
            let key = PublicKey::from_jwk(&jwk).context("--jwk is not a usable Ed25519 key")?;
            let roles = roles
                .iter()
                .map(|role| {
                    countersign_review::Role::parse(role).with_context(|| {
                        format!("unknown role {role:?}: use reviewer, supervisor or auditor")
                    })
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let tiers = tiers
                .iter()
                .map(|t| {
                    serde_json::from_value::<Tier>(serde_json::Value::String(t.clone()))
                        .with_context(|| format!("unknown tier {t:?}"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let store = Store::open(&database(&settings, &file)).await?;
            let row = ReviewerRow {
                identity: identity.clone(),
                display_name: name,
                roles,
                tiers,
                keys: vec![key.to_jwk()],
            };
            store
                .enrol_reviewer(&row, &[key.thumbprint().to_owned()], Utc::now().into())
                .await?;
            println!("enrolled {identity} with key {}", key.thumbprint());
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let file = file_config(args.settings.config.as_deref())?;
    let log_format = args
        .log_format
        .or(file.log_format.clone())
        .unwrap_or_else(|| "text".into());
    // The MCP SDK logs each (stateless) request's service start and end at info.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,rmcp=warn".into());
    match log_format.as_str() {
        // Logs go to stderr in either form; stdout is left to what a command prints.
        "json" => tracing_subscriber::fmt()
            .json()
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init(),
        "text" => tracing_subscriber::fmt()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .with_env_filter(filter)
            .init(),
        other => bail!("unknown log format {other:?}: use text or json"),
    }
    let config = GatewayConfig {
        listen: args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8787".parse().expect("valid address")),
        database: database(&args.settings, &file),
        trust: args.gateway.trust(&file),
        audience: args.gateway.audience(&file),
        key: args.gateway.key(&file),
        policy: args.policy.or(file.policy),
        public_url: args.public_url.or(file.public_url),
        witnesses: if args.witnesses.is_empty() {
            file.witnesses
        } else {
            args.witnesses
        },
        metrics_listen: args.metrics_listen.or(file.metrics_listen),
        tls: TlsFiles::pair(
            args.tls_cert.or(file.tls_cert),
            args.tls_key.or(file.tls_key),
        )?,
    };
    let mut stop_signals = StopSignals::listen()?;
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let gateway = start(&config, Arc::new(SystemClock)).await?;
    #[cfg(unix)]
    {
        // SIGHUP reloads the trust store now (a change to the file is also picked up within
        // a second) and the review policy. Connections, streams included, stay as they are.
        let trust = gateway.trust();
        let policy = gateway.policy();
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                if let Err(e) = trust.reload() {
                    tracing::error!(error = %format!("{e:#}"), "trust store not reloaded: the one in force stays");
                }
                if let Err(e) = policy.reload() {
                    tracing::error!(error = %format!("{e:#}"), "review policy not reloaded: the one in force stays");
                }
            }
        });
    }
    let stop = gateway.shutdown_handle();
    let drain = gateway.drain_handle();
    let drain_for = std::time::Duration::from_secs(args.drain_seconds.unwrap_or(5));
    tokio::spawn(async move {
        stop_signals.next().await;
        // Readiness first: a load balancer stops sending work, then streams end and
        // in-flight requests finish.
        drain.drain();
        tracing::info!(seconds = drain_for.as_secs(), "draining");
        tokio::select! {
            _ = tokio::time::sleep(drain_for) => {}
            _ = stop_signals.next() => tracing::info!("second signal: not waiting any longer"),
        }
        tracing::info!("shutting down");
        let _ = stop.send(true);
    });
    gateway.wait().await
}

/// Who runs the CLI, for the audit log's record of an export.
fn whoami() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

/// SIGINT and SIGTERM, listened for from creation: a signal that arrives while the gateway
/// starts must drain it, not kill it by the default action.
struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    fn listen() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn next(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.interrupt.recv() => {},
            _ = self.terminate.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
