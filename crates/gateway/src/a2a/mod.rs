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
pub(crate) use rest::{no_such_route, routes};

pub(crate) use card::card;
use card::{INPUT_MODES, check_version, is_json};
use ops::{cancel, get, list, send};
use stream::{send_streaming, subscribe};
use task::{ALL_REQUEST_STATES, is_final, owned_task, task_of, task_state};

use std::marker::PhantomData;

use a2a::A2AError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::Response;
use countersign_wire::api::ErrorCode;
use serde_json::Value;

use crate::AppState;
use crate::auth::Workflow;
use crate::error::bearer_challenge;

/// The Countersign extension: what the data part holds and what the artifacts carry.
pub const EXTENSION_URI: &str = "https://countersign.dev/a2a/ext/human-approval/v1";
/// The protocol version this agent speaks.
pub const PROTOCOL_VERSION: &str = a2a::VERSION;
/// Where the HTTP+JSON binding is mounted.
pub const REST_PREFIX: &str = "/a2a";

/// Whether `path` is under the HTTP+JSON binding.
pub(crate) fn is_rest_binding(path: &str) -> bool {
    path.strip_prefix(REST_PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value, A2AError> {
    serde_json::to_value(value).map_err(|e| A2AError::internal(e.to_string()))
}

/// A storage failure: logged with its cause, answered only as "storage failed" (the same
/// rule as REST's `Failure::internal`).
fn storage_failed<E: std::fmt::Display>(cause: E) -> A2AError {
    tracing::error!(error = %cause, "A2A storage failure");
    A2AError::internal("storage failed")
}

/// How a binding answers an error: JSON-RPC's error object or `google.rpc.Status`.
pub(crate) trait Envelope {
    fn refuse(status: StatusCode, error: A2AError) -> Response;
}

/// A workflow authenticated on an A2A binding. Missing or unknown credentials are a 401 with
/// a bearer challenge, in the binding's own envelope.
pub(crate) struct Caller<B> {
    workflow: String,
    binding: PhantomData<B>,
}

impl<B: Envelope> FromRequestParts<AppState> for Caller<B> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match Workflow::from_request_parts(parts, state).await {
            Ok(Workflow(workflow)) => Ok(Caller {
                workflow,
                binding: PhantomData,
            }),
            Err(failure) if failure.code() == ErrorCode::Unauthenticated => {
                let error =
                    A2AError::invalid_request(format!("unauthenticated: {}", failure.message()));
                let mut response = B::refuse(StatusCode::UNAUTHORIZED, error);
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, bearer_challenge());
                Err(response)
            }
            // Storage failed while looking the credential up (already logged).
            Err(failure) => Err(B::refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                A2AError::internal(failure.message()),
            )),
        }
    }
}

/// A body that could not be read, in the binding's envelope: too large (413) or cut off.
fn unreadable<B: Envelope>(rejection: &axum::extract::rejection::BytesRejection) -> Response {
    let status = rejection.status();
    let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
        format!("the body is larger than {} bytes", crate::MAX_BODY_BYTES)
    } else {
        format!("cannot read the body: {rejection}")
    };
    B::refuse(status, A2AError::invalid_request(message))
}

/// A body that is not I-JSON: what a workflow sends is shown to a reviewer and signed over,
/// so a member named twice is refused, not read one way here and another way elsewhere.
fn not_ijson(e: countersign_chain::ijson::IJsonError) -> A2AError {
    match e {
        countersign_chain::ijson::IJsonError::Syntax(e) => A2AError::parse_error(e.to_string()),
        duplicate => A2AError::invalid_request(duplicate.to_string()),
    }
}
