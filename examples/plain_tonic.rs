//! The reference for native gRPC: a plain `tonic::transport::Server` serving
//! the same `Greeter` as the gateway, with none of the gateway's layers (no
//! CORS, no REST, no gRPC-Web, no access log, no reflection or health).
//!
//! `cargo run --release --example plain_tonic -- 127.0.0.1:5102`

use std::net::SocketAddr;

use greet_gateway::{grpc::Greeter, pb::greet::v1::greet_service_server::GreetServiceServer};

/// The gateway's allocator (`src/main.rs`), so the comparison is like for
/// like.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:5102".to_owned())
        .parse()?;
    tonic::transport::Server::builder()
        .tcp_nodelay(true)
        .add_service(GreetServiceServer::new(Greeter))
        .serve_with_shutdown(addr, async {
            greet_gateway::stop_signal().await;
        })
        .await?;
    Ok(())
}
