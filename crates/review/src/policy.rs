//! The review policy: per impact tier, who may decide, how long they have (the SLA), whom to
//! escalate to and when (levels, like an on-call escalation policy), how many distinct
//! approvers an approval needs (quorum), and which finding codes block reviewers.
//!
//! A policy is a TOML file the gateway loads at start-up and again on `SIGHUP`; a mistake in
//! it is a `PolicyError` naming the place and what is wrong: the gateway does not start with
//! it, and a running one keeps the policy in force. Tiers the file does not mention keep
//! [`TierPolicy::default`], which is the gateway's behaviour without a policy. Everything here
//! is pure: time comes in as a value.

use std::collections::BTreeMap;

use chrono::Duration;
use countersign_wire::{Finding, FindingCode, Severity, Tier, Timestamp};
use serde::Deserialize;

use crate::Role;

/// Why a policy file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct PolicyError {
    /// Where: `line 4, column 1`, or a dotted path such as `tiers.critical.approvals`.
    pub place: String,
    /// What is wrong, in words an operator can act on.
    pub message: String,
}

fn problem(place: impl Into<String>, message: impl Into<String>) -> PolicyError {
    PolicyError {
        place: place.into(),
        message: message.into(),
    }
}

/// One escalation level.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EscalationLevel {
    /// How long after the decision deadline (the SLA) this level is reached.
    pub after: Duration,
    /// Who is called: `role:supervisor` or a person's identity.
    pub to: Vec<String>,
}

/// The rules for one tier.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TierPolicy {
    /// Roles whose members may decide (reviewer, supervisor).
    pub deciders: Vec<Role>,
    /// Time to decide, from receipt; `None`: no deadline before the request's own expiry.
    pub decide_within: Option<Duration>,
    /// Distinct approvers an approval needs (a rejection always takes one).
    pub approvals: u32,
    /// Finding codes that block reviewers: only a supervisor override can approve.
    pub blocking: Vec<FindingCode>,
    /// Escalation levels, in order.
    pub escalation: Vec<EscalationLevel>,
}

impl Default for TierPolicy {
    fn default() -> Self {
        TierPolicy {
            deciders: vec![Role::Reviewer, Role::Supervisor],
            decide_within: None,
            approvals: 1,
            blocking: Vec::new(),
            escalation: Vec::new(),
        }
    }
}

/// The whole policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Policy id (decisions can name it).
    pub id: String,
    /// Policy version.
    pub version: String,
    tiers: BTreeMap<Tier, TierPolicy>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    id: String,
    version: String,
    #[serde(default)]
    tiers: BTreeMap<String, TierFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TierFile {
    deciders: Option<Vec<String>>,
    decide_within: Option<String>,
    approvals: Option<u32>,
    #[serde(default)]
    blocking: Vec<String>,
    #[serde(default)]
    escalation: Vec<LevelFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LevelFile {
    after: String,
    to: Vec<String>,
}

/// Most approvers a quorum may ask for; beyond it a request could never be approved in time.
pub const MAX_APPROVALS: u32 = 5;

/// Reads `30s`, `90m`, `4h`, `2d` (or combinations such as `1h30m`).
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut total = Duration::zero();
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let value: i64 = number.parse().ok()?;
        number.clear();
        let unit = match c {
            's' => Duration::try_seconds(value)?,
            'm' => Duration::try_minutes(value)?,
            'h' => Duration::try_hours(value)?,
            'd' => Duration::try_days(value)?,
            _ => return None,
        };
        total = total.checked_add(&unit)?;
    }
    number.is_empty().then_some(total)
}

impl Default for Policy {
    /// The gateway's behaviour without a policy file.
    fn default() -> Self {
        Policy {
            id: crate::decision::DEFAULT_POLICY_ID.into(),
            version: crate::decision::DEFAULT_POLICY_VERSION.into(),
            tiers: BTreeMap::new(),
        }
    }
}

impl Policy {
    /// How decisions name this policy.
    pub fn reference(&self) -> countersign_wire::PolicyRef {
        countersign_wire::PolicyRef {
            id: self.id.clone(),
            version: self.version.clone(),
        }
    }

    /// The earliest time to decide across tiers, if any tier has one: requests younger than
    /// this cannot be overdue.
    pub fn shortest_deadline(&self) -> Option<Duration> {
        self.tiers.values().filter_map(|t| t.decide_within).min()
    }

    /// Parses and checks a policy file.
    pub fn from_toml(text: &str) -> Result<Policy, PolicyError> {
        let file: PolicyFile = toml::from_str(text).map_err(|e| {
            let place = e
                .span()
                .map(|span| {
                    let before = &text[..span.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let column = before.rsplit('\n').next().map_or(0, str::len) + 1;
                    format!("line {line}, column {column}")
                })
                .unwrap_or_else(|| "policy".into());
            problem(place, e.message().to_owned())
        })?;
        if file.id.trim().is_empty() || file.version.trim().is_empty() {
            return Err(problem(
                "id, version",
                "the policy needs an id and a version",
            ));
        }
        let mut tiers = BTreeMap::new();
        for (name, tier_file) in file.tiers {
            let tier = match name.as_str() {
                "low" => Tier::Low,
                "medium" => Tier::Medium,
                "high" => Tier::High,
                "critical" => Tier::Critical,
                other => {
                    return Err(problem(
                        format!("tiers.{other}"),
                        "unknown tier; use low, medium, high or critical",
                    ));
                }
            };
            tiers.insert(tier, tier_policy(&name, tier_file)?);
        }
        Ok(Policy {
            id: file.id,
            version: file.version,
            tiers,
        })
    }

    /// The rules for `tier`.
    pub fn tier(&self, tier: Tier) -> TierPolicy {
        self.tiers.get(&tier).cloned().unwrap_or_default()
    }
}

fn tier_policy(name: &str, file: TierFile) -> Result<TierPolicy, PolicyError> {
    let place = |field: &str| format!("tiers.{name}.{field}");
    let mut policy = TierPolicy::default();
    if let Some(deciders) = file.deciders {
        if deciders.is_empty() {
            return Err(problem(
                place("deciders"),
                "nobody could decide this tier; name reviewer and/or supervisor",
            ));
        }
        policy.deciders = deciders
            .iter()
            .map(|d| match Role::parse(d) {
                Some(Role::Auditor) => Err(problem(
                    place("deciders"),
                    "auditors read and export; they do not decide",
                )),
                Some(role) => Ok(role),
                None => Err(problem(
                    place("deciders"),
                    format!("unknown role {d:?}; use reviewer or supervisor"),
                )),
            })
            .collect::<Result<_, _>>()?;
    }
    if let Some(within) = file.decide_within {
        let duration = parse_duration(&within)
            .filter(|d| *d > Duration::zero())
            .ok_or_else(|| {
                problem(
                    place("decide_within"),
                    format!("{within:?} is not a duration such as 30m, 4h or 1d"),
                )
            })?;
        policy.decide_within = Some(duration);
    }
    if let Some(approvals) = file.approvals {
        if approvals == 0 || approvals > MAX_APPROVALS {
            return Err(problem(
                place("approvals"),
                format!("must be between 1 and {MAX_APPROVALS}, not {approvals}"),
            ));
        }
        policy.approvals = approvals;
    }
    for code in &file.blocking {
        match FindingCode::from(code.clone()) {
            FindingCode::Other(unknown) => {
                return Err(problem(
                    place("blocking"),
                    format!("unknown finding code {unknown:?}"),
                ));
            }
            known => policy.blocking.push(known),
        }
    }
    if !file.escalation.is_empty() && policy.decide_within.is_none() {
        return Err(problem(
            place("escalation"),
            "escalation starts when the time to decide runs out: set decide_within",
        ));
    }
    let mut previous: Option<Duration> = None;
    for (i, level) in file.escalation.into_iter().enumerate() {
        let at = format!("tiers.{name}.escalation[{i}]");
        let after = parse_duration(&level.after).ok_or_else(|| {
            problem(
                format!("{at}.after"),
                format!("{:?} is not a duration such as 0m, 30m or 2h", level.after),
            )
        })?;
        if previous.is_some_and(|p| after <= p) {
            return Err(problem(
                format!("{at}.after"),
                "each level must come later than the one before",
            ));
        }
        if level.to.is_empty() {
            return Err(problem(format!("{at}.to"), "name whom to call"));
        }
        for target in &level.to {
            let valid = match target.strip_prefix("role:") {
                Some(role) => matches!(Role::parse(role), Some(Role::Reviewer | Role::Supervisor)),
                None => target.contains(':') && !target.trim().is_empty(),
            };
            if !valid {
                return Err(problem(
                    format!("{at}.to"),
                    format!(
                        "{target:?} is neither role:supervisor / role:reviewer nor an identity such as user:sol"
                    ),
                ));
            }
        }
        previous = Some(after);
        policy.escalation.push(EscalationLevel {
            after,
            to: level.to,
        });
    }
    Ok(policy)
}

/// Where a request stands against its tier's deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Deadline {
    /// No deadline, or not reached yet (with when it is).
    OnTime(Option<Timestamp>),
    /// Past the deadline: the escalation level reached (1-based; 0 when the policy has no
    /// levels), since when, and when the next level comes.
    Overdue {
        /// Level reached.
        level: usize,
        /// When that level was reached.
        since: Timestamp,
        /// When the next level is reached, if there is one.
        next: Option<Timestamp>,
    },
}

impl TierPolicy {
    /// Where a request received at `received_at` stands at `now`.
    pub fn deadline(&self, received_at: Timestamp, now: Timestamp) -> Deadline {
        let Some(due) = self.due_at(received_at) else {
            return Deadline::OnTime(None);
        };
        if now < due {
            return Deadline::OnTime(Some(due));
        }
        let reached = self
            .escalation
            .iter()
            .take_while(|level| now >= due + level.after)
            .count();
        let since = match reached {
            0 => due,
            n => due + self.escalation[n - 1].after,
        };
        let next = self.escalation.get(reached).map(|level| due + level.after);
        Deadline::Overdue {
            level: reached,
            since,
            next,
        }
    }

    /// When a request received at `received_at` is due, if this tier sets a time to decide:
    /// the one place a due time is computed.
    pub fn due_at(&self, received_at: Timestamp) -> Option<Timestamp> {
        self.decide_within.map(|within| received_at + within)
    }

    /// Whether someone holding `roles` may decide this tier.
    pub fn may_decide(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.deciders.contains(r))
    }

    /// The finding codes that block reviewers from approving: every error, and the codes
    /// this tier's policy adds; sorted, each once. Empty: reviewers may approve.
    pub fn blocking_codes(&self, findings: &[Finding]) -> Vec<FindingCode> {
        let mut codes: Vec<FindingCode> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error || self.blocking.contains(&f.code))
            .map(|f| f.code.clone())
            .collect();
        sort_codes(&mut codes);
        codes
    }
}

/// Sorts codes as they read (alphabetically by their wire form), each once.
pub(crate) fn sort_codes(codes: &mut Vec<FindingCode>) {
    codes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    codes.dedup();
}

/// Why an approval cannot count toward a quorum.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum QuorumRefusal {
    /// They already approved this request.
    #[error("{0} has already approved this request; a quorum needs distinct people")]
    SamePersonTwice(String),
    /// The principal cannot countersign their own delegation.
    #[error("{0} is the principal of this request and cannot approve it")]
    Principal(String),
    /// Someone in the chain cannot approve what they delegated or received.
    #[error("{0} is part of the delegation chain and cannot approve it")]
    InChain(String),
}

/// Where an approval leaves the quorum.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quorum {
    /// Enough distinct approvers: the request is approved.
    Met,
    /// Counted; more approvers are needed.
    Waiting {
        /// Approvals so far, this one included.
        have: u32,
        /// Approvals needed.
        need: u32,
    },
}

/// Counts `approver`'s approval given the approvals already recorded (`earlier`), the request's
/// principal and everyone in its chain.
pub fn count_approval(
    earlier: &[String],
    approver: &str,
    principal: &str,
    chain: &[String],
    need: u32,
) -> Result<Quorum, QuorumRefusal> {
    if approver == principal {
        return Err(QuorumRefusal::Principal(approver.into()));
    }
    if chain.iter().any(|party| party == approver) {
        return Err(QuorumRefusal::InChain(approver.into()));
    }
    if earlier.iter().any(|e| e == approver) {
        return Err(QuorumRefusal::SamePersonTwice(approver.into()));
    }
    let have = u32::try_from(earlier.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    Ok(if have >= need {
        Quorum::Met
    } else {
        Quorum::Waiting { have, need }
    })
}
