//! The application: the API port's one tower service, [`Api`], assembled by
//! [`ApiBuilder`] from the gRPC services, the REST transcoder and the
//! layers of [`crate::layers`]. The listener ([`crate::listener`]) serves it.
//!
//! A request goes down this stack, outermost first ([`ApiBuilder::build`]
//! says why each layer sits where it does):
//!
//! ```text
//! Classify        which protocol: preflight, REST, gRPC-Web, gRPC or Connect, once
//! RequestId       x-request-id kept if acceptable, else made; on every answer
//! AccessLog       one line and the metrics per request, when its body ends
//! Cors            preflight → 204 / 403 here; every other answer decorated
//! Shed            no permit → 503 / UNAVAILABLE; the permit rides in the body
//! Dispatch        by protocol:
//! ├ REST          Timeout → CatchPanic → Transcoder ┬ typed road → GreetService trait → Greeter
//! │                                                 └ dynamic road → gRPC services
//! ├ gRPC          (HTTP/1.1 → 400) Timeout → CatchPanic → gRPC services
//! ├ gRPC-Web      tonic-web → Timeout → CatchPanic → gRPC services
//! └ Connect       Timeout → CatchPanic → Connect ┬ JSON, typed road → GreetService trait → Greeter
//!                                                └ otherwise → gRPC services (in-process call)
//! gRPC services   Greet → Greeter, health, reflection v1 and v1alpha
//! ```
//!
//! gRPC and gRPC-Web reach the same tonic services. REST reaches the same
//! `Greeter`, but an RPC with a typed road ([`crate::transcode::typed`]) is
//! called through its service trait directly, skipping tonic's server
//! machinery (a tower layer around a tonic service does not see those
//! calls); other annotated RPCs take the dynamic road, an in-process gRPC
//! call to the tonic services.
//!
//! Connect ([`crate::connect`]) reaches the same services the same two ways.
//!
//! tonic-web wraps the gRPC services only, never REST: it answers 400 to any
//! HTTP/1.1 request that is not gRPC-Web.

mod dispatch;

use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use http::{Request, Response};
use http_body_util::Either;
use prost_reflect::DescriptorPool;
use tonic::{body::Body, server::NamedService};
use tower::{Service, ServiceBuilder, ServiceExt};

use crate::{
    access_log::LoggedBody,
    config::{Settings, defaults},
    connect::{Connect, Procedures},
    cors::CorsPolicy,
    grpc,
    layers::{
        access_log::{AccessLog, AccessLogLayer},
        classify::{Classify, ClassifyLayer},
        cors::{Cors, CorsLayer},
        panic::catch_panic,
        request_id::{RequestId, RequestIdLayer},
        shed::{PermitBody, Shed, ShedLayer},
        timeout::TimeoutLayer,
    },
    metrics::{KnownRoute, Metrics},
    pb,
    protocol::Protocol,
    transcode::{Transcoder, TranscoderError, typed::TypedRpc},
};
use dispatch::{Dispatch, Face, FaceBody, Faces, Handler};

/// Why the API could not be assembled (a start-up error).
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("invalid descriptor set: {0}")]
    Descriptors(#[from] prost_reflect::DescriptorError),
    #[error(transparent)]
    Rest(#[from] TranscoderError),
    #[error("cannot build the reflection service: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("cannot check gRPC requests: {0}")]
    Describe(#[from] grpc::DescribeError),
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
    /// The API with the given body limit and the flags' defaults for the
    /// request timeout and the concurrency limit ([`defaults`]).
    pub fn new(max_body_bytes: usize) -> Self {
        let mut services = grpc::ServiceTableBuilder::default();
        services
            .add(grpc::greet_server())
            .read_absent_as_empty(grpc::GREET_PATH);
        ApiBuilder {
            services,
            descriptor_sets: vec![pb::FILE_DESCRIPTOR_SET],
            service_names: vec![pb::greet::v1::greet_service_server::SERVICE_NAME],
            // The same Greeter, reached by REST without tonic's HTTP layer.
            typed: pb::greet::v1::greet_service_typed_roads(Arc::new(grpc::Greeter)),
            max_body_bytes,
            request_timeout: defaults::REQUEST_TIMEOUT.value,
            max_concurrent_requests: defaults::MAX_CONCURRENT_REQUESTS,
        }
    }

    /// The API as the settings describe it.
    pub fn from_settings(settings: &Settings) -> Self {
        let mut builder = ApiBuilder::new(settings.max_body_bytes);
        builder.request_timeout = settings.request_timeout;
        builder.max_concurrent_requests = settings.max_concurrent_requests;
        builder
    }

    /// Adds a gRPC service and the encoded descriptor set that describes it
    /// (which must: its requests are checked by each method's arity). The
    /// service reads the checked [`grpc::RequestBody`]; tonic's generated
    /// servers take any body.
    pub fn add_service<S>(mut self, service: S, descriptor_set: &'static [u8]) -> Self
    where
        S: Service<Request<grpc::RequestBody>, Response = Response<Body>, Error = Infallible>
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
    /// methods to those the routes use, and stacks the layers.
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
        // The request checks read every service's methods from the pool.
        for set in [
            tonic_health::pb::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
            tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
        ] {
            pool.decode_file_descriptor_set(set)?;
        }

        let grpc = grpc::service(self.services.build(&pool)?, self.max_body_bytes);
        let rest = Transcoder::new(&pool, grpc.clone(), &self.typed, self.max_body_bytes)?;
        for route in rest.routes() {
            tracing::debug!(%route, "REST route");
        }
        // Every route's series exists from start-up: the REST templates and
        // each method of each service in the pool (health and reflection
        // included).
        let templates: Vec<String> = rest.templates().collect();
        let methods: Vec<String> = pool
            .services()
            .flat_map(|service| service.methods().collect::<Vec<_>>())
            .map(|method| format!("/{}/{}", method.parent_service().full_name(), method.name()))
            .collect();
        let metrics = Arc::new(Metrics::new(
            templates
                .iter()
                .map(|t| KnownRoute::Rest(t))
                .chain(methods.iter().map(|m| KnownRoute::Grpc(m))),
        ));
        // Connect's procedures: every method of the pool, the typed roads
        // REST takes for JSON bodies.
        let procedures = Arc::new(Procedures::new(&pool, &self.typed));
        let mut methods = rest.methods();
        // gRPC, gRPC-Web and Connect are POST; Connect's GET is for the
        // methods marked NO_SIDE_EFFECTS.
        methods.push(http::Method::POST);
        if procedures.any_get() {
            methods.push(http::Method::GET);
        }
        let cors = cors.with_methods(&methods);

        let timeout = self.request_timeout;
        let grpc_face = face(Protocol::Grpc, timeout, grpc.clone());
        let faces = Faces {
            // tonic-web outside the gRPC face's deadline, so the trailers
            // that end a call cut short become gRPC-Web's trailer frame.
            grpc_web: grpc::web(
                grpc_face.clone(),
                face(Protocol::Grpc, timeout, grpc.text()),
            ),
            grpc: grpc_face,
            rest: face(Protocol::Rest, timeout, Handler::new(rest)),
            connect: face(
                Protocol::Connect,
                timeout,
                Handler::new(Connect::new(
                    Arc::clone(&procedures),
                    &grpc,
                    self.max_body_bytes,
                )),
            ),
        };
        let stack = ServiceBuilder::new()
            // First, so every layer below reads the protocol from the
            // request's type instead of its headers.
            .layer(ClassifyLayer::new(procedures))
            // Above everything that answers, so preflights, refusals and
            // panics carry the id too, and above the dispatch, so the
            // services (and REST's forwarded metadata) see the checked id,
            // not the raw one. Above the log, which is handed the id in the
            // request's body instead of looking it up in the answer.
            .layer(RequestIdLayer::new())
            // Outermost of the behaviour that answers: every answer is
            // logged and counted, the preflights, refusals and panics of
            // the layers below included, with the latency the client saw.
            .layer(AccessLogLayer::counting(Arc::clone(&metrics), &templates))
            // Above the shedding: a preflight is answered at once and never
            // refused 503 (a browser would report that as a CORS failure and
            // hide the answer); and the 503s, 504s and 500s from below carry
            // the CORS headers, so browser code can read them.
            .layer(CorsLayer::new(cors))
            // Before any work: a refused request costs nothing more. Its
            // permit rides in the response body, so streams count until
            // they end.
            .layer(ShedLayer::new(self.max_concurrent_requests).counting(Arc::clone(&metrics)))
            .service(Dispatch::new(faces));
        let health = Health {
            reporter: health,
            services: self.service_names,
        };
        Ok(Api {
            stack,
            ops: Arc::new(Ops { metrics, health }),
        })
    }
}

/// One protocol's handler under its deadline and its panic guard: the inner
/// end of the stack, below the dispatch.
fn face<S>(protocol: Protocol, timeout: Duration, handler: S) -> Face<S> {
    ServiceBuilder::new()
        // The deadline starts when the request is let in and lasts to the
        // end of the response body.
        .layer(TimeoutLayer::new(timeout, protocol))
        // Innermost, next to the code that may panic, so the answer to a
        // panic passes every layer above like any other answer.
        .layer(catch_panic(protocol))
        .service(handler)
}

/// The layers above the dispatch, outermost first; [`ApiBuilder::build`]
/// stacks them.
type Stack = Classify<RequestId<AccessLog<Cors<Shed<Dispatch>>>>>;

/// The body of every answer of the [`Api`]: the dispatched protocol's body
/// or one of the layers' own answers, each layer's wrapper unboxed.
pub type ResponseBody = LoggedBody<Either<Either<PermitBody<FaceBody>, Body>, Body>>;

/// The whole API port as one tower service; see the module docs.
#[derive(Clone)]
pub struct Api {
    stack: Stack,
    /// Behind one `Arc`: an `Api` is cloned per connection.
    ops: Arc<Ops>,
}

/// What operators reach of an [`Api`] from outside its requests.
struct Ops {
    metrics: Arc<Metrics>,
    health: Health,
}

/// The gRPC health service of an [`Api`], as its owner controls it.
#[derive(Clone)]
pub struct Health {
    reporter: tonic_health::server::HealthReporter,
    services: Vec<&'static str>,
}

impl Health {
    /// From now on the health service answers `NOT_SERVING` for every
    /// service and for the server as a whole (`""`): the start of a drain.
    pub async fn set_not_serving(&self) {
        for name in std::iter::once("").chain(self.services.iter().copied()) {
            self.reporter
                .set_service_status(name, tonic_health::ServingStatus::NotServing)
                .await;
        }
    }
}

impl Api {
    /// The API's metrics, for the admin port ([`crate::admin::router`]) and
    /// the listener's connection gauge.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.ops.metrics
    }

    /// The API's gRPC health service, to turn it `NOT_SERVING` at a drain.
    pub fn health(&self) -> Health {
        self.ops.health.clone()
    }

    /// Serves one request in-process, as the listener would (benchmarks,
    /// fuzzing, embedding).
    pub async fn serve<B>(&self, request: Request<B>) -> Response<ResponseBody>
    where
        B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
        B::Error: std::error::Error + Send + Sync + 'static,
    {
        match self.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        }
    }
}

impl<B> Service<Request<B>> for Api
where
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    type Response = Response<ResponseBody>;
    type Error = Infallible;
    type Future = <Stack as Service<Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Service::<Request<B>>::poll_ready(&mut self.stack, cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.stack.call(request)
    }
}
