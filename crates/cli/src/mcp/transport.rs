//! Streamable HTTP as a client speaks it, for the bridge and the proxy: the headers a message
//! is sent with (SEP-2243), and the JSON-RPC messages in an answer (a JSON body or an SSE
//! stream).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

/// The protocol version a request names in its `_meta` (2026-07-28).
pub const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

/// The version a request names for itself (2026-07-28 and later).
pub fn version_of(message: &Value) -> Option<String> {
    let version = message
        .pointer("/params/_meta")?
        .get(META_VERSION)?
        .as_str()?;
    Some(version.to_owned())
}

/// What `Mcp-Name` carries for a method (SEP-2243): the tool or prompt, the resource, the task.
pub fn name_of(method: &str, params: Option<&Value>) -> Option<String> {
    let key = match method {
        "tools/call" | "prompts/get" => "name",
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => "uri",
        "tasks/get" | "tasks/update" | "tasks/cancel" => "taskId",
        _ => return None,
    };
    params?.get(key)?.as_str().map(str::to_owned)
}

/// A header value as SEP-2243 sends one: plain when it is printable ASCII without surrounding
/// blanks, else `=?base64?…?=`.
pub fn header_text(value: &str) -> String {
    let plain = value.bytes().all(|b| (0x20..0x7f).contains(&b))
        && !value.starts_with([' ', '\t'])
        && !value.ends_with([' ', '\t'])
        && !value.starts_with("=?base64?");
    if plain {
        value.to_owned()
    } else {
        format!("=?base64?{}?=", STANDARD.encode(value))
    }
}

/// A POST of `message` (its text `body`) with the headers the transport asks for; `version`
/// is the one negotiated when the message does not name one.
pub fn post(
    http: &reqwest::Client,
    endpoint: &url::Url,
    message: Option<&Value>,
    version: Option<String>,
    body: String,
) -> reqwest::RequestBuilder {
    let mut request = http
        .post(endpoint.clone())
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            reqwest::header::ACCEPT,
            "application/json, text/event-stream",
        );
    if let Some(version) = message.and_then(version_of).or(version) {
        request = request.header("MCP-Protocol-Version", version);
    }
    let method = message
        .and_then(|m| m.get("method"))
        .and_then(Value::as_str);
    if let (Some(method), Some(message)) = (method, message) {
        request = request.header("Mcp-Method", header_text(method));
        if let Some(name) = name_of(method, message.get("params")) {
            request = request.header("Mcp-Name", header_text(&name));
        }
    }
    request.body(body)
}

/// Every JSON-RPC message in an answer, handed to `deliver` as it arrives (an SSE stream may
/// carry notifications before the response). Returns how many were delivered.
pub async fn messages(mut answer: reqwest::Response, mut deliver: impl FnMut(Value)) -> usize {
    let event_stream = answer
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"));
    let mut delivered = 0;
    let mut one = |text: &str, delivered: &mut usize| {
        if let Ok(value) = serde_json::from_str::<Value>(text)
            && value.get("jsonrpc").is_some()
        {
            deliver(value);
            *delivered += 1;
        }
    };
    if !event_stream {
        if let Ok(body) = answer.bytes().await {
            one(&String::from_utf8_lossy(&body), &mut delivered);
        }
        return delivered;
    }
    let mut buffer = String::new();
    let mut data = String::new();
    while let Ok(Some(chunk)) = answer.chunk().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find('\n') {
            let line: String = buffer.drain(..=end).collect();
            let line = line.trim_end_matches(['\n', '\r']);
            if line.is_empty() {
                // Priming events and keep-alives carry no message.
                one(&std::mem::take(&mut data), &mut delivered);
            } else if let Some(rest) = line.strip_prefix("data:") {
                if !data.is_empty() {
                    data.push('\n');
                }
                data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
            }
        }
    }
    one(&data, &mut delivered);
    delivered
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn headers_name_what_the_transport_routes_on() {
        let call = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "request_approval", "_meta": {META_VERSION: "2026-07-28"}}});
        assert_eq!(version_of(&call).as_deref(), Some("2026-07-28"));
        assert_eq!(
            name_of("tools/call", call.get("params")).as_deref(),
            Some("request_approval")
        );
        assert_eq!(
            name_of("tasks/get", Some(&json!({"taskId": "mcp-1"}))).as_deref(),
            Some("mcp-1")
        );
        assert_eq!(name_of("tools/list", Some(&json!({}))), None);
        assert_eq!(version_of(&json!({"method": "initialize"})), None);
        assert_eq!(header_text("request_approval"), "request_approval");
        assert_eq!(header_text("größe"), "=?base64?Z3LDtsOfZQ==?=");
        assert_eq!(header_text(" padded"), "=?base64?IHBhZGRlZA==?=");
    }
}
