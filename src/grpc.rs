//! The tonic `GreetService`: unpack the message, call [`crate::greeter`], pack
//! the answer. gRPC-Web and REST's dynamic road reach this very service
//! through tonic; REST's typed road calls its trait method directly
//! ([`crate::transcode::typed`]), so all three share [`Greeter`].
//!
//! Also the table of every gRPC service on the port, and the checks each
//! request body passes on its way in ([`RequestBody`]), so that a bad body
//! is refused by our own code as a [`RequestError`] with the same code and
//! words on every service, before tonic decodes anything.
//!
//! [`RequestError`]: crate::request_error::RequestError

mod body;
pub mod codec;
mod frames;
mod text;
mod unary;

use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
};

use futures_util::future::{BoxFuture, Either, Ready, ready};
use http::{HeaderValue, header};
use prost_reflect::DescriptorPool;
use tonic::{Request, Response, Status, body::Body, server::NamedService};
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::Layer;

pub use body::RequestBody;
pub use text::Base64Error;
pub use unary::{Unary, frame};

use crate::{
    greeter::{self, GreetError},
    pb::Timestamp,
    pb::greet::v1::{
        GreetRequest, GreetResponse,
        greet_service_server::{GreetService, GreetServiceServer},
    },
    ready::call_ready,
};

/// The implementation of `greet.v1.GreetService`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Greeter;

#[tonic::async_trait]
impl GreetService for Greeter {
    async fn greet(
        &self,
        request: Request<GreetRequest>,
    ) -> Result<Response<GreetResponse>, Status> {
        let request = request.into_inner();
        let greeting = greeter::greet(request.name.as_deref(), request.lang.as_deref())?;
        Ok(Response::new(GreetResponse {
            greeting: greeting.text,
            timestamp: Some(Timestamp::from(greeting.at)),
        }))
    }
}

/// Every greeting error is the caller's fault: INVALID_ARGUMENT, with the
/// spec's exact message.
impl From<GreetError> for Status {
    fn from(error: GreetError) -> Self {
        Status::invalid_argument(error.to_string())
    }
}

/// The one RPC that reads an absent request message as the empty message.
/// Spec row 1 gives "no body" on every protocol the domain's answer,
/// INVALID_ARGUMENT "Missing request body", and REST already reads a blank
/// body as the empty message; so a gRPC Greet call without a message is
/// handed the empty message and [`greeter`] says why it is refused. Every
/// other unary RPC (health, an embedder's) gets
/// [`RequestError::MissingMessage`] instead, in words that fit any service.
///
/// [`RequestError::MissingMessage`]: crate::request_error::RequestError::MissingMessage
pub const GREET_PATH: &str = "/greet.v1.GreetService/Greet";

/// How many messages an RPC's request body carries, from its descriptor:
/// what the end of the body must be checked against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// Client or bidirectional streaming: any number of messages, none
    /// included. Also any method the table does not know (tonic answers
    /// UNIMPLEMENTED without reading the body).
    Stream,
    /// Exactly one message; none is refused (`RequestError::MissingMessage`).
    Unary,
    /// Exactly one message; none reads as the empty message (see
    /// [`GREET_PATH`]).
    UnaryEmptyWhenAbsent,
}

/// Why the gRPC services could not be described (a start-up error): every
/// service must be in the descriptor pool so its requests can be checked.
#[derive(Debug, thiserror::Error)]
pub enum DescribeError {
    #[error("service {0} is not in any registered descriptor set")]
    Undescribed(&'static str),
    #[error("{0} is declared to read an absent message as empty, but is no unary RPC served here")]
    NotUnary(&'static str),
}

/// A service's answer, boxed: the one allocation a call through the table
/// costs.
pub type ServiceFuture = BoxFuture<'static, Result<http::Response<Body>, Infallible>>;

/// A service of the table, called through a shared reference: each call
/// clones the service itself (a tonic server's clone is a reference-count
/// bump) and boxes its answer. tower's `BoxCloneSyncService` needed its
/// box cloned first, a second allocation on every gRPC call.
type BoxedService = Box<dyn Fn(http::Request<RequestBody>) -> ServiceFuture + Send + Sync>;

/// One service of the table, with the arity of each of its methods.
struct Entry {
    name: &'static str,
    service: BoxedService,
    methods: Box<[(String, Arity)]>,
}

impl Entry {
    fn arity(&self, method: &str) -> Arity {
        self.methods
            .iter()
            .find(|(name, _)| name == method)
            .map_or(Arity::Stream, |(_, arity)| *arity)
    }
}

/// The gRPC services by name. A gRPC path is always `/<service>/<method>`,
/// so finding the service is one string comparison per service; tonic's
/// `Routes` would go through axum's general-purpose router for the same
/// answer (~1.7k instructions a request, `bench/profile`).
#[derive(Clone)]
pub struct ServiceTable {
    services: Arc<[Entry]>,
}

/// Collects the services of a [`ServiceTable`].
#[derive(Default)]
pub struct ServiceTableBuilder {
    services: Vec<(&'static str, BoxedService)>,
    empty_when_absent: Vec<&'static str>,
}

impl ServiceTableBuilder {
    /// Adds a service. tonic's generated servers take any body, so they
    /// take [`RequestBody`].
    pub fn add<S>(&mut self, service: S) -> &mut Self
    where
        S: tower::Service<
                http::Request<RequestBody>,
                Response = http::Response<Body>,
                Error = Infallible,
            > + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        // tonic's servers are always ready: called at once ([`call_ready`]).
        let call = move |request| -> ServiceFuture {
            call_ready(
                &mut service.clone(),
                request,
                |called| -> ServiceFuture { Box::pin(called) },
                |waiting| -> ServiceFuture { Box::pin(waiting) },
            )
        };
        self.services.push((S::NAME, Box::new(call)));
        self
    }

    /// Declares that the unary RPC at `grpc_path` reads an absent request
    /// message as the empty message ([`Arity::UnaryEmptyWhenAbsent`]).
    pub fn read_absent_as_empty(&mut self, grpc_path: &'static str) -> &mut Self {
        self.empty_when_absent.push(grpc_path);
        self
    }

    /// The table, with each method's arity read from `pool`, which must
    /// describe every service added.
    pub fn build(self, pool: &DescriptorPool) -> Result<ServiceTable, DescribeError> {
        let mut services = self
            .services
            .into_iter()
            .map(|(name, service)| {
                let descriptor = pool
                    .get_service_by_name(name)
                    .ok_or(DescribeError::Undescribed(name))?;
                let methods = descriptor.methods().map(|method| {
                    let arity = if method.is_client_streaming() {
                        Arity::Stream
                    } else {
                        Arity::Unary
                    };
                    (method.name().to_owned(), arity)
                });
                Ok(Entry {
                    name,
                    service,
                    methods: methods.collect(),
                })
            })
            .collect::<Result<Vec<Entry>, DescribeError>>()?;
        for path in self.empty_when_absent {
            let (service, method) = split_path(path).ok_or(DescribeError::NotUnary(path))?;
            let arity = services
                .iter_mut()
                .filter(|entry| entry.name == service)
                .flat_map(|entry| entry.methods.iter_mut())
                .find(|(name, arity)| name == method && *arity == Arity::Unary)
                .map(|(_, arity)| arity)
                .ok_or(DescribeError::NotUnary(path))?;
            *arity = Arity::UnaryEmptyWhenAbsent;
        }
        Ok(ServiceTable {
            services: services.into(),
        })
    }
}

/// `/<service>/<method>`, split (at the first `/` after the leading one,
/// found byte by byte: cheaper than `str::split_once`'s searcher on every
/// gRPC call). Connect's path check reads paths the same way
/// ([`crate::connect::procedures::is_method_shaped`]).
pub fn split_path(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix('/')?;
    let at = rest.bytes().position(|b| b == b'/')?;
    Some((&rest[..at], &rest[at + 1..]))
}

impl ServiceTable {
    /// The service serving a gRPC `path`, and the method's arity.
    fn find(&self, path: &str) -> Option<(&Entry, Arity)> {
        let (service, method) = split_path(path)?;
        let entry = self.services.iter().find(|e| e.name == service)?;
        Some((entry, entry.arity(method)))
    }
}

/// The gRPC services as every protocol reaches them: the [`ServiceTable`],
/// with each request body checked on its way in ([`RequestBody`]): the body
/// limit from each frame's header, a truncated frame, an absent message and,
/// for gRPC-Web text, the base64. Native gRPC and gRPC-Web clients reach it
/// through [`service`]; REST through [`GrpcService::in_process`].
#[derive(Clone)]
pub struct GrpcService {
    table: ServiceTable,
    /// The largest message a client may send.
    limit: Option<usize>,
    /// Bodies are gRPC-Web text: base64.
    text: bool,
}

/// The services of `table`, refusing messages over `max_body_bytes`.
pub fn service(table: ServiceTable, max_body_bytes: usize) -> GrpcService {
    GrpcService {
        table,
        limit: Some(max_body_bytes),
        text: false,
    }
}

impl GrpcService {
    /// The same services for calls made in-process by the REST transcoder:
    /// it applied the body limit to the JSON the client sent, and the
    /// protobuf that JSON becomes may be larger (a `-1` is 2 characters of
    /// JSON and 10 bytes of varint), so no second limit: a body under the
    /// limit must not come back as a RESOURCE_EXHAUSTED (a 429).
    pub fn in_process(&self) -> GrpcService {
        GrpcService {
            limit: None,
            ..self.clone()
        }
    }
}

impl<B> tower::Service<http::Request<B>> for GrpcService
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Either<ServiceFuture, Ready<Result<http::Response<Body>, Infallible>>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        match self.table.find(request.uri().path()) {
            Some((entry, arity)) => {
                let (limit, text) = (self.limit, self.text);
                let request =
                    request.map(|body| RequestBody::new(Body::new(body), arity, limit, text));
                Either::Left((entry.service)(request))
            }
            // An unknown service, as tonic answers it.
            None => Either::Right(ready(Ok(Status::unimplemented("").into_http()))),
        }
    }
}

/// gRPC-Web in front of the services: tonic-web translates the protocol,
/// except that a text body's base64 is decoded by [`RequestBody`] (why:
/// `grpc/text.rs`). A text request is handed to tonic-web labelled binary,
/// so tonic-web passes its body through, to services that decode it. The
/// response's encoding follows `Accept`, which is left alone.
#[derive(Clone)]
pub struct GrpcWeb<S> {
    binary: GrpcWebService<S>,
    text: GrpcWebService<S>,
}

/// gRPC-Web in front of `binary`, a [`GrpcService`] (under whatever layers
/// the caller stacked on it), and `text`, the same for base64 bodies (built
/// on [`GrpcService::text`]).
pub fn web<S>(binary: S, text: S) -> GrpcWeb<S> {
    GrpcWeb {
        binary: GrpcWebLayer::new().layer(binary),
        text: GrpcWebLayer::new().layer(text),
    }
}

impl GrpcService {
    /// The same services, reading gRPC-Web text (base64) bodies.
    pub fn text(&self) -> GrpcService {
        GrpcService {
            text: true,
            ..self.clone()
        }
    }
}

impl<S, B> tower::Service<http::Request<B>> for GrpcWeb<S>
where
    GrpcWebService<S>: tower::Service<http::Request<B>>,
{
    type Response = <GrpcWebService<S> as tower::Service<http::Request<B>>>::Response;
    type Error = <GrpcWebService<S> as tower::Service<http::Request<B>>>::Error;
    type Future = <GrpcWebService<S> as tower::Service<http::Request<B>>>::Future;

    /// Both faces wrap a [`GrpcService`], which is always ready.
    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The two text types tonic-web recognises, exactly as it matches them.
        let text = request
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|ct| {
                ct == "application/grpc-web-text" || ct == "application/grpc-web-text+proto"
            });
        if text {
            request.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/grpc-web+proto"),
            );
            self.text.call(request)
        } else {
            self.binary.call(request)
        }
    }
}

/// The Greet service as the table serves it. tonic's own decoding limit is
/// lifted: [`GrpcService`] refuses a client's message over the body limit
/// from its frame header, before tonic reads it, and the REST transcoder's
/// in-process calls are deliberately not limited again. No compression is
/// enabled, so no message grows once read.
pub fn greet_server() -> GreetServiceServer<Greeter> {
    GreetServiceServer::new(Greeter).max_decoding_message_size(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb;

    fn greet_table(
        pool: &DescriptorPool,
        empty_when_absent: &'static str,
    ) -> Result<ServiceTable, DescribeError> {
        let mut builder = ServiceTableBuilder::default();
        builder
            .add(greet_server())
            .read_absent_as_empty(empty_when_absent);
        builder.build(pool)
    }

    #[test]
    fn greet_reads_an_absent_message_as_empty_and_unknown_methods_are_streams() {
        let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
        let table = greet_table(&pool, GREET_PATH).unwrap();
        let arity = |path| table.find(path).map(|(_, arity)| arity);
        assert_eq!(arity(GREET_PATH), Some(Arity::UnaryEmptyWhenAbsent));
        assert_eq!(arity("/greet.v1.GreetService/Nope"), Some(Arity::Stream));
        assert_eq!(arity("/no.Such/Greet"), None);
    }

    #[test]
    fn a_service_the_pool_does_not_describe_stops_start_up() {
        let error = greet_table(&DescriptorPool::new(), GREET_PATH)
            .err()
            .unwrap();
        assert_eq!(
            error.to_string(),
            "service greet.v1.GreetService is not in any registered descriptor set"
        );
    }

    #[test]
    fn declaring_a_method_that_is_not_served_stops_start_up() {
        let pool = DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).unwrap();
        let error = greet_table(&pool, "/greet.v1.GreetService/Nope")
            .err()
            .unwrap();
        assert!(matches!(
            error,
            DescribeError::NotUnary("/greet.v1.GreetService/Nope")
        ));
    }
}
