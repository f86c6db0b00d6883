//! The API port: one listener, HTTP/1.1 and h2c, three protocols, one CORS
//! policy, one access log.
//!
//! A request flows through [`Api::serve`]:
//! 1. a CORS preflight is answered by the policy alone (204 or 403);
//! 2. otherwise the content type picks the protocol: `application/grpc-web*`
//!    goes through tonic-web, `application/grpc*` straight to tonic, anything
//!    else to the REST transcoder; all three end at the same tonic services;
//! 3. the CORS response headers and `Vary: Origin` are added to whatever came
//!    back, and the body is wrapped to log the request when it ends.
//!
//! tonic-web wraps the gRPC services only, never REST: it answers 400 to any
//! HTTP/1.1 request that is not gRPC-Web.

use std::{
    convert::Infallible,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use http::{Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use prost_reflect::DescriptorPool;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    net::TcpListener,
    sync::Semaphore,
};
use tonic::{Code, body::Body, server::NamedService};
use tonic_web::{GrpcWebLayer, GrpcWebService};
use tower::{Layer, Service, ServiceExt};

use crate::{
    access_log::{Entry, LoggedBody},
    config::{Settings, Transport},
    cors::CorsPolicy,
    grpc::{self, GrpcService},
    pb,
    protocol::{GRPC_STATUS, Protocol, grpc_timeout},
    status::ErrorReply,
    transcode::{RuleError, Transcoder, typed::TypedRpc},
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
    services: grpc::ServiceTableBuilder,
    descriptor_sets: Vec<&'static [u8]>,
    service_names: Vec<&'static str>,
    typed: Vec<TypedRpc>,
    max_body_bytes: usize,
    request_timeout: Duration,
    max_concurrent_requests: usize,
}

impl ApiBuilder {
    /// The API with the given body limit and the default request timeout
    /// (30 s) and concurrency limit (10,000).
    pub fn new(max_body_bytes: usize) -> Self {
        let mut services = grpc::ServiceTableBuilder::default();
        services.add(grpc::greet_server(max_body_bytes));
        ApiBuilder {
            services,
            descriptor_sets: vec![pb::FILE_DESCRIPTOR_SET],
            service_names: vec![pb::greet::v1::greet_service_server::SERVICE_NAME],
            // The same Greeter, reached by REST without tonic's HTTP layer.
            typed: pb::greet::v1::greet_service_typed_roads(Arc::new(grpc::Greeter)),
            max_body_bytes,
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 10_000,
        }
    }

    /// The API as the settings describe it.
    pub fn from_settings(settings: &Settings) -> Self {
        let mut builder = ApiBuilder::new(settings.max_body_bytes);
        builder.request_timeout = settings.request_timeout;
        builder.max_concurrent_requests = settings.max_concurrent_requests;
        builder
    }

    /// Adds a gRPC service and the encoded descriptor set that describes it.
    pub fn add_service<S>(mut self, service: S, descriptor_set: &'static [u8]) -> Self
    where
        S: tower::Service<Request<Body>, Response = Response<Body>, Error = Infallible>
            + NamedService
            + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.services.add(service);
        self.descriptor_sets.push(descriptor_set);
        self.service_names.push(S::NAME);
        self
    }

    /// Gives an added RPC a typed REST road (see [`crate::transcode::typed`]).
    pub fn add_typed_rest(mut self, typed: TypedRpc) -> Self {
        self.typed.push(typed);
        self
    }

    /// Sends every REST request the dynamic road, as if no RPC had a typed
    /// one: for comparing the two roads.
    pub fn dynamic_rest_only(mut self) -> Self {
        self.typed.clear();
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
        // Each reflection version also describes the other, so a client that
        // speaks only one (grpcurl 1.8 asks v1alpha) still lists both.
        let mut reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            );
        let mut reflection_alpha = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET);
        let mut pool = DescriptorPool::new();
        for set in &self.descriptor_sets {
            reflection = reflection.register_encoded_file_descriptor_set(set);
            reflection_alpha = reflection_alpha.register_encoded_file_descriptor_set(set);
            pool.decode_file_descriptor_set(*set)?;
        }
        self.services
            .add(health_service)
            .add(reflection.build_v1()?)
            .add(reflection_alpha.build_v1alpha()?);

        let grpc = grpc::service(self.services.build());
        let rest = Transcoder::new(&pool, grpc.clone(), &self.typed, self.max_body_bytes)?;
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
                request_timeout: self.request_timeout,
                in_flight: Arc::new(Semaphore::new(self.max_concurrent_requests)),
            }),
        })
    }
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
    request_timeout: Duration,
    /// One permit per request being served; none left means shed load.
    in_flight: Arc<Semaphore>,
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
        let protocol = Protocol::classify(request.method(), request.headers());
        let origin = inner.cors.allowed_origin(request.headers()).cloned();

        let mut response = match protocol {
            Protocol::Preflight => inner.cors.preflight(request.headers()),
            _ => match inner.in_flight.try_acquire() {
                // Shed at once rather than queue without bound.
                Err(_) => protocol.refusal(
                    Code::Unavailable,
                    "Server is at its concurrent request limit; retry shortly",
                ),
                Ok(_permit) => {
                    let limit = match grpc_timeout(request.headers()) {
                        Some(asked) => asked.min(inner.request_timeout),
                        None => inner.request_timeout,
                    };
                    let served = tokio::time::timeout(limit, self.dispatch(protocol, request));
                    served.await.unwrap_or_else(|_| {
                        protocol.refusal(
                            Code::DeadlineExceeded,
                            &format!("Request timed out after {} ms", limit.as_millis()),
                        )
                    })
                }
            },
        };
        if protocol != Protocol::Preflight {
            inner.cors.decorate(origin, response.headers_mut());
        }
        let grpc_status = response.headers().get(&GRPC_STATUS).cloned();
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
                    request_id: None,
                    trace_id: None,
                },
            )
        })
    }

    /// Hands the request to the face that speaks its protocol.
    async fn dispatch<B>(&self, protocol: Protocol, request: Request<B>) -> Response<Body>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        let inner = &self.inner;
        match protocol {
            Protocol::Preflight => inner.cors.preflight(request.headers()),
            // Native gRPC needs HTTP/2 trailers; say so rather than fail oddly.
            Protocol::Grpc if request.version() < Version::HTTP_2 => ErrorReply::new(
                StatusCode::BAD_REQUEST,
                "Native gRPC needs HTTP/2; over HTTP/1.1 use gRPC-Web (application/grpc-web+proto)",
            )
            .into_response(),
            Protocol::Grpc => unwrap_infallible(inner.grpc.clone().oneshot(request).await),
            Protocol::GrpcWeb { .. } => {
                unwrap_infallible(inner.grpc_web.clone().oneshot(request).await)
            }
            Protocol::Rest => inner.rest.handle(request).await,
        }
    }
}

fn unwrap_infallible<T>(result: Result<T, Infallible>) -> T {
    match result {
        Ok(value) => value,
        Err(never) => match never {},
    }
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

/// Probe a connection idle for 60 s every 20 s; three unanswered probes
/// close it (a dead peer is gone within two minutes).
const TCP_KEEPALIVE: socket2::TcpKeepalive = socket2::TcpKeepalive::new()
    .with_time(Duration::from_secs(60))
    .with_interval(Duration::from_secs(20))
    .with_retries(3);

/// How long in-flight requests get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Serves `service` on `listener` (HTTP/1.1 and h2c, or HTTPS with ALPN when
/// `transport.tls` is set) until `shutdown` resolves, then stops accepting
/// and lets in-flight connections finish. The caller binds and picks the
/// trigger, so `main` and tests share one path.
pub async fn run<S, B>(
    listener: TcpListener,
    service: S,
    transport: Transport,
    shutdown: impl Future<Output = ()>,
) where
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let builder = Arc::new(connection_builder(&transport));
    let tls = transport.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    let connections = Arc::new(Semaphore::new(transport.max_connections));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        // At the connection limit, wait here: new clients queue in the
        // kernel's accept backlog instead of costing memory.
        let permit = tokio::select! {
            permit = Arc::clone(&connections).acquire_owned() => {
                permit.expect("the connection semaphore is never closed")
            }
            () = &mut shutdown => break,
        };
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
        // Dead peers are found by the kernel's TCP keep-alive, on every
        // protocol and at no cost per request. (hyper's HTTP/2 PING
        // keep-alive re-armed a timer on every frame: ~1.3k instructions
        // a gRPC request, `bench/profile`.)
        let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&TCP_KEEPALIVE);
        let service = TowerToHyperService::new(service.clone());
        let builder = Arc::clone(&builder);
        let watcher = graceful.watcher();
        let tls = tls.clone();
        let handshake_timeout = transport.header_read_timeout;
        tokio::spawn(async move {
            let _permit = permit;
            let result = match tls {
                None => serve(&builder, stream, service, watcher).await,
                Some(acceptor) => {
                    match tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve(&builder, stream, service, watcher).await,
                        Ok(Err(error)) => {
                            tracing::debug!(%peer, %error, "TLS handshake failed");
                            Ok(())
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            Ok(())
                        }
                    }
                }
            };
            if let Err(error) = result {
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

/// One connection, HTTP/1.1 or HTTP/2 by its first bytes, watched for
/// graceful shutdown.
async fn serve<I, S, B>(
    builder: &auto::Builder<TokioExecutor>,
    io: I,
    service: TowerToHyperService<S>,
    watcher: hyper_util::server::graceful::Watcher,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Service<Request<Incoming>, Response = Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let connection = builder.serve_connection(TokioIo::new(io), service);
    watcher.watch(connection).await
}

/// hyper's settings, from the transport limits.
fn connection_builder(transport: &Transport) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        // Slow-loris: the whole head must arrive within this time.
        .header_read_timeout(transport.header_read_timeout)
        // A head larger than this buffer is answered 431 by hyper.
        .max_buf_size(transport.max_header_bytes);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(transport.http2_max_concurrent_streams)
        .max_header_list_size(u32::try_from(transport.max_header_bytes).unwrap_or(u32::MAX))
        // Rapid-reset and error-reset floods: hyper/h2's defaults, made explicit.
        .max_pending_accept_reset_streams(20)
        .max_local_error_reset_streams(1024);
    builder
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
