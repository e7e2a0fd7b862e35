//! A minimal Server-Sent Events reader for `/v1/events`.

use countersign_wire::api::GatewayEvent;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;

use crate::ClientError;

/// Live gateway events, in order.
pub struct EventStream {
    body: BoxStream<'static, Result<Vec<u8>, reqwest::Error>>,
    // Bytes, not text: a UTF-8 character may straddle two chunks.
    buffer: Vec<u8>,
}

impl EventStream {
    pub(crate) fn new(response: reqwest::Response) -> Self {
        EventStream {
            body: response
                .bytes_stream()
                .map(|chunk| chunk.map(|b| b.to_vec()))
                .boxed(),
            buffer: Vec::new(),
        }
    }

    /// The next event; `None` when the gateway closed the stream.
    pub async fn next(&mut self) -> Option<Result<GatewayEvent, ClientError>> {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = self.buffer.drain(..end + 2).collect();
                let block = String::from_utf8_lossy(&block);
                let data: Vec<&str> = block
                    .lines()
                    .filter_map(|line| line.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some(
                    serde_json::from_str(&data.join("\n"))
                        .map_err(|e| ClientError::Protocol(format!("bad event: {e}"))),
                );
            }
            match self.body.next().await? {
                Ok(chunk) => {
                    self.buffer.extend_from_slice(&chunk);
                    // Normalise CRLF so the blank-line search works for any server.
                    if self.buffer.contains(&b'\r') {
                        self.buffer.retain(|b| *b != b'\r');
                    }
                }
                Err(e) => return Some(Err(ClientError::Unreachable(e.to_string()))),
            }
        }
    }
}
