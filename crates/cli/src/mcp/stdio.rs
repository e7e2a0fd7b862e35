//! The MCP stdio transport as a server end: newline-delimited JSON-RPC on stdin and stdout.

use std::future::Future;

use anyhow::Context as _;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::sync::mpsc;

/// The implementation-defined JSON-RPC error for "could not be reached or did not answer in
/// MCP" (the gateway, or the proxy's upstream).
pub const UNAVAILABLE: i64 = -32000;

/// Where answers go: one line each, written by one writer so lines never interleave.
#[derive(Clone)]
pub struct Lines(mpsc::UnboundedSender<String>);

impl Lines {
    pub fn send(&self, value: Value) {
        let _ = self.0.send(value.to_string());
    }

    /// A JSON-RPC error answering the request `id`.
    pub fn fail(&self, id: Option<Value>, message: String) {
        self.send(json!({
            "jsonrpc": "2.0",
            "id": id.unwrap_or(Value::Null),
            "error": { "code": UNAVAILABLE, "message": message },
        }));
    }
}

/// Reads stdin until it closes, handing each line to `handle` concurrently (an approval may
/// wait while a person decides), and lets calls in flight answer before returning.
pub async fn serve_stdio<F, Fut>(handle: F) -> anyhow::Result<()>
where
    F: Fn(String, Lines) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (out, mut lines) = mpsc::unbounded_channel::<String>();
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
    let out = Lines(out);
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut calls = tokio::task::JoinSet::new();
    while let Some(line) = stdin.next_line().await.context("cannot read stdin")? {
        if line.trim().is_empty() {
            continue;
        }
        calls.spawn(handle(line, out.clone()));
    }
    while calls.join_next().await.is_some() {}
    drop(out);
    let _ = writer.await;
    Ok(())
}
