//! The typed road: REST straight into an RPC implemented in this binary.
//!
//! The dynamic road ([`super::json`] plus an in-process gRPC call) serves any
//! annotated RPC from its descriptor alone, but pays for it on every request:
//! JSON to a `DynamicMessage`, protobuf encoding, a framed HTTP request
//! through tonic, and the same again backwards (~29k instructions of the
//! REST request's ~50k, `bench/profile`). For an RPC whose Rust types and
//! implementation are compiled in, this road parses the body straight into
//! the prost request type (serde impls generated from the same proto by
//! pbjson-build), calls the service trait method, and writes the response
//! with serde.
//!
//! Both roads must answer alike, so this one only takes requests it can
//! answer exactly as the dynamic road would:
//! - routes whose request comes wholly from the body (`body: "*"`, no path
//!   variables, no `response_body`); other routes keep the dynamic road;
//! - bodies it can parse: a body it refuses goes to the dynamic road, which
//!   accepts it or writes the error message clients see, so the wording
//!   never depends on the road. `tests/typed_road.rs` checks that whatever
//!   this road accepts, the dynamic road accepts as the same message.
//!
//! What the typed road skips: tonic's server machinery, so tower layers or
//! interceptors wrapped around a tonic service do not see REST calls that
//! take it (the Greet service has none).

use std::{future::Future, pin::Pin, sync::Arc};

use serde::{Serialize, de::DeserializeOwned};
use tonic::Status;

/// What a typed call resolves to: the response JSON, or the RPC's status.
pub type Reply = Pin<Box<dyn Future<Output = Result<Vec<u8>, Status>> + Send>>;

type Call = dyn Fn(&[u8]) -> Option<Reply> + Send + Sync;

/// A typed handler for one RPC, registered by its gRPC path.
#[derive(Clone)]
pub struct TypedRpc {
    grpc_path: &'static str,
    call: Arc<Call>,
}

impl TypedRpc {
    /// `grpc_path` is `/<package>.<Service>/<Method>`; `handler` is the RPC's
    /// implementation (usually a call of the tonic service trait method).
    pub fn new<Req, Resp, F, Fut>(grpc_path: &'static str, handler: F) -> Self
    where
        Req: DeserializeOwned + Default,
        Resp: Serialize,
        F: Fn(Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, Status>> + Send + 'static,
    {
        let call = move |body: &[u8]| -> Option<Reply> {
            let request = if super::json::is_blank(body) {
                Req::default()
            } else {
                serde_json::from_slice(body).ok()?
            };
            let reply = handler(request);
            Some(Box::pin(async move {
                let response = reply.await?;
                let mut json = Vec::with_capacity(128);
                serde_json::to_writer(&mut json, &response).map_err(|e| {
                    Status::internal(format!("cannot write the response as JSON: {e}"))
                })?;
                Ok(json)
            }))
        };
        TypedRpc {
            grpc_path,
            call: Arc::new(call),
        }
    }

    /// The gRPC path of the RPC this handles.
    pub fn grpc_path(&self) -> &str {
        self.grpc_path
    }

    /// Starts the call, or `None` when the body is not one this road parses
    /// (the dynamic road then answers).
    pub fn call(&self, body: &[u8]) -> Option<Reply> {
        (self.call)(body)
    }
}
