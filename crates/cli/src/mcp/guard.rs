//! What the MCP approval proxy decides, without any I/O: which tool calls are high-impact (the
//! policy), the DelegationRequest a guarded call becomes, and whether a decision lets exactly
//! that call through.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use countersign_chain::digest::{decision_subject, json_digest};
use countersign_chain::{PublicKey, SigningKeyPair};
use countersign_client::verify_decision;
use countersign_wire::api::{DecisionOutcome, RequestState};
use countersign_wire::{
    Action, AuthorizationDetail, Confirmation, DecisionKind, DelegationRequest, Evidence, HOP_TYP,
    HopClaims, Impact, Jwk, Purpose, REQUEST_SCHEMA, Tier, Tool, Uncertainty,
};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Where a client puts the delegation chain of a call (hop JWSes, root first) in `_meta`.
pub const CHAIN_META: &str = "countersign.dev/chain";
/// Where a client may put the evidence it acted on (`Evidence` objects).
pub const EVIDENCE_META: &str = "countersign.dev/evidence";
/// Where a client may put its own account of its uncertainty (`Uncertainty`).
pub const UNCERTAINTY_META: &str = "countersign.dev/uncertainty";

/// The proxy's policy file (TOML).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProxyPolicy {
    /// How the upstream server is named in requests (`action.tool.server`).
    pub server: String,
    /// The gateway's audience, which decisions must name.
    #[serde(default = "default_audience")]
    pub audience: String,
    /// How long reviewers have to decide a call, in seconds.
    #[serde(default = "default_expiry")]
    pub expires_in_seconds: u64,
    /// The tools whose calls need a countersignature; every other call passes through.
    #[serde(default, rename = "tool")]
    pub tools: Vec<GuardedTool>,
    /// The operator's standing grant, for clients that send no chain of their own.
    #[serde(default)]
    pub grant: Option<GrantConfig>,
}

fn default_audience() -> String {
    "countersign-gateway".into()
}

fn default_expiry() -> u64 {
    1800
}

/// A high-impact tool: what a call to it asks a reviewer to approve.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GuardedTool {
    /// The upstream tool's name.
    pub name: String,
    /// The impact tier (which reviewers, how many approvals, how long).
    pub tier: Tier,
    /// The action type a chain's scope must grant (`payments.transfer`).
    pub action_type: String,
    /// The operation (`initiate`).
    pub operation: String,
    /// The resource acted on, fixed…
    #[serde(default)]
    pub resource: Option<String>,
    /// …or taken from this string argument of the call.
    #[serde(default)]
    pub resource_argument: Option<String>,
    /// Whether the action can be undone.
    #[serde(default)]
    pub reversible: bool,
    /// What the reviewer reads first; default: "Call TOOL on SERVER".
    #[serde(default)]
    pub summary: Option<String>,
}

/// The standing grant as configured: the operator (a principal in the trust store) delegates
/// each guarded call's scope to the client's agent, per call, with a hop the proxy signs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrantConfig {
    /// The granting principal (in the gateway's trust store).
    pub principal: String,
    /// Its private key (PKCS#8 PEM), relative to the policy file.
    pub key: PathBuf,
    /// The agent the grant is to (in the trust store): the MCP client.
    pub agent: String,
    /// The agent's public JWK (as `countersign keygen` prints it), relative to the policy file.
    pub agent_jwk: PathBuf,
    /// The purpose the grant serves.
    pub purpose_id: String,
    /// …in words, for the reviewer.
    pub purpose_text: String,
}

/// A loaded standing grant.
pub struct Grant {
    principal: String,
    key: SigningKeyPair,
    agent: String,
    agent_jkt: String,
    purpose: Purpose,
}

impl ProxyPolicy {
    /// Reads and checks a policy, and loads its grant's keys.
    pub fn load(path: &Path) -> anyhow::Result<(ProxyPolicy, Option<Grant>)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read policy {}", path.display()))?;
        let policy: ProxyPolicy =
            toml::from_str(&text).with_context(|| format!("policy {}", path.display()))?;
        for tool in &policy.tools {
            if tool.resource.is_some() == tool.resource_argument.is_some() {
                anyhow::bail!(
                    "policy {}: tool {} needs exactly one of resource and resource_argument",
                    path.display(),
                    tool.name
                );
            }
        }
        let base = path.parent().unwrap_or(Path::new("."));
        let grant = policy
            .grant
            .as_ref()
            .map(|g| Grant::load(g, base))
            .transpose()?;
        Ok((policy, grant))
    }

    /// The guard of `tool`, if its calls need a countersignature.
    pub fn guarded(&self, tool: &str) -> Option<&GuardedTool> {
        self.tools.iter().find(|t| t.name == tool)
    }
}

impl Grant {
    fn load(config: &GrantConfig, base: &Path) -> anyhow::Result<Grant> {
        let key_path = base.join(&config.key);
        let pem = std::fs::read_to_string(&key_path)
            .with_context(|| format!("cannot read grant key {}", key_path.display()))?;
        let key = SigningKeyPair::from_pkcs8_pem(&pem)
            .map_err(|e| anyhow::anyhow!("grant key {}: {e}", key_path.display()))?;
        let jwk_path = base.join(&config.agent_jwk);
        let jwk: Jwk = serde_json::from_slice(
            &std::fs::read(&jwk_path)
                .with_context(|| format!("cannot read agent JWK {}", jwk_path.display()))?,
        )
        .with_context(|| format!("agent JWK {}", jwk_path.display()))?;
        let agent_key = PublicKey::from_jwk(&jwk)
            .map_err(|e| anyhow::anyhow!("agent JWK {}: {e}", jwk_path.display()))?;
        Ok(Grant {
            principal: config.principal.clone(),
            key,
            agent: config.agent.clone(),
            agent_jkt: agent_key.thumbprint().to_owned(),
            purpose: Purpose {
                id: config.purpose_id.clone(),
                text: config.purpose_text.clone(),
            },
        })
    }
}

/// Why a guarded call is not forwarded; said to the client as a tool error.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Refusal {
    #[error(
        "tool {0} needs a human countersignature, but the call carries no delegation chain \
         (_meta[\"{CHAIN_META}\"]) and the proxy has no standing grant"
    )]
    NoChain(String),
    #[error("the delegation chain in _meta[\"{CHAIN_META}\"] is not a list of hop JWSes: {0}")]
    UnreadableChain(String),
    #[error("{0} in _meta is not valid: {1}")]
    UnreadableMeta(&'static str, String),
    #[error("tool {tool}: argument {argument} (the resource acted on) is missing or not a string")]
    NoResource { tool: String, argument: String },
    #[error("the arguments cannot be digested: {0}")]
    Undigestable(String),
    #[error("the request was {0}: the call was not made")]
    NotApproved(&'static str),
    #[error("the approval does not verify against the gateway's keys: {0}")]
    Unverified(String),
    #[error("the approval is for other arguments than this call's")]
    OtherArguments,
    #[error("this approval was already used for a call")]
    AlreadyUsed,
}

/// A guarded call, as a DelegationRequest ready to submit.
pub struct GuardedCall {
    /// The request (JSON, as submitted).
    pub request: Value,
    /// Its id.
    pub request_id: String,
    /// The arguments, exactly as they will be forwarded if approved.
    pub arguments: Map<String, Value>,
}

/// The hop claims of a compact JWS, unverified (the gateway verifies them).
fn hop_claims(jws: &str) -> Result<HopClaims, Refusal> {
    let payload = jws
        .split('.')
        .nth(1)
        .ok_or_else(|| Refusal::UnreadableChain("a hop is not a compact JWS".into()))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|e| Refusal::UnreadableChain(e.to_string()))?;
    serde_json::from_slice(&bytes).map_err(|e| Refusal::UnreadableChain(e.to_string()))
}

fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Builds the DelegationRequest for a call of `tool` with `arguments` and the call's `_meta`:
/// the chain is the client's own, or a fresh hop of the standing grant narrowed to exactly
/// this action. `ids` gives the request id and (for a granted hop) the transaction id and jti.
pub fn guarded_call(
    policy: &ProxyPolicy,
    grant: Option<&Grant>,
    tool: &GuardedTool,
    arguments: Map<String, Value>,
    meta: Option<&Map<String, Value>>,
    now: DateTime<Utc>,
    ids: impl Fn() -> String,
) -> Result<GuardedCall, Refusal> {
    let resource = match (&tool.resource, &tool.resource_argument) {
        (Some(resource), _) => resource.clone(),
        (None, Some(argument)) => arguments
            .get(argument)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| Refusal::NoResource {
                tool: tool.name.clone(),
                argument: argument.clone(),
            })?,
        (None, None) => {
            return Err(Refusal::NoResource {
                tool: tool.name.clone(),
                argument: "(none configured)".into(),
            });
        }
    };
    let expires_at = now + Duration::seconds(policy.expires_in_seconds as i64);
    let from_client = meta.and_then(|m| m.get(CHAIN_META));
    let (chain, txn, principal, purpose, requested_by) = match (from_client, grant) {
        (Some(chain), _) => {
            let chain: Vec<String> = serde_json::from_value(chain.clone())
                .map_err(|e| Refusal::UnreadableChain(e.to_string()))?;
            let (Some(root), Some(leaf)) = (chain.first(), chain.last()) else {
                return Err(Refusal::UnreadableChain("the chain is empty".into()));
            };
            let (root, leaf) = (hop_claims(root)?, hop_claims(leaf)?);
            let purpose = root.purpose.clone().unwrap_or(Purpose {
                id: "unstated".into(),
                text: "The chain states no purpose".into(),
            });
            (chain, leaf.txn, root.principal, purpose, leaf.sub)
        }
        (None, Some(grant)) => {
            let txn = ids();
            let claims = HopClaims {
                iss: grant.principal.clone(),
                sub: grant.agent.clone(),
                jti: ids(),
                iat: now.timestamp(),
                exp: expires_at.timestamp(),
                nbf: Some(now.timestamp()),
                txn: txn.clone(),
                principal: grant.principal.clone(),
                hop: 0,
                max_depth: 0,
                prev: None,
                cnf: Confirmation {
                    jkt: grant.agent_jkt.clone(),
                },
                authorization_details: vec![AuthorizationDetail {
                    detail_type: tool.action_type.clone(),
                    actions: vec![tool.operation.clone()],
                    locations: Some(vec![resource.clone()]),
                    constraints: None,
                }],
                purpose: Some(grant.purpose.clone()),
                evidence: Vec::new(),
            };
            let hop = grant
                .key
                .sign_jws(HOP_TYP, &claims)
                .map_err(|e| Refusal::UnreadableChain(e.to_string()))?;
            (
                vec![hop],
                txn,
                grant.principal.clone(),
                grant.purpose.clone(),
                grant.agent.clone(),
            )
        }
        (None, None) => return Err(Refusal::NoChain(tool.name.clone())),
    };
    let evidence: Vec<Evidence> = match meta.and_then(|m| m.get(EVIDENCE_META)) {
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|e| Refusal::UnreadableMeta(EVIDENCE_META, e.to_string()))?,
        None => Vec::new(),
    };
    let uncertainty: Uncertainty = match meta.and_then(|m| m.get(UNCERTAINTY_META)) {
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|e| Refusal::UnreadableMeta(UNCERTAINTY_META, e.to_string()))?,
        // Said as it is: nobody estimated anything.
        None => Uncertainty {
            confidence: 0.0,
            method: "not reported: the call came through the MCP approval proxy, which has no \
                     estimate of its own"
                .into(),
            assumptions: Vec::new(),
            known_unknowns: vec!["the calling agent's own confidence".into()],
            alternatives: Vec::new(),
        },
    };
    let arguments_digest = json_digest(&Value::Object(arguments.clone()))
        .map_err(|e| Refusal::Undigestable(e.to_string()))?;
    let request_id = ids();
    let request = DelegationRequest {
        schema: REQUEST_SCHEMA.into(),
        request_id: request_id.clone(),
        txn,
        created_at: rfc3339(now),
        expires_at: rfc3339(expires_at),
        principal,
        purpose,
        chain,
        action: Action {
            action_type: tool.action_type.clone(),
            operation: tool.operation.clone(),
            resource,
            arguments: arguments.clone(),
            arguments_digest,
            requested_by,
            tool: Some(Tool {
                name: tool.name.clone(),
                server: Some(policy.server.clone()),
            }),
            impact: Impact {
                tier: tool.tier,
                reversible: tool.reversible,
                value: None,
            },
            summary: tool
                .summary
                .clone()
                .unwrap_or_else(|| format!("Call {} on {}", tool.name, policy.server)),
        },
        evidence,
        uncertainty,
        callback: None,
        escalate: None,
    };
    let request =
        serde_json::to_value(&request).map_err(|e| Refusal::Undigestable(e.to_string()))?;
    Ok(GuardedCall {
        request,
        request_id,
        arguments,
    })
}

/// Whether `outcome` lets `call` through: approved, by a decision that verifies against the
/// gateway's keys and names this very request, whose arguments are the ones to forward.
/// Anything else is a refusal (fail closed).
pub fn check_approval(
    call: &GuardedCall,
    outcome: &DecisionOutcome,
    jwks: &[Jwk],
    audience: &str,
    now: DateTime<Utc>,
) -> Result<(), Refusal> {
    if outcome.state != RequestState::Approved {
        return Err(Refusal::NotApproved(outcome.state.as_str()));
    }
    if outcome.request_id != call.request_id {
        return Err(Refusal::Unverified(
            "the outcome names another request".into(),
        ));
    }
    let jws = outcome
        .decision_jws
        .as_deref()
        .ok_or_else(|| Refusal::Unverified("no decision JWS".into()))?;
    let subject =
        decision_subject(&call.request).map_err(|e| Refusal::Unverified(e.to_string()))?;
    let claims = verify_decision(jws, jwks, audience, &subject, now)
        .map_err(|e| Refusal::Unverified(e.to_string()))?;
    if claims.decision != DecisionKind::Approve {
        return Err(Refusal::NotApproved("rejected"));
    }
    let approved = call
        .request
        .pointer("/action/arguments_digest")
        .and_then(Value::as_str);
    let forwarded = json_digest(&Value::Object(call.arguments.clone())).ok();
    if approved.is_none() || approved != forwarded.as_deref() {
        return Err(Refusal::OtherArguments);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use countersign_wire::{DECISION_TYP, DecisionClaims, PolicyRef};
    use serde_json::json;

    fn policy() -> ProxyPolicy {
        toml::from_str(
            r#"
server = "invoices"
audience = "aud"
[[tool]]
name = "pay_invoice"
tier = "high"
action_type = "payments.transfer"
operation = "initiate"
resource_argument = "account"
"#,
        )
        .expect("a policy")
    }

    fn grant() -> Grant {
        Grant {
            principal: "user:alice".into(),
            key: SigningKeyPair::from_seed([1; 32]),
            agent: "agent:bookkeeper".into(),
            agent_jkt: SigningKeyPair::from_seed([2; 32])
                .public()
                .thumbprint()
                .to_owned(),
            purpose: Purpose {
                id: "ap".into(),
                text: "Pay invoices".into(),
            },
        }
    }

    fn arguments(amount: &str) -> Map<String, Value> {
        match json!({"invoice": "4711", "amount": amount, "account": "acct:ops"}) {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    fn call(amount: &str, now: DateTime<Utc>) -> GuardedCall {
        let policy = policy();
        let counter = std::cell::Cell::new(0);
        guarded_call(
            &policy,
            Some(&grant()),
            &policy.tools[0],
            arguments(amount),
            None,
            now,
            || {
                counter.set(counter.get() + 1);
                format!("id-{amount}-{}", counter.get())
            },
        )
        .expect("a guarded call")
    }

    /// A reviewer's decision on `call`, as a console signs it.
    fn decision(
        reviewer: &SigningKeyPair,
        call: &GuardedCall,
        kind: DecisionKind,
        now: DateTime<Utc>,
    ) -> String {
        let subject = decision_subject(&call.request).expect("digests");
        let claims = DecisionClaims {
            iss: "user:rita".into(),
            aud: "aud".into(),
            jti: "jti-1".into(),
            iat: now.timestamp(),
            exp: now.timestamp() + 300,
            txn: subject.txn,
            request_id: subject.request_id,
            request_digest: subject.request_digest,
            chain_digest: subject.chain_digest,
            action_digest: subject.action_digest,
            decision: kind,
            reason: "checked".into(),
            flags_acknowledged: Vec::new(),
            policy: PolicyRef {
                id: "default".into(),
                version: "1".into(),
            },
        };
        reviewer.sign_jws(DECISION_TYP, &claims).expect("signed")
    }

    fn outcome(call: &GuardedCall, state: RequestState, jws: String) -> DecisionOutcome {
        DecisionOutcome {
            request_id: call.request_id.clone(),
            state,
            decision_jws: Some(jws),
            approvals: Vec::new(),
        }
    }

    #[test]
    fn a_granted_call_is_a_request_for_exactly_that_action() {
        let now = Utc::now();
        let call = call("1250.00", now);
        let request: DelegationRequest =
            serde_json::from_value(call.request.clone()).expect("a DelegationRequest");
        assert_eq!(request.action.arguments, arguments("1250.00"));
        assert_eq!(
            request.action.arguments_digest,
            json_digest(&Value::Object(arguments("1250.00"))).expect("digest")
        );
        assert_eq!(request.action.resource, "acct:ops");
        assert_eq!(request.action.requested_by, "agent:bookkeeper");
        let hop = hop_claims(&request.chain[0]).expect("a hop");
        assert_eq!(hop.txn, request.txn);
        assert_eq!(hop.authorization_details[0].actions, ["initiate"]);
        assert_eq!(
            hop.authorization_details[0].locations,
            Some(vec!["acct:ops".to_owned()])
        );
        // Without a grant or a chain, nothing is built.
        let policy = policy();
        let refused = guarded_call(
            &policy,
            None,
            &policy.tools[0],
            arguments("1"),
            None,
            now,
            || "x".into(),
        );
        assert!(matches!(refused, Err(Refusal::NoChain(_))));
        // The resource argument is required.
        let mut no_account = arguments("1");
        no_account.remove("account");
        let refused = guarded_call(
            &policy,
            Some(&grant()),
            &policy.tools[0],
            no_account,
            None,
            now,
            || "x".into(),
        );
        assert!(matches!(refused, Err(Refusal::NoResource { .. })));
    }

    #[test]
    fn only_a_verified_approval_of_this_very_call_lets_it_through() {
        let now = Utc::now();
        let reviewer = SigningKeyPair::from_seed([9; 32]);
        let jwks = vec![reviewer.public().to_jwk()];
        let this = call("1250.00", now);
        let approve = decision(&reviewer, &this, DecisionKind::Approve, now);
        let approved = outcome(&this, RequestState::Approved, approve.clone());
        assert_eq!(check_approval(&this, &approved, &jwks, "aud", now), Ok(()));

        // Not approved, whatever the JWS says.
        for state in [
            RequestState::Rejected,
            RequestState::Expired,
            RequestState::Pending,
        ] {
            let o = outcome(&this, state, approve.clone());
            assert!(matches!(
                check_approval(&this, &o, &jwks, "aud", now),
                Err(Refusal::NotApproved(_))
            ));
        }
        // A reject said to be an approval.
        let reject = decision(&reviewer, &this, DecisionKind::Reject, now);
        let o = outcome(&this, RequestState::Approved, reject);
        assert_eq!(
            check_approval(&this, &o, &jwks, "aud", now),
            Err(Refusal::NotApproved("rejected"))
        );
        // Another call's approval (other arguments), replayed onto this one.
        let other = call("12500.00", now);
        let theirs = decision(&reviewer, &other, DecisionKind::Approve, now);
        let o = outcome(&this, RequestState::Approved, theirs);
        assert!(matches!(
            check_approval(&this, &o, &jwks, "aud", now),
            Err(Refusal::Unverified(_))
        ));
        // Signed by a key the gateway does not list, or for another audience.
        let stranger = SigningKeyPair::from_seed([10; 32]);
        let o = outcome(
            &this,
            RequestState::Approved,
            decision(&stranger, &this, DecisionKind::Approve, now),
        );
        assert!(matches!(
            check_approval(&this, &o, &jwks, "aud", now),
            Err(Refusal::Unverified(_))
        ));
        assert!(matches!(
            check_approval(&this, &approved, &jwks, "other-aud", now),
            Err(Refusal::Unverified(_))
        ));
        // The arguments to forward changed after the request was made.
        let mut changed = call("1250.00", now);
        changed.request = this.request.clone();
        changed.request_id = this.request_id.clone();
        changed.arguments = arguments("9999.00");
        assert_eq!(
            check_approval(&changed, &approved, &jwks, "aud", now),
            Err(Refusal::OtherArguments)
        );
        // No JWS at all.
        let mut bare = approved.clone();
        bare.decision_jws = None;
        assert!(matches!(
            check_approval(&this, &bare, &jwks, "aud", now),
            Err(Refusal::Unverified(_))
        ));
    }

    #[test]
    fn a_policy_names_each_guarded_tools_resource_once() {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("proxy.toml");
        std::fs::write(
            &path,
            "server = \"s\"\n[[tool]]\nname = \"t\"\ntier = \"low\"\naction_type = \"a\"\noperation = \"o\"\n",
        )
        .expect("written");
        let error = ProxyPolicy::load(&path).err().expect("refused").to_string();
        assert!(error.contains("exactly one of resource"), "{error}");
        std::fs::write(&path, "server = \"s\"\nsurprise = 1\n").expect("written");
        assert!(
            ProxyPolicy::load(&path).is_err(),
            "unknown keys are refused"
        );
    }
}
