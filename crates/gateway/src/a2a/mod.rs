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

use card::{INPUT_MODES, check_version, is_json};
pub(crate) use card::{PublishedCard, card};
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

/// A body that could not be read, in the binding's envelope: too large (413) or cut off, said
/// as the REST API says it.
fn unreadable<B: Envelope>(rejection: axum::extract::rejection::BytesRejection) -> Response {
    let status = rejection.status();
    let failure = crate::extract::unreadable(rejection);
    B::refuse(status, A2AError::invalid_request(failure.message()))
}

/// A body that is not I-JSON: what a workflow sends is shown to a reviewer and signed over,
/// so a member named twice is refused, not read one way here and another way elsewhere.
fn not_ijson(e: countersign_chain::ijson::IJsonError) -> A2AError {
    match e {
        countersign_chain::ijson::IJsonError::Syntax(e) => A2AError::parse_error(e.to_string()),
        duplicate => A2AError::invalid_request(duplicate.to_string()),
    }
}

/// The JSON name of a proto field name (`context_id` → `contextId`), if it differs.
fn json_name(name: &str) -> Option<String> {
    if !name.contains('_') {
        return None;
    }
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        match c {
            '_' => upper = true,
            c if upper => {
                out.extend(c.to_uppercase());
                upper = false;
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// A request's fields as protobuf JSON parsers take them: the JSON name (`contextId`) or the
/// proto name (`context_id`), so that a filter given either way is applied, never ignored.
/// The request's own fields are renamed, and those of the protocol objects it nests (its
/// message and the message's parts, its configuration and push config); what they carry
/// (data, metadata) is the client's and stays as sent. Both names at once is ambiguous and
/// refused.
fn proto_names(params: &mut Value) -> Result<(), A2AError> {
    rename_fields(params)?;
    for nested in [
        "/message",
        "/configuration",
        "/configuration/taskPushNotificationConfig",
    ] {
        if let Some(object) = params.pointer_mut(nested) {
            rename_fields(object)?;
        }
    }
    if let Some(Value::Array(parts)) = params.pointer_mut("/message/parts") {
        for part in parts {
            rename_fields(part)?;
        }
    }
    Ok(())
}

/// One object's proto field names as JSON names.
fn rename_fields(object: &mut Value) -> Result<(), A2AError> {
    let Value::Object(fields) = object else {
        return Ok(());
    };
    let renames: Vec<(String, String)> = fields
        .keys()
        .filter_map(|name| json_name(name).map(|json| (name.clone(), json)))
        .collect();
    for (proto, json) in renames {
        if fields.contains_key(&json) {
            return Err(A2AError::invalid_params(format!(
                "{proto} and {json} name the same field; give one"
            )));
        }
        if let Some(value) = fields.remove(&proto) {
            fields.insert(json, value);
        }
    }
    Ok(())
}

/// A query string's parameter names as [`proto_names`] takes a request's fields.
fn proto_query_names(query: &str) -> Result<String, A2AError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = json_name(name).unwrap_or_else(|| name.to_owned());
        if !seen.insert(name.clone()) {
            return Err(A2AError::invalid_params(format!(
                "{name} is given more than once"
            )));
        }
        out.push(format!("{name}={value}"));
    }
    Ok(out.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn proto_names_become_json_names_and_both_at_once_are_refused() {
        assert_eq!(json_name("context_id").as_deref(), Some("contextId"));
        assert_eq!(
            json_name("status_timestamp_after").as_deref(),
            Some("statusTimestampAfter")
        );
        assert_eq!(json_name("pageSize"), None);
        let mut params = json!({
            "context_id": "c",
            "history_length": 2,
            "message": {
                "message_id": "m",
                "task_id": "t",
                "parts": [{"media_type": "application/json", "data": {"a_b": 1}}],
                "metadata": {"c_d": 2}
            },
            "configuration": {"return_immediately": true, "task_push_notification_config": {"url": "u", "task_id": "t"}}
        });
        proto_names(&mut params).unwrap();
        assert_eq!(
            params,
            json!({
                "contextId": "c",
                "historyLength": 2,
                "message": {
                    "messageId": "m",
                    "taskId": "t",
                    "parts": [{"mediaType": "application/json", "data": {"a_b": 1}}],
                    "metadata": {"c_d": 2}
                },
                "configuration": {"returnImmediately": true, "taskPushNotificationConfig": {"url": "u", "taskId": "t"}}
            })
        );
        assert!(proto_names(&mut json!({"message": {"task_id": "a", "taskId": "b"}})).is_err());
        assert!(proto_names(&mut json!({"task_id": "a", "taskId": "b"})).is_err());
        assert_eq!(
            proto_query_names("context_id=c&pageSize=2").unwrap(),
            "contextId=c&pageSize=2"
        );
        assert!(proto_query_names("contextId=a&context_id=b").is_err());
    }
}
