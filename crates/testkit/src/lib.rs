//! Fixtures for tests and benchmarks that run a real gateway: its files in a temporary
//! directory, the people enrolled in it, a loopback webhook receiver, and decisions signed the
//! way a console signs them. Used by the gateway's integration tests and benchmark and by the
//! end-to-end suite; nothing ships with it.
#![allow(missing_docs)]

mod decision;
mod gateway;
mod people;
mod receiver;
mod script;

pub use decision::{sign_decision, unique_jti};
pub use gateway::{
    AUDIENCE, GatewayFiles, OTHER_WORKFLOW_TOKEN, TestGateway, WORKFLOW_TOKEN, error_code, http, t0,
};
pub use people::{ALL_TIERS, add_workflow, enrol};
pub use receiver::{Receiver, receiver};
pub use script::ScriptClient;
