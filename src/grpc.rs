//! The tonic `GreetService`: unpack the message, call [`crate::greeter`], pack
//! the answer. REST and gRPC-Web reach the very same service.

use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
};

use futures_util::future::{Either, Ready, ready};
use tonic::{Request, Response, Status, body::Body, server::NamedService};
use tower::{
    ServiceExt,
    util::{BoxCloneSyncService, MapResponse, Oneshot},
};

use crate::{
    greeter::{self, GreetError},
    pb::Timestamp,
    pb::greet::v1::{
        GreetRequest, GreetResponse,
        greet_service_server::{GreetService, GreetServiceServer},
    },
    protocol::{GRPC_MESSAGE, GRPC_STATUS},
    status::PAYLOAD_TOO_LARGE,
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

/// The gRPC services as every protocol reaches them: a [`ServiceTable`]
/// with tonic's own request-decoding errors restated the way the spec wants.
pub type GrpcService = MapResponse<ServiceTable, fn(http::Response<Body>) -> http::Response<Body>>;

/// Wraps the table so every protocol shares the restated statuses.
pub fn service(table: ServiceTable) -> GrpcService {
    MapResponse::new(table, restate_decode_errors)
}

type BoxedService = BoxCloneSyncService<http::Request<Body>, http::Response<Body>, Infallible>;

/// The gRPC services by name. A gRPC path is always `/<service>/<method>`,
/// so finding the service is one string comparison per service; tonic's
/// `Routes` would go through axum's general-purpose router for the same
/// answer (~1.7k instructions a request, `bench/profile`). An unknown
/// service is UNIMPLEMENTED, as tonic answers.
#[derive(Clone, Default)]
pub struct ServiceTable {
    services: Arc<[(&'static str, BoxedService)]>,
}

/// Collects the services of a [`ServiceTable`].
#[derive(Default)]
pub struct ServiceTableBuilder {
    services: Vec<(&'static str, BoxedService)>,
}

impl ServiceTableBuilder {
    pub fn add<S>(&mut self, service: S) -> &mut Self
    where
        S: tower::Service<http::Request<Body>, Response = http::Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.services
            .push((S::NAME, BoxCloneSyncService::new(service)));
        self
    }

    pub fn build(self) -> ServiceTable {
        ServiceTable {
            services: self.services.into(),
        }
    }
}

impl<B> tower::Service<http::Request<B>> for ServiceTable
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<tonic::codegen::StdError>,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Either<
        Oneshot<BoxedService, http::Request<Body>>,
        Ready<Result<http::Response<Body>, Infallible>>,
    >;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let name = request
            .uri()
            .path()
            .strip_prefix('/')
            .and_then(|rest| rest.split_once('/'))
            .map(|(service, _method)| service);
        match self.services.iter().find(|(n, _)| Some(*n) == name) {
            Some((_, service)) => Either::Left(service.clone().oneshot(request.map(Body::new))),
            None => Either::Right(ready(Ok(Status::unimplemented("").into_http()))),
        }
    }
}

/// tonic reports some problems with a *request* as if they were the server's
/// (INTERNAL) or with a code the spec does not use. They come before any
/// handler runs, so they arrive as trailers-only responses; this is the one
/// place they are mapped:
///
/// | tonic says | we say |
/// |---|---|
/// | OUT_OF_RANGE "Error, decoded message length too large…" | RESOURCE_EXHAUSTED "Payload too large" |
/// | INTERNAL "Missing request message." | INVALID_ARGUMENT "Missing request body" |
/// | INTERNAL "failed to decode Protobuf message: …" | INVALID_ARGUMENT, same text |
/// | INTERNAL "Unexpected EOF decoding stream." | INVALID_ARGUMENT "Truncated gRPC message: …" |
/// | INTERNAL "tonic-web: Invalid …" (bad base64 in text mode) | INVALID_ARGUMENT "Invalid base64 in the gRPC-Web text body: …" |
///
/// A compressed flag without `grpc-encoding` stays INTERNAL: the gRPC
/// compression spec requires exactly that.
fn restate_decode_errors(mut response: http::Response<Body>) -> http::Response<Body> {
    let code = match response.headers().get(&GRPC_STATUS) {
        Some(v) if v == "11" || v == "13" => v.clone(),
        _ => return response,
    };
    let Some(status) = Status::from_header_map(response.headers()) else {
        return response;
    };
    let message = status.message();
    let restated = if code == "11" && message.starts_with("Error, decoded message length too large")
    {
        Status::resource_exhausted(PAYLOAD_TOO_LARGE)
    } else if message == "Missing request message." {
        Status::invalid_argument(GreetError::MissingBody.to_string())
    } else if message.starts_with("failed to decode Protobuf message") {
        Status::invalid_argument(message)
    } else if let Some(detail) = message.strip_prefix("tonic-web: ")
        && (detail.starts_with("Invalid") || detail == "malformed base64 request")
    {
        // tonic-web's base64 decoder failing on the client's text body.
        Status::invalid_argument(format!(
            "Invalid base64 in the gRPC-Web text body: {detail}"
        ))
    } else if message == "Unexpected EOF decoding stream." {
        Status::invalid_argument(
            "Truncated gRPC message: the body ended inside a length-prefixed frame",
        )
    } else {
        return response;
    };
    let headers = response.headers_mut();
    headers.remove(&GRPC_STATUS);
    headers.remove(&GRPC_MESSAGE);
    restated
        .add_header(headers)
        .expect("fixed ASCII messages are valid header values");
    response
}

/// Everything the API port serves over gRPC: the Greet service (with the body
/// limit as its decoding limit), plus any services a caller adds.
pub fn greet_server(max_body_bytes: usize) -> GreetServiceServer<Greeter> {
    GreetServiceServer::new(Greeter).max_decoding_message_size(max_body_bytes)
}
