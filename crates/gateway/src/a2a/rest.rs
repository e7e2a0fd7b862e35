//! The HTTP+JSON binding under [`REST_PREFIX`]: the same operations as JSON-RPC, as resources
//! (A2A §11). Streams are SSE whose events are bare `StreamResponse`s; errors are a
//! `google.rpc.Status` with the A2A `ErrorInfo` in its details.

use a2a::{A2AError, StreamResponse};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, Query, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::sse::Event;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{
    Caller, Envelope, REST_PREFIX, cancel, check_version, is_json, list, not_ijson, proto_names,
    proto_query_names, push, send, send_streaming, subscribe, unreadable,
};
use crate::AppState;

/// The HTTP+JSON binding's envelope.
pub(crate) struct Rest;

impl Envelope for Rest {
    fn refuse(status: StatusCode, e: A2AError) -> Response {
        status_response(status, e)
    }
}

type Workflow = Caller<Rest>;

/// The binding's routes, mounted by the gateway's router.
pub(crate) fn routes() -> Router<AppState> {
    let at = |path: &str| format!("{REST_PREFIX}{path}");
    Router::new()
        .route(&at("/message:send"), post(message_send))
        .route(&at("/message:stream"), post(message_stream))
        .route(&at("/tasks"), get(tasks))
        // `{id}`, `{id}:cancel` and `{id}:subscribe` share one path segment.
        .route(&at("/tasks/{target}"), get(task_get).post(task_post))
        .route(
            &at("/tasks/{task}/pushNotificationConfigs"),
            get(push_list).post(push_create),
        )
        .route(
            &at("/tasks/{task}/pushNotificationConfigs/{id}"),
            get(push_get).delete(push_delete),
        )
        .route(&at("/extendedAgentCard"), get(extended_card))
}

/// The HTTP status and `google.rpc` status name of an A2A error (A2A §5.4's mapping table).
fn rest_status(code: i32) -> (StatusCode, &'static str) {
    use a2a::error_code as a;
    match code {
        a::TASK_NOT_FOUND => (StatusCode::NOT_FOUND, "NOT_FOUND"),
        a::TASK_NOT_CANCELABLE => (StatusCode::CONFLICT, "FAILED_PRECONDITION"),
        a::PUSH_NOTIFICATION_NOT_SUPPORTED
        | a::UNSUPPORTED_OPERATION
        | a::VERSION_NOT_SUPPORTED => (StatusCode::BAD_REQUEST, "UNIMPLEMENTED"),
        a::CONTENT_TYPE_NOT_SUPPORTED => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "INVALID_ARGUMENT"),
        a::INVALID_AGENT_RESPONSE => (StatusCode::BAD_GATEWAY, "INTERNAL"),
        a::EXTENDED_CARD_NOT_CONFIGURED | a::EXTENSION_SUPPORT_REQUIRED => {
            (StatusCode::BAD_REQUEST, "FAILED_PRECONDITION")
        }
        a::PARSE_ERROR | a::INVALID_REQUEST | a::INVALID_PARAMS => {
            (StatusCode::BAD_REQUEST, "INVALID_ARGUMENT")
        }
        a::METHOD_NOT_FOUND => (StatusCode::NOT_FOUND, "NOT_FOUND"),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL"),
    }
}

/// An A2A error as a `google.rpc.Status` response.
fn error(e: A2AError) -> Response {
    status_response(rest_status(e.code).0, e)
}

/// An A2A error as a `google.rpc.Status` with this HTTP status.
fn status_response(status: StatusCode, e: A2AError) -> Response {
    let name = match status {
        StatusCode::UNAUTHORIZED => "UNAUTHENTICATED",
        StatusCode::PAYLOAD_TOO_LARGE => "INVALID_ARGUMENT",
        other if other == rest_status(e.code).0 => rest_status(e.code).1,
        other if other.is_server_error() => "INTERNAL",
        _ => "INVALID_ARGUMENT",
    };
    let rpc = e.to_jsonrpc_error();
    let body = json!({
        "error": {
            "code": status.as_u16(),
            "status": name,
            "message": rpc.message,
            "details": rpc.data.unwrap_or(Value::Array(Vec::new())),
        }
    });
    (status, axum::Json(body)).into_response()
}

/// A route under the binding that does not exist, or not for this method.
pub(crate) fn no_such_route(method_exists: bool) -> Response {
    if method_exists {
        status_response(
            StatusCode::METHOD_NOT_ALLOWED,
            A2AError::method_not_found("this method on this path"),
        )
    } else {
        error(A2AError::method_not_found("no such path"))
    }
}

fn ok<T: Serialize>(value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => (
            [(
                header::CONTENT_TYPE,
                // §11.1 of the 1.0 text the conformance kit checks; a2a+json is 1.0.1's.
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        Err(e) => error(A2AError::internal(e.to_string())),
    }
}

fn answer<T: Serialize>(result: Result<T, A2AError>) -> Response {
    match result {
        Ok(value) => ok(&value),
        Err(e) => error(e),
    }
}

/// Each stream event is the bare `StreamResponse`.
fn framing() -> impl Fn(StreamResponse) -> Event + Send + 'static {
    |payload| {
        Event::default()
            .json_data(payload)
            .unwrap_or_else(|_| Event::default())
    }
}

/// Proof that the caller speaks A2A 1.0 (checked after authentication, as an extractor, so
/// every route makes the same check in the same order).
struct Speaks10;

impl<S: Send + Sync> FromRequestParts<S> for Speaks10 {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Response> {
        check_version(&parts.headers, parts.uri.query())
            .map(|()| Speaks10)
            .map_err(error)
    }
}

/// Path parameters; a segment that cannot be decoded is `INVALID_ARGUMENT`.
struct RestPath<T>(T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for RestPath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(params)| RestPath(params))
            .map_err(|e| error(A2AError::invalid_params(format!("path: {}", e.body_text()))))
    }
}

/// A JSON body of `T` (`application/json` or `application/a2a+json`), I-JSON; or the
/// refusal to answer with (boxed: a response is large).
fn body<T: DeserializeOwned>(
    headers: &HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Result<T, Box<Response>> {
    if !is_json(headers) {
        return Err(Box::new(error(A2AError::content_type_not_supported())));
    }
    let bytes = bytes.map_err(|rejection| Box::new(unreadable::<Rest>(rejection)))?;
    let mut value =
        countersign_chain::ijson::parse(&bytes).map_err(|e| Box::new(error(not_ijson(e))))?;
    proto_names(&mut value).map_err(|e| Box::new(error(e)))?;
    serde_json::from_value(value)
        .map_err(|e| Box::new(error(A2AError::invalid_params(format!("body: {e}")))))
}

async fn message_send(
    State(state): State<AppState>,
    Caller { workflow, .. }: Workflow,
    _: Speaks10,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    match body(&headers, bytes) {
        Ok(request) => answer(send(&state, &workflow, request).await),
        Err(refused) => *refused,
    }
}

async fn message_stream(
    State(state): State<AppState>,
    Caller { workflow, .. }: Workflow,
    _: Speaks10,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    match body(&headers, bytes) {
        Ok(request) => send_streaming(state, &workflow, request, framing())
            .await
            .unwrap_or_else(error),
        Err(refused) => *refused,
    }
}

async fn tasks(
    State(state): State<AppState>,
    Caller { workflow, .. }: Workflow,
    _: Speaks10,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let query = proto_query_names(query.as_deref().unwrap_or_default())?;
        let uri: Uri = format!("/?{query}")
            .parse()
            .map_err(|e| A2AError::invalid_params(format!("query: {e}")))?;
        let Query(request) = Query::<a2a::ListTasksRequest>::try_from_uri(&uri)
            .map_err(|e| A2AError::invalid_params(format!("query: {}", e.body_text())))?;
        list(&state, &workflow, request).await
    };
    answer(result.await)
}

/// `GET /tasks/{id}` and `GET /tasks/{id}:subscribe`.
async fn task_get(
    State(state): State<AppState>,
    Caller { workflow, .. }: Workflow,
    RestPath(target): RestPath<String>,
    _: Speaks10,
) -> Response {
    match target.rsplit_once(':') {
        None => answer(super::get(&state, &workflow, &target).await),
        Some((id, "subscribe")) => subscribe(state, &workflow, id, framing())
            .await
            .unwrap_or_else(error),
        Some(_) => error(A2AError::method_not_found(&target)),
    }
}

/// `POST /tasks/{id}:cancel` and `POST /tasks/{id}:subscribe` (the spec's tables say POST,
/// its proto GET; both are served).
async fn task_post(
    State(state): State<AppState>,
    Caller { workflow, .. }: Workflow,
    RestPath(target): RestPath<String>,
    _: Speaks10,
) -> Response {
    match target.rsplit_once(':') {
        Some((id, "cancel")) => answer(cancel(&state, &workflow, id).await),
        Some((id, "subscribe")) => subscribe(state, &workflow, id, framing())
            .await
            .unwrap_or_else(error),
        _ => error(A2AError::method_not_found(&target)),
    }
}

async fn push_create(
    State(state): State<AppState>,
    Caller { workflow, .. }: Workflow,
    RestPath(task): RestPath<String>,
    _: Speaks10,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    let mut config: a2a::TaskPushNotificationConfig = match body(&headers, bytes) {
        Ok(config) => config,
        Err(refused) => return *refused,
    };
    if !config.task_id.is_empty() && config.task_id != task {
        return error(A2AError::invalid_params(
            "taskId in the body differs from the path",
        ));
    }
    config.task_id = task;
    answer(push::create(&state, &workflow, config).await)
}

async fn push_list(
    State(state): State<AppState>,
    Caller { workflow, .. }: Workflow,
    RestPath(task): RestPath<String>,
    _: Speaks10,
) -> Response {
    answer(push::list(&state, &workflow, &task).await)
}

async fn push_get(
    State(state): State<AppState>,
    Caller { workflow, .. }: Workflow,
    RestPath((task, id)): RestPath<(String, String)>,
    _: Speaks10,
) -> Response {
    answer(push::get(&state, &workflow, &task, &id).await)
}

async fn push_delete(
    State(state): State<AppState>,
    Caller { workflow, .. }: Workflow,
    RestPath((task, id)): RestPath<(String, String)>,
    _: Speaks10,
) -> Response {
    answer(
        push::delete(&state, &workflow, &task, &id)
            .await
            .map(|()| json!({})),
    )
}

async fn extended_card(_: Workflow, _: Speaks10) -> Response {
    error(A2AError::unsupported_operation(
        "this agent has no extended card",
    ))
}
