//! The limit for REST: a bare axum handler answering `POST /greet` with a
//! fixed greeting JSON. No CORS, no transcoding, no access log: whatever the
//! gateway costs on top of the HTTP server is measured against this.
//!
//! `cargo run --release --example bare_rest -- 127.0.0.1:5101`

use std::net::SocketAddr;

use axum::{
    Router, body::Bytes, http::header, response::IntoResponse, routing::post,
    serve::ListenerExt as _,
};

/// What the gateway answers to `{"name":"Bench"}`, with a fixed timestamp.
const GREETING: &str = r#"{"greeting":"Hello, Bench!","timestamp":"2026-01-01T00:00:00.000000Z"}"#;

/// Reads the body (as a real handler must) and answers the fixed JSON.
async fn greet(_body: Bytes) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], GREETING)
}

/// The gateway's allocator (`src/main.rs`), so the comparison is like for
/// like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5101".to_owned())
        .parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let app = Router::new().route("/greet", post(greet));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            greet_gateway::stop_signal().await;
        })
        .await?;
    Ok(())
}
