//! The API port: one listener, HTTP/1.1 and h2c, three protocols, one CORS
//! policy, one access log.
//!
//! A request flows through [`Api::serve`]:
//! 1. a CORS preflight is answered by the policy alone (204 or 403);
//! 2. otherwise the content type picks the protocol: `application/grpc-web*`
//!    goes through tonic-web, `application/grpc*` straight to tonic, anything
//!    else to the REST transcoder; all three end at the same tonic router;
//! 3. the CORS response headers and `Vary: Origin` are added to whatever came
//!    back, and the body is wrapped to log the request when it ends.
//!
//! tonic-web wraps the gRPC router only, never REST: it answers 400 to any
//! HTTP/1.1 request that is not gRPC-Web.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use http::{HeaderMap, Request, Response, StatusCode, Version, header};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use prost_reflect::DescriptorPool;
use tokio::net::TcpListener;
use tonic::{body::Body, server::NamedService, service::RoutesBuilder};
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::{Layer, Service, ServiceExt};

use crate::{
    access_log::{Entry, LoggedBody, Protocol},
    cors::CorsPolicy,
    grpc::{self, GrpcService},
    pb,
    status::ErrorReply,
    transcode::{RuleError, Transcoder},
};

/// Why the API could not be assembled (a start-up error).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("invalid descriptor set: {0}")]
    Descriptors(#[from] prost_reflect::DescriptorError),
    #[error("invalid google.api.http annotation: {0}")]
    Rule(#[from] RuleError),
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// Assembles an [`Api`]: the Greet service is always there; tests and
/// embedders may add more services with their descriptor sets, and their
/// annotated RPCs get REST routes with no further code.
pub struct ApiBuilder {
    routes: RoutesBuilder,
    descriptor_sets: Vec<&'static [u8]>,
    service_names: Vec<&'static str>,
    max_body_bytes: usize,
}

impl ApiBuilder {
    pub fn new(max_body_bytes: usize) -> Self {
        let mut routes = RoutesBuilder::default();
        routes.add_service(grpc::greet_server(max_body_bytes));
        ApiBuilder {
            routes,
            descriptor_sets: vec![pb::FILE_DESCRIPTOR_SET],
            service_names: vec![pb::greet::v1::greet_service_server::SERVICE_NAME],
            max_body_bytes,
        }
    }

    /// Adds a gRPC service and the encoded descriptor set that describes it.
    pub fn add_service<S>(mut self, service: S, descriptor_set: &'static [u8]) -> Self
    where
        S: tower::Service<Request<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Response: axum_core_response::IntoResponse,
        S::Future: Send + 'static,
    {
        self.routes.add_service(service);
        self.descriptor_sets.push(descriptor_set);
        self.service_names.push(S::NAME);
        self
    }

    /// Adds health and reflection, reads the REST routes, fixes the CORS
    /// methods to those the routes use.
    pub async fn build(mut self, cors: CorsPolicy) -> Result<Api, BuildError> {
        let (health, health_service) = tonic_health::server::health_reporter();
        for name in &self.service_names {
            health
                .set_service_status(*name, tonic_health::ServingStatus::Serving)
                .await;
        }
        let mut reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        let mut reflection_alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET);
        let mut pool = DescriptorPool::new();
        for set in &self.descriptor_sets {
            reflection = reflection.register_encoded_file_descriptor_set(set);
            reflection_alpha = reflection_alpha.register_encoded_file_descriptor_set(set);
            pool.decode_file_descriptor_set(*set)?;
        }
        self.routes
            .add_service(health_service)
            .add_service(reflection.build_v1()?)
            .add_service(reflection_alpha.build_v1alpha()?);

        let grpc = grpc::service(self.routes.routes().prepare());
        let rest = Transcoder::new(&pool, grpc.clone(), self.max_body_bytes)?;
        for route in rest.routes() {
            tracing::debug!(%route, "REST route");
        }
        let mut methods = rest.methods();
        // gRPC and gRPC-Web are always POST.
        methods.push(http::Method::POST);
        let cors = cors.with_methods(&methods);
        Ok(Api {
            inner: Arc::new(Inner {
                cors,
                grpc_web: GrpcWebLayer::new().layer(grpc.clone()),
                grpc,
                rest,
            }),
        })
    }
}

mod axum_core_response {
    pub use axum::response::IntoResponse;
}

/// The whole API port as one tower service.
#[derive(Clone)]
pub struct Api {
    inner: Arc<Inner>,
}

struct Inner {
    cors: CorsPolicy,
    grpc: GrpcService,
    grpc_web: GrpcWebService<GrpcService>,
    rest: Transcoder,
}

impl Api {
    /// Serves one request; see the module docs for the flow.
    pub async fn serve<B>(&self, request: Request<B>) -> Response<LoggedBody>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let inner = &self.inner;
        let started = Instant::now();
        let method = request.method().clone();
        let uri = request.uri().clone();
        let protocol = classify(&request);
        let origin = inner.cors.allowed_origin(request.headers()).cloned();

        let mut response = match protocol {
            Protocol::Preflight => inner.cors.preflight(request.headers()),
            // Native gRPC needs HTTP/2 trailers; say so rather than fail oddly.
            Protocol::Grpc if request.version() < Version::HTTP_2 => ErrorReply::new(
                StatusCode::BAD_REQUEST,
                "Native gRPC needs HTTP/2; over HTTP/1.1 use gRPC-Web (application/grpc-web+proto)",
            )
            .into_response(),
            Protocol::Grpc => unwrap_infallible(inner.grpc.clone().oneshot(request).await),
            Protocol::GrpcWeb => unwrap_infallible(inner.grpc_web.clone().oneshot(request).await),
            Protocol::Rest => inner.rest.handle(request).await,
        };
        if protocol != Protocol::Preflight {
            inner.cors.decorate(origin, response.headers_mut());
        }
        let grpc_status = response.headers().get("grpc-status").cloned();
        let status = response.status();
        response.map(|body| {
            LoggedBody::new(
                body,
                Entry {
                    started,
                    method,
                    uri,
                    protocol,
                    status,
                    grpc_status,
                },
            )
        })
    }
}

fn unwrap_infallible<T>(result: Result<T, Infallible>) -> T {
    match result {
        Ok(value) => value,
        Err(never) => match never {},
    }
}

/// Which face of the port a request is for.
fn classify<B>(request: &Request<B>) -> Protocol {
    if CorsPolicy::is_preflight(request.method(), request.headers()) {
        return Protocol::Preflight;
    }
    match content_type(request.headers()) {
        Some(ct) if starts_with_ignore_case(ct, b"application/grpc-web") => Protocol::GrpcWeb,
        Some(ct) if starts_with_ignore_case(ct, b"application/grpc") => Protocol::Grpc,
        _ => Protocol::Rest,
    }
}

fn content_type(headers: &HeaderMap) -> Option<&[u8]> {
    headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes())
}

fn starts_with_ignore_case(value: &[u8], prefix: &[u8]) -> bool {
    value.len() >= prefix.len() && value[..prefix.len()].eq_ignore_ascii_case(prefix)
}

impl<B> Service<Request<B>> for Api
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Response = Response<LoggedBody>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let api = self.clone();
        Box::pin(async move { Ok(api.serve(request).await) })
    }
}

/// How long in-flight requests get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves `service` on `listener` (HTTP/1.1 and h2c) until `shutdown`
/// resolves, then stops accepting and lets in-flight connections finish.
/// The caller binds and picks the trigger, so `main` and tests share it.
pub async fn run<S, B>(listener: TcpListener, service: S, shutdown: impl Future<Output = ()>)
where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10));
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off, go on.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(service.clone());
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        });
    }

    drop(listener);
    tracing::info!("shutting down: no new connections, finishing in-flight requests");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("grace period over; closing the remaining connections");
    }
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
