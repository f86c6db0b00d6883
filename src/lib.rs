//! greet-gateway: one `Greet` RPC, defined once in `proto/`, served on one
//! port as REST/JSON, gRPC-Web, native gRPC and Connect behind one CORS
//! policy.
//!
//! A request on the API port goes down one stack of tower layers, outermost
//! first ([`app::ApiBuilder::build`] says why each sits where it does):
//!
//! ```text
//! listener    accept, HTTP/1.1 + h2c (or TLS), hyper limits, drain on SIGTERM
//! Classify    which protocol, once: preflight, REST, gRPC-Web (binary/text), gRPC, Connect
//! RequestId   x-request-id kept if acceptable, else made; traceparent read
//! AccessLog   one log line and the metrics per request, when its body ends
//! Cors        preflight → 204 / 403 here; every other answer decorated
//! Shed        no permit → 503 / UNAVAILABLE; the permit is held until the body ends
//! Dispatch    by protocol:
//! ├ REST      Timeout → CatchPanic → Transcoder ┬ typed road → service trait → Greeter
//! │                                             └ dynamic road → gRPC services
//! ├ gRPC      Timeout → CatchPanic → gRPC services
//! ├ gRPC-Web  tonic-web → Timeout → CatchPanic → gRPC services
//! └ Connect   Timeout → CatchPanic → Connect ┬ JSON, typed road → service trait → Greeter
//!                                            └ otherwise → gRPC services
//! gRPC services: bodies checked frame by frame, our codec; Greet, health, reflection
//! ```
//!
//! The modules, one job each:
//! - the request path: [`listener`] (accept loop, hyper settings, TLS),
//!   [`graceful`] (the open connections told to close, and waited for),
//!   [`header_timer`] (hyper's header-read deadline, one timer a connection),
//!   [`ready`] (a tower service called in place when ready), [`app`] (the
//!   stack, dispatch by protocol),
//!   [`layers`] (one tower layer per concern), [`protocol`] (which face a
//!   request is for, each face's error shape).
//! - the domain and its services: [`greeter`] (the greeting rules; no HTTP),
//!   [`grpc`] (the tonic service, the service table, request bodies checked),
//!   [`request_error`] (what can be wrong with a request body, one table),
//!   [`status`] (gRPC code → HTTP status, the `{"error"}` body), [`pb`]
//!   (generated code, the proto3 JSON of each field kind, the descriptor set).
//! - REST: [`transcode`] (routes from `google.api.http`, both roads, headers
//!   as metadata), [`openapi`] (the OpenAPI document of those routes).
//! - Connect: [`connect`] (unary Connect, JSON and proto, POST and GET, on
//!   the same services and JSON codecs).
//! - the policy: [`cors`] (preflights, origin echo, `Vary`, exposed headers).
//! - operations: [`config`] (flags and environment → [`config::Settings`]),
//!   [`access_log`], [`logging`] and [`log_sink`] (a line per request, plain
//!   or JSON, on a background writer), [`metrics`] and [`process_metrics`]
//!   (Prometheus), [`admin`] (`/metrics`, `/healthz`, `/readyz`), [`tls`],
//!   [`rfc3339`] (UTC timestamps), [`web`] (the demo page, a second origin).

pub mod access_log;
pub mod admin;
pub mod app;
pub mod config;
pub mod connect;
pub mod cors;
pub mod graceful;
pub mod greeter;
pub mod grpc;
pub mod header_timer;
pub mod layers;
pub mod listener;
pub mod log_sink;
pub mod logging;
pub mod metrics;
pub mod openapi;
pub mod pb;
pub mod process_metrics;
pub mod protocol;
pub mod ready;
pub mod request_error;
pub mod rfc3339;
pub mod status;
pub mod tls;
pub mod transcode;
pub mod web;

pub use app::{Api, ApiBuilder};
pub use config::Settings;
pub use listener::{StopSignal, run, stop_signal};
