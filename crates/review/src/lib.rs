//! The review process as plain functions: where a verified request goes, whether a decision
//! may be accepted, and who a console is.
//!
//! The gateway calls these with values it loaded from storage; nothing here does I/O or
//! reads the clock, so every rule is testable with a pinned time.
#![deny(missing_docs)]

pub mod clock;
pub mod console_token;
pub mod decision;
pub mod escalation;
pub mod export;
pub mod intake;
pub mod metrics;
pub mod policy;
pub mod reviewer;
pub mod view;
pub mod webhook;

pub use clock::{Clock, ManualClock, SystemClock};
pub use console_token::{CONSOLE_TOKEN_TYP, ConsoleTokenClaims, mint_console_token};
pub use decision::{
    DecisionTarget, Ineligible, Rejection, Tally, check_decision, decision_claims, eligible,
    override_detail, requirements, tally,
};
pub use escalation::Raise;
pub use intake::{Admission, Arrival, Replay, Routing, add_replay_findings, admit, route};
pub use policy::{Policy, PolicyError, TierPolicy};
pub use reviewer::{Reviewer, Role};
