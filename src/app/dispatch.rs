//! The end of the shared stack: each request goes to the face that speaks
//! its protocol, as the classification labelled it.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use bytes::Bytes;
use http::{Request, Response, StatusCode, Version};
use http_body_util::Either;
use pin_project_lite::pin_project;
use tonic::body::Body;
use tower::{BoxError, Service};
use tower_http::{body::UnsyncBoxBody, catch_panic::CatchPanic};

use crate::{
    connect::Connect,
    grpc::{GrpcService, GrpcWeb},
    layers::{
        classify::Classified,
        panic::PanicRefusal,
        timeout::{DeadlineBody, Timeout},
    },
    protocol::Protocol,
    status::ErrorReply,
    transcode::Transcoder,
};

/// A protocol's handler under its deadline and panic guard.
pub type Face<S> = Timeout<CatchPanic<S, PanicRefusal>>;

/// The body of a face's answer (tower-http's catch-panic boxes the
/// handler's), or an answer of the timeout's or the dispatch's own.
pub type FaceBody = Either<DeadlineBody<UnsyncBoxBody<Bytes, BoxError>>, Body>;

/// One face per protocol.
#[derive(Clone)]
pub struct Faces {
    pub grpc: Face<GrpcService>,
    pub grpc_web: GrpcWeb<Face<GrpcService>>,
    pub rest: Face<Handler<Transcoder>>,
    pub connect: Face<Handler<Connect>>,
}

/// Hands each request to its protocol's face.
///
/// Owns its faces: the API is cloned once per connection, and each face is
/// then called in place. Shared behind one `Arc`, a face had to be cloned
/// for each request (reference counts raised and lowered, atomics that
/// cost real time though few instructions).
#[derive(Clone)]
pub struct Dispatch {
    faces: Faces,
}

impl Dispatch {
    pub fn new(faces: Faces) -> Self {
        Dispatch { faces }
    }
}

/// The futures of the faces, for a request body `B`.
type GrpcFuture<B> = <Face<GrpcService> as Service<Request<B>>>::Future;
type GrpcWebFuture<B> = <GrpcWeb<Face<GrpcService>> as Service<Request<B>>>::Future;
type RestFuture<B> = <Face<Handler<Transcoder>> as Service<Request<B>>>::Future;
type ConnectFuture<B> = <Face<Handler<Connect>> as Service<Request<B>>>::Future;

impl<B> Service<Request<Classified<B>>> for Dispatch
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Response = Response<FaceBody>;
    type Error = Infallible;
    type Future = DispatchFuture<GrpcFuture<B>, GrpcWebFuture<B>, RestFuture<B>, ConnectFuture<B>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Classified<B>>) -> Self::Future {
        let (head, body) = request.into_parts();
        let protocol = body.protocol();
        let request = Request::from_parts(head, body.into_inner());
        match protocol {
            // Native gRPC needs HTTP/2 trailers; say so rather than fail oddly.
            Protocol::Grpc if request.version() < Version::HTTP_2 => DispatchFuture::Answered {
                answer: Some(
                    ErrorReply::new(
                        StatusCode::BAD_REQUEST,
                        "Native gRPC needs HTTP/2; over HTTP/1.1 use gRPC-Web (application/grpc-web+proto)",
                    )
                    .into_response(),
                ),
            },
            Protocol::Grpc => DispatchFuture::Grpc {
                future: self.faces.grpc.call(request),
            },
            Protocol::GrpcWeb { .. } => DispatchFuture::GrpcWeb {
                future: self.faces.grpc_web.call(request),
            },
            // The CORS layer answers every preflight; one that got here would
            // be an OPTIONS request like any other, REST's to answer.
            Protocol::Rest | Protocol::Preflight => DispatchFuture::Rest {
                future: self.faces.rest.call(request),
            },
            Protocol::Connect => DispatchFuture::Connect {
                future: self.faces.connect.call(request),
            },
        }
    }
}

pin_project! {
    /// The future of [`Dispatch`]: the chosen face's.
    #[project = DispatchProjection]
    pub enum DispatchFuture<G, W, R, C> {
        Grpc { #[pin] future: G },
        GrpcWeb { #[pin] future: W },
        Rest { #[pin] future: R },
        Connect { #[pin] future: C },
        Answered { answer: Option<Response<Body>> },
    }
}

impl<G, W, R, C> Future for DispatchFuture<G, W, R, C>
where
    G: Future<Output = Result<Response<FaceBody>, Infallible>>,
    W: Future<Output = Result<Response<Body>, Infallible>>,
    R: Future<Output = Result<Response<FaceBody>, Infallible>>,
    C: Future<Output = Result<Response<FaceBody>, Infallible>>,
{
    type Output = Result<Response<FaceBody>, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            DispatchProjection::Grpc { future } => future.poll(cx),
            DispatchProjection::Rest { future } => future.poll(cx),
            DispatchProjection::Connect { future } => future.poll(cx),
            DispatchProjection::GrpcWeb { future } => future
                .poll(cx)
                .map_ok(|response| response.map(Either::Right)),
            DispatchProjection::Answered { answer } => {
                let answer = answer
                    .take()
                    .expect("a future is not polled after it completed");
                Poll::Ready(Ok(answer.map(Either::Right)))
            }
        }
    }
}

/// A face's handler: answers one request, whatever its body type.
pub trait Answer: Send + Sync + 'static {
    fn answer<B>(&self, request: Request<B>) -> impl Future<Output = Response<Body>> + Send
    where
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static;
}

/// The handlers' own `handle`, as [`Answer`].
macro_rules! answer_by_handle {
    ($($handler:ty),*) => {$(
        impl Answer for $handler {
            fn answer<B>(&self, request: Request<B>) -> impl Future<Output = Response<Body>> + Send
            where
                B: http_body::Body<Data = Bytes> + Send + 'static,
                B::Error: std::error::Error + Send + Sync + 'static,
            {
                self.handle(request)
            }
        }
    )*};
}

answer_by_handle!(Transcoder, Connect);

/// A handler (the REST transcoder, Connect) as a tower service.
pub struct Handler<T> {
    handler: Arc<T>,
}

impl<T> Handler<T> {
    pub fn new(handler: T) -> Self {
        Handler {
            handler: Arc::new(handler),
        }
    }
}

impl<T> Clone for Handler<T> {
    fn clone(&self) -> Self {
        Handler {
            handler: Arc::clone(&self.handler),
        }
    }
}

impl<T, B> Service<Request<B>> for Handler<T>
where
    T: Answer,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    /// Boxed: the handlers are async code, whose futures have no name. It
    /// is the one boxed future of a REST or Connect request, as the whole
    /// API's was.
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let handler = Arc::clone(&self.handler);
        Box::pin(async move { Ok(handler.answer(request).await) })
    }
}
