//! greet-gateway: one `Greet` RPC, defined once in `proto/`, served on one
//! port as REST/JSON, gRPC-Web and native gRPC behind one CORS policy.
//!
//! The modules, one job each:
//! - [`config`]: flags and environment, validated into typed [`config::Settings`].
//! - [`greeter`]: the greeting rules and their errors; knows nothing of HTTP.
//! - [`grpc`]: the tonic service calling [`greeter`]; tonic's decode errors restated.
//! - [`pb`]: code generated from `proto/` and the encoded descriptor set.
//! - [`status`]: the one gRPC code → HTTP status table and the `{"error"}` body.
//! - [`transcode`]: REST routes from `google.api.http`, proto3 JSON both ways.
//! - [`openapi`]: the OpenAPI 3.1 document of those routes, built at start-up.
//! - [`cors`]: the one CORS policy: preflights, origin echo, `Vary`, exposed headers.
//! - [`logging`]: tracing with a plain, cheap line format on a background writer.
//! - [`log_sink`]: that writer: one shared buffer, drained to stdout by a thread.
//! - [`access_log`]: one log line per request, written when its body ends.
//! - [`protocol`]: which face a request is for, and each face's own error shape.
//! - [`rfc3339`]: hand-written UTC timestamps for log lines and JSON.
//! - [`server`]: the listener, limits, protocol dispatch, graceful shutdown.
//! - [`tls`]: HTTPS with rustls, ALPN h2 and http/1.1.
//! - [`web`]: the demo page in `web/`, served on a second origin.

pub mod access_log;
pub mod config;
pub mod cors;
pub mod greeter;
pub mod grpc;
pub mod log_sink;
pub mod logging;
pub mod openapi;
pub mod pb;
pub mod protocol;
pub mod rfc3339;
pub mod server;
pub mod status;
pub mod tls;
pub mod transcode;
pub mod web;

pub use config::Settings;
pub use server::{Api, ApiBuilder, run, shutdown_signal};
