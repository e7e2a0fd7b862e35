//! The JSON-RPC binding: `POST /`, one method per call; streams are SSE of JSON-RPC responses.

use a2a::{A2AError, JsonRpcId, JsonRpcRequest, JsonRpcResponse, StreamResponse};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    Caller, Envelope, cancel, check_version, get, is_json, list, not_ijson, proto_names, push,
    send, send_streaming, subscribe, to_value, unreadable,
};
use crate::AppState;

/// The JSON-RPC binding's envelope.
pub(crate) struct JsonRpc;

impl Envelope for JsonRpc {
    /// A call that never reached a method (no credentials, an unreadable body) keeps its
    /// transport status; the body is a JSON-RPC error all the same.
    fn refuse(status: StatusCode, error: A2AError) -> Response {
        (status, rpc_error(JsonRpcId::Null, error)).into_response()
    }
}

fn rpc_error(id: JsonRpcId, error: A2AError) -> Response {
    Json(JsonRpcResponse::error(id, error.to_jsonrpc_error())).into_response()
}

fn params<T: DeserializeOwned>(request: &JsonRpcRequest) -> Result<T, A2AError> {
    let mut params = request.params.clone().unwrap_or(Value::Null);
    proto_names(&mut params)?;
    serde_json::from_value(params).map_err(|e| A2AError::invalid_params(format!("params: {e}")))
}

/// Each stream event is a JSON-RPC response carrying the request's id.
fn framing(id: JsonRpcId) -> impl Fn(StreamResponse) -> Event + Send + 'static {
    move |payload| {
        let body = JsonRpcResponse::success(
            id.clone(),
            serde_json::to_value(payload).unwrap_or(Value::Null),
        );
        Event::default()
            .json_data(body)
            .unwrap_or_else(|_| Event::default())
    }
}

/// `POST /`: A2A JSON-RPC, for workflows.
pub(crate) async fn rpc(
    State(state): State<AppState>,
    Caller { workflow, .. }: Caller<JsonRpc>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !is_json(&headers) {
        return rpc_error(JsonRpcId::Null, A2AError::content_type_not_supported());
    }
    let body = match body {
        Ok(body) => body,
        Err(rejection) => return unreadable::<JsonRpc>(rejection),
    };
    let request: JsonRpcRequest = match countersign_chain::ijson::parse(&body) {
        Err(e) => return rpc_error(JsonRpcId::Null, not_ijson(e)),
        Ok(value) => match serde_json::from_value(value) {
            Ok(request) => request,
            Err(e) => return rpc_error(JsonRpcId::Null, A2AError::invalid_request(e.to_string())),
        },
    };
    let id = request.id.clone();
    if request.jsonrpc != "2.0" {
        return rpc_error(id, A2AError::invalid_request("jsonrpc must be \"2.0\""));
    }
    if let Err(e) = check_version(&headers, query.as_deref()) {
        return rpc_error(id, e);
    }
    let streamed = match request.method.as_str() {
        a2a::methods::SEND_STREAMING_MESSAGE => Some(match params(&request) {
            Ok(p) => send_streaming(state.clone(), &workflow, p, framing(id.clone())).await,
            Err(e) => Err(e),
        }),
        a2a::methods::SUBSCRIBE_TO_TASK => {
            Some(match params::<a2a::SubscribeToTaskRequest>(&request) {
                Ok(p) => subscribe(state.clone(), &workflow, &p.id, framing(id.clone())).await,
                Err(e) => Err(e),
            })
        }
        _ => None,
    };
    if let Some(streamed) = streamed {
        return streamed.unwrap_or_else(|e| rpc_error(id, e));
    }
    match call(&state, &workflow, &request).await {
        Ok(value) => Json(JsonRpcResponse::success(id, value)).into_response(),
        Err(e) => rpc_error(id, e),
    }
}

/// The methods answered with one JSON-RPC response.
async fn call(
    state: &AppState,
    workflow: &str,
    request: &JsonRpcRequest,
) -> Result<Value, A2AError> {
    match request.method.as_str() {
        a2a::methods::SEND_MESSAGE => to_value(&send(state, workflow, params(request)?).await?),
        a2a::methods::GET_TASK => {
            let p: a2a::GetTaskRequest = params(request)?;
            to_value(&get(state, workflow, &p.id).await?)
        }
        a2a::methods::CANCEL_TASK => {
            let p: a2a::CancelTaskRequest = params(request)?;
            to_value(&cancel(state, workflow, &p.id).await?)
        }
        a2a::methods::LIST_TASKS => to_value(&list(state, workflow, params(request)?).await?),
        a2a::methods::CREATE_PUSH_CONFIG => {
            to_value(&push::create(state, workflow, params(request)?).await?)
        }
        a2a::methods::GET_PUSH_CONFIG => {
            let p: a2a::GetTaskPushNotificationConfigRequest = params(request)?;
            to_value(&push::get(state, workflow, &p.task_id, &p.id).await?)
        }
        a2a::methods::LIST_PUSH_CONFIGS => {
            let p: a2a::ListTaskPushNotificationConfigsRequest = params(request)?;
            to_value(&push::list(state, workflow, &p.task_id).await?)
        }
        a2a::methods::DELETE_PUSH_CONFIG => {
            let p: a2a::DeleteTaskPushNotificationConfigRequest = params(request)?;
            push::delete(state, workflow, &p.task_id, &p.id).await?;
            Ok(Value::Null)
        }
        a2a::methods::GET_EXTENDED_AGENT_CARD => Err(A2AError::unsupported_operation(
            "this agent has no extended card",
        )),
        other => Err(A2AError::method_not_found(other)),
    }
}
