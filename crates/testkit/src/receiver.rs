//! A webhook (or A2A push) receiver on loopback.

use std::sync::{Arc, Mutex};

use axum::http::{HeaderMap, StatusCode};

/// What a receiver got, and a switch to take it down: while down it answers 503.
pub struct Receiver {
    pub url: String,
    pub up: Arc<Mutex<bool>>,
    pub got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
}

/// A receiver at `{url}` (path `/hook`), up or down from the start.
pub async fn receiver(up: bool) -> Receiver {
    let up = Arc::new(Mutex::new(up));
    let got = Arc::new(Mutex::new(Vec::new()));
    let (up2, got2) = (up.clone(), got.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let (up, got) = (up2.clone(), got2.clone());
            async move {
                if !*up.lock().unwrap_or_else(|p| p.into_inner()) {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                got.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((headers, body));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port");
    let url = format!(
        "http://{}/hook",
        listener.local_addr().expect("a bound address")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, up, got }
}
