//! Who a console user is to the review process.

use serde::{Deserialize, Serialize};

/// What a console user may do.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
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
