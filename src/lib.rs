//! greet-gateway: one `Greet` RPC, defined once in `proto/`, served on one
//! port as REST/JSON, gRPC-Web and native gRPC behind one CORS policy.
//!
//! The modules, one job each:
//! - [`config`]: flags and environment, validated into typed [`config::Settings`].
//! - [`greeter`]: the greeting rules and their errors; knows nothing of HTTP.
//! - [`grpc`]: the tonic service calling [`greeter`]; the service table; request bodies checked.
//! - [`request_error`]: what can be wrong with a request body, with its code and status.
//! - [`pb`]: code generated from `proto/`, the proto3 JSON of each field kind, the descriptor set.
//! - [`status`]: the one gRPC code → HTTP status table and the `{"error"}` body.
//! - [`transcode`]: REST routes from `google.api.http`, proto3 JSON both ways.
//! - [`cors`]: the one CORS policy: preflights, origin echo, `Vary`, exposed headers.
//! - [`logging`]: tracing with a plain, cheap line format on a background writer.
//! - [`log_sink`]: that writer: one shared buffer, drained to stdout by a thread.
//! - [`access_log`]: one log line per request, written when its body ends.
//! - [`protocol`]: which face a request is for, and each face's own error shape.
//! - [`rfc3339`]: hand-written UTC timestamps for log lines and JSON.
//! - [`app`]: the API port's one tower service: the layer stack, dispatch by protocol.
//! - [`layers`]: the tower layers of that stack: classify, access log, CORS, shedding, timeout, panics.
//! - [`listener`]: accept loop, hyper settings, TLS handshake, graceful shutdown.
//! - [`tls`]: HTTPS with rustls, ALPN h2 and http/1.1.
//! - [`web`]: the demo page in `web/`, served on a second origin.
//! - [`metrics`]: the API's Prometheus metrics, recorded without allocating.
//! - [`process_metrics`]: the standard `process_*` metrics, read from `/proc`.
//! - [`admin`]: the admin router: `/metrics`, `/healthz`, `/readyz`.

pub mod access_log;
pub mod admin;
pub mod app;
pub mod config;
pub mod cors;
pub mod greeter;
pub mod grpc;
pub mod layers;
pub mod listener;
pub mod log_sink;
pub mod logging;
pub mod metrics;
pub mod pb;
pub mod process_metrics;
pub mod protocol;
pub mod request_error;
pub mod rfc3339;
pub mod status;
pub mod tls;
pub mod transcode;
pub mod web;

pub use app::{Api, ApiBuilder};
pub use config::Settings;
pub use listener::{StopSignal, run, run_counted, stop_signal};
