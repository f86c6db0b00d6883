//! REST/JSON in front of the gRPC services, driven by `google.api.http`.
//!
//! A REST request is matched against the bindings read from the descriptor
//! pool ([`rules`]), turned into the RPC's request message ([`json`]), framed
//! as a unary gRPC call and sent in-process to the very same tonic services the
//! gRPC and gRPC-Web clients reach. The gRPC answer comes back as JSON, or as
//! `{"error": ...}` with the HTTP status from [`crate::status`].
//!
//! That is the dynamic road, which works for any annotated RPC. RPCs whose
//! Rust types are compiled in may also register a [`typed`] road, which
//! answers the same requests alike at about half the cost.
//!
//! Dispatch follows connect-go: path first (else 404), then method (else 405
//! with `Allow`), then the body: size (413), content type (415), JSON (400).
//!
//! Headers cross as grpc-gateway forwards them by default, on both roads
//! ([`forward`]): `authorization`, `x-request-id`, `traceparent` and
//! `grpc-metadata-*` in; the service's custom headers and trailers out as
//! `grpc-metadata-*`.
//!
//! Limitations: streaming RPCs are not transcoded.

pub mod forward;
pub mod json;
pub mod rules;
pub mod template;
pub mod typed;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body::Body as HttpBody;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage};
use tonic::{Status, body::Body};

use crate::{
    grpc::{self, GrpcService},
    openapi,
    request_error::read_body,
    status::{ErrorReply, JSON, json_response},
};
use rules::{Binding, BodyTarget};
use typed::TypedRpc;

pub use rules::RuleError;

/// The REST face of a set of gRPC services.
#[derive(Clone)]
pub struct Transcoder {
    routes: std::sync::Arc<[Route]>,
    grpc: GrpcService,
    max_body_bytes: usize,
    /// The OpenAPI document of these routes, served at [`openapi::PATH`]:
    /// built once here, so serving it costs a reference count. `None` when
    /// a route of the protos claims that path.
    openapi: Option<Bytes>,
}

/// Why the REST routes could not be set up (a start-up error).
#[derive(Debug, thiserror::Error)]
pub enum TranscoderError {
    #[error("invalid google.api.http annotation: {0}")]
    Rule(#[from] RuleError),
    /// A typed road for an RPC that no `body: "*"` route reaches (or no
    /// route at all): it would never be taken.
    #[error("typed REST road for {grpc_path}: no route with body \"*\" calls that RPC")]
    TypedWithoutRoute { grpc_path: String },
    /// A typed road whose Rust type is another message than the RPC's: it
    /// would read or write the wrong JSON.
    #[error(
        "typed REST road for {grpc_path}: its {side} type is {rust}, but the RPC's {side} is {proto}"
    )]
    TypedMismatch {
        grpc_path: String,
        /// `request` or `response`.
        side: &'static str,
        rust: String,
        proto: String,
    },
}

impl Transcoder {
    /// Reads every annotated RPC in `pool`; `grpc` must serve them (this
    /// calls them through [`GrpcService::in_process`]). Routes
    /// to an RPC in `typed` whose request comes wholly from the body take
    /// its typed road; each typed road must match an RPC with a `body: "*"`
    /// route, message for message.
    pub fn new(
        pool: &DescriptorPool,
        grpc: GrpcService,
        typed: &[TypedRpc],
        max_body_bytes: usize,
    ) -> Result<Self, TranscoderError> {
        let bindings = rules::bindings(pool)?;
        for road in typed {
            check_typed(road, &bindings)?;
        }
        let openapi = if openapi::path_is_free(&bindings) {
            let document = openapi::document(pool, &bindings);
            Some(Bytes::from(
                serde_json::to_vec_pretty(&document).expect("a JSON value always serializes"),
            ))
        } else {
            tracing::warn!(
                "a REST route takes GET {}: the OpenAPI document is not served",
                openapi::PATH
            );
            None
        };
        let routes = bindings
            .into_iter()
            .map(|binding| {
                let whole_body = binding.body == BodyTarget::Whole
                    && binding.path_fields.is_empty()
                    && binding.response_body.is_none();
                let typed = typed
                    .iter()
                    .find(|t| whole_body && t.grpc_path() == binding.rpc.grpc_path.as_str())
                    .cloned();
                Route { binding, typed }
            })
            .collect();
        Ok(Transcoder {
            routes,
            // The body limit applies to the JSON, here; not to its protobuf.
            grpc: grpc.in_process(),
            max_body_bytes,
            openapi,
        })
    }

    /// The HTTP methods the REST routes use (for CORS preflights), GET for
    /// the OpenAPI document included.
    pub fn methods(&self) -> Vec<Method> {
        self.routes
            .iter()
            .map(|r| r.binding.method.clone())
            .chain(self.openapi.is_some().then_some(Method::GET))
            .collect()
    }

    /// Every route as `METHOD /template -> /grpc/path (road)`, for the
    /// start-up log.
    pub fn routes(&self) -> impl Iterator<Item = String> + '_ {
        self.routes.iter().map(|Route { binding: b, typed }| {
            let road = if typed.is_some() { "typed" } else { "dynamic" };
            format!(
                "{} {} -> {} ({road})",
                b.method, b.template, b.rpc.grpc_path
            )
        })
    }

    /// Every route's template, in the order [`matched`] numbers them (the
    /// metrics' `route` labels).
    pub fn templates(&self) -> impl Iterator<Item = String> + '_ {
        self.routes.iter().map(|r| r.binding.template.to_string())
    }

    /// Answers one REST request.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<Body>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        // The service's metadata, on success and on error alike.
        let mut metadata = HeaderMap::new();
        let mut response = match self.transcode(request, &mut metadata).await {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
        forward::response_metadata(&metadata, response.headers_mut());
        response
    }

    /// The answer; `metadata` gathers the headers and trailers the service
    /// set.
    async fn transcode<B>(
        &self,
        request: Request<B>,
        metadata: &mut HeaderMap,
    ) -> Result<Response<Body>, ErrorReply>
    where
        B: HttpBody<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let (mut parts, body) = request.into_parts();
        let path = parts.uri.path();
        // OpenAPI hook: the document, before route matching (a length
        // compare is all other requests pay).
        if path == openapi::PATH
            && let Some(document) = &self.openapi
        {
            return Ok(if parts.method == Method::GET {
                json_response(StatusCode::OK, document.clone())
            } else {
                method_not_allowed(&parts.method, path, &[&Method::GET])
            });
        }
        let mut allowed: Vec<&Method> = Vec::new();
        let mut found = None;
        for (index, route) in self.routes.iter().enumerate() {
            if let Some(bound) = route.binding.template.matches(path) {
                if route.binding.method == parts.method {
                    matched::note(index);
                    found = Some((route, bound));
                    break;
                }
                allowed.push(&route.binding.method);
            }
        }
        let Some((Route { binding, typed }, bound)) = found else {
            return Err(if allowed.is_empty() {
                ErrorReply::new(
                    StatusCode::NOT_FOUND,
                    format!("No route for {} {path}", parts.method),
                )
            } else {
                return Ok(method_not_allowed(&parts.method, path, &allowed));
            });
        };

        let body = read_body(body, self.max_body_bytes).await?;
        if !body.is_empty() && binding.body != BodyTarget::None && !is_json(&parts.headers) {
            return Err(ErrorReply::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Unsupported content type '{}': send the body as application/json",
                    parts
                        .headers
                        .get(header::CONTENT_TYPE)
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                        .unwrap_or_default()
                ),
            ));
        }
        let mut forwarded = forward::request_metadata(std::mem::take(&mut parts.headers));
        if let Some(typed) = typed {
            let mut typed_metadata = tonic::metadata::MetadataMap::from_headers(forwarded);
            let reply = typed.call(&body, &mut typed_metadata);
            forwarded = typed_metadata.into_headers();
            if let Some(reply) = reply {
                return match reply.await {
                    Ok((json, set)) => {
                        *metadata = set.into_headers();
                        Ok(json_response(StatusCode::OK, Bytes::from(json)))
                    }
                    Err(status) => {
                        *metadata = status.metadata().clone().into_headers();
                        Err(error_of(&status))
                    }
                };
            }
        }
        let message = json::request_message(binding, bound, parts.uri.query(), &body)
            .map_err(|e| ErrorReply::new(StatusCode::BAD_REQUEST, e))?;

        let reply = self.call(binding, &message, forwarded, metadata).await?;
        let json = json::response_json(binding, &reply)
            .map_err(|e| ErrorReply::new(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        Ok(json_response(StatusCode::OK, Bytes::from(json)))
    }

    /// Calls the RPC in-process as a unary gRPC request with the forwarded
    /// headers; the service's response headers and custom trailers go to
    /// `metadata`.
    async fn call(
        &self,
        binding: &Binding,
        message: &DynamicMessage,
        forwarded: HeaderMap,
        metadata: &mut HeaderMap,
    ) -> Result<DynamicMessage, ErrorReply> {
        let framed = grpc::frame(message.encoded_len(), |buf| {
            message
                .encode(buf)
                .expect("the buffer was sized for the message")
        })?;
        let reply = self
            .grpc
            .unary(binding.rpc.grpc_path.clone(), framed, forwarded)
            .await;
        *metadata = reply.headers;
        // Only the custom ones: on success, no allocation.
        for (name, value) in reply.trailers.iter().flatten() {
            if !forward::is_reserved(name.as_str()) {
                metadata.append(name.clone(), value.clone());
            }
        }
        let data = reply.message.map_err(|status| error_of(&status))?;
        DynamicMessage::decode(binding.rpc.output.clone(), data).map_err(|e| {
            ErrorReply::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("The service sent an undecodable response: {e}"),
            )
        })
    }
}

/// A typed road must have a `body: "*"` route to its RPC, and Rust types
/// that are the RPC's messages (unless they stand for any message).
fn check_typed(road: &TypedRpc, bindings: &[Binding]) -> Result<(), TranscoderError> {
    let grpc_path = road.grpc_path();
    let Some(rpc) = bindings
        .iter()
        .find(|b| b.body == BodyTarget::Whole && b.rpc.grpc_path.as_str() == grpc_path)
        .map(|b| &b.rpc)
    else {
        return Err(TranscoderError::TypedWithoutRoute {
            grpc_path: grpc_path.to_owned(),
        });
    };
    let (input, output) = road.message_names();
    for (side, rust, proto) in [
        ("request", input, rpc.input.full_name()),
        ("response", output, rpc.output.full_name()),
    ] {
        if let Some(rust) = rust
            && rust != proto
        {
            return Err(TranscoderError::TypedMismatch {
                grpc_path: grpc_path.to_owned(),
                side,
                rust: rust.to_owned(),
                proto: proto.to_owned(),
            });
        }
    }
    Ok(())
}

/// Which route the transcoder matched, told to the layer above it that
/// counts the request ([`crate::layers::access_log`]) for its `route` label.
///
/// Carried back in a thread-local cell rather than on the response: the
/// first response extension allocates, and a request must not. It works
/// because a request's whole stack is one future, polled on one thread at a
/// time: the layer clears the cell, polls the stack below it, and reads the
/// cell before anything else can run on that thread. The transcoder writes
/// it in the same poll in which it matches, before any await.
pub mod matched {
    use std::cell::Cell;

    thread_local! {
        static MATCHED: Cell<Option<usize>> = const { Cell::new(None) };
    }

    /// Says that the route at `index` of [`super::Transcoder::templates`]
    /// matched the request being polled.
    pub(super) fn note(index: usize) {
        MATCHED.set(Some(index));
    }

    /// Runs `poll` (one poll of the stack below) and returns what it gave
    /// and the route the transcoder matched during it, if it did.
    pub fn during<T>(poll: impl FnOnce() -> T) -> (T, Option<usize>) {
        MATCHED.set(None);
        let polled = poll();
        (polled, MATCHED.take())
    }
}

/// One REST route: its binding, and the typed road when it has one.
struct Route {
    binding: Binding,
    typed: Option<TypedRpc>,
}

fn error_of(status: &Status) -> ErrorReply {
    ErrorReply::from_grpc(status.code(), status.message())
}

/// `application/json`, with or without parameters, or any `+json` type.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if value == JSON {
        return true; // what nearly every client sends
    }
    let essence = value.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(JSON)
        || essence
            .get(essence.len().saturating_sub(5)..)
            .is_some_and(|tail| tail.eq_ignore_ascii_case("+json"))
}

fn method_not_allowed(method: &Method, path: &str, allowed: &[&Method]) -> Response<Body> {
    let mut names: Vec<&str> = allowed.iter().map(|m| m.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let allow = names.join(", ");
    let mut response = ErrorReply::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("Method {method} is not allowed on {path}; use {allow}"),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{grpc, pb};

    fn routes(typed: &[TypedRpc]) -> Vec<String> {
        let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
        let table = grpc::ServiceTableBuilder::default().build(&pool).unwrap();
        let grpc = grpc::service(table, 1024);
        Transcoder::new(&pool, grpc, typed, 1024)
            .unwrap()
            .routes()
            .collect()
    }

    #[test]
    fn greet_takes_the_typed_road_when_registered() {
        assert_eq!(
            routes(&pb::greet::v1::greet_service_typed_roads(
                std::sync::Arc::new(grpc::Greeter)
            )),
            ["POST /greet -> /greet.v1.GreetService/Greet (typed)"]
        );
        assert_eq!(
            routes(&[]),
            ["POST /greet -> /greet.v1.GreetService/Greet (dynamic)"]
        );
    }
}
