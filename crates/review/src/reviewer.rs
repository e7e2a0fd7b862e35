//! Enrolled reviewers: who they are, what they may decide, which keys speak for them.

use std::collections::BTreeSet;

use countersign_chain::PublicKey;
pub use countersign_wire::Role;
use countersign_wire::Tier;

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
