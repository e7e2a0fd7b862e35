//! The gateway as an A2A 1.0 agent, "human approval": an unmodified A2A client sends a
//! DelegationRequest in a data part and gets back a task that waits in `AUTH_REQUIRED` while a
//! person decides, then ends `COMPLETED` (approved) or `REJECTED` with the signed decision JWS
//! as an artifact. The task *is* the request: it is verified, queued, escalated, decided,
//! audited and exported exactly as one submitted over REST.
//!
//! This is the only module that touches the A2A types (`a2a-lf`, pinned exactly). The card is
//! at `/.well-known/agent-card.json`; JSON-RPC is served at `/` ([`jsonrpc`]) and HTTP+JSON
//! under `/a2a` ([`rest`]), both over the same operations here. Push-notification configs
//! ([`push`]) are delivered from the durable outbox, like webhooks.

mod card;
mod jsonrpc;
mod ops;
mod push;
mod rest;
mod stream;
mod task;

pub(crate) use jsonrpc::rpc;
pub(crate) use push::push_notification;
pub(crate) use rest::routes;

pub(crate) use card::card;
use card::{INPUT_MODES, check_version, is_json};
use ops::{cancel, get, list, send};
use stream::{send_streaming, subscribe};
use task::{ALL_REQUEST_STATES, is_final, owned_task, task_of, task_state};

use a2a::A2AError;
use serde_json::Value;

/// The Countersign extension: what the data part holds and what the artifacts carry.
pub const EXTENSION_URI: &str = "https://countersign.dev/a2a/ext/human-approval/v1";
/// The protocol version this agent speaks.
pub const PROTOCOL_VERSION: &str = a2a::VERSION;
/// Where the HTTP+JSON binding is mounted.
pub const REST_PREFIX: &str = "/a2a";

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, A2AError> {
    serde_json::to_value(value).map_err(|e| A2AError::internal(e.to_string()))
}

/// A storage failure: logged with its cause, answered only as "storage failed" (the same
/// rule as REST's `Failure::internal`).
fn storage_failed<E: std::fmt::Display>(cause: E) -> A2AError {
    tracing::error!(error = %cause, "A2A storage failure");
    A2AError::internal("storage failed")
}
