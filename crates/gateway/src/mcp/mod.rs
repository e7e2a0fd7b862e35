//! The gateway as an MCP server, protocol revision 2026-07-28 (older revisions are served
//! too), on the official Rust SDK (`rmcp`, pinned exactly): an agent calls the tool
//! `request_approval` with a DelegationRequest and gets back the same signed decision a REST
//! or A2A workflow gets. The request is verified, queued, escalated, decided, audited and
//! exported exactly as one submitted over REST; MCP only changes how the caller waits:
//!
//! - a client that declares the Tasks extension gets a task as soon as the request is stored;
//!   `tasks/get` says `working` while a person decides and `completed` (with the decision) or
//!   `failed` (expired) after; `tasks/cancel` withdraws the request;
//! - a 2026-07-28 client without Tasks but with URL elicitation gets `input_required`: a link
//!   that opens the request in a console, and a sealed, single-use `requestState` to come back
//!   with, until a person has decided;
//! - any other client gets the request's state at once, and polls `get_decision` or the
//!   request's resource.
//!
//! This is the only module that touches the MCP types. It is served over Streamable HTTP at
//! [`PATH`], authenticated with the workflow credential like every other workflow call;
//! `countersign mcp` bridges stdio to it.

mod approvals;
mod request_state;

pub(crate) use request_state::StateSeal;

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use serde_json::json;

use crate::auth::Workflow;
use crate::{AppState, MAX_BODY_BYTES};

/// Where the MCP server is mounted.
pub const PATH: &str = "/mcp";

/// `/mcp`: every request authenticated as a workflow and checked to be I-JSON, then handed to
/// the SDK's Streamable HTTP transport, stateless (no sessions: any instance serves any call).
pub(crate) fn routes(state: &AppState) -> Router<AppState> {
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        .with_sse_keep_alive(None)
        .with_max_request_body_bytes(MAX_BODY_BYTES)
        .with_allowed_hosts(allowed_hosts(&state.public_url));
    let handler_state = state.clone();
    let service = StreamableHttpService::new(
        move || Ok(approvals::Approvals::new(handler_state.clone())),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    Router::new().route_service(
        PATH,
        tower::ServiceBuilder::new()
            .layer(axum::middleware::from_fn_with_state(
                state.clone(),
                admit_call,
            ))
            .service(service),
    )
}

/// The public URL's host, and loopback (the SDK refuses any other `Host`, against DNS
/// rebinding of a local server).
fn allowed_hosts(public_url: &str) -> Vec<String> {
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".into(), "::1".into()];
    if let Some(host) = url::Url::parse(public_url)
        .ok()
        .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()))
        && !hosts.contains(&host)
    {
        hosts.push(host);
    }
    hosts
}

/// Authenticates the caller (401 with a bearer challenge otherwise) and refuses a body that
/// is not I-JSON before the SDK parses it: what a workflow sends is shown to a reviewer and
/// signed over, so a member named twice must not be read one way here and another elsewhere.
async fn admit_call(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let workflow = match Workflow::from_request_parts(&mut parts, &state).await {
        Ok(workflow) => workflow,
        // A 401 carries the bearer challenge, as everywhere.
        Err(failure) => return failure.into_response(),
    };
    parts.extensions.insert(workflow);
    if parts.method != axum::http::Method::POST {
        return next.run(Request::from_parts(parts, body)).await;
    }
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return rpc_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                serde_json::Value::Null,
                -32600,
                format!("the body is over {MAX_BODY_BYTES} bytes, or was cut off"),
            );
        }
    };
    if let Err(e) = countersign_chain::ijson::check(&bytes) {
        let code = match e {
            countersign_chain::ijson::IJsonError::Syntax(_) => -32700,
            _ => -32600,
        };
        // The id, when it can be read at all, so a client (or the stdio bridge) can match the
        // refusal to its request.
        let id = serde_json::from_slice::<serde_json::Value>(&bytes)
            .ok()
            .and_then(|m| m.get("id").cloned())
            .unwrap_or(serde_json::Value::Null);
        return rpc_error(StatusCode::BAD_REQUEST, id, code, e.to_string());
    }
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A JSON-RPC error for a message that never reached the SDK.
fn rpc_error(status: StatusCode, id: serde_json::Value, code: i32, message: String) -> Response {
    (
        status,
        axum::Json(json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": { "code": code, "message": message },
        })),
    )
        .into_response()
}
