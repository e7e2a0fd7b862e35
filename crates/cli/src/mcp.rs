//! `countersign mcp`: the gateway's MCP server for clients that start their servers as local
//! processes. It bridges stdio (newline-delimited JSON-RPC, as the MCP stdio transport says) to
//! the gateway's Streamable HTTP endpoint, so there is one implementation (the gateway's) and
//! the workflow credential stays out of the client's own configuration format.
//!
//! Each message from stdin is POSTed on its own (the 2026-07-28 protocol is stateless), with
//! the headers the HTTP transport asks for; every JSON-RPC message in the answer (a JSON body,
//! or each event of an SSE stream) is written to stdout as one line. Requests are bridged
//! concurrently, since an approval round may wait while a person decides. A request the
//! gateway cannot answer gets a JSON-RPC error with its id, so a client never hangs.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::sync::{Mutex, mpsc};

/// The implementation-defined JSON-RPC error for "the gateway could not be reached or did not
/// answer in MCP".
const GATEWAY_UNAVAILABLE: i64 = -32000;
/// The protocol version a request names in its `_meta` (2026-07-28).
const META_VERSION: &str = "io.modelcontextprotocol/protocolVersion";

/// Runs the bridge until stdin closes.
pub fn bridge(gateway: &str, token: &str) -> anyhow::Result<ExitCode> {
    let endpoint = url::Url::parse(gateway)
        .and_then(|base| base.join("mcp"))
        .with_context(|| format!("--gateway {gateway} is not a URL"))?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(run(endpoint, token.to_owned()))?;
    Ok(ExitCode::SUCCESS)
}

async fn run(endpoint: url::Url, token: String) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .build()
        .context("cannot build the HTTP client")?;
    let (out, mut lines) = mpsc::unbounded_channel::<String>();
    // One writer, so concurrent answers never interleave within a line.
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = lines.recv().await {
            if stdout.write_all(line.as_bytes()).await.is_err()
                || stdout.write_all(b"\n").await.is_err()
                || stdout.flush().await.is_err()
            {
                break;
            }
        }
    });
    // A legacy client negotiates its version once, in `initialize`; later requests carry it
    // in the header only.
    let negotiated: Arc<Mutex<Option<String>>> = Arc::default();
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut calls = tokio::task::JoinSet::new();
    while let Some(line) = stdin.next_line().await.context("cannot read stdin")? {
        if line.trim().is_empty() {
            continue;
        }
        let call = Call {
            http: http.clone(),
            endpoint: endpoint.clone(),
            token: token.clone(),
            out: out.clone(),
            negotiated: negotiated.clone(),
        };
        calls.spawn(async move { call.forward(line).await });
    }
    // Stdin closed: let calls in flight answer, then stop.
    while calls.join_next().await.is_some() {}
    drop(out);
    let _ = writer.await;
    Ok(())
}

struct Call {
    http: reqwest::Client,
    endpoint: url::Url,
    token: String,
    out: mpsc::UnboundedSender<String>,
    negotiated: Arc<Mutex<Option<String>>>,
}

impl Call {
    async fn forward(self, line: String) {
        // The gateway is the judge of the message; only what the headers need is read here.
        let message: Option<Value> = serde_json::from_str(&line).ok();
        let id = message.as_ref().and_then(|m| m.get("id")).cloned();
        let method = message
            .as_ref()
            .and_then(|m| m.get("method"))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let is_request = id.is_some() && method.is_some();
        let mut request = self
            .http
            .post(self.endpoint.clone())
            .bearer_auth(&self.token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(
                reqwest::header::ACCEPT,
                "application/json, text/event-stream",
            );
        let version = match message.as_ref().and_then(version_of) {
            Some(version) => Some(version),
            None => self.negotiated.lock().await.clone(),
        };
        if let Some(version) = &version {
            request = request.header("MCP-Protocol-Version", version);
        }
        if let (Some(method), Some(message)) = (&method, &message) {
            request = request.header("Mcp-Method", header_text(method));
            if let Some(name) = name_of(method, message.get("params")) {
                request = request.header("Mcp-Name", header_text(&name));
            }
        }
        let answer = match request.body(line).send().await {
            Ok(answer) => answer,
            Err(e) => {
                if is_request {
                    self.fail(
                        id,
                        format!("cannot reach the gateway at {}: {e}", self.endpoint),
                    );
                }
                return;
            }
        };
        let status = answer.status();
        let event_stream = answer
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if status == reqwest::StatusCode::ACCEPTED {
            return;
        }
        let delivered = if event_stream {
            self.relay_events(answer).await
        } else {
            match answer.bytes().await {
                Ok(body) => self.relay_json(method.as_deref(), &body).await,
                Err(_) => false,
            }
        };
        if !delivered && is_request {
            self.fail(
                id,
                format!("the gateway answered {status} without a JSON-RPC response"),
            );
        }
    }

    /// A JSON body: relayed if it is JSON-RPC. The negotiated version of an `initialize` is
    /// kept for the requests after it.
    async fn relay_json(&self, method: Option<&str>, body: &[u8]) -> bool {
        let Ok(value) = serde_json::from_slice::<Value>(body) else {
            return false;
        };
        if value.get("jsonrpc").is_none() {
            return false;
        }
        if method == Some("initialize")
            && let Some(version) = value
                .pointer("/result/protocolVersion")
                .and_then(Value::as_str)
        {
            *self.negotiated.lock().await = Some(version.to_owned());
        }
        self.send(value)
    }

    /// An SSE stream: each event's data is one JSON-RPC message.
    async fn relay_events(&self, mut answer: reqwest::Response) -> bool {
        let mut delivered = false;
        let mut buffer = String::new();
        let mut data = String::new();
        while let Ok(Some(chunk)) = answer.chunk().await {
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find('\n') {
                let line: String = buffer.drain(..=end).collect();
                let line = line.trim_end_matches(['\n', '\r']);
                if line.is_empty() {
                    delivered |= self.flush_event(&mut data);
                } else if let Some(rest) = line.strip_prefix("data:") {
                    if !data.is_empty() {
                        data.push('\n');
                    }
                    data.push_str(rest.strip_prefix(' ').unwrap_or(rest));
                }
            }
        }
        delivered |= self.flush_event(&mut data);
        delivered
    }

    fn flush_event(&self, data: &mut String) -> bool {
        let event = std::mem::take(data);
        match serde_json::from_str::<Value>(&event) {
            Ok(value) if value.get("jsonrpc").is_some() => self.send(value),
            // Priming events and keep-alives carry no message.
            _ => false,
        }
    }

    fn send(&self, value: Value) -> bool {
        self.out.send(value.to_string()).is_ok()
    }

    fn fail(&self, id: Option<Value>, message: String) {
        let _ = self.send(json!({
            "jsonrpc": "2.0",
            "id": id.unwrap_or(Value::Null),
            "error": { "code": GATEWAY_UNAVAILABLE, "message": message },
        }));
    }
}

/// The version a request names for itself (2026-07-28 and later).
fn version_of(message: &Value) -> Option<String> {
    let version = message
        .pointer("/params/_meta")?
        .get(META_VERSION)?
        .as_str()?;
    Some(version.to_owned())
}

/// What `Mcp-Name` carries for a method (SEP-2243): the tool or prompt, the resource, the task.
fn name_of(method: &str, params: Option<&Value>) -> Option<String> {
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
fn header_text(value: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

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
