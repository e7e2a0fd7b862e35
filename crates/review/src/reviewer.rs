//! Enrolled reviewers: who they are, what they may decide, which keys speak for them.

use std::collections::BTreeSet;

use countersign_chain::PublicKey;
use countersign_wire::Tier;
use serde::{Deserialize, Serialize};

/// What a console user may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Decides pending requests in the tiers they are enrolled for.
    Reviewer,
    /// Works escalations; may override blocked requests with a recorded reason.
    Supervisor,
    /// Reads and exports; decides nothing.
    Auditor,
}

impl Role {
    /// The stored and wire form.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reviewer => "reviewer",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
        }
    }

    /// Parses `reviewer`, `supervisor` or `auditor`.
    pub fn parse(text: &str) -> Option<Role> {
        [Role::Reviewer, Role::Supervisor, Role::Auditor]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// An enrolled console user.
#[derive(Clone, Debug)]
pub struct Reviewer {
    /// Identity, as it appears in decisions' `iss`.
    pub identity: String,
    /// Name to show.
    pub display_name: String,
    /// Roles held.
    pub roles: BTreeSet<Role>,
    /// Tiers this person may decide.
    pub tiers: BTreeSet<Tier>,
    /// Enrolled public keys.
    pub keys: Vec<PublicKey>,
}

impl Reviewer {
    /// Whether they hold `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}
