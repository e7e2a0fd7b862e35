//! `countersign mcp`: the gateway's MCP server for clients that start their servers as local
//! processes. It bridges stdio (newline-delimited JSON-RPC, as the MCP stdio transport says) to
//! the gateway's Streamable HTTP endpoint, so there is one implementation (the gateway's) and
//! the workflow credential stays out of the client's own configuration format.
//!
//! Each message from stdin is POSTed on its own (the 2026-07-28 protocol is stateless), with
//! the headers the HTTP transport asks for; every JSON-RPC message in the answer is written to
//! stdout as one line. Requests are bridged concurrently, since an approval round may wait
//! while a person decides. A request the gateway cannot answer gets a JSON-RPC error with its
//! id, so a client never hangs.

use std::sync::Arc;

use anyhow::Context as _;
use serde_json::Value;
use tokio::sync::Mutex;

use super::stdio::{Lines, serve_stdio};
use super::transport;

/// Runs the bridge until stdin closes.
pub async fn bridge(endpoint: url::Url, token: String) -> anyhow::Result<()> {
    let http = reqwest::Client::builder()
        .build()
        .context("cannot build the HTTP client")?;
    // A legacy client negotiates its version once, in `initialize`; later requests carry it
    // in the header only.
    let negotiated: Arc<Mutex<Option<String>>> = Arc::default();
    serve_stdio(move |line, out| {
        let call = Call {
            http: http.clone(),
            endpoint: endpoint.clone(),
            token: token.clone(),
            out,
            negotiated: negotiated.clone(),
        };
        async move { call.forward(line).await }
    })
    .await
}

struct Call {
    http: reqwest::Client,
    endpoint: url::Url,
    token: String,
    out: Lines,
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
        let version = self.negotiated.lock().await.clone();
        let request = transport::post(&self.http, &self.endpoint, message.as_ref(), version, line)
            .bearer_auth(&self.token);
        let answer = match request.send().await {
            Ok(answer) => answer,
            Err(e) => {
                if is_request {
                    self.out.fail(
                        id,
                        format!("cannot reach the gateway at {}: {e}", self.endpoint),
                    );
                }
                return;
            }
        };
        let status = answer.status();
        if status == reqwest::StatusCode::ACCEPTED {
            return;
        }
        let initialize = method.as_deref() == Some("initialize");
        let mut version = None;
        let delivered = transport::messages(answer, |value| {
            if initialize {
                version = value
                    .pointer("/result/protocolVersion")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
            self.out.send(value);
        })
        .await;
        if let Some(version) = version {
            *self.negotiated.lock().await = Some(version);
        }
        if delivered == 0 && is_request {
            self.out.fail(
                id,
                format!("the gateway answered {status} without a JSON-RPC response"),
            );
        }
    }
}

/// Where the bridge posts to: the gateway's `/mcp`.
pub fn endpoint(gateway: &str) -> anyhow::Result<url::Url> {
    url::Url::parse(gateway)
        .and_then(|base| base.join("mcp"))
        .with_context(|| format!("--gateway {gateway} is not a URL"))
}
