//! The typed road: REST straight into an RPC implemented in this binary.
//!
//! The dynamic road ([`super::json`] plus an in-process gRPC call) serves any
//! annotated RPC from its descriptor alone, but pays for it on every request:
//! JSON to a `DynamicMessage`, protobuf encoding, a framed HTTP request
//! through tonic, and the same again backwards (~29k instructions of the
//! REST request's ~50k, `bench/profile`). For an RPC whose Rust types and
//! implementation are compiled in, this road parses the body straight into
//! the prost request type (serde impls generated from the same proto by
//! build.rs, with the kinds of [`crate::pb::json`]), calls the service trait
//! method, and writes the response with serde.
//!
//! Both roads must answer alike, so this one only takes requests it can
//! answer exactly as the dynamic road would:
//! - routes whose request comes wholly from the body (`body: "*"`, no path
//!   variables, no `response_body`); other routes keep the dynamic road;
//! - bodies it can parse: a body it refuses goes to the dynamic road, which
//!   accepts it or writes the error message clients see, so the wording
//!   never depends on the road. `tests/typed_road.rs` and
//!   `tests/json_contract.rs` check that whatever this road accepts, the
//!   dynamic road accepts as the same message, and that both write the same
//!   bytes.
//!
//! A road is checked against the descriptors when the transcoder is built:
//! one for an RPC without a `body: "*"` route, or whose Rust types are not
//! the RPC's messages ([`MessageName`]), stops start-up
//! ([`super::TranscoderError`]).
//!
//! What the typed road skips: tonic's server machinery, so tower layers or
//! interceptors wrapped around a tonic service do not see REST calls that
//! take it (the Greet service has none). The metadata REST forwards
//! ([`super::forward`]) still reaches the service: the generated roads
//! ([`TypedRpc::with_metadata`]) build the `tonic::Request` with it and hand
//! back the `tonic::Response`'s, as the dynamic road does through tonic.

use std::{future::Future, pin::Pin, sync::Arc};

use serde::{Serialize, de::DeserializeOwned};
use tonic::{Status, metadata::MetadataMap};

/// What a typed call resolves to: the response JSON and the metadata the
/// service set, or the RPC's status (whose metadata are its trailers).
pub type Reply = Pin<Box<dyn Future<Output = Result<(Vec<u8>, MetadataMap), Status>> + Send>>;

type Call = dyn Fn(&[u8], &mut MetadataMap) -> Option<Reply> + Send + Sync;

/// Which proto message a Rust type is read or written as, so that a typed
/// road's types are checked against its RPC's. build.rs implements it for
/// every generated message (from `prost::Name`).
pub trait MessageName {
    /// The message's full name (`greet.v1.GreetRequest`), or `None` for a
    /// type that stands for any message, such as schemaless JSON.
    fn message_name() -> Option<String>;
}

/// Schemaless JSON: any message's JSON reads into it and it writes as given.
impl MessageName for serde_json::Value {
    fn message_name() -> Option<String> {
        None
    }
}

/// A typed handler for one RPC, registered by its gRPC path.
#[derive(Clone)]
pub struct TypedRpc {
    grpc_path: &'static str,
    input: Option<String>,
    output: Option<String>,
    call: Arc<Call>,
}

impl TypedRpc {
    /// `grpc_path` is `/<package>.<Service>/<Method>`; `handler` is the RPC's
    /// implementation, which neither sees the forwarded metadata nor sets
    /// any (for hand-written roads; see [`TypedRpc::with_metadata`]).
    pub fn new<Req, Resp, F, Fut>(grpc_path: &'static str, handler: F) -> Self
    where
        Req: DeserializeOwned + Default + MessageName + Send + 'static,
        Resp: Serialize + MessageName + Send + 'static,
        F: Fn(Req) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Resp, Status>> + Send + 'static,
    {
        TypedRpc::with_metadata(grpc_path, move |request: tonic::Request<Req>| {
            let reply = handler(request.into_inner());
            async move { reply.await.map(tonic::Response::new) }
        })
    }

    /// Like [`TypedRpc::new`], but the handler is called as tonic calls the
    /// service trait: with the forwarded metadata in its `tonic::Request`,
    /// and its `tonic::Response`'s metadata go back to the REST client (what
    /// build.rs generates for every unary RPC).
    pub fn with_metadata<Req, Resp, F, Fut>(grpc_path: &'static str, handler: F) -> Self
    where
        Req: DeserializeOwned + Default + MessageName,
        Resp: Serialize + MessageName,
        F: Fn(tonic::Request<Req>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<tonic::Response<Resp>, Status>> + Send + 'static,
    {
        let call = move |body: &[u8], metadata: &mut MetadataMap| -> Option<Reply> {
            let request = if super::json::is_blank(body) {
                Req::default()
            } else {
                serde_json::from_slice(body).ok()?
            };
            let reply = handler(tonic::Request::from_parts(
                std::mem::take(metadata),
                tonic::Extensions::default(),
                request,
            ));
            Some(Box::pin(async move {
                let (metadata, response, _) = reply.await?.into_parts();
                let mut json = Vec::with_capacity(128);
                serde_json::to_writer(&mut json, &response).map_err(|e| {
                    Status::internal(format!("cannot write the response as JSON: {e}"))
                })?;
                Ok((json, metadata))
            }))
        };
        TypedRpc {
            grpc_path,
            input: Req::message_name(),
            output: Resp::message_name(),
            call: Arc::new(call),
        }
    }

    /// The gRPC path of the RPC this handles.
    pub fn grpc_path(&self) -> &str {
        self.grpc_path
    }

    /// The full names of the request and response messages its Rust types
    /// are (`None`: any message).
    pub fn message_names(&self) -> (Option<&str>, Option<&str>) {
        (self.input.as_deref(), self.output.as_deref())
    }

    /// Starts the call, taking the forwarded `metadata`; or `None`, the
    /// metadata left in place, when the body is not one this road parses
    /// (the dynamic road then answers).
    pub fn call(&self, body: &[u8], metadata: &mut MetadataMap) -> Option<Reply> {
        (self.call)(body, metadata)
    }
}
